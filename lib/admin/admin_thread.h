/*
 * admin_thread.h -- one thread with a page of its messages.
 *
 * Public: admin_thread_show.
 * The thread object (records_thread_json) and its messages oldest first
 * through admin_list (ADMIN_LIST_THREAD_MESSAGES).  When inbox_id is
 * given (the API) the thread must be that inbox's; always the acting
 * account's.  Logs nothing.
 */
#ifndef POSTINBOX_ADMIN_THREAD_H
#define POSTINBOX_ADMIN_THREAD_H

#include "admin.h"

/* *thread the thread object, *messages a page (limit from offset) of its
 * messages, *total how many it has.  ADMIN_OK, ADMIN_NOT_FOUND,
 * ADMIN_BACKEND (nothing to free but on ADMIN_OK). */
admin_status_t admin_thread_show(admin_t *a, const char *inbox_id, const char *thread_id, long limit, long offset,
                                 json_t **thread, json_t **messages, long long *total, admin_error_t *err);

#endif
