/* The Internet checksum (RFC 1071) and the TCP/UDP IPv4 pseudo-header sum. */
#ifndef TL_NETEMU_CHECKSUM_H
#define TL_NETEMU_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

/* One's-complement sum of `len` bytes added to `sum` (not folded). */
uint32_t csum_add(uint32_t sum, const uint8_t *data, size_t len);
/* Folds a running sum to 16 bits and complements it: the value for the wire. */
uint16_t csum_fold(uint32_t sum);
/* Sum of the IPv4 pseudo-header (addresses in host order). */
uint32_t csum_pseudo_ipv4(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* Checksum of a whole buffer: 0 on the wire-format result means "valid"
 * when the buffer already contains its checksum field. */
static inline uint16_t csum_buf(const uint8_t *data, size_t len)
{
	return csum_fold(csum_add(0, data, len));
}

#endif
