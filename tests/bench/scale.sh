#!/usr/bin/env bash
# scale.sh -- does the decision stay flat as the data grows?  One private
# PostgreSQL holds a database per size (SIZES, default 10^3, 10^5 and 10^6
# inboxes, each with MSGS_PER_INBOX (10) messages in its own thread: 10^4,
# 10^6 and 10^7 message rows), provisioned with generate_series (bulk
# load: the message table's secondary indexes are dropped for the load and
# made again from their own definitions, then VACUUM ANALYZE).  Each
# database has its own postinbox-milter and its own Postfix smtpd listener
# (master.cf lines identical but for the milter); one Redis serves all
# three.  Rounds interleave the sizes (the order rotates from round to
# round), N messages PAR at a time per size and round, each to one random
# provisioned inbox, half from the outside (ext@remote.test: the RCPT
# lookup of an inbox among SIZE) and half from an inbox of the same
# database by SASL (inbox to inbox: the lookup and the Redis reservation;
# an outbound and an inbound record).  Figures:
#   rcpt   the milter's own time for the RCPT decision (the us= of its
#          stage=rcpt lines: lookup, reservation);
#   lookup PostgreSQL's own time for that lookup statement (bind, where a
#          custom plan is made, plus execute), and
#   record its time for the record call at end of message (the durations
#          of log_min_duration_statement = 0, on during the rounds only).
# Not a test: prints a table of p50/p99 per size and the p99 ratio of the
# largest size to the smallest.  Bounded: RUNS x sizes x N messages;
# provisioning 10^6 inboxes and 10^7 messages takes some minutes and about
# 6 GB of disk in the private PostgreSQL's temp directory.
#   RUNS=3 N=200 PAR=4 bash tests/bench/scale.sh
set -u
. "$(dirname "$0")/../integration/common.sh"
SIZES=${SIZES:-"1000 100000 1000000"}
MSGS=${MSGS_PER_INBOX:-10}
N=${N:-200}
PAR=${PAR:-4}
RUNS=${RUNS:-3}
die() { echo "scale.sh: $*" >&2; exit 1; }
pi_setup || exit 1
read -r -a sizes <<<"$SIZES"
. "$(dirname "$0")/stats.sh"
db_psql() { SVC_PSQL_DB=$1 svc_psql "$2"; }   # db_psql DB SQL
AUTH=(-a PLAIN -au alice@example.test -ap secret)
read -r -a mports <<<"$(_svc_pick_ports "${#sizes[@]}")"
read -r -a sports <<<"$(_svc_pick_ports "${#sizes[@]}")"
declare -A MPORT SPORT SENDER

# The database of one size: made like the harness's own (svc_create_db),
# migrated by postinboxctl, one account and inbox made by it (so
# the sandbox domain exists as the product makes it), then the bulk load.
provision() {
    local s=$1 db=scale_$1 conf=$SVC_DIR/scale_$1.conf accounts a id from t0
    t0=$(date +%s)
    svc_create_db "$db" || return 1
    sed -e "s/dbname=postinbox /dbname=$db /" "$PI_CONF" >"$conf"
    grep -q "dbname=$db " "$conf" || return 1
    PI_CONF=$conf pi_ctl migrate >/dev/null || return 1
    a=$(PI_CONF=$conf pi_ctl --json account create --name "Bench $s" --short-id "bench$s" | json_get id) || return 1
    read -r id from <<<"$(PI_CONF=$conf pi_inbox "$a" sender --daily-limit 1000000 --burst-limit 1000000)"
    [ -n "$from" ] || return 1
    PI_CONF=$conf pi_ctl login grant --inbox "$id" --login alice@example.test >/dev/null || return 1
    SENDER[$s]=$from
    accounts=$(((s + 999) / 1000))
    db_psql "$db" "
        SET maintenance_work_mem = '1GB';
        SET session_replication_role = replica;   -- bulk load: consistent by construction, no triggers
        SET search_path = postinbox;
        INSERT INTO account (short_id, name)
             SELECT 'sc' || a, 'scale ' || a FROM generate_series(0, $accounts - 1) a;
        INSERT INTO inbox (account_id, domain_id, username, address)
             SELECT acc.id, dom.id, 'u' || i, 'u' || i || '--sc' || (i / 1000) || '@$SANDBOX'
               FROM generate_series(0, $s - 1) i
               JOIN account acc ON acc.short_id = 'sc' || (i / 1000)
              CROSS JOIN (SELECT id FROM domain WHERE kind = 'sandbox') dom;
        INSERT INTO thread (inbox_id, subject, raw_subject, message_count, participants, first_message_at, last_message_at)
             SELECT id, 'scale', 'scale', $MSGS, ARRAY['ext@remote.test', address],
                    now() - interval '$MSGS hours', now() - interval '1 hour'
               FROM inbox WHERE username ~ '^u[0-9]+$';
        CREATE TEMP TABLE idx AS
             SELECT pg_get_indexdef(indexrelid) AS def, indexrelid::regclass::text AS name
               FROM pg_index WHERE indrelid = 'message'::regclass AND NOT indisprimary;
        DO \$\$ DECLARE r record; BEGIN
            FOR r IN SELECT name FROM idx LOOP EXECUTE 'DROP INDEX ' || r.name; END LOOP; END \$\$;
        INSERT INTO message (inbox_id, thread_id, direction, queue_id, message_id_header, envelope_from,
                             envelope_to, from_header, to_header, subject, size, preview, status, created_at)
             SELECT t.inbox_id, t.id, 'inbound', 'S' || md5(t.id::text || k), '<' || t.id || '.' || k || '@remote.test>',
                    'ext@remote.test', t.participants[2:2], 'ext@remote.test', t.participants[2], 'scale', 2048,
                    'a message of the scale benchmark', 'received', now() - make_interval(hours => k)
               FROM thread t, generate_series(1, $MSGS) k WHERE t.subject = 'scale';
        DO \$\$ DECLARE r record; BEGIN
            FOR r IN SELECT def FROM idx LOOP EXECUTE r.def; END LOOP; END \$\$;
    " >/dev/null || return 1
    db_psql "$db" "VACUUM ANALYZE" >/dev/null || return 1
    echo "# provisioned $db: $(db_psql "$db" "SELECT count(*) FROM postinbox.inbox") inboxes," \
        "$(db_psql "$db" "SELECT count(*) FROM postinbox.message") messages," \
        "$(db_psql "$db" "SELECT pg_size_pretty(pg_database_size('$db'))") in $(($(date +%s) - t0)) s"
}

for k in "${!sizes[@]}"; do
    s=${sizes[$k]}
    provision "$s" || die "provisioning $s inboxes failed"
    MPORT[$s]=${mports[$k]}
    SPORT[$s]=${sports[$k]}
    pi_start_milter "${MPORT[$s]}" "$SVC_DIR/scale_$s.conf" || die "the milter of $s did not start"
    svc_postconf -M -e "127.0.0.1:${SPORT[$s]}/inet = 127.0.0.1:${SPORT[$s]} inet n - n - 20 smtpd -o smtpd_milters=inet:127.0.0.1:${MPORT[$s]}" ||
        die "postconf failed"
done
svc_postfix_reload || die "postfix reload failed"
sleep 1

# round SIZE: N messages to random inboxes of SIZE; the milter's us= of
# their RCPT lines go to $SVC_DIR/rcpt.SIZE
round() {
    local s=$1 log mark i pids=() to
    log=$(pi_milter_log "${MPORT[$s]}")
    mark=$(wc -l <"$log")
    for i in $(seq 1 "$N"); do
        to=$(((RANDOM * 32768 + RANDOM) % s))
        to="u$to--sc$((to / 1000))@$SANDBOX"
        if ((i % 2)); then
            (SMTP_PORT=${SPORT[$s]} smtp_send --from ext@remote.test --to "$to" >/dev/null) &
        else
            (SMTP_PORT=${SPORT[$s]} smtp_send "${AUTH[@]}" --from "${SENDER[$s]}" --to "$to" >/dev/null) &
        fi
        pids+=($!)
        if ((i % PAR == 0)); then wait "${pids[@]}"; pids=(); fi
    done
    ((${#pids[@]})) && wait "${pids[@]}"
    sleep 0.5
    tail -n +"$((mark + 1))" "$log" | grep 'stage=rcpt' | grep 'action=continue' |
        sed -n 's/.* us=\([0-9]*\).*/\1/p' >>"$SVC_DIR/rcpt.$s"
}
pg_log_on() {
    db_psql postgres "ALTER SYSTEM SET log_min_duration_statement = 0" >/dev/null
    db_psql postgres "ALTER SYSTEM SET log_line_prefix = '%m [%p] db=%d '" >/dev/null
    db_psql postgres "SELECT pg_reload_conf()" >/dev/null
}
pg_log_off() {
    db_psql postgres "ALTER SYSTEM RESET log_min_duration_statement" >/dev/null
    db_psql postgres "ALTER SYSTEM RESET log_line_prefix" >/dev/null
    db_psql postgres "SELECT pg_reload_conf()" >/dev/null
}

echo "# $(nproc) CPUs, load average: $(cut -d' ' -f1-3 /proc/loadavg); SIZES=$SIZES MSGS_PER_INBOX=$MSGS N=$N PAR=$PAR RUNS=$RUNS"
for s in "${sizes[@]}"; do : >"$SVC_DIR/rcpt.$s"; done
round "${sizes[0]}"    # warm-up: pools, plans, Postfix's processes; not counted
for s in "${sizes[@]}"; do : >"$SVC_DIR/rcpt.$s"; done
pglog_mark=$(wc -l <"$SVC_DIR/pg.log")
pg_log_on
for r in $(seq 1 "$RUNS"); do
    n=${#sizes[@]}
    for k in $(seq 0 $((n - 1))); do
        round "${sizes[$(((k + r) % n))]}"
    done
done
pg_log_off
# PostgreSQL's durations (ms) of the lookup and record statements, per database
tail -n +"$((pglog_mark + 1))" "$SVC_DIR/pg.log" >"$SVC_DIR/pg.rounds"
pg_ms() {  # pg_ms DB PATTERN: bind (where a custom plan is made) + execute of each call, in microseconds
    grep "db=$1 " "$SVC_DIR/pg.rounds" | grep -E "duration: [0-9.]+ ms +(bind|execute) [^:]*: .*$2" |
        awk '{ pid = $4; ms = 0; kind = ""
               for (i = 1; i < NF; i++) if ($i == "duration:") { ms = $(i + 1); kind = $(i + 3) }
               if (kind == "bind") bind[pid] = ms
               else { printf "%d\n", (ms + bind[pid]) * 1000; bind[pid] = 0 } }'
}
printf '%-9s %-9s %9s %9s %9s %9s %9s %9s %7s\n' inboxes messages rcpt_p50 rcpt_p99 look_p50 look_p99 rec_p50 rec_p99 samples
declare -A P99
for s in "${sizes[@]}"; do
    read -r a50 a99 _ an <<<"$(bench_stats <"$SVC_DIR/rcpt.$s")"
    read -r l50 l99 _ <<<"$(pg_ms "scale_$s" 'lookup\(' | bench_stats)"
    read -r c50 c99 _ <<<"$(pg_ms "scale_$s" 'record_(fast|message)\(' | bench_stats)"
    P99[$s]=$a99
    printf '%-9s %-9s %9s %9s %9s %9s %9s %9s %7s\n' "$s" "$((s * MSGS))" "$a50" "$a99" "$l50" "$l99" "$c50" "$c99" "$an"
done
echo "(microseconds: rcpt = the milter's RCPT decision, look/rec = PostgreSQL's own time for the lookup and the record statements)"
first=${sizes[0]} last=${sizes[$((${#sizes[@]} - 1))]}
awk -v a="${P99[$first]}" -v b="${P99[$last]}" -v f="$first" -v l="$last" \
    'BEGIN { if (a > 0) printf "rcpt p99 ratio %s / %s inboxes: %.2f\n", l, f, b / a }'
echo "Command: SIZES=\"$SIZES\" MSGS_PER_INBOX=$MSGS N=$N PAR=$PAR RUNS=$RUNS bash tests/bench/scale.sh"
