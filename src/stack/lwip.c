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

#include <elf.h>
#include <link.h>

#include "stack/csum.h"
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

/*
 * Points the copy's calls of its own function `name` at fn: lwIP calls
 * its exported functions through its PLT, so the copy's GOT slot for
 * `name` is what they jump through. The copy is bound at load
 * (BIND_NOW) and its GOT is read-only after that (RELRO): the page is
 * made writable for the store and read-only again. Only this copy
 * changes. Returns 0, or -ENOENT when the copy has no such slot.
 */
static int
redirect(struct vs_lwip *l, const char *name, void *fn)
{
	struct link_map *map;
	const ElfW(Rela) *rel = NULL;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	size_t relsz = 0;

	if (dlinfo(l->handle, RTLD_DI_LINKMAP, &map))
		return -ENOENT;
	for (const ElfW(Dyn) *d = map->l_ld; d->d_tag != DT_NULL; d++) {
		if (d->d_tag == DT_JMPREL)
			rel = (const void *)d->d_un.d_ptr;
		else if (d->d_tag == DT_PLTRELSZ)
			relsz = d->d_un.d_val;
		else if (d->d_tag == DT_SYMTAB)
			sym = (const void *)d->d_un.d_ptr;
		else if (d->d_tag == DT_STRTAB)
			str = (const void *)d->d_un.d_ptr;
	}
	if (!rel || !sym || !str)
		return -ENOENT;
	for (size_t i = 0; i < relsz / sizeof(*rel); i++) {
		const ElfW(Sym) *s = &sym[ELF64_R_SYM(rel[i].r_info)];
		void **slot;
		uintptr_t page;
		long psz = sysconf(_SC_PAGESIZE);

		if (ELF64_R_TYPE(rel[i].r_info) != R_X86_64_JUMP_SLOT ||
		    strcmp(str + s->st_name, name))
			continue;
		slot = (void **)(map->l_addr + rel[i].r_offset);
		page = (uintptr_t)slot & ~(uintptr_t)(psz - 1);
		if (mprotect((void *)page, (size_t)psz, PROT_READ | PROT_WRITE))
			return -errno;
		*slot = fn;
		mprotect((void *)page, (size_t)psz, PROT_READ);
		return 0;
	}
	return -ENOENT;
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
	/* lwIP's checksums, 64 bits at a time (src/stack/csum.h). */
	l->csum_fast = redirect(l, "lwip_standard_chksum", (void *)vs__csum) == 0;
	l->lwip_init();
	return 0;
}
