// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/lock.h"
#include "stack/addr.h"
#include "stack/steer.h"
#include "stack/udp.h"

struct vs_udp {
	struct vs_engine *e;
	struct udp_pcb *pcb;
	const struct vs_udp_ops *ops;
	void *user;
	struct vs_steer st;
	int reserve_fd;
	bool dual;
	struct sockaddr_storage local;
	struct vs_udp *reg_next; /* in reg[port % REG_LISTS] */
};

/* Every open socket by local port, for the engine that reassembles
 * datagrams (vs__udp_engine_of): touched at open, close and per
 * reassembled datagram, never per ordinary one. */
#define REG_LISTS 256
static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vs_udp *reg[REG_LISTS];

static void
reg_add(struct vs_udp *u)
{
	unsigned i = vs__sa_port((struct sockaddr *)&u->local) % REG_LISTS;

	vs__mutex_lock(&reg_lock);
	u->reg_next = reg[i];
	reg[i] = u;
	vs__mutex_unlock(&reg_lock);
}

static void
reg_del(struct vs_udp *u)
{
	unsigned i = vs__sa_port((struct sockaddr *)&u->local) % REG_LISTS;

	vs__mutex_lock(&reg_lock);
	for (struct vs_udp **pp = &reg[i]; *pp; pp = &(*pp)->reg_next)
		if (*pp == u) {
			*pp = u->reg_next;
			break;
		}
	vs__mutex_unlock(&reg_lock);
}

struct vs_engine *
vs__udp_engine_of(const struct vs_port *port, int family, const void *dst,
		  uint16_t dport)
{
	struct vs_engine *exact = NULL, *any = NULL;
	size_t alen = family == AF_INET ? 4 : 16;

	vs__mutex_lock(&reg_lock);
	for (struct vs_udp *u = reg[dport % REG_LISTS]; u && !exact;
	     u = u->reg_next) {
		const struct sockaddr *l = (const struct sockaddr *)&u->local;

		if (u->e->port != port || vs__sa_port(l) != dport)
			continue;
		if (l->sa_family == family && !vs__ip_is_any(l) &&
		    !memcmp(vs__sa_addr(l), dst, alen))
			exact = u->e;
		else if (vs__ip_is_any(l) &&
			 (l->sa_family == family || u->dual))
			any = any ? any : u->e;
	}
	vs__mutex_unlock(&reg_lock);
	return exact ? exact : any;
}

static void
on_recv(void *arg, struct udp_pcb *pcb, struct pbuf *p, const ip_addr_t *addr,
	u16_t port)
{
	struct vs_udp *u = arg;
	struct sockaddr_storage from;

	(void)pcb;
	vs__sa_of_ip(addr, port, &from);
	vs__stat_add(&u->e->st.udp_rx_datagrams, 1);
	if (u->ops && u->ops->received)
		u->ops->received(u, p, (struct sockaddr *)&from);
	else
		u->e->lw.pbuf_free(p);
}

/* An ephemeral port from the kernel, held by a bound kernel socket. */
static int
reserve(struct vs_udp *u)
{
	socklen_t len = sizeof(u->local);

	u->reserve_fd =
		socket(u->local.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (u->reserve_fd < 0 ||
	    bind(u->reserve_fd, (struct sockaddr *)&u->local,
		 (socklen_t)vs__sa_len(u->local.ss_family)) < 0 ||
	    getsockname(u->reserve_fd, (struct sockaddr *)&u->local, &len) < 0)
		return -errno;
	return 0;
}

static int
steer(struct vs_udp *u)
{
	return vs__steer_add(u->e->port, (int)u->e->q, IPPROTO_UDP,
			     (struct sockaddr *)&u->local, u->dual, &u->st);
}

static void
udp_free(struct vs_udp *u)
{
	if (u->pcb) {
		reg_del(u);
		u->e->lw.udp_remove(u->pcb);
	}
	vs__steer_del(u->e->port, &u->st);
	if (u->reserve_fd >= 0)
		close(u->reserve_fd);
	free(u);
}

int
vs__udp_open(struct vs_engine *e, const struct sockaddr *local, unsigned flags,
	     const struct vs_udp_ops *ops, void *user, struct vs_udp **out)
{
	struct vs_udp *u = calloc(1, sizeof(*u));
	ip_addr_t ip;
	int rc = 0;

	if (!u)
		return -ENOMEM;
	u->e = e;
	u->ops = ops;
	u->user = user;
	u->reserve_fd = -1;
	memcpy(&u->local, local, vs__sa_len(local->sa_family));
	ip = vs__ip_of((struct sockaddr *)&u->local);
	u->dual = (flags & VS_UDP_DUAL) && local->sa_family == AF_INET6 &&
		  ip_addr_isany(&ip);
	if (u->dual)
		ip = vs__lwip_addr_any(IPADDR_TYPE_ANY);
	if (!vs__sa_port(local))
		rc = reserve(u);
	if (!rc)
		rc = steer(u);
	if (!rc && !(u->pcb = e->lw.udp_new_ip_type(IP_GET_TYPE(&ip))))
		rc = -ENOMEM;
	if (!rc &&
	    e->lw.udp_bind(u->pcb, &ip,
			   vs__sa_port((struct sockaddr *)&u->local)) != ERR_OK)
		rc = -EADDRINUSE;
	if (rc) {
		udp_free(u);
		return rc;
	}
	e->lw.udp_recv(u->pcb, on_recv, u);
	reg_add(u);
	*out = u;
	return 0;
}

void
vs__udp_dst(const struct vs_udp *u, struct sockaddr_storage *ss)
{
	vs__sa_of_ip(&u->e->lw.ip_data->current_iphdr_dest, 0, ss);
}

/* Is a one of the port's addresses (those lwIP has)? */
static bool
port_has(const struct vs_port *port, const struct sockaddr *a)
{
	const struct vs_port_info *in = vs__port_info(port);
	size_t alen = a->sa_family == AF_INET ? 4 : 16;

	for (unsigned k = 0; k < in->naddrs; k++)
		if (in->addrs[k].ss_family == a->sa_family &&
		    !memcmp(vs__sa_addr((const struct sockaddr *)&in->addrs[k]),
			    vs__sa_addr(a), alen))
			return true;
	return false;
}

ssize_t
vs__udp_sendto(struct vs_udp *u, const void *data, size_t len,
	       const struct sockaddr *to, const struct sockaddr *from)
{
	/* What one IP datagram can carry, as the kernel enforces it. */
	size_t max = to->sa_family == AF_INET ? 65507 : 65527;
	ip_addr_t ip = vs__ip_of(to);
	struct pbuf *p;
	bool frag;
	err_t err;

	if (len > max)
		return -EMSGSIZE;
	if (from &&
	    (from->sa_family != to->sa_family || !port_has(u->e->port, from)))
		return -EADDRNOTAVAIL;
	p = u->e->lw.pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!p)
		return -ENOBUFS;
	u->e->lw.pbuf_take(p, data, (u16_t)len);
	/* lwIP fragments what exceeds the MTU; no NIC sums a fragment. */
	frag = len + 8 + (to->sa_family == AF_INET ? 20 : 40) >
	       u->e->nif.nif.mtu;
	if (frag)
		vs__netif_udp_csum_soft(&u->e->nif, true);
	if (from) {
		ip_addr_t src = vs__ip_of(from);

		err = u->e->lw.udp_sendto_if_src(
			u->pcb, p, &ip, vs__sa_port(to), &u->e->nif.nif, &src);
	} else {
		err = u->e->lw.udp_sendto(u->pcb, p, &ip, vs__sa_port(to));
	}
	if (frag)
		vs__netif_udp_csum_soft(&u->e->nif, false);
	u->e->lw.pbuf_free(p);
	if (err == ERR_OK)
		vs__stat_add(&u->e->st.udp_tx_datagrams, 1);
	return err == ERR_OK  ? (ssize_t)len :
	       err == ERR_RTE ? -ENETUNREACH :
				-ENOBUFS;
}

void *
vs__udp_user(const struct vs_udp *u)
{
	return u->user;
}

void
vs__udp_local(const struct vs_udp *u, struct sockaddr_storage *ss)
{
	*ss = u->local;
}

void
vs__udp_close(struct vs_udp *u)
{
	udp_free(u);
}
