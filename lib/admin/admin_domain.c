/*
 * admin_domain.c -- a domain's DNS records.  See admin_domain.h.
 */
#include "admin_domain.h"

#include <stdio.h>
#include <string.h>

#include "dkim_keygen.h"

static void
admin_domain_add(json_t *records, const char *purpose, const char *name, const char *type, const char *value)
{
    json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:s}", "name", name, "type", type, "value", value,
                                             "purpose", purpose));
}

/* The DKIM records of domain_id that are published, into records. */
static admin_status_t
admin_domain_dkim(admin_t *a, const char *domain, const char *domain_id, json_t *records, admin_error_t *err)
{
    const char *params[1] = { domain_id };
    PGresult *res = admin_exec(a,
                               "SELECT selector, algorithm, public_key, state FROM postinbox.dkim_key"
                               " WHERE domain_id = $1::uuid AND (state <> 'retired' OR retire_after > now())"
                               " ORDER BY state = 'active' DESC, created_at DESC, selector",
                               1, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    for (int r = 0; r < PQntuples(res); r++) {
        char name[512], txt[DKIM_KEYGEN_TXT_MAX];
        snprintf(name, sizeof(name), "%s._domainkey.%s", PQgetvalue(res, r, 0), domain);
        dkim_keygen_txt(PQgetvalue(res, r, 1), PQgetvalue(res, r, 2), txt, sizeof(txt));
        admin_domain_add(records, "dkim", name, "TXT", txt);
        json_t *rec = json_array_get(records, json_array_size(records) - 1);
        json_object_set_new(rec, "selector", json_string(PQgetvalue(res, r, 0)));
        json_object_set_new(rec, "state", json_string(PQgetvalue(res, r, 3)));
    }
    PQclear(res);
    return ADMIN_OK;
}

/* The MX records of the space-separated hosts, preference 10, 20, ... */
static void
admin_domain_mx(const char *hosts, const char *domain, json_t *records)
{
    int pref = 10;
    for (const char *p = hosts; p && *p;) {
        size_t n;
        char value[300];
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        n = strcspn(p, " \t,");
        if (n == 0)
            break;
        snprintf(value, sizeof(value), "%d %.*s%s", pref, (int)(n > 255 ? 255 : n), p,
                 p[n - 1] == '.' ? "" : ".");
        admin_domain_add(records, "mx", domain, "MX", value);
        pref += 10;
        p += n;
    }
}

admin_status_t
admin_domain_records(admin_t *a, const admin_dns_t *dns, const char *domain, json_t **out, admin_error_t *err)
{
    const char *params[2] = { domain, a->account_id };
    PGresult *res = admin_exec(a,
                               "SELECT id, name, verification_token FROM postinbox.domain WHERE name = lower($1)"
                               " AND ($2::uuid IS NULL OR account_id = $2::uuid)",
                               2, params, 0, err);
    char id[40], name[256], text[600];
    json_t *records;
    admin_status_t status;

    *out = NULL;
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %s", domain);
    }
    snprintf(id, sizeof(id), "%s", PQgetvalue(res, 0, 0));
    snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 1));
    records = json_array();
    snprintf(text, sizeof(text), "_postinbox.%s", name);
    char token[80];
    snprintf(token, sizeof(token), "postinbox-verification=%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    admin_domain_add(records, "ownership", text, "TXT", token);
    snprintf(text, sizeof(text), "v=spf1 %s ~all", dns->spf && *dns->spf ? dns->spf : "mx");
    admin_domain_add(records, "spf", name, "TXT", text);
    if ((status = admin_domain_dkim(a, name, id, records, err)) != ADMIN_OK) {
        json_decref(records);
        return status;
    }
    if (dns->dmarc_rua && *dns->dmarc_rua)
        snprintf(text, sizeof(text), "v=DMARC1; p=none; rua=%s%.400s",
                 strncmp(dns->dmarc_rua, "mailto:", 7) == 0 ? "" : "mailto:", dns->dmarc_rua);
    else
        snprintf(text, sizeof(text), "v=DMARC1; p=none");
    char dmarc[300];
    snprintf(dmarc, sizeof(dmarc), "_dmarc.%s", name);
    admin_domain_add(records, "dmarc", dmarc, "TXT", text);
    admin_domain_mx(dns->mx, name, records);
    *out = json_pack("{s:s, s:o}", "domain", name, "records", records);
    return ADMIN_OK;
}
