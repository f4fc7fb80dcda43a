/* SPDX-License-Identifier: MIT */
/* daemon/api_cadences.c: cadences and enrollments over the API.
 *   GET  /api/cadences               [{"name", "version", "steps", "mailboxes"}]
 *   POST /api/enrollments            {"cadence": NAME, "leads": [id | email, ...]}
 *                                    or {"cadence": NAME, "stage": S, "limit": N}
 *                                    -> 200 {"enrolled": N, "results": [{"lead_id",
 *                                       "enrollment_id", "mailbox"} | {"lead_id",
 *                                       "refused": reason}]}
 *                                    -> 409 {"error": "the cadence fails its launch check",
 *                                       "problems": [...]} (cadence_check.h; run each time)
 *   GET  /api/enrollments?cadence=&lead=   the enrollments, by id
 * Enrolling records the calling person as the actor of each "enrolled" event.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "cadence_check.h"
#include "cadence_def.h"
#include "daemon.h"
#include "http.h"
#include "sequencer.h"
#include "stages.h"
#include "store.h"

#define MAX_LEADS 10000

struct enroll_call {
    struct http_request *req;    /* NULL once the listener closed */
    struct daemon *d;
};

static void on_enrolled(int status, const json_t *results, void *arg)
{
    struct enroll_call *c = arg;
    if (status == 0)
        sequencer_kick(c->d->sequencer);
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot enroll: %s", error_text(status));
    else {
        size_t i, n = 0;
        json_t *r;
        json_array_foreach(results, i, r)
            n += json_object_get(r, "enrollment_id") != NULL;
        http_reply_json(c->req, 200, json_pack("{s:I, s:O}", "enrolled", (json_int_t)n,
                                               "results", results));
    }
    free(c);
}

/* The leads to enroll: body.leads (ids or emails) or body.stage/limit. */
static int collect(struct http_request *req, struct daemon *d, const json_t *body,
                   int64_t **ids, size_t *n)
{
    const json_t *leads = json_object_get(body, "leads"), *v;
    const char *stage = json_string_value(json_object_get(body, "stage"));
    size_t i;
    *n = 0;
    if (leads != NULL) {
        if (!json_is_array(leads) || json_array_size(leads) == 0 ||
            json_array_size(leads) > MAX_LEADS) {
            http_reply_error(req, 400, "leads: expected an array of 1 to %d lead ids or emails",
                             MAX_LEADS);
            return -EINVAL;
        }
        *ids = calloc(json_array_size(leads), sizeof(**ids));
        if (*ids == NULL)
            return -ENOMEM;
        json_array_foreach(leads, i, v) {
            int64_t id = 0;
            if (json_is_integer(v) && json_integer_value(v) > 0)
                id = json_integer_value(v);
            else if (!json_is_string(v) ||
                     store_lead_find_by_email(d->store, json_string_value(v), &id) < 0) {
                http_reply_error(req, json_is_string(v) ? 404 : 400, "leads[%zu]: %s", i,
                                 json_is_string(v) ? "no lead with that email"
                                                   : "expected a lead id or an email");
                return -EINVAL;
            }
            (*ids)[(*n)++] = id;
        }
        return 0;
    }
    if (stage == NULL || !stage_is_valid(stage)) {
        http_reply_error(req, 400, "expected \"leads\", or \"stage\" (one of %s)", stage_names());
        return -EINVAL;
    }
    json_int_t limit = json_integer_value(json_object_get(body, "limit"));
    if (limit <= 0 || limit > MAX_LEADS)
        limit = MAX_LEADS;
    *ids = calloc((size_t)limit, sizeof(**ids));
    if (*ids == NULL)
        return -ENOMEM;
    size_t got = 0;
    if (store_leads_in_stage(d->store, stage, 0, *ids, (size_t)limit, &got) < 0) {
        http_reply_error(req, 500, "cannot list the stage's leads");
        return -EIO;
    }
    *n = got;
    return 0;
}

static void on_enroll(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    const char *name = json_string_value(json_object_get(body, "cadence"));
    const struct cadence_def *def = NULL;
    int64_t version = 0, *ids = NULL;
    size_t n = 0;

    if (!json_is_object(body) || name == NULL)
        return http_reply_error(req, 400, "cadence: expected a cadence name");
    int rc = sequencer_current_version(d->sequencer, name, &version, &def);
    if (rc == -ENOENT)
        return http_reply_error(req, 404, "cadence: no cadence named \"%s\" in %s", name,
                                d->cfg->cadences_dir != NULL ? d->cfg->cadences_dir
                                                             : "the config (no cadences folder)");
    if (rc < 0)
        return http_reply_error(req, 503, "the cadence's version is being recorded; retry");
    /* A cadence that fails its launch check takes no leads. */
    json_t *problems = NULL;
    if (cadence_check(d, def, &problems) < 0)
        return http_reply_error(req, 503, "out of memory");
    if (json_array_size(problems) > 0)
        return http_reply_json(req, 409, json_pack("{s:s, s:s, s:o}", "error",
                                                   "the cadence fails its launch check",
                                                   "cadence", name, "problems", problems));
    json_decref(problems);
    if (collect(req, d, body, &ids, &n) < 0) {
        free(ids);
        return;
    }
    if (n == 0) {
        free(ids);
        return http_reply_json(req, 200, json_pack("{s:i, s:[]}", "enrolled", 0, "results"));
    }
    struct store_enroll_rules rules = {
        .max_active = def->max_active, .new_per_day = def->new_per_day,
        .max_active_per_domain = def->max_active_per_domain,
        .cooldown_ms = def->cooldown_days * 86400000LL,
        .skip_customer_domains = def->skip_customer_domains,
        .require_basis = true,
    };
    struct enroll_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        free(ids);
        return http_reply_error(req, 503, "out of memory");
    }
    c->req = req;
    c->d = d;
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    rc = store_enroll(d->store, version, name, ids, n, (const char *const *)def->mailboxes,
                      &rules, &actor, on_enrolled, c);
    free(ids);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot enroll: %s", error_text(rc));
    }
    api_hold(req, &c->req);
}

static void on_list(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *lead = http_request_query(req, "lead");
    json_t *out = NULL;
    if (store_enrollments_list(d->store, http_request_query(req, "cadence"),
                               lead != NULL ? atoll(lead) : 0, &out) < 0)
        return http_reply_error(req, 500, "cannot list the enrollments");
    http_reply_json(req, 200, json_pack("{s:o}", "enrollments", out));
}

static void on_cadences(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *list = json_array();
    for (size_t i = 0; d->cadences != NULL && i < d->cadences->n; i++) {
        const struct cadence_def *def = d->cadences->items[i], *cur = NULL;
        int64_t id = 0;
        json_t *steps = json_array(), *mbs = json_array();
        sequencer_current_version(d->sequencer, def->name, &id, &cur);
        for (size_t k = 0; k < def->n_steps; k++)
            json_array_append_new(steps, json_pack("{s:s, s:s}", "name", def->steps[k].name,
                                  "type", cadence_step_type_format(def->steps[k].type)));
        for (size_t k = 0; k < def->n_mailboxes; k++)
            json_array_append_new(mbs, json_string(def->mailboxes[k]));
        json_array_append_new(list, json_pack("{s:s, s:I, s:s, s:o, s:o}", "name", def->name,
                              "version_id", (json_int_t)id, "timezone", def->timezone,
                              "steps", steps, "mailboxes", mbs));
    }
    http_reply_json(req, 200, json_pack("{s:o}", "cadences", list));
}

int api_cadences_register(struct daemon *d)
{
    int rc = http_route(d->api, "GET", "/api/cadences", 0, on_cadences, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/enrollments", 0, on_enroll, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/enrollments", 0, on_list, d);
    return rc;
}
