/* ICMP for a stack host (RFC 792, RFC 1122 §3.2.2): echo replies, and the
 * errors Linux sends (port and protocol unreachable). Loop thread only. */
#ifndef TL_NETEMU_ICMP_H
#define TL_NETEMU_ICMP_H

#include <stdint.h>

#include "ipv4.h"
#include "tl_types.h"

struct stack;

#define ICMP_ECHOREPLY 0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO 8
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_PROT_UNREACH 2
#define ICMP_PORT_UNREACH 3
#define ICMP_FRAG_NEEDED 4 /* RFC 1191: the rest of the header holds the next-hop MTU */
#define ICMP_HLEN 8

/* Linux's global ICMP rate limit (net.ipv4.icmp_msgs_per_sec/_burst),
 * applied to errors only; echo replies are never limited. */
#define ICMP_MSGS_PER_SEC 1000
#define ICMP_MSGS_BURST 50

/* Token bucket for outgoing ICMP errors. */
struct icmp_limit {
	uint32_t tokens;
	tl_usec_t last;
};

void icmp_limit_init(struct icmp_limit *l, tl_usec_t now);

/* Handles a datagram for us with protocol ICMP. */
void icmp_input(struct stack *st, const struct ipv4_pkt *ip, tl_usec_t now);

/* Sends an error about `orig` (which we received) back to its source,
 * unless RFC 1122 forbids it (error about an ICMP error, a non-first
 * fragment, a broadcast/multicast or zero source, a link-layer broadcast)
 * or the rate limit says no. */
void icmp_send_error(struct stack *st, const struct ipv4_pkt *orig, uint8_t type,
		     uint8_t code, tl_usec_t now);

#endif
