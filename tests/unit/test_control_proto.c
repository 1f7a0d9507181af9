/* Unit tests of the control protocol's words (daemon/control_proto.c,
 * docs/control.md): splitting a line into positional and key=value words,
 * the escapes, and errno names. Each test names the rule it proves. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "control_proto.h"

static void split(const char *text, char *buf, size_t cap, struct ctl_line *l)
{
	snprintf(buf, cap, "%s", text);
	assert_int_equal(ctl_split(buf, l), 0);
}

/* A request is the verb, positional words and key=value words, in order. */
static void test_control_split_positional_and_keyed_words(void **state)
{
	(void)state;
	char buf[256];
	struct ctl_line l;
	split("connect 198.18.0.2 5000 lport=4000 keep=1", buf, sizeof(buf), &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(ctl_pos(&l, 0)->val, "connect");
	assert_string_equal(ctl_pos(&l, 1)->val, "198.18.0.2");
	assert_string_equal(ctl_pos(&l, 2)->val, "5000");
	assert_null(ctl_pos(&l, 3));
	assert_string_equal(ctl_find(&l, "lport")->val, "4000");
	assert_string_equal(ctl_find(&l, "keep")->val, "1");
	assert_null(ctl_find(&l, "host"));
}

/* Blanks separate words; runs of them and a trailing one make no empty
 * words; an empty line has none. */
static void test_control_split_skips_empty_words(void **state)
{
	(void)state;
	char buf[64];
	struct ctl_line l;
	split("  ss   state=LISTEN  ", buf, sizeof(buf), &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(ctl_pos(&l, 0)->val, "ss");
	split("", buf, sizeof(buf), &l);
	assert_int_equal(l.n, 0);
}

/* Every escape decodes to its byte, \xHH to any byte including NUL; the
 * value's length counts them. */
static void test_control_escapes_decode(void **state)
{
	(void)state;
	char buf[128];
	struct ctl_line l;
	split("send 7 data=a\\sb\\tc\\nd\\re\\\\f\\x3dg\\x00h", buf, sizeof(buf), &l);
	const struct ctl_word *d = ctl_find(&l, "data");
	assert_non_null(d);
	static const char want[] = "a b\tc\nd\re\\f=g\0h";
	assert_int_equal(d->val_len, sizeof(want) - 1);
	assert_memory_equal(d->val, want, sizeof(want) - 1);
}

/* A bad escape (unknown letter, short \x, lone backslash) refuses the
 * whole line. */
static void test_control_bad_escape_is_einval(void **state)
{
	(void)state;
	static const char *const bad[] = { "set a b\\q", "send 1 data=\\x4", "send 1 data=\\",
					   "x \\xzz" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[64];
		struct ctl_line l;
		snprintf(buf, sizeof(buf), "%s", bad[i]);
		assert_int_equal(ctl_split(buf, &l), -EINVAL);
	}
}

/* More than CTL_WORDS_MAX words is E2BIG. */
static void test_control_too_many_words_is_e2big(void **state)
{
	(void)state;
	char buf[4 * (CTL_WORDS_MAX + 2)] = "";
	for (int i = 0; i < CTL_WORDS_MAX + 1; i++)
		strcat(buf, "w ");
	struct ctl_line l;
	assert_int_equal(ctl_split(buf, &l), -E2BIG);
}

/* What ctl_escape writes splits back into the same bytes, for every byte
 * value, and holds no blank, no newline and no unescaped '='. */
static void test_control_escape_round_trips_every_byte(void **state)
{
	(void)state;
	char raw[256];
	for (int i = 0; i < 256; i++)
		raw[i] = (char)i;
	struct strbuf sb = { 0 };
	sb_append(&sb, "recv", 4);
	ctl_putn(&sb, "data", raw, sizeof(raw));
	ctl_put(&sb, "path", "/tmp/a b=c");
	assert_false(sb.failed);
	const char *eq = strchr(sb.p, '=');
	assert_non_null(eq);
	assert_null(strchr(eq + 1, '\n'));
	assert_null(strchr(sb.p + 5, '\t'));
	/* Exactly two separators: one per key=value word. */
	int eqs = 0;
	for (const char *p = sb.p; *p; p++)
		eqs += *p == '=';
	assert_int_equal(eqs, 2);
	struct ctl_line l;
	assert_int_equal(ctl_split(sb.p, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(ctl_find(&l, "data")->val_len, 256);
	assert_memory_equal(ctl_find(&l, "data")->val, raw, 256);
	assert_string_equal(ctl_find(&l, "path")->val, "/tmp/a b=c");
	sb_free(&sb);
}

/* Printable words go through unchanged (a human can read and type them). */
static void test_control_plain_words_stay_readable(void **state)
{
	(void)state;
	struct strbuf sb = { 0 };
	ctl_put(&sb, "local", "198.18.0.1:80");
	ctl_put(&sb, "state", "ESTABLISHED");
	assert_string_equal(sb.p, " local=198.18.0.1:80 state=ESTABLISHED");
	sb_free(&sb);
}

/* ERR lines name the errno; the names map back; unknown ones are E<n>. */
static void test_control_errno_names_round_trip(void **state)
{
	(void)state;
	char buf[16];
	static const int errs[] = { EINVAL, ENOENT, EPERM, EAGAIN, EADDRINUSE, ECONNREFUSED,
				    ENOSYS, E2BIG };
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
		const char *name = ctl_errno_name(-errs[i], buf);
		assert_true(name[0] == 'E');
		assert_int_equal(ctl_errno_from_name(name), errs[i]);
	}
	assert_string_equal(ctl_errno_name(-EINVAL, buf), "EINVAL");
	assert_string_equal(ctl_errno_name(4000, buf), "E4000");
	assert_int_equal(ctl_errno_from_name("E4000"), 4000);
	assert_int_equal(ctl_errno_from_name("NOPE"), 0);
}

/* Numbers: decimal only, within the bounds; signs, blanks and junk are
 * refused. */
static void test_control_numbers_are_strict(void **state)
{
	(void)state;
	unsigned long long v;
	assert_true(ctl_parse_u64("65535", 1, 65535, &v));
	assert_int_equal(v, 65535);
	assert_false(ctl_parse_u64("65536", 1, 65535, &v));
	assert_false(ctl_parse_u64("0", 1, 65535, &v));
	assert_false(ctl_parse_u64("-1", 0, 65535, &v));
	assert_false(ctl_parse_u64(" 5", 0, 65535, &v));
	assert_false(ctl_parse_u64("5x", 0, 65535, &v));
	assert_false(ctl_parse_u64("", 0, 65535, &v));
	assert_false(ctl_parse_u64(NULL, 0, 65535, &v));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_split_positional_and_keyed_words),
		cmocka_unit_test(test_control_split_skips_empty_words),
		cmocka_unit_test(test_control_escapes_decode),
		cmocka_unit_test(test_control_bad_escape_is_einval),
		cmocka_unit_test(test_control_too_many_words_is_e2big),
		cmocka_unit_test(test_control_escape_round_trips_every_byte),
		cmocka_unit_test(test_control_plain_words_stay_readable),
		cmocka_unit_test(test_control_errno_names_round_trip),
		cmocka_unit_test(test_control_numbers_are_strict),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
