#!/usr/bin/env bash
# t_dkim.sh -- DKIM keys (issue 13; signing: t_dkim_sign.sh):
# `postinboxctl domain add` gives a domain an RSA 2048 key pair, whose
# private key is stored sealed (lib/net/secretbox, the row's id as
# context), never in clear and never printed; `domain dkim show` prints
# the selector and a TXT record whose p= is the key's public half;
# rotate / activate move the states.  Needs no Postfix and no milter.
set -u
here=$(dirname "$0")
. "$here/common.sh"
pi_setup --no-postfix --no-milter

A=$(pi_account "Dkim" dkim)
out=$(pi_ctl domain add --account "$A" --name Signed.TEST --verified 2>&1)
t_eq "domain add: exit 0" 0 $?
t_eq "domain add prints no private key" "" "$(echo "$out" | grep -i 'PRIVATE KEY\|v1:')"

row=$(svc_psql "SELECT k.id || ' ' || k.selector || ' ' || k.algorithm || ' ' || k.state FROM postinbox.dkim_key k
                JOIN postinbox.domain d ON d.id = k.domain_id WHERE d.name = 'signed.test'")
t_match "one active rsa-sha256 key row" '^[0-9a-f-]{36} pi[0-9]{6}-[0-9a-f]{4} rsa-sha256 active$' "$row"
KID=${row%% *}
SEL=$(echo "$row" | cut -d' ' -f2)
sealed=$(svc_psql "SELECT private_key FROM postinbox.dkim_key WHERE id = '$KID'")
pub=$(svc_psql "SELECT public_key FROM postinbox.dkim_key WHERE id = '$KID'")
t_match "private key stored sealed" '^v1:[0-9a-f]{8}:[A-Za-z0-9+/]+=*$' "$sealed"
t_eq "no clear private key in any row" 0 \
    "$(svc_psql "SELECT count(*) FROM postinbox.dkim_key WHERE private_key LIKE '%PRIVATE KEY%' OR public_key LIKE '%PRIVATE%'")"
# The sealed value opens (with the row's id as context) to the private
# key of the stored public key, and to nothing under another row's id.
pem=$(pi_secret_open "$KID" "$sealed")
t_match "sealed value opens to a PKCS#8 PEM" '^-----BEGIN PRIVATE KEY-----' "$pem"
t_eq "the private key is RSA 2048 and matches public_key" "2048 $pub" \
    "$(echo "$pem" | openssl pkey -noout -text 2>/dev/null | sed -n 's/^Private-Key: (\([0-9]*\) bit.*/\1/p') $(echo "$pem" | openssl pkey -pubout -outform DER 2>/dev/null | base64 -w0)"
t_eq "sealed value does not open under another id" 1 \
    "$(pi_secret_open 00000000-0000-0000-0000-000000000000 "$sealed" >/dev/null 2>&1; echo $?)"

# --- domain dkim show -----------------------------------------------------
out=$(pi_ctl domain dkim show signed.test 2>&1)
t_eq "dkim show: exit 0" 0 $?
t_eq "dkim show prints no private key" "" "$(echo "$out" | grep -i 'PRIVATE\|v1:'; echo "$out" | grep -F "${sealed:12:40}")"
t_match "dkim show names the selector" "$SEL" "$out"
txt=$(echo "$out" | grep "^$SEL\._domainkey\.signed\.test\. TXT \"")
t_match "dkim show prints the TXT record, split into strings" \
    '^'"$SEL"'\._domainkey\.signed\.test\. TXT "v=DKIM1; k=rsa; p=[A-Za-z0-9+/]+=*"( "[A-Za-z0-9+/]+=*")+$' "$txt"
# The record parses: strings of at most 255 octets (RFC 1035 3.3), joined
# the tags per RFC 6376 3.6.1, p= a valid RSA 2048 public key.
parsed=$(echo "$txt" | python3 -c '
import base64, re, subprocess, sys
line = sys.stdin.read().strip()
parts = re.findall(r"\"([^\"]*)\"", line.split(" TXT ", 1)[1])
assert all(len(p) <= 255 for p in parts), [len(p) for p in parts]
value = "".join(parts)
tags = dict(t.strip().split("=", 1) for t in value.split(";") if t.strip())
der = base64.b64decode(tags["p"], validate=True)
text = subprocess.run(["openssl", "pkey", "-pubin", "-inform", "DER", "-noout", "-text"], input=der,
                      capture_output=True, check=True).stdout.decode()
bits = text.splitlines()[0]
print(len(parts), tags["v"], tags["k"], bits, tags["p"])
')
t_eq "TXT parses: 2 strings, v=DKIM1 k=rsa, p= an RSA 2048 public key equal to the row's" \
    "2 DKIM1 rsa Public-Key: (2048 bit) $pub" "$parsed"
t_eq "dkim show --json has no private key" "" \
    "$(pi_ctl --json domain dkim show signed.test | grep -i 'private\|v1:')"
t_eq "dkim show --json: selector" "$SEL" "$(pi_ctl --json domain dkim show signed.test | json_get keys.0.selector)"
t_eq "dkim show of an unknown domain: exit 1" 1 "$(pi_ctl domain dkim show nope.test >/dev/null 2>&1; echo $?)"
t_eq "dkim with a bad action: exit 2" 2 "$(pi_ctl domain dkim frob signed.test >/dev/null 2>&1; echo $?)"

# --- rotate, activate -----------------------------------------------------
sleep 0.01
new=$(pi_ctl --json domain dkim rotate signed.test | json_get keys.0.selector)
t_eq "rotate adds a pending key" "pending active" \
    "$(svc_psql "SELECT string_agg(state, ' ' ORDER BY state DESC) FROM postinbox.dkim_key k JOIN postinbox.domain d ON d.id = k.domain_id WHERE d.name = 'signed.test'")"
pi_ctl domain dkim activate signed.test > /dev/null
t_eq "activate: the new key active, the old retired" "$new active|$SEL retired" \
    "$(svc_psql "SELECT string_agg(selector || ' ' || state, '|' ORDER BY state) FROM postinbox.dkim_key k JOIN postinbox.domain d ON d.id = k.domain_id WHERE d.name = 'signed.test'")"

# --- without secret_key_file nothing is written ---------------------------
grep -v '^secret_key_file' "$PI_CONF" > "$SVC_DIR/nokey.conf"
rc=$("$PI_CTL" -c "$SVC_DIR/nokey.conf" domain add --account "$A" --name nokey.test >/dev/null 2>&1; echo $?)
t_eq "domain add without secret_key_file: exit 1" 1 "$rc"
t_eq "... and neither a domain nor a key row: a domain without its key is not made" "0 0" \
    "$(svc_psql "SELECT count(*) FROM postinbox.domain WHERE name = 'nokey.test'") $(svc_psql "SELECT count(*) FROM postinbox.dkim_key k JOIN postinbox.domain d ON d.id = k.domain_id WHERE d.name = 'nokey.test'")"
t_eq "... so adding it once the key file is there works" 0 \
    "$(pi_ctl domain add --account "$A" --name nokey.test >/dev/null 2>&1; echo $?)"

# --- a key file other users can read is refused, nothing written ----------------
chmod 0644 "$PI_SECRET_KEY"
out=$(pi_ctl domain add --account "$A" --name loose.test 2>&1)
t_eq "secret_key_file mode 0644: domain add exit 1" 1 $?
t_match "... saying why and what to do" 'mode 0644 lets other users read or change the key \(chmod 0600' "$out"
t_eq "... nothing written" 0 "$(svc_psql "SELECT count(*) FROM postinbox.domain WHERE name = 'loose.test'")"
t_eq "... and the key never in the message" no "$(grep -qF "$(cat "$PI_SECRET_KEY")" <<<"$out" && echo yes || echo no)"
chmod 0600 "$PI_SECRET_KEY"

t_summary
