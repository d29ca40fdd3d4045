/*
 * admin_domain_check.c -- a domain's records checked live in DNS.  See
 * admin_domain.h (admin_domain_verify).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "admin_dkim.h"
#include "admin_domain.h"

/* What one record's answer means. */
typedef enum { CHECK_VALID, CHECK_MISSING, CHECK_INVALID, CHECK_UNKNOWN } check_status_t;
static const char *const check_words[] = { "valid", "missing", "invalid", "unknown" };

/* Whether the TXT value starts with prefix (case-insensitive, as SPF and
 * DMARC versions are matched). */
static int
starts(const char *value, const char *prefix)
{
    return strncasecmp(value, prefix, strlen(prefix)) == 0;
}

/* The value of tag in a DKIM record ("k=v; p=..."), whitespace removed,
 * into out; 0 when absent. */
static int
dkim_tag(const char *record, const char *tag, char *out, size_t outlen)
{
    size_t tlen = strlen(tag), n = 0;
    for (const char *p = record; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *eq = strchr(p, '=');
        const char *end = p + strcspn(p, ";");
        if (eq != NULL && eq < end) {
            const char *k = p, *ke = eq;
            while (ke > k && (ke[-1] == ' ' || ke[-1] == '\t'))
                ke--;
            if ((size_t)(ke - k) == tlen && strncmp(k, tag, tlen) == 0) {
                for (const char *v = eq + 1; v < end && n + 1 < outlen; v++)
                    if (*v != ' ' && *v != '\t' && *v != '\r' && *v != '\n')
                        out[n++] = *v;
                out[n] = '\0';
                return 1;
            }
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

/* Every whitespace-separated token of want is a term of the SPF record. */
static int
spf_covers(const char *record, const char *want)
{
    char term[300];
    for (const char *p = want; *p;) {
        size_t n;
        while (*p == ' ')
            p++;
        if ((n = strcspn(p, " ")) == 0)
            break;
        snprintf(term, sizeof(term), "%.*s", (int)(n > 290 ? 290 : n), p);
        int found = 0;
        for (const char *q = record; *q && !found;) {
            size_t m;
            while (*q == ' ')
                q++;
            m = strcspn(q, " ");
            /* "+mx" is "mx": the default qualifier */
            const char *t = q[0] == '+' ? q + 1 : q;
            size_t tl = q[0] == '+' ? m - 1 : m;
            found = tl == strlen(term) && strncasecmp(t, term, tl) == 0;
            q += m;
        }
        if (!found)
            return 0;
        p += n;
    }
    return 1;
}

/* The one record of the answer that is the wanted record's kind (for
 * SPF and DMARC: the one with the version tag), judged. */
static check_status_t
judge(const char *purpose, const char *want, const admin_dns_t *dns, const dns_answer_t *ans, char *detail,
      size_t dlen)
{
    size_t kind = 0;
    const char *one = NULL;
    char got[1024], wanted[1024];

    if (strcmp(purpose, "ownership") == 0) {
        for (size_t i = 0; i < ans->count; i++)
            if (strcmp(ans->records[i], want) == 0)
                return CHECK_VALID;
        snprintf(detail, dlen, "no TXT record with the token (other values found)");
        return CHECK_INVALID;
    }
    if (strcmp(purpose, "spf") == 0 || strcmp(purpose, "dmarc") == 0) {
        const char *version = purpose[0] == 's' ? "v=spf1" : "v=DMARC1";
        for (size_t i = 0; i < ans->count; i++)
            if (starts(ans->records[i], version) &&
                (ans->records[i][strlen(version)] == '\0' || ans->records[i][strlen(version)] == ' ' ||
                 ans->records[i][strlen(version)] == ';')) {
                kind++;
                one = ans->records[i];
            }
        if (kind == 0) {
            snprintf(detail, dlen, "no %s record", version);
            return CHECK_MISSING;
        }
        if (kind > 1) {
            snprintf(detail, dlen, "%zu %s records: there must be one (RFC %s)", kind, version,
                     purpose[0] == 's' ? "7208 4.5" : "7489 6.6.3");
            return CHECK_INVALID;
        }
        if (purpose[0] == 's' && !spf_covers(one, dns->spf && *dns->spf ? dns->spf : "mx")) {
            snprintf(detail, dlen, "the SPF record does not name %s", dns->spf && *dns->spf ? dns->spf : "mx");
            return CHECK_INVALID;
        }
        return CHECK_VALID;
    }
    if (strcmp(purpose, "dkim") == 0) {
        if (!dkim_tag(want, "p", wanted, sizeof(wanted)))
            return CHECK_UNKNOWN;
        for (size_t i = 0; i < ans->count; i++)
            if (dkim_tag(ans->records[i], "p", got, sizeof(got)) && strcmp(got, wanted) == 0)
                return CHECK_VALID;
        snprintf(detail, dlen, "the published key is not this key");
        return CHECK_INVALID;
    }
    /* mx: the host must be among the answers, any preference */
    const char *host = strchr(want, ' ');
    for (size_t i = 0; host && i < ans->count; i++) {
        const char *h = strchr(ans->records[i], ' ');
        if (h && strcasecmp(h, host) == 0)
            return CHECK_VALID;
    }
    snprintf(detail, dlen, "MX records found, none is%s", host ? host : "");
    return CHECK_INVALID;
}

/* Checks one record of records' kind in DNS; its status into rec. */
static check_status_t
check_record(json_t *rec, const admin_dns_t *dns, dns_resolver_t *resolver, long timeout_ms)
{
    const char *name = json_string_value(json_object_get(rec, "name"));
    const char *type = json_string_value(json_object_get(rec, "type"));
    const char *purpose = json_string_value(json_object_get(rec, "purpose"));
    const char *want = json_string_value(json_object_get(rec, "value"));
    dns_answer_t ans;
    char text[300] = "", detail[300] = "";
    check_status_t status;
    json_t *found = json_array();

    dns_status_t st = dns_lookup(resolver, name, strcmp(type, "MX") == 0 ? DNS_TYPE_MX : DNS_TYPE_TXT, timeout_ms,
                                 &ans, text, sizeof(text));
    switch (st) {
    case DNS_OK:
        for (size_t i = 0; i < ans.count; i++)
            json_array_append_new(found, json_string(ans.records[i]));
        status = judge(purpose, want, dns, &ans, detail, sizeof(detail));
        break;
    case DNS_NXDOMAIN:
    case DNS_NODATA:
        status = CHECK_MISSING;
        snprintf(detail, sizeof(detail), "%s", text);
        break;
    default:
        status = CHECK_UNKNOWN;
        snprintf(detail, sizeof(detail), "%s: %s", dns_status_word(st), text);
        break;
    }
    dns_answer_clear(&ans);
    json_object_set_new(rec, "status", json_string(check_words[status]));
    json_object_set_new(rec, "found", found);
    json_object_set_new(rec, "detail", *detail ? json_string(detail) : json_null());
    return status;
}

/* A pending key whose record is valid (a rotation published) becomes the
 * active one: the switch of `domain dkim rotate` happens once receivers
 * can find the new record.  The record objects follow the change. */
static void
activate_published(admin_t *a, const admin_dns_t *dns, const char *domain, json_t *records)
{
    json_t *rec, *other, *shown;
    size_t i, j;
    admin_error_t err;

    json_array_foreach(records, i, rec) {
        const char *state = json_string_value(json_object_get(rec, "state"));
        const char *status = json_string_value(json_object_get(rec, "status"));
        if (state == NULL || strcmp(state, "pending") != 0 || status == NULL || strcmp(status, "valid") != 0)
            continue;
        const char *selector = json_string_value(json_object_get(rec, "selector"));
        if (admin_dkim_activate(a, domain, selector, dns->dkim_keep_ms, &shown, &err) != ADMIN_OK)
            continue; /* stays pending: the next check tries again */
        json_decref(shown);
        json_array_foreach(records, j, other) {
            const char *st = json_string_value(json_object_get(other, "state"));
            if (st != NULL && strcmp(st, "active") == 0)
                json_object_set_new(other, "state", json_string("retired"));
        }
        json_object_set_new(rec, "state", json_string("active"));
        json_object_set_new(rec, "activated", json_true());
        break; /* one active key */
    }
}

admin_status_t
admin_domain_verify(admin_t *a, const admin_dns_t *dns, dns_resolver_t *resolver, long timeout_ms,
                    const char *domain, json_t **out, admin_error_t *err)
{
    json_t *obj = NULL, *rec, *records;
    size_t i;
    int ownership = 0, spf = 0, dkim = 0;
    admin_status_t status = admin_domain_records(a, dns, domain, &obj, err);
    char interval[32], retry[32], failures[16], reason[200], *result;

    *out = NULL;
    if (status != ADMIN_OK)
        return status;
    records = json_object_get(obj, "records");
    json_array_foreach(records, i, rec)
        check_record(rec, dns, resolver, timeout_ms);
    if (dns_resolver_cancelled(resolver)) {
        /* nothing was learnt about the records: nothing is written */
        json_decref(obj);
        return admin_fail(err, ADMIN_BACKEND, "cancelled", "cancelled", "the check was cancelled");
    }
    activate_published(a, dns, json_string_value(json_object_get(obj, "domain")), records);
    json_array_foreach(records, i, rec) {
        const char *purpose = json_string_value(json_object_get(rec, "purpose"));
        int valid = strcmp(json_string_value(json_object_get(rec, "status")), "valid") == 0;
        /* what verification needs, said once (a key may have just become active) */
        if (!admin_domain_mark_required(rec))
            continue;
        if (strcmp(purpose, "ownership") == 0)
            ownership = valid;
        else if (strcmp(purpose, "spf") == 0)
            spf = valid;
        else
            dkim = valid;
    }
    int passed = ownership && spf && dkim;
    json_object_set_new(obj, "checks_passed", json_boolean(passed));
    json_object_set_new(obj, "server", json_string(dns_resolver_name(resolver)));
    snprintf(reason, sizeof(reason), "DNS check: ownership, spf and dkim valid (asked %s)",
             dns_resolver_name(resolver));
    snprintf(interval, sizeof(interval), "%ld milliseconds", dns->check_interval_ms);
    snprintf(retry, sizeof(retry), "%ld milliseconds", dns->check_retry_ms);
    snprintf(failures, sizeof(failures), "%d", dns->check_failures);
    result = json_dumps(obj, JSON_COMPACT);
    const char *params[9] = { json_string_value(json_object_get(obj, "domain")), a->account_id, passed ? "t" : "f",
                              result, a->actor, reason, interval, retry, failures };
    /* verified, the audit row, the schedule and the event: one statement
     * (sql/functions/domain.sql) */
    PGresult *res = admin_exec(a,
                               "SELECT known, was_verified, verified, failures, coalesce(event, '')"
                               " FROM postinbox.domain_check_apply($1, $2::uuid, $3::boolean, $4::jsonb, $5, $6,"
                               " $7::interval, $8::interval, $9::integer)",
                               9, params, 0, err);
    free(result);
    if (res == NULL) {
        json_decref(obj);
        return ADMIN_BACKEND;
    }
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        json_decref(obj);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %s", domain);
    }
    json_object_set_new(obj, "was_verified", json_boolean(strcmp(PQgetvalue(res, 0, 1), "t") == 0));
    json_object_set_new(obj, "verified", json_boolean(strcmp(PQgetvalue(res, 0, 2), "t") == 0));
    json_object_set_new(obj, "failures", json_integer(atoi(PQgetvalue(res, 0, 3))));
    json_object_set_new(obj, "event", PQgetvalue(res, 0, 4)[0] ? json_string(PQgetvalue(res, 0, 4)) : json_null());
    PQclear(res);
    *out = obj;
    return ADMIN_OK;
}
