/*
 * test_webhook_sign.c -- Standard Webhooks signatures: the published test
 * vector, independent recomputation with OpenSSL, rotation headers and
 * secrets that must be refused.
 */
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "webhook_sign.h"

/* ---- known signatures --------------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *secret;
    const char *id;
    long long timestamp;
    const char *body;
    const char *want;
} vector_row_t;

static const vector_row_t vector_rows[] = {
    /* The vector published with the Standard Webhooks reference libraries. */
    { "published test vector", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330, "{\"test\": 2432232314}", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" },
};

static void
test_vector(void **state)
{
    const vector_row_t *row = *state;
    char out[WEBHOOK_SIGNATURE_HEADER_LEN], err[160] = "";
    if (webhook_sign(row->secret, row->id, row->timestamp, row->body, strlen(row->body), out, sizeof(out), err,
                     sizeof(err)) != 0)
        fail_msg("refused: %s", err);
    assert_string_equal(out, row->want);
}

/* ---- recomputed independently --------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *secret;
    const unsigned char key[40];
    size_t key_len;
    const char *body;       /* may contain a NUL: body_len says how long */
    size_t body_len;
} recompute_row_t;

/* A string literal and its length (NULs included). */
#define BODY(s) s, sizeof(s) - 1

static const recompute_row_t recompute_rows[] = {
    { "32-byte key with padding", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
      { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
        29, 30, 31 },
      32, BODY("{\"type\": \"message.sent\", \"timestamp\": \"2026-01-01T00:00:00.000000Z\", \"data\": {}}") },
    { "32-byte key without padding", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8",
      { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28,
        29, 30, 31 },
      32, BODY("{}") },
    { "one-byte key, empty body", "whsec_/w==", { 0xff }, 1, BODY("") },
    { "body with NUL and UTF-8", "whsec_+/8=", { 0xfb, 0xff }, 2, BODY("a\0b\xc3\xa9") },
};

static void
test_recompute(void **state)
{
    const recompute_row_t *row = *state;
    const char *id = "5b0e3c9e-3d6c-4b9a-8f9e-2f0c1e7a9d11";
    long long ts = 1767225600;
    char out[WEBHOOK_SIGNATURE_HEADER_LEN], err[160] = "", want[80], msg[256];
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len;
    int n = snprintf(msg, sizeof(msg), "%s.%lld.", id, ts);
    memcpy(msg + n, row->body, row->body_len);
    HMAC(EVP_sha256(), row->key, (int)row->key_len, (unsigned char *)msg, (size_t)n + row->body_len, mac, &mac_len);
    strcpy(want, "v1,");
    EVP_EncodeBlock((unsigned char *)want + 3, mac, (int)mac_len);
    if (webhook_sign(row->secret, id, ts, row->body, row->body_len, out, sizeof(out), err, sizeof(err)) != 0)
        fail_msg("refused: %s", err);
    assert_string_equal(out, want);
}

/* ---- the rotation header ------------------------------------------------------------- */

static void
test_rotation_header(void **state)
{
    const char *new_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *old_secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek", *body = "{\"test\": 2432232314}";
    char header[WEBHOOK_SIGNATURE_HEADER_LEN], with_new[WEBHOOK_SIGNATURE_LEN], with_old[WEBHOOK_SIGNATURE_LEN],
        want[WEBHOOK_SIGNATURE_HEADER_LEN], err[160] = "";
    (void)state;
    assert_int_equal(webhook_sign(new_secret, id, 1614265330, body, strlen(body), with_new, sizeof(with_new), err,
                                  sizeof(err)),
                     0);
    assert_int_equal(webhook_sign(old_secret, id, 1614265330, body, strlen(body), with_old, sizeof(with_old), err,
                                  sizeof(err)),
                     0);
    snprintf(want, sizeof(want), "%s %s", with_new, with_old);
    assert_int_equal(webhook_signature_header(new_secret, old_secret, id, 1614265330, body, strlen(body), header,
                                              sizeof(header), err, sizeof(err)),
                     0);
    assert_string_equal(header, want);
    assert_int_equal(strncmp(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE= v1,", 48), 0);
}

/* No previous secret (NULL or ""): one signature only. */
static void
test_header_without_previous(void **state)
{
    const char *secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const char *id = "msg_p5jXN8AQM9LWM0D4loKWxJek", *body = "{\"test\": 2432232314}";
    char header[WEBHOOK_SIGNATURE_HEADER_LEN], err[160] = "";
    (void)state;
    assert_int_equal(webhook_signature_header(secret, NULL, id, 1614265330, body, strlen(body), header,
                                              sizeof(header), err, sizeof(err)),
                     0);
    assert_string_equal(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    assert_int_equal(webhook_signature_header(secret, "", id, 1614265330, body, strlen(body), header,
                                              sizeof(header), err, sizeof(err)),
                     0);
    assert_string_equal(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

/* ---- secrets that must be refused --------------------------------------------------- */

typedef struct {
    const char *name;
    const char *secret;
    const char *want;       /* part of the error */
} bad_row_t;

static const bad_row_t bad_rows[] = {
    { "bad: no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" },
    { "bad: prefix in capitals", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_" },
    { "bad: NULL", NULL, "whsec_" },
    { "bad: empty key", "whsec_", "empty" },
    { "bad: invalid character", "whsec_MfKQ9r8GKYqrTwj!PD8ILPZIo2LaLaSw", "base64" },
    { "bad: URL-safe alphabet", "whsec_MfKQ9r8GKYqrTwj-PD8ILPZIo2LaLa_w", "base64" },
    { "bad: embedded space", "whsec_MfKQ9r8GKYqr TwjUPD8ILPZIo2LaLaSw", "base64" },
    { "bad: trailing newline", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n", "base64" },
    { "bad: length 1 mod 4", "whsec_MfKQ9", "base64" },
    { "bad: padding in the middle", "whsec_Mf==9r8G", "base64" },
    { "bad: too much padding", "whsec_MfKQ9r8===", "base64" },
    { "bad: non-zero leftover bits", "whsec_/x==", "base64" },
    { "bad: key longer than 64 bytes",
      "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "base64" },
};

static void
test_bad_secret(void **state)
{
    const bad_row_t *row = *state;
    unsigned char key[WEBHOOK_KEY_MAX];
    char out[WEBHOOK_SIGNATURE_HEADER_LEN], err[160] = "";
    assert_int_equal(webhook_secret_decode(row->secret, key, err, sizeof(err)), -1);
    if (strstr(err, row->want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err, row->want);
    if (row->secret && strlen(row->secret) > 8 && strstr(err, row->secret + 6) != NULL)
        fail_msg("error \"%s\" quotes the secret", err);
    assert_int_equal(webhook_sign(row->secret, "id", 1, "{}", 2, out, sizeof(out), err, sizeof(err)), -1);
    /* A bad previous secret fails the header too: a broken rotation is
     * noticed, not papered over with one signature. */
    assert_int_equal(webhook_signature_header("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", row->secret ? row->secret : "x",
                                              "id", 1, "{}", 2, out, sizeof(out), err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "previous"));
}

/* A buffer too small for the signature is an error, not an overflow. */
static void
test_small_buffer(void **state)
{
    char out[20], err[160] = "";
    (void)state;
    assert_int_equal(webhook_sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "id", 1, "{}", 2, out, sizeof(out), err,
                                  sizeof(err)),
                     -1);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_vector, vector_rows, sizeof(vector_rows[0]), UNIT_ROWS(vector_rows));
    unit_add_rows(&suite, test_recompute, recompute_rows, sizeof(recompute_rows[0]), UNIT_ROWS(recompute_rows));
    unit_add(&suite, "rotation: header carries new then old", test_rotation_header, NULL);
    unit_add(&suite, "no previous secret: one signature", test_header_without_previous, NULL);
    unit_add_rows(&suite, test_bad_secret, bad_rows, sizeof(bad_rows[0]), UNIT_ROWS(bad_rows));
    unit_add(&suite, "buffer too small", test_small_buffer, NULL);
    return unit_run("webhook_sign", &suite, NULL, NULL);
}
