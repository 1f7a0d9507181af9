/* tcplabd: the lab daemon. Runs in the foreground (systemd style, logging to
 * stderr), builds the lab (namespaces, TAPs, stack hosts), serves it from a
 * libevent loop until SIGINT/SIGTERM, then tears everything down and exits
 * 0. Each start-up failure is one log line saying what is wrong and what to
 * do, and leaves nothing behind.
 *
 * Start-up order: arguments and lab file (no side effects), privileges and
 * /dev/net/tun, then under the registry lock: refuse namespaces a live
 * daemon owns, sweep what crashed daemons left, check the mount point,
 * build the lab. */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "control.h"
#include "fsview.h"
#include "lab.h"
#include "lab_file.h"
#include "log.h"
#include "loop.h"
#include "mounts.h"
#include "notify.h"
#include "pktbuf.h"
#include "recorder.h"
#include "registry.h"
#include "report.h"
#include "stack.h"

#define DEFAULT_MOUNT "/run/tcplab"
#define DEFAULT_DB "/var/lib/tcplab/history.db"

struct options {
	const char *lab_path; /* NULL: the built-in default lab */
	const char *mount_dir;
	const char *db_path;  /* history database */
	bool no_history;
	struct rec_options history;
	int ready_fd;         /* -1: none */
	bool verbose;
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: tcplabd [OPTION]...\n"
		"Run a tcplab lab: Linux network namespaces wired through TAP devices to\n"
		"userspace TCP/IP stack hosts. Runs in the foreground; stop with Ctrl-C or\n"
		"SIGTERM, which tears the lab down. SIGUSR1 logs every host's counters.\n"
		"\n"
		"  --lab FILE      lab description (default: the built-in lab, see\n"
		"                  labs/default.lab and docs/labs.md)\n"
		"  --mount DIR     where the procfs-style view is mounted (default\n"
		"                  " DEFAULT_MOUNT "; created if missing; must not be a mount\n"
		"                  point; see docs/fsview.md)\n"
		"  --db FILE       history database (default " DEFAULT_DB "; see\n"
		"                  docs/history.md, `tcplab history`, `tcplab sql`)\n"
		"  --no-history    record no history\n"
		"  --history-batch-ms N   commit the history at least every N ms\n"
		"                  (default 100: what a crash may lose)\n"
		"  --history-max-age S    drop history older than S seconds (0 = keep)\n"
		"  --history-max-rows N   keep about N transition rows (0 = all)\n"
		"  --ready-fd N    write \"READY=1\\n\" to fd N and close it once the lab is up\n"
		"  -v, --verbose   debug logging (connection state changes, ip commands)\n"
		"  -h, --help      show this help\n"
		"  -V, --version   show the version\n"
		"\n"
		"Needs root (network namespaces, TAP devices). Also notifies systemd\n"
		"(READY=1) when NOTIFY_SOCKET is set.\n");
}

/* Returns 0 to go on, or an exit status (parse errors: 2, --help: 0). */
static int parse_args(int argc, char **argv, struct options *o, bool *done)
{
	enum { OPT_LAB = 256, OPT_MOUNT, OPT_DB, OPT_READY_FD, OPT_NO_HISTORY, OPT_BATCH,
	       OPT_MAX_AGE, OPT_MAX_ROWS };
	static const struct option longopts[] = {
		{ "lab", required_argument, NULL, OPT_LAB },
		{ "mount", required_argument, NULL, OPT_MOUNT },
		{ "db", required_argument, NULL, OPT_DB },
		{ "ready-fd", required_argument, NULL, OPT_READY_FD },
		{ "no-history", no_argument, NULL, OPT_NO_HISTORY },
		{ "history-batch-ms", required_argument, NULL, OPT_BATCH },
		{ "history-max-age", required_argument, NULL, OPT_MAX_AGE },
		{ "history-max-rows", required_argument, NULL, OPT_MAX_ROWS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	*done = false;
	opterr = 0; /* our own one-line messages instead of getopt's */
	int c;
	while ((c = getopt_long(argc, argv, ":vhV", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_LAB:
			o->lab_path = optarg;
			break;
		case OPT_MOUNT:
			o->mount_dir = optarg;
			break;
		case OPT_DB:
			o->db_path = optarg;
			break;
		case OPT_READY_FD: {
			char *end;
			errno = 0;
			long fd = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || fd < 0 || fd > INT_MAX) {
				log_err("--ready-fd %s: expected a file descriptor number", optarg);
				return 2;
			}
			o->ready_fd = (int)fd;
			break;
		}
		case OPT_NO_HISTORY:
			o->no_history = true;
			break;
		case OPT_BATCH:
		case OPT_MAX_AGE:
		case OPT_MAX_ROWS: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || optarg[0] == '-' ||
			    (c == OPT_BATCH && (v < 1 || v > 60000))) {
				log_err("--history-%s %s: expected a number%s",
					c == OPT_BATCH	   ? "batch-ms"
					: c == OPT_MAX_AGE ? "max-age"
							   : "max-rows",
					optarg, c == OPT_BATCH ? " of milliseconds, 1..60000" : "");
				return 2;
			}
			if (c == OPT_BATCH)
				o->history.batch_ms = (unsigned)v;
			else if (c == OPT_MAX_AGE)
				o->history.max_age_s = v;
			else
				o->history.max_transitions = v;
			break;
		}
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			usage(stdout);
			*done = true;
			return 0;
		case 'V':
			printf("tcplabd %s\n", TL_VERSION);
			*done = true;
			return 0;
		case ':':
			log_err("option %s needs a value: see tcplabd --help", argv[optind - 1]);
			return 2;
		default:
			log_err("unknown option %s: see tcplabd --help", argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		log_err("unexpected argument '%s': see tcplabd --help", argv[optind]);
		return 2;
	}
	return 0;
}

static int load_lab(const struct options *o, struct lab_config *cfg)
{
	struct lab_error err;
	int rc = o->lab_path ? lab_load(o->lab_path, cfg, &err) : lab_load_default(cfg, &err);
	if (rc == 0)
		return 0;
	const char *name = o->lab_path ? o->lab_path : "(built-in default lab)";
	if (err.line > 0)
		log_err("bad lab file %s, line %d: %s", name, err.line, err.msg);
	else
		log_err("bad lab file %s: %s", name, err.msg);
	return -EINVAL;
}

static int check_host(void)
{
	if (geteuid() != 0) {
		log_err("tcplabd must run as root: it creates network namespaces and TAP devices; try `sudo tcplabd`");
		return -EPERM;
	}
	struct stat sb;
	if (stat("/dev/net/tun", &sb) < 0 || !S_ISCHR(sb.st_mode) ||
	    major(sb.st_rdev) != 10 || minor(sb.st_rdev) != 200) {
		log_err("no /dev/net/tun: load the tun module (`modprobe tun`); in a container, pass /dev/net/tun through");
		return -ENODEV;
	}
	return 0;
}

static int check_mount_dir(struct registry *reg, const char *dir)
{
	char fstype[64];
	int rc = mount_point_info(dir, fstype, sizeof(fstype));
	if (rc < 0) {
		log_err("cannot inspect --mount %s: %s", dir, strerror(-rc));
		return rc;
	}
	if (rc == 0)
		return 0;
	char real[PATH_MAX];
	struct reg_entry e;
	if (realpath(dir, real) && registry_find(reg, REG_MOUNT, real, &e) == 0 &&
	    registry_owner_alive(&e))
		log_err("mount point busy: %s is in use by the running tcplabd pid %d; stop it or pass another --mount DIR",
			dir, (int)e.pid);
	else
		log_err("mount point busy: %s is already a mount point (%s); unmount it or pass another --mount DIR",
			dir, fstype);
	return -EBUSY;
}

/* Everything that must happen under the registry lock before the loop. */
static int start_lab(const struct options *o, const struct lab_config *cfg,
		     struct registry *reg, struct lab **lab)
{
	struct lab_conflict conflict;
	if (lab_check_names(cfg, reg, &conflict) < 0) {
		log_err("namespace name taken: %s belongs to the running tcplabd pid %d; stop it (`kill %d`) or rename netns in the lab file",
			conflict.netns, conflict.pid, conflict.pid);
		return -EBUSY;
	}
	int rc = registry_sweep(reg);
	if (rc < 0)
		log_warn("cannot sweep the registry %s: %s", reg->dir, strerror(-rc));
	if (lab_remove_orphans(cfg, reg) < 0) {
		log_err("a namespace of the lab exists and cannot be removed: delete it with `ip netns delete NAME` and retry");
		return -EBUSY;
	}
	if ((rc = check_mount_dir(reg, o->mount_dir)) < 0)
		return rc;

	char pid[16], info[PATH_MAX * 2 + 64];
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(info, sizeof(info), "lab=%s mount=%s db=%s",
		 o->lab_path ? o->lab_path : "default", o->mount_dir, o->db_path);
	rc = registry_claim(reg, REG_DAEMON, pid, info);
	if (rc < 0) {
		log_err("cannot write to %s: %s", reg->dir, strerror(-rc));
		return rc;
	}
	char err[512];
	rc = lab_up(lab, cfg, reg, loop_now(), err, sizeof(err));
	if (rc < 0) {
		log_err("cannot build the lab: %s", err);
		registry_release(reg, REG_DAEMON, pid);
		return rc;
	}
	return 0;
}

static void log_ready(const struct options *o, const struct lab *lab)
{
	char line[1024];
	size_t len = 0;
	for (unsigned i = 0; i < lab->n_segs && len + 1 < sizeof(line); i++) {
		char seg[512];
		lab_seg_describe(&lab->segs[i], seg, sizeof(seg));
		int n = snprintf(line + len, sizeof(line) - len, "%s%s", i ? "; " : "", seg);
		len = n < 0 ? len : TL_MIN(len + (size_t)n, sizeof(line) - 1);
	}
	log_info("ready (pid %d, lab %s): %s", (int)getpid(),
		 o->lab_path ? o->lab_path : "default", line);
}

/* The FUSE view (fsview/, docs/fsview.md): mounted before readiness and
 * recorded in the registry (REG_MOUNT) so that the next start unmounts
 * what a crashed daemon left; unmounted at exit. */
struct view {
	struct fsview *fv;
	char path[PATH_MAX]; /* realpath of --mount, the registry name */
	bool made_dir;       /* we created the directory: remove it at exit */
	bool claimed;
	struct recorder *rec; /* tunable changes go to the history (NULL: none) */
};

static void view_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	log_at((enum log_level)level, "%s", line);
}

static void view_tunable_changed(void *ctx, struct stack *st, const char *dir,
				 const char *name, const char *old_value,
				 const char *new_value, tl_usec_t now)
{
	struct view *v = ctx;
	if (!v->rec)
		return;
	char dotted[96]; /* the sysctl spelling: net.ipv4.tcp_syn_retries */
	snprintf(dotted, sizeof(dotted), "%s/%s", dir, name);
	for (char *p = dotted; *p; p++)
		if (*p == '/')
			*p = '.';
	rec_tunable_change(v->rec, stack_config(st)->host_id, dotted, old_value, new_value,
			   "fuse", now);
}

static void view_serve(void *ctx, tl_usec_t now)
{
	fsv_serve(ctx, now);
}

static void view_on_event(void *ctx, unsigned wire, const struct tl_event *ev)
{
	fsv_on_event(ctx, wire, ev);
}

/* Under the registry lock: creates the mount directory if needed, claims
 * it and mounts the view with the lab's hosts and links. */
/* The pipelines links/<link>/ shows: a wire of a kernel and a stack
 * host by direction, as lab files name them (to_stack, to_kernel); any
 * other link by sender (from_<host>), since each sender has its own. */
static void view_link_pipes(struct lab_segment *seg, struct fsv_link_source *src)
{
	const struct lab_port *stack = NULL, *kernel = NULL;
	for (unsigned p = 0; p < seg->n_ports; p++) {
		if (seg->ports[p].kind == LAB_PORT_STACK)
			stack = &seg->ports[p];
		else if (seg->ports[p].kind != LAB_PORT_ROUTER)
			kernel = &seg->ports[p];
	}
	if (seg->n_ports == 2 && stack && kernel) {
		src->pipes[0] = (struct fsv_link_pipe){ "to_stack", lab_wire_dir(stack->wire, LAB_TO_STACK) };
		src->pipes[1] = (struct fsv_link_pipe){ "to_kernel", lab_wire_dir(stack->wire, LAB_TO_KERNEL) };
		src->n_pipes = 2;
		return;
	}
	for (unsigned p = 0; p < seg->n_ports && src->n_pipes < FSV_LINK_PIPES_MAX; p++) {
		struct fsv_link_pipe *pipe = &src->pipes[src->n_pipes++];
		snprintf(pipe->name, sizeof(pipe->name), "from_%s", seg->ports[p].host->name);
		pipe->ld = &seg->ports[p].in;
	}
}

static int view_start(struct view *v, const char *dir, struct registry *reg,
		      struct lab *lab)
{
	if (mkdir(dir, 0755) == 0)
		v->made_dir = true;
	else if (errno != EEXIST) {
		log_err("cannot create --mount %s: %s; create it or pass another --mount DIR", dir,
			strerror(errno));
		return -EIO;
	}
	if (!realpath(dir, v->path)) {
		log_err("cannot resolve --mount %s: %s", dir, strerror(errno));
		return -EIO;
	}
	static const struct fsv_hooks hooks_template = { .log = view_log,
							 .tunable_changed = view_tunable_changed };
	struct fsv_hooks hooks = hooks_template;
	hooks.ctx = v;
	v->fv = fsv_new(&hooks);
	if (!v->fv) {
		log_err("out of memory");
		return -ENOMEM;
	}
	/* Hosts in wire order (fsv_on_event's index is the wire's). */
	for (unsigned i = 0; i < lab->n_wires; i++) {
		struct lab_wire *w = &lab->wires[i];
		if (fsv_add_host(v->fv, w->host->name, w->st) < 0) {
			log_err("cannot show host %s in the view (too many, or a duplicate name)",
				w->host->name);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < lab->n_segs; i++) {
		struct lab_segment *seg = &lab->segs[i];
		struct fsv_link_source src = { .mtu = seg->link->mtu,
					       .to_peer_dropped = &seg->tx_dropped,
					       .from_peer_errors = &seg->rx_errors,
					       .from_peer_nobuf = &seg->rx_nobuf,
					       .from_peer_bad_vnet = &seg->rx_bad_vnet };
		view_link_pipes(seg, &src);
		lab_seg_describe(seg, src.endpoints, sizeof(src.endpoints));
		if (fsv_add_link(v->fv, seg->link->name, &src) < 0) {
			log_err("cannot show link %s in the view (too many, or a duplicate name)",
				seg->link->name);
			return -EINVAL;
		}
	}
	for (unsigned i = 0; i < lab->n_routers; i++) {
		const struct lab_router *lr = &lab->cfg.routers[i];
		struct fsv_router_source src = { .r = lab->routers[i] };
		for (unsigned k = 0; k < lr->n_ifs && k < FSV_ROUTER_IFS_MAX; k++)
			snprintf(src.ifnames[k], sizeof(src.ifnames[k]), "%s",
				 lab->cfg.links[lab->cfg.hosts[lr->ifs[k]].link].name);
		if (fsv_add_router(v->fv, lr->name, &src) < 0) {
			log_err("cannot show router %s in the view (too many, or a duplicate name)",
				lr->name);
			return -EINVAL;
		}
	}
	int rc = registry_claim(reg, REG_MOUNT, v->path, "fsview");
	if (rc < 0) {
		log_err("cannot record the mount %s in %s: %s", v->path, reg->dir, strerror(-rc));
		return rc;
	}
	v->claimed = true;
	char err[512];
	rc = fsv_mount(v->fv, v->path, err, sizeof(err));
	if (rc < 0) {
		log_err("cannot mount the view: %s", err);
		return rc;
	}
	return 0;
}

static int view_attach(struct view *v, struct loop *lp, struct recorder *rec)
{
	v->rec = rec;
	struct loop_view lv = { .ctx = v->fv, .fd = fsv_fd(v->fv), .serve = view_serve,
				.on_event = view_on_event };
	int rc = loop_attach_view(lp, &lv);
	if (rc < 0)
		log_err("cannot serve the view from the event loop: %s", strerror(-rc));
	return rc;
}

/* Under the registry lock: unmounts, releases the claim, removes the
 * directory if we made it. Safe after a partial view_start. */
static void view_stop(struct view *v, struct registry *reg)
{
	fsv_free(v->fv);
	v->fv = NULL;
	if (v->claimed)
		registry_release(reg, REG_MOUNT, v->path);
	v->claimed = false;
	if (v->made_dir && rmdir(v->path) < 0)
		log_warn("cannot remove the mount directory %s: %s", v->path, strerror(errno));
	v->made_dir = false;
}

int main(int argc, char **argv)
{
	struct options o = { .mount_dir = DEFAULT_MOUNT, .db_path = DEFAULT_DB,
			     .ready_fd = -1 };
	log_init("tcplabd", LOG_LVL_INFO);
	bool done;
	int status = parse_args(argc, argv, &o, &done);
	if (status || done)
		return status;
	if (o.verbose)
		log_init("tcplabd", LOG_LVL_DEBUG);

	/* Signals wait until the loop can handle them: a SIGTERM while the lab
	 * is half built must not leave namespaces behind. A closed --ready-fd
	 * reader must not kill us either. */
	signal(SIGPIPE, SIG_IGN);
	sigset_t sigs, old;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigprocmask(SIG_BLOCK, &sigs, &old);

	struct lab_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		log_err("out of memory");
		return 1;
	}
	struct registry reg;
	struct lab *lab = NULL;
	struct loop *lp = NULL;
	struct view view = { .fv = NULL };
	struct recorder *rec = NULL;
	struct control *ctl = NULL;
	char err[512];
	status = 1;

	if (load_lab(&o, cfg) < 0 || check_host() < 0)
		goto out_cfg;
	if (o.ready_fd >= 0 && notify_check_fd(o.ready_fd) < 0) {
		log_err("--ready-fd %d is not an open file descriptor: open it in the caller (e.g. `3>FILE`)",
			o.ready_fd);
		goto out_cfg;
	}
	int rc = registry_open(&reg, REGISTRY_DIR);
	if (rc < 0) {
		log_err("cannot create the registry %s: %s", REGISTRY_DIR, strerror(-rc));
		goto out_cfg;
	}
	if ((rc = registry_lock(&reg)) < 0) {
		log_err("cannot lock the registry %s: %s", REGISTRY_DIR, strerror(-rc));
		goto out_reg;
	}
	if (start_lab(&o, cfg, &reg, &lab) < 0)
		goto out_reg;
	if (view_start(&view, o.mount_dir, &reg, lab) < 0)
		goto out_lab;
	registry_unlock(&reg);

	if (!o.no_history) {
		o.history.lab = o.lab_path ? o.lab_path : "default";
		rec = rec_open(o.db_path, &o.history, err, sizeof(err));
		if (!rec) {
			log_err("cannot open the history database: %s", err);
			goto out_lab;
		}
	}
	lp = loop_new(lab, rec, err, sizeof(err));
	if (!lp) {
		log_err("cannot start the event loop: %s", err);
		goto out_lab;
	}
	if (view_attach(&view, lp, rec) < 0)
		goto out_lab;
	/* The client's way in (docs/control.md). */
	struct control_info ci = { .lab = o.lab_path ? o.lab_path : "default", .mount = view.path,
				   .db = o.no_history ? NULL : o.db_path };
	if (!(ctl = control_start(lp, lab, rec, &ci, err, sizeof(err)))) {
		log_err("cannot open the control socket: %s", err);
		goto out_lab;
	}
	/* The ready line first: whoever waits for readiness may read the log
	 * at once. */
	log_ready(&o, lab);
	if (notify_ready(o.ready_fd) < 0)
		log_warn("could not deliver the readiness notification: %s", strerror(errno));
	o.ready_fd = -1;

	sigprocmask(SIG_SETMASK, &old, NULL);
	int why = loop_run(lp);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	status = why > 0 ? 0 : 1;
	notify_systemd("STOPPING=1");

	for (unsigned i = 0; i < lab->n_wires; i++)
		report_drops(lab->wires[i].host->name, stack_counters(lab->wires[i].st));

out_lab:
	control_stop(ctl); /* closes the handles clients made, before the stacks go */
	if (lp) {
		/* The services' listeners and connections end now; the flush
		 * takes those last transitions to the view and the history. */
		lab_stop_services(lab, loop_now());
		loop_flush(lp);
	}
	loop_free(lp);
	rec_close(rec); /* writes everything queued: SIGTERM loses no history */
	registry_lock(&reg);
	view_stop(&view, &reg);
	lab_down(lab);
	{
		char pid[16];
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		registry_release(&reg, REG_DAEMON, pid);
	}
	if (status == 0)
		log_info("stopped; lab torn down");
out_reg:
	registry_close(&reg);
out_cfg:
	if (o.ready_fd >= 0)
		close(o.ready_fd); /* EOF tells the waiter we did not make it */
	free(cfg);
	pktbuf_pool_drain();
	libevent_global_shutdown();
	return status;
}
