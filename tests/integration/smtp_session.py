#!/usr/bin/env python3
"""smtp_session.py -- one SMTP session on a raw socket, step by step, for the tests.

  smtp_session.py PORT STEP...

Each STEP is one argument, run in order on one connection (the greeting
is read first and printed as "greeting <code> <text>"):

  AUTH LOGIN PASSWORD   AUTH PLAIN with those credentials (one reply)
  PIPE CMD|CMD|...      every CMD (split on "|") sent in ONE write, then one
                        reply read per CMD, in order (RFC 2920 pipelining)
  BODY TEXT             the message: TEXT with "\\n" as line ends (CRLF on
                        the wire, dot-stuffed), then "." (one reply)
  PAUSE NAME            when NAME is $SESSION_PAUSE: touches $SESSION_DIR/NAME.at
                        and waits (30 s at most) until $SESSION_DIR/NAME.go
                        exists, so the test sets up a fault at exactly this
                        point of the session; any other PAUSE does nothing
  anything else         an SMTP command line (UTF-8 on the wire), one reply

Prints one line per reply: "<command word> <code> <text> ms=<ms>" (for PIPE
one line per CMD, each named by its own first word), where text
is the last line of the reply (for EHLO every line's text, joined by " / ")
and ms the time from the write to the whole reply.  A closed connection
prints "<step word> 000 closed" and stops.  Exits 0 unless the arguments
are wrong.  Environment: SESSION_TIMEOUT (seconds per reply, default 30).
"""
import base64
import os
import socket
import sys
import time


def read_reply(f):
    """One reply: (code, [texts]) or (None, None) when the server closed."""
    texts = []
    while True:
        line = f.readline()
        if not line:
            return None, None
        line = line.decode("utf-8", "surrogateescape").rstrip("\r\n")
        texts.append(line[4:])
        if len(line) < 4 or line[3] != "-":
            return line[:3], texts


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    timeout = float(os.environ.get("SESSION_TIMEOUT", "30"))
    sess_dir = os.environ.get("SESSION_DIR", ".")
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    f = sock.makefile("rb")

    def show(words, started):
        for word in words:
            code, texts = read_reply(f)
            ms = int((time.monotonic() - started) * 1000)
            if code is None:
                print("%s 000 closed" % word, flush=True)
                sys.exit(0)
            text = " / ".join(texts) if word == "EHLO" else texts[-1]
            print("%s %s %s ms=%d" % (word, code, text, ms), flush=True)

    show(["greeting"], time.monotonic())
    for step in sys.argv[2:]:
        word, _, rest = step.partition(" ")
        if word == "PAUSE":
            if rest != os.environ.get("SESSION_PAUSE"):
                continue
            open(os.path.join(sess_dir, rest + ".at"), "w").close()
            go = os.path.join(sess_dir, rest + ".go")
            deadline = time.monotonic() + 30
            while not os.path.exists(go) and time.monotonic() < deadline:
                time.sleep(0.01)
            continue
        if word == "AUTH":
            login, _, password = rest.partition(" ")
            token = base64.b64encode(b"\0" + login.encode() + b"\0" + password.encode()).decode()
            data, words = ("AUTH PLAIN " + token + "\r\n").encode(), ["AUTH"]
        elif word == "PIPE":
            cmds = rest.split("|")
            data = "".join(c + "\r\n" for c in cmds).encode("utf-8", "surrogateescape")
            words = [c.split(" ")[0].upper() for c in cmds]
        elif word == "BODY":
            lines = rest.replace("\\n", "\n").split("\n")
            data = "".join(("." + l if l.startswith(".") else l) + "\r\n" for l in lines) + ".\r\n"
            data, words = data.encode("utf-8", "surrogateescape"), ["BODY"]
        else:
            data, words = (step + "\r\n").encode("utf-8", "surrogateescape"), [word.upper()]
        started = time.monotonic()
        sock.sendall(data)
        show(words, started)
    sock.close()


if __name__ == "__main__":
    main()
