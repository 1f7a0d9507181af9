/* TCP connections: the host's tables, creation and destruction, state
 * changes with their counters and events, and deferred application
 * callbacks. */
#include "tcp.h"
#include "tcp_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "stack.h"

#define EHASH_INITIAL 1024

/* ---------- the host ---------- */

struct tcp_host *tcp_host_new(struct stack *st, struct tcp_sysctl *sysctl,
			      struct stack_counters *mib, tl_usec_t now)
{
	struct tcp_host *th = calloc(1, sizeof(*th));
	if (!th)
		return NULL;
	const struct stack_config *cfg = stack_config(st);
	th->st = st;
	th->sysctl = sysctl;
	th->mib = mib;
	th->addr = cfg->addr;
	th->mtu = cfg->mtu ? cfg->mtu : 1500;
	th->host_id = cfg->host_id;
	th->ehash.bucket = calloc(EHASH_INITIAL, sizeof(*th->ehash.bucket));
	th->ehash.mask = EHASH_INITIAL - 1;
	th->listeners = calloc(65536, sizeof(*th->listeners));
	if (!th->ehash.bucket || !th->listeners)
		goto fail;
	tw_init(&th->wheel, now);
	tcp_syncookie_keys_init(&th->cookie_keys, cfg->secret);
	/* The ISN key is derived from the secret so it differs from the cookie keys. */
	crypto_generichash(th->isn_key, sizeof(th->isn_key), cfg->secret,
			   sizeof(cfg->secret), (const uint8_t *)"isn", 3);
	th->next_id = 1;
	th->now = now; /* listeners opened before any input get a real time */
	th->next_port = (uint16_t)(sysctl->ip_local_port_range[0] +
				   (cfg->secret[2] | cfg->secret[3] << 8) %
					   (sysctl->ip_local_port_range[1] -
					    sysctl->ip_local_port_range[0] + 1));
	return th;
fail:
	free(th->ehash.bucket);
	free(th->listeners);
	free(th);
	return NULL;
}

static void conn_free(struct tcp_conn *c)
{
	struct tcp_host *th = c->th;
	if (c->all_prev)
		c->all_prev->all_next = c->all_next;
	else
		th->all_head = c->all_next;
	if (c->all_next)
		c->all_next->all_prev = c->all_prev;
	th->conn_count--;
	bytering_fini(&c->sndq);
	bytering_fini(&c->rcvq);
	tcp_ofo_fini(&c->ofo);
	free(c->lsn);
	free(c);
}

void tcp_host_free(struct tcp_host *th)
{
	if (!th)
		return;
	/* Requests and TIME_WAIT entries live only in the table. */
	for (uint32_t i = 0; i <= th->ehash.mask; i++) {
		struct tcp_hnode *n = th->ehash.bucket[i];
		while (n) {
			struct tcp_hnode *next = n->next;
			if (n->kind != TCP_HK_CONN)
				free(n);
			n = next;
		}
	}
	while (th->all_head)
		conn_free(th->all_head);
	free(th->ehash.bucket);
	free(th->listeners);
	free(th);
}

/* ---------- hashing ---------- */

static uint32_t tuple_hash(uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport)
{
	/* Not keyed: labs are closed systems and the table grows before chains get long. */
	uint64_t x = ((uint64_t)raddr << 32 | (uint64_t)rport << 16 | lport) ^
		     ((uint64_t)laddr * 0x9e3779b97f4a7c15ULL);
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return (uint32_t)x;
}

static void ehash_grow(struct tcp_ehash *e)
{
	uint32_t n = (e->mask + 1) * 2;
	struct tcp_hnode **b = calloc(n, sizeof(*b));
	if (!b)
		return; /* keep the old table: longer chains, still correct */
	for (uint32_t i = 0; i <= e->mask; i++) {
		struct tcp_hnode *h = e->bucket[i];
		while (h) {
			struct tcp_hnode *next = h->next;
			uint32_t k = tuple_hash(h->laddr, h->lport, h->raddr, h->rport) & (n - 1);
			h->next = b[k];
			b[k] = h;
			h = next;
		}
	}
	free(e->bucket);
	e->bucket = b;
	e->mask = n - 1;
}

void tcp_hash_insert(struct tcp_host *th, struct tcp_hnode *n)
{
	struct tcp_ehash *e = &th->ehash;
	TL_ASSERT(!n->hashed);
	if (e->count >= (e->mask + 1) * 2)
		ehash_grow(e);
	uint32_t k = tuple_hash(n->laddr, n->lport, n->raddr, n->rport) & e->mask;
	n->next = e->bucket[k];
	e->bucket[k] = n;
	n->hashed = true;
	e->count++;
}

void tcp_hash_remove(struct tcp_host *th, struct tcp_hnode *n)
{
	struct tcp_ehash *e = &th->ehash;
	if (!n->hashed)
		return;
	uint32_t k = tuple_hash(n->laddr, n->lport, n->raddr, n->rport) & e->mask;
	for (struct tcp_hnode **pp = &e->bucket[k]; *pp; pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			n->hashed = false;
			e->count--;
			return;
		}
	}
	TL_ASSERT(0);
}

struct tcp_hnode *tcp_hash_lookup(struct tcp_host *th, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport)
{
	struct tcp_ehash *e = &th->ehash;
	uint32_t k = tuple_hash(laddr, lport, raddr, rport) & e->mask;
	for (struct tcp_hnode *n = e->bucket[k]; n; n = n->next)
		if (n->lport == lport && n->rport == rport && n->raddr == raddr &&
		    n->laddr == laddr)
			return n;
	return NULL;
}

/* ---------- connections ---------- */

struct tcp_conn *tcp_conn_alloc(struct tcp_host *th, tl_usec_t now)
{
	struct tcp_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	const struct tcp_sysctl *s = th->sysctl;
	c->h.kind = TCP_HK_CONN;
	c->h.laddr = th->addr;
	c->th = th;
	c->id = th->next_id++;
	c->state = TCP_CLOSE;
	c->rtx.kind = TCP_T_RTX;
	c->delack.kind = TCP_T_DELACK;
	c->keepalive_t.kind = TCP_T_KEEPALIVE;
	c->opened = now;
	c->last_rcv = now;
	c->advmss = tcp_local_mss(th);
	c->mss = 536; /* RFC 9293 default until the peer says otherwise */
	c->quickacks = 16;
	c->rcv_mss = 536; /* Linux tcp_initialize_rcv_mss(): TCP_MSS_DEFAULT at most */
	tcp_rtt_init(&c->rtt, 1000000);
	if (bytering_init(&c->sndq, (size_t)s->tcp_wmem[2]) < 0 ||
	    bytering_init(&c->rcvq, (size_t)s->tcp_rmem[2]) < 0)
		goto fail;
	tcp_ofo_init(&c->ofo, (size_t)s->tcp_rmem[2]);
	c->rcvbuf = (uint32_t)TL_MAX(s->tcp_rmem[2], 1);
	c->all_next = th->all_head;
	if (th->all_head)
		th->all_head->all_prev = c;
	th->all_head = c;
	th->conn_count++;
	if (tcp_cc_init(&c->cc, s->tcp_congestion_control, 10, now) < 0)
		tcp_cc_init(&c->cc, "reno", 10, now);
	return c;
fail:
	bytering_fini(&c->sndq);
	bytering_fini(&c->rcvq);
	free(c);
	return NULL;
}

static void fill_event(struct tl_event *ev, struct tcp_host *th, uint64_t id,
		       const struct tcp_hnode *h, struct tcp_cause cause, tl_usec_t now)
{
	memset(ev, 0, sizeof(*ev));
	ev->time = now;
	ev->conn_id = id;
	ev->laddr = h->laddr;
	ev->raddr = h->raddr;
	ev->lport = h->lport;
	ev->rport = h->rport;
	ev->cause_kind = cause.kind;
	(void)th;
	if (cause.name) {
		strncpy(ev->cause, cause.name, sizeof(ev->cause) - 1);
	}
	if (cause.seg) {
		ev->seg_flags = cause.seg->flags;
		ev->seg_seq = cause.seg->seq;
		ev->seg_ack = cause.seg->ack;
		ev->seg_len = cause.seg->len;
		ev->seg_win = cause.seg->wnd;
		if (!cause.name)
			tcp_flags_str(cause.seg->flags, ev->cause);
	}
}

void tcp_emit_state(struct tcp_host *th, uint64_t id, const struct tcp_hnode *h,
		    int from, int to, struct tcp_cause cause, uint16_t flags, tl_usec_t now)
{
	struct tl_event ev;
	fill_event(&ev, th, id, h, cause, now);
	ev.kind = TL_EV_TCP_STATE;
	ev.old_state = (uint8_t)from;
	ev.new_state = (uint8_t)to;
	ev.flags = flags;
	stack_emit_event(th->st, &ev);
}

void tcp_emit_retrans(struct tcp_host *th, enum tl_event_kind kind, uint64_t id,
		      const struct tcp_hnode *h, uint32_t count, const char *what,
		      tl_usec_t now)
{
	struct tl_event ev;
	fill_event(&ev, th, id, h, TCP_CAUSE_TIMER(what), now);
	ev.kind = kind;
	ev.count = count;
	stack_emit_event(th->st, &ev);
}

static bool counts_as_established(int s)
{
	return s == TCP_ESTABLISHED || s == TCP_CLOSE_WAIT;
}

void tcp_set_state(struct tcp_conn *c, int to, struct tcp_cause cause, tl_usec_t now)
{
	int from = c->state;
	struct mib_tcp *m = &c->th->mib->tcp;
	TL_ASSERT(tcp_state_transition_ok(from, to));
	if (from == to)
		return;
	/* Linux tcp_set_state(): CurrEstab is a gauge over ESTABLISHED and
	 * CLOSE_WAIT; resets from those states count as EstabResets. */
	if (!counts_as_established(from) && counts_as_established(to))
		m->CurrEstab++;
	if (counts_as_established(from) && !counts_as_established(to))
		m->CurrEstab--;
	if (to == TCP_CLOSE) {
		/* Linux counts every ESTABLISHED/CLOSE_WAIT -> CLOSE, whoever
		 * reset: a received RST, our abort, a timeout. */
		if (counts_as_established(from))
			m->EstabResets++;
		if (from == TCP_SYN_SENT || from == TCP_SYN_RECV)
			m->AttemptFails++;
	}
	c->state = (uint8_t)to;
	uint16_t flags = (c->passive ? TL_EVF_PASSIVE : 0) |
			 (c->from_cookie ? TL_EVF_FROM_COOKIE : 0);
	struct tl_event ev;
	fill_event(&ev, c->th, c->id, &c->h, cause, now);
	ev.kind = TL_EV_TCP_STATE;
	ev.old_state = (uint8_t)from;
	ev.new_state = (uint8_t)to;
	ev.flags = flags;
	ev.bytes_in = c->bytes_in;
	ev.bytes_out = c->bytes_out;
	ev.segs_in = (uint32_t)c->segs_in;
	ev.segs_out = (uint32_t)c->segs_out;
	ev.retrans = c->total_retrans;
	ev.srtt_us = c->rtt.srtt_us;
	ev.min_rtt_us = c->rtt.min_rtt_us;
	stack_emit_event(c->th->st, &ev);
}

/* Frees c when the outermost entry point returns (callbacks may still
 * hold a pointer to it until then). */
static void conn_reap(struct tcp_conn *c)
{
	if (c->reaped)
		return;
	c->reaped = true;
	tcp_conn_stop_timers(c);
	tcp_hash_remove(c->th, &c->h);
	c->reap_next = c->th->reap_head;
	c->th->reap_head = c;
}

void tcp_conn_release(struct tcp_conn *c)
{
	c->app_released = true;
	c->cb = NULL;
	if (c->state == TCP_CLOSE)
		conn_reap(c);
}

void tcp_conn_done(struct tcp_conn *c, int err, struct tcp_cause cause, tl_usec_t now)
{
	if (c->state != TCP_CLOSE)
		tcp_set_state(c, TCP_CLOSE, cause, now);
	tcp_conn_stop_timers(c);
	tcp_hash_remove(c->th, &c->h);
	if (c->app_released) {
		conn_reap(c);
		return;
	}
	c->err = err;
	tcp_notify(c, TCP_N_CLOSED);
}

void tcp_notify(struct tcp_conn *c, uint8_t what)
{
	if (c->app_released || !c->cb)
		return;
	c->notify |= what;
	if (!c->in_notify_list) {
		c->in_notify_list = true;
		c->notify_next = c->th->notify_head;
		c->th->notify_head = c;
	}
}

void tcp_enter(struct tcp_host *th, tl_usec_t now)
{
	if (th->depth++ == 0)
		th->now = now;
}

/* Callbacks run here, outside protocol processing, so an application that
 * closes or sends from a callback never changes state under our feet. */
void tcp_leave(struct tcp_host *th)
{
	if (th->depth > 1) {
		th->depth--;
		return;
	}
	while (th->notify_head) {
		struct tcp_conn *c = th->notify_head;
		th->notify_head = c->notify_next;
		c->in_notify_list = false;
		uint8_t n = c->notify;
		c->notify = 0;
		const struct tcp_callbacks *cb = c->cb;
		if (c->app_released || !cb)
			continue;
		/* Each callback may release c: re-check before the next one. */
		if ((n & TCP_N_ACCEPT) && cb->on_accept)
			cb->on_accept(c->ctx, c);
		if ((n & TCP_N_CONNECTED) && !c->app_released && c->cb && c->cb->on_connected)
			c->cb->on_connected(c->ctx, c);
		if ((n & TCP_N_READABLE) && !c->app_released && c->cb && c->cb->on_readable)
			c->cb->on_readable(c->ctx, c);
		if ((n & TCP_N_WRITABLE) && !c->app_released && c->cb && c->cb->on_writable)
			c->cb->on_writable(c->ctx, c);
		if ((n & TCP_N_CLOSED) && !c->app_released && c->cb && c->cb->on_closed)
			c->cb->on_closed(c->ctx, c, c->err);
	}
	while (th->reap_head) {
		struct tcp_conn *c = th->reap_head;
		th->reap_head = c->reap_next;
		conn_free(c);
	}
	th->depth--;
}

/* RFC 6528: ISN = M + F(4-tuple, secret), M a clock ticking every 4 µs. */
uint32_t tcp_new_isn(struct tcp_host *th, uint32_t laddr, uint16_t lport,
		     uint32_t raddr, uint16_t rport, tl_usec_t now)
{
	uint8_t in[12], out[8];
	memcpy(in, &laddr, 4);
	memcpy(in + 4, &raddr, 4);
	memcpy(in + 8, &lport, 2);
	memcpy(in + 10, &rport, 2);
	crypto_shorthash_siphash24(out, in, sizeof(in), th->isn_key);
	uint32_t f;
	memcpy(&f, out, 4);
	return f + (uint32_t)(now / 4);
}

uint32_t tcp_ts_offset(const struct tcp_host *th, uint32_t laddr, uint32_t raddr)
{
	if (th->sysctl->tcp_timestamps != 1)
		return 0;
	uint8_t in[9], out[8];
	memcpy(in, &laddr, 4);
	memcpy(in + 4, &raddr, 4);
	in[8] = 't'; /* a different input space from the ISN's */
	crypto_shorthash_siphash24(out, in, sizeof(in), th->isn_key);
	uint32_t off;
	memcpy(&off, out, 4);
	return off;
}

/* Linux picks the smallest shift that lets the window cover tcp_rmem[2]. */
uint8_t tcp_rcv_wscale(const struct tcp_host *th)
{
	if (!th->sysctl->tcp_window_scaling)
		return 0;
	uint64_t space = (uint64_t)TL_MAX(th->sysctl->tcp_rmem[2], 1);
	uint8_t ws = 0;
	while (space > 65535 && ws < 14) {
		space >>= 1;
		ws++;
	}
	return ws;
}

uint16_t tcp_local_mss(const struct tcp_host *th)
{
	return (uint16_t)(th->mtu - IPV4_HLEN - TCP_HDR_MIN);
}

/* Applies the options of the peer's SYN (or SYN-ACK) to c. */
void tcp_init_from_syn_options(struct tcp_conn *c, const struct tcp_opts *o)
{
	const struct tcp_sysctl *s = c->th->sysctl;
	uint16_t mss = o->has_mss ? o->mss : 536;
	mss = (uint16_t)TL_MAX((int)mss, s->tcp_min_snd_mss);
	c->mss = TL_MIN(mss, c->advmss);
	c->ws_ok = o->has_wscale && s->tcp_window_scaling;
	c->snd_wscale = c->ws_ok ? TL_MIN(o->wscale, 14) : 0;
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->sack_ok = o->sack_ok && s->tcp_sack;
	c->ts_ok = o->has_ts && s->tcp_timestamps;
	if (c->ts_ok)
		c->ts_recent = o->ts_val;
}
