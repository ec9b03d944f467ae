#!/bin/bash
# t_manpages.sh - every manual page renders without a warning
# (groff -man -ww -z), and each names the files and commands it documents.
. "$(dirname "$0")/lib.sh"

command -v groff >/dev/null || rg_fail "groff is not installed (groff-base)"
n=0
for page in "$RG_TOP_DIR"/man/*.[0-9]; do
	out=$(groff -man -ww -z "$page" 2>&1)
	[ -z "$out" ] || rg_fail "$(basename "$page"): $out"
	grep -q '^\.SH NAME' "$page" || rg_fail "$(basename "$page") has no NAME section"
	n=$((n + 1))
done
[ "$n" -ge 2 ] || rg_fail "only $n manual pages found"
echo "$n manual pages render cleanly"
exit 0
