// SPDX-License-Identifier: MIT
/*
 * kudp echo PORT N          a kernel UDP echo server (IPv4 and IPv6) for
 *                           N datagrams; prints "listening (pid PID)"
 * kudp echo-cores PORT N    the same on cores 0 and 1 at once: a thread
 *                           pinned to core c serves PORT + c (under
 *                           vstack, its socket is on core c's engine)
 * kudp client ADDR PORT SIZE...
 *                           sends a datagram of each size and checks the
 *                           echo (three tries, a second each); exit 0 if
 *                           every one came back identical; prints how
 *                           many datagrams it sent (tries included)
 */
#include <netdb.h>
#include <pthread.h>
#include <sched.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint8_t out[65536], in[65536];

static int
bound(int port)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)port) };
	int s = socket(AF_INET6, SOCK_DGRAM, 0), zero = 0;

	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		return perror("kudp"), -1;
	return s;
}

static int
serve(int s, int n, uint8_t *buf)
{
	for (int i = 0; i < n; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(s, buf, 65536, 0,
				       (struct sockaddr *)&from, &fl);

		if (len < 0 || sendto(s, buf, (size_t)len, 0,
				      (struct sockaddr *)&from, fl) != len)
			return 1;
	}
	return 0;
}

static int
echo(int port, int n)
{
	int s = bound(port);

	if (s < 0)
		return 1;
	printf("listening (pid %d)\n", (int)getpid());
	fflush(stdout);
	return serve(s, n, in);
}

struct core {
	pthread_t t;
	int cpu, port, n, s;
	pthread_barrier_t *up;
	uint8_t buf[65536];
};

static void *
core_main(void *arg)
{
	struct core *c = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(c->cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ||
	    sched_yield() || sched_getcpu() != c->cpu)
		fprintf(stderr, "kudp: cannot run on core %d\n", c->cpu);
	c->s = bound(c->port);
	pthread_barrier_wait(c->up);
	if (c->s >= 0)
		serve(c->s, c->n, c->buf);
	return NULL;
}

static int
echo_cores(int port, int n)
{
	static struct core c[2];
	pthread_barrier_t up;

	pthread_barrier_init(&up, NULL, 3);
	for (int i = 0; i < 2; i++) {
		c[i] = (struct core){
			.cpu = i, .port = port + i, .n = n, .up = &up
		};
		pthread_create(&c[i].t, NULL, core_main, &c[i]);
	}
	pthread_barrier_wait(&up);
	if (c[0].s < 0 || c[1].s < 0)
		return 1;
	printf("listening (pid %d)\n", (int)getpid());
	fflush(stdout);
	for (int i = 0; i < 2; i++)
		pthread_join(c[i].t, NULL);
	return 0;
}

static int
client(const char *addr, const char *port, char **sizes, int n)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_DGRAM };
	int s, sent = 0, rc = 0;

	if (getaddrinfo(addr, port, &hints, &ai))
		return 2;
	s = socket(ai->ai_family, SOCK_DGRAM, 0);
	for (int i = 0; i < n && !rc; i++) {
		size_t len = (size_t)atoi(sizes[i]);
		int ok = 0;

		for (size_t k = 0; k < len; k++)
			out[k] = (uint8_t)(k * 7 + (size_t)i);
		for (int t = 0; t < 3 && !ok; t++) {
			struct pollfd p = { .fd = s, .events = POLLIN };

			if (sendto(s, out, len, 0, ai->ai_addr,
				   ai->ai_addrlen) >= 0)
				sent++;
			if (poll(&p, 1, 1000) == 1 &&
			    recv(s, in, sizeof(in), 0) == (ssize_t)len &&
			    !memcmp(in, out, len))
				ok = 1;
		}
		printf("kudp: %s %zu bytes: %s\n", addr, len,
		       ok ? "ok" : "LOST");
		rc = !ok;
	}
	printf("kudp: sent %d datagrams\n", sent);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "echo"))
		return echo(atoi(argv[2]), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "echo-cores"))
		return echo_cores(atoi(argv[2]), atoi(argv[3]));
	if (argc >= 5 && !strcmp(argv[1], "client"))
		return client(argv[2], argv[3], argv + 4, argc - 4);
	fprintf(stderr, "usage: kudp echo PORT N | kudp echo-cores PORT N | "
			"kudp client ADDR PORT SIZE...\n");
	return 2;
}
