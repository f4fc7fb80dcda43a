/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_caps.c: how many touches a mailbox may send now. The caps
 * of a mailbox (config.h: daily_cap on a rolling 24 hours, hourly_cap on a
 * rolling hour, min_spacing plus jitter, the warm-up ramp) are counted from
 * the store's touches (sent_at and 'sending' rows), never from memory, so
 * they hold across restarts. When nothing may go, the answer says why and
 * when the mailbox is next eligible, so the dispatcher can defer the held
 * touches to that instant instead of looking again (it must never spin).
 * The per-cadence throttle (throttle.new_per_day) is counted the same way,
 * from the first touches the store saw go. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_def.h"
#include "config.h"
#include "dispatch.h"
#include "store.h"

#define HOUR_MS (3600 * 1000LL)
#define DAY_MS (24 * HOUR_MS)

/* The jitter after one send: random to an observer, but the same at every
 * look (and after a restart) for the same last send, so a look cannot
 * re-draw it and shorten the wait. FNV-1a over the name and the time. */
static int64_t spacing_jitter(const struct config_mailbox *mb, int64_t last)
{
    if (mb->jitter_ms == 0)
        return 0;
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = mb->name; p != NULL && *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    for (int i = 0; i < 8; i++)
        h = (h ^ (((uint64_t)last >> (8 * i)) & 0xff)) * 1099511628211ULL;
    return (int64_t)(h % (mb->jitter_ms + 1));
}

int64_t dispatch_daily_cap(const struct config_mailbox *mb, int64_t now)
{
    int64_t cap = mb->daily_cap;
    if (mb->warmup_start > 0) {
        int64_t day = now > mb->warmup_since_ms ? (now - mb->warmup_since_ms) / DAY_MS : 0;
        int64_t ramp = mb->warmup_start;
        if (mb->warmup_per_day > 0 && day > (INT64_MAX - ramp) / mb->warmup_per_day)
            ramp = INT64_MAX;
        else
            ramp += mb->warmup_per_day * day;
        if (ramp < cap)
            cap = ramp;
    }
    return cap;
}

/* One binding limit: the mailbox waits until `at` (0: until a send in
 * flight ends, whose outcome kicks the dispatcher). The latest wins. */
static void bind_limit(struct dispatch_room *r, const char *reason, int64_t at, bool *waiting)
{
    r->room = 0;
    if (at == 0)
        *waiting = true;
    if (r->reason == NULL || at > r->eligible_at) {
        r->reason = reason;
        r->eligible_at = at;
    }
}

int dispatch_mailbox_room(struct store *st, const struct config_mailbox *mb, int64_t now,
                          struct dispatch_room *out)
{
    struct store_mailbox_sends day, hour;
    bool waiting = false;
    memset(out, 0, sizeof(*out));
    out->room = INT64_MAX;

    int rc = store_mailbox_sends(st, mb->name, now - DAY_MS, &day);
    if (rc < 0)
        return rc;
    int64_t left = dispatch_daily_cap(mb, now) - day.in_window;
    if (left <= 0)
        bind_limit(out, "mailbox_daily_cap",
                   day.sending > 0 || day.oldest == 0 ? 0 : day.oldest + DAY_MS, &waiting);
    else
        out->room = left;

    if (mb->hourly_cap > 0) {
        rc = store_mailbox_sends(st, mb->name, now - HOUR_MS, &hour);
        if (rc < 0)
            return rc;
        left = mb->hourly_cap - hour.in_window;
        if (left <= 0)
            bind_limit(out, "mailbox_hourly_cap",
                       hour.sending > 0 || hour.oldest == 0 ? 0 : hour.oldest + HOUR_MS,
                       &waiting);
        else if (left < out->room && out->room > 0)
            out->room = left;
    }

    if (mb->min_spacing_ms > 0) {
        if (day.sending > 0) {
            bind_limit(out, "mailbox_spacing", 0, &waiting);
        } else if (day.last > 0) {
            int64_t at = day.last + (int64_t)mb->min_spacing_ms + spacing_jitter(mb, day.last);
            if (now < at)
                bind_limit(out, "mailbox_spacing", at, &waiting);
            else if (out->room > 0)
                out->room = 1;
        } else if (out->room > 0) {
            out->room = 1;       /* one per spacing interval */
        }
    }
    if (out->room > 0) {
        out->reason = NULL;
        out->eligible_at = 0;
    } else if (waiting) {
        out->eligible_at = 0;
    }
    return 0;
}

int dispatch_cadence_room(struct store *st, const struct cadence_set *set, int64_t now,
                          char **room_json, json_t **full)
{
    json_t *starts = NULL, *room = NULL;
    *room_json = NULL;
    *full = NULL;
    bool any = false;
    for (size_t i = 0; set != NULL && i < set->n && !any; i++)
        any = set->items[i]->new_per_day > 0;
    if (!any)
        return 0;                /* no throttle: the plain claim */
    int rc = store_cadence_starts(st, now - DAY_MS, now, &starts);
    if (rc < 0)
        return rc;
    room = json_object();
    *full = json_object();
    for (size_t i = 0; room != NULL && *full != NULL && i < set->n; i++) {
        const struct cadence_def *def = set->items[i];
        if (def->new_per_day <= 0)
            continue;
        const json_t *s = json_object_get(starts, def->name);
        int64_t n = json_integer_value(json_object_get(s, "n"));
        int64_t left = def->new_per_day - n;
        json_object_set_new(room, def->name, json_integer(left > 0 ? left : 0));
        /* Full until the oldest of its starts leaves the rolling 24 hours
         * (one still sending counts as sent now). */
        if (left <= 0)
            json_object_set_new(*full, def->name,
                                json_integer(json_integer_value(json_object_get(s, "oldest")) +
                                             DAY_MS));
    }
    json_decref(starts);
    *room_json = room != NULL ? json_dumps(room, JSON_COMPACT) : NULL;
    json_decref(room);
    if (*room_json == NULL || *full == NULL) {
        free(*room_json);
        *room_json = NULL;
        json_decref(*full);
        *full = NULL;
        return -ENOMEM;
    }
    if (json_object_size(*full) == 0) {
        json_decref(*full);
        *full = NULL;
    }
    return 0;
}
