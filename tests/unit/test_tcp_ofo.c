/* Unit tests for the out-of-order receive queue: reordered segments come
 * out in sequence order, overlaps keep the bytes queued first, SACK blocks
 * follow RFC 2018's recency order, sequence numbers wrap at 2^32, and the
 * memory limit refuses segments (the caller's TCPOFODrop). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "tcp_ofo.h"
#include "tl_types.h"

/* The byte a well-behaved sender sends at sequence number s. */
static uint8_t stream_byte(uint32_t s)
{
	return (uint8_t)(s * 31u + (s >> 8) * 7u + 1u);
}

static void stream(uint8_t *p, uint32_t seq, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		p[i] = stream_byte(seq + i);
}

static int put(struct tcp_ofo *q, uint32_t seq, uint32_t len)
{
	static uint8_t buf[70000];
	stream(buf, seq, len);
	return tcp_ofo_insert(q, seq, buf, len);
}

static int put_fill(struct tcp_ofo *q, uint32_t seq, uint32_t len, uint8_t v,
		    uint32_t *added)
{
	static uint8_t buf[70000];
	memset(buf, v, len);
	return tcp_ofo_add(q, seq, buf, len, added);
}

/* Pulls everything contiguous with *rcv_nxt into a fresh ring, checks it
 * against the stream, advances *rcv_nxt; returns the bytes moved. */
static uint32_t pull_check(struct tcp_ofo *q, uint32_t *rcv_nxt)
{
	static uint8_t got[70000], want[70000];
	struct bytering out;
	uint32_t n;

	bytering_init(&out, sizeof(got));
	n = tcp_ofo_pull(q, *rcv_nxt, &out, sizeof(got));
	assert_int_equal(bytering_read(&out, got, sizeof(got)), n);
	stream(want, *rcv_nxt, n);
	assert_memory_equal(got, want, n);
	*rcv_nxt += n;
	bytering_fini(&out);
	assert_true(tcp_ofo_check(q));
	return n;
}

/* RFC 9293 §3.10.7.4: segments beyond rcv_nxt are held; once the hole is
 * filled they are delivered in sequence order, whatever order they came. */
static void test_rfc9293_ofo_reassembles_in_order(void **state)
{
	struct tcp_ofo q;
	uint32_t rcv_nxt = 1000;
	static const unsigned order[] = { 3, 5, 2, 4 }; /* segment numbers */

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	assert_true(tcp_ofo_empty(&q));
	for (size_t i = 0; i < TL_ARRAY_SIZE(order); i++)
		assert_int_equal(put(&q, 1000 + 100 * (order[i] - 1), 100), 0);
	assert_int_equal(tcp_ofo_bytes(&q), 400);
	assert_int_equal(tcp_ofo_nranges(&q), 1); /* 1100..1500, one hole */
	assert_int_equal(pull_check(&q, &rcv_nxt), 0); /* hole at 1000 */
	/* segment 1 arrives in order; the caller delivers it itself */
	rcv_nxt += 100;
	assert_int_equal(pull_check(&q, &rcv_nxt), 400);
	assert_int_equal(rcv_nxt, 1500);
	assert_true(tcp_ofo_empty(&q));
	assert_int_equal(tcp_ofo_bytes(&q), 0);
	tcp_ofo_fini(&q);
}

/* Overlapping and duplicate segments are trimmed: bytes already queued are
 * kept, only missing bytes are taken from the new segment, and a complete
 * duplicate adds nothing (a D-SACK candidate, RFC 2883). */
static void test_rfc9293_ofo_overlap_keeps_queued_bytes(void **state)
{
	struct tcp_ofo q;
	struct bytering out;
	uint8_t got[400];
	uint32_t added;

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	assert_int_equal(put_fill(&q, 100, 100, 'A', &added), 0); /* [100,200) */
	assert_int_equal(added, 100);
	assert_int_equal(put_fill(&q, 150, 100, 'B', &added), 0); /* [150,250) */
	assert_int_equal(added, 50);
	assert_int_equal(put_fill(&q, 50, 250, 'C', &added), 0);  /* [50,300) */
	assert_int_equal(added, 100);
	assert_int_equal(put_fill(&q, 120, 30, 'D', &added), 0);  /* inside */
	assert_int_equal(added, 0);
	assert_int_equal(tcp_ofo_bytes(&q), 250);
	assert_int_equal(tcp_ofo_nranges(&q), 1);
	assert_true(tcp_ofo_check(&q));

	bytering_init(&out, sizeof(got));
	assert_int_equal(tcp_ofo_pull(&q, 50, &out, sizeof(got)), 250);
	assert_int_equal(bytering_read(&out, got, sizeof(got)), 250);
	for (int i = 0; i < 50; i++)
		assert_int_equal(got[i], 'C');        /* 50..99 */
	for (int i = 50; i < 150; i++)
		assert_int_equal(got[i], 'A');        /* 100..199 */
	for (int i = 150; i < 200; i++)
		assert_int_equal(got[i], 'B');        /* 200..249 */
	for (int i = 200; i < 250; i++)
		assert_int_equal(got[i], 'C');        /* 250..299 */
	bytering_fini(&out);
	tcp_ofo_fini(&q);
}

/* A segment bridging several queued ranges fills only the holes between
 * them and leaves one range; touching segments merge too. */
static void test_rfc9293_ofo_bridge_and_adjacent_merge(void **state)
{
	struct tcp_ofo q;
	uint32_t rcv_nxt = 0;
	uint32_t added;

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	put(&q, 1000, 100);
	put(&q, 1300, 100);
	put(&q, 1600, 100);
	put(&q, 1700, 50); /* touches [1600,1700) */
	assert_int_equal(tcp_ofo_nranges(&q), 3);
	assert_int_equal(tcp_ofo_end(&q), 1750);
	{
		static uint8_t buf[800];
		stream(buf, 1050, 700);
		assert_int_equal(tcp_ofo_add(&q, 1050, buf, 700, &added), 0);
	}
	assert_int_equal(added, 400); /* the two 200-byte holes */
	assert_int_equal(tcp_ofo_nranges(&q), 1);
	assert_int_equal(tcp_ofo_bytes(&q), 750);
	rcv_nxt = 1000;
	assert_int_equal(pull_check(&q, &rcv_nxt), 750);
	tcp_ofo_fini(&q);
}

/* RFC 2018 §4: the first SACK block holds the most recently received
 * segment, the others follow from most to least recently reported; a
 * duplicate segment also moves its block to the front. */
static void test_rfc2018_sack_block_order(void **state)
{
	struct tcp_ofo q;
	struct tcp_sack_block b[TCP_MAX_SACK_BLOCKS];

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 4), 0);
	put(&q, 1000, 100); /* A */
	put(&q, 1300, 100); /* B */
	put(&q, 1600, 100); /* C */
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 4), 3);
	assert_int_equal(b[0].start, 1600);
	assert_int_equal(b[0].end, 1700);
	assert_int_equal(b[1].start, 1300);
	assert_int_equal(b[2].start, 1000);

	put(&q, 1100, 50); /* extends A */
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 4), 3);
	assert_int_equal(b[0].start, 1000);
	assert_int_equal(b[0].end, 1150);
	assert_int_equal(b[1].start, 1600);
	assert_int_equal(b[2].start, 1300);

	put(&q, 1320, 10); /* duplicate inside B */
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 2), 2); /* room for 2 */
	assert_int_equal(b[0].start, 1300);
	assert_int_equal(b[0].end, 1400);
	assert_int_equal(b[1].start, 1000);

	put(&q, 1900, 10);
	put(&q, 2100, 10);
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 4), 4); /* 5 ranges */
	assert_int_equal(b[0].start, 2100);
	assert_int_equal(b[1].start, 1900);
	assert_int_equal(b[2].start, 1300);
	assert_int_equal(b[3].start, 1000);
	tcp_ofo_fini(&q);
}

/* RFC 9293 §3.4: sequence numbers wrap; ranges straddling 2^32 sort, merge,
 * report SACK edges and reassemble like any others. */
static void test_rfc9293_ofo_sequence_wraparound(void **state)
{
	struct tcp_ofo q;
	struct tcp_sack_block b[4];
	uint32_t rcv_nxt = 0xffffff00u;

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	put(&q, 0x00000080u, 0x80);   /* after the wrap */
	put(&q, 0xffffffc0u, 0x80);   /* [0xffffffc0, 0x40) straddles it */
	put(&q, 0xffffff80u, 0x20);
	assert_int_equal(tcp_ofo_nranges(&q), 3);
	assert_true(tcp_ofo_check(&q));
	assert_int_equal(tcp_ofo_sack_blocks(&q, b, 4), 3);
	assert_int_equal(b[0].start, 0xffffff80u);
	assert_int_equal(b[0].end, 0xffffffa0u);
	assert_int_equal(b[1].start, 0xffffffc0u);
	assert_int_equal(b[1].end, 0x40u);
	assert_int_equal(b[2].start, 0x80u);
	assert_int_equal(tcp_ofo_end(&q), 0x100u);

	put(&q, 0x00000030u, 0x50);   /* joins [0xffffffc0,0x40) and [0x80,0x100) */
	assert_int_equal(tcp_ofo_nranges(&q), 2);
	assert_int_equal(pull_check(&q, &rcv_nxt), 0);
	rcv_nxt = 0xffffff80u;
	assert_int_equal(pull_check(&q, &rcv_nxt), 0x20);
	put(&q, 0xffffffa0u, 0x20);   /* fills the last hole */
	assert_int_equal(pull_check(&q, &rcv_nxt), 0x160);
	assert_int_equal(rcv_nxt, 0x100u);
	assert_true(tcp_ofo_empty(&q));
	tcp_ofo_fini(&q);
}

/* Pulling discards queued bytes below rcv_nxt (the in-order path already
 * delivered them) and moves no more than the receiver has room for. */
static void test_rfc9293_ofo_pull_trims_and_respects_space(void **state)
{
	struct tcp_ofo q;
	struct bytering out;
	uint8_t got[1000], want[1000];

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	put(&q, 500, 100);
	put(&q, 700, 300); /* [700,1000) */
	bytering_init(&out, 1000);
	/* rcv_nxt jumped to 750 (a big in-order segment covered the rest) */
	assert_int_equal(tcp_ofo_pull(&q, 750, &out, 100), 100);
	assert_int_equal(tcp_ofo_bytes(&q), 150);
	assert_int_equal(tcp_ofo_pull(&q, 850, &out, 1000), 150);
	assert_int_equal(bytering_read(&out, got, sizeof(got)), 250);
	stream(want, 750, 250);
	assert_memory_equal(got, want, 250);
	assert_true(tcp_ofo_empty(&q));
	/* space 0 moves nothing; a full ring limits the move */
	put(&q, 2000, 100);
	assert_int_equal(tcp_ofo_pull(&q, 2000, &out, 0), 0);
	bytering_set_max(&out, 30);
	assert_int_equal(tcp_ofo_pull(&q, 2000, &out, 1000), 30);
	assert_int_equal(tcp_ofo_bytes(&q), 70);
	bytering_fini(&out);
	tcp_ofo_fini(&q);
}

/* The limit (data plus TCP_OFO_RANGE_COST per range) refuses a segment
 * that would exceed it and stores none of it (the caller counts
 * TCPOFODrop); merging segments and duplicates still fit. */
static void test_linux_ofo_limit_refuses_segment(void **state)
{
	struct tcp_ofo q;
	uint32_t added = 99;

	(void)state;
	tcp_ofo_init(&q, 1000);
	assert_int_equal(put(&q, 1000, 500), 0);        /* 500 + 64 */
	assert_int_equal(put(&q, 2000, 400), -ENOBUFS); /* 900 + 128 > 1000 */
	assert_int_equal(tcp_ofo_bytes(&q), 500);
	assert_int_equal(tcp_ofo_nranges(&q), 1);
	assert_int_equal(put(&q, 1500, 400), 0);        /* merges: 900 + 64 */
	assert_int_equal(put(&q, 1900, 37), -ENOBUFS);  /* 937 + 64 */
	assert_int_equal(put(&q, 1900, 36), 0);         /* exactly 1000 */
	assert_int_equal(put_fill(&q, 1000, 936, 'x', &added), 0); /* dup */
	assert_int_equal(added, 0);
	assert_int_equal(put(&q, 5000, 1), -ENOBUFS);
	assert_int_equal(tcp_ofo_bytes(&q), 936);
	/* a lowered limit keeps the data; a raised one admits more */
	tcp_ofo_set_max(&q, 100);
	assert_int_equal(tcp_ofo_bytes(&q), 936);
	tcp_ofo_set_max(&q, 2000);
	assert_int_equal(put(&q, 5000, 1), 0);
	assert_int_equal(tcp_ofo_insert(&q, 9000, NULL, 0), 0); /* empty */
	assert_true(tcp_ofo_check(&q));
	tcp_ofo_fini(&q);
}

/* Random segments of one stream (overlapping, duplicated, reordered,
 * around the wrap) delivered through the queue reproduce the stream, and
 * the queue's byte and range counts match a per-byte model throughout. */
static void test_rfc9293_ofo_random_reassembly(void **state)
{
	enum { WIN = 20000 };
	static bool have[WIN];
	struct tcp_ofo q;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	uint32_t base = 0xffffd000u, rcv_nxt = base;

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	while (rcv_nxt - base < WIN) {
		uint32_t off, len, lim = base + WIN - rcv_nxt;
		size_t bytes = 0;
		unsigned ranges = 0;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = (uint32_t)(x % lim);
		len = 1 + (uint32_t)((x >> 20) % 1500);
		if (len > lim - off)
			len = lim - off;
		if ((x >> 40) % 8 == 0) {
			off = 0; /* the in-order segment, through the queue */
		}
		assert_int_equal(put(&q, rcv_nxt + off, len), 0);
		for (uint32_t i = 0; i < len; i++)
			have[rcv_nxt - base + off + i] = true;
		pull_check(&q, &rcv_nxt);
		/* the model: bytes held beyond rcv_nxt, and their runs */
		for (uint32_t i = rcv_nxt - base; i < WIN; i++) {
			if (!have[i])
				continue;
			bytes++;
			if (i == rcv_nxt - base || !have[i - 1])
				ranges++;
		}
		assert_int_equal(tcp_ofo_bytes(&q), bytes);
		assert_int_equal(tcp_ofo_nranges(&q), ranges);
	}
	assert_true(tcp_ofo_empty(&q));
	tcp_ofo_fini(&q);
}

/* Segments arriving in decreasing order, or alternately below and above
 * one growing range, still reassemble into the stream (the range buffer
 * grows at either end). */
static void test_rfc9293_ofo_reverse_and_alternating_arrival(void **state)
{
	struct tcp_ofo q;
	uint32_t rcv_nxt;

	(void)state;
	tcp_ofo_init(&q, 1 << 20);
	for (uint32_t i = 300; i >= 1; i--)
		assert_int_equal(put(&q, 0xfffff000u + i * 97, 97), 0);
	assert_int_equal(tcp_ofo_nranges(&q), 1);
	rcv_nxt = 0xfffff000u + 97;
	assert_int_equal(pull_check(&q, &rcv_nxt), 300 * 97);

	for (uint32_t i = 0; i < 400; i++) {
		uint32_t k = (i & 1) ? 401 + i / 2 : 400 - i / 2;
		assert_int_equal(put(&q, 5000 + k * 61, 61), 0);
		assert_true(tcp_ofo_check(&q));
	}
	assert_int_equal(tcp_ofo_nranges(&q), 1);
	rcv_nxt = 5000 + 201 * 61;
	assert_int_equal(pull_check(&q, &rcv_nxt), 400 * 61);
	assert_true(tcp_ofo_empty(&q));
	tcp_ofo_fini(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9293_ofo_reassembles_in_order),
		cmocka_unit_test(test_rfc9293_ofo_overlap_keeps_queued_bytes),
		cmocka_unit_test(test_rfc9293_ofo_bridge_and_adjacent_merge),
		cmocka_unit_test(test_rfc2018_sack_block_order),
		cmocka_unit_test(test_rfc9293_ofo_sequence_wraparound),
		cmocka_unit_test(test_rfc9293_ofo_pull_trims_and_respects_space),
		cmocka_unit_test(test_linux_ofo_limit_refuses_segment),
		cmocka_unit_test(test_rfc9293_ofo_random_reassembly),
		cmocka_unit_test(test_rfc9293_ofo_reverse_and_alternating_arrival),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
