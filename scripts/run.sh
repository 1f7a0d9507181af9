#!/bin/bash
# Builds tcplab into build/, starts tcplabd with the default lab
# (labs/default.lab), runs the tour (`tcplab tour`: the TCP states, live)
# and keeps the daemon running with its log in the foreground. Extra
# arguments go to tcplabd (e.g. -v). Stop it with Ctrl-C: the lab is torn
# down.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
	echo "run.sh: tcplabd creates network namespaces and TAP devices: run \`sudo bash scripts/run.sh\`" >&2
	exit 1
fi
bash scripts/deps.sh
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build

# tcplabd in the background until it is ready (its log goes to a file
# while the tour talks), then the tour, then the daemon "in the
# foreground": its log follows here until Ctrl-C stops it.
log=$(mktemp /tmp/tcplabd.XXXXXX.log)
ready=$(mktemp -u /tmp/tcplabd-ready.XXXXXX)
mkfifo "$ready"
echo
echo "== tcplab: starting tcplabd with the default lab (log: $log) =="
build/daemon/tcplabd --ready-fd 3 "$@" 3>"$ready" 2>"$log" &
dpid=$!
line=""
read -r -t 30 line <"$ready" || true
rm -f "$ready"
if [ "$line" != "READY=1" ]; then
	echo "run.sh: tcplabd did not start; its log says:" >&2
	cat "$log" >&2
	wait "$dpid" || true
	exit 1
fi
trap 'kill -TERM "$dpid" 2>/dev/null || true' INT TERM

cat <<'LAB'

  tcplab-peer (Linux namespace)                     tcplabd (userspace stack)
  tl0  198.18.0.2/24  <------- link peer0 ------->  stack  198.18.0.1/24
                                                           MAC 02:74:6c:00:00:01
LAB
echo
build/client/tcplab --pid "$dpid" tour ||
	echo "(the tour reported a problem: see the lines marked with a cross above)"

cat <<HELP

== tcplabd keeps running (pid $dpid); its log follows. Try, in another terminal: ==
  sudo ip netns exec tcplab-peer ping -c 3 198.18.0.1       # the stack answers
  sudo ip netns exec tcplab-peer tcpdump -eni tl0            # watch the wire
  sudo build/client/tcplab ss                                # its sockets, like ss -tan
  build/client/tcplab watch                                  # every transition, live
  sudo build/client/tcplab tour --step 3                     # a step of the tour again
  man -l docs/tcplab.1                                       # everything else

Stop with Ctrl-C (or \`sudo build/client/tcplab down\`): the namespace and the TAP go away.

HELP
tail -n +1 -f --pid="$dpid" "$log" || true
wait "$dpid" || true
