/* SPDX-License-Identifier: MIT */
/*
 * Compiler helpers shared by every module. Owns nothing; must never grow
 * anything but attributes and tiny macros.
 */
#ifndef VS_BASE_COMPILER_H
#define VS_BASE_COMPILER_H

#include <stddef.h>

#define VS_EXPORT __attribute__((visibility("default")))
#define VS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define VS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr)-offsetof(type, member)))

#endif
