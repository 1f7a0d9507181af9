#!/bin/bash
# Integration: path MTU discovery against the kernel. The stack host srv
# and the namespace k are 1500-byte links apart, but the link between
# their two routers has MTU 1280, so full-sized segments from either side
# are dropped there with ICMP "frag needed, mtu 1280". 8 MiB go from k to
# srv's echo and back: the kernel lowers its path MTU, the stack lowers
# its MSS to 1240 and resends at once (RFC 1191; without it this echo
# would stall until tcp_retries2). The bytes arrive intact, the stack
# counted the ICMP errors, and its connection's mss file showed 1240.
. "$(dirname "$0")/lib.sh"
require nc sha256sum
setup pmtu
NSK=$(new_ns pmk)

cat >"$T/lab" <<LAB
[link near]
[link narrow]
mtu = 1280
[link far]

[host srv]
kind = stack
link = near
address = 198.18.0.1/24
gateway = 198.18.0.254

[router r1]
interface = near 198.18.0.254/24
interface = narrow 198.18.1.1/24
route = 198.18.2.0/24 via 198.18.1.2

[router r2]
interface = narrow 198.18.1.2/24
interface = far 198.18.2.254/24
route = 198.18.0.0/24 via 198.18.1.1

[host k]
kind = kernel
link = far
netns = $NSK
address = 198.18.2.2/24
gateway = 198.18.2.254
LAB
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
ping_ok "$NSK" 198.18.0.1
out=$(ip netns exec "$NSK" ping -c 1 -W 2 -M do -s 1472 198.18.0.1 2>&1)
echo "$out" | grep -qi "Frag needed.*mtu = 1280" || fail "the narrow link does not answer DF datagrams: $out"
ip -n "$NSK" route flush cache

head -c 8M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
# Echo in the background, the connection held open 3 s after the data, so
# that the stack's side can be looked at.
{ cat "$T/data"; sleep 3; } | ip netns exec "$NSK" timeout 60 nc -N 198.18.0.1 7 >"$T/got" &
cpid=$!
PIDS+=("$cpid")
S=$T/mnt/hosts/srv
mss=""
for _ in $(seq 200); do # while the echo runs (bounded)
	for d in "$S"/conns/*/; do
		[ "$(cat "$d/state" 2>/dev/null)" = ESTABLISHED ] && [ -e "$d/mss" ] || continue
		m=$(cat "$d/mss" 2>/dev/null)
		[ "$m" = 1240 ] && mss=$m
	done
	[ -n "$mss" ] && break
	kill -0 "$cpid" 2>/dev/null || break
	sleep 0.05
done
wait_exit "$cpid" 70 || fail "the echo through the narrow link did not finish (exit $?)"
got=$(sha256sum <"$T/got" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "echo through the narrow link: sha256 $got, sent $want"
[ "$mss" = 1240 ] || fail "the stack's connection never showed mss 1240"
unreach=$(awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n["InDestUnreachs"] }' "$S/net/snmp")
note "stack: Icmp InDestUnreachs=$unreach"
[ "${unreach:-0}" -ge 1 ] || fail "the stack counted no ICMP destination unreachable: $(cat "$S/net/snmp")"
stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
rm -f "$T/data" "$T/got"
assert_nothing_left
echo "PASS"
