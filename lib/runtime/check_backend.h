/*
 * check_backend.h -- the transaction core's backends (lib/core/check) over
 * a runtime: lookups and the suppression list in PostgreSQL (lib/store),
 * the caps in Redis (lib/store/limiter), the record through the group
 * commit (lib/store/record_batch) of a document built by
 * lib/runtime/record_doc.
 *
 * Public: check_backend_env.
 * Logs nothing itself (record_doc logs what the content was).
 */
#ifndef POSTINBOX_CHECK_BACKEND_H
#define POSTINBOX_CHECK_BACKEND_H

#include "check.h"
#include "runtime.h"

/* Fills env for rt (which must outlive every use of env). */
void check_backend_env(runtime_t *rt, check_mode_t mode, const check_hooks_t *hooks, check_env_t *env);

#endif
