// SPDX-License-Identifier: MIT
/*
 * peer PORT - the kernel side of the sockapi tests (another namespace).
 * Listens on PORT (IPv4 and IPv6); each connection's first line says
 * what to do:
 *   echo            echo until end of stream, then close
 *   rst             close at once with a reset (SO_LINGER 0)
 *   close           close at once
 *   send N          send N bytes (i % 251), then close
 *   wait            read until end of stream, then close
 *   connect A P     connect to A:P, send "ping", read "pong", close it;
 *                   then answer "done" here and close
 *   watch ID        read until end of stream or error; write how it
 *                   ended ("eof N" or "reset N", N bytes read) to
 *                   /tmp/vstack-peer-ID
 *   chatter ID      send a byte every 50 ms for 2 s; write how it ended
 *                   ("reset" when a send failed: the other side reset,
 *                   or "done") to /tmp/vstack-peer-ID
 *   result ID       answer what `watch ID` or `chatter ID` wrote
 *                   (waiting for it)
 *   stall N         read nothing for N seconds, then close
 *   vanish N        answer "gone", then take every link of the namespace
 *                   down for N seconds (addresses kept): the peer is
 *                   silent, as if unplugged; then close
 *   whoami          answer "port N": the port the connection comes from
 * and on UDP port PORT, echoes every datagram to its sender.
 * Prints "listening" once ready; one process per connection.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int
line(int fd, char *buf, size_t n)
{
	size_t i = 0;

	while (i + 1 < n && read(fd, buf + i, 1) == 1 && buf[i] != '\n')
		i++;
	buf[i] = 0;
	return (int)i;
}

static void
serve(int fd)
{
	char cmd[128], buf[65536];
	ssize_t k;

	line(fd, cmd, sizeof(cmd));
	if (!strcmp(cmd, "echo")) {
		while ((k = read(fd, buf, sizeof(buf))) > 0)
			if (write(fd, buf, (size_t)k) != k)
				break;
	} else if (!strcmp(cmd, "rst")) {
		struct linger l = { 1, 0 };

		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	} else if (!strncmp(cmd, "send ", 5)) {
		long n = atol(cmd + 5);

		for (long i = 0; i < n; i++)
			buf[i % sizeof(buf)] = (char)(i % 251);
		while (n > 0) {
			k = write(fd, buf,
				  n < (long)sizeof(buf) ? (size_t)n :
							  sizeof(buf));
			if (k <= 0)
				break;
			n -= k;
		}
	} else if (!strcmp(cmd, "wait")) {
		while (read(fd, buf, sizeof(buf)) > 0)
			;
	} else if (!strncmp(cmd, "watch ", 6)) {
		char path[160], tmp[170];
		long got = 0;
		FILE *f;

		while ((k = read(fd, buf, sizeof(buf))) > 0)
			got += k;
		snprintf(path, sizeof(path), "/tmp/vstack-peer-%s", cmd + 6);
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		f = fopen(tmp, "w");
		if (f) { /* whole, then renamed: `result` never reads half */
			fprintf(f, "%s %ld\n",
				k < 0 && errno == ECONNRESET ? "reset" :
				k < 0			     ? "error" :
							       "eof",
				got);
			fclose(f);
			rename(tmp, path);
		}
	} else if (!strncmp(cmd, "chatter ", 8)) {
		char path[160], tmp[170];
		const char *how = "done";
		FILE *f;

		signal(SIGPIPE, SIG_IGN);
		for (int i = 0; i < 40; i++) {
			if (send(fd, "c", 1, MSG_NOSIGNAL) != 1) {
				how = "reset";
				break;
			}
			usleep(50000);
		}
		snprintf(path, sizeof(path), "/tmp/vstack-peer-%s", cmd + 8);
		snprintf(tmp, sizeof(tmp), "%s.new", path);
		f = fopen(tmp, "w");
		if (f) {
			fprintf(f, "%s\n", how);
			fclose(f);
			rename(tmp, path);
		}
	} else if (!strncmp(cmd, "result ", 7)) {
		char path[160], res[64] = "none\n";
		FILE *f = NULL;

		snprintf(path, sizeof(path), "/tmp/vstack-peer-%s", cmd + 7);
		for (int i = 0; i < 50 && !(f = fopen(path, "r")); i++)
			usleep(100000);
		if (f) {
			if (!fgets(res, sizeof(res), f))
				strcpy(res, "none\n");
			fclose(f);
			unlink(path);
		}
		k = write(fd, res, strlen(res));
	} else if (!strncmp(cmd, "stall ", 6)) {
		sleep((unsigned)atoi(cmd + 6));
	} else if (!strncmp(cmd, "vanish ", 7)) {
		char sh[256];

		k = write(fd, "gone\n", 5);
		usleep(100000);
		snprintf(sh, sizeof(sh),
			 "sysctl -qw net.ipv6.conf.all.keep_addr_on_down=1;"
			 "l=$(ls /sys/class/net | grep -vx lo);"
			 "for i in $l; do ip link set $i down; done; sleep %d;"
			 "for i in $l; do ip link set $i up; done",
			 atoi(cmd + 7));
		if (system(sh) != 0)
			fprintf(stderr, "peer: vanish failed\n");
	} else if (!strcmp(cmd, "whoami")) {
		struct sockaddr_in6 from;
		socklen_t fl = sizeof(from);

		if (getpeername(fd, (struct sockaddr *)&from, &fl) == 0) {
			snprintf(buf, sizeof(buf), "port %u\n",
				 ntohs(from.sin6_port));
			k = write(fd, buf, strlen(buf));
		}
	} else if (!strncmp(cmd, "connect ", 8)) {
		char *a = cmd + 8, *p = strchr(a, ' ');
		struct addrinfo *ai, h = { .ai_socktype = SOCK_STREAM };
		int c;

		if (p)
			*p++ = 0;
		if (p && !getaddrinfo(a, p, &h, &ai) &&
		    (c = socket(ai->ai_family, SOCK_STREAM, 0)) >= 0 &&
		    !connect(c, ai->ai_addr, ai->ai_addrlen) &&
		    write(c, "ping", 4) == 4 && read(c, buf, 4) == 4 &&
		    !memcmp(buf, "pong", 4)) {
			close(c);
			k = write(fd, "done\n", 5);
		} else {
			k = write(fd, "failed\n", 7);
		}
	}
	close(fd);
}

int
main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int l = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;

	if (argc != 2)
		return 2;
	signal(SIGCHLD, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(l, (struct sockaddr *)&sa, sizeof(sa)) || listen(l, 64))
		return perror("peer"), 1;
	if (fork() == 0) { /* the UDP echo */
		static char d[65536];
		int u = socket(AF_INET6, SOCK_DGRAM, 0);

		setsockopt(u, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		if (bind(u, (struct sockaddr *)&sa, sizeof(sa)))
			_exit(1);
		for (;;) {
			struct sockaddr_in6 from;
			socklen_t fl = sizeof(from);
			ssize_t k = recvfrom(u, d, sizeof(d), 0,
					     (struct sockaddr *)&from, &fl);

			if (k >= 0)
				sendto(u, d, (size_t)k, 0,
				       (struct sockaddr *)&from, fl);
		}
	}
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(l, NULL, NULL);

		if (fd < 0)
			continue;
		if (fork() == 0) {
			close(l);
			serve(fd);
			_exit(0);
		}
		close(fd);
	}
}
