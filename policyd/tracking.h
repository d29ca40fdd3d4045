/*
 * tracking.h -- postinbox-policyd's tracking listener: the URLs the
 * milter wrote into tracked mail (lib/mail/track_rewrite.h).
 *
 * Public: tracking_start, tracking_stop.
 * On tracking_listen (libmicrohttpd, lib/net/httpd, as the API), behind
 * the public tracking_base_url:
 *   GET /o/{token}    the open pixel: a 1x1 transparent GIF, never cached
 *   GET /c/{token}    a click: 302 to the link's original URL
 *   GET /u/{token}    a small page whose button POSTs to the same URL
 *   POST /u/{token}   RFC 8058 one-click unsubscribe (any body): the
 *                     recipient goes on the sender inbox's suppression list
 * A token is checked before anything is counted (lib/mail/track_token.h):
 * one that does not parse, whose MAC does not verify over the URL or
 * recipient PostgreSQL has for it, or whose message is gone (its inbox
 * purged) is 404 -- never a redirect to a URL the token did not sign, and
 * the answer is the same whichever check failed, so it tells nothing about
 * other messages.  A request is counted and turned into events by
 * sql/functions/tracking.sql (tracking_hit, tracking_unsubscribe): the
 * first by a person is always an event, a machine's only when nothing was
 * reported yet, bursts are counted, not multiplied.  Who asked:
 * lib/net/track_agent (User-Agent, tracking_machine_networks), and for a
 * click, how soon after delivery (tracking_scanner_window).  The client
 * address is the peer's, or the last X-Forwarded-For address when the
 * peer is in tracking_proxy_networks; it is stored only with
 * tracking_store_ip = yes.  When PostgreSQL does not answer, a pixel is
 * still served (uncounted, logged), a click or unsubscribe is 503 with
 * Retry-After.  Logs one line per counted request at debug, warnings for
 * backend errors.
 */
#ifndef POSTINBOX_TRACKING_H
#define POSTINBOX_TRACKING_H

#include <stddef.h>

#include "config.h"

/* Starts the listener when cfg->tracking_listen is set.  0, -1 with err. */
int tracking_start(const pi_config_t *cfg, char *err, size_t errlen);
void tracking_stop(void);

#endif
