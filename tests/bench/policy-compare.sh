#!/usr/bin/env bash
#
# tests/bench/policy-compare.sh -- postinbox-policyd against postfwd and
# policyd-rate-limit, same machine, same run, same client.
#
# WHAT IT MEASURES
#   Requests/second and per-request latency (p50, p99) of three Postfix
#   policy services, each answering the same two requests, with the same
#   client (tests/integration/policy_client.py --bench: persistent
#   connections, one request in flight per connection, SECONDS_PER_RUN per
#   measurement), with 1 and with 8 connections:
#     rcpt  protocol_state=RCPT, sasl_username set, sender = an inbox with
#           huge limits, recipient on a foreign domain (outbound mail)
#     eom   protocol_state=END-OF-MESSAGE of the same sender, 1 recipient
#   Servers:
#     postinbox  postinbox-policyd (this tree), private PostgreSQL + Redis.
#                rcpt: sender inbox + grant lookup in PostgreSQL, recipient
#                domain (foreign_domain_cache, 5 s by default), limiter
#                check in Redis.  eom: sender lookup + one Redis script
#                that charges the recipient (every request a new charge).
#     postfwd    postfwd2 (Debian package postfwd), per-sender rules:
#                  RCPT: rate(sender/1000000000/60/...)
#                  END-OF-MESSAGE: rcpt(sender/1000000000/60/...), which
#                  counts recipient_count, like our charge
#                  then DUNNO.  Counters in memory, in postfwd's own cache
#                  daemon (one local socket hop per request); request
#                  cache off (postfwd turns it off itself with rate rules).
#     prl        policyd-rate-limit (Debian package), limit_by_sender,
#                limit 1000000000 per 60 s, sqlite3 backend on /dev/shm
#                (fsync costs nothing there, like our PostgreSQL's fsync=off).
#                rcpt: SELECT COUNT(*) of the sender's rows in the window +
#                INSERT + COMMIT.  It only counts at RCPT: its eom answer is
#                a pass-through (no lookup, no charge).
#   Rounds are interleaved: for every round, every (request, connections)
#   cell runs on each server in turn (server order rotated each round),
#   so a change of machine load hits all of them alike.  The table shows
#   the median over rounds (req/s min-max in brackets).
#   Every answer must be a well-formed "action=..." reply and, here, DUNNO
#   (any case); anything else is counted and reported LOUDLY.  Before the
#   measurements each server proves its rule is live (a probe sender with
#   a limit of 2 is refused on its 3rd request; for postinbox the charges
#   are counted in Redis afterwards).
#
# HOW TO RUN (root, built in-tree with make; PostgreSQL, Redis installed;
# postfwd / policyd-rate-limit are installed with apt-get if missing, never
# started as system services):
#     tests/bench/policy-compare.sh
#   Knobs: SECONDS_PER_RUN (5), ROUNDS (3), CONNS_LIST ("1 8"),
#   SERVERS ("postinbox postfwd prl"), MAX_SECONDS (295: the whole run is
#   killed, and cleaned up, after that long), PFW_ARGS (extra postfwd2
#   options, e.g. --fast_limit_evaluation; none by default).  Not part of `make check`.
#
# The client is Python, on the same cores as the servers (and, for
# postinbox, as PostgreSQL and Redis): figures are floors, and relative.
set -u

MAX_SECONDS=${MAX_SECONDS:-295}
if [ -z "${PI_COMPARE_WRAPPED-}" ]; then
    # Bound the whole run.  TERM reaches this script, whose EXIT trap stops
    # and removes everything it started.
    PI_COMPARE_WRAPPED=1 exec timeout --kill-after=20 "$MAX_SECONDS" bash "$0" "$@"
fi

. "$(dirname "$0")/../integration/common.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
PI_POLICYD=$BUILDDIR/policyd/postinbox-policyd
PC=$PI_TESTDIR/policy_client.py
SECS=${SECONDS_PER_RUN:-5}
ROUNDS=${ROUNDS:-3}
CONNS_LIST=${CONNS_LIST:-"1 8"}
SERVERS=${SERVERS:-"postinbox postfwd prl"}
KINDS="rcpt eom"
export PC_TIMEOUT=${PC_TIMEOUT:-5}
# shellcheck disable=SC2016  # the quotes are literal, $PFW_ARGS expands
CMD="${PFW_ARGS:+PFW_ARGS='$PFW_ARGS' }SECONDS_PER_RUN=$SECS ROUNDS=$ROUNDS CONNS_LIST='$CONNS_LIST' SERVERS='$SERVERS' $0"
STARTED=$SECONDS

say() { printf '%s\n' "$*" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

if [ "$(id -u)" != 0 ] || ! command -v redis-server >/dev/null || [ ! -x "$PI_POLICYD" ] || [ ! -x "$PI_CTL" ]; then
    echo "SKIP: needs root, redis-server, PostgreSQL and a build (missing $PI_POLICYD or $PI_CTL?)"
    exit 77
fi

# ---------------------------------------------------------------------------
# Packages: install only if missing; never leave a system instance running.
# ---------------------------------------------------------------------------
want() { case " $SERVERS " in *" $1 "*) return 0 ;; esac; return 1; }
ensure_pkg() {    # ensure_pkg PACKAGE BINARY SYSTEM_PIDFILE SERVICE
    local pkg=$1 bin=$2 pidfile=$3 service=$4 pid
    if [ ! -x "$bin" ]; then
        say "installing $pkg (apt-get) ..."
        if ! DEBIAN_FRONTEND=noninteractive timeout 180 apt-get install -y -q --no-install-recommends "$pkg" >/tmp/policy-compare-apt.log 2>&1; then
            say "apt-get install $pkg failed (see /tmp/policy-compare-apt.log); skipping it"
            return 1
        fi
    fi
    # A postinst may have started the packaged service (Debian's default
    # config of both does not; a policy-rc.d may forbid it anyway).
    pid=$(cat "$pidfile" 2>/dev/null)
    if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null; then
        say "stopping the system $service service (pid $pid) started by its package"
        service "$service" stop >/dev/null 2>&1 || kill "$pid"
    fi
    [ -x "$bin" ]
}
ACTIVE=""
for s in $SERVERS; do
    case $s in
        postinbox) ACTIVE+=" postinbox" ;;
        postfwd) ensure_pkg postfwd /usr/sbin/postfwd2 /var/run/postfwd.pid postfwd && ACTIVE+=" postfwd" ;;
        prl) ensure_pkg policyd-rate-limit /usr/bin/policyd-rate-limit \
            /var/run/policyd-rate-limit/policyd-rate-limit.pid policyd-rate-limit && ACTIVE+=" prl" ;;
        *) say "unknown server $s"; exit 2 ;;
    esac
done
read -r -a ACTIVE <<<"$ACTIVE"

# ---------------------------------------------------------------------------
# Services
# ---------------------------------------------------------------------------
svc_init || exit 1
SHM_DIR=""
PFW_MASTER=""
# Our own exit hook (svc_stop_all calls it before killing registered pids).
# shellcheck disable=SC2317  # called from services.sh's svc_stop_all
svc_on_exit() {
    local left
    if [ -n "$PFW_MASTER" ]; then
        # postfwd2 daemonizes (setsid): its master (named after its command
        # line), cache daemon and pre-forked children are all in the
        # session the master leads.  TERM to the master ends them all.
        if _svc_alive "$PFW_MASTER" && grep -qa postfwd2 "/proc/$PFW_MASTER/cmdline"; then
            kill -TERM "$PFW_MASTER" 2>/dev/null
            _svc_wait_gone 8 "$PFW_MASTER"
        fi
        left=$(ps -o pid=,args= -s "$PFW_MASTER" 2>/dev/null | awk '$2 ~ /postfwd2/ { printf "%s ", $1 }')
        # shellcheck disable=SC2086
        [ -n "${left// /}" ] && kill -KILL $left 2>/dev/null
    fi
    case $SHM_DIR in /dev/shm/pi-compare.*) rm -rf "$SHM_DIR" ;; esac
    return 0
}
svc_start_pg || exit 1
svc_start_redis || exit 1
# No milter runs here: its two ports go to the competitors.
PFW_PORT=$MILTER_PORT
PRL_PORT=$MILTER2_PORT

wait_port() {    # wait_port PORT PID NAME
    local i
    for i in $(seq 1 150); do
        _svc_port_open "$1" && return 0
        [ -n "$2" ] && ! _svc_alive "$2" && break
        sleep 0.1
    done
    say "$3 did not come up on 127.0.0.1:$1"
    return 1
}

# postinbox-policyd
pi_write_conf "policy_listen = 127.0.0.1:$POLICY_PORT" "log_level = warn"
pi_ctl migrate >/dev/null || exit 1
A=$(pi_account "Acme" acme)
read -r _ BOB <<<"$(pi_inbox "$A" bob --daily-limit 1000000000 --burst-limit 1000000000)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
[ -n "$BOB" ] || { say "provisioning failed"; exit 1; }
SENDS_BEFORE=$(pi_sends_today "$BOB")
declare -A PORT=([postinbox]=$POLICY_PORT [postfwd]=$PFW_PORT [prl]=$PRL_PORT)
declare -A WORK=(
    [postinbox]="PostgreSQL lookups + Redis limiter (eom: Redis charge)"
    [postfwd]="in-memory per-sender counter in postfwd's cache daemon"
    [prl]="sqlite COUNT(*) + INSERT + COMMIT at RCPT; eom: pass-through"
)
for s in "${ACTIVE[@]}"; do
    case $s in
    postinbox)
        "$PI_POLICYD" -c "$PI_CONF" -f >>"$SVC_DIR/policyd.log" 2>&1 &
        svc_register_pid $!
        wait_port "$POLICY_PORT" $! postinbox-policyd || exit 1
        ;;
    postfwd)
        # Rules: the probe first (a cheap string test that never matches a
        # bench request), then the per-sender rate rules, then DUNNO.
        cat >"$SVC_DIR/postfwd.cf" <<'EOF'
id=PROBE; sender==probe@remote.test; action=rate(sender/2/60/450 4.7.1 probe limit)
id=RATE_EOM; protocol_state==END-OF-MESSAGE; action=rcpt(sender/1000000000/60/450 4.7.1 too many recipients)
id=RATE_RCPT; protocol_state==RCPT; action=rate(sender/1000000000/60/450 4.7.1 too many)
id=DEFAULT; action=DUNNO
EOF
        # It daemonizes (and chdirs to /: absolute paths only).  --perfmon:
        # no logging at all (there is no syslog here; postinbox logs warn+).
        # shellcheck disable=SC2086  # PFW_ARGS: words
        /usr/sbin/postfwd2 --file "$SVC_DIR/postfwd.cf" --interface 127.0.0.1 --port "$PFW_PORT" \
            --user root --group nogroup --pidfile "$SVC_DIR/postfwd.pid" \
            --cache_proto unix --cache_port "$SVC_DIR/postfwd-cache.socket" \
            --cache 0 --nodns --perfmon ${PFW_ARGS-} >"$SVC_DIR/postfwd.out" 2>&1
        for _ in $(seq 1 50); do [ -s "$SVC_DIR/postfwd.pid" ] && break; sleep 0.1; done
        PFW_MASTER=$(cat "$SVC_DIR/postfwd.pid" 2>/dev/null)
        [[ $PFW_MASTER =~ ^[0-9]+$ ]] || { say "postfwd2 did not start:"; cat "$SVC_DIR/postfwd.out" >&2; exit 1; }
        wait_port "$PFW_PORT" "$PFW_MASTER" postfwd2 || exit 1
        ;;
    prl)
        SHM_DIR=$(mktemp -d /dev/shm/pi-compare.XXXXXX) || exit 1
        cat >"$SVC_DIR/prl.yaml" <<EOF
debug: False
user: "root"
group: "root"
pidfile: "$SVC_DIR/prl.pid"
backend: 0
sqlite_config:
    database: "$SHM_DIR/prl.sqlite3"
SOCKET: ["127.0.0.1", $PRL_PORT]
limits:
    - [1000000000, 60]
limits_by_id:
    probe@remote.test:
        - [2, 60]
limit_by_sasl: False
limit_by_sender: True
limit_by_ip: False
limited_networks: []
success_action: "dunno"
fail_action: "defer_if_permit Rate limit reach, retry later"
db_error_action: "defer_if_permit database error"
report: False
delay_to_close: 300
EOF
        /usr/bin/policyd-rate-limit --file "$SVC_DIR/prl.yaml" >>"$SVC_DIR/prl.log" 2>&1 &
        svc_register_pid $!
        wait_port "$PRL_PORT" $! policyd-rate-limit || { cat "$SVC_DIR/prl.log" >&2; exit 1; }
        ;;
    esac
done

# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------
req() {
    local s='request=smtpd_access_policy\n' kv
    for kv in "$@"; do s+="$kv"'\n'; done
    printf '%s' "$s"'\n'
}
COMMON=(client_address=192.0.2.1 client_name=mua.example.test helo_name=mua.example.test
    sasl_method=PLAIN sasl_username=alice@example.test)
declare -A KIND=(
    [rcpt]=$(req protocol_state=RCPT "${COMMON[@]}" "sender=$BOB" recipient=friend@remote.test)
    [eom]=$(req protocol_state=END-OF-MESSAGE "${COMMON[@]}" "sender=$BOB" recipient_count=1 queue_id=BENCH)
)
PROBE=$(req protocol_state=RCPT "${COMMON[@]}" sender=probe@remote.test recipient=friend@remote.test)

# Each competitor proves its rule is live: the probe sender (limit 2) is
# refused on its third request.
for s in "${ACTIVE[@]}"; do
    [ "$s" = postinbox ] && continue
    out=$(python3 "$PC" "${PORT[$s]}" "$PROBE" "$PROBE" "$PROBE" | tr '\n' '|')
    if [[ $out != action=DUNNO\|action=DUNNO\|action=[!D]* && $out != action=dunno\|action=dunno\|action=defer* ]]; then
        say "!!! $s: its rate rule is NOT live (probe answers: $out); aborting"
        exit 1
    fi
done

RAW=$SVC_DIR/results.txt
: >"$RAW"
measure() {    # measure SERVER KIND CONNS ROUND [warmup]
    local out
    out=$(timeout $((SECS + 30)) python3 "$PC" --bench "$SECS" "$3" "${PORT[$1]}" "${KIND[$2]}" 2>&1 | tail -n 1)
    [ -n "${5-}" ] && return 0
    [[ $out == requests=* ]] || out="requests=0 seconds=0 rps=0 answers=CLIENT-FAILED errors=1 p50_ms=nan p99_ms=nan ($out)"
    printf '%s %s %s %s %s\n' "$1" "$2" "$3" "$4" "$out" >>"$RAW"
    printf '  round %s  %-9s %-4s %2s conns  %s\n' "$4" "$1" "$2" "$3" "$out" >&2
}

say "policy-compare: servers ${ACTIVE[*]}, ${ROUNDS} rounds x ${SECS} s per cell, connections $CONNS_LIST"
say "load average before: $(loadavg)  (nproc $(nproc))"
# Warm-up (not recorded): connection pools, postfwd's pre-forked children.
SAVED_SECS=$SECS
SECS=1
for s in "${ACTIVE[@]}"; do measure "$s" rcpt 8 0 warmup; done
SECS=$SAVED_SECS
LOADS=()
for ((r = 1; r <= ROUNDS; r++)); do
    # rotate the server order every round
    order=()
    n=${#ACTIVE[@]}
    for ((i = 0; i < n; i++)); do order+=("${ACTIVE[$(((i + r - 1) % n))]}"); done
    for kind in $KINDS; do
        for conns in $CONNS_LIST; do
            for s in "${order[@]}"; do measure "$s" "$kind" "$conns" "$r"; done
        done
    done
    LOADS+=("$(loadavg)")
    say "  load average after round $r: ${LOADS[-1]}"
done

# ---------------------------------------------------------------------------
# Checks and table
# ---------------------------------------------------------------------------
EXTRA=""
if want postinbox; then
    sends=$(( $(pi_sends_today "$BOB") - SENDS_BEFORE ))
    answered=$(awk '$1 == "postinbox" && $2 == "eom" { sub(/requests=/, "", $5); n += $5 } END { print n + 0 }' "$RAW")
    EXTRA+="postinbox charges counted in Redis: $sends for $answered END-OF-MESSAGE requests answered"
    [ "$sends" = "$answered" ] && EXTRA+=" (match)" || EXTRA+=" (MISMATCH!)"
    EXTRA+=$'\n'
fi
if [ -n "$SHM_DIR" ] && [ -f "$SHM_DIR/prl.sqlite3" ]; then
    rows=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("select count(*) from mail_count where id=?", (sys.argv[2],)).fetchone()[0])' "$SHM_DIR/prl.sqlite3" "$BOB" 2>/dev/null)
    EXTRA+="policyd-rate-limit rows for the sender at the end: ${rows:-?} (its COUNT(*) scans those within the last 60 s)"$'\n'
fi

ELAPSED=$((SECONDS - STARTED))
python3 - "$RAW" "$CMD" "$ELAPSED" "$(loadavg)" "$(IFS=';'; echo "${LOADS[*]}")" <<'EOF'
import re, statistics, sys
raw, cmd, elapsed, load_end, loads = sys.argv[1:6]
rows = {}
order = []
for line in open(raw):
    f = line.split(None, 4)
    server, kind, conns, rnd, rest = f
    kv = dict(re.findall(r"(\w+)=(\S+)", rest))
    m = re.search(r"answers=(.*) errors=", rest)    # answers hold spaces
    kv["answers"] = m.group(1) if m else "?"
    key = (server, kind, int(conns))
    if key not in rows:
        rows[key] = []
        order.append(key)
    rows[key].append(kv)
EXPECTED = re.compile(r"^action=dunno$", re.I)
names = {"postinbox": "postinbox-policyd", "postfwd": "postfwd2 1.35", "prl": "policyd-rate-limit 1.0.1.1"}
kinds = {"rcpt": "RCPT (outbound)", "eom": "END-OF-MESSAGE"}
print()
print("| server | request | conns | req/s (median) | req/s min-max | p50 ms | p99 ms | errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
loud = []
srank = {"postinbox": 0, "postfwd": 1, "prl": 2}
for key in sorted(order, key=lambda k: (k[1] != "rcpt", k[2], srank.get(k[0], 9))):
    server, kind, conns = key
    ms = rows[key]
    rps = [float(m.get("rps", 0)) for m in ms]
    p50 = [float(m.get("p50_ms", "nan")) for m in ms]
    p99 = [float(m.get("p99_ms", "nan")) for m in ms]
    errors = sum(int(m.get("errors", 1)) for m in ms)
    answers = set()
    for m in ms:
        answers.update(m.get("answers", "?").split("|"))
    bad = sorted(a for a in answers if not EXPECTED.match(a))
    if errors or bad:
        loud.append("%s %s %d conns: %d errors, unexpected answers: %s" % (server, kind, conns, errors, bad or "none"))
    label = kinds[kind] + (" (pass-through)" if server == "prl" and kind == "eom" else "")
    print("| %s | %s | %d | %.0f | %.0f-%.0f | %.3f | %.3f | %d%s |" % (
        names.get(server, server), label, conns, statistics.median(rps), min(rps), max(rps),
        statistics.median(p50), statistics.median(p99), errors, " !!!" if errors or bad else ""))
print()
print("Median over %d rounds of the per-round figures; p50/p99 are per-request latencies" % max(len(v) for v in rows.values()))
print("(send to answer) seen by the client.  Load average per round: %s; at the end: %s." % (
    "; ".join(l for l in loads.split(";") if l) or "-", load_end))
print("Command: `%s`  (took %s s)" % (cmd, elapsed))
if loud:
    print()
    print("!!! ERRORS / UNEXPECTED ANSWERS -- these figures are NOT valid:")
    for l in loud:
        print("!!!   " + l)
    sys.exit(1)
EOF
rc=$?
echo
echo "What each server does per request:"
for s in "${ACTIVE[@]}"; do printf -- '- %s: %s\n' "$s" "${WORK[$s]}"; done
printf '%s' "$EXTRA"
exit $rc
