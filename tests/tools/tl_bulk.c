/* tl-bulk: bounded bulk transfers and frame blasts for bench/links and the
 * switch tests, timed by the tool itself (CLOCK_MONOTONIC):
 *
 *   tl-bulk send ADDR PORT BYTES    connect, write BYTES (256 KiB writes,
 *                                   so the kernel builds full TSO
 *                                   superframes), half-close, wait for EOF
 *   tl-bulk recv ADDR PORT BYTES    connect, read BYTES (or up to EOF)
 *   tl-bulk blast IFNAME DSTMAC COUNT [SIZE]
 *                                   COUNT raw Ethernet frames of SIZE bytes
 *                                   (default 60) to DSTMAC over AF_PACKET,
 *                                   64 per sendmmsg; ethertype 0x88b5 (local
 *                                   experimental), so no host reacts
 *
 * send/recv talk to the stack's discard (9) and chargen (19) services, or
 * to anything that reads or writes until EOF. Each prints one line:
 * "bytes=N seconds=S mbit=M" (send/recv) or "frames=N seconds=S pps=P".
 * Every run is bounded: BYTES and COUNT are required, and an alarm ends
 * the process after 120 s. Exit status 0 when all was moved. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
#define BATCH 64
#define MAX_SECONDS 120

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void)
{
	fprintf(stderr, "usage: tl-bulk send|recv ADDR PORT BYTES\n"
			"       tl-bulk blast IFNAME DSTMAC COUNT [SIZE]\n");
	return 2;
}

static int dial(const char *addr, const char *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)atoi(port)) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "tl-bulk: bad address %s\n", addr);
		return -1;
	}
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "tl-bulk: connect %s:%s: %s\n", addr, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void report(unsigned long long bytes, double secs)
{
	printf("bytes=%llu seconds=%.6f mbit=%.1f\n", bytes, secs,
	       secs > 0 ? (double)bytes * 8 / secs / 1e6 : 0.0);
}

static int do_send(const char *addr, const char *port, unsigned long long total)
{
	static char buf[CHUNK];
	memset(buf, 'x', sizeof(buf));
	double t0 = mono();
	int fd = dial(addr, port);
	if (fd < 0)
		return 1;
	unsigned long long sent = 0;
	while (sent < total) {
		size_t n = total - sent < sizeof(buf) ? (size_t)(total - sent) : sizeof(buf);
		ssize_t w = write(fd, buf, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "tl-bulk: write: %s\n", strerror(errno));
			return 1;
		}
		sent += (unsigned long long)w;
	}
	/* The bytes are only delivered when the peer has read them all: wait
	 * for its close after our FIN. */
	shutdown(fd, SHUT_WR);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	double t1 = mono();
	close(fd);
	report(sent, t1 - t0);
	return 0;
}

static int do_recv(const char *addr, const char *port, unsigned long long total)
{
	static char buf[CHUNK];
	double t0 = mono();
	int fd = dial(addr, port);
	if (fd < 0)
		return 1;
	unsigned long long got = 0;
	while (got < total) {
		size_t n = total - got < sizeof(buf) ? (size_t)(total - got) : sizeof(buf);
		ssize_t r = read(fd, buf, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (unsigned long long)r;
	}
	double t1 = mono();
	close(fd);
	report(got, t1 - t0);
	return got == total ? 0 : 1;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned m[6];
	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)m[i];
	return 0;
}

static int do_blast(const char *ifname, const char *dst, unsigned long long count, size_t size)
{
	uint8_t dmac[6];
	if (parse_mac(dst, dmac) < 0 || size < 60 || size > 1514) {
		fprintf(stderr, "tl-bulk: bad MAC %s or size %zu (60..1514)\n", dst, size);
		return 2;
	}
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "tl-bulk: AF_PACKET socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "tl-bulk: %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = (int)if_nametoindex(ifname),
				   .sll_halen = 6 };
	memcpy(sll.sll_addr, dmac, 6);
	static uint8_t frame[1514];
	memcpy(frame, dmac, 6);
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	struct iovec iov[BATCH];
	struct mmsghdr msg[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ frame, size };
		msg[i] = (struct mmsghdr){ .msg_hdr = { .msg_name = &sll, .msg_namelen = sizeof(sll),
							 .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	double t0 = mono();
	unsigned long long sent = 0;
	while (sent < count) {
		unsigned n = count - sent < BATCH ? (unsigned)(count - sent) : BATCH;
		int r = sendmmsg(fd, msg, n, 0);
		if (r < 0) {
			if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
				continue; /* the device queue is full: try again */
			fprintf(stderr, "tl-bulk: sendmmsg: %s\n", strerror(errno));
			return 1;
		}
		sent += (unsigned)r;
	}
	double secs = mono() - t0;
	close(fd);
	printf("frames=%llu seconds=%.6f pps=%.0f\n", sent, secs, secs > 0 ? (double)sent / secs : 0);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(MAX_SECONDS); /* bounded, whatever the peer does */
	if (argc >= 5 && strcmp(argv[1], "send") == 0)
		return do_send(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc >= 5 && strcmp(argv[1], "recv") == 0)
		return do_recv(argv[2], argv[3], strtoull(argv[4], NULL, 0));
	if (argc >= 5 && strcmp(argv[1], "blast") == 0)
		return do_blast(argv[2], argv[3], strtoull(argv[4], NULL, 0),
				argc > 5 ? (size_t)atoi(argv[5]) : 60);
	return usage();
}
