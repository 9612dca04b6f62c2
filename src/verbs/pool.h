/* SPDX-License-Identifier: MIT */
/*
 * pool - the packet buffers of a port: one memory region, fixed-size
 * buffers, and per-queue caches.
 *
 * Owns: the region (2 MiB hugepages on the NIC's NUMA node when it can,
 * normal pages otherwise, with one warning), the buffer descriptors, a
 * global free list (under a mutex) and one cache per queue. A queue's
 * cache belongs to the thread that owns the queue: taking and returning
 * buffers there takes no lock; caches trade with the global list in
 * batches. Exhaustion is a NULL the caller counts as a drop.
 *
 * Must never: be registered with a NIC by itself (the backend registers
 * the region), take a lock per buffer, or hand out a buffer twice.
 */
#ifndef VS_VERBS_POOL_H
#define VS_VERBS_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "verbs/port.h"

#define VS_POOL_CACHE 512 /* buffers a queue keeps for itself */
#define VS_POOL_BATCH 64 /* buffers moved between a cache and the pool */
#define VS_BUF_HEADROOM 128

struct vs_pool_cache {
	uint32_t n;
	struct vs_buf *b[VS_POOL_CACHE];
};

struct vs_pool {
	uint8_t *mem; /* the region */
	size_t mem_len;
	bool huge; /* backed by 2 MiB pages */
	int numa_node; /* where it was placed, -1 unknown */
	uint32_t buf_size; /* bytes per buffer, headroom included */
	uint32_t nbufs;
	struct vs_buf *desc; /* one per buffer */
	pthread_mutex_t lock; /* the global free list */
	struct vs_buf **free;
	uint32_t nfree;
	unsigned ncaches;
	struct vs_pool_cache *cache; /* one per queue */
};

/*
 * Creates a pool of nbufs buffers of buf_size bytes on numa_node (-1: the
 * caller's), with ncaches caches. Returns 0 or -errno and a message in
 * err (which names what failed and what to do).
 */
int vs__pool_init(struct vs_pool *p, uint32_t nbufs, uint32_t buf_size,
		  int numa_node, bool hugepages, unsigned ncaches, char *err,
		  size_t errlen);
void vs__pool_fini(struct vs_pool *p);

/* Up to n buffers for queue q; returns how many (0: exhausted). */
unsigned vs__pool_get(struct vs_pool *p, unsigned q, struct vs_buf **b,
		      unsigned n);
void vs__pool_put(struct vs_pool *p, unsigned q, struct vs_buf **b, unsigned n);
/* Fewer than a quarter of the buffers are in the global free list (the
 * queues' caches hold at most VS_POOL_CACHE each): received data that
 * would wait in a buffer should be copied out of it. No lock; a hint. */
bool vs__pool_low(const struct vs_pool *p);
/* Buffers now free, all caches and the global list together (slow: for
 * statistics and leak checks). */
uint32_t vs__pool_available(struct vs_pool *p);

#endif
