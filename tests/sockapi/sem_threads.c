// SPDX-License-Identifier: MIT
/*
 * sem_threads PEER LOCAL - sockets used by many threads at once, as a
 * transcript (see sem_tcp.c): 8 threads each echo 1 MiB through their
 * own connection with blocking calls; then one connection shared by two
 * threads, one sending while the other receives; then a listener whose
 * accept() is called by 2 threads while the peer connects back twice;
 * then two threads adding one connection to one epoll set at the same
 * moment, 3,000 times: exactly one may succeed (the other EEXIST).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sem.h"

#define NT 8
#define BYTES (1 << 20)

static const char *peer, *local;

static unsigned char
pat(long i, int salt)
{
	return (unsigned char)((i * 7 + salt) % 251);
}

struct sender {
	int fd, salt;
	long bytes;
};

static void *
send_all(void *arg)
{
	struct sender *s = arg;
	unsigned char b[8192];
	long off = 0;

	while (off < s->bytes) {
		size_t n = sizeof(b);
		ssize_t k;

		if ((long)n > s->bytes - off)
			n = (size_t)(s->bytes - off);
		for (size_t i = 0; i < n; i++)
			b[i] = pat(off + (long)i, s->salt);
		k = send(s->fd, b, n, MSG_NOSIGNAL);
		if (k <= 0)
			break;
		off += k;
	}
	return NULL;
}

/* Receives `bytes` and checks them; the number of bad bytes (or -1). */
static long
recv_check(int fd, long bytes, int salt)
{
	unsigned char b[16384];
	long got = 0, bad = 0;

	while (got < bytes) {
		ssize_t k = recv(fd, b, sizeof(b), 0);

		if (k <= 0)
			return -1;
		for (ssize_t i = 0; i < k; i++)
			bad += b[i] != pat(got + i, salt);
		got += k;
	}
	return bad;
}

static long results[NT];

static void *
worker(void *arg)
{
	int i = (int)(long)arg, fd = echo_conn(peer);
	struct sender s = { fd, i, BYTES };
	pthread_t t;

	if (fd < 0) {
		results[i] = -2;
		return NULL;
	}
	/* its own sender thread: the echo returns while we send */
	pthread_create(&t, NULL, send_all, &s);
	results[i] = recv_check(fd, BYTES, i);
	pthread_join(t, NULL);
	close(fd);
	return NULL;
}

static ssize_t closed_under;
static int closed_errno;

static void *
blocked_reader(void *arg)
{
	char b[4];

	closed_under = recv(*(int *)arg, b, sizeof(b), 0);
	closed_errno = errno;
	return NULL;
}

static int lfd;
static int accepted[2];

static void *
acceptor(void *arg)
{
	int i = (int)(long)arg, a = accept(lfd, NULL, NULL);
	char b[4];

	if (a >= 0 && recv(a, b, 4, MSG_WAITALL) == 4 &&
	    send(a, "pong", 4, 0) == 4)
		accepted[i] = 1;
	if (a >= 0)
		close(a);
	return NULL;
}

/* Two threads, one EPOLL_CTL_ADD each, released together. */
static struct {
	pthread_barrier_t go;
	int ep, fd, ok[2];
} race;

static void *
adder(void *arg)
{
	long i = (long)arg;
	struct epoll_event ev = { .events = EPOLLIN };

	pthread_barrier_wait(&race.go);
	race.ok[i] = epoll_ctl(race.ep, EPOLL_CTL_ADD, race.fd, &ev) == 0;
	return NULL;
}

static void
double_add(void)
{
	int both = 0, none = 0, n = 3000;
	pthread_t t[2];

	race.fd = echo_conn(peer);
	race.ep = epoll_create1(0);
	for (int r = 0; r < n; r++) {
		pthread_barrier_init(&race.go, NULL, 2);
		for (long i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, adder, (void *)i);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		pthread_barrier_destroy(&race.go);
		both += race.ok[0] && race.ok[1];
		none += !race.ok[0] && !race.ok[1];
		epoll_ctl(race.ep, EPOLL_CTL_DEL, race.fd, NULL);
	}
	printf("two threads add one fd, %d times: both succeeded %d, "
	       "neither %d; after DEL: %s\n",
	       n, both, none,
	       epoll_ctl(race.ep, EPOLL_CTL_DEL, race.fd, NULL) < 0 &&
			       errno == ENOENT ?
		       "ENOENT" :
		       "still there");
	close(race.ep);
	close(race.fd);
}

int
main(int argc, char **argv)
{
	pthread_t t[NT], acc[2];
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7000) };
	int one = 1, ctl[2];

	if (argc != 3)
		return 2;
	peer = argv[1];
	local = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (long i = 0; i < NT; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < NT; i++) {
		pthread_join(t[i], NULL);
		printf("thread %d: 1 MiB echoed, %ld bad bytes\n", i,
		       results[i]);
	}

	{ /* shutdown() wakes a thread blocked in recv */
		int fd = echo_conn(peer);
		pthread_t r;

		pthread_create(&r, NULL, blocked_reader, &fd);
		usleep(200000);
		printf("shutdown under a blocked reader: %d\n",
		       shutdown(fd, SHUT_RDWR));
		pthread_join(r, NULL);
		printf("the blocked recv returned %zd\n", closed_under);
		close(fd);
	}
	{ /* close() under a blocked reader: it stays blocked (the socket
	   * lives while the call does) until its timeout */
		struct timeval tv = { 0, 500000 };
		int fd = echo_conn(peer), saved, rc;
		pthread_t r;

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		saved = fd;
		pthread_create(&r, NULL, blocked_reader, &saved);
		usleep(200000);
		sem_race_begin();
		rc = close(fd);
		sem_race_end();
		printf("close under a blocked reader: %d\n", rc);
		pthread_join(r, NULL);
		printf("the blocked recv returned %zd%s\n", closed_under,
		       closed_under < 0 && closed_errno == EAGAIN ? " EAGAIN" :
								    "");
	}

	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 8))
		perror("listen");
	for (long i = 0; i < 2; i++)
		pthread_create(&acc[i], NULL, acceptor, (void *)i);
	usleep(200000);
	for (int i = 0; i < 2; i++) {
		struct sockaddr_in p = { .sin_family = AF_INET,
					 .sin_port = htons(8000) };
		char cmd[64];

		inet_pton(AF_INET, peer, &p.sin_addr);
		ctl[i] = socket(AF_INET, SOCK_STREAM, 0);
		snprintf(cmd, sizeof(cmd), "connect %s 7000\n", local);
		if (connect(ctl[i], (struct sockaddr *)&p, sizeof(p)) ||
		    send(ctl[i], cmd, strlen(cmd), 0) < 0)
			perror("control");
	}
	for (int i = 0; i < 2; i++)
		pthread_join(acc[i], NULL);
	printf("two threads in accept: %d connections served\n",
	       accepted[0] + accepted[1]);
	for (int i = 0; i < 2; i++)
		close(ctl[i]);
	close(lfd);
	double_add();
	return 0;
}
