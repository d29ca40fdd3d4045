#!/usr/bin/env bash
# t_redis_rebuild.sh -- counts that survive Redis: Redis restarted empty
# (no persistence, as a failover to an empty replica or a FLUSHALL would
# leave it) does not reset an inbox's day.  Every script asks for the
# day's seed mark; without it the counters are rebuilt from PostgreSQL
# (today's outbound recipients, the last minute in per-second buckets)
# once, before any decision: sendsToday is still right, the daily cap
# admits exactly what is left, the burst guard still holds, also under 10
# concurrent clients, and a first message after the restart is not lost
# to a stale pooled connection.
# test-timeout: 600
set -u
. "$(dirname "$0")/common.sh"
pi_setup
A=$(pi_account "Acme" acme)
read -r DAY_ID DAY <<<"$(pi_inbox "$A" day --daily-limit 5 --burst-limit 1000)"
read -r BURST_ID BURST <<<"$(pi_inbox "$A" burst --burst-limit 2)"
read -r RACE_ID RACE <<<"$(pi_inbox "$A" race --daily-limit 8 --burst-limit 1000)"
for ib in "$DAY" "$BURST" "$RACE"; do pi_ctl login grant --login alice@example.test --inbox "$ib" >/dev/null; done
AUTH=(-a PLAIN -au alice@example.test -ap secret)
send() { smtp_send "${AUTH[@]}" --from "$1" --to "$2"; }
restart_empty() {
    svc_stop_redis && svc_start_redis || { t_fail "Redis restart"; return 1; }
    t_eq "(Redis is empty after the restart)" 0 "$(svc_redis_cli DBSIZE)"
}

# A restart empties Redis, earlier days' fields with it, and the race below
# counts on the warm-up's 6 sends being today's: the whole test runs within
# one UTC day (it takes well under a minute; with the CI machine loaded, 4).
pi_clear_of_midnight 240
# Warm the milter's Redis pool (several idle connections to the old server).
warm=$(send_many 6 6 "$RACE")
t_eq "race: the 6 warm-up sends accepted" 6 "$(grep -c '^250 ' <<<"$warm")" || echo "$warm" >&2
for i in 1 2 3; do t_match "day: send $i of 5" "^250 " "$(send "$DAY" "d$i@remote.test")"; done
t_eq "day: sendsToday 3" 3 "$(pi_sends_today "$DAY_ID")"
restart_empty
t_eq "after Redis restarted empty, sendsToday is still 3 (rebuilt from PostgreSQL)" 3 "$(pi_sends_today "$DAY_ID")"
t_match "the first message after the restart goes through (no stale connection lost it)" "^250 " \
    "$(send "$DAY" d4@remote.test)"
t_match "the 5th of 5 too" "^250 " "$(send "$DAY" d5@remote.test)"
t_match "the 6th: the daily cap holds across the restart" "^451 4\.7\.1 .*daily send limit" "$(send "$DAY" d6@remote.test)"
t_eq "sendsToday 5, rows 5" "5 5" "$(pi_sends_today "$DAY_ID") $(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$DAY_ID'")"

# The burst guard: 2 in the last minute, then Redis restarts.
for i in 1 2; do t_match "burst: send $i of 2" "^250 " "$(send "$BURST" "b$i@remote.test")"; done
restart_empty
t_match "burst: the 3rd within the minute is refused after the restart" "^451 4\.7\.1 .*retry in" \
    "$(send "$BURST" b3@remote.test)"

# Concurrency: 6 of 8 counted in PostgreSQL (the warm-up), Redis empty, 10 clients at once: exactly 2 more.
t_eq "race: sendsToday before" 6 "$(pi_sends_today "$RACE_ID")"
restart_empty
replies=$(send_many 10 10 "$RACE")
t_eq "race: 10 concurrent clients after the restart, exactly 2 accepted (6 of 8 were counted)" 2 \
    "$(grep -c '^250 ' <<<"$replies")"
t_eq "race: the other 8 hit the daily cap" 8 "$(grep -c '^451 4\.7\.1 .*daily send limit' <<<"$replies")"
t_eq "race: sendsToday 8 = rows 8" "8 8" \
    "$(pi_sends_today "$RACE_ID") $(svc_psql "SELECT count(*) FROM postinbox.message WHERE inbox_id = '$RACE_ID'")"
t_eq "the counters were seeded once per inbox and day (one mark each)" 1 \
    "$(svc_redis_cli HKEYS "pi:{$RACE_ID}:daily" | grep -c '^s')"

t_summary
