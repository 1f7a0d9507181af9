/* Lab files: the INI-like description of a lab (hosts and links), parsed by
 * a bounded cursor parser into a validated struct lab_config. The format is
 * documented in docs/labs.md; the default lab (labs/default.lab) is embedded
 * in the binary so that tcplabd needs no file.
 *
 * Pure parsing and validation (no I/O) except lab_load(), which reads a file.
 * Any thread may call these; they keep no state. */
#ifndef TL_DAEMON_LAB_FILE_H
#define TL_DAEMON_LAB_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link.h"

#define LAB_NAME_MAX 32    /* host and link names, with NUL (= STACK_NAME_MAX) */
#define LAB_NETNS_MAX 64   /* namespace names, with NUL */
#define LAB_IFNAME_MAX 16  /* interface names, with NUL (IFNAMSIZ) */
#define LAB_HOSTS_MAX 32
#define LAB_LINKS_MAX 16
#define LAB_PORTS_MAX 32   /* hosts on one link (= SW_PORTS_MAX) */
#define LAB_ROUTERS_MAX 4
#define LAB_ROUTER_IFS_MAX 8     /* = ROUTER_IFS_MAX */
#define LAB_ROUTES_MAX 32        /* per router (= ROUTER_ROUTES_MAX) */
#define LAB_LINE_MAX 512   /* longest accepted line, without newline */
#define LAB_FILE_MAX 65536 /* largest accepted file */
#define LAB_PATH_MAX 256   /* capture file paths, with NUL */

/* The only range a lab may use: 198.18.0.0/15 (RFC 2544 benchmarking), so
 * tcplab never sends traffic to a real network. */
#define LAB_NET 0xC6120000u /* 198.18.0.0 */
#define LAB_NET_PREFIX 15

#define LAB_DEFAULT_IFNAME "tl0"
#define LAB_DEFAULT_MTU 1500

enum lab_host_kind {
	LAB_HOST_KERNEL = 1, /* a Linux network namespace with a TAP interface */
	LAB_HOST_STACK,      /* a tcplab userspace stack */
	LAB_HOST_ROUTER,     /* one interface of a [router], made by the parser */
};

/* How a kernel host is attached to its link. */
enum lab_attach {
	LAB_ATTACH_TAP = 0, /* a TAP in the namespace, addressed and routed */
	LAB_ATTACH_BARE,    /* a TAP in the namespace, up, with no address
			     * (raw-frame tools: scapy, hping3, probes) */
	LAB_ATTACH_PACKET,  /* AF_PACKET on an existing interface (one end of
			     * a veth pair, a containerlab link); tcplabd
			     * configures nothing on it */
};

/* Where a kernel host's namespace comes from. */
enum lab_netns_mode {
	LAB_NETNS_CREATE = 0, /* `netns = NAME`: tcplabd creates and deletes it */
	LAB_NETNS_JOIN,       /* `join_netns = NAME`: exists already; never deleted */
	LAB_NETNS_PID,        /* `netns_pid = PID`: the namespace of a process */
	LAB_NETNS_ROOT,       /* packet attachments only: the daemon's own */
};

/* The two directions of a link, indexing lab_link.knobs and friends. */
enum lab_dir {
	LAB_TO_STACK = 0,  /* kernel host -> stack host */
	LAB_TO_KERNEL = 1, /* stack host -> kernel host */
};
#define LAB_DIRS 2

/* A link is a segment joining two or more hosts (kernel and stack, in any
 * mix). Two hosts make a wire; more are joined by the daemon's learning
 * switch (netemu/switch.h). Invariants after lab_parse(): 2 <= n_members
 * <= LAB_PORTS_MAX, members[] index lab->hosts in file order;
 * kernel_host/stack_host are the first kernel/stack member (-1 if none);
 * knobs[d] passes link_knobs_check(); capture is set only if a stack host
 * is on the link. */
struct lab_link {
	char name[LAB_NAME_MAX];
	uint16_t mtu; /* IP MTU, 68..1500 */
	int line;     /* line of the [link] header */
	int kernel_host, stack_host;
	unsigned n_members;
	uint8_t members[LAB_PORTS_MAX];
	/* Impairments per direction (netemu/link.h): to_stack applies to the
	 * frames kernel hosts send onto the link, to_kernel to those stack
	 * hosts send (on a two-host link, exactly the two directions). A
	 * `seed = N` line gives to_stack N and to_kernel N + 1, so the two
	 * directions never share a pattern; seed_set false: the daemon draws a
	 * seed and logs it. */
	struct link_knobs knobs[LAB_DIRS];
	uint64_t seed[LAB_DIRS];
	bool seed_set[LAB_DIRS];
	char capture[LAB_PATH_MAX]; /* pcap file written from the start; "" = none */
	/* TSO and checksum offload on the TAP (IFF_VNET_HDR): the kernel hands
	 * over 64 KiB superframes and the stack sends them (default on). */
	bool offload;
};

/* "to_stack" / "to_kernel". */
const char *lab_dir_name(enum lab_dir d);

/* One host. Invariants after lab_parse(): addr (0 = none: bare and
 * unaddressed packet attachments only) and gateway (if non-zero) lie in
 * 198.18.0.0/15 and inside the host's subnet; prefix_len is 15..30; addr
 * is neither the subnet's network nor its broadcast address; link indexes
 * lab->links. Kernel hosts have ifname set; what tcplabd creates (a
 * namespace with netns_mode CREATE, a TAP) is named "tcplab..." or
 * "tl..."; netns is set unless netns_mode is PID or ROOT. Stack hosts
 * have a unicast MAC. */
struct lab_host {
	char name[LAB_NAME_MAX];
	enum lab_host_kind kind;
	int link;
	uint32_t addr;    /* host byte order; 0 = none */
	uint8_t prefix_len;
	uint32_t gateway; /* host byte order; 0 = none */
	char netns[LAB_NETNS_MAX];   /* kernel hosts */
	char ifname[LAB_IFNAME_MAX]; /* kernel hosts */
	enum lab_attach attach;         /* kernel hosts */
	enum lab_netns_mode netns_mode; /* kernel hosts */
	int netns_pid;                  /* LAB_NETNS_PID */
	int router;                     /* router interfaces: index in lab->routers */
	uint8_t mac[6];              /* stack hosts */
	int line; /* line of the [host] header */
};

/* A static route of a router. */
struct lab_route {
	uint32_t dst;       /* network, host byte order (no host bits) */
	uint8_t prefix_len;
	uint32_t via;       /* on one of the router's subnets */
};

/* The daemon as an IPv4 router (netemu/router.h) between links. Each
 * `interface = LINK ADDR/PREFIX` line becomes a host of kind
 * LAB_HOST_ROUTER named "ROUTER.LINK" (ifs[] index lab->hosts) with MAC
 * 02:74:72:00:RR:II. Invariants after lab_parse(): 1 <= n_ifs, at most one
 * interface per link; every route's gateway lies on an interface's subnet. */
struct lab_router {
	char name[LAB_NAME_MAX];
	int line;
	unsigned n_ifs;
	uint8_t ifs[LAB_ROUTER_IFS_MAX];
	unsigned n_routes;
	struct lab_route routes[LAB_ROUTES_MAX];
	int route_line[LAB_ROUTES_MAX];
	bool pmtu_black_hole; /* pmtu_black_hole = on: no "frag needed" */
};

/* True when tcplabd creates (and at exit deletes) the host's namespace. */
static inline bool lab_host_owns_netns(const struct lab_host *h)
{
	return h->kind == LAB_HOST_KERNEL && h->netns_mode == LAB_NETNS_CREATE;
}

struct lab_config {
	struct lab_host hosts[LAB_HOSTS_MAX];
	unsigned n_hosts;
	struct lab_link links[LAB_LINKS_MAX];
	unsigned n_links;
	struct lab_router routers[LAB_ROUTERS_MAX];
	unsigned n_routers;
};

/* Where and why parsing failed. line is 0 when no line is to blame (an I/O
 * error, an empty lab). msg is one line, saying what to do where it can. */
struct lab_error {
	int line;
	char msg[256];
};

/* Parses and validates `len` bytes of lab text. Returns 0, or -EINVAL with
 * *err filled (lab is then unspecified). */
int lab_parse(const char *text, size_t len, struct lab_config *lab,
	      struct lab_error *err);

/* Reads and parses a lab file. Returns 0, -EINVAL (see err) or a negative
 * errno from reading (err->msg says so too). */
int lab_load(const char *path, struct lab_config *lab, struct lab_error *err);

/* The embedded default lab, byte for byte labs/default.lab. */
const char *lab_default_text(void);
/* Parses the embedded default lab (cannot fail unless the build is broken). */
int lab_load_default(struct lab_config *lab, struct lab_error *err);

/* Formats addr (host order) as dotted quad into buf (>= 16 bytes). */
const char *lab_ip_str(uint32_t addr, char *buf);
/* Formats a MAC as xx:xx:xx:xx:xx:xx into buf (>= 18 bytes). */
const char *lab_mac_str(const uint8_t mac[6], char *buf);

#endif
