/* tl-rawsend: sends hand-made malformed Ethernet frames out of an interface
 * with a raw AF_PACKET socket, for integration tests that check how a stack
 * host counts and survives them. Run it inside the lab namespace:
 *
 *   ip netns exec NS tl-rawsend IFNAME DSTMAC SRCIP DSTIP KIND [COUNT]
 *
 * KIND is one of the names below or "all" (each kind COUNT times, default
 * 1). Prints one line per kind: "KIND COUNT". Needs CAP_NET_RAW.
 *
 * Frames shorter than an Ethernet header cannot be sent this way: the
 * kernel refuses them for Ethernet devices (dev_validate_header), so a
 * "runt" is not among the kinds. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct ctx {
	int fd;
	int ifindex;
	uint8_t src_mac[6], dst_mac[6];
	uint32_t src_ip, dst_ip; /* network byte order */
};

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static size_t eth_header(const struct ctx *c, uint8_t *f, const uint8_t *dst,
			 uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, c->src_mac, 6);
	put16(f + 12, type);
	return 14;
}

/* A well-formed ICMP echo request in an IPv4 datagram; returns the frame
 * length. Kinds then break one thing in it. */
static size_t echo_request(const struct ctx *c, uint8_t *f, const uint8_t *dst_mac)
{
	size_t off = eth_header(c, f, dst_mac, ETHERTYPE_IP);
	uint8_t *ip = f + off, *icmp = ip + 20;
	const size_t payload = 32;
	memset(ip, 0, 20 + 8 + payload);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + 8 + payload));
	put16(ip + 4, 0x7107);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = 1; /* ICMP */
	memcpy(ip + 12, &c->src_ip, 4);
	memcpy(ip + 16, &c->dst_ip, 4);
	put16(ip + 10, csum(ip, 20));
	icmp[0] = 8; /* echo request */
	put16(icmp + 4, 0x7e57);
	put16(icmp + 6, 1);
	for (size_t i = 0; i < payload; i++)
		icmp[8 + i] = (uint8_t)('a' + i % 26);
	put16(icmp + 2, csum(icmp, 8 + payload));
	return off + 20 + 8 + payload;
}

static void refresh_ip_csum(uint8_t *ip, size_t ihl)
{
	put16(ip + 10, 0);
	put16(ip + 10, csum(ip, ihl));
}

typedef size_t (*build_fn)(const struct ctx *c, uint8_t *f);

/* IPv4 header cut after 10 bytes. */
static size_t k_trunc_ip(const struct ctx *c, uint8_t *f)
{
	echo_request(c, f, c->dst_mac);
	return 14 + 10;
}

static size_t k_bad_ipcsum(const struct ctx *c, uint8_t *f)
{
	size_t n = echo_request(c, f, c->dst_mac);
	f[14 + 10] ^= 0x5a;
	return n;
}

/* IHL 4 (16 bytes): less than the minimum header. */
static size_t k_bad_ihl(const struct ctx *c, uint8_t *f)
{
	size_t n = echo_request(c, f, c->dst_mac);
	f[14] = 0x44;
	refresh_ip_csum(f + 14, 16);
	return n;
}

/* Version 6 in an IPv4 (0x0800) frame. */
static size_t k_bad_version(const struct ctx *c, uint8_t *f)
{
	size_t n = echo_request(c, f, c->dst_mac);
	f[14] = 0x65;
	refresh_ip_csum(f + 14, 20);
	return n;
}

/* Total length larger than the frame. */
static size_t k_bad_totlen(const struct ctx *c, uint8_t *f)
{
	size_t n = echo_request(c, f, c->dst_mac);
	put16(f + 14 + 2, 1400);
	refresh_ip_csum(f + 14, 20);
	return n;
}

static size_t k_bad_icmpcsum(const struct ctx *c, uint8_t *f)
{
	size_t n = echo_request(c, f, c->dst_mac);
	f[14 + 20 + 2] ^= 0x33;
	return n;
}

/* ARP with only 8 of its 28 bytes. */
static size_t k_trunc_arp(const struct ctx *c, uint8_t *f)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t off = eth_header(c, f, bcast, ETHERTYPE_ARP);
	static const uint8_t arp[8] = { 0, 1, 8, 0, 6, 4, 0, 1 };
	memcpy(f + off, arp, sizeof(arp));
	return off + sizeof(arp);
}

/* A good echo request to somebody else's unicast MAC. */
static size_t k_not_for_us(const struct ctx *c, uint8_t *f)
{
	static const uint8_t other[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x99 };
	return echo_request(c, f, other);
}

static const struct {
	const char *name;
	build_fn build;
} kinds[] = {
	{ "trunc-ip", k_trunc_ip },       { "bad-ipcsum", k_bad_ipcsum },
	{ "bad-ihl", k_bad_ihl },         { "bad-version", k_bad_version },
	{ "bad-totlen", k_bad_totlen },   { "bad-icmpcsum", k_bad_icmpcsum },
	{ "trunc-arp", k_trunc_arp },     { "not-for-us", k_not_for_us },
};

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char tail;
	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
		   &tail) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return 0;
}

static int send_kind(const struct ctx *c, size_t k, unsigned count)
{
	uint8_t frame[256];
	for (unsigned i = 0; i < count; i++) {
		size_t len = kinds[k].build(c, frame);
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_ifindex = c->ifindex,
					   .sll_halen = 6 };
		memcpy(sll.sll_addr, frame, 6);
		if (sendto(c->fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) !=
		    (ssize_t)len) {
			fprintf(stderr, "tl-rawsend: %s: sendto: %s\n", kinds[k].name,
				strerror(errno));
			return -1;
		}
	}
	printf("%s %u\n", kinds[k].name, count);
	return 0;
}

static void usage(void)
{
	fprintf(stderr, "usage: tl-rawsend IFNAME DSTMAC SRCIP DSTIP KIND [COUNT]\nkinds: all");
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		fprintf(stderr, " %s", kinds[i].name);
	fprintf(stderr, "\n");
}

int main(int argc, char **argv)
{
	if (argc < 6 || argc > 7) {
		usage();
		return 2;
	}
	struct ctx c = { 0 };
	unsigned count = argc == 7 ? (unsigned)strtoul(argv[6], NULL, 10) : 1;
	if (parse_mac(argv[2], c.dst_mac) < 0 || inet_pton(AF_INET, argv[3], &c.src_ip) != 1 ||
	    inet_pton(AF_INET, argv[4], &c.dst_ip) != 1 || count == 0 || count > 10000) {
		usage();
		return 2;
	}
	c.ifindex = (int)if_nametoindex(argv[1]);
	if (!c.ifindex) {
		fprintf(stderr, "tl-rawsend: no interface %s here\n", argv[1]);
		return 1;
	}
	c.fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (c.fd < 0) {
		fprintf(stderr, "tl-rawsend: AF_PACKET socket: %s (needs CAP_NET_RAW)\n",
			strerror(errno));
		return 1;
	}
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(c.fd, SIOCGIFHWADDR, &ifr) < 0) {
		fprintf(stderr, "tl-rawsend: %s: no MAC: %s\n", argv[1], strerror(errno));
		return 1;
	}
	memcpy(c.src_mac, ifr.ifr_hwaddr.sa_data, 6);

	int rc = 0;
	bool known = false;
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		if (strcmp(argv[5], "all") == 0 || strcmp(argv[5], kinds[k].name) == 0) {
			known = true;
			if (send_kind(&c, k, count) < 0)
				rc = 1;
		}
	close(c.fd);
	if (!known) {
		usage();
		return 2;
	}
	return rc;
}
