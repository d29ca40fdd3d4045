#!/usr/bin/env bash
#
# tests/bench/soak.sh -- an hour of steady mail: does anything grow?
#
# WHAT IT MEASURES
#   SESSIONS (200) SMTP sessions stay open at once against a private Postfix
#   with postinbox-milter, while postinbox-policyd runs with webhooks on
#   (every event of the account goes to tests/webhook_receiver.py --lean, a
#   real HTTP server) and with the Postfix log follower on (postfix_log =
#   the test Postfix's maillog; mail to remote.test is relayed to smtp-sink
#   by transport_maps, as tests/integration/t_logfollow.sh does, so every
#   outbound recipient makes a delivery line and a message.delivered event).
#   The load (tests/bench/soak_load.py) is paced at RATE messages/s in total
#   however many sessions are open: a mix of outbound (AUTH PLAIN as a
#   granted login, or no AUTH from 127.0.0.2, the milter's trusted_networks;
#   1-3 recipients on remote.test) and inbound (unauthenticated, from remote
#   senders to 1-2 inboxes), bodies of 1 KB to 750 KB; each session sends
#   1-30 messages, then reconnects.  The caps are high enough never to
#   refuse, except CAP_SHARE (2 %) of the outbound messages, which come from
#   an inbox capped at CAP_LIMIT (50) sends a day: past that, its RCPTs are
#   refused (451), exercising refunds and refusals.
#   The daemons run with the production default backend_timeout_ms (2 s),
#   not the 1 s of the test harness.
#   Every SAMPLE seconds: VmRSS (/proc/PID/status) and the open fds
#   (/proc/PID/fd) of the milter and of policyd, PostgreSQL client
#   backends, messages sent so far, webhooks received, pending webhook
#   deliveries, Postfix's queue, and the error/warning lines of the milter
#   and policyd logs so far.
#   After the load, the pipeline is drained (DRAIN seconds at most) and
#   checked: one message row per accepted message (outbound) and per
#   accepted inbox recipient (inbound), no delivery left pending.
#
# TARGETS (exit 1 when one is missed)
#   - RSS growth of each daemon from the end of WARMUP to the last sample
#     under load: < RSS_GROWTH_MAX % (5);
#   - open fds after WARMUP flat: max - min <= FD_SLACK (10) of the fds
#     other than the connections of the moment (the milter's SMTP sessions
#     from Postfix, policyd's keep-alive connections to the receiver, both
#     counted from /proc/net/tcp and reported too; a socket left in
#     CLOSE_WAIT is not one of them);
#   - error/warning lines in the milter and policyd logs: 0 (listed);
#   - no unexpected SMTP reply, no message row missing, nothing pending
#     after the drain.
#
# HOW TO RUN (root; PostgreSQL, Redis, Postfix with smtp-sink, python3; the
# project built in-tree, or BUILDDIR=/path/to/build):
#     tests/bench/soak.sh                       # one hour
#     DURATION=240 SAMPLE=10 tests/bench/soak.sh   # a short check
#   Knobs (environment): DURATION (3600 s of load), SAMPLE (30 s), WARMUP
#   (300 s, or 10 % of DURATION when DURATION < 3000), SESSIONS (200),
#   RATE (40 msg/s), CAP_SHARE (0.02), CAP_LIMIT (50), MIX
#   ("auth=0.35,trusted=0.15,inbound=0.5", the share of sessions of each
#   kind), RSS_GROWTH_MAX (5), FD_SLACK (10), DRAIN (120 s), LOG_LEVEL
#   (info), SEED (1), KEEP_TEST_DIR=1 (keep logs and samples).
#   The script renices itself (and so everything it starts) to 10: the
#   machine stays usable.  Not part of `make check`.
#
# HOW LONG IT TAKES
#   DURATION plus about a minute of set-up and the drain.  Bounded: the load
#   generator is killed at DURATION + 60 s, every external step runs under timeout (the harness helpers bound their own waits),
#   and a watchdog ends the script (cleaning up) at DURATION + DRAIN + 600 s.
#
# OUTPUT
#   One line per sample, then a Markdown summary (figures, targets, error
#   lines) and the exact command line.  All services are private
#   (tests/integration/services.sh) and are stopped on exit, also on error
#   or ^C.

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/common.sh
. "$BENCH_DIR/../integration/common.sh"

DURATION=${DURATION:-3600}
SAMPLE=${SAMPLE:-30}
if [ -z "${WARMUP-}" ]; then
    if [ "$DURATION" -ge 3000 ]; then WARMUP=300; else WARMUP=$((DURATION / 10)); fi
fi
SESSIONS=${SESSIONS:-200}
RATE=${RATE:-40}
CAP_SHARE=${CAP_SHARE:-0.02}
CAP_LIMIT=${CAP_LIMIT:-50}
MIX=${MIX:-auth=0.35,trusted=0.15,inbound=0.5}
RSS_GROWTH_MAX=${RSS_GROWTH_MAX:-5}
FD_SLACK=${FD_SLACK:-10}
DRAIN=${DRAIN:-120}
LOG_LEVEL=${LOG_LEVEL:-info}
SEED=${SEED:-1}
TRUSTED_SOURCE=127.0.0.2
RECEIVER_PY=$BENCH_DIR/../webhook_receiver.py
LOAD_PY=$BENCH_DIR/soak_load.py
OUTBOUND_INBOXES=8
INBOUND_INBOXES=16

die() {
    printf '\nsoak.sh: ERROR: %s\n' "$*" >&2
    exit 1
}
command_line() {
    printf 'DURATION=%s SAMPLE=%s WARMUP=%s SESSIONS=%s RATE=%s CAP_SHARE=%s CAP_LIMIT=%s MIX=%s RSS_GROWTH_MAX=%s FD_SLACK=%s DRAIN=%s LOG_LEVEL=%s SEED=%s bash tests/bench/soak.sh' \
        "$DURATION" "$SAMPLE" "$WARMUP" "$SESSIONS" "$RATE" "$CAP_SHARE" "$CAP_LIMIT" "$MIX" \
        "$RSS_GROWTH_MAX" "$FD_SLACK" "$DRAIN" "$LOG_LEVEL" "$SEED"
}
for v in DURATION SAMPLE WARMUP SESSIONS CAP_LIMIT FD_SLACK DRAIN; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number of seconds or a count (got '${!v}')"
done
[ "$DURATION" -ge $((2 * SAMPLE)) ] && [ "$WARMUP" -lt "$DURATION" ] ||
    die "DURATION must be at least two SAMPLEs and longer than WARMUP"

# Everything this script starts inherits its niceness.
renice -n 10 -p $$ >/dev/null 2>&1 || true

pi_require --policyd
command -v smtp-sink >/dev/null || { echo "SKIP: needs smtp-sink"; exit 77; }
pi_init --policyd

# q SQL - psql on database postinbox, bounded.
q() {
    timeout 30 "$(_svc_pg_bindir)/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d postinbox -c "$1"
}

# --- set-up ----------------------------------------------------------------------

STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
LOAD_START=$(cut -d' ' -f1 /proc/loadavg)
# the watchdog: whatever hangs, the script ends and cleans up
( sleep $((DURATION + DRAIN + 600)); echo "soak.sh: watchdog: giving up" >&2; kill -TERM $$ ) </dev/null >/dev/null 2>&1 &
svc_register_pid $!

svc_start_pg || die "PostgreSQL did not start"
svc_start_redis || die "Redis did not start"
MAILLOG=$(svc_maillog)
LOG=$SVC_DIR/policyd.log
HOOKS=$SVC_DIR/hooks.jsonl
STATS=$SVC_DIR/load.json
SAMPLES=$SVC_DIR/samples.tsv
ERRORS=$SVC_DIR/errors.txt
pi_write_conf "trusted_networks = $TRUSTED_SOURCE/32" \
    "postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state" \
    "webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" \
    "webhook_timeout = 5s" "log_level = $LOG_LEVEL"
# the production default deadline for backend calls, not the harness's 1 s
sed -i '/^backend_timeout_ms = /d' "$PI_CONF"
timeout 120 "$PI_CTL" -c "$PI_CONF" migrate >/dev/null || die "postinboxctl migrate failed"
pi_start_milter || die "the milter did not start"

svc_add_sasl_user alice example.test secret || die "saslpasswd2 failed"
svc_start_postfix >/dev/null 2>&1 || die "Postfix did not start"
read -r SINK_PORT <<<"$(_svc_pick_ports 1)"
smtp-sink -u postfix 127.0.0.1:"$SINK_PORT" 256 </dev/null >"$SVC_DIR/sink.log" 2>&1 &
svc_register_pid $!
PFCONF=$SVC_DIR/postfix/etc
# SESSIONS smtpd processes at once (the harness allows 100)
sed -i "s/^\(127\.0\.0\.1:$SMTP_PORT inet  *n  *-  *n  *-  *\)100\( *smtpd\)/\1$((SESSIONS + 20))\2/" "$PFCONF/master.cf"
svc_postconf -e "default_process_limit = $((SESSIONS + 50))" \
    "transport_maps = inline:{ {remote.test=smtp:[127.0.0.1]:$SINK_PORT} }" \
    "smtp_connect_timeout = 5s" || die "postconf failed"
svc_postfix_reload >/dev/null 2>&1 || die "postfix reload failed"
grep -q "inet  *n  *-  *n  *-  *$((SESSIONS + 20)) *smtpd" "$PFCONF/master.cf" ||
    die "could not raise smtpd's process limit in master.cf"

ctl() { timeout 30 "$PI_CTL" -c "$PI_CONF" "$@"; }
ACCOUNT=$(ctl --json account create --name Soak --short-id soak --daily-limit 2000000000 | json_get id)
[ -n "$ACCOUNT" ] || die "account create failed"
OUT=() IN=()
for ((i = 1; i <= OUTBOUND_INBOXES; i++)); do
    a=$(ctl --json inbox create --account "$ACCOUNT" --username "out$i" \
        --daily-limit 2000000000 --burst-limit 2000000000 | json_get address)
    OUT+=("$a")
done
for ((i = 1; i <= INBOUND_INBOXES; i++)); do
    IN+=("$(ctl --json inbox create --account "$ACCOUNT" --username "in$i" | json_get address)")
done
CAPPED=$(ctl --json inbox create --account "$ACCOUNT" --username capped --daily-limit "$CAP_LIMIT" \
    --burst-limit 2000000000 | json_get address)
for a in "${OUT[@]}" "$CAPPED"; do
    [[ $a == *@* ]] || die "inbox create failed (got '$a')"
    ctl login grant --login alice@example.test --inbox "$a" >/dev/null || die "login grant failed for $a"
done
for a in "${IN[@]}"; do [[ $a == *@* ]] || die "inbox create failed (got '$a')"; done
ctl --json webhook add --account "$ACCOUNT" --url "http://127.0.0.1:$HTTP_PORT/ok/soak" >/dev/null ||
    die "webhook add failed"

: >"$HOOKS"
python3 "$RECEIVER_PY" --port "$HTTP_PORT" --log "$HOOKS" --lean \
    --max-lifetime $((DURATION + DRAIN + 600)) >>"$SVC_DIR/receiver.log" 2>&1 </dev/null &
svc_register_pid $!
for ((i = 0; i < 100; i++)); do _svc_port_open "$HTTP_PORT" && break; sleep 0.05; done
_svc_port_open "$HTTP_PORT" || die "the webhook receiver did not start: $(cat "$SVC_DIR/receiver.log")"
pi_start_policyd "$PI_CONF" "$LOG" || die "postinbox-policyd did not start"

MILTER_PID=$(pi_milter_pid)
PD_PID=$PD
[ -n "$MILTER_PID" ] && [ -n "$PD_PID" ] || die "cannot find the daemons' pids"
MILTER_LOG=$(pi_milter_log)

# --- sampling --------------------------------------------------------------------

# proc_sample - one line, "?" for what could not be read in time:
#   milter_rss_kb milter_fds milter_smtp policyd_rss_kb policyd_fds policyd_http sent sessions
# VmRSS from /proc/PID/status; the open fds (/proc/PID/fd) and, of those,
# the ESTABLISHED TCP connections of the moment: the milter's from Postfix
# (local port $MILTER_PORT, one per SMTP session), policyd's to the webhook
# receiver (keep-alive, as many as are in flight); what is left is what must
# stay flat (a socket left in CLOSE_WAIT counts there); and the load
# generator's counters.  One process per sample: on a loaded machine every
# fork counts.
proc_sample() {
    local out
    # (the output counts only if python finished: one killed by timeout
    # after printing must not leave a line behind)
    out=$(timeout 60 python3 - "$MILTER_PID" "$MILTER_PORT" "$PD_PID" "$HTTP_PORT" "$STATS" <<'PY'
import json, os, sys
def established(port, local):
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            f = row.split()
            if f[3] != "01":
                continue
            end = f[1] if local else f[2]
            if int(end.rsplit(":", 1)[1], 16) == port:
                found.add(f[9])
    return found
def proc(pid, port, local):
    rss = "?"
    try:
        for line in open("/proc/%s/status" % pid):
            if line.startswith("VmRSS:"):
                rss = line.split()[1]
        names = os.listdir("/proc/%s/fd" % pid)
    except OSError:
        return [rss, "?", "?"]
    socks, conns = established(port, local), 0
    for n in names:
        try:
            target = os.readlink("/proc/%s/fd/%s" % (pid, n))
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in socks:
            conns += 1
    return [rss, str(len(names)), str(conns)]
try:
    st = json.load(open(sys.argv[5]))
    load = [str(st.get("messages", 0)), str(st.get("open_sessions", 0))]
except (OSError, ValueError):
    load = ["?", "?"]
print(" ".join(proc(sys.argv[1], int(sys.argv[2]), True) + proc(sys.argv[3], int(sys.argv[4]), False) + load))
PY
) && [ "$(wc -w <<<"$out")" = 8 ] || out="? ? ? ? ? ? ? ?"
    echo "$out"
}
queue_len() { find "$SVC_DIR/postfix/spool/incoming" "$SVC_DIR/postfix/spool/active" "$SVC_DIR/postfix/spool/deferred" -type f 2>/dev/null | wc -l; }
ERR_RE=': (warning|error|fatal): |AddressSanitizer|runtime error:|Assertion .* failed'
declare -A LOG_OFF=()
: >"$ERRORS"
# new_errors FILE NAME - appends FILE's new error/warning lines to $ERRORS.
new_errors() {
    local size off=${LOG_OFF[$2]:-0}
    size=$(stat -c %s "$1" 2>/dev/null || echo 0)
    [ "$size" -gt "$off" ] || return 0
    tail -c +$((off + 1)) "$1" | head -c $((size - off)) | grep -aE "$ERR_RE" | sed "s/^/$2: /" >>"$ERRORS"
    LOG_OFF[$2]=$size
}
sample() {   # sample PHASE
    local t pending backends mrss mfd msmtp prss pfd phttp sent open
    new_errors "$MILTER_LOG" milter
    new_errors "$LOG" policyd
    t=$((SECONDS - T0))
    backends=$(q "SELECT count(*) - 1 FROM pg_stat_activity WHERE backend_type = 'client backend'" 2>/dev/null)
    pending=$(q "SELECT count(*) FROM postinbox.webhook_delivery WHERE status = 'pending'" 2>/dev/null)
    read -r mrss mfd msmtp prss pfd phttp sent open <<<"$(proc_sample)"
    [[ $backends =~ ^[0-9]+$ ]] || backends='?'
    [[ $pending =~ ^[0-9]+$ ]] || pending='?'
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$1" \
        "$mrss" "$mfd" "$msmtp" "$prss" "$pfd" "$phttp" \
        "${backends:-?}" "$sent" "$(wc -l <"$HOOKS")" "${pending:-?}" "$(queue_len)" \
        "$(grep -c '^milter: ' "$ERRORS")" "$(grep -c '^policyd: ' "$ERRORS")" "$open" |
        tee -a "$SAMPLES" | awk -F'\t' '{ printf "sample t=%ss %s: milter %s kB %s fds (%s SMTP) | policyd %s kB %s fds (%s HTTP) | pg backends %s | sent %s | webhooks %s (pending %s) | queue %s | errors milter %s policyd %s | sessions %s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 }'
}

echo "soak.sh: $(nproc) CPUs, load average at start $LOAD_START, $STARTED"
command_line; echo
printf 't\tphase\tmilter_rss_kb\tmilter_fds\tmilter_smtp\tpolicyd_rss_kb\tpolicyd_fds\tpolicyd_http\tpg_backends\tsent\twebhooks\tpending\tqueue\tmilter_errors\tpolicyd_errors\tsessions\n' >"$SAMPLES.head"
: >"$SAMPLES"
T0=$SECONDS
sample start

timeout $((DURATION + 60)) python3 "$LOAD_PY" --port "$SMTP_PORT" --duration "$DURATION" \
    --sessions "$SESSIONS" --rate "$RATE" --stats "$STATS" --login alice@example.test --password secret \
    --outbound "$(IFS=,; echo "${OUT[*]}")" --inbound "$(IFS=,; echo "${IN[*]}")" \
    --capped "$CAPPED" --cap-share "$CAP_SHARE" --trusted-source "$TRUSTED_SOURCE" --mix "$MIX" \
    --seed "$SEED" >"$SVC_DIR/load.out" 2>&1 </dev/null &
LOAD_PID=$!
svc_register_pid "$LOAD_PID"
T0=$SECONDS
next=$SAMPLE
while _svc_alive "$LOAD_PID"; do
    now=$((SECONDS - T0))
    if [ "$now" -ge "$next" ]; then
        phase=load
        [ "$now" -le "$WARMUP" ] && phase=warmup
        sample "$phase"
        next=$(((now / SAMPLE + 1) * SAMPLE))
    fi
    sleep 1
done
wait "$LOAD_PID"
LOAD_RC=$?
LOAD_SECONDS=$((SECONDS - T0))

# --- drain and check -------------------------------------------------------------

drain_start=$SECONDS
while [ $((SECONDS - drain_start)) -lt "$DRAIN" ]; do
    p=$(q "SELECT count(*) FROM postinbox.webhook_delivery WHERE status = 'pending'")
    [ "${p:-1}" = 0 ] && [ "$(queue_len)" = 0 ] && break
    sleep 2
done
sleep 2
sample drained
DRAIN_SECONDS=$((SECONDS - drain_start))

ROWS=$(q "SELECT coalesce(sum((direction = 'outbound')::int), 0) || ' ' || coalesce(sum((direction = 'inbound')::int), 0) FROM postinbox.message")
EVENTS=$(q "SELECT type || '=' || count(*) FROM postinbox.event GROUP BY type ORDER BY type" | tr '\n' ' ')
DELIVERIES=$(q "SELECT status || '=' || count(*) FROM postinbox.webhook_delivery GROUP BY status ORDER BY status" | tr '\n' ' ')
DELIVERED_ROWS=$(q "SELECT count(*) FROM postinbox.message_recipient WHERE state = 'delivered'" 2>/dev/null || echo '?')
LOAD_END=$(cut -d' ' -f1 /proc/loadavg)

# --- report ------------------------------------------------------------------------

timeout 60 python3 - "$SAMPLES" "$STATS" "$ERRORS" "$WARMUP" "$RSS_GROWTH_MAX" "$FD_SLACK" "$ROWS" \
    "$LOAD_RC" "$LOAD_SECONDS" "$DRAIN_SECONDS" "$EVENTS" "$DELIVERIES" "$DELIVERED_ROWS" \
    "$LOAD_START" "$LOAD_END" "$(nproc)" "$RATE" "$SESSIONS" "$(command_line)" "$STARTED" <<'EOF'
import json, sys
(samples_f, stats_f, errors_f, warmup, rss_max, fd_slack, rows, load_rc, load_s, drain_s, events,
 deliveries, delivered_rows, load_start, load_end, ncpu, rate, sessions, command, started) = sys.argv[1:]
warmup, rss_max, fd_slack = int(warmup), float(rss_max), int(fd_slack)
cols = ["t", "phase", "mrss", "mfd", "msmtp", "prss", "pfd", "phttp", "pg", "sent", "hooks", "pending", "queue", "merr", "perr", "open"]
S = []
for l in open(samples_f):
    f = l.rstrip("\n").split("\t")
    if len(f) != len(cols) or f[1] not in ("start", "warmup", "load", "drained"):
        continue    # a line broken by a step that timed out
    s = dict(zip(cols, f))
    for k in cols:
        if k != "phase":
            try:
                s[k] = int(s[k])
            except ValueError:
                s[k] = None     # "?": not read in time
    # a live daemon always has fds open: 0 means they were not read
    for k, conn in (("mfd", "msmtp"), ("pfd", "phttp")):
        if not s[k]:
            s[k] = s[conn] = None
    S.append(s)
load = [s for s in S if s["phase"] in ("warmup", "load")]
after = [s for s in load if s["phase"] == "load"]
drained = [s for s in S if s["phase"] == "drained"]
st = json.load(open(stats_f))
errors = [l.rstrip("\n") for l in open(errors_f)]
out_rows, in_rows = (int(x) for x in rows.split())
missed = []
print()
print("## Soak: %s s of load, %s sessions, %s msg/s paced (%s CPUs, load average %s at start, %s at end; %s)"
      % (load_s, sessions, rate, ncpu, load_start, load_end, started))
print()
def vals(k, rows):
    return [s[k] for s in rows if s[k] is not None]
def base(k, conn, rows):
    return [s[k] - s[conn] for s in rows if s[k] is not None and s[conn] is not None]
def fmt(v):
    return "?" if v is None else "%d" % v
def first(k, rows):
    v = [s for s in rows if s[k] is not None]
    return v[0] if v else None
def last(k, rows):
    v = [s for s in rows if s[k] is not None]
    return v[-1] if v else None

print("| | postinbox-milter | postinbox-policyd |")
print("|---|---:|---:|")
if not vals("mrss", after) or not vals("prss", after) or not base("mfd", "msmtp", after) or not base("pfd", "phttp", after):
    print()
    print("Too few samples after the warm-up (%d s): nothing to judge." % warmup)
    missed.append("no samples after warm-up")
else:
    rs = {k: (first(k, after), last(k, after)) for k in ("mrss", "prss")}
    print("| VmRSS at start | %s kB | %s kB |" % (fmt(S[0]["mrss"]), fmt(S[0]["prss"])))
    print("| VmRSS at the end of warm-up | %d kB (t=%d s) | %d kB (t=%d s) |" % (
        rs["mrss"][0]["mrss"], rs["mrss"][0]["t"], rs["prss"][0]["prss"], rs["prss"][0]["t"]))
    print("| VmRSS at the end of the load | %d kB (t=%d s) | %d kB (t=%d s) |" % (
        rs["mrss"][1]["mrss"], rs["mrss"][1]["t"], rs["prss"][1]["prss"], rs["prss"][1]["t"]))
    print("| VmRSS min–max after warm-up | %d–%d kB | %d–%d kB |" % (
        min(vals("mrss", after)), max(vals("mrss", after)), min(vals("prss", after)), max(vals("prss", after))))
    if drained:
        print("| VmRSS after the drain | %s kB | %s kB |" % (fmt(drained[-1]["mrss"]), fmt(drained[-1]["prss"])))
    g = {k: 100.0 * (rs[k][1][k] - rs[k][0][k]) / rs[k][0][k] for k in rs}
    print("| **RSS growth, warm-up end → end** (target < %g %%) | **%+.1f %%** | **%+.1f %%** |" % (rss_max, g["mrss"], g["prss"]))
    mb, pb = base("mfd", "msmtp", after), base("pfd", "phttp", after)
    print("| open fds after warm-up, min–max (all) | %d–%d | %d–%d |" % (
        min(vals("mfd", after)), max(vals("mfd", after)), min(vals("pfd", after)), max(vals("pfd", after))))
    print("| of which SMTP sessions (milter) / webhook connections (policyd), min–max | %d–%d | %d–%d |" % (
        min(vals("msmtp", after)), max(vals("msmtp", after)), min(vals("phttp", after)), max(vals("phttp", after))))
    print("| **other open fds after warm-up, min–max** (target: spread ≤ %d) | **%d–%d** | **%d–%d** |" % (
        fd_slack, min(mb), max(mb), min(pb), max(pb)))
    print("| all open fds at start / after the drain | %s / %s | %s / %s |" % (
        fmt(S[0]["mfd"]), fmt(drained[-1]["mfd"]) if drained else "?", fmt(S[0]["pfd"]), fmt(drained[-1]["pfd"]) if drained else "?"))
    print("| error/warning lines (target 0) | %d | %d |" % (sum(1 for e in errors if e.startswith("milter: ")),
                                                          sum(1 for e in errors if e.startswith("policyd: "))))
    print("| samples after warm-up (read / taken) | %d / %d | %d / %d |" % (
        len(mb), len(after), len(pb), len(after)))
    if g["mrss"] >= rss_max: missed.append("milter RSS growth %+.1f %%" % g["mrss"])
    if g["prss"] >= rss_max: missed.append("policyd RSS growth %+.1f %%" % g["prss"])
    if max(mb) - min(mb) > fd_slack: missed.append("milter fds other than sessions %d-%d" % (min(mb), max(mb)))
    if max(pb) - min(pb) > fd_slack: missed.append("policyd fds other than webhook connections %d-%d" % (min(pb), max(pb)))
pg = [s["pg"] for s in after if s["pg"] is not None]
print()
print("- messages accepted: %d (%d outbound with %d recipients, %d inbound to %d inbox recipients), %.1f msg/s; "
      "%d connections; capped inbox refusals (expected) %d; pacer ticks with no free session %d"
      % (st["messages"], st["outbound"], st["outbound_rcpts"], st["inbound"], st["inbound_rcpts"],
         st["messages"] / max(1.0, float(load_s)), st["connects"], st["refused"], st["dropped_tokens"]))
print("- unexpected SMTP replies or broken sessions (target 0): %d%s" % (
    st["unexpected"], "".join("\n    - `%s`" % x for x in st["unexpected_samples"])))
print("- message rows: %d outbound (accepted %d), %d inbound (accepted inbox recipients %d); "
      "recipients marked delivered from the Postfix log: %s" % (out_rows, st["outbound"], in_rows, st["inbound_rcpts"], delivered_rows))
print("- events: %s; webhook deliveries: %s; webhooks received: %s (drain took %s s)" % (
    events.strip(), deliveries.strip(), drained[-1]["hooks"] if drained else "?", drain_s))
if pg:
    print("- PostgreSQL client backends after warm-up: %d–%d" % (min(pg), max(pg)))
print("- load generator exit status %s" % load_rc)
if st["unexpected"]: missed.append("%d unexpected SMTP replies" % st["unexpected"])
if out_rows != st["outbound"] or in_rows != st["inbound_rcpts"]: missed.append("message rows do not match the accepted messages")
if drained and (drained[-1]["pending"] or 0) != 0: missed.append("%s webhook deliveries pending after the drain" % drained[-1]["pending"])
if load_rc != "0": missed.append("load generator exit status %s" % load_rc)
if errors:
    missed.append("%d error/warning lines" % len(errors))
    import re
    kinds = {}
    for e in errors:
        k = re.sub(r"^(\w+): \S+ [^:]+: ", r"\1: ", e)            # drop the time stamp and ident[pid]
        k = re.sub(r"\b[0-9A-F]{8,12}\b", "QID", k)                # queue ids
        k = re.sub(r"<[^>]*>", "<...>", k)
        k = re.sub(r"(inbox|sender|login)=\S+", r"\1=...", k)
        k = re.sub(r"\d+", "N", k)
        kinds[k] = kinds.get(k, 0) + 1
    print()
    print("Error/warning lines by kind (numbers, addresses and queue ids replaced):")
    print()
    for k, n in sorted(kinds.items(), key=lambda kv: -kv[1])[:15]:
        print("    %6d  %s" % (n, k[:400]))
    print()
    print("Error/warning lines (first 30 of %d):" % len(errors))
    print()
    for e in errors[:30]:
        print("    " + e)
print()
print("Targets: " + ("all met." if not missed else "**MISSED**: " + "; ".join(missed)))
print()
print("Command:")
print()
print("    " + command)
sys.exit(1 if missed else 0)
EOF
RC=$?
echo
echo "Samples (also in $SAMPLES; KEEP_TEST_DIR=1 keeps them):"
cat "$SAMPLES.head" "$SAMPLES" | column -t -s "$(printf '\t')"
exit $RC
