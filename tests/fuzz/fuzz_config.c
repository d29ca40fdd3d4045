/*
 * fuzz_config.c -- postinbox.conf as an admin (or a broken deploy) writes
 * it: config_parse_text on the whole input, every key of the one table,
 * its durations, lists, CIDRs, replies and bounds.
 */
#include "fuzz.h"

#include "config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    char *text = fuzz_cstring(data, size);

    if (text == NULL)
        return 0;
    pi_config_t *cfg = config_parse_text(text, "fuzz.conf", err, sizeof(err));
    config_free(cfg);
    (void)config_parse_duration_ms(text);
    (void)config_parse_percent_ppm(text);
    char host[64];
    int port;
    (void)config_parse_hostport(text, host, sizeof(host), &port);
    free(text);
    return 0;
}
