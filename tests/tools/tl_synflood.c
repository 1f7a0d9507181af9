/* tl-synflood: a bounded SYN flood for lab tests. Sends COUNT TCP SYNs to
 * DST:PORT from random sources inside 198.18.128.0/17 (never anything
 * else), at most RATE per second, and stops after COUNT or 60 s, whichever
 * comes first. Run it inside a lab namespace; it refuses any destination
 * outside 198.18.0.0/15.
 *
 *   ip netns exec NS tl-synflood 198.18.0.1 80 200000 100000
 *
 * Prints "sent N in S s (R/s)". */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 2000000
#define MAX_SECONDS 60.0
#define LAB_NET 0xc6120000u   /* 198.18.0.0/15 */
#define LAB_MASK 0xfffe0000u
#define FLOOD_NET 0xc6128000u /* 198.18.128.0/17 */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		sum += (uint32_t)p[n - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: tl-synflood DST PORT COUNT RATE  (DST in 198.18.0.0/15)\n");
		return 2;
	}
	struct in_addr dst;
	if (inet_pton(AF_INET, argv[1], &dst) != 1 || (ntohl(dst.s_addr) & LAB_MASK) != LAB_NET) {
		fprintf(stderr, "tl-synflood: %s is not inside 198.18.0.0/15: refusing\n", argv[1]);
		return 2;
	}
	long port = strtol(argv[2], NULL, 10), count = strtol(argv[3], NULL, 10);
	long rate = strtol(argv[4], NULL, 10);
	if (port < 1 || port > 65535 || count < 1 || count > MAX_COUNT || rate < 1) {
		fprintf(stderr, "tl-synflood: PORT 1..65535, COUNT 1..%d, RATE >= 1\n", MAX_COUNT);
		return 2;
	}
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
	if (fd < 0) {
		fprintf(stderr, "tl-synflood: raw socket: %s (run as root)\n", strerror(errno));
		return 1;
	}
	rng ^= (uint64_t)getpid() << 20 ^ (uint64_t)(now_s() * 1e6);
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr = dst };
	uint8_t pkt[40];
	double start = now_s();
	long sent = 0;
	while (sent < count && now_s() - start < MAX_SECONDS) {
		/* Pace: never ahead of RATE per second. */
		double due = start + (double)sent / (double)rate;
		while (now_s() < due)
			;
		uint32_t src = FLOOD_NET | (rnd() & 0x7fff);
		if ((src & 0xff) == 0 || (src & 0xff) == 0xff)
			src ^= 1;
		uint16_t sport = (uint16_t)(1024 + rnd() % 60000);
		memset(pkt, 0, sizeof(pkt));
		pkt[0] = 0x45;
		pkt[2] = 0;
		pkt[3] = 40;
		pkt[8] = 64;
		pkt[9] = IPPROTO_TCP;
		uint32_t s = htonl(src), d = dst.s_addr;
		memcpy(pkt + 12, &s, 4);
		memcpy(pkt + 16, &d, 4);
		uint8_t *t = pkt + 20;
		t[0] = (uint8_t)(sport >> 8);
		t[1] = (uint8_t)sport;
		t[2] = (uint8_t)(port >> 8);
		t[3] = (uint8_t)port;
		uint32_t seq = rnd();
		t[4] = (uint8_t)(seq >> 24); t[5] = (uint8_t)(seq >> 16);
		t[6] = (uint8_t)(seq >> 8); t[7] = (uint8_t)seq;
		t[12] = 5 << 4;
		t[13] = 0x02; /* SYN */
		t[14] = 0xff; t[15] = 0xff;
		uint32_t ps = (src >> 16) + (src & 0xffff) + (ntohl(d) >> 16) + (ntohl(d) & 0xffff) +
			      IPPROTO_TCP + 20;
		uint16_t c = csum(t, 20, ps);
		t[16] = (uint8_t)(c >> 8);
		t[17] = (uint8_t)c;
		if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&to, sizeof(to)) == sizeof(pkt))
			sent++;
		else if (errno != ENOBUFS && errno != EAGAIN) {
			fprintf(stderr, "tl-synflood: sendto: %s\n", strerror(errno));
			break;
		}
	}
	double el = now_s() - start;
	printf("sent %ld in %.2f s (%.0f/s)\n", sent, el, el > 0 ? (double)sent / el : 0.0);
	close(fd);
	return 0;
}
