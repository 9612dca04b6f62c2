// SPDX-License-Identifier: MIT
/*
 * sem_signal PEER LOCAL - signals and blocking socket calls, as a
 * transcript (see sem_tcp.c): a blocking recv or accept interrupted by a
 * handler with SA_RESTART goes on, without it fails with EINTR; a socket
 * timeout or epoll_wait always gives EINTR; signal() restarts (BSD);
 * sigaction reports the program's own handler back. A signal that comes
 * 50 ms into a recv still interrupts it (sockapi.signals runs vstack with
 * VSTACK_SPIN_US=100000: the signal comes while the call spins, before
 * it sleeps, and must not be lost there).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sem.h"

static const char *peer, *local;
static pthread_t main_thread;
static volatile sig_atomic_t handled;
static int late_fd = -1;
static useconds_t poke_us = 200000; /* when the poker signals */

static void
on_alarm(int sig)
{
	(void)sig;
	handled++;
}

static void
install(int flags)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
}

/* After 200 ms a signal to the main thread; after 500 ms `late` to the
 * echo (or, with late_fd < 0, the peer connects back to LOCAL:7000). */
static void *
poker(void *arg)
{
	(void)arg;
	usleep(poke_us);
	pthread_kill(main_thread, SIGUSR1);
	usleep(500000 - poke_us);
	if (late_fd >= 0) {
		if (send(late_fd, "late", 4, 0) != 4)
			perror("send");
	} else {
		struct sockaddr_in p = { .sin_family = AF_INET,
					 .sin_port = htons(8000) };
		char cmd[64];
		int c = socket(AF_INET, SOCK_STREAM, 0);

		inet_pton(AF_INET, peer, &p.sin_addr);
		snprintf(cmd, sizeof(cmd), "connect %s 7000\n", local);
		if (connect(c, (struct sockaddr *)&p, sizeof(p)) ||
		    send(c, cmd, strlen(cmd), 0) < 0)
			perror("control");
		usleep(300000);
		close(c);
	}
	return NULL;
}

static void
recv_case(const char *what, int flags, int timeout_s)
{
	char b[8] = "";
	pthread_t t;
	ssize_t k;
	int fd = echo_conn(peer);

	if (timeout_s) {
		struct timeval tv = { timeout_s, 0 };

		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	install(flags);
	late_fd = fd;
	pthread_create(&t, NULL, poker, NULL);
	k = recv(fd, b, 4, 0);
	if (k < 0)
		printf("%s: recv -1 %s, handler ran %d\n", what,
		       errno == EINTR ? "EINTR" : strerror(errno), handled);
	else
		printf("%s: recv %zd \"%.4s\", handler ran %d\n", what, k, b,
		       handled);
	pthread_join(t, NULL);
	if (k < 0) {
		k = recv(fd, b, 4, MSG_WAITALL);
		printf("%s: recv again %zd \"%.4s\"\n", what, k, b);
	}
	close(fd);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons(7000) };
	struct sigaction old;
	struct epoll_event ev;
	pthread_t t;
	int l, a, one = 1, ep;

	if (argc != 3)
		return 2;
	peer = argv[1];
	local = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	main_thread = pthread_self();

	recv_case("SA_RESTART", SA_RESTART, 0);
	recv_case("no SA_RESTART", 0, 0);
	recv_case("SA_RESTART, SO_RCVTIMEO", SA_RESTART, 5);
	poke_us = 50000;
	recv_case("no SA_RESTART, signal at 50 ms", 0, 3);
	recv_case("SA_RESTART, signal at 50 ms", SA_RESTART, 0);
	poke_us = 200000;
	sigaction(SIGUSR1, NULL, &old);
	printf("sigaction reports the handler: %d, SA_RESTART %d\n",
	       old.sa_handler == on_alarm, (old.sa_flags & SA_RESTART) != 0);
	signal(SIGUSR1, on_alarm);
	sigaction(SIGUSR1, NULL, &old);
	printf("signal(): SA_RESTART %d\n", (old.sa_flags & SA_RESTART) != 0);

	/* accept, restarted */
	l = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 4))
		perror("listen");
	install(SA_RESTART);
	late_fd = -1;
	pthread_create(&t, NULL, poker, NULL);
	a = accept(l, NULL, NULL);
	printf("accept with SA_RESTART: %s, handler ran %d\n",
	       a >= 0 ? "fd" : strerror(errno), handled);
	pthread_join(t, NULL);
	if (a >= 0) {
		char b[4];

		if (recv(a, b, 4, MSG_WAITALL) == 4 &&
		    send(a, "pong", 4, 0) == 4)
			printf("ping pong: ok\n");
		close(a);
	}

	/* epoll_wait: EINTR whatever the flags */
	ep = epoll_create1(0);
	ev.events = EPOLLIN;
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	install(SA_RESTART);
	late_fd = -1;
	pthread_create(&t, NULL, poker, NULL);
	a = epoll_wait(ep, &ev, 1, 3000);
	printf("epoll_wait with SA_RESTART: %d %s, handler ran %d\n", a,
	       a < 0 && errno == EINTR ? "EINTR" : "", handled);
	pthread_join(t, NULL);
	a = accept(l, NULL, NULL);
	if (a >= 0) {
		char b[4];

		if (recv(a, b, 4, MSG_WAITALL) == 4 &&
		    send(a, "pong", 4, 0) == 4)
			printf("ping pong: ok\n");
		close(a);
	}
	close(ep);
	close(l);
	return 0;
}
