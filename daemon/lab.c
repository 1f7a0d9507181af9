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
#include "stack.h"
#include "tap_io.h"

int lab_check_names(const struct lab_config *cfg, struct registry *reg,
		    struct lab_conflict *conflict)
{
	struct reg_entry e;
	for (unsigned i = 0; i < cfg->n_hosts; i++) {
		const struct lab_host *h = &cfg->hosts[i];
		if (h->kind != LAB_HOST_KERNEL)
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
		if (h->kind != LAB_HOST_KERNEL || !netns_exists(h->netns))
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

/* Configures the kernel end of a link: the TAP exists already. */
static int configure_peer(const struct lab_host *k, const struct lab_link *l,
			  char *err, size_t errlen)
{
	char addr[32], ip[16], mtu[8], path[128];
	const char *ns = k->netns, *ifn = k->ifname;
	int rc;

	const char *lo_up[] = { "link", "set", "lo", "up", NULL };
	if ((rc = ip_in(ns, "bring lo up", lo_up, err, errlen)) < 0)
		return rc;
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
	snprintf(addr, sizeof(addr), "%s/%u", lab_ip_str(k->addr, ip), k->prefix_len);
	const char *add_addr[] = { "addr", "add", addr, "dev", ifn, NULL };
	if ((rc = ip_in(ns, "add the address", add_addr, err, errlen)) < 0)
		return rc;
	const char *link_up[] = { "link", "set", ifn, "up", NULL };
	if ((rc = ip_in(ns, "bring the TAP up", link_up, err, errlen)) < 0)
		return rc;
	if (k->gateway) {
		const char *route[] = { "route", "add", "default", "via",
					lab_ip_str(k->gateway, ip), "dev", ifn, NULL };
		if ((rc = ip_in(ns, "add the default route", route, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

/* Sets up both link directions from the lab's knobs. A link without a seed
 * gets one from getrandom(), logged so the run can be repeated. */
static int links_up(struct lab_wire *w, char *err, size_t errlen)
{
	const struct lab_link *l = w->link;
	uint64_t seed[LAB_DIRS];
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
	for (unsigned d = 0; d < LAB_DIRS; d++) {
		if (l->seed_set[d])
			seed[d] = l->seed[d];
		link_dir_init(&w->dir[d], seed[d]);
		link_dir_set_knobs(&w->dir[d], &l->knobs[d]);
	}
	w->dir_up = true;
	bool impaired = w->dir[LAB_TO_STACK].impaired || w->dir[LAB_TO_KERNEL].impaired;
	char desc[LAB_DIRS][256];
	for (unsigned d = 0; d < LAB_DIRS; d++)
		link_dir_describe(&w->dir[d], desc[d], sizeof(desc[d]));
	if (impaired) {
		log_info("link %s: to_stack %s; to_kernel %s", l->name, desc[LAB_TO_STACK],
			 desc[LAB_TO_KERNEL]);
		if (drawn)
			log_info("link %s: to_stack seed %" PRIu64 ", to_kernel seed %" PRIu64
				 " (add 'seed = %" PRIu64 "' to [link %s] to repeat this run)",
				 l->name, seed[LAB_TO_STACK], seed[LAB_TO_KERNEL], seed[LAB_TO_STACK],
				 l->name);
		else
			log_info("link %s: to_stack seed %" PRIu64 ", to_kernel seed %" PRIu64,
				 l->name, seed[LAB_TO_STACK], seed[LAB_TO_KERNEL]);
	}
	return 0;
}

void lab_log_links(const struct lab *lab)
{
	for (unsigned i = 0; i < lab->n_wires; i++) {
		const struct lab_wire *w = &lab->wires[i];
		if (!w->dir_up)
			continue;
		for (unsigned d = 0; d < LAB_DIRS; d++) {
			const struct link_dir *ld = &w->dir[d];
			const struct link_counters *c = &ld->c;
			if (!ld->impaired && c->sent == c->input)
				continue; /* never impaired: nothing to tell */
			log_info("link %s %s: input=%" PRIu64 " sent=%" PRIu64 " sent_bytes=%" PRIu64
				 " dropped_loss=%" PRIu64 " dropped_queue=%" PRIu64
				 " duplicated=%" PRIu64 " corrupted=%" PRIu64 " reordered=%" PRIu64
				 " queued_frames=%" PRIu64 " queued_bytes=%" PRIu64,
				 w->link->name, lab_dir_name((enum lab_dir)d), c->input, c->sent,
				 c->sent_bytes, c->dropped_loss, c->dropped_queue, c->duplicated,
				 c->corrupted, c->reordered, c->queued_frames, c->queued_bytes);
		}
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

static int wire_up(struct lab *lab, unsigned li, tl_usec_t now, char *err,
		   size_t errlen)
{
	const struct lab_link *l = &lab->cfg.links[li];
	struct lab_wire *w = &lab->wires[lab->n_wires];
	memset(w, 0, sizeof(*w));
	w->link = l;
	w->host = &lab->cfg.hosts[l->stack_host];
	w->peer = &lab->cfg.hosts[l->kernel_host];
	w->tap_fd = -1;

	w->offload = l->offload;
	int rc = tap_open(w->peer->netns, w->peer->ifname, w->offload, &w->tap_fd, err, errlen);
	if (rc < 0)
		return rc;
	lab->n_wires++; /* from here on lab_down() closes it */
	if ((rc = configure_peer(w->peer, l, err, errlen)) < 0)
		return rc;

	struct stack_config sc;
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.name, sizeof(sc.name), "%s", w->host->name);
	memcpy(sc.mac, w->host->mac, 6);
	sc.addr = w->host->addr;
	sc.prefix_len = w->host->prefix_len;
	sc.gateway = w->host->gateway;
	sc.mtu = l->mtu;
	/* The kernel behind an offload TAP segments our superframes (and an
	 * impaired direction has the loop do it in software first). */
	sc.gso_max = w->offload ? 65535 : 0;
	sc.host_id = (uint16_t)(l->stack_host + 1);
	/* ISNs and SYN cookies must be unguessable from outside. */
	if (getrandom(sc.secret, sizeof(sc.secret), 0) != (ssize_t)sizeof(sc.secret)) {
		rc = -errno;
		snprintf(err, errlen, "getrandom: %s", strerror(errno));
		return rc;
	}
	w->st = stack_new(&sc, now);
	explicit_bzero(sc.secret, sizeof(sc.secret));
	if (!w->st) {
		snprintf(err, errlen, "cannot create stack host %s: out of memory",
			 w->host->name);
		return -ENOMEM;
	}
	w->svc = services_start(stack_tcp(w->st), now);
	if (!w->svc) {
		snprintf(err, errlen, "cannot start the built-in services on %s: out of memory",
			 w->host->name);
		return -ENOMEM;
	}
	if ((rc = links_up(w, err, errlen)) < 0)
		return rc;
	if (l->capture[0] &&
	    (rc = lab_capture_start(lab, (unsigned)(w - lab->wires), l->capture, err, errlen)) < 0)
		return rc;
	char ip1[16], ip2[16], mac[18];
	log_debug("%s: %s/%u mac %s on link %s, peer %s in namespace %s (%s %s)",
		  w->host->name, lab_ip_str(w->host->addr, ip1), w->host->prefix_len,
		  lab_mac_str(w->host->mac, mac), l->name, w->peer->name, w->peer->netns,
		  w->peer->ifname, lab_ip_str(w->peer->addr, ip2));
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
	int rc = 0;
	char why[256];

	for (unsigned i = 0; i < lab->cfg.n_hosts; i++) {
		const struct lab_host *h = &lab->cfg.hosts[i];
		if (h->kind != LAB_HOST_KERNEL)
			continue;
		char info[128];
		snprintf(info, sizeof(info), "host=%s", h->name);
		rc = registry_claim(reg, REG_NETNS, h->netns, info);
		if (rc < 0) {
			snprintf(err, errlen, "cannot record namespace %s in %s: %s", h->netns,
				 reg->dir, strerror(-rc));
			goto fail;
		}
		lab->ns_claimed[i] = true;
		rc = netns_add(h->netns, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errlen, "cannot create namespace %s: %s", h->netns, why);
			goto fail;
		}
		lab->ns_created[i] = true;
	}
	for (unsigned li = 0; li < lab->cfg.n_links; li++) {
		rc = wire_up(lab, li, now, err, errlen);
		if (rc < 0)
			goto fail;
	}
	*out = lab;
	return 0;
fail:
	lab_down(lab);
	return rc;
}

/* Services are stopped outside the loop, so read the clock here. */
static tl_usec_t lab_clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (tl_usec_t)ts.tv_sec * TL_USEC_PER_SEC + (tl_usec_t)ts.tv_nsec / 1000;
}

void lab_down(struct lab *lab)
{
	if (!lab)
		return;
	lab_log_links(lab);
	for (unsigned i = 0; i < lab->n_wires; i++)
		lab_capture_stop(lab, i);
	/* TAPs first: closing the fd removes the device from its namespace. */
	for (unsigned i = lab->n_wires; i-- > 0;) {
		struct lab_wire *w = &lab->wires[i];
		if (w->tap_fd >= 0)
			close(w->tap_fd);
		services_stop(w->svc, lab_clock_now());
		if (w->st)
			stack_free(w->st);
		if (w->dir_up)
			for (unsigned d = 0; d < LAB_DIRS; d++)
				link_dir_fini(&w->dir[d]);
	}
	char err[256];
	for (unsigned i = lab->cfg.n_hosts; i-- > 0;) {
		const struct lab_host *h = &lab->cfg.hosts[i];
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
