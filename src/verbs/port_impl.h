/* SPDX-License-Identifier: MIT */
/*
 * port_impl.h - what a port backend sees of struct vs_port. Only
 * port.c and the backends include it.
 */
#ifndef VS_VERBS_PORT_IMPL_H
#define VS_VERBS_PORT_IMPL_H

#include <pthread.h>

#include "verbs/pool.h"
#include "verbs/port.h"

#define VS_RSS_KEY_LEN 40
#define VS_RSS_TABLE_MAX 256

struct vs_port {
	const struct vs_port_ops *ops;
	struct vs_port_opts o;
	struct vs_port_info info;
	struct vs_pool pool;
	struct vs_queue_stats *st; /* one per queue */
	pthread_mutex_t rules_lock; /* rule_add/rule_del, from any thread */
	/* What RSS does: Toeplitz with key over the 4-tuple, then table. */
	uint8_t rss_key[VS_RSS_KEY_LEN];
	unsigned rss_table_len;
	uint16_t rss_table[VS_RSS_TABLE_MAX];
};

/* What every backend's rule starts with; the backend's own follows
 * (container_of), as its port embeds struct vs_port. */
struct vs_rule_handle {
	struct vs_port *port; /* the port it is on (set by port.c) */
};

/* For backends: the pool on this NUMA node, once the device is known. */
int vs__port_pool_init(struct vs_port *p, int numa_node, char *err,
		       size_t errlen);
/* For backends: MAC, MTU and addresses of info.ifname. */
int vs__port_netdev_info(struct vs_port *p, char *err, size_t errlen);

extern const struct vs_port_ops vs__verbs_ops;
extern const struct vs_port_ops vs__xdp_ops;
/* xdp.c: why libbpf/libxdp refused, from what they said (rewrites buf). */
const char *vs__xdp_reason(char *buf);

#endif
