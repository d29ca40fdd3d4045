#!/usr/bin/env python3
"""policy_client.py -- a small Postfix policy protocol client for the tests.

  policy_client.py ADDR REQUEST...
      Sends each REQUEST, in order, on ONE connection.  A REQUEST is text
      with Python string escapes (\\n, \\x00, \\xff ...), sent as raw bytes.
      Prints one line per answer expected: the answer ("action=...", its
      terminating empty line checked), or "CLOSED <seconds>" when the
      server closed the connection without answering (then stops), or
      "TIMEOUT".  A REQUEST holding k empty-line-terminated requests
      (pipelining) expects k answers; one with none (a partial request)
      expects one, which is normally CLOSED.
  policy_client.py --bench SECONDS CONNS ADDR REQUEST
      Sends REQUEST over and over for SECONDS on each of CONNS persistent
      connections (one request in flight per connection) and prints
      "requests=N seconds=S rps=R answers=<distinct answers> errors=E
      p50_ms=X p99_ms=Y".  requests counts answered requests; errors
      counts answers that are not a well-formed, terminated "action=..."
      line, plus connections that closed, timed out or failed (each ends
      that connection's run); latencies are per request, send to answer.
ADDR is PORT (127.0.0.1), HOST:PORT or unix:/path.
Environment: PC_TIMEOUT (seconds to wait for an answer, default 20).
"""
import codecs
import os
import re
import socket
import sys
import threading
import time


# A reply to a policy request: "action=" then a non-blank action.
WELL_FORMED = re.compile(r"^action=\S")


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    else:
        host, port = ("127.0.0.1", addr) if ":" not in addr else addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(float(os.environ.get("PC_TIMEOUT", "20")))
    return s


def decode(text):
    return codecs.decode(text, "unicode_escape").encode("latin-1")


def read_answer(f):
    """The answer line, or None if the connection closed first."""
    line = f.readline()
    if not line:
        return None
    blank = f.readline()
    if blank != b"\n":
        return line.decode("utf-8", "replace").rstrip("\n") + " [NOT TERMINATED]"
    return line.decode("utf-8", "replace").rstrip("\n")


def run(addr, requests):
    s = connect(addr)
    f = s.makefile("rb")
    for text in requests:
        data = decode(text)
        expected = max(1, data.count(b"\n\n"))
        started = time.monotonic()
        try:
            s.sendall(data)
        except OSError:
            print("CLOSED %.1f" % (time.monotonic() - started))
            return
        for _ in range(expected):
            try:
                answer = read_answer(f)
            except socket.timeout:
                print("TIMEOUT")
                return
            except OSError:
                answer = None
            if answer is None:
                print("CLOSED %.1f" % (time.monotonic() - started))
                return
            print(answer)
        sys.stdout.flush()
    s.close()


def bench(seconds, conns, addr, text):
    data = decode(text)
    counts = [0] * conns
    errors = [0] * conns
    lat = [[] for _ in range(conns)]
    answers = set()
    deadline = time.monotonic() + seconds

    def worker(i):
        mine = lat[i]
        try:
            s = connect(addr)
            f = s.makefile("rb")
            while True:
                t0 = time.monotonic()
                if t0 >= deadline:
                    break
                s.sendall(data)
                answer = read_answer(f)
                t1 = time.monotonic()
                if answer is None:
                    answers.add("CLOSED")
                    errors[i] += 1
                    return
                mine.append(t1 - t0)
                answers.add(answer)
                counts[i] += 1
                if not WELL_FORMED.match(answer) or answer.endswith(" [NOT TERMINATED]"):
                    errors[i] += 1
            s.close()
        except (OSError, ValueError) as e:
            answers.add("ERROR:" + type(e).__name__)
            errors[i] += 1

    started = time.monotonic()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    total = sum(counts)
    all_lat = sorted(x for l in lat for x in l)

    def pct(q):
        if not all_lat:
            return float("nan")
        return all_lat[min(len(all_lat) - 1, int(q * len(all_lat)))] * 1000.0

    print("requests=%d seconds=%.2f rps=%.0f answers=%s errors=%d p50_ms=%.3f p99_ms=%.3f" % (
        total, elapsed, total / elapsed, "|".join(sorted(answers)), sum(errors), pct(0.50), pct(0.99)))


if __name__ == "__main__":
    if len(sys.argv) >= 6 and sys.argv[1] == "--bench":
        bench(float(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif len(sys.argv) >= 3:
        run(sys.argv[1], sys.argv[2:])
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)
