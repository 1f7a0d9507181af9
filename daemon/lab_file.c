/* Lab file parser: a line splitter, then a bounded cursor (pointer + bytes
 * left, curl's STRPARSE idea) for each line, so that no read ever passes the
 * end of the input and every error carries its line number. Validation runs
 * per section when the section ends, and across sections at the end of the
 * file (link references, topology, uniqueness). */
#include "lab_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lab_default.h"

/* ---- cursor ---------------------------------------------------------- */

/* A view of unread input: p[0..left) may be read, nothing else. */
struct cur {
	const char *p;
	size_t left;
};

static void cur_advance(struct cur *c, size_t n)
{
	c->p += n;
	c->left -= n;
}

static void cur_blanks(struct cur *c)
{
	while (c->left && (*c->p == ' ' || *c->p == '\t'))
		cur_advance(c, 1);
}

/* Consumes `ch` if it comes next. */
static bool cur_take(struct cur *c, char ch)
{
	if (c->left && *c->p == ch) {
		cur_advance(c, 1);
		return true;
	}
	return false;
}

typedef bool (*char_ok_fn)(char ch);

static bool is_lower(char ch)
{
	return ch >= 'a' && ch <= 'z';
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_key_char(char ch)
{
	return is_lower(ch) || ch == '_';
}

/* Capture paths: printable, no blanks (they end the value). */
static bool is_path_char(char ch)
{
	return ch > ' ' && ch < 0x7f;
}

/* Link keys may carry a direction: `to_stack.loss`. */
static bool is_link_key_char(char ch)
{
	return is_key_char(ch) || ch == '.';
}

/* Names of hosts, links, namespaces and interfaces: no blanks, no '/', no
 * shell or ip(8) surprises. */
static bool is_name_char(char ch)
{
	return is_lower(ch) || is_digit(ch) || (ch >= 'A' && ch <= 'Z') ||
	       ch == '-' || ch == '_' || ch == '.';
}

static int hex_val(char ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads the longest run of `ok` characters into out (cap bytes with NUL).
 * Returns 0, -ENOENT if the run is empty, -ENAMETOOLONG if it does not fit
 * (the run is consumed either way). */
static int cur_word(struct cur *c, char_ok_fn ok, char *out, size_t cap)
{
	size_t n = 0;
	while (n < c->left && ok(c->p[n]))
		n++;
	if (n == 0)
		return -ENOENT;
	int rc = 0;
	if (n >= cap) {
		rc = -ENAMETOOLONG;
	} else {
		memcpy(out, c->p, n);
		out[n] = '\0';
	}
	cur_advance(c, n);
	return rc;
}

/* Reads a decimal number of at most max_digits digits, no sign, no leading
 * zero (so "010" never means octal to anyone). Returns 0, -ENOENT if no
 * digit comes next, -ERANGE if it exceeds max or max_digits. */
static int cur_num(struct cur *c, unsigned max_digits, unsigned long max,
		   unsigned long *out)
{
	size_t n = 0;
	unsigned long v = 0;
	while (n < c->left && is_digit(c->p[n])) {
		if (n == max_digits)
			return -ERANGE;
		v = v * 10 + (unsigned long)(c->p[n] - '0');
		n++;
	}
	if (n == 0)
		return -ENOENT;
	if ((n > 1 && c->p[0] == '0') || v > max)
		return -ERANGE;
	cur_advance(c, n);
	*out = v;
	return 0;
}

static int cur_ipv4(struct cur *c, uint32_t *out)
{
	uint32_t a = 0;
	for (int i = 0; i < 4; i++) {
		unsigned long octet;
		if (i > 0 && !cur_take(c, '.'))
			return -EINVAL;
		if (cur_num(c, 3, 255, &octet) < 0)
			return -EINVAL;
		a = (a << 8) | (uint32_t)octet;
	}
	*out = a;
	return 0;
}

static int cur_mac(struct cur *c, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		if (i > 0 && !cur_take(c, ':'))
			return -EINVAL;
		if (c->left < 2)
			return -EINVAL;
		int hi = hex_val(c->p[0]), lo = hex_val(c->p[1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		mac[i] = (uint8_t)(hi << 4 | lo);
		cur_advance(c, 2);
	}
	return 0;
}

/* ---- parser state ---------------------------------------------------- */

enum section { SEC_NONE, SEC_HOST, SEC_LINK, SEC_ROUTER };

enum lab_key {
	K_KIND,
	K_LINK,
	K_ADDRESS,
	K_GATEWAY,
	K_NETNS,
	K_INTERFACE,
	K_MAC,
	K_MTU,
	K_CAPTURE,
	K_OFFLOAD,
	K_ATTACH,
	K_JOIN_NETNS,
	K_NETNS_PID,
	K_COUNT
};

static const struct {
	const char *name;
	enum section sec;
} key_table[K_COUNT] = {
	[K_KIND] = { "kind", SEC_HOST },
	[K_LINK] = { "link", SEC_HOST },
	[K_ADDRESS] = { "address", SEC_HOST },
	[K_GATEWAY] = { "gateway", SEC_HOST },
	[K_NETNS] = { "netns", SEC_HOST },
	[K_INTERFACE] = { "interface", SEC_HOST },
	[K_MAC] = { "mac", SEC_HOST },
	[K_MTU] = { "mtu", SEC_LINK },
	[K_CAPTURE] = { "capture", SEC_LINK },
	[K_OFFLOAD] = { "offload", SEC_LINK },
	[K_ATTACH] = { "attach", SEC_HOST },
	[K_JOIN_NETNS] = { "join_netns", SEC_HOST },
	[K_NETNS_PID] = { "netns_pid", SEC_HOST },
};

#define LAB_KNOBS_MAX 32 /* >= link_knob_count() */

/* How a link knob got its value in one direction: a direction's own line
 * (`to_stack.loss`) beats a line for both (`loss`), in either order. */
enum knob_from { FROM_DEFAULT, FROM_BOTH, FROM_DIR };

/* Parser state. Invariant: while sec != SEC_NONE, `index` is the entry of
 * lab->hosts or lab->links being filled and key_line[k] is the line where
 * key k was set in it (0 = not yet). dirs[] are scratch link directions
 * that parse the impairment knobs of each link (link_knob_set checks the
 * values); knob_line/knob_from say where each knob came from. */
struct parse {
	struct lab_config *lab;
	struct lab_error *err;
	int line;
	enum section sec;
	int section_line;
	unsigned index;
	int key_line[K_COUNT];
	bool mac_given[LAB_HOSTS_MAX];
	/* Link names are resolved at the end: links may be declared later. */
	char link_ref[LAB_HOSTS_MAX][LAB_NAME_MAX];
	int link_ref_line[LAB_HOSTS_MAX];
	struct link_dir dirs[LAB_LINKS_MAX][LAB_DIRS];
	int knob_line[LAB_LINKS_MAX][LAB_DIRS][LAB_KNOBS_MAX];
	uint8_t knob_from[LAB_LINKS_MAX][LAB_DIRS][LAB_KNOBS_MAX];
};

static const char *const dir_names[LAB_DIRS] = {
	[LAB_TO_STACK] = "to_stack",
	[LAB_TO_KERNEL] = "to_kernel",
};

const char *lab_dir_name(enum lab_dir d)
{
	return (unsigned)d < LAB_DIRS ? dir_names[d] : "?";
}

__attribute__((format(printf, 3, 4)))
static int fail(struct parse *ps, int line, const char *fmt, ...)
{
	va_list ap;
	ps->err->line = line;
	va_start(ap, fmt);
	vsnprintf(ps->err->msg, sizeof(ps->err->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *lab_ip_str(uint32_t a, char *buf)
{
	snprintf(buf, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
		 a & 255);
	return buf;
}

const char *lab_mac_str(const uint8_t m[6], char *buf)
{
	snprintf(buf, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		 m[4], m[5]);
	return buf;
}

static uint32_t prefix_mask(unsigned len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

static bool in_lab_range(uint32_t a)
{
	return (a & prefix_mask(LAB_NET_PREFIX)) == LAB_NET;
}

static bool has_lab_prefix(const char *name)
{
	return strncmp(name, "tcplab", 6) == 0 || strncmp(name, "tl", 2) == 0;
}

/* ---- section headers ------------------------------------------------- */

/* A kernel host's attachment: where its namespace comes from, which
 * interface, and whether it gets an address. */
static int end_kernel_host(struct parse *ps, struct lab_host *h)
{
	int *kl = ps->key_line;
	if (kl[K_MAC])
		return fail(ps, kl[K_MAC],
			    "'mac' is only for stack hosts: the kernel picks the MAC of its interface");
	int ns_keys = !!kl[K_NETNS] + !!kl[K_JOIN_NETNS] + !!kl[K_NETNS_PID];
	if (ns_keys > 1)
		return fail(ps, ps->section_line,
			    "kernel host '%s': use one of 'netns' (created by tcplabd), 'join_netns' (an existing namespace) or 'netns_pid' (a process's namespace)",
			    h->name);
	h->netns_mode = kl[K_JOIN_NETNS] ? LAB_NETNS_JOIN
		      : kl[K_NETNS_PID]  ? LAB_NETNS_PID
		      : kl[K_NETNS]      ? LAB_NETNS_CREATE
					 : LAB_NETNS_ROOT;
	if (h->netns_mode == LAB_NETNS_ROOT && h->attach != LAB_ATTACH_PACKET)
		return fail(ps, ps->section_line,
			    "kernel host '%s' has no 'netns =' line: name its network namespace (tcplab-...), or join one with 'join_netns' or 'netns_pid'",
			    h->name);
	if (h->attach == LAB_ATTACH_PACKET) {
		if (!kl[K_INTERFACE])
			return fail(ps, ps->section_line,
				    "kernel host '%s' (attach = packet) needs 'interface =': the existing interface to attach to, e.g. one end of a veth pair",
				    h->name);
		if (h->netns_mode == LAB_NETNS_CREATE)
			return fail(ps, kl[K_NETNS],
				    "attach = packet uses an existing interface: name its namespace with 'join_netns' or 'netns_pid' (or none: the daemon's own)");
	} else {
		if (!kl[K_INTERFACE])
			snprintf(h->ifname, sizeof(h->ifname), "%s", LAB_DEFAULT_IFNAME);
		else if (!has_lab_prefix(h->ifname))
			return fail(ps, kl[K_INTERFACE],
				    "interface '%s' must start with 'tcplab' or 'tl': tcplabd creates this TAP (only 'attach = packet' uses an existing interface)",
				    h->ifname);
	}
	if (h->attach == LAB_ATTACH_BARE && kl[K_ADDRESS])
		return fail(ps, kl[K_ADDRESS],
			    "a bare attachment has no address (that is the point): drop the line, or use attach = tap");
	if (h->attach == LAB_ATTACH_TAP && !kl[K_ADDRESS])
		return fail(ps, ps->section_line,
			    "host '%s' has no 'address =' line (every host needs kind, link and, unless bare, address)",
			    h->name);
	return 0;
}

/* Checks what a finished section requires; runs at the next header and at
 * the end of the file. */
static int end_section(struct parse *ps)
{
	int *kl = ps->key_line;
	if (ps->sec == SEC_HOST) {
		struct lab_host *h = &ps->lab->hosts[ps->index];
		static const enum lab_key required[] = { K_KIND, K_LINK };
		for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
			if (!kl[required[i]])
				return fail(ps, ps->section_line,
					    "host '%s' has no '%s =' line (every host needs kind, link and, unless bare, address)",
					    h->name, key_table[required[i]].name);
		if (h->kind == LAB_HOST_KERNEL) {
			int rc = end_kernel_host(ps, h);
			if (rc < 0)
				return rc;
		} else {
			static const enum lab_key kernel_only[] = { K_NETNS, K_INTERFACE, K_ATTACH,
								    K_JOIN_NETNS, K_NETNS_PID };
			for (size_t i = 0; i < sizeof(kernel_only) / sizeof(kernel_only[0]); i++)
				if (kl[kernel_only[i]])
					return fail(ps, kl[kernel_only[i]],
						    "'%s' is only for kernel hosts: a stack host lives inside tcplabd",
						    key_table[kernel_only[i]].name);
			if (!kl[K_ADDRESS])
				return fail(ps, ps->section_line,
					    "host '%s' has no 'address =' line (every host needs kind, link and, unless bare, address)",
					    h->name);
		}
		if (kl[K_GATEWAY] && !kl[K_ADDRESS])
			return fail(ps, kl[K_GATEWAY], "a gateway needs an address on the host");
		uint32_t mask = prefix_mask(h->prefix_len);
		if (kl[K_GATEWAY]) {
			char g[16];
			if (h->gateway == h->addr)
				return fail(ps, kl[K_GATEWAY], "gateway %s is the host's own address",
					    lab_ip_str(h->gateway, g));
			if ((h->gateway & mask) != (h->addr & mask))
				return fail(ps, kl[K_GATEWAY],
					    "gateway %s is not on the host's subnet /%u: it must be reachable on the link",
					    lab_ip_str(h->gateway, g), h->prefix_len);
		}
		ps->mac_given[ps->index] = kl[K_MAC] != 0;
	}
	if (ps->sec == SEC_ROUTER && ps->lab->routers[ps->index].n_ifs == 0)
		return fail(ps, ps->section_line,
			    "router '%s' has no 'interface = LINK ADDRESS/PREFIX' line",
			    ps->lab->routers[ps->index].name);
	ps->sec = SEC_NONE;
	return 0;
}

static int parse_header(struct parse *ps, struct cur *c)
{
	struct lab_config *lab = ps->lab;
	char kind[8], name[LAB_NAME_MAX];

	int rc = end_section(ps);
	if (rc < 0)
		return rc;
	cur_take(c, '[');
	cur_blanks(c);
	if (cur_word(c, is_lower, kind, sizeof(kind)) < 0 ||
	    (strcmp(kind, "host") != 0 && strcmp(kind, "link") != 0 &&
	     strcmp(kind, "router") != 0))
		return fail(ps, ps->line,
			    "unknown section: a section header is [host NAME], [link NAME] or [router NAME]");
	cur_blanks(c);
	rc = cur_word(c, is_name_char, name, sizeof(name));
	if (rc == -ENOENT)
		return fail(ps, ps->line, "[%s] needs a name: [%s NAME]", kind, kind);
	if (rc == -ENAMETOOLONG)
		return fail(ps, ps->line, "%s name is longer than %d characters", kind,
			    LAB_NAME_MAX - 1);
	cur_blanks(c);
	if (!cur_take(c, ']'))
		return fail(ps, ps->line,
			    "bad section header: expected ']' after the name (names use letters, digits, '-', '_', '.')");
	cur_blanks(c);
	if (c->left)
		return fail(ps, ps->line, "unexpected text after ']'");

	memset(ps->key_line, 0, sizeof(ps->key_line));
	ps->section_line = ps->line;
	if (strcmp(kind, "host") == 0) {
		for (unsigned i = 0; i < lab->n_hosts; i++)
			if (strcmp(lab->hosts[i].name, name) == 0)
				return fail(ps, ps->line, "host '%s' is already defined on line %d",
					    name, lab->hosts[i].line);
		if (lab->n_hosts == LAB_HOSTS_MAX)
			return fail(ps, ps->line, "too many hosts (at most %d)", LAB_HOSTS_MAX);
		ps->index = lab->n_hosts++;
		struct lab_host *h = &lab->hosts[ps->index];
		memset(h, 0, sizeof(*h));
		snprintf(h->name, sizeof(h->name), "%s", name);
		h->line = ps->line;
		h->link = -1;
		ps->sec = SEC_HOST;
	} else if (strcmp(kind, "link") == 0) {
		for (unsigned i = 0; i < lab->n_links; i++)
			if (strcmp(lab->links[i].name, name) == 0)
				return fail(ps, ps->line, "link '%s' is already defined on line %d",
					    name, lab->links[i].line);
		if (lab->n_links == LAB_LINKS_MAX)
			return fail(ps, ps->line, "too many links (at most %d)", LAB_LINKS_MAX);
		ps->index = lab->n_links++;
		struct lab_link *l = &lab->links[ps->index];
		memset(l, 0, sizeof(*l));
		snprintf(l->name, sizeof(l->name), "%s", name);
		l->line = ps->line;
		l->mtu = LAB_DEFAULT_MTU;
		l->offload = true;
		l->kernel_host = l->stack_host = -1;
		for (unsigned d = 0; d < LAB_DIRS; d++)
			link_dir_init(&ps->dirs[ps->index][d], 0);
		ps->sec = SEC_LINK;
	} else {
		for (unsigned i = 0; i < lab->n_routers; i++)
			if (strcmp(lab->routers[i].name, name) == 0)
				return fail(ps, ps->line, "router '%s' is already defined on line %d",
					    name, lab->routers[i].line);
		if (lab->n_routers == LAB_ROUTERS_MAX)
			return fail(ps, ps->line, "too many routers (at most %d)", LAB_ROUTERS_MAX);
		ps->index = lab->n_routers++;
		struct lab_router *r = &lab->routers[ps->index];
		memset(r, 0, sizeof(*r));
		snprintf(r->name, sizeof(r->name), "%s", name);
		r->line = ps->line;
		ps->sec = SEC_ROUTER;
	}
	return 0;
}

/* ---- key = value ----------------------------------------------------- */

static int parse_name_value(struct parse *ps, struct cur *c, const char *what,
			    char *out, size_t cap, bool need_prefix)
{
	int rc = cur_word(c, is_name_char, out, cap);
	if (rc == -ENOENT)
		return fail(ps, ps->line,
			    "%s must be a name (letters, digits, '-', '_', '.')", what);
	if (rc == -ENAMETOOLONG)
		return fail(ps, ps->line, "%s is longer than %zu characters", what, cap - 1);
	if (need_prefix && !has_lab_prefix(out))
		return fail(ps, ps->line,
			    "%s '%s' must start with 'tcplab' or 'tl', so tcplab never touches other namespaces or interfaces",
			    what, out);
	return 0;
}

/* `on` or `off` into *v; else the error `what`. */
static int parse_on_off(struct parse *ps, struct cur *c, bool *v, const char *what)
{
	char word[8];
	if (cur_word(c, is_lower, word, sizeof(word)) < 0)
		word[0] = '\0';
	if (strcmp(word, "on") != 0 && strcmp(word, "off") != 0)
		return fail(ps, ps->line, "%s", what);
	*v = strcmp(word, "on") == 0;
	return 0;
}

static int parse_value(struct parse *ps, enum lab_key k, struct cur *c)
{
	struct lab_host *h = &ps->lab->hosts[ps->index];
	struct lab_link *l = &ps->lab->links[ps->index];
	char word[16], ip[16];
	unsigned long n;
	uint32_t a;

	switch (k) {
	case K_KIND:
		if (cur_word(c, is_lower, word, sizeof(word)) < 0)
			word[0] = '\0';
		if (strcmp(word, "kernel") == 0)
			h->kind = LAB_HOST_KERNEL;
		else if (strcmp(word, "stack") == 0)
			h->kind = LAB_HOST_STACK;
		else
			return fail(ps, ps->line, "kind must be 'kernel' or 'stack'");
		return 0;
	case K_LINK:
		return parse_name_value(ps, c, "link name", ps->link_ref[ps->index],
					LAB_NAME_MAX, false);
	case K_ADDRESS:
		if (cur_ipv4(c, &a) < 0 || !cur_take(c, '/') ||
		    cur_num(c, 2, 32, &n) < 0)
			return fail(ps, ps->line,
				    "address must be A.B.C.D/PREFIX, e.g. 198.18.0.2/24");
		if (!in_lab_range(a))
			return fail(ps, ps->line,
				    "address %s is outside 198.18.0.0/15: tcplab never sends traffic elsewhere; use 198.18.x.y or 198.19.x.y",
				    lab_ip_str(a, ip));
		if (n < LAB_NET_PREFIX || n > 30)
			return fail(ps, ps->line,
				    "prefix /%lu: use /15 to /30, so the subnet stays inside 198.18.0.0/15 and has room for two hosts",
				    n);
		if ((a & ~prefix_mask((unsigned)n)) == 0 ||
		    (a | prefix_mask((unsigned)n)) == 0xffffffffu)
			return fail(ps, ps->line,
				    "address %s is the network or broadcast address of its /%lu subnet",
				    lab_ip_str(a, ip), n);
		h->addr = a;
		h->prefix_len = (uint8_t)n;
		return 0;
	case K_GATEWAY:
		if (cur_ipv4(c, &a) < 0)
			return fail(ps, ps->line, "gateway must be an address A.B.C.D");
		if (!in_lab_range(a))
			return fail(ps, ps->line,
				    "gateway %s is outside 198.18.0.0/15: tcplab never sends traffic elsewhere",
				    lab_ip_str(a, ip));
		h->gateway = a;
		return 0;
	case K_NETNS:
		return parse_name_value(ps, c, "netns", h->netns, sizeof(h->netns), true);
	case K_INTERFACE: /* the prefix rule depends on attach: end_kernel_host */
		return parse_name_value(ps, c, "interface", h->ifname, sizeof(h->ifname),
					false);
	case K_JOIN_NETNS:
		return parse_name_value(ps, c, "join_netns", h->netns, sizeof(h->netns), false);
	case K_NETNS_PID:
		if (cur_num(c, 7, 4194304, &n) < 0 || n == 0)
			return fail(ps, ps->line, "netns_pid must be a process id (1..4194304)");
		h->netns_pid = (int)n;
		return 0;
	case K_ATTACH:
		if (cur_word(c, is_lower, word, sizeof(word)) < 0)
			word[0] = '\0';
		if (strcmp(word, "tap") == 0)
			h->attach = LAB_ATTACH_TAP;
		else if (strcmp(word, "bare") == 0)
			h->attach = LAB_ATTACH_BARE;
		else if (strcmp(word, "packet") == 0)
			h->attach = LAB_ATTACH_PACKET;
		else
			return fail(ps, ps->line,
				    "attach must be 'tap' (default), 'bare' (a TAP with no address) or 'packet' (AF_PACKET on an existing interface)");
		return 0;
	case K_MAC:
		if (cur_mac(c, h->mac) < 0)
			return fail(ps, ps->line, "mac must be six hex pairs, e.g. 02:74:6c:00:00:01");
		if (h->mac[0] & 1)
			return fail(ps, ps->line,
				    "mac %02x:... is a multicast address: a host needs a unicast MAC (first byte even)",
				    h->mac[0]);
		if (!(h->mac[0] | h->mac[1] | h->mac[2] | h->mac[3] | h->mac[4] | h->mac[5]))
			return fail(ps, ps->line, "mac 00:00:00:00:00:00 is not a usable address");
		return 0;
	case K_MTU:
		if (cur_num(c, 5, 65535, &n) < 0 || n < 68 || n > 1500)
			return fail(ps, ps->line,
				    "mtu must be a number from 68 to 1500 (larger frames come with a later issue)");
		l->mtu = (uint16_t)n;
		return 0;
	case K_CAPTURE: {
		int rc = cur_word(c, is_path_char, l->capture, sizeof(l->capture));
		if (rc == -ENAMETOOLONG)
			return fail(ps, ps->line, "capture path is longer than %d characters",
				    LAB_PATH_MAX - 1);
		if (rc < 0 || l->capture[0] != '/')
			return fail(ps, ps->line,
				    "capture must be an absolute path, e.g. /tmp/l0.pcap (blanks end it)");
		return 0;
	}
	case K_OFFLOAD:
		return parse_on_off(ps, c, &l->offload,
				    "offload must be 'on' (TSO and checksum offload on the TAP) or 'off' (every frame at most the MTU, checksums filled in)");
	case K_COUNT:
		break;
	}
	return fail(ps, ps->line, "internal error: unknown key");
}

/* Sets knob `ki` of one direction from a line with the given precedence. */
static int set_link_knob(struct parse *ps, unsigned dir, size_t ki, enum knob_from from,
			 const char *key, const char *value)
{
	unsigned li = ps->index;
	const char *name = link_knob_name(ki);
	int *line = &ps->knob_line[li][dir][ki];
	uint8_t *have = &ps->knob_from[li][dir][ki];
	if (*have == from)
		return fail(ps, ps->line, "'%s' is already set for %s on line %d", key,
			    dir_names[dir], *line);
	if (*have > from)
		return 0; /* the direction's own line wins */
	struct link_dir *d = &ps->dirs[li][dir];
	int rc;
	if (strcmp(name, "seed") == 0 && from == FROM_BOTH) {
		/* One seed for the link; the directions must not share a stream,
		 * or ping request i and reply i would be lost together. */
		rc = link_knob_set(d, name, value);
		if (rc == 0 && dir == LAB_TO_KERNEL)
			link_dir_seed(d, d->seed + 1);
	} else {
		rc = link_knob_set(d, name, value);
	}
	if (rc < 0)
		return fail(ps, ps->line, "bad value '%s' for '%s': %s", value, key,
			    link_knob_help(name));
	*have = (uint8_t)from;
	*line = ps->line;
	return 0;
}

/* `[to_stack.|to_kernel.]KNOB = VALUE` in a [link] section. */
static int parse_link_knob(struct parse *ps, const char *key, struct cur *c)
{
	const char *name = key;
	unsigned first = 0, last = LAB_DIRS - 1;
	enum knob_from from = FROM_BOTH;
	const char *dot = strchr(key, '.');
	if (dot) {
		unsigned d;
		for (d = 0; d < LAB_DIRS; d++)
			if (strlen(dir_names[d]) == (size_t)(dot - key) &&
			    strncmp(key, dir_names[d], (size_t)(dot - key)) == 0)
				break;
		if (d == LAB_DIRS)
			return fail(ps, ps->line,
				    "unknown direction in '%s': use to_stack.KNOB or to_kernel.KNOB", key);
		first = last = d;
		from = FROM_DIR;
		name = dot + 1;
	}
	size_t ki;
	for (ki = 0; ki < link_knob_count(); ki++)
		if (strcmp(link_knob_name(ki), name) == 0)
			break;
	if (ki == link_knob_count() || ki >= LAB_KNOBS_MAX)
		return fail(ps, ps->line,
			    "unknown key '%s' (link keys: mtu, capture, offload, seed and the impairments delay jitter delay_corr distribution loss loss_corr ge_p ge_r ge_bad_loss ge_good_loss duplicate corrupt reorder reorder_gap rate overhead limit ..., each also as to_stack.KEY or to_kernel.KEY; see docs/labs.md)",
			    key);
	cur_blanks(c);
	/* The rest of the line is the value (trailing blanks are trimmed). */
	char value[64];
	if (c->left == 0)
		return fail(ps, ps->line, "'%s' needs a value: %s", key, link_knob_help(name));
	if (c->left >= sizeof(value))
		return fail(ps, ps->line, "value of '%s' is too long", key);
	memcpy(value, c->p, c->left);
	value[c->left] = '\0';
	cur_advance(c, c->left);
	for (unsigned d = first; d <= last; d++) {
		int rc = set_link_knob(ps, d, ki, from, key, value);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* `interface = LINK ADDR/PREFIX`: the router gets a host on LINK. */
static int parse_router_if(struct parse *ps, struct lab_router *r, struct cur *c)
{
	struct lab_config *lab = ps->lab;
	char link[LAB_NAME_MAX], ip[16];
	uint32_t a;
	unsigned long n;
	if (cur_word(c, is_name_char, link, sizeof(link)) < 0)
		return fail(ps, ps->line, "interface must be 'LINK ADDRESS/PREFIX', e.g. 'lan 198.18.0.254/24'");
	cur_blanks(c);
	if (cur_ipv4(c, &a) < 0 || !cur_take(c, '/') || cur_num(c, 2, 32, &n) < 0)
		return fail(ps, ps->line, "interface must be 'LINK ADDRESS/PREFIX', e.g. 'lan 198.18.0.254/24'");
	if (!in_lab_range(a))
		return fail(ps, ps->line,
			    "address %s is outside 198.18.0.0/15: tcplab never sends traffic elsewhere; use 198.18.x.y or 198.19.x.y",
			    lab_ip_str(a, ip));
	if (n < LAB_NET_PREFIX || n > 30)
		return fail(ps, ps->line, "prefix /%lu: use /15 to /30", n);
	if ((a & ~prefix_mask((unsigned)n)) == 0 || (a | prefix_mask((unsigned)n)) == 0xffffffffu)
		return fail(ps, ps->line, "address %s is the network or broadcast address of its /%lu subnet",
			    lab_ip_str(a, ip), n);
	if (r->n_ifs == LAB_ROUTER_IFS_MAX)
		return fail(ps, ps->line, "router '%s' has too many interfaces (at most %d)", r->name,
			    LAB_ROUTER_IFS_MAX);
	for (unsigned i = 0; i < r->n_ifs; i++)
		if (strcmp(ps->link_ref[r->ifs[i]], link) == 0)
			return fail(ps, ps->line, "router '%s' already has an interface on link '%s'",
				    r->name, link);
	char hname[LAB_NAME_MAX];
	if ((size_t)snprintf(hname, sizeof(hname), "%s.%s", r->name, link) >= sizeof(hname))
		return fail(ps, ps->line, "router name and link name together are longer than %d characters",
			    LAB_NAME_MAX - 2);
	for (unsigned i = 0; i < lab->n_hosts; i++)
		if (strcmp(lab->hosts[i].name, hname) == 0)
			return fail(ps, ps->line, "host '%s' is already defined on line %d", hname,
				    lab->hosts[i].line);
	if (lab->n_hosts == LAB_HOSTS_MAX)
		return fail(ps, ps->line, "too many hosts (at most %d, router interfaces included)",
			    LAB_HOSTS_MAX);
	unsigned hi = lab->n_hosts++;
	struct lab_host *h = &lab->hosts[hi];
	memset(h, 0, sizeof(*h));
	snprintf(h->name, sizeof(h->name), "%s", hname);
	h->kind = LAB_HOST_ROUTER;
	h->link = -1;
	h->addr = a;
	h->prefix_len = (uint8_t)n;
	h->router = (int)ps->index;
	h->line = ps->line;
	uint8_t mac[6] = { 0x02, 0x74, 0x72, 0x00, (uint8_t)(ps->index + 1), (uint8_t)r->n_ifs };
	memcpy(h->mac, mac, 6);
	ps->mac_given[hi] = true;
	snprintf(ps->link_ref[hi], LAB_NAME_MAX, "%s", link);
	ps->link_ref_line[hi] = ps->line;
	r->ifs[r->n_ifs++] = (uint8_t)hi;
	return 0;
}

/* `route = NET/PREFIX via GATEWAY`. */
static int parse_router_route(struct parse *ps, struct lab_router *r, struct cur *c)
{
	char word[8], ip[16], net[16];
	uint32_t dst, via;
	unsigned long n;
	static const char usage[] = "route must be 'NET/PREFIX via GATEWAY', e.g. '198.18.2.0/24 via 198.18.1.9'";
	if (cur_ipv4(c, &dst) < 0 || !cur_take(c, '/') || cur_num(c, 2, 32, &n) < 0)
		return fail(ps, ps->line, usage);
	cur_blanks(c);
	if (cur_word(c, is_lower, word, sizeof(word)) < 0 || strcmp(word, "via") != 0)
		return fail(ps, ps->line, usage);
	cur_blanks(c);
	if (cur_ipv4(c, &via) < 0)
		return fail(ps, ps->line, usage);
	if (dst & ~prefix_mask((unsigned)n))
		return fail(ps, ps->line, "route %s/%lu has host bits set: name the network (e.g. %s/%lu)",
			    lab_ip_str(dst, ip), n, lab_ip_str(dst & prefix_mask((unsigned)n), net), n);
	if (!in_lab_range(via) || (n && !in_lab_range(dst)))
		return fail(ps, ps->line, "routes stay inside 198.18.0.0/15");
	if (r->n_routes == LAB_ROUTES_MAX)
		return fail(ps, ps->line, "router '%s' has too many routes (at most %d)", r->name,
			    LAB_ROUTES_MAX);
	r->route_line[r->n_routes] = ps->line;
	r->routes[r->n_routes++] = (struct lab_route){ dst, (uint8_t)n, via };
	return 0;
}

static int parse_router_key(struct parse *ps, struct cur *c)
{
	char key[16];
	struct lab_router *r = &ps->lab->routers[ps->index];
	if (cur_word(c, is_key_char, key, sizeof(key)) < 0)
		key[0] = '\0';
	bool is_if = strcmp(key, "interface") == 0, is_route = strcmp(key, "route") == 0;
	bool is_hole = strcmp(key, "pmtu_black_hole") == 0;
	if (!is_if && !is_route && !is_hole)
		return fail(ps, ps->line,
			    "unknown key '%s' (router keys: interface = LINK ADDRESS/PREFIX, route = NET/PREFIX via GATEWAY, each may repeat; pmtu_black_hole = on|off)",
			    key);
	cur_blanks(c);
	if (!cur_take(c, '='))
		return fail(ps, ps->line, "expected '=' after '%s'", key);
	cur_blanks(c);
	int rc = is_if ? parse_router_if(ps, r, c)
		 : is_route ? parse_router_route(ps, r, c)
			    : parse_on_off(ps, c, &r->pmtu_black_hole,
					   "pmtu_black_hole must be 'on' (too-big DF datagrams dropped without ICMP) or 'off'");
	if (rc < 0)
		return rc;
	cur_blanks(c);
	if (c->left)
		return fail(ps, ps->line, "unexpected text after the value of '%s': '%.*s'", key,
			    c->left > 40 ? 40 : (int)c->left, c->p);
	return 0;
}

static int parse_assignment(struct parse *ps, struct cur *c)
{
	char key[40];
	if (ps->sec == SEC_ROUTER)
		return parse_router_key(ps, c);
	int rc = cur_word(c, ps->sec == SEC_LINK ? is_link_key_char : is_key_char, key,
			  sizeof(key));
	if (rc == -ENOENT)
		return fail(ps, ps->line,
			    "expected '[section]', 'key = value' or a '#' comment");
	enum lab_key k = K_COUNT;
	if (rc == 0)
		for (int i = 0; i < K_COUNT; i++)
			if (strcmp(key_table[i].name, key) == 0)
				k = (enum lab_key)i;
	if (k == K_COUNT && rc == 0 && ps->sec == SEC_LINK) {
		cur_blanks(c);
		if (!cur_take(c, '='))
			return fail(ps, ps->line, "expected '=' after '%s'", key);
		return parse_link_knob(ps, key, c);
	}
	if (k == K_COUNT)
		return fail(ps, ps->line,
			    "unknown key '%s' (host keys: kind link address gateway netns join_netns netns_pid interface attach mac; link keys: mtu, capture, offload, seed, impairments such as delay and loss)",
			    rc == 0 ? key : "...");
	cur_blanks(c);
	if (!cur_take(c, '='))
		return fail(ps, ps->line, "expected '=' after '%s'", key);
	cur_blanks(c);
	if (ps->sec == SEC_NONE)
		return fail(ps, ps->line,
			    "'%s' comes before any section: start with [host NAME] or [link NAME]",
			    key);
	if (key_table[k].sec != ps->sec)
		return fail(ps, ps->line, "'%s' does not belong in a [%s] section", key,
			    ps->sec == SEC_HOST ? "host" : "link");
	if (ps->key_line[k])
		return fail(ps, ps->line, "'%s' is already set on line %d", key,
			    ps->key_line[k]);
	ps->key_line[k] = ps->line;
	if (k == K_LINK)
		ps->link_ref_line[ps->index] = ps->line;

	rc = parse_value(ps, k, c);
	if (rc < 0)
		return rc;
	cur_blanks(c);
	if (c->left)
		return fail(ps, ps->line, "unexpected text after the value of '%s': '%.*s'",
			    key, c->left > 40 ? 40 : (int)c->left, c->p);
	return 0;
}

/* ---- whole-file checks ----------------------------------------------- */

static int check_lab(struct parse *ps)
{
	struct lab_config *lab = ps->lab;
	char a1[16], m1[18];

	if (lab->n_hosts == 0)
		return fail(ps, 0, "the lab defines no hosts: add [link], then a kernel and a stack [host] on it");

	for (unsigned j = 0; j < lab->n_links; j++)
		lab->links[j].kernel_host = lab->links[j].stack_host = -1;
	for (unsigned i = 0; i < lab->n_hosts; i++) {
		struct lab_host *h = &lab->hosts[i];
		for (unsigned j = 0; j < lab->n_links; j++)
			if (strcmp(lab->links[j].name, ps->link_ref[i]) == 0)
				h->link = (int)j;
		if (h->link < 0)
			return fail(ps, ps->link_ref_line[i],
				    "link '%s' is not defined: add a [link %s] section",
				    ps->link_ref[i], ps->link_ref[i]);
		struct lab_link *l = &lab->links[h->link];
		if (l->n_members == LAB_PORTS_MAX)
			return fail(ps, h->line, "link '%s' already joins %d hosts (the most a link takes)",
				    l->name, LAB_PORTS_MAX);
		l->members[l->n_members++] = (uint8_t)i;
		int *first = h->kind == LAB_HOST_KERNEL ? &l->kernel_host
			   : h->kind == LAB_HOST_STACK  ? &l->stack_host
							: NULL;
		if (first && *first < 0)
			*first = (int)i;

		for (unsigned j = 0; j < i; j++) {
			struct lab_host *o = &lab->hosts[j];
			if (h->addr && o->addr == h->addr)
				return fail(ps, h->line, "address %s is already used by host '%s'",
					    lab_ip_str(h->addr, a1), o->name);
			if (h->kind != LAB_HOST_KERNEL || o->kind != LAB_HOST_KERNEL)
				continue;
			bool named = h->netns_mode == LAB_NETNS_CREATE || h->netns_mode == LAB_NETNS_JOIN;
			bool o_named = o->netns_mode == LAB_NETNS_CREATE || o->netns_mode == LAB_NETNS_JOIN;
			bool same_ns = named && o_named && strcmp(o->netns, h->netns) == 0;
			if (same_ns && (lab_host_owns_netns(h) || lab_host_owns_netns(o)))
				return fail(ps, h->line,
					    "netns '%s' is already used by host '%s': each kernel host tcplabd creates gets its own namespace",
					    h->netns, o->name);
			bool same_place = same_ns ||
					  (h->netns_mode == o->netns_mode &&
					   ((h->netns_mode == LAB_NETNS_PID && h->netns_pid == o->netns_pid) ||
					    h->netns_mode == LAB_NETNS_ROOT));
			if (same_place && strcmp(o->ifname, h->ifname) == 0)
				return fail(ps, h->line,
					    "interface '%s' in that namespace is already host '%s''s",
					    h->ifname, o->name);
		}
	}

	for (unsigned j = 0; j < lab->n_links; j++) {
		struct lab_link *l = &lab->links[j];
		for (unsigned d = 0; d < LAB_DIRS; d++) {
			const struct link_dir *ld = &ps->dirs[j][d];
			l->knobs[d] = ld->k;
			l->seed[d] = ld->seed;
			l->seed_set[d] = false;
			for (size_t ki = 0; ki < link_knob_count() && ki < LAB_KNOBS_MAX; ki++)
				if (strcmp(link_knob_name(ki), "seed") == 0)
					l->seed_set[d] = ps->knob_from[j][d][ki] != FROM_DEFAULT;
			const char *why = link_knobs_check(&ld->k);
			if (why)
				return fail(ps, l->line, "link '%s' %s: %s", l->name, dir_names[d], why);
		}
		if (l->n_members < 2)
			return fail(ps, l->line,
				    "link '%s' joins %s: a link needs two hosts or more (say, a kernel host and a stack host)",
				    l->name, l->n_members ? "only one host" : "no host");
		if (l->capture[0] && l->stack_host < 0)
			return fail(ps, l->line,
				    "link '%s' has a capture but no stack host: a capture records what a stack host sends and receives",
				    l->name);
		/* Every addressed host of a segment shares one subnet. */
		const struct lab_host *ref = NULL;
		for (unsigned m = 0; m < l->n_members; m++) {
			const struct lab_host *h = &lab->hosts[l->members[m]];
			if (!h->addr)
				continue;
			if (!ref) {
				ref = h;
				continue;
			}
			uint32_t mask = prefix_mask(ref->prefix_len);
			if (h->prefix_len != ref->prefix_len || (h->addr & mask) != (ref->addr & mask))
				return fail(ps, h->line,
					    "hosts '%s' and '%s' share link '%s' but not a subnet: give them addresses in the same /N",
					    ref->name, h->name, l->name);
		}
	}

	for (unsigned ri = 0; ri < lab->n_routers; ri++) {
		const struct lab_router *r = &lab->routers[ri];
		for (unsigned k = 0; k < r->n_routes; k++) {
			const struct lab_route *rt = &r->routes[k];
			bool on_link = false;
			for (unsigned i = 0; i < r->n_ifs; i++) {
				const struct lab_host *h = &lab->hosts[r->ifs[i]];
				uint32_t mask = prefix_mask(h->prefix_len);
				on_link |= (rt->via & mask) == (h->addr & mask) && rt->via != h->addr;
			}
			if (!on_link)
				return fail(ps, r->route_line[k],
					    "gateway %s of router '%s' is on none of its interfaces' subnets",
					    lab_ip_str(rt->via, a1), r->name);
		}
	}

	/* Stack hosts without a mac get a locally administered one (02:74:6c =
	 * "tl") numbered by position, unless a host chose it explicitly. */
	for (unsigned i = 0; i < lab->n_hosts; i++) {
		struct lab_host *h = &lab->hosts[i];
		if (h->kind != LAB_HOST_STACK || ps->mac_given[i])
			continue;
		uint8_t mac[6] = { 0x02, 0x74, 0x6c, 0x00, 0x00, (uint8_t)(i + 1) };
		memcpy(h->mac, mac, 6);
	}
	for (unsigned i = 0; i < lab->n_hosts; i++)
		for (unsigned j = 0; j < i; j++)
			if (lab->hosts[i].kind != LAB_HOST_KERNEL &&
			    lab->hosts[j].kind != LAB_HOST_KERNEL &&
			    memcmp(lab->hosts[i].mac, lab->hosts[j].mac, 6) == 0)
				return fail(ps, lab->hosts[i].line,
					    "host '%s' has the same mac %s as host '%s'",
					    lab->hosts[i].name, lab_mac_str(lab->hosts[i].mac, m1),
					    lab->hosts[j].name);
	return 0;
}

/* ---- entry points ---------------------------------------------------- */

int lab_parse(const char *text, size_t len, struct lab_config *lab,
	      struct lab_error *err)
{
	struct parse *ps = calloc(1, sizeof(*ps));
	if (!ps) {
		err->line = 0;
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	memset(lab, 0, sizeof(*lab));
	memset(err, 0, sizeof(*err));
	ps->lab = lab;
	ps->err = err;

	int rc = 0;
	struct cur file = { text, len };
	if (len > LAB_FILE_MAX) {
		rc = fail(ps, 0, "lab file is larger than %d bytes", LAB_FILE_MAX);
		goto out;
	}
	while (file.left > 0) {
		ps->line++;
		const char *nl = memchr(file.p, '\n', file.left);
		size_t n = nl ? (size_t)(nl - file.p) : file.left;
		struct cur c = { file.p, n };
		cur_advance(&file, nl ? n + 1 : n);

		if (memchr(c.p, '\0', c.left)) {
			rc = fail(ps, ps->line, "NUL byte: a lab file is text");
			break;
		}
		if (n > LAB_LINE_MAX) {
			rc = fail(ps, ps->line, "line is longer than %d characters", LAB_LINE_MAX);
			break;
		}
		/* Trim trailing blanks and a CR (files edited on Windows). */
		while (c.left && (c.p[c.left - 1] == ' ' || c.p[c.left - 1] == '\t' ||
				  c.p[c.left - 1] == '\r'))
			c.left--;
		cur_blanks(&c);
		if (c.left == 0 || c.p[0] == '#' || c.p[0] == ';')
			continue;
		rc = c.p[0] == '[' ? parse_header(ps, &c) : parse_assignment(ps, &c);
		if (rc < 0)
			break;
	}
	if (rc == 0)
		rc = end_section(ps);
	if (rc == 0)
		rc = check_lab(ps);
out:
	free(ps);
	return rc;
}

int lab_load(const char *path, struct lab_config *lab, struct lab_error *err)
{
	memset(err, 0, sizeof(*err));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(e));
		return -e;
	}
	/* One byte more than allowed, to tell "too large" from "exactly max". */
	char *buf = malloc(LAB_FILE_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err->msg, sizeof(err->msg), "out of memory");
		return -ENOMEM;
	}
	size_t len = 0;
	int rc = 0;
	while (len < LAB_FILE_MAX + 1) {
		ssize_t r = read(fd, buf + len, LAB_FILE_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(errno));
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (rc == 0)
		rc = lab_parse(buf, len, lab, err);
	free(buf);
	return rc;
}

const char *lab_default_text(void)
{
	return LAB_DEFAULT_TEXT;
}

int lab_load_default(struct lab_config *lab, struct lab_error *err)
{
	return lab_parse(LAB_DEFAULT_TEXT, strlen(LAB_DEFAULT_TEXT), lab, err);
}
