/*
 * fuzz_compose.c -- a send request as the API and postinboxctl send take
 * it (JSON, NUL allowed in strings as postinboxctl reads files):
 * send_as_inbox checks the members and composes the message, and stops
 * before any connection because api_submission is not an address; then
 * the same members go straight to compose_build (also with a display
 * name from the input) and the message it writes is checked: no NUL,
 * every line end CRLF, each envelope recipient its own canonical
 * (ADDRESS_STRICT) spelling.
 */
#include "fuzz.h"

#include <jansson.h>

#include "address.h"
#include "compose.h"
#include "config.h"
#include "header.h"
#include "send.h"

#define FUZZ_LIST_MAX 64

/* name's string or array of strings into list (at most FUZZ_LIST_MAX). */
static size_t
fuzz_list(const json_t *req, const char *name, compose_str_t *list)
{
    const json_t *v = json_object_get(req, name), *item;
    size_t n = 0, i;

    if (json_is_string(v)) {
        list[0] = (compose_str_t){ json_string_value(v), json_string_length(v) };
        return 1;
    }
    json_array_foreach(v, i, item) {
        if (n < FUZZ_LIST_MAX && json_is_string(item))
            list[n++] = (compose_str_t){ json_string_value(item), json_string_length(item) };
    }
    return n;
}

static compose_str_t
fuzz_str(const json_t *req, const char *name)
{
    const json_t *v = json_object_get(req, name);
    return json_is_string(v) ? (compose_str_t){ json_string_value(v), json_string_length(v) }
                             : (compose_str_t){ NULL, 0 };
}

/* What compose promises about a message it built; abort() if broken. */
static void
fuzz_check_message(const compose_message_t *msg)
{
    char canonical[ADDRESS_MAX + 1];

    if (msg->data == NULL || msg->data[msg->len] != '\0' || memchr(msg->data, '\0', msg->len) != NULL)
        abort();
    for (size_t i = 0; i < msg->len; i++) {
        if (msg->data[i] == '\n' && (i == 0 || msg->data[i - 1] != '\r'))
            abort();
        if (msg->data[i] == '\r' && (i + 1 == msg->len || msg->data[i + 1] != '\n'))
            abort();
    }
    for (size_t r = 0; r < msg->rcpt_count; r++) {
        if (address_canonical(msg->rcpts[r], ADDRESS_STRICT | ADDRESS_KEEP_CASE, canonical, sizeof(canonical)) !=
                ADDRESS_OK ||
            strcmp(canonical, msg->rcpts[r]) != 0)
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pi_config_t *cfg;
    static compose_str_t to[FUZZ_LIST_MAX], cc[FUZZ_LIST_MAX], refs[FUZZ_LIST_MAX];
    json_error_t jerr;
    send_result_t result;
    compose_message_t msg = { 0 };
    compose_error_t err;

    if (cfg == NULL) {
        header_init();
        cfg = config_defaults();
        if (cfg == NULL)
            abort();
        free(cfg->api_submission);
        cfg->api_submission = strdup("no address: never connect"); /* 500 after compose */
    }
    json_t *req = json_loadb((const char *)data, size, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &jerr);
    if (req == NULL)
        return 0;
    (void)send_as_inbox(cfg, "alice@example.test", "Alice", req, &result);
    if (result.http_status == 202 || (result.http_status < 400 && result.http_status != 0))
        abort(); /* nothing can have been submitted */

    const json_t *name = json_object_get(req, "fromName");
    compose_request_t creq = {
        .from_address = "alice@example.test",
        .display_name = json_is_string(name) ? json_string_value(name) : NULL,
        .to = to,
        .to_count = fuzz_list(req, "to", to),
        .cc = cc,
        .cc_count = fuzz_list(req, "cc", cc),
        .subject = fuzz_str(req, "subject"),
        .text = fuzz_str(req, "text"),
        .html = fuzz_str(req, "html"),
        .in_reply_to = fuzz_str(req, "inReplyTo"),
        .references = refs,
        .references_count = fuzz_list(req, "references", refs),
    };
    if (compose_build(&creq, &msg, &err) == 0)
        fuzz_check_message(&msg);
    compose_message_free(&msg);
    json_decref(req);
    return 0;
}
