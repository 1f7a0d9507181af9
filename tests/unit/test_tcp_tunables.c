/* Unit tests for tcp_tunables.c: the per-host tunables table, Linux's
 * /proc/sys write semantics (reference §1) and the ranges and defaults of
 * reference §2, driven by tables of (file, bytes written, result, value
 * read back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "tcp_cc.h"
#include "tcp_sysctl.h"
#include "tcp_tunables.h"
#include "tl_types.h"

#define IPV4 "net/ipv4"

/* A row: write `in` (len from strlen unless `len` is set) to dir/name on a
 * fresh default table; expect `ret` and then read back `after`. */
struct write_row {
	const char *dir, *name, *in;
	int ret;            /* OK stands for "strlen(in)" */
	const char *after;  /* text read back after the write */
	const char *why;
};

#define OK INT_MIN

static void run_write_rows(const struct write_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct write_row *r = &rows[i];
		struct tcp_sysctl s;
		char out[128];
		tcp_sysctl_init(&s);
		const struct tcp_tunable *t = tcp_tunable_find(r->dir, r->name);
		if (t == NULL)
			fail_msg("row %zu: no tunable %s/%s", i, r->dir, r->name);
		int want = r->ret == OK ? (int)strlen(r->in) : r->ret;
		int got = tcp_tunable_write(&s, t, r->in, strlen(r->in));
		int rl = tcp_tunable_read(&s, t, out, sizeof(out));
		if (got != want || rl < 0 || strcmp(out, r->after) != 0)
			fail_msg("row %zu (%s = \"%s\": %s): returned %d want %d, reads \"%s\" want \"%s\"",
				 i, r->name, r->in, r->why, got, want, rl < 0 ? "?" : out,
				 r->after);
	}
}

/* Reference §1, row by row, on a u8 file (tcp_synack_retries, default 5)
 * and an int file (tcp_max_syn_backlog, default 2048). */
static const struct write_row section1_rows[] = {
	{ IPV4, "tcp_synack_retries", "5", OK, "5\n", "plain number" },
	{ IPV4, "tcp_synack_retries", "3\n", OK, "3\n", "trailing newline" },
	{ IPV4, "tcp_synack_retries", " 7", OK, "7\n", "leading blank" },
	{ IPV4, "tcp_synack_retries", "\t\n 7\n", OK, "7\n", "leading tab and newline" },
	{ IPV4, "tcp_synack_retries", "0x10", OK, "16\n", "hex" },
	{ IPV4, "tcp_synack_retries", "0X1f\n", OK, "31\n", "hex, capital X" },
	{ IPV4, "tcp_synack_retries", "010", OK, "8\n", "leading 0 is octal" },
	{ IPV4, "tcp_synack_retries", "0", OK, "0\n", "zero" },
	{ IPV4, "tcp_synack_retries", "7 8", 3, "7\n", "u8: first number, whole write consumed" },
	{ IPV4, "tcp_synack_retries", "7 abc", 5, "7\n", "u8: junk after a blank ignored" },
	{ IPV4, "tcp_synack_retries", "5abc", -EINVAL, "5\n", "junk glued to the number" },
	{ IPV4, "tcp_synack_retries", "abc", -EINVAL, "5\n", "no number" },
	{ IPV4, "tcp_synack_retries", "\n", -EINVAL, "5\n", "lone newline" },
	{ IPV4, "tcp_synack_retries", "   ", -EINVAL, "5\n", "blanks only" },
	{ IPV4, "tcp_synack_retries", "-0", -EINVAL, "5\n", "-0 on unsigned" },
	{ IPV4, "tcp_synack_retries", "-1", -EINVAL, "5\n", "negative on unsigned" },
	{ IPV4, "tcp_synack_retries", "256", -EINVAL, "5\n", "u8 out of range" },
	{ IPV4, "tcp_synack_retries", "255", OK, "255\n", "u8 maximum" },
	{ IPV4, "tcp_synack_retries", "4294967296", -EINVAL, "5\n", "above UINT_MAX" },
	{ IPV4, "tcp_synack_retries", "08", -EINVAL, "5\n", "8 is no octal digit" },
	{ IPV4, "tcp_synack_retries", "0x", -EINVAL, "5\n", "0x without digits" },
	{ IPV4, "tcp_synack_retries", "+5", -EINVAL, "5\n", "plus sign" },
	{ IPV4, "tcp_synack_retries", "1.5", -EINVAL, "5\n", "decimal point" },
	{ IPV4, "tcp_synack_retries", "000000000000000000003", -EINVAL, "5\n",
	  "number text of 21 characters" },
	{ IPV4, "tcp_synack_retries", "00000000000000000003", OK, "3\n",
	  "number text of 20 characters" },
	{ IPV4, "tcp_max_syn_backlog", "5", OK, "5\n", "int: plain number" },
	{ IPV4, "tcp_max_syn_backlog", "7 8", 2, "7\n", "int: only the first number's bytes" },
	{ IPV4, "tcp_max_syn_backlog", "7 8\n", 2, "7\n", "int: first number, trailing newline" },
	{ IPV4, "tcp_max_syn_backlog", "  9   ", OK, "9\n", "int: blanks both sides" },
	{ IPV4, "tcp_max_syn_backlog", "0x10", OK, "16\n", "int: hex" },
	{ IPV4, "tcp_max_syn_backlog", "010", OK, "8\n", "int: octal" },
	{ IPV4, "tcp_max_syn_backlog", "5abc", -EINVAL, "2048\n", "int: junk" },
	{ IPV4, "tcp_max_syn_backlog", "\n", -EINVAL, "2048\n", "int: lone newline" },
	{ IPV4, "tcp_max_syn_backlog", "-", -EINVAL, "2048\n", "int: lone minus" },
	{ IPV4, "tcp_max_syn_backlog", "- 5", -EINVAL, "2048\n", "int: minus then blank" },
	{ IPV4, "tcp_max_syn_backlog", "-0", OK, "0\n", "int: -0 is 0" },
	{ IPV4, "tcp_max_syn_backlog", "-1", OK, "-1\n", "int without minimum: negative accepted" },
	{ IPV4, "tcp_max_syn_backlog", "2147483647", OK, "2147483647\n", "INT_MAX" },
	{ IPV4, "tcp_max_syn_backlog", "2147483648", -EINVAL, "2048\n", "above INT_MAX" },
	{ IPV4, "tcp_max_syn_backlog", "-2147483648", OK, "-2147483648\n", "INT_MIN" },
	{ IPV4, "tcp_max_syn_backlog", "-2147483649", -EINVAL, "2048\n", "below INT_MIN" },
	{ IPV4, "tcp_max_syn_backlog", "99999999999999999999", -EINVAL, "2048\n", "huge" },
	{ IPV4, "tcp_max_tw_buckets", "-1", OK, "-1\n", "negative accepted" },
	{ IPV4, "tcp_fin_timeout", "-1", OK, "-1\n", "jiffies: negative accepted" },
	{ IPV4, "tcp_keepalive_time", "-1\n", OK, "-1\n", "jiffies: negative accepted" },
	{ IPV4, "tcp_fin_timeout", "8589934", OK, "8589934\n", "jiffies: INT_MAX / HZ" },
	{ IPV4, "tcp_fin_timeout", "8589935", -EINVAL, "60\n", "jiffies: above INT_MAX / HZ" },
	{ IPV4, "tcp_keepalive_intvl", "-8589935", -EINVAL, "75\n", "jiffies: below -INT_MAX / HZ" },
};

static void test_linux_sysctl_write_semantics(void **state)
{
	(void)state;
	run_write_rows(section1_rows, TL_ARRAY_SIZE(section1_rows));
}

/* Reference §1: an empty write succeeds and changes nothing. */
static void test_linux_sysctl_empty_write_changes_nothing(void **state)
{
	(void)state;
	for (size_t i = 0; i < tcp_tunable_count(); i++) {
		const struct tcp_tunable *t = tcp_tunable_at(i);
		if (t->mode == 0444)
			continue;
		struct tcp_sysctl s, before;
		tcp_sysctl_init(&s);
		before = s;
		assert_int_equal(tcp_tunable_write(&s, t, "", 0), 0);
		assert_memory_equal(&s, &before, sizeof(s));
	}
}

/* Reference §2 ranges, at and just beyond each bound. */
static const struct write_row range_rows[] = {
	{ IPV4, "tcp_syn_retries", "0", -EINVAL, "6\n", "0 refused" },
	{ IPV4, "tcp_syn_retries", "1", OK, "1\n", "minimum" },
	{ IPV4, "tcp_syn_retries", "127", OK, "127\n", "maximum" },
	{ IPV4, "tcp_syn_retries", "128", -EINVAL, "6\n", "above MAX_TCP_SYNCNT" },
	{ IPV4, "tcp_syn_linear_timeouts", "0", OK, "0\n", "minimum" },
	{ IPV4, "tcp_syn_linear_timeouts", "128", -EINVAL, "4\n", "above 127" },
	{ IPV4, "tcp_tw_reuse", "0", OK, "0\n", "off" },
	{ IPV4, "tcp_tw_reuse", "2", OK, "2\n", "loopback only" },
	{ IPV4, "tcp_tw_reuse", "3", -EINVAL, "2\n", "above 2" },
	{ IPV4, "tcp_tw_reuse_delay", "0", -EINVAL, "1000\n", "below 1" },
	{ IPV4, "tcp_tw_reuse_delay", "1", OK, "1\n", "minimum" },
	{ IPV4, "tcp_tw_reuse_delay", "60000", OK, "60000\n", "maximum" },
	{ IPV4, "tcp_tw_reuse_delay", "60001", -EINVAL, "1000\n", "above maximum" },
	{ IPV4, "tcp_tw_reuse_delay", "-0", -EINVAL, "1000\n", "unsigned: -0" },
	{ IPV4, "tcp_tw_reuse_delay", "500 9", 5, "500\n", "unsigned: whole write consumed" },
	{ IPV4, "tcp_ecn", "2", OK, "2\n", "maximum on 6.18" },
	{ IPV4, "tcp_ecn", "3", -EINVAL, "2\n", "AccECN values refused" },
	{ IPV4, "tcp_ecn_fallback", "0", OK, "0\n", "minimum" },
	{ IPV4, "tcp_ecn_fallback", "2", -EINVAL, "1\n", "above 1" },
	{ IPV4, "tcp_rto_max_ms", "999", -EINVAL, "120000\n", "below 1000" },
	{ IPV4, "tcp_rto_max_ms", "1000", OK, "1000\n", "minimum" },
	{ IPV4, "tcp_rto_max_ms", "120000", OK, "120000\n", "maximum" },
	{ IPV4, "tcp_rto_max_ms", "120001", -EINVAL, "120000\n", "above TCP_RTO_MAX" },
	{ IPV4, "tcp_rto_min_us", "0", -EINVAL, "200000\n", "below 1" },
	{ IPV4, "tcp_rto_min_us", "1", OK, "1\n", "minimum" },
	{ IPV4, "tcp_rto_min_us", "-5", -EINVAL, "200000\n", "negative, with a minimum" },
	{ IPV4, "tcp_min_snd_mss", "47", -EINVAL, "48\n", "below 48" },
	{ IPV4, "tcp_min_snd_mss", "48", OK, "48\n", "minimum" },
	{ IPV4, "tcp_min_snd_mss", "65535", OK, "65535\n", "maximum" },
	{ IPV4, "tcp_min_snd_mss", "65536", -EINVAL, "48\n", "above 65535" },
	{ "net/core", "somaxconn", "-1", -EINVAL, "4096\n", "negative refused" },
	{ "net/core", "somaxconn", "0", OK, "0\n", "minimum" },
	{ "net/core", "somaxconn", "2147483647", OK, "2147483647\n", "INT_MAX" },
	{ "net/core", "somaxconn", "-0", OK, "0\n", "-0 is 0 on int" },
	{ IPV4, "tcp_syncookies", "2", OK, "2\n", "always" },
	{ IPV4, "tcp_syncookies", "255", OK, "255\n", "any u8 (behaves like 1)" },
	{ IPV4, "tcp_timestamps", "2", OK, "2\n", "without offset" },
	{ "tcplab", "msl_ms", "1000", OK, "1000\n", "lab knob" },
	{ "tcplab", "msl_ms", "0", -EINVAL, "30000\n", "lab knob: below 1" },
};

static void test_linux_sysctl_ranges(void **state)
{
	(void)state;
	run_write_rows(range_rows, TL_ARRAY_SIZE(range_rows));
}

/* Reference §2.3: vectors, tab-separated on read; fewer numbers update
 * only the leading ones; ip_local_port_range rules. */
static const struct write_row vector_rows[] = {
	{ IPV4, "tcp_rmem", "4096 87380 6291456", OK, "4096\t87380\t6291456\n", "three values" },
	{ IPV4, "tcp_rmem", "4096\t87380\t6291456\n", OK, "4096\t87380\t6291456\n", "tab-separated" },
	{ IPV4, "tcp_rmem", "8192", OK, "8192\t131072\t6291456\n", "one value: only the first" },
	{ IPV4, "tcp_rmem", "8192 65536\n", OK, "8192\t65536\t6291456\n", "two values" },
	{ IPV4, "tcp_rmem", "100 50 10", OK, "100\t50\t10\n", "no ordering check" },
	{ IPV4, "tcp_rmem", "0 1 1", -EINVAL, "4096\t131072\t6291456\n", "each >= 1" },
	{ IPV4, "tcp_rmem", "1 0", -EINVAL, "4096\t131072\t6291456\n", "all or nothing" },
	{ IPV4, "tcp_rmem", "1 2x", -EINVAL, "4096\t131072\t6291456\n", "junk in the second" },
	{ IPV4, "tcp_rmem", "1 2 3 4", 6, "1\t2\t3\n", "a fourth number is not consumed" },
	{ IPV4, "tcp_wmem", "4096 16384 8388608", OK, "4096\t16384\t8388608\n", "wmem" },
	{ IPV4, "ip_local_port_range", "1024 65535", OK, "1024\t65535\n", "widest" },
	{ IPV4, "ip_local_port_range", "40000", OK, "40000\t60999\n", "one number: low only" },
	{ IPV4, "ip_local_port_range", "61000", -EINVAL, "32768\t60999\n", "low above high" },
	{ IPV4, "ip_local_port_range", "5000 4000", -EINVAL, "32768\t60999\n", "low > high" },
	{ IPV4, "ip_local_port_range", "1023 2000", -EINVAL, "32768\t60999\n", "privileged low" },
	{ IPV4, "ip_local_port_range", "0 100", -EINVAL, "32768\t60999\n", "each >= 1" },
	{ IPV4, "ip_local_port_range", "1024 65536", -EINVAL, "32768\t60999\n", "each <= 65535" },
	{ IPV4, "ip_local_port_range", "2000 2000\n", OK, "2000\t2000\n", "low == high" },
};

static void test_linux_sysctl_vectors(void **state)
{
	(void)state;
	run_write_rows(vector_rows, TL_ARRAY_SIZE(vector_rows));
}

/* Reference §2.3: congestion control names are case-sensitive, unknown
 * ones give ENOENT; the available list is read-only. */
static const struct write_row cc_rows[] = {
	{ IPV4, "tcp_congestion_control", "reno", OK, "reno\n", "reno" },
	{ IPV4, "tcp_congestion_control", "reno\n", OK, "reno\n", "newline ends the name" },
	{ IPV4, "tcp_congestion_control", "cubic\n", OK, "cubic\n", "cubic" },
	{ IPV4, "tcp_congestion_control", "bbr", -ENOENT, "cubic\n", "not available here" },
	{ IPV4, "tcp_congestion_control", "CUBIC", -ENOENT, "cubic\n", "case-sensitive" },
	{ IPV4, "tcp_congestion_control", " reno", -ENOENT, "cubic\n", "blanks are part of the name" },
	{ IPV4, "tcp_congestion_control", "\n", -ENOENT, "cubic\n", "empty name" },
	{ IPV4, "tcp_congestion_control", "renorenorenorenoreno", -ENOENT, "cubic\n", "too long" },
	{ IPV4, "tcp_available_congestion_control", "reno", -EPERM, "reno cubic\n", "read-only" },
};

static void test_linux_sysctl_congestion_control(void **state)
{
	(void)state;
	run_write_rows(cc_rows, TL_ARRAY_SIZE(cc_rows));
	const struct tcp_tunable *t =
		tcp_tunable_find(IPV4, "tcp_available_congestion_control");
	assert_non_null(t);
	assert_int_equal(t->mode, 0444);
	struct tcp_sysctl s;
	tcp_sysctl_init(&s);
	assert_int_equal(tcp_tunable_write(&s, t, "", 0), -EPERM);
	/* the list is the congestion control module's own */
	char out[64], want[64];
	assert_true(tcp_tunable_read(&s, t, out, sizeof(out)) > 0);
	snprintf(want, sizeof(want), "%s\n", tcp_cc_available());
	assert_string_equal(out, want);
}

/* Reference §2 defaults, read exactly as /proc/sys shows them. */
static const struct {
	const char *dir, *name, *text;
} default_rows[] = {
	{ IPV4, "tcp_synack_retries", "5\n" },
	{ IPV4, "tcp_syn_retries", "6\n" },
	{ IPV4, "tcp_syn_linear_timeouts", "4\n" },
	{ IPV4, "tcp_syncookies", "1\n" },
	{ IPV4, "tcp_max_syn_backlog", "2048\n" },
	{ IPV4, "tcp_abort_on_overflow", "0\n" },
	{ IPV4, "tcp_fin_timeout", "60\n" },
	{ IPV4, "tcp_tw_reuse", "2\n" },
	{ IPV4, "tcp_tw_reuse_delay", "1000\n" },
	{ IPV4, "tcp_max_tw_buckets", "131072\n" },
	{ IPV4, "tcp_retries1", "3\n" },
	{ IPV4, "tcp_retries2", "15\n" },
	{ IPV4, "tcp_orphan_retries", "0\n" },
	{ IPV4, "tcp_rfc1337", "0\n" },
	{ IPV4, "tcp_keepalive_time", "7200\n" },
	{ IPV4, "tcp_keepalive_intvl", "75\n" },
	{ IPV4, "tcp_keepalive_probes", "9\n" },
	{ IPV4, "tcp_rto_min_us", "200000\n" },
	{ IPV4, "tcp_rto_max_ms", "120000\n" },
	{ IPV4, "tcp_window_scaling", "1\n" },
	{ IPV4, "tcp_timestamps", "1\n" },
	{ IPV4, "tcp_sack", "1\n" },
	{ IPV4, "tcp_dsack", "1\n" },
	{ IPV4, "tcp_ecn", "2\n" },
	{ IPV4, "tcp_ecn_fallback", "1\n" },
	{ IPV4, "tcp_congestion_control", "cubic\n" },
	{ IPV4, "tcp_available_congestion_control", "reno cubic\n" },
	{ IPV4, "tcp_rmem", "4096\t131072\t6291456\n" },
	{ IPV4, "tcp_wmem", "4096\t16384\t4194304\n" },
	{ IPV4, "tcp_mtu_probing", "0\n" },
	{ IPV4, "tcp_base_mss", "1024\n" },
	{ IPV4, "tcp_mtu_probe_floor", "48\n" },
	{ IPV4, "tcp_min_snd_mss", "48\n" },
	{ IPV4, "ip_local_port_range", "32768\t60999\n" },
	{ "net/core", "somaxconn", "4096\n" },
	{ "tcplab", "msl_ms", "30000\n" },
};

static void test_linux_sysctl_defaults(void **state)
{
	(void)state;
	struct tcp_sysctl s;
	char out[128];
	tcp_sysctl_init(&s);
	for (size_t i = 0; i < TL_ARRAY_SIZE(default_rows); i++) {
		printf("# row %zu: %s\n", i, default_rows[i].name);
		const struct tcp_tunable *t =
			tcp_tunable_find(default_rows[i].dir, default_rows[i].name);
		assert_non_null(t);
		int n = tcp_tunable_read(&s, t, out, sizeof(out));
		assert_int_equal(n, strlen(default_rows[i].text));
		assert_string_equal(out, default_rows[i].text);
	}
	assert_int_equal(tcp_tunable_count(), TL_ARRAY_SIZE(default_rows));
	/* The struct is initialised too, not just the text. */
	assert_int_equal(s.tcp_syn_retries, 6);
	assert_int_equal(s.tcp_rmem[2], 6291456);
	assert_int_equal(s.ip_local_port_range[0], 32768);
	assert_int_equal(s.msl_ms, 30000);
	assert_string_equal(s.tcp_congestion_control, "cubic");
}

/* Every byte of struct tcp_sysctl belongs to exactly one row, so no field
 * can be forgotten by the table (and none is shared by two rows). */
static void test_tunables_cover_every_sysctl_field(void **state)
{
	(void)state;
	unsigned char owner[sizeof(struct tcp_sysctl)];
	memset(owner, 0, sizeof(owner));
	for (size_t i = 0; i < tcp_tunable_count(); i++) {
		const struct tcp_tunable *t = tcp_tunable_at(i);
		if (t->offset == TCP_TUNABLE_NO_FIELD) {
			assert_int_equal(t->mode, 0444);
			continue;
		}
		size_t size = t->type == TUN_STRING ? TCP_CA_NAME_MAX : sizeof(int) * t->n;
		assert_true(t->offset + size <= sizeof(owner));
		for (size_t b = 0; b < size; b++) {
			if (owner[t->offset + b])
				fail_msg("%s overlaps another row", t->name);
			owner[t->offset + b] = 1;
		}
		assert_int_equal(t->mode, 0644);
	}
	for (size_t b = 0; b < sizeof(owner); b++)
		if (!owner[b])
			fail_msg("byte %zu of struct tcp_sysctl has no row", b);
	assert_null(tcp_tunable_at(tcp_tunable_count()));
}

static void test_tunables_lookup(void **state)
{
	(void)state;
	assert_non_null(tcp_tunable_find("net/ipv4", "tcp_syn_retries"));
	assert_non_null(tcp_tunable_find("net/core", "somaxconn"));
	assert_null(tcp_tunable_find("net/ipv4", "somaxconn"));
	assert_null(tcp_tunable_find("net/ipv4", "tcp_nonexistent"));
	assert_null(tcp_tunable_find(NULL, "tcp_sack"));
	assert_ptr_equal(tcp_tunable_find_sysctl("net.ipv4.tcp_sack"),
			 tcp_tunable_find("net/ipv4", "tcp_sack"));
	assert_ptr_equal(tcp_tunable_find_sysctl("net.core.somaxconn"),
			 tcp_tunable_find("net/core", "somaxconn"));
	assert_ptr_equal(tcp_tunable_find_sysctl("tcplab.msl_ms"),
			 tcp_tunable_find("tcplab", "msl_ms"));
	assert_null(tcp_tunable_find_sysctl("net.ipv4.somaxconn"));
	assert_null(tcp_tunable_find_sysctl("net/ipv4.tcp_sack"));
	assert_null(tcp_tunable_find_sysctl("net.ipv4"));
}

/* A read into a buffer too small fails cleanly. */
static void test_tunables_read_small_buffer(void **state)
{
	(void)state;
	struct tcp_sysctl s;
	char out[8];
	tcp_sysctl_init(&s);
	const struct tcp_tunable *t = tcp_tunable_find(IPV4, "tcp_rmem");
	assert_int_equal(tcp_tunable_read(&s, t, out, sizeof(out)), -ENOSPC);
	t = tcp_tunable_find(IPV4, "tcp_sack");
	assert_int_equal(tcp_tunable_read(&s, t, out, 3), 2);
	assert_string_equal(out, "1\n");
	assert_int_equal(tcp_tunable_read(&s, t, out, 2), -ENOSPC);
}

static const struct {
	const char *dir, *name;
	int err;
	const char *text;
} describe_rows[] = {
	{ IPV4, "tcp_syn_retries", -EINVAL, "tcp_syn_retries: value must be an integer in 1..127" },
	{ IPV4, "tcp_synack_retries", -EINVAL, "tcp_synack_retries: value must be an integer in 0..255" },
	{ IPV4, "tcp_rto_min_us", -EINVAL, "tcp_rto_min_us: value must be an integer >= 1" },
	{ IPV4, "tcp_max_syn_backlog", -EINVAL,
	  "tcp_max_syn_backlog: value must be an integer in -2147483648..2147483647" },
	{ "net/core", "somaxconn", -EINVAL, "somaxconn: value must be an integer in 0..2147483647" },
	{ IPV4, "tcp_fin_timeout", -EINVAL,
	  "tcp_fin_timeout: value must be a number of seconds in -8589934..8589934" },
	{ IPV4, "tcp_rmem", -EINVAL, "tcp_rmem: value must be up to 3 integers, each >= 1" },
	{ IPV4, "ip_local_port_range", -EINVAL,
	  "ip_local_port_range: value must be two integers low high, each in 1..65535, "
	  "with 1024 <= low <= high" },
	{ IPV4, "tcp_congestion_control", -ENOENT,
	  "tcp_congestion_control: unknown algorithm (available: reno cubic)" },
	{ IPV4, "tcp_available_congestion_control", -EPERM,
	  "tcp_available_congestion_control: read-only" },
};

static void test_tunables_describe_error(void **state)
{
	(void)state;
	char buf[160];
	for (size_t i = 0; i < TL_ARRAY_SIZE(describe_rows); i++) {
		printf("# row %zu: %s\n", i, describe_rows[i].name);
		const struct tcp_tunable *t =
			tcp_tunable_find(describe_rows[i].dir, describe_rows[i].name);
		assert_non_null(t);
		int n = tcp_tunable_describe_error(t, describe_rows[i].err, buf, sizeof(buf));
		assert_string_equal(buf, describe_rows[i].text);
		assert_int_equal(n, strlen(describe_rows[i].text));
	}
	/* truncated like snprintf, still NUL-terminated */
	const struct tcp_tunable *t = tcp_tunable_find(IPV4, "tcp_syn_retries");
	int n = tcp_tunable_describe_error(t, -EINVAL, buf, 10);
	assert_int_equal(n, strlen(describe_rows[0].text));
	assert_string_equal(buf, "tcp_syn_r");
}

/* tcp_tunable_apply: the value before and after as one line each, and
 * for a refused write the broken rule (without the name), value kept. */
static void test_tunables_apply_reports_change_and_rule(void **state)
{
	(void)state;
	struct tcp_sysctl s;
	tcp_sysctl_init(&s);
	const struct tcp_tunable *t = tcp_tunable_find("net/ipv4", "tcp_syn_retries");
	assert_non_null(t);
	struct tcp_tunable_change ch;
	assert_int_equal(tcp_tunable_apply(&s, t, "3\n", 2, &ch), 2);
	assert_string_equal(ch.old, "6");
	assert_string_equal(ch.new, "3");
	assert_string_equal(ch.why, "");
	assert_int_equal(tcp_tunable_apply(&s, t, "0\n", 2, &ch), -EINVAL);
	assert_string_equal(ch.old, "3");
	assert_string_equal(ch.new, "3");
	assert_non_null(strstr(ch.why, "1..127"));
	assert_null(strstr(ch.why, "tcp_syn_retries"));
	assert_int_equal(s.tcp_syn_retries, 3);
	const struct tcp_tunable *v = tcp_tunable_find("net/ipv4", "tcp_rmem");
	assert_int_equal(tcp_tunable_apply(&s, v, "1 2 3", 5, &ch), 5);
	assert_string_equal(ch.new, "1\t2\t3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_linux_sysctl_write_semantics),
		cmocka_unit_test(test_linux_sysctl_empty_write_changes_nothing),
		cmocka_unit_test(test_linux_sysctl_ranges),
		cmocka_unit_test(test_linux_sysctl_vectors),
		cmocka_unit_test(test_linux_sysctl_congestion_control),
		cmocka_unit_test(test_linux_sysctl_defaults),
		cmocka_unit_test(test_tunables_cover_every_sysctl_field),
		cmocka_unit_test(test_tunables_lookup),
		cmocka_unit_test(test_tunables_read_small_buffer),
		cmocka_unit_test(test_tunables_describe_error),
		cmocka_unit_test(test_tunables_apply_reports_change_and_rule),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
