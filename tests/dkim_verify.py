#!/usr/bin/python3
"""dkim_verify.py -- verifies a message's DKIM signatures with python3-dkim
(dkimpy), independently of the C code, against TXT records given in a file
instead of DNS (a real DNS server comes with `domain verify`).

usage: dkim_verify.py MESSAGE RECORDS
  MESSAGE  the message as received (LF or CRLF line ends)
  RECORDS  lines "NAME TXT VALUE" (VALUE to the end of the line; NAME with
           or without the final dot), e.g. from `postinboxctl domain dkim show`
Prints "pass d=DOMAIN s=SELECTOR" and exits 0 when every DKIM-Signature
verifies; "fail: WHY" and exits 1 otherwise (also when there is none).
"""
import sys

import dkim


def main():
    message = open(sys.argv[1], "rb").read()
    records = {}
    for line in open(sys.argv[2], encoding="ascii"):
        parts = line.rstrip("\n").split(" ", 2)
        if len(parts) == 3 and parts[1] == "TXT":
            records[parts[0].rstrip(".").lower()] = parts[2].strip('"').encode("ascii")

    def dnsfunc(name, timeout=5):
        return records.get(name.decode("ascii").rstrip(".").lower())

    message = message.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    count = message.split(b"\r\n\r\n", 1)[0].lower().count(b"\r\ndkim-signature:")
    if message.lower().startswith(b"dkim-signature:"):
        count += 1
    if count == 0:
        print("fail: no DKIM-Signature")
        return 1
    for idx in range(count):
        d = dkim.DKIM(message)
        if not d.verify(idx=idx, dnsfunc=dnsfunc):
            print("fail: signature %d does not verify" % idx)
            return 1
    print("pass d=%s s=%s" % (d.domain.decode(), d.selector.decode()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
