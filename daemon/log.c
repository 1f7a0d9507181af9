/* Level-filtered stderr logging (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum log_level log_threshold = LOG_LVL_INFO;

static const char *log_prog = "tcplabd";
static bool log_journal;

void log_init(const char *progname, enum log_level threshold)
{
	log_prog = progname;
	log_threshold = threshold;
	log_journal = getenv("JOURNAL_STREAM") != NULL;
}

static const char *level_name(enum log_level lvl)
{
	switch (lvl) {
	case LOG_LVL_ERR:
		return "error";
	case LOG_LVL_WARN:
		return "warning";
	case LOG_LVL_INFO:
		return "info";
	case LOG_LVL_DEBUG:
		return "debug";
	}
	return "?";
}

void log_emit(enum log_level lvl, const char *fmt, ...)
{
	char line[2048];
	int n;

	/* journald stamps time and program itself; a terminal wants names. */
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>", (int)lvl);
	else
		n = snprintf(line, sizeof(line), "%s: %s: ", log_prog, level_name(lvl));
	if (n < 0)
		return;
	size_t len = (size_t)n;

	va_list ap;
	va_start(ap, fmt);
	n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	len += (size_t)n;
	if (len > sizeof(line) - 2)
		len = sizeof(line) - 2; /* truncated: still one whole line */
	/* A message must never span lines: tests and journald count lines. */
	for (size_t i = 0; i < len; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[len++] = '\n';

	/* One write() per line so concurrent writers do not interleave. */
	const char *p = line;
	while (len > 0) {
		ssize_t w = write(STDERR_FILENO, p, len);
		if (w < 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}
