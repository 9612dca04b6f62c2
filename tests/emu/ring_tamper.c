// SPDX-License-Identifier: MIT
/*
 * ring_tamper SOCK - a hostile client of a vsemu daemon (emu.ring_tamper).
 * Speaks the control protocol (emu/proto.h) itself, without libvsemu,
 * and does what a broken or malicious process could:
 *   offers an unsealed ring (which it could shrink under the daemon),
 *     a ring whose slots are larger than the daemon allows, and a rule
 *     before HELLO: each must be refused;
 *   after a proper HELLO, tries to shrink its sealed ring (the kernel
 *     refuses);
 *   offers an eventfd as a completion channel (refused: the daemon could
 *     be made to block writing it), then takes a sniffer rule into a
 *     queue whose channel is a socket it has filled and never reads,
 *     and arms that queue again and again: the daemon must not block;
 *   rewrites its TX ring's header (slot count and size) and puts slots
 *     with impossible lengths in it: the daemon must consume them,
 *     counting them as malformed, without reading outside the ring.
 * Prints one line per step and "ready"; then keeps re-arming until its
 * stdin closes. Exits 1 at the first expectation that does not hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "emu/proto.h"
#include "emu/ring.h"

#define SLOTS 64
#define SLOT 2048

static int sock;

static void
fail(const char *what)
{
	fprintf(stderr, "ring_tamper: %s\n", what);
	exit(1);
}

/* One request; the reply's errno (0: done); *rfd gets a passed fd. */
static int
call(struct emu_msg *m, const int *fds, int nfds, int *rfd)
{
	char cbuf[CMSG_SPACE(2 * sizeof(int))] = { 0 };
	struct iovec iov = { m, sizeof(*m) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds) {
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
	}
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != (ssize_t)sizeof(*m))
		fail("send to the daemon");
	mh.msg_control = cbuf;
	mh.msg_controllen = sizeof(cbuf);
	if (recvmsg(sock, &mh, 0) != (ssize_t)sizeof(*m) ||
	    m->type != EMU_MSG_REPLY)
		fail("no reply from the daemon");
	c = CMSG_FIRSTHDR(&mh);
	if (rfd && c && c->cmsg_type == SCM_RIGHTS)
		memcpy(rfd, CMSG_DATA(c), sizeof(int));
	return (int)m->err;
}

/* A ring in a memfd, sealed or not. */
static struct emu_ring *
ring(bool seal, uint32_t slot_size, int *fd)
{
	size_t bytes = emu_ring_bytes(SLOTS, slot_size);
	struct emu_ring *r;

	*fd = memfd_create("tamper", MFD_ALLOW_SEALING);
	if (*fd < 0 || ftruncate(*fd, (off_t)bytes) ||
	    (seal && fcntl(*fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW)))
		fail("memfd");
	r = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
	if (r == MAP_FAILED)
		fail("mmap");
	emu_ring_init(r, SLOTS, slot_size);
	return r;
}

static int
hello(int fd, uint32_t slot_size, int *doorbell)
{
	struct emu_msg m = { .type = EMU_MSG_HELLO };

	m.u.hello.version = EMU_PROTO_VERSION;
	m.u.hello.tx_slots = SLOTS;
	m.u.hello.slot_size = slot_size;
	return call(&m, &fd, 1, doorbell);
}

static int
add_rq(uint32_t id, int ring_fd, int chan)
{
	struct emu_msg m = { .type = EMU_MSG_ADD_RQ };
	int fds[2] = { ring_fd, chan };

	m.u.rq.id = id;
	m.u.rq.slots = SLOTS;
	m.u.rq.slot_size = SLOT;
	m.u.rq.has_channel = 1;
	return call(&m, fds, 2, NULL);
}

static int
sniffer(uint32_t rq)
{
	struct emu_msg m = { .type = EMU_MSG_ADD_RULE };

	m.u.rule.id = 1;
	m.u.rule.target = rq;
	m.u.rule.type = IBV_FLOW_ATTR_SNIFFER;
	return call(&m, NULL, 0, NULL);
}

static void
expect(int rc, int want, const char *what)
{
	if (rc != want) {
		fprintf(stderr, "ring_tamper: %s: got %s, expected %s\n", what,
			rc ? strerror(rc) : "success",
			want ? strerror(want) : "success");
		exit(1);
	}
	printf("%s: %s\n", what, rc ? "refused" : "done");
}

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct emu_ring *tx, *rx;
	int fd, rx_fd, doorbell = -1, sv[2], efd;
	struct emu_slot *s;
	uint64_t one = 1;
	char junk[4096] = { 0 };

	if (argc != 2)
		return 2;
	setvbuf(stdout, NULL, _IOLBF, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", argv[1]);
	sock = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (connect(sock, (struct sockaddr *)&sa, sizeof(sa)))
		fail("connect");

	/* Before HELLO: no rules. */
	expect(sniffer(1), EPROTO, "a rule before HELLO");
	tx = ring(false, SLOT, &fd);
	expect(hello(fd, SLOT, &doorbell), EINVAL, "an unsealed ring");
	close(fd);
	tx = ring(true, EMU_RING_SLOT_MAX + 64, &fd);
	expect(hello(fd, EMU_RING_SLOT_MAX + 64, &doorbell), EINVAL,
	       "slots larger than the daemon allows");
	close(fd);
	tx = ring(true, SLOT, &fd);
	expect(hello(fd, SLOT, &doorbell), 0, "a sealed ring");
	if (doorbell < 0)
		fail("no doorbell");
	if (!ftruncate(fd, 4096) || errno != EPERM)
		fail("a sealed ring shrank");
	printf("shrinking the ring: refused by the kernel\n");

	/* A channel the daemon could block on; then one it cannot. */
	rx = ring(true, SLOT, &rx_fd);
	efd = eventfd(0, 0);
	expect(add_rq(7, rx_fd, efd), EINVAL, "an eventfd channel");
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		fail("socketpair");
	expect(add_rq(7, rx_fd, sv[1]), 0, "a socket channel");
	expect(sniffer(7), 0, "a sniffer rule into it");
	/* Fill the channel to the brim, then make its fd blocking. */
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	while (send(sv[1], junk, sizeof(junk), MSG_NOSIGNAL) > 0)
		;
	fcntl(sv[1], F_SETFL, 0);
	printf("channel full and blocking\n");

	/* The TX ring: impossible lengths, then a header rewritten. */
	s = (struct emu_slot *)tx->slots;
	s->len = 0xffffffffu;
	s = (struct emu_slot *)(tx->slots + SLOT);
	s->len = 5;
	s = (struct emu_slot *)(tx->slots + 2 * SLOT);
	s->len = SLOT * 4;
	tx->nslots = 0xffffffffu;
	tx->slot_size = 0x7fffffffu;
	atomic_store(&tx->prod, 3);
	if (write(doorbell, &one, sizeof(one)) != sizeof(one))
		fail("doorbell");
	for (int i = 0; i < 500 && atomic_load(&tx->cons) != 3; i++)
		usleep(10000);
	if (atomic_load(&tx->cons) != 3)
		fail("the daemon did not consume the tampered TX ring");
	printf("tampered TX ring consumed\n");
	printf("ready\n");

	/* Every frame the sniffer takes now makes the daemon send a
	 * token into the full channel. */
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };

		atomic_store(&rx->armed, 1);
		atomic_store(&rx->cons, atomic_load(&rx->prod));
		if (poll(&p, 1, 1) == 1 && read(0, junk, sizeof(junk)) <= 0)
			return 0;
	}
}
