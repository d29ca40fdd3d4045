#!/usr/bin/env bash
# milter-cpu.sh -- where the CPU goes per message with postinbox-milter,
# and what one setting changes: by default the group commit's gather
# window (KNOB=record_gather_us, VALUES=GATHERS="0 1000"); KNOB=dkim_signing
# VALUES="no yes" gives the cost of DKIM signing (README, "DKIM signing
# cost").
#
# For each value of VALUES, in rounds that interleave them (the order
# rotates from round to round), N outbound messages are pushed by
# smtp-source (SESSIONS sessions, 1 KB, one recipient, from a trusted
# client) through a private Postfix; the milter is reloaded (SIGUSR1) with
# the value before each run, then warmed up with WARMUP messages.  Per run it prints the CPU (utime+stime from
# /proc/PID/stat) per message of this script's own postinbox-milter, of its
# own PostgreSQL (the postmaster, its live backends, and the children it
# reaped) and of its own Redis; and the records per PostgreSQL call, from
# the milter's postinbox_milter_record_batch_documents histogram.  Other
# processes on the machine (other tests, other PostgreSQL servers) are not
# counted, but they do compete for the CPUs.  Short-lived Postfix processes
# are not counted reliably (their time leaves with them), so Postfix is
# left out.
# Then, per value, the idle latency of end of message: one SMTP session,
# IDLE_MESSAGES messages one after the other (10 ms apart), the time from
# the end of DATA (".") to Postfix's 250 (which waits for the milter's
# end-of-message answer, that is for the record), p50 and p99; the milter
# is on a unix socket for this part (see below).
# Not a test: prints figures.  Bounded: RUNS x GATHERS runs of N messages
# (each killed after 600 s), then it stops everything.
#
# PG_STATEMENTS=1 adds, per run, the statements PostgreSQL spent its time
# on (pg_stat_statements, nested statements included); it slows PostgreSQL,
# so its CPU figures are not comparable with a run without it.
# PG_OPTIONS="-c name=value ..." sets PostgreSQL settings for the milter's
# sessions (libpq's options), e.g. "-c plan_cache_mode=force_generic_plan".
#
#   bash tests/bench/milter-cpu.sh      N=3000 SESSIONS=20 RUNS=3 GATHERS="0 1000" IDLE_MESSAGES=300 PG_STATEMENTS=0
#   KNOB=dkim_signing VALUES="no yes" bash tests/bench/milter-cpu.sh
set -u
. "$(dirname "$0")/../integration/common.sh"
N=${N:-3000}
SESSIONS=${SESSIONS:-20}
RUNS=${RUNS:-3}
GATHERS=${GATHERS:-0 1000}
KNOB=${KNOB:-record_gather_us}
VALUES=${VALUES:-$GATHERS}
[[ $KNOB =~ ^[a-z_]+$ ]] || { echo "KNOB: a config key" >&2; exit 1; }
IDLE_MESSAGES=${IDLE_MESSAGES:-300}
WARMUP=${WARMUP:-300}
PG_STATEMENTS=${PG_STATEMENTS:-0}
PG_OPTIONS=${PG_OPTIONS:-}
read -r -a GATHER <<<"$VALUES"
pi_require
svc_init || exit 1
METRICS_PORT=$POLICY_PORT
svc_start_pg || exit 1
if [ "$PG_STATEMENTS" = 1 ]; then
    svc_psql "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'" &&
        svc_stop_pg && svc_start_pg_again && svc_psql "CREATE EXTENSION pg_stat_statements" &&
        svc_psql "ALTER SYSTEM SET pg_stat_statements.track = 'all'" &&
        svc_psql "ALTER SYSTEM SET pg_stat_statements.track_planning = on" && svc_psql "SELECT pg_reload_conf()" >/dev/null ||
        { echo "pg_stat_statements set-up failed" >&2; exit 1; }
fi
svc_start_redis || exit 1
pi_write_conf "trusted_networks = 127.0.0.0/8" "metrics_listen = 127.0.0.1:$METRICS_PORT" "$KNOB = ${GATHER[0]}"
# PG_OPTIONS: settings for the milter's PostgreSQL sessions (libpq options).
[ -n "$PG_OPTIONS" ] && echo "database = $PI_DATABASE options='$PG_OPTIONS'" >>"$PI_CONF"
pi_ctl migrate >/dev/null || { echo "migrate failed" >&2; exit 1; }
pi_start_milter || exit 1
svc_start_postfix >/dev/null 2>&1 || { echo "Postfix did not start" >&2; exit 1; }
A=$(pi_account "Bench" bench)
read -r INBOX_ID ADDR <<<"$(pi_inbox "$A" sender --daily-limit 100000000 --burst-limit 100000000)"
# Every domain gets its DKIM key whatever the first value (dkim_signing =
# no makes none): migrate makes the missing ones.
sed 's/^dkim_signing = .*/dkim_signing = yes/' "$PI_CONF" >"$SVC_DIR/keys.conf"
grep -q '^dkim_signing' "$SVC_DIR/keys.conf" || echo "dkim_signing = yes" >>"$SVC_DIR/keys.conf"
"$PI_CTL" -c "$SVC_DIR/keys.conf" migrate >/dev/null || { echo "migrate (keys) failed" >&2; exit 1; }
rows() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$INBOX_ID'"; }
SOURCE=/usr/sbin/smtp-source
MILTER_PID=$(pi_milter_pid)
PG_PID=$(head -n 1 "$SVC_DIR/pg/postmaster.pid")
REDIS_PID=$(_svc_redis_pid)
[ -n "$PG_PID" ] && [ -n "$REDIS_PID" ] && [ -n "$MILTER_PID" ] || { echo "cannot find the pids" >&2; exit 1; }

stat_ticks() {  # utime+stime (+cutime+cstime with $2 = all) of pid $1
    local f
    read -r -a f 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
    if [ "${2-}" = all ]; then echo $((f[13] + f[14] + f[15] + f[16])); else echo $((f[13] + f[14])); fi
}
pg_ticks() {    # the postmaster with what it reaped, plus its live children
    local t c
    t=$(stat_ticks "$PG_PID" all)
    for c in $(pgrep -P "$PG_PID"); do t=$((t + $(stat_ticks "$c"))); done
    echo "$t"
}
batch_stats() { # "sum count" of the batch size histogram
    curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
        awk '/^postinbox_milter_record_batch_documents_sum/ { s = $2 } /^postinbox_milter_record_batch_documents_count/ { c = $2 }
             END { print s + 0, c + 0 }'
}
batch_buckets() { # cumulative bucket counts: "le=count ..."
    curl -s "http://127.0.0.1:$METRICS_PORT/metrics" |
        sed -n 's/^postinbox_milter_record_batch_documents_bucket{le="\([^"]*\)"} \([0-9]*\)$/\1=\2/p' | tr '\n' ' '
}
snap() { echo "$(stat_ticks "$MILTER_PID") $(pg_ticks) $(stat_ticks "$REDIS_PID") $(batch_stats)"; }

set_gather() {  # reloads the milter with $KNOB = $1
    local before
    sed -i "s/^$KNOB = .*/$KNOB = $1/" "$PI_CONF"
    before=$(grep -c 'reloaded' "$(pi_milter_log)")
    kill -USR1 "$MILTER_PID"
    for _ in $(seq 1 100); do
        [ "$(grep -c 'reloaded' "$(pi_milter_log)")" -gt "$before" ] && return 0
        sleep 0.05
    done
    echo "the milter did not reload" >&2
    exit 1
}

echo "milter-cpu.sh: $(nproc) CPUs, load average at start $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$N SESSIONS=$SESSIONS RUNS=$RUNS KNOB=$KNOB VALUES=\"$VALUES\" IDLE_MESSAGES=$IDLE_MESSAGES PG_OPTIONS=\"$PG_OPTIONS\""
RESULTS=$SVC_DIR/cpu.results
: >"$RESULTS"
for ((run = 1; run <= RUNS; run++)); do
    for ((k = 0; k < ${#GATHER[@]}; k++)); do
        g=${GATHER[$(((k + run - 1) % ${#GATHER[@]}))]}
        set_gather "$g"
        # A reload builds new pools: warm the new PostgreSQL backends up
        # (connection start, catalog caches, first plans) outside the count.
        timeout 120 "$SOURCE" -s "$SESSIONS" -m "$WARMUP" -l 1024 -f "$ADDR" -t rcpt@remote.test "127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
        sleep 1
        [ "$PG_STATEMENTS" = 1 ] && svc_psql "SELECT pg_stat_statements_reset()" >/dev/null
        read -r m0 p0 r0 s0 c0 <<<"$(snap)"
        rows0=$(rows)
        t0=$(date +%s.%N)
        timeout 600 "$SOURCE" -s "$SESSIONS" -m "$N" -l 1024 -f "$ADDR" -t rcpt@remote.test "127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
        t1=$(date +%s.%N)
        sleep 3
        read -r m1 p1 r1 s1 c1 <<<"$(snap)"
        # every message accepted and recorded, or the figures mean nothing
        [ $(($(rows) - rows0)) -eq "$N" ] ||
            { echo "LOST MESSAGES: $KNOB=$g: $N sent, $(($(rows) - rows0)) recorded (see $(pi_milter_log))" >&2; exit 1; }
        python3 - "$run" "$KNOB=$g" "$N" "$t0" "$t1" "$(getconf CLK_TCK)" $((m1 - m0)) $((p1 - p0)) $((r1 - r0)) \
            "$s0" "$s1" "$c0" "$c1" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY' | tee -a "$RESULTS"
import sys
run, g, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
t0, t1, hz = float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
m, p, r = (int(v) * 1000.0 / hz / n for v in sys.argv[7:10])
docs, calls = float(sys.argv[11]) - float(sys.argv[10]), float(sys.argv[13]) - float(sys.argv[12])
print("run=%s %s msgs=%d msg_per_s=%.0f milter_ms=%.3f postgres_ms=%.3f redis_ms=%.3f "
      "records_per_call=%.2f calls=%d load=%s" % (run, g, n, n / (t1 - t0), m, p, r,
                                                docs / calls if calls else 0, calls, sys.argv[14]))
PY
        echo "    batch size histogram so far (cumulative, le=count): $(batch_buckets)"
        if [ "$PG_STATEMENTS" = 1 ]; then
            echo "    statements by time per message (pg_stat_statements, track = all: nested ones too, so"
            echo "    a function's time includes its statements'; timing it slows PostgreSQL down):"
            svc_psql "SELECT format('    %7s ms/msg exec %7s plan %6s calls/msg %5s plans  %s', round((total_exec_time / $N)::numeric, 3),
                          round((total_plan_time / $N)::numeric, 3), round(calls::numeric / $N, 2), plans,
                          left(regexp_replace(query, '\s+', ' ', 'g'), 90))
                      FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'postinbox')
                      ORDER BY total_exec_time + total_plan_time DESC LIMIT 25"
            echo "    autovacuum so far (an analyze or vacuum makes every backend plan its statements on the table again):"
            svc_psql "SELECT format('    %s: %s autovacuums, %s autoanalyzes', relname, autovacuum_count, autoanalyze_count)
                      FROM pg_stat_user_tables WHERE autovacuum_count + autoanalyze_count > 0 ORDER BY relname"
        fi
    done
done

# Idle: one session, messages one after the other; DATA's end to the 250.
# Over loopback TCP every message waits ~40 ms for Postfix's next packet
# (Nagle + delayed ACK, README), which would hide a millisecond: for this
# part the milter listens on a unix socket instead.
pi_stop_milter
SOCK=$SVC_DIR/milter.sock
sed -i "s|^milter_socket = .*|milter_socket = unix:$SOCK|" "$PI_CONF"
"$PI_MILTER" -c "$PI_CONF" -f >>"$(pi_milter_log)" 2>&1 &
MILTER_PID=$!
svc_register_pid "$MILTER_PID"
for _ in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
[ -S "$SOCK" ] || { echo "the milter did not listen on $SOCK" >&2; exit 1; }
chmod 666 "$SOCK"   # smtpd runs as postfix; the milter's umask is 007
svc_postconf -e "smtpd_milters = unix:$SOCK" && svc_postfix_reload >/dev/null 2>&1 || { echo "postfix reload failed" >&2; exit 1; }
sleep 1
IDLE_RESULTS=$SVC_DIR/idle.results
: >"$IDLE_RESULTS"
for g in "${GATHER[@]}"; do
    set_gather "$g"
    sleep 1
    timeout 300 python3 - "$SMTP_PORT" "$ADDR" "$IDLE_MESSAGES" "$KNOB=$g" <<'PY' | tee -a "$IDLE_RESULTS"
import smtplib, sys, time
port, sender, n, g = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
body = ("Subject: idle\r\n\r\n" + "x" * 1000 + "\r\n").encode()
times = []
s = smtplib.SMTP("127.0.0.1", port, timeout=30)
s.ehlo("client.test")
for i in range(n):
    s.mail(sender)
    s.rcpt("rcpt@remote.test")
    code, _ = s.docmd("DATA")
    assert code == 354, code
    s.send(body + b".\r\n")
    t0 = time.perf_counter()
    code, _ = s.getreply()
    times.append((time.perf_counter() - t0) * 1000)
    assert code == 250, code
    time.sleep(0.01)
s.quit()
times.sort()
pick = lambda q: times[min(len(times) - 1, max(0, int(q * len(times) + 0.999999) - 1))]
print("idle %s messages=%d end-of-data to 250: p50 %.2f ms, p99 %.2f ms" % (g, n, pick(0.50), pick(0.99)))
PY
done

echo
echo "## medians over $RUNS interleaved runs ($N messages, $SESSIONS sessions, one recipient, outbound)"
echo
echo "| $KNOB | msg/s | records per PostgreSQL call | PostgreSQL CPU ms/msg | milter CPU ms/msg | Redis CPU ms/msg |"
echo "|---:|---:|---:|---:|---:|---:|"
for g in "${GATHER[@]}"; do
    python3 - "$KNOB" "$g" "$RESULTS" <<'PY'
import statistics, sys
knob, g, rows = sys.argv[1], sys.argv[2], []
for line in open(sys.argv[3]):
    kv = dict(f.split("=", 1) for f in line.split())
    if kv.get(knob) == g:
        rows.append(kv)
med = lambda k: statistics.median(float(r[k]) for r in rows)
rng = lambda k: "%.2f-%.2f" % (min(float(r[k]) for r in rows), max(float(r[k]) for r in rows))
print("| %s | %.0f | %.2f | %.2f (%s) | %.2f | %.2f |" % (g, med("msg_per_s"), med("records_per_call"),
      med("postgres_ms"), rng("postgres_ms"), med("milter_ms"), med("redis_ms")))
PY
done
echo
cat "$IDLE_RESULTS"
echo
echo "Command: N=$N SESSIONS=$SESSIONS RUNS=$RUNS KNOB=$KNOB VALUES=\"$VALUES\" IDLE_MESSAGES=$IDLE_MESSAGES WARMUP=$WARMUP PG_STATEMENTS=$PG_STATEMENTS PG_OPTIONS=\"$PG_OPTIONS\" bash tests/bench/milter-cpu.sh"
