/* The TCP engine of one stack host, as seen by the host (stack.c): create
 * it, feed it IPv4 datagrams carrying TCP, run its timers. Loop thread only.
 * Applications use tcp_api.h. */
#ifndef TL_NETEMU_TCP_H
#define TL_NETEMU_TCP_H

#include "ipv4.h"
#include "tl_types.h"

struct stack;
struct tcp_host;
struct tcp_sysctl;
struct stack_counters;

struct tcp_host *tcp_host_new(struct stack *st, struct tcp_sysctl *sysctl,
			      struct stack_counters *mib, tl_usec_t now);
void tcp_host_free(struct tcp_host *th);

/* A datagram addressed to us with protocol TCP (already IPv4-checked). */
void tcp_input(struct tcp_host *th, const struct ipv4_pkt *ip, tl_usec_t now);

/* ICMP "fragmentation needed" with next-hop `mtu` about the datagram
 * `inner` (its IPv4 header and at least 8 bytes of TCP) that we sent:
 * path MTU discovery (tcp_pmtu.c). */
void tcp_icmp_frag_needed(struct tcp_host *th, uint16_t mtu, const uint8_t *inner, size_t len,
			  tl_usec_t now);

tl_usec_t tcp_next_deadline(const struct tcp_host *th);
void tcp_poll(struct tcp_host *th, tl_usec_t now);

#endif
