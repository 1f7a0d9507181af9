#!/bin/bash
# Builds tcplab into build/ and runs tcplabd in the foreground with the
# default lab (labs/default.lab). Extra arguments go to tcplabd (e.g. -v).
# Stop it with Ctrl-C: the lab is torn down.
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

cat <<'TOUR'

== tcplab: starting tcplabd with the default lab ==

  tcplab-peer (Linux namespace)                     tcplabd (userspace stack)
  tl0  198.18.0.2/24  <------- link peer0 ------->  stack  198.18.0.1/24
                                                           MAC 02:74:6c:00:00:01

Try, in another terminal:
  sudo ip netns exec tcplab-peer ping -c 3 198.18.0.1       # the stack answers
  sudo ip netns exec tcplab-peer arping -c 2 -I tl0 198.18.0.1
  sudo ip -n tcplab-peer neigh                               # its MAC, learnt by Linux
  sudo ip netns exec tcplab-peer tcpdump -eni tl0            # watch the wire
  sudo kill -USR1 "$(pgrep -x tcplabd)"                      # counters, logged here
  build/client/tcplab status                                 # is it running?

Stop with Ctrl-C: the namespace and the TAP device go away.

TOUR
exec build/daemon/tcplabd "$@"
