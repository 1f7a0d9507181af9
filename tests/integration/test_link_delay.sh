#!/bin/bash
# Integration: link delay measured through the daemon. `delay = 50ms` on
# both directions gives ping RTTs with a median within 10% of 100 ms over
# 200 pings, and none shorter than 100 ms (a frame never leaves early).
. "$(dirname "$0")/lib.sh"
require ping
setup ldelay
NS=$(new_ns ldelay)
MAC=02:74:6c:00:00:01

link_lab "$T/lab" "$NS" 'delay = 50ms'
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
ip -n "$NS" neigh replace 198.18.0.1 lladdr "$MAC" dev tl0 nud permanent ||
	fail "cannot set the neighbour entry"
# Warm up: the stack resolves the kernel's MAC (one delayed ARP exchange).
ip netns exec "$NS" ping -c 1 -W 2 198.18.0.1 >/dev/null || fail "first ping got no reply"

out=$(ip netns exec "$NS" timeout 60 ping -n -c 200 -i 0.02 -W 2 198.18.0.1 2>&1)
echo "$out" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p' | sort -n >"$T/rtt"
n=$(wc -l <"$T/rtt")
[ "$n" -ge 195 ] || fail "only $n of 200 replies: $(echo "$out" | tail -n 3)"
median=$(sed -n "$(((n + 1) / 2))p" "$T/rtt")
min=$(head -n 1 "$T/rtt")
max=$(tail -n 1 "$T/rtt")
note "RTT over $n pings: min $min, median $median, max $max ms"
awk -v m="$median" 'BEGIN { exit !(m >= 90 && m <= 110) }' ||
	fail "median RTT $median ms, expected 100 ms +- 10%"
awk -v m="$min" 'BEGIN { exit !(m >= 100) }' || fail "an RTT of $min ms is below 2 x 50 ms"

stop_daemon "$DPID"
assert_nothing_left
echo "PASS"
