/* SPDX-License-Identifier: MIT */
/* daemon/notify.c: hands the config's notification subscribers to the store
 * and lets the store wake the dispatcher when it has created notification
 * touches, so they go out at once instead of at the dispatcher's next timer
 * (which, with nothing else scheduled, may never come). */
#include <errno.h>
#include <stdlib.h>

#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "log.h"
#include "notify.h"
#include "store.h"

static void on_notifications_created(void *arg)
{
    struct daemon *d = arg;

    /* At shutdown the dispatcher is gone before the store closes. */
    if (d->dispatch != NULL && !d->stopping)
        dispatch_kick(d->dispatch);
}

int notify_configure(struct daemon *d)
{
    const struct config *cfg = d->cfg;
    struct store_notify_rule *rules = NULL;
    int rc;

    if (cfg->n_notifications > 0) {
        rules = calloc(cfg->n_notifications, sizeof(*rules));
        if (rules == NULL)
            return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_notifications; i++) {
        const struct config_notification *n = &cfg->notifications[i];
        rules[i] = (struct store_notify_rule){
            .channel = n->channel,
            .events = (const char *const *)n->events,
            .lead_fields = (const char *const *)n->lead_fields,
        };
    }
    store_notify_set_hook(d->store, on_notifications_created, d);
    rc = store_notify_configure(d->store, rules, cfg->n_notifications);
    free(rules);
    if (rc < 0)
        log_error("msg=\"cannot apply the notification subscribers\" error=%s", error_name(rc));
    else if (cfg->n_notifications > 0)
        log_info("msg=\"event notifications on\" subscribers=%zu", cfg->n_notifications);
    return rc;
}
