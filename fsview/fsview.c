/* The FUSE side of the view (see fsview.h, docs/fsview.md): a low-level
 * libfuse session served by a few threads of our own, which resolve
 * paths with the tree table (tree.c) and get every byte that depends on
 * stack state from the loop thread through the mailbox (mailbox.c).
 *
 * Files are rendered once, at open, into a per-open buffer and served
 * with direct_io, so a read never sees a half-updated table and st_size
 * can be 0 as in /proc. The `events` stream answers a read that has to
 * wait by parking the request in the ring (events_ring.c); the loop
 * thread's next append or an interrupt answers it, so no FUSE thread ever
 * blocks on it. */
#define FUSE_USE_VERSION 35
#include "fsview.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "events_ring.h"
#include "mailbox.h"
#include "render.h"
#include "tcp_tunables.h"
#include "tree.h"

/* FUSE worker threads. Requests are short (a mailbox round trip at
 * most), and reads of `events` never hold a thread, so a few suffice. */
#define FSV_THREADS 4
/* Bytes of `events` history kept for readers that seek (tail). */
#define FSV_RING_BYTES (1u << 20)
/* Kernel cache lifetime of names and attributes that cannot change. */
#define FSV_STATIC_TIMEOUT 1.0

/* A handle the kernel holds: an open file or directory. Linked into the
 * view's list from just before the open is answered until its release,
 * so that handles never released (the mount went away under them) are
 * freed at unmount. */
struct handle {
	struct handle *prev, *next;
	bool is_dir;
};

/* Invariants: se != NULL exactly while mounted (threads running);
 * st.hosts/links are not changed after fsv_mount; `handles` (under
 * hlock) is a circular list of every live handle. */
struct fsview {
	struct fsv_state st;
	struct fsv_mailbox mb;
	pthread_mutex_t hlock;
	struct handle handles;
	struct fuse_session *se;
	pthread_t threads[FSV_THREADS];
	unsigned n_threads;
	int stop_fd; /* eventfd: readable once the threads must stop */
	char mountpoint[PATH_MAX];
	struct timespec born; /* times of every file */
};

/* ---- logging ---- */

static void fv_log(struct fsview *fv, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fv_log(struct fsview *fv, int level, const char *fmt, ...)
{
	if (!fv->st.hooks.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fv->st.hooks.log(fv->st.hooks.ctx, level, line);
}

/* libfuse's own messages go through the same hook (one view per process
 * is all the daemon has). */
static struct fsview *log_owner;

static void libfuse_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	struct fsview *fv = __atomic_load_n(&log_owner, __ATOMIC_ACQUIRE);
	char line[512];
	vsnprintf(line, sizeof(line), fmt, ap);
	size_t len = strlen(line);
	while (len && line[len - 1] == '\n')
		line[--len] = '\0';
	int lvl = level <= FUSE_LOG_ERR ? FSV_LOG_ERR :
		  level == FUSE_LOG_WARNING ? FSV_LOG_WARN :
		  level <= FUSE_LOG_INFO ? FSV_LOG_INFO : FSV_LOG_DEBUG;
	if (fv && fv->st.hooks.log)
		fv->st.hooks.log(fv->st.hooks.ctx, lvl, line);
	else if (lvl <= FSV_LOG_WARN)
		fprintf(stderr, "%s\n", line);
}

/* ---- mailbox calls (FUSE thread -> loop thread) ---- */

enum call_op { CALL_RENDER, CALL_EXISTS, CALL_WRITE };

/* A request to the loop thread, on the caller's stack. */
struct call {
	struct fsv_msg m; /* first: the mailbox hands back this pointer */
	enum call_op op;
	struct fsv_node node;
	struct strbuf out;  /* CALL_RENDER: filled on the loop thread, then ours */
	const char *wbuf;   /* CALL_WRITE */
	size_t wlen;
};

static void run_call(struct fsv_msg *m, void *ctx, tl_usec_t now)
{
	struct call *c = (struct call *)m;
	struct fsv_state *s = ctx;
	const struct fsv_row_def *row = fsv_row(c->node.row);
	switch (c->op) {
	case CALL_RENDER:
		m->result = row->render ? row->render(s, &c->node, now, &c->out) : -EIO;
		if (m->result == 0 && c->out.failed)
			m->result = -ENOMEM;
		return;
	case CALL_EXISTS:
		m->result = fsv_conn_exists(s, &c->node) ? 0 : -ENOENT;
		return;
	case CALL_WRITE:
		m->result = row->write ? row->write(s, &c->node, c->wbuf, c->wlen, now) : -EACCES;
		return;
	}
	m->result = -EIO;
}

/* Renders n on the loop thread; on success *out owns the text. */
static int call_render(struct fsview *fv, const struct fsv_node *n, struct strbuf *out)
{
	struct call c = { .m.run = run_call, .op = CALL_RENDER, .node = *n };
	int rc = fsv_mailbox_call(&fv->mb, &c.m);
	if (rc < 0) {
		sb_free(&c.out);
		return rc;
	}
	*out = c.out;
	return 0;
}

static int call_exists(struct fsview *fv, const struct fsv_node *n)
{
	struct call c = { .m.run = run_call, .op = CALL_EXISTS, .node = *n };
	return fsv_mailbox_call(&fv->mb, &c.m);
}

static int call_write(struct fsview *fv, const struct fsv_node *n, const char *buf, size_t len)
{
	struct call c = { .m.run = run_call, .op = CALL_WRITE, .node = *n, .wbuf = buf,
			  .wlen = len };
	return fsv_mailbox_call(&fv->mb, &c.m);
}

/* ---- nodes ---- */

static struct fsview *fv_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static void track(struct fsview *fv, struct handle *h, bool is_dir)
{
	h->is_dir = is_dir;
	pthread_mutex_lock(&fv->hlock);
	h->next = fv->handles.next;
	h->prev = &fv->handles;
	h->next->prev = h;
	fv->handles.next = h;
	pthread_mutex_unlock(&fv->hlock);
}

static void untrack(struct fsview *fv, struct handle *h)
{
	pthread_mutex_lock(&fv->hlock);
	h->prev->next = h->next;
	h->next->prev = h->prev;
	h->next = h->prev = h;
	pthread_mutex_unlock(&fv->hlock);
}

/* Whether n's parameters name something that exists, as far as the FUSE
 * side can tell without the loop (hosts, links, tunables, names). */
static bool node_valid(struct fsview *fv, const struct fsv_node *n)
{
	switch ((enum fsv_row)n->row) {
	case FSV_ROOT:
	case FSV_HOSTS:
	case FSV_LINKS:
	case FSV_ROUTERS:
	case FSV_EVENTS_LINK:
	case FSV_EVENTS:
		return true;
	case FSV_HOST:
	case FSV_SYS:
	case FSV_SYS_NET:
	case FSV_NET:
	case FSV_NET_TCP:
	case FSV_NET_SNMP:
	case FSV_NET_NETSTAT:
	case FSV_NET_CONNECTIONS:
	case FSV_CONNS:
	case FSV_CONN:
	case FSV_CONN_INFO:
	case FSV_CONN_TIMELINE:
		return n->obj < fv->st.n_hosts;
	case FSV_SYSDIR:
		return n->obj < fv->st.n_hosts && n->sub < FSV_SYSDIRS;
	case FSV_TUNABLE:
		return n->obj < fv->st.n_hosts && tcp_tunable_at(n->sub) != NULL;
	case FSV_CONN_VAR:
		return n->obj < fv->st.n_hosts && fsv_var_name(&fv->st.vars, n->sub) != NULL;
	case FSV_LINK:
		return n->obj < fv->st.n_links;
	case FSV_LINK_FILE:
		return n->obj < fv->st.n_links &&
		       n->id < fsv_link_file_count(&fv->st.links[n->obj].src);
	case FSV_ROUTER:
	case FSV_ROUTER_COUNTERS:
	case FSV_ROUTER_ROUTES:
	case FSV_ROUTER_HOLE:
		return n->obj < fv->st.n_routers;
	case FSV_ROW_COUNT:
		break;
	}
	return false;
}

static void fill_attr(struct fsview *fv, const struct fsv_node *n, struct stat *st)
{
	const struct fsv_row_def *row = fsv_row(n->row);
	memset(st, 0, sizeof(*st));
	st->st_ino = fsv_node_ino(n);
	st->st_uid = 0;
	st->st_gid = 0;
	st->st_blksize = 4096;
	st->st_atim = st->st_mtim = st->st_ctim = fv->born;
	uint16_t perm = fsv_node_perm(n);
	switch (row->kind) {
	case FSV_DIR:
		st->st_mode = S_IFDIR | perm;
		st->st_nlink = 2;
		break;
	case FSV_FILE:
		st->st_mode = S_IFREG | perm;
		st->st_nlink = 1;
		break;
	case FSV_SYMLINK:
		st->st_mode = S_IFLNK | 0777;
		st->st_nlink = 1;
		st->st_size = (off_t)strlen(FSV_EVENTS_TARGET);
		break;
	case FSV_STREAM:
		/* The stream's length so far, so that `tail -f` sees growth. */
		st->st_mode = S_IFREG | perm;
		st->st_nlink = 1;
		st->st_size = (off_t)fsv_ring_size(fv->st.ring);
		break;
	}
}

static double node_timeout(const struct fsv_node *n)
{
	return fsv_row(n->row)->dynamic ? 0.0 : FSV_STATIC_TIMEOUT;
}

/* The child of a node inherits its parameters; families set their own. */
static struct fsv_node child_of(const struct fsv_node *parent, enum fsv_row row)
{
	struct fsv_node c = *parent;
	c.row = (uint8_t)row;
	c.sub = 0;
	return c;
}

/* Parses a connection id: decimal, no sign, no leading zero. */
static bool parse_id(const char *s, uint64_t *id)
{
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 19)
		return false;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > FSV_ID_MAX)
		return false;
	*id = v;
	return true;
}

/* Finds name under parent; 0 with *out filled, or a negative errno. */
static int resolve(struct fsview *fv, const struct fsv_node *parent, const char *name,
		   struct fsv_node *out)
{
	if (!node_valid(fv, parent) || fsv_row(parent->row)->kind != FSV_DIR)
		return -ENOTDIR;
	/* Fixed names first. */
	for (unsigned r = 1; r < FSV_ROW_COUNT; r++) {
		const struct fsv_row_def *row = fsv_row(r);
		if (row->parent != parent->row || !row->name || strcmp(row->name, name) != 0)
			continue;
		*out = child_of(parent, (enum fsv_row)r);
		if (out->row == FSV_CONN_INFO || out->row == FSV_CONN_TIMELINE)
			return call_exists(fv, out); /* only while the connection lives */
		return 0;
	}
	switch ((enum fsv_row)parent->row) {
	case FSV_HOSTS:
		for (unsigned i = 0; i < fv->st.n_hosts; i++) {
			if (strcmp(fv->st.hosts[i].name, name) == 0) {
				*out = child_of(parent, FSV_HOST);
				out->obj = (uint8_t)i;
				return 0;
			}
		}
		return -ENOENT;
	case FSV_SYS_NET: {
		int d = fsv_sysdir_find(name);
		if (d < 0)
			return -ENOENT;
		*out = child_of(parent, FSV_SYSDIR);
		out->sub = (uint8_t)d;
		return 0;
	}
	case FSV_SYSDIR: {
		const struct tcp_tunable *t = tcp_tunable_find(fsv_sysdir_table(parent->sub), name);
		if (!t)
			return -ENOENT;
		for (size_t i = 0; i < tcp_tunable_count(); i++) {
			if (tcp_tunable_at(i) == t) {
				*out = child_of(parent, FSV_TUNABLE);
				out->sub = (uint8_t)i;
				return 0;
			}
		}
		return -ENOENT;
	}
	case FSV_CONNS: {
		uint64_t id;
		if (!parse_id(name, &id))
			return -ENOENT;
		*out = child_of(parent, FSV_CONN);
		out->id = id;
		return call_exists(fv, out);
	}
	case FSV_CONN: {
		int v = fsv_var_intern(&fv->st.vars, name);
		if (v < 0)
			return -ENOENT;
		*out = child_of(parent, FSV_CONN_VAR);
		out->sub = (uint8_t)v;
		/* The variable exists if the connection has it now. */
		struct strbuf text;
		int rc = call_render(fv, out, &text);
		if (rc == 0)
			sb_free(&text);
		return rc;
	}
	case FSV_LINKS:
		for (unsigned i = 0; i < fv->st.n_links; i++) {
			if (strcmp(fv->st.links[i].name, name) == 0) {
				*out = child_of(parent, FSV_LINK);
				out->obj = (uint8_t)i;
				return 0;
			}
		}
		return -ENOENT;
	case FSV_ROUTERS:
		for (unsigned i = 0; i < fv->st.n_routers; i++) {
			if (strcmp(fv->st.routers[i].name, name) == 0) {
				*out = child_of(parent, FSV_ROUTER);
				out->obj = (uint8_t)i;
				return 0;
			}
		}
		return -ENOENT;
	case FSV_LINK: {
		if (parent->obj >= fv->st.n_links)
			return -ENOENT;
		int f = fsv_link_file_find(&fv->st.links[parent->obj].src, name);
		if (f < 0)
			return -ENOENT;
		*out = child_of(parent, FSV_LINK_FILE);
		out->id = (uint64_t)f;
		return 0;
	}
	default:
		return -ENOENT;
	}
}

/* ---- directory listings ---- */

struct dirent_rec {
	char *name;
	uint64_t ino;
	mode_t type; /* S_IFDIR, S_IFREG, S_IFLNK */
};

/* A directory listing, taken at opendir. */
struct dir_handle {
	struct handle h; /* first: handles are freed through it */
	struct dirent_rec *e;
	size_t n, cap;
};

static mode_t kind_type(enum fsv_kind k)
{
	return k == FSV_DIR ? S_IFDIR : k == FSV_SYMLINK ? S_IFLNK : S_IFREG;
}

static int dir_add(struct dir_handle *d, const char *name, const struct fsv_node *n)
{
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct dirent_rec *e = realloc(d->e, cap * sizeof(*e));
		if (!e)
			return -ENOMEM;
		d->e = e;
		d->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	d->e[d->n++] = (struct dirent_rec){ copy, fsv_node_ino(n),
					    kind_type(fsv_row(n->row)->kind) };
	return 0;
}

static void dir_free(struct dir_handle *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	free(d);
}

static struct fsv_node parent_of(const struct fsv_node *n)
{
	struct fsv_node p = *n;
	p.row = fsv_row(n->row)->parent;
	p.sub = 0;
	if (p.row == FSV_ROOT || p.row == FSV_HOSTS || p.row == FSV_LINKS || p.row == FSV_ROUTERS)
		p.obj = 0;
	if (p.row != FSV_CONN)
		p.id = 0;
	return p;
}

/* Adds one entry per line of text (names from the loop thread). */
static int dir_add_lines(struct fsview *fv, struct dir_handle *d, const struct fsv_node *dir,
			 const char *text)
{
	int rc = 0;
	for (const char *p = text; p && *p && rc == 0;) {
		const char *eol = strchr(p, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		char name[64];
		if (len > 0 && len < sizeof(name)) {
			memcpy(name, p, len);
			name[len] = '\0';
			struct fsv_node c;
			if (dir->row == FSV_CONNS) {
				c = child_of(dir, FSV_CONN);
				if (!parse_id(name, &c.id))
					goto next;
			} else if (strcmp(name, "info") == 0) {
				c = child_of(dir, FSV_CONN_INFO);
			} else if (strcmp(name, "timeline") == 0) {
				c = child_of(dir, FSV_CONN_TIMELINE);
			} else {
				int v = fsv_var_intern(&fv->st.vars, name);
				if (v < 0)
					goto next; /* more names than we can number */
				c = child_of(dir, FSV_CONN_VAR);
				c.sub = (uint8_t)v;
			}
			rc = dir_add(d, name, &c);
		}
next:
		p = eol ? eol + 1 : p + len;
	}
	return rc;
}

static int list_dir(struct fsview *fv, const struct fsv_node *n, struct dir_handle *d)
{
	struct fsv_node parent = n->row == FSV_ROOT ? *n : parent_of(n);
	int rc = dir_add(d, ".", n);
	if (rc == 0)
		rc = dir_add(d, "..", &parent);
	if (rc < 0)
		return rc;

	if (n->row == FSV_CONNS || n->row == FSV_CONN) {
		struct strbuf text;
		rc = call_render(fv, n, &text);
		if (rc < 0)
			return rc;
		rc = dir_add_lines(fv, d, n, text.p);
		sb_free(&text);
		return rc;
	}
	for (unsigned r = 1; r < FSV_ROW_COUNT && rc == 0; r++) {
		const struct fsv_row_def *row = fsv_row(r);
		if (row->parent != n->row || !row->name || row->hidden)
			continue;
		struct fsv_node c = child_of(n, (enum fsv_row)r);
		rc = dir_add(d, row->name, &c);
	}
	switch ((enum fsv_row)n->row) {
	case FSV_HOSTS:
		for (unsigned i = 0; i < fv->st.n_hosts && rc == 0; i++) {
			struct fsv_node c = child_of(n, FSV_HOST);
			c.obj = (uint8_t)i;
			rc = dir_add(d, fv->st.hosts[i].name, &c);
		}
		break;
	case FSV_SYS_NET:
		for (unsigned i = 0; i < FSV_SYSDIRS && rc == 0; i++) {
			struct fsv_node c = child_of(n, FSV_SYSDIR);
			c.sub = (uint8_t)i;
			rc = dir_add(d, fsv_sysdir_name(i), &c);
		}
		break;
	case FSV_SYSDIR:
		for (size_t i = 0; i < tcp_tunable_count() && rc == 0; i++) {
			const struct tcp_tunable *t = tcp_tunable_at(i);
			if (strcmp(t->dir, fsv_sysdir_table(n->sub)) != 0)
				continue;
			struct fsv_node c = child_of(n, FSV_TUNABLE);
			c.sub = (uint8_t)i;
			rc = dir_add(d, t->name, &c);
		}
		break;
	case FSV_LINKS:
		for (unsigned i = 0; i < fv->st.n_links && rc == 0; i++) {
			struct fsv_node c = child_of(n, FSV_LINK);
			c.obj = (uint8_t)i;
			rc = dir_add(d, fv->st.links[i].name, &c);
		}
		break;
	case FSV_ROUTERS:
		for (unsigned i = 0; i < fv->st.n_routers && rc == 0; i++) {
			struct fsv_node c = child_of(n, FSV_ROUTER);
			c.obj = (uint8_t)i;
			rc = dir_add(d, fv->st.routers[i].name, &c);
		}
		break;
	case FSV_LINK:
		if (n->obj >= fv->st.n_links)
			break;
		const struct fsv_link_source *src = &fv->st.links[n->obj].src;
		for (unsigned i = 0; i < fsv_link_file_count(src) && rc == 0; i++) {
			struct fsv_node c = child_of(n, FSV_LINK_FILE);
			char name[80];
			c.id = i;
			rc = dir_add(d, fsv_link_file_name(src, i, name, sizeof(name)), &c);
		}
		break;
	default:
		break;
	}
	return rc;
}

/* ---- open files ---- */

enum fh_kind { FH_TEXT, FH_STREAM };

/* One open file. FH_TEXT: `text` is the snapshot rendered at open (empty
 * when opened write-only); FH_STREAM: reader is the ring reader id. */
struct open_file {
	struct handle h; /* first: handles are freed through it */
	enum fh_kind kind;
	struct fsv_node node;
	bool writable;
	struct strbuf text;
	uint64_t reader;
};

static struct open_file *fh_of(const struct fuse_file_info *fi)
{
	return (struct open_file *)(uintptr_t)fi->fh;
}

/* ---- FUSE operations ---- */

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	(void)userdata;
	/* O_TRUNC arrives with open instead of as a separate truncate:
	 * `echo 3 > tunable` is then one open and one write. */
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Every file is generated: no page cache to keep coherent. */
	conn->want &= ~(unsigned)FUSE_CAP_AUTO_INVAL_DATA;
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fsview *fv = fv_of(req);
	struct fsv_node p, c;
	if (!fsv_node_from_ino(parent, &p)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	int rc = resolve(fv, &p, name, &c);
	if (rc < 0) {
		if (rc == -ENOENT) {
			/* A negative entry that the kernel must not cache: a
			 * connection may appear under that name any moment. */
			struct fuse_entry_param e = { .ino = 0, .entry_timeout = 0 };
			fuse_reply_entry(req, &e);
		} else {
			fuse_reply_err(req, -rc);
		}
		return;
	}
	struct fuse_entry_param e = { .ino = fsv_node_ino(&c) };
	e.entry_timeout = e.attr_timeout = node_timeout(&c);
	fill_attr(fv, &c, &e.attr);
	fuse_reply_entry(req, &e);
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsview *fv = fv_of(req);
	struct fsv_node n;
	if (!fsv_node_from_ino(ino, &n) || !node_valid(fv, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* The kernel asks for the size through an open file only for
	 * lseek(SEEK_END) (the attributes never stay cached): that reader
	 * navigates by offset, as tail does, so give it global offsets. */
	if (fi && fsv_row(n.row)->kind == FSV_STREAM)
		fsv_ring_absolute(fv->st.ring, fh_of(fi)->reader);
	struct stat st;
	fill_attr(fv, &n, &st);
	fuse_reply_attr(req, &st, node_timeout(&n));
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
		       struct fuse_file_info *fi)
{
	(void)attr;
	(void)fi;
	struct fsview *fv = fv_of(req);
	struct fsv_node n;
	if (!fsv_node_from_ino(ino, &n) || !node_valid(fv, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	/* Truncating a writable tunable is what `>` does before writing;
	 * like /proc/sys it changes nothing. Nothing else can be changed. */
	if (to_set & ~FUSE_SET_ATTR_SIZE) {
		fuse_reply_err(req, EPERM);
		return;
	}
	if ((to_set & FUSE_SET_ATTR_SIZE) && !(fsv_row(n.row)->write && (fsv_node_perm(&n) & 0200))) {
		fuse_reply_err(req, EACCES);
		return;
	}
	struct stat st;
	fill_attr(fv, &n, &st);
	fuse_reply_attr(req, &st, node_timeout(&n));
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct fsv_node n;
	if (!fsv_node_from_ino(ino, &n) || n.row != FSV_EVENTS_LINK) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_readlink(req, FSV_EVENTS_TARGET);
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsview *fv = fv_of(req);
	struct fsv_node n;
	if (!fsv_node_from_ino(ino, &n) || !node_valid(fv, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (fsv_row(n.row)->kind != FSV_DIR) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	struct dir_handle *d = calloc(1, sizeof(*d));
	if (!d) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int rc = list_dir(fv, &n, d);
	if (rc < 0) {
		dir_free(d);
		fuse_reply_err(req, -rc);
		return;
	}
	fi->fh = (uintptr_t)d;
	track(fv, &d->h, true);
	if (fuse_reply_open(req, fi) != 0) { /* the opener is gone (interrupted) */
		untrack(fv, &d->h);
		dir_free(d);
	}
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	size_t used = 0;
	for (size_t i = off < 0 ? 0 : (size_t)off; i < d->n; i++) {
		struct stat st = { .st_ino = d->e[i].ino, .st_mode = d->e[i].type };
		size_t need = fuse_add_direntry(req, buf + used, size - used, d->e[i].name, &st,
						(off_t)(i + 1));
		if (need > size - used)
			break;
		used += need;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct dir_handle *d = (struct dir_handle *)(uintptr_t)fi->fh;
	untrack(fv_of(req), &d->h);
	dir_free(d);
	fuse_reply_err(req, 0);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct fsview *fv = fv_of(req);
	struct fsv_node n;
	if (!fsv_node_from_ino(ino, &n) || !node_valid(fv, &n)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	const struct fsv_row_def *row = fsv_row(n.row);
	int acc = fi->flags & O_ACCMODE;
	bool wants_write = acc != O_RDONLY;
	if (row->kind == FSV_DIR) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	/* root passes default_permissions on a 0444 file: refuse writes
	 * here, as /proc/sys does for read-only entries. */
	if (wants_write && !(row->write && (fsv_node_perm(&n) & 0200))) {
		fuse_reply_err(req, EACCES);
		return;
	}
	struct open_file *fh = calloc(1, sizeof(*fh));
	if (!fh) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fh->node = n;
	fh->writable = wants_write;
	if (row->kind == FSV_STREAM) {
		fh->kind = FH_STREAM;
		fh->reader = fsv_ring_open(fv->st.ring);
		if (!fh->reader) {
			free(fh);
			fuse_reply_err(req, ENOMEM);
			return;
		}
	} else {
		fh->kind = FH_TEXT;
		/* The snapshot: rendered once, served from here on. */
		if (acc != O_WRONLY) {
			int rc = call_render(fv, &n, &fh->text);
			if (rc < 0) {
				free(fh);
				fuse_reply_err(req, -rc);
				return;
			}
		}
	}
	fi->fh = (uintptr_t)fh;
	fi->direct_io = 1;
	fi->keep_cache = 0;
	track(fv, &fh->h, false);
	if (fuse_reply_open(req, fi) != 0) {
		untrack(fv, &fh->h);
		if (fh->kind == FH_STREAM)
			fsv_ring_release(fv->st.ring, fh->reader);
		sb_free(&fh->text);
		free(fh);
	}
}

static bool req_interrupted(void *req)
{
	return fuse_req_interrupted(req) != 0;
}

/* An interrupt for a parked `events` read (the reader hit Ctrl-C). */
static void on_interrupt(fuse_req_t req, void *data)
{
	struct fsview *fv = fv_of(req);
	if (fsv_ring_unpark(fv->st.ring, (uint64_t)(uintptr_t)data, req))
		fuse_reply_err(req, EINTR);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	(void)ino;
	struct fsview *fv = fv_of(req);
	struct open_file *fh = fh_of(fi);
	if (off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	if (fh->kind == FH_TEXT) {
		size_t o = (size_t)off;
		if (o >= fh->text.len) {
			fuse_reply_buf(req, NULL, 0);
			return;
		}
		/* Reply from a copy: once the kernel has the reply, the reader
		 * may close the file, and its release (on another thread) frees
		 * the snapshot while writev's caller is still returning. */
		size_t n = TL_MIN(size, fh->text.len - o);
		char *copy = malloc(n);
		if (!copy) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		memcpy(copy, fh->text.p + o, n);
		fuse_reply_buf(req, copy, n);
		free(copy);
		return;
	}
	char *buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* Registered before parking so that no interrupt is lost; see
	 * fsv_ring_read() for the other half of that race. */
	fuse_req_interrupt_func(req, on_interrupt, (void *)(uintptr_t)fh->reader);
	ssize_t n = fsv_ring_read(fv->st.ring, fh->reader, (uint64_t)off, buf, size,
				  (fi->flags & O_NONBLOCK) != 0, req, req_interrupted);
	if (n >= 0)
		fuse_reply_buf(req, buf, (size_t)n);
	else if (n != FSV_RING_PARKED)
		fuse_reply_err(req, (int)-n);
	free(buf);
}

static void op_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		     struct fuse_file_info *fi)
{
	(void)ino;
	struct fsview *fv = fv_of(req);
	struct open_file *fh = fh_of(fi);
	if (!fh->writable || fh->kind != FH_TEXT) {
		fuse_reply_err(req, EBADF);
		return;
	}
	/* Linux (sysctl_writes_strict = 1): a write at a non-zero offset,
	 * such as the rest of a partially taken write, succeeds and is
	 * ignored. */
	if (off != 0) {
		fuse_reply_write(req, size);
		return;
	}
	int rc = call_write(fv, &fh->node, buf, size);
	if (rc < 0)
		fuse_reply_err(req, -rc);
	else
		fuse_reply_write(req, rc == 0 && size ? size : (size_t)rc);
}

static void op_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	struct fsview *fv = fv_of(req);
	struct open_file *fh = fh_of(fi);
	untrack(fv, &fh->h);
	if (fh->kind == FH_STREAM)
		fsv_ring_release(fv->st.ring, fh->reader);
	sb_free(&fh->text);
	free(fh);
	fuse_reply_err(req, 0);
}

static void op_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
		    struct fuse_pollhandle *ph)
{
	(void)ino;
	struct fsview *fv = fv_of(req);
	struct open_file *fh = fh_of(fi);
	if (fh->kind != FH_STREAM) {
		/* A snapshot never blocks. */
		if (ph)
			fuse_pollhandle_destroy(ph);
		fuse_reply_poll(req, POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM);
		return;
	}
	bool ready = fsv_ring_poll(fv->st.ring, fh->reader, ph);
	fuse_reply_poll(req, ready ? POLLIN | POLLRDNORM : 0);
}

static void op_refuse(fuse_req_t req)
{
	fuse_reply_err(req, EACCES);
}

static void op_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d)
{
	(void)p, (void)n, (void)m, (void)d;
	op_refuse(req);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m)
{
	(void)p, (void)n, (void)m;
	op_refuse(req);
}

static void op_unlink(fuse_req_t req, fuse_ino_t p, const char *n)
{
	(void)p, (void)n;
	op_refuse(req);
}

static void op_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n)
{
	(void)l, (void)p, (void)n;
	op_refuse(req);
}

static void op_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np,
		      const char *nn, unsigned int flags)
{
	(void)p, (void)n, (void)np, (void)nn, (void)flags;
	op_refuse(req);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t np, const char *nn)
{
	(void)ino, (void)np, (void)nn;
	op_refuse(req);
}

static void op_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m,
		      struct fuse_file_info *fi)
{
	(void)p, (void)n, (void)m, (void)fi;
	op_refuse(req);
}

static const struct fuse_lowlevel_ops fsv_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.unlink = op_unlink,
	.rmdir = op_unlink,
	.symlink = op_symlink,
	.rename = op_rename,
	.link = op_link,
	.open = op_open,
	.read = op_read,
	.write = op_write,
	.release = op_release,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.create = op_create,
	.poll = op_poll,
};

/* ---- the ring's callbacks (FUSE replies) ---- */

static void ring_complete(void *ctx, void *req, const char *data, size_t len)
{
	(void)ctx;
	fuse_reply_buf(req, data, len);
}

static void ring_notify(void *ctx, void *ph)
{
	(void)ctx;
	fuse_lowlevel_notify_poll(ph);
}

static void ring_drop_ph(void *ctx, void *ph)
{
	(void)ctx;
	fuse_pollhandle_destroy(ph);
}

/* ---- threads ---- */

/* One FUSE worker: waits for a request or the stop signal, and handles
 * the request. The device fd is non-blocking, so when several workers
 * wake for one request the losers just go back to poll. */
static void *worker(void *arg)
{
	struct fsview *fv = arg;
	struct fuse_buf fbuf = { .mem = NULL };
	struct pollfd p[2] = {
		{ .fd = fuse_session_fd(fv->se), .events = POLLIN },
		{ .fd = fv->stop_fd, .events = POLLIN },
	};
	while (!fuse_session_exited(fv->se)) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int res = fuse_session_receive_buf(fv->se, &fbuf);
		if (res == -EINTR || res == -EAGAIN)
			continue;
		if (res <= 0)
			break; /* unmounted, aborted, or exiting */
		fuse_session_process_buf(fv->se, &fbuf);
	}
	free(fbuf.mem);
	return NULL;
}

/* ---- public API ---- */

struct fsview *fsv_new(const struct fsv_hooks *hooks)
{
	struct fsview *fv = calloc(1, sizeof(*fv));
	if (!fv)
		return NULL;
	fv->stop_fd = -1;
	fv->handles.next = fv->handles.prev = &fv->handles;
	pthread_mutex_init(&fv->hlock, NULL);
	if (hooks)
		fv->st.hooks = *hooks;
	pthread_mutex_init(&fv->st.vars.lock, NULL);
	if (fsv_mailbox_init(&fv->mb) < 0) {
		pthread_mutex_destroy(&fv->st.vars.lock);
		pthread_mutex_destroy(&fv->hlock);
		free(fv);
		return NULL;
	}
	struct fsv_ring_ops ops = { .ctx = fv, .complete = ring_complete, .notify = ring_notify,
				    .drop_ph = ring_drop_ph };
	fv->st.ring = fsv_ring_new(FSV_RING_BYTES, &ops);
	if (!fv->st.ring) {
		fsv_mailbox_fini(&fv->mb);
		pthread_mutex_destroy(&fv->st.vars.lock);
		pthread_mutex_destroy(&fv->hlock);
		free(fv);
		return NULL;
	}
	clock_gettime(CLOCK_REALTIME, &fv->born);
	return fv;
}

static bool name_ok(const char *name)
{
	size_t len = strlen(name);
	return len > 0 && len < FSV_NAME_MAX && strchr(name, '/') == NULL &&
	       strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

int fsv_add_host(struct fsview *fv, const char *name, struct stack *st)
{
	if (fv->se)
		return -EBUSY;
	if (fv->st.n_hosts == FSV_HOSTS_MAX)
		return -ENOSPC;
	if (!name_ok(name) || !st)
		return -EINVAL;
	for (unsigned i = 0; i < fv->st.n_hosts; i++)
		if (strcmp(fv->st.hosts[i].name, name) == 0)
			return -EINVAL;
	struct fsv_host *h = &fv->st.hosts[fv->st.n_hosts++];
	snprintf(h->name, sizeof(h->name), "%s", name);
	h->st = st;
	h->ids_dirty = true;
	return 0;
}

int fsv_add_link(struct fsview *fv, const char *name, const struct fsv_link_source *src)
{
	if (fv->se)
		return -EBUSY;
	if (fv->st.n_links == FSV_LINKS_MAX)
		return -ENOSPC;
	if (!name_ok(name) || !src)
		return -EINVAL;
	for (unsigned i = 0; i < fv->st.n_links; i++)
		if (strcmp(fv->st.links[i].name, name) == 0)
			return -EINVAL;
	struct fsv_link *l = &fv->st.links[fv->st.n_links++];
	snprintf(l->name, sizeof(l->name), "%s", name);
	l->src = *src;
	return 0;
}

int fsv_add_router(struct fsview *fv, const char *name, const struct fsv_router_source *src)
{
	if (fv->se)
		return -EBUSY;
	if (fv->st.n_routers == FSV_ROUTERS_MAX)
		return -ENOSPC;
	if (!name_ok(name) || !src || !src->r)
		return -EINVAL;
	for (unsigned i = 0; i < fv->st.n_routers; i++)
		if (strcmp(fv->st.routers[i].name, name) == 0)
			return -EINVAL;
	struct fsv_router *r = &fv->st.routers[fv->st.n_routers++];
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->src = *src;
	return 0;
}

int fsv_mount(struct fsview *fv, const char *dir, char *err, size_t errlen)
{
	if (fv->se) {
		snprintf(err, errlen, "already mounted on %s", fv->mountpoint);
		return -EBUSY;
	}
	if (!realpath(dir, fv->mountpoint)) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(e));
		return -e;
	}
	__atomic_store_n(&log_owner, fv, __ATOMIC_RELEASE);
	fuse_set_log_func(libfuse_log);

	/* allow_other: everyone may read, as in /proc; default_permissions:
	 * the kernel then enforces the modes we report. */
	char *argv[] = { "tcplabd", "-o",
			 "allow_other,default_permissions,fsname=tcplab,subtype=tcplab", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(3, argv);
	fv->se = fuse_session_new(&args, &fsv_ops, sizeof(fsv_ops), fv);
	fuse_opt_free_args(&args);
	if (!fv->se) {
		snprintf(err, errlen, "cannot create the FUSE session (is libfuse3 usable?)");
		return -EIO;
	}
	if (fuse_session_mount(fv->se, fv->mountpoint) != 0) {
		snprintf(err, errlen,
			 "cannot mount FUSE on %s: is /dev/fuse there and the fuse module loaded (`modprobe fuse`)?",
			 fv->mountpoint);
		goto fail_session;
	}
	int fd = fuse_session_fd(fv->se);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		snprintf(err, errlen, "cannot make /dev/fuse non-blocking: %s", strerror(errno));
		goto fail_mount;
	}
	fv->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (fv->stop_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		goto fail_mount;
	}
	/* FUSE threads take no process signals: those belong to the loop. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = 0;
	for (unsigned i = 0; i < FSV_THREADS && rc == 0; i++) {
		rc = pthread_create(&fv->threads[i], NULL, worker, fv);
		if (rc == 0)
			fv->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (fv->n_threads == 0) {
		snprintf(err, errlen, "cannot start the FUSE threads: %s", strerror(rc));
		goto fail_mount;
	}
	return 0;

fail_mount:
	fuse_session_unmount(fv->se);
fail_session:
	fuse_session_destroy(fv->se);
	fv->se = NULL;
	if (fv->stop_fd >= 0)
		close(fv->stop_fd);
	fv->stop_fd = -1;
	return -EIO;
}

int fsv_fd(const struct fsview *fv)
{
	return fsv_mailbox_fd(&fv->mb);
}

void fsv_serve(struct fsview *fv, tl_usec_t now)
{
	fsv_mailbox_serve(&fv->mb, &fv->st, now);
}

void fsv_on_event(struct fsview *fv, unsigned host, const struct tl_event *ev)
{
	fsv_state_on_event(&fv->st, host, ev);
}

void fsv_unmount(struct fsview *fv)
{
	if (!fv || !fv->se)
		return;
	/* Release everyone who waits on us first: callers blocked in the
	 * mailbox get ENOTCONN, parked `events` reads end of file. */
	fsv_mailbox_close(&fv->mb);
	fsv_ring_close(fv->st.ring);
	uint64_t stop = 1;
	if (write(fv->stop_fd, &stop, sizeof(stop)) != (ssize_t)sizeof(stop))
		fv_log(fv, FSV_LOG_WARN, "fsview: cannot signal the FUSE threads: %s",
		       strerror(errno));
	fuse_session_exit(fv->se);
	for (unsigned i = 0; i < fv->n_threads; i++)
		pthread_join(fv->threads[i], NULL);
	fv->n_threads = 0;
	/* Closes /dev/fuse (aborting what still uses the mount), then
	 * detaches the mount point lazily. */
	fuse_session_unmount(fv->se);
	fuse_session_destroy(fv->se);
	fv->se = NULL;
	/* No release will come for what is still open now. */
	while (fv->handles.next != &fv->handles) {
		struct handle *h = fv->handles.next;
		untrack(fv, h);
		if (h->is_dir) {
			dir_free((struct dir_handle *)h);
		} else {
			struct open_file *fh = (struct open_file *)h;
			if (fh->kind == FH_STREAM)
				fsv_ring_release(fv->st.ring, fh->reader);
			sb_free(&fh->text);
			free(fh);
		}
	}
	close(fv->stop_fd);
	fv->stop_fd = -1;
	__atomic_store_n(&log_owner, NULL, __ATOMIC_RELEASE);
}

void fsv_free(struct fsview *fv)
{
	if (!fv)
		return;
	fsv_unmount(fv);
	fsv_ring_close(fv->st.ring);
	fsv_ring_free(fv->st.ring);
	fsv_mailbox_close(&fv->mb);
	fsv_mailbox_fini(&fv->mb);
	fsv_state_fini(&fv->st);
	pthread_mutex_destroy(&fv->st.vars.lock);
	pthread_mutex_destroy(&fv->hlock);
	free(fv);
}
