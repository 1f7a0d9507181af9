/* The loop side of fsview: the state the FUSE view shows, and the
 * functions that render files (and directory listings) from it and apply
 * writes. Everything here except the name tables runs on the loop thread,
 * called through the mailbox; the FUSE side only reads the names, which
 * are fixed before mounting (hosts, links) or append-only (variables). */
#ifndef TL_FSVIEW_RENDER_H
#define TL_FSVIEW_RENDER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "fsview.h"
#include "stack.h"
#include "strbuf.h"
#include "tl_types.h"

#define FSV_HOSTS_MAX 32
#define FSV_LINKS_MAX 32
#define FSV_ROUTERS_MAX 4 /* the lab's LAB_ROUTERS_MAX */
#define FSV_NAME_MAX 32
#define FSV_VARS_MAX 128
/* Lines kept per connection timeline (the oldest are dropped). */
#define FSV_TIMELINE_MAX 64

struct fsv_node;

/* One transition (or retransmission) of a connection, as kept for its
 * timeline: just what the line needs. */
struct fsv_tl_rec {
	tl_usec_t time;
	uint8_t kind;        /* enum tl_event_kind */
	uint8_t old_state, new_state;
	uint32_t count;
	char cause[24];
};

/* A connection's timeline: a ring of at most FSV_TIMELINE_MAX records.
 * Invariant: n <= cap <= FSV_TIMELINE_MAX; records start at `first`. */
struct fsv_timeline {
	uint64_t id;
	struct fsv_timeline *next; /* hash chain */
	uint16_t n, cap, first;
	struct fsv_tl_rec *recs;
};

/* One host's timelines by connection id (chained hash, power-of-two
 * buckets). Dropped when the connection ends (a transition to CLOSE). */
struct fsv_tlmap {
	struct fsv_timeline **bucket;
	size_t mask;         /* buckets - 1 */
	size_t count;
};

/* Invariant: ids[0..n_ids) is the sorted list of live connection ids as
 * of the last refresh; ids_dirty says a transition happened since. */
struct fsv_host {
	char name[FSV_NAME_MAX];
	struct stack *st;
	struct fsv_tlmap tl;
	uint64_t *ids;
	size_t n_ids, ids_cap;
	bool ids_dirty;
};

struct fsv_link {
	char name[FSV_NAME_MAX];
	struct fsv_link_source src;
};

struct fsv_router {
	char name[FSV_NAME_MAX];
	struct fsv_router_source src;
};

/* Names of per-connection variable files, interned as they are first
 * seen so that each has a small index (part of its inode number). Writers
 * hold `lock`; readers need none: a slot is filled before `count` is
 * published (release/acquire) and never changes afterwards. */
struct fsv_names {
	pthread_mutex_t lock;
	char name[FSV_VARS_MAX][FSV_NAME_MAX];
	unsigned count;
};

struct fsv_ring;

/* Everything the view shows. hosts/links are fixed before mounting. */
struct fsv_state {
	struct fsv_host hosts[FSV_HOSTS_MAX];
	unsigned n_hosts;
	struct fsv_link links[FSV_LINKS_MAX];
	unsigned n_links;
	struct fsv_router routers[FSV_ROUTERS_MAX];
	unsigned n_routers;
	struct fsv_names vars;
	struct fsv_ring *ring; /* the `events` stream */
	struct fsv_hooks hooks;
};

/* Render: fills out with the file's bytes (or a directory's entry names,
 * one per line); 0 or a negative errno (-ENOENT: gone). */
typedef int (*fsv_render_fn)(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			     struct strbuf *out);
/* Write: applies len bytes written at offset 0; returns the bytes
 * accepted or a negative errno. */
typedef int (*fsv_write_fn)(struct fsv_state *s, const struct fsv_node *n, const char *buf,
			    size_t len, tl_usec_t now);

/* Tunables: hosts/<host>/sys/net/<dir>/<name>. */
int fsv_render_tunable(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out);
int fsv_write_tunable(struct fsv_state *s, const struct fsv_node *n, const char *buf,
		      size_t len, tl_usec_t now);
/* hosts/<host>/net/{tcp,snmp,netstat,connections}. */
int fsv_render_net_tcp(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out);
int fsv_render_snmp(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		    struct strbuf *out);
int fsv_render_netstat(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
		       struct strbuf *out);
int fsv_render_connections(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			   struct strbuf *out);
/* hosts/<host>/conns/ listing (ids) and conns/<id>/ listing (files). */
int fsv_render_conns_dir(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out);
int fsv_render_conn_dir(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			struct strbuf *out);
/* conns/<id>/info, /timeline, /<variable>. */
int fsv_render_conn_info(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out);
int fsv_render_conn_timeline(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			     struct strbuf *out);
int fsv_render_conn_var(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			struct strbuf *out);
/* links/<link>/<file>. */
int fsv_render_link_file(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			 struct strbuf *out);

/* Whether connection n->id of host n->obj is live (lookups). */
bool fsv_conn_exists(struct fsv_state *s, const struct fsv_node *n);

/* Records one stack event of host h: its timeline, and one line in the
 * `events` stream. */
void fsv_state_on_event(struct fsv_state *s, unsigned h, const struct tl_event *ev);

/* The `events` line for ev (with the trailing newline); returns its length. */
size_t fsv_format_event(const struct fsv_state *s, unsigned h, const struct tl_event *ev,
			char *buf, size_t cap);

/* Frees the timelines and id caches. */
void fsv_state_fini(struct fsv_state *s);

/* Variable names: index of name (interning it), or -ENOSPC; name of an
 * index, or NULL. Any thread. */
int fsv_var_intern(struct fsv_names *v, const char *name);
const char *fsv_var_name(struct fsv_names *v, unsigned idx);

/* links/<link>/ files: mtu, endpoints, counters, then for each pipeline
 * of the link (src->pipes) its counters and one writable file per knob,
 * named as in lab files ("to_stack.loss", "from_a.delay"). Index or -1;
 * name (in buf) or NULL; how many. A file's index is its node's id. */
int fsv_link_file_find(const struct fsv_link_source *src, const char *name);
const char *fsv_link_file_name(const struct fsv_link_source *src, unsigned idx, char *buf,
			       size_t cap);
unsigned fsv_link_file_count(const struct fsv_link_source *src);
/* Whether file idx (of any link that has it) is a knob: writable, 0644. */
bool fsv_link_file_is_knob(uint64_t idx);
int fsv_write_link_file(struct fsv_state *s, const struct fsv_node *n, const char *buf,
			size_t len, tl_usec_t now);

/* routers/<router>/counters (Linux's Ip:/Icmp: names, `name value`
 * lines), routes (as `ip route` prints them) and pmtu_black_hole (0 or 1,
 * writable: EINVAL for anything else). */
int fsv_render_router_counters(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			       struct strbuf *out);
int fsv_render_router_routes(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
			     struct strbuf *out);
int fsv_render_router_black_hole(struct fsv_state *s, const struct fsv_node *n, tl_usec_t now,
				 struct strbuf *out);
int fsv_write_router_black_hole(struct fsv_state *s, const struct fsv_node *n, const char *buf,
				size_t len, tl_usec_t now);

/* Directories under sys/net/: index <-> file name <-> tunable table dir. */
#define FSV_SYSDIRS 3
const char *fsv_sysdir_name(unsigned idx);   /* "ipv4", "core", "tcplab" */
const char *fsv_sysdir_table(unsigned idx);  /* "net/ipv4", "net/core", "tcplab" */
int fsv_sysdir_find(const char *name);

#endif
