/*
 * dsn.c -- DSN (RFC 3464), ARF (RFC 5965) and non-standard bounce
 * recognition.  See dsn.h.
 *
 * GMime parses the MIME structure and also the field blocks of a
 * message/delivery-status or message/feedback-report part (each block is
 * handed to GMime's header parser, so folding and encoded words are its
 * business).  The heuristics for non-standard bounces work on the decoded
 * UTF-8 text of the text/plain (else text/html) parts.
 */
#define _GNU_SOURCE /* strcasestr */
#include "dsn.h"

#include <ctype.h>
#include <gmime/gmime.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "autoreply.h"
#include "bounce_class.h"
#include "gmime_guard.h"
#include "utf8.h"

#define DSN_MAX_PARTS 200           /* MIME parts visited */
#define DSN_MAX_DEPTH 8             /* multipart nesting followed */
#define DSN_MAX_TEXT (256 * 1024)   /* human-readable text searched by heuristics */
#define DSN_MAX_STATUS_TEXT (4 << 20) /* delivery-status content read */
#define DSN_ARF_ASSUMED_TYPE "abuse" /* a feedback report without Feedback-Type (dsn.h) */

/* ---- small string helpers ------------------------------------------------------ */

/* Sanitized, trimmed copy of s[0..len), at most max bytes; NULL if empty. */
static char *
clean(const char *s, size_t len, size_t max)
{
    if (s == NULL)
        return NULL;
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0)
        return NULL;
    char *out = utf8_sanitize(s, len, max);
    if (out == NULL)
        return NULL;
    /* Unfolded values keep the folding whitespace: one space is enough. */
    size_t o = 0;
    for (size_t i = 0; out[i]; i++) {
        int space = out[i] == ' ' || out[i] == '\t';
        if (space && (o == 0 || out[o - 1] == ' '))
            continue;
        out[o++] = space ? ' ' : out[i];
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    if (out[0] == '\0') {
        free(out);
        return NULL;
    }
    return out;
}

static char *
clean_z(const char *s, size_t max)
{
    return s ? clean(s, strlen(s), max) : NULL;
}

/* The value after "type;" (Final-Recipient: rfc822; a@b), without <>. */
static char *
typed_value(const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    const char *semi = strchr(s, ';');
    const char *v = semi ? semi + 1 : s;
    while (isspace((unsigned char)*v))
        v++;
    size_t len = strlen(v);
    while (len > 0 && isspace((unsigned char)v[len - 1]))
        len--;
    if (len >= 2 && v[0] == '<' && v[len - 1] == '>') {
        v++;
        len -= 2;
    }
    return clean(v, len, max);
}

/* Position of an RFC 3463 status code "C.S.D" in s, its length in *out_len. */
static const char *
find_status_code(const char *s, size_t len, size_t *out_len)
{
    for (size_t i = 0; i + 5 <= len; i++) {
        if (s[i] != '2' && s[i] != '4' && s[i] != '5')
            continue;
        if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.'))
            continue;
        size_t j = i + 1, digits;
        if (s[j++] != '.')
            continue;
        for (digits = 0; j < len && isdigit((unsigned char)s[j]) && digits < 4; j++)
            digits++;
        if (digits == 0 || digits > 3 || j >= len || s[j] != '.')
            continue;
        j++;
        for (digits = 0; j < len && isdigit((unsigned char)s[j]) && digits < 4; j++)
            digits++;
        if (digits == 0 || digits > 3)
            continue;
        if (j < len && (isalnum((unsigned char)s[j]) || (s[j] == '.' && j + 1 < len &&
                                                         isdigit((unsigned char)s[j + 1]))))
            continue;
        *out_len = j - i;
        return s + i;
    }
    return NULL;
}

/* An SMTP reply code 4xx/5xx standing alone ("550 ", "554:", "#550"). */
static const char *
find_reply_code(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) {
        if ((s[i] != '4' && s[i] != '5') || !isdigit((unsigned char)s[i + 1]) ||
            !isdigit((unsigned char)s[i + 2]))
            continue;
        if (i > 0 && (isalnum((unsigned char)s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-'))
            continue;
        if (i + 3 < len && s[i + 3] != ' ' && s[i + 3] != '-' && s[i + 3] != ':' && s[i + 3] != '\'')
            continue;
        return s + i;
    }
    return NULL;
}

/* The status in s: an X.Y.Z code, else X.0.0 from a reply code; NULL if none. */
static char *
status_from_text(const char *s)
{
    size_t len, code_len;
    const char *code;
    if (s == NULL)
        return NULL;
    len = strlen(s);
    if ((code = find_status_code(s, len, &code_len)) != NULL)
        return clean(code, code_len, DSN_MAX_FIELD);
    if ((code = find_reply_code(s, len)) != NULL) {
        char generic[6] = { code[0], '.', '0', '.', '0', '\0' };
        return strdup(generic);
    }
    return NULL;
}

/* A Status field, only if it is a valid code ("5.1.1 (comment)" -> "5.1.1"). */
static char *
status_field(const char *s)
{
    size_t code_len;
    if (s == NULL)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    const char *code = find_status_code(s, strlen(s), &code_len);
    return code == s ? clean(code, code_len, DSN_MAX_FIELD) : NULL;
}

static char *
action_field(const char *s)
{
    static const char *const actions[] = { "failed", "delayed", "delivered", "relayed", "expanded" };
    if (s == NULL)
        return NULL;
    while (isspace((unsigned char)*s))
        s++;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
        size_t n = strlen(actions[i]);
        if (strncasecmp(s, actions[i], n) == 0 && !isalpha((unsigned char)s[n]))
            return strdup(actions[i]);
    }
    return NULL;
}

/* Hard or soft: the status class decides (5 hard, 4 soft; so an expired
 * message, "failed" with 4.4.7, is soft: the address is not known bad);
 * without a 4/5 status the action decides. */
static dsn_type_t
classify(const char *action, const char *status)
{
    if (status && status[0] == '5')
        return DSN_TYPE_HARD;
    if (status && status[0] == '4')
        return DSN_TYPE_SOFT;
    if (action && strcmp(action, "failed") == 0)
        return DSN_TYPE_HARD;
    if (action && strcmp(action, "delayed") == 0)
        return DSN_TYPE_SOFT;
    return DSN_TYPE_NONE;
}

static char *
message_id_value(const char *raw)
{
    if (raw == NULL)
        return NULL;
    char *id = g_mime_utils_decode_message_id(raw);
    char *out = clean_z(id, DSN_MAX_MESSAGE_ID);
    g_free(id);
    return out;
}

/* ---- report and recipients -------------------------------------------------- */

static void
recipient_free(dsn_recipient_t *rcpt)
{
    free(rcpt->address);
    free(rcpt->original);
    free(rcpt->action);
    free(rcpt->status);
    free(rcpt->diagnostic);
    free(rcpt->remote_mta);
}

void
dsn_report_free(dsn_report_t *report)
{
    if (report == NULL)
        return;
    for (size_t i = 0; i < report->recipient_count; i++)
        recipient_free(&report->recipients[i]);
    free(report->recipients);
    char **fields[] = { &report->original_message_id, &report->original_queue_id,
                        &report->original_envelope_id, &report->reporting_mta,
                        &report->feedback_type, &report->user_agent, &report->original_mail_from,
                        &report->original_rcpt_to, &report->arrival_date, &report->source_ip,
                        &report->reported_domain };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        free(*fields[i]);
    memset(report, 0, sizeof(*report));
}

/* Appends a zeroed recipient that takes ownership of address; NULL (and
 * address freed) when full or out of memory. */
static dsn_recipient_t *
recipient_add(dsn_report_t *report, char *address)
{
    static const size_t first = 8;
    if (address == NULL)
        return NULL;
    if (report->recipient_count == DSN_MAX_RECIPIENTS) {
        report->truncated = 1;
        free(address);
        return NULL;
    }
    size_t n = report->recipient_count;
    if (n == 0 || (n >= first && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? first : n * 2;
        dsn_recipient_t *grown = realloc(report->recipients, cap * sizeof(*grown));
        if (grown == NULL) {
            free(address);
            return NULL;
        }
        report->recipients = grown;
    }
    dsn_recipient_t *rcpt = &report->recipients[report->recipient_count++];
    memset(rcpt, 0, sizeof(*rcpt));
    rcpt->address = address;
    return rcpt;
}

static dsn_recipient_t *
recipient_find(dsn_report_t *report, const char *address)
{
    for (size_t i = 0; i < report->recipient_count; i++)
        if (strcasecmp(report->recipients[i].address, address) == 0)
            return &report->recipients[i];
    return NULL;
}

/* ---- field blocks (message/delivery-status, message/feedback-report) ------- */

/* raw[0..len) as a message, its address headers through lib/mail/gmime_guard
 * first; NULL if GMime finds no message or out of memory. */
static GMimeMessage *
message_parse(const char *raw, size_t len)
{
    char *defused;
    if (gmime_guard_message(raw, len, &defused) < 0)
        return NULL;
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(defused ? defused : raw, len); /* a copy */
    free(defused);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
    g_object_unref(parser);
    g_object_unref(stream);
    return msg;
}

/* GMime reads one block of "Name: value" fields as a message's headers. */
static GMimeObject *
fields_parse(const char *block, size_t len)
{
    GMimeMessage *fields = message_parse(block, len);
    return fields ? GMIME_OBJECT(fields) : NULL;
}

static const char *
field(GMimeObject *fields, const char *name)
{
    return fields ? g_mime_object_get_header(fields, name) : NULL;
}

static int
blank_line(const char *p, const char *end)
{
    while (p < end && *p != '\n') {
        if (*p != ' ' && *p != '\t' && *p != '\r')
            return 0;
        p++;
    }
    return 1;
}

/* The next block of non-blank lines at or after *pos; 0 when none left. */
static int
next_block(const char *text, size_t len, size_t *pos, size_t *start, size_t *block_len)
{
    const char *end = text + len, *p = text + *pos;
    while (p < end && blank_line(p, end)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    if (p == end)
        return 0;
    *start = (size_t)(p - text);
    while (p < end && !blank_line(p, end)) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        p = nl ? nl + 1 : end;
    }
    *block_len = (size_t)(p - text) - *start;
    *pos = (size_t)(p - text);
    return 1;
}

static void
recipient_from_fields(dsn_report_t *report, GMimeObject *fields)
{
    const char *final = field(fields, "Final-Recipient");
    const char *original = field(fields, "Original-Recipient");
    char *address = typed_value(final ? final : original, DSN_MAX_ADDRESS);
    dsn_recipient_t *rcpt = recipient_add(report, address);
    if (rcpt == NULL)
        return;
    rcpt->original = typed_value(original, DSN_MAX_ADDRESS);
    rcpt->action = action_field(field(fields, "Action"));
    rcpt->diagnostic = typed_value(field(fields, "Diagnostic-Code"), DSN_MAX_DIAGNOSTIC);
    rcpt->remote_mta = typed_value(field(fields, "Remote-MTA"), DSN_MAX_FIELD);
    rcpt->status = status_field(field(fields, "Status"));
    if (rcpt->status == NULL)
        rcpt->status = status_from_text(rcpt->diagnostic);
    rcpt->type = classify(rcpt->action, rcpt->status);
}

static void
per_message_fields(dsn_report_t *report, GMimeObject *fields)
{
    if (report->original_queue_id == NULL)
        report->original_queue_id = clean_z(field(fields, "X-Postfix-Queue-ID"), DSN_MAX_FIELD);
    if (report->original_envelope_id == NULL)
        report->original_envelope_id = clean_z(field(fields, "Original-Envelope-Id"), DSN_MAX_FIELD);
    if (report->reporting_mta == NULL)
        report->reporting_mta = typed_value(field(fields, "Reporting-MTA"), DSN_MAX_FIELD);
    /* Gmail and others name the original here; a returned copy overrides it. */
    if (report->original_message_id == NULL) {
        const char *id = field(fields, "Original-Message-ID");
        report->original_message_id = message_id_value(id ? id : field(fields, "X-Original-Message-ID"));
    }
}

/* RFC 3464 section 2.1: one per-message block, then one per recipient. */
static void
parse_delivery_status(dsn_report_t *report, const char *text, size_t len)
{
    size_t pos = 0, start, block_len, blocks = 0;
    while (next_block(text, len, &pos, &start, &block_len)) {
        /* Blocks without a recipient cost a parse too: bound them. */
        if (++blocks > DSN_MAX_RECIPIENTS + 16) {
            report->truncated = 1;
            break;
        }
        GMimeObject *fields = fields_parse(text + start, block_len);
        if (fields == NULL)
            continue;
        if (field(fields, "Final-Recipient") || field(fields, "Original-Recipient"))
            recipient_from_fields(report, fields);
        else
            per_message_fields(report, fields);
        g_object_unref(fields);
        if (report->truncated)
            break;
    }
}

static void
parse_feedback_report(dsn_report_t *report, const char *text, size_t len)
{
    size_t pos = 0, start, block_len;
    /* One block in RFC 5965; tolerate stray blank lines inside it. */
    for (int blocks = 0; blocks < 4 && next_block(text, len, &pos, &start, &block_len); blocks++) {
        GMimeObject *fields = fields_parse(text + start, block_len);
        if (fields == NULL)
            continue;
        struct {
            const char *name;
            char **dest;
            size_t max;
        } wanted[] = {
            { "Feedback-Type", &report->feedback_type, DSN_MAX_FIELD },
            { "User-Agent", &report->user_agent, DSN_MAX_FIELD },
            { "Original-Mail-From", &report->original_mail_from, DSN_MAX_ADDRESS },
            { "Original-Rcpt-To", &report->original_rcpt_to, DSN_MAX_ADDRESS },
            { "Arrival-Date", &report->arrival_date, DSN_MAX_FIELD },
            { "Received-Date", &report->arrival_date, DSN_MAX_FIELD },
            { "Source-IP", &report->source_ip, DSN_MAX_FIELD },
            { "Reported-Domain", &report->reported_domain, DSN_MAX_FIELD },
            { "Original-Envelope-Id", &report->original_envelope_id, DSN_MAX_FIELD },
            { "Reporting-MTA", &report->reporting_mta, DSN_MAX_FIELD },
        };
        for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
            const char *value = field(fields, wanted[i].name);
            if (*wanted[i].dest != NULL || value == NULL)
                continue;
            if (strcmp(wanted[i].name, "Original-Mail-From") == 0 ||
                strcmp(wanted[i].name, "Original-Rcpt-To") == 0 ||
                strcmp(wanted[i].name, "Reporting-MTA") == 0)
                *wanted[i].dest = typed_value(value, wanted[i].max);
            else
                *wanted[i].dest = clean_z(value, wanted[i].max);
        }
        g_object_unref(fields);
    }
    /* "Abuse", "abuse; spam", "abuse (user complaint)": the first word, lower case. */
    if (report->feedback_type) {
        char *p = report->feedback_type;
        for (; *p && !isspace((unsigned char)*p) && *p != ';' && *p != '(' && *p != ','; p++)
            *p = (char)tolower((unsigned char)*p);
        *p = '\0';
        if (report->feedback_type[0] == '\0') {
            free(report->feedback_type);
            report->feedback_type = NULL;
        }
    }
}

/* ---- walking the MIME tree ---------------------------------------------------- */

typedef struct {
    GMimeObject *report;       /* first multipart/report */
    GMimeObject *status_part;  /* message/(global-)delivery-status */
    GMimeObject *feedback_part; /* message/feedback-report */
    GMimeObject *original;     /* first message/rfc822 or text/rfc822-headers */
    GString *text;             /* text/plain, capped */
    GString *html;             /* text/html, capped, used only without text/plain */
    int parts;
} walk_t;

static int
is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

static void
append_capped(GString *dest, const char *s)
{
    if (s == NULL || dest->len >= DSN_MAX_TEXT)
        return;
    size_t len = strlen(s), room = DSN_MAX_TEXT - dest->len;
    g_string_append_len(dest, s, (gssize)(len < room ? len : room));
    g_string_append_c(dest, '\n');
}

static void
walk(walk_t *w, GMimeObject *obj, int depth)
{
    if (obj == NULL || w->parts++ >= DSN_MAX_PARTS)
        return;
    if (GMIME_IS_MULTIPART(obj)) {
        if (depth >= DSN_MAX_DEPTH)
            return;
        if (w->report == NULL && is_type(obj, "multipart", "report"))
            w->report = obj;
        GMimeMultipart *multi = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(multi);
        for (int i = 0; i < count && w->parts < DSN_MAX_PARTS; i++)
            walk(w, g_mime_multipart_get_part(multi, i), depth + 1);
        return;
    }
    if (is_type(obj, "message", "delivery-status") || is_type(obj, "message", "global-delivery-status")) {
        if (w->status_part == NULL)
            w->status_part = obj;
        return;
    }
    if (is_type(obj, "message", "feedback-report")) {
        if (w->feedback_part == NULL)
            w->feedback_part = obj;
        return;
    }
    if (GMIME_IS_MESSAGE_PART(obj) || is_type(obj, "text", "rfc822-headers") ||
        is_type(obj, "message", "global-headers")) {
        /* The returned message: not searched for text, its words are not the bounce's. */
        if (w->original == NULL)
            w->original = obj;
        return;
    }
    if (GMIME_IS_TEXT_PART(obj)) {
        GString *dest = is_type(obj, "text", "plain") ? w->text : is_type(obj, "text", "html") ? w->html : NULL;
        if (dest != NULL && dest->len < DSN_MAX_TEXT) {
            char *text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
            append_capped(dest, text);
            g_free(text);
        }
    }
}

/* The decoded content of a leaf part, at most max bytes (a GString). */
static GString *
part_content(GMimeObject *obj, size_t max)
{
    GByteArray *bytes = g_byte_array_new();
    GMimeStream *stream = g_mime_stream_mem_new_with_byte_array(bytes);
    g_mime_stream_mem_set_owner(GMIME_STREAM_MEM(stream), FALSE);
    if (GMIME_IS_PART(obj)) {
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
        if (content)
            g_mime_data_wrapper_write_to_stream(content, stream);
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner)
            g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, stream);
    }
    g_object_unref(stream);
    GString *out = g_string_new_len((const char *)bytes->data, (gssize)(bytes->len < max ? bytes->len : max));
    g_byte_array_free(bytes, TRUE);
    return out;
}

/* Message-ID of the returned message or returned headers. */
static char *
original_message_id(GMimeObject *obj)
{
    if (obj == NULL)
        return NULL;
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        return inner ? clean_z(g_mime_message_get_message_id(inner), DSN_MAX_MESSAGE_ID) : NULL;
    }
    GString *headers = part_content(obj, 256 * 1024);
    /* A blank line ends the headers even when the part held the body too. */
    g_string_append(headers, "\n\n");
    GMimeObject *fields = fields_parse(headers->str, headers->len);
    char *id = fields ? message_id_value(field(fields, "Message-ID")) : NULL;
    if (fields)
        g_object_unref(fields);
    g_string_free(headers, TRUE);
    return id;
}

/* ---- heuristics for non-standard bounces -------------------------------------- */

static int
contains(const char *haystack, const char *needle)
{
    return haystack != NULL && needle != NULL && strcasestr(haystack, needle) != NULL;
}

/* Whether the headers say "bounce": without this the text is not searched,
 * so a person quoting an NDR is not taken for one. */
static int
looks_like_bounce(GMimeMessage *msg)
{
    static const char *const senders[] = { "mailer-daemon", "postmaster", "mail delivery", "mail-daemon",
                                           "mailer_daemon", "mail router", "mail administrator",
                                           "courier mail server", "mdaemon", "interscan" };
    static const char *const subjects[] = { "undeliver", "delivery status notification", "failure notice",
                                            "returned mail", "delivery failure", "mail delivery failed",
                                            "delivery has failed", "could not be delivered",
                                            "delayed mail", "delivery delayed", "non-delivery",
                                            "nondeliverable", "mail delivery status", "mail system error",
                                            "delivery_failure", "unzustellbar", "non remis" };
    GMimeObject *obj = GMIME_OBJECT(msg);
    const char *from = g_mime_object_get_header(obj, "From");
    const char *subject = g_mime_object_get_header(obj, "Subject");
    const char *return_path = g_mime_object_get_header(obj, "Return-Path");
    if (return_path != NULL) {
        const char *p = return_path;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "<>", 2) == 0)
            return 1;
    }
    if (g_mime_object_get_header(obj, "X-Failed-Recipients") != NULL)
        return 1;
    for (size_t i = 0; i < sizeof(senders) / sizeof(senders[0]); i++)
        if (contains(from, senders[i]))
            return 1;
    /* "Fwd: Undeliverable: ..." is a person passing a bounce on. */
    const char *s = subject;
    while (s != NULL && isspace((unsigned char)*s))
        s++;
    if (s != NULL && (strncasecmp(s, "re:", 3) == 0 || strncasecmp(s, "fw:", 3) == 0 ||
                      strncasecmp(s, "fwd:", 4) == 0 || strncasecmp(s, "aw:", 3) == 0 ||
                      strncasecmp(s, "wg:", 3) == 0 || strncasecmp(s, "tr:", 3) == 0))
        return 0;
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++)
        if (contains(subject, subjects[i]))
            return 1;
    return 0;
}

/* A bounce format's signature.  It matches when From holds `from`,
 * Subject holds `subject` and the header `header` holds `header_has`
 * (each when given), the text before the returned copy holds one of
 * `body` (when any is given) and `also` (when given).
 * First match wins, so the specific come before the general (GMX and Zoho
 * write Exim's sentence; Office 365 writes Exchange's).  The recipients
 * and diagnostics of every format are read by the same line rules
 * (parse_heuristic); `rcpt_header` names a header that holds the failed
 * recipient in this format only. */
typedef struct {
    const char *mta;
    const char *from;
    const char *subject;
    const char *body[4];
    const char *also;
    const char *rcpt_header;
    const char *header;
    const char *header_has;
} dsn_format_t;

static const dsn_format_t dsn_formats[] = {
    { .mta = "qmail", .body = { "This is the qmail-send program", "qmail-send program at",
                                "I'm afraid I wasn't able to deliver your message" } },
    { .mta = "opensmtpd", .body = { "This is the MAILER-DAEMON, please DO NOT REPLY" } },
    { .mta = "dragonfly", .body = { "This is the DragonFly Mail Agent" }, .rcpt_header = "X-Original-To" },
    { .mta = "courier", .body = { "running the Courier mail server", "Courier mail server at" } },
    { .mta = "postfix", .body = { "This is the mail system at host", "This is the Postfix program at host" } },
    { .mta = "interscan", .body = { "Sent <<< RCPT TO", "Received >>> ", "InterScan" } },
    { .mta = "mxlogic", .from = "mxlogic" },
    { .mta = "mxlogic", .body = { "mxlogic.net", "MXL Delivery" } },
    { .mta = "gmx", .from = "gmx." },
    { .mta = "zoho", .from = "zoho" },
    { .mta = "verizon", .from = "verizon" },
    { .mta = "verizon", .body = { "This Message was undeliverable due to the following reason" } },
    { .mta = "googlegroups", .body = { "the group you tried to contact", "Google Groups" } },
    { .mta = "amazonses", .from = "amazonses.com" },
    { .mta = "workmail", .from = "awsapps.com" },
    { .mta = "workmail", .body = { "Amazon WorkMail" } },
    { .mta = "yahoo", .body = { "unable to deliver your message to the following address" } },
    { .mta = "exim", .body = { "created automatically by mail delivery software" } },
    { .mta = "office365", .body = { "Office 365", "protection.outlook.com", "exchangelabs.com", "Microsoft 365" },
      .also = "Diagnostic information for administrators" },
    { .mta = "exchange2003", .body = { "did not reach some or all of the intended recipients",
                                       "The following recipient(s) could not be reached" } },
    { .mta = "exchange", .body = { "Delivery has failed to these recipients or groups",
                                   "Diagnostic information for administrators", "couldn't be delivered",
                                   "Remote Server returned" } },
    { .mta = "domino", .body = { "not listed in Domino Directory", "not listed in public Name & Address Book" } },
    { .mta = "domino", .body = { "was not delivered to:" }, .also = "because:" },
    { .mta = "imail", .header = "X-Mailer", .header_has = "IMail" },
    { .mta = "imail", .subject = "Undeliverable Mail", .body = { "Unknown user:", "user mailbox is full:",
                                                                  "Delivery failed", "Invalid final delivery userid" } },
    { .mta = "sendmail", .body = { "----- Transcript of session follows -----",
                                   "The following addresses had permanent fatal errors",
                                   "----- Unsent message follows -----", "The original message was received at" } },
    { .mta = "gmail", .body = { "address not found", "wasn't delivered to", "Technical details of permanent failure",
                                "Delivery to the following recipient failed" } },
    { .mta = "gmail", .from = "googlemail.com" },
};

static const dsn_format_t *
format_match(GMimeMessage *msg, const char *region)
{
    GMimeObject *obj = GMIME_OBJECT(msg);
    const char *from = g_mime_object_get_header(obj, "From");
    const char *subject = g_mime_object_get_header(obj, "Subject");
    for (size_t i = 0; i < sizeof(dsn_formats) / sizeof(dsn_formats[0]); i++) {
        const dsn_format_t *f = &dsn_formats[i];
        if ((f->from && !contains(from, f->from)) || (f->subject && !contains(subject, f->subject)) ||
            (f->header && !contains(g_mime_object_get_header(obj, f->header), f->header_has)) ||
            (f->also && !contains(region, f->also)))
            continue;
        int hit = f->body[0] == NULL;
        for (size_t k = 0; !hit && k < sizeof(f->body) / sizeof(f->body[0]) && f->body[k]; k++)
            hit = contains(region, f->body[k]);
        if (hit)
            return f;
    }
    return NULL;
}

static int
address_char(unsigned char c)
{
    return isalnum(c) || (c >= 0x80) || strchr(".!#$%&'*+/=?^_`{|}~-@", c) != NULL;
}

/* A plausible address: local@domain.tld, no spaces. */
static int
plausible_address(const char *s, size_t len)
{
    const char *at = memchr(s, '@', len);
    if (len < 5 || len > DSN_MAX_ADDRESS || at == NULL || at == s || at == s + len - 1)
        return 0;
    if (memchr(at + 1, '@', len - (size_t)(at + 1 - s)) != NULL)
        return 0;
    if (memchr(at + 1, '.', len - (size_t)(at + 1 - s)) == NULL || s[len - 1] == '.')
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!address_char((unsigned char)s[i]))
            return 0;
    return 1;
}

/* A line that is only an address ("  a@b", "<a@b>:", "\"a@b\":", "a@b:"), else NULL. */
static char *
address_line(const char *line, size_t len)
{
    while (len > 0 && isspace((unsigned char)*line)) {
        line++;
        len--;
    }
    while (len > 0 && (isspace((unsigned char)line[len - 1]) || line[len - 1] == ':' || line[len - 1] == ','))
        len--;
    if (len >= 2 && ((line[0] == '<' && line[len - 1] == '>') || (line[0] == '"' && line[len - 1] == '"'))) {
        line++;
        len -= 2;
    }
    return plausible_address(line, len) ? clean(line, len, DSN_MAX_ADDRESS) : NULL;
}

/* Length of the address at s (optionally in <> or ""), 0 if none; the
 * address itself in [*addr, *addr + *addr_len). */
static size_t
address_at(const char *s, size_t len, const char **addr, size_t *addr_len)
{
    size_t i = 0;
    char close = 0;
    if (len > 0 && (s[0] == '<' || s[0] == '"')) {
        close = s[0] == '<' ? '>' : '"';
        i = 1;
    }
    size_t start = i;
    while (i < len && address_char((unsigned char)s[i]) && !(s[i] == '.' && i + 2 < len && s[i + 1] == '.'))
        i++;
    size_t stop = i;
    while (stop > start && (s[stop - 1] == '.' || s[stop - 1] == ','))
        stop--;
    if (!plausible_address(s + start, stop - start))
        return 0;
    if (close) {
        if (i >= len || s[i] != close)
            return 0;
        i++;
    } else {
        i = stop;
    }
    *addr = s + start;
    *addr_len = stop - start;
    return i;
}

/* "a@b: 550 reply", "<a@b>... User unknown", "a@b, ERROR CODE :550 ...",
 * "a@b on 1/2/2005 10:00 AM": the address and, in *rest, what follows. */
static char *
leading_address(const char *s, size_t len, const char **rest, size_t *rest_len)
{
    const char *addr;
    size_t addr_len, i = address_at(s, len, &addr, &addr_len);
    if (i == 0 || i >= len)
        return NULL;
    if (s[i] == ':' || s[i] == ',' || s[i] == ';') {
        i++;
    } else if (len - i >= 3 && strncmp(s + i, "...", 3) == 0) {
        i += 3;
    } else if (len - i >= 4 && strncasecmp(s + i, " on ", 4) == 0) {
        i = len; /* Exchange 2003: the date says nothing */
    } else if (len - i >= 3 && strncmp(s + i, " - ", 3) == 0) {
        i += 3;
    } else if (len - i >= 2 && s[i] == ' ' && s[i + 1] == '(') {
        i += 1;
    } else {
        return NULL;
    }
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    *rest = s + i;
    *rest_len = len - i;
    return clean(addr, addr_len, DSN_MAX_ADDRESS);
}

/* "550 <a@b>... User unknown", "550 5.1.1 a@b... User unknown",
 * "553 5.3.0 <a@b>: ...": a reply that names the recipient first. */
static char *
code_address(const char *s, size_t len)
{
    size_t i = 0, code_len;
    if (len < 8 || (s[0] != '4' && s[0] != '5') || !isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]) ||
        (s[3] != ' ' && s[3] != '-'))
        return NULL;
    i = 4;
    const char *status = find_status_code(s + i, len - i, &code_len);
    if (status == s + i)
        i += code_len;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    const char *rest;
    size_t rest_len;
    return leading_address(s + i, len - i, &rest, &rest_len);
}

/* Labels of "Label: a@b" lines that do not name a failed recipient. */
static const char *const label_ignored[] = { "from", "to", "cc", "bcc", "reply-to", "sender", "return-path",
                                             "message-id", "in-reply-to", "references", "delivered-to",
                                             "envelope-to", "original-recipient", "x-", "generating server",
                                             "reporting-mta", "sent", "mail from", "for further assistance",
                                             "contact", "please" };

static int line_contains(const char *line, size_t len, const char *needle);

/* A label must say what failed ("Unknown user:", "Invalid recipient:"),
 * so that "Email: info@shop.example" in a notice is not a recipient. */
static const char *const label_words[] = { "user", "recipient", "mailbox", "address", "unknown", "invalid", "fail",
                                           "error", "reject", "quota", "full", "deliver", "bad", "no such" };

/* "Unknown user: a@b", "Invalid recipient: <a@b>", "Final-Recipient: rfc822; a@b". */
static char *
label_address(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len < 80 ? len : 80);
    if (colon == NULL || colon == s || memchr(s, '@', (size_t)(colon - s)) != NULL)
        return NULL;
    size_t label_len = (size_t)(colon - s);
    for (size_t i = 0; i < sizeof(label_ignored) / sizeof(label_ignored[0]); i++) {
        size_t n = strlen(label_ignored[i]);
        if (label_len >= n && strncasecmp(s, label_ignored[i], n) == 0 &&
            (label_len == n || label_ignored[i][n - 1] == '-'))
            return NULL;
    }
    int says_failure = 0;
    for (size_t i = 0; !says_failure && i < sizeof(label_words) / sizeof(label_words[0]); i++)
        says_failure = line_contains(s, label_len, label_words[i]);
    if (!says_failure)
        return NULL;
    const char *v = colon + 1, *end = s + len;
    if ((size_t)(end - v) > 7 && strncasecmp(v, " rfc822;", 8) == 0)
        v += 8;
    return address_line(v, (size_t)(end - v));
}

/* The address in "RCPT TO:<a@b>" or "RCPT To: a@b". */
static char *
rcpt_to_address(const char *s, size_t len)
{
    const char *colon = memchr(s, ':', len);
    if (colon == NULL)
        return NULL;
    const char *v = colon + 1, *end = s + len;
    while (v < end && isspace((unsigned char)*v))
        v++;
    const char *addr;
    size_t addr_len;
    if (address_at(v, (size_t)(end - v), &addr, &addr_len) == 0)
        return NULL;
    return clean(addr, addr_len, DSN_MAX_ADDRESS);
}

/* The first address after a phrase ("wasn't delivered to a@b because"). */
static char *
address_after(const char *begin, const char *p, const char *end)
{
    while (p < end && *p != '@' && *p != '\n')
        p++;
    if (p == end || *p != '@')
        return NULL;
    const char *start = p, *stop = p + 1;
    while (start > begin && (size_t)(p - start) < DSN_MAX_ADDRESS && start[-1] != '\n' &&
           address_char((unsigned char)start[-1]) &&
           start[-1] != '@')
        start--;
    while (stop < end && address_char((unsigned char)*stop) && *stop != '@')
        stop++;
    while (stop > start && (stop[-1] == '.' || stop[-1] == ','))
        stop--;
    return plausible_address(start, (size_t)(stop - start)) ? clean(start, (size_t)(stop - start), DSN_MAX_ADDRESS)
                                                           : NULL;
}

/* Whether line[0..len) holds needle, ignoring case (line is not NUL-terminated). */
static const char *memmem_case(const char *line, size_t len, const char *needle);

static int
line_contains(const char *line, size_t len, const char *needle)
{
    return memmem_case(line, len, needle) != NULL;
}

/* Where line[0..len) holds needle, ignoring case; NULL if it does not. */
static const char *
memmem_case(const char *line, size_t len, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= len; i++)
        if (strncasecmp(line + i, needle, m) == 0)
            return line + i;
    return NULL;
}

static int
starts_with(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && strncasecmp(s, prefix, n) == 0;
}

/* Adds line to rcpt's diagnostic, unless the diagnostic says it already
 * (sendmail repeats the reply in its reason and its transcript). */
static void
diagnostic_append(dsn_recipient_t *rcpt, const char *line, size_t len)
{
    char *piece = clean(line, len, DSN_MAX_DIAGNOSTIC);
    if (piece == NULL)
        return;
    if (rcpt->diagnostic == NULL) {
        rcpt->diagnostic = piece;
        return;
    }
    size_t have = strlen(rcpt->diagnostic), add = strlen(piece);
    if (strcasestr(rcpt->diagnostic, piece) == NULL && have + 1 + add <= DSN_MAX_DIAGNOSTIC) {
        char *joined = realloc(rcpt->diagnostic, have + add + 2);
        if (joined != NULL) {
            joined[have] = ' ';
            memcpy(joined + have + 1, piece, add + 1);
            rcpt->diagnostic = joined;
        }
    }
    free(piece);
}

/* Where the copy of the original message starts in the text. */
static size_t
returned_copy_offset(const char *text, size_t len)
{
    static const char *const markers[] = { "--- Below this line is a copy of the message",
                                           "------ This is a copy of the message",
                                           "Original message headers:",
                                           "----- Original message",
                                           "----- The header of the original message is following",
                                           "----- Original Message -----",
                                           "Original message follows",
                                           "----- Unsent message follows",
                                           "Message headers follow",
                                           "Below is a copy of the original message",
                                           "------ Returned Message",
                                           "The original message headers are",
                                           "Included is a copy of the message header",
                                           "--- The header of the original message",
                                           "----- Message header follows",
                                           "Original Message Headers" };
    size_t best = len;
    for (size_t i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
        const char *hit = strcasestr(text, markers[i]);
        if (hit != NULL && (size_t)(hit - text) < best)
            best = (size_t)(hit - text);
    }
    return best;
}

/* A quoted "Message-ID: <...>" line in the returned copy (its value may
 * be folded onto the next line). */
static char *
quoted_message_id(const char *text, size_t from)
{
    for (const char *p = text + from; (p = strcasestr(p, "message-id:")) != NULL; p += 11) {
        if (p != text && p[-1] != '\n' && p[-1] != ' ' && p[-1] != '\t' && p[-1] != '>')
            continue;
        const char *value = p + 11, *eol = strchr(value, '\n');
        if (eol != NULL && eol[1] != '\0' && (eol[1] == ' ' || eol[1] == '\t')) {
            const char *next = strchr(eol + 1, '\n');
            eol = next;
        }
        size_t n = eol ? (size_t)(eol - value) : strlen(value);
        char *line = g_strndup(value, n < DSN_MAX_MESSAGE_ID ? n : DSN_MAX_MESSAGE_ID);
        char *id = message_id_value(line);
        g_free(line);
        if (id != NULL && strchr(id, '@') != NULL)
            return id;
        free(id);
    }
    return NULL;
}

/* Sentences that name a failed recipient (Gmail, Outlook.com, DragonFly, ...). */
static const char *const recipient_phrases[] = { "wasn't delivered to ", "was not delivered to ", "your message to ",
                                                 "could not be delivered to ", "delivery to the following recipient",
                                                 "error delivering your mail to ", "unable to deliver message to ",
                                                 "could not deliver mail to ", "couldn't be delivered to ",
                                                 "delivery to the following recipients failed",
                                                 "message could not be delivered to ", "failed to deliver to ",
                                                 "unable to deliver to ", "delivery failed for " };

/* Sentences that are themselves the reason (no code follows). */
static const char *const diagnostic_sentences[] = { "the group you tried to contact", "may not exist",
                                                    "not listed in", "does not exist", "is over quota",
                                                    "mailbox is full", "user unknown", "unknown user" };

/* After these, the next line is the reason for every recipient that has none. */
static const char *const diagnostic_leads[] = { "response from the remote server", "the response was",
                                                "the error that the other server returned was",
                                                "due to the following reason", "because:", "reason:",
                                                "remote host said:", "technical details of" };

/* Quoted SMTP dialogue: stripped before the line is read. */
static const char *const transcript_prefixes[] = { "Sent <<<", "Received >>>", "<<<", ">>>" };
/* Commands in a transcript: not a reply, never a diagnostic. */
static const char *const smtp_commands[] = { "RCPT TO", "MAIL FROM", "DATA", "EHLO", "HELO", "QUIT", "RSET",
                                             "end of data", "BDAT", "STARTTLS" };

/* Words that mark a delay warning rather than a failure. */
static const char *const soft_words[] = { "temporary", "not yet been delivered", "will retry", "will continue trying",
                                          "delayed", "will be retried", "could not send message for past",
                                          "is only a temporary failure" };

typedef struct {
    dsn_report_t *report;
    dsn_recipient_t *current;  /* the recipient the next lines describe */
    char *coded;               /* first line with a reply or status code */
    char *lead;                /* first line after a diagnostic_leads phrase */
    int want_lead;
    char *self;                /* the bounce's To: the original sender, never a recipient by label or phrase */
} text_state_t;

static dsn_recipient_t *
recipient_start(text_state_t *st, char *address)
{
    if (address == NULL)
        return NULL;
    dsn_recipient_t *rcpt = recipient_find(st->report, address);
    if (rcpt != NULL) {
        free(address);
        return rcpt;
    }
    return recipient_add(st->report, address);
}

static int
is_self(const text_state_t *st, const char *address)
{
    return address != NULL && st->self != NULL && strcasecmp(address, st->self) == 0;
}

/* One line of the human-readable text, [line, line + n). */
static void
text_line(text_state_t *st, const char *line, size_t n)
{
    const char *rest;
    size_t rest_len;
    char *address;

    while (n > 0 && isspace((unsigned char)*line)) {
        line++;
        n--;
    }
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    if (n == 0) {
        st->current = NULL;
        return;
    }
    for (size_t i = 0; i < sizeof(transcript_prefixes) / sizeof(transcript_prefixes[0]); i++) {
        if (starts_with(line, n, transcript_prefixes[i])) {
            size_t k = strlen(transcript_prefixes[i]);
            line += k;
            n -= k;
            while (n > 0 && isspace((unsigned char)*line)) {
                line++;
                n--;
            }
            break;
        }
    }
    for (size_t i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]); i++) {
        if (starts_with(line, n, smtp_commands[i])) {
            if (i == 0 && (address = rcpt_to_address(line, n)) != NULL)
                st->current = recipient_start(st, address);
            return;
        }
    }
    if ((address = address_line(line, n)) != NULL) {
        st->current = recipient_start(st, address);
        return;
    }
    if ((address = leading_address(line, n, &rest, &rest_len)) != NULL) {
        st->current = recipient_start(st, address);
        if (st->current != NULL && rest_len > 0)
            diagnostic_append(st->current, rest, rest_len);
        return;
    }
    if ((address = code_address(line, n)) != NULL ||
        ((address = label_address(line, n)) != NULL && !is_self(st, address))) {
        st->current = recipient_start(st, address);
        if (st->current != NULL)
            diagnostic_append(st->current, line, n);
        return;
    }
    free(address);
    /* A sentence naming the recipient: the lines after it are about it. */
    for (size_t i = 0; i < sizeof(recipient_phrases) / sizeof(recipient_phrases[0]); i++) {
        const char *hit = memmem_case(line, n, recipient_phrases[i]);
        if (hit == NULL)
            continue;
        address = address_after(line, hit + strlen(recipient_phrases[i]), line + n);
        if (address != NULL && !is_self(st, address)) {
            st->current = recipient_start(st, address);
            return;
        }
        free(address);
    }
    if (st->current != NULL)
        diagnostic_append(st->current, line, n);
    for (size_t i = 0; st->lead == NULL && i < sizeof(diagnostic_sentences) / sizeof(diagnostic_sentences[0]); i++)
        if (line_contains(line, n, diagnostic_sentences[i]))
            st->lead = clean(line, n, DSN_MAX_DIAGNOSTIC);
    size_t code_len;
    const char *body = line + (n > 0 && line[0] == '#');
    size_t body_n = n - (size_t)(body - line);
    int coded = find_status_code(line, n, &code_len) != NULL || find_reply_code(body, body_n < 4 ? body_n : 4) == body;
    if (st->coded == NULL && coded)
        st->coded = clean(line, n, DSN_MAX_DIAGNOSTIC);
    if (st->lead == NULL && st->want_lead)
        st->lead = clean(line, n, DSN_MAX_DIAGNOSTIC);
    st->want_lead = 0;
    for (size_t i = 0; st->lead == NULL && i < sizeof(diagnostic_leads) / sizeof(diagnostic_leads[0]); i++)
        if (line_contains(line, n, diagnostic_leads[i]))
            st->want_lead = 1;
}

/* Recipients named in a header ("a@b, c@d"). */
static void
header_recipients(text_state_t *st, const char *value)
{
    if (value == NULL)
        return;
    gchar **list = g_strsplit(value, ",", 64);
    for (int i = 0; list[i] != NULL && !st->report->truncated; i++) {
        char *address = address_line(list[i], strlen(list[i]));
        if (address != NULL && recipient_find(st->report, address) == NULL)
            recipient_add(st->report, address);
        else
            free(address);
    }
    g_strfreev(list);
}

/* The bounce's own To address (the original sender), or NULL. */
static char *
bounce_to(GMimeMessage *msg)
{
    InternetAddressList *to = g_mime_message_get_to(msg);
    if (to == NULL || internet_address_list_length(to) < 1)
        return NULL;
    InternetAddress *first = internet_address_list_get_address(to, 0);
    if (!INTERNET_ADDRESS_IS_MAILBOX(first))
        return NULL;
    return clean_z(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(first)), DSN_MAX_ADDRESS);
}

/* Recipients, their diagnostics and the quoted original Message-ID from
 * the human-readable text of a bounce in format (NULL: unknown). */
static void
parse_heuristic(dsn_report_t *report, GMimeMessage *msg, const char *text, const dsn_format_t *format)
{
    size_t len = strlen(text), body_end = returned_copy_offset(text, len);
    const char *end = text + body_end;
    text_state_t st = { .report = report, .self = bounce_to(msg) };

    for (const char *line = text; line < end && !report->truncated;) {
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *eol = nl ? nl : end;
        text_line(&st, line, (size_t)(eol - line));
        line = nl ? nl + 1 : end;
    }
    header_recipients(&st, g_mime_object_get_header(GMIME_OBJECT(msg), "X-Failed-Recipients"));
    if (format != NULL && format->rcpt_header != NULL)
        header_recipients(&st, g_mime_object_get_header(GMIME_OBJECT(msg), format->rcpt_header));

    char *region = g_strndup(text, body_end);
    int soft = 0;
    for (size_t i = 0; i < sizeof(soft_words) / sizeof(soft_words[0]); i++)
        soft |= contains(region, soft_words[i]);
    if (contains(region, "permanent"))
        soft = 0;
    g_free(region);
    const char *global = st.coded ? st.coded : st.lead;
    for (size_t i = 0; i < report->recipient_count; i++) {
        dsn_recipient_t *rcpt = &report->recipients[i];
        if (rcpt->diagnostic == NULL && global != NULL)
            rcpt->diagnostic = strdup(global);
        /* Only its own text: another recipient's code is not this one's. */
        rcpt->status = status_from_text(rcpt->diagnostic);
        rcpt->type = classify(NULL, rcpt->status);
        if (rcpt->type == DSN_TYPE_NONE)
            rcpt->type = soft ? DSN_TYPE_SOFT : DSN_TYPE_HARD;
        rcpt->action = strdup(rcpt->type == DSN_TYPE_SOFT ? "delayed" : "failed");
    }
    free(st.coded);
    free(st.lead);
    free(st.self);
    if (report->original_message_id == NULL)
        report->original_message_id = quoted_message_id(text, body_end < len ? body_end : 0);
}

/* ---- entry points ------------------------------------------------------------- */

static char *
html_to_text(const char *html)
{
    GString *out = g_string_sized_new(strlen(html) / 2 + 1);
    int in_tag = 0;
    for (const char *p = html; *p; p++) {
        if (*p == '<') {
            in_tag = 1;
            if (strncasecmp(p, "<br", 3) == 0 || strncasecmp(p, "<p", 2) == 0 ||
                strncasecmp(p, "</p", 3) == 0 || strncasecmp(p, "<div", 4) == 0 || strncasecmp(p, "</div", 5) == 0 ||
                strncasecmp(p, "</tr", 4) == 0)
                g_string_append_c(out, '\n');
        } else if (*p == '>') {
            in_tag = 0;
        } else if (!in_tag) {
            g_string_append_c(out, *p);
        }
    }
    return g_string_free(out, FALSE);
}

dsn_kind_t
dsn_parse(const char *raw, size_t len, dsn_report_t *report)
{
    memset(report, 0, sizeof(*report));
    if (raw == NULL || len == 0)
        return DSN_KIND_NONE;

    GMimeMessage *msg = message_parse(raw, len);
    if (msg == NULL)
        return DSN_KIND_NONE;
    dsn_parse_message(msg, report);
    g_object_unref(msg);
    return report->kind;
}

/* The first reply code of rcpt's diagnostic into rcpt->smtp_code: the one
 * just before its status code ("550 5.1.1", "550-5.1.1") if there is one. */
static void
recipient_smtp_code(dsn_recipient_t *rcpt)
{
    const char *d = rcpt->diagnostic, *code = NULL;
    size_t len, code_len;
    rcpt->smtp_code[0] = '\0';
    if (d == NULL)
        return;
    len = strlen(d);
    const char *status = find_status_code(d, len, &code_len);
    if (status != NULL && status - d >= 4 && (status[-1] == ' ' || status[-1] == '-') &&
        find_reply_code(status - 4, 4) == status - 4)
        code = status - 4;
    if (code == NULL)
        code = find_reply_code(d, len);
    if (code != NULL) {
        memcpy(rcpt->smtp_code, code, 3);
        rcpt->smtp_code[3] = '\0';
    }
}

/* A Status of X.0.0 whose diagnostic says more: Exim and OpenSMTPD write
 * 5.0.0 for a "550 5.1.1" reply.  The class stays, so does the type. */
static void
recipient_status_refine(dsn_recipient_t *rcpt)
{
    if (rcpt->status == NULL || strcmp(rcpt->status + 1, ".0.0") != 0 || rcpt->diagnostic == NULL)
        return;
    char *better = status_from_text(rcpt->diagnostic);
    if (better != NULL && better[0] == rcpt->status[0] && strcmp(better + 1, ".0.0") != 0) {
        free(rcpt->status);
        rcpt->status = better;
    } else {
        free(better);
    }
}

/* Diagnostics that a delivery-status part left out (OpenSMTPD writes only
 * Status), from the same recipient in the human-readable text. */
static void
diagnostics_from_text(dsn_report_t *report, GMimeMessage *msg, const char *text, const dsn_format_t *format)
{
    int missing = 0;
    for (size_t i = 0; i < report->recipient_count; i++)
        missing |= report->recipients[i].diagnostic == NULL;
    if (!missing || text == NULL || *text == '\0')
        return;
    dsn_report_t from_text;
    memset(&from_text, 0, sizeof(from_text));
    parse_heuristic(&from_text, msg, text, format);
    for (size_t i = 0; i < report->recipient_count; i++) {
        dsn_recipient_t *rcpt = &report->recipients[i];
        const dsn_recipient_t *seen = recipient_find(&from_text, rcpt->address);
        if (seen == NULL && from_text.recipient_count == 1 && report->recipient_count == 1)
            seen = &from_text.recipients[0];
        if (rcpt->diagnostic != NULL || seen == NULL || seen->diagnostic == NULL)
            continue;
        rcpt->diagnostic = strdup(seen->diagnostic);
        if (rcpt->status == NULL) {
            rcpt->status = status_from_text(rcpt->diagnostic);
            rcpt->type = classify(rcpt->action, rcpt->status);
        }
    }
    dsn_report_free(&from_text);
}

static void
recipients_clear(dsn_report_t *report)
{
    for (size_t i = 0; i < report->recipient_count; i++)
        recipient_free(&report->recipients[i]);
    report->recipient_count = 0;
}

/* The fields of an ARF report whose report part is missing or mislabelled
 * (text/plain): the report's second part, when it is a leaf. */
static GMimeObject *
feedback_fallback_part(GMimeObject *report)
{
    if (report == NULL || !GMIME_IS_MULTIPART(report) || g_mime_multipart_get_count(GMIME_MULTIPART(report)) < 2)
        return NULL;
    GMimeObject *second = g_mime_multipart_get_part(GMIME_MULTIPART(report), 1);
    return GMIME_IS_PART(second) ? second : NULL;
}

dsn_kind_t
dsn_parse_message(GMimeMessage *msg, dsn_report_t *report)
{
    memset(report, 0, sizeof(*report));
    if (msg == NULL || g_mime_message_get_mime_part(msg) == NULL)
        return DSN_KIND_NONE;

    GMimeObject *obj = GMIME_OBJECT(msg);
    walk_t w = { .text = g_string_new(NULL), .html = g_string_new(NULL) };
    walk(&w, g_mime_message_get_mime_part(msg), 0);
    const char *report_type = NULL;
    if (w.report != NULL)
        report_type = g_mime_content_type_get_parameter(g_mime_object_get_content_type(w.report), "report-type");
    int says_dsn = report_type != NULL && (strcasecmp(report_type, "delivery-status") == 0 ||
                                           strcasecmp(report_type, "global-delivery-status") == 0);
    int says_arf = report_type != NULL && strcasecmp(report_type, "feedback-report") == 0;
    char *text = w.text->len > 0 ? g_strdup(w.text->str) : html_to_text(w.html->str);
    char *region = g_strndup(text, returned_copy_offset(text, strlen(text)));
    const dsn_format_t *format = format_match(msg, region);
    g_free(region);

    GMimeObject *feedback = w.feedback_part;
    if (feedback == NULL && says_arf)
        feedback = feedback_fallback_part(w.report);
    if ((w.feedback_part != NULL && (report_type == NULL || says_arf)) || (says_arf && w.status_part == NULL)) {
        if (feedback != NULL) {
            GString *content = part_content(feedback, DSN_MAX_STATUS_TEXT);
            parse_feedback_report(report, content->str, content->len);
            g_string_free(content, TRUE);
        }
        if (report->feedback_type == NULL) {
            report->feedback_type = strdup(DSN_ARF_ASSUMED_TYPE);
            report->feedback_type_assumed = 1;
        }
        report->kind = DSN_KIND_ARF;
        report->style = "arf";
    } else if (w.status_part != NULL) {
        GString *content = part_content(w.status_part, DSN_MAX_STATUS_TEXT);
        parse_delivery_status(report, content->str, content->len);
        g_string_free(content, TRUE);
        if (report->recipient_count > 0) {
            report->kind = DSN_KIND_DSN;
            report->style = "rfc3464";
            diagnostics_from_text(report, msg, text, format);
        }
    }
    char *returned_id = original_message_id(w.original);
    if (returned_id != NULL) {
        free(report->original_message_id);
        report->original_message_id = returned_id;
    }

    const char *auto_signal = NULL;
    autoreply_strength_t auto_reply = autoreply_check(msg, &auto_signal);
    if (report->kind == DSN_KIND_NONE) {
        /* Recipients from a delivery-status part that held none are not kept. */
        recipients_clear(report);
        int failed_header = g_mime_object_get_header(obj, "X-Failed-Recipients") != NULL;
        /* A responder's reply is not read as a bounce at all; one that is
         * merely auto-submitted must carry a known bounce format. */
        int readable = looks_like_bounce(msg) && auto_reply != AUTOREPLY_STRONG &&
                       (auto_reply == AUTOREPLY_NONE || format != NULL || failed_header || says_dsn);
        if (readable)
            parse_heuristic(report, msg, text, format);
        if (readable && report->recipient_count > 0) {
            report->kind = DSN_KIND_DSN;
            report->style = format ? format->mta : "generic";
        } else if (says_dsn || (readable && (format != NULL || failed_header))) {
            recipients_clear(report);
            report->kind = DSN_KIND_DSN;
            report->style = says_dsn ? "rfc3464" : format ? format->mta : "generic";
            report->undetermined = 1;
        } else {
            recipients_clear(report);
        }
    }
    if (report->kind == DSN_KIND_DSN)
        report->mta = format ? format->mta : NULL;
    else if (auto_reply != AUTOREPLY_NONE)
        report->auto_reply = auto_signal;
    for (size_t i = 0; i < report->recipient_count; i++) {
        recipient_status_refine(&report->recipients[i]);
        recipient_smtp_code(&report->recipients[i]);
    }
    g_free(text);
    g_string_free(w.text, TRUE);
    g_string_free(w.html, TRUE);
    return report->kind;
}

/* ---- JSON ----------------------------------------------------------------------- */

const char *
dsn_type_name(dsn_type_t type)
{
    return type == DSN_TYPE_HARD ? "hard" : type == DSN_TYPE_SOFT ? "soft" : NULL;
}

static int
set_string(json_t *obj, const char *key, const char *value)
{
    return json_object_set_new(obj, key, value ? json_string(value) : json_null());
}

json_t *
dsn_report_json(const dsn_report_t *report)
{
    json_t *obj = json_object();
    int err = obj == NULL;
    if (!err && report->kind == DSN_KIND_ARF) {
        err |= set_string(obj, "feedbackType", report->feedback_type);
        err |= set_string(obj, "originalMessageId", report->original_message_id);
        err |= set_string(obj, "userAgent", report->user_agent);
        err |= set_string(obj, "originalMailFrom", report->original_mail_from);
        err |= set_string(obj, "originalRcptTo", report->original_rcpt_to);
        err |= set_string(obj, "arrivalDate", report->arrival_date);
        err |= set_string(obj, "sourceIp", report->source_ip);
    } else if (!err) {
        json_t *list = json_array();
        err |= json_object_set_new(obj, "recipients", list);
        for (size_t i = 0; !err && i < report->recipient_count; i++) {
            const dsn_recipient_t *rcpt = &report->recipients[i];
            json_t *item = json_object();
            err |= json_array_append_new(list, item);
            if (err)
                break;
            err |= set_string(item, "address", rcpt->address);
            err |= set_string(item, "status", rcpt->status);
            err |= set_string(item, "action", rcpt->action);
            err |= set_string(item, "diagnostic", rcpt->diagnostic);
            err |= set_string(item, "type", dsn_type_name(rcpt->type));
            err |= set_string(item, "originalRecipient", rcpt->original);
            err |= set_string(item, "remoteMta", rcpt->remote_mta);
            err |= set_string(item, "smtpCode", rcpt->smtp_code[0] ? rcpt->smtp_code : NULL);
            /* The one classifier, as the log path uses it (postfix_log_classify). */
            bounce_class_t why;
            bounce_classify(rcpt->status, atoi(rcpt->smtp_code), rcpt->diagnostic, rcpt->action, &why);
            err |= set_string(item, "reason", bounce_reason_name(why.reason));
            err |= set_string(item, "bounceType", bounce_type_name(why.type));
            err |= json_object_set_new(item, "senderProblem", json_boolean(bounce_reason_sender_problem(why.reason)));
        }
        err |= set_string(obj, "originalMessageId", report->original_message_id);
        err |= json_object_set_new(obj, "undetermined", json_boolean(report->undetermined));
    }
    if (!err) {
        err |= set_string(obj, "kind", report->kind == DSN_KIND_ARF ? "arf" : report->kind == DSN_KIND_DSN ? "dsn" : NULL);
        err |= set_string(obj, "style", report->style);
        err |= set_string(obj, "mta", report->mta);
        err |= set_string(obj, "originalQueueId", report->original_queue_id);
        err |= set_string(obj, "reportingMta", report->reporting_mta);
    }
    if (err) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
