#!/usr/bin/env bash
#
# tests/bench/milter-throughput.sh -- what postinbox-milter costs Postfix.
#
# WHAT IT MEASURES
#   Messages/second that ONE private Postfix instance accepts from
#   smtp-source (20 parallel sessions, one message per connection) in three
#   set-ups that differ only in smtpd_milters:
#     none       no milter
#     null       tests/bench/nullmilter.c: every stage, SMFIS_CONTINUE, no
#                skipped stages: the ceiling any milter can reach
#     postinbox  postinbox-milter doing its full work: the client is in
#                trusted_networks, so MAIL FROM the inbox address is
#                outbound; every RCPT does the PostgreSQL lookup + the Redis
#                reservation, every message is recorded in PostgreSQL.
#   each with 1 and with 5 recipients per message, in two workloads:
#     world      outbound to the world: the recipients are on a domain that
#                is not ours (rcpt@remote.test: one lookup, then the
#                foreign-domain cache), one outbound record per message;
#     inbox      inbox to inbox: the recipients are 1 or 5 other inboxes
#                (each RCPT a lookup + a reservation), one outbound and 1 or 5
#                inbound records per message (the heaviest path);
#   and in two placements:
#     colo       everything shares both CPUs, as on one small host;
#     apart      PostgreSQL and Redis pinned to CPU 1 (taskset), Postfix,
#                smtp-source and the milters to CPU 0: how a site with its
#                database and Redis on other hosts sees the milter.  Bare
#                Postfix and the do-nothing milter are pinned the same way.
#   Each set-up has its own
#   smtpd listener in master.cf (identical lines except -o smtpd_milters),
#   so switching set-ups needs no reload.  Rounds interleave the set-ups
#   (the order rotates from round to round, and so does the order of the
#   placements), each placement is switched on the running processes with
#   taskset between runs, and the tables report medians over the rounds; a
#   warm-up round is run first and left out.
#   Also reported:
#   - p50/p99 of the RCPT decision time measured inside postinbox-milter
#     (the us= field of its "stage=rcpt direction=outbound" log lines: the
#     PostgreSQL lookup + the Redis script), over the measured rounds, and
#     in a run with a single session (no load: the bare backend latency);
#   - resident memory (VmRSS sampled every 0.1 s, and VmHWM) of a freshly
#     started postinbox-milter while smtp-source runs 200 sessions at once
#     (and of the null milter under the same load, for reference).
#   Every run is checked: Postfix logged one cleanup + one "removed" line per
#   message and one discard "status=sent" per recipient, no reject/deferral,
#   and for postinbox one outbound row per message in postinbox.message (and,
#   inbox to inbox, one inbound row per recipient) and one accepted RCPT
#   decision per recipient.  A run that lost anything
#   prints "LOST MESSAGES" and the script exits 1.
#
# HOW TO RUN (root; Postfix, PostgreSQL, Redis, libmilter-dev installed;
# project built in-tree with `make`):
#     tests/bench/milter-throughput.sh
#   Knobs (environment): MESSAGES (2000, per run), ROUNDS (3), SESSIONS (20),
#   RCPT_COUNTS ("1 5"), WORKLOADS ("world inbox"), PLACEMENTS ("colo apart"), MSG_BYTES (1024, body size), WARMUP (1 = one
#   warm-up round of WARMUP_MESSAGES (500) per run, 0 = none),
#   IDLE_MESSAGES (400, the single-session run), MEM_SESSIONS (200),
#   MEM_MESSAGES (2000), MEM_TEST (1 = run the memory part), RUN_TIMEOUT (300 s
#   per smtp-source run), MAX_SECONDS (2400: the script gives up, exit 1,
#   when a run would start after that), KEEP_TEST_DIR=1 (keep logs).
#   Not part of `make check`; not a pass/fail test of speed.
#
# HOW LONG IT TAKES
#   About 15 minutes on a quiet 2-core machine with the defaults (3 rounds x
#   2 placements x 2 workloads x 2 recipient counts x 3 set-ups x 2000
#   messages = 144,000 messages, plus the warm-up round, the single-session
#   run and the 200-session memory runs).
#   Bounded: each smtp-source run is killed after RUN_TIMEOUT, each drain
#   wait gives up after 120 s, and no run starts after MAX_SECONDS.
#
# OUTPUT
#   One line per run, then a Markdown table (paste into the README) and the
#   exact command line.  All services are private (tests/integration/
#   services.sh) and are stopped on exit, also on error or ^C.

set -u

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../integration/common.sh
. "$BENCH_DIR/../integration/common.sh"

MESSAGES=${MESSAGES:-2000}
ROUNDS=${ROUNDS:-3}
SESSIONS=${SESSIONS:-20}
RCPT_COUNTS=${RCPT_COUNTS:-1 5}
MSG_BYTES=${MSG_BYTES:-1024}
WARMUP=${WARMUP:-1}
WARMUP_MESSAGES=${WARMUP_MESSAGES:-500}
IDLE_MESSAGES=${IDLE_MESSAGES:-400}
MEM_TEST=${MEM_TEST:-1}
MEM_SESSIONS=${MEM_SESSIONS:-200}
MEM_MESSAGES=${MEM_MESSAGES:-2000}
RUN_TIMEOUT=${RUN_TIMEOUT:-300}
MAX_SECONDS=${MAX_SECONDS:-3600}
WORKLOADS=${WORKLOADS:-world inbox}
PLACEMENTS=${PLACEMENTS:-colo apart}
DRAIN_TIMEOUT=120          # seconds to wait for Postfix to finish a run's mail
VARIANTS=(none null postinbox)
RCPT_DOMAIN=remote.test    # not ours: every recipient is a plain outbound one

SMTP_SOURCE=/usr/sbin/smtp-source
BENCH_START=$SECONDS

die() {
    BENCH_FAILED=1
    printf '\nmilter-throughput.sh: ERROR: %s\n' "$*" >&2
    exit 1
}

# The exact command line, with every knob spelled out.
command_line() {
    printf 'MESSAGES=%s ROUNDS=%s SESSIONS=%s RCPT_COUNTS=%q WORKLOADS=%q PLACEMENTS=%q MSG_BYTES=%s WARMUP=%s WARMUP_MESSAGES=%s ' \
        "$MESSAGES" "$ROUNDS" "$SESSIONS" "$RCPT_COUNTS" "$WORKLOADS" "$PLACEMENTS" "$MSG_BYTES" "$WARMUP" "$WARMUP_MESSAGES"
    printf 'IDLE_MESSAGES=%s MEM_TEST=%s MEM_SESSIONS=%s MEM_MESSAGES=%s tests/bench/milter-throughput.sh\n' \
        "$IDLE_MESSAGES" "$MEM_TEST" "$MEM_SESSIONS" "$MEM_MESSAGES"
}

for v in MESSAGES ROUNDS SESSIONS MSG_BYTES WARMUP_MESSAGES IDLE_MESSAGES MEM_SESSIONS MEM_MESSAGES RUN_TIMEOUT MAX_SECONDS; do
    [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -gt 0 ] || die "$v must be a positive integer (got '${!v}')"
done
for r in $RCPT_COUNTS; do
    [[ $r =~ ^[0-9]+$ ]] && [ "$r" -gt 0 ] || die "RCPT_COUNTS must be positive integers"
done
MAX_RCPTS=1
for r in $RCPT_COUNTS; do [ "$r" -gt "$MAX_RCPTS" ] && MAX_RCPTS=$r; done
for w in $WORKLOADS; do
    [[ $w == world || $w == inbox ]] || die "WORKLOADS are world and/or inbox (got '$w')"
done
for p in $PLACEMENTS; do
    [[ $p == colo || $p == apart ]] || die "PLACEMENTS are colo and/or apart (got '$p')"
done
[[ " $PLACEMENTS " != *" apart "* ]] || [ "$(nproc)" -ge 2 ] || die "PLACEMENTS=apart needs 2 CPUs"
command -v taskset >/dev/null || die "taskset missing (package util-linux)"
[ -x "$SMTP_SOURCE" ] || die "$SMTP_SOURCE missing (package postfix)"
[ -f /usr/include/libmilter/mfapi.h ] || die "libmilter headers missing (package libmilter-dev)"

# Dump the tails of the logs when we fail (stderr: runs from the EXIT trap).
BENCH_FAILED=0
svc_on_exit() {
    # Stop the milters ourselves, patiently (services.sh would KILL them
    # after 2 s, and bash would report that).
    local f pids=()
    for f in "${NULL_PID-}" "$(pi_milter_pid)"; do
        [ -n "$f" ] && _svc_alive "$f" && pids+=("$f")
    done
    [ ${#pids[@]} -gt 0 ] && stop_pid "${pids[@]}"
    [ "$BENCH_FAILED" = 1 ] || return 0
    for f in "$(svc_maillog)" "$(pi_milter_log)" "$SVC_DIR/nullmilter.log"; do
        [ -f "$f" ] || continue
        echo "---- $f (last 20 lines)" >&2
        tail -n 20 "$f" >&2
    done
}

# loud FMT... - report lost messages / a broken run and exit 1.
loud() {
    BENCH_FAILED=1
    {
        echo
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
        echo "!!! LOST MESSAGES / BROKEN RUN: $*"
        echo "!!! The figures of this benchmark are not valid."
        echo "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!"
    } >&2
    exit 1
}

# stop_pid PID... - TERM, wait up to 10 s (libmilter needs ~5 s to stop), KILL.
stop_pid() {
    local pid
    kill -TERM "$@" 2>/dev/null
    _svc_wait_gone 10 "$@" || kill -KILL "$@" 2>/dev/null
    for pid in "$@"; do wait "$pid" 2>/dev/null; done
}

# wait_port PORT SECONDS - wait until something accepts on 127.0.0.1:PORT.
wait_port() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# wait_banner PORT - wait (15 s) for a 220 greeting on 127.0.0.1:PORT.
wait_banner() {
    local banner deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        # shellcheck disable=SC2016
        banner=$(timeout 2 bash -c '
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            IFS= read -r -t 2 line <&3 || exit 1
            printf "QUIT\r\n" >&3
            printf "%s" "$line"' _ "$1" 2>/dev/null)
        [[ $banner == 220* ]] && return 0
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------------------
# Set-up: PostgreSQL, Redis, the two milters, Postfix with three listeners.
# ---------------------------------------------------------------------------

pi_require
svc_init || die "svc_init failed"
svc_start_pg || die "PostgreSQL did not start"
svc_start_redis || die "Redis did not start"
# trusted_networks makes the unauthenticated MAIL FROM an inbox address
# outbound (no SASL needed, no login grant needed).
pi_write_conf "trusted_networks = 127.0.0.1/32"
pi_ctl migrate >/dev/null || die "postinboxctl migrate failed"
pi_start_milter || die "postinbox-milter did not start"

cc -O2 -Wall -Wextra -o "$SVC_DIR/nullmilter" "$BENCH_DIR/nullmilter.c" -lmilter -lpthread ||
    die "cannot compile nullmilter.c"
NULL_PORT=$MILTER2_PORT
"$SVC_DIR/nullmilter" "inet:$NULL_PORT@127.0.0.1" >"$SVC_DIR/nullmilter.log" 2>&1 &
NULL_PID=$!
svc_register_pid "$NULL_PID"
wait_port "$NULL_PORT" 10 || die "nullmilter did not start: $(cat "$SVC_DIR/nullmilter.log")"

ACCOUNT=$(pi_account "Bench" bench) || die "account create failed"
read -r INBOX_ID INBOX <<<"$(pi_inbox "$ACCOUNT" sender --daily-limit 100000000 --burst-limit 100000000)"
[ -n "${INBOX-}" ] || die "inbox create failed"
# Inbox to inbox: smtp-source -r N -t in--bench@... sends to
# Nin--bench@..., ..., 2in--bench@... and in--bench@....
RCPT_INBOX_IDS=()
for ((k = 1; k <= MAX_RCPTS; k++)); do
    user=in
    [ "$k" -gt 1 ] && user=${k}in
    read -r id addr <<<"$(pi_inbox "$ACCOUNT" "$user")"
    [ -n "${id-}" ] || die "recipient inbox create failed"
    [ "$k" = 1 ] && RCPT_INBOX=$addr
    RCPT_INBOX_IDS+=("'$id'")
done
[[ $RCPT_INBOX == in--* ]] || die "unexpected inbox address $RCPT_INBOX"

# Postfix: main.cf from services.sh (discard transport, in_flow_delay = 0,
# no client rate/count limits) with an empty smtpd_milters; room for
# MEM_SESSIONS smtpd processes.  One smtpd listener per set-up; the three
# master.cf lines are identical except for the milter.
svc_start_postfix "" || die "Postfix did not start"
PROC_LIMIT=$((MEM_SESSIONS + 50))
svc_postconf -e "in_flow_delay = 0" "default_process_limit = $PROC_LIMIT" \
    "smtpd_client_connection_count_limit = 0" "smtpd_milters =" || die "postconf failed"
declare -A PORT=([none]=$SMTP_PORT [null]=$POLICY_PORT [postinbox]=$HTTP_PORT)
declare -A MILTERS=([none]="" [null]="inet:127.0.0.1:$NULL_PORT" [postinbox]="inet:127.0.0.1:$MILTER_PORT")
for v in "${VARIANTS[@]}"; do
    p=${PORT[$v]}
    svc_postconf -M -e "127.0.0.1:$p/inet = 127.0.0.1:$p inet n - n - $PROC_LIMIT smtpd -o smtpd_milters=${MILTERS[$v]}" ||
        die "postconf -M failed"
done
svc_postfix_reload || die "postfix reload failed"
for v in "${VARIANTS[@]}"; do
    wait_banner "${PORT[$v]}" || die "smtpd for '$v' on port ${PORT[$v]} does not answer"
done
[ "$(svc_postconf -h in_flow_delay)" = 0 ] || die "in_flow_delay is not 0"

MAILLOG=$(svc_maillog)
MILTER_LOG=$(pi_milter_log)
SPOOL=$SVC_DIR/postfix/spool
RESULTS=$SVC_DIR/results          # one line per measured run
: >"$RESULTS"
mkdir -p "$SVC_DIR/us"

# queue_count - messages in Postfix's queues (incoming, active, deferred...).
queue_count() {
    find "$SPOOL/maildrop" "$SPOOL/incoming" "$SPOOL/active" "$SPOOL/deferred" "$SPOOL/hold" \
        -type f 2>/dev/null | wc -l
}

# file_size FILE - size in bytes (0 if missing).
file_size() {
    stat -c %s "$1" 2>/dev/null || echo 0
}

# count_re FILE OFFSET ERE - lines matching ERE after byte OFFSET of FILE.
count_re() {
    tail -c +$(($2 + 1)) "$1" | grep -Ec -- "$3"
}

pg_rows() {
    svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$INBOX_ID' AND direction = 'outbound'"
}
pg_inbound_rows() {
    local ids
    ids=$(IFS=,; echo "${RCPT_INBOX_IDS[*]}")
    svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id IN ($ids) AND direction = 'inbound'"
}

# The placements.  pin_tree CPUS PID...: PID, every thread of it and every
# descendant (PostgreSQL backends, Postfix's daemons) to CPUS; processes
# forked later inherit it from their parent.
pin_tree() {
    local cpus=$1 pid child
    shift
    for pid in "$@"; do
        [ -n "$pid" ] || continue
        taskset -a -c -p "$cpus" "$pid" >/dev/null 2>&1
        for child in $(pgrep -P "$pid"); do pin_tree "$cpus" "$child"; done
    done
}
ALL_CPUS=0-$(($(nproc) - 1))
PLACE_PREFIX=()   # how smtp-source is started
place() {
    local front=$ALL_CPUS back=$ALL_CPUS
    if [ "$1" = apart ]; then
        front=0
        back=1
    fi
    pin_tree "$back" "$(head -n 1 "$SVC_DIR/pg/postmaster.pid")" "$(_svc_redis_pid)"
    pin_tree "$front" "$(_svc_pf_master_pid)" "$(pi_milter_pid)" "$NULL_PID"
    PLACE_PREFIX=(taskset -c "$front")
    PLACEMENT=$1
    # Show that it took: the CPUs each process may now run on.
    printf 'placement %s: postgres %s, redis %s, postfix master %s, postinbox-milter %s, null milter %s\n' "$1" \
        "$(affinity "$(head -n 1 "$SVC_DIR/pg/postmaster.pid")")" "$(affinity "$(_svc_redis_pid)")" \
        "$(affinity "$(_svc_pf_master_pid)")" "$(affinity "$(pi_milter_pid)")" "$(affinity "$NULL_PID")"
}
affinity() { taskset -c -p "$1" 2>/dev/null | sed 's/.*: //'; }

# ---------------------------------------------------------------------------
# One run: smtp-source through one set-up, then wait until Postfix has
# delivered (discarded) everything and check that nothing was lost.
#   run_one VARIANT RCPTS MESSAGES SESSIONS TAG WORKLOAD [SMTP-SOURCE FLAGS...]
# Sets RUN_RATE (msg/s) and RUN_SECS; TAG is warmup, round<N> or mem;
# WORKLOAD world or inbox; in the placement last set by place.
# ---------------------------------------------------------------------------
run_one() {
    local v=$1 rcpts=$2 n=$3 sessions=$4 tag=$5 workload=$6
    shift 6
    local port=${PORT[$v]} log_off mlog_off rows_before in_before t0 t1 rc i to
    local cleanup removed sent rejects decisions rows_after in_after in_want left
    local what="$tag/$PLACEMENT/$workload/$v/r$rcpts"
    to="rcpt@$RCPT_DOMAIN"
    [ "$workload" = inbox ] && to=$RCPT_INBOX

    [ $((SECONDS - BENCH_START)) -lt "$MAX_SECONDS" ] ||
        die "time budget MAX_SECONDS=$MAX_SECONDS exhausted before run $what"
    [ "$(queue_count)" -eq 0 ] || loud "queue not empty before $what"

    log_off=$(file_size "$MAILLOG")
    mlog_off=$(file_size "$MILTER_LOG")
    if [ "$v" = postinbox ]; then
        rows_before=$(pg_rows)
        in_before=$(pg_inbound_rows)
    fi

    t0=$(date +%s.%N)
    timeout "$RUN_TIMEOUT" "${PLACE_PREFIX[@]}" "$SMTP_SOURCE" "$@" -4 -s "$sessions" -m "$n" -r "$rcpts" -l "$MSG_BYTES" \
        -M client.test -f "$INBOX" -t "$to" "127.0.0.1:$port" \
        >"$SVC_DIR/smtp-source.out" 2>&1 </dev/null
    rc=$?
    t1=$(date +%s.%N)
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
    RUN_RATE=$(awk -v n="$n" -v s="$RUN_SECS" 'BEGIN { printf "%.1f", n / s }')
    [ "$rc" -eq 0 ] || loud "$what: smtp-source exited $rc: $(tail -n 3 "$SVC_DIR/smtp-source.out")"

    # Postfix delivers to discard asynchronously and postlogd writes the
    # log asynchronously: wait until every message is gone from the queue
    # and logged as removed.
    for ((i = 0; i < DRAIN_TIMEOUT * 10; i++)); do
        left=$(queue_count)
        removed=$(count_re "$MAILLOG" "$log_off" 'postfix/qmgr\[[0-9]+\]: [0-9A-Za-z]+: removed$')
        [ "$left" -eq 0 ] && [ "$removed" -ge "$n" ] && break
        sleep 0.1
    done
    sleep 0.2   # let the last discard lines reach the log
    cleanup=$(count_re "$MAILLOG" "$log_off" 'postfix/cleanup\[[0-9]+\]: [0-9A-Za-z]+: message-id=')
    removed=$(count_re "$MAILLOG" "$log_off" 'postfix/qmgr\[[0-9]+\]: [0-9A-Za-z]+: removed$')
    sent=$(count_re "$MAILLOG" "$log_off" 'postfix/discard\[[0-9]+\]: .* status=sent ')
    rejects=$(count_re "$MAILLOG" "$log_off" 'reject|milter-reject|status=(deferred|bounced)|warning: .*milter')
    left=$(queue_count)
    if [ "$cleanup" -ne "$n" ] || [ "$removed" -ne "$n" ] || [ "$sent" -ne $((n * rcpts)) ] ||
        [ "$rejects" -ne 0 ] || [ "$left" -ne 0 ]; then
        loud "$what: sent $n messages x $rcpts recipients; Postfix logged $cleanup received," \
            "$removed removed, $sent of $((n * rcpts)) recipients delivered, $rejects rejects/deferrals/milter" \
            "warnings, $left still queued"
    fi

    if [ "$v" = postinbox ]; then
        rows_after=$(pg_rows)
        in_after=$(pg_inbound_rows)
        in_want=0
        [ "$workload" = inbox ] && in_want=$((n * rcpts))
        decisions=$(tail -c +$((mlog_off + 1)) "$MILTER_LOG" |
            grep -F ' stage=rcpt direction=outbound ' | grep -F ' action=continue ' |
            tee "$SVC_DIR/us/$tag.$PLACEMENT.$workload.r$rcpts.lines" | wc -l)
        if [ $((rows_after - rows_before)) -ne "$n" ] || [ $((in_after - in_before)) -ne "$in_want" ] ||
            [ "$decisions" -ne $((n * rcpts)) ]; then
            loud "$what: sent $n messages x $rcpts recipients; postinbox.message got" \
                "$((rows_after - rows_before)) outbound rows and $((in_after - in_before)) of $in_want inbound rows," \
                "the milter logged $decisions accepted RCPT decisions"
        fi
        # Keep the decision times of this run (us=NNN).
        sed -n 's/.* us=\([0-9][0-9]*\).*/\1/p' "$SVC_DIR/us/$tag.$PLACEMENT.$workload.r$rcpts.lines" \
            >"$SVC_DIR/us/$tag.$PLACEMENT.$workload.r$rcpts"
    fi
    printf '%-8s %-5s %-5s rcpt=%s %-9s %5d msgs, %3d sessions: %7.3f s  %7.1f msg/s  (checked: %d received, %d recipients delivered%s)\n' \
        "$tag" "$PLACEMENT" "$workload" "$rcpts" "$v" "$n" "$sessions" "$RUN_SECS" "$RUN_RATE" "$cleanup" "$sent" \
        "$([ "$v" = postinbox ] && echo ", $n outbound + $in_want inbound records")"
}

# median - median of the numbers on stdin.
median() {
    sort -g | awk '{ a[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# percentile P FILE... - nearest-rank P-th percentile of the numbers in FILEs.
percentile() {
    local p=$1
    shift
    cat "$@" | sort -n | awk -v p="$p" '{ a[NR] = $1 } END {
        if (NR == 0) { print "nan"; exit }
        k = int((p / 100) * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR; print a[k] }'
}

# ---------------------------------------------------------------------------
# The rounds.
# ---------------------------------------------------------------------------

echo "postinbox milter throughput benchmark: $(nproc) CPUs, Postfix $(postconf -dh mail_version)," \
    "$(svc_psql 'SHOW server_version' | cut -d' ' -f1) PostgreSQL, Redis $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/')"
echo "sender inbox $INBOX (trusted_networks = 127.0.0.1/32), recipients *rcpt@$RCPT_DOMAIN (world) or *$RCPT_INBOX (inbox)," \
    "body $MSG_BYTES bytes, one message per SMTP connection"
echo "listeners: none=127.0.0.1:${PORT[none]} null=127.0.0.1:${PORT[null]} postinbox=127.0.0.1:${PORT[postinbox]}"
# Other work on the machine skews everything: show the load we start with
# (PostgreSQL's start-up is in it; above ~1 something else is running).
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "master.cf listeners:"
svc_postconf -M | grep -E '^127\.0\.0\.1:[0-9]+ +inet' | sed 's/^/    /'
echo

read -r -a PLACE <<<"$PLACEMENTS"
if [ "$WARMUP" = 1 ]; then
    for p in "${PLACE[@]}"; do
        place "$p"
        for w in $WORKLOADS; do
            for r in $RCPT_COUNTS; do
                for v in "${VARIANTS[@]}"; do
                    run_one "$v" "$r" "$WARMUP_MESSAGES" "$SESSIONS" warmup "$w"
                done
            done
        done
    done
fi

for ((round = 1; round <= ROUNDS; round++)); do
    # Rotate the order: round 1 none,null,postinbox; round 2 null,postinbox,none; ...
    order=()
    for ((k = 0; k < ${#VARIANTS[@]}; k++)); do
        order+=("${VARIANTS[$(((k + round - 1) % ${#VARIANTS[@]}))]}")
    done
    # ...and the placements: round 1 colo first, round 2 apart first, ...
    for ((j = 0; j < ${#PLACE[@]}; j++)); do
        place "${PLACE[$(((j + round - 1) % ${#PLACE[@]}))]}"
        for w in $WORKLOADS; do
            for r in $RCPT_COUNTS; do
                for v in "${order[@]}"; do
                    run_one "$v" "$r" "$MESSAGES" "$SESSIONS" "round$round" "$w"
                    echo "$round $PLACEMENT $w $r $v $RUN_RATE" >>"$RESULTS"
                done
            done
        done
    done
done
place colo

# ---------------------------------------------------------------------------
# The RCPT decision time without load: one session, so that the us= figures
# of the loaded runs can be told apart from waiting for a CPU.
# ---------------------------------------------------------------------------
echo
run_one postinbox 1 "$IDLE_MESSAGES" 1 idle world

# ---------------------------------------------------------------------------
# Memory with MEM_SESSIONS concurrent sessions: a freshly started milter,
# VmRSS sampled every 0.1 s while smtp-source runs, VmHWM at the end.
#
# Getting MEM_SESSIONS sessions into the milter at once takes two things:
# - smtp-source -d, so each session keeps one connection (and smtpd keeps
#   its milter connection) for all its messages;
# - MEM_SESSIONS smtpd processes ready: the Postfix master forks smtpd
#   processes one at a time as connections wait (about 15/s on a loaded
#   2-core machine), so a short run would never get there.  prewarm_smtpd
#   opens MEM_SESSIONS connections and holds them until every one has its
#   220 greeting (= that many smtpd processes exist), then QUITs; the smtpd
#   processes stay idle (max_idle 100 s) for the measured run.  This is
#   done before the milters are restarted, so it is not in their VmHWM.
# ---------------------------------------------------------------------------

# prewarm_smtpd PORT N - prints how many greetings arrived (N on success).
prewarm_smtpd() {
    timeout 120 python3 - "$1" "$2" <<'PY'
import selectors, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
deadline = time.time() + 90
sel = selectors.DefaultSelector()
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.setblocking(False)
    socks.append(s)
    sel.register(s, selectors.EVENT_READ, bytearray())
greeted = 0
while greeted < n and time.time() < deadline:
    for key, _ in sel.select(timeout=1):
        try:
            data = key.fileobj.recv(4096)
        except BlockingIOError:
            continue
        key.data.extend(data)
        if not data or b"\n" in key.data:
            sel.unregister(key.fileobj)
            if key.data.startswith(b"220"):
                greeted += 1
for s in socks:
    try:
        s.setblocking(True)
        s.sendall(b"QUIT\r\n")
    except OSError:
        pass
    s.close()
print(greeted)
PY
}

# mem_run VARIANT PID MILTER_PORT - sets MEM_START MEM_PEAK MEM_HWM (KiB),
# MEM_CONNS (peak number of established connections to the milter = SMTP
# sessions it holds), MEM_THREADS (peak thread count; Debian's libmilter
# runs a worker pool, so this counts sessions inside a callback, not all
# sessions) and MEM_SMTPD (peak smtpd processes of that listener).
mem_run() {
    local v=$1 pid=$2 mport=$3 sampler master
    master=$(tr -dc '0-9' <"$SPOOL/pid/master.pid")
    MEM_START=$(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")
    (
        while :; do
            printf '%s %s %s\n' \
                "$(awk '/^VmRSS:/ { r = $2 } /^Threads:/ { t = $2 } END { print r, t }' "/proc/$pid/status" 2>/dev/null)" \
                "$(ss -Htn state established "( sport = :$mport )" | wc -l)" \
                "$(ps -o args= -s "$master" | grep -c "^smtpd -n 127\.0\.0\.1:${PORT[$v]} ")"
            sleep 0.1
        done
    ) >"$SVC_DIR/mem.$v" &
    sampler=$!
    svc_register_pid "$sampler"
    run_one "$v" 1 "$MEM_MESSAGES" "$MEM_SESSIONS" mem world -d
    kill "$sampler" 2>/dev/null
    wait "$sampler" 2>/dev/null
    MEM_PEAK=$(awk '$1 > m { m = $1 } END { print m + 0 }' "$SVC_DIR/mem.$v")
    MEM_THREADS=$(awk '$2 > m { m = $2 } END { print m + 0 }' "$SVC_DIR/mem.$v")
    MEM_CONNS=$(awk '$3 > m { m = $3 } END { print m + 0 }' "$SVC_DIR/mem.$v")
    MEM_SMTPD=$(awk '$4 > m { m = $4 } END { print m + 0 }' "$SVC_DIR/mem.$v")
    MEM_HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status")
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

if [ "$MEM_TEST" = 1 ]; then
    echo
    echo "memory: $MEM_SESSIONS concurrent sessions (smtp-source -d: one connection per session)," \
        "$MEM_MESSAGES messages, 1 recipient, freshly started milters"
    for v in postinbox null; do
        got=$(prewarm_smtpd "${PORT[$v]}" "$MEM_SESSIONS")
        echo "prewarm $v: $got of $MEM_SESSIONS smtpd processes greeted at once"
        [ "${got:-0}" -eq "$MEM_SESSIONS" ] ||
            echo "WARNING: only ${got:-0} smtpd processes for '$v': fewer than $MEM_SESSIONS concurrent sessions" >&2
    done
    # Fresh milter processes, so that VmHWM is this run's peak.
    stop_pid "$(pi_milter_pid)"
    pi_start_milter || die "postinbox-milter did not restart"
    PI_PID=$(pi_milter_pid)
    stop_pid "$NULL_PID"
    "$SVC_DIR/nullmilter" "inet:$NULL_PORT@127.0.0.1" >>"$SVC_DIR/nullmilter.log" 2>&1 &
    NULL_PID=$!
    svc_register_pid "$NULL_PID"
    wait_port "$NULL_PORT" 10 || die "nullmilter did not restart"

    mem_run postinbox "$PI_PID" "$MILTER_PORT"
    PI_MEM=("$MEM_START" "$MEM_PEAK" "$MEM_HWM" "$MEM_CONNS" "$MEM_THREADS" "$MEM_SMTPD" "$RUN_RATE")
    echo "         peaks: $MEM_CONNS milter connections, $MEM_THREADS threads, $MEM_SMTPD smtpd processes"
    mem_run null "$NULL_PID" "$NULL_PORT"
    NULL_MEM=("$MEM_START" "$MEM_PEAK" "$MEM_HWM" "$MEM_CONNS" "$MEM_THREADS" "$MEM_SMTPD" "$RUN_RATE")
    echo "         peaks: $MEM_CONNS milter connections, $MEM_THREADS threads, $MEM_SMTPD smtpd processes"
fi

# ---------------------------------------------------------------------------
# Report.
# ---------------------------------------------------------------------------

ELAPSED=$((SECONDS - BENCH_START))

# Lines of $RESULTS: ROUND PLACEMENT WORKLOAD RCPTS VARIANT MSG/S.
# rate P W V R - median msg/s of set-up V with R recipients.
rate() {
    awk -v p="$1" -v w="$2" -v v="$3" -v r="$4" '$2 == p && $3 == w && $4 == r && $5 == v { print $6 }' "$RESULTS" |
        median
}

# ratios P W A B R - the per-round ratios rate A / rate B, paired per round.
ratios() {
    awk -v p="$1" -v w="$2" -v a="$3" -v b="$4" -v r="$5" '
        $2 == p && $3 == w && $4 == r && $5 == a { x[$1] = $6 }
        $2 == p && $3 == w && $4 == r && $5 == b { y[$1] = $6 }
        END { for (k in x) if (k in y && y[k] > 0) printf "%.3f\n", x[k] / y[k] }' "$RESULTS"
}
# ratio P W A B R - their median; ratio_range: "min-max".
ratio() { ratios "$@" | median; }
ratio_range() { ratios "$@" | sort -g | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.2f-%.2f", a, b }'; }

echo
echo "## postinbox-milter throughput"
echo
echo "| placement | workload | recipients/msg | no milter (msg/s) | null milter (msg/s) | postinbox (msg/s) | postinbox / null (rounds) | null / none | RCPT decision p50 / p99 |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|"
for p in "${PLACE[@]}"; do
    for w in $WORKLOADS; do
        for r in $RCPT_COUNTS; do
            us_files=()
            for ((round = 1; round <= ROUNDS; round++)); do
                us_files+=("$SVC_DIR/us/round$round.$p.$w.r$r")
            done
            printf '| %s | %s | %s | %.0f | %.0f | %.0f | **%.2f** (%s) | %.2f | %s µs / %s µs |\n' "$p" \
                "$([ "$w" = world ] && echo "outbound to the world" || echo "inbox to inbox")" "$r" \
                "$(rate "$p" "$w" none "$r")" "$(rate "$p" "$w" null "$r")" "$(rate "$p" "$w" postinbox "$r")" \
                "$(ratio "$p" "$w" postinbox null "$r")" "$(ratio_range "$p" "$w" postinbox null "$r")" \
                "$(ratio "$p" "$w" null none "$r")" \
                "$(percentile 50 "${us_files[@]}")" "$(percentile 99 "${us_files[@]}")"
        done
    done
done
echo
echo "RCPT decision time of postinbox-milter with a single session (no load): p50 $(percentile 50 "$SVC_DIR/us/idle.colo.world.r1") µs," \
    "p99 $(percentile 99 "$SVC_DIR/us/idle.colo.world.r1") µs ($IDLE_MESSAGES messages, no pinning)."
if [ "$MEM_TEST" = 1 ]; then
    echo
    echo "| $MEM_SESSIONS concurrent sessions | RSS at start | peak VmRSS (sampled) | VmHWM | sessions in the milter (peak) | threads (peak) | msg/s | RCPT p50 / p99 |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    printf '| postinbox-milter | %s MiB | %s MiB | %s MiB | %s | %s | %.0f | %s µs / %s µs |\n' \
        "$(mib "${PI_MEM[0]}")" "$(mib "${PI_MEM[1]}")" "$(mib "${PI_MEM[2]}")" "${PI_MEM[3]}" "${PI_MEM[4]}" \
        "${PI_MEM[6]}" "$(percentile 50 "$SVC_DIR/us/mem.colo.world.r1")" "$(percentile 99 "$SVC_DIR/us/mem.colo.world.r1")"
    printf '| null milter | %s MiB | %s MiB | %s MiB | %s | %s | %.0f | - |\n' \
        "$(mib "${NULL_MEM[0]}")" "$(mib "${NULL_MEM[1]}")" "$(mib "${NULL_MEM[2]}")" "${NULL_MEM[3]}" \
        "${NULL_MEM[4]}" "${NULL_MEM[6]}"
fi
echo
echo "$(nproc) CPUs; colo = no pinning, apart = PostgreSQL + Redis on CPU 1, Postfix + smtp-source + milters on CPU 0;" \
    "Postfix $(postconf -dh mail_version), discard transport, in_flow_delay = 0;" \
    "smtp-source -s $SESSIONS -m $MESSAGES -l $MSG_BYTES, one message per connection;" \
    "medians of $ROUNDS interleaved rounds (warm-up round $([ "$WARMUP" = 1 ] && echo "of $WARMUP_MESSAGES messages left out" || echo "not run"));" \
    "ratios are medians of the per-round ratios; RCPT decision = us= of postinbox-milter's outbound RCPT" \
    "log lines (PostgreSQL lookup + Redis reservation), all measured rounds; every message checked in the" \
    "Postfix log and in postinbox.message; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)."
echo
echo "Command: $(command_line)"
echo "Took ${ELAPSED} s."
