/* The control socket: a Unix stream socket through which the client
 * (`tcplab`) asks the running daemon for its state and drives the stack
 * hosts as an application would (connect, listen, accept, send, recv,
 * shutdown, close), sets tunables and starts link captures. The protocol is
 * a line protocol (control_proto.h), documented in docs/control.md.
 *
 * The socket is REGISTRY_DIR/control.<pid>.sock (one per daemon, found by
 * the client through the registry's daemon entries), mode 0600, owned by
 * the daemon's user. Each client connection owns the application handles
 * it created and releases them (tcp_close) when it goes away, unless it
 * handed them to the daemon with `keep`; kept handles live until someone
 * closes them or the daemon stops.
 *
 * Loop thread only: the socket is served by the daemon's libevent loop,
 * the only thread allowed to touch stack memory. */
#ifndef TL_DAEMON_CONTROL_H
#define TL_DAEMON_CONTROL_H

#include <stddef.h>

struct control;
struct lab;
struct loop;
struct recorder;

/* What `status` reports besides the lab; strings are copied. */
struct control_info {
	const char *lab;   /* lab file path, or "default" */
	const char *mount; /* the FUSE view's mount point */
	const char *db;    /* history database, or NULL without history */
};

/* The socket path of daemon `pid` (buf >= 108 bytes). */
const char *control_socket_path(int pid, char *buf, size_t cap);

/* Binds the socket (removing a stale one of a dead daemon), and serves it
 * from lp's event base. rec may be NULL (no history). Returns NULL with a
 * one-line reason in err. */
struct control *control_start(struct loop *lp, struct lab *lab, struct recorder *rec,
			      const struct control_info *info, char *err, size_t errlen);

/* Closes every client connection and every handle (kept ones too), closes
 * and removes the socket. NULL is fine. Call before the loop and the lab
 * are freed. */
void control_stop(struct control *ctl);

#endif
