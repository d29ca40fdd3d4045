/*
 * log.h -- the one logging module of postinbox.
 *
 * Public: log_open, log_set_level, log_level_parse, log_debug .. log_error.
 * Lines go to stderr (foreground, tests) or to syslog (mail facility).
 * The level is checked here, never at call sites.  Every message is
 * escaped here too (utf8_escape): control bytes (CR, LF, TAB, ESC ...),
 * DEL, C1 controls and invalid UTF-8 appear as \xNN, valid UTF-8 as it
 * is, so input quoted in a line can never forge one.  Lines about a message
 * start with the Postfix queue id by convention of the callers
 * ("4Bx9Qz1kHrz: inbox=... action=reject reason=disabled").
 */
#ifndef POSTINBOX_LOG_H
#define POSTINBOX_LOG_H

typedef enum { LOG_LEVEL_DEBUG = 0, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

/* Opens the log: to stderr when use_stderr, else to syslog as ident. */
void log_open(const char *ident, int use_stderr);
void log_set_level(log_level_t level);
/* Parses "debug|info|warn|error"; returns -1 if unknown. */
int log_level_parse(const char *text, log_level_t *level);

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
