/* Shared by the in-process benches (tl_cookie_core.c, tl_mem_core.c): a
 * stack host 198.18.0.1/24 whose default gateway 198.18.0.2 is already in
 * its ARP cache, so that peers anywhere in 198.18.128.0/17 (the range
 * tl-synflood uses) reach it through the gateway exactly as in a lab; and
 * a builder for the Ethernet frames such a peer sends. Header-only: each
 * bench stays one C file plus this. */
#ifndef TL_BENCH_CORE_FRAMES_H
#define TL_BENCH_CORE_FRAMES_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "arp.h"
#include "bytes.h"
#include "checksum.h"
#include "eth.h"
#include "ipv4.h"
#include "pktbuf.h"
#include "stack.h"
#include "tcp_wire.h"

#define CF_STACK 0xc6120001u   /* 198.18.0.1 */
#define CF_GATEWAY 0xc6120002u /* 198.18.0.2 */
#define CF_PEERS 0xc6128000u   /* 198.18.128.0/17 */

static const uint8_t cf_stack_mac[6] = { 0x02, 0x74, 0x6c, 0x00, 0x00, 0x01 };
static const uint8_t cf_gw_mac[6] = { 0x02, 0x74, 0x6c, 0x00, 0x00, 0x02 };

/* Room for one frame a peer sends (no payload). */
#define CF_FRAME_MAX (ETH_HLEN + IPV4_HLEN + TCP_HDR_MAX)

static inline double cf_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A stack host routed through the gateway, with the gateway's MAC known
 * (it asked for us once). The secret is fixed: benches need no secrecy. */
static inline struct stack *cf_stack_new(tl_usec_t now)
{
	struct stack_config cfg = { .name = "stack", .addr = CF_STACK, .prefix_len = 24,
				    .gateway = CF_GATEWAY, .mtu = 1500 };
	memcpy(cfg.mac, cf_stack_mac, 6);
	for (size_t i = 0; i < sizeof(cfg.secret); i++)
		cfg.secret[i] = (uint8_t)(i * 37 + 11);
	struct stack *st = stack_new(&cfg, now);
	if (!st)
		return NULL;
	static const uint8_t zero[6] = { 0 };
	struct pktbuf *arp = arp_build(ARP_OP_REQUEST, eth_broadcast, cf_gw_mac, CF_GATEWAY, zero,
				       CF_STACK);
	stack_input(st, arp->data, arp->len, now);
	pktbuf_free(arp);
	struct pktbuf *pb;
	while ((pb = stack_pop_output(st)))
		pktbuf_free(pb);
	return st;
}

/* Writes the frame of segment `s` (saddr/daddr set, no payload) as the
 * gateway would deliver it; returns its length. */
static inline size_t cf_build(uint8_t *frame, const struct tcp_seg *s)
{
	size_t hlen = TCP_HDR_MIN + tcp_options_len(&s->opt);
	uint8_t *ip = frame + ETH_HLEN;
	tcp_emit(s, ip + IPV4_HLEN);
	memset(ip, 0, IPV4_HLEN);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(IPV4_HLEN + hlen));
	put_be16(ip + 6, IPV4_DF);
	ip[8] = 64;
	ip[9] = IPPROTO_TCP_;
	put_be32(ip + 12, s->saddr);
	put_be32(ip + 16, s->daddr);
	put_be16(ip + 10, csum_buf(ip, IPV4_HLEN));
	memcpy(frame, cf_stack_mac, 6);
	memcpy(frame + 6, cf_gw_mac, 6);
	put_be16(frame + 12, ETH_P_IP);
	return ETH_HLEN + IPV4_HLEN + hlen;
}

/* TCP header of an output frame, or NULL if it is not TCP over IPv4. */
static inline const uint8_t *cf_tcp_of(const struct pktbuf *pb)
{
	const uint8_t *f = pb->data;
	if (pb->len < ETH_HLEN + IPV4_HLEN + TCP_HDR_MIN || be16_at(f + 12) != ETH_P_IP ||
	    f[ETH_HLEN + 9] != IPPROTO_TCP_)
		return NULL;
	size_t ihl = (size_t)(f[ETH_HLEN] & 15) * 4;
	if (pb->len < ETH_HLEN + ihl + TCP_HDR_MIN)
		return NULL;
	return f + ETH_HLEN + ihl;
}

#endif
