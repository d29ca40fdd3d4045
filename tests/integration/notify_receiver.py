#!/usr/bin/env python3
"""notify_receiver.py SOCKET LOG [PORT...] -- the service manager's end of
sd_notify(3): binds the datagram socket NOTIFY_SOCKET names and appends
every message it gets to LOG as one line, its fields joined by '|'.  On a
message with READY=1 it then tries each PORT on 127.0.0.1 and appends
"ports open" or "port N closed", which says whether the daemon's sockets
were open when it said it was ready.  Runs until killed."""
import os
import socket
import sys


def main():
    path, log, ports = sys.argv[1], sys.argv[2], [int(p) for p in sys.argv[3:]]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    os.chmod(path, 0o777)
    with open(log, "a", buffering=1) as out:
        out.write("listening\n")
        while True:
            data = s.recv(4096).decode("utf-8", "replace")
            fields = [f for f in data.split("\n") if f]
            out.write("|".join(fields) + "\n")
            if "READY=1" in fields and ports:
                closed = []
                for p in ports:
                    c = socket.socket()
                    c.settimeout(1)
                    try:
                        c.connect(("127.0.0.1", p))
                    except OSError:
                        closed.append(p)
                    finally:
                        c.close()
                out.write("ports open\n" if not closed else "port %s closed\n" % closed[0])


if __name__ == "__main__":
    main()
