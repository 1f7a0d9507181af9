/* The per-host tunables table: one row per field of struct tcp_sysctl
 * (plus read-only rows such as tcp_available_congestion_control), giving
 * the Linux name, directory, type, range, default and file mode. fsview
 * renders /proc/sys-style files from it, the client lists it, and every
 * write goes through tcp_tunable_write(), which reproduces Linux's
 * /proc/sys write semantics (reference §1) exactly.
 *
 * The table is constant data (any thread may look rows up); reading and
 * writing a struct tcp_sysctl belongs to the loop thread that owns it. */
#ifndef TL_NETEMU_TCP_TUNABLES_H
#define TL_NETEMU_TCP_TUNABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tcp_sysctl.h"

/* Linux HZ of the kernel we imitate (Debian's CONFIG_HZ=250): only the
 * limit of seconds-in-jiffies rows depends on it (INT_MAX / HZ). */
#define TCP_TUNABLE_HZ 250

/* Rows that are not stored in struct tcp_sysctl (computed or constant). */
#define TCP_TUNABLE_NO_FIELD ((size_t)-1)

enum tcp_tunable_type {
	TUN_U8,      /* Linux u8 (proc_dou8vec_minmax): unsigned, min..max within 0..255 */
	TUN_UINT,    /* Linux unsigned int with range (proc_douintvec_minmax) */
	TUN_INT,     /* Linux int (proc_dointvec[_minmax]); min/max optional */
	TUN_JIFFIES, /* seconds, kept in jiffies by Linux (proc_dointvec_jiffies) */
	TUN_STRING,  /* a word such as a congestion control name */
	TUN_INT_VEC, /* n ints separated by blanks, each within min..max */
};

/* One tunable. Invariants: n is 1 except for TUN_INT_VEC (2..3); TUN_U8
 * and TUN_UINT rows always have both bounds; a row with mode 0444 is never
 * written; offset is TCP_TUNABLE_NO_FIELD exactly for rows whose value is
 * `fixed` text (read-only). */
struct tcp_tunable {
	const char *dir;  /* "net/ipv4", "net/core" or "tcplab" */
	const char *name; /* Linux's name, also the file name */
	enum tcp_tunable_type type;
	uint16_t mode;    /* 0644, or 0444 for read-only rows */
	uint8_t n;        /* number of values (vector length) */
	bool has_min, has_max;
	long long min, max;
	int def[3];       /* default values (numeric rows) */
	const char *def_str; /* default (TUN_STRING rows) */
	const char *fixed;   /* value text of a computed read-only row, or NULL */
	size_t offset;    /* of the field in struct tcp_sysctl */
	/* Cross-value rule applied after the per-value range (e.g. low <= high
	 * for ip_local_port_range); returns 0 or a negative errno. */
	int (*check)(const int *v);
	const char *help; /* one line: what the knob does */
};

/* Sets every field of `s` to its row's default (Linux upstream defaults). */
void tcp_sysctl_init(struct tcp_sysctl *s);

/* The row for dir/name ("net/ipv4", "tcp_syn_retries"), or NULL. */
const struct tcp_tunable *tcp_tunable_find(const char *dir, const char *name);
/* The row for a dotted sysctl name ("net.ipv4.tcp_syn_retries",
 * "net.core.somaxconn", "tcplab.msl_ms"), or NULL. */
const struct tcp_tunable *tcp_tunable_find_sysctl(const char *dotted);

size_t tcp_tunable_count(void);
/* Row i (0 <= i < tcp_tunable_count()), in table order; NULL beyond. */
const struct tcp_tunable *tcp_tunable_at(size_t i);

/* Renders the value exactly as /proc/sys shows it: the value(s), vectors
 * tab-separated, then "\n". Writes a NUL-terminated string into buf and
 * returns its length, or -ENOSPC if cap cannot hold it. */
int tcp_tunable_read(const struct tcp_sysctl *s, const struct tcp_tunable *t,
		     char *buf, size_t cap);

/* Applies a write of `len` bytes at file offset 0 with Linux's semantics
 * (reference §1): leading blanks skipped; C-style base (0x hex, 0 octal);
 * a number must end at a blank or the end; extra numbers on a scalar are
 * ignored; range errors, junk, a lone "\n" and "-0" on unsigned rows give
 * -EINVAL; an empty write succeeds and changes nothing; vectors given
 * fewer numbers update only the leading ones; unknown congestion control
 * gives -ENOENT; read-only rows give -EPERM. All or nothing: on error the
 * value is unchanged. Returns the bytes Linux reports as written: len,
 * except that int rows with trailing extra text report only the bytes up
 * to the end of the blanks after the last value taken ("7 8" -> 2). */
int tcp_tunable_write(struct tcp_sysctl *s, const struct tcp_tunable *t,
		      const char *buf, size_t len);

/* A write as the FUSE view and the control socket make it: the value
 * before and after (one line each, without the newline) and, when the
 * write is refused, the rule it broke without the tunable's name
 * ("value must be an integer in 1..127"). Returns tcp_tunable_write's
 * result. `old`, `new` and `why` are TCP_TUNABLE_TEXT_MAX bytes. */
#define TCP_TUNABLE_TEXT_MAX 256
struct tcp_tunable_change {
	char old[TCP_TUNABLE_TEXT_MAX], new[TCP_TUNABLE_TEXT_MAX], why[TCP_TUNABLE_TEXT_MAX];
};
int tcp_tunable_apply(struct tcp_sysctl *s, const struct tcp_tunable *t, const char *buf,
		      size_t len, struct tcp_tunable_change *ch);

/* One human line explaining why a write failed, e.g.
 * "tcp_syn_retries: value must be an integer in 1..127". Returns the
 * length (snprintf-style; truncated to cap). */
int tcp_tunable_describe_error(const struct tcp_tunable *t, int err, char *buf,
			       size_t cap);

#endif
