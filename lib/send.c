/*
 * send.c -- sending as an inbox.  See send.h.
 *
 * Placeholder until the submission client lands: every send is refused
 * with 501, so nothing claims a message was queued.
 */
#include "send.h"

#include <stdio.h>
#include <string.h>

int
send_as_inbox(const pi_config_t *cfg, const char *from_address, const char *display_name,
              const json_t *request, send_result_t *out)
{
    (void)cfg;
    (void)from_address;
    (void)display_name;
    (void)request;
    memset(out, 0, sizeof(*out));
    out->http_status = 501;
    snprintf(out->code, sizeof(out->code), "not_implemented");
    snprintf(out->message, sizeof(out->message), "sending through the API is not available yet");
    return out->http_status;
}
