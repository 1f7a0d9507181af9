/* Batched frame I/O on AF_PACKET attachments (see packet_batch.h). */
#include "packet_batch.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include "vnet.h"

/* A queue holds up to TXQ_FRAMES frames or TXQ_BYTES bytes: room for
 * a few superframes, or a read batch's worth of small replies. */
#define TXQ_FRAMES 128
#define TXQ_BYTES (512u * 1024)

struct packet_txq {
	int fd;
	unsigned n;
	size_t used;
	struct iovec iov[TXQ_FRAMES];
	struct mmsghdr msg[TXQ_FRAMES];
	uint8_t bytes[TXQ_BYTES];
};

/* The read buffers, one per frame of a batch; only the pages small
 * frames touch are ever resident. */
static uint8_t rx_bufs[TAP_BATCH][TAP_FRAME_MAX];

int packet_read_batch(int fd, unsigned max, tap_frame_fn fn, void *ctx)
{
	struct iovec iov[TAP_BATCH];
	struct mmsghdr msg[TAP_BATCH];
	if (max > TAP_BATCH)
		max = TAP_BATCH;
	memset(msg, 0, sizeof(msg[0]) * max);
	for (unsigned i = 0; i < max; i++) {
		iov[i] = (struct iovec){ rx_bufs[i], TAP_FRAME_MAX };
		msg[i].msg_hdr.msg_iov = &iov[i];
		msg[i].msg_hdr.msg_iovlen = 1;
	}
	int n;
	do
		n = recvmmsg(fd, msg, max, MSG_DONTWAIT, NULL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	for (int i = 0; i < n; i++)
		fn(ctx, rx_bufs[i], msg[i].msg_len);
	return n;
}

struct packet_txq *packet_txq_new(int fd)
{
	struct packet_txq *q = malloc(sizeof(*q));
	if (q) {
		q->fd = fd;
		q->n = 0;
		q->used = 0;
	}
	return q;
}

void packet_txq_free(struct packet_txq *q)
{
	free(q);
}

unsigned packet_txq_flush(struct packet_txq *q)
{
	unsigned sent = 0, refused = 0;
	while (sent + refused < q->n) {
		struct mmsghdr *first = &q->msg[sent + refused];
		int r = sendmmsg(q->fd, first, q->n - sent - refused, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			refused++; /* the first of the rest failed: drop it, go on */
		else
			sent += (unsigned)r;
	}
	q->n = 0;
	q->used = 0;
	return refused;
}

unsigned packet_txq_add(struct packet_txq *q, const uint8_t *hdr, size_t hdr_len,
			const uint8_t *frame, size_t len)
{
	unsigned refused = 0;
	size_t total = hdr_len + len;
	if (q->n == TXQ_FRAMES || q->used + total > TXQ_BYTES)
		refused = packet_txq_flush(q);
	if (total > TXQ_BYTES)
		return refused + 1; /* cannot happen: a frame is at most TAP_FRAME_MAX */
	uint8_t *at = q->bytes + q->used;
	if (hdr_len)
		memcpy(at, hdr, hdr_len);
	memcpy(at + hdr_len, frame, len);
	q->iov[q->n] = (struct iovec){ at, total };
	q->msg[q->n] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &q->iov[q->n], .msg_iovlen = 1 } };
	q->n++;
	q->used += total;
	return refused;
}

/* Ring geometry: slots of 2 KiB hold any frame of a 1500-byte link with
 * the ring's header and the virtio_net_hdr; blocks of 64 KiB (32 slots);
 * 4096 slots in all (8 MiB), a few milliseconds of a flood. */
#define RING_SLOT 2048u
#define RING_BLOCK (64u * 1024)
#define RING_SLOTS 4096u

struct packet_rx_ring {
	int fd;
	uint8_t *map;
	unsigned next; /* the slot to look at next */
	bool vnet;     /* frames carry a virtio_net_hdr just before the MAC header */
};

struct packet_rx_ring *packet_rx_ring_new(int fd, bool vnet, char *err, size_t errlen)
{
	int version = TPACKET_V2, one = 1;
	struct tpacket_req req = { .tp_block_size = RING_BLOCK,
				   .tp_block_nr = RING_SLOTS * RING_SLOT / RING_BLOCK,
				   .tp_frame_size = RING_SLOT,
				   .tp_frame_nr = RING_SLOTS };
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0 ||
	    /* A frame larger than a slot goes whole to the socket's queue. */
	    setsockopt(fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		snprintf(err, errlen, "no receive ring on the packet socket (%s): one system call per batch",
			 strerror(errno));
		return NULL;
	}
	struct packet_rx_ring *r = calloc(1, sizeof(*r));
	void *map = mmap(NULL, (size_t)RING_SLOTS * RING_SLOT, PROT_READ | PROT_WRITE, MAP_SHARED,
			 fd, 0);
	if (!r || map == MAP_FAILED) {
		snprintf(err, errlen, "cannot map the packet socket's receive ring (%s)",
			 strerror(errno));
		if (map != MAP_FAILED)
			munmap(map, (size_t)RING_SLOTS * RING_SLOT);
		free(r);
		req = (struct tpacket_req){ 0 }; /* take the ring down again */
		setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req));
		return NULL;
	}
	r->fd = fd;
	r->map = map;
	r->vnet = vnet;
	/* Frames that arrived before the ring sit on the socket's queue,
	 * where only superframes are looked for: drop them (the lab is not
	 * up yet), else poll() would report the socket readable forever. */
	static uint8_t sink[64];
	while (recv(fd, sink, sizeof(sink), MSG_DONTWAIT | MSG_TRUNC) >= 0)
		;
	return r;
}

void packet_rx_ring_free(struct packet_rx_ring *r)
{
	if (!r)
		return;
	munmap(r->map, (size_t)RING_SLOTS * RING_SLOT);
	free(r);
}

int packet_rx_ring_read(struct packet_rx_ring *r, unsigned max, tap_frame_fn fn, void *ctx,
			uint64_t *lost)
{
	unsigned n = 0;
	size_t vh = r->vnet ? VNET_HDR_LEN : 0;
	while (n < max) {
		struct tpacket2_hdr *h = (void *)(r->map + (size_t)r->next * RING_SLOT);
		uint32_t status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		if (!(status & TP_STATUS_USER))
			break;
		if (status & TP_STATUS_COPY) {
			/* The slot holds a cut copy; the whole frame is next on
			 * the socket's queue. */
			int got = packet_read_batch(r->fd, 1, fn, ctx);
			if (got < 0)
				return got;
		} else if (h->tp_snaplen == h->tp_len) {
			fn(ctx, (uint8_t *)h + h->tp_mac - vh, h->tp_snaplen + vh);
		} else {
			(*lost)++; /* too large, and no room on the queue */
		}
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		r->next = (r->next + 1) % RING_SLOTS;
		n++;
	}
	return (int)n;
}
