/* tl-connmany: opens many TCP connections to one address and port and
 * keeps them open, for benchmarks and tests that need a big connection
 * table (bench/fsview). Run it in the lab namespace:
 *
 *   ip netns exec NS tl-connmany DSTIP PORT N [SRCIP...]
 *
 * Connections are spread round-robin over the source addresses (each
 * gives one ephemeral port range; default: let the kernel choose), with
 * at most 256 handshakes in flight. Each connection takes a descriptor:
 * with a low hard limit on open files, run several instances. Prints "connected N failed M in S s"
 * once all attempts ended, then holds the connections until stdin reaches
 * end of file, SIGTERM/SIGINT, or 600 s pass, and exits 0 (1 if any
 * connection failed). Bounded: N <= 200000; every address must be in
 * 198.18.0.0/15. Raises its own open-file limit (needs root for large N). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 200000
#define MAX_SRCS 16
#define IN_FLIGHT 256
#define CONNECT_DEADLINE_S 300
#define HOLD_MAX_S 600
#define TL_MAX_RLIM(a, b) ((a) > (b) ? (a) : (b))

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool lab_addr(const char *s, struct in_addr *a)
{
	return inet_pton(AF_INET, s, a) == 1 && (ntohl(a->s_addr) & 0xfffe0000u) == 0xc6120000u;
}

int main(int argc, char **argv)
{
	if (argc < 4 || argc > 4 + MAX_SRCS) {
		fprintf(stderr, "usage: tl-connmany DSTIP PORT N [SRCIP...]\n");
		return 2;
	}
	struct sockaddr_in dst = { .sin_family = AF_INET };
	long port = strtol(argv[2], NULL, 10), n = strtol(argv[3], NULL, 10);
	if (!lab_addr(argv[1], &dst.sin_addr) || port < 1 || port > 65535 || n < 1 ||
	    n > MAX_CONNS) {
		fprintf(stderr, "tl-connmany: DSTIP in 198.18.0.0/15, PORT 1..65535, N 1..%d\n",
			MAX_CONNS);
		return 2;
	}
	dst.sin_port = htons((uint16_t)port);
	int nsrc = argc - 4;
	struct in_addr src[MAX_SRCS];
	for (int i = 0; i < nsrc; i++) {
		if (!lab_addr(argv[4 + i], &src[i])) {
			fprintf(stderr, "tl-connmany: SRCIP %s is not in 198.18.0.0/15\n", argv[4 + i]);
			return 2;
		}
	}
	/* One descriptor per connection: raise the soft limit (and the hard
	 * one if we may); several instances share a larger N otherwise. */
	struct rlimit have;
	getrlimit(RLIMIT_NOFILE, &have);
	rlim_t need = (rlim_t)n + 64;
	if (have.rlim_cur < need) {
		struct rlimit rl = { .rlim_cur = need, .rlim_max = TL_MAX_RLIM(need, have.rlim_max) };
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			fprintf(stderr,
				"tl-connmany: %ld connections need %lu open files, the limit is %lu: "
				"run several instances with fewer each\n",
				n, (unsigned long)need, (unsigned long)have.rlim_max);
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGPIPE, SIG_IGN);

	int ep = epoll_create1(EPOLL_CLOEXEC);
	int *fds = calloc((size_t)n, sizeof(int));
	if (ep < 0 || !fds) {
		fprintf(stderr, "tl-connmany: out of resources\n");
		return 2;
	}
	long started = 0, done = 0, ok = 0, failed = 0;
	int inflight = 0;
	double t0 = now_s();
	while (done < n && !stop && now_s() - t0 < CONNECT_DEADLINE_S) {
		while (inflight < IN_FLIGHT && started < n) {
			int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
			if (fd < 0) {
				fprintf(stderr, "tl-connmany: socket: %s\n", strerror(errno));
				stop = 1;
				break;
			}
			if (nsrc) {
				int one = 1;
				setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
				struct sockaddr_in me = { .sin_family = AF_INET,
							  .sin_addr = src[started % nsrc] };
				if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
					fprintf(stderr, "tl-connmany: bind: %s\n", strerror(errno));
					close(fd);
					stop = 1;
					break;
				}
			}
			fds[started] = fd;
			int rc = connect(fd, (struct sockaddr *)&dst, sizeof(dst));
			if (rc < 0 && errno != EINPROGRESS) {
				fds[started] = -1;
				close(fd);
				failed++;
				done++;
				started++;
				continue;
			}
			struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)started };
			epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
			inflight++;
			started++;
		}
		struct epoll_event evs[IN_FLIGHT];
		int k = epoll_wait(ep, evs, IN_FLIGHT, 1000);
		for (int i = 0; i < k; i++) {
			long idx = (long)evs[i].data.u64;
			int fd = fds[idx], err = 0;
			socklen_t el = sizeof(err);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
			epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
			inflight--;
			done++;
			if (err) {
				close(fd);
				fds[idx] = -1;
				failed++;
			} else {
				ok++;
			}
		}
	}
	printf("connected %ld failed %ld in %.3f s\n", ok, failed + (n - done), now_s() - t0);
	fflush(stdout);

	/* Hold until told to stop: stdin EOF, a signal, or the time bound. */
	double hold_end = now_s() + HOLD_MAX_S;
	while (!stop && now_s() < hold_end) {
		struct pollfd pfd = { .fd = 0, .events = POLLIN };
		int rc = poll(&pfd, 1, 1000);
		if (rc > 0) {
			char buf[256];
			if (read(0, buf, sizeof(buf)) <= 0)
				break;
		}
	}
	for (long i = 0; i < started; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	close(ep);
	return failed || done < n ? 1 : 0;
}
