/*
 * admin_domain_check.c -- a domain's records checked live in DNS.  See
 * admin_domain.h (admin_domain_verify).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

admin_status_t
admin_domain_verify(admin_t *a, const admin_dns_t *dns, dns_resolver_t *resolver, long timeout_ms,
                    const char *domain, json_t **out, admin_error_t *err)
{
    json_t *obj = NULL, *rec;
    size_t i;
    int ownership = 0, spf = 0, dkim = 0;
    admin_status_t status = admin_domain_records(a, dns, domain, &obj, err);

    *out = NULL;
    if (status != ADMIN_OK)
        return status;
    json_array_foreach(json_object_get(obj, "records"), i, rec) {
        const char *purpose = json_string_value(json_object_get(rec, "purpose"));
        const char *state = json_string_value(json_object_get(rec, "state"));
        int valid = check_record(rec, dns, resolver, timeout_ms) == CHECK_VALID;
        int active_dkim = strcmp(purpose, "dkim") == 0 && state && strcmp(state, "active") == 0;
        if (strcmp(purpose, "ownership") == 0)
            ownership = valid;
        else if (strcmp(purpose, "spf") == 0)
            spf = valid;
        else if (active_dkim)
            dkim = valid;
        /* what verification needs, said once for every front end */
        json_object_set_new(rec, "required",
                            json_boolean(strcmp(purpose, "ownership") == 0 || strcmp(purpose, "spf") == 0 || active_dkim));
    }
    char reason[200];
    snprintf(reason, sizeof(reason), "DNS check: ownership, spf and dkim valid (asked %s)",
             dns_resolver_name(resolver));
    const char *params[5] = { json_string_value(json_object_get(obj, "domain")), ownership && spf && dkim ? "t" : "f",
                              a->account_id, a->actor, reason };
    /* The change to verified and its audit row in one statement. */
    PGresult *res = admin_exec(a,
                               "WITH d AS (SELECT id, verified FROM postinbox.domain WHERE name = $1"
                               "   AND ($3::uuid IS NULL OR account_id = $3::uuid) FOR UPDATE),"
                               " up AS (UPDATE postinbox.domain SET verified = domain.verified OR $2::boolean FROM d"
                               "   WHERE domain.id = d.id RETURNING d.verified AS was, domain.verified AS now),"
                               " aud AS (INSERT INTO postinbox.audit (actor, action, new_value, reason)"
                               "   SELECT $4, 'domain.verified', $1, $5 FROM up WHERE NOT up.was AND up.now)"
                               " SELECT was, now FROM up",
                               5, params, 0, err);
    if (res == NULL) {
        json_decref(obj);
        return ADMIN_BACKEND;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        json_decref(obj);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %s", domain);
    }
    json_object_set_new(obj, "was_verified", json_boolean(strcmp(PQgetvalue(res, 0, 0), "t") == 0));
    json_object_set_new(obj, "verified", json_boolean(strcmp(PQgetvalue(res, 0, 1), "t") == 0));
    json_object_set_new(obj, "checks_passed", json_boolean(ownership && spf && dkim));
    json_object_set_new(obj, "server", json_string(dns_resolver_name(resolver)));
    PQclear(res);
    *out = obj;
    return ADMIN_OK;
}
