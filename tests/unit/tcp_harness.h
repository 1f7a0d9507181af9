/* A test harness for the TCP engine: one stack host (198.18.0.1) and a
 * scripted peer (198.18.0.2) whose segments are crafted by the test. The
 * clock is virtual: h_advance() moves it through every timer deadline.
 *
 *   h_inject(h, SEG(.flags = TH_SYN, .seq = 1000));
 *   h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
 *
 * Header-only so each test program stays one file. */
#ifndef TL_TESTS_TCP_HARNESS_H
#define TL_TESTS_TCP_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arp.h"
#include "bytes.h"
#include "checksum.h"
#include "eth.h"
#include "ipv4.h"
#include "stack.h"
#include "tcp_api.h"
#include "tcp_state.h"
#include "tcp_sysctl.h"
#include "tcp_wire.h"

#define H_US 0xc6120001u   /* 198.18.0.1 */
#define H_PEER 0xc6120002u /* 198.18.0.2 */
#define SEC 1000000ULL
#define MS 1000ULL

static const uint8_t h_us_mac[6] = { 0x02, 0, 0xc6, 0x12, 0, 0x01 };
static const uint8_t h_peer_mac[6] = { 0x02, 0, 0xc6, 0x12, 0, 0x02 };

/* SEG() sets defaults and lets the test override them on purpose. */
#pragma GCC diagnostic ignored "-Woverride-init"

/* Default fields for a crafted segment: from the peer's port 40000 to
 * our port 80. A field left 0 keeps the default. */
#define SEG(...) ((struct tcp_seg){ .sport = 40000, .dport = 80, .wnd = 65535, __VA_ARGS__ })

#define H_MAX_OUT 4096

struct h_out {
	struct tcp_seg seg;
	uint8_t payload[2048];
};

struct harness {
	struct stack *st;
	tl_usec_t now;
	struct h_out out[H_MAX_OUT];
	unsigned out_head, out_count;
	unsigned non_tcp;  /* frames out that were not TCP (ARP, ICMP) */
};

static inline void h_collect(struct harness *h)
{
	struct pktbuf *pb;
	while ((pb = stack_pop_output(h->st))) {
		struct eth_frame f;
		struct ipv4_pkt ip;
		if (eth_parse(pb->data, pb->len, &f) == 0 && f.type == ETH_P_IP &&
		    ipv4_parse(f.payload, f.payload_len, &ip) == IPV4_OK &&
		    ip.proto == IPPROTO_TCP_ && h->out_count < H_MAX_OUT) {
			struct h_out *o = &h->out[(h->out_head + h->out_count) % H_MAX_OUT];
			enum tcp_drop_reason r = tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst,
							   false, &o->seg);
			assert_int_equal(r, TCP_OK); /* every segment we emit is valid */
			memcpy(o->payload, o->seg.payload, TL_MIN(o->seg.len, sizeof(o->payload)));
			o->seg.payload = o->payload;
			h->out_count++;
		} else {
			h->non_tcp++;
		}
		pktbuf_free(pb);
	}
}

/* Runs every timer up to h->now. */
static inline void h_run_timers(struct harness *h)
{
	stack_poll(h->st, h->now);
	h_collect(h);
}

/* Injects a raw Ethernet frame from the peer. */
static inline void h_inject_frame(struct harness *h, const uint8_t *frame, size_t len)
{
	stack_input(h->st, frame, len, h->now);
	h_collect(h);
}

/* Builds and injects the segment (addresses default to peer -> us). */
static inline void h_inject(struct harness *h, struct tcp_seg s)
{
	if (!s.saddr)
		s.saddr = H_PEER;
	if (!s.daddr)
		s.daddr = H_US;
	uint8_t frame[2048];
	size_t hlen = TCP_HDR_MIN + tcp_options_len(&s.opt);
	uint8_t *tcp = frame + ETH_HLEN + IPV4_HLEN;
	if (s.len)
		memcpy(tcp + hlen, s.payload, s.len);
	tcp_emit(&s, tcp);
	uint8_t *ip = frame + ETH_HLEN;
	size_t tot = IPV4_HLEN + hlen + s.len;
	memset(ip, 0, IPV4_HLEN);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)tot);
	put_be16(ip + 6, IPV4_DF);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	put_be32(ip + 12, s.saddr);
	put_be32(ip + 16, s.daddr);
	put_be16(ip + 10, csum_buf(ip, IPV4_HLEN));
	memcpy(frame, h_us_mac, 6);
	memcpy(frame + 6, h_peer_mac, 6);
	put_be16(frame + 12, ETH_P_IP);
	h_inject_frame(h, frame, ETH_HLEN + tot);
}

/* A host with the peer already in its ARP cache (the peer asked for us). */
static inline struct harness *h_new_with(void (*tune)(struct tcp_sysctl *))
{
	struct harness *h = calloc(1, sizeof(*h));
	struct stack_config cfg = { .name = "stack", .addr = H_US, .prefix_len = 24, .mtu = 1500 };
	memcpy(cfg.mac, h_us_mac, 6);
	h->now = 1000 * SEC; /* any start; not 0 so "never" stamps stand out */
	h->st = stack_new(&cfg, h->now);
	assert_non_null(h->st);
	if (tune)
		tune(stack_sysctl(h->st));
	uint8_t zero[6] = { 0 };
	struct pktbuf *arp = arp_build(ARP_OP_REQUEST, eth_broadcast, h_peer_mac, H_PEER, zero, H_US);
	h_inject_frame(h, arp->data, arp->len);
	pktbuf_free(arp);
	h->out_count = 0;
	h->non_tcp = 0;
	return h;
}

static inline struct harness *h_new(void)
{
	return h_new_with(NULL);
}

static inline void h_free(struct harness *h)
{
	stack_free(h->st);
	pktbuf_pool_drain();
	free(h);
}

static inline struct stack_counters *h_mib(struct harness *h)
{
	return stack_counters(h->st);
}

/* Next segment the stack sent; fails the test if there is none. */
static inline struct tcp_seg h_pop(struct harness *h)
{
	h_collect(h); /* frames sent by API calls since the last input */
	if (h->out_count == 0)
		fail_msg("expected a segment from the stack, got none (t=%.3f s)",
			 (double)h->now / SEC);
	struct tcp_seg s = h->out[h->out_head].seg;
	h->out_head = (h->out_head + 1) % H_MAX_OUT;
	h->out_count--;
	return s;
}

/* Pops the next segment and checks the fields the expectation sets
 * (flags always; seq/ack/len only when non-zero in `want`). */
static inline struct tcp_seg h_expect(struct harness *h, struct tcp_seg want)
{
	struct tcp_seg got = h_pop(h);
	char a[16], b[16];
	if (got.flags != want.flags)
		fail_msg("flags: want [%s] got [%s] (seq %u ack %u, t=%.3f s)",
			 tcp_flags_str(want.flags, a), tcp_flags_str(got.flags, b), got.seq, got.ack,
			 (double)h->now / SEC);
	if (want.seq)
		assert_int_equal(got.seq, want.seq);
	if (want.ack)
		assert_int_equal(got.ack, want.ack);
	if (want.len)
		assert_int_equal(got.len, want.len);
	return got;
}

static inline void h_expect_nothing(struct harness *h)
{
	h_collect(h);
	if (h->out_count) {
		char f[16];
		struct tcp_seg s = h->out[h->out_head].seg;
		fail_msg("expected silence, got [%s] seq %u ack %u len %u (t=%.3f s)",
			 tcp_flags_str(s.flags, f), s.seq, s.ack, s.len, (double)h->now / SEC);
	}
}

/* Moves the clock forward by `d`, firing each timer at its own deadline. */
static inline void h_advance(struct harness *h, tl_usec_t d)
{
	tl_usec_t end = h->now + d;
	for (;;) {
		tl_usec_t next = stack_next_deadline(h->st);
		if (next > end)
			break;
		if (next > h->now)
			h->now = next;
		h_run_timers(h);
		if (stack_next_deadline(h->st) <= h->now && next == h->now) {
			/* a timer re-armed at the same instant: let it run once more */
			h_run_timers(h);
			if (stack_next_deadline(h->st) <= h->now)
				break;
		}
	}
	h->now = end;
	h_run_timers(h);
}

/* Advances until the stack sends something or `limit` passes; returns the
 * time waited. */
static inline tl_usec_t h_wait_segment(struct harness *h, tl_usec_t limit)
{
	tl_usec_t start = h->now, end = h->now + limit;
	h_collect(h);
	while (h->out_count == 0) {
		tl_usec_t next = stack_next_deadline(h->st);
		if (next > end)
			break;
		h->now = next > h->now ? next : h->now;
		h_run_timers(h);
		if (h->out_count == 0 && stack_next_deadline(h->st) <= h->now)
			h->now++; /* make progress past a spurious wake-up */
	}
	return h->now - start;
}

/* Counts the state events queued so far that reached `state`, draining
 * them; returns how many matched. */
static inline int h_events_to(struct harness *h, int state)
{
	struct tl_event ev;
	int n = 0;
	while (stack_pop_event(h->st, &ev))
		if (ev.kind == TL_EV_TCP_STATE && ev.new_state == state)
			n++;
	return n;
}

/* A full connection on a listener at port 80: SYN, SYN-ACK, ACK. Returns
 * our ISS. The peer uses ISN `peer_isn`. */
static inline uint32_t h_handshake(struct harness *h, uint32_t peer_isn)
{
	h_inject(h, SEG(.flags = TH_SYN, .seq = peer_isn, .opt = { .has_mss = true, .mss = 1460 }));
	struct tcp_seg synack = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = peer_isn + 1));
	h_inject(h, SEG(.flags = TH_ACK, .seq = peer_isn + 1, .ack = synack.seq + 1));
	return synack.seq;
}

#endif
