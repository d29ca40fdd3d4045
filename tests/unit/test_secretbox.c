/*
 * test_secretbox.c -- webhook secrets sealed at rest: round trip, a fresh
 * nonce per value, every tampered byte refused, the endpoint id bound,
 * the old key of a rotation, plaintext of older installs passed through,
 * key files (hex, base64, modes).
 */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "secretbox.h"

static const char secret[] = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwQ2zvD0GdIXk=";
static const char endpoint[] = "0b4f2c1e-6a7d-4d59-9f3c-2e1d8a7b6c5d";

static secretbox_t *
box_of(unsigned char fill, const unsigned char *old)
{
    unsigned char key[SECRETBOX_KEY_LEN];
    memset(key, fill, sizeof(key));
    secretbox_t *box = secretbox_from_keys(key, old);
    assert_non_null(box);
    return box;
}

static void
test_round_trip(void **state)
{
    char sealed[SECRETBOX_SEALED_MAX], again[SECRETBOX_SEALED_MAX], plain[SECRETBOX_PLAIN_MAX + 1], err[200];
    secretbox_t *box = box_of(0x11, NULL);
    (void)state;
    assert_int_equal(secretbox_seal(box, secret, endpoint, sealed, sizeof(sealed), err, sizeof(err)), 0);
    assert_true(strncmp(sealed, "v1:", 3) == 0);
    assert_true(strncmp(sealed + 3, secretbox_key_id(box), 8) == 0);
    assert_null(strstr(sealed, "whsec_"));
    assert_null(strstr(sealed, secret + 6));
    assert_true(secretbox_is_current(box, sealed));
    assert_int_equal(secretbox_open(box, sealed, endpoint, plain, sizeof(plain), err, sizeof(err)), 0);
    assert_string_equal(plain, secret);
    /* a fresh nonce: the same secret never seals to the same text */
    assert_int_equal(secretbox_seal(box, secret, endpoint, again, sizeof(again), err, sizeof(err)), 0);
    assert_string_not_equal(sealed, again);
    assert_int_equal(secretbox_open(box, again, endpoint, plain, sizeof(plain), err, sizeof(err)), 0);
    assert_string_equal(plain, secret);
    secretbox_free(box);
}

/* Any byte changed, the value copied to another endpoint, or opened with
 * another key: refused, and the output holds nothing. */
static void
test_tampering(void **state)
{
    char sealed[SECRETBOX_SEALED_MAX], bad[SECRETBOX_SEALED_MAX], plain[SECRETBOX_PLAIN_MAX + 1], err[200];
    secretbox_t *box = box_of(0x22, NULL), *other = box_of(0x33, NULL);
    (void)state;
    assert_int_equal(secretbox_seal(box, secret, endpoint, sealed, sizeof(sealed), err, sizeof(err)), 0);
    for (size_t i = 12; sealed[i]; i++) {
        if (sealed[i] == '=')
            continue;
        snprintf(bad, sizeof(bad), "%s", sealed);
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        if (secretbox_open(box, bad, endpoint, plain, sizeof(plain), err, sizeof(err)) != -1)
            fail_msg("byte %zu changed, still opens", i);
    }
    assert_int_equal(secretbox_open(box, sealed, "another-endpoint", plain, sizeof(plain), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not authenticate"));
    assert_int_equal(secretbox_open(other, sealed, endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "neither secret_key_file nor secret_key_file_old"));
    assert_null(strstr(err, "whsec_"));
    assert_int_equal(secretbox_open(NULL, sealed, endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "secret_key_file is not set"));
    /* truncated, or the head alone */
    snprintf(bad, sizeof(bad), "%.*s", (int)strlen(sealed) - 4, sealed);
    assert_int_equal(secretbox_open(box, bad, endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    snprintf(bad, sizeof(bad), "%.12s", sealed);
    assert_int_equal(secretbox_open(box, bad, endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    assert_int_equal(secretbox_open(box, "v1:", endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    secretbox_free(box);
    secretbox_free(other);
}

/* A rotation: the old key opens what it sealed, never seals. */
static void
test_rotation(void **state)
{
    unsigned char old_key[SECRETBOX_KEY_LEN];
    char sealed[SECRETBOX_SEALED_MAX], resealed[SECRETBOX_SEALED_MAX], plain[SECRETBOX_PLAIN_MAX + 1], err[200];
    secretbox_t *before = box_of(0x44, NULL), *after;
    (void)state;
    memset(old_key, 0x44, sizeof(old_key));
    after = box_of(0x55, old_key);
    assert_int_equal(secretbox_seal(before, secret, endpoint, sealed, sizeof(sealed), err, sizeof(err)), 0);
    assert_false(secretbox_is_current(after, sealed));
    assert_int_equal(secretbox_open(after, sealed, endpoint, plain, sizeof(plain), err, sizeof(err)), 0);
    assert_string_equal(plain, secret);
    assert_int_equal(secretbox_seal(after, plain, endpoint, resealed, sizeof(resealed), err, sizeof(err)), 0);
    assert_true(secretbox_is_current(after, resealed));
    assert_true(strncmp(resealed + 3, secretbox_key_id(after), 8) == 0);
    assert_string_not_equal(secretbox_key_id(before), secretbox_key_id(after));
    /* the old key alone cannot open what the new one sealed */
    assert_int_equal(secretbox_open(before, resealed, endpoint, plain, sizeof(plain), err, sizeof(err)), -1);
    secretbox_free(before);
    secretbox_free(after);
}

/* Plaintext rows of older installs keep working, with or without a key. */
static void
test_plaintext(void **state)
{
    char plain[SECRETBOX_PLAIN_MAX + 1], err[200];
    secretbox_t *box = box_of(0x66, NULL);
    (void)state;
    assert_int_equal(secretbox_open(box, secret, endpoint, plain, sizeof(plain), err, sizeof(err)), 1);
    assert_string_equal(plain, secret);
    assert_int_equal(secretbox_open(NULL, secret, endpoint, plain, sizeof(plain), err, sizeof(err)), 1);
    assert_string_equal(plain, secret);
    assert_false(secretbox_is_current(box, secret));
    assert_false(secretbox_is_current(NULL, secret));
    secretbox_free(box);
}

static void
test_parse_key(void **state)
{
    unsigned char key[SECRETBOX_KEY_LEN];
    (void)state;
    assert_int_equal(secretbox_parse_key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", key), 0);
    assert_int_equal(key[0], 0);
    assert_int_equal(key[31], 0x1f);
    assert_int_equal(secretbox_parse_key("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", key), 0);
    assert_int_equal(key[31], 0x1f);
    assert_int_equal(secretbox_parse_key("", key), -1);
    assert_int_equal(secretbox_parse_key("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e", key), -1);
    assert_int_equal(secretbox_parse_key("g00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", key), -1);
    assert_int_equal(secretbox_parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", key), -1); /* 31 bytes */
    assert_int_equal(secretbox_parse_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", key), -1);  /* no padding */
    assert_int_equal(secretbox_parse_key("correct horse battery staple", key), -1);
}

/* Writes text to a new file of mode; its path into path. */
static void
key_file(char path[64], const char *text, mode_t mode)
{
    snprintf(path, 64, "/tmp/secretbox-test-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    assert_int_equal(fchmod(fd, mode), 0);
    close(fd);
}

static void
test_load(void **state)
{
    static const char hex[] = "2b7e151628aed2a6abf7158809cf4f3c2b7e151628aed2a6abf7158809cf4f3c\n";
    char path[64], old[64], err[300], sealed[SECRETBOX_SEALED_MAX], plain[SECRETBOX_PLAIN_MAX + 1];
    secretbox_t *box;
    (void)state;
    key_file(path, hex, 0600);
    box = secretbox_load(path, "", err, sizeof(err));
    if (box == NULL)
        fail_msg("0600 refused: %s", err);
    assert_int_equal(secretbox_seal(box, secret, endpoint, sealed, sizeof(sealed), err, sizeof(err)), 0);
    secretbox_free(box);
    assert_int_equal(chmod(path, 0640), 0);
    box = secretbox_load(path, NULL, err, sizeof(err));
    assert_non_null(box);
    assert_int_equal(secretbox_open(box, sealed, endpoint, plain, sizeof(plain), err, sizeof(err)), 0);
    secretbox_free(box);
    /* readable by others, or writable by the group: refused, naming the key and the mode */
    assert_int_equal(chmod(path, 0644), 0);
    assert_null(secretbox_load(path, "", err, sizeof(err)));
    assert_non_null(strstr(err, "secret_key_file"));
    assert_non_null(strstr(err, "0644"));
    assert_int_equal(chmod(path, 0660), 0);
    assert_null(secretbox_load(path, "", err, sizeof(err)));
    assert_non_null(strstr(err, "0660"));
    assert_int_equal(chmod(path, 0600), 0);
    /* the old key of a rotation, checked the same way */
    key_file(old, "bm90IGEga2V5", 0600);
    assert_null(secretbox_load(path, old, err, sizeof(err)));
    assert_non_null(strstr(err, "secret_key_file_old"));
    assert_non_null(strstr(err, "openssl rand -hex 32"));
    unlink(old);
    assert_null(secretbox_load(path, old, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
    assert_null(secretbox_load("", NULL, err, sizeof(err)));
    assert_string_equal(err, "secret_key_file is not set");
    assert_null(secretbox_load("/tmp", NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
    unlink(path);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add(&suite, "seal and open", test_round_trip, NULL);
    unit_add(&suite, "tampered, moved or foreign values do not open", test_tampering, NULL);
    unit_add(&suite, "key rotation: the old key opens, the new one seals", test_rotation, NULL);
    unit_add(&suite, "plaintext of older installs passes through", test_plaintext, NULL);
    unit_add(&suite, "key text: hex or base64 of 32 bytes", test_parse_key, NULL);
    unit_add(&suite, "key files: modes, old key, errors", test_load, NULL);
    return unit_run("secretbox", &suite, NULL, NULL);
}
