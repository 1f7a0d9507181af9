#!/bin/bash
# Integration: the default lab shape end to end. tcplabd becomes ready,
# the namespace pings the stack host and resolves its MAC, a burst of
# malformed frames is counted and dropped without harm, SIGUSR1 logs the
# counters, SIGTERM exits 0 with the drop counters, and nothing is left.
. "$(dirname "$0")/lib.sh"
require ping arping
setup ping
NS=$(new_ns ping)
MAC=02:74:6c:00:00:01
write_lab "$T/lab" "$NS"

start_daemon main "$T/lab" -v || fail "tcplabd did not become ready"
PID=$DPID
grep -q "info: ready (pid $PID" "$T/main.log" || fail "no ready line"
note "ready: pid $PID, namespace $NS"

if [ -x "${TCPLAB:-}" ]; then
	"$TCPLAB" status | grep -q "pid $PID" || fail "tcplab status does not list pid $PID"
	"$TCPLAB" status | grep -q " $NS" || fail "tcplab status does not list namespace $NS"
fi

ping_ok "$NS" 198.18.0.1
note "ping: 3 replies"

out=$(ip netns exec "$NS" arping -c 1 -w 2 -I tl0 198.18.0.1 2>&1)
echo "$out" | grep -qi "\[$MAC\]" || fail "arping did not show $MAC: $out"
ip -n "$NS" neigh show 198.18.0.1 | grep -q "lladdr $MAC" || fail "neighbour entry lacks $MAC"
note "arping and neighbour table: $MAC"

# 3 of each malformed kind (see tests/tools/tl_rawsend.c).
out=$(ip netns exec "$NS" "$TL_RAWSEND" tl0 "$MAC" 198.18.0.2 198.18.0.1 all 3 2>&1) ||
	fail "tl-rawsend: $out"
note "sent malformed frames: $(echo $out)"

ping_ok "$NS" 198.18.0.1
note "ping still works after the burst"

# SIGUSR1 logs the counters. The loop handles the signal before it answers
# the second echo request sent after it, so the lines are in by then.
kill -USR1 "$PID"
ip netns exec "$NS" ping -c 2 -W 1 -i 0.2 198.18.0.1 >/dev/null || fail "ping after SIGUSR1"
grep -q "stack: snmp: Icmp: InMsgs=" "$T/main.log" || fail "no Icmp counters after SIGUSR1"
grep -q "stack: netstat: TlExt: RxFrames=" "$T/main.log" || fail "no TlExt counters after SIGUSR1"
echo_in=$(grep -o "stack: snmp: Icmp: .*" "$T/main.log" | grep -o " InEchos=[0-9]*" | tail -n 1)
[ "${echo_in#*=}" -ge 6 ] || fail "SIGUSR1 counters show$echo_in, expected at least 6 echo requests"

stop_daemon "$PID"
drops=$(grep "stack: drops:" "$T/main.log") || fail "no drop counter line at shutdown"
note "$drops"
# trunc-ip, bad-ipcsum, bad-ihl, bad-version, bad-totlen: 5 kinds x 3.
for want in Ip.InHdrErrors=15 Icmp.InErrors=3 Icmp.InCsumErrors=3 TlExt.ArpMalformed=3 \
	TlExt.RxNotForUs=3; do
	echo "$drops" | grep -qw -- "$want" || fail "shutdown line lacks $want: $drops"
done
grep -q "info: stopped; lab torn down" "$T/main.log" || fail "no teardown line"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"

if [ -x "${TCPLAB:-}" ]; then
	"$TCPLAB" status | grep -q "pid $PID" && fail "tcplab status still lists pid $PID"
fi
assert_nothing_left
echo "PASS"
