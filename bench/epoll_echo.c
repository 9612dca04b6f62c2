// SPDX-License-Identifier: MIT
/*
 * epoll_echo PORT - the same echo logic as examples/echo.c on plain
 * sockets: one thread, epoll, non-blocking, level-triggered. bench/api.sh
 * runs it on the kernel and under LD_PRELOAD=libvstack.so, beside the
 * native vs-echo. Prints "ready".
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int l = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1,
	    zero = 0;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN }, evs[64];
	static char buf[65536];

	if (argc != 2)
		return 2;
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 512))
		return perror("epoll_echo"), 1;
	ev.data.fd = l;
	epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int n = epoll_wait(ep, evs, 64, -1);

		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;
			ssize_t k;

			if (fd == l) {
				int c;

				while ((c = accept4(l, NULL, NULL,
						    SOCK_NONBLOCK)) >= 0) {
					ev.data.fd = c;
					setsockopt(c, IPPROTO_TCP,
						   1 /* TCP_NODELAY */, &one,
						   sizeof(one));
					epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
				}
				continue;
			}
			k = read(fd, buf, sizeof(buf));
			if (k > 0) {
				/* Echo all of it; a full send queue blocks briefly
				 * (echo clients wait for their answer anyway). */
				for (ssize_t off = 0, w;
				     off<k; off += w> 0 ? w : 0) {
					w = write(fd, buf + off,
						  (size_t)(k - off));
					if (w < 0 && errno != EAGAIN)
						break;
				}
			} else if (k == 0 || errno != EAGAIN) {
				close(fd);
			}
		}
	}
}
