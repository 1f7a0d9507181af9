/* Loop-side rendering of the FUSE view (see render.h): every function
 * here reads or changes stack state, so it runs on the loop thread only,
 * called through the mailbox. The texts come from netemu/'s own
 * renderers (tcp_procfs, counters, tunables); this file picks the host,
 * keeps the per-connection timelines and formats the `events` lines. */
#include "render.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"
#include "link.h"
#include "router.h"
#include "events_ring.h"
#include "ipv4.h"
#include "tcp_procfs.h"
#include "tcp_state.h"
#include "tcp_tunables.h"
#include "tree.h"

static void say(struct fsv_state *s, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(struct fsv_state *s, int level, const char *fmt, ...)
{
	if (!s->hooks.log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->hooks.log(s->hooks.ctx, level, line);
}

static struct fsv_host *host_of(struct fsv_state *s, const struct fsv_node *n)
{
	return n->obj < s->n_hosts ? &s->hosts[n->obj] : NULL;
}

/* ---- names ---- */

static const char *const sysdir_names[FSV_SYSDIRS] = { "ipv4", "core", "tcplab" };
static const char *const sysdir_tables[FSV_SYSDIRS] = { "net/ipv4", "net/core", "tcplab" };
static const char *const link_files[] = { "mtu", "endpoints", "counters" };
#define LINK_STATIC_FILES 3

const char *fsv_sysdir_name(unsigned idx)
{
	return idx < FSV_SYSDIRS ? sysdir_names[idx] : NULL;
}

const char *fsv_sysdir_table(unsigned idx)
{
	return idx < FSV_SYSDIRS ? sysdir_tables[idx] : NULL;
}

int fsv_sysdir_find(const char *name)
{
	for (unsigned i = 0; i < FSV_SYSDIRS; i++)
		if (strcmp(sysdir_names[i], name) == 0)
			return (int)i;
	return -1;
}

/* Files per pipeline: its counters plus one per knob. */
static unsigned link_pipe_files(void)
{
	return 1 + (unsigned)link_knob_count();
}

unsigned fsv_link_file_count(const struct fsv_link_source *src)
{
	return LINK_STATIC_FILES + src->n_pipes * link_pipe_files();
}

bool fsv_link_file_is_knob(uint64_t idx)
{
	return idx >= LINK_STATIC_FILES && (idx - LINK_STATIC_FILES) % link_pipe_files() != 0;
}

const char *fsv_link_file_name(const struct fsv_link_source *src, unsigned idx, char *buf,
			       size_t cap)
{
	if (idx < LINK_STATIC_FILES)
		return link_files[idx];
	if (idx >= fsv_link_file_count(src))
		return NULL;
	unsigned d = (idx - LINK_STATIC_FILES) / link_pipe_files();
	unsigned k = (idx - LINK_STATIC_FILES) % link_pipe_files();
	snprintf(buf, cap, "%s.%s", src->pipes[d].name, k ? link_knob_name(k - 1) : "counters");
	return buf;
}

int fsv_link_file_find(const struct fsv_link_source *src, const char *name)
{
	char buf[80];
	for (unsigned i = 0; i < fsv_link_file_count(src); i++)
		if (strcmp(fsv_link_file_name(src, i, buf, sizeof(buf)), name) == 0)
			return (int)i;
	return -1;
}

int fsv_var_intern(struct fsv_names *v, const char *name)
{
	if (strlen(name) >= FSV_NAME_MAX)
		return -ENAMETOOLONG;
	unsigned n = __atomic_load_n(&v->count, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (strcmp(v->name[i], name) == 0)
			return (int)i;
	pthread_mutex_lock(&v->lock);
	int idx = -ENOSPC;
	n = v->count; /* another writer may have added it meanwhile */
	for (unsigned i = 0; i < n && idx < 0; i++)
		if (strcmp(v->name[i], name) == 0)
			idx = (int)i;
	if (idx < 0 && n < FSV_VARS_MAX) {
		snprintf(v->name[n], FSV_NAME_MAX, "%s", name);
		__atomic_store_n(&v->count, n + 1, __ATOMIC_RELEASE);
		idx = (int)n;
	}
	pthread_mutex_unlock(&v->lock);
	return idx;
}

const char *fsv_var_name(struct fsv_names *v, unsigned idx)
{
	return idx < __atomic_load_n(&v->count, __ATOMIC_ACQUIRE) ? v->name[idx] : NULL;
}

/* ---- tunables ---- */

int fsv_render_tunable(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out)
{
	(void)now;
	struct fsv_host *h = host_of(s, n);
	const struct tcp_tunable *t = tcp_tunable_at(n->sub);
	if (!h || !t)
		return -ENOENT;
	char buf[256];
	int len = tcp_tunable_read(stack_sysctl(h->st), t, buf, sizeof(buf));
	if (len < 0)
		return len;
	sb_append(out, buf, (size_t)len);
	return 0;
}

/* The value text without its newline, for log lines and the history. */
/* What was written, quoted for a log line: printable ASCII kept, the rest
 * as \n or \xHH, at most 40 bytes. */
static void quote_input(const char *buf, size_t len, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < len && i < 40 && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c == '\n')
			o += (size_t)snprintf(out + o, cap - o, "\\n");
		else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (len > 40 && o + 4 < cap)
		o += (size_t)snprintf(out + o, cap - o, "...");
	out[o] = '\0';
}

/* "ipv4" for "net/ipv4": the directory under sys/net/ in the view. */
static const char *view_dir(const struct tcp_tunable *t)
{
	for (unsigned i = 0; i < FSV_SYSDIRS; i++)
		if (strcmp(sysdir_tables[i], t->dir) == 0)
			return sysdir_names[i];
	return t->dir;
}

int fsv_write_tunable(struct fsv_state *s, const struct fsv_node *n, const char *buf,
		      size_t len, tl_usec_t now)
{
	struct fsv_host *h = host_of(s, n);
	const struct tcp_tunable *t = tcp_tunable_at(n->sub);
	if (!h || !t)
		return -ENOENT;
	struct tcp_tunable_change ch;
	int rc = tcp_tunable_apply(stack_sysctl(h->st), t, buf, len, &ch);
	if (rc < 0) {
		/* One line per refused write, naming the file, the input, the
		 * rule and the value kept (nothing was changed). */
		char q[200];
		quote_input(buf, len, q, sizeof(q));
		say(s, FSV_LOG_WARN, "%s: sys/net/%s/%s: refused \"%s\": %s (%s); value kept: %s",
		    h->name, view_dir(t), t->name, q, ch.why, strerror(-rc), ch.old);
		return rc;
	}
	if (strcmp(ch.old, ch.new) != 0)
		say(s, FSV_LOG_INFO, "%s: sys/net/%s/%s: %s -> %s", h->name, view_dir(t), t->name,
		    ch.old, ch.new);
	if (s->hooks.tunable_changed)
		s->hooks.tunable_changed(s->hooks.ctx, h->st, t->dir, t->name, ch.old, ch.new, now);
	return rc;
}

/* ---- net/ ---- */

int fsv_render_net_tcp(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out)
{
	struct fsv_host *h = host_of(s, n);
	if (!h)
		return -ENOENT;
	tcp_procfs_net_tcp(stack_tcp(h->st), now, out);
	return 0;
}

static int render_counters(struct strbuf *out, const struct stack_counters *c,
			   size_t (*fn)(const struct stack_counters *, char *, size_t))
{
	size_t need = fn(c, NULL, 0);
	char *buf = malloc(need + 1);
	if (!buf)
		return -ENOMEM;
	fn(c, buf, need + 1);
	sb_append(out, buf, need);
	free(buf);
	return 0;
}

int fsv_render_snmp(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		    struct strbuf *out)
{
	(void)now;
	struct fsv_host *h = host_of(s, n);
	if (!h)
		return -ENOENT;
	return render_counters(out, stack_counters(h->st), counters_render_snmp);
}

int fsv_render_netstat(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out)
{
	(void)now;
	struct fsv_host *h = host_of(s, n);
	if (!h)
		return -ENOENT;
	return render_counters(out, stack_counters(h->st), counters_render_netstat);
}

int fsv_render_connections(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			   struct strbuf *out)
{
	struct fsv_host *h = host_of(s, n);
	if (!h)
		return -ENOENT;
	tcp_procfs_connections(stack_tcp(h->st), now, out);
	return 0;
}

/* ---- conns/ ---- */

/* Re-reads the sorted live ids if a transition happened since. */
static int refresh_ids(struct fsv_host *h)
{
	if (!h->ids_dirty && h->ids)
		return 0;
	for (;;) {
		size_t n = tcp_procfs_conn_ids(stack_tcp(h->st), h->ids, h->ids_cap);
		if (n < h->ids_cap) {
			h->n_ids = n;
			h->ids_dirty = false;
			return 0;
		}
		size_t cap = h->ids_cap ? h->ids_cap * 2 : 256;
		uint64_t *p = realloc(h->ids, cap * sizeof(*p));
		if (!p)
			return -ENOMEM;
		h->ids = p;
		h->ids_cap = cap;
	}
}

bool fsv_conn_exists(struct fsv_state *s, const struct fsv_node *n)
{
	struct fsv_host *h = host_of(s, n);
	if (!h || refresh_ids(h) < 0)
		return false;
	size_t lo = 0, hi = h->n_ids;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->ids[mid] == n->id)
			return true;
		if (h->ids[mid] < n->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

int fsv_render_conns_dir(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out)
{
	(void)now;
	struct fsv_host *h = host_of(s, n);
	if (!h)
		return -ENOENT;
	int rc = refresh_ids(h);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < h->n_ids; i++)
		sb_printf(out, "%" PRIu64 "\n", h->ids[i]);
	return 0;
}

static int conn_info(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		     struct strbuf *out)
{
	struct fsv_host *h = host_of(s, n);
	if (!h || !fsv_conn_exists(s, n))
		return -ENOENT;
	return tcp_procfs_conn_info(stack_tcp(h->st), n->id, now, out);
}

int fsv_render_conn_dir(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			struct strbuf *out)
{
	struct strbuf info = { 0 };
	int rc = conn_info(s, n, now, &info);
	if (rc == 0) {
		sb_printf(out, "info\ntimeline\n");
		/* One file per "name value" line of the info text. */
		for (const char *p = info.p; p && *p;) {
			const char *eol = strchr(p, '\n');
			size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
			const char *sp = memchr(p, ' ', linelen);
			sb_append(out, p, sp ? (size_t)(sp - p) : linelen);
			sb_append(out, "\n", 1);
			p = eol ? eol + 1 : p + linelen;
		}
	}
	sb_free(&info);
	return rc;
}

int fsv_render_conn_info(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out)
{
	return conn_info(s, n, now, out);
}

int fsv_render_conn_var(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			struct strbuf *out)
{
	const char *name = fsv_var_name(&s->vars, n->sub);
	if (!name)
		return -ENOENT;
	struct strbuf info = { 0 };
	int rc = conn_info(s, n, now, &info);
	if (rc == 0) {
		rc = -ENOENT; /* a listener has no snd_una, for one */
		size_t nl = strlen(name);
		for (const char *p = info.p; p && *p;) {
			const char *eol = strchr(p, '\n');
			size_t linelen = eol ? (size_t)(eol - p) : strlen(p);
			if (linelen > nl && strncmp(p, name, nl) == 0 && p[nl] == ' ') {
				sb_append(out, p + nl + 1, linelen - nl - 1);
				sb_append(out, "\n", 1);
				rc = 0;
				break;
			}
			p = eol ? eol + 1 : p + linelen;
		}
	}
	sb_free(&info);
	return rc;
}

/* ---- timelines ---- */

static size_t tl_hash(uint64_t id, size_t mask)
{
	return (size_t)((id * UINT64_C(0x9E3779B97F4A7C15)) >> 20) & mask;
}

static struct fsv_timeline **tl_slot(struct fsv_tlmap *m, uint64_t id)
{
	if (!m->bucket)
		return NULL;
	struct fsv_timeline **pp = &m->bucket[tl_hash(id, m->mask)];
	while (*pp && (*pp)->id != id)
		pp = &(*pp)->next;
	return pp;
}

static int tl_grow(struct fsv_tlmap *m)
{
	size_t nb = m->bucket ? (m->mask + 1) * 2 : 1024;
	struct fsv_timeline **b = calloc(nb, sizeof(*b));
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; m->bucket && i <= m->mask; i++) {
		for (struct fsv_timeline *t = m->bucket[i], *next; t; t = next) {
			next = t->next;
			size_t j = tl_hash(t->id, nb - 1);
			t->next = b[j];
			b[j] = t;
		}
	}
	free(m->bucket);
	m->bucket = b;
	m->mask = nb - 1;
	return 0;
}

static void tl_add(struct fsv_tlmap *m, const struct tl_event *ev)
{
	struct fsv_timeline **pp = tl_slot(m, ev->conn_id);
	if (!pp || !*pp) {
		if ((!m->bucket || m->count >= m->mask + 1) && tl_grow(m) < 0)
			return; /* out of memory: the timeline just misses this */
		pp = tl_slot(m, ev->conn_id);
		struct fsv_timeline *t = calloc(1, sizeof(*t));
		if (!t)
			return;
		t->id = ev->conn_id;
		*pp = t;
		m->count++;
	}
	struct fsv_timeline *t = *pp;
	if (t->n == t->cap && t->cap < FSV_TIMELINE_MAX) {
		uint16_t cap = t->cap ? (uint16_t)TL_MIN(t->cap * 2, FSV_TIMELINE_MAX) : 4;
		struct fsv_tl_rec *r = realloc(t->recs, cap * sizeof(*r));
		if (!r)
			return;
		t->recs = r;
		t->cap = cap;
	}
	/* While growing, first is 0 and records are appended; once full at
	 * FSV_TIMELINE_MAX the oldest is overwritten. */
	struct fsv_tl_rec *rec;
	if (t->n < t->cap) {
		rec = &t->recs[(t->first + t->n) % t->cap];
		t->n++;
	} else {
		rec = &t->recs[t->first];
		t->first = (uint16_t)((t->first + 1) % t->cap);
	}
	rec->time = ev->time;
	rec->kind = (uint8_t)ev->kind;
	rec->old_state = ev->old_state;
	rec->new_state = ev->new_state;
	rec->count = ev->count;
	memcpy(rec->cause, ev->cause, sizeof(rec->cause));
	rec->cause[sizeof(rec->cause) - 1] = '\0';
}

static void tl_drop(struct fsv_tlmap *m, uint64_t id)
{
	struct fsv_timeline **pp = tl_slot(m, id);
	if (!pp || !*pp)
		return;
	struct fsv_timeline *t = *pp;
	*pp = t->next;
	free(t->recs);
	free(t);
	m->count--;
}

/* "SYN_RECV -> ESTABLISHED (ACK)", "synack-retransmit #1", ... */
static int format_what(char *buf, size_t cap, uint8_t kind, uint8_t old_state,
		       uint8_t new_state, uint32_t count, const char *cause)
{
	switch ((enum tl_event_kind)kind) {
	case TL_EV_TCP_STATE:
		return snprintf(buf, cap, "%s -> %s (%s)", tcp_state_name(old_state),
				tcp_state_name(new_state), cause);
	case TL_EV_TCP_SYNACK_RETRANS:
		return snprintf(buf, cap, "synack-retransmit #%u", count);
	case TL_EV_TCP_RETRANS:
		return snprintf(buf, cap, "retransmit #%u (%s)", count, cause);
	}
	return snprintf(buf, cap, "event %u", kind);
}

static void format_time(tl_usec_t t, char *buf, size_t cap)
{
	snprintf(buf, cap, "%" PRIu64 ".%06" PRIu64, (uint64_t)(t / TL_USEC_PER_SEC),
		 (uint64_t)(t % TL_USEC_PER_SEC));
}

int fsv_render_conn_timeline(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			     struct strbuf *out)
{
	(void)now;
	struct fsv_host *h = host_of(s, n);
	if (!h || !fsv_conn_exists(s, n))
		return -ENOENT;
	struct fsv_timeline **pp = tl_slot(&h->tl, n->id);
	const struct fsv_timeline *t = pp ? *pp : NULL;
	for (uint16_t i = 0; t && i < t->n; i++) {
		const struct fsv_tl_rec *r = &t->recs[(t->first + i) % t->cap];
		char when[32], what[96];
		format_time(r->time, when, sizeof(when));
		format_what(what, sizeof(what), r->kind, r->old_state, r->new_state, r->count,
			    r->cause);
		sb_printf(out, "%s %s\n", when, what);
	}
	return 0;
}

/* ---- links/ ---- */

int fsv_render_link_file(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out)
{
	(void)now;
	if (n->obj >= s->n_links)
		return -ENOENT;
	const struct fsv_link_source *src = &s->links[n->obj].src;
	switch (n->id) {
	case 0:
		sb_printf(out, "%u\n", src->mtu);
		return 0;
	case 1:
		sb_printf(out, "%s\n", src->endpoints);
		return 0;
	case 2:
		sb_printf(out,
			  "to_peer_dropped %" PRIu64 "\nfrom_peer_errors %" PRIu64
			  "\nfrom_peer_nobuf %" PRIu64 "\nfrom_peer_bad_vnet %" PRIu64 "\n",
			  src->to_peer_dropped ? *src->to_peer_dropped : 0,
			  src->from_peer_errors ? *src->from_peer_errors : 0,
			  src->from_peer_nobuf ? *src->from_peer_nobuf : 0,
			  src->from_peer_bad_vnet ? *src->from_peer_bad_vnet : 0);
		return 0;
	}
	if (n->id >= fsv_link_file_count(src))
		return -ENOENT;
	unsigned d = (unsigned)(n->id - LINK_STATIC_FILES) / link_pipe_files();
	unsigned k = (unsigned)(n->id - LINK_STATIC_FILES) % link_pipe_files();
	const struct link_dir *ld = src->pipes[d].ld;
	if (!ld)
		return -ENOENT;
	if (k == 0) {
		link_dir_render_counters(ld, out);
		return 0;
	}
	char val[128];
	if (link_knob_get(ld, link_knob_name(k - 1), val, sizeof(val)) < 0)
		return -EIO;
	sb_printf(out, "%s\n", val);
	return 0;
}

/* A knob write takes the lab file's value syntax ("50ms", "10%"); a value
 * the lab file would refuse is EINVAL, logged, and changes nothing. */
int fsv_write_link_file(struct fsv_state *s, const struct fsv_node *n, const char *buf,
			size_t len, tl_usec_t now)
{
	(void)now;
	if (n->obj >= s->n_links || !fsv_link_file_is_knob(n->id) ||
	    n->id >= fsv_link_file_count(&s->links[n->obj].src))
		return -EACCES;
	struct fsv_link *l = &s->links[n->obj];
	unsigned d = (unsigned)(n->id - LINK_STATIC_FILES) / link_pipe_files();
	const char *knob = link_knob_name((n->id - LINK_STATIC_FILES) % link_pipe_files() - 1);
	const char *pipe = l->src.pipes[d].name;
	struct link_dir *ld = l->src.pipes[d].ld;
	if (!ld)
		return -ENOENT;
	if (len == 0)
		return 0; /* like /proc: an empty write changes nothing */
	char text[128], old[128], new[128];
	size_t n_text = TL_MIN(len, sizeof(text) - 1);
	memcpy(text, buf, n_text);
	text[n_text] = '\0';
	while (n_text && (text[n_text - 1] == '\n' || text[n_text - 1] == ' '))
		text[--n_text] = '\0';
	if (link_knob_get(ld, knob, old, sizeof(old)) < 0)
		old[0] = '\0';
	int rc = len >= sizeof(text) ? -EINVAL : link_knob_set(ld, knob, text);
	if (rc < 0) {
		say(s, FSV_LOG_WARN, "links/%s/%s.%s: refused \"%s\": %s (see docs/labs.md for the "
			"syntax); value kept: %s", l->name, pipe, knob, text, strerror(-rc), old);
		return rc == -ENOENT ? -EINVAL : rc;
	}
	if (link_knob_get(ld, knob, new, sizeof(new)) < 0)
		new[0] = '\0';
	if (strcmp(old, new) != 0)
		say(s, FSV_LOG_INFO, "links/%s/%s.%s: %s -> %s", l->name, pipe, knob, old, new);
	return (int)len;
}

/* ---- routers/ ---- */

_Static_assert(ROUTER_IFS_MAX <= FSV_ROUTER_IFS_MAX,
	       "fsv_router_source names every router interface");

static struct fsv_router *router_of(struct fsv_state *s, const struct fsv_node *n)
{
	return n->obj < s->n_routers ? &s->routers[n->obj] : NULL;
}

static void put_ip(struct strbuf *out, uint32_t a)
{
	sb_printf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int fsv_render_router_counters(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			       struct strbuf *out)
{
	(void)now;
	struct fsv_router *fr = router_of(s, n);
	if (!fr)
		return -ENOENT;
	const struct router_counters *c = &fr->src.r->c;
	sb_printf(out,
		  "Ip.InReceives %" PRIu64 "\nIp.InHdrErrors %" PRIu64 "\nIp.InAddrErrors %" PRIu64
		  "\nIp.ForwDatagrams %" PRIu64 "\nIp.OutNoRoutes %" PRIu64
		  "\nIp.FragFails %" PRIu64 "\nIp.InDelivers %" PRIu64 "\nIp.InDiscards %" PRIu64
		  "\nIcmp.InEchos %" PRIu64 "\nIcmp.OutEchoReps %" PRIu64
		  "\nIcmp.OutTimeExcds %" PRIu64 "\nIcmp.OutDestUnreachs %" PRIu64
		  "\nIcmp.OutRateLimited %" PRIu64 "\n",
		  c->InReceives, c->InHdrErrors, c->InAddrErrors, c->ForwDatagrams, c->OutNoRoutes,
		  c->FragFails, c->InDelivers, c->InDiscards, c->InEchos, c->OutEchoReps,
		  c->OutTimeExcds, c->OutDestUnreachs, c->OutRateLimited);
	return 0;
}

/* As `ip route` prints them: connected subnets, then the static routes. */
int fsv_render_router_routes(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			     struct strbuf *out)
{
	(void)now;
	struct fsv_router *fr = router_of(s, n);
	if (!fr)
		return -ENOENT;
	const struct router *r = fr->src.r;
	for (unsigned i = 0; i < r->n_ifs; i++) {
		const struct router_if *f = &r->ifs[i];
		put_ip(out, f->addr & f->mask);
		sb_printf(out, "/%u dev %s proto kernel scope link src ", f->prefix_len,
			  fr->src.ifnames[i]);
		put_ip(out, f->addr);
		sb_printf(out, "\n");
	}
	for (unsigned i = 0; i < r->n_routes; i++) {
		const struct router_route *rt = &r->routes[i];
		unsigned ifx = 0;
		for (unsigned k = 0; k < r->n_ifs; k++)
			if ((rt->via & r->ifs[k].mask) == (r->ifs[k].addr & r->ifs[k].mask))
				ifx = k;
		put_ip(out, rt->dst);
		sb_printf(out, "/%u via ", rt->prefix_len);
		put_ip(out, rt->via);
		sb_printf(out, " dev %s\n", fr->src.ifnames[ifx]);
	}
	return 0;
}

int fsv_render_router_black_hole(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
				 struct strbuf *out)
{
	(void)now;
	struct fsv_router *fr = router_of(s, n);
	if (!fr)
		return -ENOENT;
	sb_printf(out, "%d\n", fr->src.r->pmtu_black_hole ? 1 : 0);
	return 0;
}

/* 0 or 1 (a trailing newline allowed), like a boolean sysctl; anything
 * else is EINVAL, logged, and changes nothing. */
int fsv_write_router_black_hole(struct fsv_state *s, const struct fsv_node *n, const char *buf,
				size_t len, tl_usec_t now)
{
	(void)now;
	struct fsv_router *fr = router_of(s, n);
	if (!fr)
		return -ENOENT;
	if (len == 0)
		return 0;
	size_t k = len;
	if (buf[k - 1] == '\n')
		k--;
	bool old = fr->src.r->pmtu_black_hole;
	if (k != 1 || (buf[0] != '0' && buf[0] != '1')) {
		say(s, FSV_LOG_WARN,
		    "routers/%s/pmtu_black_hole: refused \"%.*s\": write 1 (drop too-big DF datagrams without ICMP) or 0 (answer them); value kept: %d",
		    fr->name, (int)TL_MIN(k, (size_t)40), buf, old ? 1 : 0);
		return -EINVAL;
	}
	bool v = buf[0] == '1';
	if (v != old)
		say(s, FSV_LOG_INFO, "routers/%s/pmtu_black_hole: %d -> %d", fr->name, old ? 1 : 0,
		    v ? 1 : 0);
	fr->src.r->pmtu_black_hole = v;
	return (int)len;
}

/* ---- events ---- */

size_t fsv_format_event(const struct fsv_state *s, unsigned h, const struct tl_event *ev,
			char *buf, size_t cap)
{
	char when[32], la[16], ra[16], what[96];
	format_time(ev->time, when, sizeof(when));
	format_what(what, sizeof(what), (uint8_t)ev->kind, ev->old_state, ev->new_state,
		    ev->count, ev->cause);
	int n = snprintf(buf, cap, "%s %s conn %" PRIu64 " %s:%u %s:%u %s%s\n", when,
			 h < s->n_hosts ? s->hosts[h].name : "?", ev->conn_id,
			 ipv4_ntoa(ev->laddr, la), ev->lport, ipv4_ntoa(ev->raddr, ra), ev->rport,
			 what, (ev->flags & TL_EVF_FROM_COOKIE) ? " cookie" : "");
	if (n < 0)
		return 0;
	if ((size_t)n >= cap) { /* keep the line a line */
		buf[cap - 2] = '\n';
		return cap - 1;
	}
	return (size_t)n;
}

void fsv_state_on_event(struct fsv_state *s, unsigned h, const struct tl_event *ev)
{
	if (h >= s->n_hosts)
		return;
	struct fsv_host *host = &s->hosts[h];
	if (ev->kind == TL_EV_TCP_STATE) {
		host->ids_dirty = true;
		if (ev->new_state == TCP_CLOSE)
			tl_drop(&host->tl, ev->conn_id); /* the connection is gone */
		else
			tl_add(&host->tl, ev);
	} else {
		tl_add(&host->tl, ev);
	}
	if (s->ring) {
		char line[256];
		size_t len = fsv_format_event(s, h, ev, line, sizeof(line));
		fsv_ring_append(s->ring, line, len);
	}
}

void fsv_state_fini(struct fsv_state *s)
{
	for (unsigned i = 0; i < s->n_hosts; i++) {
		struct fsv_host *h = &s->hosts[i];
		for (size_t b = 0; h->tl.bucket && b <= h->tl.mask; b++) {
			for (struct fsv_timeline *t = h->tl.bucket[b], *next; t; t = next) {
				next = t->next;
				free(t->recs);
				free(t);
			}
		}
		free(h->tl.bucket);
		h->tl = (struct fsv_tlmap){ 0 };
		free(h->ids);
		h->ids = NULL;
		h->n_ids = h->ids_cap = 0;
	}
}
