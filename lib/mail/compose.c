/*
 * compose.c -- building an outgoing message with GMime.  See compose.h.
 */
#include "compose.h"

#include <gmime/gmime.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "address.h"
#include "gmime_guard.h"
#include "header.h"
#include "utf8.h"

static pthread_once_t compose_once = PTHREAD_ONCE_INIT;

static int
compose_fail(compose_error_t *err, const char *code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
compose_fail(compose_error_t *err, const char *code, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->code, sizeof(err->code), "%s", code);
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    return -1;
}

/* A header field's text: valid UTF-8, no NUL and no control character
 * but TAB, at most max bytes.  0, or -1 with err naming field. */
static int
compose_check_header(const char *field, const compose_str_t *s, size_t max, compose_error_t *err)
{
    if (s->len > max)
        return compose_fail(err, "too_large", "%s: longer than %zu bytes", field, max);
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = (unsigned char)s->data[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return compose_fail(err, "invalid_header", "%s: control characters (CR, LF, NUL, ...) are not allowed",
                                field);
    }
    if (!utf8_is_valid(s->data, s->len))
        return compose_fail(err, "invalid_utf8", "%s: not valid UTF-8", field);
    return 0;
}

/* A body: valid UTF-8 without NUL, at most COMPOSE_MAX_BODY bytes, its
 * line ends LF or CRLF.  A CR that does not start a CRLF is refused: it
 * could be read as a line end by one program and not by another (the raw
 * material of SMTP smuggling), and no rule turns it into one unambiguously. */
static int
compose_check_body(const char *field, const compose_str_t *s, compose_error_t *err)
{
    const char *cr;
    if (s->len > COMPOSE_MAX_BODY)
        return compose_fail(err, "too_large", "%s: longer than %d bytes", field, COMPOSE_MAX_BODY);
    if (memchr(s->data, '\0', s->len) != NULL)
        return compose_fail(err, "invalid_body", "%s: NUL bytes are not allowed", field);
    for (size_t i = 0; (cr = memchr(s->data + i, '\r', s->len - i)) != NULL; i = (size_t)(cr - s->data) + 1)
        if ((size_t)(cr - s->data) + 1 == s->len || cr[1] != '\n')
            return compose_fail(err, "invalid_body",
                                "%s: a CR not followed by LF (byte %zu); end lines with LF or CRLF", field,
                                (size_t)(cr - s->data));
    if (!utf8_is_valid(s->data, s->len))
        return compose_fail(err, "invalid_utf8", "%s: not valid UTF-8", field);
    return 0;
}

/* A checked body with every line end CRLF (a lone LF gains its CR), the
 * canonical form of text (RFC 2049) whichever transfer encoding GMime picks.
 * g_malloc'd, *len set. */
static char *
compose_crlf_body(const compose_str_t *s, size_t *len)
{
    char *out = g_malloc(s->len * 2 + 1);
    size_t o = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->data[i] == '\n' && (i == 0 || s->data[i - 1] != '\r'))
            out[o++] = '\r';
        out[o++] = s->data[i];
    }
    out[o] = '\0';
    *len = o;
    return out;
}

/* Whether every CR of data is followed by LF and every LF follows a CR:
 * compose.h's promise, checked on what GMime wrote. */
static int
compose_crlf_only(const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '\r' && (i + 1 == len || data[i + 1] != '\n'))
            return 0;
        if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
            return 0;
    }
    return 1;
}

int
compose_valid_msgid(const char *s, size_t len)
{
    size_t ats = 0;
    if (len < 5 || len > COMPOSE_MAX_MSGID || s[0] != '<' || s[len - 1] != '>')
        return 0;
    for (size_t i = 1; i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '<' || c == '>')
            return 0;
        if (c == '@')
            ats++;
    }
    return ats == 1 && s[1] != '@' && s[len - 2] != '@';
}

typedef struct {
    char name[COMPOSE_MAX_NAME + 1];  /* "" for none */
    char addr[ADDRESS_MAX + 1];       /* canonical, case kept: the envelope and the header */
    char key[ADDRESS_MAX + 1];        /* normalised, for duplicates */
} compose_addr_t;

/* Spaces and TABs off both ends of [*begin, *end). */
static void
compose_trim(char **begin, char **end)
{
    while (*begin < *end && (**begin == ' ' || **begin == '\t'))
        (*begin)++;
    while (*end > *begin && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
    **end = '\0';
}

/* Splits "addr", "<addr>" or "Name <addr>" (the name may be in double
 * quotes) and reads the address with the strict grammar of
 * address_canonical: out->addr is its canonical spelling, which both the
 * envelope and the header get.  0, or -1 with err naming field. */
static int
compose_parse_address(const char *field, const compose_str_t *s, compose_addr_t *out, compose_error_t *err)
{
    char buf[COMPOSE_MAX_NAME + ADDRESS_MAX + 8];
    char *addr, *end, *name = NULL, *name_end = NULL, *lt;
    const char *domain;

    if (s->len == 0)
        return compose_fail(err, "invalid_address", "%s: empty address", field);
    if (compose_check_header(field, s, sizeof(buf) - 1, err) != 0)
        return -1;
    memcpy(buf, s->data, s->len);
    buf[s->len] = '\0';
    addr = buf;
    end = buf + s->len;
    compose_trim(&addr, &end);
    if (end > addr && end[-1] == '>' && (lt = strrchr(addr, '<')) != NULL) {
        name = addr;
        name_end = lt;
        addr = lt + 1;
        end--;
        compose_trim(&addr, &end);
        compose_trim(&name, &name_end);
    }
    if (name != NULL) {
        if (name_end - name >= 2 && name[0] == '"' && name_end[-1] == '"') {
            *--name_end = '\0';
            name++;
        }
        if (strpbrk(name, "\"\\") != NULL)
            return compose_fail(err, "invalid_address", "%s: quotes or backslashes in the display name", field);
        if (strpbrk(name, "<>") != NULL)
            return compose_fail(err, "invalid_address", "%s: angle brackets in the display name", field);
        if (strlen(name) > COMPOSE_MAX_NAME)
            return compose_fail(err, "too_large", "%s: display name longer than %d bytes", field, COMPOSE_MAX_NAME);
        snprintf(out->name, sizeof(out->name), "%s", name);
    } else {
        out->name[0] = '\0';
    }
    for (const char *p = addr; *p; p++)
        if ((unsigned char)*p >= 0x80)
            return compose_fail(err, "invalid_address",
                                "%s: non-ASCII addresses are not supported (a domain as A-labels, xn--...)", field);
    if (strlen(addr) > ADDRESS_MAX ||
        address_canonical(addr, ADDRESS_STRICT | ADDRESS_KEEP_CASE, out->addr, sizeof(out->addr)) != ADDRESS_OK ||
        address_normalize(out->addr, out->key, sizeof(out->key)) != ADDRESS_OK)
        return compose_fail(err, "invalid_address",
                            "%s: not an address (local@domain: one '@', the local part a dot-atom or one quoted "
                            "string, the domain a host name)",
                            field);
    /* The RCPT TO line of lib/mail/smtp_client takes no space or angle
     * bracket, even quoted (it would fail as a 503). */
    if (strpbrk(out->addr, " <>") != NULL)
        return compose_fail(err, "invalid_address", "%s: spaces or angle brackets in the address", field);
    domain = address_domain(out->addr);
    if (strchr(domain, '.') == NULL || domain[0] == '[')
        return compose_fail(err, "invalid_address", "%s: the domain must be a dotted host name", field);
    return 0;
}

/* "<hex@domain>" with 128 random bits. */
static int
compose_message_id(const char *from, char *out, size_t outlen)
{
    unsigned char rnd[16];
    char hex[sizeof(rnd) * 2 + 1];
    const char *domain = address_domain(from);
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    if (*domain == '\0')
        domain = "localhost";
    if ((size_t)snprintf(out, outlen, "<%s@%s>", hex, domain) >= outlen)
        return -1;
    return 0;
}

/* A text part holding s (checked UTF-8 without NUL) as UTF-8 -- the
 * bytes as given, not recoded (g_mime_text_part_set_text would pick
 * ISO-8859-1 where it fits) -- in the transfer encoding GMime finds best
 * for 7-bit transport: 7bit, quoted-printable or base64. */
static GMimeObject *
compose_text_part(const char *subtype, const compose_str_t *s)
{
    GMimeTextPart *part = g_mime_text_part_new_with_subtype(subtype);
    size_t len;
    char *crlf = compose_crlf_body(s, &len);
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(crlf, len); /* a copy */
    GMimeDataWrapper *content = g_mime_data_wrapper_new_with_stream(stream, GMIME_CONTENT_ENCODING_DEFAULT);
    GMimeContentEncoding encoding;

    g_free(crlf);
    g_mime_part_set_content(GMIME_PART(part), content);
    g_object_unref(content);
    g_object_unref(stream);
    g_mime_object_set_content_type_parameter(GMIME_OBJECT(part), "charset", "utf-8");
    encoding = g_mime_part_get_best_content_encoding(GMIME_PART(part), GMIME_ENCODING_CONSTRAINT_7BIT);
    if (encoding == GMIME_CONTENT_ENCODING_DEFAULT)
        encoding = GMIME_CONTENT_ENCODING_7BIT;
    g_mime_part_set_content_encoding(GMIME_PART(part), encoding);
    return GMIME_OBJECT(part);
}

/* Reads list (count entries from addrs[first]) into addrs, adds each
 * canonical address to msg's header type and, unless it is there
 * already, to the envelope: one parsed value for both.  0 or -1. */
static int
compose_add_list(GMimeMessage *msg, GMimeAddressType type, const char *field, const compose_str_t *list,
                 size_t count, compose_addr_t *addrs, size_t first, compose_message_t *out, compose_error_t *err)
{
    for (size_t i = 0; i < count; i++) {
        compose_addr_t *a = &addrs[first + i];
        char what[32];
        int dup = 0;
        snprintf(what, sizeof(what), "%s[%zu]", field, i);
        if (list[i].data == NULL)
            return compose_fail(err, "invalid_address", "%s: not a string", what);
        if (compose_parse_address(what, &list[i], a, err) != 0)
            return -1;
        g_mime_message_add_mailbox(msg, type, a->name[0] ? a->name : NULL, a->addr);
        for (size_t j = 0; j < first + i && !dup; j++)
            dup = strcmp(addrs[j].key, a->key) == 0;
        if (dup)
            continue;
        if ((out->rcpts[out->rcpt_count] = strdup(a->addr)) == NULL)
            return compose_fail(err, "internal", "out of memory");
        out->rcpt_count++;
    }
    return 0;
}

/* Whether got (a mailbox GMime read) is want: the local part exactly,
 * the domain (an IDN back in A-labels) without regard to case. */
static int
compose_same_address(InternetAddress *got, const char *want)
{
    const char *addr, *at, *want_at = strrchr(want, '@');
    if (!INTERNET_ADDRESS_IS_MAILBOX(got) ||
        (addr = internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(got))) == NULL ||
        (at = strrchr(addr, '@')) == NULL)
        return 0;
    return at - addr == want_at - want && strncmp(addr, want, (size_t)(at - addr)) == 0 &&
           strcasecmp(at, want_at) == 0;
}

/* Whether two display names say the same once folding is undone: every
 * run of spaces, TABs, CRs and LFs is one space, none at either end. */
static int
compose_same_name(const char *got, const char *want)
{
    const char *a = got ? got : "", *b = want;
    for (;;) {
        while (*a == ' ' || *a == '\t' || *a == '\r' || *a == '\n')
            a++;
        while (*b == ' ' || *b == '\t' || *b == '\r' || *b == '\n')
            b++;
        if (*a == '\0' || *b == '\0')
            return *a == *b;
        while (*a && *b && !strchr(" \t\r\n", *a) && *a == *b)
            a++, b++;
        if (!((*a == '\0' || strchr(" \t\r\n", *a)) && (*b == '\0' || strchr(" \t\r\n", *b))))
            return 0;
    }
}

/* One header list read back: exactly the mailboxes of addrs, in order,
 * with their display names, no group.  0, or -1 naming the first that
 * differs. */
static int
compose_read_back_list(InternetAddressList *list, const char *field, const compose_addr_t *addrs, size_t count,
                       compose_error_t *err)
{
    int n = list ? internet_address_list_length(list) : 0;
    if (n != (int)count)
        return compose_fail(err, "invalid_address", "%s: the header would read as %d addresses, not %zu", field, n,
                            count);
    for (size_t i = 0; i < count; i++) {
        InternetAddress *ia = internet_address_list_get_address(list, (int)i);
        if (!compose_same_address(ia, addrs[i].addr))
            return compose_fail(err, "invalid_address",
                                "%s[%zu]: the header would read as another address (an IDN must be valid A-labels)",
                                field, i);
        if (!compose_same_name(internet_address_get_name(ia), addrs[i].name))
            return compose_fail(err, "invalid_address",
                                "%s[%zu]: the display name would read as another text (an encoded-word?)", field, i);
    }
    return 0;
}

/* Reads the header section GMime wrote as a receiving client would
 * (GMime's own parser) and checks From, To and Cc say what the envelope
 * says: never a group, an extra mailbox or another address.  0 or -1. */
static int
compose_read_back(const compose_message_t *out, const char *from, const compose_addr_t *addrs, size_t to_count,
                  size_t cc_count, compose_error_t *err)
{
    const char *end = strstr(out->data, "\r\n\r\n");
    char *defused;
    GMimeStream *stream;
    GMimeParser *parser;
    GMimeMessage *back;
    InternetAddressList *from_list;
    int rc = -1;

    if (end == NULL)
        return compose_fail(err, "internal", "GMime wrote no header section");
    if (gmime_guard_message(out->data, (size_t)(end - out->data) + 4, &defused) < 0)
        return compose_fail(err, "internal", "out of memory");
    stream = g_mime_stream_mem_new_with_buffer(defused ? defused : out->data, (size_t)(end - out->data) + 4);
    free(defused);
    parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    back = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    if (back == NULL)
        return compose_fail(err, "internal", "GMime cannot read back the header it wrote");
    from_list = g_mime_message_get_from(back);
    if (internet_address_list_length(from_list) != 1 ||
        !compose_same_address(internet_address_list_get_address(from_list, 0), from))
        compose_fail(err, "internal", "From would read as another address");
    else if (compose_read_back_list(g_mime_message_get_to(back), "to", addrs, to_count, err) == 0 &&
             compose_read_back_list(g_mime_message_get_cc(back), "cc", addrs + to_count, cc_count, err) == 0)
        rc = 0;
    g_object_unref(back);
    return rc;
}

/* Every check that needs no GMime object. */
static int
compose_check(const compose_request_t *req, compose_error_t *err)
{
    if (req->to_count == 0)
        return compose_fail(err, "missing_field", "to: at least one recipient is required");
    if (req->to_count + req->cc_count > COMPOSE_MAX_RECIPIENTS)
        return compose_fail(err, "too_many_recipients", "to and cc: at most %d recipients", COMPOSE_MAX_RECIPIENTS);
    if (req->subject.data == NULL)
        return compose_fail(err, "missing_field", "subject: required");
    if (compose_check_header("subject", &req->subject, COMPOSE_MAX_SUBJECT, err) != 0)
        return -1;
    if (req->text.data == NULL && req->html.data == NULL)
        return compose_fail(err, "missing_field", "text or html: at least one body is required");
    if (req->text.data != NULL && compose_check_body("text", &req->text, err) != 0)
        return -1;
    if (req->html.data != NULL && compose_check_body("html", &req->html, err) != 0)
        return -1;
    if (req->in_reply_to.data != NULL && !compose_valid_msgid(req->in_reply_to.data, req->in_reply_to.len))
        return compose_fail(err, "invalid_message_id", "inReplyTo: not a <id@host> message id");
    if (req->references_count > COMPOSE_MAX_REFERENCES)
        return compose_fail(err, "too_large", "references: at most %d message ids", COMPOSE_MAX_REFERENCES);
    for (size_t i = 0; i < req->references_count; i++) {
        const compose_str_t *r = &req->references[i];
        if (r->data == NULL || !compose_valid_msgid(r->data, r->len))
            return compose_fail(err, "invalid_message_id", "references[%zu]: not a <id@host> message id", i);
    }
    return 0;
}

void
compose_message_free(compose_message_t *msg)
{
    if (msg == NULL)
        return;
    for (size_t i = 0; i < msg->rcpt_count; i++)
        free(msg->rcpts[i]);
    free(msg->rcpts);
    g_free(msg->data);
    memset(msg, 0, sizeof(*msg));
}

int
compose_build(const compose_request_t *req, compose_message_t *out, compose_error_t *err)
{
    GMimeMessage *msg = NULL;
    GMimeObject *body = NULL;
    GMimeFormatOptions *format = NULL;
    compose_addr_t *addrs = NULL;
    char from_key[ADDRESS_MAX + 1], name[COMPOSE_MAX_NAME * 2 + 1] = "";
    GDateTime *now;
    int rc = -1;

    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    pthread_once(&compose_once, header_init);

    if (req->from_address == NULL ||
        address_normalize(req->from_address, from_key, sizeof(from_key)) != ADDRESS_OK)
        return compose_fail(err, "internal", "the inbox address is not an address");
    if (compose_check(req, err) != 0)
        return -1;
    /* The display name is ours (the inbox row), not the caller's: made
     * safe rather than refused -- controls become spaces, bad UTF-8 dropped. */
    if (req->display_name != NULL && utf8_is_valid(req->display_name, strlen(req->display_name))) {
        size_t n = 0;
        for (const char *p = req->display_name; *p && n < COMPOSE_MAX_NAME; p++)
            name[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
        name[n] = '\0';
    }
    if (compose_message_id(from_key, out->message_id, sizeof(out->message_id)) != 0)
        return compose_fail(err, "internal", "no random bytes for the Message-ID");
    out->rcpts = calloc(req->to_count + req->cc_count, sizeof(char *));
    addrs = calloc(req->to_count + req->cc_count, sizeof(*addrs));
    if (out->rcpts == NULL || addrs == NULL) {
        free(addrs);
        compose_message_free(out);
        return compose_fail(err, "internal", "out of memory");
    }

    msg = g_mime_message_new(TRUE);
    g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, name[0] ? name : NULL, from_key);
    if (compose_add_list(msg, GMIME_ADDRESS_TYPE_TO, "to", req->to, req->to_count, addrs, 0, out, err) != 0 ||
        compose_add_list(msg, GMIME_ADDRESS_TYPE_CC, "cc", req->cc, req->cc_count, addrs, req->to_count, out, err) != 0)
        goto done;
    {
        char *subject = g_strndup(req->subject.data, req->subject.len);
        g_mime_message_set_subject(msg, subject, "utf-8");
        g_free(subject);
    }
    now = g_date_time_new_now_utc();
    g_mime_message_set_date(msg, now);
    g_date_time_unref(now);
    {
        /* GMime wants the id without the angle brackets. */
        char bare[sizeof(out->message_id)];
        snprintf(bare, sizeof(bare), "%.*s", (int)strlen(out->message_id) - 2, out->message_id + 1);
        g_mime_message_set_message_id(msg, bare);
    }
    if (req->in_reply_to.data != NULL) {
        char *v = g_strndup(req->in_reply_to.data, req->in_reply_to.len);
        g_mime_object_set_header(GMIME_OBJECT(msg), "In-Reply-To", v, NULL);
        g_free(v);
    }
    if (req->references_count > 0) {
        GString *refs = g_string_new(NULL);
        for (size_t i = 0; i < req->references_count; i++) {
            if (i > 0)
                g_string_append_c(refs, ' ');
            g_string_append_len(refs, req->references[i].data, (gssize)req->references[i].len);
        }
        g_mime_object_set_header(GMIME_OBJECT(msg), "References", refs->str, NULL);
        g_string_free(refs, TRUE);
    }

    if (req->text.data != NULL && req->html.data != NULL) {
        GMimeMultipart *alt = g_mime_multipart_new_with_subtype("alternative");
        GMimeObject *text = compose_text_part("plain", &req->text);
        GMimeObject *html = compose_text_part("html", &req->html);
        g_mime_multipart_add(alt, text);
        g_mime_multipart_add(alt, html);
        g_object_unref(text);
        g_object_unref(html);
        body = GMIME_OBJECT(alt);
    } else if (req->text.data != NULL) {
        body = compose_text_part("plain", &req->text);
    } else {
        body = compose_text_part("html", &req->html);
    }
    g_mime_message_set_mime_part(msg, body);

    format = g_mime_format_options_new();
    g_mime_format_options_set_newline_format(format, GMIME_NEWLINE_FORMAT_DOS);
    out->data = g_mime_object_to_string(GMIME_OBJECT(msg), format);
    if (out->data == NULL) {
        compose_fail(err, "internal", "GMime could not write the message");
        goto done;
    }
    out->len = strlen(out->data);
    if (!compose_crlf_only(out->data, out->len)) {
        compose_fail(err, "internal", "GMime wrote a line end that is not CRLF");
        goto done;
    }
    if (compose_read_back(out, from_key, addrs, req->to_count, req->cc_count, err) != 0)
        goto done;
    rc = 0;
done:
    free(addrs);
    if (format != NULL)
        g_mime_format_options_free(format);
    if (body != NULL)
        g_object_unref(body);
    g_object_unref(msg);
    if (rc != 0)
        compose_message_free(out);
    return rc;
}
