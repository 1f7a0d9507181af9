/* TCP sequence-number arithmetic (RFC 9293 §3.4): sequence numbers live in
 * a 2^32 circle, so "before" and "after" are decided by the sign of the
 * 32-bit difference, never by a bare `<`. Header only, pure; any thread.
 *
 * The comparisons are meaningful only for numbers less than 2^31 apart,
 * which TCP's windows guarantee. */
#ifndef TL_NETEMU_TCP_SEQ_H
#define TL_NETEMU_TCP_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* The difference a - b as a signed 32-bit value. The conversion of an
 * out-of-range uint32_t to int32_t is implementation-defined in C17;
 * every compiler we build with wraps, and the static check below makes
 * that assumption visible. */
static inline int32_t seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}

_Static_assert((int32_t)0xffffffffu == -1, "two's-complement wrap assumed");

/* a comes strictly before b. */
static inline bool seq_lt(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) < 0;
}

static inline bool seq_leq(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) <= 0;
}

static inline bool seq_gt(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) > 0;
}

static inline bool seq_geq(uint32_t a, uint32_t b)
{
	return seq_diff(a, b) >= 0;
}

/* lo <= x < hi on the circle. Measured as offsets from lo so that a range
 * straddling 2^32 works; an empty range (lo == hi) contains nothing. */
static inline bool seq_in(uint32_t x, uint32_t lo, uint32_t hi)
{
	return x - lo < hi - lo;
}

/* The later of two sequence numbers. */
static inline uint32_t seq_max(uint32_t a, uint32_t b)
{
	return seq_gt(a, b) ? a : b;
}

/* The earlier of two sequence numbers. */
static inline uint32_t seq_min(uint32_t a, uint32_t b)
{
	return seq_lt(a, b) ? a : b;
}

#endif
