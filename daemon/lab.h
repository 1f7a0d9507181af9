/* A running lab: builds the namespaces, TAP devices and stack hosts a
 * validated lab_config describes, claiming each namespace in the registry
 * before creating it, and tears all of it down again.
 *
 * Main/loop thread only. lab_up() and lab_down() block on ip(8). */
#ifndef TL_DAEMON_LAB_H
#define TL_DAEMON_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lab_file.h"
#include "link.h"
#include "registry.h"
#include "tl_types.h"

struct stack;
struct services;
struct lab_capture;

/* Captures stop growing at this size (logged once). */
#define LAB_CAPTURE_MAX_BYTES (1ull << 30)

struct lab_segment;
struct l2switch;
struct router;

/* One stack host at run time. (Named "wire" from when every link was one
 * kernel host and one stack host: the loop, the view and the control
 * socket index stack hosts by it, in the lab's host order.) Invariant
 * while the lab is up: st and svc are set; seg->ports[port] is this host's
 * attachment; peer is another host on its link, never NULL (the kernel
 * host of a two-host link; on a larger segment its first kernel host,
 * else its first other host). */
struct lab_wire {
	const struct lab_host *host; /* the stack host */
	const struct lab_host *peer;
	const struct lab_link *link;
	struct stack *st;
	struct services *svc;        /* built-in echo, http, ... on the host */
	struct lab_segment *seg;
	unsigned port;
	struct lab_capture *cap; /* pcap being written; NULL = none */
	/* Copies of the segment's device counters (seg->tx_dropped,
	 * seg->rx_errors), kept current by the loop, for the view. */
	uint64_t tx_dropped;
	uint64_t rx_errors;
};

enum lab_port_kind {
	LAB_PORT_TAP = 1, /* a TAP the daemon created (attach tap or bare) */
	LAB_PORT_PACKET,  /* AF_PACKET on an existing interface */
	LAB_PORT_STACK,   /* a stack host (wire) */
	LAB_PORT_ROUTER,  /* an interface of the daemon's router */
};

/* One attachment of a segment. Frames it sends onto the segment pass its
 * own impairment pipeline `in` (the link's to_stack knobs for kernel
 * hosts, to_kernel for stack hosts, none for router interfaces: a routed
 * frame was impaired when its sender put it on its first segment), then
 * the switch. Invariants while up: fd >= 0 for TAP and packet ports;
 * wire is set for stack ports, router/ifx for router ports; in is
 * initialised when in_up. */
struct lab_port {
	enum lab_port_kind kind;
	const struct lab_host *host;
	struct lab_wire *wire;
	struct router *router;
	unsigned ifx; /* the router's interface index */
	int fd;
	bool offload;  /* fd frames carry a virtio_net_hdr (TSO, checksums) */
	enum lab_dir dir; /* knobs and seed of `in` */
	struct link_dir in;
	bool in_up;
	/* Edge counters (the stack cannot see these). */
	uint64_t tx_dropped;  /* frames the device refused (queue full) */
	uint64_t rx_errors;   /* failed reads */
	uint64_t rx_nobuf;    /* frames that found no buffer (an impaired port's, a packet ring's) */
	uint64_t rx_bad_vnet; /* reads whose virtio_net_hdr made no sense */
};

/* One link at run time: its ports in the order of lab->cfg.links[].members,
 * and the learning switch when more than two ports share it (two ports
 * make a wire: every frame goes to the other one). Invariant while up:
 * n_ports == link->n_members; sw != NULL iff n_ports > 2. */
struct lab_segment {
	const struct lab_link *link;
	struct lab_port ports[LAB_PORTS_MAX];
	unsigned n_ports;
	struct l2switch *sw;
	/* Sums over the device ports (rx_nobuf and rx_bad_vnet as of the
	 * last drain). */
	uint64_t tx_dropped, rx_errors, rx_nobuf, rx_bad_vnet;
};

struct lab {
	struct lab_config cfg;
	struct registry *reg;
	bool ns_created[LAB_HOSTS_MAX]; /* by host index: we ran ip netns add/attach */
	bool ns_claimed[LAB_HOSTS_MAX]; /* by host index: registry entry ours */
	struct lab_wire wires[LAB_HOSTS_MAX];
	unsigned n_wires;
	struct lab_segment segs[LAB_LINKS_MAX];
	unsigned n_segs;
	struct router *routers[LAB_ROUTERS_MAX]; /* as lab->cfg.routers */
	unsigned n_routers;
};

/* The impairment pipeline of direction d on wire w's link, for the view:
 * on a link of one kernel and one stack host, to_stack is the kernel
 * host's pipeline and to_kernel the stack host's; on a larger segment
 * NULL (its pipelines are per sender: seg->ports[].in). */
struct link_dir *lab_wire_dir(struct lab_wire *w, enum lab_dir d);

/* One line naming a link's hosts, e.g. "stack 198.18.0.1 <-> peer
 * tcplab-peer/tl0 198.18.0.2" for a kernel and a stack host, else "srv
 * 198.18.0.1, a tl-a/tl0 198.18.0.2, ..." (truncated to fit buf). */
void lab_seg_describe(const struct lab_segment *seg, char *buf, size_t len);

/* Why lab_check_names() refused: a live daemon owns a namespace. */
struct lab_conflict {
	char netns[LAB_NETNS_MAX];
	int pid;
};

/* Start-up checks before anything is created (registry locked by caller):
 * returns -EBUSY with *conflict filled if a namespace of the lab belongs to
 * a live tcplabd. */
int lab_check_names(const struct lab_config *cfg, struct registry *reg,
		    struct lab_conflict *conflict);

/* Deletes namespaces named in the lab that exist but have no live owner
 * (after registry_sweep, that means no registry entry), one log line each. */
int lab_remove_orphans(const struct lab_config *cfg, struct registry *reg);

/* Builds the lab: claims and creates the namespaces it owns (names
 * processes' namespaces with `ip netns attach`), then per link creates each
 * kernel host's TAP (addressed and routed, or bare) or opens its AF_PACKET
 * attachment, and creates each stack host with a secret from getrandom().
 * On failure tears down what it built and returns a negative errno with a
 * one-line reason in err. */
int lab_up(struct lab **out, const struct lab_config *cfg, struct registry *reg,
	   tl_usec_t now, char *err, size_t errlen);

/* Logs each impaired port's counters, one line each: on a two-host link
 * by direction ("link l0 to_stack: input=... sent=... dropped_loss=..."),
 * on a larger segment by sender ("link seg from a: ..."); a link's device
 * losses, if any; and each router's counters ("router r1: InReceives=...
 * ForwDatagrams=..."). At SIGUSR1 and at exit. */
void lab_log_links(const struct lab *lab);

/* Captures: a pcap file (tcpdump -r reads it) of every frame the stack
 * host of wire `wi` receives and sends, as it sees them (after the
 * to_stack impairments, before the to_kernel ones). Start truncates path
 * (restarting a running capture); returns 0 or a negative errno with a
 * reason in err. Stop flushes, closes and logs the count; no-op if off. */
int lab_capture_start(struct lab *lab, unsigned wi, const char *path, char *err,
		      size_t errlen);
void lab_capture_stop(struct lab *lab, unsigned wi);
/* Loop thread: one frame at the stack's edge (call only when w->cap). */
void lab_capture_frame(struct lab_wire *w, const uint8_t *frame, size_t len, tl_usec_t now);
/* Loop thread: pushes buffered records to the file (end of a batch), so
 * a reader sees them while the capture runs. */
void lab_capture_flush(struct lab_wire *w);

/* Stops the built-in services of every stack host (their connections are
 * aborted, their listeners closed). NULL is fine; lab_down does it too. */
void lab_stop_services(struct lab *lab, tl_usec_t now);

/* Closes TAPs, frees stacks, deletes namespaces, releases registry entries.
 * Never fails; problems are logged. NULL is fine. */
void lab_down(struct lab *lab);

#endif
