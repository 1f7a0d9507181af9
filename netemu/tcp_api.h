/* The application interface of the userspace TCP, for code inside the
 * daemon (built-in services, the client's connect/listen/send/close).
 * Non-blocking and event driven, like sockets with epoll: calls return
 * -EAGAIN instead of blocking and callbacks say when to try again.
 * Loop thread only.
 *
 * Handle lifetime: a struct tcp_conn returned by tcp_listen, tcp_connect
 * or tcp_accept belongs to the application until it calls tcp_close().
 * If the connection dies first (reset, timeout) on_closed() is called and
 * the handle stays valid (state CLOSE) until tcp_close(). After tcp_close()
 * the engine may keep the connection alive as an orphan (FIN_WAIT1,
 * LAST_ACK, ...) but the application must not touch the handle again. */
#ifndef TL_NETEMU_TCP_API_H
#define TL_NETEMU_TCP_API_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "tl_types.h"

struct tcp_host;
struct tcp_conn;

/* Every callback is optional. They run inside engine calls, so they may
 * call tcp_send/recv/accept/close but must not free other handles. */
struct tcp_callbacks {
	void (*on_accept)(void *ctx, struct tcp_conn *listener);  /* accept queue not empty */
	void (*on_connected)(void *ctx, struct tcp_conn *c);      /* active open done */
	void (*on_readable)(void *ctx, struct tcp_conn *c);       /* data or EOF */
	void (*on_writable)(void *ctx, struct tcp_conn *c);       /* send space freed */
	void (*on_closed)(void *ctx, struct tcp_conn *c, int err); /* 0, -ECONNRESET,
	                       -EPIPE (reset in CLOSE_WAIT), -ECONNREFUSED, -ETIMEDOUT */
};

/* Opens a listener on our address; backlog is capped by somaxconn. */
int tcp_listen(struct tcp_host *th, uint16_t port, int backlog,
	       const struct tcp_callbacks *cb, void *ctx, struct tcp_conn **out);
/* Takes the oldest established child, or NULL. Its callbacks start as the
 * listener's; change them with tcp_set_callbacks. */
struct tcp_conn *tcp_accept(struct tcp_conn *listener, tl_usec_t now);
void tcp_set_callbacks(struct tcp_conn *c, const struct tcp_callbacks *cb, void *ctx);

/* Active open to raddr:rport from an ephemeral port (lport 0) or lport. */
int tcp_connect(struct tcp_host *th, uint32_t raddr, uint16_t rport, uint16_t lport,
		const struct tcp_callbacks *cb, void *ctx, tl_usec_t now,
		struct tcp_conn **out);

/* Queues up to len bytes; returns bytes queued, -EAGAIN if no space,
 * -EPIPE after shutdown/close or reset, -ENOTCONN before the handshake. */
ssize_t tcp_send(struct tcp_conn *c, const void *buf, size_t len, tl_usec_t now);
/* Returns bytes read, 0 at end of stream (peer's FIN), -EAGAIN if nothing
 * yet, -ECONNRESET after a reset. */
ssize_t tcp_recv(struct tcp_conn *c, void *buf, size_t len, tl_usec_t now);
/* Half-close: no more sending (our FIN goes after queued data). */
int tcp_shutdown_write(struct tcp_conn *c, tl_usec_t now);
/* Releases the handle: FIN (or RST if unread data remains, as Linux does). */
void tcp_close(struct tcp_conn *c, tl_usec_t now);
/* Sends RST and releases the handle (SO_LINGER with 0 timeout). */
void tcp_abort(struct tcp_conn *c, tl_usec_t now);

size_t tcp_send_space(const struct tcp_conn *c);
size_t tcp_recv_avail(const struct tcp_conn *c);
int tcp_conn_state(const struct tcp_conn *c);
uint64_t tcp_conn_id(const struct tcp_conn *c);
void tcp_conn_addrs(const struct tcp_conn *c, uint32_t *laddr, uint16_t *lport,
		    uint32_t *raddr, uint16_t *rport);
/* The time of the engine call now running (for use inside callbacks). */
tl_usec_t tcp_now(const struct tcp_conn *c);
/* TCP_NODELAY: no Nagle. */
void tcp_set_nodelay(struct tcp_conn *c, int on);
/* SO_KEEPALIVE. */
void tcp_set_keepalive(struct tcp_conn *c, int on, tl_usec_t now);

#endif
