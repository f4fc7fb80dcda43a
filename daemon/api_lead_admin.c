/* SPDX-License-Identifier: MIT */
/* daemon/api_lead_admin.c: viewing and managing leads over the API.
 *   GET  /api/leads?stage=&owner=&source=&limit=   {"leads": [...]}
 *   GET  /api/leads/by-email/:email   the lead (as GET /api/leads/:id): fields,
 *                                     stage history, events oldest first
 *   POST /api/suppressions            {"value": "a@b.example" | "@b.example",
 *                                      "reason": "..."}
 *   POST /api/suppressions/delete     {"value": ..., "force": true}
 *   POST /api/leads/:id/forget        GDPR erasure (a hashed suppression stays)
 *   GET  /api/leads/:id/export        everything held about the lead
 * Every write records the calling person as its actor.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "daemon.h"
#include "http.h"
#include "stages.h"
#include "store.h"

/* One write in flight: the request (NULL once the listener closed). */
struct admin_call {
    struct http_request *req;
    int64_t id;
    char what[16];          /* "suppress", "unsuppress", "forget" */
};

static struct store_actor api_actor(struct http_request *req)
{
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    return actor;
}

static void on_list(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    struct store_leads_filter f = {
        .stage = http_request_query(req, "stage"),
        .owner = http_request_query(req, "owner"),
        .source = http_request_query(req, "source"),
    };
    const char *limit = http_request_query(req, "limit");
    json_t *leads = NULL;

    if (f.stage != NULL && !stage_is_valid(f.stage))
        return http_reply_error(req, 400, "stage: expected one of %s", stage_names());
    if (limit != NULL) {
        char *end;
        long v = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || v <= 0 || v > 100000)
            return http_reply_error(req, 400, "limit: expected an integer from 1 to 100000");
        f.limit = (int)v;
    }
    if (store_leads_list(d->store, &f, &leads) < 0)
        return http_reply_error(req, 500, "cannot list the leads");
    http_reply_json(req, 200, json_pack("{s:o}", "leads", leads));
}

static void on_by_email(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *email = http_request_param(req, "email");
    json_t *lead = NULL, *history = NULL, *events = NULL;
    int64_t id = 0;

    if (email == NULL || strchr(email, '@') == NULL)
        return http_reply_error(req, 400, "email: expected an email address");
    int rc = store_lead_find_by_email(d->store, email, &id);
    if (rc == -ENOENT)
        return http_reply_error(req, 404, "no lead with that email");
    if (rc < 0 || store_lead_get(d->store, id, &lead) < 0 ||
        store_stage_history(d->store, id, &history) < 0 ||
        store_events_list(d->store, id, 1000, &events) < 0) {
        json_decref(lead);
        json_decref(history);
        return http_reply_error(req, 500, "cannot read the lead");
    }
    json_object_set_new(lead, "stage_history", history);
    json_object_set_new(lead, "events", events);
    http_reply_json(req, 200, lead);
}

static void on_written(int status, int64_t id, void *arg)
{
    struct admin_call *c = arg;
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -ENOENT && strcmp(c->what, "forget") == 0)
        http_reply_error(c->req, 404, "no lead %lld", (long long)c->id);
    else if (status == -ENOENT)
        http_reply_error(c->req, 404, "no such suppression entry");
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot %s: %s", c->what, error_text(status));
    else if (strcmp(c->what, "forget") == 0)
        http_reply_json(c->req, 200, json_pack("{s:I, s:b}", "lead_id", (json_int_t)c->id,
                                               "forgotten", 1));
    else
        http_reply_json(c->req, strcmp(c->what, "suppress") == 0 ? 201 : 200,
                        json_pack("{s:I, s:s}", "id", (json_int_t)id, "result", c->what));
    free(c);
}

static struct admin_call *call_new(struct http_request *req, const char *what, int64_t id)
{
    struct admin_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        http_reply_error(req, 503, "out of memory");
        return NULL;
    }
    c->req = req;
    c->id = id;
    snprintf(c->what, sizeof(c->what), "%s", what);
    api_hold(req, &c->req);
    return c;
}

/* value "@example.com" is a domain; "a@example.com" an email. */
static bool suppression_target(struct http_request *req, const char **kind, const char **value)
{
    const char *v = json_string_value(json_object_get(http_request_json(req), "value"));
    const char *at = v != NULL ? strchr(v, '@') : NULL;
    if (at == NULL || at[1] == '\0' || strchr(at + 1, '@') != NULL || strlen(v) > 320) {
        http_reply_error(req, 400, "value: expected an email address or @domain");
        return false;
    }
    *kind = at == v ? "domain" : "email";
    *value = at == v ? v + 1 : v;
    return true;
}

static void on_suppress(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *kind, *value;
    if (!suppression_target(req, &kind, &value))
        return;
    /* The reason is stored and logged: a short code or phrase, not a story. */
    const char *reason = json_string_value(json_object_get(http_request_json(req), "reason"));
    if (reason != NULL && strlen(reason) > 200)
        return http_reply_error(req, 400, "reason: at most 200 characters");
    struct store_actor actor = api_actor(req);
    struct admin_call *c = call_new(req, "suppress", 0);
    if (c == NULL)
        return;
    int rc = store_suppress(d->store, kind, value, reason != NULL ? reason : "manual",
                            &actor, on_written, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 503, "cannot queue the write: %s", error_text(rc));
    }
}

static void on_unsuppress(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *kind, *value;
    if (!suppression_target(req, &kind, &value))
        return;
    if (!json_is_true(json_object_get(http_request_json(req), "force")))
        return http_reply_error(req, 409, "force: lifting a suppression needs \"force\": true");
    struct store_actor actor = api_actor(req);
    struct admin_call *c = call_new(req, "unsuppress", 0);
    if (c == NULL)
        return;
    int rc = store_unsuppress(d->store, kind, value, &actor, on_written, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 503, "cannot queue the write: %s", error_text(rc));
    }
}

static void on_forget(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    int64_t id;
    if (!api_param_id(req, &id))
        return;
    struct store_actor actor = api_actor(req);
    struct admin_call *c = call_new(req, "forget", id);
    if (c == NULL)
        return;
    int rc = store_lead_forget(d->store, id, &actor, on_written, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 503, "cannot queue the write: %s", error_text(rc));
    }
}

static void on_export(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    int64_t id;
    json_t *all = NULL;
    if (!api_param_id(req, &id))
        return;
    int rc = store_lead_export(d->store, id, &all);
    if (rc == -ENOENT)
        return http_reply_error(req, 404, "no lead %lld", (long long)id);
    if (rc < 0)
        return http_reply_error(req, 500, "cannot export the lead");
    http_reply_json(req, 200, all);
}

int api_lead_admin_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/leads", 0, on_list, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/leads/by-email/:email", 0, on_by_email, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/suppressions", 0, on_suppress, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/suppressions/delete", 0, on_unsuppress, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/leads/:id/forget", 0, on_forget, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/leads/:id/export", 0, on_export, d);
    return rc;
}
