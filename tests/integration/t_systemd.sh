#!/usr/bin/env bash
# t_systemd.sh -- running under systemd: the daemons speak sd_notify(3)
# (lib/util/service_notify) to a real datagram socket named by
# NOTIFY_SOCKET, as systemd does for a Type=notify unit: READY=1 once their
# sockets accept (the receiver connects to them on READY) with the backend
# probe as STATUS, RELOADING=1 then READY=1 around a reload (a good and a
# broken one), WATCHDOG=1 every half of WATCHDOG_USEC (none when
# WATCHDOG_PID names another process), STOPPING=1 on SIGTERM; a start with
# Redis down is READY with the reason in STATUS.  Then the shipped units:
# systemd-analyze verify clean, and systemd-analyze security's exposure at
# most 2.0 (it was 8.5 before the hardening).  systemd is not PID 1 here:
# the units themselves are not started.
set -u
here=$(dirname "$0")
. "$here/common.sh"
pi_require --no-postfix --policyd
command -v systemd-analyze >/dev/null || { echo "SKIP: needs systemd-analyze"; exit 77; }
pi_setup --no-postfix --no-milter
read -r MP MP2 APORT <<<"$(_svc_pick_ports 3)"

# notify NAME [PORT...]: a receiver on $SVC_DIR/NAME.sock logging to $SVC_DIR/NAME.notify
notify() {
    /usr/bin/python3 "$here/notify_receiver.py" "$SVC_DIR/$1.sock" "$SVC_DIR/$1.notify" "${@:2}" &
    svc_register_pid $!
    for _ in $(seq 1 50); do [ -S "$SVC_DIR/$1.sock" ] && return 0; sleep 0.1; done
    return 1
}
# seen NAME REGEX [SECONDS]: waits until a line of NAME's log matches
seen() {
    local i
    for ((i = 0; i < ${3:-10} * 10; i++)); do
        grep -Eq "$2" "$SVC_DIR/$1.notify" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
lines() { grep -Ec "$2" "$SVC_DIR/$1.notify" 2>/dev/null; }

# ---- the milter ------------------------------------------------------------------------
notify milter "$MP" || exit 1
sed "s/^milter_socket = .*/milter_socket = inet:$MP@127.0.0.1/" "$PI_CONF" >"$SVC_DIR/m.conf"
NOTIFY_SOCKET=$SVC_DIR/milter.sock WATCHDOG_USEC=400000 "$PI_MILTER" -c "$SVC_DIR/m.conf" -f \
    >>"$SVC_DIR/milter-sd.log" 2>&1 &
M=$!; svc_register_pid $M
seen milter '^ports open$'
t_eq "milter: READY=1 with the backends' state, first" "READY=1|STATUS=PostgreSQL ok, Redis ok" \
    "$(grep -v '^listening$' "$SVC_DIR/milter.notify" | head -1)"
t_eq "milter: its socket accepted when it said READY" "ports open" "$(grep -m1 '^port' "$SVC_DIR/milter.notify")"
sleep 1.2
n=$(lines milter '^WATCHDOG=1$')
if [ "$n" -ge 4 ] && [ "$n" -le 9 ]; then t_ok "milter: WATCHDOG=1 every 200 ms ($n in 1.2 s)"
else t_fail "milter: WATCHDOG=1 every 200 ms" "$n in 1.2 s"; fi
kill -USR1 $M
seen milter 'STATUS=reloaded'
t_match "milter: SIGUSR1 gives RELOADING=1 with MONOTONIC_USEC, then READY=1 reloaded" \
    "RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1\|STATUS=reloaded" \
    "$(grep -E 'RELOADING|READY' "$SVC_DIR/milter.notify" | tail -2 | tr '\n' ' ')"
echo "backend_timeout_ms = soon" >>"$SVC_DIR/m.conf"
kill -USR1 $M
seen milter 'STATUS=reload failed'
t_match "milter: a broken reload is RELOADING=1, then READY=1 with the failure" \
    "RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1\|STATUS=reload failed, running the previous config" \
    "$(grep -E 'RELOADING|READY' "$SVC_DIR/milter.notify" | tail -2 | tr '\n' ' ')"
if _svc_alive $M; then t_ok "milter: still running after the broken reload"; else t_fail "milter: still running after the broken reload"; fi
kill -TERM $M; wait $M; rc=$?
t_eq "milter: SIGTERM, exit 0" 0 "$rc"
seen milter '^STOPPING=1$' 5
t_eq "milter: STOPPING=1 as it stops, and no WATCHDOG=1 after it" "STOPPING=1" "$(sed -n '/^STOPPING=1$/,$p' "$SVC_DIR/milter.notify" | tr '\n' ' ' | sed 's/ $//')"

# ---- a start with Redis down: ready, and says why ---------------------------------------------
notify degraded "$MP2" || exit 1
sed -e "s/^milter_socket = .*/milter_socket = inet:$MP2@127.0.0.1/" -e "s/^redis = .*/redis = 127.0.0.1:1/" \
    "$PI_CONF" >"$SVC_DIR/d.conf"
grep -q '^redis = 127.0.0.1:1$' "$SVC_DIR/d.conf" || echo "redis = 127.0.0.1:1" >>"$SVC_DIR/d.conf"
NOTIFY_SOCKET=$SVC_DIR/degraded.sock WATCHDOG_USEC=400000 WATCHDOG_PID=1 "$PI_MILTER" -c "$SVC_DIR/d.conf" -f \
    >>"$SVC_DIR/milter-degraded.log" 2>&1 &
DM=$!; svc_register_pid $DM
seen degraded '^ports open$'
t_match "Redis down at start: READY=1 all the same, STATUS names Redis" \
    "^READY=1\|STATUS=PostgreSQL ok, Redis unreachable: .*127.0.0.1:1" "$(grep -m1 READY "$SVC_DIR/degraded.notify")"
t_match "Redis down at start: logged as a warning" "starting on inet:$MP2@127.0.0.1 with a backend down" \
    "$(cat "$SVC_DIR/milter-degraded.log")"
sleep 0.8
t_eq "WATCHDOG_PID of another process: no WATCHDOG=1" 0 "$(lines degraded '^WATCHDOG=1$')"
kill -TERM $DM; wait $DM

# ---- postinbox-policyd ----------------------------------------------------------------------
notify policyd "$APORT" || exit 1
pi_write_conf "api_listen = 127.0.0.1:$APORT"
NOTIFY_SOCKET=$SVC_DIR/policyd.sock WATCHDOG_USEC=400000 "$PI_POLICYD" -c "$PI_CONF" -f >>"$SVC_DIR/policyd-sd.log" 2>&1 &
P=$!; svc_register_pid $P
seen policyd '^ports open$'
t_eq "policyd: READY=1 with the backends' state, first" "READY=1|STATUS=PostgreSQL ok, Redis ok" \
    "$(grep -v '^listening$' "$SVC_DIR/policyd.notify" | head -1)"
t_eq "policyd: its API socket accepted when it said READY" "ports open" "$(grep -m1 '^port' "$SVC_DIR/policyd.notify")"
t_match "policyd: the started line carries the same state" "started: webhooks .*; PostgreSQL ok, Redis ok" \
    "$(cat "$SVC_DIR/policyd-sd.log")"
sleep 1.2
n=$(lines policyd '^WATCHDOG=1$')
if [ "$n" -ge 4 ] && [ "$n" -le 9 ]; then t_ok "policyd: WATCHDOG=1 every 200 ms ($n in 1.2 s)"
else t_fail "policyd: WATCHDOG=1 every 200 ms" "$n in 1.2 s"; fi
kill -HUP $P
seen policyd 'STATUS=reloaded'
t_match "policyd: SIGHUP gives RELOADING=1, then READY=1 reloaded" \
    "RELOADING=1\|MONOTONIC_USEC=[0-9]+ READY=1\|STATUS=reloaded" \
    "$(grep -E 'RELOADING|READY' "$SVC_DIR/policyd.notify" | tail -2 | tr '\n' ' ')"
kill -TERM $P; wait $P; rc=$?
t_eq "policyd: SIGTERM, exit 0" 0 "$rc"
seen policyd '^STOPPING=1$' 5
t_eq "policyd: STOPPING=1 as it stops, and no WATCHDOG=1 after it" "STOPPING=1" "$(sed -n '/^STOPPING=1$/,$p' "$SVC_DIR/policyd.notify" | tr '\n' ' ' | sed 's/ $//')"

# ---- the units ---------------------------------------------------------------------------
U=$SVC_DIR/units; mkdir -p "$U"
for d in milter policyd; do
    sed "s|@sbindir@|$(dirname "$([ $d = milter ] && echo "$PI_MILTER" || echo "$PI_POLICYD")")|" \
        "$PI_SRCDIR/contrib/systemd/postinbox-$d.service.in" >"$U/postinbox-$d.service"
    out=$(cd "$U" && systemd-analyze verify --man=no "./postinbox-$d.service" 2>&1); rc=$?
    t_eq "postinbox-$d.service: systemd-analyze verify clean" "0 " "$rc $out"
    score=$(cd "$U" && systemd-analyze security --offline=true "./postinbox-$d.service" 2>&1 |
            sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }'; then
        t_ok "postinbox-$d.service: systemd-analyze security exposure $score (at most 2.0)"
    else
        t_fail "postinbox-$d.service: systemd-analyze security exposure at most 2.0" "${score:-none}"
    fi
    t_eq "postinbox-$d.service: Type=notify with a watchdog" "Type=notify WatchdogSec=30s" \
        "$(grep -E '^(Type|WatchdogSec)=' "$U/postinbox-$d.service" | tr '\n' ' ' | sed 's/ $//')"
done
t_summary
