#!/bin/bash
# Integration: `tcplab tour` end to end on a live lab. Every scenario of
# the seed text runs (handshake, both four-way closes, TIME_WAIT expiry
# with the lab-only MSL knob, CLOSE_WAIT piling up, SYN_RECV with
# tcp_synack_retries, a SYN flood with tcp_syncookies 0 and 1); the tour
# checks each step's state itself and exits non-zero if one was not
# reached. Here we also check its report, that it restored the tunables,
# that its handles are gone, and what the history holds afterwards.
. "$(dirname "$0")/lib.sh"
require python3 nc
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup tour
NS=$(new_ns tour)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
SYS="$T/mnt/hosts/stack/sys/net"
tl() { "$TCPLAB" --pid "$PID" --color never "$@"; }

timeout 300 "$TCPLAB" --pid "$PID" --color never tour >"$T/tour.out" 2>&1
rc=$?
sed 's/^/#   /' "$T/tour.out" | grep -E "== Step|✓|✗|checks" || true
[ $rc -eq 0 ] || fail "tcplab tour exited with $rc: $(grep -E '✗|tcplab' "$T/tour.out")"
[ "$(grep -c '^== Step [1-6]: ' "$T/tour.out")" = 6 ] || fail "the tour did not run six steps"
grep -q "✗" "$T/tour.out" && fail "a step failed: $(grep '✗' "$T/tour.out")"
checks=$(sed -n 's/^  \([0-9]*\) checks, 0 failed.*/\1/p' "$T/tour.out")
[ -n "$checks" ] && [ "$checks" -ge 25 ] || fail "the tour made only '${checks}' checks"
# Each scenario's own claim, as the tour printed it.
for claim in "SYN_RECV -> ESTABLISHED (ACK)" "the stack (passive closer) is in CLOSE_WAIT" \
	"the kernel (active closer) is in FIN-WAIT-2" "the stack (active closer, conn" \
	"TIME_WAIT expired after about" "more connections in CLOSE_WAIT on port 8002" \
	"each request got exactly 2 SYN-ACK retransmissions" \
	"the real client could not connect during the flood" \
	"the real client connected during the flood"; do
	grep -qF "$claim" "$T/tour.out" || fail "the tour did not report: $claim"
done
# Every step prints commands to type.
[ "$(grep -c '^    \$ ' "$T/tour.out")" -ge 30 ] || fail "too few commands for the reader"

# Tunables restored, handles released.
[ "$(cat "$SYS/tcplab/msl_ms")" = 30000 ] || fail "msl_ms not restored: $(cat "$SYS/tcplab/msl_ms")"
[ "$(cat "$SYS/ipv4/tcp_synack_retries")" = 5 ] || fail "tcp_synack_retries not restored"
[ "$(cat "$SYS/ipv4/tcp_syncookies")" = 1 ] || fail "tcp_syncookies not restored"
# Its handles went with its control connection (the daemon sees it close).
no_handles() { [ "$(tl handles | tail -n +2 | wc -l)" = 0 ]; }
n=100
while ! no_handles; do
	n=$((n - 1))
	[ $n -gt 0 ] || fail "the tour left handles: $(tl handles)"
	sleep 0.05
done
tl ss -l | grep -q ":500[14] " && fail "the tour's listeners outlived it"

# The history agrees: TIME_WAIT ended by the timer after 2 x 2000 ms, the
# flood's cookie connection is recorded.
q() { tl sql --db "$T/history.db" --csv "$1" | tail -n +2; }
tw=$(q "SELECT round(seconds, 1) FROM state_time s JOIN connections c ON c.id = s.conn WHERE s.state = 'TIME_WAIT' AND c.lport = 5001 AND s.ongoing = 0 LIMIT 1")
[ "$tw" = 4.0 ] || fail "TIME_WAIT lasted '$tw' s by the history, want 4.0"
[ "$(q "SELECT count(*) FROM connections WHERE lport = 5004 AND from_cookie = 1")" -ge 1 ] ||
	fail "no cookie connection recorded on port 5004"
note "tour: $checks checks passed; tunables restored; history consistent"

stop_daemon "$PID"
assert_nothing_left
echo "PASS: tour"
