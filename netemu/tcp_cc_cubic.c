/* CUBIC congestion control (RFC 9438), shaped like Linux's tcp_cubic.c:
 * after a loss the window follows W(t) = C (t - K)^3 + W_max, concave up
 * to the old maximum and convex beyond it, never slower than a Reno flow
 * would grow (the Reno-friendly region). Time comes from the caller's
 * `now`; the curve is evaluated one RTT ahead. No HyStart (slow start is
 * plain RFC 5681). Pure; the connection's loop thread. */
#include "tcp_cc.h"

#include <string.h>

/* RFC 9438 §4.6: beta_cubic = 0.7, as Linux's fixed point 717/1024. */
#define BETA_SCALE 1024u
#define BETA 717u
/* RFC 9438 §4.2: C = 0.4 segments / s^3. */
#define CUBIC_C 0.4
/* Linux: ACKs per +1 of W_est are cwnd * RENO_SCALE / 8, where
 * RENO_SCALE = 8 (1 + beta) / 3 / (1 - beta) = 15, i.e. W_est grows by
 * alpha = 3 (1 - beta) / (1 + beta) ~ 0.53 segments per RTT (RFC 9438 §4.3). */
#define RENO_SCALE (8u * (BETA_SCALE + BETA) / 3u / (BETA_SCALE - BETA))

static double cube_root(double x)
{
	if (x <= 0)
		return 0;
	double y = 1;
	while (y * y * y < x)
		y *= 2;
	/* Newton's method for y^3 = x falls monotonically from above. */
	for (int i = 0; i < 200; i++) {
		double next = (2 * y + x / (y * y)) / 3;
		if (next >= y)
			break;
		y = next;
	}
	return y;
}

static void cubic_init(struct tcp_cc *cc, tl_usec_t now)
{
	(void)now;
	memset(&cc->priv.cubic, 0, sizeof(cc->priv.cubic));
}

/* Linux bictcp_update(): how many acked segments earn one more segment
 * of cwnd so that cwnd reaches the curve's value one RTT from now. */
static uint32_t cubic_acks_per_increment(struct tcp_cc *cc, uint32_t acked,
					 uint32_t srtt_us, tl_usec_t now)
{
	struct tcp_cubic *ca = &cc->priv.cubic;
	uint32_t cwnd = cc->cwnd;
	uint32_t cnt;

	ca->ack_cnt += acked;
	if (!ca->in_epoch) {
		/* RFC 9438 §4.2: a new epoch starts at the first ACK of
		 * congestion avoidance. */
		ca->in_epoch = true;
		ca->epoch_start = now;
		ca->ack_cnt = acked;
		ca->tcp_cwnd = cwnd;
		if (ca->last_max_cwnd <= cwnd) {
			/* RFC 9438 §4.8: after a timeout (or above the old
			 * maximum) the curve starts on its plateau. */
			ca->k_us = 0;
			ca->origin_point = cwnd;
		} else {
			double k = cube_root((ca->last_max_cwnd - cwnd) / CUBIC_C);
			ca->k_us = (tl_usec_t)(k * 1e6);
			ca->origin_point = ca->last_max_cwnd;
		}
	}

	/* RFC 9438 §4.2: target = W_cubic(t + RTT). */
	double t = (double)(now - ca->epoch_start + srtt_us) / 1e6;
	double d = t - (double)ca->k_us / 1e6;
	double w = (double)ca->origin_point + CUBIC_C * d * d * d;
	uint32_t target = w <= 0 ? 0 : w >= 4e9 ? 4000000000u : (uint32_t)w;
	if (target > cwnd)
		cnt = cwnd / (target - cwnd);
	else /* on the plateau: almost no growth */
		cnt = cwnd < UINT32_MAX / 100 ? 100 * cwnd : UINT32_MAX;

	/* Linux: before any loss the cubic curve is flat; grow at least 5%
	 * per RTT. */
	if (ca->last_max_cwnd == 0 && cnt > 20)
		cnt = 20;

	/* RFC 9438 §4.3: the Reno-friendly region, W_est growing by alpha
	 * per RTT; when it is ahead, grow as fast as it. */
	uint64_t step = ((uint64_t)cwnd * RENO_SCALE) >> 3;
	uint32_t per_step = step == 0 ? 1 : step > UINT32_MAX ? UINT32_MAX : (uint32_t)step;
	while (ca->ack_cnt > per_step) {
		ca->ack_cnt -= per_step;
		ca->tcp_cwnd++;
	}
	if (ca->tcp_cwnd > cwnd) {
		uint32_t max_cnt = cwnd / (ca->tcp_cwnd - cwnd);
		if (cnt > max_cnt)
			cnt = max_cnt;
	}
	/* Linux: at most +50% per RTT. */
	return cnt < 2 ? 2 : cnt;
}

/* Linux CUBIC's HyStart (delay increase, as in RFC 9406): slow start ends
 * once the RTT has grown by an eighth of its minimum (clamped to 4..16 ms),
 * i.e. when a queue starts building, instead of doubling until the queue
 * overflows and a whole window's worth is lost. We compare the smoothed
 * RTT, which lags a little behind Linux's per-round minimum. */
#define HYSTART_LOW_WINDOW 16
#define HYSTART_DELAY_MIN_US 4000u
#define HYSTART_DELAY_MAX_US 16000u

static void hystart_update(struct tcp_cc *cc, uint32_t srtt_us)
{
	struct tcp_cubic *ca = &cc->priv.cubic;
	if (srtt_us == 0)
		return;
	if (!ca->delay_min_us || srtt_us < ca->delay_min_us)
		ca->delay_min_us = srtt_us;
	if (cc->cwnd < HYSTART_LOW_WINDOW)
		return;
	uint32_t thresh = TL_MIN(TL_MAX(ca->delay_min_us / 8, HYSTART_DELAY_MIN_US),
				 HYSTART_DELAY_MAX_US);
	if (srtt_us >= ca->delay_min_us + thresh)
		cc->ssthresh = cc->cwnd; /* leave slow start here */
}

static void cubic_cong_avoid(struct tcp_cc *cc, uint32_t acked, uint32_t srtt_us,
			     tl_usec_t now)
{
	if (tcp_cc_in_slow_start(cc))
		hystart_update(cc, srtt_us);
	if (tcp_cc_in_slow_start(cc)) {
		acked = tcp_cc_slow_start(cc, acked);
		if (acked == 0)
			return;
	}
	uint32_t cnt = cubic_acks_per_increment(cc, acked, srtt_us, now);
	tcp_cc_cong_avoid_ai(cc, cnt, acked);
}

/* RFC 9438 §4.6, §4.7: remember W_max (reduced further by fast
 * convergence when the previous maximum was not reached) and cut to
 * beta * cwnd. */
static uint32_t cubic_ssthresh(struct tcp_cc *cc, tl_usec_t now)
{
	struct tcp_cubic *ca = &cc->priv.cubic;
	(void)now;

	ca->in_epoch = false;
	if (cc->cwnd < ca->last_max_cwnd)
		ca->last_max_cwnd = (uint32_t)((uint64_t)cc->cwnd * (BETA_SCALE + BETA) /
					       (2 * BETA_SCALE));
	else
		ca->last_max_cwnd = cc->cwnd;
	uint32_t s = (uint32_t)((uint64_t)cc->cwnd * BETA / BETA_SCALE);
	return s < 2 ? 2 : s;
}

/* Linux cubictcp_state(TCP_CA_Loss): a timeout forgets the curve, so
 * the next epoch starts flat at the window reached (RFC 9438 §4.8). */
static void cubic_on_rto(struct tcp_cc *cc, tl_usec_t now)
{
	(void)now;
	memset(&cc->priv.cubic, 0, sizeof(cc->priv.cubic));
}

const struct tcp_cc_ops tcp_cc_cubic_ops = {
	.name = "cubic",
	.init = cubic_init,
	.cong_avoid = cubic_cong_avoid,
	.ssthresh = cubic_ssthresh,
	.on_rto = cubic_on_rto,
};
