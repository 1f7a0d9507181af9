/* libevent wiring of a lab (see loop.h): the frame path of every segment
 * (device ports, impairment pipelines, the switch, stack hosts), timers,
 * signals, the view and the history's counter snapshots. */
#include "loop.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "packet_batch.h"
#include "pktbuf.h"
#include "recorder.h"
#include "report.h"
#include "router.h"
#include "stack.h"
#include "switch.h"
#include "tap_io.h"
#include "vnet.h"

/* Rounds of "pipelines out, stacks out" per wakeup before the loop lets
 * other events in: two stacks on one segment may keep answering each
 * other for a while. */
#define LOOP_ROUNDS 64

/* One stack host: what the loop tracks beside the lab's wire (the view
 * and the history know hosts by this index, the lab's wire index). */
struct loop_wire {
	struct lab_wire *w;
	uint64_t events_lost_seen;
	uint16_t host_id;                 /* the stack host's, for the history */
	struct stack_counters snap;       /* counters at the last snapshot */
	bool snap_valid;
};

struct loop_seg;

/* A device port's read event. */
struct loop_port {
	struct loop_seg *ls;
	unsigned port;
	struct event *rd;
	struct packet_txq *txq; /* a packet port's writes, sent at the end of a drain */
	struct packet_rx_ring *ring; /* a packet port's receive ring (NULL: recvmmsg) */
};

/* One segment's events: a read event per device port and one timer at the
 * earliest of its stacks' timers and its pipelines' departures.
 * Invariants: armed is the deadline the timer is set for (TL_NEVER when
 * it is not pending); busy means frames were left for the next round. */
struct loop_seg {
	struct loop *lp;
	struct lab_segment *seg;
	struct event *timer;
	tl_usec_t armed;
	tl_usec_t now; /* time of the batch being handled */
	bool busy;
	struct loop_port ports[LAB_PORTS_MAX];
};

#define LOOP_SNAPSHOT_SEC 1

struct loop {
	struct event_base *base;
	struct lab *lab;
	struct loop_wire wires[LAB_HOSTS_MAX];
	unsigned n_wires;
	struct loop_seg segs[LAB_LINKS_MAX];
	unsigned n_segs;
	struct event *sigs[4];
	int result;
	struct loop_view view;    /* all NULL: none */
	struct event *view_ev;
	struct recorder *rec;  /* NULL: no history */
	struct event *snapshot; /* periodic counter snapshots for rec */
};

tl_usec_t loop_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tl_usec_t)ts.tv_sec * TL_USEC_PER_SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

static void rearm(struct loop_seg *ls, tl_usec_t now)
{
	/* The earliest of the stacks' timers and the pipelines' departures;
	 * now if a round limit left work behind. */
	struct lab_segment *seg = ls->seg;
	tl_usec_t dl = ls->busy ? now : TL_NEVER;
	for (unsigned i = 0; i < seg->n_ports; i++) {
		struct lab_port *p = &seg->ports[i];
		dl = TL_MIN(dl, link_dir_next_deadline(&p->in));
		if (p->kind == LAB_PORT_STACK)
			dl = TL_MIN(dl, stack_next_deadline(p->wire->st));
		else if (p->kind == LAB_PORT_ROUTER)
			dl = TL_MIN(dl, router_next_deadline(p->router));
	}
	if (dl == ls->armed)
		return;
	ls->armed = dl;
	if (dl == TL_NEVER) {
		evtimer_del(ls->timer);
		return;
	}
	tl_usec_t d = dl > now ? dl - now : 0;
	struct timeval tv = { .tv_sec = (time_t)(d / TL_USEC_PER_SEC),
			      .tv_usec = (suseconds_t)(d % TL_USEC_PER_SEC) };
	evtimer_add(ls->timer, &tv);
}

/* A frame crossing the segment: its bytes and what its virtio_net_hdr says
 * (all zero: a complete wire frame with every checksum filled in). */
struct frame {
	const uint8_t *data;
	size_t len;
	struct vnet_hdr vh;
};

/* Frames the device refused: a full queue drops them, like a busy wire;
 * TCP above will retransmit. */
static void port_refused(struct lab_segment *seg, struct lab_port *p, unsigned n)
{
	if (!n)
		return;
	p->tx_dropped += n;
	seg->tx_dropped += n;
	log_debug("%s: %s refused %u frame%s", p->host->name, p->host->ifname, n, n > 1 ? "s" : "");
}

/* A TAP takes one frame per write(); a packet socket's frames wait for
 * one sendmmsg() at the end of the drain. */
static void port_send(struct loop_seg *ls, unsigned pi, const uint8_t *hdr, size_t hdr_len,
		      const uint8_t *data, size_t len)
{
	struct lab_port *p = &ls->seg->ports[pi];
	struct packet_txq *q = ls->ports[pi].txq;
	port_refused(ls->seg, p,
		     q ? packet_txq_add(q, hdr, hdr_len, data, len)
		       : (unsigned)(tap_write(p->fd, hdr, hdr_len, data, len) < 0));
}

/* Onto a TAP or packet socket: with the virtio_net_hdr when the device
 * takes offloads (the kernel then segments superframes and trusts partial
 * checksums itself), else as complete wire frames, cut in software. */
static void dev_write(struct loop_seg *ls, unsigned pi, const struct frame *f)
{
	struct lab_port *p = &ls->seg->ports[pi];
	if (p->offload) {
		uint8_t hdr[VNET_HDR_LEN];
		struct vnet_hdr vh = f->vh;
		vh.flags &= (uint8_t)~VNET_F_DATA_VALID; /* the receiver checks for itself */
		vnet_hdr_put(hdr, &vh);
		port_send(ls, pi, hdr, sizeof(hdr), f->data, f->len);
		return;
	}
	if (f->vh.gso_type == VNET_GSO_NONE && !(f->vh.flags & VNET_F_NEEDS_CSUM)) {
		port_send(ls, pi, NULL, 0, f->data, f->len);
		return;
	}
	struct pktq q = { 0 };
	if (vnet_tso_segment(f->data, f->len, f->vh.gso_size, &q) < 0) {
		port_refused(ls->seg, p, 1); /* out of buffers (or not TCP): what was made still goes */
	}
	struct pktbuf *pb;
	while ((pb = pktq_pop(&q))) {
		port_send(ls, pi, NULL, 0, pb->data, pb->len);
		pktbuf_free(pb);
	}
}

/* Frames a router made wait in its queues: each segment it is on must
 * drain them (its own does in its current rounds). */
static void kick_router(struct loop *lp, const struct router *r, tl_usec_t now)
{
	for (unsigned si = 0; si < lp->n_segs; si++) {
		struct loop_seg *ls = &lp->segs[si];
		for (unsigned pi = 0; pi < ls->seg->n_ports; pi++) {
			if (ls->seg->ports[pi].router != r || ls->busy)
				continue;
			ls->busy = true;
			rearm(ls, now);
			break;
		}
	}
}

/* Onto a router interface: as a NIC without offloads takes it (wire
 * frames with their checksums filled in). */
static void router_deliver(struct loop_seg *ls, struct lab_port *p, const struct frame *f)
{
	if (f->vh.gso_type == VNET_GSO_NONE && !(f->vh.flags & VNET_F_NEEDS_CSUM)) {
		router_input(p->router, p->ifx, f->data, f->len, ls->now);
	} else {
		struct pktq q = { 0 };
		vnet_tso_segment(f->data, f->len, f->vh.gso_size, &q);
		struct pktbuf *pb;
		while ((pb = pktq_pop(&q))) {
			router_input(p->router, p->ifx, pb->data, pb->len, ls->now);
			pktbuf_free(pb);
		}
	}
	kick_router(ls->lp, p->router, ls->now);
}

static void deliver(struct loop_seg *ls, unsigned pi, const struct frame *f)
{
	struct lab_port *p = &ls->seg->ports[pi];
	if (p->kind == LAB_PORT_ROUTER) {
		router_deliver(ls, p, f);
		return;
	}
	if (p->kind != LAB_PORT_STACK) {
		dev_write(ls, pi, f);
		return;
	}
	struct lab_wire *w = p->wire;
	if (w->cap)
		lab_capture_frame(w, f->data, f->len, ls->now);
	/* A superframe goes in whole: TCP takes segments of any size. */
	stack_input_rx(w->st, f->data, f->len,
		       vnet_csum_trusted(&f->vh) ? STACK_RX_CSUM_OK : 0, ls->now);
}

/* A frame that left port `in`'s pipeline: to the other port of a wire, or
 * where the switch says. */
static void forward(struct loop_seg *ls, unsigned in, const struct frame *f)
{
	struct lab_segment *seg = ls->seg;
	uint32_t out = seg->sw ? sw_input(seg->sw, in, f->data, f->len, ls->now)
			       : 1u << (in ^ 1);
	while (out) {
		unsigned pi = (unsigned)__builtin_ctz(out);
		out &= out - 1;
		deliver(ls, pi, f);
	}
}

/* Hands frames (pktbufs, complete wire frames) to port pi's pipeline. A
 * superframe or a partial checksum is cut and completed first: the
 * impairments act on wire frames, and a corrupted bit must be caught by
 * the receiver's checksum. */
static void pipeline_input(struct loop_seg *ls, struct lab_port *p, struct pktbuf *pb)
{
	if (!pb->gso_size && !pb->csum_partial) {
		link_dir_input(&p->in, pb, ls->now);
		return;
	}
	struct pktq q = { 0 };
	if (vnet_tso_segment(pb->data, pb->len, pb->gso_size, &q) < 0)
		p->rx_nobuf++;
	pktbuf_free(pb);
	while ((pb = pktq_pop(&q)))
		link_dir_input(&p->in, pb, ls->now);
}

/* Everything a stack host queued: onto the segment through its port. */
static bool stack_out(struct loop_seg *ls, unsigned pi)
{
	struct lab_port *p = &ls->seg->ports[pi];
	struct lab_wire *w = p->wire;
	struct pktbuf *pb;
	bool moved = false;
	while ((pb = stack_pop_output(w->st))) {
		moved = true;
		if (w->cap)
			lab_capture_frame(w, pb->data, pb->len, ls->now);
		if (!link_dir_bypass(&p->in, pb->len)) {
			pipeline_input(ls, p, pb);
			continue;
		}
		struct frame f = { pb->data, pb->len, { 0 } };
		if (vnet_hdr_for(pb, &f.vh) < 0) { /* offloads on a non-TCP frame: a bug */
			pktbuf_free(pb);
			continue;
		}
		forward(ls, pi, &f);
		pktbuf_free(pb);
	}
	return moved;
}

/* What the router queued on this port's interface: onto the segment. */
static bool router_out(struct loop_seg *ls, unsigned pi)
{
	struct lab_port *p = &ls->seg->ports[pi];
	struct pktbuf *pb;
	bool moved = false;
	while ((pb = router_pop_output(p->router, p->ifx))) {
		moved = true;
		if (!link_dir_bypass(&p->in, pb->len)) {
			pipeline_input(ls, p, pb);
			continue;
		}
		struct frame f = { pb->data, pb->len, { 0 } };
		forward(ls, pi, &f);
		pktbuf_free(pb);
	}
	return moved;
}

static void stack_events(struct loop *lp, struct lab_wire *w)
{
	struct loop_wire *lw = &lp->wires[w - lp->lab->wires];
	struct tl_event ev;
	while (stack_pop_event(w->st, &ev)) {
		report_event(w->host->name, &ev);
		if (lp->view.on_event)
			lp->view.on_event(lp->view.ctx, (unsigned)(lw - lp->wires), &ev);
		if (lp->rec)
			rec_event(lp->rec, lw->host_id, &ev); /* a full queue counts */
	}
	uint64_t lost = stack_events_lost(w->st);
	if (lost != lw->events_lost_seen) {
		log_debug("%s: %" PRIu64 " events lost (queue full)", w->host->name,
			  lost - lw->events_lost_seen);
		lw->events_lost_seen = lost;
	}
}

/* Moves every frame whose time has come: out of the pipelines onto the
 * segment, out of the stacks into their pipelines, until nothing moves
 * (or LOOP_ROUNDS); then events to the log, view and history, captures
 * flushed, and the timer re-armed. */
static void drain(struct loop_seg *ls, tl_usec_t now)
{
	struct lab_segment *seg = ls->seg;
	ls->now = now;
	bool moved = true;
	for (unsigned round = 0; moved && round < LOOP_ROUNDS; round++) {
		moved = false;
		for (unsigned pi = 0; pi < seg->n_ports; pi++) {
			struct lab_port *p = &seg->ports[pi];
			struct pktbuf *pb;
			while ((pb = link_dir_pop_ready(&p->in, now))) {
				struct frame f = { pb->data, pb->len, { 0 } };
				forward(ls, pi, &f);
				pktbuf_free(pb);
				moved = true;
			}
			if (p->kind == LAB_PORT_STACK && stack_out(ls, pi))
				moved = true;
			if (p->kind == LAB_PORT_ROUTER && router_out(ls, pi))
				moved = true;
		}
	}
	ls->busy = moved;
	seg->rx_nobuf = seg->rx_bad_vnet = 0;
	for (unsigned pi = 0; pi < seg->n_ports; pi++) {
		struct lab_port *p = &seg->ports[pi];
		if (ls->ports[pi].txq)
			port_refused(seg, p, packet_txq_flush(ls->ports[pi].txq));
		seg->rx_nobuf += p->rx_nobuf;
		seg->rx_bad_vnet += p->rx_bad_vnet;
	}
	for (unsigned pi = 0; pi < seg->n_ports; pi++) {
		struct lab_port *p = &seg->ports[pi];
		if (p->kind != LAB_PORT_STACK)
			continue;
		stack_events(ls->lp, p->wire);
		if (p->wire->cap)
			lab_capture_flush(p->wire);
		p->wire->tx_dropped = seg->tx_dropped;
		p->wire->rx_errors = seg->rx_errors;
	}
	rearm(ls, now);
}

/* One frame read from a device port. */
static void on_frame(void *ctx, const uint8_t *buf, size_t len)
{
	struct loop_port *lport = ctx;
	struct loop_seg *ls = lport->ls;
	struct lab_port *p = &ls->seg->ports[lport->port];
	struct frame f = { buf, len, { 0 } };
	if (p->offload && vnet_parse(buf, len, &f.vh, &f.data, &f.len) != VNET_OK) {
		p->rx_bad_vnet++;
		return;
	}
	if (link_dir_bypass(&p->in, f.len)) {
		forward(ls, lport->port, &f);
		return;
	}
	/* The pipeline keeps frames for a while: copy them out of the read
	 * buffer (pool buffers, so no allocation once warm), one per wire
	 * frame with every checksum filled in. */
	if (f.vh.gso_type != VNET_GSO_NONE) {
		struct pktq q = { 0 };
		if (vnet_tso_segment(f.data, f.len, f.vh.gso_size, &q) < 0)
			p->rx_nobuf++;
		struct pktbuf *pb;
		while ((pb = pktq_pop(&q)))
			link_dir_input(&p->in, pb, ls->now);
		return;
	}
	struct pktbuf *pb = pktbuf_from(f.data, f.len);
	if (!pb) {
		p->rx_nobuf++;
		return;
	}
	vnet_csum_complete(pb->data, pb->len, &f.vh);
	link_dir_input(&p->in, pb, ls->now);
}

static void on_port(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct loop_port *lport = arg;
	struct loop_seg *ls = lport->ls;
	ls->now = loop_now();
	/* At most TAP_BATCH frames, then back to the loop: libevent is level
	 * triggered, so a still-readable device is served again after the
	 * other ready events. */
	bool packet = ls->seg->ports[lport->port].kind == LAB_PORT_PACKET;
	int n = lport->ring ? packet_rx_ring_read(lport->ring, TAP_BATCH, on_frame, lport,
						  &ls->seg->ports[lport->port].rx_nobuf)
		: packet    ? packet_read_batch(fd, TAP_BATCH, on_frame, lport)
			    : tap_read_batch(fd, TAP_BATCH, on_frame, lport);
	drain(ls, ls->now);
	if (n < 0) {
		struct lab_port *p = &ls->seg->ports[lport->port];
		p->rx_errors++;
		ls->seg->rx_errors++;
		if (p->kind == LAB_PORT_PACKET && n == -ENETDOWN) {
			/* Someone else's interface went down (the read consumed
			 * the error): frames resume when it is up again. */
			log_warn("%s: interface %s went down", p->host->name, p->host->ifname);
			return;
		}
		log_err("%s: reading %s %s in namespace %s failed: %s (was the namespace or the interface deleted?); stopping",
			p->host->name, p->kind == LAB_PORT_TAP ? "TAP" : "interface", p->host->ifname,
			p->host->netns[0] ? p->host->netns : "(the daemon's)", strerror(-n));
		ls->lp->result = -1;
		event_base_loopbreak(ls->lp->base);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct loop_seg *ls = arg;
	ls->armed = TL_NEVER; /* it fired: no longer pending */
	tl_usec_t now = loop_now();
	for (unsigned pi = 0; pi < ls->seg->n_ports; pi++) {
		struct lab_port *p = &ls->seg->ports[pi];
		if (p->kind == LAB_PORT_STACK)
			stack_poll(p->wire->st, now);
		else if (p->kind == LAB_PORT_ROUTER)
			router_poll(p->router, now);
	}
	drain(ls, now);
}

static void snapshot_counters(struct loop *lp, tl_usec_t now)
{
	for (unsigned i = 0; i < lp->n_wires; i++) {
		struct loop_wire *lw = &lp->wires[i];
		rec_counters_changed(lp->rec, lw->host_id, stack_counters(lw->w->st), &lw->snap,
				     lw->snap_valid, now);
		lw->snap_valid = true;
	}
}

static void on_snapshot(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	snapshot_counters(arg, loop_now());
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct loop *lp = arg;
	switch (sig) {
	case SIGINT:
	case SIGTERM:
		log_info("%s: shutting down", strsignal((int)sig));
		lp->result = (int)sig;
		event_base_loopbreak(lp->base);
		return;
	case SIGUSR1:
		for (unsigned i = 0; i < lp->n_wires; i++)
			report_counters(lp->wires[i].w->host->name,
					stack_counters(lp->wires[i].w->st));
		lab_log_links(lp->lab);
		return;
	case SIGHUP:
		log_info("SIGHUP: nothing to reload (the lab is fixed at start-up)");
		return;
	}
}

struct loop *loop_new(struct lab *lab, struct recorder *rec, char *err, size_t errlen)
{
	struct loop *lp = calloc(1, sizeof(*lp));
	if (!lp) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	lp->lab = lab;
	lp->rec = rec;
	/* Precise timers (timerfd): link delays and rates are in us, and
	 * epoll's millisecond timeouts would blur them. */
	struct event_config *cfg = event_config_new();
	if (cfg) {
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		lp->base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (!lp->base) {
		snprintf(err, errlen, "cannot create the libevent loop");
		goto fail;
	}
	static const int sigs[] = { SIGINT, SIGTERM, SIGUSR1, SIGHUP };
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		lp->sigs[i] = evsignal_new(lp->base, sigs[i], on_signal, lp);
		if (!lp->sigs[i] || evsignal_add(lp->sigs[i], NULL) < 0) {
			snprintf(err, errlen, "cannot handle signal %d", sigs[i]);
			goto fail;
		}
	}
	if (rec) {
		/* Host ids: the lab's host index + 1, as lab_up gives the stacks. */
		for (unsigned i = 0; i < lab->cfg.n_hosts; i++) {
			const struct lab_host *h = &lab->cfg.hosts[i];
			rec_add_host(rec, (uint16_t)(i + 1), h->name,
				     h->kind == LAB_HOST_STACK    ? "stack"
				     : h->kind == LAB_HOST_ROUTER ? "router"
								  : "kernel",
				     h->addr);
		}
		struct timeval period = { .tv_sec = LOOP_SNAPSHOT_SEC };
		lp->snapshot = event_new(lp->base, -1, EV_PERSIST, on_snapshot, lp);
		if (!lp->snapshot || event_add(lp->snapshot, &period) < 0) {
			snprintf(err, errlen, "cannot start the counter snapshot timer");
			goto fail;
		}
	}
	for (unsigned i = 0; i < lab->n_wires; i++) {
		struct loop_wire *lw = &lp->wires[lp->n_wires++];
		lw->w = &lab->wires[i];
		lw->host_id = stack_config(lw->w->st)->host_id;
	}
	tl_usec_t now = loop_now();
	for (unsigned si = 0; si < lab->n_segs; si++) {
		struct loop_seg *ls = &lp->segs[lp->n_segs++];
		ls->lp = lp;
		ls->seg = &lab->segs[si];
		ls->armed = TL_NEVER;
		ls->timer = evtimer_new(lp->base, on_timer, ls);
		if (!ls->timer) {
			snprintf(err, errlen, "cannot create the timer of link %s", ls->seg->link->name);
			goto fail;
		}
		for (unsigned pi = 0; pi < ls->seg->n_ports; pi++) {
			struct lab_port *p = &ls->seg->ports[pi];
			struct loop_port *lport = &ls->ports[pi];
			lport->ls = ls;
			lport->port = pi;
			if (p->kind == LAB_PORT_STACK)
				continue;
			if (p->kind == LAB_PORT_PACKET) {
				lport->txq = packet_txq_new(p->fd);
				if (!lport->txq) {
					snprintf(err, errlen, "out of memory for the send queue of %s",
						 p->host->name);
					goto fail;
				}
				char why[160];
				lport->ring = packet_rx_ring_new(p->fd, p->offload, why, sizeof(why));
				if (!lport->ring) /* it still works, a batch per system call */
					log_warn("%s: %s", p->host->name, why);
			}
			lport->rd = event_new(lp->base, p->fd, EV_READ | EV_PERSIST, on_port, lport);
			if (!lport->rd || event_add(lport->rd, NULL) < 0) {
				snprintf(err, errlen, "cannot watch the interface of %s", p->host->name);
				goto fail;
			}
		}
		drain(ls, now); /* anything the stacks queued while starting */
	}
	return lp;
fail:
	loop_free(lp);
	return NULL;
}

static void on_view(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct loop *lp = arg;
	lp->view.serve(lp->view.ctx, loop_now());
}

int loop_attach_view(struct loop *lp, const struct loop_view *v)
{
	if (lp->view_ev || lp->view.on_event)
		return -EBUSY;
	if (v->fd >= 0 && v->serve) {
		lp->view_ev = event_new(lp->base, v->fd, EV_READ | EV_PERSIST, on_view, lp);
		if (!lp->view_ev || event_add(lp->view_ev, NULL) < 0) {
			if (lp->view_ev)
				event_free(lp->view_ev);
			lp->view_ev = NULL;
			return -ENOMEM;
		}
	}
	lp->view = *v;
	return 0;
}

int loop_run(struct loop *lp)
{
	lp->result = 0;
	if (lp->rec)
		snapshot_counters(lp, loop_now()); /* every counter once, at start */
	if (event_base_dispatch(lp->base) < 0) {
		log_err("libevent loop failed");
		return -1;
	}
	if (lp->rec)
		snapshot_counters(lp, loop_now()); /* the last values */
	return lp->result;
}

struct event_base *loop_base(struct loop *lp)
{
	return lp->base;
}

void loop_flush(struct loop *lp)
{
	tl_usec_t now = loop_now();
	for (unsigned i = 0; i < lp->n_segs; i++)
		drain(&lp->segs[i], now);
}

void loop_free(struct loop *lp)
{
	if (!lp)
		return;
	for (unsigned i = 0; i < lp->n_segs; i++) {
		struct loop_seg *ls = &lp->segs[i];
		for (unsigned pi = 0; pi < LAB_PORTS_MAX; pi++)
			if (ls->ports[pi].rd)
				event_free(ls->ports[pi].rd);
		for (unsigned pi = 0; pi < LAB_PORTS_MAX; pi++) {
			packet_txq_free(ls->ports[pi].txq);
			packet_rx_ring_free(ls->ports[pi].ring);
		}
		if (ls->timer)
			event_free(ls->timer);
	}
	for (size_t i = 0; i < sizeof(lp->sigs) / sizeof(lp->sigs[0]); i++)
		if (lp->sigs[i])
			event_free(lp->sigs[i]);
	if (lp->snapshot)
		event_free(lp->snapshot);
	if (lp->view_ev)
		event_free(lp->view_ev);
	if (lp->base)
		event_base_free(lp->base);
	free(lp);
}
