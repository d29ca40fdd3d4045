/*
 * inbound.c -- the content of a message to an inbox.  See inbound.h.
 */
#include "inbound.h"

#include <gmime/gmime.h>

#include "dsn.h"
#include "mime_parse.h"

/* A bounce or complaint report into out->report, or the header that
 * makes it an RFC 3834 auto-reply into out->autoReply; 0, or -1 out of
 * memory. */
static int
inbound_report(GMimeMessage *msg, json_t *out)
{
    dsn_report_t report = { 0 };
    int rc = 0;

    if (dsn_parse_message(msg, &report) != DSN_KIND_NONE) {
        json_t *r = dsn_report_json(&report);
        rc = r == NULL || json_object_set_new(out, "report", r) != 0 ? -1 : 0;
    } else if (report.auto_reply != NULL) {
        rc = json_object_set_new(out, "autoReply", json_string(report.auto_reply)) != 0 ? -1 : 0;
    }
    dsn_report_free(&report);
    return rc;
}

/* Bodies, reply and attachments into out->parsed; 0, or -1 out of memory. */
static int
inbound_parsed(GMimeMessage *msg, json_t *out)
{
    mime_parsed_t parsed;
    json_t *p;

    mime_parse_message(msg, NULL, &parsed);
    p = mime_parsed_json(&parsed);
    if (p != NULL)
        json_object_set_new(p, "defects", json_integer(parsed.defects));
    mime_parsed_free(&parsed);
    return p == NULL || json_object_set_new(out, "parsed", p) != 0 ? -1 : 0;
}

json_t *
inbound_analyse(const char *raw, size_t len, int truncated)
{
    GMimeMessage *msg;
    json_t *out;

    if (raw == NULL || len == 0 || (msg = mime_message_new(raw, len)) == NULL)
        return NULL;
    out = json_object();
    if (out == NULL || inbound_report(msg, out) != 0 || inbound_parsed(msg, out) != 0 ||
        json_object_set_new(out, "truncated", json_boolean(truncated)) != 0) {
        json_decref(out);
        out = NULL;
    }
    g_object_unref(msg);
    return out;
}
