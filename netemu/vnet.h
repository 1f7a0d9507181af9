/* virtio_net_hdr: the header a TAP opened with IFF_VNET_HDR puts in front
 * of every frame, in both directions, so that checksum and segmentation
 * work can be left to whoever is best placed to do it (Linux
 * include/uapi/linux/virtio_net.h, virtio 1.x §5.1.6):
 *
 *   NEEDS_CSUM  the L4 checksum is not filled in: its field holds only the
 *               pseudo-header sum; the sum of [csum_start, end) completes
 *               it at csum_start + csum_offset. A local receiver trusts it.
 *   DATA_VALID  the checksum was already verified.
 *   GSO TCPV4   a TSO superframe: one IPv4/TCP datagram of up to 64 KiB
 *               whose payload is to be cut into gso_size-byte segments.
 *
 * The legacy header is 10 bytes, little-endian on the hosts we run on
 * (the daemon sets TUNSETVNETLE so it is little-endian everywhere).
 *
 * Pure (no I/O): parsing, checking, building, completing a partial
 * checksum and software segmentation (for impaired links and ports
 * without offloads). Any thread; buffers from pktbuf belong to the
 * calling thread's pool. */
#ifndef TL_NETEMU_VNET_H
#define TL_NETEMU_VNET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuf.h"

#define VNET_HDR_LEN 10

#define VNET_F_NEEDS_CSUM 0x01
#define VNET_F_DATA_VALID 0x02

#define VNET_GSO_NONE 0
#define VNET_GSO_TCPV4 1
#define VNET_GSO_UDP 3
#define VNET_GSO_TCPV6 4
#define VNET_GSO_ECN 0x80

/* The header, host byte order. */
struct vnet_hdr {
	uint8_t flags;        /* VNET_F_* */
	uint8_t gso_type;     /* VNET_GSO_* */
	uint16_t hdr_len;     /* bytes of headers (Ethernet + IP + TCP) */
	uint16_t gso_size;    /* payload bytes per segment */
	uint16_t csum_start;  /* NEEDS_CSUM: where the checksummed bytes start */
	uint16_t csum_offset; /* NEEDS_CSUM: checksum field, from csum_start */
};

/* Why a frame's header was refused (the caller counts it). */
enum vnet_drop_reason {
	VNET_OK = 0,
	VNET_DROP_TOO_SHORT, /* fewer bytes than the header itself */
	VNET_DROP_BAD_CSUM,  /* NEEDS_CSUM field outside the frame */
	VNET_DROP_BAD_GSO,   /* GSO other than TCPv4, gso_size 0, or the
			      * frame is not Ethernet/IPv4/TCP */
};

/* Reads the header from p (VNET_HDR_LEN bytes). */
void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h);
/* Writes it to p (VNET_HDR_LEN bytes). */
void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h);

/* Splits a TAP read: header at buf, frame after it. Checks, in order: the
 * header fits; a NEEDS_CSUM field lies inside the frame; a GSO frame is
 * TCPv4 (ECN bit allowed) with gso_size > 0 over Ethernet/IPv4/TCP. */
enum vnet_drop_reason vnet_parse(const uint8_t *buf, size_t len, struct vnet_hdr *h,
				 const uint8_t **frame, size_t *frame_len);

/* The receiver may skip checking the L4 checksum: the sender never filled
 * it in (NEEDS_CSUM: the device was to do it, and a local receiver trusts
 * it, as Linux does with CHECKSUM_PARTIAL) or it was verified already. */
static inline bool vnet_csum_trusted(const struct vnet_hdr *h)
{
	return (h->flags & (VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID)) != 0;
}

/* Completes a NEEDS_CSUM checksum in place (what a NIC does on transmit);
 * no-op without NEEDS_CSUM. h passed vnet_parse for this frame. */
void vnet_csum_complete(uint8_t *frame, size_t len, const struct vnet_hdr *h);

/* The header to send pb to a TAP with: for a superframe (pb->gso_size)
 * GSO TCPV4 with NEEDS_CSUM over its TCP header; for a frame with a
 * partial checksum NEEDS_CSUM alone; otherwise all zero. Returns 0, or
 * -EINVAL if pb claims offloads but is not Ethernet/IPv4/TCP. */
int vnet_hdr_for(const struct pktbuf *pb, struct vnet_hdr *h);

/* Software TSO, as Linux's tcp_gso_segment: cuts an Ethernet/IPv4/TCP
 * frame into frames of at most gso_size payload bytes, each a complete
 * wire frame: the same headers with the IPv4 total length, id (+1 per
 * segment) and header checksum redone, the sequence number advanced,
 * FIN and PSH kept only on the last segment, CWR only on the first, and
 * the TCP checksum computed in full (whatever the input's field held).
 * gso_size 0, or a payload that fits, gives one frame. Appends to out;
 * returns the number of frames, -EINVAL (not IPv4/TCP, lengths wrong) or
 * -ENOBUFS (out keeps the frames made so far). */
int vnet_tso_segment(const uint8_t *frame, size_t len, uint16_t gso_size, struct pktq *out);

#endif
