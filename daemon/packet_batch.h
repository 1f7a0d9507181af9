/* Batched frame I/O on AF_PACKET attachments. A TAP takes one frame per
 * read() or write(); a packet socket takes many per system call
 * (recvmmsg, sendmmsg). At a few hundred thousand small frames a second
 * (a SYN flood) the per-frame system call is the largest cost left in
 * the daemon, so packet ports read TAP_BATCH frames at a time and queue
 * their writes until the end of the drain.
 *
 * Loop thread only. */
#ifndef TL_DAEMON_PACKET_BATCH_H
#define TL_DAEMON_PACKET_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tap_io.h"

/* As tap_read_batch, with one recvmmsg(): up to `max` (<= TAP_BATCH)
 * frames from packet socket fd, fn called for each in arrival order.
 * Returns the number read or a negative errno other than EAGAIN. */
int packet_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx);

/* A receive ring (TPACKET_V2) mapped from a packet socket: the kernel
 * copies each frame into it as the frame arrives, on the sender's CPU,
 * and the loop takes frames out without any system call. */
struct packet_rx_ring;

/* Maps a ring on packet socket fd (opened by packet_open; `vnet` as it
 * said). Returns NULL with the reason in err if the kernel refuses; the
 * caller then reads with packet_read_batch. */
struct packet_rx_ring *packet_rx_ring_new(int fd, bool vnet, char *err, size_t errlen);
void packet_rx_ring_free(struct packet_rx_ring *r);

/* As packet_read_batch, from the ring. A frame too large for a ring slot
 * (a superframe) is queued whole on the socket, and read from there in
 * its turn; one that found the queue full too is lost and counted in
 * *lost. */
int packet_rx_ring_read(struct packet_rx_ring *r, unsigned max, tap_frame_fn fn, void *ctx,
			uint64_t *lost);

/* Frames waiting to be sent on one packet socket. */
struct packet_txq;

struct packet_txq *packet_txq_new(int fd);
void packet_txq_free(struct packet_txq *q);

/* Queues a copy of one frame (after hdr_len bytes of virtio_net_hdr), so
 * the caller may free it at once; a full queue is sent first. Returns the
 * number of frames the kernel refused while sending (dropped, as a busy
 * wire drops them). */
unsigned packet_txq_add(struct packet_txq *q, const uint8_t *hdr, size_t hdr_len,
			const uint8_t *frame, size_t len);

/* Sends everything queued, in order. Returns the number refused. */
unsigned packet_txq_flush(struct packet_txq *q);

#endif
