#!/bin/bash
# Integration: TCP stays correct through an impaired link. 64 MiB of random
# bytes go through the stack's echo service over a link with 1% loss and
# 10% reordering (2 ms delay, reordered frames skip it) in each direction,
# and come back with the same SHA-256.
. "$(dirname "$0")/lib.sh"
require nc sha256sum
setup ltcp
NS=$(new_ns ltcp)

link_lab "$T/lab" "$NS" 'delay = 2ms\nloss = 1%\nreorder = 10%\nseed = 99'
start_daemon main "$T/lab" || fail "tcplabd did not become ready"

head -c 64M /dev/urandom >"$T/data"
want=$(sha256sum <"$T/data" | cut -d' ' -f1)
t0=$(date +%s)
got=$(ip netns exec "$NS" timeout 150 nc -N 198.18.0.1 7 <"$T/data" | sha256sum | cut -d' ' -f1)
t1=$(date +%s)
rm -f "$T/data"
note "64 MiB echoed in $((t1 - t0)) s"
[ "$got" = "$want" ] || fail "echo returned different bytes: sha256 $got, sent $want"

stop_daemon "$DPID"
for d in to_stack to_kernel; do
	line=$(grep "link l0 $d: input=" "$T/main.log" | tail -n 1)
	note "$line"
	echo "$line" | grep -q " dropped_loss=0 " && fail "$d lost nothing: the test proved nothing"
	echo "$line" | grep -q " reordered=0 " && fail "$d reordered nothing"
done
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
assert_nothing_left
echo "PASS"
