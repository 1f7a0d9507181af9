/* Ethernet II framing: parse a received frame, prepend a header on output.
 * Pure; any thread. VLAN-tagged and 802.3 length frames are "unknown
 * ethertype" to us (the lab links carry untagged Ethernet II only). */
#ifndef TL_NETEMU_ETH_H
#define TL_NETEMU_ETH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pktbuf.h"

#define ETH_ALEN 6
#define ETH_HLEN 14
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806

struct eth_frame {
	uint8_t dst[ETH_ALEN], src[ETH_ALEN];
	uint16_t type;          /* EtherType, host order */
	const uint8_t *payload; /* points into the parsed buffer */
	size_t payload_len;     /* may include Ethernet padding */
};

/* 0, or -EINVAL when the frame is shorter than an Ethernet header. */
int eth_parse(const uint8_t *buf, size_t len, struct eth_frame *f);

/* Prepends an Ethernet header; -ENOBUFS when the headroom is exhausted. */
int eth_push(struct pktbuf *pb, const uint8_t dst[ETH_ALEN],
	     const uint8_t src[ETH_ALEN], uint16_t type);

bool eth_is_broadcast(const uint8_t mac[ETH_ALEN]);
bool eth_is_multicast(const uint8_t mac[ETH_ALEN]);
/* "02:00:c6:12:00:01" into buf (>= 18 bytes). */
const char *eth_ntoa(const uint8_t mac[ETH_ALEN], char *buf);

extern const uint8_t eth_broadcast[ETH_ALEN];

#endif
