/* The `events` stream ring (fsview/events_ring.c): where a reader starts,
 * how parked reads and pollers are answered, what an overtaken reader
 * sees, and the interrupt race. The FUSE replies are replaced by a
 * recorder of completions and notifications. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "events_ring.h"

/* What the ring delivered through its callbacks. */
struct rec {
	int completions;
	void *last_req;
	char data[8192];
	size_t len;
	int notifies;
	int drops;
};

static void rec_complete(void *ctx, void *req, const char *data, size_t len)
{
	struct rec *r = ctx;
	r->completions++;
	r->last_req = req;
	memcpy(r->data, data, len < sizeof(r->data) ? len : sizeof(r->data));
	r->len = len;
}

static void rec_notify(void *ctx, void *ph)
{
	(void)ph;
	((struct rec *)ctx)->notifies++;
}

static void rec_drop(void *ctx, void *ph)
{
	(void)ph;
	((struct rec *)ctx)->drops++;
}

static struct fsv_ring *ring_for(struct rec *r, size_t cap)
{
	memset(r, 0, sizeof(*r));
	struct fsv_ring_ops ops = { .ctx = r, .complete = rec_complete, .notify = rec_notify,
				    .drop_ph = rec_drop };
	struct fsv_ring *ring = fsv_ring_new(cap, &ops);
	assert_non_null(ring);
	return ring;
}

static void append(struct fsv_ring *ring, const char *line)
{
	fsv_ring_append(ring, line, strlen(line));
}

static bool never(void *req)
{
	(void)req;
	return false;
}

static bool always(void *req)
{
	(void)req;
	return true;
}

/* Like trace_pipe: `cat events` shows what happens after it opened the
 * file, not the history. */
static void test_fsview_events_open_starts_at_live_end(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	append(ring, "old line\n");
	uint64_t id = fsv_ring_open(ring);
	char buf[128];
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), true, NULL, NULL), -EAGAIN);
	append(ring, "new line\n");
	ssize_t n = fsv_ring_read(ring, id, 0, buf, sizeof(buf), true, NULL, NULL);
	assert_int_equal(n, 9);
	assert_memory_equal(buf, "new line\n", 9);
	/* The next sequential read continues after it. */
	append(ring, "third\n");
	n = fsv_ring_read(ring, id, 9, buf, sizeof(buf), true, NULL, NULL);
	assert_int_equal(n, 6);
	assert_memory_equal(buf, "third\n", 6);
	assert_int_equal(fsv_ring_size(ring), 9 + 9 + 6);
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

/* A blocking read with nothing to return is parked and answered by the
 * next append, with exactly the new bytes. */
static void test_fsview_events_parked_read_answered_by_append(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	uint64_t id = fsv_ring_open(ring);
	char buf[128];
	int req;
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), false, &req, never),
			 FSV_RING_PARKED);
	assert_int_equal(r.completions, 0);
	append(ring, "1.000000 stack conn 3 LISTEN -> SYN_RECV (SYN)\n");
	assert_int_equal(r.completions, 1);
	assert_ptr_equal(r.last_req, &req);
	assert_int_equal(r.len, 47);
	assert_memory_equal(r.data, "1.000000 stack conn 3 LISTEN -> SYN_RECV (SYN)\n", 47);
	/* Answered once: another append does not answer it again. */
	append(ring, "more\n");
	assert_int_equal(r.completions, 1);
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

/* The interrupt race: a read whose request is already interrupted is not
 * parked (-EINTR), and an interrupt takes back only its own parked read. */
static void test_fsview_events_interrupt_takes_back_parked_read(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	uint64_t id = fsv_ring_open(ring);
	char buf[64];
	int req1, req2;
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), false, &req1, always),
			 -EINTR);
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), false, &req2, never),
			 FSV_RING_PARKED);
	assert_false(fsv_ring_unpark(ring, id, &req1)); /* not the parked one */
	assert_true(fsv_ring_unpark(ring, id, &req2));
	assert_false(fsv_ring_unpark(ring, id, &req2)); /* only once */
	append(ring, "x\n");
	assert_int_equal(r.completions, 0); /* nothing left to answer */
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

/* tail: after lseek(SEEK_END) the reader uses global offsets, so reading
 * back from the size shows the last retained lines, then follows. */
static void test_fsview_events_absolute_reader_reads_history(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	append(ring, "a\n");
	append(ring, "bb\n");
	uint64_t id = fsv_ring_open(ring);
	fsv_ring_absolute(ring, id);
	uint64_t size = fsv_ring_size(ring);
	assert_int_equal(size, 5);
	char buf[64];
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), true, NULL, NULL), 5);
	assert_memory_equal(buf, "a\nbb\n", 5);
	assert_int_equal(fsv_ring_read(ring, id, 2, buf, sizeof(buf), true, NULL, NULL), 3);
	assert_memory_equal(buf, "bb\n", 3);
	assert_int_equal(fsv_ring_read(ring, id, 5, buf, sizeof(buf), true, NULL, NULL), -EAGAIN);
	append(ring, "c\n");
	assert_int_equal(fsv_ring_read(ring, id, 5, buf, sizeof(buf), true, NULL, NULL), 2);
	assert_memory_equal(buf, "c\n", 2);
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

/* The ring keeps whole lines only; a live reader that falls behind gets
 * one "events lost" line, then the oldest retained line, and its next
 * sequential read continues exactly after that. */
static void test_fsview_events_overtaken_reader_told_of_loss(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	uint64_t id = fsv_ring_open(ring);
	char line[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(line, sizeof(line), "line %04d\n", i); /* 10 bytes */
		append(ring, line);
	}
	char buf[8192];
	ssize_t n = fsv_ring_read(ring, id, 0, buf, 100, true, NULL, NULL);
	/* 10000 bytes written, 409 whole lines (4090 bytes) kept. */
	const char *note = "# tcplab: 5910 bytes of events lost (reader too slow)\n";
	size_t nl = strlen(note);
	assert_int_equal(n, 100);
	assert_memory_equal(buf, note, nl);
	assert_memory_equal(buf + nl, "line 0591\nline 0592\n", 20);
	/* The rest of the first read ended inside "line 0595\n". */
	size_t tail_bytes = 100 - nl - 40;
	assert_memory_equal(buf + nl + 40, "line 0595\n", tail_bytes);
	ssize_t m = fsv_ring_read(ring, id, 100, buf, sizeof(buf), true, NULL, NULL);
	assert_int_equal(m, 4090 - 40 - (ssize_t)tail_bytes);
	assert_memory_equal(buf, "line 0595\n" + tail_bytes, 10 - tail_bytes);
	assert_memory_equal(buf + m - 10, "line 0999\n", 10);
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

/* poll: not ready, then exactly one notification when data arrives, and
 * a new handle replaces (and releases) the old one. */
static void test_fsview_events_poll_notifies_once(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	uint64_t id = fsv_ring_open(ring);
	int ph1, ph2;
	assert_false(fsv_ring_poll(ring, id, &ph1));
	append(ring, "x\n");
	append(ring, "y\n");
	assert_int_equal(r.notifies, 1);
	assert_true(fsv_ring_poll(ring, id, NULL));
	assert_true(fsv_ring_poll(ring, id, &ph2));
	assert_int_equal(r.drops, 1); /* ph1 released */
	fsv_ring_release(ring, id);
	assert_int_equal(r.drops, 2);
	fsv_ring_free(ring);
}

/* Shutdown: a parked read ends with end of file, later reads too. */
static void test_fsview_events_close_ends_stream(void **state)
{
	(void)state;
	struct rec r;
	struct fsv_ring *ring = ring_for(&r, 4096);
	uint64_t id = fsv_ring_open(ring);
	char buf[16];
	int req;
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), false, &req, never),
			 FSV_RING_PARKED);
	fsv_ring_close(ring);
	assert_int_equal(r.completions, 1);
	assert_int_equal(r.len, 0);
	assert_int_equal(fsv_ring_read(ring, id, 0, buf, sizeof(buf), false, &req, never), 0);
	assert_int_equal(fsv_ring_read(ring, 999, 0, buf, sizeof(buf), false, &req, never), -EBADF);
	fsv_ring_release(ring, id);
	fsv_ring_free(ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsview_events_open_starts_at_live_end),
		cmocka_unit_test(test_fsview_events_parked_read_answered_by_append),
		cmocka_unit_test(test_fsview_events_interrupt_takes_back_parked_read),
		cmocka_unit_test(test_fsview_events_absolute_reader_reads_history),
		cmocka_unit_test(test_fsview_events_overtaken_reader_told_of_loss),
		cmocka_unit_test(test_fsview_events_poll_notifies_once),
		cmocka_unit_test(test_fsview_events_close_ends_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
