/* SPDX-License-Identifier: MIT */
/* daemon/api_enrich.c: queueing leads for enrichment over the API.
 *   POST /api/enrichments   {"leads": [12, "ada@example.com", ...]}
 *                           or {"stage": "intelligence", "missing": "industry",
 *                               "limit": 500} (each optional)
 *                           -> 202 {"queued": N} (leads already queued count once)
 *   GET  /api/enrichments   the waterfall's state: queued, running, and per
 *                           enricher calls, cache hits, retries, failures
 * The waterfall (enrich.c) picks queued leads up at once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "daemon.h"
#include "enrich.h"
#include "http.h"
#include "stages.h"
#include "store.h"

#define MAX_LEADS 10000

struct enrich_call {
    struct http_request *req;    /* NULL once the listener closed */
    struct daemon *d;
};

static void on_queued(int status, int64_t n, void *arg)
{
    struct enrich_call *c = arg;
    if (status == 0)
        enrich_kick(c->d->enrich);
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot queue the leads: %s", error_text(status));
    else
        http_reply_json(c->req, 202, json_pack("{s:I}", "queued", (json_int_t)n));
    free(c);
}

/* body.leads: ids or emails into ids[]; false after replying 400. */
static bool read_leads(struct http_request *req, struct daemon *d, const json_t *leads,
                       int64_t *ids, size_t *n)
{
    size_t i;
    const json_t *v;
    *n = 0;
    if (!json_is_array(leads) || json_array_size(leads) == 0 ||
        json_array_size(leads) > MAX_LEADS) {
        http_reply_error(req, 400, "leads: expected an array of 1 to %d lead ids or emails",
                         MAX_LEADS);
        return false;
    }
    json_array_foreach(leads, i, v) {
        int64_t id = 0;
        if (json_is_integer(v) && json_integer_value(v) > 0) {
            id = json_integer_value(v);
        } else if (json_is_string(v) && strchr(json_string_value(v), '@') != NULL) {
            if (store_lead_find_by_email(d->store, json_string_value(v), &id) < 0) {
                http_reply_error(req, 404, "leads[%zu]: no lead with that email", i);
                return false;
            }
        } else {
            http_reply_error(req, 400, "leads[%zu]: expected a lead id or an email", i);
            return false;
        }
        ids[(*n)++] = id;
    }
    return true;
}

static void on_enrich(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    struct store_enrich_select sel = { 0 };
    int64_t *ids = NULL;
    const json_t *v;

    if (body != NULL && !json_is_object(body))
        return http_reply_error(req, 400, "expected a JSON object");
    if ((v = json_object_get(body, "leads")) != NULL) {
        ids = calloc(json_is_array(v) && json_array_size(v) > 0 ? json_array_size(v) : 1,
                     sizeof(*ids));
        if (ids == NULL)
            return http_reply_error(req, 503, "out of memory");
        if (!read_leads(req, d, v, ids, &sel.n_ids)) {
            free(ids);
            return;
        }
        sel.ids = ids;
    }
    if ((v = json_object_get(body, "stage")) != NULL &&
        (!json_is_string(v) || !stage_is_valid(json_string_value(v)))) {
        free(ids);
        return http_reply_error(req, 400, "stage: expected one of %s", stage_names());
    }
    sel.stage = json_string_value(v);
    if ((v = json_object_get(body, "missing")) != NULL &&
        (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 64 ||
         strpbrk(json_string_value(v), "\".$[]") != NULL)) {
        free(ids);
        return http_reply_error(req, 400, "missing: expected a lead field or attribute name");
    }
    sel.missing = json_string_value(v);
    if ((v = json_object_get(body, "limit")) != NULL &&
        (!json_is_integer(v) || json_integer_value(v) < 1)) {
        free(ids);
        return http_reply_error(req, 400, "limit: expected a positive integer");
    }
    sel.limit = json_integer_value(v);
    if (sel.n_ids > 0 && (sel.stage != NULL || sel.missing != NULL)) {
        free(ids);
        return http_reply_error(req, 400, "leads: give either leads or stage/missing, not both");
    }

    struct enrich_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        free(ids);
        return http_reply_error(req, 503, "out of memory");
    }
    c->req = req;
    c->d = d;
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    int rc = store_enrich_queue(d->store, &sel, &actor, on_queued, c);
    free(ids);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot queue the leads: %s", error_text(rc));
    }
    api_hold(req, &c->req);
}

static void on_status(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    http_reply_json(req, 200, enrich_status_json(d->enrich));
}

int api_enrich_register(struct daemon *d)
{
    int rc = http_route(d->api, "POST", "/api/enrichments", 0, on_enrich, d);
    if (rc == 0)
        rc = http_route(d->api, "GET", "/api/enrichments", 0, on_status, d);
    return rc;
}
