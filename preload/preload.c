// SPDX-License-Identifier: MIT
/*
 * preload - the libc calls libvstack.so interposes (LD_PRELOAD).
 *
 * Owns nothing but the wrappers: each looks the fd up and either goes
 * to src/sockapi (a vstack socket or epoll set, or a socket that may
 * become one: listen, connect) or straight to libc. vstack's own calls
 * (vs__in_vstack set) always go to libc.
 *
 * Must never: keep state of its own, or do more than a table lookup on
 * a kernel fd's path.
 */
#include <linux/close_range.h>
#include <errno.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <unistd.h>

#include "base/compiler.h"
#include "sockapi/sock.h"

static void
child(void)
{
	vs__sock_atfork_child();
}

static void
parent(void)
{
	vs__sock_atfork_parent();
}

static void
prepare(void)
{
	vs__sock_atfork_prepare();
}

__attribute__((constructor)) static void
preload_init(void)
{
	if (!vs__real.socket) {
		vs__real_init();
		vs__sock_init();
		pthread_atfork(prepare, parent, child);
	}
}

/* After the program's exit handlers, before the libraries' own
 * destructors: the engines' threads still run. */
__attribute__((destructor)) static void
preload_fini(void)
{
	if (vs__real.socket)
		vs__sock_exit();
}

/* glibc's fortified variants (no header declares them). */
ssize_t __read_chk(int fd, void *buf, size_t n, size_t buflen);
ssize_t __recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
		       struct sockaddr *sa, socklen_t *len);
int __poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len);

#define REAL(f) (vs__real.f ? vs__real.f : (preload_init(), vs__real.f))

/* Changes of user: vstack's capabilities stay (vs__privs_before). */
#define KEEP(call)                         \
	({                                 \
		struct vs_keep k_;         \
		int rc_;                   \
		vs__privs_before(&k_);     \
		rc_ = call;                \
		vs__privs_after(&k_, rc_); \
		rc_;                       \
	})

VS_EXPORT int
setuid(uid_t u)
{
	return KEEP(REAL(setuid)(u));
}

VS_EXPORT int
setreuid(uid_t r, uid_t e)
{
	return KEEP(REAL(setreuid)(r, e));
}

VS_EXPORT int
setresuid(uid_t r, uid_t e, uid_t s)
{
	return KEEP(REAL(setresuid)(r, e, s));
}

static long
ret(long rc)
{
	if (rc < 0) {
		errno = (int)-rc;
		return -1;
	}
	return rc;
}

/* Runs e with vstack's own calls going to libc; sets errno. */
#define VS(e)                    \
	({                       \
		long rc_;        \
		vs__in_vstack++; \
		rc_ = (long)(e); \
		vs__in_vstack--; \
		ret(rc_);        \
	})

/* fd's vstack socket, held for the call (vs__sock_unref() when done),
 * or NULL: the kernel's. */
static inline struct vs_sock *
sock_get(int fd)
{
	return vs__in_vstack ? NULL : vs__sock_use(fd);
}

/* --- connections --- */

VS_EXPORT int
listen(int fd, int backlog)
{
	if (vs__in_vstack)
		return REAL(listen)(fd, backlog);
	return (int)VS(vs__sock_listen(fd, backlog));
}

VS_EXPORT int
accept4(int fd, struct sockaddr *sa, socklen_t *len, int flags)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s)
		return REAL(accept4)(fd, sa, len, flags);
	rc = (int)VS(vs__sock_accept(fd, s, sa, len, flags));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	return accept4(fd, sa, len, 0);
}

VS_EXPORT int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	if (vs__in_vstack)
		return REAL(connect)(fd, sa, len);
	return (int)VS(vs__sock_connect(fd, sa, len));
}

VS_EXPORT int
close(int fd)
{
	if (!vs__in_vstack) {
		if (vs__fd_internal(fd))
			return 0; /* vstack's own; the program never had it */
		if (vs__fd_sock(fd))
			return (int)VS(vs__sock_close(fd));
		if (vs__fd_ep(fd))
			return (int)VS(vs__epoll_close(fd));
		vs__fd_forget(fd);
	}
	return REAL(close)(fd);
}

/* close_range(2) and closefrom(3) would close vstack's own fds and leave
 * stale entries for the program's: vstack drops its objects in the
 * range, and the kernel closes the rest around vstack's own. */
VS_EXPORT int
close_range(unsigned first, unsigned last, int flags)
{
	if (vs__in_vstack || (flags & CLOSE_RANGE_CLOEXEC) ||
	    !vs__real.close_range)
		return REAL(close_range)(first, last, flags);
	return (int)VS(vs__sock_close_range(first, last, flags));
}

VS_EXPORT void
closefrom(int low)
{
	if (vs__in_vstack || low < 0 || !vs__real.close_range) {
		REAL(closefrom)(low);
		return;
	}
	VS(vs__sock_close_range((unsigned)low, ~0u, 0));
}

/* fclose of an fdopen'ed socket closes the number inside libc. */
VS_EXPORT int
fclose(FILE *f)
{
	int fd = f ? fileno(f) : -1;

	if (!vs__in_vstack && fd >= 0 && !vs__fd_internal(fd))
		VS((vs__fd_drop(fd), 0));
	return REAL(fclose)(f);
}

VS_EXPORT int
shutdown(int fd, int how)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s)
		return REAL(shutdown)(fd, how);
	rc = (int)VS(vs__sock_shutdown(s, how));
	vs__sock_unref(s);
	return rc;
}

/* A listener's names are its kernel socket's. */
static int
name_of(int fd, bool peer, struct sockaddr *sa, socklen_t *len)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s || s->state == VS_S_LISTEN) {
		if (s)
			vs__sock_unref(s);
		return peer ? REAL(getpeername)(fd, sa, len) :
			      REAL(getsockname)(fd, sa, len);
	}
	rc = (int)VS(vs__sock_name(s, peer, sa, len));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
getsockname(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, false, sa, len);
}

VS_EXPORT int
getpeername(int fd, struct sockaddr *sa, socklen_t *len)
{
	return name_of(fd, true, sa, len);
}

VS_EXPORT int
getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s)
		return REAL(getsockopt)(fd, level, name, val, len);
	rc = (int)VS(vs__sock_getsockopt(fd, s, level, name, val, len));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
setsockopt(int fd, int level, int name, const void *val, socklen_t len)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s) {
		rc = REAL(setsockopt)(fd, level, name, val, len);
		if (rc == 0 && !vs__in_vstack)
			vs__sock_opt_kernel(fd, level, name);
		return rc;
	}
	rc = (int)VS(vs__sock_setsockopt(fd, s, level, name, val, len));
	vs__sock_unref(s);
	return rc;
}

/* --- data --- */

/* vs_recv and vs_send end the caller's hold on s. */
static ssize_t
vs_recv(int fd, struct vs_sock *s, struct iovec *iov, int n, int flags,
	struct sockaddr *sa, socklen_t *len)
{
	struct msghdr m = { .msg_iov = iov,
			    .msg_iovlen = (size_t)n,
			    .msg_name = sa,
			    .msg_namelen = len ? *len : 0 };
	ssize_t rc;

	if (!len)
		m.msg_name = NULL;
	rc = VS(vs__sock_recvmsg(fd, s, &m, flags));
	vs__sock_unref(s);
	if (rc >= 0 && len && sa)
		*len = m.msg_namelen;
	return rc;
}

static ssize_t
vs_send(int fd, struct vs_sock *s, const struct iovec *iov, int n, int flags,
	const struct sockaddr *sa, socklen_t len)
{
	struct msghdr m = { .msg_iov = (struct iovec *)iov,
			    .msg_iovlen = (size_t)n,
			    .msg_name = (void *)sa,
			    .msg_namelen = len };
	ssize_t rc;

	rc = VS(vs__sock_sendmsg(fd, s, &m, flags));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	int rc = REAL(bind)(fd, sa, len);

	/* A UDP socket on the port's addresses becomes vstack's now; a TCP
	 * one when it listens or connects. */
	if (rc == 0 && !vs__in_vstack && sa &&
	    (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)) {
		vs__in_vstack++;
		vs__sock_bound(fd);
		vs__in_vstack--;
	}
	return rc;
}

VS_EXPORT ssize_t
read(int fd, void *buf, size_t n)
{
	struct vs_sock *s = sock_get(fd);
	struct iovec iov = { buf, n };

	return s ? vs_recv(fd, s, &iov, 1, 0, NULL, NULL) :
		   REAL(read)(fd, buf, n);
}

VS_EXPORT ssize_t
__read_chk(int fd, void *buf, size_t n, size_t buflen)
{
	if (n > buflen)
		abort();
	return read(fd, buf, n);
}

VS_EXPORT ssize_t
readv(int fd, const struct iovec *iov, int n)
{
	struct vs_sock *s = sock_get(fd);

	return s ? vs_recv(fd, s, (struct iovec *)iov, n, 0, NULL, NULL) :
		   REAL(readv)(fd, iov, n);
}

VS_EXPORT ssize_t
recvfrom(int fd, void *buf, size_t n, int flags, struct sockaddr *sa,
	 socklen_t *len)
{
	struct vs_sock *s = sock_get(fd);
	struct iovec iov = { buf, n };

	if (!s)
		return REAL(recvfrom)(fd, buf, n, flags, sa, len);
	return vs_recv(fd, s, &iov, 1, flags, sa, len);
}

VS_EXPORT ssize_t
recv(int fd, void *buf, size_t n, int flags)
{
	return recvfrom(fd, buf, n, flags, NULL, NULL);
}

VS_EXPORT ssize_t
__recv_chk(int fd, void *buf, size_t n, size_t buflen, int flags)
{
	if (n > buflen)
		abort();
	return recv(fd, buf, n, flags);
}

VS_EXPORT ssize_t
__recvfrom_chk(int fd, void *buf, size_t n, size_t buflen, int flags,
	       struct sockaddr *sa, socklen_t *len)
{
	if (n > buflen)
		abort();
	return recvfrom(fd, buf, n, flags, sa, len);
}

VS_EXPORT ssize_t
recvmsg(int fd, struct msghdr *m, int flags)
{
	struct vs_sock *s = sock_get(fd);
	ssize_t rc;

	if (!s) {
		rc = REAL(recvmsg)(fd, m, flags);
		if (rc >= 0 && m && m->msg_controllen && !vs__in_vstack)
			VS((vs__sock_scm_recv(fd, m), 0));
		return rc;
	}
	rc = VS(vs__sock_recvmsg(fd, s, m, flags));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
recvmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags,
	 struct timespec *tmo)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s)
		return REAL(recvmmsg)(fd, v, n, flags, tmo);
	rc = (int)VS(vs__sock_recvmmsg(fd, s, v, n, flags, tmo));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT ssize_t
write(int fd, const void *buf, size_t n)
{
	struct vs_sock *s = sock_get(fd);
	struct iovec iov = { (void *)buf, n };

	return s ? vs_send(fd, s, &iov, 1, 0, NULL, 0) :
		   REAL(write)(fd, buf, n);
}

VS_EXPORT ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	struct vs_sock *s = sock_get(fd);

	return s ? vs_send(fd, s, iov, n, 0, NULL, 0) :
		   REAL(writev)(fd, iov, n);
}

VS_EXPORT ssize_t
sendto(int fd, const void *buf, size_t n, int flags, const struct sockaddr *sa,
       socklen_t len)
{
	struct vs_sock *s = sock_get(fd);
	struct iovec iov = { (void *)buf, n };

	if (!s && sa && !vs__in_vstack) {
		vs__in_vstack++;
		s = vs__sock_first_send(fd, sa, len);
		vs__in_vstack--;
	}
	if (!s)
		return REAL(sendto)(fd, buf, n, flags, sa, len);
	return vs_send(fd, s, &iov, 1, flags, sa, len);
}

VS_EXPORT ssize_t
send(int fd, const void *buf, size_t n, int flags)
{
	return sendto(fd, buf, n, flags, NULL, 0);
}

VS_EXPORT ssize_t
sendmsg(int fd, const struct msghdr *m, int flags)
{
	struct vs_sock *s = sock_get(fd);
	ssize_t rc;

	if (!s && m && m->msg_name && !vs__in_vstack) {
		vs__in_vstack++;
		s = vs__sock_first_send(fd, m->msg_name, m->msg_namelen);
		vs__in_vstack--;
	}
	if (!s) {
		if (m && m->msg_controllen && !vs__in_vstack)
			VS((vs__sock_scm_send(fd, m), 0));
		return REAL(sendmsg)(fd, m, flags);
	}
	rc = VS(vs__sock_sendmsg(fd, s, m, flags));
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
sendmmsg(int fd, struct mmsghdr *v, unsigned int n, int flags)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	/* An unbound UDP socket's first datagram may make it vstack's. */
	if (!s && n && v && v[0].msg_hdr.msg_name && !vs__in_vstack) {
		vs__in_vstack++;
		s = vs__sock_first_send(fd, v[0].msg_hdr.msg_name,
					v[0].msg_hdr.msg_namelen);
		vs__in_vstack--;
	}
	if (!s)
		return REAL(sendmmsg)(fd, v, n, flags);
	rc = (int)VS(vs__sock_sendmmsg(fd, s, v, n, flags));
	vs__sock_unref(s);
	return rc;
}

/* sendfile to a vstack socket: the file's bytes are read and sent;
 * what could not be sent is not taken from the file. */
VS_EXPORT ssize_t
sendfile(int out, int in, off_t *off, size_t count)
{
	struct vs_sock *s = sock_get(out);
	char buf[65536];
	size_t done = 0;

	if (!s)
		return REAL(sendfile)(out, in, off, count);
	while (done < count) {
		size_t want =
			count - done < sizeof(buf) ? count - done : sizeof(buf);
		ssize_t r = off ? REAL(pread)(in, buf, want, *off) :
				  REAL(read)(in, buf, want);
		ssize_t w;
		struct iovec iov;

		if (r <= 0) {
			if (r < 0 && !done) {
				vs__sock_unref(s);
				return -1;
			}
			break;
		}
		iov = (struct iovec){ buf, (size_t)r };
		{
			struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

			vs__in_vstack++;
			w = vs__sock_sendmsg(out, s, &m, 0);
			vs__in_vstack--;
		}
		if (w < 0) {
			if (!off)
				lseek(in, -r, SEEK_CUR);
			if (!done) {
				vs__sock_unref(s);
				return ret(w);
			}
			break;
		}
		if (off)
			*off += w;
		else if (w < r)
			lseek(in, w - r, SEEK_CUR);
		done += (size_t)w;
		if (w < r)
			break;
	}
	vs__sock_unref(s);
	return (ssize_t)done;
}

/* What programs built with 64-bit file offsets call. */
VS_EXPORT ssize_t sendfile64(int out, int in, off_t *off, size_t count);
VS_EXPORT ssize_t
sendfile64(int out, int in, off_t *off, size_t count)
{
	return sendfile(out, in, off, count);
}

/* --- fds --- */

/* fcntl on a vstack socket, held. */
static int
fcntl_sock(int fd, struct vs_sock *s, int cmd, long arg)
{
	int rc;

	switch (cmd) {
	case F_GETFL:
		rc = REAL(fcntl)(fd, cmd);
		if (rc >= 0 && !s->pending)
			rc = (rc & ~O_NONBLOCK) |
			     (atomic_load(&s->nonblock) ? O_NONBLOCK : 0);
		return rc;
	case F_SETFL:
		/* A listener's kernel socket stays non-blocking. */
		rc = REAL(fcntl)(fd, cmd,
				 s->state == VS_S_LISTEN && !s->pending ?
					 arg | O_NONBLOCK :
					 arg);
		if (rc == 0)
			atomic_store(&s->nonblock, (arg & O_NONBLOCK) != 0);
		return rc;
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		rc = REAL(fcntl)(fd, cmd, arg);
		if (rc >= 0)
			vs__sock_dup(fd, rc);
		return rc;
	default:
		return REAL(fcntl)(fd, cmd, arg);
	}
}

static int
do_fcntl(int fd, int cmd, long arg)
{
	struct vs_sock *s = sock_get(fd);
	int rc;

	if (!s) {
		rc = REAL(fcntl)(fd, cmd, arg);
		if (rc >= 0 && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) &&
		    !vs__in_vstack && vs__fd_ep(fd))
			vs__sock_dup(fd, rc);
		return rc;
	}
	rc = fcntl_sock(fd, s, cmd, arg);
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
fcntl(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

/* What programs built with 64-bit file offsets call (glibc >= 2.28). */
VS_EXPORT int fcntl64(int fd, int cmd, ...);
VS_EXPORT int
fcntl64(int fd, int cmd, ...)
{
	va_list ap;
	long arg;

	va_start(ap, cmd);
	arg = va_arg(ap, long);
	va_end(ap);
	return do_fcntl(fd, cmd, arg);
}

/* ioctl on a vstack socket, held. */
static int
ioctl_sock(int fd, struct vs_sock *s, unsigned long req, void *arg)
{
	if (req == FIONBIO && arg) {
		int on = *(int *)arg != 0;

		if (s->state != VS_S_LISTEN && REAL(ioctl)(fd, req, arg) < 0)
			return -1;
		atomic_store(&s->nonblock, on);
		return 0;
	}
	if (req == FIONREAD && arg && s->state != VS_S_LISTEN) {
		*(int *)arg = (int)vs__sock_rx_avail(s);
		return 0;
	}
	return REAL(ioctl)(fd, req, arg);
}

VS_EXPORT int
ioctl(int fd, unsigned long req, ...)
{
	struct vs_sock *s = sock_get(fd);
	va_list ap;
	void *arg;
	int rc;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!s)
		return REAL(ioctl)(fd, req, arg);
	rc = ioctl_sock(fd, s, req, arg);
	vs__sock_unref(s);
	return rc;
}

VS_EXPORT int
dup(int fd)
{
	int nfd = REAL(dup)(fd);

	if (nfd >= 0 && !vs__in_vstack)
		vs__sock_dup(fd, nfd);
	return nfd;
}

static int
dup_onto(int old, int nfd, int flags, bool three)
{
	int rc;

	if (vs__in_vstack)
		return three ? REAL(dup3)(old, nfd, flags) :
			       REAL(dup2)(old, nfd);
	if (old == nfd && !three)
		return REAL(dup2)(old, nfd);
	vs__fd_forget(nfd);
	/* The kernel closes what nfd was: so does vstack. */
	if (vs__fd_sock(nfd) || vs__fd_ep(nfd)) {
		vs__in_vstack++;
		if (vs__fd_sock(nfd))
			vs__sock_close(nfd);
		else
			vs__epoll_close(nfd);
		vs__in_vstack--;
	}
	rc = three ? REAL(dup3)(old, nfd, flags) : REAL(dup2)(old, nfd);
	if (rc >= 0)
		vs__sock_dup(old, rc);
	return rc;
}

VS_EXPORT int
dup2(int old, int nfd)
{
	return dup_onto(old, nfd, 0, false);
}

VS_EXPORT int
dup3(int old, int nfd, int flags)
{
	return dup_onto(old, nfd, flags, true);
}

/* --- signals: SA_RESTART for blocking vstack calls --- */

VS_EXPORT int
sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	static int (*real)(int, const struct sigaction *, struct sigaction *);

	if (!real)
		*(void **)&real = dlsym(RTLD_NEXT, "sigaction");
	return vs__sig_action(sig, act, old, real);
}

/* glibc's signal() has BSD semantics (SA_RESTART) and calls its own
 * sigaction internally, past the one above. */
VS_EXPORT sighandler_t
signal(int sig, sighandler_t h)
{
	struct sigaction act = { .sa_handler = h, .sa_flags = SA_RESTART }, old;

	sigemptyset(&act.sa_mask);
	sigaddset(&act.sa_mask, sig);
	if (sigaction(sig, &act, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

/* --- readiness --- */

static bool
any_vstack(const struct pollfd *fds, nfds_t n)
{
	if (vs__in_vstack)
		return false;
	for (nfds_t i = 0; i < n; i++)
		if (vs__fd_sock(fds[i].fd))
			return true;
	return false;
}

VS_EXPORT int
poll(struct pollfd *fds, nfds_t n, int timeout)
{
	if (!any_vstack(fds, n))
		return REAL(poll)(fds, n, timeout);
	return (int)VS(vs__poll(fds, n, timeout, NULL));
}

VS_EXPORT int
__poll_chk(struct pollfd *fds, nfds_t n, int timeout, size_t len)
{
	if (n > len / sizeof(*fds))
		abort();
	return poll(fds, n, timeout);
}

VS_EXPORT int
ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
      const sigset_t *mask)
{
	if (!any_vstack(fds, n))
		return REAL(ppoll)(fds, n, ts, mask);
	return (int)VS(vs__poll(
		fds, n,
		ts ? (int)(ts->tv_sec * 1000 + ts->tv_nsec / 1000000) : -1,
		mask));
}

static bool
any_vstack_set(int nfds, fd_set *r, fd_set *w, fd_set *x)
{
	if (vs__in_vstack)
		return false;
	for (int fd = 0; fd < nfds && fd < FD_SETSIZE; fd++)
		if (((r && FD_ISSET(fd, r)) || (w && FD_ISSET(fd, w)) ||
		     (x && FD_ISSET(fd, x))) &&
		    vs__fd_sock(fd))
			return true;
	return false;
}

VS_EXPORT int
select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv)
{
	if (!any_vstack_set(nfds, r, w, x))
		return REAL(select)(nfds, r, w, x, tv);
	return (int)VS(vs__select(nfds, r, w, x, tv));
}

VS_EXPORT int
pselect(int nfds, fd_set *r, fd_set *w, fd_set *x, const struct timespec *ts,
	const sigset_t *mask)
{
	struct timeval tv;
	sigset_t old;
	int rc;

	if (!any_vstack_set(nfds, r, w, x))
		return ((int (*)(int, fd_set *, fd_set *, fd_set *,
				 const struct timespec *,
				 const sigset_t *))dlsym(RTLD_NEXT, "pselect"))(
			nfds, r, w, x, ts, mask);
	if (ts)
		tv = (struct timeval){ ts->tv_sec, ts->tv_nsec / 1000 };
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &old);
	rc = select(nfds, r, w, x, ts ? &tv : NULL);
	if (mask)
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

VS_EXPORT int
epoll_create1(int flags)
{
	if (vs__in_vstack)
		return REAL(epoll_create1)(flags);
	return (int)VS(vs__epoll_create(flags));
}

VS_EXPORT int
epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return epoll_create1(0);
}

VS_EXPORT int
epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
	struct vs_ep *ep = vs__in_vstack ? NULL : vs__fd_ep(epfd);

	if (!ep)
		return REAL(epoll_ctl)(epfd, op, fd, ev);
	return (int)VS(vs__epoll_ctl(ep, epfd, op, fd, ev));
}

VS_EXPORT int
epoll_pwait(int epfd, struct epoll_event *evs, int max, int timeout,
	    const sigset_t *mask)
{
	struct vs_ep *ep = vs__in_vstack ? NULL : vs__fd_ep(epfd);

	if (!ep)
		return REAL(epoll_pwait)(epfd, evs, max, timeout, mask);
	return (int)VS(vs__epoll_wait(ep, epfd, evs, max, timeout, mask));
}

VS_EXPORT int
epoll_wait(int epfd, struct epoll_event *evs, int max, int timeout)
{
	return epoll_pwait(epfd, evs, max, timeout, NULL);
}
