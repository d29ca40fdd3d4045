/*
 * apiutil.h -- the protocol-free parts of the HTTP admin API: matching a
 * path against a route pattern, and reading a JSON request body.
 *
 * Public: apiutil_match, apiutil_capture_is_id, apiutil_parse_object, apiutil_check_fields,
 * apiutil_field_t, APIUTIL_CAPTURE_MAX.
 * Pure functions; thread-safe; log nothing.  policyd/api.c puts them on
 * a socket.
 */
#ifndef POSTINBOX_APIUTIL_H
#define POSTINBOX_APIUTIL_H

#include <jansson.h>
#include <stddef.h>

/* bytes of one path parameter, NUL included: more than an address
 * (ADDRESS_MAX, 254) with room, so a cut value is never a valid one */
#define APIUTIL_CAPTURE_MAX 320
#define APIUTIL_MAX_CAPTURES 4

/* Whether path matches pattern, whose "*" segments (an id) and "+"
 * segments (any other value, e.g. an address) each match one non-empty
 * segment ("/v1/inboxes/ * /messages" without the spaces).  Returns the
 * number of "*" and "+" matched (their text in caps, cut at
 * APIUTIL_CAPTURE_MAX - 1 bytes: such a value is never a valid id or
 * address), or -1 if the path does not match. */
int apiutil_match(const char *pattern, const char *path, char caps[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX]);

/* Whether capture index of pattern is a "*" (an id); 0 for a "+" or
 * none. */
int apiutil_capture_is_id(const char *pattern, int index);

/* Parses body (len bytes) as one JSON object: no duplicate keys, no NUL
 * (raw or \u0000), strict UTF-8.  NULL with err if it is anything else. */
json_t *apiutil_parse_object(const char *body, size_t len, char *err, size_t errlen);

typedef enum {
    APIUTIL_STRING,           /* a string */
    APIUTIL_STRING_OR_NULL,   /* a string or null */
    APIUTIL_STRING_ARRAY,     /* an array of strings */
    APIUTIL_STRINGS,          /* a string or an array of strings */
    APIUTIL_BOOLEAN,
    APIUTIL_OBJECT,           /* an object (its members checked by the handler) */
} apiutil_type_t;

typedef struct {
    const char *name;
    apiutil_type_t type;
    int required;
} apiutil_field_t;

/* Checks obj's members against spec (terminated by a NULL name): every
 * member must be listed and of its type, every required one present.
 * 0, or -1 with err naming the field (unknown_field / invalid_type /
 * missing_field in code, which holds at least 16 bytes). */
int apiutil_check_fields(const json_t *obj, const apiutil_field_t *spec, char *code, char *err, size_t errlen);

#endif
