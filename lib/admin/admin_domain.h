/*
 * admin_domain.h -- what a domain's owner publishes in DNS.
 *
 * Public: admin_dns_t, admin_domain_records, admin_domain_verify.
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
 * (a DNS hiccup must not stop its mail).
 */
#ifndef POSTINBOX_ADMIN_DOMAIN_H
#define POSTINBOX_ADMIN_DOMAIN_H

#include <jansson.h>

#include "admin.h"
#include "dns_lookup.h"

/* The operator's part of the records (config: dns_spf, dns_mx, dns_dmarc_rua). */
typedef struct {
    const char *spf;         /* mechanisms; "" or NULL: "mx" */
    const char *mx;          /* hosts, space-separated; "" or NULL: none */
    const char *dmarc_rua;   /* a mailbox, with or without "mailto:"; "" or NULL: none */
} admin_dns_t;

/* {"domain": D, "records": [...]}: ADMIN_OK, or not found (another
 * account's domain too; the sandbox domain is the operator's). */
admin_status_t admin_domain_records(admin_t *a, const admin_dns_t *dns, const char *domain, json_t **out,
                                    admin_error_t *err);

/* {"domain", "verified", "was_verified", "server", "records": [records'
 * objects + "status", "found": [...], "detail", "required"]}; verified set in
 * PostgreSQL when the required records are valid.  ADMIN_OK, not found. */
admin_status_t admin_domain_verify(admin_t *a, const admin_dns_t *dns, dns_resolver_t *resolver, long timeout_ms,
                                   const char *domain, json_t **out, admin_error_t *err);

#endif
