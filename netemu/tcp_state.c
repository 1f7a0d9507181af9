/* TCP state names and the table of legal state transitions (RFC 9293
 * §3.3.2 plus Linux's additions, reference §8). tcp_set_state() in the
 * state machine consults tcp_state_transition_ok() before every change.
 * Pure data; any thread. */
#include "tcp_state.h"

#include <stddef.h>
#include <strings.h>

#include "tl_types.h"

/* Indexed by Linux's state numbers; slot 0 is unused. */
static const char *const state_names[TCP_STATE_MAX + 1] = {
	[TCP_ESTABLISHED] = "ESTABLISHED",
	[TCP_SYN_SENT] = "SYN_SENT",
	[TCP_SYN_RECV] = "SYN_RECV",
	[TCP_FIN_WAIT1] = "FIN_WAIT1",
	[TCP_FIN_WAIT2] = "FIN_WAIT2",
	[TCP_TIME_WAIT] = "TIME_WAIT",
	[TCP_CLOSE] = "CLOSE",
	[TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[TCP_LAST_ACK] = "LAST_ACK",
	[TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",
};

/* ss(8) spelling (iproute2 misc/ss.c); CLOSE shows as UNCONN there. */
static const char *const ss_names[TCP_STATE_MAX + 1] = {
	[TCP_ESTABLISHED] = "ESTAB",
	[TCP_SYN_SENT] = "SYN-SENT",
	[TCP_SYN_RECV] = "SYN-RECV",
	[TCP_FIN_WAIT1] = "FIN-WAIT-1",
	[TCP_FIN_WAIT2] = "FIN-WAIT-2",
	[TCP_TIME_WAIT] = "TIME-WAIT",
	[TCP_CLOSE] = "UNCONN",
	[TCP_CLOSE_WAIT] = "CLOSE-WAIT",
	[TCP_LAST_ACK] = "LAST-ACK",
	[TCP_LISTEN] = "LISTEN",
	[TCP_CLOSING] = "CLOSING",
};

/* Further spellings accepted by tcp_state_from_name: RFC 9293's names and
 * the obvious variants people type. */
static const struct {
	const char *name;
	int state;
} state_aliases[] = {
	{ "SYN-RECEIVED", TCP_SYN_RECV },
	{ "SYN_RECEIVED", TCP_SYN_RECV },
	{ "CLOSED", TCP_CLOSE },
	{ "FIN_WAIT_1", TCP_FIN_WAIT1 },
	{ "FIN_WAIT_2", TCP_FIN_WAIT2 },
	{ "FIN-WAIT1", TCP_FIN_WAIT1 },
	{ "FIN-WAIT2", TCP_FIN_WAIT2 },
};

static bool state_valid(int state)
{
	return state >= TCP_ESTABLISHED && state <= TCP_STATE_MAX;
}

const char *tcp_state_name(int state)
{
	return state_valid(state) ? state_names[state] : "?";
}

const char *tcp_state_ss_name(int state)
{
	return state_valid(state) ? ss_names[state] : "?";
}

int tcp_state_from_name(const char *name)
{
	if (name == NULL)
		return 0;
	for (int s = TCP_ESTABLISHED; s <= TCP_STATE_MAX; s++) {
		if (strcasecmp(name, state_names[s]) == 0 ||
		    strcasecmp(name, ss_names[s]) == 0)
			return s;
	}
	for (size_t i = 0; i < TL_ARRAY_SIZE(state_aliases); i++) {
		if (strcasecmp(name, state_aliases[i].name) == 0)
			return state_aliases[i].state;
	}
	return 0;
}

/* legal[from][to]: the transitions tcp_set_state() may perform. A state
 * never "transitions" to itself (that is no change and emits nothing). */
#define T true
static const bool legal[TCP_STATE_MAX + 1][TCP_STATE_MAX + 1] = {
	[TCP_CLOSE] = {
		[TCP_LISTEN] = T,      /* passive open */
		[TCP_SYN_SENT] = T,    /* active open */
	},
	[TCP_LISTEN] = {
		[TCP_SYN_RECV] = T,    /* SYN: a request is created */
		[TCP_CLOSE] = T,       /* close() */
		[TCP_SYN_SENT] = T,    /* RFC 9293 §3.10.2: SEND on a listener */
	},
	[TCP_SYN_SENT] = {
		[TCP_ESTABLISHED] = T, /* SYN-ACK acking our SYN */
		[TCP_SYN_RECV] = T,    /* simultaneous open: bare SYN */
		[TCP_CLOSE] = T,       /* RST, timeout, close() */
	},
	[TCP_SYN_RECV] = {
		[TCP_ESTABLISHED] = T, /* ACK of our SYN */
		[TCP_FIN_WAIT1] = T,   /* close() */
		[TCP_CLOSE] = T,       /* RST on an active (simultaneous) open */
		[TCP_LISTEN] = T,      /* RST on a passive open: back to listening */
		[TCP_CLOSE_WAIT] = T,  /* FIN riding on the final ACK */
	},
	[TCP_ESTABLISHED] = {
		[TCP_FIN_WAIT1] = T,   /* close() */
		[TCP_CLOSE_WAIT] = T,  /* FIN received */
		[TCP_CLOSE] = T,       /* RST or abort */
	},
	[TCP_FIN_WAIT1] = {
		[TCP_FIN_WAIT2] = T,   /* our FIN acked */
		[TCP_CLOSING] = T,     /* simultaneous close */
		[TCP_TIME_WAIT] = T,   /* FIN together with the ACK of ours */
		[TCP_CLOSE] = T,       /* RST, orphan retries exhausted */
	},
	[TCP_FIN_WAIT2] = {
		[TCP_TIME_WAIT] = T,   /* FIN received */
		[TCP_CLOSE] = T,       /* RST, orphan FIN_WAIT2 timeout */
	},
	[TCP_CLOSING] = {
		[TCP_TIME_WAIT] = T,   /* our FIN acked */
		[TCP_CLOSE] = T,       /* RST, timeout */
	},
	[TCP_CLOSE_WAIT] = {
		[TCP_LAST_ACK] = T,    /* close() */
		[TCP_CLOSE] = T,       /* RST, abort */
	},
	[TCP_LAST_ACK] = {
		[TCP_CLOSE] = T,       /* our FIN acked, RST, timeout */
	},
	[TCP_TIME_WAIT] = {
		[TCP_CLOSE] = T,       /* 2MSL expiry, RST (rfc1337=0) */
		/* Linux: a new SYN on a TIME_WAIT tuple with a higher sequence
		 * or newer timestamp becomes a fresh request. */
		[TCP_SYN_RECV] = T,
	},
};
#undef T

bool tcp_state_transition_ok(int from, int to)
{
	if (!state_valid(from) || !state_valid(to))
		return false;
	return legal[from][to];
}
