/* Internal types of the TCP engine, shared by tcp_*.c only.
 *
 * Three kinds of object share one connection hash table ("ehash", as in
 * Linux), each starting with a struct tcp_hnode:
 *   struct tcp_conn — a full connection (and listeners, kept apart by port);
 *   struct tcp_req  — a passive-open request in SYN_RECV (Linux's request
 *                     sock): small, created by a SYN, promoted on the ACK;
 *   struct tcp_tw   — a TIME_WAIT entry (Linux's timewait minisock): a
 *                     compact record, not a connection.
 * Timers live in one timing wheel per host; each embedded struct tcp_timer
 * says which kind it is so the handler finds its owner. */
#ifndef TL_NETEMU_TCP_INT_H
#define TL_NETEMU_TCP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bytering.h"
#include "counters.h"
#include "event.h"
#include "ipv4.h"
#include "tcp_api.h"
#include "tcp_cc.h"
#include "tcp_ofo.h"
#include "tcp_rtt.h"
#include "tcp_sack.h"
#include "tcp_seq.h"
#include "tcp_state.h"
#include "tcp_syncookie.h"
#include "tcp_sysctl.h"
#include "tcp_wire.h"
#include "timer_wheel.h"
#include "tl_types.h"

struct stack;

#define TCP_CONTAINER_OF(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* RFC 9293 §3.10.7: what a processing step decided. */
enum tcp_verdict { TCP_CONTINUE, TCP_DROP, TCP_DROP_SEND_ACK, TCP_DROP_SEND_RST };

enum tcp_hkind { TCP_HK_CONN = 1, TCP_HK_REQ, TCP_HK_TW };

/* Key and chain link of everything in the connection hash table. Addresses
 * and ports in host order; "local" is our side. */
struct tcp_hnode {
	struct tcp_hnode *next;
	uint32_t laddr, raddr;
	uint16_t lport, rport;
	uint8_t kind;   /* enum tcp_hkind */
	bool hashed;
};

struct tcp_ehash {
	struct tcp_hnode **bucket;
	uint32_t mask;  /* bucket count - 1 (a power of two) */
	uint32_t count;
};

enum tcp_timer_kind {
	TCP_T_RTX = 1,   /* conn: retransmission, SYN retries, zero-window probes */
	TCP_T_DELACK,    /* conn: delayed ACK */
	TCP_T_KEEPALIVE, /* conn: keepalive, and the orphaned FIN_WAIT2 timeout */
	TCP_T_REQ,       /* request: SYN-ACK retransmission */
	TCP_T_TW,        /* TIME_WAIT expiry */
};

struct tcp_timer {
	struct tw_timer wt;
	uint8_t kind;    /* enum tcp_timer_kind */
};

/* What made a state change happen, for the event. */
struct tcp_cause {
	uint8_t kind;               /* enum tl_cause_kind */
	const char *name;           /* "FIN", "timewait", "close" ... */
	const struct tcp_seg *seg;  /* for TL_CAUSE_SEGMENT */
};
#define TCP_CAUSE_SEG(s, n) ((struct tcp_cause){ TL_CAUSE_SEGMENT, (n), (s) })
#define TCP_CAUSE_TIMER(n) ((struct tcp_cause){ TL_CAUSE_TIMER, (n), NULL })
#define TCP_CAUSE_APP(n) ((struct tcp_cause){ TL_CAUSE_APP, (n), NULL })

/* Deferred application notifications (see tcp_dispatch). */
#define TCP_N_ACCEPT 0x01
#define TCP_N_CONNECTED 0x02
#define TCP_N_READABLE 0x04
#define TCP_N_WRITABLE 0x08
#define TCP_N_CLOSED 0x10

/* A listener's two queues (Linux's request queue and accept queue).
 * Invariant: qlen == number of tcp_req on `reqs`; accept_len == length of
 * the accept list. */
struct tcp_listener {
	int backlog;               /* min(listen() backlog, somaxconn) */
	uint32_t qlen, young;      /* requests; never-retransmitted ones */
	struct tcp_req *reqs;      /* doubly linked via lprev/lnext */
	struct tcp_conn *accept_head, *accept_tail;
	uint32_t accept_len;
	tl_usec_t last_overflow;   /* for SYN cookie validation; 0 = never */
	bool overflowed;
};

/* A full connection. Fields follow RFC 9293 §3.3.1, then our groups.
 * Invariants: snd_una <= snd_nxt <= snd_max; sndq holds the bytes from
 * snd_una (or from iss+1 before the SYN is acked); state == TCP_LISTEN iff
 * lsn != NULL; a conn is in ehash iff it is synchronized or SYN_SENT and
 * not yet CLOSE. */
struct tcp_conn {
	struct tcp_hnode h;
	struct tcp_host *th;
	uint64_t id;
	uint8_t state;             /* enum tcp_state */
	/* Send sequence variables (RFC 9293 §3.3.1). */
	uint32_t snd_una, snd_nxt, snd_wnd, snd_up, snd_wl1, snd_wl2, iss;
	uint32_t snd_max;          /* highest sequence sent (+1) */
	/* Receive sequence variables. */
	uint32_t rcv_nxt, rcv_wnd, rcv_up, irs;
	uint32_t rcv_adv;          /* right edge we advertised: never shrunk */
	uint32_t rcv_wup;          /* RCV.NXT when our last ACK left (Linux rcv_wup) */
	uint32_t snd_sml;          /* end of the last small segment sent (Minshall) */
	/* Options negotiated. */
	uint16_t mss;              /* send MSS (peer's, clamped) */
	uint16_t advmss;           /* MSS we announced */
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, sack_ok, ts_ok;
	uint32_t ts_recent, ts_offset;
	/* Path MTU black-hole detection (tcp_pmtu.c): on once suspected, with
	 * the MSS it has come down to (Linux icsk_mtup.search_low). */
	bool mtup_enabled;
	uint16_t mtup_low_mss;
	/* RFC 3168 ECN (tcp_ecn.c): TCP_ECN_* flags; while ecn_cwr, the
	 * window is cut for an ECE until snd_una reaches ecn_cwr_end. */
	uint8_t ecn_flags;
	bool ecn_cwr;
	uint32_t ecn_cwr_end;
	/* RFC 2883: a duplicate we received, reported first in our next ACK. */
	bool dsack_pending;
	struct tcp_sack_block dsack;
	/* Flags. */
	bool passive, from_cookie;
	bool app_released;         /* tcp_close() called: orphan */
	bool shut_wr;              /* FIN queued after sndq */
	bool fin_sent, fin_rcvd;
	bool rcv_fin_pending;      /* FIN seen beyond rcv_nxt */
	uint32_t rcv_fin_seq;
	bool keepalive;
	bool nodelay;
	int err;                   /* pending error for the app */
	/* Timers. */
	struct tcp_timer rtx, delack, keepalive_t;
	uint8_t retransmits;       /* consecutive RTO expiries (backoff) */
	uint8_t probes;            /* unanswered keepalive / zero-window probes */
	uint8_t persist_backoff;   /* doublings of the zero-window probe timer */
	bool persist;              /* rtx timer is a zero-window probe timer */
	tl_usec_t retrans_stamp;   /* first retransmission of the current run */
	tl_usec_t syn_stamp;       /* when the first SYN left (SYN_SENT budget) */
	tl_usec_t last_rcv;        /* for keepalive idle time */
	tl_usec_t last_oow_ack;    /* rate limit of challenge/dup ACKs */
	uint8_t quickacks;         /* ACKs still to send immediately */
	uint16_t rcv_mss;          /* estimate of the peer's segment size (Linux rcv_mss) */
	/* RTT (Karn: only segments never retransmitted are timed). */
	struct tcp_rtt rtt;
	bool rtt_timing;
	uint32_t rtt_seq;
	tl_usec_t rtt_start;
	/* Congestion and loss recovery (NewReno, RFC 6582). */
	struct tcp_cc cc;
	uint32_t dupacks;
	bool in_recovery;
	uint32_t recover;          /* snd_max when recovery started */
	struct tcp_sack_board sacked; /* RFC 6675 scoreboard (sack_ok only) */
	uint32_t rexmit_nxt;       /* RFC 6675 HighRxt: next hole to resend from */
	uint32_t total_retrans;
	/* Queues. */
	struct bytering sndq;      /* unacknowledged + unsent bytes */
	struct bytering rcvq;      /* in-order bytes the app has not read */
	uint32_t rcvbuf;           /* buffer our window is computed from (tcp_rmem[2]
				    * at creation); rcvq.max may exceed it by what
				    * window rounding promised (tcp_raw_window) */
	struct tcp_ofo ofo;
	/* Statistics for history and `ss -i`. */
	uint64_t bytes_in, bytes_out, segs_in, segs_out;
	tl_usec_t opened;
	/* Listener only. */
	struct tcp_listener *lsn;
	struct tcp_conn *parent;   /* listener a passive child came from */
	struct tcp_conn *accept_next;
	/* Application. */
	const struct tcp_callbacks *cb;
	void *ctx;
	uint8_t notify;            /* TCP_N_* pending */
	bool in_notify_list, reaped;
	struct tcp_conn *notify_next; /* th->notify_head list */
	struct tcp_conn *reap_next;   /* th->reap_head list */
	struct tcp_conn *all_prev, *all_next; /* th->all_head: every conn */
};

/* A pending passive open (SYN_RECV). Invariant: hashed while it exists;
 * listener->lsn->qlen counts it. */
struct tcp_req {
	struct tcp_hnode h;
	struct tcp_timer timer;
	struct tcp_conn *listener;
	struct tcp_req *lprev, *lnext;
	uint64_t id;
	uint32_t iss, irs;
	uint32_t ts_recent;
	uint16_t mss;              /* peer's MSS (clamped) */
	uint16_t peer_wnd;         /* raw window from the SYN */
	uint8_t snd_wscale;
	bool ws_ok, sack_ok, ts_ok, acked, ecn_ok;
	uint8_t num_timeout;       /* SYN-ACK retransmissions so far */
	tl_usec_t created;
};

/* A TIME_WAIT entry: just enough to re-ACK a FIN and judge a new SYN.
 * Kept at most 128 bytes (checked by a static assertion in tcp_timewait.c). */
struct tcp_tw {
	struct tcp_hnode h;
	struct tcp_timer timer;
	uint64_t id;
	uint32_t snd_nxt, rcv_nxt;
	uint32_t ts_recent, ts_offset;
	uint16_t rcv_wnd;          /* raw window to advertise */
	bool ts_ok;
	uint8_t substate;          /* TCP_TIME_WAIT */
	uint16_t ev_flags;         /* TL_EVF_* of the connection, for its last event */
	uint32_t last_oow_ack_ms;  /* last rate-limited re-ACK (ms clock); 0 = never */
	tl_usec_t created;
};

struct tcp_host {
	struct stack *st;
	struct tcp_sysctl *sysctl;
	struct stack_counters *mib;
	uint32_t addr;
	uint16_t mtu;
	uint16_t host_id;
	struct tcp_ehash ehash;
	struct tcp_conn **listeners;   /* indexed by port: 65536 entries */
	struct timer_wheel wheel;
	struct tcp_syncookie_keys cookie_keys;
	uint8_t isn_key[16];
	uint64_t next_id;
	uint32_t tw_count;
	/* ISS for the request a SYN on a TIME_WAIT tuple creates (Linux
	 * tcp_tw_isn); 0 = none. Set and consumed within one tcp_input. */
	uint32_t tw_isn;
	uint16_t next_port;
	/* Deferred notifications and frees (see tcp_dispatch). */
	struct tcp_conn *notify_head;
	struct tcp_conn *reap_head;
	int depth;                     /* nesting of engine entry points */
	tl_usec_t now;                 /* time of the current entry point */
	/* Every tcp_conn, for tcp_host_free and the procfs views. */
	struct tcp_conn *all_head;
	uint32_t conn_count;
};

/* ---- tcp_conn.c: lifetime, hashing, state changes, events ---- */
void tcp_hash_insert(struct tcp_host *th, struct tcp_hnode *n);
void tcp_hash_remove(struct tcp_host *th, struct tcp_hnode *n);
struct tcp_hnode *tcp_hash_lookup(struct tcp_host *th, uint32_t laddr, uint16_t lport,
				  uint32_t raddr, uint16_t rport);
struct tcp_conn *tcp_conn_alloc(struct tcp_host *th, tl_usec_t now);
/* Moves c to `to`, checking the transition table, updating Tcp: counters
 * and emitting the event. */
void tcp_set_state(struct tcp_conn *c, int to, struct tcp_cause cause, tl_usec_t now);
/* Emits a state event for an object that is not a tcp_conn. */
void tcp_emit_state(struct tcp_host *th, uint64_t id, const struct tcp_hnode *h,
		    int from, int to, struct tcp_cause cause, uint16_t flags, tl_usec_t now);
void tcp_emit_retrans(struct tcp_host *th, enum tl_event_kind kind, uint64_t id,
		      const struct tcp_hnode *h, uint32_t count, const char *what,
		      tl_usec_t now);
/* Ends a connection: CLOSE, unhash, stop timers, tell the app (err) and
 * free it if the app has released it. */
void tcp_conn_done(struct tcp_conn *c, int err, struct tcp_cause cause, tl_usec_t now);
void tcp_notify(struct tcp_conn *c, uint8_t what);
/* The application gave the handle up (tcp_close): free c once CLOSE. */
void tcp_conn_release(struct tcp_conn *c);
/* Runs deferred callbacks and frees; called when the outermost entry point
 * returns. */
void tcp_enter(struct tcp_host *th, tl_usec_t now);
void tcp_leave(struct tcp_host *th);
uint32_t tcp_new_isn(struct tcp_host *th, uint32_t laddr, uint16_t lport,
		     uint32_t raddr, uint16_t rport, tl_usec_t now);
uint8_t tcp_rcv_wscale(const struct tcp_host *th);
uint16_t tcp_local_mss(const struct tcp_host *th);
void tcp_init_from_syn_options(struct tcp_conn *c, const struct tcp_opts *o);

/* ---- tcp_output.c ---- */
/* Sends whatever the windows allow (new data, FIN). */
void tcp_output(struct tcp_conn *c, tl_usec_t now);
void tcp_send_ack(struct tcp_conn *c, tl_usec_t now);
/* Payload bytes a full segment may carry now: MSS minus our options. */
uint32_t tcp_mss_now(struct tcp_conn *c, tl_usec_t now);
void tcp_send_syn(struct tcp_conn *c, bool with_ack, tl_usec_t now);
/* Sends one segment of up to `len` bytes of queued data at `seq`. */
void tcp_xmit(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t flags,
	      tl_usec_t now);
/* RST from a connection (abort). */
void tcp_send_rst_conn(struct tcp_conn *c, tl_usec_t now);
/* RST answering a segment no connection accepts (RFC 9293 §3.10.7.1). */
void tcp_send_rst_reply(struct tcp_host *th, const struct tcp_seg *seg, tl_usec_t now);
/* A bare segment not tied to a tcp_conn (requests, TIME_WAIT, cookies). */
void tcp_send_raw(struct tcp_host *th, uint32_t saddr, uint16_t sport, uint32_t daddr,
		  uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
		  uint16_t wnd, const struct tcp_opts *opt, tl_usec_t now);
uint16_t tcp_raw_window(struct tcp_conn *c);
uint32_t tcp_ts_now(const struct tcp_host *th, tl_usec_t now);
/* Linux secure_tcp_ts_off(): with tcp_timestamps=1 each address pair gets
 * its own random offset added to TSval (so peers learn nothing about our
 * clock); 0 with tcp_timestamps=2. */
uint32_t tcp_ts_offset(const struct tcp_host *th, uint32_t laddr, uint32_t raddr);
void tcp_schedule_ack(struct tcp_conn *c, tl_usec_t now);
/* Linux tcp_invalid_ratelimit: one out-of-window/challenge ACK per 500 ms. */
bool tcp_oow_ack_allowed(struct tcp_conn *c, tl_usec_t now);

/* ---- tcp_timer.c ---- */
void tcp_timer_arm(struct tcp_host *th, struct tcp_timer *t, tl_usec_t when);
void tcp_timer_stop(struct tcp_timer *t);
void tcp_arm_rtx(struct tcp_conn *c, tl_usec_t now);

/* ---- tcp_ecn.c: RFC 3168 ---- */
#define TCP_ECN_OK 1         /* negotiated */
#define TCP_ECN_QUEUE_CWR 2  /* put CWR on the next new data segment */
#define TCP_ECN_DEMAND_CWR 4 /* put ECE on every segment until CWR comes */
/* A SYN asking for ECN that this host accepts. */
bool tcp_ecn_syn_asks(const struct tcp_host *th, const struct tcp_seg *syn);
/* Flags for our SYN (the first, or a retransmission); sets up c->ecn_flags. */
uint8_t tcp_ecn_syn_flags(struct tcp_conn *c, bool retransmit);
/* The peer's SYN-ACK (or SYN, in a simultaneous open) agrees or not. */
void tcp_ecn_syn_in(struct tcp_conn *c, const struct tcp_seg *seg);
/* A data segment: CWR ends our echoing, CE starts it. */
void tcp_ecn_data_in(struct tcp_conn *c, const struct tcp_seg *seg);
/* An acceptable ACK that acknowledged acked_segs new segments: ECE cuts
 * the window once per window. */
void tcp_ecn_ack_in(struct tcp_conn *c, const struct tcp_seg *seg, uint32_t acked_segs,
		    tl_usec_t now);
/* A segment about to leave: adds ECE/CWR to *flags, returns the IP ECN
 * field (ECT(0) for new data). */
uint8_t tcp_ecn_out(struct tcp_conn *c, uint32_t seq, uint32_t len, uint8_t *flags);

/* ---- tcp_pmtu.c ---- */
/* Linux tcp_mtu_probing(): retransmissions have run past tcp_retries1, so
 * a path MTU black hole (ICMP filtered) is suspected: with
 * tcp_mtu_probing, send smaller segments. */
void tcp_mtu_black_hole(struct tcp_conn *c);
/* An orphaned FIN_WAIT2 ends silently after Linux's tcp_fin_time(). */
void tcp_arm_fin_wait2_timer(struct tcp_conn *c, tl_usec_t now);
void tcp_conn_stop_timers(struct tcp_conn *c);
void tcp_timers_run(struct tcp_host *th, tl_usec_t now);
uint32_t tcp_rto_min_us(const struct tcp_host *th);
uint32_t tcp_rto_max_us(const struct tcp_host *th);

/* ---- tcp_listen.c ---- */
void tcp_listen_input(struct tcp_conn *l, const struct tcp_seg *seg, tl_usec_t now);
void tcp_req_input(struct tcp_req *r, const struct tcp_seg *seg, tl_usec_t now);
void tcp_req_timer(struct tcp_req *r, tl_usec_t now);
void tcp_req_free(struct tcp_host *th, struct tcp_req *r);
void tcp_listener_close(struct tcp_conn *l, tl_usec_t now);

/* ---- tcp_input.c ---- */
void tcp_conn_input(struct tcp_conn *c, const struct tcp_seg *seg, tl_usec_t now);

/* ---- tcp_timewait.c ---- */
/* Moves c into TIME_WAIT: a compact record replaces it in the table. */
void tcp_enter_time_wait(struct tcp_conn *c, struct tcp_cause cause, tl_usec_t now);
/* Returns true if the segment was consumed; false means "treat it as a
 * new SYN on the listener" (the entry is gone then, and th->tw_isn holds
 * the ISS the new request must use). */
bool tcp_tw_input(struct tcp_host *th, struct tcp_tw *tw, const struct tcp_seg *seg,
		  tl_usec_t now);
void tcp_tw_timer(struct tcp_host *th, struct tcp_tw *tw, tl_usec_t now);
void tcp_tw_free(struct tcp_host *th, struct tcp_tw *tw);
/* tcp_tw_reuse for an active open: may the tuple held by tw be taken? */
bool tcp_tw_reusable(struct tcp_host *th, struct tcp_tw *tw, tl_usec_t now);

#endif
