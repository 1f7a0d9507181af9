/* The loop side of the FUSE view (fsview/render.c, tree.c) on a real
 * stack host driven by the TCP harness: tunable writes with Linux's
 * /proc/sys rules (and their effect on the wire), /proc/net/tcp and the
 * per-connection files, timelines fed from the stack's events, the
 * `events` line format and inode numbers. */
#include "tcp_harness.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>

#include "render.h"
#include "tcp_procfs.h"
#include "tcp_tunables.h"
#include "link.h"
#include "router.h"
#include "tree.h"

/* The state of a one-host view plus what its hooks saw. */
struct view_fixture {
	struct harness *h;
	struct fsv_state s;
	int log_lines;
	char last_log[512];
	int changes;
	char old_value[64], new_value[64], changed_name[64];
};

static void capture_log(void *ctx, int level, const char *line)
{
	(void)level;
	struct view_fixture *f = ctx;
	f->log_lines++;
	snprintf(f->last_log, sizeof(f->last_log), "%s", line);
}

static void capture_change(void *ctx, struct stack *st, const char *dir, const char *name,
			   const char *old_value, const char *new_value, tl_usec_t now)
{
	(void)st;
	(void)dir;
	(void)now;
	struct view_fixture *f = ctx;
	f->changes++;
	snprintf(f->changed_name, sizeof(f->changed_name), "%s", name);
	snprintf(f->old_value, sizeof(f->old_value), "%s", old_value);
	snprintf(f->new_value, sizeof(f->new_value), "%s", new_value);
}

static int setup(void **state)
{
	struct view_fixture *f = calloc(1, sizeof(*f));
	f->h = h_new();
	pthread_mutex_init(&f->s.vars.lock, NULL);
	f->s.n_hosts = 1;
	snprintf(f->s.hosts[0].name, FSV_NAME_MAX, "stack");
	f->s.hosts[0].st = f->h->st;
	f->s.hosts[0].ids_dirty = true;
	f->s.hooks = (struct fsv_hooks){ .ctx = f, .log = capture_log,
					 .tunable_changed = capture_change };
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct view_fixture *f = *state;
	fsv_state_fini(&f->s);
	pthread_mutex_destroy(&f->s.vars.lock);
	h_free(f->h);
	free(f);
	return 0;
}

/* Hands the events the harness collected to the view, as the loop does. */
static void feed_events(struct view_fixture *f)
{
	for (unsigned i = 0; i < f->h->ev_count; i++)
		fsv_state_on_event(&f->s, 0, &f->h->ev[i]);
	f->h->ev_count = f->h->ev_read = 0;
}

static struct fsv_node tunable_node(const char *dir, const char *name)
{
	const struct tcp_tunable *t = tcp_tunable_find(dir, name);
	assert_non_null(t);
	for (size_t i = 0; i < tcp_tunable_count(); i++)
		if (tcp_tunable_at(i) == t)
			return (struct fsv_node){ .row = FSV_TUNABLE, .obj = 0, .sub = (uint8_t)i };
	fail();
	return (struct fsv_node){ 0 };
}

/* Renders n into a NUL-terminated string the caller frees. */
static char *render(struct view_fixture *f, const struct fsv_node *n, int *rc)
{
	struct strbuf out = { 0 };
	*rc = fsv_row(n->row)->render(&f->s, n, f->h->now, &out);
	if (*rc < 0) {
		sb_free(&out);
		return NULL;
	}
	sb_append(&out, "", 0);
	return out.p ? out.p : strdup("");
}

static void expect_text(struct view_fixture *f, const struct fsv_node *n, const char *want)
{
	int rc;
	char *got = render(f, n, &rc);
	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
	free(got);
}

static int write_str(struct view_fixture *f, const struct fsv_node *n, const char *text)
{
	return fsv_write_tunable(&f->s, n, text, strlen(text), f->h->now);
}

/* links/<link>/to_stack.<knob> takes the lab file's syntax; a value the
 * lab file refuses is EINVAL, logged once, and the knob keeps its value;
 * the direction's counters read back. */
static void test_fsview_link_knob_writes(void **state)
{
	struct view_fixture *f = *state;
	struct link_dir to_stack, to_kernel;
	link_dir_init(&to_stack, 1);
	link_dir_init(&to_kernel, 2);
	f->s.n_links = 1;
	snprintf(f->s.links[0].name, FSV_NAME_MAX, "l0");
	struct fsv_link_source *src = &f->s.links[0].src;
	src->pipes[0] = (struct fsv_link_pipe){ "to_stack", &to_stack };
	src->pipes[1] = (struct fsv_link_pipe){ "to_kernel", &to_kernel };
	src->n_pipes = 2;
	int idx = fsv_link_file_find(src, "to_stack.loss");
	assert_true(idx > 0);
	assert_true(fsv_link_file_is_knob((unsigned)idx));
	struct fsv_node n = { .row = FSV_LINK_FILE, .obj = 0, .id = (uint64_t)idx };
	assert_int_equal(fsv_node_perm(&n), 0644);
	const char *v = "10%\n";
	assert_int_equal(fsv_write_link_file(&f->s, &n, v, strlen(v), f->h->now), (int)strlen(v));
	int rc;
	char *got = render(f, &n, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(got, "10"));
	int logs = f->log_lines;
	const char *bad = "lots\n";
	assert_int_equal(fsv_write_link_file(&f->s, &n, bad, strlen(bad), f->h->now), -EINVAL);
	assert_int_equal(f->log_lines, logs + 1);
	assert_non_null(strstr(f->last_log, "refused"));
	char *again = render(f, &n, &rc);
	assert_string_equal(again, got); /* value kept */
	free(got);
	free(again);
	/* The other direction is untouched, and counters are read-only. */
	struct fsv_node k = { .row = FSV_LINK_FILE, .obj = 0,
			      .id = (uint64_t)fsv_link_file_find(src, "to_kernel.loss") };
	char *other = render(f, &k, &rc);
	assert_null(strstr(other, "10"));
	free(other);
	struct fsv_node c = { .row = FSV_LINK_FILE, .obj = 0,
			      .id = (uint64_t)fsv_link_file_find(src, "to_stack.counters") };
	assert_int_equal(fsv_node_perm(&c), 0444);
	assert_int_equal(fsv_write_link_file(&f->s, &c, "1", 1, f->h->now), -EACCES);
	f->s.n_links = 0;
	link_dir_fini(&to_stack);
	link_dir_fini(&to_kernel);
}

/* On a segment each sender's pipeline has its own files, from_<host>.*:
 * as many as the link has senders, each writable on its own; names of
 * other links' pipelines are not found here. */
static void test_fsview_link_files_per_sender(void **state)
{
	struct view_fixture *f = *state;
	struct link_dir from[3];
	static const char *const names[3] = { "from_srv", "from_a", "from_b" };
	f->s.n_links = 1;
	snprintf(f->s.links[0].name, FSV_NAME_MAX, "seg");
	struct fsv_link_source *src = &f->s.links[0].src;
	src->n_pipes = 3;
	for (unsigned i = 0; i < 3; i++) {
		link_dir_init(&from[i], i + 1);
		src->pipes[i].ld = &from[i];
		snprintf(src->pipes[i].name, sizeof(src->pipes[i].name), "%s", names[i]);
	}
	assert_int_equal(fsv_link_file_count(src), 3 + 3 * (1 + link_knob_count()));
	assert_int_equal(fsv_link_file_find(src, "to_stack.loss"), -1);
	int ia = fsv_link_file_find(src, "from_a.delay");
	int ib = fsv_link_file_find(src, "from_b.delay");
	assert_true(ia > 0 && ib > ia);
	char name[80];
	assert_string_equal(fsv_link_file_name(src, (unsigned)ia, name, sizeof(name)), "from_a.delay");
	struct fsv_node a = { .row = FSV_LINK_FILE, .obj = 0, .id = (uint64_t)ia };
	struct fsv_node b = { .row = FSV_LINK_FILE, .obj = 0, .id = (uint64_t)ib };
	assert_int_equal(fsv_write_link_file(&f->s, &a, "20ms", 4, f->h->now), 4);
	int rc;
	char *got_a = render(f, &a, &rc), *got_b = render(f, &b, &rc);
	assert_string_equal(got_a, "20ms\n");
	assert_string_equal(got_b, "0\n");
	assert_non_null(strstr(f->last_log, "links/seg/from_a.delay"));
	free(got_a);
	free(got_b);
	/* Past the last pipeline there is nothing. */
	struct fsv_node past = { .row = FSV_LINK_FILE, .obj = 0, .id = fsv_link_file_count(src) };
	render(f, &past, &rc);
	assert_int_equal(rc, -ENOENT);
	f->s.n_links = 0;
	for (unsigned i = 0; i < 3; i++)
		link_dir_fini(&from[i]);
}

/* routers/<router>/: routes as `ip route` prints them (connected subnets,
 * then static routes with the link they leave by), counters by Linux's
 * names, and pmtu_black_hole: 0 or 1, anything else EINVAL, logged, kept. */
static void test_fsview_router_files(void **state)
{
	struct view_fixture *f = *state;
	static const uint8_t mac0[6] = { 2, 0x74, 0x72, 0, 1, 0 }, mac1[6] = { 2, 0x74, 0x72, 0, 1, 1 };
	struct router *r = router_new("r1", f->h->now);
	assert_non_null(r);
	assert_int_equal(router_add_if(r, mac0, 0xc61200fe, 24, 1500), 0);
	assert_int_equal(router_add_if(r, mac1, 0xc61201fe, 24, 1400), 1);
	assert_int_equal(router_add_route(r, 0xc6120200, 24, 0xc6120109), 0);
	r->c.ForwDatagrams = 42;
	f->s.n_routers = 1;
	snprintf(f->s.routers[0].name, FSV_NAME_MAX, "r1");
	f->s.routers[0].src.r = r;
	snprintf(f->s.routers[0].src.ifnames[0], FSV_IFNAME_MAX, "lan");
	snprintf(f->s.routers[0].src.ifnames[1], FSV_IFNAME_MAX, "small");
	struct fsv_node routes = { .row = FSV_ROUTER_ROUTES, .obj = 0 };
	expect_text(f, &routes,
		    "198.18.0.0/24 dev lan proto kernel scope link src 198.18.0.254\n"
		    "198.18.1.0/24 dev small proto kernel scope link src 198.18.1.254\n"
		    "198.18.2.0/24 via 198.18.1.9 dev small\n");
	struct fsv_node counters = { .row = FSV_ROUTER_COUNTERS, .obj = 0 };
	int rc;
	char *text = render(f, &counters, &rc);
	assert_non_null(strstr(text, "\nIp.ForwDatagrams 42\n"));
	free(text);
	struct fsv_node hole = { .row = FSV_ROUTER_HOLE, .obj = 0 };
	assert_int_equal(fsv_node_perm(&hole), 0644);
	expect_text(f, &hole, "0\n");
	assert_int_equal(fsv_write_router_black_hole(&f->s, &hole, "1\n", 2, f->h->now), 2);
	assert_true(r->pmtu_black_hole);
	int logs = f->log_lines;
	assert_int_equal(fsv_write_router_black_hole(&f->s, &hole, "yes\n", 4, f->h->now), -EINVAL);
	assert_int_equal(f->log_lines, logs + 1);
	assert_non_null(strstr(f->last_log, "refused \"yes\""));
	expect_text(f, &hole, "1\n");
	f->s.n_routers = 0;
	router_free(r);
}

/* `echo 1 > tcp_synack_retries` is applied, reported to the history hook
 * and read back; then a SYN that is never completed gets exactly two
 * SYN-ACKs (the original at 0 s and one retransmission at 1 s), and the
 * request is gone at 3 s (reference §3.1). */
static void test_linux_synack_retries_written_through_view(void **state)
{
	struct view_fixture *f = *state;
	struct fsv_node n = tunable_node("net/ipv4", "tcp_synack_retries");
	expect_text(f, &n, "5\n");
	assert_int_equal(write_str(f, &n, "1\n"), 2);
	assert_int_equal(stack_sysctl(f->h->st)->tcp_synack_retries, 1);
	expect_text(f, &n, "1\n");
	assert_int_equal(f->changes, 1);
	assert_string_equal(f->changed_name, "tcp_synack_retries");
	assert_string_equal(f->old_value, "5");
	assert_string_equal(f->new_value, "1");

	h_listen(f->h, 80, 16);
	h_inject(f->h, SEG(.flags = TH_SYN, .seq = 1000, .opt = { .has_mss = true, .mss = 1460 }));
	h_expect(f->h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
	h_advance(f->h, 1 * SEC);
	h_expect(f->h, SEG(.flags = TH_SYN | TH_ACK, .ack = 1001));
	h_advance(f->h, 10 * SEC);
	h_expect_nothing(f->h);
	assert_int_equal(h_state_of(f->h, 80, 40000), TCP_CLOSE);
}

/* Every kind of value Linux refuses gives EINVAL, leaves the value as it
 * was and logs exactly one line naming the file and the value kept. */
static void test_linux_procsys_refused_writes_keep_value(void **state)
{
	struct view_fixture *f = *state;
	static const struct {
		const char *dir, *name, *input, *kept;
	} rows[] = {
		{ "net/ipv4", "tcp_synack_retries", "abc\n", "5\n" },    /* not a number */
		{ "net/ipv4", "tcp_synack_retries", "5abc\n", "5\n" },   /* trailing garbage */
		{ "net/ipv4", "tcp_synack_retries", "256\n", "5\n" },    /* above a u8 */
		{ "net/ipv4", "tcp_synack_retries", "\n", "5\n" },       /* empty line */
		{ "net/ipv4", "tcp_synack_retries", "-1\n", "5\n" },     /* negative unsigned */
		{ "net/ipv4", "tcp_synack_retries", "-0\n", "5\n" },     /* -0 on unsigned */
		{ "net/ipv4", "tcp_syn_retries", "0\n", "6\n" },         /* below 1..127 */
		{ "net/ipv4", "tcp_syn_retries", "128\n", "6\n" },       /* above 1..127 */
		{ "net/ipv4", "tcp_tw_reuse", "3\n", "2\n" },            /* above 0..2 */
		{ "net/ipv4", "tcp_fin_timeout", "2147483648\n", "60\n" }, /* above INT_MAX */
		{ "net/core", "somaxconn", "-1\n", "4096\n" },           /* below 0 */
		{ "net/ipv4", "ip_local_port_range", "40000 30000\n", "32768\t60999\n" },
		{ "tcplab", "msl_ms", "0\n", "30000\n" },                /* below 1 */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct fsv_node n = tunable_node(rows[i].dir, rows[i].name);
		int before = f->log_lines;
		int rc = write_str(f, &n, rows[i].input);
		if (rc != -EINVAL)
			fail_msg("row %zu (%s <- \"%s\"): got %d, want -EINVAL", i, rows[i].name,
				 rows[i].input, rc);
		expect_text(f, &n, rows[i].kept);
		assert_int_equal(f->log_lines, before + 1);
		assert_non_null(strstr(f->last_log, rows[i].name));
		assert_non_null(strstr(f->last_log, "value kept"));
	}
	assert_int_equal(f->changes, 0);
}

/* What Linux accepts is accepted: C-style bases, leading blanks, extra
 * numbers on a scalar (an int row reports only the bytes it took, so
 * `echo "7 8"` ends as a partial write), negative values on plain ints,
 * and an empty write that changes nothing. */
static void test_linux_procsys_accepted_writes(void **state)
{
	struct view_fixture *f = *state;
	struct fsv_node n = tunable_node("net/ipv4", "tcp_synack_retries");
	assert_int_equal(write_str(f, &n, "0x10\n"), 5);
	expect_text(f, &n, "16\n");
	assert_int_equal(write_str(f, &n, "010\n"), 4);
	expect_text(f, &n, "8\n");
	assert_int_equal(write_str(f, &n, " 7\n"), 3);
	expect_text(f, &n, "7\n");
	assert_int_equal(write_str(f, &n, ""), 0);
	expect_text(f, &n, "7\n");

	struct fsv_node fin = tunable_node("net/ipv4", "tcp_fin_timeout");
	assert_int_equal(write_str(f, &fin, "7 8\n"), 2);
	expect_text(f, &fin, "7\n");
	struct fsv_node backlog = tunable_node("net/ipv4", "tcp_max_syn_backlog");
	assert_int_equal(write_str(f, &backlog, "-1\n"), 3);
	expect_text(f, &backlog, "-1\n");
	struct fsv_node ports = tunable_node("net/ipv4", "ip_local_port_range");
	assert_int_equal(write_str(f, &ports, "20000 30000\n"), 12);
	expect_text(f, &ports, "20000\t30000\n");
	assert_int_equal(f->log_lines, 6); /* one info line per actual change */
}

/* net/tcp is /proc/net/tcp: the header, then one row per socket, every
 * line 149 characters plus a newline; listeners come first. */
static void test_linux_proc_net_tcp_format(void **state)
{
	struct view_fixture *f = *state;
	struct tcp_conn *l = h_listen(f->h, 80, 16);
	struct h_peer p = h_open(f->h, l, 1000);
	(void)p;
	struct fsv_node n = { .row = FSV_NET_TCP };
	int rc;
	char *text = render(f, &n, &rc);
	assert_int_equal(rc, 0);
	int lines = 0;
	for (char *line = text, *eol; (eol = strchr(line, '\n')); line = eol + 1, lines++)
		assert_int_equal(eol - line, 149);
	assert_int_equal(lines, 3);
	assert_int_equal(strncmp(text, "  sl  local_address rem_address   st tx_queue", 45), 0);
	/* 198.18.0.1:80 listening (0A), then the connection from :40000 (01). */
	assert_non_null(strstr(text, "   0: 010012C6:0050 00000000:0000 0A "));
	assert_non_null(strstr(text, "   1: 010012C6:0050 020012C6:9C40 01 "));
	free(text);
}

/* conns/<id>/ holds info, timeline and one file per info line; a
 * variable the connection does not have (a listener's snd_una) is not
 * there. The timeline lists the transitions so far and disappears with
 * the connection (the transition to CLOSE). */
static void test_fsview_conn_files_and_timeline(void **state)
{
	struct view_fixture *f = *state;
	struct tcp_conn *l = h_listen(f->h, 80, 16);
	struct h_peer p = h_open(f->h, l, 1000);
	feed_events(f);

	uint64_t ids[8];
	size_t nids = tcp_procfs_conn_ids(stack_tcp(f->h->st), ids, 8);
	assert_int_equal(nids, 2); /* listener, connection */
	struct fsv_node conns = { .row = FSV_CONNS };
	char want[64];
	snprintf(want, sizeof(want), "%" PRIu64 "\n%" PRIu64 "\n", ids[0], ids[1]);
	expect_text(f, &conns, want);

	struct fsv_node dir = { .row = FSV_CONN, .id = ids[1] };
	int rc;
	char *names = render(f, &dir, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(strncmp(names, "info\ntimeline\nstate\n", 20), 0);
	assert_non_null(strstr(names, "\nsnd_una\n"));
	assert_non_null(strstr(names, "\nrcv_nxt\n"));
	assert_non_null(strstr(names, "\ncwnd\n"));
	free(names);

	struct fsv_node var = { .row = FSV_CONN_VAR, .id = ids[1] };
	var.sub = (uint8_t)fsv_var_intern(&f->s.vars, "state");
	expect_text(f, &var, "ESTABLISHED\n");
	var.sub = (uint8_t)fsv_var_intern(&f->s.vars, "rcv_nxt");
	expect_text(f, &var, "1001\n");
	var.sub = (uint8_t)fsv_var_intern(&f->s.vars, "snd_una");
	snprintf(want, sizeof(want), "%u\n", p.iss + 1);
	expect_text(f, &var, want);
	var.id = ids[0]; /* the listener */
	char *none = render(f, &var, &rc);
	assert_null(none);
	assert_int_equal(rc, -ENOENT);

	struct fsv_node tl = { .row = FSV_CONN_TIMELINE, .id = ids[1] };
	char *lines = render(f, &tl, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(lines, " LISTEN -> SYN_RECV (SYN)\n"));
	assert_non_null(strstr(lines, " SYN_RECV -> ESTABLISHED (ACK)\n"));
	free(lines);

	tcp_abort(p.c, f->h->now);
	h_collect(f->h);
	feed_events(f);
	free(render(f, &tl, &rc));
	assert_int_equal(rc, -ENOENT);
	free(render(f, &dir, &rc));
	assert_int_equal(rc, -ENOENT);
	snprintf(want, sizeof(want), "%" PRIu64 "\n", ids[0]);
	expect_text(f, &conns, want);
}

/* One `events` line per event: monotonic seconds, host, connection,
 * addresses, then what happened. */
static void test_fsview_events_line_format(void **state)
{
	struct view_fixture *f = *state;
	struct tl_event ev = { .kind = TL_EV_TCP_STATE, .time = 12 * SEC + 3456,
			       .conn_id = 9, .laddr = H_US, .lport = 80, .raddr = H_PEER,
			       .rport = 40000, .old_state = TCP_SYN_RECV,
			       .new_state = TCP_ESTABLISHED, .cause = "ACK" };
	char line[256];
	size_t len = fsv_format_event(&f->s, 0, &ev, line, sizeof(line));
	assert_int_equal(len, strlen(line));
	assert_string_equal(line, "12.003456 stack conn 9 198.18.0.1:80 198.18.0.2:40000 "
				  "SYN_RECV -> ESTABLISHED (ACK)\n");
	ev = (struct tl_event){ .kind = TL_EV_TCP_SYNACK_RETRANS, .time = 1 * SEC, .conn_id = 4,
				.laddr = H_US, .lport = 80, .raddr = H_PEER, .rport = 1234,
				.count = 2 };
	fsv_format_event(&f->s, 0, &ev, line, sizeof(line));
	assert_string_equal(line, "1.000000 stack conn 4 198.18.0.1:80 198.18.0.2:1234 "
				  "synack-retransmit #2\n");
}

/* Inode numbers pack the node: decoding gives it back, the root is
 * FUSE's root id 1, and the largest connection id fits. */
static void test_fsview_inode_numbers_round_trip(void **state)
{
	(void)state;
	struct fsv_node root = { .row = FSV_ROOT };
	assert_int_equal(fsv_node_ino(&root), 1);
	const struct fsv_node nodes[] = {
		{ .row = FSV_TUNABLE, .obj = 31, .sub = 40 },
		{ .row = FSV_CONN_VAR, .obj = 3, .sub = 127, .id = FSV_ID_MAX },
		{ .row = FSV_CONN, .obj = 0, .id = 1 },
		{ .row = FSV_LINK_FILE, .obj = 31, .sub = 2 },
		{ .row = FSV_EVENTS },
	};
	for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
		struct fsv_node back;
		assert_true(fsv_node_from_ino(fsv_node_ino(&nodes[i]), &back));
		assert_int_equal(back.row, nodes[i].row);
		assert_int_equal(back.obj, nodes[i].obj);
		assert_int_equal(back.sub, nodes[i].sub);
		assert_int_equal(back.id, nodes[i].id);
	}
	struct fsv_node bad;
	assert_false(fsv_node_from_ino(0, &bad));
	/* Read-only rows are 0444, tunables keep their table mode. */
	struct fsv_node tcp = { .row = FSV_NET_TCP };
	assert_int_equal(fsv_node_perm(&tcp), 0444);
	const struct tcp_tunable *avail = tcp_tunable_find("net/ipv4", "tcp_available_congestion_control");
	for (size_t i = 0; i < tcp_tunable_count(); i++) {
		struct fsv_node t = { .row = FSV_TUNABLE, .sub = (uint8_t)i };
		assert_int_equal(fsv_node_perm(&t), tcp_tunable_at(i) == avail ? 0444 : 0644);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_linux_synack_retries_written_through_view, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_linux_procsys_refused_writes_keep_value, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_linux_procsys_accepted_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsview_link_files_per_sender, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsview_router_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsview_link_knob_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_linux_proc_net_tcp_format, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsview_conn_files_and_timeline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsview_events_line_format, setup, teardown),
		cmocka_unit_test(test_fsview_inode_numbers_round_trip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
