# shellcheck shell=bash
# peers.sh - the filters relayguard is measured against, for e2e.sh.
#
#   opendkim  OpenDKIM (verify) then OpenDMARC (with its own SPF check),
#             two milters in one smtpd_milters list, Debian's packages
#   rspamd    rspamd's proxy in milter mode scanning itself (self_scan),
#             Debian's package
#
# Both run on configurations written under $T/peers (never /etc's), as
# their packages' unprivileged users, behind unix sockets, and inside one
# private network and mount namespace (unshare -n -m) that has only a
# loopback interface: there a second unbound serves the same zones as
# the harness's on 127.0.0.1:53, /etc/resolv.conf is bind-mounted to point
# at it (OpenDMARC and libspf2 read nothing else), and a private
# redis-server on 127.0.0.1:6379 keeps rspamd's rate limits. Nothing they
# look up or fetch can leave the machine. Postfix reaches them through
# their sockets, which are files under $T and not bound to a namespace.
#
# rspamd: the modules that fetch from the network or need training are
# off (fuzzy_check, asn, neural, bayes, rspamd_update, phishing feeds,
# reputation, history, greylist); rbl checks the client against the same
# three zones as relayguard and the links against the same URI list;
# SPF, DKIM, DMARC and three rate limits in Redis as relayguard does.
#
# Needs: opendkim, opendmarc, rspamd (tools/install-deps.sh bench).

# peers__ns_script - the script that runs inside the namespace
peers__ns_script() {
	cat <<'EOF'
set -u
P=$1
ip link set lo up || exit 1
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
opendkim -f -x "$P/opendkim.conf" >>"$P/opendkim.log" 2>&1 &
echo $! >"$P/opendkim.pid"
opendmarc -f -c "$P/opendmarc.conf" >>"$P/opendmarc.log" 2>&1 &
echo $! >"$P/opendmarc.pid"
rspamd -f -c "$P/rspamd/rspamd.conf" -u _rspamd -g _rspamd \
	--var="LOCAL_CONFDIR=$P/rspamd" --var="DBDIR=$P/rspamd/db" \
	--var="RUNDIR=$P/run" --var="LOGDIR=$P/rspamd" >>"$P/rspamd.out" 2>&1 &
echo $! >"$P/rspamd.pid"
echo started >"$P/ns.ready"
wait
EOF
}

# peers__write_opendkim - OpenDKIM: verify only; nothing is internal
# (its default, 127.0.0.1, would have it sign the benchmark mail instead)
peers__write_opendkim() {
	local P=$1
	echo 192.0.2.250 >"$P/internal-hosts"
	cat >"$P/opendkim.conf" <<EOF
Mode			v
Socket			local:$P/run/opendkim.sock
UMask			0000
UserID			opendkim
PidFile			$P/run/opendkim.pid
Syslog			no
AuthservID		mx.relayguard.test
InternalHosts		$P/internal-hosts
ExternalIgnoreList	$P/internal-hosts
Nameservers		127.0.0.1
DNSTimeout		5
EOF
}

# peers__write_opendmarc - OpenDMARC: SPF checked itself (no upstream
# Received-SPF); 127.0.0.1 is not ignored (its default IgnoreHosts)
peers__write_opendmarc() {
	local P=$1
	cat >"$P/opendmarc.conf" <<EOF
Socket			local:$P/run/opendmarc.sock
UMask			0000
UserID			opendmarc
PidFile			$P/run/opendmarc.pid
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
	sed -i "s/count = WORKERS;/count = $2;/" "$R/rspamd.conf"
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
	peers__write_opendkim "$P"
	peers__write_opendmarc "$P"
	peers__write_rspamd "$P" "$(nproc)"
	peers__ns_script >"$P/ns.sh"
	rg__bg "$P/ns.out" unshare -n -m --propagation private bash "$P/ns.sh" "$P"
	PEERS_NS_PID=$RG__LASTPID
	# stop the peers before the namespace's shell that waits for them
	rg_at_stop "bench_peers_stop"
	RG_EXTRA_LOGS+=" $P/ns.out $P/rspamd/rspamd.log $P/opendkim.log $P/opendmarc.log"
	until [ -S "$P/run/opendkim.sock" ] && [ -S "$P/run/opendmarc.sock" ] &&
		[ -S "$P/run/rspamd.sock" ]; do
		i=$((i + 1))
		rg__alive "$PEERS_NS_PID" || rg_fail "the peers' namespace exited: $(cat "$P/ns.out")"
		[ $i -gt 300 ] && rg_fail "the peers' sockets did not appear in 30s"
		sleep 0.1
	done
}

# bench_peers_stop - SIGTERM to each peer, then the namespace
bench_peers_stop() {
	local f pid
	for f in rspamd opendmarc opendkim redis unbound; do
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
	opendkim) want="opendkim opendmarc" ;;
	rspamd) want="rspamd" ;;
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
	local file=$1 P=$PEERS_DIR out want
	out=$("$MILTERLOAD" -p -x -c 2 -n 20 -F "$file" "unix:$P/run/opendkim.sock") ||
		rg_fail "milterload against OpenDKIM: $out"
	printf '%s\n' "$out" | grep -q 'dkim=pass' || rg_fail "OpenDKIM did not pass the signature: $out"
	out=$("$MILTERLOAD" -p -x -c 2 -n 20 -F "$file" "unix:$P/run/opendmarc.sock") ||
		rg_fail "milterload against OpenDMARC: $out"
	for want in 'spf=pass' 'dmarc=pass'; do
		printf '%s\n' "$out" | grep -q "$want" || rg_fail "OpenDMARC: no $want: $out"
	done
	out=$("$MILTERLOAD" -x -c 2 -n 200 -F "$file" "unix:$P/run/rspamd.sock") ||
		rg_fail "milterload against rspamd: $out"
	out=$(grep 'rspamd_task_write_log' "$P/rspamd/rspamd.log" | tail -n 1)
	for want in R_SPF_ALLOW R_DKIM_ALLOW DMARC_POLICY_ALLOW 'dns req: [1-9]'; do
		printf '%s\n' "$out" | grep -qE "$want" || rg_fail "rspamd: no $want: $out"
	done
	[ -n "$(nsenter -t "$PEERS_NS_PID" -n redis-cli -p 6379 --scan | head -1)" ] ||
		rg_fail "rspamd wrote nothing to its Redis (rate limits)"
}
