/* Packet buffers: one frame in a contiguous buffer with headroom in front,
 * so each layer prepends its header without copying the payload.
 *
 * Two size classes: ordinary buffers hold a 1500-byte-MTU frame; large
 * ones hold a TSO/GSO superframe (an IPv4 datagram of up to 64 KiB that
 * the kernel or a NIC cuts into MSS-sized frames, see vnet.h). Buffers
 * come from a pool per class (free lists) so the hot path allocates
 * nothing once warm. Owned by one thread (the loop thread). */
#ifndef TL_NETEMU_PKTBUF_H
#define TL_NETEMU_PKTBUF_H

#include <stddef.h>
#include <stdint.h>

/* Room for Ethernet (14) + IPv4 (60) + TCP (60) headers and slack. */
#define PKTBUF_HEADROOM 192
/* Headroom plus a full 1500-byte-MTU Ethernet frame, rounded up. */
#define PKTBUF_CAPACITY 2048
/* Headroom plus an Ethernet header and the largest IPv4 datagram (64 KiB):
 * a TSO superframe, rounded up. */
#define PKTBUF_LARGE_CAPACITY (66 * 1024)

/* Invariants: cap is PKTBUF_CAPACITY or PKTBUF_LARGE_CAPACITY;
 * head <= data, data + len <= head + cap. gso_size and csum_partial
 * describe the frame as virtio_net_hdr does (vnet.h); both are 0 for an
 * ordinary frame with every checksum filled in. */
struct pktbuf {
	struct pktbuf *next; /* link for queues and the free list */
	uint8_t *data;       /* first byte of the packet */
	uint32_t len;        /* bytes from data */
	uint32_t meta;       /* free for the owner of the queue (e.g. next hop) */
	uint32_t cap;        /* bytes of storage in head[] */
	uint16_t gso_size;   /* TSO superframe: TCP payload bytes per wire
			      * segment; 0 = one wire frame */
	uint8_t csum_partial; /* the TCP checksum field holds only the
			       * pseudo-header sum (offload: NEEDS_CSUM) */
	uint8_t head[];      /* cap bytes of storage */
};

/* A FIFO of buffers. */
struct pktq {
	struct pktbuf *first, *last;
	uint32_t count;
};

/* Returns an empty buffer with PKTBUF_HEADROOM bytes of headroom, or NULL
 * when memory is exhausted. */
struct pktbuf *pktbuf_alloc(void);
/* Returns a buffer holding a copy of `len` bytes (len <= PKTBUF_CAPACITY - PKTBUF_HEADROOM). */
struct pktbuf *pktbuf_from(const uint8_t *bytes, size_t len);
/* Returns an empty buffer with PKTBUF_HEADROOM of headroom and room for
 * `len` bytes behind it: an ordinary buffer when they fit, else a large
 * one. NULL when len > PKTBUF_LARGE_CAPACITY - PKTBUF_HEADROOM or memory
 * is exhausted. */
struct pktbuf *pktbuf_alloc_len(size_t len);
/* pktbuf_from for any length up to PKTBUF_LARGE_CAPACITY - PKTBUF_HEADROOM. */
struct pktbuf *pktbuf_from_any(const uint8_t *bytes, size_t len);
void pktbuf_free(struct pktbuf *pb);
/* Releases every pooled buffer (at exit, so leak checkers stay quiet). */
void pktbuf_pool_drain(void);

/* Prepends n bytes and returns a pointer to them (NULL if no headroom). */
uint8_t *pktbuf_push(struct pktbuf *pb, size_t n);
/* Removes n bytes from the front (n <= len). */
void pktbuf_pull(struct pktbuf *pb, size_t n);
/* Appends n bytes and returns a pointer to them (NULL if no tailroom). */
uint8_t *pktbuf_put(struct pktbuf *pb, size_t n);
size_t pktbuf_headroom(const struct pktbuf *pb);
size_t pktbuf_tailroom(const struct pktbuf *pb);

void pktq_push(struct pktq *q, struct pktbuf *pb);
struct pktbuf *pktq_pop(struct pktq *q);
void pktq_purge(struct pktq *q);

#endif
