#!/bin/bash
# Integration: differential test of the userspace TCP against the Linux
# kernel. tl-diffprobe plays the same scripted exchange of raw frames
# (spoofed 198.18.0.77, its own MAC) against
#   (a) the kernel: tl-echo-server in namespace K (198.18.0.1 on a veth),
#       the prober in namespace P on the other end (no address there);
#   (b) the stack: tcplabd's stack host 198.18.0.1, the prober in the lab's
#       peer namespace on tl0 (the kernel's .2 there ignores frames for
#       another MAC);
# and the two normalized transcripts must match scenario by scenario
# (flags, seq/ack relations, option kinds, timing within max(300 ms, 20%)).
# On a mismatch both transcripts are printed.
#
# Scenarios needing tunables on the stack (tcp_synack_retries,
# tcp_syncookies) write them through the FUSE view
# (<mount>/hosts/stack/sys/net/ipv4/); without it they are skipped with a
# message, and fail under CI=true.
. "$(dirname "$0")/lib.sh"
require
[ -x "${TL_DIFFPROBE:-}" ] || fail "TL_DIFFPROBE is not set to tl-diffprobe (run through meson test)"
[ -x "${TL_ECHO_SERVER:-}" ] || fail "TL_ECHO_SERVER is not set to tl-echo-server (run through meson test)"
setup diff

# stop_pid PID SECONDS: SIGTERM, SIGKILL after SECONDS, reap; returns the
# exit status. Polls instead of lib.sh's wait_exit, whose watchdog
# subshell can run the EXIT trap (cleanup) when it is signalled right
# after it forks, before its own trap is set.
stop_pid() {
	local pid=$1 secs=$2 i rc
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	return $rc
}
LAB_NS=$(new_ns diff)
KNS=$(new_ns diffk)
PNS=$(new_ns diffp)
NSS+=("$LAB_NS" "$KNS" "$PNS") # new_ns ran in a subshell: register them here

# (a) the kernel side: K <-veth-> P.
ip netns add "$KNS" || fail "ip netns add $KNS"
ip netns add "$PNS" || fail "ip netns add $PNS"
ip link add tlk0 netns "$KNS" type veth peer name tlp0 netns "$PNS" || fail "veth pair"
for ns in "$KNS" "$PNS"; do
	ip -n "$ns" link set lo up
done
ip netns exec "$KNS" sysctl -qw net.ipv6.conf.tlk0.disable_ipv6=1
ip netns exec "$PNS" sysctl -qw net.ipv6.conf.tlp0.disable_ipv6=1
ip -n "$KNS" addr add 198.18.0.1/24 dev tlk0 || fail "address on tlk0"
ip -n "$KNS" link set tlk0 up
ip -n "$PNS" link set tlp0 up
mkfifo "$T/echo.ready"
ip netns exec "$KNS" "$TL_ECHO_SERVER" --max-seconds 600 --ready-fd 3 \
	3>"$T/echo.ready" 2>"$T/echo.log" &
ESRV=$!
PIDS+=("$ESRV")
read -r -t 10 line <"$T/echo.ready" || true
[ "${line:-}" = "READY=1" ] || fail "tl-echo-server did not start"

# (b) the stack side.
write_lab "$T/lab" "$LAB_NS"
start_daemon main "$T/lab" -v || fail "tcplabd did not become ready"
DPID=$DPID
SYSDIR="$T/mnt/hosts/stack/sys/net/ipv4"

kset() { ip netns exec "$KNS" sysctl -qw "net.ipv4.$1=$2"; }
sset() {
	[ -w "$SYSDIR/$1" ] || return 1
	echo "$2" >"$SYSDIR/$1"
}

# Scenario, then the tunables it needs on both sides (others at defaults).
SCENARIOS=(
	"handshake"
	"closed"
	"synack-retries tcp_synack_retries=2"
	"syncookies tcp_syncookies=2"
	"rst-challenge"
	"timewait"
	"zero-window"
	"dsack"
)
DEFAULTS="tcp_synack_retries=5 tcp_syncookies=1"

mismatched=()
skipped=()
for entry in "${SCENARIOS[@]}"; do
	read -r sc tunables <<<"$entry"
	# Every tunable back to its default, then the scenario's own.
	ok=1
	for kv in $DEFAULTS $tunables; do
		name=${kv%%=*}
		val=${kv#*=}
		kset "$name" "$val" || fail "sysctl $name=$val in $KNS"
		if ! sset "$name" "$val"; then
			# Defaults already hold on a fresh stack; only changes need the view.
			case " $tunables " in *" $kv "*) ok=0 ;; esac
		fi
	done
	if [ $ok = 0 ]; then
		msg="scenario $sc needs the FUSE view to set $tunables on the stack, but $SYSDIR is missing"
		[ "${CI:-}" = true ] && fail "$msg"
		echo "SKIP: $msg"
		skipped+=("$sc")
		continue
	fi
	timeout 40 ip netns exec "$PNS" "$TL_DIFFPROBE" -v -i tlp0 "$sc" \
		>"$T/$sc.kernel" 2>"$T/$sc.kernel.err" &
	kp=$!
	timeout 40 ip netns exec "$LAB_NS" "$TL_DIFFPROBE" -v -i tl0 "$sc" \
		>"$T/$sc.stack" 2>"$T/$sc.stack.err" &
	sp=$!
	wait $kp || fail "tl-diffprobe $sc against the kernel failed: $(tail -3 "$T/$sc.kernel.err")"
	wait $sp || fail "tl-diffprobe $sc against the stack failed: $(tail -3 "$T/$sc.stack.err")"
	if "$TL_DIFFPROBE" compare "$T/$sc.kernel" "$T/$sc.stack" >"$T/$sc.diff"; then
		note "$sc: stack and kernel reply alike ($(grep -c '^<' "$T/$sc.kernel") replies)"
	else
		mismatched+=("$sc")
		{
			echo "MISMATCH in scenario $sc"
			cat "$T/$sc.diff"
			echo "---- kernel transcript"
			cat "$T/$sc.kernel"
			echo "---- stack transcript"
			cat "$T/$sc.stack"
			echo "----"
		} >&2
	fi
done

stop_pid "$DPID" 30 || fail "tcplabd did not exit cleanly on SIGTERM"
[ ${#mismatched[@]} = 0 ] || fail "the stack differs from the kernel in: ${mismatched[*]}"
stop_pid "$ESRV" 10 || fail "tl-echo-server did not exit cleanly on SIGTERM"
ip netns delete "$KNS"
ip netns delete "$PNS"
assert_nothing_left
if [ ${#skipped[@]} != 0 ]; then
	echo "PASS: tcp differential (skipped without the FUSE view: ${skipped[*]})"
else
	echo "PASS: tcp differential"
fi
