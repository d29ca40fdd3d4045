/*
 * fuzz_webhook.c -- what an endpoint is given: the input is the body of
 * POST /v1/inboxes/{id}/webhooks; its url goes through webhook_input_url
 * and its events through webhook_input_event_index and
 * webhook_input_events, as policyd/api_webhooks.c does; the raw input is
 * also tried as a URL (postinboxctl webhook add --url).
 */
#include "fuzz.h"

#include <jansson.h>

#include "apiutil.h"
#include "webhook_input.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char out[WEBHOOK_URL_MAX + 1];
    char err[256], events[512];
    int chosen[32] = { 0 };
    json_t *item;
    size_t i;

    char *raw = fuzz_cstring(data, size);
    if (raw == NULL)
        return 0;
    (void)webhook_input_url(raw, out, err, sizeof(err));
    (void)webhook_input_event_index(raw, size);
    free(raw);

    json_t *body = apiutil_parse_object((const char *)data, size, err, sizeof(err));
    if (body == NULL)
        return 0;
    const char *url = json_string_value(json_object_get(body, "url"));
    if (url != NULL)
        (void)webhook_input_url(url, out, err, sizeof(err));
    json_array_foreach(json_object_get(body, "events"), i, item) {
        const char *type = json_string_value(item);
        if (type == NULL)
            continue;
        int index = webhook_input_event_index(type, strlen(type));
        if (index >= 0 && index < 32)
            chosen[index] = 1;
    }
    (void)webhook_input_events(chosen, events, sizeof(events));
    (void)webhook_input_events(chosen, events, 8);
    json_decref(body);
    return 0;
}
