#!/bin/bash
# Integration: every way to attach a kernel host, on one switched segment
# with a stack host:
#   a     TAP in a namespace tcplabd creates (the usual way)
#   raw   bare: a TAP with no address; raw frames from it reach a
#   vp    AF_PACKET on the root end of a veth pair whose other end is in
#         a namespace the test made (an `ip netns`/containerlab-style lab)
#   j     TAP in an existing namespace, by name (join_netns)
#   p     TAP in a process's namespace (netns_pid; unshare -n sleep)
# Each addressed host reaches the stack; 16 MiB cross the AF_PACKET port
# intact; after the daemon stops, the joined namespace and the process's
# namespace are still there, without our interfaces.
. "$(dirname "$0")/lib.sh"
require nc sha256sum unshare nsenter
[ -x "${TL_BULK:-}" ] || fail "TL_BULK is not set (run through meson test)"
setup attach
NSA=$(new_ns ata)
NSR=$(new_ns atr)
NSP=$(new_ns atp)   # behind the veth: made by the test, not the lab
NSJ=$(new_ns atj)   # joined: made by the test
VETH=tlvp$$
VPEER=tlvq$$

ip netns add "$NSP" || fail "ip netns add $NSP"
ip netns add "$NSJ" || fail "ip netns add $NSJ"
ip link add "$VETH" type veth peer name "$VPEER" || fail "ip link add veth"
ip link set "$VPEER" netns "$NSP"
ip -n "$NSP" addr add 198.18.0.5/24 dev "$VPEER"
ip -n "$NSP" link set "$VPEER" up
ip -n "$NSP" link set lo up
unshare -n sleep 600 &
SLEEPER=$!
PIDS+=("$SLEEPER")
for _ in $(seq 100); do # until the child has unshared (bounded)
	[ "$(readlink /proc/$SLEEPER/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break
	sleep 0.05
done
PIDNS=$(readlink /proc/$SLEEPER/ns/net)

cat >"$T/lab" <<LAB
[link seg]

[host srv]
kind = stack
link = seg
address = 198.18.0.1/24

[host a]
kind = kernel
link = seg
netns = $NSA
address = 198.18.0.2/24

[host raw]
kind = kernel
link = seg
attach = bare
netns = $NSR

[host vp]
kind = kernel
link = seg
attach = packet
interface = $VETH
address = 198.18.0.5/24

[host j]
kind = kernel
link = seg
join_netns = $NSJ
interface = tl1
address = 198.18.0.6/24

[host p]
kind = kernel
link = seg
netns_pid = $SLEEPER
interface = tl2
address = 198.18.0.7/24
LAB
start_daemon main "$T/lab" || fail "tcplabd did not become ready"

# rx_of NS IFACE: frames IFACE received so far
rx_of() { ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"; }
# wait_rx NS IFACE FROM N: until IFACE received N frames since FROM; the
# daemon forwards them asynchronously (bounded)
wait_rx() {
	local now
	for _ in $(seq 100); do
		now=$(rx_of "$1" "$2")
		[ $((now - $3)) -ge "$4" ] && return 0
		sleep 0.05
	done
	fail "$2 in $1 received $((now - $3)) of $4 frames"
}

# bare: up, no IPv4 address, and its raw frames cross the switch to a
ip -n "$NSR" -4 addr show dev tl0 | grep -q inet && fail "the bare TAP got an address"
ip -n "$NSR" link show tl0 | grep -q ",UP" || fail "the bare TAP is not up"
MACA=$(ip -n "$NSA" -br link show tl0 | awk '{print $3}')
rx0=$(rx_of "$NSA" tl0)
ip netns exec "$NSR" "$TL_BULK" blast tl0 "$MACA" 1000 >/dev/null || fail "raw frames from the bare host"
wait_rx "$NSA" tl0 "$rx0" 1000

# the packet port in bursts, both ways (its receive ring, its batched
# sends): raw frames from behind the veth reach a, and raw frames from the
# bare host reach the veth's far end, none lost
MACVQ=$(ip -n "$NSP" -br link show "$VPEER" | awk '{print $3}')
rx0=$(rx_of "$NSA" tl0)
ip netns exec "$NSP" "$TL_BULK" blast "$VPEER" "$MACA" 3000 >/dev/null || fail "raw frames from behind the veth"
wait_rx "$NSA" tl0 "$rx0" 3000
rx0=$(rx_of "$NSP" "$VPEER")
ip netns exec "$NSR" "$TL_BULK" blast tl0 "$MACVQ" 1000 >/dev/null || fail "raw frames to the veth"
wait_rx "$NSP" "$VPEER" "$rx0" 1000

# every addressed host reaches the stack host
ping_ok "$NSA" 198.18.0.1
ping_ok "$NSP" 198.18.0.1
ping_ok "$NSJ" 198.18.0.1
out=$(nsenter -t "$SLEEPER" -n ping -c 3 -W 1 -i 0.2 198.18.0.1 2>&1)
echo "$out" | grep -q " 3 received" || fail "ping from the process's namespace: $out"
ping_ok "$NSP" 198.18.0.2 # veth -> AF_PACKET -> switch -> TAP

# 16 MiB through the AF_PACKET port (TSO superframes with PACKET_VNET_HDR)
head -c 16M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
got=$(ip netns exec "$NSP" timeout 60 nc -N 198.18.0.1 7 <"$T/data" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "echo over the AF_PACKET port: sha256 $got, sent $want"

stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
# joined and process namespaces stay, without the TAPs we made in them
ip netns list | awk '{print $1}' | grep -qx "$NSJ" || fail "the joined namespace $NSJ was deleted"
ip -n "$NSJ" link show tl1 >/dev/null 2>&1 && fail "tl1 left in the joined namespace"
ls /run/netns | grep -qx "tl-pid$SLEEPER" && fail "the name for the process's namespace was left"
kill -0 "$SLEEPER" || fail "the process whose namespace we joined died"
[ "$(readlink /proc/$SLEEPER/ns/net)" = "$PIDNS" ] || fail "the process changed namespace"
nsenter -t "$SLEEPER" -n ip link show tl2 >/dev/null 2>&1 && fail "tl2 left in the process's namespace"
ip link show "$VETH" >/dev/null 2>&1 || fail "the veth end we attached to was deleted"

kill "$SLEEPER"
wait_exit "$SLEEPER" 10
ip link del "$VETH" # synchronous; deleting the namespace would free it later
ip netns delete "$NSP"
ip netns delete "$NSJ"
rm -f "$T/data"
assert_nothing_left
echo "PASS"
