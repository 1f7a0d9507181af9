/* Lab file parser (daemon/lab_file.c): the embedded default lab, a good
 * file using every feature, and one row per kind of error, each checked
 * for its line number and the words a user would look for. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lab_file.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

static struct lab_config lab;

static int parse(const char *text, struct lab_error *err)
{
	return lab_parse(text, strlen(text), &lab, err);
}

static const struct lab_host *host(const char *name)
{
	for (unsigned i = 0; i < lab.n_hosts; i++)
		if (strcmp(lab.hosts[i].name, name) == 0)
			return &lab.hosts[i];
	fail_msg("no host %s", name);
	return NULL;
}

/* The built-in lab: what `tcplabd` with no --lab builds. */
static void test_lab_default_lab_is_peer_namespace_and_stack(void **state)
{
	(void)state;
	struct lab_error err;
	assert_int_equal(lab_load_default(&lab, &err), 0);
	assert_int_equal(lab.n_hosts, 2);
	assert_int_equal(lab.n_links, 1);

	const struct lab_host *s = host("stack");
	assert_int_equal(s->kind, LAB_HOST_STACK);
	assert_int_equal(s->addr, IP(198, 18, 0, 1));
	assert_int_equal(s->prefix_len, 24);
	static const uint8_t mac[6] = { 0x02, 0x74, 0x6c, 0x00, 0x00, 0x01 };
	assert_memory_equal(s->mac, mac, 6);
	assert_true(s->mac[0] & 0x02); /* locally administered */

	const struct lab_host *k = host("peer");
	assert_int_equal(k->kind, LAB_HOST_KERNEL);
	assert_string_equal(k->netns, "tcplab-peer");
	assert_string_equal(k->ifname, "tl0");
	assert_int_equal(k->addr, IP(198, 18, 0, 2));
	assert_int_equal(k->prefix_len, 24);
	assert_int_equal(k->gateway, IP(198, 18, 0, 1));

	assert_int_equal(lab.links[0].mtu, 1500);
	assert_ptr_equal(&lab.hosts[lab.links[0].stack_host], s);
	assert_ptr_equal(&lab.hosts[lab.links[0].kernel_host], k);
	assert_non_null(strstr(lab_default_text(), "[host stack]"));
}

/* Comments, blank lines, blanks around '=', CRLF line ends, two links,
 * default interface name, default MAC, explicit MTU. */
static void test_lab_good_file_two_links(void **state)
{
	(void)state;
	static const char text[] =
		"# two pairs\n"
		"; also a comment\n"
		"\n"
		"[link a]\r\n"
		"mtu=1400\n"
		"  [ link   b ]  \n"
		"[host s1]\n"
		"\tkind = stack\n"
		"link = a\n"
		"address = 198.18.1.1/24\n"
		"mac = 02:AA:bb:cc:dd:ee\n"
		"[host k1]\n"
		"kind = kernel\n"
		"link = a\n"
		"netns = tcplab-k1\n"
		"address = 198.18.1.2/24\n"
		"gateway = 198.18.1.1\n"
		"[host s2]\n"
		"kind=stack\n"
		"link=b\n"
		"address=198.19.255.1/30\n"
		"[host k2]\n"
		"kind = kernel\n"
		"link = b\n"
		"netns = tl-k2\n"
		"interface = tlx9\n"
		"address = 198.19.255.2/30\n";
	struct lab_error err;
	int rc = parse(text, &err);
	if (rc != 0)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(lab.n_hosts, 4);
	assert_int_equal(lab.n_links, 2);
	assert_string_equal(lab.links[0].name, "a");
	assert_int_equal(lab.links[0].mtu, 1400);
	assert_int_equal(lab.links[1].mtu, 1500);

	static const uint8_t mac1[6] = { 0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee };
	assert_memory_equal(host("s1")->mac, mac1, 6);
	/* s2 is host #3 and gets 02:74:6c:00:00:03 */
	static const uint8_t mac2[6] = { 0x02, 0x74, 0x6c, 0x00, 0x00, 0x03 };
	assert_memory_equal(host("s2")->mac, mac2, 6);
	assert_string_equal(host("k1")->ifname, "tl0");
	assert_string_equal(host("k2")->ifname, "tlx9");
	assert_int_equal(host("k1")->gateway, IP(198, 18, 1, 1));
	assert_int_equal(host("k2")->gateway, 0);
	assert_int_equal(host("s2")->addr, IP(198, 19, 255, 1));
	assert_int_equal(host("s2")->prefix_len, 30);
	assert_string_equal(lab.links[host("s2")->link].name, "b");
}

/* A segment: one link joining two kernel hosts, a stack host, a bare
 * attachment and an AF_PACKET attachment in an existing namespace; each
 * host keeps its attachment, and the link lists its members in order. */
static void test_lab_segment_joins_kernel_stack_bare_packet(void **state)
{
	(void)state;
	static const char text[] =
		"[link seg]\n"
		"[host a]\nkind = kernel\nlink = seg\nnetns = tl-a\naddress = 198.18.0.2/24\n"
		"[host b]\nkind = kernel\nlink = seg\nnetns = tl-b\naddress = 198.18.0.3/24\n"
		"[host srv]\nkind = stack\nlink = seg\naddress = 198.18.0.1/24\n"
		"[host raw]\nkind = kernel\nlink = seg\nattach = bare\nnetns = tl-raw\n"
		"[host clab]\nkind = kernel\nlink = seg\nattach = packet\njoin_netns = clab-r1\n"
		"interface = eth1\naddress = 198.18.0.9/24\n"
		"[host pid]\nkind = kernel\nlink = seg\nattach = bare\nnetns_pid = 4242\ninterface = tlp\n"
		"[host root]\nkind = kernel\nlink = seg\nattach = packet\ninterface = veth-x\n";
	struct lab_error err;
	int rc = parse(text, &err);
	if (rc != 0)
		fail_msg("line %d: %s", err.line, err.msg);
	const struct lab_link *l = &lab.links[0];
	assert_int_equal(l->n_members, 7);
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(l->members[i], i);
	assert_int_equal(l->kernel_host, 0);
	assert_int_equal(l->stack_host, 2);
	assert_int_equal(host("a")->attach, LAB_ATTACH_TAP);
	assert_int_equal(host("a")->netns_mode, LAB_NETNS_CREATE);
	assert_true(lab_host_owns_netns(host("a")));
	assert_int_equal(host("raw")->attach, LAB_ATTACH_BARE);
	assert_int_equal(host("raw")->addr, 0);
	assert_string_equal(host("raw")->ifname, "tl0");
	assert_int_equal(host("clab")->attach, LAB_ATTACH_PACKET);
	assert_int_equal(host("clab")->netns_mode, LAB_NETNS_JOIN);
	assert_false(lab_host_owns_netns(host("clab")));
	assert_string_equal(host("clab")->netns, "clab-r1");
	assert_string_equal(host("clab")->ifname, "eth1");
	assert_int_equal(host("pid")->netns_mode, LAB_NETNS_PID);
	assert_int_equal(host("pid")->netns_pid, 4242);
	assert_int_equal(host("root")->netns_mode, LAB_NETNS_ROOT);
	assert_false(lab_host_owns_netns(host("srv")));
}

/* A router between two links: each `interface` line makes a host on its
 * link (named ROUTER.LINK, MAC 02:74:72:00:RR:II), routes are kept in
 * order, and the hosts behind it use it as their gateway. */
static void test_lab_router_between_links(void **state)
{
	(void)state;
	static const char text[] =
		"[link lan]\n[link wan]\n"
		"[host a]\nkind = kernel\nlink = lan\nnetns = tl-a\naddress = 198.18.0.2/24\ngateway = 198.18.0.254\n"
		"[host srv]\nkind = stack\nlink = wan\naddress = 198.18.1.1/24\ngateway = 198.18.1.254\n"
		"[router r1]\n"
		"interface = lan 198.18.0.254/24\n"
		"interface = wan 198.18.1.254/24\n"
		"route = 198.18.2.0/24 via 198.18.1.9\n"
		"route = 198.19.0.0/16 via 198.18.0.9\n"
		"pmtu_black_hole = on\n";
	struct lab_error err;
	int rc = parse(text, &err);
	if (rc != 0)
		fail_msg("line %d: %s", err.line, err.msg);
	assert_int_equal(lab.n_routers, 1);
	const struct lab_router *r = &lab.routers[0];
	assert_string_equal(r->name, "r1");
	assert_int_equal(r->n_ifs, 2);
	const struct lab_host *l = host("r1.lan"), *w = host("r1.wan");
	assert_ptr_equal(&lab.hosts[r->ifs[0]], l);
	assert_ptr_equal(&lab.hosts[r->ifs[1]], w);
	assert_int_equal(l->kind, LAB_HOST_ROUTER);
	assert_int_equal(l->addr, IP(198, 18, 0, 254));
	assert_string_equal(lab.links[l->link].name, "lan");
	assert_string_equal(lab.links[w->link].name, "wan");
	static const uint8_t mac1[6] = { 0x02, 0x74, 0x72, 0x00, 0x01, 0x01 };
	assert_memory_equal(w->mac, mac1, 6);
	assert_int_equal(lab.links[0].n_members, 2);
	assert_int_equal(lab.links[0].stack_host, -1); /* a router interface is neither */
	assert_int_equal(r->n_routes, 2);
	assert_true(r->pmtu_black_hole);
	assert_int_equal(r->routes[0].dst, IP(198, 18, 2, 0));
	assert_int_equal(r->routes[0].prefix_len, 24);
	assert_int_equal(r->routes[0].via, IP(198, 18, 1, 9));
	assert_int_equal(r->routes[1].prefix_len, 16);
}

/* Lines 1..10 of a minimal good lab; rows append or substitute. */
#define L1 "[link l0]\n"
#define S(addr) "[host s]\nkind = stack\nlink = l0\naddress = " addr "\n" /* 2-5 */
#define K(addr) "[host k]\nkind = kernel\nlink = l0\nnetns = tl-test\naddress = " addr "\n" /* 6-10 */
#define GOOD L1 S("198.18.0.1/24") K("198.18.0.2/24")

struct bad_row {
	const char *what;
	const char *text;
	int line;         /* expected error line (0: none) */
	const char *word; /* expected in the message */
};

static const struct bad_row bad_rows[] = {
	/* The safety rule: only 198.18.0.0/15. */
	{ "address outside the lab range", L1 S("10.0.0.1/24") K("10.0.0.2/24"), 5,
	  "outside 198.18.0.0/15" },
	{ "address just past the range", L1 S("198.20.0.1/24") K("198.18.0.2/24"), 5,
	  "outside 198.18.0.0/15" },
	{ "prefix wider than the range", L1 S("198.18.0.1/8") K("198.18.0.2/8"), 5,
	  "/15 to /30" },
	{ "gateway outside the range", GOOD "gateway = 192.168.1.1\n", 11,
	  "outside 198.18.0.0/15" },
	{ "gateway off the subnet", GOOD "gateway = 198.18.7.1\n", 11, "not on the host's subnet" },
	{ "network address", L1 S("198.18.0.0/24") K("198.18.0.2/24"), 5, "network or broadcast" },
	{ "broadcast address", L1 S("198.18.0.255/24") K("198.18.0.2/24"), 5,
	  "network or broadcast" },
	/* Syntax of values. */
	{ "octet over 255", L1 S("198.18.0.256/24") K("198.18.0.2/24"), 5, "A.B.C.D/PREFIX" },
	{ "octet with a leading zero", L1 S("198.18.0.01/24") K("198.18.0.2/24"), 5,
	  "A.B.C.D/PREFIX" },
	{ "address without prefix", L1 S("198.18.0.1") K("198.18.0.2/24"), 5, "A.B.C.D/PREFIX" },
	{ "text after a value", L1 S("198.18.0.1/24 # stack") K("198.18.0.2/24"), 5,
	  "unexpected text" },
	{ "bad kind", L1 "[host s]\nkind = router\n", 3, "'kernel' or 'stack'" },
	{ "multicast mac", L1 S("198.18.0.1/24") "mac = 01:00:5e:00:00:01\n" K("198.18.0.2/24"),
	  6, "multicast" },
	{ "short mac", L1 S("198.18.0.1/24") "mac = 02:00:00:00:01\n" K("198.18.0.2/24"), 6,
	  "six hex pairs" },
	{ "mtu too large", "[link l0]\nmtu = 9000\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "68 to 1500" },
	/* Names: only tcplab/tl namespaces and interfaces. */
	{ "foreign netns name", L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\nnetns = blue\n",
	  9, "must start with 'tcplab' or 'tl'" },
	{ "foreign interface name", GOOD "interface = eth0\n", 11,
	  "must start with 'tcplab' or 'tl'" },
	{ "interface name too long", GOOD "interface = tl0123456789abcdef\n", 11,
	  "longer than 15" },
	{ "namespace name with a slash", L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\nnetns = tl/x\n",
	  9, "unexpected text" },
	/* Structure. */
	{ "unknown key", GOOD "colour = blue\n", 11, "unknown key 'colour'" },
	{ "missing '='", GOOD "gateway 198.18.0.1\n", 11, "expected '='" },
	{ "key before any section", "kind = stack\n" GOOD, 1, "before any section" },
	{ "unknown section", GOOD "[switch sw0]\n", 11, "[link NAME] or [router NAME]" },
	{ "section without name", GOOD "[host]\n", 11, "needs a name" },
	{ "unclosed section header", GOOD "[host x\n", 11, "expected ']'" },
	{ "key set twice", GOOD "address = 198.18.0.3/24\n", 11, "already set on line 10" },
	{ "host defined twice", GOOD "[host s]\n", 11, "already defined on line 2" },
	{ "link key in a host section", GOOD "mtu = 1400\n", 11, "does not belong" },
	{ "host without address", L1 "[host s]\nkind = stack\nlink = l0\n" K("198.18.0.2/24"), 2,
	  "no 'address =' line" },
	{ "kernel host without netns", L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\naddress = 198.18.0.2/24\n",
	  6, "no 'netns =' line" },
	{ "mac on a kernel host", GOOD "mac = 02:00:00:00:00:09\n", 11, "only for stack hosts" },
	{ "netns on a stack host", L1 S("198.18.0.1/24") "netns = tl-x\n" K("198.18.0.2/24"), 6,
	  "only for kernel hosts" },
	/* Cross-section checks. */
	{ "undefined link", "[link l0]\n[host s]\nkind = stack\nlink = l9\naddress = 198.18.0.1/24\n",
	  4, "link 'l9' is not defined" },
	{ "link with one host", L1 S("198.18.0.1/24"), 1, "joins only one host" },
	{ "link with no host", L1 "[link l1]\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "joins no host" },
	{ "capture on a link without stack host",
	  "[link l0]\ncapture = /tmp/tl-x.pcap\n" K("198.18.0.2/24")
	  "[host k2]\nkind = kernel\nlink = l0\nnetns = tl-test2\naddress = 198.18.0.3/24\n",
	  1, "no stack host" },
	/* Routers. */
	{ "router without interface", GOOD "[router r]\n", 11, "no 'interface = LINK" },
	{ "router interface without prefix", GOOD "[router r]\ninterface = l0 198.18.0.254\n", 12,
	  "LINK ADDRESS/PREFIX" },
	{ "router on an undefined link", GOOD "[router r]\ninterface = l9 198.18.9.254/24\n", 12,
	  "link 'l9' is not defined" },
	{ "router twice on a link", GOOD "[router r]\ninterface = l0 198.18.0.254/24\ninterface = l0 198.18.0.253/24\n",
	  13, "already has an interface on link 'l0'" },
	{ "router address used twice", GOOD "[router r]\ninterface = l0 198.18.0.2/24\n", 12,
	  "already used" },
	{ "route with host bits", GOOD "[router r]\ninterface = l0 198.18.0.254/24\nroute = 198.18.2.1/24 via 198.18.0.9\n",
	  13, "host bits" },
	{ "route via an unreachable gateway", GOOD "[router r]\ninterface = l0 198.18.0.254/24\nroute = 198.18.2.0/24 via 198.18.5.9\n",
	  13, "none of its interfaces' subnets" },
	{ "unknown router key", GOOD "[router r]\ninterface = l0 198.18.0.254/24\nmtu = 1400\n", 13,
	  "router keys" },
	{ "black hole neither on nor off", GOOD "[router r]\ninterface = l0 198.18.0.254/24\npmtu_black_hole = yes\n", 13,
	  "pmtu_black_hole must be 'on'" },
	/* Attachments of kernel hosts. */
	{ "bare attachment with an address", GOOD "attach = bare\n", 10, "no address" },
	{ "unknown attachment", GOOD "attach = wifi\n", 11, "'tap' (default), 'bare'" },
	{ "packet attachment without interface",
	  L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\nattach = packet\n", 6,
	  "needs 'interface ='" },
	{ "packet attachment in a namespace tcplabd would create",
	  L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\nattach = packet\ninterface = veth1\nnetns = tl-x\n",
	  11, "existing interface" },
	{ "two namespace keys", GOOD "join_netns = blue\n", 6, "use one of" },
	{ "netns_pid zero", L1 S("198.18.0.1/24") "[host k]\nkind = kernel\nlink = l0\nnetns_pid = 0\n",
	  9, "process id" },
	{ "attach on a stack host", L1 S("198.18.0.1/24") "attach = bare\n" K("198.18.0.2/24"), 6,
	  "only for kernel hosts" },
	{ "same interface twice in a joined namespace",
	  L1 S("198.18.0.1/24")
	  "[host k]\nkind = kernel\nlink = l0\njoin_netns = blue\naddress = 198.18.0.2/24\n"
	  "[host k2]\nkind = kernel\nlink = l0\njoin_netns = blue\naddress = 198.18.0.3/24\n",
	  11, "interface 'tl0' in that namespace" },
	{ "hosts on a link in different subnets", L1 S("198.18.0.1/24") K("198.18.1.2/24"), 6,
	  "not a subnet" }, /* the host that disagrees with the first */
	{ "address used twice", L1 S("198.18.0.1/24") K("198.18.0.1/24"), 6, "already used" },
	{ "empty lab", "# nothing\n\n", 0, "defines no hosts" },
	/* Link impairments (netemu/link.h knobs). */
	{ "loss over 100%", L1 "loss = 110%\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "bad value '110%' for 'loss'" },
	{ "delay without unit", L1 "to_stack.delay = 50\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  2, "bad value '50' for 'to_stack.delay': one-way delay: 50ms" },
	{ "unknown direction", L1 "to_router.loss = 1%\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  2, "unknown direction" },
	{ "unknown link knob", L1 "latency = 10ms\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "unknown key 'latency'" },
	{ "knob without value", L1 "loss =\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "needs a value" },
	{ "knob set twice", L1 "loss = 1%\nloss = 2%\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  3, "already set for to_stack on line 2" },
	{ "direction knob set twice",
	  L1 "to_kernel.rate = 1mbit\nto_kernel.rate = 2mbit\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  3, "already set for to_kernel on line 2" },
	{ "reorder without delay", L1 "reorder = 10%\n" S("198.18.0.1/24") K("198.18.0.2/24"), 1,
	  "link 'l0' to_stack: reorder needs a delay" },
	{ "two loss models", L1 "to_kernel.loss = 1%\nto_kernel.ge_p = 1%\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  1, "link 'l0' to_kernel: loss and ge_p" },
	{ "link knob in a host section", GOOD "loss = 1%\n", 11, "unknown key 'loss'" },
	{ "relative capture path", L1 "capture = l0.pcap\n" S("198.18.0.1/24") K("198.18.0.2/24"), 2,
	  "capture must be an absolute path" },
	{ "capture path with a blank", L1 "capture = /tmp/a b.pcap\n" S("198.18.0.1/24") K("198.18.0.2/24"),
	  2, "unexpected text after the value of 'capture'" },
};

/* Impairments per link: a plain key sets both directions, a to_stack. or
 * to_kernel. key one direction and wins over the plain key in either
 * order; `seed = N` gives to_stack N and to_kernel N + 1. */
static void test_lab_link_impairments_per_direction(void **state)
{
	(void)state;
	static const char text[] =
		"[link l0]\n"
		"to_kernel.delay = 20ms\n"
		"delay = 50ms\n"
		"loss = 10%\n"
		"to_stack.loss = 1%\n"
		"jitter = 5ms\n"
		"distribution = normal\n"
		"to_kernel.rate = 10mbit\n"
		"overhead = 24\n"
		"seed = 42\n"
		"mtu = 1400\n"
		"capture = /tmp/tl-l0.pcap\n"
		S("198.18.0.1/24") K("198.18.0.2/24");
	struct lab_error err;
	int rc = parse(text, &err);
	if (rc != 0)
		fail_msg("line %d: %s", err.line, err.msg);
	const struct lab_link *l = &lab.links[0];
	const struct link_knobs *ts = &l->knobs[LAB_TO_STACK], *tk = &l->knobs[LAB_TO_KERNEL];
	assert_int_equal(l->mtu, 1400);
	assert_string_equal(l->capture, "/tmp/tl-l0.pcap");
	assert_int_equal(ts->delay_us, 50000);
	assert_int_equal(tk->delay_us, 20000);
	assert_int_equal(ts->loss, LINK_PCT(1));
	assert_int_equal(tk->loss, LINK_PCT(10));
	assert_int_equal(ts->jitter_us, 5000);
	assert_int_equal(tk->jitter_us, 5000);
	assert_int_equal(ts->dist, LINK_DIST_NORMAL);
	assert_int_equal(ts->rate_bps, 0);
	assert_int_equal(tk->rate_bps, 10000000);
	assert_int_equal(tk->overhead, 24);
	assert_int_equal(ts->limit, LINK_LIMIT_DEFAULT);
	assert_true(l->seed_set[LAB_TO_STACK] && l->seed_set[LAB_TO_KERNEL]);
	assert_int_equal(l->seed[LAB_TO_STACK], 42);
	assert_int_equal(l->seed[LAB_TO_KERNEL], 43);
	assert_string_equal(lab_dir_name(LAB_TO_STACK), "to_stack");
	assert_string_equal(lab_dir_name(LAB_TO_KERNEL), "to_kernel");

	/* A direction's own seed beats the link's; no seed: the daemon picks. */
	static const char text2[] = "[link l0]\nto_kernel.seed = 7\nseed = 42\n"
		S("198.18.0.1/24") K("198.18.0.2/24");
	assert_int_equal(parse(text2, &err), 0);
	assert_int_equal(lab.links[0].seed[LAB_TO_STACK], 42);
	assert_int_equal(lab.links[0].seed[LAB_TO_KERNEL], 7);
	assert_int_equal(parse(GOOD, &err), 0);
	assert_false(lab.links[0].seed_set[LAB_TO_STACK]);
	assert_false(lab.links[0].seed_set[LAB_TO_KERNEL]);
	assert_string_equal(lab.links[0].capture, "");
	assert_false(link_knobs_impaired(&lab.links[0].knobs[LAB_TO_STACK]));
	assert_false(link_knobs_impaired(&lab.links[0].knobs[LAB_TO_KERNEL]));
}

static void test_lab_errors_name_their_line(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_rows) / sizeof(bad_rows[0]); i++) {
		const struct bad_row *r = &bad_rows[i];
		struct lab_error err;
		int rc = parse(r->text, &err);
		if (rc != -EINVAL)
			fail_msg("row %zu (%s): accepted, expected line %d: %s", i, r->what, r->line,
				 r->word);
		if (err.line != r->line || !strstr(err.msg, r->word))
			fail_msg("row %zu (%s): got line %d \"%s\", expected line %d with \"%s\"", i,
				 r->what, err.line, err.msg, r->line, r->word);
		if (strchr(err.msg, '\n'))
			fail_msg("row %zu (%s): message spans lines", i, r->what);
	}
}

/* The parser is bounded by `len`, not by a NUL: bytes past len are never
 * read, and a NUL inside is an error. */
static void test_lab_parser_respects_length(void **state)
{
	(void)state;
	static const char text[] = GOOD "address = 10.0.0.1/8\n";
	struct lab_error err;
	/* Cut right after the good part: the bad line is not seen. */
	assert_int_equal(lab_parse(text, strlen(GOOD), &lab, &err), 0);
	assert_int_equal(lab_parse(text, sizeof(text) - 1, &lab, &err), -EINVAL);

	/* Lines are bounded too, even comments. */
	char long_line[sizeof(GOOD) + LAB_LINE_MAX + 8];
	size_t n = (size_t)snprintf(long_line, sizeof(long_line), "%s#", GOOD);
	memset(long_line + n, 'x', LAB_LINE_MAX);
	long_line[n + LAB_LINE_MAX] = '\n';
	assert_int_equal(lab_parse(long_line, n + LAB_LINE_MAX + 1, &lab, &err), -EINVAL);
	assert_int_equal(err.line, 11);
	assert_non_null(strstr(err.msg, "longer than 512"));

	static const char with_nul[] = "[link l0]\n[ho\0st s]\n";
	assert_int_equal(lab_parse(with_nul, sizeof(with_nul) - 1, &lab, &err), -EINVAL);
	assert_int_equal(err.line, 2);
	assert_non_null(strstr(err.msg, "NUL"));
}

static void test_lab_load_missing_file(void **state)
{
	(void)state;
	struct lab_error err;
	assert_int_equal(lab_load("/nonexistent/tcplab.lab", &lab, &err), -ENOENT);
	assert_int_equal(err.line, 0);
	assert_non_null(strstr(err.msg, "cannot open"));
}

/* Every sample in labs/ parses (TL_SOURCE_ROOT is set by meson test). */
static void test_lab_samples_parse(void **state)
{
	(void)state;
	const char *root = getenv("TL_SOURCE_ROOT");
	if (!root) {
		print_message("TL_SOURCE_ROOT is not set (run through meson test): skipping labs/*.lab\n");
		skip();
	}
	char dir[512];
	snprintf(dir, sizeof(dir), "%s/labs", root);
	DIR *d = opendir(dir);
	assert_non_null(d);
	unsigned n = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 5 || strcmp(e->d_name + len - 4, ".lab") != 0)
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		struct lab_error err;
		if (lab_load(path, &lab, &err) != 0)
			fail_msg("%s:%d: %s", path, err.line, err.msg);
		n++;
	}
	closedir(d);
	assert_true(n >= 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lab_default_lab_is_peer_namespace_and_stack),
		cmocka_unit_test(test_lab_good_file_two_links),
		cmocka_unit_test(test_lab_link_impairments_per_direction),
		cmocka_unit_test(test_lab_segment_joins_kernel_stack_bare_packet),
		cmocka_unit_test(test_lab_router_between_links),
		cmocka_unit_test(test_lab_errors_name_their_line),
		cmocka_unit_test(test_lab_parser_respects_length),
		cmocka_unit_test(test_lab_load_missing_file),
		cmocka_unit_test(test_lab_samples_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
