#!/bin/bash
# run.sh [TEST...] - run the integration tests, each in its own bash.
#
# TEST is a file name (t_harness.sh), a path, or a name (t_harness, harness).
# Without arguments every tests/integration/t_*.sh runs. A test exits 0 to
# pass, 77 to skip and anything else to fail; its output is shown only when
# it fails (or always with RG_VERBOSE=1). The last line is the summary
# "N passed, N failed[, N skipped]"; the status is 1 if any test failed.
here=$(cd "$(dirname "$0")" && pwd)

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
out=$(mktemp /tmp/rgrun.XXXXXX)
child=""
trap 'rm -f "$out"' EXIT
# Pass INT/TERM on to the running test so that its harness stops its
# services, then give up.
on_signal() {
	[ -n "$child" ] && kill -TERM "$child" 2>/dev/null && wait "$child"
	sed 's/^/    /' "$out"
	echo "run.sh: interrupted" >&2
	exit 130
}
trap on_signal INT TERM
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	# cwd is the source tree's top, so tests may use relative paths
	(cd "$here/../.." && exec bash "$t") >"$out" 2>&1 </dev/null &
	child=$!
	wait "$child"
	rc=$?
	child=""
	secs=$(($(date +%s) - start))
	case $rc in
	0)
		passed=$((passed + 1))
		echo "PASS $name (${secs}s)"
		[ "${RG_VERBOSE:-0}" = 1 ] && sed 's/^/    /' "$out"
		;;
	77)
		skipped=$((skipped + 1))
		echo "SKIP $name: $(grep -m1 '^SKIP:' "$out" | sed 's/^SKIP: //')"
		;;
	*)
		failed=$((failed + 1))
		echo "FAIL $name (exit $rc, ${secs}s)"
		sed 's/^/    /' "$out"
		;;
	esac
done

if [ $skipped -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $failed -eq 0 ]
