/* The tree of the FUSE view as one table: each row is a path pattern with
 * its parent row, file type and mode, and the loop-side functions that
 * render and write it (docs/fsview.md lists the tree).
 *
 * A node is a row plus its parameters (host or link index, tunable,
 * directory or variable index, connection id), and its inode number is
 * just that tuple packed into 64 bits, so lookups need no inode table and
 * an inode number stays valid for as long as the thing it names exists.
 *
 * Constant data and pure functions: any thread. */
#ifndef TL_FSVIEW_TREE_H
#define TL_FSVIEW_TREE_H

#include <stdbool.h>
#include <stdint.h>

#include "render.h"

enum fsv_row {
	FSV_ROOT,            /* / */
	FSV_HOSTS,           /* hosts/ */
	FSV_HOST,            /* hosts/<host>/ */
	FSV_SYS,             /* hosts/<host>/sys/ */
	FSV_SYS_NET,         /* hosts/<host>/sys/net/ */
	FSV_SYSDIR,          /* hosts/<host>/sys/net/{ipv4,core,tcplab}/ */
	FSV_TUNABLE,         /* hosts/<host>/sys/net/<dir>/<tunable> */
	FSV_NET,             /* hosts/<host>/net/ */
	FSV_NET_TCP,         /* hosts/<host>/net/tcp */
	FSV_NET_SNMP,        /* hosts/<host>/net/snmp */
	FSV_NET_NETSTAT,     /* hosts/<host>/net/netstat */
	FSV_NET_CONNECTIONS, /* hosts/<host>/net/connections */
	FSV_CONNS,           /* hosts/<host>/conns/ */
	FSV_CONN,            /* hosts/<host>/conns/<id>/ */
	FSV_CONN_INFO,       /* hosts/<host>/conns/<id>/info */
	FSV_CONN_TIMELINE,   /* hosts/<host>/conns/<id>/timeline */
	FSV_CONN_VAR,        /* hosts/<host>/conns/<id>/<variable> */
	FSV_LINKS,           /* links/ */
	FSV_LINK,            /* links/<link>/ */
	FSV_LINK_FILE,       /* links/<link>/<file> */
	FSV_ROUTERS,         /* routers/ */
	FSV_ROUTER,          /* routers/<router>/ */
	FSV_ROUTER_COUNTERS, /* routers/<router>/counters */
	FSV_ROUTER_ROUTES,   /* routers/<router>/routes */
	FSV_ROUTER_HOLE,     /* routers/<router>/pmtu_black_hole */
	FSV_EVENTS_LINK,     /* events -> .events */
	FSV_EVENTS,          /* .events: the stream (resolvable, not listed) */
	FSV_ROW_COUNT
};

/* A node of the tree. Which parameters matter depends on the row: obj is
 * the host (rows under hosts/<host>) or link index; sub the sys/net dir,
 * tunable row, variable or link file index; id the connection id. */
struct fsv_node {
	uint8_t row;
	uint8_t obj;
	uint8_t sub;
	uint64_t id;
};

/* Connection ids above this cannot be part of an inode number. */
#define FSV_ID_MAX ((UINT64_C(1) << 42) - 1)

/* Kinds of entry a row makes. */
enum fsv_kind { FSV_DIR, FSV_FILE, FSV_SYMLINK, FSV_STREAM };

/* One row. Invariants: the root is its own parent; a row with a fixed
 * name has no parameter of its own; `write` is set only for rows whose
 * files may be writable (tunables: the tunable's mode decides). */
struct fsv_row_def {
	uint8_t parent;
	const char *name;     /* fixed name, or NULL for a family */
	const char *pattern;  /* path pattern, for documentation and logs */
	enum fsv_kind kind;
	uint16_t perm;        /* permission bits (tunables: from their row) */
	bool dynamic;         /* exists while the stack says so: never cached */
	bool hidden;          /* resolvable, not listed (see docs/fsview.md) */
	fsv_render_fn render; /* loop thread; NULL for the stream and symlink */
	fsv_write_fn write;   /* loop thread; NULL when read-only */
};

const struct fsv_row_def *fsv_row(unsigned row);

/* Inode number of n (FUSE_ROOT_ID 1 for the root), and back; false if
 * ino cannot be a node. */
uint64_t fsv_node_ino(const struct fsv_node *n);
bool fsv_node_from_ino(uint64_t ino, struct fsv_node *n);

/* Permission bits of n (the row's, or the tunable's own mode). */
uint16_t fsv_node_perm(const struct fsv_node *n);

/* Where the events symlink points. */
#define FSV_EVENTS_TARGET ".events"

#endif
