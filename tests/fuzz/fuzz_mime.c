/*
 * fuzz_mime.c -- an inbound message as the milter's record reads it:
 * inbound_analyse (gmime_guard, one GMime parse, mime_parse_message's
 * bodies, reply and attachments, then dsn_parse_message), complete and
 * as a truncated copy, and the resulting JSON written out.
 */
#include "fuzz.h"

#include <jansson.h>

#include "header.h"
#include "inbound.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;

    if (!ready) {
        header_init();
        ready = 1;
    }
    json_t *doc = inbound_analyse((const char *)data, size, size > 0 && (data[0] & 1));
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    free(text);
    json_decref(doc);
    return 0;
}
