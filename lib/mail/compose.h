/*
 * compose.h -- the RFC 5322 message an inbox sends through the API.
 *
 * Public: compose_str_t, compose_request_t, compose_message_t,
 * compose_error_t, compose_build, compose_message_free, compose_valid_msgid.
 * Every field is checked first and the message is then built by GMime
 * (no hand-written MIME): From "Display Name" <inbox>, To, Cc, Subject
 * (RFC 2047-encoded by GMime when not ASCII), Date, a fresh
 * Message-ID <random@domain-of-inbox>, In-Reply-To and References when
 * given; text only is text/plain, html only text/html, both
 * multipart/alternative; UTF-8 in quoted-printable or base64 as GMime
 * finds best for 7-bit transport; CRLF line ends.
 *
 * Header injection is impossible by construction: every string comes
 * with its length, and a NUL, CR, LF or other control character in a
 * header field (address, name, subject, message id), or invalid UTF-8
 * anywhere, is refused before GMime sees it.  Bodies may hold no NUL;
 * their line ends are LF or CRLF, both written as CRLF, and a CR not
 * followed by LF is refused (invalid_body), so no bare CR or LF reaches
 * DATA.  Addresses are "local@domain", "<local@domain>" or
 * "Name <local@domain>", read with address_canonical's ADDRESS_STRICT
 * grammar (one '@', a dot-atom or one quoted string, a dotted host name;
 * ASCII only: SMTPUTF8 is not offered, an IDN is written as A-labels).
 * The envelope recipient and the header mailbox are the same canonical
 * value, and the written header is read back with GMime's parser: a
 * header that would read as a group or another address is refused.
 * Sizes are bounded (COMPOSE_MAX_*).
 *
 * Thread-safe (GMime is initialised once, through header_init).  Logs nothing.
 */
#ifndef POSTINBOX_COMPOSE_H
#define POSTINBOX_COMPOSE_H

#include <stddef.h>

#define COMPOSE_MAX_RECIPIENTS 50        /* To + Cc */
#define COMPOSE_MAX_BODY (1024 * 1024)   /* bytes of text, and of html */
#define COMPOSE_MAX_SUBJECT 998          /* bytes, RFC 5322's line limit */
#define COMPOSE_MAX_NAME 256             /* bytes of a display name */
#define COMPOSE_MAX_MSGID 998            /* bytes of one <message-id> */
#define COMPOSE_MAX_REFERENCES 100       /* ids in References */
#define COMPOSE_MESSAGE_ID_SIZE 300      /* "<" 32 hex "@" domain (<= 253) ">" NUL */

/* A string with its length, so an embedded NUL is seen; data NULL = absent. */
typedef struct {
    const char *data;
    size_t len;
} compose_str_t;

typedef struct {
    const char *from_address;           /* the inbox */
    const char *display_name;           /* NULL or "" for none */
    const compose_str_t *to;
    size_t to_count;
    const compose_str_t *cc;
    size_t cc_count;
    compose_str_t subject;              /* required, may be empty */
    compose_str_t text;                 /* at least one of text and html */
    compose_str_t html;
    compose_str_t in_reply_to;          /* "<id@host>" or absent */
    const compose_str_t *references;    /* each "<id@host>" */
    size_t references_count;
} compose_request_t;

typedef struct {
    char *data;              /* the message, CRLF line ends, NUL-terminated */
    size_t len;
    char message_id[COMPOSE_MESSAGE_ID_SIZE]; /* "<hex@domain-of-inbox>" as in the header */
    char **rcpts;            /* envelope recipients (To then Cc), canonical, as in the header; duplicates removed */
    size_t rcpt_count;
} compose_message_t;

typedef struct {
    char code[48];           /* invalid_address, too_many_recipients, invalid_header, ... */
    char message[256];       /* names the field: "to[2]: not an address" */
} compose_error_t;

/* Checks req and builds the message into *out (free with
 * compose_message_free).  0, or -1 with *err filled and *out empty.
 * Error codes: missing_field, invalid_address, too_many_recipients,
 * invalid_header (a control character in a header field), invalid_utf8,
 * invalid_body (a NUL, or a CR not followed by LF), too_large,
 * invalid_message_id, internal. */
int compose_build(const compose_request_t *req, compose_message_t *out, compose_error_t *err);
void compose_message_free(compose_message_t *msg);

/* Whether s[0..len) is one "<left@right>" message id: printable ASCII,
 * no spaces or angle brackets inside, one '@', at most COMPOSE_MAX_MSGID bytes. */
int compose_valid_msgid(const char *s, size_t len);

#endif
