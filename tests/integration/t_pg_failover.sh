#!/usr/bin/env bash
# test-timeout: 300
# t_pg_failover.sh -- PostgreSQL failover to a streaming standby: the
# harness's PostgreSQL is the primary, a real standby is made of it with
# pg_basebackup and streams from it as a synchronous standby
# (synchronous_standby_names on the primary, synchronous_commit = on for
# the daemons' role), and the milter, postinbox-policyd (webhooks, log
# follower, API) and postinboxctl are configured with the libpq multi-host
# string `host=127.0.0.1,127.0.0.1 port=P1,P2 target_session_attrs=read-write`.
# Through a real Postfix:
#   - sends through the primary: 250, each message's row and events on the
#     standby too (the commit waited for it), webhooks and delivered events;
#   - the primary stopped (immediate shutdown: a crash) and the standby
#     promoted: while no primary answers, 451 4.3.0 and nothing charged;
#     then, with no restart or reload, the milter records on the new
#     primary, the webhook outbox delivers from it, the log follower
#     records delivery there and the API answers from it, each within a
#     bounded time (the test prints them);
#   - nothing accepted before the failover is lost: every message Postfix
#     was told 250 for, its events and its webhooks, on the new primary;
#     sendsToday counts every accepted send once.
set -u
. "$(dirname "$0")/common.sh"
pi_require_follower
pi_setup || exit 1
read -r P2 API_PORT <<<"$(_svc_pick_ports 2)"
P1=$PG_PORT
BIN=$(_svc_pg_bindir)
RECEIVER=$PI_TESTDIR/../webhook_receiver.py
MAILLOG=$(svc_maillog)

# ---- a streaming standby, synchronous --------------------------------------------------------
superpw=$(awk -F: -v p="$P1" '$2 == p && $4 == "postgres" { print $5 }' "$PGPASSFILE")
apppw=$(awk -F: -v p="$P1" '$2 == p && $4 == "postinbox_app" { print $5 }' "$PGPASSFILE")
(
    umask 077
    printf '127.0.0.1:%s:*:postgres:%s\n' "$P1" "$superpw" "$P2" "$superpw" >"$SVC_DIR/pgpass.repl"
    printf '127.0.0.1:%s:*:postgres:%s\n' "$P2" "$superpw" >>"$PGPASSFILE"
    printf '127.0.0.1:%s:*:postinbox_app:%s\n' "$P2" "$apppw" >>"$SVC_DIR/pgpass.app"
)
chown postgres "$SVC_DIR/pgpass.repl"
mkdir -p "$SVC_DIR/pg2" && chown postgres: "$SVC_DIR/pg2" && chmod 700 "$SVC_DIR/pg2"
if _svc_as postgres env PGPASSFILE="$SVC_DIR/pgpass.repl" "$BIN/pg_basebackup" -h 127.0.0.1 -p "$P1" -U postgres \
    -D "$SVC_DIR/pg2" -X stream -c fast -R >"$SVC_DIR/basebackup.out" 2>&1; then
    t_ok "pg_basebackup copies the primary"
else
    t_fail "pg_basebackup copies the primary" "$(tail -3 "$SVC_DIR/basebackup.out")"
    exit 1
fi
echo "primary_conninfo = 'host=127.0.0.1 port=$P1 user=postgres passfile=$SVC_DIR/pgpass.repl application_name=standby1'" \
    >>"$SVC_DIR/pg2/postgresql.auto.conf"
: >"$SVC_DIR/pg2.log" && chown postgres "$SVC_DIR/pg2.log"
_svc_as postgres "$BIN/pg_ctl" -D "$SVC_DIR/pg2" -l "$SVC_DIR/pg2.log" -w -t 30 \
    -o "-p $P2 -k $PG_SOCKDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >"$SVC_DIR/pg2_ctl.out" 2>&1
svc_register_pid "$(head -1 "$SVC_DIR/pg2/postmaster.pid" 2>/dev/null)"
on() { "$BIN/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$1" -U postgres -d postinbox -c "$2" 2>/dev/null; }
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do "${@:2}" && return 0; sleep 0.1; done
    return 1
}
streaming() { [ "$(on "$P1" "SELECT state FROM pg_stat_replication WHERE application_name = 'standby1'")" = streaming ]; }
if wait_for 30 streaming; then t_ok "the standby streams from the primary"
else t_fail "the standby streams from the primary" "$(tail -3 "$SVC_DIR/pg2.log")"; exit 1; fi
# Synchronous: the primary's commits wait for the standby (the daemons'
# role commits with synchronous_commit = on; the harness's server default
# is off).  Set after the base backup, so the standby, once promoted, does
# not wait for a standby of its own.
on "$P1" "ALTER SYSTEM SET synchronous_standby_names = 'standby1'" >/dev/null
on "$P1" "ALTER ROLE postinbox_app SET synchronous_commit = on" >/dev/null
on "$P1" "SELECT pg_reload_conf()" >/dev/null
sync_state() { [ "$(on "$P1" "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby1'")" = sync ]; }
if wait_for 10 sync_state; then t_ok "the standby is synchronous"; else t_fail "the standby is synchronous"; fi
t_eq "the standby is in recovery" t "$(on "$P2" "SELECT pg_is_in_recovery()")"

# ---- the daemons on the multi-host string ------------------------------------------------------
PI_DATABASE="host=127.0.0.1,127.0.0.1 port=$P1,$P2 dbname=postinbox user=postinbox_app passfile=$SVC_DIR/pgpass.app target_session_attrs=read-write connect_timeout=2"
export PI_DATABASE
pi_stop_milter
pi_write_conf "postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state" \
    "webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" "webhook_poll_interval = 1s" \
    "webhook_retry_schedule = 1s,1s,1s,2s,2s,5s" "api_listen = 127.0.0.1:$API_PORT"
pi_start_milter || exit 1
pi_start_policyd || exit 1
pi_start_sink remote.test || exit 1
svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        echo "---- milter log (last 15)" >&2; tail -15 "$(pi_milter_log)" >&2
        echo "---- policyd log (last 25)" >&2; tail -25 "$SVC_DIR/policyd.log" >&2
    fi
    return 0
}

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --daily-limit 100 --burst-limit 1000)"
pi_ctl login grant --inbox "$BOB_ID" --login alice@example.test >/dev/null
SECRET=$(pi_ctl --json webhook add --inbox "$BOB_ID" --url "http://127.0.0.1:$HTTP_PORT/ok/bob" | json_get secret)
python3 "$RECEIVER" --port "$HTTP_PORT" --log "$SVC_DIR/hooks.jsonl" --max-lifetime 600 --secret "/ok/bob=$SECRET" \
    >>"$SVC_DIR/receiver.log" 2>&1 &
svc_register_pid $!
KA=$(pi_ctl --json apikey create --account "$A" --name admin | json_get key)
API=http://127.0.0.1:$API_PORT
api_code() { curl -s -o /dev/null -m 5 -w '%{http_code}' -H "x-api-key: $KA" "$API/v1/inboxes/$BOB_ID"; }
hq() { python3 "$RECEIVER" query "$SVC_DIR/hooks.jsonl" "$1"; }
# hooks TYPE: verified webhooks of TYPE, distinct message ids
hooks() { hq "len(set(r['json']['data']['messageId'] for r in under('/ok/bob') if r['verified'] and r['json']['type'] == '$1'))"; }
AUTH=(-a PLAIN -au alice@example.test -ap secret)
pi_clear_of_midnight 90
send() { smtp_send "${AUTH[@]}" --from "$BOB" --to "friend$1@remote.test" --header "Message-Id: <f$1@test>"; }
rows() {  # rows PORT: outbound messages of bob
    on "$1" "SELECT count(*) FROM postinbox.message m WHERE m.inbox_id = '$BOB_ID' AND m.direction = 'outbound'"
}
events() {  # events PORT TYPE
    on "$1" "SELECT count(*) FROM postinbox.event WHERE inbox_id = '$BOB_ID' AND type = '$2'"
}
t_eq "the API answers from the primary" 200 "$(api_code)"

accepted=0
for i in 1 2 3 4 5; do
    r=$(send "$i")
    t_match "send $i through the primary: 250" '^250 ' "$r"
    [[ $r == 250* ]] && accepted=$((accepted + 1))
done
# The commit waited for the standby's flush; replay on the standby follows
# within moments.
on_standby() { [ "$(rows "$P2")" = 5 ] && [ "$(events "$P2" message.sent)" = 5 ]; }
if wait_for 5 on_standby; then t_ok "the 5 messages and their message.sent events are on the standby"
else t_fail "the 5 messages and their message.sent events are on the standby" "$(rows "$P2") $(events "$P2" message.sent)"; fi
delivered_before() { [ "$(events "$P1" message.delivered)" = 5 ] && [ "$(hooks message.delivered)" = 5 ]; }
if wait_for 30 delivered_before; then t_ok "before the failover: 5 delivered events (log follower) and their webhooks"
else t_fail "before the failover: 5 delivered events and their webhooks" "$(events "$P1" message.delivered) $(hooks message.delivered)"; fi

# ---- failover ----------------------------------------------------------------------------------
_svc_as postgres "$BIN/pg_ctl" -D "$SVC_DIR/pg" -m immediate -w -t 30 stop >/dev/null 2>&1
t_kill=$SECONDS
r=$(send 6)
t_match "primary down, standby not yet promoted: 451 4.3.0" '^451 4\.3\.0 ' "$r"
t_eq "... and nothing charged: sendsToday 5" 5 "$(pi_redis_sends "$BOB_ID")"
t_eq "postinboxctl with no primary: an error, exit 1" 1 "$(pi_ctl inbox show "$BOB_ID" >/dev/null 2>&1; echo $?)"
_svc_as postgres "$BIN/pg_ctl" -D "$SVC_DIR/pg2" -w -t 30 promote >"$SVC_DIR/promote.out" 2>&1
t_eq "the standby is promoted" f "$(on "$P2" "SELECT pg_is_in_recovery()")"
PG_PORT=$P2   # the harness's SQL helpers: the new primary
t_promote=$SECONDS

# the milter: the next send is recorded on the new primary
first_ok() { r=$(send 7); [[ $r == 250* ]]; }
if wait_for 30 first_ok; then t_ok "the milter records on the new primary, no restart ($((SECONDS - t_promote)) s after the promotion)"
else t_fail "the milter records on the new primary" "$r"; fi
accepted=$((accepted + 1))
api_ok() { [ "$(api_code)" = 200 ]; }
if wait_for 30 api_ok; then t_ok "the API answers from the new primary ($((SECONDS - t_promote)) s after the promotion)"
else t_fail "the API answers from the new primary" "$(api_code)"; fi
for i in 8 9; do
    r=$(send "$i")
    t_match "send $i on the new primary: 250" '^250 ' "$r"
    [[ $r == 250* ]] && accepted=$((accepted + 1))
done
t_eq "nothing accepted is lost: every 250 has its row on the new primary" "$accepted" "$(rows "$P2")"
t_eq "... and its message.sent event" "$accepted" "$(events "$P2" message.sent)"
msgid_rows() { on "$P2" "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND message_id_header = '<$1@test>'"; }
t_eq "the refused send 6 has no row, send 7 (its retry after the promotion) one" "0 1" "$(msgid_rows f6) $(msgid_rows f7)"
t_eq "sendsToday counts each accepted send once" "$accepted" "$(pi_redis_sends "$BOB_ID")"
t_eq "postinboxctl finds the new primary: sendsToday $accepted" "$accepted" \
    "$(pi_ctl --json inbox show "$BOB_ID" | json_get sendsToday)"
# the log follower and the webhook outbox resume on the new primary
delivered_after() { [ "$(events "$P2" message.delivered)" = "$accepted" ] && [ "$(hooks message.delivered)" = "$accepted" ]; }
if wait_for 60 delivered_after; then t_ok "the log follower and the webhook outbox resume: $accepted delivered events and webhooks ($((SECONDS - t_promote)) s)"
else t_fail "the log follower and the webhook outbox resume" "$(events "$P2" message.delivered) $(hooks message.delivered)"; fi
sent_hooks() { [ "$(hooks message.sent)" = "$accepted" ]; }
if wait_for 30 sent_hooks; then t_ok "every message.sent webhook arrived, signed"
else t_fail "every message.sent webhook arrived, signed" "$(hooks message.sent)"; fi
t_eq "no delivery left pending" 0 \
    "$(on "$P2" "SELECT count(*) FROM postinbox.webhook_delivery WHERE inbox_id = '$BOB_ID' AND status <> 'delivered'")"
echo "# failover: primary stopped at +0 s, promoted at +$((t_promote - t_kill)) s"

t_summary
