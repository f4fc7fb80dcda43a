/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_hold.c: touches a limit holds back wait as deferred, with
 * the limit's reason (mailbox_daily_cap, mailbox_spacing, provider_daily_limit,
 * cadence_throttle...) and until it frees, so `drumbeat touches --deferred`
 * says why and the dispatcher does not find them due again (it must never
 * spin). The sequencer's sweep releases them then. */
#include <errno.h>
#include <stdlib.h>

#include "daemon.h"
#include "dispatch_int.h"
#include "log.h"
#include "sequencer.h"
#include "store.h"

void dispatch_on_deferred(int status, int64_t id, void *arg)
{
    struct dispatch *dp = arg;
    (void)id;
    if (status < 0)
        log_error("msg=\"deferring a capped touch failed\" error=%s", error_name(status));
    /* The sequencer's sweep releases deferred touches: it must re-arm its
     * timer for these; and we look again for what is left. */
    if (--dp->deferring == 0 && !dp->stopping) {
        sequencer_kick(dp->d->sequencer);
        dispatch_kick(dp);
    }
    dispatch_maybe_stopped(dp);
}

/* The mailbox has no room: its due touches wait, deferred with the reason
 * until it is eligible again (the sequencer's sweep releases them then), so
 * `drumbeat touches --deferred` says why, and the next look does not find
 * them due again. */
void dispatch_hold(struct dispatch *dp, const char *channel, const char *mailbox, int64_t now,
                   const struct dispatch_room *r)
{
    int64_t ids[DISPATCH_HOLD_MAX], not_after[DISPATCH_HOLD_MAX];
    size_t n = 0;
    if (store_mailbox_held(dp->d->store, channel, mailbox, now, ids, not_after,
                           DISPATCH_HOLD_MAX, &n) < 0)
        return;
    if (n > 0)
        log_info("mailbox=%s msg=\"cap reached; due touches wait\" reason=%s touches=%zu%s",
                 mailbox, r->reason, n, n == DISPATCH_HOLD_MAX ? "+" : "");
    for (size_t i = 0; i < n; i++) {
        dp->deferring++;
        if (store_touch_defer(dp->d->store, ids[i], r->eligible_at, not_after[i], r->reason,
                              dispatch_on_deferred, dp) < 0)
            dispatch_on_deferred(-EIO, 0, dp);
    }
}

/* A cadence whose throttle is spent for now: its due first touches in this
 * mailbox wait, deferred(cadence_throttle), until it has room again.
 * Returns how many deferrals were queued. */
size_t dispatch_hold_throttled(struct dispatch *dp, const char *channel, const char *mailbox,
                               int64_t now, const json_t *full)
{
    int64_t ids[DISPATCH_HOLD_MAX], not_after[DISPATCH_HOLD_MAX];
    char names[DISPATCH_HOLD_MAX][128];
    size_t n = 0;
    char *keys = json_dumps(full, JSON_COMPACT);
    int rc = keys != NULL ? store_cadence_held(dp->d->store, channel, mailbox, now, keys, ids,
                                               not_after, names, DISPATCH_HOLD_MAX, &n)
                          : -ENOMEM;
    free(keys);
    if (rc < 0 || n == 0)
        return 0;
    log_info("mailbox=%s msg=\"cadence throttle reached; first touches wait\" "
             "reason=cadence_throttle touches=%zu%s", mailbox != NULL ? mailbox : "-", n,
             n == DISPATCH_HOLD_MAX ? "+" : "");
    for (size_t i = 0; i < n; i++) {
        int64_t until = json_integer_value(json_object_get(full, names[i]));
        dp->deferring++;
        if (store_touch_defer(dp->d->store, ids[i], until > now ? until : now + 1000,
                              not_after[i], "cadence_throttle", dispatch_on_deferred, dp) < 0)
            dispatch_on_deferred(-EIO, 0, dp);
    }
    return n;
}
