#!/bin/bash
# Integration: the userspace TCP against the Linux kernel in a namespace.
# nc round trip through echo; curl against the HTTP responder; 1 GiB through
# echo (both directions at once) with matching sha256; a stream from chargen;
# half-close in both directions.
. "$(dirname "$0")/lib.sh"
require nc curl sha256sum
setup interop
NS=$(new_ns interop)
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" -v || fail "tcplabd did not become ready"
PID=$DPID
inns() { ip netns exec "$NS" "$@"; }

# 1. nc round trip to echo (7).
out=$(echo "hello tcplab" | timeout 10 ip netns exec "$NS" nc -N -w 5 198.18.0.1 7) ||
	fail "nc to echo failed"
[ "$out" = "hello tcplab" ] || fail "echo returned '$out'"
note "nc: echo round trip ok"

# 2. curl against the HTTP responder (80).
out=$(timeout 10 ip netns exec "$NS" curl -sS -m 5 -D "$T/headers" http://198.18.0.1/) ||
	fail "curl failed"
grep -q "^HTTP/1.1 200" "$T/headers" || fail "no 200: $(cat "$T/headers")"
echo "$out" | grep -q "userspace TCP" || fail "unexpected body: $out"
n=$(timeout 20 ip netns exec "$NS" curl -sS -m 15 -o /dev/null -w '%{size_download}' \
	http://198.18.0.1/bytes/1000000) || fail "curl /bytes failed"
[ "$n" = 1000000 ] || fail "curl /bytes/1000000 got $n bytes"
note "curl: 200 and exact body sizes"

# 3. 1 GiB through echo: the kernel sends and receives 1 GiB at once.
head -c 1G /dev/urandom >"$T/big" || fail "cannot make the 1 GiB file"
sent=$(sha256sum <"$T/big" | cut -d' ' -f1)
start=$(date +%s.%N)
got=$(timeout 300 ip netns exec "$NS" nc -N 198.18.0.1 7 <"$T/big" | sha256sum | cut -d' ' -f1)
end=$(date +%s.%N)
rm -f "$T/big"
[ "$sent" = "$got" ] || fail "1 GiB through echo: sha256 differs ($sent vs $got)"
note "1 GiB echoed intact in $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }') s"

# 4. A stream from chargen (19): RFC 864 lines of 72 characters.
timeout 10 ip netns exec "$NS" nc -w 2 198.18.0.1 19 </dev/null 2>/dev/null | head -c 740 >"$T/chargen"
lines=$(tr -d '\r' <"$T/chargen" | head -n 10 | awk 'length($0) == 72' | wc -l)
[ "$lines" = 10 ] || fail "chargen lines are not 72 characters: $(head -c 200 "$T/chargen")"
note "chargen: RFC 864 lines"

# 5. Half-close, kernel side first: after our FIN the stack keeps sending
# (echo answers data sent before the FIN).
out=$( (printf 'half'; sleep 0.3) | timeout 10 ip netns exec "$NS" nc -N 198.18.0.1 7)
[ "$out" = "half" ] || fail "half-close (kernel first): got '$out'"
# Half-close, stack side first: close-first (8001) sends its line and FIN;
# the kernel side then still reads everything and closes.
out=$(timeout 10 ip netns exec "$NS" nc -w 3 198.18.0.1 8001 </dev/null | tr -d '\r')
[ "$out" = "hello from tcplab" ] || fail "close-first: got '$out'"
grep -q "FIN_WAIT2 -> TIME_WAIT" "$T/main.log" || fail "the stack never reached TIME_WAIT after closing first"
note "half-close in both directions"

stop_daemon "$PID"
grep -q "stack: drops: none" "$T/main.log" || fail "unexpected drops: $(grep drops "$T/main.log")"
assert_nothing_left
echo "PASS: tcp interop"
