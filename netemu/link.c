/* Emulated link, one direction (see link.h): netem's enqueue steps in
 * netem's order, a min-heap of frames in flight keyed by departure time,
 * and the text knob table shared by the lab file and the FUSE view. */
#include "link.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "checksum.h"
#include "strbuf.h"

/* ---- small math (netemu/ links no libm) -------------------------------- */

/* Natural log for x > 0: split off the binary exponent, then the atanh
 * series on a mantissa near 1, where it converges within 15 terms. */
static double f_ln(double x)
{
	uint64_t b;
	memcpy(&b, &x, sizeof(b));
	int e = (int)((b >> 52) & 0x7ff) - 1023;
	b = (b & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
	double m;
	memcpy(&m, &b, sizeof(m));
	if (m > 1.4142135623730951) {
		m /= 2;
		e++;
	}
	double z = (m - 1) / (m + 1), z2 = z * z, t = z, s = 0;
	for (int k = 1; k < 40; k += 2) {
		s += t / k;
		t *= z2;
	}
	return 2 * s + e * 0.6931471805599453;
}

/* e^x: reduce by multiples of ln 2, Taylor on the rest (|r| < 0.35). */
static double f_exp(double x)
{
	if (x < -700)
		return 0;
	int k = (int)(x / 0.6931471805599453 + (x < 0 ? -0.5 : 0.5));
	double r = x - k * 0.6931471805599453, term = 1, s = 1;
	for (int i = 1; i < 20; i++) {
		term *= r / i;
		s += term;
	}
	uint64_t b = (uint64_t)(k + 1023) << 52;
	double p;
	memcpy(&p, &b, sizeof(p));
	return s * p;
}

static double f_sqrt(double x)
{
	if (x <= 0)
		return 0;
	return f_exp(f_ln(x) / 2);
}

/* Standard normal quantile (Abramowitz & Stegun 26.2.23, |error| < 4.5e-4
 * of a standard deviation: far below a microsecond for any sane jitter). */
static double normal_quantile(double u)
{
	double p = u < 0.5 ? u : 1 - u;
	double t = f_sqrt(-2 * f_ln(p));
	double x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
			       (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
	return u < 0.5 ? -x : x;
}

/* Pareto (alpha 3, scale 1) quantile, shifted and scaled to mean 0 and
 * standard deviation 1: a long tail to the right (u near 1 = late). */
static double pareto_quantile(double u)
{
	double y = f_exp(-f_ln(1 - u) / 3); /* (1-u)^(-1/3): mean 1.5, variance 3/4 */
	return (y - 1.5) * 1.1547005383792515;
}

/* ---- randomness ------------------------------------------------------- */

static uint32_t rnd32(struct link_dir *d)
{
	return (uint32_t)(prng_next(&d->rng) >> 32);
}

/* netem's get_crandom(): a uniform draw pulled towards the previous one by
 * the correlation (which, as in netem, also narrows the spread). */
static uint32_t crandom(struct link_dir *d, uint32_t corr, uint32_t *last)
{
	uint32_t v = rnd32(d);
	if (corr == 0)
		return v;
	uint64_t rho = ((uint64_t)corr << 32) / LINK_PCT_ONE; /* <= 2^32 */
	uint32_t a = (uint32_t)(((uint64_t)v * ((1ull << 32) - rho) + (uint64_t)*last * rho) >> 32);
	*last = a;
	return a;
}

/* A 32-bit draw as a LINK_PCT value in [0, 100%). */
static uint32_t as_pct(uint32_t r)
{
	return (uint32_t)(((uint64_t)r * LINK_PCT_ONE) >> 32);
}

/* True with probability p. 0 never draws, so a knob left at zero does not
 * shift the stream that the other knobs see. */
static bool chance(struct link_dir *d, uint32_t p, uint32_t corr, uint32_t *last)
{
	if (p == 0)
		return false;
	return as_pct(crandom(d, corr, last)) < p;
}

/* ---- knobs ------------------------------------------------------------ */

bool link_knobs_impaired(const struct link_knobs *k)
{
	return k->delay_us || k->jitter_us || k->loss || k->ge_p || k->duplicate ||
	       k->corrupt || k->reorder || k->rate_bps;
}

const char *link_knobs_check(const struct link_knobs *k)
{
	if (k->reorder && k->delay_us == 0)
		return "reorder needs a delay: reordered frames are the ones sent without it (netem's rule)";
	if (k->loss && k->ge_p)
		return "loss and ge_p exclude each other: choose random loss or the Gilbert-Elliott model";
	return NULL;
}

void link_knobs_default(struct link_knobs *k)
{
	memset(k, 0, sizeof(*k));
	k->limit = LINK_LIMIT_DEFAULT;
	k->ge_bad_loss = LINK_PCT_ONE; /* tc's default 1-h = 100% */
}

void link_dir_seed(struct link_dir *d, uint64_t seed)
{
	d->seed = seed;
	d->rng.state = seed;
	d->last_delay = d->last_loss = d->last_dup = d->last_corrupt = d->last_reorder = 0;
	d->ge_bad = false;
	d->reorder_count = 0;
}

void link_dir_set_knobs(struct link_dir *d, const struct link_knobs *k)
{
	d->k = *k;
	d->impaired = link_knobs_impaired(k);
}

void link_dir_init(struct link_dir *d, uint64_t seed)
{
	memset(d, 0, sizeof(*d));
	link_knobs_default(&d->k);
	d->seq_back = 1ull << 63;
	d->seq_front = (1ull << 63) - 1;
	link_dir_seed(d, seed);
}

void link_dir_fini(struct link_dir *d)
{
	for (uint32_t i = 0; i < d->heap_len; i++)
		pktbuf_free(d->heap[i].pb);
	pktq_purge(&d->ready);
	free(d->heap);
	d->heap = NULL;
	d->heap_len = d->heap_cap = 0;
	d->c.queued_frames = d->c.queued_bytes = 0;
}

/* ---- the heap of frames in flight ------------------------------------- */

static bool slot_before(const struct link_slot *a, const struct link_slot *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

/* Makes room for one more slot: grows geometrically up to `limit`, so a
 * warm link allocates nothing. */
static bool heap_room(struct link_dir *d)
{
	if (d->heap_len < d->heap_cap)
		return true;
	uint32_t cap = d->heap_cap ? d->heap_cap * 2 : 64;
	if (cap > d->k.limit)
		cap = d->k.limit;
	if (cap <= d->heap_len)
		return false;
	struct link_slot *h = realloc(d->heap, (size_t)cap * sizeof(*h));
	if (!h)
		return false;
	d->heap = h;
	d->heap_cap = cap;
	return true;
}

static void heap_push(struct link_dir *d, struct link_slot s)
{
	uint32_t i = d->heap_len++;
	while (i > 0) {
		uint32_t up = (i - 1) / 2;
		if (!slot_before(&s, &d->heap[up]))
			break;
		d->heap[i] = d->heap[up];
		i = up;
	}
	d->heap[i] = s;
}

static struct pktbuf *heap_pop(struct link_dir *d)
{
	struct pktbuf *pb = d->heap[0].pb;
	struct link_slot last = d->heap[--d->heap_len];
	uint32_t i = 0, n = d->heap_len;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && slot_before(&d->heap[c + 1], &d->heap[c]))
			c++;
		if (!slot_before(&d->heap[c], &last))
			break;
		d->heap[i] = d->heap[c];
		i = c;
	}
	if (n > 0)
		d->heap[i] = last;
	return pb;
}

/* ---- the pipeline ----------------------------------------------------- */

/* netem's loss_event(): random loss with correlation, or Gilbert-Elliott
 * (the loss decided by the state the frame meets, then the transition). */
static bool loss_event(struct link_dir *d)
{
	const struct link_knobs *k = &d->k;
	if (k->ge_p == 0)
		return chance(d, k->loss, k->loss_corr, &d->last_loss);
	uint32_t move = as_pct(rnd32(d)), lose = as_pct(rnd32(d));
	if (!d->ge_bad) {
		if (move < k->ge_p)
			d->ge_bad = true;
		return lose < k->ge_good_loss;
	}
	uint32_t r = k->ge_r ? k->ge_r : LINK_PCT_ONE - k->ge_p;
	if (move < r)
		d->ge_bad = false;
	return lose < k->ge_bad_loss;
}

/* netem's tabledist(): the delay of one frame, never negative. */
static tl_usec_t sample_delay(struct link_dir *d)
{
	const struct link_knobs *k = &d->k;
	if (k->jitter_us == 0)
		return k->delay_us;
	uint32_t r = crandom(d, k->delay_corr, &d->last_delay);
	int64_t mu = (int64_t)k->delay_us, sigma = (int64_t)k->jitter_us, v;
	if (k->dist == LINK_DIST_UNIFORM) {
		v = mu - sigma + (int64_t)(((uint64_t)r * (uint64_t)(2 * sigma)) >> 32);
	} else {
		double u = ((double)r + 0.5) / 4294967296.0, x;
		switch (k->dist) {
		case LINK_DIST_NORMAL:
			x = normal_quantile(u);
			break;
		case LINK_DIST_PARETO:
			x = pareto_quantile(u);
			break;
		case LINK_DIST_PARETONORMAL:
		case LINK_DIST_UNIFORM:
		default:
			/* Both from the same draw, as one tc table would be;
			 * 3.7197 is the sum's standard deviation. */
			x = (normal_quantile(u) + 3 * pareto_quantile(u)) / 3.7197;
			break;
		}
		if (x > 4)
			x = 4;
		if (x < -4)
			x = -4;
		double off = x * (double)sigma;
		v = mu + (int64_t)(off + (off < 0 ? -0.5 : 0.5));
	}
	return v < 0 ? 0 : (tl_usec_t)v;
}

/* Serialisation time of one frame at the rate, in ns. */
static uint64_t tx_ns(const struct link_knobs *k, size_t len)
{
	int64_t bytes = (int64_t)len + k->overhead;
	if (bytes <= 0)
		return 0;
	return (uint64_t)bytes * 8ull * 1000000000ull / k->rate_bps;
}

static void count_queued(struct link_dir *d, const struct pktbuf *pb, bool in)
{
	if (in) {
		d->c.queued_frames++;
		d->c.queued_bytes += pb->len;
	} else {
		d->c.queued_frames--;
		d->c.queued_bytes -= pb->len;
	}
}

/* netem's INET_ECN_set_ce(): an IPv4 frame that is ECN-capable (or CE
 * already) leaves marked CE, its header checksum redone; false for any
 * other frame, which the loss then drops. */
static bool mark_ce(struct pktbuf *pb)
{
	uint8_t *f = pb->data;
	if (pb->len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00 || (f[14] >> 4) != 4)
		return false;
	size_t ihl = (size_t)(f[14] & 0x0f) * 4;
	uint8_t ecn = f[15] & 3;
	if (ihl < 20 || pb->len < 14 + ihl || ecn == 0)
		return false;
	f[15] |= 3;
	f[24] = f[25] = 0;
	uint16_t c = csum_buf(f + 14, ihl);
	f[24] = (uint8_t)(c >> 8);
	f[25] = (uint8_t)c;
	return true;
}

/* One frame through netem's enqueue; a duplicate comes back through here
 * with may_dup false (netem clears `duplicate` while it re-enqueues). */
static void enqueue(struct link_dir *d, struct pktbuf *pb, tl_usec_t now, bool may_dup)
{
	const struct link_knobs *k = &d->k;
	int count = 1;
	if (may_dup && chance(d, k->duplicate, k->duplicate_corr, &d->last_dup))
		count++;
	if (loss_event(d)) {
		if (k->ecn && mark_ce(pb))
			d->c.marked_ce++;
		else
			count--;
	}
	if (count == 0) {
		d->c.dropped_loss++;
		pktbuf_free(pb);
		return;
	}
	if (count > 1) {
		/* Copied before the original may be corrupted, as netem clones. */
		struct pktbuf *dup = pktbuf_from(pb->data, pb->len);
		if (dup) {
			d->c.duplicated++;
			enqueue(d, dup, now, false);
		}
	}
	if (chance(d, k->corrupt, k->corrupt_corr, &d->last_corrupt) && pb->len) {
		uint32_t r = rnd32(d);
		uint32_t byte = (uint32_t)(((uint64_t)r * pb->len) >> 32);
		pb->data[byte] ^= (uint8_t)(1u << (rnd32(d) & 7));
		d->c.corrupted++;
	}
	if (d->heap_len >= k->limit || !heap_room(d)) {
		d->c.dropped_queue++;
		pktbuf_free(pb);
		return;
	}

	struct link_slot s = { .pb = pb };
	uint32_t gap = k->reorder_gap ? k->reorder_gap : 1;
	if (k->reorder && d->reorder_count + 1 >= gap &&
	    chance(d, k->reorder, k->reorder_corr, &d->last_reorder)) {
		/* Sent at once, ahead of the delayed frames. */
		s.t = now;
		s.seq = d->seq_front--;
		d->reorder_count = 0;
		d->c.reordered++;
	} else {
		tl_usec_t delay = sample_delay(d);
		if (k->rate_bps) {
			/* netem: the frame starts after the last one queued, or
			 * after its own delay if that is later. */
			uint64_t start = (now + delay) * 1000ull;
			if (d->rate_last_ns > start)
				start = d->rate_last_ns;
			d->rate_last_ns = start + tx_ns(k, pb->len);
			s.t = (d->rate_last_ns + 999) / 1000;
		} else {
			s.t = now + delay;
		}
		s.seq = d->seq_back++;
		d->reorder_count++;
	}
	heap_push(d, s);
	count_queued(d, pb, true);
}

void link_dir_input(struct link_dir *d, struct pktbuf *frame, tl_usec_t now)
{
	d->c.input++;
	if (!d->impaired) {
		pktq_push(&d->ready, frame);
		count_queued(d, frame, true);
		return;
	}
	enqueue(d, frame, now, true);
}

struct pktbuf *link_dir_pop_ready(struct link_dir *d, tl_usec_t now)
{
	struct pktbuf *pb;
	if (d->heap_len && d->heap[0].t <= now)
		pb = heap_pop(d);
	else if (!(pb = pktq_pop(&d->ready)))
		return NULL;
	count_queued(d, pb, false);
	d->c.sent++;
	d->c.sent_bytes += pb->len;
	return pb;
}

tl_usec_t link_dir_next_deadline(const struct link_dir *d)
{
	if (d->ready.count)
		return 0;
	return d->heap_len ? d->heap[0].t : TL_NEVER;
}

/* ---- knob text -------------------------------------------------------- */

enum knob_type { KT_TIME, KT_PCT, KT_DIST, KT_COUNT, KT_RATE, KT_SIGNED, KT_SEED };

struct knob {
	const char *name;
	enum knob_type type;
	size_t off; /* into struct link_knobs (not for KT_SEED) */
	int64_t min, max;
	const char *help;
};

#define KOFF(f) offsetof(struct link_knobs, f)

static const struct knob knobs[] = {
	{ "delay", KT_TIME, KOFF(delay_us), 0, (int64_t)LINK_DELAY_MAX,
	  "one-way delay: 50ms, 1.5ms, 200us, 1s (0 = none)" },
	{ "jitter", KT_TIME, KOFF(jitter_us), 0, (int64_t)LINK_DELAY_MAX,
	  "spread of the delay (see distribution): 10ms" },
	{ "delay_corr", KT_PCT, KOFF(delay_corr), 0, LINK_PCT_ONE,
	  "correlation of successive delays: 25%" },
	{ "distribution", KT_DIST, KOFF(dist), 0, LINK_DIST_PARETONORMAL,
	  "uniform | normal | pareto | paretonormal" },
	{ "loss", KT_PCT, KOFF(loss), 0, LINK_PCT_ONE, "random loss: 10%, 0.5%" },
	{ "loss_corr", KT_PCT, KOFF(loss_corr), 0, LINK_PCT_ONE,
	  "correlation of successive loss draws: 25%" },
	{ "ge_p", KT_PCT, KOFF(ge_p), 0, LINK_PCT_ONE,
	  "Gilbert-Elliott: good -> bad transition probability (0 = model off)" },
	{ "ge_r", KT_PCT, KOFF(ge_r), 0, LINK_PCT_ONE,
	  "Gilbert-Elliott: bad -> good transition probability (0 = 100% - ge_p)" },
	{ "ge_bad_loss", KT_PCT, KOFF(ge_bad_loss), 0, LINK_PCT_ONE,
	  "Gilbert-Elliott: loss in the bad state, tc's 1-h (default 100%)" },
	{ "ge_good_loss", KT_PCT, KOFF(ge_good_loss), 0, LINK_PCT_ONE,
	  "Gilbert-Elliott: loss in the good state, tc's 1-k (default 0%)" },
	{ "duplicate", KT_PCT, KOFF(duplicate), 0, LINK_PCT_ONE, "duplication: 1%" },
	{ "duplicate_corr", KT_PCT, KOFF(duplicate_corr), 0, LINK_PCT_ONE,
	  "correlation of successive duplication draws" },
	{ "corrupt", KT_PCT, KOFF(corrupt), 0, LINK_PCT_ONE,
	  "corruption (one random bit flipped): 0.1%" },
	{ "corrupt_corr", KT_PCT, KOFF(corrupt_corr), 0, LINK_PCT_ONE,
	  "correlation of successive corruption draws" },
	{ "reorder", KT_PCT, KOFF(reorder), 0, LINK_PCT_ONE,
	  "frames sent at once instead of delayed (needs delay): 25%" },
	{ "reorder_corr", KT_PCT, KOFF(reorder_corr), 0, LINK_PCT_ONE,
	  "correlation of successive reorder draws" },
	{ "reorder_gap", KT_COUNT, KOFF(reorder_gap), 0, 1000000,
	  "every Nth delayed frame is a reorder candidate (0 or 1 = every frame)" },
	{ "rate", KT_RATE, KOFF(rate_bps), 0, (int64_t)LINK_RATE_MAX,
	  "rate limit: 10mbit, 512kbit, 1gbit, 100kbps (bytes) (0 = unlimited)" },
	{ "overhead", KT_SIGNED, KOFF(overhead), LINK_OVERHEAD_MIN, LINK_OVERHEAD_MAX,
	  "bytes added to each frame for the rate, e.g. 24 (preamble, FCS, gap)" },
	{ "ecn", KT_COUNT, KOFF(ecn), 0, 1,
	  "1: mark ECN-capable frames CE instead of losing them, as netem's ecn (needs a loss)" },
	{ "limit", KT_COUNT, KOFF(limit), 1, LINK_LIMIT_MAX,
	  "frames in flight before tail drop (default 1000)" },
	{ "seed", KT_SEED, 0, 0, 0, "seed of the random stream (setting it restarts the stream)" },
};

static const char *const dist_names[] = {
	[LINK_DIST_UNIFORM] = "uniform",
	[LINK_DIST_NORMAL] = "normal",
	[LINK_DIST_PARETO] = "pareto",
	[LINK_DIST_PARETONORMAL] = "paretonormal",
};

size_t link_knob_count(void)
{
	return TL_ARRAY_SIZE(knobs);
}

const char *link_knob_name(size_t i)
{
	return i < TL_ARRAY_SIZE(knobs) ? knobs[i].name : NULL;
}

static const struct knob *knob_find(const char *name)
{
	for (size_t i = 0; i < TL_ARRAY_SIZE(knobs); i++)
		if (strcmp(knobs[i].name, name) == 0)
			return &knobs[i];
	return NULL;
}

const char *link_knob_help(const char *name)
{
	const struct knob *kn = knob_find(name);
	return kn ? kn->help : NULL;
}

#define E9 1000000000ull

/* Reads a non-negative decimal ("12", "1.5", "0.000001") as fixed point
 * with 9 decimals. Returns the number of characters read, 0 if none or
 * too large or too precise. */
static size_t read_decimal(const char *s, size_t n, unsigned __int128 *out)
{
	size_t i = 0;
	uint64_t ip = 0, fp = 0;
	unsigned fd = 0;
	while (i < n && s[i] >= '0' && s[i] <= '9') {
		if (ip > 100000000000ull) /* far beyond every knob's range */
			return 0;
		ip = ip * 10 + (uint64_t)(s[i++] - '0');
	}
	size_t int_digits = i;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (fd == 9)
				return 0;
			fp = fp * 10 + (uint64_t)(s[i++] - '0');
			fd++;
		}
		if (fd == 0)
			return 0;
	} else if (int_digits == 0) {
		return 0;
	}
	for (; fd < 9; fd++)
		fp *= 10;
	*out = (unsigned __int128)ip * E9 + fp;
	return i;
}

static bool word_is(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

/* Multiplies a 9-decimal value by `unit` (the knob's base units per unit
 * word) and insists the result is whole. */
static int scale_exact(unsigned __int128 v, uint64_t unit, uint64_t *out)
{
	unsigned __int128 x = v * unit;
	if (x % E9)
		return -EINVAL;
	x /= E9;
	if (x > UINT64_MAX)
		return -EINVAL;
	*out = (uint64_t)x;
	return 0;
}

static int parse_unit_value(const struct knob *kn, const char *s, size_t n, int64_t *out)
{
	unsigned __int128 v;
	uint64_t r;
	size_t used;

	switch (kn->type) {
	case KT_DIST:
		for (size_t i = 0; i < TL_ARRAY_SIZE(dist_names); i++)
			if (word_is(s, n, dist_names[i])) {
				*out = (int64_t)i;
				return 0;
			}
		return -EINVAL;
	case KT_SIGNED:
		if (n && s[0] == '-') {
			if (n == 1 || !(used = read_decimal(s + 1, n - 1, &v)) || used != n - 1 ||
			    scale_exact(v, 1, &r) < 0 || r > (uint64_t)-kn->min)
				return -EINVAL;
			*out = -(int64_t)r;
			return 0;
		}
		break;
	default:
		break;
	}
	used = read_decimal(s, n, &v);
	if (!used)
		return -EINVAL;
	const char *u = s + used;
	size_t un = n - used;
	uint64_t unit = 0;
	switch (kn->type) {
	case KT_TIME:
		if (un == 0 && v == 0)
			unit = 1;
		else if (word_is(u, un, "s") || word_is(u, un, "sec") || word_is(u, un, "secs"))
			unit = 1000000;
		else if (word_is(u, un, "ms") || word_is(u, un, "msec") || word_is(u, un, "msecs"))
			unit = 1000;
		else if (word_is(u, un, "us") || word_is(u, un, "usec") || word_is(u, un, "usecs"))
			unit = 1;
		break;
	case KT_PCT:
		if (un == 0 || word_is(u, un, "%"))
			unit = 1000000; /* LINK_PCT units per percent */
		break;
	case KT_RATE:
		if (un == 0 || word_is(u, un, "bit"))
			unit = 1;
		else if (word_is(u, un, "kbit"))
			unit = 1000;
		else if (word_is(u, un, "mbit"))
			unit = 1000000;
		else if (word_is(u, un, "gbit"))
			unit = 1000000000;
		else if (word_is(u, un, "tbit"))
			unit = 1000000000000ull;
		else if (word_is(u, un, "bps"))
			unit = 8;
		else if (word_is(u, un, "kbps"))
			unit = 8000;
		else if (word_is(u, un, "mbps"))
			unit = 8000000;
		else if (word_is(u, un, "gbps"))
			unit = 8000000000ull;
		break;
	case KT_COUNT:
	case KT_SIGNED:
		if (un == 0)
			unit = 1;
		break;
	case KT_DIST:
	case KT_SEED: /* parsed by the caller */
		break;
	}
	if (!unit || scale_exact(v, unit, &r) < 0)
		return -EINVAL;
	if (kn->type == KT_COUNT || kn->type == KT_SIGNED)
		for (size_t i = 0; i < n; i++)
			if (s[i] == '.')
				return -EINVAL;
	if (r > (uint64_t)kn->max || (int64_t)r < kn->min)
		return -EINVAL;
	*out = (int64_t)r;
	return 0;
}

int link_knob_set(struct link_dir *d, const char *name, const char *value)
{
	const struct knob *kn = knob_find(name);
	if (!kn)
		return -ENOENT;
	size_t n = strlen(value);
	const char *s = value;
	while (n && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	if (n && s[n - 1] == '\n')
		n--;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (kn->type == KT_SEED) {
		/* Any 64-bit number, decimal, nothing else. */
		uint64_t seed = 0;
		if (n == 0 || n > 20)
			return -EINVAL;
		for (size_t i = 0; i < n; i++) {
			if (s[i] < '0' || s[i] > '9')
				return -EINVAL;
			uint64_t digit = (uint64_t)(s[i] - '0');
			if (seed > (UINT64_MAX - digit) / 10)
				return -EINVAL;
			seed = seed * 10 + digit;
		}
		link_dir_seed(d, seed);
		return 0;
	}
	int64_t v;
	if (n == 0 || parse_unit_value(kn, s, n, &v) < 0)
		return -EINVAL;

	uint8_t *base = (uint8_t *)&d->k + kn->off;
	switch (kn->type) {
	case KT_TIME:
	case KT_RATE: {
		uint64_t x = (uint64_t)v;
		memcpy(base, &x, sizeof(x));
		break;
	}
	case KT_PCT:
	case KT_COUNT: {
		uint32_t x = (uint32_t)v;
		memcpy(base, &x, sizeof(x));
		break;
	}
	case KT_SIGNED: {
		int32_t x = (int32_t)v;
		memcpy(base, &x, sizeof(x));
		break;
	}
	case KT_DIST:
		d->k.dist = (enum link_dist)v;
		break;
	case KT_SEED:
		break;
	}
	d->impaired = link_knobs_impaired(&d->k);
	return 0;
}

/* "10%", "0.5%", "0.000001%". */
static int fmt_pct(char *buf, size_t len, uint32_t p)
{
	uint32_t ip = p / 1000000, fp = p % 1000000;
	if (fp == 0)
		return snprintf(buf, len, "%" PRIu32 "%%", ip);
	char frac[8];
	snprintf(frac, sizeof(frac), "%06" PRIu32, fp);
	size_t fl = strlen(frac);
	while (fl && frac[fl - 1] == '0')
		frac[--fl] = '\0';
	return snprintf(buf, len, "%" PRIu32 ".%s%%", ip, frac);
}

static int fmt_time(char *buf, size_t len, uint64_t us)
{
	if (us == 0)
		return snprintf(buf, len, "0");
	if (us % 1000000 == 0)
		return snprintf(buf, len, "%" PRIu64 "s", us / 1000000);
	if (us % 1000 == 0)
		return snprintf(buf, len, "%" PRIu64 "ms", us / 1000);
	return snprintf(buf, len, "%" PRIu64 "us", us);
}

static int fmt_rate(char *buf, size_t len, uint64_t bps)
{
	static const struct {
		uint64_t div;
		const char *unit;
	} units[] = { { 1000000000000ull, "tbit" }, { 1000000000, "gbit" },
		      { 1000000, "mbit" }, { 1000, "kbit" } };
	if (bps == 0)
		return snprintf(buf, len, "0");
	for (size_t i = 0; i < TL_ARRAY_SIZE(units); i++)
		if (bps % units[i].div == 0)
			return snprintf(buf, len, "%" PRIu64 "%s", bps / units[i].div,
					units[i].unit);
	return snprintf(buf, len, "%" PRIu64 "bit", bps);
}

int link_knob_get(const struct link_dir *d, const char *name, char *buf, size_t len)
{
	const struct knob *kn = knob_find(name);
	if (!kn)
		return -ENOENT;
	const uint8_t *base = (const uint8_t *)&d->k + kn->off;
	uint64_t u64;
	uint32_t u32;
	int32_t i32;
	int n = 0;
	switch (kn->type) {
	case KT_TIME:
		memcpy(&u64, base, sizeof(u64));
		n = fmt_time(buf, len, u64);
		break;
	case KT_RATE:
		memcpy(&u64, base, sizeof(u64));
		n = fmt_rate(buf, len, u64);
		break;
	case KT_PCT:
		memcpy(&u32, base, sizeof(u32));
		n = fmt_pct(buf, len, u32);
		break;
	case KT_COUNT:
		memcpy(&u32, base, sizeof(u32));
		n = snprintf(buf, len, "%" PRIu32, u32);
		break;
	case KT_SIGNED:
		memcpy(&i32, base, sizeof(i32));
		n = snprintf(buf, len, "%" PRId32, i32);
		break;
	case KT_DIST:
		n = snprintf(buf, len, "%s", dist_names[d->k.dist]);
		break;
	case KT_SEED:
		n = snprintf(buf, len, "%" PRIu64, d->seed);
		break;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

int link_dir_describe(const struct link_dir *d, char *buf, size_t len)
{
	struct link_dir def;
	link_dir_init(&def, 0);
	size_t n = 0;
	char v[48], dv[48];
	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < TL_ARRAY_SIZE(knobs); i++) {
		if (knobs[i].type == KT_SEED)
			continue;
		link_knob_get(d, knobs[i].name, v, sizeof(v));
		link_knob_get(&def, knobs[i].name, dv, sizeof(dv));
		if (strcmp(v, dv) == 0)
			continue;
		int w = snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s%s=%s",
				 n ? " " : "", knobs[i].name, v);
		n += (size_t)w;
	}
	if (n == 0)
		n = (size_t)snprintf(buf, len, "none");
	return (int)n;
}

void link_dir_render_counters(const struct link_dir *d, struct strbuf *sb)
{
	const struct link_counters *c = &d->c;
	sb_printf(sb,
		  "input %" PRIu64 "\nsent %" PRIu64 "\nsent_bytes %" PRIu64
		  "\ndropped_loss %" PRIu64 "\ndropped_queue %" PRIu64 "\nduplicated %" PRIu64
		  "\ncorrupted %" PRIu64 "\nreordered %" PRIu64 "\nqueued_frames %" PRIu64
		  "\nqueued_bytes %" PRIu64 "\nmarked_ce %" PRIu64 "\n",
		  c->input, c->sent, c->sent_bytes, c->dropped_loss, c->dropped_queue,
		  c->duplicated, c->corrupted, c->reordered, c->queued_frames, c->queued_bytes,
		  c->marked_ce);
}

void link_dir_render_knobs(const struct link_dir *d, struct strbuf *sb)
{
	char v[48];
	for (size_t i = 0; i < TL_ARRAY_SIZE(knobs); i++) {
		link_knob_get(d, knobs[i].name, v, sizeof(v));
		sb_printf(sb, "%s %s\n", knobs[i].name, v);
	}
}
