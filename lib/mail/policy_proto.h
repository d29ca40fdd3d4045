/*
 * policy_proto.h -- the Postfix SMTP access policy delegation protocol
 * (SMTPD_POLICY_README) as plain functions over byte buffers.
 *
 * Public: policy_framer_t, policy_frame, policy_request_t, policy_parse,
 * policy_get, policy_state, policy_format_reply.
 *
 * A request is "name=value" lines ended by an empty line; the answer is
 * "action=..." and an empty line.  policy_frame finds where a request
 * ends, incrementally (each byte is examined once however the request
 * arrives) and within hard limits; policy_parse then reads the framed
 * request.  Both are strict because only Postfix talks to us: anything
 * Postfix would never send is an error, and the caller then logs a
 * warning and closes the connection without an answer, which is what
 * SMTPD_POLICY_README asks of a server in trouble (Postfix retries on a
 * new connection, then applies smtpd_policy_service_default_action,
 * 451 4.3.5 by default: fail safe).
 *
 * Errors: a line over POLICY_LINE_MAX, a request over POLICY_REQUEST_MAX
 * or POLICY_ATTRS_MAX lines (framing); a line without '=' or with an empty
 * name, a NUL byte, invalid UTF-8 in an attribute we read, the same
 * attribute we read twice with different values, a missing or foreign
 * "request", a non-numeric recipient_count (content).  Attributes we do
 * not read are skipped unchecked (beyond framing and NUL), as the
 * protocol asks.  "\r\n" line ends are tolerated for hand-typed tests.
 * No state, no sockets, logs nothing.
 */
#ifndef POSTINBOX_POLICY_PROTO_H
#define POSTINBOX_POLICY_PROTO_H

#include <stddef.h>
#include <sys/types.h>

#include "decide.h"

#define POLICY_LINE_MAX 8192        /* bytes in one line, without its newline */
#define POLICY_REQUEST_MAX 65536    /* bytes in one request, with its empty line */
#define POLICY_ATTRS_MAX 256        /* lines in one request */
#define POLICY_RECIPIENT_COUNT_MAX 1000000

/* Where a framer stands in the bytes received so far. */
typedef struct {
    size_t scanned;      /* bytes already examined */
    size_t line_start;   /* offset of the line being read */
    size_t lines;        /* complete lines so far */
} policy_framer_t;

/* Looks for the end of the request at the start of buf[0..len), resuming
 * where the previous call stopped (zero the framer for a new request).
 * Returns the request's length through its empty line, 0 if more bytes
 * are needed, or -1 with err when a limit is exceeded. */
ssize_t policy_frame(policy_framer_t *framer, const char *buf, size_t len, char *err, size_t errlen);

/* The attributes postinbox reads; all others are ignored. */
typedef enum {
    POLICY_ATTR_REQUEST = 0,
    POLICY_ATTR_PROTOCOL_STATE,
    POLICY_ATTR_SENDER,
    POLICY_ATTR_RECIPIENT,
    POLICY_ATTR_RECIPIENT_COUNT,
    POLICY_ATTR_CLIENT_ADDRESS,
    POLICY_ATTR_SASL_USERNAME,
    POLICY_ATTR_QUEUE_ID,
    POLICY_ATTR_INSTANCE,
    POLICY_ATTR_COUNT
} policy_attr_t;

typedef enum {
    POLICY_STATE_OTHER = 0,  /* CONNECT, EHLO, HELO, DATA, VRFY, ETRN, ... */
    POLICY_STATE_MAIL,
    POLICY_STATE_RCPT,
    POLICY_STATE_END_OF_MESSAGE
} policy_state_t;

typedef struct {
    const char *value[POLICY_ATTR_COUNT];  /* NULL when absent; in text[] */
    size_t lines;                          /* attribute lines read */
    long recipient_count;                  /* 0 when absent */
    char text[POLICY_REQUEST_MAX];
} policy_request_t;

/* Reads one framed request (buf[0..len) as policy_frame measured it).
 * 0 with req filled, or -1 with err. */
int policy_parse(const char *buf, size_t len, policy_request_t *req, char *err, size_t errlen);

/* The value of attr, "" when absent. */
const char *policy_get(const policy_request_t *req, policy_attr_t attr);
/* Which protocol state the request is about. */
policy_state_t policy_state(const policy_request_t *req);

/* Writes the answer for a decision: "action=DUNNO\n\n" to continue, else
 * "action=CODE X.Y.Z text\n\n" (a CR or LF in the text becomes a space,
 * so the answer is always one line).  Returns the length, or 0 if out is
 * too small. */
size_t policy_format_reply(const decision_t *decision, char *out, size_t outlen);

#endif
