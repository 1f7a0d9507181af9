/* The TCP tunables of one stack host: the values the engine reads. Field
 * names are Linux's sysctl names; defaults and ranges live in the tunables
 * table (tcp_tunables.c), which is the only writer. Loop thread only. */
#ifndef TL_NETEMU_TCP_SYSCTL_H
#define TL_NETEMU_TCP_SYSCTL_H

#include <stdint.h>

#define TCP_CA_NAME_MAX 16

struct tcp_sysctl {
	/* net.ipv4: handshake, queues, SYN cookies */
	int tcp_synack_retries;      /* u8 */
	int tcp_syn_retries;         /* u8, 1..127 */
	int tcp_syn_linear_timeouts; /* u8, 0..127 */
	int tcp_syncookies;          /* u8: 0 off, 1 on overflow, 2 always */
	int tcp_max_syn_backlog;     /* int */
	int tcp_abort_on_overflow;   /* u8 */
	/* net.ipv4: closing, TIME_WAIT, retransmission limits */
	int tcp_fin_timeout;         /* seconds */
	int tcp_tw_reuse;            /* u8, 0..2 */
	int tcp_tw_reuse_delay;      /* ms, 1..60000 */
	int tcp_max_tw_buckets;      /* int */
	int tcp_retries1;            /* u8 */
	int tcp_retries2;            /* u8 */
	int tcp_orphan_retries;      /* u8 */
	int tcp_rfc1337;             /* u8 */
	int tcp_keepalive_time;      /* seconds */
	int tcp_keepalive_intvl;     /* seconds */
	int tcp_keepalive_probes;    /* u8 */
	int tcp_rto_min_us;          /* >= 1 */
	int tcp_rto_max_ms;          /* 1000..120000 */
	/* net.ipv4: options, buffers, congestion control, ports */
	int tcp_window_scaling;      /* u8 */
	int tcp_timestamps;          /* u8: 0 off, 1 with offset, 2 without */
	int tcp_sack;                /* u8 */
	int tcp_dsack;               /* u8 */
	int tcp_ecn;                 /* u8, 0..2 */
	int tcp_ecn_fallback;        /* u8, 0..1 */
	char tcp_congestion_control[TCP_CA_NAME_MAX]; /* "reno" or "cubic" */
	int tcp_rmem[3];             /* bytes, each >= 1 */
	int tcp_wmem[3];             /* bytes, each >= 1 */
	int tcp_mtu_probing;         /* u8 */
	int tcp_base_mss;            /* int: MSS black-hole detection starts from */
	int tcp_mtu_probe_floor;     /* 48..65535 */
	int tcp_min_snd_mss;         /* 48..65535 */
	int ip_local_port_range[2];  /* 1024..65535, low <= high */
	/* net.core */
	int somaxconn;               /* 0..INT_MAX */
	/* tcplab-only knobs (not Linux names; kept under sys/net/tcplab/) */
	int msl_ms;                  /* TIME_WAIT lasts 2 * msl_ms; default 30000 */
};

#endif
