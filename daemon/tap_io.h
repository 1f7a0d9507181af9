/* TAP devices: the wire between a kernel host (a Linux namespace) and a
 * stack host. The device is created inside the namespace, so its name never
 * collides with interfaces of the root namespace, and it is not persistent:
 * it vanishes when the fd is closed (also when the daemon dies).
 *
 * With offloads (IFF_VNET_HDR, TUN_F_CSUM | TUN_F_TSO4) every frame in
 * either direction is preceded by a virtio_net_hdr (netemu/vnet.h): the
 * kernel hands over TCP superframes of up to 64 KiB with the checksum left
 * to us, and takes superframes from us, which it segments itself. That
 * turns ~45 reads or writes per 64 KiB into one.
 *
 * Loop thread only (tap_open at start-up). The fd is non-blocking. */
#ifndef TL_DAEMON_TAP_IO_H
#define TL_DAEMON_TAP_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frames handled per wakeup: bounds the time one busy TAP can hold the
 * loop, so timers and other TAPs get their turn. */
#define TAP_BATCH 64
/* Read buffer: a virtio_net_hdr plus the largest superframe (Ethernet
 * header and a 64 KiB IPv4 datagram), so a read never truncates. */
#define TAP_FRAME_MAX (10 + 14 + 65536 + 512)

/* Creates TAP device `ifname` (IFF_TAP | IFF_NO_PI, plus IFF_VNET_HDR and
 * checksum/TSO4 offloads if `offload`) inside namespace `netns` and
 * returns its fd in *fd. Returns 0 or a negative errno with a one-line
 * reason in err. */
int tap_open(const char *netns, const char *ifname, bool offload, int *fd, char *err,
	     size_t errlen);

/* Opens an AF_PACKET socket on the existing interface `ifname` in namespace
 * `netns` (NULL: the daemon's own), non-blocking, promiscuous, blind to
 * its own transmissions, and brings the interface up. *offload is set
 * when the socket carries virtio_net_hdrs (PACKET_VNET_HDR), as an
 * offload TAP does: then it reads and writes 64 KiB superframes too.
 * Returns 0 or a negative errno with a one-line reason in err. */
int packet_open(const char *netns, const char *ifname, int *fd, bool *offload, char *err,
		size_t errlen);

/* One read: the frame, preceded by its virtio_net_hdr on an offload fd. */
typedef void (*tap_frame_fn)(void *ctx, const uint8_t *frame, size_t len);

/* Reads up to `max` frames from fd (a TAP or a packet socket), calling fn
 * for each. Returns the number
 * read (fewer than max means the device is drained) or a negative errno
 * other than EAGAIN. */
int tap_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx);

/* Writes one frame, after `hdr_len` bytes of virtio_net_hdr (0 on a TAP
 * without offloads). Returns 0 or a negative errno (-EAGAIN: the kernel's
 * queue is full and the frame is dropped, as on a real wire). */
int tap_write(int fd, const uint8_t *hdr, size_t hdr_len, const uint8_t *frame, size_t len);

#endif
