/* TAP creation inside a namespace and batched non-blocking frame I/O. */
#include "tap_io.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netns.h"

int tap_open(const char *netns, const char *ifname, int *fd_out, char *err,
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
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot create TAP %s in namespace %s: %s", ifname,
			 netns, strerror(errno));
		close(fd);
		goto out;
	}
	*fd_out = fd;
out:
	netns_leave(saved);
	return rc;
}

int tap_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx)
{
	uint8_t buf[TAP_FRAME_MAX];
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

int tap_write(int fd, const uint8_t *frame, size_t len)
{
	for (;;) {
		ssize_t w = write(fd, frame, len);
		if (w >= 0)
			return 0;
		if (errno != EINTR)
			return -errno;
	}
}
