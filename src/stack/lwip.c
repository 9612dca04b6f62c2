// SPDX-License-Identifier: MIT
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stack/lwip.h"

#ifndef VS_LWIP_PATH
#define VS_LWIP_PATH "/usr/lib/x86_64-linux-gnu/liblwip.so.0"
#endif

/* A private copy of the library in a memfd; its fd or -errno. */
static int
copy_library(const char *path, char *err, size_t errlen)
{
	struct stat st;
	off_t off = 0;
	int in = open(path, O_RDONLY | O_CLOEXEC), out;

	if (in < 0 || fstat(in, &st) < 0) {
		snprintf(err, errlen, "%s: %s (Debian's package liblwip-dev "
				      "provides it; run scripts/setup)",
			 path, strerror(errno));
		if (in >= 0)
			close(in);
		return -ENOENT;
	}
	out = memfd_create("vstack-lwip", MFD_CLOEXEC);
	while (out >= 0 && off < st.st_size)
		if (sendfile(out, in, &off, (size_t)(st.st_size - off)) <= 0)
			break;
	close(in);
	if (out < 0 || off != st.st_size) {
		snprintf(err, errlen, "cannot copy %s into memory: %s", path,
			 strerror(errno));
		if (out >= 0)
			close(out);
		return -EIO;
	}
	return out;
}

static int
resolve(struct vs_lwip *l, char *err, size_t errlen)
{
	const char *missing = NULL;

#define VS_LWIP_FN(f)                                                      \
	if (!(l->f = (__typeof__(f) *)dlsym(l->handle, #f)) && !missing) \
		missing = #f;
	VS_LWIP_FUNCS(VS_LWIP_FN)
#undef VS_LWIP_FN
#define VS_LWIP_VAR(v)                                                     \
	if (!(l->v = (__typeof__(v) *)dlsym(l->handle, #v)) && !missing) \
		missing = #v;
	VS_LWIP_VARS(VS_LWIP_VAR)
#undef VS_LWIP_VAR
	if (missing) {
		snprintf(err, errlen, "liblwip lacks %s: not the lwIP 2.1 "
				      "vstack is built for", missing);
		return -ENOSYS;
	}
	return 0;
}

int
vs__lwip_load(struct vs_lwip *l, const char *path, char *err, size_t errlen)
{
	char self[64];
	int fd, rc;

	memset(l, 0, sizeof(*l));
	fd = copy_library(path ? path : VS_LWIP_PATH, err, errlen);
	if (fd < 0)
		return fd;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/*
	 * RTLD_LOCAL: nothing of this copy joins the global scope. glibc
	 * recognises a library by its path, so the memfd stays open: while
	 * it does, no later copy gets the same /proc/self/fd/N.
	 */
	l->handle = dlopen(self, RTLD_NOW | RTLD_LOCAL);
	if (!l->handle) {
		snprintf(err, errlen, "cannot load lwIP: %s", dlerror());
		close(fd);
		return -ENOEXEC;
	}
	l->memfd = fd;
	rc = resolve(l, err, errlen);
	if (rc) {
		/* Not lwIP, and nothing of it ran: it can go. */
		dlclose(l->handle);
		close(fd);
		memset(l, 0, sizeof(*l));
		return rc;
	}
	l->lwip_init();
	return 0;
}
