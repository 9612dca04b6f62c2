/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every module. Owns nothing; must never grow
 * anything but attributes, tiny macros and arithmetic one-liners.
 */
#ifndef VS_BASE_COMPILER_H
#define VS_BASE_COMPILER_H

#include <stddef.h>
#include <stdint.h>

#define VS_EXPORT __attribute__((visibility("default")))
#define VS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define VS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

/* The smallest power of two >= n (1 for 0); n at most 2^31. */
static inline uint32_t
vs_pow2_at_least(uint32_t n)
{
	return n <= 1 ? 1 : 1u << (32 - __builtin_clz(n - 1));
}

#endif
