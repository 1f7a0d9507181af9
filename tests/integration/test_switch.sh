#!/bin/bash
# Integration: one segment joins two kernel namespaces and a stack host
# through the daemon's learning switch. Kernel-to-kernel and
# kernel-to-stack traffic both cross it: pings both ways, 32 MiB from one
# namespace to the other and 32 MiB through the stack's echo service, each
# arriving byte for byte (sha256) with TSO superframes on the TAPs. Then
# the same with 2% loss on frames from the kernel hosts: TCP between the
# two namespaces still delivers every byte, and the log shows each
# sender's pipeline dropping frames. In the view, links/seg/from_<host>.*
# show and set each sender's pipeline.
. "$(dirname "$0")/lib.sh"
require nc sha256sum ss
setup switch
NSA=$(new_ns swa)
NSB=$(new_ns swb)

seg_lab() {
	printf '[link seg]\n%b\n' "$2" >"$1"
	cat >>"$1" <<LAB
[host srv]
kind = stack
link = seg
address = 198.18.0.1/24

[host a]
kind = kernel
link = seg
netns = $NSA
address = 198.18.0.2/24

[host b]
kind = kernel
link = seg
netns = $NSB
address = 198.18.0.3/24
LAB
}

# 32 MiB of random bytes, sent a -> b (nc to nc) and to the stack's echo.
DATA=$T/data
head -c 32M /dev/urandom >"$DATA"
WANT=$(sha256sum <"$DATA" | cut -d' ' -f1)

kernel_to_kernel() {
	local got
	ip netns exec "$NSB" timeout 60 nc -l -N 198.18.0.3 5001 >"$T/recv" &
	local lpid=$!
	PIDS+=("$lpid")
	# the listener is up once its socket is: poll it, bounded
	for _ in $(seq 100); do
		ip netns exec "$NSB" ss -ltn | grep -q ':5001 ' && break
		sleep 0.05
	done
	ip netns exec "$NSA" timeout 60 nc -N 198.18.0.3 5001 <"$DATA" ||
		fail "a -> b: nc failed"
	wait_exit "$lpid" 30
	got=$(sha256sum <"$T/recv" | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || fail "a -> b through the switch: sha256 $got, sent $WANT"
}

kernel_to_stack() {
	local got
	got=$(ip netns exec "$1" timeout 60 nc -N 198.18.0.1 7 <"$DATA" | sha256sum | cut -d' ' -f1)
	[ "$got" = "$WANT" ] || fail "$1 -> srv echo through the switch: sha256 $got, sent $WANT"
}

# Unimpaired: every pair talks, bytes arrive intact.
seg_lab "$T/lab" ''
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
ping_ok "$NSA" 198.18.0.3
ping_ok "$NSB" 198.18.0.2
ping_ok "$NSA" 198.18.0.1
ping_ok "$NSB" 198.18.0.1
kernel_to_kernel
kernel_to_stack "$NSA"
kernel_to_stack "$NSB"

# The view shows each sender's pipeline: from_a.loss at 100% cuts a off
# (b and the stack still talk), back to 0% and a talks again; b's own
# pipeline counted b's frames and none of a's.
L=$T/mnt/links/seg
for h in srv a b; do
	[ -f "$L/from_$h.counters" ] || fail "no from_$h.counters in links/seg: $(ls "$L")"
done
[ -e "$L/to_stack.loss" ] && fail "a segment shows to_stack.loss (its pipelines are per sender)"
echo 100% >"$L/from_a.loss" || fail "cannot write links/seg/from_a.loss"
[ "$(cat "$L/from_a.loss")" = "100%" ] || fail "from_a.loss reads back $(cat "$L/from_a.loss")"
ip netns exec "$NSA" ping -c 2 -W 1 -i 0.2 198.18.0.3 >/dev/null 2>&1 && fail "a still reaches b with from_a.loss 100%"
ping_ok "$NSB" 198.18.0.1
grep -q "^dropped_loss [1-9]" "$L/from_a.counters" || fail "from_a.counters: $(cat "$L/from_a.counters")"
grep -q "^dropped_loss 0$" "$L/from_b.counters" || fail "from_b.counters: $(cat "$L/from_b.counters")"
echo 0% >"$L/from_a.loss" || fail "cannot write links/seg/from_a.loss"
ping_ok "$NSA" 198.18.0.3
echo lots >"$L/from_b.loss" 2>/dev/null && fail "from_b.loss took \"lots\""
stop_daemon "$DPID"
grep -q "error:" "$T/main.log" && fail "errors logged: $(grep error: "$T/main.log")"
grep -q "links/seg/from_a.loss: 0% -> 100%" "$T/main.log" || fail "the knob change was not logged: $(grep links/ "$T/main.log")"

# Loss on what the kernel hosts send: TCP a -> b still delivers it all.
seg_lab "$T/lab2" 'to_stack.loss = 2%\nseed = 5'
start_daemon lossy "$T/lab2" || fail "tcplabd did not become ready (lossy)"
kernel_to_kernel
kernel_to_stack "$NSA"
stop_daemon "$DPID"
for h in a b; do
	line=$(grep "link seg from $h: input=" "$T/lossy.log" | tail -n 1)
	note "$line"
	[ -n "$line" ] || fail "no counters for frames from $h: $(grep 'link seg' "$T/lossy.log")"
	echo "$line" | grep -q " dropped_loss=0 " && fail "nothing from $h was lost: the test proved nothing"
done
grep "link seg from srv: input=" "$T/lossy.log" && fail "frames from the stack host were impaired (to_kernel is unset)"
rm -f "$DATA" "$T/recv"
assert_nothing_left
echo "PASS"
