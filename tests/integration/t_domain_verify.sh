#!/usr/bin/env bash
# t_domain_verify.sh -- `postinboxctl domain verify` against a real
# authoritative DNS server (NSD on loopback, tests/integration/dns.sh),
# asked through libunbound: a zone with nothing in it (missing), wrong
# records (invalid: another token, SPF without our hosts, another DKIM
# key, two DMARC records), the records `domain records --zone` prints
# (valid: the domain becomes verified), a zone the server does not serve
# (refused: unknown, never missing), a server that never answers (unknown
# within dns_timeout), and records that break after verification (the
# domain stays verified: a DNS hiccup must not stop mail).  Needs no
# Postfix and no milter.
set -u
here=$(dirname "$0")
. "$here/common.sh"
. "$here/dns.sh"
LINES=("dns_spf = ip4:127.0.0.1 include:_spf.operator.test" "dns_dmarc_rua = dmarc@operator.test" "dns_timeout = 1s")
pi_setup --no-postfix --no-milter "${LINES[@]}"

A=$(pi_account "Verify" verify)
pi_ctl domain add --account "$A" --name verify.test >/dev/null
pi_ctl domain add --account "$A" --name other.test >/dev/null
pi_ctl domain add --account "$A" --name unserved.test >/dev/null
t_eq "a domain added without --verified is not verified" f \
    "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'")"
printf 'www IN A 127.0.0.1\n' | dns_zone verify.test
pi_ctl domain records other.test --zone | dns_zone other.test
dns_start || exit 1
pi_write_conf "${LINES[@]}" "dns_resolver = 127.0.0.1@$DNS_PORT"

# status PURPOSE: the status of that record in the last --json answer
status() { python3 -c 'import json,sys; print(" ".join(r["status"] for r in json.load(open(sys.argv[1]))["records"] if r["purpose"] == sys.argv[2]))' "$SVC_DIR/v.json" "$1"; }
verify() {   # verify DOMAIN: --json into $SVC_DIR/v.json, prints the exit status
    pi_ctl --json domain verify "$1" >"$SVC_DIR/v.json" 2>"$SVC_DIR/v.err"
    echo $?
}

# --- nothing published ---------------------------------------------------------
t_eq "empty zone: exit 1" 1 "$(verify verify.test)"
t_eq "empty zone: ownership, spf, dkim, dmarc missing" "missing missing missing missing" \
    "$(status ownership) $(status spf) $(status dkim) $(status dmarc)"
t_eq "empty zone: says who answered" "127.0.0.1@$DNS_PORT" "$(json_get server <"$SVC_DIR/v.json")"
t_match "empty zone: the warning names the failing records" 'ownership missing, spf missing, dkim missing' \
    "$(cat "$SVC_DIR/v.err")"
t_eq "empty zone: still not verified" f "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'")"
out=$(pi_ctl inbox create --account "$A" --username agent --domain verify.test 2>&1)
t_eq "no inbox on an unverified domain: exit 1" 1 $?
t_match "... and the error says what to do" 'is not verified: its DNS records must be published and pass the check' "$out"

# --- wrong records ----------------------------------------------------------------
OTHER_DKIM=$(pi_ctl --json domain records other.test | python3 -c 'import json,sys; print([r for r in json.load(sys.stdin)["records"] if r["purpose"] == "dkim"][0]["value"])')
SEL=$(pi_ctl --json domain dkim show verify.test | json_get keys.0.selector)
python3 - "$SEL" "$OTHER_DKIM" <<'PY' | dns_zone verify.test
import sys
sel, dkim = sys.argv[1], sys.argv[2]
def txt(v):
    return " ".join('"%s"' % v[i:i + 255] for i in range(0, len(v), 255))
print('_postinbox IN TXT "postinbox-verification=00000000000000000000000000000000"')
print('@ IN TXT "v=spf1 ip4:192.0.2.1 ~all"')
print('@ IN TXT "google-site-verification=abc"')
print('%s._domainkey IN TXT %s' % (sel, txt(dkim)))
print('_dmarc IN TXT "v=DMARC1; p=none"')
print('_dmarc IN TXT "v=DMARC1; p=reject"')
PY
t_eq "wrong records: exit 1" 1 "$(verify verify.test)"
t_eq "wrong records: ownership, spf, dkim, dmarc invalid" "invalid invalid invalid invalid" \
    "$(status ownership) $(status spf) $(status dkim) $(status dmarc)"
t_match "wrong records: the SPF detail names our hosts" 'does not name ip4:127.0.0.1 include:_spf.operator.test' \
    "$(python3 -c 'import json,sys; print([r["detail"] for r in json.load(open(sys.argv[1]))["records"] if r["purpose"] == "spf"][0])' "$SVC_DIR/v.json")"
t_eq "wrong records: what was found, the long DKIM value joined whole" "$OTHER_DKIM" \
    "$(python3 -c 'import json,sys; print([r["found"][0] for r in json.load(open(sys.argv[1]))["records"] if r["purpose"] == "dkim"][0])' "$SVC_DIR/v.json")"
t_eq "wrong records: not verified" f "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'")"

# --- the records as printed -------------------------------------------------------
pi_ctl domain records verify.test --zone | dns_zone verify.test
out=$(pi_ctl domain verify verify.test 2>&1)
t_eq "published: exit 0" 0 $?
t_match "published: every record valid, verified" \
    "^valid +ownership _postinbox\\.verify\\.test\\. TXT.*valid +spf .*valid +dkim .*valid +dmarc .*domain verify\\.test is verified$" \
    "$(echo "$out" | paste -sd ' ')"
t_eq "published: verified in PostgreSQL" t "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'")"
t_eq "published: audited, with the server asked" \
    "domain.verified|verify.test|DNS check: ownership, spf and dkim valid (asked 127.0.0.1@$DNS_PORT)" \
    "$(svc_psql "SELECT action, new_value, reason FROM postinbox.audit WHERE new_value = 'verify.test'")"
t_match "published: an inbox on it now" '^[0-9a-f-]{36} agent@verify\.test$' "$(pi_inbox "$A" agent --domain verify.test)"
pi_ctl domain add --account "$A" --name override.test --verified >/dev/null
t_match "domain add --verified: the override audited" '^domain\.verified\|override\.test\|operator override: domain add --verified\|postinboxctl:' \
    "$(svc_psql "SELECT action, new_value, reason, actor FROM postinbox.audit WHERE new_value = 'override.test'")"

# --- a zone the server does not serve: unknown, not missing ---------------------
t_eq "refused: exit 1" 1 "$(verify unserved.test)"
t_eq "refused: every record unknown" "unknown unknown unknown unknown" \
    "$(status ownership) $(status spf) $(status dkim) $(status dmarc)"

# --- a server that never answers ---------------------------------------------------
read -r BLACKHOLE <<<"$(_svc_pick_ports 1)"
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("127.0.0.1", int(sys.argv[1]))); t.listen(16)
end = time.time() + 120
while time.time() < end:
    s.settimeout(1)
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
' "$BLACKHOLE" & svc_register_pid $!
sleep 0.3
pi_write_conf "${LINES[@]}" "dns_resolver = 127.0.0.1@$BLACKHOLE"
start=$(date +%s%N)
t_eq "silent server: exit 1" 1 "$(verify verify.test)"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
t_eq "silent server: every record unknown (timeout)" "unknown unknown unknown unknown" \
    "$(status ownership) $(status spf) $(status dkim) $(status dmarc)"
t_match "silent server: the detail says timeout" '^timeout: no answer from 127\.0\.0\.1@' \
    "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"][0]["detail"])' "$SVC_DIR/v.json")"
t_eq "silent server: bounded by dns_timeout (4 questions of 1 s, < 6 s)" yes "$([ "$ms" -lt 6000 ] && echo yes || echo "no: $ms ms")"
t_eq "silent server: the domain stays verified" t "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'")"

# --- records that break after verification -----------------------------------------
pi_write_conf "${LINES[@]}" "dns_resolver = 127.0.0.1@$DNS_PORT"
printf 'www IN A 127.0.0.1\n' | dns_zone verify.test
t_eq "broken after verification: exit 1" 1 "$(verify verify.test)"
t_eq "... reported missing" "missing missing" "$(status ownership) $(status dkim)"
t_eq "... and the domain stays verified (its mail keeps flowing)" "t true" \
    "$(svc_psql "SELECT verified FROM postinbox.domain WHERE name = 'verify.test'") $(json_get verified <"$SVC_DIR/v.json")"
t_eq "verify of an unknown domain: exit 1" 1 "$(verify nope.test)"
t_eq "one audit row for verify.test: a re-check that passes or fails writes none" 1 \
    "$(svc_psql "SELECT count(*) FROM postinbox.audit WHERE new_value = 'verify.test'")"

# --- the sandbox domain: the operator's, checked but never pending ------------------
pi_inbox "$A" sbx >/dev/null
out=$(pi_ctl domain verify "$SANDBOX" 2>&1)
t_match "the sandbox domain: checked and reported, and still ours" "domain $SANDBOX is verified" "$out"
t_eq "... its check kept, nothing scheduled, no event" "t t 0" \
    "$(svc_psql "SELECT last_check IS NOT NULL, next_check_at IS NULL, (SELECT count(*) FROM postinbox.event WHERE payload->>'domain' = '$SANDBOX') FROM postinbox.domain WHERE name = '$SANDBOX'" | tr '|' ' ')"

t_summary
