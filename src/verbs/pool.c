// SPDX-License-Identifier: MIT
#include <errno.h>
#include <numa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "base/lock.h"
#include "base/log.h"
#include "verbs/pool.h"

#define HUGE_2M (2u << 20)

static bool warned_no_huge;

/* The region: hugepages if asked and available, else normal pages. */
static int
region_alloc(struct vs_pool *p, size_t len, bool hugepages, char *err,
	     size_t errlen)
{
	size_t huge_len = (len + HUGE_2M - 1) & ~(size_t)(HUGE_2M - 1);

	p->mem = MAP_FAILED;
	if (hugepages) {
		p->mem = mmap(NULL, huge_len, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);
		if (p->mem != MAP_FAILED) {
			p->huge = true;
			p->mem_len = huge_len;
			return 0;
		}
		if (!warned_no_huge) {
			warned_no_huge = true;
			vs_warn("no 2 MiB hugepages for %zu MiB of packet buffers "
				"(%s); using normal pages. To reserve them: echo "
				"%zu > /proc/sys/vm/nr_hugepages",
				huge_len >> 20, strerror(errno),
				huge_len / HUGE_2M);
		}
	}
	p->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p->mem == MAP_FAILED) {
		snprintf(err, errlen,
			 "cannot map %zu MiB of packet buffers: %s", len >> 20,
			 strerror(errno));
		return -ENOMEM;
	}
	p->mem_len = len;
	return 0;
}

/* Before the first touch, so that the pages are allocated there. */
static void
region_place(struct vs_pool *p, int node)
{
	p->numa_node = -1;
	if (node < 0 || numa_available() < 0 || node > numa_max_node())
		return;
	numa_tonode_memory(p->mem, p->mem_len, node);
	p->numa_node = node;
}

static int
lists_alloc(struct vs_pool *p, unsigned ncaches)
{
	p->desc = calloc(p->nbufs, sizeof(*p->desc));
	p->free = calloc(p->nbufs, sizeof(*p->free));
	p->cache = calloc(ncaches, sizeof(*p->cache));
	if (!p->desc || !p->free || !p->cache)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->nbufs; i++) {
		struct vs_buf *b = &p->desc[i];

		b->idx = i;
		b->head = p->mem + (size_t)i * p->buf_size;
		b->data = b->head + VS_BUF_HEADROOM;
		p->free[i] = b;
	}
	p->nfree = p->nbufs;
	p->ncaches = ncaches;
	return 0;
}

int
vs__pool_init(struct vs_pool *p, uint32_t nbufs, uint32_t buf_size,
	      int numa_node, bool hugepages, unsigned ncaches, char *err,
	      size_t errlen)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->nbufs = nbufs;
	p->buf_size = buf_size;
	pthread_mutex_init(&p->lock, NULL);
	rc = region_alloc(p, (size_t)nbufs * buf_size, hugepages, err, errlen);
	if (rc)
		return rc;
	region_place(p, numa_node);
	rc = lists_alloc(p, ncaches ? ncaches : 1);
	if (rc) {
		snprintf(err, errlen, "out of memory for %u buffer descriptors",
			 nbufs);
		vs__pool_fini(p);
	}
	return rc;
}

void
vs__pool_fini(struct vs_pool *p)
{
	if (p->mem && p->mem != MAP_FAILED)
		munmap(p->mem, p->mem_len);
	free(p->desc);
	free(p->free);
	free(p->cache);
	pthread_mutex_destroy(&p->lock);
	memset(p, 0, sizeof(*p));
}

/* A cache's count, written by its queue's owner alone (plain reads
 * there) and read by vs__pool_available on the control thread: stored
 * atomically, the same mov. */
static inline void
cache_n_set(struct vs_pool_cache *c, uint32_t n)
{
	__atomic_store_n(&c->n, n, __ATOMIC_RELAXED);
}

/* Moves up to n buffers from the global list into cache c. */
static void
cache_refill(struct vs_pool *p, struct vs_pool_cache *c, unsigned n)
{
	vs__mutex_lock(&p->lock);
	if (n > p->nfree)
		n = p->nfree;
	/* Stored atomically: vs__pool_low reads it without the lock. */
	__atomic_store_n(&p->nfree, p->nfree - n, __ATOMIC_RELAXED);
	memcpy(&c->b[c->n], &p->free[p->nfree], n * sizeof(*c->b));
	cache_n_set(c, c->n + n);
	vs__mutex_unlock(&p->lock);
}

static void
cache_spill(struct vs_pool *p, struct vs_pool_cache *c, unsigned n)
{
	vs__mutex_lock(&p->lock);
	cache_n_set(c, c->n - n);
	memcpy(&p->free[p->nfree], &c->b[c->n], n * sizeof(*c->b));
	__atomic_store_n(&p->nfree, p->nfree + n, __ATOMIC_RELAXED);
	vs__mutex_unlock(&p->lock);
}

unsigned
vs__pool_get(struct vs_pool *p, unsigned q, struct vs_buf **b, unsigned n)
{
	struct vs_pool_cache *c = &p->cache[q];

	if (n == 1 && c->n) { /* a frame's buffer: no memcpy call for it */
		cache_n_set(c, c->n - 1);
		b[0] = c->b[c->n];
		b[0]->data = b[0]->head + VS_BUF_HEADROOM;
		return 1;
	}
	if (c->n < n)
		cache_refill(p, c,
			     VS_POOL_BATCH + n - c->n < VS_POOL_CACHE - c->n ?
				     VS_POOL_BATCH + n - c->n :
				     VS_POOL_CACHE - c->n);
	if (n > c->n)
		n = c->n;
	cache_n_set(c, c->n - n);
	memcpy(b, &c->b[c->n], n * sizeof(*b));
	/* Only where the frame starts is reset (users may move it); length
	 * and flags are the next user's to set. */
	for (unsigned i = 0; i < n; i++)
		b[i]->data = b[i]->head + VS_BUF_HEADROOM;
	return n;
}

void
vs__pool_put(struct vs_pool *p, unsigned q, struct vs_buf **b, unsigned n)
{
	struct vs_pool_cache *c = &p->cache[q];

	if (n == 1 && c->n < VS_POOL_CACHE) {
		c->b[c->n] = b[0];
		cache_n_set(c, c->n + 1);
		return;
	}
	while (n) {
		unsigned k;

		if (c->n == VS_POOL_CACHE)
			cache_spill(p, c, VS_POOL_BATCH);
		k = VS_POOL_CACHE - c->n < n ? VS_POOL_CACHE - c->n : n;
		memcpy(&c->b[c->n], b, k * sizeof(*b));
		cache_n_set(c, c->n + k);
		b += k;
		n -= k;
	}
}

bool
vs__pool_low(const struct vs_pool *p)
{
	return __atomic_load_n(&p->nfree, __ATOMIC_RELAXED) < p->nbufs / 4;
}

uint32_t
vs__pool_available(struct vs_pool *p)
{
	uint32_t n;

	vs__mutex_lock(&p->lock);
	n = p->nfree;
	for (unsigned i = 0; i < p->ncaches; i++)
		n += __atomic_load_n(&p->cache[i].n, __ATOMIC_RELAXED);
	vs__mutex_unlock(&p->lock);
	return n;
}
