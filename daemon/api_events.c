/* SPDX-License-Identifier: MIT */
/* daemon/api_events.c: responses that happen elsewhere, reported to the API.
 *   POST /api/events          one inbound event, in one of three shapes:
 *     generic   {"id": "evt-1", "lead": 12 | "ada@example.com",
 *                "type": "reply" | "bounce" | "unsubscribe" | "complaint" |
 *                        "meeting_booked" | "call_outcome",
 *                "data": {...}, "at": "2026-01-05T08:00:00Z"}
 *     Calendly  {"event": "invitee.created", "payload": {"email", "uri"}}
 *     Cal.com   {"triggerEvent": "BOOKING_CREATED",
 *                "payload": {"uid", "attendees": [{"email"}]}}
 *   POST /api/leads/:id/exit  {"reason": "manual"}: ends the lead's cadences.
 * An event is idempotent by its id (the Calendly invitee's uri, the Cal.com
 * booking's uid): the first delivery answers 201 {"event_id"}, a repeat 200
 * {"duplicate": true, "event_id", "enrollments_ended"}: it records nothing
 * again, but applies the exit again, which ends only what is still running
 * (recording and exiting are two commits; a crash between them leaves the
 * sender without an answer, and its retry finishes the job). The event is recorded
 * (with only known, non-personal data keys) and then acted on: the exit
 * rules (exits.h) for all but call_outcome, which logs the call (calls.h).
 * A call outcome is logged before it is recorded, so that "no open call
 * task" (404) leaves the id free for a later retry.
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
#include "daemon.h"
#include "exits.h"
#include "http.h"
#include "store.h"

#define EVENT_TYPES "reply, bounce, unsubscribe, complaint, meeting_booked, call_outcome"
#define CALL_OUTCOMES \
    "connected, no-answer, voicemail, meeting-booked, not-interested, wrong-person, bad-number"

static const struct {
    const char *name;
    int exit;              /* enum cadence_exit, or -1 for call_outcome */
} event_types[] = {
    { "reply", CADENCE_EXIT_REPLY },
    { "bounce", CADENCE_EXIT_BOUNCE },
    { "unsubscribe", CADENCE_EXIT_UNSUBSCRIBE },
    { "complaint", CADENCE_EXIT_COMPLAINT },
    { "meeting_booked", CADENCE_EXIT_MEETING_BOOKED },
    { "call_outcome", -1 },
};

/* The data keys kept in the event log: codes, never free text or people. */
static const char *const kept_keys[] = {
    "outcome", "reason", "code", "status", "bounce_type", "provider", NULL,
};

/* One event on its way through the store (req NULL once the listener closed). */
struct ev_call {
    struct http_request *req;
    struct daemon *d;
    int64_t lead_id, event_id, task_id;
    int exit;                 /* as in event_types */
    bool duplicate;           /* a repeated delivery of a recorded source id */
    char type[16];
    char *source_id;
    json_t *data;             /* what is recorded */
    char *outcome, *notes;    /* call_outcome */
    char actor_name[128];
    struct store_actor actor;
};

static void ev_free(struct ev_call *c)
{
    free(c->source_id);
    free(c->outcome);
    free(c->notes);
    json_decref(c->data);
    free(c);
}

static void ev_actor(struct ev_call *c, struct http_request *req)
{
    const struct config_person *who = http_request_actor(req);
    snprintf(c->actor_name, sizeof(c->actor_name), "%s", who != NULL ? who->name : "api");
    c->actor.kind = STORE_ACTOR_PERSON;
    c->actor.name = c->actor_name;
}

/* ---- replies after the writes ---- */

static void on_applied(int status, int64_t ended, void *arg)
{
    struct ev_call *c = arg;
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status < 0)
        /* The event is recorded; what failed is acting on it. */
        http_reply_error(c->req, 500, "event %lld recorded, but the exit failed: %s",
                         (long long)c->event_id, error_text(status));
    else if (c->duplicate)
        http_reply_json(c->req, 200, json_pack("{s:b, s:I, s:I}", "duplicate", 1, "event_id",
                                               (json_int_t)c->event_id, "enrollments_ended",
                                               (json_int_t)ended));
    else
        http_reply_json(c->req, 201, json_pack("{s:I, s:s, s:I}", "event_id",
                                               (json_int_t)c->event_id, "type", c->type,
                                               "enrollments_ended", (json_int_t)ended));
    ev_free(c);
}

static void on_recorded(int status, int64_t event_id, bool duplicate, void *arg)
{
    struct ev_call *c = arg;
    c->event_id = event_id;
    /* A repeated delivery acts again on its exit: recording the event and
     * applying the exit are two commits, and a sender retries when a crash
     * between them left it without an answer. Exits are idempotent (an
     * enrollment ends once; the lead moves only when one ended). */
    c->duplicate = duplicate;
    if (status == 0 && duplicate && c->exit >= 0) {
        int rc = exits_apply(c->d, c->lead_id, (enum cadence_exit)c->exit, &c->actor,
                             on_applied, c);
        if (rc < 0)
            on_applied(rc, 0, c);
        return;
    }
    if (status < 0 || duplicate) {
        if (c->req == NULL)
            ;
        else if (status < 0)
            http_reply_error(c->req, 500, "cannot record the event: %s", error_text(status));
        else
            http_reply_json(c->req, 200, json_pack("{s:b, s:I}", "duplicate", 1, "event_id",
                                                   (json_int_t)event_id));
        return ev_free(c);
    }
    if (c->exit < 0) {
        if (c->req != NULL)
            http_reply_json(c->req, 201, json_pack("{s:I, s:s, s:I}", "event_id",
                                                   (json_int_t)event_id, "type", c->type,
                                                   "task_id", (json_int_t)c->task_id));
        return ev_free(c);
    }
    int rc = exits_apply(c->d, c->lead_id, (enum cadence_exit)c->exit, &c->actor, on_applied, c);
    if (rc < 0)
        on_applied(rc, 0, c);
}

static void record(struct ev_call *c)
{
    int rc = store_inbound_record(c->d->store, c->source_id, c->lead_id, c->type, c->data,
                                  &c->actor, on_recorded, c);
    if (rc < 0) {
        if (c->req != NULL)
            http_reply_error(c->req, 503, "cannot queue the write: %s", error_text(rc));
        ev_free(c);
    }
}

static void on_call_logged(int status, int64_t task_id, void *arg)
{
    struct ev_call *c = arg;
    if (status < 0) {
        if (c->req == NULL)
            ;
        else if (status == -ENOENT)
            http_reply_error(c->req, 404, "lead %lld has no open call task",
                             (long long)c->lead_id);
        else if (status == -EINVAL)
            http_reply_error(c->req, 400, "data.outcome: expected one of " CALL_OUTCOMES);
        else
            http_reply_error(c->req, 500, "cannot log the call: %s", error_text(status));
        return ev_free(c);
    }
    c->task_id = task_id;
    record(c);
}

/* ---- parsing the three shapes ---- */

/* Sets c->lead_id from an id or an email; replies (400/404) and returns
 * false when there is no such lead. */
static bool find_lead(struct http_request *req, struct ev_call *c, const json_t *v,
                      const char *path)
{
    struct daemon *d = c->d;
    json_t *lead = NULL;
    const char *email = json_string_value(v);
    int rc;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        c->lead_id = json_integer_value(v);
        rc = store_lead_get(d->store, c->lead_id, &lead);
        json_decref(lead);
        if (rc == -ENOENT) {
            http_reply_error(req, 404, "%s: no lead %lld", path, (long long)c->lead_id);
            return false;
        }
    } else if (email != NULL && strchr(email, '@') != NULL && strlen(email) <= 320) {
        rc = store_lead_find_by_email(d->store, email, &c->lead_id);
        if (rc == -ENOENT) {
            http_reply_error(req, 404, "%s: no lead with that email", path);
            return false;
        }
    } else {
        http_reply_error(req, 400, "%s: expected a lead id (a positive integer) or an email "
                                   "address", path);
        return false;
    }
    if (rc < 0) {
        http_reply_error(req, 500, "cannot read the lead: %s", error_text(rc));
        return false;
    }
    return true;
}

/* A required string member of obj at path; replies 400 when missing. */
static const char *need_string(struct http_request *req, const json_t *obj, const char *key,
                               const char *path, const char *what)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL || *s == '\0' || strlen(s) > 512) {
        http_reply_error(req, 400, "%s: expected %s", path, what);
        return NULL;
    }
    return s;
}

/* Keeps the sender's id (may be NULL); replies 503 when c->data or the
 * copy could not be made. */
static bool stored(struct http_request *req, struct ev_call *c, const char *id)
{
    if (c->data != NULL && (id == NULL || (c->source_id = strdup(id)) != NULL))
        return true;
    http_reply_error(req, 503, "out of memory");
    return false;
}

/* Calendly: invitee.created. */
static bool parse_calendly(struct http_request *req, struct ev_call *c, const json_t *body)
{
    const char *event = json_string_value(json_object_get(body, "event"));
    const json_t *payload = json_object_get(body, "payload");
    if (event == NULL || strcmp(event, "invitee.created") != 0) {
        http_reply_error(req, 422, "event: expected \"invitee.created\" (Calendly), got %s%s%s",
                         event != NULL ? "\"" : "", event != NULL ? event : "no string",
                         event != NULL ? "\"" : "");
        return false;
    }
    if (!json_is_object(payload)) {
        http_reply_error(req, 400, "payload: expected an object (Calendly invitee)");
        return false;
    }
    const char *uri = need_string(req, payload, "uri", "payload.uri", "the invitee's URI");
    if (uri == NULL || !find_lead(req, c, json_object_get(payload, "email"), "payload.email"))
        return false;
    snprintf(c->type, sizeof(c->type), "meeting_booked");
    c->exit = CADENCE_EXIT_MEETING_BOOKED;
    c->data = json_pack("{s:s}", "source", "calendly");
    return stored(req, c, uri);
}

/* Cal.com: BOOKING_CREATED; the first attendee who is a lead. */
static bool parse_calcom(struct http_request *req, struct ev_call *c, const json_t *body)
{
    const char *event = json_string_value(json_object_get(body, "triggerEvent"));
    const json_t *payload = json_object_get(body, "payload");
    const json_t *attendees = json_object_get(payload, "attendees");
    char path[64];
    size_t i;
    json_t *a;

    if (event == NULL || strcmp(event, "BOOKING_CREATED") != 0) {
        http_reply_error(req, 422, "triggerEvent: expected \"BOOKING_CREATED\" (Cal.com), "
                         "got %s%s%s", event != NULL ? "\"" : "",
                         event != NULL ? event : "no string", event != NULL ? "\"" : "");
        return false;
    }
    if (!json_is_object(payload)) {
        http_reply_error(req, 400, "payload: expected an object (Cal.com booking)");
        return false;
    }
    const char *uid = need_string(req, payload, "uid", "payload.uid", "the booking's uid");
    if (uid == NULL)
        return false;
    if (!json_is_array(attendees) || json_array_size(attendees) == 0) {
        http_reply_error(req, 400, "payload.attendees: expected a non-empty array of "
                                   "{\"email\": ...}");
        return false;
    }
    json_array_foreach(attendees, i, a) {
        const char *email = json_string_value(json_object_get(a, "email"));
        snprintf(path, sizeof(path), "payload.attendees[%zu].email", i);
        if (email == NULL || strchr(email, '@') == NULL) {
            http_reply_error(req, 400, "%s: expected an email address", path);
            return false;
        }
        if (store_lead_find_by_email(c->d->store, email, &c->lead_id) == 0)
            break;
    }
    if (i == json_array_size(attendees)) {
        http_reply_error(req, 404, "payload.attendees: no attendee is a lead");
        return false;
    }
    snprintf(c->type, sizeof(c->type), "meeting_booked");
    c->exit = CADENCE_EXIT_MEETING_BOOKED;
    c->data = json_pack("{s:s}", "source", "cal.com");
    return stored(req, c, uid);
}

/* Copies the kept keys of data (scalars; short strings) into c->data. */
static bool keep_data(struct http_request *req, struct ev_call *c, const json_t *data)
{
    for (size_t k = 0; kept_keys[k] != NULL; k++) {
        const json_t *v = json_object_get(data, kept_keys[k]);
        if (v == NULL || json_is_null(v))
            continue;
        if (!(json_is_string(v) && strlen(json_string_value(v)) <= 100) && !json_is_integer(v)) {
            http_reply_error(req, 400, "data.%s: expected a short code (a string of at most "
                             "100 characters, or an integer)", kept_keys[k]);
            return false;
        }
        json_object_set(c->data, kept_keys[k], (json_t *)v);
    }
    return true;
}

static bool parse_generic(struct http_request *req, struct ev_call *c, const json_t *body)
{
    const json_t *id = json_object_get(body, "id");
    const json_t *data = json_object_get(body, "data");
    const json_t *at = json_object_get(body, "at");
    const char *type = json_string_value(json_object_get(body, "type"));
    char idtext[32];
    const char *source_id = NULL;
    size_t t;

    if (json_object_get(body, "type") == NULL) {
        http_reply_error(req, 400, "type: expected one of " EVENT_TYPES);
        return false;
    }
    for (t = 0; type != NULL && t < sizeof(event_types) / sizeof(event_types[0]); t++)
        if (strcmp(type, event_types[t].name) == 0)
            break;
    if (type == NULL || t == sizeof(event_types) / sizeof(event_types[0])) {
        http_reply_error(req, 422, "type: expected one of " EVENT_TYPES ", got %s%.64s%s",
                         type != NULL ? "\"" : "", type != NULL ? type : "no string",
                         type != NULL ? "\"" : "");
        return false;
    }
    snprintf(c->type, sizeof(c->type), "%s", type);
    c->exit = event_types[t].exit;
    if (json_is_integer(id) && json_integer_value(id) > 0) {
        snprintf(idtext, sizeof(idtext), "%lld", (long long)json_integer_value(id));
        source_id = idtext;
    } else if (id != NULL && !json_is_null(id)) {
        source_id = json_string_value(id);
        if (source_id == NULL || *source_id == '\0' || strlen(source_id) > 512) {
            http_reply_error(req, 400, "id: expected the sender's event id (a string of 1 to "
                                       "512 characters)");
            return false;
        }
    }
    if (data != NULL && !json_is_null(data) && !json_is_object(data)) {
        http_reply_error(req, 400, "data: expected an object");
        return false;
    }
    int64_t at_ms = 0;
    const char *at_text = json_string_value(at);
    if (at != NULL && (at_text == NULL || clock_parse_iso(at_text, &at_ms) < 0)) {
        http_reply_error(req, 400, "at: expected a UTC time like \"2026-01-05T08:00:00Z\"");
        return false;
    }
    if (c->exit < 0) {
        const char *outcome = json_string_value(json_object_get(data, "outcome"));
        const char *notes = json_string_value(json_object_get(data, "notes"));
        enum cadence_call_outcome o;
        if (outcome == NULL || cadence_call_outcome_parse(outcome, &o) < 0) {
            http_reply_error(req, 400, "data.outcome: expected one of " CALL_OUTCOMES);
            return false;
        }
        if (json_object_get(data, "notes") != NULL && notes == NULL) {
            http_reply_error(req, 400, "data.notes: expected a string");
            return false;
        }
        if ((c->outcome = strdup(outcome)) == NULL ||
            (notes != NULL && (c->notes = strdup(notes)) == NULL)) {
            http_reply_error(req, 503, "out of memory");
            return false;
        }
    }
    if (!find_lead(req, c, json_object_get(body, "lead"), "lead"))
        return false;
    char when[40];
    c->data = json_pack("{s:s}", "source", "api");
    if (c->data != NULL && at != NULL)
        json_object_set_new(c->data, "occurred_at",
                            json_string(clock_format_iso(at_ms, when, sizeof(when))));
    return stored(req, c, source_id) && keep_data(req, c, data);
}

static void on_event(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    if (!json_is_object(body))
        return http_reply_error(req, 400, "body: expected a JSON object (Content-Type: "
                                          "application/json)");
    struct ev_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->d = d;
    ev_actor(c, req);
    bool ok = json_object_get(body, "event") != NULL ? parse_calendly(req, c, body)
            : json_object_get(body, "triggerEvent") != NULL ? parse_calcom(req, c, body)
            : parse_generic(req, c, body);
    if (!ok)
        return ev_free(c);    /* the parser replied */
    int64_t earlier = 0;
    if (c->source_id != NULL && store_inbound_find(d->store, c->source_id, &earlier) == 0) {
        if (c->exit < 0) {      /* a call outcome: its task is closed already */
            ev_free(c);
            return http_reply_json(req, 200, json_pack("{s:b, s:I}", "duplicate", 1, "event_id",
                                                       (json_int_t)earlier));
        }
        /* Recorded before: act on its exit again (on_recorded says why). */
        c->req = req;
        api_hold(req, &c->req);
        return on_recorded(0, earlier, true, c);
    }
    c->req = req;
    api_hold(req, &c->req);
    if (c->exit >= 0)
        return record(c);
    int rc = calls_log(d, c->lead_id, c->outcome, c->notes, &c->actor, on_call_logged, c);
    if (rc < 0) {
        /* calls_log never calls back when it refuses at once. */
        c->req = NULL;
        http_reply_error(req, rc == -EINVAL ? 400 : 503, rc == -EINVAL
                         ? "data.outcome: expected one of " CALL_OUTCOMES
                         : "cannot log the call");
        ev_free(c);
    }
}

/* ---- manual exit ---- */

static void on_exit_done(int status, int64_t ended, void *arg)
{
    struct ev_call *c = arg;
    if (c->req == NULL)
        ;
    else if (status == -ENOENT)
        http_reply_error(c->req, 404, "no lead %lld", (long long)c->lead_id);
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot end the cadences: %s", error_text(status));
    else
        http_reply_json(c->req, 200, json_pack("{s:I, s:s, s:I}", "lead_id",
                                               (json_int_t)c->lead_id, "reason", "manual",
                                               "enrollments_ended", (json_int_t)ended));
    ev_free(c);
}

static void on_lead_exit(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    int64_t id;
    if (!api_param_id(req, &id))
        return;
    const json_t *reason = json_object_get(http_request_json(req), "reason");
    if (reason != NULL && !(json_is_string(reason) &&
                            strcmp(json_string_value(reason), "manual") == 0))
        return http_reply_error(req, 422, "reason: expected \"manual\" (the other exits come "
                                          "as events: POST /api/events)");
    struct ev_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->d = d;
    c->lead_id = id;
    ev_actor(c, req);
    c->req = req;
    api_hold(req, &c->req);
    int rc = exits_apply(d, id, CADENCE_EXIT_MANUAL, &c->actor, on_exit_done, c);
    if (rc < 0) {
        c->req = NULL;
        ev_free(c);
        http_reply_error(req, 503, "cannot queue the exit: %s", error_text(rc));
    }
}

int api_events_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/events", 0, on_event, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/leads/:id/exit", 0, on_lead_exit, d);
    return rc;
}
