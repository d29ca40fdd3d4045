/*
 * validate.h -- checks of untrusted input shared by postinboxctl and the
 * HTTP API: ids, names, text, timestamps, event types, page parameters.
 *
 * Public: valid_uuid, valid_hostname, valid_username, valid_text,
 * valid_label, ascii_lower, valid_timestamp, valid_event_type,
 * valid_page, VALID_* limits.
 * Pure functions of their arguments; thread-safe; log nothing.
 */
#ifndef POSTINBOX_VALIDATE_H
#define POSTINBOX_VALIDATE_H

#include <stddef.h>

#define VALID_MAX_LABELS 50          /* labels per inbox */
#define VALID_LABEL_MAX 100          /* bytes per label */
#define VALID_DISPLAY_NAME_MAX 256   /* bytes */
#define VALID_PAGE_DEFAULT 20
#define VALID_PAGE_MAX 100
#define VALID_OFFSET_MAX 2147483647L

/* Validators for already lower-cased ASCII input. */
int valid_uuid(const char *text);
int valid_hostname(const char *name);
int valid_username(const char *name);
/* Valid UTF-8 with no control characters (no tab either) and no
 * bidirectional embeddings, overrides or isolates (U+202A-E, U+2066-9). */
int valid_text(const char *text);
/* A label: 1..VALID_LABEL_MAX bytes of valid_text. */
int valid_label(const char *text);
/* Lower-cases ASCII letters in place; returns text. */
char *ascii_lower(char *text);

/* Whether value has the shape of an ISO-8601 timestamp (YYYY-MM-DD, then
 * optionally [T ]HH:MM[:SS[.frac]] and Z or +-HH[[:]MM]); copies it to
 * out adding "Z" when it has no offset (a time without one is UTC).
 * PostgreSQL checks the values (month 13, Feb 30) when casting.
 * 1 valid, 0 not (or out too small). */
int valid_timestamp(const char *value, char *out, size_t outlen);

/* An event type as the schema allows them: (message|inbox|domain).name, the
 * name words of a-z joined by single underscores (webhook_disabled). */
int valid_event_type(const char *type);

/* Page parameters as given (NULL when absent): limit 1..VALID_PAGE_MAX,
 * default VALID_PAGE_DEFAULT; offset 0..VALID_OFFSET_MAX, default 0;
 * decimal digits only.  0 with *limit and *offset, -1 with err naming
 * the parameter. */
int valid_page(const char *limit_text, const char *offset_text, long *limit, long *offset, char *err,
               size_t errlen);

#endif
