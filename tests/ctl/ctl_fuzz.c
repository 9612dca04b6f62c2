// SPDX-License-Identifier: MIT
/*
 * ctl_fuzz SOCKET [N] - malformed requests against a vstack process's
 * control socket: bad magic, version, kind, reserved bytes, lengths,
 * characters, argument syntax, unknown commands, then N random payloads
 * behind valid headers and N random headers. Every well-framed one must
 * get an "error: " reply (or "ok" for the rare random valid request), a
 * truncated one no reply and no harm; a client that sends a byte every
 * 400 ms holds the server no longer than its 1 s deadline for a whole
 * request (an "info" meanwhile is answered within 2.5 s); afterwards
 * "info" must still work.
 * Prints what it sent and got; exits 0 if all held.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *path;
static int failures;

static int
dial(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		perror("ctl_fuzz: connect");
		exit(1);
	}
	return fd;
}

static void
header(uint8_t h[12], const char *magic, int version, int kind, uint32_t len)
{
	memcpy(h, magic, 4);
	h[4] = (uint8_t)version;
	h[5] = (uint8_t)kind;
	h[6] = h[7] = 0;
	for (int i = 0; i < 4; i++)
		h[8 + i] = (uint8_t)(len >> (8 * i));
}

/* Sends raw bytes, reads whatever reply comes within 2 s (its payload). */
static int
exchange(const void *msg, size_t len, char *reply, size_t cap)
{
	int fd = dial();
	size_t got = 0;

	if (write(fd, msg, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t k;

		if (poll(&p, 1, 2000) <= 0)
			break;
		k = read(fd, reply + got, cap - 1 - got);
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	reply[got] = 0;
	return (int)got;
}

/* A well-framed request must get "error: ..." (or ok when expect_ok). */
static void
expect(const char *what, const void *msg, size_t len, int want)
{
	char reply[70000];
	int n = exchange(msg, len, reply, sizeof(reply));
	const char *p = n >= 12 ? reply + 12 : "";
	int ok = want == 0 ? n == 0 :
		 want == 1 ? !strncmp(p, "error: ", 7) :
			     !strncmp(p, "ok\n", 3);

	printf("%-40s -> %.*s\n", what, (int)strcspn(p, "\n"),
	       n ? p : "(no reply)");
	if (!ok) {
		printf("FAIL: %s: unexpected reply\n", what);
		failures++;
	}
}

static void
request(const char *what, const char *text, int kind, int want)
{
	uint8_t msg[256];
	size_t l = strlen(text);

	header(msg, "VSCT", 1, kind, (uint32_t)l);
	memcpy(msg + 12, text, l);
	expect(what, msg, 12 + l, want);
}

static double
now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* A client dribbling a valid request, a byte every 400 ms (6.4 s in
 * all), must not hold the server: another's "info" gets its answer. */
static void
slow_client(void)
{
	uint8_t msg[16];
	pid_t child;
	double t0;

	header(msg, "VSCT", 1, 1, 4);
	memcpy(msg + 12, "info", 4);
	child = fork();
	if (child == 0) {
		int fd = dial();

		for (int i = 0; i < 16; i++) {
			if (write(fd, msg + i, 1) != 1)
				break;
			usleep(400000);
		}
		_exit(0);
	}
	usleep(300000); /* it has connected and sent its first byte */
	t0 = now_s();
	request("info while a client dribbles", "info", 1, 2);
	printf("answered in %.2f s\n", now_s() - t0);
	if (now_s() - t0 > 2.5) {
		printf("FAIL: a slow client held the server\n");
		failures++;
	}
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

int
main(int argc, char **argv)
{
	uint8_t msg[512];
	int n = argc > 2 ? atoi(argv[2]) : 200;

	if (argc < 2)
		return 2;
	path = argv[1];
	signal(SIGPIPE, SIG_IGN); /* the server may close before reading all */
	srand(42);
	header(msg, "XXXX", 1, 1, 4);
	memcpy(msg + 12, "info", 4);
	expect("bad magic", msg, 16, 1);
	header(msg, "VSCT", 9, 1, 4);
	expect("bad version", msg, 16, 1);
	header(msg, "VSCT", 1, 2, 4);
	expect("a reply sent as a request", msg, 16, 1);
	header(msg, "VSCT", 1, 1, 4);
	msg[6] = 1;
	expect("reserved byte set", msg, 16, 1);
	header(msg, "VSCT", 1, 1, 0x7fffffff);
	expect("length 2 GiB", msg, 12, 1);
	header(msg, "VSCT", 1, 1, 100);
	expect("length beyond the data (truncated)", msg, 20, 0);
	expect("half a header", "VSC", 3, 0);
	request("no command", "", 1, 1);
	request("control characters", "info\x01", 1, 1);
	request("bytes above 0x7e", "info\xff", 1, 1);
	request("unknown command", "frobnicate", 1, 1);
	request("upper case command", "INFO", 1, 1);
	request("arguments to info", "info x=1", 1, 1);
	request("argument without =", "set loglevel", 1, 1);
	request("empty value", "set loglevel=", 1, 1);
	request("bad level", "set loglevel=loud", 1, 1);
	request("duplicate key", "set loglevel=info loglevel=warn", 1, 1);
	request("two spaces", "set  loglevel=info", 1, 1);
	request("trailing space", "info ", 1, 1);
	request("17 arguments",
		"set a=1 b=1 c=1 d=1 e=1 f=1 g=1 h=1 i=1 j=1 k=1 l=1 m=1 n=1 o=1 p=1 q=1",
		1, 1);
	for (int i = 0; i < n; i++) { /* random payloads behind a good header */
		size_t l = (size_t)(rand() % 200);
		char reply[70000];
		int got;

		header(msg, "VSCT", 1, 1, (uint32_t)l);
		for (size_t k = 0; k < l; k++)
			msg[12 + k] = (uint8_t)(rand() % 256);
		got = exchange(msg, 12 + l, reply, sizeof(reply));
		if (got < 12 || (strncmp(reply + 12, "error: ", 7) &&
				 strncmp(reply + 12, "ok\n", 3))) {
			printf("FAIL: random payload %d: no proper reply\n", i);
			failures++;
		}
	}
	for (int i = 0; i < n; i++) { /* random headers */
		char reply[70000];

		for (int k = 0; k < 16; k++)
			msg[k] = (uint8_t)(rand() % 256);
		exchange(msg, 16, reply, sizeof(reply));
	}
	printf("%d random payloads and %d random headers sent\n", n, n);
	slow_client();
	request("info, after all that", "info", 1, 2);
	printf("%s\n", failures ? "ctl_fuzz: FAILED" :
				  "ctl_fuzz: the process kept serving");
	return failures != 0;
}
