// SPDX-License-Identifier: MIT
/*
 * cq.c - completion queues: creation (plain and extended), polling through
 * ibv_poll_cq and through ibv_start_poll/next_poll/end_poll, notification
 * through a completion channel, and overrun.
 *
 * An overrun (a completion arriving when the CQ holds `cqe` entries) is
 * what the hardware reports: the completion is lost, the CQ is in error
 * and an IBV_EVENT_CQ_ERR async event is raised, unless the CQ was created
 * with IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "emu/emu.h"
#include "emu/ring.h"

#define SUPPORTED_WC_FLAGS                                                     \
	(IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_IMM |                        \
	 IBV_WC_EX_WITH_QP_NUM | IBV_WC_EX_WITH_SRC_QP | IBV_WC_EX_WITH_SLID | \
	 IBV_WC_EX_WITH_SL | IBV_WC_EX_WITH_DLID_PATH_BITS)

static void
notify(struct emu_cq *cq)
{
	struct emu_channel *ch;

	if (!cq->armed || !cq->ibv.channel)
		return;
	ch = container_of(cq->ibv.channel, struct emu_channel, ibv);
	if (ch->count == VS_ARRAY_SIZE(ch->q))
		return; /* one event per armed CQ, so this cannot fill */
	cq->armed = false;
	ch->q[(ch->head + ch->count++) % VS_ARRAY_SIZE(ch->q)] = cq;
	cq->events_pending++;
	if (!emu__channel_token(ch->tok))
		ch->count--;
}

bool
emu__cq_push(struct emu_cq *cq, const struct emu_cqe *e)
{
	if (cq->overrun || cq->count == (uint32_t)cq->ibv.cqe) {
		if (!cq->overrun && !cq->ignore_overrun) {
			struct ibv_async_event ev = {
				.element.cq = ibv_cq_ex_to_cq(&cq->ibv),
				.event_type = IBV_EVENT_CQ_ERR,
			};

			emu__async_event(to_ectx(cq->ibv.context), &ev);
			cq->overrun = true;
		}
		return false;
	}
	cq->ring[(cq->head + cq->count++) % cq->size] = *e;
	notify(cq);
	return true;
}

/* Takes the oldest completion; the caller holds the fabric lock. */
static bool
cq_pop(struct emu_cq *cq, struct emu_cqe *out)
{
	if (!cq->count)
		return false;
	*out = cq->ring[cq->head];
	cq->head = (cq->head + 1) % cq->size;
	cq->count--;
	/* The hardware frees send queue slots when their completion is
	 * consumed, unsignaled WQEs with the next signaled one. */
	if (out->sq_owner)
		out->sq_owner->sq_outstanding -= out->sq_retired;
	return true;
}

int
emu__poll_cq(struct ibv_cq *icq, int n, struct ibv_wc *wc)
{
	struct emu_cq *cq = to_ecq(icq);
	struct emu_fabric *f = emu__fabric();
	struct emu_cqe e;
	int i;

	int fault = emu__fault("ibv_poll_cq");

	if (n < 0)
		return -1;
	if (fault) { /* as a provider's poll error: negative */
		errno = fault;
		return -1;
	}
	pthread_mutex_lock(&f->lock);
	emu__fabric_tick(f, cq);
	for (i = 0; i < n && cq_pop(cq, &e); i++)
		wc[i] = e.wc;
	pthread_mutex_unlock(&f->lock);
	return i;
}

int
emu__req_notify_cq(struct ibv_cq *icq, int solicited_only)
{
	struct emu_cq *cq = to_ecq(icq);
	struct emu_fabric *f = emu__fabric();

	(void)solicited_only; /* raw packet completions are all "solicited" */
	EMU_FAULT_RC("ibv_req_notify_cq");
	pthread_mutex_lock(&f->lock);
	cq->armed = true;
	/* On a daemon's port, frames reach the CQ through rings: ask the
	 * daemon to kick the channel when it fills one. */
	for (struct emu_rq *rq = cq->rqs; rq; rq = rq->cq_next)
		if (rq->ring.r)
			atomic_store(&rq->ring.r->armed, 1);
	pthread_mutex_unlock(&f->lock);
	return 0;
}

/* Extended polling: the entry being read lives in cq->cur. */
static int
start_poll(struct ibv_cq_ex *x, struct ibv_poll_cq_attr *attr)
{
	struct emu_cq *cq = container_of(x, struct emu_cq, ibv);
	struct emu_fabric *f = emu__fabric();

	if (attr->comp_mask)
		return EINVAL;
	/* As with mlx5, the lock is held from start_poll to end_poll. */
	pthread_mutex_lock(&f->lock);
	emu__fabric_tick(f, cq);
	if (!cq_pop(cq, &cq->cur)) {
		pthread_mutex_unlock(&f->lock);
		return ENOENT;
	}
	x->wr_id = cq->cur.wc.wr_id;
	x->status = cq->cur.wc.status;
	return 0;
}

static int
next_poll(struct ibv_cq_ex *x)
{
	struct emu_cq *cq = container_of(x, struct emu_cq, ibv);

	if (!cq_pop(cq, &cq->cur))
		return ENOENT;
	x->wr_id = cq->cur.wc.wr_id;
	x->status = cq->cur.wc.status;
	return 0;
}

static void
end_poll(struct ibv_cq_ex *x)
{
	(void)x;
	pthread_mutex_unlock(&emu__fabric()->lock);
}

#define CUR(x) (&container_of(x, struct emu_cq, ibv)->cur.wc)

static enum ibv_wc_opcode
read_opcode(struct ibv_cq_ex *x)
{
	return CUR(x)->opcode;
}

static uint32_t
read_vendor_err(struct ibv_cq_ex *x)
{
	return CUR(x)->vendor_err;
}

static uint32_t
read_byte_len(struct ibv_cq_ex *x)
{
	return CUR(x)->byte_len;
}

static __be32
read_imm_data(struct ibv_cq_ex *x)
{
	return CUR(x)->imm_data;
}

static uint32_t
read_qp_num(struct ibv_cq_ex *x)
{
	return CUR(x)->qp_num;
}

static uint32_t
read_src_qp(struct ibv_cq_ex *x)
{
	return CUR(x)->src_qp;
}

static unsigned int
read_wc_flags(struct ibv_cq_ex *x)
{
	return CUR(x)->wc_flags;
}

static uint32_t
read_slid(struct ibv_cq_ex *x)
{
	return CUR(x)->slid;
}

static uint8_t
read_sl(struct ibv_cq_ex *x)
{
	return CUR(x)->sl;
}

static uint8_t
read_dlid_path_bits(struct ibv_cq_ex *x)
{
	return CUR(x)->dlid_path_bits;
}

void
emu__cq_ops(struct emu_cq *cq)
{
	struct ibv_cq_ex *x = &cq->ibv;

	x->start_poll = start_poll;
	x->next_poll = next_poll;
	x->end_poll = end_poll;
	x->read_opcode = read_opcode;
	x->read_vendor_err = read_vendor_err;
	x->read_byte_len = read_byte_len;
	x->read_imm_data = read_imm_data;
	x->read_qp_num = read_qp_num;
	x->read_src_qp = read_src_qp;
	x->read_wc_flags = read_wc_flags;
	x->read_slid = read_slid;
	x->read_sl = read_sl;
	x->read_dlid_path_bits = read_dlid_path_bits;
}

static struct emu_cq *
cq_new(struct ibv_context *c, int cqe, void *cq_context,
       struct ibv_comp_channel *channel, uint32_t comp_vector)
{
	struct emu_cq *cq;
	uint32_t size;

	EMU_FAULT_NULL("ibv_create_cq");
	if (cqe < 1 || cqe >= EMU_MAX_CQE || comp_vector >= 1) {
		errno = EINVAL;
		return NULL;
	}
	/* Like mlx5: a power of two above the request, reported minus one. */
	size = vs_pow2_at_least((uint32_t)cqe + 1);
	cq = calloc(1, sizeof(*cq));
	if (cq)
		cq->ring = calloc(size, sizeof(*cq->ring));
	if (!cq || !cq->ring) {
		free(cq);
		errno = ENOMEM;
		return NULL;
	}
	cq->size = size;
	cq->ibv.context = c;
	cq->ibv.channel = channel;
	cq->ibv.cq_context = cq_context;
	cq->ibv.cqe = (int)size - 1;
	pthread_mutex_init(&cq->ibv.mutex, NULL);
	pthread_cond_init(&cq->ibv.cond, NULL);
	emu__cq_ops(cq);
	if (channel) {
		struct emu_channel *ch =
			container_of(channel, struct emu_channel, ibv);

		pthread_mutex_lock(&emu__fabric()->lock);
		channel->refcnt++;
		cq->chan_next = ch->cqs;
		ch->cqs = cq;
		pthread_mutex_unlock(&emu__fabric()->lock);
	}
	to_ectx(c)->users++;
	return cq;
}

EMU_EXPORT struct ibv_cq *
ibv_create_cq(struct ibv_context *c, int cqe, void *cq_context,
	      struct ibv_comp_channel *channel, int comp_vector)
{
	struct emu_cq *cq;

	if (comp_vector < 0) {
		errno = EINVAL;
		return NULL;
	}
	cq = cq_new(c, cqe, cq_context, channel, (uint32_t)comp_vector);
	return cq ? ibv_cq_ex_to_cq(&cq->ibv) : NULL;
}

static struct ibv_cq_ex *
create_cq_ex(struct ibv_context *c, struct ibv_cq_init_attr_ex *attr)
{
	struct emu_cq *cq;

	if (attr->wc_flags & ~(uint64_t)SUPPORTED_WC_FLAGS) {
		errno = EOPNOTSUPP;
		return NULL;
	}
	if (attr->comp_mask & ~(uint32_t)(IBV_CQ_INIT_ATTR_MASK_FLAGS |
					  IBV_CQ_INIT_ATTR_MASK_PD)) {
		errno = EINVAL;
		return NULL;
	}
	cq = cq_new(c, (int)attr->cqe, attr->cq_context, attr->channel,
		    attr->comp_vector);
	if (!cq)
		return NULL;
	cq->wc_flags_ex = attr->wc_flags;
	if ((attr->comp_mask & IBV_CQ_INIT_ATTR_MASK_FLAGS) &&
	    (attr->flags & IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN))
		cq->ignore_overrun = true;
	return &cq->ibv;
}

EMU_EXPORT int
ibv_destroy_cq(struct ibv_cq *icq)
{
	struct emu_cq *cq = to_ecq(icq);
	struct emu_fabric *f = emu__fabric();

	pthread_mutex_lock(&f->lock);
	if (cq->users) {
		pthread_mutex_unlock(&f->lock);
		return EBUSY;
	}
	if (icq->channel) {
		struct emu_channel *ch =
			container_of(icq->channel, struct emu_channel, ibv);

		for (struct emu_cq **pp = &ch->cqs; *pp; pp = &(*pp)->chan_next)
			if (*pp == cq) {
				*pp = cq->chan_next;
				break;
			}
		icq->channel->refcnt--;
	}
	pthread_mutex_unlock(&f->lock);
	to_ectx(icq->context)->users--;
	pthread_mutex_destroy(&icq->mutex);
	pthread_cond_destroy(&icq->cond);
	free(cq->ring);
	free(cq);
	return 0;
}

void
emu__cq_context_ops(struct emu_context *ctx)
{
	ctx->vctx.create_cq_ex = create_cq_ex;
	ctx->vctx.context.ops.poll_cq = emu__poll_cq;
	ctx->vctx.context.ops.req_notify_cq = emu__req_notify_cq;
}
