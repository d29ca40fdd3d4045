#!/usr/bin/python3
"""dkim_verify.py -- verifies a message's DKIM signatures with python3-dkim
(dkimpy), independently of the C code, with the keys from a real DNS
server (dnspython asking 127.0.0.1:PORT) or from TXT records in a file.

usage: dkim_verify.py MESSAGE --dns PORT
       dkim_verify.py MESSAGE RECORDS
  MESSAGE  the message as received (LF or CRLF line ends; lines before the
           first header field that smtp-sink -d writes, X-Client-Addr: and
           the like, are fields too and are simply not signed)
  PORT     a DNS server on 127.0.0.1 (tests/integration/dns.sh's NSD)
  RECORDS  lines "NAME TXT VALUE" (VALUE to the end of the line; NAME with
           or without the final dot), e.g. from `postinboxctl domain dkim show`
Prints "pass d=DOMAIN s=SELECTOR from=FROMDOMAIN" and exits 0 when every
DKIM-Signature verifies; "fail: WHY" and exits 1 otherwise (also when there
is none).
"""
import email.utils
import sys

import dkim


def dns_lookup(port):
    import dns.resolver
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port, resolver.lifetime = ["127.0.0.1"], port, 3

    def dnsfunc(name, timeout=5):
        try:
            answer = resolver.resolve(name.decode("ascii"), "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return b"".join(answer[0].strings)
    return dnsfunc


def file_lookup(path):
    records = {}
    for line in open(path, encoding="ascii"):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3 and parts[1] == "TXT":
            records[parts[0].rstrip(".").lower()] = parts[2].strip('"').encode("ascii")

    def dnsfunc(name, timeout=5):
        return records.get(name.decode("ascii").rstrip(".").lower())
    return dnsfunc


def from_domain(message):
    head = message.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    value = None
    for field in head.replace("\r\n ", " ").replace("\r\n\t", " ").split("\r\n"):
        if field.lower().startswith("from:"):
            value = field[5:]
    addr = email.utils.parseaddr(value or "")[1]
    return addr.rsplit("@", 1)[-1].lower() if "@" in addr else "-"


def main():
    message = open(sys.argv[1], "rb").read()
    if sys.argv[2] == "--dns":
        dnsfunc = dns_lookup(int(sys.argv[3]))
    else:
        dnsfunc = file_lookup(sys.argv[2])

    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    count = message.split(b"\r\n\r\n", 1)[0].lower().count(b"\r\ndkim-signature:")
    if message.lower().startswith(b"dkim-signature:"):
        count += 1
    if count == 0:
        print("fail: no DKIM-Signature")
        return 1
    for idx in range(count):
        d = dkim.DKIM(message)
        try:
            ok = d.verify(idx=idx, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("fail: signature %d: %s" % (idx, e))
            return 1
        if not ok:
            print("fail: signature %d does not verify" % idx)
            return 1
    print("pass d=%s s=%s from=%s" % (d.domain.decode(), d.selector.decode(), from_domain(message)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
