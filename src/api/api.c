// SPDX-License-Identifier: MIT
/*
 * api - the native API (include/vstack.h) over the engines.
 *
 * Owns: the stack (its port and one engine per context), the public
 * objects wrapping the engine's connections and UDP sockets, the chains
 * handed to the program, registered memory, timers and shared listeners.
 *
 * A connection object outlives its engine connection while the program
 * still holds chains of it (each holds a reference); the engine
 * connection goes at `closed`. Zero-copy sends are completed in order
 * from the engine's `sent` byte counts: each remembers the stream offset
 * at which it ends.
 *
 * Must never: call back after `closed`; touch a context from another
 * thread than the one running it (vs_ctx_call hands work over); copy
 * received data.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "vstack.h"
#include "base/compiler.h"
#include "base/config.h"
#include "base/log.h"
#include "base/self.h"
#include "rt/runtime.h"
#include "stack/addr.h"
#include "stack/engine.h"
#include "stack/tcp.h"
#include "stack/udp.h"

extern char **environ;

struct vs_mem {
	struct vs_stack *st;
	uint8_t *addr;
	size_t len;
	_Atomic unsigned busy; /* zero-copy sends not yet complete */
	struct vs_mem *next;
};

struct shared_listen {
	struct sockaddr_storage addr;
	unsigned listening;
	struct vs_tcp_rule
		*rule; /* shared with the listeners and their connections */
};

struct api_timer {
	struct vs_ctx *c;
	void (*fn)(struct vs_ctx *c, void *arg);
	void *arg;
	struct api_timer *next;
};

struct vs_chain {
	struct pbuf *p;
	struct vs_ctx *c;
	struct vs_conn *conn; /* NULL: a datagram */
	size_t len;
	struct vs_chain *next; /* free list */
};

struct vs_ctx {
	struct vs_engine e;
	struct vs_stack *st;
	unsigned idx;
	int epfd;
	_Atomic bool stop;
	struct vs_chain *free_chains;
	uint64_t held; /* chains the program holds */
	struct api_timer *timers;
	vs_raw_hook hook;
	void *hook_arg;
	struct vs_rule_handle *all[2];
};

struct vs_stack {
	struct vs_port *port;
	struct vs_config cfg;
	unsigned n;
	struct vs_ctx *ctx;
	bool threads;
	pthread_mutex_t lock; /* listens, mems */
	struct shared_listen *sl;
	unsigned nsl;
	struct vs_mem *mems;
	struct vs_runtime rt; /* the port, the contexts' engines, the view */
};

struct zc_send {
	uint64_t end; /* stream offset just past it */
	void *cookie;
	struct vs_mem *m;
};

struct vs_conn {
	struct vs_tcp *t; /* NULL once the engine let go */
	struct vs_ctx *c;
	const struct vs_conn_ops *ops;
	void *user;
	unsigned refs; /* the engine connection's, one per chain held */
	bool listener, shared, want_write, closed;
	struct sockaddr_storage laddr; /* a listener's */
	uint64_t queued, acked;
	struct zc_send *zc;
	unsigned zc_head, zc_n, zc_cap;
};

struct vs_dgram {
	struct vs_udp *u;
	struct vs_ctx *c;
	const struct vs_dgram_ops *ops;
	void *user;
};

/* --- chains --- */

static struct vs_chain *
chain_get(struct vs_ctx *c, struct pbuf *p, struct vs_conn *conn)
{
	struct vs_chain *ch = c->free_chains;

	if (ch)
		c->free_chains = ch->next;
	else if (!(ch = malloc(sizeof(*ch))))
		return NULL;
	ch->p = p;
	ch->c = c;
	ch->conn = conn;
	ch->len = p->tot_len;
	c->held++;
	return ch;
}

static void conn_put(struct vs_conn *k);

VS_EXPORT size_t
vs_chain_len(const struct vs_chain *ch)
{
	return ch->len;
}

VS_EXPORT int
vs_chain_iov(const struct vs_chain *ch, struct iovec *iov, int max)
{
	int n = 0;

	for (struct pbuf *q = ch->p; q; q = q->next, n++)
		if (n < max)
			iov[n] = (struct iovec){ q->payload, q->len };
	return n;
}

VS_EXPORT size_t
vs_chain_copy(const struct vs_chain *ch, size_t off, void *dst, size_t len)
{
	if (off >= ch->len)
		return 0;
	if (len > ch->len - off)
		len = ch->len - off;
	return ch->c->e.lw.pbuf_copy_partial(ch->p, dst, (u16_t)len,
					     (u16_t)off);
}

VS_EXPORT void
vs_chain_release(struct vs_chain *ch)
{
	struct vs_ctx *c = ch->c;

	if (!ch->p) { /* on the free list: released before */
		vs_err("vs_chain_release: chain %p released twice; ignored",
		       (void *)ch);
		return;
	}
	if (ch->conn) {
		if (ch->conn->t)
			vs__tcp_consumed(ch->conn->t, ch->len);
		conn_put(ch->conn);
	}
	c->e.lw.pbuf_free(ch->p);
	ch->p = NULL;
	ch->next = c->free_chains;
	c->free_chains = ch;
	c->held--;
}

/* --- connections --- */

static void
conn_put(struct vs_conn *k)
{
	if (--k->refs == 0) {
		free(k->zc);
		free(k);
	}
}

static struct vs_conn *
conn_new(struct vs_ctx *c, const struct vs_conn_ops *ops, void *user)
{
	struct vs_conn *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->c = c;
	k->ops = ops;
	k->user = user;
	k->refs = 1;
	return k;
}

/* Zero-copy sends whose bytes are acknowledged (all of them: the
 * connection ended and the stack let go of their memory). */
static void
zc_complete(struct vs_conn *k, bool all)
{
	while (k->zc_n && (all || k->zc[k->zc_head].end <= k->acked)) {
		struct zc_send z = k->zc[k->zc_head];

		k->zc_head = (k->zc_head + 1) % k->zc_cap;
		k->zc_n--;
		atomic_fetch_sub(&z.m->busy, 1);
		if (k->ops && k->ops->sent && !k->closed)
			k->ops->sent(k, z.cookie);
	}
}

static const struct vs_tcp_ops tcp_ops;

static void
on_accepted(struct vs_tcp *l, struct vs_tcp *t)
{
	struct vs_conn *lk = vs__tcp_user(l);
	struct vs_conn *k = conn_new(lk->c, lk->ops, lk->user);

	if (!k) {
		vs__tcp_abort(t);
		return;
	}
	k->t = t;
	vs__tcp_set_ops(t, &tcp_ops, k);
	vs__tcp_set_nodelay(t, true);
	if (lk->ops && lk->ops->accepted)
		lk->ops->accepted(lk, k);
}

static void
on_connected(struct vs_tcp *t, int err)
{
	struct vs_conn *k = vs__tcp_user(t);

	if (err) {
		k->t = NULL;
		k->closed = true;
		if (k->ops && k->ops->connected)
			k->ops->connected(k, err);
		conn_put(k);
		return;
	}
	vs__tcp_set_nodelay(t, true);
	if (k->ops && k->ops->connected)
		k->ops->connected(k, 0);
}

static void
on_received(struct vs_tcp *t, struct pbuf *p)
{
	struct vs_conn *k = vs__tcp_user(t);
	struct vs_chain *ch;

	if (!p) {
		if (k->ops && k->ops->received)
			k->ops->received(k, NULL);
		return;
	}
	if (!k->ops || !k->ops->received || !(ch = chain_get(k->c, p, k))) {
		vs__tcp_consumed(t, p->tot_len);
		k->c->e.lw.pbuf_free(p);
		return;
	}
	k->refs++;
	vs__netif_delivered(&k->c->e.nif, p);
	k->ops->received(k, ch);
}

static void
on_sent(struct vs_tcp *t, size_t len)
{
	struct vs_conn *k = vs__tcp_user(t);

	k->refs++; /* a `sent` that aborts the connection closes it here */
	k->acked += len;
	zc_complete(k, false);
	if (k->want_write && k->t && vs__tcp_send_space(k->t) > 0) {
		k->want_write = false;
		if (k->ops && k->ops->writable)
			k->ops->writable(k);
	}
	conn_put(k);
}

static void
on_closed(struct vs_tcp *t, int err)
{
	struct vs_conn *k = vs__tcp_user(t);

	k->t = NULL;
	zc_complete(k, true);
	if (!k->closed) {
		k->closed = true;
		if (k->ops && k->ops->closed)
			k->ops->closed(k, err);
	}
	conn_put(k);
}

static const struct vs_tcp_ops tcp_ops = {
	.accepted = on_accepted,
	.connected = on_connected,
	.received = on_received,
	.sent = on_sent,
	.closed = on_closed,
};

/* An address argument and an out pointer: 0, -EINVAL (missing) or
 * -EAFNOSUPPORT (not IPv4 or IPv6). */
static int
sa_check(const struct sockaddr *sa, const void *out)
{
	if (!sa || !out)
		return -EINVAL;
	return sa->sa_family == AF_INET || sa->sa_family == AF_INET6 ?
		       0 :
		       -EAFNOSUPPORT;
}

/* A listener's address as a key: family, address and port only (not
 * the padding or IPv6's flow label and scope a caller may leave set). */
static struct sockaddr_storage
listen_key(const struct sockaddr *addr)
{
	struct sockaddr_storage k;
	ip_addr_t ip = vs__ip_of(addr);

	vs__sa_of_ip(&ip, vs__sa_port(addr), &k);
	return k;
}

static struct shared_listen *
shared_find(struct vs_stack *st, const struct sockaddr *addr, bool add)
{
	struct sockaddr_storage key = listen_key(addr);
	struct shared_listen *n;

	for (unsigned i = 0; i < st->nsl; i++)
		if (!memcmp(&st->sl[i].addr, &key, sizeof(key)))
			return &st->sl[i];
	if (!add || !(n = realloc(st->sl, sizeof(*n) * (st->nsl + 1))))
		return NULL;
	st->sl = n;
	n = &st->sl[st->nsl++];
	memset(n, 0, sizeof(*n));
	n->addr = key;
	return n;
}

VS_EXPORT int
vs_listen(struct vs_ctx *c, const struct sockaddr *addr, int backlog,
	  unsigned flags, const struct vs_conn_ops *ops, void *user,
	  struct vs_conn **out)
{
	struct vs_conn *k;
	struct vs_tcp *t;
	int rc;

	rc = sa_check(addr, out);
	if (rc || (flags & ~VS_LISTEN_SHARED))
		return rc ? rc : -EINVAL;
	k = conn_new(c, ops, user);
	if (!k)
		return -ENOMEM;
	k->listener = true;
	k->shared = flags & VS_LISTEN_SHARED;
	memcpy(&k->laddr, addr, vs__sa_len(addr->sa_family));
	rc = vs__tcp_listen(&c->e, addr, backlog, k->shared ? VS_TCP_SHARED : 0,
			    &tcp_ops, k, &t);
	if (rc) {
		free(k);
		return rc;
	}
	k->t = t;
	if (k->shared) {
		struct vs_stack *st = c->st;
		struct shared_listen *sl;

		pthread_mutex_lock(&st->lock);
		sl = shared_find(st, addr, true);
		if (sl && !sl->rule)
			sl->rule = vs__tcp_rule_new(st->port);
		rc = !sl || !sl->rule ? -ENOMEM : 0;
		if (!rc) {
			vs__tcp_listen_rule(t, sl->rule);
			rc = ++sl->listening == st->n ?
				     vs__tcp_listen_steer(sl->rule, addr) :
				     0;
			if (rc)
				sl->listening--;
		}
		pthread_mutex_unlock(&st->lock);
		if (rc) {
			vs__tcp_close(t);
			free(k);
			return rc;
		}
	}
	*out = k;
	return 0;
}

VS_EXPORT int
vs_connect(struct vs_ctx *c, const struct sockaddr *dst,
	   const struct vs_conn_ops *ops, void *user, struct vs_conn **out)
{
	struct vs_conn *k;
	int rc;

	rc = sa_check(dst, out);
	if (rc)
		return rc;
	k = conn_new(c, ops, user);
	if (!k)
		return -ENOMEM;
	rc = vs__tcp_connect(&c->e, dst, &tcp_ops, k, &k->t);
	if (rc) {
		free(k);
		return rc;
	}
	*out = k;
	return 0;
}

VS_EXPORT void
vs_conn_set_ops(struct vs_conn *k, const struct vs_conn_ops *ops, void *user)
{
	k->ops = ops;
	k->user = user;
}

VS_EXPORT void *
vs_conn_user(const struct vs_conn *k)
{
	return k->user;
}

VS_EXPORT struct vs_ctx *
vs_conn_ctx(const struct vs_conn *k)
{
	return k->c;
}

VS_EXPORT int
vs_conn_addrs(const struct vs_conn *k, struct sockaddr_storage *local,
	      struct sockaddr_storage *peer)
{
	struct vs_tcp_info in;

	if (!k->t)
		return -ENOTCONN;
	vs__tcp_info(k->t, &in);
	if (local)
		*local = k->listener ? k->laddr : in.local;
	if (peer)
		*peer = in.peer;
	return 0;
}

VS_EXPORT ssize_t
vs_send(struct vs_conn *k, const void *data, size_t len)
{
	ssize_t n;

	if (!k->t || k->listener || k->closed)
		return -ENOTCONN;
	n = vs__tcp_send(k->t, data, len);
	if (n < 0)
		return n;
	k->queued += (size_t)n;
	if ((size_t)n < len)
		k->want_write = true;
	return n;
}

static struct vs_mem *
mem_of(struct vs_stack *st, const void *data, size_t len)
{
	struct vs_mem *m;
	const uint8_t *d = data;

	pthread_mutex_lock(&st->lock);
	for (m = st->mems; m; m = m->next)
		if (d >= m->addr && len <= m->len &&
		    (size_t)(d - m->addr) <= m->len - len)
			break;
	pthread_mutex_unlock(&st->lock);
	return m;
}

VS_EXPORT int
vs_send_zc(struct vs_conn *k, const void *data, size_t len, void *cookie)
{
	struct vs_mem *m;

	if (!k->t || k->listener || k->closed)
		return -ENOTCONN;
	if (!len || len > 0xffff)
		return len ? -EMSGSIZE : -EINVAL;
	if (!(m = mem_of(k->c->st, data, len)))
		return -EFAULT;
	if (k->zc_n == k->zc_cap) {
		unsigned cap = k->zc_cap ? k->zc_cap * 2 : 16;
		struct zc_send *z = malloc(sizeof(*z) * cap);

		if (!z)
			return -ENOMEM;
		for (unsigned i = 0; i < k->zc_n; i++)
			z[i] = k->zc[(k->zc_head + i) % k->zc_cap];
		free(k->zc);
		k->zc = z;
		k->zc_head = 0;
		k->zc_cap = cap;
	}
	/* All or nothing: lwIP takes a piece of up to 64 KiB whole or not. */
	if (vs__tcp_send_space(k->t) < len ||
	    vs__tcp_write_ref(k->t, data, len) != (ssize_t)len) {
		k->want_write = true;
		return -EAGAIN;
	}
	vs__tcp_output(k->t);
	k->queued += len;
	k->zc[(k->zc_head + k->zc_n++) % k->zc_cap] =
		(struct zc_send){ k->queued, cookie, m };
	atomic_fetch_add(&m->busy, 1);
	return 0;
}

VS_EXPORT void
vs_nodelay(struct vs_conn *k, bool on)
{
	if (k->t && !k->listener)
		vs__tcp_set_nodelay(k->t, on);
}

VS_EXPORT void
vs_keepalive(struct vs_conn *k, bool on, unsigned idle_s, unsigned intvl_s,
	     unsigned cnt)
{
	if (k->t && !k->listener)
		vs__tcp_set_keepalive(k->t, on, idle_s, intvl_s, cnt);
}

VS_EXPORT int
vs_shutdown(struct vs_conn *k)
{
	if (!k->t || k->listener || k->closed)
		return -ENOTCONN;
	return vs__tcp_shutdown(k->t);
}

static void
listener_unshare(struct vs_conn *k)
{
	struct vs_stack *st = k->c->st;
	struct shared_listen *sl;

	pthread_mutex_lock(&st->lock);
	sl = shared_find(st, (struct sockaddr *)&k->laddr, false);
	if (sl) {
		/* One context fewer: the rule goes with the last listener
		 * and the last connection they accepted. */
		vs__tcp_rule_put(sl->rule);
		sl->rule = NULL;
		sl->listening--;
	}
	pthread_mutex_unlock(&st->lock);
}

VS_EXPORT void
vs_close(struct vs_conn *k)
{
	if (k->listener && k->shared)
		listener_unshare(k);
	if (k->t)
		vs__tcp_close(k->t);
}

VS_EXPORT void
vs_abort(struct vs_conn *k)
{
	if (k->t)
		vs__tcp_abort(k->t);
}

/* --- registered memory --- */

VS_EXPORT int
vs_mem_register(struct vs_stack *st, void *addr, size_t len,
		struct vs_mem **out)
{
	struct vs_mem *m;

	if (!addr || !len || !out)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->st = st;
	m->addr = addr;
	m->len = len;
	pthread_mutex_lock(&st->lock);
	m->next = st->mems;
	st->mems = m;
	pthread_mutex_unlock(&st->lock);
	*out = m;
	return 0;
}

VS_EXPORT int
vs_mem_unregister(struct vs_mem *m)
{
	struct vs_stack *st = m->st;

	if (atomic_load(&m->busy))
		return -EBUSY;
	pthread_mutex_lock(&st->lock);
	for (struct vs_mem **p = &st->mems; *p; p = &(*p)->next)
		if (*p == m) {
			*p = m->next;
			break;
		}
	pthread_mutex_unlock(&st->lock);
	free(m);
	return 0;
}

/* --- UDP --- */

static void
on_datagram(struct vs_udp *u, struct pbuf *p, const struct sockaddr *from)
{
	struct vs_dgram *d = vs__udp_user(u);
	struct vs_chain *ch;

	if (!d->ops || !d->ops->received || !(ch = chain_get(d->c, p, NULL))) {
		d->c->e.lw.pbuf_free(p);
		return;
	}
	vs__netif_delivered(&d->c->e.nif, p);
	d->ops->received(d, ch, from);
}

static const struct vs_udp_ops udp_ops = { .received = on_datagram };

VS_EXPORT int
vs_udp_open(struct vs_ctx *c, const struct sockaddr *local,
	    const struct vs_dgram_ops *ops, void *user, struct vs_dgram **out)
{
	struct vs_dgram *d;
	int rc;

	rc = sa_check(local, out);
	if (rc)
		return rc;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->c = c;
	d->ops = ops;
	d->user = user;
	rc = vs__udp_open(&c->e, local, 0, &udp_ops, d, &d->u);
	if (rc) {
		free(d);
		return rc;
	}
	*out = d;
	return 0;
}

VS_EXPORT int
vs_udp_sendto(struct vs_dgram *d, const void *data, size_t len,
	      const struct sockaddr *to)
{
	ssize_t n;
	int rc = sa_check(to, d);

	if (rc)
		return rc;
	n = vs__udp_sendto(d->u, data, len, to, NULL);
	return n < 0 ? (int)n : 0;
}

VS_EXPORT void
vs_udp_local(const struct vs_dgram *d, struct sockaddr_storage *ss)
{
	vs__udp_local(d->u, ss);
}

VS_EXPORT void *
vs_udp_user(const struct vs_dgram *d)
{
	return d->user;
}

VS_EXPORT void
vs_udp_close(struct vs_dgram *d)
{
	vs__udp_close(d->u);
	free(d);
}

/* --- timers --- */

static void
timer_fire(void *arg)
{
	struct api_timer *t = arg, **p;
	struct vs_ctx *c = t->c;

	for (p = &c->timers; *p && *p != t; p = &(*p)->next)
		;
	if (*p)
		*p = t->next;
	t->fn(c, t->arg);
	free(t);
}

VS_EXPORT int
vs_timer(struct vs_ctx *c, uint32_t ms, void (*fn)(struct vs_ctx *, void *),
	 void *arg)
{
	struct api_timer *t = malloc(sizeof(*t));

	if (!t || !fn) {
		free(t);
		return fn ? -ENOMEM : -EINVAL;
	}
	*t = (struct api_timer){ c, fn, arg, c->timers };
	c->timers = t;
	c->e.lw.sys_timeout(ms, timer_fire, t);
	return 0;
}

VS_EXPORT void
vs_timer_cancel(struct vs_ctx *c, void (*fn)(struct vs_ctx *, void *),
		void *arg)
{
	for (struct api_timer **p = &c->timers; *p;) {
		struct api_timer *t = *p;

		if (t->fn == fn && t->arg == arg) {
			*p = t->next;
			c->e.lw.sys_untimeout(timer_fire, t);
			free(t);
		} else {
			p = &t->next;
		}
	}
}

/* --- raw frames --- */

static int
hook_call(void *arg, uint8_t *frame, size_t len)
{
	struct vs_ctx *c = arg;

	switch (c->hook(c, frame, len, c->hook_arg)) {
	case VS_RAW_DROP:
		return VS_NETIF_DROP;
	case VS_RAW_CONSUMED:
		return VS_NETIF_CONSUMED;
	default:
		return VS_NETIF_PASS;
	}
}

VS_EXPORT void
vs_raw_hook_set(struct vs_ctx *c, vs_raw_hook hook, void *arg)
{
	c->hook = hook;
	c->hook_arg = arg;
	c->e.nif.hook_arg = c;
	c->e.nif.hook = hook ? hook_call : NULL;
}

VS_EXPORT int
vs_raw_send(struct vs_ctx *c, const void *frame, size_t len)
{
	return vs__netif_raw_send(&c->e.nif, frame, len);
}

VS_EXPORT int
vs_steer_all(struct vs_ctx *c)
{
	static const uint8_t fam[2] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		struct vs_rule r = { .action = VS_RULE_STEER,
				     .queue = c->idx,
				     .family = fam[i] };
		int rc;

		if (c->all[i])
			continue;
		rc = vs__port_rule_add(c->st->port, &r, &c->all[i]);
		if (rc)
			return rc;
	}
	return 0;
}

/* --- contexts --- */

VS_EXPORT void
vs_stack_mac(const struct vs_stack *st, uint8_t mac[6])
{
	memcpy(mac, vs__port_info(st->port)->mac, 6);
}

VS_EXPORT unsigned
vs_contexts(const struct vs_stack *st)
{
	return st->n;
}

VS_EXPORT struct vs_ctx *
vs_context(struct vs_stack *st, unsigned i)
{
	return i < st->n ? &st->ctx[i] : NULL;
}

VS_EXPORT struct vs_stack *
vs_ctx_stack(const struct vs_ctx *c)
{
	return c->st;
}

VS_EXPORT unsigned
vs_ctx_index(const struct vs_ctx *c)
{
	return c->idx;
}

VS_EXPORT void
vs_ctx_run(struct vs_ctx *c, int timeout_ms)
{
	vs__engine_run_once(&c->e, timeout_ms);
}

VS_EXPORT void
vs_ctx_loop(struct vs_ctx *c)
{
	while (!atomic_load(&c->stop))
		vs__engine_run_once(&c->e, -1);
	atomic_store(&c->stop, false);
}

static void
nothing(void *arg)
{
	(void)arg;
}

VS_EXPORT void
vs_ctx_stop(struct vs_ctx *c)
{
	atomic_store(&c->stop, true);
	/* Wakes a sleeping loop. */
	while (vs__engine_call(&c->e, nothing, NULL) == -EAGAIN)
		sched_yield();
}

VS_EXPORT int
vs_ctx_call(struct vs_ctx *c, void (*fn)(void *), void *arg)
{
	return vs__engine_call(&c->e, fn, arg);
}

VS_EXPORT int
vs_ctx_fd(struct vs_ctx *c)
{
	return c->epfd;
}

VS_EXPORT int
vs_ctx_prepare(struct vs_ctx *c, int *timeout_ms)
{
	return vs__engine_prepare(&c->e, timeout_ms);
}

VS_EXPORT void
vs_ctx_check(struct vs_ctx *c)
{
	vs__engine_check(&c->e);
}

VS_EXPORT void
vs_ctx_stats(const struct vs_ctx *c, struct vs_ctx_stats *s)
{
	const struct vs_engine_stats *e = &c->e.st;
	const struct vs_netif_stats *n = &c->e.nif.st;

	memset(s, 0, sizeof(*s));
	s->rx_frames =
		atomic_load_explicit(&n->rx_frames, memory_order_relaxed);
	s->tx_frames =
		atomic_load_explicit(&n->tx_frames, memory_order_relaxed) +
		atomic_load_explicit(&n->raw_sent, memory_order_relaxed);
	s->raw_dropped =
		atomic_load_explicit(&n->raw_dropped, memory_order_relaxed);
	s->raw_consumed =
		atomic_load_explicit(&n->raw_consumed, memory_order_relaxed);
	s->tcp_accepted = atomic_load(&e->tcp_accepted);
	s->tcp_connects = atomic_load(&e->tcp_connects);
	s->tcp_resets = atomic_load(&e->tcp_resets);
	s->tcp_timeouts = atomic_load(&e->tcp_timeouts);
	s->udp_rx = atomic_load(&e->udp_rx_datagrams);
	s->udp_tx = atomic_load(&e->udp_tx_datagrams);
	s->chains_held = __atomic_load_n(&c->held, __ATOMIC_RELAXED);
}

/* The context's sleep fds in one epoll set: the fd of vs_ctx_fd. */
static int
ctx_epoll(struct vs_ctx *c)
{
	int fds[3], n = vs__engine_sleep_fds(&c->e, fds);

	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u32 = (uint32_t)i };

		if (epoll_ctl(c->epfd, EPOLL_CTL_ADD, fds[i], &ev) < 0)
			return -errno;
	}
	return 0;
}

VS_EXPORT void
vs_fini(struct vs_stack *st)
{
	if (!st)
		return;
	for (unsigned i = 0; i < st->n; i++) {
		struct vs_ctx *c = &st->ctx[i];

		for (int j = 0; j < 2; j++)
			if (c->all[j])
				vs__port_rule_del(st->port, c->all[j]);
		if (c->epfd >= 0)
			close(c->epfd);
		while (c->free_chains) {
			struct vs_chain *ch = c->free_chains;

			c->free_chains = ch->next;
			free(ch);
		}
	}
	for (unsigned i = 0; i < st->nsl; i++)
		vs__tcp_rule_put(st->sl[i].rule);
	/* The engines' lwIP copies stay (lwip.h says why); the port goes
	 * with every rule still on it. */
	vs__rt_close(&st->rt);
	free(st->sl);
	free(st->ctx);
	vs__config_free(&st->cfg);
	free(st);
}

VS_EXPORT int
vs_init(const struct vs_options *opt, struct vs_stack **out)
{
	struct vs_options o = { 0 };
	struct vs_stack *st;
	char err[512] = "";
	int rc;

	if (!out)
		return -EINVAL;
	if (opt) {
		if (opt->size < offsetof(struct vs_options, spin_us) ||
		    opt->size > sizeof(o) * 4)
			return -EINVAL;
		memcpy(&o, opt, opt->size < sizeof(o) ? opt->size : sizeof(o));
	}
	if (o.flags & ~VS_OPT_THREADS)
		return -EINVAL;
	rc = vs__self_claim(VS_OWNER_NATIVE);
	if (rc) {
		vs_err("vs_init: the LD_PRELOAD socket layer already runs in this process");
		return rc;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	pthread_mutex_init(&st->lock, NULL);
	vs__config_init(&st->cfg);
	if (vs__config_load(&st->cfg, environ, err, sizeof(err))) {
		vs_err("vs_init: configuration: %s", err);
		free(st);
		return -EINVAL;
	}
	if (o.device)
		snprintf(st->cfg.device, sizeof(st->cfg.device), "%s",
			 o.device);
	if (o.spin_us)
		st->cfg.spin_us = o.spin_us;
	st->threads = o.flags & VS_OPT_THREADS;
	rc = vs__rt_open(&st->rt, &st->cfg, o.contexts, false, err,
			 sizeof(err));
	if (rc) {
		vs_err("vs_init: %s", err);
		vs__config_free(&st->cfg);
		free(st);
		return rc;
	}
	st->port = st->rt.port;
	st->ctx = calloc(st->rt.n, sizeof(*st->ctx));
	if (!st->ctx) {
		vs__rt_close(&st->rt);
		vs__config_free(&st->cfg);
		free(st);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < st->rt.n; i++) {
		struct vs_ctx *c = &st->ctx[i];

		c->st = st;
		c->idx = i;
		c->epfd = -1;
		st->n = i + 1;
		rc = vs__rt_engine(&st->rt, i, &c->e, st->threads, err,
				   sizeof(err));
		if (!rc)
			rc = ctx_epoll(c);
		if (rc) {
			vs_err("vs_init: context %u: %s", i,
			       err[0] ? err : strerror(-rc));
			vs_fini(st);
			return rc;
		}
	}
	vs__rt_publish(&st->rt, "native", NULL, NULL);
	*out = st;
	return 0;
}
