// SPDX-License-Identifier: MIT
/*
 * verbs.c - the port backend for ConnectX (mlx5) through libibverbs.
 *
 * Owns, per port: the device context, a PD, one MR over the whole buffer
 * pool, an RSS QP over every queue's WQ (rules that spread), and the flow
 * rules. Per queue: a completion channel, a receive CQ and a WQ behind
 * its own one-entry RSS QP (rules that steer to this queue), and a send
 * CQ and a send-only RAW_PACKET QP.
 *
 * Fast path (per queue, one thread, no lock, no allocation, no syscall):
 * receive completions are polled in batches and buffers are reposted in
 * chained batches; sends are chained, small frames go inline (copied at
 * post time, their buffer freed at once), and only the last send of a
 * burst (or every quarter of the queue) asks for a completion, which
 * retires every send before it.
 *
 * Must never: block, or leak a buffer across an error: a queue whose work
 * queue fails is reported, reset and refilled.
 */
#include <errno.h>
#include <fcntl.h>
#include <infiniband/verbs.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "verbs/port_impl.h"

#define RX_BATCH 32
#define MAX_BURST 64
#define INLINE_WANTED 256
/* ibv_flow_ipv4_ext_filter.flags: the kernel's IB_IPV4_MORE_FRAG
 * (rdma/ib_verbs.h), which libibverbs passes through unnamed. */
#define IB_IPV4_MORE_FRAG_FLAG 0x4

struct vq {
	struct ibv_comp_channel *ch;
	struct ibv_cq *rx_cq, *tx_cq;
	struct ibv_wq *wq;
	struct ibv_rwq_ind_table *ind1;
	struct ibv_qp *rx_qp; /* RSS over this queue alone */
	struct ibv_qp *tx_qp;
	/* receive buffers in the order posted (a WQ completes in order) */
	struct vs_buf **rx_ring;
	uint32_t rx_head, rx_count, rx_mask;
	struct ibv_recv_wr rwr[RX_BATCH]; /* built once, chained */
	struct ibv_sge rsge[RX_BATCH];
	struct ibv_wc stash; /* a completion arm() found */
	bool stashed;
	/* buffers of sends in flight, NULL for inline ones */
	struct vs_buf **tx_ring;
	uint32_t tx_head, tx_count;
	uint32_t tx_mask; /* tx_ring has tx_mask + 1 (a power of two) slots */
	uint32_t tx_held; /* entries of tx_ring that hold a buffer */
	/* Work requests built once and chained: a send writes only what
	 * changes per frame (as perftest does). */
	struct ibv_send_wr wr[MAX_BURST];
	struct ibv_sge sge[MAX_BURST];
	unsigned ev_rx, ev_tx; /* CQ events not yet acknowledged */
};

struct vport {
	struct vs_port port; /* first: the port is a vport */
	struct ibv_context *ctx;
	struct ibv_pd *pd;
	struct ibv_mr *mr;
	struct ibv_rwq_ind_table *ind_all;
	struct ibv_qp *rss_qp;
	struct vq *q;
	unsigned nrules;
	struct v_rule *rules; /* removed at close if still there */
	const char *failed; /* the verbs call that failed while opening */
	char ibdev_path[IBV_SYSFS_PATH_MAX];
};

struct v_rule {
	struct vs_rule_handle h;
	struct ibv_flow *flow[2]; /* IPv4 and IPv6 for a rule of any family */
	struct ibv_counters *cnt[2]; /* a counting rule's, per flow */
	struct v_rule *prev, *next; /* the port's rules */
};

static struct vport *
vp(struct vs_port *p)
{
	return container_of(p, struct vport, port);
}

static struct v_rule *
vr(struct vs_rule_handle *h)
{
	return container_of(h, struct v_rule, h);
}

/*
 * Inside this file, as in the library: 0 or -errno. verbs calls that
 * return a pointer set errno (taken by fail(p, call, 0)); those that
 * return an errno value are turned by neg().
 */

/* Notes the first call that failed while opening, for the message.
 * Returns rc, or (rc 0) -errno of the call that just failed (-EIO where
 * it set none). */
static int
fail(struct vs_port *p, const char *call, int rc)
{
	if (!vp(p)->failed)
		vp(p)->failed = call;
	if (!rc)
		rc = errno ? -errno : -EIO;
	return rc;
}

/* An rdma-core call's result (0 or a positive errno) as 0 or -errno. */
static int
neg(int rc)
{
	return rc > 0 ? -rc : rc ? -EIO : 0;
}

/* --- finding the device --- */

/* The netdev of an RDMA device: the entry in <ibdev_path>/device/net/. */
static int
dev_netdev(const char *ibdev_path, char *ifname, size_t len)
{
	char path[IBV_SYSFS_PATH_MAX + 16];
	struct dirent *de;
	DIR *d;
	int rc = -ENOENT;

	snprintf(path, sizeof(path), "%s/device/net", ibdev_path);
	d = opendir(path);
	if (!d)
		return rc;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && strlen(de->d_name) < len) {
			memcpy(ifname, de->d_name, strlen(de->d_name) + 1);
			rc = 0;
			break;
		}
	closedir(d);
	return rc;
}

static int
dev_numa_node(const char *ibdev_path)
{
	char path[IBV_SYSFS_PATH_MAX + 16];
	FILE *f;
	int node = -1;

	snprintf(path, sizeof(path), "%s/device/numa_node", ibdev_path);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%d", &node) != 1)
			node = -1;
		fclose(f);
	}
	return node;
}

/* "mlx5_0 (eth0), mlx5_1 (eth1)" for messages. */
static void
list_devices(struct ibv_device **l, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (int i = 0; l[i] && off < len; i++) {
		char ifname[IF_NAMESIZE] = "no netdev";

		dev_netdev(l[i]->ibdev_path, ifname, sizeof(ifname));
		off += (size_t)snprintf(buf + off, len - off, "%s%s (%s)",
					i ? ", " : "", l[i]->name, ifname);
	}
}

/* By RDMA device name, or by the name of its netdev; "" or NULL: the
 * first device that has a netdev. */
static struct ibv_device *
find_device(struct ibv_device **l, const char *want, char *ifname)
{
	for (int i = 0; l[i]; i++) {
		char nd[IF_NAMESIZE] = "";

		dev_netdev(l[i]->ibdev_path, nd, sizeof(nd));
		if (!want || !*want ? nd[0] != 0 :
				      strcmp(l[i]->name, want) == 0 ||
					      strcmp(nd, want) == 0) {
			snprintf(ifname, IF_NAMESIZE, "%s", nd);
			return l[i];
		}
	}
	return NULL;
}

static int
open_device(struct vs_port *p, char *err, size_t errlen)
{
	struct vport *v = vp(p);
	struct ibv_device **l = ibv_get_device_list(NULL);
	struct ibv_device *dev;
	char names[512];

	if (!l || !l[0]) {
		snprintf(err, errlen,
			 "%s: no RDMA device found (for ConnectX: "
			 "is mlx5_ib loaded? for the emulated one: "
			 "is vsemu running, and VSEMU_DIR set?)",
			 p->o.device && *p->o.device ? p->o.device : "vstack");
		if (l) /* rdma-core returns NULL without an RDMA subsystem */
			ibv_free_device_list(l);
		return -ENODEV;
	}
	dev = find_device(l, p->o.device, p->info.ifname);
	if (!dev) {
		list_devices(l, names, sizeof(names));
		if (p->o.device && *p->o.device)
			snprintf(err, errlen,
				 "%s: no such RDMA device or netdev; "
				 "there are: %s",
				 p->o.device, names);
		else
			snprintf(err, errlen,
				 "no RDMA device has a netdev; there "
				 "are: %s",
				 names);
		ibv_free_device_list(l);
		return -ENODEV;
	}
	snprintf(p->info.device, sizeof(p->info.device), "%s", dev->name);
	snprintf(v->ibdev_path, sizeof(v->ibdev_path), "%s", dev->ibdev_path);
	v->ctx = ibv_open_device(dev);
	ibv_free_device_list(l);
	if (!v->ctx) {
		int e = errno ? errno : EIO;

		snprintf(
			err, errlen, "%s: cannot open: ibv_open_device: %s%s",
			p->info.device, strerror(e),
			e == EPERM || e == EACCES ?
				" (this user may not open it: on a ConnectX "
				"/dev/infiniband/uverbs* and its group, on the "
				"emulated port vsemu --group)" :
				"");
		return -e;
	}
	if (!p->info.ifname[0]) {
		snprintf(err, errlen,
			 "%s: has no netdev (%s/device/net is "
			 "empty)",
			 p->info.device, v->ibdev_path);
		return -ENODEV;
	}
	return 0;
}

/* An Ethernet port able to do raw packets (and RSS, for several queues). */
static int
check_device(struct vs_port *p, char *err, size_t errlen)
{
	struct vport *v = vp(p);
	struct ibv_device_attr_ex dx;
	struct ibv_port_attr pa;

	const char *call = "ibv_query_port";
	int rc = ibv_query_port(v->ctx, 1, &pa);

	if (!rc) {
		call = "ibv_query_device_ex";
		rc = ibv_query_device_ex(v->ctx, NULL, &dx);
	}
	if (rc) {
		snprintf(err, errlen, "%s: cannot query the device: %s: %s",
			 p->info.device, call, strerror(rc > 0 ? rc : EIO));
		return -EIO;
	}
	if (pa.link_layer != IBV_LINK_LAYER_ETHERNET) {
		snprintf(err, errlen,
			 "%s: port 1 is not Ethernet; vstack "
			 "needs an Ethernet (RoCE) port",
			 p->info.device);
		return -EOPNOTSUPP;
	}
	if (!(dx.rss_caps.supported_qpts & (1u << IBV_QPT_RAW_PACKET)) ||
	    dx.rss_caps.max_rwq_indirection_table_size < p->o.nqueues) {
		snprintf(err, errlen,
			 "%s: no RSS for raw packet QPs over %u "
			 "queues: not a RAW_PACKET-capable device",
			 p->info.device, p->o.nqueues);
		return -EOPNOTSUPP;
	}
	if ((uint32_t)dx.orig_attr.max_qp_wr < p->o.rx_depth ||
	    (uint32_t)dx.orig_attr.max_qp_wr < p->o.tx_depth) {
		snprintf(err, errlen,
			 "%s: queues of %u/%u exceed the device's "
			 "%d",
			 p->info.device, p->o.rx_depth, p->o.tx_depth,
			 dx.orig_attr.max_qp_wr);
		return -EINVAL;
	}
	p->info.tx_csum = p->info.rx_csum =
		dx.raw_packet_caps & IBV_RAW_PACKET_CAP_IP_CSUM;
	return 0;
}

static int
register_pool(struct vs_port *p, char *err, size_t errlen)
{
	struct vport *v = vp(p);

	const char *call = "ibv_alloc_pd";
	int e;

	v->pd = ibv_alloc_pd(v->ctx);
	if (v->pd) {
		call = "ibv_reg_mr";
		v->mr = ibv_reg_mr(v->pd, p->pool.mem, p->pool.mem_len,
				   IBV_ACCESS_LOCAL_WRITE);
	}
	if (!v->pd || !v->mr) {
		e = errno ? errno : EIO;
		snprintf(err, errlen,
			 "%s: cannot register %zu MiB of packet "
			 "buffers: %s: %s%s",
			 p->info.device, p->pool.mem_len >> 20, call,
			 strerror(e),
			 e == ENOMEM || e == EPERM ?
				 " (is `ulimit -l` too low?)" :
				 "");
		return -e;
	}
	for (uint32_t i = 0; i < p->pool.nbufs; i++)
		p->pool.desc[i].lkey = v->mr->lkey;
	return 0;
}

/* --- queues --- */

static struct ibv_qp *
rss_qp(struct vs_port *p, struct ibv_rwq_ind_table *ind)
{
	struct vport *v = vp(p);
	struct ibv_qp_init_attr_ex a = {
		.qp_type = IBV_QPT_RAW_PACKET,
		.comp_mask = IBV_QP_INIT_ATTR_PD | IBV_QP_INIT_ATTR_IND_TABLE |
			     IBV_QP_INIT_ATTR_RX_HASH,
		.pd = v->pd,
		.rwq_ind_tbl = ind,
		.rx_hash_conf = {
			.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ,
			.rx_hash_key_len = VS_RSS_KEY_LEN,
			.rx_hash_key = p->rss_key,
			.rx_hash_fields_mask =
				IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
				IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6 |
				IBV_RX_HASH_SRC_PORT_TCP |
				IBV_RX_HASH_DST_PORT_TCP |
				IBV_RX_HASH_SRC_PORT_UDP |
				IBV_RX_HASH_DST_PORT_UDP,
		},
	};

	return ibv_create_qp_ex(v->ctx, &a);
}

/* RESET -> INIT -> RTR -> RTS; 0 or -errno. */
static int
qp_up(struct ibv_qp *qp)
{
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT, .port_num = 1 };
	int rc = neg(ibv_modify_qp(qp, &a, IBV_QP_STATE | IBV_QP_PORT));

	a.qp_state = IBV_QPS_RTR;
	if (!rc)
		rc = neg(ibv_modify_qp(qp, &a, IBV_QP_STATE));
	a.qp_state = IBV_QPS_RTS;
	if (!rc)
		rc = neg(ibv_modify_qp(qp, &a, IBV_QP_STATE));
	return rc;
}

static int
wq_state(struct ibv_wq *wq, enum ibv_wq_state st)
{
	struct ibv_wq_attr a = { .attr_mask = IBV_WQ_ATTR_STATE,
				 .wq_state = st };

	return neg(ibv_modify_wq(wq, &a));
}

static struct ibv_qp *
tx_qp(struct vs_port *p, struct vq *q)
{
	struct ibv_qp_init_attr a = {
		.send_cq = q->tx_cq,
		.recv_cq = q->tx_cq,
		.qp_type = IBV_QPT_RAW_PACKET,
		.cap = { .max_send_wr = p->o.tx_depth,
			 .max_send_sge = 1,
			 .max_recv_wr = 0,
			 .max_recv_sge = 0,
			 .max_inline_data = INLINE_WANTED },
	};
	struct ibv_qp *qp = ibv_create_qp(vp(p)->pd, &a);

	/* Devices that cannot inline that much say so: ask for none. */
	if (!qp && errno == EINVAL) {
		a.cap.max_inline_data = 0;
		qp = ibv_create_qp(vp(p)->pd, &a);
	}
	if (qp)
		p->info.max_inline = a.cap.max_inline_data;
	return qp;
}

static int
queue_rx_create(struct vs_port *p, struct vq *q)
{
	struct vport *v = vp(p);
	struct ibv_wq_init_attr wa = { .wq_type = IBV_WQT_RQ,
				       .max_wr = p->o.rx_depth,
				       .max_sge = 1,
				       .pd = v->pd,
				       .cq = q->rx_cq };

	int rc;

	q->wq = ibv_create_wq(v->ctx, &wa);
	if (!q->wq)
		return fail(p, "ibv_create_wq", 0);
	rc = wq_state(q->wq, IBV_WQS_RDY);
	if (rc)
		return fail(p, "ibv_modify_wq", rc);
	q->ind1 = ibv_create_rwq_ind_table(
		v->ctx, &(struct ibv_rwq_ind_table_init_attr){
				.log_ind_tbl_size = 0, .ind_tbl = &q->wq });
	if (!q->ind1)
		return fail(p, "ibv_create_rwq_ind_table", 0);
	q->rx_qp = rss_qp(p, q->ind1);
	return q->rx_qp ? 0 : fail(p, "ibv_create_qp_ex", 0);
}

static int
queue_create(struct vs_port *p, struct vq *q)
{
	struct vport *v = vp(p);
	int rc;

	q->rx_mask = vs_pow2_at_least(p->o.rx_depth);
	q->rx_ring = calloc(q->rx_mask--, sizeof(*q->rx_ring));
	q->tx_mask = vs_pow2_at_least(p->o.tx_depth);
	q->tx_ring = calloc(q->tx_mask--, sizeof(*q->tx_ring));
	if (!q->rx_ring || !q->tx_ring)
		return fail(p, "calloc", -ENOMEM);
	q->ch = ibv_create_comp_channel(v->ctx);
	if (!q->ch)
		return fail(p, "ibv_create_comp_channel", 0);
	/* Wakeups are drained without blocking (see woken()). */
	fcntl(q->ch->fd, F_SETFL, fcntl(q->ch->fd, F_GETFL) | O_NONBLOCK);
	q->rx_cq = ibv_create_cq(v->ctx, (int)p->o.rx_depth, q, q->ch, 0);
	if (q->rx_cq)
		q->tx_cq =
			ibv_create_cq(v->ctx, (int)p->o.tx_depth, q, q->ch, 0);
	if (!q->rx_cq || !q->tx_cq)
		return fail(p, "ibv_create_cq", 0);
	rc = queue_rx_create(p, q);
	if (rc)
		return rc;
	q->tx_qp = tx_qp(p, q);
	if (!q->tx_qp)
		return fail(p, "ibv_create_qp", 0);
	for (unsigned i = 0; i < RX_BATCH; i++) {
		q->rsge[i] = (struct ibv_sge){ .length = p->o.buf_size -
							 VS_BUF_HEADROOM,
					       .lkey = vp(p)->mr->lkey };
		q->rwr[i] = (struct ibv_recv_wr){ .sg_list = &q->rsge[i],
						  .num_sge = 1,
						  .next = &q->rwr[i + 1] };
	}
	for (unsigned i = 0; i < MAX_BURST; i++) {
		q->sge[i].lkey = vp(p)->mr->lkey;
		q->wr[i] = (struct ibv_send_wr){ .sg_list = &q->sge[i],
						 .num_sge = 1,
						 .opcode = IBV_WR_SEND,
						 .next = &q->wr[i + 1] };
	}
	rc = qp_up(q->tx_qp);
	return rc ? fail(p, "ibv_modify_qp", rc) : 0;
}

/* Posts receives until the queue holds rx_depth of them. */
static void
rx_refill(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_recv_wr *bad;
	struct vs_buf *b[RX_BATCH];

	while (q->rx_count < p->o.rx_depth) {
		unsigned want = p->o.rx_depth - q->rx_count, n;
		uint32_t slot = q->rx_head + q->rx_count;

		n = vs__pool_get(&p->pool, qi, b,
				 want < RX_BATCH ? want : RX_BATCH);
		if (!n) {
			vs__stat_add(&p->st[qi].rx_no_buf, want);
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			q->rsge[i].addr = (uintptr_t)b[i]->data;
			q->rx_ring[(slot + i) & q->rx_mask] = b[i];
		}
		q->rwr[n - 1].next = NULL;
		bad = q->rwr; /* a provider that fails early may not set it */
		if (ibv_post_wq_recv(q->wq, q->rwr, &bad)) {
			/* A queue in error (or a provider out of memory)
			 * refuses: those before bad were posted, the rest
			 * go back; the next refill tries again. */
			unsigned k = (unsigned)(bad - q->rwr);

			vs__stat_add(&p->st[qi].rx_err, 1);

			q->rwr[n - 1].next = n < RX_BATCH ? &q->rwr[n] : NULL;
			q->rx_count += k;
			vs__pool_put(&p->pool, qi, b + k, n - k);
			return;
		}
		q->rwr[n - 1].next = n < RX_BATCH ? &q->rwr[n] : NULL;
		q->rx_count += n;
	}
}

/* Publishes how many buffers the NIC holds for queue qi. */
static void
gauges(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];

	atomic_store_explicit(&p->st[qi].rx_posted, q->rx_count,
			      memory_order_relaxed);
	atomic_store_explicit(&p->st[qi].tx_inflight, q->tx_held,
			      memory_order_relaxed);
}

/* --- errors --- */

/*
 * A work queue that failed is in ERR and will not work again until it
 * is reset: report it, give every buffer it held back to the pool, bring
 * it back up and refill it. Done on the queue's own thread.
 */
static void
rx_recover(struct vs_port *p, unsigned qi, enum ibv_wc_status st)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_wc wc[RX_BATCH];
	int rc;

	vs_err("%s queue %u: receive error (%s): resetting the queue",
	       p->info.device, qi, ibv_wc_status_str(st));
	wq_state(q->wq, IBV_WQS_RESET);
	while (ibv_poll_cq(q->rx_cq, RX_BATCH, wc) > 0)
		; /* flushed completions of the discarded receives */
	while (q->rx_count) {
		vs__pool_put(&p->pool, qi,
			     &q->rx_ring[q->rx_head++ & q->rx_mask], 1);
		q->rx_count--;
	}
	q->stashed = false;
	rc = wq_state(q->wq, IBV_WQS_RDY);
	if (rc)
		vs_err("%s queue %u: cannot restart the receive queue: %s",
		       p->info.device, qi, strerror(-rc));
	vs__stat_add(&p->st[qi].recovered, 1);
	rx_refill(p, qi);
	gauges(p, qi);
}

static void
tx_release(struct vs_port *p, unsigned qi, uint32_t n)
{
	struct vq *q = &vp(p)->q[qi];

	q->tx_count -= n;
	if (!q->tx_held) {
		/* Only inline sends in flight: nothing to give back. */
		q->tx_head = (q->tx_head + n) & q->tx_mask;
		return;
	}
	for (; n; n--) {
		struct vs_buf *b = q->tx_ring[q->tx_head];

		if (b) {
			vs__pool_put(&p->pool, qi, &b, 1);
			q->tx_held--;
		}
		q->tx_head = (q->tx_head + 1) & q->tx_mask;
	}
}

static void
tx_recover(struct vs_port *p, unsigned qi, enum ibv_wc_status st)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_qp_attr a = { .qp_state = IBV_QPS_RESET };
	struct ibv_wc wc[RX_BATCH];
	int rc;

	vs_err("%s queue %u: send error (%s): resetting the queue",
	       p->info.device, qi, ibv_wc_status_str(st));
	ibv_modify_qp(q->tx_qp, &a, IBV_QP_STATE);
	while (ibv_poll_cq(q->tx_cq, RX_BATCH, wc) > 0)
		;
	tx_release(p, qi, q->tx_count);
	rc = qp_up(q->tx_qp);
	if (rc)
		vs_err("%s queue %u: cannot restart the send queue: %s",
		       p->info.device, qi, strerror(-rc));
	vs__stat_add(&p->st[qi].recovered, 1);
	gauges(p, qi);
}

/* --- the fast path --- */

static unsigned
v_rx_burst(struct vs_port *p, unsigned qi, struct vs_buf **out, unsigned n)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_wc wc[MAX_BURST];
	unsigned got = 0;
	uint64_t bytes = 0;
	int k = 0;

	if (n > MAX_BURST)
		n = MAX_BURST;
	if (q->stashed) {
		wc[k++] = q->stash;
		q->stashed = false;
	}
	{
		int r = ibv_poll_cq(q->rx_cq, (int)n - k, wc + k);

		/* A failed poll is counted; the next one tries again. */
		if (unlikely(r < 0))
			vs__stat_add(&p->st[qi].rx_err, 1);
		else
			k += r;
	}
	/* Locals: stores through b must not make the compiler reload q. */
	struct vs_buf **ring = q->rx_ring;
	uint32_t head = q->rx_head, mask = q->rx_mask;

	_Static_assert(VS_BUF_CSUM_OK == 1, "the shift below");
	for (int i = 0; i < k; i++) {
		struct vs_buf *b = ring[head & mask];
		uint32_t len = wc[i].byte_len;

		if (unlikely(wc[i].status != IBV_WC_SUCCESS)) {
			/* The frames before it are delivered; the recovery
			 * takes back the buffers still posted. */
			q->rx_head = head;
			q->rx_count -= got;
			vs__stat_add(&p->st[qi].rx_err, 1);
			rx_recover(p, qi, wc[i].status);
			goto out;
		}
		head++;
		b->len = len;
		b->queue = (uint16_t)qi;
		b->flags =
			(uint16_t)((wc[i].wc_flags >> IBV_WC_IP_CSUM_OK_SHIFT) &
				   1);
		bytes += len;
		out[got++] = b;
	}
	q->rx_head = head;
	q->rx_count -= got;
out:
	if (got) {
		vs__stat_add(&p->st[qi].rx_frames, got);
		vs__stat_add(&p->st[qi].rx_bytes, bytes);
	}
	if (q->rx_count <= p->o.rx_depth - RX_BATCH || !q->rx_count)
		rx_refill(p, qi);
	gauges(p, qi);
	return got;
}

/* Retires sends whose signaled completion arrived. */
static void
tx_reap(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_wc wc[16];
	int n;

	if (!q->tx_count)
		return;
	while ((n = ibv_poll_cq(q->tx_cq, 16, wc)) != 0) {
		if (unlikely(n < 0)) { /* counted; the next reap tries again */
			vs__stat_add(&p->st[qi].tx_err, 1);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (unlikely(wc[i].status != IBV_WC_SUCCESS)) {
				vs__stat_add(&p->st[qi].tx_err, 1);
				tx_recover(p, qi, wc[i].status);
				return;
			}
			/* wr_id: how many sends this completion retires */
			tx_release(p, qi, (uint32_t)wc[i].wr_id);
		}
	}
	gauges(p, qi);
}

/* A post that stopped at frame sent (the queue went to error): the
 * frames after it stay the caller's, their slots are taken back. */
static void
tx_unpost(struct vs_port *p, unsigned qi, unsigned sent, unsigned n)
{
	struct vq *q = &vp(p)->q[qi];

	for (unsigned i = n; i-- > sent;) {
		q->tx_count--;
		if (!(q->wr[i].send_flags & IBV_SEND_INLINE))
			q->tx_held--;
	}
}

static unsigned
v_tx_burst(struct vs_port *p, unsigned qi, struct vs_buf **b, unsigned n)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_send_wr *bad;
	struct vs_buf *done[MAX_BURST];
	uint32_t room, sig_every = p->o.tx_depth / 4 ? p->o.tx_depth / 4 : 1;
	uint32_t max_inline = p->info.max_inline;
	uint32_t slot = q->tx_head + q->tx_count;
	unsigned csum = p->info.tx_csum ? IBV_SEND_IP_CSUM : 0;
	uint64_t bytes = 0;
	unsigned sent, ndone = 0;

	tx_reap(p, qi);
	slot = q->tx_head + q->tx_count;
	room = p->o.tx_depth - q->tx_count;
	if (unlikely(n > room || n > MAX_BURST)) {
		unsigned keep = room < MAX_BURST ? room : MAX_BURST;

		vs__stat_add(&p->st[qi].tx_full, n - keep);
		n = keep;
	}
	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++) {
		struct vs_buf *x = b[i];
		uint32_t len = x->len;
		bool inl = len <= max_inline;

		q->sge[i].addr = (uintptr_t)x->data;
		q->sge[i].length = len;
		q->wr[i].send_flags = (inl ? IBV_SEND_INLINE : 0) |
				      ((x->flags & VS_BUF_TX_CSUM) ? csum : 0);
		q->tx_ring[(slot + i) & q->tx_mask] = inl ? NULL : x;
		bytes += len;
		/* Inline data is copied when posted: the buffer is free then. */
		if (inl)
			done[ndone++] = x;
	}
	/*
	 * A completion for the last send of the burst, and every quarter of
	 * the queue before it; each retires the sends since the previous
	 * one (its wr_id says how many). So none is pending between bursts.
	 */
	for (unsigned i = sig_every - 1; i < n - 1; i += sig_every) {
		q->wr[i].send_flags |= IBV_SEND_SIGNALED;
		q->wr[i].wr_id = sig_every;
	}
	q->wr[n - 1].send_flags |= IBV_SEND_SIGNALED;
	q->wr[n - 1].wr_id = n - ((n - 1) / sig_every) * sig_every;
	q->tx_count += n;
	q->tx_held += n - ndone;
	q->wr[n - 1].next = NULL;
	bad = q->wr; /* a provider that fails early may not set it */
	sent = ibv_post_send(q->tx_qp, q->wr, &bad) ? (unsigned)(bad - q->wr) :
						      n;
	q->wr[n - 1].next = n < MAX_BURST ? &q->wr[n] : NULL;
	if (unlikely(sent < n)) {
		vs__stat_add(&p->st[qi].tx_err, 1);
		tx_unpost(p, qi, sent, n);
		bytes = ndone = 0;
		for (unsigned i = 0; i < sent; i++) {
			bytes += b[i]->len;
			if (q->wr[i].send_flags & IBV_SEND_INLINE)
				done[ndone++] = b[i];
		}
	}
	if (ndone)
		vs__pool_put(&p->pool, qi, done, ndone);
	vs__stat_add(&p->st[qi].tx_frames, sent);
	vs__stat_add(&p->st[qi].tx_bytes, bytes);
	gauges(p, qi);
	return sent;
}

/* --- rules --- */

/*
 * Precedence (lower first): drop rules (a block list beats any steering),
 * then fragment rules (every fragment of a datagram to one queue, the
 * first one too, which a port rule below may then also take), then
 * exact 5-tuples, then 3-tuples (local address and port), then ports
 * alone, then the rest, then standby rules. Equal rules never overlap by
 * construction.
 */
static uint16_t
rule_priority(const struct vs_rule *r)
{
	static const uint8_t full[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff };
	size_t alen = r->family == AF_INET6 ? 16 : 4;
	bool src = r->family && !memcmp(r->src_mask, full, alen);
	bool dst = r->family && !memcmp(r->dst_mask, full, alen);

	if (r->action == VS_RULE_DROP)
		return 0;
	if (r->frag)
		return 1;
	if (r->standby)
		return 6;
	if (src && dst && r->sport_mask == 0xffff && r->dport_mask == 0xffff)
		return 2;
	if (dst && r->dport_mask == 0xffff)
		return 3;
	if (r->dport_mask || r->sport_mask)
		return 4;
	return 5;
}

struct flow_buf {
	struct ibv_flow_attr attr;
	struct ibv_flow_spec_eth eth;
	union {
		struct ibv_flow_spec_ipv4 v4;
		struct ibv_flow_spec_ipv4_ext v4x;
		struct ibv_flow_spec_ipv6 v6;
	} ip;
	struct ibv_flow_spec_tcp_udp l4;
	struct ibv_flow_spec_action_drop drop;
	struct ibv_flow_spec_counter_action count;
};

static void *
spec_next(struct flow_buf *f, uint8_t **at, uint16_t size)
{
	void *s = *at;

	f->attr.size = (uint16_t)(f->attr.size + size);
	f->attr.num_of_specs++;
	*at += size;
	return s;
}

/* The specs for one address family (4 or 6). */
static void
build_flow(struct vs_port *p, const struct vs_rule *r, int family,
	   struct ibv_counters *cnt, uint8_t *buf)
{
	struct flow_buf *f = (struct flow_buf *)buf;
	uint8_t *at = buf + sizeof(f->attr);
	struct ibv_flow_spec_eth *eth;

	memset(buf, 0, sizeof(*f));
	f->attr = (struct ibv_flow_attr){ .type = IBV_FLOW_ATTR_NORMAL,
					  .size = sizeof(f->attr),
					  .port = 1,
					  .priority = rule_priority(r) };
	if (r->copy)
		f->attr.flags |= IBV_FLOW_ATTR_FLAGS_DONT_TRAP;
	eth = spec_next(f, &at, sizeof(*eth));
	*eth = (struct ibv_flow_spec_eth){ .type = IBV_FLOW_SPEC_ETH,
					   .size = sizeof(*eth) };
	memcpy(eth->val.dst_mac, p->info.mac, 6);
	memset(eth->mask.dst_mac, 0xff, 6);
	if (family == AF_INET && r->frag) {
		/* A fragment, as mlx5 maps the flag to its `frag` bit: MF set
		 * or an offset (docs/emu.md). */
		struct ibv_flow_spec_ipv4_ext *ip =
			spec_next(f, &at, sizeof(*ip));

		*ip = (struct ibv_flow_spec_ipv4_ext){
			.type = IBV_FLOW_SPEC_IPV4_EXT,
			.size = sizeof(*ip),
			.val = { .proto = r->proto,
				 .flags = IB_IPV4_MORE_FRAG_FLAG },
			.mask = { .proto = r->proto ? 0xff : 0,
				  .flags = IB_IPV4_MORE_FRAG_FLAG }
		};
		if (r->family) {
			memcpy(&ip->val.dst_ip, r->dst, 4);
			memcpy(&ip->mask.dst_ip, r->dst_mask, 4);
		}
	} else if (family == AF_INET6 && r->frag) {
		struct ibv_flow_spec_ipv6 *ip = spec_next(f, &at, sizeof(*ip));

		*ip = (struct ibv_flow_spec_ipv6){
			.type = IBV_FLOW_SPEC_IPV6,
			.size = sizeof(*ip),
			.val = { .next_hdr = 44 }, /* a fragment header */
			.mask = { .next_hdr = 0xff }
		};
		if (r->family) {
			memcpy(ip->val.dst_ip, r->dst, 16);
			memcpy(ip->mask.dst_ip, r->dst_mask, 16);
		}
	} else if (family == AF_INET) {
		struct ibv_flow_spec_ipv4 *ip = spec_next(f, &at, sizeof(*ip));

		*ip = (struct ibv_flow_spec_ipv4){ .type = IBV_FLOW_SPEC_IPV4,
						   .size = sizeof(*ip) };
		if (r->family) {
			memcpy(&ip->val.src_ip, r->src, 4);
			memcpy(&ip->mask.src_ip, r->src_mask, 4);
			memcpy(&ip->val.dst_ip, r->dst, 4);
			memcpy(&ip->mask.dst_ip, r->dst_mask, 4);
		}
	} else {
		struct ibv_flow_spec_ipv6 *ip = spec_next(f, &at, sizeof(*ip));

		*ip = (struct ibv_flow_spec_ipv6){ .type = IBV_FLOW_SPEC_IPV6,
						   .size = sizeof(*ip) };
		if (r->family) {
			memcpy(ip->val.src_ip, r->src, 16);
			memcpy(ip->mask.src_ip, r->src_mask, 16);
			memcpy(ip->val.dst_ip, r->dst, 16);
			memcpy(ip->mask.dst_ip, r->dst_mask, 16);
		}
	}
	if (r->proto && !r->frag) {
		struct ibv_flow_spec_tcp_udp *l4 =
			spec_next(f, &at, sizeof(*l4));

		*l4 = (struct ibv_flow_spec_tcp_udp){
			.type = r->proto == IPPROTO_TCP ? IBV_FLOW_SPEC_TCP :
							  IBV_FLOW_SPEC_UDP,
			.size = sizeof(*l4),
			.val = { .src_port = htons(r->sport & r->sport_mask),
				 .dst_port = htons(r->dport & r->dport_mask) },
			.mask = { .src_port = htons(r->sport_mask),
				  .dst_port = htons(r->dport_mask) },
		};
	}
	if (r->action == VS_RULE_DROP) {
		struct ibv_flow_spec_action_drop *d =
			spec_next(f, &at, sizeof(*d));

		*d = (struct ibv_flow_spec_action_drop){
			.type = IBV_FLOW_SPEC_ACTION_DROP, .size = sizeof(*d)
		};
	}
	if (cnt) {
		struct ibv_flow_spec_counter_action *c =
			spec_next(f, &at, sizeof(*c));

		*c = (struct ibv_flow_spec_counter_action){
			.type = IBV_FLOW_SPEC_ACTION_COUNT,
			.size = sizeof(*c),
			.counters = cnt
		};
	}
}

/* A packet counter for one flow, described before the flow exists. */
static struct ibv_counters *
counter_new(struct vs_port *p)
{
	struct ibv_counter_attach_attr a = { .counter_desc =
						     IBV_COUNTER_PACKETS };
	struct ibv_counters_init_attr ia = { 0 };
	struct ibv_counters *c = ibv_create_counters(vp(p)->ctx, &ia);

	int rc = c ? neg(ibv_attach_counters_point_flow(c, &a, NULL)) : 0;

	if (rc) {
		ibv_destroy_counters(c);
		errno = -rc; /* a pointer's failure: errno, as libibverbs */
		return NULL;
	}
	return c;
}

static void
handle_free(struct v_rule *h)
{
	for (int i = 0; i < 2; i++)
		if (h->cnt[i])
			ibv_destroy_counters(h->cnt[i]);
	free(h);
}

static int
v_rule_add(struct vs_port *p, const struct vs_rule *r,
	   struct vs_rule_handle **out)
{
	struct vport *v = vp(p);
	struct ibv_qp *qp =
		r->action == VS_RULE_STEER ? v->q[r->queue].rx_qp : v->rss_qp;
	int fams[2] = { r->family ? r->family : AF_INET, AF_INET6 };
	int nf = r->family ? 1 : 2;
	struct v_rule *h;
	_Alignas(8) uint8_t buf[sizeof(struct flow_buf)];

	if (v->nrules + (unsigned)nf > p->o.flows)
		return -ENOSPC;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (int i = 0; i < nf; i++) {
		if (r->count && !(h->cnt[i] = counter_new(p))) {
			int rc = errno ? -errno : -EOPNOTSUPP;

			if (i)
				ibv_destroy_flow(h->flow[0]);
			handle_free(h);
			return rc;
		}
		build_flow(p, r, fams[i], h->cnt[i], buf);
		h->flow[i] = ibv_create_flow(qp, (struct ibv_flow_attr *)buf);
		if (!h->flow[i]) {
			int rc = -errno;

			if (i)
				ibv_destroy_flow(h->flow[0]);
			handle_free(h);
			return rc ? rc : -EIO;
		}
	}
	v->nrules += (unsigned)nf;
	h->next = v->rules;
	if (v->rules)
		v->rules->prev = h;
	v->rules = h;
	*out = &h->h;
	return 0;
}

static int
v_rule_del(struct vs_port *p, struct vs_rule_handle *rh)
{
	struct vport *v = vp(p);
	struct v_rule *h = vr(rh);
	int rc = 0;

	if (h->prev)
		h->prev->next = h->next;
	else
		v->rules = h->next;
	if (h->next)
		h->next->prev = h->prev;
	for (int i = 0; i < 2; i++) {
		if (!h->flow[i])
			continue;
		if (ibv_destroy_flow(h->flow[i]))
			rc = -EIO;
		vp(p)->nrules--;
	}
	handle_free(h);
	return rc;
}

static int
v_rule_hits(struct vs_port *p, struct vs_rule_handle *rh, uint64_t *hits)
{
	struct v_rule *h = vr(rh);

	(void)p;
	*hits = 0;
	if (!h->cnt[0])
		return -EOPNOTSUPP;
	for (int i = 0; i < 2; i++) {
		uint64_t n;
		int rc;

		if (!h->cnt[i])
			continue;
		rc = ibv_read_counters(h->cnt[i], &n, 1, 0);
		if (rc)
			return -rc;
		*hits += n;
	}
	return 0;
}

/* --- sleeping --- */

static int
v_arm(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];

	if (q->stashed)
		return 1;
	tx_reap(p, qi);
	if (ibv_req_notify_cq(q->rx_cq, 0) ||
	    (q->tx_count && ibv_req_notify_cq(q->tx_cq, 0)))
		return -EIO;
	/* A completion that came before the arming raises no event: look
	 * once more, and keep what is found for the next rx_burst. */
	if (ibv_poll_cq(q->rx_cq, 1, &q->stash) == 1) {
		q->stashed = true;
		return 1;
	}
	return 0;
}

static void
v_woken(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];
	struct ibv_cq *cq;
	void *ctx;

	while (ibv_get_cq_event(q->ch, &cq, &ctx) == 0) {
		unsigned *n = cq == q->rx_cq ? &q->ev_rx : &q->ev_tx;

		/* Acknowledging takes a lock in the provider: batch it. */
		if (++*n >= 64) {
			ibv_ack_cq_events(cq, *n);
			*n = 0;
		}
	}
}

static int
v_sleep_fd(struct vs_port *p, unsigned qi)
{
	return vp(p)->q[qi].ch->fd;
}

/* --- opening and closing --- */

static void
queue_destroy(struct vs_port *p, unsigned qi)
{
	struct vq *q = &vp(p)->q[qi];

	if (q->tx_qp)
		ibv_destroy_qp(q->tx_qp);
	if (q->rx_qp)
		ibv_destroy_qp(q->rx_qp);
	if (q->ind1)
		ibv_destroy_rwq_ind_table(q->ind1);
	if (q->wq)
		ibv_destroy_wq(q->wq);
	if (q->rx_cq) {
		ibv_ack_cq_events(q->rx_cq, q->ev_rx);
		ibv_destroy_cq(q->rx_cq);
	}
	if (q->tx_cq) {
		ibv_ack_cq_events(q->tx_cq, q->ev_tx);
		ibv_destroy_cq(q->tx_cq);
	}
	if (q->ch)
		ibv_destroy_comp_channel(q->ch);
	/* Buffers the queue held go back (the pool is freed anyway, but a
	 * leak check counts them). */
	if (q->rx_ring)
		while (q->rx_count) {
			vs__pool_put(&p->pool, qi,
				     &q->rx_ring[q->rx_head++ & q->rx_mask], 1);
			q->rx_count--;
		}
	if (q->tx_ring)
		tx_release(p, qi, q->tx_count);
	free(q->rx_ring);
	free(q->tx_ring);
}

static void
v_close(struct vs_port *p)
{
	struct vport *v = vp(p);

	/* Rules pin their QPs: they go first. */
	while (v->rules)
		v_rule_del(p, &v->rules->h);
	if (v->rss_qp)
		ibv_destroy_qp(v->rss_qp);
	if (v->ind_all)
		ibv_destroy_rwq_ind_table(v->ind_all);
	for (unsigned i = 0; v->q && i < p->o.nqueues; i++)
		queue_destroy(p, i);
	if (v->mr)
		ibv_dereg_mr(v->mr);
	if (v->pd)
		ibv_dealloc_pd(v->pd);
	if (v->ctx)
		ibv_close_device(v->ctx);
	free(v->q);
	v->rss_qp = NULL;
	v->ind_all = NULL;
	v->q = NULL;
	v->mr = NULL;
	v->pd = NULL;
	v->ctx = NULL;
}

/* One indirection table over every queue's WQ, for rules that spread. */
static int
create_rss(struct vs_port *p)
{
	struct vport *v = vp(p);
	struct ibv_wq *wqs[VS_RSS_TABLE_MAX];
	uint32_t log = 0;

	while ((1u << log) < p->o.nqueues)
		log++;
	p->rss_table_len = 1u << log;
	for (uint32_t i = 0; i < p->rss_table_len; i++) {
		p->rss_table[i] = (uint16_t)(i % p->o.nqueues);
		wqs[i] = v->q[p->rss_table[i]].wq;
	}
	v->ind_all = ibv_create_rwq_ind_table(
		v->ctx, &(struct ibv_rwq_ind_table_init_attr){
				.log_ind_tbl_size = log, .ind_tbl = wqs });
	if (!v->ind_all)
		return fail(p, "ibv_create_rwq_ind_table", 0);
	v->rss_qp = rss_qp(p, v->ind_all);
	return v->rss_qp ? 0 : fail(p, "ibv_create_qp_ex", 0);
}

static int
create_queues(struct vs_port *p, char *err, size_t errlen)
{
	struct vport *v = vp(p);
	int rc = 0;

	v->q = calloc(p->o.nqueues, sizeof(*v->q));
	if (!v->q)
		return -ENOMEM;
	for (unsigned i = 0; i < p->o.nqueues && !rc; i++)
		rc = queue_create(p, &v->q[i]);
	if (!rc)
		rc = create_rss(p);
	if (rc == -EPERM) {
		snprintf(err, errlen,
			 "%s: CAP_NET_RAW required; run as root, or as a "
			 "service's user with `vstack run --user USER`",
			 p->info.device);
		return -EPERM;
	}
	if (rc) {
		snprintf(err, errlen, "%s: cannot create the queues: %s: %s",
			 p->info.device, v->failed ? v->failed : "?",
			 strerror(-rc));
		return rc;
	}
	for (unsigned i = 0; i < p->o.nqueues; i++) {
		rx_refill(p, i);
		gauges(p, i);
	}
	return 0;
}

static int
v_open(struct vs_port *p, char *err, size_t errlen)
{
	struct vport *v = vp(p);
	int rc;

	rc = open_device(p, err, errlen);
	if (!rc)
		rc = check_device(p, err, errlen);
	if (!rc)
		rc = vs__port_netdev_info(p, err, errlen);
	if (!rc)
		rc = vs__port_pool_init(p, dev_numa_node(v->ibdev_path), err,
					errlen);
	if (!rc)
		rc = register_pool(p, err, errlen);
	if (!rc)
		rc = create_queues(p, err, errlen);
	if (rc)
		v_close(p);
	return rc;
}

const struct vs_port_ops vs__verbs_ops = {
	.name = "verbs",
	.size = sizeof(struct vport),
	.open = v_open,
	.close = v_close,
	.rx_burst = v_rx_burst,
	.tx_burst = v_tx_burst,
	.rule_add = v_rule_add,
	.rule_del = v_rule_del,
	.rule_hits = v_rule_hits,
	.arm = v_arm,
	.woken = v_woken,
	.sleep_fd = v_sleep_fd,
};
