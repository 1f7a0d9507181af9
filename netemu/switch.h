/* An Ethernet learning switch (IEEE 802.1D transparent bridging, as the
 * Linux bridge does it) joining the ports of one lab segment: kernel
 * hosts' TAPs, AF_PACKET attachments and stack hosts.
 *
 *   frame in on port P ─► learn (source MAC → P, stamped now)
 *                      ─► destination known and live: that port only
 *                         (nothing if it is P itself: filtered)
 *                      ─► broadcast, multicast or unknown: every port but P
 *
 * Entries age out `ageing` after the station was last heard (Linux
 * bridge ageing_time, 300 s by default); a station heard on another port
 * moves there at once. Pure: the caller supplies `now`, moves the frames
 * and owns the ports; the switch only answers "which ports". Loop thread
 * only (like every netemu/ object). */
#ifndef TL_NETEMU_SWITCH_H
#define TL_NETEMU_SWITCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tl_types.h"

#define SW_PORTS_MAX 32      /* a port set is a uint32_t bit mask */
#define SW_FDB_SLOTS 1024    /* forwarding database capacity (power of 2) */
#define SW_AGEING_DEFAULT (300 * TL_USEC_PER_SEC) /* Linux bridge default */

/* One learned station. Invariant: used slots are never emptied again (an
 * aged entry is reused in place), so a probe sequence never breaks. */
struct sw_fdb_entry {
	uint8_t mac[6];
	uint8_t port;
	bool used;
	tl_usec_t seen; /* last frame from this MAC */
};

struct sw_counters {
	uint64_t frames;    /* frames offered */
	uint64_t forwarded; /* sent to the one port that knows the destination */
	uint64_t flooded;   /* sent to every other port */
	uint64_t filtered;  /* destination on the ingress port: not sent */
	uint64_t learned;   /* new stations */
	uint64_t moved;     /* stations heard on a new port */
	uint64_t fdb_full;  /* stations not learned: no room */
	uint64_t runts;     /* frames shorter than an Ethernet header */
};

/* Invariants: 2 <= n_ports <= SW_PORTS_MAX; every used entry's port is
 * below n_ports; fdb_used counts used slots. */
struct l2switch {
	unsigned n_ports;
	tl_usec_t ageing;
	unsigned fdb_used;
	struct sw_fdb_entry fdb[SW_FDB_SLOTS];
	struct sw_counters c;
};

/* An empty switch of n_ports ports (2..SW_PORTS_MAX). ageing 0: the
 * default. */
void sw_init(struct l2switch *sw, unsigned n_ports, tl_usec_t ageing);

/* A frame arrived on in_port: learns its source and returns the ports to
 * send it to, as a bit mask (bit p = port p); 0 means drop. */
uint32_t sw_input(struct l2switch *sw, unsigned in_port, const uint8_t *frame, size_t len,
		  tl_usec_t now);

/* The port a MAC was last heard on, or -1 if unknown or aged out. */
int sw_lookup(const struct l2switch *sw, const uint8_t mac[6], tl_usec_t now);

/* Number of live (not aged) entries. */
unsigned sw_fdb_live(const struct l2switch *sw, tl_usec_t now);

#endif
