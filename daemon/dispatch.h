/* SPDX-License-Identifier: MIT */
/* daemon/dispatch.h: hands due touches to their channels, nothing lost and
 * nothing twice. For each channel it claims due touches in the store (the
 * claim is committed before any side effect), composes each message, passes
 * a batch to the channel plugin, and records each outcome as a named state:
 * DONE -> sent, RETRY -> scheduled again with backoff, FAILED -> failed,
 * IN_DOUBT -> in_doubt (never resent automatically). One uv_timer is armed for
 * the earliest due touch.
 *
 * Threads: loop thread only.
 * Ownership: struct dispatch is owned by the daemon (dispatch_free). It
 * borrows struct daemon and everything in it. Claimed touches are copied into
 * a struct dispatch_batch owned by the dispatcher until every outcome in it
 * is committed.
 */
#ifndef DRUMBEAT_DISPATCH_H
#define DRUMBEAT_DISPATCH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct daemon;
struct dispatch;

/* How many claimed-but-unfinished touches one channel may have at once (or
 * two of its batches, when that is more): it bounds how many a person must
 * look at after a crash (DESIGN.md). */
#define DISPATCH_WINDOW 64
/* RETRY outcomes after which a touch fails with reason retries_exhausted. */
#define DISPATCH_MAX_ATTEMPTS 8
/* The same for event notifications (touches of kind "notification"): a
 * subscriber that is down for a weekend still gets every event. With the
 * backoff below (at most 1 h) this is about three days; after that the touch
 * ends failed and stays in the store with its payload, never dropped. */
#define DISPATCH_MAX_ATTEMPTS_NOTIFICATION 80

struct dispatch_stats {
    uint64_t claimed, sent, retried, failed, in_doubt;
    uint64_t in_flight;
};

int dispatch_new(struct daemon *d, struct dispatch **out);
/* Looks for due touches now (after a touch was created, a reload, or the
 * test clock moved). */
void dispatch_kick(struct dispatch *dp);
/* Stops claiming. stopped(arg) runs on the loop thread once nothing claimed
 * is waiting for an outcome to be committed (at once if nothing is). */
void dispatch_stop(struct dispatch *dp, void (*stopped)(void *arg), void *arg);
void dispatch_stats(const struct dispatch *dp, struct dispatch_stats *out);
/* Closes the timer; the memory is freed in its close callback. */
void dispatch_free(struct dispatch *dp);

/* The backoff before retry number attempt (1-based): 1 min doubling, at most 1 h. */
int64_t dispatch_backoff_ms(int attempt);

/* ---- mailbox caps (dispatch_caps.c) ---- */
struct config_mailbox;
struct store;
/* What a mailbox may send now. room is the number of touches (INT64_MAX when
 * no cap binds); when it is 0, reason is the binding cap's reason code
 * ("mailbox_daily_cap", "mailbox_hourly_cap", "mailbox_spacing") and
 * eligible_at when the mailbox has room again (0: when a send in flight
 * ends). */
struct dispatch_room {
    int64_t room;
    const char *reason;        /* static */
    int64_t eligible_at;
};
int dispatch_mailbox_room(struct store *st, const struct config_mailbox *mb, int64_t now,
                          struct dispatch_room *out);
/* The per-cadence throttles at now, for the cadences of set with a
 * throttle.new_per_day: *room_json = {"cadence": first touches it may still
 * start} (malloc'd; NULL when no cadence has a throttle), and *full =
 * {"cadence": when it has room again} for those with none left (a new
 * reference, or NULL). 0 or a negative errno. */
struct cadence_set;
int dispatch_cadence_room(struct store *st, const struct cadence_set *set, int64_t now,
                          char **room_json, json_t **full);
/* The room a channel's provider limits leave (dispatch_provider.c): the
 * "limits" the plugin published in its key/value state, counted over the
 * sends of the channel's mailboxes. room is INT64_MAX when none bind. */
struct config;
int dispatch_provider_room(struct store *st, const struct config *cfg, const char *channel,
                           int64_t now, struct dispatch_room *out);
/* The daily cap in force at now: daily_cap, or less on the warm-up ramp. */
int64_t dispatch_daily_cap(const struct config_mailbox *mb, int64_t now);

#endif /* DRUMBEAT_DISPATCH_H */
