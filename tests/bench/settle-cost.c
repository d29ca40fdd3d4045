/*
 * settle-cost.c -- what end of message's settle (limiter_settle, one
 * script call per message) costs, against a real Redis: for R recipients
 * per message, M messages each reserve R sends (limiter_reserve, as RCPT
 * does) and are then settled in one call.  Prints the client's round trip
 * of the reserves and of the settles (p50, p99, µs) and the Redis CPU per
 * call of each (utime+stime of the server process from /proc, over the
 * phase).  Not a test; driven by tests/bench/settle-cost.sh, which starts
 * the Redis.  Usage: settle-cost REDIS PASSWORD_FILE REDIS_PID M R...
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "limiter.h"

static int
seed_nothing(void *ctx, const char *inbox_id, long day, long long now_ms, limiter_seed_t *out, char *err,
             size_t errlen)
{
    (void)ctx, (void)inbox_id, (void)day, (void)now_ms, (void)err, (void)errlen;
    out->sends_today = 0;
    return 0;
}

/* utime + stime of pid in clock ticks. */
static long long
cpu_ticks(const char *pid)
{
    char path[64], buf[2048];
    unsigned long long ut = 0, st = 0;
    snprintf(path, sizeof(path), "/proc/%s/stat", pid);
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(buf, sizeof(buf), f) == NULL) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    char *p = strrchr(buf, ')');
    if (p == NULL || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (long long)(ut + st);
}

static int
cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static void
report(const char *what, long long *us, int n, long long ticks, int calls)
{
    qsort(us, (size_t)n, sizeof(*us), cmp_ll);
    printf("  %-8s p50 %5lld us  p99 %5lld us  redis cpu %6.1f us/call\n", what, us[n / 2], us[n * 99 / 100],
           ticks * 1e6 / 100.0 / calls);
}

int
main(int argc, char **argv)
{
    char err[512];
    if (argc < 6) {
        fprintf(stderr, "usage: settle-cost REDIS PASSWORD_FILE REDIS_PID M R...\n");
        return 2;
    }
    int m = atoi(argv[4]);
    limiter_t *lim = limiter_new(argv[1], argv[2], 1, 2000, err, sizeof(err));
    if (lim == NULL || m < 1) {
        fprintf(stderr, "limiter: %s\n", lim ? "M < 1" : err);
        return 1;
    }
    limiter_set_seeder(lim, seed_nothing, NULL);
    for (int a = 5; a < argc; a++) {
        int r = atoi(argv[a]);
        char inbox[40], (*tokens)[48] = calloc((size_t)m * (size_t)r, sizeof(*tokens));
        const char **list = calloc((size_t)r, sizeof(*list));
        long long *rus = calloc((size_t)m * (size_t)r, sizeof(*rus)), *sus = calloc((size_t)m, sizeof(*sus));
        limit_result_t res;
        snprintf(inbox, sizeof(inbox), "bench-%d-%ld", r, (long)time(NULL));
        long long t0 = cpu_ticks(argv[3]);
        for (int i = 0; i < m * r; i++) {
            snprintf(tokens[i], sizeof(tokens[i]), "b.%d.%d", r, i);
            long long s = clock_us();
            if (limiter_reserve(lim, inbox, 1000000000, 1000000000, tokens[i], &res, err, sizeof(err)) != 0) {
                fprintf(stderr, "reserve: %s\n", err);
                return 1;
            }
            rus[i] = clock_us() - s;
        }
        long long t1 = cpu_ticks(argv[3]);
        for (int i = 0; i < m; i++) {
            for (int k = 0; k < r; k++)
                list[k] = tokens[i * r + k];
            long long s = clock_us();
            if (limiter_settle(lim, inbox, 1000000000, list, (size_t)r, &res, err, sizeof(err)) != 0) {
                fprintf(stderr, "settle: %s\n", err);
                return 1;
            }
            sus[i] = clock_us() - s;
        }
        long long t2 = cpu_ticks(argv[3]);
        printf("%d recipient(s) per message, %d messages:\n", r, m);
        report("reserve", rus, m * r, t1 - t0, m * r);
        report("settle", sus, m, t2 - t1, m);
        free(tokens);
        free(list);
        free(rus);
        free(sus);
    }
    limiter_free(lim);
    return 0;
}
