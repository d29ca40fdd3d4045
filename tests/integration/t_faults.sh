#!/usr/bin/env bash
# t_faults.sh -- backends that die or hang.  Redis killed or frozen:
# outbound mail gets 451 4.3.0 within the deadline, inbound keeps flowing,
# and it recovers by itself.  PostgreSQL stopped or frozen: 451 4.3.0, no
# record, no charge; a record that fails at end of message refunds.
set -u
. "$(dirname "$0")/common.sh"
pi_setup

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)

# Sends today straight from Redis (postinboxctl needs PostgreSQL too).
redis_sends() {
    local day
    day=$(( $(svc_redis_cli TIME | head -n 1) / 86400 ))
    local v
    v=$(svc_redis_cli HGET "pi:{$BOB_ID}:daily" "$day")
    echo "${v:-0}"
}
rows() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BOB_ID'"; }
pg_pids() { pgrep -u postgres -f "$SVC_DIR/pg" ; pgrep -u postgres -P "$(head -n 1 "$SVC_DIR/pg/postmaster.pid")"; }

r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to ok1@remote.test)
t_match "baseline outbound send" '^250 ' "$r"

# --- Redis killed ------------------------------------------------------------
svc_kill_redis
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to r1@remote.test)
t_match "Redis killed: outbound gets 451 4.3.0" '^451 4\.3\.0 ' "$r"
r=$(smtp_send --from ext@remote.test --to "$BOB" --header "Subject: while redis is down")
t_match "Redis killed: inbound mail keeps flowing" '^250 ' "$r"
t_eq "Redis killed: the inbound message is recorded" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE subject = 'while redis is down'")"
t_eq "Redis killed: no outbound record for the refused send" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND direction = 'outbound'")"
svc_start_redis
sleep 0.3
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to r2@remote.test)
t_match "Redis back: outbound recovers by itself" '^250 ' "$r"

# --- Redis frozen (SIGSTOP): the deadline answers, not the hang ---------------
rpid=$(cat "$SVC_DIR/redis.pid")
kill -STOP "$rpid"
start=$(date +%s%N)
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to r3@remote.test)
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "$rpid"
t_match "Redis frozen: 451 4.3.0" '^451 4\.3\.0 ' "$r"
(( elapsed_ms < 5000 )) && t_ok "Redis frozen: answered within the deadline (${elapsed_ms} ms)" \
    || t_fail "Redis frozen: answered within the deadline" "${elapsed_ms} ms"
sleep 0.5
before=$(redis_sends)
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to r4@remote.test)
t_match "Redis thawed: outbound recovers" '^250 ' "$r"
t_eq "Redis thawed: that send is charged once" "$((before + 1))" "$(redis_sends)"

# --- PostgreSQL stopped --------------------------------------------------------
rows_before=$(rows)
sends_before=$(redis_sends)
svc_stop_pg
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to p1@remote.test)
t_match "PostgreSQL stopped: outbound 451 4.3.0" '^451 4\.3\.0 ' "$r"
r=$(smtp_send --from ext@remote.test --to "$BOB")
t_match "PostgreSQL stopped: inbound 451 4.3.0" '^451 4\.3\.0 ' "$r"
t_eq "PostgreSQL stopped: nothing charged" "$sends_before" "$(redis_sends)"
svc_start_pg_again
sleep 0.5
t_eq "PostgreSQL stopped: nothing recorded" "$rows_before" "$(rows)"
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to p2@remote.test)
t_match "PostgreSQL back: recovers by itself" '^250 ' "$r"

# --- PostgreSQL dies between RCPT (reserved) and end of message ----------------
sends_before=$(redis_sends)
rows_before=$(rows)
sed -e "s/@PORT@/$MILTER_PORT/" -e "s/@FROM@/$BOB/" "$PI_SRCDIR/tests/miltertest/slow_eom.lua" > "$SVC_DIR/slow.lua"
miltertest -s "$SVC_DIR/slow.lua" > "$SVC_DIR/slow.out" 2>&1 &
mtpid=$!
for _ in $(seq 1 50); do grep -q reserved "$SVC_DIR/slow.out" && break; sleep 0.1; done
t_eq "mid-transaction: the RCPT was reserved" "$((sends_before + 1))" "$(redis_sends)"
svc_stop_pg
wait "$mtpid"
t_match "mid-transaction: end of message tempfails when the record cannot be written" 'result refused' \
    "$(cat "$SVC_DIR/slow.out")"
t_eq "mid-transaction: the reservation was refunded" "$sends_before" "$(redis_sends)"
svc_start_pg_again
sleep 0.3
t_eq "mid-transaction: no record was written" "$rows_before" "$(rows)"

# --- PostgreSQL frozen (SIGSTOP) -------------------------------------------------
# Warm the pool, then freeze every process of the instance.
smtp_send --from ext@remote.test --to "$BOB" >/dev/null
mapfile -t pids < <(pg_pids | sort -u)
kill -STOP "${pids[@]}"
start=$(date +%s%N)
r=$(smtp_send --from ext@remote.test --to "$BOB")
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
kill -CONT "${pids[@]}"
t_match "PostgreSQL frozen: 451 4.3.0" '^451 4\.3\.0 ' "$r"
(( elapsed_ms < 5000 )) && t_ok "PostgreSQL frozen: answered within the deadline (${elapsed_ms} ms)" \
    || t_fail "PostgreSQL frozen: answered within the deadline" "${elapsed_ms} ms"
sleep 0.5
r=$(smtp_send --from ext@remote.test --to "$BOB")
t_match "PostgreSQL thawed: recovers" '^250 ' "$r"

kill -0 "$(pi_milter_pid)" && t_ok "the milter survived every fault" || t_fail "the milter survived every fault"
t_summary
