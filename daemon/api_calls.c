/* SPDX-License-Identifier: MIT */
/* daemon/api_calls.c: prospectors' call lists over the API (calls.h).
 *   GET  /api/calls?owner=NAME&date=YYYY-MM-DD
 *        {"owner", "date", "now", "calls": [...]}: the open call tasks due
 *        by the end of that UTC day (default: today on the daemon's clock),
 *        in calling order (calls_list). Without owner, the caller's own
 *        list; another person's list, or everyone's (owner=*), is for
 *        people with the admin role.
 *   POST /api/leads/:id/log-call  {"outcome": "no-answer", "notes": "..."}
 *        200 {"task_id", "lead_id", "outcome"}; 404 when the lead has no
 *        open call task; 400 naming the allowed outcomes.
 * The calling person is the actor of what is written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "cadence_def.h"
#include "calls.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "holidays.h"
#include "http.h"

#define DAY_MS 86400000LL
#define NOTES_MAX 10000

/* "2026-03-02" into the UTC day number; false when it is not such a date. */
static bool parse_date(const char *text, long *day)
{
    int y, m, d, used = 0;
    if (strlen(text) != 10 || sscanf(text, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 ||
        used != 10 || m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    *day = holidays_days_from_civil(y, m, d);
    int yy, mm, dd;
    holidays_civil_from_days(*day, &yy, &mm, &dd);
    return yy == y && mm == m && dd == d;     /* refuses 2026-02-30 */
}

static void on_list(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const struct config_person *who = http_request_actor(req);
    const char *owner = http_request_query(req, "owner");
    const char *date = http_request_query(req, "date");
    bool admin = who == NULL || (who->roles & CONFIG_ROLE_ADMIN) != 0;
    int64_t now = clock_now_ms();
    long day = (long)(now >= 0 ? now / DAY_MS : (now - DAY_MS + 1) / DAY_MS);
    char date_text[16];
    json_t *calls = NULL;

    if (owner != NULL && *owner == '\0')
        owner = NULL;
    if (owner == NULL && who != NULL)
        owner = who->name;
    if (owner != NULL && strcmp(owner, "*") == 0)
        owner = NULL;
    if (!admin && (owner == NULL || strcmp(owner, who->name) != 0))
        return http_reply_error(req, 403, "owner: only an admin may see another person's calls");
    if (date != NULL && *date != '\0' && !parse_date(date, &day))
        return http_reply_error(req, 400, "date: expected YYYY-MM-DD");
    int yy, mm, dd;
    holidays_civil_from_days(day, &yy, &mm, &dd);
    snprintf(date_text, sizeof(date_text), "%04d-%02d-%02d", yy, mm, dd);

    int rc = calls_list(d->store, owner, ((int64_t)day + 1) * DAY_MS, now, &calls);
    if (rc < 0)
        return http_reply_error(req, 500, "cannot read the call list: %s", error_text(rc));
    http_reply_json(req, 200, json_pack("{s:s?, s:s, s:I, s:o}", "owner", owner, "date",
                                        date_text, "now", (json_int_t)now, "calls", calls));
}

/* One log-call in flight: the request (NULL once the listener closed). */
struct log_call {
    struct http_request *req;
    int64_t lead_id;
    char outcome[32];
};

static void on_logged(int status, int64_t task_id, void *arg)
{
    struct log_call *c = arg;
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -ENOENT)
        http_reply_error(c->req, 404, "lead %lld has no open call task", (long long)c->lead_id);
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot log the call: %s", error_text(status));
    else
        http_reply_json(c->req, 200, json_pack("{s:I, s:I, s:s}", "task_id", (json_int_t)task_id,
                                               "lead_id", (json_int_t)c->lead_id,
                                               "outcome", c->outcome));
    free(c);
}

static void reply_bad_outcome(struct http_request *req)
{
    char names[256] = "";
    size_t n = 0;
    for (int o = 0; o < CADENCE_OUTCOME_COUNT && n < sizeof(names); o++)
        n += (size_t)snprintf(names + n, sizeof(names) - n, "%s%s", o > 0 ? ", " : "",
                              cadence_call_outcome_format((enum cadence_call_outcome)o));
    http_reply_error(req, 400, "outcome: expected one of %s", names);
}

static void on_log_call(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    const char *outcome = json_string_value(json_object_get(body, "outcome"));
    const json_t *notes = json_object_get(body, "notes");
    const struct config_person *who = http_request_actor(req);
    struct store_actor actor = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    enum cadence_call_outcome o;
    int64_t id;

    if (!api_param_id(req, &id))
        return;
    if (cadence_call_outcome_parse(outcome, &o) < 0)
        return reply_bad_outcome(req);
    if (notes != NULL && !json_is_null(notes) &&
        (!json_is_string(notes) || json_string_length(notes) > NOTES_MAX))
        return http_reply_error(req, 400, "notes: expected a text of at most %d bytes",
                                NOTES_MAX);
    struct log_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->req = req;
    c->lead_id = id;
    snprintf(c->outcome, sizeof(c->outcome), "%s", outcome);
    api_hold(req, &c->req);
    int rc = calls_log(d, id, outcome, json_string_value(notes), &actor, on_logged, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 503, "cannot queue the write: %s", error_text(rc));
    }
}

int api_calls_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/calls", 0, on_list, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/leads/:id/log-call", 0, on_log_call, d);
    return rc;
}
