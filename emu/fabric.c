// SPDX-License-Identifier: MIT
/*
 * fabric.c - what happens to a frame between two emulated ports: the
 * sending port's sniffers, the cable (with its impairment), and on the
 * receiving port the flow table, which steers, copies (DONT_TRAP), drops,
 * or leaves the frame to the kernel.
 *
 * Rule order, as mlx5 steering resolves it: lower priority value first;
 * within a priority the more specific rule (more mask bits) first; then
 * the older rule. A matching rule without DONT_TRAP ends the walk; with
 * DONT_TRAP the QP gets a copy and the walk goes on. ALL_DEFAULT and
 * MC_DEFAULT rules take what no NORMAL rule took. Sniffer rules see every
 * frame in both directions. A frame sent by a QP never comes back to its
 * own port (no self-loopback); only sniffers on that port see it.
 */
#include "emu/emu.h"
#include "emu/wire.h"

static void
deliver_qp(struct emu_port *p, struct emu_qp *qp, const uint8_t *frame,
	   uint32_t len, bool csum_ok)
{
	struct emu_context *ctx = to_ectx(qp->ibvx.qp_base.context);
	struct emu_rq *rq = &qp->rq;

	if (qp->ind) {
		struct emu_wq *wq = emu__rss_pick(qp, frame, len);

		rq = &wq->rq;
		ctx = to_ectx(wq->ibv.context);
	}
	if (*rq->state != IBV_QPS_RTR && *rq->state != IBV_QPS_RTS) {
		p->st.rx_qp_not_ready++;
		return;
	}
	if (!rq->count) {
		p->st.rx_no_wqe++;
		return;
	}
	emu__rq_deliver(rq, ctx, frame, len, csum_ok);
}

static void
sniff(struct emu_port *p, const uint8_t *frame, uint32_t len, bool csum_ok)
{
	for (struct emu_flow *fl = p->flows; fl; fl = fl->next)
		if (fl->type == IBV_FLOW_ATTR_SNIFFER) {
			fl->hits++;
			deliver_qp(p, fl->qp, frame, len, csum_ok);
		}
}

/* True when a comes before b in the walk. */
static bool
before(const struct emu_flow *a, const struct emu_flow *b)
{
	if (a->priority != b->priority)
		return a->priority < b->priority;
	if (a->m.specificity != b->m.specificity)
		return a->m.specificity > b->m.specificity;
	return a->seq < b->seq;
}

/* The first NORMAL rule after prev (NULL: the very first) that matches. */
static struct emu_flow *
next_match(struct emu_port *p, const struct emu_flow *prev,
	   const uint8_t *frame, uint32_t len)
{
	struct emu_flow *best = NULL;

	for (struct emu_flow *fl = p->flows; fl; fl = fl->next) {
		if (fl->type != IBV_FLOW_ATTR_NORMAL ||
		    (prev && !before(prev, fl)) || (best && !before(fl, best)))
			continue;
		if (emu__flow_match(&fl->m, frame, len))
			best = fl;
	}
	return best;
}

static bool
default_rule(struct emu_port *p, const uint8_t *frame, uint32_t len,
	     bool csum_ok)
{
	bool mcast = frame[0] & 1;

	for (struct emu_flow *fl = p->flows; fl; fl = fl->next) {
		if (fl->type == IBV_FLOW_ATTR_ALL_DEFAULT ||
		    (mcast && fl->type == IBV_FLOW_ATTR_MC_DEFAULT)) {
			fl->hits++;
			deliver_qp(p, fl->qp, frame, len, csum_ok);
			return true;
		}
	}
	return false;
}

static void
port_receive(void *arg, const uint8_t *frame, uint32_t len)
{
	struct emu_port *p = arg;
	bool csum_ok = emu__frame_csum_ok(frame, len);
	struct emu_flow *fl = NULL;

	p->st.rx_frames++;
	p->st.rx_bytes += len;
	sniff(p, frame, len, csum_ok);
	while ((fl = next_match(p, fl, frame, len)) != NULL) {
		fl->hits++;
		if (fl->drop) {
			p->st.rx_rule_drop++;
			return;
		}
		deliver_qp(p, fl->qp, frame, len, csum_ok);
		if (!fl->dont_trap)
			return;
	}
	if (!default_rule(p, frame, len, csum_ok))
		p->st.rx_no_match++; /* the kernel's (vsemu: to the TAP) */
}

void
emu__port_transmit(struct emu_port *p, struct emu_qp *qp, const uint8_t *frame,
		   uint32_t len)
{
	(void)qp;
	p->st.tx_frames++;
	p->st.tx_bytes += len;
	sniff(p, frame, len, emu__frame_csum_ok(frame, len));
	if (!p->peer)
		return;
	if (p->wire)
		emu__wire_send(p->wire, frame, len, port_receive, p->peer);
	else
		port_receive(p->peer, frame, len);
}

void
emu__fabric_tick(struct emu_fabric *f)
{
	for (int i = 0; i < f->nports; i++)
		if (f->port[i].wire && f->port[i].peer)
			emu__wire_tick(f->port[i].wire, port_receive,
				       f->port[i].peer);
}

/* The emulator's own API (vsemu.h). */
#include <errno.h>
#include <string.h>

#include "emu/vsemu.h"

EMU_EXPORT int
vsemu_port_stats(struct ibv_context *ctx, struct vsemu_port_stats *st)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_port *p = to_ectx(ctx)->port;

	_Static_assert(sizeof(*st) == sizeof(p->st), "stats layout");
	pthread_mutex_lock(&f->lock);
	memcpy(st, &p->st, sizeof(*st));
	pthread_mutex_unlock(&f->lock);
	return 0;
}

EMU_EXPORT int
vsemu_wire_stats(struct ibv_context *ctx, struct vsemu_wire_stats *st)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_port *p = to_ectx(ctx)->port;

	_Static_assert(sizeof(*st) == sizeof(struct emu_wire_stats),
		       "wire stats layout");
	if (!p->wire)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	memcpy(st, emu__wire_stats(p->wire), sizeof(*st));
	pthread_mutex_unlock(&f->lock);
	return 0;
}

EMU_EXPORT uint64_t
vsemu_flow_hits(struct ibv_flow *flow)
{
	struct emu_fabric *f = emu__fabric();
	uint64_t n;

	pthread_mutex_lock(&f->lock);
	n = container_of(flow, struct emu_flow, ibv)->hits;
	pthread_mutex_unlock(&f->lock);
	return n;
}
