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
 */
#include <arpa/inet.h>
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

	if (argc != 3 || (want = (unsigned)atoi(argv[2])) == 0) {
		fprintf(stderr, "usage: million PORT N\n");
		return 2;
	}
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGUSR1);
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
