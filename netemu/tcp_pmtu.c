/* Path MTU discovery from ICMP (RFC 1191 §6.3, as Linux's tcp_v4_err()
 * and tcp_v4_mtu_reduced()): our segments leave with DF set; a router on
 * a narrower link drops one and answers "fragmentation needed" with its
 * next-hop MTU. The connection then sends smaller segments and resends
 * what was in flight at once, without touching the congestion window
 * (Linux's tcp_simple_retransmit()): the units changed, not the path's
 * capacity. Where ICMP never comes back (a black hole), Linux's
 * tcp_mtu_probing lowers the MSS after tcp_retries1's worth of
 * retransmissions instead. */
#include "tcp.h"

#include "bytes.h"
#include "tcp_int.h"
#include "tcp_sysctl.h"

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

void tcp_mtu_black_hole(struct tcp_conn *c)
{
	const struct tcp_sysctl *s = c->th->sysctl;
	if (!s->tcp_mtu_probing)
		return;
	if (!c->mtup_enabled) {
		/* The first time only turns the search on: from tcp_base_mss. */
		c->mtup_enabled = true;
		c->mtup_low_mss = (uint16_t)TL_MAX(TL_MIN(s->tcp_base_mss, 65535), 1);
	} else {
		int mss = TL_MIN(c->mtup_low_mss >> 1, s->tcp_base_mss);
		mss = TL_MAX(mss, s->tcp_mtu_probe_floor);
		mss = TL_MAX(mss, s->tcp_min_snd_mss);
		c->mtup_low_mss = (uint16_t)TL_MIN(mss, 65535);
	}
	if (c->mtup_low_mss < c->mss)
		c->mss = c->mtup_low_mss;
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
