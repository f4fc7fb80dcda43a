/* SPDX-License-Identifier: MIT */
/* daemon/enrich_int.h: what enrich.c (the waterfall) and enrich_limits.c
 * (per-instance concurrency and rate) share. Not for other modules.
 *
 * Ownership: struct enrich owns its insts array and every struct waterfall
 * on its running list; a waterfall waiting on an instance is still on the
 * running list (the wait list only links it).
 */
#ifndef DRUMBEAT_ENRICH_INT_H
#define DRUMBEAT_ENRICH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "enrich.h"

struct waterfall {
    struct waterfall *prev, *next;      /* in e->running */
    struct waterfall *wait_next;        /* in an instance's wait list */
    struct enrich *e;
    int64_t lead_id;
    json_t *lead;                       /* the lead as the plugins see it */
    size_t step;                        /* index into cfg->enrichers */
    char inst[72];                      /* the instance being asked */
    char plugin[128];
    char key[512];                      /* its cache key, "" for none */
    int64_t changed;                    /* fields set so far */
    bool waiting;                       /* on an instance's wait list */
};

struct enrich_inst {
    char name[72];
    int64_t in_flight;
    double tokens;                      /* < 0: not used yet */
    int64_t refilled_at;
    struct waterfall *wait_head, *wait_tail;
    uint64_t calls, cache_hits, found, retries, failures, rate_waits;
};

struct enrich {
    struct daemon *d;                   /* borrowed */
    uv_timer_t timer;                   /* the next due lead or rate token */
    int64_t timer_at;                   /* when it fires (daemon clock), 0 = idle */
    struct waterfall *running;
    size_t n_running;
    struct enrich_inst *insts;
    size_t n_insts, cap_insts;
    bool stopping;
    bool pumping;                       /* inside pump: no recursion */
};

/* enrich_limits.c */
/* The runtime state of the instance called name (created on first use);
 * NULL when out of memory. */
struct enrich_inst *enrich_inst_get(struct enrich *e, const char *name);
/* 0: an op may start now (a token was taken); -1: at its concurrency;
 * > 0: the rate allows the next op in that many ms. */
int64_t enrich_inst_admit(struct enrich_inst *in, const struct config_plugin_instance *ci,
                          int64_t now);
void enrich_inst_wait(struct enrich_inst *in, struct waterfall *w);
struct waterfall *enrich_inst_pop(struct enrich_inst *in);

#endif /* DRUMBEAT_ENRICH_INT_H */
