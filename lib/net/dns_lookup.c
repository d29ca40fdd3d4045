/*
 * dns_lookup.c -- DNS over libunbound with a deadline.  See dns_lookup.h.
 */
#include "dns_lookup.h"

#include <ctype.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "analyzer.h"
#include "clock.h"

struct dns_resolver {
    struct ub_ctx *ctx;
    char name[128];
    const atomic_int *cancel;   /* NULL: none */
};

/* One question's state, filled by the callback. */
typedef struct {
    int done;
    int err;
    struct ub_result *result;
} dns_wait_t;

void
dns_resolver_set_cancel(dns_resolver_t *r, const atomic_int *cancel)
{
    r->cancel = cancel;
}

int
dns_resolver_cancelled(const dns_resolver_t *r)
{
    return r->cancel != NULL && atomic_load(r->cancel);
}

dns_resolver_t *
dns_resolver_new(const char *server, char *err, size_t errlen)
{
    dns_resolver_t *r = calloc(1, sizeof(*r));
    int rc = 0;

    if (r == NULL || (r->ctx = ub_ctx_create()) == NULL) {
        snprintf(err, errlen, "cannot make a libunbound context");
        free(r);
        return NULL;
    }
    /* a thread, not a forked process, answers the asynchronous questions */
    rc = ub_ctx_async(r->ctx, 1);
    if (rc == 0 && server != NULL && *server != '\0') {
        /* A local server (the tests' NSD, a local Unbound) is allowed. */
        if ((rc = ub_ctx_set_option(r->ctx, "do-not-query-localhost:", "no")) == 0)
            rc = ub_ctx_set_fwd(r->ctx, server);
        /* The server given decides about every name: libunbound's own
         * answers for the special-use names of RFC 6761 (NXDOMAIN for
         * test. and invalid.) would hide a test or lab zone there
         * ("transparent": asked on; "nodefault" is not honoured here). */
        if (rc == 0)
            rc = ub_ctx_set_option(r->ctx, "local-zone:", "test. transparent");
        if (rc == 0)
            rc = ub_ctx_set_option(r->ctx, "local-zone:", "invalid. transparent");
        snprintf(r->name, sizeof(r->name), "%.100s", server);
    } else if (rc == 0) {
        rc = ub_ctx_resolvconf(r->ctx, NULL);
        snprintf(r->name, sizeof(r->name), "the system resolver");
    }
    if (rc != 0) {
        snprintf(err, errlen, "dns_resolver %.100s: %s", server && *server ? server : "(system)", ub_strerror(rc));
        dns_resolver_free(r);
        return NULL;
    }
    return r;
}

void
dns_resolver_free(dns_resolver_t *r)
{
    if (r == NULL)
        return;
    if (r->ctx)
        ub_ctx_delete(r->ctx);
    free(r);
}

const char *
dns_resolver_name(const dns_resolver_t *r)
{
    return r->name;
}

static void
dns_callback(void *arg, int err, struct ub_result *result)
{
    dns_wait_t *w = arg;
    w->done = 1;
    w->err = err;
    w->result = result;
}

/* TXT rdata: <len><bytes> strings, joined.  NULL when malformed. */
static char *
dns_txt_text(const unsigned char *d, int len)
{
    char *out = malloc((size_t)len + 1);
    size_t n = 0;
    if (out == NULL)
        return NULL;
    for (int i = 0; i < len;) {
        int l = d[i++];
        if (i + l > len) {
            free(out);
            return NULL;
        }
        memcpy(out + n, d + i, (size_t)l);
        n += (size_t)l;
        i += l;
    }
    out[n] = '\0';
    return out;
}

/* MX rdata: preference, then the host as uncompressed labels. */
static char *
dns_mx_text(const unsigned char *d, int len)
{
    char host[300];
    size_t n = 0;
    int i = 2;
    if (len < 3)
        return NULL;
    while (i < len && d[i] != 0) {
        int l = d[i++];
        if (l > 63 || i + l > len || n + (size_t)l + 2 > sizeof(host))
            return NULL;
        for (int j = 0; j < l; j++)
            host[n++] = (char)tolower(d[i + j]);
        host[n++] = '.';
        i += l;
    }
    if (n == 0)
        host[n++] = '.';
    host[n] = '\0';
    char *out = malloc(n + 8);
    if (out != NULL)
        snprintf(out, n + 8, "%u %s", (unsigned)(d[0] << 8 | d[1]), host);
    return out;
}

/* Each record's text goes into the calloc'd out->records, which gcc 12's
 * analyzer does not follow; dns_answer_clear frees them (or this function,
 * on any status but DNS_OK). */
ANALYZER_NO_LEAK_BEGIN
dns_status_t
dns_lookup(dns_resolver_t *r, const char *name, int type, long timeout_ms, dns_answer_t *out, char *err,
           size_t errlen)
{
    dns_wait_t w = { 0 };
    long long deadline = clock_ms() + timeout_ms;
    int id = 0, rc;
    dns_status_t st;

    memset(out, 0, sizeof(*out));
    if ((rc = ub_resolve_async(r->ctx, name, type, 1 /* IN */, &w, dns_callback, &id)) != 0) {
        snprintf(err, errlen, "%s", ub_strerror(rc));
        return DNS_ERROR;
    }
    while (!w.done) {
        long long left = deadline - clock_ms();
        struct pollfd pfd = { .fd = ub_fd(r->ctx), .events = POLLIN };
        if (left <= 0 || (r->cancel != NULL && atomic_load(r->cancel))) {
            ub_cancel(r->ctx, id);
            if (left > 0)
                snprintf(err, errlen, "cancelled: the daemon is stopping");
            else
                snprintf(err, errlen, "no answer from %s within %ld ms", r->name, timeout_ms);
            return DNS_TIMEOUT;
        }
        if (poll(&pfd, 1, (int)(left > 200 ? 200 : left)) > 0 && (rc = ub_process(r->ctx)) != 0) {
            snprintf(err, errlen, "%s", ub_strerror(rc));
            ub_cancel(r->ctx, id);
            return DNS_ERROR;
        }
    }
    if (w.err != 0) {
        snprintf(err, errlen, "%s", ub_strerror(w.err));
        return w.err == UB_SERVFAIL ? DNS_SERVFAIL : DNS_ERROR;
    }
    struct ub_result *res = w.result;
    if (res->nxdomain) {
        st = DNS_NXDOMAIN;
        snprintf(err, errlen, "no such name");
    } else if (res->rcode != 0) {
        st = DNS_SERVFAIL;
        snprintf(err, errlen, "rcode %d from %s", res->rcode, r->name);
    } else if (!res->havedata) {
        st = DNS_NODATA;
        snprintf(err, errlen, "no %s record", type == DNS_TYPE_MX ? "MX" : "TXT");
    } else {
        size_t count = 0;
        while (res->data[count] != NULL)
            count++;
        st = DNS_OK;
        if ((out->records = calloc(count, sizeof(char *))) == NULL) {
            snprintf(err, errlen, "out of memory");
            st = DNS_ERROR;
        }
        for (size_t i = 0; st == DNS_OK && i < count; i++) {
            char *text = type == DNS_TYPE_MX ? dns_mx_text((unsigned char *)res->data[i], res->len[i])
                                             : dns_txt_text((unsigned char *)res->data[i], res->len[i]);
            if (text != NULL)
                out->records[out->count++] = text;
        }
        if (st == DNS_OK && out->count == 0) {
            st = DNS_SERVFAIL;
            snprintf(err, errlen, "malformed records");
        }
    }
    ub_resolve_free(res);
    if (st != DNS_OK)
        dns_answer_clear(out);
    return st;
}
ANALYZER_NO_LEAK_END

void
dns_answer_clear(dns_answer_t *a)
{
    for (size_t i = 0; i < a->count; i++)
        free(a->records[i]);
    free(a->records);
    a->records = NULL;
    a->count = 0;
}

const char *
dns_status_word(dns_status_t st)
{
    static const char *const words[] = { "ok", "nxdomain", "nodata", "servfail", "timeout", "error" };
    return (unsigned)st < sizeof(words) / sizeof(words[0]) ? words[st] : "error";
}
