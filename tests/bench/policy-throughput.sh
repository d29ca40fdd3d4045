#!/usr/bin/env bash
#
# tests/bench/policy-throughput.sh -- requests/second of the policy service.
#
# WHAT IT MEASURES
#   postinbox-policyd (policy_listen) against private PostgreSQL and Redis
#   instances, driven by tests/integration/policy_client.py --bench: the
#   same request sent over and over on persistent connections, one request
#   in flight per connection, for SECONDS per run, with 1 and with CONNS
#   connections.  Request kinds:
#     connect   protocol_state=CONNECT: protocol and threads only, no backend
#     inbound   RCPT to an active inbox: two PostgreSQL lookups
#     outbound  RCPT from an authenticated inbox: two lookups + limiter_check
#     eom       END-OF-MESSAGE, 1 recipient: sender lookup + limiter_reserve_n
#               (no instance attribute, so every request is a new charge)
#   The client is Python: with several connections it competes with the
#   daemon, PostgreSQL and Redis for the same cores, so the figures are a
#   floor, not a ceiling.
#
# HOW TO RUN (root; PostgreSQL, Redis installed; built in-tree with make):
#     tests/bench/policy-throughput.sh
#   Knobs: SECONDS_PER_RUN (5), CONNS (8).  Not part of `make check`.
set -u
. "$(dirname "$0")/../integration/common.sh"
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
PI_POLICYD=$BUILDDIR/policyd/postinbox-policyd
PC=$PI_TESTDIR/policy_client.py
SECS=${SECONDS_PER_RUN:-5}
CONNS=${CONNS:-8}

pi_require
svc_init || exit 1
svc_start_pg || exit 1
svc_start_redis || exit 1
pi_write_conf "policy_listen = 127.0.0.1:$POLICY_PORT" "log_level = warn"
pi_ctl migrate >/dev/null || exit 1
A=$(pi_account "Acme" acme)
read -r _ BOB <<<"$(pi_inbox "$A" bob --daily-limit 100000000 --burst-limit 100000000)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
"$PI_POLICYD" -c "$PI_CONF" -f >>"$SVC_DIR/policyd.log" 2>&1 &
svc_register_pid $!
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$POLICY_PORT") 2>/dev/null && break; sleep 0.05; done

req() {
    local s='request=smtpd_access_policy\n' kv
    for kv in "$@"; do s+="$kv"'\n'; done
    printf '%s' "$s"'\n'
}
OUT=(sasl_username=alice@example.test client_address=192.0.2.1 "sender=$BOB")
declare -A KIND=(
    [connect]=$(req protocol_state=CONNECT client_address=192.0.2.1)
    [inbound]=$(req protocol_state=RCPT sender=ext@remote.test "recipient=$BOB" client_address=192.0.2.1)
    [outbound]=$(req protocol_state=RCPT "${OUT[@]}" recipient=friend@remote.test)
    [eom]=$(req protocol_state=END-OF-MESSAGE "${OUT[@]}" recipient_count=1 queue_id=BENCH)
)
printf '%-9s %5s  %s\n' kind conns result
for kind in connect inbound outbound eom; do
    for conns in 1 "$CONNS"; do
        printf '%-9s %5s  %s\n' "$kind" "$conns" "$(python3 "$PC" --bench "$SECS" "$conns" "$POLICY_PORT" "${KIND[$kind]}")"
    done
done
echo "sendsToday after the eom runs: $(pi_sends_today "$BOB")"
