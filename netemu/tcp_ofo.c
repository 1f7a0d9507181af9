/* Out-of-order receive queue (see tcp_ofo.h).
 *
 * Ranges live in a sorted doubly linked list searched from the tail, since
 * out-of-order data usually arrives in increasing order behind one hole.
 * Each range owns a buffer that grows geometrically when data is appended,
 * so a long run behind a hole costs amortised O(1) per segment. */
#include "tcp_ofo.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tcp_seq.h"
#include "tl_types.h"

/* Bytes [seq, seq + len) are data[off .. off + len); off + len <= cap. */
struct tcp_ofo_range {
	struct tcp_ofo_range *prev, *next;
	uint32_t seq, len;
	uint32_t off, cap;
	uint64_t stamp; /* q->stamp when last extended or hit */
	uint8_t *data;
};

static uint32_t range_end(const struct tcp_ofo_range *r)
{
	return r->seq + r->len;
}

static void range_free(struct tcp_ofo_range *r)
{
	free(r->data);
	free(r);
}

static void unlink_range(struct tcp_ofo *q, struct tcp_ofo_range *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		q->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	else
		q->tail = r->prev;
	q->nranges--;
}

void tcp_ofo_init(struct tcp_ofo *q, size_t max_bytes)
{
	q->head = NULL;
	q->tail = NULL;
	q->bytes = 0;
	q->max_bytes = max_bytes;
	q->nranges = 0;
	q->stamp = 0;
}

void tcp_ofo_fini(struct tcp_ofo *q)
{
	struct tcp_ofo_range *r = q->head;

	while (r) {
		struct tcp_ofo_range *n = r->next;
		range_free(r);
		r = n;
	}
	q->head = NULL;
	q->tail = NULL;
	q->bytes = 0;
	q->nranges = 0;
}

void tcp_ofo_set_max(struct tcp_ofo *q, size_t max_bytes)
{
	q->max_bytes = max_bytes;
}

/* Links a fresh range holding a copy of data after `after` (NULL: at the
 * head). */
static int new_range(struct tcp_ofo *q, struct tcp_ofo_range *after,
		     uint32_t seq, const uint8_t *data, uint32_t len)
{
	struct tcp_ofo_range *r = malloc(sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->data = malloc(len);
	if (!r->data) {
		free(r);
		return -ENOMEM;
	}
	memcpy(r->data, data, len);
	r->seq = seq;
	r->len = len;
	r->off = 0;
	r->cap = len;
	r->stamp = ++q->stamp;
	r->prev = after;
	r->next = after ? after->next : q->head;
	if (r->next)
		r->next->prev = r;
	else
		q->tail = r;
	if (after)
		after->next = r;
	else
		q->head = r;
	q->nranges++;
	q->bytes += len;
	return 0;
}

/* Makes r's buffer hold the merged range of `need` bytes, with r's own
 * bytes at offset `shift` in it (shift > 0 when the merge reaches below
 * r->seq); on return the merged range starts at r->data + r->off.
 * Slack is kept on both sides and grown geometrically, so data arriving
 * in increasing or in decreasing order costs amortised O(1) per byte. */
static int make_room(struct tcp_ofo_range *r, uint32_t need, uint32_t shift)
{
	uint32_t ncap, off;
	uint8_t *nb;

	/* It fits where it lies, using the slack in front and/or behind. */
	if (r->off >= shift && (uint64_t)(r->off - shift) + need <= r->cap) {
		r->off -= shift;
		return 0;
	}
	/* Enough slack overall: recentre so both sides keep room. */
	if (r->cap >= need && r->cap - need >= need / 2) {
		off = (r->cap - need) / 2;
		memmove(r->data + off + shift, r->data + r->off, r->len);
		r->off = off;
		return 0;
	}
	ncap = need <= UINT32_MAX / 2 ? 2 * need : UINT32_MAX;
	off = shift ? ncap - need : 0; /* the slack goes where it grows */
	if (off == 0 && r->off == 0) {
		nb = realloc(r->data, ncap);
		if (!nb)
			return -ENOMEM;
	} else {
		nb = malloc(ncap);
		if (!nb)
			return -ENOMEM;
		memcpy(nb + off + shift, r->data + r->off, r->len);
		free(r->data);
	}
	r->data = nb;
	r->cap = ncap;
	r->off = off;
	return 0;
}

int tcp_ofo_add(struct tcp_ofo *q, uint32_t seq, const uint8_t *data,
		uint32_t len, uint32_t *added)
{
	uint32_t end = seq + len, lo, hi, old = 0, fresh, pos;
	struct tcp_ofo_range *last, *first, *r;
	unsigned k = 0;
	size_t charge;
	uint8_t *buf;
	int err;

	if (added)
		*added = 0;
	if (len == 0)
		return 0;
	if (len >= 1u << 31)
		return -EINVAL;
	/* last: the last range starting at or before our end; it and the
	 * ranges before it that reach our start (touching counts) merge. */
	for (last = q->tail; last && seq_gt(last->seq, end); last = last->prev)
		;
	if (!last || seq_lt(range_end(last), seq)) {
		charge = q->bytes + len +
			 (q->nranges + 1) * (size_t)TCP_OFO_RANGE_COST;
		if (charge > q->max_bytes)
			return -ENOBUFS;
		err = new_range(q, last, seq, data, len);
		if (err == 0 && added)
			*added = len;
		return err;
	}
	first = last;
	while (first->prev && seq_geq(range_end(first->prev), seq))
		first = first->prev;
	for (r = first;; r = r->next) {
		old += r->len;
		k++;
		if (r == last)
			break;
	}
	lo = seq_min(seq, first->seq);
	hi = seq_max(end, range_end(last));
	fresh = (hi - lo) - old;
	if (fresh == 0) {
		/* A complete duplicate: nothing to store, but RFC 2018 wants
		 * its block reported first. */
		first->stamp = ++q->stamp;
		return 0;
	}
	charge = q->bytes + fresh +
		 (q->nranges + 1 - k) * (size_t)TCP_OFO_RANGE_COST;
	if (charge > q->max_bytes)
		return -ENOBUFS;
	err = make_room(first, hi - lo, first->seq - lo);
	if (err)
		return err;
	buf = first->data + first->off;
	/* Old bytes stay; only the holes between them take new data. Every
	 * hole lies inside [seq, end) because each merged range touches it. */
	pos = lo;
	for (r = first;; r = r->next) {
		if (r->seq != pos)
			memcpy(buf + (pos - lo), data + (pos - seq), r->seq - pos);
		if (r != first)
			memcpy(buf + (r->seq - lo), r->data + r->off, r->len);
		pos = range_end(r);
		if (r == last)
			break;
	}
	if (pos != hi)
		memcpy(buf + (pos - lo), data + (pos - seq), hi - pos);
	while (first->next && first != last) {
		r = first->next;
		unlink_range(q, r);
		if (r == last)
			last = first;
		range_free(r);
	}
	first->seq = lo;
	first->len = hi - lo;
	first->stamp = ++q->stamp;
	q->bytes += fresh;
	if (added)
		*added = fresh;
	return 0;
}

int tcp_ofo_insert(struct tcp_ofo *q, uint32_t seq, const uint8_t *data,
		   uint32_t len)
{
	return tcp_ofo_add(q, seq, data, len, NULL);
}

/* Removes n bytes from the front of r (n < r->len). */
static void trim_front(struct tcp_ofo *q, struct tcp_ofo_range *r,
		       uint32_t n)
{
	r->seq += n;
	r->off += n;
	r->len -= n;
	q->bytes -= n;
}

static void drop_range(struct tcp_ofo *q, struct tcp_ofo_range *r)
{
	q->bytes -= r->len;
	unlink_range(q, r);
	range_free(r);
}

uint32_t tcp_ofo_pull(struct tcp_ofo *q, uint32_t rcv_nxt,
		      struct bytering *out, size_t space)
{
	struct tcp_ofo_range *r;
	size_t n, wrote;

	/* Data the in-order path already delivered is of no more use. */
	while ((r = q->head) && seq_leq(range_end(r), rcv_nxt))
		drop_range(q, r);
	if (!r || seq_gt(r->seq, rcv_nxt))
		return 0;
	if (r->seq != rcv_nxt)
		trim_front(q, r, rcv_nxt - r->seq);
	/* Only the head range can be contiguous: ranges never touch. */
	n = TL_MIN((size_t)r->len, space);
	wrote = bytering_write(out, r->data + r->off, n);
	if (wrote == r->len)
		drop_range(q, r);
	else if (wrote)
		trim_front(q, r, (uint32_t)wrote);
	return (uint32_t)wrote;
}

unsigned tcp_ofo_sack_blocks(const struct tcp_ofo *q,
			     struct tcp_sack_block *out, unsigned max)
{
	uint64_t below = UINT64_MAX;
	unsigned n = 0;

	/* Selection by descending stamp; stamps are unique, and max is at
	 * most 4 on the wire, so repeated scans are cheap. */
	while (n < max) {
		const struct tcp_ofo_range *best = NULL;
		for (const struct tcp_ofo_range *r = q->head; r; r = r->next)
			if (r->stamp < below && (!best || r->stamp > best->stamp))
				best = r;
		if (!best)
			break;
		out[n].start = best->seq;
		out[n].end = range_end(best);
		n++;
		below = best->stamp;
	}
	return n;
}

size_t tcp_ofo_bytes(const struct tcp_ofo *q)
{
	return q->bytes;
}

bool tcp_ofo_empty(const struct tcp_ofo *q)
{
	return q->head == NULL;
}

uint32_t tcp_ofo_end(const struct tcp_ofo *q)
{
	return q->tail ? range_end(q->tail) : 0;
}

bool tcp_ofo_check(const struct tcp_ofo *q)
{
	size_t bytes = 0;
	unsigned n = 0;
	const struct tcp_ofo_range *prev = NULL;

	for (const struct tcp_ofo_range *r = q->head; r; r = r->next) {
		if (r->prev != prev || r->len == 0 || r->off + r->len > r->cap ||
		    r->stamp > q->stamp)
			return false;
		/* a missing byte between neighbours */
		if (prev && !seq_lt(range_end(prev), r->seq))
			return false;
		bytes += r->len;
		n++;
		prev = r;
	}
	return prev == q->tail && bytes == q->bytes && n == q->nranges;
}
