/*
 * http_client.h -- a plain-socket HTTP/1.1 client for the unit tests of
 * lib/net/httpd and lib/util/metrics: what a request really puts on the wire and
 * what really comes back, without libcurl in between.
 *
 * Public: http_free_port, http_exchange, http_response_t.
 */
#ifndef POSTINBOX_TESTS_HTTP_CLIENT_H
#define POSTINBOX_TESTS_HTTP_CLIENT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int status;          /* 0: no parsable answer */
    char head[4096];     /* status line and headers */
    char *body;          /* malloc'd, NUL-terminated */
    size_t body_len;
} http_response_t;

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static inline int
http_free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* Sends request (len bytes) to 127.0.0.1:port and reads until the server
 * closes or 5 s pass.  0, or -1 when the connection failed. */
static inline int
http_exchange(int port, const char *request, size_t len, http_response_t *out)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(out, 0, sizeof(*out));
    if (buf == NULL || fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        free(buf);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    for (size_t sent = 0; sent < len;) {
        ssize_t n = send(fd, request + sent, len - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may answer (413) and close before reading it all */
        sent += (size_t)n;
    }
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        if (got == cap) {
            char *grown = realloc(buf, 2 * cap + 1);
            if (grown == NULL)
                break;
            buf = grown;
            cap *= 2;
        }
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    char *end = strstr(buf, "\r\n\r\n");
    if (end != NULL) {
        size_t hlen = (size_t)(end - buf);
        memcpy(out->head, buf, hlen < sizeof(out->head) - 1 ? hlen : sizeof(out->head) - 1);
        sscanf(buf, "HTTP/1.%*d %d", &out->status);
        out->body_len = got - hlen - 4;
        out->body = malloc(out->body_len + 1);
        if (out->body) {
            memcpy(out->body, end + 4, out->body_len);
            out->body[out->body_len] = '\0';
        }
    }
    free(buf);
    return 0;
}

#endif
