// SPDX-License-Identifier: MIT
/*
 * kmany [-s SRC]... [-b BASE] [-r ROUNDS] [-w WINDOW] [-t SECONDS] [-H]
 *       [-R] ADDR PORT N
 *   opens N TCP connections to an echo server (non-blocking, epoll; at
 *   most WINDOW connecting at a time, default all). With SRC, connection
 *   i comes from the SRC numbered (BASE + i) / 60000, port 1024 +
 *   (BASE + i) % 60000 (several clients share the sources by their
 *   BASEs); without, the kernel picks address and port. Sends a line on
 *   each when it connects and checks its echo (ROUNDS times in turn,
 *   default once), then closes them all. Prints how fast they connected
 *   ("kmany: N connected in T s, R conn/s") and how many exchanged
 *   correctly; exits 0 if all N did (within SECONDS, default 120). With
 *   -H (or KMANY_HOLD set) it says "kmany: holding N connections, pid P"
 *   after the exchange and keeps them open until SIGUSR1 (then each
 *   side closes in turn, WINDOW connections at a time, and it reports as
 *   usual) or until killed. -R
 *   closes them by a reset (SO_LINGER 0).
 * kmany -l PORT N
 *   the echo server for it: echoes on every connection until N have been
 *   closed by their peers (within 120 s; N 0: until killed); prints
 *   "listening, pid P" once ready. With KMANY_KEEPALIVE=S, each accepted
 *   connection has SO_KEEPALIVE with S seconds idle (as redis does). Its listener has SO_REUSEPORT: several share
 *   a port (one process holds ~19,000 descriptors where the hard limit
 *   is 20,000 and cannot be raised).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
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
	int rounds; /* exchanges done */
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
	int ka =
		getenv("KMANY_KEEPALIVE") ? atoi(getenv("KMANY_KEEPALIVE")) : 0;
	time_t end = time(NULL) + (n ? 120 : 86400);

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 65535)) {
		perror("kmany: listen");
		return 1;
	}
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("listening, pid %d\n", (int)getpid());
	fflush(stdout);
	while ((!n || closed < n) && time(NULL) < end) {
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
					if (ka > 0 &&
					    (setsockopt(c, SOL_SOCKET,
							SO_KEEPALIVE, &one,
							sizeof(one)) ||
					     setsockopt(c, IPPROTO_TCP,
							TCP_KEEPIDLE, &ka,
							sizeof(ka))))
						perror("kmany: keepalive");
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

/* Room for n connections (0: as many as allowed): the limit raised as
 * far as allowed (without CAP_SYS_RESOURCE, to the hard limit). */
static int
fds(int n)
{
	struct rlimit rl = { (rlim_t)n + 64, (rlim_t)n + 64 };

	if (n && !setrlimit(RLIMIT_NOFILE, &rl))
		return 0;
	getrlimit(RLIMIT_NOFILE, &rl);
	if (n && rl.rlim_max < (rlim_t)n + 64) {
		fprintf(stderr,
			"kmany: %d connections need %d descriptors, the limit "
			"is %llu: use more processes\n",
			n, n + 64, (unsigned long long)rl.rlim_max);
		return -1;
	}
	rl.rlim_cur = rl.rlim_max;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

/* Sends a FIN on each of the n connections, window at a time, and
 * waits (until end) for each peer's; returns how many closed their side
 * (*errs of them by an error). */
static int
shut_all(int ep, struct c *cs, int n, int window, time_t end, int *errs)
{
	int eof = 0, shut = 0;

	while (eof < n && time(NULL) < end) {
		struct epoll_event evs[256];
		int k;

		for (; shut < n && shut - eof < window; shut++) {
			struct epoll_event ev = { .events = EPOLLIN,
						  .data.ptr = &cs[shut] };

			shutdown(cs[shut].fd, SHUT_WR);
			if (epoll_ctl(ep, EPOLL_CTL_ADD, cs[shut].fd, &ev))
				epoll_ctl(ep, EPOLL_CTL_MOD, cs[shut].fd, &ev);
		}
		k = epoll_wait(ep, evs, 256, 1000);

		for (int i = 0; i < k; i++) {
			struct c *c = evs[i].data.ptr;
			char buf[64];

			ssize_t r = read(c->fd, buf, sizeof(buf));

			if (r > 0 || (r < 0 && errno == EAGAIN))
				continue;
			if (r < 0) {
				(*errs)++;
				fprintf(stderr, "kmany: %.*s: %s\n", c->len - 1,
					c->line, strerror(errno));
			}
			eof++;
			epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		}
	}
	return eof;
}

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Connection g of all the clients' (-b): from source address
 * g / SRC_PORTS, port 1024 + g % SRC_PORTS (the kernel's search for a
 * free port would cost more than the server's accept). */
#define SRC_PORTS 60000

static int
start(struct c *c, int i, int g, const struct addrinfo *ai, char **src,
      int nsrc)
{
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
	c->len = snprintf(c->line, sizeof(c->line), "connection %06d\n", i);
	if (c->fd < 0)
		return -1;
	if (nsrc) {
		struct sockaddr_in sa = {
			.sin_family = AF_INET,
			.sin_port = htons((uint16_t)(1024 + g % SRC_PORTS))
		};
		int one = 1;

		setsockopt(c->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (g / SRC_PORTS >= nsrc ||
		    inet_pton(AF_INET, src[g / SRC_PORTS], &sa.sin_addr) != 1 ||
		    bind(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
			return -1;
	}
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
		return -1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	struct c *cs;
	char *src[64];
	int n, ep, done = 0, failed = 0, nsrc = 0, window = 0, secs = 120;
	int started = 0, connected = 0, base = 0, rounds = 1, opt;
	bool hold = getenv("KMANY_HOLD"), reset = false;
	double t0, t1 = 0;
	time_t end;

	if (argc == 4 && !strcmp(argv[1], "-l")) {
		n = atoi(argv[3]);
		return fds(n) ? 1 : serve(argv[2], n);
	}
	while ((opt = getopt(argc, argv, "s:b:r:w:t:HR")) != -1) {
		if (opt == 's' && nsrc < 64)
			src[nsrc++] = optarg;
		else if (opt == 'b')
			base = atoi(optarg);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else if (opt == 'w')
			window = atoi(optarg);
		else if (opt == 't')
			secs = atoi(optarg);
		else if (opt == 'H')
			hold = true;
		else if (opt == 'R')
			reset = true;
		else
			return 2;
	}
	if (argc - optind != 3)
		return 2;
	argv += optind - 1;
	n = atoi(argv[3]);
	if (window <= 0 || window > n)
		window = n;
	if (fds(n))
		return 1;
	if (getaddrinfo(argv[1], argv[2], &hints, &ai))
		return 2;
	cs = calloc((size_t)n, sizeof(*cs));
	ep = epoll_create1(0);
	end = time(NULL) + secs;
	t0 = now();
	while (done + failed < n && time(NULL) < end) {
		struct epoll_event evs[256];
		int k;

		/* Keep WINDOW connecting. */
		while (started < n && started - connected < window) {
			struct epoll_event ev = { .events = EPOLLOUT | EPOLLIN,
						  .data.ptr = &cs[started] };

			if (start(&cs[started], started, base + started, ai,
				  src, nsrc)) {
				perror("kmany: connect");
				return 1;
			}
			epoll_ctl(ep, EPOLL_CTL_ADD, cs[started].fd, &ev);
			started++;
		}
		k = epoll_wait(ep, evs, 256, 1000);
		for (int i = 0; i < k; i++) {
			struct c *c = evs[i].data.ptr;
			char buf[64];
			ssize_t r;

			if (evs[i].events & EPOLLOUT) {
				struct epoll_event ev = { .events = EPOLLIN,
							  .data.ptr = c };

				if (++connected == n)
					t1 = now();
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
			if (c->got == c->len && ++c->rounds < rounds) {
				c->got = 0; /* again (-r) */
				if (write(c->fd, c->line, (size_t)c->len) !=
				    c->len)
					failed++;
			} else if (c->got == c->len) {
				done++;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
			}
		}
	}
	if (t1 > t0)
		printf("kmany: %d connected in %.2f s, %.0f conn/s\n", n,
		       t1 - t0, n / (t1 - t0));
	if (hold) {
		sigset_t usr1;
		int sig;

		sigemptyset(&usr1);
		sigaddset(&usr1, SIGUSR1);
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		printf("kmany: holding %d connections, pid %d\n", done,
		       (int)getpid());
		fflush(stdout);
		sigwait(&usr1, &sig);
		/* Each side closes in turn: a FIN, then the peer's (no
		 * orphan the kernel may reset for want of memory). */
		int errs = 0,
		    k = shut_all(ep, cs, started, window, end + 600, &errs);

		printf("kmany: %d of %d closed by the peer, %d by an error\n",
		       k, started, errs);
	}
	/* All of them were open at once; now close them all (-R: by a
	 * reset, which leaves the kernel nothing to tear down later). */
	for (int i = 0; i < started; i++) {
		struct linger lg = { 1, 0 };

		if (reset)
			setsockopt(cs[i].fd, SOL_SOCKET, SO_LINGER, &lg,
				   sizeof(lg));
		close(cs[i].fd);
	}
	printf("kmany: %d of %d connections exchanged correctly, %d failed\n",
	       done, n, failed);
	return done == n ? 0 : 1;
}
