#!/bin/bash
# Integration: a tcplabd killed with SIGKILL leaves its namespace behind;
# the next tcplabd with the same lab removes it (one log line naming the
# dead pid), builds the lab again, and cleans up on SIGTERM.
. "$(dirname "$0")/lib.sh"
require ping
setup crash
NS=$(new_ns crash)
write_lab "$T/lab" "$NS"

start_daemon first "$T/lab" || fail "first tcplabd did not become ready"
OLD=$DPID
ping_ok "$NS" 198.18.0.1

kill -KILL "$OLD"
wait "$OLD" 2>/dev/null
forget_pid "$OLD"
ip netns list | awk '{print $1}' | grep -qx "$NS" || fail "namespace $NS vanished with the SIGKILLed daemon"
[ -e "/run/tcplabd/netns.$NS" ] || fail "registry entry for $NS vanished"
note "SIGKILLed pid $OLD; $NS is still there"

start_daemon second "$T/lab" || fail "second tcplabd did not become ready"
grep -q "removed stale namespace $NS left by crashed tcplabd pid $OLD\$" "$T/second.log" ||
	fail "no stale-cleanup line for $NS / pid $OLD"
[ "$(grep -c "removed stale namespace" "$T/second.log")" -eq 1 ] || fail "stale cleanup logged more than once"
note "$(grep "removed stale" "$T/second.log")"
ping_ok "$NS" 198.18.0.1

stop_daemon "$DPID"
assert_nothing_left
echo "PASS"
