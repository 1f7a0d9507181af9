/* IPv4 header, RFC 791. */
#include "ipv4.h"

#include <errno.h>
#include <stdio.h>

#include "bytes.h"
#include "checksum.h"

enum ipv4_drop_reason ipv4_parse(const uint8_t *buf, size_t len, struct ipv4_pkt *ip)
{
	if (len < IPV4_HLEN)
		return IPV4_DROP_TOO_SHORT;
	if (buf[0] >> 4 != 4)
		return IPV4_DROP_BAD_VERSION;
	size_t ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < IPV4_HLEN || ihl > len)
		return IPV4_DROP_BAD_IHL;
	uint16_t tot_len = be16_at(buf + 2);
	if (tot_len < ihl || tot_len > len)
		return IPV4_DROP_BAD_LEN;
	if (csum_buf(buf, ihl) != 0)
		return IPV4_DROP_BAD_CSUM;

	ip->hdr_len = (uint8_t)ihl;
	ip->tos = buf[1];
	ip->tot_len = tot_len;
	ip->id = be16_at(buf + 4);
	ip->frag = be16_at(buf + 6);
	ip->ttl = buf[8];
	ip->proto = buf[9];
	ip->src = be32_at(buf + 12);
	ip->dst = be32_at(buf + 16);
	ip->hdr = buf;
	ip->link_broadcast = false;
	ip->l4_csum_ok = false;
	ip->payload = buf + ihl;
	ip->payload_len = (uint16_t)(tot_len - ihl);
	return IPV4_OK;
}

int ipv4_push(struct pktbuf *pb, uint32_t src, uint32_t dst, uint8_t proto,
	      uint8_t tos, uint8_t ttl, uint16_t id, bool df)
{
	size_t payload = pb->len;
	if (payload + IPV4_HLEN > 0xffff)
		return -EMSGSIZE;
	uint8_t *p = pktbuf_push(pb, IPV4_HLEN);
	if (!p)
		return -ENOBUFS;
	p[0] = 0x45;
	p[1] = tos;
	put_be16(p + 2, (uint16_t)(payload + IPV4_HLEN));
	put_be16(p + 4, id);
	put_be16(p + 6, df ? IPV4_DF : 0);
	p[8] = ttl;
	p[9] = proto;
	put_be16(p + 10, 0);
	put_be32(p + 12, src);
	put_be32(p + 16, dst);
	put_be16(p + 10, csum_buf(p, IPV4_HLEN));
	return 0;
}

const char *ipv4_ntoa(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff,
		 (a >> 8) & 0xff, a & 0xff);
	return buf;
}

int ipv4_aton(const char *s, uint32_t *addr)
{
	uint32_t a = 0;
	for (int part = 0; part < 4; part++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		unsigned v = 0;
		int digits = 0;
		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || v > 255)
				return -EINVAL;
		}
		a = a << 8 | v;
		if (part < 3 && *s++ != '.')
			return -EINVAL;
	}
	if (*s != '\0')
		return -EINVAL;
	*addr = a;
	return 0;
}
