// SPDX-License-Identifier: MIT
/*
 * The vs_port conformance suite, for every backend: queue setup and
 * teardown, every rule kind and precedence, RSS spreading, buffer
 * exhaustion and recovery, error completions, statistics exactness,
 * sleeping, and nothing left behind at close. And port.errors: each
 * error gives its message.
 *
 * Run by test_port.sh inside a namespace whose NIC is VS_TEST_DEVICE (its
 * netdev 10.77.1.1, MTU VS_TEST_MTU); the peer is an AF_PACKET socket on
 * VS_TEST_PEER_IF in the namespace VS_TEST_PEER_NS (a path). VS_TEST_SUITE
 * selects "conformance" or "errors"; VS_TEST_BACKEND "verbs" (the
 * emulated ConnectX; VS_TEST_STATS runs its stats command, for the leak
 * check at close) or "xdp" (a veth of 4 queues: what only a NIC can do -
 * checksum offload, error completions, jumbo frames - is the verbs
 * backend's alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/compiler.h"
#include "base/toeplitz.h"
#include "frames.h"
#include "verbs/port.h"
#include "emu/vsemu.h"
#include "caps.h"
#include "vstest.h"

#define LOCAL_IP 0x0a4d0101u /* 10.77.1.1, the port's netdev */
#define PEER_IP 0x0a4d0102u /* 10.77.1.2 */
#define NQ 4
#define RX_DEPTH 64
#define TX_DEPTH 64
#define NBUFS 2048

static struct vs_port *port;
static bool xdp; /* VS_TEST_BACKEND=xdp */
static uint32_t nbufs;
static char err[512];
static int peer = -1;
static uint8_t peer_mac[6];

static struct vs_port_opts
opts(unsigned nq, uint32_t n)
{
	return (struct vs_port_opts){
		.sz = sizeof(struct vs_port_opts),
		.device = getenv("VS_TEST_DEVICE"),
		.nqueues = nq,
		.buf_size = 2048,
		.nbufs = n,
		.rx_depth = RX_DEPTH,
		.tx_depth = TX_DEPTH,
		.hugepages = false,
	};
}

/* An AF_PACKET socket in the peer's namespace. */
static int
peer_open(void)
{
	int self = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int other = open(getenv("VS_TEST_PEER_NS"), O_RDONLY | O_CLOEXEC);
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr = { 0 };
	int s;

	ck_assert_int_ge(other, 0);
	ck_assert_int_eq(setns(other, CLONE_NEWNET), 0);
	s = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", getenv("VS_TEST_PEER_IF"));
	ck_assert_int_eq(ioctl(s, SIOCGIFINDEX, &ifr), 0);
	sll.sll_ifindex = ifr.ifr_ifindex;
	ck_assert_int_eq(bind(s, (struct sockaddr *)&sll, sizeof(sll)), 0);
	ck_assert_int_eq(ioctl(s, SIOCGIFHWADDR, &ifr), 0);
	memcpy(peer_mac, ifr.ifr_hwaddr.sa_data, 6);
	ck_assert_int_eq(setns(self, CLONE_NEWNET), 0);
	close(self);
	close(other);
	return s;
}

static void
setup_n(unsigned nq, uint32_t n)
{
	struct vs_port_opts o = opts(nq, n);

	nbufs = n;
	port = vs__port_open(&o, err, sizeof(err));
	ck_assert_msg(port != NULL, "open: %s", err);
	peer = peer_open();
}

static void
setup(void)
{
	setup_n(NQ, NBUFS);
}

/* Every buffer is free, posted for receive or in a send: none leaked. */
static void
teardown(void)
{
	uint64_t held = 0;

	for (unsigned q = 0; q < vs__port_info(port)->nqueues; q++)
		held += vs__port_stats(port, q)->rx_posted +
			vs__port_stats(port, q)->tx_inflight;
	ck_assert_uint_eq(vs__port_bufs_free(port) + held, nbufs);
	vs__port_close(port);
	close(peer);
}

static uint64_t
ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The peer sends a UDP frame of len bytes; tag goes into the payload. */
static void
peer_send(uint32_t len, uint16_t sport, uint16_t dport, uint32_t tag)
{
	uint8_t f[9000];

	udp4_frame(f, len, vs__port_info(port)->mac, peer_mac, PEER_IP,
		   LOCAL_IP, sport, dport);
	memcpy(f + 42, &tag, 4);
	ck_assert_int_eq(send(peer, f, len, 0), (ssize_t)len);
}

/* Receives on every queue for ms; counts per queue, keeps the frames of
 * queue want (up to max) in keep. Returns frames of queue want. */
static unsigned
rx_collect(unsigned *per_q, unsigned want, struct vs_buf **keep, unsigned max,
	   unsigned expect, unsigned ms)
{
	uint64_t t0 = ms_now();
	unsigned got = 0;

	memset(per_q, 0, sizeof(*per_q) * NQ);
	while (ms_now() - t0 < ms) {
		for (unsigned q = 0; q < vs__port_info(port)->nqueues; q++) {
			struct vs_buf *b[32];
			unsigned n = vs__port_rx_burst(port, q, b, 32);

			per_q[q] += n;
			for (unsigned i = 0; i < n; i++) {
				if (q == want && got < max && keep)
					keep[got++] = b[i];
				else
					vs__port_buf_put(port, q, &b[i], 1);
			}
		}
		if (expect && per_q[want] >= expect)
			break;
	}
	return per_q[want];
}

static struct vs_rule
udp_rule(enum vs_rule_action a, unsigned q, uint16_t dport, uint16_t sport,
	 bool addrs)
{
	struct vs_rule r = { .action = a,
			     .queue = q,
			     .proto = IPPROTO_UDP,
			     .dport = dport,
			     .dport_mask = 0xffff,
			     .sport = sport,
			     .sport_mask = sport ? 0xffff : 0 };
	uint32_t l = htonl(LOCAL_IP), pe = htonl(PEER_IP);

	if (addrs) {
		r.family = AF_INET;
		memcpy(r.dst, &l, 4);
		memset(r.dst_mask, 0xff, 4);
		if (sport) {
			memcpy(r.src, &pe, 4);
			memset(r.src_mask, 0xff, 4);
		}
	}
	return r;
}

static struct vs_rule_handle *
add(struct vs_rule r)
{
	struct vs_rule_handle *h = NULL;

	ck_assert_int_eq(vs__port_rule_add(port, &r, &h), 0);
	return h;
}

START_TEST(open_info)
{
	const struct vs_port_info *in;
	struct vs_port_opts o = opts(1, 1024);
	char dev[64];
	bool addr = false;

	setup();
	in = vs__port_info(port);
	ck_assert_str_eq(in->backend, xdp ? "xdp" : "verbs");
	ck_assert_str_eq(in->device, getenv("VS_TEST_DEVICE"));
	ck_assert_str_eq(in->ifname, getenv("VS_TEST_IFNAME"));
	ck_assert_uint_eq(in->mtu, (unsigned)atoi(getenv("VS_TEST_MTU")));
	ck_assert_uint_eq(in->nqueues, NQ);
	if (!xdp) {
		ck_assert_uint_gt(in->max_inline, 0);
		ck_assert(in->rx_csum && in->tx_csum);
	}
	for (unsigned i = 0; i < in->naddrs; i++)
		if (in->addrs[i].ss_family == AF_INET &&
		    ((struct sockaddr_in *)&in->addrs[i])->sin_addr.s_addr ==
			    htonl(LOCAL_IP))
			addr = true;
	ck_assert_msg(addr, "10.77.1.1 missing from the port's addresses");
	snprintf(dev, sizeof(dev), "%s", in->device);
	teardown();
	if (xdp)
		return; /* a bare netdev name means the verbs backend */
	/* By the netdev's name, the same device. */
	o.device = getenv("VS_TEST_IFNAME");
	port = vs__port_open(&o, err, sizeof(err));
	ck_assert_msg(port != NULL, "open by netdev: %s", err);
	ck_assert_str_eq(vs__port_info(port)->device, dev);
	vs__port_close(port);
}
END_TEST

START_TEST(steer_rx)
{
	struct vs_buf *keep[16];
	unsigned per_q[NQ], n;
	uint64_t bytes = 0;
	struct vs_rule_handle *h;

	setup();
	h = add(udp_rule(VS_RULE_STEER, 2, 9100, 0, false));
	for (uint32_t i = 0; i < 10; i++) {
		peer_send(60 + i * 100, 1234, 9100, i);
		bytes += 60 + i * 100;
	}
	n = rx_collect(per_q, 2, keep, 16, 10, 2000);
	ck_assert_uint_eq(n, 10);
	ck_assert_uint_eq(per_q[0] + per_q[1] + per_q[3], 0);
	for (uint32_t i = 0; i < 10; i++) {
		uint32_t tag;

		ck_assert_uint_eq(keep[i]->len, 60 + i * 100);
		ck_assert_uint_eq(keep[i]->queue, 2);
		memcpy(&tag, keep[i]->data + 42, 4);
		ck_assert_uint_eq(tag, i);
		ck_assert_uint_eq(keep[i]->data[keep[i]->len - 1],
				  (uint8_t)(keep[i]->len - 1));
	}
	vs__port_buf_put(port, 2, keep, 10);
	ck_assert_uint_eq(vs__port_stats(port, 2)->rx_frames, 10);
	ck_assert_uint_eq(vs__port_stats(port, 2)->rx_bytes, bytes);
	ck_assert_uint_eq(vs__port_stats(port, 0)->rx_frames, 0);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

/* The peer's next frame from the port to a UDP port >= 9000, or 0. */
static ssize_t
peer_recv(uint8_t *buf, size_t len, unsigned ms)
{
	uint64_t t0 = ms_now();
	struct pollfd p = { .fd = peer, .events = POLLIN };

	while (ms_now() - t0 < ms && poll(&p, 1, (int)ms) == 1) {
		struct sockaddr_ll sll;
		socklen_t sl = sizeof(sll);
		ssize_t n = recvfrom(peer, buf, len, 0, (struct sockaddr *)&sll,
				     &sl);

		if (n >= 42 && sll.sll_pkttype != PACKET_OUTGOING &&
		    buf[12] == 0x08 && buf[13] == 0 && buf[23] == 17 &&
		    ((buf[36] << 8) | buf[37]) >= 9000)
			return n;
	}
	return 0;
}

START_TEST(tx_frames)
{
	uint32_t sizes[] = { 60, 200, 1400, 8000 };
	struct vs_buf *b[4];
	uint8_t got[9100], want[9100];
	uint64_t bytes = 0;
	uint32_t before;

	setup();
	if (vs__port_info(port)->mtu < 8000)
		sizes[3] = vs__port_info(port)->mtu + 14; /* a full frame */
	before = vs__port_bufs_free(port);
	ck_assert_uint_eq(vs__port_buf_get(port, 1, b, 4), 4);
	for (int i = 0; i < 4; i++) {
		udp4_frame(b[i]->data, sizes[i], peer_mac,
			   vs__port_info(port)->mac, LOCAL_IP, PEER_IP, 777,
			   9200 + i);
		b[i]->len = sizes[i];
		b[i]->flags = 0;
		bytes += sizes[i];
	}
	ck_assert_uint_eq(vs__port_tx_burst(port, 1, b, 4), 4);
	vs__port_flush(port, 1);
	for (int i = 0; i < 4; i++) {
		ssize_t n = peer_recv(got, sizeof(got), 2000);

		udp4_frame(want, sizes[i], peer_mac, vs__port_info(port)->mac,
			   LOCAL_IP, PEER_IP, 777, 9200 + i);
		ck_assert_int_eq(n, sizes[i]);
		ck_assert_int_eq(memcmp(got, want, sizes[i]), 0);
	}
	ck_assert_uint_eq(vs__port_stats(port, 1)->tx_frames, 4);
	ck_assert_uint_eq(vs__port_stats(port, 1)->tx_bytes, bytes);
	/* Completed sends give their buffers back (arm reaps them). */
	for (int i = 0; i < 100 && vs__port_bufs_free(port) != before; i++) {
		vs__port_arm(port, 1);
		usleep(1000);
	}
	ck_assert_uint_eq(vs__port_bufs_free(port), before);
	teardown();
}
END_TEST

START_TEST(rule_precedence)
{
	struct vs_rule_handle *port_only, *three, *five;
	unsigned per_q[NQ];

	setup();
	port_only = add(udp_rule(VS_RULE_STEER, 0, 9300, 0, false));
	three = add(udp_rule(VS_RULE_STEER, 2, 9300, 0, true));
	five = add(udp_rule(VS_RULE_STEER, 1, 9300, 4000, true));
	peer_send(100, 4000, 9300, 1); /* the 5-tuple */
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 1, 2000), 1);
	peer_send(100, 4001, 9300, 2); /* the 3-tuple beats the port */
	ck_assert_uint_eq(rx_collect(per_q, 2, NULL, 0, 1, 2000), 1);
	ck_assert_uint_eq(per_q[0] + per_q[1] + per_q[3], 0);
	ck_assert_int_eq(vs__port_rule_del(port, three), 0);
	peer_send(100, 4001, 9300, 3); /* now the port rule */
	ck_assert_uint_eq(rx_collect(per_q, 0, NULL, 0, 1, 2000), 1);
	ck_assert_int_eq(vs__port_rule_del(port, five), 0);
	ck_assert_int_eq(vs__port_rule_del(port, port_only), 0);
	peer_send(100, 4000, 9300, 4); /* no rule: the kernel's */
	rx_collect(per_q, 0, NULL, 0, 0, 300);
	ck_assert_uint_eq(per_q[0] + per_q[1] + per_q[2] + per_q[3], 0);
	teardown();
}
END_TEST

START_TEST(drop_rule)
{
	struct vs_rule_handle *steer, *drop;
	unsigned per_q[NQ];

	setup();
	steer = add(udp_rule(VS_RULE_STEER, 3, 9400, 5000, true));
	/* A block list beats even an exact 5-tuple. */
	drop = add(udp_rule(VS_RULE_DROP, 0, 9400, 5000, false));
	peer_send(100, 5000, 9400, 1);
	rx_collect(per_q, 3, NULL, 0, 0, 300);
	ck_assert_uint_eq(per_q[0] + per_q[1] + per_q[2] + per_q[3], 0);
	ck_assert_int_eq(vs__port_rule_del(port, drop), 0);
	peer_send(100, 5000, 9400, 2);
	ck_assert_uint_eq(rx_collect(per_q, 3, NULL, 0, 1, 2000), 1);
	ck_assert_int_eq(vs__port_rule_del(port, steer), 0);
	teardown();
}
END_TEST

START_TEST(rss_spread)
{
	struct vs_rule_handle *h;
	unsigned used[NQ] = { 0 };
	struct vs_rule r = udp_rule(VS_RULE_STEER_RSS, 0, 9500, 0, false);

	setup();
	h = add(r);
	for (uint16_t i = 0; i < 32; i++) {
		uint8_t in[12];
		uint32_t s = htonl(PEER_IP), d = htonl(LOCAL_IP);
		uint16_t sp = htons(10000 + i), dp = htons(9500);
		unsigned per_q[NQ], want;

		memcpy(in, &s, 4);
		memcpy(in + 4, &d, 4);
		memcpy(in + 8, &sp, 2);
		memcpy(in + 10, &dp, 2);
		/* Microsoft's key; table entry i is queue i mod NQ. */
		want = (vs__toeplitz(vs__rss_ms_key, 40, in, 12) & (NQ - 1)) %
		       NQ;
		ck_assert_uint_eq(vs__port_rss_queue(port, AF_INET, &s, &d,
						     10000 + i, 9500),
				  want);
		peer_send(80, 10000 + i, 9500, i);
		ck_assert_msg(rx_collect(per_q, want, NULL, 0, 1, 2000) == 1,
			      "flow %u: expected on queue %u", i, want);
		ck_assert_uint_eq(per_q[0] + per_q[1] + per_q[2] + per_q[3], 1);
		used[want]++;
	}
	for (unsigned q = 0; q < NQ; q++)
		ck_assert_msg(used[q] > 0, "queue %u got no flow of 32", q);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

START_TEST(exhaustion)
{
	static struct vs_buf *held[4096];
	struct vs_buf *keep[2 * RX_DEPTH];
	struct vs_rule_handle *h;
	unsigned per_q[NQ], nheld = 0, k, got;

	/* Just enough buffers for the queues, and a few more. */
	setup_n(NQ, NQ * (RX_DEPTH + TX_DEPTH) + 8);
	h = add(udp_rule(VS_RULE_STEER, 0, 9600, 0, false));
	/* Every queue's cache too: the test plays all the engines. */
	for (unsigned q = 0; q < NQ; q++)
		while ((k = vs__port_buf_get(port, q, held + nheld, 64)) > 0)
			nheld += k;
	ck_assert_uint_eq(vs__port_bufs_free(port), 0);
	/* The posted receives fill; then none can be reposted. */
	for (uint32_t i = 0; i < 2 * RX_DEPTH; i++)
		peer_send(100, 1, 9600, i);
	got = rx_collect(per_q, 0, keep, 2 * RX_DEPTH, 2 * RX_DEPTH, 1000);
	ck_assert_uint_eq(got, RX_DEPTH);
	ck_assert_uint_gt(vs__port_stats(port, 0)->rx_no_buf, 0);
	/* Buffers come back: the queue refills and receives again. */
	vs__port_buf_put(port, 0, held, nheld);
	vs__port_buf_put(port, 0, keep, got);
	rx_collect(per_q, 0, NULL, 0, 0, 100); /* drain; the queue refills */
	for (uint32_t i = 0; i < 10; i++)
		peer_send(100, 1, 9600, 1000 + i);
	ck_assert_uint_eq(rx_collect(per_q, 0, NULL, 0, 10, 2000), 10);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

START_TEST(error_recovery)
{
	struct vs_rule_handle *h;
	unsigned per_q[NQ];

	setup();
	h = add(udp_rule(VS_RULE_STEER, 1, 9700, 0, false));
	/* A frame longer than a receive buffer: a length error completion,
	 * after which the queue is reset and refilled. */
	peer_send(4000, 1, 9700, 1);
	rx_collect(per_q, 1, NULL, 0, 0, 500);
	ck_assert_uint_eq(per_q[1], 0);
	ck_assert_uint_eq(vs__port_stats(port, 1)->rx_err, 1);
	ck_assert_uint_eq(vs__port_stats(port, 1)->recovered, 1);
	for (uint32_t i = 0; i < 5; i++)
		peer_send(300, 1, 9700, i);
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 5, 2000), 5);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

START_TEST(sleep_wake)
{
	struct vs_rule_handle *h;
	struct pollfd p;
	struct vs_buf *b[4];

	setup();
	h = add(udp_rule(VS_RULE_STEER, 0, 9800, 0, false));
	p = (struct pollfd){ .fd = vs__port_sleep_fd(port, 0),
			     .events = POLLIN };
	ck_assert_int_ge(p.fd, 0);
	ck_assert_int_eq(vs__port_arm(port, 0), 0);
	ck_assert_int_eq(poll(&p, 1, 100), 0); /* nothing: it sleeps */
	peer_send(100, 1, 9800, 1);
	ck_assert_int_eq(poll(&p, 1, 2000), 1);
	vs__port_woken(port, 0);
	ck_assert_uint_eq(vs__port_rx_burst(port, 0, b, 4), 1);
	vs__port_buf_put(port, 0, b, 1);
	/* Armed again with nothing new: the fd stays quiet. */
	ck_assert_int_eq(vs__port_arm(port, 0), 0);
	ck_assert_int_eq(poll(&p, 1, 100), 0);
	/* A frame that arrives between the last poll and arming is seen by
	 * arm, so nobody sleeps on it. */
	peer_send(100, 1, 9800, 2);
	usleep(200000);
	vs__port_woken(port, 0);
	ck_assert_int_eq(vs__port_arm(port, 0), 1);
	ck_assert_uint_eq(vs__port_rx_burst(port, 0, b, 4), 1);
	vs__port_buf_put(port, 0, b, 1);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

/* The emulator's view of this process: "N receive queues, M rules". */
static void
assert_emulator_holds(unsigned queues, unsigned rules)
{
	char line[256], want[64];
	FILE *f = popen(getenv("VS_TEST_STATS"), "r");

	ck_assert_ptr_nonnull(f);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	pclose(f);
	snprintf(want, sizeof(want), "%u receive queues, %u rules", queues,
		 rules);
	ck_assert_msg(strstr(line, want), "emulator: %s", line);
}

/* Whether the netdev has an XDP program attached (ip link says). */
static bool
netdev_has_xdp(void)
{
	char cmd[128], line[512];
	bool found = false;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ip link show dev %s",
		 getenv("VS_TEST_IFNAME"));
	f = popen(cmd, "r");
	ck_assert_ptr_nonnull(f);
	while (fgets(line, sizeof(line), f))
		found |= strstr(line, "prog/xdp") != NULL;
	pclose(f);
	return found;
}

START_TEST(close_leaks)
{
	struct vs_rule_handle *h;

	if (xdp) {
		setup();
		h = add(udp_rule(VS_RULE_STEER, 0, 9900, 0, false));
		(void)h;
		ck_assert(netdev_has_xdp());
		vs__port_close(port);
		close(peer);
		/* The program (and with it its maps and rules) is gone. */
		ck_assert_msg(!netdev_has_xdp(), "an XDP program is left");
		return;
	}
	setup();
	h = add(udp_rule(VS_RULE_STEER, 0, 9900, 0, false));
	(void)h;
	/* NQ WQs; a rule of any family is an IPv4 and an IPv6 flow. The
	 * rule is not deleted: closing removes what is left. */
	assert_emulator_holds(NQ, 2);
	vs__port_close(port);
	close(peer);
	assert_emulator_holds(0, 0);
}
END_TEST

START_TEST(tx_checksum)
{
	struct vs_buf *b;
	uint8_t got[2048];
	ssize_t n;

	setup();
	ck_assert_uint_eq(vs__port_buf_get(port, 0, &b, 1), 1);
	/* Built with zero checksums; the NIC is asked to fill them. */
	udp4_frame(b->data, 300, peer_mac, vs__port_info(port)->mac, LOCAL_IP,
		   PEER_IP, 777, 9250);
	b->len = 300;
	b->flags = VS_BUF_TX_CSUM;
	ck_assert_uint_eq(vs__port_tx_burst(port, 0, &b, 1), 1);
	vs__port_flush(port, 0);
	n = peer_recv(got, sizeof(got), 2000);
	ck_assert_int_eq(n, 300);
	ck_assert_msg(frame_ip4_csum_ok(got), "IPv4 header checksum %02x%02x",
		      got[24], got[25]);
	ck_assert_msg(frame_l4_csum_ok(got), "UDP checksum %02x%02x", got[40],
		      got[41]);
	teardown();
}
END_TEST

/* A counting rule counts exactly the frames it took, on both backends
 * (xdp: a per-CPU counter read over every CPU). */
START_TEST(rule_hits)
{
	struct vs_rule r = udp_rule(VS_RULE_STEER, 1, 9660, 0, false);
	struct vs_rule_handle *h;
	unsigned per_q[NQ];
	uint64_t hits = 0;

	setup();
	r.count = true;
	h = add(r);
	for (uint32_t i = 0; i < 3; i++)
		peer_send(100, 4000, 9660, i);
	rx_collect(per_q, 1, NULL, 0, 3, 2000);
	ck_assert_uint_eq(per_q[1], 3);
	ck_assert_int_eq(vs__port_rule_hits(port, h, &hits), 0);
	ck_assert_uint_eq(hits, 3);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

START_TEST(source_port_bits)
{
	struct vs_rule r = udp_rule(VS_RULE_STEER, 0, 9650, 0, false);
	struct vs_rule_handle *even, *odd;
	unsigned per_q[NQ];

	setup();
	/* Two processes sharing a listening port split it by the low bit
	 * of the source port; here two queues stand for them. */
	r.sport_mask = 1;
	r.sport = 0;
	even = add(r);
	r.queue = 3;
	r.sport = 1;
	odd = add(r);
	for (uint16_t sp = 2000; sp < 2010; sp++)
		peer_send(100, sp, 9650, sp);
	rx_collect(per_q, 0, NULL, 0, 0, 500);
	ck_assert_uint_eq(per_q[0], 5);
	ck_assert_uint_eq(per_q[3], 5);
	ck_assert_int_eq(vs__port_rule_del(port, even), 0);
	ck_assert_int_eq(vs__port_rule_del(port, odd), 0);
	teardown();
}
END_TEST

START_TEST(standby_rule)
{
	struct vs_rule r = udp_rule(VS_RULE_STEER, 2, 9660, 0, true);
	struct vs_rule_handle *normal, *standby;
	unsigned per_q[NQ];

	setup();
	r.standby = true;
	r.queue = 1;
	if (xdp) { /* one process per netdev: no use for it */
		ck_assert_int_eq(vs__port_rule_add(port, &r, &standby),
				 -EOPNOTSUPP);
		teardown();
		return;
	}
	/* The standby rule, added first and more specific, still loses to
	 * the normal one; it takes the frames once that one is gone. */
	r.sport = 3000;
	r.sport_mask = 0xffff;
	standby = add(r);
	normal = add(udp_rule(VS_RULE_STEER, 2, 9660, 0, true));
	peer_send(100, 3000, 9660, 1);
	ck_assert_uint_eq(rx_collect(per_q, 2, NULL, 0, 1, 2000), 1);
	ck_assert_uint_eq(per_q[1], 0);
	ck_assert_int_eq(vs__port_rule_del(port, normal), 0);
	peer_send(100, 3000, 9660, 2);
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 1, 2000), 1);
	ck_assert_int_eq(vs__port_rule_del(port, standby), 0);
	teardown();
}
END_TEST

START_TEST(jumbo)
{
	struct vs_port_opts o = opts(1, 512);
	struct vs_rule_handle *h;
	struct vs_buf *b[2];
	uint64_t t0;
	unsigned n = 0;

	o.buf_size = 9216;
	nbufs = 512;
	if (xdp) {
		char want[256];

		snprintf(want, sizeof(want),
			 "%s: buffers of 9216 bytes: AF_XDP "
			 "frames live in chunks of at most "
			 "one 4 KiB page; use buffer_size = "
			 "2048 (jumbo frames need the verbs "
			 "backend)",
			 getenv("VS_TEST_DEVICE"));
		ck_assert_ptr_null(vs__port_open(&o, err, sizeof(err)));
		ck_assert_str_eq(err, want);
		ck_assert(!netdev_has_xdp());
		return;
	}
	port = vs__port_open(&o, err, sizeof(err));
	ck_assert_msg(port != NULL, "open: %s", err);
	peer = peer_open();
	h = add(udp_rule(VS_RULE_STEER, 0, 9660, 0, false));
	peer_send(8000, 1, 9660, 42);
	for (t0 = ms_now(); !n && ms_now() - t0 < 2000;)
		n = vs__port_rx_burst(port, 0, b, 2);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(b[0]->len, 8000);
	ck_assert_uint_eq(b[0]->data[7999], (uint8_t)7999);
	vs__port_buf_put(port, 0, b, 1);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	teardown();
}
END_TEST

/* --- port.errors --- */

static void
assert_open_fails(struct vs_port_opts o, int want_errno, const char *want)
{
	errno = 0;
	err[0] = '\0';
	ck_assert_ptr_null(vs__port_open(&o, err, sizeof(err)));
	ck_assert_int_eq(errno, want_errno);
	ck_assert_str_eq(err, want);
}

START_TEST(no_such_device)
{
	struct vs_port_opts o = opts(1, 1024);
	char want[256];

	o.device = "mlx5_9";
	snprintf(want, sizeof(want),
		 "mlx5_9: no such RDMA device or netdev; "
		 "there are: %s (%s)",
		 getenv("VS_TEST_DEVICE"), getenv("VS_TEST_IFNAME"));
	assert_open_fails(o, ENODEV, want);
}
END_TEST

START_TEST(no_device_at_all)
{
	setenv("VSEMU_DIR", "/nonexistent", 1);
	assert_open_fails(opts(1, 1024), ENODEV,
			  "mlx5_0: no RDMA device found (for ConnectX: is "
			  "mlx5_ib loaded? for the emulated one: is vsemu "
			  "running, and VSEMU_DIR set?)");
}
END_TEST

START_TEST(no_cap_net_raw)
{
	char want[256];

	ck_assert_int_eq(drop_net_raw(), 0);
	snprintf(want, sizeof(want),
		 "%s: CAP_NET_RAW required; run as root, or as a "
		 "service's user with `vstack run --user USER`",
		 getenv("VS_TEST_DEVICE"));
	assert_open_fails(opts(2, 1024), EPERM, want);
	/* What was made before the refusal is gone again. */
	assert_emulator_holds(0, 0);
}
END_TEST

START_TEST(xdp_no_such_interface)
{
	struct vs_port_opts o = opts(1, 1024);
	char want[256];

	o.device = "xdp:nosuch0";
	snprintf(want, sizeof(want),
		 "xdp:nosuch0: no such interface in this "
		 "network namespace; there are: %s",
		 getenv("VS_TEST_IFNAME"));
	assert_open_fails(o, ENODEV, want);
}
END_TEST

START_TEST(xdp_no_cap_net_raw)
{
	char want[256];

	ck_assert_int_eq(drop_net_raw(), 0);
	snprintf(want, sizeof(want),
		 "%s: AF_XDP needs CAP_NET_RAW, and "
		 "loading the XDP program CAP_BPF and "
		 "CAP_NET_ADMIN; run as root",
		 getenv("VS_TEST_DEVICE"));
	assert_open_fails(opts(2, 1024), EPERM, want);
	ck_assert(!netdev_has_xdp());
}
END_TEST

START_TEST(xdp_bad_device)
{
	struct vs_port_opts o = opts(1, 1024);
	char want[256];

	o.device = "xdp:";
	assert_open_fails(o, EINVAL, "xdp:: expected xdp:IFNAME");
	snprintf(want, sizeof(want), "%s@1-x", getenv("VS_TEST_DEVICE"));
	o.device = want;
	snprintf(err, sizeof(err),
		 "%s: expected xdp:IFNAME, xdp:IFNAME@QUEUE "
		 "or xdp:IFNAME@FIRST-LAST",
		 want);
	{
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", err);
		assert_open_fails(o, EINVAL, msg);
	}
	/* A netdev whose frames do not fit a chunk. */
	ck_assert_int_eq(system("ip link set dev \"$VS_TEST_IFNAME\" mtu 3000"),
			 0);
	o.device = getenv("VS_TEST_DEVICE");
	{
		char msg[512];

		snprintf(msg, sizeof(msg),
			 "%s: MTU 3000 is too large for AF_XDP "
			 "chunks of 2048 bytes (at most 1774); "
			 "lower it (ip link set %s mtu 1500) or "
			 "use the verbs backend",
			 getenv("VS_TEST_DEVICE"), getenv("VS_TEST_IFNAME"));
		assert_open_fails(o, EMSGSIZE, msg);
	}
	ck_assert_int_eq(system("ip link set dev \"$VS_TEST_IFNAME\" mtu 1500"),
			 0);
	snprintf(want, sizeof(want), "%s@7", getenv("VS_TEST_DEVICE"));
	o.device = want;
	{
		char msg[512];

		snprintf(msg, sizeof(msg),
			 "%s: queue 7: the netdev has 4 queues", want);
		assert_open_fails(o, EINVAL, msg);
	}
	ck_assert(!netdev_has_xdp());
}
END_TEST

START_TEST(bad_options)
{
	struct vs_port_opts o = opts(0, 1024);
	char want[64];

	assert_open_fails(o, EINVAL, "0 queues: expected 1..256");
	o = opts(4, 100);
	assert_open_fails(o, EINVAL,
			  "100 buffers of 2048 bytes cannot fill 4 queues of "
			  "64 receive and 64 send slots");
	o = opts(1, 1024);
	o.sz = 8;
	snprintf(want, sizeof(want), "port options: size 8, expected %zu",
		 sizeof(o));
	assert_open_fails(o, EINVAL, want);
}
END_TEST

/*
 * port.fault_injection: each verbs call the port makes while opening
 * fails once (the emulator's VSEMU_FAIL): the open fails with that
 * call's errno and a message naming it, and nothing is left in the
 * emulator (an ASan build also finds what leaked in the process).
 */
static const struct open_fault {
	const char *spec; /* VSEMU_FAIL */
	int want_errno; /* of vs__port_open */
	const char *says; /* in the message */
} open_faults[] = {
	/* rdma-core without an RDMA subsystem: NULL, no list to free */
	{ "ibv_get_device_list:1:ENOSYS", ENODEV, "no RDMA device found" },
	{ "ibv_open_device:1:ENOMEM", ENOMEM,
	  "cannot open: ibv_open_device: Cannot allocate memory" },
	{ "ibv_query_port:1:EIO", EIO,
	  "cannot query the device: "
	  "ibv_query_port: Input/output error" },
	{ "ibv_query_device_ex:1:EINVAL", EIO,
	  "cannot query the device: "
	  "ibv_query_device_ex: Invalid argument" },
	{ "ibv_alloc_pd:1:ENOMEM", ENOMEM, "ibv_alloc_pd: Cannot allocate" },
	{ "ibv_reg_mr:1:EFAULT", EFAULT, "ibv_reg_mr: Bad address" },
	{ "ibv_create_comp_channel:3:EMFILE", EMFILE,
	  "cannot create the queues: ibv_create_comp_channel: Too many" },
	{ "ibv_create_cq:1:ENOMEM", ENOMEM, "ibv_create_cq: Cannot" },
	{ "ibv_create_cq:4:ENOMEM", ENOMEM, "ibv_create_cq: Cannot" },
	{ "ibv_create_wq:2:ENOMEM", ENOMEM, "ibv_create_wq: Cannot" },
	{ "ibv_modify_wq:4:EINVAL", EINVAL, "ibv_modify_wq: Invalid" },
	{ "ibv_create_rwq_ind_table:1:ENOMEM", ENOMEM,
	  "ibv_create_rwq_ind_table: Cannot" },
	/* the fifth: over every queue, after each queue's own */
	{ "ibv_create_rwq_ind_table:5:EINVAL", EINVAL,
	  "ibv_create_rwq_ind_table: Invalid" },
	{ "ibv_create_qp_ex:3:ENOMEM", ENOMEM, "ibv_create_qp_ex: Cannot" },
	{ "ibv_create_qp_ex:5:EOPNOTSUPP", EOPNOTSUPP,
	  "ibv_create_qp_ex: Operation not supported" },
	{ "ibv_create_qp:2:ENOMEM", ENOMEM, "ibv_create_qp: Cannot" },
	{ "ibv_create_qp:1:EPERM", EPERM, "CAP_NET_RAW required" },
	{ "ibv_modify_qp:1:EINVAL", EINVAL, "ibv_modify_qp: Invalid" },
	{ "ibv_modify_qp:9:EIO", EIO, "ibv_modify_qp: Input/output" },
	{ "ibv_post_wq_recv:1+:EIO", 0, NULL }, /* opens; runs: see below */
};

START_TEST(open_fault)
{
	const struct open_fault *f = &open_faults[_i];
	struct vs_port_opts o = opts(NQ, NBUFS);

	nbufs = NBUFS;
	ck_assert_int_eq(vsemu_fail(f->spec), 0);
	errno = 0;
	err[0] = '\0';
	port = vs__port_open(&o, err, sizeof(err));
	if (!f->says) {
		/* Receives that cannot be posted: the port opens, counts
		 * the refusals and has no buffer posted; once the fault
		 * is gone the next refill posts them. */
		ck_assert_msg(port != NULL, "%s: open: %s", f->spec, err);
		ck_assert_uint_gt(vs__port_stats(port, 0)->rx_err, 0);
		ck_assert_uint_eq(vs__port_stats(port, 0)->rx_posted, 0);
		ck_assert_int_eq(vsemu_fail(NULL), 0);
		peer = peer_open();
		teardown();
		assert_emulator_holds(0, 0);
		return;
	}
	ck_assert_msg(port == NULL, "%s: the port opened", f->spec);
	ck_assert_msg(errno == f->want_errno, "%s: errno %d (%s), want %d",
		      f->spec, errno, strerror(errno), f->want_errno);
	ck_assert_msg(strstr(err, f->says), "%s: message \"%s\", want \"%s\"",
		      f->spec, err, f->says);
	ck_assert_int_eq(vsemu_fail(NULL), 0);
	assert_emulator_holds(0, 0);
	/* And the next open works. */
	setup();
	teardown();
}
END_TEST

/* A running port: each failed call is counted and the next one works;
 * no buffer is lost (teardown counts them). */
START_TEST(running_faults)
{
	struct vs_buf *b[64];
	uint8_t buf[9100];
	unsigned per_q[NQ];
	struct vs_rule_handle *h, *h2;
	struct vs_rule r;
	uint64_t hits;

	setup();
	h = add(udp_rule(VS_RULE_STEER, 1, 9200, 0, false));
	/* Polling fails once. */
	ck_assert_int_eq(vsemu_fail("ibv_poll_cq:1:EIO"), 0);
	peer_send(100, 1234, 9200, 1);
	ck_assert_uint_eq(vs__port_rx_burst(port, 1, b, 64), 0);
	ck_assert_uint_eq(vs__port_stats(port, 1)->rx_err, 1);
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 1, 2000), 1);
	/* Reposting fails once: the queue refills at its next burst. */
	ck_assert_int_eq(vsemu_fail("ibv_post_wq_recv:1:ENOMEM"), 0);
	for (uint32_t i = 0; i < 40; i++)
		peer_send(100, 1234, 9200, i);
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 40, 3000), 40);
	ck_assert_uint_eq(vs__port_stats(port, 1)->rx_err, 2);
	for (uint32_t i = 0; i < 40; i++)
		peer_send(100, 1234, 9200, i);
	ck_assert_uint_eq(rx_collect(per_q, 1, NULL, 0, 40, 3000), 40);
	ck_assert_uint_eq(vs__port_stats(port, 1)->rx_err, 2);
	/* Sending fails once: the frame stays the caller's, then goes. */
	ck_assert_int_eq(vsemu_fail("ibv_post_send:1:ENOMEM"), 0);
	ck_assert_uint_eq(vs__port_buf_get(port, 0, b, 1), 1);
	udp4_frame(b[0]->data, 200, peer_mac, vs__port_info(port)->mac,
		   LOCAL_IP, PEER_IP, 9300, 9300);
	b[0]->len = 200;
	b[0]->flags = 0;
	ck_assert_uint_eq(vs__port_tx_burst(port, 0, b, 1), 0);
	ck_assert_uint_eq(vs__port_stats(port, 0)->tx_err, 1);
	ck_assert_uint_eq(vs__port_tx_burst(port, 0, b, 1), 1);
	vs__port_flush(port, 0);
	ck_assert_int_eq(peer_recv(buf, sizeof(buf), 2000), 200);
	/* Arming fails once. */
	ck_assert_int_eq(vsemu_fail("ibv_req_notify_cq:1:EIO"), 0);
	ck_assert_int_lt(vs__port_arm(port, 2), 0);
	ck_assert_int_eq(vs__port_arm(port, 2), 0);
	/* A rule whose second flow (IPv6) fails: none of it stays. */
	ck_assert_int_eq(vsemu_fail("ibv_create_flow:2:ENOSPC"), 0);
	r = udp_rule(VS_RULE_STEER, 0, 9201, 0, false);
	h2 = NULL;
	ck_assert_int_eq(vs__port_rule_add(port, &r, &h2), -ENOSPC);
	ck_assert_ptr_null(h2);
	assert_emulator_holds(NQ, 2);
	/* Counting rules: counters that cannot be made or read. */
	r.count = true;
	ck_assert_int_eq(vsemu_fail("ibv_create_counters:1:ENOMEM"), 0);
	ck_assert_int_eq(vs__port_rule_add(port, &r, &h2), -ENOMEM);
	ck_assert_int_eq(vsemu_fail("ibv_attach_counters_point_flow:2:"
				    "EOPNOTSUPP"),
			 0);
	ck_assert_int_eq(vs__port_rule_add(port, &r, &h2), -EOPNOTSUPP);
	assert_emulator_holds(NQ, 2);
	ck_assert_int_eq(vsemu_fail("ibv_read_counters:1:EIO"), 0);
	h2 = add(r);
	ck_assert_int_eq(vs__port_rule_hits(port, h2, &hits), -EIO);
	ck_assert_int_eq(vs__port_rule_hits(port, h2, &hits), 0);
	ck_assert_int_eq(vs__port_rule_del(port, h2), 0);
	ck_assert_int_eq(vs__port_rule_del(port, h), 0);
	ck_assert_uint_eq(vs__port_stats(port, 1)->rx_frames, 81);
	teardown();
}
END_TEST

Suite *
vstest_suite(void)
{
	Suite *s = suite_create("port");
	const char *which = getenv("VS_TEST_SUITE");
	const char *backend = getenv("VS_TEST_BACKEND");

	xdp = backend && strcmp(backend, "xdp") == 0;
	if (!which ||
	    (strcmp(which, "errors") != 0 && strcmp(which, "faults") != 0)) {
		VSTEST_ADD(s, open_info);
		VSTEST_ADD(s, steer_rx);
		VSTEST_ADD(s, tx_frames);
		VSTEST_ADD(s, rule_precedence);
		VSTEST_ADD(s, drop_rule);
		VSTEST_ADD(s, rss_spread);
		VSTEST_ADD(s, exhaustion);
		VSTEST_ADD(s, sleep_wake);
		VSTEST_ADD(s, close_leaks);
		VSTEST_ADD(s, source_port_bits);
		VSTEST_ADD(s, rule_hits);
		VSTEST_ADD(s, standby_rule);
		VSTEST_ADD(s, jumbo);
		if (!xdp) { /* a NIC's: AF_XDP has neither */
			VSTEST_ADD(s, error_recovery);
			VSTEST_ADD(s, tx_checksum);
		}
	} else if (strcmp(which, "faults") == 0) {
		TCase *tc = tcase_create("open_fault");

		tcase_add_loop_test(tc, open_fault, 0,
				    (int)VS_ARRAY_SIZE(open_faults));
		tcase_set_timeout(tc, VSTEST_TIMEOUT_S);
		suite_add_tcase(s, tc);
		VSTEST_ADD(s, running_faults);
	} else if (xdp) {
		VSTEST_ADD(s, xdp_no_such_interface);
		VSTEST_ADD(s, xdp_no_cap_net_raw);
		VSTEST_ADD(s, xdp_bad_device);
		VSTEST_ADD(s, bad_options);
	} else {
		VSTEST_ADD(s, no_such_device);
		VSTEST_ADD(s, no_device_at_all);
		VSTEST_ADD(s, no_cap_net_raw);
		VSTEST_ADD(s, bad_options);
	}
	return s;
}
