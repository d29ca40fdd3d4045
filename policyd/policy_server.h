/*
 * policy_server.h -- the Postfix SMTP access policy delegation service
 * (SMTPD_POLICY_README) inside postinbox-policyd.
 *
 * Public: policy_server_start, policy_server_stop.
 * Answers the same decisions as the milter from the same lib/ code
 * (lib/core/check), taking the current runtime with runtime_acquire() for
 * every request so a reload applies at once.  Only Postfix may ask: a TCP
 * peer outside policy_allow_networks (default loopback) is closed without
 * an answer, and a unix socket is mode 0660 (group policy_socket_group),
 * so no other local user can reach it.
 */
#ifndef POSTINBOX_POLICY_SERVER_H
#define POSTINBOX_POLICY_SERVER_H

#include <stddef.h>

/* Listens on listen ("host:port" or "unix:/path"; a socket's group is
 * socket_group unless NULL or "") and serves in threads of its own.  0, or
 * -1 with err (the caller exits). */
int policy_server_start(const char *listen, const char *socket_group, char *err, size_t errlen);
/* Stops accepting, lets requests in progress finish (bounded), closes. */
void policy_server_stop(void);

#endif
