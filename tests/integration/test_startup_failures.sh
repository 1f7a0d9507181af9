#!/bin/bash
# Integration: each start-up failure prints exactly one line saying what is
# wrong and what to do, exits non-zero and leaves nothing behind: namespace
# taken by a live tcplabd (which keeps working), a lab address outside
# 198.18.0.0/15, a busy mount point, no root, no /dev/net/tun.
. "$(dirname "$0")/lib.sh"
require ping
setup fail
NS=$(new_ns fail)
NS2=$(new_ns fail2)
write_lab "$T/lab" "$NS"

# expect_failure TAG PATTERN CMD...: CMD fails with one stderr line
# matching PATTERN.
expect_failure() {
	local tag=$1 pattern=$2 rc
	shift 2
	"$@" 2>"$T/$tag.log"
	rc=$?
	[ $rc -ne 0 ] || fail "$tag: exit status 0, expected a failure"
	[ "$(wc -l <"$T/$tag.log")" -eq 1 ] || fail "$tag: expected one line, got: $(cat "$T/$tag.log")"
	grep -q -- "$pattern" "$T/$tag.log" || fail "$tag: message lacks '$pattern': $(cat "$T/$tag.log")"
	note "$tag: exit $rc: $(cat "$T/$tag.log")"
}

# 1. Namespace name taken by a live daemon.
start_daemon first "$T/lab" || fail "first tcplabd did not become ready"
FIRST=$DPID
expect_failure taken "namespace name taken: $NS belongs to the running tcplabd pid $FIRST" \
	"$TCPLABD" --lab "$T/lab" --mount "$T/mnt2" --db "$T/h2.db"
ping_ok "$NS" 198.18.0.1
kill -0 "$FIRST" || fail "the first daemon died"
stop_daemon "$FIRST"
assert_nothing_left

# 2. A lab address outside 198.18.0.0/15 (line 7 of the generated lab).
write_lab "$T/bad.lab" "$NS2" 10.0.0.1/24
expect_failure badlab "bad lab file $T/bad.lab, line 7: address 10.0.0.1 is outside 198.18.0.0/15" \
	"$TCPLABD" --lab "$T/bad.lab" --mount "$T/mnt"

# 3. The mount point is already a mount point.
mkdir -p "$T/busy"
mount -t tmpfs tl-test-busy "$T/busy" || fail "cannot mount a tmpfs on $T/busy"
expect_failure busy "mount point busy: $T/busy is already a mount point (tmpfs)" \
	"$TCPLABD" --lab "$T/lab" --mount "$T/busy"
umount "$T/busy"

# 4. Not root (if an unprivileged user can reach the binary).
if command -v setpriv >/dev/null &&
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$TCPLABD" 2>/dev/null; then
	expect_failure notroot "must run as root" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$TCPLABD" --lab "$T/lab" --mount "$T/mnt"
else
	note "not-root case skipped: nobody cannot execute $TCPLABD"
fi

# 5. No /dev/net/tun (hidden by a tmpfs in a private mount namespace).
if command -v unshare >/dev/null; then
	expect_failure notun "no /dev/net/tun" \
		unshare -m --propagation private sh -c 'mount -t tmpfs none /dev/net && exec "$0" "$@"' \
		"$TCPLABD" --lab "$T/lab" --mount "$T/mnt"
fi

assert_nothing_left
echo "PASS"
