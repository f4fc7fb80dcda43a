/* SPDX-License-Identifier: MIT */
/* daemon/api_mailboxes.c: the mailboxes over the API.
 *   GET  /api/mailboxes              {"mailboxes": [{name, address, channel,
 *                                    state: "active"|"paused", paused: {reason,
 *                                    detail, actor, at, touches_waiting} or null,
 *                                    daily_cap (today's, with warm-up), hourly_cap,
 *                                    sent_24h, retired_by: [cadence names]}]}
 *   POST /api/mailboxes/:name/pause  {"note": text} (optional): the mailbox
 *                                    stops; its touches wait, deferred
 *                                    (mailbox_paused); its leads stay with it
 *   POST /api/mailboxes/:name/resume its waiting touches are scheduled again
 * 404 for a mailbox the config does not name; 409 for pausing a paused one
 * or resuming one that is not paused. The actor is the calling person.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "api_util.h"
#include "cadence_def.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "sequencer.h"
#include "store.h"

#define DAY_MS (24 * 3600 * 1000LL)

struct mailbox_call {
    struct http_request *req;    /* NULL once the listener closed */
    struct daemon *d;
    bool pause;
    char name[128];
};

static json_t *retired_by(const struct daemon *d, const char *mailbox)
{
    json_t *names = json_array();
    for (size_t i = 0; d->cadences != NULL && i < d->cadences->n; i++) {
        const struct cadence_def *def = d->cadences->items[i];
        for (char **r = def->retired_mailboxes; r != NULL && *r != NULL; r++)
            if (strcmp(*r, mailbox) == 0)
                json_array_append_new(names, json_string(def->name));
    }
    return names;
}

static void on_list(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *pauses = NULL, *list = json_array();
    int64_t now = clock_now_ms();
    int rc = store_mailbox_pauses(d->store, &pauses);
    if (rc < 0) {
        json_decref(list);
        return http_reply_error(req, 500, "cannot read the paused mailboxes: %s", error_text(rc));
    }
    for (size_t i = 0; i < d->cfg->n_mailboxes; i++) {
        const struct config_mailbox *mb = &d->cfg->mailboxes[i];
        json_t *paused = NULL, *p;
        size_t k;
        json_array_foreach(pauses, k, p)
            if (strcmp(json_string_value(json_object_get(p, "mailbox")), mb->name) == 0)
                paused = p;
        struct store_mailbox_sends day = { 0 };
        store_mailbox_sends(d->store, mb->name, now - DAY_MS, &day);
        json_array_append_new(list, json_pack(
            "{s:s, s:s, s:s, s:s, s:O?, s:I, s:I, s:I, s:o}", "name", mb->name,
            "address", mb->address, "channel", mb->channel,
            "state", paused != NULL ? "paused" : "active", "paused", paused,
            "daily_cap", (json_int_t)dispatch_daily_cap(mb, now),
            "hourly_cap", (json_int_t)mb->hourly_cap, "sent_24h", (json_int_t)day.in_window,
            "retired_by", retired_by(d, mb->name)));
    }
    json_decref(pauses);
    http_reply_json(req, 200, json_pack("{s:o}", "mailboxes", list));
}

static void on_done(int status, int64_t touches, void *arg)
{
    struct mailbox_call *c = arg;
    if (status == 0) {
        /* Resumed touches are due now; a pause may have freed the timer. */
        sequencer_kick(c->d->sequencer);
        if (c->d->dispatch != NULL)
            dispatch_kick(c->d->dispatch);
    }
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -EALREADY)
        http_reply_error(c->req, 409, "mailbox \"%s\" is already paused", c->name);
    else if (status == -ENOENT)
        http_reply_error(c->req, 409, "mailbox \"%s\" is not paused", c->name);
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot %s mailbox \"%s\": %s",
                         c->pause ? "pause" : "resume", c->name, error_text(status));
    else
        http_reply_json(c->req, 200, json_pack("{s:s, s:s, s:I}", "mailbox", c->name,
                                               "state", c->pause ? "paused" : "active",
                                               c->pause ? "touches_deferred" : "touches_released",
                                               (json_int_t)touches));
    free(c);
}

static void mailbox_op(struct http_request *req, struct daemon *d, bool pause)
{
    const char *name = http_request_param(req, "name");
    const struct config_mailbox *mb = name != NULL ? config_mailbox_get(d->cfg, name) : NULL;
    if (mb == NULL)
        return http_reply_error(req, 404, "no mailbox named \"%s\" in the config",
                                name != NULL ? name : "");
    const json_t *body = http_request_json(req);
    const json_t *note = json_is_object(body) ? json_object_get(body, "note") : NULL;
    if (note != NULL && !json_is_string(note))
        return http_reply_error(req, 400, "note: expected a string");
    struct mailbox_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->req = req;
    c->d = d;
    c->pause = pause;
    snprintf(c->name, sizeof(c->name), "%s", mb->name);
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    int rc = pause ? store_mailbox_pause(d->store, mb->name, "manual", json_string_value(note),
                                         &actor, on_done, c)
                   : store_mailbox_resume(d->store, mb->name, &actor, on_done, c);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot %s mailbox \"%s\": %s", pause ? "pause" : "resume",
                                mb->name, error_text(rc));
    }
    api_hold(req, &c->req);
}

static void on_pause(struct http_request *req, void *ctx) { mailbox_op(req, ctx, true); }
static void on_resume(struct http_request *req, void *ctx) { mailbox_op(req, ctx, false); }

int api_mailboxes_register(struct daemon *d)
{
    static const struct {
        const char *method, *pattern;
        http_handler h;
    } routes[] = {
        { "GET", "/api/mailboxes", on_list },
        { "POST", "/api/mailboxes/:name/pause", on_pause },
        { "POST", "/api/mailboxes/:name/resume", on_resume },
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_route(d->api, routes[i].method, routes[i].pattern, 0, routes[i].h, d);
        if (rc < 0)
            return rc;
    }
    return 0;
}
