#!/bin/bash
# Installs (Debian/Ubuntu, apt) what tcplab needs to build, test and run,
# only the packages that are missing. Runs `apt-get update` first only if
# something must be installed. Safe to run again; needs root to install.
set -euo pipefail

packages=(
	# build
	gcc libc6-dev pkgconf meson ninja-build
	libevent-dev      # the daemon's event loop
	libfuse3-dev fuse3 # the procfs-style view (later issue)
	libsqlite3-dev    # connection history (later issue)
	libsodium-dev     # SipHash for ISNs and SYN cookies
	libcmocka-dev     # unit tests
	# run and test
	iproute2          # ip netns / ip link / ip addr
	iputils-ping iputils-arping
	netcat-openbsd curl  # TCP interop tests against the stack
	iperf3            # bench/links: kernel to kernel through the daemon and over veth
	util-linux        # unshare, setpriv, mountpoint (integration tests)
	procps            # pgrep
	python3           # scripts/test.sh summary (meson needs it anyway)
	tcpdump           # client tests: captures, the flood's sources on the wire
	librsvg2-bin      # rsvg-convert: the client tests render its SVG diagrams to PNG
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages and not root: run \`sudo bash scripts/deps.sh\`" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update </dev/null
apt-get install -y --no-install-recommends "${missing[@]}" </dev/null
