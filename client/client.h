/* Shared pieces of the tcplab client: global options, finding the daemon
 * (registry, control socket), talking the control protocol
 * (docs/control.md), and printing listings as aligned tables or JSON.
 * The client is single-threaded. */
#ifndef TL_CLIENT_CLIENT_H
#define TL_CLIENT_CLIENT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "control_proto.h"
#include "strbuf.h"

/* Exit statuses of every subcommand. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define EXIT_NOT_RUNNING 3

enum cli_color { CLI_COLOR_AUTO, CLI_COLOR_ALWAYS, CLI_COLOR_NEVER };

/* Options given before the subcommand (or in the environment). */
struct cli_opts {
	const char *socket; /* --socket PATH / TCPLAB_SOCKET */
	int pid;            /* --pid N / TCPLAB_PID; 0 = the only running one */
	enum cli_color color;
};
extern struct cli_opts cli;

/* --color WHEN (auto, always, never); -1, with a usage line naming `cmd`
 * ("tcplab watch") on stderr, if WHEN is none of them. */
int cli_set_color(const char *cmd, const char *when);

/* Whether stream f should get ANSI colours (--color, NO_COLOR, isatty). */
bool cli_use_color(FILE *f);

/* A running daemon, as the registry and its control socket describe it. */
struct cli_daemon {
	int pid; /* 0 if only --socket was given */
	char socket[108];
	char lab[PATH_MAX];
	char mount[PATH_MAX];
	char db[PATH_MAX]; /* "" = runs without history */
};

/* Picks the daemon (--socket, --pid, else the only live one in the
 * registry). Returns 0, or an exit status after saying on stderr what is
 * wrong and what to do (EXIT_NOT_RUNNING: none runs; EXIT_USAGE: several,
 * choose with --pid). `who` prefixes messages ("tcplab ss"). */
int cli_find_daemon(struct cli_daemon *d, const char *who);

/* The history database to read: --db if given, else the running daemon's
 * (from the registry; no control socket needed), else the default. */
const char *cli_history_db(const char *given, char *buf, size_t cap);

/* One record of a reply: a data line's words, or the final line's. The
 * words point into buf. */
struct cli_rec {
	char *buf;
	unsigned n;
	struct ctl_word *w;
};

/* The value of key in rec, or NULL; with a default. */
const char *rec_get(const struct cli_rec *rec, const char *key);
const char *rec_str(const struct cli_rec *rec, const char *key, const char *dflt);

/* A reply. Invariant: after ctl_call returned, fin is the final line;
 * err is 0 (OK) or the negative errno of ERR (msg then says why). */
struct cli_reply {
	struct cli_rec *rows;
	size_t n, cap;
	struct cli_rec fin;
	int err;
	char errname[24];
	char *msg; /* the ERR line's message (owned) */
};
void reply_free(struct cli_reply *rep);

/* An open control connection. */
struct cli_conn {
	int fd;
	FILE *in;
	struct cli_daemon d;
	const char *who;
};

/* Finds the daemon and connects to its control socket. Returns 0, or an
 * exit status after an explanation on stderr (not running: how to start
 * it; permission denied: the socket is 0600 root). */
int cli_connect(struct cli_conn *c, const char *who);
void cli_close(struct cli_conn *c);

/* Builds a request: verb, then words appended with ctl_put or req_pos. */
void req_begin(struct strbuf *sb, const char *verb);
void req_pos(struct strbuf *sb, const char *word);

/* Sends req (freed) and reads the reply into rep (reply_free it). Returns
 * 0 on OK, the negative errno of ERR, or -EIO if the connection failed
 * (rep->msg says so). */
int ctl_call(struct cli_conn *c, struct strbuf *req, struct cli_reply *rep);

/* ctl_call, and on ERR prints "who: message" (exit status 1 returned);
 * 0 on OK. */
int ctl_call_or_say(struct cli_conn *c, struct strbuf *req, struct cli_reply *rep);

/* Polls the control socket's `ss` (every 20 ms, at most timeout_ms) until
 * connection id of host (NULL: any stack host) is in state (TCP_CLOSE:
 * gone from the tables). Returns 0, or -ETIMEDOUT with the last state seen
 * in *last (TCP_CLOSE if gone), or -EIO. */
int wait_conn_state(struct cli_conn *c, const char *host, const char *id, int state,
		    int timeout_ms, int *last);

/* A listing: columns with JSON keys and table headings; printed as an
 * aligned table (like ss or sqlite3 -column) or a JSON array of objects
 * (numbers unquoted). color(col, cell) may return an ANSI prefix for a
 * cell (tables on terminals only). */
struct listing {
	unsigned ncols;
	const char *const *keys;
	const char *const *heads;
	char **cells; /* nrows * ncols, owned */
	char **notes; /* per row: a line printed under it in tables, or NULL */
	size_t nrows, cap;
	const char *(*color)(unsigned col, const char *cell);
};
void listing_init(struct listing *l, unsigned ncols, const char *const *keys,
		  const char *const *heads);
void listing_add(struct listing *l, const char *const *cells);
/* Attaches an indented line under the last row (tables only). */
void listing_note(struct listing *l, const char *note);
void listing_print(const struct listing *l, FILE *out, bool json);
void listing_free(struct listing *l);

/* JSON output helpers. */
void json_str(FILE *out, const char *s);
/* A number as a bare JSON number if it looks like one, else a string. */
void json_auto(FILE *out, const char *s);

/* The ANSI colour for a TCP state name (either spelling), or "". */
const char *state_color(const char *state);
#define ANSI_RESET "\033[0m"

/* A port 1..65535; false if s is not one. */
bool parse_port(const char *s, int *port);
/* A TCP state in any spelling tcp_state_from_name takes, or ss's
 * "listening"; 0 if unknown. */
int parse_state(const char *s);

/* Runs argv (argv[0] looked up in PATH) and waits, stdout to out (NULL:
 * inherited), bounded by timeout_ms (the child is killed); returns its
 * exit status, 124 on timeout, -1 if it could not run. */
int run_cmd(char *const argv[], FILE *out, int timeout_ms);

/* ---- pieces the tour shares with the subcommands ---- */

/* cmd_updown.c: starts tcplabd (setsid, log to a file, --ready-fd) and
 * waits for readiness; *pid_out and log_out on success. Returns an exit
 * status (failures print the log's last lines). */
int updown_start(const char *lab, const char *mount, const char *db, bool no_history,
		 const char *log, bool verbose, char *const extra[], int timeout_s, int *pid_out,
		 char *log_out, size_t log_cap);
/* SIGTERM and wait (bounded) until pid is gone. Returns an exit status. */
int updown_stop(int pid, int timeout_s, const char *who);

/* cmd_flood.c: the counters flood prints, in this order. */
#define FLOOD_COUNTERS 6 /* TCPReqQFullDrop TCPReqQFullDoCookies SyncookiesSent
			  * SyncookiesRecv ListenDrops ListenOverflows */
int flood_read_counters(const char *mount, const char *host, int port, long long *v,
			long *syn_recv);
/* Floods target (stack host name or address; NULL: the first) on port
 * from kernel host `from` (NULL: the target's peer). quiet prints nothing.
 * Returns an exit status. */
int flood_run(struct cli_conn *conn, const char *target, const char *from, int port, long count,
	      long rate, bool json, bool quiet);

/* Copies src into dst (cap bytes), truncating; always terminated. */
static inline void cpy(char *dst, size_t cap, const char *src)
{
	size_t n = 0;
	while (n + 1 < cap && src[n])
		n++;
	for (size_t i = 0; i < n; i++)
		dst[i] = src[i];
	dst[n] = '\0';
}

/* cmd_diagram.c: the terminal ladder diagram of history connection conn
 * (every segment from pcap, a capture of the link, if not NULL). */
int diagram_print(const char *dbpath, long long conn, const char *pcap, FILE *out, bool color);

/* Monotonic milliseconds. */
long long now_ms(void);

#endif
