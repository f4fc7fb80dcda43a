/* SPDX-License-Identifier: MIT */
/* daemon/api_leads.c: lead endpoints of the API (the clock is api_clock.c).
 *   GET  /api/leads/:id          the lead, its stage history and its events
 *   POST /api/leads/:id/stage    {"stage": "qualification", "reason": "..."}:
 *                                the one stage transition, owner assigned
 *                                round-robin from the team, actor recorded
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "config.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "stages.h"
#include "store.h"

static void on_get_lead(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    int64_t id;
    json_t *lead = NULL, *history = NULL, *events = NULL;

    if (!api_param_id(req, &id))
        return;
    int rc = store_lead_get(d->store, id, &lead);
    if (rc == -ENOENT)
        return http_reply_error(req, 404, "no lead %lld", (long long)id);
    if (rc < 0 || store_stage_history(d->store, id, &history) < 0 ||
        store_events_list(d->store, id, 100, &events) < 0) {
        json_decref(lead);
        json_decref(history);
        return http_reply_error(req, 500, "cannot read the lead");
    }
    json_object_set_new(lead, "stage_history", history);
    json_object_set_new(lead, "events", events);
    /* The ICP score breakdown (icp.h), or null when never scored. */
    json_t *icp = NULL;
    json_object_set_new(lead, "icp", store_icp_get(d->store, id, &icp) == 0 ? icp : json_null());
    http_reply_json(req, 200, lead);
}

struct stage_req {
    struct http_request *req;
    int64_t id;
    char stage[32];
};

static void on_stage_moved(int status, int64_t id, void *arg)
{
    struct stage_req *sr = arg;
    if (sr->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -ENOENT)
        http_reply_error(sr->req, 404, "no lead %lld", (long long)sr->id);
    else if (status < 0)
        http_reply_error(sr->req, 500, "cannot move the lead: %s", error_text(status));
    else
        http_reply_json(sr->req, 200, json_pack("{s:I, s:s}", "lead_id", (json_int_t)sr->id,
                                                "stage", sr->stage));
    free(sr);
}

static void on_post_stage(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    const char *candidates[64];
    int64_t id;

    if (!api_param_id(req, &id))
        return;
    const char *stage = json_string_value(json_object_get(body, "stage"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    if (stage == NULL || !stage_is_valid(stage))
        return http_reply_error(req, 400, "stage: expected one of %s", stage_names());
    /* The reason goes into the event log, which holds no personal data: a
     * code like "meeting_booked", never free text. */
    if (reason != NULL && (reason[0] == '\0' || strlen(reason) > 64 ||
                           strspn(reason, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(reason)))
        return http_reply_error(req, 400, "reason: expected a code of lowercase letters, digits "
                                          "and underscores (at most 64), like meeting_booked");
    const char *role = stage_role(stage);
    size_t n = stage_candidates(d->cfg, role, candidates, 64);
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    struct stage_req *sr = calloc(1, sizeof(*sr));
    if (sr == NULL)
        return http_reply_error(req, 503, "out of memory");
    sr->req = req;
    sr->id = id;
    snprintf(sr->stage, sizeof(sr->stage), "%s", stage);
    api_hold(req, &sr->req);
    int rc = store_stage_move(d->store, id, stage, role, candidates, n, &actor,
                              reason != NULL ? reason : "moved_by_api",
                              on_stage_moved, sr);
    if (rc < 0) {
        free(sr);
        http_reply_error(req, 503, "cannot queue the move: %s", error_text(rc));
    }
}

int api_leads_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/leads/:id", 0, on_get_lead, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/leads/:id/stage", 0, on_post_stage, d);
    return rc;
}
