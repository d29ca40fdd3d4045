#!/usr/bin/env bash
# t_metrics.sh -- /metrics of both daemons, after traffic whose every
# decision we know: through a real Postfix, the milter accepts an inbound
# message, refuses an unknown recipient, lets two sends of an inbox with
# burst limit 2 through and refuses the third, and tempfails one send
# while Redis is down; postinbox-policyd delivers the resulting webhooks to
# tests/webhook_receiver.py, answers one policy request and follows the
# Postfix log.  Exact counter values, histogram counts equal to the calls
# made, the text checked line by line as Prometheus exposition 0.0.4
# (HELP/TYPE before samples, label syntax, cumulative buckets ending in
# +Inf = _count), and 404 for any other path.
set -u
. "$(dirname "$0")/common.sh"

RECEIVER=$PI_TESTDIR/../webhook_receiver.py
# Two more free ports for the metrics listeners.
pi_init --policyd
read -r MPORT PPORT <<<"$(_svc_pick_ports 2)"
pi_setup "metrics_listen = 127.0.0.1:$MPORT" "foreign_domain_cache = 0"
MAILLOG=$(svc_maillog)
pi_write_conf "metrics_listen = 127.0.0.1:$MPORT" "foreign_domain_cache = 0" \
    "policyd_metrics_listen = 127.0.0.1:$PPORT" "policy_listen = 127.0.0.1:$POLICY_PORT" \
    "webhook_allow_networks = 127.0.0.0/8" "webhook_allow_http = yes" "webhook_poll_interval = 1s" \
    "postfix_log = $MAILLOG" "postfix_log_state = $SVC_DIR/postfix_log.state"

svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        for f in "$SVC_DIR"/milter-*.log "$SVC_DIR/policyd.log"; do
            [ -f "$f" ] && { echo "---- $f (last 30 lines)" >&2; tail -30 "$f" >&2; }
        done
        for f in "$SVC_DIR"/metrics-*.txt; do
            [ -f "$f" ] && { echo "---- $f" >&2; grep -v '^#' "$f" | grep -v ' 0$' >&2; }
        done
    fi
    return 0
}

# scrape PORT NAME: GET /metrics into $SVC_DIR/metrics-NAME.txt.
scrape() {
    curl -sS -o "$SVC_DIR/metrics-$2.txt" -w '%{http_code} %{content_type}' "http://127.0.0.1:$1/metrics"
}
# value NAME SERIES: the value of one sample line (SERIES is name{labels}), or "absent".
value() {
    awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print "absent" }' "$SVC_DIR/metrics-$1.txt"
}

# The exposition format, line by line (Python standard library).
cat >"$SVC_DIR/promcheck.py" <<'EOF'
import math, re, sys
name_re = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
label_re = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample_re = re.compile(r'^(' + name_re + r')(\{(?:' + label_re + r')(?:,' + label_re + r')*\})? (\S+)$')
help_re = re.compile(r'^# HELP (' + name_re + r') (?:[^\\\n]|\\[\\n])*$')
type_re = re.compile(r'^# TYPE (' + name_re + r') (counter|gauge|histogram|summary|untyped)$')
errors, types, helps, done, current = [], {}, set(), set(), None
hist = {}   # (family, labels without le) -> [(le, count)], sum/count
def family(name):
    for suffix in ("_bucket", "_sum", "_count"):
        if name.endswith(suffix) and types.get(name[: -len(suffix)]) == "histogram":
            return name[: -len(suffix)]
    return name
text = open(sys.argv[1], encoding="utf-8").read()
if not text.endswith("\n"):
    errors.append("no final newline")
for n, line in enumerate(text.split("\n")[:-1], 1):
    m = help_re.match(line)
    if m:
        if m.group(1) in helps:
            errors.append("%d: second HELP for %s" % (n, m.group(1)))
        helps.add(m.group(1)); continue
    m = type_re.match(line)
    if m:
        if m.group(1) in types or m.group(1) in done:
            errors.append("%d: second TYPE for %s" % (n, m.group(1)))
        if current and current != m.group(1):
            done.add(current)
        types[m.group(1)] = m.group(2); current = m.group(1); continue
    m = sample_re.match(line)
    if not m:
        errors.append("%d: not exposition syntax: %r" % (n, line)); continue
    name, labels, val = m.group(1), m.group(2) or "", m.group(3)
    fam = family(name)
    if fam not in types or fam not in helps:
        errors.append("%d: %s sampled before its HELP and TYPE" % (n, name))
    if fam != current:
        errors.append("%d: %s not grouped with its family" % (n, name))
    try:
        v = float(val.replace("Inf", "inf"))
    except ValueError:
        errors.append("%d: bad value %r" % (n, val)); continue
    if types.get(fam) == "counter" and (v < 0 or math.isnan(v)):
        errors.append("%d: negative counter" % n)
    if types.get(fam) == "histogram":
        pairs = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"', labels)
        key = (fam, tuple(p for p in pairs if p[0] != "le"))
        h = hist.setdefault(key, {"buckets": [], "count": None})
        if name.endswith("_bucket"):
            le = [p[1] for p in pairs if p[0] == "le"]
            if len(le) != 1:
                errors.append("%d: bucket without le" % n); continue
            h["buckets"].append((float(le[0].replace("Inf", "inf")), v))
        elif name.endswith("_count"):
            h["count"] = v
for key, h in hist.items():
    b = h["buckets"]
    if not b or b[-1][0] != math.inf:
        errors.append("%s: no +Inf bucket" % (key,))
        continue
    if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
        errors.append("%s: le not increasing" % (key,))
    if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
        errors.append("%s: bucket counts not cumulative" % (key,))
    if h["count"] != b[-1][1]:
        errors.append("%s: _count %s != +Inf bucket %s" % (key, h["count"], b[-1][1]))
print("\n".join(errors) if errors else "OK")
EOF
promcheck() { python3 "$SVC_DIR/promcheck.py" "$SVC_DIR/metrics-$1.txt"; }

# --- the receiver, an endpoint, policyd -------------------------------------------
python3 "$RECEIVER" --port "$HTTP_PORT" --log "$SVC_DIR/hooks.jsonl" &
svc_register_pid $!
for _ in $(seq 1 100); do _svc_port_open "$HTTP_PORT" && break; sleep 0.05; done

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob --burst-limit 2)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)
svc_psql "INSERT INTO postinbox.webhook_endpoint (account_id, inbox_id, url, secret)
          VALUES ('$A', '$BOB_ID', 'http://127.0.0.1:$HTTP_PORT/ok/bob', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')" >/dev/null

pi_start_policyd
for _ in $(seq 1 50); do grep -q "following the Postfix log" "$SVC_DIR/policyd.log" && break; sleep 0.1; done
LOG_START=$(wc -l < "$MAILLOG")

# --- milter traffic ------------------------------------------------------------------
r=$(smtp_send --from ext@remote.test --to "$BOB" --header "Subject: hello bob")
t_match "inbound message accepted" '^250 ' "$r"
r=$(smtp_send --from ext@remote.test --to "nobody@$SANDBOX")
t_match "unknown recipient refused" '^550 5\.1\.1 ' "$r"
for i in 1 2 3; do
    r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to "r$i@remote.test")
    if [ "$i" -le 2 ]; then
        t_match "send $i of an inbox with burst limit 2 accepted" '^250 ' "$r"
    else
        t_match "send 3 hits the burst guard" '^451 4\.7\.1 ' "$r"
    fi
done
svc_kill_redis
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to r4@remote.test)
t_match "Redis down: outbound tempfails" '^451 4\.3\.0 ' "$r"
svc_start_redis

# --- milter /metrics ------------------------------------------------------------------
t_eq "milter: GET /metrics is 200 text/plain 0.0.4" "200 text/plain; version=0.0.4; charset=utf-8" "$(scrape "$MPORT" milter)"
t_eq "milter: the text parses as Prometheus exposition" OK "$(promcheck milter)"
D=postinbox_milter_decisions_total
for row in \
    'mail,continue,inbound 2' 'mail,continue,sender_ok 4' \
    'rcpt,continue,active 1' 'rcpt,reject,unknown 1' 'rcpt,continue,reserved 2' \
    'rcpt,tempfail,burst 1' 'rcpt,tempfail,backend 1' 'eom,continue,accepted 3'; do
    read -r labels want <<<"$row"
    IFS=, read -r stage action reason <<<"$labels"
    t_eq "milter: decisions{$labels}" "$want" \
        "$(value milter "$D{stage=\"$stage\",action=\"$action\",reason=\"$reason\"}")"
done
t_eq "milter: no decision series beyond those caused" 8 "$(grep -c "^$D{" "$SVC_DIR/metrics-milter.txt")"
t_eq "milter: caps hit, burst" 1 "$(value milter 'postinbox_milter_caps_hit_total{cap="burst"}')"
t_eq "milter: caps hit, daily (shown at 0)" 0 "$(value milter 'postinbox_milter_caps_hit_total{cap="daily"}')"
t_eq "milter: rows recorded, outbound" 2 "$(value milter 'postinbox_milter_messages_recorded_total{direction="outbound"}')"
t_eq "milter: rows recorded, inbound" 1 "$(value milter 'postinbox_milter_messages_recorded_total{direction="inbound"}')"
t_eq "milter: inbound content read: ordinary mail" 1 "$(value milter 'postinbox_milter_inbound_reports_total{kind="none"}')"
B=postinbox_milter_backend_call_seconds_count
# 6 sessions x (MAIL + RCPT) lookups; 3 records; 3 reservations + 1 that failed;
# one settle per outbound message that reached end of message (no commit call).
t_eq "milter: postgres lookups timed" 12 "$(value milter "$B{backend=\"postgres\",call=\"lookup\"}")"
t_eq "milter: postgres records timed" 3 "$(value milter "$B{backend=\"postgres\",call=\"record\"}")"
t_eq "milter: redis reservations timed" 4 "$(value milter "$B{backend=\"redis\",call=\"reserve\"}")"
t_eq "milter: one redis settle per outbound message recorded" 2 "$(value milter "$B{backend=\"redis\",call=\"settle\"}")"
t_eq "milter: no redis commit call" absent "$(value milter "$B{backend=\"redis\",call=\"commit\"}")"
t_eq "milter: redis errors" 1 "$(value milter 'postinbox_milter_backend_errors_total{backend="redis",call="reserve"}')"
t_eq "milter: postgres errors (shown at 0)" 0 "$(value milter 'postinbox_milter_backend_errors_total{backend="postgres",call="lookup"}')"
t_eq "milter: build info" 1 "$(value milter 'postinbox_milter_build_info{version="0.1.0"}')"
t_match "milter: start time" '^[0-9]{10}$' "$(value milter postinbox_milter_process_start_time_seconds)"
t_eq "milter: no address or inbox id in the output" 0 \
    "$(grep -c -e "$BOB_ID" -e '@' "$SVC_DIR/metrics-milter.txt")"
for path in / /metrics/ /metricsx "/metrics?x=1/../"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT$path")
    case $path in "/metrics?"*) want=200 ;; *) want=404 ;; esac
    t_eq "milter: GET $path is $want" "$want" "$code"
done
t_eq "milter: POST /metrics is 405" 405 "$(curl -s -o /dev/null -w '%{http_code}' -d x "http://127.0.0.1:$MPORT/metrics")"

# --- policyd: a policy request, the webhooks, the log -------------------------------
answer=$(python3 - "$POLICY_PORT" "$SANDBOX" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(("request=smtpd_access_policy\nprotocol_state=RCPT\nsender=ext@remote.test\n"
           "recipient=nobody@%s\nclient_address=192.0.2.1\ninstance=m.1\n\n" % sys.argv[2]).encode())
print(s.makefile().readline().strip())
EOF
)
t_match "policy service refuses the unknown recipient" '^action=550 5\.1\.1 ' "$answer"

# Every delivery row of bob's events delivered (the receiver answers 200).
deliveries=0
for _ in $(seq 1 100); do
    read -r deliveries pending <<<"$(svc_psql "SELECT count(*), count(*) FILTER (WHERE status <> 'delivered')
                                            FROM postinbox.webhook_delivery" | tr '|' ' ')"
    [ "$deliveries" -gt 0 ] && [ "$pending" = 0 ] && break
    sleep 0.2
done
t_match "webhooks: the events were delivered" '^[1-9]' "$deliveries"
# Its result rows are written by the recorder just after the 2xx; the
# counters are bumped before that, so they are complete now.
t_eq "policyd: GET /metrics is 200 text/plain 0.0.4" "200 text/plain; version=0.0.4; charset=utf-8" "$(scrape "$PPORT" policyd)"
t_eq "policyd: the text parses as Prometheus exposition" OK "$(promcheck policyd)"
t_eq "policyd: deliveries, delivered" "$deliveries" "$(value policyd 'postinbox_policyd_webhook_deliveries_total{result="delivered"}')"
t_eq "policyd: deliveries, failed (shown at 0)" 0 "$(value policyd 'postinbox_policyd_webhook_deliveries_total{result="failed"}')"
t_eq "policyd: attempts, 2xx" "$deliveries" "$(value policyd 'postinbox_policyd_webhook_attempts_total{outcome="2xx"}')"
t_eq "policyd: attempt latency histogram counts every attempt" "$deliveries" "$(value policyd postinbox_policyd_webhook_attempt_seconds_count)"
t_eq "policyd: delivery lag histogram counts every delivery" "$deliveries" "$(value policyd postinbox_policyd_webhook_delivery_lag_seconds_count)"
t_eq "policyd: nothing pending" 0 "$(value policyd postinbox_policyd_webhook_pending_deliveries)"
t_eq "policyd: policy decisions{rcpt,reject,unknown}" 1 \
    "$(value policyd 'postinbox_policyd_policy_decisions_total{stage="rcpt",action="reject",reason="unknown"}')"
t_eq "policyd: build info" 1 "$(value policyd 'postinbox_policyd_build_info{version="0.1.0"}')"

# The log follower: every line written since it started is read once.
lines=0
for _ in $(seq 1 100); do
    lines=$(( $(wc -l < "$MAILLOG") - LOG_START ))
    scrape "$PPORT" policyd >/dev/null
    [ "$(value policyd postinbox_policyd_log_lines_read_total)" = "$lines" ] && break
    sleep 0.2
done
tail -n +"$((LOG_START + 1))" "$MAILLOG" | head -n "$lines" > "$SVC_DIR/maillog.new"
t_eq "log: lines read" "$lines" "$(value policyd postinbox_policyd_log_lines_read_total)"
t_eq "log: lines parsed, sent (3 messages through the discard transport)" \
    "$(grep -c 'status=sent' "$SVC_DIR/maillog.new")" "$(value policyd 'postinbox_policyd_log_lines_parsed_total{status="sent"}')"
t_eq "log: lines parsed, removed" \
    "$(grep -c ': removed$' "$SVC_DIR/maillog.new")" "$(value policyd 'postinbox_policyd_log_lines_parsed_total{status="removed"}')"
parsed=$(awk '$1 ~ /^postinbox_policyd_log_lines_parsed_total/ { s += $2 } END { print s + 0 }' "$SVC_DIR/metrics-policyd.txt")
t_eq "log: read = parsed + ignored" "$lines" "$((parsed + $(value policyd postinbox_policyd_log_lines_ignored_total)))"
t_eq "log: no backend errors" 0 "$(value policyd postinbox_policyd_log_backend_errors_total)"
t_eq "policyd: /other is 404" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PPORT/other")"

# A listen address already taken stops the daemon at start, naming the key.
out=$(sed "s/^milter_socket = .*/milter_socket = inet:$MILTER2_PORT@127.0.0.1/" "$PI_CONF" > "$SVC_DIR/busy.conf";
      timeout 10 "$PI_MILTER" -c "$SVC_DIR/busy.conf" -f 2>&1)
t_match "milter: metrics_listen in use is a start-up error" 'metrics_listen: cannot listen' "$out"

pi_stop_policyd
t_summary
