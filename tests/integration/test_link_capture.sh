#!/bin/bash
# Integration: link capture. With `capture = PATH` in [link l0] the daemon
# writes a pcap of the stack host's frames; tcpdump -r opens it while the
# daemon runs and after it stops, and shows the expected frames: ARP, and
# one echo request and one reply per ping that got through. With 50% loss
# on to_stack the capture (taken at the stack's edge) holds only the
# requests that survived the link, each answered.
. "$(dirname "$0")/lib.sh"
require ping tcpdump
setup lcap
NS=$(new_ns lcap)

cat >"$T/lab" <<LAB
[link l0]
capture = $T/l0.pcap
to_stack.loss = 50%
seed = 5

[host stack]
kind = stack
link = l0
address = 198.18.0.1/24

[host peer]
kind = kernel
link = l0
netns = $NS
interface = tl0
address = 198.18.0.2/24
gateway = 198.18.0.1
LAB

start_daemon main "$T/lab" || fail "tcplabd did not become ready"
grep -q "link l0: capturing stack's frames to $T/l0.pcap" "$T/main.log" || fail "no capture line"
out=$(ip netns exec "$NS" timeout 60 ping -n -c 20 -i 0.05 -W 1 198.18.0.1 2>&1)
rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$rx" ] && [ "$rx" -ge 3 ] && [ "$rx" -le 17 ] || fail "expected about 10 of 20 replies: $out"
note "ping: $rx of 20 received"

# Readable while the capture runs: records are flushed after each batch,
# and the frames of one more ping make a batch that follows every reply.
ip netns exec "$NS" ping -n -c 1 -W 1 198.18.0.1 >/dev/null 2>&1 && rx=$((rx + 1))
live=$(tcpdump -n -r "$T/l0.pcap" icmp 2>/dev/null | grep -c "ICMP echo reply")
[ "$live" -ge $((rx - 1)) ] && [ "$live" -le "$rx" ] ||
	fail "live capture shows $live echo replies, ping got $rx"

stop_daemon "$DPID"
grep -q "capture $T/l0.pcap closed: [1-9][0-9]* frames" "$T/main.log" || fail "no close line"
tcpdump -n -r "$T/l0.pcap" >"$T/dump" 2>"$T/dump.err" || fail "tcpdump -r failed: $(cat "$T/dump.err")"
grep -q "link-type EN10MB" "$T/dump.err" || fail "not an Ethernet capture: $(cat "$T/dump.err")"
req=$(grep -c "198.18.0.2 > 198.18.0.1: ICMP echo request" "$T/dump")
rep=$(grep -c "198.18.0.1 > 198.18.0.2: ICMP echo reply" "$T/dump")
arp=$(grep -c "ARP, " "$T/dump")
note "capture: $req requests, $rep replies, $arp ARP frames"
[ "$rep" = "$rx" ] || fail "capture shows $rep echo replies, ping got $rx"
[ "$req" = "$rep" ] || fail "capture shows $req requests but $rep replies"
[ "$arp" -ge 1 ] || fail "no ARP in the capture"
# Timestamps are wall-clock: the first frame is from today.
first=$(tcpdump -n -tttt -r "$T/l0.pcap" -c 1 2>/dev/null | cut -d' ' -f1)
[ "$first" = "$(date +%Y-%m-%d)" ] || fail "first frame dated $first"
assert_nothing_left
echo "PASS"
