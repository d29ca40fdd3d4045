/*
 * test_secret_file.c -- base64 (RFC 4648 section 10 vectors, URL-safe,
 * unpadded, short buffers) and secrets read from files: first line only,
 * line ends stripped, and refusals for files other users can read, empty
 * files, control bytes, too long secrets and missing files, with errors
 * that never show the secret; several secrets, one per line (tracking
 * keys); and base64 decoding, strict: one spelling per value.
 */
#include "unit.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base64.h"
#include "secret_file.h"

typedef struct {
    const char *name;
    const char *in;
    int flags;
    const char *out;
} b64_row_t;

static const b64_row_t b64_rows[] = {
    { "RFC 4648: empty", "", 0, "" },
    { "RFC 4648: f", "f", 0, "Zg==" },
    { "RFC 4648: fo", "fo", 0, "Zm8=" },
    { "RFC 4648: foo", "foo", 0, "Zm9v" },
    { "RFC 4648: foob", "foob", 0, "Zm9vYg==" },
    { "RFC 4648: fooba", "fooba", 0, "Zm9vYmE=" },
    { "RFC 4648: foobar", "foobar", 0, "Zm9vYmFy" },
    { "unpadded", "fo", BASE64_NOPAD, "Zm8" },
    { "URL-safe alphabet", "\xfb\xff\xfe", BASE64_URL, "-__-" },
    { "standard alphabet", "\xfb\xff\xfe", 0, "+//+" },
};

static void
test_b64(void **state)
{
    const b64_row_t *row = *state;
    char out[64];
    assert_int_equal(base64_encode(row->in, strlen(row->in), out, sizeof(out), row->flags), (long)strlen(row->out));
    assert_string_equal(out, row->out);
}

static void
test_b64_short_buffer(void **state)
{
    char out[8] = "junk";
    (void)state;
    assert_int_equal(base64_encode("foobar", 6, out, 8, 0), -1); /* needs 9 */
    assert_string_equal(out, "");
    assert_int_equal(base64_encode("foobar", 6, out, 0, 0), -1);
    assert_int_equal(base64_encode("fooba", 5, out, 8, BASE64_NOPAD), -1); /* room is counted with padding */
}

/* Decoding: every row above decodes back; these are refused. */
static void
test_b64_roundtrip(void **state)
{
    char out[64];
    (void)state;
    for (size_t i = 0; i < UNIT_ROWS(b64_rows); i++) {
        const b64_row_t *row = &b64_rows[i];
        long n = base64_decode(row->out, strlen(row->out), out, sizeof(out), row->flags);
        assert_int_equal(n, (long)strlen(row->in));
        assert_memory_equal(out, row->in, (size_t)n);
    }
}

typedef struct {
    const char *name;
    const char *in;
    int flags;
    long result;
} b64_bad_row_t;

static const b64_bad_row_t b64_bad_rows[] = {
    { "decode: padding required without NOPAD", "Zg", 0, -1 },
    { "decode: padding refused with NOPAD", "Zg==", BASE64_NOPAD, -1 },
    { "decode: a length no encoding has", "Zm9vY", BASE64_NOPAD, -1 },
    { "decode: a character outside the alphabet", "Zm9*", 0, -1 },
    { "decode: '+' in the URL alphabet", "+//+", BASE64_URL, -1 },
    { "decode: '-' in the standard alphabet", "-__-", 0, -1 },
    { "decode: unused bits not zero (Zh for f)", "Zh", BASE64_NOPAD, -1 },
    { "decode: NUL inside", "Zm\0v", 0, -1 },
    { "decode: unpadded f", "Zg", BASE64_NOPAD, 1 },
};

static void
test_b64_bad(void **state)
{
    const b64_bad_row_t *row = *state;
    char out[64];
    size_t len = strcmp(row->in, "Zm\0v") == 0 ? 4 : strlen(row->in);
    assert_int_equal(base64_decode(row->in, len, out, sizeof(out), row->flags), row->result);
}

static void
test_b64_decode_short(void **state)
{
    char out[5];
    (void)state;
    assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5, 0), -1);   /* 6 bytes into 5 */
    assert_int_equal(base64_decode("Zm9vYmE=", 8, out, 5, 0), 5);
}

typedef struct {
    const char *name;
    const char *content;
    size_t len;             /* 0: strlen(content) */
    mode_t mode;
    long result;            /* length, or -1 */
    const char *secret;     /* expected secret */
    const char *err_has;    /* expected in the error */
} file_row_t;

static const file_row_t file_rows[] = {
    { "one line with LF", "s3cret pw\n", 0, 0600, 9, "s3cret pw", NULL },
    { "CRLF and more lines", "abc\r\nsecond\n", 0, 0640, 3, "abc", NULL },
    { "no line end", "abc", 0, 0400, 3, "abc", NULL },
    { "world-readable", "abc\n", 0, 0644, -1, NULL, "readable by other users (mode 0644)" },
    { "world-writable only", "abc\n", 0, 0602, -1, NULL, "readable by other users" },
    { "empty file", "", 0, 0600, -1, NULL, "is empty" },
    { "empty first line", "\nabc\n", 0, 0600, -1, NULL, "is empty" },
    { "control byte", "ab\tc\n", 0, 0600, -1, NULL, "control bytes" },
    { "NUL byte", "ab\0cd\n", 6, 0600, -1, NULL, "control bytes" },
    { "longer than the buffer",
      "0123456789012345678901234567890123456789012345678901234567890123456789\n", 0, 0600, -1, NULL, "too long" },
};

static void
test_file(void **state)
{
    const file_row_t *row = *state;
    char path[] = "/tmp/test_secret_file.XXXXXX", out[64], err[256] = "";
    int fd = mkstemp(path);
    size_t len = row->len ? row->len : strlen(row->content);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, row->content, len), (ssize_t)len);
    close(fd);
    assert_int_equal(chmod(path, row->mode), 0);
    long got = secret_file_read(path, out, sizeof(out), err, sizeof(err));
    unlink(path);
    assert_int_equal(got, row->result);
    if (row->secret) {
        assert_string_equal(out, row->secret);
    } else {
        assert_string_equal(out, "");
        assert_non_null(strstr(err, path));
        if (strstr(err, row->err_has) == NULL)
            fail_msg("error \"%s\" lacks \"%s\"", err, row->err_has);
        assert_null(strstr(err, "abc"));
        assert_null(strstr(err, "0123456789"));
    }
}

static void
test_file_missing(void **state)
{
    char out[16], err[256];
    (void)state;
    assert_int_equal(secret_file_read("/nonexistent/secret", out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "/nonexistent/secret: No such file"));
    assert_int_equal(secret_file_read("", out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no secret file"));
    assert_int_equal(secret_file_read("/tmp", out, sizeof(out), err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
}

/* Several secrets, one per line: blank lines skipped, each checked. */
static void
test_lines(void **state)
{
    char path[] = "/tmp/test_secret_lines.XXXXXX", err[256], lines[4][SECRET_LINE_MAX];
    static const char *const bad[][2] = {
        { "first\n\tsecond\n", "line 2 holds control bytes" },
        { "a\nb\nc\nd\ne\n", "line 5 is one too many" },
        { "\n\n", "is empty" },
    };
    int fd = mkstemp(path);
    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "one\r\n\ntwo\nthree", 15), 15);
    close(fd);
    assert_int_equal(secret_file_read_lines(path, lines, 4, err, sizeof(err)), 3);
    assert_string_equal(lines[0], "one");
    assert_string_equal(lines[1], "two");
    assert_string_equal(lines[2], "three");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fd = open(path, O_WRONLY | O_TRUNC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, bad[i][0], strlen(bad[i][0])), (long)strlen(bad[i][0]));
        close(fd);
        assert_int_equal(secret_file_read_lines(path, lines, 4, err, sizeof(err)), -1);
        assert_non_null(strstr(err, bad[i][1]));
        assert_null(strstr(err, "second"));
    }
    chmod(path, 0644);
    assert_int_equal(secret_file_read_lines(path, lines, 4, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "readable by other users"));
    unlink(path);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_b64, b64_rows, sizeof(b64_rows[0]), UNIT_ROWS(b64_rows));
    unit_add(&suite, "base64_decode gives back every encoding above", test_b64_roundtrip, NULL);
    unit_add_rows(&suite, test_b64_bad, b64_bad_rows, sizeof(b64_bad_rows[0]), UNIT_ROWS(b64_bad_rows));
    unit_add(&suite, "base64_decode into a short buffer", test_b64_decode_short, NULL);
    unit_add(&suite, "several secrets, one per line", test_lines, NULL);
    unit_add(&suite, "base64 into a short buffer", test_b64_short_buffer, NULL);
    unit_add_rows(&suite, test_file, file_rows, sizeof(file_rows[0]), UNIT_ROWS(file_rows));
    unit_add(&suite, "missing, unset and non-regular files", test_file_missing, NULL);
    return unit_run("secret_file", &suite, NULL, NULL);
}
