/* Unit tests for pktbuf.c: headroom and tailroom bounds (push/put refuse
 * rather than overrun), pull, copies, the FIFO queue and the free-list
 * pool (a recycled buffer comes back as good as new). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pktbuf.h"

/* A fresh buffer is empty, with PKTBUF_HEADROOM in front and the rest of
 * PKTBUF_CAPACITY behind. */
static void test_pktbuf_alloc_is_empty_with_headroom(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	assert_non_null(pb);
	assert_int_equal(pb->len, 0);
	assert_int_equal(pb->meta, 0);
	assert_null(pb->next);
	assert_ptr_equal(pb->data, pb->head + PKTBUF_HEADROOM);
	assert_int_equal(pktbuf_headroom(pb), PKTBUF_HEADROOM);
	assert_int_equal(pktbuf_tailroom(pb), PKTBUF_CAPACITY - PKTBUF_HEADROOM);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* Each layer prepends its header in front of the payload without moving
 * it: the bytes end up in wire order. */
static void test_pktbuf_push_prepends_in_wire_order(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	uint8_t *pl = pktbuf_put(pb, 3);
	memcpy(pl, "pay", 3);
	uint8_t *l4 = pktbuf_push(pb, 2);
	memcpy(l4, "L4", 2);
	uint8_t *l3 = pktbuf_push(pb, 2);
	memcpy(l3, "L3", 2);
	assert_ptr_equal(l3, pb->data);
	assert_int_equal(pb->len, 7);
	assert_memory_equal(pb->data, "L3L4pay", 7);
	assert_int_equal(pktbuf_headroom(pb), PKTBUF_HEADROOM - 4);
	pktbuf_pull(pb, 4);
	assert_int_equal(pb->len, 3);
	assert_memory_equal(pb->data, "pay", 3);
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* push past the headroom and put past the tailroom return NULL and leave
 * the buffer unchanged; exactly the room left succeeds. */
static void test_pktbuf_bounds_refuse_overrun(void **state)
{
	(void)state;
	struct pktbuf *pb = pktbuf_alloc();
	assert_null(pktbuf_push(pb, PKTBUF_HEADROOM + 1));
	assert_int_equal(pb->len, 0);
	assert_non_null(pktbuf_push(pb, PKTBUF_HEADROOM));
	assert_int_equal(pktbuf_headroom(pb), 0);
	assert_null(pktbuf_push(pb, 1));

	size_t tail = pktbuf_tailroom(pb);
	assert_int_equal(tail, PKTBUF_CAPACITY - PKTBUF_HEADROOM);
	assert_null(pktbuf_put(pb, tail + 1));
	assert_int_equal(pb->len, PKTBUF_HEADROOM);
	assert_non_null(pktbuf_put(pb, tail));
	assert_int_equal(pb->len, PKTBUF_CAPACITY);
	assert_int_equal(pktbuf_tailroom(pb), 0);
	assert_null(pktbuf_put(pb, 1));
	/* A huge request does not wrap around. */
	assert_null(pktbuf_put(pb, SIZE_MAX));
	assert_null(pktbuf_push(pb, SIZE_MAX));
	pktbuf_free(pb);
	pktbuf_pool_drain();
}

/* pktbuf_from copies up to CAPACITY - HEADROOM bytes and refuses more. */
static void test_pktbuf_from_copies_and_bounds(void **state)
{
	(void)state;
	static uint8_t big[PKTBUF_CAPACITY];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;
	size_t max = PKTBUF_CAPACITY - PKTBUF_HEADROOM;
	struct pktbuf *pb = pktbuf_from(big, max);
	assert_non_null(pb);
	assert_int_equal(pb->len, max);
	assert_memory_equal(pb->data, big, max);
	assert_int_equal(pktbuf_headroom(pb), PKTBUF_HEADROOM);
	pktbuf_free(pb);
	assert_null(pktbuf_from(big, max + 1));
	pb = pktbuf_from(big, 0);
	assert_non_null(pb);
	assert_int_equal(pb->len, 0);
	pktbuf_free(pb);
	pktbuf_free(NULL); /* a no-op, like free(NULL) */
	pktbuf_pool_drain();
}

/* A recycled buffer is reset: no stale length, offset, meta or link. */
static void test_pktbuf_pool_recycles_reset_buffers(void **state)
{
	(void)state;
	struct pktbuf *a = pktbuf_alloc();
	pktbuf_put(a, 100);
	pktbuf_push(a, 20);
	a->meta = 42;
	pktbuf_free(a);
	struct pktbuf *b = pktbuf_alloc();
	assert_ptr_equal(b, a); /* the free list is LIFO */
	assert_int_equal(b->len, 0);
	assert_int_equal(b->meta, 0);
	assert_null(b->next);
	assert_int_equal(pktbuf_headroom(b), PKTBUF_HEADROOM);
	pktbuf_free(b);
	pktbuf_pool_drain();
	pktbuf_pool_drain(); /* draining an empty pool is harmless */
}

/* The queue is FIFO, counts its buffers and unlinks what it returns. */
static void test_pktq_fifo_order_and_count(void **state)
{
	(void)state;
	struct pktq q = { 0 };
	assert_null(pktq_pop(&q));
	struct pktbuf *b[5];
	for (int i = 0; i < 5; i++) {
		b[i] = pktbuf_alloc();
		b[i]->meta = (uint32_t)i;
		pktq_push(&q, b[i]);
		assert_int_equal(q.count, i + 1);
	}
	for (int i = 0; i < 3; i++) {
		struct pktbuf *pb = pktq_pop(&q);
		assert_ptr_equal(pb, b[i]);
		assert_null(pb->next);
		pktbuf_free(pb);
	}
	assert_int_equal(q.count, 2);
	/* Interleaved push after pops keeps the order. */
	struct pktbuf *c = pktbuf_alloc();
	pktq_push(&q, c);
	assert_ptr_equal(pktq_pop(&q), b[3]);
	assert_ptr_equal(pktq_pop(&q), b[4]);
	assert_ptr_equal(pktq_pop(&q), c);
	assert_null(pktq_pop(&q));
	assert_int_equal(q.count, 0);
	assert_null(q.first);
	assert_null(q.last);
	pktbuf_free(b[3]);
	pktbuf_free(b[4]);
	pktbuf_free(c);
	pktbuf_pool_drain();
}

/* purge frees everything and leaves a usable empty queue. */
static void test_pktq_purge_empties(void **state)
{
	(void)state;
	struct pktq q = { 0 };
	for (int i = 0; i < 100; i++)
		pktq_push(&q, pktbuf_alloc());
	pktq_purge(&q);
	assert_int_equal(q.count, 0);
	assert_null(q.first);
	assert_null(q.last);
	pktq_push(&q, pktbuf_alloc());
	assert_int_equal(q.count, 1);
	pktq_purge(&q);
	pktq_purge(&q);
	pktbuf_pool_drain();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pktbuf_alloc_is_empty_with_headroom),
		cmocka_unit_test(test_pktbuf_push_prepends_in_wire_order),
		cmocka_unit_test(test_pktbuf_bounds_refuse_overrun),
		cmocka_unit_test(test_pktbuf_from_copies_and_bounds),
		cmocka_unit_test(test_pktbuf_pool_recycles_reset_buffers),
		cmocka_unit_test(test_pktq_fifo_order_and_count),
		cmocka_unit_test(test_pktq_purge_empties),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
