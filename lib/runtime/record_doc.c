/*
 * record_doc.c -- the record document.  See record_doc.h; its members are
 * described at record_message() in sql/ (participants: threads; parsed,
 * report, autoReply, contentTruncated, policy: inbound mail).
 */
#include "record_doc.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "header.h"
#include "inbound.h"
#include "log.h"
#include "suspend.h"

#define HEADER_TEXT_MAX 4096         /* decoded bytes stored per header */
#define REFERENCES_MAX 16384
#define MESSAGE_ID_MAX 998           /* RFC 5322's line limit; keeps the row within btree's entry size */
#define PARTICIPANTS_MAX 100

static const char *const record_doc_keys[CHECK_HDR_COUNT] = {
    "messageId", "inReplyTo", "references", "from", "to", "cc", "subject"
};

static json_t *
record_doc_list(const check_list_t *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < list->count; i++)
        json_array_append_new(arr, json_string(list->items[i]));
    return arr;
}

/* What the kept copy says (bodies, attachments, a bounce or complaint
 * report), into doc. */
static void
record_doc_content(const pi_config_t *cfg, const check_message_t *msg, json_t *doc, char report[16])
{
    long long started_us = clock_us();
    const msgbuf_t *content = msg->content;
    json_t *found = inbound_analyse(content->data, content->len, content->truncated);

    if (found == NULL) {
        snprintf(report, 16, "unparsed");
        log_info("%s: stage=eom content=unparsed size=%zu", msg->queue_id, content->seen);
        return;
    }
    json_t *rep = json_object_get(found, "report");
    snprintf(report, 16, "%s", rep ? json_string_value(json_object_get(rep, "kind")) : "none");
    if (rep != NULL) {
        char policy[SUSPEND_POLICY_MAX];
        json_object_set(doc, "report", rep);
        /* A bounce or complaint may suspend the inbox (check_suspension). */
        if (suspend_policy_json(cfg, policy, sizeof(policy)) > 0)
            json_object_set_new(doc, "policy", json_loads(policy, 0, NULL));
        log_info("%s: stage=eom content=%s style=%s originalMessageId=%s us=%lld", msg->queue_id,
                 json_string_value(json_object_get(rep, "kind")), json_string_value(json_object_get(rep, "style")),
                 json_string_value(json_object_get(rep, "originalMessageId")) ?: "-", clock_us() - started_us);
    }
    if (json_object_get(found, "autoReply") != NULL) {
        json_object_set(doc, "autoReply", json_object_get(found, "autoReply"));
        log_info("%s: stage=eom content=auto_reply header=%s", msg->queue_id,
                 json_string_value(json_object_get(found, "autoReply")));
    }
    json_object_set(doc, "parsed", json_object_get(found, "parsed"));
    json_object_set(doc, "contentTruncated", json_object_get(found, "truncated"));
    json_decref(found);
}

char *
record_doc_build(const pi_config_t *cfg, const check_message_t *msg, char report[16])
{
    json_t *doc = json_object(), *rcpts = json_array();
    char *text;

    report[0] = '\0';
    json_object_set_new(doc, "queueId", json_string(msg->queue_id));
    json_object_set_new(doc, "envelopeFrom", json_string(msg->sender));
    json_object_set_new(doc, "size", json_integer((json_int_t)(msg->size > 0x7fffffff ? 0x7fffffff : msg->size)));
    for (int h = 0; h < CHECK_HDR_COUNT; h++) {
        if (msg->headers[h] == NULL)
            continue;
        char *decoded = header_decode(msg->headers[h], h == CHECK_HDR_REFERENCES ? REFERENCES_MAX
                                                       : h == CHECK_HDR_MESSAGE_ID || h == CHECK_HDR_IN_REPLY_TO
                                                           ? MESSAGE_ID_MAX
                                                           : HEADER_TEXT_MAX);
        if (decoded == NULL)
            continue;
        /* Message-ID style headers are kept as the bare <id>. */
        if (h == CHECK_HDR_MESSAGE_ID || h == CHECK_HDR_IN_REPLY_TO) {
            char *p = decoded;
            while (*p == ' ' || *p == '\t')
                p++;
            char *end = strchr(p, '>');
            if (*p == '<' && end)
                end[1] = '\0';
            json_object_set_new(doc, record_doc_keys[h], json_string(p));
        } else {
            json_object_set_new(doc, record_doc_keys[h], json_string(decoded));
        }
        free(decoded);
    }
    /* The addresses of From, To and Cc: the thread's participants. */
    char *people[PARTICIPANTS_MAX];
    size_t npeople = 0;
    json_t *participants = json_array();
    for (int h = CHECK_HDR_FROM; h <= CHECK_HDR_CC; h++)
        if (msg->headers[h] != NULL)
            header_addresses(msg->headers[h], people, &npeople, PARTICIPANTS_MAX);
    for (size_t i = 0; i < npeople; i++) {
        json_array_append_new(participants, json_string(people[i]));
        free(people[i]);
    }
    json_object_set_new(doc, "participants", participants);
    if (msg->outbound && msg->sender_inbox->found && msg->charged->count > 0) {
        json_object_set_new(doc, "sender", json_string(msg->sender_inbox->id));
        json_object_set_new(doc, "senderRecipients", record_doc_list(msg->charged));
        if (msg->tracking_id != NULL) {
            /* printable ASCII (lib/mail/html_links reports no other) */
            json_t *links = json_array();
            for (size_t i = 0; i < msg->link_count; i++)
                json_array_append_new(links, json_string(msg->links[i]));
            json_object_set_new(doc, "trackingId", json_string(msg->tracking_id));
            json_object_set_new(doc, "links", links);
        }
    }
    for (size_t i = 0; i < msg->rcpt_inbox_count; i++) {
        json_t *r = json_object();
        json_object_set_new(r, "inbox", json_string(msg->rcpt_inboxes[i].id));
        json_object_set_new(r, "addresses", record_doc_list(&msg->rcpt_inboxes[i].addresses));
        json_array_append_new(rcpts, r);
    }
    json_object_set_new(doc, "recipients", rcpts);
    if (msg->content != NULL && msg->rcpt_inbox_count > 0)
        record_doc_content(cfg, msg, doc, report);
    text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    return text;
}
