/*
 * log.c -- stderr or syslog output with a level threshold.
 * See log.h.  Each line is written with one write(2)/syslog(3) call so
 * lines from concurrent milter threads never interleave.  The formatted
 * message is escaped here, once for every caller (utf8_escape): request
 * paths, headers, SMTP addresses and HELO names come from outside, and a
 * CR/LF, an ESC sequence or invalid UTF-8 in them must neither forge a
 * line nor reach a terminal.  A backslash is left as it is, so "\x1b"
 * typed by a client reads as four characters, not as an escape.
 */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "utf8.h"

static volatile log_level_t log_threshold = LOG_LEVEL_INFO;
static int log_to_stderr = 1;
static const char *log_ident = "postinbox";

void
log_open(const char *ident, int use_stderr)
{
    log_ident = ident;
    log_to_stderr = use_stderr;
    if (!use_stderr)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_level(log_level_t level)
{
    log_threshold = level;
}

int
log_level_parse(const char *text, log_level_t *level)
{
    static const char *names[] = { "debug", "info", "warn", "error" };
    for (int i = 0; i < 4; i++) {
        if (strcmp(text, names[i]) == 0) {
            *level = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

static void
log_emit(log_level_t level, const char *fmt, va_list ap)
{
    static const char *tags[] = { "debug", "info", "warning", "error" };
    static const int prio[] = { LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR };
    char raw[2048];
    char body[4096]; /* escaped: a line of controls grows fourfold, cut at 4 KB */
    int rawlen;

    if (level < log_threshold)
        return;
    rawlen = vsnprintf(raw, sizeof(raw), fmt, ap);
    if (rawlen < 0)
        rawlen = 0;
    if ((size_t)rawlen >= sizeof(raw))
        rawlen = (int)sizeof(raw) - 1;
    utf8_escape(raw, (size_t)rawlen, body, sizeof(body));
    if (log_to_stderr) {
        char line[sizeof(body) + 128];
        char stamp[32];
        struct timespec ts;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
        int n = snprintf(line, sizeof(line), "%s.%03ldZ %s[%d]: %s: %s\n", stamp,
                         ts.tv_nsec / 1000000, log_ident, (int)getpid(), tags[level], body);
        if (n > (int)sizeof(line) - 1) {
            n = (int)sizeof(line) - 1;
            line[n - 1] = '\n';
        }
        if (write(STDERR_FILENO, line, (size_t)n) < 0) {
            /* nowhere left to report it */
        }
    } else {
        syslog(prio[level], "%s: %s", tags[level], body);
    }
}

#define LOG_FN(name, level)                \
    void name(const char *fmt, ...)        \
    {                                      \
        va_list ap;                        \
        va_start(ap, fmt);                 \
        log_emit(level, fmt, ap);          \
        va_end(ap);                        \
    }

LOG_FN(log_debug, LOG_LEVEL_DEBUG)
LOG_FN(log_info, LOG_LEVEL_INFO)
LOG_FN(log_warn, LOG_LEVEL_WARN)
LOG_FN(log_error, LOG_LEVEL_ERROR)
