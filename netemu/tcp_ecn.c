/* Explicit Congestion Notification (RFC 3168), as Linux runs it
 * (net/ipv4/tcp_input.c and tcp_output.c, the tcp_ecn_* helpers).
 *
 * Negotiation: an ECN-setup SYN carries ECE and CWR; its SYN-ACK carries
 * ECE alone. tcp_ecn 1 asks on our connects and accepts; 2 (Linux's
 * default) only accepts; 0 neither. A retransmitted SYN asks no more when
 * tcp_ecn_fallback is on (a middlebox may be dropping ECN-setup SYNs).
 *
 * Once on: new data leaves with ECT(0) in the IP header (retransmissions,
 * pure ACKs and SYNs never); a data segment arriving with CE makes every
 * ACK carry ECE until a segment with CWR arrives; an ACK with ECE makes
 * the sender cut its window once per window of data, as for a loss but
 * without retransmitting, and set CWR on its next new segment. */
#include "tcp_int.h"
#include "tcp_sysctl.h"

#define ECN_CE 3
#define ECN_ECT0 2

bool tcp_ecn_syn_asks(const struct tcp_host *th, const struct tcp_seg *syn)
{
	/* Linux tcp_ecn_create_request(): an ECN-setup SYN that is itself
	 * not ECN-capable (RFC 3168 §6.1.1). */
	return th->sysctl->tcp_ecn != 0 && (syn->flags & (TH_ECE | TH_CWR)) == (TH_ECE | TH_CWR) &&
	       syn->ip_ecn == 0;
}

uint8_t tcp_ecn_syn_flags(struct tcp_conn *c, bool retransmit)
{
	const struct tcp_sysctl *s = c->th->sysctl;
	if (!retransmit)
		c->ecn_flags = s->tcp_ecn == 1 ? TCP_ECN_OK : 0;
	if (!(c->ecn_flags & TCP_ECN_OK) || (retransmit && s->tcp_ecn_fallback))
		return 0;
	return TH_ECE | TH_CWR;
}

void tcp_ecn_syn_in(struct tcp_conn *c, const struct tcp_seg *seg)
{
	/* Linux tcp_ecn_rcv_synack() / tcp_ecn_rcv_syn(): a SYN-ACK agrees
	 * with ECE alone, a SYN (simultaneous open) with ECE and CWR. */
	uint8_t e = seg->flags & (TH_ECE | TH_CWR);
	bool agrees = (seg->flags & TH_ACK) ? e == TH_ECE : e == (TH_ECE | TH_CWR);
	if (!agrees)
		c->ecn_flags = 0;
}

void tcp_ecn_data_in(struct tcp_conn *c, const struct tcp_seg *seg)
{
	if (!(c->ecn_flags & TCP_ECN_OK) || seg->len == 0)
		return;
	/* Linux tcp_ecn_accept_cwr(): the sender has reacted; its window may
	 * be tiny, so answer at once. */
	if (seg->flags & TH_CWR) {
		c->ecn_flags &= (uint8_t)~TCP_ECN_DEMAND_CWR;
		c->quickacks = (uint8_t)TL_MAX(c->quickacks, 1);
	}
	/* Linux __tcp_ecn_check_ce(): congestion on the path; echo it. */
	if (seg->ip_ecn == ECN_CE) {
		if (!(c->ecn_flags & TCP_ECN_DEMAND_CWR)) {
			c->quickacks = (uint8_t)TL_MAX(c->quickacks, 2);
			c->ecn_flags |= TCP_ECN_DEMAND_CWR;
		}
	}
}

void tcp_ecn_ack_in(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t acked_segs,
		    tl_usec_t now)
{
	if (c->ecn_cwr && !c->in_recovery && seq_geq(c->snd_una, c->ecn_cwr_end)) {
		c->ecn_cwr = false; /* Linux tcp_end_cwnd_reduction() */
		tcp_cc_on_recovery_exit(&c->cc, now);
	}
	if (!(c->ecn_flags & TCP_ECN_OK) || !(seg->flags & TH_ECE) || (seg->flags & TH_SYN))
		return;
	/* Linux tcp_count_delivered(): segments acknowledged by an ECE. */
	c->th->mib->tcpext.TCPDeliveredCE += acked_segs;
	/* Linux tcp_enter_cwr(): once per window, and not on top of a loss
	 * recovery, which has cut the window already. */
	if (c->ecn_cwr || c->in_recovery || c->cc.in_recovery)
		return;
	tcp_cc_on_fast_retransmit(&c->cc, now); /* the same cut, without a retransmission */
	c->ecn_cwr = true;
	c->ecn_cwr_end = c->snd_nxt;
	c->ecn_flags |= TCP_ECN_QUEUE_CWR;
}

uint8_t tcp_ecn_out(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t *flags)
{
	if (!(c->ecn_flags & TCP_ECN_OK) || (*flags & TH_SYN))
		return 0;
	uint8_t ecn = 0;
	/* Linux tcp_ecn_send(): only new data is ECN-capable. */
	if (len && !seq_lt(seq, c->snd_max)) {
		ecn = ECN_ECT0;
		if (c->ecn_flags & TCP_ECN_QUEUE_CWR) {
			c->ecn_flags &= (uint8_t)~TCP_ECN_QUEUE_CWR;
			*flags |= TH_CWR;
		}
	}
	if (c->ecn_flags & TCP_ECN_DEMAND_CWR)
		*flags |= TH_ECE;
	return ecn;
}
