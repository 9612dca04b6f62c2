// SPDX-License-Identifier: MIT
/*
 * move - a TCP connection is served by the process that uses it.
 *
 * A connection accepted or connected by one process and used by another
 * (a fork child that serves it, socat's fork option, inetd's fork and
 * exec) moves to the process that uses it: that process's first call on
 * it (vs__sock_use) asks the process where the connection lives, over a
 * UNIX socket of that process's (abstract, "vstack-move-PID"), for its
 * state (stack/tcp.h vs__tcp_move_out: sequence numbers, windows, what
 * was sent and not acknowledged, what was received and not read), makes
 * the connection on one of its own engines with a 5-tuple rule of its own
 * (vs__tcp_move_in), and says so; the giver then lets its copy go
 * without a word to the peer. Frames that arrive meanwhile are dropped
 * unanswered and the peer sends them again.
 *
 * Closing: the kernel closes a connection when the last process holding
 * its file closes it. A process whose connection another may hold (it
 * forked since the connection began) does the same: its last close
 * parks the connection instead of closing it, and the connection closes
 * when the kernel file behind it is released everywhere. An epoll set
 * tells: an epoll item does not hold its file, and goes when the file is
 * released, so the parked connections missing from the set's ready list
 * (every item is ready: an unconnected TCP socket always shows EPOLLHUP)
 * have no holder left.
 *
 * Owns: the move server (its socket and thread, started when the process
 * first has a connection another may hold), the list of such connections
 * (each held: a reference), the epoll set of parked ones.
 * Must never: hold an engine's lock while it talks to another process;
 * answer a process of another user (root's excepted); wait for a peer
 * longer than MOVE_TIMEOUT_MS; take a connection the port cannot steer to
 * this process (AF_XDP: frames reach the queue RSS chose).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/lock.h"
#include "base/log.h"
#include "sockapi/sock_impl.h"

#define MOVE_MAGIC 0x564d5356u /* "VSMV" */
#define MOVE_VERSION 1
#define MOVE_TIMEOUT_MS 2000
/* While connections are parked: how often their holders are looked at. */
#define PARK_TICK_MS 50

struct move_req {
	uint32_t magic, version, size; /* size: sizeof(struct move_rep) */
	uint32_t pad;
	uint64_t ino;
};

struct move_rep {
	uint32_t magic;
	int32_t err; /* 0, or -errno; -EXDEV: it lives in `there` */
	int32_t there;
	uint32_t rxq; /* received bytes not read, after the sndq bytes */
	int32_t sock_err;
	uint8_t rx_fin, shut_rd, shut_wr, nodelay;
	struct sockaddr_storage local, peer;
	struct vs_tcp_move m;
};

struct move_ack {
	uint32_t magic;
	int32_t err; /* 0: taken */
};

/* A connection another process may hold; parked, an epoll set of its
 * own with its kernel socket in it (a set per connection: an item cannot
 * be taken out of a set once its fd here is closed, and would linger
 * there as long as another process holds the file). */
struct shared {
	struct vs_sock *s;
	int ep; /* -1: not parked */
	/* Being given (serve): its holders may all be gone meanwhile (the
	 * taker closed it at once), but it is the giver's to end. */
	bool moving;
};

static struct {
	pthread_mutex_t lock;
	struct shared *shared;
	unsigned n, cap;
	unsigned nparked;
	int lfd, evfd; /* the server's socket, its wakeup */
	bool started;
	pthread_t thread;
} M = { .lock = PTHREAD_MUTEX_INITIALIZER, .lfd = -1, .evfd = -1 };

/* Closes one of vstack's own fds (vs__fd_mark_internal). */
static void
close_own(int fd)
{
	vs__fd_set(fd, NULL, VS_FD_NONE);
	vs__real.close(fd);
}

static void
addr_of(struct sockaddr_un *a, socklen_t *len, int pid)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	/* abstract: a leading NUL, no file */
	int n = snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1,
			 "vstack-move-%d", pid);
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
			   (size_t)n);
}

/* Waits for fd to show ev until deadline_ms: 0, or -ETIMEDOUT. */
static int
wait_fd(int fd, short ev, uint64_t deadline_ms)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = ev };
		uint64_t now = vs__now_ms();
		int n;

		if (now >= deadline_ms)
			return -ETIMEDOUT;
		n = vs__real.poll(&p, 1, (int)(deadline_ms - now));
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* One message (and an fd, when sfd >= 0). */
static int
send_msg(int fd, const void *buf, size_t len, int sfd)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (sfd >= 0) {
		struct cmsghdr *c;

		memset(&cb, 0, sizeof(cb));
		m.msg_control = cb.b;
		m.msg_controllen = sizeof(cb.b);
		c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &sfd, sizeof(int));
	}
	return vs__real.sendmsg(fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT) ==
			       (ssize_t)len ?
		       0 :
		       -EIO;
}

/* One message of exactly len bytes by deadline (and the fd it carries
 * into *rfd, if rfd; -1: none). */
static int
recv_msg(int fd, void *buf, size_t len, int *rfd, uint64_t deadline_ms)
{
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} cb;
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr m = { .msg_iov = &iov,
			    .msg_iovlen = 1,
			    .msg_control = cb.b,
			    .msg_controllen = sizeof(cb.b) };
	ssize_t n;
	int rc;

	if (rfd)
		*rfd = -1;
	if ((rc = wait_fd(fd, POLLIN, deadline_ms)))
		return rc;
	n = vs__real.recvmsg(fd, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int))) {
			int got;

			memcpy(&got, CMSG_DATA(c), sizeof(int));
			if (rfd && *rfd < 0)
				*rfd = got;
			else
				vs__real.close(got);
		}
	if (n != (ssize_t)len || (m.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (rfd && *rfd >= 0) {
			vs__real.close(*rfd);
			*rfd = -1;
		}
		return -EPROTO;
	}
	return 0;
}

/* --- the list of connections another process may hold --- */

static struct shared *
shared_of(const struct vs_sock *s)
{
	for (unsigned i = 0; i < M.n; i++)
		if (M.shared[i].s == s)
			return &M.shared[i];
	return NULL;
}

static struct vs_sock *
shared_find(uint64_t ino)
{
	for (unsigned i = 0; i < M.n; i++)
		if (M.shared[i].s->ino == ino)
			return M.shared[i].s;
	return NULL;
}

/* Under M.lock: s (held by the caller, whose reference the list keeps)
 * joins the list. */
static bool
shared_add(struct vs_sock *s)
{
	if (M.n == M.cap) {
		unsigned cap = M.cap ? 2 * M.cap : 16;
		struct shared *p = realloc(M.shared, cap * sizeof(*p));

		if (!p)
			return false;
		M.shared = p;
		M.cap = cap;
	}
	M.shared[M.n++] = (struct shared){ .s = s, .ep = -1 };
	s->shared = true;
	return true;
}

/* Under M.lock: s leaves the list (parked or not); the list's reference
 * is the caller's. */
static void
shared_del(struct vs_sock *s)
{
	struct shared *h = shared_of(s);

	if (h) {
		if (h->ep >= 0) {
			close_own(h->ep);
			M.nparked--;
		}
		*h = M.shared[--M.n];
	}
	s->shared = s->parked = false;
}

static void *move_main(void *arg);

/* Under M.lock: the server runs. */
static int
server_start(void)
{
	struct sockaddr_un a;
	socklen_t al;

	if (M.started)
		return 0;
	M.lfd = vs__real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	M.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	addr_of(&a, &al, (int)getpid());
	if (M.lfd < 0 || M.evfd < 0 ||
	    vs__real.bind(M.lfd, (struct sockaddr *)&a, al) < 0 ||
	    vs__real.listen(M.lfd, 64) < 0)
		goto fail;
	vs__fd_mark_internal(M.lfd);
	vs__fd_mark_internal(M.evfd);
	if (pthread_create(&M.thread, NULL, move_main, NULL))
		goto fail;
	M.started = true;
	return 0;
fail:
	vs_warn("move: cannot serve connections to other processes: %s",
		strerror(errno));
	if (M.lfd >= 0)
		vs__real.close(M.lfd);
	if (M.evfd >= 0)
		vs__real.close(M.evfd);
	M.lfd = M.evfd = -1;
	return -1;
}

/* s, a live connection of this process named by fd, may be held by
 * another process from now on. Under M.lock. */
static void
share(struct vs_sock *s, int fd)
{
	struct stat st;

	if (s->shared || s->type != SOCK_STREAM || !s->tcp ||
	    atomic_load(&s->move_from) || fstat(fd, &st) < 0 || server_start())
		return;
	s->ino = (uint64_t)st.st_ino;
	vs__sock_hold(s);
	if (!shared_add(s))
		vs__sk_put(s);
}

static bool
share_each(void *arg, int fd, enum vs_fdkind kind, void *obj)
{
	(void)arg;
	if (kind == VS_FD_SOCK)
		share(obj, fd);
	return true;
}

void
vs__mv_share_fd(int fd)
{
	struct vs_sock *s = vs__sock_get(fd);

	if (!s)
		return;
	vs__mutex_lock(&M.lock);
	share(s, fd);
	vs__mutex_unlock(&M.lock);
	vs__sock_unref(s);
}

void
vs__mv_prepare_fork(void)
{
	/* Held across fork (vs__mv_atfork_parent): the child copies a
	 * list nobody is changing. */
	vs__mutex_lock(&M.lock);
	vs__fd_each(share_each, NULL);
}

void
vs__mv_atfork_parent(void)
{
	vs__mutex_unlock(&M.lock);
}

void
vs__mv_atfork_child(void)
{
	/* The parent's list, server and parked connections are its own
	 * (the references were the parent's). */
	pthread_mutex_init(&M.lock, NULL);
	for (unsigned i = 0; i < M.n; i++)
		if (M.shared[i].ep >= 0)
			close_own(M.shared[i].ep);
	free(M.shared);
	M.shared = NULL;
	M.n = M.cap = M.nparked = 0;
	M.started = false;
	if (M.lfd >= 0) {
		close_own(M.lfd);
		close_own(M.evfd);
	}
	M.lfd = M.evfd = -1;
}

/* --- parking --- */

bool
vs__mv_park(struct vs_sock *s, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct shared *h;
	uint64_t one = 1;
	int ep = -1;

	vs__mutex_lock(&M.lock);
	h = s->shared && !s->parked && !atomic_load(&s->move_from) ?
		    shared_of(s) :
		    NULL;
	if (h && (ep = vs__real.epoll_create1(EPOLL_CLOEXEC)) >= 0 &&
	    vs__real.epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0) {
		vs__fd_mark_internal(ep);
		h->ep = ep;
		s->parked = true;
		M.nparked++;
		(void)!write(M.evfd, &one, sizeof(one));
	} else if (ep >= 0) {
		vs__real.close(ep);
		h = NULL;
	}
	vs__mutex_unlock(&M.lock);
	return h != NULL;
}

/* The parked connections whose file no process holds any more close
 * now, as the kernel would have closed them at the last close: their
 * set is empty (an unconnected TCP socket always shows EPOLLHUP, so a
 * set with its item in it is always ready). */
static void
park_check(void)
{
	struct vs_sock **gone;
	struct pollfd *p;
	unsigned ngone = 0, n = 0;

	vs__mutex_lock(&M.lock);
	if (!M.nparked) {
		vs__mutex_unlock(&M.lock);
		return;
	}
	p = calloc(M.nparked, sizeof(*p));
	gone = calloc(M.nparked, sizeof(*gone));
	if (!p || !gone) {
		vs__mutex_unlock(&M.lock);
		free(p);
		free(gone);
		return;
	}
	for (unsigned i = 0; i < M.n && n < M.nparked; i++)
		if (M.shared[i].ep >= 0 && !M.shared[i].moving)
			p[n++] = (struct pollfd){ .fd = M.shared[i].ep,
						  .events = POLLIN };
	if (vs__real.poll(p, n, 0) >= 0)
		for (unsigned k = 0; k < n; k++) {
			if (p[k].revents & POLLIN)
				continue;
			for (unsigned i = 0; i < M.n; i++)
				if (M.shared[i].ep == p[k].fd) {
					gone[ngone++] = M.shared[i].s;
					shared_del(M.shared[i].s);
					break;
				}
		}
	vs__mutex_unlock(&M.lock);
	for (unsigned i = 0; i < ngone; i++) {
		/* The list's reference, then the fd's (parking kept it). */
		vs__sk_put(gone[i]);
		vs__sk_release_parked(gone[i]);
	}
	free(p);
	free(gone);
}

void
vs__mv_exit(void)
{
	/* The process ends: a parked connection is closed, as if its other
	 * holders had closed it too (it cannot outlive the engines). */
	for (;;) {
		struct vs_sock *s = NULL;

		vs__mutex_lock(&M.lock);
		for (unsigned i = 0; i < M.n && !s; i++)
			if (M.shared[i].ep >= 0 && !M.shared[i].moving)
				s = M.shared[i].s;
		if (s)
			shared_del(s);
		vs__mutex_unlock(&M.lock);
		if (!s)
			break;
		vs__sk_put(s);
		vs__sk_release_parked(s);
	}
}

void
vs__mv_after_close(void)
{
	if (__atomic_load_n(&M.nparked, __ATOMIC_RELAXED))
		park_check();
}

void
vs__mv_forget(struct vs_sock *s)
{
	vs__mutex_lock(&M.lock);
	if (s->shared && !s->parked) {
		shared_del(s);
		vs__mutex_unlock(&M.lock);
		vs__sk_put(s);
		return;
	}
	vs__mutex_unlock(&M.lock);
}

/* --- the giver --- */

/* A memfd holding the n bytes of each of the two pieces, or -errno. */
static int
data_fd(const void *a, size_t an, const struct vs_rxq *q)
{
	int fd = memfd_create("vstack-move", MFD_CLOEXEC);
	size_t n = an + q->len;
	uint8_t *p;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)n) < 0 ||
	    (p = mmap(NULL, n, PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
		int e = -errno;

		vs__real.close(fd);
		return e;
	}
	if (an)
		memcpy(p, a, an);
	if (q->len)
		vs__rxq_copy(q, p + an);
	munmap(p, n);
	return fd;
}

static void
serve(int cfd, pid_t peer)
{
	uint64_t until = vs__now_ms() + MOVE_TIMEOUT_MS;
	struct move_req rq;
	struct move_rep rp = { .magic = MOVE_MAGIC };
	struct move_ack ack;
	struct vs_sock *s;
	struct vs_engine *e = NULL;
	struct vs_tcp *old = NULL;
	void *sdata = NULL;
	int dfd = -1, rc;
	bool done;

	if (recv_msg(cfd, &rq, sizeof(rq), NULL, until) ||
	    rq.magic != MOVE_MAGIC || rq.version != MOVE_VERSION ||
	    rq.size != sizeof(struct move_rep)) {
		rp.err = -EPROTO;
		send_msg(cfd, &rp, sizeof(rp), -1);
		return;
	}
	vs__mutex_lock(&M.lock);
	s = shared_find(rq.ino);
	if (s) {
		vs__sock_hold(s);
		shared_of(s)->moving = true;
	}
	vs__mutex_unlock(&M.lock);
	if (!s) {
		vs_dbg("move: process %d asked for inode %llu: not one of "
		       "the %u connections others may hold here",
		       (int)peer, (unsigned long long)rq.ino, M.n);
		rp.err = -ENOENT;
		send_msg(cfd, &rp, sizeof(rp), -1);
		return;
	}
	if ((rp.there = atomic_load(&s->move_from))) {
		rp.err = -EXDEV; /* it moved on: ask there */
		goto reply;
	}
	e = s->e;
	vs__engine_lock(e);
	rc = s->tcp ? vs__tcp_move_out(s->tcp, &rp.m, &sdata) : -ENOTCONN;
	if (!rc) {
		old = s->tcp;
		rp.rxq = (uint32_t)s->rxq.len;
		if (rp.m.sndq + rp.rxq &&
		    (dfd = data_fd(sdata, rp.m.sndq, &s->rxq)) < 0) {
			rc = dfd;
			dfd = -1;
		} else {
			rp.rx_fin = s->rx_fin;
			rp.shut_rd = s->shut_rd;
			rp.shut_wr = s->shut_wr;
			rp.nodelay = s->opt.nodelay;
			rp.sock_err = s->err;
			rp.local = s->local;
			rp.peer = s->peer;
		}
	}
	vs__engine_unlock(e);
	free(sdata);
	if (rc)
		vs_dbg("move: inode %llu to process %d: %s",
		       (unsigned long long)rq.ino, (int)peer, strerror(-rc));
	rp.err = rc;
	if (rc && old) { /* inert already: it cannot go on here */
		vs__engine_lock(e);
		vs__tcp_move_end(old, false);
		vs__sk_moved(s, false, 0);
		vs__engine_unlock(e);
		old = NULL;
	}
reply:
	if (send_msg(cfd, &rp, sizeof(rp), dfd))
		rp.err = -EIO;
	if (dfd >= 0)
		vs__real.close(dfd);
	done = !rp.err &&
	       !recv_msg(cfd, &ack, sizeof(ack), NULL,
			 vs__now_ms() + MOVE_TIMEOUT_MS) &&
	       ack.magic == MOVE_MAGIC && ack.err == 0;
	if (old && !done)
		vs_warn("move: process %d did not take its connection (%s): "
			"reset",
			(int)peer,
			rp.err ? strerror(-rp.err) : "no answer in time");
	if (old) {
		vs__engine_lock(e);
		vs__tcp_move_end(old, done);
		vs__sk_moved(s, done, peer);
		vs__engine_unlock(e);
		if (done) {
			bool drop;

			vs__mutex_lock(&M.lock);
			/* Parked here: nothing of it stays. */
			drop = s->parked;
			if (drop)
				shared_del(s);
			vs__mutex_unlock(&M.lock);
			if (drop) {
				vs__sk_put(s); /* the list's */
				vs__sk_release_parked(s);
			}
		}
	}
	vs__mutex_lock(&M.lock);
	if (s->shared)
		shared_of(s)->moving = false;
	vs__mutex_unlock(&M.lock);
	vs__sk_put(s);
}

static void *
move_main(void *arg)
{
	(void)arg;
	vs__in_vstack++; /* this thread's socket calls are the kernel's */
	for (;;) {
		struct pollfd p[2] = { { .fd = M.lfd, .events = POLLIN },
				       { .fd = M.evfd, .events = POLLIN } };
		int parked = (int)__atomic_load_n(&M.nparked, __ATOMIC_RELAXED);
		uint64_t v;

		if (vs__real.poll(p, 2, parked ? PARK_TICK_MS : -1) < 0 &&
		    errno != EINTR)
			break;
		if (p[1].revents)
			(void)!read(M.evfd, &v, sizeof(v));
		if (p[0].revents) {
			int cfd = vs__real.accept4(M.lfd, NULL, NULL,
						   SOCK_CLOEXEC);
			struct ucred cr;
			socklen_t cl = sizeof(cr);

			if (cfd >= 0) {
				if (!getsockopt(cfd, SOL_SOCKET, SO_PEERCRED,
						&cr, &cl) &&
				    (cr.uid == geteuid() || cr.uid == 0))
					serve(cfd, cr.pid);
				vs__real.close(cfd);
			}
		}
		park_check();
	}
	return NULL;
}

/* --- the taker --- */

int
vs__mv_take(int fd, struct vs_sock *s)
{
	struct move_req rq = { .magic = MOVE_MAGIC,
			       .version = MOVE_VERSION,
			       .size = sizeof(struct move_rep) };
	struct move_rep rp;
	struct move_ack ack = { .magic = MOVE_MAGIC };
	struct stat st;
	int from = atomic_load(&s->move_from), rc = -ENOENT;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* Before asking: a connection given and then not taken is reset. */
	if ((rc = vs__sk_can_take()))
		return rc;
	rc = -ENOENT;
	rq.ino = (uint64_t)st.st_ino;
	/* Asked where it lives, a process may say it moved on. */
	for (int hop = 0; hop < 4 && from > 0; hop++) {
		uint64_t until = vs__now_ms() + MOVE_TIMEOUT_MS;
		struct sockaddr_un a;
		socklen_t al;
		int cfd, dfd = -1;
		uint8_t *data = NULL;
		size_t dlen = 0;

		if (from == getpid())
			return -ENOENT;
		cfd = vs__real.socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC,
				      0);
		if (cfd < 0)
			return -errno;
		addr_of(&a, &al, from);
		if (vs__real.connect(cfd, (struct sockaddr *)&a, al) < 0) {
			rc = errno == ECONNREFUSED ? -ESRCH : -errno;
			vs__real.close(cfd);
			return rc;
		}
		rc = send_msg(cfd, &rq, sizeof(rq), -1);
		if (!rc)
			rc = recv_msg(cfd, &rp, sizeof(rp), &dfd, until);
		if (!rc && rp.magic != MOVE_MAGIC)
			rc = -EPROTO;
		if (!rc && rp.err == -EXDEV) {
			vs__real.close(cfd);
			from = rp.there;
			rc = -ENOENT;
			continue;
		}
		if (!rc)
			rc = rp.err;
		dlen = rc ? 0 : (size_t)rp.m.sndq + rp.rxq;
		if (!rc && dlen &&
		    (dfd < 0 || fstat(dfd, &st) < 0 ||
		     (size_t)st.st_size != dlen ||
		     (data = mmap(NULL, dlen, PROT_READ, MAP_PRIVATE, dfd,
				  0)) == MAP_FAILED)) {
			data = NULL;
			rc = -EPROTO;
		}
		if (!rc)
			rc = vs__sk_moved_in(
				s, &rp.m, data, data ? data + rp.m.sndq : NULL,
				rp.rxq, rp.rx_fin, rp.shut_rd, rp.shut_wr,
				rp.sock_err, &rp.local, &rp.peer);
		ack.err = rc;
		send_msg(cfd, &ack, sizeof(ack), -1);
		if (data)
			munmap(data, dlen);
		if (dfd >= 0)
			vs__real.close(dfd);
		vs__real.close(cfd);
		if (!rc) {
			/* Here now; others may still hold it. */
			s->ino = rq.ino;
			vs__mutex_lock(&M.lock);
			if (!server_start()) {
				vs__sock_hold(s);
				if (!shared_add(s))
					vs__sk_put(s);
			}
			vs__mutex_unlock(&M.lock);
		}
		return rc;
	}
	return rc;
}
