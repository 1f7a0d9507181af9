#!/bin/bash
# Integration: a link with two stack hosts and no device at all (frames
# go stack to stack inside the daemon, 20 ms each way). A connection from
# the client stack to the server stack's HTTP service, opened through the
# control socket: both ends are ESTABLISHED in the FUSE view, the
# handshake took one round trip of the link (>= 40 ms), and the link's
# capture holds the ARP exchange and the three-way handshake in order.
. "$(dirname "$0")/lib.sh"
require tcpdump
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup s2s

cat >"$T/lab" <<LAB
[link s2s]
delay = 20ms
seed = 1
capture = $T/s2s.pcap

[host server]
kind = stack
link = s2s
address = 198.18.0.1/24

[host client]
kind = stack
link = s2s
address = 198.18.0.2/24
LAB
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
grep -q "ready .*server 198.18.0.1, client 198.18.0.2" "$T/main.log" ||
	fail "ready line: $(grep ready "$T/main.log")"

t0=$(date +%s%N)
out=$("$TCPLAB" --pid "$DPID" --color never connect -H client --wait=ESTABLISHED 198.18.0.1 80 2>&1) ||
	fail "connect: $out"
t1=$(date +%s%N)
note "$out; $(((t1 - t0) / 1000000)) ms"
[ $(((t1 - t0) / 1000000)) -ge 40 ] || fail "established in $(((t1 - t0) / 1000000)) ms: the 20 ms each way did not apply"
M=$T/mnt/hosts
# the client's ACK is still 20 ms away from the server: poll (bounded)
for _ in $(seq 100); do
	grep -q "ESTAB .*198.18.0.1:80 .*198.18.0.2:" "$M/server/net/connections" && break
	sleep 0.02
done
grep -q "ESTAB .*198.18.0.1:80 .*198.18.0.2:" "$M/server/net/connections" ||
	fail "server side: $(cat "$M/server/net/connections")"
grep -q "ESTAB .*198.18.0.2:[0-9]* .*198.18.0.1:80 " "$M/client/net/connections" ||
	fail "client side: $(cat "$M/client/net/connections")"

stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
flags=$(tcpdump -nr "$T/s2s.pcap" 2>/dev/null | sed -n 's/.*\(ARP, [A-Za-z]*\).*/\1/p; s/.*Flags \[\([^]]*\)\].*/\1/p' | head -5 | xargs)
[ "$flags" = "ARP, Request ARP, Reply S S. ." ] || fail "capture: '$flags'"
assert_nothing_left
echo "PASS"
