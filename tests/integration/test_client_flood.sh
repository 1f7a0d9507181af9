#!/bin/bash
# Integration: `tcplab flood` sends exactly COUNT SYNs from the kernel
# host's namespace, every source inside 198.18.128.0/17 (checked on the
# wire with tcpdump), leaves half-open requests on the stack (default
# tcp_syncookies 1, queue not full: no cookies), reports the counters, and
# refuses unbounded floods.
. "$(dirname "$0")/lib.sh"
require python3 tcpdump
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup cliflood
NS=$(new_ns cfld)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
tl() { "$TCPLAB" --pid "$PID" "$@"; }

# Bounds are enforced before anything is sent.
for bad in "--count 0" "--count 1000001" "--rate 0" "--rate 200001" "--port 0"; do
	# shellcheck disable=SC2086
	tl flood $bad >/dev/null 2>&1
	[ $? -eq 2 ] || fail "flood $bad: expected usage error 2"
done
tl flood no_such_host >/dev/null 2>&1 && fail "flood of an unknown target succeeded"

# Capture the SYNs in the attacker's namespace, flood, check the sources.
ip netns exec "$NS" timeout 20 tcpdump -nni tl0 -c 300 -w "$T/syn.pcap" \
	'tcp[tcpflags] & tcp-syn != 0 and tcp[tcpflags] & tcp-ack == 0 and dst port 80' 2>"$T/tcpdump.err" &
TD=$!
PIDS+=("$TD")
n=100
while ! grep -q "listening on tl0" "$T/tcpdump.err"; do
	n=$((n - 1))
	[ $n -gt 0 ] || fail "tcpdump did not start: $(cat "$T/tcpdump.err")"
	sleep 0.05
done
tl flood --json --count 300 --rate 3000 --port 80 >"$T/flood.json" || fail "flood failed: $(cat "$T/flood.json")"
wait_exit "$TD" 20 || fail "tcpdump did not see 300 SYNs"
python3 - "$T/flood.json" <<'PY' || fail "flood --json: $(cat "$T/flood.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["sent"] == 300 and d["target"] == "stack" and d["port"] == 80, d
assert d["syn_recv"] >= 250, d                 # half-open requests left on port 80
assert d["SyncookiesSent"] == 0, d           # the 4096 queue never filled
assert d["TCPReqQFullDrop"] == 0, d
PY
tcpdump -nr "$T/syn.pcap" 2>/dev/null | python3 -c "
import ipaddress, sys
net = ipaddress.ip_network('198.18.128.0/17')
n = 0
for line in sys.stdin:
    src = line.split()[2].rsplit('.', 1)[0]
    assert ipaddress.ip_address(src) in net, line
    n += 1
assert n == 300, n
" || fail "a SYN came from outside 198.18.128.0/17"
note "300 SYNs, all from 198.18.128.0/17; requests left in SYN_RECV"

# The text report names the counters.
tl flood --count 50 --rate 1000 >"$T/flood.txt" || fail "flood (text) failed"
grep -q "^sent 50 SYNs in" "$T/flood.txt" || fail "flood text: $(cat "$T/flood.txt")"
grep -q "TcpExt SyncookiesSent" "$T/flood.txt" || fail "flood text lacks the counters"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: client flood"
