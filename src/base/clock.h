/* SPDX-License-Identifier: MIT */
/*
 * clock - the monotonic clock in the units vstack counts in.
 *
 * Owns nothing. Must never: be anything but CLOCK_MONOTONIC (vDSO, no
 * syscall), so it may be read on a fast path.
 */
#ifndef VS_BASE_CLOCK_H
#define VS_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t
vs__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000;
}

static inline uint64_t
vs__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t
vs__now_ms(void)
{
	return vs__now_us() / 1000;
}

#endif
