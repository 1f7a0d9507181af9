#!/bin/bash
# Integration: ECN (RFC 3168) between the stack and the kernel. The link
# loses 2% in each direction but, like netem's `ecn`, marks ECN-capable
# frames CE instead. The kernel in the peer namespace runs tcp_ecn=1, so
# its connections to the stack negotiate ECN:
#   - 4 MiB from the kernel to discard (9): the kernel's data arrives CE;
#     the stack echoes ECE until the kernel's CWR, and the kernel counts
#     the echoes (TcpExt TCPDeliveredCE);
#   - 4 MiB of chargen (19) to the kernel: the stack's data arrives CE; the
#     kernel echoes, and the stack counts (its net/netstat TCPDeliveredCE);
# the link marked frames both ways, and the transfers are complete.
. "$(dirname "$0")/lib.sh"
require nc
setup tecn
NS=$(new_ns tecn)

link_lab "$T/lab" "$NS" 'loss = 2%\necn = 1\nseed = 11'
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
ip netns exec "$NS" sysctl -qw net.ipv4.tcp_ecn=1 || fail "tcp_ecn in $NS"

# tcpext FILE NAME: the TcpExt value NAME in a /proc/net/netstat-format file
tcpext() {
	awk -v k="$2" '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) n[$i] = i; h = 1 } else print $n[k] }' "$1"
}
M=$T/mnt
n=$(head -c 4M /dev/zero | ip netns exec "$NS" timeout 60 nc -N 198.18.0.1 9 | wc -c)
[ "$n" = 0 ] || fail "discard answered $n bytes"
k_ce=$(ip netns exec "$NS" cat /proc/net/netstat | tcpext /dev/stdin TCPDeliveredCE)
note "kernel: TcpExt TCPDeliveredCE=$k_ce (its segments ACKed with ECE by the stack)"
[ "${k_ce:-0}" -gt 0 ] || fail "the stack echoed no CE to the kernel"

n=$(ip netns exec "$NS" timeout 60 sh -c 'nc 198.18.0.1 19 </dev/null | head -c 4194304' | wc -c)
[ "$n" = 4194304 ] || fail "chargen: $n of 4194304 bytes"
s_ce=$(tcpext "$M/hosts/stack/net/netstat" TCPDeliveredCE)
note "stack: TcpExt TCPDeliveredCE=$s_ce (its segments ACKed with ECE by the kernel)"
[ "${s_ce:-0}" -gt 0 ] || fail "the kernel echoed no CE to the stack"

for d in to_stack to_kernel; do
	ce=$(awk '$1 == "marked_ce" { print $2 }' "$M/links/l0/$d.counters")
	note "$d: marked_ce=$ce"
	[ "${ce:-0}" -gt 0 ] || fail "$d marked nothing: $(cat "$M/links/l0/$d.counters")"
done
stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
assert_nothing_left
echo "PASS"
