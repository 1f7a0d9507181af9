/* Crafted frames for the foundation-layer tests (eth, arp, ipv4, icmp,
 * stack): builders for Ethernet, ARP, IPv4 with options, ICMP echo and UDP,
 * and a tiny driver for one stack host on a virtual clock.
 *
 * The builders compute their own checksums with f_sum() so that a test never
 * trusts the checksum code it is testing. Every builder writes into a caller
 * buffer and returns the number of bytes written.
 *
 * Header-only so each test program stays one file. */
#ifndef TL_TESTS_FRAMES_H
#define TL_TESTS_FRAMES_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"
#include "pktbuf.h"
#include "stack.h"
#include "tl_types.h"

/* The host under test and its on-link peers (198.18.0.0/24, RFC 2544). */
#define F_US 0xc6120001u    /* 198.18.0.1 */
#define F_PEER 0xc6120002u  /* 198.18.0.2 */
#define F_PEER2 0xc6120003u /* 198.18.0.3 */
#define F_SEC 1000000ULL
#define F_MS 1000ULL
#define F_T0 (1000 * F_SEC) /* start of the virtual clock: not 0 on purpose */

#define F_FRAME_MAX 2048

static const uint8_t f_us_mac[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01 };
static const uint8_t f_peer_mac[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x02 };
static const uint8_t f_peer2_mac[6] = { 0x02, 0x00, 0xc6, 0x12, 0x00, 0x03 };
static const uint8_t f_bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t f_zero_mac[6] = { 0 };

/* ---- checksums, computed here independently of checksum.c ---- */

/* Folded one's-complement sum of `len` bytes plus `acc` (not complemented). */
static inline uint32_t f_sum(uint32_t acc, const uint8_t *p, size_t len)
{
	uint64_t s = acc;
	for (size_t i = 0; i < len; i++)
		s += (i & 1) ? p[i] : (uint32_t)p[i] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

/* The wire checksum of a buffer whose checksum field is zero; 0 when the
 * buffer already holds a correct checksum. */
static inline uint16_t f_csum(const uint8_t *p, size_t len)
{
	return (uint16_t)~f_sum(0, p, len);
}

static inline uint32_t f_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint8_t ph[12];
	put_be32(ph, src);
	put_be32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put_be16(ph + 10, len);
	return f_sum(0, ph, sizeof(ph));
}

/* ---- Ethernet and ARP ---- */

static inline size_t f_eth(uint8_t *buf, const uint8_t dst[6], const uint8_t src[6],
			   uint16_t type)
{
	memcpy(buf, dst, 6);
	memcpy(buf + 6, src, 6);
	put_be16(buf + 12, type);
	return 14;
}

/* A 42-byte Ethernet/IPv4 ARP frame, unpadded. */
static inline size_t f_arp(uint8_t *buf, uint16_t op, const uint8_t eth_dst[6],
			   const uint8_t sha[6], uint32_t spa, const uint8_t tha[6],
			   uint32_t tpa)
{
	size_t n = f_eth(buf, eth_dst, sha, 0x0806);
	uint8_t *a = buf + n;
	put_be16(a, 1);         /* htype Ethernet */
	put_be16(a + 2, 0x0800); /* ptype IPv4 */
	a[4] = 6;
	a[5] = 4;
	put_be16(a + 6, op);
	memcpy(a + 8, sha, 6);
	put_be32(a + 14, spa);
	memcpy(a + 18, tha, 6);
	put_be32(a + 24, tpa);
	return n + 28;
}

/* ---- IPv4 ---- */

/* What an IPv4 header carries. Zero fields get defaults from f_ip_hdr():
 * TTL 64 when ttl_set is false. Options must be a multiple of 4 bytes. */
struct f_ip {
	uint32_t src, dst;
	uint8_t proto, tos, ttl;
	bool ttl_set; /* use ttl even when it is 0 */
	uint16_t id, frag;
	const uint8_t *opts;
	size_t opt_len;
};

/* Writes an IPv4 header for `plen` bytes of payload with a correct header
 * checksum; returns the header length (20 + opt_len). */
static inline size_t f_ip_hdr(uint8_t *p, const struct f_ip *ip, size_t plen)
{
	size_t hl = 20 + ip->opt_len;
	assert_true(ip->opt_len % 4 == 0 && hl <= 60);
	memset(p, 0, 20);
	p[0] = (uint8_t)(0x40 | hl / 4);
	p[1] = ip->tos;
	put_be16(p + 2, (uint16_t)(hl + plen));
	put_be16(p + 4, ip->id);
	put_be16(p + 6, ip->frag);
	p[8] = ip->ttl_set || ip->ttl ? ip->ttl : 64;
	p[9] = ip->proto;
	put_be32(p + 12, ip->src);
	put_be32(p + 16, ip->dst);
	if (ip->opt_len)
		memcpy(p + 20, ip->opts, ip->opt_len);
	put_be16(p + 10, f_csum(p, hl));
	return hl;
}

/* A whole Ethernet + IPv4 frame around `payload`; returns the frame length. */
static inline size_t f_ip_frame(uint8_t *buf, const uint8_t dst_mac[6],
				const uint8_t src_mac[6], const struct f_ip *ip,
				const uint8_t *payload, size_t plen)
{
	size_t n = f_eth(buf, dst_mac, src_mac, 0x0800);
	n += f_ip_hdr(buf + n, ip, plen);
	if (plen)
		memcpy(buf + n, payload, plen);
	return n + plen;
}

/* ---- ICMP and UDP bodies ---- */

/* An ICMP message (type, code, the 4 "rest of header" bytes as id/seq,
 * data) with a correct checksum; returns its length. */
static inline size_t f_icmp(uint8_t *p, uint8_t type, uint8_t code, uint16_t id,
			    uint16_t seq, const uint8_t *data, size_t dlen)
{
	p[0] = type;
	p[1] = code;
	put_be16(p + 2, 0);
	put_be16(p + 4, id);
	put_be16(p + 6, seq);
	if (dlen)
		memcpy(p + 8, data, dlen);
	put_be16(p + 2, f_csum(p, 8 + dlen));
	return 8 + dlen;
}

/* A UDP datagram src:sport -> dst:dport with a correct checksum (or none
 * when with_csum is false); returns its length. */
static inline size_t f_udp(uint8_t *p, uint32_t src, uint32_t dst, uint16_t sport,
			   uint16_t dport, const uint8_t *data, size_t dlen, bool with_csum)
{
	uint16_t len = (uint16_t)(8 + dlen);
	put_be16(p, sport);
	put_be16(p + 2, dport);
	put_be16(p + 4, len);
	put_be16(p + 6, 0);
	if (dlen)
		memcpy(p + 8, data, dlen);
	if (with_csum) {
		uint16_t c = (uint16_t)~f_sum(f_pseudo(src, dst, 17, len), p, len);
		put_be16(p + 6, c ? c : 0xffff); /* 0 means "none" in UDP */
	}
	return len;
}

/* The standard crafted ping: an echo request from `src` (MAC, IP) to us,
 * id/seq as given, `dlen` data bytes 0, 1, 2, ... */
static inline size_t f_ping_from(uint8_t *buf, const uint8_t src_mac[6], uint32_t src,
				 uint16_t id, uint16_t seq, size_t dlen)
{
	uint8_t body[1500];
	uint8_t data[1500];
	assert_true(dlen <= sizeof(body) - 8);
	for (size_t i = 0; i < dlen; i++)
		data[i] = (uint8_t)i;
	size_t blen = f_icmp(body, 8, 0, id, seq, data, dlen);
	struct f_ip ip = { .src = src, .dst = F_US, .proto = 1 };
	return f_ip_frame(buf, f_us_mac, src_mac, &ip, body, blen);
}

static inline size_t f_ping(uint8_t *buf, uint16_t id, uint16_t seq, size_t dlen)
{
	return f_ping_from(buf, f_peer_mac, F_PEER, id, seq, dlen);
}

/* A UDP datagram from the peer to us, port 40000 -> dport, `dlen` bytes of 'u'. */
static inline size_t f_udp_frame(uint8_t *buf, uint32_t src, uint16_t dport, size_t dlen)
{
	uint8_t body[1500], data[1500];
	assert_true(dlen <= sizeof(body) - 8);
	memset(data, 'u', dlen);
	size_t blen = f_udp(body, src, F_US, 40000, dport, data, dlen, true);
	struct f_ip ip = { .src = src, .dst = F_US, .proto = 17, .id = 0x1234 };
	return f_ip_frame(buf, f_us_mac, f_peer_mac, &ip, body, blen);
}

/* ---- a stack host on a virtual clock ---- */

/* One host under test. `now` only moves forward. */
struct f_host {
	struct stack *st;
	tl_usec_t now;
};

/* The fixed configuration of every test host: 02:00:c6:12:00:01,
 * 198.18.0.1/24, no gateway, MTU 1500, secret all zeros. */
static inline struct stack_config f_config(void)
{
	struct stack_config cfg = { .name = "stack", .addr = F_US, .prefix_len = 24,
				    .mtu = 1500 };
	memcpy(cfg.mac, f_us_mac, 6);
	return cfg;
}

static inline void f_host_init(struct f_host *h)
{
	struct stack_config cfg = f_config();
	h->now = F_T0;
	h->st = stack_new(&cfg, h->now);
	assert_non_null(h->st);
}

/* Pops and frees every queued output frame; returns how many there were. */
static inline unsigned f_drain(struct f_host *h)
{
	unsigned n = 0;
	struct pktbuf *pb;
	while ((pb = stack_pop_output(h->st))) {
		pktbuf_free(pb);
		n++;
	}
	return n;
}

static inline void f_host_fini(struct f_host *h)
{
	f_drain(h);
	stack_free(h->st);
	h->st = NULL;
	pktbuf_pool_drain();
}

static inline void f_in(struct f_host *h, const uint8_t *frame, size_t len)
{
	stack_input(h->st, frame, len, h->now);
}

/* Moves the clock to `t` through every deadline on the way, running the
 * timers at each, as the daemon's loop does. */
static inline void f_advance_to(struct f_host *h, tl_usec_t t)
{
	for (;;) {
		tl_usec_t d = stack_next_deadline(h->st);
		if (d == TL_NEVER || d > t)
			break;
		if (d > h->now)
			h->now = d;
		stack_poll(h->st, h->now);
	}
	h->now = t;
	stack_poll(h->st, h->now);
}

/* Next output frame; fails the test when there is none. Caller frees it. */
static inline struct pktbuf *f_pop(struct f_host *h)
{
	struct pktbuf *pb = stack_pop_output(h->st);
	if (!pb)
		fail_msg("expected a frame from the stack, got none (t=%.3f s)",
			 (double)(h->now - F_T0) / F_SEC);
	return pb;
}

static inline void f_expect_nothing(struct f_host *h)
{
	struct pktbuf *pb = stack_pop_output(h->st);
	if (pb) {
		char hex[3 * 48 + 1] = "";
		for (size_t i = 0; i < pb->len && i < 48; i++)
			snprintf(hex + 3 * i, 4, "%02x ", pb->data[i]);
		pktbuf_free(pb);
		fail_msg("expected no frame, got one starting %s", hex);
	}
}

static inline struct stack_counters *f_mib(struct f_host *h)
{
	return stack_counters(h->st);
}

/* Makes the peer known: it asks for our MAC, we learn it and answer. */
static inline void f_learn(struct f_host *h, const uint8_t mac[6], uint32_t ip)
{
	uint8_t fr[64];
	size_t n = f_arp(fr, 1, f_bcast_mac, mac, ip, f_zero_mac, F_US);
	f_in(h, fr, n);
	struct pktbuf *pb = f_pop(h); /* our reply */
	assert_int_equal(be16_at(pb->data + 12), 0x0806);
	pktbuf_free(pb);
}

/* ---- checks on frames the stack sent ---- */

/* Asserts an IPv4 frame from us to `dst_mac`/`dst` with a sane 20-byte
 * header (version 4, IHL 5, total length = frame length - 14, valid header
 * checksum, TTL 64, our source address) and returns the IP payload. */
static inline const uint8_t *f_check_ip_out(const struct pktbuf *pb, const uint8_t dst_mac[6],
					    uint32_t dst, uint8_t proto, size_t *plen)
{
	assert_true(pb->len >= 14 + 20);
	assert_memory_equal(pb->data, dst_mac, 6);
	assert_memory_equal(pb->data + 6, f_us_mac, 6);
	assert_int_equal(be16_at(pb->data + 12), 0x0800);
	const uint8_t *ip = pb->data + 14;
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(be16_at(ip + 2), pb->len - 14);
	assert_int_equal(f_csum(ip, 20), 0);
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], proto);
	assert_int_equal(be32_at(ip + 12), F_US);
	assert_int_equal(be32_at(ip + 16), dst);
	*plen = pb->len - 14 - 20;
	return ip + 20;
}

/* Asserts an ARP frame from us and returns its 28-byte body. */
static inline const uint8_t *f_check_arp_out(const struct pktbuf *pb, const uint8_t eth_dst[6],
					     uint16_t op, uint32_t tpa)
{
	static const uint8_t fixed[6] = { 0x00, 0x01, 0x08, 0x00, 0x06, 0x04 };
	assert_int_equal(pb->len, 42);
	assert_memory_equal(pb->data, eth_dst, 6);
	assert_memory_equal(pb->data + 6, f_us_mac, 6);
	assert_int_equal(be16_at(pb->data + 12), 0x0806);
	const uint8_t *a = pb->data + 14;
	assert_memory_equal(a, fixed, 6);
	assert_int_equal(be16_at(a + 6), op);
	assert_memory_equal(a + 8, f_us_mac, 6);
	assert_int_equal(be32_at(a + 14), F_US);
	assert_int_equal(be32_at(a + 24), tpa);
	return a;
}

#endif
