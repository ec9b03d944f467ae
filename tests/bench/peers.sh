# shellcheck shell=bash
# peers.sh - the filters relayguard is measured against, for e2e.sh.
#
#   opendkim  OpenDKIM (verify) then OpenDMARC (with its own SPF check),
#             two milters in one smtpd_milters list, Debian's packages
#   rspamd    rspamd's proxy in milter mode scanning itself (self_scan),
#             Debian's package
#
# Both run on configurations written under $T/peers (never /etc's), as
# their packages' unprivileged users, inside one private network and
# mount namespace (unshare -n -m) that has a loopback interface and one
# end of a veth pair: there a second unbound serves the same zones as the
# harness's on 127.0.0.1:53, /etc/resolv.conf is bind-mounted to point at
# it (OpenDMARC and libspf2 read nothing else), and a private
# redis-server on 127.0.0.1:6379 keeps rspamd's rate limits. Nothing they
# look up or fetch can leave the machine: the veth pair joins the
# namespace to this host only (PEERS_ADDR, a /30 no route leads out of).
# Postfix reaches them through unix sockets, files under $T not bound to
# a namespace (setups opendkim, rspamd), and over TCP to PEERS_ADDR
# (opendkim-tcp, rspamd-tcp: a second OpenDKIM and OpenDMARC on ports
# 8891 and 8893, rspamd's proxy on 11332 as well), as the performance
# issue measured them.
#
# rspamd: the modules that fetch from the network or need training are
# off (fuzzy_check, asn, neural, bayes, rspamd_update, phishing feeds,
# reputation, history, greylist); rbl checks the client against the same
# three zones as relayguard and the links against the same URI list;
# SPF, DKIM, DMARC and three rate limits in Redis as relayguard does.
#
# Needs: opendkim, opendmarc, rspamd (tools/install-deps.sh bench).

# the /30 of the veth pair: this host .1, the peers' namespace .2
PEERS_NET=10.213.$((RANDOM % 250 + 1))
PEERS_ADDR=$PEERS_NET.2
PEERS_IF=rgpeer$$

# peers__ns_script - the script that runs inside the namespace
peers__ns_script() {
	cat <<'EOF'
set -u
P=$1 IF=$2 ADDR=$3
ip link set lo up || exit 1
# the host moves the veth end in once this namespace exists
i=0
until ip link show "$IF" >/dev/null 2>&1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "peers: no $IF in the namespace" >&2; exit 1; }
	sleep 0.1
done
ip addr add "$ADDR/30" dev "$IF" && ip link set "$IF" up || exit 1
mount --bind "$P/resolv.conf" /etc/resolv.conf || exit 1
unbound -d -c "$P/unbound.conf" >>"$P/unbound.out" 2>&1 &
echo $! >"$P/unbound.pid"
redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no \
	--daemonize no --dir "$P/redis" --logfile "$P/redis.log" &
echo $! >"$P/redis.pid"
i=0
until dig -p 53 @127.0.0.1 +time=1 +tries=1 +short sender.bench.example TXT 2>/dev/null | grep -q spf1; do
	i=$((i + 1))
	[ $i -gt 100 ] && { echo "peers: unbound did not answer" >&2; exit 1; }
	sleep 0.1
done
for v in "" -tcp; do
	opendkim -f -x "$P/opendkim$v.conf" >>"$P/opendkim$v.log" 2>&1 &
	echo $! >"$P/opendkim$v.pid"
	opendmarc -f -c "$P/opendmarc$v.conf" >>"$P/opendmarc$v.log" 2>&1 &
	echo $! >"$P/opendmarc$v.pid"
done
rspamd -f -c "$P/rspamd/rspamd.conf" -u _rspamd -g _rspamd \
	--var="LOCAL_CONFDIR=$P/rspamd" --var="DBDIR=$P/rspamd/db" \
	--var="RUNDIR=$P/run" --var="LOGDIR=$P/rspamd" >>"$P/rspamd.out" 2>&1 &
echo $! >"$P/rspamd.pid"
echo started >"$P/ns.ready"
wait
EOF
}

# peers__write_opendkim DIR NAME SOCKET - OpenDKIM: verify only; nothing
# is internal (its default, 127.0.0.1, would have it sign the benchmark
# mail instead)
peers__write_opendkim() {
	local P=$1
	echo 192.0.2.250 >"$P/internal-hosts"
	cat >"$P/$2.conf" <<EOF
Mode			v
Socket			$3
UMask			0000
UserID			opendkim
PidFile			$P/run/$2.pid
Syslog			no
AuthservID		mx.relayguard.test
InternalHosts		$P/internal-hosts
ExternalIgnoreList	$P/internal-hosts
Nameservers		127.0.0.1
DNSTimeout		5
EOF
}

# peers__write_opendmarc DIR NAME SOCKET - OpenDMARC: SPF checked itself
# (no upstream Received-SPF); 127.0.0.1 is not ignored (its default
# IgnoreHosts)
peers__write_opendmarc() {
	local P=$1
	cat >"$P/$2.conf" <<EOF
Socket			$3
UMask			0000
UserID			opendmarc
PidFile			$P/run/$2.pid
Syslog			false
AuthservID		mx.relayguard.test
TrustedAuthservIDs	mx.relayguard.test
IgnoreHosts		$P/internal-hosts
IgnoreAuthenticatedClients true
SPFSelfValidate		true
SPFIgnoreResults	true
RejectFailures		false
PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
EOF
}

# peers__write_rspamd - rspamd.conf: options, logging and one proxy
# worker in milter mode on a unix socket (no normal worker, controller or
# TCP port); local.d overrides for the modules
peers__write_rspamd() {
	local P=$1 R=$1/rspamd m
	mkdir -p "$R/local.d" "$R/override.d" "$R/db"
	chown _rspamd "$R" "$R/db"
	# shellcheck disable=SC2016
	cat >"$R/rspamd.conf" <<'EOF'
.include "$CONFDIR/common.conf"
options {
	pidfile = "$RUNDIR/rspamd.pid";
	.include "$CONFDIR/options.inc"
	.include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"
}
logging {
	type = "file";
	filename = "$LOGDIR/rspamd.log";
	.include "$CONFDIR/logging.inc"
	level = "info";
}
worker "rspamd_proxy" {
	bind_socket = "$RUNDIR/rspamd.sock mode=0666";
	bind_socket = "PEERS_ADDR:11332";
	milter = yes;
	timeout = 120s;
	upstream "local" {
		default = yes;
		self_scan = yes;
	}
	count = WORKERS;
	max_retries = 5;
	discard_on_reject = false;
	quarantine_on_reject = false;
	spam_header = "X-Spam";
	reject_message = "Spam message rejected";
}
EOF
	sed -i -e "s/count = WORKERS;/count = $2;/" -e "s/PEERS_ADDR/$PEERS_ADDR/" "$R/rspamd.conf"
	cat >"$R/local.d/options.inc" <<'EOF'
dns {
	nameserver = ["127.0.0.1:53"];
	timeout = 5s;
}
local_addrs = [];
EOF
	echo 'servers = "127.0.0.1:6379";' >"$R/local.d/redis.conf"
	for m in fuzzy_check asn neural rspamd_update phishing reputation \
		history_redis greylist replies url_redirector clickhouse elastic \
		metric_exporter dcc antivirus external_services spamassassin \
		mx_check p0f bimi emails surbl; do
		echo 'enabled = false;' >"$R/local.d/$m.conf"
	done
	# no Bayes: it needs training and a learned corpus
	echo 'classifier "bayes" { backend = "redis"; min_learns = 1000000; autolearn = false; }' \
		>"$R/local.d/classifier-bayes.conf"
	# the same lists relayguard asks, in place of the default ones
	cat >"$R/override.d/rbl.conf" <<'EOF'
url_whitelist = [];
rbls {
	bench_zen {
		symbol = "BENCH_ZEN";
		rbl = "zen.bench.test";
		checks = ["from"];
		exclude_local = false;
		exclude_private_ips = false;
		returncodes { BENCH_ZEN_LISTED = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]; }
	}
	bench_bl {
		symbol = "BENCH_BL";
		rbl = "bl.bench.test";
		checks = ["from"];
		exclude_local = false;
		exclude_private_ips = false;
	}
	bench_dnsbl {
		symbol = "BENCH_DNSBL";
		rbl = "dnsbl.bench.test";
		checks = ["from"];
		exclude_local = false;
		exclude_private_ips = false;
	}
	bench_surbl {
		symbol = "BENCH_SURBL";
		rbl = "multi.surbl.bench.test";
		checks = ["urls"];
		exclude_local = false;
		exclude_private_ips = false;
	}
}
EOF
	cat >"$R/local.d/ratelimit.conf" <<'EOF'
rates {
	per_ip_conn { selector = "ip"; bucket = { burst = 100000000; rate = "100000000 / 1h"; } }
	per_ip_msg { selector = "ip"; bucket = { burst = 100000000; rate = "100000000 / 1h"; } }
	per_sender_rcpt { selector = "from('smtp'):domain"; bucket = { burst = 100000000; rate = "100000000 / 1h"; } }
}
EOF
	# its results added to the message, as relayguard adds Authentication-Results
	echo 'use = ["x-spamd-result", "authentication-results"];' >"$R/local.d/milter_headers.conf"
}

# bench_peers_start - the namespace and the peers in it. Sets PEERS_DIR
# and PEERS_NS_PID (the namespace's first process); the harness stops
# them at exit.
bench_peers_start() {
	local P=$T/peers i=0 f
	for f in opendkim opendmarc rspamd; do
		command -v "$f" >/dev/null || rg_fail "$f is not installed (tools/install-deps.sh bench)"
	done
	PEERS_DIR=$P
	mkdir -p "$P/run" "$P/redis"
	chmod 755 "$P"
	chmod 1777 "$P/run"
	echo 'nameserver 127.0.0.1' >"$P/resolv.conf"
	sed -e "s/^\tport: .*/\tport: 53/" -e "s|^\tpidfile: .*|\tpidfile: \"$P/unbound.pid.u\"|" \
		-e "s|^\tlogfile: .*|\tlogfile: \"$P/unbound.log\"|" "$T/unbound.conf" >"$P/unbound.conf"
	peers__write_opendkim "$P" opendkim "local:$P/run/opendkim.sock"
	peers__write_opendkim "$P" opendkim-tcp "inet:8891@$PEERS_ADDR"
	peers__write_opendmarc "$P" opendmarc "local:$P/run/opendmarc.sock"
	peers__write_opendmarc "$P" opendmarc-tcp "inet:8893@$PEERS_ADDR"
	peers__write_rspamd "$P" "$(nproc)"
	peers__ns_script >"$P/ns.sh"
	ip link add "$PEERS_IF" type veth peer name "${PEERS_IF}n" ||
		rg_fail "cannot make a veth pair for the peers"
	rg_at_stop "ip link del '$PEERS_IF' 2>/dev/null"
	rg__bg "$P/ns.out" unshare -n -m --propagation private bash "$P/ns.sh" "$P" \
		"${PEERS_IF}n" "$PEERS_ADDR"
	PEERS_NS_PID=$RG__LASTPID
	# stop the peers before the namespace's shell that waits for them
	rg_at_stop "bench_peers_stop"
	RG_EXTRA_LOGS+=" $P/ns.out $P/rspamd/rspamd.log $P/opendkim.log $P/opendmarc.log"
	RG_EXTRA_LOGS+=" $P/opendkim-tcp.log $P/opendmarc-tcp.log"
	# move the veth end only once unshare has made the new namespace: before
	# that, "netns PID" names this host's own and the move does nothing
	i=0
	until [ "$(readlink "/proc/$PEERS_NS_PID/ns/net" 2>/dev/null)" != "$(readlink /proc/self/ns/net)" ] &&
		ip link set "${PEERS_IF}n" netns "$PEERS_NS_PID" 2>/dev/null; do
		i=$((i + 1))
		rg__alive "$PEERS_NS_PID" || rg_fail "the peers' namespace exited: $(cat "$P/ns.out")"
		[ $i -gt 50 ] && rg_fail "cannot move ${PEERS_IF}n into the peers' namespace"
		sleep 0.1
	done
	ip addr add "$PEERS_NET.1/30" dev "$PEERS_IF" && ip link set "$PEERS_IF" up ||
		rg_fail "cannot set up $PEERS_IF"
	i=0
	until [ -S "$P/run/opendkim.sock" ] && [ -S "$P/run/opendmarc.sock" ] &&
		[ -S "$P/run/rspamd.sock" ] && peers__tcp_up; do
		i=$((i + 1))
		rg__alive "$PEERS_NS_PID" || rg_fail "the peers' namespace exited: $(cat "$P/ns.out")"
		[ $i -gt 300 ] && rg_fail "the peers' sockets did not appear in 30s"
		sleep 0.1
	done
}

# peers__tcp_up - the three TCP listeners answer on PEERS_ADDR
peers__tcp_up() {
	local port
	for port in 8891 8893 11332; do
		(exec 3<>"/dev/tcp/$PEERS_ADDR/$port") 2>/dev/null || return 1
	done
}

# bench_peers_stop - SIGTERM to each peer, then the namespace
bench_peers_stop() {
	local f pid
	for f in rspamd opendmarc opendkim opendmarc-tcp opendkim-tcp redis unbound; do
		pid=$(cat "$PEERS_DIR/$f.pid" 2>/dev/null) || continue
		rg__kill_wait "$pid" 10
	done
	rg__kill_wait "$PEERS_NS_PID" 5
}

# bench_peers_pids SETUP - the processes of SETUP's filters (rspamd forks
# its workers: every process of the namespace named rspamd)
bench_peers_pids() {
	local ns d want
	ns=$(readlink "/proc/${PEERS_NS_PID:-0}/ns/net") || return 0
	case "$1" in
	opendkim | opendkim-tcp) want="opendkim opendmarc" ;;
	rspamd | rspamd-tcp) want="rspamd" ;;
	*) return 0 ;;
	esac
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/ns/net" 2>/dev/null)" = "$ns" ] || continue
		case " $want " in *" $(cat "$d/comm" 2>/dev/null) "*) echo "${d#/proc/}" ;; esac
	done
}

# bench_assert_peers FILE - each peer does its work on the message FILE:
# OpenDKIM reports dkim=pass, OpenDMARC spf=pass and dmarc=pass (what
# they add, as milterload -p prints it); rspamd's log line for the
# message has SPF, DKIM and DMARC allowed and its lists asked, and its
# Redis holds rate-limit buckets. Also warms them up (first scans are
# slow: rspamd compiles its expressions).
bench_assert_peers() {
	local file=$1 P=$PEERS_DIR out want dkim dmarc rspamd
	for dkim in "unix:$P/run/opendkim.sock" "inet:8891@$PEERS_ADDR"; do
		out=$("$MILTERLOAD" -p -x -c 2 -n 20 -F "$file" "$dkim") ||
			rg_fail "milterload against OpenDKIM on $dkim: $out"
		printf '%s\n' "$out" | grep -q 'dkim=pass' ||
			rg_fail "OpenDKIM on $dkim did not pass the signature: $out"
	done
	for dmarc in "unix:$P/run/opendmarc.sock" "inet:8893@$PEERS_ADDR"; do
		out=$("$MILTERLOAD" -p -x -c 2 -n 20 -F "$file" "$dmarc") ||
			rg_fail "milterload against OpenDMARC on $dmarc: $out"
		for want in 'spf=pass' 'dmarc=pass'; do
			printf '%s\n' "$out" | grep -q "$want" || rg_fail "OpenDMARC on $dmarc: no $want: $out"
		done
	done
	for rspamd in "inet:11332@$PEERS_ADDR" "unix:$P/run/rspamd.sock"; do
		out=$("$MILTERLOAD" -x -c 2 -n 200 -F "$file" "$rspamd") ||
			rg_fail "milterload against rspamd on $rspamd: $out"
	done
	out=$(grep 'rspamd_task_write_log' "$P/rspamd/rspamd.log" | tail -n 1)
	for want in R_SPF_ALLOW R_DKIM_ALLOW DMARC_POLICY_ALLOW 'dns req: [1-9]'; do
		printf '%s\n' "$out" | grep -qE "$want" || rg_fail "rspamd: no $want: $out"
	done
	[ -n "$(nsenter -t "$PEERS_NS_PID" -n redis-cli -p 6379 --scan | head -1)" ] ||
		rg_fail "rspamd wrote nothing to its Redis (rate limits)"
}
