/* tl-echo-server: the stack host's built-in services (netemu/services.h),
 * served by the Linux kernel, so that a test or a benchmark can run the
 * same workload against the kernel and against tcplab:
 *
 *   7 echo, 9 discard, 19 chargen (RFC 864 lines, same bytes as the
 *   stack's), 8001 close-first (one line, then close: TIME_WAIT lands on
 *   the server), 8002 never-close (one line; on EOF it keeps the socket:
 *   CLOSE_WAIT).
 *
 *   ip netns exec NS tl-echo-server [--bind ADDR] [--max-seconds N] [--ready-fd N]
 *
 * One thread, epoll, non-blocking sockets, listen backlog 4096 (as the
 * stack's services). It exits on SIGINT/SIGTERM or after --max-seconds
 * (default 3600), so a forgotten server never outlives a test run for
 * long. With --ready-fd it writes "READY=1\n" there once every port
 * listens, then closes that fd. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
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

enum kind { K_ECHO, K_DISCARD, K_CHARGEN, K_CLOSE_FIRST, K_NEVER_CLOSE, K_COUNT };

static const struct {
	uint16_t port;
	const char *name;
} services[K_COUNT] = {
	[K_ECHO] = { 7, "echo" },
	[K_DISCARD] = { 9, "discard" },
	[K_CHARGEN] = { 19, "chargen" },
	[K_CLOSE_FIRST] = { 8001, "close-first" },
	[K_NEVER_CLOSE] = { 8002, "never-close" },
};

/* The line close-first and never-close send: the stack's own text. */
static const char hello_line[] = "hello from tcplab\r\n";

#define BUF_SIZE 65536

/* Scratch for reading and generating; what a socket did not take is
 * copied into the connection's own `owed` buffer. */
static char scratch[BUF_SIZE];

/* One accepted connection. Invariant: owed != NULL iff bytes [off, len)
 * of owed are still to be written (echo: read but not yet written back);
 * while any are, the connection waits for EPOLLOUT and stops reading:
 * flow control end to end, like the stack's echo. An idle connection
 * costs only this struct, so 100k of them fit easily. */
struct conn {
	struct conn *prev, *next; /* every open connection, for the exit */
	int fd;
	enum kind kind;
	bool eof;         /* never-close: peer's FIN seen, socket kept */
	uint64_t pos;     /* chargen: position in the RFC 864 pattern */
	char *owed;
	size_t off, len;
};

/* epoll data: listeners are tagged by a small integer, conns by pointer. */
#define LISTENER_TAG(k) ((uint64_t)(k) + 1)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* RFC 864 as netemu/services.c does it: 72 printable characters per line
 * then CR LF, each line starting one character further. The pattern
 * repeats every 95 lines, so one period plus a buffer's worth is made
 * once and sent from the right offset: generating costs nothing. */
#define CHARGEN_PERIOD (95 * 74)
static char chargen_text[CHARGEN_PERIOD + BUF_SIZE];

static void chargen_init(void)
{
	for (size_t pos = 0; pos < sizeof(chargen_text); pos++) {
		size_t line = pos / 74, col = pos % 74;
		if (col == 72)
			chargen_text[pos] = '\r';
		else if (col == 73)
			chargen_text[pos] = '\n';
		else
			chargen_text[pos] = (char)(' ' + (line + col) % 95);
	}
}

static int watch(int ep, int op, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = c };
	return epoll_ctl(ep, op, c->fd, &ev);
}

static struct conn *conns;

static void conn_free(int ep, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->owed);
	free(c);
}

/* Writes up to n bytes; returns bytes written (0 when the socket buffer is
 * full) or -1 on a dead socket. */
static ssize_t write_some(int fd, const char *p, size_t n)
{
	size_t done = 0;
	while (done < n) {
		ssize_t w = send(fd, p + done, n - done, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return -1;
		}
		done += (size_t)w;
	}
	return (ssize_t)done;
}

/* Writes what is owed. Returns -1 on a dead socket, 0 when all is
 * written, 1 when the socket buffer is full. */
static int flush_owed(struct conn *c)
{
	if (!c->owed)
		return 0;
	ssize_t w = write_some(c->fd, c->owed + c->off, c->len - c->off);
	if (w < 0)
		return -1;
	c->off += (size_t)w;
	if (c->off < c->len)
		return 1;
	free(c->owed);
	c->owed = NULL;
	c->off = c->len = 0;
	return 0;
}

/* Sends n bytes of p, keeping what the socket does not take. Returns -1
 * on a dead socket or no memory, 0 when all went, 1 when some is owed. */
static int send_or_keep(struct conn *c, const char *p, size_t n)
{
	ssize_t w = write_some(c->fd, p, n);
	if (w < 0)
		return -1;
	if ((size_t)w == n)
		return 0;
	c->owed = malloc(n - (size_t)w);
	if (!c->owed)
		return -1;
	memcpy(c->owed, p + w, n - (size_t)w);
	c->off = 0;
	c->len = n - (size_t)w;
	return 1;
}

/* Reads everything available and throws it away. Returns -1 on error,
 * 0 at EOF, 1 when the socket is drained for now. */
static int drain(struct conn *c)
{
	for (;;) {
		ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
		if (n > 0)
			continue;
		if (n == 0)
			return 0;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 1;
		if (errno == EINTR)
			continue;
		return -1;
	}
}

/* Handles readiness on a connection; returns false once it is closed. */
static bool conn_event(int ep, struct conn *c, uint32_t events)
{
	int r;
	switch (c->kind) {
	case K_ECHO:
		r = flush_owed(c);
		if (r < 0)
			goto dead;
		if (r > 0)
			return true; /* still waiting for EPOLLOUT */
		for (;;) {
			ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
			if (n == 0)
				goto dead; /* the peer is done: close (FIN) */
			if (n < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					goto dead;
				/* all echoed: back to reading (no-op if already) */
				return !(events & EPOLLOUT) || watch(ep, EPOLL_CTL_MOD, c, EPOLLIN) == 0;
			}
			r = send_or_keep(c, scratch, (size_t)n);
			if (r < 0)
				goto dead;
			if (r > 0)
				return watch(ep, EPOLL_CTL_MOD, c, EPOLLOUT) == 0;
		}
	case K_DISCARD:
		if (drain(c) <= 0)
			goto dead;
		return true;
	case K_CHARGEN:
		if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && drain(c) <= 0)
			goto dead;
		for (;;) {
			/* the pattern is a function of the position: nothing
			 * is kept for what the socket did not take */
			const char *p = chargen_text + c->pos % CHARGEN_PERIOD;
			ssize_t w = write_some(c->fd, p, BUF_SIZE);
			if (w < 0)
				goto dead;
			c->pos += (uint64_t)w;
			if ((size_t)w < BUF_SIZE)
				return true;
		}
	case K_NEVER_CLOSE:
		if (c->eof)
			return true;
		r = drain(c);
		if (r < 0)
			goto dead;
		if (r == 0) {
			/* keep the socket (CLOSE_WAIT) but stop listening to it */
			c->eof = true;
			watch(ep, EPOLL_CTL_MOD, c, 0);
		}
		return true;
	case K_CLOSE_FIRST:
	case K_COUNT:
		break;
	}
dead:
	conn_free(ep, c);
	return false;
}

static void accept_all(int ep, int lfd, enum kind kind)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return; /* EAGAIN, or out of fds: try again on the next event */
		}
		if (kind == K_CLOSE_FIRST) {
			(void)!send(fd, hello_line, strlen(hello_line), MSG_NOSIGNAL);
			close(fd); /* the server closes first */
			continue;
		}
		struct conn *c = calloc(1, sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->kind = kind;
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		if (kind == K_NEVER_CLOSE && send_or_keep(c, hello_line, strlen(hello_line)) < 0) {
			conn_free(ep, c);
			continue;
		}
		uint32_t ev = kind == K_CHARGEN ? (EPOLLIN | EPOLLOUT) : EPOLLIN;
		if (watch(ep, EPOLL_CTL_ADD, c, ev) < 0) {
			conn_free(ep, c);
			continue;
		}
		if (kind == K_CHARGEN)
			conn_event(ep, c, EPOLLOUT);
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: tl-echo-server [--bind ADDR] [--max-seconds N] [--ready-fd N]\n"
			"serves echo 7, discard 9, chargen 19, close-first 8001, never-close 8002\n");
}

int main(int argc, char **argv)
{
	struct in_addr bind_addr = { .s_addr = htonl(INADDR_ANY) };
	double max_seconds = 3600;
	int ready_fd = -1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--bind") && i + 1 < argc) {
			if (inet_pton(AF_INET, argv[++i], &bind_addr) != 1) {
				fprintf(stderr, "tl-echo-server: bad address %s\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc) {
			max_seconds = strtod(argv[++i], NULL);
			if (max_seconds <= 0 || max_seconds > 86400) {
				fprintf(stderr, "tl-echo-server: --max-seconds takes 1..86400\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--ready-fd") && i + 1 < argc) {
			ready_fd = atoi(argv[++i]);
		} else {
			usage();
			return 2;
		}
	}
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	chargen_init();
	/* bench/tcp holds 100k connections open: take as many fds as allowed */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max > 1048576 ? rl.rlim_max : 1048576; /* fs.nr_open default */
		rl.rlim_max = rl.rlim_cur;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	int ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		perror("tl-echo-server: epoll_create1");
		return 1;
	}
	int lfds[K_COUNT];
	for (int k = 0; k < K_COUNT; k++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		int one = 1;
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr = bind_addr,
					 .sin_port = htons(services[k].port) };
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4096) < 0) {
			fprintf(stderr, "tl-echo-server: cannot listen on port %u (%s): %s\n",
				services[k].port, services[k].name, strerror(errno));
			return 1;
		}
		lfds[k] = fd;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = LISTENER_TAG(k) };
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
			perror("tl-echo-server: epoll_ctl");
			return 1;
		}
	}
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "READY=1\n", 8);
		close(ready_fd);
	}
	double end = now_s() + max_seconds;
	struct epoll_event evs[256];
	while (!stop && now_s() < end) {
		int n = epoll_wait(ep, evs, 256, 1000);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("tl-echo-server: epoll_wait");
			return 1;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			if (tag >= 1 && tag <= K_COUNT) {
				enum kind k = (enum kind)(tag - 1);
				accept_all(ep, lfds[k], k);
			} else {
				conn_event(ep, evs[i].data.ptr, evs[i].events);
			}
		}
	}
	while (conns)
		conn_free(ep, conns);
	for (int k = 0; k < K_COUNT; k++)
		close(lfds[k]);
	close(ep);
	return 0;
}
