/* Ownership registry (daemon/registry.c) in a private temp directory:
 * claims are exclusive, owners are identified by pid AND start time (so a
 * recycled pid is dead), and the sweep removes dead entries only. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "registry.h"

struct fixture {
	char dir[64];
	struct registry reg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/tl-registry-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	if (registry_open(&f->reg, f->dir) < 0)
		return -1;
	log_init("test_registry", LOG_LVL_ERR);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	registry_close(&f->reg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Writes an entry by hand, as another (possibly dead) daemon would have. */
static void plant(struct fixture *f, const char *file, pid_t pid, uint64_t start,
		  const char *kind, const char *name)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fprintf(fp, "pid %d\nstart %" PRIu64 "\nkind %s\nname %s\ninfo planted\n", (int)pid,
		start, kind, name);
	fclose(fp);
}

static bool exists(struct fixture *f, const char *file)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	return access(path, F_OK) == 0;
}

static void test_registry_claim_is_exclusive_and_names_us(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(registry_claim(&f->reg, REG_NETNS, "tl-a", "host=peer"), 0);
	assert_int_equal(registry_claim(&f->reg, REG_NETNS, "tl-a", "again"), -EEXIST);

	struct reg_entry e;
	assert_int_equal(registry_find(&f->reg, REG_NETNS, "tl-a", &e), 0);
	assert_int_equal(e.pid, getpid());
	assert_int_equal(e.kind, REG_NETNS);
	assert_string_equal(e.name, "tl-a");
	assert_string_equal(e.info, "host=peer");
	assert_true(registry_owner_alive(&e));

	assert_int_equal(registry_release(&f->reg, REG_NETNS, "tl-a"), 0);
	assert_int_equal(registry_find(&f->reg, REG_NETNS, "tl-a", &e), -ENOENT);
}

/* A mount path becomes one file name and reads back unchanged. */
static void test_registry_mount_path_round_trip(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(registry_claim(&f->reg, REG_MOUNT, "/run/tc lab", NULL), 0);
	assert_true(exists(f, "mount.%2Frun%2Ftc%20lab"));
	struct reg_entry e;
	assert_int_equal(registry_find(&f->reg, REG_MOUNT, "/run/tc lab", &e), 0);
	assert_string_equal(e.name, "/run/tc lab");
}

/* Our own pid with another start time is a recycled pid: not the owner. */
static void test_registry_recycled_pid_is_dead(void **state)
{
	struct fixture *f = *state;
	uint64_t start;
	assert_int_equal(proc_start_time(getpid(), &start), 0);
	plant(f, "daemon.recycled", getpid(), start + 1, "daemon", "recycled");
	struct reg_entry e;
	assert_int_equal(registry_find(&f->reg, REG_DAEMON, "recycled", &e), 0);
	assert_false(registry_owner_alive(&e));
	plant(f, "daemon.same", getpid(), start, "daemon", "same");
	assert_int_equal(registry_find(&f->reg, REG_DAEMON, "same", &e), 0);
	assert_true(registry_owner_alive(&e));
}

/* The sweep removes entries of dead owners (here: namespaces that no
 * longer exist, so no ip(8) runs) and keeps live ones. */
static void test_registry_sweep_removes_dead_entries_only(void **state)
{
	struct fixture *f = *state;
	uint64_t start;
	assert_int_equal(proc_start_time(getpid(), &start), 0);
	char gone[64];
	snprintf(gone, sizeof(gone), "tl-unit-gone-%d", (int)getpid());
	char file[96];
	snprintf(file, sizeof(file), "netns.%s", gone);
	plant(f, file, getpid(), start + 7, "netns", gone);
	plant(f, "daemon.999999", 999999, 1, "daemon", "999999");
	assert_int_equal(registry_claim(&f->reg, REG_DAEMON, "live", NULL), 0);

	assert_int_equal(registry_lock(&f->reg), 0);
	assert_true(registry_sweep(&f->reg) >= 0);
	registry_unlock(&f->reg);

	assert_false(exists(f, file));
	assert_false(exists(f, "daemon.999999"));
	assert_true(exists(f, "daemon.live"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_registry_claim_is_exclusive_and_names_us,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_registry_mount_path_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_registry_recycled_pid_is_dead, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_registry_sweep_removes_dead_entries_only,
						setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
