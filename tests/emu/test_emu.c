// SPDX-License-Identifier: MIT
/*
 * Contract tests of the emulated ConnectX: one case per rule of the verbs
 * contract that docs/emu.md promises. Runs with VSEMU_MODE=inproc (two
 * ports cabled back to back) and root (CAP_NET_RAW).
 */
#include <errno.h>
#include <linux/capability.h>
#include <math.h>
#include <poll.h>
#include <time.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "emu_util.h"

static struct side a, b;

/* a (mlx5_0) sends to b (mlx5_1); b steers UDP port 7 to its QP. */
static struct ibv_flow *
pair_up(void)
{
	struct ibv_flow *fl;

	side_open(&a, 0, 256);
	side_open(&b, 1, 256);
	qp_to_rts(a.qp);
	qp_to_rts(b.qp);
	fl = udp_rule(b.qp, 0, 0, 7, 0, false);
	ck_assert_ptr_nonnull(fl);
	return fl;
}

static void
pair_down(struct ibv_flow *fl)
{
	if (fl)
		ck_assert_int_eq(ibv_destroy_flow(fl), 0);
	side_close(&a);
	side_close(&b);
}

static void
send_udp(struct side *s, int i, uint32_t len, uint16_t dport)
{
	udp4_frame(bufp(s, i), len, mac1, mac0, 0x0a000001, 0x0a000002, 9999,
		   dport);
	ck_assert_int_eq(post_send_buf(s, i, len, IBV_SEND_SIGNALED), 0);
}

static struct vsemu_port_stats
stats(struct side *s)
{
	struct vsemu_port_stats st;

	ck_assert_int_eq(vsemu_port_stats(s->ctx, &st), 0);
	return st;
}

START_TEST(device_list)
{
	struct ibv_device **list;
	struct ibv_device_attr_ex dx;
	struct ibv_port_attr pa;
	union ibv_gid gid;
	struct ibv_context *ctx;
	int n = -1;

	list = ibv_get_device_list(&n);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ibv_get_device_name(list[0]), "mlx5_0");
	ck_assert_str_eq(ibv_get_device_name(list[1]), "mlx5_1");
	ck_assert_ptr_null(list[2]);
	ctx = ibv_open_device(list[1]);
	ibv_free_device_list(list);
	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(ibv_query_device_ex(ctx, NULL, &dx), 0);
	ck_assert_uint_eq(dx.orig_attr.vendor_id, 0x02c9);
	ck_assert_int_eq(dx.orig_attr.phys_port_cnt, 1);
	ck_assert(dx.raw_packet_caps & IBV_RAW_PACKET_CAP_IP_CSUM);
	ck_assert(dx.rss_caps.rx_hash_function & IBV_RX_HASH_FUNC_TOEPLITZ);
	ck_assert_int_eq(ibv_query_port(ctx, 1, &pa), 0);
	ck_assert_int_eq(pa.state, IBV_PORT_ACTIVE);
	ck_assert_int_eq(pa.link_layer, IBV_LINK_LAYER_ETHERNET);
	ck_assert_int_eq(ibv_query_port(ctx, 2, &pa), EINVAL);
	ck_assert_int_eq(ibv_query_gid(ctx, 1, 0, &gid), 0);
	ck_assert_uint_eq(gid.raw[0], 0xfe);
	ck_assert_uint_eq(gid.raw[15], 1); /* from the MAC's last byte */
	ck_assert_int_eq(ibv_close_device(ctx), 0);
}
END_TEST

START_TEST(send_recv)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_wc wc[4];
	struct ibv_sge sg[3];
	struct ibv_send_wr wr = { .wr_id = 77,
				  .sg_list = sg,
				  .num_sge = 3,
				  .opcode = IBV_WR_SEND,
				  .send_flags = IBV_SEND_SIGNALED },
			   *bad;
	struct ibv_recv_wr rwr = { .wr_id = 5, .sg_list = sg, .num_sge = 2 },
			   *rbad;
	uint8_t *f = bufp(&a, 0);

	/* Gather a 300-byte frame from three SGEs; scatter into two. */
	udp4_frame(f, 300, mac1, mac0, 0x0a000001, 0x0a000002, 1, 7);
	sg[0] = (struct ibv_sge){ (uintptr_t)bufp(&b, 1), 100, b.mr->lkey };
	sg[1] = (struct ibv_sge){ (uintptr_t)bufp(&b, 2), 1000, b.mr->lkey };
	ck_assert_int_eq(ibv_post_recv(b.qp, &rwr, &rbad), 0);
	sg[0] = (struct ibv_sge){ (uintptr_t)f, 50, a.mr->lkey };
	sg[1] = (struct ibv_sge){ (uintptr_t)f + 50, 200, a.mr->lkey };
	sg[2] = (struct ibv_sge){ (uintptr_t)f + 250, 50, a.mr->lkey };
	ck_assert_int_eq(ibv_post_send(a.qp, &wr, &bad), 0);
	ck_assert_int_eq(poll_n(a.cq, wc, 4), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_SUCCESS);
	ck_assert_int_eq(wc[0].opcode, IBV_WC_SEND);
	ck_assert_uint_eq(wc[0].wr_id, 77);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_SUCCESS);
	ck_assert_int_eq(wc[0].opcode, IBV_WC_RECV);
	ck_assert_uint_eq(wc[0].wr_id, 5);
	ck_assert_uint_eq(wc[0].byte_len, 300);
	ck_assert_uint_eq(wc[0].qp_num, b.qp->qp_num);
	ck_assert_int_eq(memcmp(bufp(&b, 1), f, 100), 0);
	ck_assert_int_eq(memcmp(bufp(&b, 2), f + 100, 200), 0);
	ck_assert_uint_eq(stats(&a).tx_frames, 1);
	ck_assert_uint_eq(stats(&b).rx_frames, 1);
	ck_assert_uint_eq(vsemu_flow_hits(fl), 1);
	pair_down(fl);
}
END_TEST

START_TEST(state_machine)
{
	struct ibv_flow *fl;
	struct ibv_wc wc;

	side_open(&a, 0, 64);
	side_open(&b, 1, 64);
	fl = udp_rule(b.qp, 0, 0, 7, 0, false);
	/* RESET: no receive, no send; RESET->RTR is not a transition. */
	ck_assert_int_eq(post_recv_buf(&b, 0, BUF_SIZE), EINVAL);
	ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), EINVAL);
	ck_assert_int_eq(qp_to(a.qp, IBV_QPS_RTR), EINVAL);
	/* INIT keeps receives but delivers nothing; no send before RTS. */
	ck_assert_int_eq(qp_to(b.qp, IBV_QPS_INIT), 0);
	ck_assert_int_eq(post_recv_buf(&b, 0, BUF_SIZE), 0);
	ck_assert_int_eq(qp_to(a.qp, IBV_QPS_INIT), 0);
	ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), EINVAL);
	ck_assert_int_eq(qp_to(a.qp, IBV_QPS_RTR), 0);
	ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), EINVAL);
	ck_assert_int_eq(qp_to(a.qp, IBV_QPS_RTS), 0);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, &wc, 1), 0);
	ck_assert_uint_eq(stats(&b).rx_qp_not_ready, 1);
	/* In RTR the receive posted in INIT is used. */
	ck_assert_int_eq(qp_to(b.qp, IBV_QPS_RTR), 0);
	send_udp(&a, 1, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, &wc, 1), 1);
	ck_assert_int_eq(wc.status, IBV_WC_SUCCESS);
	ck_assert_uint_eq(wc.wr_id, 0);
	/* No receive posted: a counted drop. */
	send_udp(&a, 2, 60, 7);
	ck_assert_uint_eq(stats(&b).rx_no_wqe, 1);
	pair_down(fl);
}
END_TEST

START_TEST(flush_on_error)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;
	struct ibv_wc wc[8];

	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(post_recv_buf(&b, i, BUF_SIZE), 0);
	ck_assert_int_eq(qp_to(b.qp, IBV_QPS_ERR), 0);
	ck_assert_int_eq(ibv_query_qp(b.qp, &qa, IBV_QP_STATE, &qi), 0);
	ck_assert_int_eq(qa.qp_state, IBV_QPS_ERR);
	ck_assert_int_eq(poll_n(b.cq, wc, 8), 4);
	for (int i = 0; i < 4; i++) {
		ck_assert_int_eq(wc[i].status, IBV_WC_WR_FLUSH_ERR);
		ck_assert_uint_eq(wc[i].wr_id, (uint64_t)i);
	}
	/* Work posted in ERR completes at once with a flush error. */
	ck_assert_int_eq(post_recv_buf(&b, 9, BUF_SIZE), 0);
	ck_assert_int_eq(poll_n(b.cq, wc, 8), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_WR_FLUSH_ERR);
	ck_assert_int_eq(qp_to(a.qp, IBV_QPS_ERR), 0);
	ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), 0);
	ck_assert_int_eq(poll_n(a.cq, wc, 8), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_WR_FLUSH_ERR);
	/* RESET, then back to work. */
	ck_assert_int_eq(qp_to(b.qp, IBV_QPS_RESET), 0);
	qp_to_rts(b.qp);
	qp_to(a.qp, IBV_QPS_RESET);
	qp_to_rts(a.qp);
	ck_assert_int_eq(post_recv_buf(&b, 0, BUF_SIZE), 0);
	send_udp(&a, 0, 64, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 8), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_SUCCESS);
	pair_down(fl);
}
END_TEST

static void
assert_qp_state(struct ibv_qp *qp, enum ibv_qp_state want)
{
	struct ibv_qp_attr qa;
	struct ibv_qp_init_attr qi;

	ck_assert_int_eq(ibv_query_qp(qp, &qa, IBV_QP_STATE, &qi), 0);
	ck_assert_int_eq(qa.qp_state, want);
}

START_TEST(bad_lkey)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_sge sge = { (uintptr_t)bufp(&a, 0), 60, a.mr->lkey + 1 };
	struct ibv_send_wr wr = { .wr_id = 3,
				  .sg_list = &sge,
				  .num_sge = 1,
				  .opcode = IBV_WR_SEND },
			   *bad = NULL;
	struct ibv_wc wc[4];

	/* Accepted when posted; fails when it executes, even unsignaled. */
	ck_assert_int_eq(ibv_post_send(a.qp, &wr, &bad), 0);
	ck_assert_int_eq(poll_n(a.cq, wc, 4), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_LOC_PROT_ERR);
	ck_assert_uint_eq(wc[0].wr_id, 3);
	assert_qp_state(a.qp, IBV_QPS_ERR);
	ck_assert_uint_eq(stats(&a).tx_frames, 0);
	pair_down(fl);
}
END_TEST

START_TEST(sge_outside_mr)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_wc wc[4];

	/* The last buffer plus one byte crosses the end of the MR. */
	udp4_frame(bufp(&a, NBUF - 1), 60, mac1, mac0, 1, 2, 3, 7);
	ck_assert_int_eq(post_send_buf(&a, NBUF - 1, BUF_SIZE + 1, 0), 0);
	ck_assert_int_eq(poll_n(a.cq, wc, 4), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_LOC_PROT_ERR);
	assert_qp_state(a.qp, IBV_QPS_ERR);
	pair_down(fl);
}
END_TEST

START_TEST(recv_needs_local_write)
{
	struct ibv_flow *fl = pair_up();
	uint8_t *ro = calloc(1, 4096);
	struct ibv_mr *mr = ibv_reg_mr(b.pd, ro, 4096, 0);
	struct ibv_sge sge = { (uintptr_t)ro, 4096, mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1 },
			   *bad;
	struct ibv_wc wc[2];

	ck_assert_int_eq(ibv_post_recv(b.qp, &wr, &bad), 0);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 2), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_LOC_PROT_ERR);
	assert_qp_state(b.qp, IBV_QPS_ERR);
	ck_assert_int_eq(ro[0], 0);
	ck_assert_int_eq(ibv_dereg_mr(mr), 0);
	free(ro);
	pair_down(fl);
}
END_TEST

START_TEST(dereg_mr_under_posted_recv)
{
	struct ibv_flow *fl = pair_up();
	uint8_t *mem = calloc(1, 4096);
	struct ibv_mr *mr = ibv_reg_mr(b.pd, mem, 4096, IBV_ACCESS_LOCAL_WRITE);
	struct ibv_sge sge = { (uintptr_t)mem, 4096, mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = 9, .sg_list = &sge, .num_sge = 1 },
			   *bad;
	struct ibv_wc wc[2];

	/* Deregistering is allowed; the receive naming it fails when a
	 * frame arrives, and nothing is written to the memory. */
	ck_assert_int_eq(ibv_post_recv(b.qp, &wr, &bad), 0);
	ck_assert_int_eq(ibv_dereg_mr(mr), 0);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 2), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_LOC_PROT_ERR);
	ck_assert_uint_eq(wc[0].wr_id, 9);
	ck_assert_int_eq(mem[14], 0);
	free(mem);
	pair_down(fl);
}
END_TEST

START_TEST(frame_longer_than_buffer)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_wc wc[2];

	ck_assert_int_eq(post_recv_buf(&b, 0, 512), 0);
	ck_assert_int_eq(post_recv_buf(&b, 1, 512), 0);
	send_udp(&a, 0, 1000, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 2), 2);
	ck_assert_int_eq(wc[0].status, IBV_WC_LOC_LEN_ERR);
	ck_assert_uint_eq(wc[0].wr_id, 0);
	/* The error moved the QP to ERR, which flushed the next receive. */
	ck_assert_int_eq(wc[1].status, IBV_WC_WR_FLUSH_ERR);
	assert_qp_state(b.qp, IBV_QPS_ERR);
	pair_down(fl);
}
END_TEST

START_TEST(limits)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_device_attr da;
	struct ibv_sge sg[5];
	struct ibv_send_wr wr = { .sg_list = sg,
				  .num_sge = 5,
				  .opcode = IBV_WR_SEND },
			   *bad = NULL;
	struct ibv_wc wc[64];
	int i, rc;

	ck_assert_int_eq(ibv_query_device(a.ctx, &da), 0);
	ck_assert_ptr_null(make_qp(&a, (uint32_t)da.max_qp_wr + 1, 1, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(make_qp(&a, 8, (uint32_t)da.max_sge + 1, 0));
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_ptr_null(make_qp(&a, 8, 1, 100000));
	ck_assert_int_eq(errno, EINVAL);
	/* Only raw packet work is emulated. */
	ck_assert_ptr_null(ibv_create_qp(
		a.pd,
		&(struct ibv_qp_init_attr){ .send_cq = a.cq,
					    .recv_cq = a.cq,
					    .qp_type = IBV_QPT_RC,
					    .cap = { .max_send_wr = 1,
						     .max_recv_wr = 1,
						     .max_send_sge = 1,
						     .max_recv_sge = 1 } }));
	ck_assert_int_eq(errno, EOPNOTSUPP);
	/* More SGEs than the QP was created with (4). */
	for (i = 0; i < 5; i++)
		sg[i] = (struct ibv_sge){ (uintptr_t)bufp(&a, 0), 20,
					  a.mr->lkey };
	ck_assert_int_eq(ibv_post_send(a.qp, &wr, &bad), EINVAL);
	ck_assert_ptr_eq(bad, &wr);
	/* Inline data beyond max_inline_data (256). */
	wr.num_sge = 1;
	sg[0].length = 300;
	wr.send_flags = IBV_SEND_INLINE;
	ck_assert_int_eq(ibv_post_send(a.qp, &wr, &bad), EINVAL);
	/* Queue depth: 64 unsignaled sends fill the SQ until a signaled
	 * completion is polled. */
	udp4_frame(bufp(&a, 0), 60, mac1, mac0, 1, 2, 3, 4);
	for (i = 0; i < 64; i++)
		ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), 0);
	ck_assert_int_eq(post_send_buf(&a, 0, 60, IBV_SEND_SIGNALED), ENOMEM);
	/* The receive queue: 64 deep. */
	for (i = 0, rc = 0; i < 65 && !rc; i++)
		rc = post_recv_buf(&b, i, BUF_SIZE);
	ck_assert_int_eq(i, 65);
	ck_assert_int_eq(rc, ENOMEM);
	ck_assert_int_eq(poll_n(a.cq, wc, 64), 0);
	pair_down(fl);
}
END_TEST

START_TEST(selective_signaling)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_wc wc[64];

	udp4_frame(bufp(&a, 0), 60, mac1, mac0, 1, 2, 3, 4);
	for (int round = 0; round < 10; round++) {
		for (int i = 0; i < 15; i++)
			ck_assert_int_eq(post_send_buf(&a, 0, 60, 0), 0);
		ck_assert_int_eq(post_send_buf(&a, 0, 60, IBV_SEND_SIGNALED),
				 0);
		/* One completion retires all sixteen slots. */
		ck_assert_int_eq(poll_n(a.cq, wc, 64), 1);
	}
	ck_assert_uint_eq(stats(&a).tx_frames, 160);
	pair_down(fl);
}
END_TEST

START_TEST(cq_overrun)
{
	struct ibv_async_event ev;
	struct ibv_flow *fl;
	struct ibv_wc wc[16];

	side_open(&a, 0, 64);
	side_open(&b, 1, 64);
	/* A small CQ on b: 4 requested, 7 reported (power of two - 1). */
	ck_assert_int_eq(ibv_destroy_qp(b.qp), 0);
	ck_assert_int_eq(ibv_destroy_cq(b.cq), 0);
	b.cq = ibv_create_cq(b.ctx, 4, NULL, NULL, 0);
	ck_assert_int_eq(b.cq->cqe, 7);
	b.qp = make_qp(&b, 16, 1, 0);
	qp_to_rts(a.qp);
	qp_to_rts(b.qp);
	fl = udp_rule(b.qp, 0, 0, 7, 0, false);
	for (int i = 0; i < 16; i++)
		ck_assert_int_eq(post_recv_buf(&b, i, BUF_SIZE), 0);
	for (int i = 0; i < 9; i++)
		send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(ibv_get_async_event(b.ctx, &ev), 0);
	ck_assert_int_eq(ev.event_type, IBV_EVENT_CQ_ERR);
	ck_assert_ptr_eq(ev.element.cq, b.cq);
	ibv_ack_async_event(&ev);
	/* The seven that fit are there; the two others are lost. */
	ck_assert_int_eq(poll_n(b.cq, wc, 16), 7);
	while (poll_n(a.cq, wc, 16) > 0)
		;
	pair_down(fl);
}
END_TEST

/* a sends to b, which has two QPs (b.qp and c->qp) on one PD and CQ,
 * each with eight receives posted. */
static void
trio_up(struct side *c)
{
	side_open(&a, 0, 64);
	side_open(&b, 1, 64);
	*c = b;
	c->qp = make_qp(&b, 16, 1, 0);
	qp_to_rts(a.qp);
	qp_to_rts(b.qp);
	qp_to_rts(c->qp);
	for (int i = 0; i < 8; i++) {
		post_recv_buf(&b, i, BUF_SIZE);
		post_recv_buf(c, 8 + i, BUF_SIZE);
	}
}

START_TEST(flow_priority)
{
	struct ibv_flow *port_rule, *exact, *prio;
	struct side c;
	struct ibv_wc wc[4];

	trio_up(&c);
	/* Same priority: the more specific rule (port + source port) wins,
	 * whatever the creation order. */
	port_rule = udp_rule(b.qp, 1, 0, 7, 0, false);
	exact = udp_rule(c.qp, 1, 0, 7, 9999, false);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_uint_eq(wc[0].qp_num, c.qp->qp_num);
	/* A lower priority value beats specificity. */
	prio = udp_rule(b.qp, 0, 0, 0, 0, false);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_uint_eq(wc[0].qp_num, b.qp->qp_num);
	ck_assert_uint_eq(vsemu_flow_hits(prio), 1);
	ck_assert_uint_eq(vsemu_flow_hits(exact), 1);
	ck_assert_uint_eq(vsemu_flow_hits(port_rule), 0);
	/* A QP with rules attached cannot be destroyed. */
	ck_assert_int_eq(ibv_destroy_qp(c.qp), EBUSY);
	ck_assert_int_eq(ibv_destroy_flow(exact), 0);
	ck_assert_int_eq(ibv_destroy_qp(c.qp), 0);
	ck_assert_int_eq(ibv_destroy_flow(prio), 0);
	pair_down(port_rule);
}
END_TEST

/* Sends a UDP frame to dport; returns the QP that got it (b's or c's),
 * whose buffer is posted again. */
static uint32_t
one_frame(struct side *c, uint16_t dport)
{
	struct ibv_wc wc[4];

	send_udp(&a, 0, 60, dport);
	while (ibv_poll_cq(a.cq, 4, wc) > 0)
		;
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_int_eq(wc[0].status, IBV_WC_SUCCESS);
	post_recv_buf(wc[0].qp_num == c->qp->qp_num ? c : &b, (int)wc[0].wr_id,
		      BUF_SIZE);
	return wc[0].qp_num;
}

/*
 * Many rules of one mask (a connection's 4-tuple each, as vstack's
 * connects make) beside a rule of another (a listener's): each frame
 * finds its own rule, in walk order, as rules come and go and the
 * port's index of them grows and shrinks.
 */
START_TEST(flow_many)
{
	enum { N = 3000 };
	static struct ibv_flow *exact[N];
	struct ibv_flow *any, *copy, *drop;
	struct side c;
	struct ibv_wc wc[4];

	trio_up(&c);
	any = udp_rule(b.qp, 1, 0, 0, 0, false);
	ck_assert_ptr_nonnull(any);
	for (int i = 0; i < N; i++) {
		exact[i] =
			udp_rule(c.qp, 1, 0, (uint16_t)(1000 + i), 9999, false);
		ck_assert_ptr_nonnull(exact[i]);
	}
	for (int i = 0; i < N; i += 97)
		ck_assert_uint_eq(one_frame(&c, (uint16_t)(1000 + i)),
				  c.qp->qp_num);
	ck_assert_uint_eq(one_frame(&c, 999), b.qp->qp_num);
	ck_assert_uint_eq(one_frame(&c, (uint16_t)(1000 + N)), b.qp->qp_num);
	ck_assert_uint_eq(vsemu_flow_hits(exact[97]), 1);
	ck_assert_uint_eq(vsemu_flow_hits(exact[1]), 0);
	ck_assert_uint_eq(vsemu_flow_hits(any), 2);
	/* Half of them gone: their frames fall to the listener's rule. */
	for (int i = 0; i < N; i += 2)
		ck_assert_int_eq(ibv_destroy_flow(exact[i]), 0);
	ck_assert_uint_eq(one_frame(&c, 1000 + 2 * 97), b.qp->qp_num);
	ck_assert_uint_eq(one_frame(&c, 1000 + 97), c.qp->qp_num);
	ck_assert_uint_eq(vsemu_flow_hits(exact[97]), 2);
	/* A rule of a third mask that copies every frame first (DONT_TRAP,
	 * priority 0): both QPs get it, then the copy alone goes. */
	copy = udp_rule(b.qp, 0, IBV_FLOW_ATTR_FLAGS_DONT_TRAP, 0, 9999, false);
	ck_assert_ptr_nonnull(copy);
	send_udp(&a, 0, 60, 1000 + 97);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 2);
	ck_assert_uint_ne(wc[0].qp_num, wc[1].qp_num);
	for (int i = 0; i < 2; i++)
		post_recv_buf(wc[i].qp_num == c.qp->qp_num ? &c : &b,
			      (int)wc[i].wr_id, BUF_SIZE);
	ck_assert_uint_eq(vsemu_flow_hits(copy), 1);
	ck_assert_int_eq(ibv_destroy_flow(copy), 0);
	/* Two rules of one mask and key, the older first in the walk
	 * (equal priority): its copy goes to b, then the newer drops the
	 * frame before exact[97] would have it. */
	copy = udp_rule(b.qp, 0, IBV_FLOW_ATTR_FLAGS_DONT_TRAP, 1000 + 97, 9999,
			false);
	drop = udp_rule(b.qp, 0, 0, 1000 + 97, 9999, true);
	ck_assert_ptr_nonnull(copy);
	ck_assert_ptr_nonnull(drop);
	send_udp(&a, 0, 60, 1000 + 97);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_uint_eq(wc[0].qp_num, b.qp->qp_num);
	post_recv_buf(&b, (int)wc[0].wr_id, BUF_SIZE);
	ck_assert_uint_eq(vsemu_flow_hits(drop), 1);
	ck_assert_uint_eq(vsemu_flow_hits(exact[97]), 3);
	ck_assert_int_eq(ibv_destroy_flow(drop), 0);
	ck_assert_int_eq(ibv_destroy_flow(copy), 0);
	for (int i = 1; i < N; i += 2)
		ck_assert_int_eq(ibv_destroy_flow(exact[i]), 0);
	ck_assert_uint_eq(one_frame(&c, 1000 + 97), b.qp->qp_num);
	ck_assert_int_eq(ibv_destroy_qp(c.qp), 0);
	pair_down(any);
}
END_TEST

START_TEST(dont_trap_and_drop)
{
	struct ibv_flow *copy, *steer, *drop;
	struct side c;
	struct ibv_wc wc[4];

	trio_up(&c);
	copy = udp_rule(c.qp, 0, IBV_FLOW_ATTR_FLAGS_DONT_TRAP, 7, 0, false);
	steer = udp_rule(b.qp, 1, 0, 7, 0, false);
	send_udp(&a, 0, 60, 7);
	/* DONT_TRAP copies: both QPs got the frame. */
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 2);
	ck_assert_uint_ne(wc[0].qp_num, wc[1].qp_num);
	/* A drop rule of higher precedence stops it at the NIC, counted. */
	drop = udp_rule(b.qp, 0, 0, 7, 0, true);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1); /* the DONT_TRAP copy */
	ck_assert_uint_eq(wc[0].qp_num, c.qp->qp_num);
	ck_assert_uint_eq(stats(&b).rx_rule_drop, 1);
	ck_assert_uint_eq(vsemu_flow_hits(drop), 1);
	/* Without any rule for it, a frame is the kernel's. */
	send_udp(&a, 0, 60, 8);
	ck_assert_uint_eq(stats(&b).rx_no_match, 1);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 0);
	ibv_destroy_flow(drop);
	ibv_destroy_flow(copy);
	ck_assert_int_eq(ibv_destroy_qp(c.qp), 0);
	pair_down(steer);
}
END_TEST

/* An IPv4 fragment of a UDP datagram to dport: the first one (ports in
 * it, MF) or a later one (offset 8 bytes, no ports). */
static void
send_frag(struct side *s, int i, uint16_t dport, bool first)
{
	uint8_t *f = bufp(s, i);

	udp4_frame(f, 60, mac1, mac0, 0x0a000001, 0x0a000002, 9999, dport);
	f[20] = first ? 0x20 : 0x00; /* MF */
	f[21] = first ? 0x00 : 0x01; /* offset, in 8-byte units */
	ck_assert_int_eq(post_send_buf(s, i, 60, IBV_SEND_SIGNALED), 0);
}

START_TEST(frag_rule)
{
	struct ibv_flow *port_rule, *frag;
	struct ibv_flow_spec_ipv4_ext *ip;
	struct flow_req r;
	struct side c;
	struct ibv_wc wc[4];

	trio_up(&c);
	port_rule = udp_rule(b.qp, 2, 0, 7, 0, false);
	/* Fragments of UDP (IB_IPV4_MORE_FRAG: any fragment, as mlx5's
	 * frag bit) copied to c, before the port rule. */
	flow_init(&r, 1, IBV_FLOW_ATTR_FLAGS_DONT_TRAP);
	ip = flow_add(&r, IBV_FLOW_SPEC_IPV4_EXT, sizeof(*ip));
	ip->val.proto = 17;
	ip->mask.proto = 0xff;
	ip->val.flags = ip->mask.flags = 0x4;
	frag = ibv_create_flow(c.qp, &r.attr);
	ck_assert_ptr_nonnull(frag);
	/* A whole datagram: the port rule's only. */
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_uint_eq(wc[0].qp_num, b.qp->qp_num);
	/* A first fragment: copied to c, and the port rule takes it. */
	send_frag(&a, 0, 7, true);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 2);
	ck_assert_uint_ne(wc[0].qp_num, wc[1].qp_num);
	/* A later one: copied to c, and no rule traps it: the kernel's. */
	send_frag(&a, 0, 7, false);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert_uint_eq(wc[0].qp_num, c.qp->qp_num);
	ck_assert_uint_eq(stats(&b).rx_no_match, 1);
	ck_assert_uint_eq(vsemu_flow_hits(frag), 2);
	/* Other flag bits are not matched: refused. */
	ip->mask.flags = 0x2;
	ck_assert_ptr_null(ibv_create_flow(c.qp, &r.attr));
	ck_assert_int_eq(errno, EOPNOTSUPP);
	ibv_destroy_flow(frag);
	ck_assert_int_eq(ibv_destroy_qp(c.qp), 0);
	pair_down(port_rule);
}
END_TEST

START_TEST(sniffer_and_no_loopback)
{
	struct ibv_flow *fl = pair_up(), *own, *sniff;
	struct flow_req r;
	struct ibv_wc wc[4];

	/* A rule on a's own port matching what a sends: no self-loopback. */
	for (int i = 0; i < 8; i++)
		post_recv_buf(&a, 100 + i, BUF_SIZE);
	own = udp_rule(a.qp, 0, 0, 7, 0, false);
	flow_init(&r, 0, 0);
	r.attr.type = IBV_FLOW_ATTR_SNIFFER;
	sniff = ibv_create_flow(a.qp, &r.attr);
	ck_assert_ptr_nonnull(sniff);
	post_recv_buf(&b, 0, BUF_SIZE);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	/* a's CQ: the send completion and the sniffer's copy of the frame,
	 * but not a delivery through `own`. */
	ck_assert_int_eq(poll_n(a.cq, wc, 4), 2);
	ck_assert_uint_eq(vsemu_flow_hits(own), 0);
	ck_assert_uint_eq(vsemu_flow_hits(sniff), 1);
	ibv_destroy_flow(own);
	ibv_destroy_flow(sniff);
	pair_down(fl);
}
END_TEST

START_TEST(ip_checksum)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_wc wc[4];
	uint8_t *got = bufp(&b, 0);

	post_recv_buf(&b, 0, BUF_SIZE);
	post_recv_buf(&b, 1, BUF_SIZE);
	/* The frame leaves with zero checksums; the NIC fills them. */
	udp4_frame(bufp(&a, 0), 200, mac1, mac0, 0x0a000001, 0x0a000002, 5, 7);
	ck_assert_int_eq(
		post_send_buf(&a, 0, 200, IBV_SEND_SIGNALED | IBV_SEND_IP_CSUM),
		0);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert(wc[0].wc_flags & IBV_WC_IP_CSUM_OK);
	ck_assert(got[24] || got[25]); /* IPv4 header checksum */
	ck_assert(got[40] || got[41]); /* UDP checksum */
	/* A wrong checksum is delivered, without the flag. */
	udp4_frame(bufp(&a, 1), 200, mac1, mac0, 0x0a000001, 0x0a000002, 5, 7);
	bufp(&a, 1)[24] = 0x12;
	ck_assert_int_eq(post_send_buf(&a, 1, 200, IBV_SEND_SIGNALED), 0);
	ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
	ck_assert(!(wc[0].wc_flags & IBV_WC_IP_CSUM_OK));
	while (poll_n(a.cq, wc, 4) > 0)
		;
	pair_down(fl);
}
END_TEST

START_TEST(needs_cap_net_raw)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct side s;

		side_open(&s, 0, 16); /* as root: works */
		if (drop_net_raw())
			_exit(2);
		if (make_qp(&s, 8, 1, 0) || errno != EPERM)
			_exit(3);
		_exit(0);
	}
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
}
END_TEST

START_TEST(busy_teardown)
{
	struct ibv_flow *fl = pair_up();
	struct ibv_comp_channel *ch = ibv_create_comp_channel(a.ctx);
	struct ibv_cq *cq = ibv_create_cq(a.ctx, 8, NULL, ch, 0);

	ck_assert_int_eq(ibv_dealloc_pd(b.pd), EBUSY); /* MR, QP */
	ck_assert_int_eq(ibv_destroy_cq(b.cq), EBUSY); /* QP */
	ck_assert_int_eq(ibv_destroy_qp(b.qp), EBUSY); /* flow */
	ck_assert_int_eq(ibv_destroy_comp_channel(ch), EBUSY); /* CQ */
	ck_assert_int_eq(ibv_destroy_cq(cq), 0);
	ck_assert_int_eq(ibv_destroy_comp_channel(ch), 0);
	pair_down(fl);
}
END_TEST

START_TEST(completion_channel)
{
	struct ibv_flow *fl;
	struct ibv_comp_channel *ch;
	struct ibv_cq *ev_cq;
	struct pollfd pfd;
	void *ev_ctx;

	side_open(&a, 0, 64);
	side_open(&b, 1, 64);
	ck_assert_int_eq(ibv_destroy_qp(b.qp), 0);
	ck_assert_int_eq(ibv_destroy_cq(b.cq), 0);
	ch = ibv_create_comp_channel(b.ctx);
	b.cq = ibv_create_cq(b.ctx, 16, (void *)0x1234, ch, 0);
	b.qp = make_qp(&b, 16, 1, 0);
	qp_to_rts(a.qp);
	qp_to_rts(b.qp);
	fl = udp_rule(b.qp, 0, 0, 7, 0, false);
	post_recv_buf(&b, 0, BUF_SIZE);
	post_recv_buf(&b, 1, BUF_SIZE);
	pfd = (struct pollfd){ .fd = ch->fd, .events = POLLIN };
	/* Not armed: a completion raises no event. */
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* Armed: exactly one event, and the fd works with poll(2). */
	ck_assert_int_eq(ibv_req_notify_cq(b.cq, 0), 0);
	send_udp(&a, 0, 60, 7);
	ck_assert_int_eq(poll(&pfd, 1, 1000), 1);
	ck_assert_int_eq(ibv_get_cq_event(ch, &ev_cq, &ev_ctx), 0);
	ck_assert_ptr_eq(ev_cq, b.cq);
	ck_assert_ptr_eq(ev_ctx, (void *)0x1234);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	ibv_ack_cq_events(b.cq, 1);
	ck_assert_int_eq(ibv_destroy_flow(fl), 0);
	ck_assert_int_eq(ibv_destroy_qp(b.qp), 0);
	b.qp = NULL;
	ck_assert_int_eq(ibv_destroy_cq(b.cq), 0);
	ck_assert_int_eq(ibv_destroy_comp_channel(ch), 0);
	b.cq = ibv_create_cq(b.ctx, 4, NULL, NULL, 0);
	pair_down(NULL);
}
END_TEST

START_TEST(cq_ex_polling)
{
	struct ibv_cq_init_attr_ex ca = {
		.cqe = 16,
		.wc_flags = IBV_WC_EX_WITH_BYTE_LEN | IBV_WC_EX_WITH_QP_NUM,
	};
	struct ibv_poll_cq_attr pa = { 0 };
	struct ibv_flow *fl;
	struct ibv_cq_ex *cqx;
	int n = 0;

	side_open(&a, 0, 64);
	side_open(&b, 1, 64);
	ck_assert_int_eq(ibv_destroy_qp(b.qp), 0);
	ck_assert_int_eq(ibv_destroy_cq(b.cq), 0);
	ca.wc_flags |= IBV_WC_EX_WITH_COMPLETION_TIMESTAMP;
	ck_assert_ptr_null(ibv_create_cq_ex(b.ctx, &ca));
	ck_assert_int_eq(errno, EOPNOTSUPP);
	ca.wc_flags &= ~(uint64_t)IBV_WC_EX_WITH_COMPLETION_TIMESTAMP;
	cqx = ibv_create_cq_ex(b.ctx, &ca);
	ck_assert_ptr_nonnull(cqx);
	b.cq = ibv_cq_ex_to_cq(cqx);
	b.qp = make_qp(&b, 16, 1, 0);
	qp_to_rts(a.qp);
	qp_to_rts(b.qp);
	fl = udp_rule(b.qp, 0, 0, 7, 0, false);
	for (int i = 0; i < 3; i++) {
		post_recv_buf(&b, i, BUF_SIZE);
		send_udp(&a, 0, 100 + i, 7);
	}
	ck_assert_int_eq(ibv_start_poll(cqx, &pa), 0);
	do {
		ck_assert_int_eq(cqx->status, IBV_WC_SUCCESS);
		ck_assert_uint_eq(cqx->wr_id, (uint64_t)n);
		ck_assert_uint_eq(ibv_wc_read_byte_len(cqx),
				  100u + (unsigned)n);
		ck_assert_uint_eq(ibv_wc_read_qp_num(cqx), b.qp->qp_num);
		ck_assert_int_eq(ibv_wc_read_opcode(cqx), IBV_WC_RECV);
		n++;
	} while (ibv_next_poll(cqx) == 0);
	ibv_end_poll(cqx);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(ibv_start_poll(cqx, &pa), ENOENT);
	while (poll_n(a.cq, (struct ibv_wc[8]){ 0 }, 8) > 0)
		;
	pair_down(fl);
}
END_TEST

/* The Microsoft RSS test vectors' IPv4/TCP tuples and hashes. */
static const struct {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t hash;
} ms_tcp4[] = {
	{ 0x420995bb, 0xa18e6450, 2794, 1766, 0x51ccc178 },
	{ 0xc75c6f02, 0x41458c53, 14230, 4739, 0xc626b0ea },
	{ 0x1813c65f, 0x0c16cfb8, 12898, 38024, 0x5c2b394a },
	{ 0x261bcd1e, 0xd18ea306, 48228, 2217, 0xafc7327f },
	{ 0x9927a3bf, 0xcabc7f02, 44251, 1303, 0x10e828a2 },
};

START_TEST(rss_spread)
{
	enum { LOG = 3, NWQ = 1 << LOG };
	struct ibv_wq *wq[NWQ];
	struct ibv_rwq_ind_table *ind;
	struct ibv_qp *rss;
	struct ibv_flow *fl;
	struct flow_req r;
	struct ibv_wc wc[4];
	uint8_t key[40];

	side_open(&a, 0, 64);
	side_open(&b, 1, 256);
	qp_to_rts(a.qp);
	for (int i = 0; i < NWQ; i++) {
		struct ibv_wq_init_attr wa = { .wq_type = IBV_WQT_RQ,
					       .max_wr = 8,
					       .max_sge = 1,
					       .pd = b.pd,
					       .cq = b.cq };
		struct ibv_wq_attr ma = { .attr_mask = IBV_WQ_ATTR_STATE,
					  .wq_state = IBV_WQS_RDY };
		struct ibv_sge sge = { (uintptr_t)bufp(&b, i), BUF_SIZE,
				       b.mr->lkey };
		struct ibv_recv_wr rw = { .wr_id = (uint64_t)i,
					  .sg_list = &sge,
					  .num_sge = 1 },
				   *bad;

		wq[i] = ibv_create_wq(b.ctx, &wa);
		ck_assert_ptr_nonnull(wq[i]);
		ck_assert_int_eq(ibv_modify_wq(wq[i], &ma), 0);
		for (int k = 0; k < 4; k++)
			ck_assert_int_eq(ibv_post_wq_recv(wq[i], &rw, &bad), 0);
	}
	ind = ibv_create_rwq_ind_table(
		b.ctx, &(struct ibv_rwq_ind_table_init_attr){
			       .log_ind_tbl_size = LOG, .ind_tbl = wq });
	ck_assert_ptr_nonnull(ind);
	memcpy(key, (const uint8_t[]){ 0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e,
				       0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3,
				       0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae,
				       0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3,
				       0x80, 0x30, 0xf2, 0x0c, 0x6a, 0x42, 0xb7,
				       0x3b, 0xbe, 0xac, 0x01, 0xfa },
	       40);
	rss = ibv_create_qp_ex(
		b.ctx,
		&(struct ibv_qp_init_attr_ex){
			.qp_type = IBV_QPT_RAW_PACKET,
			.comp_mask = IBV_QP_INIT_ATTR_PD |
				     IBV_QP_INIT_ATTR_IND_TABLE |
				     IBV_QP_INIT_ATTR_RX_HASH,
			.pd = b.pd,
			.rwq_ind_tbl = ind,
			.rx_hash_conf = { .rx_hash_function =
						  IBV_RX_HASH_FUNC_TOEPLITZ,
					  .rx_hash_key_len = 40,
					  .rx_hash_key = key,
					  .rx_hash_fields_mask =
						  IBV_RX_HASH_SRC_IPV4 |
						  IBV_RX_HASH_DST_IPV4 |
						  IBV_RX_HASH_SRC_PORT_TCP |
						  IBV_RX_HASH_DST_PORT_TCP } });
	ck_assert_ptr_nonnull(rss);
	flow_init(&r, 0, 0);
	flow_add(&r, IBV_FLOW_SPEC_IPV4, sizeof(struct ibv_flow_spec_ipv4));
	flow_add(&r, IBV_FLOW_SPEC_TCP, sizeof(struct ibv_flow_spec_tcp_udp));
	fl = ibv_create_flow(rss, &r.attr);
	ck_assert_ptr_nonnull(fl);
	for (size_t i = 0; i < VS_ARRAY_SIZE(ms_tcp4); i++) {
		ip4_frame(bufp(&a, 0), 80, mac1, mac0, 6, ms_tcp4[i].src,
			  ms_tcp4[i].dst, ms_tcp4[i].sport, ms_tcp4[i].dport);
		ck_assert_int_eq(post_send_buf(&a, 0, 80, 0), 0);
		ck_assert_int_eq(poll_n(b.cq, wc, 4), 1);
		/* The WQ of indirection entry hash mod 8, as the spec says. */
		ck_assert_uint_eq(wc[0].qp_num,
				  wq[ms_tcp4[i].hash & (NWQ - 1)]->wq_num);
		ck_assert_uint_eq(wc[0].wr_id, ms_tcp4[i].hash & (NWQ - 1));
	}
	/* Teardown order is enforced. */
	ck_assert_int_eq(ibv_destroy_rwq_ind_table(ind), EBUSY);
	ck_assert_int_eq(ibv_destroy_wq(wq[0]), EBUSY);
	ck_assert_int_eq(ibv_destroy_flow(fl), 0);
	ck_assert_int_eq(ibv_destroy_qp(rss), 0);
	ck_assert_int_eq(ibv_destroy_rwq_ind_table(ind), 0);
	for (int i = 0; i < NWQ; i++)
		ck_assert_int_eq(ibv_destroy_wq(wq[i]), 0);
	pair_down(NULL);
}
END_TEST

/*
 * Sends N numbered frames through the impaired cable and summarises what
 * arrived. Runs in a child process, because the cable is configured from
 * the environment when the first device list is made.
 */
enum { IMP_N = 20000 };

struct imp_result {
	uint64_t got, dup, reordered, bad_csum, pattern;
};

static void
imp_run(const char *spec, struct imp_result *res)
{
	static uint8_t seen[IMP_N];
	struct ibv_flow *fl;
	struct ibv_wc wc[64];
	uint32_t max_seq = 0;

	setenv("VSEMU_IMPAIR", spec, 1);
	fl = pair_up();
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < 128; i++)
		post_recv_buf(&b, i, BUF_SIZE);
	for (uint32_t seq = 0; seq < IMP_N + 64; seq++) {
		int n;

		if (seq < IMP_N) {
			udp4_frame(bufp(&a, 200), 100, mac1, mac0, 1, 2, 3, 7);
			memcpy(bufp(&a, 200) + 60, &seq, 4);
			ck_assert_int_eq(
				post_send_buf(
					&a, 200, 100,
					IBV_SEND_IP_CSUM |
						(seq % 32 == 31 ?
							 IBV_SEND_SIGNALED :
							 0)),
				0);
		} else {
			usleep(2000); /* lets a held-back last frame out */
		}
		if (seq % 32 != 31)
			continue;
		while (poll_n(a.cq, wc, 64) > 0)
			;
		while ((n = poll_n(b.cq, wc, 64)) > 0) {
			for (int k = 0; k < n; k++) {
				uint8_t *f = bufp(&b, (int)wc[k].wr_id);
				uint32_t s;

				memcpy(&s, f + 60, 4);
				if (!(wc[k].wc_flags & IBV_WC_IP_CSUM_OK)) {
					res->bad_csum++;
				} else if (s < IMP_N) {
					res->got += !seen[s];
					res->dup += seen[s];
					res->reordered += s < max_seq;
					seen[s] = 1;
					max_seq = s > max_seq ? s : max_seq;
				}
				/* Which frames came, not in which order: a held
				 * frame leaves after 1 ms without a successor,
				 * so order depends on the machine's load. */
				res->pattern +=
					((uint64_t)s + 1) * 0x9e3779b97f4a7c15u;
				post_recv_buf(&b, (int)wc[k].wr_id, BUF_SIZE);
			}
		}
	}
	pair_down(fl);
}

static void
imp_child(const char *spec, struct imp_result *out)
{
	int fds[2], status;
	pid_t pid;

	ck_assert_int_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		struct imp_result r;

		imp_run(spec, &r);
		_exit(write(fds[1], &r, sizeof(r)) == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "impaired run failed (status %#x)", status);
	ck_assert_int_eq(read(fds[0], out, sizeof(*out)), sizeof(*out));
	close(fds[0]);
}

/* |observed - expected| within 5 standard deviations of a binomial. */
static void
assert_rate(const char *what, uint64_t count, double p)
{
	double sd = sqrt(p * (1 - p) / IMP_N), got = (double)count / IMP_N;

	ck_assert_msg(fabs(got - p) < 5 * sd + 0.001,
		      "%s: observed %.4f, configured %.4f", what, got, p);
}

START_TEST(impairment)
{
	const char *spec =
		"loss=0.05,dup=0.03,reorder=0.04,corrupt=0.02,seed=7";
	struct imp_result r1, r2, r3;

	imp_child(spec, &r1);
	imp_child(spec, &r2);
	imp_child("loss=0.05,dup=0.03,reorder=0.04,corrupt=0.02,seed=8", &r3);
	/* Losses and corruptions both keep a frame from counting as good. */
	assert_rate("loss+corrupt", IMP_N - r1.got, 0.05 + 0.95 * 0.02);
	assert_rate("corrupt", r1.bad_csum, 0.95 * 0.02 * (1 + 0.03));
	assert_rate("dup", r1.dup, 0.95 * 0.98 * 0.03);
	assert_rate("reorder", r1.reordered, 0.95 * 0.04);
	/* Same seed, same frames delivered; another seed, others. */
	ck_assert_uint_eq(r1.pattern, r2.pattern);
	ck_assert_uint_eq(r1.got, r2.got);
	ck_assert_uint_ne(r1.pattern, r3.pattern);
}
END_TEST

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Polls b's CQ until n receives completed; the elapsed ms, or -1. */
static long
await_recv(int n, uint64_t t0, uint64_t limit_ms)
{
	struct ibv_wc wc[64];
	int got = 0;

	while (got < n && ms_now() - t0 < limit_ms) {
		got += poll_n(b.cq, wc, 64);
		while (poll_n(a.cq, wc, 64) > 0)
			;
	}
	return got >= n ? (long)(ms_now() - t0) : -1;
}

/* Child side of delay_and_rate: exit codes name what went wrong. */
static int
delay_rate_run(void)
{
	struct ibv_flow *fl;
	uint64_t t0;
	long ms;

	setenv("VSEMU_IMPAIR", "delay_us=20000,rate_mbps=10", 1);
	fl = pair_up();
	for (int i = 0; i < 128; i++)
		post_recv_buf(&b, i, BUF_SIZE);
	/* One small frame: not there before 20 ms, there soon after. */
	t0 = ms_now();
	send_udp(&a, 0, 64, 7);
	if (await_recv(1, t0, 15) != -1)
		return 3;
	/* Lower bounds prove the delay; upper ones only catch a hang
	 * (a loaded machine may be slow to poll). */
	ms = await_recv(1, t0, 500);
	if (ms < 20 || ms > 250)
		return 4;
	/* 50 frames of 1250 bytes at 10 Mb/s: 1.016 ms each on the wire,
	 * so the last arrives 20 + 50.8 ms after they were sent. */
	t0 = ms_now();
	for (int i = 0; i < 50; i++)
		send_udp(&a, 1, 1250, 7);
	ms = await_recv(50, t0, 1000);
	if (ms < 70 || ms > 500)
		return 5;
	pair_down(fl);
	return 0;
}

START_TEST(delay_and_rate)
{
	int status;
	pid_t pid = fork();

	if (pid == 0)
		_exit(delay_rate_run());
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "delay/rate run failed at step %d", WEXITSTATUS(status));
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("emu");

	VSTEST_ADD(s, device_list);
	VSTEST_ADD(s, send_recv);
	VSTEST_ADD(s, state_machine);
	VSTEST_ADD(s, flush_on_error);
	VSTEST_ADD(s, bad_lkey);
	VSTEST_ADD(s, sge_outside_mr);
	VSTEST_ADD(s, recv_needs_local_write);
	VSTEST_ADD(s, dereg_mr_under_posted_recv);
	VSTEST_ADD(s, frame_longer_than_buffer);
	VSTEST_ADD(s, limits);
	VSTEST_ADD(s, selective_signaling);
	VSTEST_ADD(s, cq_overrun);
	VSTEST_ADD(s, flow_priority);
	VSTEST_ADD(s, flow_many);
	VSTEST_ADD(s, dont_trap_and_drop);
	VSTEST_ADD(s, frag_rule);
	VSTEST_ADD(s, sniffer_and_no_loopback);
	VSTEST_ADD(s, ip_checksum);
	VSTEST_ADD(s, needs_cap_net_raw);
	VSTEST_ADD(s, busy_teardown);
	VSTEST_ADD(s, completion_channel);
	VSTEST_ADD(s, cq_ex_polling);
	VSTEST_ADD(s, rss_spread);
	VSTEST_ADD(s, impairment);
	VSTEST_ADD(s, delay_and_rate);
	return s;
}
