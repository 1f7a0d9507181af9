/* Readiness notification (see notify.h). The sd_notify protocol is one
 * AF_UNIX datagram with "KEY=value" lines; a socket path starting with '@'
 * is in the abstract namespace. */
#include "notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int notify_check_fd(int fd)
{
	int flags = fcntl(fd, F_GETFD);
	if (flags < 0)
		return -errno;
	return fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0 ? -errno : 0;
}

int notify_systemd(const char *state)
{
	const char *path = getenv("NOTIFY_SOCKET");
	if (!path || !path[0])
		return 0;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(path);
	if (len >= sizeof(sa.sun_path) || (path[0] != '/' && path[0] != '@'))
		return -EINVAL;
	memcpy(sa.sun_path, path, len);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	socklen_t salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	int rc = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa,
			salen) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

int notify_ready(int fd)
{
	int rc = 0;
	if (fd >= 0) {
		static const char msg[] = "READY=1\n";
		ssize_t w;
		do
			w = write(fd, msg, sizeof(msg) - 1);
		while (w < 0 && errno == EINTR);
		if (w != (ssize_t)(sizeof(msg) - 1))
			rc = w < 0 ? -errno : -EIO;
		close(fd);
	}
	int rc2 = notify_systemd("READY=1");
	return rc ? rc : rc2;
}
