/* ARP (RFC 826) and the neighbour cache. */
#include "arp.h"

#include <errno.h>
#include <string.h>

#include "bytes.h"

int arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *a)
{
	if (len < ARP_LEN)
		return -EINVAL;
	/* htype Ethernet, ptype IPv4, hlen 6, plen 4: nothing else is ours. */
	if (be16_at(buf) != 1 || be16_at(buf + 2) != ETH_P_IP || buf[4] != 6 ||
	    buf[5] != 4)
		return -EINVAL;
	a->op = be16_at(buf + 6);
	memcpy(a->sha, buf + 8, ETH_ALEN);
	a->spa = be32_at(buf + 14);
	memcpy(a->tha, buf + 18, ETH_ALEN);
	a->tpa = be32_at(buf + 24);
	return 0;
}

struct pktbuf *arp_build(uint16_t op, const uint8_t eth_dst[ETH_ALEN],
			 const uint8_t sha[ETH_ALEN], uint32_t spa,
			 const uint8_t tha[ETH_ALEN], uint32_t tpa)
{
	struct pktbuf *pb = pktbuf_alloc();
	if (!pb)
		return NULL;
	uint8_t *p = pktbuf_put(pb, ARP_LEN);
	put_be16(p, 1);
	put_be16(p + 2, ETH_P_IP);
	p[4] = 6;
	p[5] = 4;
	put_be16(p + 6, op);
	memcpy(p + 8, sha, ETH_ALEN);
	put_be32(p + 14, spa);
	memcpy(p + 18, tha, ETH_ALEN);
	put_be32(p + 24, tpa);
	if (eth_push(pb, eth_dst, sha, ETH_P_ARP) < 0) {
		pktbuf_free(pb);
		return NULL;
	}
	return pb;
}

void neigh_init(struct neigh_table *t)
{
	memset(t, 0, sizeof(*t));
}

void neigh_fini(struct neigh_table *t)
{
	for (size_t i = 0; i < NEIGH_MAX; i++)
		pktq_purge(&t->e[i].pending);
}

struct neigh *neigh_lookup(struct neigh_table *t, uint32_t ip)
{
	for (size_t i = 0; i < NEIGH_MAX; i++)
		if (t->e[i].state != NEIGH_FREE && t->e[i].ip == ip)
			return &t->e[i];
	return NULL;
}

static void neigh_release(struct neigh *n, const struct arp_env *env)
{
	if (n->pending.count)
		env->mib->ArpQueueDrops += n->pending.count;
	pktq_purge(&n->pending);
	memset(n, 0, sizeof(*n));
}

/* A free slot, or the least recently used entry recycled. */
static struct neigh *neigh_alloc(struct neigh_table *t, const struct arp_env *env,
				 uint32_t ip, tl_usec_t now)
{
	struct neigh *victim = &t->e[0];
	for (size_t i = 0; i < NEIGH_MAX; i++) {
		struct neigh *n = &t->e[i];
		if (n->state == NEIGH_FREE) {
			victim = n;
			break;
		}
		if (n->used < victim->used)
			victim = n;
	}
	neigh_release(victim, env);
	victim->ip = ip;
	victim->used = now;
	return victim;
}

static void send_request(const struct arp_env *env, struct neigh *n, bool unicast)
{
	static const uint8_t zero[ETH_ALEN];
	struct pktbuf *pb = arp_build(ARP_OP_REQUEST, unicast ? n->mac : eth_broadcast,
				      env->mac, env->ip, zero, n->ip);
	if (!pb)
		return;
	env->mib->ArpRequestsSent++;
	env->xmit(env->ctx, pb);
}

static void xmit_to(const struct arp_env *env, const uint8_t mac[ETH_ALEN],
		    struct pktbuf *pb)
{
	if (eth_push(pb, mac, env->mac, ETH_P_IP) < 0) {
		pktbuf_free(pb);
		return;
	}
	env->xmit(env->ctx, pb);
}

static void neigh_confirm(struct neigh *n, const struct arp_env *env,
			  const uint8_t mac[ETH_ALEN], tl_usec_t now)
{
	memcpy(n->mac, mac, ETH_ALEN);
	n->state = NEIGH_REACHABLE;
	n->probes = 0;
	n->deadline = now + NEIGH_REACHABLE_US;
	struct pktbuf *pb;
	while ((pb = pktq_pop(&n->pending)))
		xmit_to(env, n->mac, pb);
}

void arp_input(struct neigh_table *t, const struct arp_env *env,
	       const uint8_t *buf, size_t len, tl_usec_t now)
{
	struct arp_pkt a;
	if (arp_parse(buf, len, &a) < 0) {
		env->mib->ArpMalformed++;
		return;
	}
	env->mib->ArpIn++;
	/* A sender claiming 0.0.0.0 is an address probe (RFC 5227): learn nothing. */
	bool for_us = a.tpa == env->ip;
	struct neigh *n = a.spa ? neigh_lookup(t, a.spa) : NULL;
	if (n)
		neigh_confirm(n, env, a.sha, now);
	else if (for_us && a.spa)
		neigh_confirm(neigh_alloc(t, env, a.spa, now), env, a.sha, now);

	if (for_us && a.op == ARP_OP_REQUEST) {
		struct pktbuf *pb = arp_build(ARP_OP_REPLY, a.sha, env->mac, env->ip,
					      a.sha, a.spa);
		if (pb) {
			env->mib->ArpRepliesSent++;
			env->xmit(env->ctx, pb);
		}
	}
}

void neigh_output(struct neigh_table *t, const struct arp_env *env, uint32_t ip,
		  struct pktbuf *pb, tl_usec_t now)
{
	struct neigh *n = neigh_lookup(t, ip);
	if (!n) {
		n = neigh_alloc(t, env, ip, now);
		n->state = NEIGH_INCOMPLETE;
		n->probes = 1;
		n->deadline = now + NEIGH_RETRANS_US;
		send_request(env, n, false);
	}
	n->used = now;
	switch ((enum neigh_state)n->state) {
	case NEIGH_INCOMPLETE:
		if (n->pending.count >= NEIGH_QUEUE_MAX) {
			pktbuf_free(pktq_pop(&n->pending)); /* Linux drops the oldest */
			env->mib->ArpQueueDrops++;
		}
		pktq_push(&n->pending, pb);
		return;
	case NEIGH_REACHABLE:
		if (now >= n->deadline) {
			/* Confirmation is old: keep using the MAC, re-verify it. */
			n->state = NEIGH_STALE;
			send_request(env, n, true);
			n->deadline = now + NEIGH_REACHABLE_US;
		}
		break;
	case NEIGH_STALE:
		break;
	case NEIGH_FREE:
		TL_ASSERT(0);
		break;
	}
	xmit_to(env, n->mac, pb);
}

void neigh_poll(struct neigh_table *t, const struct arp_env *env, tl_usec_t now)
{
	for (size_t i = 0; i < NEIGH_MAX; i++) {
		struct neigh *n = &t->e[i];
		if (n->state == NEIGH_INCOMPLETE && now >= n->deadline) {
			if (n->probes >= NEIGH_PROBES) {
				env->mib->ArpResolveFails++;
				neigh_release(n, env);
				continue;
			}
			n->probes++;
			n->deadline = now + NEIGH_RETRANS_US;
			send_request(env, n, false);
		} else if (n->state == NEIGH_STALE && now >= n->used + NEIGH_GC_STALE_US) {
			neigh_release(n, env);
		}
	}
}

tl_usec_t neigh_next_deadline(const struct neigh_table *t)
{
	tl_usec_t next = TL_NEVER;
	for (size_t i = 0; i < NEIGH_MAX; i++) {
		const struct neigh *n = &t->e[i];
		if (n->state == NEIGH_INCOMPLETE)
			next = TL_MIN(next, n->deadline);
		else if (n->state == NEIGH_STALE)
			next = TL_MIN(next, n->used + NEIGH_GC_STALE_US);
	}
	return next;
}
