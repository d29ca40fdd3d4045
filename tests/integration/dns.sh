# shellcheck shell=bash
#
# tests/integration/dns.sh -- a real authoritative DNS server (NSD, from
# Debian's nsd package) on a loopback port, serving test zones the test
# writes.  Sourced after common.sh (needs $SVC_DIR and _svc_pick_ports).
#
#   dns_zone NAME          the zone NAME from stdin (records relative to
#                          NAME., or absolute names); SOA and NS are added,
#                          with a serial that grows on every write.  Before
#                          dns_start: served from the start; after: NSD
#                          reloads it (SIGHUP) and the new serial is waited for
#   dns_start              NSD on 127.0.0.1:$DNS_PORT with every zone written
#                          so far; waits until each answers its SOA
#   dns_txt NAME           prints the TXT strings of NAME (joined), as
#                          $DNS_PORT answers them, or "NXDOMAIN"/"NOANSWER"
#
# Zones added after dns_start need a dns_start again (NSD is restarted).

DNS_DIR=
DNS_PORT=
DNS_SERIAL=1

_dns_dir() {
    [ -n "$DNS_DIR" ] || { DNS_DIR=$SVC_DIR/nsd; mkdir -p "$DNS_DIR"; }
}

_dns_soa_serial() {   # _dns_soa_serial ZONE: the serial NSD answers, or ""
    /usr/bin/python3 - "$1" "$DNS_PORT" <<'PY' 2>/dev/null
import sys
import dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers, r.port, r.lifetime = ["127.0.0.1"], int(sys.argv[2]), 1
print(r.resolve(sys.argv[1], "SOA")[0].serial)
PY
}

_dns_wait_serial() {   # _dns_wait_serial ZONE SERIAL
    local i
    for ((i = 0; i < 100; i++)); do
        [ "$(_dns_soa_serial "$1")" = "$2" ] && return 0
        sleep 0.1
    done
    _svc_log "nsd did not serve $1 serial $2:"
    tail -n 20 "$DNS_DIR/nsd.log" >&2 2>/dev/null
    return 1
}

dns_zone() {
    local name=${1%.} serial
    _dns_dir
    DNS_SERIAL=$((DNS_SERIAL + 1))
    serial=$DNS_SERIAL
    {
        printf '$ORIGIN %s.\n$TTL 5\n' "$name"
        printf '@ IN SOA ns.%s. hostmaster.%s. %s 3600 600 86400 5\n@ IN NS ns.%s.\n' \
            "$name" "$name" "$serial" "$name"
        printf 'ns IN A 127.0.0.1\n'
        cat
    } >"$DNS_DIR/$name.zone.tmp" && mv -f "$DNS_DIR/$name.zone.tmp" "$DNS_DIR/$name.zone"
    echo "$name $serial" >>"$DNS_DIR/serials"
    if [ -s "$DNS_DIR/nsd.pid" ] && kill -0 "$(cat "$DNS_DIR/nsd.pid")" 2>/dev/null &&
        grep -qx "    name: $name" "$DNS_DIR/nsd.conf"; then
        # NSD rereads a zone file whose mtime changed; make sure it did.
        touch -d "@$(($(date +%s) + serial))" "$DNS_DIR/$name.zone"
        kill -HUP "$(cat "$DNS_DIR/nsd.pid")"
        _dns_wait_serial "$name" "$serial"
    fi
}

dns_start() {
    local z name
    _dns_dir
    if [ -s "$DNS_DIR/nsd.pid" ]; then
        kill "$(cat "$DNS_DIR/nsd.pid")" 2>/dev/null
        for ((z = 0; z < 50; z++)); do kill -0 "$(cat "$DNS_DIR/nsd.pid")" 2>/dev/null || break; sleep 0.1; done
        rm -f "$DNS_DIR/nsd.pid"
    fi
    [ -n "$DNS_PORT" ] || DNS_PORT=$(_svc_pick_ports 1) || return 1
    export DNS_PORT
    {
        cat <<CONF
server:
    ip-address: 127.0.0.1
    port: $DNS_PORT
    username: ""
    chroot: ""
    zonesdir: "$DNS_DIR"
    database: ""
    zonelistfile: "$DNS_DIR/zone.list"
    xfrdfile: "$DNS_DIR/xfrd.state"
    xfrdir: "$DNS_DIR"
    pidfile: "$DNS_DIR/nsd.pid"
    logfile: "$DNS_DIR/nsd.log"
    server-count: 1
    verbosity: 1
    hide-version: yes
remote-control:
    control-enable: no
CONF
        for z in "$DNS_DIR"/*.zone; do
            [ -e "$z" ] || continue
            name=$(basename "$z" .zone)
            printf 'zone:\n    name: %s\n    zonefile: "%s"\n' "$name" "$z"
        done
    } >"$DNS_DIR/nsd.conf"
    nsd-checkconf "$DNS_DIR/nsd.conf" || return 1
    nsd -c "$DNS_DIR/nsd.conf" || { _svc_log "nsd failed:"; cat "$DNS_DIR/nsd.log" >&2; return 1; }
    for ((z = 0; z < 50; z++)); do [ -s "$DNS_DIR/nsd.pid" ] && break; sleep 0.1; done
    svc_register_pid "$(cat "$DNS_DIR/nsd.pid")"
    for z in "$DNS_DIR"/*.zone; do
        [ -e "$z" ] || continue
        name=$(basename "$z" .zone)
        _dns_wait_serial "$name" "$(awk -v n="$name" '$1 == n { s = $2 } END { print s }' "$DNS_DIR/serials")" || return 1
    done
}

dns_txt() {
    /usr/bin/python3 - "$1" "$DNS_PORT" <<'PY'
import sys
import dns.resolver
r = dns.resolver.Resolver(configure=False)
r.nameservers, r.port, r.lifetime = ["127.0.0.1"], int(sys.argv[2]), 2
try:
    for rr in r.resolve(sys.argv[1], "TXT"):
        print(b"".join(rr.strings).decode())
except dns.resolver.NXDOMAIN:
    print("NXDOMAIN")
except dns.resolver.NoAnswer:
    print("NOANSWER")
PY
}
