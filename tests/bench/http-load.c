/*
 * http-load.c -- a bounded HTTP GET load over libcurl's multi interface:
 * CONCURRENCY keep-alive connections, TOTAL requests taken round-robin
 * from a file of URLs, redirects not followed.  Not a test: prints the
 * requests per second, latency p50/p99 and the count of each status.
 *
 *   http-load URLFILE CONCURRENCY TOTAL [USER-AGENT]   (tests/bench/tracking-throughput.sh)
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
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
    if (argc < 4) {
        fprintf(stderr, "usage: %s URLFILE CONCURRENCY TOTAL [USER-AGENT]\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    int conc = atoi(argv[2]), total = atoi(argv[3]);
    const char *ua = argc > 4 ? argv[4] : "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    char line[4096], **urls = NULL;
    size_t nurls = 0;
    while (f && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (*line) {
            urls = realloc(urls, (nurls + 1) * sizeof(*urls));
            urls[nurls++] = strdup(line);
        }
    }
    if (f)
        fclose(f);
    if (nurls == 0 || conc < 1 || total < conc) {
        fprintf(stderr, "no URLs, or TOTAL < CONCURRENCY\n");
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURLM *multi = curl_multi_init();
    CURL **h = calloc((size_t)conc, sizeof(*h));
    double *started = calloc((size_t)conc, sizeof(*started)), *lat = calloc((size_t)total, sizeof(*lat));
    long status[600] = { 0 };
    int issued = 0, done = 0, running = 0, failed = 0;
    double t0 = now_s();

    for (int i = 0; i < conc; i++) {
        h[i] = curl_easy_init();
        curl_easy_setopt(h[i], CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h[i], CURLOPT_USERAGENT, ua);
        curl_easy_setopt(h[i], CURLOPT_PRIVATE, (char *)(long)i);
        curl_easy_setopt(h[i], CURLOPT_TIMEOUT_MS, 10000L);
        curl_easy_setopt(h[i], CURLOPT_URL, urls[issued++ % nurls]);
        started[i] = now_s();
        curl_multi_add_handle(multi, h[i]);
    }
    while (done < total) {
        CURLMsg *msg;
        int left;
        curl_multi_perform(multi, &running);
        while ((msg = curl_multi_info_read(multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv;
            long code = 0;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            int i = (int)(long)priv;
            if (msg->data.result == CURLE_OK) {
                curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
                if (code >= 0 && code < 600)
                    status[code]++;
            } else {
                failed++;
            }
            lat[done++] = now_s() - started[i];
            curl_multi_remove_handle(multi, msg->easy_handle);
            if (issued < total) {
                curl_easy_setopt(h[i], CURLOPT_URL, urls[issued++ % nurls]);
                started[i] = now_s();
                curl_multi_add_handle(multi, h[i]);
            }
        }
        if (done < total)
            curl_multi_poll(multi, NULL, 0, 100, NULL);
    }
    double elapsed = now_s() - t0;
    qsort(lat, (size_t)total, sizeof(*lat), cmp);
    printf("requests %d  concurrency %d  seconds %.2f  req/s %.0f  p50 %.2f ms  p99 %.2f ms  failed %d ", total, conc,
           elapsed, total / elapsed, lat[total / 2] * 1e3, lat[total * 99 / 100] * 1e3, failed);
    for (int c = 0; c < 600; c++)
        if (status[c])
            printf(" %d:%ld", c, status[c]);
    printf("\n");
    for (int i = 0; i < conc; i++)
        curl_easy_cleanup(h[i]);
    curl_multi_cleanup(multi);
    curl_global_cleanup();
    return failed == 0 ? 0 : 1;
}
