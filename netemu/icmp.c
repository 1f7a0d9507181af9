/* ICMP: echo and the errors Linux generates. */
#include "icmp.h"

#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "stack.h"
#include "tcp.h"

/* Linux quotes as much of the offending datagram as fits in 576 bytes. */
#define ICMP_QUOTE_MAX (576 - IPV4_HLEN - ICMP_HLEN)

void icmp_limit_init(struct icmp_limit *l, tl_usec_t now)
{
	l->tokens = ICMP_MSGS_BURST;
	l->last = now;
}

static bool icmp_limit_allow(struct icmp_limit *l, tl_usec_t now)
{
	uint64_t earned = (now - l->last) * ICMP_MSGS_PER_SEC / TL_USEC_PER_SEC;
	if (earned) {
		l->tokens = (uint32_t)TL_MIN((uint64_t)ICMP_MSGS_BURST, l->tokens + earned);
		l->last = now;
	}
	if (!l->tokens)
		return false;
	l->tokens--;
	return true;
}

static bool icmp_is_error_type(uint8_t type)
{
	return type == ICMP_DEST_UNREACH || type == 4 /* source quench */ ||
	       type == 5 /* redirect */ || type == ICMP_TIME_EXCEEDED ||
	       type == ICMP_PARAMETERPROB;
}

static void count_in(struct mib_icmp *m, uint8_t type)
{
	switch (type) {
	case ICMP_ECHOREPLY: m->InEchoReps++; break;
	case ICMP_DEST_UNREACH: m->InDestUnreachs++; break;
	case 4: m->InSrcQuenchs++; break;
	case 5: m->InRedirects++; break;
	case ICMP_ECHO: m->InEchos++; break;
	case ICMP_TIME_EXCEEDED: m->InTimeExcds++; break;
	case ICMP_PARAMETERPROB: m->InParmProbs++; break;
	case 13: m->InTimestamps++; break;
	case 14: m->InTimestampReps++; break;
	default: break;
	}
}

/* Completes the header in front of the payload already in pb and sends it. */
static void icmp_send(struct stack *st, uint32_t dst, struct pktbuf *pb, uint8_t type,
		      uint8_t code, uint32_t rest, uint8_t tos, tl_usec_t now)
{
	uint8_t *h = pktbuf_push(pb, ICMP_HLEN);
	h[0] = type;
	h[1] = code;
	put_be16(h + 2, 0);
	put_be32(h + 4, rest);
	put_be16(h + 2, csum_buf(pb->data, pb->len));
	struct mib_icmp *m = &stack_counters(st)->icmp;
	m->OutMsgs++;
	if (type == ICMP_ECHOREPLY)
		m->OutEchoReps++;
	else if (type == ICMP_DEST_UNREACH)
		m->OutDestUnreachs++;
	if (stack_ip_output_tos(st, dst, IPPROTO_ICMP_, tos, pb, now) < 0)
		m->OutErrors++;
}

void icmp_input(struct stack *st, const struct ipv4_pkt *ip, tl_usec_t now)
{
	struct mib_icmp *m = &stack_counters(st)->icmp;
	m->InMsgs++;
	if (ip->payload_len < ICMP_HLEN) {
		m->InErrors++;
		return;
	}
	if (csum_buf(ip->payload, ip->payload_len) != 0) {
		m->InErrors++;
		m->InCsumErrors++;
		return;
	}
	uint8_t type = ip->payload[0];
	if (type > 18) { /* Linux icmp_rcv(): beyond NR_ICMP_TYPES is an error */
		m->InErrors++;
		return;
	}
	count_in(m, type);
	if (type == ICMP_DEST_UNREACH && ip->payload[1] == ICMP_FRAG_NEEDED) {
		tcp_icmp_frag_needed(stack_tcp(st), be16_at(ip->payload + 6),
				     ip->payload + ICMP_HLEN, ip->payload_len - ICMP_HLEN, now);
		return;
	}
	if (type != ICMP_ECHO)
		return; /* other errors and replies have no socket to go to */

	/* Echo reply: same identifier, sequence and data. */
	size_t data_len = ip->payload_len - ICMP_HLEN;
	struct pktbuf *pb = pktbuf_alloc();
	uint8_t *p = pb ? pktbuf_put(pb, data_len) : NULL;
	if (!p) {
		pktbuf_free(pb);
		m->OutErrors++;
		return;
	}
	memcpy(p, ip->payload + ICMP_HLEN, data_len);
	/* Linux icmp_echo(): the code and the TOS come back as they were sent. */
	icmp_send(st, ip->src, pb, ICMP_ECHOREPLY, ip->payload[1], be32_at(ip->payload + 4), ip->tos,
		  now);
}

static bool ipv4_is_special_source(uint32_t a)
{
	return a == 0 || a == 0xffffffffu || (a >> 28) == 0xe /* multicast */ ||
	       (a >> 24) == 127;
}

void icmp_send_error(struct stack *st, const struct ipv4_pkt *orig, uint8_t type,
		     uint8_t code, tl_usec_t now)
{
	/* RFC 1122 §3.2.2: never about an ICMP error, a non-first fragment,
	 * or a datagram whose source names no single host. */
	if ((orig->frag & IPV4_OFFMASK) || ipv4_is_special_source(orig->src) ||
	    orig->link_broadcast)
		return;
	if (orig->proto == IPPROTO_ICMP_ &&
	    (orig->payload_len < 1 || icmp_is_error_type(orig->payload[0])))
		return;
	if (!icmp_limit_allow(stack_icmp_limit(st), now)) {
		stack_counters(st)->icmp.OutRateLimitGlobal++;
		return;
	}
	size_t quote = TL_MIN((size_t)orig->tot_len, (size_t)ICMP_QUOTE_MAX);
	struct pktbuf *pb = pktbuf_alloc();
	uint8_t *p = pb ? pktbuf_put(pb, quote) : NULL;
	if (!p) {
		pktbuf_free(pb);
		return;
	}
	memcpy(p, orig->hdr, quote);
	/* Linux __icmp_send(): errors go out as Internet control traffic. */
	icmp_send(st, orig->src, pb, type, code, 0,
		  (uint8_t)((orig->tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL), now);
}
