#!/usr/bin/env bash
# t_api_openapi.sh -- contrib/openapi.json against the running API: every
# documented operation called with valid and invalid input answers a
# documented status with the documented fields; undocumented methods are
# 405 and undocumented paths 404 (tests/integration/api_openapi_check.py).
# A valid call must get its documented success, so sendMessage submits
# through a real Postfix with the milter (202, and the message it sent is
# the one getMessage and getThread read).
set -u
. "$(dirname "$0")/common.sh"
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
# verifyDomain asks a DNS server that is not there: its records are unknown within dns_timeout
read -r NO_DNS <<<"$(_svc_pick_ports 1)"
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT" \
    "api_submission = 127.0.0.1:$SMTP_PORT" "api_submission_timeout = 10s" \
    "dns_resolver = 127.0.0.1@$NO_DNS" "dns_timeout = 1s"

A=$(pi_account "Acme" acme)
read -r I1 _ <<<"$(pi_inbox "$A" one)"
read -r I2 _ <<<"$(pi_inbox "$A" two)"
K=$(pi_ctl --json apikey create --account "$A" | json_get key)
python3 "$PI_TESTDIR/api_openapi_check.py" "$PI_SRCDIR/contrib/openapi.json" "http://127.0.0.1:$API_PORT" "$K" "$I1" "$I2"
rc=$?
pi_stop_policyd
exit $rc
