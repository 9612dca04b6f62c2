// SPDX-License-Identifier: MIT
/*
 * emu_probe DEV UDP_PORT - a verbs program for the network tests of the
 * emulated ConnectX. On DEV it steers UDP to UDP_PORT into a RAW_PACKET
 * QP while a kernel socket listens on the same port, then:
 *   prints "ready", waits (on the completion channel) for one frame on
 *   the QP and checks the kernel socket got nothing;
 *   removes the rule, prints "removed", and waits for the next datagram
 *   on the kernel socket.
 * Exits 0 when both happened within 10 s each, 1 otherwise (saying why).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <infiniband/verbs.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
fail(const char *what)
{
	fprintf(stderr, "emu_probe: %s (%s)\n", what, strerror(errno));
	return 1;
}

static struct ibv_context *
open_by_name(const char *name)
{
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_context *ctx = NULL;

	for (int i = 0; l && l[i]; i++)
		if (strcmp(ibv_get_device_name(l[i]), name) == 0)
			ctx = ibv_open_device(l[i]);
	ibv_free_device_list(l);
	return ctx;
}

static struct ibv_flow *
udp_rule(struct ibv_qp *qp, uint16_t port)
{
	struct {
		struct ibv_flow_attr attr;
		struct ibv_flow_spec_ipv4 ip;
		struct ibv_flow_spec_tcp_udp udp;
	} r = {
		.attr = { .type = IBV_FLOW_ATTR_NORMAL,
			  .size = sizeof(r),
			  .num_of_specs = 2,
			  .port = 1 },
		.ip = { .type = IBV_FLOW_SPEC_IPV4, .size = sizeof(r.ip) },
		.udp = { .type = IBV_FLOW_SPEC_UDP,
			 .size = sizeof(r.udp),
			 .val.dst_port = htons(port),
			 .mask.dst_port = 0xffff },
	};

	return ibv_create_flow(qp, &r.attr);
}

static int
kernel_socket(uint16_t port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -1;
	return fd;
}

/* Waits for one completion through the channel, as an idle engine does. */
static int
wait_frame(struct ibv_comp_channel *ch, struct ibv_cq *cq, struct ibv_wc *wc)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	struct ibv_cq *ecq;
	void *ectx;

	for (;;) {
		if (ibv_poll_cq(cq, 1, wc) == 1)
			return 0;
		if (ibv_req_notify_cq(cq, 0))
			return -1;
		if (ibv_poll_cq(cq, 1, wc) == 1)
			return 0;
		if (poll(&p, 1, 10000) != 1)
			return -1;
		if (ibv_get_cq_event(ch, &ecq, &ectx) == 0)
			ibv_ack_cq_events(ecq, 1);
	}
}

int
main(int argc, char **argv)
{
	static uint8_t buf[4096];
	struct ibv_context *ctx;
	struct ibv_comp_channel *ch;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	struct ibv_qp *qp;
	struct ibv_flow *fl;
	struct ibv_wc wc;
	struct pollfd p;
	uint16_t port;
	int ks;

	if (argc != 3)
		return fprintf(stderr, "usage: emu_probe DEV UDP_PORT\n"), 2;
	port = (uint16_t)atoi(argv[2]);
	if (!(ctx = open_by_name(argv[1])))
		return fail("no such device");
	ch = ibv_create_comp_channel(ctx);
	pd = ibv_alloc_pd(ctx);
	cq = ibv_create_cq(ctx, 16, NULL, ch, 0);
	mr = ibv_reg_mr(pd, buf, sizeof(buf), IBV_ACCESS_LOCAL_WRITE);
	qp = ibv_create_qp(
		pd, &(struct ibv_qp_init_attr){ .send_cq = cq,
						.recv_cq = cq,
						.qp_type = IBV_QPT_RAW_PACKET,
						.cap = { .max_send_wr = 4,
							 .max_recv_wr = 4,
							 .max_send_sge = 1,
							 .max_recv_sge = 1 } });
	if (!ch || !pd || !cq || !mr || !qp)
		return fail("setup");
	ibv_modify_qp(qp,
		      &(struct ibv_qp_attr){ .qp_state = IBV_QPS_INIT,
					     .port_num = 1 },
		      IBV_QP_STATE | IBV_QP_PORT);
	ibv_modify_qp(qp, &(struct ibv_qp_attr){ .qp_state = IBV_QPS_RTR },
		      IBV_QP_STATE);
	ibv_post_recv(
		qp,
		&(struct ibv_recv_wr){
			.sg_list = &(struct ibv_sge){ (uintptr_t)buf,
						      sizeof(buf), mr->lkey },
			.num_sge = 1 },
		&(struct ibv_recv_wr *){ NULL });
	if (!(fl = udp_rule(qp, port)) || (ks = kernel_socket(port)) < 0)
		return fail("rule or kernel socket");
	printf("ready\n");
	fflush(stdout);
	if (wait_frame(ch, cq, &wc) || wc.status != IBV_WC_SUCCESS)
		return fail("no frame reached the QP");
	if (recv(ks, buf + 2048, 1024, MSG_DONTWAIT) >= 0)
		return fail("the kernel got a frame the rule steered");
	printf("qp got %u bytes from %s\n", wc.byte_len,
	       inet_ntoa(*(struct in_addr *)(buf + 26)));
	ibv_destroy_flow(fl);
	printf("removed\n");
	fflush(stdout);
	p = (struct pollfd){ .fd = ks, .events = POLLIN };
	if (poll(&p, 1, 10000) != 1)
		return fail(
			"the kernel got nothing after the rule was removed");
	printf("kernel got it\n");
	return 0;
}
