#!/usr/bin/env python3
"""make-corpus.py -- writes the seed corpora of the fuzz targets.

Usage: tests/fuzz/make-corpus.py [OUTDIR]   (default: tests/fuzz/corpus)

Each target's seeds come from what the other tests already feed the same
parser: the message fixtures (tests/fixtures/dsn, tests/fixtures/mime),
the C string literals of the unit test that covers the module (adjacent
literals joined, escapes decoded), the example config, and a few
hand-written requests for the JSON and HTTP targets.  A file is named by
the SHA-1 of its content, as libFuzzer names what it adds, so running the
script again changes nothing.  Inputs over 64 KiB are left out, and the
whole corpus stays well under 2 MB.
"""
import hashlib
import json
import os
import re
import shutil
import sys

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "tests", "fuzz", "corpus")
MAX_SEED = 64 * 1024

ESCAPES = {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "'": b"'", "a": b"\a", "b": b"\b",
           "f": b"\f", "v": b"\v", "?": b"?"}


def c_literals(path):
    """The string literals of a C file as bytes, adjacent ones joined."""
    src = open(os.path.join(TOP, path), encoding="utf-8").read()
    src = re.sub(r"/\*.*?\*/", " ", src, flags=re.S)
    src = re.sub(r"\\\n", " ", src)
    out, i, cur, last_end = [], 0, None, -1
    while i < len(src):
        c = src[i]
        if c == "/" and src.startswith("//", i):
            i = src.find("\n", i)
            i = len(src) if i < 0 else i
            continue
        if c == "'":  # a char literal: skip it
            m = re.match(r"'(\\.|[^\\'])*'", src[i:])
            i += len(m.group(0)) if m else 1
            continue
        if c != '"':
            if not c.isspace() and cur is not None:
                out.append(cur)
                cur = None
            i += 1
            continue
        i += 1
        buf = bytearray()
        while i < len(src) and src[i] != '"':
            if src[i] == "\\":
                e = src[i + 1]
                if e == "x":
                    m = re.match(r"[0-9a-fA-F]+", src[i + 2:])
                    buf.append(int(m.group(0), 16) & 0xFF)
                    i += 2 + len(m.group(0))
                    continue
                if e in "01234567":
                    m = re.match(r"[0-7]{1,3}", src[i + 1:])
                    buf.append(int(m.group(0), 8) & 0xFF)
                    i += 1 + len(m.group(0))
                    continue
                buf += ESCAPES.get(e, e.encode())
                i += 2
                continue
            buf += src[i].encode("utf-8")
            i += 1
        i += 1
        cur = (cur or b"") + bytes(buf)
    if cur is not None:
        out.append(cur)
    return out


def files(folder):
    d = os.path.join(TOP, folder)
    return [open(os.path.join(d, f), "rb").read() for f in sorted(os.listdir(d))]


def js(obj):
    return json.dumps(obj).encode()


def seeds():
    dsn = files("tests/fixtures/dsn")
    mime = files("tests/fixtures/mime")
    conf = open(os.path.join(TOP, "contrib", "postinbox.conf.example"), "rb").read()
    lit = {name: c_literals("tests/unit/test_%s.c" % name) for name in
           ("reply_extract", "header", "address", "policy_proto", "postfix_log", "config", "apiutil", "httpd",
            "compose", "mime_parse")}
    uuid = "0f8fad5b-d9cb-469f-a165-70867728950e"
    urls = ["https://hooks.example.test/in", "http://127.0.0.1:8080/x?y=1", "https://[2001:db8::1]:443/p",
            "HTTPS://Example.TEST", "https://user:pw@example.test/", "ftp://example.test/", "https://exa mple/"]
    events = ["message.received", "message.bounced", "inbox.webhook_disabled", "message.nope"]
    yield "dsn", dsn
    yield "mime", mime + [d for d in dsn if b"multipart/report" in d][:4]
    yield "reply", [bytes([m]) + s for s in lit["reply_extract"] if len(s) > 8 for m in (0, 1)]
    yield "header", [s for s in lit["header"] if s]
    yield "address", [s for s in lit["address"] + lit["compose"] if b"@" in s or s == b"<>"]
    yield "policy", [bytes([m]) + s for s in lit["policy_proto"] if b"=" in s for m in (6, 255)]
    pfl = [s for s in lit["postfix_log"] if b": " in s]
    yield "postfix_log", pfl + [b"\n".join(pfl)]
    yield "config", [conf] + [s for s in lit["config"] if b"=" in s]
    bodies = [s for s in lit["apiutil"] if s.startswith(b"{") or s.startswith(b"[")] + [
        js({"username": "alice", "displayName": "Alice A.", "labels": ["a", "b\u202e"], "domainId": uuid}),
        js({"displayName": None, "labels": [], "status": "suspended"}),
        js({"to": ["bob@example.test"], "cc": "carol@example.test", "subject": "s", "text": "t"}),
        js({"url": urls[0], "events": events[:2]}), js({"url": urls[1], "enabled": False}),
    ]
    yield "api_json", bodies
    yield "webhook", [u.encode() for u in urls] + [js({"url": u, "events": events}) for u in urls] + \
        [js({"url": urls[0], "events": [e]}) for e in events]
    addrs = [s.decode("utf-8", "replace") for s in lit["compose"] if b"@" in s and len(s) < 300]
    compose = [
        {"to": "bob@example.test", "subject": "Hello", "text": "Hi Bob,\nsee you.\n"},
        {"to": ["Bob <bob@example.test>", "carol@example.test"], "cc": "dave@example.test", "subject": "Grüße",
         "html": "<p>Hi</p>", "text": "Hi\r\n", "fromName": "Alice \"A\""},
        {"to": "bob@example.test", "subject": "Re: x", "text": "ok", "inReplyTo": "<a@b.test>",
         "references": ["<a@b.test>", "<c@d.test>"]},
        {"to": "bob@example.test", "subject": "bad\r\nBcc: x@y.test", "text": "x"},
        {"to": "bob@example.test", "subject": "nul", "text": "a\u0000b"},
        {"to": "bob@example.test", "subject": "cr", "text": "a\rb"},
        {"to": "\"quoted local\"@example.test", "subject": "", "text": "x", "unknown": 1},
    ] + [{"to": a, "subject": "s", "text": "t"} for a in addrs[:40]]
    yield "compose", [js(c) for c in compose]
    heads = [s for s in lit["httpd"] if b"HTTP/" in s] + [
        ("GET /v1/inboxes?limit=20&offset=0 HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer pik_%s\r\n\r\n"
         % ("A" * 43)).encode(),
        ("GET /v1/inboxes/%s/messages?after=2026-01-01T00:00:00Z&before=2026-01-02&type=message.sent "
         "HTTP/1.1\r\nX-API-Key: pik_x\r\n\r\n" % uuid).encode(),
        ("GET /v1/inboxes/%s/webhooks/%s/deliveries?status=failed&limit=100 HTTP/1.1\n\n" % (uuid, uuid)).encode(),
        b"POST /v1/inboxes/x/messages HTTP/1.0\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PATCH /v1/inboxes/%s HTTP/1.1\r\nContent-Length : 5\r\nTransfer-Encoding: gzip\r\n\r\n" % uuid.encode(),
        b"DELETE /v1//inboxes/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
    ]
    yield "http", heads


def main():
    total = 0
    for target, inputs in seeds():
        d = os.path.join(OUT, target)
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        kept = {hashlib.sha1(s).hexdigest(): s for s in inputs if 0 < len(s) <= MAX_SEED}
        for name, data in kept.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(data)
        size = sum(len(s) for s in kept.values())
        total += size
        print("%-12s %4d seeds %8d bytes" % (target, len(kept), size))
    print("total %d bytes" % total)


if __name__ == "__main__":
    main()
