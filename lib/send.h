/*
 * send.h -- sending a message as an inbox through the local Postfix
 * (POST /v1/inboxes/{id}/messages).
 *
 * Public: send_result_t, send_as_inbox.
 * The request is checked, composed into a MIME message (GMime) From the
 * inbox, and submitted over SMTP to the Postfix address in the config
 * (api_submission), as a client the milter treats as outbound for that
 * inbox, so the milter's status checks, suppression list and caps apply
 * exactly as to any other mail.  Postfix's reply decides the result.
 * Every network step has a deadline.  Thread-safe.  Logs nothing.
 */
#ifndef POSTINBOX_SEND_H
#define POSTINBOX_SEND_H

#include <jansson.h>

#include "config.h"

typedef struct {
    int http_status;        /* 202 queued; 400 bad request; 403 refused (disabled, suspended,
                               suppressed, not allowed); 429 cap hit; 503 backend/Postfix unavailable */
    char code[48];          /* error code for {"error": {"code", "message"}}, "" on success */
    char message[512];      /* the human reason (Postfix's reply text when it refused) */
    int retry_after;        /* seconds, for 429 (and 503 when known); 0 otherwise */
    char message_id[256];   /* the Message-ID header given to the message ("<...>") */
    char queue_id[32];      /* Postfix's queue id, when queued */
    char smtp_reply[512];   /* the last SMTP reply, for logs and the error body */
} send_result_t;

/* request: {to: string|[string], cc?: string|[string], subject: string,
 * text?: string, html?: string, inReplyTo?: string, references?: [string]}.
 * from_address/display_name: the inbox.  Fills *out; returns out->http_status. */
int send_as_inbox(const pi_config_t *cfg, const char *from_address, const char *display_name,
                  const json_t *request, send_result_t *out);

#endif
