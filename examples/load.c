// SPDX-License-Identifier: MIT
/*
 * vs-load - a closed-loop load generator on vstack's native API, for echo
 * and HTTP servers.
 *
 *   vs-load [-c CONTEXTS] [-n CONNS] [-d SECS] [-m echo|http] [-s SIZE]
 *           [-p PATH] ADDR:PORT
 *
 * Each context opens CONNS connections (default 4); each sends a request,
 * waits for the whole answer, records the time it took, and sends the
 * next, for SECS seconds (default 5). echo: SIZE bytes (default 64) that
 * must come back identical. http: GET PATH (default /), HTTP/1.1
 * keep-alive; the answer must be 200 with a Content-Length body.
 * Prints requests, errors, requests/s and latency percentiles; exits 1 if
 * any request failed or none completed.
 */
#include <signal.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define HIST_US 200000 /* latencies counted per microsecond up to 200 ms */

static struct sockaddr_storage target;
static bool http_mode;
static unsigned conns = 4, secs = 5, contexts;
static size_t size = 64;
static const char *path = "/";
static char *req;
static size_t req_len;
static _Atomic unsigned finished;

struct stats {
	uint64_t requests, errors, over; /* over: beyond the histogram */
	uint32_t *hist;
	bool done;
	unsigned open; /* connections not closed yet */
};

static struct stats st[64];

struct cl {
	struct stats *s;
	uint64_t t0;
	size_t got,
		want; /* bytes of the answer: received, expected (0: unknown) */
	char hdr[1024];
	size_t hlen;
	bool bad;
	bool server_closes; /* the answer said "Connection: close" */
	bool reconnect; /* closing to open a new connection */
};

static uint64_t
now_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

static void
ctx_end(struct stats *s)
{
	if (--s->open == 0 && atomic_fetch_add(&finished, 1) + 1 == contexts)
		kill(getpid(), SIGTERM); /* the runner's way to stop */
}

static void
send_request(struct vs_conn *c)
{
	struct cl *k = vs_conn_user(c);

	if (k->s->done) {
		vs_close(c);
		return;
	}
	k->got = k->want = k->hlen = 0;
	k->t0 = now_us();
	if (vs_send(c, req, req_len) != (ssize_t)req_len) {
		k->s->errors++; /* a request larger than the send queue */
		vs_abort(c);
	}
}

static void
answered(struct vs_conn *c)
{
	struct cl *k = vs_conn_user(c);
	uint64_t us = now_us() - k->t0;

	k->s->requests++;
	if (us < HIST_US)
		k->s->hist[us]++;
	else
		k->s->over++;
	if (k->server_closes) { /* as announced: a new connection */
		k->reconnect = true;
		vs_close(c);
		return;
	}
	send_request(c);
}

/* http: the header block so far; sets want once it is complete. */
static bool
http_header(struct cl *k)
{
	char *end = memmem(k->hdr, k->hlen, "\r\n\r\n", 4), *cl;

	if (!end)
		return k->hlen < sizeof(k->hdr);
	*end = 0;
	cl = strcasestr(k->hdr, "\r\nContent-Length:");
	if (strncmp(k->hdr, "HTTP/1.1 200", 12) || !cl)
		return false;
	k->want = (size_t)(end + 4 - k->hdr) + strtoull(cl + 17, NULL, 10);
	k->server_closes = strcasestr(k->hdr, "\r\nConnection: close") != NULL;
	return true;
}

static void
received(struct vs_conn *c, struct vs_chain *data)
{
	struct cl *k = vs_conn_user(c);
	size_t n;

	if (!data) {
		if (!k->reconnect) { /* the server closed unannounced */
			k->s->errors++;
			k->reconnect = true;
		}
		vs_close(c);
		return;
	}
	n = vs_chain_len(data);
	if (http_mode && !k->want) {
		size_t m = vs_chain_copy(data, 0, k->hdr + k->hlen,
					 sizeof(k->hdr) - k->hlen);

		k->hlen += m;
		if (!http_header(k))
			k->bad = true;
	} else if (!http_mode) {
		char buf[2048];

		for (size_t off = 0, m;
		     (m = vs_chain_copy(data, off, buf, sizeof(buf))); off += m)
			if (memcmp(buf, req + k->got + off, m))
				k->bad = true;
		k->want = req_len;
	}
	k->got += n;
	vs_chain_release(data);
	if (k->bad || (k->want && k->got > k->want)) {
		k->s->errors++;
		vs_abort(c);
	} else if (k->want && k->got == k->want) {
		answered(c);
	}
}

static void
connected(struct vs_conn *c, int err)
{
	struct cl *k = vs_conn_user(c);

	if (err) {
		k->s->errors++;
		ctx_end(k->s);
		free(k);
		return;
	}
	send_request(c);
}

static const struct vs_conn_ops ops;

static void
closed(struct vs_conn *c, int err)
{
	struct cl *k = vs_conn_user(c);
	struct vs_conn *next;

	if (err && err != -ECONNABORTED)
		k->s->errors++;
	if (k->reconnect && !k->s->done) {
		struct stats *s = k->s;

		memset(k, 0, sizeof(*k));
		k->s = s;
		if (!vs_connect(vs_conn_ctx(c), (struct sockaddr *)&target,
				&ops, k, &next))
			return;
		s->errors++;
	}
	ctx_end(k->s);
	free(k);
}

static const struct vs_conn_ops ops = {
	.connected = connected,
	.received = received,
	.closed = closed,
};

static void
time_up(struct vs_ctx *c, void *arg)
{
	(void)c;
	((struct stats *)arg)->done = true;
}

static int
setup(struct vs_ctx *c, void *arg)
{
	struct stats *s = &st[vs_ctx_index(c)];

	(void)arg;
	s->hist = calloc(HIST_US, sizeof(*s->hist));
	if (!s->hist)
		return -ENOMEM;
	s->open = conns;
	for (unsigned i = 0; i < conns; i++) {
		struct cl *k = calloc(1, sizeof(*k));
		struct vs_conn *conn;
		int rc;

		if (!k)
			return -ENOMEM;
		k->s = s;
		rc = vs_connect(c, (struct sockaddr *)&target, &ops, k, &conn);
		if (rc) {
			free(k);
			return rc;
		}
	}
	return vs_timer(c, secs * 1000, time_up, s);
}

static uint64_t
percentile(const uint32_t *h, uint64_t total, double p)
{
	uint64_t want = (uint64_t)((double)total * p), seen = 0;

	for (uint64_t us = 0; us < HIST_US; us++) {
		seen += h[us];
		if (seen > want)
			return us;
	}
	return HIST_US;
}

int
main(int argc, char **argv)
{
	static const char usage[] =
		"vs-load [-c CONTEXTS] [-n CONNS] [-d SECS] [-m echo|http] "
		"[-s SIZE] [-p PATH] ADDR:PORT";
	const char *where = NULL;
	uint32_t *all;
	uint64_t reqs = 0, errs = 0, over = 0;
	int rc;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("usage: %s\n", usage);
			return 0;
		} else if (v && !strcmp(a, "-c")) {
			contexts = (unsigned)atoi(v), i++;
		} else if (v && !strcmp(a, "-n")) {
			conns = (unsigned)atoi(v), i++;
		} else if (v && !strcmp(a, "-d")) {
			secs = (unsigned)atoi(v), i++;
		} else if (v && !strcmp(a, "-m")) {
			http_mode = !strcmp(v, "http"), i++;
			if (!http_mode && strcmp(v, "echo"))
				where = NULL, i = argc;
		} else if (v && !strcmp(a, "-s")) {
			size = (size_t)strtoull(v, NULL, 10), i++;
		} else if (v && !strcmp(a, "-p")) {
			path = v, i++;
		} else if (a[0] != '-' && !where) {
			where = a;
		} else {
			where = NULL;
			break;
		}
	}
	if (!where || !conns || !secs || !size || size > 65535 ||
	    contexts > 64 || ex_addr(where, AF_INET, &target)) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	if (http_mode) {
		req = malloc(strlen(path) + 64);
		if (!req)
			return 1;
		req_len = (size_t)sprintf(
			req, "GET %s HTTP/1.1\r\nHost: vs-load\r\n\r\n", path);
	} else {
		req = malloc(size);
		if (!req)
			return 1;
		for (size_t i = 0; i < size; i++)
			req[i] = (char)('a' + i % 26);
		req_len = size;
	}
	if (!contexts)
		contexts = 1;
	rc = ex_run(contexts, setup, NULL);
	all = calloc(HIST_US, sizeof(*all));
	if (!all)
		return 1;
	for (unsigned i = 0; i < contexts; i++) {
		reqs += st[i].requests;
		errs += st[i].errors;
		over += st[i].over;
		for (unsigned us = 0; st[i].hist && us < HIST_US; us++)
			all[us] += st[i].hist[us];
	}
	printf("vs-load: %s %s, %u contexts x %u connections, %u s\n",
	       http_mode ? "http" : "echo", where, contexts, conns, secs);
	printf("requests %lu errors %lu requests/s %.1f p50 %lu us p99 %lu us "
	       "p99.9 %lu us (%lu over 200 ms)\n",
	       (unsigned long)reqs, (unsigned long)errs, (double)reqs / secs,
	       (unsigned long)percentile(all, reqs, 0.5),
	       (unsigned long)percentile(all, reqs, 0.99),
	       (unsigned long)percentile(all, reqs, 0.999),
	       (unsigned long)over);
	return rc || errs || !reqs;
}
