// SPDX-License-Identifier: MIT
/*
 * vstack_raw_bw - perftest's raw_ethernet_bw on vstack's port: the client
 * sends frames as fast as the port takes them, in bursts of 32; the
 * server counts what arrives on all its queues. Both print perftest's
 * table; the peak is the best 100 ms window.
 */
#include "raw_common.h"

#define BURST 32

struct meter {
	double start, last, win_start, peak;
	unsigned long frames, win_frames;
};

static void
meter_add(struct meter *m, unsigned n, unsigned size)
{
	double now = raw_now_us();

	if (!m->start)
		m->start = m->win_start = now;
	m->frames += n;
	m->win_frames += n;
	if (now - m->win_start >= 100000) {
		double bw = m->win_frames * size / (now - m->win_start);

		m->peak = bw > m->peak ? bw : m->peak;
		m->win_start = now;
		m->win_frames = 0;
	}
	if (n)
		m->last = now;
}

static void
report(const struct raw_args *a, const struct meter *m)
{
	double us = m->last - m->start > 0 ? m->last - m->start : 1;
	double avg = m->frames * (double)a->size / us; /* bytes/us = MB/s */

	printf(" #bytes     #iterations    BW peak[MB/sec]    BW average[MB/sec]"
	       "   MsgRate[Mpps]\n");
	printf(" %-10u %-14lu %-18.2f %-20.2f %.6f\n", a->size, m->frames,
	       m->peak > avg ? m->peak : avg, avg, m->frames / us);
}

static bool
done(const struct raw_args *a, const struct meter *m)
{
	if (a->secs)
		return m->start && raw_now_us() - m->start >= a->secs * 1e6;
	return m->frames >= a->iters;
}

static void
serve(struct vs_port *p, const struct raw_args *a, struct meter *m)
{
	double idle_since = raw_now_us();

	/* Ends with the count or duration, or 2 s after the last frame. */
	while (!done(a, m) &&
	       raw_now_us() - idle_since < (m->start ? 2e6 : 30e6)) {
		for (unsigned q = 0; q < a->queues; q++) {
			struct vs_buf *b[BURST];
			unsigned k = vs__port_rx_burst(p, q, b, BURST);

			if (k) {
				meter_add(m, k, a->size);
				vs__port_buf_put(p, q, b, k);
				idle_since = raw_now_us();
			}
		}
	}
}

static void
send_all(struct vs_port *p, const struct raw_args *a, struct meter *m)
{
	uint8_t tmpl[1514];
	uint16_t flow = 0;

	raw_frame(tmpl, a->size, a->peer, vs__port_info(p)->mac, false, 0);
	while (!done(a, m)) {
		struct vs_buf *b[BURST];
		unsigned want = BURST, k, sent;

		if (!a->secs && a->iters - m->frames < want)
			want = (unsigned)(a->iters - m->frames);
		k = vs__port_buf_get(p, 0, b, want);
		for (unsigned i = 0; i < k; i++) {
			memcpy(b[i]->data, tmpl, a->size);
			/* Flows differ by source port, for the server's RSS. */
			b[i]->data[35] = (uint8_t)(0x89 + flow++ % a->queues);
			b[i]->len = a->size;
			b[i]->flags = 0;
		}
		sent = vs__port_tx_burst(p, 0, b, k);
		vs__port_flush(p, 0);
		if (sent < k)
			vs__port_buf_put(p, 0, b + sent, k - sent);
		meter_add(m, sent, a->size);
	}
}

int
main(int argc, char **argv)
{
	struct meter m = { 0 };
	struct raw_args a;
	struct vs_port *p;

	raw_parse(argc, argv, &a);
	p = raw_open(&a);
	raw_rule(p, &a);
	raw_banner("Send BW Test", &a, p);
	if (a.server)
		serve(p, &a, &m);
	else
		send_all(p, &a, &m);
	report(&a, &m);
	vs__port_close(p);
	return m.frames ? 0 : 1;
}
