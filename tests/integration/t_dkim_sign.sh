#!/usr/bin/env bash
# t_dkim_sign.sh -- DKIM signing in the milter, end to end (issue 13): mail
# from an inbox goes through the real Postfix + postinbox-milter to an
# smtp-sink that keeps every message, and Debian's python3-dkim verifies
# each one independently, asking a real DNS server (NSD, tests/integration/
# dns.sh) for the key: the zones are what `postinboxctl domain records
# --zone` prints.  Custom and sandbox domains are
# signed with d= the From domain (DMARC alignment); a message altered after
# signing fails; mail not from an inbox is not signed; a rotation keeps
# every message verifiable; a domain without a key tempfails with nothing
# recorded or charged; a database from before DKIM gets its keys at migrate.
set -u
here=$(dirname "$0")
. "$here/common.sh"
. "$here/dns.sh"
pi_setup "dkim_key_cache = 0" "dns_spf = ip4:127.0.0.1 include:_spf.operator.test" \
    "dns_mx = mx1.operator.test mx2.operator.test." "dns_dmarc_rua = dmarc-reports@operator.test"

pi_start_sink remote.test || exit 1
AUTH=(-a PLAIN -au alice@example.test -ap secret)

A=$(pi_account "Signed" signed)
pi_ctl domain add --account "$A" --name signed.test --verified >/dev/null
read -r AGENT_ID AGENT <<<"$(pi_inbox "$A" agent --domain signed.test)"
read -r SB_ID SB <<<"$(pi_inbox "$A" sandy)"
SBD=${SB#*@}
pi_ctl login grant --login alice@example.test --inbox "$AGENT" >/dev/null
pi_ctl login grant --login alice@example.test --inbox "$SB" >/dev/null

# publish: each domain's zone is what `domain records --zone` prints
publish() {   # publish DOMAIN
    pi_ctl domain records "$1" --zone | dns_zone "$1"
}
publish signed.test
publish "$SBD"
dns_start || exit 1
SEL=$(pi_ctl --json domain dkim show signed.test | json_get keys.0.selector)
t_match "NSD serves the DKIM record" '^v=DKIM1; k=rsa; p=' "$(dns_txt "$SEL._domainkey.signed.test")"

# --- domain records: what the owner publishes --------------------------------
TOKEN=$(svc_psql "SELECT verification_token FROM postinbox.domain WHERE name = 'signed.test'")
t_match "each domain has a verification token" '^[0-9a-f]{32}$' "$TOKEN"
t_eq "records --json: the five kinds, in order" "ownership spf dkim dmarc mx mx" \
    "$(pi_ctl --json domain records signed.test | python3 -c 'import json,sys; print(" ".join(r["purpose"] for r in json.load(sys.stdin)["records"]))')"
t_eq "NSD serves the ownership record from the zone" "postinbox-verification=$TOKEN" "$(dns_txt _postinbox.signed.test)"
t_eq "... the SPF record with the operator's mechanisms" "v=spf1 ip4:127.0.0.1 include:_spf.operator.test ~all" \
    "$(dns_txt signed.test)"
t_eq "... the DMARC record, p=none with the report address" "v=DMARC1; p=none; rua=mailto:dmarc-reports@operator.test" \
    "$(dns_txt _dmarc.signed.test)"
t_eq "... and the DKIM record is the key's" \
    "$(pi_ctl --json domain dkim show signed.test | json_get keys.0.value)" "$(dns_txt "$SEL._domainkey.signed.test")"
out=$(pi_ctl domain records signed.test)
t_eq "records: MX in order of preference, names absolute" \
    "mx        signed.test. MX 10 mx1.operator.test.|mx        signed.test. MX 20 mx2.operator.test." \
    "$(echo "$out" | grep '^mx ' | paste -sd '|')"
t_eq "records print no private key" 0 "$(pi_ctl domain records signed.test --zone | grep -c 'PRIVATE\|v1:')"
t_eq "records of an unknown domain: exit 1" 1 "$(pi_ctl domain records nope.test >/dev/null 2>&1; echo $?)"
t_eq "records of a domain that is not a name: exit 1, nothing printed" "1 " \
    "$(o=$(pi_ctl domain records "bad name;" 2>/dev/null); echo "$? $o")"

msg() {   # msg FROM MESSAGE-ID: a message (headers and a body) on stdout
    printf 'From: Agent <%s>\r\nTo: <x@remote.test>\r\nSubject: signed %s\r\nDate: %s\r\nMessage-ID: <%s>\r\n' \
        "$1" "$2" "$(date -R)" "$2"
    printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
    printf 'Hello from %s.\r\n\r\n  two spaces, a tab\tand trailing blanks   \r\n.dot line\r\n\r\n\r\n' "$1"
}
D=$SVC_DIR/m; mkdir -p "$D"

# --- a custom domain --------------------------------------------------------
msg "$AGENT" m1@signed.test >"$D/m1"
r=$(smtp_send "${AUTH[@]}" --from "$AGENT" --to x@remote.test --data "@$D/m1")
t_match "custom domain: accepted" '^250 ' "$r"
pi_sink_wait m1@signed.test "$D/got1"
t_eq "custom domain: one DKIM-Signature, above the message's own fields" "1 yes" \
    "$(grep -c '^DKIM-Signature:' "$D/got1") $([ "$(grep -n -m1 '^DKIM-Signature:' "$D/got1" | cut -d: -f1)" -lt \
        "$(grep -n -m1 '^From:' "$D/got1" | cut -d: -f1)" ] && echo yes)"
t_eq "custom domain: python3-dkim verifies it (key from NSD), d= aligned with From" \
    "pass d=signed.test s=$SEL from=signed.test" "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got1" --dns "$DNS_PORT")"
sig=$(sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$D/got1" | sed '$d' | tr -d '\n\t ')
t_match "relaxed/relaxed rsa-sha256" 'a=rsa-sha256;.*c=relaxed/relaxed;' "$sig"
t_match "From over-signed, Subject, Date, To, Message-ID signed" \
    'h=from:(.*:)?subject:(.*:)?date:(.*:)?to:(.*:)?message-id:(.*:)?from|h=.*from.*from' "$(echo "$sig" | tr 'A-Z' 'a-z')"
t_eq "... and from appears in h= once more than in the message" 2 \
    "$(echo "$sig" | tr 'A-Z' 'a-z' | sed 's/.*h=\([^;]*\);.*/\1/' | tr ':' '\n' | grep -cx from)"
sed 's/Hello from/Hallo from/' "$D/got1" >"$D/bad1"
t_match "a body altered after signing fails" '^fail' "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/bad1" --dns "$DNS_PORT")"
sed 's/^Subject: signed/Subject: unsigned/' "$D/got1" >"$D/bad2"
t_match "a Subject altered after signing fails" '^fail' "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/bad2" --dns "$DNS_PORT")"
sed 's/^\(To: .*\)$/From: ceo@signed.test\r\n\1/' "$D/got1" >"$D/bad3"
t_match "a second From added after signing fails (over-signed)" '^fail' \
    "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/bad3" --dns "$DNS_PORT")"
t_eq "custom domain: recorded once" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE message_id_header = '<m1@signed.test>'")"

# --- the sandbox domain -----------------------------------------------------
msg "$SB" m2@sandbox >"$D/m2"
r=$(smtp_send "${AUTH[@]}" --from "$SB" --to x@remote.test --data "@$D/m2")
t_match "sandbox: accepted" '^250 ' "$r"
pi_sink_wait m2@sandbox "$D/got2"
SBSEL=$(pi_ctl --json domain dkim show "$SBD" | json_get keys.0.selector)
t_eq "sandbox: verifies, d= the sandbox domain" "pass d=$SBD s=$SBSEL from=$SBD" \
    "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got2" --dns "$DNS_PORT")"

# --- mail not from an inbox -------------------------------------------------
msg ext@elsewhere.test m3@elsewhere >"$D/m3"
r=$(smtp_send --from ext@elsewhere.test --to x@remote.test --data "@$D/m3")
t_match "a relay from a trusted client that is no inbox: accepted" '^250 ' "$r"
pi_sink_wait m3@elsewhere "$D/got3"
t_eq "... and not signed" 0 "$(grep -c '^DKIM-Signature:' "$D/got3")"

# --- rotation: every message verifies through the switch ------------------
NEW=$(pi_ctl --json domain dkim rotate signed.test | json_get keys.0.selector)
publish signed.test
msg "$AGENT" m4@signed.test >"$D/m4"
smtp_send "${AUTH[@]}" --from "$AGENT" --to x@remote.test --data "@$D/m4" >/dev/null
pi_sink_wait m4@signed.test "$D/got4"
t_eq "rotate: still signed with the active key while the new one is pending" \
    "pass d=signed.test s=$SEL from=signed.test" "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got4" --dns "$DNS_PORT")"
pi_ctl domain dkim activate signed.test >/dev/null
publish signed.test
msg "$AGENT" m5@signed.test >"$D/m5"
smtp_send "${AUTH[@]}" --from "$AGENT" --to x@remote.test --data "@$D/m5" >/dev/null
pi_sink_wait m5@signed.test "$D/got5"
t_eq "activate: signed with the new key" "pass d=signed.test s=$NEW from=signed.test" \
    "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got5" --dns "$DNS_PORT")"
t_eq "the message signed before the switch still verifies (retired key published)" \
    "pass d=signed.test s=$SEL from=signed.test" "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got4" --dns "$DNS_PORT")"

# --- a domain without a key: 451, nothing recorded, nothing charged --------
before=$(pi_sends_today "$AGENT_ID")
svc_psql "DELETE FROM postinbox.dkim_key k USING postinbox.domain d WHERE d.id = k.domain_id AND d.name = 'signed.test'" >/dev/null
msg "$AGENT" m6@signed.test >"$D/m6"
r=$(smtp_send "${AUTH[@]}" --from "$AGENT" --to x@remote.test --data "@$D/m6")
t_match "no key: 451 4.3.0 at end of message" '^451 4\.3\.0 ' "$r"
t_eq "no key: nothing recorded" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE message_id_header = '<m6@signed.test>'")"
t_eq "no key: nothing charged" "$before" "$(pi_sends_today "$AGENT_ID")"
t_match "no key: logged with the queue id and the fix" \
    '^.*[0-9A-F]{6,}: stage=eom .*action=tempfail reason=dkim_key_missing error=".*has no active DKIM key.*domain dkim rotate signed.test --activate' \
    "$(grep 'reason=dkim_key_missing' "$(pi_milter_log)" | tail -n 1)"
t_eq "no private key in the milter's log" 0 "$(grep -c 'PRIVATE KEY\|v1:' "$(pi_milter_log)")"

# --- migrate gives a domain of an older version its key ---------------------
out=$(pi_ctl migrate 2>&1)
t_eq "migrate: exit 0" 0 $?
t_match "migrate: made the missing key" 'made an active DKIM key for 1 domain' "$out"
publish signed.test
msg "$AGENT" m7@signed.test >"$D/m7"
r=$(smtp_send "${AUTH[@]}" --from "$AGENT" --to x@remote.test --data "@$D/m7")
t_match "after migrate: accepted" '^250 ' "$r"
pi_sink_wait m7@signed.test "$D/got7"
t_match "after migrate: signed and verified" '^pass d=signed.test s=pi' \
    "$(/usr/bin/python3 "$here/../dkim_verify.py" "$D/got7" --dns "$DNS_PORT")"
t_eq "the sends that were accepted, counted" $((before + 1)) "$(pi_sends_today "$AGENT_ID")"

t_summary
