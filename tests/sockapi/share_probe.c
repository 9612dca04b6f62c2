// SPDX-License-Identifier: MIT
/*
 * share_probe - a listener split between forked workers while they serve
 * (sockapi.share, test_share.sh).
 *
 *   share_probe server PORT [reuseport]
 *                               listens, forks one worker; SIGUSR1 forks
 *                               one more; SIGTERM ends them all. A worker
 *                               answers each line on a connection with
 *                               its pid. reuseport: no listener is
 *                               inherited, each worker opens its own with
 *                               SO_REUSEPORT (independent processes on
 *                               one port).
 *   share_probe client ADDR PORT SERVER_PID
 *                               the test, from the peer: connections that
 *                               live across the arrival and the death of
 *                               workers keep being answered by the worker
 *                               that accepted them, and new connections
 *                               spread over the workers alive. Prints what
 *                               it saw; "pid N: K" lines (connections each
 *                               worker accepted) for the script to compare
 *                               with vstack's counters; exits 1 on the
 *                               first broken promise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* --- the server --- */

static volatile sig_atomic_t more, stop;

static void
on_sig(int sig)
{
	if (sig == SIGUSR1)
		more++;
	else
		stop = 1;
}

static _Noreturn void
worker(int l)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
	char reply[16];
	int rl = snprintf(reply, sizeof(reply), "%d\n", (int)getpid());

	/* SIGTERM: exit() (on_sig sets stop; epoll_wait says EINTR), so
	 * vstack closes the listener and leaves the share. */
	signal(SIGUSR1, SIG_IGN);
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev))
		_exit(2);
	while (!stop) {
		struct epoll_event evs[64];
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			char b[256];
			ssize_t r;

			if (fd == l) {
				int a = accept4(l, NULL, NULL, SOCK_NONBLOCK);

				if (a >= 0) {
					ev = (struct epoll_event){
						.events = EPOLLIN, .data.fd = a
					};
					epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
				}
				continue;
			}
			r = read(fd, b, sizeof(b));
			if (r == 0 || (r < 0 && errno != EAGAIN)) {
				close(fd);
				continue;
			}
			for (ssize_t k = 0; k < r; k++)
				if (b[k] == '\n' &&
				    write(fd, reply, (size_t)rl) != rl)
					break;
		}
	}
	exit(0);
}

static int
listener(int port, int reuseport)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (reuseport)
		setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 512)) {
		perror("listen");
		exit(1);
	}
	return l;
}

static int
server(int port, int reuseport)
{
	int l = reuseport ? -1 : listener(port, 0);
	pid_t kids[64];
	int nkids = 0;
	struct sigaction act = { .sa_handler = on_sig };
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigaction(SIGUSR1, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	more = 1;
	while (!stop) {
		while (more > 0 && nkids < 64) {
			more--;
			if ((kids[nkids] = fork()) == 0) {
				sigprocmask(SIG_SETMASK, &old, NULL);
				worker(reuseport ? listener(port, 1) : l);
			}
			printf("worker %d started\n", (int)kids[nkids++]);
		}
		sigsuspend(&old); /* a signal sent meanwhile is not lost */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	for (int i = 0; i < nkids; i++)
		kill(kids[i], SIGTERM);
	while (wait(NULL) > 0)
		;
	return 0;
}

/* --- the client --- */

static struct sockaddr_in dst;

/* A line, its answer: the pid of the worker (0: none). */
static int
ask(int c)
{
	char b[32];
	size_t n = 0;

	if (send(c, "?\n", 2, MSG_NOSIGNAL) != 2)
		return 0;
	while (n < sizeof(b) - 1) {
		ssize_t r = recv(c, b + n, 1, 0);

		if (r != 1)
			return 0;
		if (b[n++] == '\n')
			break;
	}
	b[n] = 0;
	return atoi(b);
}

static int
conn(void)
{
	struct timeval tv = { 3, 0 };
	int c = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(c, (struct sockaddr *)&dst, sizeof(dst))) {
		close(c);
		return -1;
	}
	return c;
}

#define MAXC 1024
static int fds[MAXC], owner[MAXC], nconn;
static struct tally {
	int pid, n;
} tally[64];
static int ntally;

static void
count(int pid)
{
	for (int i = 0; i < ntally; i++)
		if (tally[i].pid == pid) {
			tally[i].n++;
			return;
		}
	if (ntally < 64)
		tally[ntally++] = (struct tally){ pid, 1 };
}

/* n new connections that stay open; how many each worker took. */
static int
open_some(int n, const char *what)
{
	int start = nconn;

	for (int i = 0; i < n && nconn < MAXC; i++) {
		int c = conn(), p = c < 0 ? 0 : ask(c);

		if (!p) {
			printf("FAIL: %s: connection %d not answered\n", what,
			       i);
			return 1;
		}
		fds[nconn] = c;
		owner[nconn++] = p;
		count(p);
	}
	printf("%s: %d connections:", what, nconn - start);
	for (int k = 0; k < ntally; k++) {
		int got = 0;

		for (int i = start; i < nconn; i++)
			got += owner[i] == tally[k].pid;
		if (got)
			printf(" pid %d took %d", tally[k].pid, got);
	}
	printf("\n");
	return 0;
}

/* Every open connection still answered by the worker that took it
 * (those of dead workers are skipped: dead[i]). */
static int
check_old(const char *what, int dead)
{
	int ok = 0, n = 0;

	for (int i = 0; i < nconn; i++) {
		int p;

		if (owner[i] == dead)
			continue;
		n++;
		p = ask(fds[i]);
		if (p == owner[i])
			ok++;
		else
			printf("connection %d (of worker %d): answered by %d\n",
			       i, owner[i], p);
	}
	printf("%s: %d of %d connections answered by their own worker\n", what,
	       ok, n);
	return ok == n ? 0 : 1;
}

/* Waits (10 s at most) until a new connection is answered by a worker
 * not in `known`; the probes stay open (and are checked later). */
static int
wait_new_worker(const int *known, int nknown)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		int c = conn(), p = c < 0 ? 0 : ask(c), seen = 0;

		if (c >= 0 && p && nconn < MAXC) {
			fds[nconn] = c;
			owner[nconn++] = p;
			count(p);
		}
		for (int i = 0; i < nknown; i++)
			seen |= known[i] == p;
		if (p && !seen)
			return p;
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec < 10);
	return 0;
}

/* The workers alive took at least a fifth each of the last n. */
static int
fair(int n, const int *pids, int np, const char *what)
{
	for (int k = 0; k < np; k++) {
		int got = 0;

		for (int i = nconn - n; i < nconn; i++)
			got += owner[i] == pids[k];
		if (got * 5 < n) {
			printf("FAIL: %s: worker %d took %d of %d\n", what,
			       pids[k], got, n);
			return 1;
		}
	}
	printf("%s: every worker took a fifth or more\n", what);
	return 0;
}

static int
client(const char *addr, int port, pid_t server_pid)
{
	int a, b, c, pids[2];

	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, addr, &dst.sin_addr);
	/* One worker: it takes everything. */
	if (open_some(128, "one worker"))
		return 1;
	a = owner[0];
	/* A second: it gets a share; the first keeps its connections. */
	kill(server_pid, SIGUSR1);
	if (!(b = wait_new_worker(&a, 1)))
		return printf("FAIL: no second worker answered in 10 s\n"), 1;
	printf("second worker answers\n");
	if (check_old("after the second worker came", 0) ||
	    open_some(256, "two workers"))
		return 1;
	pids[0] = a;
	pids[1] = b;
	if (fair(256, pids, 2, "two workers"))
		return 1;
	/* The first dies; the second goes on, then a third comes. */
	kill(a, SIGKILL);
	printf("first worker killed\n");
	if (check_old("after the first died", a))
		return 1;
	kill(server_pid, SIGUSR1);
	pids[0] = b;
	if (!(c = wait_new_worker(pids, 2)))
		return printf("FAIL: no third worker answered in 10 s\n"), 1;
	printf("third worker answers\n");
	if (check_old("after the third worker came", a) ||
	    open_some(256, "second and third"))
		return 1;
	pids[1] = c;
	if (fair(256, pids, 2, "second and third") ||
	    check_old("at the end", a))
		return 1;
	for (int k = 0; k < ntally; k++)
		printf("pid %d: %d\n", tally[k].pid, tally[k].n);
	return 0;
}

int
main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]),
			      argc == 4 && !strcmp(argv[3], "reuseport"));
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), (pid_t)atoi(argv[4]));
	fprintf(stderr, "usage: share_probe server PORT [reuseport] | "
			"client ADDR PORT SERVER_PID\n");
	return 2;
}
