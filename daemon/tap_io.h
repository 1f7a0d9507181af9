/* TAP devices: the wire between a kernel host (a Linux namespace) and a
 * stack host. The device is created inside the namespace, so its name never
 * collides with interfaces of the root namespace, and it is not persistent:
 * it vanishes when the fd is closed (also when the daemon dies).
 *
 * Loop thread only (tap_open at start-up). The fd is non-blocking. */
#ifndef TL_DAEMON_TAP_IO_H
#define TL_DAEMON_TAP_IO_H

#include <stddef.h>
#include <stdint.h>

/* Frames handled per wakeup: bounds the time one busy TAP can hold the
 * loop, so timers and other TAPs get their turn. */
#define TAP_BATCH 64
/* Read buffer: larger than any frame a 1500-byte MTU TAP delivers, so a
 * read never truncates silently. */
#define TAP_FRAME_MAX 9216

/* Creates TAP device `ifname` (IFF_TAP | IFF_NO_PI) inside namespace
 * `netns` and returns its fd in *fd. Returns 0 or a negative errno with a
 * one-line reason in err. */
int tap_open(const char *netns, const char *ifname, int *fd, char *err, size_t errlen);

typedef void (*tap_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Reads up to `max` frames from fd, calling fn for each. Returns the number
 * read (fewer than max means the device is drained) or a negative errno
 * other than EAGAIN. */
int tap_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx);

/* Writes one frame. Returns 0 or a negative errno (-EAGAIN: the kernel's
 * queue is full and the frame is dropped, as on a real wire). */
int tap_write(int fd, const uint8_t *frame, size_t len);

#endif
