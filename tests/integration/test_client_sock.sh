#!/bin/bash
# Integration: a person drives one side of a connection on the stack host
# step by step (listen, accept, send, recv, shutdown, close, connect,
# abort) against Linux programs in the peer namespace, and sees each state
# in `tcplab ss` and on the kernel side in `ss`. Also: handles made on a
# control connection die with it unless kept.
. "$(dirname "$0")/lib.sh"
require python3 nc
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup clisock
NS=$(new_ns csock)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
tl() { "$TCPLAB" --pid "$PID" --color never "$@"; }
SOCK=/run/tcplabd/control.$PID.sock

# poll_until SECONDS CMD...: runs CMD until it succeeds (bounded).
poll_until() {
	local n=$(($1 * 20))
	shift
	while ! "$@" >/dev/null 2>&1; do
		n=$((n - 1))
		[ $n -gt 0 ] || return 1
		sleep 0.05
	done
}
# stack_state PORT: the state of the stack's (non-listening) row on PORT.
stack_state() { tl ss --json --port "$1" | python3 -c "
import json, sys
print(' '.join(r['state'] for r in json.load(sys.stdin) if r['state'] != 'LISTEN'))"; }
is_stack_state() { [ "$(stack_state "$1")" = "$2" ]; }
# kernel_state PORT: the kernel side's state on PORT (ss spelling).
kernel_state() { ip netns exec "$NS" ss -tanH "( sport = :$1 or dport = :$1 )" | awk '{print $1}' | xargs; }
is_kernel_state() { [ "$(kernel_state "$1")" = "$2" ]; }

# 1. Passive side: listen, a Linux client connects, accept.
out=$(tl listen 6000) || fail "listen: $out"
L=$(echo "$out" | sed -n 's/^conn \([0-9]*\) (stack): LISTEN 198.18.0.1:6000 -> 0.0.0.0:\*$/\1/p')
[ -n "$L" ] || fail "listen output: $out"
mkfifo "$T/to_nc"
ip netns exec "$NS" timeout 60 nc -N 198.18.0.1 6000 <"$T/to_nc" >"$T/nc.out" &
NCPID=$!
PIDS+=("$NCPID")
exec 7>"$T/to_nc"
poll_until 5 is_stack_state 6000 ESTABLISHED || fail "no ESTABLISHED child in the accept queue: $(tl ss)"
out=$(tl accept -w "$L") || fail "accept: $out"
C=$(echo "$out" | sed -n 's/^conn \([0-9]*\) (stack): ESTABLISHED .*/\1/p')
[ -n "$C" ] || fail "accept output: $out"
note "listen $L, accept $C: ESTABLISHED"

# 2. Data both ways.
tl send "$C" hello from the stack | grep -q "queued 21 bytes (ESTABLISHED)" || fail "send"
poll_until 5 grep -q "hello from the stack" "$T/nc.out" || fail "nc did not receive the data"
echo "hello from linux" >&7
[ "$(tl recv -w "$C" 2>/dev/null)" = "hello from linux" ] || fail "recv did not return the kernel's line"
note "send/recv: ok"

# 3. The kernel closes first (nc -N: FIN at stdin EOF): CLOSE_WAIT here,
#    FIN-WAIT-2 there; then our close: LAST_ACK, gone; TIME-WAIT there.
exec 7>&-
poll_until 5 is_stack_state 6000 CLOSE_WAIT || fail "no CLOSE_WAIT: $(stack_state 6000)"
poll_until 5 is_kernel_state 6000 FIN-WAIT-2 || fail "kernel not in FIN-WAIT-2: $(kernel_state 6000)"
tl recv "$C" 2>"$T/err" >/dev/null
grep -q "end of stream" "$T/err" || fail "recv after FIN does not say end of stream"
out=$(tl close -w CLOSE "$C") || fail "close: $out"
echo "$out" | grep -q "^conn $C: CLOSE_WAIT -> LAST_ACK" || fail "close output: $out"
echo "$out" | grep -q "^conn $C: now CLOSE" || fail "close --wait CLOSE: $out"
poll_until 5 is_kernel_state 6000 TIME-WAIT || fail "kernel not in TIME-WAIT: $(kernel_state 6000)"
wait_exit "$NCPID" 10
note "peer closes first: CLOSE_WAIT -> LAST_ACK -> CLOSE; kernel FIN-WAIT-2 -> TIME-WAIT"

# 4. Active side: connect to nc -l, half-close, the kernel answers and
#    closes; TIME_WAIT here, expiring after 2 x msl_ms.
tl set tcplab.msl_ms 500 >/dev/null || fail "set msl_ms"
ip netns exec "$NS" timeout 60 nc -l 6001 >"$T/ncl.out" </dev/null &
NCL=$!
PIDS+=("$NCL")
poll_until 5 is_kernel_state 6001 LISTEN || fail "nc -l is not listening"
out=$(tl connect --wait ESTABLISHED 198.18.0.2:6001) || fail "connect: $out"
A=$(echo "$out" | sed -n 's/^conn \([0-9]*\) (stack): SYN_SENT 198.18.0.1:[0-9]* -> 198.18.0.2:6001$/\1/p')
[ -n "$A" ] || fail "connect output: $out"
echo "$out" | grep -q "^conn $A: now ESTABLISHED" || fail "connect --wait: $out"
tl send "$A" "bye" >/dev/null || fail "send on the active connection"
out=$(tl shutdown "$A") || fail "shutdown: $out"
echo "$out" | grep -q "ESTABLISHED -> FIN_WAIT1" || fail "shutdown output: $out"
# nc -l reads our FIN, exits, and its FIN brings us to TIME_WAIT.
poll_until 5 is_stack_state 6001 TIME_WAIT || fail "no TIME_WAIT after the half-close: $(stack_state 6001)"
grep -q "^bye$" "$T/ncl.out" || fail "nc -l did not get the data"
poll_until 5 is_stack_state 6001 "" || fail "TIME_WAIT did not expire after 2 x 500 ms"
tl close "$A" >/dev/null || fail "closing the released active handle"
wait_exit "$NCL" 10
note "active: SYN_SENT -> ESTABLISHED, shutdown -> FIN_WAIT1 ... TIME_WAIT -> expired"

# 5. abort: a RST, which the Linux side sees as a reset.
mkfifo "$T/to_nc2"
ip netns exec "$NS" timeout 60 nc 198.18.0.1 6000 <"$T/to_nc2" >/dev/null 2>"$T/nc2.err" &
NC2=$!
PIDS+=("$NC2")
exec 8>"$T/to_nc2"
poll_until 5 is_stack_state 6000 ESTABLISHED || fail "second client not ESTABLISHED"
C2=$(tl accept -w "$L" | sed -n 's/^conn \([0-9]*\) .*/\1/p')
out=$(tl abort "$C2") || fail "abort: $out"
echo "$out" | grep -q "ESTABLISHED -> CLOSE" || fail "abort output: $out"
no_kernel_estab() { ! kernel_state "$1" | grep -qw ESTAB; }
poll_until 5 no_kernel_estab 6000 || fail "kernel still holds the aborted connection: $(kernel_state 6000)"
exec 8>&-
wait_exit "$NC2" 10
note "abort: RST, the kernel's socket is gone"

# 6. handles: kept ones are listed; a control connection's own handles go
#    with it (nc -U holds one session).
tl handles --json | python3 -c "
import json, sys
h = json.load(sys.stdin)
assert [x['conn'] for x in h if x['state'] == 'LISTEN'] == [$L], h
assert all(x['owner'] == 'kept' for x in h), h
" || fail "handles --json"
printf 'listen 6100\nss port=6100\nquit\n' | timeout 5 nc -U "$SOCK" >"$T/session" || fail "nc -U session"
grep -q "^OK host=stack conn=[0-9]* state=LISTEN" "$T/session" || fail "session listen: $(cat "$T/session")"
grep -q "^- host=stack state=LISTEN .* handle=you" "$T/session" || fail "session ss: $(cat "$T/session")"
no_rows() { [ "$(tl ss -H stack --port "$1" | tail -n +2 | wc -l)" = 0 ]; }
poll_until 5 no_rows 6100 ||
	fail "the session's listener outlived its control connection"
grep -q "control client [0-9]* gone: closed its 1 handle" "$T/main.log" || fail "no log line for released handles"
tl close "$L" >/dev/null || fail "close the listener"
[ "$(tl handles | tail -n +2 | wc -l)" = 0 ] || fail "handles left: $(tl handles)"
tl close 424242 >"$T/out" 2>&1
[ $? -eq 1 ] && grep -q "not an application handle" "$T/out" || fail "close of a non-handle: $(cat "$T/out")"
note "handles: kept ones listed, a session's released with it"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: client sockets"
