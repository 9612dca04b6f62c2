// SPDX-License-Identifier: MIT
/*
 * opts - socket options of vstack's sockets.
 *
 * Every option goes to the socket's kernel twin first: the kernel
 * validates the value, getsockopt answers from it for what vstack does
 * not track, and bind-time options (SO_REUSEADDR, IPV6_V6ONLY...) do
 * their work there. Then one of three things:
 *
 *   - vstack honours it on its own socket (the table `honoured`):
 *     TCP_NODELAY, keepalive, SO_LINGER, SO_RCVTIMEO/SO_SNDTIMEO;
 *   - vstack cannot give a UDP socket what it asks for (multicast groups,
 *     ancillary data it never produces: timestamps): the socket goes
 *     back to the kernel, which then carries its datagrams (IP_PKTINFO
 *     and IPV6_RECVPKTINFO it gives: udp.c);
 *   - anything else changes only the kernel twin: the call succeeds (as
 *     programs expect) and vstack says so once per option and process.
 * docs/sockapi.md, "Socket options", lists them.
 *
 * Owns: the option fields of struct vs_sock (opt, linger_s, timeouts),
 * and which options vstack claims to implement.
 * Must never: return success for an option it says it honours without
 * applying it, or fail an option the kernel accepts because vstack
 * ignores it.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#include "base/compiler.h"
#include "base/log.h"
#include "sockapi/sock.h"

int
vs__sock_ms_of(const void *val, socklen_t len)
{
	const struct timeval *tv = val;

	if (len < sizeof(*tv))
		return -1;
	return (int)(tv->tv_sec * 1000 + (tv->tv_usec + 999) / 1000);
}

void
vs__sock_apply_options(struct vs_sock *s)
{
	if (!s->tcp)
		return;
	vs__tcp_set_nodelay(s->tcp, s->opt.nodelay);
	vs__tcp_set_keepalive(s->tcp, s->opt.keepalive, s->opt.keep_idle,
			      s->opt.keep_intvl, s->opt.keep_cnt);
}

void
vs__sock_inherit_options(int fd, struct vs_sock *s)
{
	int one = 0, fl = vs__real.fcntl(fd, F_GETFL);
	socklen_t l;
	struct timeval tv;
	struct linger lg;

	l = sizeof(lg);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &l) == 0)
		s->linger_s = lg.l_onoff ? lg.l_linger : -1;
	l = sizeof(one);
	if (vs__real.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, &l) == 0)
		s->opt.nodelay = one != 0;
	l = sizeof(one);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, &l) == 0)
		s->opt.keepalive = one != 0;
	atomic_store(&s->nonblock, fl >= 0 && (fl & O_NONBLOCK));
	l = sizeof(tv);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &l) == 0)
		s->rcvtimeo_ms = vs__sock_ms_of(&tv, l);
	l = sizeof(tv);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, &l) == 0)
		s->sndtimeo_ms = vs__sock_ms_of(&tv, l);
	l = sizeof(one);
	if (vs__real.getsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, &l) == 0)
		s->pktinfo4 = one != 0;
	l = sizeof(one);
	if (vs__real.getsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, &l) ==
	    0)
		s->pktinfo6 = one != 0;
}

struct opt {
	int level, name;
	const char *text;
};

#define OPT(l, n)        \
	{                \
		l, n, #n \
	}

/* What vstack does itself, or what only matters where the kernel twin
 * does its work (binding): no message. */
static const struct opt honoured[] = {
	OPT(SOL_SOCKET, SO_KEEPALIVE),	     OPT(SOL_SOCKET, SO_LINGER),
	OPT(SOL_SOCKET, SO_RCVTIMEO),	     OPT(SOL_SOCKET, SO_SNDTIMEO),
	OPT(SOL_SOCKET, SO_REUSEADDR),	     OPT(SOL_SOCKET, SO_REUSEPORT),
	OPT(IPPROTO_TCP, TCP_NODELAY),	     OPT(IPPROTO_TCP, TCP_KEEPIDLE),
	OPT(IPPROTO_TCP, TCP_KEEPINTVL),     OPT(IPPROTO_TCP, TCP_KEEPCNT),
	OPT(IPPROTO_IPV6, IPV6_V6ONLY),	     OPT(IPPROTO_IP, IP_PKTINFO),
	OPT(IPPROTO_IPV6, IPV6_RECVPKTINFO),
};

/* A UDP socket with one of these set is the kernel's. */
static const struct opt kernel_only[] = {
	OPT(IPPROTO_IP, IP_ADD_MEMBERSHIP),
	OPT(IPPROTO_IP, IP_ADD_SOURCE_MEMBERSHIP),
	OPT(IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP),
	OPT(IPPROTO_IP, MCAST_JOIN_GROUP),
	OPT(IPPROTO_IPV6, MCAST_JOIN_GROUP),
	OPT(IPPROTO_IP, MCAST_JOIN_SOURCE_GROUP),
	OPT(IPPROTO_IPV6, MCAST_JOIN_SOURCE_GROUP),
	OPT(SOL_SOCKET, SO_TIMESTAMP),
	OPT(SOL_SOCKET, SO_TIMESTAMPNS),
	OPT(SOL_SOCKET, SO_TIMESTAMPING),
};

/* Names for the message about the rest. */
static const struct opt ignored[] = {
	OPT(SOL_SOCKET, SO_RCVBUF),
	OPT(SOL_SOCKET, SO_SNDBUF),
	OPT(SOL_SOCKET, SO_RCVBUFFORCE),
	OPT(SOL_SOCKET, SO_SNDBUFFORCE),
	OPT(SOL_SOCKET, SO_RCVLOWAT),
	OPT(SOL_SOCKET, SO_PRIORITY),
	OPT(SOL_SOCKET, SO_MARK),
	OPT(SOL_SOCKET, SO_BROADCAST),
	OPT(SOL_SOCKET, SO_BINDTODEVICE),
	OPT(SOL_SOCKET, SO_OOBINLINE),
	OPT(SOL_SOCKET, SO_ZEROCOPY),
	OPT(SOL_SOCKET, SO_BUSY_POLL),
	OPT(IPPROTO_TCP, TCP_CORK),
	OPT(IPPROTO_TCP, TCP_QUICKACK),
	OPT(IPPROTO_TCP, TCP_MAXSEG),
	OPT(IPPROTO_TCP, TCP_USER_TIMEOUT),
	OPT(IPPROTO_TCP, TCP_DEFER_ACCEPT),
	OPT(IPPROTO_TCP, TCP_FASTOPEN),
	OPT(IPPROTO_TCP, TCP_CONGESTION),
	OPT(IPPROTO_TCP, TCP_NOTSENT_LOWAT),
	OPT(IPPROTO_TCP, TCP_WINDOW_CLAMP),
	OPT(IPPROTO_TCP, TCP_SYNCNT),
	OPT(IPPROTO_TCP, TCP_LINGER2),
	OPT(IPPROTO_IP, IP_TOS),
	OPT(IPPROTO_IP, IP_TTL),
	OPT(IPPROTO_IP, IP_MTU_DISCOVER),
	OPT(IPPROTO_IP, IP_RECVERR),
	OPT(IPPROTO_IP, IP_MULTICAST_TTL),
	OPT(IPPROTO_IP, IP_MULTICAST_LOOP),
	OPT(IPPROTO_IP, IP_MULTICAST_IF),
	OPT(IPPROTO_IPV6, IPV6_TCLASS),
	OPT(IPPROTO_IPV6, IPV6_UNICAST_HOPS),
	OPT(IPPROTO_IPV6, IPV6_MTU_DISCOVER),
	OPT(IPPROTO_IPV6, IPV6_RECVERR),
};

static const struct opt *
find(const struct opt *t, size_t n, int level, int name)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].level == level && t[i].name == name)
			return &t[i];
	return NULL;
}

#define FIND(t, l, n) find((t), VS_ARRAY_SIZE(t), (l), (n))

static const char *
opt_name(int level, int name, char *buf, size_t len)
{
	const struct opt *o = FIND(ignored, level, name);

	if (!o)
		o = FIND(kernel_only, level, name);
	if (o)
		return o->text;
	snprintf(buf, len, "level %d option %d", level, name);
	return buf;
}

/* Says once per option and process that vstack ignores it. */
static void
say_ignored(int fd, int level, int name)
{
	static struct {
		_Atomic int level, name;
	} said[32];
	static _Atomic unsigned nsaid;
	unsigned n = atomic_load(&nsaid);
	char buf[48];

	for (unsigned i = 0; i < n && i < VS_ARRAY_SIZE(said); i++)
		if (atomic_load(&said[i].level) == level &&
		    atomic_load(&said[i].name) == name)
			return;
	n = atomic_fetch_add(&nsaid, 1);
	if (n < VS_ARRAY_SIZE(said)) {
		atomic_store(&said[n].level, level);
		atomic_store(&said[n].name, name);
	}
	vs_warn("fd %d: setsockopt %s: vstack's socket ignores it (its kernel "
		"twin took it; docs/sockapi.md, Socket options; said once)",
		fd, opt_name(level, name, buf, sizeof(buf)));
}

int
vs__sock_setsockopt(int fd, struct vs_sock *s, int level, int name,
		    const void *val, socklen_t len)
{
	char buf[48];

	if (vs__real.setsockopt(fd, level, name, val, len) < 0)
		return -errno;
	if (s->type == SOCK_DGRAM && FIND(kernel_only, level, name)) {
		if (vs__sock_to_kernel(fd, s) == 0)
			vs_info("fd %d: setsockopt %s: the kernel carries this UDP "
				"socket from now on",
				fd, opt_name(level, name, buf, sizeof(buf)));
		else
			vs_warn("fd %d: setsockopt %s: vstack cannot do it and the "
				"socket cannot go back to the kernel (it is shared or "
				"watched); its datagrams stay vstack's",
				fd, opt_name(level, name, buf, sizeof(buf)));
		return 0;
	}
	if (!FIND(honoured, level, name)) {
		say_ignored(fd, level, name);
		return 0;
	}
	if (len >= sizeof(int) && s->type == SOCK_STREAM &&
	    ((level == SOL_SOCKET && name == SO_KEEPALIVE) ||
	     (level == IPPROTO_TCP &&
	      (name == TCP_NODELAY || name == TCP_KEEPIDLE ||
	       name == TCP_KEEPINTVL || name == TCP_KEEPCNT)))) {
		unsigned v = (unsigned)*(const int *)val;

		if (level == SOL_SOCKET)
			s->opt.keepalive = v != 0;
		else if (name == TCP_NODELAY)
			s->opt.nodelay = v != 0;
		else if (name == TCP_KEEPIDLE)
			s->opt.keep_idle = v;
		else if (name == TCP_KEEPINTVL)
			s->opt.keep_intvl = v;
		else
			s->opt.keep_cnt = v;
		/* A listener's go to the connections it accepts. */
		if (s->state != VS_S_LISTEN) {
			vs__engine_lock(s->e);
			vs__sock_apply_options(s);
			vs__engine_unlock(s->e);
		}
	} else if (level == SOL_SOCKET && name == SO_LINGER &&
		   len >= sizeof(struct linger)) {
		const struct linger *l = val;

		s->linger_s =
			l->l_onoff ? (l->l_linger < 0 ? 0 : l->l_linger) : -1;
	} else if (len >= sizeof(int) && s->type == SOCK_DGRAM &&
		   ((level == IPPROTO_IP && name == IP_PKTINFO) ||
		    (level == IPPROTO_IPV6 && name == IPV6_RECVPKTINFO))) {
		bool on = *(const int *)val != 0;

		if (level == IPPROTO_IP)
			s->pktinfo4 = on;
		else
			s->pktinfo6 = on;
	} else if (level == SOL_SOCKET && name == SO_RCVTIMEO) {
		s->rcvtimeo_ms = vs__sock_ms_of(val, len);
	} else if (level == SOL_SOCKET && name == SO_SNDTIMEO) {
		s->sndtimeo_ms = vs__sock_ms_of(val, len);
	}
	return 0;
}

void
vs__sock_opt_kernel(int fd, int level, int name)
{
	int type = 0;
	socklen_t l = sizeof(type);

	if (FIND(kernel_only, level, name) &&
	    vs__real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) == 0 &&
	    type == SOCK_DGRAM)
		vs__fd_mark_kernel(fd);
}

int
vs__sock_getsockopt(int fd, struct vs_sock *s, int level, int name, void *val,
		    socklen_t *len)
{
	if (level == SOL_SOCKET && name == SO_ERROR &&
	    s->state != VS_S_LISTEN) {
		int err;

		if (!val || !len || *len < sizeof(int))
			return -EINVAL;
		vs__engine_lock(s->e);
		err = -vs__sock_take_err(s);
		vs__engine_unlock(s->e);
		*(int *)val = err;
		*len = sizeof(int);
		return 0;
	}
	if (level == IPPROTO_TCP && name == TCP_INFO &&
	    s->type == SOCK_STREAM && s->state != VS_S_LISTEN) {
		struct tcp_info ti = { 0 };
		struct vs_tcp_info in = { .state = TCP_CLOSE };

		if (!val || !len)
			return -EFAULT;
		vs__engine_lock(s->e);
		if (s->tcp)
			vs__tcp_info(s->tcp, &in);
		vs__engine_unlock(s->e);
		ti.tcpi_state = (uint8_t)in.state;
		ti.tcpi_snd_mss = in.mss;
		ti.tcpi_rcv_mss = in.mss;
		ti.tcpi_rcv_space = in.rcv_wnd;
		ti.tcpi_unacked = in.mss ? in.snd_queued / in.mss : 0;
		memcpy(val, &ti, *len < sizeof(ti) ? *len : sizeof(ti));
		*len = *len < sizeof(ti) ? *len : sizeof(ti);
		return 0;
	}
	return vs__real.getsockopt(fd, level, name, val, len) < 0 ? -errno : 0;
}
