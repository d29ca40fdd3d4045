/*
 * inbox.c -- inbox status names.  See inbox.h.
 */
#include "inbox.h"

#include <string.h>

static const char *const inbox_status_names[] = { "active", "suspended", "disabled" };

int
inbox_status_parse(const char *text, inbox_status_t *status)
{
    for (int i = 0; i < 3; i++) {
        if (strcmp(text, inbox_status_names[i]) == 0) {
            *status = (inbox_status_t)i;
            return 0;
        }
    }
    return -1;
}

const char *
inbox_status_name(inbox_status_t status)
{
    return (unsigned)status < 3 ? inbox_status_names[status] : "unknown";
}
