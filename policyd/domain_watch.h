/*
 * domain_watch.h -- postinbox-policyd's periodic DNS check of custom
 * domains.
 *
 * Public: domain_watch_start, domain_watch_stop.
 * A thread of its own wakes every second and checks the domains whose
 * next_check_at has come (sql/migrations/016_domain_check.sql): a pending
 * domain becomes verified once its records are right, a verified one is
 * watched.  Each check is lib/admin/admin_domain's admin_domain_verify,
 * as `postinboxctl domain verify` runs it, so the outcome -- the schedule
 * (domain_check_interval; after a failure domain_check_retry, doubled per
 * failure in a row), domain.dns_failed after domain_check_failures
 * failures in a row, domain.verified on recovery -- is the one of
 * sql/functions/domain.sql.  Several daemons share the work: a due domain
 * is claimed with FOR UPDATE SKIP LOCKED and its next_check_at moved past
 * the check (a lease) before DNS is asked.  domain_check_interval = 0
 * turns the thread's work off (it is read on every wake, so reload
 * applies).  Domains the operator verified by its word (`domain add
 * --verified`) are not watched until checked once by hand.
 * Logs one line per check: "domain check: NAME passed|failed (...)".
 */
#ifndef POSTINBOX_DOMAIN_WATCH_H
#define POSTINBOX_DOMAIN_WATCH_H

#include <stddef.h>

/* Starts the thread.  0, or -1 with err. */
int domain_watch_start(char *err, size_t errlen);
/* Stops it: a DNS question under way is cancelled (within 200 ms) and
 * that check's outcome is not written, so the domain is checked again
 * when its lease runs out. */
void domain_watch_stop(void);

#endif
