/*
 * cmd_send.c -- postinboxctl send: a message as an inbox, through the
 * local Postfix, exactly as POST /v1/inboxes/{id}/messages sends it.
 *
 * Public: cmd_send (see cmd.h).
 * The request is built from the options (--to, --cc, --reference
 * repeatable) or read whole from --request FILE ("-" for standard input;
 * JSON as the API receives it, \u0000 allowed so it can be refused), then
 * handed to send_as_inbox (lib/mail/send.c), which checks it, composes it and
 * submits it to api_submission.  Option values go in byte for byte (not
 * checked here), so the library's checks are the ones that refuse.
 * Prints the result: {status, messageId, queueId} when queued, else
 * {status, error: {code, message}, retryAfter, smtpReply}.  Exit status 0
 * only when queued (HTTP 202).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "output.h"
#include "send.h"

#define SEND_MAX_LIST 100 /* repeated options kept; more than the API allows, so the library refuses */

/* Adds a repeatable option as a string (one value) or an array. */
static void
send_add_list(json_t *req, const args_t *args, const char *option, const char *field)
{
    const char *values[SEND_MAX_LIST];
    int n = args_values(args, option, values, SEND_MAX_LIST);
    json_t *list;
    if (n <= 0)
        return;
    list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, json_stringn_nocheck(values[i], strlen(values[i])));
    json_object_set_new(req, field, list);
}

static void
send_add_string(json_t *req, const args_t *args, const char *option, const char *field)
{
    const char *v = args_value(args, option);
    if (v != NULL)
        json_object_set_new(req, field, json_stringn_nocheck(v, strlen(v)));
}

/* The request: from --request, else from the options.  NULL after
 * reporting, with *rc the exit status. */
static json_t *
send_request(const args_t *args, int *rc)
{
    const char *file = args_value(args, "request");
    json_t *req;
    if (file != NULL) {
        json_error_t jerr;
        static const char *const conflicting[] = { "to", "cc", "subject", "text", "html", "in-reply-to", "reference" };
        for (size_t i = 0; i < sizeof(conflicting) / sizeof(conflicting[0]); i++) {
            if (args_value(args, conflicting[i]) != NULL) {
                *rc = output_usage("--request cannot be combined with --%s", conflicting[i]);
                return NULL;
            }
        }
        req = strcmp(file, "-") == 0 ? json_loadf(stdin, JSON_ALLOW_NUL, &jerr)
                                     : json_load_file(file, JSON_ALLOW_NUL, &jerr);
        if (req == NULL)
            *rc = output_error("%s: line %d: %s", file, jerr.line, jerr.text);
        return req;
    }
    req = json_object();
    send_add_list(req, args, "to", "to");
    send_add_list(req, args, "cc", "cc");
    send_add_string(req, args, "subject", "subject");
    send_add_string(req, args, "text", "text");
    send_add_string(req, args, "html", "html");
    send_add_string(req, args, "in-reply-to", "inReplyTo");
    send_add_list(req, args, "reference", "references");
    return req;
}

int
cmd_send(ctl_t *ctl, const args_t *args)
{
    char id[40];
    const char *params[1] = { id };
    PGresult *res;
    json_t *req, *obj;
    send_result_t result;
    int rc = ctl_resolve_inbox(ctl, args->pos[0], id);

    if (rc != 0)
        return rc;
    if ((req = send_request(args, &rc)) == NULL)
        return rc;
    res = ctl_query(ctl, "SELECT address, coalesce(display_name, '') FROM postinbox.inbox WHERE id = $1::uuid", 1,
                    params);
    if (res == NULL || PQntuples(res) != 1) {
        if (res != NULL)
            PQclear(res);
        json_decref(req);
        return res == NULL ? CTL_EXIT_ERROR : output_error("no inbox %s", id);
    }
    send_as_inbox(ctl->cfg, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), req, &result);
    PQclear(res);
    json_decref(req);

    obj = json_object();
    json_object_set_new(obj, "status", json_integer(result.http_status));
    if (result.message_id[0])
        json_object_set_new(obj, "messageId", json_string(result.message_id));
    if (result.http_status == 202) {
        json_object_set_new(obj, "queueId", json_string(result.queue_id));
    } else {
        json_t *error = json_object();
        json_object_set_new(error, "code", json_string(result.code));
        json_object_set_new(error, "message", json_string(result.message));
        json_object_set_new(obj, "error", error);
        if (result.retry_after > 0)
            json_object_set_new(obj, "retryAfter", json_integer(result.retry_after));
    }
    if (result.smtp_reply[0])
        json_object_set_new(obj, "smtpReply", json_string(result.smtp_reply));
    output_object(obj, NULL);
    return result.http_status == 202 ? 0 : CTL_EXIT_ERROR;
}
