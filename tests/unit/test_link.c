/* Emulated links (netemu/link.c): each netem impairment measured over many
 * frames with a fixed seed (so every number here is reproducible, and the
 * tolerances only absorb sampling noise), the knob text syntax, and the
 * unimpaired pass-through. Time is virtual: frames go in at chosen
 * instants and come out when link_dir_next_deadline() says. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bytes.h"
#include "checksum.h"
#include "link.h"
#include "strbuf.h"

#define MS TL_USEC_PER_MSEC
#define SEC TL_USEC_PER_SEC

/* A frame numbered `id` (big-endian in its first 4 bytes), `len` bytes. */
static struct pktbuf *frame(uint32_t id, size_t len)
{
	struct pktbuf *pb = pktbuf_alloc();
	assert_non_null(pb);
	uint8_t *p = pktbuf_put(pb, len);
	assert_non_null(p);
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	put_be32(p, id);
	return pb;
}

static uint32_t id_of(const struct pktbuf *pb)
{
	return be32_at(pb->data);
}

static void set(struct link_dir *d, const char *name, const char *value)
{
	int rc = link_knob_set(d, name, value);
	if (rc != 0)
		fail_msg("link_knob_set(%s, %s) = %d", name, value, rc);
}

/* Sends one frame at `now` and drains everything due until the link is
 * empty, returning how many frames came out. Records the departure time
 * of the first one in *t_out (when non-NULL and one came out). */
static unsigned send_and_drain(struct link_dir *d, uint32_t id, size_t len, tl_usec_t now,
			       tl_usec_t *t_out)
{
	link_dir_input(d, frame(id, len), now);
	unsigned n = 0;
	tl_usec_t dl;
	while ((dl = link_dir_next_deadline(d)) != TL_NEVER) {
		tl_usec_t t = dl > now ? dl : now;
		struct pktbuf *pb = link_dir_pop_ready(d, t);
		assert_non_null(pb);
		if (n == 0 && t_out)
			*t_out = t;
		pktbuf_free(pb);
		n++;
	}
	return n;
}

/* input + duplicated = sent + lost + tail-dropped + in flight. */
static void check_balance(const struct link_dir *d)
{
	const struct link_counters *c = &d->c;
	assert_int_equal(c->input + c->duplicated,
			 c->sent + c->dropped_loss + c->dropped_queue + c->queued_frames);
}

/* ---- pass-through ----------------------------------------------------- */

/* No knob set: bypass says yes (nothing to copy), and a frame given to
 * the pipeline comes straight back, same buffer, same bytes, same instant. */
static void test_link_unimpaired_passes_straight_through(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 1);
	assert_false(d.impaired);
	assert_int_equal(link_dir_next_deadline(&d), TL_NEVER);
	assert_true(link_dir_bypass(&d, 60));
	assert_int_equal(d.c.sent, 1);

	struct pktbuf *in = frame(7, 60);
	uint8_t copy[60];
	memcpy(copy, in->data, 60);
	link_dir_input(&d, in, 5 * SEC);
	assert_int_equal(link_dir_next_deadline(&d), 0);
	assert_false(link_dir_bypass(&d, 60)); /* keeps order behind it */
	struct pktbuf *out = link_dir_pop_ready(&d, 5 * SEC);
	assert_ptr_equal(out, in);
	assert_memory_equal(out->data, copy, 60);
	assert_null(link_dir_pop_ready(&d, 5 * SEC));
	assert_int_equal(link_dir_next_deadline(&d), TL_NEVER);
	pktbuf_free(out);
	assert_int_equal(d.c.input, 2);
	assert_int_equal(d.c.sent, 2);
	assert_int_equal(d.c.sent_bytes, 120);
	assert_int_equal(d.c.queued_frames, 0);

	/* limit and correlations alone impair nothing. */
	set(&d, "limit", "10");
	set(&d, "loss_corr", "50%");
	assert_false(d.impaired);
	set(&d, "loss", "1%");
	assert_true(d.impaired);
	assert_false(link_dir_bypass(&d, 60));
	set(&d, "loss", "0");
	assert_true(link_dir_bypass(&d, 60));
	link_dir_fini(&d);
}

/* ---- knob text -------------------------------------------------------- */

static void test_link_knob_values_netem_syntax(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in, *out;
	} rows[] = {
		{ "delay", "50ms", "50ms" },
		{ "delay", "1.5ms", "1500us" },
		{ "delay", "2s", "2s" },
		{ "delay", "0.25sec", "250ms" },
		{ "delay", "200usec", "200us" },
		{ "delay", "0", "0" },
		{ "jitter", " 10ms\n", "10ms" }, /* as `echo 10ms > jitter` writes it */
		{ "delay_corr", "25%", "25%" },
		{ "distribution", "pareto", "pareto" },
		{ "distribution", "Normal", "normal" },
		{ "loss", "10%", "10%" },
		{ "loss", "0.5%", "0.5%" },
		{ "loss", "0.000001%", "0.000001%" },
		{ "loss", "3", "3%" }, /* bare = percent, as tc */
		{ "loss", "100%", "100%" },
		{ "ge_p", "1%", "1%" },
		{ "ge_bad_loss", "100%", "100%" },
		{ "reorder_gap", "5", "5" },
		{ "rate", "10mbit", "10mbit" },
		{ "rate", "10Mbit", "10mbit" },
		{ "rate", "1.5mbit", "1500kbit" },
		{ "rate", "100kbps", "800kbit" }, /* bytes per second */
		{ "rate", "1gbit", "1gbit" },
		{ "rate", "1500", "1500bit" },
		{ "rate", "0", "0" },
		{ "overhead", "24", "24" },
		{ "overhead", "-14", "-14" },
		{ "limit", "1500", "1500" },
		{ "seed", "18446744073709551615", "18446744073709551615" },
	};
	struct link_dir d;
	link_dir_init(&d, 0);
	char buf[64];
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		int rc = link_knob_set(&d, rows[i].name, rows[i].in);
		if (rc != 0)
			fail_msg("row %zu: %s = '%s' gave %d", i, rows[i].name, rows[i].in, rc);
		rc = link_knob_get(&d, rows[i].name, buf, sizeof(buf));
		assert_int_equal(rc, (int)strlen(rows[i].out));
		if (strcmp(buf, rows[i].out) != 0)
			fail_msg("row %zu: %s = '%s' reads back '%s', want '%s'", i, rows[i].name,
				 rows[i].in, buf, rows[i].out);
	}
	assert_int_equal(d.k.delay_us, 0);
	assert_int_equal(d.k.jitter_us, 10 * MS);
	assert_int_equal(d.k.loss, LINK_PCT_ONE);
	assert_int_equal(d.k.rate_bps, 0);
	assert_int_equal(d.k.overhead, -14);
	assert_int_equal(d.k.dist, LINK_DIST_NORMAL);
	assert_true(d.seed == UINT64_MAX);
	link_dir_fini(&d);
}

static void test_link_knob_bad_values_leave_knob_unchanged(void **state)
{
	(void)state;
	static const struct {
		const char *name, *in;
	} rows[] = {
		{ "delay", "50" },        /* a time needs its unit */
		{ "delay", "1.5us" },     /* finer than a microsecond */
		{ "delay", "-1ms" },
		{ "delay", "10 ms" },
		{ "delay", "61s" },       /* over LINK_DELAY_MAX */
		{ "delay", "ms" },
		{ "delay", "" },
		{ "loss", "101%" },
		{ "loss", "0.0000001%" }, /* finer than a millionth of a percent */
		{ "loss", "10%%" },
		{ "loss", "ten" },
		{ "loss", "." },
		{ "distribution", "gauss" },
		{ "rate", "10mbyte" },
		{ "rate", "0.5bit" },
		{ "rate", "2tbit" },
		{ "reorder_gap", "1.0" },
		{ "limit", "0" },
		{ "limit", "1000001" },
		{ "overhead", "-129" },
		{ "overhead", "4097" },
		{ "overhead", "-" },
		{ "seed", "18446744073709551616" }, /* 2^64 */
		{ "seed", "-1" },
		{ "seed", "0x10" },
	};
	struct link_dir d;
	link_dir_init(&d, 9);
	set(&d, "delay", "7ms");
	set(&d, "loss", "2%");
	set(&d, "rate", "1mbit");
	struct link_knobs before = d.k;
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		int rc = link_knob_set(&d, rows[i].name, rows[i].in);
		if (rc != -EINVAL)
			fail_msg("row %zu: %s = '%s' gave %d, want -EINVAL", i, rows[i].name,
				 rows[i].in, rc);
	}
	assert_memory_equal(&d.k, &before, sizeof(before));
	assert_true(d.seed == 9);

	char buf[8];
	assert_int_equal(link_knob_set(&d, "latency", "1ms"), -ENOENT);
	assert_int_equal(link_knob_get(&d, "latency", buf, sizeof(buf)), -ENOENT);
	assert_int_equal(link_knob_get(&d, "seed", buf, 1), -ENOSPC);
	link_dir_fini(&d);
}

static void test_link_knob_table_is_complete(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 0);
	char buf[64];
	assert_true(link_knob_count() >= 21);
	for (size_t i = 0; i < link_knob_count(); i++) {
		const char *name = link_knob_name(i);
		assert_non_null(name);
		assert_non_null(link_knob_help(name));
		/* Every default reads back and is accepted again as written. */
		assert_true(link_knob_get(&d, name, buf, sizeof(buf)) > 0);
		assert_int_equal(link_knob_set(&d, name, buf), 0);
	}
	assert_null(link_knob_name(link_knob_count()));
	assert_false(d.impaired);
	assert_int_equal(link_dir_describe(&d, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "none");
	set(&d, "delay", "50ms");
	set(&d, "loss", "10%");
	set(&d, "seed", "5");
	assert_int_equal(link_dir_describe(&d, buf, sizeof(buf)), 19);
	assert_string_equal(buf, "delay=50ms loss=10%");
	char small[8];
	assert_int_equal(link_dir_describe(&d, small, sizeof(small)), 19);
	assert_string_equal(small, "delay=5"); /* truncated, terminated */
	link_dir_fini(&d);
}

/* tc refuses reorder without delay; random loss and gemodel exclude each
 * other (one loss model per qdisc). */
static void test_link_knobs_check_netem_rules(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 0);
	assert_null(link_knobs_check(&d.k));
	set(&d, "reorder", "25%");
	assert_non_null(strstr(link_knobs_check(&d.k), "reorder needs a delay"));
	set(&d, "delay", "10ms");
	assert_null(link_knobs_check(&d.k));
	set(&d, "loss", "1%");
	set(&d, "ge_p", "1%");
	assert_non_null(strstr(link_knobs_check(&d.k), "ge_p"));
	link_dir_fini(&d);
}

/* ---- loss ------------------------------------------------------------- */

/* Runs n frames through a link with no delay and records which were lost
 * (lost[i] true). Returns the number lost. */
static unsigned loss_pattern(struct link_dir *d, unsigned n, bool *lost)
{
	unsigned count = 0;
	for (unsigned i = 0; i < n; i++) {
		unsigned out = send_and_drain(d, i, 64, (tl_usec_t)i * 10, NULL);
		lost[i] = out == 0;
		count += lost[i];
	}
	return count;
}

/* Mean length of runs of consecutive losses. */
static double mean_burst(const bool *lost, unsigned n)
{
	unsigned bursts = 0, frames = 0;
	for (unsigned i = 0; i < n; i++) {
		if (!lost[i])
			continue;
		frames++;
		if (i == 0 || !lost[i - 1])
			bursts++;
	}
	return bursts ? (double)frames / bursts : 0;
}

#define NLOSS 100000u
static bool lost_a[NLOSS];

static void test_link_netem_random_loss_rate(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 12345);
	set(&d, "loss", "10%");
	unsigned n = loss_pattern(&d, NLOSS, lost_a);
	/* 10% of 100000: binomial sd is ~95 frames; allow 5 sd. */
	assert_in_range(n, 9525, 10475);
	assert_int_equal(d.c.dropped_loss, n);
	assert_int_equal(d.c.sent, NLOSS - n);
	/* Independent losses: bursts barely longer than one frame. */
	double b = mean_burst(lost_a, NLOSS);
	assert_true(b > 1.05 && b < 1.17);
	check_balance(&d);
	link_dir_fini(&d);

	link_dir_init(&d, 12345);
	set(&d, "loss", "0.5%");
	n = loss_pattern(&d, NLOSS, lost_a);
	assert_in_range(n, 400, 600);
	link_dir_fini(&d);
}

/* loss_corr pulls each draw towards the previous one (netem's
 * get_crandom): a loss makes the next one likelier. As in netem, the pull
 * also narrows the spread of the draws, so fewer frames are lost than
 * `loss` says (tc-netem(8) calls this correlation broken and points to the
 * Gilbert-Elliott model for bursts; we keep netem's numbers). */
static void test_link_netem_loss_correlation(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 777);
	set(&d, "loss", "20%");
	set(&d, "loss_corr", "50%");
	unsigned n = loss_pattern(&d, NLOSS, lost_a);
	unsigned after_loss = 0, lost_after_loss = 0;
	for (unsigned i = 1; i < NLOSS; i++) {
		after_loss += lost_a[i - 1];
		lost_after_loss += lost_a[i - 1] && lost_a[i];
	}
	double p = (double)n / NLOSS, p_cond = (double)lost_after_loss / after_loss;
	/* The draws have sd 0.167 instead of 0.289: about 3.6% fall below 0.2. */
	assert_true(p > 0.025 && p < 0.05);
	assert_true(p_cond > 2 * p);
	link_dir_fini(&d);
}

/* Gilbert-Elliott with p = 1%, r = 25%, loss 100% in the bad state and none
 * in the good one: the link spends p / (p + r) = 3.85% of frames in the bad
 * state, in sojourns of 1 / r = 4 frames, so losses come in bursts of ~4,
 * where Bernoulli loss of the same rate gives ~1.04. */
static void test_link_gilbert_elliott_loss_is_bursty(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 4242);
	set(&d, "ge_p", "1%");
	set(&d, "ge_r", "25%");
	assert_null(link_knobs_check(&d.k));
	unsigned n = loss_pattern(&d, NLOSS, lost_a);
	assert_in_range(n, 3400, 4300);
	double b = mean_burst(lost_a, NLOSS);
	assert_true(b > 3.6 && b < 4.4);
	link_dir_fini(&d);

	/* The Bernoulli special case (tc: gemodel p only): r = 1 - p makes the
	 * state independent from frame to frame. */
	link_dir_init(&d, 4242);
	set(&d, "ge_p", "4%");
	n = loss_pattern(&d, NLOSS, lost_a);
	assert_in_range(n, 3600, 4400);
	b = mean_burst(lost_a, NLOSS);
	assert_true(b < 1.1);
	link_dir_fini(&d);

	/* Losses in the good state too (1-k), none in the bad (1-h = 0). */
	link_dir_init(&d, 4242);
	set(&d, "ge_p", "50%");
	set(&d, "ge_r", "50%");
	set(&d, "ge_good_loss", "10%");
	set(&d, "ge_bad_loss", "0%");
	n = loss_pattern(&d, NLOSS, lost_a);
	assert_in_range(n, 4500, 5500); /* half the time in good, 10% there */
	link_dir_fini(&d);
}

/* ---- duplication, corruption ------------------------------------------ */

static void test_link_netem_duplicate(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 99);
	set(&d, "duplicate", "10%");
	unsigned out = 0, twice = 0;
	for (unsigned i = 0; i < NLOSS; i++) {
		link_dir_input(&d, frame(i, 100), (tl_usec_t)i);
		struct pktbuf *a = link_dir_pop_ready(&d, (tl_usec_t)i);
		assert_non_null(a);
		struct pktbuf *b = link_dir_pop_ready(&d, (tl_usec_t)i);
		out += 1 + (b != NULL);
		if (b) {
			/* A byte-identical copy, right beside the original. */
			twice++;
			assert_int_equal(b->len, a->len);
			assert_memory_equal(b->data, a->data, a->len);
			pktbuf_free(b);
		}
		assert_int_equal(id_of(a), i);
		pktbuf_free(a);
		assert_null(link_dir_pop_ready(&d, (tl_usec_t)i));
	}
	assert_in_range(twice, 9525, 10475);
	assert_int_equal(d.c.duplicated, twice);
	assert_int_equal(d.c.sent, out);
	check_balance(&d);
	link_dir_fini(&d);
}

/* An Ethernet/IPv4 frame whose header's ECN field is `ecn`, checksummed
 * (ethertype `type`: 0x0800, or 0x0806 for something else). */
static struct pktbuf *ip_frame(uint16_t type, uint8_t ecn)
{
	struct pktbuf *pb = frame(1, 14 + 20 + 8);
	uint8_t *f = pb->data;
	put_be16(f + 12, type);
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	f[15] = ecn;
	put_be16(f + 16, 28);
	f[22] = 64;
	f[23] = 6;
	put_be32(f + 26, 0xc6120002);
	put_be32(f + 30, 0xc6120001);
	put_be16(f + 24, csum_buf(f + 14, 20));
	return pb;
}

/* netem's ecn: with a loss model, a lost frame that is ECN-capable (ECT(0),
 * ECT(1) or already CE) leaves marked CE with its IPv4 checksum redone;
 * Not-ECT frames and non-IPv4 frames are lost as before. */
static void test_link_netem_ecn_marks_instead_of_dropping(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 7);
	set(&d, "loss", "100%");
	set(&d, "ecn", "1");
	static const struct {
		uint16_t type;
		uint8_t ecn;
		bool passes;
	} rows[] = {
		{ 0x0800, 2, true }, { 0x0800, 1, true }, { 0x0800, 3, true },
		{ 0x0800, 0, false }, { 0x0806, 2, false },
	};
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		link_dir_input(&d, ip_frame(rows[i].type, rows[i].ecn), 0);
		struct pktbuf *pb = link_dir_pop_ready(&d, 0);
		assert_int_equal(pb != NULL, rows[i].passes);
		if (!pb)
			continue;
		assert_int_equal(pb->data[15] & 3, 3);
		assert_int_equal(csum_buf(pb->data + 14, 20), 0); /* header checksum still right */
		pktbuf_free(pb);
	}
	assert_int_equal(d.c.marked_ce, 3);
	assert_int_equal(d.c.dropped_loss, 2);
	check_balance(&d);
	link_dir_fini(&d);
}

static unsigned bits_differ(const uint8_t *a, const uint8_t *b, size_t n)
{
	unsigned bits = 0;
	for (size_t i = 0; i < n; i++)
		bits += (unsigned)__builtin_popcount((unsigned)(a[i] ^ b[i]));
	return bits;
}

/* netem's corrupt flips one random bit of the frame; where it lands is
 * spread over the whole frame. */
static void test_link_netem_corrupt_flips_one_bit(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 5);
	set(&d, "corrupt", "100%");
	unsigned hits_first_half = 0;
	for (unsigned i = 0; i < 2000; i++) {
		struct pktbuf *ref = frame(i, 200), *pb = frame(i, 200);
		link_dir_input(&d, pb, 0);
		struct pktbuf *out = link_dir_pop_ready(&d, 0);
		assert_ptr_equal(out, pb);
		assert_int_equal(bits_differ(out->data, ref->data, 200), 1);
		for (unsigned j = 0; j < 100; j++)
			hits_first_half += out->data[j] != ref->data[j];
		pktbuf_free(ref);
		pktbuf_free(out);
	}
	assert_in_range(hits_first_half, 850, 1150);
	assert_int_equal(d.c.corrupted, 2000);
	link_dir_fini(&d);

	link_dir_init(&d, 5);
	set(&d, "corrupt", "10%");
	unsigned bad = 0;
	for (unsigned i = 0; i < 20000; i++) {
		struct pktbuf *ref = frame(i, 64);
		link_dir_input(&d, frame(i, 64), 0);
		struct pktbuf *out = link_dir_pop_ready(&d, 0);
		bad += bits_differ(out->data, ref->data, 64) != 0;
		pktbuf_free(ref);
		pktbuf_free(out);
	}
	assert_in_range(bad, 1800, 2200);
	assert_int_equal(d.c.corrupted, bad);
	link_dir_fini(&d);
}

/* ---- reordering ------------------------------------------------------- */

/* delay 10ms, reorder 100%, gap 5: every 5th frame is sent at once, the
 * others after 10 ms, so with a frame every ms frame 5 arrives before
 * frames 1..4 (netem's "gap" example). */
static void test_link_netem_reorder_gap(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 3);
	set(&d, "delay", "10ms");
	set(&d, "reorder", "100%");
	set(&d, "reorder_gap", "5");
	uint32_t order[30];
	tl_usec_t when[31];
	unsigned n = 0;
	for (tl_usec_t t = 0; t <= 50 * MS; t += 1 * MS / 4) {
		if (t % MS == 0 && t / MS >= 1 && t / MS <= 30)
			link_dir_input(&d, frame((uint32_t)(t / MS), 80), t);
		struct pktbuf *pb;
		while ((pb = link_dir_pop_ready(&d, t))) {
			assert_true(n < 30);
			order[n] = id_of(pb);
			when[order[n]] = t;
			n++;
			pktbuf_free(pb);
		}
	}
	assert_int_equal(n, 30);
	for (uint32_t id = 1; id <= 30; id++) {
		tl_usec_t sent = id * MS;
		if (id % 5 == 0)
			assert_int_equal(when[id], sent); /* at once */
		else
			assert_int_equal(when[id], sent + 10 * MS);
	}
	static const uint32_t head[] = { 5, 10, 1, 2, 3, 4, 15, 6, 7, 8, 9 };
	assert_memory_equal(order, head, sizeof(head));
	assert_int_equal(d.c.reordered, 6);
	link_dir_fini(&d);

	/* reorder 25% (gap 1): a quarter of the frames go ahead. */
	link_dir_init(&d, 3);
	set(&d, "delay", "10ms");
	set(&d, "reorder", "25%");
	unsigned ahead = 0;
	for (unsigned i = 0; i < 40000; i++) {
		tl_usec_t t = (tl_usec_t)i * SEC, dep = 0;
		assert_int_equal(send_and_drain(&d, i, 64, t, &dep), 1);
		ahead += dep == t;
	}
	assert_in_range(ahead, 9600, 10400);
	assert_int_equal(d.c.reordered, ahead);
	link_dir_fini(&d);
}

/* ---- delay distributions ---------------------------------------------- */

struct moments {
	double mean, sd, median;
	tl_usec_t min, max;
};

#define NDELAY 50000u
static tl_usec_t delays[NDELAY];

/* (Tests link no libm either.) */
static double sqrt_newton(double x)
{
	double g = x > 1 ? x : 1;
	for (int i = 0; i < 200; i++)
		g = (g + x / g) / 2;
	return g;
}

static int cmp_usec(const void *a, const void *b)
{
	tl_usec_t x = *(const tl_usec_t *)a, y = *(const tl_usec_t *)b;
	return (x > y) - (x < y);
}

/* One frame per second (far apart, so none overtakes another): the delay
 * of each is its departure minus its input time. */
static struct moments measure_delays(struct link_dir *d)
{
	struct moments m = { .min = TL_NEVER };
	double sum = 0, sq = 0;
	for (unsigned i = 0; i < NDELAY; i++) {
		tl_usec_t t = (tl_usec_t)i * 100 * SEC, dep = 0;
		assert_int_equal(send_and_drain(d, i, 64, t, &dep), 1);
		delays[i] = dep - t;
		sum += (double)delays[i];
	}
	m.mean = sum / NDELAY;
	for (unsigned i = 0; i < NDELAY; i++) {
		double x = (double)delays[i] - m.mean;
		sq += x * x;
		m.min = TL_MIN(m.min, delays[i]);
		m.max = TL_MAX(m.max, delays[i]);
	}
	m.sd = sqrt_newton(sq / NDELAY);
	return m;
}

static double median_of_delays(void)
{
	static tl_usec_t sorted[NDELAY];
	memcpy(sorted, delays, sizeof(sorted));
	qsort(sorted, NDELAY, sizeof(sorted[0]), cmp_usec);
	return (double)sorted[NDELAY / 2];
}

static void test_link_delay_constant_without_jitter(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 1);
	set(&d, "delay", "50ms");
	for (unsigned i = 0; i < 100; i++) {
		tl_usec_t t = 1000 + (tl_usec_t)i * 7 * MS, dep = 0;
		assert_int_equal(send_and_drain(&d, i, 64, t, &dep), 1);
		assert_int_equal(dep - t, 50 * MS);
	}
	/* Before its time a frame stays in flight. */
	link_dir_input(&d, frame(1, 64), 0);
	assert_null(link_dir_pop_ready(&d, 50 * MS - 1));
	assert_int_equal(link_dir_next_deadline(&d), 50 * MS);
	assert_int_equal(d.c.queued_frames, 1);
	assert_int_equal(d.c.queued_bytes, 64);
	struct pktbuf *pb = link_dir_pop_ready(&d, 50 * MS);
	assert_non_null(pb);
	pktbuf_free(pb);
	assert_int_equal(d.c.queued_bytes, 0);
	link_dir_fini(&d);
}

/* netem without a table: uniform in [delay - jitter, delay + jitter). */
static void test_link_delay_uniform_jitter(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 2024);
	set(&d, "delay", "50ms");
	set(&d, "jitter", "10ms");
	struct moments m = measure_delays(&d);
	assert_true(m.min >= 40 * MS && m.max < 60 * MS);
	assert_true(m.mean > 49900 && m.mean < 50100);
	/* sd of a uniform over 20 ms: 20 / sqrt(12) = 5.774 ms. */
	assert_true(m.sd > 5680 && m.sd < 5870);
	link_dir_fini(&d);
}

static void test_link_delay_normal_mean_and_stddev(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 2024);
	set(&d, "delay", "50ms");
	set(&d, "jitter", "10ms");
	set(&d, "distribution", "normal");
	struct moments m = measure_delays(&d);
	assert_true(m.mean > 49850 && m.mean < 50150);
	assert_true(m.sd > 9800 && m.sd < 10200);
	double med = median_of_delays();
	assert_true(med > 49800 && med < 50200);
	/* tc's tables end at 4 standard deviations. */
	assert_true(m.min >= 10 * MS && m.max <= 90 * MS);
	/* About 68.3% within one standard deviation. */
	unsigned in1 = 0;
	for (unsigned i = 0; i < NDELAY; i++)
		in1 += delays[i] >= 40 * MS && delays[i] <= 60 * MS;
	assert_in_range(in1, NDELAY * 673 / 1000, NDELAY * 693 / 1000);
	link_dir_fini(&d);
}

/* Pareto (alpha 3) scaled to sd 1, clipped at 4 sd: mean -0.023 sd, sd
 * 0.737, median -0.277 sd, and nothing earlier than -0.577 sd. The long
 * tail is late frames. */
static void test_link_delay_pareto_long_tail(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 2024);
	set(&d, "delay", "50ms");
	set(&d, "jitter", "10ms");
	set(&d, "distribution", "pareto");
	struct moments m = measure_delays(&d);
	assert_true(m.mean > 49616 && m.mean < 49916);
	assert_true(m.sd > 7150 && m.sd < 7600);
	double med = median_of_delays();
	assert_true(med > 47000 && med < 47450);
	assert_true(m.min >= 44220 && m.max <= 90 * MS);
	assert_true(m.max > 85 * MS); /* the tail reaches the clip */
	link_dir_fini(&d);

	link_dir_init(&d, 2024);
	set(&d, "delay", "50ms");
	set(&d, "jitter", "10ms");
	set(&d, "distribution", "paretonormal");
	m = measure_delays(&d);
	assert_true(m.mean > 49650 && m.mean < 49950);
	assert_true(m.sd > 8100 && m.sd < 8500);
	assert_true(m.min >= 32 * MS);
	link_dir_fini(&d);
}

/* delay_corr makes successive delays alike (lag-1 correlation well above
 * zero) while the mean stays. */
static void test_link_delay_correlation(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 8);
	set(&d, "delay", "50ms");
	set(&d, "jitter", "10ms");
	set(&d, "delay_corr", "75%");
	struct moments m = measure_delays(&d);
	assert_true(m.mean > 49700 && m.mean < 50300);
	double cov = 0;
	for (unsigned i = 1; i < NDELAY; i++)
		cov += ((double)delays[i] - m.mean) * ((double)delays[i - 1] - m.mean);
	cov /= NDELAY - 1;
	assert_true(cov / (m.sd * m.sd) > 0.5);
	link_dir_fini(&d);
}

/* With jitter and no rate, netem lets a frame with a short delay overtake
 * an earlier one with a long delay: frames leave in departure order. */
static void test_link_jitter_reorders_like_netem(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 11);
	set(&d, "delay", "10ms");
	set(&d, "jitter", "5ms");
	for (unsigned i = 0; i < 200; i++)
		link_dir_input(&d, frame(i, 64), (tl_usec_t)i * 100);
	tl_usec_t last = 0;
	unsigned n = 0, overtaken = 0;
	uint32_t prev = 0;
	tl_usec_t dl;
	while ((dl = link_dir_next_deadline(&d)) != TL_NEVER) {
		assert_true(dl >= last);
		last = dl;
		struct pktbuf *pb = link_dir_pop_ready(&d, dl);
		overtaken += n && id_of(pb) < prev;
		prev = id_of(pb);
		pktbuf_free(pb);
		n++;
	}
	assert_int_equal(n, 200);
	assert_true(overtaken > 20);
	link_dir_fini(&d);
}

/* ---- rate and queue --------------------------------------------------- */

/* Departure times of n frames of `len` bytes all offered at t0. */
static void departures(struct link_dir *d, unsigned n, size_t len, tl_usec_t t0,
		       tl_usec_t *dep)
{
	for (unsigned i = 0; i < n; i++)
		link_dir_input(d, frame(i, len), t0);
	for (unsigned i = 0; i < n; i++) {
		dep[i] = link_dir_next_deadline(d);
		struct pktbuf *pb = link_dir_pop_ready(d, dep[i]);
		assert_non_null(pb);
		assert_int_equal(id_of(pb), i); /* a rate keeps order */
		pktbuf_free(pb);
	}
	assert_int_equal(link_dir_next_deadline(d), TL_NEVER);
}

static void test_link_rate_spacing_exact_to_the_usec(void **state)
{
	(void)state;
	struct link_dir d;
	tl_usec_t dep[10];

	/* 1000 bytes at 8 Mbit/s: 1 ms each, back to back. */
	link_dir_init(&d, 0);
	set(&d, "rate", "8mbit");
	departures(&d, 10, 1000, 0, dep);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(dep[i], (i + 1) * 1000);

	/* 24 bytes of overhead (preamble, FCS, gap): 1024 us each. */
	set(&d, "overhead", "24");
	departures(&d, 10, 1000, 1 * SEC, dep);
	for (unsigned i = 0; i < 10; i++)
		assert_int_equal(dep[i], 1 * SEC + (i + 1) * 1024);
	link_dir_fini(&d);

	/* 1514 bytes at 10 Mbit/s: 1211.2 us; a frame leaves once its last
	 * bit is out (rounded up to the us), and no error accumulates. */
	link_dir_init(&d, 0);
	set(&d, "rate", "10mbit");
	departures(&d, 10, 1514, 0, dep);
	static const tl_usec_t want[10] = { 1212, 2423, 3634, 4845, 6056,
					    7268, 8479, 9690, 10901, 12112 };
	assert_memory_equal(dep, want, sizeof(want));

	/* A delay comes before the rate: the first frame waits 5 ms, then
	 * the queue drains at the rate. */
	set(&d, "rate", "8mbit");
	set(&d, "delay", "5ms");
	departures(&d, 5, 1000, 10 * SEC, dep);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(dep[i], 10 * SEC + 5 * MS + (i + 1) * 1000);

	/* A link idle for longer than a frame time starts afresh. */
	set(&d, "delay", "0");
	departures(&d, 1, 1000, 20 * SEC, dep);
	assert_int_equal(dep[0], 20 * SEC + 1000);
	link_dir_fini(&d);
}

/* Throughput over a long run equals the rate: 10 Mbit/s for 1000-byte
 * frames offered faster than the rate. */
static void test_link_rate_throughput(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 0);
	set(&d, "rate", "10mbit");
	set(&d, "limit", "100000");
	uint64_t bytes = 0;
	tl_usec_t t;
	for (t = 0; t < 2 * SEC; t += 400) {
		link_dir_input(&d, frame(0, 1000), t); /* 20 Mbit/s offered */
		struct pktbuf *pb;
		while ((pb = link_dir_pop_ready(&d, t))) {
			bytes += pb->len;
			pktbuf_free(pb);
		}
	}
	/* 2 s at 10 Mbit/s = 2.5 MB, within one frame. */
	assert_in_range(bytes, 2500000 - 1000, 2500000);
	assert_true(d.c.queued_frames > 2000); /* the rest waits its turn */
	link_dir_fini(&d);
}

/* The queue holds `limit` frames; more are dropped at the tail, the
 * earliest ones survive (netem: qlen >= limit drops). */
static void test_link_queue_limit_tail_drop(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 0);
	set(&d, "delay", "10ms");
	set(&d, "limit", "5");
	for (unsigned i = 0; i < 8; i++)
		link_dir_input(&d, frame(i, 100), 0);
	assert_int_equal(d.c.dropped_queue, 3);
	assert_int_equal(d.c.queued_frames, 5);
	assert_int_equal(d.c.queued_bytes, 500);
	assert_null(link_dir_pop_ready(&d, 10 * MS - 1));
	for (uint32_t i = 0; i < 5; i++) {
		struct pktbuf *pb = link_dir_pop_ready(&d, 10 * MS);
		assert_non_null(pb);
		assert_int_equal(id_of(pb), i);
		pktbuf_free(pb);
	}
	assert_null(link_dir_pop_ready(&d, 10 * MS));
	check_balance(&d);
	link_dir_fini(&d);

	/* A rate with a short queue: a burst beyond it is cut. */
	link_dir_init(&d, 0);
	set(&d, "rate", "1mbit");
	set(&d, "limit", "20");
	for (unsigned i = 0; i < 100; i++)
		link_dir_input(&d, frame(i, 1000), 0);
	assert_int_equal(d.c.dropped_queue, 80);
	link_dir_fini(&d); /* frees what is still in flight */
}

/* ---- reproducibility -------------------------------------------------- */

/* Everything at once, recording what comes out and when. */
static void run_mix(struct link_dir *d, uint32_t *ids, tl_usec_t *times, uint8_t *sums,
		    unsigned n, unsigned *outs)
{
	unsigned o = 0;
	for (unsigned i = 0; i < n; i++) {
		tl_usec_t t = (tl_usec_t)i * 300;
		link_dir_input(d, frame(i, 120), t);
		struct pktbuf *pb;
		while ((pb = link_dir_pop_ready(d, t))) {
			ids[o] = id_of(pb);
			times[o] = t;
			uint8_t s = 0;
			for (uint32_t j = 0; j < pb->len; j++)
				s = (uint8_t)(s * 31 + pb->data[j]);
			sums[o++] = s;
			pktbuf_free(pb);
		}
	}
	*outs = o;
}

static void mix_knobs(struct link_dir *d)
{
	set(d, "delay", "2ms");
	set(d, "jitter", "1ms");
	set(d, "distribution", "normal");
	set(d, "loss", "10%");
	set(d, "duplicate", "5%");
	set(d, "corrupt", "5%");
	set(d, "reorder", "10%");
	set(d, "rate", "20mbit");
}

#define NMIX 5000u
static uint32_t ids1[2 * NMIX], ids2[2 * NMIX];
static tl_usec_t t1[2 * NMIX], t2[2 * NMIX];
static uint8_t s1[2 * NMIX], s2[2 * NMIX];

static void test_link_same_seed_same_pattern(void **state)
{
	(void)state;
	struct link_dir a, b;
	unsigned na, nb;
	link_dir_init(&a, 42);
	mix_knobs(&a);
	run_mix(&a, ids1, t1, s1, NMIX, &na);
	link_dir_init(&b, 42);
	mix_knobs(&b);
	run_mix(&b, ids2, t2, s2, NMIX, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(ids1, ids2, na * sizeof(ids1[0]));
	assert_memory_equal(t1, t2, na * sizeof(t1[0]));
	assert_memory_equal(s1, s2, na);
	assert_memory_equal(&a.c, &b.c, sizeof(a.c));
	assert_true(a.c.dropped_loss > 0 && a.c.duplicated > 0 && a.c.corrupted > 0 &&
		    a.c.reordered > 0);
	check_balance(&a);

	/* Another seed, another pattern. */
	link_dir_fini(&b);
	link_dir_init(&b, 43);
	mix_knobs(&b);
	run_mix(&b, ids2, t2, s2, NMIX, &nb);
	assert_true(na != nb || memcmp(ids1, ids2, na * sizeof(ids1[0])) != 0);

	/* Writing the seed knob restarts the stream: the pattern repeats. */
	link_dir_fini(&a);
	link_dir_fini(&b);
	link_dir_init(&b, 43);
	mix_knobs(&b);
	set(&b, "seed", "42");
	run_mix(&b, ids2, t2, s2, NMIX, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(ids1, ids2, na * sizeof(ids1[0]));
	char buf[32];
	assert_int_equal(link_knob_get(&b, "seed", buf, sizeof(buf)), 2);
	assert_string_equal(buf, "42");
	link_dir_fini(&b);
}

/* What the FUSE view shows for a direction: counters and knobs as
 * "name value" lines. */
static void test_link_render_counters_and_knobs(void **state)
{
	(void)state;
	struct link_dir d;
	link_dir_init(&d, 77);
	set(&d, "delay", "10ms");
	set(&d, "limit", "2");
	for (unsigned i = 0; i < 3; i++)
		link_dir_input(&d, frame(i, 100), 0);
	struct strbuf sb = { 0 };
	link_dir_render_counters(&d, &sb);
	assert_false(sb.failed);
	assert_non_null(strstr(sb.p, "input 3\nsent 0\n"));
	assert_non_null(strstr(sb.p, "\ndropped_queue 1\n"));
	assert_non_null(strstr(sb.p, "\nqueued_frames 2\nqueued_bytes 200\n"));
	sb_free(&sb);
	memset(&sb, 0, sizeof(sb));
	link_dir_render_knobs(&d, &sb);
	assert_false(sb.failed);
	assert_true(strncmp(sb.p, "delay 10ms\njitter 0\n", 20) == 0);
	assert_non_null(strstr(sb.p, "\nlimit 2\nseed 77\n"));
	sb_free(&sb);
	link_dir_fini(&d);
}

static int teardown(void **state)
{
	(void)state;
	pktbuf_pool_drain();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_link_unimpaired_passes_straight_through, teardown),
		cmocka_unit_test_teardown(test_link_knob_values_netem_syntax, teardown),
		cmocka_unit_test_teardown(test_link_knob_bad_values_leave_knob_unchanged, teardown),
		cmocka_unit_test_teardown(test_link_knob_table_is_complete, teardown),
		cmocka_unit_test_teardown(test_link_knobs_check_netem_rules, teardown),
		cmocka_unit_test_teardown(test_link_netem_random_loss_rate, teardown),
		cmocka_unit_test_teardown(test_link_netem_loss_correlation, teardown),
		cmocka_unit_test_teardown(test_link_gilbert_elliott_loss_is_bursty, teardown),
		cmocka_unit_test_teardown(test_link_netem_duplicate, teardown),
		cmocka_unit_test(test_link_netem_ecn_marks_instead_of_dropping),
		cmocka_unit_test_teardown(test_link_netem_corrupt_flips_one_bit, teardown),
		cmocka_unit_test_teardown(test_link_netem_reorder_gap, teardown),
		cmocka_unit_test_teardown(test_link_delay_constant_without_jitter, teardown),
		cmocka_unit_test_teardown(test_link_delay_uniform_jitter, teardown),
		cmocka_unit_test_teardown(test_link_delay_normal_mean_and_stddev, teardown),
		cmocka_unit_test_teardown(test_link_delay_pareto_long_tail, teardown),
		cmocka_unit_test_teardown(test_link_delay_correlation, teardown),
		cmocka_unit_test_teardown(test_link_jitter_reorders_like_netem, teardown),
		cmocka_unit_test_teardown(test_link_rate_spacing_exact_to_the_usec, teardown),
		cmocka_unit_test_teardown(test_link_rate_throughput, teardown),
		cmocka_unit_test_teardown(test_link_queue_limit_tail_drop, teardown),
		cmocka_unit_test_teardown(test_link_same_seed_same_pattern, teardown),
		cmocka_unit_test_teardown(test_link_render_counters_and_knobs, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
