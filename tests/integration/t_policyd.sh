#!/usr/bin/env bash
# t_policyd.sh -- postinbox-policyd as a daemon: config check, a signed
# delivery, SIGHUP with a broken file, a lost LISTEN connection, SIGTERM
# with a request under way (its lease is given back), kill -9 with a
# request under way (its lease runs out, the event still arrives).
# The webhook behaviours themselves are in t_webhooks*.sh.  Real
# PostgreSQL; a tiny receiver inline (Python standard library).
set -u
. "$(dirname "$0")/common.sh"

WEBHOOK_CONF=("webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes"
    "webhook_poll_interval = 1s" "webhook_retry_schedule = 0s,1s,1s")
write_conf() { pi_write_conf "${WEBHOOK_CONF[@]}" "$@"; }
pi_require --no-postfix --no-milter --policyd
# No Redis: policyd's webhooks never use it.
pi_setup --no-postfix --no-milter --no-redis "${WEBHOOK_CONF[@]}" "webhook_timeout = 20s"
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
LOG=$SVC_DIR/policyd.log
HOOKS=$SVC_DIR/hooks.jsonl

# The receiver: /ok answers 200; /hang sleeps 30 s unless $SVC_DIR/hang.off
# exists.  One JSON line per request, with its own signature check.
cat >"$SVC_DIR/receiver.py" <<'EOF'
import base64, hashlib, hmac, json, os, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
port, log, secret, off = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
key = base64.b64decode(secret[len("whsec_"):])
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        if self.path.startswith("/hang") and not os.path.exists(off):
            time.sleep(30)
        msg = (self.headers.get("webhook-id", "") + "." + self.headers.get("webhook-timestamp", "") + ".").encode() + body
        want = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
        rec = {"path": self.path, "id": self.headers.get("webhook-id"), "body": body.decode(),
               "sig_ok": want in (self.headers.get("webhook-signature") or "").split()}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", port), H).serve_forever()
EOF
python3 "$SVC_DIR/receiver.py" "$HTTP_PORT" "$HOOKS" "$SECRET" "$SVC_DIR/hang.off" &
svc_register_pid $!
for _ in $(seq 1 100); do _svc_port_open "$HTTP_PORT" && break; sleep 0.05; done
: >"$HOOKS"

ACCOUNT=$(pi_account "Daemon" daemon)
read -r INBOX _ < <(pi_inbox "$ACCOUNT" dora 2>/dev/null)
svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret)
          VALUES ('$ACCOUNT', '$INBOX', 'http://127.0.0.1:$HTTP_PORT/ok', '$SECRET')" >/dev/null

event() {   # event LABEL: writes one event, prints its id
    svc_psql "INSERT INTO postinbox.event (inbox_id, type, payload)
              VALUES ('$INBOX', 'message.received', jsonb_build_object('label', '$1')) RETURNING id"
}
arrived() {  # arrived ID SECONDS [PATH]: until PATH (/ok) got that webhook-id
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        grep -q "\"path\": \"${3:-/ok}\", \"id\": \"$1\"" "$HOOKS" && return 0
        sleep 0.1
    done
    return 1
}
delivery() {  # delivery EVENT PATH: status|attempts|leased|due of its delivery row
    svc_psql "SELECT d.status, d.attempts, d.lease_until IS NOT NULL, d.next_attempt_at <= now()
                FROM postinbox.webhook_delivery d JOIN postinbox.webhook_endpoint w ON w.id = d.endpoint_id
               WHERE d.event_id = '$1' AND w.url LIKE '%$2'"
}
svc_on_exit() {
    [ "${T_FAILED:-0}" != 0 ] && [ -f "$LOG" ] && { echo "---- $LOG" >&2; tail -40 "$LOG" >&2; }
    return 0
}

# ---- config check --------------------------------------------------------------
out=$("$PI_POLICYD" -c "$PI_CONF" -t 2>&1)
t_eq "-t accepts a good file" "0 postinbox-policyd: config OK" "$? $out"
cp "$PI_CONF" "$SVC_DIR/bad.conf"
echo "webhook_batch_size = many" >>"$SVC_DIR/bad.conf"
out=$("$PI_POLICYD" -c "$SVC_DIR/bad.conf" -t 2>&1)
t_match "-t refuses a bad value, naming the key" "^1 .*webhook_batch_size" "$? $out"

# ---- one signed delivery -------------------------------------------------------------
pi_start_policyd
ID=$(event first)
if arrived "$ID" 5; then t_ok "an event arrives"; else t_fail "an event arrives"; fi
t_eq "it is signed with the endpoint's secret" 1 "$(grep -c "\"id\": \"$ID\".*\"sig_ok\": true" "$HOOKS")"
sleep 0.3
t_eq "its delivery row is delivered after 1 attempt" "delivered|1|f|t" "$(delivery "$ID" /ok)"

# ---- SIGHUP with a broken file keeps the running config ------------------------------
cp "$PI_CONF" "$SVC_DIR/good.conf"
echo "webhook_timeout = banana" >>"$PI_CONF"
kill -HUP "$PD"
sleep 0.5
cp "$SVC_DIR/good.conf" "$PI_CONF"
t_match "a broken reload is logged" "reload failed, keeping the running config.*webhook_timeout" "$(cat "$LOG")"
ID=$(event after-bad-reload)
if arrived "$ID" 5; then t_ok "still delivering after a broken reload"; else t_fail "still delivering after a broken reload"; fi

# ---- a reload that changes a key read only at start says so and keeps going ----------
echo "policyd_metrics_listen = 127.0.0.1:1" >>"$PI_CONF"
kill -HUP "$PD"
for ((i = 0; i < 50; i++)); do grep -q "reload: policyd_metrics_listen changed" "$LOG" && break; sleep 0.1; done
cp "$SVC_DIR/good.conf" "$PI_CONF"
t_match "a reload names the start-only key it cannot apply" \
    "reload: policyd_metrics_listen changed; read at start only, takes effect at the next restart" "$(cat "$LOG")"
ID=$(event after-start-key-reload)
if arrived "$ID" 5; then t_ok "still delivering after that reload"; else t_fail "still delivering after that reload"; fi

# ---- a lost LISTEN connection: polling and reconnect keep things moving ---------------
svc_psql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" >/dev/null
sleep 0.2
ID=$(event after-terminate)
if arrived "$ID" 5; then t_ok "an event written after the connections were killed arrives"
else t_fail "an event written after the connections were killed arrives"; fi
sleep 2
t_eq "LISTEN is back" 1 "$(svc_psql "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN postinbox_webhook' OR query = 'SELECT 1'")"
if _svc_alive "$PD"; then t_ok "the daemon survived"; else t_fail "the daemon survived"; fi

# ---- SIGTERM with a request under way gives its lease back -----------------------------
svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret)
          VALUES ('$ACCOUNT', '$INBOX', 'http://127.0.0.1:$HTTP_PORT/hang', '$SECRET')" >/dev/null
ID=$(event hang-term)
sleep 1
t_eq "the hanging request holds a lease" "pending|0|t|t" "$(delivery "$ID" /hang)"
# A reload shortens webhook_timeout below the request's own 20 s, so the
# drain ends before the request does and the lease must be released.
write_conf "webhook_timeout = 1s"
kill -HUP "$PD"
sleep 0.3
SECONDS=0
kill -TERM "$PD"
wait "$PD"
rc=$?
t_eq "SIGTERM: exit status 0" 0 "$rc"
if [ $SECONDS -le 5 ]; then t_ok "SIGTERM: stopped within the drain bound"; else t_fail "SIGTERM: stopped within the drain bound" "$SECONDS s"; fi
t_eq "SIGTERM: the unfinished delivery is pending, not counted, lease released, due" "pending|0|f|t" "$(delivery "$ID" /hang)"
t_match "SIGTERM: the release is logged" "released 1 leases" "$(cat "$LOG")"

# ---- kill -9 with a request under way: the lease runs out, the event arrives -------------
write_conf "webhook_timeout = 5s"
pi_start_policyd
sleep 1
t_eq "after restart the released delivery is claimed again at once" "pending|0|t|t" "$(delivery "$ID" /hang)"
kill -KILL "$PD"
wait "$PD" 2>/dev/null
t_eq "kill -9: the delivery keeps its lease" "pending|0|t" "$(delivery "$ID" /hang | cut -d'|' -f1-3)"
touch "$SVC_DIR/hang.off"
write_conf "webhook_timeout = 2s"
pi_start_policyd
# The dead daemon's lease: 2 s + 3 x 1 s backend_timeout.
if arrived "$ID" 20 /hang; then t_ok "kill -9: the event arrives once the lease ran out"; else t_fail "kill -9: the event arrives once the lease ran out"; fi
sleep 0.5
t_eq "kill -9: then its delivery is delivered" "delivered|1" "$(delivery "$ID" /hang | cut -d'|' -f1-2)"
kill -TERM "$PD"
wait "$PD"
t_eq "every request carried a valid signature" 0 "$(grep -c '"sig_ok": false' "$HOOKS")"
t_summary
