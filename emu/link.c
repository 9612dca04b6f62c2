// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sched.h>
#include <time.h>
#include <unistd.h>

#include "emu/link.h"
#include "emu/ring.h"

#define TX_SLOTS 4096
#define RX_SLOTS 4096

struct emu_link {
	int sock;
	int doorbell;
	struct emu_rview tx;
	size_t tx_bytes;
	uint32_t slot_size;
	uint32_t next_rule;
	char netdev[EMU_NETDEV_MAX];
};

static uint32_t
slot_size_for(uint32_t mtu)
{
	/* Frame (MTU + Ethernet + VLAN) and slot header, cache aligned. */
	return (mtu + 18 + (uint32_t)sizeof(struct emu_slot) + 63) & ~63u;
}

/* Sends a request with optional fds and waits for its reply. */
static int
call(struct emu_link *l, struct emu_msg *m, const int *fds, int nfds, int *rfd)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;
	ssize_t n;

	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(l->sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		return errno ? errno : EIO;
	memset(cbuf, 0, sizeof(cbuf));
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	n = recvmsg(l->sock, &mh, MSG_CMSG_CLOEXEC);
	if (n != (ssize_t)sizeof(*m) || m->type != EMU_MSG_REPLY)
		return n < 0 ? errno : EPROTO;
	c = CMSG_FIRSTHDR(&mh);
	if (rfd && c && c->cmsg_type == SCM_RIGHTS)
		memcpy(rfd, CMSG_DATA(c), sizeof(int));
	return (int)m->err;
}

/* A ring in a sealed memfd: its size is fixed for good, so that the
 * daemon, which maps it too, cannot be made to fault by a shrink. */
static int
ring_new(uint32_t slots, uint32_t slot_size, int *fd, size_t *bytes,
	 struct emu_rview *v)
{
	void *r;
	int rc;

	*bytes = emu_ring_bytes(slots, slot_size);
	*fd = memfd_create("vsemu-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (*fd < 0)
		return errno;
	if (ftruncate(*fd, (off_t)*bytes) < 0 ||
	    fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) <
		    0)
		goto fail;
	r = mmap(NULL, *bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (r == MAP_FAILED)
		goto fail;
	*v = emu_ring_init(r, slots, slot_size);
	return 0;
fail:
	rc = errno;
	close(*fd);
	return rc;
}

static int
link_hello(struct emu_link *l, struct emu_port *p)
{
	struct emu_msg m = { .type = EMU_MSG_HELLO };
	int fd, rc;

	/* The port's MTU is not known yet: size slots for jumbo frames. */
	l->slot_size = slot_size_for(9216);
	rc = ring_new(TX_SLOTS, l->slot_size, &fd, &l->tx_bytes, &l->tx);
	if (rc)
		return rc;
	m.u.hello.version = EMU_PROTO_VERSION;
	m.u.hello.tx_slots = TX_SLOTS;
	m.u.hello.slot_size = l->slot_size;
	l->doorbell = -1;
	rc = call(l, &m, &fd, 1, &l->doorbell);
	close(fd);
	if (rc)
		return rc;
	if (l->doorbell < 0)
		return EPROTO;
	memcpy(p->mac, m.u.hello_reply.mac, 6);
	p->mtu = m.u.hello_reply.mtu;
	memcpy(l->netdev, m.u.hello_reply.netdev, EMU_NETDEV_MAX);
	l->netdev[EMU_NETDEV_MAX - 1] = '\0';
	return 0;
}

int
emu__link_open(struct emu_port *p, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct emu_link *l = calloc(1, sizeof(*l));
	int rc;

	if (!l)
		return ENOMEM;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	l->sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (l->sock < 0 ||
	    connect(l->sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = errno == EACCES ? EPERM : ENODEV;
		goto fail;
	}
	rc = link_hello(l, p);
	if (rc)
		goto fail;
	p->link = l;
	return 0;
fail:
	if (l->tx.r)
		munmap(l->tx.r, l->tx_bytes);
	if (l->sock >= 0)
		close(l->sock);
	free(l);
	return rc;
}

void
emu__link_forget(struct emu_link *l)
{
	munmap(l->tx.r, l->tx_bytes);
	close(l->doorbell);
	close(l->sock);
	free(l);
}

const char *
emu__link_netdev(const struct emu_link *l)
{
	return l->netdev;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void
kick(struct emu_link *l)
{
	uint64_t one = 1;

	if (atomic_load_explicit(&l->tx.r->sleeping, memory_order_seq_cst) &&
	    write(l->doorbell, &one, sizeof(one)) < 0)
		return;
}

/*
 * A NIC does not drop what its own queues send: when the TX ring is full
 * the send waits for the daemon to drain it (as a send queue would hold
 * the WQE). Only a daemon that stops draining for a second loses frames,
 * counted in the ring's `full`.
 */
void
emu__link_send(struct emu_link *l, const uint8_t *f, uint32_t len)
{
	uint64_t deadline = 0;

	while (!emu_ring_put(&l->tx, f, len, 0)) {
		kick(l);
		if (!deadline)
			deadline = now_ms() + 1000;
		else if (now_ms() > deadline) {
			atomic_fetch_add(&l->tx.r->full, 1);
			return;
		}
		sched_yield();
	}
	kick(l);
}

int
emu__link_add_rq(struct emu_link *l, struct emu_rq *rq, int chan_fd)
{
	struct emu_msg m = { .type = EMU_MSG_ADD_RQ };
	int fds[2], rc;

	rc = ring_new(RX_SLOTS, l->slot_size, &fds[0], &rq->ring_bytes,
		      &rq->ring);
	if (rc)
		return rc;
	fds[1] = chan_fd;
	m.u.rq.id = rq->num;
	m.u.rq.slots = RX_SLOTS;
	m.u.rq.slot_size = l->slot_size;
	m.u.rq.has_channel = chan_fd >= 0;
	rc = call(l, &m, fds, chan_fd >= 0 ? 2 : 1, NULL);
	close(fds[0]);
	if (rc) {
		munmap(rq->ring.r, rq->ring_bytes);
		rq->ring.r = NULL;
	}
	return rc;
}

void
emu__link_del_rq(struct emu_link *l, struct emu_rq *rq)
{
	struct emu_msg m = { .type = EMU_MSG_DEL_RQ, .u.id = rq->num };

	if (!rq->ring.r)
		return;
	call(l, &m, NULL, 0, NULL);
	munmap(rq->ring.r, rq->ring_bytes);
	rq->ring.r = NULL;
}

int
emu__link_add_rss(struct emu_link *l, struct emu_qp *qp)
{
	struct emu_msg m = { .type = EMU_MSG_ADD_RSS };
	struct emu_msg_rss *r = &m.u.rss;

	r->id = qp->ibvx.qp_base.qp_num;
	r->key_len = qp->hash.rx_hash_key_len;
	memcpy(r->key, qp->hash_key, r->key_len);
	r->fields = qp->hash.rx_hash_fields_mask;
	r->log_size = qp->ind->log_size;
	for (uint32_t i = 0; i < (1u << r->log_size); i++)
		r->wq[i] = qp->ind->wqs[i]->ibv.wq_num;
	return call(l, &m, NULL, 0, NULL);
}

void
emu__link_del_rss(struct emu_link *l, struct emu_qp *qp)
{
	struct emu_msg m = { .type = EMU_MSG_DEL_RSS,
			     .u.id = qp->ibvx.qp_base.qp_num };

	call(l, &m, NULL, 0, NULL);
}

int
emu__link_add_rule(struct emu_link *l, struct emu_flow *fl)
{
	struct emu_msg m = { .type = EMU_MSG_ADD_RULE };
	struct emu_msg_rule *r = &m.u.rule;

	fl->remote_id = ++l->next_rule;
	r->id = fl->remote_id;
	r->to_rss = fl->qp->ind != NULL;
	r->target = fl->qp->ibvx.qp_base.qp_num;
	r->type = fl->rule.type;
	r->priority = fl->rule.priority;
	r->dont_trap = fl->rule.dont_trap;
	r->drop = fl->rule.drop;
	r->m = fl->rule.m;
	return call(l, &m, NULL, 0, NULL);
}

void
emu__link_del_rule(struct emu_link *l, struct emu_flow *fl)
{
	struct emu_msg m = { .type = EMU_MSG_DEL_RULE, .u.id = fl->remote_id };

	call(l, &m, NULL, 0, NULL);
}

int
emu__link_rule_hits(struct emu_link *l, struct emu_flow *fl, uint64_t *hits)
{
	struct emu_msg m = { .type = EMU_MSG_RULE_HITS, .u.id = fl->remote_id };
	int rc = call(l, &m, NULL, 0, NULL);

	if (!rc)
		*hits = m.u.hits;
	return rc;
}

int
emu__link_stats(struct emu_link *l, struct emu_msg_stats_reply *st)
{
	struct emu_msg m = { .type = EMU_MSG_STATS };
	int rc = call(l, &m, NULL, 0, NULL);

	if (!rc)
		*st = m.u.stats;
	return rc;
}

/*
 * Frames in the ring are in flight in the NIC's buffer: each takes a
 * posted receive when there is one, and waits otherwise (the daemon drops
 * and counts what overflows the ring). A queue not in RTR/RTS drops them.
 */
void
emu__rq_drain(struct emu_rq *rq)
{
	const uint8_t *data;
	uint32_t len, flags;

	if (!rq->ring.r)
		return;
	while ((data = emu_ring_peek(&rq->ring, &len, &flags)) != NULL) {
		struct emu_port_stats *st = &rq->ctx->port->st;

		if (*rq->state != IBV_QPS_RTR && *rq->state != IBV_QPS_RTS) {
			rq->not_ready++;
			st->rx_qp_not_ready++;
		} else if (!rq->count) {
			break;
		} else {
			emu__rq_deliver(rq, data, len,
					flags & EMU_SLOT_CSUM_OK);
		}
		emu_ring_pop(&rq->ring);
	}
}
