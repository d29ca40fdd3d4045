/*
 * policy_server.c -- the Postfix policy service's sockets and threads.
 * See policy_server.h; the protocol is lib/mail/policy_proto.c, the decisions
 * policy_check.c.
 *
 * One acceptor thread, one thread per connection (at most
 * POLICY_MAX_CONNECTIONS; more are closed at once with a warning).  Why
 * threads and not a poll loop: every request makes blocking,
 * deadline-bound calls to PostgreSQL and Redis through the shared pools
 * (lib/store/pool.c), so a poll loop would still need a worker pool and a
 * hand-off per request; Postfix keeps one persistent connection per smtpd
 * process, so connections are few (about default_process_limit per
 * Postfix host) and long-lived, which is the case a thread per
 * connection serves best.  The pools, not the thread count, bound the
 * load on the backends.
 *
 * Bounds on every connection:
 *   - a request must arrive whole within POLICY_REQUEST_TIMEOUT_MS of its
 *     first byte, within POLICY_REQUEST_MAX bytes, POLICY_LINE_MAX per
 *     line, POLICY_ATTRS_MAX lines (lib/mail/policy_proto.h);
 *   - an idle connection is closed after POLICY_IDLE_TIMEOUT_MS (twice
 *     Postfix's smtpd_policy_service_max_idle, so Postfix normally
 *     closes first);
 *   - an answer must be taken within POLICY_WRITE_TIMEOUT_MS;
 *   - the decision itself is bounded by the backends' deadlines
 *     (backend_timeout_ms per call, at most three calls per request).
 * Malformed or stalled input: log a warning and close without an answer,
 * as SMTPD_POLICY_README asks of a server in trouble; Postfix then
 * retries on a new connection and finally applies
 * smtpd_policy_service_default_action (451 4.3.5 by default), so broken
 * input never lets mail through unchecked.
 *
 * Logs: start and stop (info), refused and dropped connections and
 * malformed requests (warning, with the client and the reason), one line
 * per decision (policy_check.c).
 */
#define _GNU_SOURCE /* accept4, pipe2 */
#include "policy_server.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "log.h"
#include "policy_check.h"
#include "policyd_metrics.h"
#include "policy_proto.h"
#include "runtime.h"

#define POLICY_MAX_CONNECTIONS 1024
#define POLICY_IDLE_TIMEOUT_MS (600 * 1000)
#define POLICY_REQUEST_TIMEOUT_MS 10000
#define POLICY_WRITE_TIMEOUT_MS 10000
#define POLICY_STOP_GRACE_MS 10000
#define POLICY_THREAD_STACK (256 * 1024)
#define POLICY_BACKLOG 256

typedef struct policy_conn {
    int fd;
    char peer[64];
    struct policy_conn *prev, *next;
} policy_conn_t;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t gone;            /* a connection ended */
    int running, stopping;
    int listen_fd;
    int wake[2];                    /* self-pipe that stops the acceptor */
    pthread_t acceptor;
    char listen_spec[160];
    char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    policy_conn_t *conns;
    size_t active;
    unsigned long long connections, requests, refused;
} policy_srv = { .lock = PTHREAD_MUTEX_INITIALIZER, .gone = PTHREAD_COND_INITIALIZER, .listen_fd = -1,
                 .wake = { -1, -1 } };

/* Signals belong to main's sigwait; no thread of ours takes one. */
static void
policy_block_signals(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

/* ---- listening ------------------------------------------------------------ */

static int
policy_listen_unix(const char *path, const char *group, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    struct stat st;
    int fd;

    if (path[0] != '/' || strlen(path) >= sizeof(sun.sun_path)) {
        snprintf(err, errlen, "policy_listen unix:%s: need an absolute path under %zu bytes", path,
                 sizeof(sun.sun_path));
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
        snprintf(err, errlen, "policy_listen unix:%s: socket: %s", path, strerror(errno));
        return -1;
    }
    /* A socket left by a previous run goes; one somebody answers on, or
     * anything that is not a socket, stays and is an error. */
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            snprintf(err, errlen, "policy_listen unix:%s: exists and is not a socket", path);
            close(fd);
            return -1;
        }
        if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
            snprintf(err, errlen, "policy_listen unix:%s: another process is listening there", path);
            close(fd);
            return -1;
        }
        close(fd);
        unlink(path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
            snprintf(err, errlen, "policy_listen unix:%s: socket: %s", path, strerror(errno));
            return -1;
        }
    }
    /* Only the owner and group may connect: created 0600, then 0660 with
     * the group Postfix's smtpd runs in (policy_socket_group), so no other
     * local user can ask, and spend an inbox's caps. */
    mode_t old_umask = umask(0177);
    int bound = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
    umask(old_umask);
    if (bound != 0 || listen(fd, POLICY_BACKLOG) != 0) {
        snprintf(err, errlen, "policy_listen unix:%s: bind/listen: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (group && *group) {
        struct group *gr = getgrnam(group);
        if (gr == NULL || chown(path, (uid_t)-1, gr->gr_gid) != 0) {
            snprintf(err, errlen, "policy_socket_group %s: %s", group, gr ? strerror(errno) : "no such group");
            close(fd);
            unlink(path);
            return -1;
        }
    }
    if (chmod(path, 0660) != 0) {
        snprintf(err, errlen, "policy_listen unix:%s: chmod: %s", path, strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    snprintf(policy_srv.unix_path, sizeof(policy_srv.unix_path), "%s", path);
    return fd;
}

static int
policy_listen_inet(const char *spec, char *err, size_t errlen)
{
    char host[128];
    const char *colon = strrchr(spec, ':');
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV }, *res, *ai;
    int fd = -1, rc, one = 1;

    if (colon == NULL || colon == spec || colon[1] == '\0' || (size_t)(colon - spec) >= sizeof(host)) {
        snprintf(err, errlen, "policy_listen \"%s\" is not host:port or unix:/path", spec);
        return -1;
    }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = '\0';
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {   /* [::1]:10040 */
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
        snprintf(err, errlen, "policy_listen %s: %s", spec, gai_strerror(rc));
        return -1;
    }
    snprintf(err, errlen, "policy_listen %s: no usable address", spec);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, POLICY_BACKLOG) == 0)
            break;
        snprintf(err, errlen, "policy_listen %s: bind/listen: %s", spec, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

/* ---- one connection ----------------------------------------------------------- */

static void
policy_conn_end(policy_conn_t *conn)
{
    pthread_mutex_lock(&policy_srv.lock);
    if (conn->prev)
        conn->prev->next = conn->next;
    else
        policy_srv.conns = conn->next;
    if (conn->next)
        conn->next->prev = conn->prev;
    policy_srv.active--;
    pthread_cond_broadcast(&policy_srv.gone);
    pthread_mutex_unlock(&policy_srv.lock);
    close(conn->fd);
    free(conn);
}

/* Sends the whole answer within the write timeout (SO_SNDTIMEO). */
static int
policy_write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Answers one framed request.  0, or -1 to close the connection. */
static int
policy_serve_one(policy_conn_t *conn, const char *buf, size_t len, policy_request_t *req, policy_txn_t *txn)
{
    char err[256], answer[700];
    decision_t decision;
    runtime_t *rt;
    size_t n;

    if (policy_parse(buf, len, req, err, sizeof(err)) != 0) {
        log_warn("policy: client=%s malformed request: %s; closing without an answer", conn->peer, err);
        return -1;
    }
    if ((rt = runtime_acquire()) == NULL) {
        log_error("policy: client=%s no configuration loaded; closing without an answer", conn->peer);
        return -1;
    }
    policy_check(rt, req, txn, &decision);
    runtime_release(rt);
    static const char *const stage_names[] = { [POLICY_STATE_OTHER] = "other", [POLICY_STATE_MAIL] = "mail",
                                               [POLICY_STATE_RCPT] = "rcpt", [POLICY_STATE_END_OF_MESSAGE] = "eom" };
    policyd_metrics_policy_decision(stage_names[policy_state(req)], &decision);
    if ((n = policy_format_reply(&decision, answer, sizeof(answer))) == 0) {
        log_error("policy: client=%s answer too long; closing without an answer", conn->peer);
        return -1;
    }
    if (policy_write_all(conn->fd, answer, n) != 0) {
        log_warn("policy: client=%s cannot send the answer: %s", conn->peer, strerror(errno));
        return -1;
    }
    pthread_mutex_lock(&policy_srv.lock);
    policy_srv.requests++;
    pthread_mutex_unlock(&policy_srv.lock);
    return 0;
}

static void *
policy_conn_main(void *arg)
{
    policy_conn_t *conn = arg;
    char *buf = malloc(POLICY_REQUEST_MAX);
    policy_request_t *req = malloc(sizeof(*req));
    policy_txn_t txn;
    policy_framer_t framer;
    size_t len = 0;
    long long deadline = 0;    /* for the request being read; 0: none yet */
    char err[256];

    memset(&txn, 0, sizeof(txn));
    memset(&framer, 0, sizeof(framer));
    if (buf == NULL || req == NULL) {
        log_error("policy: client=%s out of memory; closing", conn->peer);
        goto done;
    }
    for (;;) {
        ssize_t framed = policy_frame(&framer, buf, len, err, sizeof(err));
        if (framed < 0) {
            log_warn("policy: client=%s malformed request: %s; closing without an answer", conn->peer, err);
            break;
        }
        if (framed > 0) {
            if (policy_serve_one(conn, buf, (size_t)framed, req, &txn) != 0)
                break;
            len -= (size_t)framed;
            memmove(buf, buf + framed, len);
            memset(&framer, 0, sizeof(framer));
            deadline = len > 0 ? clock_ms() + POLICY_REQUEST_TIMEOUT_MS : 0;
            continue;
        }
        long long wait_ms = POLICY_IDLE_TIMEOUT_MS;
        if (deadline) {
            wait_ms = deadline - clock_ms();
            if (wait_ms <= 0) {
                log_warn("policy: client=%s sent %zu bytes of a request, then nothing for %d s; closing",
                         conn->peer, len, POLICY_REQUEST_TIMEOUT_MS / 1000);
                break;
            }
        }
        struct pollfd pfd = { .fd = conn->fd, .events = POLLIN };
        int ready = poll(&pfd, 1, (int)wait_ms);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0) {
            log_warn("policy: client=%s poll: %s; closing", conn->peer, strerror(errno));
            break;
        }
        if (ready == 0) {
            if (deadline)
                continue; /* reported above on the next turn */
            log_debug("policy: client=%s idle for %d s; closing", conn->peer, POLICY_IDLE_TIMEOUT_MS / 1000);
            break;
        }
        ssize_t got = recv(conn->fd, buf + len, POLICY_REQUEST_MAX - len, 0);
        if (got < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (got <= 0) {
            if (len > 0)
                log_warn("policy: client=%s closed the connection in the middle of a request (%zu bytes)",
                         conn->peer, len);
            else
                log_debug("policy: client=%s disconnected", conn->peer);
            break;
        }
        if (len == 0)
            deadline = clock_ms() + POLICY_REQUEST_TIMEOUT_MS;
        len += (size_t)got;
    }
done:
    policy_txn_clear(&txn);
    free(req);
    free(buf);
    policy_conn_end(conn);
    return NULL;
}

/* ---- accepting ------------------------------------------------------------------- */

static void
policy_peer_text(const struct sockaddr_storage *ss, char *out, size_t outlen)
{
    char addr[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &in->sin_addr, addr, sizeof(addr));
        snprintf(out, outlen, "%s:%u", addr, ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr));
        snprintf(out, outlen, "[%s]:%u", addr, ntohs(in6->sin6_port));
    } else {
        snprintf(out, outlen, "unix");
    }
}

/* Starts the thread of an accepted connection, or closes it. */
static void
policy_accepted(int fd, const struct sockaddr_storage *ss, pthread_attr_t *attr, long long *last_refusal_log)
{
    policy_conn_t *conn;
    pthread_t tid;
    struct timeval wt = { .tv_sec = POLICY_WRITE_TIMEOUT_MS / 1000, .tv_usec = 0 };
    int one = 1;

    pthread_mutex_lock(&policy_srv.lock);
    if (policy_srv.stopping || policy_srv.active >= POLICY_MAX_CONNECTIONS) {
        int full = !policy_srv.stopping;
        policy_srv.refused += (unsigned long long)full;
        unsigned long long refused = policy_srv.refused;
        pthread_mutex_unlock(&policy_srv.lock);
        close(fd);
        if (full && clock_ms() - *last_refusal_log >= 1000) {
            *last_refusal_log = clock_ms();
            log_warn("policy: %d connections open, closing new ones (%llu so far); lower Postfix's "
                     "smtpd_policy_service_max_idle or run another postinbox-policyd", POLICY_MAX_CONNECTIONS,
                     refused);
        }
        return;
    }
    pthread_mutex_unlock(&policy_srv.lock);

    /* A TCP peer must be in policy_allow_networks (read at each accept,
     * so a SIGHUP applies): anyone else who can reach the port could
     * otherwise charge any inbox's caps.  It gets no answer at all. */
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        runtime_t *rt = runtime_acquire();
        int allowed = rt && cidr_list_match_sockaddr(rt->cfg->policy_allow_networks, (const struct sockaddr *)ss);
        runtime_release(rt);
        if (!allowed) {
            char peer[64];
            policy_peer_text(ss, peer, sizeof(peer));
            close(fd);
            pthread_mutex_lock(&policy_srv.lock);
            policy_srv.refused++;
            pthread_mutex_unlock(&policy_srv.lock);
            log_warn("policy: client=%s not in policy_allow_networks; closed without an answer", peer);
            return;
        }
    }

    if ((conn = calloc(1, sizeof(*conn))) == NULL) {
        close(fd);
        return;
    }
    conn->fd = fd;
    policy_peer_text(ss, conn->peer, sizeof(conn->peer));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wt, sizeof(wt));
    if (ss->ss_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    pthread_mutex_lock(&policy_srv.lock);
    conn->next = policy_srv.conns;
    if (conn->next)
        conn->next->prev = conn;
    policy_srv.conns = conn;
    policy_srv.active++;
    policy_srv.connections++;
    pthread_mutex_unlock(&policy_srv.lock);
    if (pthread_create(&tid, attr, policy_conn_main, conn) != 0) {
        log_error("policy: client=%s cannot start a thread: %s; closing", conn->peer, strerror(errno));
        policy_conn_end(conn);
        return;
    }
    log_debug("policy: client=%s connected", conn->peer);
}

static void *
policy_acceptor_main(void *arg)
{
    pthread_attr_t attr;
    long long last_refusal_log = 0;
    (void)arg;

    policy_block_signals();
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, POLICY_THREAD_STACK);
    for (;;) {
        struct pollfd pfd[2] = { { .fd = policy_srv.listen_fd, .events = POLLIN },
                                 { .fd = policy_srv.wake[0], .events = POLLIN } };
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_error("policy: poll: %s", strerror(errno));
            break;
        }
        if (pfd[1].revents)
            break;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        memset(&ss, 0, sizeof(ss));
        int fd = accept4(policy_srv.listen_fd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                log_error("policy: accept: %s", strerror(errno));
                poll(NULL, 0, 100); /* let connections close before trying again */
            }
            continue;
        }
        policy_accepted(fd, &ss, &attr, &last_refusal_log);
    }
    pthread_attr_destroy(&attr);
    return NULL;
}

/* ---- start and stop -------------------------------------------------------------- */

int
policy_server_start(const char *listen, const char *socket_group, char *err, size_t errlen)
{
    int fd;

    pthread_mutex_lock(&policy_srv.lock);
    if (policy_srv.running) {
        pthread_mutex_unlock(&policy_srv.lock);
        snprintf(err, errlen, "policy service already running");
        return -1;
    }
    pthread_mutex_unlock(&policy_srv.lock);

    policy_srv.unix_path[0] = '\0';
    fd = strncmp(listen, "unix:", 5) == 0 ? policy_listen_unix(listen + 5, socket_group, err, errlen)
                                           : policy_listen_inet(listen, err, errlen);
    if (fd < 0)
        return -1;
    if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0 || pipe2(policy_srv.wake, O_CLOEXEC) != 0) {
        snprintf(err, errlen, "policy_listen %s: %s", listen, strerror(errno));
        close(fd);
        return -1;
    }
    policy_srv.listen_fd = fd;
    snprintf(policy_srv.listen_spec, sizeof(policy_srv.listen_spec), "%s", listen);
    policy_srv.stopping = 0;
    policy_srv.connections = policy_srv.requests = policy_srv.refused = 0;
    if (pthread_create(&policy_srv.acceptor, NULL, policy_acceptor_main, NULL) != 0) {
        snprintf(err, errlen, "policy service: cannot start a thread: %s", strerror(errno));
        close(fd);
        close(policy_srv.wake[0]);
        close(policy_srv.wake[1]);
        policy_srv.listen_fd = -1;
        return -1;
    }
    pthread_mutex_lock(&policy_srv.lock);
    policy_srv.running = 1;
    pthread_mutex_unlock(&policy_srv.lock);
    log_info("policy: listening on %s (at most %d connections; requests up to %d bytes within %d s; "
             "idle connections closed after %d s)", listen, POLICY_MAX_CONNECTIONS, POLICY_REQUEST_MAX,
             POLICY_REQUEST_TIMEOUT_MS / 1000, POLICY_IDLE_TIMEOUT_MS / 1000);
    return 0;
}

void
policy_server_stop(void)
{
    struct timespec until;
    size_t left;

    pthread_mutex_lock(&policy_srv.lock);
    if (!policy_srv.running || policy_srv.stopping) {
        pthread_mutex_unlock(&policy_srv.lock);
        return;
    }
    policy_srv.stopping = 1;
    pthread_mutex_unlock(&policy_srv.lock);

    if (write(policy_srv.wake[1], "x", 1) != 1)
        log_warn("policy: cannot wake the acceptor: %s", strerror(errno));
    pthread_join(policy_srv.acceptor, NULL);
    close(policy_srv.listen_fd);
    policy_srv.listen_fd = -1;
    if (policy_srv.unix_path[0])
        unlink(policy_srv.unix_path);

    /* No new requests: each connection ends after the one it is
     * answering, if any. */
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += POLICY_STOP_GRACE_MS / 1000;
    pthread_mutex_lock(&policy_srv.lock);
    for (policy_conn_t *c = policy_srv.conns; c != NULL; c = c->next)
        shutdown(c->fd, SHUT_RD);
    while (policy_srv.active > 0)
        if (pthread_cond_timedwait(&policy_srv.gone, &policy_srv.lock, &until) == ETIMEDOUT)
            break;
    left = policy_srv.active;
    policy_srv.running = 0;
    pthread_mutex_unlock(&policy_srv.lock);
    close(policy_srv.wake[0]);
    close(policy_srv.wake[1]);
    if (left)
        log_warn("policy: %zu connections still busy after %d s; leaving them", left, POLICY_STOP_GRACE_MS / 1000);
    log_info("policy: stopped listening on %s after %llu requests on %llu connections (%llu refused)",
             policy_srv.listen_spec, policy_srv.requests, policy_srv.connections, policy_srv.refused);
}
