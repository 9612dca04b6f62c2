// SPDX-License-Identifier: MIT
/*
 * udp_echo - a UDP echo server that takes datagrams one call each or in
 * batches, and a load generator that keeps a window of them in flight
 * (bench/udp.sh, "echo"). Plain sockets: run the server on the kernel or
 * under LD_PRELOAD=libvstack.so.
 *
 *   udp_echo server PORT BATCH
 *       echoes on PORT (IPv4, any address) until SIGTERM; BATCH 1:
 *       recvfrom + sendto per datagram, else recvmmsg (MSG_WAITFORONE)
 *       + sendmmsg of up to BATCH. Prints "listening (pid N)", and at
 *       exit "echoed D datagrams in C receive calls".
 *   udp_echo client ADDR PORT WINDOW COUNT [SIZE]
 *       sends COUNT datagrams of SIZE bytes (default 64), WINDOW in
 *       flight, each echo answered by the next; a window that sees no
 *       echo for 200 ms is sent again (counted as lost). Prints
 *       "echoed N in S s: R/s, L lost"; exit 1 if it gave up (10 s
 *       without an echo).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXB 64

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
server(int port, int batch)
{
	static char buf[MAXB][2048];
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	struct sockaddr_storage from[MAXB];
	struct iovec iov[MAXB];
	struct mmsghdr m[MAXB];
	struct sigaction act = { .sa_handler = on_term };
	unsigned long long echoed = 0, calls = 0;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (batch < 1 || batch > MAXB)
		return fprintf(stderr, "udp_echo: BATCH is 1 to %d\n", MAXB), 2;
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)))
		return perror("udp_echo: bind"), 1;
	sigaction(SIGTERM, &act, NULL); /* no SA_RESTART: the wait ends */
	printf("listening (pid %d)\n", (int)getpid());
	fflush(stdout);
	while (!stop) {
		int n;

		if (batch == 1) {
			socklen_t fl = sizeof(from[0]);
			ssize_t k = recvfrom(s, buf[0], sizeof(buf[0]), 0,
					     (struct sockaddr *)&from[0], &fl);

			calls++;
			if (k < 0)
				continue;
			if (sendto(s, buf[0], (size_t)k, 0,
				   (struct sockaddr *)&from[0], fl) == k)
				echoed++;
			continue;
		}
		for (int i = 0; i < batch; i++) {
			iov[i] = (struct iovec){ buf[i], sizeof(buf[i]) };
			m[i].msg_hdr = (struct msghdr){
				.msg_name = &from[i],
				.msg_namelen = sizeof(from[i]),
				.msg_iov = &iov[i],
				.msg_iovlen = 1,
			};
		}
		n = recvmmsg(s, m, (unsigned)batch, MSG_WAITFORONE, NULL);
		calls++;
		if (n <= 0)
			continue;
		for (int i = 0; i < n; i++)
			iov[i].iov_len = m[i].msg_len;
		n = sendmmsg(s, m, (unsigned)n, 0);
		echoed += n > 0 ? (unsigned)n : 0;
	}
	printf("echoed %llu datagrams in %llu receive calls\n", echoed, calls);
	return 0;
}

static int
client(const char *addr, int port, int window, long count, size_t size)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port) };
	char out[2048] = { 0 }, in[2048];
	long sent = 0, got = 0, lost = 0, inflight = 0;
	double t0, quiet = 0;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (size > sizeof(out) || window < 1 || count < 1 ||
	    inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return fprintf(stderr, "udp_echo: bad arguments\n"), 2;
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)))
		return perror("udp_echo: connect"), 1;
	t0 = now_s();
	while (got < count) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		int r;

		while (inflight < window && sent < count + lost) {
			if (send(s, out, size, 0) < 0 && errno != ENOBUFS)
				return perror("udp_echo: send"), 1;
			sent++;
			inflight++;
		}
		r = poll(&p, 1, 200);
		if (r == 0) { /* the window is gone: send it again */
			quiet += 0.2;
			if (quiet >= 10)
				return fprintf(stderr,
					       "udp_echo: no echo for 10 s\n"),
				       1;
			lost += inflight;
			inflight = 0;
			continue;
		}
		quiet = 0;
		while (recv(s, in, sizeof(in), MSG_DONTWAIT) >= 0) {
			got++;
			if (inflight)
				inflight--;
		}
	}
	t0 = now_s() - t0;
	printf("echoed %ld in %.2f s: %.0f/s, %ld lost\n", got, t0,
	       (double)got / t0, lost);
	return 0;
}

int
main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), atoi(argv[3]));
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atoi(argv[4]),
			      atol(argv[5]),
			      argc == 7 ? (size_t)atol(argv[6]) : 64);
	fprintf(stderr,
		"usage: udp_echo server PORT BATCH\n"
		"       udp_echo client ADDR PORT WINDOW COUNT [SIZE]\n");
	return 2;
}
