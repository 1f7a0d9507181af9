/* Passive opens: a listener's SYN queue (requests in SYN_RECV) and accept
 * queue, SYN-ACK retransmission, and SYN cookies — following Linux's
 * tcp_conn_request(), tcp_check_req(), reqsk_timer_handler() and
 * cookie_v4_check() (reference §2.1, §3.1, §4). */
#include "tcp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Linux: cookie ACKs are checked only within ~2 minutes of an overflow. */
#define SYNCOOKIE_VALID_US (120 * TL_USEC_PER_SEC)

static void accept_enqueue(struct tcp_listener *q, struct tcp_conn *c)
{
	c->accept_next = NULL;
	if (q->accept_tail)
		q->accept_tail->accept_next = c;
	else
		q->accept_head = c;
	q->accept_tail = c;
	q->accept_len++;
}

/* Linux sk_acceptq_is_full(): the test is ">", so backlog N holds N+1. */
static bool accept_queue_full(const struct tcp_listener *q)
{
	return q->accept_len > (uint32_t)q->backlog;
}

/* The window of our SYN-ACKs (never scaled in a SYN, RFC 7323 §2.2). A
 * child starts with it: the peer may fill it before we send anything. */
static uint16_t synack_window(const struct tcp_host *th)
{
	return (uint16_t)TL_MIN(TL_MAX(th->sysctl->tcp_rmem[2], 0), 65535);
}

static void req_send_synack(struct tcp_host *th, const struct tcp_req *r, tl_usec_t now)
{
	struct tcp_opts o = { .has_mss = true, .mss = tcp_local_mss(th) };
	o.sack_ok = r->sack_ok;
	o.has_wscale = r->ws_ok;
	o.wscale = r->ws_ok ? tcp_rcv_wscale(th) : 0;
	o.has_ts = r->ts_ok;
	if (r->ts_ok) {
		o.ts_val = tcp_ts_now(th, now) + tcp_ts_offset(th, r->h.laddr, r->h.raddr);
		o.ts_ecr = r->ts_recent;
	}
	tcp_send_raw(th, r->h.laddr, r->h.lport, r->h.raddr, r->h.rport, r->iss, r->irs + 1,
		     TH_SYN | TH_ACK | (r->ecn_ok ? TH_ECE : 0), synack_window(th), &o, now);
}

void tcp_req_free(struct tcp_host *th, struct tcp_req *r)
{
	struct tcp_listener *q = r->listener->lsn;
	tcp_timer_stop(&r->timer);
	tcp_hash_remove(th, &r->h);
	if (r->lprev)
		r->lprev->lnext = r->lnext;
	else
		q->reqs = r->lnext;
	if (r->lnext)
		r->lnext->lprev = r->lprev;
	q->qlen--;
	if (r->num_timeout == 0)
		q->young--;
	free(r);
}

static void req_drop(struct tcp_host *th, struct tcp_req *r, struct tcp_cause cause,
		     tl_usec_t now)
{
	tcp_emit_state(th, r->id, &r->h, TCP_SYN_RECV, TCP_CLOSE, cause, TL_EVF_PASSIVE, now);
	tcp_req_free(th, r);
}

static void opts_from_syn(struct tcp_host *th, const struct tcp_seg *seg, struct tcp_req *r)
{
	const struct tcp_sysctl *s = th->sysctl;
	uint16_t mss = seg->opt.has_mss ? seg->opt.mss : 536;
	mss = (uint16_t)TL_MAX((int)mss, s->tcp_min_snd_mss);
	r->mss = TL_MIN(mss, tcp_local_mss(th));
	r->ws_ok = seg->opt.has_wscale && s->tcp_window_scaling;
	r->snd_wscale = r->ws_ok ? TL_MIN(seg->opt.wscale, 14) : 0;
	r->sack_ok = seg->opt.sack_ok && s->tcp_sack;
	r->ts_ok = seg->opt.has_ts && s->tcp_timestamps;
	r->ts_recent = seg->opt.ts_val;
	r->peer_wnd = seg->wnd;
	r->ecn_ok = tcp_ecn_syn_asks(th, seg);
}

/* Answers a SYN with a cookie and keeps no state (reference §4). */
static void send_cookie_synack(struct tcp_conn *l, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	const struct tcp_sysctl *s = th->sysctl;
	struct tcp_listener *q = l->lsn;
	uint16_t mss_used;
	uint32_t isn = tcp_syncookie_make(&th->cookie_keys, seg->saddr, seg->daddr, seg->sport,
					  seg->dport, seg->seq,
					  seg->opt.has_mss ? seg->opt.mss : 536,
					  tcp_syncookie_count(now), &mss_used);
	struct tcp_opts o = { .has_mss = true, .mss = tcp_local_mss(th) };
	/* ECN survives a cookie only in the timestamp, like the options. */
	bool ecn = tcp_ecn_syn_asks(th, seg) && seg->opt.has_ts && s->tcp_timestamps;
	/* Linux: without timestamps the cookie cannot carry options, so the
	 * SYN-ACK offers none but MSS. */
	if (seg->opt.has_ts && s->tcp_timestamps) {
		bool ws = seg->opt.has_wscale && s->tcp_window_scaling;
		bool sack = seg->opt.sack_ok && s->tcp_sack;
		o.has_ts = true;
		o.ts_val = tcp_ts_offset(th, seg->daddr, seg->saddr) +
			   tcp_syncookie_ts_encode(tcp_ts_now(th, now),
						   ws ? TL_MIN(seg->opt.wscale, 14) : 15, sack, ecn);
		o.ts_ecr = seg->opt.ts_val;
		o.sack_ok = sack;
		o.has_wscale = ws;
		o.wscale = tcp_rcv_wscale(th);
	}
	q->last_overflow = now;
	q->overflowed = true;
	th->mib->tcpext.SyncookiesSent++;
	tcp_send_raw(th, seg->daddr, seg->dport, seg->saddr, seg->sport, isn, seg->seq + 1,
		     TH_SYN | TH_ACK | (ecn ? TH_ECE : 0), synack_window(th), &o, now);
}

/* Makes an ESTABLISHED child of listener l and queues it for accept(). */
/* irs is the peer's ISN: the child's stream starts right after it, even
 * when the segment that completes the handshake carries later data (the
 * first segments were lost or reordered: they go out of order). */
static struct tcp_conn *child_new(struct tcp_conn *l, const struct tcp_seg *seg,
				  uint64_t id, uint32_t iss, uint32_t irs, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	struct tcp_conn *c = tcp_conn_alloc(th, now);
	if (!c)
		return NULL;
	if (id) /* the child keeps its request's id: one connection in history */
		c->id = id;
	c->h.laddr = seg->daddr;
	c->h.lport = seg->dport;
	c->h.raddr = seg->saddr;
	c->h.rport = seg->sport;
	c->passive = true;
	c->parent = l;
	c->cb = l->cb;
	c->ctx = l->ctx;
	c->iss = iss;
	c->snd_una = c->snd_nxt = c->snd_max = iss + 1;
	c->snd_sml = iss + 1;
	c->recover = iss; /* RFC 6582 §3.2: "recover" starts at the ISS */
	c->irs = irs;
	c->rcv_nxt = irs + 1;
	c->rcv_wnd = synack_window(th);
	c->rcv_adv = c->rcv_nxt + c->rcv_wnd; /* what our SYN-ACK offered */
	c->rcv_wup = c->rcv_nxt;
	c->snd_wl1 = seg->seq;
	c->snd_wl2 = seg->ack;
	c->keepalive = l->keepalive;
	c->nodelay = l->nodelay;
	th->mib->tcp.PassiveOpens++;
	return c;
}

static void child_finish(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_seg *seg,
			 tl_usec_t now)
{
	c->snd_wnd = (uint32_t)seg->wnd << c->snd_wscale;
	tcp_hash_insert(l->th, &c->h);
	accept_enqueue(l->lsn, c);
	tcp_notify(l, TCP_N_ACCEPT);
	if (c->keepalive)
		tcp_set_keepalive(c, 1, now);
	/* The final ACK may carry data or a FIN. */
	if (seg->len || (seg->flags & TH_FIN))
		tcp_conn_input(c, seg, now);
}

static void cookie_ack(struct tcp_conn *l, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	const struct tcp_sysctl *s = th->sysctl;
	uint16_t mss;
	if (tcp_syncookie_check(&th->cookie_keys, seg->saddr, seg->daddr, seg->sport,
				seg->dport, seg->ack - 1, seg->seq - 1,
				tcp_syncookie_count(now), &mss) < 0) {
		th->mib->tcpext.SyncookiesFailed++;
		tcp_send_rst_reply(th, seg, now);
		return;
	}
	uint8_t wscale = 15;
	bool sack = false, ecn = false, ts = false;
	if (seg->opt.has_ts && s->tcp_timestamps) {
		/* Linux cookie_v4_check(): the offset comes off before decoding. */
		uint32_t tsecr = seg->opt.ts_ecr - tcp_ts_offset(th, seg->daddr, seg->saddr);
		if (!tcp_syncookie_ts_decode(tsecr, &wscale, &sack, &ecn) ||
		    (sack && !s->tcp_sack) || (wscale != 15 && !s->tcp_window_scaling)) {
			th->mib->tcpext.SyncookiesFailed++;
			tcp_send_rst_reply(th, seg, now);
			return;
		}
		ts = true;
	}
	th->mib->tcpext.SyncookiesRecv++;
	if (accept_queue_full(l->lsn)) {
		th->mib->tcpext.ListenOverflows++;
		th->mib->tcpext.ListenDrops++;
		return;
	}
	struct tcp_conn *c = child_new(l, seg, 0, seg->ack - 1, seg->seq - 1, now);
	if (!c)
		return;
	c->from_cookie = true;
	c->mss = TL_MIN(mss, c->advmss);
	c->ws_ok = wscale != 15;
	c->snd_wscale = c->ws_ok ? wscale : 0;
	c->rcv_wscale = c->ws_ok ? tcp_rcv_wscale(th) : 0;
	c->sack_ok = sack;
	c->ecn_flags = ecn && s->tcp_ecn ? TCP_ECN_OK : 0; /* Linux cookie_ecn_ok() */
	c->ts_ok = ts;
	c->ts_offset = tcp_ts_offset(th, c->h.laddr, c->h.raddr);
	c->ts_recent = seg->opt.ts_val;
	/* Linux: the request never existed, so the child appears established. */
	c->state = TCP_ESTABLISHED;
	th->mib->tcp.CurrEstab++;
	tcp_emit_state(th, c->id, &c->h, TCP_LISTEN, TCP_ESTABLISHED,
		       TCP_CAUSE_SEG(seg, "cookie-ACK"), TL_EVF_PASSIVE | TL_EVF_FROM_COOKIE, now);
	child_finish(l, c, seg, now);
}

static void listen_syn(struct tcp_conn *l, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	const struct tcp_sysctl *s = th->sysctl;
	struct tcp_listener *q = l->lsn;
	struct mib_tcpext *x = &th->mib->tcpext;
	bool want_cookie = false;

	/* Linux inet_csk_reqsk_queue_is_full() (6.14+): full when the
	 * requests exceed the backlog, like the accept queue, so backlog N
	 * holds N + 1 requests (and backlog 0 still admits one). */
	if (s->tcp_syncookies == 2 || q->qlen > (uint32_t)q->backlog) {
		if (!s->tcp_syncookies) {
			x->TCPReqQFullDrop++;
			x->ListenDrops++;
			return;
		}
		x->TCPReqQFullDoCookies++;
		want_cookie = true;
	}
	if (accept_queue_full(q)) {
		x->ListenOverflows++;
		x->ListenDrops++;
		return;
	}
	/* Linux: with cookies off, the last quarter of tcp_max_syn_backlog is
	 * kept for peers proven alive; we keep no peer metrics, so none are. */
	if (!want_cookie && !s->tcp_syncookies &&
	    (int64_t)s->tcp_max_syn_backlog - q->qlen < (s->tcp_max_syn_backlog >> 2)) {
		x->ListenDrops++;
		return;
	}
	if (want_cookie) {
		send_cookie_synack(l, seg, now);
		return;
	}
	struct tcp_req *r = calloc(1, sizeof(*r));
	if (!r) {
		x->ListenDrops++;
		return;
	}
	r->h.kind = TCP_HK_REQ;
	r->h.laddr = seg->daddr;
	r->h.lport = seg->dport;
	r->h.raddr = seg->saddr;
	r->h.rport = seg->sport;
	r->timer.kind = TCP_T_REQ;
	r->listener = l;
	r->id = th->next_id++;
	r->irs = seg->seq;
	r->iss = th->tw_isn ? th->tw_isn
			    : tcp_new_isn(th, seg->daddr, seg->dport, seg->saddr, seg->sport, now);
	r->created = now;
	opts_from_syn(th, seg, r);
	tcp_hash_insert(th, &r->h);
	r->lnext = q->reqs;
	if (q->reqs)
		q->reqs->lprev = r;
	q->reqs = r;
	q->qlen++;
	q->young++;
	tcp_emit_state(th, r->id, &r->h, TCP_LISTEN, TCP_SYN_RECV, TCP_CAUSE_SEG(seg, "SYN"),
		       TL_EVF_PASSIVE, now);
	req_send_synack(th, r, now);
	tcp_timer_arm(th, &r->timer, now + TL_USEC_PER_SEC);
}

/* RFC 9293 §3.10.7.2 with Linux's queues. */
void tcp_listen_input(struct tcp_conn *l, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	const struct tcp_sysctl *s = th->sysctl;
	struct tcp_listener *q = l->lsn;
	if (seg->flags & TH_RST)
		return;
	if (seg->flags & TH_ACK) {
		/* Linux tcp_synq_no_recent_overflow(): mode 2 records an
		 * overflow with every cookie it sends, so it needs no case. */
		bool cookie_window = q->overflowed && now - q->last_overflow <= SYNCOOKIE_VALID_US;
		if (!(seg->flags & TH_SYN) && s->tcp_syncookies && cookie_window) {
			cookie_ack(l, seg, now);
			return;
		}
		tcp_send_rst_reply(th, seg, now);
		return;
	}
	if ((seg->flags & TH_SYN) && !(seg->flags & TH_FIN))
		listen_syn(l, seg, now);
}

/* The segment for a pending request (Linux tcp_check_req). */
void tcp_req_input(struct tcp_req *r, const struct tcp_seg *seg, tl_usec_t now)
{
	struct tcp_conn *l = r->listener;
	struct tcp_host *th = l->th;
	struct tcp_listener *q = l->lsn;
	struct mib_tcpext *x = &th->mib->tcpext;

	if (seg->flags & TH_RST) {
		/* Linux tcp_check_req(): a reset anywhere in the window our
		 * SYN-ACK offered ([RCV.NXT, RCV.NXT + window]) ends the request;
		 * an RST|ACK acking something else belongs to the listener,
		 * which ignores it. */
		uint32_t rcv_nxt = r->irs + 1;
		if ((seg->flags & TH_ACK) && seg->ack != r->iss + 1)
			return;
		if (seq_geq(seg->seq, rcv_nxt) && seq_leq(seg->seq, rcv_nxt + synack_window(th))) {
			th->mib->tcp.AttemptFails++;
			x->EmbryonicRsts++;
			req_drop(th, r, TCP_CAUSE_SEG(seg, "RST"), now);
		}
		return;
	}
	if ((seg->flags & TH_SYN) && !(seg->flags & TH_ACK)) {
		if (seg->seq == r->irs) { /* the client resent its SYN: resend ours */
			th->mib->tcp.RetransSegs++;
			th->mib->tcp.OutSegs--; /* counted as a retransmission instead */
			x->TCPSynRetrans++;
			req_send_synack(th, r, now);
		}
		return;
	}
	if (!(seg->flags & TH_ACK))
		return;
	if (seg->ack != r->iss + 1) {
		tcp_send_rst_reply(th, seg, now);
		return;
	}
	if (seq_lt(seg->seq, r->irs + 1) || seq_gt(seg->seq, r->irs + 1 + 65535u)) {
		tcp_send_raw(th, r->h.laddr, r->h.lport, r->h.raddr, r->h.rport, r->iss + 1,
			     r->irs + 1, TH_ACK, 0, NULL, now);
		return;
	}
	if (accept_queue_full(q)) {
		x->ListenOverflows++;
		x->ListenDrops++;
		if (th->sysctl->tcp_abort_on_overflow) {
			tcp_send_rst_reply(th, seg, now);
			x->EmbryonicRsts++;
			req_drop(th, r, TCP_CAUSE_SEG(seg, "accept-queue-full"), now);
		} else {
			r->acked = true; /* the SYN-ACK timer will prompt the client again */
		}
		return;
	}
	struct tcp_conn *c = child_new(l, seg, r->id, r->iss, r->irs, now);
	if (!c)
		return;
	c->mss = r->mss;
	c->ws_ok = r->ws_ok;
	c->snd_wscale = r->snd_wscale;
	c->rcv_wscale = r->ws_ok ? tcp_rcv_wscale(th) : 0;
	c->sack_ok = r->sack_ok;
	c->ts_ok = r->ts_ok;
	c->ecn_flags = r->ecn_ok ? TCP_ECN_OK : 0;
	c->ts_offset = tcp_ts_offset(th, c->h.laddr, c->h.raddr);
	c->ts_recent = seg->opt.has_ts ? seg->opt.ts_val : r->ts_recent;
	if (r->num_timeout == 0)
		tcp_rtt_sample(&c->rtt, (uint32_t)TL_MIN(now - r->created, (tl_usec_t)UINT32_MAX),
			       tcp_rto_min_us(th), tcp_rto_max_us(th));
	else
		tcp_rtt_init(&c->rtt, 3 * TL_USEC_PER_SEC); /* Linux TCP_TIMEOUT_FALLBACK */
	tcp_req_free(th, r);
	c->state = TCP_SYN_RECV; /* the request's state, already reported */
	tcp_set_state(c, TCP_ESTABLISHED, TCP_CAUSE_SEG(seg, "ACK"), now);
	child_finish(l, c, seg, now);
}

/* Linux reqsk_timer_handler(): resend the SYN-ACK on a doubling schedule,
 * give up after tcp_synack_retries (fewer for old requests when the queue
 * is under pressure). */
void tcp_req_timer(struct tcp_req *r, tl_usec_t now)
{
	struct tcp_conn *l = r->listener;
	struct tcp_host *th = l->th;
	struct tcp_listener *q = l->lsn;
	int max_retries = th->sysctl->tcp_synack_retries;
	int thresh = max_retries;
	if ((q->qlen << 1) > (uint32_t)TL_MAX(8, q->backlog)) {
		uint32_t young = q->young << 1;
		while (thresh > 2) {
			if (q->qlen < young)
				break;
			thresh--;
			young <<= 1;
		}
	}
	int limit = r->acked ? max_retries : thresh;
	if (r->num_timeout >= limit) {
		req_drop(th, r, TCP_CAUSE_TIMER("synack_retries"), now);
		return;
	}
	th->mib->tcp.RetransSegs++;
	th->mib->tcp.OutSegs--; /* tcp_send_raw counts it; it is a retransmission */
	th->mib->tcpext.TCPSynRetrans++;
	if (r->num_timeout++ == 0)
		q->young--;
	tcp_emit_retrans(th, TL_EV_TCP_SYNACK_RETRANS, r->id, &r->h, r->num_timeout, "synack",
			 now);
	req_send_synack(th, r, now);
	uint64_t wait = TL_MIN((uint64_t)TL_USEC_PER_SEC << r->num_timeout,
			       (uint64_t)tcp_rto_max_us(th));
	tcp_timer_arm(th, &r->timer, now + wait);
}

/* close() on a listener: pending requests vanish, unaccepted children are
 * reset (reference §8). */
void tcp_listener_close(struct tcp_conn *l, tl_usec_t now)
{
	struct tcp_host *th = l->th;
	struct tcp_listener *q = l->lsn;
	while (q->reqs)
		req_drop(th, q->reqs, TCP_CAUSE_APP("listener-close"), now);
	while (q->accept_head) {
		struct tcp_conn *c = q->accept_head;
		q->accept_head = c->accept_next;
		q->accept_len--;
		c->parent = NULL;
		c->app_released = true;
		th->mib->tcpext.TCPAbortOnClose++;
		tcp_send_rst_conn(c, now);
		tcp_conn_done(c, -ECONNRESET, TCP_CAUSE_APP("listener-close"), now);
	}
	q->accept_tail = NULL;
	th->listeners[l->h.lport] = NULL;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l, tl_usec_t now)
{
	(void)now;
	struct tcp_listener *q = l->lsn;
	if (!q || !q->accept_head)
		return NULL;
	struct tcp_conn *c = q->accept_head;
	q->accept_head = c->accept_next;
	if (!q->accept_head)
		q->accept_tail = NULL;
	q->accept_len--;
	c->accept_next = NULL;
	c->parent = NULL;
	return c;
}
