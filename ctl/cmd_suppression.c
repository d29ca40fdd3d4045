/*
 * cmd_suppression.c -- an inbox's suppression list (sql/migrations/005,
 * 013, 014; lib/admin/admin_suppression.h).
 *
 * Public: cmd_suppression_list, cmd_suppression_add,
 * cmd_suppression_remove, cmd_suppression_import, cmd_suppression_export
 * (see cmd.h).
 * Hard bounces and complaints put recipients on the list by themselves;
 * here the operator reads it (filtered as the API's GET), adds an address
 * by hand (source "manual", optionally expiring), takes one off again --
 * complaint entries too, which API keys may not --, and moves whole
 * lists in and out as CSV or JSON.  Each change writes audit rows in the
 * same statement (lib/admin).  Adding an address that is already there
 * changes nothing (a warning, exit 0); removing one that is not there is
 * an error, exit 1.
 * Import is all or nothing: every record is checked first and the first
 * bad one is reported by its line (CSV) or position (JSON), exit 1, with
 * nothing imported; then one statement imports them, skipping (and
 * counting) addresses already on the list.  CSV export guards every
 * value against formula injection (ctl/csv.h): a value starting with
 * = + - @ gets a leading ', which import takes off again.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "admin_suppression.h"
#include "cmd.h"
#include "csv.h"
#include "output.h"

static const output_column_t suppression_columns[] = {
    { "CREATED", "createdAt", 0 },
    { "SOURCE", "source", 0 },
    { "DSN", "dsn", 0 },
    { "ADDRESS", "address", 50 },
    { "REASON", "reason", 50 },
    { "EXPIRES", "expiresAt", 0 },
    { NULL, NULL, 0 },
};

/* The CSV columns of export, and what import reads (the JSON member of
 * each for export; the entry field for import). */
static const char *const csv_columns[] = { "address", "source", "reason", "created_at", "expires_at" };
#define CSV_NCOLUMNS (sizeof(csv_columns) / sizeof(csv_columns[0]))
static const char *const csv_members[CSV_NCOLUMNS] = { "address", "source", "reason", "createdAt", "expiresAt" };

/* The inbox (first positional) and --address, normalised as the milter
 * normalises RCPT TO.  0, CTL_EXIT_USAGE or CTL_EXIT_ERROR. */
static int
suppression_args(ctl_t *ctl, const args_t *args, char id[40], char address[ADDRESS_MAX + 1])
{
    const char *given = args_value(args, "address");
    if (given == NULL)
        return output_usage("--address is required");
    if (address_normalize(given, address, ADDRESS_MAX + 1) != ADDRESS_OK)
        return output_usage("--address: \"%s\" is not an email address", given);
    return ctl_resolve_inbox(ctl, args->pos[0], id);
}

int
cmd_suppression_list(ctl_t *ctl, const args_t *args)
{
    char id[40], after[80], before[80], prefix[ADDRESS_MAX + 1];
    admin_filter_t filter = { .source = args_value(args, "source"), .reason = args_value(args, "reason") };
    const char *given = args_value(args, "address");
    admin_error_t err;
    long limit, offset;
    int rc;

    if (given != NULL) {
        snprintf(prefix, sizeof(prefix), "%s", given);
        filter.address_prefix = ascii_lower(prefix);
    }
    if (admin_suppression_filter_check(filter.source, filter.reason, given, &err) != ADMIN_OK)
        return output_usage("--%s", err.message);
    if ((rc = args_page(args, &limit, &offset)) != 0 || (rc = ctl_resolve_inbox(ctl, args->pos[0], id)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "after", after, &filter.after)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "before", before, &filter.before)) != 0)
        return rc;
    filter.inbox_id = id;
    return ctl_list(ctl, ADMIN_LIST_SUPPRESSIONS, &filter, limit, offset, NULL, suppression_columns);
}

int
cmd_suppression_add(ctl_t *ctl, const args_t *args)
{
    char id[40], address[ADDRESS_MAX + 1], expires_buf[80];
    const char *reason, *expires;
    admin_error_t err;
    admin_status_t status;
    json_t *obj;
    admin_t *admin;
    int rc;

    if ((rc = args_text(args, "reason", ADMIN_SUPPRESSION_REASON_MAX, 0, &reason)) != 0 ||
        (rc = suppression_args(ctl, args, id, address)) != 0 ||
        (rc = ctl_time_arg(ctl, args, "expires", expires_buf, &expires)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    status = admin_suppression_add(admin, id, address, reason, expires, &obj, &err);
    if (status == ADMIN_CONFLICT && obj != NULL)
        output_warn("%s is already on the suppression list of %s (source %s); nothing changed", address,
                    args->pos[0], json_string_value(json_object_get(obj, "source")));
    else if (status != ADMIN_OK)
        return ctl_fail(&err);
    output_object(obj, NULL);
    return 0;
}

int
cmd_suppression_remove(ctl_t *ctl, const args_t *args)
{
    char id[40], address[ADDRESS_MAX + 1];
    const char *reason;
    admin_error_t err;
    json_t *obj;
    admin_t *admin;
    int rc;

    if ((rc = args_text(args, "reason", ADMIN_SUPPRESSION_REASON_MAX, 0, &reason)) != 0 ||
        (rc = suppression_args(ctl, args, id, address)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    if (admin_suppression_remove(admin, id, address, reason, &obj, &err) != ADMIN_OK) {
        if (err.status == ADMIN_NOT_FOUND)
            return output_error("%s is not on the suppression list of %s", address, args->pos[0]);
        return ctl_fail(&err);
    }
    if (output_json()) {
        json_object_set_new(obj, "removed", json_true());
        output_object(obj, NULL);
    } else {
        output_line("removed %s (%s) from the suppression list of %s", address,
                    json_string_value(json_object_get(obj, "source")), args->pos[0]);
        json_decref(obj);
    }
    return 0;
}

/* ---- import --------------------------------------------------------------------------- */

/* The whole of file ("-": standard input), NUL-terminated; NULL after
 * reporting. */
static char *
suppression_read_file(const char *file, size_t *len)
{
    int own = strcmp(file, "-") != 0;   /* a file we opened, closed here */
    FILE *fp = own ? fopen(file, "rb") : stdin;
    size_t cap = 65536, n = 0;
    char *buf;

    if (fp == NULL) {
        output_error("%s: %s", file, strerror(errno));
        return NULL;
    }
    buf = malloc(cap);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (n < cap - 1)
            break;
        char *grown = realloc(buf, cap * 2);
        if (grown == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = grown, cap *= 2;
    }
    if (buf != NULL && ferror(fp)) {
        output_error("%s: %s", file, strerror(errno));
        free(buf);
        buf = NULL;
    } else if (buf == NULL) {
        output_error("out of memory");
    } else {
        buf[n] = '\0';
        *len = n;
    }
    if (own)
        fclose(fp);
    return buf;
}

/* Checks one entry and appends it to entries.  0, or CTL_EXIT_ERROR
 * after reporting "FILE: WHERE: why". */
static int
suppression_entry(json_t *entries, const admin_suppression_entry_t *in, const char *file, const char *where, long n)
{
    admin_suppression_norm_t norm;
    char err[256];

    if (admin_suppression_entry_check(in, &norm, err, sizeof(err)) != 0)
        return output_error("%s: %s %ld: %s; nothing imported", file, where, n, err);
    json_array_append_new(entries, admin_suppression_entry_json(in, &norm, n));
    return 0;
}

/* CSV with a header naming its columns (csv_columns, any order,
 * address required) into entries.  0 or CTL_EXIT_ERROR (reported). */
static int
suppression_parse_csv(const char *data, size_t len, const char *file, json_t *entries)
{
    char *fields[CSV_MAX_FIELDS], err[256];
    int column[CSV_MAX_FIELDS], n, ncols, rc = 0, has_address = 0;
    csv_reader_t r;
    long line;

    if (csv_reader_init(&r, data, len) != 0)
        return output_error("out of memory");
    if ((ncols = csv_read(&r, fields, &line, err, sizeof(err))) <= 0) {
        csv_reader_free(&r);
        return ncols == 0 ? output_error("%s: empty, no header line (%s,%s,%s,%s,%s)", file, csv_columns[0],
                                         csv_columns[1], csv_columns[2], csv_columns[3], csv_columns[4])
                          : output_error("%s: %s; nothing imported", file, err);
    }
    for (int i = 0; i < ncols && rc == 0; i++) {
        column[i] = -1;
        for (size_t c = 0; c < CSV_NCOLUMNS; c++)
            if (strcmp(fields[i], csv_columns[c]) == 0)
                column[i] = (int)c;
        if (column[i] < 0)
            rc = output_error("%s: line %ld: unknown column \"%s\" (the header is %s,%s,%s,%s,%s)", file, line,
                              fields[i], csv_columns[0], csv_columns[1], csv_columns[2], csv_columns[3],
                              csv_columns[4]);
        has_address |= column[i] == 0;
    }
    if (rc == 0 && !has_address)
        rc = output_error("%s: line %ld: the header has no address column", file, line);
    while (rc == 0 && (n = csv_read(&r, fields, &line, err, sizeof(err))) != 0) {
        const char *value[CSV_NCOLUMNS] = { NULL };
        if (n < 0) {
            rc = output_error("%s: %s; nothing imported", file, err);
            break;
        }
        if (n != ncols) {
            rc = output_error("%s: line %ld: %d fields, the header has %d; nothing imported", file, line, n, ncols);
            break;
        }
        for (int i = 0; i < n; i++)
            value[column[i]] = csv_unguard(fields[i]);
        admin_suppression_entry_t in = { .address = value[0], .source = value[1], .reason = value[2],
                                         .created_at = value[3], .expires_at = value[4] };
        rc = suppression_entry(entries, &in, file, "line", line);
    }
    csv_reader_free(&r);
    return rc;
}

/* A string member of obj, or NULL; -1 when it is there and not a
 * string or null. */
static int
suppression_member(const json_t *obj, const char *name, const char **out)
{
    const json_t *v = json_object_get(obj, name);
    *out = json_string_value(v);
    return v == NULL || json_is_null(v) || json_is_string(v) ? 0 : -1;
}

/* JSON: an array of entries, or export's {"data": [...]}; the members
 * of export's objects (dsn and messageId are not imported).  0 or
 * CTL_EXIT_ERROR (reported). */
static int
suppression_parse_json(const char *data, size_t len, const char *file, json_t *entries)
{
    static const char *const known[] = { "address", "source", "reason", "bounceReason", "createdAt", "expiresAt",
                                         "dsn", "messageId" };
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr), *list, *item;
    size_t i;
    int rc = 0;

    if (doc == NULL)
        return output_error("%s: line %d: %s; nothing imported", file, jerr.line, jerr.text);
    list = json_is_object(doc) ? json_object_get(doc, "data") : doc;
    if (!json_is_array(list)) {
        json_decref(doc);
        return output_error("%s: not an array of entries (nor {\"data\": [...]}); nothing imported", file);
    }
    json_array_foreach(list, i, item) {
        admin_suppression_entry_t in;
        const char *key;
        json_t *value;
        if (!json_is_object(item)) {
            rc = output_error("%s: entry %zu: not an object; nothing imported", file, i + 1);
            break;
        }
        json_object_foreach(item, key, value) {
            size_t k = 0;
            while (k < sizeof(known) / sizeof(known[0]) && strcmp(known[k], key) != 0)
                k++;
            if (k == sizeof(known) / sizeof(known[0])) {
                rc = output_error("%s: entry %zu: unknown member \"%s\"; nothing imported", file, i + 1, key);
                break;
            }
        }
        if (rc != 0)
            break;
        if (suppression_member(item, "address", &in.address) != 0 || suppression_member(item, "source", &in.source) != 0 ||
            suppression_member(item, "reason", &in.reason) != 0 ||
            suppression_member(item, "bounceReason", &in.bounce_reason) != 0 ||
            suppression_member(item, "createdAt", &in.created_at) != 0 ||
            suppression_member(item, "expiresAt", &in.expires_at) != 0) {
            rc = output_error("%s: entry %zu: every member must be a string or null; nothing imported", file, i + 1);
            break;
        }
        if ((rc = suppression_entry(entries, &in, file, "entry", (long)i + 1)) != 0)
            break;
    }
    json_decref(doc);
    return rc;
}

int
cmd_suppression_import(ctl_t *ctl, const args_t *args)
{
    const char *file = args->pos[0], *selector = args_value(args, "inbox");
    json_t *entries = NULL, *result;
    admin_error_t err;
    admin_t *admin;
    char id[40], *data;
    size_t len = 0, skip;
    int rc;

    if (selector == NULL)
        return output_usage("--inbox is required");
    if ((rc = ctl_resolve_inbox(ctl, selector, id)) != 0)
        return rc;
    if ((data = suppression_read_file(file, &len)) == NULL)
        return CTL_EXIT_ERROR;
    entries = json_array();
    skip = strspn(data, " \t\r\n");
    if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0) /* a UTF-8 BOM, as spreadsheets write it */
        skip = 3;
    if (data[skip] == '[' || data[skip] == '{')
        rc = suppression_parse_json(data + skip, len - skip, file, entries);
    else
        rc = suppression_parse_csv(data + skip, len - skip, file, entries);
    free(data);
    if (rc == 0 && (admin = ctl_admin(ctl)) == NULL)
        rc = CTL_EXIT_ERROR;
    if (rc == 0 && admin_suppression_import(admin, id, entries, &result, &err) != ADMIN_OK)
        rc = ctl_fail(&err);
    json_decref(entries);
    if (rc != 0)
        return rc;
    if (output_json()) {
        output_object(result, NULL);
    } else {
        output_line("imported %lld of %lld entries into the suppression list of %s (%lld already on it, %lld "
                    "expired)",
                    (long long)json_integer_value(json_object_get(result, "imported")),
                    (long long)json_integer_value(json_object_get(result, "total")), selector,
                    (long long)json_integer_value(json_object_get(result, "skipped")),
                    (long long)json_integer_value(json_object_get(result, "expired")));
        json_decref(result);
    }
    return 0;
}

/* ---- export --------------------------------------------------------------------------- */

/* One CSV record of values (NULL: empty), each guarded.  0, or -1
 * without memory. */
static int
suppression_csv_record(const char *const values[CSV_NCOLUMNS])
{
    for (size_t c = 0; c < CSV_NCOLUMNS; c++) {
        char *field = csv_field(values[c] ? values[c] : "", 1);
        if (field == NULL)
            return -1;
        fputs(field, stdout);
        fputs(c + 1 < CSV_NCOLUMNS ? "," : "\r\n", stdout);
        free(field);
    }
    return 0;
}

int
cmd_suppression_export(ctl_t *ctl, const args_t *args)
{
    const char *format = args_value(args, "format"), *selector = args_value(args, "inbox");
    admin_filter_t filter = { 0 };
    admin_error_t err;
    long long total;
    admin_t *admin;
    json_t *rows, *row;
    char id[40];
    size_t i;
    int rc;

    if (selector == NULL)
        return output_usage("--inbox is required");
    if (format == NULL)
        format = "csv";
    if (strcmp(format, "csv") != 0 && strcmp(format, "json") != 0)
        return output_usage("--format must be csv or json");
    if ((rc = ctl_resolve_inbox(ctl, selector, id)) != 0)
        return rc;
    if ((admin = ctl_admin(ctl)) == NULL)
        return CTL_EXIT_ERROR;
    filter.inbox_id = id;
    if (admin_list(admin, ADMIN_LIST_SUPPRESSIONS, &filter, INT_MAX, 0, &rows, &total, &err) != ADMIN_OK)
        return ctl_fail(&err);
    if (strcmp(format, "json") == 0) {
        json_t *doc = json_pack("{s:o, s:I}", "data", rows, "total", (json_int_t)total);
        json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
        fputc('\n', stdout);
        json_decref(doc);
        return 0;
    }
    rc = suppression_csv_record(csv_columns);
    json_array_foreach(rows, i, row) {
        const char *values[CSV_NCOLUMNS];
        for (size_t c = 0; c < CSV_NCOLUMNS; c++)
            values[c] = json_string_value(json_object_get(row, csv_members[c]));
        if (rc == 0)
            rc = suppression_csv_record(values);
    }
    json_decref(rows);
    return rc == 0 ? 0 : output_error("out of memory");
}
