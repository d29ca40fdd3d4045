/*
 * logfollow.c -- the Postfix log follower.  See logfollow.h.
 *
 * File mode (tail -F): the file is read to its end every poll (200 ms).
 * At the end, the path is stat(2)ed: another device/inode there means the
 * file was rotated (renamed away, a new one created); the old descriptor
 * is kept as "draining" -- Postfix's postlogd (or syslog) keeps writing
 * to it until it reopens the log -- and read until it has been idle for
 * LOGFOLLOW_DRAIN_MS, while the new file is read from its start.  A file
 * shorter than the offset read so far was truncated (copytruncate): read
 * again from 0.  A path that does not exist yet is retried every poll.
 *
 * Position: after every batch the device, inode and offset of the next
 * unread line of the current file go to postfix_log_state (written aside
 * and renamed).  At start: the same file -> resume at the offset; another
 * file -> the old one is looked for in the same directory by device and
 * inode (a rotated maillog.1 or maillog.DATE-TIME) and drained from the
 * saved offset, and the current one is read from its start; no state ->
 * start at the end of the current file.  Lines of a draining file are not
 * in the saved position: a restart during a drain may miss the few lines
 * written to the old file after the rotation.
 *
 * An address Postfix logs with 8-bit bytes (SMTPUTF8: it logs what the
 * client sent) is first put in the canonical form the milter recorded
 * (lib/util/address: U-labels as A-labels), so it matches its row.
 * A failed or deferred line is classified once, here, by
 * postfix_log_classify (lib/mail/bounce_class.h: reason, bounceType, SMTP
 * code, sender problem).
 * A line is applied by one statement, record_delivery() (sql/003; sql/005
 * adds the suspension policy, from the config in force; 013 the
 * classification), which
 * is idempotent, so a line read twice (a crash between the statement and
 * the save) changes nothing.  Queue ids that have no outbound message
 * (mail we did not record, inbound mail) are remembered for
 * LOGFOLLOW_NEG_TTL_S in a small direct-mapped cache, and forgotten when
 * Postfix logs "removed" (short queue ids are reused).
 * Backend failure: the line is retried (1 s, then up to 5 s apart) and
 * nothing after it is read meanwhile; a statement the server itself
 * refuses (an ERROR, not a lost connection) is retried 3 times, then the
 * line is logged and skipped so one bad line cannot stop the follower.
 */
#include "logfollow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "log.h"
#include "policyd_metrics.h"
#include "postfix_log.h"
#include "runtime.h"
#include "store.h"
#include "suspend.h"

#define LOGFOLLOW_BUF (256 * 1024)
#define LOGFOLLOW_POLL_MS 200
#define LOGFOLLOW_DRAIN_MS 5000
#define LOGFOLLOW_NEG_SLOTS 4096
#define LOGFOLLOW_NEG_TTL_S 300
#define LOGFOLLOW_SERVER_ERROR_TRIES 3

#define LOGFOLLOW_SQL                                                                                            \
    "SELECT postinbox.record_delivery($1, $2, $3, $4, $5, $6, $7, $8::double precision, $9::boolean,"            \
    " $10::jsonb, $11, $12, $13::integer, $14::boolean)"

typedef struct {
    int fd;
    dev_t dev;
    ino_t ino;
    off_t base;              /* file offset of buf[0] */
    size_t len;              /* bytes in buf */
    int skipping;            /* inside an over-long line: drop up to its newline */
    long long idle_since;    /* draining: last time data came */
    char *buf;
} lf_src_t;

typedef struct {
    char id[PFL_QUEUE_ID_MAX];
    time_t at;
} lf_neg_t;

static struct {
    pthread_t thread;
    int started;
    atomic_int stop;
    char *path;
    char *state_path;
    int is_stdin;
    lf_src_t cur, old;
    lf_neg_t neg[LOGFOLLOW_NEG_SLOTS];
    int eof;                 /* standard input ended */
    int server_errors;       /* consecutive server ERRORs on the current line */
    dev_t saved_dev;
    ino_t saved_ino;
    off_t saved_off;
} lf;

static long long
lf_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
lf_sleep_ms(long ms)
{
    /* in small steps so a stop is noticed */
    while (ms > 0 && !atomic_load(&lf.stop)) {
        long step = ms > 100 ? 100 : ms;
        struct timespec ts = { 0, step * 1000000L };
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ---- negative cache ------------------------------------------------------------ */

static lf_neg_t *
lf_neg_slot(const char *id)
{
    uint32_t h = 2166136261u;
    for (const char *p = id; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return &lf.neg[h % LOGFOLLOW_NEG_SLOTS];
}

static int
lf_neg_has(const char *id)
{
    lf_neg_t *s = lf_neg_slot(id);
    return strcmp(s->id, id) == 0 && time(NULL) - s->at < LOGFOLLOW_NEG_TTL_S;
}

static void
lf_neg_add(const char *id)
{
    lf_neg_t *s = lf_neg_slot(id);
    snprintf(s->id, sizeof(s->id), "%s", id);
    s->at = time(NULL);
}

static void
lf_neg_forget(const char *id)
{
    lf_neg_t *s = lf_neg_slot(id);
    if (strcmp(s->id, id) == 0)
        s->id[0] = '\0';
}

/* ---- one line ------------------------------------------------------------------- */

/* Postfix logs an SMTPUTF8 address as the client gave it (info@bücher.example);
 * the milter recorded its canonical form (U-labels as A-labels,
 * lib/util/address), so an address with 8-bit bytes is matched in that form. */
static void
lf_canonical_intl(char *addr, size_t size)
{
    char canonical[ADDRESS_MAX + 1];
    int intl = 0;
    for (const char *p = addr; *p; p++)
        intl |= (unsigned char)*p >= 0x80;
    if (intl && address_normalize(addr, canonical, sizeof(canonical)) == ADDRESS_OK && strlen(canonical) < size)
        memcpy(addr, canonical, strlen(canonical) + 1);
}

/* 0: done with the line (applied, ignored or skipped); -1: retry it later. */
static int
lf_apply(const char *line, size_t len)
{
    pfl_line_t pl;
    switch (postfix_log_parse(line, len, &pl)) {
    case PFL_NONE:
        policyd_metrics_log_line(NULL);
        return 0;
    case PFL_REMOVED:
        lf_neg_forget(pl.queue_id);
        policyd_metrics_log_line("removed");
        return 0;
    case PFL_DELIVERY:
    case PFL_EXPIRED:
        break;
    }
    if (lf_neg_has(pl.queue_id)) {
        policyd_metrics_log_line(pfl_status_name(pl.status));
        return 0;
    }

    char delay[32], code[8], err[512], policy[SUSPEND_POLICY_MAX];
    bounce_class_t why;
    int failure = pl.status != PFL_STATUS_SENT;
    postfix_log_classify(&pl, &why);
    snprintf(code, sizeof(code), "%d", why.code);
    lf_canonical_intl(pl.to, sizeof(pl.to));
    lf_canonical_intl(pl.orig_to, sizeof(pl.orig_to));
    snprintf(delay, sizeof(delay), "%.3f", pl.delay);
    runtime_t *rt = runtime_acquire();
    if (rt == NULL)
        return -1;
    /* The suspension thresholds of the config in force for this line. */
    if (suspend_policy_json(rt->cfg, policy, sizeof(policy)) < 0) {
        runtime_release(rt);
        log_error("postfix log: suspension policy does not fit %zu bytes", sizeof(policy));
        return -1;
    }
    const char *params[14] = {
        pl.queue_id,
        pl.kind == PFL_DELIVERY ? pl.to : NULL,
        pl.orig_to[0] ? pl.orig_to : NULL,
        pfl_status_name(pl.status),
        pl.dsn[0] ? pl.dsn : NULL,
        pl.diagnostic[0] || pl.kind == PFL_DELIVERY ? pl.diagnostic : NULL,
        pl.relay[0] ? pl.relay : NULL,
        pl.delay >= 0 ? delay : NULL,
        rt->cfg->deferred_events == DEFERRED_EVENTS_EVERY ? "true" : "false",
        policy,
        failure ? bounce_reason_name(why.reason) : NULL,
        failure ? bounce_type_name(why.type) : NULL,
        failure && why.code > 0 ? code : NULL,
        failure ? (bounce_reason_sender_problem(why.reason) ? "true" : "false") : NULL,
    };
    PGresult *res = store_exec(rt->store, LOGFOLLOW_SQL, 14, params, err, sizeof(err));
    runtime_release(rt);
    if (res == NULL) {
        policyd_metrics_log_backend_error();
        if (strstr(err, "ERROR:") != NULL && ++lf.server_errors >= LOGFOLLOW_SERVER_ERROR_TRIES) {
            log_error("postfix log: skipping the line for %s to <%s> after %d refusals: %s", pl.queue_id, pl.to,
                      lf.server_errors, err);
            lf.server_errors = 0;
            policyd_metrics_log_line(pfl_status_name(pl.status));
            return 0;
        }
        log_warn("postfix log: recording %s to <%s> failed, will retry: %s", pl.queue_id, pl.to, err);
        return -1;
    }
    lf.server_errors = 0;
    policyd_metrics_log_line(pfl_status_name(pl.status));
    const char *outcome = PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "";
    if (strcmp(outcome, "unknown") == 0)
        lf_neg_add(pl.queue_id);
    else
        log_debug("postfix log: %s to <%s> %s reason=%s bounce_type=%s: %s", pl.queue_id,
                  pl.kind == PFL_DELIVERY ? pl.to : "*", pfl_status_name(pl.status),
                  failure ? bounce_reason_name(why.reason) : "-", failure ? bounce_type_name(why.type) : "-", outcome);
    PQclear(res);
    return 0;
}

/* ---- reading ------------------------------------------------------------------ */

static void
lf_src_close(lf_src_t *s)
{
    if (s->fd >= 0 && s->fd != 0)
        close(s->fd);
    s->fd = -1;
    s->len = 0;
    s->skipping = 0;
}

/* Applies the complete lines in s->buf.  0, or -1 when a line must be
 * retried (what is left stays in the buffer). */
static int
lf_lines(lf_src_t *s)
{
    size_t start = 0;
    int rc = 0;
    while (start < s->len) {
        char *nl = memchr(s->buf + start, '\n', s->len - start);
        if (nl == NULL)
            break;
        size_t n = (size_t)(nl - (s->buf + start));
        if (s->skipping)
            s->skipping = 0;
        else if (lf_apply(s->buf + start, n) != 0) {
            rc = -1;
            break;
        }
        start += n + 1;
    }
    if (start == 0 && s->len == LOGFOLLOW_BUF && rc == 0) {
        /* one line fills the buffer: not a Postfix line; drop it */
        log_warn("postfix log: skipping a line longer than %d bytes", LOGFOLLOW_BUF);
        policyd_metrics_log_line(NULL);
        start = s->len;
        s->skipping = 1;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    s->base += (off_t)start;
    return rc;
}

/* Reads what is there and applies it.  >0 bytes read, 0 at the end,
 * -1 when a line must be retried, -2 on a read error. */
static int
lf_pump(lf_src_t *s)
{
    if (s->len > 0 && lf_lines(s) != 0)
        return -1;
    if (lf.is_stdin && s->fd == 0) {
        /* never block in read(2): a stop must be noticed */
        struct pollfd pfd = { .fd = 0, .events = POLLIN };
        if (poll(&pfd, 1, LOGFOLLOW_POLL_MS) <= 0)
            return 0;
    }
    ssize_t got = read(s->fd, s->buf + s->len, LOGFOLLOW_BUF - s->len);
    if (got < 0)
        return errno == EINTR || errno == EAGAIN ? 0 : -2;
    if (got == 0) {
        if (lf.is_stdin)
            lf.eof = 1;
        return 0;
    }
    s->len += (size_t)got;
    return lf_lines(s) != 0 ? -1 : (int)(got > 0 ? 1 : 0);
}

static void
lf_save(void)
{
    if (lf.is_stdin || lf.state_path[0] == '\0' || lf.cur.fd < 0)
        return;
    if (lf.cur.dev == lf.saved_dev && lf.cur.ino == lf.saved_ino && lf.cur.base == lf.saved_off)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", lf.state_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        log_warn("postfix log: cannot write %s: %s", tmp, strerror(errno));
        return;
    }
    fprintf(f, "%ju %ju %jd\n", (uintmax_t)lf.cur.dev, (uintmax_t)lf.cur.ino, (intmax_t)lf.cur.base);
    if (fclose(f) != 0 || rename(tmp, lf.state_path) != 0) {
        log_warn("postfix log: cannot save the position in %s: %s", lf.state_path, strerror(errno));
        unlink(tmp);
        return;
    }
    lf.saved_dev = lf.cur.dev;
    lf.saved_ino = lf.cur.ino;
    lf.saved_off = lf.cur.base;
}

static int
lf_open_at(lf_src_t *s, const char *path, off_t off)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if (off > st.st_size)
        off = 0;                      /* truncated meanwhile */
    if (off < 0)
        off = st.st_size;             /* the end */
    if (lseek(fd, off, SEEK_SET) < 0) {
        close(fd);
        return -1;
    }
    s->fd = fd;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->base = off;
    s->len = 0;
    s->skipping = 0;
    return 0;
}

/* The rotated-away file with device dev and inode ino, in path's directory. */
static int
lf_find_rotated(dev_t dev, ino_t ino, char *out, size_t outlen)
{
    char copy[4096];
    snprintf(copy, sizeof(copy), "%s", lf.path);
    const char *dir = dirname(copy);
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    int found = -1;
    while ((e = readdir(d)) != NULL) {
        char p[4096];
        struct stat st;
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_dev == dev && st.st_ino == ino) {
            snprintf(out, outlen, "%s", p);
            found = 0;
            break;
        }
    }
    closedir(d);
    return found;
}

/* First open of the file, from the saved position. */
static void
lf_open_initial(void)
{
    uintmax_t dev = 0, ino = 0;
    intmax_t off = -1;
    int have = 0;
    if (lf.state_path[0]) {
        FILE *f = fopen(lf.state_path, "r");
        if (f) {
            have = fscanf(f, "%ju %ju %jd", &dev, &ino, &off) == 3 && off >= 0;
            fclose(f);
        }
    }
    struct stat st;
    if (stat(lf.path, &st) != 0) {
        char p[4096];
        if (have && lf_find_rotated((dev_t)dev, (ino_t)ino, p, sizeof(p)) == 0
            && lf_open_at(&lf.old, p, (off_t)off) == 0) {
            lf.old.idle_since = lf_now_ms();
            log_info("postfix log: reading the rest of %s from offset %jd", p, off);
        }
        return;                       /* the loop opens it when it appears */
    }
    if (have && st.st_dev == (dev_t)dev && st.st_ino == (ino_t)ino) {
        if (lf_open_at(&lf.cur, lf.path, (off_t)off) == 0)
            log_info("postfix log: resuming %s at offset %jd", lf.path, (intmax_t)lf.cur.base);
        return;
    }
    if (have) {
        char p[4096];
        if (lf_find_rotated((dev_t)dev, (ino_t)ino, p, sizeof(p)) == 0 && lf_open_at(&lf.old, p, (off_t)off) == 0) {
            lf.old.idle_since = lf_now_ms();
            log_info("postfix log: %s was rotated; reading the rest of %s from offset %jd", lf.path, p, off);
        } else
            log_warn("postfix log: the file of the saved position is gone; lines after it may be lost");
        if (lf_open_at(&lf.cur, lf.path, 0) == 0)
            log_info("postfix log: reading %s from the start", lf.path);
        return;
    }
    if (lf_open_at(&lf.cur, lf.path, -1) == 0)
        log_info("postfix log: no saved position, following %s from its end (offset %jd)", lf.path,
                 (intmax_t)lf.cur.base);
}

/* At the end of the current file: rotated or truncated? */
static void
lf_check_file(void)
{
    struct stat st, fst;
    if (lf.cur.fd < 0) {
        if (lf_open_at(&lf.cur, lf.path, 0) == 0)
            log_info("postfix log: %s appeared, reading it from the start", lf.path);
        return;
    }
    if (fstat(lf.cur.fd, &fst) == 0 && fst.st_size < lf.cur.base + (off_t)lf.cur.len) {
        log_warn("postfix log: %s was truncated; reading again from the start", lf.path);
        lseek(lf.cur.fd, 0, SEEK_SET);
        lf.cur.base = 0;
        lf.cur.len = 0;
        lf.cur.skipping = 0;
        return;
    }
    if (stat(lf.path, &st) != 0 || (st.st_dev == lf.cur.dev && st.st_ino == lf.cur.ino))
        return;                       /* missing (mid-rotation) or unchanged */
    /* rotated: keep draining the old file, read the new one from 0 */
    if (lf.old.fd >= 0)
        lf_src_close(&lf.old);
    char *oldbuf = lf.old.buf;
    lf.old = lf.cur;
    lf.old.idle_since = lf_now_ms();
    lf.cur.buf = oldbuf;
    lf.cur.fd = -1;
    if (lf_open_at(&lf.cur, lf.path, 0) == 0)
        log_info("postfix log: %s was rotated; following the new file", lf.path);
}

static void *
lf_thread(void *arg)
{
    (void)arg;
    long backoff = 0;
    if (!lf.is_stdin)
        lf_open_initial();
    lf_save();
    while (!atomic_load(&lf.stop)) {
        int busy = 0, retry = 0;
        if (lf.old.fd >= 0) {
            int r = lf_pump(&lf.old);
            if (r > 0) {
                busy = 1;
                lf.old.idle_since = lf_now_ms();
            } else if (r == -1)
                retry = 1;
            else if (lf_now_ms() - lf.old.idle_since > LOGFOLLOW_DRAIN_MS || r == -2)
                lf_src_close(&lf.old);
        }
        if (!retry && lf.cur.fd >= 0) {
            int r = lf_pump(&lf.cur);
            if (r > 0)
                busy = 1;
            else if (r == -1)
                retry = 1;
            else if (r == -2) {
                log_error("postfix log: reading %s: %s", lf.is_stdin ? "standard input" : lf.path, strerror(errno));
                lf_src_close(&lf.cur);
            } else if (lf.is_stdin && lf.eof) {
                /* end of standard input: nothing more will come */
                log_info("postfix log: end of standard input");
                lf_src_close(&lf.cur);
            }
            lf_save();
        }
        if (retry) {
            backoff = backoff ? (backoff * 2 > 5000 ? 5000 : backoff * 2) : 1000;
            lf_sleep_ms(backoff);
            continue;
        }
        backoff = 0;
        if (busy)
            continue;
        if (lf.is_stdin) {
            if (lf.cur.fd < 0)
                lf_sleep_ms(LOGFOLLOW_POLL_MS);    /* pump already waited in poll(2) */
            continue;
        }
        lf_check_file();
        lf_sleep_ms(LOGFOLLOW_POLL_MS);
    }
    lf_save();
    return NULL;
}

int
logfollow_start(const char *path, const char *state_path, char *err, size_t errlen)
{
    memset(&lf, 0, sizeof(lf));
    lf.cur.fd = lf.old.fd = -1;
    lf.is_stdin = strcmp(path, "-") == 0;
    lf.path = strdup(path);
    lf.state_path = strdup(lf.is_stdin ? "" : state_path);
    lf.cur.buf = malloc(LOGFOLLOW_BUF);
    lf.old.buf = malloc(LOGFOLLOW_BUF);
    if (!lf.path || !lf.state_path || !lf.cur.buf || !lf.old.buf) {
        snprintf(err, errlen, "postfix log: out of memory");
        goto fail;
    }
    if (lf.is_stdin)
        lf.cur.fd = 0;
    else if (path[0] != '/') {
        snprintf(err, errlen, "postfix_log must be an absolute path or \"-\", not \"%s\"", path);
        goto fail;
    }
    if (pthread_create(&lf.thread, NULL, lf_thread, NULL) != 0) {
        snprintf(err, errlen, "postfix log: cannot start a thread");
        goto fail;
    }
    lf.started = 1;
    return 0;
fail:
    free(lf.path);
    free(lf.state_path);
    free(lf.cur.buf);
    free(lf.old.buf);
    memset(&lf, 0, sizeof(lf));
    return -1;
}

void
logfollow_stop(void)
{
    if (!lf.started)
        return;
    atomic_store(&lf.stop, 1);
    pthread_join(lf.thread, NULL);
    lf_src_close(&lf.cur);
    lf_src_close(&lf.old);
    free(lf.path);
    free(lf.state_path);
    free(lf.cur.buf);
    free(lf.old.buf);
    lf.started = 0;
}
