/* Path MTU discovery from ICMP (RFC 1191 §6.3, as Linux's tcp_v4_err()
 * and tcp_v4_mtu_reduced()): our segments leave with DF set; a router on
 * a narrower link drops one and answers "fragmentation needed" with its
 * next-hop MTU. The connection then sends smaller segments and resends
 * what was in flight at once, without touching the congestion window
 * (Linux's tcp_simple_retransmit()): the units changed, not the path's
 * capacity. */
#include "tcp.h"

#include "bytes.h"
#include "tcp_int.h"

/* Linux net.ipv4.route.min_pmtu: an ICMP asking for less is raised to it. */
#define PMTU_MIN 552u

/* The states whose segments an ICMP error can be about. */
static bool sends_data(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT || state == TCP_FIN_WAIT1 ||
	       state == TCP_CLOSING || state == TCP_LAST_ACK;
}

static void mtu_reduced(struct tcp_conn *c, uint32_t mtu, tl_usec_t now)
{
	uint32_t mss = mtu - IPV4_HLEN - TCP_HDR_MIN;
	if (mss >= c->mss)
		return; /* not smaller than what we send already */
	c->mss = (uint16_t)mss;
	if (c->snd_nxt == c->snd_una)
		return; /* nothing in flight: the next segment is cut right */
	/* Everything in flight was too large (or may be): send it again, cut
	 * to the new size. Karn: those are retransmissions, not timed. */
	c->snd_nxt = c->snd_una;
	c->rexmit_nxt = c->snd_una;
	c->rtt_timing = false;
	tcp_emit_retrans(c->th, TL_EV_TCP_RETRANS, c->id, &c->h, c->retransmits, "pmtu", now);
	tcp_output(c, now);
	tcp_arm_rtx(c, now);
}

void tcp_icmp_frag_needed(struct tcp_host *th, uint16_t mtu, const uint8_t *inner, size_t len,
			  tl_usec_t now)
{
	/* The datagram we sent: its IPv4 header and the first 8 bytes of TCP. */
	if (len < IPV4_HLEN || inner[0] >> 4 != 4 || inner[9] != IPPROTO_TCP_)
		return;
	size_t ihl = (size_t)(inner[0] & 0x0f) * 4;
	if (ihl < IPV4_HLEN || len < ihl + 8)
		return;
	const uint8_t *tcp = inner + ihl;
	struct tcp_hnode *h = tcp_hash_lookup(th, be32_at(inner + 12), be16_at(tcp),
					      be32_at(inner + 16), be16_at(tcp + 2));
	if (!h || h->kind != TCP_HK_CONN)
		return;
	struct tcp_conn *c = (struct tcp_conn *)h;
	uint32_t seq = be32_at(tcp + 4);
	if (!sends_data(c->state) || seq_lt(seq, c->snd_una) || seq_geq(seq, c->snd_max)) {
		th->mib->tcpext.OutOfWindowIcmps++; /* Linux: not about a segment in flight */
		return;
	}
	if (mtu < 68)
		return; /* RFC 1191 §5: an old router's 0; we keep what we have */
	tcp_enter(th, now);
	mtu_reduced(c, mtu < PMTU_MIN ? PMTU_MIN : mtu, now);
	tcp_leave(th);
}
