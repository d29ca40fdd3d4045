#!/usr/bin/env bash
# test-timeout: 900
# t_package.sh -- the Debian packages as an admin gets them.  From a copy
# of the tree holding only what git tracks (a clean clone, plus this
# checkout's uncommitted changes; the whole tree when there is no git, as
# in a tarball): dpkg-buildpackage -us -uc -b builds the four packages,
# lintian reports no error and no warning, and `apt-get install ./*.deb`
# installs them on this machine.  Then what the install made: the postinbox
# system user, /etc/postinbox/postinbox.conf a conffile 0640 root:postinbox,
# /var/lib/postinbox and /run/postinbox, binaries in /usr/sbin and
# /usr/bin, units with ExecStart=/usr/sbin that systemd-analyze verify
# accepts and that are neither enabled nor started, the manual pages and
# examples; -t as user postinbox reads the config (and names what is
# missing), as nobody it may not.  The installed binaries then run, as user
# postinbox, from the edited conffile against a private PostgreSQL, Redis
# and Postfix: postinboxctl migrates, a message goes through Postfix and
# the milter, the log follower marks it delivered and policyd delivers
# both events as webhooks whose signatures tests/webhook_receiver.py
# checks with its own HMAC.  Last, as Debian policy has it: remove (the
# edited conffile, its mode and the user stay), reinstall (the edit kept,
# no question asked), purge (the conffile, its permissions override and
# /var/lib/postinbox gone; the user stays).  The packages are purged on exit.
# systemd is not PID 1 here: the units are verified, not started.
set -u
here=$(cd "$(dirname "$0")" && pwd)
# the installed programs, not the build's
PI_MILTER=/usr/sbin/postinbox-milter
PI_CTL=/usr/bin/postinboxctl
PI_POLICYD=/usr/sbin/postinbox-policyd
. "$here/common.sh"

PKGS=(postinbox postinbox-milter postinbox-policyd postinbox-tools)
[ "$(id -u)" = 0 ] || { echo "SKIP: installs packages: needs root"; exit 77; }
for tool in dpkg-buildpackage lintian apt-get systemd-analyze setpriv swaks postfix redis-server; do
    command -v "$tool" >/dev/null || { echo "SKIP: needs $tool (scripts/install-deps.sh)"; exit 77; }
done
for p in "${PKGS[@]}"; do
    if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != not-installed ] &&
        dpkg-query -W "$p" >/dev/null 2>&1; then
        echo "SKIP: $p is already on this machine ($(dpkg-query -W -f='${db:Status-Abbrev}' "$p")); the test installs and purges its own"
        exit 77
    fi
done
if [ -e /etc/postinbox ]; then
    echo "SKIP: /etc/postinbox exists (a source install's?); the test writes its own there"
    exit 77
fi

W=$(mktemp -d /tmp/pi-pkg.XXXXXX)
chmod 755 "$W"
INSTALLED=0
pkg_cleanup() {
    if [ "$INSTALLED" = 1 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get purge -y -q "${PKGS[@]}" >>"$W/cleanup.log" 2>&1 </dev/null
    fi
    rm -f /etc/postinbox/pgpass /etc/postinbox/redis.secret /etc/postinbox/secret.key /etc/postinbox/submission.secret
    rmdir /etc/postinbox 2>/dev/null
    [ -n "${KEEP_TEST_DIR-}" ] || rm -rf "$W"
}
trap pkg_cleanup EXIT
apt_get() { DEBIAN_FRONTEND=noninteractive apt-get -y -q "$@" </dev/null; }
debs() { ls "$W"/postinbox_*_all.deb "$W"/postinbox-{milter,policyd,tools}_*.deb; }

# ---- build -----------------------------------------------------------------------------------
mkdir "$W/src"
if git -C "$PI_SRCDIR" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$PI_SRCDIR" && git ls-files -z --cached --others --exclude-standard |
        tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$W/src" -xf -
else
    tar -C "$PI_SRCDIR" --exclude='./build*' -cf - . | tar -C "$W/src" -xf -
fi
t_eq "the copy has no configure (a clean clone: dh_autoreconf makes it)" no \
    "$([ -e "$W/src/configure" ] && [ -d "$PI_SRCDIR/.git" ] && echo yes || echo no)"
(cd "$W/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b) >"$W/build.log" 2>&1
rc=$?
t_eq "dpkg-buildpackage -us -uc -b: exit 0" 0 "$rc"
if [ "$rc" != 0 ]; then tail -30 "$W/build.log" >&2; t_summary; exit 1; fi
t_eq "four packages built" 4 "$(debs 2>/dev/null | wc -l)"

lintian --fail-on error,warning "$W"/postinbox_*.changes >"$W/lintian.log" 2>&1
rc=$?
t_eq "lintian: no error, no warning (exit 0)" 0 "$rc"
t_eq "lintian: nothing reported" "" "$(grep -E '^[EWX]:' "$W/lintian.log")"
echo "# lintian, with the info tags and the overrides:"
lintian -I --show-overrides "$W"/postinbox_*.changes 2>/dev/null | sed 's/^/#   /'

contents() { dpkg-deb -c "$W/$1"_*.deb | awk '{print $6}' | sed 's|^\./|/|'; }
t_eq "postinbox: the conffile is /etc/postinbox/postinbox.conf" /etc/postinbox/postinbox.conf \
    "$(dpkg-deb --ctrl-tarfile "$W"/postinbox_*_all.deb | tar -xOf - ./conffiles)"
for f in /usr/share/man/man5/postinbox.conf.5.gz /usr/share/doc/postinbox/examples/main.cf.snippet \
    /usr/share/doc/postinbox/examples/policy.main.cf.snippet /usr/lib/tmpfiles.d/postinbox.conf; do
    if contents postinbox | grep -qx "$f"; then t_ok "postinbox holds $f"; else t_fail "postinbox holds $f"; fi
done
for f in /usr/sbin/postinbox-milter /lib/systemd/system/postinbox-milter.service /usr/share/man/man8/postinbox-milter.8.gz; do
    if contents postinbox-milter | grep -qx "$f"; then t_ok "postinbox-milter holds $f"; else t_fail "postinbox-milter holds $f"; fi
done
for f in /usr/sbin/postinbox-policyd /lib/systemd/system/postinbox-policyd.service /usr/share/man/man8/postinbox-policyd.8.gz; do
    if contents postinbox-policyd | grep -qx "$f"; then t_ok "postinbox-policyd holds $f"; else t_fail "postinbox-policyd holds $f"; fi
done
for f in /usr/bin/postinboxctl /usr/share/man/man1/postinboxctl.1.gz /usr/share/postinbox/sql/migrations/001_schema.sql; do
    if contents postinbox-tools | grep -qx "$f"; then t_ok "postinbox-tools holds $f"; else t_fail "postinbox-tools holds $f"; fi
done

# ---- install ---------------------------------------------------------------------------------
INSTALLED=1
mapfile -t DEBS < <(debs)
apt_get install --no-install-recommends "${DEBS[@]}" >"$W/install.log" 2>&1
rc=$?
t_eq "apt-get install ./*.deb: exit 0" 0 "$rc"
if [ "$rc" != 0 ]; then tail -30 "$W/install.log" >&2; t_summary; exit 1; fi
t_match "postinst says what to do next, touches nothing" "nothing runs yet. Next:" "$(cat "$W/install.log")"
t_eq "every package installed" "ii ii ii ii" \
    "$(for p in "${PKGS[@]}"; do dpkg-query -W -f='${db:Status-Abbrev}' "$p" | tr -d ' '; echo; done | tr '\n' ' ' | sed 's/ $//')"
pw=$(getent passwd postinbox)
t_match "the postinbox user: a system user without a login shell" \
    '^postinbox:x:[0-9]{3}:[0-9]+:postinbox daemons,*:/var/lib/postinbox:/usr/sbin/nologin$' "$pw"
t_match "the postinbox group" '^postinbox:x:[0-9]+:' "$(getent group postinbox)"
t_eq "postinbox.conf 0640 root:postinbox" "640 root postinbox" "$(stat -c '%a %U %G' /etc/postinbox/postinbox.conf)"
t_eq "postinbox.conf: the permissions are a dpkg statoverride" "root postinbox 640 /etc/postinbox/postinbox.conf" \
    "$(dpkg-statoverride --list /etc/postinbox/postinbox.conf)"
t_eq "/var/lib/postinbox 0750 postinbox:postinbox" "750 postinbox postinbox" "$(stat -c '%a %U %G' /var/lib/postinbox)"
t_eq "/run/postinbox made by tmpfiles.d, owned by postinbox" "755 postinbox postinbox" \
    "$(stat -c '%a %U %G' /run/postinbox 2>&1)"
for b in /usr/sbin/postinbox-milter /usr/sbin/postinbox-policyd /usr/bin/postinboxctl; do
    if [ -x "$b" ]; then t_ok "$b installed"; else t_fail "$b installed"; fi
done
t_eq "man -w postinbox.conf finds the page" /usr/share/man/man5/postinbox.conf.5.gz "$(man -w postinbox.conf 2>&1)"
t_match "man postinbox.conf documents backend_timeout_ms" "backend_timeout_ms" \
    "$(MANPAGER=cat MANWIDTH=80 man postinbox.conf 2>/dev/null)"
for d in milter policyd; do
    u=/lib/systemd/system/postinbox-$d.service
    t_eq "postinbox-$d.service: ExecStart in /usr/sbin" \
        "ExecStart=/usr/sbin/postinbox-$d -c /etc/postinbox/postinbox.conf -f" "$(grep '^ExecStart=' "$u")"
    out=$(systemd-analyze verify --man=no "$u" 2>&1); rc=$?
    t_eq "postinbox-$d.service: systemd-analyze verify clean (installed)" "0 " "$rc $out"
    if [ -e "/etc/systemd/system/multi-user.target.wants/postinbox-$d.service" ]; then
        t_fail "postinbox-$d.service not enabled by the install"
    else t_ok "postinbox-$d.service not enabled by the install"; fi
done

# -t with the shipped file: readable by the group, and it names what is still to be done
out=$(setpriv --reuid=postinbox --regid=postinbox --init-groups /usr/sbin/postinbox-milter -c /etc/postinbox/postinbox.conf -t 2>&1)
rc=$?
t_match "as postinbox: -t reads the shipped config and names the missing password file" \
    "^[1-9][0-9]* .*/etc/postinbox/redis.secret" "$rc $out"
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/postinbox-milter -c /etc/postinbox/postinbox.conf -t 2>&1)
rc=$?
t_match "as nobody: -t may not read it" "^[1-9][0-9]* .*Permission denied" "$rc $out"

# ---- the installed binaries, running -----------------------------------------------------------
pi_setup --no-milter --no-postfix || exit 1
read -r APORT <<<"$(_svc_pick_ports 1)"
# The admin's edit of the conffile: this machine's servers, the secrets in
# /etc/postinbox readable by the daemons only (pgpass the reader's own, as libpq wants).
install -m 0600 -o postinbox -g postinbox "$SVC_DIR/pgpass.app" /etc/postinbox/pgpass
for f in redis.secret:"$PI_REDIS_PASSWORD_FILE" secret.key:"$PI_SECRET_KEY" submission.secret:"$PI_SUBMIT_SECRET"; do
    install -m 0640 -o root -g postinbox "${f#*:}" "/etc/postinbox/${f%%:*}"
done
MAILLOG=$(svc_maillog)
sed -e "s|passfile=$SVC_DIR/pgpass.app|passfile=/etc/postinbox/pgpass|" \
    -e "s|^redis_password_file = .*|redis_password_file = /etc/postinbox/redis.secret|" \
    -e "s|^secret_key_file = .*|secret_key_file = /etc/postinbox/secret.key|" \
    -e "s|^api_submission_password_file = .*|api_submission_password_file = /etc/postinbox/submission.secret|" \
    -e '/^migration_database = /d' "$PI_CONF" >/etc/postinbox/postinbox.conf
cat >>/etc/postinbox/postinbox.conf <<EOF
api_listen = 127.0.0.1:$APORT
postfix_log = $MAILLOG
webhook_allow_networks = 127.0.0.0/8
webhook_allow_http = yes
webhook_poll_interval = 1s
parse_max_size = 0
EOF
EDITED=$(sha256sum /etc/postinbox/postinbox.conf | cut -d' ' -f1)
if grep -v '^postfix_log = ' /etc/postinbox/postinbox.conf | grep -q "$SVC_DIR"; then
    t_fail "the edited conffile takes every secret from /etc/postinbox" "$(grep "$SVC_DIR" /etc/postinbox/postinbox.conf)"
else t_ok "the edited conffile takes every secret from /etc/postinbox"; fi
PI_CONF=/etc/postinbox/postinbox.conf   # pi_ctl from here on: the admin's file
t_eq "the edit kept the file's mode and owner" "640 root postinbox" "$(stat -c '%a %U %G' /etc/postinbox/postinbox.conf)"
out=$(setpriv --reuid=postinbox --regid=postinbox --init-groups /usr/sbin/postinbox-policyd -c /etc/postinbox/postinbox.conf -t 2>&1)
t_eq "as postinbox: postinbox-policyd -t accepts the edited config" "0" "$?"
chgrp postinbox "$MAILLOG" 2>/dev/null || { : >"$MAILLOG"; chgrp postinbox "$MAILLOG"; }
chmod 0640 "$MAILLOG"

as_postinbox() { exec setpriv --reuid=postinbox --regid=postinbox --init-groups "$@"; }  # run with &: the pid is the daemon's
as_postinbox /usr/sbin/postinbox-milter -c /etc/postinbox/postinbox.conf -f >>"$SVC_DIR/milter-pkg.log" 2>&1 &
MPID=$!; svc_register_pid $MPID
for _ in $(seq 1 100); do _svc_port_open "$MILTER_PORT" && break; sleep 0.05; done
t_eq "the installed milter runs as postinbox" postinbox "$(ps -o user= -p $MPID 2>/dev/null)"
as_postinbox /usr/sbin/postinbox-policyd -c /etc/postinbox/postinbox.conf -f >>"$SVC_DIR/policyd-pkg.log" 2>&1 &
PPID_=$!; svc_register_pid $PPID_
for _ in $(seq 1 200); do
    grep -q 'started: webhooks' "$SVC_DIR/policyd-pkg.log" && _svc_port_open "$APORT" && break
    sleep 0.05
done
t_match "the installed policyd started as postinbox, both backends reachable" \
    "^postinbox .*started: webhooks .*PostgreSQL ok, Redis ok" \
    "$(ps -o user= -p $PPID_ 2>/dev/null | tr -d ' ') $(grep -m1 'started: webhooks' "$SVC_DIR/policyd-pkg.log")"

svc_add_sasl_user alice example.test secret
svc_start_postfix || exit 1
A=$(pi_account "Acme" acme)
read -r BOB_ID BOB <<<"$(pi_inbox "$A" bob)"
pi_ctl login grant --inbox "$BOB_ID" --login alice@example.test >/dev/null 2>&1
SECRET=$(/usr/bin/postinboxctl --json webhook add --inbox "$BOB_ID" --url "http://127.0.0.1:$HTTP_PORT/hooks/bob" \
    2>"$SVC_DIR/ctl.err" | json_get secret)
t_match "postinboxctl (installed, /etc/postinbox/postinbox.conf by default) adds a webhook endpoint" \
    '^whsec_' "$SECRET $(cat "$SVC_DIR/ctl.err")"
HOOKS=$SVC_DIR/hooks.jsonl
python3 "$PI_TESTDIR/../webhook_receiver.py" --port "$HTTP_PORT" --log "$HOOKS" --secret "/hooks/bob=$SECRET" \
    --max-lifetime 600 >>"$SVC_DIR/receiver.log" 2>&1 &
svc_register_pid $!
for _ in $(seq 1 100); do _svc_port_open "$HTTP_PORT" && break; sleep 0.05; done

r=$(smtp_send -a PLAIN -au alice@example.test -ap secret --from "$BOB" --to friend@remote.test \
    --header "Subject: from the package" --header "Message-Id: <pkg-1@acme.test>")
t_match "a message through Postfix and the installed milter: 250" '^250 ' "$r"
t_eq "its record, sent by bob" "outbound" \
    "$(svc_psql "SELECT direction FROM postinbox.message WHERE inbox_id = '$BOB_ID' AND message_id_header = '<pkg-1@acme.test>'")"
if pi_wait_sql "SELECT EXISTS (SELECT 1 FROM postinbox.event e JOIN postinbox.message m ON m.id = e.message_id
                WHERE m.inbox_id = '$BOB_ID' AND e.type = 'message.delivered')" 20; then
    t_ok "the installed log follower marked it delivered"
else t_fail "the installed log follower marked it delivered" "$(tail -5 "$SVC_DIR/policyd-pkg.log")"; fi
pi_wait_hook "$HOOKS" "len(under('/hooks/bob')) >= 2" 20
t_eq "the installed policyd delivered message.sent and message.delivered" \
    '["message.delivered", "message.sent"]' \
    "$(python3 "$PI_TESTDIR/../webhook_receiver.py" query "$HOOKS" "sorted(set(r['json']['type'] for r in under('/hooks/bob')))")"
t_eq "each webhook's signature verified by the receiver (its own HMAC)" true \
    "$(python3 "$PI_TESTDIR/../webhook_receiver.py" query "$HOOKS" "len(under('/hooks/bob')) >= 2 and all(r['verified'] for r in under('/hooks/bob'))")"
t_eq "the follower's state in /var/lib/postinbox, owned by postinbox" postinbox \
    "$(stat -c '%U' /var/lib/postinbox/postfix_log.state 2>&1)"
kill -TERM $MPID $PPID_; wait $MPID $PPID_ 2>/dev/null

# ---- remove, reinstall, purge -----------------------------------------------------------------
apt_get remove "${PKGS[@]}" >"$W/remove.log" 2>&1
t_eq "apt-get remove: exit 0" 0 "$?"
# postinbox-tools has neither a conffile nor a maintainer script: nothing of it remains
t_eq "removed: config files remain (rc), postinbox-tools has none (un)" "rc rc rc un" \
    "$(for p in "${PKGS[@]}"; do dpkg-query -W -f='${db:Status-Abbrev}' "$p" | tr -d ' '; echo; done | tr '\n' ' ' | sed 's/ $//')"
if [ -e /usr/sbin/postinbox-milter ] || [ -e /usr/bin/postinboxctl ]; then t_fail "removed: the binaries are gone"
else t_ok "removed: the binaries are gone"; fi
t_eq "removed: the edited conffile stays, unchanged" "$EDITED" "$(sha256sum /etc/postinbox/postinbox.conf 2>&1 | cut -d' ' -f1)"
t_eq "removed: its mode stays" "640 root postinbox" "$(stat -c '%a %U %G' /etc/postinbox/postinbox.conf 2>&1)"
t_match "removed: the user stays" '^postinbox:' "$(getent passwd postinbox)"

apt_get install --no-install-recommends "${DEBS[@]}" >"$W/reinstall.log" 2>&1
t_eq "reinstall: exit 0, no question asked" 0 "$?"
t_eq "reinstall: the edited conffile kept" "$EDITED" "$(sha256sum /etc/postinbox/postinbox.conf | cut -d' ' -f1)"
t_eq "reinstall: mode kept" "640 root postinbox" "$(stat -c '%a %U %G' /etc/postinbox/postinbox.conf)"
out=$(setpriv --reuid=postinbox --regid=postinbox --init-groups /usr/sbin/postinbox-milter -c /etc/postinbox/postinbox.conf -t 2>&1)
t_eq "reinstall: -t as postinbox accepts the kept config" 0 "$?"

apt_get purge "${PKGS[@]}" >"$W/purge.log" 2>&1
t_eq "apt-get purge: exit 0" 0 "$?"
INSTALLED=0
t_eq "purged: no package state left" "" \
    "$(for p in "${PKGS[@]}"; do dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null | grep -v '^un'; done)"
if [ -e /etc/postinbox/postinbox.conf ]; then t_fail "purged: the conffile is gone"; else t_ok "purged: the conffile is gone"; fi
t_eq "purged: the statoverride is gone" "" "$(dpkg-statoverride --list /etc/postinbox/postinbox.conf 2>/dev/null)"
if [ -e /var/lib/postinbox ]; then t_fail "purged: /var/lib/postinbox is gone"; else t_ok "purged: /var/lib/postinbox is gone"; fi
t_match "purged: the user stays (Debian policy: files it owns may remain)" '^postinbox:' "$(getent passwd postinbox)"
t_summary
