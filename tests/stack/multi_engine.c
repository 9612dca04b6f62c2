// SPDX-License-Identifier: MIT
/*
 * multi_engine DEV N OUT - two engines, one per queue of DEV, on their
 * own threads:
 *  - one echo listener on port 7100 (IPv4 and IPv6) shared by both,
 *    spread by one RSS rule; the script's kernel clients open N
 *    connections, and each engine must serve some of them;
 *  - then each engine connects OUT times to the kernel echo server at
 *    10.77.1.2:8000 and [fd77:1::2]:8000 (half each) from ports whose RSS
 *    hash lands on its own queue: a connection that landed elsewhere
 *    would be reset by the other engine's lwIP, so every exchange being
 *    right shows the choice is right.
 * Prints the counters; exits 0 when all of it held (within 120 s).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/tcp.h"

#define NE 2

static struct vs_engine es[NE];
static _Atomic int listening, served[NE], out_ok[NE], out_done, failures;
static int out_per_engine;

static const char hello[] = "vstack engine says hello\n";

struct client {
	struct vs_engine *e;
	char got[64];
	size_t n;
};

/* --- the shared echo server; user: the engine --- */

static void
srv_received(struct vs_tcp *c, struct pbuf *p)
{
	struct vs_engine *e = vs__tcp_user(c);

	if (!p) {
		vs__tcp_close(c);
		served[e - es]++;
		return;
	}
	for (struct pbuf *q = p; q; q = q->next)
		if (vs__tcp_send(c, q->payload, q->len) != q->len)
			failures++;
	vs__tcp_consumed(c, p->tot_len);
	e->lw.pbuf_free(p);
}

static const struct vs_tcp_ops srv_conn = { .received = srv_received };

static void
srv_accepted(struct vs_tcp *l, struct vs_tcp *c)
{
	vs__tcp_set_ops(c, &srv_conn, vs__tcp_user(l));
}

static const struct vs_tcp_ops srv_listen = { .accepted = srv_accepted };

/* The listeners' shared rules (made before the engines listen). */
static struct vs_tcp_rule *r4, *r6;

static void
listen_call(void *arg)
{
	struct vs_engine *e = arg;
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(7100) };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(7100) };
	struct vs_tcp *l4, *l6;

	if (vs__tcp_listen(e, (struct sockaddr *)&any, 64, VS_TCP_SHARED,
			   &srv_listen, e, &l4) ||
	    vs__tcp_listen(e, (struct sockaddr *)&any6, 64, VS_TCP_SHARED,
			   &srv_listen, e, &l6)) {
		failures++;
	} else {
		vs__tcp_listen_rule(l4, r4);
		vs__tcp_listen_rule(l6, r6);
	}
	listening++;
}

/* --- the outbound clients; user: struct client --- */

static void
cli_connected(struct vs_tcp *c, int err)
{
	if (err || vs__tcp_send(c, hello, sizeof(hello) - 1) !=
			   (ssize_t)(sizeof(hello) - 1))
		failures++;
}

static void
cli_received(struct vs_tcp *c, struct pbuf *p)
{
	struct client *cl = vs__tcp_user(c);
	struct vs_tcp_info in;

	if (!p) {
		failures++;
		vs__tcp_close(c);
		return;
	}
	cl->n += cl->e->lw.pbuf_copy_partial(
		p, cl->got + cl->n, (u16_t)(sizeof(cl->got) - 1 - cl->n), 0);
	vs__tcp_consumed(c, p->tot_len);
	cl->e->lw.pbuf_free(p);
	if (cl->n < sizeof(hello) - 1)
		return;
	vs__tcp_info(c, &in);
	if (memcmp(cl->got, hello, cl->n) || in.queue != cl->e->q ||
	    !in.rss_port || in.rx_bytes != cl->n || in.tx_bytes != cl->n)
		failures++;
	else
		out_ok[cl->e - es]++;
	vs__tcp_close(c);
}

static void
cli_closed(struct vs_tcp *c, int err)
{
	(void)c;
	if (err)
		failures++;
	out_done++;
}

static const struct vs_tcp_ops cli_ops = { .connected = cli_connected,
					   .received = cli_received,
					   .closed = cli_closed };

static void
connect_call(void *arg)
{
	struct vs_engine *e = arg;
	struct sockaddr_in k4 = { .sin_family = AF_INET,
				  .sin_port = htons(8000) };
	struct sockaddr_in6 k6 = { .sin6_family = AF_INET6,
				   .sin6_port = htons(8000) };

	inet_pton(AF_INET, "10.77.1.2", &k4.sin_addr);
	inet_pton(AF_INET6, "fd77:1::2", &k6.sin6_addr);
	for (int i = 0; i < out_per_engine; i++) {
		struct client *cl = calloc(1, sizeof(*cl));
		struct vs_tcp *c;

		cl->e = e;
		if (vs__tcp_connect(e,
				    i % 2 ? (struct sockaddr *)&k6 :
					    (struct sockaddr *)&k4,
				    &cli_ops, cl, &c))
			failures++;
	}
}

static int
wait_until(_Atomic int *v, int n, time_t end)
{
	while (*v < n && !failures && time(NULL) < end)
		usleep(10000);
	return *v >= n && !failures;
}

int
main(int argc, char **argv)
{
	struct vs_port_opts o = { .sz = sizeof(o),
				  .nqueues = NE,
				  .buf_size = 2048,
				  .nbufs = 8192,
				  .rx_depth = 256,
				  .tx_depth = 256,
				  .hugepages = true };
	struct sockaddr_in any = { .sin_family = AF_INET,
				   .sin_port = htons(7100) };
	struct sockaddr_in6 any6 = { .sin6_family = AF_INET6,
				     .sin6_port = htons(7100) };
	time_t end = time(NULL) + 120;
	char err[256] = "";
	struct vs_port *port;
	int n, ok;

	if (argc != 4)
		return 2;
	o.device = argv[1];
	n = atoi(argv[2]);
	out_per_engine = atoi(argv[3]);
	port = vs__port_open(&o, err, sizeof(err));
	if (!port)
		return fprintf(stderr, "multi_engine: %s\n", err), 1;
	r4 = vs__tcp_rule_new(port);
	r6 = vs__tcp_rule_new(port);
	for (unsigned i = 0; i < NE; i++)
		if (vs__engine_open(&es[i], port, i, 50, -1, err,
				    sizeof(err)) ||
		    vs__engine_start(&es[i]) ||
		    vs__engine_call(&es[i], listen_call, &es[i]))
			return fprintf(stderr, "multi_engine: %s\n", err), 1;
	/* Every engine listens before the rule brings the first SYN. */
	if (!wait_until(&listening, NE, end) || !r4 || !r6 ||
	    vs__tcp_listen_steer(r4, (struct sockaddr *)&any) ||
	    vs__tcp_listen_steer(r6, (struct sockaddr *)&any6))
		return fprintf(stderr, "multi_engine: cannot listen\n"), 1;
	printf("ready\n");
	fflush(stdout);
	ok = 1;
	while (served[0] + served[1] < n && !failures && time(NULL) < end)
		usleep(10000);
	printf("served %d + %d of %d\n", served[0], served[1], n);
	for (unsigned i = 0; i < NE; i++)
		if (vs__engine_call(&es[i], connect_call, &es[i]))
			failures++;
	wait_until(&out_done, NE * out_per_engine, end);
	usleep(300000);
	for (unsigned i = 0; i < NE; i++) {
		const struct vs_engine_stats *st = &es[i].st;

		printf("engine %u: accepted %llu, outbound %d right of %llu "
		       "(%llu on RSS ports, %llu 5-tuple rules), rx %llu tx %llu "
		       "bytes\n",
		       i, (unsigned long long)st->tcp_accepted, out_ok[i],
		       (unsigned long long)st->tcp_connects,
		       (unsigned long long)st->tcp_rss_ports,
		       (unsigned long long)st->tcp_tuple_rules,
		       (unsigned long long)st->tcp_rx_bytes,
		       (unsigned long long)st->tcp_tx_bytes);
		if (!served[i] || out_ok[i] != out_per_engine ||
		    st->tcp_rss_ports != (uint64_t)out_per_engine)
			ok = 0;
	}
	if (served[0] + served[1] != n || failures)
		ok = 0;
	printf("%d failures\n", failures);
	vs__tcp_rule_put(r4);
	vs__tcp_rule_put(r6);
	for (unsigned i = 0; i < NE; i++)
		vs__engine_close(&es[i]);
	vs__port_close(port);
	return ok ? 0 : 1;
}
