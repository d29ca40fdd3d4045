#!/usr/bin/env bash
# redis-wait-cost.sh -- what redis_wait_replicas = 1 costs per RCPT: real
# Postfix + postinbox-milter + the harness's Redis with one replica on
# loopback; rounds alternate redis_wait_replicas = 0 and 1 (a reload in
# between, so both run the same process), N messages of one recipient each,
# PAR at a time; the figure is the milter's own time for the RCPT decision
# (the us= of its stage=rcpt lines: lookup, reservation, and WAIT when set).
# Not a test: prints figures.  Bounded: RUNS x 2 x N messages.
#   N=200 PAR=4 RUNS=3 bash tests/bench/redis-wait-cost.sh
set -u
. "$(dirname "$0")/../integration/common.sh"
. "$(dirname "$0")/stats.sh"
N=${N:-200}
PAR=${PAR:-4}
RUNS=${RUNS:-3}
pi_setup || exit 1
read -r R2 <<<"$(_svc_pick_ports 1)"
ADMIN_PW=$(_svc_redis_admin_pass)
sed -e "s/^port .*/port $R2/" -e "s|^pidfile .*|pidfile $SVC_DIR/redis2.pid|" \
    -e "s|^logfile .*|logfile $SVC_DIR/redis2.log|" -e "s/^daemonize .*/daemonize no/" "$SVC_DIR/redis.conf" \
    >"$SVC_DIR/redis2.conf"
printf 'replicaof 127.0.0.1 %s\nmasteruser default\nmasterauth %s\n' "$REDIS_PORT" "$ADMIN_PW" >>"$SVC_DIR/redis2.conf"
mkdir -p "$SVC_DIR/r2" && sed -i "s|^dir .*|dir $SVC_DIR/r2|" "$SVC_DIR/redis2.conf"
redis-server "$SVC_DIR/redis2.conf" >/dev/null 2>&1 </dev/null &
svc_register_pid $!
for _ in $(seq 1 100); do
    REDISCLI_AUTH=$ADMIN_PW redis-cli -p "$R2" INFO replication 2>/dev/null | grep -q '^master_link_status:up' && break
    sleep 0.1
done
A=$(pi_account "Bench" bench)
AUTH=(-a PLAIN -au alice@example.test -ap secret)
LOG=$(pi_milter_log)
reload_with() {  # reload_with WAIT
    local before
    before=$(grep -c 'reloaded' "$LOG")
    pi_write_conf "redis_wait_replicas = $1"
    kill -USR1 "$(pi_milter_pid)"
    for _ in $(seq 1 100); do [ "$(grep -c 'reloaded' "$LOG")" -gt "$before" ] && return 0; sleep 0.05; done
    echo "reload did not happen" >&2
    exit 1
}
# round WAIT: prints the us= of this round's RCPT decisions, one per line
round() {
    local from id mark
    read -r id from <<<"$(pi_inbox "$A" "w$1r$2" --daily-limit 100000 --burst-limit 100000)"
    pi_ctl login grant --inbox "$id" --login alice@example.test >/dev/null
    mark=$(wc -l <"$LOG")
    send_many "$N" "$PAR" "$from" | grep -vc '^250 ' >"$SVC_DIR/refused.$1.$2"
    tail -n +"$((mark + 1))" "$LOG" | grep 'stage=rcpt' | grep "inbox=$from" | sed -n 's/.* us=\([0-9]*\).*/\1/p'
}
: >"$SVC_DIR/us.0"
: >"$SVC_DIR/us.1"
echo "# $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg); N=$N PAR=$PAR RUNS=$RUNS"
printf '%-6s %-22s %8s %8s %8s %8s\n' round redis_wait_replicas p50_us p99_us mean_us refused
for r in $(seq 1 "$RUNS"); do
    for w in 0 1; do
        reload_with "$w"
        round "$w" "$r" >"$SVC_DIR/round"
        cat "$SVC_DIR/round" >>"$SVC_DIR/us.$w"
        read -r p50 p99 mean _ <<<"$(bench_stats <"$SVC_DIR/round")"
        printf '%-6s %-22s %8s %8s %8s %8s\n' "$r" "$w" "$p50" "$p99" "$mean" "$(cat "$SVC_DIR/refused.$w.$r")"
    done
done
read -r a50 a99 amean _ <<<"$(bench_stats <"$SVC_DIR/us.0")"
read -r b50 b99 bmean _ <<<"$(bench_stats <"$SVC_DIR/us.1")"
printf '%-6s %-22s %8s %8s %8s\n' all 0 "$a50" "$a99" "$amean"
printf '%-6s %-22s %8s %8s %8s\n' all 1 "$b50" "$b99" "$bmean"
awk -v a="$a50" -v b="$b50" -v c="$a99" -v d="$b99" 'BEGIN { printf "ratio wait/no wait: p50 %.2f, p99 %.2f\n", b / a, d / c }'
echo "Command: N=$N PAR=$PAR RUNS=$RUNS bash tests/bench/redis-wait-cost.sh"
