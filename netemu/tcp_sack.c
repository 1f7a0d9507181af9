/* SACK scoreboard (see tcp_sack.h). Ranges are few (a window's holes), so
 * a sorted array with insertion and merging is simplest. */
#include "tcp_sack.h"

#include <string.h>

#include "tcp_seq.h"

void tcp_sack_clear(struct tcp_sack_board *b)
{
	b->n = 0;
}

static void remove_at(struct tcp_sack_board *b, unsigned i)
{
	memmove(&b->r[i], &b->r[i + 1], (size_t)(b->n - i - 1) * sizeof(b->r[0]));
	b->n--;
}

static void trim_below(struct tcp_sack_board *b, uint32_t snd_una)
{
	while (b->n && seq_leq(b->r[0].end, snd_una))
		remove_at(b, 0);
	if (b->n && seq_lt(b->r[0].start, snd_una))
		b->r[0].start = snd_una;
}

static void insert(struct tcp_sack_board *b, uint32_t start, uint32_t end)
{
	unsigned i = 0;
	while (i < b->n && seq_lt(b->r[i].end, start))
		i++;
	/* Merge every range that overlaps or touches [start, end). */
	while (i < b->n && seq_leq(b->r[i].start, end)) {
		start = seq_min(start, b->r[i].start);
		end = seq_max(end, b->r[i].end);
		remove_at(b, i);
	}
	if (b->n == TCP_SACK_BOARD_MAX) {
		/* Full: forget the highest range; recovery then treats it as
		 * not received, which only costs a spurious retransmission. */
		if (i == b->n)
			return;
		b->n--;
	}
	memmove(&b->r[i + 1], &b->r[i], (size_t)(b->n - i) * sizeof(b->r[0]));
	b->r[i].start = start;
	b->r[i].end = end;
	b->n++;
}

void tcp_sack_update(struct tcp_sack_board *b, const struct tcp_opts *o, uint32_t snd_una,
		     uint32_t snd_max)
{
	trim_below(b, snd_una);
	for (unsigned k = 0; k < o->nsack; k++) {
		uint32_t s = o->sack[k].start, e = o->sack[k].end;
		if (!seq_lt(s, e) || seq_leq(e, snd_una) || seq_gt(e, snd_max))
			continue; /* RFC 6675 §5: only blocks above SND.UNA count */
		insert(b, seq_max(s, snd_una), e);
	}
}

uint32_t tcp_sack_bytes_above(const struct tcp_sack_board *b, uint32_t seq)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < b->n; i++)
		if (seq_gt(b->r[i].end, seq))
			n += b->r[i].end - seq_max(b->r[i].start, seq);
	return n;
}

bool tcp_sack_next_hole(const struct tcp_sack_board *b, uint32_t from, uint32_t *start,
			uint32_t *len)
{
	uint32_t p = from;
	for (unsigned i = 0; i < b->n; i++) {
		if (seq_leq(b->r[i].end, p))
			continue;
		if (seq_lt(p, b->r[i].start)) {
			*start = p;
			*len = b->r[i].start - p;
			return true;
		}
		p = b->r[i].end; /* p is inside a SACKed range: skip past it */
	}
	return false; /* nothing below the highest SACKed byte is missing */
}
