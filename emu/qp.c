// SPDX-License-Identifier: MIT
/*
 * qp.c - RAW_PACKET QPs, WQs and indirection tables: creation with limits,
 * the state machine, posting, and the execution of work requests.
 *
 * Contract (rdma-core man pages, mlx5 behaviour):
 *  - post_send before RTS fails with EINVAL; post_recv in RESET fails with
 *    EINVAL, and receives posted in INIT are kept; frames are delivered
 *    only in RTR and RTS.
 *  - Checks made when posting (errno, *bad_wr set): state, opcode, SGE
 *    count, inline size, queue full (ENOMEM).
 *  - Checks made when the work request executes (an error completion,
 *    and the QP moves to ERR): lkey and bounds (IBV_WC_LOC_PROT_ERR),
 *    receive buffer too short or frame size invalid (IBV_WC_LOC_LEN_ERR).
 *  - In ERR every posted and newly posted work request completes with
 *    IBV_WC_WR_FLUSH_ERR; RESET discards them and cleans the CQs.
 *  - Destroying an object still in use (flows on a QP, a WQ in a table,
 *    a table under a QP) fails with EBUSY.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "emu/emu.h"
#include "emu/link.h"

static struct emu_cq *
ecq(struct ibv_cq *cq)
{
	return cq ? to_ecq(cq) : NULL;
}

static void
push_wc(struct emu_cq *cq, uint64_t wr_id, enum ibv_wc_status st,
	enum ibv_wc_opcode op, uint32_t qpn, uint32_t len, unsigned flags,
	struct emu_qp *sq_owner, uint32_t retired)
{
	struct emu_cqe e = {
		.wc = { .wr_id = wr_id,
			.status = st,
			.opcode = op,
			.qp_num = qpn,
			.byte_len = len,
			.wc_flags = flags },
		.sq_owner = sq_owner,
		.sq_retired = retired,
	};

	emu__cq_push(cq, &e);
}

/* Completes every posted receive with a flush error. */
static void
rq_flush(struct emu_rq *rq)
{
	while (rq->count) {
		struct emu_rwqe *w = &rq->wqe[rq->head];

		push_wc(rq->cq, w->wr_id, IBV_WC_WR_FLUSH_ERR, IBV_WC_RECV,
			rq->num, 0, 0, NULL, 0);
		rq->head = (rq->head + 1) % rq->size;
		rq->count--;
	}
}

void
emu__qp_to_err(struct emu_qp *qp)
{
	struct ibv_qp *q = &qp->ibvx.qp_base;

	if (q->state == IBV_QPS_ERR)
		return;
	q->state = IBV_QPS_ERR;
	if (qp->rq.cq)
		rq_flush(&qp->rq);
	/* Unsignaled sends already executed retire without completions. */
	qp->sq_outstanding -= qp->sq_unsignaled;
	qp->sq_unsignaled = 0;
}

static void
rq_fail_qp(struct emu_rq *rq)
{
	emu__qp_to_err(container_of(rq, struct emu_qp, rq));
}

/* max_wr 0: no receive queue (a send-only QP); posting finds it full. */
static int
rq_init(struct emu_rq *rq, uint32_t max_wr, uint32_t max_sge, struct emu_cq *cq,
	uint32_t num, enum ibv_qp_state *state)
{
	rq->size = max_wr ? vs_pow2_at_least(max_wr) : 0;
	rq->wqe = calloc(rq->size ? rq->size : 1, sizeof(*rq->wqe));
	if (!rq->wqe)
		return ENOMEM;
	rq->max_sge = max_sge ? max_sge : 1;
	rq->cq = cq;
	rq->num = num;
	rq->state = state;
	return 0;
}

/* Removes the completions of QP number qpn from a CQ (mlx5_cq_clean). */
static void
cq_clean(struct emu_cq *cq, uint32_t qpn)
{
	uint32_t kept = 0;

	if (!cq)
		return;
	for (uint32_t i = 0; i < cq->count; i++) {
		struct emu_cqe *e = &cq->ring[(cq->head + i) % cq->size];

		if (e->wc.qp_num != qpn)
			cq->ring[(cq->head + kept++) % cq->size] = *e;
	}
	cq->count = kept;
}

/* Joins rq to its CQ and, on a daemon's port, gives it a ring there.
 * The caller holds the fabric lock. */
static int
rq_attach(struct emu_rq *rq, struct emu_context *ctx)
{
	struct emu_link *link = ctx->port->link;
	struct ibv_comp_channel *ch = rq->cq->ibv.channel;
	int rc = 0;

	rq->ctx = ctx;
	if (link && rq->size)
		rc = emu__link_add_rq(
			link, rq,
			ch ? container_of(ch, struct emu_channel, ibv)->tok :
			     -1);
	if (rc)
		return rc;
	rq->cq_next = rq->cq->rqs;
	rq->cq->rqs = rq;
	return 0;
}

static void
rq_detach(struct emu_rq *rq)
{
	for (struct emu_rq **pp = &rq->cq->rqs; *pp; pp = &(*pp)->cq_next)
		if (*pp == rq) {
			*pp = rq->cq_next;
			break;
		}
	if (rq->ring.r)
		emu__link_del_rq(rq->ctx->port->link, rq);
}

static int
check_caps(const struct ibv_qp_cap *cap)
{
	if (cap->max_send_wr > EMU_MAX_QP_WR ||
	    cap->max_recv_wr > EMU_MAX_QP_WR ||
	    cap->max_send_sge > EMU_MAX_SGE ||
	    cap->max_recv_sge > EMU_MAX_SGE ||
	    cap->max_inline_data > EMU_MAX_INLINE)
		return EINVAL;
	return 0;
}

static int
qp_check_attr(struct ibv_qp_init_attr_ex *a, bool rss)
{
	const uint32_t known = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_RX_HASH |
			       IBV_QP_INIT_ATTR_IND_TABLE;

	if (a->qp_type != IBV_QPT_RAW_PACKET)
		return EOPNOTSUPP; /* only raw packet work is emulated */
	if ((a->comp_mask & ~known) || a->srq)
		return EOPNOTSUPP;
	if (!(a->comp_mask & IBV_QP_INIT_ATTR_PD) || !a->pd)
		return EINVAL;
	if (!emu__has_net_raw())
		return EPERM;
	if (rss) {
		if (!(a->comp_mask & IBV_QP_INIT_ATTR_IND_TABLE) ||
		    !a->rwq_ind_tbl || a->cap.max_send_wr ||
		    a->rx_hash_conf.rx_hash_function !=
			    IBV_RX_HASH_FUNC_TOEPLITZ ||
		    a->rx_hash_conf.rx_hash_key_len > 64 ||
		    !a->rx_hash_conf.rx_hash_key_len)
			return EINVAL;
		return 0;
	}
	if (!a->send_cq || !a->recv_cq)
		return EINVAL;
	return check_caps(&a->cap);
}

static struct emu_qp *
qp_alloc(struct ibv_context *c, struct ibv_qp_init_attr_ex *a)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_qp *qp = calloc(1, sizeof(*qp));
	struct ibv_qp *q;

	if (!qp)
		return NULL;
	q = &qp->ibvx.qp_base;
	q->context = c;
	q->qp_context = a->qp_context;
	q->pd = a->pd;
	q->send_cq = a->send_cq;
	q->recv_cq = a->recv_cq;
	q->qp_type = a->qp_type;
	q->state = IBV_QPS_RESET;
	pthread_mutex_init(&q->mutex, NULL);
	pthread_cond_init(&q->cond, NULL);
	pthread_mutex_lock(&f->lock);
	q->qp_num = f->next_qpn++;
	q->handle = q->qp_num;
	pthread_mutex_unlock(&f->lock);
	return qp;
}

static int
qp_setup_queues(struct emu_qp *qp, struct ibv_qp_init_attr_ex *a)
{
	struct ibv_qp *q = &qp->ibvx.qp_base;
	int rc;

	rc = rq_init(&qp->rq, a->cap.max_recv_wr, a->cap.max_recv_sge,
		     ecq(a->recv_cq), q->qp_num, &q->state);
	if (rc)
		return rc;
	qp->rq.fail = rq_fail_qp;
	qp->sq_size =
		vs_pow2_at_least(a->cap.max_send_wr ? a->cap.max_send_wr : 1);
	qp->max_send_sge = a->cap.max_send_sge ? a->cap.max_send_sge : 1;
	qp->max_inline = a->cap.max_inline_data;
	qp->sq_sig_all = a->sq_sig_all;
	qp->send_cq = ecq(a->send_cq);
	/* Report what was really allocated, as providers do. */
	a->cap.max_send_wr = qp->sq_size;
	a->cap.max_recv_wr = qp->rq.size;
	a->cap.max_send_sge = qp->max_send_sge;
	a->cap.max_recv_sge = qp->rq.max_sge;
	return 0;
}

static void
qp_link(struct emu_qp *qp, int delta)
{
	struct ibv_qp *q = &qp->ibvx.qp_base;

	container_of(q->pd, struct emu_pd, ibv)->users += delta;
	if (qp->send_cq)
		qp->send_cq->users += delta;
	if (qp->rq.cq)
		qp->rq.cq->users += delta;
	if (qp->ind)
		qp->ind->users += delta;
}

static struct ibv_qp *
qp_create(struct ibv_context *c, struct ibv_qp_init_attr_ex *a)
{
	struct emu_fabric *f = emu__fabric();
	bool rss = a->comp_mask & IBV_QP_INIT_ATTR_RX_HASH;
	struct emu_qp *qp;
	int rc = qp_check_attr(a, rss);

	if (rc) {
		errno = rc;
		return NULL;
	}
	qp = qp_alloc(c, a);
	if (!qp) {
		errno = ENOMEM;
		return NULL;
	}
	if (rss) {
		qp->ind =
			container_of(a->rwq_ind_tbl, struct emu_ind_table, ibv);
		qp->hash = a->rx_hash_conf;
		memcpy(qp->hash_key, a->rx_hash_conf.rx_hash_key,
		       a->rx_hash_conf.rx_hash_key_len);
		qp->hash.rx_hash_key = qp->hash_key;
		/* An RSS QP has no queues of its own and is usable at once. */
		qp->port = to_ectx(c)->port;
	} else if ((rc = qp_setup_queues(qp, a)) != 0) {
		free(qp);
		errno = rc;
		return NULL;
	}
	pthread_mutex_lock(&f->lock);
	if (rss && qp->port->link)
		rc = emu__link_add_rss(qp->port->link, qp);
	else if (!rss)
		rc = rq_attach(&qp->rq, to_ectx(c));
	if (rc) {
		pthread_mutex_unlock(&f->lock);
		free(qp->rq.wqe);
		free(qp);
		errno = rc;
		return NULL;
	}
	qp_link(qp, 1);
	qp->next = f->qps;
	f->qps = qp;
	pthread_mutex_unlock(&f->lock);
	return &qp->ibvx.qp_base;
}

static struct ibv_qp *
create_qp_ex(struct ibv_context *c, struct ibv_qp_init_attr_ex *a)
{
	EMU_FAULT_NULL("ibv_create_qp_ex");
	return qp_create(c, a);
}

#undef ibv_create_qp
EMU_EXPORT struct ibv_qp *
ibv_create_qp(struct ibv_pd *pd, struct ibv_qp_init_attr *attr)
{
	struct ibv_qp_init_attr_ex a = { 0 };
	struct ibv_qp *qp;

	EMU_FAULT_NULL("ibv_create_qp");
	memcpy(&a, attr, sizeof(*attr));
	a.comp_mask = IBV_QP_INIT_ATTR_PD;
	a.pd = pd;
	qp = qp_create(pd->context, &a);
	if (qp)
		attr->cap = a.cap;
	return qp;
}

/* May the QP go from cur to next (IB spec 10.3.1, raw packet subset)? */
static bool
transition_ok(enum ibv_qp_state cur, enum ibv_qp_state next, int mask)
{
	if (next == IBV_QPS_RESET || next == IBV_QPS_ERR)
		return true;
	switch (cur) {
	case IBV_QPS_RESET:
		return next == IBV_QPS_INIT && (mask & IBV_QP_PORT);
	case IBV_QPS_INIT:
		return next == IBV_QPS_INIT || next == IBV_QPS_RTR;
	case IBV_QPS_RTR:
		return next == IBV_QPS_RTS;
	case IBV_QPS_RTS:
		return next == IBV_QPS_RTS;
	default:
		return false;
	}
}

static void
qp_reset(struct emu_qp *qp)
{
	struct ibv_qp *q = &qp->ibvx.qp_base;

	qp->rq.head = qp->rq.count = 0;
	qp->sq_outstanding = qp->sq_unsignaled = 0;
	cq_clean(qp->rq.cq, q->qp_num);
	if (qp->send_cq != qp->rq.cq)
		cq_clean(qp->send_cq, q->qp_num);
	q->state = IBV_QPS_RESET;
}

EMU_EXPORT int
ibv_modify_qp(struct ibv_qp *q, struct ibv_qp_attr *attr, int mask)
{
	struct emu_qp *qp = to_eqp(q);
	struct emu_fabric *f = emu__fabric();
	int rc = 0;

	EMU_FAULT_RC("ibv_modify_qp");
	if (!(mask & IBV_QP_STATE))
		return 0; /* nothing a raw packet QP keeps changes */
	if (qp->ind)
		return EINVAL; /* RSS QPs have no state to move */
	pthread_mutex_lock(&f->lock);
	if ((mask & IBV_QP_CUR_STATE) && attr->cur_qp_state != q->state)
		rc = EINVAL;
	else if (!transition_ok(q->state, attr->qp_state, mask))
		rc = EINVAL;
	else if ((mask & IBV_QP_PORT) && attr->port_num != 1)
		rc = EINVAL;
	if (rc)
		goto out;
	if (q->state == IBV_QPS_RESET && attr->qp_state == IBV_QPS_INIT)
		qp->port = to_ectx(q->context)->port;
	if (attr->qp_state == IBV_QPS_ERR)
		emu__qp_to_err(qp);
	else if (attr->qp_state == IBV_QPS_RESET)
		qp_reset(qp);
	else
		q->state = attr->qp_state;
out:
	pthread_mutex_unlock(&f->lock);
	return rc;
}

EMU_EXPORT int
ibv_query_qp(struct ibv_qp *q, struct ibv_qp_attr *attr, int mask,
	     struct ibv_qp_init_attr *init)
{
	struct emu_qp *qp = to_eqp(q);

	(void)mask;
	memset(attr, 0, sizeof(*attr));
	memset(init, 0, sizeof(*init));
	attr->qp_state = q->state;
	attr->cur_qp_state = q->state;
	attr->port_num = 1;
	attr->cap.max_send_wr = qp->sq_size;
	attr->cap.max_recv_wr = qp->rq.size;
	attr->cap.max_send_sge = qp->max_send_sge;
	attr->cap.max_recv_sge = qp->rq.max_sge;
	attr->cap.max_inline_data = qp->max_inline;
	init->qp_context = q->qp_context;
	init->send_cq = q->send_cq;
	init->recv_cq = q->recv_cq;
	init->cap = attr->cap;
	init->qp_type = q->qp_type;
	init->sq_sig_all = qp->sq_sig_all;
	return 0;
}

EMU_EXPORT int
ibv_destroy_qp(struct ibv_qp *q)
{
	struct emu_qp *qp = to_eqp(q), **pp;
	struct emu_fabric *f = emu__fabric();

	pthread_mutex_lock(&f->lock);
	if (qp->flows) {
		pthread_mutex_unlock(&f->lock);
		return EBUSY;
	}
	for (pp = &f->qps; *pp; pp = &(*pp)->next)
		if (*pp == qp) {
			*pp = qp->next;
			break;
		}
	if (qp->ind && qp->port->link)
		emu__link_del_rss(qp->port->link, qp);
	else if (!qp->ind)
		rq_detach(&qp->rq);
	cq_clean(qp->rq.cq, q->qp_num);
	cq_clean(qp->send_cq, q->qp_num);
	qp_link(qp, -1);
	pthread_mutex_unlock(&f->lock);
	pthread_mutex_destroy(&q->mutex);
	pthread_cond_destroy(&q->cond);
	free(qp->rq.wqe);
	free(qp);
	return 0;
}

/* Posting receives to a QP's RQ or to a WQ; the caller holds the lock. */
static int
rq_post(struct emu_rq *rq, struct ibv_recv_wr *wr, struct ibv_recv_wr **bad)
{
	for (; wr; wr = wr->next) {
		struct emu_rwqe *w;

		if (wr->num_sge < 0 || (uint32_t)wr->num_sge > rq->max_sge ||
		    rq->count == rq->size) {
			*bad = wr;
			return wr->num_sge < 0 || (uint32_t)wr->num_sge >
							  rq->max_sge ?
				       EINVAL :
				       ENOMEM;
		}
		if (*rq->state == IBV_QPS_ERR) {
			push_wc(rq->cq, wr->wr_id, IBV_WC_WR_FLUSH_ERR,
				IBV_WC_RECV, rq->num, 0, 0, NULL, 0);
			continue;
		}
		w = &rq->wqe[(rq->head + rq->count++) % rq->size];
		w->wr_id = wr->wr_id;
		w->num_sge = wr->num_sge;
		memcpy(w->sge, wr->sg_list,
		       sizeof(*wr->sg_list) * (size_t)wr->num_sge);
	}
	return 0;
}

int
emu__post_recv(struct ibv_qp *q, struct ibv_recv_wr *wr,
	       struct ibv_recv_wr **bad)
{
	struct emu_qp *qp = to_eqp(q);
	struct emu_fabric *f = emu__fabric();
	int rc = emu__fault("ibv_post_recv");

	if (rc) {
		*bad = wr;
		return rc;
	}

	pthread_mutex_lock(&f->lock);
	if (qp->ind || q->state == IBV_QPS_RESET) {
		*bad = wr;
		rc = EINVAL;
	} else {
		rc = rq_post(&qp->rq, wr, bad);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* The memory an SGE names, if its lkey and bounds are valid. */
static uint8_t *
sge_mem(struct emu_context *ctx, const struct ibv_sge *s, unsigned need)
{
	struct emu_mr *mr = emu__mr_find(ctx, s->lkey);
	uintptr_t start, end;

	if (!mr || (mr->access & need) != need)
		return NULL;
	start = (uintptr_t)mr->ibv.addr;
	end = start + mr->ibv.length;
	if (s->addr < start || s->addr > end || s->length > end - s->addr)
		return NULL;
	return (uint8_t *)(uintptr_t)s->addr;
}

void
emu__rq_deliver(struct emu_rq *rq, const uint8_t *frame, uint32_t len,
		bool csum_ok)
{
	struct emu_context *ctx = rq->ctx;
	struct emu_rwqe *w = &rq->wqe[rq->head];
	enum ibv_wc_status st = IBV_WC_SUCCESS;
	uint32_t room = 0, off = 0;

	rq->head = (rq->head + 1) % rq->size;
	rq->count--;
	for (int i = 0; i < w->num_sge; i++) {
		/* The device writes: the MR needs local write access. */
		if (!sge_mem(ctx, &w->sge[i], IBV_ACCESS_LOCAL_WRITE))
			st = IBV_WC_LOC_PROT_ERR;
		room += w->sge[i].length;
	}
	if (st == IBV_WC_SUCCESS && len > room)
		st = IBV_WC_LOC_LEN_ERR;
	for (int i = 0; st == IBV_WC_SUCCESS && off < len; i++) {
		uint32_t n = w->sge[i].length < len - off ? w->sge[i].length :
							    len - off;

		memcpy((void *)(uintptr_t)w->sge[i].addr, frame + off, n);
		off += n;
	}
	push_wc(rq->cq, w->wr_id, st, IBV_WC_RECV, rq->num,
		st == IBV_WC_SUCCESS ? len : 0,
		st == IBV_WC_SUCCESS && csum_ok ? IBV_WC_IP_CSUM_OK : 0, NULL,
		0);
	if (st != IBV_WC_SUCCESS)
		rq->fail(rq);
}

/* Post-time checks of one send work request (errno value or 0). */
static int
send_check(struct emu_qp *qp, const struct ibv_send_wr *wr)
{
	uint32_t inl = 0;

	if (wr->opcode != IBV_WR_SEND || wr->num_sge < 0 ||
	    (uint32_t)wr->num_sge > qp->max_send_sge)
		return EINVAL;
	if (wr->send_flags & IBV_SEND_INLINE) {
		for (int i = 0; i < wr->num_sge; i++)
			inl += wr->sg_list[i].length;
		if (inl > qp->max_inline)
			return EINVAL;
	}
	if (qp->sq_outstanding == qp->sq_size)
		return ENOMEM;
	return 0;
}

/* Gathers the frame; returns a completion status. */
static enum ibv_wc_status
send_gather(struct emu_qp *qp, const struct ibv_send_wr *wr, uint8_t *frame,
	    uint32_t *len)
{
	struct emu_context *ctx = to_ectx(qp->ibvx.qp_base.context);
	bool inl = wr->send_flags & IBV_SEND_INLINE;
	uint32_t n = 0;

	for (int i = 0; i < wr->num_sge; i++) {
		const struct ibv_sge *s = &wr->sg_list[i];
		const uint8_t *src = inl ? (const uint8_t *)(uintptr_t)s->addr :
					   sge_mem(ctx, s, 0);

		if (!src)
			return IBV_WC_LOC_PROT_ERR;
		if (s->length > EMU_MAX_FRAME - n)
			return IBV_WC_LOC_LEN_ERR;
		memcpy(frame + n, src, s->length);
		n += s->length;
	}
	*len = n;
	/* An Ethernet header, and no more than the port's MTU carries. */
	if (n < 14 || n > qp->port->mtu + 18)
		return IBV_WC_LOC_LEN_ERR;
	return IBV_WC_SUCCESS;
}

static void
send_one(struct emu_qp *qp, const struct ibv_send_wr *wr, uint8_t *frame)
{
	struct ibv_qp *q = &qp->ibvx.qp_base;
	bool signaled = qp->sq_sig_all || (wr->send_flags & IBV_SEND_SIGNALED);
	enum ibv_wc_status st = IBV_WC_WR_FLUSH_ERR;
	uint32_t len = 0;

	qp->sq_outstanding++;
	if (q->state != IBV_QPS_ERR)
		st = send_gather(qp, wr, frame, &len);
	if (st == IBV_WC_SUCCESS) {
		if (wr->send_flags & IBV_SEND_IP_CSUM)
			emu__frame_fill_csum(frame, len);
		emu__port_transmit(qp->port, qp, frame, len);
	}
	/* Errors always complete, signaled or not. */
	if (signaled || st != IBV_WC_SUCCESS) {
		push_wc(qp->send_cq, wr->wr_id, st, IBV_WC_SEND, q->qp_num, len,
			0, qp, qp->sq_unsignaled + 1);
		qp->sq_unsignaled = 0;
	} else {
		qp->sq_unsignaled++;
	}
	if (st != IBV_WC_SUCCESS && st != IBV_WC_WR_FLUSH_ERR)
		emu__qp_to_err(qp);
}

int
emu__post_send(struct ibv_qp *q, struct ibv_send_wr *wr,
	       struct ibv_send_wr **bad)
{
	static _Thread_local uint8_t frame[EMU_MAX_FRAME];
	struct emu_qp *qp = to_eqp(q);
	struct emu_fabric *f = emu__fabric();
	int rc = emu__fault("ibv_post_send");

	if (rc) {
		*bad = wr;
		return rc;
	}
	pthread_mutex_lock(&f->lock);
	for (; wr; wr = wr->next) {
		if (qp->ind ||
		    (q->state != IBV_QPS_RTS && q->state != IBV_QPS_ERR))
			rc = EINVAL;
		else
			rc = send_check(qp, wr);
		if (rc) {
			*bad = wr;
			break;
		}
		send_one(qp, wr, frame);
	}
	pthread_mutex_unlock(&f->lock);
	return rc;
}

/* Work queues (receive queues behind an RSS QP). */

static void
rq_fail_wq(struct emu_rq *rq)
{
	struct emu_wq *wq = container_of(rq, struct emu_wq, rq);

	wq->qstate = IBV_QPS_ERR;
	wq->ibv.state = IBV_WQS_ERR;
	rq_flush(rq);
}

static int
wq_post_recv(struct ibv_wq *iwq, struct ibv_recv_wr *wr,
	     struct ibv_recv_wr **bad)
{
	struct emu_wq *wq = container_of(iwq, struct emu_wq, ibv);
	struct emu_fabric *f = emu__fabric();
	int rc = emu__fault("ibv_post_wq_recv");

	if (rc) {
		*bad = wr;
		return rc;
	}

	pthread_mutex_lock(&f->lock);
	rc = rq_post(&wq->rq, wr, bad);
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static struct ibv_wq *
create_wq(struct ibv_context *c, struct ibv_wq_init_attr *a)
{
	struct emu_fabric *f = emu__fabric();
	struct emu_wq *wq;
	int rc = 0;

	EMU_FAULT_NULL("ibv_create_wq");
	if (a->wq_type != IBV_WQT_RQ || a->comp_mask)
		rc = EOPNOTSUPP;
	else if (!a->pd || !a->cq || a->max_wr > EMU_MAX_QP_WR ||
		 a->max_sge > EMU_MAX_SGE)
		rc = EINVAL;
	wq = rc ? NULL : calloc(1, sizeof(*wq));
	if (!rc && !wq)
		rc = ENOMEM;
	if (rc) {
		errno = rc;
		return NULL;
	}
	pthread_mutex_lock(&f->lock);
	wq->ibv.wq_num = f->next_qpn++;
	pthread_mutex_unlock(&f->lock);
	/* A WQ in RESET keeps posted receives, like a QP in INIT. */
	wq->qstate = IBV_QPS_INIT;
	if (rq_init(&wq->rq, a->max_wr, a->max_sge, to_ecq(a->cq),
		    wq->ibv.wq_num, &wq->qstate)) {
		free(wq);
		errno = ENOMEM;
		return NULL;
	}
	wq->rq.fail = rq_fail_wq;
	wq->ibv.context = c;
	wq->ibv.wq_context = a->wq_context;
	wq->ibv.pd = a->pd;
	wq->ibv.cq = a->cq;
	wq->ibv.wq_type = IBV_WQT_RQ;
	wq->ibv.state = IBV_WQS_RESET;
	wq->ibv.post_recv = wq_post_recv;
	pthread_mutex_init(&wq->ibv.mutex, NULL);
	pthread_cond_init(&wq->ibv.cond, NULL);
	a->max_wr = wq->rq.size;
	a->max_sge = wq->rq.max_sge;
	pthread_mutex_lock(&f->lock);
	rc = rq_attach(&wq->rq, to_ectx(c));
	if (!rc) {
		container_of(a->pd, struct emu_pd, ibv)->users++;
		wq->rq.cq->users++;
	}
	pthread_mutex_unlock(&f->lock);
	if (rc) {
		free(wq->rq.wqe);
		free(wq);
		errno = rc;
		return NULL;
	}
	return &wq->ibv;
}

static int
modify_wq(struct ibv_wq *iwq, struct ibv_wq_attr *a)
{
	struct emu_wq *wq = container_of(iwq, struct emu_wq, ibv);
	struct emu_fabric *f = emu__fabric();
	int rc = 0;

	EMU_FAULT_RC("ibv_modify_wq");
	if (!(a->attr_mask & IBV_WQ_ATTR_STATE))
		return 0;
	pthread_mutex_lock(&f->lock);
	switch (a->wq_state) {
	case IBV_WQS_RESET:
		wq->rq.head = wq->rq.count = 0;
		cq_clean(wq->rq.cq, iwq->wq_num);
		wq->qstate = IBV_QPS_INIT;
		break;
	case IBV_WQS_RDY:
		if (iwq->state == IBV_WQS_ERR)
			rc = EINVAL;
		else
			wq->qstate = IBV_QPS_RTR; /* delivers, like RTR */
		break;
	case IBV_WQS_ERR:
		wq->qstate = IBV_QPS_ERR;
		rq_flush(&wq->rq);
		break;
	default:
		rc = EINVAL;
	}
	if (!rc)
		iwq->state = a->wq_state;
	pthread_mutex_unlock(&f->lock);
	return rc;
}

static int
destroy_wq(struct ibv_wq *iwq)
{
	struct emu_wq *wq = container_of(iwq, struct emu_wq, ibv);
	struct emu_fabric *f = emu__fabric();

	pthread_mutex_lock(&f->lock);
	if (wq->users) {
		pthread_mutex_unlock(&f->lock);
		return EBUSY;
	}
	rq_detach(&wq->rq);
	cq_clean(wq->rq.cq, iwq->wq_num);
	wq->rq.cq->users--;
	container_of(iwq->pd, struct emu_pd, ibv)->users--;
	pthread_mutex_unlock(&f->lock);
	free(wq->rq.wqe);
	free(wq);
	return 0;
}

static struct ibv_rwq_ind_table *
create_ind_table(struct ibv_context *c, struct ibv_rwq_ind_table_init_attr *a)
{
	struct emu_fabric *f = emu__fabric();
	uint32_t n = 1u << a->log_ind_tbl_size;
	struct emu_ind_table *t;

	EMU_FAULT_NULL("ibv_create_rwq_ind_table");
	if (a->log_ind_tbl_size > EMU_MAX_IND_LOG || a->comp_mask) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (t)
		t->wqs = calloc(n, sizeof(*t->wqs));
	if (!t || !t->wqs) {
		free(t);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&f->lock);
	for (uint32_t i = 0; i < n; i++) {
		t->wqs[i] = container_of(a->ind_tbl[i], struct emu_wq, ibv);
		t->wqs[i]->users++;
	}
	t->ibv.ind_tbl_num = f->next_qpn++;
	pthread_mutex_unlock(&f->lock);
	t->log_size = a->log_ind_tbl_size;
	t->ibv.context = c;
	t->ibv.ind_tbl_handle = t->ibv.ind_tbl_num;
	return &t->ibv;
}

static int
destroy_ind_table(struct ibv_rwq_ind_table *it)
{
	struct emu_ind_table *t = container_of(it, struct emu_ind_table, ibv);
	struct emu_fabric *f = emu__fabric();

	pthread_mutex_lock(&f->lock);
	if (t->users) {
		pthread_mutex_unlock(&f->lock);
		return EBUSY;
	}
	for (uint32_t i = 0; i < (1u << t->log_size); i++)
		t->wqs[i]->users--;
	pthread_mutex_unlock(&f->lock);
	free(t->wqs);
	free(t);
	return 0;
}

void
emu__qp_context_ops(struct emu_context *ctx)
{
	struct verbs_context *v = &ctx->vctx;

	v->create_qp_ex = create_qp_ex;
	v->create_wq = create_wq;
	v->modify_wq = modify_wq;
	v->destroy_wq = destroy_wq;
	v->create_rwq_ind_table = create_ind_table;
	v->destroy_rwq_ind_table = destroy_ind_table;
	v->ibv_create_flow = emu__create_flow;
	v->ibv_destroy_flow = emu__destroy_flow;
	v->create_counters = emu__create_counters;
	v->destroy_counters = emu__destroy_counters;
	v->attach_counters_point_flow = emu__attach_counters;
	v->read_counters = emu__read_counters;
	v->context.ops.post_send = emu__post_send;
	v->context.ops.post_recv = emu__post_recv;
}
