/* TCP timers: one timing wheel per host; a handler per timer kind
 * (retransmission with SYN/zero-window variants, delayed ACK, keepalive
 * and the orphaned FIN_WAIT2 timeout, SYN-ACK, TIME_WAIT). */
#include "tcp_int.h"

#include <errno.h>

#include "tcp.h"

uint32_t tcp_rto_min_us(const struct tcp_host *th)
{
	return (uint32_t)th->sysctl->tcp_rto_min_us;
}

uint32_t tcp_rto_max_us(const struct tcp_host *th)
{
	return (uint32_t)th->sysctl->tcp_rto_max_ms * 1000u;
}

void tcp_timer_arm(struct tcp_host *th, struct tcp_timer *t, tl_usec_t when)
{
	tw_arm(&th->wheel, &t->wt, when);
}

void tcp_timer_stop(struct tcp_timer *t)
{
	tw_cancel(&t->wt);
}

void tcp_conn_stop_timers(struct tcp_conn *c)
{
	tcp_timer_stop(&c->rtx);
	tcp_timer_stop(&c->delack);
	tcp_timer_stop(&c->keepalive_t);
}

/* Arms the retransmission timer for what the connection is waiting for. */
void tcp_arm_rtx(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	uint32_t rto_max = tcp_rto_max_us(th);
	uint64_t wait;
	if (c->state == TCP_SYN_SENT) {
		/* Linux 6.5+: linear 1 s intervals, then doubling (reference §3.2). */
		wait = tcp_syn_interval_us(c->retransmits,
					   (unsigned)th->sysctl->tcp_syn_linear_timeouts, rto_max);
	} else if (c->state == TCP_SYN_RECV) {
		wait = TL_MIN((uint64_t)TL_USEC_PER_SEC << TL_MIN(c->retransmits, 20),
			      (uint64_t)rto_max);
	} else if (c->persist) {
		wait = TL_MIN((uint64_t)tcp_rtt_rto(&c->rtt, rto_max) << TL_MIN(c->persist_backoff, 20),
			      (uint64_t)rto_max);
	} else {
		wait = tcp_rtt_rto(&c->rtt, rto_max);
	}
	tcp_timer_arm(th, &c->rtx, now + wait);
}

void tcp_arm_fin_wait2_timer(struct tcp_conn *c, tl_usec_t now)
{
	/* Linux tcp_fin_time(): max(tcp_fin_timeout, 3.5 x RTO). */
	uint64_t fin_timeout = (uint64_t)TL_MAX(c->th->sysctl->tcp_fin_timeout, 0) * TL_USEC_PER_SEC;
	uint64_t rto = tcp_rtt_rto(&c->rtt, tcp_rto_max_us(c->th));
	tcp_timer_arm(c->th, &c->keepalive_t, now + TL_MAX(fin_timeout, rto * 7 / 2));
}

static void syn_sent_timeout(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	uint64_t budget = tcp_syn_budget_us((unsigned)th->sysctl->tcp_syn_retries);
	if (now - c->syn_stamp >= budget) {
		th->mib->tcpext.TCPAbortOnTimeout++;
		tcp_conn_done(c, -ETIMEDOUT, TCP_CAUSE_TIMER("syn_retries"), now);
		return;
	}
	th->mib->tcpext.TCPTimeouts++;
	th->mib->tcpext.TCPSynRetrans++;
	c->retransmits++;
	tcp_emit_retrans(th, TL_EV_TCP_RETRANS, c->id, &c->h, c->retransmits, "syn", now);
	tcp_send_syn(c, false, now);
	tcp_arm_rtx(c, now);
}

/* Simultaneous open: our SYN-ACK goes unanswered. */
static void syn_recv_timeout(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	if (c->retransmits >= th->sysctl->tcp_synack_retries) {
		th->mib->tcpext.TCPAbortOnTimeout++;
		tcp_conn_done(c, -ETIMEDOUT, TCP_CAUSE_TIMER("synack_retries"), now);
		return;
	}
	th->mib->tcpext.TCPSynRetrans++;
	c->retransmits++;
	tcp_emit_retrans(th, TL_EV_TCP_RETRANS, c->id, &c->h, c->retransmits, "synack", now);
	tcp_send_syn(c, true, now);
	tcp_arm_rtx(c, now);
}

static uint64_t give_up_budget(const struct tcp_conn *c)
{
	const struct tcp_sysctl *s = c->th->sysctl;
	unsigned retries = (unsigned)s->tcp_retries2;
	if (c->app_released) /* Linux tcp_orphan_retries(): 0 means 8 */
		retries = s->tcp_orphan_retries ? (unsigned)s->tcp_orphan_retries : 8;
	return tcp_model_timeout_us(retries, tcp_rto_min_us(c->th), tcp_rto_max_us(c->th));
}

static void zero_window_probe(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
	if (c->snd_wnd || !seq_lt(c->snd_nxt, data_end)) {
		c->persist = false;
		c->probes = 0;
		c->persist_backoff = 0;
		tcp_output(c, now);
		return;
	}
	if (c->probes >= (unsigned)th->sysctl->tcp_retries2) {
		th->mib->tcpext.TCPAbortOnTimeout++;
		tcp_conn_done(c, -ETIMEDOUT, TCP_CAUSE_TIMER("persist"), now);
		return;
	}
	/* Linux tcp_xmit_probe_skb: an old sequence number forces an ACK
	 * that carries the peer's current window. */
	th->mib->tcpext.TCPWinProbe++;
	c->probes++;
	if (c->persist_backoff < UINT8_MAX)
		c->persist_backoff++;
	tcp_xmit(c, c->snd_una - 1, 0, TH_ACK, now);
	tcp_arm_rtx(c, now);
}

static void rtx_timeout(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	switch ((enum tcp_state)c->state) {
	case TCP_SYN_SENT:
		syn_sent_timeout(c, now);
		return;
	case TCP_SYN_RECV:
		syn_recv_timeout(c, now);
		return;
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
	case TCP_FIN_WAIT1:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
		break;
	case TCP_FIN_WAIT2:
	case TCP_TIME_WAIT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		return;
	}
	if (c->persist) {
		zero_window_probe(c, now);
		return;
	}
	if (c->snd_una == c->snd_max)
		return; /* everything acknowledged meanwhile */
	if (c->retransmits == 0)
		c->retrans_stamp = now - tcp_rtt_rto(&c->rtt, tcp_rto_max_us(th));
	else if (now - c->retrans_stamp >= give_up_budget(c)) {
		/* RFC 9293 §3.8.3 R2, with Linux's time budget (tcp_retries2). */
		th->mib->tcpext.TCPAbortOnTimeout++;
		tcp_conn_done(c, -ETIMEDOUT, TCP_CAUSE_TIMER("retries2"), now);
		return;
	} else if (now - c->retrans_stamp >= tcp_model_timeout_us((unsigned)th->sysctl->tcp_retries1,
								   tcp_rto_min_us(th),
								   tcp_rto_max_us(th))) {
		tcp_mtu_black_hole(c); /* Linux tcp_write_timeout(), past tcp_retries1 */
	}
	th->mib->tcpext.TCPTimeouts++;
	if (c->in_recovery || c->retransmits)
		th->mib->tcpext.TCPSlowStartRetrans++;
	c->retransmits++;
	tcp_rtt_backoff(&c->rtt);
	tcp_cc_on_rto(&c->cc, now);
	c->in_recovery = false;
	c->ecn_cwr = false; /* the loss state replaces a window cut for ECN */
	c->dupacks = 0;
	c->rtt_timing = false;
	/* Go back to the first unacknowledged byte (RFC 6298 §5.4); SACK
	 * information may be reneged, so it no longer steers (RFC 6675 §5.1). */
	c->snd_nxt = c->snd_una;
	tcp_sack_clear(&c->sacked);
	c->rexmit_nxt = c->snd_una;
	tcp_emit_retrans(th, TL_EV_TCP_RETRANS, c->id, &c->h, c->retransmits, "rto", now);
	tcp_output(c, now);
	tcp_arm_rtx(c, now);
}

static void delack_timeout(struct tcp_conn *c, tl_usec_t now)
{
	if (c->state == TCP_CLOSE || c->state == TCP_SYN_SENT || c->state == TCP_LISTEN)
		return;
	c->th->mib->tcpext.DelayedACKs++;
	tcp_send_ack(c, now);
}

static void keepalive_timeout(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	const struct tcp_sysctl *s = th->sysctl;
	if (c->state == TCP_FIN_WAIT2 && c->app_released) {
		/* Linux: an orphaned FIN_WAIT2 vanishes silently after tcp_fin_timeout. */
		tcp_conn_done(c, 0, TCP_CAUSE_TIMER("fin_timeout"), now);
		return;
	}
	if (!c->keepalive || (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT))
		return;
	tl_usec_t idle_limit = (tl_usec_t)TL_MAX(s->tcp_keepalive_time, 1) * TL_USEC_PER_SEC;
	tl_usec_t intvl = (tl_usec_t)TL_MAX(s->tcp_keepalive_intvl, 1) * TL_USEC_PER_SEC;
	if (c->snd_una != c->snd_max) { /* data in flight: the RTO watches the peer */
		tcp_timer_arm(th, &c->keepalive_t, now + idle_limit);
		return;
	}
	if (now - c->last_rcv < idle_limit && c->probes == 0) {
		tcp_timer_arm(th, &c->keepalive_t, c->last_rcv + idle_limit);
		return;
	}
	if (c->probes >= s->tcp_keepalive_probes) {
		tcp_send_rst_conn(c, now);
		th->mib->tcpext.TCPAbortOnTimeout++;
		tcp_conn_done(c, -ETIMEDOUT, TCP_CAUSE_TIMER("keepalive"), now);
		return;
	}
	th->mib->tcpext.TCPKeepAlive++;
	c->probes++;
	tcp_xmit(c, c->snd_una - 1, 0, TH_ACK, now);
	tcp_timer_arm(th, &c->keepalive_t, now + intvl);
}

void tcp_timers_run(struct tcp_host *th, tl_usec_t now)
{
	struct tw_timer *wt;
	while ((wt = tw_pop_expired(&th->wheel, now))) {
		struct tcp_timer *t = TCP_CONTAINER_OF(wt, struct tcp_timer, wt);
		switch ((enum tcp_timer_kind)t->kind) {
		case TCP_T_RTX:
			rtx_timeout(TCP_CONTAINER_OF(t, struct tcp_conn, rtx), now);
			break;
		case TCP_T_DELACK:
			delack_timeout(TCP_CONTAINER_OF(t, struct tcp_conn, delack), now);
			break;
		case TCP_T_KEEPALIVE:
			keepalive_timeout(TCP_CONTAINER_OF(t, struct tcp_conn, keepalive_t), now);
			break;
		case TCP_T_REQ:
			tcp_req_timer(TCP_CONTAINER_OF(t, struct tcp_req, timer), now);
			break;
		case TCP_T_TW:
			tcp_tw_timer(th, TCP_CONTAINER_OF(t, struct tcp_tw, timer), now);
			break;
		}
	}
}

tl_usec_t tcp_next_deadline(const struct tcp_host *th)
{
	return tw_next_deadline(&th->wheel);
}

void tcp_poll(struct tcp_host *th, tl_usec_t now)
{
	tcp_enter(th, now);
	tcp_timers_run(th, now);
	tcp_leave(th);
}
