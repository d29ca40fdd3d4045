/*
 * admin_thread.c -- thread show.  See admin_thread.h.
 */
#include "admin_thread.h"

#include "admin_list.h"
#include "records.h"

admin_status_t
admin_thread_show(admin_t *a, const char *inbox_id, const char *thread_id, long limit, long offset, json_t **thread,
                  json_t **messages, long long *total, admin_error_t *err)
{
    const char *params[3] = { a->account_id, inbox_id, thread_id };
    const admin_filter_t filter = { .inbox_id = inbox_id, .thread_id = thread_id };
    PGresult *res;

    *thread = *messages = NULL;
    res = admin_exec(a,
                     RECORDS_THREAD_SELECT " WHERE id = $3::uuid AND ($2::uuid IS NULL OR inbox_id = $2::uuid)"
                     ADMIN_OWNED("inbox_id"),
                     3, params, 0, err);
    if (res == NULL)
        return ADMIN_BACKEND;
    if (PQntuples(res) != 1) {
        PQclear(res);
        if (inbox_id != NULL)
            return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "thread", "no thread %s in inbox %s", thread_id,
                              inbox_id);
        return admin_fail(err, ADMIN_NOT_FOUND, "not_found", "thread", "no thread %s", thread_id);
    }
    *thread = records_thread_json(res, 0);
    PQclear(res);
    if (admin_list(a, ADMIN_LIST_THREAD_MESSAGES, &filter, limit, offset, messages, total, err) != ADMIN_OK) {
        json_decref(*thread);
        *thread = NULL;
        return err->status;
    }
    return ADMIN_OK;
}
