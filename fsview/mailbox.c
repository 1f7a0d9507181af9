/* FUSE thread -> loop thread requests (see mailbox.h). */
#include "mailbox.h"

#include <errno.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

int fsv_mailbox_init(struct fsv_mailbox *mb)
{
	mb->head = NULL;
	mb->tail = &mb->head;
	mb->closed = false;
	mb->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (mb->efd < 0)
		return -errno;
	pthread_mutex_init(&mb->lock, NULL);
	pthread_cond_init(&mb->cond, NULL);
	return 0;
}

void fsv_mailbox_fini(struct fsv_mailbox *mb)
{
	if (mb->efd < 0)
		return;
	close(mb->efd);
	mb->efd = -1;
	pthread_cond_destroy(&mb->cond);
	pthread_mutex_destroy(&mb->lock);
}

int fsv_mailbox_fd(const struct fsv_mailbox *mb)
{
	return mb->efd;
}

int fsv_mailbox_call(struct fsv_mailbox *mb, struct fsv_msg *m)
{
	m->done = false;
	m->next = NULL;
	m->result = 0;
	pthread_mutex_lock(&mb->lock);
	if (mb->closed) {
		pthread_mutex_unlock(&mb->lock);
		return -ENOTCONN;
	}
	*mb->tail = m;
	mb->tail = &m->next;
	pthread_mutex_unlock(&mb->lock);

	/* The counter only needs to be non-zero; a failed write means it is
	 * already at its maximum, which wakes the loop just as well. */
	uint64_t one = 1;
	ssize_t w = write(mb->efd, &one, sizeof(one));
	(void)w;

	pthread_mutex_lock(&mb->lock);
	while (!m->done)
		pthread_cond_wait(&mb->cond, &mb->lock);
	pthread_mutex_unlock(&mb->lock);
	return m->result;
}

unsigned fsv_mailbox_serve(struct fsv_mailbox *mb, void *ctx, tl_usec_t now)
{
	uint64_t n;
	ssize_t r = read(mb->efd, &n, sizeof(n)); /* re-arm: EAGAIN is fine */
	(void)r;

	pthread_mutex_lock(&mb->lock);
	struct fsv_msg *batch = mb->head;
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_mutex_unlock(&mb->lock);
	if (!batch)
		return 0;

	/* Run without the lock: posters keep posting meanwhile, and their
	 * messages wait for the next wakeup (the eventfd was written). */
	unsigned count = 0;
	for (struct fsv_msg *m = batch; m; m = m->next, count++)
		m->run(m, ctx, now);

	pthread_mutex_lock(&mb->lock);
	for (struct fsv_msg *m = batch; m;) {
		struct fsv_msg *next = m->next; /* m may vanish once done */
		m->done = true;
		m = next;
	}
	pthread_cond_broadcast(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
	return count;
}

void fsv_mailbox_close(struct fsv_mailbox *mb)
{
	pthread_mutex_lock(&mb->lock);
	mb->closed = true;
	for (struct fsv_msg *m = mb->head; m;) {
		struct fsv_msg *next = m->next;
		m->result = -ENOTCONN;
		m->done = true;
		m = next;
	}
	mb->head = NULL;
	mb->tail = &mb->head;
	pthread_cond_broadcast(&mb->cond);
	pthread_mutex_unlock(&mb->lock);
}
