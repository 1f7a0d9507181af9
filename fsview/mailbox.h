/* The mailbox between the FUSE threads and the daemon's loop thread.
 *
 * Only the loop thread may touch stack memory, so a FUSE thread that needs
 * bytes (render a file, set a tunable, list a directory) posts a message —
 * a function to run on the loop thread plus its arguments, usually on the
 * poster's stack — and sleeps until the loop thread has run it. Posting
 * writes an eventfd that the loop watches with libevent; the loop then
 * calls fsv_mailbox_serve(), which runs every queued message in order.
 *
 * Threads: fsv_mailbox_call() from any thread but the loop thread (it
 * would wait for itself); fsv_mailbox_serve() from the loop thread only;
 * fsv_mailbox_close() from any thread. */
#ifndef TL_FSVIEW_MAILBOX_H
#define TL_FSVIEW_MAILBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "tl_types.h"

/* One request. The poster owns it; `run` executes on the loop thread with
 * the serve context and stores its outcome in the enclosing struct and in
 * `result`. Invariant: `done` only goes false -> true, under the mailbox
 * lock, after `run` has returned (or the mailbox was closed). */
struct fsv_msg {
	void (*run)(struct fsv_msg *m, void *ctx, tl_usec_t now);
	int result;
	bool done;
	struct fsv_msg *next;
};

/* Invariants: `head` is the queue of posted, not yet served messages
 * (`tail` points at the last `next` field, or at `head` when empty); after
 * `closed` is set nothing is queued again. */
struct fsv_mailbox {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* broadcast whenever messages become done */
	struct fsv_msg *head, **tail;
	int efd;             /* eventfd: non-zero while messages wait */
	bool closed;
};

/* Returns 0 or a negative errno (eventfd). */
int fsv_mailbox_init(struct fsv_mailbox *mb);
/* After close; no thread may still be in fsv_mailbox_call(). */
void fsv_mailbox_fini(struct fsv_mailbox *mb);

/* The fd the loop thread watches for readability. */
int fsv_mailbox_fd(const struct fsv_mailbox *mb);

/* Posts m and waits until the loop thread ran it; returns m->result, or
 * -ENOTCONN if the mailbox is (or gets) closed before m ran. */
int fsv_mailbox_call(struct fsv_mailbox *mb, struct fsv_msg *m);

/* Loop thread: runs every queued message with (ctx, now), wakes their
 * posters, and returns how many ran. */
unsigned fsv_mailbox_serve(struct fsv_mailbox *mb, void *ctx, tl_usec_t now);

/* Fails every queued and every future call with -ENOTCONN. */
void fsv_mailbox_close(struct fsv_mailbox *mb);

#endif
