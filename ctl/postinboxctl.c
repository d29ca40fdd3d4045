/*
 * postinboxctl.c -- the admin CLI: command table, dispatch, usage.
 *
 * Public: main.
 * "postinboxctl [-c FILE] [--json] GROUP [SUBCOMMAND] [ARGS]": the command
 * words are found first (only the global options may come before them),
 * the rest is parsed against the command's option spec (args.c), then the
 * config is loaded (ctl_db.c) and the command runs (cmd_*.c, migrate.c).
 * Exit status: 0 success, 1 error, 2 usage error.  Logs nothing: results
 * on stdout, diagnostics on stderr.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "ctl_db.h"
#include "migrate.h"
#include "output.h"

typedef struct {
    const char *group;
    const char *name;      /* NULL: a one-word command */
    const char *spec;      /* options, see args_parse */
    int npos;              /* positional arguments */
    cmd_fn_t run;
    const char *usage;     /* after "postinboxctl " */
} ctl_command_t;

#define PAGE "limit=,offset="

static int cmd_migrate(ctl_t *ctl, const args_t *args);

static const ctl_command_t ctl_commands[] = {
    { "migrate", NULL, "", 0, cmd_migrate, "migrate" },
    { "account", "create", "name=,short-id=,daily-limit=", 0, cmd_account_create,
      "account create --name NAME [--short-id ID] [--daily-limit N]" },
    { "account", "list", PAGE, 0, cmd_account_list, "account list [--limit N] [--offset N]" },
    { "account", "tracking", "opens=,clicks=,unsubscribe=", 1, cmd_account_tracking,
      "account tracking ACCOUNT [--opens yes|no|default] [--clicks yes|no|default] [--unsubscribe yes|no|default]" },
    { "domain", "add", "account=,name=,verified", 0, cmd_domain_add,
      "domain add --account ID --name DOMAIN [--verified]" },
    { "domain", "list", "account=," PAGE, 0, cmd_domain_list,
      "domain list [--account ID] [--limit N] [--offset N]" },
    { "domain", "show", "", 1, cmd_domain_show, "domain show DOMAIN|ID" },
    { "domain", "delete", "", 1, cmd_domain_delete, "domain delete DOMAIN|ID" },
    { "domain", "records", "zone", 1, cmd_domain_records, "domain records DOMAIN [--zone]" },
    { "domain", "verify", "", 1, cmd_domain_verify, "domain verify DOMAIN" },
    { "domain", "dkim", "activate,selector=", 2, cmd_domain_dkim,
      "domain dkim show DOMAIN | rotate DOMAIN [--activate] | activate DOMAIN [--selector SELECTOR]" },
    { "inbox", "create", "account=,username=,domain=,display-name=,label*,daily-limit=,burst-limit=", 0,
      cmd_inbox_create,
      "inbox create --account ID --username U [--domain DOMAIN] [--display-name NAME]\n"
      "                    [--label L]... [--daily-limit N] [--burst-limit N]" },
    { "inbox", "show", "", 1, cmd_inbox_show, "inbox show ID|ADDRESS" },
    { "inbox", "list", "account=," PAGE, 0, cmd_inbox_list, "inbox list [--account ID] [--limit N] [--offset N]" },
    { "inbox", "disable", "reason=", 1, cmd_inbox_disable, "inbox disable ID|ADDRESS [--reason TEXT]" },
    { "inbox", "suspend", "reason=", 1, cmd_inbox_suspend, "inbox suspend ID|ADDRESS [--reason TEXT]" },
    { "inbox", "activate", "reason=", 1, cmd_inbox_activate, "inbox activate ID|ADDRESS [--reason TEXT]" },
    { "inbox", "tracking", "opens=,clicks=,unsubscribe=", 1, cmd_inbox_tracking,
      "inbox tracking ID|ADDRESS [--opens yes|no|default] [--clicks yes|no|default]\n"
      "                    [--unsubscribe yes|no|default]" },
    { "login", "grant", "login=,inbox=", 0, cmd_login_grant, "login grant --login SASLNAME --inbox ID|ADDRESS" },
    { "login", "revoke", "login=,inbox=", 0, cmd_login_revoke, "login revoke --login SASLNAME --inbox ID|ADDRESS" },
    { "login", "list", "login=,inbox=," PAGE, 0, cmd_login_list,
      "login list [--inbox ID|ADDRESS] [--login SASLNAME] [--limit N] [--offset N]" },
    { "suppression", "list", "source=,reason=,address=,after=,before=," PAGE, 1, cmd_suppression_list,
      "suppression list ID|ADDRESS [--source bounce|complaint|manual] [--reason BOUNCE-REASON]\n"
      "                    [--address PREFIX] [--after TIME] [--before TIME] [--limit N] [--offset N]" },
    { "suppression", "add", "address=,reason=,expires=", 1, cmd_suppression_add,
      "suppression add ID|ADDRESS --address RCPT [--reason TEXT] [--expires TIME]" },
    { "suppression", "remove", "address=,reason=", 1, cmd_suppression_remove,
      "suppression remove ID|ADDRESS --address RCPT [--reason TEXT]" },
    { "suppression", "import", "inbox=", 1, cmd_suppression_import,
      "suppression import --inbox ID|ADDRESS FILE|-   (CSV with a header, or JSON)" },
    { "suppression", "export", "inbox=,format=", 0, cmd_suppression_export,
      "suppression export --inbox ID|ADDRESS [--format csv|json]" },
    { "messages", NULL, PAGE, 1, cmd_messages, "messages ID|ADDRESS [--limit N] [--offset N]" },
    { "events", NULL, "type=,after=,before=," PAGE, 1, cmd_events,
      "events ID|ADDRESS [--type TYPE] [--after TIME] [--before TIME] [--limit N] [--offset N]" },
    { "threads", NULL, PAGE, 1, cmd_threads, "threads ID|ADDRESS [--limit N] [--offset N]" },
    { "thread", "show", PAGE, 1, cmd_thread_show, "thread show THREAD [--limit N] [--offset N]" },
    { "webhook", "add", "inbox=,account=,url=,events=", 0, cmd_webhook_add,
      "webhook add (--inbox ID|ADDRESS | --account ID) --url URL [--events TYPE,...]" },
    { "webhook", "list", "inbox=,account=," PAGE, 0, cmd_webhook_list,
      "webhook list [--inbox ID|ADDRESS] [--account ID] [--limit N] [--offset N]" },
    { "webhook", "show", "", 1, cmd_webhook_show, "webhook show ENDPOINT" },
    { "webhook", "update", "url=,events=", 1, cmd_webhook_update,
      "webhook update ENDPOINT [--url URL] [--events TYPE,...|all]" },
    { "webhook", "disable", "reason=", 1, cmd_webhook_disable, "webhook disable ENDPOINT [--reason TEXT]" },
    { "webhook", "enable", "reason=", 1, cmd_webhook_enable, "webhook enable ENDPOINT [--reason TEXT]" },
    { "webhook", "delete", "reason=", 1, cmd_webhook_delete, "webhook delete ENDPOINT [--reason TEXT]" },
    { "webhook", "rotate-secret", "", 1, cmd_webhook_rotate, "webhook rotate-secret ENDPOINT" },
    { "webhook", "encrypt-secrets", "", 0, cmd_webhook_encrypt_secrets, "webhook encrypt-secrets" },
    { "webhook", "deliveries", "status=," PAGE, 1, cmd_webhook_deliveries,
      "webhook deliveries ENDPOINT [--status pending|delivered|failed] [--limit N] [--offset N]" },
    { "webhook", "replay", "endpoint=,since=,until=", 0, cmd_webhook_replay,
      "webhook replay --endpoint ENDPOINT [--since TIME] [--until TIME]" },
    { "send", NULL, "to*,cc*,subject=,text=,html=,in-reply-to=,reference*,request=", 1, cmd_send,
      "send ID|ADDRESS --to ADDR [--to ADDR]... [--cc ADDR]... --subject S [--text T] [--html H]\n"
      "                    [--in-reply-to <ID>] [--reference <ID>]...   (or: send ID|ADDRESS --request FILE|-)" },
    { "apikey", "create", "account=,inbox=,name=", 0, cmd_apikey_create,
      "apikey create --account ID [--inbox ID|ADDRESS] [--name TEXT]" },
    { "apikey", "list", "account=," PAGE, 0, cmd_apikey_list, "apikey list --account ID [--limit N] [--offset N]" },
    { "apikey", "revoke", "reason=", 1, cmd_apikey_revoke, "apikey revoke KEYID [--reason TEXT]" },
};

#define CTL_NCOMMANDS (sizeof(ctl_commands) / sizeof(ctl_commands[0]))

static int
cmd_migrate(ctl_t *ctl, const args_t *args)
{
    char *owner;
    int rc;

    (void)args;
    if (*ctl->cfg->migration_database == '\0') {
        rc = migrate_run(ctl->cfg, ctl->conninfo, NULL);
    } else {
        if ((owner = ctl_conninfo_utf8(ctl->cfg->migration_database)) == NULL)
            return output_error("out of memory");
        rc = migrate_run(ctl->cfg, owner, ctl->conninfo);
        free(owner);
    }
    return rc != 0 ? rc : cmd_domain_dkim_backfill(ctl);
}

/* Prints the usage of every command of group (all when group is NULL). */
static void
ctl_print_usage(FILE *fp, const char *group)
{
    fprintf(fp, "usage: postinboxctl [-c FILE] [--json] COMMAND ...\n");
    for (size_t i = 0; i < CTL_NCOMMANDS; i++)
        if (group == NULL || strcmp(group, ctl_commands[i].group) == 0)
            fprintf(fp, "       postinboxctl %s\n", ctl_commands[i].usage);
    if (group == NULL)
        fprintf(fp, "ID|ADDRESS is an inbox id (uuid) or its address, THREAD a thread id, ENDPOINT a webhook\n"
                    "endpoint id.\n"
                    "TIME is ISO-8601 (2024-05-01T12:00:00Z; UTC without an offset).  -c FILE defaults to %s\n"
                    "if it exists, else built-in defaults.  --json prints JSON on stdout.\n",
                CONFIG_DEFAULT_PATH);
}

/* Whether argv[i] is a global option; *skip is how many words it takes. */
static int
ctl_global_option(int argc, char **argv, int i, int *skip)
{
    const char *arg = argv[i];
    *skip = 1;
    if (strcmp(arg, "--json") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0 ||
        strncmp(arg, "--config=", 9) == 0 || (strncmp(arg, "-c", 2) == 0 && arg[2] != '\0'))
        return 1;
    if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
        *skip = i + 1 < argc ? 2 : 1;
        return 1;
    }
    return 0;
}

/* Index of the first word at or after start that is not a global
 * option, or argc. */
static int
ctl_next_word(int argc, char **argv, int start)
{
    int i = start, skip;
    while (i < argc && ctl_global_option(argc, argv, i, &skip))
        i += skip;
    return i;
}

static int
ctl_has_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            break;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const ctl_command_t *cmd = NULL;
    int group_at, name_at = -1, rc, nrest = 0, group_known = 0;
    char **rest;
    args_t args;
    ctl_t ctl;

    group_at = ctl_next_word(argc, argv, 1);
    if (group_at >= argc) {
        if (ctl_has_help(argc, argv)) {
            ctl_print_usage(stdout, NULL);
            return output_flush();
        }
        /* report a bad global option ("-c" without a file) by name */
        if (args_parse(&args, argc - 1, argv + 1, "") == 0)
            ctl_print_usage(stderr, NULL);
        return CTL_EXIT_USAGE;
    }
    for (size_t i = 0; i < CTL_NCOMMANDS; i++) {
        if (strcmp(ctl_commands[i].group, argv[group_at]) != 0)
            continue;
        group_known = 1;
        if (ctl_commands[i].name == NULL) {
            cmd = &ctl_commands[i];
            break;
        }
        if (name_at < 0)
            name_at = ctl_next_word(argc, argv, group_at + 1);
        if (name_at < argc && strcmp(ctl_commands[i].name, argv[name_at]) == 0) {
            cmd = &ctl_commands[i];
            break;
        }
    }
    if (cmd == NULL) {
        if (!group_known) {
            output_usage("unknown command \"%s\"", argv[group_at]);
            ctl_print_usage(stderr, NULL);
            return CTL_EXIT_USAGE;
        }
        if (ctl_has_help(argc, argv)) {
            ctl_print_usage(stdout, argv[group_at]);
            return output_flush();
        }
        if (name_at < argc)
            output_usage("unknown command \"%s %s\"", argv[group_at], argv[name_at]);
        else
            output_usage("%s needs a subcommand", argv[group_at]);
        ctl_print_usage(stderr, argv[group_at]);
        return CTL_EXIT_USAGE;
    }
    if (cmd->name == NULL)
        name_at = -1;

    /* everything but the program name and the command words */
    rest = calloc((size_t)argc + 1, sizeof(char *));
    if (rest == NULL)
        return output_error("out of memory");
    for (int i = 1; i < argc; i++)
        if (i != group_at && i != name_at)
            rest[nrest++] = argv[i];
    rc = args_parse(&args, nrest, rest, cmd->spec);
    if (rc == 0 && args.help) {
        free(rest);
        printf("usage: postinboxctl [-c FILE] [--json] %s\n", cmd->usage);
        return output_flush();
    }
    if (rc == 0 && args.npos != cmd->npos) {
        if (args.npos > cmd->npos)
            rc = output_usage("unexpected argument \"%s\"", args.pos[cmd->npos]);
        else
            rc = output_usage("missing argument");
    }
    if (rc != 0) {
        fprintf(stderr, "usage: postinboxctl [-c FILE] [--json] %s\n", cmd->usage);
        free(rest);
        return rc;
    }
    output_set_json(args.json);

    rc = ctl_open(&ctl, args.config);
    if (rc == 0) {
        rc = cmd->run(&ctl, &args);
        if (rc == CTL_EXIT_USAGE)
            fprintf(stderr, "usage: postinboxctl [-c FILE] [--json] %s\n", cmd->usage);
    }
    ctl_close(&ctl);
    free(rest);
    if (output_flush() != 0 && rc == 0)
        rc = CTL_EXIT_ERROR;
    return rc;
}
