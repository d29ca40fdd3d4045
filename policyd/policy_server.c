/*
 * policy_server.c -- the Postfix policy service.  See policy_server.h.
 * (Being written; until then starting it is refused with an error, so a
 * config that asks for it fails loudly instead of silently doing nothing.)
 */
#include "policy_server.h"

#include <stdio.h>

int
policy_server_start(const char *listen, char *err, size_t errlen)
{
    snprintf(err, errlen, "policy_listen %s: the policy service is not available in this build", listen);
    return -1;
}

void
policy_server_stop(void)
{
}
