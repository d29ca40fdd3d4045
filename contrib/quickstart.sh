#!/usr/bin/env bash
# quickstart.sh -- installs, builds and starts postinbox on loopback with
# its own PostgreSQL, Redis and Postfix instance, provisions a demo inbox,
# sends mail through it and shows what happened.
#
#   bash contrib/quickstart.sh          start (or restart) the demo
#   bash contrib/quickstart.sh stop     stop every demo process
#
# Everything lives in $POSTINBOX_DEMO_DIR (default /var/lib/postinbox-demo)
# and listens on 127.0.0.1 only: SMTP 2525, milter 8891, PostgreSQL 55432,
# Redis 56379, policy service 10040, demo webhook receiver 8090, DNS (NSD,
# the demo custom domain acme.test) 55353, a mail sink for partner.test
# 2526.  A system Postfix, PostgreSQL or Redis is left untouched.
set -euo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
DEMO=${POSTINBOX_DEMO_DIR:-/var/lib/postinbox-demo}

# services.sh provides the private-instance plumbing the tests use; here
# we give it a fixed directory and fixed ports instead of svc_init's.
# shellcheck source=../tests/integration/services.sh
. "$TOP/tests/integration/services.sh"
# shellcheck source=../tests/integration/dns.sh
. "$TOP/tests/integration/dns.sh"
export SVC_DIR=$DEMO PG_PORT=55432 REDIS_PORT=56379 SMTP_PORT=2525 MILTER_PORT=8891 DNS_PORT=55353
SINK_PORT=2526
export MILTER2_PORT=8892 POLICY_PORT=10040 HTTP_PORT=8080
API_PORT=8081 MILTER_METRICS_PORT=9187 POLICYD_METRICS_PORT=9188 TRACK_PORT=8025

demo_stop() {
    [ -d "$DEMO" ] || return 0
    for p in milter policyd receiver sink nsd/nsd; do
        if [ -s "$DEMO/$p.pid" ]; then
            kill "$(cat "$DEMO/$p.pid")" 2>/dev/null || true
            rm -f "$DEMO/$p.pid"
        fi
    done
    svc_stop_postfix >/dev/null 2>&1 || true
    svc_stop_redis >/dev/null 2>&1 || true
    svc_stop_pg >/dev/null 2>&1 || true
}

if [ "${1:-}" = stop ]; then
    demo_stop
    echo "postinbox demo stopped (state kept in $DEMO; remove it to start afresh)"
    exit 0
fi

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Installing packages (Debian 12)"
scripts/install-deps.sh

step "Building"
[ -x configure ] || autoreconf -fi >/dev/null
[ -f Makefile ] || ./configure >/dev/null
make -j2 >/dev/null
echo "built milter/postinbox-milter and ctl/postinboxctl"

step "Starting PostgreSQL, Redis and Postfix on 127.0.0.1 (state in $DEMO)"
demo_stop
mkdir -p "$DEMO"
chmod 755 "$DEMO"
: > "$DEMO/pids"
# PostgreSQL as production should run it (services.sh): passwords over
# TCP, a schema owner for `postinboxctl migrate` and a runtime role for the
# daemons, each password in a 0600 passfile.  A demo directory from before
# the roles existed is started afresh.
if [ -f "$DEMO/pg/PG_VERSION" ] && [ -s "$DEMO/pgpass.app" ]; then
    export PG_SOCKDIR=$DEMO/pgsock PGPASSFILE=$DEMO/pgpass
    export PI_DATABASE="host=127.0.0.1 port=$PG_PORT dbname=postinbox user=postinbox_app passfile=$DEMO/pgpass.app"
    export PI_MIGRATION_DATABASE="host=127.0.0.1 port=$PG_PORT dbname=postinbox user=postinbox_owner passfile=$DEMO/pgpass.owner"
    svc_start_pg_again
else
    rm -rf "$DEMO/pg"
    svc_start_pg
fi
# Redis as production should run it: postinbox logs in as its own ACL user
# (only its scripts' commands, only keys pi:*) with a password kept in a
# 0600 file ($DEMO/redis-postinbox.secret); redis-cli as the admin needs
# REDISCLI_AUTH=$(cat $DEMO/redis-admin.secret).
svc_start_redis
# The demo custom domain's DNS: a real authoritative server (NSD) on
# loopback, serving acme.test, empty until its records are published below.
rm -rf "$DEMO/nsd"
printf 'www IN A 127.0.0.1\n' | dns_zone acme.test
dns_start
echo "NSD serving acme.test on 127.0.0.1:$DNS_PORT"
# The service login the API submits with: a SASL user with a fresh
# password in a file only root and the postinbox group read.
getent group postinbox >/dev/null || groupadd --system postinbox
SUBMIT_SECRET=$DEMO/submission.secret
[ -s "$SUBMIT_SECRET" ] || (umask 077 && head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24 >"$SUBMIT_SECRET" && echo >>"$SUBMIT_SECRET")
chgrp postinbox "$SUBMIT_SECRET"; chmod 0640 "$SUBMIT_SECRET"
CONF=$DEMO/postinbox.conf
RECEIVER_PORT=8090
# The key that encrypts webhook signing secrets in PostgreSQL: 32 random
# bytes, readable by the daemons only (README "Webhook secrets").
if [ ! -s "$DEMO/secret.key" ]; then
    (umask 077 && openssl rand -hex 32 > "$DEMO/secret.key")
fi
# The keys of the tracking links' MACs (README "Tracking"): the first line signs.
if [ ! -s "$DEMO/tracking.keys" ]; then
    (umask 077 && openssl rand -base64 32 > "$DEMO/tracking.keys")
fi
(umask 027 && cat > "$CONF") <<CONF
# postinbox demo config (contrib/quickstart.sh); see contrib/postinbox.conf.example
# Mode 0640 root:postinbox: it names the passfiles and secret files.
database = $PI_DATABASE
migration_database = $PI_MIGRATION_DATABASE
redis = $PI_REDIS
redis_password_file = $PI_REDIS_PASSWORD_FILE
milter_socket = inet:$MILTER_PORT@127.0.0.1
sandbox_domain = sandbox.demo.test
log_level = info
# postinbox-policyd: the demo's webhook receiver is on loopback over http,
# which a production config would refuse; only its port is opened.
policy_listen = 127.0.0.1:$POLICY_PORT
secret_key_file = $DEMO/secret.key
webhook_allow_networks = 127.0.0.1:$RECEIVER_PORT
webhook_allow_http = yes
# The HTTP admin API and Prometheus metrics, on loopback.
api_listen = 127.0.0.1:$API_PORT
metrics_listen = 127.0.0.1:$MILTER_METRICS_PORT
policyd_metrics_listen = 127.0.0.1:$POLICYD_METRICS_PORT
# Delivery status from the demo Postfix's own log.
postfix_log = $DEMO/postfix/maillog
postfix_log_state = $DEMO/postfix_log.state
# The API's sends: AUTH PLAIN as the service login, so trusted_networks
# stays empty and no other local process can send as an inbox.
api_submission = 127.0.0.1:$SMTP_PORT
api_submission_login = postinbox-api@demo.test
api_submission_password_file = $SUBMIT_SECRET
# Custom domains are checked against the demo's own DNS server.
dns_resolver = 127.0.0.1@$DNS_PORT
# Opens, clicks and one-click unsubscribe: the tracking listener, and the
# URL mail points at (a production one is https and public, behind a proxy).
tracking_listen = 127.0.0.1:$TRACK_PORT
tracking_base_url = http://127.0.0.1:$TRACK_PORT
tracking_key_file = $DEMO/tracking.keys
tracking_scanner_window = 1s
CONF
chgrp postinbox "$CONF"; chmod 0640 "$CONF"
CTL="$TOP/ctl/postinboxctl -c $CONF"
$CTL migrate
nohup "$TOP/milter/postinbox-milter" -c "$CONF" -f >> "$DEMO/milter.log" 2>&1 &
echo $! > "$DEMO/milter.pid"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$MILTER_PORT") 2>/dev/null && break; sleep 0.1; done
echo "postinbox-milter listening on inet:$MILTER_PORT@127.0.0.1 (log: $DEMO/milter.log)"
svc_add_sasl_user agent demo.test demo-password
svc_add_sasl_user postinbox-api demo.test "$(head -1 "$SUBMIT_SECRET")"
svc_start_postfix "inet:127.0.0.1:$MILTER_PORT"
# Mail to partner.test goes to a sink that keeps each message as sent, so
# its DKIM signature can be checked by a verifier that is not ours.
mkdir -p "$DEMO/sink" && chown postfix: "$DEMO/sink"
nohup smtp-sink -u postfix -d "$DEMO/sink/%Y%m%d%H%M%S." "127.0.0.1:$SINK_PORT" 10 >>"$DEMO/sink.log" 2>&1 &
echo $! > "$DEMO/sink.pid"
svc_postconf -e "transport_maps = inline:{ {partner.test=smtp:[127.0.0.1]:$SINK_PORT} }"
svc_postfix_reload
echo "Postfix listening on 127.0.0.1:$SMTP_PORT with smtpd_milters = inet:127.0.0.1:$MILTER_PORT"

step "Provisioning a demo account and inboxes"
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
acct=$($CTL --json account list | python3 -c '
import json, sys
d = [a for a in json.load(sys.stdin)["data"] if a.get("shortId") == "demo"]
print(d[0]["id"] if d else "")')
[ -n "$acct" ] || acct=$($CTL --json account create --name "Demo" --short-id demo | json id)
inbox() { $CTL --json inbox show "$1--demo@sandbox.demo.test" 2>/dev/null || $CTL --json inbox create --account "$acct" --username "$1" "${@:2}"; }
AGENT=$(inbox agent --display-name "Demo agent" --label demo | json address)
PAUSED=$(inbox paused | json address)
$CTL inbox suspend "$PAUSED" --reason "demo: suspended inbox" >/dev/null
$CTL login grant --login agent@demo.test --inbox "$AGENT" >/dev/null
echo "inbox $AGENT (SASL login agent@demo.test / demo-password may send as it)"
# Received payloads, the webhook secret and the API key are secrets: 0600.
(umask 077 && : > "$DEMO/webhooks.jsonl")
chmod 600 "$DEMO/webhooks.jsonl"
if ! $CTL --json webhook list --inbox "$AGENT" | grep -q "127.0.0.1:$RECEIVER_PORT/ok/agent"; then
    (umask 077 && $CTL --json webhook add --inbox "$AGENT" --url "http://127.0.0.1:$RECEIVER_PORT/ok/agent" > "$DEMO/webhook.json")
fi
SECRET=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["secret"])' "$DEMO/webhook.json")
nohup python3 "$TOP/tests/webhook_receiver.py" --port "$RECEIVER_PORT" --log "$DEMO/webhooks.jsonl" \
    --secret "/ok/agent=$SECRET" --max-lifetime 86400 >> "$DEMO/receiver.log" 2>&1 &
echo $! > "$DEMO/receiver.pid"
echo "webhook endpoint http://127.0.0.1:$RECEIVER_PORT/ok/agent (a demo receiver that checks every signature)"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$RECEIVER_PORT") 2>/dev/null && break; sleep 0.1; done
nohup "$TOP/policyd/postinbox-policyd" -c "$CONF" -f >> "$DEMO/policyd.log" 2>&1 &
echo $! > "$DEMO/policyd.pid"
echo "postinbox-policyd delivering webhooks, policy service on 127.0.0.1:$POLICY_PORT (log: $DEMO/policyd.log)"

echo "inbox $PAUSED (suspended)"

swaks_demo() {
    echo "\$ swaks --server 127.0.0.1:$SMTP_PORT $*"
    swaks --server 127.0.0.1 --port "$SMTP_PORT" --helo demo.test "$@" 2>&1 \
        | grep -E '^(<~?\*?\*?|<-) +[245][0-9][0-9] ' | grep -vE ' (220|221|235|250-|334|354) | 250 (CHUNKING|SMTPUTF8|DSN)' | sed 's/^/    /' || true
}

step "Inbound mail to the inbox"
swaks_demo --from someone@remote.test --to "$AGENT" --header "Subject: Hello agent"
step "Inbound mail to a suspended inbox (450 4.2.1) and to an unknown one (550 5.1.1)"
swaks_demo --from someone@remote.test --to "$PAUSED"
swaks_demo --from someone@remote.test --to "nobody--demo@sandbox.demo.test"
step "Outbound mail from the inbox, authenticated"
DEMO_ID="demo-$(date +%s)@demo.test"
swaks_demo -a PLAIN -au agent@demo.test -ap demo-password --from "$AGENT" --to friend@remote.test \
    --header "Subject: =?utf-8?q?R=C3=A9ponse?=" --header "Message-Id: <$DEMO_ID>"
step "The friend's reply: it joins the thread, and its reply text is parsed out of the quoted history"
swaks_demo --from friend@remote.test --to "$AGENT" --header "Subject: Re: Réponse" \
    --header "In-Reply-To: <$DEMO_ID>" --header "References: <$DEMO_ID>" \
    --body "$(printf 'Thanks, got it!\n\nOn Sun, 22 Nov 2026 at 10:00, Demo agent <%s> wrote:\n> Réponse\n' "$AGENT")"
step "The same inbox address without authentication (550 5.7.1)"
swaks_demo --from "$AGENT" --to friend@remote.test

step "A custom domain: pending until its DNS records are published, then verified"
if ! $CTL --json domain show acme.test >/dev/null 2>&1; then
    echo "\$ postinboxctl domain add --account $acct --name acme.test"
    $CTL domain add --account "$acct" --name acme.test | sed 's/^/    /'
fi
echo "\$ postinboxctl domain verify acme.test     # nothing published yet"
$CTL domain verify acme.test 2>&1 | sed 's/^/    /' || true
echo "\$ postinboxctl domain records acme.test --zone    # what the domain's owner publishes (here: into NSD)"
$CTL domain records acme.test --zone | tee "$DEMO/acme.zone" | sed 's/^/    /'
dns_zone acme.test <"$DEMO/acme.zone"
echo "\$ postinboxctl domain verify acme.test"
$CTL domain verify acme.test 2>&1 | sed 's/^/    /'
if out=$($CTL --json inbox show agent@acme.test 2>/dev/null); then
    ACME=$(echo "$out" | json address)
else
    ACME=$($CTL --json inbox create --account "$acct" --username agent --domain acme.test | json address)
fi
$CTL login grant --login agent@demo.test --inbox "$ACME" >/dev/null
echo "inbox $ACME on the verified domain"

step "Tracking on for $ACME: its HTML mail is rewritten, then DKIM-signed (d=acme.test), checked by python3-dkim against NSD"
echo "\$ postinboxctl inbox tracking $ACME --opens yes --clicks yes --unsubscribe yes"
$CTL inbox tracking "$ACME" --opens yes --clicks yes --unsubscribe yes | sed 's/^/    /'
rm -f "$DEMO"/sink/*
/usr/bin/python3 - "$ACME" >"$DEMO/tracked.eml" <<'PY'
import sys, email.policy
from email.message import EmailMessage
m = EmailMessage(policy=email.policy.SMTP)
m["From"], m["To"], m["Subject"] = "Agent <%s>" % sys.argv[1], "buyer@partner.test", "Signed and tracked by postinbox"
m.set_content("Our offer: https://shop.example/offer\n")
m.add_alternative('<html><body><p>Our <a href="https://shop.example/offer?id=42&amp;src=mail">offer</a>.'
                  ' <a href="mailto:sales@acme.test">Write to us</a>.</p></body></html>\n', subtype="html")
sys.stdout.buffer.write(m.as_bytes())
PY
swaks_demo -a PLAIN -au agent@demo.test -ap demo-password --from "$ACME" --to buyer@partner.test \
    --data "@$DEMO/tracked.eml"
for _ in $(seq 1 100); do ls "$DEMO"/sink/* >/dev/null 2>&1 && break; sleep 0.1; done
SIGNED=$(ls "$DEMO"/sink/* 2>/dev/null | head -1)
if [ -n "$SIGNED" ]; then
    grep -m1 -A1 '^DKIM-Signature:' "$SIGNED" | cut -c1-100 | sed 's/^/    /'
    grep '^List-Unsubscribe' "$SIGNED" | cut -c1-110 | sed 's/^/    /'
    echo "\$ python3 tests/dkim_verify.py $SIGNED --dns $DNS_PORT    # Debian's python3-dkim (dkimpy)"
    /usr/bin/python3 "$TOP/tests/dkim_verify.py" "$SIGNED" --dns "$DNS_PORT" | sed 's/^/    /'
    HTML=$(/usr/bin/python3 -c '
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
print(m.get_body(("html",)).get_content())' "$SIGNED")
    echo "the HTML part as sent (the link and the pixel point at the tracking listener; mailto: left alone):"
    echo "$HTML" | sed 's/^/    /'
    PIXEL=$(echo "$HTML" | grep -o "http://127.0.0.1:$TRACK_PORT/o/[A-Za-z0-9_-]*" | head -1)
    LINK=$(echo "$HTML" | grep -o "http://127.0.0.1:$TRACK_PORT/c/[A-Za-z0-9_-]*" | head -1)
    sleep 1   # past tracking_scanner_window: a person, not a link scanner
    UA="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
    echo "\$ curl -A 'Mozilla/5.0 ... Firefox/128.0' ${PIXEL:0:60}...    # the reader opens it"
    curl -s -o /dev/null -A "$UA" -w '    %{http_code} %{content_type}\n' "$PIXEL"
    echo "\$ curl -A 'Mozilla/5.0 ... Firefox/128.0' ${LINK:0:60}...     # and clicks"
    curl -s -o /dev/null -A "$UA" -w '    %{http_code} -> %{redirect_url}\n' "$LINK"
    echo "\$ postinboxctl events $ACME --type message.opened / message.clicked"
    for ty in message.opened message.clicked; do
        $CTL --json events "$ACME" --type "$ty" --limit 1 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["data"][:1]:
    p = e.get("payload", {})
    print("    %-16s machine=%s first=%s userAgent=%s%s" % (e.get("type"), p.get("machine"), p.get("first"),
          p.get("userAgent"), ("  url=" + p["url"]) if p.get("url") else ""))'
    done
else
    echo "    the message did not reach the sink (see $DEMO/postfix/maillog)"
fi

step "What postinbox recorded"
$CTL inbox show "$AGENT"
echo
sleep 1   # the log follower reads Postfix's delivery line
$CTL messages "$AGENT" --limit 5
echo
$CTL threads "$AGENT" --limit 3
echo
$CTL events "$AGENT" --limit 8
echo
echo "the reply as parsed (message.parsed):"
$CTL --json events "$AGENT" --type message.parsed --limit 1 | python3 -c '
import json, sys
for e in json.load(sys.stdin)["data"][:1]:
    p = e.get("payload", {})
    print("  text:  %r" % p.get("text"))
    print("  reply: %r" % p.get("reply"))'


step "Signed webhooks the demo receiver got (signature checked independently)"
sleep 1
python3 - "$DEMO/webhooks.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    body = json.loads(r.get("body") or "{}")
    data = body.get("data", {})
    print("  %-17s webhook-id=%s signature %s  subject=%r" % (
        body.get("type"), r.get("headers", {}).get("webhook-id"),
        "verified" if r.get("verified") else "NOT VERIFIED", data.get("subject")))
PY

step "The HTTP admin API (api_listen = 127.0.0.1:$API_PORT) with an account key"
if [ ! -s "$DEMO/api.key" ]; then
    (umask 077 && $CTL --json apikey create --account "$acct" --name quickstart | json key > "$DEMO/api.key")
fi
KEY=$(cat "$DEMO/api.key")
AGENT_ID=$($CTL --json inbox show "$AGENT" | json id)
echo "\$ curl -H 'x-api-key: pik_...' http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID"
curl -s -H "x-api-key: $KEY" "http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID" | python3 -c '
import json, sys
d = json.load(sys.stdin)
for k in ("address", "status", "sendsToday", "dailySendLimit", "remaining", "burstUsed", "burstLimit", "resetAt"):
    print("  %-15s %s" % (k, d.get(k)))'
echo "\$ curl -H 'x-api-key: pik_...' http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID/threads?limit=2"
curl -s -H "x-api-key: $KEY" "http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID/threads?limit=2" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  total threads: %s" % d.get("total"))
for t in d.get("data", []):
    print("  %s  %s messages  %s" % (t.get("subject"), t.get("messageCount"), ", ".join(t.get("participants") or [])))'
echo "\$ curl -H 'x-api-key: pik_...' -d '{\"to\": \"friend@remote.test\", ...}' http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID/messages"
curl -s -H "x-api-key: $KEY" -H 'Content-Type: application/json' \
    -d '{"to": "friend@remote.test", "subject": "Sent through the API", "text": "Submitted with AUTH as the service login."}' \
    "http://127.0.0.1:$API_PORT/v1/inboxes/$AGENT_ID/messages" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print("  " + ("status %s, messageId %s, queueId %s" % (d.get("status"), d.get("messageId"), d.get("queueId"))
              if "error" not in d else "error %s: %s" % (d["error"]["code"], d["error"]["message"])))'
echo "\$ curl http://127.0.0.1:$API_PORT/v1/inboxes   (no key)"
curl -s "http://127.0.0.1:$API_PORT/v1/inboxes" | sed 's/^/  /'; echo

step "Prometheus metrics (metrics_listen, policyd_metrics_listen)"
curl -s "http://127.0.0.1:$MILTER_METRICS_PORT/metrics" | grep -E '^postinbox_milter_decisions_total' | head -6 | sed 's/^/  /'
curl -s "http://127.0.0.1:$POLICYD_METRICS_PORT/metrics" | grep -E '^postinbox_policyd_(webhook_deliveries_total|log_lines_parsed_total)' | head -6 | sed 's/^/  /'

step "The milter's decisions (one line each, queue id first)"
tail -n 8 "$DEMO/milter.log"

cat <<EOF

postinbox is running on 127.0.0.1.  Try:
  swaks --server 127.0.0.1 --port $SMTP_PORT -a PLAIN -au agent@demo.test -ap demo-password \\
        --from $AGENT --to you@remote.test
  $TOP/ctl/postinboxctl -c $CONF inbox list
Stop it with: bash contrib/quickstart.sh stop
EOF
