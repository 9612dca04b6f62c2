// SPDX-License-Identifier: MIT
/*
 * vstack_tcp - one engine's TCP fast path, for counting its cost:
 *   vstack_tcp DEV sink PORT           receive one connection's bytes
 *   vstack_tcp DEV source ADDR PORT MIB send MIB MiB, then close
 *   vstack_tcp DEV idle PORT N         hold N accepted connections
 * sink and source print the bytes and the frames the netif received and
 * sent; idle prints the heap bytes per established connection (glibc's
 * mallinfo2: lwIP's pcbs and vstack's connection state come from it)
 * and waits for the peer to close them. All print where the engine's
 * lwIP copy is loaded ("lwip base 0x..."): profilers cannot name code in
 * a memfd, bench/stack.sh maps its addresses to lwIP's symbols.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <malloc.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "stack/engine_run.h"
#include "stack/tcp.h"

static struct vs_engine e;
static _Atomic int done, failures, established, closed;
static struct sockaddr_storage where;
static uint64_t to_send, rx_bytes;
static int mode; /* 's'ink, 'S'ource, 'i'dle */
static size_t heap_before;

static char chunk[16384];

/* --- sink and idle: what arrives is consumed --- */

static void
on_received(struct vs_tcp *c, struct pbuf *p)
{
	if (!p) {
		vs__tcp_close(c);
		return;
	}
	rx_bytes += p->tot_len;
	vs__tcp_consumed(c, p->tot_len);
	e.lw.pbuf_free(p);
}

static void
on_closed(struct vs_tcp *c, int err)
{
	(void)c;
	if (err)
		failures++;
	closed++;
	if (mode != 'i' || closed == established)
		done = 1;
}

static const struct vs_tcp_ops conn_ops = { .received = on_received,
					    .closed = on_closed };

static void
on_accepted(struct vs_tcp *l, struct vs_tcp *c)
{
	(void)l;
	vs__tcp_set_ops(c, &conn_ops, NULL);
	established++;
}

static const struct vs_tcp_ops listen_ops = { .accepted = on_accepted };

/* --- source --- */

static void
pump(struct vs_tcp *c)
{
	while (to_send) {
		size_t n = to_send < sizeof(chunk) ? to_send : sizeof(chunk);
		ssize_t k = vs__tcp_send(c, chunk, n);

		if (k < 0)
			failures++;
		if (k <= 0)
			return;
		to_send -= (uint64_t)k;
	}
	vs__tcp_close(c);
}

static void
on_connected(struct vs_tcp *c, int err)
{
	if (!err) {
		pump(c);
		return;
	}
	failures++;
	done = 1;
}

static void
on_sent(struct vs_tcp *c, size_t len)
{
	(void)len;
	pump(c);
}

static const struct vs_tcp_ops source_ops = { .connected = on_connected,
					      .received = on_received,
					      .sent = on_sent,
					      .closed = on_closed };

static void
start(void *arg)
{
	struct vs_tcp *t;

	(void)arg;
	heap_before = mallinfo2().uordblks;
	if (mode == 'S' ? vs__tcp_connect(&e, (struct sockaddr *)&where,
					  &source_ops, NULL, &t) :
			  vs__tcp_listen(&e, (struct sockaddr *)&where, 128, 0,
					 &listen_ops, NULL, &t)) {
		failures++;
		done = 1;
	}
	printf("ready\n");
	fflush(stdout);
}

static int
usage(void)
{
	fprintf(stderr,
		"usage: vstack_tcp DEV sink PORT | DEV source ADDR PORT "
		"MIB | DEV idle PORT N\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai,
		hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	time_t end = time(NULL) + 600;
	int n = 0;

	if (argc < 4)
		return usage();
	mode = !strcmp(argv[2], "sink")	  ? 's' :
	       !strcmp(argv[2], "source") ? 'S' :
	       !strcmp(argv[2], "idle")	  ? 'i' :
					    0;
	if (!mode || argc != (mode == 's' ? 4 : mode == 'S' ? 6 : 5))
		return usage();
	hints.ai_family = mode == 'S' ? AF_UNSPEC : AF_INET;
	if (getaddrinfo(mode == 'S' ? argv[3] : NULL, argv[mode == 'S' ? 4 : 3],
			&hints, &ai))
		return usage();
	memcpy(&where, ai->ai_addr, ai->ai_addrlen);
	if (mode == 'S')
		to_send = strtoull(argv[5], NULL, 10) << 20;
	if (mode == 'i')
		n = atoi(argv[4]);
	engine_run(&e, "vstack_tcp", argv[1], 8192, 512, start);
	{
		Dl_info di;

		if (dladdr((void *)e.lw.lwip_init, &di))
			printf("lwip base %p\n", di.dli_fbase);
	}
	if (mode == 'i') {
		while (established < n && !failures && time(NULL) < end)
			usleep(10000);
		usleep(200000);
		printf("idle: %d connections, %zu heap bytes each\n", n,
		       (mallinfo2().uordblks - heap_before) /
			       (size_t)(n ? n : 1));
		fflush(stdout);
	}
	while (!done && time(NULL) < end)
		usleep(1000);
	usleep(100000);
	vs__engine_close(&e);
	printf("rx %llu bytes; frames rx %llu tx %llu; %d failures; "
	       "recovery: %u timeouts, %u fast retransmits, %u tail loss "
	       "probes\n",
	       (unsigned long long)rx_bytes,
	       (unsigned long long)e.nif.st.rx_frames,
	       (unsigned long long)e.nif.st.tx_frames, failures,
	       (unsigned)*e.lw.tcp_rto_timeouts,
	       (unsigned)*e.lw.tcp_fast_rexmits,
	       (unsigned)*e.lw.tcp_tlp_probes);
	return failures ? 1 : 0;
}
