// SPDX-License-Identifier: MIT
/*
 * xdp_prog.bpf.c - vstack's XDP program, one instance per netdev,
 * shared by every vstack process on it (xdp.c); run by libxdp's
 * dispatcher beside other programs where the kernel allows it.
 *
 * Owns: the rule tables of the processes on the netdev (maps below,
 * written only by xdp.c), one set per owner (xdp_abi.h). For each frame:
 * the owner of the queue it arrived on decides; an IPv4/IPv6 TCP or UDP
 * frame that one of its rules matches is dropped, or handed to the
 * AF_XDP socket of that queue with the rule's target queue in its
 * metadata (xdp.c moves it to that queue's engine; where the kernel
 * has no metadata for XDP, in 4 bytes in front of the frame instead).
 * A frame of another owner's connection cannot reach that owner's
 * sockets from here: it is dropped and counted (vs_misq), as a NIC
 * drops what it cannot deliver, and the peer sends it again. IP
 * fragments: a first fragment (it has the ports) is matched as a whole frame would be; if a rule takes it,
 * the datagram is remembered (vs_frags) and all its fragments go to the
 * owner's engine 0, which reassembles it (stack/frag.c). Everything
 * else - ARP, ICMP, later fragments of no such datagram, other
 * protocols, flows of no rule, queues nobody owns, and TCP frames of
 * connections the kernel holds that only a listener's or a masked rule
 * matches (bpf_skc_lookup_tcp) - returns XDP_PASS: the kernel.
 *
 * Must never: take a frame no rule asked for, or change a frame it
 * passes to the kernel.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "xdp_abi.h"

#define AF_INET 2
#define AF_INET6 10

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct vs_xdp_table);
} vs_tables SEC(".maps"); /* owner o's: 2(o-1) and 2(o-1)+1 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} vs_cur SEC(".maps"); /* owner o's table in use: 0 or 1 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} vs_qowner SEC(".maps"); /* a netdev queue's owner; 0: nobody's */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, struct vs_xdp_proc);
} vs_procs SEC(".maps"); /* read by xdp.c only */

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u64);
} vs_misq SEC(".maps"); /* per queue: frames of another owner's */

/* Before the default (50), where libxdp's dispatcher runs it: vstack's
 * flows leave the chain early. */
struct {
	__uint(priority, 20);
	__uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(vstack_xdp);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VS_XDP_MAX_EXACT);
	__type(key, struct vs_xdp_exact_key);
	__type(value, struct vs_xdp_exact_val);
} vs_exact SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, VS_XDP_MAX_EXACT);
	__type(key, struct vs_xdp_local_key);
	__type(value, struct vs_xdp_exact_val);
} vs_local SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, VS_XDP_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} vs_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, VS_XDP_MAX_FRAGS);
	__type(key, struct vs_xdp_frag_key);
	__type(value, struct vs_xdp_frag_val);
} vs_frags SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, VS_XDP_MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} vs_xsks SEC(".maps");

static __always_inline int
masked_eq(const unsigned char *a, const unsigned char *b,
	  const unsigned char *m, int n)
{
	unsigned char d = 0;

	for (int i = 0; i < n; i++)
		d |= (a[i] ^ b[i]) & m[i];
	return d == 0;
}

static __always_inline int
rule_match(const struct vs_xdp_rule *r, const struct vs_xdp_exact_key *k)
{
	int alen = k->family == AF_INET ? 4 : 16;

	if (r->family && r->family != k->family)
		return 0;
	if (r->proto && r->proto != k->proto)
		return 0;
	if ((k->sport ^ r->sport) & r->sport_mask)
		return 0;
	if ((k->dport ^ r->dport) & r->dport_mask)
		return 0;
	if (!r->family)
		return 1;
	if (alen == 4)
		return masked_eq(k->src, r->src, r->src_mask, 4) &&
		       masked_eq(k->dst, r->dst, r->dst_mask, 4);
	return masked_eq(k->src, r->src, r->src_mask, 16) &&
	       masked_eq(k->dst, r->dst, r->dst_mask, 16);
}

static __always_inline void
count(__u16 slot)
{
	__u32 s = slot;
	__u64 *c;

	if (slot == VS_XDP_NO_SLOT)
		return;
	c = bpf_map_lookup_elem(&vs_hits, &s);
	if (c)
		*c += 1;
}

/* Set by xdp.c before the load where the kernel has no
 * bpf_xdp_adjust_meta for XDP programs (seen on 6.18): the metadata then
 * goes in front of the frame itself (bpf_xdp_adjust_head), and xdp.c
 * takes it off. Its own section: xdp.c finds it at offset 0. */
const volatile __u32 vs_meta_in_frame SEC(".rodata.vs_mode") = 0;

static __always_inline int
act(struct xdp_md *ctx, int action, __u16 queue, __u16 slot)
{
	struct vs_xdp_meta *m;
	void *data;
	int rc;

	count(slot);
	if (action == VS_XDP_DROP)
		return XDP_DROP;
	if (vs_meta_in_frame) {
		if (bpf_xdp_adjust_head(ctx, -(int)sizeof(*m)))
			return XDP_PASS; /* no headroom: the kernel's */
		m = (void *)(long)ctx->data;
		if ((void *)(m + 1) > (void *)(long)ctx->data_end) {
			bpf_xdp_adjust_head(ctx, (int)sizeof(*m));
			return XDP_PASS;
		}
	} else {
		if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(*m)))
			return XDP_PASS; /* the driver has no room: the kernel's */
		data = (void *)(long)ctx->data;
		m = (void *)(long)ctx->data_meta;
		if ((void *)(m + 1) > data)
			return XDP_PASS;
	}
	m->queue = action == VS_XDP_RSS ? VS_XDP_QUEUE_RSS : queue;
	m->magic = VS_XDP_META_MAGIC;
	rc = bpf_redirect_map(&vs_xsks, ctx->rx_queue_index, XDP_PASS);
	/* No socket on the queue: the kernel gets the frame as it came. */
	if (rc != XDP_REDIRECT && vs_meta_in_frame)
		bpf_xdp_adjust_head(ctx, (int)sizeof(*m));
	return rc;
}

/* What parse says of a frame. */
enum { P_OTHER, P_WHOLE, P_FIRST_FRAG, P_LATER_FRAG };

/* The IPv6 fragment header (RFC 8200 section 4.5). */
struct frag6 {
	__u8 nexthdr, reserved;
	__be16 off; /* offset << 3 | M */
	__be32 id;
};

/*
 * The frame's key: P_WHOLE for an unfragmented TCP/UDP frame,
 * P_FIRST_FRAG for a datagram's first fragment (ports in k, the
 * datagram in *fk), P_LATER_FRAG for another fragment (only *fk),
 * P_OTHER for the rest. *syn: a TCP SYN without ACK (a new connection).
 */
static __always_inline int
parse(struct xdp_md *ctx, struct vs_xdp_exact_key *k,
      struct vs_xdp_frag_key *fk, int *syn)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	int what = P_WHOLE;
	__u16 *ports;
	void *l4;

	if ((void *)(eth + 1) > end)
		return P_OTHER;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl < 5)
			return P_OTHER;
		k->family = AF_INET;
		k->proto = ip->protocol;
		__builtin_memcpy(k->src, &ip->saddr, 4);
		__builtin_memcpy(k->dst, &ip->daddr, 4);
		l4 = (void *)ip + ip->ihl * 4;
		if (ip->frag_off & bpf_htons(0x3fff)) { /* MF or an offset */
			fk->family = AF_INET;
			fk->proto = ip->protocol;
			fk->id = ip->id;
			__builtin_memcpy(fk->src, &ip->saddr, 4);
			__builtin_memcpy(fk->dst, &ip->daddr, 4);
			if (ip->frag_off & bpf_htons(0x1fff))
				return P_LATER_FRAG;
			what = P_FIRST_FRAG;
		}
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > end || ip6->version != 6)
			return P_OTHER;
		k->family = AF_INET6;
		k->proto = ip6->nexthdr;
		__builtin_memcpy(k->src, &ip6->saddr, 16);
		__builtin_memcpy(k->dst, &ip6->daddr, 16);
		l4 = ip6 + 1;
		if (ip6->nexthdr == 44) { /* a fragment header first */
			struct frag6 *fh = l4;

			if ((void *)(fh + 1) > end)
				return P_OTHER;
			fk->family = AF_INET6;
			fk->proto = fh->nexthdr;
			fk->id = fh->id;
			__builtin_memcpy(fk->src, &ip6->saddr, 16);
			__builtin_memcpy(fk->dst, &ip6->daddr, 16);
			if (fh->off & bpf_htons(0xfff8))
				return P_LATER_FRAG;
			k->proto = fh->nexthdr;
			l4 = fh + 1;
			what = P_FIRST_FRAG;
		}
	} else {
		return P_OTHER;
	}
	if (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP)
		return P_OTHER;
	ports = l4;
	if ((void *)(ports + 2) > end)
		return P_OTHER;
	k->sport = ports[0];
	k->dport = ports[1];
	*syn = 0;
	if (k->proto == IPPROTO_TCP) {
		struct tcphdr *th = l4;

		/* A header cut short is matched as before; the stack that
		 * gets it drops it. */
		if ((void *)(th + 1) <= end)
			*syn = th->syn && !th->ack;
	}
	return what;
}

/*
 * A TCP frame that a listener's or a masked rule would steer, but whose
 * connection the kernel holds (accepted by the kernel's listener while
 * its queue had no vstack owner, or made before vstack came): the
 * kernel's, or vstack would answer it with a reset.
 */
static __always_inline int
kernels(struct xdp_md *ctx, const struct vs_xdp_exact_key *k)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	__u32 size;
	int theirs;

	if (k->family == AF_INET) {
		__builtin_memcpy(&t.ipv4.saddr, k->src, 4);
		__builtin_memcpy(&t.ipv4.daddr, k->dst, 4);
		t.ipv4.sport = k->sport;
		t.ipv4.dport = k->dport;
		size = sizeof(t.ipv4);
	} else {
		__builtin_memcpy(t.ipv6.saddr, k->src, 16);
		__builtin_memcpy(t.ipv6.daddr, k->dst, 16);
		t.ipv6.sport = k->sport;
		t.ipv6.dport = k->dport;
		size = sizeof(t.ipv6);
	}
	sk = bpf_skc_lookup_tcp(ctx, &t, size, BPF_F_CURRENT_NETNS, 0);
	if (!sk)
		return 0;
	/* Not a listener; nor a connection in TIME_WAIT, whose peer may
	 * open a new one on the same ports (vstack's, from its SYN on). */
	theirs = sk->state != BPF_TCP_LISTEN && sk->state != BPF_TCP_TIME_WAIT;
	bpf_sk_release(sk);
	return theirs;
}

static __always_inline struct vs_xdp_exact_val *
local_lookup(const struct vs_xdp_exact_key *k, __u32 owner)
{
	struct vs_xdp_local_key l = { .family = k->family,
				      .proto = k->proto,
				      .dport = k->dport,
				      .owner = (__u16)owner };

	__builtin_memcpy(l.dst, k->dst, 16);
	return bpf_map_lookup_elem(&vs_local, &l);
}

static __always_inline int
misqueued(__u32 q)
{
	__u64 *c = bpf_map_lookup_elem(&vs_misq, &q);

	if (c)
		*c += 1;
	return XDP_DROP;
}

/* A later fragment: where its first fragment went, else the kernel. */
static __always_inline int
later_fragment(struct xdp_md *ctx, const struct vs_xdp_frag_key *fk,
	       __u32 owner)
{
	struct vs_xdp_frag_val *v = bpf_map_lookup_elem(&vs_frags, fk);

	if (!v)
		return XDP_PASS;
	if (v->owner != owner)
		return misqueued(ctx->rx_queue_index);
	return act(ctx, v->action, 0, VS_XDP_NO_SLOT);
}

SEC("xdp")
int
vstack_xdp(struct xdp_md *ctx)
{
	struct vs_xdp_exact_key k = { 0 };
	struct vs_xdp_frag_key fk = { 0 };
	struct vs_xdp_exact_val *e;
	struct vs_xdp_table *t;
	__u32 q = ctx->rx_queue_index, *owner, o, *cur, ti;
	int syn = 0, action = -1, exact = 0, what;
	__u16 queue = 0, slot = VS_XDP_NO_SLOT;

	what = parse(ctx, &k, &fk, &syn);
	if (what == P_OTHER)
		return XDP_PASS;
	owner = bpf_map_lookup_elem(&vs_qowner, &q);
	if (!owner || !*owner || *owner > VS_XDP_MAX_QUEUES)
		return XDP_PASS;
	if (what == P_LATER_FRAG)
		return later_fragment(ctx, &fk, *owner);
	o = *owner - 1;
	cur = bpf_map_lookup_elem(&vs_cur, &o);
	if (!cur)
		return XDP_PASS;
	ti = 2 * o + (*cur & 1);
	t = bpf_map_lookup_elem(&vs_tables, &ti);
	if (!t)
		return XDP_PASS;
	/* One more turn than rules: the lookups placed after the last. */
	for (int i = 0; i <= VS_XDP_MAX_RULES; i++) {
		if (i == t->exact_at) {
			e = bpf_map_lookup_elem(&vs_exact, &k);
			if (e && e->owner != o + 1)
				return misqueued(q);
			if (e) {
				action = e->action;
				queue = e->queue;
				slot = e->slot;
				exact = 1;
				break;
			}
		}
		if (i == t->local_at) {
			e = local_lookup(&k, o + 1);
			if (e) {
				action = e->action;
				queue = e->queue;
				slot = e->slot;
				break;
			}
		}
		if ((__u32)i >= t->n || i == VS_XDP_MAX_RULES)
			break;
		if (rule_match(&t->r[i], &k)) {
			action = t->r[i].action;
			queue = t->r[i].queue;
			slot = t->r[i].slot;
			break;
		}
	}
	/* Only a connection's own rule says it is vstack's for sure. */
	if (action >= 0 && !exact && action != VS_XDP_DROP &&
	    k.proto == IPPROTO_TCP && !syn && kernels(ctx, &k))
		action = -1;
	if (what == P_FIRST_FRAG) {
		struct vs_xdp_frag_val v = { .owner = (__u16)(o + 1) };

		if (action < 0) { /* the kernel's: forget an older datagram */
			bpf_map_delete_elem(&vs_frags, &fk);
			return XDP_PASS;
		}
		/* The datagram is reassembled by engine 0 (stack/frag.c). */
		v.action = action == VS_XDP_DROP ? VS_XDP_DROP : VS_XDP_STEER;
		bpf_map_update_elem(&vs_frags, &fk, &v, BPF_ANY);
		count(slot);
		return act(ctx, v.action, 0, VS_XDP_NO_SLOT);
	}
	if (action < 0)
		return XDP_PASS;
	return act(ctx, action, queue, slot);
}

char _license[] SEC("license") = "Dual MIT/GPL";
