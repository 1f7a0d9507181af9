#!/bin/bash
# Integration: `tcplab watch` prints the transitions of a connection as
# they happen (read from the FUSE view's events stream), filtered by port,
# as text, coloured on request, or as JSON lines; --count and --timeout end
# it.
. "$(dirname "$0")/lib.sh"
require python3 nc
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup cliwatch
NS=$(new_ns cwat)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID

# watch_bg FILE ARGS...: starts watch in the background and waits until it
# has the stream open (its "# watching" line on stderr). Sets WPID.
watch_bg() {
	local out=$1 n=100
	shift
	"$TCPLAB" --pid "$PID" watch "$@" >"$out" 2>"$out.err" &
	WPID=$!
	PIDS+=("$WPID")
	while ! grep -q "^# watching $T/mnt/events" "$out.err" 2>/dev/null; do
		n=$((n - 1))
		[ $n -gt 0 ] || fail "watch did not start: $(cat "$out.err")"
		sleep 0.05
	done
}

# One echo exchange from the kernel host: handshake, data, close.
echo_once() {
	echo ping | ip netns exec "$NS" timeout 5 nc -N 198.18.0.1 7 >/dev/null || fail "echo exchange failed"
}

# Text, port filter, --count.
watch_bg "$T/w1" --port 7 --count 3 --color never
echo_once
wait_exit "$WPID" 10 || fail "watch --count 3 did not end by itself"
[ "$(wc -l <"$T/w1")" = 3 ] || fail "watch --count 3 printed $(wc -l <"$T/w1") lines"
grep -qE "^[0-9]+\.[0-9]{6} stack conn [0-9]+ 198\.18\.0\.1:7 198\.18\.0\.2:[0-9]+ LISTEN -> SYN_RECV \(SYN\)$" "$T/w1" ||
	fail "no LISTEN -> SYN_RECV line: $(cat "$T/w1")"
grep -q " SYN_RECV -> ESTABLISHED (ACK)$" "$T/w1" || fail "no SYN_RECV -> ESTABLISHED line"
grep -q " ESTABLISHED -> CLOSE_WAIT (FIN" "$T/w1" || fail "no ESTABLISHED -> CLOSE_WAIT line"
note "text: $(wc -l <"$T/w1") lines"

# Colours on request: state names wrapped in ANSI escapes.
watch_bg "$T/w2" --port 7 --count 2 --state ESTABLISHED --state CLOSE_WAIT --color always
echo_once
wait_exit "$WPID" 10 || fail "watch --color always did not end"
grep -q $'\033\\[1;32m' "$T/w2" || fail "no colour for ESTABLISHED: $(cat -v "$T/w2")"
grep -q "SYN_RECV" "$T/w2" || fail "--state ESTABLISHED: the line into ESTABLISHED shows where it came from"
grep -q "LISTEN -> SYN_RECV" "$T/w2" && fail "--state filter let LISTEN -> SYN_RECV through"
note "colour and state filter: ok"

# JSON lines.
watch_bg "$T/w3" --port 7 --count 4 --json
echo_once
wait_exit "$WPID" 10 || fail "watch --json did not end"
python3 - "$T/w3" <<'PY' || fail "watch --json: $(cat "$T/w3")"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 4, rows
assert [(r["from"], r["to"]) for r in rows[:2]] == [("LISTEN", "SYN_RECV"), ("SYN_RECV", "ESTABLISHED")], rows
assert all(r["host"] == "stack" and r["local"] == "198.18.0.1:7" and r["event"] == "state" for r in rows), rows
assert len({r["conn"] for r in rows}) == 1, rows
PY
note "json: ok"

# --timeout with nothing happening ends with status 0.
"$TCPLAB" --pid "$PID" watch --port 9999 --timeout 1 >"$T/w4" 2>/dev/null || fail "watch --timeout: non-zero exit"
[ ! -s "$T/w4" ] || fail "watch --port 9999 printed something: $(cat "$T/w4")"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: client watch"
