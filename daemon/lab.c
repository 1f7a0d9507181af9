/* Building and tearing down a lab (see lab.h). Everything created is
 * recorded as it is created (ns_claimed, ns_created, wires) so that
 * lab_down() undoes exactly that, in reverse, after a failure half-way
 * through lab_up() as well as at shutdown. */
#include "lab.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netns.h"
#include "pcap.h"
#include "services.h"
#include "router.h"
#include "stack.h"
#include "switch.h"
#include "tap_io.h"

int lab_check_names(const struct lab_config *cfg, struct registry *reg,
		    struct lab_conflict *conflict)
{
	struct reg_entry e;
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct lab_host *h = &cfg->hosts[i];
		if (!lab_host_owns_netns(h))
			continue;
		if (registry_find(reg, REG_NETNS, h->netns, &e) == 0 &&
		    registry_owner_alive(&e)) {
			snprintf(conflict->netns, sizeof(conflict->netns), "%s", h->netns);
			conflict->pid = (int)e.pid;
			return -EBUSY;
		}
	}
	return 0;
}

int lab_remove_orphans(const struct lab_config *cfg, struct registry *reg)
{
	struct reg_entry e;
	char err[256];
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct lab_host *h = &cfg->hosts[i];
		if (!lab_host_owns_netns(h) || !netns_exists(h->netns))
			continue;
		bool entry = registry_find(reg, REG_NETNS, h->netns, &e) == 0;
		if (entry && registry_owner_alive(&e))
			continue; /* lab_check_names() refuses this case */
		if (netns_delete(h->netns, err, sizeof(err)) < 0) {
			log_warn("cannot remove stale namespace %s: %s", h->netns, err);
			return -EIO;
		}
		if (entry) {
			registry_release(reg, REG_NETNS, h->netns);
			log_info("removed stale namespace %s left by crashed tcplabd pid %d",
				 h->netns, (int)e.pid);
		} else {
			log_info("removed stale namespace %s: named in this lab, no live tcplabd owns it",
				 h->netns);
		}
	}
	return 0;
}

/* Runs `ip -n NS ARGS...`, prefixing a failure with what we were doing. */
static int ip_in(const char *ns, const char *what, const char *const args[],
		 char *err, size_t errlen)
{
	const char *argv[16] = { "-n", ns };
	size_t n = 2;
	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	char why[256];
	int rc = netns_ip(argv, why, sizeof(why));
	if (rc < 0)
		snprintf(err, errlen, "cannot %s in namespace %s: %s", what, ns, why);
	return rc;
}

/* Configures the kernel end of a TAP we created: MTU, IPv6 off, up; for
 * attach = tap also the address and the default route. lo is brought up
 * only in a namespace we created (someone else's is theirs to run). */
static int configure_tap(const struct lab_host *k, const struct lab_link *l, char *err,
			 size_t errlen)
{
	char addr[32], ip[16], mtu[8], path[128];
	const char *ns = k->netns, *ifn = k->ifname;
	int rc;

	if (lab_host_owns_netns(k)) {
		const char *lo_up[] = { "link", "set", "lo", "up", NULL };
		if ((rc = ip_in(ns, "bring lo up", lo_up, err, errlen)) < 0)
			return rc;
	}
	/* Without this the kernel sends router solicitations and DAD probes
	 * that would show up as noise in every capture. */
	snprintf(path, sizeof(path), "net/ipv6/conf/%s/disable_ipv6", ifn);
	rc = netns_sysctl_write(ns, path, "1");
	if (rc < 0 && rc != -ENOENT) { /* ENOENT: kernel without IPv6 */
		snprintf(err, errlen, "cannot disable IPv6 on %s in namespace %s: %s", ifn,
			 ns, strerror(-rc));
		return rc;
	}
	if (l->mtu != 1500) {
		snprintf(mtu, sizeof(mtu), "%u", l->mtu);
		const char *set_mtu[] = { "link", "set", ifn, "mtu", mtu, NULL };
		if ((rc = ip_in(ns, "set the MTU", set_mtu, err, errlen)) < 0)
			return rc;
	}
	if (k->attach == LAB_ATTACH_TAP) {
		snprintf(addr, sizeof(addr), "%s/%u", lab_ip_str(k->addr, ip), k->prefix_len);
		const char *add_addr[] = { "addr", "add", addr, "dev", ifn, NULL };
		if ((rc = ip_in(ns, "add the address", add_addr, err, errlen)) < 0)
			return rc;
	}
	const char *link_up[] = { "link", "set", ifn, "up", NULL };
	if ((rc = ip_in(ns, "bring the TAP up", link_up, err, errlen)) < 0)
		return rc;
	if (k->attach == LAB_ATTACH_TAP && k->gateway) {
		const char *route[] = { "route", "add", "default", "via",
					lab_ip_str(k->gateway, ip), "dev", ifn, NULL };
		if ((rc = ip_in(ns, "add the default route", route, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* The seeds of a link's two knob sets: from the lab, or one drawn from
 * getrandom() and logged so the run can be repeated. */
static int link_seeds(const struct lab_segment *seg, uint64_t seed[LAB_DIRS], char *err,
		      size_t errlen)
{
	const struct lab_link *l = seg->link;
	bool drawn = false;
	if (!l->seed_set[LAB_TO_STACK] || !l->seed_set[LAB_TO_KERNEL]) {
		uint64_t r;
		if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			int e = errno;
			snprintf(err, errlen, "getrandom: %s", strerror(e));
			return -e;
		}
		/* The lab file's rule for `seed = N`: to_kernel gets N + 1. */
		seed[LAB_TO_STACK] = r;
		seed[LAB_TO_KERNEL] = r + 1;
		drawn = true;
	}
	for (unsigned d = 0; d < LAB_DIRS; d++)
		if (l->seed_set[d])
			seed[d] = l->seed[d];
	bool impaired = link_knobs_impaired(&l->knobs[LAB_TO_STACK]) ||
			link_knobs_impaired(&l->knobs[LAB_TO_KERNEL]);
	if (!impaired)
		return 0;
	struct link_dir tmp;
	char desc[LAB_DIRS][256];
	for (unsigned d = 0; d < LAB_DIRS; d++) {
		link_dir_init(&tmp, 0);
		link_dir_set_knobs(&tmp, &l->knobs[d]);
		link_dir_describe(&tmp, desc[d], sizeof(desc[d]));
		link_dir_fini(&tmp);
	}
	log_info("link %s: to_stack %s; to_kernel %s", l->name, desc[LAB_TO_STACK],
		 desc[LAB_TO_KERNEL]);
	if (drawn)
		log_info("link %s: to_stack seed %" PRIu64 ", to_kernel seed %" PRIu64
			 " (add 'seed = %" PRIu64 "' to [link %s] to repeat this run)",
			 l->name, seed[LAB_TO_STACK], seed[LAB_TO_KERNEL], seed[LAB_TO_STACK],
			 l->name);
	else
		log_info("link %s: to_stack seed %" PRIu64 ", to_kernel seed %" PRIu64, l->name,
			 seed[LAB_TO_STACK], seed[LAB_TO_KERNEL]);
	return 0;
}

/* What lab_log_links calls a port's pipeline: its direction on a wire of
 * one kernel and one stack host, else "from HOST". */
static const char *port_label(const struct lab_segment *seg, const struct lab_port *p,
			      char *buf, size_t len)
{
	const struct lab_link *l = seg->link;
	if (seg->n_ports == 2 && l->kernel_host >= 0 && l->stack_host >= 0)
		return lab_dir_name(p->dir);
	snprintf(buf, len, "from %s", p->host->name);
	return buf;
}

struct link_dir *lab_wire_dir(struct lab_wire *w, enum lab_dir d)
{
	struct lab_segment *seg = w->seg;
	if (seg->n_ports != 2 || seg->link->kernel_host < 0 || seg->link->stack_host < 0)
		return NULL;
	struct lab_port *p = &seg->ports[d == LAB_TO_KERNEL ? w->port : w->port ^ 1];
	return &p->in;
}

static size_t describe_host(const struct lab_host *h, char *buf, size_t len)
{
	char a[16];
	const char *addr = h->addr ? lab_ip_str(h->addr, a) : "-";
	int n;
	if (h->kind != LAB_HOST_KERNEL)
		n = snprintf(buf, len, "%s %s", h->name, addr);
	else if (h->netns_mode == LAB_NETNS_ROOT)
		n = snprintf(buf, len, "%s %s %s", h->name, h->ifname, addr);
	else
		n = snprintf(buf, len, "%s %s/%s %s", h->name, h->netns, h->ifname, addr);
	return n < 0 ? 0 : TL_MIN((size_t)n, len ? len - 1 : 0);
}

void lab_seg_describe(const struct lab_segment *seg, char *buf, size_t len)
{
	const struct lab_link *l = seg->link;
	if (!len)
		return;
	buf[0] = '\0';
	size_t used = 0;
	if (seg->n_ports == 2 && l->kernel_host >= 0 && l->stack_host >= 0) {
		const struct lab_port *s = &seg->ports[0], *k = &seg->ports[1];
		if (s->kind != LAB_PORT_STACK) {
			s = &seg->ports[1];
			k = &seg->ports[0];
		}
		used += describe_host(s->host, buf, len);
		used += (size_t)snprintf(buf + used, len - used, " <-> ");
		used = TL_MIN(used, len - 1);
		describe_host(k->host, buf + used, len - used);
		return;
	}
	for (unsigned i = 0; i < seg->n_ports && used + 1 < len; i++) {
		if (i) {
			used += (size_t)snprintf(buf + used, len - used, ", ");
			used = TL_MIN(used, len - 1);
		}
		used += describe_host(seg->ports[i].host, buf + used, len - used);
	}
}

void lab_log_links(const struct lab *lab)
{
	for (unsigned si = 0; si < lab->n_segs; si++) {
		const struct lab_segment *seg = &lab->segs[si];
		if (seg->tx_dropped || seg->rx_errors || seg->rx_nobuf || seg->rx_bad_vnet)
			log_info("link %s: devices refused %" PRIu64 " frames; %" PRIu64
				 " reads failed; %" PRIu64 " frames found no buffer, %" PRIu64
				 " had a bad virtio_net_hdr",
				 seg->link->name, seg->tx_dropped, seg->rx_errors, seg->rx_nobuf,
				 seg->rx_bad_vnet);
		for (unsigned pi = 0; pi < seg->n_ports; pi++) {
			const struct lab_port *p = &seg->ports[pi];
			if (!p->in_up)
				continue;
			const struct link_dir *ld = &p->in;
			const struct link_counters *c = &ld->c;
			if (!ld->impaired && c->sent == c->input)
				continue; /* never impaired: nothing to tell */
			char label[64];
			log_info("link %s %s: input=%" PRIu64 " sent=%" PRIu64 " sent_bytes=%" PRIu64
				 " dropped_loss=%" PRIu64 " dropped_queue=%" PRIu64
				 " duplicated=%" PRIu64 " corrupted=%" PRIu64 " reordered=%" PRIu64
				 " queued_frames=%" PRIu64 " queued_bytes=%" PRIu64,
				 seg->link->name, port_label(seg, p, label, sizeof(label)), c->input,
				 c->sent, c->sent_bytes, c->dropped_loss, c->dropped_queue,
				 c->duplicated, c->corrupted, c->reordered, c->queued_frames,
				 c->queued_bytes);
		}
	}
	for (unsigned ri = 0; ri < lab->n_routers; ri++) {
		const struct router *r = lab->routers[ri];
		const struct router_counters *c = &r->c;
		log_info("router %s: InReceives=%" PRIu64 " ForwDatagrams=%" PRIu64
			 " InDelivers=%" PRIu64 " InHdrErrors=%" PRIu64 " InAddrErrors=%" PRIu64
			 " OutNoRoutes=%" PRIu64 " FragFails=%" PRIu64 " InDiscards=%" PRIu64
			 " OutDestUnreachs=%" PRIu64 " OutTimeExcds=%" PRIu64 " OutRateLimited=%" PRIu64
			 "%s",
			 r->name, c->InReceives, c->ForwDatagrams, c->InDelivers, c->InHdrErrors,
			 c->InAddrErrors, c->OutNoRoutes, c->FragFails, c->InDiscards,
			 c->OutDestUnreachs, c->OutTimeExcds, c->OutRateLimited,
			 r->pmtu_black_hole ? " (pmtu_black_hole)" : "");
	}
}

/* A capture in progress. Invariant: f is open; bytes counts what was
 * handed to f; full once bytes reached LAB_CAPTURE_MAX_BYTES. Record times
 * are real0 + (now - mono0): the loop's monotonic clock on the wall. */
struct lab_capture {
	FILE *f;
	char path[LAB_PATH_MAX];
	uint64_t frames, bytes;
	tl_usec_t mono0;
	uint64_t real0;
	bool full;
};

static tl_usec_t clock_usec(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (tl_usec_t)ts.tv_sec * TL_USEC_PER_SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

int lab_capture_start(struct lab *lab, unsigned wi, const char *path, char *err,
		      size_t errlen)
{
	if (wi >= lab->n_wires) {
		snprintf(err, errlen, "no such link");
		return -ENOENT;
	}
	struct lab_wire *w = &lab->wires[wi];
	if (strlen(path) >= LAB_PATH_MAX) {
		snprintf(err, errlen, "capture path is longer than %d characters", LAB_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	lab_capture_stop(lab, wi);
	struct lab_capture *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->f = fopen(path, "we");
	if (!c->f) {
		int e = errno;
		snprintf(err, errlen, "cannot write capture %s: %s", path, strerror(e));
		free(c);
		return -e;
	}
	setvbuf(c->f, NULL, _IOFBF, 1 << 16);
	uint8_t h[PCAP_FILE_HEADER_LEN];
	pcap_file_header(h, PCAP_SNAPLEN);
	if (fwrite(h, sizeof(h), 1, c->f) != 1 || fflush(c->f) != 0) {
		int e = errno;
		snprintf(err, errlen, "cannot write capture %s: %s", path, strerror(e));
		fclose(c->f);
		free(c);
		return -e;
	}
	c->bytes = sizeof(h);
	c->mono0 = clock_usec(CLOCK_MONOTONIC);
	c->real0 = clock_usec(CLOCK_REALTIME);
	w->cap = c;
	log_info("link %s: capturing %s's frames to %s", w->link->name, w->host->name, path);
	return 0;
}

void lab_capture_stop(struct lab *lab, unsigned wi)
{
	if (wi >= lab->n_wires || !lab->wires[wi].cap)
		return;
	struct lab_wire *w = &lab->wires[wi];
	struct lab_capture *c = w->cap;
	w->cap = NULL;
	if (fclose(c->f) != 0)
		log_warn("link %s: capture %s: %s", w->link->name, c->path, strerror(errno));
	log_info("link %s: capture %s closed: %" PRIu64 " frames, %" PRIu64 " bytes",
		 w->link->name, c->path, c->frames, c->bytes);
	free(c);
}

void lab_capture_frame(struct lab_wire *w, const uint8_t *frame, size_t len, tl_usec_t now)
{
	struct lab_capture *c = w->cap;
	if (c->full)
		return;
	uint32_t caplen = (uint32_t)TL_MIN(len, (size_t)PCAP_SNAPLEN);
	if (c->bytes + PCAP_RECORD_HEADER_LEN + caplen > LAB_CAPTURE_MAX_BYTES) {
		c->full = true;
		log_warn("link %s: capture %s reached %llu bytes; no more frames are written",
			 w->link->name, c->path, (unsigned long long)LAB_CAPTURE_MAX_BYTES);
		return;
	}
	uint8_t r[PCAP_RECORD_HEADER_LEN];
	uint64_t t = c->real0 + (now >= c->mono0 ? now - c->mono0 : 0);
	pcap_record_header(r, t, caplen, (uint32_t)len);
	if (fwrite(r, sizeof(r), 1, c->f) != 1 || fwrite(frame, caplen, 1, c->f) != 1) {
		c->full = true; /* keep the loop going; say so once */
		log_warn("link %s: capture %s: write failed: %s; no more frames are written",
			 w->link->name, c->path, strerror(errno));
		return;
	}
	c->frames++;
	c->bytes += sizeof(r) + caplen;
}

void lab_capture_flush(struct lab_wire *w)
{
	if (w->cap && !w->cap->full)
		fflush(w->cap->f);
}

/* Creates stack host h as wire w on port p of seg. */
static int stack_up(struct lab *lab, struct lab_segment *seg, struct lab_port *p,
		    struct lab_wire *w, tl_usec_t now, char *err, size_t errlen)
{
	const struct lab_link *l = seg->link;
	const struct lab_host *h = p->host;
	w->host = h;
	w->link = l;
	w->seg = seg;
	w->port = (unsigned)(p - seg->ports);
	p->wire = w;
	/* The other end of a wire; on a segment, its first kernel host. */
	int peer = -1;
	for (unsigned m = 0; m < l->n_members && peer < 0; m++)
		if (&lab->cfg.hosts[l->members[m]] != h &&
		    (l->n_members == 2 || lab->cfg.hosts[l->members[m]].kind == LAB_HOST_KERNEL))
			peer = l->members[m];
	for (unsigned m = 0; m < l->n_members && peer < 0; m++)
		if (&lab->cfg.hosts[l->members[m]] != h)
			peer = l->members[m];
	w->peer = &lab->cfg.hosts[peer];

	struct stack_config sc;
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.name, sizeof(sc.name), "%s", h->name);
	memcpy(sc.mac, h->mac, 6);
	sc.addr = h->addr;
	sc.prefix_len = h->prefix_len;
	sc.gateway = h->gateway;
	sc.mtu = l->mtu;
	sc.host_id = (uint16_t)(h - lab->cfg.hosts + 1);
	/* TSO superframes: the kernel behind an offload device segments them;
	 * the loop cuts them in software for an impaired pipeline or a
	 * device without offloads. */
	sc.gso_max = l->offload ? 65535 : 0;
	/* ISNs and SYN cookies must be unguessable from outside. */
	if (getrandom(sc.secret, sizeof(sc.secret), 0) != (ssize_t)sizeof(sc.secret)) {
		int rc = -errno;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return rc;
	}
	w->st = stack_new(&sc, now);
	explicit_bzero(sc.secret, sizeof(sc.secret));
	if (!w->st) {
		snprintf(err, errlen, "cannot create stack host %s: out of memory", h->name);
		return -ENOMEM;
	}
	w->svc = services_start(stack_tcp(w->st), now);
	if (!w->svc) {
		snprintf(err, errlen, "cannot start the built-in services on %s: out of memory",
			 h->name);
		return -ENOMEM;
	}
	char ip1[16], mac[18];
	log_debug("%s: %s/%u mac %s on link %s", h->name, lab_ip_str(h->addr, ip1),
		  h->prefix_len, lab_mac_str(h->mac, mac), l->name);
	return 0;
}

/* Attaches kernel host p->host: a TAP (created in its namespace and
 * configured) or an AF_PACKET socket on its existing interface. */
static int kernel_port_up(struct lab_segment *seg, struct lab_port *p, char *err,
			  size_t errlen)
{
	const struct lab_host *h = p->host;
	if (h->attach == LAB_ATTACH_PACKET) {
		p->kind = LAB_PORT_PACKET;
		const char *ns = h->netns_mode == LAB_NETNS_ROOT ? NULL : h->netns;
		return packet_open(ns, h->ifname, &p->fd, &p->offload, err, errlen);
	}
	p->kind = LAB_PORT_TAP;
	p->offload = seg->link->offload;
	int rc = tap_open(h->netns, h->ifname, p->offload, &p->fd, err, errlen);
	if (rc < 0)
		return rc;
	return configure_tap(h, seg->link, err, errlen);
}

static int seg_up(struct lab *lab, unsigned li, unsigned *wire_of_host, tl_usec_t now,
		  char *err, size_t errlen)
{
	const struct lab_link *l = &lab->cfg.links[li];
	struct lab_segment *seg = &lab->segs[lab->n_segs++];
	seg->link = l;
	for (unsigned m = 0; m < l->n_members; m++) {
		struct lab_port *p = &seg->ports[m];
		p->host = &lab->cfg.hosts[l->members[m]];
		p->fd = -1;
	}
	seg->n_ports = l->n_members; /* from here on lab_down() undoes them */
	uint64_t seed[LAB_DIRS];
	int rc = link_seeds(seg, seed, err, errlen);
	if (rc < 0)
		return rc;
	unsigned nth[LAB_DIRS] = { 0, 0 };
	for (unsigned m = 0; m < seg->n_ports; m++) {
		struct lab_port *p = &seg->ports[m];
		if (p->host->kind == LAB_HOST_ROUTER) {
			const struct lab_router *lr = &lab->cfg.routers[p->host->router];
			p->kind = LAB_PORT_ROUTER;
			p->router = lab->routers[p->host->router];
			for (unsigned i = 0; i < lr->n_ifs; i++)
				if (&lab->cfg.hosts[lr->ifs[i]] == p->host)
					p->ifx = i;
			link_dir_init(&p->in, 0); /* never impaired (see lab.h) */
			p->in_up = true;
			continue;
		}
		bool stack = p->host->kind == LAB_HOST_STACK;
		/* Frames from kernel hosts get the to_stack knobs, frames from
		 * stack hosts the to_kernel ones; every port draws its own
		 * stream (the first of each kind the link's seed itself). */
		p->dir = stack ? LAB_TO_KERNEL : LAB_TO_STACK;
		link_dir_init(&p->in, seed[p->dir] + 2 * nth[p->dir]++);
		link_dir_set_knobs(&p->in, &l->knobs[p->dir]);
		p->in_up = true;
		if (stack) {
			p->kind = LAB_PORT_STACK;
			struct lab_wire *w = &lab->wires[wire_of_host[l->members[m]]];
			rc = stack_up(lab, seg, p, w, now, err, errlen);
		} else {
			rc = kernel_port_up(seg, p, err, errlen);
		}
		if (rc < 0)
			return rc;
	}
	if (seg->n_ports > 2) {
		seg->sw = malloc(sizeof(*seg->sw));
		if (!seg->sw) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		sw_init(seg->sw, seg->n_ports, 0);
	}
	if (l->capture[0]) {
		unsigned wi = wire_of_host[l->stack_host];
		if ((rc = lab_capture_start(lab, wi, l->capture, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* Claims and makes the namespaces tcplabd owns: created ones, and names
 * for processes' namespaces (ip netns attach); checks joined ones exist. */
static int namespaces_up(struct lab *lab, char *err, size_t errlen)
{
	char why[256];
	for (unsigned i = 0; i < lab->cfg.n_hosts; i++) {
		struct lab_host *h = &lab->cfg.hosts[i];
		if (h->kind != LAB_HOST_KERNEL)
			continue;
		if (h->netns_mode == LAB_NETNS_JOIN && !netns_exists(h->netns)) {
			snprintf(err, errlen,
				 "namespace %s of host %s does not exist (join_netns joins an existing one; 'netns =' has tcplabd create it)",
				 h->netns, h->name);
			return -ENOENT;
		}
		if (h->netns_mode != LAB_NETNS_CREATE && h->netns_mode != LAB_NETNS_PID)
			continue;
		if (h->netns_mode == LAB_NETNS_PID)
			snprintf(h->netns, sizeof(h->netns), "tl-pid%d", h->netns_pid);
		char info[128];
		snprintf(info, sizeof(info), "host=%s", h->name);
		int rc = registry_claim(lab->reg, REG_NETNS, h->netns, info);
		if (rc < 0) {
			snprintf(err, errlen, "cannot record namespace %s in %s: %s", h->netns,
				 lab->reg->dir, strerror(-rc));
			return rc;
		}
		lab->ns_claimed[i] = true;
		if (h->netns_mode == LAB_NETNS_PID) {
			rc = netns_attach_pid(h->netns, h->netns_pid, why, sizeof(why));
			if (rc < 0) {
				snprintf(err, errlen, "cannot name the namespace of pid %d (host %s): %s",
					 h->netns_pid, h->name, why);
				return rc;
			}
		} else if ((rc = netns_add(h->netns, why, sizeof(why))) < 0) {
			snprintf(err, errlen, "cannot create namespace %s: %s", h->netns, why);
			return rc;
		}
		lab->ns_created[i] = true;
	}
	return 0;
}

/* The daemon's routers, before the segments that reach them. */
static int routers_up(struct lab *lab, tl_usec_t now, char *err, size_t errlen)
{
	for (unsigned ri = 0; ri < lab->cfg.n_routers; ri++) {
		const struct lab_router *lr = &lab->cfg.routers[ri];
		struct router *r = router_new(lr->name, now);
		if (!r) {
			snprintf(err, errlen, "cannot create router %s: out of memory", lr->name);
			return -ENOMEM;
		}
		lab->routers[lab->n_routers++] = r;
		r->pmtu_black_hole = lr->pmtu_black_hole;
		for (unsigned i = 0; i < lr->n_ifs; i++) {
			const struct lab_host *h = &lab->cfg.hosts[lr->ifs[i]];
			if (router_add_if(r, h->mac, h->addr, h->prefix_len,
					  lab->cfg.links[h->link].mtu) < 0) {
				snprintf(err, errlen, "router %s: bad interface %s", lr->name, h->name);
				return -EINVAL;
			}
		}
		for (unsigned k = 0; k < lr->n_routes; k++) {
			const struct lab_route *rt = &lr->routes[k];
			if (router_add_route(r, rt->dst, rt->prefix_len, rt->via) < 0) {
				snprintf(err, errlen, "router %s: bad route on line %d", lr->name,
					 lr->route_line[k]);
				return -EINVAL;
			}
		}
		char a[16];
		log_debug("router %s: %u interfaces, %u routes (first %s)", lr->name, lr->n_ifs,
			  lr->n_routes, lab_ip_str(lab->cfg.hosts[lr->ifs[0]].addr, a));
	}
	return 0;
}

int lab_up(struct lab **out, const struct lab_config *cfg, struct registry *reg,
	   tl_usec_t now, char *err, size_t errlen)
{
	struct lab *lab = calloc(1, sizeof(*lab));
	if (!lab) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	lab->cfg = *cfg;
	lab->reg = reg;
	/* Wires are the stack hosts in file order. */
	unsigned wire_of_host[LAB_HOSTS_MAX];
	for (unsigned i = 0; i < lab->cfg.n_hosts; i++)
		if (lab->cfg.hosts[i].kind == LAB_HOST_STACK)
			wire_of_host[i] = lab->n_wires++;
	int rc = namespaces_up(lab, err, errlen);
	if (rc == 0)
		rc = routers_up(lab, now, err, errlen);
	for (unsigned li = 0; rc == 0 && li < lab->cfg.n_links; li++)
		rc = seg_up(lab, li, wire_of_host, now, err, errlen);
	if (rc < 0) {
		lab_down(lab);
		return rc;
	}
	*out = lab;
	return 0;
}

/* Services are stopped outside the loop, so read the clock here. */
static tl_usec_t lab_clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tl_usec_t)ts.tv_sec * TL_USEC_PER_SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

void lab_stop_services(struct lab *lab, tl_usec_t now)
{
	for (unsigned i = 0; lab && i < lab->n_wires; i++) {
		services_stop(lab->wires[i].svc, now);
		lab->wires[i].svc = NULL;
	}
}

void lab_down(struct lab *lab)
{
	if (!lab)
		return;
	lab_log_links(lab);
	for (unsigned i = 0; i < lab->n_wires; i++)
		lab_capture_stop(lab, i);
	/* Devices first: closing a TAP's fd removes it from its namespace. */
	for (unsigned si = lab->n_segs; si-- > 0;) {
		struct lab_segment *seg = &lab->segs[si];
		for (unsigned pi = seg->n_ports; pi-- > 0;) {
			struct lab_port *p = &seg->ports[pi];
			if (p->fd >= 0)
				close(p->fd);
			if (p->in_up)
				link_dir_fini(&p->in);
		}
		free(seg->sw);
	}
	for (unsigned i = 0; i < lab->n_routers; i++)
		router_free(lab->routers[i]);
	for (unsigned i = lab->n_wires; i-- > 0;) {
		struct lab_wire *w = &lab->wires[i];
		services_stop(w->svc, lab_clock_now());
		w->svc = NULL;
		if (w->st)
			stack_free(w->st);
	}
	char err[256];
	for (unsigned i = lab->cfg.n_hosts; i-- > 0;) {
		const struct lab_host *h = &lab->cfg.hosts[i];
		/* For a process's namespace this only removes our name for it. */
		if (lab->ns_created[i] && netns_delete(h->netns, err, sizeof(err)) < 0) {
			/* Keep the registry entry: the next start sweeps it. */
			log_warn("cannot delete namespace %s: %s", h->netns, err);
			continue;
		}
		if (lab->ns_claimed[i])
			registry_release(lab->reg, REG_NETNS, h->netns);
	}
	free(lab);
}
