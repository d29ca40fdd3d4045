/*
 * api_fields.c -- the API's request body members.  See api_fields.h.
 */
#include "api_fields.h"

const apiutil_field_t api_fields_inbox_create[] = {
    { "username", APIUTIL_STRING, 0 },
    { "displayName", APIUTIL_STRING_OR_NULL, 0 },
    { "domainId", APIUTIL_STRING_OR_NULL, 0 },
    { "labels", APIUTIL_STRING_ARRAY, 0 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_domain_create[] = {
    { "name", APIUTIL_STRING, 1 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_inbox_update[] = {
    { "displayName", APIUTIL_STRING_OR_NULL, 0 },
    { "labels", APIUTIL_STRING_ARRAY, 0 },
    { "status", APIUTIL_STRING, 0 },
    { "tracking", APIUTIL_OBJECT, 0 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_send_message[] = {
    { "to", APIUTIL_STRINGS, 1 },
    { "cc", APIUTIL_STRINGS, 0 },
    { "subject", APIUTIL_STRING, 1 },
    { "text", APIUTIL_STRING, 0 },
    { "html", APIUTIL_STRING, 0 },
    { "inReplyTo", APIUTIL_STRING, 0 },
    { "references", APIUTIL_STRING_ARRAY, 0 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_webhook_create[] = {
    { "url", APIUTIL_STRING, 1 },
    { "events", APIUTIL_STRING_ARRAY, 0 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_webhook_update[] = {
    { "url", APIUTIL_STRING, 0 },
    { "events", APIUTIL_STRING_ARRAY, 0 },
    { "enabled", APIUTIL_BOOLEAN, 0 },
    { NULL, 0, 0 },
};

const apiutil_field_t api_fields_suppression_create[] = {
    { "address", APIUTIL_STRING, 1 },
    { "reason", APIUTIL_STRING_OR_NULL, 0 },
    { "expiresAt", APIUTIL_STRING_OR_NULL, 0 },
    { NULL, 0, 0 },
};
