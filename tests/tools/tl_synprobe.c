/* tl-synprobe: sends TCP SYNs from a spoofed address that no host owns
 * and reports every SYN-ACK that comes back, for integration tests of the
 * passive open (SYN-ACK retransmissions, SYN cookies). It never completes
 * a handshake. Run it inside the lab namespace, on the interface that
 * faces the stack host:
 *
 *   ip netns exec NS tl-synprobe IFNAME SRCIP DSTIP DPORT [COUNT [SECONDS]]
 *
 * It takes a made-up MAC address (02:74:6c:77:77:<last byte of SRCIP>),
 * resolves DSTIP by ARP, answers ARP requests for SRCIP, sends COUNT SYNs
 * (default 1, at most 64; source ports 40001.., Linux's option layout:
 * MSS 1460, SACK permitted, timestamps, window scale 7), then listens for
 * SECONDS (default 5, at most 60) and prints one line per SYN-ACK:
 *
 *   synack t=1.002 sport=40001 seq=123 ack=1001 win=65535 tsval=... tsecr=... tslow6=23 opts=mss:1460,sackok,ts,ws:7
 *
 * t is seconds since the first SYN. Whether an ISN is a SYN cookie cannot
 * be told from outside, so the timestamp is printed whole and its low 6
 * bits apart (tslow6): a Linux cookie SYN-ACK encodes the client's window
 * scale and SACK there (reference §4). A RST is printed as "rst ...". The
 * last line is "synacks N". Only addresses in 198.18.0.0/15 are accepted.
 * Needs CAP_NET_RAW. Exit status 0, or 2 for usage/setup errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 64
#define MAX_SECONDS 60
#define SPORT_BASE 40001
#define ISN_BASE 1000u

struct probe {
	int fd;
	int ifindex;
	uint8_t mac[6], dst_mac[6];
	uint32_t src, dst; /* host byte order */
	uint16_t dport;
	double t0;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += rd16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static bool in_lab(uint32_t a)
{
	return (a & 0xfffe0000u) == 0xc6120000u; /* 198.18.0.0/15 */
}

static int send_frame(const struct probe *p, const uint8_t *f, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = p->ifindex,
				  .sll_halen = 6 };
	memcpy(to.sll_addr, f, 6);
	if (sendto(p->fd, f, len, 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
		perror("tl-synprobe: sendto");
		return -1;
	}
	return 0;
}

static int send_arp(const struct probe *p, uint16_t op, const uint8_t *tha, uint32_t tpa)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t f[60] = { 0 };
	memcpy(f, op == 1 ? bcast : tha, 6);
	memcpy(f + 6, p->mac, 6);
	wr16(f + 12, ETHERTYPE_ARP);
	uint8_t *a = f + 14;
	wr16(a, 1);      /* Ethernet */
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, p->mac, 6);
	wr32(a + 14, p->src);
	if (op == 2)
		memcpy(a + 18, tha, 6);
	wr32(a + 24, tpa);
	return send_frame(p, f, sizeof(f));
}

static int send_syn(const struct probe *p, uint16_t sport, uint32_t isn, uint32_t tsval)
{
	uint8_t f[14 + 20 + 40] = { 0 };
	memcpy(f, p->dst_mac, 6);
	memcpy(f + 6, p->mac, 6);
	wr16(f + 12, ETHERTYPE_IP);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	/* Linux's SYN options: MSS, SACK_PERM, TS, NOP, WS. */
	uint8_t opt[20] = { 2, 4, 0x05, 0xb4, 4, 2, 8, 10 };
	wr32(opt + 8, tsval);
	wr32(opt + 12, 0);
	opt[16] = 1;
	opt[17] = 3;
	opt[18] = 3;
	opt[19] = 7;
	size_t tlen = 20 + sizeof(opt);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + tlen));
	wr16(ip + 4, sport);
	wr16(ip + 6, 0x4000);
	ip[8] = 64;
	ip[9] = 6;
	wr32(ip + 12, p->src);
	wr32(ip + 16, p->dst);
	wr16(ip + 10, fold(sum16(ip, 20, 0)));
	wr16(tcp, sport);
	wr16(tcp + 2, p->dport);
	wr32(tcp + 4, isn);
	tcp[12] = (uint8_t)((tlen / 4) << 4);
	tcp[13] = 0x02; /* SYN */
	wr16(tcp + 14, 64240);
	memcpy(tcp + 20, opt, sizeof(opt));
	uint8_t pseudo[12];
	wr32(pseudo, p->src);
	wr32(pseudo + 4, p->dst);
	pseudo[8] = 0;
	pseudo[9] = 6;
	wr16(pseudo + 10, (uint16_t)tlen);
	wr16(tcp + 16, fold(sum16(tcp, tlen, sum16(pseudo, 12, 0))));
	return send_frame(p, f, 14 + 20 + tlen);
}

/* Formats the options of a segment; fills the timestamp if present. */
static void parse_opts(const uint8_t *o, size_t len, char *out, size_t cap, uint32_t *tsval,
		       uint32_t *tsecr, bool *has_ts)
{
	size_t used = 0;
	out[0] = '\0';
	*has_ts = false;
	while (len > 0) {
		uint8_t kind = o[0];
		if (kind == 0)
			break;
		if (kind == 1) {
			o++;
			len--;
			continue;
		}
		if (len < 2 || o[1] < 2 || o[1] > len)
			break;
		uint8_t olen = o[1];
		char item[32];
		if (kind == 2 && olen == 4)
			snprintf(item, sizeof(item), "mss:%u", rd16(o + 2));
		else if (kind == 3 && olen == 3)
			snprintf(item, sizeof(item), "ws:%u", o[2]);
		else if (kind == 4 && olen == 2)
			snprintf(item, sizeof(item), "sackok");
		else if (kind == 8 && olen == 10) {
			*tsval = rd32(o + 2);
			*tsecr = rd32(o + 6);
			*has_ts = true;
			snprintf(item, sizeof(item), "ts");
		} else
			snprintf(item, sizeof(item), "kind%u", kind);
		used += (size_t)snprintf(out + used, used < cap ? cap - used : 0, "%s%s",
					 used ? "," : "", item);
		o += olen;
		len -= olen;
	}
	if (!out[0])
		snprintf(out, cap, "none");
}

/* Handles one received frame; returns 1 for a SYN-ACK to us. */
static int handle(struct probe *p, const uint8_t *f, size_t len, bool *have_mac)
{
	if (len < 14)
		return 0;
	uint16_t type = rd16(f + 12);
	if (type == ETHERTYPE_ARP && len >= 14 + 28) {
		const uint8_t *a = f + 14;
		uint16_t op = rd16(a + 6);
		uint32_t spa = rd32(a + 14), tpa = rd32(a + 24);
		if (op == 1 && tpa == p->src)
			send_arp(p, 2, a + 8, spa); /* we are SRCIP */
		if (op == 2 && spa == p->dst && tpa == p->src && !*have_mac) {
			memcpy(p->dst_mac, a + 8, 6);
			*have_mac = true;
		}
		return 0;
	}
	if (type != ETHERTYPE_IP || len < 14 + 20)
		return 0;
	const uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	if ((ip[0] >> 4) != 4 || ip[9] != 6 || len < 14 + ihl + 20)
		return 0;
	if (rd32(ip + 12) != p->dst || rd32(ip + 16) != p->src)
		return 0;
	const uint8_t *tcp = ip + ihl;
	size_t doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || len < 14 + ihl + doff || rd16(tcp) != p->dport)
		return 0;
	uint8_t flags = tcp[13];
	char opts[128];
	uint32_t tsval = 0, tsecr = 0;
	bool has_ts;
	parse_opts(tcp + 20, doff - 20, opts, sizeof(opts), &tsval, &tsecr, &has_ts);
	double t = now_s() - p->t0;
	if ((flags & 0x12) == 0x12) {
		printf("synack t=%.3f sport=%u seq=%u ack=%u win=%u", t, rd16(tcp + 2), rd32(tcp + 4),
		       rd32(tcp + 8), rd16(tcp + 14));
		if (has_ts)
			printf(" tsval=%u tsecr=%u tslow6=%u", tsval, tsecr, tsval & 0x3f);
		printf(" opts=%s\n", opts);
		fflush(stdout);
		return 1;
	}
	if (flags & 0x04) {
		printf("rst t=%.3f sport=%u seq=%u\n", t, rd16(tcp + 2), rd32(tcp + 4));
		fflush(stdout);
	}
	return 0;
}

static int parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, s, &a) != 1)
		return -1;
	*out = ntohl(a.s_addr);
	return in_lab(*out) ? 0 : -1;
}

/* Receives until `until`; returns SYN-ACKs seen, or -1 on error. */
static int listen_until(struct probe *p, double until, bool *have_mac, bool stop_on_mac)
{
	int synacks = 0;
	uint8_t buf[2048];
	for (;;) {
		double left = until - now_s();
		if (left <= 0 || (stop_on_mac && *have_mac))
			return synacks;
		struct pollfd pfd = { .fd = p->fd, .events = POLLIN };
		int rc = poll(&pfd, 1, (int)(left * 1000) + 1);
		if (rc < 0 && errno != EINTR)
			return -1;
		if (rc <= 0)
			continue;
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(p->fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			continue;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue; /* our own frames, looped back */
		synacks += handle(p, buf, (size_t)n, have_mac);
	}
}

int main(int argc, char **argv)
{
	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: tl-synprobe IFNAME SRCIP DSTIP DPORT [COUNT [SECONDS]]\n");
		return 2;
	}
	struct probe p = { 0 };
	if (parse_ip(argv[2], &p.src) < 0 || parse_ip(argv[3], &p.dst) < 0) {
		fprintf(stderr, "tl-synprobe: SRCIP and DSTIP must be IPv4 addresses in 198.18.0.0/15\n");
		return 2;
	}
	long dport = strtol(argv[4], NULL, 10);
	long count = argc > 5 ? strtol(argv[5], NULL, 10) : 1;
	long secs = argc > 6 ? strtol(argv[6], NULL, 10) : 5;
	if (dport < 1 || dport > 65535 || count < 1 || count > MAX_COUNT || secs < 1 ||
	    secs > MAX_SECONDS) {
		fprintf(stderr, "tl-synprobe: DPORT 1..65535, COUNT 1..%d, SECONDS 1..%d\n",
			MAX_COUNT, MAX_SECONDS);
		return 2;
	}
	p.dport = (uint16_t)dport;
	p.ifindex = (int)if_nametoindex(argv[1]);
	if (!p.ifindex) {
		fprintf(stderr, "tl-synprobe: no interface %s\n", argv[1]);
		return 2;
	}
	uint8_t mac[6] = { 0x02, 0x74, 0x6c, 0x77, 0x77, (uint8_t)p.src };
	memcpy(p.mac, mac, 6);
	p.fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (p.fd < 0) {
		perror("tl-synprobe: socket(AF_PACKET) (needs CAP_NET_RAW)");
		return 2;
	}
	struct sockaddr_ll me = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = p.ifindex };
	if (bind(p.fd, (struct sockaddr *)&me, sizeof(me)) < 0) {
		perror("tl-synprobe: bind");
		return 2;
	}

	/* Resolve the stack host (this also teaches it our MAC). */
	bool have_mac = false;
	for (int tries = 0; tries < 3 && !have_mac; tries++) {
		if (send_arp(&p, 1, NULL, p.dst) < 0)
			return 2;
		listen_until(&p, now_s() + 1.0, &have_mac, true);
	}
	if (!have_mac) {
		fprintf(stderr, "tl-synprobe: %s does not answer ARP\n", argv[3]);
		return 2;
	}

	p.t0 = now_s();
	for (long i = 0; i < count; i++)
		if (send_syn(&p, (uint16_t)(SPORT_BASE + i), ISN_BASE + (uint32_t)i * 100000u,
			     1000 + (uint32_t)i) < 0)
			return 2;
	int n = listen_until(&p, p.t0 + (double)secs, &have_mac, false);
	if (n < 0) {
		perror("tl-synprobe: poll");
		return 2;
	}
	printf("synacks %d\n", n);
	close(p.fd);
	return 0;
}
