/* An IPv4 router joining lab segments (RFC 1812 in the small, as a Linux
 * box with ip_forward=1 behaves): one interface per segment, each with its
 * own MAC, address and ARP cache (arp.h); connected subnets plus static
 * routes, longest prefix first.
 *
 *   frame in on interface i ─► ARP: answer / learn (arp_input)
 *     ─► IPv4 for one of our addresses: echo request → reply; else dropped
 *     ─► else forward: TTL <= 1 → ICMP time exceeded; no route → ICMP
 *        network unreachable; larger than the egress MTU with DF → ICMP
 *        fragmentation needed (without DF: dropped, we never fragment);
 *        TTL - 1, new header checksum, new Ethernet header from the
 *        egress interface's ARP cache (frames wait while it resolves)
 *
 * Pure: the caller supplies `now`, moves frames (router_input, then
 * router_pop_output per interface) and calls router_poll at
 * router_next_deadline for ARP retries. Loop thread only. */
#ifndef TL_NETEMU_ROUTER_H
#define TL_NETEMU_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arp.h"
#include "counters.h"
#include "pktbuf.h"
#include "tl_types.h"

#define ROUTER_IFS_MAX 8
#define ROUTER_ROUTES_MAX 32
#define ROUTER_NAME_MAX 32

/* Counters under their /proc/net/snmp names (Ip: ..., Icmp: ...). */
struct router_counters {
	uint64_t InReceives;      /* Ip: IPv4 datagrams received */
	uint64_t InHdrErrors;     /* Ip: bad header (checksum, length, version) */
	uint64_t InAddrErrors;    /* Ip: broadcast or our subnet's broadcast, not forwarded */
	uint64_t ForwDatagrams;   /* Ip: forwarded */
	uint64_t OutNoRoutes;     /* Ip: no route to the destination */
	uint64_t FragFails;       /* Ip: too big for the egress, DF clear (or a black hole): dropped */
	uint64_t InDelivers;      /* Ip: for one of our addresses */
	uint64_t InDiscards;      /* Ip: dropped for lack of buffers */
	uint64_t InEchos;         /* Icmp: echo requests to us */
	uint64_t OutEchoReps;     /* Icmp: echo replies sent */
	uint64_t OutTimeExcds;    /* Icmp: time exceeded sent */
	uint64_t OutDestUnreachs; /* Icmp: destination unreachable sent (incl. frag needed) */
	uint64_t OutRateLimited;  /* Icmp errors not sent: rate limit */
};

/* One interface. Invariants: mask matches prefix_len; arp.ip == addr and
 * arp.mac == mac; out holds complete Ethernet frames for this segment. */
struct router_if {
	uint8_t mac[6];
	uint32_t addr, mask;
	uint8_t prefix_len;
	uint16_t mtu;
	struct neigh_table neigh;
	struct arp_env arp;
	struct pktq out;
};

/* A static route: dst/prefix_len via a gateway on a connected subnet.
 * Invariant: dst has no bits outside mask. */
struct router_route {
	uint32_t dst, mask, via;
	uint8_t prefix_len;
};

struct router {
	char name[ROUTER_NAME_MAX];
	struct router_if ifs[ROUTER_IFS_MAX];
	unsigned n_ifs;
	struct router_route routes[ROUTER_ROUTES_MAX];
	unsigned n_routes;
	uint16_t ip_id;
	uint32_t icmp_tokens; /* Linux icmp_msgs_per_sec/_burst, errors only */
	tl_usec_t icmp_last;
	struct router_counters c;
	struct mib_tlext arp_mib; /* ARP's own counters */
	/* A path MTU black hole (a router behind a firewall that filters
	 * ICMP): too-big DF datagrams are dropped without "frag needed". */
	bool pmtu_black_hole;
};

/* NULL if out of memory. */
struct router *router_new(const char *name, tl_usec_t now);
void router_free(struct router *r);

/* Adds an interface; returns its index, or -ENOSPC / -EINVAL (prefix
 * outside 1..31, mtu < 68). */
int router_add_if(struct router *r, const uint8_t mac[6], uint32_t addr, uint8_t prefix_len,
		  uint16_t mtu);
/* Adds dst/prefix_len via gw; -EINVAL if dst has host bits or gw is on no
 * connected subnet, -ENOSPC when full. */
int router_add_route(struct router *r, uint32_t dst, uint8_t prefix_len, uint32_t gw);

/* A frame received on interface ifx (the caller keeps ownership). */
void router_input(struct router *r, unsigned ifx, const uint8_t *frame, size_t len,
		  tl_usec_t now);
/* The next frame to send on interface ifx (caller owns it), or NULL. */
struct pktbuf *router_pop_output(struct router *r, unsigned ifx);

/* ARP retries and expiries. */
tl_usec_t router_next_deadline(const struct router *r);
void router_poll(struct router *r, tl_usec_t now);

/* The interface and next hop for dst: 0, or -ENETUNREACH. */
int router_lookup(const struct router *r, uint32_t dst, unsigned *ifx, uint32_t *next_hop);

#endif
