/* A small deterministic PRNG (splitmix64) for the pure core: the caller
 * seeds it, so runs are reproducible and netemu/ never calls rand(). */
#ifndef TL_NETEMU_PRNG_H
#define TL_NETEMU_PRNG_H

#include <stdint.h>

struct prng {
	uint64_t state;
};

static inline uint64_t prng_next(struct prng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

#endif
