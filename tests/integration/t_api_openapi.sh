#!/usr/bin/env bash
# t_api_openapi.sh -- contrib/openapi.json against the running API: every
# documented operation called with valid and invalid input answers a
# documented status with the documented fields; undocumented methods are
# 405 and undocumented paths 404 (tests/integration/api_openapi_check.py).
# Needs PostgreSQL and Redis, no Postfix.
set -u
. "$(dirname "$0")/common.sh"
if [ "$(id -u)" != 0 ] || ! command -v redis-server >/dev/null || [ ! -x "$PI_POLICYD" ] || [ ! -x "$PI_CTL" ]; then
    echo "SKIP: needs root, redis-server and the built binaries"
    exit 77
fi
API_PORT=$(_svc_pick_ports 1) || exit 1
svc_init || exit 1
svc_start_pg || exit 1
svc_start_redis || exit 1
pi_write_conf "api_listen = 127.0.0.1:$API_PORT"
pi_ctl migrate >/dev/null || exit 1
pi_start_policyd
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$API_PORT") 2>/dev/null && break; sleep 0.1; done

A=$(pi_account "Acme" acme)
read -r I1 _ <<<"$(pi_inbox "$A" one)"
read -r I2 _ <<<"$(pi_inbox "$A" two)"
K=$(pi_ctl --json apikey create --account "$A" | json_get key)
python3 "$PI_TESTDIR/api_openapi_check.py" "$PI_SRCDIR/contrib/openapi.json" "http://127.0.0.1:$API_PORT" "$K" "$I1" "$I2"
rc=$?
pi_stop_policyd
exit $rc
