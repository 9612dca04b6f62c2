// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "base/log.h"

_Atomic int vs__log_level = VS_LOG_DEFAULT;
static _Atomic int log_fd = STDERR_FILENO;

static const char *const level_names[] = {
	[VS_LOG_ERROR] = "error",
	[VS_LOG_WARN] = "warn",
	[VS_LOG_INFO] = "info",
	[VS_LOG_DEBUG] = "debug",
};

int
vs__log_level_parse(const char *name)
{
	for (size_t i = 0; i < VS_ARRAY_SIZE(level_names); i++)
		if (strcasecmp(name, level_names[i]) == 0)
			return (int)i;
	return -EINVAL;
}

const char *
vs__log_level_name(int level)
{
	if (level < 0 || level >= (int)VS_ARRAY_SIZE(level_names))
		return "?";
	return level_names[level];
}

void
vs__log_set_level(int level)
{
	if (level < VS_LOG_ERROR)
		level = VS_LOG_ERROR;
	if (level > VS_LOG_DEBUG)
		level = VS_LOG_DEBUG;
	atomic_store(&vs__log_level, level);
}

int
vs__log_set_fd(int fd)
{
	return atomic_exchange(&log_fd, fd);
}

int
vs__log_init_from_env(void)
{
	/* Not from whoever started a setuid or setcap program. */
	const char *v = getauxval(AT_SECURE) ? NULL : getenv("VSTACK_LOG");
	int level;

	if (!v || !*v)
		return 0;
	level = vs__log_level_parse(v);
	if (level < 0)
		return level;
	vs__log_set_level(level);
	return 0;
}

/* Every program linking the logger follows VSTACK_LOG from the start; an
 * invalid value is reported by the configuration when it loads. */
__attribute__((constructor)) static void
log_from_env(void)
{
	vs__log_init_from_env();
}

void
vs__log_emit(int level, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n, m;

	n = snprintf(buf, sizeof(buf), "vstack[%d]: %s: ", (int)getpid(),
		     vs__log_level_name(level));
	va_start(ap, fmt);
	m = vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof(buf) - 2) {
		/* Truncated: say so rather than cut silently. */
		n = (int)sizeof(buf) - 5;
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '\n';
	/* One write so concurrent lines never interleave; a logger cannot
	 * report its own failure, so the result is deliberately ignored. */
	if (write(atomic_load(&log_fd), buf, (size_t)n) < 0)
		return;
}
