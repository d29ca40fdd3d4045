/*
 * smtp_client.c -- one SMTP submission with a deadline.  See smtp_client.h.
 */
#define _DEFAULT_SOURCE /* explicit_bzero */
#include "smtp_client.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base64.h"
#include "clock.h"

#define SMTP_LINE_MAX 2048       /* RFC 5321 says 512 for a reply line; be lenient */
#define SMTP_REPLY_LINES_MAX 100 /* lines of one multi-line reply */
#define SMTP_COMMAND_MAX 512     /* RFC 5321 4.5.3.1.4 */

typedef struct {
    int fd;
    long long deadline;
    int timeout_ms;
    char buf[SMTP_LINE_MAX * 2];
    size_t len;                  /* bytes in buf */
    int auth_plain;              /* the EHLO reply offered AUTH PLAIN */
    smtp_outcome_t *out;
} smtp_conn_t;

static const char *const smtp_stage_names[] = {
    [SMTP_STAGE_CONNECT] = "connect", [SMTP_STAGE_GREETING] = "greeting", [SMTP_STAGE_EHLO] = "EHLO",
    [SMTP_STAGE_AUTH] = "AUTH",
    [SMTP_STAGE_MAIL] = "MAIL",       [SMTP_STAGE_RCPT] = "RCPT",         [SMTP_STAGE_DATA] = "DATA",
    [SMTP_STAGE_MESSAGE] = "message", [SMTP_STAGE_QUIT] = "QUIT",
};

const char *
smtp_stage_name(smtp_stage_t stage)
{
    return stage <= SMTP_STAGE_QUIT ? smtp_stage_names[stage] : "?";
}

/* Records a transport failure; returns -1. */
static int
smtp_transport(smtp_conn_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
smtp_transport(smtp_conn_t *c, const char *fmt, ...)
{
    va_list ap;
    c->out->status = SMTP_TRANSPORT;
    va_start(ap, fmt);
    vsnprintf(c->out->error, sizeof(c->out->error), fmt, ap);
    va_end(ap);
    return -1;
}

static int
smtp_timeout(smtp_conn_t *c, const char *what)
{
    c->out->timed_out = 1;
    return smtp_transport(c, "%s: timed out (submission deadline %d ms)", what, c->timeout_ms);
}

/* Waits for events on the socket until the deadline: 1 ready, 0 timed out, -1 error. */
static int
smtp_wait(smtp_conn_t *c, short events)
{
    for (;;) {
        long long left = c->deadline - clock_ms();
        struct pollfd pfd = { .fd = c->fd, .events = events };
        int n;
        if (left <= 0)
            return 0;
        n = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (n > 0)
            return 1;
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static int
smtp_connect(smtp_conn_t *c, const char *host, int port)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    int err = 0, family;
    socklen_t errlen = sizeof(err);

    memset(&ss, 0, sizeof(ss));
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((unsigned short)port);
        sslen = sizeof(*sin);
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((unsigned short)port);
        sslen = sizeof(*sin6);
    } else {
        return smtp_transport(c, "connect: \"%s\" is not a numeric address", host);
    }
    family = ss.ss_family;
    c->fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return smtp_transport(c, "socket: %s", strerror(errno));
    if (connect(c->fd, (struct sockaddr *)&ss, sslen) == 0)
        return 0;
    if (errno != EINPROGRESS)
        return smtp_transport(c, "connect to %s port %d: %s", host, port, strerror(errno));
    switch (smtp_wait(c, POLLOUT)) {
    case 0:
        return smtp_timeout(c, "connect");
    case -1:
        return smtp_transport(c, "poll: %s", strerror(errno));
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) != 0)
        return smtp_transport(c, "getsockopt(SO_ERROR): %s", strerror(errno));
    if (err != 0)
        return smtp_transport(c, "connect to %s port %d: %s", host, port, strerror(err));
    return 0;
}

static int
smtp_write(smtp_conn_t *c, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = smtp_wait(c, POLLOUT);
            if (ready == 0)
                return smtp_timeout(c, "write");
            if (ready < 0)
                return smtp_transport(c, "poll: %s", strerror(errno));
            continue;
        }
        return smtp_transport(c, "write: %s", n < 0 ? strerror(errno) : "nothing written");
    }
    return 0;
}

/* Reads one line (CRLF or LF stripped) into line.  0 or -1. */
static int
smtp_read_line(smtp_conn_t *c, char *line, size_t linelen)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->len);
        if (nl != NULL) {
            size_t n = (size_t)(nl - c->buf);
            size_t keep = n > 0 && c->buf[n - 1] == '\r' ? n - 1 : n;
            if (keep >= linelen)
                return smtp_transport(c, "reply line longer than %zu bytes", linelen - 1);
            memcpy(line, c->buf, keep);
            line[keep] = '\0';
            memmove(c->buf, nl + 1, c->len - n - 1);
            c->len -= n + 1;
            return 0;
        }
        if (c->len >= linelen)
            return smtp_transport(c, "reply line longer than %zu bytes", linelen - 1);
        ssize_t got = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, MSG_DONTWAIT);
        if (got > 0) {
            c->len += (size_t)got;
            continue;
        }
        if (got == 0)
            return smtp_transport(c, "the server closed the connection");
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return smtp_transport(c, "read: %s", strerror(errno));
        switch (smtp_wait(c, POLLIN)) {
        case 0:
            return smtp_timeout(c, "waiting for a reply");
        case -1:
            return smtp_transport(c, "poll: %s", strerror(errno));
        }
    }
}

int
smtp_parse_reply_line(const char *line, int *code, const char **text)
{
    /* Each byte compared before the next is read: a line may end after any of them. */
    if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' || line[2] > '9')
        return -1;
    if (line[3] != '\0' && line[3] != ' ' && line[3] != '-')
        return -1;
    *code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    *text = line[3] ? line + 4 : line + 3;
    return line[3] == '-' ? 0 : 1;
}

/* Length of an RFC 3463 code "C.SSS.DDD" of class cls at the start of
 * text, followed by a space or the end; 0 if there is none. */
static size_t
smtp_xcode_len(const char *text, char cls)
{
    const char *p = text;
    if (*p != cls || p[1] != '.')
        return 0;
    p += 2;
    for (int part = 0; part < 2; part++) {
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 3) {
            p++;
            digits++;
        }
        if (digits == 0 || (part == 0 && *p != '.'))
            return 0;
        if (part == 0)
            p++;
    }
    return (*p == ' ' || *p == '\0') ? (size_t)(p - text) : 0;
}

/* Appends text to the reply, one space between lines; bytes that are
 * not printable ASCII become '?', so the text is safe for JSON and logs. */
static void
smtp_reply_append(smtp_reply_t *r, const char *text)
{
    size_t pos = strlen(r->text);
    if (pos > 0 && *text && pos + 1 < sizeof(r->text))
        r->text[pos++] = ' ';
    for (; *text && pos + 1 < sizeof(r->text); text++) {
        unsigned char ch = (unsigned char)*text;
        r->text[pos++] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char)ch;
    }
    r->text[pos] = '\0';
}

static int smtp_read_reply_lines(smtp_conn_t *c, smtp_reply_t *r);

/* Whether an EHLO keyword line is "AUTH ... PLAIN ..." (or the old "AUTH=..."). */
static int
smtp_offers_plain(const char *line)
{
    const char *p = line;
    if (strncasecmp(p, "AUTH", 4) != 0 || (p[4] != ' ' && p[4] != '='))
        return 0;
    for (p += 5; *p;) {
        size_t n = strcspn(p, " ");
        if (n == 5 && strncasecmp(p, "PLAIN", 5) == 0)
            return 1;
        p += n;
        p += strspn(p, " ");
    }
    return 0;
}

/* Reads one (possibly multi-line) reply into *r.  0, or -1 with *r
 * cleared: half a reply decides nothing. */
static int
smtp_read_reply(smtp_conn_t *c, smtp_reply_t *r)
{
    if (smtp_read_reply_lines(c, r) == 0)
        return 0;
    memset(r, 0, sizeof(*r));
    return -1;
}

static int
smtp_read_reply_lines(smtp_conn_t *c, smtp_reply_t *r)
{
    char line[SMTP_LINE_MAX];
    memset(r, 0, sizeof(*r));
    for (int n = 0; n < SMTP_REPLY_LINES_MAX; n++) {
        int code, last;
        const char *text;
        size_t xlen;
        if (smtp_read_line(c, line, sizeof(line)) != 0)
            return -1;
        last = smtp_parse_reply_line(line, &code, &text);
        if (last < 0) {
            char shown[64];
            size_t i;
            for (i = 0; line[i] && i + 1 < sizeof(shown); i++)
                shown[i] = ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] >= 0x7f) ? '?' : line[i];
            shown[i] = '\0';
            return smtp_transport(c, "not an SMTP reply: \"%s\"", shown);
        }
        if (n > 0 && code != r->code)
            return smtp_transport(c, "multi-line reply changes its code from %d to %d", r->code, code);
        r->code = code;
        xlen = smtp_xcode_len(text, line[0]);
        if (xlen > 0 && xlen < sizeof(r->xcode)) {
            if (n == 0)
                snprintf(r->xcode, sizeof(r->xcode), "%.*s", (int)xlen, text);
            text += xlen;
            while (*text == ' ')
                text++;
        }
        if (c->out->stage == SMTP_STAGE_EHLO && code == 250 && n > 0)
            c->auth_plain |= smtp_offers_plain(text);
        smtp_reply_append(r, text);
        if (last)
            return 0;
    }
    return smtp_transport(c, "reply of more than %d lines", SMTP_REPLY_LINES_MAX);
}

/* Sends the command line verb+arg+close and reads its reply into the outcome. */
static int
smtp_command(smtp_conn_t *c, smtp_stage_t stage, const char *verb, const char *arg, const char *close)
{
    char cmd[SMTP_COMMAND_MAX];
    int n = snprintf(cmd, sizeof(cmd), "%s%s%s\r\n", verb, arg, close);
    c->out->stage = stage;
    if (n < 0 || (size_t)n >= sizeof(cmd))
        return smtp_transport(c, "%s: command too long", smtp_stage_name(stage));
    if (smtp_write(c, cmd, (size_t)n) != 0)
        return -1;
    return smtp_read_reply(c, &c->out->reply);
}

/* Whether an envelope address can go into a command line as is. */
static int
smtp_safe_address(const char *addr)
{
    for (const unsigned char *p = (const unsigned char *)addr; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || *p == '<' || *p == '>')
            return 0;
    return strlen(addr) <= 320;
}

/* Sends the message: CRLF line ends, a '.' doubled at the start of a
 * line, then the terminating ".". */
static int
smtp_send_data(smtp_conn_t *c, const char *data, size_t len)
{
    char chunk[65536];
    size_t o = 0;
    int bol = 1;
    for (size_t i = 0; i < len; i++) {
        char ch = data[i];
        if (o + 4 > sizeof(chunk)) {
            if (smtp_write(c, chunk, o) != 0)
                return -1;
            o = 0;
        }
        if (ch == '\r' || ch == '\n') {
            if (ch == '\r' && i + 1 < len && data[i + 1] == '\n')
                i++;
            chunk[o++] = '\r';
            chunk[o++] = '\n';
            bol = 1;
            continue;
        }
        if (bol && ch == '.')
            chunk[o++] = '.';
        chunk[o++] = ch;
        bol = 0;
    }
    if (!bol) {
        chunk[o++] = '\r';
        chunk[o++] = '\n';
    }
    if (o > 0 && smtp_write(c, chunk, o) != 0)
        return -1;
    return smtp_write(c, ".\r\n", 3);
}

/* A reply that is not the expected class ends the transaction as refused. */
static int
smtp_expect(smtp_conn_t *c, int lo, int hi)
{
    if (c->out->reply.code >= lo && c->out->reply.code <= hi)
        return 0;
    c->out->status = SMTP_REFUSED;
    return -1;
}

/* AUTH PLAIN with an empty authorization identity (RFC 4616).  0 when
 * authenticated, 1 when refused (out says why), -1 on a transport failure. */
static int
smtp_auth_plain(smtp_conn_t *c, const char *login, const char *password)
{
    char creds[400], b64[BASE64_ENCODED_LEN(400)];
    size_t ll = strlen(login), pl = strlen(password);
    int rc;

    c->out->stage = SMTP_STAGE_AUTH;
    if (!c->auth_plain) {
        memset(&c->out->reply, 0, sizeof(c->out->reply));
        snprintf(c->out->reply.text, sizeof(c->out->reply.text),
                 "the server offers no AUTH PLAIN (smtpd_sasl_auth_enable? smtpd_tls_auth_only?)");
        c->out->status = SMTP_REFUSED;
        return 1;
    }
    if (ll + pl + 2 > sizeof(creds))
        return smtp_transport(c, "AUTH: login and password too long");
    creds[0] = '\0';
    memcpy(creds + 1, login, ll);
    creds[1 + ll] = '\0';
    memcpy(creds + 2 + ll, password, pl);
    base64_encode(creds, ll + pl + 2, b64, sizeof(b64), 0);
    explicit_bzero(creds, sizeof(creds));
    rc = smtp_command(c, SMTP_STAGE_AUTH, "AUTH PLAIN ", b64, "");
    explicit_bzero(b64, sizeof(b64));
    if (rc != 0)
        return -1;
    return smtp_expect(c, 235, 235) == 0 ? 0 : 1;
}

/* Polite end of a transaction the server may still be listening to. */
static void
smtp_quit(smtp_conn_t *c, int rset)
{
    smtp_reply_t ignored;
    smtp_outcome_t scratch = *c->out;
    smtp_outcome_t *keep = c->out;
    c->out = &scratch; /* errors here change nothing already decided */
    if (rset && smtp_write(c, "RSET\r\n", 6) == 0)
        (void)smtp_read_reply(c, &ignored);
    if (smtp_write(c, "QUIT\r\n", 6) == 0)
        (void)smtp_read_reply(c, &ignored);
    c->out = keep;
}

smtp_status_t
smtp_submit(const smtp_submission_t *sub, smtp_outcome_t *out)
{
    smtp_conn_t c = { .fd = -1, .timeout_ms = sub->timeout_ms, .out = out };

    memset(out, 0, sizeof(*out));
    out->rcpt_index = -1;
    out->stage = SMTP_STAGE_CONNECT;
    out->status = SMTP_TRANSPORT; /* until a reply says otherwise */
    c.deadline = clock_ms() + sub->timeout_ms;

    if (!smtp_safe_address(sub->from)) {
        smtp_transport(&c, "MAIL: unusable sender address");
        return out->status;
    }
    for (size_t i = 0; i < sub->rcpt_count; i++) {
        if (!smtp_safe_address(sub->rcpts[i])) {
            smtp_transport(&c, "RCPT: unusable recipient address");
            return out->status;
        }
    }
    if (sub->rcpt_count == 0) {
        smtp_transport(&c, "RCPT: no recipients");
        return out->status;
    }
    if (smtp_connect(&c, sub->host, sub->port) != 0)
        goto close;

    out->stage = SMTP_STAGE_GREETING;
    if (smtp_read_reply(&c, &out->reply) != 0)
        goto close;
    if (smtp_expect(&c, 220, 220) != 0)
        goto quit;
    if (smtp_command(&c, SMTP_STAGE_EHLO, "EHLO ", sub->helo, "") != 0)
        goto close;
    if (out->reply.code >= 500 && smtp_command(&c, SMTP_STAGE_EHLO, "HELO ", sub->helo, "") != 0)
        goto close;
    if (smtp_expect(&c, 250, 250) != 0)
        goto quit;
    if (sub->login && *sub->login) {
        int rc = smtp_auth_plain(&c, sub->login, sub->password ? sub->password : "");
        if (rc < 0)
            goto close;
        if (rc > 0)
            goto quit;
    }
    if (smtp_command(&c, SMTP_STAGE_MAIL, "MAIL FROM:<", sub->from, ">") != 0)
        goto close;
    if (smtp_expect(&c, 250, 250) != 0)
        goto quit;
    for (size_t i = 0; i < sub->rcpt_count; i++) {
        out->rcpt_index = (long)i;
        if (smtp_command(&c, SMTP_STAGE_RCPT, "RCPT TO:<", sub->rcpts[i], ">") != 0)
            goto close;
        if (smtp_expect(&c, 250, 251) != 0) {
            /* All or nothing: forget the recipients already accepted. */
            smtp_quit(&c, 1);
            goto close;
        }
    }
    out->rcpt_index = -1;
    if (smtp_command(&c, SMTP_STAGE_DATA, "DATA", "", "") != 0)
        goto close;
    if (smtp_expect(&c, 354, 354) != 0) {
        smtp_quit(&c, 1);
        goto close;
    }
    out->stage = SMTP_STAGE_MESSAGE;
    if (smtp_send_data(&c, sub->data, sub->data_len) != 0 || smtp_read_reply(&c, &out->reply) != 0)
        goto close;
    if (smtp_expect(&c, 200, 299) == 0)
        out->status = SMTP_QUEUED;
quit:
    smtp_quit(&c, 0);
close:
    if (c.fd >= 0)
        close(c.fd);
    return out->status;
}
