// SPDX-License-Identifier: MIT
/*
 * threads_stall - request/response through a multi-threaded server, as
 * memcached and most servers are built, measuring how long each reply
 * takes. sockapi.threads_stall runs the server on vstack and the client
 * on the kernel of the peer namespace.
 *
 *   threads_stall server PORT WORKERS
 *       an acceptor thread hands each connection in turn to one of:
 *       WORKERS threads each in epoll_wait on its own set (the handoff
 *       through a pipe in that set, as memcached does), a set shared by
 *       two threads (EPOLLONESHOT, re-armed after each request), and a
 *       connection split between a thread that reads it (blocking recv)
 *       and one that writes it (blocking send) - the last shape takes
 *       every (WORKERS + 2)th connection.
 *   threads_stall client ADDR PORT CONNS EXCHANGES LIMIT_MS
 *       CONNS threads, one connection each, EXCHANGES request/response
 *       exchanges in all (2,100-byte requests, two segments each; 16-byte
 *       replies echoing the request's first 16 bytes); prints the maximum and p99.9 of the reply times and
 *       fails (exit 1) if a reply is wrong, missing for 5 s, or later
 *       than LIMIT_MS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* A request spans two segments, as a memcached set of 2 KiB does: its
 * second segment comes while the server looks at the first; the reply
 * echoes its first MSG bytes. */
#define REQ 2100
#define MSG 16

static void
die(const char *what)
{
	perror(what);
	exit(2);
}

static uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* --- server --- */

/* A connection's partial request (the epoll shapes read what is there). */
struct conn {
	int fd;
	size_t have;
	char buf[REQ];
};

/* Reads what is there and answers every whole request; false at the end
 * of the stream or on an error. */
static bool
serve(struct conn *c)
{
	for (;;) {
		ssize_t k = read(c->fd, c->buf + c->have, REQ - c->have);

		if (k == 0)
			return false;
		if (k < 0)
			return errno == EAGAIN || errno == EINTR;
		c->have += (size_t)k;
		if (c->have == REQ) {
			if (write(c->fd, c->buf, MSG) != MSG)
				return false;
			c->have = 0;
		}
	}
}

struct worker {
	int ep, pipe[2];
	bool oneshot; /* a set shared by threads */
};

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct epoll_event evs[64];

	for (;;) {
		int n = epoll_wait(w->ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			struct conn *c = evs[i].data.ptr;

			if (!c) { /* the acceptor's handoff */
				struct epoll_event ev = { .events = EPOLLIN };
				int fd;

				if (read(w->pipe[0], &fd, sizeof(fd)) !=
				    sizeof(fd))
					continue;
				c = calloc(1, sizeof(*c));
				if (!c)
					die("calloc");
				c->fd = fd;
				ev.data.ptr = c;
				if (w->oneshot)
					ev.events |= EPOLLONESHOT;
				if (epoll_ctl(w->ep, EPOLL_CTL_ADD, fd, &ev))
					die("epoll_ctl ADD");
				continue;
			}
			if (!serve(c)) {
				close(c->fd);
				free(c);
				continue;
			}
			if (w->oneshot) {
				struct epoll_event ev = {
					.events = EPOLLIN | EPOLLONESHOT,
					.data.ptr = c
				};

				if (epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &ev))
					die("epoll_ctl MOD");
			}
		}
	}
	return NULL;
}

/* The split shape: one thread reads, another writes what it read. */
struct split {
	int fd;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	char buf[MSG];
	int state; /* 0: empty, 1: a request to answer, 2: the end */
};

static void *
split_writer(void *arg)
{
	struct split *s = arg;

	for (;;) {
		char out[MSG];

		pthread_mutex_lock(&s->lock);
		while (!s->state)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->state == 2) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		memcpy(out, s->buf, MSG);
		s->state = 0;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		if (send(s->fd, out, MSG, MSG_NOSIGNAL) != MSG)
			break;
	}
	return NULL;
}

static void *
split_reader(void *arg)
{
	struct split *s = arg;
	pthread_t wr;

	if (pthread_create(&wr, NULL, split_writer, s))
		die("pthread_create");
	for (;;) {
		char in[REQ];

		if (recv(s->fd, in, REQ, MSG_WAITALL) != REQ)
			break;
		pthread_mutex_lock(&s->lock);
		while (s->state)
			pthread_cond_wait(&s->cond, &s->lock);
		memcpy(s->buf, in, MSG);
		s->state = 1;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_lock(&s->lock);
	s->state = 2;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(wr, NULL);
	close(s->fd);
	free(s);
	return NULL;
}

static int
server(int port, int nworkers)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);
	/* nworkers own sets, then one set shared by two threads */
	struct worker *w = calloc((size_t)nworkers + 1, sizeof(*w));
	unsigned next = 0;

	if (l < 0 || !w)
		die("socket");
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 128))
		die("bind/listen");
	for (int i = 0; i <= nworkers; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
		int threads = i == nworkers ? 2 : 1;

		w[i].oneshot = i == nworkers;
		w[i].ep = epoll_create1(0);
		if (w[i].ep < 0 || pipe(w[i].pipe) ||
		    epoll_ctl(w[i].ep, EPOLL_CTL_ADD, w[i].pipe[0], &ev))
			die("epoll/pipe");
		for (int t = 0; t < threads; t++) {
			pthread_t th;

			if (pthread_create(&th, NULL, worker_main, &w[i]))
				die("pthread_create");
		}
	}
	printf("serving on port %d: %d own sets, one shared set, split connections\n",
	       port, nworkers);
	fflush(stdout);
	for (;;) {
		int fd = accept(l, NULL, NULL);
		unsigned k;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		k = next++ % (unsigned)(nworkers + 2);
		if (k == (unsigned)nworkers + 1) { /* split: blocking */
			struct split *s = calloc(1, sizeof(*s));
			pthread_t th;

			if (!s)
				die("calloc");
			s->fd = fd;
			pthread_mutex_init(&s->lock, NULL);
			pthread_cond_init(&s->cond, NULL);
			if (pthread_create(&th, NULL, split_reader, s))
				die("pthread_create");
			pthread_detach(th);
			continue;
		}
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK))
			die("non-blocking");
		if (write(w[k].pipe[1], &fd, sizeof(fd)) != sizeof(fd))
			die("handoff");
	}
	return 0;
}

/* --- client --- */

static const char *c_addr;
static int c_port, c_each;
static _Atomic int c_failed;

struct cres {
	uint32_t *lat_us;
	int n;
};

static void *
client_conn(void *arg)
{
	struct cres *r = arg;
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)c_port) };
	struct timeval tv = { .tv_sec = 5 };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	inet_pton(AF_INET, c_addr, &a.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a))) {
		perror("connect");
		c_failed = 1;
		return NULL;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < c_each && !c_failed; i++) {
		char out[REQ], in[MSG];
		uint64_t t0;
		ssize_t k;

		memset(out, 'x', sizeof(out));
		snprintf(out, MSG, "%08x%07d",
			 (unsigned)(uintptr_t)r & 0xffffffu, i % 1000000);
		t0 = now_us();
		if (send(fd, out, REQ, MSG_NOSIGNAL) != REQ) {
			perror("send");
			c_failed = 1;
			break;
		}
		k = recv(fd, in, MSG, MSG_WAITALL);
		if (k != MSG || memcmp(in, out, MSG)) {
			fprintf(stderr, "exchange %d: %s\n", i,
				k < 0	 ? strerror(errno) :
				k != MSG ? "short reply" :
					   "wrong reply");
			c_failed = 1;
			break;
		}
		r->lat_us[r->n++] = (uint32_t)(now_us() - t0);
	}
	close(fd);
	return NULL;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static int
client(const char *addr, int port, int conns, int total, int limit_ms)
{
	pthread_t *th = calloc((size_t)conns, sizeof(*th));
	struct cres *r = calloc((size_t)conns, sizeof(*r));
	uint32_t *all;
	int n = 0;

	c_addr = addr;
	c_port = port;
	c_each = (total + conns - 1) / conns;
	all = calloc((size_t)c_each * (size_t)conns, sizeof(*all));
	if (!th || !r || !all)
		die("calloc");
	for (int i = 0; i < conns; i++) {
		r[i].lat_us = all + (size_t)i * (size_t)c_each;
		if (pthread_create(&th[i], NULL, client_conn, &r[i]))
			die("pthread_create");
	}
	for (int i = 0; i < conns; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < conns; i++) {
		memmove(all + n, r[i].lat_us, (size_t)r[i].n * sizeof(*all));
		n += r[i].n;
	}
	if (!n) {
		fprintf(stderr, "no exchange completed\n");
		return 1;
	}
	qsort(all, (size_t)n, sizeof(*all), cmp_u32);
	printf("exchanges %d over %d connections: p50 %.3f ms, p99.9 %.3f ms, max %.3f ms\n",
	       n, conns, all[n / 2] / 1000.0,
	       all[(size_t)n * 999 / 1000] / 1000.0, all[n - 1] / 1000.0);
	if (c_failed || n < c_each * conns) {
		fprintf(stderr, "FAIL: %d of %d exchanges completed\n", n,
			c_each * conns);
		return 1;
	}
	if (all[n - 1] > (uint32_t)limit_ms * 1000u) {
		fprintf(stderr, "FAIL: a reply took %.3f ms (limit %d ms)\n",
			all[n - 1] / 1000.0, limit_ms);
		return 1;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), atoi(argv[3]));
	if (argc == 7 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]),
			      atoi(argv[5]), atoi(argv[6]));
	fprintf(stderr,
		"usage: threads_stall server PORT WORKERS\n"
		"       threads_stall client ADDR PORT CONNS EXCHANGES LIMIT_MS\n");
	return 2;
}
