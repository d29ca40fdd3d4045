/*
 * test_msgbuf.c -- the milter's copy of a streamed message: headers
 * written back as lines, the empty line once, the cap honoured to the
 * byte with truncated set, bytes seen counted beyond it.
 */
#include "unit.h"

#include <string.h>

#include "msgbuf.h"

typedef struct {
    const char *name;
    size_t max;
    int body;          /* send "hello\r\n" as a body chunk */
    const char *want;  /* bytes kept */
    int truncated;
} msgbuf_row_t;

#define FULL "Subject: hi\r\nTo: a@b\r\n\r\nhello\r\n"

static const msgbuf_row_t msgbuf_rows[] = {
    { "headers and body", 1000, 1, FULL, 0 },
    { "headers only: the empty line comes from finish", 1000, 0, "Subject: hi\r\nTo: a@b\r\n\r\n", 0 },
    { "cap exactly the message", sizeof(FULL) - 1, 1, FULL, 0 },
    { "cap one byte short", sizeof(FULL) - 2, 1, "Subject: hi\r\nTo: a@b\r\n\r\nhello\r", 1 },
    { "cap inside a header", 10, 1, "Subject: h", 1 },
    { "cap zero keeps nothing", 0, 1, "", 1 },
};

static void
test_msgbuf(void **state)
{
    const msgbuf_row_t *row = *state;
    msgbuf_t b;

    msgbuf_init(&b, row->max);
    msgbuf_header(&b, "Subject", "hi");
    msgbuf_header(&b, "To", "a@b");
    if (row->body)
        msgbuf_body(&b, (const unsigned char *)"hello\r\n", 7);
    msgbuf_finish(&b);
    msgbuf_header(&b, "X-Late", "ignored once the body began");
    assert_int_equal(b.len, strlen(row->want));
    assert_memory_equal(b.len ? b.data : "", row->want, b.len);
    assert_int_equal(b.truncated, row->truncated);
    assert_int_equal(b.seen, row->body ? sizeof(FULL) - 1 : sizeof(FULL) - 8);
    if (b.data)
        assert_int_equal(b.data[b.len], '\0');
    msgbuf_clear(&b);
    assert_null(b.data);
}

static void
test_msgbuf_large(void **state)
{
    static unsigned char chunk[65536];
    msgbuf_t b;
    (void)state;
    memset(chunk, 'x', sizeof(chunk));
    msgbuf_init(&b, 1000000);
    for (int i = 0; i < 100; i++)   /* 6.5 MB offered */
        msgbuf_body(&b, chunk, sizeof(chunk));
    assert_int_equal(b.len, 1000000);
    assert_true(b.cap <= 1000001);
    assert_int_equal(b.seen, 2 + 100 * sizeof(chunk));
    assert_true(b.truncated);
    msgbuf_clear(&b);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_msgbuf, msgbuf_rows, sizeof(msgbuf_rows[0]), UNIT_ROWS(msgbuf_rows));
    unit_add(&suite, "6.5 MB into a 1 MB cap", test_msgbuf_large, NULL);
    return unit_run("msgbuf", &suite, NULL, NULL);
}
