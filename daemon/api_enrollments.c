/* SPDX-License-Identifier: MIT */
/* daemon/api_enrollments.c: the launch check, and pausing, resuming and
 * stopping enrollments, over the API.
 *   GET  /api/cadences/:name/check[?dns=1]
 *        -> 200 {"cadence", "ok", "problems": [{"check", "where", "problem"}]}
 *           (cadence_check.h; dns=1 adds the mailboxes' DNS preflight)
 *   POST /api/cadences/:name/pause   {"until": DATE}?  -> {"cadence", "paused": N}
 *   POST /api/cadences/:name/resume                    -> {"cadence", "resumed": N}
 *   POST /api/enrollments/:id/pause  {"until": DATE}?  -> {"enrollment_id", "state", "until"}
 *   POST /api/enrollments/:id/resume                   -> {"enrollment_id", "state"}
 *   POST /api/enrollments/:id/stop                     -> {"enrollment_id", "state"}
 * DATE is "YYYY-MM-DD" (midnight UTC), an ISO 8601 time with a zone, or UTC
 * milliseconds, and must be in the future. An enrollment that has ended
 * answers 409 with its state; resuming one that is not paused too. The
 * calling person is the actor of the events (store_pause.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "cadence_check.h"
#include "cadence_def.h"
#include "clock.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "sequencer.h"
#include "store.h"

struct op_call {
    struct http_request *req;    /* NULL once the listener dropped it */
    struct daemon *d;
    enum store_pause_op op;
    int64_t id, until;
    bool cadence_level;
    char cadence[128];
};

static const char *const op_names[] = { "pause", "resume", "stop" };

/* body.until as UTC ms (0 when absent); false after replying 400. */
static bool until_of(struct http_request *req, int64_t *out)
{
    const json_t *v = json_object_get(http_request_json(req), "until");
    *out = 0;
    if (v == NULL || json_is_null(v))
        return true;
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        GDateTime *dt = NULL;
        int y, m, dd;
        char tail;
        if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &dd, &tail) == 3 && strlen(s) == 10)
            dt = g_date_time_new_utc(y, m, dd, 0, 0, 0);
        else
            dt = g_date_time_new_from_iso8601(s, NULL);
        if (dt != NULL) {
            *out = g_date_time_to_unix(dt) * 1000;
            g_date_time_unref(dt);
        }
    }
    if (*out <= clock_now_ms()) {
        http_reply_error(req, 400, "until: expected a future date (\"2026-02-01\", an ISO 8601 "
                         "time with a zone, or UTC milliseconds)");
        return false;
    }
    return true;
}

static void on_done(int status, int64_t changed, void *arg)
{
    struct op_call *c = arg;
    int64_t id = c->id;
    struct daemon *d = c->d;
    json_t *e = NULL;
    if (status == 0) {
        /* A resumed enrollment may be due now; its touches may be claimed. */
        sequencer_kick(d->sequencer);
        if (d->dispatch != NULL)
            dispatch_kick(d->dispatch);
    }
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (c->cadence_level && status == 0)
        http_reply_json(c->req, 200, json_pack("{s:s, s:I}", "cadence", c->cadence,
                                               c->op == STORE_PAUSE ? "paused" : "resumed",
                                               (json_int_t)changed));
    else if (status == -ENOENT)
        http_reply_error(c->req, 404, "no enrollment %lld", (long long)id);
    else if ((status == -EINVAL || status == -EALREADY) &&
             store_enrollment_get(d->store, id, &e) == 0)
        http_reply_error(c->req, 409, "cannot %s enrollment %lld: it is %s", op_names[c->op],
                         (long long)id, json_string_value(json_object_get(e, "state")));
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot %s: %s", op_names[c->op], error_text(status));
    else if (store_enrollment_get(d->store, id, &e) == 0)
        http_reply_json(c->req, 200, json_pack("{s:I, s:O?, s:o?}", "enrollment_id",
                                               (json_int_t)id, "state",
                                               json_object_get(e, "state"), "until",
                                               c->until > 0 ? json_integer(c->until) : NULL));
    else
        http_reply_error(c->req, 500, "the enrollment changed but cannot be read back");
    json_decref(e);
    free(c);
}

static void enrollment_op(struct http_request *req, struct daemon *d, enum store_pause_op op)
{
    int64_t id = 0, until = 0;
    if (!api_param_id(req, &id) || (op == STORE_PAUSE && !until_of(req, &until)))
        return;
    struct op_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->req = req;
    c->d = d;
    c->op = op;
    c->id = id;
    c->until = until;
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    int rc = store_enrollment_pause(d->store, id, op, until, &actor, on_done, c);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot %s: %s", op_names[op], error_text(rc));
    }
    api_hold(req, &c->req);
}

static void on_pause(struct http_request *req, void *ctx) { enrollment_op(req, ctx, STORE_PAUSE); }
static void on_resume(struct http_request *req, void *ctx) { enrollment_op(req, ctx, STORE_RESUME); }
static void on_stop(struct http_request *req, void *ctx) { enrollment_op(req, ctx, STORE_STOP); }

/* The cadence named by :name, or a 404 and NULL. */
static const struct cadence_def *cadence_param(struct http_request *req, struct daemon *d)
{
    const char *name = http_request_param(req, "name");
    const struct cadence_def *def = d->cadences != NULL && name != NULL
                                  ? cadence_set_get(d->cadences, name) : NULL;
    if (def == NULL)
        http_reply_error(req, 404, "no cadence named \"%s\" in %s", name != NULL ? name : "",
                         d->cfg->cadences_dir != NULL ? d->cfg->cadences_dir
                                                      : "the config (no cadences folder)");
    return def;
}

static void cadence_op(struct http_request *req, struct daemon *d, bool pause)
{
    const struct cadence_def *def = cadence_param(req, d);
    int64_t until = 0;
    if (def == NULL || (pause && !until_of(req, &until)))
        return;
    struct op_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->req = req;
    c->d = d;
    c->op = pause ? STORE_PAUSE : STORE_RESUME;
    c->until = until;
    c->cadence_level = true;
    snprintf(c->cadence, sizeof(c->cadence), "%s", def->name);
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    int rc = store_cadence_pause(d->store, def->name, pause, until, &actor, on_done, c);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot %s: %s", op_names[pause ? STORE_PAUSE
                                                                          : STORE_RESUME],
                                error_text(rc));
    }
    api_hold(req, &c->req);
}

static void on_cadence_pause(struct http_request *req, void *ctx) { cadence_op(req, ctx, true); }
static void on_cadence_resume(struct http_request *req, void *ctx) { cadence_op(req, ctx, false); }

/* ---- the launch check ---- */

struct check_call {
    struct http_request *req;
    char cadence[128];
};

static json_t *check_reply(const char *cadence, json_t *problems)
{
    return json_pack("{s:s, s:b, s:O}", "cadence", cadence, "ok",
                     json_array_size(problems) == 0, "problems", problems);
}

static void on_dns_checked(int status, json_t *problems, void *arg)
{
    struct check_call *c = arg;
    if (c->req == NULL)
        ;
    else if (status < 0)
        http_reply_error(c->req, 502, "the DNS preflight failed: %s", error_text(status));
    else
        http_reply_json(c->req, 200, check_reply(c->cadence, problems));
    json_decref(problems);
    free(c);
}

static void on_check(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const struct cadence_def *def = cadence_param(req, d);
    const char *dns = http_request_query(req, "dns");
    json_t *problems = NULL;
    if (def == NULL)
        return;
    if (cadence_check(d, def, &problems) < 0)
        return http_reply_error(req, 503, "out of memory");
    if (dns == NULL || strcmp(dns, "0") == 0 || strcmp(dns, "false") == 0) {
        http_reply_json(req, 200, check_reply(def->name, problems));
        json_decref(problems);
        return;
    }
    struct check_call *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        json_decref(problems);
        return http_reply_error(req, 503, "out of memory");
    }
    c->req = req;
    snprintf(c->cadence, sizeof(c->cadence), "%s", def->name);
    int rc = cadence_check_dns(d, def, problems, on_dns_checked, c);
    if (rc < 0) {
        json_decref(problems);
        free(c);
        return http_reply_error(req, rc == -EINVAL ? 500 : 503, "cannot start the DNS "
                                "preflight: %s", rc == -EINVAL ? "invalid dns.servers in the "
                                "config" : error_text(rc));
    }
    api_hold(req, &c->req);
}

int api_enrollments_register(struct daemon *d)
{
    static const struct {
        const char *method, *pattern;
        http_handler h;
    } routes[] = {
        { "GET", "/api/cadences/:name/check", on_check },
        { "POST", "/api/cadences/:name/pause", on_cadence_pause },
        { "POST", "/api/cadences/:name/resume", on_cadence_resume },
        { "POST", "/api/enrollments/:id/pause", on_pause },
        { "POST", "/api/enrollments/:id/resume", on_resume },
        { "POST", "/api/enrollments/:id/stop", on_stop },
    };
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        int rc = http_route(d->api, routes[i].method, routes[i].pattern, 0, routes[i].h, d);
        if (rc < 0)
            return rc;
    }
    return 0;
}
