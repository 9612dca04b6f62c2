// SPDX-License-Identifier: MIT
/*
 * kmany ADDR PORT N - opens N TCP connections to an echo server at once
 * (non-blocking, epoll), sends a line on each when it connects, checks
 * each echo, then closes them all. Prints how many exchanged correctly;
 * exits 0 if all N did (within 120 s). With KMANY_HOLD set it says
 * "kmany: holding" after the exchange and keeps them open until killed.
 * kmany -l PORT N - the echo server for it: echoes on every connection
 * until N have been closed by their peers (within 120 s); prints
 * "listening" once ready.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct c {
	int fd;
	int got;
	char line[32];
	int len;
};

static int
serve(const char *port, int n)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6,
				   .sin6_port = htons((uint16_t)atoi(port)) };
	struct epoll_event ev = { .events = EPOLLIN };
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	int zero = 0, ep = epoll_create1(0), closed = 0;
	time_t end = time(NULL) + 120;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 65535)) {
		perror("kmany: listen");
		return 1;
	}
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("listening\n");
	fflush(stdout);
	while (closed < n && time(NULL) < end) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 1000);

		for (int i = 0; i < k; i++) {
			int fd = evs[i].data.fd, c;
			char buf[256];
			ssize_t r;

			if (fd == l) {
				while ((c = accept4(l, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					ev.data.fd = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			r = read(fd, buf, sizeof(buf));
			if (r > 0 && write(fd, buf, (size_t)r) == r)
				continue;
			if (r < 0 && errno == EAGAIN)
				continue;
			closed++;
			close(fd);
		}
	}
	printf("kmany: %d of %d connections served\n", closed, n);
	return closed == n ? 0 : 1;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	struct rlimit rl;
	struct c *cs;
	int n, ep, done = 0, failed = 0;
	time_t end = time(NULL) + 120;

	if (argc != 4)
		return 2;
	n = atoi(argv[3]);
	rl.rlim_cur = rl.rlim_max = (rlim_t)n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	if (!strcmp(argv[1], "-l"))
		return serve(argv[2], n);
	if (getaddrinfo(argv[1], argv[2], &hints, &ai))
		return 2;
	cs = calloc((size_t)n, sizeof(*cs));
	ep = epoll_create1(0);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN,
					  .data.ptr = &cs[i] };

		cs[i].fd =
			socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cs[i].len = snprintf(cs[i].line, sizeof(cs[i].line),
				     "connection %06d\n", i);
		if (cs[i].fd < 0 ||
		    (connect(cs[i].fd, ai->ai_addr, ai->ai_addrlen) &&
		     errno != EINPROGRESS)) {
			perror("kmany: connect");
			return 1;
		}
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	while (done + failed < n && time(NULL) < end) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 1000);

		for (int i = 0; i < k; i++) {
			struct c *c = evs[i].data.ptr;
			char buf[64];
			ssize_t r;

			if (evs[i].events & EPOLLOUT) {
				struct epoll_event ev = { .events = EPOLLIN,
							  .data.ptr = c };

				if (write(c->fd, c->line, (size_t)c->len) !=
				    c->len)
					failed++;
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				continue;
			}
			r = read(c->fd, buf, sizeof(buf));
			if (r <= 0) {
				failed++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				continue;
			}
			c->got += (int)r;
			if (c->got == c->len) {
				done++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	if (getenv("KMANY_HOLD")) {
		printf("kmany: holding %d connections\n", done);
		fflush(stdout);
		for (;;)
			pause();
	}
	/* All of them were open at once; now close them all. */
	for (int i = 0; i < n; i++)
		close(cs[i].fd);
	printf("kmany: %d of %d connections exchanged correctly, %d failed\n",
	       done, n, failed);
	return done == n ? 0 : 1;
}
