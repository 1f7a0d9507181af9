#!/bin/bash
# Integration: path MTU discovery against the kernel. The stack host srv
# and the namespace k are 1500-byte links apart, but the link between
# their two routers has MTU 1280, so full-sized segments from either side
# cannot cross it.
#   1. The routers answer "frag needed, mtu 1280": 8 MiB go from k to
#      srv's echo and back; the kernel lowers its path MTU, the stack its
#      MSS to 1240 and resends at once (RFC 1191; without it this echo
#      stalls until tcp_retries2). The bytes arrive intact, the stack
#      counted the ICMP errors, its connection's mss file showed 1240.
#   2. The routers are a black hole (pmtu_black_hole = on: no ICMP): with
#      tcp_mtu_probing=1 on both sides, each detects the black hole after
#      tcp_retries1's worth of retransmissions and drops to tcp_base_mss
#      (1024): 1 MiB through the echo and 1 MiB of chargen still cross
#      intact, and the stack's mss file shows 1024.
. "$(dirname "$0")/lib.sh"
require nc sha256sum
setup pmtu
NSK=$(new_ns pmk)

# pmtu_lab FILE on|off
pmtu_lab() {
	cat >"$1" <<LAB
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
pmtu_black_hole = $2

[router r2]
interface = narrow 198.18.1.2/24
interface = far 198.18.2.254/24
route = 198.18.0.0/24 via 198.18.1.1
pmtu_black_hole = $2

[host k]
kind = kernel
link = far
netns = $NSK
address = 198.18.2.2/24
gateway = 198.18.2.254
LAB
}

S=$T/mnt/hosts/srv
# watch_mss PID WANT: while PID runs (bounded), until one of the stack's
# established connections shows mss WANT; fails if none did.
watch_mss() {
	local m="" d
	for _ in $(seq 1200); do
		for d in "$S"/conns/*/; do
			[ "$(cat "$d/state" 2>/dev/null)" = ESTABLISHED ] || continue
			m=$(cat "$d/mss" 2>/dev/null)
			[ "$m" = "$2" ] && return 0
		done
		kill -0 "$1" 2>/dev/null || break
		sleep 0.05
	done
	fail "the stack's connection never showed mss $2 (last seen: ${m:-none})"
}

# echo_through SIZE [WANT_MSS]: SIZE bytes from k through srv's echo and
# back, intact; the connection is held open 3 s after the data, so that
# the stack's side can be looked at.
echo_through() {
	local size=$1 want got cpid
	head -c "$size" /dev/urandom >"$T/data"
	want=$(sha256sum <"$T/data" | cut -d' ' -f1)
	{ cat "$T/data"; sleep 3; } | ip netns exec "$NSK" timeout 60 nc -N 198.18.0.1 7 >"$T/got" &
	cpid=$!
	PIDS+=("$cpid")
	[ -n "${2:-}" ] && watch_mss "$cpid" "$2"
	wait_exit "$cpid" 70 || fail "the echo of $size bytes through the narrow link did not finish"
	got=$(sha256sum <"$T/got" | cut -d' ' -f1)
	[ "$got" = "$want" ] || fail "echo of $size bytes through the narrow link: sha256 $got, sent $want"
	rm -f "$T/data" "$T/got"
}

# 1. ICMP comes back
pmtu_lab "$T/lab" off
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
ping_ok "$NSK" 198.18.0.1
out=$(ip netns exec "$NSK" ping -c 1 -W 2 -M do -s 1472 198.18.0.1 2>&1)
echo "$out" | grep -qi "Frag needed.*mtu = 1280" || fail "the narrow link does not answer DF datagrams: $out"
ip -n "$NSK" route flush cache
echo_through 8M 1240
unreach=$(awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n["InDestUnreachs"] }' "$S/net/snmp")
note "stack: Icmp InDestUnreachs=$unreach"
[ "${unreach:-0}" -ge 1 ] || fail "the stack counted no ICMP destination unreachable: $(cat "$S/net/snmp")"
stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"

# 2. a black hole: no ICMP, only black-hole detection gets through
pmtu_lab "$T/lab2" on
start_daemon hole "$T/lab2" || fail "tcplabd did not become ready (black hole)"
ip netns exec "$NSK" sysctl -qw net.ipv4.tcp_mtu_probing=1 || fail "tcp_mtu_probing in $NSK"
echo 1 >"$S/sys/net/ipv4/tcp_mtu_probing" || fail "cannot set tcp_mtu_probing on srv"
out=$(ip netns exec "$NSK" ping -c 1 -W 2 -M do -s 1472 198.18.0.1 2>&1)
echo "$out" | grep -qi "Frag needed" && fail "the black hole answered: $out"
echo_through 1M # the kernel's segments: its own black-hole detection
# The stack's full segments: 1 MiB of chargen (19) to k, then the reader
# pauses 3 s (the window fills, the connection stays to be looked at).
ip netns exec "$NSK" timeout 60 sh -c 'nc 198.18.0.1 19 </dev/null | { head -c 1048576; sleep 3; }' >"$T/got" &
cpid=$!
PIDS+=("$cpid")
watch_mss "$cpid" 1024
wait_exit "$cpid" 70
[ "$(wc -c <"$T/got")" = 1048576 ] || fail "chargen through the black hole: $(wc -c <"$T/got") of 1048576 bytes"
head -c 72 "$T/got" | grep -q '^[ -~]*$' || fail "chargen through the black hole: not chargen's text"
rm -f "$T/got"
unreach=$(awk '/^Icmp:/ { if (!h) { for (i = 1; i <= NF; i++) n[$i] = i; h = 1 } else print $n["InDestUnreachs"] }' "$S/net/snmp")
[ "${unreach:-0}" = 0 ] || fail "ICMP reached the stack through the black hole: InDestUnreachs=$unreach"
stop_daemon "$DPID"
grep -q "error:" "$T/hole.log" && fail "errors logged: $(grep error: "$T/hole.log")"
# The routers dropped the too-big datagrams without a word, and said so at exit.
line=$(grep "router r1: " "$T/hole.log" | tail -n 1)
note "$line"
echo "$line" | grep -q "FragFails=[1-9].* OutDestUnreachs=0 .*(pmtu_black_hole)" ||
	fail "r1's counters at exit: ${line:-none logged}"
assert_nothing_left
echo "PASS"
