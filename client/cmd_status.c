/* tcplab status: whether a tcplabd runs, from the ownership registry
 * (/run/tcplabd/, readable by anyone), with its pid, lab, FUSE mount,
 * history database, control socket and namespaces. Exit 3 (as LSB status)
 * when none runs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "control.h"
#include "registry.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab status [--json]\n"
		"Say whether tcplabd runs: for each running daemon its pid, lab, FUSE mount,\n"
		"history database, control socket and namespaces. Needs no privileges.\n"
		"\n"
		"  --json        an array of objects\n"
		"  -h, --help    show this help\n"
		"\n"
		"Exit status: 0 running, 3 not running (start it with `sudo tcplab up`).\n");
}

struct status {
	struct registry *reg;
	bool json;
	int daemons;
};

struct ns_list {
	const struct reg_entry *d;
	char names[1024];
	size_t len;
};

static int list_netns(const struct reg_entry *e, void *ctx)
{
	struct ns_list *l = ctx;
	if (e->kind == REG_NETNS && e->pid == l->d->pid && e->start == l->d->start &&
	    l->len + strlen(e->name) + 2 < sizeof(l->names))
		l->len += (size_t)snprintf(l->names + l->len, sizeof(l->names) - l->len, "%s%s",
					   l->len ? " " : "", e->name);
	return 0;
}

/* "lab=X mount=Y db=Z": the value of key, up to the next key. */
static void info_field(const char *info, const char *key, const char *next, char *out,
		       size_t cap)
{
	const char *p = strstr(info, key);
	out[0] = '\0';
	if (!p)
		return;
	p += strlen(key);
	const char *end = next ? strstr(p, next) : NULL;
	snprintf(out, cap, "%.*s", (int)(end ? end - p : (long)strlen(p)), p);
}

static int print_daemon(const struct reg_entry *e, void *ctx)
{
	struct status *s = ctx;
	if (e->kind != REG_DAEMON || !registry_owner_alive(e))
		return 0;
	struct ns_list ns = { .d = e };
	registry_foreach(s->reg, list_netns, &ns);
	char lab[PATH_MAX], mount[PATH_MAX], db[PATH_MAX], sock[108];
	info_field(e->info, "lab=", " mount=", lab, sizeof(lab));
	info_field(e->info, " mount=", " db=", mount, sizeof(mount));
	info_field(e->info, " db=", NULL, db, sizeof(db));
	control_socket_path((int)e->pid, sock, sizeof(sock));
	bool has_sock = access(sock, F_OK) == 0;
	if (s->json) {
		printf("%s\n {\"pid\": %d, \"lab\": ", s->daemons ? "," : "", (int)e->pid);
		json_str(stdout, lab);
		printf(", \"mount\": ");
		json_str(stdout, mount);
		printf(", \"db\": ");
		json_str(stdout, db);
		printf(", \"socket\": ");
		json_str(stdout, has_sock ? sock : "");
		printf(", \"namespaces\": [");
		char *save = NULL;
		int i = 0;
		for (char *t = strtok_r(ns.names, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
			printf("%s", i++ ? ", " : "");
			json_str(stdout, t);
		}
		printf("]}");
	} else {
		printf("tcplabd is running: pid %d, lab=%s mount=%s db=%s\n", (int)e->pid, lab,
		       mount, db);
		printf("  control socket: %s\n", has_sock ? sock : "(none: an older tcplabd)");
		printf("  namespaces: %s\n", ns.names);
	}
	s->daemons++;
	return 0;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct status s = { 0 };
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			s.json = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			fprintf(stderr, "tcplab status: unknown option %s: see tcplab status --help\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcplab status: takes no arguments: see tcplab status --help\n");
		return EXIT_USAGE;
	}
	struct registry reg;
	s.reg = &reg;
	if (s.json)
		printf("[");
	int rc = registry_open_readonly(&reg, REGISTRY_DIR);
	if (rc == 0) {
		rc = registry_foreach(&reg, print_daemon, &s);
		registry_close(&reg);
	}
	if (s.json)
		printf("%s]\n", s.daemons ? "\n" : "");
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "tcplab status: cannot read %s: %s\n", REGISTRY_DIR, strerror(-rc));
		return EXIT_FAIL;
	}
	if (s.daemons == 0) {
		if (!s.json)
			printf("tcplabd is not running: start it with `sudo tcplab up` (the default lab) or `sudo tcplab up LAB_FILE`\n");
		return EXIT_NOT_RUNNING;
	}
	return EXIT_OK;
}
