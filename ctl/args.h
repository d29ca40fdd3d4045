/*
 * args.h -- postinboxctl's command line: options and argument values.
 *
 * Public: args_parse, args_value, args_flag, args_values, args_int,
 * args_page, args_uuid, args_text (the valid_* checks are lib/util/validate.h).
 * Options may come anywhere after the command words, as "--name value"
 * or "--name=value"; "--" ends them.  The global options -c FILE /
 * --config FILE, --json and -h/--help are accepted by every command.
 * A value-taking option takes the next word verbatim, so "--reason --json"
 * sets the reason to "--json".  Every check here reports a usage error
 * (exit 2) through output_usage, naming the option.
 */
#ifndef POSTINBOX_CTL_ARGS_H
#define POSTINBOX_CTL_ARGS_H

#include <stddef.h>

#include "validate.h"

#define ARGS_MAX 64

typedef struct {
    const char *name;      /* without the leading "--"; not NUL-terminated */
    size_t namelen;
    const char *value;     /* NULL for a flag */
} args_opt_t;

typedef struct {
    args_opt_t opts[ARGS_MAX];
    int nopts;
    const char *pos[ARGS_MAX];
    int npos;
    const char *config;    /* -c / --config, NULL when absent */
    int json;
    int help;
} args_t;

/* Parses argv against spec, a comma-separated list of option names, each
 * followed by '=' (takes a value), '*' (takes a value, repeatable) or
 * nothing (a flag): "account=,label*,verified".  0, or CTL_EXIT_USAGE
 * after reporting. */
int args_parse(args_t *args, int argc, char **argv, const char *spec);

/* The value of option name, or NULL if absent. */
const char *args_value(const args_t *args, const char *name);
/* Whether flag name was given. */
int args_flag(const args_t *args, const char *name);
/* The values of a repeatable option, in order; returns their number. */
int args_values(const args_t *args, const char *name, const char **out, int max);

/* Option name as an integer in min..max (def when absent, *given set
 * accordingly if not NULL).  0 or CTL_EXIT_USAGE. */
int args_int(const args_t *args, const char *name, long min, long max, long def, long *out, int *given);
/* --limit (1..100, default 20) and --offset (0.., default 0). */
int args_page(const args_t *args, long *limit, long *offset);
/* A required option holding a uuid.  0 or CTL_EXIT_USAGE. */
int args_uuid(const args_t *args, const char *name, const char **out);
/* Optional free text: valid UTF-8, no control characters, 1..max bytes.
 * 0 or CTL_EXIT_USAGE; *out NULL when absent and not required. */
int args_text(const args_t *args, const char *name, size_t max, int required, const char **out);


#endif
