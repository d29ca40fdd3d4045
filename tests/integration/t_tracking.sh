#!/usr/bin/env bash
# t_tracking.sh -- opens, clicks and one-click unsubscribe, end to end
# (issue 14): real Postfix + postinbox-milter + postinbox-policyd, the
# message caught by an smtp-sink; Python's email package reads what was
# sent, Debian's python3-dkim verifies the signature after the rewrite
# (the key from NSD), curl plays the reader, and the webhook receiver
# checks every signature with its own code.  Tracking off leaves the body
# byte for byte; tokens that do not verify are 404 with no event; machine
# requests (User-Agent, network, a click within the scanner window) say
# machine: true; a one-click unsubscribe suppresses the recipient, whose
# next message is refused at RCPT; hostile HTML is sent, signed, intact.
set -u
here=$(dirname "$0")
. "$here/common.sh"
. "$here/dns.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
RECEIVER=$PI_TESTDIR/../webhook_receiver.py
pi_require --policyd
pi_init --policyd
TPORT=$(_svc_pick_ports 1) || exit 1
HTTP_PORT=$(_svc_pick_ports 1) || exit 1
APORT=$(_svc_pick_ports 1) || exit 1
BASE=http://127.0.0.1:$TPORT/pi
KEYS=$SVC_DIR/tracking.keys
(umask 077 && openssl rand -base64 32 >"$KEYS")
CONF=("dkim_key_cache = 0" "tracking_base_url = $BASE/" "tracking_listen = 127.0.0.1:$TPORT"
      "tracking_key_file = $KEYS" "tracking_scanner_window = 3s" "tracking_machine_networks = 127.0.0.2/32"
      "tracking_event_interval = 0" "tracking_max_links = 1000" "webhook_allow_networks = 127.0.0.0/8"
      "webhook_allow_http = yes" "webhook_poll_interval = 1s" "api_listen = 127.0.0.1:$APORT")
pi_setup --policyd "${CONF[@]}"

pi_start_sink remote.test || exit 1
AUTH=(-a PLAIN -au alice@example.test -ap secret)

A=$(pi_account "Tracked" tracked)
B=$(pi_account "Other" other)
read -r T_ID T <<<"$(pi_inbox "$A" agent)"
read -r O_ID O <<<"$(pi_inbox "$A" plain)"
read -r P_ID P <<<"$(pi_inbox "$B" purged)"
for i in "$T" "$O" "$P"; do pi_ctl login grant --login alice@example.test --inbox "$i" >/dev/null; done
SBD=${T#*@}
pi_ctl domain records "$SBD" --zone | dns_zone "$SBD"
dns_start || exit 1

# --- the settings ---------------------------------------------------------------------
t_eq "off by default: the inbox's effective settings" '{"opens": false, "clicks": false, "unsubscribe": false}' \
    "$(pi_ctl --json inbox show "$T" | json_get tracking)"
t_eq "account tracking: opens and clicks on for the account" '{"opens": true, "clicks": true, "unsubscribe": false}' \
    "$(pi_ctl --json account tracking "$A" --opens yes --clicks yes | json_get tracking)"
t_eq "inbox tracking: the inbox adds unsubscribe, inherits the rest" \
    '{"opens": true, "clicks": true, "unsubscribe": true}|{"unsubscribe": true}' \
    "$(o=$(pi_ctl --json inbox tracking "$T" --unsubscribe yes); echo "$(echo "$o" | json_get tracking)|$(echo "$o" | json_get trackingOverride)")"
t_eq "inbox tracking: an override switches the account's off for one inbox" \
    '{"opens": false, "clicks": false, "unsubscribe": false}' \
    "$(pi_ctl --json inbox tracking "$O" --opens no --clicks no | json_get tracking)"
t_eq "inbox tracking: a bad value is a usage error (exit 2)" 2 \
    "$(pi_ctl inbox tracking "$T" --opens maybe >/dev/null 2>&1; echo $?)"
t_eq "the change is audited" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE inbox_id = '$T_ID' AND action = 'tracking'")"
pi_ctl account tracking "$B" --opens yes --clicks yes --unsubscribe yes >/dev/null
# the API: PATCH /v1/inboxes/{id} with "tracking"
KA=$(pi_ctl --json apikey create --account "$A" | json_get key)
KB=$(pi_ctl --json apikey create --account "$B" | json_get key)
patch() {   # patch KEY ID BODY: "STATUS BODY"
    curl -s -o "$SVC_DIR/api.body" -w '%{http_code}' -X PATCH -H "x-api-key: $1" -H 'Content-Type: application/json' \
        --data-binary "$3" "http://127.0.0.1:$APORT/v1/inboxes/$2"
    echo " $(cat "$SVC_DIR/api.body")"
}
r=$(patch "$KA" "$O_ID" '{"tracking": {"opens": true}}')
t_eq "API PATCH tracking: 200, the override changed key by key" \
    '200 {"opens": true, "clicks": false, "unsubscribe": false} {"opens": true, "clicks": false}' \
    "${r%% *} $(echo "${r#* }" | json_get tracking) $(echo "${r#* }" | json_get trackingOverride)"
r=$(patch "$KA" "$O_ID" '{"tracking": {"opens": null}}')
t_eq "API PATCH tracking: null takes the account's value again" '{"clicks": false}' \
    "$(echo "${r#* }" | json_get trackingOverride)"
for bad in '{"tracking": {"opens": "yes"}}' '{"tracking": {"pixels": true}}' '{"tracking": {}}'; do
    r=$(patch "$KA" "$O_ID" "$bad")
    t_eq "API PATCH $bad: 400 invalid_field" "400 invalid_field" "${r%% *} $(echo "${r#* }" | json_get error.code)"
done
r=$(patch "$KA" "$O_ID" '{"tracking": 1}')
t_eq "API PATCH tracking that is no object: 400 invalid_type" "400 invalid_type" \
    "${r%% *} $(echo "${r#* }" | json_get error.code)"
t_eq "API PATCH of another account's inbox: 404" 404 "$(r=$(patch "$KB" "$O_ID" '{"tracking": {"opens": true}}'); echo "${r%% *}")"
t_eq "... its settings unchanged" '{"clicks": false}' "$(pi_ctl --json inbox show "$O" | json_get trackingOverride)"
pi_ctl inbox tracking "$O" --opens no >/dev/null

SA=$(pi_ctl --json webhook add --inbox "$T_ID" --url "http://127.0.0.1:$HTTP_PORT/ok/t" | json_get secret)
python3 "$RECEIVER" --port "$HTTP_PORT" --log "$SVC_DIR/hooks.jsonl" --max-lifetime 600 --secret "/ok/t=$SA" \
    >>"$SVC_DIR/receiver.log" 2>&1 &
svc_register_pid $!
hq() { python3 "$RECEIVER" query "$SVC_DIR/hooks.jsonl" "$1"; }
hwait() { pi_wait_hook "$SVC_DIR/hooks.jsonl" "$1" "$2"; }

D=$SVC_DIR/m; mkdir -p "$D"
# html_msg FROM MESSAGE-ID HTML-FILE: multipart/alternative, the HTML quoted-printable
html_msg() {
    /usr/bin/python3 - "$@" <<'EOF'
import sys, email.policy
from email.message import EmailMessage
frm, mid, html = sys.argv[1], sys.argv[2], open(sys.argv[3], encoding="utf-8").read()
m = EmailMessage(policy=email.policy.SMTP)
m["From"] = "Agent <%s>" % frm
m["To"] = "x@remote.test"
m["Subject"] = "tracked " + mid
m["Message-ID"] = "<%s>" % mid
m.set_content("Plain text: see https://example.com/plain and go.\n")
m.add_alternative(html, subtype="html", cte="quoted-printable")
sys.stdout.buffer.write(m.as_bytes())
EOF
}
# part FILE TYPE: the decoded text of the first part of that type
part() {
    /usr/bin/python3 - "$1" "$2" <<'EOF'
import sys, email, email.policy
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
for p in m.walk():
    if p.get_content_type() == sys.argv[2]:
        sys.stdout.write(p.get_content())
        break
EOF
}
verify() { /usr/bin/python3 "$here/../dkim_verify.py" "$1" --dns "$DNS_PORT"; }
tok() { grep -o "$BASE/$1/[A-Za-z0-9_-]\{34\}" | sed -n "${2:-1}p"; }
UA_PERSON="Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
get() {   # get URL [UA] [curl args...]: "STATUS LOCATION"
    local url=$1 ua=${2:-$UA_PERSON}
    shift 2 2>/dev/null || shift $#
    curl -s -o "$SVC_DIR/get.body" -D "$SVC_DIR/get.head" -w '%{http_code} %{redirect_url}' -A "$ua" "$@" "$url"
}
events() { svc_psql "SELECT count(*) FROM postinbox.event WHERE type = '$1' AND message_id = '$2'"; }

# --- a tracked message -------------------------------------------------------------
cat >"$D/h1.html" <<'EOF'
<!DOCTYPE html><html><head><title>News <a href="https://example.com/title">x</a></title>
<style>a[href="https://example.com/style"] {}</style></head>
<body><p>Hello, <a href="https://example.com/one?a=1&amp;b=2">one</a> and
<a class="btn" HREF='http://example.org/two'>two</a>,
<a href="mailto:someone@example.com">mail</a>, <a href="#top">top</a>,
<a href="javascript:alert(1)">js</a>, <a href="/relative">rel</a>,
<a data-postinbox-notrack href="https://example.com/private">private</a>.</p>
<!-- <a href="https://example.com/comment">c</a> -->
<blockquote type="cite">On Monday you wrote: <a href="https://example.com/quoted">q</a></blockquote>
</body></html>
EOF
html_msg "$T" t1@tracked "$D/h1.html" >"$D/t1"
r=$(smtp_send "${AUTH[@]}" --from "$T" --to x@remote.test --data "@$D/t1")
t_match "tracked: accepted" '^250 ' "$r"
pi_sink_wait t1@tracked "$D/got1"
html=$(part "$D/got1" text/html)
t_eq "the two http(s) links are rewritten" 2 "$(echo "$html" | grep -o "$BASE/c/[A-Za-z0-9_-]\{34\}" | wc -l)"
t_eq "... and nothing else points at the tracker but the pixel" 3 "$(echo "$html" | grep -o "$BASE/" | wc -l)"
for left in 'mailto:someone@example.com' '#top' 'javascript:alert(1)' '/relative' 'https://example.com/private' \
    'https://example.com/comment' 'https://example.com/quoted' 'https://example.com/title' 'https://example.com/style'; do
    t_eq "left alone: $left" 1 "$(echo "$html" | grep -cF "\"$left\"")"
done
t_match "the pixel is before </body>" "<img src=\"$BASE/o/[A-Za-z0-9_-]{34}\" width=\"1\" height=\"1\"[^>]*></body>" \
    "$(echo "$html" | tr -d '\n')"
t_eq "the plain-text part is untouched" "$(part "$D/t1" text/plain)" "$(part "$D/got1" text/plain)"
t_eq "the rest of the HTML is as it was" "$(sed 's/&amp;/\&/' "$D/h1.html" | tr -d '\n' | sed 's/ HREF=.http:[^ >]*//')" \
    "$(echo "$html" | tr -d '\n' | sed -E "s#<img src=\"$BASE/o/[^>]*>##; s#$BASE/c/[A-Za-z0-9_-]{34}#https://example.com/one?a=1\&b=2#; s# HREF='[^']*'##")"
SEL=$(pi_ctl --json domain dkim show "$SBD" | json_get keys.0.selector)
t_eq "python3-dkim verifies the rewritten message" "pass d=$SBD s=$SEL from=$SBD" "$(verify "$D/got1")"
t_eq "List-Unsubscribe: the one-click URL and a mailto" 1 \
    "$(grep -cE "^List-Unsubscribe: <$BASE/u/[A-Za-z0-9_-]{34}>, <mailto:$T\?subject=unsubscribe>" "$D/got1")"
t_eq "List-Unsubscribe-Post: One-Click" 1 "$(grep -c '^List-Unsubscribe-Post: List-Unsubscribe=One-Click' "$D/got1")"
sig=$(sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$D/got1" | sed '$d' | tr -d '\n\t ' | tr 'A-Z' 'a-z')
t_match "both List-Unsubscribe fields are signed (RFC 8058)" 'h=.*list-unsubscribe:.*list-unsubscribe-post|h=.*list-unsubscribe-post:.*list-unsubscribe' "$sig"
M1=$(svc_psql "SELECT id FROM postinbox.message WHERE message_id_header = '<t1@tracked>'")
t_eq "the record keeps the links" '{https://example.com/one?a=1&b=2,http://example.org/two}' \
    "$(svc_psql "SELECT links FROM postinbox.message WHERE id = '$M1'")"
t_eq "... and the tracking id" 12 "$(svc_psql "SELECT length(tracking_id) FROM postinbox.message WHERE id = '$M1'")"

# --- a click at once: a scanner's ---------------------------------------------------------
C1=$(echo "$html" | tok c 1)
C2=$(echo "$html" | tok c 2)
t_eq "a click at once (within the scanner window): 302 to the link" "302 https://example.com/one?a=1&b=2" \
    "$(get "$C1")"
t_eq "... counted as a machine's (too soon after sending)" "true too_soon" \
    "$(svc_psql "SELECT payload->>'machine', payload->>'machineReason' FROM postinbox.event WHERE type = 'message.clicked' AND message_id = '$M1'" | tr '|' ' ')"

# --- opens -------------------------------------------------------------------------------
PIX=$(echo "$html" | tok o)
t_eq "the pixel: 200" "200 " "$(get "$PIX")"
t_eq "... a 43-byte GIF" "43 GIF89a" "$(wc -c <"$SVC_DIR/get.body") $(head -c 6 "$SVC_DIR/get.body")"
t_eq "... never cached" 1 "$(grep -ci '^cache-control: no-store' "$SVC_DIR/get.head")"
t_eq "... image/gif" 1 "$(grep -ci '^content-type: image/gif' "$SVC_DIR/get.head")"
for _ in 1 2 3 4 5; do get "$PIX" >/dev/null; done
t_eq "six opens: one message.opened, the count is six" "1 6" \
    "$(events message.opened "$M1") $(svc_psql "SELECT count FROM postinbox.engagement WHERE message_id = '$M1' AND kind = 'open'")"
hwait "len([r for r in under('/ok/t') if r['json']['type'] == 'message.opened']) >= 1" 15
t_eq "the message.opened webhook: signed, a person's first open" "True|False|True|browser|$M1" \
    "$(hq "(lambda r: '%s|%s|%s|%s|%s' % (r['verified'], r['json']['data']['machine'], r['json']['data']['first'], r['json']['data']['userAgent'], r['json']['data']['messageId']))([r for r in under('/ok/t') if r['json']['type'] == 'message.opened'][0])")"
t_eq "no IP address is stored" "0 false" \
    "$(svc_psql "SELECT count(*) FROM postinbox.engagement WHERE last_ip IS NOT NULL") $(hq "any('ip' in r['json']['data'] for r in under('/ok/t'))")"

# --- clicks ------------------------------------------------------------------------------
sleep 3   # past tracking_scanner_window
t_eq "a person's click later: 302" "302 https://example.com/one?a=1&b=2" "$(get "$C1")"
t_eq "... its event says first, not machine, the url and link number" "false|true|https://example.com/one?a=1&b=2|1" \
    "$(svc_psql "SELECT payload->>'machine', payload->>'first', payload->>'url', payload->>'link' FROM postinbox.event WHERE type = 'message.clicked' AND message_id = '$M1' ORDER BY created_at DESC LIMIT 1")"
t_eq "the second link goes to its own URL" "302 http://example.org/two" "$(get "$C2")"
hwait "len([r for r in under('/ok/t') if r['json']['type'] == 'message.clicked']) >= 3" 15
t_eq "three message.clicked webhooks, each signed" "3 True" \
    "$(hq "(lambda c: '%d %s' % (len(c), all(r['verified'] for r in c)))([r for r in under('/ok/t') if r['json']['type'] == 'message.clicked'])")"

# --- tokens that are not ours --------------------------------------------------------------
n0=$(svc_psql "SELECT count(*) FROM postinbox.event")
flip() { local t=${1: -34} h=${1%??????????????????????????????????}; local c=${t:20:1}; [ "$c" = A ] && c=B || c=A; echo "$h${t:0:20}$c${t:21}"; }
t_eq "a tampered click token: 404, no redirect" "404 " "$(get "$(flip "$C1")")"
t_eq "a tampered pixel: 404" "404 " "$(get "$(flip "$PIX")")"
# the same message and MAC, another link number: the MAC covers it
other=$(/usr/bin/python3 - "${C1: -34}" <<'EOF'
import base64, sys
raw = bytearray(base64.urlsafe_b64decode(sys.argv[1] + "=="))
raw[14] ^= 3
print(base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("="))
EOF
)
t_eq "link 1's MAC with another link number: 404" "404 " "$(get "$BASE/c/$other")"
# a well-formed token for this message, made with another key
forged=$(/usr/bin/python3 - "${C1: -34}" <<'EOF'
import base64, hashlib, hmac, sys
raw = base64.urlsafe_b64decode(sys.argv[1] + "==")
key = b"not-the-key-of-this-installation-0123456789"
msg = b"postinbox-track-1\0" + b"c" + raw[1:13] + raw[13:15] + b"https://evil.example/"
mac = hmac.new(key, msg, hashlib.sha256).digest()[:10]
print(base64.urlsafe_b64encode(bytes([hashlib.sha256(key).digest()[0]]) + raw[1:15] + mac).decode().rstrip("="))
EOF
)
t_eq "a token signed with another key: 404" "404 " "$(get "$BASE/c/$forged")"
# and one made with this installation's key, by Python from the format in lib/mail/track_token.h
good=$(/usr/bin/python3 - "${C2: -34}" "$KEYS" <<'EOF'
import base64, hashlib, hmac, sys
raw = base64.urlsafe_b64decode(sys.argv[1] + "==")
key = open(sys.argv[2], "rb").read().split(b"\n")[0]
msg = b"postinbox-track-1\0" + b"c" + raw[1:13] + raw[13:15] + b"http://example.org/two"
mac = hmac.new(key, msg, hashlib.sha256).digest()[:10]
print(base64.urlsafe_b64encode(bytes([hashlib.sha256(key).digest()[0]]) + raw[1:15] + mac).decode().rstrip("="))
EOF
)
t_eq "the token format is the documented one (Python makes link 2's token)" "${C2: -34}" "$good"
t_eq "an unknown path: 404" "404 " "$(get "http://127.0.0.1:$TPORT/pi/x/abc")"
t_eq "a click token as a pixel: 404" "404 " "$(get "$BASE/o/${C1: -34}")"
t_eq "POST to a click: 405" "405 " "$(get "$C1" "$UA_PERSON" -X POST)"
t_eq "none of these made an event" "$n0" "$(svc_psql "SELECT count(*) FROM postinbox.event")"

# --- machines ------------------------------------------------------------------------------
html_msg "$T" t2@tracked "$D/h1.html" >"$D/t2"
smtp_send "${AUTH[@]}" --from "$T" --to x@remote.test --data "@$D/t2" >/dev/null
pi_sink_wait t2@tracked "$D/got2"
M2=$(svc_psql "SELECT id FROM postinbox.message WHERE message_id_header = '<t2@tracked>'")
PIX2=$(part "$D/got2" text/html | tok o)
t_eq "Gmail's image proxy: 200" "200 " \
    "$(get "$PIX2" "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)")"
t_eq "... machine: true, image_proxy" "true|image_proxy|user_agent|false" \
    "$(svc_psql "SELECT payload->>'machine', payload->>'userAgent', payload->>'machineReason', payload->>'first' FROM postinbox.event WHERE type = 'message.opened' AND message_id = '$M2'")"
get "$PIX2" "Mozilla/5.0" --interface 127.0.0.2 >/dev/null
t_eq "a machine network's open after it: counted, no second event" "1 2 2" \
    "$(events message.opened "$M2") $(svc_psql "SELECT count, machine_count FROM postinbox.engagement WHERE message_id = '$M2' AND kind = 'open'" | tr '|' ' ')"
get "$PIX2" >/dev/null
t_eq "then a person: the first real open is reported, first: true" "2 false true" \
    "$(events message.opened "$M2") $(svc_psql "SELECT payload->>'machine', payload->>'first' FROM postinbox.event WHERE type = 'message.opened' AND message_id = '$M2' ORDER BY created_at DESC LIMIT 1" | tr '|' ' ')"
sleep 3
get "$(part "$D/got2" text/html | tok c 2)" "Mozilla/5.0 Barracuda Sentinel (EE)" >/dev/null
t_eq "a security scanner's click: machine, scanner" "true|scanner|user_agent" \
    "$(svc_psql "SELECT payload->>'machine', payload->>'userAgent', payload->>'machineReason' FROM postinbox.event WHERE type = 'message.clicked' AND message_id = '$M2'")"

# --- one-click unsubscribe -------------------------------------------------------------------
U1=$(grep -o "$BASE/u/[A-Za-z0-9_-]\{34\}" "$D/got1")
t_eq "GET of the unsubscribe URL: a page that posts" "200 1" "$(get "$U1" | tr -d ' ') $(grep -c '<form method="post">' "$SVC_DIR/get.body")"
t_eq "... and suppresses nobody" 0 "$(svc_psql "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$T_ID'")"
t_eq "POST (RFC 8058): 200" "200 " "$(get "$U1" "$UA_PERSON" -X POST --data 'List-Unsubscribe=One-Click')"
t_eq "... the recipient is on the inbox's list, source unsubscribe" "x@remote.test|unsubscribe" \
    "$(svc_psql "SELECT address, source FROM postinbox.suppression WHERE inbox_id = '$T_ID'")"
t_eq "... one message.unsubscribed" 1 "$(events message.unsubscribed "$M1")"
get "$U1" "$UA_PERSON" -X POST --data 'List-Unsubscribe=One-Click' >/dev/null
t_eq "a second POST: still one entry, one event" "1 1" \
    "$(svc_psql "SELECT count(*) FROM postinbox.suppression WHERE inbox_id = '$T_ID'") $(events message.unsubscribed "$M1")"
hwait "any(r['json']['type'] == 'message.unsubscribed' and r['verified'] for r in under('/ok/t'))" 15
t_eq "the message.unsubscribed webhook names the address" "x@remote.test" \
    "$(hq "[r for r in under('/ok/t') if r['json']['type'] == 'message.unsubscribed'][0]['json']['data']['address']")"
r=$(smtp_send "${AUTH[@]}" --from "$T" --to x@remote.test --data "@$D/t1")
t_match "the next send to them is refused at RCPT" '^550 5\.1\.1 .*unsubscribed' "$r"

# --- tracking off, and what is not rewritten ------------------------------------------------------
html_msg "$O" o1@plain "$D/h1.html" >"$D/o1"
smtp_send "${AUTH[@]}" --from "$O" --to y@remote.test --data "@$D/o1" >/dev/null
pi_sink_wait o1@plain "$D/goto1"
# the body after the header, line ends as LF, without the two empty lines smtp-sink adds at the end
body_of() { printf '%s' "$(sed '1,/^\r\?$/d' "$1" | tr -d '\r')" | sha256sum; }
t_eq "tracking off: the body is byte-identical" "$(body_of "$D/o1")" "$(body_of "$D/goto1")"
t_eq "... no List-Unsubscribe, no tracking id" "0 " \
    "$(grep -c '^List-Unsubscribe' "$D/goto1") $(svc_psql "SELECT tracking_id FROM postinbox.message WHERE message_id_header = '<o1@plain>'")"
printf 'From: <%s>\r\nTo: <z@remote.test>\r\nSubject: text only\r\nMessage-ID: <t3@tracked>\r\n\r\nJust text, https://example.com/x\r\n' "$T" >"$D/t3"
smtp_send "${AUTH[@]}" --from "$T" --to z@remote.test --data "@$D/t3" >/dev/null
pi_sink_wait t3@tracked "$D/got3"
t_eq "text only: the body is byte-identical, List-Unsubscribe added, DKIM passes" "same 1 pass" \
    "$([ "$(body_of "$D/t3")" = "$(body_of "$D/got3")" ] && echo same) $(grep -c '^List-Unsubscribe:' "$D/got3") $(verify "$D/got3" | cut -d' ' -f1)"
html_msg "$T" t6@tracked "$D/h1.html" >"$D/t6"
smtp_send "${AUTH[@]}" --from "$T" --to a@remote.test,b@remote.test --data "@$D/t6" >/dev/null
pi_sink_wait t6@tracked "$D/got6"
t_eq "two recipients: links rewritten, but no List-Unsubscribe (it could not say who)" "2 0" \
    "$(part "$D/got6" text/html | grep -c "$BASE/c/") $(grep -c '^List-Unsubscribe' "$D/got6")"
t_eq "... one message, both recipients" '{a@remote.test,b@remote.test}' \
    "$(svc_psql "SELECT envelope_to FROM postinbox.message WHERE message_id_header = '<t6@tracked>'")"

# --- hostile HTML ------------------------------------------------------------------------------
/usr/bin/python3 -c '
import sys
links = "".join("<a href=\"https://example.com/l/%d\">%d</a>\n" % (i, i) for i in range(10000))
sys.stdout.write("<html><body>" + links + "</body></html>\n")' >"$D/many.html"
html_msg "$T" t4@tracked "$D/many.html" >"$D/t4"
t_match "10,000 links: accepted" '^250 ' "$(smtp_send "${AUTH[@]}" --from "$T" --to w@remote.test --data "@$D/t4")"
pi_sink_wait t4@tracked "$D/got4"
t_eq "... the first 1000 rewritten (tracking_max_links), the rest left, DKIM passes" "1000 9000 pass" \
    "$(part "$D/got4" text/html | grep -c "$BASE/c/") $(part "$D/got4" text/html | grep -c 'href="https://example.com/l/') $(verify "$D/got4" | cut -d' ' -f1)"
t_eq "... the record keeps 1000 links" 1000 \
    "$(svc_psql "SELECT cardinality(links) FROM postinbox.message WHERE message_id_header = '<t4@tracked>'")"
/usr/bin/python3 -c '
import sys
sys.stdout.write("<html><body><a href=\"https://example.com/ok\">ok</a><a href=\"https://example.com/" + "x" * 1000000 +
  "\">huge</a><div <a href=<<<\"\x27 <a href=\"https://example.com/after\">after</a> <p <b></i><a href=\"https://example.com/open")' >"$D/broken.html"
html_msg "$T" t5@tracked "$D/broken.html" >"$D/t5"
t_match "broken HTML with a 1 MB attribute: accepted" '^250 ' \
    "$(smtp_send "${AUTH[@]}" --from "$T" --to v@remote.test --data "@$D/t5")"
pi_sink_wait t5@tracked "$D/got5"
t_eq "... the huge link left as it was, DKIM passes" "1 pass" \
    "$(part "$D/got5" text/html | grep -c 'xxxxxxxxxx"') $(verify "$D/got5" | cut -d' ' -f1)"
t_eq "... the milter is still up" "1" "$(pgrep -f -c "postinbox-milter -c $PI_CONF")"

# --- a purged inbox's tokens ------------------------------------------------------------------------
html_msg "$P" p1@purged "$D/h1.html" >"$D/p1"
smtp_send "${AUTH[@]}" --from "$P" --to x@remote.test --data "@$D/p1" >/dev/null
pi_sink_wait p1@purged "$D/gotp1"
PC=$(part "$D/gotp1" text/html | tok c 1)
t_eq "another account's link works before the purge" "302 https://example.com/one?a=1&b=2" "$(sleep 3; get "$PC")"
t_eq "its inbox purged by its account (inbox_purge, as DELETE /v1/inboxes/{id}?purge=true)" t \
    "$(svc_psql "SELECT inbox_found FROM postinbox.inbox_purge('$P_ID', '$B', 'test')")"
t_eq "... its links answer 404" "404 " "$(get "$PC")"

t_summary
