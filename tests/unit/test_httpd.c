/*
 * test_httpd.c -- lib/net/httpd against a plain socket client: what the
 * handler sees of a request (method, path, query, headers, body with
 * NULs), what arrives of its response (status, headers, body), the body
 * limit (413 without calling the handler, by Content-Length or chunked),
 * bodies without a single end (400/501 before the handler), the
 * whole-request deadline and the per-address connection limit, bad
 * listen addresses, a port in use, and a clean stop.
 */
#define _GNU_SOURCE /* strcasestr, memmem */
#include "unit.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "http_client.h"
#include "httpd.h"

#define MAX_BODY 16

/* What the handler saw of the last request. */
static struct {
    pthread_mutex_t lock;
    int calls;
    char method[16], path[128], query_q[64], query_none[8], header[64], peer[64];
    char body[64];
    size_t body_len;
} seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
handler(void *ctx, const httpd_request_t *req, httpd_response_t *resp)
{
    (void)ctx;
    pthread_mutex_lock(&seen.lock);
    seen.calls++;
    snprintf(seen.method, sizeof(seen.method), "%s", req->method);
    snprintf(seen.path, sizeof(seen.path), "%s", req->path);
    snprintf(seen.query_q, sizeof(seen.query_q), "%s", httpd_query(req, "q") ?: "(null)");
    snprintf(seen.query_none, sizeof(seen.query_none), "%s", httpd_query(req, "none") ?: "(null)");
    snprintf(seen.header, sizeof(seen.header), "%s", httpd_header(req, "x-test") ?: "(null)");
    snprintf(seen.peer, sizeof(seen.peer), "%s", req->peer);
    seen.body_len = req->body_len < sizeof(seen.body) ? req->body_len : sizeof(seen.body);
    memcpy(seen.body, req->body, seen.body_len);
    pthread_mutex_unlock(&seen.lock);

    if (strcmp(req->path, "/empty") == 0)
        return; /* nothing filled in: the server answers 500 */
    if (strcmp(req->path, "/sleep") == 0)
        usleep(800 * 1000); /* the handler's time, longer than test_deadline's deadline */
    if (strcmp(req->path, "/json") == 0) {
        httpd_respond_json(resp, 200, json_pack("{s:i}", "n", 1));
        return;
    }
    httpd_add_header(resp, "X-Reply", "%s-%d", "yes", 7);
    httpd_respond(resp, 201, "text/plain", "hello\0world", 11);
}

static httpd_t *server;
static int port;

static const httpd_options_t opts = { .name = "test", .max_body = MAX_BODY, .threads = 2, .idle_timeout_s = 5 };
static const httpd_options_t opts_small = { .name = "test", .max_body = 16, .threads = 1, .idle_timeout_s = 5 };

static int
setup(void **state)
{
    char listen[64], err[256];
    (void)state;
    for (int tries = 0; server == NULL && tries < 20; tries++) {
        port = http_free_port();
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
        server = httpd_start(listen, &opts, handler, NULL, err, sizeof(err));
    }
    return server ? 0 : -1;
}

static int
teardown(void **state)
{
    (void)state;
    httpd_stop(server);
    server = NULL;
    return 0;
}

typedef struct {
    const char *name;
    const char *request;
    size_t request_len;       /* 0: strlen */
    int status;
    int handler_called;
    const char *method, *path, *query_q, *header;
    const char *body;
    size_t body_len;
    const char *response_header;   /* must appear in the answer's head */
    const char *response_body;
    size_t response_body_len;
} request_row_t;

#define REQ(s) s, sizeof(s) - 1

static const request_row_t request_rows[] = {
    { "GET: method, path, query and header reach the handler; status, header and body come back",
      REQ("GET /v1/things?q=a%20b&x=1 HTTP/1.1\r\nHost: t\r\nX-Test: value 1\r\nConnection: close\r\n\r\n"),
      201, 1, "GET", "/v1/things", "a b", "value 1", "", 0, "\r\nX-Reply: yes-7", "hello\0world", 11 },
    { "header names are case-insensitive; absent query and header are NULL",
      REQ("GET / HTTP/1.1\r\nHost: t\r\nx-TEST: v\r\nConnection: close\r\n\r\n"),
      201, 1, "GET", "/", "(null)", "v", "", 0, "\r\nContent-Type: text/plain", "hello\0world", 11 },
    { "POST body with a NUL byte arrives whole",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 7\r\nConnection: close\r\n\r\nabc\0def"),
      201, 1, "POST", "/p", "(null)", "(null)", "abc\0def", 7, NULL, "hello\0world", 11 },
    { "a body of exactly max_body bytes is accepted",
      REQ("PUT /p HTTP/1.1\r\nHost: t\r\nContent-Length: 16\r\nConnection: close\r\n\r\n0123456789abcdef"),
      201, 1, "PUT", "/p", "(null)", "(null)", "0123456789abcdef", 16, NULL, "hello\0world", 11 },
    { "a chunked body arrives whole",
      REQ("POST /c HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
      201, 1, "POST", "/c", "(null)", "(null)", "abcde", 5, NULL, "hello\0world", 11 },
    { "Content-Length over max_body: 413, handler not called",
      REQ("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\nConnection: close\r\n\r\n0123456789abcdefg"),
      413, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nContent-Type: application/json", NULL, 0 },
    { "announced 1 MB body: 413 at once, handler not called",
      REQ("POST /big HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\nConnection: close\r\n\r\nxxxx"),
      413, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 },
    { "chunked body growing over max_body: 413, handler not called",
      REQ("POST /big HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
          "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n"),
      413, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 },
    /* Framing (lib/net/http_framing): refused at the headers, never "the first wins". */
    { "two equal Content-Length: 400, handler not called",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close",
      REQ("{\"error\":{\"code\":\"bad_request\",\"message\":\"more than one Content-Length header\"}}") },
    { "conflicting Content-Length (a second request hidden in the body): 400, nothing served",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n"
          "GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close",
      REQ("{\"error\":{\"code\":\"bad_request\",\"message\":\"more than one Content-Length header\"}}") },
    { "Content-Length with Transfer-Encoding: 400",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabc\r\n0\r\n\r\n"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close",
      REQ("{\"error\":{\"code\":\"bad_request\",\"message\":\"both Content-Length and Transfer-Encoding: "
          "the body's end is ambiguous\"}}") },
    { "Transfer-Encoding before Content-Length: 400 too",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"
          "3\r\nabc\r\n0\r\n\r\n"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close", NULL, 0 },
    { "two Transfer-Encoding: 400",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
          "3\r\nabc\r\n0\r\n\r\n"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close", NULL, 0 },
    { "a space before the colon (\"Content-Length : 5\"): 400",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nhello"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close", NULL, 0 },
    { "Transfer-Encoding on HTTP/1.0: 400",
      REQ("POST /p HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close", NULL, 0 },
    { "Transfer-Encoding gzip: 501",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nabc"),
      501, 0, NULL, NULL, NULL, NULL, NULL, 0, "\r\nConnection: close",
      REQ("{\"error\":{\"code\":\"not_implemented\",\"message\":\"Transfer-Encoding other than chunked is not "
          "supported\"}}") },
    { "a malformed Content-Length: libmicrohttpd's own 400",
      REQ("POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nhello"),
      400, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 },
    { "a handler that fills nothing gives 500",
      REQ("GET /empty HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
      500, 1, "GET", "/empty", "(null)", "(null)", "", 0, NULL, "", 0 },
    { "httpd_respond_json: application/json, compact",
      REQ("GET /json HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"),
      200, 1, "GET", "/json", "(null)", "(null)", "", 0, "\r\nContent-Type: application/json", "{\"n\":1}", 7 },
};

static void
test_request(void **state)
{
    const request_row_t *row = *state;
    http_response_t r;
    int calls_before;

    pthread_mutex_lock(&seen.lock);
    calls_before = seen.calls;
    pthread_mutex_unlock(&seen.lock);
    assert_int_equal(http_exchange(port, row->request, row->request_len, &r), 0);
    assert_int_equal(r.status, row->status);
    if (row->response_header)
        assert_non_null(strcasestr(r.head, row->response_header));
    if (row->status == 413)
        assert_non_null(strstr(r.body, "payload_too_large"));
    if (row->response_body) {
        assert_int_equal(r.body_len, row->response_body_len);
        assert_memory_equal(r.body, row->response_body, row->response_body_len);
    }
    free(r.body);

    pthread_mutex_lock(&seen.lock);
    assert_int_equal(seen.calls - calls_before, row->handler_called);
    if (row->handler_called) {
        assert_string_equal(seen.method, row->method);
        assert_string_equal(seen.path, row->path);
        assert_string_equal(seen.query_q, row->query_q);
        assert_string_equal(seen.query_none, "(null)");
        assert_string_equal(seen.header, row->header);
        assert_string_equal(seen.peer, "127.0.0.1");
        assert_int_equal(seen.body_len, row->body_len);
        assert_memory_equal(seen.body, row->body, row->body_len);
    }
    pthread_mutex_unlock(&seen.lock);
}

/* Two requests on one kept-alive connection both get their answer. */
static void
test_keep_alive(void **state)
{
    (void)state;
    static const char two[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n"
                              "GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_response_t r;
    assert_int_equal(http_exchange(port, two, sizeof(two) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    assert_non_null(memmem(r.body, r.body_len, "HTTP/1.1 201", 12)); /* the second answer follows the first */
    free(r.body);
}

typedef struct {
    const char *name;
    const char *listen;
    const char *error_part;
} listen_row_t;

static const listen_row_t listen_rows[] = {
    { "no port", "127.0.0.1", "want host:port" },
    { "empty port", "127.0.0.1:", "want host:port" },
    { "no host", ":8080", "want host:port" },
    { "a name, not a numeric address", "localhost:8080", "not a numeric address" },
    { "port out of range", "127.0.0.1:70000", "not a numeric address" },
    { "unclosed IPv6 bracket", "[::1:8080", "not a numeric address" },
};

static void
test_bad_listen(void **state)
{
    const listen_row_t *row = *state;
    char err[256] = "";
    httpd_t *h = httpd_start(row->listen, &opts_small, handler, NULL, err, sizeof(err));
    assert_null(h);
    assert_non_null(strstr(err, row->error_part));
}

static void
test_port_in_use(void **state)
{
    (void)state;
    char listen[64], err[256] = "";
    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    assert_null(httpd_start(listen, &opts_small, handler, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot listen"));
}

/* Stop with an idle kept-alive connection open: it returns, the port is
 * closed, and the same port can be served again at once. */
static void
test_clean_stop(void **state)
{
    (void)state;
    char listen[64], err[256];
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int idle = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_equal(connect(idle, (struct sockaddr *)&a, sizeof(a)), 0);
    static const char half[] = "GET /x HTTP/1.1\r\nHost: t\r\n"; /* headers never finished */
    assert_int_equal(send(idle, half, sizeof(half) - 1, 0), (ssize_t)(sizeof(half) - 1));

    httpd_stop(server);
    server = NULL;
    int probe = socket(AF_INET, SOCK_STREAM, 0);
    assert_int_not_equal(connect(probe, (struct sockaddr *)&a, sizeof(a)), 0);
    close(probe);
    close(idle);

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
    server = httpd_start(listen, &opts, handler, NULL, err, sizeof(err));
    assert_non_null(server);
    http_response_t r;
    static const char get[] = "GET /again HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    assert_int_equal(http_exchange(port, get, sizeof(get) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    free(r.body);
    httpd_stop(NULL); /* a no-op */
}

static long long
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
connect_to(int to_port)
{
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)to_port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Bytes the server sent before closing fd (waits at most wait_ms), or -1
 * if it is still open then. */
static ssize_t
closed_within(int fd, int wait_ms)
{
    char buf[512];
    ssize_t total = 0;
    long long until = now_ms() + wait_ms;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        long long left = until - now_ms();
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0)
            return total;
        total += n;
    }
}

static httpd_t *
start_with(const httpd_limits_t *limits, int *out_port)
{
    httpd_options_t o = opts;
    char listen[64], err[256];
    httpd_t *h = NULL;
    o.limits = *limits;
    for (int tries = 0; h == NULL && tries < 20; tries++) {
        *out_port = http_free_port();
        snprintf(listen, sizeof(listen), "127.0.0.1:%d", *out_port);
        h = httpd_start(listen, &o, handler, NULL, err, sizeof(err));
    }
    assert_non_null(h);
    return h;
}

/* A 300 ms whole-request deadline: a client trickling its headers (one
 * line every 100 ms, each resetting the 5 s idle timeout) is cut off
 * unanswered within a tick of it; a handler slower than the deadline is
 * not (its time is not the client's), nor a kept-alive connection idle
 * longer than the deadline between two requests. */
static void
test_deadline(void **state)
{
    (void)state;
    httpd_limits_t limits = { .request_timeout_ms = 300 };
    int p;
    httpd_t *h = start_with(&limits, &p);

    int fd = connect_to(p);
    long long start = now_ms(), cut = 0;
    assert_true(send(fd, "GET /t HTTP/1.1\r\n", 17, MSG_NOSIGNAL) == 17);
    for (int i = 0; i < 50 && cut == 0; i++) {
        if (closed_within(fd, 100) == 0)
            cut = now_ms();
        else if (send(fd, "X-Slow: y\r\n", 11, MSG_NOSIGNAL) != 11)
            cut = now_ms();
    }
    close(fd);
    assert_true(cut != 0);
    assert_true(cut - start >= 250);
    assert_true(cut - start < 1500);

    static const char slow[] = "GET /sleep HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_response_t r;
    assert_int_equal(http_exchange(p, slow, sizeof(slow) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    free(r.body);

    fd = connect_to(p);
    static const char first[] = "GET /a HTTP/1.1\r\nHost: t\r\n\r\n";
    static const char second[] = "GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    char buf[4096];
    assert_true(send(fd, first, sizeof(first) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(first) - 1));
    assert_true(recv(fd, buf, sizeof(buf), 0) > 12);
    usleep(600 * 1000);
    assert_true(send(fd, second, sizeof(second) - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof(second) - 1));
    ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 12);
    assert_memory_equal(buf, "HTTP/1.1 201", 12);
    close(fd);
    httpd_stop(h);
}

/* Two connections per address: the third is closed unanswered; once one
 * of the two has gone, a new one is served. */
static void
test_per_ip_limit(void **state)
{
    (void)state;
    httpd_limits_t limits = { .max_connections_per_ip = 2 };
    int p;
    httpd_t *h = start_with(&limits, &p);
    int a = connect_to(p), b = connect_to(p);
    assert_true(send(a, "GET /a HTTP/1.1\r\n", 17, MSG_NOSIGNAL) == 17);
    assert_true(send(b, "GET /b HTTP/1.1\r\n", 17, MSG_NOSIGNAL) == 17);
    usleep(200 * 1000);
    int c = connect_to(p);
    send(c, "GET /c HTTP/1.1\r\nHost: t\r\n\r\n", 29, MSG_NOSIGNAL);
    assert_int_equal(closed_within(c, 2000), 0);
    close(c);
    close(a);
    usleep(300 * 1000);
    static const char get[] = "GET /d HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    http_response_t r;
    assert_int_equal(http_exchange(p, get, sizeof(get) - 1, &r), 0);
    assert_int_equal(r.status, 201);
    free(r.body);
    close(b);
    httpd_stop(h);
}

int
main(void)
{
    unit_suite_t suite = { 0 };
    unit_add_rows(&suite, test_request, request_rows, sizeof(request_rows[0]), UNIT_ROWS(request_rows));
    unit_add(&suite, "two requests on one kept-alive connection", test_keep_alive, NULL);
    unit_add_rows(&suite, test_bad_listen, listen_rows, sizeof(listen_rows[0]), UNIT_ROWS(listen_rows));
    unit_add(&suite, "a port in use is an error at start", test_port_in_use, NULL);
    unit_add(&suite, "stop with an idle connection open is clean; the port is free again", test_clean_stop, NULL);
    unit_add(&suite, "a trickled request is cut off at its deadline; a slow handler and an idle keep-alive are not",
             test_deadline, NULL);
    unit_add(&suite, "over the per-address limit: closed unanswered; served again once one has gone",
             test_per_ip_limit, NULL);
    return unit_run("httpd", &suite, setup, teardown);
}
