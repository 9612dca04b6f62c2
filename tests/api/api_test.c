// SPDX-License-Identifier: MIT
/*
 * api_test - the native API (vstack.h) against a kernel peer.
 *
 *   api_test client PEER   cases against tests/sockapi/peer.c on PEER:8000
 *   api_test hook ADDR PORT
 *                          an echo server on PORT whose raw hook drops
 *                          every frame from ADDR; prints "ready", and on
 *                          SIGTERM "dropped N passed M"
 *
 * One context, run by this thread. Every case prints "ok: ..." or
 * "FAIL: ..."; the exit status is 1 if any check failed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

#include "vstack.h"

static int failures;
static struct vs_stack *st;
static struct vs_ctx *ctx;

#define CHECK(cond, ...)                                             \
	do {                                                         \
		if (!(cond)) {                                       \
			printf("FAIL: %s:%d: ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                         \
			printf("\n");                                \
			failures++;                                  \
		}                                                    \
	} while (0)

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* Runs the context until *flag or ms pass; returns *flag. */
static bool
run_until(volatile bool *flag, int ms)
{
	double end = now_ms() + ms;

	while (!*flag && now_ms() < end)
		vs_ctx_run(ctx, 5);
	return *flag;
}

static void
run_for(int ms)
{
	bool never = false;

	run_until(&never, ms);
}

static struct sockaddr_storage
addr(const char *host, int port)
{
	struct sockaddr_storage ss = { 0 };

	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, host, &a->sin6_addr);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;

		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, host, &a->sin_addr);
	}
	return ss;
}

/* --- a connection that records what happens to it --- */

#define NZC 16
#define ZC_PIECE 16384

struct rec {
	bool connected, closed, eof, writable;
	int conn_err, close_err;
	int after_close; /* callbacks after `closed`: must stay 0 */
	void *sent[NZC + 4];
	int nsent;
	size_t rx; /* bytes received */
	size_t bad; /* received bytes that differ from the pattern */
	struct vs_chain *held[256];
	int nheld;
	size_t held_bytes;
};

static uint8_t
pattern(size_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

static void
r_connected(struct vs_conn *c, int err)
{
	struct rec *r = vs_conn_user(c);

	r->after_close += r->closed;
	r->connected = true;
	r->conn_err = err;
}

/* Checks a chain against the pattern from stream offset off. */
static size_t
chain_bad(struct vs_chain *ch, size_t off)
{
	struct iovec iov[64];
	int n = vs_chain_iov(ch, iov, 64);
	size_t bad = 0, seen = 0;

	for (int i = 0; i < n && i < 64; i++)
		for (size_t j = 0; j < iov[i].iov_len; j++, seen++)
			bad += ((uint8_t *)iov[i].iov_base)[j] !=
			       pattern(off + seen);
	return bad + (seen != vs_chain_len(ch));
}

static void
r_received(struct vs_conn *c, struct vs_chain *ch)
{
	struct rec *r = vs_conn_user(c);

	r->after_close += r->closed;
	if (!ch) {
		r->eof = true;
		return;
	}
	/* Hold up to 32 KiB (under the 64 KiB window); check and release
	 * the oldest beyond that. */
	r->held[r->nheld++] = ch;
	r->held_bytes += vs_chain_len(ch);
	while (r->held_bytes > 32768 || r->nheld == 256) {
		struct vs_chain *o = r->held[0];

		r->bad += chain_bad(o, r->rx);
		r->rx += vs_chain_len(o);
		r->held_bytes -= vs_chain_len(o);
		vs_chain_release(o);
		memmove(r->held, r->held + 1,
			sizeof(r->held[0]) * (size_t)--r->nheld);
	}
}

static void
r_sent(struct vs_conn *c, void *cookie)
{
	struct rec *r = vs_conn_user(c);

	r->after_close += r->closed;
	if (r->nsent < NZC + 4)
		r->sent[r->nsent++] = cookie;
}

static void
r_writable(struct vs_conn *c)
{
	struct rec *r = vs_conn_user(c);

	r->after_close += r->closed;
	r->writable = true;
}

static void
r_closed(struct vs_conn *c, int err)
{
	struct rec *r = vs_conn_user(c);

	r->after_close += r->closed;
	r->closed = true;
	r->close_err = err;
}

static const struct vs_conn_ops rec_ops = {
	.connected = r_connected,
	.received = r_received,
	.sent = r_sent,
	.writable = r_writable,
	.closed = r_closed,
};

/* --- cases --- */

static void
zero_copy(const char *peer)
{
	static uint8_t mem[NZC * ZC_PIECE];
	struct sockaddr_storage to = addr(peer, 8000);
	struct vs_ctx_stats s;
	struct rec r = { 0 };
	struct vs_conn *c;
	struct vs_mem *m;
	int rc, next = 0;

	for (size_t i = 0; i < sizeof(mem); i++)
		mem[i] = pattern(i);
	CHECK(vs_mem_register(st, mem, sizeof(mem), &m) == 0,
	      "vs_mem_register");
	rc = vs_connect(ctx, (struct sockaddr *)&to, &rec_ops, &r, &c);
	CHECK(rc == 0, "vs_connect: %d", rc);
	CHECK(run_until(&r.connected, 3000) && r.conn_err == 0, "connected: %d",
	      r.conn_err);
	CHECK(vs_send(c, "echo\n", 5) == 5, "vs_send the command");
	while (next < NZC) {
		rc = vs_send_zc(c, mem + (size_t)next * ZC_PIECE, ZC_PIECE,
				(void *)(intptr_t)(next + 1));
		if (rc == -EAGAIN) {
			r.writable = false;
			if (!run_until(&r.writable, 3000))
				break;
			continue;
		}
		CHECK(rc == 0, "vs_send_zc piece %d: %d", next, rc);
		if (rc)
			break;
		if (next++ == 0)
			CHECK(vs_mem_unregister(m) == -EBUSY,
			      "vs_mem_unregister while a send uses it");
	}
	CHECK(next == NZC, "queued %d of %d zero-copy sends", next, NZC);
	/* Everything back, then half-close: the peer's echo ends too. */
	for (double end = now_ms() + 5000;
	     r.rx + r.held_bytes < sizeof(mem) && now_ms() < end;)
		vs_ctx_run(ctx, 5);
	CHECK(vs_shutdown(c) == 0, "vs_shutdown");
	CHECK(run_until(&r.eof, 3000), "end of stream after the echo");
	vs_close(c);
	CHECK(run_until(&r.closed, 3000) && r.close_err == 0, "closed: %d",
	      r.close_err);
	CHECK(r.nsent == NZC, "%d sent callbacks for %d sends", r.nsent, NZC);
	for (int i = 0; i < r.nsent; i++)
		CHECK(r.sent[i] == (void *)(intptr_t)(i + 1),
		      "completion %d is send %ld", i,
		      (long)(intptr_t)r.sent[i]);
	/* Chains held across the close are still what arrived. */
	CHECK(r.nheld > 0, "chains held after the close");
	vs_ctx_stats(ctx, &s);
	CHECK(s.chains_held == (uint64_t)r.nheld, "chains_held %lu, held %d",
	      (unsigned long)s.chains_held, r.nheld);
	for (int i = 0; i < r.nheld; i++) {
		r.bad += chain_bad(r.held[i], r.rx);
		r.rx += vs_chain_len(r.held[i]);
		vs_chain_release(r.held[i]);
	}
	CHECK(r.rx == sizeof(mem) && r.bad == 0,
	      "echo: %zu of %zu bytes, %zu differ", r.rx, sizeof(mem), r.bad);
	vs_ctx_stats(ctx, &s);
	CHECK(s.chains_held == 0, "chains held after releasing all: %lu",
	      (unsigned long)s.chains_held);
	run_for(100);
	CHECK(r.after_close == 0, "%d callbacks after closed", r.after_close);
	CHECK(vs_mem_unregister(m) == 0, "vs_mem_unregister when done");
	printf("ok: zero-copy sends (%d completions in order), %zu bytes "
	       "received zero-copy, chains valid after the close\n",
	       r.nsent, r.rx);
}

/* vs_abort from inside each callback that can run in the stack's input:
 * the connection is closed at once (-ECONNABORTED), exactly once, and
 * the stack touches it no more (the ASan build of this test caught the
 * stack reading the freed connection after an abort in `connected`). */
enum abort_in { IN_CONNECTED, IN_RECEIVED, IN_SENT };

struct ab {
	enum abort_in where;
	bool aborted, closed;
	int close_err, closes, after_close;
};

static void
ab_connected(struct vs_conn *c, int err)
{
	struct ab *a = vs_conn_user(c);

	a->after_close += a->closed;
	if (!err && a->where == IN_CONNECTED) {
		a->aborted = true;
		vs_abort(c);
	} else if (!err) {
		vs_send(c, "echo\nhello", 10);
	}
}

static void
ab_received(struct vs_conn *c, struct vs_chain *ch)
{
	struct ab *a = vs_conn_user(c);

	a->after_close += a->closed;
	if (ch)
		vs_chain_release(ch);
	if (ch && a->where == IN_RECEIVED && !a->aborted) {
		a->aborted = true;
		vs_abort(c);
	}
}

static void
ab_sent(struct vs_conn *c, void *cookie)
{
	struct ab *a = vs_conn_user(c);

	(void)cookie;
	a->after_close += a->closed;
	if (a->where == IN_SENT && !a->aborted) {
		a->aborted = true;
		vs_abort(c);
	}
}

static void
ab_closed(struct vs_conn *c, int err)
{
	struct ab *a = vs_conn_user(c);

	a->after_close += a->closed;
	a->closed = true;
	a->closes++;
	a->close_err = err;
}

static const struct vs_conn_ops ab_ops = {
	.connected = ab_connected,
	.received = ab_received,
	.sent = ab_sent,
	.closed = ab_closed,
};

static void
aborts(const char *peer)
{
	static const char *const name[] = { "connected", "received", "sent" };
	static uint8_t mem[4096];
	struct sockaddr_storage to = addr(peer, 8000);
	struct vs_mem *m;

	CHECK(vs_mem_register(st, mem, sizeof(mem), &m) == 0,
	      "vs_mem_register");
	for (int w = IN_CONNECTED; w <= IN_SENT; w++) {
		struct ab a = { .where = (enum abort_in)w };
		struct vs_conn *c;
		int rc = vs_connect(ctx, (struct sockaddr *)&to, &ab_ops, &a,
				    &c);

		CHECK(rc == 0, "vs_connect: %d", rc);
		if (rc)
			continue;
		if (w == IN_SENT) {
			bool up = false;

			/* connected sends the command; then a zero-copy send
			 * whose acknowledgment calls `sent` */
			for (double end = now_ms() + 3000;
			     !up && !a.closed && now_ms() < end;) {
				vs_ctx_run(ctx, 5);
				up = vs_send_zc(c, mem, sizeof(mem), mem) == 0;
			}
			CHECK(up, "abort in sent: no zero-copy send queued");
		}
		run_until(&a.closed, 3000);
		run_for(50);
		CHECK(a.aborted && a.closes == 1 &&
			      a.close_err == -ECONNABORTED,
		      "abort in %s: aborted %d, %d closes, err %d", name[w],
		      a.aborted, a.closes, a.close_err);
		CHECK(a.after_close == 0,
		      "abort in %s: %d callbacks after closed", name[w],
		      a.after_close);
	}
	CHECK(vs_mem_unregister(m) == 0, "vs_mem_unregister after the aborts");
	printf("ok: vs_abort inside connected, received and sent closes the "
	       "connection once, at once\n");
}

struct tstate {
	int order[8], n;
	double at[8];
	double t0;
};

static void
t_fire(struct vs_ctx *c, void *arg)
{
	struct tstate *t = *(struct tstate **)arg;
	int id = (int)(((intptr_t *)arg)[1]);

	(void)c;
	t->at[t->n] = now_ms() - t->t0;
	t->order[t->n++] = id;
}

static void
timers(void)
{
	struct tstate t = { .t0 = now_ms() };
	intptr_t a[4][2];
	static const int ms[4] = { 60, 20, 40, 30 };

	for (int i = 0; i < 4; i++) {
		a[i][0] = (intptr_t)&t;
		a[i][1] = ms[i];
		CHECK(vs_timer(ctx, (uint32_t)ms[i], t_fire, a[i]) == 0,
		      "vs_timer");
	}
	vs_timer_cancel(ctx, t_fire, a[3]);
	run_for(200);
	CHECK(t.n == 3, "%d timers fired, 3 expected", t.n);
	CHECK(t.order[0] == 20 && t.order[1] == 40 && t.order[2] == 60,
	      "order %d %d %d", t.order[0], t.order[1], t.order[2]);
	for (int i = 0; i < t.n; i++)
		CHECK(t.at[i] >= t.order[i] - 1 && t.at[i] < t.order[i] + 100,
		      "timer %d fired at %.1f ms", t.order[i], t.at[i]);
	printf("ok: timers fire in order, not early; a cancelled one does not\n");
}

static void
errors(const char *peer)
{
	struct sockaddr_storage refused = addr(peer, 8001),
				to = addr(peer, 8000);
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct vs_options bad = { .size = 1 };
	struct vs_stack *st2;
	struct rec r0 = { 0 }, r1 = { 0 }, r2 = { 0 };
	struct vs_conn *c, *l;
	struct sockaddr_storage any = addr("0.0.0.0", 9100);
	char local[16] = "x";
	int rc;

	CHECK(vs_init(&bad, &st2) == -EINVAL, "vs_init with a bad size");
	CHECK(vs_listen(ctx, (struct sockaddr *)&un, 1, 0, &rec_ops, NULL,
			&l) == -EAFNOSUPPORT,
	      "vs_listen on AF_UNIX");
	CHECK(vs_listen(ctx, (struct sockaddr *)&any, 1, 99, &rec_ops, NULL,
			&l) == -EINVAL,
	      "vs_listen with unknown flags");
	rc = vs_listen(ctx, (struct sockaddr *)&any, 1, 0, &rec_ops, &r0, &l);
	CHECK(rc == 0, "vs_listen: %d", rc);
	if (!rc) {
		CHECK(vs_send(l, "x", 1) == -ENOTCONN, "vs_send on a listener");
		vs_close(l);
		CHECK(r0.closed && r0.close_err == 0,
		      "a listener's closed comes before vs_close returns");
	}
	/* Refused: `connected` with the error, and nothing after it. */
	CHECK(vs_connect(ctx, (struct sockaddr *)&refused, &rec_ops, &r1, &c) ==
		      0,
	      "vs_connect to a closed port");
	CHECK(run_until(&r1.connected, 3000) && r1.conn_err == -ECONNREFUSED,
	      "connected: %d, -ECONNREFUSED expected", r1.conn_err);
	run_for(50);
	CHECK(!r1.closed, "closed after a failed connect");
	/* The peer resets. */
	CHECK(vs_connect(ctx, (struct sockaddr *)&to, &rec_ops, &r2, &c) == 0,
	      "vs_connect");
	CHECK(run_until(&r2.connected, 3000) && !r2.conn_err, "connected");
	CHECK(vs_send_zc(c, local, 1, NULL) == -EFAULT,
	      "vs_send_zc from unregistered memory");
	CHECK(vs_send_zc(c, local, 70000, NULL) == -EMSGSIZE,
	      "vs_send_zc beyond 64 KiB");
	CHECK(vs_send(c, "rst\n", 4) == 4, "vs_send");
	CHECK(run_until(&r2.closed, 3000) && r2.close_err == -ECONNRESET,
	      "closed: %d, -ECONNRESET expected", r2.close_err);
	CHECK(r2.after_close == 0, "callbacks after closed");
	printf("ok: errors as documented\n");
}

struct udp_rec {
	bool got;
	char data[32];
	struct sockaddr_storage from;
};

static void
u_received(struct vs_dgram *u, struct vs_chain *ch, const struct sockaddr *from)
{
	struct udp_rec *r = vs_udp_user(u);
	size_t n = vs_chain_copy(ch, 0, r->data, sizeof(r->data) - 1);

	r->data[n] = 0;
	memcpy(&r->from, from,
	       from->sa_family == AF_INET ? sizeof(struct sockaddr_in) :
					    sizeof(struct sockaddr_in6));
	vs_chain_release(ch);
	vs_chain_release(ch); /* a program bug: reported, ignored */
	r->got = true;
}

static void
udp(const char *peer)
{
	static const struct vs_dgram_ops ops = { .received = u_received };
	struct sockaddr_storage to = addr(peer, 8000), any, local;
	struct udp_rec r = { 0 };
	struct vs_ctx_stats s;
	struct vs_dgram *u;

	any = addr(to.ss_family == AF_INET ? "0.0.0.0" : "::", 0);
	((struct sockaddr_in *)&any)->sin_port = 0;
	CHECK(vs_udp_open(ctx, (struct sockaddr *)&any, &ops, &r, &u) == 0,
	      "vs_udp_open");
	vs_udp_local(u, &local);
	CHECK(((struct sockaddr_in *)&local)->sin_port != 0,
	      "an ephemeral port");
	CHECK(vs_udp_sendto(u, "datagram", 8, (struct sockaddr *)&to) == 0,
	      "vs_udp_sendto");
	CHECK(run_until(&r.got, 3000) && !strcmp(r.data, "datagram"),
	      "echoed datagram: '%s'", r.data);
	CHECK(((struct sockaddr_in *)&r.from)->sin_port == htons(8000),
	      "from the peer's port");
	vs_ctx_stats(ctx, &s);
	CHECK(s.chains_held == 0, "a double release changed chains_held: %lu",
	      (unsigned long)s.chains_held);
	vs_udp_close(u);
	printf("ok: UDP send and receive\n");
}

/* --- hook mode --- */

static struct in_addr drop_from;
static uint64_t passed;

static enum vs_raw_verdict
hook(struct vs_ctx *c, uint8_t *f, size_t len, void *arg)
{
	(void)c;
	(void)arg;
	/* IPv4 with the source to drop */
	if (len >= 34 && f[12] == 0x08 && f[13] == 0x00 &&
	    !memcmp(f + 14 + 12, &drop_from, 4))
		return VS_RAW_DROP;
	passed++;
	return VS_RAW_PASS;
}

static void
e_received(struct vs_conn *c, struct vs_chain *ch)
{
	char buf[2048];
	size_t n;

	if (!ch) {
		vs_close(c);
		return;
	}
	for (size_t off = 0; (n = vs_chain_copy(ch, off, buf, sizeof(buf)));
	     off += n)
		vs_send(c, buf, n);
	vs_chain_release(ch);
}

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
hook_mode(const char *drop, int port)
{
	static const struct vs_conn_ops ops = { .received = e_received };
	struct sockaddr_storage a = addr("0.0.0.0", port);
	struct vs_ctx_stats s;
	struct vs_conn *l;

	inet_pton(AF_INET, drop, &drop_from);
	vs_raw_hook_set(ctx, hook, NULL);
	if (vs_listen(ctx, (struct sockaddr *)&a, 16, 0, &ops, NULL, &l))
		return 1;
	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	while (!stop)
		vs_ctx_run(ctx, 100);
	vs_ctx_stats(ctx, &s);
	printf("dropped %lu passed %lu\n", (unsigned long)s.raw_dropped,
	       (unsigned long)passed);
	return 0;
}

int
main(int argc, char **argv)
{
	struct vs_options o = { .size = sizeof(o), .contexts = 1 };
	int rc;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 3)
		return 2;
	rc = vs_init(&o, &st);
	if (rc) {
		printf("FAIL: vs_init: %s\n", strerror(-rc));
		return 1;
	}
	ctx = vs_context(st, 0);
	if (!strcmp(argv[1], "hook") && argc == 4) {
		rc = hook_mode(argv[2], atoi(argv[3]));
	} else {
		timers();
		errors(argv[2]);
		udp(argv[2]);
		zero_copy(argv[2]);
		aborts(argv[2]);
		/* Not the count as the status: 256 failures would exit 0. */
		rc = failures ? 1 : 0;
		if (failures)
			printf("%d checks failed\n", failures);
	}
	vs_fini(st);
	return rc;
}
