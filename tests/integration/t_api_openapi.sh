#!/usr/bin/env bash
# t_api_openapi.sh -- contrib/openapi.json against the running API: every
# documented operation called with valid and invalid input answers a
# documented status with the documented fields; undocumented methods are
# 405 and undocumented paths 404 (tests/integration/api_openapi_check.py).
# Needs PostgreSQL and Redis, no Postfix.
set -u
. "$(dirname "$0")/common.sh"
pi_init --no-postfix --no-milter --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
pi_setup --no-postfix --no-milter --policyd "api_listen = 127.0.0.1:$API_PORT"

A=$(pi_account "Acme" acme)
read -r I1 _ <<<"$(pi_inbox "$A" one)"
read -r I2 _ <<<"$(pi_inbox "$A" two)"
K=$(pi_ctl --json apikey create --account "$A" | json_get key)
python3 "$PI_TESTDIR/api_openapi_check.py" "$PI_SRCDIR/contrib/openapi.json" "http://127.0.0.1:$API_PORT" "$K" "$I1" "$I2"
rc=$?
pi_stop_policyd
exit $rc
