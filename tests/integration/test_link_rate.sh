#!/bin/bash
# Integration: link rate measured through the daemon. With `rate = 10mbit`
# a timed TCP upload to the stack's discard service (kernel -> stack) and a
# download from its HTTP service (stack -> kernel) each run within 10% of
# 10 Mbit/s. (The stack runs no iperf3 server; discard and HTTP are its
# built-in services.) The payload rate sits a little below the line rate:
# 1448 payload bytes ride in 1514-byte frames.
. "$(dirname "$0")/lib.sh"
require nc curl
setup lrate
NS=$(new_ns lrate)
MAC=02:74:6c:00:00:01

# Mbit/s from BYTES and SECONDS; fails unless 9..11.
check_rate() {
	local what=$1 bytes=$2 secs=$3 mbit
	mbit=$(awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.2f", b * 8 / s / 1e6 }')
	note "$what: $bytes bytes in $secs s = $mbit Mbit/s"
	awk -v m="$mbit" 'BEGIN { exit !(m >= 9 && m <= 11) }' ||
		fail "$what ran at $mbit Mbit/s, expected 10 Mbit/s +- 10%"
}

link_lab "$T/lab" "$NS" 'rate = 10mbit\nseed = 7'
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
grep -q "link l0: to_stack rate=10mbit; to_kernel rate=10mbit" "$T/main.log" ||
	fail "no knob line: $(grep 'link l0' "$T/main.log")"

# Upload: 10 MiB (8.4 s at 10 Mbit/s). nc -N half-closes after the input;
# the discard service then closes, so nc returns once all bytes are in.
BYTES=$((10 * 1024 * 1024))
t0=$(date +%s.%N)
head -c "$BYTES" /dev/zero | ip netns exec "$NS" timeout 60 nc -N 198.18.0.1 9 >/dev/null ||
	fail "upload to discard failed"
t1=$(date +%s.%N)
check_rate "upload (to_stack)" "$BYTES" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"

# Download: curl's own average speed over the body.
out=$(ip netns exec "$NS" timeout 60 curl -sS -o /dev/null \
	-w '%{size_download} %{time_total}' "http://198.18.0.1/bytes/$BYTES") ||
	fail "download failed: $out"
check_rate "download (to_kernel)" ${out% *} ${out#* }
[ "${out% *}" = "$BYTES" ] || fail "downloaded ${out% *} bytes, expected $BYTES"

stop_daemon "$DPID"
assert_nothing_left
echo "PASS"
