#!/bin/bash
# Integration: link loss measured through the daemon. With `to_stack.loss =
# 10%` (kernel -> stack), 10 +- 2% of 5000 pings are lost, the reverse
# direction loses nothing, and the daemon's link counters agree with ping.
. "$(dirname "$0")/lib.sh"
require ping
setup lloss
NS=$(new_ns lloss)
MAC=02:74:6c:00:00:01

link_lab "$T/lab" "$NS" 'to_stack.loss = 10%\nseed = 1001'
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
grep -q "link l0: to_stack loss=10%; to_kernel none" "$T/main.log" ||
	fail "no knob line for link l0: $(grep 'link l0' "$T/main.log")"
grep -q "to_stack seed 1001, to_kernel seed 1002" "$T/main.log" || fail "no seed line"
# No ARP on the lossy path while we count: a permanent neighbour entry.
ip -n "$NS" neigh replace 198.18.0.1 lladdr "$MAC" dev tl0 nud permanent ||
	fail "cannot set the neighbour entry"

# -W bounds the wait for each reply; -w would make ping wait for 5000
# replies. 5000 x 2 ms = 10 s.
out=$(ip netns exec "$NS" timeout 60 ping -q -n -c 5000 -i 0.002 -W 1 198.18.0.1 2>&1)
rx=$(echo "$out" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
[ -n "$rx" ] || fail "no ping summary: $out"
lost=$((5000 - rx))
note "ping: $rx of 5000 received, $lost lost"
[ "$lost" -ge 400 ] && [ "$lost" -le 600 ] || fail "lost $lost of 5000 pings, expected 400..600 (10 +- 2%)"

stop_daemon "$DPID"
ts=$(grep "link l0 to_stack: input=" "$T/main.log" | tail -n 1)
tk=$(grep "link l0 to_kernel: " "$T/main.log" | tail -n 1)
note "$ts"
dl=$(echo "$ts" | sed -n 's/.* dropped_loss=\([0-9]*\).*/\1/p')
# Every lost ping is a to_stack drop; the stack's one ARP exchange (its
# reply comes over the lossy direction) may add a drop or a lost ping.
[ -n "$dl" ] && [ $((dl - lost)) -ge -2 ] && [ $((dl - lost)) -le 3 ] ||
	fail "link counted dropped_loss=$dl, ping lost $lost"
[ -z "$tk" ] || echo "$tk" | grep -q " dropped_loss=0 " || fail "to_kernel lost frames: $tk"
assert_nothing_left
echo "PASS"
