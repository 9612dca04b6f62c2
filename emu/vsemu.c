// SPDX-License-Identifier: MIT
/*
 * vsemu - the daemon that owns one emulated ConnectX port.
 *
 * Owns: the port's cable (an AF_PACKET socket on a real interface, e.g.
 * one end of a veth pair), the port's kernel netdev (a TAP carrying the
 * port's MAC, where the kernel keeps ARP, ICMP and every frame no rule
 * steers), the port's rules and counters, the impairment of the cable,
 * and the clients: processes using the port through libvsemu, each
 * connected over DIR/DEV.sock with shared-memory rings for the frames.
 *
 *   cable --wire_in--> rules --> client RX rings  (else --> TAP, the kernel)
 *   client TX rings, TAP --> sniffers --wire_out--> cable
 *
 * Must never: trust a client's message or ring beyond its checked sizes,
 * block on a client, or outlive a client's rules (a closed connection
 * removes everything it registered).
 *
 * The loop polls while there is work and for spin_us after, then sleeps
 * in epoll; clients ring the doorbell only when it sleeps.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emu/proto.h"
#include "emu/ring.h"
#include "emu/wire.h"

#define MAX_CLIENTS 64
#define MAX_RQS 4096
#define MAX_RULES 4096
#define BATCH 64

struct d_client;

struct d_rq {
	uint32_t id;
	struct emu_rview ring;
	size_t bytes;
	int chan_fd; /* a stream socket: tokens sent with MSG_DONTWAIT */
	int users; /* rules and RSS tables pointing here */
	struct d_rq *next;
};

struct d_rss {
	uint32_t id;
	uint8_t key[64];
	uint32_t key_len, log_size;
	uint64_t fields;
	struct d_rq *wq[1 << EMU_MAX_IND_LOG];
	int users;
	struct d_rss *next;
};

struct d_rule {
	struct emu_rule r;
	uint32_t id;
	struct d_rq *rq; /* the target: an RQ ... */
	struct d_rss *rss; /* ... or an RSS table */
	struct d_rule *next;
};

struct d_client {
	int fd;
	pid_t pid;
	struct emu_rview tx; /* .r NULL until HELLO */
	size_t tx_bytes;
	struct d_rq *rqs;
	struct d_rss *rss;
	struct d_rule *rules;
	int nrqs, nrules;
	struct d_client *next;
};

struct daemon {
	struct emu_port port;
	char dev[32], netdev[IFNAMSIZ], wire[IFNAMSIZ], dir[64];
	char sock[108], sysdir[128];
	int wire_fd, tap_fd, listen_fd, epfd, doorbell;
	uint32_t spin_us;
	gid_t group; /* may connect too (--group); (gid_t)-1: root only */
	struct d_client *clients;
	int nclients;
	uint8_t buf[BATCH][EMU_MAX_FRAME];
	/* Frames for the cable, sent together by flush_cable(). */
	uint8_t out[BATCH][EMU_MAX_FRAME];
	uint32_t out_len[BATCH];
	unsigned nout;
};

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

/* Sends the frames queued for the cable with one sendmmsg(2); what the
 * socket refuses (its buffer is full) is lost, as on a congested link. */
static void
flush_cable(struct daemon *d)
{
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];

	for (unsigned i = 0; i < d->nout; i++) {
		iov[i] = (struct iovec){ d->out[i], d->out_len[i] };
		mm[i].msg_hdr =
			(struct msghdr){ .msg_iov = &iov[i], .msg_iovlen = 1 };
	}
	if (d->nout) {
		int sent = sendmmsg(d->wire_fd, mm, d->nout, MSG_DONTWAIT);

		d->port.st.tx_cable_drop +=
			d->nout - (unsigned)(sent > 0 ? sent : 0);
	}
	d->nout = 0;
}

/* Port callbacks: the cable and the kernel. */
static void
to_cable(struct emu_port *p, const uint8_t *f, uint32_t len)
{
	struct daemon *d = p->priv;

	memcpy(d->out[d->nout], f, len);
	d->out_len[d->nout++] = len;
	if (d->nout == BATCH)
		flush_cable(d);
}

static void
to_kernel(struct emu_port *p, const uint8_t *f, uint32_t len)
{
	struct daemon *d = p->priv;

	if (write(d->tap_fd, f, len) < 0)
		return;
}

static void
deliver_rq(struct d_rq *q, const uint8_t *f, uint32_t len)
{
	uint32_t flags = emu__frame_csum_ok(f, len) ? EMU_SLOT_CSUM_OK : 0;

	if (!emu_ring_put(&q->ring, f, len, flags)) {
		/* The application is behind: a drop, counted in the ring. */
		atomic_fetch_add_explicit(&q->ring.r->full, 1,
					  memory_order_relaxed);
		return;
	}
	/* Never blocks: a client that does not read its channel loses
	 * wakeups, nobody else's frames. */
	if (q->chan_fd >= 0 && atomic_exchange(&q->ring.r->armed, 0) &&
	    send(q->chan_fd, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

static void
deliver(struct emu_rule *r, const uint8_t *f, uint32_t len)
{
	struct d_rule *dr = container_of(r, struct d_rule, r);
	struct d_rq *q = dr->rq;

	if (dr->rss) {
		uint32_t h = emu__rss_hash(dr->rss->key, dr->rss->key_len,
					   dr->rss->fields, f, len);

		q = dr->rss->wq[h & ((1u << dr->rss->log_size) - 1)];
	}
	deliver_rq(q, f, len);
}

/* --- the data path --- */

static int
pump_tx(struct daemon *d)
{
	int n = 0;

	for (struct d_client *c = d->clients; c; c = c->next) {
		const uint8_t *f;
		uint32_t len, flags;

		for (int i = 0; c->tx.r && i < 256 &&
				(f = emu_ring_peek(&c->tx, &len, &flags));
		     i++, n++) {
			/* What no NIC would send: counted, dropped. The copy
			 * below is of len, read once (the client may be
			 * rewriting the slot). */
			if (len < 14 || len > d->port.mtu + 18)
				d->port.st.tx_malformed++;
			else
				emu__port_egress(&d->port, f, len);
			emu_ring_pop(&c->tx);
		}
	}
	return n;
}

/*
 * A kernel peer on a veth leaves checksums to "hardware" (the frame says
 * TP_STATUS_CSUMNOTREADY in its auxdata). A real cable carries complete
 * checksums, so the port completes them, as the peer's NIC would have.
 */
static bool
csum_not_ready(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
		if (c->cmsg_level == SOL_PACKET &&
		    c->cmsg_type == PACKET_AUXDATA) {
			struct tpacket_auxdata aux;

			memcpy(&aux, CMSG_DATA(c), sizeof(aux));
			return aux.tp_status & TP_STATUS_CSUMNOTREADY;
		}
	return false;
}

/* A frame longer than the MTU cannot come from a real cable; a veth peer
 * with TSO/GSO sends them. Counted, and said once. */
static void
oversize(struct daemon *d)
{
	if (!d->port.st.rx_oversize++)
		fprintf(stderr,
			"vsemu: %s: dropping frames longer than the "
			"MTU (%u) from %s; its peer uses TSO/GSO: "
			"`ethtool -K PEER tso off gso off`\n",
			d->dev, d->port.mtu, d->wire);
}

static int
pump_wire(struct daemon *d)
{
	static char cbuf[BATCH][CMSG_SPACE(sizeof(struct tpacket_auxdata))];
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll[BATCH];
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ d->buf[i], sizeof(d->buf[i]) };
		mm[i].msg_hdr =
			(struct msghdr){ .msg_name = &sll[i],
					 .msg_namelen = sizeof(sll[i]),
					 .msg_iov = &iov[i],
					 .msg_iovlen = 1,
					 .msg_control = cbuf[i],
					 .msg_controllen = sizeof(cbuf[i]) };
	}
	n = recvmmsg(d->wire_fd, mm, BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		if (sll[i].sll_pkttype == PACKET_OUTGOING || mm[i].msg_len < 14)
			continue;
		if (mm[i].msg_len > d->port.mtu + 18 ||
		    (mm[i].msg_hdr.msg_flags & MSG_TRUNC)) {
			oversize(d);
			continue;
		}
		if (csum_not_ready(&mm[i].msg_hdr))
			emu__frame_fill_csum(d->buf[i], mm[i].msg_len);
		emu__port_ingress(&d->port, d->buf[i], mm[i].msg_len);
	}
	return n > 0 ? n : 0;
}

static int
pump_tap(struct daemon *d)
{
	int n;

	for (n = 0; n < BATCH; n++) {
		ssize_t len = read(d->tap_fd, d->buf[0], sizeof(d->buf[0]));

		if (len < 14)
			break;
		emu__port_egress(&d->port, d->buf[0], (uint32_t)len);
	}
	return n;
}

static void
set_sleeping(struct daemon *d, uint32_t v)
{
	for (struct d_client *c = d->clients; c; c = c->next)
		if (c->tx.r)
			atomic_store(&c->tx.r->sleeping, v);
}

static bool
tx_pending(struct daemon *d)
{
	uint32_t len, flags;

	for (struct d_client *c = d->clients; c; c = c->next)
		if (c->tx.r && emu_ring_peek(&c->tx, &len, &flags))
			return true;
	return false;
}

/* --- clients --- */

/*
 * Maps a ring a client made: false if its geometry, size or header is
 * wrong, or if the memfd is not sealed against shrinking (a client's
 * ftruncate would otherwise make the daemon's next access fault). The
 * geometry is the message's, checked here and kept in the view: the
 * client may rewrite the ring's header later, the daemon never reads it
 * again.
 */
static bool
map_ring(int fd, uint32_t slots, uint32_t slot_size, size_t *bytes,
	 struct emu_rview *v)
{
	struct emu_ring *r;
	struct stat st;
	int seals = fcntl(fd, F_GET_SEALS);

	if (!slots || slots > 65536 || slot_size < 64 ||
	    slot_size > EMU_RING_SLOT_MAX || slot_size % 8 || seals < 0 ||
	    !(seals & F_SEAL_SHRINK) || fstat(fd, &st) < 0)
		return false;
	*bytes = emu_ring_bytes(slots, slot_size);
	if ((size_t)st.st_size < *bytes)
		return false;
	r = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (r == MAP_FAILED)
		return false;
	if (r->magic != EMU_RING_MAGIC || r->nslots != slots ||
	    r->slot_size != slot_size) {
		munmap(r, *bytes);
		return false;
	}
	*v = (struct emu_rview){ r, slots, slot_size };
	return true;
}

static struct d_rq *
find_rq(struct d_client *c, uint32_t id)
{
	for (struct d_rq *q = c->rqs; q; q = q->next)
		if (q->id == id)
			return q;
	return NULL;
}

static struct d_rss *
find_rss(struct d_client *c, uint32_t id)
{
	for (struct d_rss *r = c->rss; r; r = r->next)
		if (r->id == id)
			return r;
	return NULL;
}

static void
rule_free(struct daemon *d, struct d_rule *r)
{
	emu__port_del_rule(&d->port, &r->r);
	if (r->rq)
		r->rq->users--;
	if (r->rss)
		r->rss->users--;
	free(r);
}

static void
rss_free(struct d_rss *r)
{
	for (uint32_t i = 0; i < (1u << r->log_size); i++)
		r->wq[i]->users--;
	free(r);
}

static void
rq_free(struct d_rq *q)
{
	munmap(q->ring.r, q->bytes);
	if (q->chan_fd >= 0)
		close(q->chan_fd);
	free(q);
}

static void
client_drop(struct daemon *d, struct d_client *c)
{
	struct d_client **pp;

	while (c->rules) {
		struct d_rule *r = c->rules;

		c->rules = r->next;
		rule_free(d, r);
	}
	while (c->rss) {
		struct d_rss *r = c->rss;

		c->rss = r->next;
		rss_free(r);
	}
	while (c->rqs) {
		struct d_rq *q = c->rqs;

		c->rqs = q->next;
		rq_free(q);
	}
	if (c->tx.r)
		munmap(c->tx.r, c->tx_bytes);
	for (pp = &d->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	fprintf(stderr, "vsemu: %s: client %d gone, its rules removed\n",
		d->dev, (int)c->pid);
	close(c->fd);
	d->nclients--;
	free(c);
}

/* --- requests: each checks every field it uses; returns an errno --- */

struct req {
	struct emu_msg *m;
	int fds[2];
	int nfds;
	int reply_fd; /* passed back with the reply, or -1 */
};

/* Takes fd i of the request (the caller closes those not taken). */
static int
take_fd(struct req *q, int i)
{
	int fd = q->fds[i];

	q->fds[i] = -1;
	return fd;
}

static int
h_hello(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_hello *h = &q->m->u.hello;
	struct emu_msg_hello_reply *r = &q->m->u.hello_reply;
	uint32_t slots = h->tx_slots, slot_size = h->slot_size;

	if (h->version != EMU_PROTO_VERSION)
		return EPROTONOSUPPORT;
	if (c->tx.r || q->nfds != 1 ||
	    !map_ring(q->fds[0], slots, slot_size, &c->tx_bytes, &c->tx))
		return EINVAL;
	memset(r, 0, sizeof(*r));
	memcpy(r->mac, d->port.mac, 6);
	r->mtu = d->port.mtu;
	snprintf(r->netdev, sizeof(r->netdev), "%s", d->netdev);
	q->reply_fd = d->doorbell;
	return 0;
}

static int
h_add_rq(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_rq *m = &q->m->u.rq;
	struct d_rq *rq;

	(void)d;
	int type = 0;
	socklen_t tlen = sizeof(type);

	if (q->nfds != 1 + !!m->has_channel || find_rq(c, m->id) ||
	    c->nrqs >= MAX_RQS)
		return EINVAL;
	/* The channel: a stream socket (see deliver_rq), nothing else. */
	if (m->has_channel &&
	    (getsockopt(q->fds[1], SOL_SOCKET, SO_TYPE, &type, &tlen) ||
	     type != SOCK_STREAM))
		return EINVAL;
	rq = calloc(1, sizeof(*rq));
	if (!rq)
		return ENOMEM;
	if (!map_ring(q->fds[0], m->slots, m->slot_size, &rq->bytes,
		      &rq->ring)) {
		free(rq);
		return EINVAL;
	}
	rq->id = m->id;
	rq->chan_fd = m->has_channel ? take_fd(q, 1) : -1;
	rq->next = c->rqs;
	c->rqs = rq;
	c->nrqs++;
	return 0;
}

static int
h_del_rq(struct daemon *d, struct d_client *c, struct req *q)
{
	(void)d;
	for (struct d_rq **pp = &c->rqs; *pp; pp = &(*pp)->next) {
		struct d_rq *rq = *pp;

		if (rq->id != q->m->u.id)
			continue;
		if (rq->users)
			return EBUSY;
		*pp = rq->next;
		rq_free(rq);
		c->nrqs--;
		return 0;
	}
	return ENOENT;
}

static int
h_add_rss(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_rss *m = &q->m->u.rss;
	struct d_rss *r;

	(void)d;
	if (m->log_size > EMU_MAX_IND_LOG || !m->key_len || m->key_len > 64 ||
	    find_rss(c, m->id))
		return EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	for (uint32_t i = 0; i < (1u << m->log_size); i++) {
		r->wq[i] = find_rq(c, m->wq[i]);
		if (!r->wq[i]) {
			free(r);
			return ENOENT;
		}
	}
	for (uint32_t i = 0; i < (1u << m->log_size); i++)
		r->wq[i]->users++;
	r->id = m->id;
	r->key_len = m->key_len;
	memcpy(r->key, m->key, m->key_len);
	r->fields = m->fields;
	r->log_size = m->log_size;
	r->next = c->rss;
	c->rss = r;
	return 0;
}

static int
h_del_rss(struct daemon *d, struct d_client *c, struct req *q)
{
	(void)d;
	for (struct d_rss **pp = &c->rss; *pp; pp = &(*pp)->next) {
		struct d_rss *r = *pp;

		if (r->id != q->m->u.id)
			continue;
		if (r->users)
			return EBUSY;
		*pp = r->next;
		rss_free(r);
		return 0;
	}
	return ENOENT;
}

static int
h_add_rule(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_rule *m = &q->m->u.rule;
	struct d_rule *r;

	if (c->nrules >= MAX_RULES)
		return ENOSPC;
	if (m->type > IBV_FLOW_ATTR_SNIFFER || m->priority > 0xffff ||
	    (m->m.ipver != 0 && m->m.ipver != 4 && m->m.ipver != 6))
		return EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return ENOMEM;
	if (m->to_rss)
		r->rss = find_rss(c, m->target);
	else
		r->rq = find_rq(c, m->target);
	if (!r->rss && !r->rq) {
		free(r);
		return ENOENT;
	}
	r->id = m->id;
	r->r.type = m->type;
	r->r.priority = (uint16_t)m->priority;
	r->r.dont_trap = m->dont_trap;
	r->r.drop = m->drop;
	r->r.m = m->m;
	r->r.deliver = deliver;
	if (emu__port_add_rule(&d->port, &r->r)) {
		free(r);
		return ENOMEM;
	}
	if (r->rq)
		r->rq->users++;
	else
		r->rss->users++;
	r->next = c->rules;
	c->rules = r;
	c->nrules++;
	return 0;
}

static int
h_del_rule(struct daemon *d, struct d_client *c, struct req *q)
{
	for (struct d_rule **pp = &c->rules; *pp; pp = &(*pp)->next) {
		struct d_rule *r = *pp;

		if (r->id != q->m->u.id)
			continue;
		*pp = r->next;
		rule_free(d, r);
		c->nrules--;
		return 0;
	}
	return ENOENT;
}

static int
h_rule_hits(struct daemon *d, struct d_client *c, struct req *q)
{
	(void)d;
	for (struct d_rule *r = c->rules; r; r = r->next)
		if (r->id == q->m->u.id) {
			q->m->u.hits = r->r.hits;
			return 0;
		}
	return ENOENT;
}

static void
wire_numbers(const struct emu_wire *w, uint64_t out[6])
{
	const struct emu_wire_stats *s = w ? emu__wire_stats(w) : NULL;

	_Static_assert(sizeof(*s) == 6 * sizeof(*out), "wire stats layout");
	memset(out, 0, 6 * sizeof(*out));
	if (s)
		memcpy(out, s, sizeof(*s));
}

static int
h_stats(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_stats_reply *r = &q->m->u.stats;
	uint32_t rules = 0, queues = 0;

	(void)c;
	memset(r, 0, sizeof(*r));
	r->port = d->port.st;
	wire_numbers(d->port.wire_in, r->wire_in);
	wire_numbers(d->port.wire_out, r->wire_out);
	for (struct d_client *k = d->clients; k; k = k->next) {
		rules += (uint32_t)k->nrules;
		queues += (uint32_t)k->nrqs;
		/* Frames a queue's buffer could not hold: no receive posted
		 * in time. */
		for (struct d_rq *rq = k->rqs; rq; rq = rq->next)
			r->port.rx_no_wqe += atomic_load(&rq->ring.r->full);
	}
	r->clients = (uint32_t)d->nclients;
	r->rules = rules;
	r->queues = queues;
	return 0;
}

static int
set_impair(struct daemon *d, uint32_t dir, const char *spec, char *err,
	   size_t errlen)
{
	struct emu_wire **w = dir ? &d->port.wire_out : &d->port.wire_in;
	struct emu_wire_conf conf;

	if (dir > 1)
		return EINVAL;
	if (!*spec || strcmp(spec, "none") == 0) {
		emu__wire_free(*w);
		*w = NULL;
		return 0;
	}
	if (emu__wire_parse(spec, &conf, err, errlen) < 0)
		return EINVAL;
	emu__wire_free(*w);
	*w = emu__wire_new(&conf);
	return *w ? 0 : ENOMEM;
}

static int
h_impair(struct daemon *d, struct d_client *c, struct req *q)
{
	struct emu_msg_impair *m = &q->m->u.impair;
	char err[200];
	int rc;

	(void)c;
	m->spec[sizeof(m->spec) - 1] = '\0';
	rc = set_impair(d, m->dir, m->spec, err, sizeof(err));
	if (rc == EINVAL)
		snprintf(m->spec, sizeof(m->spec), "%s", err);
	return rc;
}

typedef int (*handler_fn)(struct daemon *, struct d_client *, struct req *);

static const handler_fn handlers[] = {
	[EMU_MSG_HELLO] = h_hello,	 [EMU_MSG_ADD_RQ] = h_add_rq,
	[EMU_MSG_DEL_RQ] = h_del_rq,	 [EMU_MSG_ADD_RSS] = h_add_rss,
	[EMU_MSG_DEL_RSS] = h_del_rss,	 [EMU_MSG_ADD_RULE] = h_add_rule,
	[EMU_MSG_DEL_RULE] = h_del_rule, [EMU_MSG_STATS] = h_stats,
	[EMU_MSG_SET_IMPAIR] = h_impair, [EMU_MSG_RULE_HITS] = h_rule_hits,
};

static void
reply(struct d_client *c, struct emu_msg *m, int rc, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *cm;

	m->type = EMU_MSG_REPLY;
	m->err = (uint32_t)rc;
	if (fd >= 0 && !rc) {
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		return; /* the client is gone; its hangup will follow */
}

/* Reads one request; false when the client must be dropped. */
static bool
client_request(struct daemon *d, struct d_client *c)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct emu_msg m;
	struct iovec iov = { &m, sizeof(m) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct req q = { .m = &m, .fds = { -1, -1 }, .reply_fd = -1 };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	int rc;

	if (n < 0 && errno == EAGAIN)
		return true;
	for (cm = CMSG_FIRSTHDR(&mh); n > 0 && cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_type == SCM_RIGHTS) {
			q.nfds = (int)((cm->cmsg_len - CMSG_LEN(0)) /
				       sizeof(int));
			q.nfds = q.nfds > 2 ? 2 : q.nfds;
			memcpy(q.fds, CMSG_DATA(cm),
			       sizeof(int) * (size_t)q.nfds);
		}
	if (n <= 0)
		return false;
	if (n != sizeof(m) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    m.type >= VS_ARRAY_SIZE(handlers) || !handlers[m.type] ||
	    (!c->tx.r && m.type != EMU_MSG_HELLO && m.type != EMU_MSG_STATS &&
	     m.type != EMU_MSG_SET_IMPAIR))
		rc = EPROTO;
	else
		rc = handlers[m.type](d, c, &q);
	for (int i = 0; i < 2; i++)
		if (q.fds[i] >= 0)
			close(q.fds[i]);
	reply(c, &m, rc, q.reply_fd);
	return true;
}

static void
client_accept(struct daemon *d)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ucred cred;
	socklen_t len = sizeof(cred);
	struct d_client *c;
	int fd = accept4(d->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	if (d->nclients >= MAX_CLIENTS || !(c = calloc(1, sizeof(*c)))) {
		fprintf(stderr, "vsemu: %s: too many clients, one refused\n",
			d->dev);
		close(fd);
		return;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
		c->pid = cred.pid;
	c->fd = fd;
	c->next = d->clients;
	d->clients = c;
	d->nclients++;
	ev.data.ptr = c;
	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* --- setup --- */

static int
open_wire(struct daemon *d)
{
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	int one = 1, big = 4 << 20;

	sll.sll_ifindex = (int)if_nametoindex(d->wire);
	if (!sll.sll_ifindex) {
		fprintf(stderr,
			"vsemu: no interface '%s' to use as the cable "
			"(see `ip link`)\n",
			d->wire);
		return -1;
	}
	d->wire_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC,
			    htons(ETH_P_ALL));
	if (d->wire_fd < 0 ||
	    bind(d->wire_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "vsemu: cable %s: %s%s\n", d->wire,
			strerror(errno),
			errno == EPERM ? " (needs CAP_NET_RAW: run as root)" :
					 "");
		return -1;
	}
	mr.mr_ifindex = sll.sll_ifindex;
	setsockopt(d->wire_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr,
		   sizeof(mr));
	setsockopt(d->wire_fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one));
	/* Our own transmissions are not frames from the cable. */
	setsockopt(d->wire_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		   sizeof(one));
	setsockopt(d->wire_fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(d->wire_fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	return 0;
}

static int
ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = s < 0 ? -1 : ioctl(s, req, ifr);

	if (s >= 0)
		close(s);
	return rc;
}

/*
 * A real ConnectX's cable is not a netdev. The interface used as one is,
 * and its kernel would answer ARP and neighbour solicitations for the
 * host's addresses on it (Linux answers for any local address on any
 * interface), so peers could reach the kernel around the emulated NIC.
 * Make it inert: no ARP, no IPv6.
 */
static int
silence_cable(struct daemon *d)
{
	struct ifreq ifr = { 0 };
	char path[128];
	int fd;

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", d->wire);
	if (ifreq_ioctl(SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_NOARP | IFF_UP;
	if (ifreq_ioctl(SIOCSIFFLAGS, &ifr) < 0)
		return -1;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6",
		 d->wire);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) != 1)
			fprintf(stderr,
				"vsemu: %s: cannot disable IPv6 on the "
				"cable\n",
				d->wire);
		close(fd);
	}
	return 0;
}

/* The TAP is the port's kernel netdev: the port's MAC and MTU, up. */
static int
open_tap(struct daemon *d)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI };

	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", d->netdev);
	d->tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (d->tap_fd < 0 || ioctl(d->tap_fd, TUNSETIFF, &ifr) < 0) {
		fprintf(stderr, "vsemu: netdev %s: %s%s\n", d->netdev,
			strerror(errno),
			errno == EPERM ? " (needs CAP_NET_ADMIN: run as root)" :
					 "");
		return -1;
	}
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, d->port.mac, 6);
	if (ifreq_ioctl(SIOCSIFHWADDR, &ifr) < 0)
		goto fail;
	ifr.ifr_mtu = (int)d->port.mtu;
	if (ifreq_ioctl(SIOCSIFMTU, &ifr) < 0)
		goto fail;
	if (ifreq_ioctl(SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ifreq_ioctl(SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	return 0;
fail:
	fprintf(stderr, "vsemu: netdev %s: %s\n", d->netdev, strerror(errno));
	return -1;
}

/* DIR/DEV/device/net/NETDEV, as /sys/class/infiniband/DEV has it. */
static void
mirror_sysfs(struct daemon *d, bool create)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/device/net/%s", d->sysdir, d->netdev);
	if (create) {
		const char *parts[] = { "", "/device", "/device/net" };

		for (size_t i = 0; i < VS_ARRAY_SIZE(parts); i++) {
			char p[256];

			snprintf(p, sizeof(p), "%s%s", d->sysdir, parts[i]);
			mkdir(p, 0755);
		}
		mkdir(path, 0755);
		return;
	}
	rmdir(path);
	snprintf(path, sizeof(path), "%s/device/net", d->sysdir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/device", d->sysdir);
	rmdir(path);
	rmdir(d->sysdir);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

static int
open_listen(struct daemon *d)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	mkdir(d->dir, 0755);
	fd = connect_to(d->sock);
	if (fd >= 0) {
		close(fd);
		fprintf(stderr,
			"vsemu: %s is already served by another "
			"vsemu\n",
			d->sock);
		return -1;
	}
	unlink(d->sock); /* left by a daemon that died */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock);
	d->listen_fd = socket(AF_UNIX,
			      SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* Raw packet access needs privilege: only root may connect, and
	 * the members of --group (as /dev/infiniband's rdma group); the
	 * client library still needs CAP_NET_RAW for a raw queue. */
	if (d->listen_fd < 0 ||
	    bind(d->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    (d->group != (gid_t)-1 && chown(d->sock, 0, d->group) < 0) ||
	    chmod(d->sock, d->group != (gid_t)-1 ? 0660 : 0600) < 0 ||
	    listen(d->listen_fd, 64) < 0) {
		fprintf(stderr, "vsemu: %s: %s\n", d->sock, strerror(errno));
		return -1;
	}
	return 0;
}

static void
epoll_add(struct daemon *d, int fd, void *tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = tag };

	epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static int
setup(struct daemon *d)
{
	d->wire_fd = d->tap_fd = d->listen_fd = d->epfd = d->doorbell = -1;
	d->port.priv = d;
	d->port.to_cable = to_cable;
	d->port.to_kernel = to_kernel;
	if (open_listen(d) < 0 || open_wire(d) < 0 || open_tap(d) < 0)
		return -1;
	if (silence_cable(d) < 0) {
		fprintf(stderr, "vsemu: cable %s: %s\n", d->wire,
			strerror(errno));
		return -1;
	}
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	d->doorbell = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (d->epfd < 0 || d->doorbell < 0)
		return -1;
	epoll_add(d, d->listen_fd, &d->listen_fd);
	epoll_add(d, d->wire_fd, &d->wire_fd);
	epoll_add(d, d->tap_fd, &d->tap_fd);
	epoll_add(d, d->doorbell, &d->doorbell);
	mirror_sysfs(d, true);
	return 0;
}

static void
teardown(struct daemon *d)
{
	while (d->clients)
		client_drop(d, d->clients);
	if (d->listen_fd >= 0) {
		close(d->listen_fd);
		unlink(d->sock);
	}
	mirror_sysfs(d, false);
	emu__wire_free(d->port.wire_in);
	emu__wire_free(d->port.wire_out);
	const int fds[] = { d->wire_fd, d->tap_fd, d->epfd, d->doorbell };

	for (size_t i = 0; i < VS_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

/* --- the loop --- */

static void
handle_events(struct daemon *d, int timeout_ms)
{
	struct epoll_event ev[32];
	uint64_t drain;
	int n = epoll_wait(d->epfd, ev, 32, timeout_ms);

	for (int i = 0; i < n; i++) {
		void *tag = ev[i].data.ptr;

		if (tag == &d->listen_fd)
			client_accept(d);
		else if (tag == &d->doorbell)
			(void)!read(d->doorbell, &drain, sizeof(drain));
		else if (tag != &d->wire_fd && tag != &d->tap_fd &&
			 ((ev[i].events & (EPOLLHUP | EPOLLERR)) ||
			  !client_request(d, tag)))
			client_drop(d, tag);
	}
}

static void
run(struct daemon *d)
{
	uint64_t idle_since = now_us();

	while (!stop) {
		int work = pump_tx(d) + pump_wire(d) + pump_tap(d);
		int timeout = 0;

		emu__port_tick(&d->port);
		flush_cable(d);
		/* Frames in flight on an impaired wire are due soon: keep
		 * polling until they are out. */
		if (work || emu__wire_busy(d->port.wire_in) ||
		    emu__wire_busy(d->port.wire_out)) {
			idle_since = now_us();
		} else if (now_us() - idle_since >= d->spin_us) {
			/* Sleep: say so, then look once more, so a frame
			 * queued in between is not left waiting. */
			set_sleeping(d, 1);
			if (!tx_pending(d))
				timeout = -1;
		}
		handle_events(d, timeout);
		if (timeout)
			set_sleeping(d, 0);
	}
}

/* --- command line --- */

static const char usage_text[] =
	"usage: vsemu [-d DEV] -w IFNAME [-n NETDEV] [-m MAC] [--mtu N]\n"
	"             [--dir DIR] [--impair-in SPEC] [--impair-out SPEC]\n"
	"             [--spin-us N] [--group GROUP]\n"
	"       vsemu stats [--dir DIR] DEV\n"
	"       vsemu impair [--dir DIR] DEV in|out SPEC|none\n"
	"\n"
	"Serves the emulated ConnectX port DEV (default mlx5_0): IFNAME is\n"
	"its cable, NETDEV (default vs<DEV>) a TAP that is its kernel\n"
	"netdev. Processes reach it through libvsemu at DIR/DEV.sock\n"
	"(default /run/vsemu). SPEC: loss=P,dup=P,reorder=P,corrupt=P,\n"
	"delay_us=N,rate_mbps=N,seed=N (P a probability 0..1). Only root,\n"
	"and members of GROUP, may connect.\n"
	"See vsemu(8).\n";

static int
parse_mac(const char *s, uint8_t mac[6])
{
	unsigned v[6];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &v[0], &v[1], &v[2], &v[3], &v[4],
		   &v[5], &extra) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (v[i] > 255)
			return -1;
		mac[i] = (uint8_t)v[i];
	}
	return (mac[0] & 1) ? -1 : 0; /* a port MAC is unicast */
}

static int
parse_opts(struct daemon *d, int argc, char **argv, const char **imp[2])
{
	static const struct option opts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "wire", required_argument, NULL, 'w' },
		{ "netdev", required_argument, NULL, 'n' },
		{ "mac", required_argument, NULL, 'm' },
		{ "mtu", required_argument, NULL, 'M' },
		{ "dir", required_argument, NULL, 'D' },
		{ "impair-in", required_argument, NULL, 'I' },
		{ "impair-out", required_argument, NULL, 'O' },
		{ "spin-us", required_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool mac_set = false;
	int c;

	while ((c = getopt_long(argc, argv, "d:w:n:m:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			snprintf(d->dev, sizeof(d->dev), "%s", optarg);
			break;
		case 'w':
			snprintf(d->wire, sizeof(d->wire), "%s", optarg);
			break;
		case 'n':
			snprintf(d->netdev, sizeof(d->netdev), "%s", optarg);
			break;
		case 'D':
			snprintf(d->dir, sizeof(d->dir), "%s", optarg);
			break;
		case 'I':
			*imp[0] = optarg;
			break;
		case 'O':
			*imp[1] = optarg;
			break;
		case 's':
			d->spin_us = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'g': {
			struct group *g = getgrnam(optarg);

			if (!g) {
				fprintf(stderr,
					"vsemu: --group %s: no such group\n",
					optarg);
				return -1;
			}
			d->group = g->gr_gid;
			break;
		}
		case 'M':
			d->port.mtu = (uint32_t)strtoul(optarg, NULL, 10);
			if (d->port.mtu < 68 || d->port.mtu > 9216) {
				fprintf(stderr,
					"vsemu: --mtu %s: expected "
					"68..9216\n",
					optarg);
				return -1;
			}
			break;
		case 'm':
			if (parse_mac(optarg, d->port.mac) < 0) {
				fprintf(stderr,
					"vsemu: --mac %s: expected a "
					"unicast aa:bb:cc:dd:ee:ff\n",
					optarg);
				return -1;
			}
			mac_set = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (optind != argc || !d->wire[0]) {
		fprintf(stderr, "vsemu: --wire IFNAME is required\n%s",
			usage_text);
		return -1;
	}
	if (!mac_set) {
		size_t n = strlen(d->dev);
		uint8_t def[6] = { 0x02, 0x76, 0x73, 0, 0, 0 };

		while (n && d->dev[n - 1] >= '0' && d->dev[n - 1] <= '9')
			n--;
		def[5] = (uint8_t)atoi(d->dev + n);
		memcpy(d->port.mac, def, 6);
	}
	return 0;
}

static int
cli_call(const char *dir, const char *dev, struct emu_msg *m)
{
	char path[108];
	int fd;

	snprintf(path, sizeof(path), "%s/%s.sock", dir, dev);
	fd = connect_to(path);
	if (fd < 0) {
		fprintf(stderr, "vsemu: no vsemu serves %s (%s: %s)\n", dev,
			path, strerror(errno));
		return -1;
	}
	if (send(fd, m, sizeof(*m), 0) != sizeof(*m) ||
	    recv(fd, m, sizeof(*m), 0) != sizeof(*m)) {
		fprintf(stderr, "vsemu: %s: no answer\n", dev);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int
cli_stats(const char *dir, const char *dev)
{
	static const char *const wn[] = { "frames",	"lost",
					  "duplicated", "reordered",
					  "corrupted",	"overflow" };
	struct emu_msg m = { .type = EMU_MSG_STATS };
	struct emu_msg_stats_reply *s = &m.u.stats;

	if (cli_call(dir, dev, &m) < 0 || m.err)
		return 1;
	printf("%s: %u clients, %u receive queues, %u rules\n", dev, s->clients,
	       s->queues, s->rules);
	printf("  tx_frames %llu tx_bytes %llu tx_cable_drop %llu "
	       "tx_malformed %llu rx_frames %llu rx_bytes %llu\n",
	       (unsigned long long)s->port.tx_frames,
	       (unsigned long long)s->port.tx_bytes,
	       (unsigned long long)s->port.tx_cable_drop,
	       (unsigned long long)s->port.tx_malformed,
	       (unsigned long long)s->port.rx_frames,
	       (unsigned long long)s->port.rx_bytes);
	printf("  rx_no_match %llu rx_rule_drop %llu rx_no_wqe %llu "
	       "rx_oversize %llu\n",
	       (unsigned long long)s->port.rx_no_match,
	       (unsigned long long)s->port.rx_rule_drop,
	       (unsigned long long)s->port.rx_no_wqe,
	       (unsigned long long)s->port.rx_oversize);
	for (int dirn = 0; dirn < 2; dirn++) {
		uint64_t *w = dirn ? s->wire_out : s->wire_in;

		printf("  wire_%s", dirn ? "out" : "in");
		for (int i = 0; i < 6; i++)
			printf(" %s %llu", wn[i], (unsigned long long)w[i]);
		printf("\n");
	}
	return 0;
}

static int
cli_impair(const char *dir, const char *dev, const char *which,
	   const char *spec)
{
	struct emu_msg m = { .type = EMU_MSG_SET_IMPAIR };

	if (strcmp(which, "in") && strcmp(which, "out")) {
		fprintf(stderr,
			"vsemu: impair: direction '%s': expected in "
			"or out\n",
			which);
		return 2;
	}
	m.u.impair.dir = strcmp(which, "out") == 0;
	snprintf(m.u.impair.spec, sizeof(m.u.impair.spec), "%s", spec);
	if (cli_call(dir, dev, &m) < 0)
		return 1;
	if (m.err) {
		fprintf(stderr, "vsemu: impair %s: %s\n", spec,
			m.err == EINVAL ? m.u.impair.spec :
					  strerror((int)m.err));
		return 1;
	}
	return 0;
}

/* "vsemu stats|impair [--dir DIR] ARGS...": returns -1 if not a command. */
static int
cli(int argc, char **argv)
{
	const char *dir = "/run/vsemu";
	int i = 2;

	if (argc < 2 || (strcmp(argv[1], "stats") && strcmp(argv[1], "impair")))
		return -1;
	if (argc > 3 && strcmp(argv[2], "--dir") == 0) {
		dir = argv[3];
		i = 4;
	}
	if (strcmp(argv[1], "stats") == 0 && argc - i == 1)
		return cli_stats(dir, argv[i]);
	if (strcmp(argv[1], "impair") == 0 && argc - i == 3)
		return cli_impair(dir, argv[i], argv[i + 1], argv[i + 2]);
	fputs(usage_text, stderr);
	return 2;
}

static int
apply_impair(struct daemon *d, const char *spec, uint32_t dir)
{
	char err[200];

	if (!spec || set_impair(d, dir, spec, err, sizeof(err)) == 0)
		return 0;
	fprintf(stderr, "vsemu: --impair-%s %s: %s\n", dir ? "out" : "in", spec,
		err);
	return -1;
}

int
main(int argc, char **argv)
{
	static struct daemon d = { .dev = "mlx5_0",
				   .dir = "/run/vsemu",
				   .spin_us = 50,
				   .group = (gid_t)-1,
				   .port.mtu = 1500 };
	const char *in = NULL, *out = NULL, **imp[2] = { &in, &out };
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = cli(argc, argv);

	if (rc >= 0)
		return rc;
	if (parse_opts(&d, argc, argv, imp) < 0)
		return 2;
	if (!d.netdev[0])
		snprintf(d.netdev, sizeof(d.netdev), "vs%.13s", d.dev);
	snprintf(d.sock, sizeof(d.sock), "%s/%s.sock", d.dir, d.dev);
	snprintf(d.sysdir, sizeof(d.sysdir), "%s/%s", d.dir, d.dev);
	if (apply_impair(&d, in, 0) < 0 || apply_impair(&d, out, 1) < 0)
		return 2;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&d) < 0) {
		teardown(&d);
		return 1;
	}
	fprintf(stderr,
		"vsemu: %s ready: cable %s, netdev %s, "
		"%02x:%02x:%02x:%02x:%02x:%02x, %s\n",
		d.dev, d.wire, d.netdev, d.port.mac[0], d.port.mac[1],
		d.port.mac[2], d.port.mac[3], d.port.mac[4], d.port.mac[5],
		d.sock);
	run(&d);
	teardown(&d);
	return 0;
}
