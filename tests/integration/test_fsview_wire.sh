#!/bin/bash
# Integration: a tunable written through the FUSE view changes what the
# stack host puts on the wire, observed with tl-synprobe (raw frames from
# an address no host owns, a handshake never completed):
#  - tcp_synack_retries=1: exactly 2 SYN-ACKs for one SYN (at 0 s and 1 s;
#    the request is dropped at 3 s), where the default 5 sends a third at 3 s;
#  - tcp_syncookies=2: every SYN-ACK carries a cookie: the timestamp's low
#    6 bits encode our window scale 7 and SACK (23; seen with
#    tcp_timestamps=2, which leaves out the random offset), none is
#    retransmitted,
#    SyncookiesSent counts them and no request shows in net/tcp;
#  - each change is logged and recorded in the history (via fuse).
. "$(dirname "$0")/lib.sh"
require python3
[ -x "${TL_SYNPROBE:-}" ] || fail "TL_SYNPROBE is not set (run through meson test)"
setup fsvwire
NS=$(new_ns fsvw)
NSS+=("$NS") # new_ns ran in a subshell: register it here
write_lab "$T/lab" "$NS"
IPV4="$T/mnt/hosts/stack/sys/net/ipv4"
NET="$T/mnt/hosts/stack/net"

# probe TAG SRC COUNT SECONDS: SYNs from SRC to 198.18.0.1:80.
probe() {
	ip netns exec "$NS" "$TL_SYNPROBE" tl0 "$2" 198.18.0.1 80 "$3" "$4" >"$T/$1.out" 2>&1 ||
		fail "tl-synprobe $1: $(cat "$T/$1.out")"
}

# syn_recv_rows HEXADDR: net/tcp rows in SYN_RECV (03) from that peer
# (address as /proc/net/tcp prints it, e.g. 4D0012C6 for 198.18.0.77).
syn_recv_rows() {
	awk -v a="$1" '$4 == "03" && index($3, a ":") == 1' "$NET/tcp" | wc -l
}

# netstat_value NAME: a TcpExt counter from the view's net/netstat.
netstat_value() {
	awk -v want="$1" '/^TcpExt:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) if ($i == want) c = i;
	                  if (n == 2) print $c}' "$NET/netstat"
}

start_daemon main "$T/lab" -v || fail "tcplabd did not become ready"

# 1. tcp_synack_retries=1 -> exactly two SYN-ACKs.
echo 1 >"$IPV4/tcp_synack_retries" || fail "cannot write tcp_synack_retries"
[ "$(cat "$IPV4/tcp_synack_retries")" = 1 ] || fail "tcp_synack_retries did not take 1"
probe retries1 198.18.0.77 1 5
cat "$T/retries1.out" | sed 's/^/#   /'
[ "$(grep -c '^synack ' "$T/retries1.out")" -eq 2 ] || fail "expected 2 SYN-ACKs: $(cat "$T/retries1.out")"
[ "$(awk '/^synack / {print $4}' "$T/retries1.out" | sort -u | wc -l)" -eq 1 ] ||
	fail "the two SYN-ACKs do not carry the same ISN"
grep -q "^rst " "$T/retries1.out" && fail "the stack sent a RST"
# The request is gone (SYN_RECV rows are state 03).
[ "$(syn_recv_rows 4D0012C6)" -eq 0 ] || fail "a SYN_RECV row is still in net/tcp after 5 s"
note "tcp_synack_retries=1: 2 SYN-ACKs"

# The default, for contrast: a third SYN-ACK at 3 s.
echo 5 >"$IPV4/tcp_synack_retries"
probe retries5 198.18.0.78 1 4
[ "$(syn_recv_rows 4E0012C6)" -eq 1 ] || fail "default: no SYN_RECV row while the request lives"
[ "$(grep -c '^synack ' "$T/retries5.out")" -eq 3 ] || fail "default: expected 3 SYN-ACKs in 4 s: $(cat "$T/retries5.out")"
note "tcp_synack_retries=5: 3 SYN-ACKs within 4 s"

# 2. tcp_syncookies=2 -> every SYN-ACK is a cookie. With tcp_timestamps=2
# (timestamps without the per-peer random offset, as in Linux) the cookie's
# option bits are visible in the TSval on the wire.
before=$(netstat_value SyncookiesSent)
echo 2 >"$IPV4/tcp_timestamps" || fail "cannot write tcp_timestamps"
echo 2 >"$IPV4/tcp_syncookies" || fail "cannot write tcp_syncookies"
probe cookies 198.18.0.79 4 4
cat "$T/cookies.out" | sed 's/^/#   /'
[ "$(grep -c '^synack ' "$T/cookies.out")" -eq 4 ] ||
	fail "expected 4 SYN-ACKs (one per SYN, no retransmission): $(cat "$T/cookies.out")"
[ "$(awk '/^synack / {print $3}' "$T/cookies.out" | sort -u | wc -l)" -eq 4 ] ||
	fail "a SYN got more than one SYN-ACK"
bad=$(grep '^synack ' "$T/cookies.out" | grep -v ' tslow6=23 ')
[ -z "$bad" ] || fail "SYN-ACKs without the cookie's option bits (ws 7 + SACK = 23): $bad"
grep '^synack ' "$T/cookies.out" | grep -qv 'opts=mss:' && fail "a cookie SYN-ACK without MSS"
after=$(netstat_value SyncookiesSent)
[ $((after - before)) -eq 4 ] || fail "SyncookiesSent grew by $((after - before)), want 4"
[ "$(syn_recv_rows 4F0012C6)" -eq 0 ] || fail "cookies keep no request, but net/tcp has a SYN_RECV row"
note "tcp_syncookies=2: 4 cookie SYN-ACKs (tslow6=23), SyncookiesSent +4"

# Back to 1: a SYN gets a request again (state 03 in net/tcp while it lives).
echo 1 >"$IPV4/tcp_syncookies"
echo 1 >"$IPV4/tcp_timestamps"
probe cookies1 198.18.0.80 1 2
[ "$(syn_recv_rows 500012C6)" -eq 1 ] || fail "tcp_syncookies=1: no SYN_RECV row for a fresh SYN"
[ "$(netstat_value SyncookiesSent)" -eq "$after" ] || fail "tcp_syncookies=1 sent a cookie"
note "tcp_syncookies=1: a request in SYN_RECV, no cookie"

# The view logs every change.
grep -q "stack: sys/net/ipv4/tcp_syncookies: 1 -> 2" "$T/main.log" || fail "no log line for the change"

stop_daemon "$DPID"
# ... and the history records it, made through the view.
row=$(python3 - "$T/history.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT old_value, new_value, via FROM tunable_changes "
                 "WHERE name = 'net.ipv4.tcp_syncookies' ORDER BY id LIMIT 1").fetchone())
PY
)
[ "$row" = "('1', '2', 'fuse')" ] || fail "history of tcp_syncookies: $row"
note "history: net.ipv4.tcp_syncookies 1 -> 2 via fuse"
assert_nothing_left
echo "PASS"
