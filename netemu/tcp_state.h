/* TCP states with Linux's numbers (include/net/tcp_states.h), because
 * /proc/net/tcp prints them, and their names. */
#ifndef TL_NETEMU_TCP_STATE_H
#define TL_NETEMU_TCP_STATE_H

#include <stdbool.h>

enum tcp_state {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_LISTEN = 10,
	TCP_CLOSING = 11,
};

#define TCP_STATE_MAX TCP_CLOSING

/* "ESTABLISHED", "SYN_RECV", ... (Linux/netstat spelling); "?" if invalid. */
const char *tcp_state_name(int state);
/* "ESTAB", "SYN-RECV", ... (ss spelling). */
const char *tcp_state_ss_name(int state);
/* Parses either spelling, case-insensitively; returns 0 if unknown. */
int tcp_state_from_name(const char *name);
/* Whether RFC 9293 (with Linux's additions) allows from -> to. */
bool tcp_state_transition_ok(int from, int to);

#endif
