/*
 * callbacks.c -- libmilter callbacks.  See callbacks.h.
 *
 * Negotiation asks Postfix to skip the stages we do not use (HELO, DATA,
 * unknown commands, end of headers) and not to wait for replies to
 * header and body chunks, so a message costs the fewest round trips.
 * xxfi_close may come without xxfi_connect (NULL priv); xxfi_abort may
 * come between any two callbacks: both go through check_abort.  The
 * changes to a message are lib/core/check's, at end of message, for
 * outbound mail from an inbox: the DKIM-Signature and the List-Unsubscribe
 * fields, added at the top, and the body tracking rewrote.  The
 * transaction itself is lib/core/check's (CHECK_RESERVE); this file only
 * turns libmilter's calls into it and its decisions into replies.
 */
#include "callbacks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "check_backend.h"
#include "cidr.h"
#include "log.h"
#include "milter_metrics.h"
#include "runtime.h"

static unsigned long callbacks_no_reply_flags;  /* SMFIP_NR_* granted by the MTA */
static int callbacks_can_replace_body;          /* SMFIF_CHGBODY granted */

/* One SMTP connection: the runtime it started with (kept until it
 * closes, so no session sees half of a reload) and its transaction. */
typedef struct {
    runtime_t *rt;
    check_t *check;
} callbacks_conn_t;

static const check_hooks_t callbacks_hooks = {
    .cap_hit = milter_metrics_cap_hit,
    .recorded = milter_metrics_recorded,
    .report = milter_metrics_report,
};

static check_t *
callbacks_check(SMFICTX *ctx)
{
    callbacks_conn_t *conn = smfi_getpriv(ctx);
    return conn ? conn->check : NULL;
}

/* Copies a macro value (libmilter owns the original). */
static const char *
callbacks_macro(SMFICTX *ctx, const char *name, char *buf, size_t buflen)
{
    const char *v = smfi_getsymval(ctx, (char *)name);
    if (v == NULL || *v == '\0')
        return NULL;
    snprintf(buf, buflen, "%s", v);
    return buf;
}

/* Translates a decision into the milter reply. */
static sfsistat
callbacks_reply(SMFICTX *ctx, const decision_t *d)
{
    char code[8];
    if (d->action == DECISION_CONTINUE)
        return SMFIS_CONTINUE;
    snprintf(code, sizeof(code), "%d", d->code);
    if (smfi_setreply(ctx, code, (char *)d->xcode, (char *)d->text) != MI_SUCCESS)
        log_warn("smfi_setreply %s %s failed", code, d->xcode);
    return d->action == DECISION_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
             unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
    unsigned long want_skip = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NOEOH;
    unsigned long want_nr = SMFIP_NR_HDR | SMFIP_NR_BODY;

    if ((f0 & SMFIF_ADDHDRS) == 0) {
        log_error("the MTA does not let milters add header fields: DKIM signatures cannot be added");
        return SMFIS_REJECT;
    }
    /* the DKIM-Signature and List-Unsubscribe; the body tracking rewrote */
    *pf0 = SMFIF_ADDHDRS | (f0 & SMFIF_CHGBODY);
    callbacks_can_replace_body = (f0 & SMFIF_CHGBODY) != 0;
    if (!callbacks_can_replace_body)
        log_warn("the MTA does not let milters replace the body: tracked links and pixels are not added");
    *pf1 = (f1 & want_skip) | (f1 & want_nr);
    *pf2 = 0;
    *pf3 = 0;
    callbacks_no_reply_flags = f1 & want_nr;
    smfi_setsymlist(ctx, SMFIM_ENVFROM, "{auth_authen} {i}");
    smfi_setsymlist(ctx, SMFIM_ENVRCPT, "{i}");
    smfi_setsymlist(ctx, SMFIM_EOM, "{i}");
    (void)f0;
    (void)f2;
    (void)f3;
    return SMFIS_CONTINUE;
}

/* check_env_t's add_header: the DKIM-Signature at the top (index 0,
 * above Postfix's own Received: as OpenDKIM adds it). */
static int
callbacks_add_header(void *arg, const char *name, const char *value)
{
    return smfi_insheader((SMFICTX *)arg, 0, (char *)name, (char *)value) == MI_SUCCESS ? 0 : -1;
}

/* check_env_t's replace_body: smfi_replacebody in chunks of at most
 * 64 KiB (each call adds to the new body). */
static int
callbacks_replace_body(void *arg, const char *body, size_t len)
{
    size_t at = 0;
    do {
        size_t n = len - at > 65535 ? 65535 : len - at;
        if (smfi_replacebody((SMFICTX *)arg, (unsigned char *)body + at, (int)n) != MI_SUCCESS)
            return -1;
        at += n;
    } while (at < len);
    return 0;
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
    char text[INET6_ADDRSTRLEN] = "local";
    runtime_t *rt = runtime_acquire();
    callbacks_conn_t *conn = NULL;
    check_env_t env;

    int port = -1;
    if (hostaddr && hostaddr->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)hostaddr)->sin_addr, text, sizeof(text));
        port = ntohs(((struct sockaddr_in *)(void *)hostaddr)->sin_port);
    } else if (hostaddr && hostaddr->sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)hostaddr)->sin6_addr, text, sizeof(text));
        port = ntohs(((struct sockaddr_in6 *)(void *)hostaddr)->sin6_port);
    }
    /* Postfix's non-SMTP mail (non_smtpd_milters: sendmail(1) and
     * pickup, and its own bounces with internal_mail_filter_classes) comes
     * as a connect from localhost[127.0.0.1] port 0, which no TCP client
     * has (check.h, CHECK_NON_SMTP). */
    int non_smtp = port == 0 && hostname != NULL && strcmp(hostname, "localhost") == 0 &&
                   (strcmp(text, "127.0.0.1") == 0 || strcmp(text, "::1") == 0);
    log_debug("connect from %s[%s] port %d%s", hostname ? hostname : "-", text, port,
              non_smtp ? " (Postfix's non-SMTP mail)" : "");
    if (rt && (conn = calloc(1, sizeof(*conn))) != NULL) {
        check_backend_env(rt, CHECK_RESERVE, &callbacks_hooks, &env);
        env.add_header = callbacks_add_header;
        env.replace_body = callbacks_can_replace_body ? callbacks_replace_body : NULL;
        env.add_header_arg = ctx;
        conn->rt = rt;
        int flags = non_smtp ? CHECK_NON_SMTP
                             : cidr_list_match_sockaddr(rt->cfg->trusted_networks, hostaddr) ? CHECK_TRUSTED : 0;
        conn->check = check_new(&env, non_smtp ? "local" : text, flags);
    }
    if (conn == NULL || conn->check == NULL) {
        free(conn);
        runtime_release(rt);
        log_error("NOQUEUE: stage=connect client=%s action=tempfail reason=out_of_memory", text);
        return SMFIS_TEMPFAIL;
    }
    smfi_setpriv(ctx, conn);
    return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
    check_t *c = callbacks_check(ctx);
    char login[512], qid[64];
    decision_t d;
    if (c == NULL)
        return SMFIS_TEMPFAIL;
    check_mail(c, argv[0], callbacks_macro(ctx, "{auth_authen}", login, sizeof(login)),
                 callbacks_macro(ctx, "i", qid, sizeof(qid)), &d);
    milter_metrics_decision("mail", &d);
    return callbacks_reply(ctx, &d);
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
    check_t *c = callbacks_check(ctx);
    char qid[64];
    decision_t d;
    if (c == NULL)
        return SMFIS_TEMPFAIL;
    check_rcpt(c, argv[0], callbacks_macro(ctx, "i", qid, sizeof(qid)), &d);
    milter_metrics_decision("rcpt", &d);
    return callbacks_reply(ctx, &d);
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
    check_t *c = callbacks_check(ctx);
    if (c)
        check_header(c, name, value ? value : "");
    return (callbacks_no_reply_flags & SMFIP_NR_HDR) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
    check_t *c = callbacks_check(ctx);
    if (c)
        check_body(c, chunk, len);
    return (callbacks_no_reply_flags & SMFIP_NR_BODY) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
    check_t *c = callbacks_check(ctx);
    char qid[64];
    decision_t d;
    if (c == NULL)
        return SMFIS_TEMPFAIL;
    check_end(c, callbacks_macro(ctx, "i", qid, sizeof(qid)), 0, NULL, &d);
    milter_metrics_decision("eom", &d);
    return callbacks_reply(ctx, &d);
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
    check_abort(callbacks_check(ctx));
    return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
    callbacks_conn_t *conn = smfi_getpriv(ctx);
    if (conn) {
        /* check_free refunds with the session's own runtime first. */
        check_free(conn->check);
        runtime_release(conn->rt);
        free(conn);
        smfi_setpriv(ctx, NULL);
    }
    return SMFIS_CONTINUE;
}

static struct smfiDesc callbacks_desc = {
    .xxfi_name = "postinbox-milter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGBODY,
    .xxfi_connect = cb_connect,
    .xxfi_helo = NULL,
    .xxfi_envfrom = cb_envfrom,
    .xxfi_envrcpt = cb_envrcpt,
    .xxfi_header = cb_header,
    .xxfi_eoh = NULL,
    .xxfi_body = cb_body,
    .xxfi_eom = cb_eom,
    .xxfi_abort = cb_abort,
    .xxfi_close = cb_close,
    .xxfi_unknown = NULL,
    .xxfi_data = NULL,
    .xxfi_negotiate = cb_negotiate,
};

struct smfiDesc *
callbacks_descriptor(void)
{
    return &callbacks_desc;
}
