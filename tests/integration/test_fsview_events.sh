#!/bin/bash
# Integration: the `events` file of the FUSE view. While `cat events`
# holds it open, a handshake made from the peer namespace shows up as one
# line per transition; `tail -f events` prints the recent lines and then
# follows; poll() wakes up when a line arrives; Ctrl-C ends a blocked
# reader at once; stopping the daemon ends every reader and unmounts.
. "$(dirname "$0")/lib.sh"
require python3 tail
setup fsvev
NS=$(new_ns fsve)
NSS+=("$NS") # new_ns ran in a subshell: register it here
write_lab "$T/lab" "$NS"
M="$T/mnt"

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge "$end" ] && return 1
		sleep 0.1
	done
}

# echo_once: one connection to the echo service from the namespace; prints
# the client's port.
echo_once() {
	ip netns exec "$NS" python3 - <<'PY'
import socket
s = socket.create_connection(("198.18.0.1", 7), timeout=5)
print(s.getsockname()[1])
s.sendall(b"hello\n")
assert s.recv(64) == b"hello\n"
s.close()
PY
}

start_daemon main "$T/lab" || fail "tcplabd did not become ready"

# 1. A reader holding the file open sees the handshake.
cat "$M/events" >"$T/cat.out" 2>"$T/cat.err" &
CAT=$!
PIDS+=("$CAT")
port=$(echo_once) || fail "echo from $NS failed"
peer="198.18.0.2:$port"
wait_for 10 grep -q "198.18.0.1:7 $peer LAST_ACK -> CLOSE (ACK)$" "$T/cat.out" ||
	fail "the events reader did not see the connection from $peer: $(cat "$T/cat.out")"
for want in "LISTEN -> SYN_RECV (SYN)" "SYN_RECV -> ESTABLISHED (ACK)" \
	"ESTABLISHED -> CLOSE_WAIT (FIN)"; do
	grep -q "^[0-9]*\.[0-9]\{6\} stack conn [0-9]* 198.18.0.1:7 $peer $want$" "$T/cat.out" ||
		fail "no '$want' line for $peer: $(cat "$T/cat.out")"
done
ids=$(grep " $peer " "$T/cat.out" | awk '{print $4}' | sort -u | wc -l)
[ "$ids" -eq 1 ] || fail "the connection's lines carry $ids different ids"
note "cat events: $(grep -c " $peer " "$T/cat.out") lines for $peer, e.g.: $(grep -m1 " $peer " "$T/cat.out")"
# Opened after those lines were written, a new cat starts at the live end.
timeout -s INT 1 cat "$M/events" >"$T/late.out"
[ ! -s "$T/late.out" ] || fail "a fresh cat replayed history: $(cat "$T/late.out")"

# 2. tail -f: the recent lines, then what follows.
tail -n 3 -f "$M/events" >"$T/tail.out" 2>"$T/tail.err" &
TAIL=$!
PIDS+=("$TAIL")
wait_for 10 grep -q "LAST_ACK -> CLOSE (ACK)$" "$T/tail.out" ||
	fail "tail -f did not print the last lines: $(cat "$T/tail.out" "$T/tail.err")"
[ "$(wc -l <"$T/tail.out")" -eq 3 ] || fail "tail -n 3 printed $(wc -l <"$T/tail.out") lines"
port2=$(echo_once) || fail "second echo failed"
wait_for 10 grep -q "198.18.0.2:$port2 LAST_ACK -> CLOSE (ACK)$" "$T/tail.out" ||
	fail "tail -f did not follow: $(cat "$T/tail.out" "$T/tail.err")"
wait_for 10 grep -q "198.18.0.2:$port2 LAST_ACK -> CLOSE (ACK)$" "$T/cat.out" ||
	fail "the first reader missed the second connection"
kill "$TAIL"
wait "$TAIL" 2>/dev/null
forget_pid "$TAIL"
note "tail -f events: the last 3 lines, then the connection from port $port2"

# 3. poll(): not readable, then readable once a line arrives.
ip netns exec "$NS" true # (nothing pending)
python3 - "$M/events" "$NS" >"$T/poll.out" 2>&1 <<'PY' || fail "poll: $(cat "$T/poll.out")"
import os, select, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
p = select.poll()
p.register(fd, select.POLLIN)
assert p.poll(0) == [], "readable before any event"
try:
    os.read(fd, 4096)
    raise SystemExit("a non-blocking read returned data before any event")
except BlockingIOError:
    pass
subprocess.run(["ip", "netns", "exec", sys.argv[2], "python3", "-c",
                "import socket; socket.create_connection(('198.18.0.1', 9), timeout=5).close()"],
               check=True)
ready = p.poll(10000)
assert ready and ready[0][1] & select.POLLIN, "poll did not wake: %r" % ready
data = os.read(fd, 65536).decode()
assert "198.18.0.1:9 " in data and "LISTEN -> SYN_RECV (SYN)" in data, data
print("ok")
PY
note "poll: woke up for the discard connection"

# 4. Ctrl-C ends a reader that waits for the next line, at once.
start=$SECONDS
timeout -s INT 1 cat "$M/events" >/dev/null
rc=$?
[ $rc -eq 124 ] || fail "interrupted cat exited $rc"
[ $((SECONDS - start)) -le 5 ] || fail "an interrupted reader took $((SECONDS - start)) s to end"
kill -0 "$DPID" || fail "the daemon died"

# 5. Stopping the daemon ends the remaining reader and unmounts.
stop_daemon "$DPID"
wait "$CAT" # the unmount ends it (not wait_exit: it may be gone already)
note "cat after the stop: status $?, $(cat "$T/cat.err")"
forget_pid "$CAT"
grep -q " $M " /proc/mounts && fail "still mounted"
[ -e "$M" ] && fail "the mount directory the daemon created is still there"
assert_nothing_left
echo "PASS"
