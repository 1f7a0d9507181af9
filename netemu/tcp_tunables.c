/* The per-host tunables table and Linux's /proc/sys read/write rules
 * (reference §1, §2; kernel/sysctl.c proc_dointvec, proc_dou8vec_minmax,
 * proc_get_long, proc_dostring). fsview and the client reach struct
 * tcp_sysctl only through here. Pure; see tcp_tunables.h for threads. */
#include "tcp_tunables.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "tcp_cc.h"
#include "tl_types.h"

#define IPV4 "net/ipv4"
#define CORE "net/core"
#define LAB "tcplab"

/* Linux: ip_unprivileged_port_start, the floor of the ephemeral range. */
#define UNPRIVILEGED_PORT_START 1024

/* Linux caps a write at one page less the terminating NUL. */
#define WRITE_MAX 4095
/* Linux proc_get_long copies at most 21 characters of a number
 * (TMPBUFLEN - 1) and refuses a number that fills them. */
#define NUMBER_TEXT_MAX 21

static int check_port_range(const int *v)
{
	/* Linux ipv4_local_port_range(): low <= high and low may not reach
	 * into the privileged ports. */
	if (v[1] < v[0] || v[0] < UNPRIVILEGED_PORT_START)
		return -EINVAL;
	return 0;
}

#define FIELD(f) offsetof(struct tcp_sysctl, f)

#define U8_ROW(nm, lo, hi, d, h)                                             \
	{ .dir = IPV4, .name = #nm, .type = TUN_U8, .mode = 0644, .n = 1,        \
	  .has_min = true, .has_max = true, .min = lo, .max = hi, .def = { d },  \
	  .offset = FIELD(nm), .help = h }
#define U8(nm, d, h) U8_ROW(nm, 0, 255, d, h)
#define UINT_ROW(nm, lo, hi, d, h)                                           \
	{ .dir = IPV4, .name = #nm, .type = TUN_UINT, .mode = 0644, .n = 1,      \
	  .has_min = true, .has_max = true, .min = lo, .max = hi, .def = { d },  \
	  .offset = FIELD(nm), .help = h }
#define INT_ROW(dr, nm, hmin, lo, hmax, hi, d, h)                            \
	{ .dir = dr, .name = #nm, .type = TUN_INT, .mode = 0644, .n = 1,         \
	  .has_min = hmin, .has_max = hmax, .min = lo, .max = hi, .def = { d },  \
	  .offset = FIELD(nm), .help = h }
#define JIFFIES_ROW(nm, d, h)                                                \
	{ .dir = IPV4, .name = #nm, .type = TUN_JIFFIES, .mode = 0644, .n = 1,   \
	  .has_min = true, .has_max = true,                                      \
	  .min = -(INT_MAX / TCP_TUNABLE_HZ), .max = INT_MAX / TCP_TUNABLE_HZ,   \
	  .def = { d }, .offset = FIELD(nm), .help = h }
#define VEC_ROW(nm, cnt, lo, hmax, hi, chk, h, ...)                          \
	{ .dir = IPV4, .name = #nm, .type = TUN_INT_VEC, .mode = 0644,           \
	  .n = cnt, .has_min = true, .has_max = hmax, .min = lo, .max = hi,      \
	  .def = { __VA_ARGS__ }, .offset = FIELD(nm), .check = chk, .help = h }

/* Rows in struct tcp_sysctl order, then read-only rows. Ranges are what
 * Linux 6.18 enforces on write (reference §2), not what is sensible. */
static const struct tcp_tunable tunables[] = {
	/* handshake, queues, SYN cookies */
	U8(tcp_synack_retries, 5, "SYN-ACK retransmissions before a pending request is dropped"),
	U8_ROW(tcp_syn_retries, 1, 127, 6, "SYN retransmissions of an active open (time budget)"),
	U8_ROW(tcp_syn_linear_timeouts, 0, 127, 4, "SYN retransmissions that keep the RTO at 1 s before doubling"),
	U8(tcp_syncookies, 1, "0 never, 1 when the SYN queue overflows, 2 always answer with a cookie"),
	INT_ROW(IPV4, tcp_max_syn_backlog, false, 0, false, 0, 2048, "pending-request limit used when SYN cookies are off"),
	U8(tcp_abort_on_overflow, 0, "reset (1) instead of dropping (0) a final ACK when the accept queue is full"),
	/* closing, TIME_WAIT, retransmission limits */
	JIFFIES_ROW(tcp_fin_timeout, 60, "lifetime in seconds of an orphaned FIN_WAIT2 socket"),
	U8_ROW(tcp_tw_reuse, 0, 2, 2, "connect() may reuse a TIME_WAIT tuple: 0 off, 1 on, 2 loopback only"),
	UINT_ROW(tcp_tw_reuse_delay, 1, 60000, 1000, "minimum TIME_WAIT age in ms before reuse"),
	INT_ROW(IPV4, tcp_max_tw_buckets, false, 0, false, 0, 131072, "cap on TIME_WAIT sockets; beyond it closing sockets skip TIME_WAIT"),
	U8(tcp_retries1, 3, "retransmissions before the route is re-validated"),
	U8(tcp_retries2, 15, "retransmissions (as a time budget) before an established connection is killed"),
	U8(tcp_orphan_retries, 0, "like tcp_retries2 for orphaned sockets (0 means 8)"),
	U8(tcp_rfc1337, 0, "1: ignore RSTs in TIME_WAIT (RFC 1337)"),
	JIFFIES_ROW(tcp_keepalive_time, 7200, "idle seconds before the first keepalive probe"),
	JIFFIES_ROW(tcp_keepalive_intvl, 75, "seconds between unanswered keepalive probes"),
	U8(tcp_keepalive_probes, 9, "unanswered keepalive probes before the connection is reset"),
	INT_ROW(IPV4, tcp_rto_min_us, true, 1, false, 0, 200000, "lower clamp of the RTO in microseconds"),
	INT_ROW(IPV4, tcp_rto_max_ms, true, 1000, true, 120000, 120000, "upper clamp of the RTO and every backoff step in ms"),
	/* options, buffers, congestion control, ports */
	U8(tcp_window_scaling, 1, "offer and accept window scaling (RFC 7323)"),
	U8(tcp_timestamps, 1, "0 off, 1 on with a random offset, 2 on without it"),
	U8(tcp_sack, 1, "offer and accept SACK"),
	U8(tcp_dsack, 1, "send duplicate-SACK blocks"),
	U8_ROW(tcp_ecn, 0, 2, 2, "ECN: 0 never, 1 request and accept, 2 accept when asked"),
	U8_ROW(tcp_ecn_fallback, 0, 1, 1, "fall back to non-ECN when the peer misbehaves"),
	{ .dir = IPV4, .name = "tcp_congestion_control", .type = TUN_STRING,
	  .mode = 0644, .n = 1, .def_str = "cubic",
	  .offset = FIELD(tcp_congestion_control),
	  .help = "congestion control algorithm of new connections" },
	{ .dir = IPV4, .name = "tcp_available_congestion_control",
	  .type = TUN_STRING, .mode = 0444, .n = 1, .def_str = "reno cubic",
	  .fixed = "reno cubic", .offset = TCP_TUNABLE_NO_FIELD,
	  .help = "congestion control algorithms this host knows (read-only)" },
	VEC_ROW(tcp_rmem, 3, 1, false, 0, NULL, "receive buffer min, initial, max (bytes)",
		4096, 131072, 6291456),
	VEC_ROW(tcp_wmem, 3, 1, false, 0, NULL, "send buffer min, initial, max (bytes)",
		4096, 16384, 4194304),
	U8(tcp_mtu_probing, 0, "path MTU probing: 0 off, 1 after a black hole, 2 always"),
	INT_ROW(IPV4, tcp_base_mss, false, 0, false, 0, 1024,
		"MSS that path MTU black-hole detection starts from"),
	INT_ROW(IPV4, tcp_mtu_probe_floor, true, 48, true, 65535, 48,
		"smallest MSS black-hole detection goes down to"),
	INT_ROW(IPV4, tcp_min_snd_mss, true, 48, true, 65535, 48, "floor applied to the peer's MSS"),
	VEC_ROW(ip_local_port_range, 2, 1, true, 65535, check_port_range,
		"ephemeral port range low, high", 32768, 60999),
	/* net.core */
	INT_ROW(CORE, somaxconn, true, 0, true, INT_MAX, 4096, "ceiling on the backlog of listen()"),
	/* tcplab-only */
	INT_ROW(LAB, msl_ms, true, 1, true, 3600000, 30000,
		"maximum segment lifetime in ms; TIME_WAIT lasts twice this"),
};

void tcp_sysctl_init(struct tcp_sysctl *s)
{
	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < TL_ARRAY_SIZE(tunables); i++) {
		const struct tcp_tunable *t = &tunables[i];
		if (t->offset == TCP_TUNABLE_NO_FIELD)
			continue;
		char *field = (char *)s + t->offset;
		if (t->type == TUN_STRING) {
			snprintf(field, TCP_CA_NAME_MAX, "%s", t->def_str);
			continue;
		}
		memcpy(field, t->def, sizeof(int) * t->n);
	}
}

const struct tcp_tunable *tcp_tunable_find(const char *dir, const char *name)
{
	if (dir == NULL || name == NULL)
		return NULL;
	for (size_t i = 0; i < TL_ARRAY_SIZE(tunables); i++)
		if (strcmp(tunables[i].dir, dir) == 0 &&
		    strcmp(tunables[i].name, name) == 0)
			return &tunables[i];
	return NULL;
}

const struct tcp_tunable *tcp_tunable_find_sysctl(const char *dotted)
{
	if (dotted == NULL)
		return NULL;
	for (size_t i = 0; i < TL_ARRAY_SIZE(tunables); i++) {
		const struct tcp_tunable *t = &tunables[i];
		size_t dl = strlen(t->dir);
		/* dir with '/' read as '.', then '.', then the name */
		size_t k = 0;
		for (; k < dl; k++) {
			char c = t->dir[k] == '/' ? '.' : t->dir[k];
			if (dotted[k] != c)
				break;
		}
		if (k == dl && dotted[dl] == '.' && strcmp(dotted + dl + 1, t->name) == 0)
			return t;
	}
	return NULL;
}

size_t tcp_tunable_count(void)
{
	return TL_ARRAY_SIZE(tunables);
}

const struct tcp_tunable *tcp_tunable_at(size_t i)
{
	return i < TL_ARRAY_SIZE(tunables) ? &tunables[i] : NULL;
}

static const int *int_field(const struct tcp_sysctl *s, const struct tcp_tunable *t)
{
	return (const int *)(const void *)((const char *)s + t->offset);
}

int tcp_tunable_read(const struct tcp_sysctl *s, const struct tcp_tunable *t,
		     char *buf, size_t cap)
{
	/* Room for three ints with separators, or a congestion control list. */
	char tmp[64];
	int n = 0;

	if (t->type == TUN_STRING) {
		const char *v = t->fixed ? t->fixed : (const char *)s + t->offset;
		n = snprintf(tmp, sizeof(tmp), "%s\n", v);
	} else {
		const int *v = int_field(s, t);
		/* Linux: vector elements are separated by tabs. */
		for (unsigned i = 0; i < t->n; i++)
			n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "%s%d",
				      i ? "\t" : "", v[i]);
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "\n");
	}
	if (n < 0 || (size_t)n >= sizeof(tmp) || (size_t)n >= cap)
		return -ENOSPC;
	memcpy(buf, tmp, (size_t)n + 1);
	return n;
}

/* Linux isspace() as used by proc_skip_spaces. */
static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' ||
	       c == '\r';
}

static size_t skip_blanks(const char *p, size_t left)
{
	size_t n = 0;
	while (n < left && is_blank(p[n]))
		n++;
	return n;
}

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/* Linux proc_get_long() with strtoul_lenient(): one number at p (with an
 * optional '-'), base chosen C-style, which must be followed by a blank
 * (' ', '\t', '\n') or the end of the write. Sets *used to the characters
 * taken. Returns 0 or -EINVAL. */
static int get_number(const char *p, size_t left, unsigned long long *val,
		      bool *neg, size_t *used)
{
	char tmp[NUMBER_TEXT_MAX + 1];

	if (left == 0)
		return -EINVAL;
	size_t len = TL_MIN(left, (size_t)NUMBER_TEXT_MAX);
	memcpy(tmp, p, len);
	tmp[len] = '\0';

	const char *q = tmp;
	*neg = false;
	/* A lone "-" is not a sign: it fails the digit test below. */
	if (*q == '-' && left > 1) {
		*neg = true;
		q++;
	}
	if (*q < '0' || *q > '9')
		return -EINVAL;
	unsigned base = 10;
	if (q[0] == '0') {
		if ((q[1] == 'x' || q[1] == 'X') && digit_value(q[2]) < 16) {
			base = 16;
			q += 2;
		} else {
			base = 8;
		}
	}
	unsigned long long acc = 0;
	bool overflow = false;
	for (;; q++) {
		unsigned d = (unsigned)digit_value(*q);
		if (d >= base)
			break;
		if (acc > (ULLONG_MAX - d) / base)
			overflow = true;
		acc = acc * base + d;
	}
	if (overflow)
		return -EINVAL;
	size_t n = (size_t)(q - tmp);
	/* Linux: a number filling the whole copy might continue beyond it. */
	if (n == NUMBER_TEXT_MAX)
		return -EINVAL;
	if (n < left && *q != ' ' && *q != '\t' && *q != '\n')
		return -EINVAL;
	*val = acc;
	*used = n;
	return 0;
}

/* Linux do_proc_douintvec_w() + proc_dou8vec_minmax: one unsigned value.
 * Reports the whole write as consumed. */
static int write_unsigned(const struct tcp_tunable *t, int *field,
			  const char *buf, size_t len)
{
	size_t left = TL_MIN(len, (size_t)WRITE_MAX);
	size_t sk = skip_blanks(buf, left);
	unsigned long long v;
	bool neg;
	size_t used;

	if (sk == left)
		return -EINVAL;
	if (get_number(buf + sk, left - sk, &v, &neg, &used) < 0)
		return -EINVAL;
	if (neg) /* even "-0" */
		return -EINVAL;
	if (v > UINT_MAX || (long long)v < t->min || (long long)v > t->max)
		return -EINVAL;
	*field = (int)v;
	return (int)len;
}

/* Linux __do_proc_dointvec() with the int, int-minmax and jiffies
 * conversions: up to t->n values, all or nothing here. Returns the byte
 * count Linux reports (len minus what follows the values and blanks). */
static int write_signed(const struct tcp_tunable *t, int *field,
			const char *buf, size_t len)
{
	int v[3];
	size_t left = TL_MIN(len, (size_t)WRITE_MAX);
	const char *p = buf;
	unsigned got = 0;

	memcpy(v, field, sizeof(int) * t->n);
	while (left > 0 && got < t->n) {
		size_t sk = skip_blanks(p, left);
		p += sk;
		left -= sk;
		if (left == 0)
			break;
		unsigned long long mag;
		bool neg;
		size_t used;
		if (get_number(p, left, &mag, &neg, &used) < 0)
			return -EINVAL;
		p += used;
		left -= used;

		long long val;
		if (t->type == TUN_JIFFIES) {
			/* Linux: seconds are multiplied by HZ into an int. */
			if (mag > (unsigned long long)(INT_MAX / TCP_TUNABLE_HZ))
				return -EINVAL;
		} else if (mag > (unsigned long long)INT_MAX + (neg ? 1 : 0)) {
			return -EINVAL;
		}
		val = neg ? -(long long)mag : (long long)mag;
		if ((t->has_min && val < t->min) || (t->has_max && val > t->max))
			return -EINVAL;
		v[got++] = (int)val;
	}
	/* Linux: nothing but blanks (or nothing parsed) is invalid. */
	if (got == 0)
		return -EINVAL;
	left -= skip_blanks(p, left);
	if (t->check != NULL) {
		int err = t->check(v);
		if (err < 0)
			return err;
	}
	memcpy(field, v, sizeof(int) * t->n);
	return (int)(len - left);
}

/* Linux proc_dostring() into a copy, then tcp_set_default_congestion_control(). */
static int write_cc_name(char *field, const char *buf, size_t len)
{
	char name[TCP_CA_NAME_MAX];
	size_t n = 0;

	while (n < len && n < TCP_CA_NAME_MAX - 1 && buf[n] != '\0' && buf[n] != '\n') {
		name[n] = buf[n];
		n++;
	}
	name[n] = '\0';
	if (tcp_cc_find(name) == NULL)
		return -ENOENT;
	memcpy(field, name, n + 1);
	return (int)len;
}

int tcp_tunable_write(struct tcp_sysctl *s, const struct tcp_tunable *t,
		      const char *buf, size_t len)
{
	if (!(t->mode & 0200) || t->offset == TCP_TUNABLE_NO_FIELD)
		return -EPERM;
	if (len == 0) /* Linux: an empty write succeeds and changes nothing */
		return 0;
	if (len > INT_MAX)
		len = INT_MAX; /* the return value must fit; Linux caps at a page anyway */

	char *field = (char *)s + t->offset;
	switch (t->type) {
	case TUN_U8:
	case TUN_UINT:
		return write_unsigned(t, (int *)(void *)field, buf, len);
	case TUN_INT:
	case TUN_JIFFIES:
	case TUN_INT_VEC:
		return write_signed(t, (int *)(void *)field, buf, len);
	case TUN_STRING:
		return write_cc_name(field, buf, len);
	}
	return -EINVAL;
}

/* "1..127", ">= 1", "any integer" for the row's bounds. */
static void describe_range(const struct tcp_tunable *t, char *out, size_t cap)
{
	if (t->has_min && t->has_max)
		snprintf(out, cap, "in %lld..%lld", t->min, t->max);
	else if (t->has_min)
		snprintf(out, cap, ">= %lld", t->min);
	else if (t->has_max)
		snprintf(out, cap, "<= %lld", t->max);
	else
		snprintf(out, cap, "in %d..%d", INT_MIN, INT_MAX);
}

int tcp_tunable_describe_error(const struct tcp_tunable *t, int err, char *buf,
			       size_t cap)
{
	char range[64];

	describe_range(t, range, sizeof(range));
	switch (err) {
	case -EPERM:
		return snprintf(buf, cap, "%s: read-only", t->name);
	case -ENOENT:
		return snprintf(buf, cap, "%s: unknown algorithm (available: %s)",
				t->name, tcp_cc_available());
	case -EINVAL:
		break;
	default:
		return snprintf(buf, cap, "%s: write failed (error %d)", t->name, -err);
	}
	switch (t->type) {
	case TUN_U8:
	case TUN_UINT:
	case TUN_INT:
		return snprintf(buf, cap, "%s: value must be an integer %s", t->name, range);
	case TUN_JIFFIES:
		return snprintf(buf, cap, "%s: value must be a number of seconds %s",
				t->name, range);
	case TUN_INT_VEC:
		if (t->check == check_port_range)
			return snprintf(buf, cap,
					"%s: value must be two integers low high, each %s, "
					"with %d <= low <= high", t->name, range,
					UNPRIVILEGED_PORT_START);
		return snprintf(buf, cap, "%s: value must be up to %u integers, each %s",
				t->name, t->n, range);
	case TUN_STRING:
		return snprintf(buf, cap, "%s: value must be one of: %s", t->name,
				tcp_cc_available());
	}
	return snprintf(buf, cap, "%s: invalid value", t->name);
}

/* The value as one line, for messages and the history. */
static void read_line(const struct tcp_sysctl *s, const struct tcp_tunable *t, char *buf)
{
	if (tcp_tunable_read(s, t, buf, TCP_TUNABLE_TEXT_MAX) < 0)
		buf[0] = '\0';
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
}

int tcp_tunable_apply(struct tcp_sysctl *s, const struct tcp_tunable *t, const char *buf,
		      size_t len, struct tcp_tunable_change *ch)
{
	read_line(s, t, ch->old);
	ch->why[0] = '\0';
	int rc = tcp_tunable_write(s, t, buf, len);
	if (rc < 0) {
		char line[TCP_TUNABLE_TEXT_MAX];
		tcp_tunable_describe_error(t, rc, line, sizeof(line));
		size_t nl = strlen(t->name);
		const char *rule = strncmp(line, t->name, nl) == 0 && line[nl] == ':' ? line + nl + 2 : line;
		snprintf(ch->why, sizeof(ch->why), "%s", rule);
		snprintf(ch->new, sizeof(ch->new), "%s", ch->old);
		return rc;
	}
	read_line(s, t, ch->new);
	return rc;
}
