/*
 * httpd_conns.h -- the open connections of one HTTP listener: how many
 * each client address holds, and how long the request each one is
 * sending may still take.
 *
 * Public: httpd_conns_t, httpd_conn_t, httpd_conns_new, httpd_conns_free,
 * httpd_conns_admit, httpd_conns_opened, httpd_conns_closed,
 * httpd_conns_request_line, httpd_conns_request_received,
 * httpd_conns_request_done.
 *
 * Contract.  admit refuses a new connection from an address that already
 * holds max_per_ip open ones.  A connection's deadline runs while a
 * request is being received: from accept for its first request, from
 * its request line for a later one on a keep-alive connection, until the
 * request has arrived whole (request_received; the handler's own time
 * and the response are not the client's).  Between two requests a
 * connection may wait idle_ms, trickling or not.  A connection past its
 * deadline is shut down (shutdown(2), never close(2): the server still
 * owns the descriptor and closes it) by a thread of this module that
 * looks every tick; the server then sees the end of the stream and
 * frees the connection, calling closed.  No libmicrohttpd here: the
 * server (lib/net/httpd.c) calls these from its callbacks, a test from
 * plain sockets.  Thread-safe.
 * Logs (warn, at most one line per listener and kind every 10 s, with
 * the number left unsaid): a refused connection, a request cut off.
 */
#ifndef POSTINBOX_HTTPD_CONNS_H
#define POSTINBOX_HTTPD_CONNS_H

#include <sys/socket.h>

typedef struct httpd_conns httpd_conns_t;
typedef struct httpd_conn httpd_conn_t;

/* name: the listener in log lines ("api", "metrics"); request_timeout_ms
 * 0 = no deadline; max_per_ip 0 = no limit.  NULL if out of memory or
 * the thread cannot start. */
httpd_conns_t *httpd_conns_new(const char *name, int request_timeout_ms, int idle_ms, int max_per_ip);
/* Stops the thread and frees; every connection must have been closed. */
void httpd_conns_free(httpd_conns_t *c);

/* 1 if a connection from addr may open, else 0 (logged). */
int httpd_conns_admit(httpd_conns_t *c, const struct sockaddr *addr);
/* A connection was accepted on fd from addr: its first request's
 * deadline starts.  NULL if out of memory (the connection goes
 * untracked). */
httpd_conn_t *httpd_conns_opened(httpd_conns_t *c, int fd, const struct sockaddr *addr);
/* The connection is gone (before its descriptor is closed).  conn may be NULL. */
void httpd_conns_closed(httpd_conns_t *c, httpd_conn_t *conn);
/* A request line has arrived: on a keep-alive connection, the next
 * request's deadline starts now. */
void httpd_conns_request_line(httpd_conns_t *c, httpd_conn_t *conn);
/* The request has arrived whole: no deadline while it is answered. */
void httpd_conns_request_received(httpd_conns_t *c, httpd_conn_t *conn);
/* The answer is sent: the connection may wait idle_ms for the next. */
void httpd_conns_request_done(httpd_conns_t *c, httpd_conn_t *conn);

#endif
