/* The control protocol's words (docs/control.md), shared by the daemon's
 * control socket (control.c) and the client (client/control_client.c).
 *
 * A request is one line "VERB ARG ARG ...", a response is zero or more data
 * lines "- key=value key=value ..." and then one final line, "OK key=value
 * ..." or "ERR ERRNAME message". Words are separated by one space; inside a
 * word every byte outside '!'..'~', and '\\' and '=', is escaped (\s space,
 * \t, \n, \r, \\, \xHH), so an unescaped '=' always separates a key from
 * its value and a word never contains a blank.
 *
 * Pure string handling: any thread, no state. */
#ifndef TL_DAEMON_CONTROL_PROTO_H
#define TL_DAEMON_CONTROL_PROTO_H

#include <stdbool.h>
#include <stddef.h>

#include "strbuf.h"

/* Longest request or response line, newline excluded. */
#define CTL_LINE_MAX 65536
/* Most words in one line (verb included). */
#define CTL_WORDS_MAX 48

/* One word of a split line. key is NULL for a positional word; val points
 * into the line and holds val_len bytes (it may contain NUL bytes if the
 * sender escaped them; it is NUL-terminated after val_len either way). */
struct ctl_word {
	const char *key;
	const char *val;
	size_t val_len;
};

/* A split line. Invariant: n <= CTL_WORDS_MAX; w[0..n) in line order. */
struct ctl_line {
	unsigned n;
	struct ctl_word w[CTL_WORDS_MAX];
};

/* Splits `line` (NUL-terminated, no newline) in place into words and
 * unescapes them. Returns 0, -EINVAL for a bad escape (what in *bad), or
 * -E2BIG for too many words. Empty words (two spaces) are skipped. */
int ctl_split(char *line, struct ctl_line *out);

/* The value of key, or NULL. */
const struct ctl_word *ctl_find(const struct ctl_line *l, const char *key);
/* The i-th positional word (0 = the verb on requests, "-" on data lines,
 * "OK"/"ERR" on final lines), or NULL. */
const struct ctl_word *ctl_pos(const struct ctl_line *l, unsigned i);

/* Appends len bytes of s, escaped, to sb. */
void ctl_escape(struct strbuf *sb, const char *s, size_t len);
/* Appends " key=value" (escaped value; key must be a plain word). */
void ctl_put(struct strbuf *sb, const char *key, const char *val);
void ctl_putn(struct strbuf *sb, const char *key, const char *val, size_t len);
void ctl_putf(struct strbuf *sb, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "EINVAL" for EINVAL, ...; "E<number>" for unknown ones. buf >= 16 bytes. */
const char *ctl_errno_name(int err, char *buf);
/* The errno of "EINVAL", ...; 0 if unknown. */
int ctl_errno_from_name(const char *name);

/* Parses a decimal unsigned number in lo..hi; false if it is not one. */
bool ctl_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
		   unsigned long long *out);

#endif
