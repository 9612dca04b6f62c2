/* SPDX-License-Identifier: MIT */
/**
 * @file vstack.h
 * @brief vstack's native API: TCP and UDP on the NIC, without syscalls or
 * copies, one context per core.
 *
 * This is the only public header of libvstack. Everything declared here is
 * exported through the linker map (src/libvstack.map); everything else in
 * the library is hidden.
 *
 * **Model.** vs_init() opens the NIC and one *context* per core: a private
 * TCP/IP stack on one of the NIC's queues. A context is driven by one
 * thread at a time — the program's own (vs_ctx_run(), vs_ctx_loop(), or
 * an event loop through vs_ctx_prepare()/vs_ctx_fd()/vs_ctx_check(), see
 * vstack_ev.h) or vstack's (::VS_OPT_THREADS). Every callback of a
 * context's connections, sockets and timers runs on that thread, and
 * every call on them must come from it; other threads hand work over with
 * vs_ctx_call().
 *
 * **Errors** are negative errno values; 0 is success unless a function
 * says otherwise.
 *
 * **Buffers.** Received data arrives as a ::vs_chain: the NIC's own
 * buffers, not copied. The program reads them (vs_chain_iov(),
 * vs_chain_copy()) and gives them back exactly once with
 * vs_chain_release(); until then they are valid, even after their
 * connection closed. The receive window opens again as they come back.
 *
 * **Sockets used through libc** stay the kernel's in a process that called
 * vs_init(): the LD_PRELOAD socket layer and the native API do not mix.
 */
#ifndef VSTACK_H
#define VSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Major version of the headers this program was compiled against. */
#define VS_VERSION_MAJOR 0
/** Minor version of the headers this program was compiled against. */
#define VS_VERSION_MINOR 1
/** Patch level of the headers this program was compiled against. */
#define VS_VERSION_PATCH 0

/**
 * vs_version() - version of the library actually loaded.
 *
 * Return: a static string "MAJOR.MINOR.PATCH", never NULL. Compare it with
 * the VS_VERSION_* macros to detect a header/library mismatch.
 */
const char *vs_version(void);

struct vs_stack;
struct vs_ctx;
struct vs_conn;
struct vs_dgram;
struct vs_chain;
struct vs_mem;

/* ------------------------------------------------------------------ */
/** @name Stack and contexts */
/**@{*/

/** vstack starts a thread per context, pinned to a core, that runs it. */
#define VS_OPT_THREADS 1u

/**
 * Options of vs_init(). Zero means "the configuration's value"
 * (VSTACK_* environment variables, then the configuration file, then
 * the defaults: see docs/configuration.md).
 */
struct vs_options {
	size_t size; /**< sizeof(struct vs_options): set it */
	const char *device; /**< "mlx5_0", a netdev name, or NULL */
	unsigned contexts; /**< contexts (NIC queues), one per core; fewer
				 if the NIC has fewer queues (xdp) */
	unsigned flags; /**< VS_OPT_* */
	uint32_t
		spin_us; /**< how long an idle context polls before it sleeps */
};

/**
 * vs_init() - opens the NIC and its contexts.
 * @opt: options, or NULL for the configuration's.
 * @out: the stack.
 *
 * Return: 0; -ENODEV (no such device, a message says which exist),
 * -EPERM (no privilege for raw packet queues), -EBUSY (this process
 * already runs the LD_PRELOAD socket layer on sockets), -EINVAL (bad
 * options or configuration), -ENOMEM.
 */
int vs_init(const struct vs_options *opt, struct vs_stack **out);

/**
 * vs_fini() - stops the contexts' threads (::VS_OPT_THREADS) and removes
 * every flow rule of the stack. Connections still open are reset by the
 * peer's next segment. Call it from one thread, with no context running.
 */
void vs_fini(struct vs_stack *st);

/** vs_stack_mac() - the NIC port's MAC address. */
void vs_stack_mac(const struct vs_stack *st, uint8_t mac[6]);

/** vs_contexts() - the number of contexts. */
unsigned vs_contexts(const struct vs_stack *st);

/** vs_context() - context @i (0 <= i < vs_contexts()), or NULL. */
struct vs_ctx *vs_context(struct vs_stack *st, unsigned i);

/** vs_ctx_stack() - the stack the context belongs to. */
struct vs_stack *vs_ctx_stack(const struct vs_ctx *c);

/** vs_ctx_index() - the context's number (its NIC queue). */
unsigned vs_ctx_index(const struct vs_ctx *c);

/**
 * vs_ctx_run() - one pass: received frames, expired timers, calls posted
 * by other threads, each with its callbacks.
 * @timeout_ms: when there was nothing to do for a while (spin_us), sleep
 * at most this long waiting for something (0: never sleep; -1: no limit).
 */
void vs_ctx_run(struct vs_ctx *c, int timeout_ms);

/**
 * vs_ctx_loop() - runs the context until vs_ctx_stop(): passes while
 * there is work, sleeping when there is none.
 */
void vs_ctx_loop(struct vs_ctx *c);

/** vs_ctx_stop() - makes vs_ctx_loop() return; from any thread. */
void vs_ctx_stop(struct vs_ctx *c);

/**
 * vs_ctx_call() - runs fn(arg) on the context's thread, soon; from any
 * thread. Return: 0, or -EAGAIN when its queue (1024 calls) is full.
 */
int vs_ctx_call(struct vs_ctx *c, void (*fn)(void *arg), void *arg);

/**
 * vs_ctx_fd() - for a program's own event loop: an fd that becomes
 * readable when the context has work, once vs_ctx_prepare() returned 0.
 */
int vs_ctx_fd(struct vs_ctx *c);

/**
 * vs_ctx_prepare() - before the event loop sleeps.
 * @timeout_ms: in: how long the loop means to sleep (-1: no limit); out:
 * cut to the context's next timer.
 *
 * Return: 0: sleep on vs_ctx_fd() for at most *timeout_ms, then call
 * vs_ctx_check(); 1: there is work now, run vs_ctx_run(c, 0) and do not
 * sleep.
 */
int vs_ctx_prepare(struct vs_ctx *c, int *timeout_ms);

/** vs_ctx_check() - after the event loop woke up; then vs_ctx_run(c, 0). */
void vs_ctx_check(struct vs_ctx *c);

/** A context's counters. */
struct vs_ctx_stats {
	uint64_t rx_frames, tx_frames;
	uint64_t raw_dropped; /**< frames the raw hook dropped */
	uint64_t raw_consumed; /**< frames the raw hook consumed */
	uint64_t tcp_accepted, tcp_connects, tcp_resets, tcp_timeouts;
	uint64_t udp_rx, udp_tx;
	uint64_t
		chains_held; /**< received chains the program has not released */
};

/** vs_ctx_stats() - the context's counters; from any thread. */
void vs_ctx_stats(const struct vs_ctx *c, struct vs_ctx_stats *s);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name Received data (zero-copy) */
/**@{*/

/** vs_chain_len() - bytes in the chain. */
size_t vs_chain_len(const struct vs_chain *ch);

/**
 * vs_chain_iov() - the chain's segments, where the NIC wrote them.
 * Return: the number of segments (may exceed @max: only @max are filled).
 */
int vs_chain_iov(const struct vs_chain *ch, struct iovec *iov, int max);

/** vs_chain_copy() - copies up to @len bytes from byte @off; returns how many. */
size_t vs_chain_copy(const struct vs_chain *ch, size_t off, void *dst,
		     size_t len);

/**
 * vs_chain_release() - gives the buffers back (exactly once, on the
 * context's thread). The connection's receive window opens again.
 */
void vs_chain_release(struct vs_chain *ch);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name TCP */
/**@{*/

/**
 * What happens to a connection (or a listener). Every member may be NULL.
 * No callback comes after @closed.
 */
struct vs_conn_ops {
	/** A listener's new connection; it has the listener's ops and user
	 * data until vs_conn_set_ops() says otherwise. */
	void (*accepted)(struct vs_conn *listener, struct vs_conn *c);
	/** vs_connect() finished: 0, or -ECONNREFUSED, -ETIMEDOUT...; on an
	 * error the connection is gone (no @closed follows). */
	void (*connected)(struct vs_conn *c, int err);
	/** Data (release it with vs_chain_release()), or NULL: the peer
	 * closed its side. */
	void (*received)(struct vs_conn *c, struct vs_chain *data);
	/** A vs_send_zc() is complete: the peer acknowledged all of it and
	 * its memory is the program's again. In the order of the sends. */
	void (*sent)(struct vs_conn *c, void *cookie);
	/** There is room again after a vs_send() took less than offered or
	 * a vs_send_zc() said -EAGAIN. */
	void (*writable)(struct vs_conn *c);
	/** The connection is gone: 0 after vs_close() completed, else
	 * -ECONNRESET, -ETIMEDOUT, -ECONNABORTED (vs_abort()). */
	void (*closed)(struct vs_conn *c, int err);
};

/** Every context listens; the NIC spreads connections over them. */
#define VS_LISTEN_SHARED 1u

/**
 * vs_listen() - listens on @addr (IPv4 or IPv6, one of the port's
 * addresses or the unspecified one).
 * @flags: 0: the context gets every connection to @addr.
 * ::VS_LISTEN_SHARED: call it on every context with the same @addr; once
 * all listen, the NIC spreads the connections over them by RSS. Closing
 * one of them stops the spreading for all (close them all).
 *
 * Return: 0; -EADDRINUSE, -EADDRNOTAVAIL, -EAFNOSUPPORT, -ENOMEM.
 */
int vs_listen(struct vs_ctx *c, const struct sockaddr *addr, int backlog,
	      unsigned flags, const struct vs_conn_ops *ops, void *user,
	      struct vs_conn **out);

/**
 * vs_connect() - connects to @dst from a local port the kernel reserves
 * for it, chosen so the NIC delivers the peer's segments to this
 * context. @connected says how it went.
 *
 * Return: 0; -ENOBUFS (the configuration's max_conns connections are
 * open), -ENOSPC (no room for a flow rule), -ENOMEM, or what the
 * kernel's bind of the local port said (-EADDRINUSE...).
 */
int vs_connect(struct vs_ctx *c, const struct sockaddr *dst,
	       const struct vs_conn_ops *ops, void *user, struct vs_conn **out);

/** vs_conn_set_ops() - new callbacks and user data. */
void vs_conn_set_ops(struct vs_conn *c, const struct vs_conn_ops *ops,
		     void *user);

/** vs_conn_user() - the user data. */
void *vs_conn_user(const struct vs_conn *c);

/** vs_conn_ctx() - the context the connection lives on. */
struct vs_ctx *vs_conn_ctx(const struct vs_conn *c);

/** vs_conn_addrs() - local and peer address (either may be NULL). */
int vs_conn_addrs(const struct vs_conn *c, struct sockaddr_storage *local,
		  struct sockaddr_storage *peer);

/**
 * vs_send() - copies up to @len bytes into the send queue and sends.
 * Return: bytes taken (less than @len: the queue is full, @writable will
 * say when there is room), or -ENOTCONN.
 */
ssize_t vs_send(struct vs_conn *c, const void *data, size_t len);

/**
 * vs_send_zc() - sends @len bytes of registered memory (vs_mem_register())
 * without copying them into the stack: they must stay untouched until
 * @sent(c, cookie).
 * Return: 0, all queued; -EAGAIN, no room for all of it (nothing queued,
 * @writable follows); -EFAULT, not in registered memory; -ENOTCONN.
 */
int vs_send_zc(struct vs_conn *c, const void *data, size_t len, void *cookie);

/** vs_nodelay() - TCP_NODELAY: small segments leave at once (on by default). */
void vs_nodelay(struct vs_conn *c, bool on);

/**
 * vs_keepalive() - SO_KEEPALIVE: after @idle_s seconds without a segment
 * from the peer, a probe every @intvl_s seconds; after @cnt unanswered
 * probes the connection ends (closed with -ETIMEDOUT). 0 leaves a value
 * as it was (at first 7200 s, 75 s and 9, as Linux's). Off by default.
 * An idle connection with keepalive on costs no CPU until a probe is
 * due.
 */
void vs_keepalive(struct vs_conn *c, bool on, unsigned idle_s, unsigned intvl_s,
		  unsigned cnt);

/** vs_shutdown() - half-close: FIN after what was sent; receiving goes on. */
int vs_shutdown(struct vs_conn *c);

/**
 * vs_close() - graceful close: what was sent is delivered first; then
 * @closed(c, 0), or @closed(c, -err) on a reset or timeout meanwhile.
 * Data arriving after vs_close() is dropped. For a listener, @closed
 * comes before vs_close() returns.
 */
void vs_close(struct vs_conn *c);

/** vs_abort() - reset now; @closed(c, -ECONNABORTED) before it returns. */
void vs_abort(struct vs_conn *c);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name Registered memory */
/**@{*/

/**
 * vs_mem_register() - makes [addr, addr + len) usable by vs_send_zc().
 * Return: 0; -EINVAL (empty), -ENOMEM.
 */
int vs_mem_register(struct vs_stack *st, void *addr, size_t len,
		    struct vs_mem **out);

/** vs_mem_unregister() - -EBUSY while a vs_send_zc() of it is incomplete. */
int vs_mem_unregister(struct vs_mem *m);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name UDP */
/**@{*/

/** What happens to a UDP socket. */
struct vs_dgram_ops {
	/** A datagram (release it with vs_chain_release()) from @from. */
	void (*received)(struct vs_dgram *u, struct vs_chain *data,
			 const struct sockaddr *from);
};

/**
 * vs_udp_open() - a UDP socket bound to @local (port 0: an ephemeral port
 * the kernel reserves). Datagrams to it reach this context.
 */
int vs_udp_open(struct vs_ctx *c, const struct sockaddr *local,
		const struct vs_dgram_ops *ops, void *user,
		struct vs_dgram **out);

/** vs_udp_sendto() - sends one datagram; -EMSGSIZE beyond what IP carries. */
int vs_udp_sendto(struct vs_dgram *u, const void *data, size_t len,
		  const struct sockaddr *to);

/** vs_udp_local() - the bound address, with its port. */
void vs_udp_local(const struct vs_dgram *u, struct sockaddr_storage *ss);

/** vs_udp_user() - the user data. */
void *vs_udp_user(const struct vs_dgram *u);

/** vs_udp_close() - closes it; no callback follows. */
void vs_udp_close(struct vs_dgram *u);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name Timers */
/**@{*/

/**
 * vs_timer() - calls fn(c, arg) once, @ms milliseconds from now, on the
 * context's thread. Return: 0 or -ENOMEM.
 */
int vs_timer(struct vs_ctx *c, uint32_t ms,
	     void (*fn)(struct vs_ctx *c, void *arg), void *arg);

/** vs_timer_cancel() - cancels the pending timers with this fn and arg. */
void vs_timer_cancel(struct vs_ctx *c, void (*fn)(struct vs_ctx *c, void *arg),
		     void *arg);

/**@}*/
/* ------------------------------------------------------------------ */
/** @name Raw frames */
/**@{*/

/** What a raw hook decided about a frame. */
enum vs_raw_verdict {
	VS_RAW_PASS, /**< on to the TCP/IP stack */
	VS_RAW_DROP, /**< dropped (counted in raw_dropped) */
	VS_RAW_CONSUMED, /**< the hook took care of it (answered, forwarded) */
};

/**
 * A hook on every frame the context receives, before the stack. @frame
 * (Ethernet header first) may be modified in place before a PASS; it is
 * valid only during the call.
 */
typedef enum vs_raw_verdict (*vs_raw_hook)(struct vs_ctx *c, uint8_t *frame,
					   size_t len, void *arg);

/** vs_raw_hook_set() - installs @hook (NULL: none) on the context. */
void vs_raw_hook_set(struct vs_ctx *c, vs_raw_hook hook, void *arg);

/**
 * vs_raw_send() - sends a whole Ethernet frame as it is.
 * Return: 0; -EMSGSIZE (larger than a buffer), -ENOBUFS (no buffer or
 * the send queue is full: a counted drop).
 */
int vs_raw_send(struct vs_ctx *c, const void *frame, size_t len);

/**
 * vs_steer_all() - every IPv4 and IPv6 frame the port receives goes to
 * this context (raw hooks: a forwarder, a capture); ARP and the rest stay
 * with the kernel. Return: 0, or the NIC's -errno.
 */
int vs_steer_all(struct vs_ctx *c);

/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* VSTACK_H */
