/* A growable byte ring: the storage behind a connection's send and receive
 * buffers. Bytes are appended at the tail and consumed at the head, with no
 * per-segment allocation. The allocation starts empty, is created on the
 * first write (BYTERING_MIN_ALLOC bytes) and doubles on demand up to `max`,
 * so idle connections stay small while busy ones reach their full buffer.
 *
 * Pure; owned by one thread (the loop thread) like the connection holding it. */
#ifndef TL_NETEMU_BYTERING_H
#define TL_NETEMU_BYTERING_H

#include <stddef.h>
#include <stdint.h>

/* First allocation; later ones double (never beyond max). */
#define BYTERING_MIN_ALLOC 4096

/* Invariants: len <= cap; head < cap when cap > 0 (head == 0 when cap == 0);
 * buf == NULL iff cap == 0. The bytes are buf[head .. head+len) taken modulo
 * cap. `max` bounds len for writes (bytering_space); it may be lowered below
 * len by bytering_set_max, in which case writes stop until reads make room.
 * cap never exceeds the largest max the ring has had while holding data. */
struct bytering {
	uint8_t *buf;
	size_t cap;  /* allocated bytes */
	size_t head; /* index of the oldest byte */
	size_t len;  /* bytes stored */
	size_t max;  /* limit on len (SO_SNDBUF / SO_RCVBUF analogue) */
};

/* A contiguous run of stored bytes, for copying straight into a frame. */
struct bytering_span {
	const uint8_t *p;
	size_t len;
};

/* Sets up an empty ring that will hold at most `max` bytes. Allocates
 * nothing; always returns 0 (an int so that a later pool can fail). */
int bytering_init(struct bytering *r, size_t max);
void bytering_fini(struct bytering *r);

/* Changes the limit (e.g. when SO_SNDBUF or autotuning moves). Stored bytes
 * are kept even if the new max is smaller. */
void bytering_set_max(struct bytering *r, size_t max);

/* Bytes that may still be written: max - len, or 0 when len >= max. */
size_t bytering_space(const struct bytering *r);

static inline size_t bytering_len(const struct bytering *r)
{
	return r->len;
}

/* Appends up to min(n, space) bytes, growing the allocation as needed.
 * Returns the number appended (fewer than asked when the ring is full or
 * an allocation fails). */
size_t bytering_write(struct bytering *r, const uint8_t *p, size_t n);

/* Copies up to n bytes starting `off` bytes after the head, without
 * consuming them. Returns the number copied (0 when off >= len). */
size_t bytering_peek(const struct bytering *r, size_t off, uint8_t *out,
		     size_t n);

/* Copies up to n bytes from the head and consumes them. Returns the count. */
size_t bytering_read(struct bytering *r, uint8_t *out, size_t n);

/* Consumes up to n bytes without copying (acknowledged send data). */
void bytering_drop(struct bytering *r, size_t n);

/* Describes the stored bytes [off, off + n) (clipped to len) as at most
 * two contiguous spans in order; returns how many spans were filled (0 if
 * nothing is there). The pointers stay valid until the next write, which
 * may reallocate. */
unsigned bytering_spans(const struct bytering *r, size_t off, size_t n,
			struct bytering_span sp[2]);

/* Frees the allocation if the ring is empty, so a connection gone idle
 * gives its memory back. Harmless otherwise. */
void bytering_trim(struct bytering *r);

#endif
