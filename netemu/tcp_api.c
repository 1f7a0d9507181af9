/* The application interface (tcp_api.h): listen, connect, send, receive,
 * shutdown and close, with Linux's close semantics (reset when unread data
 * remains, orphans finishing on their own). Each entry point brackets its
 * work with tcp_enter/tcp_leave so callbacks run after state is settled. */
#include "tcp_int.h"

#include <errno.h>
#include <stdlib.h>

#include "stack.h"

void tcp_set_callbacks(struct tcp_conn *c, const struct tcp_callbacks *cb, void *ctx)
{
	c->cb = cb;
	c->ctx = ctx;
}

int tcp_listen(struct tcp_host *th, uint16_t port, int backlog,
	       const struct tcp_callbacks *cb, void *ctx, struct tcp_conn **out)
{
	if (port == 0)
		return -EINVAL;
	if (th->listeners[port])
		return -EADDRINUSE;
	struct tcp_conn *c = tcp_conn_alloc(th, th->now);
	if (!c)
		return -ENOMEM;
	c->lsn = calloc(1, sizeof(*c->lsn));
	if (!c->lsn) {
		c->app_released = true;
		tcp_conn_release(c);
		return -ENOMEM;
	}
	/* Linux: listen() silently caps the backlog at net.core.somaxconn. */
	int somaxconn = th->sysctl->somaxconn;
	c->lsn->backlog = backlog < 0 || backlog > somaxconn ? somaxconn : backlog;
	c->h.lport = port;
	c->cb = cb;
	c->ctx = ctx;
	tcp_enter(th, th->now);
	tcp_set_state(c, TCP_LISTEN, TCP_CAUSE_APP("listen"), th->now);
	th->listeners[port] = c;
	tcp_leave(th);
	*out = c;
	return 0;
}

/* An ephemeral port whose tuple is free (or held by a reusable TIME_WAIT). */
static int pick_port(struct tcp_host *th, uint32_t raddr, uint16_t rport, tl_usec_t now)
{
	const struct tcp_sysctl *s = th->sysctl;
	int lo = s->ip_local_port_range[0], hi = s->ip_local_port_range[1];
	int span = hi - lo + 1;
	for (int i = 0; i < span; i++) {
		int port = lo + (th->next_port - lo + i + span) % span;
		struct tcp_hnode *h = tcp_hash_lookup(th, th->addr, (uint16_t)port, raddr, rport);
		if (h && h->kind == TCP_HK_TW && tcp_tw_reusable(th, (struct tcp_tw *)h, now)) {
			struct tcp_tw *tw = (struct tcp_tw *)h;
			th->mib->tcpext.TWRecycled++;
			tcp_emit_state(th, tw->id, &tw->h, TCP_TIME_WAIT, TCP_CLOSE,
				       TCP_CAUSE_APP("tw_reuse"), 0, now);
			tcp_tw_free(th, tw);
			h = NULL;
		}
		if (!h && !th->listeners[port]) {
			th->next_port = (uint16_t)(port + 1 > hi ? lo : port + 1);
			return port;
		}
	}
	return -EADDRNOTAVAIL;
}

int tcp_connect(struct tcp_host *th, uint32_t raddr, uint16_t rport, uint16_t lport,
		const struct tcp_callbacks *cb, void *ctx, tl_usec_t now,
		struct tcp_conn **out)
{
	tcp_enter(th, now);
	int port = lport;
	if (!port)
		port = pick_port(th, raddr, rport, now);
	else if (tcp_hash_lookup(th, th->addr, lport, raddr, rport))
		port = -EADDRINUSE;
	if (port < 0) {
		tcp_leave(th);
		return port;
	}
	struct tcp_conn *c = tcp_conn_alloc(th, now);
	if (!c) {
		tcp_leave(th);
		return -ENOMEM;
	}
	c->h.lport = (uint16_t)port;
	c->h.raddr = raddr;
	c->h.rport = rport;
	c->cb = cb;
	c->ctx = ctx;
	c->iss = tcp_new_isn(th, th->addr, c->h.lport, raddr, rport, now);
	c->snd_una = c->snd_nxt = c->snd_max = c->iss;
	c->snd_sml = c->iss;
	c->recover = c->iss; /* RFC 6582 §3.2: "recover" starts at the ISS */
	c->rcv_wscale = tcp_rcv_wscale(th);
	c->ts_offset = tcp_ts_offset(th, th->addr, raddr);
	c->syn_stamp = now;
	tcp_set_state(c, TCP_SYN_SENT, TCP_CAUSE_APP("connect"), now);
	th->mib->tcp.ActiveOpens++;
	tcp_hash_insert(th, &c->h);
	tcp_send_syn(c, false, now);
	*out = c;
	tcp_leave(th);
	return 0;
}

ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len, tl_usec_t now)
{
	if (c->err)
		return -EPIPE;
	switch ((enum tcp_state)c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECV:
		return -EAGAIN; /* on_connected will say when */
	case TCP_ESTABLISHED:
	case TCP_CLOSE_WAIT:
		break;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		return c->state == TCP_LISTEN ? -ENOTCONN : -EPIPE;
	}
	if (c->shut_wr)
		return -EPIPE;
	size_t n = bytering_write(&c->sndq, buf, len);
	if (n == 0)
		return -EAGAIN;
	tcp_enter(c->th, now);
	tcp_output(c, now);
	tcp_leave(c->th);
	return (ssize_t)n;
}

ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, tl_usec_t now)
{
	uint32_t before = seq_gt(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	size_t n = bytering_read(&c->rcvq, buf, len);
	if (n == 0) {
		if (c->fin_rcvd)
			return 0;
		if (c->err)
			return c->err;
		return c->state == TCP_CLOSE ? 0 : -EAGAIN;
	}
	/* Linux tcp_cleanup_rbuf(): announce a window that at least doubled.
	 * What we could advertise is capped by the window field (and its
	 * scale), not just by the free buffer. */
	uint64_t clamp = TL_MIN((uint64_t)65535 << c->rcv_wscale, (uint64_t)c->rcvbuf);
	size_t used = c->rcvq.len + tcp_ofo_bytes(&c->ofo);
	uint64_t new_wnd = TL_MIN((uint64_t)(c->rcvbuf > used ? c->rcvbuf - used : 0), clamp);
	if (c->state != TCP_CLOSE && c->state != TCP_SYN_SENT && !c->fin_rcvd &&
	    2 * (uint64_t)before <= clamp && new_wnd && new_wnd >= 2 * (uint64_t)before) {
		tcp_enter(c->th, now);
		tcp_send_ack(c, now);
		tcp_leave(c->th);
	}
	return (ssize_t)n;
}

/* Queues our FIN; `why` names the application call in the event. */
static void shutdown_write(struct tcp_conn *c, const char *why, tl_usec_t now)
{
	if (c->shut_wr)
		return;
	tcp_enter(c->th, now);
	switch ((enum tcp_state)c->state) {
	case TCP_SYN_RECV:
	case TCP_ESTABLISHED:
		c->shut_wr = true;
		tcp_set_state(c, TCP_FIN_WAIT1, TCP_CAUSE_APP(why), now);
		break;
	case TCP_CLOSE_WAIT:
		c->shut_wr = true;
		tcp_set_state(c, TCP_LAST_ACK, TCP_CAUSE_APP(why), now);
		break;
	case TCP_SYN_SENT:
		tcp_conn_done(c, 0, TCP_CAUSE_APP(why), now);
		break;
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING:
	case TCP_LAST_ACK:
	case TCP_TIME_WAIT:
	case TCP_CLOSE:
	case TCP_LISTEN:
		break;
	}
	tcp_output(c, now);
	tcp_leave(c->th);
}

int tcp_shutdown_write(struct tcp_conn *c, tl_usec_t now)
{
	shutdown_write(c, "shutdown", now);
	return 0;
}

void tcp_close(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	tcp_enter(th, now);
	if (c->state == TCP_LISTEN) {
		tcp_listener_close(c, now);
		tcp_set_state(c, TCP_CLOSE, TCP_CAUSE_APP("close"), now);
	} else if (c->state == TCP_SYN_SENT) {
		tcp_conn_done(c, 0, TCP_CAUSE_APP("close"), now);
	} else if (c->state != TCP_CLOSE && (c->rcvq.len || !tcp_ofo_empty(&c->ofo))) {
		/* Linux tcp_close(): unread data means the peer must know at once. */
		th->mib->tcpext.TCPAbortOnClose++;
		tcp_send_rst_conn(c, now);
		tcp_conn_done(c, -ECONNRESET, TCP_CAUSE_APP("close-unread"), now);
	} else if (c->state != TCP_CLOSE) {
		shutdown_write(c, "close", now);
		if (c->state == TCP_FIN_WAIT2) {
			c->app_released = true;
			tcp_arm_fin_wait2_timer(c, now);
		}
	}
	tcp_conn_release(c);
	tcp_leave(th);
}

void tcp_abort(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_host *th = c->th;
	tcp_enter(th, now);
	if (c->state == TCP_LISTEN) {
		tcp_leave(th);
		tcp_close(c, now);
		return;
	}
	if (c->state != TCP_CLOSE && c->state != TCP_SYN_SENT) {
		/* Linux tcp_close() with a zero linger time counts this as
		 * TCPAbortOnData (TCPAbortOnLinger is the FIN_WAIT2 linger2 < 0 case). */
		th->mib->tcpext.TCPAbortOnData++;
		tcp_send_rst_conn(c, now);
	}
	if (c->state != TCP_CLOSE)
		tcp_conn_done(c, -ECONNRESET, TCP_CAUSE_APP("abort"), now);
	tcp_conn_release(c);
	tcp_leave(th);
}

size_t tcp_send_space(const struct tcp_conn *c) { return bytering_space(&c->sndq); }
size_t tcp_recv_avail(const struct tcp_conn *c) { return c->rcvq.len; }
int tcp_conn_state(const struct tcp_conn *c) { return c->state; }
uint64_t tcp_conn_id(const struct tcp_conn *c) { return c->id; }

void tcp_conn_addrs(const struct tcp_conn *c, uint32_t *laddr, uint16_t *lport,
		    uint32_t *raddr, uint16_t *rport)
{
	*laddr = c->h.laddr;
	*lport = c->h.lport;
	*raddr = c->h.raddr;
	*rport = c->h.rport;
}

void tcp_set_keepalive(struct tcp_conn *c, int on, tl_usec_t now)
{
	c->keepalive = on != 0;
	if (c->state != TCP_ESTABLISHED && c->state != TCP_CLOSE_WAIT)
		return;
	if (on) {
		uint64_t t = (uint64_t)TL_MAX(c->th->sysctl->tcp_keepalive_time, 1) * TL_USEC_PER_SEC;
		tcp_timer_arm(c->th, &c->keepalive_t, now + t);
	} else {
		tcp_timer_stop(&c->keepalive_t);
	}
}

tl_usec_t tcp_now(const struct tcp_conn *c)
{
	return c->th->now;
}

void tcp_set_nodelay(struct tcp_conn *c, int on)
{
	c->nodelay = on != 0;
}
