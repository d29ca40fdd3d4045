/*
 * test_dkim_signer.c -- lib/mail/dkim_signer and dkim_keygen: a message
 * signed as the milter feeds it (header fields with LF folding, body in
 * odd chunks) verifies with python3-dkim (tests/dkim_verify.py, the TXT
 * record from dkim_keygen_txt), and an altered copy does not: a changed
 * body, a changed Subject, a second From (From is over-signed).  Bad keys
 * fail with an error that does not quote the key.
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

#include "dkim_keygen.h"
#include "dkim_signer.h"

static dkim_keygen_t test_key;
static dkim_signer_lib_t *test_lib;
static char test_dir[64];

typedef struct {
    const char *name, *value;
} test_header_t;

static const test_header_t test_headers[] = {
    { "Received", " from client (localhost [127.0.0.1])\n\tby mx.example.test (Postfix) with ESMTPSA" },
    { "From", " Sales <sales@acme.test>" },
    { "To", " someone@example.org,\n\t other@example.org" },
    { "Subject", " a folded\n\t subject  with   spaces" },
    { "Date", " Wed, 02 Dec 2026 07:00:00 +0000" },
    { "Message-ID", " <1@acme.test>" },
    { "MIME-Version", " 1.0" },
    { "Content-Type", " text/plain; charset=utf-8" },
};
static const char test_body[] = "Hello,\r\n\r\nthis  is a   body with trailing spaces   \r\n.dot line\r\n\r\n\r\n";

/* Signs the fixed message; the DKIM-Signature value into sig. */
static void
test_sign(const char *pem, char *sig, size_t siglen)
{
    char err[300];
    dkim_signer_t *s;
    assert_int_equal(dkim_signer_key_check(pem), 1);
    s = dkim_signer_new(test_lib, "TESTQID", pem, "acme.test", "pi202612-abcd", err, sizeof(err));
    assert_non_null(s);
    for (size_t i = 0; i < UNIT_ROWS(test_headers); i++)
        assert_int_equal(dkim_signer_header(s, test_headers[i].name, test_headers[i].value, err, sizeof(err)), 0);
    /* chunks as libmilter may cut them: mid-line, mid-CRLF */
    size_t len = strlen(test_body), cuts[] = { 0, 3, 17, 18, 40, len };
    for (size_t i = 0; i + 1 < UNIT_ROWS(cuts); i++)
        assert_int_equal(dkim_signer_body(s, (const unsigned char *)test_body + cuts[i], cuts[i + 1] - cuts[i], err,
                                          sizeof(err)), 0);
    assert_int_equal(dkim_signer_finish(s, sig, siglen, err, sizeof(err)), 0);
    dkim_signer_free(s);
}

/* Writes the message as the MTA sends it (the signature on top, CRLF),
 * with the changes asked for, and runs the independent verifier on it.
 * Its exit status. */
static int
test_verify(const char *sig, const char *subject, const char *extra_header, const char *body)
{
    char msg[128], rec[128], cmd[512], txt[DKIM_KEYGEN_TXT_MAX];
    FILE *fp;

    snprintf(msg, sizeof(msg), "%s/message", test_dir);
    snprintf(rec, sizeof(rec), "%s/records", test_dir);
    fp = fopen(msg, "w");
    assert_non_null(fp);
    fprintf(fp, "DKIM-Signature: ");
    for (const char *p = sig; *p; p++)
        fputs(*p == '\n' ? "\r\n" : (char[]){ *p, 0 }, fp);
    fputs("\r\n", fp);
    if (extra_header)
        fprintf(fp, "%s\r\n", extra_header);
    for (size_t i = 0; i < UNIT_ROWS(test_headers); i++) {
        const char *value = strcmp(test_headers[i].name, "Subject") == 0 && subject ? subject : test_headers[i].value;
        fprintf(fp, "%s:", test_headers[i].name);
        for (const char *p = value; *p; p++)
            fputs(*p == '\n' ? "\r\n" : (char[]){ *p, 0 }, fp);
        fputs("\r\n", fp);
    }
    fprintf(fp, "\r\n%s", body ? body : test_body);
    fclose(fp);
    fp = fopen(rec, "w");
    assert_non_null(fp);
    dkim_keygen_txt(test_key.algorithm, test_key.public_b64, txt, sizeof(txt));
    fprintf(fp, "pi202612-abcd._domainkey.acme.test. TXT \"%s\"\n", txt);
    fclose(fp);
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/dkim_verify.py %s %s >%s/out 2>&1", TESTS_DIR, msg, rec,
             test_dir);
    int rc = system(cmd);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void
test_verifies(void **state)
{
    char sig[DKIM_SIGNER_HEADER_MAX];
    (void)state;
    test_sign(test_key.private_pem, sig, sizeof(sig));
    assert_non_null(strstr(sig, "d=acme.test"));
    assert_non_null(strstr(sig, "s=pi202612-abcd"));
    assert_non_null(strstr(sig, "c=relaxed/relaxed"));
    assert_non_null(strstr(sig, "a=rsa-sha256"));
    assert_null(strchr(sig, '\r'));
    assert_int_equal(test_verify(sig, NULL, NULL, NULL), 0);
}

static void
test_oversigned_from(void **state)
{
    char sig[DKIM_SIGNER_HEADER_MAX], h[1024];
    regex_t re;
    regmatch_t m[2];
    int froms = 0;
    (void)state;
    test_sign(test_key.private_pem, sig, sizeof(sig));
    /* h= (not bh=) names From once more than it occurs */
    assert_int_equal(regcomp(&re, "[;[:space:]]h=([^;]*)", REG_EXTENDED), 0);
    assert_int_equal(regexec(&re, sig, 2, m, 0), 0);
    regfree(&re);
    snprintf(h, sizeof(h), "%.*s", (int)(m[1].rm_eo - m[1].rm_so), sig + m[1].rm_so);
    for (char *t = strtok(h, ": \n\t"); t; t = strtok(NULL, ": \n\t"))
        froms += strcasecmp(t, "From") == 0;
    assert_int_equal(froms, 2);
    assert_int_not_equal(test_verify(sig, NULL, "From: Mallory <m@evil.example>", NULL), 0);
}

static void
test_altered_fails(void **state)
{
    char sig[DKIM_SIGNER_HEADER_MAX];
    (void)state;
    test_sign(test_key.private_pem, sig, sizeof(sig));
    assert_int_not_equal(test_verify(sig, NULL, NULL, "Hello,\r\n\r\nthis is another body\r\n"), 0);
    assert_int_not_equal(test_verify(sig, " another subject", NULL, NULL), 0);
    /* relaxed: whitespace changes inside header and body lines still verify */
    assert_int_equal(test_verify(sig, " a   folded subject with spaces", NULL,
                                 "Hello,\r\n\r\nthis is a body with trailing spaces\r\n.dot line\r\n"), 0);
}

static void
test_bad_key(void **state)
{
    const char *bad = "-----BEGIN PRIVATE KEY-----\nTUlJQ25vdGFrZXk=\n-----END PRIVATE KEY-----\n";
    (void)state;
    /* refused before libopendkim would see it (it leaks on such a key) */
    assert_int_equal(dkim_signer_key_check(bad), 0);
    assert_int_equal(dkim_signer_key_check("not a key"), 0);
    assert_int_equal(dkim_signer_key_check(""), 0);
}

static void
test_keygen(void **state)
{
    char sel[DKIM_KEYGEN_SELECTOR_MAX], other[DKIM_KEYGEN_SELECTOR_MAX], txt[DKIM_KEYGEN_TXT_MAX], err[200];
    dkim_keygen_t small;
    regex_t re;
    (void)state;
    dkim_keygen_selector(1796194800, sel);  /* 2026-12-02 */
    assert_int_equal(regcomp(&re, "^pi202612-[0-9a-f]{4}$", REG_EXTENDED | REG_NOSUB), 0);
    assert_int_equal(regexec(&re, sel, 0, NULL, 0), 0);
    regfree(&re);
    dkim_keygen_selector(1796194800, other);
    assert_string_not_equal(sel, other);  /* 1 in 65536 to fail */
    dkim_keygen_txt("rsa-sha256", "AAAA", txt, sizeof(txt));
    assert_string_equal(txt, "v=DKIM1; k=rsa; p=AAAA");
    assert_non_null(strstr(test_key.private_pem, "-----BEGIN PRIVATE KEY-----"));
    assert_true(strlen(test_key.public_b64) > 360);   /* RSA 2048 SPKI: 392 base64 characters */
    assert_int_equal(dkim_keygen_rsa(512, &small, err, sizeof(err)), -1);
    assert_int_equal(dkim_keygen_rsa(8192, &small, err, sizeof(err)), -1);
}

int
main(void)
{
    static unit_suite_t suite;
    char err[300];

    snprintf(test_dir, sizeof(test_dir), "/tmp/pi-test.dkim.XXXXXX");
    if (mkdtemp(test_dir) == NULL || dkim_keygen_rsa(DKIM_KEYGEN_BITS_DEFAULT, &test_key, err, sizeof(err)) != 0 ||
        (test_lib = dkim_signer_lib_new(err, sizeof(err))) == NULL) {
        fprintf(stderr, "setup: %s\n", err);
        return 1;
    }
    unit_add(&suite, "a signed message verifies with python3-dkim", test_verifies, NULL);
    unit_add(&suite, "From is over-signed: a second From breaks it", test_oversigned_from, NULL);
    unit_add(&suite, "an altered body or Subject fails; whitespace (relaxed) does not", test_altered_fails, NULL);
    unit_add(&suite, "a key OpenSSL does not read fails the check", test_bad_key, NULL);
    unit_add(&suite, "key pairs, selectors, TXT values", test_keygen, NULL);
    int failed = unit_run("dkim_signer", &suite, NULL, NULL);
    dkim_signer_lib_free(test_lib);
    dkim_keygen_wipe(&test_key);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", test_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", test_dir);
    return failed;
}
