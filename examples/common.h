/* SPDX-License-Identifier: MIT */
/*
 * common.h - what every example needs beside its own logic: options,
 * addresses, and one thread per context running vs_ctx_loop until
 * SIGINT or SIGTERM.
 *
 * Each example is one C file and this header; only vstack.h is used of
 * vstack.
 */
#ifndef VS_EXAMPLES_COMMON_H
#define VS_EXAMPLES_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vstack.h"

/* addr "host:port", "[v6]:port" or ":port"/"port" (every address). */
static inline int
ex_addr(const char *s, int family, struct sockaddr_storage *ss)
{
	char host[64] = "";
	const char *colon = strrchr(s, ':');
	long port;

	memset(ss, 0, sizeof(*ss));
	if (colon) {
		size_t n = (size_t)(colon - s);

		if (n >= sizeof(host))
			return -1;
		memcpy(host, s, n);
		s = colon + 1;
	}
	port = strtol(s, NULL, 10);
	if (port <= 0 || port > 65535)
		return -1;
	if (host[0] == '[') {
		memmove(host, host + 1, strlen(host));
		host[strcspn(host, "]")] = 0;
	}
	if ((host[0] && strchr(host, ':')) ||
	    (!host[0] && family == AF_INET6)) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		return host[0] && inet_pton(AF_INET6, host, &a->sin6_addr) !=
					       1 ?
			       -1 :
			       0;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)port);
	return host[0] && inet_pton(AF_INET, host, &a->sin_addr) != 1 ? -1 : 0;
}

/* A server's connections: their callbacks and the size of the state
 * each gets (zeroed, its user data; the callbacks free it at `closed`). */
struct ex_server {
	const struct vs_conn_ops *ops;
	size_t state;
};

static void
ex_accepted(struct vs_conn *l, struct vs_conn *c)
{
	const struct ex_server *srv = vs_conn_user(l);
	void *k = calloc(1, srv->state);

	if (!k) {
		vs_abort(c);
		return;
	}
	vs_conn_set_ops(c, srv->ops, k);
}

/* Listens on port (IPv4 and IPv6), shared by every context. */
static inline int
ex_listen(struct vs_ctx *c, const char *port, int backlog,
	  const struct ex_server *srv)
{
	static const struct vs_conn_ops ops = { .accepted = ex_accepted };
	struct sockaddr_storage a4, a6;
	struct vs_conn *l;
	int rc;

	if (ex_addr(port, AF_INET, &a4) || ex_addr(port, AF_INET6, &a6))
		return -EINVAL;
	rc = vs_listen(c, (struct sockaddr *)&a4, backlog, VS_LISTEN_SHARED,
		       &ops, (void *)srv, &l);
	if (!rc)
		rc = vs_listen(c, (struct sockaddr *)&a6, backlog,
			       VS_LISTEN_SHARED, &ops, (void *)srv, &l);
	return rc;
}

/* -t: vstack's threads run the contexts (VS_OPT_THREADS); the setups
 * are handed to them with vs_ctx_call. */
static bool ex_threads;

struct ex_run {
	struct vs_stack *st;
	int (*setup)(struct vs_ctx *c, void *arg);
	/* The context's loop and how to end it from another thread
	 * (NULL: vs_ctx_loop and vs_ctx_stop). */
	void (*loop)(struct vs_ctx *c, void *arg);
	void (*stop)(struct vs_ctx *c, void *arg);
	void *arg;
	pthread_barrier_t ready;
	sem_t done; /* -t: setups run */
	int failed;
};

struct ex_thread {
	struct ex_run *r;
	struct vs_ctx *c;
};

static void
ex_setup(struct ex_thread *t)
{
	int rc = t->r->setup(t->c, t->r->arg);

	if (rc) {
		fprintf(stderr, "context %u: %s\n", vs_ctx_index(t->c),
			strerror(-rc));
		t->r->failed = 1;
	}
}

static void *
ex_thread_main(void *p)
{
	struct ex_thread *t = p;

	ex_setup(t);
	pthread_barrier_wait(&t->r->ready);
	if (t->r->failed)
		return NULL;
	if (t->r->loop)
		t->r->loop(t->c, t->r->arg);
	else
		vs_ctx_loop(t->c);
	return NULL;
}

/* -t: a setup run by vstack's thread of the context. */
static void
ex_setup_call(void *p)
{
	struct ex_thread *t = p;

	ex_setup(t);
	sem_post(&t->r->done);
}

/*
 * Opens vstack with `contexts` contexts (0: the configuration's), calls
 * setup(ctx, arg) on each context's own thread, prints "ready", and runs
 * the contexts (loop, or vs_ctx_loop) until SIGINT or SIGTERM (then stop,
 * or vs_ctx_stop). With -t (ex_threads, no loop of the caller's),
 * vstack's own threads run the contexts. Returns the exit status.
 */
static inline int
ex_run_with(unsigned contexts, int (*setup)(struct vs_ctx *, void *),
	    void (*loop)(struct vs_ctx *, void *),
	    void (*stop)(struct vs_ctx *, void *), void *arg)
{
	struct vs_options o = { .size = sizeof(o), .contexts = contexts };
	struct ex_run r = {
		.setup = setup, .loop = loop, .stop = stop, .arg = arg
	};
	struct ex_thread *t;
	pthread_t *th;
	sigset_t sigs;
	unsigned n;
	int sig, rc;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL); /* the threads inherit it */
	if (ex_threads && !loop)
		o.flags = VS_OPT_THREADS;
	rc = vs_init(&o, &r.st);
	if (rc) {
		fprintf(stderr, "vs_init: %s\n", strerror(-rc));
		return 1;
	}
	n = vs_contexts(r.st);
	t = calloc(n, sizeof(*t));
	th = calloc(n, sizeof(*th));
	if (!t || !th)
		return 1;
	if (o.flags & VS_OPT_THREADS) {
		sem_init(&r.done, 0, 0);
		for (unsigned i = 0; i < n; i++) {
			t[i] = (struct ex_thread){ &r, vs_context(r.st, i) };
			if (vs_ctx_call(t[i].c, ex_setup_call, &t[i]))
				return 1;
		}
		for (unsigned i = 0; i < n; i++)
			sem_wait(&r.done);
		if (!r.failed) {
			printf("ready: %u contexts on vstack's threads\n", n);
			fflush(stdout);
			sigwait(&sigs, &sig);
		}
		vs_fini(r.st); /* stops and joins vstack's threads */
		free(t);
		free(th);
		return r.failed;
	}
	pthread_barrier_init(&r.ready, NULL, n + 1);
	for (unsigned i = 0; i < n; i++) {
		t[i] = (struct ex_thread){ &r, vs_context(r.st, i) };
		pthread_create(&th[i], NULL, ex_thread_main, &t[i]);
	}
	pthread_barrier_wait(&r.ready);
	if (!r.failed) {
		printf("ready: %u contexts\n", n);
		fflush(stdout);
		sigwait(&sigs, &sig);
	}
	for (unsigned i = 0; i < n; i++) {
		if (stop && !r.failed)
			stop(vs_context(r.st, i), arg);
		else
			vs_ctx_stop(vs_context(r.st, i));
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	vs_fini(r.st);
	free(t);
	free(th);
	return r.failed;
}

static inline int
ex_run(unsigned contexts, int (*setup)(struct vs_ctx *, void *), void *arg)
{
	return ex_run_with(contexts, setup, NULL, NULL, arg);
}

/* [-t] [-c CONTEXTS] and one operand, or the usage; returns the operand. */
static inline const char *
ex_args(int argc, char **argv, const char *usage, unsigned *contexts)
{
	const char *operand = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s\n", usage);
			exit(0);
		} else if (!strcmp(argv[i], "-t")) {
			ex_threads = true;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			*contexts = (unsigned)atoi(argv[++i]);
		} else if (argv[i][0] != '-' && !operand) {
			operand = argv[i];
		} else {
			operand = NULL;
			break;
		}
	}
	if (operand)
		return operand;
	fprintf(stderr, "usage: %s\n", usage);
	exit(2);
}

#endif
