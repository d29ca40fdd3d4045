/*
 * webhook_common.c -- input checks, secrets and event lists for the
 * webhook commands.  See webhook_common.h.
 */
#include "webhook_common.h"

#include <stdio.h>
#include <string.h>

#include "output.h"

int
webhook_url(const char *url, const cidr_list_t *allow, char out[WEBHOOK_URL_MAX + 1])
{
    char err[160], address[SSRF_ADDRESS_LEN];
    const char *class;
    if (webhook_input_url(url, out, err, sizeof(err)) != 0)
        return output_usage("--url %s", err);
    if ((class = webhook_input_private_host(out, allow, address)) != NULL)
        return output_usage("--url %s: %s is a %s address, which webhooks may not reach unless "
                            "webhook_allow_networks lists it (with this port, if the entry names one)",
                            out, address, class);
    return 0;
}

int
webhook_events(const char *list, char *out, size_t outlen)
{
    int chosen[32] = { 0 };
    const char *p = list;

    while (p != NULL && *p != '\0') {
        size_t len = strcspn(p, ",");
        const char *item = p;
        int i;
        /* "a, b" is fine: spaces around an item are dropped */
        while (len > 0 && *item == ' ')
            item++, len--;
        while (len > 0 && item[len - 1] == ' ')
            len--;
        if ((i = webhook_input_event_index(item, len)) < 0) {
            if (len == 0)
                return output_usage("--events: empty event type in \"%s\"", list);
            char known[512] = "";
            for (int k = 0; webhook_event_types[k] != NULL; k++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s", k ? ", " : "",
                         webhook_event_types[k]);
            return output_usage("--events: \"%.*s\" is not an event type (%s)", (int)(len > 100 ? 100 : len),
                                item, known);
        }
        chosen[i] = 1;
        p += strcspn(p, ",");
        if (*p == ',' && *++p == '\0')
            return output_usage("--events: empty event type in \"%s\"", list);
    }
    if (webhook_input_events(chosen, out, outlen) != 0)
        return output_usage("--events: too long");
    return 0;
}

int
webhook_id_arg(const args_t *args, const char **id)
{
    *id = args->pos[0];
    if (!valid_uuid(*id))
        return output_usage("\"%s\" is not a webhook endpoint id (uuid)", *id);
    return 0;
}

void
webhook_events_for_people(json_t *endpoint)
{
    json_t *events = json_object_get(endpoint, "events");
    if (!output_json() && json_is_array(events) && json_array_size(events) == 0)
        json_object_set_new(endpoint, "events", json_string("all"));
}
