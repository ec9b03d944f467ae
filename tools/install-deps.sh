#!/bin/sh
# install-deps.sh - install what relayguard needs on Debian 12, non-interactively.
#
# usage: tools/install-deps.sh build|test|bench
#   build  compilers, autoconf and the libraries relayguard links
#   test   build, plus the real services the integration tests start
#          (Postfix, redis-server, unbound) and the clients that drive them;
#          m4 and libwrap0 are for the Sendmail test, which unpacks
#          sendmail-bin itself (installing it would remove postfix);
#          libsystemd-dev lets the build notify systemd (optional: the
#          daemon builds without it) so t_notify.sh has something to test;
#          valgrind is for make check-valgrind, cppcheck for the lint
#          step of make check
#   bench  test, plus the filters make bench measures relayguard against:
#          OpenDKIM with OpenDMARC, and rspamd (never run as system
#          services: policy-rc.d below keeps their postinst from starting
#          them, and the benchmark runs them on its own configuration)
#
# Only packages not yet installed are fetched. Must run as root (apt-get);
# as another user it only reports what is missing.
set -eu

mode=${1:-build}

build_pkgs="gcc make autoconf pkg-config libc6-dev
libmilter-dev libspf2-dev libopendkim-dev libopendmarc-dev
libhiredis-dev libunbound-dev libpsl-dev libidn2-dev libssl-dev libmicrohttpd-dev"
test_pkgs="postfix redis-server unbound swaks miltertest clang
libclang-rt-14-dev groff-base procps iproute2 openssl python3 bind9-dnsutils
gettext-base libnet-ssleay-perl bc m4 libwrap0 python3-dkim curl libsystemd-dev
valgrind cppcheck"
bench_pkgs="opendkim opendmarc rspamd"

case "$mode" in
build) pkgs=$build_pkgs ;;
test) pkgs="$build_pkgs $test_pkgs" ;;
bench) pkgs="$build_pkgs $test_pkgs $bench_pkgs" ;;
*) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "relayguard: missing Debian packages:$missing" >&2
	echo "relayguard: run as root: apt-get install$missing" >&2
	exit 1
fi

# Keep package scripts from starting system-wide daemons (postfix, redis,
# unbound): the tests start their own private instances.
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
fi
echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
echo "postfix postfix/mailname string relayguard.test" | debconf-set-selections
echo "opendmarc opendmarc/dbconfig-install boolean false" | debconf-set-selections

export DEBIAN_FRONTEND=noninteractive
echo "relayguard: installing:$missing" >&2
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
