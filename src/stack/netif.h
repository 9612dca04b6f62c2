/* SPDX-License-Identifier: MIT */
/*
 * netif - one lwIP instance on one port queue: frames received on the
 * queue go up to lwIP without a copy (custom pbufs over the port's
 * buffers, returned to the pool when lwIP frees them); what lwIP sends
 * gets the next hop's MAC from the kernel's tables and goes out on the
 * queue.
 *
 * Owns: the lwIP netif, a custom pbuf per pool buffer, and a short queue
 * of packets waiting for the kernel to resolve their next hop (released
 * when it does, dropped and counted after a second).
 *
 * Must never: speak ARP or ND (the netif has neither NETIF_FLAG_ETHARP
 * nor NETIF_FLAG_MLD6; the kernel resolves), allocate per packet on
 * receive, or run outside the engine's thread.
 */
#ifndef VS_STACK_NETIF_H
#define VS_STACK_NETIF_H

#include "stack/kernel.h"
#include "stack/lwip.h"
#include "verbs/port.h"

#define VS_NETIF_PENDING 64
/* How long a packet waits for its next hop: the kernel's own unresolved
 * queue lasts its three solicitations, a second apart. */
#define VS_NETIF_PENDING_MS 3000

/* Latency buckets: [0] under 1 µs, [k] under 2^k µs, the last beyond. */
#define VS_LAT_BUCKETS 24

/*
 * A tap: copies of the frames a netif receives and sends, for a capture
 * (vstackctl capture). One producer at a time (the engine's lock holder),
 * one consumer (the control server); a full ring drops and counts.
 */
#define VS_TAP_SLOTS 512
#define VS_TAP_SNAP 2048

struct vs_tap_slot {
	uint64_t ns; /* CLOCK_REALTIME, for pcap */
	uint32_t len, caplen;
	uint8_t data[VS_TAP_SNAP];
};

struct vs_tap {
	_Atomic uint64_t head, tail; /* produced, consumed */
	_Atomic uint64_t dropped;
	struct vs_tap_slot slot[VS_TAP_SLOTS];
};

/* Written by whoever holds the engine's lock (vs__stat_add), read by
 * anyone. */
struct vs_netif_stats {
	_Atomic uint64_t rx_frames, rx_not_ip, tx_frames, tx_no_buf,
		tx_no_route;
	_Atomic uint64_t neigh_waited, neigh_timeout;
	_Atomic uint64_t raw_dropped, raw_consumed, raw_sent;
	/* Frames copied out of their NIC buffer because the pool ran low
	 * (their data may wait: out of order, unread), and those dropped
	 * because even the copy found no memory. */
	_Atomic uint64_t rx_copied, rx_no_mem;
	/* From a frame's arrival to its data's delivery to the program
	 * (written under the engine's lock, by whoever holds it). */
	_Atomic uint64_t latency[VS_LAT_BUCKETS];
};

/* A hook on every received frame before lwIP (the native API's raw
 * hook): VS_NETIF_PASS, _DROP or _CONSUMED. */
enum { VS_NETIF_PASS, VS_NETIF_DROP, VS_NETIF_CONSUMED };
typedef int (*vs_netif_hook)(void *arg, uint8_t *frame, size_t len);

/* A hook on every received IP fragment before lwIP (stack/frag.c):
 * true hands it to lwIP, false drops it (the hook counts why). ip: the
 * IP header, len bytes. */
typedef bool (*vs_netif_frag_fn)(void *arg, const uint8_t *ip, uint32_t len,
				 bool v6);

struct vs_rx_pbuf;

struct vs_netif {
	struct vs_lwip *lw;
	struct vs_port *port;
	unsigned q;
	struct vs_kernel *k;
	struct netif nif;
	struct vs_rx_pbuf *rxp; /* one per pool buffer, by idx */
	struct {
		struct pbuf *p;
		struct sockaddr_storage dst;
		uint64_t since_ms;
	} pend[VS_NETIF_PENDING];
	unsigned npend;
	vs_netif_hook hook;
	void *hook_arg;
	vs_netif_frag_fn frag_in;
	void *frag_arg;
	struct vs_tap *_Atomic tap; /* a capture's, or NULL */
	bool rx_csum, tx_csum; /* the port checks / fills checksums */
	struct vs_netif_stats st;
};

/* Adds the netif with the port's first IPv4 and IPv6 addresses. */
int vs__netif_open(struct vs_netif *n, struct vs_lwip *lw, struct vs_port *port,
		   unsigned q, struct vs_kernel *k, char *err, size_t errlen);
/* Frees what vs__netif_open allocated. lwIP cannot be shut down: its
 * copy, and pbufs it may still hold over the port's buffers, stay, and
 * must never run again (the engine is closed, the port goes next). */
void vs__netif_close(struct vs_netif *n);
/* While soft, lwIP sums the UDP datagrams it sends (a NIC sums no
 * fragment: the caller makes it so for datagrams lwIP fragments). */
void vs__netif_udp_csum_soft(struct vs_netif *n, bool soft);
/* Receives a burst into lwIP and retries packets waiting for their
 * next hop; returns the frames received. */
unsigned vs__netif_poll(struct vs_netif *n);
/* When the frame under pbuf p arrived (ns, monotonic), or 0 if p is not
 * a received frame's. */
uint64_t vs__netif_arrived_ns(const struct pbuf *p);
/* p's data reaches the program now: counts the latency of its frame. */
void vs__netif_delivered(struct vs_netif *n, const struct pbuf *p);
/* Feeds lwIP an IP packet built in memory (p at its IP header; taken):
 * no NIC vouched for its sums, lwIP checks them. */
void vs__netif_input_soft(struct vs_netif *n, struct pbuf *p);
/* Sends a whole Ethernet frame as it is: 0, -EMSGSIZE or -ENOBUFS. */
int vs__netif_raw_send(struct vs_netif *n, const void *frame, size_t len);
/* Call when the kernel's fd is readable: applies its news and sends
 * what was waiting for it. */
void vs__netif_kernel_news(struct vs_netif *n);

#endif
