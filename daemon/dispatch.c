/* SPDX-License-Identifier: MIT */
/* daemon/dispatch.c: look, claim, send. The claim is committed by the
 * store before we hand anything to a plugin, so a crash after the claim
 * leaves the touch 'sending', which the next start turns into 'in_doubt'
 * rather than sending it a second time. What the channel answers is
 * recorded by dispatch_outcome.c; what a limit holds back is deferred by
 * dispatch_hold.c (the state they share: dispatch_int.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <drumbeat/plugin.h>
#include <jansson.h>

#include "clock.h"
#include "compose.h"
#include "config.h"
#include "daemon.h"
#include "dispatch_int.h"
#include "sequencer.h"
#include "dispatch_json.h"
#include "draft.h"
#include "log.h"
#include "plugin_loader.h"
#include "store.h"

static void dispatch_run(struct dispatch *dp);
static void on_timer(uv_timer_t *timer);

int64_t dispatch_backoff_ms(int attempt)
{
    int64_t ms = 60 * 1000;
    for (int i = 1; i < attempt && ms < 3600 * 1000; i++)
        ms *= 2;
    return ms > 3600 * 1000 ? 3600 * 1000 : ms;
}

static struct chan_state *dispatch_chan(struct dispatch *dp, const char *name)
{
    for (size_t i = 0; i < dp->n_chans; i++)
        if (strcmp(dp->chans[i]->name, name) == 0)
            return dp->chans[i];
    struct chan_state **grown = realloc(dp->chans, (dp->n_chans + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    dp->chans = grown;
    struct chan_state *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->name = strdup(name)) == NULL) {
        free(c);
        return NULL;
    }
    dp->chans[dp->n_chans++] = c;
    return c;
}

static size_t dispatch_total_in_flight(const struct dispatch *dp)
{
    size_t n = 0;
    for (size_t i = 0; i < dp->n_chans; i++)
        n += (size_t)dp->chans[i]->in_flight + (dp->chans[i]->claiming ? 1 : 0);
    return n + (size_t)dp->deferring;
}

void dispatch_maybe_stopped(struct dispatch *dp)
{
    if (dp->stopping && dp->stopped != NULL && dispatch_total_in_flight(dp) == 0) {
        void (*cb)(void *) = dp->stopped;
        dp->stopped = NULL;
        cb(dp->stopped_arg);
    }
}

/* Copies a claimed touch, composing drafts into MIME. Returns 0 or a negative
 * errno with the reason in *why. */
static int dispatch_item_fill(struct dispatch *dp, struct dispatch_item *it,
                              const struct store_claimed *t, const char **why)
{
    it->touch_id = t->touch_id;
    it->attempts = t->attempts;
    it->notification = t->kind != NULL && strcmp(t->kind, "notification") == 0;
    it->recipient = strdup(t->recipient != NULL ? t->recipient : "");
    it->idempotency_key = strdup(t->idempotency_key);
    if (it->recipient == NULL || it->idempotency_key == NULL)
        return -ENOMEM;

    /* A lead suppressed after its touch was scheduled (a bounce, an
     * unsubscribe) must never get it. */
    bool suppressed = false;
    if (t->recipient != NULL && store_is_suppressed(dp->d->store, t->recipient, &suppressed) == 0 &&
        suppressed) {
        *why = "suppressed";
        return -ECANCELED;
    }
    const struct config_mailbox *mb =
        t->mailbox != NULL ? config_mailbox_get(dp->d->cfg, t->mailbox) : NULL;
    if (mb != NULL) {
        it->sender = strdup(mb->address);
        it->mailbox = strdup(mb->name);
    }

    if (t->content_type != NULL && strcmp(t->content_type, DRAFT_CONTENT_TYPE) == 0) {
        /* A channel that takes JSON (a webhook) gets the touch as a document
         * (dispatch_json.h), built here since it reads the store; every
         * other channel gets the composed MIME, composed with the rest of
         * the batch on the threadpool (compose_batch). */
        const char *accepts = plugins_channel_accepts(dp->d->plugins, t->channel);
        if (accepts != NULL && strcmp(accepts, "application/json") == 0) {
            struct errbuf err = { 0 };
            int rc = dispatch_json_build(dp->d->store, t, mb, clock_now_ms(), &it->payload,
                                         &it->payload_len, &err);
            if (rc < 0) {
                static char buf[600];
                *why = errbuf_format(&err, buf, sizeof(buf));
                return rc;
            }
            it->content_type = strdup("application/json");
            return it->payload != NULL && it->content_type != NULL ? 0 : -ENOMEM;
        }
        it->draft = malloc(t->payload_len + 1);
        if (it->draft != NULL) {
            memcpy(it->draft, t->payload, t->payload_len);
            it->draft[t->payload_len] = '\0';
        }
        it->draft_len = t->payload_len;
        if (mb != NULL && mb->display_name != NULL)
            it->from_name = strdup(mb->display_name);
        it->content_type = strdup("message/rfc822");
        return it->draft != NULL && it->content_type != NULL &&
               (mb == NULL || mb->display_name == NULL || it->from_name != NULL) ? 0 : -ENOMEM;
    }
    it->payload = malloc(t->payload_len + 1);
    if (it->payload != NULL) {
        memcpy(it->payload, t->payload, t->payload_len);
        it->payload[t->payload_len] = '\0';
    }
    it->payload_len = t->payload_len;
    it->content_type = strdup(t->content_type != NULL ? t->content_type : "text/plain");
    return it->payload != NULL && it->content_type != NULL ? 0 : -ENOMEM;
}

/* Threadpool: composes the batch's drafts (GMime's work, the costliest part
 * of a send on the loop before). Touches only the batch's own items. */
static void compose_batch(uv_work_t *work)
{
    struct dispatch_batch *b = work->data;
    for (size_t i = 0; i < b->n; i++) {
        struct dispatch_item *it = &b->items[i];
        if (!it->ready || it->draft == NULL)
            continue;
        struct errbuf err = { 0 };
        char buf[600];
        if (draft_compose_from(it->draft, it->draft_len, it->from_name, it->sender,
                               it->recipient, it->idempotency_key, b->compose_ms,
                               &it->payload, &it->payload_len, &err) < 0) {
            it->compose_error = strdup(errbuf_format(&err, buf, sizeof(buf)));
            if (it->compose_error == NULL)
                it->compose_error = strdup("out of memory");
        }
        free(it->draft);
        it->draft = NULL;
    }
}

static void batch_send(struct dispatch_batch *b);

static void on_composed(uv_work_t *work, int status)
{
    (void)status;        /* never cancelled: the work is queued on a live loop */
    batch_send(work->data);
}

/* A touch that cannot go: its outcome is recorded now. */
static void item_not_sent(struct dispatch *dp, struct chan_state *chan, struct dispatch_item *it,
                          bool cancel, const char *why)
{
    struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };
    struct store_touch_outcome out = {
        .state = cancel ? TOUCH_CANCELLED : TOUCH_FAILED,
        .reason = cancel ? "suppressed" : "compose_failed",
        .detail = cancel ? NULL : why,
    };
    log_warn("touch=%lld channel=%s msg=\"not sent\" reason=%s", (long long)it->touch_id,
             chan->name, out.reason);
    if (!cancel)
        dp->stats.failed++;
    if (store_touch_finish(dp->d->store, it->touch_id, &out, &sys, dispatch_outcome_committed,
                           it) < 0)
        dispatch_outcome_committed(-EIO, 0, it);
}

/* The claim callback needs both the dispatcher and the channel. */
struct claim_ctx {
    struct dispatch *dp;
    char *channel;
    uint64_t claim_ns;     /* uv_hrtime() when the claim was queued */
};

static void on_claim_done(int status, const struct store_claimed *touches, size_t n, void *arg)
{
    struct claim_ctx *ctx = arg;
    struct dispatch *dp = ctx->dp;
    uint64_t claim_ns = ctx->claim_ns;
    struct chan_state *chan = dispatch_chan(dp, ctx->channel);
    free(ctx->channel);
    free(ctx);
    if (chan == NULL)
        return;
    chan->claiming = false;

    if (status < 0) {
        log_error("channel=%s msg=\"claiming due touches failed\" error=%s", chan->name,
                  error_name(status));
        dispatch_maybe_stopped(dp);
        return;
    }
    if (n == 0) {
        dispatch_maybe_stopped(dp);
        if (!dp->stopping)
            dispatch_run(dp);
        return;
    }

    struct dispatch_batch *b = calloc(1, sizeof(*b) + n * sizeof(b->items[0]));
    if (b == NULL) {
        /* Claimed but unsendable: they stay 'sending' and surface as
         * in_doubt at restart; nothing is sent twice. */
        log_error("channel=%s msg=\"out of memory with %zu claimed touches\"", chan->name, n);
        return;
    }
    b->dp = dp;
    b->chan = chan;
    b->claim_ns = claim_ns;
    dp->stats.claimed += n;

    /* The suppression checks of the batch share one read transaction. */
    bool reading = store_read_begin(dp->d->store) == 0;
    bool drafts = false;
    for (size_t i = 0; i < n; i++) {
        struct dispatch_item *it = &b->items[b->n++];
        const char *why = "out of memory";
        it->batch = b;
        b->pending++;
        chan->in_flight++;
        chan->sending++;
        int rc = dispatch_item_fill(dp, it, &touches[i], &why);
        if (rc < 0) {
            item_not_sent(dp, chan, it, rc == -ECANCELED, why);
            continue;
        }
        it->ready = true;
        drafts = drafts || it->draft != NULL;
    }
    if (reading)
        store_read_end(dp->d->store);
    b->compose_ms = clock_now_ms();
    b->compose.data = b;
    if (drafts && uv_queue_work(dp->d->loop, &b->compose, compose_batch, on_composed) == 0)
        return;
    if (drafts)
        compose_batch(&b->compose);     /* cannot queue: compose here */
    batch_send(b);
}

/* Hands the batch's ready touches to the channel (on the loop). */
static void batch_send(struct dispatch_batch *b)
{
    struct dispatch *dp = b->dp;
    struct chan_state *chan = b->chan;
    struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };
    size_t n = b->n, ready = 0;
    struct drumbeat_message *msgs = calloc(n, sizeof(*msgs));
    void **args = calloc(n, sizeof(*args));
    if (msgs == NULL || args == NULL) {
        /* Claimed but unsendable: they stay 'sending' and surface as
         * in_doubt at restart; nothing is sent twice. */
        log_error("channel=%s msg=\"out of memory with %zu claimed touches\"", chan->name, n);
        free(msgs);
        free(args);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        struct dispatch_item *it = &b->items[i];
        if (!it->ready)
            continue;
        if (it->compose_error != NULL || it->payload == NULL) {
            item_not_sent(dp, chan, it, false,
                          it->compose_error != NULL ? it->compose_error : "out of memory");
            continue;
        }
        msgs[ready] = (struct drumbeat_message){
            .touch_id = it->touch_id,
            .sender = it->sender,
            .recipient = it->recipient,
            .content_type = it->content_type,
            .payload = it->payload,
            .payload_len = it->payload_len,
            .idempotency_key = it->idempotency_key,
        };
        args[ready] = it;
        ready++;
    }

    if (ready > 0) {
        b->send_ns = uv_hrtime();     /* b lives on: ready items are pending */
        int rc = plugins_send(dp->d->plugins, chan->name, msgs, ready, dispatch_on_plugin_done,
                              (void *const *)args);
        if (rc < 0) {
            /* The plugin refused before any side effect, so a later retry is
             * safe: back to 'scheduled' with backoff. */
            log_warn("channel=%s msg=\"channel refused the batch; will retry\" error=%s",
                     chan->name, error_name(rc));
            for (size_t i = 0; i < ready; i++) {
                struct dispatch_item *it = args[i];
                struct store_touch_outcome out = {
                    .state = TOUCH_SCHEDULED, .reason = "channel_unavailable",
                    .retry_at = clock_now_ms() + dispatch_backoff_ms(it->attempts),
                };
                dp->stats.retried++;
                if (store_touch_finish(dp->d->store, it->touch_id, &out, &sys,
                                       dispatch_outcome_committed, it) < 0)
                    dispatch_outcome_committed(-EIO, 0, it);
            }
        }
    }
    free(msgs);
    free(args);
    if (!dp->stopping)
        dispatch_kick(dp);
}

static void dispatch_claim(struct dispatch *dp, struct chan_state *chan, const char *mailbox,
                           const char *throttle, int limit)
{
    struct claim_ctx *ctx = malloc(sizeof(*ctx));
    if (ctx == NULL || (ctx->channel = strdup(chan->name)) == NULL) {
        free(ctx);
        return;
    }
    ctx->dp = dp;
    ctx->claim_ns = uv_hrtime();
    chan->claiming = true;
    int rc = store_touch_claim_throttled(dp->d->store, chan->name, mailbox, throttle, limit,
                                         clock_now_ms(),
                               on_claim_done, ctx);
    if (rc < 0) {
        chan->claiming = false;
        free(ctx->channel);
        free(ctx);
        log_error("channel=%s msg=\"cannot queue a claim\" error=%s", chan->name, error_name(rc));
    }
}

/* Claims for every channel with room, then arms the timer for the earliest
 * due touch of a channel that could take it. */
static void dispatch_run(struct dispatch *dp)
{
    const struct config *cfg = dp->d->cfg;
    int64_t now = clock_now_ms();
    int64_t next = INT64_MAX;
    char *throttle = NULL;
    json_t *full = NULL;

    if (dp->stopping)
        return;
    /* The per-cadence throttles, once per look: the claim takes no more
     * first touches of a cadence than it has left today. */
    if (dispatch_cadence_room(dp->d->store, dp->d->cadences, now, &throttle, &full) < 0) {
        /* Never claim past a throttle we could not count: look again soon. */
        log_error("msg=\"cannot count the cadences' first touches; claims wait a second\"");
        uv_timer_stop(&dp->timer);
        uv_timer_start(&dp->timer, on_timer, 1000, 0);
        return;
    }
    for (size_t i = 0; i < cfg->n_channels; i++) {
        const char *name = cfg->channels[i].name;
        struct chan_state *chan = dispatch_chan(dp, name);
        if (chan == NULL || chan->claiming || !plugins_channel_ready(dp->d->plugins, name))
            continue;
        uint32_t max_batch = plugins_max_batch(dp->d->plugins, name);
        int batch = max_batch > 0 ? (int)max_batch : 1;
        uint32_t at_once = plugins_channel_concurrency(dp->d->plugins, name);
        int sessions = at_once == 0 ? 2 : at_once > 256 ? 256 : (int)at_once;
        /* The window holds as many batches as the channel sends at once (its
         * sessions), and one more batch may be claimed and composed ahead:
         * the channel queues it and starts it the moment a session ends,
         * instead of after that session's outcomes, the next claim and its
         * composing. Claimed but not yet committed stays within window + one
         * batch, which bounds what a crash leaves in_doubt (t_smtp_crash). */
        int window = sessions * batch > DISPATCH_WINDOW ? sessions * batch : DISPATCH_WINDOW;
        int room = window + batch - chan->in_flight;
        /* Claim whole batches only: a trickle of one-touch claims after each
         * outcome would mean one SMTP session per message. An outcome kicks
         * us again when a batch fits. */
        if (room < batch && chan->in_flight > 0)
            continue;
        int64_t due;
        char mailbox[128];
        if (store_touch_next_due_mailbox(dp->d->store, name, now, &due, mailbox,
                                         sizeof(mailbox)) < 0)
            continue;
        if (due <= now) {
            /* One batch is one mailbox (the ABI's promise to channels): claim
             * for the mailbox of the earliest due touch. */
            int limit = batch < room ? batch : room;
            const struct config_mailbox *mb =
                mailbox[0] != '\0' ? config_mailbox_get(cfg, mailbox) : NULL;
            struct dispatch_room r;
            /* LIMIT min(batch, capacity left): a mailbox with no room never
             * arms the timer; its touches are deferred to when it has room,
             * or it waits for its send in flight, whose outcome kicks us. */
            bool paused = false;
            if (mailbox[0] != '\0' &&
                (dp->deferring > 0 || store_mailbox_paused(dp->d->store, mailbox, &paused) < 0))
                continue;
            if (paused) {
                /* Touches made for it since it paused wait with the others. */
                dp->deferring++;
                if (store_mailbox_hold_paused(dp->d->store, mailbox, dispatch_on_deferred, dp) < 0)
                    dispatch_on_deferred(-EIO, 0, dp);
                continue;
            }
            if (mb != NULL) {
                if (dispatch_mailbox_room(dp->d->store, mb, now, &r) < 0)
                    continue;
                if (r.room == 0) {
                    if (r.eligible_at > now)
                        dispatch_hold(dp, name, mailbox, now, &r);
                    continue;
                }
                if (r.room < limit)
                    limit = (int)r.room;
            }
            /* The provider's limits bind the channel's account as a whole. */
            struct dispatch_room pr;
            if (mailbox[0] != '\0' &&
                dispatch_provider_room(dp->d->store, cfg, name, now, &pr) == 0) {
                if (pr.room == 0) {
                    if (pr.eligible_at > now)
                        dispatch_hold(dp, name, mailbox, now, &pr);
                    continue;
                }
                if (pr.room < limit)
                    limit = (int)pr.room;
            }
            if (full != NULL &&
                dispatch_hold_throttled(dp, name, mailbox[0] != '\0' ? mailbox : NULL, now,
                                        full) > 0)
                continue;
            dispatch_claim(dp, chan, mailbox[0] != '\0' ? mailbox : NULL, throttle, limit);
        } else if (due < next) {
            next = due;
        }
    }
    free(throttle);
    json_decref(full);
    uv_timer_stop(&dp->timer);
    if (next != INT64_MAX) {
        int64_t wait = next - now;
        /* With the test clock, time only moves through the API, which kicks
         * us; with the real clock, a bounded wait also absorbs clock steps. */
        if (wait > 60 * 1000)
            wait = 60 * 1000;
        uv_timer_start(&dp->timer, on_timer, (uint64_t)wait, 0);
    }
}

static void on_timer(uv_timer_t *timer)
{
    dispatch_run(timer->data);
}

void dispatch_kick(struct dispatch *dp)
{
    /* Never run synchronously: callers may be inside a store or plugin callback. */
    if (dp->stopping)
        return;
    uv_timer_stop(&dp->timer);
    uv_timer_start(&dp->timer, on_timer, 0, 0);
}

int dispatch_new(struct daemon *d, struct dispatch **out)
{
    struct dispatch *dp = calloc(1, sizeof(*dp));
    if (dp == NULL)
        return -ENOMEM;
    dp->d = d;
    int rc = uv_timer_init(d->loop, &dp->timer);
    if (rc < 0) {
        free(dp);
        return rc;
    }
    dp->timer.data = dp;
    *out = dp;
    return 0;
}

void dispatch_stop(struct dispatch *dp, void (*stopped)(void *arg), void *arg)
{
    dp->stopping = true;
    uv_timer_stop(&dp->timer);
    dp->stopped = stopped;
    dp->stopped_arg = arg;
    dispatch_maybe_stopped(dp);
}

void dispatch_stats(const struct dispatch *dp, struct dispatch_stats *out)
{
    *out = dp->stats;
    out->in_flight = 0;
    for (size_t i = 0; i < dp->n_chans; i++)
        out->in_flight += (uint64_t)dp->chans[i]->in_flight;
}

static void on_timer_closed(uv_handle_t *handle)
{
    struct dispatch *dp = handle->data;
    for (size_t i = 0; i < dp->n_chans; i++) {
        free(dp->chans[i]->name);
        free(dp->chans[i]);
    }
    free(dp->chans);
    free(dp);
}

void dispatch_free(struct dispatch *dp)
{
    if (dp == NULL)
        return;
    uv_close((uv_handle_t *)&dp->timer, on_timer_closed);
}
