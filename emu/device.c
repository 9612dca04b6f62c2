// SPDX-License-Identifier: MIT
/*
 * device.c - the emulated devices as libibverbs presents them: the device
 * list, contexts and their queries, protection domains, memory regions,
 * completion channels and asynchronous events.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "emu/emu.h"
#include "emu/link.h"
#include "emu/wire.h"

static struct emu_fabric fabric = { .lock = PTHREAD_MUTEX_INITIALIZER };
static pthread_once_t fabric_once = PTHREAD_ONCE_INIT;

static void
port_init(struct emu_port *p, int idx, const char *name)
{
	static const uint8_t oui[3] = { 0x02, 0x76, 0x73 }; /* local, "vs" */

	p->fab = &fabric;
	memcpy(p->mac, oui, 3);
	p->mac[5] = (uint8_t)idx;
	p->mtu = 1500;
	p->dev.node_type = IBV_NODE_CA;
	p->dev.transport_type = IBV_TRANSPORT_IB;
	snprintf(p->dev.name, sizeof(p->dev.name), "%s", name);
	snprintf(p->dev.dev_name, sizeof(p->dev.dev_name), "uverbs%d", idx);
	snprintf(p->dev.dev_path, sizeof(p->dev.dev_path),
		 "/sys/class/infiniband_verbs/uverbs%d", idx);
	snprintf(p->dev.ibdev_path, sizeof(p->dev.ibdev_path),
		 "/sys/class/infiniband/%s", name);
}

static void
inproc_to_cable(struct emu_port *p, const uint8_t *f, uint32_t len)
{
	emu__port_ingress(p->priv, f, len);
}

/* Two ports, mlx5_0 and mlx5_1, cabled back to back in this process. */
static void
inproc_init(void)
{
	char name[16];

	fabric.nports = 2;
	for (int i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "mlx5_%d", i);
		port_init(&fabric.port[i], i, name);
		fabric.port[i].priv = &fabric.port[1 - i];
		fabric.port[i].to_cable = inproc_to_cable;
		fabric.port[i].wire_out = emu__wire_from_env(i + 1);
	}
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The ports of vsemu daemons: one socket DIR/NAME.sock each. The device's
 * ibdev_path is DIR/NAME, where the daemon mirrors the sysfs entries a
 * real device has (device/net/NETDEV), so that a device can be mapped to
 * its netdev the same way for real and emulated NICs.
 */
static void
daemon_init(const char *dir)
{
	char *names[EMU_MAX_PORTS];
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	if (!d)
		return;
	while ((de = readdir(d)) && n < EMU_MAX_PORTS) {
		size_t len = strlen(de->d_name);

		if (len > 5 && len < 60 &&
		    strcmp(de->d_name + len - 5, ".sock") == 0)
			names[n++] = strndup(de->d_name, len - 5);
	}
	closedir(d);
	qsort(names, (size_t)n, sizeof(*names), name_cmp);
	for (int i = 0; i < n; i++) {
		struct emu_port *p = &fabric.port[i];

		port_init(p, i, names[i]);
		snprintf(p->sock_path, sizeof(p->sock_path), "%s/%s.sock", dir,
			 names[i]);
		snprintf(p->dev.ibdev_path, sizeof(p->dev.ibdev_path), "%s/%s",
			 dir, names[i]);
		free(names[i]);
	}
	fabric.nports = n;
}

/*
 * VSEMU_MODE=inproc: two in-process ports (VSEMU_IMPAIR impairs their
 * cable). Otherwise the ports of the vsemu daemons in VSEMU_DIR, by
 * default /run/vsemu; with no daemon there is no device.
 */
/* The environment as the program started with it, for programs that
 * clear theirs before the first verbs call (nginx's worker processes);
 * the live value, when there is one, wins. */
static char *env_mode, *env_dir;

__attribute__((constructor)) static void
env_snapshot(void)
{
	const char *m = getenv("VSEMU_MODE"), *d = getenv("VSEMU_DIR");

	env_mode = m ? strdup(m) : NULL;
	env_dir = d ? strdup(d) : NULL;
}

/*
 * fork: a child does not share its parent's device. As with a ConnectX,
 * whose queues and rules belong to the context that made them, the
 * child's verbs objects are its own: it opens its own connection to
 * each daemon on first use. Without this, parent and child would fill
 * one TX ring and read each other's control replies. The lock is taken
 * around fork so that no thread of the parent holds it in the child.
 */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&fabric.lock);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&fabric.lock);
}

static void
fork_child(void)
{
	for (int i = 0; i < fabric.nports; i++) {
		struct emu_port *p = &fabric.port[i];

		if (p->link)
			emu__link_forget(p->link);
		p->link = NULL;
		emu__port_forget_rules(p); /* the parent's flows */
	}
	fabric.qps = NULL; /* the parent's queues */
	pthread_mutex_init(&fabric.lock, NULL);
}

static void
fabric_init(void)
{
	const char *mode =
		getenv("VSEMU_MODE") ? getenv("VSEMU_MODE") : env_mode;
	const char *dir = getenv("VSEMU_DIR") ? getenv("VSEMU_DIR") : env_dir;

	fabric.next_qpn = 0x100;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
	if (mode && strcmp(mode, "inproc") == 0)
		inproc_init();
	else
		daemon_init(dir && *dir ? dir : "/run/vsemu");
}

struct emu_fabric *
emu__fabric(void)
{
	pthread_once(&fabric_once, fabric_init);
	return &fabric;
}

static struct emu_port *
dev_port(struct ibv_device *dev)
{
	return container_of(dev, struct emu_port, dev);
}

EMU_EXPORT struct ibv_device **
ibv_get_device_list(int *num)
{
	struct emu_fabric *f = emu__fabric();
	struct ibv_device **list;

	/* Without an RDMA subsystem rdma-core returns NULL (ENOSYS). */
	EMU_FAULT_NULL("ibv_get_device_list");
	list = calloc((size_t)f->nports + 1, sizeof(*list));

	if (!list) {
		errno = ENOMEM;
		return NULL;
	}
	for (int i = 0; i < f->nports; i++)
		list[i] = &f->port[i].dev;
	if (num)
		*num = f->nports;
	return list;
}

EMU_EXPORT void
ibv_free_device_list(struct ibv_device **list)
{
	/* rdma-core dereferences the list: NULL is a crash there, so it is
	 * one here too, with the reason, rather than a silent pass. */
	if (!list) {
		fprintf(stderr, "vsemu: ibv_free_device_list(NULL): rdma-core "
				"would crash here\n");
		abort();
	}
	free(list);
}

EMU_EXPORT const char *
ibv_get_device_name(struct ibv_device *dev)
{
	return dev->name;
}

EMU_EXPORT int
ibv_get_device_index(struct ibv_device *dev)
{
	return (int)(dev_port(dev) - emu__fabric()->port);
}

EMU_EXPORT __be64
ibv_get_device_guid(struct ibv_device *dev)
{
	const uint8_t *m = dev_port(dev)->mac;
	uint8_t g[8] = { m[0] ^ 2, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5] };
	__be64 guid;

	memcpy(&guid, g, sizeof(guid));
	return guid;
}

/* RAW_PACKET QPs need CAP_NET_RAW in the effective set, as with mlx5. */
bool
emu__has_net_raw(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d) != 0)
		return false;
	return d[CAP_NET_RAW / 32].effective & (1u << (CAP_NET_RAW % 32));
}

static int
query_port(struct ibv_context *c, uint8_t port, struct ibv_port_attr *a,
	   size_t len)
{
	struct ibv_port_attr attr = {
		.state = IBV_PORT_ACTIVE,
		.max_mtu = IBV_MTU_4096,
		.active_mtu = IBV_MTU_1024,
		.gid_tbl_len = 1,
		.port_cap_flags = IBV_PORT_CM_SUP,
		.max_msg_sz = 1u << 30,
		.pkey_tbl_len = 1,
		.active_width = 2, /* 4x */
		.active_speed = 32, /* EDR: 25 Gb/s per lane */
		.phys_state = 5, /* LinkUp */
		.link_layer = IBV_LINK_LAYER_ETHERNET,
	};

	(void)c;
	EMU_FAULT_RC("ibv_query_port");
	if (port != 1)
		return EINVAL;
	memset(a, 0, len);
	memcpy(a, &attr, len < sizeof(attr) ? len : sizeof(attr));
	return 0;
}

#undef ibv_query_port
EMU_EXPORT int
ibv_query_port(struct ibv_context *c, uint8_t port,
	       struct _compat_ibv_port_attr *a)
{
	/* The exported symbol takes the old struct, which ends with
	 * link_layer; newer callers go through verbs_context.query_port. */
	return query_port(c, port, (struct ibv_port_attr *)a,
			  offsetof(struct ibv_port_attr, link_layer) + 1);
}

EMU_EXPORT int
ibv_query_device(struct ibv_context *c, struct ibv_device_attr *a)
{
	struct emu_port *p = to_ectx(c)->port;

	memset(a, 0, sizeof(*a));
	snprintf(a->fw_ver, sizeof(a->fw_ver), "16.35.0000 (vsemu)");
	a->node_guid = ibv_get_device_guid(&p->dev);
	a->sys_image_guid = a->node_guid;
	a->max_mr_size = ~0ull;
	a->page_size_cap = ~4095ull;
	a->vendor_id = 0x02c9; /* Mellanox */
	a->vendor_part_id = 4119; /* ConnectX-5 */
	a->hw_ver = 0;
	a->max_qp = 1 << 18;
	a->max_qp_wr = EMU_MAX_QP_WR;
	a->device_cap_flags =
		IBV_DEVICE_RAW_IP_CSUM | IBV_DEVICE_RC_RNR_NAK_GEN;
	a->max_sge = EMU_MAX_SGE;
	a->max_cq = 1 << 24;
	a->max_cqe = EMU_MAX_CQE - 1;
	a->max_mr = 1 << 24;
	a->max_pd = 1 << 24;
	a->max_pkeys = 1;
	a->phys_port_cnt = 1;
	return 0;
}

static int
query_device_ex(struct ibv_context *c,
		const struct ibv_query_device_ex_input *in,
		struct ibv_device_attr_ex *a, size_t len)
{
	struct ibv_device_attr_ex x;

	(void)in;
	EMU_FAULT_RC("ibv_query_device_ex");
	memset(&x, 0, sizeof(x));
	ibv_query_device(c, &x.orig_attr);
	x.raw_packet_caps = IBV_RAW_PACKET_CAP_IP_CSUM;
	x.device_cap_flags_ex = x.orig_attr.device_cap_flags;
	x.rss_caps.supported_qpts = 1u << IBV_QPT_RAW_PACKET;
	x.rss_caps.max_rwq_indirection_tables = 1 << 16;
	x.rss_caps.max_rwq_indirection_table_size = 1 << EMU_MAX_IND_LOG;
	x.rss_caps.rx_hash_function = IBV_RX_HASH_FUNC_TOEPLITZ;
	x.rss_caps.rx_hash_fields_mask =
		IBV_RX_HASH_SRC_IPV4 | IBV_RX_HASH_DST_IPV4 |
		IBV_RX_HASH_SRC_IPV6 | IBV_RX_HASH_DST_IPV6 |
		IBV_RX_HASH_SRC_PORT_TCP | IBV_RX_HASH_DST_PORT_TCP |
		IBV_RX_HASH_SRC_PORT_UDP | IBV_RX_HASH_DST_PORT_UDP;
	x.max_wq_type_rq = 1 << 16;
	x.phys_port_cnt_ex = 1;
	memcpy(a, &x, len < sizeof(x) ? len : sizeof(x));
	return 0;
}

EMU_EXPORT int
ibv_query_gid(struct ibv_context *c, uint8_t port, int index,
	      union ibv_gid *gid)
{
	const uint8_t *m = to_ectx(c)->port->mac;

	if (port != 1 || index != 0) {
		errno = EINVAL;
		return -1;
	}
	/* fe80::/64 with the modified EUI-64 of the MAC, as RoCE's GID 0. */
	memset(gid, 0, sizeof(*gid));
	gid->raw[0] = 0xfe;
	gid->raw[1] = 0x80;
	gid->raw[8] = m[0] ^ 2;
	gid->raw[9] = m[1];
	gid->raw[10] = m[2];
	gid->raw[11] = 0xff;
	gid->raw[12] = 0xfe;
	memcpy(&gid->raw[13], &m[3], 3);
	return 0;
}

EMU_EXPORT int
ibv_query_pkey(struct ibv_context *c, uint8_t port, int index, __be16 *pkey)
{
	(void)c;
	if (port != 1 || index != 0)
		return EINVAL;
	*pkey = 0xffff;
	return 0;
}

EMU_EXPORT struct ibv_context *
ibv_open_device(struct ibv_device *dev)
{
	struct emu_context *ctx;
	struct ibv_context *c;

	EMU_FAULT_NULL("ibv_open_device");
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx) {
		errno = ENOMEM;
		return NULL;
	}
	ctx->async_fd = eventfd(0, EFD_CLOEXEC | EFD_SEMAPHORE);
	if (ctx->async_fd < 0) {
		free(ctx);
		return NULL;
	}
	ctx->port = dev_port(dev);
	if (ctx->port->sock_path[0] && !ctx->port->link) {
		struct emu_fabric *f = emu__fabric();
		int rc;

		pthread_mutex_lock(&f->lock);
		rc = ctx->port->link ?
			     0 :
			     emu__link_open(ctx->port, ctx->port->sock_path);
		pthread_mutex_unlock(&f->lock);
		if (rc) {
			close(ctx->async_fd);
			free(ctx);
			errno = rc;
			return NULL;
		}
	}
	ctx->next_key = 0x1000;
	ctx->vctx.sz = sizeof(ctx->vctx);
	ctx->vctx.query_port = query_port;
	ctx->vctx.query_device_ex = query_device_ex;
	c = &ctx->vctx.context;
	c->device = dev;
	c->cmd_fd = -1;
	c->async_fd = ctx->async_fd;
	c->num_comp_vectors = 1;
	c->abi_compat = __VERBS_ABI_IS_EXTENDED;
	pthread_mutex_init(&c->mutex, NULL);
	emu__cq_context_ops(ctx);
	emu__qp_context_ops(ctx);
	return c;
}

/*
 * As with rdma-core, closing always succeeds: the kernel reclaims what a
 * closed context still owned. Here objects still alive keep the context
 * (and their rules) until the process exits; nothing is freed under them.
 */
EMU_EXPORT int
ibv_close_device(struct ibv_context *c)
{
	struct emu_context *ctx = to_ectx(c);

	if (ctx->users || ctx->mrs)
		return 0;
	close(ctx->async_fd);
	pthread_mutex_destroy(&c->mutex);
	free(ctx);
	return 0;
}

EMU_EXPORT struct ibv_pd *
ibv_alloc_pd(struct ibv_context *c)
{
	struct emu_pd *pd;

	EMU_FAULT_NULL("ibv_alloc_pd");
	pd = calloc(1, sizeof(*pd));
	if (!pd) {
		errno = ENOMEM;
		return NULL;
	}
	pd->ibv.context = c;
	pd->ibv.handle = to_ectx(c)->next_key++;
	to_ectx(c)->users++;
	return &pd->ibv;
}

EMU_EXPORT int
ibv_dealloc_pd(struct ibv_pd *ipd)
{
	struct emu_pd *pd = container_of(ipd, struct emu_pd, ibv);

	if (pd->users)
		return EBUSY;
	to_ectx(ipd->context)->users--;
	free(pd);
	return 0;
}

/* Mandatory access bits we know; bits in the optional range are hints. */
#define KNOWN_ACCESS                                                         \
	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE |                  \
	 IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC |                 \
	 IBV_ACCESS_MW_BIND | IBV_ACCESS_ZERO_BASED | IBV_ACCESS_ON_DEMAND | \
	 IBV_ACCESS_HUGETLB)

EMU_EXPORT struct ibv_mr *
ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr, size_t len, uint64_t iova,
		 unsigned int access)
{
	struct emu_context *ctx = to_ectx(pd->context);
	unsigned int mandatory = access & ~IBV_ACCESS_OPTIONAL_RANGE;
	struct emu_mr *mr;

	EMU_FAULT_NULL("ibv_reg_mr");
	/* Remote write or atomic without local write is invalid (verbs). */
	if ((mandatory & ~KNOWN_ACCESS) || !len ||
	    ((access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	     !(access & IBV_ACCESS_LOCAL_WRITE))) {
		errno = EINVAL;
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	(void)iova; /* raw packet work uses virtual addresses */
	mr->ibv.context = pd->context;
	mr->ibv.pd = pd;
	mr->ibv.addr = addr;
	mr->ibv.length = len;
	mr->ibv.handle = ctx->next_key;
	/* Keys look like mlx5's: an index above a variant byte. */
	mr->ibv.lkey = (ctx->next_key++ << 8) | 0x5a;
	mr->ibv.rkey = mr->ibv.lkey;
	mr->access = access;
	mr->next = ctx->mrs;
	ctx->mrs = mr;
	container_of(pd, struct emu_pd, ibv)->users++;
	return &mr->ibv;
}

#undef ibv_reg_mr
EMU_EXPORT struct ibv_mr *
ibv_reg_mr(struct ibv_pd *pd, void *addr, size_t len, int access)
{
	return ibv_reg_mr_iova2(pd, addr, len, (uintptr_t)addr,
				(unsigned int)access);
}

#undef ibv_reg_mr_iova
EMU_EXPORT struct ibv_mr *
ibv_reg_mr_iova(struct ibv_pd *pd, void *addr, size_t len, uint64_t iova,
		int access)
{
	return ibv_reg_mr_iova2(pd, addr, len, iova, (unsigned int)access);
}

EMU_EXPORT int
ibv_dereg_mr(struct ibv_mr *imr)
{
	struct emu_context *ctx = to_ectx(imr->context);
	struct emu_mr **pp;

	for (pp = &ctx->mrs; *pp; pp = &(*pp)->next) {
		if (&(*pp)->ibv == imr) {
			struct emu_mr *mr = *pp;

			*pp = mr->next;
			container_of(imr->pd, struct emu_pd, ibv)->users--;
			free(mr);
			return 0;
		}
	}
	return EINVAL;
}

struct emu_mr *
emu__mr_find(struct emu_context *ctx, uint32_t lkey)
{
	for (struct emu_mr *mr = ctx->mrs; mr; mr = mr->next)
		if (mr->ibv.lkey == lkey)
			return mr;
	return NULL;
}

EMU_EXPORT struct ibv_comp_channel *
ibv_create_comp_channel(struct ibv_context *c)
{
	struct emu_channel *ch;
	int sv[2];

	EMU_FAULT_NULL("ibv_create_comp_channel");
	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		errno = ENOMEM;
		return NULL;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		free(ch);
		return NULL;
	}
	ch->ibv.fd = sv[0];
	ch->tok = sv[1];
	shutdown(sv[0], SHUT_WR);
	ch->ibv.context = c;
	to_ectx(c)->users++;
	return &ch->ibv;
}

EMU_EXPORT int
ibv_destroy_comp_channel(struct ibv_comp_channel *ich)
{
	struct emu_channel *ch = container_of(ich, struct emu_channel, ibv);

	if (ich->refcnt)
		return EBUSY;
	to_ectx(ich->context)->users--;
	close(ich->fd);
	close(ch->tok);
	free(ch);
	return 0;
}

bool
emu__channel_token(int tok)
{
	return send(tok, "", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1;
}

/*
 * Each queued event wrote one token to the channel's fd; on a
 * daemon's port the daemon also writes one when it fills a ring of an
 * armed CQ, before the completion exists here. So: move frames along,
 * take a queued event if there is one, else wait for a token and look
 * again. A daemon's extra tokens cost at most a spurious wakeup.
 */
EMU_EXPORT int
ibv_get_cq_event(struct ibv_comp_channel *ich, struct ibv_cq **cq,
		 void **cq_context)
{
	struct emu_channel *ch = container_of(ich, struct emu_channel, ibv);
	struct emu_fabric *f = emu__fabric();
	bool have_token = false;
	struct emu_cq *ecq;
	char one;
	int fault = emu__fault("ibv_get_cq_event");

	if (fault) {
		errno = fault;
		return -1;
	}

	for (;;) {
		pthread_mutex_lock(&f->lock);
		for (ecq = ch->cqs; ecq; ecq = ecq->chan_next)
			emu__fabric_tick(f, ecq);
		if (ch->count)
			break;
		pthread_mutex_unlock(&f->lock);
		/* Blocks, or fails with EAGAIN, as the application set it. */
		if (read(ich->fd, &one, sizeof(one)) != sizeof(one))
			return -1;
		have_token = true;
	}
	ecq = ch->q[ch->head];
	ch->head = (ch->head + 1) % VS_ARRAY_SIZE(ch->q);
	ch->count--;
	pthread_mutex_unlock(&f->lock);
	if (!have_token && read(ich->fd, &one, sizeof(one)) != sizeof(one))
		return -1;
	*cq = ibv_cq_ex_to_cq(&ecq->ibv);
	*cq_context = ecq->ibv.cq_context;
	return 0;
}

EMU_EXPORT void
ibv_ack_cq_events(struct ibv_cq *cq, unsigned int nevents)
{
	struct emu_fabric *f = emu__fabric();

	pthread_mutex_lock(&f->lock);
	to_ecq(cq)->events_pending -= nevents;
	pthread_mutex_unlock(&f->lock);
}

void
emu__async_event(struct emu_context *ctx, struct ibv_async_event *ev)
{
	uint64_t one = 1;
	unsigned n = VS_ARRAY_SIZE(ctx->async_q);

	if (ctx->async_count == n)
		return; /* the application is not reading them: keep the first */
	ctx->async_q[(ctx->async_head + ctx->async_count++) % n] = *ev;
	if (write(ctx->async_fd, &one, sizeof(one)) != sizeof(one))
		ctx->async_count--;
}

EMU_EXPORT int
ibv_get_async_event(struct ibv_context *c, struct ibv_async_event *ev)
{
	struct emu_context *ctx = to_ectx(c);
	struct emu_fabric *f = emu__fabric();
	uint64_t one;

	if (read(ctx->async_fd, &one, sizeof(one)) != sizeof(one))
		return -1;
	pthread_mutex_lock(&f->lock);
	*ev = ctx->async_q[ctx->async_head];
	ctx->async_head = (ctx->async_head + 1) % VS_ARRAY_SIZE(ctx->async_q);
	ctx->async_count--;
	pthread_mutex_unlock(&f->lock);
	return 0;
}

EMU_EXPORT void
ibv_ack_async_event(struct ibv_async_event *ev)
{
	(void)ev;
}

EMU_EXPORT int
ibv_fork_init(void)
{
	return 0;
}

EMU_EXPORT enum ibv_fork_status
ibv_is_fork_initialized(void)
{
	return IBV_FORK_UNNEEDED;
}

EMU_EXPORT const char *
ibv_wc_status_str(enum ibv_wc_status status)
{
	static const char *const s[] = {
		[IBV_WC_SUCCESS] = "success",
		[IBV_WC_LOC_LEN_ERR] = "local length error",
		[IBV_WC_LOC_QP_OP_ERR] = "local QP operation error",
		[IBV_WC_LOC_EEC_OP_ERR] = "local EE context operation error",
		[IBV_WC_LOC_PROT_ERR] = "local protection error",
		[IBV_WC_WR_FLUSH_ERR] = "Work Request Flushed Error",
		[IBV_WC_MW_BIND_ERR] = "memory management operation error",
		[IBV_WC_BAD_RESP_ERR] = "bad response error",
		[IBV_WC_LOC_ACCESS_ERR] = "local access error",
		[IBV_WC_REM_INV_REQ_ERR] = "remote invalid request error",
		[IBV_WC_REM_ACCESS_ERR] = "remote access error",
		[IBV_WC_REM_OP_ERR] = "remote operation error",
		[IBV_WC_RETRY_EXC_ERR] = "transport retry counter exceeded",
		[IBV_WC_RNR_RETRY_EXC_ERR] = "RNR retry counter exceeded",
		[IBV_WC_GENERAL_ERR] = "general error",
	};

	if ((unsigned)status < VS_ARRAY_SIZE(s) && s[status])
		return s[status];
	return "unknown";
}

EMU_EXPORT const char *
ibv_port_state_str(enum ibv_port_state state)
{
	static const char *const s[] = { "PORT_NOP",	"PORT_DOWN",
					 "PORT_INIT",	"PORT_ARMED",
					 "PORT_ACTIVE", "PORT_ACTIVE_DEFER" };

	return (unsigned)state < VS_ARRAY_SIZE(s) ? s[state] : "invalid state";
}

EMU_EXPORT const char *
ibv_node_type_str(enum ibv_node_type t)
{
	return t == IBV_NODE_CA ? "InfiniBand channel adapter" : "unknown";
}

EMU_EXPORT const char *
ibv_event_type_str(enum ibv_event_type e)
{
	switch (e) {
	case IBV_EVENT_CQ_ERR:
		return "CQ error";
	case IBV_EVENT_QP_FATAL:
		return "local work queue catastrophic error";
	case IBV_EVENT_QP_LAST_WQE_REACHED:
		return "last WQE reached";
	default:
		return "unknown";
	}
}
