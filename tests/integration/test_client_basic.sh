#!/bin/bash
# Integration: the client's lab-wide commands against a live daemon, and
# its messages when something is wrong.
#  - status (text and --json) lists the daemon; --pid of no daemon and a
#    dead --socket exit 3 and say how to start one;
#  - ss lists the built-in services' listeners, filters by state and port,
#    --json is valid JSON;
#  - get/set: sysctl-like output, a change reaches the FUSE file, tcplabd's
#    log and the history (via client); a value Linux refuses exits 1 with
#    the rule, and the value is kept;
#  - a non-root user is refused with the reason (0600 socket of root);
#  - capture start/stop writes a pcap tcpdump reads;
#  - --help of every subcommand.
. "$(dirname "$0")/lib.sh"
require python3 setpriv tcpdump
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup clibasic
NS=$(new_ns cbas)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
tl() { "$TCPLAB" --pid "$PID" "$@"; }
IPV4="$T/mnt/hosts/stack/sys/net/ipv4"

# status
tl status >"$T/status" || fail "tcplab status failed"
grep -q "pid $PID, lab=$T/lab" "$T/status" || fail "status does not list the daemon: $(cat "$T/status")"
grep -q "control socket: /run/tcplabd/control.$PID.sock" "$T/status" || fail "status lacks the control socket"
tl status --json | python3 -c "
import json, sys
d = [x for x in json.load(sys.stdin) if x['pid'] == $PID]
assert d and d[0]['mount'] == '$T/mnt' and '$NS' in d[0]['namespaces'], d
" || fail "status --json does not describe the daemon"
note "status: ok"

# Not running / not answering: exit 3 and how to start it.
"$TCPLAB" --pid 999999 ss >"$T/out" 2>&1
[ $? -eq 3 ] || fail "--pid of no daemon: expected exit 3"
grep -q "no tcplabd with pid 999999" "$T/out" || fail "unhelpful message: $(cat "$T/out")"
"$TCPLAB" --socket "$T/nothing.sock" ss >"$T/out" 2>&1
[ $? -eq 3 ] || fail "a dead socket: expected exit 3"
grep -q "sudo tcplab up" "$T/out" || fail "no hint how to start tcplabd: $(cat "$T/out")"
note "not running: exit 3 with a hint"

# ss
tl ss >"$T/ss" || fail "tcplab ss failed"
for p in 7 9 19 80 8001 8002; do
	grep -qE "^LISTEN +0 +4096 +198\.18\.0\.1:$p +0\.0\.0\.0:\*" "$T/ss" || fail "ss lacks the listener on $p: $(cat "$T/ss")"
done
head -1 "$T/ss" | grep -q "^State  *Recv-Q  *Send-Q  *Local Address:Port  *Peer Address:Port  *Conn" ||
	fail "ss header: $(head -1 "$T/ss")"
[ "$(tl ss state listening --port 80 | tail -n +2 | wc -l)" = 1 ] || fail "ss state listening --port 80: not one row"
[ "$(tl ss -s time-wait | tail -n +2 | wc -l)" = 0 ] || fail "ss -s time-wait: rows without any TIME_WAIT"
tl ss --json -l | python3 -c "
import json, sys
rows = json.load(sys.stdin)
assert sorted(r['local'] for r in rows) == sorted('198.18.0.1:%d' % p for p in (7, 9, 19, 80, 8001, 8002)), rows
assert all(r['state'] == 'LISTEN' and r['send_q'] == 4096 for r in rows), rows
" || fail "ss --json"
tl ss state bogus >/dev/null 2>&1
[ $? -eq 2 ] || fail "ss state bogus: expected usage error 2"
note "ss: ok"

# get / set
[ "$(tl get tcp_syncookies)" = "net.ipv4.tcp_syncookies = 1" ] || fail "get tcp_syncookies: $(tl get tcp_syncookies)"
[ "$(tl get -n net.ipv4.tcp_synack_retries)" = 5 ] || fail "get -n tcp_synack_retries"
[ "$(tl get --json tcplab.msl_ms | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["value"])')" = 30000 ] ||
	fail "get --json tcplab.msl_ms"
tl get | grep -q "^net.core.somaxconn = 4096$" || fail "get (all) lacks net.core.somaxconn"
out=$(tl set tcp_synack_retries 2) || fail "set tcp_synack_retries 2 failed"
[ "$out" = "net.ipv4.tcp_synack_retries = 2  (was 5)" ] || fail "set output: $out"
[ "$(cat "$IPV4/tcp_synack_retries")" = 2 ] || fail "the FUSE file does not show the new value"
grep -q "stack: sys/net/ipv4/tcp_synack_retries: 5 -> 2 (control client" "$T/main.log" || fail "no log line for the change"
tl set tcp_rmem 8192 65536 1048576 >/dev/null || fail "set a vector"
[ "$(cat "$IPV4/tcp_rmem")" = "$(printf '8192\t65536\t1048576')" ] || fail "tcp_rmem: $(cat "$IPV4/tcp_rmem")"
tl set tcp_synack_retries 256 >"$T/out" 2>&1
[ $? -eq 1 ] || fail "set 256 on a u8: expected exit 1"
grep -q "value must be an integer in 0..255; value kept: 2" "$T/out" || fail "refusal message: $(cat "$T/out")"
[ "$(cat "$IPV4/tcp_synack_retries")" = 2 ] || fail "a refused value changed the tunable"
grep -q 'refused "256\\n": value must be an integer in 0..255' "$T/main.log" || fail "no log line for the refusal"
tl set no_such_knob 1 >/dev/null 2>&1 && fail "set of an unknown tunable succeeded"
tl set --json tcplab.msl_ms=1500 | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert d == {'host': 'stack', 'name': 'tcplab.msl_ms', 'old': 30000, 'new': 1500}, d
" || fail "set --json NAME=VALUE"
# The history records changes made through the client.
rows=""
for _ in $(seq 1 50); do
	rows=$("$TCPLAB" sql --db "$T/history.db" --csv \
		"SELECT name, old_value, new_value, via FROM tunable_changes WHERE via = 'client' ORDER BY id")
	echo "$rows" | grep -q msl_ms && break
	sleep 0.1 # the recorder commits every 100 ms
done
echo "$rows" | grep -q "^net.ipv4.tcp_synack_retries,5,2,client" || fail "history lacks the change: $rows"
echo "$rows" | grep -q "^tcplab.msl_ms,30000,1500,client" || fail "history lacks msl_ms: $rows"
note "get/set: ok"

# A user who may not use the socket is told why.
cp "$TCPLAB" "$T/tcplab"
chmod 755 "$T/tcplab"
setpriv --reuid=65534 --regid=65534 --clear-groups "$T/tcplab" --pid "$PID" ss >"$T/out" 2>&1
[ $? -eq 1 ] || fail "non-root ss: expected exit 1"
grep -q "permission denied on /run/tcplabd/control.$PID.sock: the control socket is mode 0600" "$T/out" ||
	fail "non-root message: $(cat "$T/out")"
setpriv --reuid=65534 --regid=65534 --clear-groups "$T/tcplab" status >/dev/null ||
	fail "status should work without privileges"
note "permission denied: explained"

# capture
tl capture --list | grep -q "^l0 " || fail "capture --list lacks l0"
tl capture l0 start "$T/cap.pcap" >/dev/null || fail "capture start"
ping_ok "$NS" 198.18.0.1
tl capture stop | grep -q "link l0: capture stopped" || fail "capture stop"
n=$(tcpdump -nr "$T/cap.pcap" icmp 2>/dev/null | wc -l)
[ "$n" -ge 6 ] || fail "the capture holds $n ICMP packets, want 6"
note "capture: $n ICMP packets in the pcap"

# --help everywhere, usage errors exit 2.
for sub in status up down ss get set listen connect accept send recv shutdown close abort \
	handles watch flood capture tour diagram states sql history; do
	"$TCPLAB" "$sub" --help >"$T/help" 2>&1 || fail "tcplab $sub --help failed"
	grep -q "^Usage: tcplab $sub" "$T/help" || fail "tcplab $sub --help: $(head -2 "$T/help")"
done
"$TCPLAB" frobnicate >/dev/null 2>&1
[ $? -eq 2 ] || fail "unknown command: expected exit 2"
"$TCPLAB" --help | grep -q "tour" || fail "tcplab --help lacks the tour"
note "--help: ok"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: client basics"
