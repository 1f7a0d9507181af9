/* IPv4 header parsing and building (RFC 791). Pure; any thread.
 *
 * Fragments are NOT reassembled: the stack drops them and counts them
 * (Ip ReasmReqds and ReasmFails), since lab peers use PMTU discovery (DF)
 * and TCP never needs fragments. */
#ifndef TL_NETEMU_IPV4_H
#define TL_NETEMU_IPV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuf.h"

#define IPV4_HLEN 20
#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPV4_DF 0x4000
#define IPV4_MF 0x2000
#define IPV4_OFFMASK 0x1fff

/* A parsed header, host byte order. */
struct ipv4_pkt {
	uint8_t hdr_len;        /* IHL in bytes, 20..60 */
	uint8_t tos, ttl, proto;
	uint16_t tot_len, id, frag; /* frag: flags and offset field */
	uint32_t src, dst;
	const uint8_t *hdr;     /* the header as received */
	const uint8_t *payload;
	uint16_t payload_len;   /* tot_len - hdr_len: Ethernet padding trimmed */
	bool link_broadcast;    /* set by the caller: came in an Ethernet broadcast */
	bool l4_csum_ok;        /* set by the caller: the device vouched for the
				 * TCP/UDP checksum (STACK_RX_CSUM_OK) */
};

enum ipv4_drop_reason {
	IPV4_OK = 0,
	IPV4_DROP_TOO_SHORT,   /* fewer than 20 bytes */
	IPV4_DROP_BAD_VERSION, /* version != 4 */
	IPV4_DROP_BAD_IHL,     /* IHL < 5 or beyond the buffer */
	IPV4_DROP_BAD_LEN,     /* total length < IHL or beyond the buffer */
	IPV4_DROP_BAD_CSUM,    /* header checksum mismatch */
};

/* Checks, in order: fixed header fits, version, IHL within [20, len], total
 * length within [IHL, len] (trims padding), header checksum. Options are
 * skipped, never interpreted. */
enum ipv4_drop_reason ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_pkt *ip);

static inline bool ipv4_is_fragment(const struct ipv4_pkt *ip)
{
	return (ip->frag & (IPV4_MF | IPV4_OFFMASK)) != 0;
}

/* Prepends a 20-byte header (no options) with its checksum; payload is the
 * buffer's current content. -ENOBUFS when headroom is exhausted. */
int ipv4_push(struct pktbuf *pb, uint32_t src, uint32_t dst, uint8_t proto,
	      uint8_t tos, uint8_t ttl, uint16_t id, bool df);

#define IPTOS_TOS_MASK 0x1e
#define IPTOS_PREC_INTERNETCONTROL 0xc0

/* "198.18.0.1" into buf (>= 16 bytes); addr in host order. */
const char *ipv4_ntoa(uint32_t addr, char *buf);
/* Parses a dotted quad; 0 on success, -EINVAL otherwise. */
int ipv4_aton(const char *s, uint32_t *addr);

#endif
