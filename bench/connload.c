/* bench/connload: short-connection load against a tcplab stack host, run
 * inside the peer namespace by bench/history. Each of THREADS threads
 * loops: connect, send "GET / HTTP/1.0" (so the server closes first and
 * keeps the TIME_WAIT, as a busy web server does), read the reply to EOF,
 * close. After WARMUP seconds it counts completed connections for SECONDS
 * and prints one line:
 *
 *   connections N in S s = R/s, errors E
 *
 * Usage: connload ADDR PORT SECONDS [THREADS [WARMUP]] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in target;
static atomic_bool stop;
static atomic_ulong done, errors;

static const char request[] = "GET / HTTP/1.0\r\nHost: bench\r\n\r\n";

/* One connection; 0 when it completed. */
static int one(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { .tv_sec = 3 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	int rc = -1;
	if (connect(fd, (struct sockaddr *)&target, sizeof(target)) < 0)
		goto out;
	if (write(fd, request, sizeof(request) - 1) != (ssize_t)(sizeof(request) - 1))
		goto out;
	char buf[4096];
	ssize_t n;
	size_t got = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		got += (size_t)n;
	if (n == 0 && got > 0)
		rc = 0;
out:
	close(fd);
	return rc;
}

static void *worker(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop)) {
		if (one() == 0)
			atomic_fetch_add(&done, 1);
		else
			atomic_fetch_add(&errors, 1);
	}
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: connload ADDR PORT SECONDS [THREADS [WARMUP]]\n");
		return 2;
	}
	target.sin_family = AF_INET;
	target.sin_port = htons((uint16_t)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &target.sin_addr) != 1) {
		fprintf(stderr, "connload: bad address %s\n", argv[1]);
		return 2;
	}
	double seconds = atof(argv[3]);
	int threads = argc > 4 ? atoi(argv[4]) : 8;
	double warmup = argc > 5 ? atof(argv[5]) : 1.0;
	if (threads < 1 || threads > 256 || seconds <= 0) {
		fprintf(stderr, "connload: bad arguments\n");
		return 2;
	}
	pthread_t t[256];
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, worker, NULL);
	sleep_s(warmup);
	unsigned long d0 = atomic_load(&done), e0 = atomic_load(&errors);
	double t0 = now_s();
	sleep_s(seconds);
	unsigned long d1 = atomic_load(&done), e1 = atomic_load(&errors);
	double t1 = now_s();
	atomic_store(&stop, true);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("connections %lu in %.2f s = %.0f/s, errors %lu\n", d1 - d0, t1 - t0,
	       (double)(d1 - d0) / (t1 - t0), e1 - e0);
	return 0;
}
