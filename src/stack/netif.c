// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "stack/netif.h"
#include "verbs/pool.h"

#define ETH_HLEN 14
#define RX_BURST 32

struct vs_rx_pbuf {
	struct pbuf_custom pc; /* first: lwIP frees it as a pbuf */
	struct vs_netif *n;
	struct vs_buf *b;
	uint64_t arrived_ns; /* when its burst was taken from the queue */
};

/* lwIP is done with a received frame: its buffer goes back. */
static void
rx_pbuf_free(struct pbuf *p)
{
	struct vs_rx_pbuf *r = (struct vs_rx_pbuf *)p;

	vs__port_buf_put(r->n->port, r->n->q, &r->b, 1);
}

/* A copy for the capture, if one runs. */
static void
tap(struct vs_netif *n, const uint8_t *f, uint32_t len)
{
	struct vs_tap *t = atomic_load_explicit(&n->tap, memory_order_acquire);
	uint64_t h;
	struct vs_tap_slot *sl;
	struct timespec ts;

	if (likely(!t))
		return;
	h = atomic_load_explicit(&t->head, memory_order_relaxed);
	if (h - atomic_load_explicit(&t->tail, memory_order_acquire) >=
	    VS_TAP_SLOTS) {
		atomic_fetch_add_explicit(&t->dropped, 1, memory_order_relaxed);
		return;
	}
	sl = &t->slot[h % VS_TAP_SLOTS];
	clock_gettime(CLOCK_REALTIME, &ts);
	sl->ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	sl->len = len;
	sl->caplen = len < VS_TAP_SNAP ? len : VS_TAP_SNAP;
	memcpy(sl->data, f, sl->caplen);
	atomic_store_explicit(&t->head, h + 1, memory_order_release);
}

/* Sends a built frame; a full send queue is a counted drop. With the
 * port's offload the NIC fills the IPv4, TCP and UDP sums lwIP left. */
static int
buf_send(struct vs_netif *n, struct vs_buf *b)
{
	tap(n, b->data, b->len);
	b->flags = n->tx_csum ? VS_BUF_TX_CSUM : 0;
	if (vs__port_tx_burst(n->port, n->q, &b, 1) != 1) {
		vs__port_buf_put(n->port, n->q, &b, 1);
		vs__stat_add(&n->st.tx_no_buf, 1);
		return -ENOBUFS;
	}
	return 0;
}

/* One frame to the next hop's MAC; 0, or -errno (-EAGAIN: unresolved). */
static int
send_frame(struct vs_netif *n, struct pbuf *p, const struct sockaddr *dst,
	   uint16_t ethertype)
{
	uint8_t mac[6];
	struct vs_buf *b;
	int rc = vs__kernel_next_hop(n->k, dst, mac, NULL);

	if (rc)
		return rc;
	if (vs__port_buf_get(n->port, n->q, &b, 1) != 1) {
		vs__stat_add(&n->st.tx_no_buf, 1);
		return -ENOBUFS;
	}
	memcpy(b->data, mac, 6);
	memcpy(b->data + 6, n->nif.hwaddr, 6);
	b->data[12] = (uint8_t)(ethertype >> 8);
	b->data[13] = (uint8_t)ethertype;
	/* TODO(zero-copy TX): lwIP's pbufs are copied into a port buffer. */
	b->len = ETH_HLEN +
		 n->lw->pbuf_copy_partial(p, b->data + ETH_HLEN, p->tot_len, 0);
	if (buf_send(n, b))
		return -ENOBUFS;
	vs__stat_add(&n->st.tx_frames, 1);
	return 0;
}

/* Keeps p until the kernel resolved dst's next hop (or a second passed). */
static void
wait_for_neighbour(struct vs_netif *n, struct pbuf *p,
		   const struct sockaddr *dst)
{
	if (n->npend == VS_NETIF_PENDING) {
		vs__stat_add(&n->st.neigh_timeout,
			     1); /* full: the oldest would time out */
		return;
	}
	n->lw->pbuf_ref(p);
	n->pend[n->npend].p = p;
	memcpy(&n->pend[n->npend].dst, dst,
	       dst->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
					   sizeof(struct sockaddr_in6));
	n->pend[n->npend++].since_ms = vs__now_ms();
	vs__stat_add(&n->st.neigh_waited, 1);
}

static err_t
output(struct vs_netif *n, struct pbuf *p, const struct sockaddr *dst,
       uint16_t ethertype)
{
	int rc = send_frame(n, p, dst, ethertype);

	if (rc == -EAGAIN)
		wait_for_neighbour(n, p, dst);
	else if (rc == -ENETUNREACH)
		vs__stat_add(&n->st.tx_no_route, 1);
	return rc == -ENETUNREACH ? ERR_RTE : ERR_OK;
}

static err_t
output4(struct netif *nif, struct pbuf *p, const ip4_addr_t *dst)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
				   .sin_addr.s_addr = dst->addr };

	return output(nif->state, p, (struct sockaddr *)&sin, 0x0800);
}

static err_t
output6(struct netif *nif, struct pbuf *p, const ip6_addr_t *dst)
{
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };

	memcpy(&sin6.sin6_addr, dst->addr, 16);
	return output(nif->state, p, (struct sockaddr *)&sin6, 0x86dd);
}

uint64_t
vs__netif_arrived_ns(const struct pbuf *p)
{
	if (!p || !(p->flags & PBUF_FLAG_IS_CUSTOM) ||
	    ((const struct pbuf_custom *)p)->custom_free_function !=
		    rx_pbuf_free)
		return 0;
	return ((const struct vs_rx_pbuf *)p)->arrived_ns;
}

void
vs__netif_delivered(struct vs_netif *n, const struct pbuf *p)
{
	uint64_t t = vs__netif_arrived_ns(p), us;
	unsigned b;

	if (!t)
		return;
	us = (vs__now_ns() - t) / 1000;
	/* The first bucket whose bound 2^b is above us. */
	b = us ? 64u - (unsigned)__builtin_clzll(us) : 0;
	if (b > VS_LAT_BUCKETS - 1)
		b = VS_LAT_BUCKETS - 1;
	vs__stat_add(&n->st.latency[b], 1);
}

int
vs__netif_raw_send(struct vs_netif *n, const void *frame, size_t len)
{
	struct vs_buf *b;

	if (len + VS_BUF_HEADROOM > vs__port_info(n->port)->buf_size ||
	    len < ETH_HLEN)
		return -EMSGSIZE;
	if (vs__port_buf_get(n->port, n->q, &b, 1) != 1) {
		vs__stat_add(&n->st.tx_no_buf, 1);
		return -ENOBUFS;
	}
	memcpy(b->data, frame, len);
	b->len = (uint32_t)len;
	if (buf_send(n, b))
		return -ENOBUFS;
	vs__stat_add(&n->st.raw_sent, 1);
	return 0;
}

void
vs__netif_kernel_news(struct vs_netif *n)
{
	uint64_t now = vs__now_ms();
	unsigned kept = 0;

	vs__kernel_update(n->k);
	for (unsigned i = 0; i < n->npend; i++) {
		struct sockaddr *dst = (struct sockaddr *)&n->pend[i].dst;
		int rc =
			send_frame(n, n->pend[i].p, dst,
				   dst->sa_family == AF_INET ? 0x0800 : 0x86dd);

		if (rc == -EAGAIN &&
		    now - n->pend[i].since_ms < VS_NETIF_PENDING_MS) {
			n->pend[kept++] = n->pend[i];
			continue;
		}
		if (rc == -EAGAIN)
			vs__stat_add(&n->st.neigh_timeout, 1);
		n->lw->pbuf_free(n->pend[i].p);
	}
	n->npend = kept;
}

void
vs__netif_udp_csum_soft(struct vs_netif *n, bool soft)
{
	if (!n->tx_csum)
		return;
	if (soft)
		n->nif.chksum_flags |= NETIF_CHECKSUM_GEN_UDP;
	else
		n->nif.chksum_flags &= (u16_t)~NETIF_CHECKSUM_GEN_UDP;
}

/* An IP fragment (IPv4 MF or an offset; IPv6 fragment header first): a
 * NIC's verdict on it says nothing of the datagram's TCP or UDP sum. */
static bool
is_fragment(const uint8_t *ip, uint32_t len, uint16_t type)
{
	if (type == 0x0800)
		return len < 20 || (((ip[6] << 8) | ip[7]) & 0x3fff);
	return len < 40 || ip[6] == 44;
}

#define CHECKS_OFFLOADED                                      \
	(NETIF_CHECKSUM_CHECK_IP | NETIF_CHECKSUM_CHECK_UDP | \
	 NETIF_CHECKSUM_CHECK_TCP)

/* lwIP checks in software only the sums the NIC did not vouch for. */
static void
rx_checks(struct vs_netif *n, const struct vs_buf *b, uint16_t type)
{
	if ((b->flags & VS_BUF_CSUM_OK) &&
	    !is_fragment(b->data + ETH_HLEN, b->len - ETH_HLEN, type))
		n->nif.chksum_flags &= (u16_t)~CHECKS_OFFLOADED;
	else
		n->nif.chksum_flags |= CHECKS_OFFLOADED;
}

void
vs__netif_input_soft(struct vs_netif *n, struct pbuf *p)
{
	n->nif.chksum_flags |= CHECKS_OFFLOADED;
	if (n->lw->ip_input(p, &n->nif) != ERR_OK)
		n->lw->pbuf_free(p);
}

/*
 * The pool runs low: the frame's bytes go to lwIP in ordinary memory and
 * its buffer back to the NIC at once, so data that waits (out of order,
 * unread) cannot hold the NIC's buffers: the kernel collapses its queues
 * for the same reason. NULL (counted) when there is no memory either.
 */
static struct pbuf *
rx_copy(struct vs_netif *n, struct vs_buf *b)
{
	u16_t len = (u16_t)(b->len - ETH_HLEN);
	struct pbuf *p = n->lw->pbuf_alloc(PBUF_RAW, len, PBUF_RAM);

	if (p) {
		memcpy(p->payload, b->data + ETH_HLEN, len);
		vs__stat_add(&n->st.rx_copied, 1);
	} else {
		vs__stat_add(&n->st.rx_no_mem, 1);
	}
	vs__port_buf_put(n->port, n->q, &b, 1);
	return p;
}

unsigned
vs__netif_poll(struct vs_netif *n)
{
	struct vs_buf *b[RX_BURST];
	unsigned got = vs__port_rx_burst(n->port, n->q, b, RX_BURST);
	uint64_t now = got ? vs__now_ns() : 0;

	for (unsigned i = 0; i < got; i++) {
		const uint8_t *f = b[i]->data;
		uint16_t type = 0;
		struct vs_rx_pbuf *r = &n->rxp[b[i]->idx];
		struct pbuf *p;

		tap(n, b[i]->data, b[i]->len);
		if (n->hook) {
			int v = n->hook(n->hook_arg, b[i]->data, b[i]->len);

			if (v != VS_NETIF_PASS) {
				if (v == VS_NETIF_DROP)
					vs__stat_add(&n->st.raw_dropped, 1);
				else
					vs__stat_add(&n->st.raw_consumed, 1);
				vs__port_buf_put(n->port, n->q, &b[i], 1);
				continue;
			}
		}
		if (likely(b[i]->len >= ETH_HLEN)) /* a runt has no type */
			type = (uint16_t)(f[12] << 8 | f[13]);
		if (unlikely(type != 0x0800 && type != 0x86dd)) {
			vs__stat_add(&n->st.rx_not_ip, 1);
			vs__port_buf_put(n->port, n->q, &b[i], 1);
			continue;
		}
		if (unlikely(n->frag_in &&
			     is_fragment(f + ETH_HLEN, b[i]->len - ETH_HLEN,
					 type)) &&
		    !n->frag_in(n->frag_arg, f + ETH_HLEN, b[i]->len - ETH_HLEN,
				type == 0x86dd)) {
			vs__port_buf_put(n->port, n->q, &b[i], 1);
			continue;
		}
		/* The frame stays where the NIC wrote it: lwIP gets a pbuf
		 * over it, and its free hands the buffer back. */
		if (n->rx_csum)
			rx_checks(n, b[i], type);
		vs__stat_add(&n->st.rx_frames, 1);
		if (unlikely(vs__port_pool_low(n->port))) {
			p = rx_copy(n, b[i]);
			if (!p)
				continue;
		} else {
			r->b = b[i];
			r->arrived_ns = now;
			p = n->lw->pbuf_alloced_custom(
				PBUF_RAW, (u16_t)(b[i]->len - ETH_HLEN),
				PBUF_REF, &r->pc, b[i]->data + ETH_HLEN,
				(u16_t)(b[i]->len - ETH_HLEN));
		}
		if (n->lw->ip_input(p, &n->nif) != ERR_OK)
			n->lw->pbuf_free(p);
	}
	if (n->npend)
		vs__netif_kernel_news(n);
	return got;
}

static err_t
nif_init(struct netif *nif)
{
	struct vs_netif *n = nif->state;
	const struct vs_port_info *in = vs__port_info(n->port);

	nif->name[0] = 'v';
	nif->name[1] = 's';
	nif->output = output4;
	nif->output_ip6 = output6;
	nif->mtu = (u16_t)in->mtu;
	nif->hwaddr_len = 6;
	memcpy(nif->hwaddr, in->mac, 6);
	/* No ETHARP, no MLD6: the kernel speaks ARP and ND for the host. */
	nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_LINK_UP;
	/* Sums the NIC fills are not computed (lwIP's ICMP ones are). */
	n->rx_csum = in->rx_csum;
	n->tx_csum = in->tx_csum;
	nif->chksum_flags = NETIF_CHECKSUM_ENABLE_ALL;
	if (n->tx_csum)
		nif->chksum_flags &= (u16_t) ~(NETIF_CHECKSUM_GEN_IP |
					       NETIF_CHECKSUM_GEN_UDP |
					       NETIF_CHECKSUM_GEN_TCP);
	return ERR_OK;
}

static ip4_addr_t
first_v4(const struct vs_port_info *in)
{
	ip4_addr_t v4 = { 0 };

	for (unsigned i = 0; i < in->naddrs && !v4.addr; i++)
		if (in->addrs[i].ss_family == AF_INET)
			v4.addr = ((const struct sockaddr_in *)&in->addrs[i])
					  ->sin_addr.s_addr;
	return v4;
}

static void
add_ip6_addresses(struct vs_netif *n)
{
	const struct vs_port_info *in = vs__port_info(n->port);

	for (unsigned i = 0; i < in->naddrs; i++) {
		const struct sockaddr_storage *a = &in->addrs[i];

		if (a->ss_family == AF_INET6) {
			ip6_addr_t a6 = { 0 };
			s8_t idx;

			memcpy(a6.addr,
			       &((const struct sockaddr_in6 *)a)->sin6_addr,
			       16);
			/* Preferred at once: the kernel already did DAD. */
			if (n->lw->netif_add_ip6_address(&n->nif, &a6, &idx) ==
			    ERR_OK)
				n->lw->netif_ip6_addr_set_state(
					&n->nif, idx, IP6_ADDR_PREFERRED);
		}
	}
}

void
vs__netif_close(struct vs_netif *n)
{
	free(n->rxp);
	n->rxp = NULL;
}

int
vs__netif_open(struct vs_netif *n, struct vs_lwip *lw, struct vs_port *port,
	       unsigned q, struct vs_kernel *k, char *err, size_t errlen)
{
	const struct vs_port_info *in = vs__port_info(port);
	ip4_addr_t v4 = first_v4(in), mask = { 0xffffffffu }, gw = { 0 };

	/* A full frame (the MTU, its Ethernet header and a VLAN tag) must
	 * fit a buffer past its headroom: what lwIP sends (up to the MTU) is
	 * copied into one, and received frames land in one. */
	uint32_t room = in->buf_size - VS_BUF_HEADROOM;

	if (in->mtu + 18 > room) {
		snprintf(err, errlen,
			 "%s: MTU %u does not fit buffers of %u bytes (MTU "
			 "%u at most); %s(ip link set %s mtu %u)",
			 in->device, in->mtu, in->buf_size, room - 18,
			 in->mtu + 18 + VS_BUF_HEADROOM <= 9216 ?
				 "set buffer_size = 9216 (VSTACK_BUFFER_SIZE) "
				 "or lower the MTU " :
				 "lower the MTU ",
			 in->ifname, room - 18);
		return -EMSGSIZE;
	}
	memset(n, 0, sizeof(*n));
	n->lw = lw;
	n->port = port;
	n->q = q;
	n->k = k;
	n->rxp = calloc(in->nbufs, sizeof(*n->rxp));
	if (!n->rxp) {
		snprintf(err, errlen, "out of memory for %u pbufs", in->nbufs);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < in->nbufs; i++) {
		n->rxp[i].n = n;
		n->rxp[i].pc.custom_free_function = rx_pbuf_free;
	}
	/* The address alone (/32): routing is the kernel's (output()). */
	if (!lw->netif_add(&n->nif, &v4, &mask, &gw, n, nif_init,
			   lw->ip_input)) {
		snprintf(err, errlen, "lwIP refused the netif");
		free(n->rxp);
		return -EINVAL;
	}
	add_ip6_addresses(n);
	lw->netif_set_default(&n->nif);
	lw->netif_set_up(&n->nif);
	return 0;
}
