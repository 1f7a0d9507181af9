/* Growable text buffer. */
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool sb_reserve(struct strbuf *sb, size_t extra)
{
	if (sb->failed)
		return false;
	if (sb->len + extra + 1 <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 4096;
	while (cap < sb->len + extra + 1)
		cap *= 2;
	char *p = realloc(sb->p, cap);
	if (!p) {
		sb->failed = true;
		return false;
	}
	sb->p = p;
	sb->cap = cap;
	return true;
}

void sb_printf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char small[256];
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0 || !sb_reserve(sb, (size_t)n))
		return;
	if ((size_t)n < sizeof(small)) {
		memcpy(sb->p + sb->len, small, (size_t)n + 1);
	} else {
		va_start(ap, fmt);
		vsnprintf(sb->p + sb->len, (size_t)n + 1, fmt, ap);
		va_end(ap);
	}
	sb->len += (size_t)n;
}

void sb_append(struct strbuf *sb, const char *s, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	memcpy(sb->p + sb->len, s, n);
	sb->len += n;
	sb->p[sb->len] = '\0';
}

void sb_pad_line(struct strbuf *sb, size_t line_start, size_t width)
{
	size_t have = sb->len - line_start;
	if (have >= width || !sb_reserve(sb, width - have))
		return;
	memset(sb->p + sb->len, ' ', width - have);
	sb->len += width - have;
	sb->p[sb->len] = '\0';
}

void sb_free(struct strbuf *sb)
{
	free(sb->p);
	sb->p = NULL;
	sb->len = sb->cap = 0;
	sb->failed = false;
}
