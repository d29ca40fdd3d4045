/*
 * admin_domain.h -- what a domain's owner publishes in DNS.
 *
 * Public: admin_dns_t, admin_dns_from_config, admin_domain_find,
 * admin_domain_mark_required, admin_domain_unmet_records, admin_domain_records,
 * admin_domain_verify; the rows: admin_domain_new_t, admin_domain_create,
 * admin_domain_show, admin_domain_unmet, admin_domain_delete, ADMIN_DOMAIN_COLUMNS,
 * admin_domain_json (admin_domain_manage.c).
 *
 * The records, each {name, type, value, purpose} (and for DKIM the key's
 * selector and state), in the order an admin adds them:
 *   ownership  _postinbox.DOMAIN TXT "postinbox-verification=TOKEN"
 *              (domain.verification_token, sql/migrations/015_dkim.sql)
 *   spf        DOMAIN TXT "v=spf1 <dns_spf> ~all"
 *   dkim       SELECTOR._domainkey.DOMAIN TXT "v=DKIM1; k=rsa; p=..." for
 *              every key that is published: active, pending, and retired
 *              until its retire_after
 *   dmarc      _dmarc.DOMAIN TXT "v=DMARC1; p=none[; rua=mailto:...]" (a
 *              safe start: reports only)
 *   mx         DOMAIN MX "PREF HOST." for each host of dns_mx (10, 20, ...)
 * Names are absolute without the final dot; values are whole (a zone
 * file splits a long TXT value: lib/mail/dns_record).
 *
 * admin_domain_verify (admin_domain_check.c) asks DNS for each record
 * and says per record valid | missing | invalid | unknown, what it found
 * and who answered; SERVFAIL, a refusal and a timeout are unknown, never
 * missing.  The domain becomes verified when the ownership record, the
 * active DKIM key's record and the SPF record are valid (DMARC and MX are
 * reported, not required); a failed check never unverifies a domain here
 * (a DNS hiccup must not stop its mail).  A pending DKIM key (a rotation)
 * whose record is found valid becomes the active one then.  What the
 * check changes -- verified, the schedule of the next check, the count of
 * failures in a row, the events domain.verified and domain.dns_failed --
 * is sql/functions/domain.sql's domain_check_apply, the same for
 * postinboxctl, the API and policyd's periodic re-check.
 */
#ifndef POSTINBOX_ADMIN_DOMAIN_H
#define POSTINBOX_ADMIN_DOMAIN_H

#include <jansson.h>

#include "admin.h"
#include "dns_lookup.h"
#include "pgjson.h"

/* The operator's part of the records (config: dns_spf, dns_mx,
 * dns_dmarc_rua) and of a check's consequences (domain_check_*,
 * dkim_retire_after): admin_dns_from_config fills it. */
typedef struct {
    const char *spf;         /* mechanisms; "" or NULL: "mx" */
    const char *mx;          /* hosts, space-separated; "" or NULL: none */
    const char *dmarc_rua;   /* a mailbox, with or without "mailto:"; "" or NULL: none */
    long check_interval_ms;  /* next check after one that passed */
    long check_retry_ms;     /* after one that failed, doubled per failure in a row */
    int check_failures;      /* failures in a row before domain.dns_failed */
    long dkim_keep_ms;       /* a key retired by the switch to a published one stays this long */
} admin_dns_t;

struct pi_config;
/* dns from cfg (whose strings it points into). */
void admin_dns_from_config(const struct pi_config *cfg, admin_dns_t *dns);

/* The domain id_or_name (an id, or a name in either IDN form) of the
 * acting account: a result of one row of columns (a constant select list
 * over "postinbox.domain d"), or NULL with *status not found (another
 * account's too) or backend. */
PGresult *admin_domain_find(admin_t *a, const char *id_or_name, const char *columns, admin_status_t *status,
                            admin_error_t *err);

/* Sets rec's "required": whether verification needs it valid (the
 * ownership record, SPF, the active DKIM key's record); returns it. */
int admin_domain_mark_required(json_t *rec);

/* The checked records of records that are required and not valid, as
 * "ownership missing, dkim invalid", into out; returns its length (0:
 * none).  The one wording of postinboxctl, the API's errors and policyd's log. */
size_t admin_domain_unmet_records(const json_t *records, char *out, size_t size);

/* {"domain": D, "records": [{name, type, value, purpose, required, and
 * for DKIM selector and state}, ...]}: ADMIN_OK, or not found (another
 * account's domain too; the sandbox domain is the operator's). */
admin_status_t admin_domain_records(admin_t *a, const admin_dns_t *dns, const char *domain, json_t **out,
                                    admin_error_t *err);

/* {"domain", "verified", "was_verified", "checks_passed", "failures",
 * "event", "server", "records": [records' objects + "status", "found":
 * [...], "detail", "required", and "activated" for a key switched to]};
 * the outcome applied in PostgreSQL (domain_check_apply).  ADMIN_OK, not
 * found. */
admin_status_t admin_domain_verify(admin_t *a, const admin_dns_t *dns, dns_resolver_t *resolver, long timeout_ms,
                                   const char *domain, json_t **out, admin_error_t *err);

/* A new custom domain (admin_domain_create). */
typedef struct {
    const char *account_id;  /* the operator's choice; an account's caller acts for its own */
    const char *name;        /* as typed: either IDN form, any case (lib/util/domain_name) */
    const char *sandbox;     /* the sandbox domain's name, which no account may take */
    int verified;            /* the operator's word instead of the DNS check, audited */
    int dkim_bits;           /* the key pair made with it; 0: none */
} admin_domain_new_t;

/* The domain row as its API object: id, name, unicodeName (when IDN),
 * accountId, kind, status (pending | verified | failing), verified,
 * checkFailures, checkedAt, nextCheckAt, createdAt. */
#define ADMIN_DOMAIN_COLUMNS                                                                             \
    "d.id, d.name, d.account_id, d.kind, CASE WHEN NOT d.verified THEN 'pending' WHEN d.dns_failed_at" \
    " IS NOT NULL THEN 'failing' ELSE 'verified' END, d.verified, d.check_failures, "                 \
    PGJSON_ISO("d.checked_at") ", " PGJSON_ISO("d.next_check_at") ", " PGJSON_ISO("d.created_at")
json_t *admin_domain_json(const PGresult *res, int row);

/* Creates new as pending (or verified by the operator's word), with its
 * verification token and, dkim_bits set, its DKIM key; *out its object.
 * ADMIN_INVALID (invalid_field: not a name, too long, IDNA), ADMIN_CONFLICT
 * (taken by any account, or the sandbox), not found (no such account). */
admin_status_t admin_domain_create(admin_t *a, const admin_domain_new_t *new, json_t **out, admin_error_t *err);
/* The domain id_or_name: its object plus "records" (admin_domain_records,
 * each with its last check's status, found, detail and required) and
 * "lastCheck" {at, server, checksPassed}; ADMIN_OK, not found. */
admin_status_t admin_domain_show(admin_t *a, const admin_dns_t *dns, const char *id_or_name, json_t **out,
                                 admin_error_t *err);
/* What kept the domain id_or_name from being verified, for an error
 * message: the required records not valid at its last check, "ownership
 * missing, dkim invalid", or "not checked yet". */
void admin_domain_unmet(admin_t *a, const char *id_or_name, char *out, size_t size);
/* Deletes the domain id_or_name with its keys (audited); ADMIN_CONFLICT
 * while inboxes use it (they must go first), ADMIN_FORBIDDEN for the
 * sandbox, not found. */
admin_status_t admin_domain_delete(admin_t *a, const char *id_or_name, admin_error_t *err);

#endif
