/*
 * fuzz_api_json.c -- the HTTP API's request bodies: apiutil_parse_object
 * (one object, no duplicate keys, no NUL, strict UTF-8), then
 * apiutil_check_fields against the field lists of every endpoint that
 * takes a body (as policyd/api_*.c declare them), and the checks the
 * inbox endpoints run on the strings (username, display name, labels).
 */
#include "fuzz.h"

#include <stdio.h>

#include "api_fields.h"
#include "apiutil.h"
#include "validate.h"

static const apiutil_field_t *const specs[] = { api_fields_inbox_create, api_fields_inbox_update,
                                                api_fields_send_message, api_fields_webhook_create,
                                                api_fields_webhook_update, api_fields_suppression_create };

/* The string checks of the inbox endpoints, on a copy (ascii_lower writes). */
static void
fuzz_strings(const json_t *obj)
{
    const char *username = json_string_value(json_object_get(obj, "username"));
    const char *display = json_string_value(json_object_get(obj, "displayName"));
    const json_t *labels = json_object_get(obj, "labels"), *label;
    const char *id = json_string_value(json_object_get(obj, "domainId"));
    size_t i;

    if (username != NULL) {
        char *copy = strdup(username);
        if (copy != NULL)
            (void)valid_username(ascii_lower(copy));
        free(copy);
    }
    if (display != NULL)
        (void)valid_text(display);
    if (id != NULL)
        (void)valid_uuid(id);
    json_array_foreach(labels, i, label) {
        if (json_is_string(label))
            (void)valid_label(json_string_value(label));
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], code[32];
    json_t *obj = apiutil_parse_object((const char *)data, size, err, sizeof(err));

    if (obj == NULL)
        return 0;
    for (size_t s = 0; s < sizeof(specs) / sizeof(specs[0]); s++) {
        if (apiutil_check_fields(obj, specs[s], code, err, sizeof(err)) == 0 && s < 2)
            fuzz_strings(obj);
    }
    json_decref(obj);
    return 0;
}
