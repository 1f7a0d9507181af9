/* Packet buffers and their free-list pool. */
#include "pktbuf.h"

#include <stdlib.h>
#include <string.h>

#include "tl_types.h"

/* Buffers freed are kept for reuse up to this many, so a burst does not
 * pin memory forever. The pool is per process: only the loop thread
 * builds frames. */
#define POOL_MAX 4096

static _Thread_local struct pktbuf *pool;
static _Thread_local unsigned pool_len;

struct pktbuf *pktbuf_alloc(void)
{
	struct pktbuf *pb = pool;
	if (pb) {
		pool = pb->next;
		pool_len--;
	} else {
		pb = malloc(sizeof(*pb) + PKTBUF_CAPACITY);
		if (!pb)
			return NULL;
	}
	pb->next = NULL;
	pb->data = pb->head + PKTBUF_HEADROOM;
	pb->len = 0;
	pb->meta = 0;
	return pb;
}

struct pktbuf *pktbuf_from(const uint8_t *bytes, size_t len)
{
	struct pktbuf *pb = pktbuf_alloc();
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

void pktbuf_free(struct pktbuf *pb)
{
	if (!pb)
		return;
	if (pool_len >= POOL_MAX) {
		free(pb);
		return;
	}
	pb->next = pool;
	pool = pb;
	pool_len++;
}

void pktbuf_pool_drain(void)
{
	while (pool) {
		struct pktbuf *pb = pool;
		pool = pb->next;
		free(pb);
	}
	pool_len = 0;
}

size_t pktbuf_headroom(const struct pktbuf *pb)
{
	return (size_t)(pb->data - pb->head);
}

size_t pktbuf_tailroom(const struct pktbuf *pb)
{
	return PKTBUF_CAPACITY - pktbuf_headroom(pb) - pb->len;
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
