/* libevent wiring of a lab (see loop.h). */
#include "loop.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "pktbuf.h"
#include "recorder.h"
#include "report.h"
#include "stack.h"
#include "tap_io.h"
#include "vnet.h"

/* One wire's events. Invariant: armed is the deadline the timer is set for
 * (TL_NEVER when it is not pending). */
struct loop_wire {
	struct loop *lp;
	struct lab_wire *w;
	struct event *rd;
	struct event *timer;
	tl_usec_t armed;
	tl_usec_t now; /* time of the batch being read, for on_frame */
	uint64_t events_lost_seen;
	uint16_t host_id;                 /* the stack host's, for the history */
	struct stack_counters snap;       /* counters at the last snapshot */
	bool snap_valid;
};

#define LOOP_SNAPSHOT_SEC 1

struct loop {
	struct event_base *base;
	struct lab *lab;
	struct loop_wire wires[LAB_LINKS_MAX];
	unsigned n_wires;
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

static void rearm(struct loop_wire *lw, tl_usec_t now)
{
	/* The earliest of the stack's timers and the links' departures. */
	tl_usec_t dl = stack_next_deadline(lw->w->st);
	for (unsigned d = 0; d < LAB_DIRS; d++)
		dl = TL_MIN(dl, link_dir_next_deadline(&lw->w->dir[d]));
	if (dl == lw->armed)
		return;
	lw->armed = dl;
	if (dl == TL_NEVER) {
		evtimer_del(lw->timer);
		return;
	}
	tl_usec_t d = dl > now ? dl - now : 0;
	struct timeval tv = { .tv_sec = (time_t)(d / TL_USEC_PER_SEC),
			      .tv_usec = (suseconds_t)(d % TL_USEC_PER_SEC) };
	evtimer_add(lw->timer, &tv);
}

static void tap_send(struct lab_wire *w, const uint8_t *hdr, size_t hdr_len,
		     const struct pktbuf *pb)
{
	int rc = tap_write(w->tap_fd, hdr, hdr_len, pb->data, pb->len);
	if (rc < 0) {
		/* A full TAP queue drops the frame, like a busy wire;
		 * TCP above will retransmit. */
		w->tx_dropped++;
		log_debug("%s: TAP write failed: %s", w->host->name, strerror(-rc));
	}
}

/* Cuts a TSO superframe (or completes a partial checksum) in software,
 * as a NIC without offloads needs it: the frames go to q. The original
 * is freed. */
static void segment(struct lab_wire *w, struct pktbuf *pb, struct pktq *q)
{
	if (vnet_tso_segment(pb->data, pb->len, pb->gso_size, q) < 0)
		w->tx_dropped++; /* out of buffers: what was made still goes */
	pktbuf_free(pb);
}

/* One frame to the TAP, with its virtio_net_hdr on an offload TAP (the
 * kernel then segments superframes itself); takes ownership of pb. */
static void wire_write(struct lab_wire *w, struct pktbuf *pb)
{
	if (w->offload) {
		struct vnet_hdr vh;
		uint8_t hdr[VNET_HDR_LEN];
		if (vnet_hdr_for(pb, &vh) < 0) {
			w->tx_dropped++; /* offloads claimed on a non-TCP frame: a bug */
			pktbuf_free(pb);
			return;
		}
		vnet_hdr_put(hdr, &vh);
		tap_send(w, hdr, sizeof(hdr), pb);
		pktbuf_free(pb);
		return;
	}
	if (pb->gso_size || pb->csum_partial) {
		struct pktq q = { 0 };
		segment(w, pb, &q);
		while ((pb = pktq_pop(&q))) {
			tap_send(w, NULL, 0, pb);
			pktbuf_free(pb);
		}
		return;
	}
	tap_send(w, NULL, 0, pb);
	pktbuf_free(pb);
}

/* Moves frames whose link time is over into the stack, everything the
 * stack queued out of it (frames through the to_kernel link to the wire,
 * events to the log); then re-arms the timer. An unimpaired link passes
 * frames straight on (link_dir_bypass). */
static void drain(struct loop_wire *lw, tl_usec_t now)
{
	struct lab_wire *w = lw->w;
	struct link_dir *in = &w->dir[LAB_TO_STACK], *out = &w->dir[LAB_TO_KERNEL];
	struct pktbuf *pb;
	while ((pb = link_dir_pop_ready(in, now))) {
		if (w->cap)
			lab_capture_frame(w, pb->data, pb->len, now);
		stack_input(w->st, pb->data, pb->len, now);
		pktbuf_free(pb);
	}
	while ((pb = stack_pop_output(w->st))) {
		if (w->cap)
			lab_capture_frame(w, pb->data, pb->len, now);
		if (link_dir_bypass(out, pb->len)) {
			wire_write(w, pb);
		} else if (pb->gso_size || pb->csum_partial) {
			/* Impairments act on wire frames, each with a real
			 * checksum (so corruption is caught): cut it first. */
			struct pktq q = { 0 };
			segment(w, pb, &q);
			while ((pb = pktq_pop(&q)))
				link_dir_input(out, pb, now);
		} else {
			link_dir_input(out, pb, now);
		}
	}
	while ((pb = link_dir_pop_ready(out, now)))
		wire_write(w, pb);
	if (w->cap)
		lab_capture_flush(w);
	struct tl_event ev;
	while (stack_pop_event(w->st, &ev)) {
		report_event(w->host->name, &ev);
		if (lw->lp->view.on_event)
			lw->lp->view.on_event(lw->lp->view.ctx, (unsigned)(lw - lw->lp->wires), &ev);
		if (lw->lp->rec)
			rec_event(lw->lp->rec, lw->host_id, &ev); /* a full queue counts */
	}
	uint64_t lost = stack_events_lost(w->st);
	if (lost != lw->events_lost_seen) {
		log_debug("%s: %" PRIu64 " events lost (queue full)", w->host->name,
			  lost - lw->events_lost_seen);
		lw->events_lost_seen = lost;
	}
	rearm(lw, now);
}

static void on_frame(void *ctx, const uint8_t *buf, size_t len)
{
	struct loop_wire *lw = ctx;
	struct lab_wire *w = lw->w;
	struct link_dir *in = &w->dir[LAB_TO_STACK];
	struct vnet_hdr vh = { 0 };
	const uint8_t *frame = buf;
	if (w->offload && vnet_parse(buf, len, &vh, &frame, &len) != VNET_OK) {
		w->rx_bad_vnet++;
		return;
	}
	if (link_dir_bypass(in, len)) {
		if (w->cap)
			lab_capture_frame(w, frame, len, lw->now);
		/* A superframe goes in whole: TCP takes segments of any size. */
		stack_input_rx(w->st, frame, len, vnet_csum_trusted(&vh) ? STACK_RX_CSUM_OK : 0,
			       lw->now);
		return;
	}
	/* The link keeps frames for a while: copy them out of the read buffer
	 * (pool buffers, so no allocation once warm), one per wire frame with
	 * every checksum filled in, so that impairments act per frame and
	 * the stack sees a corrupted bit. */
	if (vh.gso_type != VNET_GSO_NONE) {
		struct pktq q = { 0 };
		if (vnet_tso_segment(frame, len, vh.gso_size, &q) < 0)
			w->rx_nobuf++;
		struct pktbuf *pb;
		while ((pb = pktq_pop(&q)))
			link_dir_input(in, pb, lw->now);
		return;
	}
	struct pktbuf *pb = pktbuf_from(frame, len);
	if (!pb) {
		w->rx_nobuf++;
		return;
	}
	vnet_csum_complete(pb->data, pb->len, &vh);
	link_dir_input(in, pb, lw->now);
}

static void on_tap(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct loop_wire *lw = arg;
	lw->now = loop_now();
	/* At most TAP_BATCH frames, then back to the loop: libevent is level
	 * triggered, so a still-readable TAP is served again after the other
	 * ready events. */
	int n = tap_read_batch(fd, TAP_BATCH, on_frame, lw);
	drain(lw, lw->now);
	if (n < 0) {
		lw->w->rx_errors++;
		log_err("%s: reading TAP %s in namespace %s failed: %s (was the namespace deleted?); stopping",
			lw->w->host->name, lw->w->peer->ifname, lw->w->peer->netns,
			strerror(-n));
		lw->lp->result = -1;
		event_base_loopbreak(lw->lp->base);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct loop_wire *lw = arg;
	lw->armed = TL_NEVER; /* it fired: no longer pending */
	tl_usec_t now = loop_now();
	stack_poll(lw->w->st, now);
	drain(lw, now);
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
				     h->kind == LAB_HOST_STACK ? "stack" : "kernel", h->addr);
		}
		struct timeval period = { .tv_sec = LOOP_SNAPSHOT_SEC };
		lp->snapshot = event_new(lp->base, -1, EV_PERSIST, on_snapshot, lp);
		if (!lp->snapshot || event_add(lp->snapshot, &period) < 0) {
			snprintf(err, errlen, "cannot start the counter snapshot timer");
			goto fail;
		}
	}
	tl_usec_t now = loop_now();
	for (unsigned i = 0; i < lab->n_wires; i++) {
		struct loop_wire *lw = &lp->wires[lp->n_wires++];
		lw->lp = lp;
		lw->w = &lab->wires[i];
		lw->host_id = stack_config(lw->w->st)->host_id;
		lw->armed = TL_NEVER;
		lw->rd = event_new(lp->base, lw->w->tap_fd, EV_READ | EV_PERSIST, on_tap, lw);
		lw->timer = evtimer_new(lp->base, on_timer, lw);
		if (!lw->rd || !lw->timer || event_add(lw->rd, NULL) < 0) {
			snprintf(err, errlen, "cannot watch the TAP of %s", lw->w->host->name);
			goto fail;
		}
		drain(lw, now); /* anything the stack queued while starting */
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
	for (unsigned i = 0; i < lp->n_wires; i++)
		drain(&lp->wires[i], now);
}

void loop_free(struct loop *lp)
{
	if (!lp)
		return;
	for (unsigned i = 0; i < lp->n_wires; i++) {
		if (lp->wires[i].rd)
			event_free(lp->wires[i].rd);
		if (lp->wires[i].timer)
			event_free(lp->wires[i].timer);
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
