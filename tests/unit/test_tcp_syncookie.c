/* Unit tests for tcp_syncookie.c: Linux's IPv4 SYN cookie (reference §4):
 * the exact layout of the ISN, the MSS table, the two-minute validity,
 * refusal of forged cookies, and the options carried in the timestamp. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "tcp_seq.h"
#include "tcp_syncookie.h"
#include "tl_types.h"

#define CLIENT 0xc0a80a02u /* 192.168.10.2 */
#define SERVER 0xc0a80a01u /* 192.168.10.1 */
#define CPORT 51000
#define SPORT 80
#define CISN 0x6b8b4567u

static struct tcp_syncookie_keys test_keys(void)
{
	uint8_t secret[32];
	for (int i = 0; i < 32; i++)
		secret[i] = (uint8_t)(i * 7 + 3);
	struct tcp_syncookie_keys k;
	tcp_syncookie_keys_init(&k, secret);
	return k;
}

/* SipHash-2-4 of the 16-byte message Linux's siphash_4u32 hashes, built
 * here by hand from the reference's formula, low 32 bits. */
static uint32_t ref_hash(const uint8_t key[16], uint32_t count)
{
	uint8_t m[16] = {
		CLIENT >> 24, (CLIENT >> 16) & 0xff, (CLIENT >> 8) & 0xff, CLIENT & 0xff,
		SERVER >> 24, (SERVER >> 16) & 0xff, (SERVER >> 8) & 0xff, SERVER & 0xff,
		SPORT >> 8, SPORT & 0xff, CPORT >> 8, CPORT & 0xff,
		(uint8_t)count, (uint8_t)(count >> 8), (uint8_t)(count >> 16),
		(uint8_t)(count >> 24),
	};
	uint8_t h[8];
	crypto_shorthash_siphash24(h, m, sizeof(m), key);
	return (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	       (uint32_t)h[3] << 24;
}

/* Reference §4: ISN = H(k0; tuple, 0) + sseq + (count << 24)
 *                   + ((H(k1; tuple, count) + mssind) mod 2^24). */
static void test_linux_syncookie_isn_layout(void **state)
{
	(void)state;
	struct tcp_syncookie_keys k;
	for (int i = 0; i < 16; i++) {
		k.k0[i] = (uint8_t)i;
		k.k1[i] = (uint8_t)(0xf0 + i);
	}
	const uint32_t count = 29123456;
	uint16_t mss;
	uint32_t isn = tcp_syncookie_make(&k, CLIENT, SERVER, CPORT, SPORT, CISN,
					  1460, count, &mss);
	uint32_t want = ref_hash(k.k0, 0) + CISN + (count << 24) +
			((ref_hash(k.k1, count) + 3) & 0xffffff);
	assert_int_equal(isn, want);
	assert_int_equal(mss, 1460);
}

/* Reference §4: the client's MSS is rounded down to 536, 1300, 1440 or
 * 1460 (below 536 still 536), and the check gives the same MSS back. */
static void test_linux_syncookie_mss_table_round_trip(void **state)
{
	(void)state;
	static const struct {
		uint16_t client, table;
	} rows[] = {
		{ 500, 536 }, { 536, 536 }, { 1299, 536 }, { 1300, 1300 },
		{ 1440, 1440 }, { 1460, 1460 }, { 9000, 1460 },
	};
	struct tcp_syncookie_keys k = test_keys();
	for (size_t i = 0; i < TL_ARRAY_SIZE(rows); i++) {
		uint16_t made = 0, checked = 0;
		printf("# row %zu: client MSS %u\n", i, rows[i].client);
		uint32_t count = tcp_syncookie_count(1000 * TL_USEC_PER_SEC);
		uint32_t isn = tcp_syncookie_make(&k, CLIENT, SERVER, CPORT, SPORT,
						  CISN + (uint32_t)i, rows[i].client,
						  count, &made);
		assert_int_equal(made, rows[i].table);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN + (uint32_t)i, count,
						     &checked), 0);
		assert_int_equal(checked, rows[i].table);
	}
}

/* Linux tcp_cookie_time(): whole minutes of the clock. */
static void test_linux_syncookie_minute_counter(void **state)
{
	(void)state;
	assert_int_equal(tcp_syncookie_count(0), 0);
	assert_int_equal(tcp_syncookie_count(59999999), 0);
	assert_int_equal(tcp_syncookie_count(60000000), 1);
	assert_int_equal(tcp_syncookie_count(3600ULL * TL_USEC_PER_SEC), 60);
}

/* Reference §4 (MAX_SYNCOOKIE_AGE 2): valid in the minute it was made and
 * the next; refused from the second minute after, and from the past. The
 * counter wraps in its 8 bits without harm. */
static void test_linux_syncookie_valid_two_minutes(void **state)
{
	(void)state;
	struct tcp_syncookie_keys k = test_keys();
	static const uint32_t counts[] = { 0, 1, 254, 255, 256, 100000, 0xffffffffu };
	for (size_t i = 0; i < TL_ARRAY_SIZE(counts); i++) {
		uint32_t c = counts[i];
		uint16_t mss;
		printf("# row %zu: count %u\n", i, c);
		uint32_t isn = tcp_syncookie_make(&k, CLIENT, SERVER, CPORT, SPORT, CISN,
						  1440, c, NULL);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN, c, &mss), 0);
		assert_int_equal(mss, 1440);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN, c + 1, &mss), 0);
		assert_int_equal(mss, 1440);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN, c + 2, &mss), -1);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN, c + 100, &mss), -1);
		assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						     isn, CISN, c - 1, &mss), -1);
	}
}

/* A cookie only validates for its own tuple, client ISN and keys; flipped
 * bits are refused. Bits 0-1 are excluded: they hold the MSS index itself,
 * so Linux (and we) may read a flip there as another valid index. */
static void test_linux_syncookie_forged_rejected(void **state)
{
	(void)state;
	struct tcp_syncookie_keys k = test_keys();
	const uint32_t c = 777;
	uint16_t mss;
	uint32_t isn = tcp_syncookie_make(&k, CLIENT, SERVER, CPORT, SPORT, CISN, 1460,
					  c, NULL);
	assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT, isn, CISN,
					     c, &mss), 0);
	for (int bit = 2; bit < 32; bit++) {
		if (tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT, isn ^ (1u << bit),
					CISN, c, &mss) == 0)
			fail_msg("cookie with bit %d flipped accepted", bit);
	}
	assert_int_equal(tcp_syncookie_check(&k, CLIENT + 1, SERVER, CPORT, SPORT, isn,
					     CISN, c, &mss), -1);
	assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER + 1, CPORT, SPORT, isn,
					     CISN, c, &mss), -1);
	assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT + 1, SPORT, isn,
					     CISN, c, &mss), -1);
	assert_int_equal(tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT + 1, isn,
					     CISN, c, &mss), -1);
	/* swapped direction */
	assert_int_equal(tcp_syncookie_check(&k, SERVER, CLIENT, SPORT, CPORT, isn,
					     CISN, c, &mss), -1);
	static const uint32_t seq_off[] = { 4, 100, 1u << 20, 1u << 24, 0x80000000u };
	for (size_t i = 0; i < TL_ARRAY_SIZE(seq_off); i++)
		if (tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT, isn,
					CISN + seq_off[i], c, &mss) == 0)
			fail_msg("client ISN off by %#x accepted", seq_off[i]);
	/* other keys */
	struct tcp_syncookie_keys other = k;
	other.k1[5] ^= 1;
	assert_int_equal(tcp_syncookie_check(&other, CLIENT, SERVER, CPORT, SPORT, isn,
					     CISN, c, &mss), -1);
	other = k;
	other.k0[0] ^= 0x80;
	assert_int_equal(tcp_syncookie_check(&other, CLIENT, SERVER, CPORT, SPORT, isn,
					     CISN, c, &mss), -1);
	/* random ACKs: essentially none validate (4 of 2^24 per counter) */
	unsigned accepted = 0;
	for (uint32_t i = 0; i < 20000; i++)
		accepted += tcp_syncookie_check(&k, CLIENT, SERVER, CPORT, SPORT,
						i * 2654435761u, CISN, c, &mss) == 0;
	assert_true(accepted <= 1);
}

/* Different secrets give different keys; the same secret the same keys. */
static void test_syncookie_keys_from_secret(void **state)
{
	(void)state;
	uint8_t a[32] = { 1 }, b[32] = { 2 };
	struct tcp_syncookie_keys ka, ka2, kb;
	tcp_syncookie_keys_init(&ka, a);
	tcp_syncookie_keys_init(&ka2, a);
	tcp_syncookie_keys_init(&kb, b);
	assert_memory_equal(&ka, &ka2, sizeof(ka));
	assert_memory_not_equal(&ka, &kb, sizeof(ka));
	assert_memory_not_equal(ka.k0, ka.k1, 16);
	/* the keys are not the secret itself */
	assert_memory_not_equal(ka.k0, a, 16);
}

/* Reference §4: options ride in the low 6 bits of TSval: window scale
 * (15 = none), SACK, ECN; decode returns what encode put in. */
static void test_linux_syncookie_timestamp_options_round_trip(void **state)
{
	(void)state;
	for (uint8_t ws = 0; ws <= 15; ws++)
	for (int sack = 0; sack < 2; sack++)
	for (int ecn = 0; ecn < 2; ecn++) {
		uint32_t ts = tcp_syncookie_ts_encode(0x12345678u, ws, sack, ecn);
		uint8_t w2;
		bool s2, e2;
		assert_true(tcp_syncookie_ts_decode(ts, &w2, &s2, &e2));
		assert_int_equal(w2, ws);
		assert_int_equal(s2, sack);
		assert_int_equal(e2, ecn);
		assert_int_equal(ts & 0x3f, ws | sack << 4 | ecn << 5);
	}
	/* the bit layout itself: WS 7, SACK => 0x17; no WS => 15 */
	assert_int_equal(tcp_syncookie_ts_encode(1000 * 64 + 63, 7, true, false) & 0x3f, 0x17);
	assert_int_equal(tcp_syncookie_ts_encode(1000 * 64 + 63, 15, false, false) & 0x3f, 0x0f);
	assert_int_equal(tcp_syncookie_ts_encode(1000 * 64 + 63, 2, false, true) & 0x3f, 0x22);
}

/* Linux cookie_init_timestamp(): the encoded TSval never exceeds the real
 * clock and lags it by less than 64 ticks (so PAWS on the peer holds). */
static void test_linux_syncookie_timestamp_never_ahead_of_clock(void **state)
{
	(void)state;
	static const uint32_t clocks[] = { 64, 100, 127, 128, 1000000, 1000063,
					   0x7fffffc0u, 0xffffffffu, 0xffffffc0u };
	for (size_t i = 0; i < TL_ARRAY_SIZE(clocks); i++)
	for (uint8_t opt = 0; opt < 64; opt++) {
		uint32_t now = clocks[i];
		uint32_t ts = tcp_syncookie_ts_encode(now, opt & 15, opt & 16, opt & 32);
		if (!(seq_leq(ts, now) && now - ts < 64))
			fail_msg("clock %u options %#x: TSval %u", now, opt, ts);
		assert_int_equal(ts & 0x3f, opt);
	}
	/* exactly on a 64 boundary with options: one block back */
	assert_int_equal(tcp_syncookie_ts_encode(6400, 7, false, false), 6400 - 64 + 7);
	/* low bits already at least the options: same block */
	assert_int_equal(tcp_syncookie_ts_encode(6400 + 50, 7, false, false), 6400 + 7);
	/* a clock below 64 wraps, like Linux's truncation to 32 bits */
	assert_int_equal(tcp_syncookie_ts_encode(5, 7, false, false), 0xffffffc7u);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_syncookie_isn_layout),
		cmocka_unit_test(test_linux_syncookie_mss_table_round_trip),
		cmocka_unit_test(test_linux_syncookie_minute_counter),
		cmocka_unit_test(test_linux_syncookie_valid_two_minutes),
		cmocka_unit_test(test_linux_syncookie_forged_rejected),
		cmocka_unit_test(test_syncookie_keys_from_secret),
		cmocka_unit_test(test_linux_syncookie_timestamp_options_round_trip),
		cmocka_unit_test(test_linux_syncookie_timestamp_never_ahead_of_clock),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
