/* SPDX-License-Identifier: MIT */
/*
 * sock - socket semantics on top of the engines, for the interposed libc
 * calls of preload/ (and nothing else).
 *
 * Owns: the runtime (configuration, the port, one engine per core,
 * started on the first socket that can be offloaded), the table from fd
 * to vstack object (sockets and epoll sets), every vstack socket's
 * queues, and the waiters that sleeping callers park on.
 *
 * The fd model: every vstack socket is backed by a real kernel socket of
 * the same family and type, whose number the application sees; fd
 * numbers, dup, close-on-exec and fallback stay the kernel's. A TCP
 * socket becomes vstack's when it listens on, or connects through, the
 * port's netdev and the policy says offload; until then (and for
 * anything else) it is the kernel's alone. A listener stays listening on
 * the kernel too, so loopback and other interfaces keep working.
 *
 * Threads: any application thread may call in. A connection's state is
 * guarded by its engine's lock; a listener's accept queue and a socket's
 * watchers by their own mutexes (lock order: engine, then socket).
 * Sleeping callers sleep in poll(2) on an eventfd, woken only when
 * something they wait for happened: an idle process uses no CPU.
 *
 * Errors: functions return the call's result or -errno; preload/ sets
 * errno. Must never: block with an engine's lock held, or call an
 * interposed function except through vs__real (preload.c's guard lets
 * vstack's own calls through to libc).
 */
#ifndef VS_SOCKAPI_SOCK_H
#define VS_SOCKAPI_SOCK_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/self.h"
#include "stack/tcp.h"

/* libc's own functions, resolved with dlsym(RTLD_NEXT). */
struct vs_real {
	int (*socket)(int, int, int);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*close)(int);
	int (*close_range)(unsigned, unsigned, int);
	void (*closefrom)(int);
	int (*fclose)(FILE *);
	int (*shutdown)(int, int);
	int (*getsockname)(int, struct sockaddr *, socklen_t *);
	int (*getpeername)(int, struct sockaddr *, socklen_t *);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	ssize_t (*read)(int, void *, size_t);
	ssize_t (*write)(int, const void *, size_t);
	ssize_t (*readv)(int, const struct iovec *, int);
	ssize_t (*writev)(int, const struct iovec *, int);
	ssize_t (*recvfrom)(int, void *, size_t, int, struct sockaddr *,
			    socklen_t *);
	ssize_t (*sendto)(int, const void *, size_t, int,
			  const struct sockaddr *, socklen_t);
	ssize_t (*recvmsg)(int, struct msghdr *, int);
	ssize_t (*sendmsg)(int, const struct msghdr *, int);
	int (*recvmmsg)(int, struct mmsghdr *, unsigned, int,
			struct timespec *);
	int (*sendmmsg)(int, struct mmsghdr *, unsigned, int);
	int (*fcntl)(int, int, ...);
	int (*ioctl)(int, unsigned long, ...);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
	int (*poll)(struct pollfd *, nfds_t, int);
	int (*ppoll)(struct pollfd *, nfds_t, const struct timespec *,
		     const sigset_t *);
	int (*select)(int, fd_set *, fd_set *, fd_set *, struct timeval *);
	int (*epoll_create1)(int);
	int (*epoll_ctl)(int, int, int, struct epoll_event *);
	int (*epoll_pwait)(int, struct epoll_event *, int, int,
			   const sigset_t *);
	ssize_t (*sendfile)(int, int, off_t *, size_t);
	ssize_t (*pread)(int, void *, size_t, off_t);
	pid_t (*fork)(void);
	int (*setuid)(uid_t);
	int (*setreuid)(uid_t, uid_t);
	int (*setresuid)(uid_t, uid_t, uid_t);
};

extern struct vs_real vs__real;

/*
 * Around the program's change of its user ids (setuid, setreuid,
 * setresuid): a program that drops root after it started (nginx's
 * workers under `user www-data;`) keeps CAP_NET_RAW, which raw queues
 * need, where it had it effective, and no other: the kernel would clear
 * them all. Nothing when vstack cannot run in the process, or on AF_XDP
 * (joining and cleaning up the XDP program needs CAP_SYS_ADMIN).
 */
struct vs_keep {
	bool on;
	int keepcaps; /* PR_GET_KEEPCAPS before */
	uint32_t caps[2]; /* what to keep */
};
void vs__privs_before(struct vs_keep *k);
void vs__privs_after(struct vs_keep *k, int rc);

/* Fills vs__real (once; from preload's constructor). */
void vs__real_init(void);
/* Reads the configuration (from preload's constructor). */
void vs__sock_init(void);
/* At exit (preload's destructor): closes vstack's sockets and lets
 * their connections deliver what they queued, 2 s at most. */
void vs__sock_exit(void);

/* --- waiting --- */

/* Someone who sleeps until woken: a thread in a blocking call, or an
 * epoll set. */
struct vs_waiter {
	int efd; /* eventfd it sleeps on */
	_Atomic int armed; /* asleep or about to be: wake it */
	/* An epoll set that is itself watched (nested in another set,
	 * or polled): its eventfd is in its kernel instance, so the kernel
	 * sees the set readable; every readiness change signals it. */
	_Atomic bool shown;
};

struct vs_epitem;

/* A waiter's interest in one socket, on the socket's watch list. */
struct vs_watch {
	struct vs_watch *next;
	struct vs_waiter *w;
	struct vs_epitem *item; /* epoll's, or NULL */
};

/* --- sockets --- */

enum vs_sstate {
	VS_S_LISTEN,
	VS_S_CONNECTING,
	VS_S_CONNECTED,
	VS_S_CLOSED, /* reset, failed, or closed by the application */
};

struct vs_sock {
	/* First, and never cleared by reuse (vs__sock_get). */
	_Atomic int refs; /* fds naming it, + 1 while its connection lives,
			   * + 1 per call under way; 0: free */
	_Atomic int calls; /* calls under way (vs__sock_get) */
	_Atomic int nfds; /* fds naming it */
	/* The last fd closed while a call was under way: the socket closes
	 * when the last call returns (as Linux's file, which the call
	 * holds), taking release_port_fd, its port's kernel socket or -1. */
	_Atomic bool release_pending;
	int release_port_fd;
	int family, type;
	/* Read without the engine's lock by calls on other threads (a
	 * listener refused at once, a send before connecting): atomic, its
	 * writes the rare transitions. */
	_Atomic enum vs_sstate state;
	_Atomic uint32_t ev; /* EPOLLIN, EPOLLOUT, ... as of now */
	_Atomic int nonblock; /* O_NONBLOCK of the open file */
	int rcvtimeo_ms, sndtimeo_ms; /* 0: none */
	struct sockaddr_storage local, peer;

	/* a connection: under its engine's lock */
	struct vs_engine *e;
	struct vs_tcp *tcp; /* NULL once lwIP let go of it */
	struct vs_rxq rxq; /* received, not yet read */
	bool rx_fin, shut_rd, shut_wr;
	int err; /* pending SO_ERROR, as -errno */
	/* SO_LINGER: off (-1), or on with this many seconds: 0, close
	 * resets; more, close waits that long for the peer to take what
	 * was sent (the connection goes on after). */
	int linger_s;
	bool lingering; /* close() waits for SO_LINGER's end */
	/* connect(): the fd's kernel socket holds the local port, which
	 * the connection takes over at close (for its TIME_WAIT). */
	bool port_in_fd;
	/* TCP options for the connection (a listener's: for those it
	 * accepts). Keepalive times in s, 0: lwIP's defaults. */
	struct {
		bool nodelay, keepalive;
		unsigned keep_idle, keep_intvl, keep_cnt;
	} opt;

	/* a UDP socket: under its engine's lock */
	struct vs_udp *udp;
	struct vs_dgram *dq_head, *dq_tail; /* received datagrams */
	struct vs_dgram *dq_free; /* entries for reuse */
	unsigned dq_n;
	size_t dq_bytes;
	uint64_t udp_drops; /* datagrams dropped: receive queue full */
	bool udp_connected; /* peer is the default destination */
	/* IP_PKTINFO, IPV6_RECVPKTINFO: where each datagram was sent,
	 * as control data (opts.c sets them, udp.c gives it) */
	bool pktinfo4, pktinfo6;

	/* a listener: one per engine and family, and one rule */
	struct vs_tcp **ltcp;
	unsigned nltcp;
	struct vs_tcp_rule *lrule[2]; /* its address; IPv4 too if dual */
	struct vs_share *share; /* with the processes that inherit it */
	struct vs_member *member; /* this process's part of it */
	bool kernel_too; /* the kernel socket listens (receives) too */
	/* Listening, not yet taken over (see vs__sock_activate); read
	 * without qlock, so atomic: false is published after the takeover. */
	_Atomic bool pending;
	pthread_mutex_t qlock; /* the accept queue */
	struct vs_sock *acc_head, *acc_tail, *acc_next;
	unsigned nacc, backlog;

	pthread_mutex_t wlock; /* watchers */
	struct vs_watch *watch;
	struct vs_sock *mem_next; /* on the free list (sock.c) */

	/* A connection other processes may hold (move.c). move_from: it
	 * lives in that process, not here (inherited across fork or exec
	 * and not yet taken, or taken from here since): the next call that
	 * uses it here takes it (vs__sock_use). 0: here, or nowhere. */
	_Atomic int move_from;
	uint64_t ino; /* its kernel socket's inode: how processes name it */
	bool shared; /* on move.c's list: another process may hold its file */
	/* move_from is a guess: an unconnected TCP socket inherited across
	 * exec or received over a UNIX socket, which may be a vstack
	 * connection's (vs__sock_scm_rights, vs__sock_init). */
	bool move_guess;
	bool parked; /* its last fd here closed while another holds one */
};

/* What the table holds for an fd. */
enum vs_fdkind {
	VS_FD_NONE,
	VS_FD_SOCK,
	VS_FD_EPOLL,
	VS_FD_INTERNAL,
	VS_FD_KERNEL, /* a UDP socket looked at once and left to the kernel */
	/* Opened while the runtime came up (the device's, the control
	 * server's...), found by comparing /proc/self/fd: close_range and
	 * closefrom leave it open; close() closes it. */
	VS_FD_OWN,
};

struct vs_ep;

/* Kernel rules (krules.c; vstackctl flow ... kernel): add returns an id
 * or -errno. covers: would every frame a new socket of proto receives
 * (to local: NULL not known yet, unspecified any of port's addresses;
 * from peer: NULL anyone) fall under one? Then it stays the kernel's. */
int vs__krule_add(const struct vs_rule *r);
int vs__krule_del(int id);
bool vs__krule_covers(struct vs_port *port, uint8_t proto,
		      const struct sockaddr *local,
		      const struct sockaddr *peer);
void vs__krule_atfork_child(void);

/* The fd table (fd.c). An entry: 0 (nothing), or an object and its kind. */
uintptr_t vs__fd_get(int fd);
/* What fd is (enum vs_fdkind), from one look at the table. */
int vs__fd_kind(int fd);
int vs__fd_set(int fd, void *obj, enum vs_fdkind kind);
/* Calls keep for each entry, in fd order; an entry it does not keep is
 * cleared. */
void vs__fd_each(bool (*keep)(void *arg, int fd, enum vs_fdkind kind,
			      void *obj),
		 void *arg);

/* vs__sock_get for a call that uses the socket: a connection that lives
 * in another process (vs_sock.move_from) is taken from it first; one
 * that cannot be (the process is gone, the port cannot steer it here)
 * is the kernel socket behind it from then on: NULL. */
struct vs_sock *vs__sock_use(int fd);

/* The vstack object of fd, or NULL: the kernel's. No reference is
 * taken: another thread's close() may release it at any moment (its
 * memory stays a vs_sock, see vs__sock_get), so only what tolerates a
 * stale answer (readiness, "is this vstack's") may use it unheld. */
struct vs_sock *vs__fd_sock(int fd);
/* Clears fd's entry if it is a socket: the socket (whose fd reference
 * passes to the caller), or NULL. Of two threads closing one fd, one
 * gets it. */
struct vs_sock *vs__fd_take_sock(int fd);
/* fd's socket with a reference for the length of a call, or NULL (the
 * kernel's, or closed meanwhile). A close() from another thread during
 * the call does not free it under the call; vs__sock_unref() ends it. */
struct vs_sock *vs__sock_get(int fd);
/* One more reference to a socket the caller holds one to. */
void vs__sock_hold(struct vs_sock *s);
void vs__sock_unref(struct vs_sock *s);
int vs__fd_set_ep(int fd, struct vs_ep *ep);
struct vs_ep *vs__fd_ep(int fd);
/* vstack's own fds (engines, port): close() leaves them alone. */
bool vs__fd_internal(int fd);
void vs__fd_mark_internal(int fd);

/* fd, a UDP socket, stays the kernel's (VS_FD_KERNEL). */
void vs__fd_mark_kernel(int fd);
/* fd was opened by the runtime's bring-up (VS_FD_OWN). */
void vs__fd_mark_own(int fd);
/* Before libc's close or dup2 onto fd: a VS_FD_KERNEL or VS_FD_OWN mark
 * goes. */
void vs__fd_forget(int fd);
/* sendto/sendmsg with an address on an fd vstack does not know: an
 * unbound UDP socket whose first destination is reached through the
 * port becomes vstack's (as the kernel would bind it then). The socket,
 * held (vs__sock_unref), or NULL: the kernel's (remembered, so later
 * sends cost a lookup). */
struct vs_sock *vs__sock_first_send(int fd, const struct sockaddr *to,
				    socklen_t len);

/* SCM_RIGHTS: before a sendmsg on fd (not vstack's) passes m's fds, the
 * vstack connections among them become ones another process may take;
 * after a recvmsg on fd got n bytes (>= 0), the fds it received that may
 * be a vstack connection are taken from the sender (its pid from
 * SO_PEERCRED) at their first use. Cheap when m has no control data. */
void vs__sock_scm_send(int fd, const struct msghdr *m);
void vs__sock_scm_recv(int fd, const struct msghdr *m);

/* Called after fork() in the child: the parent's engines do not exist
 * here; the child's sockets go back to the kernel's, vstack starts
 * afresh on the next offloadable socket. */
void vs__sock_atfork_child(void);
/* ... and in the parent; and before fork, in the parent: its
 * connections become ones the child may take (move.c). */
void vs__sock_atfork_parent(void);
void vs__sock_atfork_prepare(void);

/* The interposed calls on a vstack socket (or a kernel one that may
 * become vstack's: bind, listen, connect). -errno on error. */
int vs__sock_listen(int fd, int backlog);
/* A listener becomes vstack's when first used for accepting (accept,
 * epoll, poll, select), in the process that accepts: nginx's workers,
 * not its master. False: fd stays the kernel's alone (and is no longer
 * in the table). */
bool vs__sock_activate(int fd, struct vs_sock *s);
/* After the kernel bound fd: a UDP socket on the port's addresses
 * becomes vstack's (the kernel's binding keeps the port reserved). */
void vs__sock_bound(int fd);
int vs__sock_connect(int fd, const struct sockaddr *sa, socklen_t len);
/* ls: fd's listener, held by the caller. */
int vs__sock_accept(int fd, struct vs_sock *ls, struct sockaddr *sa,
		    socklen_t *len, int flags);
/* Every receive and send call comes here (read, recv, recvfrom, readv
 * build a msghdr); fd is the socket's (a UDP socket's kernel half). */
ssize_t vs__sock_recvmsg(int fd, struct vs_sock *s, struct msghdr *m,
			 int flags);
ssize_t vs__sock_sendmsg(int fd, struct vs_sock *s, const struct msghdr *m,
			 int flags);
/* recvmmsg and sendmmsg, as Linux has them: a UDP socket's datagrams go
 * in and out under one hold of its engine's lock per burst. */
int vs__sock_recvmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		      int flags, struct timespec *tmo);
int vs__sock_sendmmsg(int fd, struct vs_sock *s, struct mmsghdr *v, unsigned n,
		      int flags);
int vs__sock_close(int fd);
/* fd's number goes away (close, close_range, closefrom, fclose, dup2
 * onto it): drops what vstack had behind it (a socket's or an epoll
 * set's reference, a kernel mark). The number itself is the caller's to
 * close. vstack's own fds are not touched. */
void vs__fd_drop(int fd);
/* close_range(2) without CLOSE_RANGE_CLOEXEC: vstack's objects in the
 * range are dropped, its own fds (engines, emulator, control server)
 * stay open: the kernel closes the rest, around them. */
int vs__sock_close_range(unsigned first, unsigned last, int flags);
int vs__sock_shutdown(struct vs_sock *s, int how);
int vs__sock_name(struct vs_sock *s, bool peer, struct sockaddr *sa,
		  socklen_t *len);
/* Socket options (opts.c; docs/sockapi.md, Socket options). */
int vs__sock_getsockopt(int fd, struct vs_sock *s, int level, int name,
			void *val, socklen_t *len);
int vs__sock_setsockopt(int fd, struct vs_sock *s, int level, int name,
			const void *val, socklen_t len);
/* Options the program set on the kernel socket before vstack took it. */
void vs__sock_inherit_options(int fd, struct vs_sock *s);
/* The socket's TCP options on its connection; under its engine's lock. */
void vs__sock_apply_options(struct vs_sock *s);
/* A timeval option (SO_RCVTIMEO, SO_SNDTIMEO) in ms; 0: none. */
int vs__sock_ms_of(const void *val, socklen_t len);
/* The pending error (SO_ERROR), taken; under the engine's lock. */
int vs__sock_take_err(struct vs_sock *s);
/* fd's UDP socket goes back to the kernel: its kernel twin, bound to the
 * same address, carries its datagrams from now on; what vstack had
 * received and not delivered is dropped. -EBUSY where it cannot: not a
 * bound UDP socket, named by several fds, or in an epoll set or poll. */
int vs__sock_to_kernel(int fd, struct vs_sock *s);
/* After the kernel took an option on fd, not (yet) vstack's: a UDP
 * socket that asked for what vstack cannot do stays the kernel's. */
void vs__sock_opt_kernel(int fd, int level, int name);
int vs__sock_dup(int oldfd, int newfd);
/* The readiness of s now (EPOLL* bits). */
uint32_t vs__sock_events(struct vs_sock *s);
size_t vs__sock_rx_avail(struct vs_sock *s);

/* Watches: a waiter is woken when s's readiness changes. */
void vs__watch_add(struct vs_sock *s, struct vs_watch *w);
void vs__watch_del(struct vs_sock *s, struct vs_watch *w);

/* How long a caller polls before it sleeps (the `spin_us` key). */
uint32_t vs__spin_us(void);
/* One pass of every engine's loop on the calling thread (those whose
 * lock is free): a caller that waits drives the engines itself, and
 * what arrives reaches it without a hand-off between threads; the
 * engines' threads yield to it until it sleeps (vs__waiter_sleep_sig). */
unsigned vs__sock_poll_engines(void);

/* This thread's waiter. */
struct vs_waiter *vs__thread_waiter(void);
/* Sleeps on w and on the nk kernel fds in fds until woken or
 * timeout_ms (-1: no limit), and on the ports of the engines this thread
 * drove (the others are given back to their threads); fds must have
 * room for nk + 1 entries (the last is w's). Returns how many kernel
 * fds are ready (0 also when a frame came: look again), or -errno:
 * -EINTR at once if a signal arrived since vs__sig_clear (signals are
 * blocked from that check until ppoll unblocks them, with mask or the
 * thread's own: no window before the sleep). */
int vs__waiter_sleep_sig(struct vs_waiter *w, struct pollfd *fds, nfds_t nk,
			 int timeout_ms, const sigset_t *mask);

/* --- signals (signal.c) --- */
/* sigaction through a trampoline that notes the signal (real: libc's). */
int vs__sig_action(int sig, const struct sigaction *act, struct sigaction *old,
		   int (*real)(int, const struct sigaction *,
			       struct sigaction *));
/* After EINTR: did the interrupting signal's handler ask for SA_RESTART? */
bool vs__sig_restart(void);
/* At the start of a call that may sleep: forget earlier signals. */
void vs__sig_clear(void);
/* Did a handler run on this thread since vs__sig_clear? */
bool vs__sig_arrived(void);

/* --- readiness calls (poll.c) --- */
int vs__epoll_create(int flags);
int vs__epoll_ctl(struct vs_ep *ep, int epfd, int op, int fd,
		  struct epoll_event *ev);
int vs__epoll_wait(struct vs_ep *ep, int epfd, struct epoll_event *evs, int max,
		   int timeout_ms, const sigset_t *mask);
int vs__epoll_close(int fd);
/* The set behind fd loses that name (the number is the caller's). */
void vs__epoll_drop(int fd);
/* newfd names ep too (dup); the set lives until its last fd closes. */
int vs__epoll_dup(struct vs_ep *ep, int newfd);
int vs__poll(struct pollfd *fds, nfds_t n, int timeout_ms,
	     const sigset_t *mask);
int vs__select(int nfds, fd_set *r, fd_set *w, fd_set *x, struct timeval *tv);
/* Drops s from every epoll set watching it (its last fd closed). */
void vs__epoll_forget(struct vs_sock *s);

#endif
