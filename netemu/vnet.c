/* virtio_net_hdr parsing and building, partial checksums, software TSO. */
#include "vnet.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "tl_types.h"

#define ETH_HDR 14
#define ETHERTYPE_IPV4 0x0800
#define PROTO_TCP 6
#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

static uint16_t le16_at(const uint8_t *p)
{
	return (uint16_t)(p[0] | (uint16_t)p[1] << 8);
}

static void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

void vnet_hdr_get(const uint8_t *p, struct vnet_hdr *h)
{
	h->flags = p[0];
	h->gso_type = p[1];
	h->hdr_len = le16_at(p + 2);
	h->gso_size = le16_at(p + 4);
	h->csum_start = le16_at(p + 6);
	h->csum_offset = le16_at(p + 8);
}

void vnet_hdr_put(uint8_t *p, const struct vnet_hdr *h)
{
	p[0] = h->flags;
	p[1] = h->gso_type;
	put_le16(p + 2, h->hdr_len);
	put_le16(p + 4, h->gso_size);
	put_le16(p + 6, h->csum_start);
	put_le16(p + 8, h->csum_offset);
}

/* The offsets of an Ethernet/IPv4/TCP frame: IPv4 header length, TCP
 * header length and TCP payload length, each checked against the frame
 * and the IPv4 total length. False if the frame is anything else. */
static bool tcp4_layout(const uint8_t *f, size_t len, size_t *ihl, size_t *thl,
			size_t *payload)
{
	if (len < ETH_HDR + 20 || be16_at(f + 12) != ETHERTYPE_IPV4)
		return false;
	const uint8_t *ip = f + ETH_HDR;
	size_t iplen = len - ETH_HDR;
	if (ip[0] >> 4 != 4 || ip[9] != PROTO_TCP)
		return false;
	*ihl = (size_t)(ip[0] & 0x0f) * 4;
	size_t tot = be16_at(ip + 2);
	if (*ihl < 20 || tot > iplen || tot < *ihl + 20)
		return false;
	*thl = (size_t)(ip[*ihl + 12] >> 4) * 4;
	if (*thl < 20 || *ihl + *thl > tot)
		return false;
	*payload = tot - *ihl - *thl;
	return true;
}

enum vnet_drop_reason vnet_parse(const uint8_t *buf, size_t len, struct vnet_hdr *h,
				 const uint8_t **frame, size_t *frame_len)
{
	if (len < VNET_HDR_LEN)
		return VNET_DROP_TOO_SHORT;
	vnet_hdr_get(buf, h);
	const uint8_t *f = buf + VNET_HDR_LEN;
	size_t flen = len - VNET_HDR_LEN;
	if ((h->flags & VNET_F_NEEDS_CSUM) &&
	    (size_t)h->csum_start + h->csum_offset + 2 > flen)
		return VNET_DROP_BAD_CSUM;
	if (h->gso_type != VNET_GSO_NONE) {
		size_t ihl, thl, payload;
		if ((h->gso_type & ~VNET_GSO_ECN) != VNET_GSO_TCPV4 || h->gso_size == 0 ||
		    !tcp4_layout(f, flen, &ihl, &thl, &payload))
			return VNET_DROP_BAD_GSO;
	}
	*frame = f;
	*frame_len = flen;
	return VNET_OK;
}

void vnet_csum_complete(uint8_t *frame, size_t len, const struct vnet_hdr *h)
{
	if (!(h->flags & VNET_F_NEEDS_CSUM))
		return;
	/* The field holds the pseudo-header sum, so summing the range with
	 * it in place gives the full checksum. */
	uint8_t *field = frame + h->csum_start + h->csum_offset;
	uint16_t sum = csum_fold(csum_add(0, frame + h->csum_start, len - h->csum_start));
	put_be16(field, sum);
}

int vnet_hdr_for(const struct pktbuf *pb, struct vnet_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (!pb->gso_size && !pb->csum_partial)
		return 0;
	size_t ihl, thl, payload;
	if (!tcp4_layout(pb->data, pb->len, &ihl, &thl, &payload))
		return -EINVAL;
	if (pb->csum_partial) {
		h->flags = VNET_F_NEEDS_CSUM;
		h->csum_start = (uint16_t)(ETH_HDR + ihl);
		h->csum_offset = 16; /* TCP checksum field */
	}
	if (pb->gso_size && payload > pb->gso_size) {
		h->gso_type = VNET_GSO_TCPV4;
		h->gso_size = pb->gso_size;
		h->hdr_len = (uint16_t)(ETH_HDR + ihl + thl);
	}
	return 0;
}

int vnet_tso_segment(const uint8_t *frame, size_t len, uint16_t gso_size, struct pktq *out)
{
	size_t ihl, thl, payload;
	if (!tcp4_layout(frame, len, &ihl, &thl, &payload))
		return -EINVAL;
	size_t hdrs = ETH_HDR + ihl + thl;
	size_t seg = gso_size && gso_size < payload ? gso_size : payload;
	const uint8_t *ip0 = frame + ETH_HDR;
	uint16_t id0 = be16_at(ip0 + 4);
	uint32_t seq0 = be32_at(ip0 + ihl + 4);
	uint8_t flags0 = ip0[ihl + 13];
	uint32_t saddr = be32_at(ip0 + 12), daddr = be32_at(ip0 + 16);
	int n = 0;
	size_t off = 0;
	do {
		size_t chunk = TL_MIN(seg, payload - off);
		bool first = off == 0, last = off + chunk == payload;
		struct pktbuf *pb = pktbuf_alloc_len(hdrs + chunk);
		uint8_t *p = pb ? pktbuf_put(pb, hdrs + chunk) : NULL;
		if (!p) {
			pktbuf_free(pb);
			return -ENOBUFS;
		}
		memcpy(p, frame, hdrs);
		memcpy(p + hdrs, frame + hdrs + off, chunk);
		uint8_t *ip = p + ETH_HDR, *th = ip + ihl;
		put_be16(ip + 2, (uint16_t)(ihl + thl + chunk));
		put_be16(ip + 4, (uint16_t)(id0 + n));
		put_be16(ip + 10, 0);
		put_be16(ip + 10, csum_buf(ip, ihl));
		put_be32(th + 4, seq0 + (uint32_t)off);
		uint8_t fl = flags0;
		if (!last)
			fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (!first)
			fl &= (uint8_t)~TCP_CWR;
		th[13] = fl;
		put_be16(th + 16, 0);
		uint32_t sum = csum_pseudo_ipv4(saddr, daddr, PROTO_TCP, (uint16_t)(thl + chunk));
		put_be16(th + 16, csum_fold(csum_add(sum, th, thl + chunk)));
		pktq_push(out, pb);
		n++;
		off += chunk;
	} while (off < payload);
	return n;
}
