/*
 * track-rewrite-cost.c -- what tracking costs per message in the milter
 * (lib/mail/track_rewrite over GMime and lib/mail/html_links): an
 * outbound multipart/alternative message, a text part and an HTML part
 * of SIZE bytes (quoted-printable) with LINKS links, parsed, every link
 * rewritten with its token, the pixel added, the body written again.
 * Not a test: prints figures.
 *
 *   track-rewrite-cost N SIZE LINKS [SIZE LINKS]...   (tests/bench/track-rewrite-cost.sh)
 *
 * For each case: N messages, the time of each; p50, p99 and the mean in
 * microseconds, on one core, and the size of the new body.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "header.h"
#include "track_rewrite.h"

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

/* The message: header, a text part, an HTML part of about size bytes with
 * links links spread through paragraphs of text. */
static char *
message(size_t size, int links, size_t *len)
{
    size_t cap = size * 2 + 4096, n = 0;
    char *m = malloc(cap);
    n += (size_t)snprintf(m + n, cap - n,
                          "From: Agent <agent@bench.test>\r\nTo: someone@remote.test\r\nSubject: bench\r\n"
                          "Message-ID: <bench@bench.test>\r\nMIME-Version: 1.0\r\n"
                          "Content-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
                          "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello, the text part.\r\n\r\n"
                          "--b1\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
                          "<html><body>\r\n");
    size_t start = n, per = links > 0 ? size / (size_t)links : size;
    for (int l = 0; l < links || n - start < size; l++) {
        size_t at = n;
        if (l < links)
            n += (size_t)snprintf(m + n, cap - n, "<p><a href=3D\"https://www.example.com/articles/%d?utm=3Dnews\">"
                                  "article %d</a></p>\r\n", l, l);
        for (size_t i = 0; n - at < per && n - start < size && n < cap - 200; i++)
            m[n++] = (i % 70 == 69) ? '\n' : (i % 70 == 68) ? '\r' : (i % 7 == 6) ? ' ' : (char)('a' + i % 26);
        if (l >= links && n == at)
            break;
    }
    n += (size_t)snprintf(m + n, cap - n, "</body></html>\r\n\r\n--b1--\r\n");
    *len = n;
    return m;
}

int
main(int argc, char **argv)
{
    char err[256], keyfile[] = "/tmp/track-bench.XXXXXX";
    unsigned char id[TRACK_ID_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
    int fd;

    if (argc < 4 || (argc - 2) % 2 != 0) {
        fprintf(stderr, "usage: %s N SIZE LINKS [SIZE LINKS]...\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[1]);
    if (n < 10 || (fd = mkstemp(keyfile)) < 0 || write(fd, "bench-key-0123456789abcdefghijklmnopqrstuvwxyz\n", 47) != 47) {
        fprintf(stderr, "set-up: N >= 10, and a key file\n");
        return 1;
    }
    close(fd);
    track_keys_t *keys = track_keys_load(keyfile, err, sizeof(err));
    unlink(keyfile);
    if (keys == NULL) {
        fprintf(stderr, "keys: %s\n", err);
        return 1;
    }
    header_init();
    track_options_t opt = { .base_url = "https://t.example.com", .keys = keys, .opens = 1, .clicks = 1,
                            .max_links = 1000 };
    double *t = calloc((size_t)n, sizeof(*t));
    printf("%-10s %6s %10s %10s %10s %12s\n", "html", "links", "p50 us", "p99 us", "mean us", "new body");
    for (int a = 2; a + 1 < argc; a += 2) {
        size_t size = (size_t)atol(argv[a]), len;
        int links = atoi(argv[a + 1]);
        char *msg = message(size, links, &len);
        double sum = 0;
        size_t body = 0, got = 0;
        for (int m = 0; m < n; m++) {
            track_result_t r;
            double t0 = now_us();
            if (track_rewrite(&opt, id, msg, len, &r, err, sizeof(err)) != 0) {
                fprintf(stderr, "rewrite: %s\n", err);
                return 1;
            }
            t[m] = now_us() - t0;
            sum += t[m];
            body = r.body_len;
            got = r.link_count;
            track_result_clear(&r);
        }
        if (got != (size_t)links) {
            fprintf(stderr, "%zu links rewritten, not %d\n", got, links);
            return 1;
        }
        qsort(t, (size_t)n, sizeof(*t), cmp);
        printf("%-10zu %6d %10.0f %10.0f %10.0f %12zu\n", size, links, t[n / 2], t[n * 99 / 100], sum / n, body);
        free(msg);
    }
    track_keys_free(keys);
    free(t);
    return 0;
}
