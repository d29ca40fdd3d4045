/*
 * dkim-sign-cost.c -- what DKIM signing costs per message, as the milter
 * does it (lib/mail/dkim_signer over libopendkim): a signer made with the
 * domain's key (checked by OpenSSL once, as the milter's key cache does;
 * libopendkim reads the PEM for every message),
 * the header fields one by one, the body in 64 KB chunks as libmilter
 * passes it, the signature.  Not a test: prints figures.
 *
 *   dkim-sign-cost N BITS SIZE...    (tests/bench/dkim-sign-cost.sh builds and runs it)
 *
 * For each body SIZE (bytes): N messages, the time of each; prints p50,
 * p99 and the mean in microseconds, on one core.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dkim_keygen.h"
#include "dkim_signer.h"

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
    static const char *const fields[][2] = {
        { "From", " Agent <agent@bench.test>" },       { "To", " someone@remote.test" },
        { "Subject", " A benchmark message" },         { "Date", " Thu, 03 Dec 2026 12:00:00 +0000" },
        { "Message-ID", " <bench.1@bench.test>" },     { "MIME-Version", " 1.0" },
        { "Content-Type", " text/plain; charset=utf-8" }, { "X-Mailer", " bench" },
    };
    char err[512], sig[DKIM_SIGNER_HEADER_MAX];
    dkim_keygen_t key;
    dkim_signer_lib_t *lib;

    if (argc < 4) {
        fprintf(stderr, "usage: %s N BITS SIZE...\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]), bits = atoi(argv[2]);
    if (n < 10 || dkim_keygen_rsa(bits, &key, err, sizeof(err)) != 0 || (lib = dkim_signer_lib_new(err, sizeof(err))) == NULL) {
        fprintf(stderr, "set-up: %s\n", n < 10 ? "N >= 10" : err);
        return 1;
    }
    if (!dkim_signer_key_check(key.private_pem)) { /* once, as the milter's key cache does */
        fprintf(stderr, "the new key does not parse\n");
        return 1;
    }
    double *t = calloc((size_t)n, sizeof(*t));
    for (int a = 3; a < argc; a++) {
        size_t size = (size_t)atol(argv[a]);
        unsigned char *body = malloc(size + 2);
        /* lines of 76 characters, CRLF */
        for (size_t i = 0; i < size; i++)
            body[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : (unsigned char)('a' + i % 26);
        double sum = 0;
        for (int m = 0; m < n; m++) {
            double t0 = now_us();
            dkim_signer_t *s = dkim_signer_new(lib, "BENCH", key.private_pem, "bench.test", "pi202612-bench", err,
                                               sizeof(err));
            int rc = s == NULL ? -1 : 0;
            for (size_t f = 0; rc == 0 && f < sizeof(fields) / sizeof(fields[0]); f++)
                rc = dkim_signer_header(s, fields[f][0], fields[f][1], err, sizeof(err));
            for (size_t off = 0; rc == 0 && off < size; off += 65536)
                rc = dkim_signer_body(s, body + off, size - off < 65536 ? size - off : 65536, err, sizeof(err));
            if (rc == 0)
                rc = dkim_signer_finish(s, sig, sizeof(sig), err, sizeof(err));
            dkim_signer_free(s);
            t[m] = now_us() - t0;
            sum += t[m];
            if (rc != 0) {
                fprintf(stderr, "signing failed: %s\n", err);
                return 1;
            }
        }
        qsort(t, (size_t)n, sizeof(*t), cmp);
        printf("rsa %d, body %zu bytes, %d messages: p50 %.0f us, p99 %.0f us, mean %.0f us per message\n", bits, size,
               n, t[n / 2], t[(n * 99) / 100], sum / n);
        free(body);
    }
    free(t);
    dkim_keygen_wipe(&key);
    dkim_signer_lib_free(lib);
    return 0;
}
