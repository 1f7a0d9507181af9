/* Events the pure core emits for the outside world: every TCP state
 * transition (history, FUSE `events`, client `watch`). The core queues them;
 * the loop thread drains them after each input (see stack_pop_event). */
#ifndef TL_NETEMU_EVENT_H
#define TL_NETEMU_EVENT_H

#include <stdint.h>

#include "tl_types.h"

enum tl_event_kind {
	TL_EV_TCP_STATE = 1, /* a connection changed state */
	TL_EV_TCP_SYNACK_RETRANS, /* a pending request's SYN-ACK was resent */
	TL_EV_TCP_RETRANS,   /* data/SYN/FIN retransmitted by a timer */
};

/* What made a transition happen. */
enum tl_cause_kind {
	TL_CAUSE_SEGMENT = 1, /* a received segment: seg_* fields are valid */
	TL_CAUSE_TIMER,       /* a timer: `cause` names it (e.g. "timewait") */
	TL_CAUSE_APP,         /* an application call: `cause` names it ("close") */
};

/* Event flags. */
#define TL_EVF_PASSIVE 0x1     /* connection came from a listener */
#define TL_EVF_FROM_COOKIE 0x2 /* created by a validated SYN cookie */

/* One event. Addresses and ports in host byte order; `local` is the stack
 * host's side. `cause` is a short NUL-terminated name. */
struct tl_event {
	enum tl_event_kind kind;
	tl_usec_t time;
	uint64_t conn_id;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t old_state, new_state; /* enum tcp_state values */
	uint8_t cause_kind;           /* enum tl_cause_kind */
	uint8_t seg_flags;            /* TCP flags of the causing segment */
	uint32_t seg_seq, seg_ack;
	uint32_t seg_len;
	uint16_t seg_win;
	uint16_t flags;               /* TL_EVF_* */
	uint32_t count;               /* retransmission number, for *_RETRANS */
	char cause[24];
	/* Connection statistics at the time of the event (0 for requests and
	 * TIME_WAIT entries), so the history can fill its connection rows. */
	uint64_t bytes_in, bytes_out;
	uint32_t segs_in, segs_out;
	uint32_t retrans;             /* segments retransmitted so far */
	uint32_t srtt_us, min_rtt_us;
};

#endif
