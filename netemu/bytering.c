/* Growable byte ring for TCP send and receive buffers (see bytering.h). */
#include "bytering.h"

#include <stdlib.h>
#include <string.h>

#include "tl_types.h"

int bytering_init(struct bytering *r, size_t max)
{
	r->buf = NULL;
	r->cap = 0;
	r->head = 0;
	r->len = 0;
	r->max = max;
	return 0;
}

void bytering_fini(struct bytering *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
	r->head = 0;
	r->len = 0;
}

void bytering_set_max(struct bytering *r, size_t max)
{
	r->max = max;
}

size_t bytering_space(const struct bytering *r)
{
	return r->len >= r->max ? 0 : r->max - r->len;
}

/* Makes cap >= need (need <= max). Growth linearizes the contents so the
 * head moves to 0. Returns false when the allocation fails. */
static bool grow(struct bytering *r, size_t need)
{
	size_t ncap = r->cap ? r->cap : BYTERING_MIN_ALLOC;
	uint8_t *nbuf;

	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? SIZE_MAX : ncap * 2;
	/* Never allocate past the limit: a 5000-byte ring gets 5000 bytes. */
	if (ncap > r->max && r->max >= need)
		ncap = r->max;
	nbuf = malloc(ncap);
	if (!nbuf)
		return false;
	if (r->len) {
		size_t first = TL_MIN(r->len, r->cap - r->head);
		memcpy(nbuf, r->buf + r->head, first);
		memcpy(nbuf + first, r->buf, r->len - first);
	}
	free(r->buf);
	r->buf = nbuf;
	r->cap = ncap;
	r->head = 0;
	return true;
}

size_t bytering_write(struct bytering *r, const uint8_t *p, size_t n)
{
	size_t tail, first;

	n = TL_MIN(n, bytering_space(r));
	if (n == 0)
		return 0;
	if (r->len + n > r->cap && !grow(r, r->len + n)) {
		/* Out of memory: keep what fits in the current allocation. */
		n = r->cap - r->len;
		if (n == 0)
			return 0;
	}
	tail = r->head + r->len;
	if (tail >= r->cap)
		tail -= r->cap;
	first = TL_MIN(n, r->cap - tail);
	memcpy(r->buf + tail, p, first);
	memcpy(r->buf, p + first, n - first);
	r->len += n;
	return n;
}

unsigned bytering_spans(const struct bytering *r, size_t off, size_t n,
			struct bytering_span sp[2])
{
	size_t start, first;

	if (off >= r->len)
		return 0;
	n = TL_MIN(n, r->len - off);
	if (n == 0)
		return 0;
	start = r->head + off;
	if (start >= r->cap)
		start -= r->cap;
	first = TL_MIN(n, r->cap - start);
	sp[0].p = r->buf + start;
	sp[0].len = first;
	if (first == n)
		return 1;
	sp[1].p = r->buf;
	sp[1].len = n - first;
	return 2;
}

size_t bytering_peek(const struct bytering *r, size_t off, uint8_t *out,
		     size_t n)
{
	struct bytering_span sp[2];
	unsigned k = bytering_spans(r, off, n, sp);
	size_t done = 0;

	for (unsigned i = 0; i < k; i++) {
		memcpy(out + done, sp[i].p, sp[i].len);
		done += sp[i].len;
	}
	return done;
}

void bytering_drop(struct bytering *r, size_t n)
{
	n = TL_MIN(n, r->len);
	r->len -= n;
	if (r->len == 0) {
		/* Restart at 0 so the next write is one contiguous span. */
		r->head = 0;
		return;
	}
	r->head += n;
	if (r->head >= r->cap)
		r->head -= r->cap;
}

size_t bytering_read(struct bytering *r, uint8_t *out, size_t n)
{
	size_t got = bytering_peek(r, 0, out, n);

	bytering_drop(r, got);
	return got;
}

void bytering_trim(struct bytering *r)
{
	if (r->len == 0 && r->buf) {
		free(r->buf);
		r->buf = NULL;
		r->cap = 0;
		r->head = 0;
	}
}
