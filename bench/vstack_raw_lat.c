// SPDX-License-Identifier: MIT
/*
 * vstack_raw_lat - perftest's raw_ethernet_lat on vstack's port: the
 * client sends a frame, the server sends it back (the same buffer, its
 * addresses swapped: no copy), the client times the round trip. Reports,
 * as perftest does, half the round trip.
 */
#include <math.h>

#include "raw_common.h"

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[6];

	memcpy(t, a, n);
	memcpy(a, b, n);
	memcpy(b, t, n);
}

/*
 * Echoes every frame back to its sender, until the client has been quiet
 * for a second (it knocks before it counts, so the server cannot know
 * how many frames are coming), or 30 s pass without a client.
 */
static void
serve(struct vs_port *p, const struct raw_args *a)
{
	unsigned long n = 0;
	double start = 0, last = raw_now_us();

	while (raw_now_us() - last < (start ? 1e6 : 30e6)) {
		struct vs_buf *b[32];
		unsigned k = vs__port_rx_burst(p, 0, b, 32), sent;

		for (unsigned i = 0; i < k; i++) {
			swap_bytes(b[i]->data, b[i]->data + 6, 6);
			swap_bytes(b[i]->data + 26, b[i]->data + 30, 4);
			swap_bytes(b[i]->data + 34, b[i]->data + 36, 2);
		}
		sent = k ? vs__port_tx_burst(p, 0, b, k) : 0;
		vs__port_flush(p, 0);
		if (sent < k)
			vs__port_buf_put(p, 0, b + sent, k - sent);
		if (k) {
			last = raw_now_us();
			if (!start)
				start = last;
		}
		n += k;
	}
	printf(" #bytes #iterations (echoed)\n %-6u %lu\n", a->size, n);
}

/* One round trip; < 0 when no reply came within a second. */
static double
round_trip(struct vs_port *p, const struct raw_args *a, const uint8_t *tmpl)
{
	struct vs_buf *b;
	double t0;

	if (vs__port_buf_get(p, 0, &b, 1) != 1)
		return -1;
	memcpy(b->data, tmpl, a->size);
	b->len = a->size;
	b->flags = 0;
	t0 = raw_now_us();
	if (vs__port_tx_burst(p, 0, &b, 1) != 1) {
		vs__port_buf_put(p, 0, &b, 1);
		return -1;
	}
	vs__port_flush(p, 0);
	while (raw_now_us() - t0 < 1000000)
		if (vs__port_rx_burst(p, 0, &b, 1) == 1) {
			double rtt = raw_now_us() - t0;

			vs__port_buf_put(p, 0, &b, 1);
			return rtt;
		}
	return -1;
}

static void
report(const struct raw_args *a, double *t, unsigned long n)
{
	double sum = 0, sq = 0, avg;

	qsort(t, n, sizeof(*t), cmp_double);
	for (unsigned long i = 0; i < n; i++)
		sum += t[i];
	avg = sum / (double)n;
	for (unsigned long i = 0; i < n; i++)
		sq += (t[i] - avg) * (t[i] - avg);
	printf(" #bytes #iterations    t_min[usec]    t_max[usec]  "
	       "t_typical[usec]    t_avg[usec]    t_stdev[usec]   "
	       "99%% percentile[usec]   99.9%% percentile[usec] \n");
	printf(" %-6u %-10lu     %-10.2f     %-10.2f   %-10.2f       %-10.2f"
	       "     %-10.2f      %-10.2f              %-10.2f\n",
	       a->size, n, t[0], t[n - 1], t[n / 2], avg, sqrt(sq / (double)n),
	       t[(unsigned long)(n * 0.99)], t[(unsigned long)(n * 0.999)]);
}

int
main(int argc, char **argv)
{
	struct raw_args a;
	struct vs_port *p;
	uint8_t tmpl[1514];
	double *t, rtt = -1;
	unsigned long n = 0, cap;

	raw_parse(argc, argv, &a);
	a.queues = 1;
	p = raw_open(&a);
	raw_rule(p, &a);
	raw_banner("Send Latency Test", &a, p);
	if (a.server) {
		serve(p, &a);
		vs__port_close(p);
		return 0;
	}
	raw_frame(tmpl, a.size, a.peer, vs__port_info(p)->mac, false, 0);
	/* The server may not be up yet: knock until it answers (10 s). */
	for (int i = 0; i < 100 && rtt < 0; i++)
		rtt = round_trip(p, &a, tmpl);
	if (rtt < 0) {
		fprintf(stderr, "vstack_raw_lat: no answer from the server\n");
		return 1;
	}
	cap = a.secs ? 10000000ul : a.iters;
	t = malloc(cap * sizeof(*t));
	for (double end = raw_now_us() + a.secs * 1e6;
	     a.secs ? raw_now_us() < end && n < cap : n < a.iters;) {
		rtt = round_trip(p, &a, tmpl);
		if (rtt < 0) {
			fprintf(stderr,
				"vstack_raw_lat: a frame was lost after "
				"%lu round trips\n",
				n);
			return 1;
		}
		t[n++] = rtt / 2; /* one way, as perftest reports it */
	}
	report(&a, t, n);
	free(t);
	vs__port_close(p);
	return 0;
}
