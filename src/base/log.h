/* SPDX-License-Identifier: MIT */
/*
 * log - the one logger of the library.
 *
 * Owns: the current level (an atomic, so any thread may change it, e.g.
 * `vstackctl set loglevel`) and the output fd (stderr unless a test points
 * it elsewhere). Each message is formatted on the stack and written with a
 * single write(2), so lines from several threads never interleave.
 *
 * Must never: allocate, take a lock, or be called on a per-packet fast path
 * above debug level. Tools print their own output; library code logs here.
 */
#ifndef VS_BASE_LOG_H
#define VS_BASE_LOG_H

#include <stdatomic.h>

#include "base/compiler.h"

enum vs_log_level {
	VS_LOG_ERROR = 0,
	VS_LOG_WARN = 1,
	VS_LOG_INFO = 2,
	VS_LOG_DEBUG = 3,
};

#define VS_LOG_DEFAULT VS_LOG_WARN

/* Current level; read through vs_log() only. */
extern _Atomic int vs__log_level;

void vs__log_emit(int level, const char *fmt, ...) VS_PRINTF(2, 3);

/* Formats only when the level is enabled. */
#define vs_log(level, ...)                                                \
	do {                                                              \
		if (unlikely((level) <=                                   \
			     atomic_load_explicit(&vs__log_level,         \
						  memory_order_relaxed))) \
			vs__log_emit((level), __VA_ARGS__);               \
	} while (0)

#define vs_err(...) vs_log(VS_LOG_ERROR, __VA_ARGS__)
#define vs_warn(...) vs_log(VS_LOG_WARN, __VA_ARGS__)
#define vs_info(...) vs_log(VS_LOG_INFO, __VA_ARGS__)
#define vs_dbg(...) vs_log(VS_LOG_DEBUG, __VA_ARGS__)

/* "error", "warn", "info", "debug" -> level; -EINVAL for anything else. */
int vs__log_level_parse(const char *name);
const char *vs__log_level_name(int level);
void vs__log_set_level(int level);
/* Where messages go; returns the previous fd. For tests and daemons. */
int vs__log_set_fd(int fd);
/* Applies VSTACK_LOG if it is set and valid; returns -EINVAL if invalid. */
int vs__log_init_from_env(void);

#endif
