/*
 * milter_metrics.h -- postinbox-milter's Prometheus figures (lib/util/metrics).
 *
 * Public: milter_metrics_init, milter_metrics_start, milter_metrics_stop,
 * milter_metrics_decision, milter_metrics_cap_hit, milter_metrics_recorded,
 * milter_metrics_report.
 * Every name starts with postinbox_milter_ (the table is in README.md).
 * init declares the families and hands the backend ones to lib/runtime/runtime,
 * so every store and limiter built later times its calls (and the batch
 * size histogram to lib/store/record_batch); start serves
 * them on metrics_listen.  The update functions are lock-free and safe
 * from any callback thread; before init they do nothing.  Logs nothing.
 */
#ifndef POSTINBOX_MILTER_METRICS_H
#define POSTINBOX_MILTER_METRICS_H

#include <stddef.h>

#include "decide.h"
#include "httpd.h"
#include "limiter.h"

/* Declares everything (before the first runtime_new).  0, or -1 out of memory. */
int milter_metrics_init(void);
/* Serves /metrics on listen ("host:port") within limits; after
 * daemonising.  0 or -1 with err. */
int milter_metrics_start(const char *listen, const httpd_limits_t *limits, char *err, size_t errlen);
void milter_metrics_stop(void);

/* One decision at stage "mail", "rcpt" or "eom". */
void milter_metrics_decision(const char *stage, const decision_t *decision);
/* The limiter refused a send (LIMIT_BURST or LIMIT_DAILY). */
void milter_metrics_cap_hit(limit_verdict_t verdict);
/* n message rows written, direction "outbound" or "inbound". */
void milter_metrics_recorded(const char *direction, size_t n);
/* The content of a message to an inbox was read: kind "dsn", "arf", "none"
 * (ordinary mail) or "unparsed". */
void milter_metrics_report(const char *kind);

#endif
