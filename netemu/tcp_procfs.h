/* Text views of a host's TCP, in the formats people already parse:
 * /proc/net/tcp (exact), `ss -tan` style, and one connection's details.
 * Loop thread only (they read live engine state); the FUSE side asks the
 * loop for these texts. */
#ifndef TL_NETEMU_TCP_PROCFS_H
#define TL_NETEMU_TCP_PROCFS_H

#include <stdint.h>

#include "strbuf.h"
#include "tl_types.h"

struct tcp_host;

/* /proc/net/tcp: header, listeners, then the connection table (requests
 * as SYN_RECV rows, TIME_WAIT entries as short rows); every line padded to
 * 149 characters like the kernel's. The inode column carries our
 * connection id, since we have no inodes. */
void tcp_procfs_net_tcp(struct tcp_host *th, tl_usec_t now, struct strbuf *out);

/* Like `ss -tan`: State Recv-Q Send-Q Local Address:Port Peer Address:Port,
 * plus a Conn column with the connection id (use it with conns/<id>). */
void tcp_procfs_connections(struct tcp_host *th, tl_usec_t now, struct strbuf *out);

/* Ids of the live full connections and listeners, ascending; returns how
 * many were written (at most max). */
size_t tcp_procfs_conn_ids(struct tcp_host *th, uint64_t *ids, size_t max);

/* One connection's variables as "name value" lines (state, addresses,
 * sequence variables, windows, rtt, rto, cwnd, ssthresh, queues, ...).
 * Returns 0, or -ENOENT if no live connection has that id. */
int tcp_procfs_conn_info(struct tcp_host *th, uint64_t id, tl_usec_t now, struct strbuf *out);

#endif
