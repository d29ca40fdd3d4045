/*
 * admin.h -- the admin layer: what postinboxctl and the HTTP API do to
 * the store, written once.  Both front ends only parse their input and
 * render the JSON objects and errors these functions return.
 *
 * Public: admin_t, admin_init, admin_status_t, admin_error_t, admin_fail,
 * admin_exec, admin_usage, admin_username, ADMIN_USERNAME_SIZE.
 * The use-cases are in admin_inbox.h (create, show, update, status,
 * purge), admin_webhook.h (add, show, update, enable, rotate, delete),
 * admin_dkim.h (a domain's DKIM keys),
 * admin_list.h (the one paginated, filtered list) and admin_thread.h.
 * Every function takes an admin_t: the store, the limiter (for usage),
 * the key that seals webhook secrets (set by the front end after
 * admin_init), the acting account and the actor for audit rows.  The acting account
 * is in the WHERE clause of every statement ("$n::uuid IS NULL OR
 * account_id = $n::uuid"): NULL is the operator (postinboxctl), who sees
 * every account; the API always gives the key's account, so a row of
 * another account is ADMIN_NOT_FOUND exactly like a missing one.  All
 * SQL is parameterised; only constant fragments are joined.
 * Logs nothing: a failed usage read is told to the front end through
 * usage_warn, once per admin_t (the "Redis is down" latch).
 */
#ifndef POSTINBOX_ADMIN_H
#define POSTINBOX_ADMIN_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>

#include "limiter.h"
#include "secretbox.h"
#include "store.h"

/* How an admin call ended. */
typedef enum {
    ADMIN_OK = 0,
    ADMIN_NOT_FOUND,   /* no such row (or one of another account: never told apart) */
    ADMIN_INVALID,     /* input the database or a rule refused */
    ADMIN_CONFLICT,    /* the thing exists already */
    ADMIN_BACKEND,     /* PostgreSQL failed, or answered what it should not */
    ADMIN_FORBIDDEN,   /* the caller may not do this to this row (a tenant and an operator's suspension) */
} admin_status_t;

typedef struct {
    admin_status_t status;
    char code[32];     /* the API's error code: not_found, invalid_field, invalid_domain, conflict, ... */
    char reason[32];   /* the case in a word: "database" for a failed statement, inbox_create()'s result, ... */
    char message[512]; /* the API's wording; for "database" the server's error text */
    char subject[320]; /* what it is about, when the caller cannot know (the address a new inbox would have had) */
} admin_error_t;

/* Told once per admin_t when usage cannot be read (err says why). */
typedef void (*admin_usage_warn_fn)(void *arg, const char *inbox_id, const char *err);

typedef struct {
    store_t *store;
    limiter_t *limiter;          /* NULL: usage is unknown (null fields) */
    const char *limiter_error;   /* why limiter is NULL, for usage_warn */
    const secretbox_t *secrets;  /* seals webhook secrets; NULL: none (adding and rotating refused) */
    const char *secrets_error;   /* why secrets is NULL, for that refusal */
    int dkim_key_bits;           /* RSA size of the DKIM key a domain gets with its first inbox; 0: none made */
    const char *account_id;      /* acting account; NULL: the operator */
    const char *actor;           /* audit rows: "postinboxctl:root", "api:<key id>" */
    admin_usage_warn_fn usage_warn;
    void *usage_arg;
    int redis_down;              /* usage failed once: not asked again */
} admin_t;

/* Fills a with the backends, the acting account (NULL: operator) and the
 * actor; no usage_warn, Redis not yet asked. */
void admin_init(admin_t *a, store_t *store, limiter_t *limiter, const char *account_id, const char *actor);

/* Sets err (status, code, reason, printf message); returns status. */
admin_status_t admin_fail(admin_error_t *err, admin_status_t status, const char *code, const char *reason,
                          const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Runs one parameterised statement.  NULL with err ADMIN_BACKEND, reason
 * "database", the server's text; with private_params set only its first
 * line, since libpq's DETAIL can quote the failing row (a secret). */
PGresult *admin_exec(admin_t *a, const char *sql, int nparams, const char *const *params, int private_params,
                     admin_error_t *err);

/* An inbox's usage from Redis into buf; NULL when Redis is unreachable
 * (usage_warn is called the first time; later calls fail at once). */
const limit_result_t *admin_usage(admin_t *a, const char *inbox_id, limit_result_t *buf);

#define ADMIN_USERNAME_SIZE 80
/* The user name of a new inbox: given lower-cased into out, or (given
 * NULL) 10 random characters of [a-z0-9].  0; -1 when given is not a
 * valid user name (1-64 of a-z 0-9 . _ + -, starting with a letter or
 * digit, no "..", not ending in "."); -2 without random bytes. */
int admin_username(const char *given, char out[ADMIN_USERNAME_SIZE]);

#endif
