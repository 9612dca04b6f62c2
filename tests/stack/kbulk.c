// SPDX-License-Identifier: MIT
/*
 * kbulk ADDR PORT SIZE - a kernel TCP client for bulk tests: sends SIZE
 * (MiB, or bytes when it ends in b: 3000b) of a seeded pseudo-random
 * stream while reading the echo back,
 * checking every byte against the same stream. Prints the rate; exits 0
 * when all came back identical.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;
static uint64_t total;

static uint8_t
next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint8_t)(*s >> 24);
}

static void *
writer(void *arg)
{
	uint64_t s = 0x9e3779b97f4a7c15ull, sent = 0;
	uint8_t buf[65536];

	(void)arg;
	while (sent < total) {
		size_t n =
			total - sent < sizeof(buf) ? total - sent : sizeof(buf);

		for (size_t i = 0; i < n; i++)
			buf[i] = next(&s);
		for (size_t off = 0; off < n;) {
			ssize_t w = write(fd, buf + off, n - off);

			if (w <= 0)
				exit(3);
			off += (size_t)w;
		}
		sent += n;
	}
	shutdown(fd, SHUT_WR);
	return NULL;
}

int
main(int argc, char **argv)
{
	struct addrinfo *ai, hints = { .ai_socktype = SOCK_STREAM };
	uint64_t s = 0x9e3779b97f4a7c15ull, got = 0;
	uint8_t buf[65536];
	struct timespec t0, t1;
	pthread_t w;
	double secs;
	char *end;

	if (argc != 4 || getaddrinfo(argv[1], argv[2], &hints, &ai))
		return 2;
	total = strtoull(argv[3], &end, 10);
	if (*end != 'b')
		total <<= 20; /* MiB, unless the size ends in b (bytes) */
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (connect(fd, ai->ai_addr, ai->ai_addrlen))
		return perror("kbulk: connect"), 1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_create(&w, NULL, writer, NULL);
	while (got < total) {
		ssize_t n = read(fd, buf, sizeof(buf));

		if (n <= 0) {
			fprintf(stderr,
				"kbulk: stream ended after %llu bytes\n",
				(unsigned long long)got);
			return 1;
		}
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != next(&s)) {
				fprintf(stderr, "kbulk: byte %llu differs\n",
					(unsigned long long)(got +
							     (uint64_t)i));
				return 1;
			}
		got += (uint64_t)n;
	}
	pthread_join(w, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("kbulk: %llu MiB each way identical, %.1f s, %.1f MB/s each way\n",
	       (unsigned long long)(total >> 20), secs, total / secs / 1e6);
	close(fd);
	return 0;
}
