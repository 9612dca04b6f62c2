// SPDX-License-Identifier: MIT
/*
 * port.c - the part of a port every backend shares: options, the pool,
 * the netdev's description, counters, and dispatch to the backend.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/toeplitz.h"
#include "verbs/port_impl.h"

static int
check_opts(const struct vs_port_opts *o, char *err, size_t errlen)
{
	if (o->sz < sizeof(*o)) {
		snprintf(err, errlen, "port options: size %zu, expected %zu",
			 o->sz, sizeof(*o));
		return -EINVAL;
	}
	if (!o->nqueues || o->nqueues > VS_RSS_TABLE_MAX) {
		snprintf(err, errlen, "%u queues: expected 1..%u", o->nqueues,
			 VS_RSS_TABLE_MAX);
		return -EINVAL;
	}
	if ((o->buf_size != 2048 && o->buf_size != 9216) || !o->rx_depth ||
	    !o->tx_depth ||
	    (uint64_t)o->nqueues * (o->rx_depth + o->tx_depth) > o->nbufs) {
		snprintf(err, errlen,
			 "%u buffers of %u bytes cannot fill %u queues of %u "
			 "receive and %u send slots",
			 o->nbufs, o->buf_size, o->nqueues, o->rx_depth,
			 o->tx_depth);
		return -EINVAL;
	}
	return 0;
}

void
vs__port_opts_of(struct vs_port_opts *o, const struct vs_config *cfg,
		 unsigned nqueues)
{
	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->device = cfg->device;
	o->nqueues = nqueues;
	o->buf_size = cfg->buffer_size;
	o->nbufs = cfg->buffers;
	o->rx_depth =
		o->nbufs / nqueues / 4 > 1024 ? 1024 : o->nbufs / nqueues / 4;
	o->tx_depth = o->rx_depth;
	o->hugepages = cfg->hugepages;
	o->flows = cfg->flows;
}

struct vs_port *
vs__port_open(const struct vs_port_opts *o, char *err, size_t errlen)
{
	const struct vs_port_ops *ops;
	struct vs_port *p;
	int rc = check_opts(o, err, errlen);

	if (rc) {
		errno = -rc;
		return NULL;
	}
	/* "xdp:IFNAME": AF_XDP on that netdev; anything else: verbs. */
	ops = o->device && strncmp(o->device, "xdp:", 4) == 0 ? &vs__xdp_ops :
								&vs__verbs_ops;
	p = calloc(1, ops->size);
	if (p)
		p->st = calloc(o->nqueues, sizeof(*p->st));
	if (!p || !p->st) {
		free(p);
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	p->ops = ops;
	p->o = *o;
	if (!p->o.flows)
		p->o.flows = VS_PORT_FLOWS;
	pthread_mutex_init(&p->rules_lock, NULL);
	p->info.nqueues = o->nqueues;
	p->info.nbufs = o->nbufs;
	p->info.buf_size = o->buf_size;
	memcpy(p->rss_key, vs__rss_ms_key, VS_RSS_KEY_LEN);
	p->info.backend = p->ops->name;
	rc = p->ops->open(p, err, errlen);
	if (rc) {
		vs__pool_fini(&p->pool); /* zeroed if the backend made none */
		free(p->st);
		free(p);
		errno = -rc;
		return NULL;
	}
	vs_info("%s: %s port on %s, %u queues, MTU %u, %s pages",
		p->info.device, p->info.backend, p->info.ifname,
		p->info.nqueues, p->info.mtu,
		p->info.huge ? "2 MiB" : "normal");
	return p;
}

void
vs__port_close(struct vs_port *p)
{
	if (!p)
		return;
	p->ops->close(p);
	vs__pool_fini(&p->pool);
	free(p->st);
	free(p);
}

int
vs__port_pool_init(struct vs_port *p, int numa_node, char *err, size_t errlen)
{
	int rc = vs__pool_init(&p->pool, p->o.nbufs, p->o.buf_size, numa_node,
			       p->o.hugepages, p->o.nqueues, err, errlen);

	p->info.huge = p->pool.huge;
	p->info.numa_node = p->pool.numa_node;
	return rc;
}

static int
ifreq_get(unsigned long req, const char *ifname, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc;

	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, IFNAMSIZ, "%s", ifname);
	rc = s < 0 ? -1 : ioctl(s, req, ifr);
	if (s >= 0)
		close(s);
	return rc < 0 ? -errno : 0;
}

int
vs__port_netdev_info(struct vs_port *p, char *err, size_t errlen)
{
	struct vs_port_info *in = &p->info;
	struct ifaddrs *ifa, *i;
	struct ifreq ifr;
	int rc = ifreq_get(SIOCGIFHWADDR, in->ifname, &ifr);

	if (!rc) {
		memcpy(in->mac, ifr.ifr_hwaddr.sa_data, 6);
		rc = ifreq_get(SIOCGIFMTU, in->ifname, &ifr);
	}
	if (rc) {
		snprintf(err, errlen,
			 "%s: netdev %s: %s (is it in this network "
			 "namespace?)",
			 in->device, in->ifname, strerror(-rc));
		return rc;
	}
	in->mtu = (uint32_t)ifr.ifr_mtu;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i && in->naddrs < VS_PORT_MAX_ADDRS; i = i->ifa_next)
		if (i->ifa_addr && strcmp(i->ifa_name, in->ifname) == 0 &&
		    (i->ifa_addr->sa_family == AF_INET ||
		     i->ifa_addr->sa_family == AF_INET6))
			memcpy(&in->addrs[in->naddrs++], i->ifa_addr,
			       i->ifa_addr->sa_family == AF_INET ?
				       sizeof(struct sockaddr_in) :
				       sizeof(struct sockaddr_in6));
	freeifaddrs(ifa);
	return 0;
}

const struct vs_port_info *
vs__port_info(const struct vs_port *p)
{
	return &p->info;
}

const struct vs_queue_stats *
vs__port_stats(const struct vs_port *p, unsigned q)
{
	return q < p->o.nqueues ? &p->st[q] : NULL;
}

unsigned
vs__port_rss_queue(const struct vs_port *p, int family, const void *src,
		   const void *dst, uint16_t sport, uint16_t dport)
{
	size_t alen = family == AF_INET ? 4 : 16;
	uint8_t in[36];
	uint16_t sp = htons(sport), dp = htons(dport);
	uint32_t h;

	if (p->rss_table_len < 2)
		return 0;
	memcpy(in, src, alen);
	memcpy(in + alen, dst, alen);
	memcpy(in + 2 * alen, &sp, 2);
	memcpy(in + 2 * alen + 2, &dp, 2);
	h = vs__toeplitz(p->rss_key, VS_RSS_KEY_LEN, in, 2 * alen + 4);
	return p->rss_table[h & (p->rss_table_len - 1)];
}

uint32_t
vs__port_bufs_free(struct vs_port *p)
{
	return vs__pool_available(&p->pool);
}

bool
vs__port_pool_low(const struct vs_port *p)
{
	return vs__pool_low(&p->pool);
}

unsigned
vs__port_rx_burst(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	return p->ops->rx_burst(p, q, b, n);
}

unsigned
vs__port_tx_burst(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	return p->ops->tx_burst(p, q, b, n);
}

void
vs__port_flush(struct vs_port *p, unsigned q)
{
	if (p->ops->flush)
		p->ops->flush(p, q);
}

unsigned
vs__port_buf_get(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	return vs__pool_get(&p->pool, q, b, n);
}

void
vs__port_buf_put(struct vs_port *p, unsigned q, struct vs_buf **b, unsigned n)
{
	vs__pool_put(&p->pool, q, b, n);
}

int
vs__port_rule_add(struct vs_port *p, const struct vs_rule *r,
		  struct vs_rule_handle **h)
{
	int rc;

	if (r->action == VS_RULE_STEER && r->queue >= p->o.nqueues)
		return -EINVAL;
	if (r->family && r->family != AF_INET && r->family != AF_INET6)
		return -EAFNOSUPPORT;
	if (r->proto && r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	if ((r->sport_mask || r->dport_mask) && !r->proto)
		return -EINVAL; /* ports need a protocol */
	vs__mutex_lock(&p->rules_lock);
	rc = p->ops->rule_add(p, r, h);
	if (!rc)
		(*h)->port = p;
	vs__mutex_unlock(&p->rules_lock);
	return rc;
}

int
vs__port_rule_del(struct vs_port *p, struct vs_rule_handle *h)
{
	int rc;

	if (!h || h->port != p)
		return -EINVAL; /* not a rule of this port */
	vs__mutex_lock(&p->rules_lock);
	rc = p->ops->rule_del(p, h);
	vs__mutex_unlock(&p->rules_lock);
	return rc;
}

int
vs__port_rule_hits(struct vs_port *p, struct vs_rule_handle *h, uint64_t *hits)
{
	int rc = -EOPNOTSUPP;

	if (!h || h->port != p)
		return -EINVAL;
	vs__mutex_lock(&p->rules_lock);
	if (p->ops->rule_hits)
		rc = p->ops->rule_hits(p, h, hits);
	vs__mutex_unlock(&p->rules_lock);
	return rc;
}

uint64_t
vs__port_nic_drops(struct vs_port *p, unsigned q)
{
	return p->ops->nic_drops && q < p->o.nqueues ? p->ops->nic_drops(p, q) :
						       0;
}

int
vs__port_arm(struct vs_port *p, unsigned q)
{
	return p->ops->arm(p, q);
}

void
vs__port_woken(struct vs_port *p, unsigned q)
{
	p->ops->woken(p, q);
}

int
vs__port_sleep_fd(struct vs_port *p, unsigned q)
{
	return p->ops->sleep_fd(p, q);
}
