/*
 * suspend.h -- the automatic-suspension policy as SQL takes it.
 *
 * Public: suspend_policy_json.
 * The thresholds live in postinbox.conf (suspend_bounce_rate,
 * suspend_complaint_rate, suspend_block_rate, suspend_block_warn_rate,
 * suspend_window, suspend_min_sends); the checks
 * run in PostgreSQL (check_suspension() in sql/functions/suppression.sql),
 * called by record_delivery() (the log follower) and complaint_apply()
 * (the inbound report path), which take the policy as one jsonb
 * parameter.  Logs nothing.
 */
#ifndef POSTINBOX_SUSPEND_H
#define POSTINBOX_SUSPEND_H

#include <stddef.h>

#include "config.h"

/* Big enough for any policy document. */
#define SUSPEND_POLICY_MAX 256
/* Writes {"bounceRate":0.1,"complaintRate":0.005,"blockRate":0.2,
 * "blockWarnRate":0.05,"windowSeconds":86400,"minSends":100} for cfg into
 * out.  Its length, or -1 if out is too
 * small. */
int suspend_policy_json(const pi_config_t *cfg, char *out, size_t outlen);

#endif
