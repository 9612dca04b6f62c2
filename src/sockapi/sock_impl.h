/* SPDX-License-Identifier: MIT */
/*
 * sock_impl.h - what the socket layer's own files (sock.c, udp.c) share.
 * Not for preload/ or anything outside src/sockapi/: their interface is
 * sock.h.
 */
#ifndef VS_SOCKAPI_SOCK_IMPL_H
#define VS_SOCKAPI_SOCK_IMPL_H

#include <netinet/in.h>
#include <sys/uio.h>

#include "base/policy.h"
#include "sockapi/sock.h"

/* A received datagram waiting in its socket's queue. */
struct vs_dgram {
	struct vs_dgram *next;
	struct pbuf *p;
	struct sockaddr_storage from;
	/* where it was sent (for IP_PKTINFO/IPV6_PKTINFO; family 0: not
	 * asked for when it came) */
	uint8_t to_family;
	uint8_t to_addr[16];
};

/* --- the runtime (sock.c) --- */

/* The runtime, started on first use; false when vstack cannot run
 * (reported once) and everything stays on the kernel. */
bool vs__sk_rt_up(void);
/* The offload policy, and the port (once the runtime is up). */
const struct vs_policy *vs__sk_policy(void);
struct vs_port *vs__sk_port(void);
/* The engine of the calling thread's core. */
struct vs_engine *vs__sk_engine(void);

/* --- addresses (sock.c) --- */

/* Is sa (port ignored) one of the port's addresses? */
bool vs__sk_on_port(const struct sockaddr *sa);
/* Does the kernel route dst out of the port's netdev? It says which
 * source address it would use (into out, if not NULL): ours, or not. */
bool vs__sk_routed_via_port_src(const struct sockaddr *dst,
				struct sockaddr_storage *out);
bool vs__sk_routed_via_port(const struct sockaddr *dst);
/* An address as a socket of `family` shows it: IPv4 on an IPv6
 * (dual-stack) socket is IPv4-mapped. */
void vs__sk_copy_addr(int family, const struct sockaddr_storage *ss,
		      struct sockaddr *sa, socklen_t *len);
/* The other way: an IPv4-mapped IPv6 address as IPv4 (in buf). */
const struct sockaddr *vs__sk_unmap(const struct sockaddr *sa,
				    struct sockaddr_in *buf);

/* --- sockets (sock.c) --- */

/* refs: the fds naming it (nfds), + 1 for a connection lwIP holds. */
struct vs_sock *vs__sk_new(int family, int type, int nfds, int refs);
/* Drops a new socket its creator never published (refs: the creator's). */
void vs__sk_discard(struct vs_sock *s, int refs);
/* fd's socket type (SOCK_STREAM, SOCK_DGRAM) and family. */
int vs__sk_type(int fd, int *family);
/* Wakes whoever watches s, after its readiness changed. */
void vs__sk_notify(struct vs_sock *s);
/*
 * Waits until s shows one of mask's events (or the kernel fd kfd, when
 * >= 0, shows kev), at most timeout_ms (0: no limit). Returns 0, -EAGAIN
 * after the timeout, -EINTR on a signal.
 */
int vs__sk_wait_for(struct vs_sock *s, uint32_t mask, int kfd, short kev,
		    int timeout_ms);
size_t vs__sk_iov_total(const struct iovec *iov, int n);
/* Copies a datagram's first want bytes (at most) into iov. */
size_t vs__sk_copy_dgram(struct vs_sock *s, struct pbuf *p,
			 const struct iovec *iov, int n, size_t want);

/* --- connections that change process (move.c; sock.c's part) --- */

/* Before fork: the process's connections become ones the child may take
 * (each named by its kernel socket's inode, the move server started). */
void vs__mv_prepare_fork(void);
void vs__mv_atfork_parent(void);
void vs__mv_atfork_child(void);
/* The last fd here of s, a shared connection, closes (fd still open):
 * true if it is parked (the fd's reference kept), until no process holds
 * the file; then vs__sk_release_parked closes it. */
bool vs__mv_park(struct vs_sock *s, int fd);
/* After the program closed an fd: parked connections with no holder
 * left close now. */
void vs__mv_after_close(void);
/* At exit: the parked connections close (before the exit's drain). */
void vs__mv_exit(void);
/* fd, if a live vstack connection, may be held by another process from
 * now on (passed over a UNIX socket). */
void vs__mv_share_fd(int fd);
/* s leaves the list of shared connections (its connection closes). */
void vs__mv_forget(struct vs_sock *s);
/* Takes fd's connection, s (move_from set), from where it lives: 0, or
 * -errno (it stays there). */
int vs__mv_take(int fd, struct vs_sock *s);

/* sock.c: a parked socket closes (as its last fd would have). */
void vs__sk_release_parked(struct vs_sock *s);
void vs__sk_put(struct vs_sock *s);
/* The giver, under s->e's lock: its connection moved to process `to`
 * (done), or was reset trying. */
void vs__sk_moved(struct vs_sock *s, bool done, int to);
/* The taker: can this process serve a connection it takes? 0, or
 * -ENODEV (vstack cannot run here), -EOPNOTSUPP (AF_XDP). */
int vs__sk_can_take(void);
/* The taker: the connection of m on this process's engine, with the
 * sndq bytes of sdata to send again and the rlen of rdata to read. */
int vs__sk_moved_in(struct vs_sock *s, const struct vs_tcp_move *m,
		    const void *sdata, const void *rdata, size_t rlen,
		    bool rx_fin, bool shut_rd, bool shut_wr, int err,
		    const struct sockaddr_storage *local,
		    const struct sockaddr_storage *peer);

/* --- UDP (udp.c) --- */

/* connect() on a UDP socket (s NULL: not vstack's yet): the default
 * destination (AF_UNSPEC: none). A socket not yet vstack's becomes so if
 * dst is reached through the port. */
int vs__sk_udp_connect(int fd, struct vs_sock *s, const struct sockaddr *sa,
		       socklen_t len);
ssize_t vs__sk_udp_recv(int fd, struct vs_sock *s, struct msghdr *m, int flags);
ssize_t vs__sk_udp_send(int fd, struct vs_sock *s, const struct msghdr *m,
			int flags);
int vs__sk_udp_recvmmsg(int fd, struct vs_sock *s, struct mmsghdr *v,
			unsigned n, int flags, struct timespec *tmo);
int vs__sk_udp_sendmmsg(int fd, struct vs_sock *s, struct mmsghdr *v,
			unsigned n, int flags);

#endif
