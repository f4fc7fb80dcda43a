/* SPDX-License-Identifier: MIT */
/* daemon/enrich_limits.c: per enricher instance, what the waterfall may
 * start now: at most "concurrency" ops in flight and at most rate_count ops
 * per rate window (a token bucket that refills continuously, so a quota of
 * 600/min allows a burst of 600 and then one every 100 ms). Waterfalls that
 * must wait queue on the instance in arrival order. The state is keyed by
 * instance name, so it survives a config reload that keeps the name.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enrich_int.h"

struct enrich_inst *enrich_inst_get(struct enrich *e, const char *name)
{
    for (size_t i = 0; i < e->n_insts; i++)
        if (strcmp(e->insts[i].name, name) == 0)
            return &e->insts[i];
    if (strlen(name) >= sizeof(e->insts[0].name))
        return NULL;
    if (e->n_insts == e->cap_insts) {
        size_t cap = e->cap_insts ? 2 * e->cap_insts : 8;
        struct enrich_inst *n = realloc(e->insts, cap * sizeof(*n));
        if (n == NULL)
            return NULL;
        /* Waiters point at waterfalls, not at instances: moving is safe. */
        e->insts = n;
        e->cap_insts = cap;
    }
    struct enrich_inst *in = &e->insts[e->n_insts++];
    memset(in, 0, sizeof(*in));
    strcpy(in->name, name);
    in->tokens = -1;                 /* full at first use */
    return in;
}

/* Refills the bucket up to now; tokens are fractional ops. */
static void refill(struct enrich_inst *in, const struct config_plugin_instance *ci, int64_t now)
{
    double cap = (double)ci->rate_count;
    if (in->tokens < 0 || in->tokens > cap) {
        in->tokens = cap;
    } else if (now > in->refilled_at) {
        in->tokens += (double)(now - in->refilled_at) * cap / (double)ci->rate_window_ms;
        if (in->tokens > cap)
            in->tokens = cap;
    }
    in->refilled_at = now;
}

int64_t enrich_inst_admit(struct enrich_inst *in, const struct config_plugin_instance *ci,
                          int64_t now)
{
    if (in->in_flight >= ci->concurrency)
        return -1;                   /* a completion will wake the queue */
    if (ci->rate_count <= 0)
        return 0;
    refill(in, ci, now);
    if (in->tokens >= 1.0) {
        in->tokens -= 1.0;
        return 0;
    }
    /* When the next whole token is there. */
    double missing = 1.0 - in->tokens;
    int64_t wait = (int64_t)(missing * (double)ci->rate_window_ms / (double)ci->rate_count) + 1;
    in->rate_waits++;
    return wait;
}

void enrich_inst_wait(struct enrich_inst *in, struct waterfall *w)
{
    w->wait_next = NULL;
    if (in->wait_tail != NULL)
        in->wait_tail->wait_next = w;
    else
        in->wait_head = w;
    in->wait_tail = w;
}

struct waterfall *enrich_inst_pop(struct enrich_inst *in)
{
    struct waterfall *w = in->wait_head;
    if (w != NULL) {
        in->wait_head = w->wait_next;
        if (in->wait_head == NULL)
            in->wait_tail = NULL;
        w->wait_next = NULL;
    }
    return w;
}
