/* TIME_WAIT (RFC 9293 §3.10.7.4, Linux tcp_minisocks.c): a compact record
 * that re-ACKs a retransmitted FIN, lets a newer SYN reuse the tuple, and
 * expires after 2 x MSL (the lab knob msl_ms; 60 s by default as in Linux). */
#include "tcp_int.h"

#include <stdlib.h>
#include <string.h>

/* Linux keeps TIME_WAIT in a small minisock; so do we (issue target). */
_Static_assert(sizeof(struct tcp_tw) <= 128, "a TIME_WAIT entry must stay compact");

static tl_usec_t tw_length(const struct tcp_host *th)
{
	return 2 * (tl_usec_t)TL_MAX(th->sysctl->msl_ms, 0) * TL_USEC_PER_MSEC;
}

void tcp_tw_free(struct tcp_host *th, struct tcp_tw *tw)
{
	tcp_timer_stop(&tw->timer);
	tcp_hash_remove(th, &tw->h);
	th->tw_count--;
	free(tw);
}

static void tw_end(struct tcp_host *th, struct tcp_tw *tw, struct tcp_cause cause, tl_usec_t now)
{
	tcp_emit_state(th, tw->id, &tw->h, TCP_TIME_WAIT, TCP_CLOSE, cause, tw->ev_flags, now);
	tcp_tw_free(th, tw);
}

void tcp_enter_time_wait(struct tcp_conn *c, struct tcp_cause cause, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	const struct tcp_sysctl *s = th->sysctl;
	struct tcp_tw *tw = NULL;
	if ((int64_t)th->tw_count < s->tcp_max_tw_buckets)
		tw = calloc(1, sizeof(*tw));
	if (!tw) {
		/* Linux: beyond tcp_max_tw_buckets the socket just closes. */
		th->mib->tcpext.TCPTimeWaitOverflow++;
		cause.name = "tw_overflow";
		tcp_conn_done(c, 0, cause, now);
		return;
	}
	tcp_set_state(c, TCP_TIME_WAIT, cause, now);
	tw->h = c->h;
	tw->h.next = NULL;
	tw->h.hashed = false;
	tw->h.kind = TCP_HK_TW;
	tw->timer.kind = TCP_T_TW;
	tw->id = c->id;
	tw->snd_nxt = c->snd_nxt;
	tw->rcv_nxt = c->rcv_nxt;
	tw->ts_ok = c->ts_ok;
	tw->ts_recent = c->ts_recent;
	tw->ts_offset = c->ts_offset;
	tw->rcv_wnd = tcp_raw_window(c);
	tw->substate = TCP_TIME_WAIT;
	tw->created = now;
	tw->ev_flags = (c->passive ? TL_EVF_PASSIVE : 0) | (c->from_cookie ? TL_EVF_FROM_COOKIE : 0);
	/* The record takes over the tuple; the full connection ends silently
	 * (its history continues under the same id). */
	tcp_hash_remove(th, &c->h);
	tcp_hash_insert(th, &tw->h);
	th->tw_count++;
	tcp_timer_arm(th, &tw->timer, now + tw_length(th));
	c->state = TCP_CLOSE;
	tcp_conn_done(c, 0, cause, now);
}

static void tw_send_ack(struct tcp_host *th, const struct tcp_tw *tw, tl_usec_t now)
{
	struct tcp_opts o = { 0 };
	if (tw->ts_ok) {
		o.has_ts = true;
		o.ts_val = tcp_ts_now(th, now) + tw->ts_offset;
		o.ts_ecr = tw->ts_recent;
	}
	tcp_send_raw(th, tw->h.laddr, tw->h.lport, tw->h.raddr, tw->h.rport, tw->snd_nxt,
		     tw->rcv_nxt, TH_ACK, tw->rcv_wnd, &o, now);
}

bool tcp_tw_input(struct tcp_host *th, struct tcp_tw *tw, const struct tcp_seg *seg,
		  tl_usec_t now)
{
	if (seg->flags & TH_RST) {
		/* Linux: TIME_WAIT assassination by a reset at RCV.NXT is
		 * allowed unless tcp_rfc1337; any other reset is ignored. */
		if (seg->seq == tw->rcv_nxt && !th->sysctl->tcp_rfc1337)
			tw_end(th, tw, TCP_CAUSE_SEG(seg, "RST"), now);
		return true;
	}
	if ((seg->flags & (TH_SYN | TH_ACK)) == TH_SYN &&
	    (seq_gt(seg->seq, tw->rcv_nxt) ||
	     (tw->ts_ok && seg->opt.has_ts && seq_gt(seg->opt.ts_val, tw->ts_recent)))) {
		/* RFC 1122 4.2.2.13 / Linux: a new SYN beyond the old stream
		 * reopens the tuple, with an ISS beyond anything the old
		 * incarnation sent (Linux: snd_nxt + 65535 + 2, never 0). */
		uint32_t isn = tw->snd_nxt + 65535 + 2;
		th->tw_isn = isn ? isn : 1;
		tw_end(th, tw, TCP_CAUSE_SEG(seg, "SYN"), now);
		return false;
	}
	/* Linux tcp_timewait_state_process(): every segment carrying an ACK
	 * (a retransmitted FIN, a stray or duplicate ACK) restarts the 2 MSL
	 * timer; an ACKless SYN does not (it may be a new connection's). */
	if (seg->flags & TH_ACK)
		tcp_timer_arm(th, &tw->timer, now + tw_length(th));
	if ((seg->flags & TH_FIN) && seg->seq + seg->len + 1 == tw->rcv_nxt) {
		/* RFC 9293 §3.10.7.4 eighth: the peer missed our last ACK. */
		tw_send_ack(th, tw, now);
		return true;
	}
	bool occupies = seg->len || (seg->flags & (TH_SYN | TH_FIN));
	if (!occupies && seg->seq == tw->rcv_nxt)
		return true; /* Linux: a bare ACK at RCV.NXT is taken silently */
	/* Linux tcp_timewait_check_oow_rate_limit(): anything else is
	 * answered with an ACK, an old bare ACK at most once per 500 ms
	 * (segments occupying sequence space are never limited). */
	uint32_t ms = (uint32_t)(now / TL_USEC_PER_MSEC);
	if (!occupies) {
		if (tw->last_oow_ack_ms && ms - tw->last_oow_ack_ms < 500) {
			th->mib->tcpext.TCPACKSkippedTimeWait++;
			return true;
		}
		tw->last_oow_ack_ms = ms ? ms : 1;
	}
	tw_send_ack(th, tw, now);
	return true;
}

void tcp_tw_timer(struct tcp_host *th, struct tcp_tw *tw, tl_usec_t now)
{
	th->mib->tcpext.TW++;
	tw_end(th, tw, TCP_CAUSE_TIMER("timewait"), now);
}

bool tcp_tw_reusable(struct tcp_host *th, struct tcp_tw *tw, tl_usec_t now)
{
	const struct tcp_sysctl *s = th->sysctl;
	/* 2 means "loopback only", and a lab link is never loopback. */
	return s->tcp_tw_reuse == 1 && tw->ts_ok &&
	       now - tw->created >= (tl_usec_t)s->tcp_tw_reuse_delay * TL_USEC_PER_MSEC;
}
