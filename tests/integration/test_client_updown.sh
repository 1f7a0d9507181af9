#!/bin/bash
# Integration: `tcplab up LAB` starts tcplabd in the background and returns
# once the lab is ready (the control socket answers at once); `tcplab down`
# stops it and returns once the lab is torn down. A lab tcplabd refuses
# makes `up` exit 1 and show tcplabd's reason.
. "$(dirname "$0")/lib.sh"
require python3
[ -x "${TCPLAB:-}" ] || fail "TCPLAB is not set (run through meson test)"
setup cliupdown
NS=$(new_ns cupd)
NSS+=("$NS")
write_lab "$T/lab" "$NS"
export TCPLABD # `up` runs this tcplabd

"$TCPLAB" up --mount "$T/mnt" --db "$T/history.db" --log "$T/up.log" "$T/lab" >"$T/up.out" 2>&1 ||
	fail "tcplab up failed: $(cat "$T/up.out")"
PID=$(sed -n 's/^tcplabd is running: pid \([0-9]*\),.*/\1/p' "$T/up.out")
[ -n "$PID" ] || fail "up did not print the pid: $(cat "$T/up.out")"
PIDS+=("$PID")
note "up: pid $PID"
# Ready means ready: no waiting needed.
"$TCPLAB" --pid "$PID" ss -l >"$T/ss" || fail "ss right after up failed"
grep -q "198.18.0.1:80 " "$T/ss" || fail "no listener on port 80 right after up"
ping_ok "$NS" 198.18.0.1
grep -q "ready (pid $PID" "$T/up.log" || fail "the log file lacks the ready line"
"$TCPLAB" status | grep -q "pid $PID, lab=$T/lab" || fail "status does not list the daemon"

"$TCPLAB" --pid "$PID" down >"$T/down.out" 2>&1 || fail "tcplab down failed: $(cat "$T/down.out")"
grep -q "tcplabd pid $PID stopped" "$T/down.out" || fail "down output: $(cat "$T/down.out")"
# Exited (init may not have reaped the orphan yet: a zombie counts as gone).
[ -e "/proc/$PID" ] && ! grep -q ') Z ' "/proc/$PID/stat" 2>/dev/null && fail "tcplabd $PID still runs after down"
forget_pid "$PID"
grep -q "stopped; lab torn down" "$T/up.log" || fail "the daemon did not stop cleanly: $(tail -3 "$T/up.log")"
ip netns list | grep -qw "$NS" && fail "namespace $NS left after down"
note "down: stopped, lab torn down"

# A lab tcplabd refuses: up says why, exit 1, nothing left running.
printf '[host h]\nkind = starship\n' >"$T/bad.lab"
"$TCPLAB" up --mount "$T/mnt2" --db "$T/h2.db" --log "$T/bad.log" "$T/bad.lab" >"$T/bad.out" 2>&1
[ $? -eq 1 ] || fail "up with a bad lab: expected exit 1"
grep -q "exited before it was ready" "$T/bad.out" && grep -q "bad lab file" "$T/bad.out" ||
	fail "up does not show tcplabd's reason: $(cat "$T/bad.out")"
"$TCPLAB" up "$T/missing.lab" >/dev/null 2>&1 && fail "up with a missing lab file succeeded"
note "a refused lab: explained"

assert_nothing_left
echo "PASS: client up/down"
