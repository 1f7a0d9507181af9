#!/bin/bash
# Integration: the daemon as an IPv4 router between three links. On `lan`
# a namespace; on `wan` a stack host and another namespace (three ports:
# the switch too); on `small` (MTU 1400) a third namespace. Every host uses
# the router as its gateway. Kernel-to-kernel and kernel-to-stack traffic
# cross the router: pings come back with TTL 63 (one hop), 16 MiB reach
# the other namespace and the stack's echo intact; TTL 1 gets "time to
# live exceeded" from the router, an unknown network "net unreachable",
# and a DF datagram too big for `small` "frag needed" with MTU 1400. The
# view's routers/r1/ shows routes and counters, and its pmtu_black_hole
# turns the "frag needed" off and on.
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

# The view: routers/r1/ with its routes as `ip route` prints them, its
# counters, and pmtu_black_hole, which silences "frag needed" at once.
R=$T/mnt/routers/r1
[ "$(ls "$T/mnt/routers")" = r1 ] || fail "routers/: $(ls "$T/mnt/routers")"
grep -qx "198.18.2.0/24 dev small proto kernel scope link src 198.18.2.254" "$R/routes" ||
	fail "routers/r1/routes: $(cat "$R/routes")"
[ "$(wc -l <"$R/routes")" = 3 ] || fail "routers/r1/routes: $(cat "$R/routes")"
fw=$(awk '$1 == "Ip.ForwDatagrams" { print $2 }' "$R/counters")
[ "${fw:-0}" -ge 12 ] || fail "routers/r1/counters: ForwDatagrams ${fw:-none} after 12 routed pings"
grep -q "^Icmp.OutDestUnreachs [1-9]" "$R/counters" || fail "routers/r1/counters: $(cat "$R/counters")"
[ "$(cat "$R/pmtu_black_hole")" = 0 ] || fail "pmtu_black_hole: $(cat "$R/pmtu_black_hole")"
echo 1 >"$R/pmtu_black_hole" || fail "cannot write routers/r1/pmtu_black_hole"
out=$(ip netns exec "$NSA" ping -c 1 -W 1 -M do -s 1472 198.18.2.2 2>&1)
echo "$out" | grep -qi "Frag needed" && fail "the black hole still answered: $out"
echo 2 >"$R/pmtu_black_hole" 2>/dev/null && fail "pmtu_black_hole took 2"
[ "$(cat "$R/pmtu_black_hole")" = 1 ] || fail "a refused write changed pmtu_black_hole"
echo 0 >"$R/pmtu_black_hole" || fail "cannot write routers/r1/pmtu_black_hole"
ip -n "$NSA" route flush cache
out=$(ip netns exec "$NSA" ping -c 1 -W 2 -M do -s 1472 198.18.2.2 2>&1)
echo "$out" | grep -qi "Frag needed.*mtu = 1400" || fail "frag needed after the black hole was off: $out"

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
