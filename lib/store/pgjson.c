/*
 * pgjson.c -- result columns as JSON.  See pgjson.h.
 */
#include "pgjson.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"

json_t *
pgjson_text(const PGresult *res, int row, int col)
{
    const char *text;
    json_t *value;
    char *clean;

    if (PQgetisnull(res, row, col))
        return json_null();
    text = PQgetvalue(res, row, col);
    value = json_string(text);
    if (value != NULL)
        return value;
    clean = utf8_sanitize(text, strlen(text), strlen(text) * 3 + 1);
    value = clean ? json_string(clean) : NULL;
    free(clean);
    return value ? value : json_null();
}

json_t *
pgjson_int(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    return json_integer((json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10));
}

json_t *
pgjson_bool(const PGresult *res, int row, int col)
{
    if (PQgetisnull(res, row, col))
        return json_null();
    return json_boolean(strcmp(PQgetvalue(res, row, col), "t") == 0);
}

json_t *
pgjson_parsed(const PGresult *res, int row, int col)
{
    json_error_t error;
    json_t *value;

    if (PQgetisnull(res, row, col))
        return json_null();
    value = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY | JSON_ALLOW_NUL, &error);
    return value ? value : pgjson_text(res, row, col);
}

int
pgjson_set_fields(json_t *obj, const PGresult *res, int row, int first, const pgjson_field_t *fields, size_t n)
{
    int col = first;
    for (size_t i = 0; i < n; i++, col++) {
        json_t *v = fields[i].kind == 'i'   ? pgjson_int(res, row, col)
                    : fields[i].kind == 'b' ? pgjson_bool(res, row, col)
                    : fields[i].kind == 'j' ? pgjson_parsed(res, row, col)
                                            : pgjson_text(res, row, col);
        json_object_set_new(obj, fields[i].name, v);
    }
    return col;
}
