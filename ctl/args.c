/*
 * args.c -- option parsing and argument checks.  See args.h.
 */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "utf8.h"

/* Kind of option name in spec: -1 unknown, 0 flag, '=' value, '*' list. */
static int
args_kind(const char *spec, const char *name, size_t namelen)
{
    const char *p = spec;
    while (*p) {
        size_t len = strcspn(p, ",=*");
        char kind = p[len];
        if (len == namelen && strncmp(p, name, namelen) == 0)
            return kind == '=' || kind == '*' ? kind : 0;
        p += len;
        if (*p == '=' || *p == '*')
            p++;
        if (*p == ',')
            p++;
    }
    return -1;
}

int
args_parse(args_t *args, int argc, char **argv, const char *spec)
{
    int only_positional = 0;

    memset(args, 0, sizeof(*args));
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        if (only_positional || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (args->npos == ARGS_MAX)
                return output_usage("too many arguments");
            args->pos[args->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_positional = 1;
        } else if (strcmp(arg, "--json") == 0) {
            args->json = 1;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            args->help = 1;
        } else if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0 || strncmp(arg, "-c", 2) == 0 ||
                   strncmp(arg, "--config=", 9) == 0) {
            const char *file;
            if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0) {
                if (i + 1 >= argc)
                    return output_usage("%s needs a file name", arg);
                file = argv[++i];
            } else {
                file = arg[1] == 'c' ? arg + 2 : arg + 9;
            }
            if (args->config != NULL)
                return output_usage("-c given twice");
            if (*file == '\0')
                return output_usage("-c needs a file name");
            args->config = file;
        } else if (arg[1] == '-') {
            const char *name = arg + 2, *eq = strchr(name, '=');
            size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
            int kind = args_kind(spec, name, namelen);
            const char *value = NULL;
            if (kind < 0 || namelen == 0)
                return output_usage("unknown option --%.*s", (int)namelen, name);
            if (kind == 0 && eq)
                return output_usage("--%.*s takes no value", (int)namelen, name);
            if (kind != 0) {
                if (eq)
                    value = eq + 1;
                else if (i + 1 < argc)
                    value = argv[++i];
                else
                    return output_usage("--%s needs a value", name);
            }
            for (int j = 0; j < args->nopts; j++) {
                if (kind != '*' && args->opts[j].namelen == namelen &&
                    strncmp(args->opts[j].name, name, namelen) == 0)
                    return output_usage("--%.*s given twice", (int)namelen, name);
            }
            if (args->nopts == ARGS_MAX)
                return output_usage("too many options");
            /* name points into argv, which outlives args */
            args->opts[args->nopts].name = name;
            args->opts[args->nopts].namelen = namelen;
            args->opts[args->nopts].value = value;
            args->nopts++;
        } else {
            return output_usage("unknown option %s", arg);
        }
    }
    return 0;
}

static int
args_is(const args_opt_t *opt, const char *name)
{
    return strlen(name) == opt->namelen && strncmp(opt->name, name, opt->namelen) == 0;
}

static const args_opt_t *
args_find(const args_t *args, const char *name)
{
    for (int i = 0; i < args->nopts; i++)
        if (args_is(&args->opts[i], name))
            return &args->opts[i];
    return NULL;
}

const char *
args_value(const args_t *args, const char *name)
{
    const args_opt_t *opt = args_find(args, name);
    return opt ? opt->value : NULL;
}

int
args_flag(const args_t *args, const char *name)
{
    return args_find(args, name) != NULL;
}

int
args_values(const args_t *args, const char *name, const char **out, int max)
{
    int n = 0;
    for (int i = 0; i < args->nopts && n < max; i++)
        if (args_is(&args->opts[i], name))
            out[n++] = args->opts[i].value;
    return n;
}

int
args_int(const args_t *args, const char *name, long min, long max, long def, long *out, int *given)
{
    const char *text = args_value(args, name);
    char *end;
    long v;

    if (given)
        *given = text != NULL;
    if (text == NULL) {
        *out = def;
        return 0;
    }
    errno = 0;
    v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || !isdigit((unsigned char)text[text[0] == '-']))
        return output_usage("--%s: \"%s\" is not a number", name, text);
    if (v < min || v > max)
        return output_usage("--%s must be between %ld and %ld", name, min, max);
    *out = v;
    return 0;
}

int
args_page(const args_t *args, long *limit, long *offset)
{
    int rc = args_int(args, "limit", 1, 100, 20, limit, NULL);
    if (rc == 0)
        rc = args_int(args, "offset", 0, 2147483647L, 0, offset, NULL);
    return rc;
}

int
args_uuid(const args_t *args, const char *name, const char **out)
{
    *out = args_value(args, name);
    if (*out == NULL)
        return output_usage("--%s is required", name);
    if (!valid_uuid(*out))
        return output_usage("--%s: \"%s\" is not a uuid", name, *out);
    return 0;
}

int
args_text(const args_t *args, const char *name, size_t max, int required, const char **out)
{
    *out = args_value(args, name);
    if (*out == NULL)
        return required ? output_usage("--%s is required", name) : 0;
    if (**out == '\0')
        return output_usage("--%s must not be empty", name);
    if (strlen(*out) > max)
        return output_usage("--%s is longer than %zu bytes", name, max);
    if (!valid_text(*out))
        return output_usage("--%s must be UTF-8 text without control or bidi control characters", name);
    return 0;
}
