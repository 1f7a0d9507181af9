# Shared helpers for the integration tests (sourced, not run). Each test
# uses its own namespace name and temp dir, cleans up on any exit, and
# asserts at the end that nothing of its own is left behind.
#
# Environment (set by tests/integration/meson.build): TCPLABD, TCPLAB,
# TL_RAWSEND. Run as root; without root the tests skip (exit 77) unless
# CI=true, where they fail instead.

set -u

PIDS=()
NSS=()
T=""
LINKS_BEFORE=""

fail() {
	echo "FAIL: $*" >&2
	if [ -n "$T" ]; then
		for f in "$T"/*.log; do
			[ -s "$f" ] || continue
			echo "---- $f" >&2
			tail -n 30 "$f" >&2
		done
	fi
	exit 1
}

note() { echo "# $*"; }

# Root (namespaces, TAP) and the tools the test needs.
require() {
	if [ "$(id -u)" != 0 ]; then
		if [ "${CI:-}" = true ]; then
			echo "FAIL: CI=true but not root: the integration tests need root (namespaces, TAP)" >&2
			exit 1
		fi
		echo "SKIP: needs root (namespaces, TAP)"
		exit 77
	fi
	for tool in ip "$@"; do
		command -v "$tool" >/dev/null || fail "missing tool $tool: run scripts/deps.sh"
	done
	[ -x "${TCPLABD:-}" ] || fail "TCPLABD is not set to the tcplabd binary (run through meson test)"
}

our_links() { ip -br link | awk '{print $1}' | grep -E '^(tl|tcplab)' | sort; }

cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	for ns in $(my_namespaces); do
		ip netns delete "$ns" 2>/dev/null
		rm -f "/run/tcplabd/netns.$ns"
	done
	if [ -n "$T" ]; then
		grep -F " $T/" /proc/mounts | awk '{print $2}' | while read -r m; do
			umount -l "$m" 2>/dev/null
		done
		rm -rf "$T"
	fi
}

# Sets up T (temp dir) and cleanup; $1 is the test's short tag.
setup() {
	T=$(mktemp -d "/tmp/tl-$1.XXXXXX") || fail "mktemp"
	chmod 755 "$T"
	trap cleanup EXIT
	trap 'exit 1' INT TERM HUP
	LINKS_BEFORE=$(our_links)
}

# Every namespace this test made: new_ns names them tl-TAG-$$, and since
# new_ns usually runs in $(...) (a subshell, where NSS+= is lost) cleanup
# also finds them by that suffix ($$ is the test's pid even in subshells).
my_namespaces() {
	{
		printf '%s\n' "${NSS[@]}"
		ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^tl-.*-$$\$"
	} | grep -v '^$' | sort -u
}

# new_ns TAG: a unique namespace name, registered for cleanup.
new_ns() {
	local ns="tl-$1-$$"
	NSS+=("$ns")
	echo "$ns"
}

# write_lab FILE NETNS [STACK_ADDR]: the default lab shape, in our own
# namespace, addresses 198.18.0.1 (stack) and .2 (kernel).
write_lab() {
	cat >"$1" <<LAB
[link l0]
mtu = 1500

[host stack]
kind = stack
link = l0
address = ${3:-198.18.0.1/24}
mac = 02:74:6c:00:00:01

[host peer]
kind = kernel
link = l0
netns = $2
interface = tl0
address = 198.18.0.2/24
gateway = 198.18.0.1
LAB
}

# link_lab FILE NETNS KNOB-LINES: the default lab shape whose link carries
# impairment knobs (KNOB-LINES with \n between lines, e.g. 'delay = 50ms').
link_lab() {
	printf '[link l0]\n%b\n' "$3" >"$1"
	cat >>"$1" <<LAB
[host stack]
kind = stack
link = l0
address = 198.18.0.1/24
mac = 02:74:6c:00:00:01

[host peer]
kind = kernel
link = l0
netns = $2
interface = tl0
address = 198.18.0.2/24
gateway = 198.18.0.1
LAB
}

# start_daemon TAG LAB [ARGS...]: starts tcplabd in the background, logs in
# $T/TAG.log, and waits (bounded) for READY=1 on --ready-fd. Sets DPID.
# Returns non-zero if the daemon exits or stalls before it is ready.
start_daemon() {
	local tag=$1 lab=$2 line=""
	shift 2
	mkfifo "$T/$tag.ready"
	"$TCPLABD" --lab "$lab" --mount "$T/mnt" --db "$T/history.db" \
		--ready-fd 3 "$@" 3>"$T/$tag.ready" 2>"$T/$tag.log" &
	DPID=$!
	PIDS+=("$DPID")
	# EOF (daemon died) or timeout ends the read: no sleep involved.
	read -r -t 30 line <"$T/$tag.ready" || true
	[ "$line" = "READY=1" ]
}

# wait_exit PID SECONDS: waits for our child PID; SIGKILLs it if it takes
# longer than SECONDS. Returns its exit status. (A bounded poll: a watchdog
# subshell could outlive the child and fire the test's traps.)
wait_exit() {
	local pid=$1 secs=$2 rc i
	for ((i = 0; i < secs * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	wait "$pid"
	rc=$?
	forget_pid "$pid"
	return $rc
}

# forget_pid PID: PID was reaped; never signal that number again (it may
# belong to someone else by now).
forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# stop_daemon PID: SIGTERM, expect exit status 0.
stop_daemon() {
	local rc
	kill -TERM "$1" || fail "daemon $1 is not running"
	wait_exit "$1" 30
	rc=$?
	[ $rc -eq 0 ] || fail "tcplabd exited with status $rc after SIGTERM"
}

# ping_ok NS ADDR: 3 echo requests, 3 replies.
ping_ok() {
	local out
	out=$(ip netns exec "$1" ping -c 3 -W 1 -i 0.2 "$2" 2>&1)
	echo "$out" | grep -q " 3 received" || fail "ping $2 from $1: $out"
}

# assert_nothing_left: no namespace, registry entry, link, mount or
# process of this test remains.
assert_nothing_left() {
	local ns p
	for ns in $(my_namespaces); do
		ip netns list | awk '{print $1}' | grep -qx "$ns" && fail "namespace $ns left behind"
		[ -e "/run/tcplabd/netns.$ns" ] && fail "registry entry for $ns left behind"
	done
	# A link whose peer was in a deleted namespace goes away when the
	# kernel's netns cleanup work runs, a little later: wait for it (bounded).
	local links
	for _ in $(seq 50); do
		links=$(our_links)
		[ "$links" = "$LINKS_BEFORE" ] && break
		sleep 0.1
	done
	[ "$links" = "$LINKS_BEFORE" ] || fail "links left in the root namespace: $(comm -13 <(echo "$LINKS_BEFORE") <(echo "$links") | tr '\n' ' ')"
	grep -qF " $T/" /proc/mounts && fail "mount left behind: $(grep -F " $T/" /proc/mounts)"
	for p in "${PIDS[@]}"; do
		kill -0 "$p" 2>/dev/null && fail "process $p left behind"
	done
	pgrep -f -- "--lab $T/" >/dev/null && fail "tcplabd process left behind: $(pgrep -af -- "--lab $T/")"
	return 0
}
