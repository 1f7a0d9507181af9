/* /proc/net/tcp and friends (reference §5 and §7). */
#include "tcp_procfs.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "ipv4.h"
#include "tcp_int.h"

#define PROC_NET_TCP_WIDTH 149 /* Linux TMPSZ 150 minus the newline */
#define USER_HZ 100
#define NULL_PTR "0000000000000000" /* %pK as seen by unprivileged readers */

/* The kernel prints the network-order word as a host integer. */
static uint32_t proc_addr(uint32_t host_order)
{
	return __builtin_bswap32(host_order);
}

static long ticks_until(tl_usec_t when, tl_usec_t now)
{
	return when > now ? (long)((when - now) / (TL_USEC_PER_SEC / USER_HZ)) : 0;
}

static void end_line(struct strbuf *out, size_t start)
{
	sb_pad_line(out, start, PROC_NET_TCP_WIDTH);
	sb_append(out, "\n", 1);
}

/* Which timer /proc/net/tcp shows for a connection, and when it fires. */
static int conn_timer(const struct tcp_conn *c, tl_usec_t *when)
{
	if (tw_armed(&c->rtx.wt)) {
		*when = c->rtx.wt.expires;
		return c->persist ? 4 : 1;
	}
	if (tw_armed(&c->keepalive_t.wt)) {
		*when = c->keepalive_t.wt.expires;
		return 2;
	}
	*when = 0;
	return 0;
}

static void row_conn(struct strbuf *out, unsigned sl, const struct tcp_conn *c, tl_usec_t now)
{
	size_t start = out->len;
	tl_usec_t when;
	int tr = conn_timer(c, &when);
	bool listen = c->state == TCP_LISTEN;
	uint32_t txq = listen ? 0 : (uint32_t)c->sndq.len;
	uint32_t rxq = listen ? c->lsn->accept_len : (uint32_t)c->rcvq.len;
	uint32_t rto_ticks = listen ? 100 : c->rtt.rto_us / (TL_USEC_PER_SEC / USER_HZ);
	bool initial_ss = c->cc.ssthresh >= 0x7fffffff;
	sb_printf(out, "%4u: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %" PRIu64
		       " %d %s %u %u %u %u %d",
		  sl, proc_addr(c->h.laddr), c->h.lport, proc_addr(c->h.raddr), c->h.rport, c->state,
		  txq, rxq, tr, ticks_until(when, now), c->retransmits, 0u, c->probes, c->id, 1,
		  NULL_PTR, rto_ticks, listen ? 0u : 4u, (unsigned)(c->quickacks << 1),
		  listen ? 10u : c->cc.cwnd,
		  listen ? 0 : (initial_ss ? -1 : (int)c->cc.ssthresh));
	end_line(out, start);
}

static void row_req(struct strbuf *out, unsigned sl, const struct tcp_req *r, tl_usec_t now)
{
	size_t start = out->len;
	sb_printf(out, "%4u: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %u %d %s",
		  sl, proc_addr(r->h.laddr), r->h.lport, proc_addr(r->h.raddr), r->h.rport,
		  TCP_SYN_RECV, 0u, 0u, 1, ticks_until(r->timer.wt.expires, now), r->num_timeout, 0u,
		  0, 0u, 0, NULL_PTR);
	end_line(out, start);
}

static void row_tw(struct strbuf *out, unsigned sl, const struct tcp_tw *tw, tl_usec_t now)
{
	size_t start = out->len;
	sb_printf(out, "%4u: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5d %8d %d %d %s",
		  sl, proc_addr(tw->h.laddr), tw->h.lport, proc_addr(tw->h.raddr), tw->h.rport,
		  tw->substate, 0u, 0u, 3, ticks_until(tw->timer.wt.expires, now), 0u, 0, 0, 0, 3,
		  NULL_PTR);
	end_line(out, start);
}

void tcp_procfs_net_tcp(struct tcp_host *th, tl_usec_t now, struct strbuf *out)
{
	size_t start = out->len;
	sb_printf(out, "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
		       "   uid  timeout inode");
	end_line(out, start);
	unsigned sl = 0;
	for (uint32_t port = 0; port < 65536; port++)
		if (th->listeners[port])
			row_conn(out, sl++, th->listeners[port], now);
	for (uint32_t b = 0; b <= th->ehash.mask; b++) {
		for (const struct tcp_hnode *n = th->ehash.bucket[b]; n; n = n->next) {
			switch ((enum tcp_hkind)n->kind) {
			case TCP_HK_CONN:
				row_conn(out, sl++, (const struct tcp_conn *)n, now);
				break;
			case TCP_HK_REQ:
				row_req(out, sl++, (const struct tcp_req *)n, now);
				break;
			case TCP_HK_TW:
				row_tw(out, sl++, (const struct tcp_tw *)n, now);
				break;
			}
		}
	}
}

static void ss_row(struct strbuf *out, int state, uint32_t recvq, uint32_t sendq,
		   uint32_t laddr, uint16_t lport, uint32_t raddr, uint16_t rport, bool listen,
		   uint64_t id)
{
	char la[16], ra[16], local[24], peer[24];
	snprintf(local, sizeof(local), "%s:%u", ipv4_ntoa(laddr, la), lport);
	if (listen)
		snprintf(peer, sizeof(peer), "0.0.0.0:*");
	else
		snprintf(peer, sizeof(peer), "%s:%u", ipv4_ntoa(raddr, ra), rport);
	sb_printf(out, "%-10s %-6u %-6u %-21s %-21s %" PRIu64 "\n", tcp_state_ss_name(state), recvq,
		  sendq, local, peer, id);
}

void tcp_procfs_connections(struct tcp_host *th, tl_usec_t now, struct strbuf *out)
{
	(void)now;
	sb_printf(out, "%-10s %-6s %-6s %-21s %-21s %s\n", "State", "Recv-Q", "Send-Q",
		  "Local Address:Port", "Peer Address:Port", "Conn");
	for (uint32_t port = 0; port < 65536; port++) {
		const struct tcp_conn *l = th->listeners[port];
		if (l) /* ss: Recv-Q is the accept queue, Send-Q the backlog */
			ss_row(out, TCP_LISTEN, l->lsn->accept_len, (uint32_t)l->lsn->backlog,
			       l->h.laddr, l->h.lport, 0, 0, true, l->id);
	}
	for (uint32_t b = 0; b <= th->ehash.mask; b++) {
		for (const struct tcp_hnode *n = th->ehash.bucket[b]; n; n = n->next) {
			if (n->kind == TCP_HK_CONN) {
				const struct tcp_conn *c = (const struct tcp_conn *)n;
				ss_row(out, c->state, (uint32_t)c->rcvq.len, (uint32_t)c->sndq.len,
				       n->laddr, n->lport, n->raddr, n->rport, false, c->id);
			} else if (n->kind == TCP_HK_REQ) {
				ss_row(out, TCP_SYN_RECV, 0, 0, n->laddr, n->lport, n->raddr, n->rport,
				       false, ((const struct tcp_req *)n)->id);
			} else {
				ss_row(out, TCP_TIME_WAIT, 0, 0, n->laddr, n->lport, n->raddr, n->rport,
				       false, ((const struct tcp_tw *)n)->id);
			}
		}
	}
}

size_t tcp_procfs_conn_ids(struct tcp_host *th, uint64_t *ids, size_t max)
{
	size_t n = 0;
	for (const struct tcp_conn *c = th->all_head; c && n < max; c = c->all_next)
		if (c->state != TCP_CLOSE)
			ids[n++] = c->id;
	/* all_head is newest first: reverse into ascending order */
	for (size_t i = 0; i < n / 2; i++) {
		uint64_t t = ids[i];
		ids[i] = ids[n - 1 - i];
		ids[n - 1 - i] = t;
	}
	return n;
}

int tcp_procfs_conn_info(struct tcp_host *th, uint64_t id, tl_usec_t now, struct strbuf *out)
{
	const struct tcp_conn *c = th->all_head;
	while (c && !(c->id == id && c->state != TCP_CLOSE))
		c = c->all_next;
	if (!c)
		return -ENOENT;
	char la[16], ra[16];
	tl_usec_t when;
	int tr = conn_timer(c, &when);
	static const char *const timer_names[] = { "off", "on", "keepalive", "timewait", "persist" };
	sb_printf(out, "state %s\n", tcp_state_name(c->state));
	sb_printf(out, "local %s:%u\n", ipv4_ntoa(c->h.laddr, la), c->h.lport);
	if (c->state != TCP_LISTEN)
		sb_printf(out, "remote %s:%u\n", ipv4_ntoa(c->h.raddr, ra), c->h.rport);
	sb_printf(out, "role %s\n", c->state == TCP_LISTEN ? "listener" : c->passive ? "passive" : "active");
	sb_printf(out, "from_cookie %d\n", c->from_cookie);
	if (c->state == TCP_LISTEN) {
		sb_printf(out, "backlog %d\nsyn_queue %u\naccept_queue %u\n", c->lsn->backlog,
			  c->lsn->qlen, c->lsn->accept_len);
		return 0;
	}
	sb_printf(out, "iss %u\nsnd_una %u\nsnd_nxt %u\nsnd_max %u\nsnd_wnd %u\nsnd_wl1 %u\nsnd_wl2 %u\n",
		  c->iss, c->snd_una, c->snd_nxt, c->snd_max, c->snd_wnd, c->snd_wl1, c->snd_wl2);
	sb_printf(out, "irs %u\nrcv_nxt %u\nrcv_wnd %u\nrcv_adv %u\n", c->irs, c->rcv_nxt, c->rcv_wnd,
		  c->rcv_adv);
	sb_printf(out, "snd_wscale %u\nrcv_wscale %u\nmss %u\nadvmss %u\n", c->snd_wscale,
		  c->rcv_wscale, c->mss, c->advmss);
	/* As `ss -i` names them; ecnseen: a CE mark is being echoed now. */
	sb_printf(out, "options%s%s%s%s%s\n", c->ts_ok ? " ts" : "", c->sack_ok ? " sack" : "",
		  c->ws_ok ? " wscale" : "", (c->ecn_flags & TCP_ECN_OK) ? " ecn" : "",
		  (c->ecn_flags & TCP_ECN_DEMAND_CWR) ? " ecnseen" : "");
	sb_printf(out, "rtt_us %u\nrttvar_us %u\nmin_rtt_us %u\nrto_us %u\n", c->rtt.srtt_us,
		  c->rtt.rttvar_us, c->rtt.min_rtt_us, tcp_rtt_rto(&c->rtt, tcp_rto_max_us(th)));
	sb_printf(out, "congestion_control %s\ncwnd %u\n", c->cc.ops ? c->cc.ops->name : "?", c->cc.cwnd);
	if (c->cc.ssthresh >= 0x7fffffff)
		sb_printf(out, "ssthresh infinite\n");
	else
		sb_printf(out, "ssthresh %u\n", c->cc.ssthresh);
	sb_printf(out, "retransmits %u\ntotal_retrans %u\nprobes %u\nin_recovery %d\n", c->retransmits,
		  c->total_retrans, c->probes, c->in_recovery);
	sb_printf(out, "send_queue %zu\nrecv_queue %zu\nofo_queue %zu\n", c->sndq.len, c->rcvq.len,
		  tcp_ofo_bytes(&c->ofo));
	sb_printf(out, "bytes_sent %" PRIu64 "\nbytes_received %" PRIu64 "\nsegs_out %" PRIu64
		       "\nsegs_in %" PRIu64 "\n",
		  c->bytes_out, c->bytes_in, c->segs_out, c->segs_in);
	sb_printf(out, "timer %s %.3f\n", timer_names[tr],
		  when > now ? (double)(when - now) / TL_USEC_PER_SEC : 0.0);
	sb_printf(out, "age_s %.3f\n", (double)(now - c->opened) / TL_USEC_PER_SEC);
	return 0;
}
