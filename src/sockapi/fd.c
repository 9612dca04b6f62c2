// SPDX-License-Identifier: MIT
/*
 * fd - what each file descriptor number is to vstack: nothing (the
 * kernel's, not looked at), a vstack socket, a vstack epoll set, one of
 * vstack's own fds (internal), or a UDP socket looked at once and left to
 * the kernel. A two-level table, allocated as fds appear, read without a
 * lock on every interposed call.
 *
 * Owns: the table and its tagged entries (object pointer | kind).
 * Must never: take a reference on what an entry points at (the owner of
 * the entry does), or block.
 */
#include <errno.h>
#include <stdlib.h>

#include "sockapi/sock.h"

#define TAB_L2 4096
#define TAB_L1 1024 /* 4M fds */
#define TAG_MASK 7u /* the objects are 8-aligned: 3 bits for the kind */

static _Atomic(_Atomic uintptr_t *) tab[TAB_L1];

/* What VS_FD_INTERNAL, VS_FD_KERNEL and VS_FD_OWN entries point at. */
static char fd_mark[8] __attribute__((aligned(8)));

static _Atomic uintptr_t *
slot(int fd, bool make)
{
	_Atomic uintptr_t *l2;
	unsigned hi;

	if (fd < 0 || (unsigned)fd >= TAB_L1 * TAB_L2)
		return NULL;
	hi = (unsigned)fd / TAB_L2;
	l2 = atomic_load_explicit(&tab[hi], memory_order_acquire);
	if (!l2 && make) {
		_Atomic uintptr_t *n = calloc(TAB_L2, sizeof(*n)), *want = NULL;

		if (!n)
			return NULL;
		if (atomic_compare_exchange_strong(&tab[hi], &want, n))
			l2 = n;
		else {
			free(n);
			l2 = want;
		}
	}
	return l2 ? &l2[(unsigned)fd % TAB_L2] : NULL;
}

uintptr_t
vs__fd_get(int fd)
{
	_Atomic uintptr_t *s = slot(fd, false);

	return s ? atomic_load_explicit(s, memory_order_acquire) : 0;
}

int
vs__fd_set(int fd, void *obj, enum vs_fdkind kind)
{
	_Atomic uintptr_t *s = slot(fd, true);

	if (!s)
		return -EMFILE;
	atomic_store_explicit(s, obj ? (uintptr_t)obj | kind : 0,
			      memory_order_release);
	return 0;
}

void
vs__fd_each(bool (*keep)(void *arg, int fd, enum vs_fdkind kind, void *obj),
	    void *arg)
{
	for (unsigned i = 0; i < TAB_L1; i++) {
		_Atomic uintptr_t *l2 = atomic_load(&tab[i]);

		for (unsigned j = 0; l2 && j < TAB_L2; j++) {
			uintptr_t v = atomic_load(&l2[j]);

			if (v && !keep(arg, (int)(i * TAB_L2 + j),
				       (enum vs_fdkind)(v & TAG_MASK),
				       (void *)(v & ~(uintptr_t)TAG_MASK)))
				atomic_store(&l2[j], 0);
		}
	}
}

int
vs__fd_kind(int fd)
{
	return (int)(vs__fd_get(fd) & TAG_MASK);
}

struct vs_sock *
vs__fd_sock(int fd)
{
	uintptr_t v = vs__fd_get(fd);

	return (v & TAG_MASK) == VS_FD_SOCK ?
		       (struct vs_sock *)(v & ~(uintptr_t)TAG_MASK) :
		       NULL;
}

struct vs_sock *
vs__fd_take_sock(int fd)
{
	_Atomic uintptr_t *e = slot(fd, false);
	uintptr_t v = e ? atomic_load(e) : 0;

	while ((v & TAG_MASK) == VS_FD_SOCK)
		if (atomic_compare_exchange_weak(e, &v, 0))
			return (struct vs_sock *)(v & ~(uintptr_t)TAG_MASK);
	return NULL;
}

struct vs_ep *
vs__fd_ep(int fd)
{
	uintptr_t v = vs__fd_get(fd);

	return (v & TAG_MASK) == VS_FD_EPOLL ?
		       (struct vs_ep *)(v & ~(uintptr_t)TAG_MASK) :
		       NULL;
}

bool
vs__fd_internal(int fd)
{
	return (vs__fd_get(fd) & TAG_MASK) == VS_FD_INTERNAL;
}

void
vs__fd_mark_internal(int fd)
{
	vs__fd_set(fd, fd_mark, VS_FD_INTERNAL);
}

void
vs__fd_forget(int fd)
{
	uintptr_t kind = vs__fd_get(fd) & TAG_MASK;

	if (kind == VS_FD_KERNEL || kind == VS_FD_OWN)
		vs__fd_set(fd, NULL, VS_FD_NONE);
}

void
vs__fd_mark_kernel(int fd)
{
	vs__fd_set(fd, fd_mark, VS_FD_KERNEL);
}

void
vs__fd_mark_own(int fd)
{
	vs__fd_set(fd, fd_mark, VS_FD_OWN);
}

int
vs__fd_set_ep(int fd, struct vs_ep *ep)
{
	return vs__fd_set(fd, ep, VS_FD_EPOLL);
}
