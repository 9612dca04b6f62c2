// SPDX-License-Identifier: MIT
/*
 * hostile - a peer with no kernel socket behind it: it speaks TCP from an
 * address its own kernel does not have (so that kernel never answers for
 * it), through an AF_PACKET socket on IFNAME.
 *
 *   hostile IFNAME DSTMAC SRCIP DSTIP DPORT ooo CONNS SEGS
 *       opens CONNS connections (a handshake each), then sends SEGS
 *       one-byte segments on each, two bytes apart, above a hole it never
 *       fills: everything it sends waits out of order. Prints "holding"
 *       and waits for a line on stdin, then resets every connection.
 *   hostile IFNAME DSTMAC SRCIP DSTIP DPORT syn N
 *       sends N SYNs from different ports and never completes one.
 *   hostile IFNAME DSTMAC SRCIP DSTIP DPORT tw REQUEST
 *       a connection from port 30000 that sends REQUEST and waits for
 *       the server to close first (its side goes to TIME_WAIT), then
 *       closes; then, from the same port, a SYN below the old
 *       connection's sequence numbers must get an ACK of the old
 *       connection (RFC 793, as Linux), and one above them a SYN|ACK
 *       whose sequence number is above everything the old one sent
 *       (RFC 6191), which it resets.
 *   hostile IFNAME DSTMAC SRCIP DSTIP DPORT rst N
 *       a connection from port 31000, then N RSTs and N SYNs inside its
 *       window (none at the exact sequence: RFC 5961's challenge ACK
 *       territory); prints how many ACKs came back in the next second
 *       ("challenge ACKs: K"); then PING must still get +PONG (a redis
 *       server), and an exact RST ends it.
 *   hostile IFNAME DSTMAC SRCIP DSTIP DPORT hold N
 *       opens N connections from ports 40000.., 64 handshakes every 20 ms,
 *       and prints "open K reset R unanswered U": K completed, R
 *       answered (or, after the handshake, followed) by a reset. Prints
 *       "holding" and waits for a line on stdin, then resets the K.
 *
 * Exits 0 when everything it sent could be sent (and, for ooo, every
 * handshake completed within 5 s), 1 otherwise.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int sock = -1;
static uint8_t my_mac[6], dst_mac[6];
static uint32_t src_ip, dst_ip; /* network order */
static uint16_t dport; /* network order */

static uint16_t
fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t
sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

/* One segment: flags, sequence, ack, payload bytes. */
static int
send_seg(uint16_t sport, uint8_t flags, uint32_t seq, uint32_t ack,
	 const uint8_t *data, size_t len)
{
	uint8_t f[128] = { 0 }, *ip = f + 14, *tcp = f + 34;
	size_t tot = 20 + 20 + len;
	uint32_t s;

	memcpy(f, dst_mac, 6);
	memcpy(f + 6, my_mac, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[2] = (uint8_t)(tot >> 8);
	ip[3] = (uint8_t)tot;
	ip[8] = 64;
	ip[9] = 6;
	memcpy(ip + 12, &src_ip, 4);
	memcpy(ip + 16, &dst_ip, 4);
	s = fold(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(s >> 8);
	ip[11] = (uint8_t)s;
	sport = htons(sport);
	memcpy(tcp, &sport, 2);
	memcpy(tcp + 2, &dport, 2);
	seq = htonl(seq);
	ack = htonl(ack);
	memcpy(tcp + 4, &seq, 4);
	memcpy(tcp + 8, &ack, 4);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	tcp[14] = 0xff; /* window 65535 */
	tcp[15] = 0xff;
	if (len)
		memcpy(tcp + 20, data, len);
	/* pseudo header: addresses, protocol, TCP length */
	s = sum16(ip + 12, 8, 6 + (uint32_t)(20 + len));
	s = fold(sum16(tcp, 20 + len, s));
	tcp[16] = (uint8_t)(s >> 8);
	tcp[17] = (uint8_t)s;
	/* A full transmit queue (the cable's reader busy: ENOBUFS) is
	 * waited out, for a second at most; the frame is not the test. */
	for (int tries = 0; tries < 1000; tries++) {
		if (send(sock, f, 14 + tot, 0) == (ssize_t)(14 + tot))
			return 0;
		if (errno != ENOBUFS)
			return -1;
		usleep(1000);
	}
	return -1;
}

struct seg {
	uint8_t flags;
	uint32_t seq, ack, len; /* len: payload bytes */
};

/* The server's next segment to a port in [lo, hi] within ms: 0 (and
 * the port in *port), or -1. */
static int
recv_range(uint16_t lo, uint16_t hi, int ms, uint16_t *port, struct seg *s)
{
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		uint8_t f[2048];
		struct pollfd p = { .fd = sock, .events = POLLIN };
		ssize_t n;
		uint32_t v;

		clock_gettime(CLOCK_MONOTONIC, &t);
		if ((t.tv_sec - t0.tv_sec) * 1000 +
			    (t.tv_nsec - t0.tv_nsec) / 1000000 >
		    ms)
			return -1;
		if (poll(&p, 1, 100) != 1)
			continue;
		n = recv(sock, f, sizeof(f), 0);
		if (n < 54 || f[12] != 0x08 || f[13] != 0 || f[23] != 6 ||
		    memcmp(f + 30, &src_ip, 4) || memcmp(f + 26, &dst_ip, 4) ||
		    ((f[36] << 8) | f[37]) < lo || ((f[36] << 8) | f[37]) > hi)
			continue;
		*port = (uint16_t)((f[36] << 8) | f[37]);
		s->flags = f[47];
		memcpy(&v, f + 38, 4);
		s->seq = ntohl(v);
		memcpy(&v, f + 42, 4);
		s->ack = ntohl(v);
		s->len = (uint32_t)((f[16] << 8 | f[17]) - 20 -
				    (f[46] >> 4) * 4);
		return 0;
	}
}

/* The server's next segment to sport within ms: 0, or -1. */
static int
recv_seg(uint16_t sport, int ms, struct seg *s)
{
	uint16_t port;

	return recv_range(sport, sport, ms, &port, s);
}

/* The SYN-ACK for sport within ms: its sequence number, or -1. */
static int64_t
syn_ack(uint16_t sport, int ms)
{
	struct seg s;

	while (recv_seg(sport, ms, &s) == 0)
		if ((s.flags & 0x12) == 0x12)
			return s.seq;
	return -1;
}

static int
tw(const char *req)
{
	const uint16_t port = 30000;
	uint32_t me = 1000, srv, len = (uint32_t)strlen(req);
	int64_t isn;
	struct seg s;

	/* A connection the server closes first. */
	if (send_seg(port, 0x02, me, 0, NULL, 0) ||
	    (isn = syn_ack(port, 5000)) < 0)
		return fprintf(stderr, "hostile: tw: no SYN-ACK\n"), 1;
	srv = (uint32_t)isn + 1;
	me++;
	send_seg(port, 0x18, me, srv, (const uint8_t *)req, len);
	me += len;
	for (;;) {
		if (recv_seg(port, 5000, &s))
			return fprintf(stderr,
				       "hostile: tw: no FIN from the server\n"),
			       1;
		if (s.seq == srv)
			srv += s.len + ((s.flags & 0x01) ? 1 : 0);
		if (s.flags & 0x01)
			break;
		send_seg(port, 0x10, me, srv, NULL, 0);
	}
	/* Our FIN; the server's ACK of it leaves the server in TIME_WAIT. */
	send_seg(port, 0x11, me, srv, NULL, 0);
	me++;
	while (!recv_seg(port, 2000, &s) && !(s.ack == me && s.len == 0))
		;
	/* An old SYN: the old connection's ACK (RFC 793 3.9, Linux too). */
	send_seg(port, 0x02, me - 5000, 0, NULL, 0);
	if (recv_seg(port, 2000, &s) || s.flags != 0x10 || s.ack != me)
		return fprintf(stderr,
			       "hostile: tw: a SYN below the old "
			       "sequence got flags %#x ack %u, not the old "
			       "connection's ACK %u\n",
			       s.flags, s.ack, me),
		       1;
	printf("a SYN below the old connection: its ACK\n");
	/* A new SYN: a new connection, its ISN above the old one's. */
	send_seg(port, 0x02, me + 100000, 0, NULL, 0);
	if (recv_seg(port, 2000, &s) || (s.flags & 0x12) != 0x12 ||
	    s.ack != me + 100001)
		return fprintf(stderr,
			       "hostile: tw: a SYN above the old "
			       "sequence got flags %#x ack %u\n",
			       s.flags, s.ack),
		       1;
	if ((int32_t)(s.seq - srv) < 65536)
		return fprintf(stderr,
			       "hostile: tw: the new ISN %u is not "
			       "above the old connection's %u\n",
			       s.seq, srv),
		       1;
	printf("a SYN above the old connection: a new one, ISN above the old\n");
	send_seg(port, 0x04, me + 100001, 0, NULL, 0);
	return 0;
}

static int
ooo(int conns, int segs)
{
	uint8_t one = 'x';
	uint32_t *rcv = calloc((size_t)conns, sizeof(*rcv));
	char line[16];

	for (int c = 0; c < conns; c++) {
		uint16_t sport = (uint16_t)(20000 + c);
		int64_t s;

		if (send_seg(sport, 0x02, 1000, 0, NULL, 0) ||
		    (s = syn_ack(sport, 5000)) < 0) {
			fprintf(stderr, "hostile: connection %d: no SYN-ACK\n",
				c);
			return 1;
		}
		rcv[c] = (uint32_t)s + 1;
		send_seg(sport, 0x10, 1001, rcv[c], NULL, 0);
	}
	/* Byte 1001 never comes: 1003, 1005, ... all wait out of order.
	 * Paced (2 ms every 128 frames), so that they reach the NIC rather
	 * than the end of its full receive queue. */
	for (int k = 1; k <= segs; k++)
		for (int c = 0; c < conns; c++) {
			if (send_seg((uint16_t)(20000 + c), 0x18,
				     1001 + 2 * (uint32_t)k, rcv[c], &one, 1)) {
				perror("hostile: send");
				return 1;
			}
			if (((k - 1) * conns + c) % 128 == 127)
				usleep(2000);
		}
	printf("holding %d connections, %d segments each\n", conns, segs);
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	for (int c = 0; c < conns; c++)
		send_seg((uint16_t)(20000 + c), 0x04, 1001, 0, NULL, 0);
	printf("reset\n");
	return 0;
}

static int
rst(int n)
{
	const uint16_t port = 31000;
	uint32_t me = 5000, srv;
	int64_t isn;
	struct seg s;
	int acks = 0;

	if (send_seg(port, 0x02, me, 0, NULL, 0) ||
	    (isn = syn_ack(port, 5000)) < 0)
		return fprintf(stderr, "hostile: rst: no SYN-ACK\n"), 1;
	srv = (uint32_t)isn + 1;
	me++;
	send_seg(port, 0x10, me, srv, NULL, 0);
	for (int i = 0; i < n; i++) {
		uint32_t in = me + 1 + (uint32_t)(i % 1000); /* in the window */

		if (send_seg(port, 0x04, in, 0, NULL, 0) ||
		    send_seg(port, 0x02, in, 0, NULL, 0)) {
			perror("hostile: send");
			return 1;
		}
		if (i % 64 == 63)
			usleep(2000);
	}
	while (recv_seg(port, 1000, &s) == 0)
		if (s.flags == 0x10 && s.len == 0)
			acks++;
	printf("challenge ACKs: %d for %d RSTs and %d SYNs\n", acks, n, n);
	send_seg(port, 0x18, me, srv, (const uint8_t *)"PING\r\n", 6);
	for (;;) {
		if (recv_seg(port, 2000, &s))
			return fprintf(stderr,
				       "hostile: rst: the connection no "
				       "longer answers PING\n"),
			       1;
		if (s.len > 0)
			break;
	}
	printf("PING answered (%u bytes)\n", s.len);
	send_seg(port, 0x04, me + 6, 0, NULL, 0);
	return 0;
}

/* hold: connections from ports 40000 + i, 64 handshakes at a time. */
enum { HOLD_WAIT, HOLD_OPEN, HOLD_RESET };

static int
hold(int n)
{
	const uint16_t base = 40000;
	uint32_t *rcv = calloc((size_t)n, sizeof(*rcv));
	uint8_t *st = calloc((size_t)n, 1);
	int count[3] = { 0 };
	uint16_t port;
	struct seg s;
	char line[16];

	if (n < 1 || n > 20000 || !rcv || !st)
		return fprintf(stderr, "hostile: hold: 1..20000\n"), 2;
	for (int b = 0; b < n; b += 64) {
		int m = n - b < 64 ? n - b : 64, waiting = m;

		for (int i = b; i < b + m; i++)
			if (send_seg((uint16_t)(base + i), 0x02, 1000, 0, NULL,
				     0))
				return perror("hostile: send"), 1;
		while (waiting && recv_range(base, (uint16_t)(base + n - 1),
					     2000, &port, &s) == 0) {
			int i = port - base;

			if (s.flags & 0x04) { /* a reset: refused */
				waiting -= i >= b && st[i] == HOLD_WAIT;
				st[i] = HOLD_RESET;
			} else if ((s.flags & 0x12) == 0x12 &&
				   st[i] == HOLD_WAIT) {
				rcv[i] = s.seq + 1;
				send_seg(port, 0x10, 1001, rcv[i], NULL, 0);
				st[i] = HOLD_OPEN;
				waiting--;
			}
		}
		/* Paced: the server accepts as fast as they come (past its
		 * accept queue a connection is reset, as when refused). */
		usleep(20000);
	}
	/* An accept refused after the handshake resets it: look a while. */
	while (recv_range(base, (uint16_t)(base + n - 1), 1000, &port, &s) == 0)
		if (s.flags & 0x04)
			st[port - base] = HOLD_RESET;
	for (int i = 0; i < n; i++)
		count[st[i]]++;
	printf("open %d reset %d unanswered %d\n", count[HOLD_OPEN],
	       count[HOLD_RESET], count[HOLD_WAIT]);
	printf("holding\n");
	fflush(stdout);
	if (!fgets(line, sizeof(line), stdin))
		line[0] = 0;
	for (int i = 0; i < n; i++)
		if (st[i] == HOLD_OPEN)
			send_seg((uint16_t)(base + i), 0x04, 1001, 0, NULL, 0);
	printf("reset\n");
	return 0;
}

static int
syn(int n)
{
	for (int i = 0; i < n; i++) {
		if (send_seg((uint16_t)(10000 + i % 50000), 0x02,
			     (uint32_t)i * 7919, 0, NULL, 0)) {
			perror("hostile: send");
			return 1;
		}
		if (i % 128 == 127)
			usleep(2000);
	}
	printf("sent %d SYNs\n", n);
	return 0;
}

int
main(int argc, char **argv)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET,
				   .sll_protocol = htons(ETH_P_ALL) };
	struct ifreq ifr = { 0 };
	unsigned m[6];

	if (argc < 8 ||
	    sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3],
		   &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &src_ip) != 1 ||
	    inet_pton(AF_INET, argv[4], &dst_ip) != 1) {
		fprintf(stderr,
			"usage: hostile IFNAME DSTMAC SRCIP DSTIP DPORT "
			"ooo CONNS SEGS | syn N | tw REQUEST | rst N | "
			"hold N\n");
		return 2;
	}
	for (int i = 0; i < 6; i++)
		dst_mac[i] = (uint8_t)m[i];
	dport = htons((uint16_t)atoi(argv[5]));
	sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", argv[1]);
	if (sock < 0 || ioctl(sock, SIOCGIFINDEX, &ifr)) {
		perror("hostile: AF_PACKET");
		return 1;
	}
	sll.sll_ifindex = ifr.ifr_ifindex;
	if (bind(sock, (struct sockaddr *)&sll, sizeof(sll)) ||
	    ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		perror("hostile: bind");
		return 1;
	}
	memcpy(my_mac, ifr.ifr_hwaddr.sa_data, 6);
	if (strcmp(argv[6], "ooo") == 0 && argc == 9)
		return ooo(atoi(argv[7]), atoi(argv[8]));
	if (strcmp(argv[6], "syn") == 0 && argc == 8)
		return syn(atoi(argv[7]));
	if (strcmp(argv[6], "tw") == 0 && argc == 8)
		return tw(argv[7]);
	if (strcmp(argv[6], "rst") == 0 && argc == 8)
		return rst(atoi(argv[7]));
	if (strcmp(argv[6], "hold") == 0 && argc == 8)
		return hold(atoi(argv[7]));
	fprintf(stderr, "hostile: unknown mode %s\n", argv[6]);
	return 2;
}
