/*
 * httpd_conns.c -- per-address counts and request deadlines of one HTTP
 * listener.  See httpd_conns.h.
 *
 * The connections are a list under one mutex: a listener holds at most a
 * few hundred (lib/net/httpd.c's connection limit), and admit counts an
 * address's by walking it.  The deadline thread wakes every tick (an
 * eighth of the deadline, between 20 and 250 ms), so a request is cut
 * within a tick of its deadline.
 */
#include "httpd_conns.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"

/* At most one warning per kind in this many ms. */
#define HTTPD_CONNS_LOG_EVERY_MS 10000

struct httpd_conn {
    httpd_conn_t *prev, *next;
    unsigned char addr[16];     /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    int fd;
    long long opened_ms;        /* when the deadline started */
    long long deadline_ms;      /* 0: none (the request is being answered) */
    int waiting;                /* between requests: a request line restarts the deadline */
    int cut;                    /* shut down already */
};

/* One kind of warning, rate-limited. */
typedef struct {
    long long last_ms;          /* when the last line was written; 0: never */
    int unsaid;                 /* occurrences since, not logged */
} httpd_conns_warn_t;

struct httpd_conns {
    char name[32];
    int request_timeout_ms, idle_ms, max_per_ip;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    httpd_conn_t *head;
    int stopping;
    int has_thread;
    pthread_t thread;
    httpd_conns_warn_t refused, cut;
};

static void
httpd_conns_key(const struct sockaddr *sa, unsigned char out[16])
{
    memset(out, 0, 16);
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        out[10] = out[11] = 0xff;
        memcpy(out + 12, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(out, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 16);
    }
}

static void
httpd_conns_text(const unsigned char key[16], char *out, size_t outlen)
{
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
    if (memcmp(key, mapped, 12) == 0)
        inet_ntop(AF_INET, key + 12, out, (socklen_t)outlen);
    else
        inet_ntop(AF_INET6, key, out, (socklen_t)outlen);
}

/* Under the lock: 1 if this occurrence is to be logged now, with *unsaid
 * set to the occurrences left out since the last line. */
static int
httpd_conns_warn_due(httpd_conns_warn_t *w, long long now, int *unsaid)
{
    if (w->last_ms != 0 && now - w->last_ms < HTTPD_CONNS_LOG_EVERY_MS) {
        w->unsaid++;
        return 0;
    }
    *unsaid = w->unsaid;
    w->unsaid = 0;
    w->last_ms = now;
    return 1;
}

int
httpd_conns_admit(httpd_conns_t *c, const struct sockaddr *addr)
{
    unsigned char key[16];
    int open = 0, log_it = 0, unsaid = 0;
    char text[INET6_ADDRSTRLEN];

    if (c->max_per_ip <= 0)
        return 1;
    httpd_conns_key(addr, key);
    pthread_mutex_lock(&c->lock);
    for (httpd_conn_t *p = c->head; p; p = p->next)
        if (memcmp(p->addr, key, 16) == 0)
            open++;
    if (open >= c->max_per_ip)
        log_it = httpd_conns_warn_due(&c->refused, clock_ms(), &unsaid);
    pthread_mutex_unlock(&c->lock);
    if (open < c->max_per_ip)
        return 1;
    if (log_it) {
        httpd_conns_text(key, text, sizeof(text));
        if (unsaid > 0)
            log_warn("http %s: refused a connection from %s: %d open from that address "
                     "(http_max_connections_per_ip); %d more refused since the last such line",
                     c->name, text, open, unsaid);
        else
            log_warn("http %s: refused a connection from %s: %d open from that address "
                     "(http_max_connections_per_ip)",
                     c->name, text, open);
    }
    return 0;
}

httpd_conn_t *
httpd_conns_opened(httpd_conns_t *c, int fd, const struct sockaddr *addr)
{
    httpd_conn_t *conn = calloc(1, sizeof(*conn));
    if (conn == NULL)
        return NULL;
    httpd_conns_key(addr, conn->addr);
    conn->fd = fd;
    pthread_mutex_lock(&c->lock);
    conn->opened_ms = clock_ms();
    conn->deadline_ms = c->request_timeout_ms > 0 ? conn->opened_ms + c->request_timeout_ms : 0;
    conn->next = c->head;
    if (c->head)
        c->head->prev = conn;
    c->head = conn;
    pthread_mutex_unlock(&c->lock);
    return conn;
}

void
httpd_conns_closed(httpd_conns_t *c, httpd_conn_t *conn)
{
    if (conn == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        c->head = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    pthread_mutex_unlock(&c->lock);
    free(conn);
}

void
httpd_conns_request_line(httpd_conns_t *c, httpd_conn_t *conn)
{
    if (conn == NULL || c->request_timeout_ms <= 0)
        return;
    pthread_mutex_lock(&c->lock);
    if (conn->waiting) {
        conn->waiting = 0;
        conn->opened_ms = clock_ms();
        conn->deadline_ms = conn->opened_ms + c->request_timeout_ms;
    }
    pthread_mutex_unlock(&c->lock);
}

void
httpd_conns_request_received(httpd_conns_t *c, httpd_conn_t *conn)
{
    if (conn == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    conn->waiting = 0;
    conn->deadline_ms = 0;
    pthread_mutex_unlock(&c->lock);
}

void
httpd_conns_request_done(httpd_conns_t *c, httpd_conn_t *conn)
{
    if (conn == NULL || c->request_timeout_ms <= 0)
        return;
    pthread_mutex_lock(&c->lock);
    conn->waiting = 1;
    conn->opened_ms = clock_ms();
    conn->deadline_ms = conn->opened_ms + c->idle_ms;
    pthread_mutex_unlock(&c->lock);
}

/* Shuts down every connection past its deadline; one line about the
 * first of them (rate-limited). */
static void
httpd_conns_sweep(httpd_conns_t *c)
{
    long long now;
    int log_it = 0, unsaid = 0, more = 0, waiting = 0;
    long long took = 0;
    unsigned char key[16];
    char text[INET6_ADDRSTRLEN];

    pthread_mutex_lock(&c->lock);
    now = clock_ms();
    for (httpd_conn_t *p = c->head; p; p = p->next) {
        if (p->cut || p->deadline_ms == 0 || now < p->deadline_ms)
            continue;
        /* The server still owns fd (closed comes first, under this lock). */
        shutdown(p->fd, SHUT_RDWR);
        p->cut = 1;
        if (!log_it && httpd_conns_warn_due(&c->cut, now, &unsaid)) {
            log_it = 1;
            took = now - p->opened_ms;
            waiting = p->waiting;
            memcpy(key, p->addr, 16);
        } else if (log_it) {
            more++;
        }
    }
    pthread_mutex_unlock(&c->lock);
    if (log_it) {
        char why[96], rest[64] = "";
        httpd_conns_text(key, text, sizeof(text));
        if (waiting)
            snprintf(why, sizeof(why), "idle between requests");
        else
            snprintf(why, sizeof(why), "its request was not in whole within http_request_timeout_ms=%d",
                     c->request_timeout_ms);
        if (unsaid + more > 0)
            snprintf(rest, sizeof(rest), "; %d more cut off since the last such line", unsaid + more);
        log_warn("http %s: cut off a connection from %s after %lld ms: %s%s", c->name, text, took, why, rest);
    }
}

static void *
httpd_conns_thread(void *arg)
{
    httpd_conns_t *c = arg;
    long tick = c->request_timeout_ms / 8;
    if (tick < 20)
        tick = 20;
    if (tick > 250)
        tick = 250;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += tick * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&c->wake, &c->lock, &until);
        if (c->stopping)
            break;
        pthread_mutex_unlock(&c->lock);
        httpd_conns_sweep(c);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

httpd_conns_t *
httpd_conns_new(const char *name, int request_timeout_ms, int idle_ms, int max_per_ip)
{
    httpd_conns_t *c = calloc(1, sizeof(*c));
    pthread_condattr_t attr;

    if (c == NULL)
        return NULL;
    snprintf(c->name, sizeof(c->name), "%s", name ? name : "listener");
    c->request_timeout_ms = request_timeout_ms;
    c->idle_ms = idle_ms;
    c->max_per_ip = max_per_ip;
    pthread_mutex_init(&c->lock, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &attr);
    pthread_condattr_destroy(&attr);
    if (request_timeout_ms > 0) {
        if (pthread_create(&c->thread, NULL, httpd_conns_thread, c) != 0) {
            pthread_cond_destroy(&c->wake);
            pthread_mutex_destroy(&c->lock);
            free(c);
            return NULL;
        }
        c->has_thread = 1;
    }
    return c;
}

void
httpd_conns_free(httpd_conns_t *c)
{
    if (c == NULL)
        return;
    if (c->has_thread) {
        pthread_mutex_lock(&c->lock);
        c->stopping = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    while (c->head)
        httpd_conns_closed(c, c->head);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
