// SPDX-License-Identifier: MIT
/*
 * sock - vstack's sockets under the libc socket calls: the preload's
 * runtime (configuration, then src/rt's bring-up on the first socket
 * that may be offloaded), which sockets become vstack's, TCP listeners,
 * accept and connect, the stream data path, waiting, close. UDP is
 * udp.c's, the fd table fd.c's, options opts.c's, kernel rules
 * krules.c's.
 *
 * Owns: struct vs_sock's life (references, release) and its TCP state.
 * Must never: block with an engine's lock held, call an interposed
 * function but through vs__real, or take a socket the policy, a kernel
 * rule or the routing leaves to the kernel.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/clock.h"
#include "base/config.h"
#include "base/log.h"
#include "base/compiler.h"
#include "rt/runtime.h"
#include "sockapi/sock.h"
#include "sockapi/share.h"
#include "sockapi/sock_impl.h"
#include "stack/addr.h"
#include "stack/udp.h"

struct vs_real vs__real;

void
vs__real_init(void)
{
#define R(f) *(void **)&vs__real.f = dlsym(RTLD_NEXT, #f)
	R(socket);
	R(bind);
	R(listen);
	R(accept4);
	R(connect);
	R(close);
	R(close_range);
	R(closefrom);
	R(fclose);
	R(shutdown);
	R(getsockname);
	R(getpeername);
	R(getsockopt);
	R(setsockopt);
	R(read);
	R(write);
	R(readv);
	R(writev);
	R(recvfrom);
	R(sendto);
	R(recvmsg);
	R(sendmsg);
	R(recvmmsg);
	R(sendmmsg);
	R(fcntl);
	R(ioctl);
	R(dup);
	R(dup2);
	R(dup3);
	R(poll);
	R(ppoll);
	R(select);
	R(epoll_create1);
	R(epoll_ctl);
	R(setuid);
	R(setreuid);
	R(setresuid);
	R(epoll_pwait);
	R(sendfile);
	R(pread);
#undef R
}

/* --- the runtime: configuration, port, engines --- */

static struct {
	pthread_mutex_t lock;
	int state; /* 0: not tried, 1: up, -1: failed (kernel only) */
	struct vs_config cfg;
	struct vs_port *port;
	unsigned n;
	struct vs_engine *es; /* n of them, run.es[i] == &es[i] */
	struct vs_runtime run; /* the bring-up shared with the native API */
	/* Brought up by a listener other processes accept from too: the
	 * process is one worker of several (vs__rt_open). */
	bool shared;
} rt = { .lock = PTHREAD_MUTEX_INITIALIZER };

extern char **environ;

static char cfg_err[512];
static bool cfg_bad;

/* The configuration is read when the library loads, from the
 * environment the program started with (nginx's workers clear theirs). */
static void inherited_scan(void);

void
vs__sock_init(void)
{
	if (vs__config_env_ignored(environ))
		vs_warn("secure execution (a setuid or setcap program): "
			"VSTACK_* variables are ignored; the configuration "
			"comes from %s only",
			VS_CONFIG_DEFAULT_FILE);
	vs__config_init(&rt.cfg);
	cfg_bad = vs__config_load(&rt.cfg, environ, cfg_err, sizeof(cfg_err)) !=
		  0;
	if (cfg_bad)
		vs_err("configuration: %s; every socket stays on the kernel",
		       cfg_err);
	else
		inherited_scan();
}

/* The process's open fds, ascending (malloc'd; NULL and 0 when none
 * or out of memory). */
static int *
open_fds(unsigned *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int *fds = NULL, *t;
	unsigned cap = 0;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] < '0' || de->d_name[0] > '9' ||
		    fd == dirfd(d))
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 64;
			t = realloc(fds, cap * sizeof(*fds));
			if (!t)
				break;
			fds = t;
		}
		fds[(*n)++] = fd;
	}
	closedir(d);
	return fds;
}

/*
 * fd, an unconnected TCP socket this process did not make (inherited
 * across exec, received over a UNIX socket), may be the kernel socket
 * behind a vstack connection of process `from`: it is taken from there
 * at its first use, or, if that process has no such connection, left
 * the kernel's (move.c). Listening, connected or not TCP: not one.
 */
static void
maybe_moved(int fd, int from)
{
	int dom = 0, type = 0, acc = 1, fl;
	socklen_t l = sizeof(int);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct stat st;
	struct vs_sock *s;

	if (from <= 1 || vs__fd_get(fd) || fstat(fd, &st) < 0 ||
	    !S_ISSOCK(st.st_mode) ||
	    vs__real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) < 0 ||
	    (dom != AF_INET && dom != AF_INET6) ||
	    vs__real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0 ||
	    type != SOCK_STREAM ||
	    vs__real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &l) < 0 ||
	    acc || vs__real.getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 ||
	    errno != ENOTCONN)
		return;
	fl = vs__real.fcntl(fd, F_GETFL);
	s = vs__sk_new(dom, SOCK_STREAM, 1, 2); /* the fd's, the connection's */
	if (!s)
		return;
	atomic_store(&s->nonblock, fl >= 0 && (fl & O_NONBLOCK));
	s->state = VS_S_CONNECTED;
	s->move_guess = true;
	atomic_store(&s->move_from, from);
	if (vs__fd_set(fd, s, VS_FD_SOCK))
		vs__sk_discard(s, 2);
}

/* At start: fds inherited across exec from a parent that may hold
 * vstack connections (inetd's model: accept, fork, dup2, exec). */
static void
inherited_scan(void)
{
	unsigned n;
	int *fds = open_fds(&n);

	for (unsigned i = 0; i < n; i++)
		maybe_moved(fds[i], (int)getppid());
	free(fds);
}

void
vs__sock_scm_send(int fd, const struct msghdr *m)
{
	(void)fd;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			vs__mv_share_fd(f);
		}
	}
}

void
vs__sock_scm_recv(int fd, const struct msghdr *m)
{
	struct ucred cr = { 0 };
	socklen_t cl = sizeof(cr);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c;
	     c = CMSG_NXTHDR((struct msghdr *)m, c)) {
		size_t k;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		if (!cr.pid && vs__real.getsockopt(fd, SOL_SOCKET, SO_PEERCRED,
						   &cr, &cl) < 0)
			return;
		k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int f;

			memcpy(&f, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			maybe_moved(f, (int)cr.pid);
		}
	}
}

static int
cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/*
 * What the bring-up opened — the device's fds (libibverbs, the emulator,
 * AF_XDP, BPF maps), the engines' eventfds and netlink sockets, the
 * control server's — is vstack's own: close_range or closefrom by the
 * program must not close them (VS_FD_OWN; a plain close() of such a
 * number still closes it). An fd another thread of the program opened
 * at the same moment is marked too: it only survives a close_range.
 */
static void
mark_own_fds(const int *before, unsigned nbefore)
{
	unsigned n;
	int *after = open_fds(&n);

	for (unsigned i = 0; i < n; i++)
		if (!bsearch(&after[i], before, nbefore, sizeof(*before),
			     cmp_int) &&
		    !vs__fd_get(after[i]))
			vs__fd_mark_own(after[i]);
	free(after);
}

static int rt_bring_up(char *err, size_t errlen);

static int
rt_start(void)
{
	char err[512] = "";
	int *before, rc;
	unsigned nbefore;

	if (cfg_bad)
		return -1;
	before = open_fds(&nbefore);
	qsort(before, nbefore, sizeof(*before), cmp_int);
	rc = rt_bring_up(err, sizeof(err));
	mark_own_fds(before, nbefore);
	free(before);
	return rc;
}

/* The port, the engines, the view: 1, or -1 (reported). */
static int
rt_bring_up(char *err, size_t errlen)
{
	struct vs_engine *es;
	unsigned n;

	if (vs__rt_open(&rt.run, &rt.cfg, 0, rt.shared, err, errlen)) {
		vs_warn("%s; every socket stays on the kernel", err);
		return -1;
	}
	es = calloc(rt.run.n, sizeof(*es));
	if (!es) {
		vs_warn("vstack: out of memory for %u engines; every socket "
			"stays on the kernel",
			rt.run.n);
		vs__rt_close(&rt.run);
		return -1;
	}
	for (n = 0; n < rt.run.n; n++)
		if (vs__rt_engine(&rt.run, n, &es[n], true, err, errlen)) {
			vs_warn("engine %u: %s; %s", n, err,
				n ? "vstack runs on fewer cores" :
				    "every socket stays on the kernel");
			break;
		}
	if (!n) {
		vs__rt_close(&rt.run);
		free(es);
		return -1;
	}
	vs__rt_trim(&rt.run, n);
	rt.es = es;
	rt.port = rt.run.port;
	rt.n = n;
	vs__rt_publish(&rt.run, "preload", vs__krule_add, vs__krule_del);
	return 1;
}

uint32_t
vs__spin_us(void)
{
	return rt.cfg.spin_us;
}

unsigned
vs__sock_poll_engines(void)
{
	unsigned n = 0;

	if (__atomic_load_n(&rt.state, __ATOMIC_ACQUIRE) <= 0)
		return 0;
	vs__tsan_acquire(&rt.state); /* inside epoll_wait: base/lock.h */
	for (unsigned i = 0; i < rt.n; i++)
		n += vs__engine_drive(&rt.es[i]);
	return n;
}

/* The runtime, started on first use; false when vstack cannot run
 * (reported once) and everything stays on the kernel. */
bool
vs__sk_rt_up(void)
{
	if (__atomic_load_n(&rt.state, __ATOMIC_ACQUIRE))
		return rt.state > 0;
	vs__mutex_lock(&rt.lock);
	if (!rt.state) {
		/* A process that uses the native API keeps its sockets on
		 * the kernel. */
		int st = vs__self_claim(VS_OWNER_PRELOAD) ? -1 : rt_start();

		if (st < 0 && vs__self_owner() == VS_OWNER_PRELOAD)
			vs__self_release(VS_OWNER_PRELOAD);
		vs__tsan_release(&rt.state);
		__atomic_store_n(&rt.state, st, __ATOMIC_RELEASE);
	}
	vs__mutex_unlock(&rt.lock);
	return rt.state > 0;
}

const struct vs_policy *
vs__sk_policy(void)
{
	return &rt.cfg.policy;
}

struct vs_port *
vs__sk_port(void)
{
	return rt.port;
}

/*
 * Socket memory is type-stable: a vs_sock, once allocated, stays one
 * (a freed socket waits on a list for reuse and never goes back to
 * malloc). A thread that read a socket's pointer from the fd table just
 * before another thread's close() can then still look at its refs:
 * vs__sock_get() takes a reference only while refs is not 0, then checks
 * that the fd still names that socket (as the kernel's
 * SLAB_TYPESAFE_BY_RCU caches are used). What it costs: the memory of
 * the most sockets a process had at once is kept.
 */
static struct {
	pthread_mutex_t lock;
	struct vs_sock *free;
} skmem = { .lock = PTHREAD_MUTEX_INITIALIZER };

/*
 * Taking a listener over happens once, under this lock: it starts a
 * listener on every engine, under each engine's lock. Not the socket's
 * qlock: an engine delivering a connection takes that under its own
 * lock (lock order: activate_lock, then an engine's, then a qlock).
 */
static pthread_mutex_t activate_lock = PTHREAD_MUTEX_INITIALIZER;

/* The calling thread's waiter (vs__thread_waiter). */
static _Thread_local struct vs_waiter thread_w = { .efd = -1 };

/* In a fork child: which fd entries stay (vs__fd_each). */
static bool
child_keeps(void *arg, int fd, enum vs_fdkind kind, void *obj)
{
	struct vs_sock *s = obj;

	(void)arg;
	(void)fd;
	if (kind == VS_FD_INTERNAL || kind == VS_FD_OWN)
		return true;
	if (kind == VS_FD_SOCK && s->type == SOCK_STREAM &&
	    s->state == VS_S_CONNECTED && (s->shared || s->move_from)) {
		/* A connection of the parent's (or of the process it lives
		 * in): the child takes it when it uses it (move.c). Visited
		 * once per fd: reset twice, counted by the second pass. */
		if (!s->move_from)
			atomic_store(&s->move_from, (int)getppid());
		s->e = NULL;
		s->tcp = NULL;
		s->rxq = (struct vs_rxq){ 0 };
		s->shared = s->parked = false;
		s->lingering = false;
		s->watch = NULL;
		atomic_store(&s->ev, 0);
		atomic_store(&s->calls, 0);
		atomic_store(&s->release_pending, false);
		atomic_store(&s->nfds, 0);
		atomic_store(&s->refs, 1); /* its connection's (elsewhere) */
		pthread_mutex_init(&s->qlock, NULL);
		pthread_mutex_init(&s->wlock, NULL);
		return true;
	}
	if (kind == VS_FD_SOCK && s->state == VS_S_LISTEN) {
		if (!s->pending) {
			s->pending = true;
			s->nltcp = 0;
			s->ltcp = NULL;
			s->lrule[0] = s->lrule[1] = NULL;
			s->member = NULL; /* the parent's */
			s->acc_head = s->acc_tail = NULL;
			s->nacc = 0;
			s->watch = NULL;
			atomic_store(&s->ev, 0);
			pthread_mutex_init(&s->qlock, NULL);
			pthread_mutex_init(&s->wlock, NULL);
		}
		return true;
	}
	return false;
}

/* Second pass: the fds naming each inherited connection. */
static bool
child_counts(void *arg, int fd, enum vs_fdkind kind, void *obj)
{
	struct vs_sock *s = obj;

	(void)arg;
	(void)fd;
	if (kind == VS_FD_SOCK && s->state != VS_S_LISTEN) {
		atomic_fetch_add(&s->nfds, 1);
		atomic_fetch_add(&s->refs, 1);
	}
	return true;
}

static bool fork_prepared; /* vs__mv_prepare_fork ran for this fork */

void
vs__sock_atfork_prepare(void)
{
	fork_prepared = __atomic_load_n(&rt.state, __ATOMIC_ACQUIRE) > 0;
	if (fork_prepared)
		vs__mv_prepare_fork();
}

void
vs__sock_atfork_child(void)
{
	/*
	 * The parent's engines are threads that do not exist here, and its
	 * connections are its own. Listeners are kept, pending: the child
	 * takes one over when it accepts from it (nginx's workers). The
	 * rest become the plain kernel sockets behind them.
	 */
	vs__fd_each(child_keeps, NULL);
	vs__fd_each(child_counts, NULL);
	/* The forking thread's waiter: its eventfd is the parent's file,
	 * whose wakeups the parent's thread would take. */
	if (thread_w.efd >= 0) {
		vs__fd_set(thread_w.efd, NULL, VS_FD_NONE);
		vs__real.close(thread_w.efd);
		thread_w.efd = -1;
		atomic_store(&thread_w.armed, 0);
		atomic_store(&thread_w.shown, false);
	}
	vs__mv_atfork_child();
	pthread_mutex_init(&rt.lock, NULL);
	pthread_mutex_init(&skmem.lock, NULL);
	pthread_mutex_init(&activate_lock, NULL);
	/* Kernel rules were the parent's (vstackctl flow ... kernel). */
	vs__krule_atfork_child();
	/* A native program's child stays native (sockets on the kernel);
	 * a preloaded one's starts its own runtime. */
	if (rt.state > 0) {
		rt.state = 0;
		vs__self_release(VS_OWNER_PRELOAD);
	}
	vs__ctl_atfork_child();
	vs__share_atfork_child();
}

void
vs__sock_atfork_parent(void)
{
	if (fork_prepared)
		vs__mv_atfork_parent();
	vs__share_atfork_parent();
}

/* --- privileges --- */

void
vs__privs_before(struct vs_keep *k)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(k, 0, sizeof(*k));
	if (rt.state < 0 || cfg_bad || vs__self_owner() == VS_OWNER_NATIVE ||
	    syscall(SYS_capget, &h, d))
		return;
	/* On AF_XDP sharing and cleaning up the program needs
	 * CAP_SYS_ADMIN: a process that drops root runs on the kernel. */
	if (!strncmp(rt.cfg.device, "xdp:", 4))
		return;
	k->caps[CAP_NET_RAW / 32] |= 1u << (CAP_NET_RAW % 32);
	k->caps[0] &= d[0].effective;
	k->caps[1] &= d[1].effective;
	if (!k->caps[0] && !k->caps[1])
		return;
	k->keepcaps = prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0);
	k->on = k->keepcaps >= 0 && !prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
}

void
vs__privs_after(struct vs_keep *k, int rc)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	if (!k->on)
		return;
	/* Root no more: the kernel kept the permitted set (all of root's)
	 * and cleared the effective one; only vstack's come back. */
	if (!rc && geteuid() != 0 && !syscall(SYS_capget, &h, d)) {
		for (int i = 0; i < 2; i++) {
			d[i].permitted &= k->caps[i];
			d[i].effective = d[i].permitted;
			d[i].inheritable &= k->caps[i];
		}
		if (syscall(SYS_capset, &h, d))
			vs_warn("keeping CAP_NET_RAW across the change of user: "
				"%s; vstack may not be able to open its queues",
				strerror(errno));
		else
			vs_info("the program changed its user: it keeps only "
				"the capabilities vstack's queues need");
	}
	prctl(PR_SET_KEEPCAPS, k->keepcaps, 0, 0, 0);
}

/* --- addresses --- */

/* Is sa (port ignored) one of the port's addresses? */
bool
vs__sk_on_port(const struct sockaddr *sa)
{
	const struct vs_port_info *in = vs__port_info(rt.port);

	for (unsigned i = 0; i < in->naddrs; i++) {
		const struct sockaddr *a = (const void *)&in->addrs[i];

		if (a->sa_family != sa->sa_family)
			continue;
		if (sa->sa_family == AF_INET ?
			    ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
				    ((const struct sockaddr_in *)sa)
					    ->sin_addr.s_addr :
			    !memcmp(&((const struct sockaddr_in6 *)a)
					     ->sin6_addr,
				    &((const struct sockaddr_in6 *)sa)
					     ->sin6_addr,
				    16))
			return true;
	}
	return false;
}

/* An address as a socket of `family` shows it: IPv4 on an IPv6
 * (dual-stack) socket is IPv4-mapped. */
void
vs__sk_copy_addr(int family, const struct sockaddr_storage *ss,
		 struct sockaddr *sa, socklen_t *len)
{
	struct sockaddr_in6 m = { .sin6_family = AF_INET6 };
	const void *src = ss;
	socklen_t n;

	if (!sa || !len)
		return;
	if (family == AF_INET6 && ss->ss_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)ss;

		m.sin6_port = in->sin_port;
		m.sin6_addr.s6_addr[10] = m.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&m.sin6_addr.s6_addr[12], &in->sin_addr, 4);
		src = &m;
	}
	n = (socklen_t)vs__sa_len(((const struct sockaddr *)src)->sa_family);
	memcpy(sa, src, *len < n ? *len : n);
	*len = n;
}

/* The other way: an IPv4-mapped IPv6 address as IPv4. */
const struct sockaddr *
vs__sk_unmap(const struct sockaddr *sa, struct sockaddr_in *buf)
{
	const struct sockaddr_in6 *s6 = (const void *)sa;

	if (sa->sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		return sa;
	*buf = (struct sockaddr_in){ .sin_family = AF_INET,
				     .sin_port = s6->sin6_port };
	memcpy(&buf->sin_addr, &s6->sin6_addr.s6_addr[12], 4);
	return (const struct sockaddr *)buf;
}

/* --- sockets: life --- */

static void
sk_mem_put(struct vs_sock *s)
{
	vs__mutex_lock(&skmem.lock);
	s->mem_next = skmem.free;
	skmem.free = s;
	vs__mutex_unlock(&skmem.lock);
}

/* refs: the fds naming it (nfds), + 1 for a connection lwIP holds. */
struct vs_sock *
vs__sk_new(int family, int type, int nfds, int refs)
{
	const size_t keep = offsetof(struct vs_sock, nfds);
	struct vs_sock *s;

	vs__mutex_lock(&skmem.lock);
	s = skmem.free;
	if (s)
		skmem.free = s->mem_next;
	vs__mutex_unlock(&skmem.lock);
	if (!s && !(s = calloc(1, sizeof(*s))))
		return NULL;
	/* Everything but refs, which a stale vs__sock_get may be reading
	 * (it is 0: such a get fails). */
	memset((char *)s + keep, 0, sizeof(*s) - keep);
	s->family = family;
	s->type = type;
	atomic_init(&s->nfds, nfds);
	s->linger_s = -1;
	pthread_mutex_init(&s->qlock, NULL);
	pthread_mutex_init(&s->wlock, NULL);
	/* Last: from here a stale get may take a reference (and, finding
	 * that its fd names something else, drop it again). */
	atomic_store_explicit(&s->refs, refs, memory_order_release);
	return s;
}

/*
 * Drops n of s's references: true when they were the last. What a holder
 * did to s happens before the last holder frees it (the atomic's own
 * order), said to ThreadSanitizer too: a drop inside a program's poll or
 * epoll_wait runs where the runtime ignores atomics (src/base/lock.h).
 */
static bool
refs_drop(struct vs_sock *s, int n)
{
	vs__tsan_release(&s->refs);
	if (atomic_fetch_sub(&s->refs, n) != n)
		return false;
	vs__tsan_acquire(&s->refs);
	return true;
}

/* A socket vs__sk_new made that was never published in the fd table:
 * its creator's refs dropped; the last holder frees it. */
void
vs__sk_discard(struct vs_sock *s, int refs)
{
	if (refs_drop(s, refs))
		sk_mem_put(s);
}

struct vs_sock *
vs__sock_get(int fd)
{
	for (;;) {
		struct vs_sock *s = vs__fd_sock(fd);
		int r;

		if (!s)
			return NULL;
		r = atomic_load(&s->refs);
		while (r > 0 &&
		       !atomic_compare_exchange_weak(&s->refs, &r, r + 1))
			;
		if (r > 0) {
			atomic_fetch_add(&s->calls, 1);
			if (vs__fd_sock(fd) == s)
				return s;
			vs__sock_unref(s); /* fd was closed meanwhile */
		} else if (vs__fd_sock(fd) == s) {
			return NULL; /* being closed: as if it were */
		}
	}
}

static void sock_free(struct vs_sock *s);

/* Drops a reference; the last frees (a connection's, under its lock). */
static void
sock_put(struct vs_sock *s)
{
	if (refs_drop(s, 1))
		sock_free(s);
}

void
vs__sock_hold(struct vs_sock *s)
{
	atomic_fetch_add(&s->refs, 1);
}

static void sock_release_pending(struct vs_sock *s);

void
vs__sock_unref(struct vs_sock *s)
{
	struct vs_engine *e;

	if (atomic_fetch_sub(&s->calls, 1) == 1 &&
	    atomic_load(&s->release_pending))
		sock_release_pending(s);
	e = s->e;
	if (!refs_drop(s, 1))
		return;
	/* The last reference, dropped by a call that outlived the close:
	 * the queues hold lwIP's pbufs, freed under the engine's lock. */
	if (e)
		vs__engine_lock(e);
	sock_free(s);
	if (e)
		vs__engine_unlock(e);
}

static void
sock_free(struct vs_sock *s)
{
	if (s->rxq.head) /* (a socket that never had an engine has none) */
		vs__rxq_free(&s->e->lw, &s->rxq);
	while (s->dq_head) {
		struct vs_dgram *d = s->dq_head;

		s->dq_head = d->next;
		s->e->lw.pbuf_free(d->p);
		free(d);
	}
	while (s->dq_free) {
		struct vs_dgram *d = s->dq_free;

		s->dq_free = d->next;
		free(d);
	}
	free(s->ltcp);
	vs__share_put(s->share);
	sk_mem_put(s);
}

/* Wakes whoever watches s, after its readiness changed. */
void
vs__sk_notify(struct vs_sock *s)
{
	uint64_t one = 1;

	vs__mutex_lock(&s->wlock);
	for (struct vs_watch *w = s->watch; w; w = w->next) {
		if (w->item)
			atomic_store((_Atomic int *)w->item, 1); /* pending */
		if ((atomic_exchange(&w->w->armed, 0) ||
		     atomic_load(&w->w->shown)) &&
		    vs__real.write(w->w->efd, &one, sizeof(one)) < 0)
			continue;
	}
	vs__mutex_unlock(&s->wlock);
}

/* A connection's readiness, under its engine's lock. edge: watchers are
 * woken even when it did not change (an arrival is an edge for
 * EPOLLET, as in the kernel). The bits are never cleared for a moment to
 * make an edge: readers that take no lock (epoll, poll, a non-blocking
 * recv's EAGAIN) would see a ready socket as not ready. */
static void
conn_set(struct vs_sock *s, bool edge)
{
	uint32_t ev = 0, old;

	if (s->rxq.len || s->rx_fin || s->shut_rd || s->err)
		ev |= EPOLLIN | EPOLLRDNORM;
	if (s->rx_fin)
		ev |= EPOLLRDHUP;
	if (s->state == VS_S_CONNECTED &&
	    (s->shut_wr || !s->tcp || vs__tcp_send_space(s->tcp) > 0))
		ev |= EPOLLOUT | EPOLLWRNORM;
	if (s->err)
		ev |= EPOLLERR;
	if (s->state == VS_S_CLOSED)
		ev |= EPOLLOUT | EPOLLWRNORM | EPOLLHUP | EPOLLIN |
		      EPOLLRDNORM | EPOLLRDHUP;
	if (s->rx_fin && s->shut_wr)
		ev |= EPOLLHUP;
	old = atomic_exchange(&s->ev, ev);
	if (ev != old || edge)
		vs__sk_notify(s);
}

static void
conn_update(struct vs_sock *s)
{
	conn_set(s, false);
}

uint32_t
vs__sock_events(struct vs_sock *s)
{
	return atomic_load(&s->ev);
}

size_t
vs__sock_rx_avail(struct vs_sock *s)
{
	size_t n = 0;

	if (s->e) {
		vs__engine_lock(s->e);
		n = s->rxq.len;
		vs__engine_unlock(s->e);
	}
	return n;
}

int
vs__sock_take_err(struct vs_sock *s)
{
	int err = s->err;

	if (err) {
		s->err = 0;
		conn_update(s);
	}
	return err;
}

/* --- engine callbacks (engine's lock held) --- */

static void
on_received(struct vs_tcp *c, struct pbuf *p)
{
	struct vs_sock *s = vs__tcp_user(c);

	if (!p)
		s->rx_fin = true;
	else if (s->shut_rd) {
		vs__tcp_consumed(c, p->tot_len);
		s->e->lw.pbuf_free(p);
		return;
	} else {
		vs__rxq_put(&s->rxq, p);
	}
	conn_set(s, true); /* every arrival is an edge, data waiting or not */
}

static void
on_sent(struct vs_tcp *c, size_t len)
{
	struct vs_sock *s = vs__tcp_user(c);

	(void)len;
	conn_set(s, true); /* room made is an edge for EPOLLOUT */
}

static void
on_connected(struct vs_tcp *c, int err)
{
	struct vs_sock *s = vs__tcp_user(c);
	struct vs_tcp_info in;

	if (err) {
		s->err = err;
		s->state = VS_S_CLOSED;
		s->tcp = NULL;
		conn_update(s);
		sock_put(s); /* the connection's reference */
		return;
	}
	vs__tcp_info(c, &in);
	s->local = in.local;
	s->peer = in.peer;
	s->state = VS_S_CONNECTED;
	vs__sock_apply_options(s);
	conn_update(s);
}

static void
on_closed(struct vs_tcp *c, int err)
{
	struct vs_sock *s = vs__tcp_user(c);

	s->tcp = NULL;
	if (err && s->state != VS_S_CLOSED) {
		s->err = err;
		s->state = VS_S_CLOSED;
	}
	/* A close waiting for SO_LINGER's end is woken (a thread still
	 * blocked in recv is not: as on Linux, it waits on). */
	if (s->lingering)
		s->state = VS_S_CLOSED;
	conn_update(s);
	sock_put(s);
}

static const struct vs_tcp_ops conn_ops = { .connected = on_connected,
					    .received = on_received,
					    .sent = on_sent,
					    .closed = on_closed };

static void
on_accepted(struct vs_tcp *l, struct vs_tcp *c)
{
	struct vs_sock *ls = vs__tcp_user(l), *s;
	struct vs_tcp_info in;

	vs__mutex_lock(&ls->qlock);
	/* No fd yet (accept gives one); lwIP's is the only reference. */
	if (ls->nacc >= ls->backlog ||
	    !(s = vs__sk_new(ls->family, SOCK_STREAM, 0, 1))) {
		vs__mutex_unlock(&ls->qlock);
		/* A reset, not a FIN after its request was acknowledged. */
		vs__tcp_refuse(c);
		return;
	}
	vs__tcp_info(c, &in);
	s->e = vs__tcp_engine(c);
	s->tcp = c;
	s->local = in.local;
	s->peer = in.peer;
	s->state = VS_S_CONNECTED;
	s->opt = ls->opt; /* inherited, as on Linux */
	s->linger_s = ls->linger_s;
	vs__tcp_set_ops(c, &conn_ops, s);
	vs__sock_apply_options(s);
	if (ls->acc_tail)
		ls->acc_tail->acc_next = s;
	else
		ls->acc_head = s;
	ls->acc_tail = s;
	ls->nacc++;
	vs__mutex_unlock(&ls->qlock);
	conn_update(s);
	atomic_fetch_or(&ls->ev, EPOLLIN | EPOLLRDNORM);
	vs__sk_notify(ls);
}

static const struct vs_tcp_ops listen_ops = { .accepted = on_accepted };

/* --- waiting --- */

struct vs_waiter *
vs__thread_waiter(void)
{
	if (thread_w.efd < 0) {
		vs__in_vstack++;
		thread_w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		vs__in_vstack--;
		if (thread_w.efd >= 0)
			vs__fd_mark_internal(thread_w.efd);
	}
	return &thread_w;
}

void
vs__watch_add(struct vs_sock *s, struct vs_watch *w)
{
	vs__mutex_lock(&s->wlock);
	w->next = s->watch;
	s->watch = w;
	vs__mutex_unlock(&s->wlock);
}

void
vs__watch_del(struct vs_sock *s, struct vs_watch *w)
{
	vs__mutex_lock(&s->wlock);
	for (struct vs_watch **p = &s->watch; *p; p = &(*p)->next)
		if (*p == w) {
			*p = w->next;
			break;
		}
	vs__mutex_unlock(&s->wlock);
}

/* How many pollfds a waiter's sleep keeps on its stack: the caller's
 * kernel fds, its eventfd and the ports it sleeps on. */
#define SLEEP_FDS 32

/* The engines a sleep watches: their ports' fds after the caller's. */
struct sleep_set {
	struct pollfd local[SLEEP_FDS], *all;
	unsigned idx[SLEEP_FDS], ne;
};

/*
 * Before the sleep: arms the port of each engine this thread drove (a
 * frame then wakes it, not the engine's thread that would then wake it);
 * engines it did not drive, or all when the fds do not fit on the
 * stack, go back to their threads. False if a pass ran meanwhile (work
 * came: the caller looks again instead of sleeping).
 */
static bool
sleep_arm(struct vs_waiter *w, struct pollfd *fds, nfds_t nk,
	  struct sleep_set *ss)
{
	fds[nk] = (struct pollfd){ .fd = w->efd, .events = POLLIN };
	ss->all = fds;
	ss->ne = 0;
	if (__atomic_load_n(&rt.state, __ATOMIC_ACQUIRE) > 0) {
		bool fit;

		vs__tsan_acquire(&rt.state);
		fit = nk + 1 + rt.n <= SLEEP_FDS;

		for (unsigned i = 0; i < rt.n; i++) {
			int fd = -EBUSY;

			if (fit)
				fd = vs__engine_sleep_prepare(&rt.es[i]);
			else
				vs__engine_release(&rt.es[i]);
			if (fd == -EAGAIN) { /* a pass ran */
				for (unsigned j = 0; j < ss->ne; j++)
					vs__engine_sleep_done(
						&rt.es[ss->idx[j]], false);
				atomic_store(&w->armed, 0);
				return false;
			}
			if (fd >= 0) {
				ss->local[nk + 1 + ss->ne] =
					(struct pollfd){ .fd = fd,
							 .events = POLLIN };
				ss->idx[ss->ne++] = i;
			}
		}
		if (ss->ne) {
			memcpy(ss->local, fds, (nk + 1) * sizeof(*fds));
			ss->all = ss->local;
		}
	}
	return true;
}

/* The sleep itself, on what sleep_arm set up; then the engines whose
 * port woke it run a pass. */
static int
sleep_on(struct vs_waiter *w, struct pollfd *fds, nfds_t nk, int timeout_ms,
	 const sigset_t *mask, struct sleep_set *ss)
{
	struct pollfd *all = ss->all;
	uint64_t drain;
	int rc, err = 0;

	if (mask) {
		struct timespec ts = { timeout_ms / 1000,
				       (timeout_ms % 1000) * 1000000L };

		rc = vs__real.ppoll(all, nk + 1 + ss->ne,
				    timeout_ms < 0 ? NULL : &ts, mask);
	} else {
		rc = vs__real.poll(all, nk + 1 + ss->ne, timeout_ms);
	}
	if (rc < 0)
		err = errno;
	for (unsigned j = 0; j < ss->ne; j++) {
		bool woken = rc > 0 && all[nk + 1 + j].revents;

		rc -= woken;
		vs__engine_sleep_done(&rt.es[ss->idx[j]], woken);
	}
	if (all != fds)
		memcpy(fds, all, (nk + 1) * sizeof(*fds));
	atomic_store(&w->armed, 0);
	if (rc > 0 && fds[nk].revents) {
		if (vs__real.read(w->efd, &drain, sizeof(drain)) < 0)
			drain = 0;
		rc--;
	}
	return rc < 0 ? -err : rc;
}

/* The engines are armed before signals are blocked: under load arming
 * finds work and no sleep follows (memcached -t 4: nine times in ten),
 * which then costs no sigprocmask pair. */
int
vs__waiter_sleep_sig(struct vs_waiter *w, struct pollfd *fds, nfds_t nk,
		     int timeout_ms, const sigset_t *mask)
{
	struct sleep_set ss;
	sigset_t all, old;
	int rc;

	if (!sleep_arm(w, fds, nk, &ss))
		return 0;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	if (vs__sig_arrived()) {
		for (unsigned j = 0; j < ss.ne; j++)
			vs__engine_sleep_done(&rt.es[ss.idx[j]], false);
		atomic_store(&w->armed, 0);
		rc = -EINTR;
	} else {
		rc = sleep_on(w, fds, nk, timeout_ms, mask ? mask : &old, &ss);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * Waits until s shows one of mask's events (or the kernel fd kfd, when
 * >= 0, shows kev), at most timeout_ms (0: no limit). Returns 0, -EAGAIN
 * after the timeout, -EINTR on a signal.
 */
int
vs__sk_wait_for(struct vs_sock *s, uint32_t mask, int kfd, short kev,
		int timeout_ms)
{
	struct vs_waiter *w = vs__thread_waiter();
	struct vs_watch watch = { .w = w };
	uint64_t end = timeout_ms > 0 ? vs__now_ms() + (uint64_t)timeout_ms : 0;
	int rc = 0;

	if (w->efd < 0)
		return -ENOMEM;
	vs__sig_clear();
	/* Poll for spin_us first: under load, sooner than a sleep. */
	for (uint64_t spin_end = vs__now_us() + vs__spin_us();
	     vs__now_us() < spin_end;) {
		if (atomic_load(&s->ev) & mask)
			return 0;
		if (!vs__sock_poll_engines())
			break; /* another thread drives: its pass wakes this one */
	}
	vs__watch_add(s, &watch);
	for (;;) {
		struct pollfd k[2] = { { .fd = kfd, .events = kev } };
		int left = -1;

		atomic_store(&w->armed, 1);
		if (atomic_load(&s->ev) & mask)
			break;
		if (end) {
			uint64_t now = vs__now_ms();

			if (now >= end) {
				rc = -EAGAIN;
				break;
			}
			left = (int)(end - now);
		}
		rc = vs__waiter_sleep_sig(w, k, kfd >= 0, left, NULL);
		/* As the kernel: SA_RESTART restarts, unless the socket has
		 * a timeout for this call. */
		if (rc == -EINTR && (timeout_ms > 0 || !vs__sig_restart()))
			break;
		if (rc > 0) { /* the kernel fd */
			rc = 0;
			break;
		}
		rc = 0;
	}
	atomic_store(&w->armed, 0);
	vs__watch_del(s, &watch);
	return rc;
}

/* --- listen, accept, connect --- */

int
vs__sk_type(int fd, int *family)
{
	int type = 0, fam = 0;
	socklen_t l = sizeof(type);

	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l) < 0)
		return -1;
	l = sizeof(fam);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &fam, &l) < 0)
		return -1;
	*family = fam;
	return type;
}

static void
listener_stop(struct vs_sock *s)
{
	/* A share's connections get rules of their own (share.h); alone,
	 * the connections it accepted keep the rules until they end. */
	vs__share_leave(s->member);
	s->member = NULL;
	for (int i = 0; i < 2; i++) {
		vs__tcp_rule_put(s->lrule[i]);
		s->lrule[i] = NULL;
	}
	for (unsigned i = 0; i < s->nltcp; i++) {
		struct vs_engine *e = vs__tcp_engine(s->ltcp[i]);

		vs__engine_lock(e);
		vs__tcp_close(s->ltcp[i]);
		vs__engine_unlock(e);
	}
	s->nltcp = 0;
}

/* Listens on every engine (and, for a dual-stack socket, on IPv4's
 * unspecified address too), then installs the rules. */
static int
listener_start(struct vs_sock *s, bool dual)
{
	struct sockaddr_in any4 = { .sin_family = AF_INET };
	const struct sockaddr *addrs[2] = { (struct sockaddr *)&s->local,
					    (struct sockaddr *)&any4 };
	unsigned na = dual ? 2 : 1;
	int rc = 0;

	any4.sin_port = ((struct sockaddr_in6 *)&s->local)->sin6_port;
	s->ltcp = calloc(2 * rt.n, sizeof(*s->ltcp));
	if (!s->ltcp)
		return -ENOMEM;
	for (unsigned a = 0; !rc && a < na; a++)
		if (!(s->lrule[a] = vs__tcp_rule_new(rt.port)))
			rc = -ENOMEM;
	for (unsigned i = 0; !rc && i < rt.n; i++) {
		vs__engine_lock(&rt.es[i]);
		for (unsigned a = 0; !rc && a < na; a++) {
			struct vs_tcp **l = &s->ltcp[s->nltcp];

			rc = vs__tcp_listen(&rt.es[i], addrs[a],
					    (int)s->backlog, VS_TCP_SHARED,
					    &listen_ops, s, l);
			if (!rc) {
				vs__tcp_listen_rule(*l, s->lrule[a]);
				s->nltcp++;
			}
		}
		vs__engine_unlock(&rt.es[i]);
	}
	/* Every engine listens: now the rules may bring SYNs (for a
	 * shared listener, those of this process's share). */
	/* Where processes split the port by queues, each steers it all. */
	if (!rc && s->share && !vs__port_info(rt.port)->queue_split) {
		s->member = vs__share_join(s->share, s->lrule, addrs, na, rt.es,
					   rt.n);
		if (!s->member)
			rc = -errno;
	}
	for (unsigned a = 0; !rc && !s->member && a < na; a++) {
		/* Split by queues with other processes: see pin_each. */
		if (vs__share_with_others(s->share) &&
		    vs__port_info(rt.port)->queue_split)
			vs__tcp_listen_pin_each(s->lrule[a]);
		rc = vs__tcp_listen_steer(s->lrule[a], addrs[a]);
	}
	if (rc)
		listener_stop(s);
	return rc;
}

/* The named table of fd's port if fd has SO_REUSEPORT (share.h). */
static struct vs_share *
reuseport_share(int fd)
{
	struct sockaddr_storage ss;
	socklen_t l = sizeof(ss);
	struct stat ns;
	char key[80], hex[33] = "";
	const uint8_t *a;
	int on = 0;
	size_t alen;

	l = sizeof(on);
	if (vs__real.getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, &l) || !on)
		return NULL;
	l = sizeof(ss);
	if (vs__real.getsockname(fd, (struct sockaddr *)&ss, &l) ||
	    stat("/proc/self/ns/net", &ns))
		return NULL;
	a = vs__sa_addr((struct sockaddr *)&ss);
	alen = ss.ss_family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < alen; i++)
		snprintf(hex + 2 * i, 3, "%02x", a[i]);
	snprintf(key, sizeof(key), "tcp-%lu-%s-%u", (unsigned long)ns.st_ino,
		 hex, vs__sa_port((struct sockaddr *)&ss));
	return vs__share_named(key);
}

int
vs__sock_listen(int fd, int backlog)
{
	struct vs_sock *s = vs__sock_use(fd);
	int family, type;

	if (vs__real.listen(fd, backlog) < 0) {
		if (s)
			vs__sock_unref(s);
		return -errno;
	}
	if (backlog <= 0)
		backlog = 1;
	if (backlog > 4096)
		backlog = 4096;
	if (s) { /* listening already: a new backlog */
		s->backlog = (unsigned)backlog;
		vs__sock_unref(s);
		return 0;
	}
	type = vs__sk_type(fd, &family);
	if (type != SOCK_STREAM || (family != AF_INET && family != AF_INET6))
		return 0;
	s = vs__sk_new(family, SOCK_STREAM, 1, 1);
	if (!s)
		return 0; /* the kernel's alone: still a listener */
	s->backlog = (unsigned)backlog;
	s->state = VS_S_LISTEN;
	s->pending = true;
	/* Made here, before the program forks the workers that accept;
	 * with SO_REUSEPORT, found by its name by the other processes
	 * that listen on the port. */
	s->share = reuseport_share(fd);
	if (!s->share)
		s->share = vs__share_new();
	vs__fd_set(fd, s, VS_FD_SOCK);
	return 0;
}

/* Takes a pending listener over; under s->qlock. */
static bool
activate(int fd, struct vs_sock *s)
{
	socklen_t l = sizeof(s->local);
	int v6only = 0, rc;

	if (vs__share_with_others(s->share))
		rt.shared = true; /* a worker, if vstack comes up now */
	if (vs__real.getsockname(fd, (struct sockaddr *)&s->local, &l) < 0 ||
	    !vs__sk_rt_up() ||
	    vs__policy_decide(&rt.cfg.policy, VS_ROLE_TCP_SERVER,
			      (struct sockaddr *)&s->local,
			      NULL) != VS_POLICY_OFFLOAD ||
	    vs__krule_covers(rt.port, IPPROTO_TCP, (struct sockaddr *)&s->local,
			     NULL) ||
	    !(vs__ip_is_any((struct sockaddr *)&s->local) ||
	      vs__sk_on_port((struct sockaddr *)&s->local)))
		return false;
	if (s->family == AF_INET6) {
		l = sizeof(v6only);
		vs__real.getsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &l);
	}
	{
		/* Taken over again after fork: the kernel socket's O_NONBLOCK
		 * is vstack's doing, the program's flag is s's. */
		int nb = atomic_load(&s->nonblock);

		vs__sock_inherit_options(fd, s);
		if (s->kernel_too)
			atomic_store(&s->nonblock, nb);
	}
	rc = listener_start(
		s, s->family == AF_INET6 && !v6only &&
			   vs__ip_is_any((struct sockaddr *)&s->local));
	if (rc) {
		vs_warn("fd %d: cannot listen on vstack (%s); the kernel keeps it",
			fd, strerror(-rc));
		return false;
	}
	/* The kernel socket listens too (loopback, other interfaces);
	 * accept() must never block in it. */
	s->kernel_too = true;
	vs__real.fcntl(fd, F_SETFL, vs__real.fcntl(fd, F_GETFL) | O_NONBLOCK);
	vs_info("fd %d: listening on vstack, port %u", fd,
		ntohs(((struct sockaddr_in *)&s->local)->sin_port));
	return true;
}

bool
vs__sock_activate(int fd, struct vs_sock *s)
{
	bool ok = true;

	/* Acquire: what the takeover set up, seen by a call that skips it. */
	if (!atomic_load_explicit(&s->pending, memory_order_acquire))
		return true;
	vs__mutex_lock(&activate_lock);
	if (atomic_load_explicit(&s->pending, memory_order_relaxed)) {
		ok = activate(fd, s);
		atomic_store_explicit(&s->pending, false, memory_order_release);
		/* Not ours: the kernel's alone; s itself stays allocated, a
		 * concurrent call may still hold it. */
		if (!ok) {
			vs__fd_set(fd, NULL, VS_FD_NONE);
			vs__share_put(s->share);
			s->share = NULL;
		}
	}
	vs__mutex_unlock(&activate_lock);
	return ok;
}

/* A new fd for s: a kernel socket of the same kind holds the number. */
static int
install(struct vs_sock *s, int flags)
{
	int fd = vs__real.socket(
		s->family,
		SOCK_STREAM | (flags & (SOCK_NONBLOCK | SOCK_CLOEXEC)), 0);

	if (fd < 0)
		return -errno;
	if (vs__fd_set(fd, s, VS_FD_SOCK)) {
		vs__real.close(fd);
		return -EMFILE;
	}
	atomic_store(&s->nonblock, (flags & SOCK_NONBLOCK) != 0);
	atomic_fetch_add(&s->refs, 1);
	atomic_fetch_add(&s->nfds, 1);
	return fd;
}

/* libc's accept4, as the result of ours. */
static int
kernel_accept(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	int r = vs__real.accept4(fd, sa, len, flags);

	return r < 0 ? -errno : r;
}

int
vs__sock_accept(int fd, struct vs_sock *ls, struct sockaddr *sa, socklen_t *len,
		int flags)
{
	if (ls->state != VS_S_LISTEN)
		return -EINVAL;
	if (!vs__sock_activate(fd, ls))
		return kernel_accept(fd, sa, len, flags);
	for (;;) {
		struct vs_sock *s;
		int nfd, rc;

		vs__mutex_lock(&ls->qlock);
		s = ls->acc_head;
		if (s) {
			ls->acc_head = s->acc_next;
			if (!ls->acc_head)
				ls->acc_tail = NULL;
			ls->nacc--;
			if (!ls->nacc)
				atomic_fetch_and(
					&ls->ev,
					~(uint32_t)(EPOLLIN | EPOLLRDNORM));
		}
		vs__mutex_unlock(&ls->qlock);
		if (s) {
			nfd = install(s, flags);
			if (nfd < 0) { /* no fd: the connection goes */
				vs__engine_lock(s->e);
				if (s->tcp)
					vs__tcp_close(s->tcp);
				vs__engine_unlock(s->e);
				return nfd;
			}
			vs__sk_copy_addr(s->family, &s->peer, sa, len);
			return nfd;
		}
		nfd = vs__real.accept4(fd, sa, len, flags);
		if (nfd >= 0 || errno != EAGAIN)
			return nfd >= 0 ? nfd : -errno;
		if (atomic_load(&ls->nonblock))
			return -EAGAIN;
		rc = vs__sk_wait_for(ls, EPOLLIN, fd, POLLIN, ls->rcvtimeo_ms);
		if (rc)
			return rc;
	}
}

/* Does the kernel route dst out of the port's netdev? It says which
 * source address it would use: ours, or not. */
bool
vs__sk_routed_via_port_src(const struct sockaddr *dst,
			   struct sockaddr_storage *out)
{
	struct sockaddr_storage src;
	socklen_t l = sizeof(src);
	int fd = vs__real.socket(dst->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	bool ok;

	if (fd < 0)
		return false;
	ok = vs__real.connect(fd, dst, (socklen_t)vs__sa_len(dst->sa_family)) ==
		     0 &&
	     vs__real.getsockname(fd, (struct sockaddr *)&src, &l) == 0 &&
	     vs__sk_on_port((struct sockaddr *)&src);
	vs__real.close(fd);
	if (ok && out)
		*out = src;
	return ok;
}

bool
vs__sk_routed_via_port(const struct sockaddr *dst)
{
	return vs__sk_routed_via_port_src(dst, NULL);
}

/* The engine of the calling thread's core. */
struct vs_engine *
vs__sk_engine(void)
{
	int cpu = sched_getcpu();

	return &rt.es[(cpu < 0 ? 0 : (unsigned)cpu) % rt.n];
}

static int
sock_connect(int fd, struct vs_sock *s, const struct sockaddr *sa,
	     socklen_t len)
{
	struct sockaddr_storage bound;
	socklen_t bl;
	int family, type, rc;

	if (s && (!sa || len < sizeof(sa_family_t)))
		return -EINVAL;
	if (s && s->type == SOCK_DGRAM)
		return vs__sk_udp_connect(fd, s, sa, len);
	if (s)
		return s->state == VS_S_CONNECTING ? -EALREADY :
		       s->state == VS_S_LISTEN	   ? -EINVAL :
						     -EISCONN;
	if (!sa || len < sizeof(sa_family_t) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6) ||
	    len < (socklen_t)vs__sa_len(sa->sa_family))
		goto kernel;
	type = vs__sk_type(fd, &family);
	if (type == SOCK_DGRAM && !vs__fd_get(fd)) /* not marked the kernel's */
		return vs__sk_udp_connect(fd, NULL, sa, len);
	if (type == SOCK_DGRAM)
		goto kernel;
	if (type != SOCK_STREAM || family != sa->sa_family || !vs__sk_rt_up() ||
	    vs__policy_decide(&rt.cfg.policy, VS_ROLE_TCP_CLIENT, sa, NULL) !=
		    VS_POLICY_OFFLOAD ||
	    vs__krule_covers(rt.port, IPPROTO_TCP, NULL, sa) ||
	    !vs__sk_routed_via_port(sa))
		goto kernel;
	/* bind() before connect(): the kernel socket holds the program's
	 * port, which the connection keeps; an address not the port's
	 * stays the kernel's. */
	bl = sizeof(bound);
	if (vs__real.getsockname(fd, (struct sockaddr *)&bound, &bl) < 0 ||
	    bound.ss_family != family)
		goto kernel;
	if (!vs__ip_is_any((struct sockaddr *)&bound) &&
	    !vs__sk_on_port((struct sockaddr *)&bound))
		goto kernel;
	/* Not bound: the kernel socket takes an ephemeral port for the
	 * connection, so that it holds no other file descriptor (an
	 * engine's own search for a port that RSS lands on its queue
	 * holds a socket per connection: twice the program's fds). */
	if (!vs__sa_port((struct sockaddr *)&bound)) {
		struct sockaddr_storage any = { .ss_family =
							(sa_family_t)family };

		bl = sizeof(bound);
		if (vs__real.bind(fd, (struct sockaddr *)&any,
				  (socklen_t)vs__sa_len(family)) < 0 ||
		    vs__real.getsockname(fd, (struct sockaddr *)&bound, &bl) <
			    0)
			goto kernel;
	}
	s = vs__sk_new(family, SOCK_STREAM, 1,
		       2); /* the fd's, the connection's */
	if (!s)
		goto kernel;
	vs__sock_inherit_options(fd, s);
	s->e = vs__sk_engine();
	s->state = VS_S_CONNECTING;
	memcpy(&s->peer, sa, (socklen_t)vs__sa_len(family));
	vs__engine_lock(s->e);
	rc = vs__tcp_connect_from(s->e, (struct sockaddr *)&bound, sa,
				  &conn_ops, s, &s->tcp);
	if (!rc) {
		struct vs_tcp_info in;

		vs__tcp_info(s->tcp, &in);
		s->local = in.local;
	}
	vs__engine_unlock(s->e);
	if (rc == -ENOSPC || rc == -ENOMEM || rc == -ENOBUFS) {
		/* No room for the connection's flow rule (the NIC's table
		 * is full), its state, or max_conns connections open: the
		 * kernel carries it instead. */
		static _Atomic bool said;

		vs__sk_discard(s, 2);
		if (!atomic_exchange(&said, true))
			vs_warn("connect: %s; this connection, and others that "
				"meet it, go to the kernel (said once)",
				rc == -ENOSPC ?
					"no room for a flow rule" :
				rc == -ENOBUFS ?
					"max_conns connections are open" :
					"out of memory");
		goto kernel;
	}
	if (rc) {
		vs__sk_discard(s, 2);
		return rc;
	}
	s->port_in_fd = true;
	vs__fd_set(fd, s, VS_FD_SOCK);
	if (atomic_load(&s->nonblock))
		return -EINPROGRESS;
	rc = vs__sk_wait_for(s, EPOLLOUT | EPOLLERR | EPOLLHUP, -1, 0, 0);
	if (rc)
		return rc;
	vs__engine_lock(s->e);
	rc = vs__sock_take_err(s);
	vs__engine_unlock(s->e);
	return rc;
kernel:
	return vs__real.connect(fd, sa, len) < 0 ? -errno : 0;
}

int
vs__sock_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct vs_sock *s = vs__sock_use(fd);
	int rc = sock_connect(fd, s, sa, len);

	if (s)
		vs__sock_unref(s);
	return rc;
}

/* --- data --- */

size_t
vs__sk_iov_total(const struct iovec *iov, int n)
{
	size_t t = 0;

	for (int i = 0; i < n; i++)
		t += iov[i].iov_len;
	return t;
}

/* Copies up to want bytes of chain p, from its byte off, into iov after
 * the iovecs' first skip bytes; under the engine's lock. */
static size_t
copy_chain(struct vs_lwip *lw, struct pbuf *p, const struct iovec *iov, int n,
	   size_t skip, size_t off, size_t want)
{
	size_t done = 0, ioff = skip;
	int i = 0;

	while (i < n && ioff >= iov[i].iov_len) {
		ioff -= iov[i].iov_len;
		i++;
	}
	while (done < want && i < n) {
		size_t room = iov[i].iov_len - ioff, k = want - done;

		if (k > room)
			k = room;
		k = lw->pbuf_copy_partial(p, (char *)iov[i].iov_base + ioff,
					  (u16_t)(k > 0xffff ? 0xffff : k),
					  (u16_t)off);
		if (!k)
			break;
		done += k;
		off += k;
		ioff += k;
		if (ioff == iov[i].iov_len) {
			i++;
			ioff = 0;
		}
	}
	return done;
}

static size_t
copy_out(struct vs_sock *s, const struct iovec *iov, int n, size_t skip,
	 size_t off, size_t want)
{
	return copy_chain(&s->e->lw, s->rxq.head, iov, n, skip, off, want);
}

size_t
vs__sk_copy_dgram(struct vs_sock *s, struct pbuf *p, const struct iovec *iov,
		  int n, size_t want)
{
	return copy_chain(&s->e->lw, p, iov, n, 0, 0,
			  want < p->tot_len ? want : p->tot_len);
}

/* Takes len bytes off the front of the queue and reopens the window. */
static void
consume(struct vs_sock *s, size_t len)
{
	vs__netif_delivered(&s->e->nif, s->rxq.head);
	vs__rxq_take(&s->e->lw, &s->rxq, len);
	if (s->tcp)
		vs__tcp_consumed(s->tcp, len);
}

static ssize_t
sk_tcp_recv(struct vs_sock *s, const struct iovec *iov, int n, int flags)
{
	size_t want = vs__sk_iov_total(iov, n), got = 0;

	if (s->state == VS_S_LISTEN)
		return -ENOTCONN;
	/* Nothing to read on a non-blocking socket: said without the
	 * engine's lock (a server's read-until-EAGAIN took it once more per
	 * request). An arrival racing with this marks the socket readable
	 * and wakes its watchers after, as when it comes a moment later. */
	if (want && (atomic_load(&s->nonblock) || (flags & MSG_DONTWAIT)) &&
	    !(atomic_load(&s->ev) & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		return -EAGAIN;
	for (;;) {
		bool eof, nb;
		int err = 0, rc;

		vs__engine_lock(s->e);
		if (s->rxq.len && want > got) {
			size_t k = want - got > 0xffff ? 0xffff : want - got;

			/* pbuf_copy_partial takes 16-bit lengths and offsets */
			k = copy_out(s, iov, n, got, flags & MSG_PEEK ? got : 0,
				     k > s->rxq.len ? s->rxq.len : k);
			if (!(flags & MSG_PEEK))
				consume(s, k);
			got += k;
			conn_update(s);
			if (!(flags & MSG_PEEK) && s->rxq.len && got < want) {
				vs__engine_unlock(s->e);
				continue;
			}
		}
		eof = s->rx_fin || s->shut_rd || s->state == VS_S_CLOSED;
		if (!got)
			err = vs__sock_take_err(s);
		vs__engine_unlock(s->e);
		if (err)
			return err;
		if (got && (got == want || !(flags & MSG_WAITALL) || eof ||
			    (flags & MSG_PEEK)))
			return (ssize_t)got;
		if (!want || eof)
			return (ssize_t)got;
		nb = atomic_load(&s->nonblock) || (flags & MSG_DONTWAIT);
		if (nb)
			return got ? (ssize_t)got : -EAGAIN;
		rc = vs__sk_wait_for(s, EPOLLIN | EPOLLERR | EPOLLHUP, -1, 0,
				     s->rcvtimeo_ms);
		if (rc)
			return got ? (ssize_t)got : rc;
	}
}

static int
epipe(int flags)
{
	if (!(flags & MSG_NOSIGNAL))
		raise(SIGPIPE);
	return -EPIPE;
}

static ssize_t
sk_tcp_send(struct vs_sock *s, const struct iovec *iov, int n, int flags)
{
	size_t want = vs__sk_iov_total(iov, n), done = 0;
	int i = 0;
	size_t ioff = 0;

	if (s->state == VS_S_LISTEN)
		return -ENOTCONN;
	for (;;) {
		int err = 0, rc;

		vs__engine_lock(s->e);
		err = vs__sock_take_err(s);
		if (!err && s->state == VS_S_CONNECTING)
			err = -EAGAIN;
		else if (!err &&
			 (s->shut_wr || s->state == VS_S_CLOSED || !s->tcp))
			err = -EPIPE;
		if (!err) {
			/* Every iovec into lwIP, then one output: a writev makes
			 * as few segments as its bytes need. */
			while (i < n) {
				ssize_t k = vs__tcp_write(
					s->tcp, (char *)iov[i].iov_base + ioff,
					iov[i].iov_len - ioff);

				if (k <= 0)
					break;
				done += (size_t)k;
				ioff += (size_t)k;
				if (ioff == iov[i].iov_len) {
					i++;
					ioff = 0;
				}
			}
			vs__tcp_output(s->tcp);
			conn_update(s);
		}
		vs__engine_unlock(s->e);
		if (err == -EPIPE)
			return done ? (ssize_t)done : epipe(flags);
		if (err && err != -EAGAIN)
			return done ? (ssize_t)done : err;
		if (done == want)
			return (ssize_t)done;
		if (atomic_load(&s->nonblock) || (flags & MSG_DONTWAIT))
			return done ? (ssize_t)done : -EAGAIN;
		rc = vs__sk_wait_for(s, EPOLLOUT | EPOLLERR | EPOLLHUP, -1, 0,
				     s->sndtimeo_ms);
		if (rc)
			return done ? (ssize_t)done : rc;
	}
}

ssize_t
vs__sock_recvmsg(int fd, struct vs_sock *s, struct msghdr *m, int flags)
{
	ssize_t rc;

	if (s->type == SOCK_DGRAM)
		return vs__sk_udp_recv(fd, s, m, flags);
	rc = sk_tcp_recv(s, m->msg_iov, (int)m->msg_iovlen, flags);
	if (rc >= 0) {
		if (m->msg_name)
			vs__sk_copy_addr(s->family, &s->peer, m->msg_name,
					 &m->msg_namelen);
		m->msg_controllen = 0;
		m->msg_flags = 0;
	}
	return rc;
}

ssize_t
vs__sock_sendmsg(int fd, struct vs_sock *s, const struct msghdr *m, int flags)
{
	if (s->type == SOCK_DGRAM)
		return vs__sk_udp_send(fd, s, m, flags);
	/* A connected stream ignores the address, as the kernel does. */
	return sk_tcp_send(s, m->msg_iov, (int)m->msg_iovlen, flags);
}

int
vs__sock_recvmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		  int flags, struct timespec *tmo)
{
	unsigned i;

	if (s->type == SOCK_DGRAM)
		return vs__sk_udp_recvmmsg(fd, s, v, n, flags, tmo);
	/* A stream: one recvmsg per message (tmo is not looked at). */
	for (i = 0; i < n; i++) {
		ssize_t rc = vs__sock_recvmsg(
			fd, s, &v[i].msg_hdr,
			(flags & ~MSG_WAITFORONE) |
				(i && (flags & MSG_WAITFORONE) ? MSG_DONTWAIT :
								 0));

		if (rc < 0)
			return i ? (int)i : (int)rc;
		v[i].msg_len = (unsigned)rc;
		if (!rc)
			return (int)i + 1;
	}
	return (int)i;
}

int
vs__sock_sendmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		  int flags)
{
	unsigned i;

	if (s->type == SOCK_DGRAM)
		return vs__sk_udp_sendmmsg(fd, s, v, n, flags);
	for (i = 0; i < n; i++) {
		ssize_t rc = vs__sock_sendmsg(fd, s, &v[i].msg_hdr, flags);

		if (rc < 0)
			return i ? (int)i : (int)rc;
		v[i].msg_len = (unsigned)rc;
	}
	return (int)i;
}

/* --- close, shutdown, names, options, dup --- */

/* The kernel socket holding a connection's port, kept for its TIME_WAIT
 * after fd (still open, or -1) closes: a duplicate, or -1. */
static int
sock_port_fd(const struct vs_sock *s, int fd)
{
	return s->tcp && s->port_in_fd && s->linger_s != 0 && fd >= 0 ?
		       vs__real.fcntl(fd, F_DUPFD_CLOEXEC, 0) :
		       -1;
}

/* The last fd of s goes; port_fd: sock_port_fd's. */
static void
sock_release(struct vs_sock *s, int port_fd)
{
	vs__epoll_forget(s);
	if (s->shared)
		vs__mv_forget(s);
	if (atomic_load(&s->move_from)) {
		/* It lives in another process: the fd's reference and the
		 * connection's go, nothing is said to the peer. */
		if (port_fd >= 0)
			vs__real.close(port_fd);
		sock_put(s);
		sock_put(s);
		return;
	}
	if (s->state == VS_S_LISTEN) {
		if (port_fd >= 0)
			vs__real.close(port_fd);
		listener_stop(s);
		/* Connections never accepted: closed as the kernel would. */
		for (;;) {
			struct vs_sock *c;

			vs__mutex_lock(&s->qlock);
			c = s->acc_head;
			if (c)
				s->acc_head = c->acc_next;
			vs__mutex_unlock(&s->qlock);
			if (!c)
				break;
			vs__engine_lock(c->e);
			if (c->tcp)
				vs__tcp_close(c->tcp);
			vs__engine_unlock(c->e);
		}
		sock_put(s);
		return;
	}
	struct vs_engine *e = s->e;

	/* The port outlives the fd in the connection's TIME_WAIT: the
	 * connection keeps the kernel socket, as one it reserved itself
	 * (without an fd to spare, the port goes with the fd). */
	vs__engine_lock(e);
	/* s->tcp is the engine's: lwIP may have let go meanwhile. */
	if (port_fd >= 0 && s->tcp)
		vs__tcp_keep_port(s->tcp, port_fd);
	else if (port_fd >= 0)
		vs__real.close(port_fd);
	if (s->udp) {
		vs__udp_close(s->udp);
		s->udp = NULL;
	}
	/* `closed` drops the connection's reference. */
	if (s->tcp && s->linger_s == 0) {
		vs__tcp_abort(s->tcp);
	} else if (s->tcp && s->linger_s > 0) {
		/* As the kernel: wait, at most linger_s, until the peer has
		 * everything sent (`closed` then says so). */
		s->lingering = true;
		vs__tcp_close(s->tcp);
		vs__engine_unlock(e);
		vs__sk_wait_for(s, EPOLLHUP, -1, 0, s->linger_s * 1000);
		vs__engine_lock(e);
		sock_put(s);
		vs__engine_unlock(e);
		return;
	} else if (s->tcp) {
		vs__tcp_close(s->tcp);
	}
	sock_put(s);
	vs__engine_unlock(e);
}

/* How long a process's exit waits for its connections' last sends. */
#define EXIT_DRAIN_MS 2000

/*
 * At exit, what the kernel does for a process's sockets: each vstack
 * socket still open is closed (its fd is left to the kernel, which
 * closes it, so the program's later exit handlers see a kernel socket),
 * and the process lives on until its connections have delivered what
 * they queued and sent their FIN, EXIT_DRAIN_MS at most (the kernel
 * keeps an orphaned socket longer; a process cannot outlive exit).
 */
/* What vstack carried for the process, in one line at exit (info): a
 * process that is gone can no longer be asked with vstackctl. */
static void
exit_summary(void)
{
	uint64_t acc = 0, con = 0, rxb = 0, txb = 0, rxd = 0, txd = 0;

	for (unsigned i = 0; i < rt.n; i++) {
		struct vs_engine_counters c;

		vs__engine_counters(&rt.es[i], &c);
		acc += c.tcp_accepted;
		con += c.tcp_connects;
		rxb += c.tcp_rx_bytes;
		txb += c.tcp_tx_bytes;
		rxd += c.udp_rx_datagrams;
		txd += c.udp_tx_datagrams;
	}
	vs_info("exit: vstack carried %" PRIu64
		" TCP connections accepted and %" PRIu64 " connected, %" PRIu64
		" bytes in and %" PRIu64 " out; %" PRIu64
		" UDP datagrams in and %" PRIu64 " out",
		acc, con, rxb, txb, rxd, txd);
}

/* At exit: every vstack socket is closed (vs__fd_each). */
static bool
exit_closes(void *arg, int fd, enum vs_fdkind kind, void *obj)
{
	struct vs_sock *s = obj;

	(void)arg;
	if (kind != VS_FD_SOCK)
		return true;
	vs__fd_set(fd, NULL, VS_FD_NONE); /* gone before it is released */
	if (atomic_fetch_sub(&s->nfds, 1) == 1)
		sock_release(s, -1); /* the process ends: no port to keep */
	else
		sock_put(s);
	return true;
}

void
vs__sock_exit(void)
{
	uint64_t end = vs__now_ms() + EXIT_DRAIN_MS;
	uint64_t left;

	if (__atomic_load_n(&rt.state, __ATOMIC_ACQUIRE) <= 0)
		return;
	vs__fd_each(exit_closes, NULL);
	vs__mv_exit();
	for (;;) {
		left = 0;
		/* A pass on this thread sends what it queued, also at the end. */
		vs__sock_poll_engines();
		for (unsigned i = 0; i < rt.n; i++)
			left += atomic_load_explicit(&rt.es[i].st.tcp_draining,
						     memory_order_relaxed);
		if (!left || vs__now_ms() >= end)
			break;
	}
	if (left)
		vs_warn("exit: %lu connections had not delivered what they sent after %d ms; cut",
			(unsigned long)left, EXIT_DRAIN_MS);
	exit_summary();
}

int
vs__sock_to_kernel(int fd, struct vs_sock *s)
{
	bool watched;

	if (s->type != SOCK_DGRAM || !s->kernel_too ||
	    atomic_load(&s->nfds) != 1)
		return -EBUSY;
	vs__mutex_lock(&s->wlock);
	watched = s->watch != NULL;
	vs__mutex_unlock(&s->wlock);
	if (watched)
		return -EBUSY;
	vs__fd_mark_kernel(fd);
	if (atomic_fetch_sub(&s->nfds, 1) == 1)
		sock_release(s, sock_port_fd(s, fd));
	else
		sock_put(s);
	return 0;
}

/* A call that was under way when the last fd closed has returned. */
static void
sock_release_pending(struct vs_sock *s)
{
	if (!atomic_exchange(&s->release_pending, false))
		return; /* another call's return took it */
	if (atomic_load(&s->nfds) > 0) {
		/* dup() of the fd while it closed: the socket lives on. */
		if (s->release_port_fd >= 0)
			vs__real.close(s->release_port_fd);
		sock_put(s);
		return;
	}
	sock_release(s, s->release_port_fd);
}

/* The last fd of s (fd, still open) is closed: the socket closes now,
 * or, with calls on it under way (another thread's recv, poll...), when
 * the last of them returns: Linux releases a socket at the last
 * reference to its file, and a call holds one. */
static void
sock_last_fd(struct vs_sock *s, int fd)
{
	/* Another process may hold the file: the kernel would keep the
	 * connection open until its last holder closes it (move.c). */
	if (s->shared && vs__mv_park(s, fd)) {
		vs__epoll_forget(s);
		return;
	}
	if (atomic_load(&s->calls) == 0) {
		sock_release(s, sock_port_fd(s, fd));
		return;
	}
	s->release_port_fd = sock_port_fd(s, fd);
	atomic_store(&s->release_pending, true);
	if (atomic_load(&s->calls) == 0)
		sock_release_pending(s);
}

void
vs__fd_drop(int fd)
{
	struct vs_sock *s = vs__fd_take_sock(fd);

	if (s) {
		if (atomic_fetch_sub(&s->nfds, 1) == 1)
			sock_last_fd(s, fd);
		else
			sock_put(s);
	} else if (vs__fd_ep(fd)) {
		vs__epoll_drop(fd);
	} else {
		vs__fd_forget(fd);
	}
}

int
vs__sock_close(int fd)
{
	int rc;

	vs__fd_drop(fd);
	rc = vs__real.close(fd) < 0 ? -errno : 0;
	vs__mv_after_close();
	return rc;
}

/* --- connections that change process (move.c) --- */

void
vs__sk_put(struct vs_sock *s)
{
	sock_put(s);
}

void
vs__sk_release_parked(struct vs_sock *s)
{
	sock_release(s, -1);
}

void
vs__sk_moved(struct vs_sock *s, bool done, int to)
{
	s->tcp = NULL;
	if (done) {
		/* The connection's reference stays: it lives on, there. */
		vs__rxq_free(&s->e->lw, &s->rxq);
		s->rx_fin = false;
		atomic_store(&s->move_from, to);
		atomic_store(&s->ev, 0);
		return;
	}
	s->err = -ECONNRESET;
	s->state = VS_S_CLOSED;
	conn_update(s);
	sock_put(s); /* the connection's */
}

int
vs__sk_can_take(void)
{
	if (!vs__sk_rt_up())
		return -ENODEV;
	/* AF_XDP: the flow's frames reach the queue the NIC's RSS chose,
	 * the giver's; no rule of ours can bring them here. */
	if (vs__port_info(rt.port)->queue_split)
		return -EOPNOTSUPP;
	return 0;
}

int
vs__sk_moved_in(struct vs_sock *s, const struct vs_tcp_move *m,
		const void *sdata, const void *rdata, size_t rlen, bool rx_fin,
		bool shut_rd, bool shut_wr, int err,
		const struct sockaddr_storage *local,
		const struct sockaddr_storage *peer)
{
	struct vs_engine *e;
	struct vs_tcp *tcp;
	int rc;

	if ((rc = vs__sk_can_take()))
		return rc;
	e = vs__sk_engine();
	vs__engine_lock(e);
	rc = vs__tcp_move_in(e, m, sdata, &conn_ops, s, &tcp);
	if (rc) {
		vs__engine_unlock(e);
		return rc;
	}
	s->e = e;
	s->tcp = tcp;
	for (size_t off = 0; off < rlen;) {
		u16_t k = rlen - off > 0xffff ? 0xffff : (u16_t)(rlen - off);
		struct pbuf *p = e->lw.pbuf_alloc(PBUF_RAW, k, PBUF_RAM);

		if (!p) { /* the giver resets it too */
			s->tcp = NULL;
			vs__tcp_move_end(tcp, false);
			vs__rxq_free(&e->lw, &s->rxq);
			vs__engine_unlock(e);
			return -ENOMEM;
		}
		e->lw.pbuf_take(p, (const uint8_t *)rdata + off, k);
		vs__rxq_put(&s->rxq, p);
		off += k;
	}
	s->rx_fin = rx_fin;
	s->shut_rd = shut_rd;
	s->shut_wr = shut_wr;
	s->err = err;
	s->local = *local;
	s->peer = *peer;
	s->state = VS_S_CONNECTED;
	atomic_store(&s->move_from, 0);
	vs__sock_apply_options(s);
	conn_set(s, true);
	vs__engine_unlock(e);
	return 0;
}

struct vs_sock *
vs__sock_use(int fd)
{
	static pthread_mutex_t take_lock = PTHREAD_MUTEX_INITIALIZER;
	static _Atomic bool said;
	struct vs_sock *s = vs__sock_get(fd);
	int from, rc = 0;
	bool guess;

	if (!s ||
	    likely(!atomic_load_explicit(&s->move_from, memory_order_relaxed)))
		return s;
	/* vstack's own calls from here (the runtime may start) are libc's,
	 * as inside any interposed call. */
	vs__in_vstack++;
	vs__mutex_lock(&take_lock);
	from = atomic_load(&s->move_from);
	if (from)
		rc = vs__mv_take(fd, s);
	vs__mutex_unlock(&take_lock);
	vs__in_vstack--;
	if (!rc) {
		s->move_guess = false;
		return s;
	}
	/* A guess that was wrong: a kernel socket after all. */
	guess = s->move_guess && (rc == -ENOENT || rc == -ESRCH);
	if (!guess && !atomic_exchange(&said, true))
		vs_warn("a connection that lives in process %d could not be "
			"taken (%s): its fd is the kernel socket behind it "
			"from now on, not connected (said once)",
			from,
			rc == -ESRCH	  ? "that process serves no moves" :
			rc == -EOPNOTSUPP ? "AF_XDP cannot steer it here" :
			rc == -ENODEV	  ? "vstack does not run here" :
					    strerror(-rc));
	vs__sock_unref(s);
	vs__fd_drop(fd);
	return NULL;
}

struct range {
	unsigned first, last;
	int *own; /* vstack's own fds in the range, ascending */
	unsigned nown, cap;
	bool nomem;
};

static bool
range_drop(void *arg, int fd, enum vs_fdkind kind, void *obj)
{
	struct range *r = arg;

	(void)obj;
	if ((unsigned)fd < r->first || (unsigned)fd > r->last)
		return true;
	if (kind != VS_FD_INTERNAL && kind != VS_FD_OWN) {
		vs__fd_drop(fd);
		return true;
	}
	if (r->nown == r->cap) {
		unsigned cap = r->cap ? 2 * r->cap : 16;
		int *own = realloc(r->own, cap * sizeof(*own));

		if (!own) {
			r->nomem = true;
			return true;
		}
		r->own = own;
		r->cap = cap;
	}
	r->own[r->nown++] = fd;
	return true;
}

int
vs__sock_close_range(unsigned first, unsigned last, int flags)
{
	struct range r = { .first = first, .last = last };
	unsigned from = first;
	int rc = 0;

	if (first > last)
		return -EINVAL;
	vs__fd_each(range_drop, &r);
	if (r.nomem) {
		free(r.own);
		return -ENOMEM; /* nothing closed by the kernel */
	}
	/* The kernel closes the range around vstack's own fds. */
	for (unsigned i = 0; i <= r.nown && !rc; i++) {
		unsigned to = i < r.nown ? (unsigned)r.own[i] : last;

		if (i < r.nown && (unsigned)r.own[i] == from) {
			from++;
			continue;
		}
		if (i < r.nown)
			to--;
		if (from <= to && vs__real.close_range(from, to, flags) < 0)
			rc = -errno;
		if (i < r.nown)
			from = (unsigned)r.own[i] + 1;
		if (from == 0) /* wrapped past UINT_MAX */
			break;
	}
	free(r.own);
	return rc;
}

int
vs__sock_shutdown(struct vs_sock *s, int how)
{
	int rc = 0;

	if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
		return -EINVAL;
	if (s->state == VS_S_LISTEN || s->state == VS_S_CONNECTING)
		return -ENOTCONN;
	vs__engine_lock(s->e);
	if (how != SHUT_WR && !s->shut_rd) {
		s->shut_rd = true;
		if (s->rxq.len)
			consume(s, s->rxq.len);
	}
	if (how != SHUT_RD && !s->shut_wr) {
		s->shut_wr = true;
		if (s->tcp)
			rc = vs__tcp_shutdown(s->tcp);
	}
	conn_update(s);
	vs__engine_unlock(s->e);
	return rc == -ENOTCONN ? 0 : rc;
}

int
vs__sock_name(struct vs_sock *s, bool peer, struct sockaddr *sa, socklen_t *len)
{
	if (!len)
		return -EFAULT;
	if (peer &&
	    (s->type == SOCK_DGRAM ?
		     !s->udp_connected :
		     s->state != VS_S_CONNECTED &&
			     !(s->state == VS_S_CLOSED && s->peer.ss_family)))
		return -ENOTCONN;
	vs__sk_copy_addr(s->family, peer ? &s->peer : &s->local, sa, len);
	return 0;
}

int
vs__sock_dup(int oldfd, int newfd)
{
	struct vs_sock *s = vs__sock_get(oldfd); /* becomes newfd's */
	struct vs_ep *ep = vs__fd_ep(oldfd);

	if (s) {
		atomic_fetch_add(&s->nfds, 1);
		/* No longer a call's reference but newfd's. */
		if (atomic_fetch_sub(&s->calls, 1) == 1 &&
		    atomic_load(&s->release_pending))
			sock_release_pending(s);
		return vs__fd_set(newfd, s, VS_FD_SOCK);
	}
	return ep ? vs__epoll_dup(ep, newfd) : 0;
}
