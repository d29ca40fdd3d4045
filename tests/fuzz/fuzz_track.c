/*
 * fuzz_track.c -- what a tracking request and a tracked message bring in
 * from outside: a token from a URL path (track_token_parse and
 * track_token_verify with the subject that follows it), a User-Agent
 * (track_agent_classify), and a whole message to rewrite (track_rewrite
 * through GMime and lib/mail/html_links, with its own invariants: every
 * line end of the new body CRLF, every link it reports from the message).
 * The first byte picks the path.
 */
#include "fuzz.h"

#include "header.h"
#include "track_agent.h"
#include "track_rewrite.h"
#include "track_token.h"

static track_keys_t *fuzz_keys;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const unsigned char id[TRACK_ID_LEN] = { 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2 };
    char err[256];
    if (fuzz_keys == NULL) {
        const char *lines[2] = { "fuzz-key-0123456789abcdefghijklmnopqrstuv", "old-key-0123456789abcdefghijklmnopqrstuvw" };
        header_init();
        if ((fuzz_keys = track_keys_new(lines, 2, err, sizeof(err))) == NULL)
            abort();
    }
    if (size == 0)
        return 0;
    char *in = fuzz_cstring(data + 1, size - 1);
    if (in == NULL)
        return 0;
    switch (data[0] % 3) {
    case 0: {   /* a token, then the subject */
        unsigned char got[TRACK_ID_LEN];
        unsigned link;
        size_t tlen = size - 1 < TRACK_TOKEN_LEN ? size - 1 : TRACK_TOKEN_LEN;
        const char *subject = in + tlen;
        if (track_token_parse(in, tlen, got, &link) == 0 && link > TRACK_LINK_MAX)
            abort();
        for (int k = 0; k < 3; k++) {
            track_kind_t kind = k == 0 ? TRACK_OPEN : k == 1 ? TRACK_CLICK : TRACK_UNSUBSCRIBE;
            (void)track_token_verify(fuzz_keys, kind, in, tlen, subject);
        }
        /* what we make verifies */
        char tok[TRACK_TOKEN_MAX];
        if (strlen(subject) <= 2048 && track_token_make(fuzz_keys, TRACK_CLICK, id, 3, subject, tok) == 0 &&
            !track_token_verify(fuzz_keys, TRACK_CLICK, tok, strlen(tok), subject))
            abort();
        break;
    }
    case 1: {
        track_agent_t a;
        track_agent_classify(in, data[0] & 4, &a);
        if (a.agent_class == NULL || (a.machine && a.reason == NULL))
            abort();
        break;
    }
    default: {
        track_options_t opt = { .base_url = "https://t.test", .keys = fuzz_keys, .opens = data[0] & 8,
                                .clicks = 1, .max_links = 50 };
        track_result_t r;
        if (track_rewrite(&opt, id, in, size - 1, &r, err, sizeof(err)) == 0) {
            for (size_t i = 0; r.body != NULL && i < r.body_len; i++)
                if (r.body[i] == '\n' && (i == 0 || r.body[i - 1] != '\r'))
                    abort();
            if (r.link_count > 50)
                abort();
            track_result_clear(&r);
        }
        break;
    }
    }
    free(in);
    return 0;
}
