/* Output helpers of the client: listings as aligned tables or JSON, state
 * colours, and small process/time utilities shared by the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tcp_state.h"
#include "tl_types.h"

void listing_init(struct listing *l, unsigned ncols, const char *const *keys,
		  const char *const *heads)
{
	memset(l, 0, sizeof(*l));
	l->ncols = ncols;
	l->keys = keys;
	l->heads = heads;
}

void listing_add(struct listing *l, const char *const *cells)
{
	if (l->nrows == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 32;
		char **c = realloc(l->cells, ncap * l->ncols * sizeof(*c));
		if (!c)
			return; /* the row is lost; out of memory is fatal soon anyway */
		l->cells = c;
		l->cap = ncap;
	}
	char **notes = realloc(l->notes, (l->nrows + 1) * sizeof(*notes));
	if (!notes)
		return;
	l->notes = notes;
	l->notes[l->nrows] = NULL;
	for (unsigned i = 0; i < l->ncols; i++)
		l->cells[l->nrows * l->ncols + i] = strdup(cells[i] ? cells[i] : "");
	l->nrows++;
}

void listing_note(struct listing *l, const char *note)
{
	if (l->nrows && !l->notes[l->nrows - 1])
		l->notes[l->nrows - 1] = strdup(note);
}

/* Display width of UTF-8 text (one column per code point: the client
 * prints no wide characters in tables). */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void listing_print(const struct listing *l, FILE *out, bool json)
{
	if (json) {
		fputs("[", out);
		for (size_t r = 0; r < l->nrows; r++) {
			fputs(r ? ",\n {" : "\n {", out);
			for (unsigned c = 0; c < l->ncols; c++) {
				if (c)
					fputs(", ", out);
				json_str(out, l->keys[c]);
				fputs(": ", out);
				json_auto(out, l->cells[r * l->ncols + c]);
			}
			fputs("}", out);
		}
		fputs(l->nrows ? "\n]\n" : "]\n", out);
		return;
	}
	size_t *w = calloc(l->ncols, sizeof(*w));
	if (!w)
		return;
	for (unsigned c = 0; c < l->ncols; c++) {
		w[c] = width(l->heads[c]);
		for (size_t r = 0; r < l->nrows; r++)
			w[c] = TL_MAX(w[c], width(l->cells[r * l->ncols + c]));
	}
	bool color = l->color && cli_use_color(out);
	for (size_t r = 0; r <= l->nrows; r++) {
		for (unsigned c = 0; c < l->ncols; c++) {
			const char *cell = r == 0 ? l->heads[c] : l->cells[(r - 1) * l->ncols + c];
			const char *col = r && color ? l->color(c, cell) : NULL;
			bool last = c + 1 == l->ncols;
			fprintf(out, "%s%s%s", col && *col ? col : "", cell, col && *col ? ANSI_RESET : "");
			if (!last)
				fprintf(out, "%*s", (int)(w[c] - width(cell) + 2), "");
		}
		fputc('\n', out);
		if (r && l->notes[r - 1])
			fprintf(out, "\t %s\n", l->notes[r - 1]);
	}
	free(w);
}

void listing_free(struct listing *l)
{
	for (size_t i = 0; i < l->nrows * l->ncols; i++)
		free(l->cells[i]);
	for (size_t i = 0; i < l->nrows; i++)
		free(l->notes[i]);
	free(l->notes);
	free(l->cells);
	memset(l, 0, sizeof(*l));
}

void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", out); break;
		case '\\': fputs("\\\\", out); break;
		case '\n': fputs("\\n", out); break;
		case '\r': fputs("\\r", out); break;
		case '\t': fputs("\\t", out); break;
		default:
			if (*p < 0x20)
				fprintf(out, "\\u%04x", *p);
			else
				fputc(*p, out);
		}
	}
	fputc('"', out);
}

/* JSON number grammar, without exponents: -?(0|[1-9][0-9]*)(\.[0-9]+)? */
static bool is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return false;
	if (*s == '.') {
		s++;
		if (*s < '0' || *s > '9')
			return false;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

void json_auto(FILE *out, const char *s)
{
	if (is_number(s) && strlen(s) < 18)
		fputs(s, out);
	else
		json_str(out, s);
}

const char *state_color(const char *state)
{
	switch (tcp_state_from_name(state)) {
	case TCP_ESTABLISHED: return "\033[1;32m";           /* bold green */
	case TCP_SYN_SENT:
	case TCP_SYN_RECV: return "\033[33m";                /* yellow */
	case TCP_FIN_WAIT1:
	case TCP_FIN_WAIT2:
	case TCP_CLOSING: return "\033[35m";                 /* magenta */
	case TCP_TIME_WAIT: return "\033[34m";               /* blue */
	case TCP_CLOSE_WAIT:
	case TCP_LAST_ACK: return "\033[31m";                /* red */
	case TCP_LISTEN: return "\033[36m";                  /* cyan */
	case TCP_CLOSE: return "\033[2m";                    /* dim */
	default: return "";
	}
}

int cli_set_color(const char *cmd, const char *when)
{
	if (strcmp(when, "auto") == 0)
		cli.color = CLI_COLOR_AUTO;
	else if (strcmp(when, "always") == 0)
		cli.color = CLI_COLOR_ALWAYS;
	else if (strcmp(when, "never") == 0)
		cli.color = CLI_COLOR_NEVER;
	else {
		fprintf(stderr, "%s: --color %s: expected auto, always or never\n", cmd, when);
		return -1;
	}
	return 0;
}

int parse_state(const char *s)
{
	if (strcasecmp(s, "listening") == 0)
		return TCP_LISTEN;
	return tcp_state_from_name(s);
}

bool parse_port(const char *s, int *port)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return false;
	*port = (int)v;
	return true;
}

long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int run_cmd(char *const argv[], FILE *out, int timeout_ms)
{
	if (out)
		fflush(out);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (out && fileno(out) != STDOUT_FILENO)
			dup2(fileno(out), STDOUT_FILENO);
		int devnull = open("/dev/null", O_RDONLY);
		if (devnull >= 0)
			dup2(devnull, STDIN_FILENO);
		execvp(argv[0], argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* A pidfd tells when the child ends; poll bounds the wait. */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pfd >= 0) {
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		long long deadline = now_ms() + timeout_ms;
		int rc;
		do {
			long long left = deadline - now_ms();
			rc = poll(&p, 1, left > 0 ? (int)left : 0);
		} while (rc < 0 && errno == EINTR);
		close(pfd);
		if (rc == 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return 124;
		}
	}
	int st;
	if (waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
