/* Emulated links: one direction of a wire carries frames through an
 * impairment pipeline with what Linux netem offers (this machine's kernel
 * has no sch_netem, so tcplab does it itself):
 *
 *   input ─► duplicate? ─► loss (random+correlation | Gilbert-Elliott)
 *         ─► corrupt (one bit) ─► queue limit (tail drop)
 *         ─► reorder (sent at once) | delay+jitter (distribution) + rate
 *         ─► queue ordered by departure time ─► pop when due
 *
 * The order and the semantics follow netem's enqueue step by step, so a
 * lab written with `tc qdisc ... netem` in mind behaves the same. Pure: the
 * caller supplies `now` and the seed; randomness comes from a splitmix64
 * stream per direction, so a seed reproduces a run frame for frame.
 *
 * Knobs are set and read as text through one table (link_knob_set/get),
 * shared by the lab file and the FUSE view, with netem-like syntax
 * ("50ms", "10%", "10mbit", "1500").
 *
 * Loop thread only (like every netemu/ object). */
#ifndef TL_NETEMU_LINK_H
#define TL_NETEMU_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuf.h"
#include "prng.h"
#include "tl_types.h"

/* Probabilities and correlations are fixed point: millionths of a percent,
 * so "0.000001%" .. "100%" are exact and print back as written. */
#define LINK_PCT_ONE 100000000u /* 100% */
#define LINK_PCT(x) ((uint32_t)((x) * 1000000u)) /* whole percent */

#define LINK_DELAY_MAX (60 * TL_USEC_PER_SEC) /* delay and jitter bound */
#define LINK_LIMIT_DEFAULT 1000u                /* netem's default limit */
#define LINK_LIMIT_MAX 1000000u
#define LINK_OVERHEAD_MIN (-128)
#define LINK_OVERHEAD_MAX 4096
#define LINK_RATE_MAX 1000000000000ull /* 1 Tbit/s */

/* Delay distributions around `delay` with spread `jitter`:
 * uniform in [delay - jitter, delay + jitter) (netem without a table);
 * the others have mean `delay` and standard deviation `jitter`, clipped
 * at 4 jitters either side as tc's tables are. */
enum link_dist {
	LINK_DIST_UNIFORM = 0,
	LINK_DIST_NORMAL,
	LINK_DIST_PARETO,       /* Pareto, alpha 3: a long tail of late frames */
	LINK_DIST_PARETONORMAL, /* (normal + 3 pareto) / sqrt(10) */
};

/* The knobs of one direction. All zero (except limit) means unimpaired.
 * Invariants (kept by link_knob_set): probabilities <= LINK_PCT_ONE;
 * delay_us, jitter_us <= LINK_DELAY_MAX; 1 <= limit <= LINK_LIMIT_MAX;
 * rate_bps <= LINK_RATE_MAX; overhead within LINK_OVERHEAD_MIN..MAX. */
struct link_knobs {
	tl_usec_t delay_us;   /* base one-way delay */
	tl_usec_t jitter_us;  /* spread of the delay (see enum link_dist) */
	uint32_t delay_corr;  /* correlation of successive delays */
	enum link_dist dist;
	uint32_t loss;        /* random loss probability (Bernoulli) */
	uint32_t loss_corr;   /* correlation of successive loss draws */
	/* Gilbert-Elliott: active when ge_p > 0 (then `loss` must be 0). */
	uint32_t ge_p;         /* good -> bad transition probability */
	uint32_t ge_r;         /* bad -> good; 0 = use 100% - p, as tc does */
	uint32_t ge_bad_loss;  /* loss probability in the bad state (tc: 1-h) */
	uint32_t ge_good_loss; /* loss probability in the good state (tc: 1-k) */
	uint32_t duplicate, duplicate_corr;
	uint32_t corrupt, corrupt_corr; /* flips one random bit of the frame */
	uint32_t reorder, reorder_corr; /* sent at once instead of delayed */
	uint32_t reorder_gap; /* every Nth delayed frame is a candidate; 0 = 1 */
	uint64_t rate_bps;    /* bits per second; 0 = unlimited */
	int32_t overhead;     /* bytes added to each frame for the rate */
	uint32_t limit;       /* frames in the queue before tail drop */
	uint32_t ecn;         /* 1: a lost ECN-capable frame is marked CE instead */
};

/* Per-direction counters. queued_* are gauges; the rest only grow.
 * input + duplicated = sent + dropped_loss + dropped_queue + queued_frames
 * (a duplicate that finds no buffer is simply not made). */
struct link_counters {
	uint64_t input;         /* frames offered by the caller */
	uint64_t sent;          /* frames handed out (pop or bypass) */
	uint64_t sent_bytes;
	uint64_t dropped_loss;  /* lost by the loss model */
	uint64_t dropped_queue; /* tail drop: queue at `limit` (or no memory) */
	uint64_t duplicated;    /* extra copies made */
	uint64_t corrupted;     /* frames with one bit flipped */
	uint64_t marked_ce;     /* lost ECN-capable frames marked CE instead (ecn) */
	uint64_t reordered;     /* frames sent ahead of the delayed ones */
	uint64_t queued_frames; /* in flight now */
	uint64_t queued_bytes;
};

/* A frame in flight: departure time, then arrival order for ties. */
struct link_slot {
	tl_usec_t t;
	uint64_t seq;
	struct pktbuf *pb;
};

/* One direction's pipeline.
 * Invariants: heap[0..heap_len) is a min-heap on (t, seq) holding every
 * frame in flight, heap_len <= heap_cap; `ready` holds unimpaired frames
 * not yet popped; c.queued_frames = heap_len + ready.count and
 * c.queued_bytes is the sum of their lengths; impaired caches
 * link_knobs_impaired(&k). */
struct link_dir {
	struct link_knobs k;
	bool impaired;
	uint64_t seed; /* as set: shown so a run can be repeated */
	struct prng rng;
	/* netem's correlation state: the previous draw of each knob. */
	uint32_t last_delay, last_loss, last_dup, last_corrupt, last_reorder;
	bool ge_bad;        /* Gilbert-Elliott: in the bad state */
	uint32_t reorder_count; /* delayed frames since the last reordered one */
	uint64_t rate_last_ns;  /* when the last rate-limited frame is sent */
	struct pktq ready;
	struct link_slot *heap;
	uint32_t heap_len, heap_cap;
	/* Tie-breakers: delayed frames count up from 2^63 (FIFO among equal
	 * times); reordered frames count down below it, so the latest one goes
	 * first, as netem's enqueue at the head does. */
	uint64_t seq_back, seq_front;
	struct link_counters c;
};

/* Initialises an unimpaired direction seeded with `seed`. Allocates
 * nothing: the queue grows on demand up to `limit` slots and then stays. */
void link_dir_init(struct link_dir *d, uint64_t seed);
/* Frees every frame in flight and the queue. */
void link_dir_fini(struct link_dir *d);

/* Restarts the random stream (and the correlation and Gilbert-Elliott
 * state) from `seed`: the same seed and input give the same output. */
void link_dir_seed(struct link_dir *d, uint64_t seed);

/* True when the frame may skip the pipeline (no knob set and nothing in
 * flight, so order is kept); counts it as input and sent. The caller then
 * hands its own buffer on without copying. */
static inline bool link_dir_bypass(struct link_dir *d, size_t len)
{
	if (d->impaired || d->c.queued_frames)
		return false;
	d->c.input++;
	d->c.sent++;
	d->c.sent_bytes += len;
	return true;
}

/* Takes ownership of `frame` (may drop, corrupt, duplicate or delay it). */
void link_dir_input(struct link_dir *d, struct pktbuf *frame, tl_usec_t now);

/* The next frame whose departure time has come (caller owns it), or NULL. */
struct pktbuf *link_dir_pop_ready(struct link_dir *d, tl_usec_t now);

/* When the next frame departs: TL_NEVER if none is in flight, 0 if one is
 * due already. */
tl_usec_t link_dir_next_deadline(const struct link_dir *d);

/* The defaults: unimpaired, limit 1000, ge_bad_loss 100% (tc's). */
void link_knobs_default(struct link_knobs *k);
/* Replaces all knobs at once (e.g. from a lab file); frames in flight keep
 * their departure times. */
void link_dir_set_knobs(struct link_dir *d, const struct link_knobs *k);

/* True if any knob other than limit is set. */
bool link_knobs_impaired(const struct link_knobs *k);

/* Cross-knob rules (netem's and tc's): reorder needs a delay; random loss
 * and Gilbert-Elliott exclude each other. Returns NULL if fine, else a
 * one-line reason. */
const char *link_knobs_check(const struct link_knobs *k);

/* Knobs by name (the table: delay jitter delay_corr distribution loss
 * loss_corr ge_p ge_r ge_bad_loss ge_good_loss duplicate duplicate_corr
 * corrupt corrupt_corr reorder reorder_corr reorder_gap rate overhead
 * limit seed). Setting `seed` reseeds (link_dir_seed).
 * link_knob_set returns 0, -ENOENT (no such knob) or -EINVAL (bad value;
 * the knob is unchanged). Surrounding blanks and one trailing newline in
 * value are accepted, as an `echo 10% > loss` writes them. */
int link_knob_set(struct link_dir *d, const char *name, const char *value);
/* Writes the knob's value as text ("50ms", "10%", "10mbit") into buf.
 * Returns its length, -ENOENT, or -ENOSPC if buf is too small. */
int link_knob_get(const struct link_dir *d, const char *name, char *buf,
		  size_t len);
/* The knob names in table order: i < link_knob_count(). */
size_t link_knob_count(void);
const char *link_knob_name(size_t i);
/* The knobs that differ from the defaults, as "delay=50ms loss=10%"
 * ("none" if unimpaired); never the seed. Returns the length (truncated
 * output, NUL-terminated, if buf is short). */
int link_dir_describe(const struct link_dir *d, char *buf, size_t len);
struct strbuf;
/* For the FUSE view (links/<link>/<dir>/): the counters as "name value"
 * lines (sent, dropped_loss, ...), and every knob as "name value" lines
 * in table order, values as link_knob_get writes them. */
void link_dir_render_counters(const struct link_dir *d, struct strbuf *sb);
void link_dir_render_knobs(const struct link_dir *d, struct strbuf *sb);
/* One line of help for a knob (value syntax and meaning), or NULL. */
const char *link_knob_help(const char *name);

#endif
