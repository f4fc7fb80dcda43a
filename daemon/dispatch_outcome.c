/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_outcome.c: what a channel said about each message, made
 * durable. Each outcome is a named touch state (sent, scheduled again with
 * backoff, failed with its scope's reason, in_doubt), written with its event;
 * a recipient-scope failure suppresses the address, and a mailbox-scope one
 * pauses the mailbox. The batch is freed when its last outcome is committed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "dispatch_int.h"
#include "log.h"
#include "sequencer.h"
#include "store.h"

static void dispatch_item_clear(struct dispatch_item *it)
{
    free(it->recipient);
    free(it->idempotency_key);
    free(it->content_type);
    free(it->payload);
    free(it->sender);
    free(it->mailbox);
    free(it->draft);
    free(it->from_name);
    free(it->compose_error);
}

static void dispatch_batch_release(struct dispatch_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        dispatch_item_clear(&b->items[i]);
    free(b);
}

/* The channel has given this item's outcome: it no longer holds a place
 * in the sending window (its write may still be queued). */
static void item_reported(struct dispatch_item *it)
{
    if (!it->reported) {
        it->reported = true;
        it->batch->chan->sending--;
    }
}

void dispatch_outcome_committed(int status, int64_t id, void *arg)
{
    struct dispatch_item *it = arg;
    struct dispatch_batch *b = it->batch;
    struct dispatch *dp = b->dp;

    if (status < 0)
        log_error("touch=%lld msg=\"recording the outcome failed\" error=%s",
                  (long long)it->touch_id, error_name(status));
    item_reported(it);
    b->chan->in_flight--;
    b->pending--;
    if (b->pending == 0) {
        /* Per batch, for bench/bench_cadence.sh: claim (queue, claim commit,
         * compose), then send until the last outcome is durable. */
        uint64_t end = uv_hrtime();
        if (b->send_ns == 0)
            b->send_ns = end;         /* nothing was sent (all failed to compose) */
        log_debug("channel=%s mailbox=%s batch=%zu claim_ms=%.2f send_ms=%.2f total_ms=%.2f "
                  "msg=\"batch done\"", b->chan->name,
                  b->items[0].mailbox != NULL ? b->items[0].mailbox : "-", b->n,
                  (double)(b->send_ns - b->claim_ns) / 1e6, (double)(end - b->send_ns) / 1e6,
                  (double)(end - b->claim_ns) / 1e6);
        dispatch_batch_release(b);
    }
    dispatch_maybe_stopped(dp);
    /* A cadence's touch that ended moved its enrollment on: next step. */
    if (status == 0)
        sequencer_kick(dp->d->sequencer);
    if (!dp->stopping)
        dispatch_kick(dp);
}

static const char *scope_reason(enum drumbeat_scope scope)
{
    switch (scope) {
    case DRUMBEAT_SCOPE_RECIPIENT:
        return "recipient_rejected";
    case DRUMBEAT_SCOPE_MAILBOX:
        return "mailbox_rejected";
    default:
        return "message_rejected";
    }
}

static void dispatch_record(struct dispatch_item *it, const struct drumbeat_result *res)
{
    struct dispatch *dp = it->batch->dp;
    /* Its connection is free: the next batch may be claimed now, its claim
     * queued behind these outcomes (often one commit for both), rather than
     * after they are durable. */
    item_reported(it);
    if (!dp->stopping)
        dispatch_kick(dp);       /* a timer: one look after all of them */
    struct store_touch_outcome out = {
        .code = res->code, .enhanced = res->enhanced, .detail = res->detail,
        .lazy_sync = true,        /* lost in a power cut: in_doubt, never resent */
    };
    const char *outcome = "unknown";

    switch (res->outcome) {
    case DRUMBEAT_DONE:
        out.state = TOUCH_SENT;
        outcome = "done";
        dp->stats.sent++;
        break;
    case DRUMBEAT_RETRY:
        outcome = "retry";
        if (it->attempts >= (it->notification ? DISPATCH_MAX_ATTEMPTS_NOTIFICATION
                                              : DISPATCH_MAX_ATTEMPTS)) {
            out.state = TOUCH_FAILED;
            out.reason = "retries_exhausted";
            dp->stats.failed++;
        } else {
            out.state = TOUCH_SCHEDULED;
            out.reason = "retry";
            out.retry_at = clock_now_ms() + (res->retry_after_ms > 0
                               ? (int64_t)res->retry_after_ms
                               : dispatch_backoff_ms(it->attempts));
            dp->stats.retried++;
        }
        break;
    case DRUMBEAT_FAILED:
        outcome = "failed";
        out.state = TOUCH_FAILED;
        out.reason = scope_reason(res->scope);
        dp->stats.failed++;
        break;
    case DRUMBEAT_IN_DOUBT:
    default:
        /* An unknown outcome is treated as in doubt: never guess "not sent". */
        outcome = "in_doubt";
        out.state = TOUCH_IN_DOUBT;
        out.reason = res->outcome == DRUMBEAT_IN_DOUBT ? "channel_in_doubt" : "bad_outcome";
        dp->stats.in_doubt++;
        break;
    }
    log_info("touch=%lld channel=%s outcome=%s code=%d state=%s%s%s",
             (long long)it->touch_id, it->batch->chan->name, outcome, res->code,
             touch_state_format(out.state), out.reason ? " reason=" : "",
             out.reason ? out.reason : "");

    struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };
    if (res->outcome == DRUMBEAT_FAILED && res->scope == DRUMBEAT_SCOPE_RECIPIENT &&
        it->recipient != NULL)
        store_suppress(dp->d->store, "email", it->recipient, "bounced", &sys, NULL, NULL);
    if (res->outcome == DRUMBEAT_FAILED && res->scope == DRUMBEAT_SCOPE_MAILBOX) {
        /* One misconfigured relay must not burn through a list: the
         * mailbox stops until a person resumes it, and keeps its leads. */
        log_warn("touch=%lld channel=%s mailbox=%s msg=\"the server rejected the mailbox, not "
                 "the recipient; the mailbox is paused until `drumbeat mailbox resume`\"",
                 (long long)it->touch_id, it->batch->chan->name,
                 it->mailbox != NULL ? it->mailbox : "-");
        if (it->mailbox != NULL)
            store_mailbox_pause(dp->d->store, it->mailbox, "mailbox_rejected", res->detail,
                                &sys, NULL, NULL);
    }

    if (store_touch_finish(dp->d->store, it->touch_id, &out, &sys, dispatch_outcome_committed, it) < 0) {
        /* The store refused to queue it: the touch stays 'sending' and will be
         * in_doubt at the next start, which is safe. Account for it now. */
        log_error("touch=%lld msg=\"could not queue the outcome; it will be in_doubt at restart\"",
                  (long long)it->touch_id);
        dispatch_outcome_committed(-EIO, 0, it);
    }
}

void dispatch_on_plugin_done(void *arg, const struct drumbeat_result *res)
{
    dispatch_record(arg, res);
}
