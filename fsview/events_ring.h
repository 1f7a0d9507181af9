/* The `events` stream: a bounded ring of text lines (one per stack event)
 * that the loop thread appends to and FUSE readers follow.
 *
 * The stream is one growing byte sequence; a line keeps its global offset
 * forever, and the ring retains the newest `cap` bytes of whole lines. The
 * file's size is the total written so far.
 *
 * A reader that opens the file starts at the live end, like trace_pipe:
 * its file offset 0 is the stream's length at open, so `cat` shows the
 * lines appended from then on. A reader that asks for the file's size
 * through its descriptor (lseek SEEK_END, as `tail` and `less` do) is
 * switched to global offsets (fsv_ring_absolute), so `tail -f` prints the
 * last retained lines and then follows. When nothing is there yet, a
 * blocking reader is parked and answered by the next append; a
 * non-blocking one gets -EAGAIN. A reader overtaken by the ring gets one
 * "# tcplab: N bytes of events lost" line instead of a silent gap.
 *
 * Parked reads and poll wakeups are delivered through callbacks, made
 * while the ring lock is held (see struct fsv_ring_ops). Any thread may
 * call any function here. */
#ifndef TL_FSVIEW_EVENTS_RING_H
#define TL_FSVIEW_EVENTS_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* How parked reads and pollers are answered (FUSE replies in the daemon,
 * recorders in the unit tests). Called with the ring lock held: they must
 * not call back into the ring. */
struct fsv_ring_ops {
	void *ctx;
	/* Answers a parked read with len bytes (len 0: end of stream). */
	void (*complete)(void *ctx, void *req, const char *data, size_t len);
	/* A reader that registered ph now has data (or the ring closed). */
	void (*notify)(void *ctx, void *ph);
	/* ph is no longer needed (replaced, reader gone, ring freed). */
	void (*drop_ph)(void *ctx, void *ph);
};

struct fsv_ring;

/* fsv_ring_read() returns this when it parked the request. */
#define FSV_RING_PARKED (-100000)

/* cap: bytes of history kept (at least 4096). NULL if out of memory. */
struct fsv_ring *fsv_ring_new(size_t cap, const struct fsv_ring_ops *ops);
/* Drops every poll handle; no parked read may remain (close first). */
void fsv_ring_free(struct fsv_ring *r);

/* Appends one line (it should end in '\n'; a line longer than the ring is
 * cut), then answers parked readers and notifies pollers. */
void fsv_ring_append(struct fsv_ring *r, const char *line, size_t len);

/* Total bytes appended so far: the file size. */
uint64_t fsv_ring_size(struct fsv_ring *r);

/* A new reader positioned at the live end; returns its id (never 0), or 0
 * if out of memory. */
uint64_t fsv_ring_open(struct fsv_ring *r);
/* From now on the reader's file offsets are global stream offsets. */
void fsv_ring_absolute(struct fsv_ring *r, uint64_t id);

/* Forgets the reader (dropping its poll handle). */
void fsv_ring_release(struct fsv_ring *r, uint64_t id);

/* Reads up to size bytes for reader id, whose file offset is off. Returns
 * the bytes copied to buf (> 0); 0 at the end of a closed stream; -EAGAIN
 * if nothing is there and req is NULL or nonblock is set; FSV_RING_PARKED
 * if req was parked (answered later through ops->complete); -EINTR if
 * interrupted(req) is true at the moment of parking; -EBADF for an unknown
 * id. */
ssize_t fsv_ring_read(struct fsv_ring *r, uint64_t id, uint64_t off, char *buf,
		      size_t size, bool nonblock, void *req,
		      bool (*interrupted)(void *req));

/* Takes back req if it is the read parked on reader id (an interrupt
 * arrived): true if it was, and the caller now answers it; false if it
 * was already answered. */
bool fsv_ring_unpark(struct fsv_ring *r, uint64_t id, void *req);

/* Poll: returns true if a read would not block; if ph is not NULL it
 * replaces the reader's handle and is notified once data arrives. */
bool fsv_ring_poll(struct fsv_ring *r, uint64_t id, void *ph);

/* Ends the stream: parked reads complete with 0 bytes, pollers are
 * notified, later reads at the end return 0. */
void fsv_ring_close(struct fsv_ring *r);

#endif
