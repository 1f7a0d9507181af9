/* Ethernet II. */
#include "eth.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bytes.h"

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

int eth_parse(const uint8_t *buf, size_t len, struct eth_frame *f)
{
	if (len < ETH_HLEN)
		return -EINVAL;
	memcpy(f->dst, buf, ETH_ALEN);
	memcpy(f->src, buf + 6, ETH_ALEN);
	f->type = be16_at(buf + 12);
	f->payload = buf + ETH_HLEN;
	f->payload_len = len - ETH_HLEN;
	return 0;
}

int eth_push(struct pktbuf *pb, const uint8_t dst[ETH_ALEN],
	     const uint8_t src[ETH_ALEN], uint16_t type)
{
	uint8_t *p = pktbuf_push(pb, ETH_HLEN);
	if (!p)
		return -ENOBUFS;
	memcpy(p, dst, ETH_ALEN);
	memcpy(p + 6, src, ETH_ALEN);
	put_be16(p + 12, type);
	return 0;
}

bool eth_is_broadcast(const uint8_t mac[ETH_ALEN])
{
	return memcmp(mac, eth_broadcast, ETH_ALEN) == 0;
}

bool eth_is_multicast(const uint8_t mac[ETH_ALEN])
{
	return mac[0] & 1; /* the I/G bit; broadcast is a multicast too */
}

const char *eth_ntoa(const uint8_t mac[ETH_ALEN], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
		 mac[2], mac[3], mac[4], mac[5]);
	return buf;
}
