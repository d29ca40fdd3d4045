/*
 * gen_conf_man.c -- writes postinbox.conf(5) from the one config table
 * (lib/util/config.c) and the reply table (lib/util/reply.c), so the page
 * cannot drift from what the programs accept.
 *
 *   gen-conf-man TEMPLATE VERSION > postinbox.conf.5
 *
 * Copies TEMPLATE, replacing the line "@KEYS@" with one entry per key
 * (name, what its value is, bounds, default, whether a reload applies
 * it, the help text), the line "@REPLIES@" with one per reply, and
 * "@PACKAGE_VERSION@" with VERSION.  Exit 1 on a read or write error.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "config_print.h"
#include "reply.h"

/* One word (no white space) for a roff text line: backslashes as \e,
 * hyphens as \-, a '.' or '\'' at the start of the line guarded, so no
 * value can become a request. */
static void
roff_word(FILE *out, const char *s, size_t len, int line_start)
{
    if (line_start && len > 0 && (*s == '.' || *s == '\''))
        fputs("\\&", out);
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\')
            fputs("\\e", out);
        else if (s[i] == '-')
            fputs("\\-", out);
        else
            fputc(s[i], out);
    }
}

/* Text as text lines of at most about 72 bytes, broken at spaces. */
static void
roff_fill(FILE *out, const char *s)
{
    size_t col = 0;
    while (*s) {
        size_t len;
        while (*s == ' ')
            s++;
        len = strcspn(s, " ");
        if (len == 0)
            break;
        if (col > 0 && col + 1 + len > 72) {
            fputc('\n', out);
            col = 0;
        } else if (col > 0) {
            fputc(' ', out);
            col++;
        }
        roff_word(out, s, len, col == 0);
        col += len;
        s += len;
    }
    fputc('\n', out);
}

/* Text inside a macro's quoted argument (no line breaks). */
static void
roff_text(FILE *out, const char *s)
{
    for (; *s; s++) {
        if (*s == '"')
            fputs("\\(dq", out);
        else
            roff_word(out, s, 1, 0);
    }
}

static void
keys_out(FILE *out)
{
    size_t n;
    const config_key_t *keys = config_keys(&n);
    for (size_t i = 0; i < n; i++) {
        char bounds[160], text[1024];
        config_bounds(&keys[i], bounds, sizeof(bounds));
        fputs(".TP\n.B ", out);
        roff_text(out, keys[i].name);
        fputs("\n.RI \"", out);
        roff_text(out, config_type_name(&keys[i]));
        if (bounds[0]) {
            fputs(keys[i].type == CT_ENUM ? " " : ", ", out);
            roff_text(out, bounds);
        }
        fputs("; default \" ", out);
        if (keys[i].def[0]) {
            fputs("\"\\fB", out);
            roff_text(out, keys[i].def);
            fputs("\\fP\"", out);
        } else {
            fputs("\"empty\"", out);
        }
        fputs(keys[i].flags & CF_START ? " \"; read at start only.\"\n" : " \"; a reload applies it.\"\n", out);
        fputs(".br\n", out);
        snprintf(text, sizeof(text), "%s.", keys[i].help);
        roff_fill(out, text);
        if (keys[i].flags & CF_SECRET)
            fputs("A password in this value is masked when\n.B \\-n\nor\n.B \\-a\nprints it.\n", out);
    }
}

static void
replies_out(FILE *out)
{
    for (int r = 0; r < REPLY_COUNT; r++) {
        reply_t rep;
        char line[512];
        reply_default((reply_id_t)r, &rep);
        fputs(".TP\n.B reply_", out);
        roff_text(out, reply_name((reply_id_t)r));
        fputs("\n", out);
        snprintf(line, sizeof(line), "%s.", reply_when((reply_id_t)r));
        roff_fill(out, line);
        fputs("Default:\n.br\n.B \"", out);
        snprintf(line, sizeof(line), "%d %s %s", rep.code, rep.xcode, rep.text);
        roff_text(out, line);
        fputs("\"\n", out);
    }
}

int
main(int argc, char **argv)
{
    char line[4096];
    FILE *in;
    if (argc != 3) {
        fprintf(stderr, "usage: gen-conf-man TEMPLATE VERSION\n");
        return 2;
    }
    if ((in = fopen(argv[1], "r")) == NULL) {
        perror(argv[1]);
        return 1;
    }
    while (fgets(line, sizeof(line), in) != NULL) {
        const char *at;
        if (strcmp(line, "@KEYS@\n") == 0) {
            keys_out(stdout);
            continue;
        }
        if (strcmp(line, "@REPLIES@\n") == 0) {
            replies_out(stdout);
            continue;
        }
        const char *p = line;
        while ((at = strstr(p, "@PACKAGE_VERSION@")) != NULL) {
            fwrite(p, 1, (size_t)(at - p), stdout);
            fputs(argv[2], stdout);
            p = at + strlen("@PACKAGE_VERSION@");
        }
        fputs(p, stdout);
    }
    if (ferror(in) || fclose(in) != 0 || fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "gen-conf-man: read or write error\n");
        return 1;
    }
    return 0;
}
