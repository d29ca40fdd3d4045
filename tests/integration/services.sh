# shellcheck shell=bash
#
# tests/integration/services.sh - private service instances for postinbox
# integration tests.  Source it from a bash test script:
#
#     . "$(dirname "$0")/services.sh"
#     svc_init
#     svc_start_pg; svc_start_redis; svc_start_postfix
#     ...
#     t_summary
#
# Everything runs on 127.0.0.1 only, inside one temporary directory
# ($SVC_DIR), on free TCP ports picked by svc_init.  Nothing outside $SVC_DIR
# is written; a system-wide Postfix / PostgreSQL / Redis is never touched.
# PostgreSQL and Postfix need root (they run as users postgres / postfix).
#
# Safe for callers using `set -u`; the library never enables `set -e` and
# its functions return non-zero on failure instead of exiting.
#
# Provided:
#   svc_init                 temp dir $SVC_DIR, free ports, EXIT trap
#   svc_register_pid PID     have svc_stop_all kill PID (TERM, then KILL)
#   svc_stop_all             stop everything, release the ports, remove $SVC_DIR
#                            (idempotent)
#   svc_start_pg             initdb + start PostgreSQL, roles postinbox_owner and
#                            postinbox_app with passwords, db postinbox (owner's)
#   svc_stop_pg              fast shutdown, waits
#   svc_start_pg_again       start the same data directory again
#   svc_psql SQL             psql -At -X -q on db postinbox (or $SVC_PSQL_DB); prints result
#   svc_create_db NAME       a database owned by postinbox_owner that postinbox_app may use
#   svc_start_redis          redis-server, no persistence, ACL user postinbox
#                            ($SVC_REDIS_WRAP, if set, is the words run before
#                            redis-server, e.g. a faketime wrapper: pi_faketime_wrap)
#   svc_stop_redis           SHUTDOWN NOSAVE (kill as fallback), waits
#   svc_kill_redis           kill -9, waits until it is gone
#   svc_redis_cli ARGS...    redis-cli -p $REDIS_PORT ARGS... as the admin
#   svc_add_sasl_user U R P  add U@R with password P to $SVC_DIR/sasldb2
#   svc_start_postfix [MILTERS]  private Postfix, smtpd on $SMTP_PORT
#   svc_postconf ARGS...     postconf -c <private config dir> ARGS...
#   svc_postfix_reload       postfix reload (+ short settle pause)
#   svc_stop_postfix         stop the private Postfix, waits
#   svc_maillog              prints the path of the Postfix maillog
#   svc_maillog_wait RE [S]  wait up to S (10) seconds for RE in maillog
#   t_ok / t_fail / t_eq / t_match / t_summary   assertion helpers
#   smtp_send ARGS...        swaks session, prints the decisive reply line
#   smtp_code REPLY          prints the 3-digit code of REPLY
#
# Exported after svc_init: SVC_DIR PG_PORT REDIS_PORT SMTP_PORT MILTER_PORT
# MILTER2_PORT POLICY_PORT HTTP_PORT.  After svc_start_pg: PI_DATABASE,
# PI_MIGRATION_DATABASE, PGPASSFILE, PG_SOCKDIR.  After svc_start_redis: PI_REDIS,
# PI_REDIS_PASSWORD_FILE, REDIS_ADMIN_SECRET.
#
# EXIT trap: svc_init installs an EXIT trap (and INT/TERM/HUP traps that
# just exit, so the EXIT trap runs).  Callers should NOT set their own EXIT
# trap afterwards (it would replace ours); instead define a function
# `svc_on_exit`, which svc_stop_all calls first if it exists (e.g. to dump
# a milter log on failure; write to stderr, because the EXIT trap runs
# after t_summary has printed the last stdout line).  An EXIT trap that was
# already set before svc_init is preserved and run after svc_stop_all.
#
# Sanitizers: svc_init points ASAN_OPTIONS/LSAN_OPTIONS/UBSAN_OPTIONS at
# $SVC_DIR/sanitizer (a build with --enable-sanitizers reports there, one
# file per process); svc_stop_all fails the test when a report appeared.
# Ports: every port _svc_pick_ports prints (svc_init's and a script's own)
# is held by a lock file in $SVC_PORT_LOCKS (/tmp/pi-test-ports) until
# svc_stop_all, so concurrent tests never share one.
#
# Environment knobs: KEEP_TEST_DIR=1 keeps $SVC_DIR after the run;
# SMTP_SEND_VERBOSE=1 copies every swaks transcript to stderr;
# PG_BINDIR overrides the PostgreSQL bin directory.

# ---------------------------------------------------------------------------
# Assertion helpers
# ---------------------------------------------------------------------------

T_PASSED=${T_PASSED:-0}
T_FAILED=${T_FAILED:-0}

# t_ok NAME - record a pass.
t_ok() {
    T_PASSED=$((T_PASSED + 1))
    printf 'ok - %s\n' "${1-}"
}

# t_fail NAME [DETAIL] - record a failure.
t_fail() {
    T_FAILED=$((T_FAILED + 1))
    if [ $# -ge 2 ]; then
        printf 'FAIL - %s: %s\n' "${1-}" "$2"
    else
        printf 'FAIL - %s\n' "${1-}"
    fi
    return 0
}

# t_eq NAME EXPECTED ACTUAL - pass if the two strings are equal.
t_eq() {
    if [ "${2-}" = "${3-}" ]; then
        t_ok "${1-}"
    else
        t_fail "${1-}" "expected [${2-}] got [${3-}]"
    fi
}

# t_match NAME REGEX ACTUAL - pass if ACTUAL matches the bash ERE REGEX.
t_match() {
    local re=${2-}
    if [[ ${3-} =~ $re ]]; then
        t_ok "${1-}"
    else
        t_fail "${1-}" "[${3-}] does not match /${re}/"
    fi
}

# t_summary - prints "N passed, M failed" (must be the last line of the
# test's output; svc_stop_all writes nothing to stdout) and returns 1 if
# anything failed, else 0.  Typical use: `t_summary; exit $?` or just make
# it the last command of the script.
t_summary() {
    printf '%d passed, %d failed\n' "$T_PASSED" "$T_FAILED"
    [ "$T_FAILED" -eq 0 ]
}

# ---------------------------------------------------------------------------
# Internal helpers
# ---------------------------------------------------------------------------

_svc_log() { printf 'services.sh: %s\n' "$*" >&2; }

# _svc_alive PID - true if PID exists and is not a zombie.  (PID 1 in some
# sandboxes does not reap orphans, so a killed daemon can stay a zombie.)
_svc_alive() {
    local pid=${1-} stat
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != Z ]
}

# _svc_is PID COMM - true if PID is alive and its command name is COMM
# (guards against acting on a stale pid file whose pid was reused).
_svc_is() {
    _svc_alive "${1-}" && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = "${2-}" ]
}

# _svc_wait_gone SECONDS PID... - wait until none of the PIDs is alive.
# Returns 1 if some are still alive after SECONDS.
_svc_wait_gone() {
    local secs=$1 i pid alive
    shift
    for ((i = 0; i <= secs * 10; i++)); do
        alive=0
        for pid in "$@"; do
            if _svc_alive "$pid"; then alive=1; break; fi
        done
        [ $alive -eq 0 ] && return 0
        sleep 0.1
    done
    return 1
}

# _svc_port_open PORT - true if something accepts on 127.0.0.1:PORT.
_svc_port_open() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# _svc_wait_port_closed PORT SECONDS
_svc_wait_port_closed() {
    local i
    for ((i = 0; i <= $2 * 10; i++)); do
        _svc_port_open "$1" || return 0
        sleep 0.1
    done
    return 1
}

# _svc_pick_ports N - prints N distinct free ports in 20000-32000 (below the
# kernel's ephemeral range, so outgoing connections never take them).  A
# port counts as free if it can be bound on 127.0.0.1 and 0.0.0.0 and
# nothing answers on it.  Each port picked stays held until this test
# stops (svc_stop_all): a lock file $SVC_PORT_LOCKS/PORT, made with O_EXCL,
# holds "PID SVC_DIR" of the test script ($$), so two tests picking at the
# same moment never get the same port, even before either has bound it.
# A lock whose PID is gone is stale and taken over.
SVC_PORT_LOCKS=${SVC_PORT_LOCKS:-/tmp/pi-test-ports}
_svc_pick_ports() {
    local n=$1
    mkdir -p "$SVC_PORT_LOCKS" 2>/dev/null && chmod 1777 "$SVC_PORT_LOCKS" 2>/dev/null
    if [ -x /usr/bin/python3 ]; then
        /usr/bin/python3 - "$n" "$$" "${SVC_DIR:--}" "$SVC_PORT_LOCKS" <<'EOF'
import os, random, socket, sys
n, owner, svc_dir, lock_dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def lock(p):
    """Take the lock of port p (True), or False if a live test holds it."""
    path = os.path.join(lock_dir, str(p))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            try:
                with open(path) as f:
                    pid = int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pid = 0
            if pid and (pid == owner or alive(pid)):
                return False
            try:
                os.unlink(path)    # stale: its test is gone
            except FileNotFoundError:
                pass
            continue
        os.write(fd, ("%d %s\n" % (owner, svc_dir)).encode())
        os.close(fd)
        return True
    return False


def unlock(p):
    try:
        os.unlink(os.path.join(lock_dir, str(p)))
    except FileNotFoundError:
        pass


def free(p):
    for addr in ("127.0.0.1", "0.0.0.0"):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((addr, p))
        except OSError:
            return False
        finally:
            s.close()
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.settimeout(0.2)
    try:
        c.connect(("127.0.0.1", p))
        return False
    except OSError:
        return True
    finally:
        c.close()


picked = []
tries = 0
while len(picked) < n and tries < 5000:
    tries += 1
    p = random.randint(20000, 32000)
    if p in picked or not lock(p):
        continue
    if free(p):
        picked.append(p)
    else:
        unlock(p)
if len(picked) < n:
    for p in picked:
        unlock(p)
    sys.exit(1)
print(" ".join(map(str, picked)))
EOF
        return
    fi
    # Fallback without python: only checks that nothing answers / listens;
    # the lock is a noclobber redirection (O_EXCL as well).
    local picked=() p used tries=0 holder
    used=$(ss -Htan 2>/dev/null | awk '{print $4}' | sed 's/.*://' | sort -u)
    while [ ${#picked[@]} -lt "$n" ] && [ $tries -lt 5000 ]; do
        tries=$((tries + 1))
        p=$((20000 + RANDOM % 12001))
        case " ${picked[*]} " in *" $p "*) continue ;; esac
        if printf '%s\n' "$used" | grep -qx "$p"; then continue; fi
        if ! (set -C; echo "$$ ${SVC_DIR:--}" >"$SVC_PORT_LOCKS/$p") 2>/dev/null; then
            holder=$(cut -d' ' -f1 "$SVC_PORT_LOCKS/$p" 2>/dev/null)
            { [ -n "$holder" ] && [ "$holder" != $$ ] && ! _svc_alive "$holder"; } || continue
            rm -f "$SVC_PORT_LOCKS/$p"
            (set -C; echo "$$ ${SVC_DIR:--}" >"$SVC_PORT_LOCKS/$p") 2>/dev/null || continue
        fi
        if _svc_port_open "$p"; then rm -f "$SVC_PORT_LOCKS/$p"; continue; fi
        picked+=("$p")
    done
    [ ${#picked[@]} -eq "$n" ] || return 1
    echo "${picked[*]}"
}

# _svc_release_ports - drops the port locks of this $SVC_DIR (whoever took
# them: a sweep after a killed test runs in another process) and those
# this script ($$) took before it had a $SVC_DIR.
_svc_release_ports() {
    local f pid dir
    for f in "$SVC_PORT_LOCKS"/*; do
        [ -f "$f" ] || continue
        read -r pid dir <"$f" 2>/dev/null || continue
        if { [ -n "${SVC_DIR-}" ] && [ "$dir" = "$SVC_DIR" ]; } || [ "$pid $dir" = "$$ -" ]; then
            rm -f "$f"
        fi
    done
}

# _svc_as USER CMD... - run CMD as USER when we are root, else as ourselves.
_svc_as() {
    local user=$1
    shift
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u "$user" -- "$@")
    else
        "$@"
    fi
}

# ---------------------------------------------------------------------------
# Setup / teardown
# ---------------------------------------------------------------------------

SVC_DIR=${SVC_DIR-}
_SVC_PREV_EXIT_TRAP=${_SVC_PREV_EXIT_TRAP-}

# svc_init - create $SVC_DIR, pick ports, install traps.
svc_init() {
    local ports prev
    SVC_DIR=$(mktemp -d /tmp/pi-test.XXXXXX) || { _svc_log "mktemp failed"; return 1; }
    chmod 755 "$SVC_DIR"
    export SVC_DIR
    : >"$SVC_DIR/pids"
    _svc_sanitizer_env

    ports=$(_svc_pick_ports 7) || { _svc_log "could not find free ports"; return 1; }
    # shellcheck disable=SC2086
    set -- $ports
    export PG_PORT=$1 REDIS_PORT=$2 SMTP_PORT=$3 MILTER_PORT=$4 \
        MILTER2_PORT=$5 POLICY_PORT=$6 HTTP_PORT=$7
    # What svc_stop_all needs, for a sweep after this script was killed
    # (tests/run-with-timeout.sh names the file of its $SVC_DIRs).
    printf 'PG_PORT=%s REDIS_PORT=%s SMTP_PORT=%s\n' "$PG_PORT" "$REDIS_PORT" "$SMTP_PORT" >"$SVC_DIR/ports"
    [ -z "${PI_TEST_SVC_LIST-}" ] || echo "$SVC_DIR" >>"$PI_TEST_SVC_LIST"

    # Keep an EXIT trap that was set before us; run it after our cleanup.
    prev=$(trap -p EXIT)
    if [ -n "$prev" ] && [[ $prev != *_svc_exit_trap* ]]; then
        prev=${prev#trap -- }
        prev=${prev% EXIT}
        eval "_SVC_PREV_EXIT_TRAP=$prev"
    fi
    trap _svc_exit_trap EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    return 0
}

_svc_exit_trap() {
    local rc=$?
    trap '' INT TERM HUP    # do not let a second ^C interrupt the cleanup
    svc_stop_all
    if [ -n "$_SVC_PREV_EXIT_TRAP" ]; then
        eval "$_SVC_PREV_EXIT_TRAP"
    fi
    [ -z "${_SVC_SANITIZER_FAILED-}" ] || exit 1
    return $rc
}

# _svc_sanitizer_env - where a program built with --enable-sanitizers
# reports (the daemons run in the background; their stderr may be read by
# nobody): one file per process in $SVC_DIR/sanitizer, written by whichever
# user the process runs as.  Leaks are checked at exit, with the
# suppressions of tests/sanitizers.supp (known library leaks only).
# Without a sanitized build these variables change nothing.
_svc_sanitizer_env() {
    local supp
    supp=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/sanitizers.supp
    mkdir -m 1777 "$SVC_DIR/sanitizer"
    export ASAN_OPTIONS="log_path=$SVC_DIR/sanitizer/asan:halt_on_error=1:detect_leaks=1:abort_on_error=0"
    export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
    export UBSAN_OPTIONS="log_path=$SVC_DIR/sanitizer/ubsan:halt_on_error=1:print_stacktrace=1"
}

# _svc_sanitizer_reports - after everything stopped: a sanitizer report
# written during the test fails it.  The reports go to stderr, then a
# FAIL line and a closing "N passed, M failed" that counts it (the test's
# log keeps stdout and stderr in order; test-summary.sh reads the last
# such line); the EXIT trap then exits 1.
_svc_sanitizer_reports() {
    local f found=0
    [ -z "${_SVC_SANITIZER_FAILED-}" ] || return 0
    for f in "$SVC_DIR"/sanitizer/*; do
        [ -s "$f" ] || continue
        found=1
        echo "---- sanitizer report $f" >&2
        head -n 80 "$f" >&2
    done
    [ $found = 1 ] || return 0
    _SVC_SANITIZER_FAILED=1
    T_FAILED=$((T_FAILED + 1))
    printf 'FAIL - sanitizer reports (above)\n%d passed, %d failed\n' "$T_PASSED" "$T_FAILED" >&2
}

# svc_register_pid PID - svc_stop_all will kill PID (TERM, KILL after 2 s).
# Works from subshells too (the list is kept in a file).
svc_register_pid() {
    [ -n "${SVC_DIR-}" ] && [ -d "$SVC_DIR" ] || return 1
    echo "${1-}" >>"$SVC_DIR/pids"
}

# svc_stop_all - stop postfix, redis, pg and registered pids; remove
# $SVC_DIR unless KEEP_TEST_DIR=1.  Idempotent; prints nothing on stdout.
svc_stop_all() {
    local -    # restores shell options on return
    set +e     # a caller's `set -e` must not abort the cleanup half-way
    {
        if declare -F svc_on_exit >/dev/null; then
            svc_on_exit || true
        fi
    } </dev/null
    [ -n "${SVC_DIR-}" ] && [ -d "$SVC_DIR" ] || return 0
    {
        local pids=() pid
        if [ -s "$SVC_DIR/pids" ]; then
            while read -r pid; do
                [[ $pid =~ ^[0-9]+$ ]] && _svc_alive "$pid" && pids+=("$pid")
            done <"$SVC_DIR/pids"
        fi
        if [ ${#pids[@]} -gt 0 ]; then
            kill -TERM "${pids[@]}" 2>/dev/null
            if ! _svc_wait_gone 2 "${pids[@]}"; then
                kill -KILL "${pids[@]}" 2>/dev/null
                _svc_wait_gone 2 "${pids[@]}"
            fi
            for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
        fi
        : >"$SVC_DIR/pids"
        svc_stop_postfix
        svc_stop_redis
        svc_stop_pg
        _svc_release_ports
    } >/dev/null </dev/null
    _svc_sanitizer_reports
    if [ "${KEEP_TEST_DIR-}" = 1 ]; then
        _svc_log "kept $SVC_DIR"
    else
        case $SVC_DIR in
            /tmp/pi-test.*) rm -rf "$SVC_DIR" ;;
        esac
    fi
    return 0
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

_svc_pg_bindir() {
    if [ -n "${PG_BINDIR-}" ]; then
        echo "$PG_BINDIR"
        return
    fi
    local d
    # shellcheck disable=SC2012
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || { _svc_log "no /usr/lib/postgresql/*/bin"; return 1; }
    echo "$d"
}

_svc_pg_ctl_start() {
    local bin=$1
    # fsync etc. off: the data dir is throw-away.  SVC_PG_LISTEN: the
    # addresses to listen on (127.0.0.1 unless a test adds its own).
    if ! _svc_as postgres "$bin/pg_ctl" -D "$SVC_DIR/pg" -l "$SVC_DIR/pg.log" -w -t 30 \
        -o "-p $PG_PORT -k $PG_SOCKDIR -c listen_addresses=${SVC_PG_LISTEN:-127.0.0.1} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >"$SVC_DIR/pg_ctl.out" 2>&1; then
        _svc_log "PostgreSQL failed to start:"
        tail -n 20 "$SVC_DIR/pg_ctl.out" "$SVC_DIR/pg.log" >&2 2>/dev/null
        return 1
    fi
}

# svc_start_pg - initdb (UTF8, C.UTF-8; passwords over TCP with
# scram-sha-256, peer on the socket) in $SVC_DIR/pg, start on
# 127.0.0.1:$PG_PORT (unix socket in $SVC_DIR/pgsock), and set it up as a
# production install should be: the roles postinbox_owner (owns the
# database and the schema; postinboxctl migrate) and postinbox_app (the
# daemons' runtime role, granted only what migrate grants it), each with
# a random password in its own 0600 passfile.  Exports PI_DATABASE (the
# runtime role), PI_MIGRATION_DATABASE (the owner) and PGPASSFILE (all
# three passwords, for the tests' own psql -U postgres).
svc_start_pg() {
    local bin pw_super pw_owner pw_app
    bin=$(_svc_pg_bindir) || return 1
    export PG_SOCKDIR="$SVC_DIR/pgsock"
    mkdir -p "$SVC_DIR/pg" "$PG_SOCKDIR"
    : >"$SVC_DIR/pg.log"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$SVC_DIR/pg" "$PG_SOCKDIR" "$SVC_DIR/pg.log"
    fi
    chmod 700 "$SVC_DIR/pg" "$PG_SOCKDIR"
    pw_super=$(_svc_random_password) pw_owner=$(_svc_random_password) pw_app=$(_svc_random_password)
    (umask 077
     printf '%s\n' "$pw_super" >"$SVC_DIR/pg.superpw"
     printf '127.0.0.1:%s:*:postgres:%s\n127.0.0.1:%s:*:postinbox_owner:%s\n127.0.0.1:%s:*:postinbox_app:%s\n' \
         "$PG_PORT" "$pw_super" "$PG_PORT" "$pw_owner" "$PG_PORT" "$pw_app" >"$SVC_DIR/pgpass"
     printf '127.0.0.1:%s:*:postinbox_owner:%s\n' "$PG_PORT" "$pw_owner" >"$SVC_DIR/pgpass.owner"
     printf '127.0.0.1:%s:*:postinbox_app:%s\n' "$PG_PORT" "$pw_app" >"$SVC_DIR/pgpass.app")
    [ "$(id -u)" -ne 0 ] || chown postgres "$SVC_DIR/pg.superpw"
    export PGPASSFILE=$SVC_DIR/pgpass
    if ! _svc_as postgres "$bin/initdb" -D "$SVC_DIR/pg" -U postgres --auth-host=scram-sha-256 --auth-local=peer \
        --pwfile="$SVC_DIR/pg.superpw" -E UTF8 --locale=C.UTF-8 --no-sync >"$SVC_DIR/initdb.out" 2>&1; then
        _svc_log "initdb failed:"
        tail -n 20 "$SVC_DIR/initdb.out" >&2
        return 1
    fi
    rm -f "$SVC_DIR/pg.superpw"
    _svc_pg_ctl_start "$bin" || return 1
    if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
        >"$SVC_DIR/createdb.out" 2>&1 <<SQL; then
CREATE ROLE postinbox_owner LOGIN PASSWORD '$pw_owner';
CREATE ROLE postinbox_app LOGIN PASSWORD '$pw_app';
SQL
        _svc_log "creating the roles failed:"
        cat "$SVC_DIR/createdb.out" >&2
        return 1
    fi
    svc_create_db postinbox || return 1
    export PI_DATABASE="host=127.0.0.1 port=$PG_PORT dbname=postinbox user=postinbox_app passfile=$SVC_DIR/pgpass.app"
    export PI_MIGRATION_DATABASE="host=127.0.0.1 port=$PG_PORT dbname=postinbox user=postinbox_owner passfile=$SVC_DIR/pgpass.owner"
    return 0
}

# svc_create_db NAME - a database as a production install has it: owned by
# postinbox_owner, postinbox_app may connect (and make temporary tables),
# nobody else.  svc_start_pg makes "postinbox" with it.
svc_create_db() {
    local bin sql
    bin=$(_svc_pg_bindir) || return 1
    for sql in "CREATE DATABASE $1 OWNER postinbox_owner" "REVOKE ALL ON DATABASE $1 FROM PUBLIC" \
        "GRANT CONNECT, TEMPORARY ON DATABASE $1 TO postinbox_app"; do
        if ! "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "$sql" \
            >>"$SVC_DIR/createdb.out" 2>&1; then
            _svc_log "creating the database $1 failed:"
            cat "$SVC_DIR/createdb.out" >&2
            return 1
        fi
    done
}

# _svc_random_password - 24 random characters [A-Za-z0-9].
_svc_random_password() {
    head -c 48 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24
}

# svc_stop_pg - fast shutdown, waits until stopped.  No-op if not running.
svc_stop_pg() {
    [ -n "${SVC_DIR-}" ] && [ -f "$SVC_DIR/pg/postmaster.pid" ] || return 0
    local bin pid
    bin=$(_svc_pg_bindir) || return 1
    pid=$(head -n 1 "$SVC_DIR/pg/postmaster.pid" 2>/dev/null)
    if ! _svc_is "$pid" postgres; then
        rm -f "$SVC_DIR/pg/postmaster.pid"    # stale
        return 0
    fi
    _svc_as postgres timeout 40 "$bin/pg_ctl" -D "$SVC_DIR/pg" -m fast -w -t 30 stop \
        >/dev/null 2>&1
    if ! _svc_wait_gone 5 "$pid"; then
        _svc_log "PostgreSQL did not stop; killing"
        kill -KILL "$pid" 2>/dev/null
        _svc_wait_gone 5 "$pid"
        rm -f "$SVC_DIR/pg/postmaster.pid"
    fi
    return 0
}

# svc_start_pg_again - start the existing data directory again.
svc_start_pg_again() {
    local bin
    bin=$(_svc_pg_bindir) || return 1
    [ -d "$SVC_DIR/pg" ] || { _svc_log "svc_start_pg was never run"; return 1; }
    _svc_pg_ctl_start "$bin"
}

# svc_psql SQL - run SQL on database postinbox (or $SVC_PSQL_DB) as the
# superuser; prints unaligned tuples-only output; returns psql's exit
# status (ON_ERROR_STOP is set).
svc_psql() {
    local bin
    bin=$(_svc_pg_bindir) || return 1
    "$bin/psql" -At -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" \
        -U postgres -d "${SVC_PSQL_DB:-postinbox}" -c "${1-}"
}

# ---------------------------------------------------------------------------
# Redis
# ---------------------------------------------------------------------------

# The commands postinbox sends (lib/store/limiter.c: EVALSHA, EVAL on
# NOSCRIPT, AUTH) and those its scripts call; its ACL user gets these
# alone, on its own keys.  contrib/quickstart.sh and README use the same.
SVC_REDIS_ACL_COMMANDS="+evalsha +eval +time +hget +hset +hexists +hincrby +hkeys +hdel +hlen +zadd +zrem +zscore +zcard +zcount"
SVC_REDIS_ACL_COMMANDS="$SVC_REDIS_ACL_COMMANDS +zrange +zrangebyscore +zremrangebyscore +expire +pexpire +role +wait"

# _svc_redis_secret FILE - a fresh random password in FILE (0600), unless
# FILE holds one already (a restarted Redis keeps its passwords).
_svc_redis_secret() {
    [ -s "$1" ] && return 0
    (umask 077 && head -c 24 /dev/urandom | base64 | tr -d '\n/+=' >"$1" && echo >>"$1")
}

# svc_start_redis - daemonized redis-server on 127.0.0.1:$REDIS_PORT without
# persistence, with passwords as production should have them: the default
# user is the admin (svc_redis_cli), and postinbox logs in as ACL user
# postinbox, which may run only $SVC_REDIS_ACL_COMMANDS on keys pi:*.  The
# passwords are in 0600 files, made once per $SVC_DIR; redis.conf (0600)
# holds only their SHA-256, and no password is on a command line.  Waits for
# PING; exports PI_REDIS (redis://postinbox@127.0.0.1:PORT),
# PI_REDIS_PASSWORD_FILE (postinbox's password) and REDIS_ADMIN_SECRET.
svc_start_redis() {
    local i pass_hash admin_hash
    rm -f "$SVC_DIR/redis.pid"
    PI_REDIS_PASSWORD_FILE=$SVC_DIR/redis-postinbox.secret
    REDIS_ADMIN_SECRET=$SVC_DIR/redis-admin.secret
    _svc_redis_secret "$PI_REDIS_PASSWORD_FILE" && _svc_redis_secret "$REDIS_ADMIN_SECRET" || return 1
    pass_hash=$(head -n 1 "$PI_REDIS_PASSWORD_FILE" | tr -d '\n' | sha256sum | cut -d' ' -f1)
    admin_hash=$(head -n 1 "$REDIS_ADMIN_SECRET" | tr -d '\n' | sha256sum | cut -d' ' -f1)
    (
        umask 077
        cat >"$SVC_DIR/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
save ""
appendonly no
daemonize yes
pidfile $SVC_DIR/redis.pid
dir $SVC_DIR
logfile $SVC_DIR/redis.log
user default on #$admin_hash ~* &* +@all
user postinbox on #$pass_hash resetkeys ~pi:* resetchannels -@all $SVC_REDIS_ACL_COMMANDS
EOF
    )
    # shellcheck disable=SC2086 # SVC_REDIS_WRAP is words (a wrapper and its options)
    if ! ${SVC_REDIS_WRAP-} redis-server "$SVC_DIR/redis.conf" >"$SVC_DIR/redis.out" 2>&1 </dev/null; then
        _svc_log "redis-server failed:"
        cat "$SVC_DIR/redis.out" "$SVC_DIR/redis.log" >&2 2>/dev/null
        return 1
    fi
    export PI_REDIS_PASSWORD_FILE REDIS_ADMIN_SECRET
    for ((i = 0; i < 100; i++)); do
        if [ -s "$SVC_DIR/redis.pid" ] && [ "$(svc_redis_cli PING 2>/dev/null)" = PONG ]; then
            export PI_REDIS="redis://postinbox@127.0.0.1:$REDIS_PORT"
            return 0
        fi
        sleep 0.1
    done
    _svc_log "redis did not answer PING:"
    tail -n 20 "$SVC_DIR/redis.log" >&2 2>/dev/null
    return 1
}

_svc_redis_pid() {
    [ -n "${SVC_DIR-}" ] && [ -s "$SVC_DIR/redis.pid" ] || return 1
    head -n 1 "$SVC_DIR/redis.pid"
}

# svc_kill_redis - kill -9 redis and wait until the process and port are gone.
svc_kill_redis() {
    local pid
    pid=$(_svc_redis_pid) || return 0
    _svc_is "$pid" redis-server && kill -KILL "$pid" 2>/dev/null
    _svc_wait_gone 10 "$pid" || { _svc_log "redis $pid survived kill -9"; return 1; }
    rm -f "$SVC_DIR/redis.pid"
    _svc_wait_port_closed "$REDIS_PORT" 5
}

# svc_stop_redis - orderly stop (SHUTDOWN NOSAVE), kill -9 as fallback.
svc_stop_redis() {
    local pid
    pid=$(_svc_redis_pid) || return 0
    if _svc_is "$pid" redis-server; then
        REDISCLI_AUTH=$(_svc_redis_admin_pass) timeout 5 \
            redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SHUTDOWN NOSAVE >/dev/null 2>&1
        if ! _svc_wait_gone 5 "$pid"; then
            kill -KILL "$pid" 2>/dev/null
            _svc_wait_gone 5 "$pid"
        fi
    fi
    rm -f "$SVC_DIR/redis.pid"
    return 0
}

# svc_redis_cli ARGS... - redis-cli against the private instance, as its
# admin (the default user; the password through the environment).
svc_redis_cli() {
    REDISCLI_AUTH=$(_svc_redis_admin_pass) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
}

# _svc_redis_admin_pass - the admin's password (empty if there is none yet).
_svc_redis_admin_pass() {
    head -n 1 "${REDIS_ADMIN_SECRET:-$SVC_DIR/redis-admin.secret}" 2>/dev/null
}

# ---------------------------------------------------------------------------
# Cyrus SASL
# ---------------------------------------------------------------------------

# svc_add_sasl_user USER REALM PASS - add USER@REALM to $SVC_DIR/sasldb2
# (group postfix readable).  Clients authenticate as USER@REALM.
svc_add_sasl_user() {
    local user=${1-} realm=${2-} pass=${3-}
    if ! printf '%s' "$pass" | saslpasswd2 -p -c -f "$SVC_DIR/sasldb2" \
        -u "$realm" "$user"; then
        _svc_log "saslpasswd2 failed for $user@$realm"
        return 1
    fi
    if [ "$(id -u)" -eq 0 ]; then
        chgrp postfix "$SVC_DIR/sasldb2"
    fi
    chmod 640 "$SVC_DIR/sasldb2"
}

# ---------------------------------------------------------------------------
# Postfix
# ---------------------------------------------------------------------------

_SVC_PF_CONF() { echo "$SVC_DIR/postfix/etc"; }

# svc_maillog - prints the path of the private Postfix maillog.
svc_maillog() { echo "$SVC_DIR/postfix/maillog"; }

# svc_maillog_wait REGEX [SECONDS] - wait (default 10 s) until an extended
# regex matches a line of the maillog (postlogd writes asynchronously).
svc_maillog_wait() {
    local re=${1-} secs=${2-10} i
    for ((i = 0; i <= secs * 10; i++)); do
        grep -Eq -- "$re" "$SVC_DIR/postfix/maillog" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# svc_postconf ARGS... - postconf on the private instance (e.g.
# `svc_postconf -e 'smtpd_milters=inet:127.0.0.1:1234'` then
# svc_postfix_reload).
svc_postconf() {
    postconf -c "$(_SVC_PF_CONF)" "$@"
}

_svc_pf_master_pid() {
    local f="$SVC_DIR/postfix/spool/pid/master.pid" pid
    [ -n "${SVC_DIR-}" ] && [ -s "$f" ] || return 1
    pid=$(tr -dc '0-9' <"$f")
    [ -n "$pid" ] && echo "$pid"
}

_svc_pf_diag() {
    _svc_log "$1"
    cat "$SVC_DIR/postfix/start.out" >&2 2>/dev/null
    # The postfix command reports fatal errors only to a terminal or the
    # log; re-run its checks under script(1) to see them.
    if command -v script >/dev/null; then
        _svc_log "postfix check (on a pseudo-terminal):"
        timeout 20 script -qec "postfix -c '$(_SVC_PF_CONF)' check" /dev/null </dev/null >&2
    fi
    _svc_log "tail of $(svc_maillog):"
    tail -n 30 "$(svc_maillog)" >&2 2>/dev/null
}

# svc_start_postfix [MILTERS] - start a private Postfix whose smtpd listens
# on 127.0.0.1:$SMTP_PORT.  MILTERS becomes smtpd_milters; when omitted it
# is inet:127.0.0.1:$MILTER_PORT, an explicit "" means no milter.  All mail
# is delivered to the discard transport.  Waits for the 220 greeting.
svc_start_postfix() {
    local milters="inet:127.0.0.1:$MILTER_PORT"
    [ $# -ge 1 ] && milters=$1
    local top="$SVC_DIR/postfix" conf
    conf=$(_SVC_PF_CONF)
    mkdir -p "$conf/sasl" "$top/spool" "$top/data"
    chmod 755 "$top" "$conf" "$conf/sasl" "$top/spool"
    if [ "$(id -u)" -eq 0 ]; then
        chown root:root "$top/spool"
        chown postfix: "$top/data"
    fi
    chmod 700 "$top/data"

    cat >"$conf/main.cf" <<EOF
# Private Postfix instance for postinbox integration tests (generated).
compatibility_level = 3.6
config_directory = $conf
queue_directory = $top/spool
data_directory = $top/data
maillog_file = $top/maillog
maillog_file_prefixes = $top
myhostname = mx.test
mydomain = test
myorigin = \$myhostname
mydestination =
mynetworks = 127.0.0.0/8
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
biff = no
append_dot_mydomain = no
alias_maps =
alias_database =
local_recipient_maps =
smtp_dns_support_level = disabled

# Everything is thrown away after the queue.
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
in_flow_delay = 0

# Postfix refuses a relay policy without reject_unauth_destination (smtpd
# exits with "specify at least one working instance of ..."), so "permit
# everything" is spelled with permit_mynetworks: every test client is on
# loopback, which is in mynetworks.
smtpd_relay_restrictions = permit_sasl_authenticated, permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit
smtpd_tls_security_level = none
smtp_tls_security_level = none

smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
smtpd_sasl_security_options = noanonymous
broken_sasl_auth_clients = no

smtpd_milters = $milters
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 30s
milter_content_timeout = 60s
# milter_*_macros stay at their defaults: {auth_type} {auth_authen} etc.
# arrive at MAIL (omitted, not empty, without AUTH).  {i} (queue id) is
# never sent at MAIL; with the default smtpd_delay_open_until_valid_rcpt =
# yes it arrives from the 2nd RCPT / DATA on, with "no" from the 1st RCPT.

# Many concurrent test clients, no throttling.
default_process_limit = 100
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
smtpd_client_recipient_rate_limit = 0
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 1000
smtpd_hard_error_limit = 1000
smtpd_junk_command_limit = 1000
message_size_limit = 20480000
EOF

    # Debian's Postfix reads the Cyrus config from \$config_directory/sasl/.
    cat >"$conf/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SVC_DIR/sasldb2
EOF

    # No chroot anywhere; smtpd only on 127.0.0.1:$SMTP_PORT (no port 25).
    cat >"$conf/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - 100 smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

    : >"$top/maillog"
    if ! postfix -c "$conf" start >"$top/start.out" 2>&1 </dev/null; then
        _svc_pf_diag "postfix start failed"
        return 1
    fi
    # Wait (at most ~15 s) for the greeting.
    local banner deadline=$((SECONDS + 15))
    while [ $SECONDS -lt $deadline ]; do
        # shellcheck disable=SC2016
        banner=$(timeout 2 bash -c '
            exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
            IFS= read -r -t 2 line <&3 || exit 1
            printf "QUIT\r\n" >&3
            printf "%s" "$line"' _ "$SMTP_PORT" 2>/dev/null)
        if [[ $banner == 220* ]]; then
            return 0
        fi
        sleep 0.1
    done
    _svc_pf_diag "postfix smtpd on 127.0.0.1:$SMTP_PORT does not answer 220"
    return 1
}

# svc_postfix_reload - `postfix reload`, then a short pause so that new
# sessions get smtpd processes with the new configuration.
svc_postfix_reload() {
    if ! postfix -c "$(_SVC_PF_CONF)" reload >"$SVC_DIR/postfix/reload.out" 2>&1 </dev/null; then
        _svc_pf_diag "postfix reload failed"
        return 1
    fi
    sleep 0.5
}

# svc_stop_postfix - stop the private Postfix and wait until the master and
# every process of its session are gone (kill -9 as last resort).
svc_stop_postfix() {
    local pid
    pid=$(_svc_pf_master_pid) || return 0
    if _svc_is "$pid" master; then
        timeout 20 postfix -c "$(_SVC_PF_CONF)" stop >/dev/null 2>&1 </dev/null
        _svc_wait_gone 10 "$pid" || kill -KILL "$pid" 2>/dev/null
    fi
    # The master is a session leader; its children share its session id.
    # Sweep stragglers of that session (only Postfix daemons: user postfix
    # or a master), so a reused pid can never hit an unrelated process.
    local left
    left=$(ps -o pid=,user=,comm= -s "$pid" 2>/dev/null |
        awk '$2 == "postfix" || $3 == "master" { printf "%s ", $1 }')
    if [ -n "${left// /}" ]; then
        # shellcheck disable=SC2086
        kill -TERM $left 2>/dev/null
        # shellcheck disable=SC2086
        if ! _svc_wait_gone 3 $left; then
            # shellcheck disable=SC2086
            kill -KILL $left 2>/dev/null
            # shellcheck disable=SC2086
            _svc_wait_gone 3 $left
        fi
    fi
    rm -f "$SVC_DIR/postfix/spool/pid/master.pid"
    _svc_wait_port_closed "$SMTP_PORT" 5
    return 0
}

# ---------------------------------------------------------------------------
# SMTP client
# ---------------------------------------------------------------------------

# smtp_send ARGS... - run
#     swaks --server ${SMTP_HOST:-127.0.0.1} --port $SMTP_PORT --helo client.test ARGS...
# and print ONE line, the decisive reply, with swaks' "<-"/"<**" marker
# removed (e.g. "250 2.0.0 Ok: queued as 4Xyz" or "550 5.7.1 spam"):
#   1. if the server sent any 4xx/5xx reply (swaks marks them "<**"): the
#      last line of the LAST such reply (for a multi-line reply the final
#      "NNN text" line, so '^550 5\.2\.1' style regexes work);
#   2. else, if the message was sent: the last line of the reply to the
#      DATA terminating "." (normally "250 2.0.0 Ok: queued as ...");
#   3. else, if swaks itself reported an error (connection refused, timeout,
#      connection closed): "000 " followed by swaks' message;
#   4. else the last reply line the server sent before QUIT (e.g. the RCPT
#      reply with --quit-after RCPT);
#   5. else "000 no reply".
# Always returns 0 (safe under set -e).  The full transcript of the most
# recent call is in $SVC_DIR/swaks.last; SMTP_SEND_VERBOSE=1 also copies it
# to stderr.  Safe to run several in parallel (each writes its own temp
# file, then renames it to swaks.last).
smtp_send() {
    local out
    out=$(mktemp "$SVC_DIR/swaks.XXXXXX") || { echo "000 mktemp failed"; return 0; }
    swaks --server "${SMTP_HOST:-127.0.0.1}" --port "$SMTP_PORT" --helo client.test "$@" \
        >"$out" 2>&1 </dev/null
    [ "${SMTP_SEND_VERBOSE-}" = 1 ] && cat "$out" >&2
    awk '
        function text(s) { sub(/^<[-*~]+ ?/, "", s); sub(/^ +/, "", s); sub(/\r$/, "", s); return s }
        function is_reply(s) { return s ~ /^[0-9][0-9][0-9]/ && (length(s) == 3 || substr(s, 4, 1) == " " || substr(s, 4, 1) == "-") }
        function is_final(s) { return length(s) == 3 || substr(s, 4, 1) == " " }
        /^ [-~]> \.\r?$/ { after_dot = 1; next }
        /^ [-~]> QUIT\r?$/ { quitting = 1; next }
        /^<(-|\*\*|~|~\*)/ {
            t = text($0)
            bad = ($0 ~ /^<(\*\*|~\*)/)
            if (is_reply(t)) {
                if (!quitting) last = t
                if (bad && t ~ /^[45]/) err = t
                if (after_dot) {
                    dot = t
                    if (is_final(t)) after_dot = 0
                }
            } else if (bad) {
                sub(/^[ \t]+/, "", t)
                swerr = "000 " t
            }
            next
        }
        /^\*\*\* / { t = $0; sub(/^\*\*\*[ \t]*/, "", t); sub(/\r$/, "", t); swerr = "000 " t; next }
        END {
            if (err != "") print err
            else if (dot != "") print dot
            else if (swerr != "") print swerr
            else if (last != "") print last
            else print "000 no reply"
        }' "$out"
    mv -f "$out" "$SVC_DIR/swaks.last"
    return 0
}

# smtp_code REPLY - prints the 3-digit code at the start of REPLY (or 000).
smtp_code() {
    local r=${1-}
    if [[ $r =~ ^([0-9]{3}) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 000
    fi
}
