/* tcplab tour: every scenario of the TCP states text (shared/seed/
 * tcp-states.md: the three-way handshake, the four-way close from each
 * side, TIME_WAIT and its expiry, CLOSE_WAIT piling up, SYN_RECV with
 * tcp_synack_retries, a SYN flood with tcp_syncookies 0 and 1), run live
 * on a lab and explained with what the FUSE files, `ss` and the history
 * show. Each step prints the commands a person would type to see it, and
 * checks that the step reached the state it claims (exit 1 if one did
 * not).
 *
 * The stack side is driven through the control socket (one session: its
 * handles go when the tour ends); the kernel side by processes in the
 * peer namespace (bash's /dev/tcp, nc), each bounded with timeout(1). The
 * lab-only knob tcplab.msl_ms makes TIME_WAIT short; every tunable the
 * tour changes is restored at the end. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "client.h"
#include "commands.h"
#include "history_schema.h"
#include "tcp_state.h"

#define TOUR_STEPS 6
#define KPROC_MAX 16

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab tour [OPTION]...\n"
		"Run the TCP states tour live on the running lab (the default lab's `stack` and\n"
		"`tcplab-peer`), step by step, explaining what the files and tables show and\n"
		"printing the commands to see it yourself:\n"
		"  1 the three-way handshake (passive and active open)\n"
		"  2 the four-way close, the peer closing first (CLOSE_WAIT, LAST_ACK)\n"
		"  3 the four-way close, the stack closing first (FIN_WAIT2, TIME_WAIT and its\n"
		"    expiry)\n"
		"  4 CLOSE_WAIT piling up behind a server that never closes\n"
		"  5 SYN_RECV and tcp_synack_retries\n"
		"  6 a SYN flood with tcp_syncookies 0, then 1\n"
		"Each step checks that it reached the state it claims; exit status 1 if one did\n"
		"not. Tunables the tour changes are restored at the end. Needs root.\n"
		"\n"
		"  -s, --step N[,N]   run only these steps\n"
		"      --lab FILE     start a tcplabd with this lab for the tour (stopped after\n"
		"                     it unless --keep)\n"
		"      --keep         leave the daemon started by --lab running\n"
		"      --msl-ms MS    the lab-only MSL during the tour (default 2000: TIME_WAIT\n"
		"                     lasts 2 x MSL = 4 s; Linux's is fixed at 60 s)\n"
		"      --pause        wait for Enter between steps\n"
		"  -h, --help         show this help\n");
}

/* A process in the peer namespace: stdin is ours to write (or close). */
struct kproc {
	pid_t pid;
	int in;
};

struct tour {
	struct cli_conn c;
	bool color, pause;
	int msl_ms;
	char stack[64], stack_addr[32], peer[64], peer_addr[32], netns[128], link[64];
	char M[PATH_MAX]; /* the stack host's directory in the FUSE view */
	char db[PATH_MAX];
	int pid;
	char self[PATH_MAX];
	bool changed[3]; /* restore_names[i] was set by the tour */
	int checks, failures;
	struct kproc kp[KPROC_MAX];
	int nkp;
	sqlite3 *hdb;
	long long run, host_id;
	int listen_port;  /* the tour's listener for steps 1-3 and 5 */
	char listener[24];
	char orig[3][64]; /* restore_names' values before the tour */
	bool link_busy;   /* the link was already being captured: leave it */
	char pcap[PATH_MAX]; /* the tour's capture of the link ("" = none) */
	/* Handed from step 1 to steps 2 and 3. */
	struct kproc *k1; /* the kernel client of conn1 */
	char conn1[24];   /* the stack's accepted side of it */
	char active[24];  /* the stack's active open to nc -l */
};

static const char *const restore_names[3] = { "tcplab.msl_ms", "net.ipv4.tcp_synack_retries",
					      "net.ipv4.tcp_syncookies" };

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* ---- printing ---- */

static void heading(struct tour *t, int n, const char *title)
{
	printf("\n%s== Step %d: %s ==%s\n\n", t->color ? "\033[1;37m" : "", n, title,
	       t->color ? ANSI_RESET : "");
}

/* A paragraph, wrapped at 78 columns and indented by two spaces. */
static void para(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void para(const char *fmt, ...)
{
	char text[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	int col = 0;
	char *save = NULL;
	for (char *w = strtok_r(text, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
		int len = (int)strlen(w);
		if (col && col + 1 + len > 76) {
			printf("\n");
			col = 0;
		}
		printf("%s%s", col ? " " : "  ", w);
		col += len + (col ? 1 : 2);
	}
	printf("\n");
}

/* A command the reader can type. */
static void hint(struct tour *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void hint(struct tour *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("    %s$ ", t->color ? "\033[36m" : "");
	vprintf(fmt, ap);
	printf("%s\n", t->color ? ANSI_RESET : "");
	va_end(ap);
}

/* Output shown to the reader, indented. */
static void block(const char *text)
{
	const char *p = text;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);
		printf("      %.*s\n", len, p);
		p = nl ? nl + 1 : NULL;
	}
}

static bool check(struct tour *t, bool ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool check(struct tour *t, bool ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	t->checks++;
	if (!ok)
		t->failures++;
	printf("  %s%s%s ", t->color ? (ok ? "\033[32m" : "\033[1;31m") : "",
	       ok ? "\u2713" : "\u2717 FAILED:", t->color ? ANSI_RESET : "");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
	return ok;
}

static void pause_step(struct tour *t)
{
	if (!t->pause || !isatty(STDIN_FILENO))
		return;
	printf("\n  [Enter: next step] ");
	fflush(stdout);
	int ch;
	while ((ch = getchar()) != EOF && ch != '\n')
		;
}

/* Bounded polling step: false once interrupted. */
static bool tick(int ms)
{
	if (interrupted)
		return false;
	poll(NULL, 0, ms);
	return !interrupted;
}

/* ---- processes ---- */

/* Output of argv (bounded), or "" (never NULL; free it). */
static char *capture(char *const argv[], int timeout_ms)
{
	FILE *f = tmpfile();
	if (!f)
		return strdup("");
	run_cmd(argv, f, timeout_ms);
	fflush(f);
	long n = ftell(f);
	char *buf = malloc(n > 0 ? (size_t)n + 1 : 1);
	if (!buf) {
		fclose(f);
		return strdup("");
	}
	rewind(f);
	size_t got = n > 0 ? fread(buf, 1, (size_t)n, f) : 0;
	buf[got] = '\0';
	fclose(f);
	return buf;
}

/* Starts `ip netns exec NS timeout SECS argv...` with a pipe on stdin. */
static struct kproc *kstart(struct tour *t, int secs, char *const argv[])
{
	if (t->nkp == KPROC_MAX)
		return NULL;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return NULL;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return NULL;
	}
	if (pid == 0) {
		dup2(p[0], STDIN_FILENO);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
		}
		char *av[32], secs_s[16];
		int n = 0;
		snprintf(secs_s, sizeof(secs_s), "%d", secs);
		av[n++] = "ip";
		av[n++] = "netns";
		av[n++] = "exec";
		av[n++] = t->netns;
		av[n++] = "timeout";
		av[n++] = secs_s;
		for (int i = 0; argv[i] && n < 31; i++)
			av[n++] = argv[i];
		av[n] = NULL;
		execvp("ip", av);
		_exit(127);
	}
	close(p[0]);
	struct kproc *k = &t->kp[t->nkp++];
	k->pid = pid;
	k->in = p[1];
	return k;
}

static void kwrite(struct kproc *k, const char *s)
{
	if (k && k->in >= 0 && write(k->in, s, strlen(s)) < 0)
		close(k->in), k->in = -1;
}

static void kclose_in(struct kproc *k)
{
	if (k && k->in >= 0) {
		close(k->in);
		k->in = -1;
	}
}

/* Waits (bounded) for k to end; kills it if it does not. */
static void kreap(struct kproc *k, int ms)
{
	if (!k || k->pid <= 0)
		return;
	kclose_in(k);
	long long deadline = now_ms() + ms;
	int st;
	while (waitpid(k->pid, &st, WNOHANG) == 0) {
		if (now_ms() >= deadline) {
			kill(k->pid, SIGKILL);
			waitpid(k->pid, &st, 0);
			break;
		}
		poll(NULL, 0, 20);
	}
	k->pid = 0;
}

/* A bash in the peer namespace holding a connection to the stack on fd 3
 * until it reads a line; then it closes it (full close: FIN). */
static struct kproc *kclient(struct tour *t, int port)
{
	char script[256];
	snprintf(script, sizeof(script), "exec 3<>/dev/tcp/%s/%d || exit 1; read -r _; exec 3>&-",
		 t->stack_addr, port);
	char *av[] = { "bash", "-c", script, NULL };
	return kstart(t, 120, av);
}

/* ---- the kernel side's view: ss in the namespace ---- */

struct krow {
	char state[24], local[64], peer[64];
};

static char *kss(struct tour *t, int port)
{
	char filter[96];
	snprintf(filter, sizeof(filter), "( sport = :%d or dport = :%d )", port, port);
	char *av[] = { "ip", "netns", "exec", t->netns, "ss", "-tan", filter, NULL };
	return capture(av, 5000);
}

/* Counts kernel rows for port in state (ss spelling). */
static int kcount(struct tour *t, int port, const char *state)
{
	char *out = kss(t, port);
	int n = 0;
	char *save = NULL;
	for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char st[32];
		if (sscanf(line, "%31s", st) == 1 && strcmp(st, state) == 0)
			n++;
	}
	free(out);
	return n;
}

static bool kwait(struct tour *t, int port, const char *state, int min, int ms)
{
	long long deadline = now_ms() + ms;
	while (kcount(t, port, state) < min) {
		if (now_ms() >= deadline || !tick(20))
			return false;
	}
	return true;
}

static void show_kss(struct tour *t, int port)
{
	hint(t, "sudo ip netns exec %s ss -tan '( sport = :%d or dport = :%d )'", t->netns, port,
	     port);
	char *out = kss(t, port);
	block(out);
	free(out);
}

/* ---- the stack side: control socket ---- */

static int ctl(struct tour *t, struct strbuf *req, struct cli_reply *rep)
{
	int rc = ctl_call(&t->c, req, rep);
	if (rc == -EIO) {
		fprintf(stderr, "tcplab tour: %s\n", rep->msg ? rep->msg : "connection lost");
		interrupted = 1;
	}
	return rc;
}

/* The stack's rows on port (and state, TCP_CLOSE = any). */
static int srows(struct tour *t, int port, int state, struct cli_reply *rep)
{
	struct strbuf req = { 0 };
	req_begin(&req, "ss");
	ctl_put(&req, "host", t->stack);
	ctl_putf(&req, "port", "%d", port);
	if (state != TCP_CLOSE)
		ctl_put(&req, "state", tcp_state_name(state));
	return ctl(t, &req, rep);
}

static int scount(struct tour *t, int port, int state)
{
	struct cli_reply rep;
	int n = srows(t, port, state, &rep) == 0 ? (int)rep.n : -1;
	reply_free(&rep);
	return n;
}

static bool swait(struct tour *t, const char *id, int state, int ms)
{
	int last;
	return wait_conn_state(&t->c, t->stack, id, state, ms, &last) == 0;
}

static bool swait_count(struct tour *t, int port, int state, int min, int ms)
{
	long long deadline = now_ms() + ms;
	while (scount(t, port, state) < min)
		if (now_ms() >= deadline || !tick(20))
			return false;
	return true;
}

static bool swait_count_at_most(struct tour *t, int port, int state, int max, int ms)
{
	long long deadline = now_ms() + ms;
	int n;
	while ((n = scount(t, port, state)) > max || n < 0)
		if (now_ms() >= deadline || !tick(50))
			return false;
	return true;
}

static void show_sss(struct tour *t, int port, int state)
{
	/* ss's filter words: lower case, "established", "listening". */
	char word[24];
	cpy(word, sizeof(word), state == TCP_ESTABLISHED ? "established"
				: state == TCP_LISTEN	   ? "listening"
							   : tcp_state_ss_name(state));
	for (char *p = word; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	if (state == TCP_CLOSE)
		hint(t, "tcplab ss --port %d", port);
	else
		hint(t, "tcplab ss state %s --port %d", word, port);
	struct cli_reply rep;
	if (srows(t, port, state, &rep) == 0) {
		static const char *const heads[] = { "State", "Recv-Q", "Send-Q",
						     "Local Address:Port", "Peer Address:Port",
						     "Conn" };
		struct listing l;
		listing_init(&l, 6, heads, heads);
		for (size_t i = 0; i < rep.n; i++) {
			const struct cli_rec *r = &rep.rows[i];
			const char *cells[6] = {
				tcp_state_ss_name(tcp_state_from_name(rec_str(r, "state", ""))),
				rec_str(r, "recvq", ""), rec_str(r, "sendq", ""), rec_str(r, "local", ""),
				rec_str(r, "peer", ""), rec_str(r, "conn", "")
			};
			listing_add(&l, cells);
		}
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		if (m) {
			listing_print(&l, m, false);
			fclose(m);
			block(buf);
			free(buf);
		}
		listing_free(&l);
	}
	reply_free(&rep);
}

/* First stack row on port in state: its conn id into id. */
static bool sfind(struct tour *t, int port, int state, char *id, size_t cap)
{
	struct cli_reply rep;
	bool found = false;
	if (srows(t, port, state, &rep) == 0) {
		for (size_t i = 0; i < rep.n && !found; i++) {
			const char *local = rec_str(&rep.rows[i], "local", "");
			const char *c = strrchr(local, ':');
			if (c && atoi(c + 1) == port) {
				cpy(id, cap, rec_str(&rep.rows[i], "conn", ""));
				found = true;
			}
		}
	}
	reply_free(&rep);
	return found;
}

static int simple(struct tour *t, struct strbuf *req, struct cli_reply *rep)
{
	int rc = ctl(t, req, rep);
	if (rc < 0 && rc != -EIO)
		fprintf(stderr, "tcplab tour: %s\n", rep->msg ? rep->msg : "failed");
	return rc;
}

static int tset(struct tour *t, const char *name, const char *value)
{
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "set");
	req_pos(&req, name);
	req_pos(&req, value);
	ctl_put(&req, "host", t->stack);
	int rc = simple(t, &req, &rep);
	reply_free(&rep);
	for (int i = 0; i < 3; i++)
		if (rc == 0 && strcmp(restore_names[i], name) == 0)
			t->changed[i] = true;
	return rc;
}

static int tget(struct tour *t, const char *name, char *out, size_t cap)
{
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "get");
	req_pos(&req, name);
	ctl_put(&req, "host", t->stack);
	int rc = simple(t, &req, &rep);
	if (rc == 0 && rep.n)
		cpy(out, cap, rec_str(&rep.rows[0], "value", ""));
	reply_free(&rep);
	return rc;
}

/* close or accept: returns the conn id of the result in id. */
static int tcall(struct tour *t, const char *verb, const char *arg1, const char *arg2,
		 char *id, size_t cap)
{
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, verb);
	req_pos(&req, arg1);
	if (arg2)
		req_pos(&req, arg2);
	ctl_put(&req, "host", t->stack);
	int rc = simple(t, &req, &rep);
	if (rc == 0 && id)
		cpy(id, cap, rec_str(&rep.fin, "conn", ""));
	reply_free(&rep);
	return rc;
}

static int accept_wait(struct tour *t, char *id, size_t cap)
{
	long long deadline = now_ms() + 5000;
	for (;;) {
		struct strbuf req = { 0 };
		struct cli_reply rep;
		req_begin(&req, "accept");
		req_pos(&req, t->listener);
		ctl_put(&req, "host", t->stack);
		int rc = ctl(t, &req, &rep);
		if (rc == 0)
			cpy(id, cap, rec_str(&rep.fin, "conn", ""));
		reply_free(&rep);
		if (rc != -EAGAIN || now_ms() >= deadline || !tick(20))
			return rc;
	}
}

/* ---- the FUSE view and the history ---- */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return strdup("");
	struct strbuf sb = { 0 };
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		sb_append(&sb, buf, n);
	fclose(f);
	return sb.p ? sb.p : strdup("");
}

static void show_timeline(struct tour *t, const char *id)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.3000s/conns/%s/timeline", t->M, id);
	hint(t, "cat %s", path);
	char *s = read_text(path);
	block(*s ? s : "(gone: the connection ended)");
	free(s);
}

/* The rows of net/tcp (the /proc/net/tcp format) for a port. */
static void show_net_tcp(struct tour *t, int port)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.3000s/net/tcp", t->M);
	hint(t, "grep -i ':%04X ' %s", port, path);
	char *s = read_text(path);
	struct strbuf out = { 0 };
	char needle[16];
	snprintf(needle, sizeof(needle), ":%04X ", port);
	int lines = 0;
	for (char *line = s, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if ((lines++ == 0 || strstr(line, needle)) && strlen(line) > 0) {
			/* The kernel pads to 149 columns: trim for the reader. */
			size_t len = strlen(line);
			while (len && line[len - 1] == ' ')
				len--;
			sb_append(&out, line, len > 104 ? 104 : len);
			sb_append(&out, "\n", 1);
		}
	}
	block(out.p ? out.p : "");
	sb_free(&out);
	free(s);
}

static bool hist_open(struct tour *t)
{
	if (t->hdb)
		return true;
	if (!t->db[0])
		return false;
	char err[1024];
	if (history_open_readonly(t->db, &t->hdb, err, sizeof(err)) < 0) {
		printf("  (history not readable: %s)\n", err);
		t->db[0] = '\0';
		return false;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(t->hdb,
			       "SELECT r.id, h.id FROM runs r JOIN hosts h ON h.run = r.id"
			       " WHERE r.pid = ?1 AND h.name = ?2 ORDER BY r.id DESC LIMIT 1",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int(st, 1, t->pid);
		sqlite3_bind_text(st, 2, t->stack, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			t->run = sqlite3_column_int64(st, 0);
			t->host_id = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
	}
	return t->run > 0;
}

/* The history row of stack conn id once it holds a transition into
 * to_state (the recorder commits every 100 ms); 0 if not within 3 s. */
static long long hist_conn(struct tour *t, const char *id, const char *to_state)
{
	if (!hist_open(t))
		return 0;
	long long deadline = now_ms() + 3000;
	for (;;) {
		sqlite3_stmt *st;
		long long row = 0;
		if (sqlite3_prepare_v2(t->hdb,
				       "SELECT c.id FROM connections c WHERE c.run = ?1 AND c.host = ?2"
				       " AND c.conn_id = ?3 AND EXISTS (SELECT 1 FROM transitions x"
				       " WHERE x.conn = c.id AND x.to_state = ?4)",
				       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_int64(st, 1, t->run);
			sqlite3_bind_int64(st, 2, t->host_id);
			sqlite3_bind_int64(st, 3, atoll(id));
			sqlite3_bind_text(st, 4, to_state, -1, SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_ROW)
				row = sqlite3_column_int64(st, 0);
			sqlite3_finalize(st);
		}
		if (row || now_ms() >= deadline || !tick(50))
			return row;
	}
}

/* One number from the history (a COUNT, a duration), -1 on error. */
static double hist_num(struct tour *t, const char *sql, long long a, const char *b)
{
	if (!hist_open(t))
		return -1;
	sqlite3_stmt *st;
	double v = -1;
	if (sqlite3_prepare_v2(t->hdb, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, a);
	if (b)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, t->run);
	sqlite3_bind_int64(st, 4, t->host_id);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		v = sqlite3_column_double(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void show_history_timeline(struct tour *t, long long row, int port)
{
	hint(t, "tcplab history --port %d   # or: tcplab sql \"SELECT * FROM timeline WHERE conn = %lld\"",
	     port, row);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(t->hdb,
			       "SELECT printf('%+.6f', since_open), kind, from_state, to_state, cause,"
			       " ifnull(seg_flags, '') FROM timeline WHERE conn = ?1 ORDER BY time_us, id",
			       -1, &st, NULL) != SQLITE_OK)
		return;
	sqlite3_bind_int64(st, 1, row);
	struct strbuf out = { 0 };
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		if (strcmp(kind, "state") == 0)
			sb_printf(&out, "%s  %s -> %s (%s%s%s)\n", sqlite3_column_text(st, 0),
				  sqlite3_column_text(st, 2), sqlite3_column_text(st, 3),
				  sqlite3_column_text(st, 4),
				  *sqlite3_column_text(st, 5) ? " " : "", sqlite3_column_text(st, 5));
		else
			sb_printf(&out, "%s  %s in %s\n", sqlite3_column_text(st, 0), kind,
				  sqlite3_column_text(st, 2));
	}
	sqlite3_finalize(st);
	block(out.p ? out.p : "");
	sb_free(&out);
}

static void show_diagram(struct tour *t, long long row)
{
	if (t->pcap[0])
		hint(t, "tcplab diagram --pcap %s %lld   # -o conn%lld.svg for a picture", t->pcap, row, row);
	else
		hint(t, "tcplab diagram %lld            # -o conn%lld.svg for a picture", row, row);
	fflush(stdout);
	char *buf = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&buf, &len);
	if (!m)
		return;
	diagram_print(t->db, row, t->pcap[0] ? t->pcap : NULL, m, t->color);
	fclose(m);
	block(buf);
	free(buf);
}

/* ---- the steps ---- */

static void step_handshake(struct tour *t)
{
	heading(t, 1, "the three-way handshake");
	para("TCP opens a connection with three segments. (1) The client A sends a SYN with its "
	     "initial sequence number j and enters SYN_SENT. (2) The server B answers SYN+ACK: its "
	     "own number k and ack = j+1, and is in SYN_RECV. (3) A acknowledges with ack = k+1: "
	     "both are ESTABLISHED and data can flow.");
	para("First the stack host is the server: it listens on port %d, and the Linux kernel in "
	     "namespace %s connects to it.",
	     t->listen_port, t->netns);
	hint(t, "tcplab listen %d", t->listen_port);
	hint(t, "sudo ip netns exec %s bash -c 'exec 3<>/dev/tcp/%s/%d; read -p \"Enter closes \"; exec 3>&-'",
	     t->netns, t->stack_addr, t->listen_port);
	printf("    (or: sudo ip netns exec %s nc %s %d)\n", t->netns, t->stack_addr, t->listen_port);
	t->k1 = kclient(t, t->listen_port);
	char id[24] = "";
	bool est = swait_count(t, t->listen_port, TCP_ESTABLISHED, 1, 5000) &&
		   sfind(t, t->listen_port, TCP_ESTABLISHED, id, sizeof(id));
	para("The handshake took well under a millisecond. The new connection waits, ESTABLISHED, "
	     "in the listener's accept queue (Recv-Q of the LISTEN row) until the application calls "
	     "accept():");
	show_sss(t, t->listen_port, TCP_CLOSE);
	show_kss(t, t->listen_port);
	check(t, est, "the stack's side of the connection (conn %s) is ESTABLISHED", id);
	check(t, kcount(t, t->listen_port, "ESTAB") == 1, "the kernel's side is ESTAB");
	char child[24] = "";
	hint(t, "tcplab accept %s", t->listener);
	accept_wait(t, child, sizeof(child));
	para("Its timeline in the FUSE view shows the passive open: a request in SYN_RECV (Linux "
	     "keeps it as a small request socket, shown as state 03 in /proc/net/tcp) became an "
	     "ESTABLISHED connection when the final ACK arrived:");
	show_timeline(t, child);
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%.3000s/conns/%s/timeline", t->M, child);
	char *tl = read_text(path);
	check(t, strstr(tl, "LISTEN -> SYN_RECV") && strstr(tl, "SYN_RECV -> ESTABLISHED"),
	      "the timeline holds LISTEN -> SYN_RECV (SYN) -> ESTABLISHED (ACK)");
	free(tl);
	cpy(t->conn1, sizeof(t->conn1), child); /* step 2 closes it */

	para("Now the other way round: the stack host is the client. A Linux listener in the "
	     "namespace (nc) gets a connection from the stack: the stack is in SYN_SENT until the "
	     "SYN+ACK arrives.");
	int kport = t->listen_port + 1;
	hint(t, "sudo ip netns exec %s nc -l %d", t->netns, kport);
	char kp_s[16];
	snprintf(kp_s, sizeof(kp_s), "%d", kport);
	char *av[] = { "nc", "-l", kp_s, NULL };
	struct kproc *srv = kstart(t, 120, av);
	bool listening = kwait(t, kport, "LISTEN", 1, 5000);
	hint(t, "tcplab connect %s %d", t->peer_addr, kport);
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "connect");
	req_pos(&req, t->peer_addr);
	req_pos(&req, kp_s);
	ctl_put(&req, "host", t->stack);
	char act[24] = "";
	if (listening && simple(t, &req, &rep) == 0)
		cpy(act, sizeof(act), rec_str(&rep.fin, "conn", ""));
	else if (!listening)
		sb_free(&req);
	reply_free(&rep);
	bool ok = act[0] && swait(t, act, TCP_ESTABLISHED, 5000);
	show_timeline(t, act);
	check(t, ok, "the stack's active open (conn %s) went SYN_SENT -> ESTABLISHED", act);
	check(t, kcount(t, kport, "ESTAB") == 1, "the Linux listener's side is ESTAB");
	cpy(t->active, sizeof(t->active), act); /* step 3 closes it */
	(void)srv; /* nc exits when the stack closes; reaped at the end */
}

static void step_close_peer_first(struct tour *t)
{
	heading(t, 2, "the four-way close, the peer closes first");
	if (!t->conn1[0]) { /* step 1 did not run: make the connection here */
		t->k1 = kclient(t, t->listen_port);
		if (swait_count(t, t->listen_port, TCP_ESTABLISHED, 1, 5000))
			accept_wait(t, t->conn1, sizeof(t->conn1));
	}
	struct kproc *k = t->k1;
	const char *id = t->conn1;
	para("A connection is full duplex, so each direction is closed on its own: the side that "
	     "is done sending sends a FIN; the other acknowledges it and may go on sending. The "
	     "side that closes first makes the active close, the other the passive close.");
	para("The Linux client closes its socket now (the bash above reads a line and closes fd 3). "
	     "Its FIN arrives: the stack acknowledges it and its connection goes to CLOSE_WAIT, "
	     "where it stays until the application closes too. The kernel waits in FIN_WAIT2 for "
	     "the stack's FIN.");
	kwrite(k, "\n");
	bool cw = swait(t, id, TCP_CLOSE_WAIT, 5000);
	bool fw2 = kwait(t, t->listen_port, "FIN-WAIT-2", 1, 5000);
	show_sss(t, t->listen_port, TCP_CLOSE);
	show_kss(t, t->listen_port);
	check(t, cw, "the stack (passive closer) is in CLOSE_WAIT");
	check(t, fw2, "the kernel (active closer) is in FIN-WAIT-2");
	para("The stack's application closes now: the stack sends its FIN (LAST_ACK) and forgets "
	     "the connection when the ACK comes. The kernel, which closed first, goes to TIME_WAIT "
	     "(60 s on Linux).");
	hint(t, "tcplab close %s", id);
	tcall(t, "close", id, NULL, NULL, 0);
	bool gone = swait(t, id, TCP_CLOSE, 5000);
	bool tw = kwait(t, t->listen_port, "TIME-WAIT", 1, 5000);
	show_kss(t, t->listen_port);
	check(t, gone, "the stack's conn %s went LAST_ACK -> CLOSED", id);
	check(t, tw, "the kernel's side is in TIME-WAIT");
	long long row = hist_conn(t, id, "CLOSE");
	if (row) {
		para("The history has the whole life of the connection (each transition with the "
		     "segment that caused it):");
		show_history_timeline(t, row, t->listen_port);
		double n = hist_num(t,
				    "SELECT count(*) FROM transitions WHERE conn = ?1 AND kind = 'state'"
				    " AND from_state || '>' || to_state IN"
				    " ('ESTABLISHED>CLOSE_WAIT', 'CLOSE_WAIT>LAST_ACK', 'LAST_ACK>CLOSE')",
				    row, NULL);
		check(t, n == 3, "the history holds ESTABLISHED -> CLOSE_WAIT -> LAST_ACK -> CLOSE");
		if (t->pcap[0])
			para("And as a ladder diagram: every segment from the tour's capture of the "
			     "link, the stack's states from the history, the kernel's inferred (~):");
		else
			para("And as a ladder diagram (the history records what the stack received; "
			     "the stack's own segments and the kernel's states are inferred):");
		show_diagram(t, row);
	} else if (t->db[0]) {
		check(t, false, "conn %s is in the history", id);
	}
	kreap(k, 2000);
}

static void step_close_stack_first(struct tour *t)
{
	const char *active = t->active;
	heading(t, 3, "the four-way close, the stack closes first; TIME_WAIT and its expiry");
	para("This time the Linux side connects and the stack's application closes first: the "
	     "stack sends its FIN (FIN_WAIT1); the kernel acknowledges it (the stack is in "
	     "FIN_WAIT2) and its socket is in CLOSE_WAIT until the program holding it closes.");
	struct kproc *k = kclient(t, t->listen_port);
	char id[24] = "";
	if (swait_count(t, t->listen_port, TCP_ESTABLISHED, 1, 5000))
		accept_wait(t, id, sizeof(id));
	hint(t, "tcplab accept %s; tcplab close CONN", t->listener);
	if (id[0])
		tcall(t, "close", id, NULL, NULL, 0);
	bool fw2 = id[0] && swait(t, id, TCP_FIN_WAIT2, 5000);
	bool cw = kwait(t, t->listen_port, "CLOSE-WAIT", 1, 5000);
	show_sss(t, t->listen_port, TCP_CLOSE);
	show_kss(t, t->listen_port);
	check(t, fw2, "the stack (active closer, conn %s) is in FIN_WAIT2", id);
	check(t, cw, "the kernel (passive closer) is in CLOSE-WAIT");
	para("The Linux program closes now: its FIN reaches the stack, which acknowledges it and "
	     "enters TIME_WAIT, for 2 x MSL. Why wait? (1) If that last ACK is lost, the peer "
	     "resends its FIN, and only a connection still in TIME_WAIT can answer it with an ACK "
	     "instead of a RST. (2) Old duplicate segments of this connection must die out before "
	     "a new connection with the same four-tuple could take them for its own.");
	kwrite(k, "\n");
	bool tw = id[0] && swait(t, id, TCP_TIME_WAIT, 5000);
	long long entered = now_ms();
	show_sss(t, t->listen_port, TCP_TIME_WAIT);
	para("In /proc/net/tcp format TIME_WAIT is st 06 with timer 3 (tr) and the time left in "
	     "1/100 s (tm->when, hex):");
	show_net_tcp(t, t->listen_port);
	check(t, tw, "the stack's conn %s is in TIME_WAIT", id);
	para("Linux's TIME_WAIT is fixed at 60 s (TCP_TIMEWAIT_LEN; the text's 240 s is Windows'). "
	     "This lab set its lab-only MSL to %d ms (tcplab set tcplab.msl_ms %d), so it lasts "
	     "%d ms here. Waiting for it to expire...",
	     t->msl_ms, t->msl_ms, 2 * t->msl_ms);
	hint(t, "cat %s/sys/net/tcplab/msl_ms", t->M);
	bool expired = id[0] && swait(t, id, TCP_CLOSE, 2 * t->msl_ms + 5000);
	long long took = now_ms() - entered;
	check(t, expired, "TIME_WAIT expired after about %.1f s (2 x MSL = %.1f s)", took / 1000.0,
	      2 * t->msl_ms / 1000.0);
	long long row = hist_conn(t, id, "CLOSE");
	if (row) {
		double secs = hist_num(t, "SELECT seconds FROM state_time WHERE conn = ?1 AND state = ?2",
				       row, "TIME_WAIT");
		hint(t, "tcplab sql \"SELECT state, seconds FROM state_time WHERE conn = %lld\"", row);
		printf("      TIME_WAIT lasted %.3f s by the history\n", secs);
		double by_timer = hist_num(t,
					   "SELECT count(*) FROM transitions WHERE conn = ?1 AND kind = 'state'"
					   " AND from_state = ?2 AND to_state = 'CLOSE' AND cause = 'timewait'",
					   row, "TIME_WAIT");
		check(t, by_timer == 1, "the history records TIME_WAIT -> CLOSE (timewait)");
		show_diagram(t, row);
	}
	kreap(k, 2000);

	if (!active[0])
		return; /* step 1 did not run */
	para("Most programs close at once when they read the end of the stream, as nc does: then "
	     "FIN_WAIT2 and the peer's CLOSE_WAIT last well under a millisecond. The stack's active "
	     "connection from step 1 (conn %s), closed now:",
	     active);
	hint(t, "tcplab close %s", active);
	tcall(t, "close", active, NULL, NULL, 0);
	bool atw = swait(t, active, TCP_TIME_WAIT, 5000);
	long long arow = hist_conn(t, active, "TIME_WAIT");
	if (arow)
		show_history_timeline(t, arow, t->listen_port + 1);
	check(t, atw, "conn %s went FIN_WAIT1 -> FIN_WAIT2 -> TIME_WAIT", active);
}

static void step_close_wait(struct tour *t)
{
	heading(t, 4, "CLOSE_WAIT piling up behind a server that never closes");
	para("The side that receives a FIN stays in CLOSE_WAIT until its application closes the "
	     "socket. There is no timer: a server that forgets to close leaks one connection per "
	     "client, and many CLOSE_WAITs on a server mean a bug in its code. The stack host's "
	     "built-in 'never-close' service on port 8002 is such a server. Three clients connect, "
	     "read its greeting and close:");
	int before = scount(t, 8002, TCP_CLOSE_WAIT);
	hint(t, "echo hi | sudo ip netns exec %s nc -N -q 1 %s 8002   # three times", t->netns,
	     t->stack_addr);
	char *av[] = { "sh", "-c", "echo hi | nc -N -q 1 \"$0\" 8002", t->stack_addr, NULL };
	struct kproc *ks[3];
	for (int i = 0; i < 3; i++) {
		ks[i] = kstart(t, 10, av);
		kclose_in(ks[i]);
	}
	for (int i = 0; i < 3; i++)
		kreap(ks[i], 8000);
	bool piled = swait_count(t, 8002, TCP_CLOSE_WAIT, before + 3, 5000);
	show_sss(t, 8002, TCP_CLOSE_WAIT);
	para("On the Linux side the clients' sockets are orphans in FIN_WAIT2 (no program holds "
	     "them any more); they end after tcp_fin_timeout (60 s). The stack's CLOSE_WAITs stay "
	     "until the daemon stops:");
	hint(t, "sudo ip netns exec %s ss -tano state fin-wait-2 '( dport = :8002 )'", t->netns);
	char *av2[] = { "ip", "netns", "exec", t->netns, "ss", "-tano", "state", "fin-wait-2",
			"( dport = :8002 )", NULL };
	char *out = capture(av2, 5000);
	block(out);
	free(out);
	check(t, piled, "%d more connections in CLOSE_WAIT on port 8002 (now %d)",
	      scount(t, 8002, TCP_CLOSE_WAIT) - before, scount(t, 8002, TCP_CLOSE_WAIT));
	para("The history answers 'which connections sat in CLOSE_WAIT, and how long':");
	hint(t, "tcplab history --state CLOSE_WAIT --port 8002");
	hint(t, "tcplab sql \"SELECT conn, remote, seconds, ongoing FROM state_time WHERE state = 'CLOSE_WAIT'\"");
}

static void step_syn_recv(struct tour *t)
{
	heading(t, 5, "SYN_RECV and tcp_synack_retries");
	para("A server that got a SYN and sent its SYN+ACK holds a half-open request in SYN_RECV "
	     "until the ACK comes. If it never comes (the client vanished), the server resends the "
	     "SYN+ACK tcp_synack_retries times, each time after twice the previous wait (1, 2, "
	     "4, ... s), then drops the request. Linux's default 5 means the request lives about 63 "
	     "s (the text's 180 s is an older kernel's).");
	char old[32] = "";
	tget(t, "net.ipv4.tcp_synack_retries", old, sizeof(old));
	hint(t, "tcplab set tcp_synack_retries 2   # was %s", old);
	tset(t, "net.ipv4.tcp_synack_retries", "2");
	para("Three SYNs from addresses that will never answer (inside 198.18.128.0/17: the "
	     "stack's SYN+ACKs go to the Linux host, which drops them):");
	hint(t, "sudo tcplab flood --count 3 --rate 10 --port %d", t->listen_port);
	int before = scount(t, t->listen_port, TCP_SYN_RECV);
	flood_run(&t->c, t->stack, NULL, t->listen_port, 3, 10, false, true);
	bool appeared = swait_count(t, t->listen_port, TCP_SYN_RECV, before + 3, 3000);
	struct cli_reply rep;
	char ids[3][24] = { "", "", "" };
	int nids = 0;
	if (srows(t, t->listen_port, TCP_SYN_RECV, &rep) == 0)
		for (size_t i = 0; i < rep.n && nids < 3; i++)
			cpy(ids[nids++], sizeof(ids[0]), rec_str(&rep.rows[i], "conn", ""));
	reply_free(&rep);
	show_sss(t, t->listen_port, TCP_SYN_RECV);
	para("In net/tcp they are st 03 with a retransmit timer (tr 1); retrnsmt counts the "
	     "SYN+ACKs resent:");
	show_net_tcp(t, t->listen_port);
	check(t, appeared, "3 half-open requests in SYN_RECV");
	para("With 2 retries the SYN+ACK leaves at 0, 1 and 3 s and the request goes at 7 s. "
	     "Waiting...");
	long long t0 = now_ms();
	bool dropped = swait_count_at_most(t, t->listen_port, TCP_SYN_RECV, before, 15000);
	printf("      (gone after %.1f s)\n", (now_ms() - t0) / 1000.0);
	check(t, dropped, "the requests were dropped after the retries");
	if (hist_open(t) && nids) {
		hint(t, "tcplab sql \"SELECT conn_id, synack_retrans, outcome, close_cause FROM half_open WHERE local LIKE '%%:%d'\"",
		     t->listen_port);
		int good = 0;
		for (int i = 0; i < nids; i++) {
			long long row = hist_conn(t, ids[i], "CLOSE");
			double n = row ? hist_num(t, "SELECT synack_retrans FROM connections WHERE id = ?1",
						  row, NULL)
				       : -1;
			printf("      request %s: %g SYN-ACK retransmissions, then dropped\n", ids[i], n);
			good += n == 2;
		}
		check(t, good == nids, "each request got exactly 2 SYN-ACK retransmissions (tcp_synack_retries = 2)");
	}
	hint(t, "tcplab set tcp_synack_retries %s", old);
	tset(t, "net.ipv4.tcp_synack_retries", old);
}

/* Runs `tcplab flood` (this binary) in the background. */
static struct kproc *flood_bg(struct tour *t, int port, long count, long rate)
{
	if (t->nkp == KPROC_MAX)
		return NULL;
	char pid_s[16], port_s[16], count_s[16], rate_s[16];
	snprintf(pid_s, sizeof(pid_s), "%d", t->pid);
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(count_s, sizeof(count_s), "%ld", count);
	snprintf(rate_s, sizeof(rate_s), "%ld", rate);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return NULL;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			dup2(null, STDIN_FILENO);
			dup2(null, STDOUT_FILENO);
		}
		char *av[] = { t->self, "--pid", pid_s, "flood", "-p", port_s, "-n", count_s,
			       "-r", rate_s, t->stack, NULL };
		execv(t->self, av);
		_exit(127);
	}
	struct kproc *k = &t->kp[t->nkp++];
	k->pid = pid;
	k->in = -1;
	return k;
}

static void show_counters(const char *label, const long long *b, const long long *a)
{
	static const char *const names[FLOOD_COUNTERS] = { "TCPReqQFullDrop", "TCPReqQFullDoCookies",
							   "SyncookiesSent", "SyncookiesRecv",
							   "ListenDrops", "ListenOverflows" };
	printf("      %s:", label);
	for (int i = 0; i < FLOOD_COUNTERS; i++)
		if (a[i] != b[i] || i == 0 || i == 2)
			printf(" %s +%lld", names[i], a[i] - b[i]);
	printf("\n");
}

static bool legit_connect(struct tour *t, int port, int secs)
{
	char port_s[16], secs_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	snprintf(secs_s, sizeof(secs_s), "%d", secs);
	char *av[] = { "ip", "netns", "exec", t->netns, "nc", "-z", "-w", secs_s, t->stack_addr,
		       port_s, NULL };
	return run_cmd(av, NULL, (secs + 3) * 1000) == 0;
}

static void step_syn_flood(struct tour *t)
{
	heading(t, 6, "a SYN flood, with tcp_syncookies 0 and 1");
	para("Half-open requests wait in the listener's SYN queue. A SYN flood fills it with "
	     "requests from forged addresses that never answer; once it is full, new SYNs - also "
	     "those of real clients - are dropped. SYN cookies (tcp_syncookies = 1, Linux's "
	     "default) answer a full queue differently: the SYN+ACK's sequence number encodes the "
	     "connection (a cookie) and no state is kept; a real client's ACK brings the cookie "
	     "back and the connection is made from it.");
	int port = t->listen_port + 3;
	char port_s[16];
	snprintf(port_s, sizeof(port_s), "%d", port);
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "listen");
	req_pos(&req, port_s);
	ctl_put(&req, "backlog", "64");
	ctl_put(&req, "host", t->stack);
	simple(t, &req, &rep);
	reply_free(&rep);
	hint(t, "tcplab listen --backlog 64 %d", port);
	char old[32] = "";
	tget(t, "net.ipv4.tcp_syncookies", old, sizeof(old));

	para("With tcp_syncookies = 0: a flood of 4500 SYNs at 1500/s, and meanwhile a real "
	     "client from the Linux host.");
	hint(t, "tcplab set tcp_syncookies 0");
	tset(t, "net.ipv4.tcp_syncookies", "0");
	hint(t, "sudo tcplab flood --port %d --count 4500 --rate 1500 &", port);
	hint(t, "sudo ip netns exec %s nc -z -w 2 %s %d; echo $?", t->netns, t->stack_addr, port);
	long long b[FLOOD_COUNTERS], a[FLOOD_COUNTERS];
	long srb, sra;
	flood_read_counters(t->c.d.mount, t->stack, port, b, &srb);
	struct kproc *f = flood_bg(t, port, 4500, 1500);
	bool full = swait_count(t, port, TCP_SYN_RECV, 60, 5000);
	bool legit = legit_connect(t, port, 2);
	kreap(f, 15000);
	flood_read_counters(t->c.d.mount, t->stack, port, a, &sra);
	printf("      the real client: %s\n", legit ? "connected" : "timed out (its SYNs were dropped)");
	show_counters("counters", b, a);
	printf("      half-open requests (SYN-RECV) on port %d: %d\n", port,
	       scount(t, port, TCP_SYN_RECV));
	check(t, full, "the SYN queue filled up (SYN_RECV requests on port %d)", port);
	check(t, a[0] > b[0], "the full queue dropped SYNs (TCPReqQFullDrop +%lld)", a[0] - b[0]);
	check(t, !legit, "the real client could not connect during the flood");
	check(t, a[2] == b[2], "no SYN cookie was sent (SyncookiesSent +%lld)", a[2] - b[2]);

	para("With tcp_syncookies = 1, the same flood and the same client:");
	hint(t, "tcplab set tcp_syncookies 1");
	tset(t, "net.ipv4.tcp_syncookies", "1");
	flood_read_counters(t->c.d.mount, t->stack, port, b, &srb);
	f = flood_bg(t, port, 4500, 1500);
	long long deadline = now_ms() + 5000;
	long long cur[FLOOD_COUNTERS];
	long cur_sr;
	do
		flood_read_counters(t->c.d.mount, t->stack, port, cur, &cur_sr);
	while (cur[2] == b[2] && now_ms() < deadline && tick(20));
	legit = legit_connect(t, port, 3);
	kreap(f, 15000);
	flood_read_counters(t->c.d.mount, t->stack, port, a, &sra);
	printf("      the real client: %s\n", legit ? "connected (through a cookie)" : "timed out");
	show_counters("counters", b, a);
	check(t, a[2] > b[2], "the stack answered with SYN cookies (SyncookiesSent +%lld)", a[2] - b[2]);
	check(t, legit, "the real client connected during the flood");
	check(t, a[3] > b[3], "its ACK was validated as a cookie (SyncookiesRecv +%lld)", a[3] - b[3]);
	hint(t, "cat %s/net/netstat   # TcpExt: SyncookiesSent SyncookiesRecv TCPReqQFullDrop ...", t->M);
	hint(t, "tcplab sql \"SELECT from_cookie, count(*) FROM connections WHERE lport = %d GROUP BY 1\"",
	     port);
	hint(t, "tcplab set tcp_syncookies %s", old);
	tset(t, "net.ipv4.tcp_syncookies", old);
}

/* ---- setup and teardown ---- */

static bool parse_steps(const char *s, bool *want)
{
	for (int i = 0; i <= TOUR_STEPS; i++)
		want[i] = false;
	char buf[64];
	cpy(buf, sizeof(buf), s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int n = atoi(tok);
		if (n < 1 || n > TOUR_STEPS)
			return false;
		want[n] = true;
	}
	return true;
}

/* The lab's first link: the stack host and its kernel peer. */
static int pick_link(struct tour *t)
{
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "links");
	int rc = ctl_call_or_say(&t->c, &req, &rep);
	if (rc == 0 && rep.n == 0) {
		fprintf(stderr, "tcplab tour: the lab has no link between a stack host and a kernel host\n");
		rc = EXIT_FAIL;
	}
	if (rc == 0) {
		const struct cli_rec *r = &rep.rows[0];
		cpy(t->stack, sizeof(t->stack), rec_str(r, "stack", ""));
		cpy(t->stack_addr, sizeof(t->stack_addr), rec_str(r, "stack_addr", ""));
		cpy(t->peer, sizeof(t->peer), rec_str(r, "peer", ""));
		cpy(t->peer_addr, sizeof(t->peer_addr), rec_str(r, "peer_addr", ""));
		cpy(t->netns, sizeof(t->netns), rec_str(r, "netns", ""));
		cpy(t->link, sizeof(t->link), rec_str(r, "name", ""));
		t->link_busy = strcmp(rec_str(r, "capturing", "0"), "1") == 0;
	}
	reply_free(&rep);
	return rc;
}

/* The tour's listener: the first free port of 5001, 5101, ... (with the
 * next three free too: nc -l and the flood's listener use them). */
static int open_listener(struct tour *t)
{
	for (int port = 5001; port < 6000; port += 100) {
		if (scount(t, port + 1, TCP_CLOSE) > 0 || scount(t, port + 3, TCP_CLOSE) > 0 ||
		    kcount(t, port + 1, "LISTEN") > 0)
			continue;
		char port_s[16];
		snprintf(port_s, sizeof(port_s), "%d", port);
		struct strbuf req = { 0 };
		struct cli_reply rep;
		req_begin(&req, "listen");
		req_pos(&req, port_s);
		ctl_put(&req, "host", t->stack);
		int rc = ctl(t, &req, &rep);
		if (rc == 0) {
			t->listen_port = port;
			cpy(t->listener, sizeof(t->listener), rec_str(&rep.fin, "conn", ""));
		}
		reply_free(&rep);
		if (rc == 0)
			return 0;
		if (rc != -EADDRINUSE)
			return rc;
	}
	return -EADDRINUSE;
}

/* The tour captures the link so that its diagrams show every segment
 * (unless someone already captures it: a restart would truncate theirs). */
static void link_capture(struct tour *t, bool start)
{
	if (start && t->link_busy)
		return;
	if (!start && !t->pcap[0])
		return;
	if (start)
		snprintf(t->pcap, sizeof(t->pcap), "/tmp/tcplab-tour.%d.pcap", (int)getpid());
	struct strbuf req = { 0 };
	struct cli_reply rep;
	req_begin(&req, "capture");
	req_pos(&req, t->link);
	req_pos(&req, start ? "start" : "stop");
	if (start)
		req_pos(&req, t->pcap);
	int rc = ctl_call(&t->c, &req, &rep);
	reply_free(&rep);
	if (start && rc == 0)
		hint(t, "tcplab capture %s start %s   # every frame, for the diagrams", t->link, t->pcap);
	else if (start)
		t->pcap[0] = '\0';
	if (!start) {
		unlink(t->pcap);
		printf("  removed the tour's capture %s (keep your own: tcplab capture start FILE)\n",
		       t->pcap);
		t->pcap[0] = '\0';
	}
}

static void restore(struct tour *t)
{
	bool any = false;
	for (int i = 0; i < 3; i++) {
		if (!t->changed[i] || !t->orig[i][0])
			continue;
		struct strbuf req = { 0 };
		struct cli_reply rep;
		req_begin(&req, "set");
		req_pos(&req, restore_names[i]);
		req_pos(&req, t->orig[i]);
		ctl_put(&req, "host", t->stack);
		if (ctl_call(&t->c, &req, &rep) == 0) {
			printf("  restored %s = %s\n", restore_names[i], t->orig[i]);
			t->changed[i] = false;
		} else {
			fprintf(stderr, "tcplab tour: could not restore %s = %s: %s\n", restore_names[i],
				t->orig[i], rep.msg ? rep.msg : "?");
			t->failures++;
		}
		reply_free(&rep);
		any = true;
	}
	if (!any)
		printf("  (no tunable to restore)\n");
}

static void reap_all(struct tour *t)
{
	for (int i = 0; i < t->nkp; i++)
		if (t->kp[i].pid > 0)
			kreap(&t->kp[i], 500);
}

int cmd_tour(int argc, char **argv)
{
	enum { OPT_LAB = 256, OPT_KEEP, OPT_MSL, OPT_PAUSE };
	static const struct option longopts[] = {
		{ "step", required_argument, NULL, 's' },
		{ "lab", required_argument, NULL, OPT_LAB },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "msl-ms", required_argument, NULL, OPT_MSL },
		{ "pause", no_argument, NULL, OPT_PAUSE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct tour tour; /* large; one per process */
	struct tour *t = &tour;
	memset(t, 0, sizeof(*t));
	t->msl_ms = 2000;
	bool want[TOUR_STEPS + 1];
	for (int i = 0; i <= TOUR_STEPS; i++)
		want[i] = true;
	const char *lab = NULL;
	bool keep = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			if (!parse_steps(optarg, want)) {
				fprintf(stderr, "tcplab tour: --step %s: expected numbers 1..%d, comma-separated\n",
					optarg, TOUR_STEPS);
				return EXIT_USAGE;
			}
			break;
		case OPT_LAB:
			lab = optarg;
			break;
		case OPT_KEEP:
			keep = true;
			break;
		case OPT_MSL:
			t->msl_ms = atoi(optarg);
			if (t->msl_ms < 100 || t->msl_ms > 30000) {
				fprintf(stderr, "tcplab tour: --msl-ms %s: expected 100..30000\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_PAUSE:
			t->pause = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "tcplab tour: option %s needs a value\n", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			fprintf(stderr, "tcplab tour: unknown option %s: see tcplab tour --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab tour: unexpected argument '%s'\n", argv[optind]);
		return EXIT_USAGE;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "tcplab tour: needs root (the peer namespace, raw SYNs, the control socket): run `sudo tcplab tour`\n");
		return EXIT_FAIL;
	}
	ssize_t n = readlink("/proc/self/exe", t->self, sizeof(t->self) - 1);
	if (n <= 0) {
		perror("tcplab tour: /proc/self/exe");
		return EXIT_FAIL;
	}
	t->self[n] = '\0';
	t->color = cli_use_color(stdout);
	int started = 0;
	if (lab) {
		char labpath[PATH_MAX], log[PATH_MAX];
		if (!realpath(lab, labpath)) {
			fprintf(stderr, "tcplab tour: cannot read the lab file %s: %m\n", lab);
			return EXIT_FAIL;
		}
		int rc = updown_start(labpath, NULL, NULL, false, NULL, false, NULL, 30, &started, log,
				      sizeof(log));
		if (rc)
			return rc;
		printf("started tcplabd pid %d with %s (log %s)\n", started, labpath, log);
		cli.pid = started;
		cli.socket = NULL;
	}
	int rc = cli_connect(&t->c, "tcplab tour");
	if (rc) {
		if (started)
			updown_stop(started, 30, "tcplab tour");
		return rc;
	}
	t->pid = t->c.d.pid;
	cpy(t->db, sizeof(t->db), t->c.d.db);
	struct sigaction sa = { .sa_handler = on_sigint };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if ((rc = pick_link(t)) != 0)
		goto out;
	if (!t->netns[0] || !t->peer_addr[0] || !t->stack_addr[0]) {
		fprintf(stderr, "tcplab tour: the lab's first link must join a stack host and a kernel host with an address in a named namespace (like labs/default.lab)\n");
		rc = EXIT_FAIL;
		goto out;
	}
	snprintf(t->M, sizeof(t->M), "%.3000s/hosts/%.200s", t->c.d.mount, t->stack);
	for (int i = 0; i < 3; i++)
		tget(t, restore_names[i], t->orig[i], sizeof(t->orig[i]));

	printf("%s== tcplab tour: TCP connection states, live ==%s\n\n", t->color ? "\033[1;37m" : "",
	       t->color ? ANSI_RESET : "");
	para("The lab: the userspace stack host '%s' (%s) and the Linux kernel host '%s' (%s) in "
	     "network namespace %s, joined by link %s. Everything below really happens on it; each "
	     "step shows what the files and tables say, and the '$' lines are the commands to see "
	     "it yourself in another terminal (as root). The stack's files are in the FUSE view:",
	     t->stack, t->stack_addr, t->peer, t->peer_addr, t->netns, t->link);
	hint(t, "ls %s   # net/tcp net/connections net/netstat conns/ sys/net/...", t->M);
	hint(t, "tcplab watch   # every transition, live, in another terminal");
	para("TIME_WAIT is made short for the tour with the lab-only MSL knob (Linux has none):");
	char msl[16];
	snprintf(msl, sizeof(msl), "%d", t->msl_ms);
	hint(t, "tcplab set tcplab.msl_ms %d   # was %s", t->msl_ms, t->orig[0]);
	if (tset(t, "tcplab.msl_ms", msl) < 0 || (rc = open_listener(t)) < 0) {
		if (rc < 0)
			fprintf(stderr, "tcplab tour: cannot open a listener on %s: %s\n", t->stack,
				strerror(-rc));
		rc = EXIT_FAIL;
		goto out_restore;
	}
	printf("  (the tour's listener: conn %s on port %d)\n", t->listener, t->listen_port);
	link_capture(t, true);
	fflush(stdout);

	void (*const steps[TOUR_STEPS + 1])(struct tour *) = {
		NULL, step_handshake, step_close_peer_first, step_close_stack_first,
		step_close_wait, step_syn_recv, step_syn_flood,
	};
	int ran = 0;
	for (int i = 1; i <= TOUR_STEPS && !interrupted; i++) {
		if (!want[i])
			continue;
		if (ran++)
			pause_step(t);
		steps[i](t);
		fflush(stdout);
	}
	rc = 0;
out_restore:
	printf("\n%s== the end ==%s\n\n", t->color ? "\033[1;37m" : "", t->color ? ANSI_RESET : "");
	restore(t);
	reap_all(t);
	link_capture(t, false);
	if (interrupted)
		printf("  interrupted\n");
	printf("  %d checks, %d failed%s\n", t->checks, t->failures,
	       t->failures ? "" : ": every step reached the state it claims");
	para("More to look at: the state diagram with every transition counted so far, the "
	     "recorded connections, and any of them as a ladder diagram:");
	hint(t, "tcplab states -o states.svg");
	hint(t, "tcplab history --limit 5");
	hint(t, "tcplab diagram --last -o last.svg");
out:
	if (t->hdb)
		sqlite3_close(t->hdb);
	cli_close(&t->c); /* the daemon closes the tour's handles */
	if (started && !keep) {
		if (updown_stop(started, 30, "tcplab tour") == 0)
			printf("  stopped tcplabd pid %d\n", started);
	} else if (started) {
		printf("  tcplabd pid %d keeps running: stop it with `sudo tcplab --pid %d down`\n",
		       started, started);
	}
	if (rc)
		return rc;
	if (interrupted)
		return 130;
	return t->failures ? EXIT_FAIL : EXIT_OK;
}
