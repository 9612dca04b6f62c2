// SPDX-License-Identifier: MIT
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <signal.h>
#include <unistd.h>

#include "base/clock.h"
#include "ctl/proto.h"

static const char magic[4] = { 'V', 'S', 'C', 'T' };

/* n bytes before the deadline (CLOCK_MONOTONIC ms), however slowly the
 * peer reads: one that takes a byte now and then cannot stretch a
 * message past it. */
static int
send_all(int fd, const void *p, size_t n, uint64_t deadline_ms)
{
	const char *c = p;

	while (n) {
		struct pollfd pf = { .fd = fd, .events = POLLOUT };
		ssize_t k = send(fd, c, n, MSG_DONTWAIT | MSG_NOSIGNAL);
		uint64_t now;
		int rc;

		if (k > 0) {
			c += k;
			n -= (size_t)k;
			continue;
		}
		if (k == 0)
			return -EPIPE;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		now = vs__now_ms();
		rc = now >= deadline_ms ?
			     0 :
			     poll(&pf, 1, (int)(deadline_ms - now));
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc == 0)
			return -ETIMEDOUT;
	}
	return 0;
}

int
vs__ctl_send(int fd, int kind, const char *payload, size_t len,
	     uint64_t deadline_ms)
{
	uint8_t h[VS_CTL_HDR] = { 0 };
	int rc;

	if (len > VS_CTL_MAX)
		return -EMSGSIZE;
	memcpy(h, magic, 4);
	h[4] = VS_CTL_VERSION;
	h[5] = (uint8_t)kind;
	for (int i = 0; i < 4; i++)
		h[8 + i] = (uint8_t)(len >> (8 * i));
	rc = send_all(fd, h, sizeof(h), deadline_ms);
	return rc ? rc : send_all(fd, payload, len, deadline_ms);
}

/* n bytes before the deadline (CLOCK_MONOTONIC ms): a peer that sends a
 * byte now and then cannot stretch a message past it. */
static int
read_all(int fd, void *p, size_t n, uint64_t deadline_ms)
{
	char *c = p;

	while (n) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		uint64_t now = vs__now_ms();
		ssize_t k;
		int rc = now >= deadline_ms ?
				 0 :
				 poll(&pf, 1, (int)(deadline_ms - now));

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return rc < 0 ? -errno : -ETIMEDOUT;
		k = read(fd, c, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? -errno : -ECONNRESET;
		c += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A message of kind, or (part_ok) a part, whose kind goes to *got. */
static int
recv_msg(int fd, int kind, bool part_ok, int *got, char *buf, size_t cap,
	 size_t *len, int timeout_ms, char *err, size_t errlen)
{
	uint64_t deadline = vs__now_ms() + (uint64_t)timeout_ms;
	uint8_t h[VS_CTL_HDR];
	uint32_t n = 0;
	int rc = read_all(fd, h, sizeof(h), deadline);

	if (rc)
		return rc;
	for (int i = 0; i < 4; i++)
		n |= (uint32_t)h[8 + i] << (8 * i);
	if (memcmp(h, magic, 4)) {
		snprintf(err, errlen, "not a vstack control message");
		return -EPROTO;
	}
	if (h[4] != VS_CTL_VERSION) {
		snprintf(err, errlen,
			 "protocol version %u, this side speaks %u", h[4],
			 VS_CTL_VERSION);
		return -EPROTO;
	}
	*got = h[5];
	if ((h[5] != kind && !(part_ok && h[5] == VS_CTL_PART)) || h[6] ||
	    h[7]) {
		snprintf(err, errlen, "a message of kind %u, %u expected", h[5],
			 kind);
		return -EPROTO;
	}
	if (n > VS_CTL_MAX || n >= cap) {
		snprintf(err, errlen, "a message of %u bytes, at most %zu", n,
			 cap - 1 < VS_CTL_MAX ? cap - 1 : (size_t)VS_CTL_MAX);
		return -EPROTO;
	}
	rc = read_all(fd, buf, n, deadline);
	if (rc)
		return rc;
	buf[n] = 0;
	*len = n;
	return 0;
}

int
vs__ctl_recv(int fd, int kind, char *buf, size_t cap, size_t *len,
	     int timeout_ms, char *err, size_t errlen)
{
	int got;

	return recv_msg(fd, kind, false, &got, buf, cap, len, timeout_ms, err,
			errlen);
}

int
vs__ctl_recv_part(int fd, char *buf, size_t cap, size_t *len, int timeout_ms,
		  bool *more, char *err, size_t errlen)
{
	int got = 0, rc = recv_msg(fd, VS_CTL_REPLY, true, &got, buf, cap, len,
				   timeout_ms, err, errlen);

	*more = got == VS_CTL_PART;
	return rc;
}

/* The next space-separated word of p[*i..len): [start, end). */
static bool
word(const char *p, size_t len, size_t *i, size_t *start, size_t *end)
{
	if (*i >= len)
		return false;
	*start = *i;
	while (*i < len && p[*i] != ' ')
		(*i)++;
	*end = *i;
	if (*i < len)
		(*i)++; /* the single space */
	return true;
}

static bool
name_ok(const char *p, size_t n, size_t max)
{
	if (!n || n >= max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)p[i]) &&
		    !isdigit((unsigned char)p[i]) && p[i] != '_')
			return false;
	return true;
}

int
vs__ctl_parse(const char *p, size_t len, struct vs_ctl_req *r, char *err,
	      size_t errlen)
{
	size_t i = 0, s, e;

	memset(r, 0, sizeof(*r));
	for (size_t k = 0; k < len; k++)
		if (p[k] < 0x20 || p[k] > 0x7e) {
			snprintf(err, errlen, "byte %zu is not printable ASCII",
				 k);
			return -EINVAL;
		}
	if (len && (p[0] == ' ' || p[len - 1] == ' ')) {
		snprintf(err, errlen, "leading or trailing space");
		return -EINVAL;
	}
	if (!word(p, len, &i, &s, &e) ||
	    !name_ok(p + s, e - s, sizeof(r->cmd))) {
		snprintf(err, errlen,
			 "no command word ([a-z0-9_], 1..31 characters)");
		return -EINVAL;
	}
	memcpy(r->cmd, p + s, e - s);
	while (word(p, len, &i, &s, &e)) {
		const char *eq = memchr(p + s, '=', e - s);
		size_t kl, vl;

		if (r->nargs == VS_CTL_ARGS) {
			snprintf(err, errlen, "more than %d arguments",
				 VS_CTL_ARGS);
			return -EINVAL;
		}
		if (!eq) {
			snprintf(err, errlen, "argument %u is not key=value",
				 r->nargs + 1);
			return -EINVAL;
		}
		kl = (size_t)(eq - (p + s));
		vl = e - s - kl - 1;
		if (!name_ok(p + s, kl, sizeof(r->args[0].key))) {
			snprintf(err, errlen, "argument %u: bad key",
				 r->nargs + 1);
			return -EINVAL;
		}
		if (!vl || vl >= sizeof(r->args[0].val)) {
			snprintf(err, errlen,
				 "argument %u: empty or too long value",
				 r->nargs + 1);
			return -EINVAL;
		}
		for (unsigned k = 0; k < r->nargs; k++)
			if (strlen(r->args[k].key) == kl &&
			    !memcmp(r->args[k].key, p + s, kl)) {
				snprintf(err, errlen,
					 "argument %u: key given twice",
					 r->nargs + 1);
				return -EINVAL;
			}
		memcpy(r->args[r->nargs].key, p + s, kl);
		memcpy(r->args[r->nargs].val, eq + 1, vl);
		r->nargs++;
	}
	return 0;
}

const char *
vs__ctl_arg(const struct vs_ctl_req *r, const char *key)
{
	for (unsigned i = 0; i < r->nargs; i++)
		if (!strcmp(r->args[i].key, key))
			return r->args[i].val;
	return NULL;
}

const char *
vs__ctl_unknown_arg(const struct vs_ctl_req *r, const char *const *keys,
		    size_t n)
{
	for (unsigned i = 0; i < r->nargs; i++) {
		size_t k = 0;

		while (k < n && strcmp(r->args[i].key, keys[k]))
			k++;
		if (k == n)
			return r->args[i].key;
	}
	return NULL;
}

int
vs__ctl_sock_pid(const char *name)
{
	char *end;
	long pid = strtol(name, &end, 10);

	return end != name && !strcmp(end, ".sock") && pid > 0 &&
			       pid <= 1 << 22 ?
		       (int)pid :
		       0;
}

bool
vs__ctl_sock_stale(const char *dir, const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int pid = vs__ctl_sock_pid(name), fd, rc;

	if (!pid || !kill(pid, 0) || errno != ESRCH)
		return false;
	/* The pid may have been reused by a process that serves this name
	 * now: only a socket nobody listens on is stale. */
	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
			     name) >= sizeof(sa.sun_path))
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) ? errno : 0;
	close(fd);
	return rc == ECONNREFUSED;
}

void
vs__ctl_printf(struct vs_ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		size_t room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->p ? b->p + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = true;
			return;
		}
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		if (b->len + (size_t)n + 1 > VS_CTL_MAX) {
			b->failed = true;
			return;
		}
		{
			size_t cap = b->cap ? b->cap * 2 : 4096;
			char *p;

			while (cap < b->len + (size_t)n + 1)
				cap *= 2;
			p = realloc(b->p, cap);
			if (!p) {
				b->failed = true;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

void
vs__ctl_buf_free(struct vs_ctl_buf *b)
{
	free(b->p);
	*b = (struct vs_ctl_buf){ 0 };
}
