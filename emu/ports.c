// SPDX-License-Identifier: MIT
/*
 * ports.c - the library's ports: delivering what an in-process port's
 * rules steer, sending (into the in-process cable or the daemon's TX
 * ring), moving frames along when the application polls, and the
 * emulator's counters API (vsemu.h).
 */
#include <errno.h>
#include <string.h>

#include "emu/link.h"
#include "emu/ring.h"
#include "emu/vsemu.h"
#include "emu/wire.h"

void
emu__deliver_local(struct emu_rule *r, const uint8_t *frame, uint32_t len)
{
	struct emu_qp *qp = r->target;
	struct emu_port *p = to_ectx(qp->ibvx.qp_base.context)->port;
	struct emu_rq *rq =
		qp->ind ? &emu__rss_pick(qp, frame, len)->rq : &qp->rq;

	if (*rq->state != IBV_QPS_RTR && *rq->state != IBV_QPS_RTS)
		p->st.rx_qp_not_ready++;
	else if (!rq->count)
		p->st.rx_no_wqe++;
	else
		emu__rq_deliver(rq, frame, len, emu__frame_csum_ok(frame, len));
}

void
emu__port_transmit(struct emu_port *p, struct emu_qp *qp, const uint8_t *frame,
		   uint32_t len)
{
	(void)qp;
	if (p->link)
		emu__link_send(p->link, frame, len);
	else
		emu__port_egress(p, frame, len);
}

void
emu__fabric_tick(struct emu_fabric *f, struct emu_cq *cq)
{
	for (int i = 0; i < f->nports; i++)
		if (!f->port[i].link)
			emu__port_tick(&f->port[i]);
	for (struct emu_rq *rq = cq ? cq->rqs : NULL; rq; rq = rq->cq_next)
		emu__rq_drain(rq);
}

EMU_EXPORT int
vsemu_port_stats(struct ibv_context *ctx, struct vsemu_port_stats *st)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_port *p = to_ectx(ctx)->port;
	struct emu_msg_stats_reply r;
	int rc = 0;

	_Static_assert(sizeof(*st) == sizeof(p->st), "stats layout");
	pthread_mutex_lock(&f->lock);
	memcpy(st, &p->st, sizeof(*st));
	/* On a daemon's port the daemon counts the wire; this process
	 * counts what its own queues could not take. */
	if (p->link && !(rc = emu__link_stats(p->link, &r))) {
		memcpy(st, &r.port, sizeof(*st));
		st->rx_no_wqe += p->st.rx_no_wqe;
		st->rx_qp_not_ready += p->st.rx_qp_not_ready;
	}
	pthread_mutex_unlock(&f->lock);
	return -rc;
}

EMU_EXPORT int
vsemu_wire_stats(struct ibv_context *ctx, struct vsemu_wire_stats *st)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_port *p = to_ectx(ctx)->port;

	_Static_assert(sizeof(*st) == sizeof(struct emu_wire_stats),
		       "wire stats layout");
	if (!p->wire_out)
		return -ENOENT;
	pthread_mutex_lock(&f->lock);
	memcpy(st, emu__wire_stats(p->wire_out), sizeof(*st));
	pthread_mutex_unlock(&f->lock);
	return 0;
}

EMU_EXPORT uint64_t
vsemu_flow_hits(struct ibv_flow *flow)
{
	struct emu_fabric *f = emu__fabric();
	uint64_t n;

	pthread_mutex_lock(&f->lock);
	n = container_of(flow, struct emu_flow, ibv)->rule.hits;
	pthread_mutex_unlock(&f->lock);
	return n;
}
