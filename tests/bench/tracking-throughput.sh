#!/usr/bin/env bash
# tracking-throughput.sh -- tracking requests served per second by
# postinbox-policyd's listener (policyd/tracking.c) against a real
# PostgreSQL: MESSAGES tracked messages recorded through record_fast() as
# the milter records them, their tokens made from the key file (the format
# of lib/mail/track_token.h), then tests/bench/http-load.c (libcurl multi,
# CONCURRENCY keep-alive connections) asks for TOTAL requests of each kind,
# interleaved over RUNS rounds: opens of distinct messages, clicks of
# distinct links, and one pixel asked for again and again (a burst on one
# row).  Every answer must be 200 (opens) or 302 (clicks).  Not a test:
# prints figures.  Bounded by TOTAL x kinds x RUNS requests.
#   bash tests/bench/tracking-throughput.sh    MESSAGES=2000 TOTAL=6000 CONCURRENCY=16 RUNS=3
set -u
here=$(dirname "$0")
. "$here/../integration/common.sh"
MESSAGES=${MESSAGES:-2000}
TOTAL=${TOTAL:-6000}
CONCURRENCY=${CONCURRENCY:-16}
RUNS=${RUNS:-3}
pi_require --policyd
pi_init --policyd
TPORT=$(_svc_pick_ports 1) || exit 1
KEYS=$SVC_DIR/tracking.keys
(umask 077 && openssl rand -base64 32 >"$KEYS")
pi_setup --no-postfix --no-milter --policyd "tracking_listen = 127.0.0.1:$TPORT" \
    "tracking_base_url = http://127.0.0.1:$TPORT" "tracking_key_file = $KEYS" "tracking_scanner_window = 0" \
    "tracking_event_interval = 0" "log_level = warn" "api_threads = 4"
bin=$SVC_DIR/http-load
# shellcheck disable=SC2046
cc -O2 -o "$bin" "$PI_SRCDIR/tests/bench/http-load.c" $(pkg-config --libs libcurl) || exit 1
A=$(pi_account "Bench" bench)
read -r ID _ <<<"$(pi_inbox "$A" agent)"
svc_psql "SELECT cardinality(postinbox.record_fast(jsonb_agg(jsonb_build_object(
              'queueId', 'B' || i, 'envelopeFrom', 'agent', 'size', 1000, 'sender', '$ID',
              'senderRecipients', jsonb_build_array('r' || i || '@remote.test'), 'recipients', '[]'::jsonb,
              'trackingId', left(md5(i::text), 24), 'links', jsonb_build_array('https://example.com/a/' || i)))))
            FROM generate_series(1, $MESSAGES) i" >/dev/null || exit 1
t=$(svc_psql "SELECT count(*) FROM postinbox.message WHERE tracking_id IS NOT NULL")
[ "$t" = "$MESSAGES" ] || { echo "recorded $t tracked messages, not $MESSAGES" >&2; exit 1; }
/usr/bin/python3 - "$KEYS" "$MESSAGES" "http://127.0.0.1:$TPORT" "$SVC_DIR" <<'PY'
import base64, hashlib, hmac, sys
keyfile, n, base, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
key = open(keyfile, "rb").read().split(b"\n")[0]
kid = bytes([hashlib.sha256(key).digest()[0]])
def token(kind, tid, link, subject):
    l = link.to_bytes(2, "big")
    mac = hmac.new(key, b"postinbox-track-1\0" + kind + tid + l + subject, hashlib.sha256).digest()[:10]
    return base64.urlsafe_b64encode(kid + tid + l + mac).decode().rstrip("=")
import hashlib as h
with open(out + "/opens", "w") as o, open(out + "/clicks", "w") as c:
    for i in range(1, n + 1):
        tid = bytes.fromhex(h.md5(str(i).encode()).hexdigest()[:24])
        o.write("%s/o/%s\n" % (base, token(b"o", tid, 0, b"")))
        c.write("%s/c/%s\n" % (base, token(b"c", tid, 1, ("https://example.com/a/%d" % i).encode())))
PY
head -1 "$SVC_DIR/opens" >"$SVC_DIR/one"
echo "# $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg); $MESSAGES messages, $TOTAL requests per run"
for ((r = 1; r <= RUNS; r++)); do
    for kind in opens clicks one; do
        out=$("$bin" "$SVC_DIR/$kind" "$CONCURRENCY" "$TOTAL") || { echo "$kind: $out" >&2; exit 1; }
        want=" 200:$TOTAL"; [ "$kind" = clicks ] && want=" 302:$TOTAL"
        case $out in *"$want") ;; *) echo "$kind: not every answer was ${want# }: $out" >&2; exit 1 ;; esac
        echo "round $r  $(printf '%-6s' "$kind")  $out"
    done
done
echo "events: $(svc_psql "SELECT string_agg(type || ' ' || n, ', ') FROM (SELECT type, count(*) n FROM postinbox.event WHERE type LIKE 'message.%ed' AND type <> 'message.sent' GROUP BY type) x")"
echo "Command: MESSAGES=$MESSAGES TOTAL=$TOTAL CONCURRENCY=$CONCURRENCY RUNS=$RUNS bash tests/bench/tracking-throughput.sh"
