/*
 * test_smtp_client.c -- the SMTP client against a tiny scripted server on
 * a loopback socket, for what a real Postfix will not do on demand:
 * garbage, a server that closes or never answers, multi-line replies,
 * refusals at every stage, RSET after a refused recipient, dot-stuffing.
 * (The real path through Postfix and the milter is t_send.sh.)
 */
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "smtp_client.h"

/* Script steps: "S:text" sends text; "R" reads one command line; "D"
 * reads the message up to CRLF.CRLF; "C" closes.  After the last step the
 * server reads (logging) until the client closes. */
#define STEPS 16

typedef struct {
    const char *name;
    const char *script[STEPS];
    const char *rcpts[3];
    const char *data;
    int timeout_ms;
    smtp_status_t status;
    smtp_stage_t stage;
    int code;
    const char *xcode;
    const char *text;         /* expected reply text (NULL: not checked) */
    const char *log_has;      /* commands the server must have seen, e.g. "RSET" */
    const char *log_lacks;    /* and must not have seen */
    long rcpt_index;
    const char *login;        /* AUTH PLAIN as this login, password "s3cret pw" */
} smtp_row_t;

#define GREET "S:220 fake.test ESMTP\r\n"
#define EHLO_OK "R", "S:250-fake.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n"
#define OK "R", "S:250 2.1.0 Ok\r\n"
#define EHLO_AUTH "R", "S:250-fake.test\r\n250-PIPELINING\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n"

static const smtp_row_t rows[] = {
    { "queued: multi-line EHLO, two recipients, dot-stuffing, queue id",
      { GREET, EHLO_OK, OK, OK, OK, "R", "S:354 End data with <CR><LF>.<CR><LF>\r\n", "D",
        "S:250 2.0.0 Ok: queued as 4Bx9Qz1kHrz\r\n", "R", "S:221 2.0.0 Bye\r\n" },
      { "a@remote.test", "b@remote.test" }, "Subject: x\n\n.leading dot\nline\n.\nend", 2000, SMTP_QUEUED,
      SMTP_STAGE_MESSAGE, 250, "2.0.0", "Ok: queued as 4Bx9Qz1kHrz",
      "EHLO helo.test|MAIL FROM:<bob@sandbox.test>|RCPT TO:<a@remote.test>|RCPT TO:<b@remote.test>|DATA|"
      "Subject: x\r\n\r\n..leading dot\r\nline\r\n..\r\nend\r\n.\r\n|QUIT",
      "RSET", -1, NULL },
    { "greeting 554", { "S:554 5.3.2 go away\r\n" }, { "a@remote.test" }, "x", 2000, SMTP_REFUSED,
      SMTP_STAGE_GREETING, 554, "5.3.2", "go away", "QUIT", "MAIL", -1, NULL },
    { "garbage greeting", { "S:hello there\r\n" }, { "a@remote.test" }, "x", 2000, SMTP_TRANSPORT,
      SMTP_STAGE_GREETING, 0, "", NULL, NULL, "EHLO", -1, NULL },
    { "binary garbage reply to MAIL", { GREET, EHLO_OK, "R", "S:\x01\xff\xfe junk\r\n" }, { "a@remote.test" }, "x",
      2000, SMTP_TRANSPORT, SMTP_STAGE_MAIL, 0, "", NULL, NULL, "RCPT", -1, NULL },
    { "server closes after the greeting", { GREET, "C" }, { "a@remote.test" }, "x", 2000, SMTP_TRANSPORT,
      SMTP_STAGE_EHLO, 0, "", NULL, NULL, NULL, -1, NULL },
    { "server never greets: deadline", { "R" }, { "a@remote.test" }, "x", 300, SMTP_TRANSPORT, SMTP_STAGE_GREETING,
      0, "", NULL, NULL, NULL, -1, NULL },
    { "server never answers the message: deadline, stage message",
      { GREET, EHLO_OK, OK, OK, "R", "S:354 go\r\n", "D", "R" }, { "a@remote.test" }, "x", 500, SMTP_TRANSPORT,
      SMTP_STAGE_MESSAGE, 0, "", NULL, NULL, NULL, -1, NULL },
    { "multi-line 451 4.7.1 at RCPT: joined, RSET sent",
      { GREET, EHLO_OK, OK, "R", "S:451-4.7.1 inbox bob sent too many\r\n451 4.7.1 retry in 42 s\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_REFUSED, SMTP_STAGE_RCPT, 451, "4.7.1",
      "inbox bob sent too many retry in 42 s", "RSET|QUIT", "DATA", 0, NULL },
    { "second recipient refused: all or nothing",
      { GREET, EHLO_OK, OK, OK, "R", "S:550 5.1.1 recipient <b@remote.test> is on the suppression list\r\n" },
      { "a@remote.test", "b@remote.test", "c@remote.test" }, "x", 2000, SMTP_REFUSED, SMTP_STAGE_RCPT, 550, "5.1.1",
      "recipient <b@remote.test> is on the suppression list", "RSET|QUIT", "c@remote.test", 1, NULL },
    { "MAIL refused 550 5.7.1", { GREET, EHLO_OK, "R", "S:550 5.7.1 sending inbox bob is suspended\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_REFUSED, SMTP_STAGE_MAIL, 550, "5.7.1", "sending inbox bob is suspended",
      "QUIT", "RCPT", -1, NULL },
    { "DATA refused", { GREET, EHLO_OK, OK, OK, "R", "S:554 5.5.1 no valid recipients\r\n" }, { "a@remote.test" },
      "x", 2000, SMTP_REFUSED, SMTP_STAGE_DATA, 554, "5.5.1", "no valid recipients", "RSET", NULL, -1, NULL },
    { "message refused after the dot", { GREET, EHLO_OK, OK, OK, "R", "S:354 go\r\n", "D",
                                         "S:550 5.7.1 rejected by header_checks\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_REFUSED, SMTP_STAGE_MESSAGE, 550, "5.7.1", "rejected by header_checks",
      "QUIT", NULL, -1, NULL },
    { "multi-line reply changing its code", { GREET, "R", "S:250-fake\r\n251 other\r\n" }, { "a@remote.test" }, "x",
      2000, SMTP_TRANSPORT, SMTP_STAGE_EHLO, 0, "", NULL, NULL, NULL, -1, NULL },
    { "EHLO refused: HELO instead", { GREET, "R", "S:502 5.5.2 no EHLO\r\n", "R", "S:250 fake\r\n", OK, OK, "R",
                                      "S:354 go\r\n", "D", "S:250 2.0.0 Ok: queued as ABC\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_QUEUED, SMTP_STAGE_MESSAGE, 250, "2.0.0", "Ok: queued as ABC",
      "EHLO helo.test|HELO helo.test", NULL, -1, NULL },
    { "reply without enhanced code, bare code", { GREET, EHLO_OK, "R", "S:451\r\n" }, { "a@remote.test" }, "x", 2000,
      SMTP_REFUSED, SMTP_STAGE_MAIL, 451, "", "", NULL, NULL, -1, NULL },
    { "AUTH PLAIN offered: login and password sent, then the transaction",
      { GREET, EHLO_AUTH, "R", "S:235 2.7.0 Authentication successful\r\n", OK, OK, "R", "S:354 go\r\n", "D",
        "S:250 2.0.0 Ok: queued as AUTH1\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_QUEUED, SMTP_STAGE_MESSAGE, 250, "2.0.0", "Ok: queued as AUTH1",
      "EHLO helo.test|AUTH PLAIN AGFwaUBleGFtcGxlLnRlc3QAczNjcmV0IHB3|MAIL FROM:<bob@sandbox.test>", NULL, -1, "api@example.test" },
    { "AUTH wanted, server offers none: refused at AUTH, no MAIL", { GREET, EHLO_OK }, { "a@remote.test" }, "x", 2000,
      SMTP_REFUSED, SMTP_STAGE_AUTH, 0, "", NULL, "QUIT", "MAIL", -1, "api@example.test" },
    { "AUTH wanted, only LOGIN offered: refused at AUTH",
      { GREET, "R", "S:250-fake.test\r\n250 AUTH LOGIN\r\n" }, { "a@remote.test" }, "x", 2000, SMTP_REFUSED,
      SMTP_STAGE_AUTH, 0, "", NULL, "QUIT", "AUTH", -1, "api@example.test" },
    { "AUTH refused 535 5.7.8: no MAIL",
      { GREET, EHLO_AUTH, "R", "S:535 5.7.8 Error: authentication failed: authentication failure\r\n" },
      { "a@remote.test" }, "x", 2000, SMTP_REFUSED, SMTP_STAGE_AUTH, 535, "5.7.8",
      "Error: authentication failed: authentication failure", "AUTH PLAIN|QUIT", "MAIL", -1, "api@example.test" },
    { "no login: AUTH offered but not used", { GREET, EHLO_AUTH, "R", "S:550 5.7.1 no\r\n" }, { "a@remote.test" },
      "x", 2000, SMTP_REFUSED, SMTP_STAGE_MAIL, 550, "5.7.1", "no", "EHLO helo.test|MAIL", "AUTH", -1, NULL },
    { "endless reply line", { GREET, "R", "S:250-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" },
      { "a@remote.test" }, "x", 500, SMTP_TRANSPORT, SMTP_STAGE_EHLO, 0, "", NULL, NULL, NULL, -1, NULL },
};

typedef struct {
    int listen_fd;
    const smtp_row_t *row;
    char log[8192];
} server_t;

static void
server_log(server_t *s, const char *text, size_t len)
{
    size_t pos = strlen(s->log);
    if (pos > 0 && pos + 1 < sizeof(s->log))
        s->log[pos++] = '|';
    if (len > sizeof(s->log) - pos - 1)
        len = sizeof(s->log) - pos - 1;
    memcpy(s->log + pos, text, len);
    s->log[pos + len] = '\0';
}

/* Reads up to and including the terminator; 0, or -1 at EOF. */
static int
server_read_until(int fd, const char *term, char *buf, size_t buflen, size_t *len)
{
    size_t tl = strlen(term);
    *len = 0;
    while (*len + 1 < buflen) {
        ssize_t n = read(fd, buf + *len, 1);
        if (n <= 0)
            return -1;
        (*len)++;
        if (*len >= tl && memcmp(buf + *len - tl, term, tl) == 0)
            return 0;
    }
    return 0;
}

static void *
server_run(void *arg)
{
    server_t *s = arg;
    static char buf[65536];
    size_t len;
    int fd = accept(s->listen_fd, NULL, NULL);
    int closed = 0;
    if (fd < 0)
        return NULL;
    for (int i = 0; i < STEPS && s->row->script[i] && !closed; i++) {
        const char *step = s->row->script[i];
        if (step[0] == 'S') {
            (void)!write(fd, step + 2, strlen(step + 2));
        } else if (step[0] == 'R') {
            if (server_read_until(fd, "\r\n", buf, sizeof(buf), &len) != 0) {
                closed = 1;
                break;
            }
            server_log(s, buf, len - 2);
        } else if (step[0] == 'D') {
            if (server_read_until(fd, "\r\n.\r\n", buf, sizeof(buf), &len) != 0) {
                closed = 1;
                break;
            }
            server_log(s, buf, len);
        } else if (step[0] == 'C') {
            closed = 1;
        }
    }
    /* the rest the client says (RSET, QUIT), answered with 250 */
    while (!closed && server_read_until(fd, "\r\n", buf, sizeof(buf), &len) == 0) {
        server_log(s, buf, len - 2);
        (void)!write(fd, "250 2.0.0 Ok\r\n", 14);
    }
    close(fd);
    return NULL;
}

static void
test_row(void **state)
{
    const smtp_row_t *row = *state;
    server_t server = { .row = row };
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t slen = sizeof(sin);
    pthread_t thread;
    smtp_outcome_t out;
    size_t nrcpt = 0;
    long long started;

    server.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(server.listen_fd >= 0);
    assert_int_equal(bind(server.listen_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(listen(server.listen_fd, 1), 0);
    assert_int_equal(getsockname(server.listen_fd, (struct sockaddr *)&sin, &slen), 0);
    assert_int_equal(pthread_create(&thread, NULL, server_run, &server), 0);
    while (nrcpt < 3 && row->rcpts[nrcpt])
        nrcpt++;

    smtp_submission_t sub = {
        .host = "127.0.0.1",
        .port = ntohs(sin.sin_port),
        .timeout_ms = row->timeout_ms,
        .helo = "helo.test",
        .login = row->login,
        .password = "s3cret pw",
        .from = "bob@sandbox.test",
        .rcpts = row->rcpts,
        .rcpt_count = nrcpt,
        .data = row->data,
        .data_len = strlen(row->data),
    };
    started = clock_ms();
    assert_int_equal(smtp_submit(&sub, &out), row->status);
    /* the client never waits much beyond its deadline */
    assert_true(clock_ms() - started < row->timeout_ms + 500);
    pthread_join(thread, NULL);
    close(server.listen_fd);

    assert_string_equal(smtp_stage_name(out.stage), smtp_stage_name(row->stage));
    assert_int_equal(out.reply.code, row->code);
    if (row->code)
        assert_string_equal(out.reply.xcode, row->xcode);
    if (row->text)
        assert_string_equal(out.reply.text, row->text);
    if (row->status == SMTP_TRANSPORT)
        assert_true(out.error[0] != '\0');
    assert_int_equal(out.rcpt_index, row->rcpt_index);
    if (row->timeout_ms < 1000 && row->status == SMTP_TRANSPORT && strstr(row->name, "deadline"))
        assert_true(out.timed_out);
    if (row->log_has) {
        char want[1024], *save = NULL;
        snprintf(want, sizeof(want), "%s", row->log_has);
        /* each |-separated piece appears, in order */
        const char *from = server.log;
        for (char *piece = strtok_r(want, "|", &save); piece; piece = strtok_r(NULL, "|", &save)) {
            const char *at = strstr(from, piece);
            if (at == NULL)
                fail_msg("server log [%s] lacks [%s]", server.log, piece);
            from = at + strlen(piece);
        }
    }
    if (row->log_lacks && strstr(server.log, row->log_lacks))
        fail_msg("server log [%s] has [%s]", server.log, row->log_lacks);
}

static void
test_connect_refused(void **state)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t slen = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    const char *rcpts[] = { "a@remote.test" };
    smtp_outcome_t out;
    (void)state;
    /* a port that was just free: bound, then closed without listening */
    assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
    close(fd);
    smtp_submission_t sub = { .host = "127.0.0.1", .port = ntohs(sin.sin_port), .timeout_ms = 2000, .helo = "h",
                              .from = "bob@sandbox.test", .rcpts = rcpts, .rcpt_count = 1, .data = "x", .data_len = 1 };
    assert_int_equal(smtp_submit(&sub, &out), SMTP_TRANSPORT);
    assert_int_equal(out.stage, SMTP_STAGE_CONNECT);
    assert_non_null(strstr(out.error, "refused"));
    sub.host = "localhost";
    assert_int_equal(smtp_submit(&sub, &out), SMTP_TRANSPORT);
    assert_non_null(strstr(out.error, "numeric"));
    sub.host = "127.0.0.1";
    sub.from = "bob@x.test>\r\nRSET";
    assert_int_equal(smtp_submit(&sub, &out), SMTP_TRANSPORT);
    assert_non_null(strstr(out.error, "sender"));
}

typedef struct {
    const char *name;
    const char *line;
    int result, code;
    const char *text;
} line_row_t;

static const line_row_t line_rows[] = {
    { "final line", "250 2.0.0 Ok", 1, 250, "2.0.0 Ok" },
    { "continuation", "250-PIPELINING", 0, 250, "PIPELINING" },
    { "bare code", "221", 1, 221, "" },
    { "no separator", "250x", -1, 0, NULL },
    { "two digits", "25 ok", -1, 0, NULL },
    { "class 1 is not a reply", "150 ok", -1, 0, NULL },
    { "letters", "abc def", -1, 0, NULL },
    { "empty", "", -1, 0, NULL },
};

static void
test_line(void **state)
{
    const line_row_t *row = *state;
    int code = 0;
    const char *text = NULL;
    assert_int_equal(smtp_parse_reply_line(row->line, &code, &text), row->result);
    if (row->result >= 0) {
        assert_int_equal(code, row->code);
        assert_string_equal(text, row->text);
    }
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_row, rows, sizeof(rows[0]), UNIT_ROWS(rows));
    unit_add(&suite, "connect refused, non-numeric host, unsafe address", test_connect_refused, NULL);
    unit_add_rows(&suite, test_line, line_rows, sizeof(line_rows[0]), UNIT_ROWS(line_rows));
    return unit_run("smtp_client", &suite, NULL, NULL);
}
