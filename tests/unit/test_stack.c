/* Unit tests for stack.c: one host driven only through stack.h with
 * crafted frames and a virtual clock. Creation and accessors, the event
 * queue, stack_ip_output routing (on-link, gateway, no route), a burst of
 * every malformed frame kind counted exactly and followed by a ping that
 * still works, and a seeded random/mutated-frame robustness run in which
 * every frame the host sends must be well formed. */
#include "frames.h"

#include <errno.h>

#include "ipv4.h"
#include "prng.h"

/* Fails with what was seen when the documented behaviour is not met. */
#define CONTRACT_BROKEN(...) fail_msg(__VA_ARGS__)

/* A new host: the configuration is kept, Ip shows a host (Forwarding 2,
 * DefaultTTL 64), every other counter is 0, and nothing is queued. */
static void test_stack_new_initial_state(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	const struct stack_config *c = stack_config(h.st);
	assert_string_equal(c->name, "stack");
	assert_memory_equal(c->mac, f_us_mac, 6);
	assert_int_equal(c->addr, F_US);
	assert_int_equal(c->prefix_len, 24);
	assert_non_null(stack_tcp(h.st));
	assert_non_null(stack_sysctl(h.st));
	assert_non_null(stack_icmp_limit(h.st));

	static struct stack_counters want;
	want.ip.Forwarding = 2;
	want.ip.DefaultTTL = 64;
	assert_memory_equal(f_mib(&h), &want, sizeof(want));

	assert_null(stack_pop_output(h.st));
	struct tl_event ev;
	assert_false(stack_pop_event(h.st, &ev));
	assert_int_equal(stack_events_lost(h.st), 0);
	assert_int_equal(stack_next_deadline(h.st), TL_NEVER);
	f_host_fini(&h);
}

/* Events come out in the order they were queued, then none. */
static void test_stack_events_fifo(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	for (uint64_t i = 1; i <= 3; i++) {
		struct tl_event ev = { .kind = TL_EV_TCP_STATE, .conn_id = i, .time = h.now };
		stack_emit_event(h.st, &ev);
	}
	for (uint64_t i = 1; i <= 3; i++) {
		struct tl_event ev;
		assert_true(stack_pop_event(h.st, &ev));
		assert_int_equal(ev.conn_id, i);
	}
	struct tl_event ev;
	assert_false(stack_pop_event(h.st, &ev));
	assert_int_equal(stack_events_lost(h.st), 0);
	f_host_fini(&h);
}

/* The typical first contact: the peer asks for our MAC (exact reply),
 * then pings; the reply leaves at once because the asker was learned. */
static void test_stack_arp_then_ping(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[128];
	size_t n = f_arp(fr, 1, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	uint8_t want[42];
	f_arp(want, 2, f_peer_mac, f_us_mac, F_US, f_peer_mac, F_PEER);
	assert_int_equal(pb->len, 42);
	assert_memory_equal(pb->data, want, 42);
	pktbuf_free(pb);

	h.now += 2 * F_MS;
	f_in(&h, fr, f_ping(fr, 0x0100, 1, 56));
	pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(be16_at(icmp + 4), 0x0100);
	assert_int_equal(be16_at(icmp + 6), 1);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->tlext.TxFrames, 2);
	assert_int_equal(f_mib(&h)->tlext.RxFrames, 2);
	f_host_fini(&h);
}

static struct pktbuf *payload(size_t n)
{
	struct pktbuf *pb = pktbuf_alloc();
	memset(pktbuf_put(pb, n), 0x5a, n);
	return pb;
}

/* On-link destination: a 20-byte header from us, TTL 64, DF only for
 * TCP (Linux sets DF via path MTU discovery on TCP, not on ICMP). */
static void test_stack_ip_output_on_link(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	assert_int_equal(stack_ip_output(h.st, F_PEER, 1, payload(8), h.now), 0);
	assert_int_equal(stack_ip_output(h.st, F_PEER, 6, payload(20), h.now), 0);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(plen, 8);
	assert_int_equal(be16_at(pb->data + 20), 0);
	pktbuf_free(pb);
	pb = f_pop(&h);
	f_check_ip_out(pb, f_peer_mac, F_PEER, 6, &plen);
	assert_int_equal(plen, 20);
	assert_int_equal(be16_at(pb->data + 20), IPV4_DF);
	pktbuf_free(pb);
	assert_int_equal(f_mib(&h)->ip.OutRequests, 2);
	assert_int_equal(f_mib(&h)->ip.OutTransmits, 2);
	f_host_fini(&h);
}

/* Off-link without a gateway: -EHOSTUNREACH, OutNoRoutes, nothing sent
 * (not even an ARP request). */
static void test_stack_ip_output_no_route(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	assert_int_equal(stack_ip_output(h.st, 0x0a000001u, 1, payload(8), h.now), -EHOSTUNREACH);
	assert_int_equal(f_mib(&h)->ip.OutNoRoutes, 1);
	assert_int_equal(f_mib(&h)->ip.OutRequests, 0);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Off-link with a gateway: the next hop is the gateway, resolved by ARP,
 * while the IP destination stays the remote address. */
static void test_stack_ip_output_via_gateway(void **state)
{
	(void)state;
	struct stack_config cfg = f_config();
	cfg.gateway = 0xc61200feu; /* 198.18.0.254 */
	struct f_host h = { .now = F_T0 };
	h.st = stack_new(&cfg, h.now);
	assert_non_null(h.st);
	assert_int_equal(stack_ip_output(h.st, 0x0a000001u, 1, payload(8), h.now), 0);
	struct pktbuf *pb = f_pop(&h);
	f_check_arp_out(pb, f_bcast_mac, 1, 0xc61200feu);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	uint8_t fr[42];
	f_arp(fr, 2, f_us_mac, f_peer2_mac, 0xc61200feu, f_us_mac, F_US);
	f_in(&h, fr, sizeof(fr));
	pb = f_pop(&h);
	size_t plen;
	f_check_ip_out(pb, f_peer2_mac, 0x0a000001u, 1, &plen);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* Every kind of malformed or foreign frame, once each: each is counted
 * where Linux (or TlExt) would count it, none is answered, and a valid
 * ping afterwards still gets its reply. */
static void test_stack_malformed_burst_then_ping_works(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	uint8_t fr[256], body[64];
	size_t n;
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };

	f_in(&h, fr, 13);                                      /* runt */
	n = f_ping(fr, 1, 1, 8);
	memcpy(fr, f_peer2_mac, 6);
	f_in(&h, fr, n);                                       /* other MAC */
	n = f_ping(fr, 1, 1, 8);
	put_be16(fr + 12, 0x86dd);
	f_in(&h, fr, n);                                       /* IPv6 */
	n = f_arp(fr, 1, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n - 1);                                   /* short ARP */
	fr[14 + 5] = 16;
	f_in(&h, fr, n);                                       /* ARP plen 16 */

	n = f_ping(fr, 1, 1, 8);
	f_in(&h, fr, 14 + 12);                                 /* truncated IP */
	fr[14] = 0x65;
	f_in(&h, fr, n);                                       /* version 6 */
	static const uint8_t bad_ihl[] = { 0x44, 0x4f };
	for (size_t i = 0; i < sizeof(bad_ihl); i++) {        /* IHL 4, IHL 15 */
		n = f_ping(fr, 1, 1, 8);
		fr[14] = bad_ihl[i];
		put_be16(fr + 24, 0);
		put_be16(fr + 24, f_csum(fr + 14, 20));
		f_in(&h, fr, n);
	}
	n = f_ping(fr, 1, 1, 8);
	put_be16(fr + 16, 1000);
	put_be16(fr + 24, 0);
	put_be16(fr + 24, f_csum(fr + 14, 20));
	f_in(&h, fr, n);                                       /* total > buffer */
	n = f_ping(fr, 1, 1, 8);
	fr[24] ^= 0x10;
	f_in(&h, fr, n);                                       /* header checksum */
	n = f_ping(fr, 1, 1, 8);
	fr[n - 1] ^= 0x01;
	f_in(&h, fr, n);                                       /* ICMP checksum */
	size_t bl = f_icmp(body, 8, 0, 1, 1, NULL, 0);
	ip.frag = IPV4_MF;
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl)); /* fragment */
	ip.frag = 0;
	ip.dst = F_PEER2;
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl)); /* not ours */

	f_expect_nothing(&h);
	struct stack_counters *m = f_mib(&h);
	assert_int_equal(m->tlext.RxRunts, 1);
	assert_int_equal(m->tlext.RxNotForUs, 1);
	assert_int_equal(m->tlext.RxUnknownEthertype, 1);
	assert_int_equal(m->tlext.ArpMalformed, 2);
	assert_int_equal(m->ip.InHdrErrors, 6);
	assert_int_equal(m->ip.InAddrErrors, 1);
	assert_int_equal(m->ip.ReasmReqds, 1);
	assert_int_equal(m->ip.ReasmFails, 1);
	assert_int_equal(m->icmp.InErrors, 1);
	assert_int_equal(m->icmp.InCsumErrors, 1);
	assert_int_equal(m->ip.InReceives, 9);
	assert_int_equal(m->tlext.RxFrames, 1 + 14);

	f_in(&h, fr, f_ping(fr, 0xfeed, 77, 32));
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(plen, 40);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(be16_at(icmp + 4), 0xfeed);
	assert_int_equal(be16_at(icmp + 6), 77);
	assert_int_equal(f_csum(icmp, plen), 0);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* A datagram larger than the link MTU never leaves the host: without
 * fragmentation it is dropped and counted in Ip FragFails (counters.h).
 * An echo request of 1472 data bytes (IP 1500) to a host whose link MTU is
 * 1400 must not produce a 1514-byte reply. */
static void test_stack_reply_larger_than_mtu_not_sent(void **state)
{
	(void)state;
	struct stack_config cfg = f_config();
	cfg.mtu = 1400;
	struct f_host h = { .now = F_T0 };
	h.st = stack_new(&cfg, h.now);
	assert_non_null(h.st);
	f_learn(&h, f_peer_mac, F_PEER);
	uint8_t fr[1600];
	f_in(&h, fr, f_ping(fr, 1, 1, 1472));
	struct pktbuf *pb = stack_pop_output(h.st);
	size_t len = pb ? pb->len : 0;
	pktbuf_free(pb);
	uint64_t frag_fails = f_mib(&h)->ip.FragFails;
	f_host_fini(&h);
	if (len > 14 + 1400)
		CONTRACT_BROKEN("stack.c stack_ip_output ignores cfg->mtu: sent a %zu-byte frame on a "
			  "1400-byte MTU link (FragFails %llu)\n", len, (unsigned long long)frag_fails);
	assert_int_equal(len, 0);
	assert_int_equal(frag_fails, 1);
}

/* ---- robustness ---- */

/* Frames far beyond a 1500-byte MTU (a misconfigured peer's jumbo
 * frames) are handled without overrunning a packet buffer: a UDP one gets
 * its 576-byte port unreachable, and an echo either gets a valid reply or
 * none (its reply does not fit a buffer). */
static void test_stack_jumbo_frames_handled(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	static const size_t lens[] = { 1473, 1800, 1900, 4000, 8972 };
	enum { BIG = 9100 };
	uint8_t *fr = malloc(BIG), *body = malloc(BIG), *data = calloc(1, BIG);
	for (size_t i = 0; i < TL_ARRAY_SIZE(lens); i++) {
		size_t bl = f_icmp(body, 8, 0, 3, (uint16_t)i, data, lens[i]);
		struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 1 };
		f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
		struct pktbuf *pb = stack_pop_output(h.st);
		if (pb) {
			size_t plen;
			const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
			assert_int_equal(plen, 8 + lens[i]);
			assert_int_equal(f_csum(icmp, plen), 0);
			pktbuf_free(pb);
		}
		f_expect_nothing(&h);
	}
	size_t bl = f_udp(body, F_PEER, F_US, 1, 9, data, 8972, true);
	struct f_ip ip = { .src = F_PEER, .dst = F_US, .proto = 17 };
	f_in(&h, fr, f_ip_frame(fr, f_us_mac, f_peer_mac, &ip, body, bl));
	struct pktbuf *pb = f_pop(&h);
	assert_int_equal(pb->len, 14 + 576);
	pktbuf_free(pb);
	free(fr);
	free(body);
	free(data);
	f_host_fini(&h);
}

/* What the random run saw going out. */
struct out_census {
	unsigned frames, arp_requests, arp_replies, echo_replies, icmp_errors, tcp;
};

/* Fails unless `pb` is a frame this host may send: from our MAC, and a
 * complete ARP packet or an IPv4 datagram from our address with a valid
 * 20-byte header, length and transport checksum. */
static void check_well_formed(const struct pktbuf *pb, struct out_census *c, unsigned iter)
{
	const uint8_t *p = pb->data;
	size_t len = pb->len;
	c->frames++;
	if (len < 14 || len > 1514)
		fail_msg("iter %u: frame of %zu bytes", iter, len);
	if (memcmp(p + 6, f_us_mac, 6) != 0)
		fail_msg("iter %u: source MAC is not ours", iter);
	uint16_t type = be16_at(p + 12);
	if (type == 0x0806) {
		static const uint8_t fixed[6] = { 0, 1, 8, 0, 6, 4 };
		if (len != 42 || memcmp(p + 14, fixed, 6) != 0 ||
		    memcmp(p + 22, f_us_mac, 6) != 0 || be32_at(p + 28) != F_US)
			fail_msg("iter %u: malformed ARP out", iter);
		uint16_t op = be16_at(p + 20);
		if (op == 1)
			c->arp_requests++;
		else if (op == 2)
			c->arp_replies++;
		else
			fail_msg("iter %u: ARP op %u out", iter, op);
		return;
	}
	if (type != 0x0800)
		fail_msg("iter %u: EtherType 0x%04x out", iter, type);
	const uint8_t *ip = p + 14;
	if (len < 34 || ip[0] != 0x45 || be16_at(ip + 2) != len - 14 || f_csum(ip, 20) != 0 ||
	    be32_at(ip + 12) != F_US || ip[8] != 64 || (be16_at(ip + 6) & 0xbfff) != 0)
		fail_msg("iter %u: malformed IPv4 header out", iter);
	const uint8_t *l4 = ip + 20;
	size_t l4len = len - 34;
	switch (ip[9]) {
	case 1:
		if (l4len < 8 || f_csum(l4, l4len) != 0)
			fail_msg("iter %u: bad ICMP out", iter);
		if (l4[0] == 0) {
			c->echo_replies++;
		} else if (l4[0] == 3) {
			/* An error quotes an IPv4 header that was addressed to us. */
			if (l4len < 8 + 20 || l4[8] >> 4 != 4 || be32_at(l4 + 8 + 16) != F_US)
				fail_msg("iter %u: ICMP error with a bad quote", iter);
			c->icmp_errors++;
		} else {
			fail_msg("iter %u: ICMP type %u out", iter, l4[0]);
		}
		break;
	case 6: {
		if (l4len < 20 || (size_t)(l4[12] >> 4) * 4 < 20 || (size_t)(l4[12] >> 4) * 4 > l4len)
			fail_msg("iter %u: bad TCP header length out", iter);
		uint32_t s = f_pseudo(F_US, be32_at(ip + 16), 6, (uint16_t)l4len);
		if ((uint16_t)~f_sum(s, l4, l4len) != 0)
			fail_msg("iter %u: bad TCP checksum out", iter);
		c->tcp++;
		break;
	}
	default:
		fail_msg("iter %u: IP protocol %u out", iter, ip[9]);
	}
}

/* A valid frame of a random kind, from one of a few peers (some known to
 * the host, some not), with random fields where the kind allows. */
static size_t random_valid(struct prng *r, uint8_t *fr)
{
	static const uint8_t *const macs[] = { f_peer_mac, f_peer2_mac, f_bcast_mac };
	static const uint32_t ips[] = { F_PEER, F_PEER2, 0xc6120077u, 0, 0x0a000001u };
	const uint8_t *mac = macs[prng_next(r) % 2];
	uint32_t src = ips[prng_next(r) % TL_ARRAY_SIZE(ips)];
	uint32_t dst = prng_next(r) % 8 ? F_US : ips[prng_next(r) % TL_ARRAY_SIZE(ips)];
	const uint8_t *eth_dst = prng_next(r) % 8 ? f_us_mac : f_bcast_mac;
	uint8_t data[1500], body[1600];
	size_t dlen = prng_next(r) % 4 ? prng_next(r) % 64 : prng_next(r) % 1450;
	for (size_t i = 0; i < dlen; i++)
		data[i] = (uint8_t)prng_next(r);
	uint8_t opts[40];
	for (size_t i = 0; i < sizeof(opts); i++)
		opts[i] = (uint8_t)prng_next(r);
	struct f_ip ip = { .src = src, .dst = dst, .ttl = (uint8_t)prng_next(r), .ttl_set = true,
			   .id = (uint16_t)prng_next(r), .tos = (uint8_t)prng_next(r) };
	if (prng_next(r) % 4 == 0) {
		ip.opts = opts;
		ip.opt_len = 4 * (prng_next(r) % 11);
	}
	if (prng_next(r) % 8 == 0)
		ip.frag = (uint16_t)prng_next(r);
	size_t bl;
	switch (prng_next(r) % 6) {
	case 0: /* ARP of any op, for us or not */
		return f_arp(fr, (uint16_t)(prng_next(r) % 4), eth_dst, mac, src, f_zero_mac,
			     prng_next(r) % 2 ? F_US : dst);
	case 1: /* ICMP of any type and code */
		ip.proto = 1;
		bl = f_icmp(body, (uint8_t)(prng_next(r) % 4 ? 8 : prng_next(r) % 20),
			    (uint8_t)(prng_next(r) % 4 ? 0 : prng_next(r)), (uint16_t)prng_next(r),
			    (uint16_t)prng_next(r), data, TL_MIN(dlen, (size_t)1400));
		break;
	case 2: /* UDP, with or without checksum */
		ip.proto = 17;
		bl = f_udp(body, src, dst, (uint16_t)prng_next(r), (uint16_t)prng_next(r), data,
			   TL_MIN(dlen, (size_t)1400), prng_next(r) % 2);
		break;
	case 3: { /* TCP with random flags, checksummed */
		ip.proto = 6;
		bl = 20 + TL_MIN(dlen, (size_t)1400);
		memcpy(body + 20, data, bl - 20);
		for (int i = 0; i < 20; i++)
			body[i] = (uint8_t)prng_next(r);
		body[12] = 0x50;
		put_be16(body + 16, 0);
		put_be16(body + 16, (uint16_t)~f_sum(f_pseudo(src, dst, 6, (uint16_t)bl), body, bl));
		break;
	}
	default: /* any other protocol */
		ip.proto = (uint8_t)prng_next(r);
		bl = TL_MIN(dlen, (size_t)1400);
		memcpy(body, data, bl);
		break;
	}
	return f_ip_frame(fr, eth_dst, mac, &ip, body, bl);
}

/* Corrupts a frame: flips, overwrites, truncates or extends it. */
static size_t mutate(struct prng *r, uint8_t *fr, size_t n, size_t cap)
{
	unsigned k = 1 + (unsigned)(prng_next(r) % 4);
	for (unsigned i = 0; i < k; i++) {
		switch (prng_next(r) % 5) {
		case 0: /* flip a bit in the headers */
			if (n)
				fr[prng_next(r) % TL_MIN(n, (size_t)64)] ^= (uint8_t)(1u << (prng_next(r) % 8));
			break;
		case 1: /* overwrite a byte anywhere */
			if (n)
				fr[prng_next(r) % n] = (uint8_t)prng_next(r);
			break;
		case 2: /* truncate */
			n = n ? (size_t)(prng_next(r) % n) : 0;
			break;
		case 3: /* extend with junk */ {
			size_t add = prng_next(r) % 64;
			for (size_t j = 0; j < add && n < cap; j++)
				fr[n++] = (uint8_t)prng_next(r);
			break;
		}
		default: /* a length field set to something random */
			if (n >= 18)
				put_be16(fr + 16, (uint16_t)prng_next(r));
			break;
		}
	}
	return n;
}

/* 20000 frames (random bytes, valid frames with random fields, mutated
 * valid frames) through stack_input on a clock that moves and runs the
 * timers: nothing crashes (ASan/UBSan in the sanitizer build) and every
 * frame sent is well formed. The run must also reach the deep paths. */
static void test_stack_random_frames_never_crash(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	struct prng r = { .state = 0x7c91ab5e2d4f6031ULL };
	struct out_census c = { 0 };
	enum { ITERS = 20000 };
	for (unsigned iter = 0; iter < ITERS; iter++) {
		uint8_t fr[F_FRAME_MAX];
		size_t n;
		switch (prng_next(&r) % 4) {
		case 0: /* pure noise, sometimes with a plausible Ethernet header */
			n = prng_next(&r) % 1600;
			for (size_t i = 0; i < n; i++)
				fr[i] = (uint8_t)prng_next(&r);
			if (n >= 14 && prng_next(&r) % 2) {
				memcpy(fr, f_us_mac, 6);
				put_be16(fr + 12, prng_next(&r) % 2 ? 0x0800 : 0x0806);
			}
			break;
		case 1: /* valid */
			n = random_valid(&r, fr);
			break;
		default: /* mutated */
			n = mutate(&r, fr, random_valid(&r, fr), sizeof(fr));
			break;
		}
		/* The exact length on the heap: ASan catches any overread. */
		uint8_t *p = malloc(n ? n : 1);
		memcpy(p, fr, n);
		f_in(&h, p, n);
		free(p);
		if (prng_next(&r) % 16 == 0)
			f_advance_to(&h, h.now + prng_next(&r) % (2 * F_SEC));
		struct pktbuf *pb;
		while ((pb = stack_pop_output(h.st))) {
			check_well_formed(pb, &c, iter);
			pktbuf_free(pb);
		}
		struct tl_event ev;
		while (stack_pop_event(h.st, &ev))
			;
	}
	struct stack_counters *m = f_mib(&h);
	print_message("random run: %u frames out (ARP %u req %u rep, echo replies %u, "
		      "ICMP errors %u, TCP %u); InHdrErrors %llu, ArpMalformed %llu\n",
		      c.frames, c.arp_requests, c.arp_replies, c.echo_replies, c.icmp_errors,
		      c.tcp, (unsigned long long)m->ip.InHdrErrors,
		      (unsigned long long)m->tlext.ArpMalformed);
	assert_int_equal(m->tlext.RxFrames, ITERS + 1);
	assert_int_equal(m->tlext.TxFrames, c.frames + 1);
	/* The run went deep: every kind of answer happened. */
	assert_true(c.arp_requests > 0 && c.arp_replies > 0 && c.echo_replies > 0);
	assert_true(c.icmp_errors > 0 && c.tcp > 0);
	assert_true(m->ip.InHdrErrors > 0 && m->tlext.ArpMalformed > 0 && m->icmp.InCsumErrors > 0);
	f_host_fini(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stack_new_initial_state),
		cmocka_unit_test(test_stack_events_fifo),
		cmocka_unit_test(test_stack_arp_then_ping),
		cmocka_unit_test(test_stack_ip_output_on_link),
		cmocka_unit_test(test_stack_ip_output_no_route),
		cmocka_unit_test(test_stack_ip_output_via_gateway),
		cmocka_unit_test(test_stack_malformed_burst_then_ping_works),
		cmocka_unit_test(test_stack_reply_larger_than_mtu_not_sent),
		cmocka_unit_test(test_stack_jumbo_frames_handled),
		cmocka_unit_test(test_stack_random_frames_never_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
