/* Loss recovery: fast retransmit and NewReno fast recovery (RFC 5681 §3.2,
 * RFC 6582), SACK-based recovery (RFC 6675: the scoreboard shows the holes,
 * each resent as soon as it is known), and the retransmission timeout's
 * go-back-N restart from SND.UNA with cwnd = 1 (RFC 5681 §3.1, RFC 6298
 * §5), with Linux's counters. */
#include "tcp_harness.h"

#define MSS 1460u

static uint8_t payload[64 * MSS];

/* An established connection (RTT 100 ms, RTO 300 ms) using `cc`, with or
 * without SACK permitted, that has sent ten full segments S1..S10. */
static struct h_peer ten_in_flight(struct harness *h, const char *cc, bool sack)
{
	snprintf(stack_sysctl(h->st)->tcp_congestion_control, TCP_CA_NAME_MAX, "%s", cc);
	struct tcp_conn *l = h_listen(h, 80, 16);
	struct h_peer p = h_open_opt(h, l, 40000, 1000,
				     (struct tcp_opts){ .has_mss = true, .mss = MSS, .sack_ok = sack },
				     100 * MS);
	assert_int_equal(tcp_send(p.c, payload, 10 * MSS, h->now), 10 * MSS);
	for (uint32_t k = 0; k < 10; k++)
		h_expect(h, SEG(.flags = TH_ACK | (k == 9 ? TH_PSH : 0), .seq = p.iss + 1 + k * MSS,
				.len = MSS));
	h_expect_nothing(h); /* the initial window is ten segments */
	return p;
}

/* Sequence number of segment Sk (k from 1). */
static uint32_t seg_seq(const struct h_peer *p, uint32_t k)
{
	return p->iss + 1 + (k - 1) * MSS;
}

/* The peer acknowledges up to (not including) segment `next`; with SACK
 * it reports [from, to) segments as received too. */
static void ack_upto(struct harness *h, struct h_peer *p, uint32_t next, uint32_t sack_from,
		     uint32_t sack_to, bool sack)
{
	struct tcp_opts o = { 0 };
	if (sack && sack_to > sack_from) {
		o.nsack = 1;
		o.sack[0].start = seg_seq(p, sack_from);
		o.sack[0].end = seg_seq(p, sack_to);
	}
	h_inject(h, SEG(.flags = TH_ACK, .seq = p->seq, .ack = seg_seq(p, next), .opt = o));
}

/* Counts the segments the stack sends now, checking they are consecutive
 * from `first`, and returns how many. */
static unsigned burst_from(struct harness *h, uint32_t first)
{
	unsigned n = 0;
	h_collect(h);
	while (h->out_count) {
		struct tcp_seg s = h_pop(h);
		assert_int_equal(s.seq, first + n * MSS);
		n++;
	}
	return n;
}

/* RFC 5681 §3.2 steps 1-4: the third duplicate ACK retransmits SND.UNA's
 * segment at once (TCPFastRetrans; TCPRenoRecovery or TCPSackRecovery) and
 * sets ssthresh from the algorithm (Reno: cwnd / 2; CUBIC: 0.7 x cwnd,
 * RFC 9438); earlier duplicates do nothing. RFC 6582 §3.2 step 6 / Linux
 * tcp_end_cwnd_reduction(): the ACK of everything sent before the loss
 * ends recovery with cwnd = ssthresh, so new data leaves ssthresh segments
 * at a time. */
static void test_rfc5681_fast_retransmit_and_recovery_exit(void **state)
{
	(void)state;
	static const struct {
		const char *cc;
		bool sack;
		uint32_t ssthresh;
	} rows[] = {
		{ "reno", false, 5 },
		{ "reno", true, 5 },
		{ "cubic", false, 7 },
		{ "cubic", true, 7 },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: %s, SACK %s\n", i, rows[i].cc, rows[i].sack ? "on" : "off");
		struct harness *h = h_new();
		struct h_peer p = ten_in_flight(h, rows[i].cc, rows[i].sack);
		/* S1 is lost; S2, S3 arrive: two duplicate ACKs, nothing happens. */
		ack_upto(h, &p, 1, 2, 3, rows[i].sack);
		ack_upto(h, &p, 1, 2, 4, rows[i].sack);
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcpext.TCPFastRetrans, 0);
		/* S4 arrives: the third duplicate. */
		ack_upto(h, &p, 1, 2, 5, rows[i].sack);
		h_expect(h, SEG(.flags = TH_ACK, .seq = seg_seq(&p, 1), .len = MSS));
		h_expect_nothing(h);
		struct mib_tcpext *x = &h_mib(h)->tcpext;
		assert_int_equal(x->TCPFastRetrans, 1);
		assert_int_equal(x->TCPRenoRecovery, rows[i].sack ? 0 : 1);
		assert_int_equal(x->TCPSackRecovery, rows[i].sack ? 1 : 0);
		/* S5..S10 arrive: more duplicates, no more retransmissions. */
		for (uint32_t k = 5; k <= 10; k++)
			ack_upto(h, &p, 1, 2, k + 1, rows[i].sack);
		h_expect_nothing(h);
		/* The retransmitted S1 arrives: everything is acknowledged. */
		ack_upto(h, &p, 11, 0, 0, rows[i].sack);
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcp.RetransSegs, 1);
		/* Recovery is over: cwnd = ssthresh segments go out. */
		assert_int_equal(tcp_send(p.c, payload, 20 * MSS, h->now), 20 * MSS);
		assert_int_equal(burst_from(h, seg_seq(&p, 11)), rows[i].ssthresh);
		h_free(h);
	}
}

/* RFC 6582 §3.2 step 5: during recovery, a partial ACK (one that advances
 * SND.UNA but not past "recover") means the next hole was lost too: it is
 * retransmitted at once, without waiting for three more duplicates or the
 * RTO. */
static void test_rfc6582_partial_ack_retransmits_next_hole(void **state)
{
	(void)state;
	for (int sack = 0; sack <= 1; sack++) {
		print_message("row %d: SACK %s\n", sack, sack ? "on" : "off");
		struct harness *h = h_new();
		struct h_peer p = ten_in_flight(h, "reno", sack);
		/* S1 and S5 are lost. */
		for (uint32_t k = 2; k <= 4; k++)
			ack_upto(h, &p, 1, 2, k + 1, sack);
		h_expect(h, SEG(.flags = TH_ACK, .seq = seg_seq(&p, 1), .len = MSS));
		for (uint32_t k = 6; k <= 10; k++) {
			ack_upto(h, &p, 1, 6, k + 1, sack);
			/* RFC 6675: the first SACK above S5 shows the second hole,
			 * resent at once; NewReno must wait for a partial ACK. */
			if (sack && k == 6)
				h_expect(h, SEG(.flags = TH_ACK, .seq = seg_seq(&p, 5), .len = MSS));
		}
		h_expect_nothing(h);
		/* S1 arrives: the ACK stops at the S5 hole. */
		ack_upto(h, &p, 5, 6, 11, sack);
		if (!sack)
			h_expect(h, SEG(.flags = TH_ACK, .seq = seg_seq(&p, 5), .len = MSS));
		h_expect_nothing(h);
		/* S5 arrives: recovery ends, nothing else is resent. */
		ack_upto(h, &p, 11, 0, 0, sack);
		h_expect_nothing(h);
		h_advance(h, 10 * SEC);
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcp.RetransSegs, 2);
		assert_int_equal(h_mib(h)->tcpext.TCPFastRetrans, 2);
		assert_int_equal(h_mib(h)->tcpext.TCPTimeouts, 0);
		h_free(h);
	}
}

/* RFC 5681 §3.1 and RFC 6298 §5.4-5.6: when the RTO expires, ssthresh is
 * set from the flight, cwnd drops to one segment and sending restarts at
 * SND.UNA (go-back-N): S1 alone, then slow start resends S2-S3, S4-S7 and
 * the rest, whether or not the peer had them. */
static void test_rfc5681_rto_resets_cwnd_and_goes_back_n(void **state)
{
	(void)state;
	static const struct {
		const char *cc;
		bool sack;
	} rows[] = {
		{ "reno", false }, { "reno", true }, { "cubic", false }, { "cubic", true },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		print_message("row %zu: %s, SACK %s\n", i, rows[i].cc, rows[i].sack ? "on" : "off");
		struct harness *h = h_new();
		struct h_peer p = ten_in_flight(h, rows[i].cc, rows[i].sack);
		/* Nothing comes back; the RTO (300 ms) expires. */
		assert_int_equal(h_wait_segment(h, 1 * SEC), 300 * MS);
		assert_int_equal(burst_from(h, seg_seq(&p, 1)), 1); /* cwnd = 1 */
		assert_int_equal(h_mib(h)->tcpext.TCPTimeouts, 1);
		/* Slow start from 1: each ACK doubles what may be in flight. */
		ack_upto(h, &p, 2, 0, 0, rows[i].sack);
		assert_int_equal(burst_from(h, seg_seq(&p, 2)), 2);
		ack_upto(h, &p, 4, 0, 0, rows[i].sack);
		assert_int_equal(burst_from(h, seg_seq(&p, 4)), 4);
		ack_upto(h, &p, 8, 0, 0, rows[i].sack);
		assert_int_equal(burst_from(h, seg_seq(&p, 8)), 3); /* all that is left */
		ack_upto(h, &p, 11, 0, 0, rows[i].sack);
		h_expect_nothing(h);
		assert_int_equal(h_mib(h)->tcp.RetransSegs, 10);
		assert_int_equal(h_mib(h)->tcpext.TCPFastRetrans, 0);
		h_advance(h, 10 * SEC);
		h_expect_nothing(h);
		h_free(h);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5681_fast_retransmit_and_recovery_exit),
		cmocka_unit_test(test_rfc6582_partial_ack_retransmits_next_hole),
		cmocka_unit_test(test_rfc5681_rto_resets_cwnd_and_goes_back_n),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
