#!/usr/bin/env bash
# test-timeout: 600
# t_webhooks_crash.sh -- at-least-once delivery of postinbox-policyd under
# crashes and with several daemons, against real PostgreSQL and the
# tests/webhook_receiver.py HTTP receiver on 127.0.0.1:
#   1. kill -9 of the daemon in the middle of a burst of 500 events, then a
#      restart: every event arrives (500 distinct webhook-ids), duplicates
#      carry the same webhook-id and data, and there are no more of them
#      than requests may be in flight (webhook_max_in_flight, which counts
#      a delivery from its claim until its result is committed), at most
#      5 % of the burst;
#   1b. the same while result writes are held up (webhook_attempt locked):
#      the daemon must not go on sending while results wait to be written,
#      so the duplicates stay within the same bound;
#   2. two daemons running together on 500 events: none lost, none twice
#      (FOR UPDATE SKIP LOCKED), and both did part of the work (each
#      delivered at least a tenth, by their debug logs);
#   3. two daemons, one killed -9 mid-burst and not restarted: the other one
#      delivers everything the dead one had leased (duplicates bounded too);
#   4. two daemons and a request that takes longer than the lease
#      (webhook_timeout above it): its lease is renewed while it is under
#      way, so the other daemon never sends it a second time.
# The events are written with SQL (INSERT ... generate_series); the fan-out
# trigger creates the deliveries.  The receiver answers each request after
# 20 ms and the daemons run with webhook_max_in_flight = 8, so a burst lasts
# about a second and the kill lands inside it.  No Postfix is needed.
set -u
. "$(dirname "$0")/common.sh"

RECEIVER=$PI_TESTDIR/../webhook_receiver.py
N=500
MAX_IN_FLIGHT=8
pi_require --no-postfix --no-milter --policyd
pi_setup --no-postfix --no-milter "webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" \
    "webhook_timeout = 2s" "webhook_retry_schedule = 0s,1s,1s,1s" "webhook_poll_interval = 1s" \
    "webhook_max_in_flight = $MAX_IN_FLIGHT"
BASE=http://127.0.0.1:$HTTP_PORT
HOOKS=$SVC_DIR/hooks.jsonl

hq() { python3 "$RECEIVER" query "$HOOKS" "$1"; }
# count_path PATH - requests so far under PATH (cheap: grep, for tight loops).
count_path() { grep -c "\"path\":\"$1\"" "$HOOKS" 2>/dev/null || true; }

kill9() {   # kill -9 and reap, without bash's "Killed" job notice on stderr
    {
        kill -KILL "$1"
        _svc_wait_gone 5 "$1"
        wait "$1"
    } 2>/dev/null
    return 0
}

# new_endpoint NAME PATH - an inbox NAME with one endpoint at PATH; sets
# INBOX_ID, INBOX and tells the receiver the secret.
new_endpoint() {
    read -r INBOX_ID INBOX <<<"$(pi_inbox "$ACCOUNT" "$1")"
    local secret
    secret="whsec_$(head -c 32 /dev/urandom | base64)"
    svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret)
              VALUES ('$ACCOUNT', '$INBOX_ID', '$BASE$2', '$secret')" >/dev/null
    SECRET_ARGS+=(--secret "${2%%\?*}=$secret")
}

# burst INBOX_ID - N events for the inbox in one statement.
burst() {
    svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload)
              SELECT '$1', 'message.received',
                     jsonb_build_object('inboxId', '$1', 'address', '$INBOX', 'subject', 'burst ' || g, 'seq', g)
                FROM generate_series(1, $N) g"
}

# wait_distinct PATH SECONDS - until N distinct webhook-ids arrived under PATH.
wait_distinct() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -le $deadline ]; do
        [ "$(hq "len(set(ids(under('$1'))))")" -ge "$N" ] && return 0
        sleep 0.5
    done
    return 1
}

# check_phase NAME PATH INBOX_ID - the at-least-once checks of one phase and
# the duplicate report, once no delivery of the inbox is pending any more
# (rows a killed daemon had leased come back when the lease runs out, and
# are then delivered again: those are the duplicates).  Sets DUPS.
check_phase() {
    local name=$1 path=$2 inbox=$3 stats deadline=$((SECONDS + 90))
    while [ "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$inbox' AND status = 'pending'")" != 0 ] &&
        [ $SECONDS -lt $deadline ]; do
        sleep 0.5
    done
    sleep 0.5    # a result is recorded after the receiver answered
    t_eq "$name: every one of the $N events arrived (distinct webhook-ids)" "$N" "$(hq "len(set(ids(under('$path'))))")"
    t_eq "$name: every webhook-id is the id of one of these events" "[]" \
        "$(EVENTS=$(svc_psql "SELECT json_agg(id) FROM postinbox.event WHERE inbox_id = '$inbox'") \
           hq "sorted(set(ids(under('$path'))) - set(json.loads(env['EVENTS'])))")"
    t_eq "$name: every delivery row is delivered" "$N" \
        "$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$inbox' AND status = 'delivered'")"
    t_eq "$name: every request carried a valid signature" 0 "$(hq "sum(1 for r in under('$path') if not r['verified'])")"
    t_eq "$name: a repeated webhook-id always carries the same data" 0 \
        "$(hq "sum(1 for rs in by_id(under('$path')).values() if len(set(json.dumps(r['json']['data'], sort_keys=True) for r in rs)) > 1)")"
    stats=$(hq "(lambda rs: '%d requests, %d distinct webhook-ids, %d duplicates (%d events delivered more than once)' % (len(rs), len(set(ids(rs))), len(rs) - len(set(ids(rs))), sum(1 for c in Counter(ids(rs)).values() if c > 1)))(under('$path'))")
    DUPS=$(hq "len(under('$path')) - len(set(ids(under('$path'))))")
    echo "# $name: $stats"
    [ "$DUPS" -gt 0 ] && echo "# $name: duplicated webhook-ids (first 5): $(hq "[i for i, c in Counter(ids(under('$path'))).most_common(5) if c > 1]")"
    return 0
}

# dup_bound NAME - after check_phase: the duplicates ($DUPS) are at most
# the requests that may be in flight, and at most 5 % of the burst.
dup_bound() {
    local pct
    pct=$(python3 -c "print('%.1f' % (100.0 * $DUPS / $N))")
    echo "# $1: duplicates $DUPS of $N = $pct % (bound: webhook_max_in_flight = $MAX_IN_FLIGHT, and 5 %)"
    if [ "$DUPS" -le "$MAX_IN_FLIGHT" ] && [ $((DUPS * 100)) -le $((N * 5)) ]; then
        t_ok "$1: duplicates within the requests in flight ($DUPS <= $MAX_IN_FLIGHT, $pct % <= 5 %)"
    else
        t_fail "$1: duplicates within the requests in flight" "$DUPS duplicates ($pct %), bound $MAX_IN_FLIGHT and 5 %"
    fi
}

# redelivered PATH - when the duplicates arrived, relative to $KILLED_T.
redelivered() {
    hq "(lambda d: 'duplicates arrived %.1f-%.1f s after the kill' % (min(d), max(d)) if d else 'no duplicates')(
        [rs[-1]['t'] - $KILLED_T for rs in by_id(under('$1')).values() if len(rs) > 1])"
}

svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        for f in "$SVC_DIR"/policyd-*.log "$SVC_DIR/receiver.log"; do
            [ -s "$f" ] || continue
            echo "---- $f (last 30 lines)" >&2
            tail -30 "$f" >&2
        done
    fi
}

ACCOUNT=$(pi_account "Crash" crash)
SECRET_ARGS=()
new_endpoint crash "/ok/crash?delay_ms=20"; CRASH_ID=$INBOX_ID; CRASH=$INBOX
new_endpoint pair "/ok/pair?delay_ms=20"; PAIR_ID=$INBOX_ID; PAIR=$INBOX
new_endpoint pairkill "/ok/pairkill?delay_ms=20"; PAIRKILL_ID=$INBOX_ID; PAIRKILL=$INBOX
new_endpoint slowrec "/ok/slowrec?delay_ms=20"; SLOWREC_ID=$INBOX_ID; SLOWREC=$INBOX
new_endpoint long "/ok/long?delay_ms=11000"; LONG_ID=$INBOX_ID

python3 "$RECEIVER" --port "$HTTP_PORT" --log "$HOOKS" "${SECRET_ARGS[@]}" --max-lifetime 900 \
    >>"$SVC_DIR/receiver.log" 2>&1 &
svc_register_pid $!
for ((i = 0; i < 100; i++)); do _svc_port_open "$HTTP_PORT" && break; sleep 0.05; done

# --- 1. kill -9 mid-burst, restart ------------------------------------------------

pi_start_policyd "$PI_CONF" "$SVC_DIR/policyd-one.log" || { t_fail "postinbox-policyd starts"; t_summary; exit 1; }
INBOX=$CRASH
burst "$CRASH_ID"
deadline=$((SECONDS + 30))
while [ "$(count_path /ok/crash)" -lt 100 ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
kill9 "$PD"
KILLED_AT=$SECONDS KILLED_T=$(date +%s.%N)
AT_KILL=$(count_path /ok/crash)
PENDING=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$CRASH_ID' AND status = 'pending'")
LEASED=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$CRASH_ID' AND status = 'pending' AND lease_until > now()")
echo "# kill -9 after $AT_KILL requests; $PENDING deliveries pending, $LEASED of them leased by the dead daemon"
if [ "$AT_KILL" -ge 1 ] && [ "$PENDING" -ge 1 ]; then
    t_ok "kill -9 landed mid-burst ($AT_KILL of $N requests made, $PENDING pending)"
else
    t_fail "kill -9 landed mid-burst" "$AT_KILL requests made, $PENDING pending"
fi
sleep 1
pi_start_policyd "$PI_CONF" "$SVC_DIR/policyd-two.log" || t_fail "postinbox-policyd restarts after kill -9"
wait_distinct /ok/crash 120
check_phase "kill -9 + restart" /ok/crash "$CRASH_ID"
dup_bound "kill -9 + restart"
echo "# kill -9 + restart: every delivery settled within $((SECONDS - KILLED_AT)) s of the kill (restart after 1 s); $(redelivered /ok/crash)"
pi_stop_policyd "$PD"

# --- 1b. kill -9 while result writes are held up ----------------------------------

# A session holds webhook_attempt in SHARE mode (reads go on, the result
# statement's INSERT waits and runs into its deadline): the database is
# slow to take results.  Requests may go on only as far as
# webhook_max_in_flight allows, counting the results still unwritten.
pi_start_policyd "$PI_CONF" "$SVC_DIR/policyd-slowrec.log" || t_fail "postinbox-policyd starts (1b)"
INBOX=$SLOWREC
burst "$SLOWREC_ID"
deadline=$((SECONDS + 30))
while [ "$(count_path /ok/slowrec)" -lt 50 ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
PGAPPNAME=t_crash_lock svc_psql "BEGIN; LOCK TABLE postinbox.webhook_attempt IN SHARE MODE; SELECT pg_sleep(60); COMMIT" \
    >/dev/null 2>&1 &
LOCK_PID=$!
svc_register_pid "$LOCK_PID"
for ((i = 0; i < 100; i++)); do
    [ "$(svc_psql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                   WHERE a.application_name = 't_crash_lock' AND l.granted AND l.mode = 'ShareLock'")" = 1 ] && break
    sleep 0.05
done
AT_LOCK=$(count_path /ok/slowrec)
sleep 1.5
kill9 "$PD"
KILLED_AT=$SECONDS KILLED_T=$(date +%s.%N)
AT_KILL=$(count_path /ok/slowrec)
svc_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 't_crash_lock'" >/dev/null
wait "$LOCK_PID" 2>/dev/null
PENDING=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$SLOWREC_ID' AND status = 'pending'")
echo "# 1b: $AT_LOCK requests when result writes were held up, $AT_KILL at the kill 1.5 s later; $PENDING pending"
if [ "$AT_KILL" -ge 1 ] && [ "$PENDING" -ge 1 ] && [ "$AT_KILL" -lt "$N" ]; then
    t_ok "1b: kill -9 landed mid-burst while results waited ($AT_KILL of $N requests made, $PENDING pending)"
else
    t_fail "1b: kill -9 landed mid-burst while results waited" "$AT_KILL requests made, $PENDING pending"
fi
sleep 1
pi_start_policyd "$PI_CONF" "$SVC_DIR/policyd-slowrec-two.log" || t_fail "postinbox-policyd restarts after kill -9 (1b)"
wait_distinct /ok/slowrec 120
check_phase "kill -9 with results held up" /ok/slowrec "$SLOWREC_ID"
dup_bound "kill -9 with results held up"
echo "# kill -9 with results held up: every delivery settled within $((SECONDS - KILLED_AT)) s of the kill; $(redelivered /ok/slowrec)"
pi_stop_policyd "$PD"

# --- 2. two daemons together ---------------------------------------------------

# At log_level debug each daemon logs every delivery it made ("result=delivered").
sed 's/^log_level = .*/log_level = debug/' "$PI_CONF" >"$SVC_DIR/pair.conf"
pi_start_policyd "$SVC_DIR/pair.conf" "$SVC_DIR/policyd-pair-a.log"; PA=$PD
pi_start_policyd "$SVC_DIR/pair.conf" "$SVC_DIR/policyd-pair-b.log"; PB=$PD
INBOX=$PAIR
# Which daemons hold connections to the receiver during the burst.
( for ((i = 0; i < 100; i++)); do ss -Htnp "dst 127.0.0.1:$HTTP_PORT" 2>/dev/null; sleep 0.05; done ) >"$SVC_DIR/ss.pair" &
SS_PID=$!
burst "$PAIR_ID"
wait_distinct /ok/pair 60
wait "$SS_PID" 2>/dev/null
check_phase "two daemons" /ok/pair "$PAIR_ID"
t_eq "two daemons without a crash: no event delivered twice" 0 "$DUPS"
seen=0
for p in "$PA" "$PB"; do grep -q "pid=$p," "$SVC_DIR/ss.pair" && seen=$((seen + 1)); done
echo "# two daemons: $seen of 2 seen connected to the receiver during the burst"
# Both daemons did part of the work: each delivered some of the N, and
# together they delivered each once.
PAIR_EP=$(svc_psql "SELECT id FROM postinbox.webhook_endpoint WHERE inbox_id = '$PAIR_ID'")
by_a=$(grep -c "endpoint=$PAIR_EP .*result=delivered" "$SVC_DIR/policyd-pair-a.log")
by_b=$(grep -c "endpoint=$PAIR_EP .*result=delivered" "$SVC_DIR/policyd-pair-b.log")
echo "# two daemons: $by_a delivered by one, $by_b by the other"
t_eq "two daemons: together they delivered each event once ($by_a + $by_b)" "$N" "$((by_a + by_b))"
if [ "$by_a" -ge $((N / 10)) ] && [ "$by_b" -ge $((N / 10)) ]; then
    t_ok "two daemons shared the work: each delivered at least a tenth ($by_a and $by_b of $N)"
else
    t_fail "two daemons shared the work: each delivered at least a tenth" "$by_a and $by_b of $N"
fi

# --- 3. two daemons, one killed mid-burst -----------------------------------------

INBOX=$PAIRKILL
burst "$PAIRKILL_ID"
deadline=$((SECONDS + 30))
while [ "$(count_path /ok/pairkill)" -lt 100 ] && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
kill9 "$PA"
KILLED_AT=$SECONDS KILLED_T=$(date +%s.%N)
AT_KILL=$(count_path /ok/pairkill)
PENDING=$(svc_psql "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$PAIRKILL_ID' AND status = 'pending'")
echo "# killed one of two daemons after $AT_KILL requests; $PENDING deliveries pending"
if [ "$AT_KILL" -ge 1 ] && [ "$PENDING" -ge 1 ]; then
    t_ok "kill -9 of one daemon landed mid-burst ($AT_KILL of $N requests made)"
else
    t_fail "kill -9 of one daemon landed mid-burst" "$AT_KILL requests made, $PENDING pending"
fi
wait_distinct /ok/pairkill 120
check_phase "one of two killed" /ok/pairkill "$PAIRKILL_ID"
dup_bound "one of two killed"
echo "# one of two killed: every delivery settled within $((SECONDS - KILLED_AT)) s of the kill; $(redelivered /ok/pairkill)"
if _svc_alive "$PB"; then t_ok "the surviving daemon is still running"; else t_fail "the surviving daemon is still running"; fi
pi_stop_policyd "$PB"

# --- 4. a request longer than the lease, two daemons ---------------------------------

# A lease is 2 s + 3 x backend_timeout (5 s here); webhook_timeout 15 s
# lets the receiver take 11 s.  While the request is under way its lease is
# renewed, so the other daemon, polling every second, never claims it.
sed 's/^webhook_timeout = .*/webhook_timeout = 15s/' "$PI_CONF" >"$SVC_DIR/long.conf"
pi_start_policyd "$SVC_DIR/long.conf" "$SVC_DIR/policyd-long-a.log"; PA=$PD
pi_start_policyd "$SVC_DIR/long.conf" "$SVC_DIR/policyd-long-b.log"; PB=$PD
svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload)
          VALUES ('$LONG_ID', 'message.received', jsonb_build_object('inboxId', '$LONG_ID', 'subject', 'long'))" >/dev/null
deadline=$((SECONDS + 15))
while [ "$(count_path /ok/long)" -lt 1 ] && [ $SECONDS -lt $deadline ]; do sleep 0.1; done
sleep 10     # two leases (5 s) past, the request still under way
t_eq "a request longer than the lease is sent once (the other daemon did not take it)" 1 "$(count_path /ok/long)"
deadline=$((SECONDS + 20))
while [ "$(svc_psql "SELECT status FROM postinbox.webhook_delivery WHERE inbox_id = '$LONG_ID'")" != delivered ] &&
    [ $SECONDS -lt $deadline ]; do
    sleep 0.2
done
t_eq "the long request's delivery is recorded delivered after its 2xx" delivered \
    "$(svc_psql "SELECT status FROM postinbox.webhook_delivery WHERE inbox_id = '$LONG_ID'")"
t_eq "the long request: one attempt row" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.webhook_attempt WHERE inbox_id = '$LONG_ID'")"
t_eq "the long request: still one request at the receiver" 1 "$(count_path /ok/long)"
pi_stop_policyd "$PA"
pi_stop_policyd "$PB"
t_summary
