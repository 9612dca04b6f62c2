/* SPDX-License-Identifier: MIT */
/*
 * port - the NIC as the engines see it: queues of packet buffers, flow
 * rules, counters and a file descriptor to sleep on. Backends (verbs for
 * ConnectX, xdp for AF_XDP on any netdev) plug in through struct
 * vs_port_ops; nothing here names a verbs or XDP type. A backend may
 * open fewer queues than asked (info.nqueues says how many: xdp on a
 * netdev with fewer queues); callers run that many engines.
 *
 * Threads: queue q belongs to one thread (its engine), which alone calls
 * rx_burst/tx_burst/arm/buf_get/buf_put for q. Rules may be added and
 * removed from any thread at any time (the port serialises them); info
 * from any thread; opening and closing from one, with nothing else
 * running.
 * Counters may be read by any thread at any time (single writer, relaxed
 * atomics, no locks).
 *
 * Errors: 0 or -errno; open also leaves a message for the user.
 */
#ifndef VS_VERBS_PORT_H
#define VS_VERBS_PORT_H

#include <net/if.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A packet buffer of the port's pool. */
struct vs_buf {
	uint8_t *data; /* the frame */
	uint32_t len; /* its length */
	uint16_t queue; /* the queue it came from (rx) */
	uint16_t flags; /* VS_BUF_* */
	uint32_t idx; /* index in the pool (private) */
	uint32_t lkey; /* the region's key (private to the backend) */
	uint8_t *head; /* start of the buffer, headroom included */
};

enum {
	VS_BUF_CSUM_OK = 1 << 0, /* rx: the NIC verified IP/TCP/UDP sums */
	VS_BUF_TX_CSUM = 1 << 1, /* tx: ask the NIC to fill the sums */
};

struct vs_port_opts {
	size_t sz; /* sizeof(struct vs_port_opts) */
	const char *device; /* mlx5_0, or the netdev (eth0); NULL or "":
				the first device that has a netdev;
				xdp:IFNAME: the xdp backend on IFNAME */
	unsigned nqueues; /* queues (one per engine core), >= 1 */
	uint32_t buf_size; /* 2048 or 9216 */
	uint32_t nbufs; /* buffers in the pool */
	uint32_t rx_depth; /* receive buffers posted per queue */
	uint32_t tx_depth; /* send queue depth per queue */
	bool hugepages; /* try 2 MiB pages first */
	uint32_t flows; /* flow rules the port holds; 0: the default */
	/* Other processes open the device too and share a listener with
	 * this one (workers): a backend that splits a device by queues
	 * (info.queue_split) takes one per engine, not every free one. */
	bool shared;
};

#define VS_PORT_MAX_ADDRS 8
#define VS_PORT_FLOWS 65536 /* the `flows` default */

struct vs_port_info {
	char ifname[IF_NAMESIZE]; /* the kernel netdev */
	char device[64]; /* the RDMA device, or the backend's name */
	const char *backend; /* "verbs" or "xdp" */
	uint8_t mac[6];
	uint32_t mtu;
	int numa_node; /* -1 when unknown */
	unsigned nqueues;
	uint32_t nbufs, buf_size; /* the pool; buffer idx < nbufs */
	uint32_t max_inline; /* bytes sent inline, 0 if none */
	bool tx_csum, rx_csum; /* checksum offloads */
	bool huge; /* the pool uses hugepages */
	/* Processes on the device split it by queues (xdp): the rules of
	 * each see only the frames of its own queues, so processes that
	 * share a listener each steer all of it, and a flow is served by
	 * the one its frames arrive at. Else (verbs) rules steer to any
	 * queue and processes split a listener by rules (sockapi/share). */
	bool queue_split;
	/* The fragments of a datagram follow its first fragment to the
	 * queue of the process's engine 0 (xdp: the program tracks them),
	 * for flows a rule of the process matches. Else (verbs) a NIC
	 * cannot tell whose a later fragment is: a `frag` rule copies them
	 * (stack/frag.c). */
	bool frag_follow;
	unsigned naddrs;
	struct sockaddr_storage addrs[VS_PORT_MAX_ADDRS];
};

/*
 * A flow rule: which frames, and what the NIC does with them. Precedence
 * follows from the rule: drop rules first, then exact 5-tuples, then
 * local address and port, then ports alone, then standby rules. Frames
 * of no rule stay with the kernel.
 */
enum vs_rule_action {
	VS_RULE_STEER, /* to one queue */
	VS_RULE_STEER_RSS, /* spread over all queues by RSS */
	VS_RULE_DROP, /* dropped by the NIC */
};

struct vs_rule {
	enum vs_rule_action action;
	unsigned queue; /* VS_RULE_STEER */
	uint8_t proto; /* IPPROTO_TCP, IPPROTO_UDP, 0: any */
	uint8_t family; /* AF_INET, AF_INET6, 0: any IP */
	uint8_t src[16], src_mask[16], dst[16], dst_mask[16];
	uint16_t sport, sport_mask, dport, dport_mask; /* host order */
	bool count; /* count the frames it matches (vs__port_rule_hits) */
	/* Below every other steering rule: it takes frames only where no
	 * other rule does (a listener's share while another process still
	 * holds it: sockapi/share.c). -EOPNOTSUPP where the backend has no
	 * precedence to give it (xdp). */
	bool standby;
	/* IP fragments (the first included) to dst instead of ports: IPv4
	 * of proto (0: any); IPv6 any (proto 0: a NIC sees the fragment
	 * header, not what it carries). Comes before every rule but drop
	 * rules. -EOPNOTSUPP where the backend has no such match (xdp:
	 * info.frag_follow instead). */
	bool frag;
	/* The kernel gets the frame too (a NIC's "don't trap"): later
	 * rules still see it. -EOPNOTSUPP where the backend cannot. */
	bool copy;
};

/* Counters of one queue; a single writer, any reader. */
struct vs_queue_stats {
	_Atomic uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
	_Atomic uint64_t rx_no_buf; /* receives not posted: pool empty */
	_Atomic uint64_t rx_err; /* error completions on receive */
	_Atomic uint64_t tx_err; /* error completions on send */
	_Atomic uint64_t tx_full; /* frames refused: send queue full */
	_Atomic uint64_t recovered; /* queues recreated after an error */
	/* Gauges: buffers the NIC holds for this queue right now. */
	_Atomic uint64_t rx_posted; /* receive buffers posted */
	_Atomic uint64_t tx_inflight; /* sent buffers not yet completed */
};

struct vs_port;
struct vs_rule_handle;

struct vs_port_ops {
	const char *name;
	/* The backend's port: a struct that starts with struct vs_port
	 * (port_impl.h), allocated zeroed by port.c, freed after close. */
	size_t size;
	/* Fills p in; on failure leaves nothing open (close is not called). */
	int (*open)(struct vs_port *p, char *err, size_t errlen);
	/* Closes what open opened; the memory is port.c's to free. */
	void (*close)(struct vs_port *p);
	/* Received frames (buffers now the caller's). */
	unsigned (*rx_burst)(struct vs_port *p, unsigned q, struct vs_buf **b,
			     unsigned n);
	/* Sends; returns how many were taken (the rest stay the caller's).
	 * A backend may hold them until flush (optional). */
	unsigned (*tx_burst)(struct vs_port *p, unsigned q, struct vs_buf **b,
			     unsigned n);
	void (*flush)(struct vs_port *p, unsigned q);
	int (*rule_add)(struct vs_port *p, const struct vs_rule *r,
			struct vs_rule_handle **h);
	int (*rule_del)(struct vs_port *p, struct vs_rule_handle *h);
	/* Frames a counting rule matched; -EOPNOTSUPP if it does not count. */
	int (*rule_hits)(struct vs_port *p, struct vs_rule_handle *h,
			 uint64_t *hits);
	/* Before sleeping on sleep_fd: arms it; > 0 if work is already
	 * there (do not sleep). After waking: acknowledges the wakeup. */
	/* Frames for queue q the NIC (or the kernel) dropped before the
	 * queue saw them, from any thread (optional). */
	uint64_t (*nic_drops)(struct vs_port *p, unsigned q);
	int (*arm)(struct vs_port *p, unsigned q);
	void (*woken)(struct vs_port *p, unsigned q);
	int (*sleep_fd)(struct vs_port *p, unsigned q);
};

struct vs_config;
/* Options for nqueues queues as the configuration says (device, pool,
 * hugepages; ring depths from the pool). */
void vs__port_opts_of(struct vs_port_opts *o, const struct vs_config *cfg,
		      unsigned nqueues);
struct vs_port *vs__port_open(const struct vs_port_opts *o, char *err,
			      size_t errlen);
void vs__port_close(struct vs_port *p);
const struct vs_port_info *vs__port_info(const struct vs_port *p);
const struct vs_queue_stats *vs__port_stats(const struct vs_port *p,
					    unsigned q);
/*
 * The queue a VS_RULE_STEER_RSS rule delivers a frame of this flow to,
 * as the NIC computes it (Toeplitz over the addresses and ports, then
 * the indirection table). src/dst: 4 or 16 bytes by family, ports in
 * host order; src is the sender of the frame.
 */
unsigned vs__port_rss_queue(const struct vs_port *p, int family,
			    const void *src, const void *dst, uint16_t sport,
			    uint16_t dport);
/* Free buffers in the pool (slow; for statistics and leak checks). */
uint32_t vs__port_bufs_free(struct vs_port *p);
/* Under a quarter of the pool is free (vs__pool_low): a hint, any thread. */
bool vs__port_pool_low(const struct vs_port *p);

unsigned vs__port_rx_burst(struct vs_port *p, unsigned q, struct vs_buf **b,
			   unsigned n);
unsigned vs__port_tx_burst(struct vs_port *p, unsigned q, struct vs_buf **b,
			   unsigned n);
/* Frames tx_burst took are on their way after this (xdp batches the
 * system call that sends them; verbs sends at once). Called by the
 * queue's thread when it is done with the queue for now. */
void vs__port_flush(struct vs_port *p, unsigned q);
/* Buffers for building frames to send (set len and flags); frees
 * received or unsent ones. */
unsigned vs__port_buf_get(struct vs_port *p, unsigned q, struct vs_buf **b,
			  unsigned n);
void vs__port_buf_put(struct vs_port *p, unsigned q, struct vs_buf **b,
		      unsigned n);
int vs__port_rule_add(struct vs_port *p, const struct vs_rule *r,
		      struct vs_rule_handle **h);
int vs__port_rule_del(struct vs_port *p, struct vs_rule_handle *h);
/* Frames a rule added with `count` matched, dropped ones included; from
 * any thread. -EOPNOTSUPP: the rule does not count. */
int vs__port_rule_hits(struct vs_port *p, struct vs_rule_handle *h,
		       uint64_t *hits);
/* Frames for queue q dropped before it saw them (xdp: the kernel's
 * AF_XDP counters; 0 where the backend cannot tell). Any thread. */
uint64_t vs__port_nic_drops(struct vs_port *p, unsigned q);
int vs__port_arm(struct vs_port *p, unsigned q);
void vs__port_woken(struct vs_port *p, unsigned q);
int vs__port_sleep_fd(struct vs_port *p, unsigned q);

/* Adds n to a counter that only this thread writes: a plain add, no
 * locked instruction, and readers never see a torn value. */
static inline void
vs__stat_add(_Atomic uint64_t *c, uint64_t n)
{
	atomic_store_explicit(c,
			      atomic_load_explicit(c, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
