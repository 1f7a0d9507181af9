/* Words of the control protocol: splitting, escaping, errno names (see
 * control_proto.h and docs/control.md). */
#include "control_proto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescapes [p, end) onto itself; returns the new length or -EINVAL. */
static long unescape(char *p, char *end)
{
	char *o = p;
	for (char *i = p; i < end; i++) {
		if (*i != '\\') {
			*o++ = *i;
			continue;
		}
		if (++i >= end)
			return -EINVAL;
		switch (*i) {
		case 's': *o++ = ' '; break;
		case 't': *o++ = '\t'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case '\\': *o++ = '\\'; break;
		case 'x': {
			int hi = i + 1 < end ? hexval(i[1]) : -1;
			int lo = i + 2 < end ? hexval(i[2]) : -1;
			if (hi < 0 || lo < 0)
				return -EINVAL;
			*o++ = (char)(hi << 4 | lo);
			i += 2;
			break;
		}
		default:
			return -EINVAL;
		}
	}
	return o - p;
}

int ctl_split(char *line, struct ctl_line *out)
{
	out->n = 0;
	char *p = line;
	while (*p) {
		if (*p == ' ') {
			p++;
			continue;
		}
		char *start = p;
		while (*p && *p != ' ')
			p++;
		char *end = p;
		bool more = *p != '\0';
		if (out->n == CTL_WORDS_MAX)
			return -E2BIG;
		struct ctl_word *w = &out->w[out->n];
		/* An unescaped '=' separates key and value ('=' in data is
		 * always escaped, so the first one is the separator). */
		char *eq = memchr(start, '=', (size_t)(end - start));
		char *val = start;
		w->key = NULL;
		if (eq && eq > start) {
			*eq = '\0';
			w->key = start;
			val = eq + 1;
		}
		long n = unescape(val, end);
		if (n < 0)
			return -EINVAL;
		val[n] = '\0';
		w->val = val;
		w->val_len = (size_t)n;
		out->n++;
		if (more)
			p++;
	}
	return 0;
}

const struct ctl_word *ctl_find(const struct ctl_line *l, const char *key)
{
	for (unsigned i = 0; i < l->n; i++)
		if (l->w[i].key && strcmp(l->w[i].key, key) == 0)
			return &l->w[i];
	return NULL;
}

const struct ctl_word *ctl_pos(const struct ctl_line *l, unsigned idx)
{
	for (unsigned i = 0; i < l->n; i++)
		if (!l->w[i].key && idx-- == 0)
			return &l->w[i];
	return NULL;
}

void ctl_escape(struct strbuf *sb, const char *s, size_t len)
{
	size_t run = 0; /* plain bytes not yet copied, ending at s[i] */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > ' ' && c < 0x7f && c != '\\' && c != '=') {
			run++;
			continue;
		}
		if (run)
			sb_append(sb, s + i - run, run);
		run = 0;
		switch (c) {
		case ' ': sb_append(sb, "\\s", 2); break;
		case '\t': sb_append(sb, "\\t", 2); break;
		case '\n': sb_append(sb, "\\n", 2); break;
		case '\r': sb_append(sb, "\\r", 2); break;
		case '\\': sb_append(sb, "\\\\", 2); break;
		default: sb_printf(sb, "\\x%02x", c); break;
		}
	}
	if (run)
		sb_append(sb, s + len - run, run);
}

void ctl_putn(struct strbuf *sb, const char *key, const char *val, size_t len)
{
	sb_printf(sb, " %s=", key);
	ctl_escape(sb, val, len);
}

void ctl_put(struct strbuf *sb, const char *key, const char *val)
{
	ctl_putn(sb, key, val, strlen(val));
}

void ctl_putf(struct strbuf *sb, const char *key, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	ctl_putn(sb, key, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
}

/* The errnos the control socket reports. */
static const struct {
	int err;
	const char *name;
} errnos[] = {
	{ EPERM, "EPERM" },	      { ENOENT, "ENOENT" },	{ EIO, "EIO" },
	{ E2BIG, "E2BIG" },	      { EBADF, "EBADF" },	{ EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },	      { EACCES, "EACCES" },	{ EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },	      { ENODEV, "ENODEV" },	{ EINVAL, "EINVAL" },
	{ ENOSPC, "ENOSPC" },	      { EPIPE, "EPIPE" },	{ ERANGE, "ERANGE" },
	{ ENAMETOOLONG, "ENAMETOOLONG" }, { ENOSYS, "ENOSYS" },	{ EPROTO, "EPROTO" },
	{ ENOTCONN, "ENOTCONN" },     { EADDRINUSE, "EADDRINUSE" },
	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" }, { ECONNRESET, "ECONNRESET" },
	{ ECONNREFUSED, "ECONNREFUSED" }, { ETIMEDOUT, "ETIMEDOUT" },
	{ EHOSTUNREACH, "EHOSTUNREACH" }, { EMSGSIZE, "EMSGSIZE" }, { ENOBUFS, "ENOBUFS" },
	{ EISCONN, "EISCONN" },	      { EALREADY, "EALREADY" },	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ ENOTDIR, "ENOTDIR" },	      { EISDIR, "EISDIR" },	{ EROFS, "EROFS" },
};

const char *ctl_errno_name(int err, char *buf)
{
	if (err < 0)
		err = -err;
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	snprintf(buf, 16, "E%d", err);
	return buf;
}

int ctl_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (strcmp(errnos[i].name, name) == 0)
			return errnos[i].err;
	if (name[0] == 'E' && name[1] >= '0' && name[1] <= '9')
		return atoi(name + 1);
	return 0;
}

bool ctl_parse_u64(const char *s, unsigned long long lo, unsigned long long hi,
		   unsigned long long *out)
{
	if (!s || *s < '0' || *s > '9')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}
