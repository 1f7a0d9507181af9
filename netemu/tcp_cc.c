/* Congestion control: the registry of algorithms, the events the state
 * machine reports (ACK, fast retransmit, recovery exit, RTO) and Linux's
 * shared slow-start and additive-increase steps. The algorithms live in
 * tcp_cc_reno.c and tcp_cc_cubic.c. Pure; the connection's loop thread. */
#include "tcp_cc.h"

#include <errno.h>
#include <string.h>

/* In the order tcp_available_congestion_control lists them. */
static const struct tcp_cc_ops *const algorithms[] = {
	&tcp_cc_reno_ops,
	&tcp_cc_cubic_ops,
};

const char *tcp_cc_available(void)
{
	return "reno cubic";
}

const struct tcp_cc_ops *tcp_cc_find(const char *name)
{
	if (name == NULL)
		return NULL;
	for (size_t i = 0; i < TL_ARRAY_SIZE(algorithms); i++)
		if (strcmp(algorithms[i]->name, name) == 0)
			return algorithms[i];
	return NULL;
}

int tcp_cc_init(struct tcp_cc *cc, const char *name, uint32_t initial_cwnd,
		tl_usec_t now)
{
	const struct tcp_cc_ops *ops = tcp_cc_find(name);
	if (ops == NULL)
		return -ENOENT;
	memset(cc, 0, sizeof(*cc));
	cc->ops = ops;
	cc->cwnd = initial_cwnd ? initial_cwnd : 1;
	cc->ssthresh = TCP_INFINITE_SSTHRESH;
	if (ops->init != NULL)
		ops->init(cc, now);
	return 0;
}

uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked)
{
	uint64_t grown = (uint64_t)cc->cwnd + acked;
	uint32_t cwnd = grown < cc->ssthresh ? (uint32_t)grown : cc->ssthresh;
	acked -= cwnd - cc->cwnd;
	cc->cwnd = cwnd;
	return acked;
}

void tcp_cc_cong_avoid_ai(struct tcp_cc *cc, uint32_t w, uint32_t acked)
{
	/* Linux: credit accumulated while w was smaller is paid out gently,
	 * one segment, instead of all at once. */
	if (cc->cwnd_cnt >= w) {
		cc->cwnd_cnt = 0;
		cc->cwnd++;
	}
	cc->cwnd_cnt += acked;
	if (cc->cwnd_cnt >= w) {
		uint32_t delta = cc->cwnd_cnt / w;
		cc->cwnd_cnt -= delta * w;
		cc->cwnd += delta;
	}
}

uint32_t tcp_cc_reno_ssthresh(struct tcp_cc *cc, tl_usec_t now)
{
	(void)now;
	return TL_MAX(cc->cwnd >> 1, 2u);
}

void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked_segs, uint32_t srtt_us,
		   tl_usec_t now)
{
	if (acked_segs == 0)
		return;
	/* Linux: ACK progress resets icsk_retransmits, so the next RTO
	 * computes a fresh ssthresh. */
	cc->in_loss = false;
	/* Linux tcp_cong_control(): during recovery the window is being
	 * reduced, not grown. */
	if (cc->in_recovery)
		return;
	cc->ops->cong_avoid(cc, acked_segs, srtt_us, now);
	TL_ASSERT(cc->cwnd >= 1);
}

void tcp_cc_on_fast_retransmit(struct tcp_cc *cc, tl_usec_t now)
{
	if (cc->in_recovery)
		return;
	cc->ssthresh = cc->ops->ssthresh(cc, now);
	cc->cwnd = cc->ssthresh;
	cc->cwnd_cnt = 0;
	cc->in_recovery = true;
	cc->in_loss = false;
}

void tcp_cc_on_recovery_exit(struct tcp_cc *cc, tl_usec_t now)
{
	(void)now;
	/* Linux tcp_end_cwnd_reduction(): settle at ssthresh. */
	if (cc->ssthresh < TCP_INFINITE_SSTHRESH)
		cc->cwnd = cc->ssthresh;
	cc->cwnd_cnt = 0;
	cc->in_recovery = false;
}

void tcp_cc_on_rto(struct tcp_cc *cc, tl_usec_t now)
{
	/* Linux tcp_enter_loss(): only the first timeout of a loss episode
	 * (or one after ACK progress) picks a new ssthresh; backoff repeats
	 * and timeouts during recovery keep the one already chosen. */
	if (!cc->in_recovery && !cc->in_loss)
		cc->ssthresh = cc->ops->ssthresh(cc, now);
	cc->cwnd = 1;
	cc->cwnd_cnt = 0;
	cc->in_recovery = false;
	cc->in_loss = true;
	if (cc->ops->on_rto != NULL)
		cc->ops->on_rto(cc, now);
}
