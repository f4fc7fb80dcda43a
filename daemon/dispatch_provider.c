/* SPDX-License-Identifier: MIT */
/* daemon/dispatch_provider.c: the sending limits of a channel's provider.
 * A channel plugin may publish them in its key/value state under "limits"
 * ({"per_minute": n, "per_day": n, "recipients_per_day": n}, -1 for none):
 * channel_smtp does, from its provider profile (Google Workspace 2,000 a
 * day, Microsoft 365 30 a minute and 10,000 recipients a day) or its
 * options. They bind the account the channel signs in as, so they count
 * the sends of every mailbox on that channel, from the store, on a rolling
 * minute and a rolling 24 hours; each message has one recipient, so the
 * recipients' limit is a message limit too. Exceeding a provider's limit
 * gets the account blocked for a day: the dispatcher defers instead
 * (provider_minute_limit, provider_daily_limit). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config.h"
#include "dispatch.h"
#include "store.h"

#define MINUTE_MS (60 * 1000LL)
#define DAY_MS (24 * 3600 * 1000LL)

/* The channel's sends since `since`, over its mailboxes. */
static int channel_sends(struct store *st, const struct config *cfg, const char *channel,
                         int64_t since, struct store_mailbox_sends *sum)
{
    memset(sum, 0, sizeof(*sum));
    for (size_t i = 0; i < cfg->n_mailboxes; i++) {
        const struct config_mailbox *mb = &cfg->mailboxes[i];
        struct store_mailbox_sends one;
        if (strcmp(mb->channel, channel) != 0)
            continue;
        int rc = store_mailbox_sends(st, mb->name, since, &one);
        if (rc < 0)
            return rc;
        sum->in_window += one.in_window;
        sum->sending += one.sending;
        if (one.oldest > 0 && (sum->oldest == 0 || one.oldest < sum->oldest))
            sum->oldest = one.oldest;
    }
    return 0;
}

static int64_t limit_of(const json_t *limits, const char *key)
{
    const json_t *v = json_object_get(limits, key);
    return json_is_integer(v) && json_integer_value(v) > 0 ? json_integer_value(v) : 0;
}

/* One window: room left under limit, or the reason and when it frees. */
static int window_room(struct store *st, const struct config *cfg, const char *channel,
                       int64_t now, int64_t limit, int64_t span, const char *reason,
                       struct dispatch_room *out)
{
    struct store_mailbox_sends w;
    if (limit <= 0)
        return 0;
    int rc = channel_sends(st, cfg, channel, now - span, &w);
    if (rc < 0)
        return rc;
    int64_t left = limit - w.in_window;
    if (left > 0) {
        if (left < out->room)
            out->room = left;
        return 0;
    }
    /* Full: free when the oldest send leaves the window; while only sends
     * in flight fill it, their outcomes kick the dispatcher (0). */
    int64_t at = w.oldest > 0 ? w.oldest + span : 0;
    if (out->room != 0 || at > out->eligible_at) {
        out->reason = reason;
        out->eligible_at = at;
    }
    out->room = 0;
    return 0;
}

int dispatch_provider_room(struct store *st, const struct config *cfg, const char *channel,
                           int64_t now, struct dispatch_room *out)
{
    char *text = NULL;
    memset(out, 0, sizeof(*out));
    out->room = INT64_MAX;
    int rc = store_kv_get(st, channel, "limits", &text, NULL);
    if (rc == -ENOENT)
        return 0;                /* the plugin publishes none */
    if (rc < 0)
        return rc;
    json_t *limits = json_loads(text, 0, NULL);
    free(text);
    if (!json_is_object(limits)) {
        json_decref(limits);
        return 0;                /* not ours to judge; the plugin logged what it set */
    }
    int64_t per_day = limit_of(limits, "per_day"), rcpt = limit_of(limits, "recipients_per_day");
    if (rcpt > 0 && (per_day == 0 || rcpt < per_day))
        per_day = rcpt;
    rc = window_room(st, cfg, channel, now, per_day, DAY_MS, "provider_daily_limit", out);
    if (rc == 0)
        rc = window_room(st, cfg, channel, now, limit_of(limits, "per_minute"), MINUTE_MS,
                         "provider_minute_limit", out);
    json_decref(limits);
    if (out->room > 0) {
        out->reason = NULL;
        out->eligible_at = 0;
    }
    return rc;
}
