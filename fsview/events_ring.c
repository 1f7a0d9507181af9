/* The `events` stream ring (see events_ring.h). */
#include "events_ring.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tl_types.h"

/* One open `events` file. Invariants: a read at file offset off starts at
 * stream offset origin + off (origin is adjusted when the reader is
 * overtaken, so that sequential reads stay sequential); cursor is where
 * the last read ended (poll uses it); at most one read is parked, and only
 * while nothing was readable for it. */
struct reader {
	uint64_t id;
	int64_t origin;
	uint64_t cursor;
	bool absolute;        /* origin is 0: offsets are global */
	void *parked;         /* a read waiting for data, or NULL */
	size_t parked_size;
	uint64_t parked_off;
	void *ph;             /* poll handle to notify, or NULL */
	bool notified;        /* ph was notified since it was registered */
	struct reader *next;
};

/* Invariants: tail <= head, head - tail <= cap, tail is the start of a
 * line; byte at global offset o lives at buf[o % cap]. */
struct fsv_ring {
	pthread_mutex_t lock;
	char *buf;
	size_t cap;
	uint64_t head, tail;
	bool closed;
	struct reader *readers;
	uint64_t next_id;
	char *scratch;        /* for answering parked reads */
	size_t scratch_cap;
	struct fsv_ring_ops ops;
};

struct fsv_ring *fsv_ring_new(size_t cap, const struct fsv_ring_ops *ops)
{
	if (cap < 4096)
		cap = 4096;
	struct fsv_ring *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->buf = malloc(cap);
	if (!r->buf) {
		free(r);
		return NULL;
	}
	r->cap = cap;
	r->next_id = 1;
	r->ops = *ops;
	pthread_mutex_init(&r->lock, NULL);
	return r;
}

void fsv_ring_free(struct fsv_ring *r)
{
	if (!r)
		return;
	for (struct reader *rd = r->readers, *next; rd; rd = next) {
		next = rd->next;
		if (rd->ph && r->ops.drop_ph)
			r->ops.drop_ph(r->ops.ctx, rd->ph);
		free(rd);
	}
	pthread_mutex_destroy(&r->lock);
	free(r->scratch);
	free(r->buf);
	free(r);
}

static struct reader *find_reader(struct fsv_ring *r, uint64_t id)
{
	for (struct reader *rd = r->readers; rd; rd = rd->next)
		if (rd->id == id)
			return rd;
	return NULL;
}

static void copy_out(const struct fsv_ring *r, uint64_t from, char *dst, size_t n)
{
	size_t at = (size_t)(from % r->cap);
	size_t first = TL_MIN(n, r->cap - at);
	memcpy(dst, r->buf + at, first);
	memcpy(dst + first, r->buf, n - first);
}

/* The reader's bytes for a read at file offset off, into buf. */
static size_t read_locked(struct fsv_ring *r, struct reader *rd, uint64_t off, char *buf,
			  size_t size)
{
	size_t used = 0;
	int64_t pos = rd->origin + (int64_t)off;
	if (pos < (int64_t)r->tail) {
		if (!rd->absolute) {
			/* The ring overtook a live reader: say so in the
			 * stream rather than splice lines silently. */
			char note[96];
			int len = snprintf(note, sizeof(note),
					   "# tcplab: %" PRIu64 " bytes of events lost (reader too slow)\n",
					   r->tail - (uint64_t)pos);
			if (len > 0 && (size_t)len <= size) {
				memcpy(buf, note, (size_t)len);
				used = (size_t)len;
			}
		}
		/* Continue at tail; the next sequential read, at off + what
		 * this one returns, must land right after it. */
		rd->origin = (int64_t)r->tail - (int64_t)off - (int64_t)used;
		pos = (int64_t)r->tail;
	} else if (pos > (int64_t)r->head) {
		rd->origin = (int64_t)r->head - (int64_t)off;
		pos = (int64_t)r->head;
	}
	size_t n = (size_t)TL_MIN((uint64_t)(size - used), r->head - (uint64_t)pos);
	copy_out(r, (uint64_t)pos, buf + used, n);
	rd->cursor = (uint64_t)pos + n;
	return used + n;
}

static bool has_data(const struct fsv_ring *r, const struct reader *rd)
{
	return rd->cursor != r->head;
}

/* Answers rd's parked read if there is something for it now. */
static void try_complete(struct fsv_ring *r, struct reader *rd)
{
	if (!rd->parked)
		return;
	if (r->scratch_cap < rd->parked_size) {
		char *p = realloc(r->scratch, rd->parked_size);
		if (!p)
			return; /* stays parked; the next append retries */
		r->scratch = p;
		r->scratch_cap = rd->parked_size;
	}
	size_t n = read_locked(r, rd, rd->parked_off, r->scratch, rd->parked_size);
	if (n == 0 && !r->closed)
		return;
	void *req = rd->parked;
	rd->parked = NULL;
	r->ops.complete(r->ops.ctx, req, r->scratch, n);
}

static void wake(struct fsv_ring *r, struct reader *rd)
{
	try_complete(r, rd);
	if (rd->ph && !rd->notified && r->ops.notify) {
		rd->notified = true;
		r->ops.notify(r->ops.ctx, rd->ph);
	}
}

void fsv_ring_append(struct fsv_ring *r, const char *line, size_t len)
{
	pthread_mutex_lock(&r->lock);
	if (len > r->cap)
		len = r->cap;
	/* Drop whole old lines until the new one fits. */
	while (r->head + len - r->tail > r->cap) {
		uint64_t o = r->tail;
		while (o < r->head && r->buf[o % r->cap] != '\n')
			o++;
		r->tail = o < r->head ? o + 1 : r->head;
	}
	size_t at = (size_t)(r->head % r->cap);
	size_t first = TL_MIN(len, r->cap - at);
	memcpy(r->buf + at, line, first);
	memcpy(r->buf, line + first, len - first);
	r->head += len;
	for (struct reader *rd = r->readers; rd; rd = rd->next)
		wake(r, rd);
	pthread_mutex_unlock(&r->lock);
}

uint64_t fsv_ring_size(struct fsv_ring *r)
{
	pthread_mutex_lock(&r->lock);
	uint64_t n = r->head;
	pthread_mutex_unlock(&r->lock);
	return n;
}

uint64_t fsv_ring_open(struct fsv_ring *r)
{
	struct reader *rd = calloc(1, sizeof(*rd));
	if (!rd)
		return 0;
	pthread_mutex_lock(&r->lock);
	rd->id = r->next_id++;
	rd->origin = (int64_t)r->head;
	rd->cursor = r->head;
	rd->next = r->readers;
	r->readers = rd;
	pthread_mutex_unlock(&r->lock);
	return rd->id;
}

void fsv_ring_absolute(struct fsv_ring *r, uint64_t id)
{
	pthread_mutex_lock(&r->lock);
	struct reader *rd = find_reader(r, id);
	if (rd && !rd->absolute) {
		rd->absolute = true;
		rd->origin = 0;
	}
	pthread_mutex_unlock(&r->lock);
}

void fsv_ring_release(struct fsv_ring *r, uint64_t id)
{
	pthread_mutex_lock(&r->lock);
	for (struct reader **pp = &r->readers; *pp; pp = &(*pp)->next) {
		struct reader *rd = *pp;
		if (rd->id != id)
			continue;
		*pp = rd->next;
		if (rd->ph && r->ops.drop_ph)
			r->ops.drop_ph(r->ops.ctx, rd->ph);
		free(rd);
		break;
	}
	pthread_mutex_unlock(&r->lock);
}

ssize_t fsv_ring_read(struct fsv_ring *r, uint64_t id, uint64_t off, char *buf,
		      size_t size, bool nonblock, void *req,
		      bool (*interrupted)(void *req))
{
	pthread_mutex_lock(&r->lock);
	ssize_t rc;
	struct reader *rd = find_reader(r, id);
	if (!rd) {
		rc = -EBADF;
	} else if (size == 0) {
		rc = 0;
	} else if ((rc = (ssize_t)read_locked(r, rd, off, buf, size)) > 0) {
		/* data */
	} else if (r->closed) {
		rc = 0;
	} else if (nonblock || !req || rd->parked) {
		rc = -EAGAIN;
	} else if (interrupted && interrupted(req)) {
		/* Checked under the lock: an interrupt arriving after this
		 * finds the read parked (fsv_ring_unpark) and answers it. */
		rc = -EINTR;
	} else {
		rd->parked = req;
		rd->parked_size = size;
		rd->parked_off = off;
		rc = FSV_RING_PARKED;
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

bool fsv_ring_unpark(struct fsv_ring *r, uint64_t id, void *req)
{
	pthread_mutex_lock(&r->lock);
	bool was = false;
	struct reader *rd = find_reader(r, id);
	if (rd && req && rd->parked == req) {
		rd->parked = NULL;
		was = true;
	}
	pthread_mutex_unlock(&r->lock);
	return was;
}

bool fsv_ring_poll(struct fsv_ring *r, uint64_t id, void *ph)
{
	pthread_mutex_lock(&r->lock);
	bool ready = true;
	struct reader *rd = find_reader(r, id);
	if (rd) {
		if (ph) {
			if (rd->ph && rd->ph != ph && r->ops.drop_ph)
				r->ops.drop_ph(r->ops.ctx, rd->ph);
			rd->ph = ph;
			rd->notified = false;
		}
		ready = has_data(r, rd) || r->closed;
	} else if (ph && r->ops.drop_ph) {
		r->ops.drop_ph(r->ops.ctx, ph);
	}
	pthread_mutex_unlock(&r->lock);
	return ready;
}

void fsv_ring_close(struct fsv_ring *r)
{
	pthread_mutex_lock(&r->lock);
	r->closed = true;
	for (struct reader *rd = r->readers; rd; rd = rd->next)
		wake(r, rd);
	pthread_mutex_unlock(&r->lock);
}
