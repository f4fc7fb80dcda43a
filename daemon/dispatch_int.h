/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_int.h: the dispatcher's own state, shared by its files:
 * dispatch.c (look, claim, compose, hand to the channel), dispatch_outcome.c
 * (record what the channel said) and dispatch_hold.c (defer what a cap or a
 * throttle holds back). Not for other modules: they use dispatch.h.
 *
 * Ownership: struct dispatch owns its chan_state array and each chan_state;
 * a dispatch_batch is malloc'd at the claim and freed (with its items'
 * strings) when the last item's outcome is committed; items borrow their
 * batch, and a batch borrows its chan_state and dispatcher.
 */
#ifndef DRUMBEAT_DISPATCH_INT_H
#define DRUMBEAT_DISPATCH_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <drumbeat/plugin.h>
#include <jansson.h>
#include <uv.h>

#include "dispatch.h"

/* What the dispatcher knows about one channel between loop iterations. */
struct chan_state {
    char *name;
    bool claiming;         /* a claim is queued in the store */
    int in_flight;         /* claimed touches whose outcome is not committed */
    int sending;           /* claimed touches whose outcome the channel has not given */
};

struct dispatch_item {
    struct dispatch_batch *batch;   /* borrowed back-pointer */
    bool reported;                  /* its outcome is known (sending-- done) */
    int64_t touch_id;
    int attempts;
    bool notification;              /* an event notification: retried for days */
    char *recipient;
    char *idempotency_key;
    char *content_type;
    char *payload;
    size_t payload_len;
    char *sender;
    char *mailbox;                  /* NULL for a touch without one */
    /* A draft still to compose (on the threadpool, dispatch.c): its bytes,
     * the sender's name, and why composing failed (NULL: it did not). */
    char *draft;
    size_t draft_len;
    char *from_name;
    char *compose_error;
    bool ready;                     /* filled; goes to the channel once composed */
};

struct dispatch_batch {
    struct dispatch *dp;
    struct chan_state *chan;        /* borrowed from dp->chans */
    size_t n;
    size_t pending;                 /* outcomes not yet committed */
    uint64_t claim_ns, send_ns;     /* uv_hrtime() at the claim's queueing, at the send */
    int64_t compose_ms;             /* the clock when the batch was claimed, for Date: */
    uv_work_t compose;              /* composing the batch's drafts off the loop */
    struct dispatch_item items[];
};

struct dispatch {
    struct daemon *d;               /* borrowed */
    uv_timer_t timer;
    struct chan_state **chans;      /* pointers, so batches may keep one across growth */
    size_t n_chans;
    bool stopping;
    int deferring;                  /* cap deferrals queued in the store */
    void (*stopped)(void *arg);
    void *stopped_arg;
    struct dispatch_stats stats;
};

/* How many touches a cap holds back per look: the rest are deferred by the
 * next look, which the last of these deferrals kicks. */
#define DISPATCH_HOLD_MAX 64

/* dispatch.c */
void dispatch_maybe_stopped(struct dispatch *dp);

/* dispatch_outcome.c */
/* The channel's answer for one item (the plugin's done callback; arg is the
 * item). */
void dispatch_on_plugin_done(void *arg, const struct drumbeat_result *res);
/* An item's outcome write completed (or failed): store_done_cb, arg is the
 * item; the last one of a batch frees the batch. */
void dispatch_outcome_committed(int status, int64_t id, void *arg);

/* dispatch_hold.c */
/* A deferral this file (or dispatch_run, for a paused mailbox) queued has
 * completed: store_done_cb, arg is the dispatcher. The last one kicks the
 * sequencer (which releases deferrals) and the dispatcher. */
void dispatch_on_deferred(int status, int64_t id, void *arg);
/* The mailbox has no room (r says why and until when): its due touches
 * wait, deferred with the reason. */
void dispatch_hold(struct dispatch *dp, const char *channel, const char *mailbox, int64_t now,
                   const struct dispatch_room *r);
/* Cadences whose throttle is spent (full: {"cadence": until}): their due
 * first touches in this mailbox wait, deferred(cadence_throttle). Returns
 * how many deferrals were queued. */
size_t dispatch_hold_throttled(struct dispatch *dp, const char *channel, const char *mailbox,
                               int64_t now, const json_t *full);

#endif /* DRUMBEAT_DISPATCH_INT_H */
