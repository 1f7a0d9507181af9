/* The lab router (netemu/router.c): RFC 1812 forwarding as Linux does it
 * with ip_forward=1 — TTL decrement and header checksum, ARP for the next
 * hop on the egress side, ICMP time exceeded / network unreachable /
 * fragmentation needed (RFC 1191) back to the sender, static routes by
 * longest prefix, pings to any of its addresses, and the RFC 1122 rules
 * on when no error is sent. Frames are crafted by frames.h and checked
 * byte by byte. */
#include "frames.h"

#include <errno.h>

#include "ipv4.h"
#include "router.h"

#define A_IP 0xc6120002u   /* 198.18.0.2, on if0 */
#define B_IP 0xc6120102u   /* 198.18.1.2, on if1 */
#define R0_IP 0xc61200feu  /* 198.18.0.254 */
#define R1_IP 0xc61201feu  /* 198.18.1.254 */
#define GW_IP 0xc6120109u  /* 198.18.1.9: gateway to 198.18.2.0/24 */
#define FAR_IP 0xc6120207u /* 198.18.2.7 */

static const uint8_t MA[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MB[6] = { 0x02, 0, 0, 0, 0, 0xb };
static const uint8_t MG[6] = { 0x02, 0, 0, 0, 0, 0x9 };
static const uint8_t R0[6] = { 0x02, 0x74, 0x72, 0, 0, 0 };
static const uint8_t R1[6] = { 0x02, 0x74, 0x72, 0, 0, 1 };
static const uint8_t BC[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct router *r;
static tl_usec_t now = F_T0;
static uint8_t buf[2048];

static int setup(void **state)
{
	(void)state;
	r = router_new("r1", now);
	assert_int_equal(router_add_if(r, R0, R0_IP, 24, 1500), 0);
	assert_int_equal(router_add_if(r, R1, R1_IP, 24, 1400), 1);
	assert_int_equal(router_add_route(r, 0xc6120200u, 24, GW_IP), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	router_free(r);
	pktbuf_pool_drain();
	return 0;
}

static struct pktbuf *pop(unsigned ifx)
{
	struct pktbuf *pb = router_pop_output(r, ifx);
	if (!pb)
		fail_msg("expected a frame on interface %u", ifx);
	return pb;
}

static void nothing_out(void)
{
	for (unsigned i = 0; i < 2; i++) {
		struct pktbuf *pb = router_pop_output(r, i);
		if (pb)
			fail_msg("unexpected frame of %u bytes on interface %u", pb->len, i);
	}
}

/* The router learns host mac/ip on ifx: the host asks for the router. */
static void learn(unsigned ifx, const uint8_t mac[6], uint32_t ip)
{
	size_t n = f_arp(buf, 1, BC, mac, ip, f_zero_mac, ifx ? R1_IP : R0_IP);
	router_input(r, ifx, buf, n, now);
	pktbuf_free(pop(ifx)); /* the ARP reply */
}

/* A UDP datagram src -> dst sent to the router's MAC on ifx. */
static size_t udp_via(uint8_t *out, unsigned ifx, const uint8_t src_mac[6], uint32_t src,
		      uint32_t dst, uint8_t ttl, uint16_t frag, size_t dlen)
{
	uint8_t body[1600], data[1600];
	memset(data, 'd', dlen);
	size_t blen = f_udp(body, src, dst, 4000, 5000, data, dlen, true);
	struct f_ip ip = { .src = src, .dst = dst, .proto = 17, .ttl = ttl, .ttl_set = true,
			   .frag = frag, .id = 77 };
	return f_ip_frame(out, ifx ? R1 : R0, src_mac, &ip, body, blen);
}

/* Checks an ICMP error from the router (source: the interface towards
 * the sender) quoting `orig` (the IPv4 datagram of the offending frame);
 * returns the ICMP message. */
static const uint8_t *check_icmp_error(struct pktbuf *pb, const uint8_t dst_mac[6],
				       const uint8_t src_mac[6], uint32_t src_ip, uint32_t dst_ip,
				       uint8_t type, uint8_t code, const uint8_t *orig,
				       size_t orig_len)
{
	assert_memory_equal(pb->data, dst_mac, 6);
	assert_memory_equal(pb->data + 6, src_mac, 6);
	const uint8_t *ip = pb->data + 14;
	assert_int_equal(f_csum(ip, 20), 0);
	assert_int_equal(ip[1], 0xc0); /* Linux: precedence internetwork control */
	assert_int_equal(ip[9], 1);
	assert_int_equal(be32_at(ip + 12), src_ip);
	assert_int_equal(be32_at(ip + 16), dst_ip);
	const uint8_t *icmp = ip + 20;
	size_t ilen = be16_at(ip + 2) - 20u;
	assert_int_equal(f_csum(icmp, ilen), 0);
	assert_int_equal(icmp[0], type);
	assert_int_equal(icmp[1], code);
	size_t quote = TL_MIN(orig_len, (size_t)548);
	assert_int_equal(ilen, 8 + quote);
	assert_memory_equal(icmp + 8, orig, quote);
	return icmp;
}

/* RFC 1812 §5.2.1: forwarded with TTL - 1 and a new header checksum, to
 * the next hop's MAC, resolved by ARP on the egress side while the
 * datagram waits; nothing else in the datagram changes. */
static void test_rfc1812_forward_ttl_minus_one_after_arp(void **state)
{
	(void)state;
	size_t n = udp_via(buf, 0, MA, A_IP, B_IP, 64, IPV4_DF, 100);
	router_input(r, 0, buf, n, now);
	struct pktbuf *req = pop(1);
	assert_int_equal(req->len, 42);
	assert_memory_equal(req->data, BC, 6);
	assert_memory_equal(req->data + 6, R1, 6);
	assert_int_equal(be32_at(req->data + 14 + 14), R1_IP);
	assert_int_equal(be32_at(req->data + 14 + 24), B_IP);
	pktbuf_free(req);
	nothing_out(); /* the datagram waits for the answer */

	uint8_t rep[64];
	size_t rn = f_arp(rep, 2, R1, MB, B_IP, R1, R1_IP);
	router_input(r, 1, rep, rn, now);
	struct pktbuf *pb = pop(1);
	assert_int_equal(pb->len, n);
	assert_memory_equal(pb->data, MB, 6);
	assert_memory_equal(pb->data + 6, R1, 6);
	const uint8_t *ip = pb->data + 14, *orig = buf + 14;
	assert_int_equal(ip[8], 63);
	assert_int_equal(f_csum(ip, 20), 0);
	assert_memory_equal(ip, orig, 8);                         /* up to the TTL */
	assert_memory_equal(ip + 9, orig + 9, 1);                 /* protocol */
	assert_memory_equal(ip + 12, orig + 12, n - 14 - 12);     /* addresses, payload */
	assert_int_equal(r->c.ForwDatagrams, 1);
	pktbuf_free(pb);
	nothing_out();
}

/* RFC 1812 §5.3.1: a datagram whose TTL would reach 0 is dropped and the
 * sender gets ICMP time exceeded (in transit), from the interface facing
 * it, quoting the datagram (Linux traceroute's first hop). */
static void test_rfc1812_ttl_expired_time_exceeded(void **state)
{
	(void)state;
	learn(0, MA, A_IP);
	for (uint8_t ttl = 0; ttl <= 1; ttl++) {
		size_t n = udp_via(buf, 0, MA, A_IP, B_IP, ttl, 0, 30);
		router_input(r, 0, buf, n, now);
		struct pktbuf *pb = pop(0);
		check_icmp_error(pb, MA, R0, R0_IP, A_IP, 11, 0, buf + 14, n - 14);
		pktbuf_free(pb);
	}
	assert_int_equal(r->c.OutTimeExcds, 2);
	assert_int_equal(r->c.ForwDatagrams, 0);
	nothing_out();
}

/* RFC 1812 §5.2.7.1: no route to the destination: ICMP network
 * unreachable back to the sender (Linux: ip_route_input finds no route). */
static void test_rfc1812_no_route_network_unreachable(void **state)
{
	(void)state;
	learn(0, MA, A_IP);
	size_t n = udp_via(buf, 0, MA, A_IP, 0xc6130505u, 64, 0, 30);
	router_input(r, 0, buf, n, now);
	struct pktbuf *pb = pop(0);
	check_icmp_error(pb, MA, R0, R0_IP, A_IP, 3, 0, buf + 14, n - 14);
	pktbuf_free(pb);
	assert_int_equal(r->c.OutNoRoutes, 1);
	nothing_out();
}

/* RFC 1191: too big for the egress MTU with DF set: "fragmentation needed"
 * carrying the next-hop MTU; without DF the router drops it (we never
 * fragment) and counts FragFails. */
static void test_rfc1191_frag_needed_carries_next_hop_mtu(void **state)
{
	(void)state;
	learn(0, MA, A_IP);
	size_t n = udp_via(buf, 0, MA, A_IP, B_IP, 64, IPV4_DF, 1401 - 28);
	assert_int_equal(n - 14, 1401);
	router_input(r, 0, buf, n, now);
	struct pktbuf *pb = pop(0);
	const uint8_t *icmp = check_icmp_error(pb, MA, R0, R0_IP, A_IP, 3, 4, buf + 14, n - 14);
	assert_int_equal(be16_at(icmp + 6), 1400);
	pktbuf_free(pb);
	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, 0, 1401 - 28);
	router_input(r, 0, buf, n, now);
	nothing_out();
	assert_int_equal(r->c.FragFails, 1);
	/* exactly the MTU passes */
	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, IPV4_DF, 1400 - 28);
	router_input(r, 0, buf, n, now);
	pktbuf_free(pop(1)); /* ARP for B: it is on its way */
	assert_int_equal(r->c.ForwDatagrams, 1);
}

/* pmtu_black_hole: the same DF datagram is dropped without a word (a
 * firewall filtering ICMP), counted in FragFails; smaller ones still pass. */
static void test_router_pmtu_black_hole_sends_no_icmp(void **state)
{
	(void)state;
	r->pmtu_black_hole = true;
	learn(0, MA, A_IP);
	size_t n = udp_via(buf, 0, MA, A_IP, B_IP, 64, IPV4_DF, 1401 - 28);
	router_input(r, 0, buf, n, now);
	nothing_out();
	assert_int_equal(r->c.FragFails, 1);
	assert_int_equal(r->c.OutDestUnreachs, 0);
	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, IPV4_DF, 1400 - 28);
	router_input(r, 0, buf, n, now);
	pktbuf_free(pop(1)); /* ARP for B: it is on its way */
	assert_int_equal(r->c.ForwDatagrams, 1);
}

/* Static routes: longest prefix wins over the connected /24 only when
 * longer; the next hop is the gateway; bad routes are refused. */
static void test_router_static_route_longest_prefix(void **state)
{
	(void)state;
	unsigned ifx = 9;
	uint32_t nh = 0;
	assert_int_equal(router_lookup(r, FAR_IP, &ifx, &nh), 0);
	assert_int_equal(ifx, 1);
	assert_int_equal(nh, GW_IP);
	assert_int_equal(router_lookup(r, B_IP, &ifx, &nh), 0);
	assert_int_equal(nh, B_IP);
	assert_int_equal(router_lookup(r, 0xc6130000u, &ifx, &nh), -ENETUNREACH);
	assert_int_equal(router_add_route(r, 0xc6120201u, 24, GW_IP), -EINVAL); /* host bits */
	assert_int_equal(router_add_route(r, 0xc6130000u, 16, 0xc6120505u), -EINVAL); /* gw off-link */
	/* a /32 host route beats the connected /24 */
	assert_int_equal(router_add_route(r, B_IP, 32, GW_IP), 0);
	assert_int_equal(router_lookup(r, B_IP, &ifx, &nh), 0);
	assert_int_equal(nh, GW_IP);

	/* and a datagram for 198.18.2.7 goes to the gateway's MAC */
	size_t n = udp_via(buf, 0, MA, A_IP, FAR_IP, 64, 0, 10);
	router_input(r, 0, buf, n, now);
	struct pktbuf *req = pop(1);
	assert_int_equal(be32_at(req->data + 14 + 24), GW_IP);
	pktbuf_free(req);
	uint8_t rep[64];
	size_t rn = f_arp(rep, 2, R1, MG, GW_IP, R1, R1_IP);
	router_input(r, 1, rep, rn, now);
	struct pktbuf *pb = pop(1);
	assert_memory_equal(pb->data, MG, 6);
	assert_int_equal(be32_at(pb->data + 14 + 16), FAR_IP);
	pktbuf_free(pb);
}

/* Linux answers a ping to any of its addresses on any interface; the
 * reply leaves by the route back to the sender, from the pinged address. */
static void test_router_answers_ping_to_any_address(void **state)
{
	(void)state;
	learn(0, MA, A_IP);
	uint8_t body[64], data[16] = { 1, 2, 3 };
	size_t blen = f_icmp(body, 8, 0, 0x1234, 7, data, sizeof(data));
	struct f_ip ip = { .src = A_IP, .dst = R1_IP, .proto = 1 };
	size_t n = f_ip_frame(buf, R0, MA, &ip, body, blen);
	router_input(r, 0, buf, n, now);
	struct pktbuf *pb = pop(0);
	assert_memory_equal(pb->data, MA, 6);
	const uint8_t *rip = pb->data + 14;
	assert_int_equal(be32_at(rip + 12), R1_IP);
	assert_int_equal(be32_at(rip + 16), A_IP);
	assert_int_equal(rip[20], 0);                              /* echo reply */
	assert_int_equal(f_csum(rip + 20, blen), 0);
	assert_memory_equal(rip + 24, body + 4, blen - 4);         /* id, seq, data */
	assert_int_equal(r->c.OutEchoReps, 1);
	pktbuf_free(pb);
	nothing_out();
}

/* RFC 1122 §3.2.2 / RFC 1812: no error about an ICMP error; broadcasts
 * (link or directed) are not forwarded; a unicast frame for another MAC
 * (flooded by a switch) is not ours to route. */
static void test_rfc1812_silent_cases(void **state)
{
	(void)state;
	learn(0, MA, A_IP);
	uint8_t body[64], data[28] = { 0x45 };
	size_t blen = f_icmp(body, 11, 0, 0, 0, data, sizeof(data));
	struct f_ip ip = { .src = A_IP, .dst = B_IP, .proto = 1, .ttl = 1, .ttl_set = true };
	size_t n = f_ip_frame(buf, R0, MA, &ip, body, blen);
	router_input(r, 0, buf, n, now);
	nothing_out();

	n = udp_via(buf, 0, MA, A_IP, 0xc61201ffu, 64, 0, 10); /* 198.18.1.255 */
	router_input(r, 0, buf, n, now);
	nothing_out();
	assert_int_equal(r->c.InAddrErrors, 1);

	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, 0, 10);
	memcpy(buf, MB, 6); /* not the router's MAC */
	router_input(r, 0, buf, n, now);
	nothing_out();
	assert_int_equal(r->c.ForwDatagrams, 0);

	/* a broken header is counted, not forwarded */
	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, 0, 10);
	buf[14 + 10] ^= 0xff;
	router_input(r, 0, buf, n, now);
	nothing_out();
	assert_int_equal(r->c.InHdrErrors, 1);
}

/* ARP on each side: the router answers for its own address on each
 * interface only, and retries an unanswered resolution every second
 * (Linux retrans_time) until it gives up after 3 requests. */
static void test_router_arp_per_interface_with_retries(void **state)
{
	(void)state;
	size_t n = f_arp(buf, 1, BC, MB, B_IP, f_zero_mac, R0_IP);
	router_input(r, 1, buf, n, now); /* asks if1 for if0's address */
	nothing_out();
	n = udp_via(buf, 0, MA, A_IP, B_IP, 64, 0, 10);
	router_input(r, 0, buf, n, now);
	pktbuf_free(pop(1));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(router_next_deadline(r), now + 1000000);
		now += 1000000;
		router_poll(r, now);
		pktbuf_free(pop(1));
	}
	now += 1000000;
	router_poll(r, now);
	nothing_out();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_rfc1812_forward_ttl_minus_one_after_arp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc1812_ttl_expired_time_exceeded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc1812_no_route_network_unreachable, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc1191_frag_needed_carries_next_hop_mtu, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router_pmtu_black_hole_sends_no_icmp, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router_static_route_longest_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router_answers_ping_to_any_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rfc1812_silent_cases, setup, teardown),
		cmocka_unit_test_setup_teardown(test_router_arp_per_interface_with_retries, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
