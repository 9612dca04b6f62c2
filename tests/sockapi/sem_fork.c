// SPDX-License-Identifier: MIT
/*
 * sem_fork PEER LOCAL - a listener shared by forked workers, as nginx
 * does it, as a transcript (see sem_tcp.c): the parent listens and forks
 * two workers that accept (each with its own epoll set); the peer
 * connects back 6 times; every connection is served by some worker and
 * the workers report to the parent through a pipe. Then a worker exits
 * and the other goes on serving. Last, children that open connections
 * of their own while the parent's carries traffic: each process's bytes
 * come back whole (the children's devices are their own, not shared
 * with the parent's engines).
 */
#include <arpa/inet.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *peer, *local;

static void
worker(int l, int report)
{
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };

	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	for (;;) {
		int a;
		char b[4];

		if (epoll_wait(ep, &ev, 1, -1) != 1)
			continue;
		a = accept(l, NULL, NULL);
		if (a < 0)
			continue;
		if (recv(a, b, 4, MSG_WAITALL) == 4 && !memcmp(b, "ping", 4) &&
		    send(a, "pong", 4, 0) == 4 && write(report, "s", 1) != 1)
			_exit(1);
		close(a);
	}
}

/* The peer connects to LOCAL:7000 and says ping; "done" when answered. */
static int
poke(void)
{
	struct sockaddr_in p = { .sin_family = AF_INET,
				 .sin_port = htons(8000) };
	char cmd[64], b[8] = "";
	int c = socket(AF_INET, SOCK_STREAM, 0), ok;

	inet_pton(AF_INET, peer, &p.sin_addr);
	snprintf(cmd, sizeof(cmd), "connect %s 7000\n", local);
	ok = !connect(c, (struct sockaddr *)&p, sizeof(p)) &&
	     send(c, cmd, strlen(cmd), 0) > 0 &&
	     recv(c, b, 5, MSG_WAITALL) == 5 && !memcmp(b, "done\n", 5);
	close(c);
	return ok;
}

static int
served(int fd, int want)
{
	int n = 0;
	char c;

	while (n < want) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 5000) != 1 || read(fd, &c, 1) != 1)
			break;
		n++;
	}
	return n;
}

/* Echoes n bytes through the peer in 16 KiB pieces, each one checked;
 * "ok" or what went wrong. */
static const char *
echo_through(long n, unsigned seed)
{
	struct sockaddr_in p = { .sin_family = AF_INET,
				 .sin_port = htons(8000) };
	struct timeval tv = { 10, 0 };
	static char out[16384], in[16384];
	int c = socket(AF_INET, SOCK_STREAM, 0);
	const char *res = "ok";

	inet_pton(AF_INET, peer, &p.sin_addr);
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(c, (struct sockaddr *)&p, sizeof(p)) ||
	    send(c, "echo\n", 5, 0) != 5)
		res = "connect failed";
	for (long done = 0; done < n && res[0] == 'o'; done += sizeof(out)) {
		for (size_t i = 0; i < sizeof(out); i++)
			out[i] = (char)((seed + (unsigned)done + i) % 253);
		if (send(c, out, sizeof(out), 0) != (ssize_t)sizeof(out))
			res = "send failed";
		else if (recv(c, in, sizeof(in), MSG_WAITALL) !=
			 (ssize_t)sizeof(in))
			res = "echo short";
		else if (memcmp(in, out, sizeof(in)))
			res = "echo corrupted";
	}
	close(c);
	return res;
}

static void
fork_under_traffic(void)
{
	pid_t kids[3];
	int st, ok = 0;

	/* The parent's own connection first: its runtime is up and busy
	 * when the children start theirs. */
	printf("parent before: %s\n", echo_through(1 << 20, 7));
	for (int i = 0; i < 3; i++)
		if ((kids[i] = fork()) == 0)
			_exit(strcmp(echo_through(4 << 20, 11u * (unsigned)i),
				     "ok") != 0);
	printf("parent meanwhile: %s\n", echo_through(4 << 20, 5));
	for (int i = 0; i < 3; i++)
		ok += waitpid(kids[i], &st, 0) == kids[i] && WIFEXITED(st) &&
		      WEXITSTATUS(st) == 0;
	printf("3 children echoed 4 MiB each: %d whole\n", ok);
	printf("parent after: %s\n", echo_through(1 << 20, 3));
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7000) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1, p[2], ok = 0;
	pid_t w[2];

	if (argc != 3 || pipe(p))
		return 2;
	peer = argv[1];
	local = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 16))
		return perror("listen"), 1;
	for (int i = 0; i < 2; i++)
		if ((w[i] = fork()) == 0) {
			close(p[0]);
			worker(l, p[1]);
		}
	close(p[1]);
	usleep(500000); /* the workers take the listener over */
	for (int i = 0; i < 6; i++)
		ok += poke();
	printf("6 connections: %d answered, %d reported by the workers\n", ok,
	       served(p[0], 6));
	kill(w[0], SIGKILL);
	waitpid(w[0], NULL, 0);
	usleep(300000);
	ok = 0;
	for (int i = 0; i < 4; i++)
		ok += poke();
	printf("one worker killed, 4 more: %d answered, %d reported\n", ok,
	       served(p[0], 4));
	kill(w[1], SIGKILL);
	waitpid(w[1], NULL, 0);
	close(l);
	fork_under_traffic();
	return 0;
}
