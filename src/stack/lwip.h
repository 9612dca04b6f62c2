/* SPDX-License-Identifier: MIT */
/*
 * lwip - private copies of vstack's lwIP (lwip/), one per engine.
 *
 * lwIP keeps its state in globals, so one copy cannot serve several
 * cores. Each instance copies the library (embedded in libvstack:
 * lwip_blob.c) into a memfd and dlopen()s it RTLD_LOCAL through
 * /proc/self/fd/N: a distinct file, so a distinct copy with its own
 * globals. Everything vstack uses of lwIP is resolved into
 * the instance's table; calls go through it (`l->tcp_bind(...)`).
 *
 * Owns: the memfd, the dlopen handle and the table. An instance lives as long as
 * the process: lwIP cannot be shut down (lwip_init() registers cyclic
 * timers that live in the copy's own globals; unloading it would strand
 * them), and an engine keeps its instance until exit anyway.
 * Must never: link lwIP or put an lwIP symbol in the global scope; use
 * a header macro that names an lwIP global (IP_ADDR_ANY names
 * ip_addr_any: build such values locally); call an instance from any
 * thread but its engine's (lwIP's raw API, no tcpip_thread).
 */
#ifndef VS_STACK_LWIP_H
#define VS_STACK_LWIP_H

#include <stdbool.h>
#include <stddef.h>

#include "lwip/init.h"
#include "lwip/ip4_frag.h"
#include "lwip/ip6_frag.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h" /* the pcb lists */
#include "lwip/tcp.h"
#include "lwip/timeouts.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"

#include "lwip_hooks.h"

/* Grouped by hand: clang-format packs an X-macro list unreadably. */
/* clang-format off */
/* The functions vstack calls; each becomes a member of struct vs_lwip
 * with the type lwIP's header declares. */
#define VS_LWIP_FUNCS(X)                                                      \
	X(lwip_init) X(sys_check_timeouts) X(sys_timeouts_sleeptime)          \
	X(sys_timeout) X(sys_untimeout)                                              \
	X(netif_add) X(netif_remove) X(netif_set_up) X(netif_set_link_up)     \
	X(netif_set_default) X(ethernet_input) X(ip_input)                    \
	X(netif_add_ip6_address) X(netif_ip6_addr_set_state)                  \
	X(pbuf_alloc) X(pbuf_alloced_custom) X(pbuf_free) X(pbuf_ref)         \
	X(pbuf_copy_partial) X(pbuf_take) X(pbuf_cat) X(pbuf_free_header)     \
	X(tcp_new_ip_type) X(tcp_bind) X(tcp_listen_with_backlog)             \
	X(tcp_accept) X(tcp_connect) X(tcp_write) X(tcp_output) X(tcp_recved) \
	X(tcp_arg) X(tcp_recv) X(tcp_sent) X(tcp_err) X(tcp_poll)             \
	X(tcp_close) X(tcp_abort) X(tcp_abandon) X(tcp_shutdown) X(tcp_wake) X(tcp_pcb_find) \
	X(tcp_ext_arg_alloc_id) X(tcp_ext_arg_set_callbacks) X(tcp_ext_arg_set) \
	X(tcp_vs_export) X(tcp_vs_import)                                      \
	X(udp_new_ip_type) X(udp_bind) X(udp_connect) X(udp_disconnect)      \
	X(udp_recv) X(udp_sendto) X(udp_sendto_if_src) X(udp_send) X(udp_remove)

/* The globals vstack reads (for counters and connection lists). */
#define VS_LWIP_VARS(X) X(tcp_bound_pcbs) X(tcp_listen_pcbs) \
	X(tcp_active_pcbs) X(tcp_quiet_pcbs) X(tcp_tw_pcbs) X(udp_pcbs) \
	X(netif_list)                                                  \
	X(tcp_syn_cookies_sent) X(tcp_syn_cookies_ok) X(tcp_syn_cookies_bad) \
	X(tcp_rto_timeouts) X(tcp_fast_rexmits) X(tcp_lost_rexmits)   \
	X(tcp_tlp_probes) X(tcp_challenge_acks) X(tcp_challenge_acks_skipped) \
	X(ip_reass_fails) X(ip6_reass_fails) X(ip_data)               \
	X(vs_lwip_syn_filter) X(vs_lwip_reassembled_fn) X(vs_lwip_reassembled_arg)
/* clang-format on */

struct vs_lwip {
	void *handle;
	int memfd; /* kept open: its number makes each copy's path unique */
	u8_t ext_id; /* the pcbs' ext arg slot vstack uses (tcp.c) */
#define VS_LWIP_FN(f) __typeof__(f) *f;
	VS_LWIP_FUNCS(VS_LWIP_FN)
#undef VS_LWIP_FN
#define VS_LWIP_VAR(v) __typeof__(v) *v;
	VS_LWIP_VARS(VS_LWIP_VAR)
#undef VS_LWIP_VAR
};

/*
 * Loads a private copy (of the library file at path; NULL: of the one
 * libvstack embeds) and calls its lwip_init(). Returns 0, or -errno
 * with a message in err.
 */
int vs__lwip_load(struct vs_lwip *l, const char *path, char *err,
		  size_t errlen);

/* The unspecified address of a type (lwIP's IP_ADDR_ANY, built here:
 * the macro names a global of the library). */
static inline ip_addr_t
vs__lwip_addr_any(u8_t type)
{
	ip_addr_t a;

	__builtin_memset(&a, 0, sizeof(a));
	IP_SET_TYPE_VAL(a, type);
	return a;
}

#endif
