/* The FUSE -> loop mailbox (fsview/mailbox.c): a posted message runs on
 * the serving (loop) thread, its poster gets the result, and closing the
 * mailbox releases waiting posters with ENOTCONN. Real threads; the
 * loop is the test's main thread waiting on the eventfd. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mailbox.h"

struct adder {
	struct fsv_msg m;
	int a, b, sum;
	pthread_t ran_on;
	tl_usec_t now_seen;
};

static void run_add(struct fsv_msg *m, void *ctx, tl_usec_t now)
{
	struct adder *x = (struct adder *)m;
	x->sum = x->a + x->b + *(int *)ctx;
	x->ran_on = pthread_self();
	x->now_seen = now;
	m->result = 7;
}

struct poster {
	struct fsv_mailbox *mb;
	struct adder msg;
	int rc;
};

static void *post(void *arg)
{
	struct poster *p = arg;
	p->rc = fsv_mailbox_call(p->mb, &p->msg.m);
	return NULL;
}

/* Waits (bounded) until the eventfd says a message is queued. */
static void wait_posted(struct fsv_mailbox *mb)
{
	struct pollfd pfd = { .fd = fsv_mailbox_fd(mb), .events = POLLIN };
	assert_int_equal(poll(&pfd, 1, 10000), 1);
}

static void test_fsview_mailbox_runs_on_the_loop_thread(void **state)
{
	(void)state;
	struct fsv_mailbox mb;
	assert_int_equal(fsv_mailbox_init(&mb), 0);
	struct poster p = { .mb = &mb, .msg = { .m.run = run_add, .a = 2, .b = 3 } };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, post, &p), 0);
	wait_posted(&mb);
	int ctx = 100;
	assert_int_equal(fsv_mailbox_serve(&mb, &ctx, 42), 1);
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, 7);
	assert_int_equal(p.msg.sum, 105);
	assert_true(pthread_equal(p.msg.ran_on, pthread_self()));
	assert_int_equal(p.msg.now_seen, 42);
	/* Nothing queued: serving again runs nothing. */
	assert_int_equal(fsv_mailbox_serve(&mb, &ctx, 43), 0);
	fsv_mailbox_close(&mb);
	fsv_mailbox_fini(&mb);
}

static void test_fsview_mailbox_close_releases_posters(void **state)
{
	(void)state;
	struct fsv_mailbox mb;
	assert_int_equal(fsv_mailbox_init(&mb), 0);
	struct poster p = { .mb = &mb, .msg = { .m.run = run_add } };
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, post, &p), 0);
	wait_posted(&mb);
	fsv_mailbox_close(&mb); /* the loop is gone: nobody will serve */
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(p.rc, -ENOTCONN);
	/* Later calls fail at once. */
	struct adder late = { .m.run = run_add };
	assert_int_equal(fsv_mailbox_call(&mb, &late.m), -ENOTCONN);
	fsv_mailbox_fini(&mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fsview_mailbox_runs_on_the_loop_thread),
		cmocka_unit_test(test_fsview_mailbox_close_releases_posters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
