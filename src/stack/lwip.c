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

/* vstack's lwIP library, embedded (lwip_blob.c). */
extern const unsigned char vs__lwip_lib[], vs__lwip_lib_end[];

/* A memfd holding the library's bytes; its fd or -errno. */
static int
memfd_of(const void *bytes, size_t len, const char *what, char *err,
	 size_t errlen)
{
	int out = memfd_create("vstack-lwip", MFD_CLOEXEC);
	size_t off = 0;

	while (out >= 0 && off < len) {
		ssize_t n = write(out, (const char *)bytes + off, len - off);

		if (n <= 0)
			break;
		off += (size_t)n;
	}
	if (out < 0 || off != len) {
		snprintf(err, errlen, "cannot copy %s into memory: %s", what,
			 strerror(errno));
		if (out >= 0)
			close(out);
		return -EIO;
	}
	return out;
}

/* A private copy of the library file at path, in a memfd. */
static int
copy_library(const char *path, char *err, size_t errlen)
{
	struct stat st;
	off_t off = 0;
	int in = open(path, O_RDONLY | O_CLOEXEC), out;

	if (in < 0 || fstat(in, &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
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

#define VS_LWIP_FN(f)                                                    \
	if (!(l->f = (__typeof__(f) *)dlsym(l->handle, #f)) && !missing) \
		missing = #f;
	VS_LWIP_FUNCS(VS_LWIP_FN)
#undef VS_LWIP_FN
#define VS_LWIP_VAR(v)                                                   \
	if (!(l->v = (__typeof__(v) *)dlsym(l->handle, #v)) && !missing) \
		missing = #v;
	VS_LWIP_VARS(VS_LWIP_VAR)
#undef VS_LWIP_VAR
	if (missing) {
		snprintf(err, errlen, "%s is missing: not vstack's lwIP",
			 missing);
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
	fd = path ? copy_library(path, err, errlen) :
		    memfd_of(vs__lwip_lib,
			     (size_t)(vs__lwip_lib_end - vs__lwip_lib), "lwIP",
			     err, errlen);
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
	l->ext_id = l->tcp_ext_arg_alloc_id();
	return 0;
}
