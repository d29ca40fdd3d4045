/*
 * test_log.c -- lib/util/log as an admin reads it: whatever bytes a
 * caller quotes (a request path, a header, an SMTP address or HELO), the
 * line written is one line, printable, with control bytes, DEL, C1
 * controls and invalid UTF-8 shown as \xNN and valid UTF-8 unchanged;
 * a message of nothing but controls is cut, never left without its
 * newline.  utf8_escape's cuts at the output size are checked directly:
 * never inside an escape or a character.
 */
#include "unit.h"

#include <string.h>
#include <unistd.h>

#include "log.h"
#include "utf8.h"

typedef struct {
    const char *name;
    const char *in;     /* the bytes quoted by the caller (no NUL: %s stops there) */
    const char *want;   /* what the line shows after "info: " */
} log_row_t;

static const log_row_t log_rows[] = {
    { "plain ASCII passes", "inbox=a@b.test action=accept", "inbox=a@b.test action=accept" },
    { "ESC sequence (colour) is escaped", "path=/v1/\x1b[31mred\x1b[0m", "path=/v1/\\x1b[31mred\\x1b[0m" },
    { "forged line: LF", "from=<a@b>\nmilter[1]: info: action=accept", "from=<a@b>\\x0amilter[1]: info: action=accept" },
    { "forged line: CR LF", "helo=x\r\nfake", "helo=x\\x0d\\x0afake" },
    { "TAB, BEL, BS, DEL", "a\tb\ac\bd\x7f" "e", "a\\x09b\\x07c\\x08d\\x7fe" },
    { "0x01 and 0x1f", "\x01\x1f", "\\x01\\x1f" },
    { "valid 2-byte passes", "caf\xc3\xa9", "caf\xc3\xa9" },
    { "valid 3- and 4-byte pass", "\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80" },
    { "U+00A0, first after C1, passes", "\xc2\xa0", "\xc2\xa0" },
    { "C1 CSI U+009B is escaped whole", "a\xc2\x9b" "31mb", "a\\xc2\\x9b31mb" },
    { "C1 U+0085 (NEL) is escaped", "\xc2\x85", "\\xc2\\x85" },
    { "lone continuation byte", "a\x80z", "a\\x80z" },
    { "overlong slash", "\xc0\xaf", "\\xc0\\xaf" },
    { "surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80" },
    { "truncated 3-byte at the end", "ab\xe2\x82", "ab\\xe2\\x82" },
    { "Latin-1 byte", "M\xfcller", "M\\xfcller" },
    { "backslash stays as it is", "a\\x1bb", "a\\x1bb" },
};

static int capture_fd = -1, stderr_fd = -1;

/* The text after "info: " of the one line the log wrote. */
static void
logged(const char *msg, char *out, size_t outlen)
{
    char buf[8192];
    ssize_t n;
    assert_int_equal(ftruncate(capture_fd, 0), 0);
    assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
    /* stderr goes to the file only for the call: cmocka reports there */
    assert_true(dup2(capture_fd, STDERR_FILENO) >= 0);
    log_info("%s", msg);
    assert_true(dup2(stderr_fd, STDERR_FILENO) >= 0);
    assert_int_equal(lseek(capture_fd, 0, SEEK_SET), 0);
    n = read(capture_fd, buf, sizeof(buf) - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    /* one line: a newline at the end and nowhere else */
    assert_int_equal(buf[n - 1], '\n');
    assert_ptr_equal(strchr(buf, '\n'), buf + n - 1);
    for (ssize_t i = 0; i < n - 1; i++)
        assert_true((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f);
    assert_true(unit_utf8_valid(buf, (size_t)n));
    const char *body = strstr(buf, ": info: ");
    assert_non_null(body);
    body += strlen(": info: ");
    snprintf(out, outlen, "%.*s", (int)(buf + n - 1 - body), body);
}

static void
test_log_row(void **state)
{
    const log_row_t *row = *state;
    char got[4096];
    logged(row->in, got, sizeof(got));
    assert_string_equal(got, row->want);
}

/* 2047 ESC bytes (the most vsnprintf keeps) grow past the line buffer:
 * the line is cut on an escape and still ends in its newline. */
static void
test_log_all_controls(void **state)
{
    char msg[2048], got[8192];
    (void)state;
    memset(msg, 0x1b, sizeof(msg) - 1);
    msg[sizeof(msg) - 1] = '\0';
    logged(msg, got, sizeof(got));
    size_t len = strlen(got);
    assert_true(len > 1000);
    assert_int_equal(len % 4, 0);
    for (size_t i = 0; i < len; i += 4)
        assert_memory_equal(got + i, "\\x1b", 4);
}

typedef struct {
    const char *name;
    const char *in;
    size_t outlen;
    const char *want;
} escape_row_t;

static const escape_row_t escape_rows[] = {
    { "fits exactly (room for the NUL)", "ab\x1b", 7, "ab\\x1b" },
    { "an escape that does not fit is left out whole", "ab\x1b", 6, "ab" },
    { "a character that does not fit is left out whole", "ab\xe2\x82\xac", 5, "ab" },
    { "a C1 pair is escaped whole or not at all", "a\xc2\x9b", 8, "a" },
    { "outlen 1: empty", "abc", 1, "" },
};

static void
test_escape_row(void **state)
{
    const escape_row_t *row = *state;
    char out[64];
    memset(out, 'Z', sizeof(out));
    size_t n = utf8_escape(row->in, strlen(row->in), out, row->outlen);
    assert_string_equal(out, row->want);
    assert_int_equal(n, strlen(row->want));
    assert_int_equal(out[row->outlen], 'Z'); /* nothing written past outlen */
}

static int
setup(void **state)
{
    char path[] = "/tmp/test_log.XXXXXX";
    (void)state;
    if ((capture_fd = mkstemp(path)) < 0)
        return -1;
    unlink(path);
    if ((stderr_fd = dup(STDERR_FILENO)) < 0)
        return -1;
    log_open("test_log", 1);
    log_set_level(LOG_LEVEL_INFO);
    return 0;
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_log_row, log_rows, sizeof(log_rows[0]), UNIT_ROWS(log_rows));
    unit_add(&suite, "2047 ESC bytes: cut on an escape, newline kept", test_log_all_controls, NULL);
    unit_add_rows(&suite, test_escape_row, escape_rows, sizeof(escape_rows[0]), UNIT_ROWS(escape_rows));
    return unit_run("log", &suite, setup, NULL);
}
