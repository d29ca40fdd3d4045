/*
 * api_send.c -- POST /v1/inboxes/{id}/messages: send as the inbox.
 *
 * Public: api_send_message (see api.h).
 * Checks the key, the inbox (the key's account's, 404 otherwise) and the
 * shape of the body here; everything about the message itself, and the
 * SMTP submission through the local Postfix (so the milter's status
 * checks and caps apply), is send_as_inbox() (lib/mail/send.c).  Its result
 * becomes 202 {messageId, queueId, status: "queued"} or the error format
 * with its status, and Retry-After on 429 (and 503 when known).
 */
#include <stdio.h>
#include <string.h>

#include "api.h"
#include "api_fields.h"
#include "send.h"

void
api_send_message(api_call_t *c)
{
    const char *params[2] = { c->ids[0], c->account_id };
    char address[320], display[300];
    int has_display;
    send_result_t result;
    PGresult *res;

    if (api_body_fields(c, api_fields_send_message) != 0)
        return;
    res = api_query(c, "SELECT address, display_name FROM postinbox.inbox WHERE id = $1::uuid AND account_id = $2::uuid",
                    2, params);
    if (res == NULL)
        return;
    if (PQntuples(res) != 1) {
        PQclear(res);
        api_error(c, 404, "not_found", "no inbox %s", c->ids[0]);
        return;
    }
    snprintf(address, sizeof(address), "%s", PQgetvalue(res, 0, 0));
    has_display = !PQgetisnull(res, 0, 1);
    snprintf(display, sizeof(display), "%s", PQgetvalue(res, 0, 1));
    PQclear(res);

    send_as_inbox(c->rt->cfg, address, has_display ? display : NULL, c->body, &result);
    if (result.http_status == 202) {
        httpd_respond_json(c->resp, 202, json_pack("{s:s,s:s,s:s}", "messageId", result.message_id, "queueId",
                                                   result.queue_id, "status", "queued"));
        return;
    }
    if (result.http_status < 400 || result.http_status > 599)
        result.http_status = 502;
    api_error(c, result.http_status, result.code[0] ? result.code : "send_failed", "%s",
              result.message[0] ? result.message : "the message was not sent");
    if ((result.http_status == 429 || result.http_status == 503) && result.retry_after > 0)
        httpd_add_header(c->resp, "Retry-After", "%d", result.retry_after);
}
