#!/usr/bin/env bash
# test-timeout: 300
# t_sentinel.sh -- Redis Sentinel: the milter and postinboxctl find the
# master by asking real sentinels (three `redis-server --sentinel`, the
# program Debian's redis-sentinel runs) with `redis =
# sentinel:USER@MASTER@HOST:PORT,...`, and redis_wait_replicas = 1 (each
# reservation WAITed for by a replica).  Through a real Postfix:
#   - sends through the master: each reservation is on the replica when
#     Postfix hears 250;
#   - the master killed (SIGKILL): while the sentinels still name it, 451
#     4.3.0 and nothing charged; once they promote the replica, the milter
#     is on it without a restart or a reload;
#   - the new master has no replica yet: WAIT falls short, 451 4.3.0, the
#     reservation given back (and the log says so);
#   - the old master back, demoted by the sentinels to a replica of the
#     new one: mail accepted again, sendsToday carries on from the count
#     before the failover (nothing lost, nothing twice);
#   - the daily cap holds across the failover: exactly the cap accepted;
#   - no master reachable: 451 4.3.0, the log says why, no password in it.
set -u
. "$(dirname "$0")/common.sh"
pi_require
pi_setup || exit 1
read -r R2 S1 S2 S3 API_PORT <<<"$(_svc_pick_ports 5)"
NL=$'\n'
MASTER=pimaster
ADMIN_PW=$(_svc_redis_admin_pass)
R1=$REDIS_PORT

cli() { REDISCLI_AUTH=$ADMIN_PW redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
scli() { redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }

# ---- a replica of the harness's Redis, and three sentinels ---------------------------------
(
    umask 077
    sed -e "s/^port .*/port $R2/" -e "s|^pidfile .*|pidfile $SVC_DIR/redis2.pid|" \
        -e "s|^logfile .*|logfile $SVC_DIR/redis2.log|" -e "s/^daemonize .*/daemonize no/" \
        -e "s|^dir .*|dir $SVC_DIR/r2|" "$SVC_DIR/redis.conf" >"$SVC_DIR/redis2.conf"
    mkdir -p "$SVC_DIR/r2"
    printf 'replicaof 127.0.0.1 %s\nmasteruser default\nmasterauth %s\n' "$R1" "$ADMIN_PW" >>"$SVC_DIR/redis2.conf"
)
redis-server "$SVC_DIR/redis2.conf" >/dev/null 2>&1 </dev/null &
svc_register_pid $!
for port in $S1 $S2 $S3; do
    mkdir -p "$SVC_DIR/s$port"
    cat >"$SVC_DIR/s$port/sentinel.conf" <<EOF
port $port
bind 127.0.0.1
daemonize no
dir $SVC_DIR/s$port
logfile $SVC_DIR/s$port/sentinel.log
sentinel monitor $MASTER 127.0.0.1 $R1 2
sentinel auth-user $MASTER default
sentinel auth-pass $MASTER $ADMIN_PW
sentinel down-after-milliseconds $MASTER 1000
sentinel failover-timeout $MASTER 6000
sentinel parallel-syncs $MASTER 1
EOF
    redis-server "$SVC_DIR/s$port/sentinel.conf" --sentinel >/dev/null 2>&1 </dev/null &
    svc_register_pid $!
done
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do "${@:2}" && return 0; sleep 0.1; done
    return 1
}
replica_up() { cli "$R2" INFO replication | grep -q '^master_link_status:up'; }
sentinels_ready() {
    local p
    for p in $S1 $S2 $S3; do
        scli "$p" SENTINEL ckquorum $MASTER | grep -q '^OK' || return 1
        [ "$(scli "$p" SENTINEL replicas $MASTER | grep -c "^$R2\$")" -ge 1 ] || return 1
    done
}
named() { scli "$1" SENTINEL get-master-addr-by-name $MASTER | tail -1; }
if wait_for 20 replica_up; then t_ok "a replica in sync with the master"; else t_fail "a replica in sync with the master"; fi
if wait_for 30 sentinels_ready; then t_ok "three sentinels agree on $MASTER and see its replica"
else t_fail "three sentinels agree on $MASTER and see its replica" "$(scli "$S1" SENTINEL ckquorum $MASTER)"; fi

# ---- the milter through the sentinels -------------------------------------------------------
pi_stop_milter
pi_write_conf "redis = sentinel:postinbox@$MASTER@127.0.0.1:$S1,127.0.0.1:$S2,127.0.0.1:$S3" "redis_wait_replicas = 1" \
    "api_listen = 127.0.0.1:$API_PORT"
pi_start_milter || exit 1
pi_start_policyd || exit 1
API=http://127.0.0.1:$API_PORT
t_match "the milter starts on the master the sentinels name" "Redis ok" "$(head -3 "$(pi_milter_log)")"
out=$("$PI_MILTER" -c "$PI_CONF" -n 2>&1)
t_match "-n shows the sentinel form" "(^|$NL)redis = sentinel:postinbox@$MASTER@127.0.0.1:$S1,127.0.0.1:$S2,127.0.0.1:$S3($NL|$)" "$out"

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --daily-limit 6 --burst-limit 1000)"
AUTH=(-a PLAIN -au alice@example.test -ap secret)
pi_ctl login grant --inbox "$BOB_ID" --login alice@example.test >/dev/null
pi_clear_of_midnight 60
send() { smtp_send "${AUTH[@]}" --from "$BOB" --to "friend$1@remote.test" --header "Subject: s$1"; }
day=$(pi_day)
for i in 1 2 3; do
    r=$(send "$i")
    t_match "send $i through the master: 250" '^250 ' "$r"
    t_eq "send $i: its reservation is on the replica as Postfix hears 250" "$i" \
        "$(cli "$R2" HGET "pi:{$BOB_ID}:daily" "$day")"
done
t_eq "postinboxctl through the sentinels: sendsToday 3" 3 "$(pi_ctl --json inbox show "$BOB_ID" | json_get sendsToday)"
KA=$(pi_ctl --json apikey create --account "$A" --name admin | json_get key)
api_sends() { curl -s -m 5 -H "x-api-key: $KA" "$API/v1/inboxes/$BOB_ID" | json_get sendsToday; }
t_eq "postinbox-policyd's API through the sentinels: sendsToday 3" 3 "$(api_sends)"

# ---- failover -------------------------------------------------------------------------------
kill -KILL "$(cat "$SVC_DIR/redis.pid")"
r=$(send 4)
t_match "master killed, not yet replaced: 451 4.3.0" '^451 4\.3\.0 ' "$r"
t_match "the milter names the master it could not reach" "no reachable master $MASTER .*127.0.0.1:$R1 \(named by a sentinel\)" \
    "$(grep -E 'redis' "$(pi_milter_log)" | tail -3)"
t0=$SECONDS
promoted() { [ "$(named "$S1")" = "$R2" ] && cli "$R2" ROLE | head -1 | grep -qx master; }
if wait_for 30 promoted; then t_ok "the sentinels promote the replica ($((SECONDS - t0)) s)"
else t_fail "the sentinels promote the replica" "$(named "$S1")"; fi
REDIS_PORT=$R2   # the harness's Redis helpers: the new master
t_eq "nothing lost in the failover: the new master holds the 3 sends" 3 "$(pi_redis_sends "$BOB_ID")"

# the new master has no replica: redis_wait_replicas = 1 cannot be met
r=$(send 5)
t_match "on the new master, no replica to confirm: 451 4.3.0" '^451 4\.3\.0 ' "$r"
t_eq "and the reservation is given back: sendsToday still 3" 3 "$(pi_redis_sends "$BOB_ID")"
t_match "the milter says why" "reached 0 of 1 replicas" "$(tail -5 "$(pi_milter_log)")"

# the old master back: the sentinels make it a replica of the new one
printf 'masteruser default\nmasterauth %s\n' "$ADMIN_PW" >>"$SVC_DIR/redis.conf"
rm -f "$SVC_DIR/redis.pid"
redis-server "$SVC_DIR/redis.conf" >/dev/null 2>&1 </dev/null
# Demoted once the new master counts it as an online replica that has
# acknowledged the master's offset (what WAIT counts), not only once the
# replica says its link is up.
demoted() {
    cli "$R1" INFO replication | grep -q "^master_port:$R2" &&
    cli "$R1" INFO replication | grep -q '^master_link_status:up' &&
    cli "$R2" INFO replication | tr -d '\r' | awk -F'[:,=]' '
        /^master_repl_offset:/ { off = $2 }
        /^slave0:/ { for (i = 1; i < NF; i++) { if ($i == "state") st = $(i + 1); if ($i == "offset") so = $(i + 1) } }
        END { exit !(st == "online" && so == off) }' &&
    # and WAIT, as the milter issues it after a write, counts it
    [ "$(printf 'SET pi:test:wait 1\nWAIT 1 200\n' | cli "$R2" | tail -1)" = 1 ]
}
if wait_for 30 demoted; then t_ok "the old master rejoins as a replica of the new one, counted by WAIT"
else t_fail "the old master rejoins as a replica of the new one" "$(cli "$R1" INFO replication | head -5)"; fi
r=$(send 6)
t_match "a replica again: 250, with no restart or reload of the milter" '^250 ' "$r"
t_eq "sendsToday 4: the three before the failover and this one" 4 "$(pi_redis_sends "$BOB_ID")"
t_eq "the reservation is on the rejoined replica" 4 "$(cli "$R1" HGET "pi:{$BOB_ID}:daily" "$day")"
t_eq "postinboxctl finds the new master: sendsToday 4" 4 "$(pi_ctl --json inbox show "$BOB_ID" | json_get sendsToday)"
t_eq "postinbox-policyd's API follows the new master, no restart: sendsToday 4" 4 "$(api_sends)"

# ---- the cap across the failover ------------------------------------------------------------
replies=""
for i in 7 8 9 10; do replies+="$(send "$i")"$'\n'; done
t_eq "daily cap 6 across the failover: 2 more accepted" 2 "$(grep -c '^250 ' <<<"$replies")"
t_eq "then the daily cap's 451 4.7.1" 2 "$(grep -c '^451 4\.7\.1 ' <<<"$replies")"
t_eq "sendsToday 6, the cap" 6 "$(pi_redis_sends "$BOB_ID")"

# ---- no master at all -----------------------------------------------------------------------
cli "$R1" SHUTDOWN NOSAVE >/dev/null
cli "$R2" SHUTDOWN NOSAVE >/dev/null
gone() { ! _svc_port_open "$R1" && ! _svc_port_open "$R2"; }
wait_for 5 gone
read -r CAROL_ID CAROL <<<"$(pi_inbox "$A" carol)"
pi_ctl login grant --inbox "$CAROL_ID" --login alice@example.test >/dev/null
r=$(smtp_send "${AUTH[@]}" --from "$CAROL" --to x@remote.test --header "Subject: none")
t_match "no master: 451 4.3.0" '^451 4\.3\.0 ' "$r"
t_match "no master: the log says no master is reachable" "no reachable master $MASTER" \
    "$(tail -3 "$(pi_milter_log)")"
# postinboxctl still shows the inbox from PostgreSQL; the counts it cannot
# read are null, not 0, and it says why.
out=$(pi_ctl --json inbox show "$CAROL_ID" 2>"$SVC_DIR/ctl.err")
t_match "postinboxctl with no master: the inbox from PostgreSQL, sendsToday null" \
    '"sendsToday": null' "$? $out"
t_match "postinboxctl with no master: says no master is reachable" \
    "no reachable master $MASTER .*sendsToday shown as null" "$(cat "$SVC_DIR/ctl.err")"
if grep -q "$(head -1 "$PI_REDIS_PASSWORD_FILE")" "$(pi_milter_log)"; then t_fail "no password in the milter's log"
else t_ok "no password in the milter's log"; fi

t_summary
