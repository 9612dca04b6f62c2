// SPDX-License-Identifier: MIT
/*
 * capture - vstackctl capture: the frames some engines receive and send,
 * through a tcpdump filter (libpcap's compiler), into a pcap file.
 *
 * Owns: each engine's tap (a ring the engine fills, netif.h), the
 * compiled filter and the pcap file. Runs on the control server's thread.
 *
 * Must never: make an engine wait (a full tap drops and counts); free a
 * tap an engine may still be writing (detached taps are freed only after
 * each engine ran a call from its ring, i.e. passed a point where it does
 * not hold the tap); make libvstack.so depend on libpcap (loaded on the
 * first capture: linked, it brought libdbus, libsystemd, libgcrypt and
 * six more into every preloaded program, whose constructors then ran
 * before anything of vstack's).
 */
#include <dlfcn.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "ctl/capture.h"

struct vs_capture {
	struct vs_engine *e[VS_MAX_ENGINES];
	struct vs_tap *tap[VS_MAX_ENGINES];
	unsigned n;
	pcap_t *dead;
	pcap_dumper_t *dump;
	struct bpf_program prog;
	bool have_prog;
	long count; /* frames to write; 0: until stopped */
	uint64_t written, seen;
};

/* The libpcap calls capture makes, from the library loaded at first use
 * (by the control server's thread only). */
static struct {
	bool loaded;
	pcap_t *(*open_dead)(int, int);
	int (*compile)(pcap_t *, struct bpf_program *, const char *, int,
		       bpf_u_int32);
	char *(*geterr)(pcap_t *);
	pcap_dumper_t *(*dump_open)(pcap_t *, const char *);
	void (*dump_close)(pcap_dumper_t *);
	void (*freecode)(struct bpf_program *);
	void (*close)(pcap_t *);
	int (*offline_filter)(const struct bpf_program *,
			      const struct pcap_pkthdr *, const u_char *);
	void (*dump)(u_char *, const struct pcap_pkthdr *, const u_char *);
	int (*dump_flush)(pcap_dumper_t *);
} pc;

static bool
pcap_load(char *err, size_t errlen)
{
	void *h;

	if (pc.loaded)
		return true;
	h = dlopen(VS_PCAP_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, errlen, "capture needs libpcap: %s", dlerror());
		return false;
	}
#define SYM(f) (*(void **)&pc.f = dlsym(h, "pcap_" #f))
	if (!SYM(open_dead) || !SYM(compile) || !SYM(geterr) ||
	    !SYM(dump_open) || !SYM(dump_close) || !SYM(freecode) ||
	    !SYM(close) || !SYM(offline_filter) || !SYM(dump) ||
	    !SYM(dump_flush)) {
		snprintf(err, errlen, "%s: a pcap_* call is missing",
			 VS_PCAP_SONAME);
		dlclose(h);
		return false;
	}
#undef SYM
	pc.loaded = true; /* for good: never unloaded */
	return true;
}

struct vs_capture *
vs__capture_new(struct vs_engine **es, unsigned n, const char *file,
		const char *filter, long count, char *err, size_t errlen)
{
	struct vs_capture *c;

	if (!pcap_load(err, errlen))
		return NULL;
	c = calloc(1, sizeof(*c));
	if (!c || n > VS_MAX_ENGINES) {
		snprintf(err, errlen, "out of memory");
		free(c);
		return NULL;
	}
	c->count = count;
	c->dead = pc.open_dead(DLT_EN10MB, VS_TAP_SNAP);
	if (!c->dead) {
		snprintf(err, errlen, "pcap_open_dead failed");
		goto fail;
	}
	if (filter && *filter) {
		if (pc.compile(c->dead, &c->prog, filter, 1,
			       PCAP_NETMASK_UNKNOWN)) {
			snprintf(err, errlen, "filter '%s': %s", filter,
				 pc.geterr(c->dead));
			goto fail;
		}
		c->have_prog = true;
	}
	c->dump = pc.dump_open(c->dead, file);
	if (!c->dump) {
		snprintf(err, errlen, "%s", pc.geterr(c->dead));
		goto fail;
	}
	for (unsigned i = 0; i < n; i++) {
		c->tap[i] = calloc(1, sizeof(*c->tap[i]));
		if (!c->tap[i]) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		c->e[i] = es[i];
		c->n = i + 1;
	}
	/* Taps on last: from here the engines copy. */
	for (unsigned i = 0; i < c->n; i++)
		vs__engine_set_tap(c->e[i], c->tap[i]);
	return c;
fail:
	for (unsigned i = 0; i < n; i++)
		free(c->tap[i]);
	if (c->dump)
		pc.dump_close(c->dump);
	if (c->have_prog)
		pc.freecode(&c->prog);
	if (c->dead)
		pc.close(c->dead);
	free(c);
	return NULL;
}

bool
vs__capture_drain(struct vs_capture *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		struct vs_tap *t = c->tap[i];
		uint64_t tail =
			atomic_load_explicit(&t->tail, memory_order_relaxed);
		uint64_t head =
			atomic_load_explicit(&t->head, memory_order_acquire);

		for (; tail != head; tail++) {
			const struct vs_tap_slot *sl =
				&t->slot[tail % VS_TAP_SLOTS];
			struct pcap_pkthdr h = {
				.ts = { (time_t)(sl->ns / 1000000000u),
					(suseconds_t)(sl->ns % 1000000000u /
						      1000) },
				.caplen = sl->caplen,
				.len = sl->len,
			};

			c->seen++;
			if (c->count && (long)c->written >= c->count)
				continue;
			if (c->have_prog &&
			    !pc.offline_filter(&c->prog, &h, sl->data))
				continue;
			pc.dump((u_char *)c->dump, &h, sl->data);
			c->written++;
		}
		atomic_store_explicit(&t->tail, tail, memory_order_release);
	}
	pc.dump_flush(c->dump);
	return c->count && (long)c->written >= c->count;
}

void
vs__capture_counts(const struct vs_capture *c, uint64_t *written,
		   uint64_t *seen, uint64_t *dropped)
{
	*written = c->written;
	*seen = c->seen;
	*dropped = 0;
	for (unsigned i = 0; i < c->n; i++)
		*dropped += atomic_load(&c->tap[i]->dropped);
}

static void
passed(void *arg)
{
	sem_post(arg);
}

void
vs__capture_free(struct vs_capture *c)
{
	for (unsigned i = 0; i < c->n; i++)
		vs__engine_set_tap(c->e[i], NULL);
	for (unsigned i = 0; i < c->n; i++) {
		sem_t *s = malloc(sizeof(*s));
		struct timespec until;
		int rc = -1;

		/* The engine is past any tap() once it runs a call. */
		if (s && !sem_init(s, 0, 0) &&
		    !vs__engine_call(c->e[i], passed, s)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += 1;
			do
				rc = sem_timedwait(s, &until);
			while (rc && errno == EINTR);
		}
		if (!rc) {
			free(c->tap[i]);
			sem_destroy(s);
			free(s);
		} else {
			/* Not provably idle: the tap and the call's semaphore
			 * stay allocated rather than risk a write into freed
			 * memory. */
			vs_warn("capture: engine %u did not answer; its tap is kept",
				vs__engine_queue(c->e[i]));
		}
	}
	pc.dump_close(c->dump);
	if (c->have_prog)
		pc.freecode(&c->prog);
	pc.close(c->dead);
	free(c);
}
