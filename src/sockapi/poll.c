// SPDX-License-Identifier: MIT
/*
 * poll - epoll, poll and select over any mix of kernel and vstack fds.
 *
 * An epoll fd is the kernel's epoll instance: kernel fds go into it as
 * usual. vstack sockets are items of vstack's own, each watching its
 * socket: a readiness change marks the item pending and wakes the set's
 * waiter if it sleeps. epoll_wait reports pending items first (level-
 * triggered ones stay pending while ready), asks the kernel's instance
 * without waiting, and only when nothing is ready sleeps in poll(2) on
 * the kernel instance and the set's eventfd. A vstack listener is in
 * both: its kernel socket listens too, for loopback.
 *
 * A set that is itself watched (added to another epoll set, or given to
 * poll/select) is "shown": its eventfd joins its kernel instance, every
 * readiness change of its vstack items signals it, and each epoll_wait
 * leaves it signalled when an item is still ready; whoever asks the
 * kernel about a shown set (an outer set, poll) first brings its signal
 * up to date, so it is readable exactly as vstack's items make it. Nested sets cost a write per readiness change;
 * sets that nobody watches cost nothing.
 *
 * Must never: hold a set's lock while taking a socket's watcher lock
 * (notify takes the latter, and never the former).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/clock.h"
#include "sockapi/sock.h"

struct vs_epitem {
	_Atomic int pending; /* first: notify() sets it through the watch */
	struct vs_ep *ep;
	struct vs_sock *s;
	int fd;
	uint32_t events;
	epoll_data_t data;
	bool disabled; /* EPOLLONESHOT fired */
	struct vs_watch watch;
	struct vs_epitem *next;
};

struct vs_ep {
	pthread_mutex_t lock;
	struct vs_waiter w;
	struct vs_epitem *items;
	_Atomic int nfds; /* fds naming the set (dup) */
	_Atomic int nkernel; /* kernel fds in the kernel instance */
	/* When the kernel instance was last asked (by any thread waiting
	 * on the set: a hint, relaxed). */
	_Atomic uint64_t kernel_us;
	int *kids; /* fds of epoll sets nested in this one */
	int nkids;
};

static void ep_show(struct vs_ep *ep, int epfd);
static void ep_resignal(struct vs_ep *ep);

/* The epoll sets nested in ep, so that a wait brings their signals up to
 * date before asking the kernel. */
static void
kids_update(struct vs_ep *ep, int op, int fd)
{
	vs__mutex_lock(&ep->lock);
	if (op == EPOLL_CTL_ADD) {
		int *k =
			realloc(ep->kids, sizeof(*k) * (size_t)(ep->nkids + 1));

		if (k) {
			ep->kids = k;
			ep->kids[ep->nkids++] = fd;
		}
	} else if (op == EPOLL_CTL_DEL) {
		for (int i = 0; i < ep->nkids; i++)
			if (ep->kids[i] == fd)
				ep->kids[i--] = ep->kids[--ep->nkids];
	}
	vs__mutex_unlock(&ep->lock);
}

static void
kids_resignal(struct vs_ep *ep)
{
	for (int i = 0;; i++) {
		struct vs_ep *kid = NULL;
		int n;

		vs__mutex_lock(&ep->lock);
		n = ep->nkids;
		if (i < n)
			kid = vs__fd_ep(ep->kids[i]);
		vs__mutex_unlock(&ep->lock);
		if (i >= n)
			return;
		if (kid && kid != ep)
			ep_resignal(kid);
	}
}

static struct vs_ep *
ep_new(void)
{
	struct vs_ep *ep = calloc(1, sizeof(*ep));

	if (!ep)
		return NULL;
	pthread_mutex_init(&ep->lock, NULL);
	atomic_init(&ep->nfds, 1);
	vs__in_vstack++;
	ep->w.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	vs__in_vstack--;
	if (ep->w.efd < 0) {
		free(ep);
		return NULL;
	}
	vs__fd_mark_internal(ep->w.efd);
	return ep;
}

/* Every epoll fd gets its vstack half at creation: a vstack socket may
 * be added to any set. */
int
vs__epoll_create(int flags)
{
	int fd = vs__real.epoll_create1(flags);
	struct vs_ep *ep;

	if (fd < 0)
		return -errno;
	ep = ep_new();
	if (!ep || vs__fd_set_ep(fd, ep)) {
		free(ep);
		vs__real.close(fd);
		return -ENOMEM;
	}
	return fd;
}

static struct vs_epitem *
item_find(struct vs_ep *ep, int fd, struct vs_epitem ***prev)
{
	struct vs_epitem **p = &ep->items;

	for (; *p; p = &(*p)->next)
		if ((*p)->fd == fd) {
			if (prev)
				*prev = p;
			return *p;
		}
	return NULL;
}

static void
item_free(struct vs_epitem *it)
{
	vs__watch_del(it->s, &it->watch);
	free(it);
}

static int
ep_ctl(struct vs_ep *ep, int epfd, int op, int fd, struct epoll_event *ev,
       struct vs_sock *s)
{
	struct vs_epitem *it, **prev;

	if (s && s->pending && !vs__sock_activate(fd, s))
		s = NULL;
	if (!s) { /* the kernel's fd: the kernel's instance */
		struct vs_ep *inner = vs__fd_ep(fd);
		int rc;

		if (inner && op == EPOLL_CTL_ADD)
			ep_show(inner, fd);
		rc = vs__real.epoll_ctl(epfd, op, fd, ev);
		if (!rc && inner)
			kids_update(ep, op, fd);

		if (rc < 0)
			return -errno;
		if (op == EPOLL_CTL_ADD)
			atomic_fetch_add(&ep->nkernel, 1);
		else if (op == EPOLL_CTL_DEL)
			atomic_fetch_sub(&ep->nkernel, 1);
		return 0;
	}
	if (op != EPOLL_CTL_DEL && !ev)
		return -EFAULT;
	if (fd == epfd)
		return -EINVAL;
	/* A listener's (a bound UDP socket's) kernel half listens
	 * (receives) too: the kernel watches it. */
	if (s->kernel_too) {
		if (vs__real.epoll_ctl(epfd, op, fd, ev) < 0)
			return -errno;
		if (op == EPOLL_CTL_ADD)
			atomic_fetch_add(&ep->nkernel, 1);
		else if (op == EPOLL_CTL_DEL)
			atomic_fetch_sub(&ep->nkernel, 1);
	}
	switch (op) {
	case EPOLL_CTL_ADD:
		vs__mutex_lock(&ep->lock);
		it = item_find(ep, fd, NULL);
		vs__mutex_unlock(&ep->lock);
		if (it)
			return -EEXIST;
		it = calloc(1, sizeof(*it));
		if (!it)
			return -ENOMEM;
		it->ep = ep;
		it->s = s;
		it->fd = fd;
		it->events = ev->events;
		it->data = ev->data;
		it->watch.w = &ep->w;
		it->watch.item = it;
		atomic_store(&it->pending, 1);
		vs__watch_add(s, &it->watch);
		vs__mutex_lock(&ep->lock);
		/* Looked at again where it counts: another thread's ADD of
		 * the same fd may have come in between (one of two wins, as
		 * in the kernel). */
		if (item_find(ep, fd, NULL)) {
			vs__mutex_unlock(&ep->lock);
			item_free(it);
			return -EEXIST;
		}
		it->next = ep->items;
		ep->items = it;
		vs__mutex_unlock(&ep->lock);
		return 0;
	case EPOLL_CTL_MOD:
		vs__mutex_lock(&ep->lock);
		it = item_find(ep, fd, NULL);
		if (it) {
			it->events = ev->events;
			it->data = ev->data;
			it->disabled = false;
			atomic_store(&it->pending, 1);
		}
		vs__mutex_unlock(&ep->lock);
		return it ? 0 : -ENOENT;
	case EPOLL_CTL_DEL:
		vs__mutex_lock(&ep->lock);
		it = item_find(ep, fd, &prev);
		if (it)
			*prev = it->next;
		vs__mutex_unlock(&ep->lock);
		if (!it)
			return -ENOENT;
		item_free(it);
		return 0;
	default:
		return -EINVAL;
	}
}

int
vs__epoll_ctl(struct vs_ep *ep, int epfd, int op, int fd,
	      struct epoll_event *ev)
{
	struct vs_sock *s =
		op == EPOLL_CTL_DEL ? vs__sock_get(fd) : vs__sock_use(fd);
	int rc = ep_ctl(ep, epfd, op, fd, ev, s);

	if (s)
		vs__sock_unref(s);
	return rc;
}

/*
 * The socket's last fd closed: it leaves every set (the kernel does
 * the same for its own fds). Whoever unlinks an item from its set frees
 * it. An item on s's watch list is alive, and so is its set, while
 * s->wlock is held (a set frees an item only after vs__watch_del, and
 * itself only after its items); the set's lock is then only tried, as
 * the order elsewhere is set, then socket. An item not in its set is an
 * EPOLL_CTL_DEL's (or an ADD's that lost a race) on another thread,
 * which frees it soon; the loop waits for that rather than free it
 * twice (or read it once it is freed: sockapi.close_races under ASan).
 */
void
vs__epoll_forget(struct vs_sock *s)
{
	for (;;) {
		struct vs_epitem *it = NULL, **p;
		struct vs_watch **wp;
		bool mine = false;

		vs__mutex_lock(&s->wlock);
		for (wp = &s->watch; *wp && !(*wp)->item; wp = &(*wp)->next)
			;
		if (!*wp) {
			vs__mutex_unlock(&s->wlock);
			return;
		}
		it = (*wp)->item;
		if (!vs__mutex_trylock(&it->ep->lock)) {
			for (p = &it->ep->items; *p && *p != it;
			     p = &(*p)->next)
				;
			mine = *p != NULL;
			if (mine) {
				*p = it->next;
				*wp = it->watch.next;
			}
			vs__mutex_unlock(&it->ep->lock);
		}
		vs__mutex_unlock(&s->wlock);
		if (mine)
			free(it);
		else
			sched_yield();
	}
}

/* vstack's ready items into evs (at most max); under ep->lock. */
static int
collect(struct vs_ep *ep, struct epoll_event *evs, int max)
{
	int n = 0;

	for (struct vs_epitem *it = ep->items; it && n < max; it = it->next) {
		uint32_t ev;

		/* Take the mark before reading the socket's readiness: a
		 * notify() after the read marks it again. (Reading first and
		 * clearing after lost an arrival in between: the connection
		 * slept until its next segment; issue 28.) */
		if (it->disabled || !atomic_exchange(&it->pending, 0))
			continue;
		ev = vs__sock_events(it->s) &
		     (it->events | EPOLLERR | EPOLLHUP);
		if (!ev)
			continue;
		evs[n].events = ev;
		evs[n].data = it->data;
		n++;
		if (it->events & EPOLLONESHOT)
			it->disabled = true;
		else if (!(it->events & EPOLLET))
			atomic_store(&it->pending, 1); /* level: while ready */
	}
	return n;
}

static bool
any_pending(struct vs_ep *ep)
{
	bool p = false;

	vs__mutex_lock(&ep->lock);
	for (struct vs_epitem *it = ep->items; it && !p; it = it->next)
		p = !it->disabled && atomic_load(&it->pending) &&
		    (vs__sock_events(it->s) &
		     (it->events | EPOLLERR | EPOLLHUP));
	vs__mutex_unlock(&ep->lock);
	return p;
}

/* A shown set's eventfd: signalled iff a vstack item is ready. A
 * notify() racing with this sets its item pending first, then signals. */
static void
ep_resignal(struct vs_ep *ep)
{
	uint64_t v = 1;

	if (!atomic_load(&ep->w.shown))
		return;
	if (vs__real.read(ep->w.efd, &v, sizeof(v)) < 0)
		v = 0;
	v = 1;
	if (any_pending(ep) && vs__real.write(ep->w.efd, &v, sizeof(v)) < 0)
		return;
}

/* Drops the shown set's own eventfd from what its kernel instance
 * reported (its events are vstack's, already collected). */
static int
drop_own(struct vs_ep *ep, struct epoll_event *evs, int n)
{
	int m = 0;

	for (int i = 0; i < n; i++)
		if (evs[i].data.ptr != ep)
			evs[m++] = evs[i];
	return m;
}

/* The set is watched by another set or by poll: let the kernel see
 * its readiness (see the top of this file). */
static void
ep_show(struct vs_ep *ep, int epfd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = ep };
	bool was = false;

	if (!atomic_compare_exchange_strong(&ep->w.shown, &was, true))
		return;
	if (vs__real.epoll_ctl(epfd, EPOLL_CTL_ADD, ep->w.efd, &ev) < 0) {
		atomic_store(&ep->w.shown, false);
		return;
	}
	ep_resignal(ep);
}

/* How often the kernel's instance is asked while vstack has events or
 * keeps finding work before a sleep: once a millisecond, so kernel fds
 * are not starved and a busy vstack set makes almost no syscall. */
#define KERNEL_EVERY_US 1000

int
vs__epoll_wait(struct vs_ep *ep, int epfd, struct epoll_event *evs, int max,
	       int timeout_ms, const sigset_t *mask)
{
	uint64_t end = timeout_ms > 0 ? vs__now_ms() + (uint64_t)timeout_ms : 0;
	bool kernel_ready = false;

	if (max <= 0)
		return -EINVAL;
	vs__sig_clear();
	/* A pass first, even when events are waiting: a program that keeps
	 * returning here drives the engines and their threads yield. */
	vs__sock_poll_engines();
	for (;;) {
		struct pollfd k[2] = { { .fd = epfd, .events = POLLIN } };
		int n, left = timeout_ms < 0 ? -1 : 0, rc;
		uint64_t now, spin_end;

		vs__mutex_lock(&ep->lock);
		n = collect(ep, evs, max);
		vs__mutex_unlock(&ep->lock);
		/* Nothing yet: poll vstack's sockets for spin_us before asking
		 * the kernel and sleeping; under load the next event comes
		 * sooner than a sleep and a wake-up would take. */
		now = vs__now_us();
		spin_end = timeout_ms ? now + vs__spin_us() : now;
		while (!n && now < spin_end) {
			/* Only the thread that drives an engine spins: the
			 * others would take cores from it (and from the
			 * program's busy threads) to learn what its wake-up
			 * tells them. */
			if (!vs__sock_poll_engines())
				break;
			vs__mutex_lock(&ep->lock);
			n = collect(ep, evs, max);
			vs__mutex_unlock(&ep->lock);
			now = vs__now_us();
		}
		/* The kernel's instance is asked when its fd showed
		 * something, before an answer of nothing, and once a
		 * millisecond; not each time round before a sleep: the
		 * sleep watches its fd (memcached -t 4: an epoll_pwait per
		 * request, for a notify pipe that is idle). */
		if (n < max && (atomic_load(&ep->nkernel) || kernel_ready) &&
		    (kernel_ready ||
		     (!n && (!timeout_ms || (end && now / 1000 >= end))) ||
		     now - atomic_load_explicit(&ep->kernel_us,
						memory_order_relaxed) >=
			     KERNEL_EVERY_US)) {
			kernel_ready = false;
			atomic_store_explicit(&ep->kernel_us, now,
					      memory_order_relaxed);
			if (ep->nkids)
				kids_resignal(ep);
			rc = vs__real.epoll_pwait(epfd, evs + n, max - n, 0,
						  NULL);
			if (rc > 0)
				n += atomic_load(&ep->w.shown) ?
					     drop_own(ep, evs + n, rc) :
					     rc;
		}
		if (n || timeout_ms == 0) {
			ep_resignal(ep);
			return n;
		}
		if (end) {
			uint64_t ms = now / 1000;

			if (ms >= end) {
				ep_resignal(ep);
				return 0;
			}
			left = (int)(end - ms);
		}
		/* Say we sleep, then look once more: notify() either saw
		 * us armed or set its item pending before we looked. */
		atomic_store(&ep->w.armed, 1);
		if (any_pending(ep)) {
			atomic_store(&ep->w.armed, 0);
			continue;
		}
		rc = vs__waiter_sleep_sig(&ep->w, k, 1, left, mask);
		if (rc == -EINTR) {
			ep_resignal(ep);
			return -EINTR;
		}
		/* The kernel's instance has something: ask it next time
		 * round, whatever nkernel says. */
		kernel_ready = k[0].revents != 0;
	}
}

int
vs__epoll_close(int fd)
{
	vs__epoll_drop(fd);
	return vs__real.close(fd) < 0 ? -errno : 0;
}

void
vs__epoll_drop(int fd)
{
	struct vs_ep *ep = vs__fd_ep(fd);

	if (ep) {
		vs__fd_set_ep(fd, NULL);
		if (atomic_fetch_sub(&ep->nfds, 1) != 1)
			return;
		vs__mutex_lock(&ep->lock);
		while (ep->items) {
			struct vs_epitem *it = ep->items;

			ep->items = it->next;
			item_free(it);
		}
		vs__mutex_unlock(&ep->lock);
		vs__real.close(ep->w.efd);
		free(ep->kids);
		free(ep);
	}
}

int
vs__epoll_dup(struct vs_ep *ep, int newfd)
{
	atomic_fetch_add(&ep->nfds, 1);
	return vs__fd_set_ep(newfd, ep);
}

/* --- poll and select --- */

/* Does one of the vstack sockets among fds (on[i], held) show what it
 * waits for? */
static bool
vs_ready(const struct pollfd *fds, struct vs_sock *const *on, nfds_t n)
{
	for (nfds_t i = 0; i < n; i++)
		if (on[i] && (vs__sock_events(on[i]) &
			      ((uint32_t)fds[i].events | POLLERR | POLLHUP)))
			return true;
	return false;
}

/* Up to this many fds, poll's arrays live on the stack (a server's poll
 * loop allocates nothing). */
#define POLL_STACK 64

int
vs__poll(struct pollfd *fds, nfds_t n, int timeout_ms, const sigset_t *mask)
{
	struct vs_waiter *w = vs__thread_waiter();
	struct pollfd k_stack[POLL_STACK + 1];
	struct vs_watch watch_stack[POLL_STACK];
	struct vs_sock *on_stack[POLL_STACK];
	bool heap = n > POLL_STACK;
	struct pollfd *k = heap ? calloc(n + 1, sizeof(*k)) : k_stack;
	struct vs_watch *watch = heap ? calloc(n, sizeof(*watch)) : watch_stack;
	/* The socket of each fd, held for the whole call, looked up once:
	 * a close of its fd meanwhile must not leave a watch linked to it. */
	struct vs_sock **on = heap ? calloc(n, sizeof(*on)) : on_stack;
	uint64_t end = timeout_ms > 0 ? vs__now_ms() + (uint64_t)timeout_ms : 0;
	bool watching = false, spun = false;
	nfds_t nk = 0, nv = 0, nep = 0; /* kernel fds, vstack's, epoll sets */
	int rc;

	if (!k || !watch || !on || w->efd < 0) {
		if (heap) {
			free(k);
			free(watch);
			free(on);
		}
		return -ENOMEM;
	}
	vs__sig_clear();
	/* The kernel's fds, with vstack's replaced by -1 (ignored). */
	for (nfds_t i = 0; i < n; i++) {
		int kind = vs__fd_kind(fds[i].fd); /* most are the kernel's */
		struct vs_sock *s =
			kind == VS_FD_SOCK ? vs__sock_use(fds[i].fd) : NULL;
		struct vs_ep *ep =
			kind == VS_FD_EPOLL ? vs__fd_ep(fds[i].fd) : NULL;

		k[i] = fds[i];
		watch[i] = (struct vs_watch){ .w = w };
		if (ep) {
			ep_show(ep, fds[i].fd);
			nep++;
		}
		if (s && s->pending && !vs__sock_activate(fds[i].fd, s)) {
			vs__sock_unref(s);
			s = NULL;
		}
		on[i] = s;
		/* A listener's or bound UDP socket's kernel half is polled
		 * too (loopback); a connection's kernel socket is not. */
		if (s && !s->kernel_too)
			k[i].fd = -1;
		nk += k[i].fd >= 0;
		nv += s != NULL;
	}
	for (;;) {
		int ready = 0, left = timeout_ms < 0 ? -1 : 0;

		atomic_store(&w->armed, 1);
		for (nfds_t i = 0; nep && i < n; i++)
			if (!on[i] && vs__fd_ep(fds[i].fd))
				ep_resignal(vs__fd_ep(fds[i].fd));
		if (nk && vs__real.poll(k, n, 0) < 0) {
			rc = -errno;
			break;
		}
		for (nfds_t i = 0; i < n; i++) {
			fds[i].revents = k[i].fd >= 0 ? k[i].revents : 0;
			if (on[i])
				fds[i].revents |=
					(short)(vs__sock_events(on[i]) &
						((uint32_t)fds[i].events |
						 POLLERR | POLLHUP));
			ready += fds[i].revents != 0;
		}
		if (ready || timeout_ms == 0) {
			rc = ready;
			break;
		}
		if (end) {
			uint64_t now = vs__now_ms();

			if (now >= end) {
				rc = 0;
				break;
			}
			left = (int)(end - now);
		}
		/* Poll vstack's sockets for spin_us first, driving the
		 * engines, as epoll_wait does. */
		if (!spun && nv) {
			uint64_t spin_end = vs__now_us() + vs__spin_us();

			spun = true;
			while (vs__now_us() < spin_end && !vs_ready(fds, on, n))
				if (!vs__sock_poll_engines())
					break; /* as epoll_wait */
			continue;
		}
		if (!watching) {
			for (nfds_t i = 0; i < n; i++)
				if (on[i])
					vs__watch_add(on[i], &watch[i]);
			watching = true;
			continue; /* look again, watched */
		}
		rc = vs__waiter_sleep_sig(w, k, n, left, mask);
		if (rc == -EINTR)
			break;
	}
	atomic_store(&w->armed, 0);
	for (nfds_t i = 0; i < n; i++)
		if (on[i]) {
			if (watching)
				vs__watch_del(on[i], &watch[i]);
			vs__sock_unref(on[i]);
		}
	if (heap) {
		free(k);
		free(watch);
		free(on);
	}
	return rc;
}

int
vs__select(int nfds, fd_set *r, fd_set *wr, fd_set *x, struct timeval *tv)
{
	struct pollfd p[FD_SETSIZE];
	nfds_t n = 0;
	int rc, timeout =
			tv ? (int)(tv->tv_sec * 1000 + tv->tv_usec / 1000) : -1;

	if (nfds < 0 || nfds > FD_SETSIZE)
		return -EINVAL;
	for (int fd = 0; fd < nfds; fd++) {
		short ev = 0;

		if (r && FD_ISSET(fd, r))
			ev |= POLLIN;
		if (wr && FD_ISSET(fd, wr))
			ev |= POLLOUT;
		if (x && FD_ISSET(fd, x))
			ev |= POLLPRI;
		if (ev)
			p[n++] = (struct pollfd){ .fd = fd, .events = ev };
	}
	rc = vs__poll(p, n, timeout, NULL);
	if (rc < 0)
		return rc;
	if (r)
		FD_ZERO(r);
	if (wr)
		FD_ZERO(wr);
	if (x)
		FD_ZERO(x);
	rc = 0;
	for (nfds_t i = 0; i < n; i++) {
		short re = p[i].revents;

		if (re & POLLNVAL)
			return -EBADF;
		if (r && (re & (POLLIN | POLLHUP | POLLERR)) &&
		    (p[i].events & POLLIN)) {
			FD_SET(p[i].fd, r);
			rc++;
		}
		if (wr && (re & (POLLOUT | POLLERR)) &&
		    (p[i].events & POLLOUT)) {
			FD_SET(p[i].fd, wr);
			rc++;
		}
		if (x && (re & POLLPRI)) {
			FD_SET(p[i].fd, x);
			rc++;
		}
	}
	if (tv)
		*tv = (struct timeval){ 0 };
	return rc;
}
