/* Unit tests for tcp_wire.c: the TCP parser's checks in STYLE.md §3 order,
 * the option walk (Linux rules), the emitter's Linux option layout, the
 * parse(emit(x)) == x round trip, and tcpdump-style flag strings. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bytes.h"
#include "tcp_wire.h"
#include "tl_types.h"

#define SADDR 0x0a000001u /* 10.0.0.1 */
#define DADDR 0x0a000002u /* 10.0.0.2 */

/* A SYN as Linux sends it: 10.0.0.1:40000 -> 10.0.0.2:80, seq 0x01020304,
 * win 64240, MSS 1460, SACK_PERM+TS(0x11223344, 0), NOP, WS 7. The
 * checksum (0x5410) was computed by hand, independently of the code. */
static const uint8_t linux_syn[40] = {
	0x9c, 0x40, 0x00, 0x50, 0x01, 0x02, 0x03, 0x04,
	0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa, 0xf0,
	0x54, 0x10, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
	0x04, 0x02, 0x08, 0x0a, 0x11, 0x22, 0x33, 0x44,
	0x00, 0x00, 0x00, 0x00, 0x01, 0x03, 0x03, 0x07,
};

static struct tcp_seg linux_syn_seg(void)
{
	struct tcp_seg s = {
		.saddr = SADDR, .daddr = DADDR, .sport = 40000, .dport = 80,
		.seq = 0x01020304, .flags = TH_SYN, .wnd = 64240,
		.opt = { .has_mss = true, .mss = 1460, .sack_ok = true,
			 .has_ts = true, .ts_val = 0x11223344,
			 .has_wscale = true, .wscale = 7 },
	};
	return s;
}

/* Builds a segment 1 -> 2, seq 100, ack 200, ACK, win 1000, with raw
 * option bytes (possibly malformed) and a payload, and a checksum computed
 * here independently of the code under test. Returns the total length. */
static size_t build_raw(uint8_t *buf, const uint8_t *opts, size_t olen,
			const uint8_t *payload, size_t plen)
{
	size_t hdr = TCP_HDR_MIN + olen;
	size_t total = hdr + plen;
	assert_true(olen % 4 == 0 && hdr <= TCP_HDR_MAX);
	memset(buf, 0, TCP_HDR_MIN);
	put_be16(buf, 1);
	put_be16(buf + 2, 2);
	put_be32(buf + 4, 100);
	put_be32(buf + 8, 200);
	buf[12] = (uint8_t)((hdr / 4) << 4);
	buf[13] = TH_ACK;
	put_be16(buf + 14, 1000);
	memcpy(buf + TCP_HDR_MIN, opts, olen);
	memcpy(buf + hdr, payload, plen);

	uint32_t acc = (SADDR >> 16) + (SADDR & 0xffff) + (DADDR >> 16) +
		       (DADDR & 0xffff) + 6 + (uint32_t)total;
	for (size_t i = 0; i < total; i += 2)
		acc += (uint32_t)buf[i] << 8 | (i + 1 < total ? buf[i + 1] : 0);
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	put_be16(buf + 16, (uint16_t)~acc);
	return total;
}

/* Linux: the SYN option layout MSS, SACK_PERM+TS, NOP+WS, byte for byte. */
static void test_linux_emit_syn_bytes_exact(void **state)
{
	(void)state;
	struct tcp_seg s = linux_syn_seg();
	uint8_t out[TCP_HDR_MAX];
	assert_int_equal(tcp_options_len(&s.opt), 20);
	assert_int_equal(tcp_emit(&s, out), 40);
	assert_memory_equal(out, linux_syn, sizeof(linux_syn));
}

/* The hand-written SYN parses into exactly the fields it encodes. */
static void test_rfc9293_parse_linux_syn(void **state)
{
	(void)state;
	struct tcp_seg s;
	assert_int_equal(tcp_parse(linux_syn, sizeof(linux_syn), SADDR, DADDR,
				   false, &s), TCP_OK);
	assert_int_equal(s.sport, 40000);
	assert_int_equal(s.dport, 80);
	assert_int_equal(s.seq, 0x01020304);
	assert_int_equal(s.ack, 0);
	assert_int_equal(s.flags, TH_SYN);
	assert_int_equal(s.wnd, 64240);
	assert_int_equal(s.hdr_len, 40);
	assert_true(s.opt.has_mss);
	assert_int_equal(s.opt.mss, 1460);
	assert_true(s.opt.sack_ok);
	assert_true(s.opt.has_ts);
	assert_int_equal(s.opt.ts_val, 0x11223344);
	assert_int_equal(s.opt.ts_ecr, 0);
	assert_true(s.opt.has_wscale);
	assert_int_equal(s.opt.wscale, 7);
	assert_int_equal(s.opt.nsack, 0);
	assert_int_equal(s.len, 0);
	assert_ptr_equal(s.payload, linux_syn + 40);
}

/* Linux layouts of the other combinations (tcp_options_write). */
static const struct {
	const char *what;
	struct tcp_opts opt;
	size_t len;
	uint8_t bytes[40];
} layout_rows[] = {
	{ "SYN, TS only: MSS, NOP NOP TS",
	  { .has_mss = true, .mss = 1460, .has_ts = true, .ts_val = 1, .ts_ecr = 2 },
	  16, { 2, 4, 5, 0xb4, 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 } },
	{ "SYN, SACK only: MSS, NOP NOP SACK_PERM",
	  { .has_mss = true, .mss = 536, .sack_ok = true },
	  8, { 2, 4, 2, 0x18, 1, 1, 4, 2 } },
	{ "SYN, MSS and WS: MSS, NOP WS",
	  { .has_mss = true, .mss = 1460, .has_wscale = true, .wscale = 14 },
	  8, { 2, 4, 5, 0xb4, 1, 3, 3, 14 } },
	{ "data, TS: NOP NOP TS",
	  { .has_ts = true, .ts_val = 0x01020304, .ts_ecr = 0x05060708 },
	  12, { 1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8 } },
	{ "data, TS + 1 SACK: NOP NOP TS, NOP NOP SACK",
	  { .has_ts = true, .ts_val = 9, .ts_ecr = 10, .nsack = 1,
	    .sack = { { 0x100, 0x200 } } },
	  24, { 1, 1, 8, 10, 0, 0, 0, 9, 0, 0, 0, 10,
		1, 1, 5, 10, 0, 0, 1, 0, 0, 0, 2, 0 } },
	{ "data, 2 SACK without TS",
	  { .nsack = 2, .sack = { { 1, 2 }, { 3, 4 } } },
	  20, { 1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4 } },
	{ "no options", { .mss = 99 }, 0, { 0 } },
};

static void test_linux_emit_option_layouts(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(layout_rows); i++) {
		printf("# row %zu: %s\n", i, layout_rows[i].what);
		struct tcp_seg s = { .saddr = SADDR, .daddr = DADDR,
				     .flags = TH_ACK, .opt = layout_rows[i].opt };
		uint8_t out[TCP_HDR_MAX];
		assert_int_equal(tcp_options_len(&s.opt), layout_rows[i].len);
		assert_int_equal(tcp_emit(&s, out), TCP_HDR_MIN + layout_rows[i].len);
		assert_int_equal(out[12] >> 4, (TCP_HDR_MIN + layout_rows[i].len) / 4);
		if (layout_rows[i].len > 0)
			assert_memory_equal(out + TCP_HDR_MIN, layout_rows[i].bytes,
					    layout_rows[i].len);
	}
}

/* Linux: SACK blocks are limited by the 40 option bytes: 3 next to
 * timestamps, 4 without. */
static void test_linux_sack_blocks_limited_by_option_space(void **state)
{
	(void)state;
	struct tcp_opts o = { .nsack = 4, .sack = { { 1, 2 }, { 3, 4 }, { 5, 6 }, { 7, 8 } } };
	assert_int_equal(tcp_options_len(&o), 36);
	o.has_ts = true;
	assert_int_equal(tcp_options_len(&o), 40);
	struct tcp_seg s = { .saddr = SADDR, .daddr = DADDR, .flags = TH_ACK, .opt = o };
	uint8_t out[TCP_HDR_MAX];
	assert_int_equal(tcp_emit(&s, out), 60);
	struct tcp_seg p;
	assert_int_equal(tcp_parse(out, 60, SADDR, DADDR, false, &p), TCP_OK);
	assert_int_equal(p.opt.nsack, 3);
	assert_int_equal(p.opt.sack[2].start, 5);
	assert_int_equal(p.opt.sack[2].end, 6);
}

static void assert_opts_equal(const struct tcp_opts *a, const struct tcp_opts *b)
{
	assert_int_equal(a->has_mss, b->has_mss);
	if (a->has_mss)
		assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->has_wscale, b->has_wscale);
	if (a->has_wscale)
		assert_int_equal(a->wscale, b->wscale);
	assert_int_equal(a->sack_ok, b->sack_ok);
	assert_int_equal(a->has_ts, b->has_ts);
	if (a->has_ts) {
		assert_int_equal(a->ts_val, b->ts_val);
		assert_int_equal(a->ts_ecr, b->ts_ecr);
	}
	assert_int_equal(a->nsack, b->nsack);
	for (int i = 0; i < a->nsack; i++) {
		assert_int_equal(a->sack[i].start, b->sack[i].start);
		assert_int_equal(a->sack[i].end, b->sack[i].end);
	}
}

/* parse(emit(x)) == x for every combination of the four option flags,
 * 0..3 SACK blocks (all fit in every combination that has no MSS/WS),
 * several flag sets and payload lengths (odd ones test checksum padding). */
static void test_rfc9293_emit_parse_round_trip(void **state)
{
	(void)state;
	static const uint8_t flag_sets[] = { TH_SYN, TH_SYN | TH_ACK, TH_ACK,
					     TH_ACK | TH_PSH, TH_FIN | TH_ACK,
					     TH_RST, TH_ACK | TH_URG | TH_ECE | TH_CWR };
	static const uint32_t plens[] = { 0, 1, 3, 100 };
	unsigned rows = 0;

	for (unsigned mask = 0; mask < 16; mask++)
	for (unsigned nsack = 0; nsack <= 3; nsack++)
	for (size_t f = 0; f < TL_ARRAY_SIZE(flag_sets); f++)
	for (size_t pl = 0; pl < TL_ARRAY_SIZE(plens); pl++) {
		struct tcp_seg s = {
			.saddr = SADDR + mask, .daddr = DADDR ^ (nsack << 8),
			.sport = (uint16_t)(1000 + mask), .dport = 443,
			.seq = 0xfffffff0u + mask * 7919u, .ack = 0x80000000u ^ mask,
			.flags = flag_sets[f], .wnd = (uint16_t)(65535 - mask),
			.urp = (flag_sets[f] & TH_URG) ? 5 : 0,
		};
		s.opt.has_mss = mask & 1;
		s.opt.mss = (uint16_t)(1400 + mask);
		s.opt.has_wscale = mask & 2;
		s.opt.wscale = (uint8_t)(mask % 15);
		s.opt.sack_ok = mask & 4;
		s.opt.has_ts = mask & 8;
		s.opt.ts_val = 0xdeadbeefu + mask;
		s.opt.ts_ecr = 0x01234567u * nsack;
		s.opt.nsack = (uint8_t)nsack;
		for (unsigned i = 0; i < nsack; i++) {
			s.opt.sack[i].start = 0xfffffe00u + 100 * i;
			s.opt.sack[i].end = 0xfffffe00u + 100 * i + 50;
		}
		/* Drop the SACK blocks that cannot fit (checked separately). */
		size_t fixed = 4 * s.opt.has_mss + 4 * s.opt.has_wscale +
			       (s.opt.has_ts ? 12 : 4 * s.opt.sack_ok);
		while (s.opt.nsack > 0 && fixed + 4 + 8u * s.opt.nsack > 40)
			s.opt.nsack--;

		uint8_t buf[TCP_HDR_MAX + 100];
		size_t olen = tcp_options_len(&s.opt);
		for (uint32_t i = 0; i < plens[pl]; i++)
			buf[TCP_HDR_MIN + olen + i] = (uint8_t)(i * 31 + mask);
		s.len = plens[pl];
		size_t hdr = tcp_emit(&s, buf);
		assert_int_equal(hdr, TCP_HDR_MIN + olen);

		struct tcp_seg p;
		if (tcp_parse(buf, hdr + s.len, s.saddr, s.daddr, false, &p) != TCP_OK)
			fail_msg("row mask=%u nsack=%u flags=%#x plen=%u", mask,
				 nsack, flag_sets[f], plens[pl]);
		assert_int_equal(p.saddr, s.saddr);
		assert_int_equal(p.daddr, s.daddr);
		assert_int_equal(p.sport, s.sport);
		assert_int_equal(p.dport, s.dport);
		assert_int_equal(p.seq, s.seq);
		assert_int_equal(p.ack, s.ack);
		assert_int_equal(p.flags, s.flags);
		assert_int_equal(p.wnd, s.wnd);
		assert_int_equal(p.urp, s.urp);
		assert_int_equal(p.hdr_len, hdr);
		assert_int_equal(p.len, s.len);
		assert_ptr_equal(p.payload, buf + hdr);
		assert_opts_equal(&p.opt, &s.opt);
		rows++;
	}
	assert_int_equal(rows, 16 * 4 * TL_ARRAY_SIZE(flag_sets) * TL_ARRAY_SIZE(plens));
}

/* STYLE.md §3: fewer than 20 bytes is dropped first. */
static void test_rfc9293_parse_too_short(void **state)
{
	(void)state;
	struct tcp_seg s;
	assert_int_equal(tcp_parse(linux_syn, 19, SADDR, DADDR, true, &s),
			 TCP_DROP_TOO_SHORT);
	assert_int_equal(tcp_parse(linux_syn, 0, SADDR, DADDR, true, &s),
			 TCP_DROP_TOO_SHORT);
}

/* RFC 9293 §3.1: data offset below 5 words is malformed. */
static void test_rfc9293_parse_doff_below_five(void **state)
{
	(void)state;
	uint8_t buf[40];
	struct tcp_seg s;
	memcpy(buf, linux_syn, sizeof(buf));
	buf[12] = 0x40;
	assert_int_equal(tcp_parse(buf, 40, SADDR, DADDR, true, &s),
			 TCP_DROP_BAD_DOFF);
	buf[12] = 0x00;
	assert_int_equal(tcp_parse(buf, 40, SADDR, DADDR, true, &s),
			 TCP_DROP_BAD_DOFF);
}

/* The header length must fit in the buffer (checked before the checksum). */
static void test_rfc9293_parse_doff_beyond_buffer(void **state)
{
	(void)state;
	struct tcp_seg s;
	/* a 40-byte header offered as 36 bytes */
	assert_int_equal(tcp_parse(linux_syn, 36, SADDR, DADDR, false, &s),
			 TCP_DROP_BAD_DOFF);
	uint8_t buf[40];
	memcpy(buf, linux_syn, sizeof(buf));
	buf[12] = 0xf0; /* 60 bytes claimed */
	assert_int_equal(tcp_parse(buf, 40, SADDR, DADDR, false, &s),
			 TCP_DROP_BAD_DOFF);
}

/* RFC 9293 §3.1 MUST-2/3: a wrong checksum drops the segment; any flipped
 * bit or the wrong pseudo-header address is caught; csum_ok skips it. */
static void test_rfc9293_parse_bad_checksum(void **state)
{
	(void)state;
	uint8_t buf[40];
	struct tcp_seg s;
	for (size_t i = 0; i < sizeof(buf); i++) {
		memcpy(buf, linux_syn, sizeof(buf));
		if (i == 12)
			continue; /* changing doff is caught earlier */
		buf[i] ^= 0x10;
		if (tcp_parse(buf, 40, SADDR, DADDR, false, &s) != TCP_DROP_BAD_CSUM)
			fail_msg("flipped byte %zu not caught", i);
	}
	assert_int_equal(tcp_parse(linux_syn, 40, SADDR, DADDR + 1, false, &s),
			 TCP_DROP_BAD_CSUM);
	memcpy(buf, linux_syn, sizeof(buf));
	buf[16] ^= 0xff;
	assert_int_equal(tcp_parse(buf, 40, SADDR, DADDR, true, &s), TCP_OK);
}

/* The payload is what follows the header; the checksum covers it. */
static void test_rfc9293_parse_payload(void **state)
{
	(void)state;
	uint8_t buf[64];
	static const uint8_t nopnopts[12] = { 1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 8 };
	size_t n = build_raw(buf, nopnopts, 12, (const uint8_t *)"hello", 5);
	struct tcp_seg s;
	assert_int_equal(tcp_parse(buf, n, SADDR, DADDR, false, &s), TCP_OK);
	assert_int_equal(s.hdr_len, 32);
	assert_int_equal(s.len, 5);
	assert_memory_equal(s.payload, "hello", 5);
	assert_true(s.opt.has_ts);
	assert_int_equal(s.opt.ts_val, 7);
	assert_int_equal(s.opt.ts_ecr, 8);
	buf[n - 1] ^= 1;
	assert_int_equal(tcp_parse(buf, n, SADDR, DADDR, false, &s),
			 TCP_DROP_BAD_CSUM);
}

/* Option walk rows: raw option bytes and what must come out. */
static const struct {
	const char *what;
	uint8_t bytes[40];
	size_t len;
	struct tcp_opts want;
} walk_rows[] = {
	{ "EOL stops the walk: TS after it is ignored",
	  { 2, 4, 0x05, 0xb4, 0, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2 }, 16,
	  { .has_mss = true, .mss = 1460 } },
	{ "length 0 ends the walk, earlier options stand",
	  { 2, 4, 0x05, 0xb4, 30, 0, 1, 3, 3, 7, 0, 0 }, 12,
	  { .has_mss = true, .mss = 1460 } },
	{ "length 1 ends the walk",
	  { 1, 1, 4, 2, 30, 1, 1, 3, 3, 7, 0, 0 }, 12,
	  { .sack_ok = true } },
	{ "length over the end ends the walk",
	  { 4, 2, 1, 1, 8, 12, 0, 0, 0, 1, 0, 0 }, 12,
	  { .sack_ok = true } },
	{ "kind in the last byte without a length ends the walk",
	  { 4, 2, 1, 3 }, 4,
	  { .sack_ok = true } },
	{ "MSS with length 3 skipped, later WS still read",
	  { 2, 3, 5, 1, 3, 3, 9, 0 }, 8,
	  { .has_wscale = true, .wscale = 9 } },
	{ "WS with length 4 skipped, later SACK_PERM still read",
	  { 3, 4, 7, 0, 4, 2, 0, 0 }, 8,
	  { .sack_ok = true } },
	{ "TS with length 8 skipped, later MSS still read",
	  { 8, 8, 0, 0, 0, 1, 0, 0, 2, 4, 0x02, 0x18 }, 12,
	  { .has_mss = true, .mss = 536 } },
	{ "SACK_PERM with length 3 skipped, later TS still read",
	  { 4, 3, 0, 1, 1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6 }, 16,
	  { .has_ts = true, .ts_val = 5, .ts_ecr = 6 } },
	{ "SACK with length 11 skipped, later WS read",
	  { 5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 3, 4, 0, 0 }, 16,
	  { .has_wscale = true, .wscale = 4 } },
	{ "SACK with length 2 (no block) skipped",
	  { 5, 2, 4, 2 }, 4,
	  { .sack_ok = true } },
	{ "unknown kind skipped by its length",
	  { 30, 6, 9, 9, 9, 9, 2, 4, 0x05, 0xb4, 0, 0 }, 12,
	  { .has_mss = true, .mss = 1460 } },
	{ "two SACK blocks",
	  { 1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40 }, 20,
	  { .nsack = 2, .sack = { { 10, 20 }, { 30, 40 } } } },
	{ "all NOPs", { 1, 1, 1, 1 }, 4, { 0 } },
	{ "empty", { 0 }, 0, { 0 } },
};

/* STYLE.md §3 / Linux tcp_parse_options: the walk rules, row by row. */
static void test_linux_option_walk(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(walk_rows); i++) {
		printf("# row %zu: %s\n", i, walk_rows[i].what);
		struct tcp_opts o;
		memset(&o, 0xaa, sizeof(o)); /* the walk must clear stale fields */
		tcp_parse_options(walk_rows[i].bytes, walk_rows[i].len, &o);
		assert_opts_equal(&o, &walk_rows[i].want);
	}
}

/* Malformed options never drop the segment itself. */
static void test_linux_bad_options_keep_segment(void **state)
{
	(void)state;
	static const uint8_t opts[4] = { 8, 0, 1, 1 };
	uint8_t buf[64];
	size_t n = build_raw(buf, opts, 4, (const uint8_t *)"x", 1);
	struct tcp_seg s;
	assert_int_equal(tcp_parse(buf, n, SADDR, DADDR, false, &s), TCP_OK);
	assert_false(s.opt.has_ts);
	assert_int_equal(s.len, 1);
	assert_int_equal(s.payload[0], 'x');
}

static const struct {
	uint8_t flags;
	const char *str;
} flag_rows[] = {
	{ TH_SYN, "S" },
	{ TH_SYN | TH_ACK, "S." },
	{ TH_ACK, "." },
	{ TH_FIN | TH_ACK, "F." },
	{ TH_PSH | TH_ACK, "P." },
	{ TH_RST, "R" },
	{ TH_RST | TH_ACK, "R." },
	{ TH_FIN | TH_PSH | TH_ACK, "FP." },
	{ TH_SYN | TH_ECE | TH_CWR, "SEW" },
	{ TH_ACK | TH_URG, ".U" },
	{ 0xff, "FSRP.UEW" },
	{ 0, "none" },
};

/* tcpdump's flag letters and order, as people read them in traces. */
static void test_tcp_flags_str_tcpdump_style(void **state)
{
	(void)state;
	for (size_t i = 0; i < TL_ARRAY_SIZE(flag_rows); i++) {
		char buf[9];
		printf("# row %zu: %s\n", i, flag_rows[i].str);
		assert_string_equal(tcp_flags_str(flag_rows[i].flags, buf),
				    flag_rows[i].str);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_emit_syn_bytes_exact),
		cmocka_unit_test(test_rfc9293_parse_linux_syn),
		cmocka_unit_test(test_linux_emit_option_layouts),
		cmocka_unit_test(test_linux_sack_blocks_limited_by_option_space),
		cmocka_unit_test(test_rfc9293_emit_parse_round_trip),
		cmocka_unit_test(test_rfc9293_parse_too_short),
		cmocka_unit_test(test_rfc9293_parse_doff_below_five),
		cmocka_unit_test(test_rfc9293_parse_doff_beyond_buffer),
		cmocka_unit_test(test_rfc9293_parse_bad_checksum),
		cmocka_unit_test(test_rfc9293_parse_payload),
		cmocka_unit_test(test_linux_option_walk),
		cmocka_unit_test(test_linux_bad_options_keep_segment),
		cmocka_unit_test(test_tcp_flags_str_tcpdump_style),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
