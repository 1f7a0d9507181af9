/* ARP for Ethernet/IPv4 (RFC 826) and the neighbour cache.
 *
 * The cache follows Linux's neighbour states in simplified form:
 * INCOMPLETE (request sent, frames queued, retried every second, given up
 * after 3 requests), REACHABLE (confirmed within reachable_time), STALE
 * (still used; the next use sends a unicast probe). Frames waiting for
 * resolution are queued per neighbour, bounded; overflow drops the oldest.
 * Loop thread only. */
#ifndef TL_NETEMU_ARP_H
#define TL_NETEMU_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "eth.h"
#include "pktbuf.h"
#include "tl_types.h"

#define ARP_LEN 28
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY 2

#define NEIGH_MAX 256              /* cache entries per host */
#define NEIGH_QUEUE_MAX 64         /* frames queued per unresolved neighbour */
#define NEIGH_PROBES 3             /* Linux mcast_solicit */
#define NEIGH_RETRANS_US (1 * TL_USEC_PER_SEC)         /* Linux retrans_time */
#define NEIGH_REACHABLE_US (30 * TL_USEC_PER_SEC)      /* base_reachable_time */
#define NEIGH_GC_STALE_US (60 * TL_USEC_PER_SEC)       /* gc_stale_time */

struct arp_pkt {
	uint16_t op;
	uint8_t sha[ETH_ALEN];
	uint32_t spa;
	uint8_t tha[ETH_ALEN];
	uint32_t tpa;
};

enum neigh_state { NEIGH_FREE = 0, NEIGH_INCOMPLETE, NEIGH_REACHABLE, NEIGH_STALE };

/* Invariant: pending is empty unless state == NEIGH_INCOMPLETE. */
struct neigh {
	uint32_t ip;
	uint8_t mac[ETH_ALEN];
	uint8_t state;       /* enum neigh_state */
	uint8_t probes;      /* requests sent while INCOMPLETE */
	tl_usec_t deadline;  /* INCOMPLETE: next retry; REACHABLE: goes STALE */
	tl_usec_t used;      /* last use, for eviction and garbage collection */
	struct pktq pending;
};

struct neigh_table {
	struct neigh e[NEIGH_MAX];
};

/* What ARP needs from its host: identity, a way to send, counters. */
struct arp_env {
	uint8_t mac[ETH_ALEN];
	uint32_t ip;
	void *ctx;
	void (*xmit)(void *ctx, struct pktbuf *frame); /* takes ownership */
	struct mib_tlext *mib;
};

/* Parses a 28-byte Ethernet/IPv4 ARP body; -EINVAL if truncated or of
 * another hardware/protocol type. */
int arp_parse(const uint8_t *buf, size_t len, struct arp_pkt *a);
/* Builds a complete ARP frame (Ethernet header included). */
struct pktbuf *arp_build(uint16_t op, const uint8_t eth_dst[ETH_ALEN],
			 const uint8_t sha[ETH_ALEN], uint32_t spa,
			 const uint8_t tha[ETH_ALEN], uint32_t tpa);

void neigh_init(struct neigh_table *t);
void neigh_fini(struct neigh_table *t);
struct neigh *neigh_lookup(struct neigh_table *t, uint32_t ip);

/* Handles a received ARP body: learns the sender when the request targets
 * us or the sender is already known (RFC 826's merge rule), answers requests
 * for our address, and releases frames that were waiting. */
void arp_input(struct neigh_table *t, const struct arp_env *env,
	       const uint8_t *buf, size_t len, tl_usec_t now);

/* Sends `pb` (an IPv4 packet without Ethernet header) to next hop `ip`:
 * at once if the MAC is known, else queued while resolution runs. Takes
 * ownership. */
void neigh_output(struct neigh_table *t, const struct arp_env *env, uint32_t ip,
		  struct pktbuf *pb, tl_usec_t now);

/* Retries and expiries due at `now`. */
void neigh_poll(struct neigh_table *t, const struct arp_env *env, tl_usec_t now);
tl_usec_t neigh_next_deadline(const struct neigh_table *t);

#endif
