/* The sender's SACK scoreboard (RFC 2018, RFC 6675 §2-§4): which ranges
 * above SND.UNA the peer has reported holding, so loss recovery resends
 * the holes instead of only the first unacknowledged segment. Pure. */
#ifndef TL_NETEMU_TCP_SACK_H
#define TL_NETEMU_TCP_SACK_H

#include <stdbool.h>
#include <stdint.h>

#include "tcp_wire.h"

#define TCP_SACK_BOARD_MAX 16

/* Invariant: n ranges, disjoint, not touching, sorted by sequence, all
 * within (snd_una, snd_max] at the last update. */
struct tcp_sack_board {
	struct tcp_sack_block r[TCP_SACK_BOARD_MAX];
	uint8_t n;
};

void tcp_sack_clear(struct tcp_sack_board *b);
/* Merges the blocks of a received ACK; blocks outside (snd_una, snd_max]
 * (D-SACKs, stale or bogus ones) are ignored. Drops what SND.UNA passed. */
void tcp_sack_update(struct tcp_sack_board *b, const struct tcp_opts *o, uint32_t snd_una,
		     uint32_t snd_max);
/* Bytes the peer reports holding above `seq`. */
uint32_t tcp_sack_bytes_above(const struct tcp_sack_board *b, uint32_t seq);
/* The first hole at or after `from` below the highest SACKed byte:
 * *start and the bytes until the next SACKed range in *len. */
bool tcp_sack_next_hole(const struct tcp_sack_board *b, uint32_t from, uint32_t *start,
			uint32_t *len);

#endif
