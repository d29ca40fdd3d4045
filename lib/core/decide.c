/*
 * decide.c -- the SMTP table as code.  See decide.h.
 */
#include "decide.h"

#include "address.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DECIDE_REASON_DEFINE(name) const char decide_reason_##name[] = #name;
DECIDE_REASON_LIST(DECIDE_REASON_DEFINE)
#undef DECIDE_REASON_DEFINE

#define DECIDE_REASON_ITEM(name) decide_reason_##name,
const char *const decide_reasons[] = { DECIDE_REASON_LIST(DECIDE_REASON_ITEM) "other", NULL };
#undef DECIDE_REASON_ITEM

const char *const decide_actions[] = { "continue", "reject", "tempfail", NULL };

const char *
decide_action_word(const decision_t *d)
{
    return decide_actions[d->action == DECISION_REJECT ? 1 : d->action == DECISION_TEMPFAIL ? 2 : 0];
}

void
decide_continue(decision_t *out, const char *reason)
{
    memset(out, 0, sizeof(*out));
    out->action = DECISION_CONTINUE;
    out->reason = reason;
}

/* Fills a refusal from the configured reply; 4xx codes tempfail. */
static void
decide_refuse(const pi_config_t *cfg, reply_id_t id, const char *reason, const reply_vars_t *vars,
              decision_t *out)
{
    const reply_t *reply = &cfg->replies[id];
    memset(out, 0, sizeof(*out));
    out->action = reply->code >= 500 ? DECISION_REJECT : DECISION_TEMPFAIL;
    out->reason = reason;
    out->code = reply->code;
    snprintf(out->xcode, sizeof(out->xcode), "%s", reply->xcode);
    reply_format(reply, vars, out->text, sizeof(out->text));
}

void
decide_sender(const pi_config_t *cfg, int outbound, int authenticated, int sender_null,
              const inbox_lookup_t *sender, const char *sender_address, decision_t *out)
{
    reply_vars_t vars = { .inbox = sender_null ? "<>" : sender_address };
    if (!outbound) {
        if (sender->found && cfg->unauthenticated_managed_sender == SPOOF_REJECT)
            decide_refuse(cfg, REPLY_SPOOF, REASON(spoof), &vars, out);
        else
            decide_continue(out, REASON(inbound));
        return;
    }
    if (!sender->found) {
        decide_refuse(cfg, REPLY_SENDER_NOT_GRANTED, sender_null ? REASON(null_sender) : REASON(not_an_inbox), &vars, out);
        return;
    }
    vars.inbox = sender->address;
    if (authenticated && sender->granted != 1) {
        decide_refuse(cfg, REPLY_SENDER_NOT_GRANTED, REASON(not_granted), &vars, out);
        return;
    }
    if (sender->status != INBOX_ACTIVE) {
        vars.status = inbox_status_name(sender->status);
        decide_refuse(cfg, REPLY_SENDER_INACTIVE, sender->status == INBOX_DISABLED ? REASON(sender_disabled)
                                                                                   : REASON(sender_suspended),
                      &vars, out);
        return;
    }
    /* a domain whose records broke keeps sending unless the operator holds it */
    if (sender->domain_failing && cfg->domain_dns_failed == DOMAIN_DNS_FAILED_HOLD) {
        decide_refuse(cfg, REPLY_DOMAIN_HELD, REASON(domain_dns_failed), &vars, out);
        return;
    }
    decide_continue(out, REASON(sender_ok));
}

void
decide_recipient(const pi_config_t *cfg, const inbox_lookup_t *rcpt, const char *rcpt_address,
                 decision_t *out)
{
    reply_vars_t vars = { .inbox = rcpt->found ? rcpt->address : rcpt_address };
    if (!rcpt->found) {
        /* The sandbox domain is ours even before its first inbox exists. */
        if (rcpt->managed || strcasecmp(address_domain(rcpt_address), cfg->sandbox_domain) == 0)
            decide_refuse(cfg, REPLY_RCPT_UNKNOWN, REASON(unknown), &vars, out);
        else
            decide_continue(out, REASON(foreign));
        return;
    }
    switch (rcpt->status) {
    case INBOX_DISABLED:
        decide_refuse(cfg, REPLY_RCPT_DISABLED, REASON(disabled), &vars, out);
        return;
    case INBOX_SUSPENDED:
        decide_refuse(cfg, REPLY_RCPT_SUSPENDED, REASON(suspended), &vars, out);
        return;
    case INBOX_ACTIVE:
        break;
    }
    decide_continue(out, REASON(active));
}

void
decide_suppressed(const pi_config_t *cfg, const inbox_lookup_t *sender, const char *rcpt_address,
                  const suppression_t *sup, decision_t *out)
{
    char reason[96];
    reply_vars_t vars = { .inbox = sender->address, .recipient = rcpt_address, .reason = reason };
    if (strcmp(sup->source, "bounce") == 0)
        snprintf(reason, sizeof(reason), "hard bounce%s%s (%s)", sup->dsn[0] ? " " : "", sup->dsn, sup->date);
    else if (strcmp(sup->source, "complaint") == 0)
        snprintf(reason, sizeof(reason), "complaint (%s)", sup->date);
    else if (strcmp(sup->source, "unsubscribe") == 0)
        snprintf(reason, sizeof(reason), "unsubscribed (%s)", sup->date);
    else
        snprintf(reason, sizeof(reason), "added by an administrator (%s)", sup->date);
    decide_refuse(cfg, REPLY_RCPT_SUPPRESSED, REASON(suppressed), &vars, out);
}

void
decide_limit(const pi_config_t *cfg, const inbox_lookup_t *sender, const limit_result_t *limit,
             decision_t *out)
{
    char reset[32];
    reply_vars_t vars = { .inbox = sender->address };
    if (limit->verdict == LIMIT_BURST) {
        /* Round up: retrying after "retry" seconds must succeed. */
        vars.retry_seconds = (limit->retry_ms + 999) / 1000;
        if (vars.retry_seconds < 1)
            vars.retry_seconds = 1;
        decide_refuse(cfg, REPLY_BURST, REASON(burst), &vars, out);
    } else if (limit->verdict == LIMIT_DAILY) {
        time_t when = (time_t)limit->reset_epoch;
        struct tm tm;
        gmtime_r(&when, &tm);
        strftime(reset, sizeof(reset), "%Y-%m-%dT%H:%M:%SZ", &tm);
        vars.reset = reset;
        decide_refuse(cfg, REPLY_DAILY, REASON(daily), &vars, out);
    } else {
        decide_continue(out, REASON(reserved));
    }
}

void
decide_backend_error(const pi_config_t *cfg, const char *address, decision_t *out)
{
    reply_vars_t vars = { .inbox = address ? address : "" };
    if (cfg->on_backend_error == BACKEND_ERROR_ACCEPT)
        decide_continue(out, REASON(backend_error_accepted));
    else
        decide_refuse(cfg, REPLY_BACKEND, REASON(backend), &vars, out);
}

void
decide_record_failed(const pi_config_t *cfg, const char *address, decision_t *out)
{
    reply_vars_t vars = { .inbox = address ? address : "" };
    decide_refuse(cfg, REPLY_BACKEND, REASON(backend), &vars, out);
}

void
decide_sign_failed(const pi_config_t *cfg, const char *address, int key_missing, decision_t *out)
{
    reply_vars_t vars = { .inbox = address ? address : "" };
    decide_refuse(cfg, REPLY_SIGN_FAILED, key_missing ? REASON(dkim_key_missing) : REASON(dkim_failed), &vars, out);
}

void
decide_malformed(const pi_config_t *cfg, decision_t *out)
{
    decide_refuse(cfg, REPLY_MALFORMED, REASON(malformed), NULL, out);
}
