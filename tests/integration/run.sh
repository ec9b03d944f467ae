#!/bin/bash
# run.sh [-j N] [TEST...] - run the integration tests, each in its own bash.
#
# TEST is a file name (t_harness.sh), a path, or a name (t_harness, harness).
# Without arguments every tests/integration/t_*.sh runs. A test exits 0 to
# pass, 77 to skip and anything else to fail; its output is shown only when
# it fails (or always with RG_VERBOSE=1). The last line is the summary
# "N passed, N failed[, N skipped]"; the status is 1 if any test failed.
#
# -j N (or RG_JOBS=N) runs up to N tests at once: each has its own
# services on ports of its own, and most of a test's time is spent
# waiting. A test whose timing must not share the machine says so with a
# line "# run.sh: alone"; those run one by one after the others.
here=$(cd "$(dirname "$0")" && pwd)

jobs=${RG_JOBS:-1}
if [ "${1:-}" = -j ]; then
	jobs=${2:-}
	shift 2 || { echo "run.sh: -j needs a number" >&2; exit 2; }
fi
case "$jobs" in
'' | *[!0-9]* | 0)
	echo "run.sh: -j wants a positive number, not \"$jobs\"" >&2
	exit 2
	;;
esac

tests=()
if [ $# -eq 0 ]; then
	for t in "$here"/t_*.sh; do
		[ -e "$t" ] && tests+=("$t")
	done
else
	for a in "$@"; do
		if [ -f "$a" ]; then
			tests+=("$(cd "$(dirname "$a")" && pwd)/$(basename "$a")")
		elif [ -f "$here/$a" ]; then
			tests+=("$here/$a")
		elif [ -f "$here/$a.sh" ]; then
			tests+=("$here/$a.sh")
		elif [ -f "$here/t_$a.sh" ]; then
			tests+=("$here/t_$a.sh")
		else
			echo "run.sh: no such test: $a" >&2
			exit 2
		fi
	done
fi

passed=0 failed=0 skipped=0
outdir=$(mktemp -d /tmp/rgrun.XXXXXX)
declare -A name_of start_of
trap 'rm -rf "$outdir"' EXIT
# Pass INT/TERM on to the running tests so that their harnesses stop
# their services, then give up.
on_signal() {
	local pid
	for pid in "${!name_of[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${!name_of[@]}"; do
		wait "$pid" 2>/dev/null
		sed 's/^/    /' "$outdir/${name_of[$pid]}"
	done
	echo "run.sh: interrupted" >&2
	exit 130
}
trap on_signal INT TERM

# launch TEST - start one test in the background
launch() {
	local t=$1 name pid
	name=$(basename "$t" .sh)
	# cwd is the source tree's top, so tests may use relative paths
	(cd "$here/../.." && exec bash "$t") >"$outdir/$name" 2>&1 </dev/null &
	pid=$!
	name_of[$pid]=$name
	start_of[$pid]=$(date +%s)
}

# reap - wait for any one test and report it
reap() {
	local pid rc name secs
	wait -n -p pid
	rc=$?
	name=${name_of[$pid]}
	secs=$(($(date +%s) - ${start_of[$pid]}))
	unset "name_of[$pid]" "start_of[$pid]"
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		[ "${RG_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$outdir/$name"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP:' "$outdir/$name" | sed 's/^SKIP: //')"
		;;
	*)
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/    /' "$outdir/$name"
		;;
	esac
}

together=() alone=()
for t in "${tests[@]}"; do
	if [ "$jobs" -gt 1 ] && grep -qx '# run.sh: alone' "$t"; then
		alone+=("$t")
	else
		together+=("$t")
	fi
done
for t in "${together[@]}"; do
	[ "${#name_of[@]}" -ge "$jobs" ] && reap
	launch "$t"
done
while [ "${#name_of[@]}" -gt 0 ]; do
	reap
done
for t in "${alone[@]}"; do
	launch "$t"
	reap
done

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
