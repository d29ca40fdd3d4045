#!/usr/bin/env python3
"""webhook_receiver.py -- a real HTTP webhook receiver for postinbox tests.

It records every request as one JSON line and verifies the Standard
Webhooks signature itself (hmac/hashlib/base64 only, independent of the
project's C code).  Python 3 standard library only.

SERVE (the default sub-command):

    webhook_receiver.py [serve] --port PORT --log FILE [--control FILE]
        [--secret PATH=whsec_...]... [--max-lifetime SECONDS]
        [--host 127.0.0.1] [--port-file FILE] [--reuse-port] [--lean]

  Behaviour is chosen by the FIRST path segment; anything after it is a
  free label, so several endpoints can share a behaviour (/ok/bob,
  /ok/carol).  Query parameters override the control-file defaults for
  that URL:

    /ok/...            200
    /flaky/...         500 on the first N calls per webhook-id, then 200
                       (N: ?n=, else control "flaky_failures", default 1)
    /gone/...          410
    /hang/...          sleeps S seconds, then 200, on the first C calls per
                       webhook-id (S: ?s=, else "hang_seconds", default 5;
                       C: ?count=, else "hang_count", default 1; -1 = always)
    /redirect/...      302, Location: http://HOST/ok/redirected (must not be
                       followed; ?to=PATH or control "redirect_to")
    /retry-after/...   503 with "Retry-After: R" on the first call per
                       webhook-id, then 200 (R: ?r=, "retry_after", default 2;
                       ?format=date sends it as an HTTP-date R s ahead)
    /status/NNN/...    NNN
    /trickle/...       200 and Content-Length at once, then the body one
                       byte every ?every= s (0.1), ?bytes= bytes (100)
    /big/...           200 with a body of ?mb= MiB (20)
    anything else      404
  Every behaviour also takes ?delay_ms=D (sleep D ms before answering).
  "Calls per webhook-id" are counted per (URL path, webhook-id).

  --control FILE is a JSON object, re-read whenever its mtime changes
  (write it atomically: to a temp file, then mv):
    {"secrets": {"/ok/bob": "whsec_...", "/ok/rot": ["whsec_new", "whsec_old"]},
     "flaky_failures": 1, "hang_seconds": 5, "hang_count": 1,
     "retry_after": 2, "redirect_to": "/ok/redirected"}
  Secrets are matched by the longest path prefix (--secret entries too,
  the control file wins).  A path may have several secrets (rotation).

  One JSON line per request in --log:
    t          arrival (epoch seconds, float, after the body was read)
    path, query, method, status (the answer we gave), call (n-th call for
    this endpoint path and webhook-id), peer, headers (lower-cased names),
    body (text), json (parsed body or null), id, timestamp (the headers),
    signatures: [{"sig": "v1,...", "match": index of the secret it verifies
                  with, or null}]
    sig_ok     at least one v1 signature verifies with a secret of the path
    sig_all_ok every v1 signature verifies with some secret of the path
    ts_ok      webhook-timestamp is an integer within 5 minutes of now
    verified   sig_ok and ts_ok and id present (what a consumer accepts)
  --lean records only t, path, id, status (for benchmarks) and skips the
  verification.

  The server stops by itself after --max-lifetime seconds (default 600),
  and on SIGTERM/SIGINT.

QUERY:

    webhook_receiver.py query LOG EXPR

  Evaluates the Python expression EXPR with R = the list of recorded
  requests (dicts); the helpers ids(rs), under(prefix) (the requests to
  that path or below it) and by_id(rs) (webhook-id -> its requests); and
  json, re, collections, Counter and env (os.environ).  Prints the result:
  str as is, bool as true/false, list/dict as JSON.  The shell tests make
  their assertions with it.  The signature verification is also usable
  on its own: sign(secret, id, timestamp, body) and verify(...).
"""

import argparse
import base64
import collections
import email.utils
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_S = 300


def secret_key(secret):
    """The HMAC key of a whsec_ secret: base64-decode of what follows whsec_."""
    if not secret.startswith("whsec_"):
        raise ValueError("secret does not start with whsec_")
    return base64.b64decode(secret[len("whsec_"):], validate=True)


def sign(secret, msg_id, timestamp, body):
    """Standard Webhooks v1 signature text (without the "v1," prefix)."""
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return base64.b64encode(hmac.new(secret_key(secret), signed, hashlib.sha256).digest()).decode()


def verify(secrets, msg_id, timestamp, sig_header, body):
    """Returns (signatures, sig_ok, sig_all_ok): each signature of the
    space-separated header with the index of the secret it verifies with."""
    results = []
    for sig in (sig_header or "").split():
        match = None
        version, _, value = sig.partition(",")
        if version == "v1" and value and msg_id is not None and timestamp is not None:
            for i, secret in enumerate(secrets):
                try:
                    expected = sign(secret, msg_id, timestamp, body)
                except (ValueError, TypeError):
                    continue
                if hmac.compare_digest(expected, value):
                    match = i
                    break
        results.append({"sig": sig, "match": match})
    v1 = [r for r in results if r["sig"].startswith("v1,")]
    sig_ok = any(r["match"] is not None for r in v1)
    sig_all_ok = bool(v1) and all(r["match"] is not None for r in v1)
    return results, sig_ok, sig_all_ok


class Control:
    """The control file, re-read when its mtime changes, plus --secret args."""

    def __init__(self, path, cli_secrets):
        self.path = path
        self.cli_secrets = cli_secrets
        self.mtime = None
        self.data = {}
        self.lock = threading.Lock()

    def get(self):
        if not self.path:
            return self.data
        with self.lock:
            try:
                mtime = os.stat(self.path).st_mtime_ns
            except OSError:
                return self.data
            if mtime != self.mtime:
                try:
                    with open(self.path, encoding="utf-8") as f:
                        self.data = json.load(f)
                    self.mtime = mtime
                except (OSError, ValueError) as e:
                    sys.stderr.write("webhook_receiver: control file %s: %s\n" % (self.path, e))
            return self.data

    def secrets_for(self, path):
        table = dict(self.cli_secrets)
        table.update(self.get().get("secrets", {}))
        best = None
        for prefix in table:
            if path == prefix or path.startswith(prefix.rstrip("/") + "/") or prefix == "/":
                if best is None or len(prefix) > len(best):
                    best = prefix
        if best is None:
            return []
        value = table[best]
        return [value] if isinstance(value, str) else list(value)


class Recorder:
    def __init__(self, path):
        self.f = open(path, "a", encoding="utf-8")
        self.lock = threading.Lock()
        self.calls = collections.Counter()

    def count_call(self, key):
        with self.lock:
            self.calls[key] += 1
            return self.calls[key]

    def write(self, record):
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive: the daemon may reuse connections
    server_version = "webhook-receiver/1"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet
        pass

    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                size_line = self.rfile.readline(1024)
                if not size_line:
                    break
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _answer(self, status, headers=None, body=b""):
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def _trickle(self, status, nbytes, every):
        """Status and headers at once, then the body one byte per `every` s."""
        self.send_response(status)
        self.send_header("Content-Length", str(nbytes))
        self.end_headers()
        self.wfile.flush()
        for _ in range(nbytes):
            time.sleep(every)
            self.wfile.write(b"x")
            self.wfile.flush()

    def _big(self, status, mb):
        """A response body of `mb` MiB, sent as fast as the client reads."""
        self.send_response(status)
        self.send_header("Content-Length", str(mb << 20))
        self.end_headers()
        chunk = b"x" * (1 << 20)
        for _ in range(mb):
            self.wfile.write(chunk)

    def do_POST(self):
        self._handle()

    def do_GET(self):
        self._handle()

    def do_PUT(self):
        self._handle()

    def _handle(self):
        srv = self.server
        body = self._read_body()
        t = time.time()
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query))
        msg_id = self.headers.get("webhook-id")
        ts = self.headers.get("webhook-timestamp")
        segs = [s for s in path.split("/") if s]
        behaviour = segs[0] if segs else ""
        call = srv.recorder.count_call((path, msg_id))
        ctl = srv.control.get()

        def knob(qname, cname, default):
            v = query.get(qname, ctl.get(cname, default))
            try:
                return float(v)
            except (TypeError, ValueError):
                return float(default)

        delay = knob("delay_ms", "delay_ms", 0) / 1000.0
        headers = {}
        status = 404
        if behaviour == "ok":
            status = 200
        elif behaviour == "flaky":
            status = 500 if call <= knob("n", "flaky_failures", 1) else 200
        elif behaviour == "gone":
            status = 410
        elif behaviour == "hang":
            count = knob("count", "hang_count", 1)
            if count < 0 or call <= count:
                delay += knob("s", "hang_seconds", 5)
            status = 200
        elif behaviour == "redirect":
            to = query.get("to", ctl.get("redirect_to", "/ok/redirected"))
            host = self.headers.get("Host") or "%s:%d" % srv.server_address[:2]
            headers["Location"] = "http://%s%s" % (host, to)
            status = 302
        elif behaviour == "retry-after":
            if call == 1:
                status = 503
                seconds = int(knob("r", "retry_after", 2))
                if query.get("format") == "date":    # the HTTP-date form of RFC 9110
                    headers["Retry-After"] = email.utils.formatdate(time.time() + seconds, usegmt=True)
                else:
                    headers["Retry-After"] = str(seconds)
            else:
                status = 200
        elif behaviour == "status" and len(segs) >= 2 and segs[1].isdigit():
            status = int(segs[1])
        elif behaviour == "trickle":
            status = 200
        elif behaviour == "big":
            status = 200

        if srv.lean:
            record = {"t": t, "path": path, "id": msg_id, "status": status, "call": call}
        else:
            secrets = srv.control.secrets_for(path)
            sigs, sig_ok, sig_all_ok = verify(secrets, msg_id, ts,
                                              self.headers.get("webhook-signature"), body)
            try:
                ts_ok = ts is not None and abs(int(ts) - t) <= TOLERANCE_S
            except ValueError:
                ts_ok = False
            try:
                parsed = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                parsed = None
            record = {
                "t": t, "path": path, "query": url.query, "method": self.command,
                "status": status, "call": call, "peer": "%s:%s" % self.client_address[:2],
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"), "json": parsed,
                "id": msg_id, "timestamp": ts, "signatures": sigs,
                "secrets_known": len(secrets), "sig_ok": sig_ok, "sig_all_ok": sig_all_ok,
                "ts_ok": ts_ok, "verified": bool(sig_ok and ts_ok and msg_id),
            }
        # Record before answering, so a test that sees the answer in the
        # database also finds the request in the log.
        srv.recorder.write(record)
        if delay > 0:
            time.sleep(delay)
        try:
            if behaviour == "trickle":
                self._trickle(status, int(knob("bytes", "trickle_bytes", 100)), knob("every", "trickle_every", 0.1))
            elif behaviour == "big":
                self._big(status, int(knob("mb", "big_mb", 20)))
            else:
                self._answer(status, headers)
        except OSError:
            pass   # the client gave up (timeout): that is the point of /hang


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    reuse_port = False

    def server_bind(self):
        if self.reuse_port:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        super().server_bind()


def serve(args):
    cli_secrets = {}
    for item in args.secret or []:
        path, sep, secret = item.partition("=")
        if not sep:
            sys.exit("webhook_receiver: --secret wants PATH=whsec_...")
        cli_secrets.setdefault(path, [])
        cli_secrets[path] = cli_secrets[path] + [secret]
    Server.reuse_port = args.reuse_port
    srv = Server((args.host, args.port), Handler)
    srv.recorder = Recorder(args.log)
    srv.control = Control(args.control, cli_secrets)
    srv.lean = args.lean
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(tmp, args.port_file)

    def bye(*_):
        os._exit(0)

    signal.signal(signal.SIGTERM, bye)
    signal.signal(signal.SIGINT, bye)
    # A hard deadline: os._exit does not wait for hanging handler threads.
    timer = threading.Timer(args.max_lifetime, bye)
    timer.daemon = True
    timer.start()
    srv.serve_forever(poll_interval=0.2)


def query(args):
    records = []
    try:
        with open(args.log, encoding="utf-8") as f:
            for line in f:
                if line.endswith("\n"):      # skip a half-written last line
                    records.append(json.loads(line))
    except FileNotFoundError:
        pass

    def ids(rs):
        return [r.get("id") for r in rs]

    def under(prefix):
        return [r for r in records if r["path"] == prefix or r["path"].startswith(prefix.rstrip("/") + "/")]

    def by_id(rs):
        groups = collections.OrderedDict()
        for r in rs:
            groups.setdefault(r.get("id"), []).append(r)
        return groups

    env = {"R": records, "ids": ids, "under": under, "by_id": by_id, "json": json, "re": re, "env": os.environ,
           "collections": collections, "Counter": collections.Counter}
    v = eval(args.expr, env)  # test-suite helper: the expression comes from our own scripts
    if isinstance(v, bool):
        print("true" if v else "false")
    elif isinstance(v, str):
        print(v)
    elif isinstance(v, (list, dict, tuple)):
        print(json.dumps(v, ensure_ascii=False, sort_keys=True))
    elif v is None:
        print("null")
    else:
        print(v)


def main(argv):
    if argv and argv[0] == "query":
        p = argparse.ArgumentParser(prog="webhook_receiver.py query")
        p.add_argument("log")
        p.add_argument("expr")
        query(p.parse_args(argv[1:]))
        return
    if argv and argv[0] == "serve":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="webhook_receiver.py",
                                description="Standard Webhooks test receiver")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--control")
    p.add_argument("--secret", action="append", metavar="PATH=whsec_...")
    p.add_argument("--max-lifetime", type=float, default=600.0)
    p.add_argument("--port-file")
    p.add_argument("--reuse-port", action="store_true")
    p.add_argument("--lean", action="store_true")
    serve(p.parse_args(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
