#!/usr/bin/env bash
# t_hostile_clients.sh -- what a hostile client gets from the real
# postinbox-policyd API and /metrics listeners (raw sockets, python3) and
# what reaches the daemons' logs from it, through the real Postfix and
# milter too:
#   1. two Content-Length headers, or Content-Length with Transfer-Encoding:
#      400 with the API's JSON error, the connection closed, and the
#      request hidden behind the first length never served;
#   2. a request trickled a byte at a time (each byte resetting the idle
#      timeout) is cut off at http_request_timeout_ms (2 s here), headers
#      or body, API or /metrics; the cut is logged;
#   3. more connections from 127.0.0.1 than http_max_connections_per_ip
#      (4 here): the extra one is closed unanswered, logged; once they
#      have gone the address is served again;
#   4. an ESC sequence and a forged CR in a request path, and control
#      bytes in MAIL FROM and RCPT TO through Postfix: the logs show \xNN and
#      hold no raw ESC.
# The whole script is bounded: every socket has a timeout.
set -u
. "$(dirname "$0")/common.sh"
pi_init --policyd
PORTS=$(_svc_pick_ports 2) || exit 1
read -r API_PORT METRICS_PORT <<<"$PORTS"
pi_setup --policyd "api_listen = 127.0.0.1:$API_PORT" "policyd_metrics_listen = 127.0.0.1:$METRICS_PORT" \
    "http_request_timeout_ms = 2000" "http_max_connections_per_ip = 4"
LOG=$SVC_DIR/policyd.log

A=$(pi_account "Acme" acme)
KA=$(pi_ctl --json apikey create --account "$A" --name "acme admin" | json_get key)
inboxes() { svc_psql "SELECT count(*) FROM postinbox.inbox WHERE username = '$1'"; }

# --- 1. framing ---------------------------------------------------------------
# framing: one raw request per case, each printed as "CASE STATUS ANSWERS
# CLOSED CODE": the first answer's status, how many status lines came back,
# 1 if the server closed the connection within 5 s, the error.code.  In the
# first case the body is {} by the first Content-Length and a second
# request by the second one: served "first wins", that hidden POST would
# create an inbox.
framing() {
    KA=$KA python3 - "$API_PORT" "$METRICS_PORT" <<'EOF'
import json, os, socket, sys, time
api, metrics = int(sys.argv[1]), int(sys.argv[2])
key = os.environ["KA"].encode()
def post(headers, body):
    return (b"POST /v1/inboxes HTTP/1.1\r\nHost: t\r\nx-api-key: " + key +
            b"\r\nContent-Type: application/json\r\n" + headers + b"\r\n" + body)
hidden = post(b"Content-Length: 23\r\n", b'{"username":"smuggled"}')
cases = [
    ("dup", api, post(b"Content-Length: 2\r\nContent-Length: %d\r\n" % (2 + len(hidden)), b"{}" + hidden)),
    ("equal", api, post(b"Content-Length: 5\r\nContent-Length: 5\r\n", b"{}   ")),
    ("clte", api, post(b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
                       b'17\r\n{"username":"chunkedcl"}\r\n0\r\n\r\n')),
    ("mdup", metrics, b"GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nContent-Length: 25\r\n\r\n"
                      b"GET /metrics HTTP/1.1\r\n\r\n"),
    ("mclte", metrics, b"GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
                       b"0\r\n\r\n"),
]
for name, port, req in cases:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(req)
    data, closed, end = b"", 0, time.time() + 5
    while time.time() < end:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            closed = 1
            break
        data += chunk
    s.close()
    status = data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none"
    head, _, rest = data.partition(b"\r\n\r\n")
    code = "-"
    try:
        length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0])
        code = json.loads(rest[:length])["error"]["code"]
    except Exception:
        pass
    print(name, status, data.count(b"HTTP/1.1 "), closed, code)
EOF
}
framing > "$SVC_DIR/framing.out"
case_of() { sed -n "s/^$1 //p" "$SVC_DIR/framing.out"; }
t_eq "two Content-Length: 400, one answer, closed, bad_request" "400 1 1 bad_request" "$(case_of dup)"
t_eq "two Content-Length: the request behind the first length is not served" 0 "$(inboxes smuggled)"
t_eq "two equal Content-Length: 400 too" "400 1 1 bad_request" "$(case_of equal)"
t_eq "Content-Length and Transfer-Encoding: 400, closed" "400 1 1 bad_request" "$(case_of clte)"
t_eq "Content-Length and Transfer-Encoding: nothing created" 0 "$(inboxes chunkedcl)"
t_eq "/metrics, two Content-Length: 400, one answer, closed" "400 1 1 bad_request" "$(case_of mdup)"
t_eq "/metrics, Content-Length and Transfer-Encoding: 400, closed" "400 1 1 bad_request" "$(case_of mclte)"
t_eq "a plain request is still served" 401 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$API_PORT/v1/inboxes")"

# --- 2. the whole-request deadline (2 s) ---------------------------------------
# trickle PORT HEAD BYTES: sends HEAD, then BYTES one every 0.5 s; prints
# "CUT SECONDS": CUT 1 if the server closed the connection before the last
# byte went out (SECONDS after connecting), 0 if an answer came, gave-up
# at 10 s.
trickle() {
    python3 - "$@" <<'EOF'
import socket, sys, time
port, head, rest = int(sys.argv[1]), sys.argv[2].encode().decode("unicode_escape").encode("latin-1"), sys.argv[3].encode()
s = socket.create_connection(("127.0.0.1", port), timeout=10)
t0 = time.time()
def gone():
    s.settimeout(0.001)
    try:
        return s.recv(1) == b""
    except (BlockingIOError, socket.timeout):
        return False
    except OSError:
        return True
    finally:
        s.settimeout(10)
try:
    s.sendall(head)
    for i in range(len(rest)):
        time.sleep(0.5)
        if time.time() - t0 > 10:
            print("gave-up", "%.1f" % (time.time() - t0))
            sys.exit(0)
        if gone():
            raise OSError
        s.sendall(rest[i:i + 1])
    s.recv(100)
    print(0, "%.1f" % (time.time() - t0))
except OSError:
    print(1, "%.1f" % (time.time() - t0))
EOF
}
in_window() { python3 -c 'import sys; t = float(sys.argv[1]); print("yes" if 1.8 <= t <= 4.0 else "no: %s s" % t)' "$1"; }

read -r cut secs <<<"$(trickle "$API_PORT" 'POST /v1/inboxes HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n' '{"username":"x"}')"
t_eq "API, body trickled 1 byte / 0.5 s: cut off" 1 "$cut"
t_eq "API, body trickled: cut within 2 s + slack" yes "$(in_window "$secs")"
read -r cut secs <<<"$(trickle "$API_PORT" 'GET /v1/inboxes HTTP/1.1\r\n' 'X-Slow: aaaaaaaaaaaaaaaaaaaa')"
t_eq "API, headers trickled: cut off" 1 "$cut"
t_eq "API, headers trickled: cut within 2 s + slack" yes "$(in_window "$secs")"
read -r cut secs <<<"$(trickle "$METRICS_PORT" 'GET /metrics HTTP/1.1\r\n' 'X-Slow: aaaaaaaaaaaaaaaaaaaa')"
t_eq "/metrics, headers trickled: cut off" 1 "$cut"
t_eq "/metrics, headers trickled: cut within 2 s + slack" yes "$(in_window "$secs")"
t_match "the cut is logged with the client" "http (api|metrics): cut off a connection from 127\.0\.0\.1 after [0-9]+ ms" \
    "$(grep 'cut off a connection' "$LOG" | head -1)"

# --- 3. connections per address (4) -------------------------------------------
r=$(python3 - "$API_PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
held = []
for i in range(4):
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"GET /v1/inboxes HTTP/1.1\r\n")  # a request begun, not finished
    held.append(c)
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    extra.sendall(b"GET /v1/inboxes HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    got = extra.recv(100)
except OSError:
    got = b""
fifth = "refused" if got == b"" else "served"
for c in held:
    c.close()
time.sleep(0.5)
again = socket.create_connection(("127.0.0.1", port), timeout=5)
again.sendall(b"GET /v1/inboxes HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
print(fifth, again.recv(12).decode())
EOF
)
t_eq "API: a 5th connection from 127.0.0.1 is refused; after the 4 close, served again" "refused HTTP/1.1 401" "$r"
t_match "the refusal is logged with the address" \
    "http api: refused a connection from 127\.0\.0\.1: 4 open from that address \(http_max_connections_per_ip\)" \
    "$(grep 'refused a connection' "$LOG" | head -1)"
r=$(python3 - "$METRICS_PORT" <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port), timeout=5) for i in range(4)]
time.sleep(0.3)
extra = socket.create_connection(("127.0.0.1", port), timeout=5)
try:
    extra.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    got = extra.recv(100)
except OSError:
    got = b""
print("refused" if got == b"" else "served")
EOF
)
t_eq "/metrics: a 5th connection from 127.0.0.1 is refused" refused "$r"

# --- 4. control bytes from outside reach the logs escaped ---------------------
# %1b and %0d are decoded into the path the API logs.
curl -s -o /dev/null "http://127.0.0.1:$API_PORT/v1/%1b%5b31mred%1b%5b0m"
curl -s -o /dev/null "http://127.0.0.1:$API_PORT/v1/x%0dpostinbox-policyd%5b1%5d:%20info:%20forged"
sleep 0.3
t_match "API log: the ESC sequence of a path as \\x1b" 'path=/v1/\\x1b\[31mred\\x1b\[0m status=404' \
    "$(grep -a 'path=/v1/.*red' "$LOG" | tail -1)"
t_match "API log: a CR in a path as \\x0d, on the same line" 'path=/v1/x\\x0dpostinbox-policyd\[1\]: info: forged status=404' \
    "$(grep -a 'forged' "$LOG" | tail -1)"

# Control bytes in a quoted local part pass Postfix's own syntax check (it
# refuses them unquoted, 501) and reach the milter, which refuses the
# address as malformed and logs it as given: MAIL FROM in one session,
# RCPT TO in another.
r=$(python3 - "$SMTP_PORT" <<'EOF'
import socket, sys
def session(cmds):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    f = s.makefile("rb")
    def reply():
        line = f.readline()
        while line[3:4] == b"-":
            line = f.readline()
        return line.decode("latin-1")[:3]
    out = [reply()]
    for cmd in cmds:
        s.sendall(cmd + b"\r\n")
        out.append(reply())
    return out[1:]
a = session([b"EHLO evil\x1b[2J.test", b'MAIL FROM:<"ev\x1b[31mil\x07"@remote.test>', b"QUIT"])
b = session([b"EHLO client.test", b"MAIL FROM:<someone@remote.test>", b'RCPT TO:<"to\x1b]0;title\x07"@remote.test>',
             b"QUIT"])
print(" ".join(a + b))
EOF
)
t_eq "SMTP: control bytes in MAIL FROM and RCPT TO reach the milter, which refuses them 553" \
    "250 553 221 250 250 553 221" "$r"
sleep 0.5
MLOG=$(pi_milter_log)
t_match "milter log: MAIL FROM's ESC and BEL as \\x1b and \\x07" \
    'stage=mail client=127\.0\.0\.1 action=reject reason=malformed sender=<"ev\\x1b\[31mil\\x07"@remote\.test>' \
    "$(grep -a 'stage=mail .*reason=malformed' "$MLOG" | tail -1)"
t_match "milter log: RCPT TO's OSC sequence escaped" \
    'stage=rcpt .*reason=malformed rcpt=<"to\\x1b\]0;title\\x07"@remote\.test>' \
    "$(grep -a 'stage=rcpt .*reason=malformed' "$MLOG" | tail -1)"
t_eq "no raw ESC in the milter's log" 0 "$(grep -c $'\x1b' "$MLOG")"
t_eq "no raw ESC in the policy daemon's log" 0 "$(grep -c $'\x1b' "$LOG")"
t_eq "no raw BEL or CR in either log" 0 "$(cat "$MLOG" "$LOG" | grep -c $'[\x07\r]')"

t_summary
