/* A stack host: the glue from Ethernet to ARP, IPv4, ICMP and TCP, and the
 * queues (frames out, events) the caller drains. */
#include "stack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arp.h"
#include "bytes.h"
#include "checksum.h"
#include "eth.h"
#include "icmp.h"
#include "ipv4.h"
#include "tcp.h"
#include "tcp_sysctl.h"
#include "tcp_tunables.h"

/* Events beyond this many undrained are counted as lost, never waited on. */
#define EVENT_RING 16384
#define IP_DEFAULT_TTL 64

struct stack {
	struct stack_config cfg;
	uint32_t netmask;
	struct stack_counters mib;
	struct neigh_table neigh;
	struct arp_env arp;
	struct icmp_limit icmp_limit;
	struct pktq out;
	uint16_t ip_id;
	struct tcp_sysctl sysctl;
	struct tcp_host *tcp;
	/* Event ring: [ev_head, ev_head + ev_count) modulo EVENT_RING. */
	struct tl_event *ev;
	uint32_t ev_head, ev_count;
	uint64_t ev_lost;
};

static void stack_xmit(void *ctx, struct pktbuf *frame)
{
	struct stack *st = ctx;
	st->mib.tlext.TxFrames++;
	pktq_push(&st->out, frame);
}

struct stack *stack_new(const struct stack_config *cfg, tl_usec_t now)
{
	struct stack *st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->ev = calloc(EVENT_RING, sizeof(*st->ev));
	if (!st->ev)
		goto fail;
	st->cfg = *cfg;
	st->netmask = cfg->prefix_len ? ~0u << (32 - cfg->prefix_len) : 0;
	if (!st->cfg.mtu)
		st->cfg.mtu = 1500;
	st->cfg.gso_max = TL_MIN(st->cfg.gso_max, 65535u);
	st->mib.ip.Forwarding = 2; /* a host, not a router */
	st->mib.ip.DefaultTTL = IP_DEFAULT_TTL;
	neigh_init(&st->neigh);
	memcpy(st->arp.mac, cfg->mac, ETH_ALEN);
	st->arp.ip = cfg->addr;
	st->arp.ctx = st;
	st->arp.xmit = stack_xmit;
	st->arp.mib = &st->mib.tlext;
	icmp_limit_init(&st->icmp_limit, now);
	st->ip_id = (uint16_t)(cfg->secret[0] << 8 | cfg->secret[1]);
	tcp_sysctl_init(&st->sysctl);
	st->tcp = tcp_host_new(st, &st->sysctl, &st->mib, now);
	if (!st->tcp)
		goto fail;
	return st;
fail:
	free(st->ev);
	free(st);
	return NULL;
}

void stack_free(struct stack *st)
{
	if (!st)
		return;
	tcp_host_free(st->tcp);
	neigh_fini(&st->neigh);
	pktq_purge(&st->out);
	free(st->ev);
	free(st);
}

const struct stack_config *stack_config(const struct stack *st) { return &st->cfg; }
void stack_set_gso_max(struct stack *st, uint32_t gso_max)
{
	st->cfg.gso_max = TL_MIN(gso_max, 65535u);
}
struct stack_counters *stack_counters(struct stack *st) { return &st->mib; }
struct tcp_host *stack_tcp(struct stack *st) { return st->tcp; }
struct tcp_sysctl *stack_sysctl(struct stack *st) { return &st->sysctl; }
struct icmp_limit *stack_icmp_limit(struct stack *st) { return &st->icmp_limit; }

struct pktbuf *stack_pop_output(struct stack *st)
{
	return pktq_pop(&st->out);
}

void stack_emit_event(struct stack *st, const struct tl_event *ev)
{
	if (st->ev_count == EVENT_RING) {
		st->ev_lost++;
		return;
	}
	st->ev[(st->ev_head + st->ev_count) % EVENT_RING] = *ev;
	st->ev_count++;
}

bool stack_pop_event(struct stack *st, struct tl_event *ev)
{
	if (!st->ev_count)
		return false;
	*ev = st->ev[st->ev_head];
	st->ev_head = (st->ev_head + 1) % EVENT_RING;
	st->ev_count--;
	return true;
}

uint64_t stack_events_lost(const struct stack *st)
{
	return st->ev_lost;
}


/* A UDP datagram: we have no UDP sockets, so like a Linux host with no
 * listener we answer port unreachable (after checking the datagram). */
static void udp_input(struct stack *st, const struct ipv4_pkt *ip, tl_usec_t now)
{
	struct mib_udp *m = &st->mib.udp;
	if (ip->payload_len < 8 || be16_at(ip->payload + 4) < 8 ||
	    be16_at(ip->payload + 4) > ip->payload_len) {
		m->InErrors++;
		return;
	}
	uint16_t ulen = be16_at(ip->payload + 4);
	/* 0 means "no checksum" in IPv4. */
	if (be16_at(ip->payload + 6) != 0 && !ip->l4_csum_ok) {
		uint32_t sum = csum_pseudo_ipv4(ip->src, ip->dst, IPPROTO_UDP_, ulen);
		if (csum_fold(csum_add(sum, ip->payload, ulen)) != 0) {
			m->InErrors++;
			m->InCsumErrors++;
			return;
		}
	}
	m->NoPorts++;
	icmp_send_error(st, ip, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, now);
}

static void ip_input(struct stack *st, const uint8_t *buf, size_t len, bool link_broadcast,
		     unsigned rx_flags, tl_usec_t now)
{
	struct mib_ip *m = &st->mib.ip;
	struct ipv4_pkt ip;
	m->InReceives++;
	if (ipv4_parse(buf, len, &ip) != IPV4_OK) {
		m->InHdrErrors++;
		return;
	}
	ip.link_broadcast = link_broadcast;
	ip.l4_csum_ok = (rx_flags & STACK_RX_CSUM_OK) != 0;
	if (ip.dst != st->cfg.addr) {
		/* Not a router: anything not addressed to us (broadcasts
		 * included: we run no broadcast services) is dropped. */
		m->InAddrErrors++;
		return;
	}
	if (ipv4_is_fragment(&ip)) {
		m->ReasmReqds++;
		m->ReasmFails++;
		return;
	}
	switch (ip.proto) {
	case IPPROTO_ICMP_:
		m->InDelivers++;
		icmp_input(st, &ip, now);
		break;
	case IPPROTO_TCP_:
		m->InDelivers++;
		tcp_input(st->tcp, &ip, now);
		break;
	case IPPROTO_UDP_:
		m->InDelivers++;
		udp_input(st, &ip, now);
		break;
	default:
		m->InUnknownProtos++;
		icmp_send_error(st, &ip, ICMP_DEST_UNREACH, ICMP_PROT_UNREACH, now);
		break;
	}
}

void stack_input(struct stack *st, const uint8_t *frame, size_t len, tl_usec_t now)
{
	stack_input_rx(st, frame, len, 0, now);
}

void stack_input_rx(struct stack *st, const uint8_t *frame, size_t len, unsigned flags,
		    tl_usec_t now)
{
	struct mib_tlext *x = &st->mib.tlext;
	struct eth_frame f;
	x->RxFrames++;
	if (eth_parse(frame, len, &f) < 0) {
		x->RxRunts++;
		return;
	}
	if (memcmp(f.dst, st->cfg.mac, ETH_ALEN) != 0 && !eth_is_broadcast(f.dst)) {
		x->RxNotForUs++;
		return;
	}
	switch (f.type) {
	case ETH_P_ARP:
		arp_input(&st->neigh, &st->arp, f.payload, f.payload_len, now);
		break;
	case ETH_P_IP:
		ip_input(st, f.payload, f.payload_len, eth_is_broadcast(f.dst), flags, now);
		break;
	default:
		x->RxUnknownEthertype++;
		break;
	}
}

int stack_ip_output(struct stack *st, uint32_t dst, uint8_t proto,
		    struct pktbuf *pb, tl_usec_t now)
{
	return stack_ip_output_tos(st, dst, proto, 0, pb, now);
}

int stack_ip_output_tos(struct stack *st, uint32_t dst, uint8_t proto, uint8_t tos,
			struct pktbuf *pb, tl_usec_t now)
{
	struct mib_ip *m = &st->mib.ip;
	uint32_t next_hop = dst;
	if ((dst & st->netmask) != (st->cfg.addr & st->netmask)) {
		if (!st->cfg.gateway) {
			m->OutNoRoutes++;
			pktbuf_free(pb);
			return -EHOSTUNREACH;
		}
		next_hop = st->cfg.gateway;
	}
	/* Linux sets DF on TCP (path MTU discovery) but not on ICMP replies. */
	bool df = proto == IPPROTO_TCP_;
	m->OutRequests++;
	/* A TSO superframe (pb->gso_size) is cut into MTU-sized frames further
	 * on: each of those must fit, and the whole within an IPv4 datagram. */
	size_t wire_len = pb->len, segs = 1;
	if (pb->gso_size && proto == IPPROTO_TCP_ && pb->len >= 20) {
		size_t thl = (size_t)(pb->data[12] >> 4) * 4; /* data offset */
		size_t payload = pb->len > thl ? pb->len - thl : 0;
		wire_len = TL_MIN(wire_len, thl + pb->gso_size);
		segs = payload > pb->gso_size ? (payload + pb->gso_size - 1) / pb->gso_size : 1;
	}
	if (wire_len + IPV4_HLEN > st->cfg.mtu || pb->len + IPV4_HLEN > 0xffff) {
		m->FragFails++; /* we do not fragment */
		pktbuf_free(pb);
		return -EMSGSIZE;
	}
	if (ipv4_push(pb, st->cfg.addr, dst, proto, tos, IP_DEFAULT_TTL, st->ip_id, df) < 0) {
		m->OutDiscards++;
		pktbuf_free(pb);
		return -ENOBUFS;
	}
	/* Linux ip_select_ident_segs(): a superframe uses one id per segment
	 * (segmentation numbers them id, id+1, ...). */
	st->ip_id = (uint16_t)(st->ip_id + segs);
	m->OutTransmits++;
	neigh_output(&st->neigh, &st->arp, next_hop, pb, now);
	return 0;
}

tl_usec_t stack_next_deadline(const struct stack *st)
{
	return TL_MIN(neigh_next_deadline(&st->neigh), tcp_next_deadline(st->tcp));
}

void stack_poll(struct stack *st, tl_usec_t now)
{
	neigh_poll(&st->neigh, &st->arp, now);
	tcp_poll(st->tcp, now);
}
