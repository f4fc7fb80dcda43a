/* SPDX-License-Identifier: MIT */
/* daemon/clock_step.c: moving the test clock forward the way time passes
 * (clock_step.h): it stops at each instant something is due (an enrollment's
 * step, a touch, a window closing), in order, lets the daemon finish what
 * that instant started (sequencer steps, sends and their outcomes, the
 * store's writes) and only then moves on. A three-week cadence thus runs in
 * seconds and every run is the same.
 */
#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "clock_step.h"
#include "daemon.h"
#include "dispatch.h"
#include "log.h"
#include "plugin_loader.h"
#include "sequencer.h"
#include "store.h"

#define POLL_MS 10
#define QUIET_POLLS 3            /* consecutive quiet looks before moving on */
#define MAX_STOPS 100000

struct clock_step {
    struct daemon *d;
    uv_timer_t timer;
    int64_t target;
    int quiet, stops;
    void (*done)(int status, void *arg);
    void *arg;
};

static bool quiet(struct daemon *d)
{
    return store_writes_outstanding(d->store) == 0 && plugins_in_flight(d->plugins) == 0 &&
           sequencer_busy(d->sequencer) == 0;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

static void finish(struct clock_step *c, int status)
{
    uv_timer_stop(&c->timer);
    c->done(status, c->arg);
    uv_close((uv_handle_t *)&c->timer, on_closed);
}

/* Moves the clock to the next stop (or the target) and wakes everyone. */
static void step(struct clock_step *c)
{
    int64_t now = clock_now_ms(), next = 0;
    store_next_event_at(c->d->store, now, &next);
    if (next == 0 || next > c->target)
        next = c->target;
    if (next > now)
        clock_advance(next - now);
    dispatch_kick(c->d->dispatch);
    sequencer_kick(c->d->sequencer);
    c->quiet = 0;
}

static void on_poll(uv_timer_t *t)
{
    struct clock_step *c = t->data;
    if (c->d->stopping)
        return finish(c, -ESHUTDOWN);
    if (!quiet(c->d)) {
        c->quiet = 0;
        return;
    }
    /* Quiet for a while: the work of this instant is done. */
    if (++c->quiet < QUIET_POLLS)
        return;
    if (clock_now_ms() >= c->target)
        return finish(c, 0);
    if (++c->stops > MAX_STOPS)
        return finish(c, -ELOOP);
    step(c);
}

int clock_step_to(struct daemon *d, int64_t target, void (*done)(int status, void *arg),
                  void *arg)
{
    if (!clock_is_test())
        return -EPERM;
    if (target < clock_now_ms())
        return -EINVAL;
    struct clock_step *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->d = d;
    c->target = target;
    c->done = done;
    c->arg = arg;
    uv_timer_init(d->loop, &c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_poll, POLL_MS, POLL_MS);
    /* The present first: what a request just before this one started (a
     * resume, an enrollment) finishes at the instant it was asked for;
     * the polls move the clock once all is quiet. */
    dispatch_kick(d->dispatch);
    sequencer_kick(d->sequencer);
    return 0;
}
