/* SPDX-License-Identifier: MIT */
/*
 * lock - vstack's mutexes as ThreadSanitizer must see them.
 *
 * A thread of the program that waits in epoll_wait or poll drives the
 * engines from inside that call. Under TSan the program's epoll_wait is
 * the runtime's interceptor, which calls vstack's as a blocking call and
 * ignores every interceptor meanwhile, pthread_mutex_* and atomics
 * included: what the locks order there looked like races (2,489 reports
 * in sockapi.threads_stall, docs/testing.md). These say to TSan what
 * they order themselves (its annotations are not silenced); elsewhere
 * they are the plain calls.
 *
 * Owns nothing. Must never: add a cost outside a TSan build.
 */
#ifndef VS_BASE_LOCK_H
#define VS_BASE_LOCK_H

#include <pthread.h>

#if defined(__SANITIZE_THREAD__)
#define VS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define VS_TSAN 1
#endif
#endif

#ifdef VS_TSAN
void __tsan_acquire(void *addr);
void __tsan_release(void *addr);
#define vs__tsan_acquire(p) __tsan_acquire((void *)(p))
#define vs__tsan_release(p) __tsan_release((void *)(p))
#else
#define vs__tsan_acquire(p) ((void)0)
#define vs__tsan_release(p) ((void)0)
#endif

static inline int
vs__mutex_trylock(pthread_mutex_t *m)
{
	int rc = pthread_mutex_trylock(m);

	if (!rc)
		vs__tsan_acquire(m);
	return rc;
}

static inline void
vs__mutex_lock(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	vs__tsan_acquire(m);
}

static inline void
vs__mutex_unlock(pthread_mutex_t *m)
{
	vs__tsan_release(m);
	pthread_mutex_unlock(m);
}

#endif
