/* TCP congestion control: the window a connection may have in flight,
 * grown on ACKs and cut on loss. Algorithms plug in through struct
 * tcp_cc_ops, as in Linux (include/net/tcp.h tcp_congestion_ops); "reno"
 * (RFC 5681, tcp_cc_reno.c) and "cubic" (RFC 9438, tcp_cc_cubic.c) are
 * available. Windows count segments, like Linux's snd_cwnd. Time is the
 * caller's `now`. Pure; the loop thread that owns the connection. */
#ifndef TL_NETEMU_TCP_CC_H
#define TL_NETEMU_TCP_CC_H

#include <stdbool.h>
#include <stdint.h>

#include "tl_types.h"

/* "Infinite" initial ssthresh, Linux's TCP_INFINITE_SSTHRESH. */
#define TCP_INFINITE_SSTHRESH 0x7fffffffu

struct tcp_cc;

/* One algorithm. Every hook except name, cong_avoid and ssthresh may be NULL. */
struct tcp_cc_ops {
	const char *name;
	/* Resets the private state (connection start). */
	void (*init)(struct tcp_cc *cc, tl_usec_t now);
	/* Grows cwnd for `acked` newly acknowledged segments (slow start and
	 * congestion avoidance). Called only outside fast recovery. */
	void (*cong_avoid)(struct tcp_cc *cc, uint32_t acked, uint32_t srtt_us,
			   tl_usec_t now);
	/* The new ssthresh for a loss event at the current cwnd; may update
	 * the private state (CUBIC remembers W_max here). */
	uint32_t (*ssthresh)(struct tcp_cc *cc, tl_usec_t now);
	/* A retransmission timeout after ssthresh() (Linux TCP_CA_Loss). */
	void (*on_rto)(struct tcp_cc *cc, tl_usec_t now);
};

/* CUBIC's private state (RFC 9438 §4, names as in Linux's struct bictcp).
 * Invariant: while in_epoch, origin_point is the plateau (W_max) of the
 * current curve, k_us its K and epoch_start when the epoch began; outside
 * an epoch (after a loss) those three are stale and recomputed on the next
 * congestion-avoidance ACK. last_max_cwnd == 0 means "no loss seen yet". */
struct tcp_cubic {
	uint32_t last_max_cwnd; /* W_max after fast convergence, segments */
	bool in_epoch;          /* a congestion-avoidance epoch is running */
	uint32_t origin_point;  /* W_max of the current curve */
	tl_usec_t k_us;         /* K: time from epoch start to the plateau */
	tl_usec_t epoch_start;  /* when the current epoch began */
	uint32_t ack_cnt;       /* segments acked toward the next W_est step */
	uint32_t tcp_cwnd;      /* W_est, the Reno-friendly estimate */
	uint32_t delay_min_us;  /* HyStart: the lowest smoothed RTT seen */
};

/* One connection's congestion state. Invariants: ops != NULL, cwnd >= 1,
 * ssthresh >= 2; cwnd_cnt is the credit of acked segments toward the next
 * +1 in congestion avoidance (Linux snd_cwnd_cnt). */
struct tcp_cc {
	const struct tcp_cc_ops *ops;
	uint32_t cwnd, ssthresh; /* segments */
	uint32_t cwnd_cnt;
	bool in_recovery; /* between fast retransmit and recovery exit */
	bool in_loss;     /* after an RTO until an ACK makes progress */
	union {
		struct tcp_cubic cubic;
	} priv;
};

/* Starts `cc` with algorithm `name` ("reno", "cubic"), cwnd = initial_cwnd
 * (segments, >= 1) and ssthresh infinite. Returns 0 or -ENOENT. */
int tcp_cc_init(struct tcp_cc *cc, const char *name, uint32_t initial_cwnd,
		tl_usec_t now);

/* `acked_segs` newly acknowledged segments. Grows cwnd unless in fast
 * recovery (Linux reduces there instead). The caller should not report
 * ACKs while the sender is application-limited (Linux's
 * tcp_is_cwnd_limited), or cwnd grows without being used. */
void tcp_cc_on_ack(struct tcp_cc *cc, uint32_t acked_segs, uint32_t srtt_us,
		   tl_usec_t now);

/* Enters fast recovery: ssthresh from the algorithm, cwnd = ssthresh.
 * Linux: cwnd is cut from the current cwnd (not RFC 5681's FlightSize),
 * and there is no per-duplicate-ACK inflation. Ignored while already in
 * recovery. */
void tcp_cc_on_fast_retransmit(struct tcp_cc *cc, tl_usec_t now);

/* Leaves fast recovery: cwnd = ssthresh. */
void tcp_cc_on_recovery_exit(struct tcp_cc *cc, tl_usec_t now);

/* Retransmission timeout: ssthresh from the algorithm, cwnd = 1.
 * Linux: a repeated RTO without ACK progress, or an RTO during fast
 * recovery, keeps the ssthresh already chosen (tcp_enter_loss). */
void tcp_cc_on_rto(struct tcp_cc *cc, tl_usec_t now);

/* "reno cubic": the value of tcp_available_congestion_control. */
const char *tcp_cc_available(void);
/* The algorithm called `name` (case-sensitive, like Linux), or NULL. */
const struct tcp_cc_ops *tcp_cc_find(const char *name);
static inline bool tcp_cc_in_slow_start(const struct tcp_cc *cc)
{
	return cc->cwnd < cc->ssthresh;
}

/* For algorithm modules: Linux's shared building blocks. */
extern const struct tcp_cc_ops tcp_cc_reno_ops;
extern const struct tcp_cc_ops tcp_cc_cubic_ops;
/* Slow start: cwnd += acked, up to ssthresh; returns the acked segments
 * left over for congestion avoidance (Linux tcp_slow_start). */
uint32_t tcp_cc_slow_start(struct tcp_cc *cc, uint32_t acked);
/* Additive increase: +1 segment per `w` acked segments (Linux
 * tcp_cong_avoid_ai). */
void tcp_cc_cong_avoid_ai(struct tcp_cc *cc, uint32_t w, uint32_t acked);
/* Reno's ssthresh: half the window, at least 2 (Linux tcp_reno_ssthresh). */
uint32_t tcp_cc_reno_ssthresh(struct tcp_cc *cc, tl_usec_t now);

#endif
