// SPDX-License-Identifier: MIT
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/lock.h"
#include "base/log.h"
#include "stack/addr.h"
#include "stack/steer.h"
#include "stack/tcp.h"

struct vs_tcp {
	struct vs_engine *e;
	struct tcp_pcb *pcb;
	const struct vs_tcp_ops *ops;
	void *user;
	struct vs_rule_handle *rule; /* an outbound connection's */
	struct vs_tcp_rule *lrule; /* its listener's, shared with it */
	int reserve_fd; /* kernel socket holding the local port, or -1 */
	uint64_t rx_bytes, tx_bytes;
	bool listener;
	bool rss_port; /* outbound: RSS lands the peer's frames here */
	bool connecting; /* connect() not finished */
	bool closing; /* closed by the application, draining its sends */
	bool draining; /* closing, counted in tcp_draining until the FIN */
	bool aborting; /* vs__tcp_abort: lwIP's ERR_ABRT is ours, not a timeout */
	bool refused; /* vs__tcp_refuse in the owner's accepted callback */
	bool counted; /* in live_conns (max_conns) */
	/* Closed: lwIP finishes the closing handshake and TIME_WAIT on
	 * closed_pcb; its rule and port go when lwIP frees it (pcb_gone). */
	bool released;
	bool in_close; /* inside finish_close: pcb_gone defers the free */
	bool tw_short; /* a short TIME_WAIT, ended by tw_expire */
	bool tw_counted; /* a full one, in the engine's tcp_time_wait */
	bool tw_fd; /* ... holding its port's kernel socket (tw_fds) */
	struct tcp_pcb *closed_pcb;
};

/* A half-open connection's 5-tuple rule, until lwIP accepts it. */
struct half_pin {
	struct half_pin *next;
	struct vs_engine *e;
	struct tcp_pcb *pcb;
	ip_addr_t ip;
	u16_t port;
	struct vs_rule_handle *h;
};

struct vs_tcp_rule {
	struct vs_port *port;
	struct vs_steer st; /* empty until installed */
	struct vs_steer_share *sh; /* a shared listener's, instead */
	_Atomic uint64_t refuse; /* buckets whose SYNs are dropped */
	pthread_mutex_t hlock;
	struct half_pin *half; /* pinned half-open connections */
	bool pin_each; /* each accepted connection its own rule */
	_Atomic unsigned refs;
};

struct vs_tcp_rule *
vs__tcp_rule_new(struct vs_port *port)
{
	struct vs_tcp_rule *r = calloc(1, sizeof(*r));

	if (r) {
		r->port = port;
		pthread_mutex_init(&r->hlock, NULL);
		atomic_init(&r->refs, 1);
	}
	return r;
}

static struct vs_tcp_rule *
rule_hold(struct vs_tcp_rule *r)
{
	atomic_fetch_add_explicit(&r->refs, 1, memory_order_relaxed);
	return r;
}

void
vs__tcp_rule_put(struct vs_tcp_rule *r)
{
	if (!r ||
	    atomic_fetch_sub_explicit(&r->refs, 1, memory_order_acq_rel) != 1)
		return;
	vs__steer_del(r->port, &r->st);
	while (r->half) {
		struct half_pin *h = r->half;

		r->half = h->next;
		vs__port_rule_del(r->port, h->h);
		free(h);
	}
	if (r->sh) {
		vs__steer_share_set(r->port, IPPROTO_TCP, NULL, false, r->sh, 0,
				    0);
		free(r->sh);
	}
	free(r);
}

void
vs__tcp_listen_rule(struct vs_tcp *l, struct vs_tcp_rule *r)
{
	vs__tcp_rule_put(l->lrule);
	l->lrule = rule_hold(r);
}

static struct vs_tcp *
conn_new(struct vs_engine *e, const struct vs_tcp_ops *ops, void *user)
{
	struct vs_tcp *c = calloc(1, sizeof(*c));

	if (c) {
		c->e = e;
		c->ops = ops;
		c->user = user;
		c->reserve_fd = -1;
	}
	return c;
}

/*
 * The connections of the process that count against max_conns (the
 * configuration's): accepted or connecting, until the program's close
 * has sent the FIN (finish_close) or the connection ended. What a closed
 * one holds after that is TIME_WAIT, bounded per engine apart
 * (VS_TCP_TIME_WAIT_MAX). Half-open ones are bounded by each listener's
 * backlog and SYN cookies.
 */
static _Atomic unsigned long live_conns;
static unsigned long max_conns; /* 0: as many as memory allows */

void
vs__tcp_set_max_conns(unsigned long n)
{
	max_conns = n;
}

static bool
conn_count(struct vs_tcp *c)
{
	if (atomic_fetch_add_explicit(&live_conns, 1, memory_order_relaxed) >=
		    max_conns &&
	    max_conns) {
		atomic_fetch_sub_explicit(&live_conns, 1, memory_order_relaxed);
		return false;
	}
	c->counted = true;
	return true;
}

static void
conn_uncount(struct vs_tcp *c)
{
	if (c->counted) {
		c->counted = false;
		atomic_fetch_sub_explicit(&live_conns, 1, memory_order_relaxed);
	}
}

/* Gives back what the connection owned; lwIP's pcb is already gone. */
static void
conn_free(struct vs_tcp *c)
{
	conn_uncount(c);
	if (c->rule)
		vs__port_rule_del(c->e->port, c->rule);
	vs__tcp_rule_put(c->lrule);
	if (c->reserve_fd >= 0)
		close(c->reserve_fd);
	free(c);
}

static void finish_close(struct vs_tcp *c);
static void tw_expire(void *arg);

/* Outbound connections in a full TIME_WAIT, process-wide: each holds a
 * kernel socket (an fd of the program) for its port. */
static _Atomic unsigned tw_fds;

/* A closed connection's sends are delivered, or can no longer be. */
static void
drained(struct vs_tcp *c)
{
	if (c->draining) {
		c->draining = false;
		atomic_fetch_sub_explicit(&c->e->st.tcp_draining, 1,
					  memory_order_relaxed);
	}
}

/*
 * lwIP calls back into vstack, and vstack into the program, from inside
 * its input and timers: a pcb aborted there (the program's vs_abort in
 * `received`, a close that must reset) is freed at once, and lwIP must
 * be told so by ERR_ABRT from that callback or it goes on using the
 * pcb. Each callback that calls out pushes a frame on this thread (a
 * callback may act on other connections: frames nest); pcb_abort marks
 * the frames of its pcb.
 */
struct cb_frame {
	const struct tcp_pcb *pcb;
	bool aborted;
	struct cb_frame *up;
};
static __thread struct cb_frame *cb_top;

static void
cb_enter(struct cb_frame *f, const struct tcp_pcb *pcb)
{
	*f = (struct cb_frame){ .pcb = pcb, .up = cb_top };
	cb_top = f;
}

static err_t
cb_leave(struct cb_frame *f)
{
	cb_top = f->up;
	return f->aborted ? ERR_ABRT : ERR_OK;
}

static void
pcb_abort(struct vs_lwip *lw, struct tcp_pcb *pcb)
{
	for (struct cb_frame *f = cb_top; f; f = f->up)
		if (f->pcb == pcb)
			f->aborted = true;
	lw->tcp_abort(pcb);
}

static void
on_err(void *arg, err_t err)
{
	struct vs_tcp *c = arg;
	/* lwIP says ERR_ABRT both for tcp_abort and for the slow timer's
	 * give-ups (retransmissions, keepalive): Linux says ETIMEDOUT. */
	int rc = err == ERR_RST			? -ECONNRESET :
		 err == ERR_ABRT && c->aborting ? -ECONNABORTED :
						  -ETIMEDOUT;

	/* lwIP freed the pcb already. */
	c->pcb = NULL;
	drained(c);
	if (c->connecting) { /* a reset answering the SYN: refused */
		c->connecting = false;
		if (c->ops && c->ops->connected)
			c->ops->connected(c,
					  err == ERR_RST ? -ECONNREFUSED : rc);
		conn_free(c);
		return;
	}
	if (rc == -ECONNRESET)
		vs__stat_add(&c->e->st.tcp_resets, 1);
	else if (rc == -ETIMEDOUT)
		vs__stat_add(&c->e->st.tcp_timeouts, 1);
	if (c->ops && c->ops->closed)
		c->ops->closed(c, rc);
	conn_free(c);
}

static err_t
on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_tcp *c = arg;
	struct cb_frame f;

	(void)err;
	if (p) {
		c->rx_bytes += p->tot_len;
		vs__stat_add(&c->e->st.tcp_rx_bytes, p->tot_len);
	}
	cb_enter(&f, pcb);
	if (c->ops && c->ops->received)
		c->ops->received(c, p);
	else if (p)
		c->e->lw.pbuf_free(p);
	return cb_leave(&f);
}

static err_t
on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct vs_tcp *c = arg;
	struct cb_frame f;

	cb_enter(&f, pcb);
	if (c->closing) {
		if (!pcb->unsent && !pcb->unacked)
			finish_close(c);
	} else if (c->ops && c->ops->sent) {
		c->ops->sent(c, len);
	}
	return cb_leave(&f);
}

static void
attach(struct vs_tcp *c, struct tcp_pcb *pcb)
{
	struct vs_lwip *lw = &c->e->lw;

	c->pcb = pcb;
	lw->tcp_arg(pcb, c);
	lw->tcp_recv(pcb, on_recv);
	lw->tcp_sent(pcb, on_sent);
	lw->tcp_err(pcb, on_err);
}

/* The rule pinned on pcb while it was half-open, now its connection's. */
static struct vs_rule_handle *
half_take(struct vs_tcp_rule *r, struct tcp_pcb *pcb)
{
	struct vs_rule_handle *got = NULL;

	vs__mutex_lock(&r->hlock);
	for (struct half_pin **p = &r->half; *p; p = &(*p)->next) {
		struct half_pin *h = *p;

		if (h->pcb == pcb && h->port == pcb->remote_port &&
		    ip_addr_cmp(&h->ip, &pcb->remote_ip)) {
			*p = h->next;
			got = h->h;
			free(h);
			break;
		}
	}
	vs__mutex_unlock(&r->hlock);
	return got;
}

static int rule_for(struct vs_port *port, int q, const struct sockaddr *local,
		    const struct sockaddr *peer, struct vs_rule_handle **h);

/* c's own 5-tuple rule to its engine (vs__tcp_listen_pin_each). No room
 * for it: the listener's rule still steers the connection. */
static void
pin_own(struct vs_tcp *c, struct tcp_pcb *pcb)
{
	struct sockaddr_storage local, peer;

	vs__sa_of_ip(&pcb->local_ip, pcb->local_port, &local);
	vs__sa_of_ip(&pcb->remote_ip, pcb->remote_port, &peer);
	if (rule_for(c->e->port, (int)c->e->q, (struct sockaddr *)&local,
		     (struct sockaddr *)&peer, &c->rule))
		c->rule = NULL;
}

static err_t
on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct vs_tcp *l = arg, *c = NULL;

	/* No memory for lwIP's pcb (the SYN is dropped: the peer sends
	 * again), for ours, or max_conns reached: lwIP resets the rest. */
	if (err != ERR_OK || !pcb || !(c = conn_new(l->e, NULL, NULL)) ||
	    !conn_count(c)) {
		free(c);
		vs__stat_add(&l->e->st.tcp_conn_refused, 1);
		return ERR_MEM;
	}
	attach(c, pcb);
	if (l->lrule) {
		c->lrule = rule_hold(l->lrule);
		/* Pinned while half-open (a share moved): the rule is its. */
		if (l->lrule->half)
			c->rule = half_take(l->lrule, pcb);
	}
	if (l->lrule && l->lrule->pin_each && !c->rule)
		pin_own(c, pcb);
	if (l->ops && l->ops->accepted) {
		struct cb_frame f;

		cb_enter(&f, pcb);
		l->ops->accepted(l, c);
		if (cb_leave(&f) == ERR_ABRT)
			return ERR_ABRT; /* the program aborted it */
	}
	if (c->refused) {
		/* lwIP resets the connection (ERR_MEM from here): detach it
		 * first, nothing of ours may be called back. */
		struct vs_lwip *lw = &l->e->lw;

		lw->tcp_err(pcb, NULL);
		lw->tcp_recv(pcb, NULL);
		lw->tcp_sent(pcb, NULL);
		lw->tcp_arg(pcb, NULL);
		c->pcb = NULL;
		conn_free(c);
		vs__stat_add(&l->e->st.tcp_listen_overflows, 1);
		return ERR_MEM;
	}
	vs__stat_add(&l->e->st.tcp_accepted, 1);
	return ERR_OK;
}

void
vs__tcp_refuse(struct vs_tcp *c)
{
	c->refused = true;
}

/* A rule for the frames to local's address and port (and from the peer
 * when peer is not NULL): to queue q, or with q < 0 spread by RSS. */
static int
rule_for(struct vs_port *port, int q, const struct sockaddr *local,
	 const struct sockaddr *peer, struct vs_rule_handle **h)
{
	struct vs_rule r = { .action =
				     q < 0 ? VS_RULE_STEER_RSS : VS_RULE_STEER,
			     .queue = q < 0 ? 0 : (unsigned)q,
			     .proto = IPPROTO_TCP,
			     .dport_mask = 0xffff };
	size_t alen = local->sa_family == AF_INET ? 4 : 16;
	u16_t lport, pport;

	lport = vs__sa_port(local);
	r.dport = lport;
	r.family = (uint8_t)local->sa_family;
	memcpy(r.dst, vs__sa_addr(local), alen);
	/* An unspecified local address: any destination address. */
	if (memcmp(r.dst, (const uint8_t[16]){ 0 }, alen))
		memset(r.dst_mask, 0xff, alen);
	if (peer) {
		pport = vs__sa_port(peer);
		memcpy(r.src, vs__sa_addr(peer), alen);
		memset(r.src_mask, 0xff, alen);
		r.sport = pport;
		r.sport_mask = 0xffff;
	}
	return vs__port_rule_add(port, &r, h);
}

int
vs__tcp_listen_steer(struct vs_tcp_rule *r, const struct sockaddr *addr)
{
	return r->st.n ? -EEXIST :
			 vs__steer_add(r->port, -1, IPPROTO_TCP, addr, false,
				       &r->st);
}

int
vs__tcp_listen_share(struct vs_tcp_rule *r, const struct sockaddr *addr,
		     uint64_t normal, uint64_t standby)
{
	if (r->st.n)
		return -EEXIST;
	if (!r->sh && !(r->sh = calloc(1, sizeof(*r->sh))))
		return -ENOMEM;
	return vs__steer_share_set(r->port, IPPROTO_TCP, addr, false, r->sh,
				   normal, standby);
}

/* The connection a pcb of the active list belongs to (NULL: none, or
 * a listener's half-open one). */
static struct vs_tcp *
conn_of(struct vs_lwip *lw, struct tcp_pcb *pcb)
{
	struct vs_tcp *c = pcb->callback_arg;

	if (c == (void *)lw) /* closed: finish_close's ext arg */
		c = pcb->ext_args[lw->ext_id].data;
	return c && !c->listener ? c : NULL;
}

/* Is pcb a half-open connection of one of r's listeners? */
static bool
half_open_of(struct vs_lwip *lw, struct tcp_pcb *p, struct vs_tcp_rule *r)
{
	struct vs_tcp *l = p->callback_arg;

	return p->state == SYN_RCVD && l && l != (void *)lw && l->listener &&
	       l->lrule == r;
}

static bool
half_pinned(struct vs_tcp_rule *r, struct tcp_pcb *p)
{
	for (struct half_pin *h = r->half; h; h = h->next)
		if (h->pcb == p && h->port == p->remote_port &&
		    ip_addr_cmp(&h->ip, &p->remote_ip))
			return true;
	return false;
}

/* Pins p's flow to e's queue if its bucket is in buckets and it is r's
 * (accepted, or half-open and not pinned yet): 1 if a rule was made. */
static unsigned
pin_conn(struct vs_engine *e, struct vs_tcp_rule *r, struct tcp_pcb *p,
	 uint64_t buckets)
{
	struct vs_lwip *lw = &e->lw;
	struct sockaddr_storage local, peer;
	struct vs_tcp *c = conn_of(lw, p);
	struct vs_rule_handle **h;
	struct half_pin *hp = NULL;

	if (!(buckets >> VS_STEER_BUCKET(p->remote_port) & 1))
		return 0;
	if (c && c->lrule == r && !c->rule) {
		h = &c->rule;
	} else if (!c && half_open_of(lw, p, r) && !half_pinned(r, p) &&
		   (hp = calloc(1, sizeof(*hp)))) {
		/* Not yet accepted: the rule waits in r (on_accept
		 * gives it to the connection, r's end frees it). */
		h = &hp->h;
	} else {
		return 0;
	}
	vs__sa_of_ip(&p->local_ip, p->local_port, &local);
	vs__sa_of_ip(&p->remote_ip, p->remote_port, &peer);
	if (rule_for(e->port, (int)e->q, (struct sockaddr *)&local,
		     (struct sockaddr *)&peer, h)) {
		free(hp);
		return 0;
	}
	if (hp) {
		hp->e = e;
		hp->pcb = p;
		ip_addr_copy(hp->ip, p->remote_ip);
		hp->port = p->remote_port;
		hp->next = r->half;
		r->half = hp;
	}
	return 1;
}

unsigned
vs__tcp_listen_pin(struct vs_engine *e, struct vs_tcp_rule *r, uint64_t buckets)
{
	struct vs_lwip *lw = &e->lw;
	unsigned n = 0;

	vs__mutex_lock(&r->hlock);
	/* Pins of e's half-open connections that never made it. */
	for (struct half_pin **hp = &r->half; *hp;) {
		struct half_pin *h = *hp;
		bool alive = false;

		for (struct tcp_pcb *p = *lw->tcp_active_pcbs;
		     h->e == e && p && !alive; p = p->next)
			alive = p == h->pcb && half_open_of(lw, p, r);
		if (h->e != e || alive) {
			hp = &h->next;
			continue;
		}
		*hp = h->next;
		vs__port_rule_del(r->port, h->h);
		free(h);
	}
	/* Connections with work for the timers, then the quiet ones. */
	for (struct tcp_pcb *p = *lw->tcp_active_pcbs; p; p = p->next)
		n += pin_conn(e, r, p, buckets);
	for (struct tcp_pcb *p = *lw->tcp_quiet_pcbs; p; p = p->next)
		n += pin_conn(e, r, p, buckets);
	vs__mutex_unlock(&r->hlock);
	return n;
}

void
vs__tcp_listen_pin_each(struct vs_tcp_rule *r)
{
	r->pin_each = true;
}

void
vs__tcp_listen_refuse(struct vs_tcp_rule *r, uint64_t buckets)
{
	atomic_store_explicit(&r->refuse, buckets, memory_order_release);
}

/* lwIP's hook (vs_lwip_syn_filter): a SYN to listener arg from port
 * sport is reset while max_conns connections are open, dropped while
 * its bucket is being handed over, else taken. */
static int
syn_filter(void *arg, u16_t sport)
{
	struct vs_tcp *l = arg;
	uint64_t refuse;

	if (max_conns &&
	    atomic_load_explicit(&live_conns, memory_order_relaxed) >=
		    max_conns) {
		if (l)
			vs__stat_add(&l->e->st.tcp_conn_refused, 1);
		return -1;
	}
	if (!l || !l->lrule)
		return 1;
	refuse = atomic_load_explicit(&l->lrule->refuse, memory_order_acquire);
	if (!(refuse >> VS_STEER_BUCKET(sport) & 1))
		return 1;
	vs__stat_add(&l->e->st.tcp_syn_handoff, 1);
	return 0;
}

/* Whether a listener of this lwIP copy has port on an address that
 * overlaps ip (the check tcp_bind makes, for listeners alone). */
static bool
listened(struct vs_lwip *lw, const ip_addr_t *ip, u16_t port)
{
	for (struct tcp_pcb_listen *l = lw->tcp_listen_pcbs->listen_pcbs; l;
	     l = l->next)
		if (l->local_port == port &&
		    IP_IS_V6(ip) == IP_IS_V6_VAL(l->local_ip) &&
		    (ip_addr_isany(&l->local_ip) || ip_addr_isany(ip) ||
		     ip_addr_cmp(&l->local_ip, ip)))
			return true;
	return false;
}

int
vs__tcp_listen(struct vs_engine *e, const struct sockaddr *addr, int backlog,
	       unsigned flags, const struct vs_tcp_ops *ops, void *user,
	       struct vs_tcp **out)
{
	struct vs_lwip *lw = &e->lw;
	struct vs_tcp *l = conn_new(e, ops, user);
	struct tcp_pcb *pcb;
	u16_t port = vs__sa_port(addr);
	ip_addr_t ip = vs__ip_of(addr);
	int rc;

	if (!l)
		return -ENOMEM;
	pcb = lw->tcp_new_ip_type(IP_GET_TYPE(&ip));
	/* Another listener on the port is refused; the connections of an
	 * earlier one (in TIME_WAIT too) are not in the way, as with
	 * SO_REUSEADDR on Linux (they inherit the option from it). */
	if (pcb && !listened(lw, &ip, port))
		ip_set_option(pcb, SOF_REUSEADDR);
	if (!pcb || lw->tcp_bind(pcb, &ip, port) != ERR_OK) {
		if (pcb)
			lw->tcp_abort(pcb);
		free(l);
		return pcb ? -EADDRINUSE : -ENOMEM;
	}
	if (!(flags & VS_TCP_SHARED)) {
		l->lrule = vs__tcp_rule_new(e->port);
		rc = !l->lrule ? -ENOMEM :
				 vs__steer_add(e->port, (int)e->q, IPPROTO_TCP,
					       addr, false, &l->lrule->st);
	} else {
		rc = 0;
	}
	if (rc) {
		lw->tcp_abort(pcb);
		vs__tcp_rule_put(l->lrule);
		free(l);
		return rc;
	}
	l->listener = true;
	*lw->vs_lwip_syn_filter = syn_filter;
	if (backlog < VS_TCP_SYN_BACKLOG)
		backlog = VS_TCP_SYN_BACKLOG;
	l->pcb = lw->tcp_listen_with_backlog(
		pcb, (u16_t)(backlog > 0xffff ? 0xffff : backlog));
	lw->tcp_arg(l->pcb, l);
	lw->tcp_accept(l->pcb, on_accept);
	*out = l;
	return 0;
}

static err_t
on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct vs_tcp *c = arg;
	struct cb_frame f;

	c->connecting = false;
	cb_enter(&f, pcb);
	if (c->ops && c->ops->connected)
		c->ops->connected(c, err == ERR_OK ? 0 : -ECONNREFUSED);
	return cb_leave(&f);
}

/* The address of family on the port (the first one). */
static int
port_addr(struct vs_port *port, int family, struct sockaddr_storage *ss)
{
	const struct vs_port_info *in = vs__port_info(port);

	for (unsigned i = 0; i < in->naddrs; i++)
		if (in->addrs[i].ss_family == family) {
			*ss = in->addrs[i];
			return 0;
		}
	return -EADDRNOTAVAIL;
}

static int
bound_socket(struct sockaddr_storage *local)
{
	socklen_t len = sizeof(*local);
	int fd = socket(local->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	((struct sockaddr_in *)local)->sin_port = 0;
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)local,
		 local->ss_family == AF_INET ?
			 sizeof(struct sockaddr_in) :
			 sizeof(struct sockaddr_in6)) < 0 ||
	    getsockname(fd, (struct sockaddr *)local, &len) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

#define VS_RSS_TRIES 64

/*
 * A local port for an outbound connection to dst, reserved with a kernel
 * socket bound to it (kept open as long as the connection), so that the
 * kernel does not give it to anyone else; one whose RSS hash lands the
 * peer's frames on this engine's queue if one of VS_RSS_TRIES does (the
 * ports tried meanwhile stay bound until the choice, so each try is a
 * new port). Fills local; c->rss_port says whether it lands.
 */
static int
reserve_port(struct vs_tcp *c, const struct sockaddr *dst,
	     struct sockaddr_storage *local)
{
	int tried[VS_RSS_TRIES], n = 0, rc;
	u16_t dport;

	rc = port_addr(c->e->port, dst->sa_family, local);
	dport = vs__sa_port(dst);
	while (!rc && n < VS_RSS_TRIES) {
		struct sockaddr_storage l = *local;
		u16_t lport;
		int fd = bound_socket(&l);

		if (fd < 0) {
			rc = fd;
			break;
		}
		lport = vs__sa_port((struct sockaddr *)&l);
		if (vs__port_rss_queue(c->e->port, dst->sa_family,
				       vs__sa_addr(dst),
				       vs__sa_addr((struct sockaddr *)&l),
				       dport, lport) == c->e->q) {
			c->reserve_fd = fd;
			c->rss_port = true;
			*local = l;
			break;
		}
		tried[n++] = fd;
	}
	/* None landed: the first port, with a 5-tuple rule. */
	if (!rc && c->reserve_fd < 0 && n) {
		socklen_t len = sizeof(*local);

		c->reserve_fd = tried[0];
		tried[0] = -1;
		getsockname(c->reserve_fd, (struct sockaddr *)local, &len);
	}
	for (int i = 0; i < n; i++)
		if (tried[i] >= 0)
			close(tried[i]);
	return rc;
}

/* A local address and port the caller holds (bound): the address must
 * be the port's (or unspecified: the port's); the port lands by RSS or
 * gets a 5-tuple rule. */
static int
given_port(struct vs_tcp *c, const struct sockaddr *from,
	   const struct sockaddr *dst, struct sockaddr_storage *local)
{
	const struct vs_port_info *in = vs__port_info(c->e->port);
	u16_t lport = vs__sa_port(from);
	bool ours = false;
	int rc;

	if (from->sa_family != dst->sa_family)
		return -EAFNOSUPPORT;
	if (vs__ip_is_any(from)) {
		rc = port_addr(c->e->port, dst->sa_family, local);
		if (rc)
			return rc;
	} else {
		memcpy(local, from, (size_t)vs__sa_len(from->sa_family));
	}
	for (unsigned i = 0; i < in->naddrs && !ours; i++)
		ours = in->addrs[i].ss_family == local->ss_family &&
		       !memcmp(vs__sa_addr((struct sockaddr *)&in->addrs[i]),
			       vs__sa_addr((struct sockaddr *)local),
			       local->ss_family == AF_INET ? 4 : 16);
	if (!ours)
		return -EADDRNOTAVAIL;
	if (local->ss_family == AF_INET)
		((struct sockaddr_in *)local)->sin_port = htons(lport);
	else
		((struct sockaddr_in6 *)local)->sin6_port = htons(lport);
	c->rss_port =
		vs__port_rss_queue(c->e->port, dst->sa_family, vs__sa_addr(dst),
				   vs__sa_addr((struct sockaddr *)local),
				   vs__sa_port(dst), lport) == c->e->q;
	return 0;
}

int
vs__tcp_connect(struct vs_engine *e, const struct sockaddr *dst,
		const struct vs_tcp_ops *ops, void *user, struct vs_tcp **out)
{
	return vs__tcp_connect_from(e, NULL, dst, ops, user, out);
}

int
vs__tcp_connect_from(struct vs_engine *e, const struct sockaddr *from,
		     const struct sockaddr *dst, const struct vs_tcp_ops *ops,
		     void *user, struct vs_tcp **out)
{
	struct vs_lwip *lw = &e->lw;
	struct vs_tcp *c = conn_new(e, ops, user);
	struct sockaddr_storage local;
	u16_t lport, dport;
	ip_addr_t lip, dip;
	struct tcp_pcb *pcb;
	int rc;

	if (!c)
		return -ENOMEM;
	if (!conn_count(c)) {
		free(c);
		vs__stat_add(&e->st.tcp_conn_refused, 1);
		return -ENOBUFS;
	}
	rc = from && vs__sa_port(from) ? given_port(c, from, dst, &local) :
					 reserve_port(c, dst, &local);
	/* Landed: a rule for the local port, spread by RSS like a listener's
	 * (one queue: no RSS needed); else the whole 5-tuple to this queue. */
	if (!rc && c->rss_port)
		rc = rule_for(e->port,
			      vs__port_info(e->port)->nqueues > 1 ? -1 :
								    (int)e->q,
			      (struct sockaddr *)&local, NULL, &c->rule);
	else if (!rc)
		rc = rule_for(e->port, (int)e->q, (struct sockaddr *)&local,
			      dst, &c->rule);
	if (rc) {
		conn_free(c);
		return rc;
	}
	lip = vs__ip_of((struct sockaddr *)&local);
	lport = vs__sa_port((struct sockaddr *)&local);
	dip = vs__ip_of(dst);
	dport = vs__sa_port(dst);
	pcb = lw->tcp_new_ip_type(IP_GET_TYPE(&dip));
	if (pcb) /* the kernel socket holding the port checked the bind */
		ip_set_option(pcb, SOF_REUSEADDR);
	if (!pcb || lw->tcp_bind(pcb, &lip, lport) != ERR_OK) {
		if (pcb)
			lw->tcp_abort(pcb);
		conn_free(c);
		return pcb ? -EADDRINUSE : -ENOMEM;
	}
	attach(c, pcb);
	c->connecting = true;
	if (lw->tcp_connect(pcb, &dip, dport, on_connected) != ERR_OK) {
		lw->tcp_arg(pcb, NULL);
		lw->tcp_err(pcb, NULL);
		lw->tcp_abort(pcb);
		conn_free(c);
		return -ENOMEM;
	}
	vs__stat_add(&e->st.tcp_connects, 1);
	vs__stat_add(
		c->rss_port ? &e->st.tcp_rss_ports : &e->st.tcp_tuple_rules, 1);
	*out = c;
	return 0;
}

void
vs__tcp_set_ops(struct vs_tcp *c, const struct vs_tcp_ops *ops, void *user)
{
	c->ops = ops;
	c->user = user;
}

void *
vs__tcp_user(const struct vs_tcp *c)
{
	return c->user;
}

static ssize_t
write_flags(struct vs_tcp *c, const void *data, size_t len, u8_t flags)
{
	size_t room;

	if (!c->pcb || c->listener)
		return -ENOTCONN;
	room = vs__tcp_send_space(c);
	if (len > room)
		len = room;
	if (len > 0xffff)
		len = 0xffff;
	if (!len ||
	    c->e->lw.tcp_write(c->pcb, data, (u16_t)len, flags) != ERR_OK)
		return 0;
	c->tx_bytes += len;
	vs__stat_add(&c->e->st.tcp_tx_bytes, len);
	return (ssize_t)len;
}

ssize_t
vs__tcp_write(struct vs_tcp *c, const void *data, size_t len)
{
	return write_flags(c, data, len, TCP_WRITE_FLAG_COPY);
}

ssize_t
vs__tcp_write_ref(struct vs_tcp *c, const void *data, size_t len)
{
	return write_flags(c, data, len, 0);
}

void
vs__tcp_output(struct vs_tcp *c)
{
	if (c->pcb && !c->listener)
		c->e->lw.tcp_output(c->pcb);
}

ssize_t
vs__tcp_send(struct vs_tcp *c, const void *data, size_t len)
{
	ssize_t n = vs__tcp_write(c, data, len);

	if (n > 0)
		vs__tcp_output(c);
	return n;
}

int
vs__tcp_shutdown(struct vs_tcp *c)
{
	if (!c->pcb || c->listener || c->closing)
		return -ENOTCONN;
	if (c->e->lw.tcp_shutdown(c->pcb, 0, 1) != ERR_OK)
		return -ENOBUFS;
	c->e->lw.tcp_output(c->pcb);
	return 0;
}

/* lwIP's states (enum tcp_state) as Linux names them. */
static const int linux_state[] = {
	[CLOSED] = TCP_CLOSE,
	[LISTEN] = TCP_LISTEN,
	[SYN_SENT] = TCP_SYN_SENT,
	[SYN_RCVD] = TCP_SYN_RECV,
	[ESTABLISHED] = TCP_ESTABLISHED,
	[FIN_WAIT_1] = TCP_FIN_WAIT1,
	[FIN_WAIT_2] = TCP_FIN_WAIT2,
	[CLOSE_WAIT] = TCP_CLOSE_WAIT,
	[CLOSING] = TCP_CLOSING,
	[LAST_ACK] = TCP_LAST_ACK,
	[TIME_WAIT] = TCP_TIME_WAIT,
};

struct vs_engine *
vs__tcp_engine(const struct vs_tcp *c)
{
	return c->e;
}

size_t
vs__tcp_send_space(const struct vs_tcp *c)
{
	if (!c->pcb || c->listener || c->closing ||
	    tcp_sndqueuelen(c->pcb) >= TCP_SND_QUEUELEN)
		return 0;
	return tcp_sndbuf(c->pcb);
}

void
vs__tcp_set_nodelay(struct vs_tcp *c, bool on)
{
	if (!c->pcb || c->listener)
		return;
	if (on)
		tcp_nagle_disable(c->pcb);
	else
		tcp_nagle_enable(c->pcb);
}

void
vs__tcp_set_keepalive(struct vs_tcp *c, bool on, unsigned idle_s,
		      unsigned intvl_s, unsigned cnt)
{
	if (!c->pcb || c->listener)
		return;
	if (on) {
		ip_set_option(c->pcb, SOF_KEEPALIVE);
		if (idle_s)
			c->pcb->keep_idle = idle_s * 1000u;
		if (intvl_s)
			c->pcb->keep_intvl = intvl_s * 1000u;
		if (cnt)
			c->pcb->keep_cnt = cnt;
	} else {
		ip_reset_option(c->pcb, SOF_KEEPALIVE);
	}
	/* A quiet connection waits for its keepalive at a time computed
	 * from the old settings: the timers take it back and recompute. */
	c->e->lw.tcp_wake(c->pcb);
}

void
vs__tcp_info(const struct vs_tcp *c, struct vs_tcp_info *in)
{
	const struct tcp_pcb *p = c->pcb;

	memset(in, 0, sizeof(*in));
	in->queue = c->e->q;
	in->rss_port = c->rss_port;
	in->rx_bytes = c->rx_bytes;
	in->tx_bytes = c->tx_bytes;
	in->state = TCP_CLOSE;
	if (!p)
		return;
	in->state = linux_state[p->state];
	vs__sa_of_ip(&p->local_ip, p->local_port, &in->local);
	if (c->listener)
		return; /* a listen pcb has no more than this */
	vs__sa_of_ip(&p->remote_ip, p->remote_port, &in->peer);
	in->mss = p->mss;
	in->snd_wnd = p->snd_wnd;
	in->rcv_wnd = p->rcv_wnd;
	in->snd_space = tcp_sndbuf(p);
	in->snd_queued = TCP_SND_BUF - tcp_sndbuf(p);
}

void
vs__tcp_consumed(struct vs_tcp *c, size_t len)
{
	while (c->pcb && len) {
		u16_t n = len > 0xffff ? 0xffff : (u16_t)len;

		c->e->lw.tcp_recved(c->pcb, n);
		len -= n;
	}
}

void
vs__rxq_put(struct vs_rxq *q, struct pbuf *p)
{
	struct pbuf *t = p;

	while (t->next)
		t = t->next; /* one arrival: a pbuf or a few */
	if (q->tail)
		q->tail->next = p;
	else
		q->head = p;
	q->tail = t;
	q->len += p->tot_len;
}

void
vs__rxq_take(struct vs_lwip *lw, struct vs_rxq *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->len -= n;
	while (n) {
		u16_t k = n > 0xffff ? 0xffff : (u16_t)n;

		q->head = lw->pbuf_free_header(q->head, k);
		n -= k;
	}
	if (!q->head)
		q->tail = NULL;
}

void
vs__rxq_free(struct vs_lwip *lw, struct vs_rxq *q)
{
	if (q->head)
		lw->pbuf_free(q->head);
	*q = (struct vs_rxq){ 0 };
}

/* After close: what still arrives is dropped; lwIP keeps the pcb (FIN
 * handshake, TIME_WAIT) without calling back. */
void
vs__rxq_copy(const struct vs_rxq *q, void *dst)
{
	size_t n = 0;

	for (const struct pbuf *p = q->head; p && n < q->len; p = p->next) {
		size_t k = p->len < q->len - n ? p->len : q->len - n;

		memcpy((uint8_t *)dst + n, p->payload, k);
		n += k;
	}
}

static err_t
recv_after_close(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_lwip *lw = arg;

	(void)err;
	if (p) {
		lw->tcp_recved(pcb, p->tot_len);
		lw->pbuf_free(p);
	}
	return ERR_OK;
}

/* While draining (closed by the program, what it sent not yet all
 * acknowledged): data arriving resets the connection, as the kernel does
 * for a socket nobody can read any more (RFC 1122 4.2.2.13; counted as
 * TcpExt.TCPAbortOnData). lwIP does so itself once tcp_close ran. */
static err_t
recv_while_closing(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
	struct vs_tcp *c = arg;

	if (p && p->tot_len) {
		c->e->lw.pbuf_free(p);
		vs__stat_add(&c->e->st.tcp_abort_on_data, 1);
		c->aborting = true;
		pcb_abort(&c->e->lw,
			  pcb); /* on_err follows: closed(-ECONNABORTED) */
		return ERR_ABRT;
	}
	return recv_after_close(&c->e->lw, pcb, p, err);
}

/* lwIP freed a closed connection's pcb (TIME_WAIT over, or the closing
 * handshake given up): what held its frames goes too. */
static void
pcb_gone(u8_t id, void *data)
{
	struct vs_tcp *c = data;

	(void)id;
	c->closed_pcb = NULL;
	if (c->in_close)
		return; /* finish_close frees it */
	if (c->tw_short)
		c->e->lw.sys_untimeout(tw_expire, c);
	if (c->tw_counted)
		atomic_fetch_sub_explicit(&c->e->st.tcp_time_wait, 1,
					  memory_order_relaxed);
	if (c->tw_fd)
		atomic_fetch_sub_explicit(&tw_fds, 1, memory_order_relaxed);
	conn_free(c);
}

static const struct tcp_ext_arg_callbacks gone_callbacks = {
	.destroy = pcb_gone,
};

/* A short TIME_WAIT is over: lwIP lets the pcb go (pcb_gone). */
static void
tw_expire(void *arg)
{
	struct vs_tcp *c = arg;

	c->tw_short = false;
	c->e->lw.tcp_abort(c->closed_pcb);
}

static pthread_once_t tw_once = PTHREAD_ONCE_INIT;
static unsigned tw_fds_max;

/* A quarter of the program's file descriptors, within [64, the cap]. */
static void
tw_fds_init(void)
{
	struct rlimit rl;
	rlim_t n = getrlimit(RLIMIT_NOFILE, &rl) ? 1024 : rl.rlim_cur / 4;

	tw_fds_max = n < 64		      ? 64 :
		     n > VS_TCP_TIME_WAIT_MAX ? VS_TCP_TIME_WAIT_MAX :
						(unsigned)n;
}

/*
 * How long the rule and port of a closed connection stay: until lwIP
 * frees its pcb (60 s of TIME_WAIT after an active close), as Linux
 * keeps TIME_WAIT, within bounds as Linux's tcp_max_tw_buckets: past
 * VS_TCP_TIME_WAIT_MAX connections per engine, or for an outbound one
 * (whose port a kernel socket of the program holds, an fd each) past a
 * quarter of the program's file descriptor limit in the process, the
 * TIME_WAIT lasts VS_TCP_TIME_WAIT_SHORT_MS, then lwIP lets it go.
 */
static bool
time_wait_short(const struct vs_tcp *c)
{
	if (atomic_load_explicit(&c->e->st.tcp_time_wait,
				 memory_order_relaxed) >= VS_TCP_TIME_WAIT_MAX)
		return true;
	if (c->reserve_fd < 0)
		return false;
	pthread_once(&tw_once, tw_fds_init);
	return atomic_load_explicit(&tw_fds, memory_order_relaxed) >=
	       tw_fds_max;
}

void
vs__tcp_keep_port(struct vs_tcp *c, int fd)
{
	if (c->reserve_fd < 0)
		c->reserve_fd = fd;
	else
		close(fd);
}

/* Everything sent was acknowledged: FIN, `closed`, and the rule lingers
 * for the peer's last segments. */
static void
finish_close(struct vs_tcp *c)
{
	struct vs_lwip *lw = &c->e->lw;
	struct tcp_pcb *pcb = c->pcb;
	const struct vs_tcp_ops *ops = c->ops;

	drained(c);
	lw->tcp_arg(pcb, lw);
	lw->tcp_err(pcb, NULL);
	lw->tcp_sent(pcb, NULL);
	lw->tcp_recv(pcb, recv_after_close);
	/* lwIP may free the pcb at once (unread data: a reset): pcb_gone
	 * then only notes it. */
	c->released = true;
	conn_uncount(c);
	c->in_close = true;
	c->closed_pcb = pcb;
	lw->tcp_ext_arg_set_callbacks(pcb, lw->ext_id, &gone_callbacks);
	lw->tcp_ext_arg_set(pcb, lw->ext_id, c);
	if (lw->tcp_close(pcb) != ERR_OK && c->closed_pcb)
		pcb_abort(lw, pcb);
	c->in_close = false;
	c->pcb = NULL;
	c->ops = NULL;
	if (ops && ops->closed)
		ops->closed(c, 0);
	if (!c->closed_pcb) {
		conn_free(c);
	} else if (time_wait_short(c)) {
		c->tw_short = true;
		lw->sys_timeout(VS_TCP_TIME_WAIT_SHORT_MS, tw_expire, c);
	} else {
		c->tw_counted = true;
		atomic_fetch_add_explicit(&c->e->st.tcp_time_wait, 1,
					  memory_order_relaxed);
		c->tw_fd = c->reserve_fd >= 0;
		if (c->tw_fd)
			atomic_fetch_add_explicit(&tw_fds, 1,
						  memory_order_relaxed);
	}
}

/*
 * Graceful close: what was sent is delivered first (the connection
 * lingers, retransmitting, until the peer acknowledged all of it), then
 * the FIN goes and `closed(c, 0)` is called; a reset or timeout meanwhile
 * reports `closed(c, -err)`.
 */
void
vs__tcp_close(struct vs_tcp *c)
{
	struct vs_lwip *lw = &c->e->lw;

	if (c->released)
		return; /* closed already: lwIP finishes it (pcb_gone) */
	if (c->listener || !c->pcb) {
		if (c->pcb && lw->tcp_close(c->pcb) != ERR_OK)
			pcb_abort(lw, c->pcb);
		c->pcb = NULL;
		if (c->ops && c->ops->closed)
			c->ops->closed(c, 0);
		conn_free(c);
		return;
	}
	c->closing = true;
	lw->tcp_recv(c->pcb, recv_while_closing);
	if (!c->pcb->unsent && !c->pcb->unacked) {
		finish_close(c);
	} else {
		if (!c->draining) /* closed once (vs__tcp_abort may close again) */
			atomic_fetch_add_explicit(&c->e->st.tcp_draining, 1,
						  memory_order_relaxed);
		c->draining = true;
		lw->tcp_output(c->pcb);
	}
}

void
vs__tcp_abort(struct vs_tcp *c)
{
	if (c->released)
		return;
	if (c->listener || !c->pcb || c->closing) {
		vs__tcp_close(c);
		return;
	}
	/* lwIP sends the reset, frees the pcb and calls on_err. */
	c->aborting = true;
	pcb_abort(&c->e->lw, c->pcb);
}

/* --- moving a connection to another process --- */

int
vs__tcp_move_out(struct vs_tcp *c, struct vs_tcp_move *m, void **data)
{
	struct vs_lwip *lw = &c->e->lw;
	struct tcp_pcb *pcb = c->pcb;
	uint8_t *buf = NULL;
	uint32_t n = 0;

	*data = NULL;
	if (!pcb || c->listener || c->connecting || c->closing || c->released)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->sndq = pcb->snd_lbb - pcb->lastack;
	if (m->sndq && !(buf = malloc(m->sndq)))
		return -ENOMEM;
	/* What the peer has not acknowledged, from lastack: the unacked
	 * segments (the first perhaps acknowledged in part), then the
	 * unsent ones. A segment's data ends its pbuf chain. */
	for (int list = 0; list < 2; list++)
		for (struct tcp_seg *g = list ? pcb->unsent : pcb->unacked; g;
		     g = g->next) {
			uint32_t seq = ntohl(g->tcphdr->seqno), skip = 0,
				 len = g->len;

			if ((int32_t)(pcb->lastack - seq) > 0)
				skip = pcb->lastack - seq;
			if (skip >= len)
				continue;
			len -= skip;
			if (len > m->sndq - n)
				goto bad;
			lw->pbuf_copy_partial(
				g->p, buf + n, (u16_t)len,
				(u16_t)(g->p->tot_len - g->len + skip));
			n += len;
		}
	if (n != m->sndq || lw->tcp_vs_export(pcb, &m->st) != ERR_OK)
		goto bad;
	lw->tcp_recv(pcb, NULL);
	lw->tcp_sent(pcb, NULL);
	c->ops = NULL;
	c->user = NULL;
	*data = buf;
	vs__stat_add(&c->e->st.tcp_moved_out, 1);
	return 0;
bad:
	free(buf);
	return -EINVAL;
}

/* A moved connection's inert pcb goes (its linger is over, or the
 * connection came back): without a word to the peer. */
static void
moved_expire(void *arg)
{
	struct vs_tcp *c = arg;

	c->e->lw.tcp_abandon(c->pcb, 0);
	c->pcb = NULL;
	conn_free(c);
}

void
vs__tcp_move_end(struct vs_tcp *c, bool done)
{
	struct vs_lwip *lw = &c->e->lw;

	if (!c->pcb) {
		conn_free(c);
		return;
	}
	lw->tcp_err(c->pcb, NULL);
	if (done) {
		conn_uncount(c); /* the taker counts it */
		/* Its frames go to the taker from now on (its own rule, if
		 * any, goes, or as the older it would keep them), but some
		 * may wait in this queue's ring still: the inert pcb drops
		 * them, rather than no pcb answering them with a reset. */
		if (c->rule)
			vs__port_rule_del(c->e->port, c->rule);
		c->rule = NULL;
		lw->tcp_arg(c->pcb, c);
		lw->sys_timeout(VS_TCP_MOVED_LINGER_MS, moved_expire, c);
		return;
	}
	/* The queues are gone: a reset from what it had. */
	lw->tcp_arg(c->pcb, NULL);
	tcp_clear_flags(c->pcb, TF_VS_MOVED);
	lw->tcp_abandon(c->pcb, 1);
	c->pcb = NULL;
	conn_free(c);
}

int
vs__tcp_move_in(struct vs_engine *e, const struct vs_tcp_move *m,
		const void *data, const struct vs_tcp_ops *ops, void *user,
		struct vs_tcp **out)
{
	struct vs_lwip *lw = &e->lw;
	struct sockaddr_storage local, peer;
	struct tcp_pcb *pcb;
	struct vs_tcp *c;
	const uint8_t *p = data;
	uint32_t left = m->sndq;

	pcb = lw->tcp_pcb_find(&m->st.local_ip, m->st.local_port,
			       &m->st.remote_ip, m->st.remote_port,
			       NETIF_NO_INDEX);
	if (pcb && (pcb->flags & TF_VS_MOVED) && pcb->callback_arg) {
		/* It comes back while this copy lingers: that goes now. */
		lw->sys_untimeout(moved_expire, pcb->callback_arg);
		moved_expire(pcb->callback_arg);
	} else if (pcb) {
		return -EEXIST;
	}
	if (!(c = conn_new(e, ops, user)))
		return -ENOMEM;
	if (!conn_count(c)) {
		free(c);
		vs__stat_add(&e->st.tcp_conn_refused, 1);
		return -ENOBUFS;
	}
	vs__sa_of_ip(&m->st.local_ip, m->st.local_port, &local);
	vs__sa_of_ip(&m->st.remote_ip, m->st.remote_port, &peer);
	/* The pcb first: the rule's first frame must find it. */
	if (!(pcb = lw->tcp_vs_import(&m->st))) {
		conn_free(c);
		return -ENOMEM;
	}
	attach(c, pcb);
	if (rule_for(e->port, (int)e->q, (struct sockaddr *)&local,
		     (struct sockaddr *)&peer, &c->rule)) {
		c->rule = NULL;
		lw->tcp_arg(pcb, NULL);
		lw->tcp_err(pcb, NULL);
		lw->tcp_abandon(pcb, 0);
		c->pcb = NULL;
		conn_free(c);
		return -ENOSPC;
	}
	/* Not counted as the program's bytes again (tcp_tx_bytes). The
	 * giver held as much, so the queue has room for it. */
	while (left) {
		u16_t k = left > 0xffff ? 0xffff : (u16_t)left;

		if (lw->tcp_write(pcb, p, k, TCP_WRITE_FLAG_COPY) != ERR_OK)
			break;
		p += k;
		left -= k;
	}
	lw->tcp_output(pcb);
	vs__stat_add(&e->st.tcp_moved_in, 1);
	*out = c;
	return 0;
}
