#!/bin/bash
# t_logjson.sh - log_format = json: one JSON object per message, with the
# same fields as the key=value line, valid even when the client sends
# quotes, backslashes and bytes that are not UTF-8.
. "$(dirname "$0")/lib.sh"

RG_CONF='log_format = json'
# let 8-bit bytes through to relayguard untouched
RG_POSTFIX_EXTRA='smtputf8_enable = no'
rg_harness_start

rg_send --from '"a\\b c"@far.example' --to user@ours.example --xclient-addr 192.0.2.7 \
	--ehlo "$(printf 'h\xe9lo.example')" --header "Subject: json" --body x ||
	rg_fail "swaks exited $?"
rg_send --from a@far.example --to user@evil.example --xclient-addr 192.0.2.8 --body x
rg_wait_sink 1
sleep 0.5
grep -o '{"id":.*}$' "$T/relayguard.log" >"$T/json.lines"
[ "$(wc -l <"$T/json.lines")" -ge 2 ] || rg_fail "fewer than 2 JSON summary lines"
/usr/bin/python3 - "$T/json.lines" <<'PY' || rg_fail "JSON summary lines are wrong"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
objs = [json.loads(l) for l in lines]
acc = [o for o in objs if o.get("verdict") == "accept"]
rej = [o for o in objs if o.get("verdict") == "reject"]
assert acc and rej, objs
a = acc[0]
for k in ("id", "client", "helo", "from", "to", "size", "time"):
    assert k in a, (k, a)
assert a["from"] == '<"a\\\\b c"@far.example>', a["from"]
assert "\ufffd" in a["helo"], a["helo"]
r = rej[0]
assert r["check"] == "relay" and r["relay"] == "foreign-domain", r
assert r["reply"].startswith("550 5.7.1"), r
print("ok:", len(objs), "objects")
PY
exit 0
