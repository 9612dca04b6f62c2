/* SPDX-License-Identifier: MIT */
/*
 * Helpers for the emulator's contract tests: two in-process ports
 * (mlx5_0 <-> mlx5_1), a RAW_PACKET QP on each, registered buffers, and
 * frame builders. Everything goes through the verbs API.
 */
#ifndef EMU_UTIL_H
#define EMU_UTIL_H

#include <arpa/inet.h>
#include <infiniband/verbs.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/compiler.h"
#include "emu/vsemu.h"
#include "frames.h"
#define VSTEST_NEEDS_CAP_NET_RAW
#include "vstest.h"

#define BUF_SIZE 2048
#define NBUF 256

struct side {
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_qp *qp;
	struct ibv_mr *mr;
	uint8_t *buf; /* NBUF buffers of BUF_SIZE */
};

static const uint8_t mac0[6] = { 0x02, 0x76, 0x73, 0, 0, 0 };
static const uint8_t mac1[6] = { 0x02, 0x76, 0x73, 0, 0, 1 };

static inline struct ibv_context *
open_dev(int i)
{
	struct ibv_device **list = ibv_get_device_list(NULL);
	struct ibv_context *ctx;

	ck_assert_ptr_nonnull(list);
	ck_assert_ptr_nonnull(list[i]);
	ctx = ibv_open_device(list[i]);
	ck_assert_ptr_nonnull(ctx);
	ibv_free_device_list(list);
	return ctx;
}

static inline struct ibv_qp *
make_qp(struct side *s, uint32_t wr, uint32_t sge, uint32_t inl)
{
	struct ibv_qp_init_attr a = {
		.send_cq = s->cq,
		.recv_cq = s->cq,
		.cap = { .max_send_wr = wr,
			 .max_recv_wr = wr,
			 .max_send_sge = sge,
			 .max_recv_sge = sge,
			 .max_inline_data = inl },
		.qp_type = IBV_QPT_RAW_PACKET,
	};

	return ibv_create_qp(s->pd, &a);
}

static inline int
qp_to(struct ibv_qp *qp, enum ibv_qp_state st)
{
	struct ibv_qp_attr a = { .qp_state = st, .port_num = 1 };

	return ibv_modify_qp(
		qp, &a, IBV_QP_STATE | (st == IBV_QPS_INIT ? IBV_QP_PORT : 0));
}

static inline void
qp_to_rts(struct ibv_qp *qp)
{
	ck_assert_int_eq(qp_to(qp, IBV_QPS_INIT), 0);
	ck_assert_int_eq(qp_to(qp, IBV_QPS_RTR), 0);
	ck_assert_int_eq(qp_to(qp, IBV_QPS_RTS), 0);
}

static inline void
side_open(struct side *s, int dev, int cqe)
{
	memset(s, 0, sizeof(*s));
	s->ctx = open_dev(dev);
	s->pd = ibv_alloc_pd(s->ctx);
	ck_assert_ptr_nonnull(s->pd);
	s->cq = ibv_create_cq(s->ctx, cqe, NULL, NULL, 0);
	ck_assert_ptr_nonnull(s->cq);
	s->buf = aligned_alloc(4096, NBUF * BUF_SIZE);
	memset(s->buf, 0, NBUF * BUF_SIZE);
	s->mr = ibv_reg_mr(s->pd, s->buf, NBUF * BUF_SIZE,
			   IBV_ACCESS_LOCAL_WRITE);
	ck_assert_ptr_nonnull(s->mr);
	s->qp = make_qp(s, 64, 4, 256);
	ck_assert_ptr_nonnull(s->qp);
}

/* Tears down in the required order; every step must succeed. */
static inline void
side_close(struct side *s)
{
	if (s->qp)
		ck_assert_int_eq(ibv_destroy_qp(s->qp), 0);
	ck_assert_int_eq(ibv_dereg_mr(s->mr), 0);
	ck_assert_int_eq(ibv_destroy_cq(s->cq), 0);
	ck_assert_int_eq(ibv_dealloc_pd(s->pd), 0);
	ck_assert_int_eq(ibv_close_device(s->ctx), 0);
	free(s->buf);
}

static inline uint8_t *
bufp(struct side *s, int i)
{
	return s->buf + (size_t)i * BUF_SIZE;
}

static inline int
post_recv_buf(struct side *s, int i, uint32_t len)
{
	struct ibv_sge sge = { (uintptr_t)bufp(s, i), len, s->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = (uint64_t)i,
				  .sg_list = &sge,
				  .num_sge = 1 },
			   *bad = NULL;

	return ibv_post_recv(s->qp, &wr, &bad);
}

static inline int
post_send_buf(struct side *s, int i, uint32_t len, unsigned flags)
{
	struct ibv_sge sge = { (uintptr_t)bufp(s, i), len, s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = (uint64_t)i,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND,
				  .send_flags = flags },
			   *bad = NULL;

	return ibv_post_send(s->qp, &wr, &bad);
}

/* A flow attribute with room for up to four specs. */
struct flow_req {
	struct ibv_flow_attr attr;
	uint8_t specs[4 * sizeof(struct ibv_flow_spec)];
};

static inline void
flow_init(struct flow_req *r, uint16_t prio, uint32_t flags)
{
	memset(r, 0, sizeof(*r));
	r->attr.type = IBV_FLOW_ATTR_NORMAL;
	r->attr.size = sizeof(r->attr);
	r->attr.priority = prio;
	r->attr.port = 1;
	r->attr.flags = flags;
}

static inline void *
flow_add(struct flow_req *r, enum ibv_flow_spec_type t, uint16_t size)
{
	uint8_t *p = (uint8_t *)&r->attr + r->attr.size;
	struct ibv_flow_spec_eth *h = (void *)p;

	memset(p, 0, size);
	h->type = t;
	h->size = size;
	r->attr.size = (uint16_t)(r->attr.size + size);
	r->attr.num_of_specs++;
	return p;
}

/* A rule for UDP/IPv4 to dport (0: any port), optionally from sport. */
static inline struct ibv_flow *
udp_rule(struct ibv_qp *qp, uint16_t prio, uint32_t flags, uint16_t dport,
	 uint16_t sport, bool drop)
{
	struct flow_req r;
	struct ibv_flow_spec_ipv4 *ip;
	struct ibv_flow_spec_tcp_udp *udp;

	flow_init(&r, prio, flags);
	ip = flow_add(&r, IBV_FLOW_SPEC_IPV4, sizeof(*ip));
	(void)ip;
	udp = flow_add(&r, IBV_FLOW_SPEC_UDP, sizeof(*udp));
	udp->val.dst_port = htons(dport);
	udp->mask.dst_port = dport ? 0xffff : 0;
	udp->val.src_port = htons(sport);
	udp->mask.src_port = sport ? 0xffff : 0;
	if (drop)
		flow_add(&r, IBV_FLOW_SPEC_ACTION_DROP,
			 sizeof(struct ibv_flow_spec_action_drop));
	return ibv_create_flow(qp, &r.attr);
}

static inline int
poll_n(struct ibv_cq *cq, struct ibv_wc *wc, int n)
{
	return ibv_poll_cq(cq, n, wc);
}

#endif
