/* SPDX-License-Identifier: MIT */
/*
 * tcp - the engine's TCP API, used by the socket layer and the native
 * API alike: listen, accept, connect, send, receive, close, with
 * callbacks on the engine's thread.
 *
 * Owns, per connection: the lwIP pcb, its flow rules (what steers its
 * frames to this engine's queue) and the kernel socket that reserves its
 * local port, so the kernel cannot hand the same port to another
 * program. Rules and reservations go when the connection does.
 *
 * Must never: be called from a thread that is not the engine's (post a
 * call with vs__engine_call), or touch a connection after its `closed`
 * callback.
 */
#ifndef VS_STACK_TCP_H
#define VS_STACK_TCP_H

#include <sys/socket.h>

#include "stack/engine.h"

struct vs_tcp;

struct vs_tcp_ops {
	/* A listener's new connection (set its ops with vs__tcp_set_ops,
	 * or vs__tcp_refuse it: no room in the accept queue). */
	void (*accepted)(struct vs_tcp *listener, struct vs_tcp *c);
	/* connect() finished: 0, or -errno (-ECONNREFUSED, -ETIMEDOUT;
	 * the connection is then gone and `closed` does not follow). */
	void (*connected)(struct vs_tcp *c, int err);
	/* Data (caller owns the chain: vs__tcp_consumed + pbuf_free), or
	 * NULL when the peer closed its side. */
	void (*received)(struct vs_tcp *c, struct pbuf *p);
	/* len bytes were acknowledged by the peer. */
	void (*sent)(struct vs_tcp *c, size_t len);
	/* The connection is gone: err 0 when a close completed, else
	 * -ECONNRESET, -ETIMEDOUT... Nothing of it may be used afterwards. */
	void (*closed)(struct vs_tcp *c, int err);
};

/*
 * Connections a listener keeps half-open (SYN_RCVD) at most, or backlog
 * if larger (at most 65535): lwIP drops the SYNs past it and counts them
 * in the listener's backlog_drops (lwip/patches/0001). The accept queue
 * is the caller's to bound.
 */
#define VS_TCP_SYN_BACKLOG 4096

/*
 * A closed connection's flow rule and local port stay until lwIP frees
 * its pcb: 60 s of TIME_WAIT after an active close (lwip/lwipopts.h).
 * As Linux's tcp_max_tw_buckets, within bounds: VS_TCP_TIME_WAIT_MAX per
 * engine, and for outbound connections (each holds its port with a
 * kernel socket, an fd of the program) a quarter of the program's file
 * descriptor limit per process; past them, VS_TCP_TIME_WAIT_SHORT_MS.
 */
#define VS_TCP_TIME_WAIT_MAX 16384
#define VS_TCP_TIME_WAIT_SHORT_MS 2000

/*
 * Listens on addr. With flags 0 the listener steers addr's frames to
 * this engine's queue. With VS_TCP_SHARED it installs no rule: every
 * queue's engine listens on addr, then one vs__tcp_listen_steer spreads
 * the connections over them by RSS.
 */
#define VS_TCP_SHARED 1u
int vs__tcp_listen(struct vs_engine *e, const struct sockaddr *addr,
		   int backlog, unsigned flags, const struct vs_tcp_ops *ops,
		   void *user, struct vs_tcp **out);
/*
 * A listener's rule is shared with the connections it accepts and goes
 * with the last of them: closing a listener leaves the connections it
 * accepted their frames, as the kernel does. For a shared listener:
 * vs__tcp_rule_new, then vs__tcp_listen_rule on each engine's listener
 * (under its engine's lock), then, once every engine listens,
 * vs__tcp_listen_steer installs the rule (addr's frames spread over the
 * port's queues by RSS); the creator's reference goes with
 * vs__tcp_rule_put. From any thread but vs__tcp_listen_rule.
 */
struct vs_tcp_rule;
struct vs_tcp_rule *vs__tcp_rule_new(struct vs_port *port);
void vs__tcp_listen_rule(struct vs_tcp *listener, struct vs_tcp_rule *r);
int vs__tcp_listen_steer(struct vs_tcp_rule *r, const struct sockaddr *addr);
/*
 * Every connection accepted under r gets a 5-tuple rule of its own, from
 * accept to its end: where processes split the port by queues and each
 * steers the whole listener (vs_port_info.queue_split), a frame of the
 * connection that arrives at another process's queue is then dropped
 * and counted by the port, not answered by that process with a reset.
 * Before the rule is installed.
 */
void vs__tcp_listen_pin_each(struct vs_tcp_rule *r);
void vs__tcp_rule_put(struct vs_tcp_rule *r);
/*
 * A listener other processes share (sockapi/share.c): instead of
 * vs__tcp_listen_steer, r steers exactly the source-port buckets of
 * `normal` and `standby` (vs__steer_share_set); called again as the
 * share changes. From one thread at a time.
 */
int vs__tcp_listen_share(struct vs_tcp_rule *r, const struct sockaddr *addr,
			 uint64_t normal, uint64_t standby);
/*
 * Gives each connection e accepted under r whose peer's port is in
 * `buckets` a 5-tuple rule to e's queue, so that it keeps its frames
 * when r no longer steers them. Under e's lock; returns how many.
 */
unsigned vs__tcp_listen_pin(struct vs_engine *e, struct vs_tcp_rule *r,
			    uint64_t buckets);
/* SYNs from peers in `buckets` are dropped unanswered (counted in
 * tcp_syn_handoff) until another call says otherwise: from before the
 * pin to the deletion of the rule, so that no connection starts there
 * unpinned. Any thread. */
void vs__tcp_listen_refuse(struct vs_tcp_rule *r, uint64_t buckets);
/*
 * Connects to dst from a local port the kernel reserves for us, chosen
 * so that the port's RSS hash of the peer's frames lands on this
 * engine's queue (a rule on the local address and port, spreading by
 * RSS); after 64 ports that land elsewhere, a 5-tuple rule to this queue.
 * -ENOBUFS while max_conns connections are open (vs__tcp_set_max_conns).
 */
int vs__tcp_connect(struct vs_engine *e, const struct sockaddr *dst,
		    const struct vs_tcp_ops *ops, void *user,
		    struct vs_tcp **out);
/* Connections (accepted or connected, until the program's close sent
 * the FIN) the process may have open at once, over all engines; 0: no
 * limit. Past it, a SYN to a listener is answered with a reset and a
 * connect fails; both counted in tcp_conn_refused. Before any engine
 * runs. */
void vs__tcp_set_max_conns(unsigned long n);
/* The same from a local address and port the caller already holds (a
 * socket it bound keeps the kernel from giving the port away): from's
 * address must be the port's or unspecified (-EADDRNOTAVAIL). Port 0:
 * chosen as by vs__tcp_connect. */
int vs__tcp_connect_from(struct vs_engine *e, const struct sockaddr *from,
			 const struct sockaddr *dst,
			 const struct vs_tcp_ops *ops, void *user,
			 struct vs_tcp **out);
/* The connection takes fd, a kernel socket holding its local port (the
 * caller's, which it closes now), and closes it when lwIP lets the
 * connection go; if it holds one already, fd is closed at once. */
void vs__tcp_keep_port(struct vs_tcp *c, int fd);
/* What `ss` and TCP_INFO show of a connection. */
struct vs_tcp_info {
	int state; /* TCP_ESTABLISHED, TCP_LISTEN... (netinet/tcp.h) */
	struct sockaddr_storage local, peer;
	unsigned queue; /* the engine's */
	bool rss_port; /* outbound port chosen for RSS (else a 5-tuple) */
	uint32_t mss, snd_wnd, rcv_wnd;
	uint32_t snd_queued; /* bytes sent by the application, not acked */
	uint32_t snd_space; /* what vs__tcp_send would take now */
	uint64_t rx_bytes, tx_bytes; /* delivered to / taken from the app */
};

void vs__tcp_info(const struct vs_tcp *c, struct vs_tcp_info *info);
struct vs_engine *vs__tcp_engine(const struct vs_tcp *c);
/* What vs__tcp_send would take now (0: wait for `sent`). */
size_t vs__tcp_send_space(const struct vs_tcp *c);
/* TCP_NODELAY: no Nagle (segments go out at once). */
void vs__tcp_set_nodelay(struct vs_tcp *c, bool on);
/* SO_KEEPALIVE with TCP_KEEPIDLE, TCP_KEEPINTVL (seconds, 0: lwIP's
 * default) and TCP_KEEPCNT (lwIP's own probes count; 0: its default). */
void vs__tcp_set_keepalive(struct vs_tcp *c, bool on, unsigned idle_s,
			   unsigned intvl_s, unsigned cnt);
void vs__tcp_set_ops(struct vs_tcp *c, const struct vs_tcp_ops *ops,
		     void *user);
void *vs__tcp_user(const struct vs_tcp *c);
/* Copies up to len bytes into the send queue; returns how many (0: the
 * queue is full, `sent` will say when there is room), or -errno. */
ssize_t vs__tcp_send(struct vs_tcp *c, const void *data, size_t len);
/* The application took len received bytes: opens the window again. */
/* vs__tcp_send without sending yet: queue several pieces, then one
 * vs__tcp_output, and they leave in as few segments as they fill. */
ssize_t vs__tcp_write(struct vs_tcp *c, const void *data, size_t len);
/* vs__tcp_write without copying: lwIP refers to data (which must stay
 * untouched) until the peer acknowledged it. */
ssize_t vs__tcp_write_ref(struct vs_tcp *c, const void *data, size_t len);
void vs__tcp_output(struct vs_tcp *c);
void vs__tcp_consumed(struct vs_tcp *c, size_t len);

/*
 * Received data waiting for its reader: chains appended in constant time
 * (lwIP's pbuf_cat walks the whole chain: each arrival would cost as much
 * as what already waits). The pbufs are linked by next as one chain, but
 * only the queue knows its length: a pbuf's tot_len counts its own
 * arrival's chain, not what was appended after it. Read it with
 * pbuf_copy_partial, shorten it with vs__rxq_take, free it with
 * vs__rxq_free. Under the engine's lock, as the connection.
 */
struct vs_rxq {
	struct pbuf *head, *tail; /* tail: the last pbuf of the chain */
	size_t len;
};
void vs__rxq_put(struct vs_rxq *q, struct pbuf *p);
/* Frees the first n bytes (at most q->len). */
void vs__rxq_take(struct vs_lwip *lw, struct vs_rxq *q, size_t n);
void vs__rxq_free(struct vs_lwip *lw, struct vs_rxq *q);
/* Copies its q->len bytes to dst. */
void vs__rxq_copy(const struct vs_rxq *q, void *dst);
/* Half-close: a FIN after the data queued so far; receiving goes on. */
int vs__tcp_shutdown(struct vs_tcp *c);
/* Graceful close: the data already sent is delivered first (the
 * connection lingers until the peer acknowledged it), then the FIN and
 * `closed(c, 0)`; a reset or timeout meanwhile gives `closed(c, -err)`.
 * Incoming data after the close is dropped. */
void vs__tcp_close(struct vs_tcp *c);
/* In `accepted` only: the owner has no room for c. The peer gets a
 * reset, not a connection closed after its first data was acknowledged
 * (Linux's tcp_abort_on_overflow); counted as TcpExt.ListenOverflows,
 * c is gone when `accepted` returns. */
void vs__tcp_refuse(struct vs_tcp *c);
/* Abortive close (SO_LINGER 0): a reset now, nothing more is sent;
 * `closed(c, -ECONNABORTED)` follows at once. */
void vs__tcp_abort(struct vs_tcp *c);

/*
 * A connection moves to another process (sockapi/move.c: the process
 * that uses a connection it inherited across fork or exec, or received
 * over a UNIX socket). The state travels as bytes between two copies of
 * the same lwIP build; the data the giver had sent and the peer not yet
 * acknowledged travels beside it and is sent again by the taker.
 */
struct vs_tcp_move {
	struct tcp_vs_state st; /* lwip/patches/0018 */
	uint32_t sndq; /* bytes sent, not acknowledged: from st.lastack */
};
/*
 * The giver: fills m and *data (malloc'd, m->sndq bytes; the caller
 * frees it) and leaves c inert: no callback any more, its frames dropped
 * unanswered (the peer sends again) until vs__tcp_move_end. -EINVAL: not
 * an open connection (connecting, closed, its FIN queued). Under e's lock.
 */
int vs__tcp_move_out(struct vs_tcp *c, struct vs_tcp_move *m, void **data);
/* The move is over: done, c goes without a word to the peer (its rule
 * at once: the taker's steer its frames now; its inert pcb lingers
 * VS_TCP_MOVED_LINGER_MS, dropping the frames that were already on
 * their way here, which no pcb would answer with a reset); failed, the
 * peer gets a reset. c is the engine's either way. Under e's lock. */
#define VS_TCP_MOVED_LINGER_MS 2000
void vs__tcp_move_end(struct vs_tcp *c, bool done);
/*
 * The taker: the connection of m, on engine e, with a 5-tuple rule to e's
 * queue, sends again the m->sndq bytes of data. -ENOBUFS past max_conns,
 * -EEXIST if e has a connection of that 4-tuple, -errno. Under e's lock.
 */
int vs__tcp_move_in(struct vs_engine *e, const struct vs_tcp_move *m,
		    const void *data, const struct vs_tcp_ops *ops, void *user,
		    struct vs_tcp **out);

#endif
