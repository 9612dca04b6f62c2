/* SPDX-License-Identifier: MIT */
/*
 * engine - one core's TCP/IP: a private lwIP instance on one port queue,
 * its timers, the kernel's tables, and work other threads hand it.
 *
 * Owns: the lwIP instance, the netif, the kernel tables, a lock-free ring
 * of calls posted by other threads, and (when started) its thread,
 * pinned to a core. The loop polls while there is work and for spin_us
 * after; then it arms the port and sleeps in poll(2) on the port's fd,
 * the kernel's fd and the ring's eventfd, until lwIP's next timer: an
 * idle engine uses no CPU.
 *
 * Threads: lwIP, the netif and the port's queue are touched only by the
 * thread holding the engine's lock: the engine's own thread while it
 * works (never while it sleeps), or a thread that took it with
 * vs__engine_lock for a socket call (the socket layer sends and
 * receives on the caller's thread, without a hand-off). Threads that
 * want no lock post a call with vs__engine_call instead.
 *
 * Yielding: a thread that drives the engine itself (a socket call
 * spinning in a wait, vs__engine_driven) keeps the engine's thread off
 * the lock: for VS_ENGINE_YIELD_US after the last such pass the engine's
 * thread sleeps on its ring and the kernel's fd, not on the port, so the
 * two threads do not hand the lock to each other per request. A driving
 * thread that goes to sleep calls vs__engine_release first, and the
 * engine's thread takes over at once; one that stops driving without
 * saying so (it blocks outside vstack) leaves the port unattended for at
 * most VS_ENGINE_YIELD_US. A driving thread may also sleep on the port
 * itself (vs__engine_sleep_prepare): a frame then wakes it directly.
 *
 * Must never: let a thread touch lwIP without the lock, hold the lock
 * while sleeping, or make a syscall per packet while busy.
 */
#ifndef VS_STACK_ENGINE_H
#define VS_STACK_ENGINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "stack/netif.h"

#define VS_ENGINE_RING 1024
/* How long the engine's thread leaves the port to a thread that drove
 * it (see Yielding above). */
#define VS_ENGINE_YIELD_US 1000
/* How long after the driving thread's last pass another thread may take
 * over driving (see vs__engine_drive). */
#define VS_ENGINE_HANDOVER_US 50

typedef void (*vs_engine_fn)(void *arg);

struct vs_engine_cell {
	_Atomic size_t seq;
	vs_engine_fn fn;
	void *arg;
};

/* The engine's counters: written by its thread alone, read by anyone. */
struct vs_engine_stats {
	_Atomic uint64_t loops, sleeps, calls;
	/* TCP: connections accepted, connects started, outbound ports
	 * chosen so RSS lands them here (else a 5-tuple rule each),
	 * connections ended by the peer's reset or a timeout. */
	_Atomic uint64_t tcp_accepted, tcp_connects, tcp_rss_ports,
		tcp_tuple_rules, tcp_resets, tcp_timeouts;
	_Atomic uint64_t tcp_rx_bytes, tcp_tx_bytes;
	/* Connections reset because data came after the program closed,
	 * and because the listener's accept queue was full. */
	_Atomic uint64_t tcp_abort_on_data, tcp_listen_overflows;
	/* SYNs dropped while their source-port bucket of a shared listener
	 * moved to another process (sockapi/share.h: the peer sends again). */
	_Atomic uint64_t tcp_syn_handoff;
	/* Connections refused for want of memory or past max_conns: SYNs
	 * reset (or dropped: no memory for lwIP's pcb), accepts reset,
	 * connects failed (stack/tcp.h vs__tcp_set_max_conns). */
	_Atomic uint64_t tcp_conn_refused;
	/* Connections moved to another process, and from one
	 * (vs__tcp_move_out, vs__tcp_move_in: a fork child took one). */
	_Atomic uint64_t tcp_moved_out, tcp_moved_in;
	/* Closed connections still delivering what they queued, and those
	 * lwIP holds in TIME_WAIT for the full 60 s (gauges). */
	_Atomic uint64_t tcp_draining, tcp_time_wait;
	_Atomic uint64_t udp_rx_datagrams, udp_tx_datagrams;
	/* IP fragments (stack/frag.c): handed to lwIP to reassemble;
	 * datagrams reassembled; dropped as no vstack socket's (a first
	 * fragment or a whole datagram); fragments that reached an engine
	 * other than the fragment engine (verbs: the first fragment, which
	 * its socket's rule takes as well); reassembled datagrams handed
	 * to another engine, and those lost because its ring was full. */
	_Atomic uint64_t frag_in, frag_reasm, frag_not_ours, frag_stray,
		frag_handed, frag_ring_full;
	/* Times a thread found the lock held and waited for it (the one
	 * counter other threads write too). */
	_Atomic uint64_t lock_waits;
};

struct vs_engine {
	struct vs_lwip lw;
	struct vs_kernel *k;
	struct vs_netif nif;
	struct vs_port *port;
	unsigned q;
	uint32_t spin_us;
	int cpu; /* pinned to it when started; -1: not pinned */
	/* calls from other threads (bounded MPSC ring) */
	struct vs_engine_cell ring[VS_ENGINE_RING];
	_Atomic size_t enq;
	size_t deq;
	int evfd;
	_Atomic int sleeping;
	_Atomic uint64_t sleep_until_ms; /* while sleeping: when it wakes */
	pthread_mutex_t lock;
	_Atomic int lock_wanted; /* threads waiting in vs__engine_lock */
	_Atomic uint64_t driven_us; /* another thread's last pass; 0: none */
	_Atomic uintptr_t driver; /* which thread (vs__engine_driven) */
	_Atomic int yielding; /* the engine's thread sleeps, yielding */
	_Atomic bool stop;
	pthread_t thread;
	bool started;
	uint64_t last_work_us;
	struct vs_engine_stats st;
};

/* Sets up the engine for queue q of port. cpu < 0: no pinning. */
int vs__engine_open(struct vs_engine *e, struct vs_port *port, unsigned q,
		    uint32_t spin_us, int cpu, char *err, size_t errlen);
/* Runs the loop in its own thread, until vs__engine_close. */
int vs__engine_start(struct vs_engine *e);
/* One pass of the loop on the caller's thread (for programs with their
 * own loop); sleeps at most timeout_ms when there is nothing to do.
 * False if another thread had the lock (no pass). */
bool vs__engine_run_once(struct vs_engine *e, int timeout_ms);
/* After a pass run by a thread other than the engine's (a socket call's
 * wait): the engine's thread yields the port to it (see Yielding). */
void vs__engine_driven(struct vs_engine *e);
/* A pass on the calling thread, which then drives the engine, unless
 * another thread drives it (its last pass is less than
 * VS_ENGINE_HANDOVER_US old): one thread at a time drives an engine, the
 * others wait for its wake-ups instead of contending for the lock. True
 * if a pass ran. */
bool vs__engine_drive(struct vs_engine *e);
/* Before that thread sleeps: the engine's thread takes the port back. */
void vs__engine_release(struct vs_engine *e);
/*
 * Or that thread sleeps on the port itself (one wake-up where the
 * engine's thread would add a second, its hand-off to the sleeper):
 * vs__engine_sleep_prepare arms the port and returns the fd to sleep on;
 * -EBUSY: it released the engine instead (its thread holds the lock, or
 * this one did not drive it); -EAGAIN: work came and a pass ran (do not
 * sleep: look again). After the sleep, vs__engine_sleep_done with
 * whether the fd showed something runs a pass if it did.
 */
int vs__engine_sleep_prepare(struct vs_engine *e);
void vs__engine_sleep_done(struct vs_engine *e, bool woken);
/* Has fn(arg) run on the engine's thread, soon; from any thread.
 * -EAGAIN if the ring is full. */
int vs__engine_call(struct vs_engine *e, vs_engine_fn fn, void *arg);
void vs__engine_close(struct vs_engine *e);
/* For another thread's calls into lwIP (see Threads above). Unlocking
 * wakes a sleeping engine if lwIP now has an earlier timer, and sends
 * what the holder queued, unless the holder drives the engine: then its
 * next pass or sleep sends it, with everything it sends until then. */
void vs__engine_lock(struct vs_engine *e);
void vs__engine_unlock(struct vs_engine *e);
/*
 * For a program's own event loop (no engine thread): before it sleeps,
 * vs__engine_prepare arms the engine and returns 0 with *timeout_ms cut
 * to lwIP's next timer (-1: none), or 1 if there is work already (do not
 * sleep: run a pass). The loop then sleeps on the engine's three fds
 * (vs__engine_sleep_fds) and, awake, calls vs__engine_check before the
 * next pass.
 */
int vs__engine_prepare(struct vs_engine *e, int *timeout_ms);
void vs__engine_check(struct vs_engine *e);
int vs__engine_sleep_fds(struct vs_engine *e, int fds[3]);
/* Wakes a sleeping engine (e.g. after handing it work by other means). */
void vs__engine_wake(struct vs_engine *e);

/* --- what others may see of an engine (report.c) ---
 * The control server, the socket layer's exit line: counters and
 * connections through these functions, never through the engine's,
 * the netif's or lwIP's fields. */

/* The most engines (queues, cores) one process runs. */
#define VS_MAX_ENGINES 64

/* Every counter of one engine: its port queue, netif, lwIP and its own.
 * Read without its lock (atomics and single-writer fields). */
struct vs_engine_counters {
	unsigned q; /* the port queue */
	int cpu; /* pinned to it; -1: not pinned */
	/* the port queue: frames as the NIC counts them */
	uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes, rx_no_buf, tx_full,
		nic_drops;
	/* the netif: IP packets into and out of lwIP, and drops */
	uint64_t ip_in, ip_out, tx_no_buf, tx_no_route, neigh_timeout,
		rx_not_ip, raw_dropped, rx_no_mem, rx_copied;
	/* lwIP */
	uint64_t syn_cookies_sent, syn_cookies_ok, syn_cookies_bad,
		rto_timeouts, fast_rexmits, lost_rexmits, tlp_probes,
		challenge_acks, challenge_acks_skipped;
	/* the engine */
	uint64_t loops, sleeps, lock_waits, tcp_accepted, tcp_connects,
		tcp_resets, tcp_timeouts, tcp_rx_bytes, tcp_tx_bytes,
		tcp_abort_on_data, tcp_listen_overflows, tcp_time_wait,
		udp_rx_datagrams, udp_tx_datagrams, tcp_syn_handoff,
		tcp_conn_refused, tcp_moved_out, tcp_moved_in;
	/* IP fragments (see vs_engine_stats); reasm_fails: datagrams
	 * lwIP gave up incomplete (timed out, or evicted for room) */
	uint64_t frag_in, frag_reasm, frag_reasm_fails, frag_not_ours,
		frag_stray, frag_handed, frag_ring_full;
	/* frame arrival to delivery: counts below 2^b us */
	uint64_t latency[VS_LAT_BUCKETS];
};

void vs__engine_counters(const struct vs_engine *e,
			 struct vs_engine_counters *c);

/* One connection (or listener, or UDP socket) of an engine. */
struct vs_conn_info {
	bool udp;
	const char *state; /* as ss names it: "ESTAB", "LISTEN", "UNCONN"... */
	struct sockaddr_storage local, peer; /* peer.ss_family 0: none */
	uint32_t send_q, recv_q; /* bytes not acknowledged / not yet read */
};

/* Where a walk in pages goes on: how many connections earlier pages
 * took, and which connection comes next (the engine's reckoning, found
 * again in constant time while it exists). Zeroed: from the start. */
struct vs_conns_at {
	unsigned skip;
	uint64_t key[8];
};

/* Calls fn for each connection of the engine from at on (in the order
 * listeners, the other TCP connections, UDP sockets) until fn declines
 * one (returns false); returns how many it took and moves at past them.
 * A page costs what it takes, not what came before it, unless the
 * connection it should start at is gone (then the first at->skip are
 * counted off). A walk in pages may miss or repeat connections that come
 * and go between pages, as a dump of the kernel's does. On the engine's
 * thread with its lock held (a vs__engine_call). */
unsigned vs__engine_conns(struct vs_engine *e, struct vs_conns_at *at,
			  bool (*fn)(void *arg, const struct vs_conn_info *ci),
			  void *arg);

/* The port queue the engine runs. */
static inline unsigned
vs__engine_queue(const struct vs_engine *e)
{
	return e->q;
}

/* A capture's tap on the engine's frames (NULL: none). */
void vs__engine_set_tap(struct vs_engine *e, struct vs_tap *tap);

#endif
