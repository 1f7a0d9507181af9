#!/bin/bash
# Integration: a bounded SYN flood into the stack host (200k SYNs from random
# sources inside 198.18.128.0/17, tests/tools/tl_synflood.c) against port 80.
# tcp_syncookies=1: every legitimate connection from the peer namespace during
# the flood succeeds, and the counters show cookies sent and validated.
# tcp_syncookies=0: the SYN queue fills and the drops are counted.
. "$(dirname "$0")/lib.sh"
require curl
[ -x "${TL_SYNFLOOD:-}" ] || fail "TL_SYNFLOOD is not set (run through meson test)"
setup synflood
NS=$(new_ns flood)
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
SYSCTL="$T/mnt/hosts/stack/sys/net/ipv4"
[ -f "$SYSCTL/tcp_syncookies" ] || fail "no FUSE tunable $SYSCTL/tcp_syncookies"

# counter NAME: the current value from the stack's net/netstat.
counter() {
	awk -v n="$1" '/^TcpExt:/ { if (!h) { for (i = 2; i <= NF; i++) idx[$i] = i; h = 1 }
		else print $idx[n] }' "$T/mnt/hosts/stack/net/netstat"
}

# flood_with_clients: flood in the background, 20 curls meanwhile; prints
# how many curls got a 200.
flood_with_clients() {
	ip netns exec "$NS" "$TL_SYNFLOOD" 198.18.0.1 80 200000 100000 >"$T/flood.out" &
	local fpid=$! ok=0 i
	PIDS+=("$fpid")
	for i in $(seq 1 20); do
		code=$(timeout 5 ip netns exec "$NS" curl -s -m 4 -o /dev/null -w '%{http_code}' \
			http://198.18.0.1/) && [ "$code" = 200 ] && ok=$((ok + 1))
	done
	wait_exit "$fpid" 90
	echo "$ok"
}

echo 1 >"$SYSCTL/tcp_syncookies" || fail "cannot set tcp_syncookies=1"
ok=$(flood_with_clients)
note "syncookies=1: $(cat "$T/flood.out"); legit clients ok: $ok/20"
[ "$ok" = 20 ] || fail "only $ok of 20 legitimate connections succeeded during the flood"
sent=$(counter SyncookiesSent)
recv=$(counter SyncookiesRecv)
note "SyncookiesSent=$sent SyncookiesRecv=$recv"
[ "$sent" -gt 100000 ] || fail "SyncookiesSent=$sent: expected most of the flood answered by cookies"
[ "$recv" -gt 0 ] || fail "SyncookiesRecv=0: no legitimate connection was validated by a cookie"

echo 0 >"$SYSCTL/tcp_syncookies" || fail "cannot set tcp_syncookies=0"
drops0=$(counter TCPReqQFullDrop)
ok=$(flood_with_clients)
drops=$(counter TCPReqQFullDrop)
listen_drops=$(counter ListenDrops)
note "syncookies=0: $(cat "$T/flood.out"); legit ok $ok/20; TCPReqQFullDrop +$((drops - drops0)), ListenDrops $listen_drops"
[ $((drops - drops0)) -gt 100000 ] || fail "the full SYN queue should drop most of the flood"
[ "$(counter SyncookiesSent)" = "$sent" ] || fail "cookies sent while tcp_syncookies=0"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: syn flood"
