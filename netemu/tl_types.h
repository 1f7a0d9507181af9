/* Basic types shared by the whole pure core (netemu/): time, assertions.
 * Any thread may include this; it holds no state. */
#ifndef TL_NETEMU_TYPES_H
#define TL_NETEMU_TYPES_H

#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

/* Monotonic time in microseconds, always supplied by the caller:
 * netemu/ never reads a clock itself. */
typedef uint64_t tl_usec_t;

#define TL_USEC_PER_MSEC 1000ULL
#define TL_USEC_PER_SEC 1000000ULL
#define TL_NEVER UINT64_MAX /* "no deadline" */

/* Guards our own invariants (never input): on in sanitizer/debug builds. */
#ifdef TL_DEBUG
#include <stdio.h>
#include <stdlib.h>
#define TL_ASSERT(cond)                                                      \
	do {                                                                     \
		if (!(cond)) {                                                       \
			fprintf(stderr, "%s:%d: assertion failed: %s\n", __FILE__,       \
				__LINE__, #cond);                                            \
			abort();                                                         \
		}                                                                    \
	} while (0)
#else
#define TL_ASSERT(cond) ((void)0)
#endif

#define TL_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define TL_MIN(a, b) ((a) < (b) ? (a) : (b))
#define TL_MAX(a, b) ((a) > (b) ? (a) : (b))

#endif
