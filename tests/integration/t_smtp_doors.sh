#!/usr/bin/env bash
# test-timeout: 900
# t_smtp_doors.sh -- the SMTP reply table (smtp_table.tsv) against both
# front doors, each through a real Postfix with real PostgreSQL and Redis:
# first the milter (smtpd_milters), then postinbox-policyd's policy service
# (check_policy_service in smtpd_recipient_restrictions and
# smtpd_end_of_data_restrictions, no milter).  Each door gets fresh
# services and runs every row meant for it in order, with the same swaks
# session and the same expected reply, queueing, sendsToday change and
# number of refusals.  What only one door does (records and events of the
# milter, the policy protocol itself) is in t_smtp_table.sh and
# t_policy.sh.  SMTP_TABLE=FILE runs another table (e.g. a few rows).
set -u
. "$(dirname "$0")/common.sh"
# The system python3, as services.sh prefers (a pyenv shim costs a second per call).
[ -x /usr/bin/python3 ] && PATH=/usr/bin:$PATH
TABLE=${SMTP_TABLE:-$PI_TESTDIR/smtp_table.tsv}
pi_require --policy

# table_expand STR [regex]: STR with each {NAME} replaced by inbox NAME's
# address (quoted for an ERE with "regex"); {"NAME"} gives it with the
# local part in quotes, {\NAME} with every character of the local part
# backslash-escaped: spellings Postfix reads as the same address.  NAME
# must be an inbox of the current row's setup; an unknown one fails the
# row and expands to itself.
table_expand() {
    local s=$1 mode=${2-} out= name addr spell tok local i esc
    while [[ $s =~ \{(\"?|\\?)([a-z][a-z0-9]*)\"?\} ]]; do
        tok=${BASH_REMATCH[0]} spell=${BASH_REMATCH[1]} name=${BASH_REMATCH[2]}
        out+=${s%%"$tok"*}
        s=${s#*"$tok"}
        if [[ " $ROW_INBOXES " != *" $name "* ]] || [ -z "${INBOX_ADDR[$name]-}" ]; then
            t_fail "$DOOR: $ROW_NAME: $tok is no inbox of the row's setup"
            out+=$tok
            continue
        fi
        addr=${INBOX_ADDR[$name]}
        local=${addr%@*}
        case $spell in
            '"') addr="\"$local\"@${addr##*@}" ;;
            '\') esc=
                for ((i = 0; i < ${#local}; i++)); do esc+="\\${local:i:1}"; done
                addr="$esc@${addr##*@}" ;;
        esac
        [ "$mode" = regex ] && addr=$(sed 's/[][\.*^$+?(){}|/]/\\&/g' <<<"$addr")
        out+=$addr
    done
    printf '%s' "$out$s"
}

# table_reload LINE: the door's config with LINE added, reloaded (SIGUSR1
# for the milter, SIGHUP for policyd); checks the daemon says so.
table_reload() {
    local log pid sig before
    CONF_LINES+=("$1")
    pi_write_conf "${CONF_LINES[@]}"
    if [ "$DOOR" = milter ]; then
        log=$(pi_milter_log) pid=$(pi_milter_pid) sig=USR1
    else
        log=$SVC_DIR/policyd.log pid=$PD sig=HUP
    fi
    before=$(grep -c reloaded "$log")
    kill -"$sig" "$pid"
    for _ in $(seq 1 50); do
        [ "$(grep -c reloaded "$log")" -gt "$before" ] && break
        sleep 0.1
    done
    t_eq "$DOOR: SIG$sig reloads the config ($1)" $((before + 1)) "$(grep -c reloaded "$log")"
}

# table_setup TOKEN: makes what one setup token names, once; a token that
# names a made thing differently is a broken table.
table_setup() {
    local tok=$1 kind=${1%%:*} arg=${1#*:} name opts flags=() opt id addr
    case $kind in
        inbox)
            name=${arg%%,*}
            ROW_INBOXES+=" $name"
            if [ -n "${INBOX_SPEC[$name]-}" ]; then
                [ "${INBOX_SPEC[$name]}" = "$arg" ] ||
                    t_fail "$DOOR: $ROW_NAME: inbox $name is ${INBOX_SPEC[$name]} already, not $arg"
                return 0
            fi
            INBOX_SPEC[$name]=$arg
            # The rows of a daily cap (made with the inbox, then filled) lie within one UTC day.
            [[ ,$arg, == *,daily=* ]] && pi_clear_of_midnight 60
            opts=${arg#"$name"}
            local status=
            for opt in ${opts//,/ }; do
                case $opt in
                    disabled | suspended) status=$opt ;;
                    burst=*) flags+=(--burst-limit "${opt#*=}") ;;
                    daily=*) flags+=(--daily-limit "${opt#*=}") ;;
                    domain=*) flags+=(--domain "${opt#*=}") ;;
                    *) t_fail "$DOOR: $ROW_NAME: unknown inbox option $opt" ;;
                esac
            done
            read -r id addr <<<"$(pi_inbox "$ACME" "$name" "${flags[@]}")"
            INBOX_ID[$name]=$id INBOX_ADDR[$name]=$addr
            [ "$status" = disabled ] && pi_ctl inbox disable "$addr" --reason "test: disabled" >/dev/null
            [ "$status" = suspended ] && pi_ctl inbox suspend "$addr" --reason "test: suspended" >/dev/null
            pi_ctl login grant --login alice@example.test --inbox "$addr" >/dev/null
            ;;
        domain)
            name=${arg%%,*}
            if [ -n "${DOMAIN_SPEC[$name]-}" ]; then
                [ "${DOMAIN_SPEC[$name]}" = "$arg" ] ||
                    t_fail "$DOOR: $ROW_NAME: domain $name is ${DOMAIN_SPEC[$name]} already, not $arg"
                return 0
            fi
            DOMAIN_SPEC[$name]=$arg
            if [ "$arg" = "$name,unverified" ]; then
                pi_ctl domain add --account "$ACME" --name "$name" >/dev/null
            else
                pi_ctl domain add --account "$ACME" --name "$name" --verified >/dev/null
            fi
            ;;
        suppress)
            [ -n "${DONE[$tok]-}" ] && return 0
            DONE[$tok]=1
            name=${arg%%,*}
            pi_ctl suppression add "${INBOX_ADDR[$name]}" --address "${arg#*,}" >/dev/null
            ;;
        conf)
            [ -n "${DONE[$tok]-}" ] && return 0
            DONE[$tok]=1
            table_reload "${arg%%=*} = ${arg#*=}"
            ;;
        wait) sleep "$arg" ;;
        *) t_fail "$DOOR: $ROW_NAME: unknown setup $tok" ;;
    esac
}

# table_row FIELDS...: one row's session and its checks.
table_row() {
    local doors=$2 setup=$3 client=$4 auth=$5 from=$6 to=$7 code=$8 enh=$9
    local text=${10} queued=${11} sends=${12} refusals=${13}
    local tok args=() before= sname= sn= r transcript got re
    ROW_NAME=$1 ROW_INBOXES=
    case $doors in
        both | "$DOOR") ;;
        milter | policy) return 0 ;;
        *) t_fail "$DOOR: $ROW_NAME: doors is both, milter or policy, not $doors"; return 0 ;;
    esac
    ROWS_RUN=$((ROWS_RUN + 1))
    if [ "$setup" != - ]; then
        for tok in $setup; do table_setup "$tok"; done
    fi
    [ "$client" = - ] || args+=(--local-interface "$client")
    case $auth in
        -) ;;
        alice | mallory) args+=(-a PLAIN -au "$auth@example.test" -ap secret) ;;
        service) args+=(-a PLAIN -au "$PI_SUBMIT_LOGIN" -ap "$(head -1 "$PI_SUBMIT_SECRET")") ;;
        *) t_fail "$DOOR: $ROW_NAME: unknown login $auth" ;;
    esac
    if [ "$sends" != - ]; then
        sname=${sends%+*} sn=${sends##*+}
        if [[ " $ROW_INBOXES " != *" $sname "* ]]; then
            t_fail "$DOOR: $ROW_NAME: sends names $sname, no inbox of the row's setup"
            sends=-
        fi
    fi
    if [ "$sends" != - ]; then
        before=$(pi_sends_today "${INBOX_ID[$sname]}")
    fi
    r=$(smtp_send "${args[@]}" --from "$(table_expand "$from")" --to "$(table_expand "$to")")
    transcript=$(cat "$SVC_DIR/swaks.last")
    re="^$code ${enh//./\\.} .*$(table_expand "$text" regex)"
    t_match "$DOOR: $ROW_NAME: $code $enh" "$re" "$r"
    got=no
    grep -q 'queued as' <<<"$transcript" && got=yes
    t_eq "$DOOR: $ROW_NAME: queued $queued" "$queued" "$got"
    [ "$sends" = - ] ||
        t_eq "$DOOR: $ROW_NAME: sendsToday of $sname +$sn" "$((before + sn))" "$(pi_sends_today "${INBOX_ID[$sname]}")"
    t_eq "$DOOR: $ROW_NAME: ${refusals%%:*} refusals" "${refusals%%:*}" "$(grep -Ec '^<\*\* *[45][0-9]{2}( |$)' <<<"$transcript")"
    [[ $refusals == *:* ]] && table_rcpt_replies "$(table_expand "$to")" "$(table_expand "${refusals#*:}")" "$code" "$re" "$transcript"
    return 0
}

# table_rcpt_replies TO REFUSED CODE RE TRANSCRIPT: the reply to each RCPT
# TO of the session, in order: CODE (the whole reply matching RE, the
# row's reply) for each address of the comma list REFUSED, 250 for the
# others -- not just the decisive one.
table_rcpt_replies() {
    local to=$1 refused=$2 code=$3 re=$4 transcript=$5 rcpt want= got= line i=0
    local -a replies
    mapfile -t replies < <(awk '
        /^ [-~]> RCPT TO:/ { want = 1; next }
        want && /^<(-|\*\*|~|~\*) *[0-9][0-9][0-9]( |$)/ {
            sub(/^<[-*~]+ */, ""); sub(/\r$/, ""); print; want = 0 }' <<<"$transcript")
    for rcpt in ${to//,/ }; do
        if [[ ",$refused," == *",$rcpt,"* ]]; then
            want+=" $code"
            line=${replies[$i]-}
            t_match "$DOOR: $ROW_NAME: RCPT $rcpt gets the row's reply" "$re" "$line"
        else
            want+=" 250"
        fi
        got+=" $(smtp_code "${replies[$i]-}")"
        i=$((i + 1))
    done
    t_eq "$DOOR: $ROW_NAME: the reply to each RCPT, in order" "${want# }" "${got# }"
}

# door_run DOOR: fresh services with that front door, every row for it;
# writes "passed failed" to $COUNTS.  Runs in a subshell: its EXIT trap
# stops its services.
door_run() {
    DOOR=$1
    T_PASSED=0 T_FAILED=0
    declare -A INBOX_ID=() INBOX_ADDR=() INBOX_SPEC=() DOMAIN_SPEC=() DONE=()
    CONF_LINES=()
    if [ "$DOOR" = milter ]; then
        pi_setup
    else
        pi_setup --policy
        t_eq "policy: Postfix runs without a milter" "" "$(svc_postconf -h smtpd_milters)"
    fi
    svc_on_exit() {
        [ "${T_FAILED:-0}" != 0 ] || return 0
        for f in "$SVC_DIR"/milter-*.log "$SVC_DIR/policyd.log"; do
            [ -f "$f" ] && { echo "---- $f (last 40 lines)" >&2; tail -40 "$f" >&2; }
        done
        return 0
    }
    ACME=$(pi_account "Acme" acme)
    local line fields want
    ROWS_RUN=0
    while IFS= read -r line; do
        [[ -z $line || $line == \#* ]] && continue
        IFS=$'\t' read -r -a fields <<<"$line"
        if [ "${#fields[@]}" != 13 ]; then
            t_fail "$DOOR: a table line has ${#fields[@]} fields, not 13" "$line"
            continue
        fi
        table_row "${fields[@]}"
    done <"$TABLE"
    want=$(awk -F '\t' -v door="$DOOR" '!/^#/ && NF && ($2 == "both" || $2 == door)' "$TABLE" | wc -l)
    t_eq "$DOOR: every row meant for this door ran ($want)" "$want" "$ROWS_RUN"
    [ "$want" -gt 0 ] || t_fail "$DOOR: the table has rows for this door" "$TABLE"
    echo "$T_PASSED $T_FAILED" >"$COUNTS"
}

COUNTS=$(mktemp /tmp/pi-doors.XXXXXX)
passed=0 failed=0
for door in milter policy; do
    : >"$COUNTS"
    ( door_run "$door" )
    rc=$?
    [ $rc = 77 ] && { rm -f "$COUNTS"; exit 77; }
    read -r p f <"$COUNTS" || { p=0 f=1; echo "FAIL - $door: the door did not run to its end (status $rc)"; }
    passed=$((passed + p)) failed=$((failed + f))
done
rm -f "$COUNTS"
printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
