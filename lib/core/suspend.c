/*
 * suspend.c -- the suspension policy document.  See suspend.h.
 */
#include "suspend.h"

#include <stdio.h>

int
suspend_policy_json(const pi_config_t *cfg, char *out, size_t outlen)
{
    /* The rates are whole parts per million (config_parse_percent_ppm),
     * so %.6g prints them exactly: 0.1, 0.005, 0.0125. */
    int n = snprintf(out, outlen,
                     "{\"bounceRate\":%.6g,\"complaintRate\":%.6g,\"blockRate\":%.6g,\"blockWarnRate\":%.6g,"
                     "\"windowSeconds\":%ld,\"minSends\":%d}",
                     cfg->suspend_bounce_rate, cfg->suspend_complaint_rate, cfg->suspend_block_rate,
                     cfg->suspend_block_warn_rate, cfg->suspend_window_ms / 1000, cfg->suspend_min_sends);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}
