#!/bin/sh
# lint.sh - house rules the compiler does not check:
#   no unbounded or non-reentrant calls in a threaded daemon,
#   policy/ never includes libmilter,
#   cppcheck (when installed) finds nothing.
cd "$(dirname "$0")/.." || exit 1
rc=0
hits=$(grep -rnE '\b(sprintf|vsprintf|strcpy|strcat|gets|strtok|localtime|gmtime|inet_ntoa|asctime|ctime|rand)\s*\(' \
	milter policy tools --include='*.c' --include='*.h')
if [ -n "$hits" ]; then
	echo "lint: unbounded or non-reentrant calls (use snprintf, rg_strlcpy with a check, the _r forms):"
	echo "$hits"
	rc=1
fi
hits=$(grep -rlnE 'libmilter/mfapi\.h|smfi_' policy)
if [ -n "$hits" ]; then
	echo "lint: policy/ must not know libmilter: $hits"
	rc=1
fi
if command -v cppcheck >/dev/null 2>&1; then
	cppcheck -q --error-exitcode=1 --enable=warning,portability \
		--inline-suppr -D__GNUC__ -I policy milter policy tools || rc=1
fi
[ "$rc" = 0 ] && echo "lint: clean"
exit $rc
