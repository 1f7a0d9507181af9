/* One userspace stack host: Ethernet, ARP, IPv4, ICMP and TCP for one MAC
 * and one IPv4 address. Pure: no syscalls, no clock, no randomness of its
 * own — every call takes `now` and the caller supplies the secret.
 *
 * Shape: stack_input() takes a received frame; frames to transmit and events
 * queue up inside and the caller drains them with stack_pop_output() and
 * stack_pop_event(); stack_next_deadline() says when stack_poll() must run
 * the timers. Only the loop thread may call any of these. */
#ifndef TL_NETEMU_STACK_H
#define TL_NETEMU_STACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "counters.h"
#include "event.h"
#include "pktbuf.h"
#include "tl_types.h"

struct tcp_host;
struct tcp_sysctl;

#define STACK_NAME_MAX 32

struct stack_config {
	char name[STACK_NAME_MAX]; /* host name from the lab ("stack") */
	uint8_t mac[6];
	uint32_t addr;             /* host byte order */
	uint8_t prefix_len;        /* e.g. 24 */
	uint32_t gateway;          /* host byte order; 0 = on-link only */
	uint16_t mtu;              /* IP MTU of the link, usually 1500 */
	uint16_t host_id;          /* copied into events */
	/* Offload (TSO): TCP may build segments of up to this many bytes of
	 * IPv4 datagram, marked for segmentation into MSS-sized frames by
	 * whoever sends them on (pktbuf gso_size; vnet.h). 0 = off, every
	 * segment fits the MTU. At most 65535. */
	uint32_t gso_max;
	uint8_t secret[32];        /* random bytes from the caller: ISN and
				    * SYN cookie keys */
};

struct stack *stack_new(const struct stack_config *cfg, tl_usec_t now);
void stack_free(struct stack *st);

/* Handles one received Ethernet frame (the caller keeps ownership of it). */
void stack_input(struct stack *st, const uint8_t *frame, size_t len, tl_usec_t now);

/* stack_input for frames from a device with receive offloads: flags say
 * what the device vouches for. STACK_RX_CSUM_OK: the TCP/UDP checksum is
 * not to be verified (virtio NEEDS_CSUM or DATA_VALID: the sender left it
 * to the device, as Linux trusts CHECKSUM_PARTIAL). Such frames may also
 * be GRO/TSO superframes, larger than the MTU. */
#define STACK_RX_CSUM_OK 0x1u
void stack_input_rx(struct stack *st, const uint8_t *frame, size_t len, unsigned flags,
		    tl_usec_t now);

/* Next frame to transmit, or NULL. The caller owns it (pktbuf_free). */
struct pktbuf *stack_pop_output(struct stack *st);
/* Next event, or false when none is queued. */
bool stack_pop_event(struct stack *st, struct tl_event *ev);
/* Events dropped because the caller did not drain them in time. */
uint64_t stack_events_lost(const struct stack *st);

/* When stack_poll must be called next (TL_NEVER if no timer is armed). */
tl_usec_t stack_next_deadline(const struct stack *st);
/* Runs every timer due at `now`. */
void stack_poll(struct stack *st, tl_usec_t now);

const struct stack_config *stack_config(const struct stack *st);
/* Turns TSO output on (bytes per superframe, see stack_config.gso_max;
 * clamped to 65535) or off (0), e.g. when the device's offloads change. */
void stack_set_gso_max(struct stack *st, uint32_t gso_max);
struct stack_counters *stack_counters(struct stack *st);
struct tcp_host *stack_tcp(struct stack *st);
struct tcp_sysctl *stack_sysctl(struct stack *st);

/* Sends an IPv4 datagram from this host: `pb` holds the transport header and
 * payload with headroom for IPv4 and Ethernet. Takes ownership of pb. Used
 * by ICMP and TCP. We never fragment: a datagram larger than the link MTU
 * is dropped (Ip FragFails). Returns 0 or a negative errno (-EHOSTUNREACH,
 * -EMSGSIZE, -ENOBUFS). */
int stack_ip_output(struct stack *st, uint32_t dst, uint8_t proto,
		    struct pktbuf *pb, tl_usec_t now);
/* The same with a TOS byte (ICMP replies and errors set one, as Linux). */
int stack_ip_output_tos(struct stack *st, uint32_t dst, uint8_t proto, uint8_t tos,
			struct pktbuf *pb, tl_usec_t now);

/* For the host's own protocol modules (ICMP, TCP): */
struct icmp_limit *stack_icmp_limit(struct stack *st);
/* Queues an event (used by TCP). */
void stack_emit_event(struct stack *st, const struct tl_event *ev);

#endif
