#!/usr/bin/env bash
# milter-cpu.sh -- where the CPU goes per message with postinbox-milter:
# the milter, PostgreSQL and Redis processes' utime+stime (from
# /proc/PID/stat) over N outbound messages pushed by smtp-source (20
# sessions, 1 KB, one recipient, from a trusted client) through a private
# Postfix.  Short-lived Postfix processes are not counted reliably (their
# time leaves with them), so Postfix is left out.  Not a test: prints
# figures.  Bounded: N messages (default 3000), then it stops everything.
#
#   bash tests/bench/milter-cpu.sh            N=3000 by default
set -u
. "$(dirname "$0")/../integration/common.sh"
N=${N:-3000}
pi_setup "trusted_networks = 127.0.0.0/8" >/dev/null 2>&1 || { echo "setup failed" >&2; exit 1; }
A=$(pi_account "Bench" bench)
read -r _ ADDR <<<"$(pi_inbox "$A" sender --daily-limit 1000000 --burst-limit 1000000)"
SOURCE=/usr/sbin/smtp-source

ticks() {  # utime+stime, in clock ticks, of the processes matching $1
    local t=0 p f
    for p in $(pgrep -f "$1"); do
        read -r -a f < "/proc/$p/stat" 2>/dev/null || continue
        t=$((t + f[13] + f[14]))
    done
    echo "$t"
}
snap() { echo "$(ticks postinbox-milter) $(ticks postgres) $(ticks redis-server)"; }

timeout 120 "$SOURCE" -s 20 -m 300 -l 1024 -f "$ADDR" -t rcpt@remote.test "127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
sleep 2
read -r m0 p0 r0 <<<"$(snap)"
t0=$(date +%s.%N)
timeout 600 "$SOURCE" -s 20 -m "$N" -l 1024 -f "$ADDR" -t rcpt@remote.test "127.0.0.1:$SMTP_PORT" >/dev/null 2>&1
t1=$(date +%s.%N)
sleep 3
read -r m1 p1 r1 <<<"$(snap)"
python3 - "$N" "$t0" "$t1" "$(getconf CLK_TCK)" $((m1 - m0)) $((p1 - p0)) $((r1 - r0)) <<'PY'
import sys
n, t0, t1, hz = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
print("%d messages, %.0f msg/s" % (n, n / (t1 - t0)))
for name, v in zip(("postinbox-milter", "postgres (all backends)", "redis-server"), sys.argv[5:]):
    print("  %-24s %.2f ms CPU per message" % (name, int(v) * 1000.0 / hz / n))
PY
