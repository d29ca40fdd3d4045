#!/usr/bin/env bash
#
# tests/bench/webhook-bench.sh -- how fast postinbox-policyd delivers webhooks.
#
# WHAT IT MEASURES
#   1. Throughput with a backlog: COUNTS events (1,000 and 10,000) are
#      written with one INSERT ... generate_series while the daemon is
#      stopped (the fan-out trigger makes one delivery each, one endpoint),
#      then the daemon is started and timed until the receiver has every
#      webhook-id.  Reported: webhooks/s from daemon start to the last
#      arrival (start-up included) and from the first to the last arrival,
#      the daemon's CPU time per 1,000 webhooks, duplicates.  Median of
#      ROUNDS rounds per count.
#   2. Latency when idle: IDLE_EVENTS single events, one INSERT each, about
#      IDLE_GAP_MS apart, to a running daemon; latency = arrival at the
#      receiver minus the event's created_at (set to clock_timestamp() by the
#      INSERT, i.e. just before its commit).  p50 / p90 / p99 / max.
#   Every run is checked: each event arrives (distinct webhook-ids = events)
#   and its delivery row is "delivered"; a run that lost events prints
#   "LOST EVENTS" and the script exits 1.
#
# THE RECEIVER
#   RECEIVER=c (default): a small epoll HTTP/1.1 server in C, embedded below
#   and compiled at start; keep-alive, answers 200 at once, writes one JSON
#   line {"t","path","id","status"} per request.  It does NOT verify
#   signatures (tests/integration/t_webhooks*.sh do that).  It is used
#   because tests/webhook_receiver.py (Python, a thread per connection)
#   tops out around 1,000-1,700 requests/s on 2 cores even in --lean mode,
#   below the 2,000/s being measured, and its CPU would be taken from the
#   daemon and PostgreSQL.
#   RECEIVER=python: RECEIVER_PROCS (2) tests/webhook_receiver.py --lean
#   processes sharing the port with SO_REUSEPORT, for comparison.
#
# HOW TO RUN (root; PostgreSQL, Redis, Postfix packages, gcc; the project
# built in-tree, or BUILDDIR=/path/to/build):
#     tests/bench/webhook-bench.sh
#   Knobs (environment): COUNTS ("1000 10000"), ROUNDS (3), IDLE_EVENTS (200),
#   IDLE_GAP_MS (20), MAX_IN_FLIGHT (empty: the daemon's default
#   webhook_max_in_flight), BATCH_SIZE (empty: default webhook_batch_size),
#   RECEIVER (c | python), RECEIVER_PROCS (2), RUN_TIMEOUT (300 s per run),
#   KEEP_TEST_DIR=1 (keep logs).  Not part of `make check`.
#
# HOW LONG IT TAKES
#   About a minute with the defaults when the daemon reaches ~2,000/s.
#
# OUTPUT
#   One line per run, then Markdown tables and the exact command line.

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/common.sh
. "$BENCH_DIR/../integration/common.sh"

COUNTS=${COUNTS:-1000 10000}
ROUNDS=${ROUNDS:-3}
IDLE_EVENTS=${IDLE_EVENTS:-200}
IDLE_GAP_MS=${IDLE_GAP_MS:-20}
MAX_IN_FLIGHT=${MAX_IN_FLIGHT:-}
BATCH_SIZE=${BATCH_SIZE:-}
RECEIVER=${RECEIVER:-c}
RECEIVER_PROCS=${RECEIVER_PROCS:-2}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
PI_POLICYD=${PI_POLICYD:-$BUILDDIR/policyd/postinbox-policyd}
RECEIVER_PY=$BENCH_DIR/../webhook_receiver.py

die() {
    printf '\nwebhook-bench.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
loud() {
    BENCH_FAILED=1
    {
        echo
        echo "!!! LOST EVENTS / BROKEN RUN: $*"
        echo "!!! The figures of this benchmark are not valid."
    } >&2
    exit 1
}

command_line() {
    printf "COUNTS='%s' ROUNDS=%s IDLE_EVENTS=%s IDLE_GAP_MS=%s MAX_IN_FLIGHT='%s' BATCH_SIZE='%s' RECEIVER=%s" \
        "$COUNTS" "$ROUNDS" "$IDLE_EVENTS" "$IDLE_GAP_MS" "$MAX_IN_FLIGHT" "$BATCH_SIZE" "$RECEIVER"
    [ "$RECEIVER" = python ] && printf ' RECEIVER_PROCS=%s' "$RECEIVER_PROCS"
    printf ' tests/bench/webhook-bench.sh\n'
}

for v in ROUNDS IDLE_EVENTS IDLE_GAP_MS RECEIVER_PROCS RUN_TIMEOUT; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer (got '${!v}')"
done
for c in $COUNTS; do
    [[ $c =~ ^[0-9]+$ ]] && [ "$c" -gt 0 ] || die "COUNTS must be positive integers"
done
case $RECEIVER in c | python) ;; *) die "RECEIVER must be c or python" ;; esac
pi_require
[ -x "$PI_POLICYD" ] || die "missing $PI_POLICYD (build first)"

BENCH_FAILED=0
svc_on_exit() {
    [ -n "${DAEMON_PID-}" ] && stop_pid "$DAEMON_PID"
    [ "$BENCH_FAILED" = 1 ] || return 0
    for f in "$SVC_DIR"/policyd-*.log; do
        [ -f "$f" ] || continue
        echo "---- $f (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

stop_pid() {
    local pid
    kill -TERM "$@" 2>/dev/null
    _svc_wait_gone 15 "$@" || kill -KILL "$@" 2>/dev/null
    for pid in "$@"; do wait "$pid" 2>/dev/null; done
    return 0
}
now() { date +%s.%N; }
# cpu_ms PID - user + system CPU time of PID in ms.
cpu_ms() {
    local stat
    # the fields after "(comm) ": state is 1, utime 12, stime 13
    stat=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($12 + $13) * 1000 / hz }' <<<"$stat"
}
# pg_cpu_ms - CPU time of PostgreSQL in ms: the postmaster plus every
# backend it has reaped (cutime + cstime), so measure after the daemon's
# connections are closed.
pg_cpu_ms() {
    local stat
    stat=$(sed 's/^.*) //' "/proc/$(head -n 1 "$SVC_DIR/pg/postmaster.pid")/stat" 2>/dev/null) || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ printf "%d\n", ($12 + $13 + $14 + $15) * 1000 / hz }' <<<"$stat"
}

# --- the C receiver ------------------------------------------------------------

write_c_receiver() {
    cat >"$SVC_DIR/bench-receiver.c" <<'EOF'
/* bench-receiver.c -- minimal HTTP/1.1 webhook sink for webhook-bench.sh.
 * usage: bench-receiver PORT LOGFILE LIFETIME_S
 * epoll, non-blocking, keep-alive, pipelining; answers 200 with no body
 * (100 Continue first when asked), logs {"t","path","id","status"} per
 * request, flushed after every epoll batch.  Exits after LIFETIME_S. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFSZ (256 * 1024)
typedef struct { int fd; size_t len; int continued; char buf[BUFSZ]; } conn_t;
static FILE *out;

static void send_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) { usleep(100); continue; }
            return;
        }
        p += w; n -= (size_t)w;
    }
}
/* Value of header name (with ':') within [h, end), copied into v. */
static int header(const char *h, const char *end, const char *name, char *v, size_t vlen) {
    size_t nl = strlen(name);
    for (const char *line = h; line < end;) {
        const char *eol = memmem(line, (size_t)(end - line), "\r\n", 2);
        if (!eol) eol = end;
        if ((size_t)(eol - line) > nl && strncasecmp(line, name, nl) == 0) {
            const char *s = line + nl;
            while (s < eol && (*s == ' ' || *s == '\t')) s++;
            size_t n = (size_t)(eol - s);
            if (n >= vlen) n = vlen - 1;
            memcpy(v, s, n); v[n] = 0;
            return 1;
        }
        line = eol + 2;
    }
    return 0;
}
/* Handles every complete request in c->buf; -1 to close. */
static int process(conn_t *c) {
    for (;;) {
        char *hend = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (!hend) return c->len >= BUFSZ ? -1 : 0;
        size_t hlen = (size_t)(hend - c->buf) + 4, total;
        char v[256], id[128] = "", path[256] = "";
        if (header(c->buf, hend, "Transfer-Encoding:", v, sizeof v) && strcasestr(v, "chunked")) {
            char *z = memmem(hend + 2, c->len - hlen + 2, "\r\n0\r\n\r\n", 7);
            if (!z) goto incomplete;
            total = (size_t)(z - c->buf) + 7;
        } else {
            long cl = header(c->buf, hend, "Content-Length:", v, sizeof v) ? atol(v) : 0;
            total = hlen + (size_t)cl;
            if (c->len < total) goto incomplete;
        }
        header(c->buf, hend, "webhook-id:", id, sizeof id);
        const char *sp = memchr(c->buf, ' ', hlen);
        if (sp) {
            const char *sp2 = memchr(sp + 1, ' ', (size_t)(hend - sp - 1));
            size_t n = sp2 ? (size_t)(sp2 - sp - 1) : 0;
            if (n >= sizeof path) n = sizeof path - 1;
            memcpy(path, sp + 1, n); path[n] = 0;
            char *q = strchr(path, '?'); if (q) *q = 0;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (char *p = id; *p; p++) if (*p == '"' || *p == '\\') *p = '_';
        for (char *p = path; *p; p++) if (*p == '"' || *p == '\\') *p = '_';
        fprintf(out, "{\"t\":%ld.%06ld,\"path\":\"%s\",\"id\":\"%s\",\"status\":200}\n",
                (long)ts.tv_sec, ts.tv_nsec / 1000, path, id);
        static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        send_all(c->fd, ok, sizeof ok - 1);
        memmove(c->buf, c->buf + total, c->len - total);
        c->len -= total;
        c->continued = 0;
        continue;
    incomplete:
        if (!c->continued && header(c->buf, hend, "Expect:", v, sizeof v) && strcasestr(v, "100-continue")) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            send_all(c->fd, cont, sizeof cont - 1);
            c->continued = 1;
        }
        return c->len >= BUFSZ ? -1 : 0;
    }
}
int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s PORT LOG LIFETIME\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)atoi(argv[3]));          /* SIGALRM ends us */
    out = fopen(argv[2], "a");
    if (!out) { perror(argv[2]); return 1; }
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[1])) };
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 4096) != 0) { perror("bind/listen"); return 1; }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        if (n < 0 && errno == EINTR) continue;
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_t *nc = calloc(1, sizeof *nc);
                    if (!nc) { close(fd); continue; }
                    nc->fd = fd;
                    struct epoll_event cev = { .events = EPOLLIN, .data.ptr = nc };
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &cev);
                }
                continue;
            }
            int closeit = 0;
            for (;;) {
                ssize_t r = read(c->fd, c->buf + c->len, BUFSZ - c->len);
                if (r > 0) {
                    c->len += (size_t)r;
                    if (process(c) < 0) { closeit = 1; break; }
                    continue;
                }
                if (r == 0 || (errno != EAGAIN && errno != EINTR)) closeit = 1;
                if (r < 0 && errno == EINTR) continue;
                break;
            }
            if (closeit) { epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); free(c); }
        }
        fflush(out);
    }
}
EOF
    cc -O2 -Wall -Wextra -o "$SVC_DIR/bench-receiver" "$SVC_DIR/bench-receiver.c" ||
        die "cannot compile the C receiver"
}

# start_receiver LOG - a fresh receiver writing to LOG; sets RECEIVER_PIDS.
RECEIVER_PIDS=()
start_receiver() {
    local i
    : >"$1"
    if [ "$RECEIVER" = c ]; then
        "$SVC_DIR/bench-receiver" "$HTTP_PORT" "$1" 3600 2>>"$SVC_DIR/receiver.log" &
        RECEIVER_PIDS=($!)
    else
        RECEIVER_PIDS=()
        for ((i = 0; i < RECEIVER_PROCS; i++)); do
            python3 "$RECEIVER_PY" --port "$HTTP_PORT" --log "$1" --lean --reuse-port \
                --max-lifetime 3600 2>>"$SVC_DIR/receiver.log" &
            RECEIVER_PIDS+=($!)
        done
    fi
    for i in "${RECEIVER_PIDS[@]}"; do svc_register_pid "$i"; done
    for ((i = 0; i < 100; i++)); do
        _svc_port_open "$HTTP_PORT" && { sleep 0.2; return 0; }
        sleep 0.05
    done
    die "the receiver did not start: $(cat "$SVC_DIR/receiver.log")"
}
stop_receiver() {
    [ ${#RECEIVER_PIDS[@]} -gt 0 ] && stop_pid "${RECEIVER_PIDS[@]}"
    RECEIVER_PIDS=()
    _svc_wait_port_closed "$HTTP_PORT" 5
}

DAEMON_PID=
start_daemon() {   # start_daemon NAME
    "$PI_POLICYD" -c "$PI_CONF" -f >>"$SVC_DIR/policyd-$1.log" 2>&1 &
    DAEMON_PID=$!
    svc_register_pid "$DAEMON_PID"
}
stop_daemon() {
    [ -n "$DAEMON_PID" ] && stop_pid "$DAEMON_PID"
    DAEMON_PID=
}

lines() { local n; n=$(wc -l <"$1" 2>/dev/null) || n=0; echo "${n:-0}"; }

# --- set-up ----------------------------------------------------------------------

svc_init || die "svc_init failed"
svc_start_pg || die "PostgreSQL did not start"
svc_start_redis || die "Redis did not start"
CONF_LINES=("webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" "log_level = warn")
[ -n "$MAX_IN_FLIGHT" ] && CONF_LINES+=("webhook_max_in_flight = $MAX_IN_FLIGHT")
[ -n "$BATCH_SIZE" ] && CONF_LINES+=("webhook_batch_size = $BATCH_SIZE")
pi_write_conf "${CONF_LINES[@]}"
pi_ctl migrate >/dev/null || die "postinboxctl migrate failed"
[ "$RECEIVER" = c ] && write_c_receiver

ACCOUNT=$(pi_account "Bench" bench) || die "account create failed"
read -r INBOX_ID INBOX <<<"$(pi_inbox "$ACCOUNT" hooks)"
[ -n "${INBOX-}" ] || die "inbox create failed"
SECRET="whsec_$(head -c 32 /dev/urandom | base64)"
svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret)
          VALUES ('$ACCOUNT', '$INBOX_ID', 'http://127.0.0.1:$HTTP_PORT/ok/bench', '$SECRET')" >/dev/null ||
    die "endpoint insert failed"

# A realistic payload: the fields record_message writes for a received message.
PAYLOAD_SQL="jsonb_build_object('inboxId', '$INBOX_ID', 'address', '$INBOX', 'messageId', gen_random_uuid(),
    'threadId', gen_random_uuid(), 'queueId', '4Bx9Qz1kHrz', 'direction', 'inbound',
    'messageIdHeader', '<bench-' || g || '@remote.test>', 'inReplyTo', NULL, 'references', NULL,
    'from', 'Sender <sender@remote.test>', 'to', '$INBOX', 'cc', NULL,
    'subject', 'benchmark message ' || g, 'size', 2048, 'envelopeFrom', 'sender@remote.test',
    'recipients', jsonb_build_array('$INBOX'))"

RESULTS=$SVC_DIR/results.txt
: >"$RESULTS"

# stats LOG T0 - prints "count distinct dups first_s last_s" for a run
# (times relative to T0, the daemon start).
stats() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
t0 = float(sys.argv[2])
rs = [json.loads(l) for l in open(sys.argv[1]) if l.endswith("\n")]
ts = [r["t"] for r in rs]
ids = set(r["id"] for r in rs)
print(len(rs), len(ids), len(rs) - len(ids), "%.4f" % (min(ts) - t0 if ts else 0), "%.4f" % (max(ts) - t0 if ts else 0))
EOF
}

# --- 1. backlog throughput ---------------------------------------------------------

loadavg() { cut -d' ' -f1 /proc/loadavg; }
LOAD_START=$(loadavg)
echo "postinbox-policyd webhook benchmark: $(nproc) cores, receiver $RECEIVER, $(date -u +%Y-%m-%dT%H:%M:%SZ), load average $LOAD_START"
for count in $COUNTS; do
    for ((round = 1; round <= ROUNDS; round++)); do
        svc_psql "SET client_min_messages = warning; TRUNCATE postinbox.event CASCADE" >/dev/null
        log=$SVC_DIR/hooks-$count-$round.jsonl
        start_receiver "$log"
        svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload)
                  SELECT '$INBOX_ID', 'message.received', $PAYLOAD_SQL FROM generate_series(1, $count) g" ||
            die "insert failed"
        pending=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE status = 'pending'")
        [ "$pending" = "$count" ] || die "fan-out made $pending deliveries for $count events"
        pg0=$(pg_cpu_ms)
        t0=$(now)
        start_daemon "bench-$count-$round"
        deadline=$((SECONDS + RUN_TIMEOUT))
        while [ "$(lines "$log")" -lt "$count" ] && [ $SECONDS -lt $deadline ]; do
            _svc_alive "$DAEMON_PID" || break
            sleep 0.05
        done
        sleep 0.2
        cpu=$(cpu_ms "$DAEMON_PID")
        rcpu=0
        for p in "${RECEIVER_PIDS[@]}"; do rcpu=$((rcpu + $(cpu_ms "$p"))); done
        stop_daemon
        stop_receiver
        sleep 0.3    # let the postmaster reap the daemon's backends
        pgcpu=$(( $(pg_cpu_ms) - pg0 ))
        read -r n distinct dups first last <<<"$(stats "$log" "$t0")"
        delivered=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE status = 'delivered'")
        [ "$distinct" = "$count" ] || loud "$count events: only $distinct distinct webhook-ids arrived in ${RUN_TIMEOUT} s"
        [ "$delivered" = "$count" ] || loud "$count events: $delivered delivery rows marked delivered"
        rate_all=$(awk -v n="$count" -v t="$last" 'BEGIN { printf "%.0f", n / t }')
        rate_steady=$(awk -v n="$count" -v a="$first" -v b="$last" 'BEGIN { printf "%.0f", (b > a ? n / (b - a) : 0) }')
        cpu_per_k=$(awk -v c="$cpu" -v n="$count" 'BEGIN { printf "%.0f", c * 1000 / n }')
        pg_per_k=$(awk -v c="$pgcpu" -v n="$count" 'BEGIN { printf "%.0f", c * 1000 / n }')
        rcv_per_k=$(awk -v c="$rcpu" -v n="$count" 'BEGIN { printf "%.0f", c * 1000 / n }')
        printf 'run: events=%s round=%s  %s webhooks/s from start (%.2f s, first after %.3f s), %s/s first-to-last; CPU ms per 1000: daemon %s, PostgreSQL %s, receiver %s; duplicates %s\n' \
            "$count" "$round" "$rate_all" "$last" "$first" "$rate_steady" "$cpu_per_k" "$pg_per_k" "$rcv_per_k" "$dups"
        echo "$count $round $rate_all $rate_steady $last $cpu_per_k $dups $pg_per_k $rcv_per_k" >>"$RESULTS"
    done
done

# --- 2. idle latency -------------------------------------------------------------

svc_psql "SET client_min_messages = warning; TRUNCATE postinbox.event CASCADE" >/dev/null
log=$SVC_DIR/hooks-idle.jsonl
start_receiver "$log"
start_daemon idle
sleep 1
gap=$(awk -v ms="$IDLE_GAP_MS" 'BEGIN { printf "%.3f", ms / 1000 }')
{
    for ((i = 1; i <= IDLE_EVENTS; i++)); do
        echo "INSERT INTO postinbox.event (inbox_id, type, payload, created_at)
              SELECT '$INBOX_ID', 'message.received', $PAYLOAD_SQL, clock_timestamp() FROM (SELECT $i AS g) s;"
        sleep "$gap"
    done
} | "$(_svc_pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postinbox >/dev/null ||
    die "idle inserts failed"
deadline=$((SECONDS + 30))
while [ "$(lines "$log")" -lt "$IDLE_EVENTS" ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
stop_daemon
stop_receiver
svc_psql "SELECT id || ' ' || extract(epoch FROM created_at) FROM postinbox.event" >"$SVC_DIR/idle-created.txt"
LAT=$(python3 - "$log" "$SVC_DIR/idle-created.txt" "$IDLE_EVENTS" <<'EOF'
import json, math, sys
arr = {}
for l in open(sys.argv[1]):
    r = json.loads(l)
    arr.setdefault(r["id"], r["t"])
created = dict((a, float(b)) for a, b in (l.split() for l in open(sys.argv[2]) if l.strip()))
lat = sorted((arr[i] - created[i]) * 1000 for i in created if i in arr)
def pct(p):
    return lat[max(0, math.ceil(p / 100.0 * len(lat)) - 1)] if lat else float("nan")
print(len(lat), "%.1f %.1f %.1f %.1f" % (pct(50), pct(90), pct(99), lat[-1] if lat else float("nan")))
EOF
)
read -r lat_n p50 p90 p99 pmax <<<"$LAT"
[ "$lat_n" = "$IDLE_EVENTS" ] || loud "idle: $lat_n of $IDLE_EVENTS events arrived within 30 s"
echo "run: idle latency over $lat_n events: p50 $p50 ms, p90 $p90 ms, p99 $p99 ms, max $pmax ms"

# --- report ----------------------------------------------------------------------

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo
echo "### postinbox-policyd webhook delivery ($(nproc) cores, median of $ROUNDS rounds, receiver: $([ "$RECEIVER" = c ] && echo "C epoll sink" || echo "$RECEIVER_PROCS x webhook_receiver.py --lean, SO_REUSEPORT"))"
echo
echo "| pending events | webhooks/s (daemon start → last arrival) | webhooks/s (first → last arrival) | seconds to drain | CPU ms / 1,000 webhooks: daemon | PostgreSQL | receiver | duplicates |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
for count in $COUNTS; do
    printf '| %s | %.0f | %.0f | %.2f | %.0f | %.0f | %.0f | %s |\n' "$count" \
        "$(awk -v c="$count" '$1 == c { print $3 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { print $4 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { print $5 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { print $6 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { print $8 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { print $9 }' "$RESULTS" | median)" \
        "$(awk -v c="$count" '$1 == c { s += $7 } END { print s + 0 }' "$RESULTS")"
done
echo
echo "| idle latency, event commit → arrival ($IDLE_EVENTS events, ${IDLE_GAP_MS} ms apart) | p50 | p90 | p99 | max |"
echo "|---|---:|---:|---:|---:|"
echo "| postinbox-policyd | $p50 ms | $p90 ms | $p99 ms | $pmax ms |"
echo
echo "Targets: >= 2,000 webhooks/s on 2 cores; idle p99 < 100 ms."
LOAD_END=$(loadavg)
echo "Load average (1 min) at start $LOAD_START, at end $LOAD_END on $(nproc) cores."
if awk -v a="$LOAD_START" -v b="$LOAD_END" -v n="$(nproc)" 'BEGIN { exit !(a > n || b > n) }'; then
    echo "WARNING: other work was running on this machine (load above the core count): these figures are too low."
fi
echo
echo "Command:"
echo
echo "    $(command_line)"
