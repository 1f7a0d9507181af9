/* The lab's IPv4 router (see router.h). */
#include "router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "eth.h"
#include "icmp.h"
#include "ipv4.h"

#define ROUTER_TTL 64
#define ICMP_NET_UNREACH 0
#define ICMP_EXC_TTL 0
/* RFC 1812 §4.3.2.3 and Linux icmp_send(): an error quotes as much of the
 * datagram as fits in 576 bytes. */
#define ICMP_ERROR_MAX 576

static uint32_t mask_of(uint8_t len)
{
	return len ? 0xffffffffu << (32 - len) : 0;
}

static void if_xmit(void *ctx, struct pktbuf *frame)
{
	struct router_if *ifp = ctx;
	pktq_push(&ifp->out, frame);
}

struct router *router_new(const char *name, tl_usec_t now)
{
	struct router *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	size_t n = strlen(name);
	if (n >= sizeof(r->name))
		n = sizeof(r->name) - 1;
	memcpy(r->name, name, n);
	r->icmp_tokens = ICMP_MSGS_BURST;
	r->icmp_last = now;
	return r;
}

void router_free(struct router *r)
{
	if (!r)
		return;
	for (unsigned i = 0; i < r->n_ifs; i++) {
		neigh_fini(&r->ifs[i].neigh);
		pktq_purge(&r->ifs[i].out);
	}
	free(r);
}

int router_add_if(struct router *r, const uint8_t mac[6], uint32_t addr, uint8_t prefix_len,
		  uint16_t mtu)
{
	if (r->n_ifs == ROUTER_IFS_MAX)
		return -ENOSPC;
	if (prefix_len < 1 || prefix_len > 31 || mtu < 68)
		return -EINVAL;
	struct router_if *ifp = &r->ifs[r->n_ifs];
	memset(ifp, 0, sizeof(*ifp));
	memcpy(ifp->mac, mac, 6);
	ifp->addr = addr;
	ifp->prefix_len = prefix_len;
	ifp->mask = mask_of(prefix_len);
	ifp->mtu = mtu;
	neigh_init(&ifp->neigh);
	memcpy(ifp->arp.mac, mac, 6);
	ifp->arp.ip = addr;
	ifp->arp.ctx = ifp;
	ifp->arp.xmit = if_xmit;
	ifp->arp.mib = &r->arp_mib;
	return (int)r->n_ifs++;
}

int router_add_route(struct router *r, uint32_t dst, uint8_t prefix_len, uint32_t gw)
{
	if (r->n_routes == ROUTER_ROUTES_MAX)
		return -ENOSPC;
	uint32_t mask = mask_of(prefix_len);
	if (prefix_len > 32 || (dst & ~mask))
		return -EINVAL;
	bool on_link = false;
	for (unsigned i = 0; i < r->n_ifs; i++)
		on_link |= (gw & r->ifs[i].mask) == (r->ifs[i].addr & r->ifs[i].mask) &&
			   gw != r->ifs[i].addr;
	if (!on_link)
		return -EINVAL;
	r->routes[r->n_routes++] = (struct router_route){ dst, mask, gw, prefix_len };
	return 0;
}

int router_lookup(const struct router *r, uint32_t dst, unsigned *ifx, uint32_t *next_hop)
{
	int best = -1;
	/* Connected subnets first, so they win a tie of prefix lengths. */
	for (unsigned i = 0; i < r->n_ifs; i++) {
		const struct router_if *ifp = &r->ifs[i];
		if ((dst & ifp->mask) == (ifp->addr & ifp->mask) && ifp->prefix_len > best) {
			best = ifp->prefix_len;
			*ifx = i;
			*next_hop = dst;
		}
	}
	for (unsigned k = 0; k < r->n_routes; k++) {
		const struct router_route *rt = &r->routes[k];
		if ((dst & rt->mask) != rt->dst || rt->prefix_len <= best)
			continue;
		for (unsigned i = 0; i < r->n_ifs; i++) {
			const struct router_if *ifp = &r->ifs[i];
			if ((rt->via & ifp->mask) == (ifp->addr & ifp->mask)) {
				best = rt->prefix_len;
				*ifx = i;
				*next_hop = rt->via;
				break;
			}
		}
	}
	return best < 0 ? -ENETUNREACH : 0;
}

/* Sends a datagram of our own (pb holds the payload) towards dst. */
static void ip_send(struct router *r, uint32_t src, uint32_t dst, uint8_t proto, uint8_t tos,
		    struct pktbuf *pb, tl_usec_t now)
{
	unsigned ifx;
	uint32_t nh;
	if (router_lookup(r, dst, &ifx, &nh) < 0) {
		r->c.OutNoRoutes++;
		pktbuf_free(pb);
		return;
	}
	struct router_if *o = &r->ifs[ifx];
	if (!src)
		src = o->addr;
	if (ipv4_push(pb, src, dst, proto, tos, ROUTER_TTL, r->ip_id++, false) < 0) {
		pktbuf_free(pb);
		return;
	}
	neigh_output(&o->neigh, &o->arp, nh, pb, now);
}

/* Linux's global ICMP error budget (icmp_msgs_per_sec, _burst). */
static bool icmp_allowed(struct router *r, tl_usec_t now)
{
	uint64_t add = (now - r->icmp_last) * ICMP_MSGS_PER_SEC / TL_USEC_PER_SEC;
	if (add) {
		r->icmp_tokens = (uint32_t)TL_MIN((uint64_t)r->icmp_tokens + add,
						  (uint64_t)ICMP_MSGS_BURST);
		r->icmp_last = now;
	}
	if (!r->icmp_tokens) {
		r->c.OutRateLimited++;
		return false;
	}
	r->icmp_tokens--;
	return true;
}

static bool is_icmp_error(const struct ipv4_pkt *ip)
{
	if (ip->proto != IPPROTO_ICMP_ || ip->payload_len < 1)
		return false;
	uint8_t t = ip->payload[0];
	return t == ICMP_DEST_UNREACH || t == 4 /* source quench */ || t == 5 /* redirect */ ||
	       t == ICMP_TIME_EXCEEDED || t == ICMP_PARAMETERPROB;
}

/* RFC 1812 §4.3.2.7 / RFC 1122 §3.2.2: an error back to orig's source,
 * except about an ICMP error, a non-first fragment, a link broadcast or a
 * source that is no single host. Its source is the address of the
 * interface it leaves by (Linux, icmp_errors_use_inbound_ifaddr = 0). */
static void icmp_error(struct router *r, const struct ipv4_pkt *orig, uint8_t type,
		       uint8_t code, uint16_t mtu, tl_usec_t now)
{
	uint32_t s = orig->src;
	if (is_icmp_error(orig) || (orig->frag & IPV4_OFFMASK) || orig->link_broadcast ||
	    s == 0 || s == 0xffffffffu || (s >> 28) == 0xe || (s >> 24) == 127)
		return;
	if (!icmp_allowed(r, now))
		return;
	size_t quote = TL_MIN((size_t)orig->tot_len, (size_t)ICMP_ERROR_MAX - IPV4_HLEN - ICMP_HLEN);
	struct pktbuf *pb = pktbuf_alloc();
	uint8_t *p = pb ? pktbuf_put(pb, ICMP_HLEN + quote) : NULL;
	if (!p) {
		pktbuf_free(pb);
		r->c.InDiscards++;
		return;
	}
	memset(p, 0, ICMP_HLEN);
	p[0] = type;
	p[1] = code;
	if (type == ICMP_DEST_UNREACH && code == ICMP_FRAG_NEEDED)
		put_be16(p + 6, mtu); /* RFC 1191 next-hop MTU */
	memcpy(p + ICMP_HLEN, orig->hdr, quote);
	put_be16(p + 2, csum_buf(p, ICMP_HLEN + quote));
	if (type == ICMP_TIME_EXCEEDED)
		r->c.OutTimeExcds++;
	else
		r->c.OutDestUnreachs++;
	/* Linux icmp_send(): the quoted TOS bits with precedence
	 * "internetwork control". */
	uint8_t tos = (uint8_t)((orig->tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL);
	ip_send(r, 0, s, IPPROTO_ICMP_, tos, pb, now);
}

/* A datagram for one of our addresses: we answer pings, nothing else. */
static void local_input(struct router *r, const struct ipv4_pkt *ip, tl_usec_t now)
{
	r->c.InDelivers++;
	if (ip->proto != IPPROTO_ICMP_ || ip->payload_len < ICMP_HLEN ||
	    ip->payload[0] != ICMP_ECHO || csum_buf(ip->payload, ip->payload_len) != 0 ||
	    ipv4_is_fragment(ip))
		return;
	r->c.InEchos++;
	struct pktbuf *pb = pktbuf_from(ip->payload, ip->payload_len);
	if (!pb) {
		r->c.InDiscards++;
		return;
	}
	pb->data[0] = ICMP_ECHOREPLY;
	put_be16(pb->data + 2, 0);
	put_be16(pb->data + 2, csum_buf(pb->data, pb->len));
	r->c.OutEchoReps++;
	ip_send(r, ip->dst, ip->src, IPPROTO_ICMP_, ip->tos, pb, now);
}

static bool ours(const struct router *r, uint32_t a)
{
	for (unsigned i = 0; i < r->n_ifs; i++)
		if (r->ifs[i].addr == a)
			return true;
	return false;
}

static bool directed_broadcast(const struct router *r, uint32_t a)
{
	for (unsigned i = 0; i < r->n_ifs; i++)
		if (a == (r->ifs[i].addr | ~r->ifs[i].mask))
			return true;
	return false;
}

/* RFC 1812 §5.2: forward with TTL - 1 (Linux ip_forward()). */
static void forward(struct router *r, const struct ipv4_pkt *ip, tl_usec_t now)
{
	if (ip->ttl <= 1) {
		icmp_error(r, ip, ICMP_TIME_EXCEEDED, ICMP_EXC_TTL, 0, now);
		return;
	}
	unsigned ifx;
	uint32_t nh;
	if (router_lookup(r, ip->dst, &ifx, &nh) < 0) {
		r->c.OutNoRoutes++;
		icmp_error(r, ip, ICMP_DEST_UNREACH, ICMP_NET_UNREACH, 0, now);
		return;
	}
	struct router_if *o = &r->ifs[ifx];
	if (ip->tot_len > o->mtu) {
		/* We never fragment (like the stack): DF gets the RFC 1191
		 * answer, a datagram without DF is dropped and counted. */
		if ((ip->frag & IPV4_DF) && !r->pmtu_black_hole)
			icmp_error(r, ip, ICMP_DEST_UNREACH, ICMP_FRAG_NEEDED, o->mtu, now);
		else
			r->c.FragFails++;
		return;
	}
	struct pktbuf *pb = pktbuf_from_any(ip->hdr, ip->tot_len);
	if (!pb) {
		r->c.InDiscards++;
		return;
	}
	pb->data[8]--; /* TTL */
	put_be16(pb->data + 10, 0);
	put_be16(pb->data + 10, csum_buf(pb->data, ip->hdr_len));
	r->c.ForwDatagrams++;
	/* Linux would also send an ICMP redirect when the datagram leaves by
	 * the interface it came in on; we do not. */
	neigh_output(&o->neigh, &o->arp, nh, pb, now);
}

void router_input(struct router *r, unsigned ifx, const uint8_t *frame, size_t len,
		  tl_usec_t now)
{
	TL_ASSERT(ifx < r->n_ifs);
	struct router_if *in = &r->ifs[ifx];
	struct eth_frame f;
	if (eth_parse(frame, len, &f) < 0)
		return;
	/* A switch floods unknown unicast to us too: not ours, not routed. */
	if (memcmp(f.dst, in->mac, ETH_ALEN) != 0 && !eth_is_broadcast(f.dst))
		return;
	if (f.type == ETH_P_ARP) {
		arp_input(&in->neigh, &in->arp, f.payload, f.payload_len, now);
		return;
	}
	if (f.type != ETH_P_IP)
		return;
	r->c.InReceives++;
	struct ipv4_pkt ip;
	if (ipv4_parse(f.payload, f.payload_len, &ip) != IPV4_OK) {
		r->c.InHdrErrors++;
		return;
	}
	ip.link_broadcast = eth_is_broadcast(f.dst);
	if (ours(r, ip.dst)) {
		local_input(r, &ip, now);
		return;
	}
	if (ip.link_broadcast || ip.dst == 0xffffffffu || (ip.dst >> 28) == 0xe ||
	    directed_broadcast(r, ip.dst)) {
		r->c.InAddrErrors++; /* broadcasts are not forwarded */
		return;
	}
	forward(r, &ip, now);
}

struct pktbuf *router_pop_output(struct router *r, unsigned ifx)
{
	return pktq_pop(&r->ifs[ifx].out);
}

tl_usec_t router_next_deadline(const struct router *r)
{
	tl_usec_t dl = TL_NEVER;
	for (unsigned i = 0; i < r->n_ifs; i++)
		dl = TL_MIN(dl, neigh_next_deadline(&r->ifs[i].neigh));
	return dl;
}

void router_poll(struct router *r, tl_usec_t now)
{
	for (unsigned i = 0; i < r->n_ifs; i++)
		neigh_poll(&r->ifs[i].neigh, &r->ifs[i].arp, now);
}
