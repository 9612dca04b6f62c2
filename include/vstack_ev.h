/* SPDX-License-Identifier: MIT */
/**
 * @file vstack_ev.h
 * @brief Drives a vstack context from a libev loop.
 *
 * Header-only: include it after <ev.h> in a program that links libev;
 * libvstack itself does not depend on libev.
 *
 *     struct vs_ev v;
 *     vs_ev_start(loop, &v, ctx);   // on the loop's thread
 *     ... vs_listen(ctx, ...) ...
 *     ev_run(loop, 0);
 *
 * How: before the loop blocks (ev_prepare) the context runs a pass and
 * is armed; if it has work already an ev_idle keeps the loop from
 * blocking, else the loop may sleep on the context's fd (ev_io) and the
 * context's next timer (ev_timer). After the loop wakes (ev_check) the
 * context learns what woke it and runs a pass. Every callback of the
 * context runs on the loop's thread, between the loop's own watchers.
 */
#ifndef VSTACK_EV_H
#define VSTACK_EV_H

#include <ev.h>

#include "vstack.h"

/** The watchers that drive one context; keep it alive while they run. */
struct vs_ev {
	struct vs_ctx *ctx;
	ev_io io; /**< the context's fd */
	ev_prepare prep; /**< runs and arms it before the loop blocks */
	ev_check check; /**< runs it after the loop woke */
	ev_idle idle; /**< active while it has work: the loop does not block */
	ev_timer timer; /**< its next timer */
};

/* The io, idle and timer watchers only wake the loop: the check
 * watcher does the work. */
static void
vs_ev_io_(EV_P_ ev_io *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
}

static void
vs_ev_idle_(EV_P_ ev_idle *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
}

static void
vs_ev_timer_(EV_P_ ev_timer *w, int revents)
{
	(void)EV_A;
	(void)w;
	(void)revents;
}

static void
vs_ev_prepare_(EV_P_ ev_prepare *w, int revents)
{
	struct vs_ev *v = (struct vs_ev *)w->data;
	int timeout = -1;

	(void)revents;
	vs_ctx_run(v->ctx, 0);
	if (vs_ctx_prepare(v->ctx, &timeout)) {
		ev_idle_start(EV_A_ & v->idle);
		return;
	}
	ev_idle_stop(EV_A_ & v->idle);
	ev_timer_stop(EV_A_ & v->timer);
	if (timeout >= 0) {
		ev_timer_set(&v->timer, timeout / 1000.0, 0.);
		ev_timer_start(EV_A_ & v->timer);
	}
}

static void
vs_ev_check_(EV_P_ ev_check *w, int revents)
{
	struct vs_ev *v = (struct vs_ev *)w->data;

	(void)EV_A;
	(void)revents;
	vs_ctx_check(v->ctx);
	vs_ctx_run(v->ctx, 0);
}

/** vs_ev_start() - drives @ctx from @loop (call on the loop's thread). */
static inline void
vs_ev_start(struct ev_loop *loop, struct vs_ev *v, struct vs_ctx *ctx)
{
	v->ctx = ctx;
	ev_io_init(&v->io, vs_ev_io_, vs_ctx_fd(ctx), EV_READ);
	ev_prepare_init(&v->prep, vs_ev_prepare_);
	ev_check_init(&v->check, vs_ev_check_);
	ev_idle_init(&v->idle, vs_ev_idle_);
	ev_timer_init(&v->timer, vs_ev_timer_, 0., 0.);
	v->prep.data = v;
	v->check.data = v;
	ev_io_start(loop, &v->io);
	ev_prepare_start(loop, &v->prep);
	ev_check_start(loop, &v->check);
}

/** vs_ev_stop() - stops driving the context. */
static inline void
vs_ev_stop(struct ev_loop *loop, struct vs_ev *v)
{
	ev_io_stop(loop, &v->io);
	ev_prepare_stop(loop, &v->prep);
	ev_check_stop(loop, &v->check);
	ev_idle_stop(loop, &v->idle);
	ev_timer_stop(loop, &v->timer);
}

#endif /* VSTACK_EV_H */
