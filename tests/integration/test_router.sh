#!/bin/bash
# Integration: the daemon as an IPv4 router between three links. On `lan`
# a namespace; on `wan` a stack host and another namespace (three ports:
# the switch too); on `small` (MTU 1400) a third namespace. Every host uses
# the router as its gateway. Kernel-to-kernel and kernel-to-stack traffic
# cross the router: pings come back with TTL 63 (one hop), 16 MiB reach
# the other namespace and the stack's echo intact; TTL 1 gets "time to
# live exceeded" from the router, an unknown network "net unreachable",
# and a DF datagram too big for `small` "frag needed" with MTU 1400.
. "$(dirname "$0")/lib.sh"
require nc sha256sum ss
setup router
NSA=$(new_ns rta)
NSB=$(new_ns rtb)
NSC=$(new_ns rtc)

cat >"$T/lab" <<LAB
[link lan]
[link wan]
[link small]
mtu = 1400

[host a]
kind = kernel
link = lan
netns = $NSA
address = 198.18.0.2/24
gateway = 198.18.0.254

[host srv]
kind = stack
link = wan
address = 198.18.1.1/24
gateway = 198.18.1.254

[host b]
kind = kernel
link = wan
netns = $NSB
address = 198.18.1.2/24
gateway = 198.18.1.254

[host c]
kind = kernel
link = small
netns = $NSC
address = 198.18.2.2/24
gateway = 198.18.2.254

[router r1]
interface = lan 198.18.0.254/24
interface = wan 198.18.1.254/24
interface = small 198.18.2.254/24
LAB
start_daemon main "$T/lab" || fail "tcplabd did not become ready"

# ping_ttl NS ADDR TTL: 3 replies, each with that TTL
ping_ttl() {
	local out
	out=$(ip netns exec "$1" ping -c 3 -W 1 -i 0.2 "$2" 2>&1)
	echo "$out" | grep -q " 3 received" || fail "ping $2 from $1: $out"
	[ "$(echo "$out" | grep -c "ttl=$3 ")" = 3 ] || fail "ping $2 from $1: expected ttl=$3: $out"
}
ping_ttl "$NSA" 198.18.0.254 64 # the router itself
ping_ttl "$NSA" 198.18.1.254 64 # its other address
ping_ttl "$NSA" 198.18.1.1 63   # the stack host, one hop away
ping_ttl "$NSA" 198.18.1.2 63   # kernel to kernel
ping_ttl "$NSC" 198.18.0.2 63
ping_ttl "$NSB" 198.18.1.1 64   # same segment: switched, not routed

out=$(ip netns exec "$NSA" ping -c 1 -W 2 -t 1 198.18.1.2 2>&1)
echo "$out" | grep -q "From 198.18.0.254 .*Time to live exceeded" || fail "TTL 1: $out"
out=$(ip netns exec "$NSA" ping -c 1 -W 2 198.19.9.9 2>&1)
echo "$out" | grep -q "From 198.18.0.254 .*Destination Net Unreachable" || fail "no route: $out"
out=$(ip netns exec "$NSA" ping -c 1 -W 2 -M do -s 1472 198.18.2.2 2>&1)
echo "$out" | grep -qi "From 198.18.0.254 .*Frag needed.*mtu = 1400" || fail "DF too big: $out"
ping_ttl "$NSA" 198.18.2.2 63 # small pings still pass

head -c 16M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
got=$(ip netns exec "$NSA" timeout 60 nc -N 198.18.1.1 7 <"$T/data" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "a -> srv echo through the router: sha256 $got, sent $want"

ip netns exec "$NSB" timeout 60 nc -l -N 198.18.1.2 5001 >"$T/recv" &
lpid=$!
PIDS+=("$lpid")
for _ in $(seq 100); do
	ip netns exec "$NSB" ss -ltn | grep -q ':5001 ' && break
	sleep 0.05
done
ip netns exec "$NSC" timeout 60 nc -N 198.18.1.2 5001 <"$T/data" || fail "c -> b: nc failed"
wait_exit "$lpid" 30
got=$(sha256sum <"$T/recv" | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "c -> b through the router (MTU 1400 on c's side): sha256 $got, sent $want"

stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
rm -f "$T/data" "$T/recv"
assert_nothing_left
echo "PASS"
