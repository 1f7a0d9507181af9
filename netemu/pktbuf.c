/* Packet buffers and their free-list pool. */
#include "pktbuf.h"

#include <stdlib.h>
#include <string.h>

#include "tl_types.h"

/* Buffers freed are kept for reuse up to this many, so a burst does not
 * pin memory forever. The pools are per thread: only the loop thread
 * builds frames. Large buffers are 33 times the size, so fewer are kept
 * (64 of them: a 4 MiB window of superframes in flight). */
#define POOL_MAX 4096
#define POOL_LARGE_MAX 64

struct pool {
	struct pktbuf *free;
	unsigned len, max;
};

static _Thread_local struct pool pools[2] = { { NULL, 0, POOL_MAX },
					       { NULL, 0, POOL_LARGE_MAX } };

static struct pktbuf *alloc_class(unsigned cls)
{
	struct pool *pl = &pools[cls];
	struct pktbuf *pb = pl->free;
	if (pb) {
		pl->free = pb->next;
		pl->len--;
	} else {
		uint32_t cap = cls ? PKTBUF_LARGE_CAPACITY : PKTBUF_CAPACITY;
		pb = malloc(sizeof(*pb) + cap);
		if (!pb)
			return NULL;
		pb->cap = cap;
	}
	pb->next = NULL;
	pb->data = pb->head + PKTBUF_HEADROOM;
	pb->len = 0;
	pb->meta = 0;
	pb->gso_size = 0;
	pb->csum_partial = 0;
	return pb;
}

struct pktbuf *pktbuf_alloc(void)
{
	return alloc_class(0);
}

struct pktbuf *pktbuf_alloc_len(size_t len)
{
	if (len <= PKTBUF_CAPACITY - PKTBUF_HEADROOM)
		return alloc_class(0);
	if (len <= PKTBUF_LARGE_CAPACITY - PKTBUF_HEADROOM)
		return alloc_class(1);
	return NULL;
}

static struct pktbuf *copy_into(struct pktbuf *pb, const uint8_t *bytes, size_t len)
{
	if (!pb)
		return NULL;
	uint8_t *p = pktbuf_put(pb, len);
	if (!p) {
		pktbuf_free(pb);
		return NULL;
	}
	memcpy(p, bytes, len);
	return pb;
}

struct pktbuf *pktbuf_from(const uint8_t *bytes, size_t len)
{
	return copy_into(pktbuf_alloc(), bytes, len);
}

struct pktbuf *pktbuf_from_any(const uint8_t *bytes, size_t len)
{
	return copy_into(pktbuf_alloc_len(len), bytes, len);
}

void pktbuf_free(struct pktbuf *pb)
{
	if (!pb)
		return;
	struct pool *pl = &pools[pb->cap == PKTBUF_LARGE_CAPACITY];
	if (pl->len >= pl->max) {
		free(pb);
		return;
	}
	pb->next = pl->free;
	pl->free = pb;
	pl->len++;
}

void pktbuf_pool_drain(void)
{
	for (unsigned c = 0; c < 2; c++) {
		struct pool *pl = &pools[c];
		while (pl->free) {
			struct pktbuf *pb = pl->free;
			pl->free = pb->next;
			free(pb);
		}
		pl->len = 0;
	}
}

size_t pktbuf_headroom(const struct pktbuf *pb)
{
	return (size_t)(pb->data - pb->head);
}

size_t pktbuf_tailroom(const struct pktbuf *pb)
{
	return pb->cap - pktbuf_headroom(pb) - pb->len;
}

uint8_t *pktbuf_push(struct pktbuf *pb, size_t n)
{
	if (n > pktbuf_headroom(pb))
		return NULL;
	pb->data -= n;
	pb->len += (uint32_t)n;
	return pb->data;
}

void pktbuf_pull(struct pktbuf *pb, size_t n)
{
	TL_ASSERT(n <= pb->len);
	pb->data += n;
	pb->len -= (uint32_t)n;
}

uint8_t *pktbuf_put(struct pktbuf *pb, size_t n)
{
	if (n > pktbuf_tailroom(pb))
		return NULL;
	uint8_t *p = pb->data + pb->len;
	pb->len += (uint32_t)n;
	return p;
}

void pktq_push(struct pktq *q, struct pktbuf *pb)
{
	pb->next = NULL;
	if (q->last)
		q->last->next = pb;
	else
		q->first = pb;
	q->last = pb;
	q->count++;
}

struct pktbuf *pktq_pop(struct pktq *q)
{
	struct pktbuf *pb = q->first;
	if (!pb)
		return NULL;
	q->first = pb->next;
	if (!q->first)
		q->last = NULL;
	q->count--;
	pb->next = NULL;
	return pb;
}

void pktq_purge(struct pktq *q)
{
	struct pktbuf *pb;
	while ((pb = pktq_pop(q)))
		pktbuf_free(pb);
}
