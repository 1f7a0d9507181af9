/* The client's side of the control socket (docs/control.md): finding the
 * daemon through the registry, connecting, and request/reply calls. Every
 * failure is explained in one line that says what to do. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "control.h"
#include "registry.h"

struct cli_opts cli = { .color = CLI_COLOR_AUTO };

bool cli_use_color(FILE *f)
{
	if (cli.color == CLI_COLOR_ALWAYS)
		return true;
	if (cli.color == CLI_COLOR_NEVER || getenv("NO_COLOR"))
		return false;
	const char *term = getenv("TERM");
	return isatty(fileno(f)) && !(term && strcmp(term, "dumb") == 0);
}

/* "lab=X mount=Y db=Z" (the daemon entry's info) into d. Paths may hold
 * blanks, so each value runs up to the next known key. */
static void parse_info(const char *info, struct cli_daemon *d)
{
	const char *lab = strstr(info, "lab="), *mount = strstr(info, " mount="),
		   *db = strstr(info, " db=");
	if (lab && mount && db && lab < mount && mount < db) {
		snprintf(d->lab, sizeof(d->lab), "%.*s", (int)(mount - lab - 4), lab + 4);
		snprintf(d->mount, sizeof(d->mount), "%.*s", (int)(db - mount - 7), mount + 7);
		snprintf(d->db, sizeof(d->db), "%s", db + 4);
	}
}

struct scan {
	struct cli_daemon found[8];
	int n;
	int want; /* pid, or 0 */
};

static int scan_daemon(const struct reg_entry *e, void *ctx)
{
	struct scan *s = ctx;
	if (e->kind != REG_DAEMON || !registry_owner_alive(e))
		return 0;
	if (s->want && e->pid != s->want)
		return 0;
	if (s->n < (int)(sizeof(s->found) / sizeof(s->found[0]))) {
		struct cli_daemon *d = &s->found[s->n];
		memset(d, 0, sizeof(*d));
		d->pid = (int)e->pid;
		control_socket_path(d->pid, d->socket, sizeof(d->socket));
		parse_info(e->info, d);
	}
	s->n++;
	return 0;
}

static void options_from_env(void)
{
	if (!cli.socket && getenv("TCPLAB_SOCKET") && *getenv("TCPLAB_SOCKET"))
		cli.socket = getenv("TCPLAB_SOCKET");
	if (!cli.pid && getenv("TCPLAB_PID"))
		cli.pid = atoi(getenv("TCPLAB_PID"));
}

int cli_find_daemon(struct cli_daemon *d, const char *who)
{
	options_from_env();
	memset(d, 0, sizeof(*d));
	if (cli.socket) {
		if (strlen(cli.socket) >= sizeof(d->socket)) {
			fprintf(stderr, "%s: --socket %s: path too long for a Unix socket\n", who,
				cli.socket);
			return EXIT_USAGE;
		}
		snprintf(d->socket, sizeof(d->socket), "%s", cli.socket);
		return 0;
	}
	struct registry reg;
	struct scan s = { .want = cli.pid };
	int rc = registry_open_readonly(&reg, REGISTRY_DIR);
	if (rc == 0) {
		rc = registry_foreach(&reg, scan_daemon, &s);
		registry_close(&reg);
	}
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "%s: cannot read the registry %s: %s\n", who, REGISTRY_DIR,
			strerror(-rc));
		return EXIT_FAIL;
	}
	if (s.n == 0) {
		if (cli.pid)
			fprintf(stderr, "%s: no tcplabd with pid %d is running (`tcplab status` lists them)\n",
				who, cli.pid);
		else
			fprintf(stderr,
				"%s: tcplabd is not running: start it with `sudo tcplab up` (the default lab) or `sudo tcplab up LAB_FILE`\n",
				who);
		return EXIT_NOT_RUNNING;
	}
	if (s.n > 1) {
		fprintf(stderr, "%s: %d tcplabd daemons are running (pids", who, s.n);
		for (int i = 0; i < s.n && i < 8; i++)
			fprintf(stderr, " %d", s.found[i].pid);
		fprintf(stderr, "): choose one with `tcplab --pid PID ...`\n");
		return EXIT_USAGE;
	}
	*d = s.found[0];
	return 0;
}

const char *cli_history_db(const char *given, char *buf, size_t cap)
{
	if (given)
		return given;
	options_from_env();
	struct registry reg;
	struct scan s = { .want = cli.pid };
	if (!cli.socket && registry_open_readonly(&reg, REGISTRY_DIR) == 0) {
		registry_foreach(&reg, scan_daemon, &s);
		registry_close(&reg);
		if (s.n == 1 && s.found[0].db[0]) {
			snprintf(buf, cap, "%s", s.found[0].db);
			return buf;
		}
	}
	return "/var/lib/tcplab/history.db";
}

/* ---- records ---- */

const char *rec_get(const struct cli_rec *rec, const char *key)
{
	for (unsigned i = 0; i < rec->n; i++)
		if (rec->w[i].key && strcmp(rec->w[i].key, key) == 0)
			return rec->w[i].val;
	return NULL;
}

const char *rec_str(const struct cli_rec *rec, const char *key, const char *dflt)
{
	const char *v = rec_get(rec, key);
	return v ? v : dflt;
}

static void rec_free(struct cli_rec *r)
{
	free(r->buf);
	free(r->w);
	r->buf = NULL;
	r->w = NULL;
	r->n = 0;
}

void reply_free(struct cli_reply *rep)
{
	for (size_t i = 0; i < rep->n; i++)
		rec_free(&rep->rows[i]);
	free(rep->rows);
	rec_free(&rep->fin);
	free(rep->msg);
	memset(rep, 0, sizeof(*rep));
}

/* Splits a line (taking ownership) into rec. */
static int rec_parse(char *line, struct cli_rec *rec)
{
	struct ctl_line *l = malloc(sizeof(*l));
	if (!l) {
		free(line);
		return -ENOMEM;
	}
	int rc = ctl_split(line, l);
	if (rc == 0) {
		rec->w = malloc(sizeof(*rec->w) * (l->n ? l->n : 1));
		if (!rec->w)
			rc = -ENOMEM;
	}
	if (rc < 0) {
		free(l);
		free(line);
		return rc;
	}
	memcpy(rec->w, l->w, sizeof(*rec->w) * l->n);
	rec->n = l->n;
	rec->buf = line;
	free(l);
	return 0;
}

/* ---- the connection ---- */

int cli_connect(struct cli_conn *c, const char *who)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->who = who;
	int rc = cli_find_daemon(&c->d, who);
	if (rc)
		return rc;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, c->d.socket, strlen(c->d.socket) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", who, strerror(errno));
		return EXIT_FAIL;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		close(fd);
		if (e == EACCES || e == EPERM)
			fprintf(stderr,
				"%s: permission denied on %s: the control socket is mode 0600 and belongs to tcplabd's user (root), because it drives the lab; run `sudo tcplab ...`\n",
				who, c->d.socket);
		else if (e == ENOENT || e == ECONNREFUSED)
			fprintf(stderr,
				"%s: tcplabd%s%.0d does not answer on %s (%s): it is stopping or crashed; see `tcplab status`, start one with `sudo tcplab up`\n",
				who, c->d.pid ? " pid " : "", c->d.pid, c->d.socket, strerror(e));
		else
			fprintf(stderr, "%s: cannot connect to %s: %s\n", who, c->d.socket, strerror(e));
		return e == EACCES || e == EPERM ? EXIT_FAIL : EXIT_NOT_RUNNING;
	}
	int fd2 = fcntl(fd, F_DUPFD_CLOEXEC, 0); /* children must not hold the session */
	c->in = fd2 >= 0 ? fdopen(fd2, "r") : NULL;
	if (!c->in) {
		if (fd2 >= 0)
			close(fd2);
		close(fd);
		fprintf(stderr, "%s: out of memory\n", who);
		return EXIT_FAIL;
	}
	c->fd = fd;
	/* A daemon that goes away mid-write must not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	/* Mount and db come from the daemon itself (exact, even with --socket). */
	struct strbuf req = { 0 };
	struct cli_reply rep = { 0 };
	req_begin(&req, "status");
	if (ctl_call(c, &req, &rep) == 0) {
		const char *v;
		if ((v = rec_get(&rep.fin, "pid")))
			c->d.pid = atoi(v);
		if ((v = rec_get(&rep.fin, "mount")))
			snprintf(c->d.mount, sizeof(c->d.mount), "%s", v);
		if ((v = rec_get(&rep.fin, "lab")))
			snprintf(c->d.lab, sizeof(c->d.lab), "%s", v);
		if ((v = rec_get(&rep.fin, "db")))
			snprintf(c->d.db, sizeof(c->d.db), "%s", strcmp(v, "-") ? v : "");
	}
	reply_free(&rep);
	return 0;
}

void cli_close(struct cli_conn *c)
{
	if (c->in)
		fclose(c->in);
	if (c->fd >= 0)
		close(c->fd);
	c->in = NULL;
	c->fd = -1;
}

void req_begin(struct strbuf *sb, const char *verb)
{
	sb_append(sb, verb, strlen(verb));
}

void req_pos(struct strbuf *sb, const char *word)
{
	sb_append(sb, " ", 1);
	ctl_escape(sb, word, strlen(word));
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int ctl_call(struct cli_conn *c, struct strbuf *req, struct cli_reply *rep)
{
	memset(rep, 0, sizeof(*rep));
	sb_append(req, "\n", 1);
	int rc = req->failed ? -ENOMEM : write_all(c->fd, req->p, req->len);
	sb_free(req);
	if (rc < 0) {
		rep->msg = strdup("the connection to tcplabd was lost (did it stop?)");
		return rep->err = -EIO;
	}
	for (;;) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n = getline(&line, &cap, c->in);
		if (n <= 0) {
			free(line);
			rep->msg = strdup("the connection to tcplabd was lost (did it stop?)");
			return rep->err = -EIO;
		}
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strncmp(line, "- ", 2) == 0 || strcmp(line, "-") == 0) {
			if (rep->n == rep->cap) {
				size_t ncap = rep->cap ? rep->cap * 2 : 16;
				struct cli_rec *r = realloc(rep->rows, ncap * sizeof(*r));
				if (!r) {
					free(line);
					rep->msg = strdup("out of memory");
					return rep->err = -ENOMEM;
				}
				rep->rows = r;
				rep->cap = ncap;
			}
			struct cli_rec *rec = &rep->rows[rep->n];
			memset(rec, 0, sizeof(*rec));
			if (rec_parse(line, rec) == 0)
				rep->n++;
			continue;
		}
		if (strncmp(line, "ERR ", 4) == 0) {
			char *name = line + 4, *sp = strchr(name, ' ');
			if (sp)
				*sp = '\0';
			snprintf(rep->errname, sizeof(rep->errname), "%s", name);
			rep->msg = strdup(sp ? sp + 1 : "");
			int e = ctl_errno_from_name(name);
			free(line);
			return rep->err = -(e ? e : EIO);
		}
		if (strncmp(line, "OK", 2) == 0 && (line[2] == '\0' || line[2] == ' ')) {
			rec_parse(line, &rep->fin);
			return 0;
		}
		free(line); /* not ours to understand: a newer daemon's line */
	}
}

int ctl_call_or_say(struct cli_conn *c, struct strbuf *req, struct cli_reply *rep)
{
	int rc = ctl_call(c, req, rep);
	if (rc == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", c->who, rep->msg ? rep->msg : "failed");
	return EXIT_FAIL;
}
