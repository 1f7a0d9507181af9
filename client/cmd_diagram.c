/* tcplab diagram CONN: the ladder (sequence) diagram of a recorded
 * connection, in the terminal (Unicode box drawing) or as SVG (-o F.svg).
 *
 * What it draws, honestly: the history (docs/history.md) holds the stack
 * host's state changes, each with its cause — for a received segment its
 * flags, seq, ack, length and window — plus SYN-ACK and timer
 * retransmissions. So the segments the stack RECEIVED that changed its
 * state are recorded, with the stack's states. Everything else is
 * inferred from the TCP rules and drawn dashed: the stack's replies (the
 * SYN-ACK after a SYN, the ACK after a FIN, the FIN of a close, with seq
 * and ack derived from the recorded numbers), data segments (from gaps in
 * the sequence numbers) and the peer's states (a kernel host reports none).
 * Segments that changed no state and carried nothing new (pure ACKs of
 * data, window updates) are not in the history and not drawn. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client.h"
#include "commands.h"
#include "history_schema.h"
#include "tcp_state.h"
#include "tcp_wire.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab diagram [OPTION]... CONN\n"
		"       tcplab diagram [OPTION]... --last [--port P]\n"
		"Draw the ladder diagram of a recorded connection: the peer (a Linux kernel host)\n"
		"on the left, the stack host on the right, each segment with its flags, seq and\n"
		"ack, each side's state at each step, retransmissions marked. CONN is the id\n"
		"`tcplab history` prints (\"conn 23\"); --conn-id N picks by the stack's\n"
		"connection id instead (the Conn column of `tcplab ss`), in the latest run.\n"
		"\n"
		"  -o, --output FILE  write SVG to FILE (FILE.svg) instead of the terminal\n"
		"      --svg          write SVG to standard output\n"
		"      --last         the newest recorded connection (with --port P: on port P)\n"
		"      --conn-id N    by the stack's connection id (--host H, --run R)\n"
		"  -p, --port P       with --last: local or remote port P\n"
		"      --pcap FILE    draw every segment from a capture of the link (tcplab\n"
		"                     capture), with the states from the history\n"
		"      --absolute     raw sequence numbers (default: relative to each ISN)\n"
		"      --db FILE      history database (default: the running daemon's)\n"
		"      --json         the rows as JSON\n"
		"      --color WHEN   colour states in the terminal: auto, always, never\n"
		"  -h, --help         show this help\n"
		"\n"
		"Solid arrows are recorded segments (what the stack received, with the state\n"
		"change it caused); dashed ones are inferred from the TCP rules; peer states\n"
		"(marked ~) are inferred from the segments. See docs/control.md, \"Diagrams\".\n");
}

enum dg_dir { DG_NOTE, DG_P2S, DG_S2P };
enum dg_fill { FILL_NONE, FILL_ISS, FILL_FIN };

/* One row of the ladder: a segment (dir P2S or S2P) or a note (a state
 * change without a segment). Invariant: has_seq/has_ack say whether
 * seq/ack are known; t_us < 0 means "time unknown" (inferred data). */
struct dg_row {
	enum dg_dir dir;
	uint8_t flags;
	bool has_seq, has_ack;
	uint32_t seq, ack, len;
	bool inferred;
	unsigned retrans;
	enum dg_fill fill;
	int64_t t_us;
	char stack_state[16];
	char peer_state[16];
	char note[96];
};

struct dg {
	int64_t conn, run, conn_id;
	const char *pcap;  /* a capture of the link: draw every segment from it */
	size_t from_pcap;  /* segments taken from the capture */
	char host[64], role[16], local[32], remote[32];
	char stack_init[16], peer_init[16];
	bool from_cookie, absolute;
	struct dg_row *rows;
	size_t n, cap;
	bool have_iss, have_irs;
	uint32_t iss, irs;
};

static struct dg_row *add_row(struct dg *g, enum dg_dir dir)
{
	if (g->n == g->cap) {
		size_t ncap = g->cap ? g->cap * 2 : 32;
		struct dg_row *r = realloc(g->rows, ncap * sizeof(*r));
		if (!r)
			return NULL;
		g->rows = r;
		g->cap = ncap;
	}
	struct dg_row *r = &g->rows[g->n++];
	memset(r, 0, sizeof(*r));
	r->dir = dir;
	r->t_us = -1;
	return r;
}

/* "SYN", "SYN,ACK", "FIN,ACK", "RST", "PSH,ACK". */
static void flag_names(uint8_t f, char *buf, size_t cap)
{
	static const struct {
		uint8_t bit;
		const char *name;
	} names[] = { { TH_SYN, "SYN" }, { TH_FIN, "FIN" }, { TH_RST, "RST" }, { TH_PSH, "PSH" },
		      { TH_ACK, "ACK" }, { TH_URG, "URG" }, { TH_ECE, "ECE" }, { TH_CWR, "CWR" } };
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((f & names[i].bit) && n < cap)
			n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "," : "", names[i].name);
	if (!n)
		snprintf(buf, cap, "none");
}

/* Sequence space a segment occupies: data plus SYN and FIN. */
static uint32_t seg_space(const struct dg_row *r)
{
	return r->len + ((r->flags & TH_SYN) ? 1 : 0) + ((r->flags & TH_FIN) ? 1 : 0);
}

static const char *col(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t ? (const char *)t : "";
}

/* The stack's reply to a received segment that moved it from -> to,
 * as the TCP rules make it (RFC 9293 §3.10.7). */
static void infer_reply(struct dg *g, size_t seg_idx, int from, int to)
{
	const struct dg_row *seg = &g->rows[seg_idx];
	uint8_t flags = 0;
	enum dg_fill fill = FILL_NONE;
	if (seg->flags & TH_RST)
		return;
	if (from == TCP_LISTEN && to == TCP_SYN_RECV) {
		flags = TH_SYN | TH_ACK;
		fill = FILL_ISS;
	} else if (from == TCP_SYN_SENT && to == TCP_SYN_RECV) {
		flags = TH_SYN | TH_ACK; /* simultaneous open */
		fill = FILL_ISS;
	} else if ((from == TCP_SYN_SENT && to == TCP_ESTABLISHED) || to == TCP_CLOSE_WAIT ||
		   (to == TCP_TIME_WAIT && (seg->flags & TH_FIN)) || to == TCP_CLOSING) {
		flags = TH_ACK;
	} else {
		return;
	}
	struct dg_row *r = add_row(g, DG_S2P);
	if (!r)
		return;
	seg = &g->rows[seg_idx]; /* add_row may have moved the array */
	r->flags = flags;
	r->inferred = true;
	r->fill = fill;
	r->t_us = seg->t_us;
	r->has_ack = true;
	r->ack = seg->seq + seg_space(seg);
	if (fill == FILL_NONE && (seg->flags & TH_ACK)) {
		r->has_seq = true;
		r->seq = seg->ack;
	}
}

/* Pass 1: rows from the transitions, in order. */
static int load_rows(sqlite3 *db, struct dg *g)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT t.time_us - c.opened_us, t.kind, t.from_state, t.to_state,"
			       " t.cause_kind, t.cause, t.count, t.seg_flags, t.seg_seq, t.seg_ack,"
			       " t.seg_len FROM transitions t JOIN connections c ON c.id = t.conn"
			       " WHERE t.conn = ?1 ORDER BY t.time_us, t.id",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, g->conn);
	int rc;
	bool first = true;
	struct dg_row last_syn_ack = { 0 };
	bool have_synack = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(st, 0);
		const char *kind = col(st, 1), *cause_kind = col(st, 4), *cause = col(st, 5);
		int from = tcp_state_from_name(col(st, 2)), to = tcp_state_from_name(col(st, 3));
		if (first) {
			cpy(g->stack_init, sizeof(g->stack_init), col(st, 2));
			first = false;
		}
		if (strcmp(kind, "synack-retrans") == 0 || strcmp(kind, "retrans") == 0) {
			struct dg_row *r = add_row(g, DG_S2P);
			if (!r)
				break;
			r->t_us = t;
			r->inferred = false; /* the retransmission itself is recorded */
			r->retrans = (unsigned)sqlite3_column_int(st, 6);
			if (strcmp(kind, "synack-retrans") == 0) {
				if (have_synack) {
					r->flags = last_syn_ack.flags;
					r->has_seq = last_syn_ack.has_seq;
					r->seq = last_syn_ack.seq;
					r->fill = last_syn_ack.fill;
					r->has_ack = last_syn_ack.has_ack;
					r->ack = last_syn_ack.ack;
				} else {
					r->flags = TH_SYN | TH_ACK;
					r->fill = FILL_ISS;
				}
			} else if (from == TCP_SYN_SENT) {
				r->flags = TH_SYN;
				r->fill = FILL_ISS;
			} else if (from == TCP_FIN_WAIT1 || from == TCP_LAST_ACK || from == TCP_CLOSING) {
				r->flags = TH_FIN | TH_ACK;
				r->fill = FILL_FIN;
			} else {
				r->flags = TH_ACK;
				snprintf(r->note, sizeof(r->note), "data");
			}
			snprintf(r->note + strlen(r->note), sizeof(r->note) - strlen(r->note),
				 "%sretransmission #%u (%s)", r->note[0] ? " " : "", r->retrans,
				 strcmp(kind, "synack-retrans") == 0 ? "SYN-ACK timer" : cause);
			continue;
		}
		if (strcmp(cause_kind, "segment") == 0 && sqlite3_column_type(st, 7) != SQLITE_NULL) {
			uint8_t flags = (uint8_t)sqlite3_column_int(st, 7);
			uint32_t seq = (uint32_t)sqlite3_column_int64(st, 8);
			uint32_t ack = (uint32_t)sqlite3_column_int64(st, 9);
			uint32_t len = (uint32_t)sqlite3_column_int64(st, 10);
			/* One segment may cause two transitions (a FIN that also
			 * acks our FIN: FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT). */
			struct dg_row *prev = NULL;
			for (size_t i = g->n; i-- > 0;) {
				if (g->rows[i].dir == DG_P2S) {
					prev = &g->rows[i];
					break;
				}
				if (!g->rows[i].inferred)
					break;
			}
			struct dg_row *r;
			if (prev && prev->t_us == t && prev->flags == flags && prev->seq == seq &&
			    prev->ack == ack && prev->len == len) {
				r = prev;
			} else {
				if (!(r = add_row(g, DG_P2S)))
					break;
				r->flags = flags;
				r->has_seq = true;
				r->seq = seq;
				r->has_ack = (flags & TH_ACK) != 0;
				r->ack = ack;
				r->len = len;
				r->t_us = t;
				if (strcmp(cause, "cookie-ACK") == 0)
					snprintf(r->note, sizeof(r->note), "validates a SYN cookie");
			}
			if (r->stack_state[0] && !r->note[0])
				snprintf(r->note, sizeof(r->note), "via %s", r->stack_state);
			cpy(r->stack_state, sizeof(r->stack_state), tcp_state_name(to));
			size_t idx = (size_t)(r - g->rows);
			if (idx == g->n - 1) {
				infer_reply(g, idx, from, to);
				if (g->n && g->rows[g->n - 1].fill == FILL_ISS &&
				    (g->rows[g->n - 1].flags & TH_SYN)) {
					last_syn_ack = g->rows[g->n - 1];
					have_synack = true;
				}
			} else if (to == TCP_TIME_WAIT && (flags & TH_FIN)) {
				infer_reply(g, idx, from, to); /* the second transition of one segment */
			}
			continue;
		}
		if (strcmp(cause_kind, "app") == 0) {
			if (strcmp(cause, "connect") == 0) {
				struct dg_row *r = add_row(g, DG_S2P);
				if (!r)
					break;
				r->flags = TH_SYN;
				r->fill = FILL_ISS;
				r->inferred = true;
				r->t_us = t;
				cpy(r->stack_state, sizeof(r->stack_state), tcp_state_name(to));
				snprintf(r->note, sizeof(r->note), "connect()");
				continue;
			}
			if (to == TCP_FIN_WAIT1 || to == TCP_LAST_ACK) {
				struct dg_row *r = add_row(g, DG_S2P);
				if (!r)
					break;
				r->flags = TH_FIN | TH_ACK;
				r->fill = FILL_FIN;
				r->inferred = true;
				r->t_us = t;
				cpy(r->stack_state, sizeof(r->stack_state), tcp_state_name(to));
				snprintf(r->note, sizeof(r->note), "%s()", cause);
				continue;
			}
			if (to == TCP_CLOSE && (strcmp(cause, "abort") == 0 ||
						strcmp(cause, "close-unread") == 0) &&
			    from != TCP_SYN_SENT) {
				struct dg_row *r = add_row(g, DG_S2P);
				if (!r)
					break;
				r->flags = TH_RST | TH_ACK;
				r->fill = FILL_FIN; /* at our next sequence number */
				r->inferred = true;
				r->t_us = t;
				cpy(r->stack_state, sizeof(r->stack_state), tcp_state_name(to));
				snprintf(r->note, sizeof(r->note), "%s", strcmp(cause, "abort") == 0
										 ? "abort (SO_LINGER 0)"
										 : "close() with unread data");
				continue;
			}
		}
		/* A state change without a segment: a timer, listen(), ... */
		struct dg_row *r = add_row(g, DG_NOTE);
		if (!r)
			break;
		r->t_us = t;
		cpy(r->stack_state, sizeof(r->stack_state), tcp_state_name(to));
		const char *why = cause;
		if (strcmp(cause, "timewait") == 0)
			why = "2 MSL timer expired";
		else if (strcmp(cause, "synack_retries") == 0)
			why = "tcp_synack_retries exhausted: request dropped";
		else if (strcmp(cause, "syn_retries") == 0)
			why = "tcp_syn_retries exhausted: connect() fails";
		else if (strcmp(cause, "fin_timeout") == 0)
			why = "tcp_fin_timeout expired";
		snprintf(r->note, sizeof(r->note), "%s%s%s", strcmp(cause_kind, "timer") == 0 ? "timer: " : "",
			 why, strcmp(cause_kind, "app") == 0 ? "()" : "");
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* Pass 2: ISNs, the stack's own sequence numbers, data gaps. */
static void fill_numbers(struct dg *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		if (r->dir != DG_P2S || r->inferred)
			continue;
		if (!g->have_irs) {
			g->irs = (r->flags & TH_SYN) ? r->seq : r->seq - 1;
			g->have_irs = true;
		}
		if (!g->have_iss && (r->flags & TH_ACK)) {
			g->iss = r->ack - 1;
			g->have_iss = true;
		}
	}
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		if (r->fill == FILL_ISS && g->have_iss) {
			r->has_seq = true;
			r->seq = g->iss;
		} else if (r->fill == FILL_FIN) {
			/* The peer's ACK of it: the next received segment whose ack
			 * moves past everything we had sent. */
			for (size_t k = i + 1; k < g->n; k++) {
				const struct dg_row *a = &g->rows[k];
				if (a->dir == DG_P2S && !a->inferred && (a->flags & TH_ACK) &&
				    a->stack_state[0] && (r->flags & TH_FIN)) {
					r->has_seq = true;
					r->seq = a->ack - 1;
					break;
				}
			}
		}
		if (r->dir == DG_S2P && !r->has_ack && (r->flags & TH_ACK)) {
			/* It acks what the peer had sent so far. */
			for (size_t k = i; k-- > 0;) {
				const struct dg_row *p = &g->rows[k];
				if (p->dir == DG_P2S && p->has_seq) {
					r->has_ack = true;
					r->ack = p->seq + seg_space(p);
					break;
				}
			}
		}
	}
	/* A FIN without its ACK seen: it follows our last known number. */
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		if (r->fill != FILL_FIN || r->has_seq)
			continue;
		for (size_t k = i; k-- > 0;) {
			const struct dg_row *p = &g->rows[k];
			if (p->dir == DG_P2S && (p->flags & TH_ACK)) {
				r->has_seq = true;
				r->seq = p->ack;
				break;
			}
		}
	}
}

/* Pass 3: data segments the history does not hold, from sequence gaps
 * (each side's next expected number vs the number it then used). */
static void add_data_gaps(struct dg *g)
{
	struct dg_row *out = calloc(g->n * 3 + 1, sizeof(*out));
	if (!out)
		return;
	size_t n = 0;
	bool pn_known = false, sn_known = g->have_iss;
	uint32_t peer_next = 0, stack_next = g->iss + 1;
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		if (r->dir == DG_P2S && r->has_seq && !r->retrans) {
			if (pn_known && (int32_t)(r->seq - peer_next) > 0 && !(r->flags & TH_SYN)) {
				struct dg_row *d = &out[n++];
				memset(d, 0, sizeof(*d));
				d->dir = DG_P2S;
				d->flags = TH_PSH | TH_ACK;
				d->has_seq = true;
				d->seq = peer_next;
				d->len = r->seq - peer_next;
				d->inferred = true;
				d->t_us = -1;
				snprintf(d->note, sizeof(d->note), "data");
			}
			uint32_t next = r->seq + seg_space(r);
			if (!pn_known || (int32_t)(next - peer_next) > 0)
				peer_next = next;
			pn_known = true;
		}
		if (r->dir == DG_S2P && r->has_seq && !r->retrans && !(r->flags & TH_SYN)) {
			if (sn_known && (int32_t)(r->seq - stack_next) > 0) {
				struct dg_row *d = &out[n++];
				memset(d, 0, sizeof(*d));
				d->dir = DG_S2P;
				d->flags = TH_PSH | TH_ACK;
				d->has_seq = true;
				d->seq = stack_next;
				d->len = r->seq - stack_next;
				d->inferred = true;
				d->t_us = -1;
				snprintf(d->note, sizeof(d->note), "data");
			}
			uint32_t next = r->seq + seg_space(r);
			if ((int32_t)(next - stack_next) > 0)
				stack_next = next;
		}
		out[n++] = *r;
	}
	free(g->rows);
	g->rows = out;
	g->n = n;
	g->cap = g->n * 3 + 1;
}

/* Pass 4: the peer's states, simulated from the segments it sent and
 * received (RFC 9293's state machine; a Linux kernel does the same). */
static void infer_peer(struct dg *g)
{
	bool passive = strcmp(g->role, "passive") == 0;
	int ps = passive ? TCP_CLOSE : TCP_LISTEN;
	cpy(g->peer_init, sizeof(g->peer_init), tcp_state_name(ps));
	bool fin_sent = false;
	uint32_t fin_seq = 0;
	if (g->from_cookie) { /* the SYN and cookie SYN-ACK are not recorded */
		ps = TCP_ESTABLISHED;
		cpy(g->peer_init, sizeof(g->peer_init), "ESTABLISHED");
	}
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		int before = ps;
		if (r->dir == DG_P2S) { /* the peer sends */
			if (r->flags & TH_RST)
				ps = TCP_CLOSE;
			else if ((r->flags & TH_SYN) && !(r->flags & TH_ACK) && ps == TCP_CLOSE)
				ps = TCP_SYN_SENT;
			else if (r->flags & TH_FIN) {
				fin_sent = true;
				fin_seq = r->seq + r->len;
				if (ps == TCP_ESTABLISHED || ps == TCP_SYN_RECV)
					ps = TCP_FIN_WAIT1;
				else if (ps == TCP_CLOSE_WAIT)
					ps = TCP_LAST_ACK;
			}
		} else if (r->dir == DG_S2P) { /* the peer receives */
			bool acks_fin = fin_sent && (r->flags & TH_ACK) && r->has_ack &&
					(int32_t)(r->ack - fin_seq) > 0;
			if (r->flags & TH_RST)
				ps = TCP_CLOSE;
			else if ((r->flags & TH_SYN) && (r->flags & TH_ACK) && ps == TCP_SYN_SENT)
				ps = TCP_ESTABLISHED;
			else if ((r->flags & TH_SYN) && ps == TCP_LISTEN)
				ps = TCP_SYN_RECV;
			else if (r->flags & TH_FIN) {
				if (ps == TCP_ESTABLISHED)
					ps = TCP_CLOSE_WAIT;
				else if (ps == TCP_FIN_WAIT1)
					ps = acks_fin ? TCP_TIME_WAIT : TCP_CLOSING;
				else if (ps == TCP_FIN_WAIT2)
					ps = TCP_TIME_WAIT;
			} else if (r->flags & TH_ACK) {
				if (ps == TCP_SYN_RECV)
					ps = TCP_ESTABLISHED;
				else if (ps == TCP_FIN_WAIT1 && acks_fin)
					ps = TCP_FIN_WAIT2;
				else if (ps == TCP_CLOSING && acks_fin)
					ps = TCP_TIME_WAIT;
				else if (ps == TCP_LAST_ACK && acks_fin)
					ps = TCP_CLOSE;
			}
		}
		if (ps != before)
			cpy(r->peer_state, sizeof(r->peer_state), tcp_state_name(ps));
	}
}

/* Relative numbers: seq from the sender's ISN, ack from the receiver's. */
static uint32_t rel_seq(const struct dg *g, const struct dg_row *r)
{
	if (g->absolute)
		return r->seq;
	if (r->dir == DG_P2S)
		return g->have_irs ? r->seq - g->irs : r->seq;
	return g->have_iss ? r->seq - g->iss : r->seq;
}

static uint32_t rel_ack(const struct dg *g, const struct dg_row *r)
{
	if (g->absolute)
		return r->ack;
	if (r->dir == DG_P2S)
		return g->have_iss ? r->ack - g->iss : r->ack;
	return g->have_irs ? r->ack - g->irs : r->ack;
}

/* "SYN,ACK seq=0 ack=1" (+ len, retransmission). */
static void seg_label(const struct dg *g, const struct dg_row *r, char *buf, size_t cap)
{
	char f[48];
	flag_names(r->flags, f, sizeof(f));
	size_t n = (size_t)snprintf(buf, cap, "%s%s", r->retrans ? "\u21bb " : "", f);
	if (r->has_seq && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " seq=%" PRIu32, rel_seq(g, r));
	else if (n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " seq=?");
	if ((r->flags & TH_ACK) && r->has_ack && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " ack=%" PRIu32, rel_ack(g, r));
	if (r->len && n < cap)
		n += (size_t)snprintf(buf + n, cap - n, " len=%" PRIu32, r->len);
	if (r->retrans && n < cap)
		snprintf(buf + n, cap - n, " #%u", r->retrans);
}

/* ---- per-segment records from a capture ---- */

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
	return swap ? __builtin_bswap32(v) : v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The connection's identity and time frame in the capture's terms. */
struct pc_frame {
	uint32_t laddr, raddr; /* host order */
	uint16_t lport, rport;
	int64_t open_wall;     /* the connection's opening, wall clock us */
	int64_t lo, hi;        /* relative us window of its segments */
};

/* Reads the capture's TCP segments of the connection (either direction,
 * inside the window) as recorded rows. Returns how many, or -errno. */
static long load_pcap(struct dg *g, const struct pc_frame *f)
{
	FILE *in = fopen(g->pcap, "rb");
	if (!in)
		return -errno;
	uint8_t h[24];
	long n = 0;
	if (fread(h, 1, sizeof(h), in) != sizeof(h)) {
		fclose(in);
		return -EINVAL;
	}
	uint32_t magic = rd32(h, false);
	bool swap = magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1;
	bool nsec = magic == 0xa1b23c4d || magic == 0x4d3cb2a1;
	if (!swap && magic != 0xa1b2c3d4 && !nsec) {
		fclose(in);
		return -EINVAL;
	}
	if (rd32(h + 20, swap) != 1) { /* Ethernet only */
		fclose(in);
		return -EPROTONOSUPPORT;
	}
	uint8_t rec[16], frame[65536];
	while (fread(rec, 1, sizeof(rec), in) == sizeof(rec)) {
		uint32_t caplen = rd32(rec + 8, swap);
		if (caplen > sizeof(frame) || fread(frame, 1, caplen, in) != caplen)
			break;
		int64_t t = (int64_t)rd32(rec, swap) * 1000000 +
			    (int64_t)rd32(rec + 4, swap) / (nsec ? 1000 : 1) - f->open_wall;
		if (t < f->lo || t > f->hi)
			continue;
		/* Ethernet, IPv4, TCP: check every length before reading. */
		if (caplen < 14 + 20 || frame[12] != 0x08 || frame[13] != 0x00)
			continue;
		const uint8_t *ip = frame + 14;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4, tot = (size_t)ip[2] << 8 | ip[3];
		if ((ip[0] >> 4) != 4 || ip[9] != 6 || ihl < 20 || tot < ihl + 20 || 14 + tot > caplen)
			continue;
		const uint8_t *tcp = ip + ihl;
		size_t doff = (size_t)(tcp[12] >> 4) * 4;
		if (doff < 20 || ihl + doff > tot)
			continue;
		uint32_t src = be32(ip + 12), dst = be32(ip + 16);
		uint16_t sport = (uint16_t)(tcp[0] << 8 | tcp[1]), dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
		enum dg_dir dir;
		if (src == f->laddr && sport == f->lport && dst == f->raddr && dport == f->rport)
			dir = DG_S2P;
		else if (src == f->raddr && sport == f->rport && dst == f->laddr && dport == f->lport)
			dir = DG_P2S;
		else
			continue;
		struct dg_row *r = add_row(g, dir);
		if (!r)
			break;
		r->flags = tcp[13];
		r->has_seq = true;
		r->seq = be32(tcp + 4);
		r->has_ack = (r->flags & TH_ACK) != 0;
		r->ack = be32(tcp + 8);
		r->len = (uint32_t)(tot - ihl - doff);
		r->t_us = t;
		n++;
	}
	fclose(in);
	return n;
}

/* Marks retransmissions: a segment that occupies sequence space its side
 * already sent (counted per starting number, as ↻ #n). */
static void mark_retrans(struct dg *g)
{
	for (size_t i = 0; i < g->n; i++) {
		struct dg_row *r = &g->rows[i];
		if (r->dir == DG_NOTE || !seg_space(r))
			continue;
		unsigned k = 0;
		for (size_t j = 0; j < i; j++) {
			const struct dg_row *o = &g->rows[j];
			if (o->dir == r->dir && seg_space(o) && o->seq == r->seq && o->flags == r->flags)
				k++;
		}
		r->retrans = k;
	}
}

/* Puts the stack's recorded states on the captured rows: a transition
 * caused by a segment on that received segment, one caused by a call on
 * the segment the call sent, anything else as a note at its time. */
static int merge_transitions(sqlite3 *db, struct dg *g)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT t.time_us - c.opened_us, t.kind, t.from_state, t.to_state,"
			       " t.cause_kind, t.cause, t.seg_flags, t.seg_seq, t.seg_ack"
			       " FROM transitions t JOIN connections c ON c.id = t.conn"
			       " WHERE t.conn = ?1 AND t.kind = 'state' ORDER BY t.time_us, t.id",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, g->conn);
	struct dg_row *notes = NULL;
	size_t nnotes = 0;
	size_t last_seg = (size_t)-1;
	int rc;
	bool first = true;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t t = sqlite3_column_int64(st, 0);
		const char *cause_kind = col(st, 4), *cause = col(st, 5), *to = col(st, 3);
		if (first) {
			cpy(g->stack_init, sizeof(g->stack_init), col(st, 2));
			first = false;
		}
		size_t hit = (size_t)-1;
		if (strcmp(cause_kind, "segment") == 0 && sqlite3_column_type(st, 6) != SQLITE_NULL) {
			uint8_t flags = (uint8_t)sqlite3_column_int(st, 6);
			uint32_t seq = (uint32_t)sqlite3_column_int64(st, 7), ack = (uint32_t)sqlite3_column_int64(st, 8);
			for (size_t i = last_seg == (size_t)-1 ? 0 : last_seg; i < g->n && hit == (size_t)-1; i++) {
				const struct dg_row *r = &g->rows[i];
				if (r->dir == DG_P2S && r->flags == flags && r->seq == seq &&
				    (!(flags & TH_ACK) || r->ack == ack) && (!r->stack_state[0] || i == last_seg))
					hit = i;
			}
			if (hit != (size_t)-1)
				last_seg = hit;
		} else if (strcmp(cause_kind, "app") == 0) {
			uint8_t want = strcmp(cause, "connect") == 0 ? TH_SYN
				       : strcmp(cause, "abort") == 0 || strcmp(cause, "close-unread") == 0 ? TH_RST
				       : strcmp(cause, "close") == 0 || strcmp(cause, "shutdown") == 0 ? TH_FIN
																: 0;
			for (size_t i = 0; want && i < g->n && hit == (size_t)-1; i++) {
				const struct dg_row *r = &g->rows[i];
				if (r->dir == DG_S2P && (r->flags & want) && !r->stack_state[0] && r->t_us >= t - 1000)
					hit = i;
			}
			if (hit != (size_t)-1)
				snprintf(g->rows[hit].note, sizeof(g->rows[hit].note), "%s()", cause);
		}
		if (hit != (size_t)-1) {
			struct dg_row *r = &g->rows[hit];
			if (r->stack_state[0] && !r->note[0])
				snprintf(r->note, sizeof(r->note), "via %s", r->stack_state);
			cpy(r->stack_state, sizeof(r->stack_state), to);
			continue;
		}
		struct dg_row *nn = realloc(notes, (nnotes + 1) * sizeof(*nn));
		if (!nn)
			break;
		notes = nn;
		struct dg_row *r = &notes[nnotes++];
		memset(r, 0, sizeof(*r));
		r->dir = DG_NOTE;
		r->t_us = t;
		cpy(r->stack_state, sizeof(r->stack_state), to);
		const char *why = strcmp(cause, "timewait") == 0	       ? "2 MSL timer expired"
				  : strcmp(cause, "synack_retries") == 0 ? "tcp_synack_retries exhausted"
				  : strcmp(cause, "syn_retries") == 0	       ? "tcp_syn_retries exhausted"
										       : cause;
		snprintf(r->note, sizeof(r->note), "%s%s%s", strcmp(cause_kind, "timer") == 0 ? "timer: " : "",
			 why, strcmp(cause_kind, "app") == 0 ? "()" : strcmp(cause_kind, "segment") == 0 ? " (not in the capture)" : "");
	}
	sqlite3_finalize(st);
	/* Notes go in by time (after the segments of the same instant). */
	if (nnotes) {
		struct dg_row *all = malloc((g->n + nnotes) * sizeof(*all));
		if (all) {
			size_t a = 0, b = 0, k = 0;
			while (a < g->n || b < nnotes) {
				bool take_note = b < nnotes && (a == g->n || notes[b].t_us < g->rows[a].t_us);
				all[k++] = take_note ? notes[b++] : g->rows[a++];
			}
			free(g->rows);
			g->rows = all;
			g->n = g->cap = k;
		}
	}
	free(notes);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The capture path: rows from the pcap, states from the history. */
static int load_from_pcap(sqlite3 *db, struct dg *g)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT c.laddr, c.lport, c.raddr, c.rport, c.opened_us + r.wall_offset_us,"
			       " (SELECT min(time_us) FROM transitions WHERE conn = c.id) - c.opened_us,"
			       " CASE WHEN c.closed_us IS NULL THEN NULL ELSE c.closed_us - c.opened_us END"
			       " FROM connections c JOIN runs r ON r.id = c.run WHERE c.id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, g->conn);
	struct pc_frame f = { 0 };
	bool ok = sqlite3_step(st) == SQLITE_ROW;
	if (ok) {
		struct in_addr a;
		ok = inet_pton(AF_INET, col(st, 0), &a) == 1;
		f.laddr = ntohl(a.s_addr);
		ok = ok && inet_pton(AF_INET, col(st, 2), &a) == 1;
		f.raddr = ntohl(a.s_addr);
		f.lport = (uint16_t)sqlite3_column_int(st, 1);
		f.rport = (uint16_t)sqlite3_column_int(st, 3);
		f.open_wall = sqlite3_column_int64(st, 4);
		f.lo = sqlite3_column_int64(st, 5) - 10000;
		f.hi = sqlite3_column_type(st, 6) == SQLITE_NULL ? INT64_MAX
								 : sqlite3_column_int64(st, 6) + 10000;
	}
	sqlite3_finalize(st);
	if (!ok)
		return -ENOENT;
	long n = load_pcap(g, &f);
	if (n < 0)
		return (int)n;
	g->from_pcap = (size_t)n;
	mark_retrans(g);
	for (size_t i = 0; i < g->n; i++) {
		const struct dg_row *r = &g->rows[i];
		if ((r->flags & TH_SYN) && r->dir == DG_P2S && !g->have_irs) {
			g->irs = r->seq;
			g->have_irs = true;
		}
		if ((r->flags & TH_SYN) && r->dir == DG_S2P && !g->have_iss) {
			g->iss = r->seq;
			g->have_iss = true;
		}
	}
	return merge_transitions(db, g);
}

/* ---- loading ---- */

static int load(sqlite3 *db, struct dg *g)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
			       "SELECT c.run, c.conn_id, ifnull(h.name, 'host ' || c.host), c.role,"
			       " c.laddr || ':' || c.lport, c.raddr || ':' || c.rport, c.from_cookie"
			       " FROM connections c LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host"
			       " WHERE c.id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, g->conn);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -ENOENT;
	}
	g->run = sqlite3_column_int64(st, 0);
	g->conn_id = sqlite3_column_int64(st, 1);
	cpy(g->host, sizeof(g->host), col(st, 2));
	cpy(g->role, sizeof(g->role), col(st, 3));
	cpy(g->local, sizeof(g->local), col(st, 4));
	cpy(g->remote, sizeof(g->remote), col(st, 5));
	g->from_cookie = sqlite3_column_int(st, 6) != 0;
	sqlite3_finalize(st);
	if (g->pcap) {
		int rc = load_from_pcap(db, g);
		if (rc < 0)
			return rc;
		if (g->from_pcap) {
			infer_peer(g);
			return 0;
		}
		g->n = 0; /* nothing captured: what the history holds */
		g->have_irs = g->have_iss = false;
	}
	int rc = load_rows(db, g);
	if (rc < 0)
		return rc;
	fill_numbers(g);
	add_data_gaps(g);
	infer_peer(g);
	return 0;
}

/* ---- terminal ---- */

#define W_TIME 11
#define W_STATE 14
#define W_ARROW_MIN 46

static void put_n(FILE *out, const char *s, int n)
{
	for (int i = 0; i < n; i++)
		fputs(s, out);
}

/* Display width (code points; every glyph used here is one column). */
static int cols(const char *s)
{
	int w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

static void put_state(FILE *out, const char *state, bool inferred, bool color, bool right)
{
	char text[24];
	snprintf(text, sizeof(text), "%s%s", state, state[0] && inferred ? " ~" : "");
	int pad = W_STATE - cols(text);
	if (pad < 1)
		pad = 1;
	if (!right)
		fprintf(out, "%*s", pad - 1, "");
	else
		fputs(" ", out);
	fprintf(out, "%s%s%s", color && state[0] ? state_color(state) : "", text,
		color && state[0] ? ANSI_RESET : "");
	if (!right)
		fputs(" ", out);
}

static void put_time(FILE *out, int64_t t_us)
{
	if (t_us < 0)
		fprintf(out, "%*s", W_TIME, "");
	else
		fprintf(out, "%+*.6f", W_TIME - 1, (double)t_us / 1e6), fputs(" ", out);
}

/* The text between the lifelines for row r (segment label or note). */
static void row_text(const struct dg *g, const struct dg_row *r, char *label, size_t cap)
{
	if (r->dir == DG_NOTE) {
		snprintf(label, cap, "\u23f1 %s", r->note);
		return;
	}
	seg_label(g, r, label, cap);
	if (r->note[0] && !r->retrans) {
		size_t n = strlen(label);
		snprintf(label + n, cap - n, "  (%s)", r->note);
	}
}

static void render_text(const struct dg *g, FILE *out, bool color)
{
	int warrow = W_ARROW_MIN;
	for (size_t i = 0; i < g->n; i++) {
		char label[200];
		row_text(g, &g->rows[i], label, sizeof(label));
		if (cols(label) + 3 > warrow)
			warrow = cols(label) + 3;
	}
	fprintf(out, "conn %" PRId64 " (run %" PRId64 ", %s conn %" PRId64 "): %s open%s\n", g->conn,
		g->run, g->host, g->conn_id, g->role, g->from_cookie ? ", from a SYN cookie" : "");
	int lead = W_TIME + W_STATE;
	char ptitle[64], stitle[128];
	snprintf(ptitle, sizeof(ptitle), "peer %s", g->remote);
	snprintf(stitle, sizeof(stitle), "%s %s", g->host, g->local);
	fprintf(out, "%*s%-*s%s\n", lead - 4, "", warrow + 6, ptitle, stitle);
	fprintf(out, "%*s%-*s%s\n", lead - 4, "", warrow + 6, "(Linux, states inferred ~)",
		"(tcplab, states recorded)");
	fprintf(out, "%-*s", W_TIME, "  time (s)");
	put_state(out, g->peer_init, true, color, false);
	fputs("\u252c", out);
	put_n(out, " ", warrow);
	fputs("\u252c", out);
	put_state(out, g->stack_init, false, color, true);
	fputs("\n", out);
	for (size_t i = 0; i < g->n; i++) {
		const struct dg_row *r = &g->rows[i];
		char label[200];
		bool retr = r->retrans > 0;
		const char *on = color && retr ? "\033[31m" : color && r->inferred ? "\033[2m" : "";
		const char *off = *on ? ANSI_RESET : "";
		row_text(g, r, label, sizeof(label));
		if (r->dir == DG_NOTE) {
			int pad = warrow - cols(label);
			fprintf(out, "%*s", lead, "");
			fputs("\u2502", out);
			fprintf(out, "%*s%s%*s", pad / 2, "", label, pad - pad / 2, "");
			fputs("\u2502\n", out);
			put_time(out, r->t_us);
			put_state(out, r->peer_state, true, color, false);
			fputs("\u2502", out);
			put_n(out, " ", warrow);
			fputs("\u2502", out);
			put_state(out, r->stack_state, false, color, true);
			fputs("\n", out);
			continue;
		}
		/* The label line, then the arrow line. */
		fprintf(out, "%*s\u2502", lead, "");
		int pad = warrow - 1 - cols(label);
		if (pad < 0)
			pad = 0;
		if (r->dir == DG_P2S)
			fprintf(out, " %s%s%s%*s", on, label, off, pad, "");
		else
			fprintf(out, "%*s%s%s%s ", pad, "", on, label, off);
		fputs("\u2502\n", out);
		put_time(out, r->inferred ? -1 : r->t_us);
		put_state(out, r->peer_state, true, color, false);
		const char *line = r->inferred ? "\u254c" : retr ? "\u2501" : "\u2500";
		if (r->dir == DG_P2S) {
			fputs("\u251c", out);
			fputs(on, out);
			put_n(out, line, warrow - 1);
			fputs("\u25b6", out);
			fputs(off, out);
			fputs("\u2502", out);
		} else {
			fputs("\u2502", out);
			fputs(on, out);
			fputs("\u25c0", out);
			put_n(out, line, warrow - 1);
			fputs(off, out);
			fputs("\u2524", out);
		}
		put_state(out, r->stack_state, false, color, true);
		fputs("\n", out);
	}
	fprintf(out, "%*s\u2575", lead, "");
	put_n(out, " ", warrow);
	fputs("\u2575\n", out);
	if (g->from_pcap)
		fprintf(out, "\u2500\u2500\u25b6 every segment of the capture %s; the stack's states from the history\n",
			g->pcap);
	else
		fprintf(out,
			"\u2500\u2500\u25b6 recorded (received by the stack; its state change)   \u254c\u254c\u25b6 inferred from the TCP rules\n");
	fprintf(out, "\u21bb retransmission   \u23f1 timer or call   ~ peer state inferred   seq/ack %s\n",
		g->absolute ? "absolute" : "relative to each side's ISN (--absolute: raw)");
}

/* ---- SVG ---- */

static void svg_text(FILE *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", out); break;
		case '>': fputs("&gt;", out); break;
		case '&': fputs("&amp;", out); break;
		case '"': fputs("&quot;", out); break;
		default: fputc(*s, out);
		}
	}
}

/* Fill colour of a state box (light tints of the terminal colours). */
static const char *state_fill(const char *state)
{
	switch (tcp_state_from_name(state)) {
	case TCP_ESTABLISHED: return "#c8f0c8";
	case TCP_SYN_SENT:
	case TCP_SYN_RECV: return "#fff0b0";
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING: return "#f0d0f0";
	case TCP_TIME_WAIT: return "#d0dcff";
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK: return "#ffd0d0";
	case TCP_LISTEN: return "#d0f4f4";
	default: return "#e8e8e8";
	}
}

#define SVG_W 980
#define SVG_XL 330 /* peer lifeline */
#define SVG_XR 750 /* stack lifeline */
#define SVG_ROW 44
#define SVG_TOP 120

static void svg_state(FILE *out, const char *state, bool inferred, int x, int y, bool right)
{
	if (!state[0])
		return;
	int w = (int)strlen(state) * 8 + 16;
	int bx = right ? x + 8 : x - 8 - w;
	fprintf(out,
		"<g class=\"state %s\" data-side=\"%s\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"20\" rx=\"6\" fill=\"%s\" stroke=\"%s\"%s/>"
		"<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
		right ? "stack" : "peer", right ? "stack" : "peer", bx, y - 14, w, state_fill(state),
		inferred ? "#999" : "#555", inferred ? " stroke-dasharray=\"3 2\"" : "", bx + w / 2, y);
	svg_text(out, state);
	fprintf(out, "%s</text></g>\n", inferred ? " ~" : "");
}

static void render_svg(const struct dg *g, FILE *out)
{
	int h = SVG_TOP + (int)g->n * SVG_ROW + 110;
	fprintf(out,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"DejaVu Sans Mono, monospace\" font-size=\"12\">\n"
		"<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
		"<path d=\"M0,0 L10,5 L0,10 z\" fill=\"context-stroke\"/></marker>"
		"<marker id=\"arrow-b\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">"
		"<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#222\"/></marker>"
		"<marker id=\"arrow-g\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">"
		"<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#888\"/></marker>"
		"<marker id=\"arrow-r\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto\">"
		"<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#c00\"/></marker></defs>\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
		SVG_W, h, SVG_W, h);
	fprintf(out, "<text x=\"20\" y=\"28\" font-size=\"15\" font-weight=\"bold\">conn %" PRId64
		     " (run %" PRId64 ", %s conn %" PRId64 "): %s open%s</text>\n",
		g->conn, g->run, g->host, g->conn_id, g->role, g->from_cookie ? ", from a SYN cookie" : "");
	fprintf(out, "<text x=\"%d\" y=\"62\" text-anchor=\"middle\" font-weight=\"bold\">peer ", SVG_XL);
	svg_text(out, g->remote);
	fprintf(out, "</text><text x=\"%d\" y=\"78\" text-anchor=\"middle\" fill=\"#666\">Linux (states inferred ~)</text>\n",
		SVG_XL);
	fprintf(out, "<text x=\"%d\" y=\"62\" text-anchor=\"middle\" font-weight=\"bold\">", SVG_XR);
	svg_text(out, g->host);
	fputs(" ", out);
	svg_text(out, g->local);
	fprintf(out, "</text><text x=\"%d\" y=\"78\" text-anchor=\"middle\" fill=\"#666\">tcplab (states recorded)</text>\n",
		SVG_XR);
	fprintf(out, "<text x=\"20\" y=\"%d\" fill=\"#666\">time (s)</text>\n", SVG_TOP - 16);
	int bottom = SVG_TOP + (int)g->n * SVG_ROW + 10;
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" stroke-width=\"2\"/>\n",
		SVG_XL, SVG_TOP - 30, SVG_XL, bottom);
	fprintf(out, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\" stroke-width=\"2\"/>\n",
		SVG_XR, SVG_TOP - 30, SVG_XR, bottom);
	svg_state(out, g->peer_init, true, SVG_XL, SVG_TOP - 10, false);
	svg_state(out, g->stack_init, false, SVG_XR, SVG_TOP - 10, true);
	for (size_t i = 0; i < g->n; i++) {
		const struct dg_row *r = &g->rows[i];
		int y = SVG_TOP + (int)i * SVG_ROW + 30;
		if (r->t_us >= 0 && !r->inferred)
			fprintf(out, "<text x=\"20\" y=\"%d\" fill=\"#444\">%+.6f</text>\n", y + 4,
				(double)r->t_us / 1e6);
		else if (r->t_us >= 0 && r->dir != DG_NOTE)
			fprintf(out, "<text x=\"20\" y=\"%d\" fill=\"#aaa\">(%+.6f)</text>\n", y + 4,
				(double)r->t_us / 1e6);
		if (r->dir == DG_NOTE) {
			fprintf(out, "<text class=\"note\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#555\" font-style=\"italic\">",
				(SVG_XL + SVG_XR) / 2, y + 4);
			svg_text(out, r->note);
			fputs("</text>\n", out);
		} else {
			char label[160], flags[48];
			seg_label(g, r, label, sizeof(label));
			flag_names(r->flags, flags, sizeof(flags));
			const char *stroke = r->retrans ? "#c00" : r->inferred ? "#888" : "#222";
			const char *marker = r->retrans ? "arrow-r" : r->inferred ? "arrow-g" : "arrow-b";
			int x1 = r->dir == DG_P2S ? SVG_XL : SVG_XR, x2 = r->dir == DG_P2S ? SVG_XR : SVG_XL;
			fprintf(out,
				"<g class=\"segment\" data-dir=\"%s\" data-flags=\"%s\" data-inferred=\"%d\" data-retrans=\"%u\">"
				"<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.6\"%s marker-end=\"url(#%s)\"/>",
				r->dir == DG_P2S ? "peer-to-stack" : "stack-to-peer", flags, r->inferred,
				r->retrans, x1, y - 8, x2, y + 8, stroke,
				r->inferred ? " stroke-dasharray=\"6 4\"" : "", marker);
			fprintf(out, "<text class=\"seg\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">",
				(SVG_XL + SVG_XR) / 2, y - 6, stroke);
			svg_text(out, label);
			fputs("</text>", out);
			if (r->note[0] && !r->retrans) {
				fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"#888\" font-size=\"10\">",
					(SVG_XL + SVG_XR) / 2, y + 18);
				svg_text(out, r->note);
				fputs("</text>", out);
			}
			fputs("</g>\n", out);
		}
		svg_state(out, r->peer_state, true, SVG_XL, y + 4, false);
		svg_state(out, r->stack_state, false, SVG_XR, y + 4, true);
	}
	int ly = bottom + 30;
	fprintf(out,
		"<g class=\"legend\" fill=\"#444\"><line x1=\"20\" y1=\"%d\" x2=\"70\" y2=\"%d\" stroke=\"#222\" stroke-width=\"1.6\" marker-end=\"url(#arrow-b)\"/>"
		"<text x=\"80\" y=\"%d\">%s</text>\n"
		"<line x1=\"20\" y1=\"%d\" x2=\"70\" y2=\"%d\" stroke=\"#888\" stroke-width=\"1.6\" stroke-dasharray=\"6 4\" marker-end=\"url(#arrow-g)\"/>"
		"<text x=\"80\" y=\"%d\">inferred from the TCP rules (the history does not hold it); ~ peer state inferred</text>\n"
		"<line x1=\"20\" y1=\"%d\" x2=\"70\" y2=\"%d\" stroke=\"#c00\" stroke-width=\"1.6\" marker-end=\"url(#arrow-r)\"/>"
		"<text x=\"80\" y=\"%d\">retransmission; seq/ack %s</text></g>\n</svg>\n",
		ly, ly, ly + 4,
		g->from_pcap ? "captured: every segment of the link capture, the stack's states from the history"
			     : "recorded: received by the stack, with the state change it caused",
		ly + 20, ly + 20, ly + 24, ly + 40, ly + 40, ly + 44,
		g->absolute ? "absolute" : "relative to each side's ISN");
}

static void render_json(const struct dg *g, FILE *out)
{
	fprintf(out, "{\"conn\": %" PRId64 ", \"run\": %" PRId64 ", \"host\": ", g->conn, g->run);
	json_str(out, g->host);
	fprintf(out, ", \"conn_id\": %" PRId64 ", \"role\": ", g->conn_id);
	json_str(out, g->role);
	fprintf(out, ", \"local\": ");
	json_str(out, g->local);
	fprintf(out, ", \"remote\": ");
	json_str(out, g->remote);
	fprintf(out, ", \"stack_initial\": ");
	json_str(out, g->stack_init);
	fprintf(out, ", \"peer_initial\": ");
	json_str(out, g->peer_init);
	fprintf(out, ",\n \"rows\": [");
	for (size_t i = 0; i < g->n; i++) {
		const struct dg_row *r = &g->rows[i];
		char flags[48];
		flag_names(r->flags, flags, sizeof(flags));
		fprintf(out, "%s\n  {\"kind\": \"%s\"", i ? "," : "",
			r->dir == DG_NOTE ? "note" : r->dir == DG_P2S ? "peer-to-stack" : "stack-to-peer");
		if (r->t_us >= 0)
			fprintf(out, ", \"time\": %.6f", (double)r->t_us / 1e6);
		if (r->dir != DG_NOTE) {
			fprintf(out, ", \"flags\": \"%s\", \"len\": %" PRIu32, flags, r->len);
			if (r->has_seq)
				fprintf(out, ", \"seq\": %" PRIu32, rel_seq(g, r));
			if (r->has_ack && (r->flags & TH_ACK))
				fprintf(out, ", \"ack\": %" PRIu32, rel_ack(g, r));
			fprintf(out, ", \"inferred\": %s, \"retransmission\": %u",
				r->inferred ? "true" : "false", r->retrans);
		}
		if (r->stack_state[0])
			fprintf(out, ", \"stack_state\": \"%s\"", r->stack_state);
		if (r->peer_state[0])
			fprintf(out, ", \"peer_state\": \"%s\"", r->peer_state);
		if (r->note[0]) {
			fprintf(out, ", \"note\": ");
			json_str(out, r->note);
		}
		fputs("}", out);
	}
	fputs("\n]}\n", out);
}

int diagram_print(const char *dbpath, long long conn, const char *pcap, FILE *out, bool color)
{
	sqlite3 *db;
	char err[1024];
	if (history_open_readonly(dbpath, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab diagram: %s\n", err);
		return EXIT_FAIL;
	}
	struct dg g = { .conn = conn, .pcap = pcap };
	int rc = load(db, &g);
	sqlite3_close(db);
	if (rc == 0)
		render_text(&g, out, color);
	free(g.rows);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/* CONN from --last / --conn-id. */
static int pick(sqlite3 *db, bool last, int port, long long conn_id, const char *host,
		long long run, long long *out)
{
	char sql[768];
	if (last)
		snprintf(sql, sizeof(sql),
			 "SELECT id FROM connections WHERE role <> 'listen'%s ORDER BY id DESC LIMIT 1",
			 port ? " AND (lport = ?1 OR rport = ?1)" : "");
	else
		snprintf(sql, sizeof(sql),
			 "SELECT c.id FROM connections c LEFT JOIN hosts h ON h.run = c.run AND h.id = c.host"
			 " WHERE c.conn_id = ?2 AND (?3 IS NULL OR h.name = ?3)"
			 " AND c.run = COALESCE(?4, (SELECT max(id) FROM runs)) ORDER BY c.id DESC LIMIT 1");
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int(st, 1, port);
	sqlite3_bind_int64(st, 2, conn_id);
	if (host)
		sqlite3_bind_text(st, 3, host, -1, SQLITE_STATIC);
	if (run)
		sqlite3_bind_int64(st, 4, run);
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -ENOENT;
	if (rc == 0)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int cmd_diagram(int argc, char **argv)
{
	enum { OPT_SVG = 256, OPT_LAST, OPT_CONN_ID, OPT_ABS, OPT_DB, OPT_JSON, OPT_HOST, OPT_RUN, OPT_COLOR,
	       OPT_PCAP };
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "svg", no_argument, NULL, OPT_SVG },
		{ "last", no_argument, NULL, OPT_LAST },
		{ "conn-id", required_argument, NULL, OPT_CONN_ID },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "run", required_argument, NULL, OPT_RUN },
		{ "port", required_argument, NULL, 'p' },
		{ "absolute", no_argument, NULL, OPT_ABS },
		{ "db", required_argument, NULL, OPT_DB },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "pcap", required_argument, NULL, OPT_PCAP },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *dbarg = NULL, *host = NULL, *pcap = NULL;
	bool svg = false, last = false, absolute = false, json = false;
	long long conn_id = 0, run = 0;
	int port = 0, c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case OPT_SVG:
			svg = true;
			break;
		case OPT_LAST:
			last = true;
			break;
		case OPT_CONN_ID:
		case OPT_RUN: {
			char *end;
			long long v = strtoll(optarg, &end, 10);
			if (*end || end == optarg || v < 1) {
				fprintf(stderr, "tcplab diagram: %s %s: expected a positive number\n",
					argv[optind - 1], optarg);
				return EXIT_USAGE;
			}
			if (c == OPT_RUN)
				run = v;
			else
				conn_id = v;
			break;
		}
		case OPT_HOST:
			host = optarg;
			break;
		case 'p':
			if (!parse_port(optarg, &port)) {
				fprintf(stderr, "tcplab diagram: --port %s: expected 1..65535\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_ABS:
			absolute = true;
			break;
		case OPT_DB:
			dbarg = optarg;
			break;
		case OPT_PCAP:
			pcap = optarg;
			break;
		case OPT_JSON:
			json = true;
			break;
		case OPT_COLOR:
			if (cli_set_color("tcplab diagram", optarg) < 0)
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab diagram: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab diagram: unknown option %s: see tcplab diagram --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	long long conn = 0;
	if (optind < argc) {
		char *end;
		conn = strtoll(argv[optind], &end, 10);
		if (*end || conn < 1 || optind + 1 < argc) {
			fprintf(stderr, "tcplab diagram: expected one CONN (a number from `tcplab history`)\n");
			return EXIT_USAGE;
		}
	} else if (!last && !conn_id) {
		fprintf(stderr, "tcplab diagram: which connection? give CONN (from `tcplab history`), --last or --conn-id N\n");
		return EXIT_USAGE;
	}
	char dbbuf[4096];
	const char *dbpath = cli_history_db(dbarg, dbbuf, sizeof(dbbuf));
	sqlite3 *db;
	char err[1024];
	if (history_open_readonly(dbpath, &db, err, sizeof(err)) < 0) {
		fprintf(stderr, "tcplab diagram: %s\n", err);
		return EXIT_FAIL;
	}
	if (!conn && pick(db, last, port, conn_id, host, run, &conn) < 0) {
		fprintf(stderr, "tcplab diagram: no such recorded connection in %s (see tcplab history)\n",
			dbpath);
		sqlite3_close(db);
		return EXIT_FAIL;
	}
	struct dg g = { .conn = conn, .absolute = absolute, .pcap = pcap };
	int rc = load(db, &g);
	sqlite3_close(db);
	if (rc == -ENOENT && !g.run) {
		fprintf(stderr, "tcplab diagram: no connection %lld in %s (see tcplab history)\n", conn,
			dbpath);
		free(g.rows);
		return EXIT_FAIL;
	}
	if (pcap && rc < 0 && rc != -EIO) {
		fprintf(stderr, "tcplab diagram: cannot read the capture %s: %s (a pcap of the link: tcplab capture)\n",
			pcap, strerror(-rc));
		free(g.rows);
		return EXIT_FAIL;
	}
	if (pcap && g.from_pcap == 0)
		fprintf(stderr, "tcplab diagram: %s holds no segment of conn %lld: drawing what the history holds\n",
			pcap, conn);
	if (rc < 0) {
		fprintf(stderr, "tcplab diagram: cannot read %s\n", dbpath);
		free(g.rows);
		return EXIT_FAIL;
	}
	int status = EXIT_OK;
	if (output) {
		FILE *f = fopen(output, "w");
		if (!f) {
			fprintf(stderr, "tcplab diagram: cannot write %s: %m\n", output);
			free(g.rows);
			return EXIT_FAIL;
		}
		render_svg(&g, f);
		if (fclose(f) != 0) {
			fprintf(stderr, "tcplab diagram: writing %s failed: %m\n", output);
			status = EXIT_FAIL;
		} else {
			printf("wrote %s (conn %lld, %zu rows)\n", output, conn, g.n);
		}
	} else if (svg) {
		render_svg(&g, stdout);
	} else if (json) {
		render_json(&g, stdout);
	} else {
		render_text(&g, stdout, cli_use_color(stdout));
	}
	free(g.rows);
	return status;
}
