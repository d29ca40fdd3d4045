#!/bin/sh
# install-deps.sh -- installs everything postinbox needs to build, run and
# test on Debian 12, from Debian's own packages.  Idempotent; quick when
# everything is already there.  Postfix is installed without touching any
# system configuration ("No configuration"), and no system service is
# started or enabled by us: the tests and the quickstart run private
# instances.
set -eu

PACKAGES="
  build-essential autoconf automake libtool pkg-config
  libmilter-dev libhiredis-dev libpq-dev libssl-dev libjansson-dev
  libgmime-3.0-dev libcmocka-dev libcurl4-openssl-dev libmicrohttpd-dev libidn2-dev libopendkim-dev
  postgresql redis-server postfix postfix-pgsql sasl2-bin libsasl2-modules
  swaks miltertest python3 python3-dkim python3-dnspython curl procps iproute2 faketime
  libunbound-dev nsd
  mandoc man-db bsdextrautils systemd libsystemd-dev debhelper lintian dpkg-dev fakeroot
  clang libfuzzer-14-dev libclang-rt-14-dev
"

missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all packages present"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: need root to install:$missing" >&2
    exit 1
fi
echo "install-deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
# Packaged services must not grab the standard ports on a machine with an
# init system; ours run as private instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
