// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "stack/kernel.h"

#define MAX_ADDRS 32
#define HOPS 16 /* next hops remembered, by destination */
#define USABLE                                                               \
	(NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE | NUD_PERMANENT | \
	 NUD_NOARP)

struct ip16 {
	uint8_t family;
	uint8_t a[16];
};

struct neigh {
	struct ip16 ip;
	uint8_t mac[6];
	uint16_t state;
	uint64_t asked_ms; /* when we last asked the kernel to resolve it */
};

struct route {
	struct ip16 dst, gw;
	uint8_t plen;
	bool has_gw;
	uint32_t prio;
};

/* A destination's next hop and its MAC as the tables said when gen was
 * theirs: any netlink message (or a new dump) makes every one stale. */
struct hop {
	uint32_t gen; /* 0: empty */
	struct ip16 dst, via;
	uint8_t mac[6];
};

/* Tables are small: arrays searched linearly (O(n), n being the
 * netdev's neighbours and routes). Each frame sent asks for its next
 * hop; the hops remember the answers per destination. */
struct vs_kernel {
	char ifname[IF_NAMESIZE];
	int ifindex;
	uint32_t gen; /* the tables' version, for hops */
	struct hop hops[HOPS];
	struct mnl_socket *req, *mon;
	uint32_t seq;
	struct neigh *neigh;
	unsigned nneigh, neigh_cap;
	struct route *route;
	unsigned nroute, route_cap;
	struct ip16 addr[MAX_ADDRS];
	unsigned naddr;
	bool no_admin; /* RTM_NEWNEIGH refused (no CAP_NET_ADMIN) */
};

static size_t
alen(uint8_t family)
{
	return family == AF_INET ? 4 : 16;
}

static bool
ip_eq(const struct ip16 *a, const struct ip16 *b)
{
	return a->family == b->family && !memcmp(a->a, b->a, alen(a->family));
}

static bool
ip_from_attr(struct ip16 *ip, uint8_t family, const struct nlattr *at)
{
	if (!at || mnl_attr_get_payload_len(at) != alen(family))
		return false;
	ip->family = family;
	memset(ip->a, 0, sizeof(ip->a));
	memcpy(ip->a, mnl_attr_get_payload(at), alen(family));
	return true;
}

static void
ip_from_sockaddr(struct ip16 *ip, const struct sockaddr *sa)
{
	memset(ip, 0, sizeof(*ip));
	ip->family = (uint8_t)sa->sa_family;
	if (sa->sa_family == AF_INET)
		memcpy(ip->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	else
		memcpy(ip->a, &((const struct sockaddr_in6 *)sa)->sin6_addr,
		       16);
}

static void
ip_to_sockaddr(const struct ip16 *ip, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_family = ip->family;
	if (ip->family == AF_INET)
		memcpy(&((struct sockaddr_in *)ss)->sin_addr, ip->a, 4);
	else
		memcpy(&((struct sockaddr_in6 *)ss)->sin6_addr, ip->a, 16);
}

/* Grows an array of n elements of size sz to hold one more. */
static int
grow(void **arr, unsigned n, unsigned *cap, size_t sz)
{
	void *p;

	if (n < *cap)
		return 0;
	p = realloc(*arr, (*cap ? *cap * 2 : 16) * sz);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = *cap ? *cap * 2 : 16;
	return 0;
}

static struct neigh *
neigh_find(struct vs_kernel *k, const struct ip16 *ip)
{
	for (unsigned i = 0; i < k->nneigh; i++)
		if (ip_eq(&k->neigh[i].ip, ip))
			return &k->neigh[i];
	return NULL;
}

static struct neigh *
neigh_get(struct vs_kernel *k, const struct ip16 *ip)
{
	struct neigh *n = neigh_find(k, ip);

	if (n || grow((void **)&k->neigh, k->nneigh, &k->neigh_cap, sizeof(*n)))
		return n;
	n = &k->neigh[k->nneigh++];
	memset(n, 0, sizeof(*n));
	n->ip = *ip;
	return n;
}

/* --- netlink messages, from a dump or a notification --- */

struct attrs {
	const struct nlattr *tb[32];
};

static int
attr_cb(const struct nlattr *at, void *data)
{
	struct attrs *a = data;
	unsigned type = mnl_attr_get_type(at);

	if (type < 32)
		a->tb[type] = at;
	return MNL_CB_OK;
}

static void
on_neigh(struct vs_kernel *k, const struct nlmsghdr *nlh)
{
	const struct ndmsg *nd = mnl_nlmsg_get_payload(nlh);
	struct attrs a = { { 0 } };
	struct ip16 ip;
	struct neigh *n;

	if (nd->ndm_ifindex != k->ifindex ||
	    (nd->ndm_family != AF_INET && nd->ndm_family != AF_INET6))
		return;
	mnl_attr_parse(nlh, sizeof(*nd), attr_cb, &a);
	if (!ip_from_attr(&ip, nd->ndm_family, a.tb[NDA_DST]))
		return;
	if (nlh->nlmsg_type == RTM_DELNEIGH) {
		n = neigh_find(k, &ip);
		if (n)
			*n = k->neigh[--k->nneigh];
		return;
	}
	n = neigh_get(k, &ip);
	if (!n)
		return;
	n->state = nd->ndm_state;
	if (a.tb[NDA_LLADDR] && mnl_attr_get_payload_len(a.tb[NDA_LLADDR]) == 6)
		memcpy(n->mac, mnl_attr_get_payload(a.tb[NDA_LLADDR]), 6);
}

static void
on_route(struct vs_kernel *k, const struct nlmsghdr *nlh)
{
	const struct rtmsg *rt = mnl_nlmsg_get_payload(nlh);
	struct attrs a = { { 0 } };
	struct route r = { .plen = rt->rtm_dst_len };
	uint32_t table = rt->rtm_table;

	if (rt->rtm_family != AF_INET && rt->rtm_family != AF_INET6)
		return;
	mnl_attr_parse(nlh, sizeof(*rt), attr_cb, &a);
	if (a.tb[RTA_TABLE])
		table = mnl_attr_get_u32(a.tb[RTA_TABLE]);
	if (table != RT_TABLE_MAIN || rt->rtm_type != RTN_UNICAST ||
	    !a.tb[RTA_OIF] ||
	    (int)mnl_attr_get_u32(a.tb[RTA_OIF]) != k->ifindex)
		return;
	if (!ip_from_attr(&r.dst, rt->rtm_family, a.tb[RTA_DST])) {
		memset(&r.dst, 0, sizeof(r.dst)); /* the default route */
		r.dst.family = rt->rtm_family;
	}
	r.has_gw = ip_from_attr(&r.gw, rt->rtm_family, a.tb[RTA_GATEWAY]);
	r.prio = a.tb[RTA_PRIORITY] ? mnl_attr_get_u32(a.tb[RTA_PRIORITY]) : 0;
	for (unsigned i = 0; i < k->nroute; i++) {
		struct route *o = &k->route[i];

		if (ip_eq(&o->dst, &r.dst) && o->plen == r.plen &&
		    o->prio == r.prio) {
			if (nlh->nlmsg_type == RTM_DELROUTE)
				*o = k->route[--k->nroute];
			else
				*o = r;
			return;
		}
	}
	if (nlh->nlmsg_type == RTM_NEWROUTE &&
	    !grow((void **)&k->route, k->nroute, &k->route_cap, sizeof(r)))
		k->route[k->nroute++] = r;
}

static void
on_addr(struct vs_kernel *k, const struct nlmsghdr *nlh)
{
	const struct ifaddrmsg *ifa = mnl_nlmsg_get_payload(nlh);
	struct attrs a = { { 0 } };
	struct ip16 ip;

	if ((int)ifa->ifa_index != k->ifindex)
		return;
	mnl_attr_parse(nlh, sizeof(*ifa), attr_cb, &a);
	if (!ip_from_attr(&ip, ifa->ifa_family,
			  a.tb[IFA_LOCAL] ? a.tb[IFA_LOCAL] :
					    a.tb[IFA_ADDRESS]))
		return;
	for (unsigned i = 0; i < k->naddr; i++)
		if (ip_eq(&k->addr[i], &ip)) {
			if (nlh->nlmsg_type == RTM_DELADDR)
				k->addr[i] = k->addr[--k->naddr];
			return;
		}
	if (nlh->nlmsg_type == RTM_NEWADDR && k->naddr < MAX_ADDRS)
		k->addr[k->naddr++] = ip;
}

static int
msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct vs_kernel *k = data;

	if (!++k->gen) /* what the hops remember may be stale now */
		k->gen = 1;
	switch (nlh->nlmsg_type) {
	case RTM_NEWNEIGH:
	case RTM_DELNEIGH:
		on_neigh(data, nlh);
		break;
	case RTM_NEWROUTE:
	case RTM_DELROUTE:
		on_route(data, nlh);
		break;
	case RTM_NEWADDR:
	case RTM_DELADDR:
		on_addr(data, nlh);
		break;
	}
	return MNL_CB_OK;
}

/* --- requests --- */

static int
dump(struct vs_kernel *k, uint16_t type, size_t hdr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct rtgenmsg *g;
	uint32_t portid = mnl_socket_get_portid(k->req);
	ssize_t n;
	int rc = MNL_CB_OK;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = ++k->seq;
	g = mnl_nlmsg_put_extra_header(nlh, hdr);
	g->rtgen_family = AF_UNSPEC;
	if (mnl_socket_sendto(k->req, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	while (rc > MNL_CB_STOP &&
	       (n = mnl_socket_recvfrom(k->req, buf, sizeof(buf))) > 0)
		rc = mnl_cb_run(buf, (size_t)n, k->seq, portid, msg_cb, k);
	return rc < 0 ? -errno : 0;
}

/* The kernel's answer to request seq on the request socket: 0, or
 * -errno (its error, or the socket's). Read at once, so no answer is
 * left for a later dump to trip over. */
static int
ack(struct vs_kernel *k, uint32_t seq)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n = mnl_socket_recvfrom(k->req, buf, sizeof(buf));

	if (n < 0)
		return -errno;
	return mnl_cb_run(buf, (size_t)n, seq, mnl_socket_get_portid(k->req),
			  NULL, NULL) < 0 ?
		       -errno :
		       0;
}

/*
 * Asks the kernel to resolve a neighbour (what a kernel socket's first
 * packet would make it do). Without CAP_NET_ADMIN the kernel refuses
 * (EPERM): a datagram to the discard port has the same effect, and is
 * what this process uses from then on.
 */
static void
resolve(struct vs_kernel *k, const struct ip16 *ip)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ndmsg *nd;
	struct sockaddr_storage ss;
	int s;

	if (!k->no_admin) {
		nlh->nlmsg_type = RTM_NEWNEIGH;
		nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK;
		nlh->nlmsg_seq = ++k->seq;
		nd = mnl_nlmsg_put_extra_header(nlh, sizeof(*nd));
		nd->ndm_family = ip->family;
		nd->ndm_ifindex = k->ifindex;
		nd->ndm_state = NUD_NONE;
		nd->ndm_flags = NTF_USE;
		mnl_attr_put(nlh, NDA_DST, alen(ip->family), ip->a);
		if (mnl_socket_sendto(k->req, nlh, nlh->nlmsg_len) >= 0 &&
		    ack(k, k->seq) == 0)
			return;
		k->no_admin = true;
	}
	ip_to_sockaddr(ip, &ss);
	((struct sockaddr_in *)&ss)->sin_port = htons(9); /* discard */
	s = socket(ip->family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s >= 0) {
		setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, k->ifname,
			   (socklen_t)strlen(k->ifname));
		sendto(s, "", 0, 0, (struct sockaddr *)&ss,
		       ip->family == AF_INET ? sizeof(struct sockaddr_in) :
					       sizeof(struct sockaddr_in6));
		close(s);
	}
}

struct vs_kernel *
vs__kernel_open(const char *ifname, char *err, size_t errlen)
{
	static const unsigned groups[] = { RTNLGRP_NEIGH, RTNLGRP_IPV4_ROUTE,
					   RTNLGRP_IPV6_ROUTE,
					   RTNLGRP_IPV4_IFADDR,
					   RTNLGRP_IPV6_IFADDR };
	struct vs_kernel *k = calloc(1, sizeof(*k));
	int rc = 0;

	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	k->gen = 1;
	snprintf(k->ifname, sizeof(k->ifname), "%s", ifname);
	k->ifindex = (int)if_nametoindex(ifname);
	if (!k->ifindex) {
		snprintf(err, errlen, "%s: no such netdev", ifname);
		free(k);
		return NULL;
	}
	k->req = mnl_socket_open(NETLINK_ROUTE);
	k->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!k->req || !k->mon ||
	    mnl_socket_bind(k->req, 0, MNL_SOCKET_AUTOPID) ||
	    mnl_socket_bind(k->mon, 0, MNL_SOCKET_AUTOPID))
		rc = -errno;
	for (size_t i = 0; !rc && i < sizeof(groups) / sizeof(*groups); i++)
		if (mnl_socket_setsockopt(k->mon, NETLINK_ADD_MEMBERSHIP,
					  (void *)&groups[i],
					  sizeof(groups[i])))
			rc = -errno;
	/* Subscribed first, then dumped: no change falls in between. */
	if (!rc)
		rc = dump(k, RTM_GETADDR, sizeof(struct ifaddrmsg));
	if (!rc)
		rc = dump(k, RTM_GETROUTE, sizeof(struct rtmsg));
	if (!rc)
		rc = dump(k, RTM_GETNEIGH, sizeof(struct ndmsg));
	if (rc) {
		snprintf(err, errlen,
			 "%s: cannot read routes and neighbours "
			 "from the kernel: %s",
			 ifname, strerror(-rc));
		vs__kernel_close(k);
		return NULL;
	}
	return k;
}

void
vs__kernel_close(struct vs_kernel *k)
{
	if (!k)
		return;
	if (k->req)
		mnl_socket_close(k->req);
	if (k->mon)
		mnl_socket_close(k->mon);
	free(k->neigh);
	free(k->route);
	free(k);
}

int
vs__kernel_fd(const struct vs_kernel *k)
{
	return mnl_socket_get_fd(k->mon);
}

int
vs__kernel_update(struct vs_kernel *k)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int count = 0;

	while ((n = mnl_socket_recvfrom(k->mon, buf, sizeof(buf))) > 0) {
		mnl_cb_run(buf, (size_t)n, 0, 0, msg_cb, k);
		count++;
	}
	if (n < 0 && errno == ENOBUFS) {
		/* Notifications were lost: read everything again. */
		k->nneigh = k->nroute = k->naddr = 0;
		if (!++k->gen)
			k->gen = 1;
		dump(k, RTM_GETADDR, sizeof(struct ifaddrmsg));
		dump(k, RTM_GETROUTE, sizeof(struct rtmsg));
		dump(k, RTM_GETNEIGH, sizeof(struct ndmsg));
		return count + 1;
	}
	return n < 0 && errno != EAGAIN ? -errno : count;
}

int
vs__kernel_is_local(const struct vs_kernel *k, const struct sockaddr *sa)
{
	struct ip16 ip;

	ip_from_sockaddr(&ip, sa);
	for (unsigned i = 0; i < k->naddr; i++)
		if (ip_eq(&k->addr[i], &ip))
			return 1;
	return 0;
}

static bool
in_prefix(const struct ip16 *ip, const struct route *r)
{
	unsigned full = r->plen / 8, rest = r->plen % 8;

	if (ip->family != r->dst.family || memcmp(ip->a, r->dst.a, full))
		return false;
	return !rest || !((ip->a[full] ^ r->dst.a[full]) & (0xff00 >> rest));
}

int
vs__kernel_next_hop(struct vs_kernel *k, const struct sockaddr *dst,
		    uint8_t mac[6], struct sockaddr_storage *hop)
{
	const struct route *best = NULL;
	struct ip16 ip, via;
	struct neigh *n;
	struct hop *h;
	uint32_t x = 2166136261u; /* FNV-1a */

	ip_from_sockaddr(&ip, dst);
	for (size_t i = 0; i < alen(ip.family); i++)
		x = (x ^ ip.a[i]) * 16777619u;
	/* A frame's next hop, asked per frame: remembered until the tables
	 * change (a walk of the routes and a neighbour lookup otherwise,
	 * ~270 instructions a frame). */
	h = &k->hops[x % HOPS];
	if (h->gen == k->gen && ip_eq(&h->dst, &ip)) {
		memcpy(mac, h->mac, 6);
		if (hop)
			ip_to_sockaddr(&h->via, hop);
		return 0;
	}
	for (unsigned i = 0; i < k->nroute; i++) {
		const struct route *r = &k->route[i];

		if (in_prefix(&ip, r) &&
		    (!best || r->plen > best->plen ||
		     (r->plen == best->plen && r->prio < best->prio)))
			best = r;
	}
	if (!best)
		return -ENETUNREACH;
	via = best->has_gw ? best->gw : ip;
	if (hop)
		ip_to_sockaddr(&via, hop);
	n = neigh_find(k, &via);
	if (n && (n->state & USABLE)) {
		memcpy(mac, n->mac, 6);
		*h = (struct hop){ .gen = k->gen, .dst = ip, .via = via };
		memcpy(h->mac, n->mac, 6);
		return 0;
	}
	/* Ask the kernel, at most once a second for the same neighbour. */
	n = neigh_get(k, &via);
	if (n && vs__now_ms() - n->asked_ms >= 1000) {
		n->asked_ms = vs__now_ms();
		resolve(k, &via);
	}
	return -EAGAIN;
}
