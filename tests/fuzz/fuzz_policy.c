/*
 * fuzz_policy.c -- the Postfix policy protocol as policyd reads a
 * connection: bytes arrive in chunks (sizes taken from the input) into a
 * POLICY_REQUEST_MAX buffer, policy_frame finds each request's end,
 * policy_parse reads it, the sender and recipient are normalised as the
 * transaction core does, and an answer is formatted with input text.
 */
#include "fuzz.h"

#include <stdio.h>

#include "address.h"
#include "decide.h"
#include "policy_proto.h"

static void
fuzz_serve(const char *buf, size_t len, policy_request_t *req)
{
    char err[256], addr[ADDRESS_MAX + 1], answer[600];
    decision_t decision = { .action = DECISION_CONTINUE };

    if (policy_parse(buf, len, req, err, sizeof(err)) != 0)
        return;
    (void)policy_state(req);
    (void)address_normalize(policy_get(req, POLICY_ATTR_SENDER), addr, sizeof(addr));
    (void)address_normalize(policy_get(req, POLICY_ATTR_RECIPIENT), addr, sizeof(addr));
    for (int a = 0; a < POLICY_ATTR_COUNT; a++)
        (void)strlen(policy_get(req, (policy_attr_t)a));
    policy_format_reply(&decision, answer, sizeof(answer));
    decision.action = DECISION_REJECT;
    decision.code = 550;
    snprintf(decision.xcode, sizeof(decision.xcode), "5.7.1");
    snprintf(decision.text, sizeof(decision.text), "%s", policy_get(req, POLICY_ATTR_RECIPIENT));
    policy_format_reply(&decision, answer, sizeof(answer));
    policy_format_reply(&decision, answer, 12);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char buf[POLICY_REQUEST_MAX];
    static policy_request_t req;
    policy_framer_t framer;
    size_t len = 0, pos = 0;
    char err[256];
    unsigned chunk;

    if (size == 0)
        return 0;
    chunk = (unsigned)data[0] + 1; /* 1..256 bytes per recv */
    data++, size--;
    memset(&framer, 0, sizeof(framer));
    for (;;) {
        ssize_t framed = policy_frame(&framer, buf, len, err, sizeof(err));
        if (framed < 0)
            return 0; /* the server closes the connection */
        if (framed > 0) {
            fuzz_serve(buf, (size_t)framed, &req);
            len -= (size_t)framed;
            memmove(buf, buf + framed, len);
            memset(&framer, 0, sizeof(framer));
            continue;
        }
        if (pos == size || len == sizeof(buf))
            return 0;
        size_t n = size - pos < chunk ? size - pos : chunk;
        if (n > sizeof(buf) - len)
            n = sizeof(buf) - len;
        memcpy(buf + len, data + pos, n);
        len += n;
        pos += n;
    }
}
