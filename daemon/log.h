/* Logging for the daemon edge (daemon/, client/): one line per message on
 * stderr, with a level, in the foreground-service style (systemd adds the
 * time stamps). When stderr is a journald stream (JOURNAL_STREAM is set) the
 * lines carry "<N>" priority prefixes so the journal keeps the levels.
 *
 * The macros test the level before formatting, so debug lines cost nothing
 * unless -v is given. Any thread may log; each message is one write(). */
#ifndef TL_DAEMON_LOG_H
#define TL_DAEMON_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERR = 3, /* syslog numbers, used for the journald prefix */
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

extern enum log_level log_threshold;

/* Sets the program name shown in each line and the threshold; reads
 * JOURNAL_STREAM once. */
void log_init(const char *progname, enum log_level threshold);

void log_emit(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_at(lvl, ...)                                                     \
	do {                                                                     \
		if ((lvl) <= log_threshold)                                          \
			log_emit((lvl), __VA_ARGS__);                                    \
	} while (0)
#define log_err(...) log_at(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

static inline bool log_enabled(enum log_level lvl)
{
	return lvl <= log_threshold;
}

#endif
