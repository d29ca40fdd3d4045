/*
 * fuzz_dsn.c -- bounces and complaints: a whole message through dsn_parse
 * (GMime, RFC 3464 and ARF reports, the non-standard bounce texts) and
 * the JSON of whatever report it found.
 */
#include "fuzz.h"

#include <jansson.h>

#include "dsn.h"
#include "header.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    dsn_report_t report;

    if (!ready) {
        header_init();
        ready = 1;
    }
    if (dsn_parse((const char *)data, size, &report) != DSN_KIND_NONE) {
        json_t *doc = dsn_report_json(&report);
        char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
        free(text);
        json_decref(doc);
    }
    dsn_report_free(&report);
    return 0;
}
