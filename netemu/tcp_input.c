/* TCP input: RFC 9293 §3.10.7 "SEGMENT ARRIVES", in its order. The entry
 * point demultiplexes (connection, request, TIME_WAIT, listener, closed);
 * synchronized states then run one step per function, each returning a
 * verdict. Linux's deviations are tagged "Linux:". */
#include "tcp.h"
#include "tcp_int.h"

#include <errno.h>

#include "stack.h"

/* RFC 9293 §3.10.7.1: CLOSED — every segment but a reset gets a reset. */
static void input_closed(struct tcp_host *th, const struct tcp_seg *seg, tl_usec_t now)
{
	tcp_send_rst_reply(th, seg, now);
}

void tcp_input(struct tcp_host *th, const struct ipv4_pkt *ip, tl_usec_t now)
{
	struct stack_counters *mib = th->mib;
	struct tcp_seg seg;
	enum tcp_drop_reason why = tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst,
					     ip->l4_csum_ok, &seg);
	if (why != TCP_OK) {
		mib->tcp.InErrs++;
		if (why == TCP_DROP_BAD_CSUM)
			mib->tcp.InCsumErrors++;
		return;
	}
	mib->tcp.InSegs++;
	seg.ip_ecn = ip->tos & 3;
	tcp_enter(th, now);
	struct tcp_hnode *h = tcp_hash_lookup(th, seg.daddr, seg.dport, seg.saddr, seg.sport);
	if (h && h->kind == TCP_HK_CONN) {
		tcp_conn_input((struct tcp_conn *)h, &seg, now);
	} else if (h && h->kind == TCP_HK_REQ) {
		tcp_req_input((struct tcp_req *)h, &seg, now);
	} else if (h && h->kind == TCP_HK_TW && tcp_tw_input(th, (struct tcp_tw *)h, &seg, now)) {
		/* consumed by TIME_WAIT */
	} else if (th->listeners[seg.dport]) {
		tcp_listen_input(th->listeners[seg.dport], &seg, now);
	} else {
		input_closed(th, &seg, now);
	}
	th->tw_isn = 0;
	tcp_leave(th);
}

/* RFC 9293 §3.10.7.3: SYN-SENT. */
static void input_syn_sent(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	bool ack = seg->flags & TH_ACK;
	/* first: the ACK must cover our SYN and nothing we have not sent */
	if (ack && (seq_leq(seg->ack, c->iss) || seq_gt(seg->ack, c->snd_max))) {
		tcp_send_rst_reply(th, seg, now);
		return;
	}
	/* second: a reset with an acceptable ACK refuses the connection */
	if (seg->flags & TH_RST) {
		if (ack)
			tcp_conn_done(c, -ECONNREFUSED, TCP_CAUSE_SEG(seg, "RST"), now);
		return;
	}
	/* fourth: the SYN */
	if (!(seg->flags & TH_SYN))
		return;
	c->irs = seg->seq;
	c->rcv_nxt = seg->seq + 1;
	c->rcv_adv = c->rcv_nxt;
	tcp_init_from_syn_options(c, &seg->opt);
	tcp_ecn_syn_in(c, seg);
	c->snd_wnd = seg->wnd; /* never scaled in a SYN (RFC 7323 §2.2) */
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (ack) {
		c->snd_una = seg->ack;
		if (c->retransmits == 0)
			tcp_rtt_sample(&c->rtt, (uint32_t)TL_MIN(now - c->syn_stamp, (tl_usec_t)UINT32_MAX),
				       tcp_rto_min_us(th), tcp_rto_max_us(th));
		else
			tcp_rtt_init(&c->rtt, 3 * TL_USEC_PER_SEC); /* Linux TCP_TIMEOUT_FALLBACK */
		c->retransmits = 0;
		tcp_timer_stop(&c->rtx);
		tcp_set_state(c, TCP_ESTABLISHED, TCP_CAUSE_SEG(seg, "SYN-ACK"), now);
		tcp_notify(c, TCP_N_CONNECTED | TCP_N_WRITABLE);
		tcp_send_ack(c, now);
		if (c->keepalive)
			tcp_set_keepalive(c, 1, now);
		tcp_output(c, now);
		return;
	}
	/* Simultaneous open: answer with SYN-ACK from the same ISS. */
	tcp_set_state(c, TCP_SYN_RECV, TCP_CAUSE_SEG(seg, "SYN"), now);
	c->retransmits = 0;
	tcp_timer_stop(&c->rtx);
	tcp_send_syn(c, true, now);
}

/* Linux tcp_reset_check(): after the peer's FIN, a reset may carry the
 * FIN's own sequence number (RCV.NXT - 1); Linux accepts it as exact. */
static bool rst_after_fin(const struct tcp_conn *c, const struct tcp_seg *seg)
{
	return seg->seq == c->rcv_nxt - 1 &&
	       (c->state == TCP_CLOSE_WAIT || c->state == TCP_CLOSING || c->state == TCP_LAST_ACK);
}

/* RFC 5961 §4.2 (fourth step) and Linux's syn_challenge: any SYN on a
 * synchronized connection, in the window or not, gets a rate-limited
 * challenge ACK and is dropped. Linux counts it as an input error when it
 * reaches an ESTABLISHED socket. */
static enum tcp_verdict syn_challenge(struct tcp_conn *c, tl_usec_t now)
{
	struct stack_counters *mib = c->th->mib;
	if (c->state == TCP_ESTABLISHED)
		mib->tcp.InErrs++;
	mib->tcpext.TCPSYNChallenge++;
	if (tcp_oow_ack_allowed(c, now)) {
		mib->tcpext.TCPChallengeACK++;
		tcp_send_ack(c, now);
	}
	return TCP_DROP;
}

/* RFC 2883 (Linux tcp_dsack_set()): bytes [start, end) came again; with
 * SACK and tcp_dsack, our next ACK reports them in a D-SACK block. */
static void dsack_set(struct tcp_conn *c, uint32_t start, uint32_t end)
{
	if (!c->sack_ok || !c->th->sysctl->tcp_dsack)
		return;
	if (seq_lt(start, c->rcv_nxt))
		c->th->mib->tcpext.TCPDSACKOldSent++;
	else
		c->th->mib->tcpext.TCPDSACKOfoSent++;
	c->dsack = (struct tcp_sack_block){ start, end };
	c->dsack_pending = true;
}

/* Linux tcp_send_dupack(): an old segment we drop is answered with an
 * ACK that reports the duplicate part. */
static enum tcp_verdict drop_send_dupack(struct tcp_conn *c, const struct tcp_seg *seg)
{
	if (seg->len && seq_lt(seg->seq, c->rcv_nxt))
		dsack_set(c, seg->seq,
			  seq_lt(seg->seq + seg->len, c->rcv_nxt) ? seg->seq + seg->len : c->rcv_nxt);
	return TCP_DROP_SEND_ACK;
}

/* RFC 9293 §3.10.7.4 first: sequence acceptability, with PAWS (RFC 7323). */
static enum tcp_verdict check_seq(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	bool rst = seg->flags & TH_RST;
	/* RFC 7323 §5.3 PAWS, with Linux's TCP_PAWS_WINDOW of one tick: a
	 * timestamp older than TS.Recent by more than 1 is a stale
	 * duplicate. A reset is exempt (Linux); a SYN gets a challenge. */
	if (c->ts_ok && seg->opt.has_ts && !rst && (int32_t)(c->ts_recent - seg->opt.ts_val) > 1) {
		if (seg->flags & TH_SYN)
			return syn_challenge(c, now);
		c->th->mib->tcpext.PAWSEstab++;
		if (seg->len == 0 && !(seg->flags & TH_FIN) && !tcp_oow_ack_allowed(c, now))
			return TCP_DROP;
		return drop_send_dupack(c, seg);
	}
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t seglen = seg->len + !!(seg->flags & TH_SYN) + !!(seg->flags & TH_FIN);
	bool ok;
	if (seglen == 0)
		ok = wnd == 0 ? seg->seq == c->rcv_nxt
			      : seq_in(seg->seq, c->rcv_nxt, c->rcv_nxt + wnd);
	else
		ok = wnd != 0 && (seq_in(seg->seq, c->rcv_nxt, c->rcv_nxt + wnd) ||
				  seq_in(seg->seq + seglen - 1, c->rcv_nxt, c->rcv_nxt + wnd));
	/* Linux: a zero window still takes a segment starting at RCV.NXT
	 * (its ACK and window matter); the data is dropped later. */
	if (!ok && seg->seq == c->rcv_nxt)
		ok = true;
	if (!ok) {
		if (rst)
			return rst_after_fin(c, seg) ? TCP_CONTINUE : TCP_DROP;
		if (seg->flags & TH_SYN)
			return syn_challenge(c, now);
		/* RFC 5961 §5 / Linux tcp_oow_rate_limited(): the ACK answering a
		 * segment that occupies no sequence space is rate limited. */
		if (seglen == 0 && !tcp_oow_ack_allowed(c, now))
			return TCP_DROP;
		return drop_send_dupack(c, seg);
	}
	return TCP_CONTINUE;
}

/* RFC 7323 §4.3, as Linux's tcp_replace_ts_recent(): once a segment has
 * passed the checks, remember its TSval if it starts at or before the
 * point our last ACK covered (Last.ACK.sent = rcv_wup) and is not older,
 * so that a delayed ACK echoes the earliest unacknowledged segment. */
static void update_ts_recent(struct tcp_conn *c, const struct tcp_seg *seg)
{
	if (c->ts_ok && seg->opt.has_ts && seq_leq(seg->seq, c->rcv_wup) &&
	    (int32_t)(seg->opt.ts_val - c->ts_recent) >= 0)
		c->ts_recent = seg->opt.ts_val;
}

/* RFC 9293 §3.10.7.4 second, with RFC 5961 §3: only an exact RST resets. */
static enum tcp_verdict check_rst(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	if (!(seg->flags & TH_RST))
		return TCP_CONTINUE;
	if (seg->seq != c->rcv_nxt && !rst_after_fin(c, seg)) {
		if (tcp_oow_ack_allowed(c, now)) {
			c->th->mib->tcpext.TCPChallengeACK++;
			tcp_send_ack(c, now);
		}
		return TCP_DROP;
	}
	/* Linux tcp_reset(): the error the application sees. */
	int err = -ECONNRESET;
	switch ((enum tcp_state)c->state) {
	case TCP_SYN_RECV:
		err = -ECONNREFUSED; /* our active open met a reset */
		break;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		err = -ECONNRESET;
		break;
	case TCP_CLOSE_WAIT:
		err = -EPIPE; /* the peer had finished sending: writes broke */
		break;
	case TCP_SYN_SENT:
	case TCP_TIME_WAIT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		break;
	}
	tcp_conn_done(c, err, TCP_CAUSE_SEG(seg, "RST"), now);
	return TCP_DROP;
}

/* RFC 9293 §3.10.7.4 fourth, with RFC 5961 §4: a SYN in a synchronized
 * state gets a challenge ACK, never a reset of the connection. */
static enum tcp_verdict check_syn(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	if (!(seg->flags & TH_SYN))
		return TCP_CONTINUE;
	return syn_challenge(c, now);
}

/* RFC 6675 §4: resends the next hole the SACK scoreboard shows, at most
 * one segment; false when no hole is left below the highest SACKed byte. */
static bool sack_retransmit_next(struct tcp_conn *c, tl_usec_t now)
{
	uint32_t start, len;
	if (!c->sack_ok || !tcp_sack_next_hole(&c->sacked, seq_max(c->rexmit_nxt, c->snd_una),
					       &start, &len))
		return false;
	uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
	len = TL_MIN(len, tcp_mss_now(c, now));
	if (seq_geq(start, data_end))
		return false;
	len = TL_MIN(len, data_end - start);
	c->th->mib->tcpext.TCPFastRetrans++;
	tcp_xmit(c, start, len, TH_ACK, now);
	c->rexmit_nxt = start + len;
	return true;
}

static void enter_fast_recovery(struct tcp_conn *c, tl_usec_t now)
{
	struct mib_tcpext *x = &c->th->mib->tcpext;
	if (c->sack_ok)
		x->TCPSackRecovery++;
	else
		x->TCPRenoRecovery++;
	c->in_recovery = true;
	c->recover = c->snd_max;
	c->rexmit_nxt = c->snd_una;
	tcp_cc_on_fast_retransmit(&c->cc, now);
	if (!sack_retransmit_next(c, now)) {
		uint32_t len = TL_MIN(tcp_mss_now(c, now), (uint32_t)c->sndq.len);
		x->TCPFastRetrans++;
		if (len)
			tcp_xmit(c, c->snd_una, len, TH_ACK, now);
		else if (c->fin_sent)
			tcp_xmit(c, c->snd_una, 0, TH_FIN | TH_ACK, now);
		c->rexmit_nxt = c->snd_una + len;
	}
	tcp_arm_rtx(c, now);
}

/* Processes a new cumulative ACK: frees sent data, samples the RTT (Karn),
 * drives congestion control and NewReno recovery (RFC 6582). Returns
 * whether our FIN is now acknowledged. */
static bool ack_new_data(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	uint32_t acked = seg->ack - c->snd_una;
	uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
	bool fin_acked = c->fin_sent && seg->ack == data_end + 1;
	uint32_t data_acked = TL_MIN(acked, (uint32_t)c->sndq.len);
	bytering_drop(&c->sndq, data_acked);
	c->snd_una = seg->ack;
	if (seq_lt(c->snd_nxt, c->snd_una))
		c->snd_nxt = c->snd_una;
	th->mib->tcpext.TCPDelivered += (data_acked + c->mss - 1) / c->mss;
	if (c->rtt_timing && seq_geq(seg->ack, c->rtt_seq)) {
		c->rtt_timing = false;
		tcp_rtt_sample(&c->rtt, (uint32_t)TL_MIN(now - c->rtt_start, (tl_usec_t)UINT32_MAX),
			       tcp_rto_min_us(th), tcp_rto_max_us(th));
	}
	c->retransmits = 0;
	c->probes = 0;
	if (c->in_recovery) {
		if (seq_geq(seg->ack, c->recover)) {
			c->in_recovery = false;
			tcp_cc_on_recovery_exit(&c->cc, now);
		} else {
			/* NewReno partial ACK: the next hole is lost too (with
			 * SACK, the next one the scoreboard shows). Linux counts
			 * every retransmission in recovery as a fast one. */
			uint32_t len = TL_MIN(tcp_mss_now(c, now), (uint32_t)c->sndq.len);
			if (!sack_retransmit_next(c, now) && len && seq_geq(c->snd_una, c->rexmit_nxt)) {
				th->mib->tcpext.TCPFastRetrans++;
				tcp_xmit(c, c->snd_una, len, TH_ACK, now);
				c->rexmit_nxt = c->snd_una + len;
			}
		}
	} else {
		tcp_cc_on_ack(&c->cc, (data_acked + c->mss - 1) / c->mss, c->rtt.srtt_us, now);
	}
	c->dupacks = 0;
	if (c->snd_una == c->snd_max)
		tcp_timer_stop(&c->rtx);
	else
		tcp_arm_rtx(c, now);
	if (data_acked)
		tcp_notify(c, TCP_N_WRITABLE);
	return fin_acked;
}

/* RFC 5681 §2: an ACK that acknowledges nothing new while data is out. */
static void ack_duplicate(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	if (seg->len || (seg->flags & (TH_SYN | TH_FIN)) || c->snd_una == c->snd_max ||
	    ((uint32_t)seg->wnd << c->snd_wscale) != c->snd_wnd)
		return;
	c->dupacks++;
	if (c->in_recovery) {
		c->cc.cwnd++; /* RFC 6582 §3.2 step 4: inflate for each segment that left */
		sack_retransmit_next(c, now); /* RFC 6675 §5 (C): the next hole */
		return;
	}
	/* RFC 6582 §3.2 step 2: only when the ACK covers beyond `recover`.
	 * RFC 6675 IsLost(): with SACK, more than two segments' worth of
	 * SACKed data above SND.UNA also means SND.UNA is lost. */
	bool lost = c->dupacks >= 3 ||
		    (c->sack_ok && tcp_sack_bytes_above(&c->sacked, c->snd_una) > 2u * c->mss);
	if (lost && seq_gt(seg->ack, c->recover))
		enter_fast_recovery(c, now);
}

static void update_window(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	/* RFC 9293 §3.10.7.4 fifth: only segments newer than the last update. */
	if (!(seq_lt(c->snd_wl1, seg->seq) ||
	      (c->snd_wl1 == seg->seq && seq_leq(c->snd_wl2, seg->ack))))
		return;
	uint32_t was = c->snd_wnd;
	c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	if (!was && c->snd_wnd && c->persist) {
		/* Linux tcp_ack_probe(): the window opened, probing ends. */
		c->persist = false;
		c->persist_backoff = 0;
		tcp_timer_stop(&c->rtx);
		(void)now;
	}
}

/* RFC 9293 §3.10.7.4 fifth: the ACK field. */
static enum tcp_verdict check_ack(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	if (!(seg->flags & TH_ACK))
		return TCP_DROP;
	if (c->state == TCP_SYN_RECV) {
		if (!(seq_gt(seg->ack, c->snd_una) && seq_leq(seg->ack, c->snd_max)))
			return TCP_DROP_SEND_RST;
		c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
		c->snd_wl1 = seg->seq;
		c->snd_wl2 = seg->ack;
		c->snd_una = seg->ack;
		c->retransmits = 0;
		tcp_timer_stop(&c->rtx);
		tcp_set_state(c, TCP_ESTABLISHED, TCP_CAUSE_SEG(seg, "ACK"), now);
		tcp_notify(c, TCP_N_CONNECTED | TCP_N_WRITABLE);
		return TCP_CONTINUE;
	}
	if (seq_gt(seg->ack, c->snd_max)) /* acknowledges something not yet sent */
		return tcp_oow_ack_allowed(c, now) ? TCP_DROP_SEND_ACK : TCP_DROP;
	/* Linux tcp_ack(): any ACK that is not older than SND.UNA shows the
	 * peer alive: keepalive and zero-window probes count from zero. */
	if (seq_geq(seg->ack, c->snd_una))
		c->probes = 0;
	bool fin_acked = false;
	uint32_t prior_una = c->snd_una;
	if (c->sack_ok && (seg->opt.nsack || c->sacked.n))
		tcp_sack_update(&c->sacked, &seg->opt, seq_max(seg->ack, c->snd_una), c->snd_max);
	if (seq_gt(seg->ack, c->snd_una))
		fin_acked = ack_new_data(c, seg, now);
	else if (seg->ack == c->snd_una)
		ack_duplicate(c, seg, now);
	if (seq_geq(seg->ack, prior_una))
		tcp_ecn_ack_in(c, seg, (c->snd_una - prior_una + c->mss - 1) / c->mss, now);
	update_window(c, seg, now);

	switch ((enum tcp_state)c->state) {
	case TCP_FIN_WAIT1:
		if (fin_acked) {
			tcp_set_state(c, TCP_FIN_WAIT2, TCP_CAUSE_SEG(seg, "ACK"), now);
			if (c->app_released)
				tcp_arm_fin_wait2_timer(c, now);
		}
		break;
	case TCP_CLOSING:
		if (fin_acked) {
			tcp_enter_time_wait(c, TCP_CAUSE_SEG(seg, "ACK"), now);
			return TCP_DROP;
		}
		break;
	case TCP_LAST_ACK:
		if (fin_acked) {
			tcp_conn_done(c, 0, TCP_CAUSE_SEG(seg, "ACK"), now);
			return TCP_DROP;
		}
		break;
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT2:
	case TCP_CLOSE_WAIT:
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
	case TCP_TIME_WAIT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		break;
	}
	return TCP_CONTINUE;
}

/* RFC 9293 §3.10.7.4 seventh: segment text, in order or into the
 * out-of-order queue (RFC 2018 blocks are reported from there). */
static enum tcp_verdict process_text(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	switch ((enum tcp_state)c->state) {
	case TCP_ESTABLISHED:
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
		break;
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
	case TCP_CLOSE:
	case TCP_LISTEN:
		return TCP_CONTINUE; /* a FIN came already: ignore text */
	}
	if (seg->flags & TH_FIN) {
		c->rcv_fin_pending = true;
		c->rcv_fin_seq = seg->seq + seg->len;
	}
	if (seg->len == 0)
		return TCP_CONTINUE;
	if (c->app_released) {
		/* Linux: data for a socket already closed is answered by a reset. */
		th->mib->tcpext.TCPAbortOnData++;
		tcp_send_rst_reply(th, seg, now);
		tcp_conn_done(c, -ECONNRESET, TCP_CAUSE_SEG(seg, "data-after-close"), now);
		return TCP_DROP;
	}
	tcp_ecn_data_in(c, seg);
	const uint8_t *data = seg->payload;
	uint32_t seq = seg->seq, len = seg->len;
	if (seq_lt(seq, c->rcv_nxt)) { /* trim what we already have */
		uint32_t skip = c->rcv_nxt - seq;
		dsack_set(c, seq, skip < len ? c->rcv_nxt : seq + len);
		if (skip >= len) {
			tcp_send_ack(c, now); /* a duplicate: tell the sender at once */
			return TCP_CONTINUE;
		}
		data += skip;
		seq += skip;
		len -= skip;
	}
	uint32_t wnd = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	uint32_t room = seq_gt(c->rcv_nxt + wnd, seq) ? c->rcv_nxt + wnd - seq : 0;
	if (room == 0) {
		/* Linux tcp_data_queue(): nothing fits (a shut window); drop it
		 * and tell the sender at once where we stand. */
		if (wnd == 0)
			th->mib->tcpext.TCPZeroWindowDrop++;
		tcp_send_ack(c, now);
		return TCP_CONTINUE;
	}
	if (len > room)
		len = room; /* beyond the window we advertised */
	if (seq != c->rcv_nxt) {
		uint32_t added = len;
		if (len && tcp_ofo_add(&c->ofo, seq, data, len, &added) == 0) {
			th->mib->tcpext.TCPOFOQueue++;
			if (added == 0) /* all of it waits in the queue already */
				dsack_set(c, seq, seq + len);
		} else if (len) {
			th->mib->tcpext.TCPOFODrop++;
		}
		tcp_send_ack(c, now); /* duplicate ACK (with SACK) at once */
		return TCP_CONTINUE;
	}
	/* Linux tcp_measure_rcv_mss(): the largest segment seen so far. */
	if (len >= c->rcv_mss)
		c->rcv_mss = (uint16_t)TL_MIN(len, (uint32_t)c->advmss);
	bool had_ofo = !tcp_ofo_empty(&c->ofo);
	uint32_t n = (uint32_t)bytering_write(&c->rcvq, data, len);
	c->rcv_nxt += n;
	c->bytes_in += n;
	if (had_ofo) {
		uint32_t moved = tcp_ofo_pull(&c->ofo, c->rcv_nxt, &c->rcvq, bytering_space(&c->rcvq));
		c->rcv_nxt += moved;
		c->bytes_in += moved;
	}
	if (n)
		tcp_notify(c, TCP_N_READABLE);
	if (had_ofo || n < len)
		tcp_send_ack(c, now); /* filled a hole, or out of room: tell at once */
	else if (!(seg->flags & TH_FIN))
		tcp_schedule_ack(c, now);
	return TCP_CONTINUE;
}

/* RFC 9293 §3.10.7.4 eighth: the FIN, once everything before it is in. */
static enum tcp_verdict check_fin(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	if (!c->rcv_fin_pending || c->rcv_fin_seq != c->rcv_nxt)
		return TCP_CONTINUE;
	if (c->fin_rcvd) { /* a retransmitted FIN: ACK it again */
		c->rcv_fin_pending = false;
		tcp_send_ack(c, now);
		return TCP_CONTINUE;
	}
	c->rcv_fin_pending = false;
	c->fin_rcvd = true;
	c->rcv_nxt++;
	tcp_notify(c, TCP_N_READABLE);
	struct tcp_cause cause = TCP_CAUSE_SEG(seg, "FIN");
	switch ((enum tcp_state)c->state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		tcp_set_state(c, TCP_CLOSE_WAIT, cause, now);
		/* Linux enters ping-pong mode here: the ACK is delayed so the
		 * application's FIN can ride on it. */
		tcp_timer_arm(c->th, &c->delack, now + 40 * TL_USEC_PER_MSEC);
		break;
	case TCP_FIN_WAIT1:
		tcp_send_ack(c, now);
		tcp_set_state(c, TCP_CLOSING, cause, now);
		break;
	case TCP_FIN_WAIT2:
		tcp_send_ack(c, now);
		tcp_enter_time_wait(c, cause, now);
		return TCP_DROP;
	case TCP_CLOSE_WAIT:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
	case TCP_SYN_SENT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		tcp_send_ack(c, now);
		break;
	}
	return TCP_CONTINUE;
}

/* Acts on a step's verdict; returns true when processing must stop. */
static bool verdict_stops(struct tcp_conn *c, const struct tcp_seg *seg, enum tcp_verdict v,
			  tl_usec_t now)
{
	switch (v) {
	case TCP_CONTINUE:
		return false;
	case TCP_DROP:
		return true;
	case TCP_DROP_SEND_ACK:
		tcp_send_ack(c, now);
		return true;
	case TCP_DROP_SEND_RST:
		tcp_send_rst_reply(c->th, seg, now);
		return true;
	}
	return true;
}

/* Linux: in a simultaneous open the peer's SYN-ACK completes SYN_RECV. */
static bool is_simultaneous_synack(const struct tcp_conn *c, const struct tcp_seg *seg)
{
	return c->state == TCP_SYN_RECV && (seg->flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) &&
	       seg->seq + 1 == c->rcv_nxt && seg->ack == c->snd_max;
}

void tcp_conn_input(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now)
{
	c->last_rcv = now;
	c->segs_in++;
	if (c->state == TCP_SYN_SENT) {
		input_syn_sent(c, seg, now);
		return;
	}
	if (c->state == TCP_CLOSE || c->state == TCP_LISTEN || c->reaped)
		return;
	if (is_simultaneous_synack(c, seg)) {
		struct tcp_seg ack_only = *seg;
		ack_only.flags &= (uint8_t)~TH_SYN;
		ack_only.seq = c->rcv_nxt;
		(void)verdict_stops(c, seg, check_ack(c, &ack_only, now), now);
		tcp_send_ack(c, now);
		return;
	}
	if (verdict_stops(c, seg, check_seq(c, seg, now), now) ||
	    verdict_stops(c, seg, check_rst(c, seg, now), now) ||
	    verdict_stops(c, seg, check_syn(c, seg, now), now) ||
	    verdict_stops(c, seg, check_ack(c, seg, now), now))
		return;
	update_ts_recent(c, seg);
	if (verdict_stops(c, seg, process_text(c, seg, now), now) ||
	    verdict_stops(c, seg, check_fin(c, seg, now), now))
		return;
	tcp_output(c, now);
}
