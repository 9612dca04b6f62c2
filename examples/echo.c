// SPDX-License-Identifier: MIT
/*
 * vs-echo - a TCP echo server on vstack's native API.
 *
 *   vs-echo [-t] [-c CONTEXTS] PORT
 *
 * Listens on PORT (IPv4 and IPv6) on every context; sends back what each
 * connection receives. The program's threads run the contexts, or with
 * -t vstack's own (VS_OPT_THREADS). Received chains are echoed from the
 * NIC's buffers and released once sent, so a slow reader slows its
 * writer down through TCP's window: nothing is buffered without bound.
 */
#include <sys/uio.h>

#include "common.h"

struct echo {
	struct vs_chain **q; /* received, not yet sent back (a ring) */
	unsigned head, n, cap;
	size_t off; /* sent of q[head] */
	bool fin; /* the peer closed: close once drained */
};

static void
pump(struct vs_conn *c)
{
	struct echo *e = vs_conn_user(c);

	while (e->n) {
		struct vs_chain *ch = e->q[e->head];
		struct iovec iov[16];
		int segs = vs_chain_iov(ch, iov, 16);
		size_t skip = e->off;

		for (int i = 0; i < segs && i < 16; i++) {
			ssize_t k;

			if (skip >= iov[i].iov_len) {
				skip -= iov[i].iov_len;
				continue;
			}
			k = vs_send(c, (char *)iov[i].iov_base + skip,
				    iov[i].iov_len - skip);
			if (k < 0) {
				vs_abort(c);
				return;
			}
			e->off += (size_t)k;
			if ((size_t)k < iov[i].iov_len - skip)
				return; /* `writable` resumes */
			skip = 0;
		}
		if (e->off < vs_chain_len(ch)) {
			/* More than 16 segments: copy the rest. */
			char buf[2048];
			size_t m = vs_chain_copy(ch, e->off, buf, sizeof(buf));
			ssize_t k = vs_send(c, buf, m);

			if (k > 0)
				e->off += (size_t)k;
			if (k <= 0 || (size_t)k < m)
				return;
			continue;
		}
		vs_chain_release(ch);
		e->head = (e->head + 1) % e->cap;
		e->n--;
		e->off = 0;
	}
	if (e->fin)
		vs_close(c);
}

static void
received(struct vs_conn *c, struct vs_chain *data)
{
	struct echo *e = vs_conn_user(c);

	if (!data) {
		e->fin = true;
	} else {
		if (e->n == e->cap) {
			unsigned cap = e->cap ? 2 * e->cap : 16;
			struct vs_chain **q = malloc(sizeof(*q) * cap);

			if (!q) {
				vs_chain_release(data);
				vs_abort(c);
				return;
			}
			for (unsigned i = 0; i < e->n; i++)
				q[i] = e->q[(e->head + i) % e->cap];
			free(e->q);
			e->q = q;
			e->head = 0;
			e->cap = cap;
		}
		e->q[(e->head + e->n++) % e->cap] = data;
	}
	pump(c);
}

static void
closed(struct vs_conn *c, int err)
{
	struct echo *e = vs_conn_user(c);

	(void)err;
	while (e->n) {
		vs_chain_release(e->q[e->head]);
		e->head = (e->head + 1) % e->cap;
		e->n--;
	}
	free(e->q);
	free(e);
}

static const struct vs_conn_ops conn_ops = {
	.received = received,
	.writable = pump,
	.closed = closed,
};

static const struct ex_server server = { &conn_ops, sizeof(struct echo) };

static int
setup(struct vs_ctx *c, void *port)
{
	return ex_listen(c, port, 128, &server);
}

int
main(int argc, char **argv)
{
	unsigned contexts = 0;
	const char *port = ex_args(
		argc, argv, "vs-echo [-t] [-c CONTEXTS] PORT", &contexts);

	return ex_run(contexts, setup, (void *)port);
}
