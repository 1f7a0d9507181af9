/* The out-of-order receive queue: data that arrived beyond rcv_nxt, kept as
 * sorted, disjoint byte ranges until the hole before them is filled
 * (RFC 9293 §3.10.7.4 step 7 lets a receiver keep such segments; Linux
 * does, in its ofo queue).
 *
 * - Overlaps are trimmed, never overwritten: bytes already queued win over
 *   bytes that arrive again (a retransmission carrying different data for
 *   the same sequence numbers does not change what the application reads).
 * - Touching or overlapping ranges merge, so there is one range per hole.
 * - Memory is bounded: data bytes plus TCP_OFO_RANGE_COST per range must
 *   stay within max_bytes (the per-range charge bounds the number of ranges
 *   a flood of 1-byte fragments can create, the way Linux charges skb
 *   overhead). An insert that would exceed it stores nothing and returns
 *   -ENOBUFS; the caller counts TCPOFODrop.
 * - SACK blocks (RFC 2018 §4) come out most recently changed first.
 *
 * Sequence numbers are compared on the 2^32 circle (tcp_seq.h); all queued
 * data must lie within 2^31 of rcv_nxt, which the receive window ensures.
 * Pure; owned by the connection's thread (the loop thread). */
#ifndef TL_NETEMU_TCP_OFO_H
#define TL_NETEMU_TCP_OFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytering.h"
#include "tcp_wire.h"

/* Bytes charged against max_bytes for each stored range. */
#define TCP_OFO_RANGE_COST 64

struct tcp_ofo_range; /* private to tcp_ofo.c */

/* Invariants (tcp_ofo_check): ranges run head..tail in increasing sequence
 * order with at least one missing byte between neighbours; none is empty;
 * `bytes` is the sum of their lengths and `nranges` their number;
 * bytes + nranges * TCP_OFO_RANGE_COST <= max_bytes unless max_bytes was
 * lowered after the data arrived. */
struct tcp_ofo {
	struct tcp_ofo_range *head, *tail;
	size_t bytes;      /* data bytes stored */
	size_t max_bytes;  /* limit on bytes + per-range charge */
	unsigned nranges;
	uint64_t stamp;    /* counts inserts; orders SACK blocks by recency */
};

void tcp_ofo_init(struct tcp_ofo *q, size_t max_bytes);
void tcp_ofo_fini(struct tcp_ofo *q);

/* Changes the limit (rcvbuf autotuning, SO_RCVBUF); stored data stays. */
void tcp_ofo_set_max(struct tcp_ofo *q, size_t max_bytes);

/* Stores [seq, seq + len), keeping already-queued bytes where they overlap.
 * *added (if not NULL) receives the number of bytes that were new: 0 means
 * the segment was a complete duplicate (a D-SACK candidate, RFC 2883).
 * Returns 0 when stored (a duplicate counts as stored and refreshes its
 * block's SACK recency), -ENOBUFS when the limit would be exceeded (nothing
 * stored), -ENOMEM when allocation fails, -EINVAL for len >= 2^31. */
int tcp_ofo_add(struct tcp_ofo *q, uint32_t seq, const uint8_t *data,
		uint32_t len, uint32_t *added);

/* tcp_ofo_add without the byte count. */
int tcp_ofo_insert(struct tcp_ofo *q, uint32_t seq, const uint8_t *data,
		   uint32_t len);

/* Discards queued data below rcv_nxt, then moves the bytes contiguous with
 * rcv_nxt into `out` (at most `space` bytes and what `out` accepts).
 * Returns the number moved; the caller advances rcv_nxt by it. */
uint32_t tcp_ofo_pull(struct tcp_ofo *q, uint32_t rcv_nxt,
		      struct bytering *out, size_t space);

/* Fills up to `max` SACK blocks [start, end): first the block holding the
 * most recently received segment, then the others from most to least
 * recently changed (RFC 2018 §4). Returns the number filled. */
unsigned tcp_ofo_sack_blocks(const struct tcp_ofo *q,
			     struct tcp_sack_block *out, unsigned max);

size_t tcp_ofo_bytes(const struct tcp_ofo *q);
bool tcp_ofo_empty(const struct tcp_ofo *q);

static inline unsigned tcp_ofo_nranges(const struct tcp_ofo *q)
{
	return q->nranges;
}

/* The highest queued sequence number + 1 (end of the last range); only
 * meaningful when the queue is not empty. */
uint32_t tcp_ofo_end(const struct tcp_ofo *q);

/* Checks the invariants above (tests, debug builds); O(ranges). */
bool tcp_ofo_check(const struct tcp_ofo *q);

#endif
