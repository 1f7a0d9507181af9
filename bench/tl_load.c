/* tl-load: the load generators of bench/tcp. The same binary drives the
 * stack (peer namespace -> 198.18.0.1) and the kernel (veth pair, the
 * tests' tl-echo-server), so both sides see identical clients.
 *
 *   tl-load conn ADDR PORT SECONDS THREADS  connect, send 1 byte, read the
 *                                           echoed byte, close; per second
 *   tl-load rr   ADDR PORT SECONDS          1-byte request/response on one
 *                                           connection; transactions/s
 *   tl-load send ADDR PORT SECONDS          bulk to ADDR (discard, 9); Mbit/s
 *   tl-load recv ADDR PORT SECONDS          bulk from ADDR (chargen, 19); Mbit/s
 *   tl-load hold ADDR PORT COUNT [SRCS]     opens COUNT idle connections, says
 *                                           "held N", keeps them until SIGTERM
 *                                           or 60 s, then resets them
 *   tl-load listen ADDR PORT BACKLOG        listens and never accepts (the
 *                                           connections wait in the accept
 *                                           queue, no fd each) until SIGTERM
 *                                           or 60 s; says "listening"
 *   tl-load drain ADDR PORT COUNT THREADS [SRCS]
 *                                           COUNT connections that read to EOF
 *                                           and close: against close-first
 *                                           (8001) each leaves a TIME_WAIT on
 *                                           the server
 *
 * SRCS is a comma-separated list of local addresses used in turn (64k
 * ports per address: 100k distinct connections need two).
 * Prints one line "<value> <unit> (<details>)" on stdout. Bounded: at most
 * 60 s, 64 threads and 1M connections; every socket call has a 2 s timeout
 * (a lost SYN costs a thread 1 s, not the run). Every address must lie in
 * 198.18.0.0/15. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LAB_NET 0xc6120000u /* 198.18.0.0/15 */
#define LAB_MASK 0xfffe0000u
#define MAX_SECONDS 60.0
#define MAX_THREADS 64
#define MAX_COUNT 1000000
#define MAX_SRCS 16

static struct sockaddr_in target;
static double deadline;
static atomic_ulong total_ops, total_errors, next_index;
static struct in_addr srcs[MAX_SRCS];
static int nsrcs;
static unsigned long drain_count;
static volatile sig_atomic_t stop;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool in_lab(struct in_addr a)
{
	return (ntohl(a.s_addr) & LAB_MASK) == LAB_NET;
}

/* A connected socket to the target, from source address i % nsrcs when
 * sources were given (the port is chosen at connect time). */
static int connect_from(unsigned long i)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (nsrcs) {
		int one = 1;
		struct sockaddr_in me = { .sin_family = AF_INET, .sin_addr = srcs[i % (unsigned)nsrcs] };
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
			close(fd);
			return -1;
		}
	}
	struct timeval tv = { .tv_sec = 2 };
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(void)
{
	return connect_from(0);
}

/* One short connection: connect, 1 byte each way, close. */
static void *conn_worker(void *arg)
{
	(void)arg;
	unsigned long ops = 0, errors = 0;
	while (now_s() < deadline) {
		int fd = connect_to();
		if (fd < 0) {
			errors++;
			continue;
		}
		char b = 'x';
		if (send(fd, &b, 1, MSG_NOSIGNAL) == 1 && recv(fd, &b, 1, 0) == 1)
			ops++;
		else
			errors++;
		close(fd);
	}
	atomic_fetch_add(&total_ops, ops);
	atomic_fetch_add(&total_errors, errors);
	return NULL;
}

static int run_conn(double seconds, int threads)
{
	pthread_t t[MAX_THREADS];
	double start = now_s();
	deadline = start + seconds;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, conn_worker, NULL) != 0) {
			fprintf(stderr, "tl-load: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	double el = now_s() - start;
	unsigned long ops = atomic_load(&total_ops), err = atomic_load(&total_errors);
	printf("%.0f conn/s (%lu connections in %.2f s, %d threads, %lu errors)\n",
	       (double)ops / el, ops, el, threads, err);
	return 0;
}

static int run_rr(double seconds)
{
	int fd = connect_to();
	if (fd < 0) {
		fprintf(stderr, "tl-load: connect: %s\n", strerror(errno));
		return 1;
	}
	double start = now_s();
	deadline = start + seconds;
	unsigned long ops = 0;
	char b = 'x';
	/* the clock is read every 64 transactions: it costs as much as one */
	while ((ops & 63) || now_s() < deadline) {
		if (send(fd, &b, 1, MSG_NOSIGNAL) != 1 || recv(fd, &b, 1, 0) != 1) {
			fprintf(stderr, "tl-load: rr broke after %lu transactions: %s\n", ops,
				strerror(errno));
			close(fd);
			return 1;
		}
		ops++;
	}
	double el = now_s() - start;
	close(fd);
	printf("%.0f trans/s (%lu transactions in %.2f s, one connection)\n", (double)ops / el, ops,
	       el);
	return 0;
}

static int run_bulk(double seconds, bool sending)
{
	int fd = connect_to();
	if (fd < 0) {
		fprintf(stderr, "tl-load: connect: %s\n", strerror(errno));
		return 1;
	}
	static char buf[1 << 17];
	memset(buf, 'b', sizeof(buf));
	double start = now_s();
	deadline = start + seconds;
	uint64_t bytes = 0;
	while (now_s() < deadline) {
		ssize_t n = sending ? send(fd, buf, sizeof(buf), MSG_NOSIGNAL)
				    : recv(fd, buf, sizeof(buf), 0);
		if (n <= 0) {
			fprintf(stderr, "tl-load: %s stopped after %llu bytes: %s\n",
				sending ? "send" : "recv", (unsigned long long)bytes,
				n == 0 ? "EOF" : strerror(errno));
			close(fd);
			return 1;
		}
		bytes += (uint64_t)n;
	}
	double el = now_s() - start;
	close(fd);
	printf("%.1f Mbit/s (%llu bytes in %.2f s)\n", (double)bytes * 8 / el / 1e6,
	       (unsigned long long)bytes, el);
	return 0;
}

/* Reads to EOF and closes, COUNT times over all threads. */
static void *drain_worker(void *arg)
{
	(void)arg;
	unsigned long ops = 0, errors = 0, i;
	char buf[256];
	while ((i = atomic_fetch_add(&next_index, 1)) < drain_count && now_s() < deadline) {
		int fd = connect_from(i);
		if (fd < 0) {
			errors++;
			continue;
		}
		ssize_t n;
		while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
			;
		if (n == 0)
			ops++;
		else
			errors++;
		close(fd);
	}
	atomic_fetch_add(&total_ops, ops);
	atomic_fetch_add(&total_errors, errors);
	return NULL;
}

static int run_drain(unsigned long count, int threads)
{
	pthread_t t[MAX_THREADS];
	double start = now_s();
	deadline = start + MAX_SECONDS;
	drain_count = count;
	for (int i = 0; i < threads; i++)
		if (pthread_create(&t[i], NULL, drain_worker, NULL) != 0) {
			fprintf(stderr, "tl-load: pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	double el = now_s() - start;
	unsigned long ops = atomic_load(&total_ops), err = atomic_load(&total_errors);
	printf("%.0f conn/s (%lu connections read to EOF in %.2f s, %d threads, %lu errors)\n",
	       (double)ops / el, ops, el, threads, err);
	return err ? 1 : 0;
}

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int run_hold(unsigned long count)
{
	int *fds = calloc(count, sizeof(int));
	if (!fds)
		return 1;
	double start = now_s();
	unsigned long n = 0;
	for (; n < count && now_s() < start + MAX_SECONDS; n++) {
		fds[n] = connect_from(n);
		if (fds[n] < 0) {
			fprintf(stderr, "tl-load: hold: connection %lu failed: %s\n", n, strerror(errno));
			break;
		}
	}
	printf("held %lu connections (opened in %.2f s)\n", n, now_s() - start);
	fflush(stdout);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	double until = now_s() + MAX_SECONDS;
	while (!stop && now_s() < until)
		usleep(10000);
	/* Abortive close (RST): no TIME_WAIT is left behind to skew a
	 * measurement that follows. */
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	for (unsigned long i = 0; i < n; i++) {
		setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(fds[i]);
	}
	free(fds);
	return n == count ? 0 : 1;
}

static int run_listen(long backlog)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&target, sizeof(target)) < 0 || listen(fd, (int)backlog) < 0) {
		fprintf(stderr, "tl-load: listen: %s\n", strerror(errno));
		return 1;
	}
	printf("listening (backlog %ld)\n", backlog);
	fflush(stdout);
	struct sigaction sa = { .sa_handler = on_term };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	double until = now_s() + MAX_SECONDS;
	while (!stop && now_s() < until)
		usleep(10000);
	close(fd);
	return 0;
}

/* "A,B,C" -> srcs[]; every address in the lab range. */
static int parse_srcs(const char *list)
{
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", list);
	char *save, *tok;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (nsrcs == MAX_SRCS || inet_pton(AF_INET, tok, &srcs[nsrcs]) != 1 ||
		    !in_lab(srcs[nsrcs])) {
			fprintf(stderr, "tl-load: bad source address %s (at most %d, in 198.18.0.0/15)\n",
				tok, MAX_SRCS);
			return -1;
		}
		nsrcs++;
	}
	return 0;
}

static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max = rl.rlim_max > 1048576 ? rl.rlim_max : 1048576;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
			getrlimit(RLIMIT_NOFILE, &rl);
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: tl-load conn ADDR PORT SECONDS THREADS\n"
			"       tl-load rr|send|recv ADDR PORT SECONDS\n"
			"       tl-load hold ADDR PORT COUNT [SRC,SRC...]\n"
			"       tl-load listen ADDR PORT BACKLOG\n"
			"       tl-load drain ADDR PORT COUNT THREADS [SRC,SRC...]\n"
			"addresses inside 198.18.0.0/15; SECONDS <= 60; THREADS <= 64; COUNT <= 1000000\n");
}

int main(int argc, char **argv)
{
	if (argc < 5) {
		usage();
		return 2;
	}
	const char *mode = argv[1];
	struct in_addr a;
	if (inet_pton(AF_INET, argv[2], &a) != 1 || !in_lab(a)) {
		fprintf(stderr, "tl-load: %s is not inside 198.18.0.0/15: refusing\n", argv[2]);
		return 2;
	}
	long port = strtol(argv[3], NULL, 10);
	if (port < 1 || port > 65535) {
		usage();
		return 2;
	}
	target = (struct sockaddr_in){ .sin_family = AF_INET, .sin_addr = a,
				       .sin_port = htons((uint16_t)port) };
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(mode, "listen")) {
		long backlog = strtol(argv[4], NULL, 10);
		if (argc != 5 || backlog < 1 || backlog > MAX_COUNT) {
			usage();
			return 2;
		}
		return run_listen(backlog);
	}
	if (!strcmp(mode, "hold") || !strcmp(mode, "drain")) {
		bool drain = !strcmp(mode, "drain");
		int fixed = drain ? 6 : 5;
		long count = strtol(argv[4], NULL, 10);
		int threads = drain && argc > 5 ? atoi(argv[5]) : 1;
		if (count < 1 || count > MAX_COUNT || threads < 1 || threads > MAX_THREADS ||
		    argc < fixed || argc > fixed + 1 || (argc == fixed + 1 && parse_srcs(argv[fixed]) < 0)) {
			usage();
			return 2;
		}
		raise_nofile();
		return drain ? run_drain((unsigned long)count, threads) : run_hold((unsigned long)count);
	}
	double seconds = strtod(argv[4], NULL);
	if (seconds <= 0 || seconds > MAX_SECONDS) {
		usage();
		return 2;
	}
	if (!strcmp(mode, "conn") && argc == 6) {
		int threads = atoi(argv[5]);
		if (threads < 1 || threads > MAX_THREADS) {
			usage();
			return 2;
		}
		return run_conn(seconds, threads);
	}
	if (argc != 5) {
		usage();
		return 2;
	}
	if (!strcmp(mode, "rr"))
		return run_rr(seconds);
	if (!strcmp(mode, "send"))
		return run_bulk(seconds, true);
	if (!strcmp(mode, "recv"))
		return run_bulk(seconds, false);
	usage();
	return 2;
}
