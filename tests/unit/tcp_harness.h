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
#define H_MAX_EV 8192

struct h_out {
	struct tcp_seg seg;
	uint8_t payload[2048];
};

/* The harness keeps every event the stack emitted, in order: h_events_to
 * and h_next_state consume them from ev_read; h_state_of scans them all.
 * Invariant: ev_read <= ev_count <= H_MAX_EV. */
struct harness {
	struct stack *st;
	tl_usec_t now;
	struct h_out out[H_MAX_OUT];
	unsigned out_head, out_count;
	unsigned non_tcp;  /* frames out that were not TCP (ARP, ICMP) */
	struct tcp_seg last_sent; /* the newest segment the stack sent (no payload) */
	struct tl_event ev[H_MAX_EV];
	unsigned ev_count, ev_read;
};

static inline void h_collect(struct harness *h)
{
	struct pktbuf *pb;
	while (h->ev_count < H_MAX_EV && stack_pop_event(h->st, &h->ev[h->ev_count]))
		h->ev_count++;
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
			o->seg.ip_ecn = ip.tos & 3;
			memcpy(o->payload, o->seg.payload, TL_MIN(o->seg.len, sizeof(o->payload)));
			o->seg.payload = o->payload;
			h->last_sent = o->seg;
			h->last_sent.payload = NULL;
			h->out_count++;
		} else if (eth_parse(pb->data, pb->len, &f) == 0 && f.type == ETH_P_ARP) {
			/* The peer is alive: it answers when the stack re-resolves it
			 * (the cache entry goes stale during long waits). */
			struct arp_pkt a;
			if (arp_parse(f.payload, f.payload_len, &a) == 0 && a.op == ARP_OP_REQUEST &&
			    a.tpa == H_PEER) {
				struct pktbuf *r = arp_build(ARP_OP_REPLY, h_us_mac, h_peer_mac, H_PEER,
							     h_us_mac, H_US);
				stack_input(h->st, r->data, r->len, h->now);
				pktbuf_free(r);
			}
			h->non_tcp++;
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
	ip[1] = s.ip_ecn; /* the ECN field, as the segment says */
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
	h->ev_count = h->ev_read = 0;
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

/* Discards every segment sent so far (for tests that check only the last
 * one, via h->last_sent). */
static inline void h_drop_output(struct harness *h)
{
	h_collect(h);
	h->out_head = (h->out_head + h->out_count) % H_MAX_OUT;
	h->out_count = 0;
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

/* Counts the state events emitted since the last call that reached
 * `state`, consuming them; returns how many matched. */
static inline int h_events_to(struct harness *h, int state)
{
	int n = 0;
	h_collect(h);
	for (; h->ev_read < h->ev_count; h->ev_read++)
		if (h->ev[h->ev_read].kind == TL_EV_TCP_STATE && h->ev[h->ev_read].new_state == state)
			n++;
	return n;
}

/* Consumes every event emitted so far (a test's starting line). */
static inline void h_skip_events(struct harness *h)
{
	h_collect(h);
	h->ev_read = h->ev_count;
}

/* Consumes the next state event; false when none is left. */
static inline bool h_next_state(struct harness *h, struct tl_event *out)
{
	h_collect(h);
	for (; h->ev_read < h->ev_count; h->ev_read++) {
		if (h->ev[h->ev_read].kind == TL_EV_TCP_STATE) {
			*out = h->ev[h->ev_read++];
			return true;
		}
	}
	return false;
}

/* Checks the next state event: from -> to, caused by `kind` named `cause`. */
static inline void h_expect_transition(struct harness *h, int from, int to, int kind,
				       const char *cause)
{
	struct tl_event ev;
	if (!h_next_state(h, &ev))
		fail_msg("expected %s -> %s (%s), got no event", tcp_state_name(from),
			 tcp_state_name(to), cause);
	if (ev.old_state != from || ev.new_state != to || ev.cause_kind != kind ||
	    strcmp(ev.cause, cause) != 0)
		fail_msg("expected %s -> %s (kind %d \"%s\"), got %s -> %s (kind %d \"%s\")",
			 tcp_state_name(from), tcp_state_name(to), kind, cause,
			 tcp_state_name(ev.old_state), tcp_state_name(ev.new_state), ev.cause_kind,
			 ev.cause);
}

/* The state the last event for our port `lport` and the peer's port
 * `rport` reported (0 if there was none), whether consumed or not. */
static inline int h_state_of(struct harness *h, uint16_t lport, uint16_t rport)
{
	h_collect(h);
	for (unsigned i = h->ev_count; i-- > 0;)
		if (h->ev[i].kind == TL_EV_TCP_STATE && h->ev[i].lport == lport &&
		    h->ev[i].rport == rport)
			return h->ev[i].new_state;
	return 0;
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

/* ---- The scripted peer of one connection ---- */

/* One connection as the peer sees it. Invariant: seq is the next sequence
 * number the peer will send and ack the next one it expects from us; c is
 * our end (accepted, or from tcp_connect), NULL once we released it. */
struct h_peer {
	struct tcp_conn *c;
	uint16_t port;      /* the peer's port */
	uint16_t our_port;
	uint32_t iss;       /* our initial sequence number */
	uint32_t seq, ack;
	uint16_t wnd;        /* raw window the peer advertises */
	struct tcp_opts opt; /* options the peer puts on every segment (timestamps) */
};

/* Injects a segment from the peer at its current sequence numbers and
 * advances them by what it occupies (data, SYN, FIN). */
static inline void h_peer_send(struct harness *h, struct h_peer *p, uint8_t flags,
			       const void *data, uint32_t len)
{
	h_inject(h, SEG(.sport = p->port, .dport = p->our_port, .seq = p->seq, .ack = p->ack,
			.flags = flags, .payload = data, .len = len, .opt = p->opt, .wnd = p->wnd));
	p->seq += len + !!(flags & TH_SYN) + !!(flags & TH_FIN);
}

/* The peer's pure ACK of everything we sent so far. */
static inline void h_peer_ack(struct harness *h, struct h_peer *p)
{
	h_peer_send(h, p, TH_ACK, NULL, 0);
}

/* Pops the next segment and, when it carries data or a FIN, moves the
 * peer's ack past it (the peer "received" it). */
static inline struct tcp_seg h_peer_recv(struct harness *h, struct h_peer *p, struct tcp_seg want)
{
	struct tcp_seg s = h_expect(h, want);
	uint32_t end = s.seq + s.len + !!(s.flags & (TH_SYN | TH_FIN));
	if ((int32_t)(end - p->ack) > 0)
		p->ack = end;
	return s;
}

static inline struct tcp_conn *h_listen(struct harness *h, uint16_t port, int backlog)
{
	struct tcp_conn *l;
	assert_int_equal(tcp_listen(stack_tcp(h->st), port, backlog, NULL, NULL, &l), 0);
	return l;
}

/* Opens a connection from the peer's `port` to listener l (on port 80)
 * with SYN options `opt` and accepts it. The final ACK comes `rtt` after
 * the SYN-ACK, which makes our first RTT sample exactly `rtt`. */
static inline struct h_peer h_open_opt(struct harness *h, struct tcp_conn *l, uint16_t port,
				       uint32_t peer_isn, struct tcp_opts opt, tl_usec_t rtt)
{
	struct h_peer p = { .port = port, .our_port = 80, .seq = peer_isn, .wnd = 65535 };
	h_inject(h, SEG(.flags = TH_SYN, .sport = port, .seq = peer_isn, .opt = opt));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = peer_isn + 1));
	h_advance(h, rtt);
	p.iss = sa.seq;
	p.seq = peer_isn + 1;
	p.ack = sa.seq + 1;
	if (opt.has_ts) {
		p.opt.has_ts = true;
		p.opt.ts_val = opt.ts_val + 1;
		p.opt.ts_ecr = sa.opt.ts_val;
	}
	h_peer_ack(h, &p);
	p.c = tcp_accept(l, h->now);
	assert_non_null(p.c);
	assert_int_equal(tcp_conn_state(p.c), TCP_ESTABLISHED);
	return p;
}

/* Opens a connection from the peer's `port` to our `our_port`, where
 * something (a service) accepts it by itself: c stays NULL. Segments the
 * acceptor sends at once stay queued for the test. */
static inline struct h_peer h_open_to(struct harness *h, uint16_t our_port, uint16_t port,
				      uint32_t peer_isn)
{
	struct h_peer p = { .port = port, .our_port = our_port, .seq = peer_isn, .wnd = 65535 };
	h_inject(h, SEG(.flags = TH_SYN, .sport = port, .dport = our_port, .seq = peer_isn,
			.opt = { .has_mss = true, .mss = 1460 }));
	struct tcp_seg sa = h_expect(h, SEG(.flags = TH_SYN | TH_ACK, .ack = peer_isn + 1));
	p.iss = sa.seq;
	p.seq = peer_isn + 1;
	p.ack = sa.seq + 1;
	h_peer_ack(h, &p);
	return p;
}

/* The common case: MSS 1460 and nothing else, from port 40000. */
static inline struct h_peer h_open(struct harness *h, struct tcp_conn *l, uint32_t peer_isn)
{
	return h_open_opt(h, l, 40000, peer_isn, (struct tcp_opts){ .has_mss = true, .mss = 1460 }, 0);
}

/* Reads everything the application can read now into buf (up to cap). */
static inline size_t h_read(struct harness *h, struct tcp_conn *c, void *buf, size_t cap)
{
	size_t got = 0;
	ssize_t n;
	while (got < cap && (n = tcp_recv(c, (uint8_t *)buf + got, cap - got, h->now)) > 0)
		got += (size_t)n;
	return got;
}

/* State fixtures: a passive connection on listener l (port 80) driven by
 * the real path into `state`, with every segment checked on the way. The
 * application keeps its handle (it half-closes with tcp_shutdown_write
 * rather than tcp_close), so nothing is orphaned. In TIME_WAIT the handle
 * is already CLOSE: the compact TIME_WAIT record holds the tuple. */
static inline struct h_peer h_conn_in(struct harness *h, struct tcp_conn *l, int state)
{
	struct h_peer p = h_open(h, l, 1000);
	switch (state) {
	case TCP_ESTABLISHED:
		break;
	case TCP_FIN_WAIT1: /* our FIN is out, not yet acknowledged */
		tcp_shutdown_write(p.c, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
		break;
	case TCP_FIN_WAIT2: /* our FIN is acknowledged */
		tcp_shutdown_write(p.c, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
		h_peer_ack(h, &p);
		break;
	case TCP_TIME_WAIT: /* both FINs exchanged, we closed first */
		tcp_shutdown_write(p.c, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK));
		h_peer_ack(h, &p);
		h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
		break;
	case TCP_CLOSE_WAIT: /* the peer's FIN is in (its ACK is delayed) */
		h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
		break;
	case TCP_CLOSING: /* FINs crossed: the peer's FIN does not ack ours */
		tcp_shutdown_write(p.c, h->now);
		h_expect(h, SEG(.flags = TH_FIN | TH_ACK));
		h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
		h_expect(h, SEG(.flags = TH_ACK, .ack = p.seq));
		break;
	case TCP_LAST_ACK: /* the peer's FIN is in, ours is out */
		h_peer_send(h, &p, TH_FIN | TH_ACK, NULL, 0);
		tcp_shutdown_write(p.c, h->now);
		h_peer_recv(h, &p, SEG(.flags = TH_FIN | TH_ACK, .ack = p.seq));
		break;
	default:
		fail_msg("no fixture for state %s", tcp_state_name(state));
	}
	h_expect_nothing(h);
	assert_int_equal(tcp_conn_state(p.c), state == TCP_TIME_WAIT ? TCP_CLOSE : state);
	assert_int_equal(h_state_of(h, 80, p.port), state);
	return p;
}

#endif
