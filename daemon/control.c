/* The control socket (see control.h; protocol in docs/control.md).
 *
 * Served by libevent on the loop thread: a listener accepts clients, each
 * client gets a bufferevent; every complete request line is answered at
 * once (no verb blocks), and after any verb that may have touched a stack
 * the loop is asked to flush it (loop_flush), so the segments an
 * application call queued leave right away and its events reach the log,
 * the history and the FUSE `events` stream. */
#include "control.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control_proto.h"
#include "lab.h"
#include "log.h"
#include "loop.h"
#include "recorder.h"
#include "registry.h"
#include "stack.h"
#include "strbuf.h"
#include "tcp_api.h"
#include "tcp_procfs.h"
#include "tcp_state.h"
#include "tcp_tunables.h"

#define CTL_RECV_DEFAULT 65536
#define CTL_RECV_MAX (1u << 20)

struct ctl_client;

/* An application handle made through the control socket. Invariant: c is
 * a live handle of wire `wire`'s stack (never passed to tcp_close yet);
 * owner is the client that made it, or NULL once kept by the daemon. */
struct ctl_handle {
	struct ctl_handle *next;
	struct control *ctl;
	struct ctl_client *owner;
	unsigned wire;
	struct tcp_conn *c;
	uint64_t id;
	int err;     /* from on_closed: 0, -ECONNRESET, -ECONNREFUSED, ... */
	bool closed; /* on_closed was called: the connection is over */
};

/* One client connection. Invariant: bev is live until client_free. */
struct ctl_client {
	struct ctl_client *next;
	struct control *ctl;
	struct bufferevent *bev;
	unsigned serial;
	bool closing; /* free once the output is flushed */
};

struct control {
	struct loop *lp;
	struct lab *lab;
	struct recorder *rec;
	struct evconnlistener *lev;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char lab_name[PATH_MAX];
	char mount[PATH_MAX];
	char db[PATH_MAX]; /* "" = no history */
	struct ctl_client *clients;
	struct ctl_handle *handles;
	unsigned next_serial;
	tl_usec_t started;
};

/* One request being answered: the data lines and the final line go into
 * out, which is written to the client in one piece. */
struct req {
	struct control *ctl;
	struct ctl_client *cl;
	struct ctl_line *l;
	struct strbuf out;
	bool flush; /* a stack may have queued frames: loop_flush after */
};

const char *control_socket_path(int pid, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s/control.%d.sock", REGISTRY_DIR, pid);
	return buf;
}

/* ---- responses ---- */

static void begin_data(struct req *r)
{
	sb_append(&r->out, "-", 1);
}

static void end_line(struct req *r)
{
	sb_append(&r->out, "\n", 1);
}

/* The final line: "OK" plus whatever ctl_put* added after begin_ok. */
static void begin_ok(struct req *r)
{
	sb_append(&r->out, "OK", 2);
}

static int fail(struct req *r, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "ERR ENAME message": the message is plain text to the end of the line. */
static int fail(struct req *r, int err, const char *fmt, ...)
{
	char name[16], msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	sb_printf(&r->out, "ERR %s %s\n", ctl_errno_name(err, name), msg);
	return err;
}

/* ---- arguments ---- */

static const char *arg(struct req *r, const char *key)
{
	const struct ctl_word *w = ctl_find(r->l, key);
	return w ? w->val : NULL;
}

/* Positional argument i (the verb is 0). */
static const char *pos(struct req *r, unsigned i)
{
	const struct ctl_word *w = ctl_pos(r->l, i);
	return w ? w->val : NULL;
}

static bool flag(struct req *r, const char *key)
{
	const char *v = arg(r, key);
	return v && strcmp(v, "0") != 0 && strcmp(v, "no") != 0;
}

/* The wire of host=NAME, or of the first stack host. -1 (and the error
 * line written) if there is no such stack host. */
static int pick_wire(struct req *r)
{
	const char *name = arg(r, "host");
	struct lab *lab = r->ctl->lab;
	if (!name) {
		if (lab->n_wires)
			return 0;
		fail(r, -ENOENT, "the lab has no stack host");
		return -1;
	}
	for (unsigned i = 0; i < lab->n_wires; i++)
		if (strcmp(lab->wires[i].host->name, name) == 0)
			return (int)i;
	fail(r, -ENOENT, "no stack host named '%s' (see `hosts`)", name);
	return -1;
}

static bool parse_num(const char *s, unsigned long long lo, unsigned long long hi,
		      unsigned long long *out)
{
	return ctl_parse_u64(s, lo, hi, out);
}

/* Looks up CONN (positional i): a handle of this client or a kept one.
 * Writes the error line and returns NULL if there is none. */
static struct ctl_handle *pick_handle(struct req *r, unsigned i)
{
	const char *s = pos(r, i);
	unsigned long long id;
	if (!s || !parse_num(s, 1, UINT64_MAX, &id)) {
		fail(r, -EINVAL, "expected a connection id (see `handles` or `ss`)");
		return NULL;
	}
	const char *host = arg(r, "host");
	struct ctl_handle *found = NULL;
	for (struct ctl_handle *h = r->ctl->handles; h; h = h->next) {
		if (h->id != id)
			continue;
		if (host && strcmp(r->ctl->lab->wires[h->wire].host->name, host) != 0)
			continue;
		if (found) {
			fail(r, -EINVAL, "conn %llu exists on several hosts: add host=NAME", id);
			return NULL;
		}
		found = h;
	}
	if (!found) {
		fail(r, -ENOENT,
		     "conn %llu is not an application handle of the control socket (only connections made with connect, listen or accept can be driven; see `handles`)",
		     id);
		return NULL;
	}
	if (found->owner && found->owner != r->cl) {
		fail(r, -EPERM,
		     "conn %llu belongs to another control connection (client %u); it can drive it, or `keep` it to share it",
		     id, found->owner->serial);
		return NULL;
	}
	return found;
}

/* ---- connection rows (parsed from the stack's ss-style text) ---- */

struct row {
	int state;
	unsigned long recvq, sendq;
	char local[32], peer[32];
	uint64_t id;
	uint16_t lport, rport;
};

static uint16_t port_of(const char *addr)
{
	const char *c = strrchr(addr, ':');
	return c && c[1] != '*' ? (uint16_t)strtoul(c + 1, NULL, 10) : 0;
}

/* Calls fn for every row of wire wi's connection table (listeners,
 * connections, requests, TIME_WAIT entries), as tcp_procfs_connections
 * renders it; stops early when fn returns non-zero. */
static int foreach_row(struct control *ctl, unsigned wi, tl_usec_t now,
		       int (*fn)(const struct row *row, void *ctx), void *ctx)
{
	struct strbuf sb = { 0 };
	tcp_procfs_connections(stack_tcp(ctl->lab->wires[wi].st), now, &sb);
	if (sb.failed) {
		sb_free(&sb);
		return -ENOMEM;
	}
	int rc = 0;
	char *save = NULL;
	bool header = true;
	for (char *line = sb.p ? strtok_r(sb.p, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (header) { /* "State Recv-Q ..." */
			header = false;
			continue;
		}
		char st[16];
		struct row row = { 0 };
		if (sscanf(line, "%15s %lu %lu %31s %31s %" SCNu64, st, &row.recvq, &row.sendq,
			   row.local, row.peer, &row.id) != 6)
			continue;
		row.state = tcp_state_from_name(st);
		row.lport = port_of(row.local);
		row.rport = port_of(row.peer);
		if ((rc = fn(&row, ctx)) != 0)
			break;
	}
	sb_free(&sb);
	return rc;
}

struct find_state {
	uint64_t id;
	int state;
};

static int find_state_fn(const struct row *row, void *ctx)
{
	struct find_state *f = ctx;
	if (row->id != f->id)
		return 0;
	f->state = row->state;
	return 1;
}

/* The state of connection id on wire wi as the tables show it (TIME_WAIT
 * and requests included); TCP_CLOSE if it is gone. */
static int state_by_id(struct control *ctl, unsigned wi, uint64_t id)
{
	struct find_state f = { .id = id, .state = TCP_CLOSE };
	foreach_row(ctl, wi, loop_now(), find_state_fn, &f);
	return f.state;
}

/* ---- handles ---- */

static void h_on_closed(void *ctx, struct tcp_conn *c, int err)
{
	struct ctl_handle *h = ctx;
	/* A listener's unaccepted children share its callbacks: only the
	 * handle's own connection counts (ctx is NULL until handle_new). */
	if (!h || h->c != c)
		return;
	h->closed = true;
	h->err = err;
}

static const struct tcp_callbacks handle_cb = { .on_closed = h_on_closed };

static struct ctl_handle *handle_new(struct control *ctl, struct ctl_client *owner,
				     unsigned wi, struct tcp_conn *c)
{
	struct ctl_handle *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->ctl = ctl;
	h->owner = owner;
	h->wire = wi;
	h->c = c;
	h->id = tcp_conn_id(c);
	h->next = ctl->handles;
	ctl->handles = h;
	tcp_set_callbacks(c, &handle_cb, h);
	return h;
}

static void handle_unlink(struct ctl_handle *h)
{
	for (struct ctl_handle **p = &h->ctl->handles; *p; p = &(*p)->next) {
		if (*p == h) {
			*p = h->next;
			return;
		}
	}
}

/* tcp_close (FIN, or RST with unread data, as Linux's close()) or
 * tcp_abort, then forgets the handle. */
static void handle_release(struct ctl_handle *h, bool abort)
{
	handle_unlink(h);
	if (abort)
		tcp_abort(h->c, loop_now());
	else
		tcp_close(h->c, loop_now());
	free(h);
}

static const char *owner_of(struct control *ctl, struct ctl_client *me, unsigned wi,
			    uint64_t id)
{
	for (struct ctl_handle *h = ctl->handles; h; h = h->next)
		if (h->wire == wi && h->id == id)
			return !h->owner ? "kept" : h->owner == me ? "you" : "other";
	return NULL;
}

static void put_addrs(struct strbuf *sb, struct tcp_conn *c)
{
	uint32_t la, ra;
	uint16_t lp, rp;
	char a[16], b[16];
	tcp_conn_addrs(c, &la, &lp, &ra, &rp);
	struct in_addr x = { .s_addr = htonl(la) }, y = { .s_addr = htonl(ra) };
	inet_ntop(AF_INET, &x, a, sizeof(a));
	inet_ntop(AF_INET, &y, b, sizeof(b));
	ctl_putf(sb, "local", "%s:%u", a, lp);
	if (tcp_conn_state(c) == TCP_LISTEN)
		ctl_put(sb, "peer", "0.0.0.0:*");
	else
		ctl_putf(sb, "peer", "%s:%u", b, rp);
}

static void put_handle(struct req *r, struct ctl_handle *h)
{
	ctl_put(&r->out, "host", r->ctl->lab->wires[h->wire].host->name);
	ctl_putf(&r->out, "conn", "%" PRIu64, h->id);
	ctl_put(&r->out, "state", tcp_state_name(tcp_conn_state(h->c)));
	put_addrs(&r->out, h->c);
}

/* ---- verbs ---- */

static int v_status(struct req *r)
{
	struct control *ctl = r->ctl;
	unsigned handles = 0;
	for (struct ctl_handle *h = ctl->handles; h; h = h->next)
		handles++;
	unsigned clients = 0;
	for (struct ctl_client *c = ctl->clients; c; c = c->next)
		clients++;
	begin_ok(r);
	ctl_put(&r->out, "version", TL_VERSION);
	ctl_putf(&r->out, "pid", "%d", (int)getpid());
	ctl_put(&r->out, "lab", ctl->lab_name);
	ctl_put(&r->out, "mount", ctl->mount);
	ctl_put(&r->out, "db", ctl->db[0] ? ctl->db : "-");
	ctl_put(&r->out, "socket", ctl->path);
	ctl_putf(&r->out, "hosts", "%u", ctl->lab->cfg.n_hosts);
	ctl_putf(&r->out, "links", "%u", ctl->lab->n_wires);
	ctl_putf(&r->out, "uptime_s", "%.3f", (double)(loop_now() - ctl->started) / 1e6);
	ctl_putf(&r->out, "handles", "%u", handles);
	ctl_putf(&r->out, "clients", "%u", clients);
	ctl_putf(&r->out, "client", "%u", r->cl->serial);
	end_line(r);
	return 0;
}

/* Where a client enters a kernel host: `ip netns exec` needs a name
 * (netns), setns() a path (netns_path). */
static void put_netns(struct strbuf *out, const struct lab_host *h)
{
	if (h->netns_mode == LAB_NETNS_PID) {
		ctl_putf(out, "netns_path", "/proc/%d/ns/net", h->netns_pid);
	} else if (h->netns_mode == LAB_NETNS_ROOT) {
		ctl_putf(out, "netns_path", "/proc/%d/ns/net", (int)getpid());
	} else {
		ctl_put(out, "netns", h->netns);
		ctl_putf(out, "netns_path", "/run/netns/%s", h->netns);
	}
	ctl_put(out, "ifname", h->ifname);
}

static int v_hosts(struct req *r)
{
	const struct lab_config *cfg = &r->ctl->lab->cfg;
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct lab_host *h = &cfg->hosts[i];
		char a[16];
		begin_data(r);
		ctl_put(&r->out, "name", h->name);
		ctl_put(&r->out, "kind", h->kind == LAB_HOST_STACK ? "stack" : "kernel");
		if (h->addr)
			ctl_putf(&r->out, "addr", "%s/%u", lab_ip_str(h->addr, a), h->prefix_len);
		ctl_put(&r->out, "link", cfg->links[h->link].name);
		if (h->kind == LAB_HOST_KERNEL) {
			put_netns(&r->out, h);
		} else {
			char mac[18];
			ctl_put(&r->out, "mac", lab_mac_str(h->mac, mac));
		}
		if (h->gateway)
			ctl_put(&r->out, "gateway", lab_ip_str(h->gateway, a));
		end_line(r);
	}
	begin_ok(r);
	end_line(r);
	return 0;
}

static int v_links(struct req *r)
{
	struct lab *lab = r->ctl->lab;
	for (unsigned i = 0; i < lab->n_wires; i++) {
		const struct lab_wire *w = &lab->wires[i];
		char a[16], b[16];
		begin_data(r);
		ctl_put(&r->out, "name", w->link->name);
		ctl_put(&r->out, "stack", w->host->name);
		ctl_put(&r->out, "stack_addr", lab_ip_str(w->host->addr, a));
		ctl_put(&r->out, "peer", w->peer->name);
		ctl_put(&r->out, "peer_kind", w->peer->kind == LAB_HOST_STACK ? "stack" : "kernel");
		if (w->peer->addr)
			ctl_put(&r->out, "peer_addr", lab_ip_str(w->peer->addr, b));
		if (w->peer->kind == LAB_HOST_KERNEL)
			put_netns(&r->out, w->peer);
		ctl_putf(&r->out, "mtu", "%u", w->link->mtu);
		ctl_put(&r->out, "capturing", w->cap ? "1" : "0");
		end_line(r);
	}
	begin_ok(r);
	end_line(r);
	return 0;
}

/* ss filters: states as a bit set, ports (0 = any). */
struct ss_ctx {
	struct req *r;
	unsigned wire;
	unsigned states; /* bit per enum tcp_state; 0 = all */
	int port, sport, dport;
	bool info;
	unsigned rows;
	tl_usec_t now;
};

/* Copies the named variables of `info` text ("name value" lines) as
 * words. */
static void put_info(struct strbuf *out, const char *info)
{
	static const char *const wanted[] = {
		"rtt_us", "rttvar_us", "min_rtt_us", "rto_us", "mss", "cwnd", "ssthresh",
		"retransmits", "total_retrans", "snd_wnd", "rcv_wnd", "bytes_sent",
		"bytes_received", "segs_out", "segs_in", "congestion_control", "options",
		"timer",
	};
	for (size_t i = 0; i < sizeof(wanted) / sizeof(wanted[0]); i++) {
		size_t n = strlen(wanted[i]);
		for (const char *p = info; p && *p;) {
			const char *eol = strchr(p, '\n');
			size_t len = eol ? (size_t)(eol - p) : strlen(p);
			if (len > n && strncmp(p, wanted[i], n) == 0 && p[n] == ' ') {
				ctl_putn(out, wanted[i], p + n + 1, len - n - 1);
				break;
			}
			p = eol ? eol + 1 : NULL;
		}
	}
}

static int ss_row_fn(const struct row *row, void *vctx)
{
	struct ss_ctx *s = vctx;
	if (s->states && !(s->states & (1u << row->state)))
		return 0;
	if (s->port && row->lport != s->port && row->rport != s->port)
		return 0;
	if (s->sport && row->lport != s->sport)
		return 0;
	if (s->dport && row->rport != s->dport)
		return 0;
	struct req *r = s->r;
	struct lab_wire *w = &r->ctl->lab->wires[s->wire];
	begin_data(r);
	ctl_put(&r->out, "host", w->host->name);
	ctl_put(&r->out, "state", tcp_state_name(row->state));
	ctl_putf(&r->out, "recvq", "%lu", row->recvq);
	ctl_putf(&r->out, "sendq", "%lu", row->sendq);
	ctl_put(&r->out, "local", row->local);
	ctl_put(&r->out, "peer", row->peer);
	ctl_putf(&r->out, "conn", "%" PRIu64, row->id);
	const char *owner = owner_of(r->ctl, r->cl, s->wire, row->id);
	if (owner)
		ctl_put(&r->out, "handle", owner);
	if (s->info && row->state != TCP_LISTEN && row->state != TCP_TIME_WAIT &&
	    row->state != TCP_SYN_RECV) {
		struct strbuf info = { 0 };
		if (tcp_procfs_conn_info(stack_tcp(w->st), row->id, s->now, &info) == 0 && info.p)
			put_info(&r->out, info.p);
		sb_free(&info);
	}
	end_line(r);
	s->rows++;
	return 0;
}

static int v_ss(struct req *r)
{
	struct ss_ctx s = { .r = r, .now = loop_now(), .info = flag(r, "info") };
	const char *states = arg(r, "state");
	if (states) {
		char buf[256];
		snprintf(buf, sizeof(buf), "%s", states);
		char *save = NULL;
		for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			int st = tcp_state_from_name(t);
			if (!st)
				return fail(r, -EINVAL,
					    "unknown state '%s' (ESTABLISHED, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, TIME_WAIT, CLOSE_WAIT, LAST_ACK, LISTEN, CLOSING, or ss spellings)",
					    t);
			s.states |= 1u << st;
		}
	}
	if (flag(r, "listen"))
		s.states |= 1u << TCP_LISTEN;
	static const char *const pk[] = { "port", "sport", "dport" };
	int *pv[] = { &s.port, &s.sport, &s.dport };
	for (int i = 0; i < 3; i++) {
		const char *v = arg(r, pk[i]);
		unsigned long long p;
		if (!v)
			continue;
		if (!parse_num(v, 1, 65535, &p))
			return fail(r, -EINVAL, "%s=%s: expected a port 1..65535", pk[i], v);
		*pv[i] = (int)p;
	}
	unsigned first = 0, last = r->ctl->lab->n_wires;
	if (arg(r, "host")) {
		int wi = pick_wire(r);
		if (wi < 0)
			return -ENOENT;
		first = (unsigned)wi;
		last = first + 1;
	}
	for (unsigned wi = first; wi < last; wi++) {
		s.wire = wi;
		if (foreach_row(r->ctl, wi, s.now, ss_row_fn, &s) < 0)
			return fail(r, -ENOMEM, "out of memory");
	}
	begin_ok(r);
	ctl_putf(&r->out, "rows", "%u", s.rows);
	end_line(r);
	return 0;
}

/* "net.ipv4.tcp_syncookies" for a row. */
static void dotted_name(const struct tcp_tunable *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%s.%s", t->dir, t->name);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
}

/* Accepts net.ipv4.tcp_syncookies, net/ipv4/tcp_syncookies,
 * tcplab.msl_ms, or a bare name (tcp_syncookies, somaxconn, msl_ms). */
static const struct tcp_tunable *find_tunable(const char *name)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", name);
	for (char *p = buf; *p; p++)
		if (*p == '/')
			*p = '.';
	const char *dotted = strncmp(buf, "sys.", 4) == 0 ? buf + 4 : buf;
	const struct tcp_tunable *t = tcp_tunable_find_sysctl(dotted);
	if (t)
		return t;
	for (size_t i = 0; (t = tcp_tunable_at(i)); i++)
		if (strcmp(t->name, name) == 0)
			return t;
	return NULL;
}

static void put_tunable(struct req *r, unsigned wi, const struct tcp_tunable *t)
{
	char name[128], val[256];
	dotted_name(t, name, sizeof(name));
	int n = tcp_tunable_read(stack_sysctl(r->ctl->lab->wires[wi].st), t, val, sizeof(val));
	if (n < 0)
		n = 0;
	while (n > 0 && val[n - 1] == '\n')
		n--;
	begin_data(r);
	ctl_put(&r->out, "host", r->ctl->lab->wires[wi].host->name);
	ctl_put(&r->out, "name", name);
	ctl_putn(&r->out, "value", val, (size_t)n);
	ctl_putf(&r->out, "mode", "%04o", t->mode);
	if (t->help)
		ctl_put(&r->out, "help", t->help);
	end_line(r);
}

static int v_get(struct req *r)
{
	int wi = pick_wire(r);
	if (wi < 0)
		return -ENOENT;
	const char *name = pos(r, 1);
	if (name) {
		const struct tcp_tunable *t = find_tunable(name);
		if (!t)
			return fail(r, -ENOENT, "no tunable named '%s' (`get` lists them all)", name);
		put_tunable(r, (unsigned)wi, t);
	} else {
		const struct tcp_tunable *t;
		for (size_t i = 0; (t = tcp_tunable_at(i)); i++)
			put_tunable(r, (unsigned)wi, t);
	}
	begin_ok(r);
	end_line(r);
	return 0;
}

/* "sys/net/ipv4/tcp_syncookies": the tunable's path in the FUSE view,
 * which names it in its log lines; ours use the same words. */
static void view_path(const struct tcp_tunable *t, char *buf, size_t cap)
{
	snprintf(buf, cap, "sys/%s%s/%s", strncmp(t->dir, "net/", 4) == 0 ? "" : "net/", t->dir,
		 t->name);
}

/* Sets a tunable exactly as a write to its FUSE file does: the netemu
 * table validates with Linux's rules (all or nothing), the change or the
 * refusal is logged in the view's words and a change is recorded in the
 * history (via "client"). */
static int v_set(struct req *r)
{
	int wi = pick_wire(r);
	if (wi < 0)
		return -ENOENT;
	const char *name = pos(r, 1);
	if (!name || !pos(r, 2))
		return fail(r, -EINVAL, "usage: set NAME VALUE... [host=HOST]");
	const struct tcp_tunable *t = find_tunable(name);
	if (!t)
		return fail(r, -ENOENT, "no tunable named '%s' (`get` lists them all)", name);
	/* The value: the remaining words, blank-separated, as `echo` writes
	 * them (vectors like tcp_rmem take several). */
	struct strbuf val = { 0 };
	for (unsigned i = 2; pos(r, i); i++) {
		const struct ctl_word *w = ctl_pos(r->l, i);
		if (i > 2)
			sb_append(&val, " ", 1);
		sb_append(&val, w->val, w->val_len);
	}
	sb_append(&val, "\n", 1);
	struct lab_wire *w = &r->ctl->lab->wires[wi];
	char dotted[128], path[128];
	dotted_name(t, dotted, sizeof(dotted));
	view_path(t, path, sizeof(path));
	struct tcp_tunable_change ch;
	int rc = val.failed ? -ENOMEM : tcp_tunable_apply(stack_sysctl(w->st), t, val.p, val.len, &ch);
	if (rc < 0) {
		struct strbuf q = { 0 };
		ctl_escape(&q, val.p ? val.p : "", val.p ? val.len : 0);
		log_warn("%s: %s: refused \"%s\": %s (%s); value kept: %s (control client %u)",
			 w->host->name, path, q.p ? q.p : "", ch.why, strerror(-rc), ch.old,
			 r->cl->serial);
		sb_free(&q);
		sb_free(&val);
		return fail(r, rc, "%s: %s; value kept: %s", t->name, ch.why, ch.old);
	}
	sb_free(&val);
	if (strcmp(ch.old, ch.new) != 0)
		log_info("%s: %s: %s -> %s (control client %u)", w->host->name, path, ch.old, ch.new,
			 r->cl->serial);
	if (r->ctl->rec)
		rec_tunable_change(r->ctl->rec, stack_config(w->st)->host_id, dotted, ch.old, ch.new,
				   "client", loop_now());
	begin_ok(r);
	ctl_put(&r->out, "host", w->host->name);
	ctl_put(&r->out, "name", dotted);
	ctl_put(&r->out, "old", ch.old);
	ctl_put(&r->out, "new", ch.new);
	end_line(r);
	return 0;
}

/* keep=1 hands the new handle to the daemon at once (one-shot clients). */
static struct ctl_client *new_owner(struct req *r)
{
	return flag(r, "keep") ? NULL : r->cl;
}

static int v_connect(struct req *r)
{
	int wi = pick_wire(r);
	if (wi < 0)
		return -ENOENT;
	const char *addr = pos(r, 1), *port = pos(r, 2), *lport_s = arg(r, "lport");
	struct in_addr ia;
	unsigned long long p, lp = 0;
	if (!addr || inet_pton(AF_INET, addr, &ia) != 1 || !port || !parse_num(port, 1, 65535, &p))
		return fail(r, -EINVAL, "usage: connect ADDR PORT [lport=N] [host=HOST] [keep=1]");
	if (lport_s && !parse_num(lport_s, 1, 65535, &lp))
		return fail(r, -EINVAL, "lport=%s: expected a port 1..65535", lport_s);
	uint32_t ra = ntohl(ia.s_addr);
	if ((ra & ~((1u << (32 - LAB_NET_PREFIX)) - 1)) != LAB_NET)
		return fail(r, -EINVAL, "%s is outside the lab's 198.18.0.0/15: refusing", addr);
	struct lab_wire *w = &r->ctl->lab->wires[wi];
	struct tcp_conn *c;
	r->flush = true;
	int rc = tcp_connect(stack_tcp(w->st), ra, (uint16_t)p, (uint16_t)lp, &handle_cb, NULL,
			     loop_now(), &c);
	if (rc < 0)
		return fail(r, rc, "connect to %s:%llu from %s: %s", addr, p, w->host->name,
			    strerror(-rc));
	struct ctl_handle *h = handle_new(r->ctl, new_owner(r), (unsigned)wi, c);
	if (!h) {
		tcp_abort(c, loop_now());
		return fail(r, -ENOMEM, "out of memory");
	}
	log_info("control client %u: %s conn %" PRIu64 ": connect %s:%llu", r->cl->serial,
		 w->host->name, h->id, addr, p);
	begin_ok(r);
	put_handle(r, h);
	end_line(r);
	return 0;
}

static int v_listen(struct req *r)
{
	int wi = pick_wire(r);
	if (wi < 0)
		return -ENOENT;
	const char *port = pos(r, 1), *bl = arg(r, "backlog");
	unsigned long long p, backlog = 128;
	if (!port || !parse_num(port, 1, 65535, &p))
		return fail(r, -EINVAL, "usage: listen PORT [backlog=N] [host=HOST] [keep=1]");
	if (bl && !parse_num(bl, 0, 65535, &backlog))
		return fail(r, -EINVAL, "backlog=%s: expected 0..65535", bl);
	struct lab_wire *w = &r->ctl->lab->wires[wi];
	struct tcp_conn *c;
	r->flush = true;
	int rc = tcp_listen(stack_tcp(w->st), (uint16_t)p, (int)backlog, &handle_cb, NULL, &c);
	if (rc == -EADDRINUSE)
		return fail(r, rc, "port %llu of %s is already listening (see `ss -l`)", p,
			    w->host->name);
	if (rc < 0)
		return fail(r, rc, "listen on %s:%llu: %s", w->host->name, p, strerror(-rc));
	struct ctl_handle *h = handle_new(r->ctl, new_owner(r), (unsigned)wi, c);
	if (!h) {
		tcp_close(c, loop_now());
		return fail(r, -ENOMEM, "out of memory");
	}
	log_info("control client %u: %s conn %" PRIu64 ": listen on port %llu", r->cl->serial,
		 w->host->name, h->id, p);
	begin_ok(r);
	put_handle(r, h);
	end_line(r);
	return 0;
}

static int v_accept(struct req *r)
{
	struct ctl_handle *l = pick_handle(r, 1);
	if (!l)
		return -ENOENT;
	if (tcp_conn_state(l->c) != TCP_LISTEN)
		return fail(r, -EINVAL, "conn %" PRIu64 " is not a listener", l->id);
	r->flush = true;
	struct tcp_conn *c = tcp_accept(l->c, loop_now());
	if (!c)
		return fail(r, -EAGAIN, "no connection is waiting in conn %" PRIu64
				      "'s accept queue yet (connect to it first)", l->id);
	struct ctl_client *owner = flag(r, "keep") ? NULL : l->owner ? r->cl : NULL;
	struct ctl_handle *h = handle_new(r->ctl, owner, l->wire, c);
	if (!h) {
		tcp_abort(c, loop_now());
		return fail(r, -ENOMEM, "out of memory");
	}
	begin_ok(r);
	put_handle(r, h);
	end_line(r);
	return 0;
}

static int v_send(struct req *r)
{
	struct ctl_handle *h = pick_handle(r, 1);
	if (!h)
		return -ENOENT;
	const struct ctl_word *d = ctl_find(r->l, "data");
	struct strbuf joined = { 0 };
	const char *buf;
	size_t len;
	if (d) {
		buf = d->val;
		len = d->val_len;
	} else { /* send CONN word word...: the words and a newline */
		for (unsigned i = 2; pos(r, i); i++) {
			if (i > 2)
				sb_append(&joined, " ", 1);
			sb_append(&joined, pos(r, i), ctl_pos(r->l, i)->val_len);
		}
		sb_append(&joined, "\n", 1);
		buf = joined.p;
		len = joined.len;
	}
	r->flush = true;
	ssize_t n = buf ? tcp_send(h->c, buf, len, loop_now()) : -ENOMEM;
	sb_free(&joined);
	if (n == -EAGAIN && tcp_conn_state(h->c) == TCP_SYN_SENT)
		return fail(r, -ENOTCONN, "conn %" PRIu64 " is still in SYN_SENT: wait for ESTABLISHED",
			    h->id);
	if (n < 0)
		return fail(r, (int)n, "send on conn %" PRIu64 " (%s): %s", h->id,
			    tcp_state_name(tcp_conn_state(h->c)), strerror((int)-n));
	begin_ok(r);
	ctl_putf(&r->out, "bytes", "%zd", n);
	ctl_put(&r->out, "state", tcp_state_name(tcp_conn_state(h->c)));
	end_line(r);
	return 0;
}

static int v_recv(struct req *r)
{
	struct ctl_handle *h = pick_handle(r, 1);
	if (!h)
		return -ENOENT;
	unsigned long long max = CTL_RECV_DEFAULT;
	const char *m = arg(r, "max");
	if (m && !parse_num(m, 1, CTL_RECV_MAX, &max))
		return fail(r, -EINVAL, "max=%s: expected 1..%u", m, CTL_RECV_MAX);
	char *buf = malloc(max);
	if (!buf)
		return fail(r, -ENOMEM, "out of memory");
	r->flush = true; /* reading may open the window: an ACK may go out */
	ssize_t n = tcp_recv(h->c, buf, max, loop_now());
	bool eof = n == 0;
	if (n == -EAGAIN)
		n = 0;
	if (n < 0) {
		free(buf);
		return fail(r, (int)n, "recv on conn %" PRIu64 ": %s", h->id, strerror((int)-n));
	}
	if (n > 0) {
		begin_data(r);
		ctl_putn(&r->out, "data", buf, (size_t)n);
		end_line(r);
	}
	free(buf);
	begin_ok(r);
	ctl_putf(&r->out, "bytes", "%zd", n);
	ctl_put(&r->out, "eof", eof ? "1" : "0");
	ctl_put(&r->out, "state", tcp_state_name(tcp_conn_state(h->c)));
	end_line(r);
	return 0;
}

static int v_shutdown(struct req *r)
{
	struct ctl_handle *h = pick_handle(r, 1);
	if (!h)
		return -ENOENT;
	int before = tcp_conn_state(h->c);
	r->flush = true;
	tcp_shutdown_write(h->c, loop_now());
	begin_ok(r);
	ctl_put(&r->out, "from", tcp_state_name(before));
	ctl_put(&r->out, "state", tcp_state_name(tcp_conn_state(h->c)));
	end_line(r);
	return 0;
}

/* close and abort: the handle goes; the connection may live on as an
 * orphan (FIN_WAIT1, LAST_ACK, ...), which the reply reports. */
static int v_close(struct req *r, bool abort)
{
	struct ctl_handle *h = pick_handle(r, 1);
	if (!h)
		return -ENOENT;
	unsigned wi = h->wire;
	uint64_t id = h->id;
	int before = tcp_conn_state(h->c);
	log_info("control client %u: %s conn %" PRIu64 ": %s in %s", r->cl->serial,
		 r->ctl->lab->wires[wi].host->name, id, abort ? "abort" : "close",
		 tcp_state_name(before));
	handle_release(h, abort);
	r->flush = true;
	begin_ok(r);
	ctl_putf(&r->out, "conn", "%" PRIu64, id);
	ctl_put(&r->out, "from", tcp_state_name(before));
	ctl_put(&r->out, "state", tcp_state_name(state_by_id(r->ctl, wi, id)));
	end_line(r);
	return 0;
}

static int v_keep(struct req *r)
{
	struct ctl_handle *h = pick_handle(r, 1);
	if (!h)
		return -ENOENT;
	h->owner = NULL;
	begin_ok(r);
	put_handle(r, h);
	end_line(r);
	return 0;
}

static int v_handles(struct req *r)
{
	for (struct ctl_handle *h = r->ctl->handles; h; h = h->next) {
		begin_data(r);
		put_handle(r, h);
		ctl_put(&r->out, "owner", !h->owner ? "kept" : h->owner == r->cl ? "you" : "other");
		ctl_putf(&r->out, "recvq", "%zu", tcp_recv_avail(h->c));
		if (h->closed) {
			char name[16];
			ctl_put(&r->out, "error", h->err ? ctl_errno_name(h->err, name) : "none");
		}
		end_line(r);
	}
	begin_ok(r);
	end_line(r);
	return 0;
}

static int v_capture(struct req *r)
{
	const char *link = pos(r, 1), *what = pos(r, 2), *path = pos(r, 3);
	struct lab *lab = r->ctl->lab;
	if (!link || !what)
		return fail(r, -EINVAL, "usage: capture LINK start FILE | capture LINK stop");
	unsigned wi;
	for (wi = 0; wi < lab->n_wires; wi++)
		if (strcmp(lab->wires[wi].link->name, link) == 0)
			break;
	if (wi == lab->n_wires)
		return fail(r, -ENOENT, "no link named '%s' (see `links`)", link);
	if (strcmp(what, "stop") == 0) {
		bool was = lab->wires[wi].cap != NULL;
		lab_capture_stop(lab, wi);
		begin_ok(r);
		ctl_put(&r->out, "link", link);
		ctl_put(&r->out, "was_capturing", was ? "1" : "0");
		end_line(r);
		return 0;
	}
	if (strcmp(what, "start") != 0 || !path)
		return fail(r, -EINVAL, "usage: capture LINK start FILE | capture LINK stop");
	if (path[0] != '/')
		return fail(r, -EINVAL, "capture FILE must be an absolute path (the daemon's working directory is not yours)");
	char err[256];
	int rc = lab_capture_start(lab, wi, path, err, sizeof(err));
	if (rc < 0)
		return fail(r, rc, "%s", err);
	begin_ok(r);
	ctl_put(&r->out, "link", link);
	ctl_put(&r->out, "file", path);
	end_line(r);
	return 0;
}

static int v_help(struct req *r)
{
	static const char *const lines[] = {
		"status | hosts | links | handles | help | quit",
		"ss [host=H] [state=S,S] [port=P] [sport=P] [dport=P] [listen=1] [info=1]",
		"get [NAME] [host=H] | set NAME VALUE... [host=H]",
		"connect ADDR PORT [lport=P] [host=H] [keep=1] | listen PORT [backlog=N] [host=H] [keep=1]",
		"accept CONN [keep=1] | send CONN data=BYTES | recv CONN [max=N]",
		"shutdown CONN | close CONN | abort CONN | keep CONN",
		"capture LINK start FILE | capture LINK stop",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		begin_data(r);
		ctl_put(&r->out, "usage", lines[i]);
		end_line(r);
	}
	begin_ok(r);
	ctl_put(&r->out, "doc", "docs/control.md");
	end_line(r);
	return 0;
}

/* ---- clients ---- */

static void client_free(struct ctl_client *cl)
{
	struct control *ctl = cl->ctl;
	/* Handles die with their connection (as a process's sockets do). */
	unsigned released = 0;
	for (struct ctl_handle *h = ctl->handles, *next; h; h = next) {
		next = h->next;
		if (h->owner == cl) {
			handle_release(h, false);
			released++;
		}
	}
	if (released) {
		log_info("control client %u gone: closed its %u handle%s", cl->serial, released,
			 released == 1 ? "" : "s");
		loop_flush(ctl->lp);
	} else {
		log_debug("control client %u gone", cl->serial);
	}
	for (struct ctl_client **p = &ctl->clients; *p; p = &(*p)->next) {
		if (*p == cl) {
			*p = cl->next;
			break;
		}
	}
	bufferevent_free(cl->bev);
	free(cl);
}

static void handle_line(struct ctl_client *cl, char *line, size_t len)
{
	while (len && line[len - 1] == '\r')
		line[--len] = '\0';
	struct ctl_line l;
	struct req r = { .ctl = cl->ctl, .cl = cl, .l = &l };
	int rc = ctl_split(line, &l);
	const char *verb = rc == 0 && l.n ? pos(&r, 0) : NULL;
	if (rc == -E2BIG)
		fail(&r, -E2BIG, "too many words (at most %d)", CTL_WORDS_MAX);
	else if (rc < 0)
		fail(&r, -EINVAL, "bad escape in the request (docs/control.md: \\s \\t \\n \\r \\\\ \\xHH)");
	else if (!verb)
		return; /* an empty line asks nothing */
	else if (strcmp(verb, "status") == 0)
		v_status(&r);
	else if (strcmp(verb, "hosts") == 0)
		v_hosts(&r);
	else if (strcmp(verb, "links") == 0)
		v_links(&r);
	else if (strcmp(verb, "ss") == 0)
		v_ss(&r);
	else if (strcmp(verb, "get") == 0)
		v_get(&r);
	else if (strcmp(verb, "set") == 0)
		v_set(&r);
	else if (strcmp(verb, "connect") == 0)
		v_connect(&r);
	else if (strcmp(verb, "listen") == 0)
		v_listen(&r);
	else if (strcmp(verb, "accept") == 0)
		v_accept(&r);
	else if (strcmp(verb, "send") == 0)
		v_send(&r);
	else if (strcmp(verb, "recv") == 0)
		v_recv(&r);
	else if (strcmp(verb, "shutdown") == 0)
		v_shutdown(&r);
	else if (strcmp(verb, "close") == 0)
		v_close(&r, false);
	else if (strcmp(verb, "abort") == 0)
		v_close(&r, true);
	else if (strcmp(verb, "keep") == 0)
		v_keep(&r);
	else if (strcmp(verb, "handles") == 0)
		v_handles(&r);
	else if (strcmp(verb, "capture") == 0)
		v_capture(&r);
	else if (strcmp(verb, "help") == 0)
		v_help(&r);
	else if (strcmp(verb, "quit") == 0) {
		begin_ok(&r);
		end_line(&r);
		cl->closing = true;
	} else
		fail(&r, -ENOSYS, "unknown verb '%s' (try `help`)", verb);
	if (r.out.failed) {
		sb_free(&r.out);
		r.out = (struct strbuf){ 0 };
		fail(&r, -ENOMEM, "out of memory building the reply");
	}
	if (r.out.len)
		bufferevent_write(cl->bev, r.out.p, r.out.len);
	sb_free(&r.out);
	if (r.flush)
		loop_flush(cl->ctl->lp);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct ctl_client *cl = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char *line;
	size_t len;
	while (!cl->closing && (line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF))) {
		handle_line(cl, line, len);
		free(line);
	}
	if (!cl->closing && evbuffer_get_length(in) > CTL_LINE_MAX) {
		static const char msg[] = "ERR E2BIG request line longer than 65536 bytes\n";
		bufferevent_write(bev, msg, sizeof(msg) - 1);
		cl->closing = true;
	}
	if (cl->closing && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		client_free(cl);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	(void)bev;
	struct ctl_client *cl = arg;
	if (cl->closing)
		client_free(cl);
}

static void on_bev_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		client_free(arg);
}

static void on_accept(struct evconnlistener *lev, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	(void)lev;
	(void)sa;
	(void)socklen;
	struct control *ctl = arg;
	struct ctl_client *cl = calloc(1, sizeof(*cl));
	struct bufferevent *bev =
		cl ? bufferevent_socket_new(loop_base(ctl->lp), fd, BEV_OPT_CLOSE_ON_FREE) : NULL;
	if (!bev) {
		log_warn("control: out of memory accepting a client");
		close(fd);
		free(cl);
		return;
	}
	cl->ctl = ctl;
	cl->bev = bev;
	cl->serial = ++ctl->next_serial;
	cl->next = ctl->clients;
	ctl->clients = cl;
	bufferevent_setcb(bev, on_read, on_write, on_bev_event, cl);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	log_debug("control client %u connected", cl->serial);
}

/* ---- the socket ---- */

/* Whether a daemon answers on path (a refused connect means a stale
 * socket file that a dead daemon left). */
static bool socket_alive(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(path);
	if (n >= sizeof(sa.sun_path))
		return true; /* not one of ours */
	memcpy(sa.sun_path, path, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return true; /* cannot tell: do not remove it */
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	close(fd);
	return rc == 0 || (e != ECONNREFUSED && e != ENOENT);
}

/* Removes control sockets of dead daemons from the registry directory. */
static void sweep_stale(const char *self)
{
	DIR *d = opendir(REGISTRY_DIR);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);
		if (strncmp(de->d_name, "control.", 8) != 0 || n < 6 ||
		    strcmp(de->d_name + n - 5, ".sock") != 0)
			continue;
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/%s", REGISTRY_DIR, de->d_name);
		if (strcmp(path, self) != 0 && !socket_alive(path) && unlink(path) == 0)
			log_info("removed the stale control socket %s (its daemon is gone)", path);
	}
	closedir(d);
}

struct control *control_start(struct loop *lp, struct lab *lab, struct recorder *rec,
			      const struct control_info *info, char *err, size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ctl->lp = lp;
	ctl->lab = lab;
	ctl->rec = rec;
	ctl->started = loop_now();
	snprintf(ctl->lab_name, sizeof(ctl->lab_name), "%s", info->lab ? info->lab : "default");
	snprintf(ctl->mount, sizeof(ctl->mount), "%s", info->mount ? info->mount : "");
	/* Clients run elsewhere: give them an absolute path. */
	if (info->db && !realpath(info->db, ctl->db))
		snprintf(ctl->db, sizeof(ctl->db), "%s", info->db);
	control_socket_path((int)getpid(), ctl->path, sizeof(ctl->path));
	sweep_stale(ctl->path);
	/* Our own name can only be left by a dead daemon whose pid we got. */
	if (unlink(ctl->path) == 0)
		log_info("removed the stale control socket %s", ctl->path);

	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		free(ctl);
		return NULL;
	}
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl->path);
	/* 0600 from birth: nobody but our user may ever connect. */
	mode_t old = umask(0177);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	int e = errno;
	umask(old);
	if (rc < 0 || chmod(ctl->path, 0600) < 0 || listen(fd, 64) < 0) {
		if (rc == 0)
			e = errno;
		snprintf(err, errlen, "cannot listen on %s: %s", ctl->path, strerror(e));
		close(fd);
		unlink(ctl->path);
		free(ctl);
		return NULL;
	}
	ctl->lev = evconnlistener_new(loop_base(lp), on_accept, ctl,
				      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (!ctl->lev) {
		snprintf(err, errlen, "cannot serve %s from the event loop", ctl->path);
		close(fd);
		unlink(ctl->path);
		free(ctl);
		return NULL;
	}
	log_info("control socket %s (mode 0600; `tcplab` uses it)", ctl->path);
	return ctl;
}

void control_stop(struct control *ctl)
{
	if (!ctl)
		return;
	while (ctl->clients)
		client_free(ctl->clients);
	unsigned kept = 0;
	while (ctl->handles) {
		handle_release(ctl->handles, false);
		kept++;
	}
	if (kept)
		log_info("control: closed %u kept handle%s", kept, kept == 1 ? "" : "s");
	evconnlistener_free(ctl->lev);
	if (unlink(ctl->path) < 0 && errno != ENOENT)
		log_warn("cannot remove %s: %s", ctl->path, strerror(errno));
	free(ctl);
}
