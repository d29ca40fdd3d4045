#!/usr/bin/env python3
"""soak_load.py -- the paced SMTP load of tests/bench/soak.sh.

SESSIONS SMTP sessions stay open at the same time against 127.0.0.1:PORT;
a global pacer hands out RATE message tokens a second, so the message rate
is RATE however many sessions there are (a token finds a free session;
when none is free it is dropped and counted, so the rate never bursts to
catch up).  Each session sends a random number of messages (1-30), then
QUITs and connects again, so connection set-up and teardown are exercised
as well as long sessions.  Python 3 standard library only (asyncio).

Session kinds (a session keeps its kind for its life; shares by --mix):
  auth     outbound: AUTH PLAIN as the SASL login, MAIL FROM an inbox
           (--outbound), 1-3 recipients on remote.test
  trusted  outbound: connects from --trusted-source (an address in the
           milter's trusted_networks), no AUTH, otherwise as auth
  inbound  from 127.0.0.1, no AUTH: MAIL FROM sN@remote.test, RCPT TO 1-2
           inboxes (--inbound)
  A share --cap-share of outbound messages comes from --capped, an inbox
  with a small daily cap, with one recipient: once the cap is used up its
  RCPT is refused (4xx), which is counted as "refused" (expected), RSET.
Body sizes: 60 % ~1 KB, 25 % ~10 KB, 12 % ~100 KB, 3 % ~500 KB.

Every reply is checked.  Counters (written to --stats as JSON every
second, atomically, and a last time at the end):
  messages         messages answered 250 after DATA
  outbound, inbound, inbound_rcpts, outbound_rcpts   of those
  refused          the capped inbox's RCPT refusals (expected)
  unexpected       any other non-2xx/3xx reply or broken session (with the
                   first 20 replies in "unexpected_samples")
  dropped_tokens   pacer ticks that found no idle session
  connects         SMTP connections made
The sessions open over the first --ramp (10) seconds, in random order of
kind.  Runs --duration seconds, then lets the sessions finish their current
message (10 s at most) and exits 0.

  soak_load.py --port P --duration S --sessions N --rate R --stats FILE
      --login USER --password PASS --outbound A,B --inbound C,D
      [--capped ADDR --cap-share 0.02] [--trusted-source 127.0.0.2]
      [--mix auth=0.35,trusted=0.15,inbound=0.5] [--seed N] [--ramp S]
"""
import argparse
import asyncio
import base64
import json
import os
import random
import time

SIZES = ((0.60, 1024), (0.25, 10 * 1024), (0.12, 100 * 1024), (0.03, 500 * 1024))


class Stats:
    def __init__(self):
        self.c = dict(messages=0, outbound=0, inbound=0, outbound_rcpts=0, inbound_rcpts=0,
                      refused=0, unexpected=0, dropped_tokens=0, connects=0, open_sessions=0)
        self.samples = []

    def bad(self, what):
        self.c["unexpected"] += 1
        if len(self.samples) < 20:
            self.samples.append(what[:300])

    def write(self, path, started):
        d = dict(self.c, unexpected_samples=self.samples, elapsed=round(time.time() - started, 1))
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(d, f)
        os.replace(tmp, path)


class Reply(Exception):
    pass


async def reply(reader):
    """One SMTP reply: (code, text of the last line)."""
    while True:
        line = await asyncio.wait_for(reader.readline(), 120)
        if not line:
            raise Reply("connection closed")
        if len(line) < 4 or line[3:4] != b"-":
            try:
                return int(line[:3]), line.decode("latin-1").rstrip()
            except ValueError:
                raise Reply("bad reply %r" % line[:80])


async def cmd(reader, writer, text):
    writer.write(text.encode() + b"\r\n")
    await writer.drain()
    return await reply(reader)


def body(rng, size, sender, to, n):
    filler = ("soak line %d " % n) * 6
    lines, total = [], 0
    while total < size:
        lines.append(filler)
        total += len(filler) + 2
    head = ("From: <%s>\r\nTo: %s\r\nSubject: soak %d\r\nMessage-Id: <soak-%d-%d@remote.test>\r\n"
            "Date: %s\r\n\r\n" % (sender, ", ".join("<%s>" % t for t in to), n, os.getpid(), n,
                                  time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())))
    return (head + "\r\n".join(lines) + "\r\n").encode()


def pick_size(rng):
    x = rng.random()
    for share, size in SIZES:
        if x < share:
            return int(size * rng.uniform(0.5, 1.5))
        x -= share
    return SIZES[-1][1]


async def session(sid, kind, args, tokens, stats, stop, rng, counter):
    await asyncio.sleep(args.ramp * sid / max(1, args.sessions))
    while not stop.is_set():
        local = (args.trusted_source, 0) if kind == "trusted" else None
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", args.port, local_addr=local, limit=1 << 20), 30)
        except (OSError, asyncio.TimeoutError) as e:
            stats.bad("%s connect: %s" % (kind, str(e) or type(e).__name__))
            await asyncio.sleep(1)
            continue
        stats.c["connects"] += 1
        stats.c["open_sessions"] += 1
        try:
            code, text = await reply(reader)
            if code != 220:
                raise Reply("greeting " + text)
            code, text = await cmd(reader, writer, "EHLO soak%d.remote.test" % sid)
            if code != 250:
                raise Reply("EHLO " + text)
            if kind == "auth":
                cred = base64.b64encode(("\0%s\0%s" % (args.login, args.password)).encode()).decode()
                code, text = await cmd(reader, writer, "AUTH PLAIN " + cred)
                if code != 235:
                    raise Reply("AUTH " + text)
            for _ in range(rng.randint(1, 30)):
                try:
                    await asyncio.wait_for(tokens.get(), 5)
                except asyncio.TimeoutError:
                    if stop.is_set():
                        break
                    continue
                if stop.is_set():
                    break
                counter[0] += 1
                n = counter[0]
                capped = False
                if kind == "inbound":
                    sender = "s%d@remote.test" % rng.randint(1, 5000)
                    to = rng.sample(args.inbound, min(len(args.inbound), rng.choice((1, 1, 1, 2))))
                else:
                    capped = args.capped and rng.random() < args.cap_share
                    sender = args.capped if capped else rng.choice(args.outbound)
                    k = 1 if capped else rng.choice((1, 1, 2, 3))
                    to = ["r%d@remote.test" % rng.randint(1, 100000) for _ in range(k)]
                code, text = await cmd(reader, writer, "MAIL FROM:<%s>" % sender)
                if code != 250:
                    stats.bad("%s MAIL %s: %s" % (kind, sender, text))
                    await cmd(reader, writer, "RSET")
                    continue
                ok = 0
                for t in to:
                    code, text = await cmd(reader, writer, "RCPT TO:<%s>" % t)
                    if code == 250:
                        ok += 1
                    elif capped and 400 <= code < 500:
                        stats.c["refused"] += 1
                    else:
                        stats.bad("%s RCPT %s from %s: %s" % (kind, t, sender, text))
                if ok != len(to):
                    await cmd(reader, writer, "RSET")
                    continue
                code, text = await cmd(reader, writer, "DATA")
                if code != 354:
                    stats.bad("%s DATA: %s" % (kind, text))
                    await cmd(reader, writer, "RSET")
                    continue
                writer.write(body(rng, pick_size(rng), sender, to, n) + b".\r\n")
                await writer.drain()
                code, text = await reply(reader)
                if code != 250:
                    stats.bad("%s end of DATA: %s" % (kind, text))
                    continue
                stats.c["messages"] += 1
                if kind == "inbound":
                    stats.c["inbound"] += 1
                    stats.c["inbound_rcpts"] += ok
                else:
                    stats.c["outbound"] += 1
                    stats.c["outbound_rcpts"] += ok
            await cmd(reader, writer, "QUIT")
        except (Reply, OSError, asyncio.TimeoutError) as e:
            if not stop.is_set():
                stats.bad("%s session: %s" % (kind, str(e) or type(e).__name__))
                await asyncio.sleep(1)
        finally:
            stats.c["open_sessions"] -= 1
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 5)
            except (OSError, asyncio.TimeoutError):
                pass


async def pacer(args, tokens, stats, stop):
    interval, nxt = 1.0 / args.rate, time.monotonic()
    while not stop.is_set():
        nxt += interval
        delay = nxt - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -1:
            nxt = time.monotonic()   # fell behind by more than a second: do not burst
        if tokens.full():
            stats.c["dropped_tokens"] += 1
        else:
            tokens.put_nowait(1)


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--duration", type=float, required=True)
    ap.add_argument("--sessions", type=int, default=200)
    ap.add_argument("--rate", type=float, default=40)
    ap.add_argument("--stats", required=True)
    ap.add_argument("--login", required=True)
    ap.add_argument("--password", required=True)
    ap.add_argument("--outbound", required=True)
    ap.add_argument("--inbound", required=True)
    ap.add_argument("--capped", default="")
    ap.add_argument("--cap-share", type=float, default=0.0)
    ap.add_argument("--trusted-source", default="127.0.0.2")
    ap.add_argument("--mix", default="auth=0.35,trusted=0.15,inbound=0.5")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ramp", type=float, default=10)
    args = ap.parse_args()
    args.outbound = args.outbound.split(",")
    args.inbound = args.inbound.split(",")
    mix = [(k, float(v)) for k, v in (p.split("=") for p in args.mix.split(","))]
    rng = random.Random(args.seed)
    stats, stop = Stats(), asyncio.Event()
    tokens = asyncio.Queue(maxsize=max(1, min(10, args.sessions)))
    started = time.time()
    kinds = []
    for k, share in mix:
        kinds += [k] * int(round(share * args.sessions))
    kinds = (kinds + [mix[-1][0]] * args.sessions)[:args.sessions]
    rng.shuffle(kinds)
    counter = [0]
    tasks = [asyncio.ensure_future(session(i, kinds[i], args, tokens, stats, stop,
                                           random.Random(rng.random()), counter))
             for i in range(args.sessions)]
    pace = asyncio.ensure_future(pacer(args, tokens, stats, stop))
    end = time.monotonic() + args.duration
    while time.monotonic() < end:
        await asyncio.sleep(min(1.0, max(0.0, end - time.monotonic())))
        stats.write(args.stats, started)
    stop.set()
    await asyncio.wait(tasks + [pace], timeout=10)
    for t in tasks:
        t.cancel()
    stats.write(args.stats, started)


if __name__ == "__main__":
    asyncio.run(main())
