/*
 * api_fields.h -- the members each API request body may have: name, type
 * and whether it is required, one table per endpoint that takes a body.
 *
 * Public: api_fields_inbox_create, api_fields_domain_create, api_fields_inbox_update,
 * api_fields_send_message, api_fields_webhook_create,
 * api_fields_webhook_update, api_fields_suppression_create.
 * Defined once here, so the handlers (policyd/api_*.c) and the fuzz
 * target of the body checks (tests/fuzz/fuzz_api_json.c) use the same
 * lists.  Each ends with a { NULL } row.  Plain data.
 */
#ifndef POSTINBOX_API_FIELDS_H
#define POSTINBOX_API_FIELDS_H

#include "apiutil.h"

extern const apiutil_field_t api_fields_inbox_create[];   /* POST /v1/inboxes */
extern const apiutil_field_t api_fields_domain_create[];  /* POST /v1/domains */
extern const apiutil_field_t api_fields_inbox_update[];   /* PATCH /v1/inboxes/{id} */
extern const apiutil_field_t api_fields_send_message[];   /* POST /v1/inboxes/{id}/messages */
extern const apiutil_field_t api_fields_webhook_create[]; /* POST /v1/inboxes/{id}/webhooks */
extern const apiutil_field_t api_fields_webhook_update[]; /* PATCH /v1/inboxes/{id}/webhooks/{wid} */
extern const apiutil_field_t api_fields_suppression_create[]; /* POST /v1/inboxes/{id}/suppressions */

#endif
