/* The view's tree table and inode packing (see tree.h). */
#include "tree.h"

#include "render.h"
#include "tcp_tunables.h"

#define DIR_ROW(p, nm, pat, dyn) \
	{ .parent = p, .name = nm, .pattern = pat, .kind = FSV_DIR, .perm = 0555, .dynamic = dyn }
#define RO_FILE(p, nm, pat, dyn, fn)                                                  \
	{ .parent = p, .name = nm, .pattern = pat, .kind = FSV_FILE, .perm = 0444,        \
	  .dynamic = dyn, .render = fn }

/* The whole tree. Directory listings of families are rendered by the
 * FUSE side from fixed names (hosts, links, tunables) or asked of the
 * loop (conns/ and conns/<id>/, through fsv_render_conns_dir/conn_dir). */
static const struct fsv_row_def rows[FSV_ROW_COUNT] = {
	[FSV_ROOT] = DIR_ROW(FSV_ROOT, "", "/", false),
	[FSV_HOSTS] = DIR_ROW(FSV_ROOT, "hosts", "hosts/", false),
	[FSV_HOST] = DIR_ROW(FSV_HOSTS, NULL, "hosts/<host>/", false),
	[FSV_SYS] = DIR_ROW(FSV_HOST, "sys", "hosts/<host>/sys/", false),
	[FSV_SYS_NET] = DIR_ROW(FSV_SYS, "net", "hosts/<host>/sys/net/", false),
	[FSV_SYSDIR] = DIR_ROW(FSV_SYS_NET, NULL, "hosts/<host>/sys/net/<ipv4|core|tcplab>/", false),
	[FSV_TUNABLE] = { .parent = FSV_SYSDIR, .name = NULL,
			  .pattern = "hosts/<host>/sys/net/<dir>/<tunable>", .kind = FSV_FILE,
			  .perm = 0644, .render = fsv_render_tunable, .write = fsv_write_tunable },
	[FSV_NET] = DIR_ROW(FSV_HOST, "net", "hosts/<host>/net/", false),
	[FSV_NET_TCP] = RO_FILE(FSV_NET, "tcp", "hosts/<host>/net/tcp", false, fsv_render_net_tcp),
	[FSV_NET_SNMP] = RO_FILE(FSV_NET, "snmp", "hosts/<host>/net/snmp", false, fsv_render_snmp),
	[FSV_NET_NETSTAT] = RO_FILE(FSV_NET, "netstat", "hosts/<host>/net/netstat", false,
				    fsv_render_netstat),
	[FSV_NET_CONNECTIONS] = RO_FILE(FSV_NET, "connections", "hosts/<host>/net/connections",
					false, fsv_render_connections),
	[FSV_CONNS] = { .parent = FSV_HOST, .name = "conns", .pattern = "hosts/<host>/conns/",
			.kind = FSV_DIR, .perm = 0555, .render = fsv_render_conns_dir },
	[FSV_CONN] = { .parent = FSV_CONNS, .name = NULL, .pattern = "hosts/<host>/conns/<id>/",
		       .kind = FSV_DIR, .perm = 0555, .dynamic = true,
		       .render = fsv_render_conn_dir },
	[FSV_CONN_INFO] = RO_FILE(FSV_CONN, "info", "hosts/<host>/conns/<id>/info", true,
				  fsv_render_conn_info),
	[FSV_CONN_TIMELINE] = RO_FILE(FSV_CONN, "timeline", "hosts/<host>/conns/<id>/timeline",
				      true, fsv_render_conn_timeline),
	[FSV_CONN_VAR] = RO_FILE(FSV_CONN, NULL, "hosts/<host>/conns/<id>/<variable>", true,
				 fsv_render_conn_var),
	[FSV_LINKS] = DIR_ROW(FSV_ROOT, "links", "links/", false),
	[FSV_LINK] = DIR_ROW(FSV_LINKS, NULL, "links/<link>/", false),
	[FSV_LINK_FILE] = { .parent = FSV_LINK, .name = NULL, .pattern = "links/<link>/<file>",
			    .kind = FSV_FILE, .perm = 0444, .render = fsv_render_link_file,
			    .write = fsv_write_link_file },
	[FSV_ROUTERS] = DIR_ROW(FSV_ROOT, "routers", "routers/", false),
	[FSV_ROUTER] = DIR_ROW(FSV_ROUTERS, NULL, "routers/<router>/", false),
	[FSV_ROUTER_COUNTERS] = RO_FILE(FSV_ROUTER, "counters", "routers/<router>/counters", false,
					fsv_render_router_counters),
	[FSV_ROUTER_ROUTES] = RO_FILE(FSV_ROUTER, "routes", "routers/<router>/routes", false,
				      fsv_render_router_routes),
	[FSV_ROUTER_HOLE] = { .parent = FSV_ROUTER, .name = "pmtu_black_hole",
			      .pattern = "routers/<router>/pmtu_black_hole", .kind = FSV_FILE,
			      .perm = 0644, .render = fsv_render_router_black_hole,
			      .write = fsv_write_router_black_hole },
	[FSV_EVENTS_LINK] = { .parent = FSV_ROOT, .name = "events", .pattern = "events",
			      .kind = FSV_SYMLINK, .perm = 0777 },
	[FSV_EVENTS] = { .parent = FSV_ROOT, .name = FSV_EVENTS_TARGET, .pattern = ".events",
			 .kind = FSV_STREAM, .perm = 0444, .dynamic = true, .hidden = true },
};

const struct fsv_row_def *fsv_row(unsigned row)
{
	return row < FSV_ROW_COUNT ? &rows[row] : NULL;
}

/* ino - 1 = row | obj << 6 | sub << 14 | id << 22: the root is 1. */
#define ROW_BITS 6
#define OBJ_SHIFT ROW_BITS
#define SUB_SHIFT (OBJ_SHIFT + 8)
#define ID_SHIFT (SUB_SHIFT + 8)
_Static_assert(FSV_ROW_COUNT <= (1 << ROW_BITS), "rows must fit their bits");
_Static_assert(64 - ID_SHIFT == 42, "FSV_ID_MAX must match the id bits");

uint64_t fsv_node_ino(const struct fsv_node *n)
{
	return 1 + ((uint64_t)n->row | (uint64_t)n->obj << OBJ_SHIFT |
		    (uint64_t)n->sub << SUB_SHIFT | (n->id & FSV_ID_MAX) << ID_SHIFT);
}

bool fsv_node_from_ino(uint64_t ino, struct fsv_node *n)
{
	if (ino == 0)
		return false;
	uint64_t x = ino - 1;
	n->row = (uint8_t)(x & ((1u << ROW_BITS) - 1));
	n->obj = (uint8_t)(x >> OBJ_SHIFT);
	n->sub = (uint8_t)(x >> SUB_SHIFT);
	n->id = x >> ID_SHIFT;
	return n->row < FSV_ROW_COUNT;
}

uint16_t fsv_node_perm(const struct fsv_node *n)
{
	if (n->row == FSV_TUNABLE) {
		const struct tcp_tunable *t = tcp_tunable_at(n->sub);
		return t ? (uint16_t)(t->mode & 0777) : 0444;
	}
	if (n->row == FSV_LINK_FILE && fsv_link_file_is_knob(n->id))
		return 0644;
	return rows[n->row < FSV_ROW_COUNT ? n->row : FSV_ROOT].perm;
}
