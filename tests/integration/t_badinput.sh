#!/usr/bin/env bash
# t_badinput.sh -- hostile and broken input gets a clean reply and a valid
# row (or none), never a crash: invalid UTF-8 and NUL bytes in headers,
# 1 MB of headers, a 5,000-character Message-ID, malformed addresses, SQL
# metacharacters in addresses.
set -u
. "$(dirname "$0")/common.sh"
pi_setup

A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
pi_ctl login grant --login alice@example.test --inbox "$BOB" >/dev/null
AUTH=(-a PLAIN -au alice@example.test -ap secret)
D=$SVC_DIR/data
mkdir -p "$D"

# message FILE: a complete message with the given extra header lines (stdin).
message() {
    { printf 'From: ext@remote.test\r\nTo: %s\r\nMessage-ID: <%s@remote.test>\r\n' "$BOB" "$2"
      cat
      printf '\r\nbody\r\n'; } > "$1"
}
subject_of() { svc_psql "SELECT subject FROM postinbox.message WHERE message_id_header = '<$1@remote.test>'"; }

printf 'Subject: bad \xff\xfe bytes \xc3\x28 and \xed\xa0\x80 end\r\n' | message "$D/utf8" utf8
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/utf8")
t_match "invalid UTF-8 in Subject: accepted" '^250 ' "$r"
s=$(subject_of utf8)
t_match "invalid UTF-8 in Subject: stored" '^bad .+ bytes .+ and .+ end$' "$s"
# Raw 8-bit bytes are read as Latin-1 (what legacy mailers mean), so the
# stored text is valid UTF-8 with the bytes turned into characters.
t_eq "invalid UTF-8 in Subject: stored as valid multi-byte UTF-8, nothing dropped" "t" \
    "$(svc_psql "SELECT octet_length(subject) > char_length(subject) AND char_length(subject) >= 25
                   FROM postinbox.message WHERE message_id_header = '<utf8@remote.test>'")"

printf 'Subject: nul\x00byte here\r\nX-Nul: a\x00b\r\n' | message "$D/nul" nul
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/nul")
t_match "NUL bytes in headers: a clean reply" '^(250|5[0-9][0-9]) ' "$r"
if [[ $r == 250* ]]; then
    t_eq "NUL bytes in headers: exactly one row" 1 \
        "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE message_id_header = '<nul@remote.test>'")"
fi

printf 'Subject: =?utf-8?b?%s?=\r\n' "$(printf 'enc\x00oded \xff' | base64 -w0)" | message "$D/encnul" encnul
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/encnul")
t_match "NUL and invalid bytes inside an encoded-word: accepted" '^250 ' "$r"
t_match "encoded NUL and invalid byte replaced, the rest kept" '^enc.oded .$' "$(subject_of encnul)"

python3 - "$D/hugehdr" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"From: ext@remote.test\r\nTo: x\r\nMessage-ID: <huge@remote.test>\r\n")
    f.write(b"Subject: " + b"S" * 300000 + b"\r\n")
    for i in range(7000):
        f.write(b"X-Filler-%05d: " % i + b"f" * 90 + b"\r\n")
    f.write(b"\r\nbody\r\n")
PY
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/hugehdr")
t_match "1 MB of headers: a clean reply" '^(250|5[0-9][0-9]) ' "$r"
if [[ $r == 250* ]]; then
    len=$(svc_psql "SELECT octet_length(subject) FROM postinbox.message WHERE message_id_header = '<huge@remote.test>'")
    (( ${len:-0} > 0 && ${len:-0} <= 4096 )) && t_ok "1 MB of headers: subject stored, bounded ($len bytes)" \
        || t_fail "1 MB of headers: subject stored, bounded" "length ${len:-none}"
fi

# A 5,000-character Message-ID (and In-Reply-To): stored cut to 998 bytes,
# never a row too large for its index (which would tempfail the message forever).
LONGID="<$(head -c 4000 /dev/urandom | base64 -w0 | tr -d '/+=' | head -c 5000)@remote.test>"
{ printf 'From: ext@remote.test\r\nTo: %s\r\nSubject: longid\r\nMessage-ID: %s\r\nIn-Reply-To: %s\r\n\r\nbody\r\n' \
      "$BOB" "$LONGID" "$LONGID"; } > "$D/longid"
r=$(smtp_send --from ext@remote.test --to "$BOB" --data "@$D/longid")
t_match "a 5,000-character Message-ID: accepted" '^250 ' "$r"
t_eq "the Message-ID and In-Reply-To are stored cut to 998 bytes" "998 998" \
    "$(svc_psql "SELECT octet_length(message_id_header), octet_length(in_reply_to) FROM postinbox.message WHERE subject = 'longid'" | tr '|' ' ')"

# Malformed addresses, end to end: Postfix refuses some itself (501 5.1.3,
# they never reach the milter); every other one reaches the milter, whose
# promise is 553 5.1.3 "malformed address", one reject line with
# reason=malformed in its log.  None may crash it or leave a row.
malformed_lines() { grep -c 'action=reject reason=malformed' "$(pi_milter_log)"; }
rows_before=$(svc_psql "SELECT count(*) FROM postinbox.message")
while read -r door addr; do
    before=$(malformed_lines)
    r=$(smtp_send --from ext@remote.test --to "$addr")
    if [ "$door" = milter ]; then
        t_match "malformed recipient $addr: the milter's 553 5.1.3" '^553 5\.1\.3 malformed address$' "$r"
        t_eq "malformed recipient $addr: the milter logged it as malformed" $((before + 1)) "$(malformed_lines)"
    else
        t_match "malformed recipient $addr: Postfix's own 501 5.1.3" '^501 5\.1\.3 Bad recipient address syntax$' "$r"
        t_eq "malformed recipient $addr: never reached the milter" "$before" "$(malformed_lines)"
    fi
done <<EOF
milter <a@@sandbox.test>
milter <@sandbox.test>
postfix <bob--acme@>
postfix <"unterminated@sandbox.test>
postfix <bob--acme@sandbox..test>
postfix <x@-bad-.test>
milter <$(printf 'a%.0s' $(seq 1 300))@sandbox.test>
EOF
before=$(malformed_lines)
r=$(smtp_send "${AUTH[@]}" --from '<bob--acme@@sandbox.test>' --to x@remote.test)
t_match "malformed sender: the milter's 553 5.1.3" '^553 5\.1\.3 malformed address$' "$r"
t_eq "malformed sender: the milter logged it as malformed, at MAIL" "$((before + 1)) 1" \
    "$(malformed_lines) $(grep -c 'stage=mail .*action=reject reason=malformed' "$(pi_milter_log)")"
t_eq "malformed addresses left no row" "$rows_before" "$(svc_psql "SELECT count(*) FROM postinbox.message")"

# SQL metacharacters are data, not code.
r=$(smtp_send --from "o'brien'--or'1'='1@remote.test" --to "$BOB")
t_match "SQL metacharacters in the sender: accepted as data" '^250 ' "$r"
r=$(smtp_send --from '"x'"'"'); DROP TABLE postinbox.inbox;--"@remote.test' --to "$BOB")
t_match "quoted sender with ; and spaces: accepted as data" '^250 ' "$r"
r=$(smtp_send --from ext@remote.test --to "o'brien'--@$SANDBOX")
t_match "SQL metacharacters in an unknown sandbox recipient: 550 5.1.1" '^550 5\.1\.1 ' "$r"
r=$(smtp_send --from ext@remote.test --to "\"x' OR '1'='1\"@$SANDBOX")
t_match "SQL injection attempt as recipient: refused, not matched" '^550 5\.1\.1 ' "$r"
t_eq "tables intact after SQL metacharacters" 1 "$(svc_psql "SELECT count(*) FROM postinbox.inbox")"
t_eq "the metacharacter senders stored verbatim" 2 \
    "$(svc_psql "SELECT count(*) FROM postinbox.message WHERE envelope_from IN
                   ('o''brien''--or''1''=''1@remote.test', '\"x''); drop table postinbox.inbox;--\"@remote.test')")"

kill -0 "$(pi_milter_pid)" && t_ok "the milter is still running" || t_fail "the milter is still running"
r=$(smtp_send "${AUTH[@]}" --from "$BOB" --to after@remote.test)
t_match "and still answers normally" '^250 ' "$r"
t_summary
