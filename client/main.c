/* tcplab: the command-line client. `status` answers whether a tcplabd is
 * running, from the ownership registry (/run/tcplabd/); `sql` and `history`
 * read the connection history (client/cmd_*.c, SQLite opened read-only);
 * the control socket and FUSE view come with later issues.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage, 3 tcplabd is not running (as LSB
 * status). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "registry.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplab COMMAND\n"
		"Talk to tcplabd, the tcplab lab daemon.\n"
		"\n"
		"Commands:\n"
		"  status          say whether tcplabd runs, with its pid, lab and namespaces\n"
		"  sql \"SELECT..\"  query the connection history, read-only (--json, --csv)\n"
		"  history         per-connection timelines (--state S, --port P, --since T)\n"
		"\n"
		"Options:\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n"
		"\n"
		"Exit status: 0 ok, 2 usage error, 3 tcplabd is not running.\n");
}

struct status {
	struct registry *reg;
	int daemons;
};

static int list_netns(const struct reg_entry *e, void *ctx)
{
	const struct reg_entry *d = ctx;
	if (e->kind == REG_NETNS && e->pid == d->pid && e->start == d->start)
		printf(" %s", e->name);
	return 0;
}

static int print_daemon(const struct reg_entry *e, void *ctx)
{
	struct status *s = ctx;
	if (e->kind != REG_DAEMON || !registry_owner_alive(e))
		return 0;
	s->daemons++;
	printf("tcplabd is running: pid %d, %s\n", (int)e->pid, e->info);
	printf("  namespaces:");
	registry_foreach(s->reg, list_netns, (void *)e);
	printf("\n");
	return 0;
}

static int cmd_status(void)
{
	struct registry reg;
	struct status s = { .reg = &reg };
	int rc = registry_open_readonly(&reg, REGISTRY_DIR);
	if (rc == 0) {
		rc = registry_foreach(&reg, print_daemon, &s);
		registry_close(&reg);
	}
	if (rc < 0 && rc != -ENOENT) {
		fprintf(stderr, "tcplab: cannot read %s: %s\n", REGISTRY_DIR, strerror(-rc));
		return 1;
	}
	if (s.daemons == 0) {
		printf("tcplabd is not running: start it with `tcplabd` (as root)\n");
		return 3;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("tcplab %s\n", TL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "status") == 0) {
		if (argc > 2) {
			fprintf(stderr, "tcplab: status takes no arguments: see tcplab --help\n");
			return 2;
		}
		return cmd_status();
	}
	if (strcmp(cmd, "sql") == 0)
		return cmd_sql(argc - 1, argv + 1);
	if (strcmp(cmd, "history") == 0)
		return cmd_history(argc - 1, argv + 1);
	fprintf(stderr, "tcplab: unknown command '%s': see tcplab --help\n", cmd);
	return 2;
}
