// SPDX-License-Identifier: MIT
/* kecho PORT N - a kernel TCP echo server (IPv4 and IPv6) for N
 * connections, one at a time; prints "listening" once ready. */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6 };
	int s = socket(AF_INET6, SOCK_STREAM, 0), one = 1, zero = 0;

	if (argc != 3)
		return 2;
	sa.sin6_port = htons((uint16_t)atoi(argv[1]));
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) || listen(s, 8))
		return perror("kecho"), 1;
	printf("listening\n");
	fflush(stdout);
	for (int i = 0; i < atoi(argv[2]); i++) {
		char buf[4096];
		ssize_t n;
		int c = accept(s, NULL, NULL);

		while (c >= 0 && (n = read(c, buf, sizeof(buf))) > 0)
			if (write(c, buf, (size_t)n) != n)
				break;
		close(c);
	}
	return 0;
}
