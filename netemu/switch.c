/* The learning switch of a lab segment (see switch.h). */
#include "switch.h"

#include <string.h>

/* A station lives within SW_PROBE slots of its hash: lookups stay bounded
 * even when a host floods the segment with made-up source MACs. */
#define SW_PROBE 16

void sw_init(struct l2switch *sw, unsigned n_ports, tl_usec_t ageing)
{
	TL_ASSERT(n_ports >= 2 && n_ports <= SW_PORTS_MAX);
	memset(sw, 0, sizeof(*sw));
	sw->n_ports = n_ports;
	sw->ageing = ageing ? ageing : SW_AGEING_DEFAULT;
}

static unsigned mac_hash(const uint8_t m[6])
{
	/* Locally administered lab MACs differ mostly in the last bytes. */
	uint32_t x = (uint32_t)m[2] << 24 | (uint32_t)m[3] << 16 | (uint32_t)m[4] << 8 | m[5];
	x ^= (uint32_t)m[0] << 8 | m[1];
	x *= 0x9e3779b1u;
	return (x >> 16) & (SW_FDB_SLOTS - 1);
}

static bool live(const struct l2switch *sw, const struct sw_fdb_entry *e, tl_usec_t now)
{
	return e->used && now - e->seen <= sw->ageing;
}

static struct sw_fdb_entry *find(const struct l2switch *sw, const uint8_t mac[6])
{
	unsigned h = mac_hash(mac);
	for (unsigned i = 0; i < SW_PROBE; i++) {
		const struct sw_fdb_entry *e = &sw->fdb[(h + i) & (SW_FDB_SLOTS - 1)];
		if (!e->used)
			return NULL; /* used slots are never emptied: not further on */
		if (memcmp(e->mac, mac, 6) == 0)
			return (struct sw_fdb_entry *)e;
	}
	return NULL;
}

int sw_lookup(const struct l2switch *sw, const uint8_t mac[6], tl_usec_t now)
{
	const struct sw_fdb_entry *e = find(sw, mac);
	return e && live(sw, e, now) ? e->port : -1;
}

static void learn(struct l2switch *sw, const uint8_t mac[6], unsigned port, tl_usec_t now)
{
	unsigned h = mac_hash(mac);
	struct sw_fdb_entry *slot = NULL;
	for (unsigned i = 0; i < SW_PROBE; i++) {
		struct sw_fdb_entry *e = &sw->fdb[(h + i) & (SW_FDB_SLOTS - 1)];
		if (e->used && memcmp(e->mac, mac, 6) == 0) {
			if (!live(sw, e, now))
				sw->c.learned++; /* aged out: heard anew */
			else if (e->port != port)
				sw->c.moved++;
			e->port = (uint8_t)port;
			e->seen = now;
			return;
		}
		if (!slot && (!e->used || !live(sw, e, now)))
			slot = e; /* the first free or aged slot */
		if (!e->used)
			break;
	}
	if (!slot) {
		sw->c.fdb_full++;
		return;
	}
	if (!slot->used)
		sw->fdb_used++;
	memcpy(slot->mac, mac, 6);
	slot->port = (uint8_t)port;
	slot->used = true;
	slot->seen = now;
	sw->c.learned++;
}

uint32_t sw_input(struct l2switch *sw, unsigned in_port, const uint8_t *frame, size_t len,
		  tl_usec_t now)
{
	TL_ASSERT(in_port < sw->n_ports);
	sw->c.frames++;
	if (len < 14) {
		sw->c.runts++;
		return 0;
	}
	const uint8_t *dst = frame, *src = frame + 6;
	/* 802.1D: learn unicast sources only (a group address is no station). */
	if (!(src[0] & 1))
		learn(sw, src, in_port, now);
	uint32_t all = (sw->n_ports == 32 ? 0xffffffffu : (1u << sw->n_ports) - 1) &
		       ~(1u << in_port);
	if (dst[0] & 1) { /* broadcast and multicast */
		sw->c.flooded++;
		return all;
	}
	int p = sw_lookup(sw, dst, now);
	if (p < 0) {
		sw->c.flooded++;
		return all;
	}
	if ((unsigned)p == in_port) {
		sw->c.filtered++;
		return 0;
	}
	sw->c.forwarded++;
	return 1u << p;
}

unsigned sw_fdb_live(const struct l2switch *sw, tl_usec_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < SW_FDB_SLOTS; i++)
		n += live(sw, &sw->fdb[i], now);
	return n;
}
