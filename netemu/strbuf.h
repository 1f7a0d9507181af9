/* A growable text buffer for rendering procfs-style files. On allocation
 * failure it stops growing and remembers it (`failed`), so renderers need
 * no error paths; callers check once at the end. */
#ifndef TL_NETEMU_STRBUF_H
#define TL_NETEMU_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *p;      /* NUL-terminated when len > 0 */
	size_t len, cap;
	bool failed;
};

void sb_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sb_append(struct strbuf *sb, const char *s, size_t n);
/* Pads the current line with spaces up to `width` characters. */
void sb_pad_line(struct strbuf *sb, size_t line_start, size_t width);
void sb_free(struct strbuf *sb);

#endif
