/* TAP creation inside a namespace, AF_PACKET attachments, and batched
 * non-blocking frame I/O. */
#include "tap_io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "netns.h"

/* The virtio_net_hdr and the offloads the kernel may then use. Only
 * TCPv4 segmentation: we speak no IPv6, and without TUN_F_TSO_ECN the
 * kernel segments ECN superframes itself. */
static int tap_offloads(int fd, const char *ifname, char *err, size_t errlen)
{
	int sz = 10; /* struct virtio_net_hdr, without num_buffers */
	if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot set the vnet header size on TAP %s: %s", ifname,
			 strerror(e));
		return -e;
	}
	int le = 1; /* the header's fields are little-endian on every host */
	if (ioctl(fd, TUNSETVNETLE, &le) < 0 && errno != EINVAL) {
		int e = errno;
		snprintf(err, errlen, "cannot make the vnet header little-endian on TAP %s: %s",
			 ifname, strerror(e));
		return -e;
	}
	if (ioctl(fd, TUNSETOFFLOAD, (unsigned long)(TUN_F_CSUM | TUN_F_TSO4)) < 0) {
		int e = errno;
		snprintf(err, errlen, "cannot enable offloads on TAP %s: %s (set 'offload = off' in the [link])",
			 ifname, strerror(e));
		return -e;
	}
	return 0;
}

int tap_open(const char *netns, const char *ifname, bool offload, int *fd_out, char *err,
	     size_t errlen)
{
	int saved;
	int rc = netns_enter(netns, &saved);
	if (rc < 0) {
		snprintf(err, errlen, "cannot enter namespace %s: %s", netns, strerror(-rc));
		return rc;
	}
	/* The device is created in the namespace of the thread that issues
	 * TUNSETIFF and stays there; the fd keeps working from anywhere. */
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open /dev/net/tun: %s", strerror(errno));
		goto out;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (offload ? IFF_VNET_HDR : 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create TAP %s in namespace %s: %s", ifname,
			 netns, strerror(errno));
		close(fd);
		goto out;
	}
	if (offload && (rc = tap_offloads(fd, ifname, err, errlen)) < 0) {
		close(fd);
		goto out;
	}
	*fd_out = fd;
out:
	netns_leave(saved);
	return rc;
}

int packet_open(const char *netns, const char *ifname, int *fd_out, bool *offload, char *err,
		size_t errlen)
{
	int saved = -1, rc = 0;
	if (netns && (rc = netns_enter(netns, &saved)) < 0) {
		snprintf(err, errlen, "cannot enter namespace %s: %s", netns, strerror(-rc));
		return rc;
	}
	/* The socket stays bound to the namespace it was made in. */
	/* Protocol 0: nothing arrives until bind() names the interface (with
	 * ETH_P_ALL here, every interface's frames would queue up first). */
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	unsigned idx = if_nametoindex(ifname);
	int one = 1;
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open an AF_PACKET socket: %s", strerror(-rc));
		goto out;
	}
	if (!idx) {
		rc = -ENODEV;
		snprintf(err, errlen, "no interface %s in %s%s (attach = packet joins an existing one)",
			 ifname, netns ? "namespace " : "the daemon's namespace", netns ? netns : "");
		goto fail;
	}
	/* Superframes with their virtio_net_hdr, as from an offload TAP; an
	 * old kernel without it gets plain frames. */
	*offload = setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0;
	/* Our own writes must not come back as input (a forwarding loop). */
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot ignore outgoing frames on %s: %s", ifname, strerror(-rc));
		goto fail;
	}
	int bufsz = 4 << 20;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	/* Up before bind: binding to a down interface leaves ENETDOWN
	 * pending on the socket. */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
			rc = -errno;
			snprintf(err, errlen, "cannot bring %s up: %s", ifname, strerror(-rc));
			goto fail;
		}
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = (int)idx };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot bind to %s: %s", ifname, strerror(-rc));
		goto fail;
	}
	/* Frames for every MAC behind this port, not just the interface's. */
	struct packet_mreq mr = { .mr_ifindex = (int)idx, .mr_type = PACKET_MR_PROMISC };
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot make %s promiscuous: %s", ifname, strerror(-rc));
		goto fail;
	}
	*fd_out = fd;
	goto out;
fail:
	close(fd);
out:
	if (saved >= 0)
		netns_leave(saved);
	return rc;
}

int tap_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx)
{
	/* One buffer for every read (the loop thread's): a superframe is
	 * handed on or copied out before the next read. */
	static _Thread_local uint8_t buf[TAP_FRAME_MAX];
	unsigned n = 0;
	while (n < max) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			return -errno;
		}
		n++;
		fn(ctx, buf, (size_t)r);
	}
	return (int)n;
}

int tap_write(int fd, const uint8_t *hdr, size_t hdr_len, const uint8_t *frame, size_t len)
{
	struct iovec iov[2] = { { (void *)hdr, hdr_len }, { (void *)frame, len } };
	for (;;) {
		ssize_t w = hdr_len ? writev(fd, iov, 2) : write(fd, frame, len);
		if (w >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}
