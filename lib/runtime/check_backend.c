/*
 * check_backend.c -- the core's backend table over a runtime.  See
 * check_backend.h.
 */
#include "check_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "record_doc.h"
#include "track_rewrite.h"

static int
cb_lookup(void *ctx, const char *address, const char *login, inbox_lookup_t *out, char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    return store_lookup(rt->store, address, login, out, err, errlen);
}

static int
cb_suppressed(void *ctx, const char *inbox_id, const char *address, suppression_t *out, char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    return store_suppressed(rt->store, inbox_id, address, out, err, errlen);
}

static int
cb_reserve(void *ctx, const inbox_lookup_t *inbox, const char *token, limit_result_t *res, char *err,
           size_t errlen)
{
    runtime_t *rt = ctx;
    return limiter_reserve(rt->limiter, inbox->id, inbox->daily_limit, inbox->burst_limit, token, res, err, errlen);
}

static int
cb_settle(void *ctx, const inbox_lookup_t *inbox, const char *const *tokens, size_t n, limit_result_t *res,
          char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    return limiter_settle(rt->limiter, inbox->id, inbox->daily_limit, tokens, n, res, err, errlen);
}

static int
cb_refund(void *ctx, const inbox_lookup_t *inbox, const char *token, int n, char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    return limiter_refund(rt->limiter, inbox->id, token, n, err, errlen);
}

static int
cb_fits(void *ctx, const inbox_lookup_t *inbox, int n, limit_result_t *res, char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    return limiter_check(rt->limiter, inbox->id, inbox->daily_limit, inbox->burst_limit, n, res, err, errlen);
}

static int
cb_charge(void *ctx, const inbox_lookup_t *inbox, int n, const char *token, limit_result_t *res, char *err,
          size_t errlen)
{
    runtime_t *rt = ctx;
    return limiter_reserve_n(rt->limiter, inbox->id, inbox->daily_limit, inbox->burst_limit, n, token, res, err,
                             errlen);
}

static int
cb_record(void *ctx, const check_message_t *msg, char report[16], char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    char *doc = record_doc_build(rt->cfg, msg, report);
    int rc;

    if (doc == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = record_batch_write(rt->records, doc, err, errlen);
    free(doc);
    return rc == 0 ? 0 : -1;
}

/* The inbox's own domain signs (d= aligned with its From). */
static int
cb_sign_start(void *ctx, const inbox_lookup_t *inbox, const char *queue_id, void **signer, char *err,
              size_t errlen)
{
    runtime_t *rt = ctx;
    dkim_keys_signer_t *s = NULL;
    int rc = dkim_keys_start(rt->dkim, rt->secrets, rt->secrets_error, address_domain(inbox->address), queue_id, &s,
                             err, errlen);
    *signer = s;
    return rc;
}

static int
cb_sign_header(void *signer, const char *name, const char *value, char *err, size_t errlen)
{
    return dkim_signer_header(dkim_keys_signer(signer), name, value, err, errlen);
}

static int
cb_sign_body(void *signer, const unsigned char *chunk, size_t len, char *err, size_t errlen)
{
    return dkim_signer_body(dkim_keys_signer(signer), chunk, len, err, errlen);
}

static int
cb_sign_finish(void *signer, char *out, size_t outlen, char *err, size_t errlen)
{
    return dkim_signer_finish(dkim_keys_signer(signer), out, outlen, err, errlen);
}

static void
cb_sign_free(void *signer)
{
    dkim_keys_signer_free(signer);
}

/* Tracking of one outbound message: a fresh tracking id, the HTML
 * rewritten (opens, clicks), and List-Unsubscribe for a message to one
 * recipient that has none of its own (a message to several cannot name
 * who unsubscribes, so it gets none). */
static int
cb_track(void *ctx, const inbox_lookup_t *inbox, const char *message, size_t len, const check_list_t *recipients,
         int own_list_unsubscribe, check_track_t *out, char *err, size_t errlen)
{
    runtime_t *rt = ctx;
    unsigned char id[TRACK_ID_LEN];
    track_options_t opt = {
        .base_url = rt->cfg->tracking_base_url,
        .keys = rt->track_keys,
        .opens = (inbox->tracking & INBOX_TRACK_OPENS) != 0,
        .clicks = (inbox->tracking & INBOX_TRACK_CLICKS) != 0,
        .max_links = (size_t)rt->cfg->tracking_max_links,
    };
    track_result_t r;
    char unsub[1024];
    const char *why_no_unsub = "off";

    memset(out, 0, sizeof(*out));
    if (rt->track_keys == NULL || track_id_new(id) != 0) {
        snprintf(err, errlen, "%s", rt->track_keys == NULL ? "no tracking keys" : "no random bytes");
        return -1;
    }
    if (track_rewrite(&opt, id, message, len, &r, err, errlen) != 0)
        return -1;
    if (inbox->tracking & INBOX_TRACK_UNSUBSCRIBE) {
        why_no_unsub = own_list_unsubscribe ? "own" : recipients->count != 1 ? "recipients" : NULL;
        if (why_no_unsub == NULL &&
            (track_unsubscribe_fields(&opt, id, recipients->items[0], inbox->address, unsub, sizeof(unsub)) != 0 ||
             (out->unsubscribe = strdup(unsub)) == NULL || (out->unsubscribe_post = strdup(TRACK_UNSUBSCRIBE_POST)) == NULL)) {
            track_result_clear(&r);
            snprintf(err, errlen, "out of memory or no token");
            return -1;
        }
    }
    out->body = r.body;
    out->body_len = r.body_len;
    out->links = r.links;
    out->link_count = r.link_count;
    if (r.body != NULL || out->unsubscribe != NULL)
        for (int i = 0; i < TRACK_ID_LEN; i++)
            snprintf(out->tracking_id + 2 * i, 3, "%02x", id[i]);
    snprintf(out->summary, sizeof(out->summary), "%s htmlParts=%d links=%zu skipped=%zu pixels=%d unsubscribe=%s",
             r.body != NULL ? "rewritten" : out->tracking_id[0] ? "headers" : "unchanged", r.html_parts, r.link_count, r.skipped, r.pixels,
             out->unsubscribe ? "yes" : why_no_unsub ? why_no_unsub : "no");
    return 0;
}

static void
cb_track_clear(check_track_t *t)
{
    free(t->body);
    for (size_t i = 0; i < t->link_count; i++)
        free(t->links[i]);
    free(t->links);
    free(t->unsubscribe);
    free(t->unsubscribe_post);
    memset(t, 0, sizeof(*t));
}

void
check_backend_env(runtime_t *rt, check_mode_t mode, const check_hooks_t *hooks, check_env_t *env)
{
    *env = (check_env_t){
        .cfg = rt->cfg,
        .backend = {
            .ctx = rt,
            .lookup = cb_lookup,
            .suppressed = cb_suppressed,
            .reserve = cb_reserve,
            .settle = cb_settle,
            .refund = cb_refund,
            .fits = cb_fits,
            .charge = cb_charge,
            .record = cb_record,
            /* only the milter signs: it alone can add a header field */
            .sign_start = rt->dkim != NULL && mode == CHECK_RESERVE ? cb_sign_start : NULL,
            .sign_header = cb_sign_header,
            .sign_body = cb_sign_body,
            .sign_finish = cb_sign_finish,
            .sign_free = cb_sign_free,
            /* only the milter tracks: it alone can change a message */
            .track = rt->track_keys != NULL && mode == CHECK_RESERVE ? cb_track : NULL,
            .track_clear = cb_track_clear,
        },
        .foreign_domains = rt->foreign_domains,
        .hooks = hooks,
        .mode = mode,
    };
}
