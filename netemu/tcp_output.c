/* TCP output: building segments, sending data within the windows (Nagle,
 * congestion window, receiver window), ACKs, SYNs and resets. */
#include "tcp_int.h"

#include <string.h>

#include "bytes.h"
#include "checksum.h"
#include "ipv4.h"
#include "stack.h"

#define TCP_DELACK_MIN_US (40 * TL_USEC_PER_MSEC) /* Linux TCP_DELACK_MIN */
#define TCP_INVALID_RATELIMIT_US (500 * TL_USEC_PER_MSEC)

uint32_t tcp_ts_now(const struct tcp_host *th, tl_usec_t now)
{
	(void)th;
	return (uint32_t)(now / TL_USEC_PER_MSEC); /* Linux: 1 ms TS clock */
}

void tcp_send_raw(struct tcp_host *th, uint32_t saddr, uint16_t sport, uint32_t daddr,
		  uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  uint16_t wnd, const struct tcp_opts *opt, tl_usec_t now)
{
	struct tcp_seg seg = {
		.saddr = saddr, .daddr = daddr, .sport = sport, .dport = dport,
		.seq = seq, .ack = ack, .flags = flags, .wnd = wnd,
	};
	if (opt)
		seg.opt = *opt;
	size_t hlen = TCP_HDR_MIN + tcp_options_len(&seg.opt);
	struct pktbuf *pb = pktbuf_alloc();
	uint8_t *p = pb ? pktbuf_put(pb, hlen) : NULL;
	if (!p) {
		pktbuf_free(pb);
		th->mib->ip.OutDiscards++;
		return;
	}
	tcp_emit(&seg, p);
	th->mib->tcp.OutSegs++;
	if (flags & TH_RST)
		th->mib->tcp.OutRsts++;
	stack_ip_output(th->st, daddr, IPPROTO_TCP_, pb, now);
}

/* RFC 9293 §3.10.7.1: the reset for a segment nothing accepts. */
void tcp_send_rst_reply(struct tcp_host *th, const struct tcp_seg *seg, tl_usec_t now)
{
	if (seg->flags & TH_RST)
		return; /* never answer a reset */
	if (seg->flags & TH_ACK) {
		tcp_send_raw(th, seg->daddr, seg->dport, seg->saddr, seg->sport, seg->ack, 0,
			     TH_RST, 0, NULL, now);
	} else {
		uint32_t ack = seg->seq + seg->len + !!(seg->flags & TH_SYN) +
			       !!(seg->flags & TH_FIN);
		tcp_send_raw(th, seg->daddr, seg->dport, seg->saddr, seg->sport, 0, ack,
			     TH_RST | TH_ACK, 0, NULL, now);
	}
}

/* Receive window to advertise, in raw (scaled-down) units: the free part
 * of rcvbuf, but never moving the right edge already advertised to the
 * left (RFC 7323 §2.4, Linux tcp_select_window()). With window scaling the
 * old edge can only be kept by rounding the window up to the scale unit,
 * which may promise a little more than rcvbuf holds; the receive ring
 * then stretches to take it (Linux's buffer accounting is as soft), so a
 * promised byte is never dropped. */
uint16_t tcp_raw_window(struct tcp_conn *c)
{
	size_t used = c->rcvq.len + tcp_ofo_bytes(&c->ofo);
	size_t space = c->rcvbuf > used ? c->rcvbuf - used : 0;
	uint64_t max = (uint64_t)65535 << c->rcv_wscale;
	uint64_t win = TL_MIN((uint64_t)space, max);
	uint32_t raw = (uint32_t)(win >> c->rcv_wscale);
	/* Linux tcp_select_window(): keep the old right edge, rounding the
	 * remaining window UP to the scale unit; rounding down would move
	 * the edge left by up to 2^wscale - 1 bytes. */
	if (seq_gt(c->rcv_adv, c->rcv_nxt)) {
		uint64_t old = c->rcv_adv - c->rcv_nxt;
		if (((uint64_t)raw << c->rcv_wscale) < old)
			raw = (uint32_t)((old + ((uint64_t)1 << c->rcv_wscale) - 1) >> c->rcv_wscale);
	}
	raw = TL_MIN(raw, 65535u);
	uint32_t adv = c->rcv_nxt + (raw << c->rcv_wscale);
	if (seq_gt(adv, c->rcv_adv))
		c->rcv_adv = adv;
	size_t promised = c->rcvq.len + (c->rcv_adv - c->rcv_nxt);
	if (promised > c->rcvq.max)
		bytering_set_max(&c->rcvq, promised);
	c->rcv_wnd = raw << c->rcv_wscale;
	return (uint16_t)raw;
}

static void conn_opts(struct tcp_conn *c, struct tcp_opts *o, tl_usec_t now)
{
	memset(o, 0, sizeof(*o));
	if (c->ts_ok) {
		o->has_ts = true;
		o->ts_val = tcp_ts_now(c->th, now) + c->ts_offset;
		o->ts_ecr = c->ts_recent;
	}
	unsigned room = c->ts_ok ? 3 : 4; /* SACK blocks that fit beside the timestamp */
	if (c->sack_ok && c->dsack_pending) /* RFC 2883: the D-SACK block first */
		o->sack[o->nsack++] = c->dsack;
	if (c->sack_ok && !tcp_ofo_empty(&c->ofo))
		o->nsack = (uint8_t)(o->nsack + tcp_ofo_sack_blocks(&c->ofo, o->sack + o->nsack,
								     room - o->nsack));
}

/* Linux tcp_current_mss(): the peer's MSS (already clamped to MTU - 40)
 * minus the options our segments carry now, so a full segment fits. */
uint32_t tcp_mss_now(struct tcp_conn *c, tl_usec_t now)
{
	struct tcp_opts o;
	conn_opts(c, &o, now);
	uint32_t optlen = (uint32_t)tcp_options_len(&o);
	return c->mss > optlen + 48 ? c->mss - optlen : 48;
}

void tcp_xmit(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags,
	      tl_usec_t now)
{
	struct tcp_host *th = c->th;
	uint8_t ip_ecn = tcp_ecn_out(c, seq, len, &flags);
	struct tcp_seg seg = {
		.saddr = c->h.laddr, .daddr = c->h.raddr,
		.sport = c->h.lport, .dport = c->h.rport,
		.seq = seq, .ack = c->rcv_nxt, .flags = flags,
		.len = len,
	};
	conn_opts(c, &seg.opt, now);
	c->dsack_pending = false; /* reported once, as Linux does */
	seg.wnd = tcp_raw_window(c);
	size_t hlen = TCP_HDR_MIN + tcp_options_len(&seg.opt);
	/* TSO: tcp_output only builds segments longer than the MSS when the
	 * host has gso_max set; such a segment leaves as one superframe. */
	uint32_t mss = len && stack_config(th->st)->gso_max ? tcp_mss_now(c, now) : 0;
	uint32_t pcount = mss && len > mss ? (len + mss - 1) / mss : 1;
	struct pktbuf *pb = pktbuf_alloc_len(hlen + len);
	uint8_t *p = pb ? pktbuf_put(pb, hlen + len) : NULL;
	if (!p) {
		pktbuf_free(pb);
		th->mib->ip.OutDiscards++;
		return;
	}
	if (len) {
		size_t got = bytering_peek(&c->sndq, seq - c->snd_una, p + hlen, len);
		TL_ASSERT(got == len);
		(void)got;
	}
	if (pcount > 1) {
		/* Checksum offload, as Linux does for TSO: the field gets the
		 * pseudo-header sum only; whoever segments the superframe (the
		 * kernel behind the TAP, or vnet_tso_segment) completes each
		 * segment's checksum, so the payload is never summed here. */
		struct tcp_seg hdr = seg;
		hdr.len = 0;
		tcp_emit(&hdr, p);
		uint32_t ph = csum_pseudo_ipv4(seg.saddr, seg.daddr, IPPROTO_TCP_,
					       (uint16_t)(hlen + len));
		put_be16(p + 16, (uint16_t)~csum_fold(ph));
		pb->gso_size = (uint16_t)mss;
		pb->csum_partial = 1;
	} else {
		tcp_emit(&seg, p);
	}

	uint32_t end = seq + len + !!(flags & (TH_SYN | TH_FIN));
	bool retransmit = seq_lt(seq, c->snd_max);
	if (retransmit && end != seq) {
		th->mib->tcp.RetransSegs++;
		c->total_retrans++;
		c->rtt_timing = false; /* Karn: never time a retransmitted range */
	} else {
		/* Linux counts a superframe as the segments it becomes
		 * (tcp_skb_pcount). */
		th->mib->tcp.OutSegs += pcount;
		if (len)
			th->mib->tcpext.TCPOrigDataSent += pcount;
	}
	if (flags & TH_RST)
		th->mib->tcp.OutRsts++;
	if (seq_gt(end, c->snd_nxt) && !retransmit && len && !c->rtt_timing) {
		c->rtt_timing = true;
		c->rtt_seq = end;
		c->rtt_start = now;
	}
	if (seq_gt(end, c->snd_nxt))
		c->snd_nxt = end;
	if (seq_gt(c->snd_nxt, c->snd_max))
		c->snd_max = c->snd_nxt;
	c->segs_out += pcount;
	c->bytes_out += len;
	/* Every segment carries our ACK: nothing left to delay. */
	c->rcv_wup = c->rcv_nxt;
	tcp_timer_stop(&c->delack);
	if (end != seq && !tw_armed(&c->rtx.wt))
		tcp_arm_rtx(c, now);
	stack_ip_output_tos(th->st, c->h.raddr, IPPROTO_TCP_, ip_ecn, pb, now);
}

void tcp_send_ack(struct tcp_conn *c, tl_usec_t now)
{
	tcp_xmit(c, c->snd_nxt, 0, TH_ACK, now);
}

void tcp_send_rst_conn(struct tcp_conn *c, tl_usec_t now)
{
	tcp_xmit(c, c->snd_nxt, 0, TH_RST | TH_ACK, now);
}

void tcp_send_syn(struct tcp_conn *c, bool with_ack, tl_usec_t now)
{
	const struct tcp_sysctl *s = c->th->sysctl;
	struct tcp_opts o = { .has_mss = true, .mss = c->advmss };
	if (with_ack) { /* answer only with what the peer offered */
		o.sack_ok = c->sack_ok;
		o.has_ts = c->ts_ok;
		o.has_wscale = c->ws_ok;
	} else {
		o.sack_ok = s->tcp_sack != 0;
		o.has_ts = s->tcp_timestamps != 0;
		o.has_wscale = s->tcp_window_scaling != 0;
	}
	if (o.has_ts) {
		o.ts_val = tcp_ts_now(c->th, now) + c->ts_offset;
		o.ts_ecr = with_ack ? c->ts_recent : 0;
	}
	o.wscale = c->rcv_wscale;
	size_t space = c->rcvbuf;
	uint16_t wnd = (uint16_t)TL_MIN(space, (size_t)65535); /* never scaled in a SYN */
	bool retransmit = seq_lt(c->iss, c->snd_max);
	struct tcp_host *th = c->th;
	uint8_t ecn = with_ack ? ((c->ecn_flags & TCP_ECN_OK) ? TH_ECE : 0)
			       : tcp_ecn_syn_flags(c, retransmit);
	if (retransmit) {
		th->mib->tcp.RetransSegs++;
		th->mib->tcp.OutSegs--; /* tcp_send_raw counts it; a retransmission is not new */
		c->total_retrans++;
	}
	tcp_send_raw(th, c->h.laddr, c->h.lport, c->h.raddr, c->h.rport, c->iss,
		     with_ack ? c->rcv_nxt : 0, TH_SYN | (with_ack ? TH_ACK : 0) | ecn, wnd, &o, now);
	c->snd_nxt = c->iss + 1;
	c->snd_max = c->iss + 1;
	c->segs_out++;
	if (!tw_armed(&c->rtx.wt))
		tcp_arm_rtx(c, now);
}

static bool can_send_data(int state)
{
	return state == TCP_ESTABLISHED || state == TCP_CLOSE_WAIT ||
	       state == TCP_FIN_WAIT1 || state == TCP_CLOSING || state == TCP_LAST_ACK;
}

/* The longest segment tcp_output may build: the MSS, or with TSO on
 * (stack_config gso_max) as many whole MSS-sized segments as fit in
 * gso_max bytes of IPv4 datagram (Linux tcp_tso_autosize with a 64 KiB
 * gso_max_size, without the pacing-rate cap). */
static uint32_t tso_max_seg(const struct tcp_conn *c, uint32_t mss)
{
	uint32_t gso_max = TL_MIN(stack_config(c->th->st)->gso_max, 65535u);
	uint32_t room = gso_max > IPV4_HLEN + TCP_HDR_MAX ? gso_max - IPV4_HLEN - TCP_HDR_MAX : 0;
	return room > mss ? room - room % mss : mss;
}

void tcp_output(struct tcp_conn *c, tl_usec_t now)
{
	if (!can_send_data(c->state))
		return;
	uint32_t data_end = c->snd_una + (uint32_t)c->sndq.len;
	uint32_t wnd_end = c->snd_una + c->snd_wnd;
	uint32_t mss = tcp_mss_now(c, now);
	uint64_t cwnd_bytes = (uint64_t)c->cc.cwnd * mss;
	uint32_t max_seg = tso_max_seg(c, mss);
	for (;;) {
		if (seq_lt(c->snd_nxt, data_end)) {
			uint32_t avail = data_end - c->snd_nxt;
			uint32_t win_left = seq_gt(wnd_end, c->snd_nxt) ? wnd_end - c->snd_nxt : 0;
			uint32_t in_flight = c->snd_nxt - c->snd_una;
			uint32_t cw_left = cwnd_bytes > in_flight ? (uint32_t)(cwnd_bytes - in_flight) : 0;
			uint32_t len = TL_MIN(TL_MIN(avail, max_seg), TL_MIN(win_left, cw_left));
			/* TSO: only the tail of the data may end in a short
			 * segment; a window- or cwnd-limited superframe stops at
			 * a whole number of segments (Linux tcp_mss_split_point). */
			if (len > mss && len != avail)
				len -= len % mss;
			/* CWR goes on one plain segment: a superframe would need
			 * the virtio ECN flag, and segmenting it clears CWR after
			 * the first piece anyway. */
			if ((c->ecn_flags & TCP_ECN_QUEUE_CWR) && len > mss)
				len = mss;
			if (len == 0)
				break;
			/* Nagle (RFC 896) in Minshall's form, as Linux does it
			 * (tcp_nagle_check): hold a small segment while an
			 * earlier small one is unacknowledged. */
			if (len < mss && len == avail && !c->nodelay && !c->shut_wr &&
			    seq_gt(c->snd_sml, c->snd_una) && seq_leq(c->snd_sml, c->snd_nxt))
				break;
			uint8_t flags = TH_ACK;
			if (len == avail) {
				flags |= TH_PSH;
				if (c->shut_wr) /* piggyback the FIN, as Linux does */
					flags |= TH_FIN;
			}
			tcp_xmit(c, c->snd_nxt, len, flags, now);
			if (len < mss)
				c->snd_sml = c->snd_nxt;
			if (flags & TH_FIN)
				c->fin_sent = true;
			continue;
		}
		if (c->shut_wr && c->snd_nxt == data_end) {
			tcp_xmit(c, data_end, 0, TH_FIN | TH_ACK, now);
			c->fin_sent = true;
		}
		break;
	}
	/* Data waits but the peer's window is shut: probe it (RFC 9293 §3.8.6.1). */
	if (seq_lt(c->snd_nxt, data_end) && c->snd_wnd == 0 && c->snd_nxt == c->snd_una &&
	    !tw_armed(&c->rtx.wt)) {
		c->persist = true;
		tcp_arm_rtx(c, now);
	}
}

/* Linux's ACK policy (__tcp_ack_snd_check): quick ACKs at the start of a
 * connection, then an ACK as soon as more than one full segment (rcv_mss)
 * is unacknowledged, else a delayed ACK (40 ms). */
void tcp_schedule_ack(struct tcp_conn *c, tl_usec_t now)
{
	if (c->quickacks) {
		c->quickacks--;
		tcp_send_ack(c, now);
		return;
	}
	if (c->rcv_nxt - c->rcv_wup > c->rcv_mss) {
		tcp_send_ack(c, now);
		return;
	}
	if (!tw_armed(&c->delack.wt))
		tcp_timer_arm(c->th, &c->delack, now + TCP_DELACK_MIN_US);
}

bool tcp_oow_ack_allowed(struct tcp_conn *c, tl_usec_t now)
{
	if (c->last_oow_ack && now - c->last_oow_ack < TCP_INVALID_RATELIMIT_US)
		return false;
	c->last_oow_ack = now;
	return true;
}
