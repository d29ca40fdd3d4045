/*
 * admin_domain.c -- a domain's DNS records.  See admin_domain.h.
 */
#include "admin_domain.h"

#include <stdio.h>
#include <string.h>

#include "config.h"
#include "dkim_keygen.h"
#include "domain_name.h"
#include "validate.h"

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

int
admin_domain_mark_required(json_t *rec)
{
    const char *purpose = json_string_value(json_object_get(rec, "purpose"));
    const char *state = json_string_value(json_object_get(rec, "state"));
    int required = purpose != NULL && (strcmp(purpose, "ownership") == 0 || strcmp(purpose, "spf") == 0 ||
                                       (strcmp(purpose, "dkim") == 0 && state && strcmp(state, "active") == 0));
    json_object_set_new(rec, "required", json_boolean(required));
    return required;
}

size_t
admin_domain_unmet_records(const json_t *records, char *out, size_t size)
{
    const json_t *rec;
    size_t i, n = 0;

    if (size > 0)
        out[0] = '\0';
    json_array_foreach(records, i, rec) {
        const char *st = json_string_value(json_object_get(rec, "status"));
        if (!json_is_true(json_object_get(rec, "required")) || st == NULL || strcmp(st, "valid") == 0 ||
            n + 80 > size)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%s%s %s", n ? ", " : "",
                              json_string_value(json_object_get(rec, "purpose")), st);
    }
    return n;
}

void
admin_dns_from_config(const struct pi_config *cfg, admin_dns_t *dns)
{
    dns->spf = cfg->dns_spf;
    dns->mx = cfg->dns_mx;
    dns->dmarc_rua = cfg->dns_dmarc_rua;
    /* a check asked by hand schedules the next as the periodic one would */
    dns->check_interval_ms = cfg->domain_check_interval_ms > 0 ? cfg->domain_check_interval_ms : 3600000;
    dns->check_retry_ms = cfg->domain_check_retry_ms;
    dns->check_failures = cfg->domain_check_failures;
    dns->dkim_keep_ms = cfg->dkim_retire_after_ms;
}

PGresult *
admin_domain_find(admin_t *a, const char *id_or_name, const char *columns, admin_status_t *status,
                  admin_error_t *err)
{
    char sql[1024], name[DOMAIN_NAME_MAX + 1];
    const char *params[2] = { name, a->account_id };
    int by_id = id_or_name != NULL && valid_uuid(id_or_name);
    PGresult *res;

    if (id_or_name == NULL || (!by_id && domain_name_canonical(id_or_name, name) != DOMAIN_NAME_OK)) {
        *status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %.253s",
                             id_or_name ? id_or_name : "");
        return NULL;
    }
    if (by_id)
        snprintf(name, sizeof(name), "%s", id_or_name);
    snprintf(sql, sizeof(sql), "SELECT %s FROM postinbox.domain d WHERE %s AND ($2::uuid IS NULL OR d.account_id = $2::uuid)",
             columns, by_id ? "d.id = $1::uuid" : "d.name = $1");
    if ((res = admin_exec(a, sql, 2, params, 0, err)) == NULL) {
        *status = ADMIN_BACKEND;
        return NULL;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        *status = admin_fail(err, ADMIN_NOT_FOUND, "not_found", "domain", "no domain %.253s", id_or_name);
        return NULL;
    }
    *status = ADMIN_OK;
    return res;
}

admin_status_t
admin_domain_records(admin_t *a, const admin_dns_t *dns, const char *domain, json_t **out, admin_error_t *err)
{
    char id[40], name[256], text[600];
    json_t *records;
    admin_status_t status;
    PGresult *res = admin_domain_find(a, domain, "d.id, d.name, d.verification_token", &status, err);

    *out = NULL;
    if (res == NULL)
        return status;
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
    json_t *rec;
    size_t i;
    json_array_foreach(records, i, rec)
        admin_domain_mark_required(rec);
    *out = json_pack("{s:s, s:o}", "domain", name, "records", records);
    return ADMIN_OK;
}
