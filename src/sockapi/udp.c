// SPDX-License-Identifier: MIT
/*
 * udp - vstack's UDP sockets: when a UDP socket becomes vstack's (bound
 * on the port's addresses, connected or first sent through the port),
 * its queue of received datagrams (bounded: 1024 datagrams, 1 MiB; more
 * are dropped and counted), connect, recvmsg and sendmsg, and their
 * batches recvmmsg and sendmmsg.
 *
 * Owns: struct vs_sock's datagram queue and UDP fields.
 * Must never: hold more than the bound of received datagrams (they pin
 * the port's packet buffers), or send a datagram not routed through the
 * port (the kernel's half sends those).
 */
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/log.h"
#include "base/policy.h"
#include "sockapi/sock.h"
#include "sockapi/sock_impl.h"
#include "stack/addr.h"
#include "stack/udp.h"

/* What a UDP socket may hold unread before arrivals are dropped: the
 * datagrams hold packet buffers of the port's pool. */
#define UDP_QUEUE_MAX 1024
#define UDP_QUEUE_BYTES (1u << 20)

static void
sk_udp_set(struct vs_sock *s, bool edge)
{
	uint32_t ev = EPOLLOUT | EPOLLWRNORM, old;

	if (s->dq_head)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (s->err)
		ev |= EPOLLERR;
	old = atomic_exchange(&s->ev, ev);
	if (ev != old || edge)
		vs__sk_notify(s);
}

static void
sk_udp_update(struct vs_sock *s)
{
	sk_udp_set(s, false);
}

static void
on_dgram(struct vs_udp *u, struct pbuf *p, const struct sockaddr *from)
{
	struct vs_sock *s = vs__udp_user(u);
	struct vs_dgram *d = s->dq_free;

	/* Entries are recycled: no allocation per datagram once warm. */
	if (d)
		s->dq_free = d->next;
	else if (s->dq_n < UDP_QUEUE_MAX)
		d = malloc(sizeof(*d));
	if (!d || s->dq_n >= UDP_QUEUE_MAX ||
	    s->dq_bytes + p->tot_len > UDP_QUEUE_BYTES) {
		if (d) {
			d->next = s->dq_free;
			s->dq_free = d;
		}
		s->udp_drops++;
		s->e->lw.pbuf_free(p);
		return;
	}
	d->next = NULL;
	d->p = p;
	memcpy(&d->from, from, (socklen_t)vs__sa_len(from->sa_family));
	d->to_family = 0;
	if (s->pktinfo4 || s->pktinfo6) {
		struct sockaddr_storage to;

		vs__udp_dst(u, &to);
		d->to_family = (uint8_t)to.ss_family;
		memcpy(d->to_addr, vs__sa_addr((struct sockaddr *)&to),
		       to.ss_family == AF_INET ? 4 : 16);
	}
	if (s->dq_tail)
		s->dq_tail->next = d;
	else
		s->dq_head = d;
	s->dq_tail = d;
	s->dq_n++;
	s->dq_bytes += p->tot_len;
	sk_udp_set(s, true); /* each datagram is an edge */
}

static const struct vs_udp_ops udp_ops = { .received = on_dgram };

static int
sk_udp_open(struct vs_sock *s, const struct sockaddr *local, unsigned flags)
{
	int rc;

	s->e = vs__sk_engine();
	vs__engine_lock(s->e);
	rc = vs__udp_open(s->e, local, flags, &udp_ops, s, &s->udp);
	if (!rc) {
		vs__udp_local(s->udp, &s->local);
		s->state = VS_S_CONNECTED;
		sk_udp_update(s);
	}
	vs__engine_unlock(s->e);
	return rc;
}

/* fd's UDP socket becomes vstack's, bound to local: the socket, held
 * for the caller (vs__sock_unref), or NULL (the kernel keeps it). */
static struct vs_sock *
udp_take(int fd, int family, const struct sockaddr *local, unsigned flags)
{
	struct vs_sock *s = vs__sk_new(family, SOCK_DGRAM, 1, 2);

	if (!s)
		return NULL;
	vs__sock_inherit_options(fd, s);
	if (sk_udp_open(s, local, flags)) {
		vs__sk_discard(s, 2);
		return NULL;
	}
	vs__fd_set(fd, s, VS_FD_SOCK);
	return s;
}

void
vs__sock_bound(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	int family, v6only = 0;
	struct vs_sock *s;

	if (vs__fd_get(fd) || vs__sk_type(fd, &family) != SOCK_DGRAM ||
	    (family != AF_INET && family != AF_INET6) ||
	    vs__real.getsockname(fd, (struct sockaddr *)&ss, &l) < 0 ||
	    !vs__sk_rt_up() ||
	    vs__policy_decide(vs__sk_policy(), VS_ROLE_UDP,
			      (struct sockaddr *)&ss,
			      NULL) != VS_POLICY_OFFLOAD ||
	    vs__krule_covers(vs__sk_port(), IPPROTO_UDP, (struct sockaddr *)&ss,
			     NULL) ||
	    !(vs__ip_is_any((struct sockaddr *)&ss) ||
	      vs__sk_on_port((struct sockaddr *)&ss)))
		return;
	if (family == AF_INET6) {
		l = sizeof(v6only);
		vs__real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l);
	}
	s = udp_take(fd, family, (struct sockaddr *)&ss,
		     v6only ? 0 : VS_UDP_DUAL);
	if (s) {
		s->kernel_too =
			true; /* loopback datagrams reach the kernel's half */
		vs_info("fd %d: UDP on vstack, port %u", fd,
			vs__sa_port((struct sockaddr *)&s->local));
		vs__sock_unref(s);
	}
}

struct vs_sock *
vs__sock_first_send(int fd, const struct sockaddr *to, socklen_t len)
{
	struct sockaddr_storage bound, any = { 0 };
	socklen_t l = sizeof(bound);
	int family = 0;
	struct vs_sock *s = NULL;

	if (vs__fd_get(fd) || !to || len < sizeof(sa_family_t) ||
	    (to->sa_family != AF_INET && to->sa_family != AF_INET6))
		return NULL;
	/* Bound as the kernel binds it: the unspecified address, a port of
	 * the kernel's choosing. */
	any.ss_family = to->sa_family;
	if (vs__sk_type(fd, &family) == SOCK_DGRAM && family == to->sa_family &&
	    vs__real.getsockname(fd, (struct sockaddr *)&bound, &l) == 0 &&
	    ((struct sockaddr_in *)&bound)->sin_port == 0 && vs__sk_rt_up() &&
	    vs__policy_decide(vs__sk_policy(), VS_ROLE_UDP, to, NULL) ==
		    VS_POLICY_OFFLOAD &&
	    !vs__krule_covers(vs__sk_port(), IPPROTO_UDP, NULL, to) &&
	    vs__sk_routed_via_port(to))
		s = udp_take(fd, family, (struct sockaddr *)&any, 0);
	if (!s)
		vs__fd_mark_kernel(fd);
	return s; /* held (udp_take) */
}

/* connect() on a UDP socket: the default destination (AF_UNSPEC:
 * none). A socket not yet vstack's becomes so if dst is reached through
 * the port. */
int
vs__sk_udp_connect(int fd, struct vs_sock *s, const struct sockaddr *sa,
		   socklen_t len)
{
	struct sockaddr_storage src;
	int family = 0;
	bool taken = false;

	if (!s) {
		if (sa->sa_family == AF_UNSPEC || !vs__sk_rt_up() ||
		    vs__sk_type(fd, &family) != SOCK_DGRAM ||
		    family != sa->sa_family ||
		    vs__policy_decide(vs__sk_policy(), VS_ROLE_UDP, sa, NULL) !=
			    VS_POLICY_OFFLOAD ||
		    vs__krule_covers(vs__sk_port(), IPPROTO_UDP, NULL, sa) ||
		    !vs__sk_routed_via_port_src(sa, &src))
			return vs__real.connect(fd, sa, len) < 0 ? -errno : 0;
		((struct sockaddr_in *)&src)->sin_port =
			0; /* the kernel's pick */
		s = udp_take(fd, family, (struct sockaddr *)&src, 0);
		if (!s)
			return vs__real.connect(fd, sa, len) < 0 ? -errno : 0;
		taken = true;
	}
	vs__engine_lock(s->e);
	if (sa->sa_family == AF_UNSPEC) {
		s->udp_connected = false;
	} else {
		struct sockaddr_in b;
		const struct sockaddr *d = vs__sk_unmap(sa, &b);

		memset(&s->peer, 0, sizeof(s->peer));
		memcpy(&s->peer, d, (socklen_t)vs__sa_len(d->sa_family));
		s->udp_connected = true;
	}
	vs__engine_unlock(s->e);
	if (taken)
		vs__sock_unref(s);
	return 0;
}

/* The netdev's index, for IP_PKTINFO's ipi_ifindex. */
static int
port_ifindex(void)
{
	static _Atomic int ifindex;
	int i = atomic_load_explicit(&ifindex, memory_order_relaxed);

	if (!i) {
		i = (int)if_nametoindex(vs__port_info(vs__sk_port())->ifname);
		atomic_store_explicit(&ifindex, i, memory_order_relaxed);
	}
	return i;
}

/* m's control data becomes one message (MSG_CTRUNC if it has no room). */
static void
put_cmsg(struct msghdr *m, int level, int type, const void *data, size_t len)
{
	size_t cap = m->msg_control ? m->msg_controllen : 0;
	struct cmsghdr *c;

	m->msg_controllen = 0;
	if (cap < CMSG_SPACE(len)) {
		m->msg_flags |= MSG_CTRUNC;
		return;
	}
	c = (struct cmsghdr *)m->msg_control;
	c->cmsg_level = level;
	c->cmsg_type = type;
	c->cmsg_len = CMSG_LEN(len);
	memcpy(CMSG_DATA(c), data, len);
	m->msg_controllen = CMSG_SPACE(len);
}

/* Control data for a datagram vstack received: IP_PKTINFO (an IPv4
 * datagram) or IPV6_PKTINFO (an IPv6 one, or an IPv4 one to a dual-stack
 * socket, its address mapped), as the socket asked, as Linux gives it. */
static void
put_pktinfo(struct vs_sock *s, const struct vs_dgram *d, struct msghdr *m)
{
	if (d->to_family == AF_INET && s->pktinfo4) {
		struct in_pktinfo pi = { .ipi_ifindex = port_ifindex() };

		memcpy(&pi.ipi_spec_dst, d->to_addr, 4);
		memcpy(&pi.ipi_addr, d->to_addr, 4);
		put_cmsg(m, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
	} else if (d->to_family && s->pktinfo6 && s->family == AF_INET6) {
		struct in6_pktinfo pi = { .ipi6_ifindex =
						  (unsigned)port_ifindex() };

		if (d->to_family == AF_INET) { /* ::ffff:a.b.c.d */
			pi.ipi6_addr.s6_addr[10] = 0xff;
			pi.ipi6_addr.s6_addr[11] = 0xff;
			memcpy(&pi.ipi6_addr.s6_addr[12], d->to_addr, 4);
		} else {
			memcpy(&pi.ipi6_addr, d->to_addr, 16);
		}
		put_cmsg(m, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
	} else {
		m->msg_controllen = 0;
	}
}

/* s's first datagram into m, under the engine's lock: its length (as
 * recvmsg returns it), or -1 if none is queued. */
static ssize_t
dq_take(struct vs_sock *s, struct msghdr *m, int flags)
{
	struct vs_dgram *d = s->dq_head;
	size_t want = vs__sk_iov_total(m->msg_iov, (int)m->msg_iovlen), got,
	       dlen;

	if (!d)
		return -1;
	dlen = d->p->tot_len;
	got = vs__sk_copy_dgram(s, d->p, m->msg_iov, (int)m->msg_iovlen, want);
	if (m->msg_name)
		vs__sk_copy_addr(s->family, &d->from, m->msg_name,
				 &m->msg_namelen);
	m->msg_flags = dlen > got ? MSG_TRUNC : 0;
	put_pktinfo(s, d, m);
	if (!(flags & MSG_PEEK)) {
		vs__netif_delivered(&s->e->nif, d->p);
		s->dq_head = d->next;
		if (!s->dq_head)
			s->dq_tail = NULL;
		s->dq_n--;
		s->dq_bytes -= dlen;
		s->e->lw.pbuf_free(d->p);
		d->next = s->dq_free;
		s->dq_free = d;
		sk_udp_update(s);
	}
	return (ssize_t)(flags & MSG_TRUNC ? dlen : got);
}

/* recvmsg; *kernel: whether the datagram came from the kernel half. */
static ssize_t
dgram_recv(int fd, struct vs_sock *s, struct msghdr *m, int flags, bool *kernel)
{
	bool waited = false, timed_out = false;

	flags &= ~MSG_WAITFORONE;
	for (;;) {
		bool nb = timed_out || atomic_load(&s->nonblock) ||
			  (flags & MSG_DONTWAIT);
		ssize_t got;
		int rc;

		vs__engine_lock(s->e);
		got = dq_take(s, m, flags);
		vs__engine_unlock(s->e);
		if (got >= 0)
			return got;
		/* The kernel half (loopback datagrams) is read before EAGAIN
		 * and after a wait, whose sleep polls its fd: a blocking
		 * call that finds vstack's queue empty makes no failing
		 * syscall for it first (its wait spins on vstack's queue,
		 * then sleeps on both). */
		if (s->kernel_too && (nb || waited)) {
			ssize_t k =
				vs__real.recvmsg(fd, m, flags | MSG_DONTWAIT);

			*kernel = k >= 0;
			if (k >= 0 || errno != EAGAIN)
				return k >= 0 ? k : -errno;
		}
		if (nb)
			return -EAGAIN;
		waited = true;
		rc = vs__sk_wait_for(s, EPOLLIN, s->kernel_too ? fd : -1,
				     POLLIN, s->rcvtimeo_ms);
		/* A timeout (whose spin may have outlasted it, never polling
		 * the kernel half): one more look at both, then EAGAIN. */
		if (rc == -EAGAIN)
			timed_out = true;
		else if (rc)
			return rc;
	}
}

ssize_t
vs__sk_udp_recv(int fd, struct vs_sock *s, struct msghdr *m, int flags)
{
	bool kernel = false;

	return dgram_recv(fd, s, m, flags, &kernel);
}

/*
 * recvmmsg as Linux has it: up to n datagrams; on a blocking socket
 * without MSG_WAITFORONE it waits for each (SO_RCVTIMEO bounding each
 * wait), with MSG_WAITFORONE for the first only; tmo is looked at after
 * each datagram (the kernel's rule) and given back what is left of it.
 * What is queued is taken under one hold of the engine's lock: a burst
 * costs one lock, not one per datagram. An error after a datagram ends
 * the call with the datagrams so far.
 */
int
vs__sk_udp_recvmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		    int flags, struct timespec *tmo)
{
	uint64_t end_ns = 0;
	unsigned got = 0;
	bool over = false, kernel = false;

	if (tmo) {
		if (tmo->tv_sec < 0 || tmo->tv_nsec < 0 ||
		    tmo->tv_nsec >= 1000000000L)
			return -EINVAL;
		end_ns = vs__now_us() * 1000 +
			 (uint64_t)tmo->tv_sec * 1000000000u +
			 (uint64_t)tmo->tv_nsec;
	}
	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	while (got < n && !over) {
		ssize_t k;

		vs__engine_lock(s->e);
		while (got < n && !over &&
		       (k = dq_take(s, &v[got].msg_hdr,
				    flags & ~MSG_WAITFORONE)) >= 0) {
			v[got++].msg_len = (unsigned)k;
			over = tmo && vs__now_us() * 1000 >= end_ns;
		}
		vs__engine_unlock(s->e);
		if (got == n || over)
			break;
		/* Not waiting for more: what vstack's queue had is the
		 * batch, unless the batch so far came from the kernel half
		 * (loopback datagrams), whose queue is read on. Nothing
		 * else asks the kernel half here: a failing syscall per call
		 * would cost more than the batch saves. */
		if (got && ((flags & (MSG_WAITFORONE | MSG_DONTWAIT)) ||
			    atomic_load(&s->nonblock))) {
			if (!kernel)
				break;
			flags |= MSG_DONTWAIT;
		}
		kernel = false;
		k = dgram_recv(fd, s, &v[got].msg_hdr, flags, &kernel);
		if (k < 0) {
			if (!got)
				return (int)k;
			break;
		}
		v[got++].msg_len = (unsigned)k;
		over = tmo && vs__now_us() * 1000 >= end_ns;
	}
	if (tmo) {
		uint64_t now = vs__now_us() * 1000,
			 left = end_ns > now ? end_ns - now : 0;

		tmo->tv_sec = (time_t)(left / 1000000000u);
		tmo->tv_nsec = (long)(left % 1000000000u);
	}
	return (int)got;
}

/*
 * routed_via_port for a datagram's destination: the kernel's answer (four
 * syscalls: a socket connected to it, asked its source, closed) is
 * remembered by address for ROUTE_TTL_MS in a table of ROUTES per
 * thread (no lock on the way of a datagram), one entry per hash of the
 * address (a collision asks again), so a server answering many clients
 * asks once per client a second, not per datagram. A route that changes
 * is seen within ROUTE_TTL_MS.
 */
#define ROUTES 256
#define ROUTE_TTL_MS 1000

struct route {
	uint64_t until_ms; /* 0: empty */
	uint8_t family, via;
	uint8_t addr[16];
};

static __thread struct route routes[ROUTES];

static bool
via_port_cached(const struct sockaddr *to)
{
	size_t alen = to->sa_family == AF_INET ? 4 : 16;
	const uint8_t *a = vs__sa_addr(to);
	uint64_t now = vs__now_ms();
	uint32_t h = 2166136261u; /* FNV-1a */
	struct route *r;
	bool via;

	for (size_t i = 0; i < alen; i++)
		h = (h ^ a[i]) * 16777619u;
	r = &routes[h % ROUTES];
	if (r->until_ms > now && r->family == to->sa_family &&
	    !memcmp(r->addr, a, alen))
		return r->via;
	via = vs__sk_routed_via_port(to);
	r->until_ms = now + ROUTE_TTL_MS;
	r->family = (uint8_t)to->sa_family;
	r->via = via;
	memcpy(r->addr, a, alen);
	return via;
}

/*
 * The source a sender asks for with IP_PKTINFO (ipi_spec_dst) or
 * IPV6_PKTINFO (ipi6_addr) control data: 0 and *src family 0 if none
 * (or the unspecified address), 1 with *src set, -1 if it names another
 * interface than the port's (the kernel's half sends then).
 */
static int
src_of(const struct msghdr *m, struct sockaddr_storage *src)
{
	src->ss_family = 0;
	if (!m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR((struct msghdr *)m); c;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;
			struct sockaddr_in *a = (struct sockaddr_in *)src;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (pi.ipi_ifindex && pi.ipi_ifindex != port_ifindex())
				return -1;
			if (!pi.ipi_spec_dst.s_addr)
				continue;
			*a = (struct sockaddr_in){ .sin_family = AF_INET,
						   .sin_addr =
							   pi.ipi_spec_dst };
		} else if (c->cmsg_level == IPPROTO_IPV6 &&
			   c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >=
				   CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)src;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (pi.ipi6_ifindex &&
			    pi.ipi6_ifindex != (unsigned)port_ifindex())
				return -1;
			if (IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr))
				continue;
			*a = (struct sockaddr_in6){ .sin6_family = AF_INET6,
						    .sin6_addr = pi.ipi6_addr };
		}
	}
	return src->ss_family ? 1 : 0;
}

/* Where a datagram goes: to and from (NULL: the port's choice), which
 * may point into b and fb. */
struct udp_dest {
	const struct sockaddr *to, *from;
	struct sockaddr_in b, fb;
	struct sockaddr_storage src;
};

/* m's destination: 0 when vstack sends it, 1 when the kernel's half does
 * (not through the port - loopback... - or a source on another
 * interface), or an error. */
static int
udp_dest(const struct vs_sock *s, const struct msghdr *m, struct udp_dest *d)
{
	int asked;

	d->from = NULL;
	if (m->msg_name) {
		if (m->msg_namelen < sizeof(sa_family_t))
			return -EINVAL;
		d->to = vs__sk_unmap(m->msg_name, &d->b);
	} else if (s->udp_connected) {
		d->to = (const struct sockaddr *)&s->peer;
	} else {
		return -EDESTADDRREQ;
	}
	asked = src_of(m, &d->src);
	if (asked > 0) /* an IPv4-mapped source of a dual-stack socket */
		d->from = vs__sk_unmap((struct sockaddr *)&d->src, &d->fb);
	return asked < 0 || !via_port_cached(d->to) ||
	       (d->from && d->from->sa_family != d->to->sa_family);
}

static ssize_t
kernel_send(int fd, const struct msghdr *m, int flags, size_t len)
{
	return vs__real.sendmsg(fd, m, flags) < 0 ? -errno : (ssize_t)len;
}

/*
 * Sends m (of len bytes) to d, the engine's lock held (and left held):
 * the datagram's length or an error. A source address the port does not
 * have is the kernel's, sent with the lock dropped for it. A datagram
 * of several pieces is gathered into small or an allocation.
 */
static ssize_t
send_locked(int fd, struct vs_sock *s, const struct msghdr *m, int flags,
	    size_t len, const struct udp_dest *d)
{
	char small[2048], *buf = small;
	size_t off = 0;
	ssize_t rc;

	if (m->msg_iovlen == 1)
		buf = m->msg_iov[0].iov_base;
	else if (len > sizeof(small) && !(buf = malloc(len)))
		return -ENOBUFS;
	else
		for (size_t i = 0; i < m->msg_iovlen; i++) {
			memcpy(buf + off, m->msg_iov[i].iov_base,
			       m->msg_iov[i].iov_len);
			off += m->msg_iov[i].iov_len;
		}
	rc = vs__udp_sendto(s->udp, buf, len, d->to, d->from);
	if (buf != small && m->msg_iovlen != 1)
		free(buf);
	if (rc == -EADDRNOTAVAIL) {
		vs__engine_unlock(s->e);
		rc = kernel_send(fd, m, flags, len);
		vs__engine_lock(s->e);
	}
	return rc;
}

ssize_t
vs__sk_udp_send(int fd, struct vs_sock *s, const struct msghdr *m, int flags)
{
	size_t len = vs__sk_iov_total(m->msg_iov, (int)m->msg_iovlen);
	struct udp_dest d;
	int how = udp_dest(s, m, &d);
	ssize_t rc;

	if (how)
		return how < 0 ? how : kernel_send(fd, m, flags, len);
	vs__engine_lock(s->e);
	rc = send_locked(fd, s, m, flags, len, &d);
	vs__engine_unlock(s->e);
	return rc;
}

/*
 * sendmmsg: up to SEND_BURST datagrams at a time have their destinations
 * found first (a route the thread has not cached costs syscalls: never
 * under the engine's lock), then those vstack sends go under one hold of
 * the lock, and so leave in one burst (one doorbell, one kick on AF_XDP)
 * when it is let go; those of the kernel's half go between, in order.
 * As Linux: the number sent, or the error of the first if none was.
 */
#define SEND_BURST 32

int
vs__sk_udp_sendmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		    int flags)
{
	struct udp_dest d[SEND_BURST];
	int how[SEND_BURST];
	ssize_t rc = 0;
	unsigned i = 0;

	if (n > UIO_MAXIOV)
		n = UIO_MAXIOV;
	while (i < n && rc >= 0) {
		unsigned k = n - i < SEND_BURST ? n - i : SEND_BURST;
		bool locked = false;

		for (unsigned j = 0; j < k; j++)
			how[j] = udp_dest(s, &v[i + j].msg_hdr, &d[j]);
		for (unsigned j = 0; j < k; j++, i++) {
			const struct msghdr *m = &v[i].msg_hdr;
			size_t len = vs__sk_iov_total(m->msg_iov,
						      (int)m->msg_iovlen);

			if (how[j] && locked) {
				vs__engine_unlock(s->e);
				locked = false;
			}
			if (how[j] < 0) {
				rc = how[j];
			} else if (how[j]) {
				rc = kernel_send(fd, m, flags, len);
			} else {
				if (!locked)
					vs__engine_lock(s->e);
				locked = true;
				rc = send_locked(fd, s, m, flags, len, &d[j]);
			}
			if (rc < 0)
				break;
			v[i].msg_len = (unsigned)rc;
		}
		if (locked)
			vs__engine_unlock(s->e);
	}
	return i ? (int)i : (int)rc;
}
