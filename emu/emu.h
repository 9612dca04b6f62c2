/* SPDX-License-Identifier: MIT */
/*
 * emu.h - internals of the emulated ConnectX (libvsemu).
 *
 * The library implements the libibverbs ABI for RAW_PACKET work on
 * emulated mlx5 devices. It owns, per process: the device list, contexts,
 * PDs, MRs, CQs, QPs, WQs, indirection tables and flow rules, and it
 * executes work requests with the semantics the mlx5 provider and the
 * hardware give them (see docs/emu.md for the contract and what is not
 * emulated).
 *
 * Layering inside emu/:
 *   device.c  device list, context, queries, PD, MR, channels, async events
 *   cq.c      completion queues (plain and extended polling), notification
 *   qp.c      QPs, WQs, indirection tables, the state machine, posting
 *   flow.c    flow specs -> match keys, matching, Toeplitz/RSS
 *   fabric.c  ports and cables: where a sent frame goes
 *
 * Must never: be linked into libvstack, or call into the real libibverbs.
 * Locking: one mutex per fabric serialises everything that moves frames
 * (posting, delivering, polling). Speed is not a goal here; fidelity is.
 */
#ifndef VS_EMU_H
#define VS_EMU_H

#include <infiniband/verbs.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/compiler.h"
#include "emu/ring.h"

#define EMU_EXPORT VS_EXPORT

#define EMU_MAX_PORTS 8
#define EMU_MAX_QP_WR 32768
#define EMU_MAX_SGE 16
#define EMU_MAX_INLINE 912
#define EMU_MAX_CQE (1 << 22)
#define EMU_MAX_FRAME (9216 + 18)
#define EMU_MAX_IND_LOG 8 /* 256 WQs per indirection table */
#define EMU_FLOW_PRIO_MAX 7

struct emu_fabric;
struct emu_wire;
struct emu_link;
struct emu_port;
struct emu_qp;
struct emu_rq;

/* A registered memory region. */
struct emu_mr {
	struct ibv_mr ibv;
	unsigned int access;
	struct emu_mr *next; /* in the context's list, for lkey lookup */
};

struct emu_pd {
	struct ibv_pd ibv;
	int users; /* MRs, QPs, WQs: dealloc while in use is EBUSY */
};

/* One completion: the wc and the number of send WQEs it retires. */
struct emu_cqe {
	struct ibv_wc wc;
	struct emu_qp *sq_owner;
	uint32_t sq_retired;
};

struct emu_cq {
	struct ibv_cq_ex ibv; /* ibv_cq is its prefix */
	struct emu_cqe *ring;
	uint32_t size, head, count;
	bool armed; /* ibv_req_notify_cq was called */
	bool overrun; /* an overrun happened: the CQ is in error */
	bool ignore_overrun; /* IBV_CREATE_CQ_ATTR_IGNORE_OVERRUN */
	int users; /* QPs and WQs: destroy while in use is EBUSY */
	struct emu_cqe cur; /* the entry ibv_start_poll/next_poll returned */
	uint64_t wc_flags_ex;
	uint32_t events_pending; /* events queued on the channel, not acked */
	struct emu_rq *rqs; /* receive queues completing here */
	struct emu_cq *chan_next; /* in its channel's list */
};

struct emu_rwqe {
	uint64_t wr_id;
	int num_sge;
	struct ibv_sge sge[EMU_MAX_SGE];
};

/* A receive queue: the RQ of a RAW_PACKET QP, or a WQ. */
struct emu_rq {
	struct emu_rwqe *wqe;
	uint32_t size, head, count, max_sge;
	struct emu_cq *cq;
	uint32_t num; /* reported as wc.qp_num */
	enum ibv_qp_state *state; /* the owner's state */
	void (*fail)(struct emu_rq *rq); /* move the owner to ERR */
	struct emu_context *ctx;
	struct emu_rq *cq_next; /* in cq->rqs */
	/* Daemon ports: the ring vsemu fills, and what it could not use. */
	struct emu_rview ring; /* .r NULL: none */
	size_t ring_bytes;
	uint64_t not_ready, no_wqe;
};

struct emu_wq {
	struct ibv_wq ibv;
	struct emu_rq rq;
	enum ibv_qp_state
		qstate; /* RESET/INIT(=RDY)/ERR mapped onto QP states */
	int users; /* indirection tables */
};

struct emu_ind_table {
	struct ibv_rwq_ind_table ibv;
	uint32_t log_size;
	struct emu_wq **wqs;
	int users;
};

struct emu_qp {
	struct ibv_qp_ex ibvx; /* ibv_qp is its prefix */
	struct emu_port *port; /* set by INIT (RSS QPs: at creation) */
	struct emu_rq rq;
	/* send queue */
	uint32_t sq_size, sq_outstanding, sq_unsignaled, max_send_sge;
	uint32_t max_inline;
	bool sq_sig_all;
	struct emu_cq *send_cq;
	/* RSS QP */
	struct emu_ind_table *ind;
	struct ibv_rx_hash_conf hash;
	uint8_t hash_key[64];
	int flows; /* flow rules attached: destroy while any is EBUSY */
	struct emu_qp *next; /* in the fabric's list */
};

/* A flow rule in canonical form: masked byte comparisons on the frame. */
/* ibv_flow_ipv4_ext_filter.flags: the kernel's IB_IPV4_MORE_FRAG
 * (rdma/ib_verbs.h), which libibverbs passes through unnamed. */
#define EMU_IPV4_MORE_FRAG 0x4

struct emu_match {
	uint8_t dmac[6], dmac_m[6], smac[6], smac_m[6];
	uint16_t ethertype, ethertype_m; /* network order */
	uint16_t vlan, vlan_m;
	int ipver; /* 0 any, 4, 6 */
	uint8_t src[16], src_m[16], dst[16], dst_m[16];
	uint8_t proto, proto_m;
	uint8_t tos, tos_m, ttl, ttl_m;
	/* frag_m: whether the frame is an IP fragment (IPv4: MF or an
	 * offset; IPv6: a fragment header first) must equal frag (IPV4_EXT
	 * flags IB_IPV4_MORE_FRAG, or IPv6 next_hdr 44: as mlx5's `frag`
	 * match bit) */
	uint8_t frag, frag_m;
	uint16_t sport, sport_m, dport, dport_m; /* network order */
	unsigned specificity; /* number of mask bits set */
};

/*
 * The flow table compares keys: a frame's fields as a key, ANDed with a
 * rule's mask key, equal to the rule's value key (fabric.c hashes rules
 * of one mask by value). 64 bytes without padding: compared and hashed
 * whole.
 */
#define EMU_KEY_IP 1 /* has: an IPv4/IPv6 header */
#define EMU_KEY_L4 2 /* has: TCP/UDP ports (whole or first fragment) */
struct emu_key {
	uint8_t src[16], dst[16]; /* 4 bytes of each for IPv4 */
	uint8_t dmac[6], smac[6];
	uint16_t ethertype, vlan; /* network order */
	uint16_t sport, dport; /* network order */
	uint8_t ipver, proto, tos, ttl, frag, has, zero[6];
};
_Static_assert(sizeof(struct emu_key) == 64, "emu_key has padding");
struct emu_rule;
struct emu_shape;
/* Hands a frame to the rule's queue (which judges its checksums). */
typedef void (*emu_deliver_fn)(struct emu_rule *r, const uint8_t *frame,
			       uint32_t len);

/* A rule as a port holds it; where it delivers is its owner's business. */
struct emu_rule {
	uint32_t type; /* enum ibv_flow_attr_type */
	uint16_t priority;
	bool dont_trap, drop;
	struct emu_match m;
	uint64_t hits;
	uint64_t seq; /* creation order: the tie-breaker */
	emu_deliver_fn deliver;
	void *target;
	struct emu_rule *next, **pprev; /* in the port's rules or special */
	/* A NORMAL rule's place in the port's index (fabric.c). */
	struct emu_key key; /* its value key */
	struct emu_shape *shape; /* NULL: it never matches */
	struct emu_rule *hnext;
};

/* The library's ibv_flow. */
struct emu_flow {
	struct ibv_flow ibv;
	struct emu_qp *qp;
	struct emu_rule
		rule; /* on an in-process port; a daemon keeps its own */
	uint32_t remote_id; /* the daemon's id for it */
	struct emu_counters *counters; /* IBV_FLOW_SPEC_ACTION_COUNT's */
};

/* The library's ibv_counters: a packet count of one flow (the rule's
 * hits), read from the rule where it lives. */
struct emu_counters {
	struct ibv_counters ibv;
	struct emu_flow *flow;
	int pkt_index; /* where IBV_COUNTER_PACKETS goes; -1: not attached */
	uint32_t nattached;
};

/* Counters of a port (all frames that crossed it), see docs/emu.md. */
struct emu_port_stats {
	uint64_t tx_frames, tx_bytes, rx_frames, rx_bytes;
	uint64_t rx_no_match; /* no rule: the kernel's (vsemu: the TAP) */
	uint64_t rx_rule_drop; /* a drop rule matched */
	uint64_t rx_no_wqe; /* steered, but no receive posted */
	uint64_t rx_qp_not_ready; /* steered to a QP not in RTR/RTS */
	uint64_t rx_oversize; /* longer than the MTU: never on a cable */
	uint64_t tx_cable_drop; /* the cable's socket was full */
	uint64_t tx_malformed; /* a client's TX slot no NIC would send
				* (shorter than a header, over the MTU) */
};

struct emu_port {
	uint8_t mac[6];
	uint32_t mtu; /* netdev MTU */
	struct emu_rule *rules; /* NORMAL */
	struct emu_rule *special; /* sniffers, ALL_DEFAULT, MC_DEFAULT */
	struct emu_shape *shapes; /* NORMAL rules by mask (fabric.c) */
	uint64_t rule_seq;
	struct emu_port_stats st;
	struct emu_wire *wire_out, *wire_in; /* impairment, or NULL */
	/* What leaves on the cable (after wire_out), and what no rule took. */
	void (*to_cable)(struct emu_port *p, const uint8_t *f, uint32_t len);
	void (*to_kernel)(struct emu_port *p, const uint8_t *f, uint32_t len);
	void *priv; /* the owner's: the peer port in-process */
	/* Library only. */
	struct emu_fabric *fab;
	struct ibv_device dev; /* name mlx5_N */
	struct emu_link *link; /* the vsemu daemon's port, or NULL */
	char sock_path[108]; /* where that daemon listens, "" in-process */
};

struct emu_fabric {
	pthread_mutex_t lock;
	int nports;
	struct emu_port port[EMU_MAX_PORTS];
	struct emu_qp *qps;
	uint32_t next_qpn;
};

struct emu_context {
	struct verbs_context vctx;
	struct emu_port *port;
	struct emu_mr *mrs;
	int users; /* PDs, CQs, channels still open */
	uint32_t next_key;
	int async_fd; /* eventfd, readable when an async event is queued */
	struct ibv_async_event async_q[64];
	unsigned async_head, async_count;
};

/*
 * A channel's fd is one end of a stream socketpair: each event is one
 * byte ("token") written to the other end, `tok`, and ibv_get_cq_event
 * reads one. The daemon gets its own copy of `tok` and writes with
 * MSG_DONTWAIT, which no client can turn into a blocking write (an
 * eventfd's O_NONBLOCK is the client's to clear).
 */
struct emu_channel {
	struct ibv_comp_channel ibv;
	int tok;
	struct emu_cq *q[256];
	unsigned head, count;
	struct emu_cq *cqs; /* the CQs using this channel */
};

/* One token onto a channel's fd; false if it could not be written. */
bool emu__channel_token(int tok);

static inline struct emu_context *
to_ectx(struct ibv_context *c)
{
	return container_of(c, struct emu_context, vctx.context);
}

static inline struct emu_cq *
to_ecq(struct ibv_cq *cq)
{
	return container_of((struct ibv_cq_ex *)cq, struct emu_cq, ibv);
}

static inline struct emu_qp *
to_eqp(struct ibv_qp *qp)
{
	return container_of((struct ibv_qp_ex *)qp, struct emu_qp, ibvx);
}

/* device.c */
struct emu_fabric *emu__fabric(void);
struct emu_mr *emu__mr_find(struct emu_context *ctx, uint32_t lkey);
/* Moves a QP to ERR: flushes its receives; raises no event. */
void emu__qp_to_err(struct emu_qp *qp);
void emu__async_event(struct emu_context *ctx, struct ibv_async_event *ev);
void emu__cq_context_ops(struct emu_context *ctx);
void emu__qp_context_ops(struct emu_context *ctx);
bool emu__has_net_raw(void);

/* cq.c */
/* Adds a completion; false if the CQ overran (the entry is lost). */
bool emu__cq_push(struct emu_cq *cq, const struct emu_cqe *e);
void emu__cq_ops(struct emu_cq *cq);
int emu__poll_cq(struct ibv_cq *cq, int n, struct ibv_wc *wc);
int emu__req_notify_cq(struct ibv_cq *cq, int solicited_only);

/* qp.c */
int emu__post_send(struct ibv_qp *qp, struct ibv_send_wr *wr,
		   struct ibv_send_wr **bad);
int emu__post_recv(struct ibv_qp *qp, struct ibv_recv_wr *wr,
		   struct ibv_recv_wr **bad);
/* Writes a frame into the next WQE of rq and completes it. */
void emu__rq_deliver(struct emu_rq *rq, const uint8_t *frame, uint32_t len,
		     bool csum_ok);

/* frame.c */
struct ibv_counters *emu__create_counters(struct ibv_context *ctx,
					  struct ibv_counters_init_attr *a);
int emu__destroy_counters(struct ibv_counters *cs);
int emu__attach_counters(struct ibv_counters *cs,
			 struct ibv_counter_attach_attr *a,
			 struct ibv_flow *flow);
int emu__read_counters(struct ibv_counters *cs, uint64_t *v, uint32_t n,
		       uint32_t flags);
int emu__flow_parse(const struct ibv_flow_attr *attr, struct emu_match *m,
		    struct ibv_counters **counters, bool *drop);
/* f's fields as a key; false when the frame is too short to be Ethernet
 * (no rule matches). */
bool emu__frame_key(struct emu_key *k, const uint8_t *frame, uint32_t len);
/* m as a mask and a value: a frame matches when its key ANDed with mask
 * equals val. False if m can never match (a value bit outside its mask). */
bool emu__match_keys(const struct emu_match *m, struct emu_key *mask,
		     struct emu_key *val);
/* Toeplitz over the fields of f (IBV_RX_HASH_*) this frame has. */
uint32_t emu__rss_hash(const uint8_t *key, size_t keylen, uint64_t f,
		       const uint8_t *frame, uint32_t len);

/* flow.c: the WQ an RSS QP picks for this frame. */
struct emu_wq *emu__rss_pick(struct emu_qp *qp, const uint8_t *frame,
			     uint32_t len);
bool emu__frame_csum_ok(const uint8_t *frame, uint32_t len);
void emu__frame_fill_csum(uint8_t *frame, uint32_t len);

/* fabric.c: a port's rule walk, shared by the library and vsemu. */
/* A frame from the cable: wire_in, then the rules. */
void emu__port_ingress(struct emu_port *p, const uint8_t *frame, uint32_t len);
/* A frame from one of the port's QPs: sniffers, wire_out, the cable. */
void emu__port_egress(struct emu_port *p, const uint8_t *frame, uint32_t len);
/* Releases frames the wires held back too long. */
void emu__port_tick(struct emu_port *p);
/* 0, or ENOMEM (the rule's index). */
int emu__port_add_rule(struct emu_port *p, struct emu_rule *r);
/* In a forked child: the parent's rules are not the child's (their
 * flows may still be destroyed: a no-op). */
void emu__port_forget_rules(struct emu_port *p);
void emu__port_del_rule(struct emu_port *p, struct emu_rule *r);

/* ports.c: the library's ports. */
/* The deliver function of rules on in-process ports (target: the QP). */
void emu__deliver_local(struct emu_rule *r, const uint8_t *frame, uint32_t len);
/* A frame sent by qp on port p (in-process, or to the daemon). */
void emu__port_transmit(struct emu_port *p, struct emu_qp *qp,
			const uint8_t *frame, uint32_t len);
/* Moves frames along: in-process wires, and daemon rings of this CQ. */
void emu__fabric_tick(struct emu_fabric *f, struct emu_cq *cq);

/* fault.c: the errno VSEMU_FAIL makes this call of CALL fail with, or 0. */
int emu__fault(const char *call);
/* For constructors: NULL with errno, as rdma-core fails them. */
#define EMU_FAULT_NULL(call)                   \
	do {                                   \
		int fault_ = emu__fault(call); \
		if (fault_) {                  \
			errno = fault_;        \
			return NULL;           \
		}                              \
	} while (0)
/* For calls that return an errno value. */
#define EMU_FAULT_RC(call)                     \
	do {                                   \
		int fault_ = emu__fault(call); \
		if (fault_)                    \
			return fault_;         \
	} while (0)

/* The flow verbs (flow.c), installed in the context by qp.c. */
struct ibv_flow *emu__create_flow(struct ibv_qp *qp, struct ibv_flow_attr *a);
int emu__destroy_flow(struct ibv_flow *flow);

#endif
