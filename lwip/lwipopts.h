/* SPDX-License-Identifier: MIT */
/*
 * lwipopts.h - the options vstack builds lwIP with (lwip/README.md says
 * why each one). vstack's own code includes lwIP's headers with this
 * file, so the library and its users agree on every structure.
 *
 * The engine drives lwIP's raw API from one thread per copy, so: no OS
 * layer, no locks, no netconn or socket API. Memory comes from malloc
 * (no fixed cap on connections); what a peer can make a connection hold
 * is bounded by the options below and by the engine.
 */
#ifndef VS_LWIPOPTS_H
#define VS_LWIPOPTS_H

/* --- the system: none (the engine's thread calls lwIP) --- */
#define NO_SYS 1
#define SYS_LIGHTWEIGHT_PROT 0
#define LWIP_TIMERS 1
#define LWIP_NETCONN 0
#define LWIP_SOCKET 0
#define LWIP_ALTCP 0

/* --- memory: the C library's (no pools to size, no connection cap) --- */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define LWIP_SUPPORT_CUSTOM_PBUF 1 /* received frames stay in NIC buffers */
#define LWIP_STATS 0 /* vstack counts what it reports */

/* --- protocols: IPv4 and IPv6, TCP and UDP; the kernel does the rest --- */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1 /* compiled for ethernet_input; the netif is not ETHARP */
#define LWIP_ETHERNET 1
#define ARP_QUEUEING 0
#define LWIP_ICMP 1 /* port unreachable for a steered datagram nobody takes */
#define LWIP_ICMP6 1
#define LWIP_IPV6_MLD 0 /* the kernel joins groups and answers ND */
#define LWIP_IPV6_AUTOCONFIG 0
#define LWIP_IPV6_SEND_ROUTER_SOLICIT 0
#define LWIP_IPV6_DUP_DETECT_ATTEMPTS 0
#define LWIP_IPV6_DHCP6 0
#define LWIP_IPV6_NUM_ADDRESSES 6
#define LWIP_ND6_QUEUEING 0
#define IP_FORWARD 0
#define LWIP_IPV6_FORWARD 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_IPV6_REASS 1
#define LWIP_IPV6_FRAG 1
/* What fragments a peer can make one engine hold while it waits for the
 * rest: 256 pieces (each a NIC buffer; a 64 KiB datagram is 45 at MTU
 * 1500), each datagram 5 s (IPv4 and IPv6 alike; Linux: 30 s); past
 * the bound the oldest datagram is given up (counted: ReasmFails). */
#define IP_REASS_MAX_PBUFS 256
#define IP_REASS_MAXAGE 5
#define IPV6_REASS_MAXAGE 5
#define LWIP_RAW 0
#define LWIP_IGMP 0
#define LWIP_DHCP 0
#define LWIP_AUTOIP 0
#define LWIP_DNS 0
#define LWIP_UDP 1
#define LWIP_UDPLITE 0
#define LWIP_TCP 1
#define SO_REUSE \
	1 /* the kernel socket behind each pcb already checked the bind */
/* ... so a pcb with SOF_REUSEADDR binds without a walk of every pcb
 * (patch 0016; a second listener on a port has no SOF_REUSEADDR). */
#define TCP_BIND_REUSE_TRUSTED 1

/* --- checksums: the NIC's where it has them (per netif, per frame) --- */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define LWIP_CHECKSUM_ON_COPY 0
/* Where lwIP still sums (no offload: AF_XDP), 64 bits at a time. */
unsigned short vs__csum(const void *data, int len);
#define LWIP_CHKSUM vs__csum

/* --- TCP --- */
#define TCP_MSS 1460
/* 4 MiB windows each way: scale 7 (65535 << 7 = 8 MiB at most). */
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 7
#define TCP_WND (4 * 1024 * 1024)
#define TCP_SND_BUF (4 * 1024 * 1024)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 2)
/* lwIP's netconn layer's "writable" mark (unused here); its sanity
 * check still wants it below 16 bits. */
#define TCP_SNDLOWAT (32 * 1024)
/* Out-of-order data is kept (and SACKed), but a peer cannot make one
 * connection hold more than a window of it, nor more than 4096 pieces
 * (a window of full-size segments is about 2,900: with fewer, lwIP
 * dropped data it had SACKed, and Linux waits for a timeout when a
 * receiver reneges). */
#define TCP_QUEUE_OOSEQ 1
#define LWIP_TCP_SACK_OUT 1
#define LWIP_TCP_MAX_SACK_NUM 4
#define TCP_OOSEQ_MAX_BYTES TCP_WND
#define TCP_OOSEQ_MAX_PBUFS 4096
/* Half-open connections per listener (lwIP's backlog counts them). */
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 0xff
#define LWIP_TCP_KEEPALIVE 1
/* Timers every 10 ms (RTT and RTO in 20 ms ticks, delayed ACKs within
 * 10 ms); TIME_WAIT 2 x MSL = 60 s, as Linux holds it. */
#define TCP_TMR_INTERVAL 10
#define TCP_MSL 30000UL
/* One slot: the engine learns when lwIP frees a pcb (TIME_WAIT ends). */
#define LWIP_TCP_PCB_NUM_EXT_ARGS 1

/* Past the backlog, SYN cookies (patch 0003, RFC 4987). */
#define LWIP_TCP_SYN_COOKIES 1

/* --- hooks (port.c) --- */
#define LWIP_HOOK_FILENAME "lwip_hooks.h"
#define LWIP_HOOK_TCP_ISN vs_lwip_isn
#define LWIP_HOOK_TCP_SYN_COOKIE vs_lwip_syn_cookie
#define LWIP_HOOK_TCP_SYN_COOKIE_CHECK vs_lwip_syn_cookie_check
/* Each reassembled datagram goes to the engine of its socket first
 * (patch 0014, stack/frag.c). */
#define LWIP_HOOK_IP_REASSEMBLED vs_lwip_reassembled
/* Segments to a listener first meet vs_lwip_listen_input (SYNs vstack
 * refuses are dropped or reset); a connection's pay two comparisons:
 * those of one moving to another process (TF_VS_MOVED, patch 0018) are
 * dropped, its new owner gets them again from the peer. */
#define LWIP_HOOK_TCP_INPACKET_PCB(pcb, hdr, optlen, opt1len, opt2, p)      \
	((pcb)->state == LISTEN ? vs_lwip_listen_input((pcb), (hdr), (p)) : \
	 ((pcb)->flags & TF_VS_MOVED) ? ERR_ABRT                           \
				      : ERR_OK)

#endif
