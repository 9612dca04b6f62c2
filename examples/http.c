// SPDX-License-Identifier: MIT
/*
 * vs-http - an HTTP/1.1 responder on vstack's native API, each context
 * driven by a libev loop (vstack_ev.h).
 *
 *   vs-http [-c CONTEXTS] [-s SIZE] PORT
 *
 * Answers GET and HEAD on any path with a body of SIZE bytes (default
 * 27): "abcdefghijklmnopqrstuvwxyz\n" repeated, what
 * `yes abcdefghijklmnopqrstuvwxyz | head -c SIZE` prints. Keep-alive and
 * pipelining: requests are answered in order, as they arrive; HTTP/1.0
 * and "Connection: close" close after the answer. Other methods get 405.
 * The body goes out with vs_send_zc from one registered buffer, never
 * copied into the stack.
 */
#include <ctype.h>
#include <errno.h>
#include <ev.h>

#include "common.h"
#include "vstack_ev.h"

#define IN_MAX 8192
#define PIECE 16384

static uint8_t *body;
static size_t body_len = 27;
static struct vs_mem *body_mem;
static pthread_mutex_t body_lock = PTHREAD_MUTEX_INITIALIZER;

struct job {
	char hdr[192];
	size_t hlen, hoff;
	size_t blen, boff; /* body to send */
	bool close_after;
};

struct conn {
	char in[IN_MAX];
	size_t inlen;
	struct job *jobs; /* a ring */
	unsigned head, n, cap;
	bool fin, closing;
};

struct per_ctx {
	struct ev_loop *loop;
	struct vs_ev ev;
	ev_async stop;
};

static struct per_ctx ctxs[64];

static bool
has_token(const char *req, size_t len, const char *name, const char *value)
{
	/* A header line "name: ... value ...", case-insensitive. */
	size_t nl = strlen(name), vl = strlen(value);

	for (size_t i = 0; i + nl < len; i++) {
		if ((i && req[i - 1] != '\n') ||
		    strncasecmp(req + i, name, nl) || req[i + nl] != ':')
			continue;
		for (size_t j = i + nl + 1; j + vl <= len && req[j] != '\r';
		     j++)
			if (!strncasecmp(req + j, value, vl))
				return true;
	}
	return false;
}

static struct job *
job_add(struct conn *k)
{
	if (k->n == k->cap) {
		unsigned cap = k->cap ? 2 * k->cap : 8;
		struct job *j = malloc(sizeof(*j) * cap);

		if (!j)
			return NULL;
		for (unsigned i = 0; i < k->n; i++)
			j[i] = k->jobs[(k->head + i) % k->cap];
		free(k->jobs);
		k->jobs = j;
		k->head = 0;
		k->cap = cap;
	}
	return &k->jobs[(k->head + k->n++) % k->cap];
}

/* One request (its header block, len bytes) becomes a job. */
static bool
request(struct conn *k, const char *req, size_t len)
{
	struct job *j = job_add(k);
	bool get = !strncmp(req, "GET ", 4), head = !strncmp(req, "HEAD ", 5);
	bool v10 = memmem(req, len, " HTTP/1.0\r", 10) != NULL;
	int status = get || head ? 200 : 405;

	if (!j)
		return false;
	j->close_after =
		has_token(req, len, "Connection", "close") ||
		(v10 && !has_token(req, len, "Connection", "keep-alive"));
	j->blen = status == 200 && get ? body_len : 0;
	j->boff = j->hoff = 0;
	j->hlen = (size_t)snprintf(
		j->hdr, sizeof(j->hdr),
		"HTTP/1.1 %d %s\r\nServer: vs-http\r\n"
		"Content-Type: text/plain\r\n"
		"Content-Length: %zu\r\n%s\r\n",
		status, status == 200 ? "OK" : "Method Not Allowed",
		status == 200 ? body_len : 0,
		j->close_after ? "Connection: close\r\n" : "");
	return true;
}

static void
pump(struct vs_conn *c)
{
	struct conn *k = vs_conn_user(c);

	while (k->n && !k->closing) {
		struct job *j = &k->jobs[k->head];

		if (j->hoff < j->hlen) {
			ssize_t n =
				vs_send(c, j->hdr + j->hoff, j->hlen - j->hoff);

			if (n < 0) {
				vs_abort(c);
				return;
			}
			j->hoff += (size_t)n;
			if (j->hoff < j->hlen)
				return; /* `writable` resumes */
		}
		while (j->boff < j->blen) {
			size_t n = j->blen - j->boff < PIECE ?
					   j->blen - j->boff :
					   PIECE;
			int rc = vs_send_zc(c, body + j->boff, n, NULL);

			if (rc == -EAGAIN)
				return;
			if (rc) {
				vs_abort(c);
				return;
			}
			j->boff += n;
		}
		k->head = (k->head + 1) % k->cap;
		k->n--;
		if (j->close_after)
			k->closing = true;
	}
	if (k->closing || (k->fin && !k->n)) {
		k->closing = true;
		vs_close(c);
	}
}

static void
received(struct vs_conn *c, struct vs_chain *data)
{
	struct conn *k = vs_conn_user(c);
	size_t len, off = 0;
	char *end;

	if (!data) {
		k->fin = true;
		pump(c);
		return;
	}
	len = vs_chain_len(data);
	while (off < len && !k->closing) {
		size_t got = vs_chain_copy(data, off, k->in + k->inlen,
					   IN_MAX - k->inlen);

		off += got;
		k->inlen += got;
		/* Every complete request, in order (pipelining). */
		while ((end = memmem(k->in, k->inlen, "\r\n\r\n", 4))) {
			size_t rl = (size_t)(end - k->in) + 4;

			if (!request(k, k->in, rl)) {
				vs_abort(c);
				vs_chain_release(data);
				return;
			}
			memmove(k->in, k->in + rl, k->inlen - rl);
			k->inlen -= rl;
		}
		if (k->inlen == IN_MAX) { /* a header block too large */
			vs_abort(c);
			vs_chain_release(data);
			return;
		}
	}
	vs_chain_release(data);
	pump(c);
}

static void
closed(struct vs_conn *c, int err)
{
	struct conn *k = vs_conn_user(c);

	(void)err;
	free(k->jobs);
	free(k);
}

static const struct vs_conn_ops conn_ops = {
	.received = received,
	.writable = pump,
	.closed = closed,
};

static const struct ex_server server = { &conn_ops, sizeof(struct conn) };

static void
on_stop(struct ev_loop *loop, ev_async *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

static int
setup(struct vs_ctx *c, void *arg)
{
	struct per_ctx *p = &ctxs[vs_ctx_index(c)];
	int rc = 0;

	pthread_mutex_lock(&body_lock);
	if (!body_mem)
		rc = vs_mem_register(vs_ctx_stack(c), body,
				     body_len ? body_len : 1, &body_mem);
	pthread_mutex_unlock(&body_lock);
	if (rc)
		return rc;
	p->loop = ev_loop_new(EVFLAG_AUTO);
	if (!p->loop)
		return -ENOMEM;
	ev_async_init(&p->stop, on_stop);
	ev_async_start(p->loop, &p->stop);
	vs_ev_start(p->loop, &p->ev, c);
	rc = ex_listen(c, arg, 512, &server);
	return rc;
}

static void
loop(struct vs_ctx *c, void *arg)
{
	(void)arg;
	ev_run(ctxs[vs_ctx_index(c)].loop, 0);
}

static void
stop(struct vs_ctx *c, void *arg)
{
	struct per_ctx *p = &ctxs[vs_ctx_index(c)];

	(void)arg;
	ev_async_send(p->loop, &p->stop);
}

int
main(int argc, char **argv)
{
	static const char usage[] = "vs-http [-c CONTEXTS] [-s SIZE] PORT";
	static const char abc[] = "abcdefghijklmnopqrstuvwxyz\n";
	unsigned contexts = 0;
	const char *port = NULL;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			printf("usage: %s\n", usage);
			return 0;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			contexts = (unsigned)atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-s") && i + 1 < argc) {
			body_len = (size_t)strtoull(argv[++i], NULL, 10);
		} else if (!port && argv[i][0] != '-') {
			port = argv[i];
		} else {
			port = NULL;
			break;
		}
	}
	if (!port || contexts > 64) {
		fprintf(stderr, "usage: %s\n", usage);
		return 2;
	}
	body = malloc(body_len ? body_len : 1);
	if (!body)
		return 1;
	for (size_t i = 0; i < body_len; i++)
		body[i] = (uint8_t)abc[i % 27];
	return ex_run_with(contexts, setup, loop, stop, (void *)port);
}
