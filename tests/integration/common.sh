# shellcheck shell=bash
#
# tests/integration/common.sh -- the postinbox fixture on top of
# services.sh: config file, schema, milter and policyd processes,
# provisioning.  Every script starts its services with pi_setup (pi_init
# first when it needs more free ports for its config lines).
#
#   pi_require [OPTS]        SKIP (exit 77) unless root, the tools and binaries OPTS need are there
#   pi_init [OPTS]           pi_require + svc_init, once (pi_setup calls it)
#   pi_setup [OPTS] [LINES]  PostgreSQL + Redis + schema + milter + Postfix, the
#                            config with LINES; OPTS leave parts out or add one:
#                              --no-milter   no postinbox-milter (Postfix without smtpd_milters)
#                              --no-postfix  no Postfix (and no SASL users)
#                              --no-redis    no Redis ($PI_REDIS names a port nobody listens on)
#                              --no-migrate  an empty database (the script migrates)
#                              --policyd     postinbox-policyd started after the schema
#                              --policy      the policy service as the front door instead of
#                                            the milter: policy_listen on $POLICY_PORT in every
#                                            config pi_write_conf writes, policyd started,
#                                            Postfix with check_policy_service $PI_POLICY in
#                                            smtpd_recipient_ and smtpd_end_of_data_restrictions
#   pi_write_conf [LINES]    writes $PI_CONF (extra "key = value" lines appended); every
#                            config names the service login $PI_SUBMIT_LOGIN (a SASL user
#                            pi_setup adds) and its password file $PI_SUBMIT_SECRET (0600),
#                            and secret_key_file = $PI_SECRET_KEY (made once, mode 0600), so
#                            every test runs with webhook secrets encrypted at rest;
#                            backend_timeout_ms is $PI_BACKEND_TIMEOUT_MS (default 1000)
#   pi_secret_open ID VALUE  prints the webhook secret a stored VALUE of endpoint ID holds
#                            (opened in Python with $PI_SECRET_KEY, independent of the C code)
#   pi_ctl ARGS...           postinboxctl -c $PI_CONF ARGS... (after the words of $PI_CTL_WRAP, if set)
#   pi_start_milter [PORT] [CONF]   a milter process; waits for its socket ($PI_MILTER_WRAP,
#                            if set, is the words run before it, e.g. pi_faketime_wrap's)
#   pi_faketime_wrap OFFSET [PROGRAM]  prints a wrapper (words for SVC_REDIS_WRAP / PI_MILTER_WRAP) that
#                            runs a program with its wall clock OFFSET seconds ("+12.345")
#                            ahead, by libfaketime, or (OFFSET file:PATH) by the offset
#                            that PATH holds whenever the program reads the clock (SKIP, exit 77, without it; call it
#                            outside $(...) once first, so the SKIP exits the script)
#   pi_stop_milter [PORT]    stops the milter on PORT (default $MILTER_PORT)
#   pi_milter_log [PORT]     path of that milter's log
#   pi_account NAME SHORTID  creates an account, prints its id
#   pi_inbox ACCOUNT USER [ctl flags...]   creates an inbox, prints "id address"
#   pi_sends_today INBOX     sendsToday as postinboxctl reads it from Redis; when the
#                            real clock crossed 00:00 UTC since pi_setup ($PI_DAY0), plus
#                            the inbox's Redis day fields of the days before (said on
#                            stderr): the sends since the test began, whatever the day
#   pi_day                   Redis's UTC day number (its TIME: the clock the caps use)
#   pi_redis_sends INBOX     the inbox's sends straight from Redis's day fields (as its admin),
#                            of the days from $PI_DAY0 to today: today's, unless midnight passed
#   pi_clear_of_midnight S   returns at once unless Redis's clock is less than S seconds
#                            before 00:00 UTC; then waits until it is 1 s past it.  Before
#                            a check that must lie within one day (a daily cap, the time
#                            until the reset)
#   json_get FIELD           reads JSON on stdin, prints FIELD (a.b.0.c paths)
#   send_many N PAR FROM     N messages from FROM (SASL as in $AUTH), PAR at a time
#   pi_require_follower      SKIP unless postinbox-policyd and smtp-sink are there
#   pi_start_sink [DOMAIN]   an smtp-sink on 127.0.0.1 that keeps every message it takes as
#                            a file in $SINK ($SVC_DIR/sink), its port in $SINKP; with
#                            DOMAIN, Postfix relays DOMAIN's mail there (transport_maps,
#                            reloaded)
#   pi_sink_wait MESSAGE-ID FILE  waits (10 s at most) for the message with that Message-ID
#                            at the sink and copies it to FILE; else FILE is empty, status 1
#   pi_start_policyd [CONF] [LOG]  postinbox-policyd -f (log $SVC_DIR/policyd.log), pid in $PD;
#                            waits (20 s at most) until it is ready: a new "started:" line
#                            in LOG (logged once the log follower, the listeners and the
#                            webhook dispatcher are up) and the sockets of CONF's
#                            policy_listen, api_listen and policyd_metrics_listen accept;
#                            fails (the log's tail on stderr) if it is not ready by then
#   pi_stop_policyd [PID]    SIGTERM it (default $PD; SIGKILL after 10 s), reaps it
#   pi_ms_behind SQL CMD...  CMD run while SQL's transaction stays open 2 s; prints CMD's ms
#   pi_pg_pids               the pids of every process of the private PostgreSQL (to SIGSTOP)
#   pi_pg_lock SQL / pi_pg_unlock   SQL (a LOCK, an UPDATE) in an open transaction of a psql
#                            as postgres, returned once SQL is done (the lock held); unlock
#                            commits it and waits for that psql
#   pi_session STAGE SETUP RELEASE STEP...  tests/integration/smtp_session.py STEP... on
#                            $SMTP_PORT; when the session reaches "PAUSE STAGE", SETUP (shell
#                            code: the fault) runs, the session goes on, then RELEASE (shell
#                            code, e.g. "sleep 0.8; pi_pg_unlock") runs while it does; prints
#                            the session's reply lines
#
# BUILDDIR (default: the source tree) locates the binaries; PI_MILTER,
# PI_CTL and PI_POLICYD, when set, name others (t_package.sh: the installed ones).

PI_TESTDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PI_SRCDIR=$(cd "$PI_TESTDIR/../.." && pwd)
BUILDDIR=${BUILDDIR:-$PI_SRCDIR}
PI_MILTER=${PI_MILTER:-$BUILDDIR/milter/postinbox-milter}
PI_CTL=${PI_CTL:-$BUILDDIR/ctl/postinboxctl}
PI_POLICYD=${PI_POLICYD:-$BUILDDIR/policyd/postinbox-policyd}
SANDBOX=sandbox.test

# shellcheck source=services.sh
. "$PI_TESTDIR/services.sh"

# Integration tests need root (PostgreSQL and Postfix run as their own
# users) and the service binaries; automake counts exit 77 as SKIP.
# pi_require [OPTS]: the pi_setup options say what is needed (--no-postfix:
# no postfix, --no-milter: no milter binary, --policy/--policyd: policyd).
pi_require() {
    local postfix=1 milter=1 policyd=0 missing=
    while [ $# -gt 0 ]; do
        case $1 in
            --no-postfix) postfix=0 ;;
            --no-milter) milter=0 ;;
            --policy | --policyd) policyd=1 ;;
        esac
        shift
    done
    if [ "$(id -u)" != 0 ] || ! command -v redis-server >/dev/null ||
        { [ $postfix = 1 ] && ! command -v postfix >/dev/null; }; then
        echo "SKIP: integration tests need root, postfix and redis-server (scripts/install-deps.sh)"
        exit 77
    fi
    [ -x "$PI_CTL" ] || missing="$missing $PI_CTL"
    [ $milter = 0 ] || [ -x "$PI_MILTER" ] || missing="$missing $PI_MILTER"
    [ $policyd = 0 ] || [ -x "$PI_POLICYD" ] || missing="$missing $PI_POLICYD"
    if [ -n "$missing" ]; then
        echo "SKIP: build first (missing$missing)"
        exit 77
    fi
}

# pi_init [OPTS]: pi_require and svc_init ($SVC_DIR, the ports), once.
pi_init() {
    [ -n "${PI_INITED-}" ] && return 0
    pi_require "$@"
    svc_init || exit 1
    # The service login the API and postinboxctl send submit with
    # (api_submission_login): a fresh password, in a file only root reads.
    PI_SUBMIT_LOGIN=postinbox-api@example.test
    PI_SUBMIT_SECRET=$SVC_DIR/submission.secret
    (umask 077 && _svc_random_password >"$PI_SUBMIT_SECRET" && echo >>"$PI_SUBMIT_SECRET")
    export PI_SUBMIT_LOGIN PI_SUBMIT_SECRET
    PI_INITED=1
}

pi_write_conf() {
    PI_CONF=$SVC_DIR/postinbox.conf
    PI_SECRET_KEY=$SVC_DIR/secret.key
    if [ ! -s "$PI_SECRET_KEY" ]; then
        (umask 077 && od -An -tx1 -N32 /dev/urandom | tr -d ' \n' >"$PI_SECRET_KEY")
    fi
    {
        echo "# written by tests/integration/common.sh"
        echo "database = $PI_DATABASE"
        [ -z "${PI_MIGRATION_DATABASE-}" ] || echo "migration_database = $PI_MIGRATION_DATABASE"
        echo "redis = $PI_REDIS"
        [ -z "${PI_REDIS_PASSWORD_FILE-}" ] || echo "redis_password_file = $PI_REDIS_PASSWORD_FILE"
        echo "milter_socket = inet:$MILTER_PORT@127.0.0.1"
        echo "sandbox_domain = $SANDBOX"
        echo "backend_timeout_ms = ${PI_BACKEND_TIMEOUT_MS:-1000}"
        echo "log_level = info"
        echo "secret_key_file = $PI_SECRET_KEY"
        [ -z "${PI_POLICY_LISTEN-}" ] || echo "policy_listen = $PI_POLICY_LISTEN"
        if [ -n "${PI_SUBMIT_LOGIN-}" ]; then
            echo "api_submission_login = $PI_SUBMIT_LOGIN"
            echo "api_submission_password_file = $PI_SUBMIT_SECRET"
        fi
        for line in "$@"; do echo "$line"; done
    } > "$PI_CONF"
    chmod 0640 "$PI_CONF"
    export PI_CONF PI_SECRET_KEY
}

pi_secret_open() {
    python3 - "$PI_SECRET_KEY" "$1" "$2" <<'EOF'
import base64, hashlib, sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
key_file, endpoint, value = sys.argv[1:]
if not value.startswith("v1:"):
    print(value)
    sys.exit(0)
text = open(key_file).read().strip()
key = bytes.fromhex(text) if len(text) == 64 else base64.b64decode(text)
kid = hashlib.sha256(b"postinbox secret_key_file id" + key).hexdigest()[:8]
_, value_kid, body = value.split(":", 2)
if value_kid != kid:
    sys.exit("sealed with key %s, not %s" % (value_kid, kid))
raw = base64.b64decode(body, validate=True)
aad = ("v1:%s:%s" % (kid, endpoint)).encode()
print(AESGCM(key).decrypt(raw[:12], raw[12:], aad).decode())
EOF
}

pi_ctl() {
    # shellcheck disable=SC2086 # PI_CTL_WRAP is words (a wrapper and its options)
    ${PI_CTL_WRAP-} "$PI_CTL" -c "$PI_CONF" "$@"
}

pi_milter_log() {
    echo "$SVC_DIR/milter-${1:-$MILTER_PORT}.log"
}

# pi_start_milter [PORT] [CONF]: a milter with its own socket on PORT.
pi_start_milter() {
    local port=${1:-$MILTER_PORT} conf=${2:-$PI_CONF}
    local cfg=$conf
    if [ "$port" != "$MILTER_PORT" ] || [ "$conf" != "$PI_CONF" ]; then
        cfg=$SVC_DIR/milter-$port.conf
        sed "s/^milter_socket = .*/milter_socket = inet:$port@127.0.0.1/" "$conf" > "$cfg"
    fi
    # shellcheck disable=SC2086 # PI_MILTER_WRAP is words (a wrapper and its options)
    ${PI_MILTER_WRAP-} "$PI_MILTER" -c "$cfg" -f >>"$(pi_milter_log "$port")" 2>&1 &
    local pid=$!
    svc_register_pid "$pid"
    eval "PI_MILTER_PID_$port=$pid"
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    echo "milter on port $port did not start:" >&2
    tail -5 "$(pi_milter_log "$port")" >&2
    return 1
}

# pi_faketime_wrap OFFSET: libfaketime (the thread-safe build) through
# the environment, the offset form (every process started with the same
# OFFSET shows the same time; a start-at date "@..." would start each at its
# own exec).  Monotonic clocks stay real.  Not the faketime program: it
# waits for its child, which a daemonizing redis-server never lets it see.
# redis-server links jemalloc, which clashes with libfaketime's start-up
# (libfaketime issue 130: its first clock_gettime recurses and fails), so
# glibc's allocator is put in front (libc_malloc_debug, a pass-through
# unless MALLOC_CHECK_ is set).  For a PROGRAM built with AddressSanitizer
# (build-san/) it is not: ASan brings its own allocator, which the shim
# would fight ("free(): invalid pointer"), and verify_asan_link_order=0
# lets the program start with libfaketime preloaded before ASan's runtime.
pi_faketime_wrap() {
    local lib malloc pre
    lib=$(find /usr/lib /lib -name libfaketimeMT.so.1 2>/dev/null | head -n 1)
    malloc=$(find /usr/lib /lib -name libc_malloc_debug.so.0 2>/dev/null | head -n 1)
    [ -n "$lib" ] || { echo "SKIP: needs libfaketime (package faketime, scripts/install-deps.sh)"; exit 77; }
    if [ -n "${2-}" ] && ldd "$2" 2>/dev/null | grep -q 'libasan\.so'; then
        pre="LD_PRELOAD=$lib ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
    else
        pre="LD_PRELOAD=${malloc:+$malloc:}$lib"
    fi
    if [[ $1 == file:* ]]; then
        # the offset read from a file at every clock call: the test moves the clock
        echo "env $pre FAKETIME_TIMESTAMP_FILE=${1#file:} FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1"
    else
        echo "env $pre FAKETIME=$1 FAKETIME_DONT_FAKE_MONOTONIC=1"
    fi
}

pi_milter_pid() {
    local var="PI_MILTER_PID_${1:-$MILTER_PORT}"
    echo "${!var:-}"
}

pi_stop_milter() {
    local pid
    pid=$(pi_milter_pid "${1:-$MILTER_PORT}")
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null
    return 0
}

pi_setup() {
    local milter=1 postfix=1 redis=1 migrate=1 policyd=0 policy=0 opts=()
    while [ $# -gt 0 ]; do
        case $1 in
            --no-milter) milter=0 ;;
            --no-postfix) postfix=0 ;;
            --no-redis) redis=0 ;;
            --no-migrate) migrate=0 ;;
            --policyd) policyd=1 ;;
            --policy) policy=1 policyd=1 milter=0 ;;
            --) shift; break ;;
            --*) echo "pi_setup: unknown option $1" >&2; exit 1 ;;
            *) break ;;
        esac
        opts+=("$1")
        shift
    done
    [ $milter = 1 ] || opts+=(--no-milter)
    pi_init "${opts[@]}"
    svc_start_pg || exit 1
    if [ $redis = 1 ]; then
        svc_start_redis || exit 1
        PI_DAY0=$(pi_day) || PI_DAY0=
    else
        export PI_REDIS=127.0.0.1:$REDIS_PORT
    fi
    if [ $policy = 1 ]; then
        PI_POLICY_LISTEN=127.0.0.1:$POLICY_PORT
        export PI_POLICY="inet:$PI_POLICY_LISTEN"
    fi
    pi_write_conf "$@"
    if [ $migrate = 1 ]; then
        pi_ctl migrate >/dev/null || { echo "migrate failed" >&2; exit 1; }
    fi
    if [ $milter = 1 ]; then pi_start_milter || exit 1; fi
    if [ $policyd = 1 ]; then pi_start_policyd || exit 1; fi
    [ $postfix = 1 ] || return 0
    svc_add_sasl_user "${PI_SUBMIT_LOGIN%@*}" "${PI_SUBMIT_LOGIN#*@}" "$(head -1 "$PI_SUBMIT_SECRET")"
    svc_add_sasl_user alice example.test secret
    svc_add_sasl_user mallory example.test secret
    if [ $milter = 1 ]; then
        svc_start_postfix || exit 1
    else
        svc_start_postfix "" || exit 1
    fi
    if [ $policy = 1 ]; then
        svc_postconf -e "smtpd_recipient_restrictions = check_policy_service $PI_POLICY, permit" \
            "smtpd_end_of_data_restrictions = check_policy_service $PI_POLICY"
        svc_postfix_reload || exit 1
    fi
}

# pi_wait_sql SQL SECONDS: until SQL (on database postinbox) answers t; 1
# when SECONDS pass first.
pi_wait_sql() {
    local deadline=$((SECONDS + $2))
    while [ $SECONDS -le $deadline ]; do
        [ "$(svc_psql "$1")" = t ] && return 0
        sleep 0.2
    done
    return 1
}

# pi_wait_hook LOG EXPR SECONDS: until EXPR over tests/webhook_receiver.py's
# LOG is true (its query sub-command); 1 when SECONDS pass first.
pi_wait_hook() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -le $deadline ]; do
        [ "$(python3 "$PI_TESTDIR/../webhook_receiver.py" query "$1" "$2")" = true ] && return 0
        sleep 0.2
    done
    return 1
}

json_get() {
    python3 -c '
import json, sys
v = json.load(sys.stdin)
for part in sys.argv[1].split("."):
    if part == "":
        continue
    v = v[int(part)] if isinstance(v, list) else v.get(part)
    if v is None:
        break
print("null" if v is None else (json.dumps(v) if isinstance(v, (dict, list, bool)) else v))
' "$1"
}

pi_account() {
    pi_ctl --json account create --name "$1" --short-id "$2" | json_get id
}

# pi_inbox ACCOUNT USER [flags]: prints "id address".
pi_inbox() {
    local account=$1 user=$2 out
    shift 2
    out=$(pi_ctl --json inbox create --account "$account" --username "$user" "$@") || return 1
    echo "$(echo "$out" | json_get id) $(echo "$out" | json_get address)"
}

pi_day() {
    local s
    s=$(svc_redis_cli TIME 2>/dev/null | head -n 1)
    [[ $s =~ ^[0-9]+$ ]] || return 1
    echo $((s / 86400))
}

pi_sends_today() {
    local inbox=$1 before after v d extra=0 f _
    for _ in 1 2 3; do
        before=$(pi_day) || before=
        v=$(pi_ctl --json inbox show "$inbox" | json_get sendsToday)
        after=$(pi_day) || after=
        [ "$before" = "$after" ] && break
    done
    if [ -n "${PI_DAY0-}" ] && [ -n "$after" ] && [ "$before" = "$after" ] && [[ $v =~ ^[0-9]+$ ]] &&
        [ "$after" -gt "$PI_DAY0" ]; then
        for ((d = PI_DAY0; d < after; d++)); do
            f=$(svc_redis_cli HGET "pi:{$inbox}:daily" "$d")
            extra=$((extra + ${f:-0}))
        done
        echo "pi_sends_today: 00:00 UTC passed during the test: $inbox's $v of today + $extra of the days before" >&2
        v=$((v + extra))
    fi
    echo "$v"
}

pi_redis_sends() {
    local today d f sum=0
    today=$(pi_day) || return 1
    for ((d = ${PI_DAY0:-$today}; d <= today; d++)); do
        f=$(svc_redis_cli HGET "pi:{$1}:daily" "$d")
        sum=$((sum + ${f:-0}))
    done
    echo "$sum"
}

pi_clear_of_midnight() {
    local ms left
    ms=$(svc_redis_cli TIME 2>/dev/null | { read -r s; read -r us; echo $((s * 1000 + us / 1000)); })
    [[ $ms =~ ^[0-9]+$ ]] || return 0
    left=$((86400000 - ms % 86400000))
    [ "$left" -lt $(($1 * 1000)) ] || return 0
    echo "pi_clear_of_midnight: $left ms to 00:00 UTC, waiting until after it" >&2
    sleep "$(((left + 1000) / 1000)).$(printf %03d $(((left + 1000) % 1000)))"
}

# Dump the milter log on failure, to stderr (after the summary line).
svc_on_exit() {
    if [ "${T_FAILED:-0}" != 0 ]; then
        for f in "$SVC_DIR"/milter-*.log; do
            [ -f "$f" ] || continue
            echo "---- $f (last 40 lines)" >&2
            tail -40 "$f" >&2
        done
    fi
}

# send_many N PARALLEL FROM: N messages from FROM, each to its own remote
# recipient, PARALLEL at a time, authenticated with the caller's AUTH array;
# prints one reply per line.  Waits for its own jobs only: a bare `wait`
# would also wait for the milters the test started.
send_many() {
    local n=$1 par=$2 from=$3 dir i
    local pids=()
    dir=$(mktemp -d "$SVC_DIR/many.XXXXXX")
    for i in $(seq 1 "$n"); do
        ( smtp_send "${AUTH[@]}" --from "$from" --to "r$i@remote.test" > "$dir/$i" ) &
        pids+=($!)
        if (( i % par == 0 )); then wait "${pids[@]}"; pids=(); fi
    done
    (( ${#pids[@]} )) && wait "${pids[@]}"
    cat "$dir"/*
}

# The tests that follow Postfix's log need the daemon and smtp-sink.
pi_require_follower() {
    pi_require
    if [ ! -x "$PI_POLICYD" ] || ! command -v smtp-sink >/dev/null; then
        echo "SKIP: needs $PI_POLICYD and smtp-sink"
        exit 77
    fi
}

# pi_start_sink [DOMAIN]: see the top.  Runs in the calling shell (the sink's
# pid is registered with svc_stop_all).
pi_start_sink() {
    SINK=$SVC_DIR/sink
    mkdir -p "$SINK" && chown postfix "$SINK" || return 1
    SINKP=$(_svc_pick_ports 1) || return 1
    smtp-sink -u postfix -d "$SINK/%H%M%S." 127.0.0.1:"$SINKP" 100 &
    svc_register_pid $!
    [ -n "${1-}" ] || return 0
    svc_postconf -e "transport_maps = inline:{ {$1=smtp:[127.0.0.1]:$SINKP} }" && svc_postfix_reload
}

pi_sink_wait() {
    local i f
    for ((i = 0; i < 100; i++)); do
        f=$(grep -l -F "Message-ID: <$1>" "$SINK"/* 2>/dev/null | head -n 1)
        [ -n "$f" ] && { cp "$f" "$2"; return 0; }
        sleep 0.1
    done
    : >"$2"
    return 1
}

# pi_start_mx NAME PORT RULES - a second private Postfix, the "remote MX"
# of a test, in $SVC_DIR/NAME, its smtpd on 127.0.0.1:PORT.  It answers
# each recipient by RULES, the entries of an inline: map for
# check_recipient_access ("{a@remote.test=550 5.1.1 user unknown},
# {remote.test=OK}"; a recipient no rule names is accepted), then throws
# the mail away.  No milter, no SASL.  svc_stop_all stops it (its master
# pid is registered).  Waits until it accepts connections; its log is
# $SVC_DIR/NAME/maillog.
pi_start_mx() {
    local name=$1 port=$2 rules=$3 top pid i
    top="$SVC_DIR/$name"
    mkdir -p "$top/etc" "$top/spool" "$top/data" || return 1
    chmod 755 "$top" "$top/etc" "$top/spool"
    if [ "$(id -u)" -eq 0 ]; then
        chown root:root "$top/spool"
        chown postfix: "$top/data"
    fi
    chmod 700 "$top/data"
    cat >"$top/etc/main.cf" <<MAINCF
# A remote MX for postinbox integration tests (generated by pi_start_mx).
compatibility_level = 3.6
config_directory = $top/etc
queue_directory = $top/spool
data_directory = $top/data
maillog_file = $top/maillog
maillog_file_prefixes = $top
myhostname = $name.remote.test
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
in_flow_delay = 0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = check_recipient_access inline:{ $rules }, permit
smtpd_tls_security_level = none
smtpd_milters =
non_smtpd_milters =
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
MAINCF
    cat >"$top/etc/master.cf" <<MASTERCF
127.0.0.1:$port inet n - n - 20 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
proxymap  unix  -       -       n       -       -       proxymap
discard   unix  -       -       n       -       -       discard
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
MASTERCF
    : >"$top/maillog"
    if ! postfix -c "$top/etc" start >"$top/start.out" 2>&1 </dev/null; then
        echo "pi_start_mx $name: postfix start failed" >&2
        cat "$top/start.out" "$top/maillog" >&2
        return 1
    fi
    for ((i = 0; i < 150; i++)); do
        pid=$(tr -dc '0-9' <"$top/spool/pid/master.pid" 2>/dev/null)
        if [ -n "$pid" ] && _svc_port_open "$port"; then
            svc_register_pid "$pid"
            return 0
        fi
        sleep 0.1
    done
    echo "pi_start_mx $name: no smtpd on 127.0.0.1:$port" >&2
    tail -n 20 "$top/maillog" >&2
    return 1
}

pi_start_policyd() {
    local conf=${1:-$PI_CONF} log=${2:-$SVC_DIR/policyd.log} specs spec up before i
    specs=$(sed -n 's/^\(policy\|api\|tracking\|policyd_metrics\)_listen = //p' "$conf")
    before=$(grep -c 'started: webhooks' "$log" 2>/dev/null)
    # (a config that logs warnings only never says "started:")
    tail -n 1 <(grep '^log_level = ' "$conf") | grep -Eq '= (warn|error)$' && before=-1
    # shellcheck disable=SC2086 # PI_POLICYD_WRAP is words (a wrapper and its options)
    ${PI_POLICYD_WRAP-} "$PI_POLICYD" -c "$conf" -f >>"$log" 2>&1 &
    PD=$!
    svc_register_pid "$PD"
    # Ready: it logged "started:" (after its listeners, the log follower and
    # the webhook dispatcher are up) and every socket of CONF accepts.
    for ((i = 0; i < 400; i++)); do
        up=1
        [ "$before" = -1 ] || [ "$(grep -c 'started: webhooks' "$log" 2>/dev/null)" -gt "${before:-0}" ] || up=0
        for spec in $specs; do
            [ $up = 1 ] || break
            if [[ $spec == unix:* ]]; then
                [ -S "${spec#unix:}" ] || up=0
            else
                _svc_port_open "${spec##*:}" || up=0
            fi
        done
        [ $up = 1 ] && return 0
        _svc_alive "$PD" || break
        sleep 0.05
    done
    echo "postinbox-policyd did not start ($log):" >&2
    tail -n 20 "$log" >&2
    return 1
}

pi_stop_policyd() {
    local pid=${1:-${PD:-}}
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    if ! _svc_wait_gone 10 "$pid"; then
        echo "postinbox-policyd $pid ignored SIGTERM for 10 s" >&2
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# pi_ms_behind SQL CMD...: runs SQL on database postinbox in a transaction
# held open for 2 s (in the background), then, 0.5 s later, CMD (stdout
# discarded); prints how many milliseconds CMD took, then waits for SQL.
pi_ms_behind() {
    local sql=$1 slow start
    shift
    "$(_svc_pg_bindir)/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postinbox \
        -c "BEGIN; $sql; SELECT pg_sleep(2); COMMIT;" >/dev/null &
    slow=$!
    sleep 0.5
    start=$(date +%s%N)
    "$@" >/dev/null
    echo $(( ($(date +%s%N) - start) / 1000000 ))
    wait "$slow"
}

# pi_pg_pids: every process of the private PostgreSQL (postmaster and children).
pi_pg_pids() {
    local pm
    pm=$(head -n 1 "$SVC_DIR/pg/postmaster.pid")
    { echo "$pm"; pgrep -u postgres -P "$pm"; } | sort -u
}

# pi_pg_lock SQL: a psql (as postgres) that runs "BEGIN; SQL" and keeps the
# transaction open, fed through a fifo on fd 7; returns once SQL is done,
# so what it locked stays locked until pi_pg_unlock (in the same shell).
pi_pg_lock() {
    local fifo out
    fifo=$(mktemp -u "$SVC_DIR/lock.XXXXXX") out=$fifo.out
    mkfifo "$fifo"
    "$(_svc_pg_bindir)/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postinbox \
        <"$fifo" >"$out" 2>&1 &
    PI_LOCK_PID=$!
    exec 7>"$fifo"
    printf "BEGIN;\n%s;\nSELECT 'locked';\n" "$1" >&7
    for _ in $(seq 1 1500); do
        grep -qx locked "$out" && return 0
        _svc_alive "$PI_LOCK_PID" || break
        sleep 0.02
    done
    echo "pi_pg_lock: not locked: $(cat "$out")" >&2
    return 1
}

pi_pg_unlock() {
    printf 'COMMIT;\n' >&7
    exec 7>&-
    wait "$PI_LOCK_PID"
}

# pi_session STAGE SETUP RELEASE STEP...: one SMTP session (smtp_session.py)
# whose steps include "PAUSE STAGE"; when it gets there SETUP (shell code)
# is evaluated, the session goes on, and RELEASE (shell code) is evaluated
# while it does.  Prints the session's lines.
pi_session() {
    local stage=$1 setup=$2 release=$3 dir sp
    shift 3
    dir=$(mktemp -d "$SVC_DIR/session.XXXXXX")
    SESSION_DIR=$dir SESSION_PAUSE=$stage python3 "$PI_TESTDIR/smtp_session.py" "$SMTP_PORT" "$@" >"$dir/out" 2>&1 &
    sp=$!
    for _ in $(seq 1 1500); do
        [ -e "$dir/$stage.at" ] && break
        _svc_alive "$sp" || break
        sleep 0.02
    done
    eval "$setup"
    touch "$dir/$stage.go"
    eval "$release"
    wait "$sp"
    cat "$dir/out"
}
