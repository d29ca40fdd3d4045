/*
 * test_csv.c -- postinboxctl's CSV module (ctl/csv.c): records read as
 * RFC 4180 says (quotes, doubled quotes, commas and line breaks inside
 * quotes, CRLF and LF, blank lines, a last line without an end), the
 * line each record starts on, malformed input refused with its line, and
 * fields written back quoted and guarded against formula injection.
 */
#include "unit.h"

#include <string.h>

#include "csv.h"

/* ---- reading ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *input;
    const char *records;  /* each record's fields joined by '|', records by ';' */
    const char *lines;    /* the line each record starts on, joined by ',' */
    const char *error;    /* NULL, or the start of the error of the record after the last good one */
} read_row_t;

static const read_row_t read_rows[] = {
    { "plain fields", "a,b,c\n", "a|b|c", "1", NULL },
    { "CRLF line ends", "a,b\r\nc,d\r\n", "a|b;c|d", "1,2", NULL },
    { "no line end at the end", "a,b\nc", "a|b;c", "1,2", NULL },
    { "empty fields", ",,\n", "||", "1", NULL },
    { "blank lines skipped, lines still counted", "a\n\n\r\nb\n", "a;b", "1,4", NULL },
    { "quoted comma", "\"a,b\",c\n", "a,b|c", "1", NULL },
    { "doubled quote", "\"say \"\"hi\"\"\",x\n", "say \"hi\"|x", "1", NULL },
    { "line break inside quotes", "\"one\ntwo\",x\nnext\n", "one\ntwo|x;next", "1,3", NULL },
    { "empty quoted field", "\"\",a\n", "|a", "1", NULL },
    { "UTF-8 kept", "r\xc3\xa9sum\xc3\xa9,x\n", "r\xc3\xa9sum\xc3\xa9|x", "1", NULL },
    { "lone CR inside a field kept", "a\rb,c\n", "a\rb|c", "1", NULL },
    { "unterminated quote", "ok\n\"open,x\n", "ok", "1", "line 2: a quoted field is not closed" },
    { "quote inside an unquoted field", "ok\nab\"c\n", "ok", "1", "line 2: a quote in an unquoted field" },
    { "text after a closing quote", "\"a\"b,c\n", "", "", "line 1: text after a closing quote" },
    { "NUL byte", "ok\na\0b\n", "ok", "1", "line 2: a NUL byte" },
    { "too many fields", "ok\n1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17\n", "ok", "1", "line 2: more than 16" },
};

static void
test_read(void **state)
{
    const read_row_t *row = *state;
    size_t len = strlen(row->input);
    char got[512] = "", lines[128] = "", err[160] = "", *fields[CSV_MAX_FIELDS];
    csv_reader_t r;
    long line;
    int n;

    if (strcmp(row->name, "NUL byte") == 0)
        len = 9;
    assert_int_equal(csv_reader_init(&r, row->input, len), 0);
    while ((n = csv_read(&r, fields, &line, err, sizeof(err))) > 0) {
        if (got[0] || lines[0])
            strcat(got, ";"), strcat(lines, ",");
        for (int i = 0; i < n; i++) {
            if (i > 0)
                strcat(got, "|");
            strcat(got, fields[i]);
        }
        snprintf(lines + strlen(lines), sizeof(lines) - strlen(lines), "%ld", line);
    }
    csv_reader_free(&r);
    assert_string_equal(got, row->records);
    assert_string_equal(lines, row->lines);
    if (row->error == NULL) {
        assert_int_equal(n, 0);
    } else {
        assert_int_equal(n, -1);
        if (strncmp(err, row->error, strlen(row->error)) != 0)
            fail_msg("error \"%s\", want \"%s...\"", err, row->error);
    }
}

/* ---- writing ------------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *value;
    int guard;
    const char *field;    /* as written */
    const char *back;     /* read back and unguarded */
} write_row_t;

static const write_row_t write_rows[] = {
    { "plain", "a@b.test", 1, "a@b.test", "a@b.test" },
    { "empty", "", 1, "", "" },
    { "comma quoted", "full, really", 1, "\"full, really\"", "full, really" },
    { "quote doubled", "say \"x\"", 1, "\"say \"\"x\"\"\"", "say \"x\"" },
    { "line break quoted", "a\nb", 1, "\"a\nb\"", "a\nb" },
    { "leading space quoted", " a", 1, "\" a\"", " a" },
    { "formula = guarded", "=HYPERLINK(\"x\")", 1, "\"'=HYPERLINK(\"\"x\"\")\"", "=HYPERLINK(\"x\")" },
    { "formula + guarded", "+1", 1, "'+1", "+1" },
    { "formula - guarded", "-2+3", 1, "'-2+3", "-2+3" },
    { "formula @ guarded", "@SUM(A1)", 1, "'@SUM(A1)", "@SUM(A1)" },
    { "tab guarded", "\tx", 1, "'\tx", "\tx" },
    { "no guard asked", "=1", 0, "=1", "=1" },
    { "a ' before a letter is data", "'quoted", 1, "'quoted", "'quoted" },
    { "'= already in the data is read as the guard", "'=x", 1, "'=x", "=x" },
};

static void
test_write(void **state)
{
    const write_row_t *row = *state;
    char *field = csv_field(row->value, row->guard), *fields[CSV_MAX_FIELDS], err[160];
    csv_reader_t r;
    long line;

    assert_non_null(field);
    assert_string_equal(field, row->field);
    /* a record of the field and a second one, read back */
    size_t len = strlen(field) + 3;
    char *record = malloc(len + 1);
    snprintf(record, len + 1, "%s,z\n", field);
    assert_int_equal(csv_reader_init(&r, record, strlen(record)), 0);
    assert_int_equal(csv_read(&r, fields, &line, err, sizeof(err)), 2);
    assert_string_equal(csv_unguard(fields[0]), row->back);
    assert_string_equal(fields[1], "z");
    csv_reader_free(&r);
    free(record);
    free(field);
}

int
main(void)
{
    static unit_suite_t suite;
    unit_add_rows(&suite, test_read, read_rows, sizeof(read_rows[0]), UNIT_ROWS(read_rows));
    unit_add_rows(&suite, test_write, write_rows, sizeof(write_rows[0]), UNIT_ROWS(write_rows));
    return unit_run("csv", &suite, NULL, NULL);
}
