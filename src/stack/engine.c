// SPDX-License-Identifier: MIT
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/compiler.h"
#include "base/log.h"
#include "base/lock.h"
#include "stack/engine.h"
#include "stack/frag.h"

void
vs__engine_wake(struct vs_engine *e)
{
	uint64_t one = 1;

	if (atomic_load(&e->sleeping) && write(e->evfd, &one, sizeof(one)) < 0)
		return;
}

/* Takes the lock, counting the times it was held by another thread. */
static void
lock_counted(struct vs_engine *e)
{
	if (vs__mutex_trylock(&e->lock)) {
		atomic_fetch_add_explicit(&e->st.lock_waits, 1,
					  memory_order_relaxed);
		vs__mutex_lock(&e->lock);
	}
}

void
vs__engine_lock(struct vs_engine *e)
{
	atomic_fetch_add(&e->lock_wanted, 1);
	lock_counted(e);
	atomic_fetch_sub(&e->lock_wanted, 1);
}

/* Who this thread is, for the engines it drives. */
static _Thread_local char self;

/*
 * Unlocks; sends what the holder queued unless it may wait for the
 * holder's next pass: when the holder is the thread driving the engine,
 * everything it sends until its next pass (its next wait) goes in one
 * burst, one syscall on AF_XDP in copy mode. That thread's next pass,
 * its sleep (vs__engine_sleep_prepare) or, when it blocks outside
 * vstack, the engine's thread after VS_ENGINE_YIELD_US sends it.
 */
static void
unlock(struct vs_engine *e, bool flush)
{
	/* A call may have started a timer (a retransmission, a delayed
	 * ACK) earlier than the sleeping engine will wake for. */
	bool wake = false;

	if (atomic_load(&e->sleeping)) {
		u32_t next = e->lw.sys_timeouts_sleeptime();

		wake = next != SYS_TIMEOUTS_SLEEPTIME_INFINITE &&
		       vs__now_us() / 1000 + next <
			       atomic_load(&e->sleep_until_ms);
	}
	if (flush ||
	    atomic_load_explicit(&e->driver, memory_order_relaxed) !=
		    (uintptr_t)&self ||
	    !atomic_load_explicit(&e->driven_us, memory_order_relaxed))
		vs__port_flush(e->port, e->q);
	vs__mutex_unlock(&e->lock);
	if (wake)
		vs__engine_wake(e);
}

void
vs__engine_unlock(struct vs_engine *e)
{
	unlock(e, false);
}

/*
 * The ring is a bounded MPMC queue with a sequence number per cell
 * (producers claim a position with a CAS on enq; the one consumer needs
 * no atomic read-modify-write). A cell is free for position pos when its
 * sequence is pos, and full when it is pos + 1.
 */
int
vs__engine_call(struct vs_engine *e, vs_engine_fn fn, void *arg)
{
	size_t pos = atomic_load_explicit(&e->enq, memory_order_relaxed);
	struct vs_engine_cell *c;
	uint64_t one = 1;

	for (;;) {
		intptr_t dif;

		c = &e->ring[pos % VS_ENGINE_RING];
		dif = (intptr_t)atomic_load_explicit(&c->seq,
						     memory_order_acquire) -
		      (intptr_t)pos;
		if (dif == 0 &&
		    atomic_compare_exchange_weak_explicit(
			    &e->enq, &pos, pos + 1, memory_order_relaxed,
			    memory_order_relaxed))
			break;
		if (dif < 0)
			return -EAGAIN; /* full */
		if (dif > 0)
			pos = atomic_load_explicit(&e->enq,
						   memory_order_relaxed);
	}
	c->fn = fn;
	c->arg = arg;
	/* Release: the call's contents before the sequence that shows it. */
	atomic_store_explicit(&c->seq, pos + 1, memory_order_release);
	/* Seq-cst against the engine's store to sleeping (or yielding), so
	 * that either it sees the call before sleeping or this thread sees
	 * it asleep. */
	if ((atomic_load(&e->sleeping) || atomic_load(&e->yielding)) &&
	    write(e->evfd, &one, sizeof(one)) < 0)
		return 0;
	return 0;
}

static unsigned
run_calls(struct vs_engine *e)
{
	unsigned n = 0;

	for (;;) {
		struct vs_engine_cell *c = &e->ring[e->deq % VS_ENGINE_RING];

		if (atomic_load_explicit(&c->seq, memory_order_acquire) !=
		    e->deq + 1)
			return n;
		c->fn(c->arg);
		atomic_store_explicit(&c->seq, e->deq + VS_ENGINE_RING,
				      memory_order_release);
		e->deq++;
		n++;
		vs__stat_add(&e->st.calls, 1);
	}
}

static bool
ring_empty(struct vs_engine *e)
{
	struct vs_engine_cell *c = &e->ring[e->deq % VS_ENGINE_RING];

	return atomic_load_explicit(&c->seq, memory_order_acquire) !=
	       e->deq + 1;
}

/*
 * Before sleeping on the port, the kernel, the ring and lwIP's next
 * timer: says so and arms the port. Returns the time to sleep (-1: no
 * limit), or -2 if work came meanwhile (do not sleep). Lock held.
 */
static int
sleep_begin(struct vs_engine *e, int timeout_ms)
{
	u32_t next = e->lw.sys_timeouts_sleeptime();

	if (next != SYS_TIMEOUTS_SLEEPTIME_INFINITE &&
	    (timeout_ms < 0 || next < (u32_t)timeout_ms))
		timeout_ms = (int)next;
	atomic_store(&e->sleep_until_ms,
		     timeout_ms < 0 ?
			     UINT64_MAX :
			     vs__now_us() / 1000 + (uint64_t)timeout_ms);
	atomic_store(&e->sleeping, 1);
	/* Look once more after saying so (see vs__engine_call), and let the
	 * port arm itself (it says if a frame slipped in meanwhile). */
	if (!ring_empty(e) || vs__port_arm(e->port, e->q) != 0) {
		atomic_store(&e->sleeping, 0);
		return -2;
	}
	vs__stat_add(&e->st.sleeps, 1);
	return timeout_ms;
}

/* After the sleep: what woke it (p as sleep_once polls it). Lock held. */
static void
sleep_end(struct vs_engine *e, const struct pollfd p[3])
{
	uint64_t drain;

	atomic_store(&e->sleeping, 0);
	if (p[0].revents)
		vs__port_woken(e->port, e->q);
	if (p[1].revents)
		vs__netif_kernel_news(&e->nif);
	if (p[2].revents && read(e->evfd, &drain, sizeof(drain)) < 0)
		return;
}

static void
sleep_fds(struct vs_engine *e, struct pollfd p[3])
{
	p[0] = (struct pollfd){ .fd = vs__port_sleep_fd(e->port, e->q),
				.events = POLLIN };
	p[1] = (struct pollfd){ .fd = vs__kernel_fd(e->k), .events = POLLIN };
	p[2] = (struct pollfd){ .fd = e->evfd, .events = POLLIN };
}

/* Sleeps until the port, the kernel, a call or lwIP's next timer.
 * Called with the lock held; sleeps without it. */
static void
sleep_once(struct vs_engine *e, int timeout_ms)
{
	struct pollfd p[3];

	timeout_ms = sleep_begin(e, timeout_ms);
	if (timeout_ms == -2)
		return;
	sleep_fds(e, p);
	vs__mutex_unlock(&e->lock);
	poll(p, 3, timeout_ms);
	lock_counted(e);
	sleep_end(e, p);
}

int
vs__engine_prepare(struct vs_engine *e, int *timeout_ms)
{
	int t;

	vs__mutex_lock(&e->lock);
	t = sleep_begin(e, *timeout_ms);
	vs__mutex_unlock(&e->lock);
	if (t == -2)
		return 1;
	*timeout_ms = t;
	return 0;
}

void
vs__engine_check(struct vs_engine *e)
{
	struct pollfd p[3];

	if (!atomic_load(&e->sleeping))
		return;
	sleep_fds(e, p);
	if (poll(p, 3, 0) < 0)
		memset(p, 0, sizeof(p));
	vs__mutex_lock(&e->lock);
	sleep_end(e, p);
	vs__mutex_unlock(&e->lock);
}

int
vs__engine_sleep_fds(struct vs_engine *e, int fds[3])
{
	struct pollfd p[3];

	sleep_fds(e, p);
	for (int i = 0; i < 3; i++)
		fds[i] = p[i].fd;
	return 3;
}

bool
vs__engine_run_once(struct vs_engine *e, int timeout_ms)
{
	unsigned work;
	uint64_t now;

	/* Socket calls go first: while one waits for the lock or holds it,
	 * the loop comes back later (no syscall; it is spinning anyway). */
	if (atomic_load_explicit(&e->lock_wanted, memory_order_relaxed) ||
	    vs__mutex_trylock(&e->lock)) {
		if (timeout_ms >= 0) {
			__builtin_ia32_pause();
			return false;
		}
		/* The engine's own loop waits for the lock asleep: with more
		 * threads than cores, spinning here took the core from the
		 * very thread that holds the lock (memcached -t 4 on 2 cores:
		 * a fifth of the process's CPU), and sched_yield in a loop
		 * instead made 6.5 syscalls per request. */
		lock_counted(e);
	}
	work = vs__netif_poll(&e->nif) + run_calls(e);
	now = vs__now_us();
	e->lw.sys_check_timeouts();
	vs__stat_add(&e->st.loops, 1);
	if (work || !e->last_work_us)
		e->last_work_us = now;
	else if (now - e->last_work_us >= e->spin_us && timeout_ms != 0)
		sleep_once(e, timeout_ms);
	/* Run by another thread, the pass may have started an lwIP timer
	 * earlier than the sleeping engine will wake for; and it sends
	 * what that thread's calls left queued. */
	unlock(e, true);
	return true;
}

void
vs__engine_driven(struct vs_engine *e)
{
	atomic_store_explicit(&e->driver, (uintptr_t)&self,
			      memory_order_relaxed);
	atomic_store_explicit(&e->driven_us, vs__now_us(),
			      memory_order_relaxed);
}

/* Does this thread drive e (its last pass is recent enough)? */
static bool
driving(struct vs_engine *e)
{
	return atomic_load_explicit(&e->driver, memory_order_relaxed) ==
		       (uintptr_t)&self &&
	       atomic_load_explicit(&e->driven_us, memory_order_relaxed);
}

bool
vs__engine_drive(struct vs_engine *e)
{
	uint64_t d = atomic_load_explicit(&e->driven_us, memory_order_relaxed);

	if (d && atomic_load_explicit(&e->driver, memory_order_relaxed) !=
			 (uintptr_t)&self) {
		uint64_t now = vs__now_us();

		if (d >= now || now - d < VS_ENGINE_HANDOVER_US)
			return false; /* another thread drives it */
	}
	if (!vs__engine_run_once(e, 0))
		return false;
	vs__engine_driven(e);
	return true;
}

void
vs__engine_release(struct vs_engine *e)
{
	uint64_t one = 1;

	if (!driving(e))
		return;
	/* Seq-cst against the engine's store to yielding (yield()): either
	 * it sees no driver before sleeping or this thread sees it asleep. */
	atomic_store(&e->driven_us, 0);
	if (atomic_load(&e->yielding) && write(e->evfd, &one, sizeof(one)) < 0)
		return;
}

int
vs__engine_sleep_prepare(struct vs_engine *e)
{
	int rc;

	if (!driving(e))
		return -EBUSY;
	if (vs__mutex_trylock(&e->lock)) {
		vs__engine_release(e);
		return -EBUSY;
	}
	rc = vs__port_arm(e->port, e->q);
	unlock(e, true); /* before the sleep, what this thread sent */
	if (rc > 0) {
		if (vs__engine_run_once(e, 0))
			vs__engine_driven(e);
		return -EAGAIN;
	}
	if (rc < 0) {
		vs__engine_release(e);
		return -EBUSY;
	}
	return vs__port_sleep_fd(e->port, e->q);
}

void
vs__engine_sleep_done(struct vs_engine *e, bool woken)
{
	/* Not woken: the port stays armed, as after the engine's own sleep
	 * that something else ended; the next sleeper takes the event. */
	if (!woken || vs__mutex_trylock(&e->lock))
		return; /* or the engine's thread has it */
	vs__port_woken(e->port, e->q);
	vs__engine_unlock(e);
	if (vs__engine_run_once(e, 0))
		vs__engine_driven(e);
}

/*
 * The engine's thread, while another thread drives the engine: sleeps
 * until that thread's last pass is VS_ENGINE_YIELD_US old, a call comes
 * (or vs__engine_release), or the kernel's tables change (applied under
 * the lock, rarely). Returns false when the engine should run a pass.
 */
static bool
yield(struct vs_engine *e)
{
	uint64_t now = vs__now_us(), driven = atomic_load(&e->driven_us);
	struct pollfd p[2];
	struct timespec ts;
	uint64_t left, drain;

	if (!driven || (driven < now && now - driven >= VS_ENGINE_YIELD_US))
		return false;
	atomic_store(&e->yielding, 1);
	/* Look once more after saying so (see vs__engine_release). */
	if (!atomic_load(&e->driven_us) || !ring_empty(e)) {
		atomic_store(&e->yielding, 0);
		return false;
	}
	left = driven < now ? VS_ENGINE_YIELD_US - (now - driven) :
			      VS_ENGINE_YIELD_US;
	ts = (struct timespec){ .tv_nsec = (long)(left * 1000) };
	p[0] = (struct pollfd){ .fd = vs__kernel_fd(e->k), .events = POLLIN };
	p[1] = (struct pollfd){ .fd = e->evfd, .events = POLLIN };
	if (ppoll(p, 2, &ts, NULL) < 0)
		memset(p, 0, sizeof(p));
	atomic_store(&e->yielding, 0);
	if (p[0].revents) {
		lock_counted(e);
		vs__netif_kernel_news(&e->nif);
		vs__mutex_unlock(&e->lock);
	}
	if (p[1].revents) { /* a call, or released: a pass now */
		if (read(e->evfd, &drain, sizeof(drain)) < 0)
			drain = 0;
		return false;
	}
	return true;
}

static void *
engine_main(void *arg)
{
	struct vs_engine *e = arg;
	sigset_t all;

	/* The program's signals go to the program's threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);

	if (e->cpu >= 0) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(e->cpu, &set);
		if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
			vs_warn("engine %u: cannot pin to core %d", e->q,
				e->cpu);
	}
	while (!atomic_load(&e->stop))
		if (!yield(e))
			vs__engine_run_once(e, -1);
	return NULL;
}

int
vs__engine_open(struct vs_engine *e, struct vs_port *port, unsigned q,
		uint32_t spin_us, int cpu, char *err, size_t errlen)
{
	int rc;

	memset(e, 0, sizeof(*e));
	e->port = port;
	e->q = q;
	e->spin_us = spin_us;
	e->cpu = cpu;
	for (size_t i = 0; i < VS_ENGINE_RING; i++)
		atomic_init(&e->ring[i].seq, i);
	{
		/* Callers spin briefly before sleeping on the lock: the
		 * engine holds it for one pass of its loop. */
		pthread_mutexattr_t a;

		pthread_mutexattr_init(&a);
		pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
		pthread_mutex_init(&e->lock, &a);
		pthread_mutexattr_destroy(&a);
	}
	e->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rc = e->evfd < 0 ? -errno : 0;
	if (!rc) {
		e->k = vs__kernel_open(vs__port_info(port)->ifname, err,
				       errlen);
		rc = e->k ? 0 : -ENODEV;
	}
	if (!rc)
		rc = vs__lwip_load(&e->lw, NULL, err, errlen);
	if (!rc)
		rc = vs__netif_open(&e->nif, &e->lw, port, q, e->k, err,
				    errlen);
	if (!rc)
		vs__frag_engine_init(e);
	if (rc) { /* e->k NULL: nothing of the engine is left */
		if (e->k)
			vs__kernel_close(e->k);
		e->k = NULL;
		if (e->evfd >= 0)
			close(e->evfd);
	}
	return rc;
}

int
vs__engine_start(struct vs_engine *e)
{
	int rc = pthread_create(&e->thread, NULL, engine_main, e);

	e->started = !rc;
	return -rc;
}

static void
stop_call(void *arg)
{
	atomic_store(&((struct vs_engine *)arg)->stop, true);
}

void
vs__engine_close(struct vs_engine *e)
{
	if (e->started) {
		/* Through the ring, so a sleeping engine wakes up for it. */
		while (vs__engine_call(e, stop_call, e) == -EAGAIN)
			sched_yield();
		pthread_join(e->thread, NULL);
	}
	vs__kernel_close(e->k);
	close(e->evfd);
	/* The lwIP instance and its netif stay: lwIP cannot be shut down
	 * (the netif's receive pbufs go: the port's buffers go too). */
	vs__netif_close(&e->nif);
}
