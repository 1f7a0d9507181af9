/* Unit tests for checksum.c: the Internet checksum of RFC 1071 (worked
 * examples, odd lengths, carries, incremental sums) and the IPv4
 * pseudo-header sum used by TCP and UDP. */
#include "frames.h"

#include "checksum.h"
#include "prng.h"

/* RFC 1071 §3: the numerical example, 00 01 f2 03 f4 f5 f6 f7. */
static void test_rfc1071_worked_example(void **state)
{
	(void)state;
	static const uint8_t b[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	uint32_t sum = csum_add(0, b, sizeof(b));
	/* 0x0001 + 0xf203 + 0xf4f5 + 0xf6f7 = 0x2ddf0, folds to 0xddf2. */
	assert_int_equal(csum_fold(sum), (uint16_t)~0xddf2);
	assert_int_equal(csum_buf(b, sizeof(b)), 0x220d);
}

/* RFC 791: a known IPv4 header (192.168.0.1 -> 192.168.0.199, UDP) has
 * checksum 0xb861, and the header with it in place sums to 0. */
static void test_rfc791_ipv4_header_checksum(void **state)
{
	(void)state;
	uint8_t h[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			  0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	assert_int_equal(csum_buf(h, sizeof(h)), 0xb861);
	put_be16(h + 10, 0xb861);
	assert_int_equal(csum_buf(h, sizeof(h)), 0);
	h[8] = 0x3f; /* one changed byte is detected */
	assert_int_not_equal(csum_buf(h, sizeof(h)), 0);
}

/* RFC 1071 §4.1: an odd trailing byte is padded with a zero byte. */
static void test_rfc1071_odd_length_pads_with_zero(void **state)
{
	(void)state;
	static const uint8_t odd[3] = { 0x12, 0x34, 0x56 };
	static const uint8_t even[4] = { 0x12, 0x34, 0x56, 0x00 };
	assert_int_equal(csum_buf(odd, 3), csum_buf(even, 4));
	assert_int_equal(csum_buf(odd, 3), (uint16_t)~(0x1234 + 0x5600));
	static const uint8_t one[1] = { 0xab };
	assert_int_equal(csum_buf(one, 1), (uint16_t)~0xab00);
}

/* The empty buffer and all-zero data give 0xffff; all-ones data 0. */
static void test_rfc1071_zero_and_ones(void **state)
{
	(void)state;
	uint8_t z[64] = { 0 };
	assert_int_equal(csum_buf(z, 0), 0xffff);
	assert_int_equal(csum_buf(z, sizeof(z)), 0xffff);
	uint8_t ones[64];
	memset(ones, 0xff, sizeof(ones));
	assert_int_equal(csum_buf(ones, sizeof(ones)), 0);
}

/* End-around carry: a sum far beyond 32 bits (a 64 KiB jumbo of 0xff) and
 * a running sum near its top still fold correctly. */
static void test_rfc1071_end_around_carry(void **state)
{
	(void)state;
	size_t n = 70000;
	uint8_t *big = malloc(n);
	assert_non_null(big);
	memset(big, 0xff, n);
	assert_int_equal(csum_buf(big, n), 0);
	big[n - 1] = 0xfe; /* 0xffff * k - 1 folds to 0xfffe */
	assert_int_equal(csum_buf(big, n), 1);
	free(big);

	static const uint8_t one[2] = { 0x00, 0x01 };
	uint32_t s = csum_add(0xffffffffu, one, 2);
	/* 0xffffffff is 0xffff + 0xffff = negative zero; +1 is 1. */
	assert_int_equal(csum_fold(s), 0xfffe);
	assert_int_equal(csum_fold(0x1fffe), 0);
	/* 0xffff + 0x0001 carries into 0x0001. */
	assert_int_equal(csum_fold(0xffff0001u), 0xfffe);
}

/* RFC 1071 §2(B): the sum is associative, so a buffer may be summed in
 * even-sized pieces, in any grouping. */
static void test_rfc1071_incremental_even_chunks(void **state)
{
	(void)state;
	uint8_t b[301];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 37 + 11);
	uint32_t s = 0;
	s = csum_add(s, b, 100);
	s = csum_add(s, b + 100, 2);
	s = csum_add(s, b + 102, 0);
	s = csum_add(s, b + 102, sizeof(b) - 102);
	assert_int_equal(csum_fold(s), csum_buf(b, sizeof(b)));
}

/* RFC 768/9293: the pseudo-header sum equals the sum of the 12 bytes
 * src, dst, zero, proto, length; a datagram checksummed over it verifies. */
static void test_rfc768_pseudo_header(void **state)
{
	(void)state;
	uint32_t src = 0xc6120002u, dst = 0xc6120001u;
	uint8_t ph[12];
	put_be32(ph, src);
	put_be32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = 17;
	put_be16(ph + 10, 13);
	assert_int_equal(csum_fold(csum_pseudo_ipv4(src, dst, 17, 13)), csum_buf(ph, 12));

	/* A UDP datagram built by frames.h (independent sum) verifies with
	 * the code's pseudo-header sum, and one flipped bit does not. */
	uint8_t udp[32];
	static const uint8_t data[5] = { 'h', 'e', 'l', 'l', 'o' };
	size_t n = f_udp(udp, src, dst, 40000, 9, data, sizeof(data), true);
	assert_int_equal(n, 13);
	uint32_t s = csum_pseudo_ipv4(src, dst, 17, (uint16_t)n);
	assert_int_equal(csum_fold(csum_add(s, udp, n)), 0);
	udp[9] ^= 0x01;
	assert_int_not_equal(csum_fold(csum_add(csum_pseudo_ipv4(src, dst, 17, (uint16_t)n),
						  udp, n)), 0);
	/* The extreme addresses carry too. */
	assert_int_equal(csum_fold(csum_pseudo_ipv4(0xffffffffu, 0xffffffffu, 255, 0xffff)),
			 f_csum((const uint8_t[12]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
						     0xff, 0xff, 0, 255, 0xff, 0xff }, 12));
}

/* The code agrees with an independent byte-at-a-time sum on random
 * buffers of every length up to 1600 bytes, at any alignment. */
static void test_rfc1071_matches_reference_on_random_data(void **state)
{
	(void)state;
	struct prng r = { .state = 0x5eed1071 };
	uint8_t buf[1600 + 8];
	for (int round = 0; round < 2000; round++) {
		size_t off = prng_next(&r) % 8;
		size_t len = prng_next(&r) % 1601;
		for (size_t i = 0; i < len; i++)
			buf[off + i] = (uint8_t)prng_next(&r);
		if (csum_buf(buf + off, len) != f_csum(buf + off, len))
			fail_msg("round %d: len %zu off %zu: code 0x%04x, reference 0x%04x",
				 round, len, off, csum_buf(buf + off, len), f_csum(buf + off, len));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1071_worked_example),
		cmocka_unit_test(test_rfc791_ipv4_header_checksum),
		cmocka_unit_test(test_rfc1071_odd_length_pads_with_zero),
		cmocka_unit_test(test_rfc1071_zero_and_ones),
		cmocka_unit_test(test_rfc1071_end_around_carry),
		cmocka_unit_test(test_rfc1071_incremental_even_chunks),
		cmocka_unit_test(test_rfc768_pseudo_header),
		cmocka_unit_test(test_rfc1071_matches_reference_on_random_data),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
