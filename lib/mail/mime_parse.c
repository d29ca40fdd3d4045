/*
 * mime_parse.c -- bodies and attachments of a message through GMime.
 * See mime_parse.h.
 *
 * Decoded content never passes through memory whole: GMime's data wrapper
 * decodes the transfer encoding chunk by chunk into a small sink stream
 * (MimeSink, below) that either hashes what it is given (attachments) or
 * keeps the first bytes and then refuses more, which stops GMime early
 * (bodies).  A body keeps 4 raw bytes per output byte it may become, so
 * even UTF-16/32 or UTF-7 fill the limit; what is cut is marked truncated.
 */
#include "mime_parse.h"

#include <errno.h>
#include <iconv.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "gmime_guard.h"
#include "reply_extract.h"
#include "utf8.h"

#define MIME_MAX_PARTS 20000        /* leaf and multipart parts visited */
#define MIME_MAX_FILENAME 1024
#define MIME_MAX_FIELD 998          /* content type, Content-ID */
#define MIME_RAW_PER_OUTPUT 4       /* raw body bytes kept per output byte */
#define STATE_KEY "postinbox-mime-parse"

/* ---- the sink stream ------------------------------------------------------------ */

typedef struct {
    GMimeStream parent;
    EVP_MD_CTX *digest;  /* hash mode: every byte goes here */
    GByteArray *capture; /* capture mode: the first capture_max bytes */
    size_t capture_max;
    size_t size;         /* bytes written */
    int overflow;        /* capture mode: more arrived than capture_max */
} MimeSink;

typedef struct {
    GMimeStreamClass parent_class;
} MimeSinkClass;

G_DEFINE_TYPE(MimeSink, mime_sink, GMIME_TYPE_STREAM)

static ssize_t
mime_sink_write(GMimeStream *stream, const char *buf, size_t len)
{
    MimeSink *sink = (MimeSink *)stream;
    sink->size += len;
    if (sink->digest != NULL && EVP_DigestUpdate(sink->digest, buf, len) != 1)
        return -1;
    if (sink->capture != NULL) {
        size_t room = sink->capture_max - sink->capture->len;
        g_byte_array_append(sink->capture, (const guint8 *)buf, (guint)(len < room ? len : room));
        if (len > room) {
            sink->overflow = 1;
            return -1; /* enough: GMime stops decoding */
        }
    }
    return (ssize_t)len;
}

static int
mime_sink_flush(GMimeStream *stream)
{
    return 0;
}

static int
mime_sink_close(GMimeStream *stream)
{
    return 0;
}

static gboolean
mime_sink_eos(GMimeStream *stream)
{
    return TRUE;
}

static int
mime_sink_reset(GMimeStream *stream)
{
    return 0;
}

static gint64
mime_sink_tell(GMimeStream *stream)
{
    return (gint64)((MimeSink *)stream)->size;
}

static void
mime_sink_class_init(MimeSinkClass *klass)
{
    GMimeStreamClass *stream_class = GMIME_STREAM_CLASS(klass);
    stream_class->write = mime_sink_write;
    stream_class->flush = mime_sink_flush;
    stream_class->close = mime_sink_close;
    stream_class->eos = mime_sink_eos;
    stream_class->reset = mime_sink_reset;
    stream_class->tell = mime_sink_tell;
}

static void
mime_sink_init(MimeSink *sink)
{
}

static MimeSink *
sink_new(void)
{
    MimeSink *sink = g_object_new(mime_sink_get_type(), NULL);
    g_mime_stream_construct(GMIME_STREAM(sink), 0, -1);
    return sink;
}

/* Writes the decoded content of a leaf part, or an attached message, to sink. */
static void
write_content(GMimeObject *obj, MimeSink *sink)
{
    if (GMIME_IS_PART(obj)) {
        GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
        if (content != NULL)
            g_mime_data_wrapper_write_to_stream(content, GMIME_STREAM(sink));
    } else if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        if (inner != NULL)
            g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, GMIME_STREAM(sink));
    }
}

/* ---- parsing ------------------------------------------------------------------ */

/* Hangs off the message: the parser's options (kept as long as it lives)
 * and how many warnings the parser gave. */
typedef struct {
    GMimeParserOptions *options;
    int defects;
} parse_state_t;

static void
parse_state_free(gpointer data)
{
    parse_state_t *state = data;
    g_mime_parser_options_free(state->options);
    g_free(state);
}

static void
parser_warning(gint64 offset, GMimeParserWarning errcode, const gchar *item, gpointer user_data)
{
    ((parse_state_t *)user_data)->defects++;
}

GMimeMessage *
mime_message_new(const char *raw, size_t len)
{
    char *defused;
    if (raw == NULL || gmime_guard_message(raw, len, &defused) < 0)
        return NULL;
    parse_state_t *state = g_new0(parse_state_t, 1);
    state->options = g_mime_parser_options_new();
    g_mime_parser_options_set_warning_callback(state->options, parser_warning, state);
    /* the stream holds its own copy */
    GMimeStream *stream = g_mime_stream_mem_new_with_buffer(defused ? defused : raw, len);
    free(defused);
    GMimeParser *parser = g_mime_parser_new_with_stream(stream);
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    GMimeMessage *msg = g_mime_parser_construct_message(parser, state->options);
    g_object_unref(parser);
    g_object_unref(stream);
    if (msg == NULL) {
        parse_state_free(state);
        return NULL;
    }
    g_object_set_data_full(G_OBJECT(msg), STATE_KEY, state, parse_state_free);
    return msg;
}

/* ---- charsets ------------------------------------------------------------------- */

typedef enum { CS_NONE, CS_ASCII, CS_UTF8, CS_WINDOWS_1252, CS_OTHER } charset_kind_t;

static charset_kind_t
charset_kind(const char *charset)
{
    static const char *const ascii[] = { "us-ascii", "ascii", "ansi_x3.4-1968", "iso646-us", NULL };
    static const char *const utf8[] = { "utf-8", "utf8", NULL };
    /* Mail labelled Latin-1 is written with windows-1252 (HTML5 reads it so too). */
    static const char *const latin1[] = { "iso-8859-1", "iso8859-1", "iso_8859-1", "latin1", "latin-1", "l1",
                                          "windows-1252", "cp1252", "x-cp1252", NULL };
    if (charset == NULL || *charset == '\0')
        return CS_NONE;
    for (size_t i = 0; ascii[i]; i++)
        if (strcasecmp(charset, ascii[i]) == 0)
            return CS_ASCII;
    for (size_t i = 0; utf8[i]; i++)
        if (strcasecmp(charset, utf8[i]) == 0)
            return CS_UTF8;
    for (size_t i = 0; latin1[i]; i++)
        if (strcasecmp(charset, latin1[i]) == 0)
            return CS_WINDOWS_1252;
    return CS_OTHER;
}

/* Whether s[0..len) is UTF-8 (NUL bytes allowed: the sanitizer handles
 * them; an incomplete last character allowed when cut is set). */
static int
utf8_valid(const char *s, size_t len, int cut)
{
    const gchar *end;
    while (len > 0) {
        if (g_utf8_validate(s, (gssize)len, &end))
            return 1;
        size_t good = (size_t)(end - s);
        if (s[good] == '\0') {
            s += good + 1;
            len -= good + 1;
            continue;
        }
        return cut && g_utf8_get_char_validated(end, (gssize)(len - good)) == (gunichar)-2;
    }
    return 1;
}

/* Whether s holds at least one valid multi-byte UTF-8 character. */
static int
utf8_some(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0xc2 && (gint)g_utf8_get_char_validated(s + i, (gssize)(len - i)) >= 0x80)
            return 1;
    return 0;
}

static GString *
from_windows_1252(const char *s, size_t len)
{
    static const gunichar high[32] = { 0x20ac, 0x81,   0x201a, 0x192,  0x201e, 0x2026, 0x2020, 0x2021,
                                       0x2c6,  0x2030, 0x160,  0x2039, 0x152,  0x8d,   0x17d,  0x8f,
                                       0x90,   0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                       0x2dc,  0x2122, 0x161,  0x203a, 0x153,  0x9d,   0x17e,  0x178 };
    GString *out = g_string_sized_new(len + len / 2 + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80)
            g_string_append_c(out, (char)c);
        else
            g_string_append_unichar(out, c < 0xa0 ? high[c - 0x80] : c);
    }
    return out;
}

/* s in charset through iconv; NULL if iconv does not know the charset or
 * more than 2 % of the input is not in it (then it is not that charset). */
static GString *
from_iconv(const char *charset, const char *s, size_t len, int cut, size_t *errors)
{
    iconv_t cd = g_mime_iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1)
        return NULL;
    GString *out = g_string_sized_new(len * 2 + 1);
    char buf[4096], *in = (char *)s;
    size_t inleft = len;
    *errors = 0;
    while (inleft > 0) {
        char *o = buf;
        size_t oleft = sizeof(buf);
        size_t rc = iconv(cd, &in, &inleft, &o, &oleft);
        g_string_append_len(out, buf, (gssize)(sizeof(buf) - oleft));
        if (rc != (size_t)-1 || errno == E2BIG)
            continue;
        if (errno == EINVAL && cut) /* a character cut by our limit */
            break;
        /* EILSEQ, or EINVAL at the real end: not this charset here */
        g_string_append(out, "\xef\xbf\xbd");
        in++;
        inleft--;
        if (++*errors > 2 + len / 50) {
            g_string_free(out, TRUE);
            out = NULL;
            break;
        }
    }
    if (out != NULL) { /* back to the initial shift state (ISO-2022-JP) */
        char *o = buf;
        size_t oleft = sizeof(buf);
        iconv(cd, NULL, NULL, &o, &oleft);
        g_string_append_len(out, buf, (gssize)(sizeof(buf) - oleft));
    }
    g_mime_iconv_close(cd);
    return out;
}

/* s[0..len) as UTF-8: the declared charset, else UTF-8 if valid, else
 * windows-1252 (which takes any byte).  *guessed is set when the declared
 * charset was not used as is. */
static GString *
to_utf8(const char *charset, const char *s, size_t len, int cut, int *guessed)
{
    charset_kind_t kind = charset_kind(charset);
    size_t errors = 0;
    GString *out = NULL;
    *guessed = 0;
    if (kind == CS_WINDOWS_1252)
        return from_windows_1252(s, len);
    if (kind == CS_OTHER) {
        out = from_iconv(charset, s, len, cut, &errors);
        if (out != NULL && errors == 0)
            return out;
        *guessed = 1;
        if (utf8_valid(s, len, cut)) { /* a lying label */
            if (out != NULL)
                g_string_free(out, TRUE);
            return g_string_new_len(s, (gssize)len);
        }
        if (out != NULL) /* a few bad bytes: replaced */
            return out;
        return from_windows_1252(s, len);
    }
    /* none, US-ASCII or UTF-8 */
    if (utf8_valid(s, len, cut))
        return g_string_new_len(s, (gssize)len);
    *guessed = 1;
    if (kind == CS_UTF8 && utf8_some(s, len)) /* UTF-8 with bad bytes: they become U+FFFD */
        return g_string_new_len(s, (gssize)len);
    return from_windows_1252(s, len);
}

/* The body of a text part as sanitized UTF-8 of at most max bytes. */
static char *
part_text(GMimeObject *part, size_t max, int *truncated, int *defects)
{
    MimeSink *sink = sink_new();
    sink->capture = g_byte_array_new();
    sink->capture_max = max < SIZE_MAX / (MIME_RAW_PER_OUTPUT * 2) ? max * MIME_RAW_PER_OUTPUT + 16 : SIZE_MAX / 2;
    write_content(part, sink);
    int guessed;
    const char *charset = g_mime_object_get_content_type_parameter(part, "charset");
    GString *utf8 = to_utf8(charset, (const char *)sink->capture->data, sink->capture->len, sink->overflow, &guessed);
    const char *s = utf8->str;
    size_t len = utf8->len;
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) { /* byte order mark */
        s += 3;
        len -= 3;
    }
    char *text = utf8_sanitize_text(s, len, max, truncated);
    *truncated |= sink->overflow;
    *defects += guessed;
    g_string_free(utf8, TRUE);
    g_byte_array_free(sink->capture, TRUE);
    g_object_unref(sink);
    return text;
}

/* The text before the first boundary of a multipart GMime found no parts
 * in, so the words of a message with a missing boundary are not lost. */
static char *
prologue_text(const char *prologue, size_t max, int *truncated)
{
    int guessed;
    GString *utf8 = to_utf8(NULL, prologue, strlen(prologue), 0, &guessed);
    char *text = utf8_sanitize_text(utf8->str, utf8->len, max, truncated);
    g_string_free(utf8, TRUE);
    return text;
}

/* ---- attachments ------------------------------------------------------------ */

static int
is_type(GMimeObject *obj, const char *type, const char *subtype)
{
    GMimeContentType *ct = obj ? g_mime_object_get_content_type(obj) : NULL;
    return ct != NULL && g_mime_content_type_is_type(ct, type, subtype);
}

/* A sanitized copy of s, NULL when s is NULL or nothing is left. */
static char *
field_copy(const char *s, size_t max)
{
    if (s == NULL)
        return NULL;
    char *out = utf8_sanitize(s, strlen(s), max);
    if (out != NULL && g_strstrip(out)[0] == '\0') {
        free(out);
        return NULL;
    }
    return out;
}

static const char *
filename_of(GMimeObject *obj)
{
    if (GMIME_IS_PART(obj))
        return g_mime_part_get_filename(GMIME_PART(obj));
    GMimeContentDisposition *disposition = g_mime_object_get_content_disposition(obj);
    const char *name = disposition ? g_mime_content_disposition_get_parameter(disposition, "filename") : NULL;
    return name ? name : g_mime_object_get_content_type_parameter(obj, "name");
}

static char *
content_type_of(GMimeObject *obj)
{
    GMimeContentType *ct = g_mime_object_get_content_type(obj);
    char *type = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
    char *out = field_copy(type ? type : "application/octet-stream", MIME_MAX_FIELD);
    g_free(type);
    for (char *p = out; p && *p; p++)
        *p = (char)g_ascii_tolower(*p);
    return out ? out : strdup("application/octet-stream");
}

static void
hex_digest(EVP_MD_CTX *digest, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    hex[0] = '\0';
    if (EVP_DigestFinal_ex(digest, md, &md_len) != 1)
        return;
    for (unsigned int i = 0; i < md_len && i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

/* Size and SHA-256 of the decoded content, streaming. */
static void
attachment_digest(GMimeObject *obj, mime_attachment_t *attachment)
{
    MimeSink *sink = sink_new();
    sink->digest = EVP_MD_CTX_new();
    if (sink->digest != NULL && EVP_DigestInit_ex(sink->digest, EVP_sha256(), NULL) == 1) {
        write_content(obj, sink);
        attachment->size = sink->size;
        hex_digest(sink->digest, attachment->sha256);
    }
    EVP_MD_CTX_free(sink->digest);
    g_object_unref(sink);
}

typedef struct {
    const mime_limits_t *limits;
    mime_parsed_t *out;
    GMimeObject *text_part, *html_part;
    const char *prologue; /* of a multipart without parts (no boundary): all the text there is */
    size_t attachments_cap;
    size_t parts;
} walk_t;

static void
attachment_add(walk_t *w, GMimeObject *obj, GMimeObject *parent)
{
    mime_parsed_t *out = w->out;
    if (out->attachment_count >= w->limits->attachments_max) {
        out->attachments_truncated = 1;
        return;
    }
    if (out->attachment_count == w->attachments_cap) {
        size_t cap = w->attachments_cap ? w->attachments_cap * 2 : 8;
        mime_attachment_t *grown = realloc(out->attachments, cap * sizeof(*grown));
        if (grown == NULL)
            return;
        out->attachments = grown;
        w->attachments_cap = cap;
    }
    mime_attachment_t *a = &out->attachments[out->attachment_count++];
    memset(a, 0, sizeof(*a));
    GMimeContentDisposition *disposition = g_mime_object_get_content_disposition(obj);
    const char *content_id = g_mime_object_get_content_id(obj);
    a->filename = field_copy(filename_of(obj), MIME_MAX_FILENAME);
    a->content_type = content_type_of(obj);
    a->content_id = field_copy(content_id, MIME_MAX_FIELD);
    if (disposition != NULL)
        a->is_inline = !g_mime_content_disposition_is_attachment(disposition);
    else
        a->is_inline = a->content_id != NULL && is_type(parent, "multipart", "related");
    attachment_digest(obj, a);
}

/* ---- the walk ------------------------------------------------------------------- */

/* A text part meant to be read in the message, not saved. */
static int
is_body_text(GMimeObject *obj)
{
    GMimeContentDisposition *disposition = g_mime_object_get_content_disposition(obj);
    if (!is_type(obj, "text", "*") || filename_of(obj) != NULL)
        return 0;
    return disposition == NULL || !g_mime_content_disposition_is_attachment(disposition);
}

static void
walk(walk_t *w, GMimeObject *obj, GMimeObject *parent, int depth)
{
    if (obj == NULL)
        return;
    if (++w->parts > MIME_MAX_PARTS) {
        w->out->attachments_truncated = 1;
        return;
    }
    if (GMIME_IS_MULTIPART(obj)) {
        if (depth >= MIME_MAX_DEPTH) {
            w->out->defects++;
            return;
        }
        GMimeMultipart *multi = GMIME_MULTIPART(obj);
        int count = g_mime_multipart_get_count(multi);
        if (count == 0 && w->prologue == NULL)
            w->prologue = g_mime_multipart_get_prologue(multi);
        for (int i = 0; i < count && w->parts <= MIME_MAX_PARTS; i++)
            walk(w, g_mime_multipart_get_part(multi, i), obj, depth + 1);
        return;
    }
    if (GMIME_IS_PART(obj) && is_body_text(obj)) {
        if (is_type(obj, "text", "plain")) {
            if (w->text_part == NULL)
                w->text_part = obj;
        } else if (is_type(obj, "text", "html")) {
            if (w->html_part == NULL)
                w->html_part = obj;
        } else if (!is_type(parent, "multipart", "alternative")) {
            attachment_add(w, obj, parent); /* text/calendar, text/x-vcard ... beside the body */
        }
        return;
    }
    if (GMIME_IS_PART(obj) || GMIME_IS_MESSAGE_PART(obj))
        attachment_add(w, obj, parent);
}

mime_limits_t
mime_limits_default(void)
{
    return (mime_limits_t){
        .text_max = 256 * 1024,
        .html_max = 512 * 1024,
        .reply_max = 64 * 1024,
        .attachments_max = 100,
    };
}

/* The reply from the text body, else from the HTML rendered as text. */
static char *
reply_of(const mime_parsed_t *p, const mime_limits_t *limits)
{
    char *reply = NULL;
    if (p->text != NULL && p->text[0] != '\0') {
        reply = reply_extract(p->text, limits->reply_max);
    } else if (p->html != NULL) {
        char *rendered = reply_extract_html_to_text(p->html, limits->html_max);
        reply = rendered ? reply_extract(rendered, limits->reply_max) : NULL;
        free(rendered);
    }
    if (reply == NULL)
        return NULL;
    char *clean = utf8_sanitize_text(reply, strlen(reply), limits->reply_max, NULL);
    free(reply);
    return clean;
}

void
mime_parse_message(GMimeMessage *msg, const mime_limits_t *limits, mime_parsed_t *out)
{
    mime_limits_t defaults = mime_limits_default();
    memset(out, 0, sizeof(*out));
    if (msg == NULL)
        return;
    if (limits == NULL)
        limits = &defaults;
    parse_state_t *state = g_object_get_data(G_OBJECT(msg), STATE_KEY);
    if (state != NULL)
        out->defects = state->defects;

    walk_t w = { .limits = limits, .out = out };
    walk(&w, g_mime_message_get_mime_part(msg), NULL, 0);
    if (w.text_part != NULL)
        out->text = part_text(w.text_part, limits->text_max, &out->text_truncated, &out->defects);
    if (w.html_part != NULL)
        out->html = part_text(w.html_part, limits->html_max, &out->html_truncated, &out->defects);
    if (out->text == NULL && out->html == NULL && w.prologue != NULL)
        out->text = prologue_text(w.prologue, limits->text_max, &out->text_truncated);
    out->reply = reply_of(out, limits);
}

void
mime_parsed_free(mime_parsed_t *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->attachment_count; i++) {
        free(p->attachments[i].filename);
        free(p->attachments[i].content_type);
        free(p->attachments[i].content_id);
    }
    free(p->attachments);
    free(p->text);
    free(p->html);
    free(p->reply);
    memset(p, 0, sizeof(*p));
}

/* ---- JSON ----------------------------------------------------------------------- */

static int
set_string(json_t *obj, const char *key, const char *value)
{
    return json_object_set_new(obj, key, value ? json_string(value) : json_null());
}

static json_t *
attachment_json(const mime_attachment_t *a)
{
    json_t *obj = json_object();
    int err = obj == NULL;
    if (!err) {
        err |= set_string(obj, "filename", a->filename);
        err |= set_string(obj, "contentType", a->content_type);
        err |= set_string(obj, "contentId", a->content_id);
        err |= json_object_set_new(obj, "inline", json_boolean(a->is_inline));
        err |= json_object_set_new(obj, "size", json_integer((json_int_t)a->size));
        err |= set_string(obj, "sha256", a->sha256[0] ? a->sha256 : NULL);
    }
    if (err) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

json_t *
mime_parsed_json(const mime_parsed_t *p)
{
    json_t *obj = json_object(), *list = json_array();
    int err = obj == NULL || list == NULL;
    for (size_t i = 0; !err && i < p->attachment_count; i++) {
        json_t *item = attachment_json(&p->attachments[i]);
        err |= item == NULL || json_array_append_new(list, item);
    }
    if (!err) {
        err |= set_string(obj, "text", p->text);
        err |= set_string(obj, "html", p->html);
        err |= set_string(obj, "reply", p->reply);
        err |= json_object_set_new(obj, "textTruncated", json_boolean(p->text_truncated));
        err |= json_object_set_new(obj, "htmlTruncated", json_boolean(p->html_truncated));
        err |= json_object_set_new(obj, "attachments", list);
        list = NULL;
        err |= json_object_set_new(obj, "attachmentsTruncated", json_boolean(p->attachments_truncated));
    }
    json_decref(list);
    if (err) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}
