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

/* One link at run time: a stack host wired to a kernel host's TAP, with an
 * emulated link per direction (dir[LAB_TO_STACK] between the TAP read and
 * stack_input, dir[LAB_TO_KERNEL] between stack_pop_output and the TAP
 * write). Invariant while the lab is up: st != NULL, tap_fd >= 0 and both
 * dir[] initialised with the link's knobs and seeds. */
struct lab_wire {
	const struct lab_host *host; /* the stack host */
	const struct lab_host *peer; /* the kernel host (namespace + TAP) */
	const struct lab_link *link;
	struct stack *st;
	struct services *svc;        /* built-in echo, http, ... on the host */
	int tap_fd;
	bool offload; /* the TAP carries virtio_net_hdrs (TSO, checksum offload) */
	struct link_dir dir[LAB_DIRS];
	bool dir_up; /* dir[] initialised (lab_down finalises them) */
	struct lab_capture *cap; /* pcap being written; NULL = none */
	/* Edge counters (the stack cannot see these). */
	uint64_t tx_dropped; /* frames the TAP refused (queue full) */
	uint64_t rx_errors;  /* failed TAP reads */
	uint64_t rx_nobuf;   /* frames for an impaired link that found no buffer */
	uint64_t rx_bad_vnet; /* reads whose virtio_net_hdr made no sense */
};

struct lab {
	struct lab_config cfg;
	struct registry *reg;
	bool ns_created[LAB_HOSTS_MAX]; /* by host index: we ran ip netns add */
	bool ns_claimed[LAB_HOSTS_MAX]; /* by host index: registry entry ours */
	struct lab_wire wires[LAB_LINKS_MAX];
	unsigned n_wires;
};

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

/* Builds the lab: for each kernel host claims and creates its namespace,
 * creates the TAP inside, configures addresses and routes; creates each
 * stack host with a secret from getrandom(). On failure tears down what it
 * built and returns a negative errno with a one-line reason in err. */
int lab_up(struct lab **out, const struct lab_config *cfg, struct registry *reg,
	   tl_usec_t now, char *err, size_t errlen);

/* Logs each impaired link direction's counters, one line each
 * ("link l0 to_stack: input=... sent=... dropped_loss=..."). */
void lab_log_links(const struct lab *lab);

/* Link captures: a pcap file (tcpdump -r reads it) of every frame the
 * stack host of wire `wi` receives and sends, as it sees them (after the
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

/* Closes TAPs, frees stacks, deletes namespaces, releases registry entries.
 * Never fails; problems are logged. NULL is fine. */
void lab_down(struct lab *lab);

#endif
