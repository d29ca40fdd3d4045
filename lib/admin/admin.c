/*
 * admin.c -- the admin context, errors, statements and usage.  See admin.h.
 */
#include "admin.h"

#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "validate.h"

void
admin_init(admin_t *a, store_t *store, limiter_t *limiter, const char *account_id, const char *actor)
{
    memset(a, 0, sizeof(*a));
    a->store = store;
    a->limiter = limiter;
    a->account_id = account_id;
    a->actor = actor;
}

admin_status_t
admin_fail(admin_error_t *err, admin_status_t status, const char *code, const char *reason, const char *fmt, ...)
{
    va_list ap;

    err->status = status;
    err->subject[0] = '\0';
    snprintf(err->code, sizeof(err->code), "%s", code);
    snprintf(err->reason, sizeof(err->reason), "%s", reason);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return status;
}

PGresult *
admin_exec(admin_t *a, const char *sql, int nparams, const char *const *params, int private_params,
           admin_error_t *err)
{
    char text[1024];
    PGresult *res = store_exec(a->store, sql, nparams, params, text, sizeof(text));

    if (res == NULL) {
        if (private_params)
            text[strcspn(text, "\n")] = '\0';
        admin_fail(err, ADMIN_BACKEND, "backend_unavailable", "database", "%s", text);
    }
    return res;
}

const limit_result_t *
admin_usage(admin_t *a, const char *inbox_id, limit_result_t *buf)
{
    char err[256];

    if (a->redis_down)
        return NULL;
    if (a->limiter == NULL)
        snprintf(err, sizeof(err), "%s", a->limiter_error ? a->limiter_error : "no limiter");
    else if (limiter_usage(a->limiter, inbox_id, buf, err, sizeof(err)) == 0)
        return buf;
    a->redis_down = 1;
    if (a->usage_warn != NULL)
        a->usage_warn(a->usage_arg, inbox_id, err);
    return NULL;
}

int
admin_username(const char *given, char out[ADMIN_USERNAME_SIZE])
{
    static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    unsigned char raw[10];

    if (given != NULL) {
        snprintf(out, ADMIN_USERNAME_SIZE, "%s", given);
        ascii_lower(out);
        return strlen(given) < ADMIN_USERNAME_SIZE && valid_username(out) ? 0 : -1;
    }
    if (RAND_bytes(raw, sizeof(raw)) != 1)
        return -2;
    for (int i = 0; i < 10; i++)
        out[i] = alphabet[raw[i] % 36];
    out[10] = '\0';
    return 0;
}
