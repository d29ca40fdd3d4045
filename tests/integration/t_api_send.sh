#!/usr/bin/env bash
# t_api_send.sh -- POST /v1/inboxes/{id}/messages end to end: curl ->
# postinbox-policyd's API -> the local Postfix (api_submission, with
# AUTH PLAIN as the service login api_submission_login; trusted_networks
# stays empty) -> postinbox-milter's checks and caps ->
# the rows.  202 with messageId and queueId for a queued message; the burst
# guard answers 429 with Retry-After and the milter's reason, and charges
# nothing more; a suspended inbox 403; bad input 400 before any SMTP; an
# inbox key cannot send as another inbox.  A local user without the
# service login's password (runuser -u nobody) cannot send as any inbox,
# of this account or another; a wrong or unreadable password file fails
# the send cleanly and charges nothing.
# Recipients are read with one strict grammar and Postfix receives the
# same address in the envelope and in To/Cc (read from its queue file with
# postcat); a body with a bare CR is refused (issue 10, item 7).
set -u
. "$(dirname "$0")/common.sh"
command -v curl >/dev/null || { echo "SKIP: needs curl"; exit 77; }
pi_init --policyd
API_PORT=$(_svc_pick_ports 1) || exit 1
# The milter does not read the api_ keys.
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT" \
    "api_submission = 127.0.0.1:$SMTP_PORT" "api_submission_timeout = 10s"
API=http://127.0.0.1:$API_PORT

A=$(pi_account "Acme" acme)
read -r BURST_ID BURST <<<"$(pi_inbox "$A" bursty --burst-limit 2)"
read -r SUSP_ID SUSP <<<"$(pi_inbox "$A" susp)"
read -r OTHER_ID OTHER <<<"$(pi_inbox "$A" other)"
pi_ctl inbox suspend "$SUSP" --reason "test: suspended" >/dev/null
KA=$(pi_ctl --json apikey create --account "$A" --name admin | json_get key)
KI=$(pi_ctl --json apikey create --account "$A" --inbox "$OTHER_ID" --name other | json_get key)

# post INBOX_ID KEY BODY: prints "STATUS RETRY-AFTER BODY" (RETRY-AFTER "-" when absent).
post() {
    local hdr=$SVC_DIR/api.hdr out ra
    out=$(curl -s -D "$hdr" -o "$SVC_DIR/api.body" -w '%{http_code}' -X POST -H "x-api-key: $2" \
        -H 'Content-Type: application/json' --data-binary "$3" "$API/v1/inboxes/$1/messages")
    ra=$(awk 'tolower($1) == "retry-after:" { gsub(/\r/, "", $2); print $2 }' "$hdr")
    echo "$out ${ra:--} $(cat "$SVC_DIR/api.body")"
}
field() { cut -d' ' -f3- <<<"$1" | json_get "$2"; }
rows_of() { svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$1' AND direction = 'outbound'"; }
connects() { grep -c 'postfix/smtpd.*: connect from' "$(svc_maillog)"; }

# The API's sendsToday below is the day's: these sends and that read lie within one UTC day.
pi_clear_of_midnight 30
for i in 1 2; do
    r=$(post "$BURST_ID" "$KA" "{\"to\": \"friend$i@remote.test\", \"subject\": \"hello $i\", \"text\": \"body $i\"}")
    t_eq "send $i: 202 queued" "202 queued" "${r%% *} $(field "$r" status)"
    MID=$(field "$r" messageId)
    t_eq "send $i: the milter recorded it under its Message-ID and queue id" "1" \
        "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$BURST_ID' AND direction = 'outbound'
                       AND message_id_header = '$MID' AND queue_id = '$(field "$r" queueId)'")"
done
r=$(post "$BURST_ID" "$KA" '{"to": "friend3@remote.test", "subject": "hello 3", "text": "body 3"}')
read -r st ra _ <<<"$r"
t_eq "the 3rd send within 60 s: 429 burst_limit" "429 burst_limit" "$st $(field "$r" error.code)"
t_match "429 carries Retry-After in seconds (1-60)" '^([1-9]|[1-5][0-9]|60)$' "$ra"
t_match "429 names the inbox and the burst guard" "$BURST" "$(field "$r" error.message)"
t_eq "nothing charged or recorded beyond the guard" "2 2" \
    "$(curl -s -H "x-api-key: $KA" "$API/v1/inboxes/$BURST_ID" | json_get sendsToday) $(rows_of "$BURST_ID")"

r=$(post "$SUSP_ID" "$KA" '{"to": "friend@remote.test", "subject": "s", "text": "t"}')
t_eq "a suspended inbox: 403 sender_refused, no row" "403 sender_refused 0" "${r%% *} $(field "$r" error.code) $(rows_of "$SUSP_ID")"

before=$(connects)
for body in '{"to": "a@remote.test\r\nBcc: x@evil.test", "subject": "s", "text": "t"}' \
            '{"to": "friend@remote.test", "subject": "line\nBcc: x@evil.test", "text": "t"}' \
            '{"to": [], "subject": "s", "text": "t"}' '{"to": "friend@remote.test", "subject": "s"}'; do
    r=$(post "$OTHER_ID" "$KA" "$body")
    t_eq "bad input refused with 400: $(head -c 50 <<<"$body")" 400 "${r%% *}"
done
t_eq "bad input never reached Postfix" "$before" "$(connects)"

r=$(post "$BURST_ID" "$KI" '{"to": "friend@remote.test", "subject": "s", "text": "t"}')
t_eq "an inbox key cannot send as another inbox: 403, nothing sent" "403 2" "${r%% *} $(rows_of "$BURST_ID")"
r=$(post "$OTHER_ID" "$KI" '{"to": "friend@remote.test", "subject": "mine", "text": "t"}')
t_eq "but sends as its own inbox: 202" 202 "${r%% *}"

# --- credentials: the API authenticates; a local user without them sends as nobody ---
t_eq "the config trusts no network: the sends above were authenticated" "" "$(grep '^trusted_networks' "$PI_CONF")"
t_match "Postfix saw the API's submissions as the service login" "sasl_method=PLAIN, sasl_username=$PI_SUBMIT_LOGIN" \
    "$(cat "$(svc_maillog)")"
B=$(pi_account "Second" second)
read -r FOREIGN_ID FOREIGN <<<"$(pi_inbox "$B" victim)"
PUB=$(mktemp -d /tmp/pi-smtp.XXXXXX)
chmod 755 "$PUB"
cat >"$PUB/mail_from.py" <<'PY'
# mail_from.py PORT FROM [LOGIN PASSWORD]: the reply to MAIL FROM (or to AUTH when it fails), "CODE TEXT".
import smtplib, sys
s = smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=20)
s.ehlo("local.test")
if len(sys.argv) > 3:
    try:
        s.login(sys.argv[3], sys.argv[4])
    except smtplib.SMTPAuthenticationError as e:
        print(e.smtp_code, e.smtp_error.decode())
        sys.exit(0)
code, text = s.mail(sys.argv[2])
if code == 250:
    code, text = s.rcpt("victim@foreign.test")
print(code, text.decode().replace("\n", " "))
s.quit()
PY
as_nobody() { runuser -u nobody -- /usr/bin/python3 "$PUB/mail_from.py" "$SMTP_PORT" "$@" 2>&1; }
sends_other=$(pi_sends_today "$OTHER_ID") rows_other=$(rows_of "$OTHER_ID")
t_match "a local user without credentials cannot send as an inbox: 550 5.7.1" "^550 5\.7\.1 .*may only send with authentication" \
    "$(as_nobody "$OTHER")"
t_match "nor as another account's inbox" "^550 5\.7\.1 " "$(as_nobody "$FOREIGN")"
t_match "nor as one spelled with quotes" "^550 5\.7\.1 " "$(as_nobody "\"${OTHER%@*}\"@${OTHER#*@}")"
t_match "guessing the service login's password: 535" "^535 " "$(as_nobody "$OTHER" "$PI_SUBMIT_LOGIN" wrong-password)"
t_match "a tenant's own login is not the service login: not granted" "^553 5\.7\.1 " \
    "$(as_nobody "$FOREIGN" alice@example.test secret)"
t_eq "the password file is closed to other users" "no" \
    "$(runuser -u nobody -- cat "$PI_SUBMIT_SECRET" >/dev/null 2>&1 && echo yes || echo no)"
t_eq "none of it charged or recorded anything" "$sends_other $rows_other 0 0" \
    "$(pi_sends_today "$OTHER_ID") $(rows_of "$OTHER_ID") $(pi_sends_today "$FOREIGN_ID") $(rows_of "$FOREIGN_ID")"
rm -rf "$PUB"

# The same sending code with a bad password file (postinboxctl send shares it).
bad_send() {
    local conf=$SVC_DIR/bad-submit.conf
    sed "s|^api_submission_password_file = .*|api_submission_password_file = $1|" "$PI_CONF" >"$conf"
    "$PI_CTL" -c "$conf" --json send "$OTHER" --to friend@remote.test --subject s --text t 2>/dev/null
}
printf 'not-the-password\n' >"$SVC_DIR/wrong.secret"; chmod 600 "$SVC_DIR/wrong.secret"
out=$(bad_send "$SVC_DIR/wrong.secret")
t_eq "a wrong password: 502 submission_refused (our own setup), nothing charged" "502 submission_refused $sends_other" \
    "$(json_get status <<<"$out") $(json_get error.code <<<"$out") $(pi_sends_today "$OTHER_ID")"
t_match "and the reply names AUTH, not the password" "^AUTH: " "$(json_get error.message <<<"$out")"
t_eq "the password never appears in the reply" "" "$(grep -F not-the-password <<<"$out")"
printf 'x\n' >"$SVC_DIR/open.secret"; chmod 644 "$SVC_DIR/open.secret"
out=$(bad_send "$SVC_DIR/open.secret")
t_eq "a password file everyone can read: 500, refused before connecting" "500 internal" \
    "$(json_get status <<<"$out") $(json_get error.code <<<"$out")"
t_match "naming the file's mode" "readable by other users" "$(json_get error.message <<<"$out")"
out=$(bad_send "$SVC_DIR/missing.secret")
t_match "a missing password file: 500 naming the file" "^500 .*missing.secret: No such file" \
    "$(json_get status <<<"$out") $(json_get error.message <<<"$out")"

# ---- issue 10, item 7: what To and Cc show is what the envelope says ----
# A message whose Subject starts with "hold-" stays in Postfix's hold queue,
# so the test reads what Postfix received from its queue file.
printf '/^Subject: hold-/ HOLD\n' >"$SVC_DIR/hold_checks"
svc_postconf -e "header_checks = regexp:$SVC_DIR/hold_checks" && svc_postfix_reload
# received QUEUE_ID: "envelope=A,B headers=A,B groups=N": the envelope
# recipients and the mailboxes of To and Cc as a mail client's RFC 5322
# parser reads them (local part unquoted, as Postfix keeps it), sorted,
# lower-cased; groups = how many named groups the headers hold.
received() {
    postcat -c "$(_SVC_PF_CONF)" -q "$1" 2>/dev/null | python3 -c '
import email, email.policy, sys
text = sys.stdin.read()
env = sorted(l[len("recipient: "):].lower() for l in text.splitlines() if l.startswith("recipient: "))
content = text.split("*** MESSAGE CONTENTS", 1)[1].split("\n", 1)[1].split("*** HEADER EXTRACTED", 1)[0]
msg = email.message_from_string(content, policy=email.policy.default)
hdr, groups = [], 0
for name in ("To", "Cc"):
    for h in msg.get_all(name) or []:
        for g in h.groups:
            groups += g.display_name is not None
            hdr += [(a.username + "@" + a.domain).lower() for a in g.addresses]
print("envelope=%s headers=%s groups=%d" % (",".join(env), ",".join(sorted(hdr)), groups))'
}
r=$(post "$OTHER_ID" "$KA" '{"to": ["Name <\tbob@remote.test>", "\"a.b\"@remote.test", "\"Mallory:ceo\"@bank.test"],
    "cc": ["Mallory: <ceo2@bank.test>", "Carol.Case@Remote.Test"], "subject": "hold-agree", "text": "line 1\nline 2\r\n"}')
t_eq "canonical recipients: 202 queued" "202 queued" "${r%% *} $(field "$r" status)"
t_eq "Postfix received the same recipients in the envelope and in To/Cc, no group, no TAB" \
    "envelope=a.b@remote.test,bob@remote.test,carol.case@remote.test,ceo2@bank.test,mallory:ceo@bank.test headers=a.b@remote.test,bob@remote.test,carol.case@remote.test,ceo2@bank.test,mallory:ceo@bank.test groups=0" \
    "$(received "$(field "$r" queueId)")"
t_eq "the RCPT TO lines Postfix logged carry no TAB" 0 "$(grep -c $'to=<\t' "$(svc_maillog)")"

before=$(connects)
while IFS='|' read -r what code body; do
    r=$(post "$OTHER_ID" "$KA" "$body")
    t_eq "refused with 400 $code: $what" "400 $code" "${r%% *} $(field "$r" error.code)"
done <<'ROWS'
a group delivering elsewhere|invalid_address|{"to": "Mallory:ceo@bank.example;@evil.example", "subject": "hold-x", "text": "t"}
':' in the domain|invalid_address|{"to": "bob@example.o2:g", "subject": "hold-x", "text": "t"}
unquoted ':' (To would show a group)|invalid_address|{"to": "Mallory:ceo@bank.example", "subject": "hold-x", "text": "t"}
unquoted ',' (To would show two addresses)|invalid_address|{"to": ["ok@remote.test"], "cc": "a,b@remote.test", "subject": "hold-x", "text": "t"}
a trailing dot unquoted|invalid_address|{"to": "x <yz.@w>", "subject": "hold-x", "text": "t"}
a domain without a dot (the check looks at the domain)|invalid_address|{"to": "x <\"yz.\"@w>", "subject": "hold-x", "text": "t"}
a body of one CR|invalid_body|{"to": "ok@remote.test", "subject": "hold-x", "text": "\r"}
a bare CR in the text|invalid_body|{"to": "ok@remote.test", "subject": "hold-x", "text": "a\rb\r\n"}
a bare CR in the html|invalid_body|{"to": "ok@remote.test", "subject": "hold-x", "text": "ok", "html": "<p>\r</p>"}
ROWS
t_match "the message names the rule" "CR not followed by LF" \
    "$(field "$(post "$OTHER_ID" "$KA" '{"to": "ok@remote.test", "subject": "s", "text": "\r"}')" error.message)"
t_eq "refused recipients and bodies never reached Postfix" "$before" "$(connects)"

t_summary
