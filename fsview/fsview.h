/* fsview: the procfs-style FUSE view of a running lab (docs/fsview.md).
 *
 * The daemon builds one fsview, registers its stack hosts and links, and
 * mounts it; FUSE requests are then served by fsview's own threads, which
 * never touch stack memory: they post requests to a mailbox that the
 * loop thread serves (fsv_fd() becomes readable -> fsv_serve()). The loop
 * thread also feeds every stack event to fsv_on_event(), which keeps the
 * per-connection timelines and the `events` stream.
 *
 * Threads: fsv_new/add_host/add_link/mount/unmount/free on the main
 * thread (which is the loop thread), in that order; fsv_serve and
 * fsv_on_event on the loop thread only. */
#ifndef TL_FSVIEW_FSVIEW_H
#define TL_FSVIEW_FSVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "tl_types.h"

struct stack;
struct link_dir;
struct fsview;

/* Log levels (syslog numbers, as daemon/log.h). */
#define FSV_LOG_ERR 3
#define FSV_LOG_WARN 4
#define FSV_LOG_INFO 6
#define FSV_LOG_DEBUG 7

/* What fsview asks of the daemon. Either function may be NULL. */
struct fsv_hooks {
	void *ctx;
	/* Any thread: one log line without a newline. */
	void (*log)(void *ctx, int level, const char *line);
	/* Loop thread: a tunable write was applied (values as read back,
	 * without the trailing newline; old and new may be equal). */
	void (*tunable_changed)(void *ctx, struct stack *st, const char *dir,
				const char *name, const char *old_value,
				const char *new_value, tl_usec_t now);
};

#define FSV_LINK_PIPES_MAX 32 /* a link's hosts (the lab's LAB_PORTS_MAX) */
#define FSV_IFNAME_MAX 32
#define FSV_ROUTER_IFS_MAX 8 /* netemu ROUTER_IFS_MAX (checked in render.c) */

/* What links/<link>/ shows. The counters are read on the loop thread at
 * render time; NULL pointers read as 0. */
struct fsv_link_source {
	uint16_t mtu;
	char endpoints[160];             /* one line, e.g. "stack 198.18.0.1 <-> peer tcplab-peer/tl0 198.18.0.2" */
	const uint64_t *to_peer_dropped;    /* frames the devices refused */
	const uint64_t *from_peer_errors;   /* failed device reads */
	const uint64_t *from_peer_nobuf;    /* frames read that found no buffer */
	const uint64_t *from_peer_bad_vnet; /* frames read with a senseless virtio_net_hdr */
	/* The impairment pipelines: on a wire of a kernel and a stack host
	 * "to_stack" and "to_kernel"; elsewhere one per sender, "from_<host>".
	 * Each shows as <name>.counters and <name>.<knob>. The names are fixed
	 * before fsv_mount; the pipelines are loop-thread memory, read and
	 * written only through the mailbox. */
	struct fsv_link_pipe {
		char name[40];
		struct link_dir *ld;
	} pipes[FSV_LINK_PIPES_MAX];
	unsigned n_pipes;
};

/* What routers/<router>/ shows: the router (loop-thread memory, read and
 * written only through the mailbox) and the link name of each of its
 * interfaces, for `routes`. */
struct fsv_router_source {
	struct router *r;
	char ifnames[FSV_ROUTER_IFS_MAX][FSV_IFNAME_MAX];
};

/* NULL if out of memory. hooks may be NULL. */
struct fsview *fsv_new(const struct fsv_hooks *hooks);

/* Before fsv_mount. Host i is the i-th added (fsv_on_event's `host`).
 * Returns 0, -ENOSPC (too many), -EINVAL (bad or duplicate name). */
int fsv_add_host(struct fsview *fv, const char *name, struct stack *st);
int fsv_add_link(struct fsview *fv, const char *name, const struct fsv_link_source *src);
int fsv_add_router(struct fsview *fv, const char *name, const struct fsv_router_source *src);

/* Mounts the view on dir (which must exist) with allow_other and
 * default_permissions, and starts the FUSE threads. Returns 0, or a
 * negative errno with a one-line reason in err. */
int fsv_mount(struct fsview *fv, const char *dir, char *err, size_t errlen);

/* The mailbox eventfd the loop thread watches (readable: call fsv_serve). */
int fsv_fd(const struct fsview *fv);

/* Loop thread: answers every pending FUSE request. */
void fsv_serve(struct fsview *fv, tl_usec_t now);

/* Loop thread: one stack event of host `host` (timelines, `events`). */
void fsv_on_event(struct fsview *fv, unsigned host, const struct tl_event *ev);

/* Fails pending requests, ends the `events` stream, unmounts (lazily, so
 * files still open elsewhere do not keep the mount point busy) and joins
 * the FUSE threads. Safe to call twice, or without a mount. */
void fsv_unmount(struct fsview *fv);

/* Unmounts if needed and frees everything. NULL is fine. */
void fsv_free(struct fsview *fv);

#endif
