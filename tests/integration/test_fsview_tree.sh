#!/bin/bash
# Integration: the FUSE view with ordinary shell tools on a real mount.
# ls/find/cat/grep over the whole tree terminate; modes are /proc's (root
# owns everything, tunables 0644, the rest read-only, nothing writable by
# others) and the kernel enforces them for a non-root reader; net/tcp,
# parsed by a parser of its own, lists exactly the live connections that
# the namespace's kernel reports; snmp/netstat come in header/value pairs;
# conns/<id>/ has the connection's variables and timeline; tunable writes
# follow Linux (echo, O_TRUNC, partial writes) and every kind of refused
# value gives EINVAL, keeps the value and logs one line; a SIGKILLed
# daemon's mount is cleaned up by the next start; nothing is left behind.
. "$(dirname "$0")/lib.sh"
require python3 find grep setpriv
[ -x "${TL_CONNMANY:-}" ] || fail "TL_CONNMANY is not set (run through meson test)"
setup fsview
NS=$(new_ns fsv)
NSS+=("$NS") # new_ns ran in a subshell: register it here
write_lab "$T/lab" "$NS"
M="$T/mnt"
S="$M/hosts/stack"
IPV4="$S/sys/net/ipv4"

# wait_for SECONDS CMD...: runs CMD every 0.1 s until it succeeds.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -ge "$end" ] && return 1
		sleep 0.1
	done
}

# try_write FILE BYTES: one open(O_WRONLY|O_TRUNC) and one write(2) of
# BYTES (Python escapes allowed); prints "ok N" or the errno name.
try_write() {
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
data = sys.argv[2].encode().decode("unicode_escape").encode("latin1")
try:
    fd = os.open(sys.argv[1], os.O_WRONLY | os.O_TRUNC)
except OSError as e:
    print(errno.errorcode[e.errno]); sys.exit(0)
try:
    print("ok", os.write(fd, data))
except OSError as e:
    print(errno.errorcode[e.errno])
finally:
    os.close(fd)
PY
}

start_daemon main "$T/lab" || fail "tcplabd did not become ready"
PID=$DPID
grep -q " $M fuse.tcplab " /proc/mounts || fail "no fuse.tcplab mount on $M: $(grep tcplab /proc/mounts)"
opts=$(awk -v m="$M" '$2 == m {print $4}' /proc/mounts)
for o in default_permissions allow_other; do
	echo "$opts" | grep -qw "$o" || fail "mount options lack $o: $opts"
done
REGENTRY="/run/tcplabd/mount.$(echo "$M" | sed 's|/|%2F|g')"
[ -e "$REGENTRY" ] || fail "the mount is not recorded in the registry: $(ls /run/tcplabd)"
note "mounted on $M ($opts)"

# ---- the tree ----
[ "$(ls "$M")" = "$(printf 'events\nhosts\nlinks\nrouters')" ] || fail "root lists: $(ls "$M" | tr '\n' ' ')"
[ -z "$(ls "$M/routers")" ] || fail "routers/ of a lab without routers: $(ls "$M/routers")"
[ "$(readlink "$M/events")" = ".events" ] || fail "events is not a link to .events"
for f in net/tcp net/snmp net/netstat net/connections sys/net/core/somaxconn \
	sys/net/tcplab/msl_ms sys/net/ipv4/tcp_synack_retries sys/net/ipv4/tcp_syncookies \
	sys/net/ipv4/tcp_syn_retries sys/net/ipv4/tcp_fin_timeout sys/net/ipv4/tcp_rmem; do
	[ -f "$S/$f" ] || fail "missing hosts/stack/$f"
done
for f in mtu endpoints counters; do
	[ -f "$M/links/l0/$f" ] || fail "missing links/l0/$f"
done
[ "$(cat "$M/links/l0/mtu")" = 1500 ] || fail "links/l0/mtu: $(cat "$M/links/l0/mtu")"
# The device edge's counters, each a name and a number; the wire's two
# directions, each its counters and its knobs.
[ "$(awk '{print $1}' "$M/links/l0/counters" | tr '\n' ' ')" = \
	"to_peer_dropped from_peer_errors from_peer_nobuf from_peer_bad_vnet " ] ||
	fail "links/l0/counters: $(cat "$M/links/l0/counters")"
grep -qv '^[a-z_]* [0-9][0-9]*$' "$M/links/l0/counters" && fail "links/l0/counters: $(cat "$M/links/l0/counters")"
for f in to_stack.counters to_stack.loss to_kernel.counters to_kernel.delay; do
	[ -f "$M/links/l0/$f" ] || fail "missing links/l0/$f"
done
# Lab-only knobs never sit among Linux names, and the reverse.
for f in $(ls "$S/sys/net/tcplab"); do
	[ -e "$IPV4/$f" ] && fail "lab knob $f also under net/ipv4"
done
[ -e "$IPV4/msl_ms" ] && fail "msl_ms under net/ipv4"
note "tree: $(find "$M" | wc -l) entries"

# ---- modes, as /proc ----
ls -l "$IPV4/tcp_synack_retries" | grep -q '^-rw-r--r-- 1 root root 0 ' ||
	fail "tunable mode: $(ls -l "$IPV4/tcp_synack_retries")"
ls -l "$IPV4/tcp_available_congestion_control" | grep -q '^-r--r--r-- 1 root root 0 ' ||
	fail "read-only tunable mode: $(ls -l "$IPV4/tcp_available_congestion_control")"
ls -l "$S/net/tcp" | grep -q '^-r--r--r-- 1 root root 0 ' || fail "net/tcp mode: $(ls -l "$S/net/tcp")"
ls -ld "$S/net" | grep -q '^dr-xr-xr-x ' || fail "directory mode: $(ls -ld "$S/net")"
others=$(find "$M" -perm -o+w ! -type l)
[ -z "$others" ] || fail "writable by others: $others"
[ "$(find "$M" ! -user root | wc -l)" -eq 0 ] || fail "not owned by root: $(find "$M" ! -user root)"
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
nobody cat "$IPV4/tcp_synack_retries" >/dev/null || fail "nobody cannot read a tunable"
nobody cat "$S/net/tcp" >/dev/null || fail "nobody cannot read net/tcp"
nobody sh -c "echo 2 > $IPV4/tcp_synack_retries" 2>"$T/nobody.err" && fail "nobody could write a tunable"
grep -q "Permission denied" "$T/nobody.err" || fail "nobody's write: $(cat "$T/nobody.err")"
note "modes: tunables 0644 root, the rest read-only; nobody reads, cannot write"

# ---- a few live connections, seen by the namespace and by net/tcp ----
mkfifo "$T/hold"
ip netns exec "$NS" "$TL_CONNMANY" 198.18.0.1 8002 5 <"$T/hold" >"$T/connmany.log" 2>&1 &
CM=$!
PIDS+=("$CM")
exec 7>"$T/hold"
wait_for 20 grep -q "^connected 5 failed 0" "$T/connmany.log" || fail "tl-connmany: $(cat "$T/connmany.log")"

ip netns exec "$NS" ss -tnH state established dst 198.18.0.1 |
	awk '{print $4, $3}' | sort >"$T/kernel.conns"
[ "$(wc -l <"$T/kernel.conns")" -eq 5 ] || fail "the namespace has $(wc -l <"$T/kernel.conns") connections"
cp "$S/net/tcp" "$T/net_tcp"
python3 - "$T/net_tcp" >"$T/view.conns" 2>"$T/parse.err" <<'PY' || fail "net/tcp does not parse: $(cat "$T/parse.err")"
# An independent /proc/net/tcp parser: fixed header, 149-character lines,
# little-endian hex addresses, hex ports and states.
import socket, struct, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[-1] == "", "no final newline"
lines = lines[:-1]
assert lines[0].split() == ["sl", "local_address", "rem_address", "st", "tx_queue",
                            "rx_queue", "tr", "tm->when", "retrnsmt", "uid", "timeout",
                            "inode"], lines[0]
def addr(s):
    ip, port = s.split(":")
    return "%s:%d" % (socket.inet_ntoa(struct.pack("<I", int(ip, 16))), int(port, 16))
listen = set()
for i, line in enumerate(lines):
    assert len(line) == 149, "line %d has %d characters" % (i, len(line))
    if i == 0:
        continue
    f = line.split()
    assert f[0] == "%d:" % (i - 1), f[0]
    st = int(f[3], 16)
    if st == 0x0A:
        listen.add(addr(f[1]))
    elif st == 0x01:
        print(addr(f[1]), addr(f[2]))
want = {"198.18.0.1:%d" % p for p in (7, 9, 19, 80, 8001, 8002)}
assert listen == want, "listeners %s" % sorted(listen)
PY
sort -o "$T/view.conns" "$T/view.conns"
diff "$T/kernel.conns" "$T/view.conns" >"$T/conns.diff" ||
	fail "net/tcp and the namespace disagree: $(cat "$T/conns.diff")"
note "net/tcp (own parser) lists the 5 connections ss shows in $NS, and the 6 listeners"

# net/connections and conns/<id>/ for one of them.
grep -q "^State      Recv-Q Send-Q Local Address:Port    Peer Address:Port     Conn$" "$S/net/connections" ||
	fail "net/connections header: $(head -1 "$S/net/connections")"
line=$(grep "^ESTAB .*198.18.0.1:8002 " "$S/net/connections" | head -1)
[ -n "$line" ] || fail "no ESTAB row in net/connections"
id=$(echo "$line" | awk '{print $NF}')
peer=$(echo "$line" | awk '{print $5}')
C="$S/conns/$id"
[ -d "$C" ] || fail "no conns/$id"
[ "$(cat "$C/state")" = ESTABLISHED ] || fail "conns/$id/state: $(cat "$C/state")"
[ "$(cat "$C/remote")" = "$peer" ] || fail "conns/$id/remote: $(cat "$C/remote"), want $peer"
for v in local snd_una snd_nxt rcv_nxt snd_wnd rcv_wnd snd_wscale rcv_wscale rtt_us rttvar_us \
	rto_us cwnd ssthresh retransmits send_queue recv_queue info timeline; do
	[ -f "$C/$v" ] || fail "conns/$id/$v missing"
done
grep -q "^snd_una $(cat "$C/snd_una")$" "$C/info" || fail "snd_una differs between info and its file"
grep -q " LISTEN -> SYN_RECV (SYN)$" "$C/timeline" || fail "timeline: $(cat "$C/timeline")"
grep -q " SYN_RECV -> ESTABLISHED (ACK)$" "$C/timeline" || fail "timeline: $(cat "$C/timeline")"
awk -v id="$id" '$10 == id && $4 == "01"' "$S/net/tcp" | grep -q . || fail "net/tcp inode column lacks $id"
note "conns/$id: $(cat "$C/state") $(cat "$C/local") -> $(cat "$C/remote"), timeline $(wc -l <"$C/timeline") lines"

# snmp and netstat: header/value line pairs with matching prefixes and counts.
for f in snmp netstat; do
	awk 'NR % 2 == 1 {h = $1; n = NF; next}
	     $1 != h || NF != n {print "pair at line " NR " does not match"; bad = 1}
	     END {exit bad}' "$S/net/$f" || fail "net/$f is not in header/value pairs"
done
grep -q "^Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens " "$S/net/snmp" ||
	fail "net/snmp has no Tcp header"
estab=$(awk '/^Tcp:/ {n++; if (n == 1) for (i = 1; i <= NF; i++) if ($i == "CurrEstab") c = i; if (n == 2) print $c}' "$S/net/snmp")
[ "$estab" -ge 5 ] || fail "Tcp CurrEstab is $estab with 5 connections open"

# ---- whole-tree tools terminate ----
timeout 30 find "$M" -type f -exec cat {} + >/dev/null || fail "cat over the whole tree failed"
timeout 30 grep -r -q "198.18.0.1:8002" "$M" || fail "grep -r over the tree found no connection"
timeout 30 ls -lR "$M" >/dev/null || fail "ls -lR failed"
if command -v less >/dev/null; then
	out=$(timeout 10 less "$S/net/connections" </dev/null | grep -c ESTAB)
	[ "$out" -ge 5 ] || fail "less shows $out ESTAB rows"
fi
note "find/cat/grep -r/ls -lR/less over the tree: all end"

# Closing the connections empties conns/ of them.
exec 7>&-
wait "$CM" # tl-connmany ends at end of input
forget_pid "$CM"
wait_for 20 sh -c "! grep -q ' 01 ' $S/net/tcp" || fail "connections still ESTABLISHED in net/tcp"

# ---- tunable writes ----
echo 3 >"$IPV4/tcp_synack_retries" || fail "echo 3 > tcp_synack_retries failed"
[ "$(cat "$IPV4/tcp_synack_retries")" = 3 ] || fail "tcp_synack_retries reads $(cat "$IPV4/tcp_synack_retries")"
# A snapshot per open: each cat sees the current value (what watch does).
printf 4 >"$IPV4/tcp_synack_retries"
[ "$(cat "$IPV4/tcp_synack_retries")" = 4 ] || fail "second cat did not see the new value"
r=$(try_write "$IPV4/tcp_fin_timeout" '7 8\n')
[ "$r" = "ok 2" ] || fail "\"7 8\" on tcp_fin_timeout: $r (Linux takes 2 bytes)"
[ "$(cat "$IPV4/tcp_fin_timeout")" = 7 ] || fail "tcp_fin_timeout after \"7 8\": $(cat "$IPV4/tcp_fin_timeout")"
echo "7 8" >"$IPV4/tcp_fin_timeout" || fail "echo \"7 8\" (a partial write) failed"
echo 0x20 >"$IPV4/tcp_synack_retries" && [ "$(cat "$IPV4/tcp_synack_retries")" = 32 ] ||
	fail "hex value not taken"
echo -1 >"$IPV4/tcp_max_syn_backlog" && [ "$(cat "$IPV4/tcp_max_syn_backlog")" = -1 ] ||
	fail "-1 on tcp_max_syn_backlog (Linux accepts it) refused"
: >"$IPV4/tcp_synack_retries" || fail "an empty write (open with O_TRUNC) failed"
[ "$(cat "$IPV4/tcp_synack_retries")" = 32 ] || fail "an empty write changed the value"
echo 5 >"$IPV4/tcp_synack_retries"

# Refused values: EINVAL, value kept, one log line each.
check_refused() { # FILE BYTES
	local before after r kept
	kept=$(cat "$1")
	before=$(grep -c "refused" "$T/main.log")
	r=$(try_write "$1" "$2")
	[ "$r" = EINVAL ] || fail "$(basename "$1") <- '$2': $r, want EINVAL"
	[ "$(cat "$1")" = "$kept" ] || fail "$(basename "$1") <- '$2' changed the value to $(cat "$1")"
	after=$(grep -c "refused" "$T/main.log")
	[ $((after - before)) -eq 1 ] || fail "$(basename "$1") <- '$2' logged $((after - before)) lines"
}
check_refused "$IPV4/tcp_synack_retries" 'abc\n'
check_refused "$IPV4/tcp_synack_retries" '5abc\n'
check_refused "$IPV4/tcp_synack_retries" '256\n'
check_refused "$IPV4/tcp_synack_retries" '\n'
check_refused "$IPV4/tcp_synack_retries" '-1\n'
check_refused "$IPV4/tcp_syn_retries" '0\n'
check_refused "$IPV4/tcp_syn_retries" '128\n'
check_refused "$IPV4/tcp_tw_reuse" '3\n'
check_refused "$IPV4/tcp_fin_timeout" '99999999999\n'
check_refused "$S/sys/net/core/somaxconn" '-1\n'
check_refused "$IPV4/ip_local_port_range" '40000 30000\n'
check_refused "$S/sys/net/tcplab/msl_ms" '0\n'
note "$(grep refused "$T/main.log" | tail -1 | sed 's/^tcplabd: //')"
echo bogus >"$IPV4/tcp_congestion_control" 2>/dev/null && fail "unknown congestion control accepted"
[ "$(cat "$IPV4/tcp_congestion_control")" = cubic ] || fail "tcp_congestion_control changed"
echo reno >"$IPV4/tcp_congestion_control" && [ "$(cat "$IPV4/tcp_congestion_control")" = reno ] ||
	fail "reno not taken"

# Read-only files refuse writes, even root's.
for f in "$S/net/tcp" "$S/net/snmp" "$IPV4/tcp_available_congestion_control" "$M/links/l0/mtu"; do
	r=$(try_write "$f" '1\n')
	[ "$r" = EACCES ] || fail "write to $f: $r, want EACCES"
done
touch "$S/net/newfile" 2>/dev/null && fail "created a file in the view"
mkdir "$S/newdir" 2>/dev/null && fail "created a directory in the view"
note "writes: echo, O_TRUNC, partial and refused writes as Linux; read-only files refuse writes"

# ---- a crashed daemon's mount is cleaned at the next start ----
kill -KILL "$PID"
wait "$PID" 2>/dev/null
forget_pid "$PID"
grep -q " $M fuse.tcplab " /proc/mounts || fail "the SIGKILLed daemon's mount vanished by itself"
start_daemon second "$T/lab" || fail "second tcplabd did not become ready"
grep -q "unmounted stale FUSE mount $M left by crashed tcplabd pid $PID" "$T/second.log" ||
	fail "no stale-mount line: $(cat "$T/second.log")"
[ "$(grep -c " $M " /proc/mounts)" -eq 1 ] || fail "mounts on $M: $(grep " $M " /proc/mounts)"
[ "$(cat "$IPV4/tcp_synack_retries")" = 5 ] || fail "the new view does not serve"
note "$(grep "unmounted stale" "$T/second.log" | sed 's/^tcplabd: //')"

stop_daemon "$DPID"
grep -q " $M " /proc/mounts && fail "still mounted after SIGTERM"
[ -e "$REGENTRY" ] && fail "registry entry $REGENTRY left behind"
# The first daemon created the directory and died; the second found it.
[ -d "$M" ] && [ -z "$(ls -A "$M")" ] || fail "$M is not an empty directory after the stop"
grep -q "error:" "$T/main.log" "$T/second.log" && fail "errors logged: $(grep -h error: "$T"/*.log)"
assert_nothing_left
echo "PASS"
