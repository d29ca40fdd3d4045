/*
 * apiutil.c -- routes and JSON bodies.  See apiutil.h.
 */
#include "apiutil.h"

#include <stdio.h>
#include <string.h>

int
apiutil_match(const char *pattern, const char *path, char caps[APIUTIL_MAX_CAPTURES][APIUTIL_CAPTURE_MAX])
{
    const char *p = pattern, *s = path;
    int n = 0;

    while (*p && *s) {
        if (*p != '/' || *s != '/')
            return -1;
        p++, s++;
        size_t plen = strcspn(p, "/"), slen = strcspn(s, "/");
        if (slen == 0)
            return -1;
        if (plen == 1 && (*p == '*' || *p == '+')) {
            if (n == APIUTIL_MAX_CAPTURES)
                return -1;
            snprintf(caps[n++], APIUTIL_CAPTURE_MAX, "%.*s", (int)slen, s);
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return -1;
        }
        p += plen, s += slen;
    }
    return *p == '\0' && *s == '\0' ? n : -1;
}

int
apiutil_capture_is_id(const char *pattern, int index)
{
    int n = 0;

    for (const char *p = pattern; (p = strchr(p, '/')) != NULL; p++) {
        if ((p[1] == '*' || p[1] == '+') && (p[2] == '/' || p[2] == '\0')) {
            if (n++ == index)
                return p[1] == '*';
        }
    }
    return 0;
}

json_t *
apiutil_parse_object(const char *body, size_t len, char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *value;

    if (memchr(body, '\0', len) != NULL) {
        snprintf(err, errlen, "the body contains a NUL byte");
        return NULL;
    }
    value = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (value == NULL) {
        snprintf(err, errlen, "invalid JSON at line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
        return NULL;
    }
    if (!json_is_object(value)) {
        json_decref(value);
        snprintf(err, errlen, "the body must be a JSON object");
        return NULL;
    }
    return value;
}

static int
apiutil_type_ok(const json_t *v, apiutil_type_t type)
{
    size_t i;
    json_t *item;

    switch (type) {
    case APIUTIL_STRING:
        return json_is_string(v);
    case APIUTIL_STRING_OR_NULL:
        return json_is_string(v) || json_is_null(v);
    case APIUTIL_BOOLEAN:
        return json_is_boolean(v);
    case APIUTIL_OBJECT:
        return json_is_object(v);
    case APIUTIL_STRINGS:
        if (json_is_string(v))
            return 1;
        /* fall through */
    case APIUTIL_STRING_ARRAY:
        if (!json_is_array(v))
            return 0;
        json_array_foreach(v, i, item) {
            if (!json_is_string(item))
                return 0;
        }
        return 1;
    }
    return 0;
}

static const char *
apiutil_type_name(apiutil_type_t type)
{
    switch (type) {
    case APIUTIL_STRING:
        return "a string";
    case APIUTIL_STRING_OR_NULL:
        return "a string or null";
    case APIUTIL_STRING_ARRAY:
        return "an array of strings";
    case APIUTIL_STRINGS:
        return "a string or an array of strings";
    case APIUTIL_BOOLEAN:
        return "true or false";
    case APIUTIL_OBJECT:
        return "an object";
    }
    return "?";
}

int
apiutil_check_fields(const json_t *obj, const apiutil_field_t *spec, char *code, char *err, size_t errlen)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)obj, key, value) {
        const apiutil_field_t *f = spec;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (f->name == NULL) {
            snprintf(code, 16, "unknown_field");
            snprintf(err, errlen, "unknown field \"%.64s\"", key);
            return -1;
        }
        if (!apiutil_type_ok(value, f->type)) {
            snprintf(code, 16, "invalid_type");
            snprintf(err, errlen, "%s must be %s", f->name, apiutil_type_name(f->type));
            return -1;
        }
    }
    for (const apiutil_field_t *f = spec; f->name; f++) {
        if (f->required && json_object_get(obj, f->name) == NULL) {
            snprintf(code, 16, "missing_field");
            snprintf(err, errlen, "%s is required", f->name);
            return -1;
        }
    }
    return 0;
}
