// SPDX-License-Identifier: MIT
/*
 * flow.c - the flow verbs (ibv_create_flow, ibv_destroy_flow) and the RSS
 * QP's choice of WQ. The rules themselves live in a port (fabric.c): in
 * this process for in-process ports, in the vsemu daemon otherwise.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu.h"
#include "emu/link.h"

struct emu_wq *
emu__rss_pick(struct emu_qp *qp, const uint8_t *frame, uint32_t len)
{
	uint32_t h = emu__rss_hash(qp->hash_key, qp->hash.rx_hash_key_len,
				   qp->hash.rx_hash_fields_mask, frame, len);

	return qp->ind->wqs[h & ((1u << qp->ind->log_size) - 1)];
}

/* The flow verbs. */

struct ibv_flow *
emu__create_flow(struct ibv_qp *iqp, struct ibv_flow_attr *a)
{
	const uint32_t known = IBV_FLOW_ATTR_FLAGS_DONT_TRAP;
	struct emu_qp *qp = to_eqp(iqp);
	struct emu_fabric *f = emu__fabric();
	struct emu_flow *fl;
	struct emu_port *port = to_ectx(iqp->context)->port;
	int rc = 0;

	EMU_FAULT_NULL("ibv_create_flow");
	if (a->comp_mask || (a->flags & ~known) || a->port != 1)
		rc = a->flags & IBV_FLOW_ATTR_FLAGS_EGRESS ? EOPNOTSUPP :
							     EINVAL;
	else if (a->type != IBV_FLOW_ATTR_NORMAL &&
		 a->type != IBV_FLOW_ATTR_ALL_DEFAULT &&
		 a->type != IBV_FLOW_ATTR_MC_DEFAULT &&
		 a->type != IBV_FLOW_ATTR_SNIFFER)
		rc = EINVAL;
	fl = rc ? NULL : calloc(1, sizeof(*fl));
	if (!rc && !fl)
		rc = ENOMEM;
	if (!rc) {
		struct ibv_counters *cs;

		rc = emu__flow_parse(a, &fl->rule.m, &cs, &fl->rule.drop);
		/* Counters count one flow, attached (described) first. */
		if (!rc && cs) {
			fl->counters =
				container_of(cs, struct emu_counters, ibv);
			if (fl->counters->flow || cs->context != iqp->context)
				rc = EINVAL;
		}
	}
	if (rc) {
		free(fl);
		errno = rc;
		return NULL;
	}
	fl->ibv.context = iqp->context;
	fl->qp = qp;
	fl->rule.type = a->type;
	fl->rule.priority = a->priority;
	fl->rule.dont_trap = a->flags & IBV_FLOW_ATTR_FLAGS_DONT_TRAP;
	fl->rule.deliver = emu__deliver_local;
	fl->rule.target = qp;
	pthread_mutex_lock(&f->lock);
	if (port->link)
		rc = emu__link_add_rule(port->link, fl);
	else
		rc = emu__port_add_rule(port, &fl->rule);
	if (!rc)
		qp->flows++;
	pthread_mutex_unlock(&f->lock);
	if (rc) {
		free(fl);
		errno = rc;
		return NULL;
	}
	if (fl->counters)
		fl->counters->flow = fl;
	return &fl->ibv;
}

int
emu__destroy_flow(struct ibv_flow *flow)
{
	struct emu_flow *fl = container_of(flow, struct emu_flow, ibv);
	struct emu_fabric *f = emu__fabric();
	struct emu_port *port = to_ectx(flow->context)->port;

	EMU_FAULT_RC("ibv_destroy_flow");
	pthread_mutex_lock(&f->lock);
	if (port->link)
		emu__link_del_rule(port->link, fl);
	else
		emu__port_del_rule(port, &fl->rule);
	fl->qp->flows--;
	if (fl->counters)
		fl->counters->flow = NULL;
	pthread_mutex_unlock(&f->lock);
	free(fl);
	return 0;
}

/* The counters verbs: a packet count per flow (IBV_COUNTER_PACKETS). */

struct ibv_counters *
emu__create_counters(struct ibv_context *ctx, struct ibv_counters_init_attr *a)
{
	struct emu_counters *c;

	EMU_FAULT_NULL("ibv_create_counters");
	if (a && a->comp_mask) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	c->ibv.context = ctx;
	c->pkt_index = -1;
	return &c->ibv;
}

int
emu__destroy_counters(struct ibv_counters *cs)
{
	struct emu_counters *c = container_of(cs, struct emu_counters, ibv);

	if (c->flow)
		return EBUSY;
	free(c);
	return 0;
}

/* As on mlx5: described before the flow is created (flow NULL). */
int
emu__attach_counters(struct ibv_counters *cs, struct ibv_counter_attach_attr *a,
		     struct ibv_flow *flow)
{
	struct emu_counters *c = container_of(cs, struct emu_counters, ibv);

	EMU_FAULT_RC("ibv_attach_counters_point_flow");
	if (flow || !a || a->comp_mask || a->index > 63)
		return EINVAL;
	if (a->counter_desc != IBV_COUNTER_PACKETS)
		return EOPNOTSUPP; /* the emulator counts frames, not bytes */
	c->pkt_index = (int)a->index;
	c->nattached =
		a->index + 1 > c->nattached ? a->index + 1 : c->nattached;
	return 0;
}

int
emu__read_counters(struct ibv_counters *cs, uint64_t *v, uint32_t n,
		   uint32_t flags)
{
	struct emu_counters *c = container_of(cs, struct emu_counters, ibv);
	struct emu_fabric *f = emu__fabric();
	struct emu_port *port = to_ectx(cs->context)->port;
	uint64_t hits = 0;
	int rc = 0;

	(void)flags;
	EMU_FAULT_RC("ibv_read_counters");
	if (n < c->nattached)
		return EINVAL;
	memset(v, 0, sizeof(*v) * n);
	pthread_mutex_lock(&f->lock);
	if (c->flow && port->link)
		rc = emu__link_rule_hits(port->link, c->flow, &hits);
	else if (c->flow)
		hits = c->flow->rule.hits;
	pthread_mutex_unlock(&f->lock);
	if (!rc && c->pkt_index >= 0)
		v[c->pkt_index] = hits;
	return rc;
}
