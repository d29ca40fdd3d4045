/*
 * inbound.c -- the content of a message to an inbox.  See inbound.h.
 */
#include "inbound.h"

#include <gmime/gmime.h>

#include "dsn.h"

static GMimeMessage *
inbound_parse(const char *raw, size_t len)
{
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    GMimeMessage *msg;

    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    return msg;
}

json_t *
inbound_analyse(const char *raw, size_t len, int truncated)
{
    GMimeMessage *msg;
    dsn_report_t report = { 0 };
    json_t *out;

    if (raw == NULL || len == 0 || (msg = inbound_parse(raw, len)) == NULL)
        return NULL;
    out = json_object();
    if (out != NULL && dsn_parse_message(msg, &report) != DSN_KIND_NONE) {
        json_t *r = dsn_report_json(&report);
        if (r == NULL || json_object_set_new(out, "report", r) != 0) {
            json_decref(out);
            out = NULL;
        }
    }
    dsn_report_free(&report);
    if (out != NULL)
        json_object_set_new(out, "truncated", json_boolean(truncated));
    g_object_unref(msg);
    return out;
}
