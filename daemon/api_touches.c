/* SPDX-License-Identifier: MIT */
/* daemon/api_touches.c: the touch endpoints of the API.
 *   POST /api/touches                 queue one email touch to a lead
 *   GET  /api/touches?state=S&limit=N list touches
 *   GET  /api/touches/:id             one touch
 *   POST /api/touches/:id/resend      an operator resends an in_doubt touch
 *   POST /api/touches/:id/drop        an operator drops an in_doubt touch
 * Every change is recorded with the person whose token made it. Writes are
 * asynchronous (the store's writer thread), so handlers reply from the
 * store's completion and the listener holds the request meanwhile. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "draft.h"
#include "http.h"
#include "sequencer.h"
#include "store.h"

/* One POST /api/touches in progress: it owns copies of what it needs. */
struct touch_req {
    struct daemon *d;                 /* borrowed */
    struct http_request *req;         /* borrowed until we reply */
    char *actor;
    char *channel, *mailbox, *recipient;
    json_t *draft;                    /* owned reference */
    int64_t due_at;
    int64_t lead_id;
};

static void touch_req_free(struct touch_req *tr)
{
    free(tr->actor);
    free(tr->channel);
    free(tr->mailbox);
    free(tr->recipient);
    json_decref(tr->draft);
    free(tr);
}

/* A bare addr-spec: something@domain, with no spaces, controls or brackets. */
static bool address_is_plausible(const char *s)
{
    const char *at = strrchr(s, '@');
    if (at == NULL || at == s || at[1] == '\0' || strchr(at, '.') == NULL)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++)
        if (*p <= 0x20 || *p == 0x7f || strchr("<>,;\"()[]\\", *p) != NULL)
            return false;
    return true;
}

static void on_touch_created(int status, int64_t touch_id, void *arg)
{
    struct touch_req *tr = arg;
    if (tr->req == NULL) {
        /* The listener closed (shutdown) before we could answer. */
        if (status == 0)
            dispatch_kick(tr->d->dispatch);
    } else if (status < 0) {
        http_reply_error(tr->req, 500, "cannot create the touch: %s", error_text(status));
    } else {
        http_reply_json(tr->req, 201, json_pack("{s:I, s:I, s:s}", "touch_id", (json_int_t)touch_id,
                                                "lead_id", (json_int_t)tr->lead_id,
                                                "state", "scheduled"));
        dispatch_kick(tr->d->dispatch);
    }
    touch_req_free(tr);
}

static void on_lead_ready(int status, int64_t lead_id, void *arg)
{
    struct touch_req *tr = arg;
    bool suppressed = false;

    if (status < 0 || tr->req == NULL) {
        if (tr->req != NULL)
            http_reply_error(tr->req, 500, "cannot store the lead: %s", error_text(status));
        touch_req_free(tr);
        return;
    }
    tr->lead_id = lead_id;
    if (store_is_suppressed(tr->d->store, tr->recipient, &suppressed) == 0 && suppressed) {
        http_reply_error(tr->req, 409, "lead.email: the address or its domain is suppressed");
        touch_req_free(tr);
        return;
    }
    char *payload = json_dumps(tr->draft, JSON_COMPACT);
    struct store_touch_in in = {
        .lead_id = lead_id, .kind = "email", .channel = tr->channel, .mailbox = tr->mailbox,
        .recipient = tr->recipient, .content_type = DRAFT_CONTENT_TYPE,
        .payload = payload, .payload_len = payload != NULL ? strlen(payload) : 0,
        .due_at = tr->due_at,
    };
    struct store_actor actor = { STORE_ACTOR_PERSON, tr->actor };
    int rc = payload != NULL ? store_touch_create(tr->d->store, &in, &actor, on_touch_created, tr)
                             : -ENOMEM;
    free(payload);
    if (rc < 0) {
        http_reply_error(tr->req, 503, "cannot queue the touch: %s", error_text(rc));
        touch_req_free(tr);
    }
}

static const char *const touch_keys[] = {
    "channel", "mailbox", "lead", "subject", "text", "due_at", NULL,
};
static const char *const lead_keys[] = {
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country",
    "timezone", "linkedin", "source", "lawful_basis", "attrs", NULL,
};

/* Rejects unknown keys with the same "did you mean" help as the config. */
static bool api_check_keys(struct http_request *req, const json_t *obj, const char *path,
                           const char *const *allowed)
{
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value) {
        bool known = false;
        for (size_t i = 0; allowed[i] != NULL; i++)
            known = known || strcmp(allowed[i], key) == 0;
        if (!known) {
            const char *hint = config_suggest(key, allowed);
            http_reply_error(req, 400, "%s%s%s: unknown key%s%s%s", path, *path ? "." : "", key,
                             hint ? "; did you mean \"" : "", hint ? hint : "", hint ? "\"?" : "");
            return false;
        }
    }
    return true;
}

static const char *json_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static void on_post_touch(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    const json_t *lead;
    const char *channel, *mailbox, *email, *subject, *text, *due;
    int64_t due_at = clock_now_ms();

    if (body == NULL || !json_is_object(body))
        return http_reply_error(req, 400, "expected a JSON object body");
    if (!api_check_keys(req, body, "", touch_keys))
        return;
    lead = json_object_get(body, "lead");
    if (!json_is_object(lead))
        return http_reply_error(req, 400, "lead: expected an object with at least \"email\"");
    if (!api_check_keys(req, lead, "lead", lead_keys))
        return;
    channel = json_str(body, "channel");
    mailbox = json_str(body, "mailbox");
    email = json_str(lead, "email");
    subject = json_str(body, "subject");
    text = json_str(body, "text");
    due = json_str(body, "due_at");
    if (email == NULL || !address_is_plausible(email))
        return http_reply_error(req, 400, "lead.email: expected an address like name@example.com");
    if (subject == NULL || text == NULL)
        return http_reply_error(req, 400, "%s: expected a string", subject == NULL ? "subject" : "text");
    if (mailbox == NULL && d->cfg->n_mailboxes > 0)
        mailbox = d->cfg->mailboxes[0].name;
    const struct config_mailbox *mb = mailbox != NULL ? config_mailbox_get(d->cfg, mailbox) : NULL;
    if (mb == NULL)
        return http_reply_error(req, 400, "mailbox: no configured mailbox named \"%s\"",
                                mailbox != NULL ? mailbox : "");
    if (channel == NULL)
        channel = mb->channel;
    if (config_channel_get(d->cfg, channel) == NULL)
        return http_reply_error(req, 400, "channel: no configured channel named \"%s\"", channel);
    if (due != NULL && clock_parse_iso(due, &due_at) < 0)
        return http_reply_error(req, 400, "due_at: expected a UTC time like 2026-01-05T08:00:00Z");

    const struct config_person *who = http_request_actor(req);
    struct touch_req *tr = calloc(1, sizeof(*tr));
    if (tr == NULL)
        return http_reply_error(req, 503, "out of memory");
    const char *first = json_str(lead, "first_name"), *last = json_str(lead, "last_name");
    char name[512];
    snprintf(name, sizeof(name), "%s%s%s", first ? first : "", first && last ? " " : "",
             last ? last : "");
    tr->d = d;
    tr->req = req;
    tr->actor = strdup(who != NULL ? who->name : "api");
    tr->channel = strdup(channel);
    tr->mailbox = strdup(mb->name);
    tr->recipient = strdup(email);
    tr->draft = draft_new(subject, text, name[0] != '\0' ? name : NULL);
    tr->due_at = due_at;
    api_hold(req, &tr->req);

    struct store_lead_in in = {
        .email = email, .first_name = first, .last_name = last,
        .company = json_str(lead, "company"), .domain = json_str(lead, "domain"),
        .title = json_str(lead, "title"), .phone = json_str(lead, "phone"),
        .country = json_str(lead, "country"), .timezone = json_str(lead, "timezone"),
        .linkedin = json_str(lead, "linkedin"), .source = json_str(lead, "source"),
        .lawful_basis = json_str(lead, "lawful_basis"), .attrs = json_object_get(lead, "attrs"),
    };
    struct store_actor actor = { STORE_ACTOR_PERSON, tr->actor };
    int rc = -ENOMEM;
    if (tr->actor && tr->channel && tr->mailbox && tr->recipient && tr->draft)
        rc = store_lead_upsert(d->store, &in, &actor, on_lead_ready, tr);
    if (rc < 0) {
        http_reply_error(req, 503, "cannot queue the lead: %s", error_text(rc));
        touch_req_free(tr);
    }
}

/* Reads the touch named by the :id of the path, or replies 400/404/500. */
static json_t *touch_load(struct http_request *req, struct daemon *d, int64_t *id)
{
    json_t *touch = NULL;

    if (!api_param_id(req, id))
        return NULL;
    int rc = store_touch_get(d->store, *id, &touch);
    if (rc == -ENOENT)
        http_reply_error(req, 404, "no touch %lld", (long long)*id);
    else if (rc < 0)
        http_reply_error(req, 500, "cannot read the touch: %s", error_text(rc));
    return rc < 0 ? NULL : touch;
}

static void on_get_touch(struct http_request *req, void *ctx)
{
    int64_t id;
    json_t *touch = touch_load(req, ctx, &id);

    if (touch != NULL)
        http_reply_json(req, 200, touch);
}

static void on_list_touches(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *state_text = http_request_query(req, "state");
    const char *limit_text = http_request_query(req, "limit");
    enum touch_state state;
    int64_t limit = 100;
    json_t *list = NULL;

    if (state_text != NULL && touch_state_parse(state_text, &state) < 0)
        return http_reply_error(req, 400, "state: expected one of scheduled, deferred, sending, "
                                          "sent, skipped, failed, in_doubt, cancelled");
    if (limit_text != NULL && (!api_parse_id(limit_text, &limit) || limit > 1000))
        return http_reply_error(req, 400, "limit: expected an integer 1..1000");
    int rc = store_touches_list(d->store, state_text != NULL ? (int)state : -1, (int)limit, &list);
    if (rc < 0)
        return http_reply_error(req, 500, "cannot list touches: %s", error_text(rc));
    http_reply_json(req, 200, json_pack("{s:o}", "touches", list));
}

/* An operator's decision on an in_doubt touch. */
struct decision {
    struct daemon *d;
    struct http_request *req;
    int64_t id;
    const char *state;
};

static void on_decided(int status, int64_t id, void *arg)
{
    struct decision *dc = arg;
    if (status == 0)
        sequencer_kick(dc->d->sequencer);    /* a dropped touch ends its step */
    if (dc->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -EINVAL)
        http_reply_error(dc->req, 409, "touch %lld is not in_doubt", (long long)dc->id);
    else if (status == -ENOENT)
        http_reply_error(dc->req, 404, "no touch %lld", (long long)dc->id);
    else if (status < 0)
        http_reply_error(dc->req, 500, "cannot record the decision: %s", error_text(status));
    else {
        http_reply_json(dc->req, 200, json_pack("{s:I, s:s}", "touch_id", (json_int_t)dc->id,
                                                "state", dc->state));
        dispatch_kick(dc->d->dispatch);
    }
    free(dc);
}

static void api_decide(struct http_request *req, struct daemon *d, bool resend)
{
    int64_t id;
    json_t *touch = touch_load(req, d, &id);
    int rc;

    if (touch == NULL)
        return;
    /* Only an in_doubt touch waits for a person's decision. */
    char state[32];
    snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(touch, "state")) ?: "unknown");
    json_decref(touch);
    if (strcmp(state, "in_doubt") != 0)
        return http_reply_error(req, 409, "touch %lld is %s, not in_doubt: only in_doubt "
                                          "touches wait for a decision", (long long)id, state);
    struct decision *dc = calloc(1, sizeof(*dc));
    if (dc == NULL)
        return http_reply_error(req, 503, "out of memory");
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    struct store_touch_outcome out = {
        .state = resend ? TOUCH_SCHEDULED : TOUCH_CANCELLED,
        .reason = resend ? "resent_by_operator" : "dropped_by_operator",
        .retry_at = clock_now_ms(),
    };
    *dc = (struct decision){ d, req, id, resend ? "scheduled" : "cancelled" };
    api_hold(req, &dc->req);
    rc = store_touch_finish(d->store, id, &out, &actor, on_decided, dc);
    if (rc < 0) {
        free(dc);
        http_reply_error(req, 503, "cannot queue the decision: %s", error_text(rc));
    }
}

static void on_resend(struct http_request *req, void *ctx)
{
    api_decide(req, ctx, true);
}

static void on_drop(struct http_request *req, void *ctx)
{
    api_decide(req, ctx, false);
}

int api_touches_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/touches", 0, on_post_touch, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/touches", 0, on_list_touches, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/touches/:id", 0, on_get_touch, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/touches/:id/resend", 0, on_resend, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/touches/:id/drop", 0, on_drop, d);
    return rc;
}
