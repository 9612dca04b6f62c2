// SPDX-License-Identifier: MIT
/*
 * million PORT N - a native-API echo server for stack.million and
 * bench/million.sh: one context listens on PORT and sends back what each
 * connection receives. It keeps nothing of its own per connection, so
 * what the heap grows by is vstack's and lwIP's alone.
 *
 * Every other connection has keepalive on (300 s idle).
 * Prints "ready, pid P" once listening; "million: established N" when N
 * connections have each had an echo; on SIGUSR1 "million: heap B
 * bytes/conn" (glibc's mallinfo2, against before the listener, over the
 * connections open: send it once they are idle, their echoes
 * acknowledged); "million: closed N"
 * when the peers have closed them all, and exits 0. Exits 1 after 600 s
 * or on SIGTERM before that.
 *
 * million PORT N ADDR:PEERPORT K - also, on each SIGUSR2, opens K
 * connections to ADDR:PEERPORT (an IPv4 echo server) and resets each
 * once connected; prints "million: K connects, C us in vs_connect, all
 * connected in T ms" (C: the time spent in the calls, where a cost
 * that grew with the connections held would show).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vstack.h"

static unsigned want, echoed, closed_n, failed;
static size_t heap0;

static size_t
heap(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static void
received(struct vs_conn *c, struct vs_chain *data)
{
	char buf[256];
	size_t n;

	if (!data) {
		vs_close(c);
		return;
	}
	n = vs_chain_copy(data, 0, buf, sizeof(buf));
	vs_chain_release(data);
	if (vs_send(c, buf, n) != (ssize_t)n) {
		failed++;
		vs_abort(c);
		return;
	}
	if (++echoed == want) {
		printf("million: established %u\n", want);
		fflush(stdout);
	}
}

static void
closed(struct vs_conn *c, int err)
{
	(void)c;
	if (err)
		failed++;
	closed_n++;
}

static const struct vs_conn_ops conn_ops = { .received = received,
					     .closed = closed };

static void
accepted(struct vs_conn *l, struct vs_conn *c)
{
	static unsigned n;

	(void)l;
	vs_conn_set_ops(c, &conn_ops, NULL);
	/* Every other one with keepalive, as redis has on every client:
	 * idle, they must cost the engine no tick either. */
	if (n++ % 2)
		vs_keepalive(c, true, 300, 0, 0);
}

static const struct vs_conn_ops listen_ops = { .accepted = accepted };

/* The outbound round (SIGUSR2). */
static struct sockaddr_in peer = { .sin_family = AF_INET };
static unsigned out_k, out_left;
static struct timespec out_t0;
static long out_call_us;

static long
us_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000000L +
	       (t.tv_nsec - t0->tv_nsec) / 1000;
}

static void
out_done(void)
{
	if (--out_left == 0) {
		printf("million: %u connects, %ld us in vs_connect, all "
		       "connected in %ld ms, %u failed\n",
		       out_k, out_call_us, us_since(&out_t0) / 1000, failed);
		fflush(stdout);
	}
}

static void
out_connected(struct vs_conn *c, int err)
{
	/* A reset: no TIME_WAIT, whose flow rules would stay a minute. */
	if (err)
		failed++;
	else
		vs_abort(c);
	out_done();
}

static void
out_received(struct vs_conn *c, struct vs_chain *data)
{
	(void)c;
	if (data)
		vs_chain_release(data);
}

static void
out_closed(struct vs_conn *c, int err)
{
	(void)c;
	(void)err;
}

static const struct vs_conn_ops out_ops = { .connected = out_connected,
					    .received = out_received,
					    .closed = out_closed };

static void
out_round(struct vs_ctx *c)
{
	struct vs_conn *k;

	out_left = out_k;
	clock_gettime(CLOCK_MONOTONIC, &out_t0);
	for (unsigned i = 0; i < out_k; i++) {
		int rc = vs_connect(c, (struct sockaddr *)&peer, &out_ops, NULL,
				    &k);

		if (rc) {
			fprintf(stderr, "million: vs_connect: %s\n",
				strerror(-rc));
			failed++;
			out_left--;
		}
	}
	out_call_us = us_since(&out_t0);
	if (out_left == 0) {
		out_left = 1;
		out_done();
	}
}

int
main(int argc, char **argv)
{
	struct vs_options o = { .size = sizeof(o), .contexts = 1 };
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct vs_stack *st;
	struct vs_conn *l;
	struct vs_ctx *c;
	sigset_t sigs;
	time_t end = time(NULL) + 600;
	int rc;

	if ((argc != 3 && argc != 5) || (want = (unsigned)atoi(argv[2])) == 0) {
		fprintf(stderr, "usage: million PORT N [ADDR:PEERPORT K]\n");
		return 2;
	}
	if (argc == 5) {
		char *colon = strchr(argv[3], ':');

		if (!colon ||
		    (*colon = 0,
		     inet_pton(AF_INET, argv[3], &peer.sin_addr) != 1) ||
		    (out_k = (unsigned)atoi(argv[4])) == 0) {
			fprintf(stderr, "million: bad ADDR:PEERPORT K\n");
			return 2;
		}
		peer.sin_port = htons((uint16_t)atoi(colon + 1));
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGUSR2);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	rc = vs_init(&o, &st);
	if (rc) {
		fprintf(stderr, "vs_init: %s\n", strerror(-rc));
		return 1;
	}
	c = vs_context(st, 0);
	heap0 = heap();
	rc = vs_listen(c, (struct sockaddr *)&a, 65535, 0, &listen_ops, NULL,
		       &l);
	if (rc) {
		fprintf(stderr, "vs_listen: %s\n", strerror(-rc));
		return 1;
	}
	printf("ready, pid %d\n", (int)getpid());
	fflush(stdout);
	while (closed_n < want && time(NULL) < end) {
		struct timespec zero = { 0 };

		vs_ctx_run(c, 100);
		int sig = sigtimedwait(&sigs, NULL, &zero);

		if (sig == SIGUSR1) {
			unsigned open = echoed - closed_n;

			printf("million: heap %zu bytes/conn\n",
			       open ? (heap() - heap0) / open : 0);
			fflush(stdout);
		} else if (sig == SIGUSR2 && out_k) {
			out_round(c);
		} else if (sig > 0) {
			break;
		}
	}
	printf("million: closed %u, %u failed, heap %zd bytes above the "
	       "start\n",
	       closed_n, failed, (ssize_t)(heap() - heap0));
	vs_close(l);
	vs_fini(st);
	return closed_n == want && !failed ? 0 : 1;
}
