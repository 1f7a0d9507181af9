/* Unit tests for arp.c: the ARP parser and builder (RFC 826), and the
 * neighbour cache as a host uses it: answering requests for our address,
 * learning senders, resolving with a bounded queue of waiting frames,
 * 3 requests at 1 s intervals before giving up (Linux mcast_solicit and
 * retrans_time), REACHABLE -> STALE re-verification and LRU eviction.
 *
 * Host-level tests drive a whole stack through stack.h with crafted frames
 * (the queued frames are ICMP echo replies); cache-level tests drive the
 * neigh_* functions directly with a capturing arp_env. */
#include "frames.h"

#include <errno.h>

#include "arp.h"
#include "eth.h"

/* ---- parser and builder ---- */

static const uint8_t who_has_us[28] = {
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02, /* sha, spa */
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x01, /* tha, tpa */
};

static void test_rfc826_parse_fields(void **state)
{
	(void)state;
	struct arp_pkt a;
	assert_int_equal(arp_parse(who_has_us, sizeof(who_has_us), &a), 0);
	assert_int_equal(a.op, ARP_OP_REQUEST);
	assert_memory_equal(a.sha, f_peer_mac, 6);
	assert_int_equal(a.spa, F_PEER);
	assert_memory_equal(a.tha, f_zero_mac, 6);
	assert_int_equal(a.tpa, F_US);
}

/* Anything but a full 28-byte Ethernet/IPv4 body is refused: each
 * truncation and each wrong htype/ptype/hlen/plen. */
static void test_rfc826_parse_rejects_malformed(void **state)
{
	(void)state;
	struct arp_pkt a;
	for (size_t len = 0; len < ARP_LEN; len++) {
		uint8_t *p = malloc(len ? len : 1); /* exact size for ASan */
		memcpy(p, who_has_us, len);
		assert_int_equal(arp_parse(p, len, &a), -EINVAL);
		free(p);
	}
	static const struct { size_t off; uint8_t val; } bad[] = {
		{ 1, 0x06 },  /* htype 6 (IEEE 802) */
		{ 0, 0x01 },  /* htype 0x0101 */
		{ 2, 0x86 },  /* ptype 0x8600 */
		{ 3, 0x06 },  /* ptype 0x0806 */
		{ 4, 8 },     /* hlen 8 */
		{ 4, 0 },     /* hlen 0 */
		{ 5, 16 },    /* plen 16 (IPv6) */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(bad); i++) {
		uint8_t b[28];
		memcpy(b, who_has_us, 28);
		b[bad[i].off] = bad[i].val;
		if (arp_parse(b, 28, &a) != -EINVAL)
			fail_msg("row %zu: byte %zu = 0x%02x accepted", i, bad[i].off, bad[i].val);
	}
}

/* arp_build lays out a 42-byte frame, Ethernet header included. */
static void test_rfc826_build_bytes(void **state)
{
	(void)state;
	struct pktbuf *pb = arp_build(ARP_OP_REQUEST, eth_broadcast, f_peer_mac, F_PEER,
				      f_zero_mac, F_US);
	assert_non_null(pb);
	uint8_t want[42];
	assert_int_equal(f_arp(want, 1, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US), 42);
	assert_int_equal(pb->len, 42);
	assert_memory_equal(pb->data, want, 42);
	assert_memory_equal(pb->data + 14, who_has_us, 28);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* ---- a host answering and learning ---- */

/* The reply Linux sends to "who-has 198.18.0.1 tell 198.18.0.2": 42 bytes,
 * unicast to the asker, our MAC as sender, the asker as target. */
static const uint8_t reply_to_peer[42] = {
	0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02,
	0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
	0x02, 0x00, 0xc6, 0x12, 0x00, 0x02, 0xc6, 0x12, 0x00, 0x02,
};

static void test_rfc826_request_for_us_gets_exact_reply(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[64];
	size_t n = f_arp(fr, ARP_OP_REQUEST, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	assert_int_equal(pb->len, sizeof(reply_to_peer));
	assert_memory_equal(pb->data, reply_to_peer, sizeof(reply_to_peer));
	pktbuf_free(pb);
	f_expect_nothing(&h);
	struct mib_tlext *x = &f_mib(&h)->tlext;
	assert_int_equal(x->RxFrames, 1);
	assert_int_equal(x->ArpIn, 1);
	assert_int_equal(x->ArpRepliesSent, 1);
	assert_int_equal(x->ArpRequestsSent, 0);
	assert_int_equal(x->TxFrames, 1);
	f_host_fini(&h);
}

/* A minimum-size (60-byte) request with padding junk, sent unicast to our
 * MAC (as a re-verifying peer does), gets the same reply. */
static void test_rfc826_padded_unicast_request_answered(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[60];
	memset(fr, 0xa5, sizeof(fr));
	f_arp(fr, ARP_OP_REQUEST, f_us_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	f_in(&h, fr, sizeof(fr));
	struct pktbuf *pb = f_pop(&h);
	assert_memory_equal(pb->data, reply_to_peer, sizeof(reply_to_peer));
	assert_int_equal(pb->len, 42);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* A request for another address is not answered, and its unknown sender
 * is not learned: a later reply to that sender must resolve it first. */
static void test_rfc826_request_for_other_ip_silent(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_arp(fr, ARP_OP_REQUEST, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac,
			 0xc6120063u /* 198.18.0.99 */);
	f_in(&h, fr, n);
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->tlext.ArpIn, 1);
	assert_int_equal(f_mib(&h)->tlext.ArpRepliesSent, 0);

	n = f_ping(fr, 7, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	f_check_arp_out(pb, f_bcast_mac, ARP_OP_REQUEST, F_PEER);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* Answering a request learns the asker: a ping that follows is answered
 * at once, unicast to the asker's MAC, with no ARP request of ours. */
static void test_rfc826_request_for_us_learns_sender(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 7, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(icmp[0], 0); /* echo reply */
	pktbuf_free(pb);
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->tlext.ArpRequestsSent, 0);
	f_host_fini(&h);
}

/* RFC 826 merge: a known sender's new MAC is taken from any ARP packet,
 * even a request for someone else. */
static void test_rfc826_merge_updates_known_sender(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	uint8_t fr[1600];
	size_t n = f_arp(fr, ARP_OP_REQUEST, f_bcast_mac, f_peer2_mac, F_PEER, f_zero_mac,
			 0xc6120063u);
	f_in(&h, fr, n);
	f_expect_nothing(&h);
	n = f_ping_from(fr, f_peer2_mac, F_PEER, 7, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	f_check_ip_out(pb, f_peer2_mac, F_PEER, 1, &plen);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* RFC 5227: a probe (sender 0.0.0.0) for our address is answered, to the
 * prober's MAC with target 0.0.0.0 (as Linux does), and teaches nothing. */
static void test_rfc5227_probe_answered_not_learned(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_arp(fr, ARP_OP_REQUEST, f_bcast_mac, f_peer_mac, 0, f_zero_mac, F_US);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	const uint8_t *a = f_check_arp_out(pb, f_peer_mac, ARP_OP_REPLY, 0);
	assert_memory_equal(a + 18, f_peer_mac, 6);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	/* Not learned: replying to the peer needs resolution. */
	n = f_ping(fr, 7, 1, 8);
	f_in(&h, fr, n);
	pb = f_pop(&h);
	f_check_arp_out(pb, f_bcast_mac, ARP_OP_REQUEST, F_PEER);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* A reply for us from an unknown sender is merged too (RFC 826: "Am I the
 * target? add the triplet"), as arp.h documents, so a later frame needs no
 * resolution. (Linux with its default arp_accept=0 would not create an
 * entry from an unsolicited reply.) */
static void test_rfc826_reply_for_us_learns_sender(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_arp(fr, ARP_OP_REPLY, f_us_mac, f_peer_mac, F_PEER, f_us_mac, F_US);
	f_in(&h, fr, n);
	f_expect_nothing(&h); /* replies are not answered */
	n = f_ping(fr, 7, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* Malformed ARP bodies reaching the host are counted in ArpMalformed,
 * never answered and never learned from. */
static void test_stack_malformed_arp_counted(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t good[42];
	f_arp(good, ARP_OP_REQUEST, f_bcast_mac, f_peer_mac, F_PEER, f_zero_mac, F_US);
	static const struct { size_t off; uint8_t val; size_t len; } rows[] = {
		{ 0, 0, 41 },      /* truncated by one byte */
		{ 0, 0, 20 },      /* truncated in the middle */
		{ 15, 0x06, 42 },  /* htype 6 */
		{ 16, 0x86, 42 },  /* ptype 0x86dd */
		{ 18, 8, 42 },     /* hlen 8 */
		{ 19, 16, 42 },    /* plen 16 */
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint8_t *fr = malloc(rows[i].len); /* exact size for ASan */
		memcpy(fr, good, rows[i].len);
		if (rows[i].off)
			fr[rows[i].off] = rows[i].val;
		if (rows[i].off == 16)
			fr[17] = 0xdd;
		f_in(&h, fr, rows[i].len);
		free(fr);
		if (f_mib(&h)->tlext.ArpMalformed != i + 1)
			fail_msg("row %zu not counted as malformed", i);
		f_expect_nothing(&h);
	}
	assert_int_equal(f_mib(&h)->tlext.ArpIn, 0);
	/* Nothing was learned from them. */
	uint8_t fr[1600];
	size_t n = f_ping(fr, 7, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	f_check_arp_out(pb, f_bcast_mac, ARP_OP_REQUEST, F_PEER);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* ---- resolution, queueing and timeouts on a host ---- */

/* The broadcast request Linux sends: who-has 198.18.0.2 tell 198.18.0.1,
 * target MAC all zeros. */
static const uint8_t who_has_peer[42] = {
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0x08, 0x06,
	0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
	0x02, 0x00, 0xc6, 0x12, 0x00, 0x01, 0xc6, 0x12, 0x00, 0x01,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc6, 0x12, 0x00, 0x02,
};

static void expect_who_has_peer(struct f_host *h)
{
	struct pktbuf *pb = f_pop(h);
	assert_int_equal(pb->len, 42);
	assert_memory_equal(pb->data, who_has_peer, 42);
	pktbuf_free(pb);
}

static void peer_answers(struct f_host *h)
{
	uint8_t fr[42];
	f_arp(fr, ARP_OP_REPLY, f_us_mac, f_peer_mac, F_PEER, f_us_mac, F_US);
	f_in(h, fr, sizeof(fr));
}

/* An echo from a peer we never heard from: the reply waits behind a
 * broadcast ARP request and leaves, unicast to the learned MAC, when the
 * ARP reply arrives. */
static void test_linux_reply_queued_until_resolved(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 0x4242, 9, 16);
	f_in(&h, fr, n);
	expect_who_has_peer(&h);
	f_expect_nothing(&h);
	assert_int_equal(stack_next_deadline(h.st), F_T0 + NEIGH_RETRANS_US);

	h.now += 300 * F_MS;
	peer_answers(&h);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(icmp[0], 0);
	assert_int_equal(be16_at(icmp + 4), 0x4242);
	assert_int_equal(be16_at(icmp + 6), 9);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	/* Resolved: no retry is pending and no frame was lost. */
	f_advance_to(&h, F_T0 + 10 * F_SEC);
	f_expect_nothing(&h);
	struct mib_tlext *x = &f_mib(&h)->tlext;
	assert_int_equal(x->ArpRequestsSent, 1);
	assert_int_equal(x->ArpQueueDrops, 0);
	assert_int_equal(x->ArpResolveFails, 0);
	assert_int_equal(x->ArpRepliesSent, 0);
	f_host_fini(&h);
}

/* Linux mcast_solicit 3, retrans_time 1 s: requests at 0, 1 and 2 s; at
 * 3 s the neighbour fails, its queued frame is dropped and counted. */
static void test_linux_resolution_gives_up_after_3_requests(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 1, 1, 8);
	f_in(&h, fr, n);
	expect_who_has_peer(&h);
	for (int i = 1; i < NEIGH_PROBES; i++) {
		tl_usec_t due = F_T0 + (tl_usec_t)i * NEIGH_RETRANS_US;
		assert_int_equal(stack_next_deadline(h.st), due);
		f_advance_to(&h, due - 1);
		f_expect_nothing(&h); /* not a microsecond early */
		f_advance_to(&h, due);
		expect_who_has_peer(&h);
		f_expect_nothing(&h);
	}
	tl_usec_t fail_at = F_T0 + NEIGH_PROBES * NEIGH_RETRANS_US;
	assert_int_equal(stack_next_deadline(h.st), fail_at);
	f_advance_to(&h, fail_at - 1);
	assert_int_equal(f_mib(&h)->tlext.ArpResolveFails, 0);
	f_advance_to(&h, fail_at);
	f_expect_nothing(&h);
	struct mib_tlext *x = &f_mib(&h)->tlext;
	assert_int_equal(x->ArpRequestsSent, 3);
	assert_int_equal(x->ArpResolveFails, 1);
	assert_int_equal(x->ArpQueueDrops, 1);
	assert_int_equal(stack_next_deadline(h.st), TL_NEVER);

	/* A late answer changes nothing (the queue is gone). */
	h.now += F_SEC;
	peer_answers(&h);
	f_expect_nothing(&h);

	f_host_fini(&h);
}

/* After a failure the next frame starts a fresh resolution. */
static void test_linux_resolution_restarts_after_failure(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 1, 1, 8);
	f_in(&h, fr, n);
	expect_who_has_peer(&h);
	f_advance_to(&h, F_T0 + 3 * F_SEC);
	assert_int_equal(f_drain(&h), 2); /* the requests at 1 s and 2 s */
	assert_int_equal(f_mib(&h)->tlext.ArpResolveFails, 1);

	n = f_ping(fr, 1, 2, 8);
	f_in(&h, fr, n);
	expect_who_has_peer(&h);
	peer_answers(&h);
	struct pktbuf *pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(be16_at(icmp + 6), 2);
	pktbuf_free(pb);
	f_host_fini(&h);
}

/* The queue holds NEIGH_QUEUE_MAX frames; beyond that the oldest is
 * dropped (Linux's unres_qlen rule) and counted. The survivors leave in
 * order, and only one request is sent for all of them. */
static void test_linux_queue_bounded_drops_oldest(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	const unsigned extra = 5;
	for (unsigned seq = 0; seq < NEIGH_QUEUE_MAX + extra; seq++) {
		size_t n = f_ping(fr, 1, (uint16_t)seq, 8);
		f_in(&h, fr, n);
	}
	expect_who_has_peer(&h);
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->tlext.ArpQueueDrops, extra);
	assert_int_equal(f_mib(&h)->tlext.ArpRequestsSent, 1);

	peer_answers(&h);
	for (unsigned seq = extra; seq < NEIGH_QUEUE_MAX + extra; seq++) {
		struct pktbuf *pb = f_pop(&h);
		size_t plen;
		const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
		if (be16_at(icmp + 6) != seq)
			fail_msg("released out of order: seq %u, want %u", be16_at(icmp + 6), seq);
		pktbuf_free(pb);
	}
	f_expect_nothing(&h);
	assert_int_equal(f_mib(&h)->tlext.ArpQueueDrops, extra);
	f_host_fini(&h);
}

/* Resolutions are per neighbour: two unknown peers get a request each and
 * an answer from one releases only its own frames. */
static void test_linux_queues_are_per_neighbour(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 1, 1, 8);
	f_in(&h, fr, n);
	n = f_ping_from(fr, f_peer2_mac, F_PEER2, 2, 1, 8);
	f_in(&h, fr, n);
	expect_who_has_peer(&h);
	struct pktbuf *pb = f_pop(&h);
	f_check_arp_out(pb, f_bcast_mac, ARP_OP_REQUEST, F_PEER2);
	pktbuf_free(pb);
	peer_answers(&h);
	pb = f_pop(&h);
	size_t plen;
	const uint8_t *icmp = f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	assert_int_equal(be16_at(icmp + 4), 1);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* A confirmation older than reachable_time (30 s): the next frame still
 * goes out at once, after a unicast request that re-verifies the MAC. */
static void test_linux_stale_entry_reverified_by_unicast_probe(void **state)
{
	(void)state;
	struct f_host h;
	f_host_init(&h);
	f_learn(&h, f_peer_mac, F_PEER);
	f_advance_to(&h, F_T0 + NEIGH_REACHABLE_US);
	uint8_t fr[1600];
	size_t n = f_ping(fr, 1, 1, 8);
	f_in(&h, fr, n);
	struct pktbuf *pb = f_pop(&h);
	const uint8_t *a = f_check_arp_out(pb, f_peer_mac, ARP_OP_REQUEST, F_PEER);
	assert_memory_equal(a + 18, f_zero_mac, 6);
	pktbuf_free(pb);
	pb = f_pop(&h);
	size_t plen;
	f_check_ip_out(pb, f_peer_mac, F_PEER, 1, &plen);
	pktbuf_free(pb);
	f_expect_nothing(&h);
	f_host_fini(&h);
}

/* ---- the cache, driven directly ---- */

/* A host identity whose transmissions are captured. */
struct cache_fix {
	struct neigh_table t;
	struct arp_env env;
	struct mib_tlext mib;
	struct pktq sent;
};

static void capture(void *ctx, struct pktbuf *frame)
{
	pktq_push(&((struct cache_fix *)ctx)->sent, frame);
}

static struct cache_fix *fix_new(void)
{
	struct cache_fix *c = calloc(1, sizeof(*c));
	assert_non_null(c);
	neigh_init(&c->t);
	memcpy(c->env.mac, f_us_mac, 6);
	c->env.ip = F_US;
	c->env.ctx = c;
	c->env.xmit = capture;
	c->env.mib = &c->mib;
	return c;
}

static void fix_free(struct cache_fix *c)
{
	neigh_fini(&c->t);
	pktq_purge(&c->sent);
	free(c);
	pktbuf_pool_drain();
}

static void fix_arp(struct cache_fix *c, uint16_t op, const uint8_t sha[6], uint32_t spa,
		    uint32_t tpa, tl_usec_t now)
{
	uint8_t fr[42];
	f_arp(fr, op, f_bcast_mac, sha, spa, f_zero_mac, tpa);
	arp_input(&c->t, &c->env, fr + 14, 28, now);
}

static struct pktbuf *ip_payload(uint8_t tag)
{
	struct pktbuf *pb = pktbuf_alloc();
	memset(pktbuf_put(pb, 20), tag, 20);
	return pb;
}

/* Learned entries are REACHABLE with the sender's MAC; a request for
 * another address from an unknown sender creates nothing. */
static void test_neigh_states_after_learning(void **state)
{
	(void)state;
	struct cache_fix *c = fix_new();
	fix_arp(c, ARP_OP_REQUEST, f_peer_mac, F_PEER, 0xc6120063u, F_T0);
	assert_null(neigh_lookup(&c->t, F_PEER));
	fix_arp(c, ARP_OP_REQUEST, f_peer_mac, F_PEER, F_US, F_T0);
	struct neigh *n = neigh_lookup(&c->t, F_PEER);
	assert_non_null(n);
	assert_int_equal(n->state, NEIGH_REACHABLE);
	assert_memory_equal(n->mac, f_peer_mac, 6);
	assert_int_equal(n->deadline, F_T0 + NEIGH_REACHABLE_US);
	assert_int_equal(c->sent.count, 1); /* the reply */
	assert_null(neigh_lookup(&c->t, 0));
	/* A REACHABLE entry arms no timer. */
	assert_int_equal(neigh_next_deadline(&c->t), TL_NEVER);
	fix_free(c);
}

/* STALE entries unused for gc_stale_time (60 s) are forgotten; until
 * then they stay usable. */
static void test_linux_stale_entry_garbage_collected(void **state)
{
	(void)state;
	struct cache_fix *c = fix_new();
	fix_arp(c, ARP_OP_REQUEST, f_peer_mac, F_PEER, F_US, F_T0);
	pktq_purge(&c->sent);
	tl_usec_t t = F_T0 + NEIGH_REACHABLE_US;
	neigh_output(&c->t, &c->env, F_PEER, ip_payload(1), t);
	struct neigh *n = neigh_lookup(&c->t, F_PEER);
	assert_int_equal(n->state, NEIGH_STALE);
	assert_int_equal(c->sent.count, 2); /* unicast probe, then the frame */
	assert_int_equal(c->mib.ArpRequestsSent, 1);
	assert_int_equal(neigh_next_deadline(&c->t), t + NEIGH_GC_STALE_US);
	neigh_poll(&c->t, &c->env, t + NEIGH_GC_STALE_US - 1);
	assert_non_null(neigh_lookup(&c->t, F_PEER));
	neigh_poll(&c->t, &c->env, t + NEIGH_GC_STALE_US);
	assert_null(neigh_lookup(&c->t, F_PEER));
	assert_int_equal(neigh_next_deadline(&c->t), TL_NEVER);
	fix_free(c);
}

/* A reply to the unicast probe makes a STALE entry REACHABLE again. */
static void test_linux_stale_entry_confirmed_by_reply(void **state)
{
	(void)state;
	struct cache_fix *c = fix_new();
	fix_arp(c, ARP_OP_REQUEST, f_peer_mac, F_PEER, F_US, F_T0);
	tl_usec_t t = F_T0 + NEIGH_REACHABLE_US;
	neigh_output(&c->t, &c->env, F_PEER, ip_payload(1), t);
	fix_arp(c, ARP_OP_REPLY, f_peer_mac, F_PEER, F_US, t + 5 * F_MS);
	struct neigh *n = neigh_lookup(&c->t, F_PEER);
	assert_int_equal(n->state, NEIGH_REACHABLE);
	assert_int_equal(n->deadline, t + 5 * F_MS + NEIGH_REACHABLE_US);
	assert_int_equal(neigh_next_deadline(&c->t), TL_NEVER);
	fix_free(c);
}

/* A full cache recycles its least recently used entry; if that entry was
 * still resolving, its queued frames are dropped and counted. */
static void test_neigh_full_cache_evicts_least_recently_used(void **state)
{
	(void)state;
	struct cache_fix *c = fix_new();
	uint32_t base = 0x0a000000u; /* 10.0.0.0/8: any addresses will do */
	for (uint32_t i = 0; i < NEIGH_MAX; i++)
		neigh_output(&c->t, &c->env, base + i, ip_payload((uint8_t)i), F_T0 + i);
	assert_int_equal(c->mib.ArpRequestsSent, NEIGH_MAX);
	/* Use the oldest again so the second oldest becomes the victim. */
	neigh_output(&c->t, &c->env, base, ip_payload(0), F_T0 + NEIGH_MAX);
	neigh_output(&c->t, &c->env, base + NEIGH_MAX, ip_payload(9), F_T0 + NEIGH_MAX + 1);
	assert_non_null(neigh_lookup(&c->t, base));
	assert_null(neigh_lookup(&c->t, base + 1));
	assert_non_null(neigh_lookup(&c->t, base + NEIGH_MAX));
	assert_int_equal(c->mib.ArpQueueDrops, 1);
	fix_free(c);
}

/* Frames queued for a neighbour carry no Ethernet header yet; on
 * resolution each gets one with the learned MAC, our MAC and type IPv4. */
static void test_neigh_release_adds_ethernet_header(void **state)
{
	(void)state;
	struct cache_fix *c = fix_new();
	neigh_output(&c->t, &c->env, F_PEER, ip_payload(0xab), F_T0);
	struct pktbuf *req = pktq_pop(&c->sent);
	assert_int_equal(req->len, 42);
	pktbuf_free(req);
	fix_arp(c, ARP_OP_REPLY, f_peer_mac, F_PEER, F_US, F_T0 + 1);
	struct pktbuf *pb = pktq_pop(&c->sent);
	assert_non_null(pb);
	assert_int_equal(pb->len, 14 + 20);
	assert_memory_equal(pb->data, f_peer_mac, 6);
	assert_memory_equal(pb->data + 6, f_us_mac, 6);
	assert_int_equal(be16_at(pb->data + 12), ETH_P_IP);
	assert_int_equal(pb->data[14], 0xab);
	pktbuf_free(pb);
	assert_null(pktq_pop(&c->sent));
	fix_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc826_parse_fields),
		cmocka_unit_test(test_rfc826_parse_rejects_malformed),
		cmocka_unit_test(test_rfc826_build_bytes),
		cmocka_unit_test(test_rfc826_request_for_us_gets_exact_reply),
		cmocka_unit_test(test_rfc826_padded_unicast_request_answered),
		cmocka_unit_test(test_rfc826_request_for_other_ip_silent),
		cmocka_unit_test(test_rfc826_request_for_us_learns_sender),
		cmocka_unit_test(test_rfc826_merge_updates_known_sender),
		cmocka_unit_test(test_rfc5227_probe_answered_not_learned),
		cmocka_unit_test(test_rfc826_reply_for_us_learns_sender),
		cmocka_unit_test(test_stack_malformed_arp_counted),
		cmocka_unit_test(test_linux_reply_queued_until_resolved),
		cmocka_unit_test(test_linux_resolution_gives_up_after_3_requests),
		cmocka_unit_test(test_linux_resolution_restarts_after_failure),
		cmocka_unit_test(test_linux_queue_bounded_drops_oldest),
		cmocka_unit_test(test_linux_queues_are_per_neighbour),
		cmocka_unit_test(test_linux_stale_entry_reverified_by_unicast_probe),
		cmocka_unit_test(test_neigh_states_after_learning),
		cmocka_unit_test(test_linux_stale_entry_garbage_collected),
		cmocka_unit_test(test_linux_stale_entry_confirmed_by_reply),
		cmocka_unit_test(test_neigh_full_cache_evicts_least_recently_used),
		cmocka_unit_test(test_neigh_release_adds_ethernet_header),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
