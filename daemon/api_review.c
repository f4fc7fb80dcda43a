/* SPDX-License-Identifier: MIT */
/* daemon/api_review.c: previews and the review queue over the API.
 *   GET  /api/preview?lead=ID|EMAIL&cadence=NAME[&step=N]
 *        -> 200 {"message": raw or null, "skipped": reason or null, "step": {...},
 *           "lead_id", "enrollment_id", "mailbox"} (sequencer_preview; nothing
 *           is sent or written); 400 for a step that is not an email, naming its type
 *   (POST /api/preview/send, a test send to one's own address: api_preview_send.c)
 *   GET  /api/review              {"review": [{id, lead_id, cadence, step, subject, ...}]}
 *   GET  /api/review/:id          {"touch": {...}, "message": raw}
 *   POST /api/review/:id/approve  'scheduled': due at its due_at if that is still
 *                                 ahead, else at the lead's next window opening
 *                                 (the Date header then says so); "review_approved"
 *   POST /api/review/:id/reject   'skipped' (rejected_in_review); the cadence goes on
 *   PUT  /api/review/:id          body: the edited raw message (or JSON
 *                                 {"message": text}); it must parse as a MIME
 *                                 message with the same Message-ID and To;
 *                                 "review_edited"; it still awaits approval
 * The actor of each change is the calling person. 404 for an unknown touch,
 * 409 for one that no longer awaits review.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "api.h"
#include "api_util.h"
#include "clock.h"
#include "daemon.h"
#include "dispatch.h"
#include "http.h"
#include "sequencer.h"
#include "store.h"

#define REVIEW_REASON "awaiting_review"

struct review_call {
    struct http_request *req;    /* NULL once the listener closed */
    struct daemon *d;
    int64_t id, due;
    const char *done;            /* the state the reply reports */
};

static struct store_actor actor_of(struct http_request *req)
{
    const struct config_person *who = http_request_actor(req);
    struct store_actor a = { STORE_ACTOR_PERSON, who != NULL ? who->name : "api" };
    return a;
}

static void on_preview(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const char *lead = http_request_query(req, "lead"), *cadence = http_request_query(req,
                                                                                      "cadence");
    const char *step = http_request_query(req, "step");
    int64_t id = 0, n = 0;
    struct errbuf err = { 0 };
    json_t *out = NULL;

    if (lead == NULL || cadence == NULL)
        return http_reply_error(req, 400, "expected ?lead=ID|EMAIL&cadence=NAME[&step=N]");
    if (step != NULL && (!api_parse_id(step, &n) || n > 1000))
        return http_reply_error(req, 400, "step: expected a step number from 1");
    if (!api_parse_id(lead, &id) && store_lead_find_by_email(d->store, lead, &id) < 0)
        return http_reply_error(req, 404, "lead: no lead with that id or email");
    int rc = sequencer_preview(d->sequencer, cadence, id, (int)n, &out, &err);
    if (rc < 0)
        return http_reply_error(req, rc == -ENOENT ? 404 : rc == -EAGAIN ? 503
                                : rc == -EINVAL || rc == -ERANGE ? 400 : 500, "%s", err.what);
    http_reply_json(req, 200, out);
}

static void on_list(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *out = NULL;
    if (store_review_list(d->store, 1000, &out) < 0)
        return http_reply_error(req, 500, "cannot list the review queue");
    http_reply_json(req, 200, json_pack("{s:o}", "review", out));
}

/* The touch :id and its message; false when a reply was made (404, or 409
 * when awaiting is set and it no longer awaits review). */
static bool load(struct http_request *req, struct daemon *d, bool awaiting, int64_t *id,
                 json_t **touch, char **msg, size_t *len)
{
    if (!api_param_id(req, id))
        return false;
    int rc = store_review_get(d->store, *id, touch, msg, len);
    if (rc < 0) {
        http_reply_error(req, rc == -ENOENT ? 404 : 500, "touch %lld: %s", (long long)*id,
                         rc == -ENOENT ? "no such touch" : error_text(rc));
        return false;
    }
    const char *state = json_string_value(json_object_get(*touch, "state"));
    const char *reason = json_string_value(json_object_get(*touch, "reason"));
    if (awaiting && (strcmp(state, "deferred") != 0 || reason == NULL ||
                     strcmp(reason, REVIEW_REASON) != 0)) {
        http_reply_error(req, 409, "touch %lld does not await review (it is %s%s%s%s)",
                         (long long)*id, state, reason != NULL ? "(" : "",
                         reason != NULL ? reason : "", reason != NULL ? ")" : "");
        json_decref(*touch);
        free(*msg);
        return false;
    }
    return true;
}

static void on_show(struct http_request *req, void *ctx)
{
    json_t *touch = NULL;
    char *msg = NULL;
    size_t len = 0;
    int64_t id;
    if (!load(req, ctx, false, &id, &touch, &msg, &len))
        return;
    json_t *text = json_stringn(msg, len);
    free(msg);
    http_reply_json(req, 200, json_pack("{s:o, s:o}", "touch", touch, "message",
                                        text != NULL ? text : json_null()));
}

static void on_done(int status, int64_t unused, void *arg)
{
    struct review_call *c = arg;
    (void)unused;
    if (status == 0) {
        /* An approval makes a touch to send; a rejection moves the cadence on. */
        if (c->d->dispatch != NULL)
            dispatch_kick(c->d->dispatch);
        sequencer_kick(c->d->sequencer);
    }
    if (c->req == NULL)
        ;   /* the listener closed before we could answer */
    else if (status == -ENOENT || status == -EINVAL)
        http_reply_error(c->req, 409, "touch %lld no longer awaits review", (long long)c->id);
    else if (status < 0)
        http_reply_error(c->req, 500, "cannot record it: %s", error_text(status));
    else {
        json_t *r = json_pack("{s:I, s:s}", "id", (json_int_t)c->id, "state", c->done);
        if (r != NULL && c->due > 0)
            json_object_set_new(r, "due_at", json_integer(c->due));
        http_reply_json(c->req, 200, r);
    }
    free(c);
}

static struct review_call *call_new(struct http_request *req, struct daemon *d, int64_t id,
                                    const char *done)
{
    struct review_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->req = req;
    c->d = d;
    c->id = id;
    c->done = done;
    return c;
}

/* msg with its (unfolded) Date header set to ms, written as compose writes
 * it; malloc'd, or NULL when it has none. */
static char *redate(const char *msg, size_t len, int64_t ms, size_t *out_len)
{
    const char *end = strstr(msg, "\r\n\r\n");
    for (const char *p = msg; p != NULL && end != NULL && p < end;) {
        const char *eol = strstr(p, "\r\n");
        if (strncasecmp(p, "Date:", 5) == 0 && eol != NULL) {
            GDateTime *dt = g_date_time_new_from_unix_utc(ms / 1000);
            char *v = g_mime_utils_header_format_date(dt);
            g_date_time_unref(dt);
            size_t head = (size_t)(p - msg), tail = len - (size_t)(eol - msg);
            char *out = malloc(head + 6 + strlen(v) + tail + 1);
            if (out != NULL) {
                memcpy(out, msg, head);
                *out_len = head + (size_t)sprintf(out + head, "Date: %s", v);
                memcpy(out + *out_len, eol, tail);
                *out_len += tail;
                out[*out_len] = '\0';
            }
            g_free(v);
            return out;
        }
        p = eol != NULL ? eol + 2 : NULL;
    }
    return NULL;
}

static void on_approve(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *touch = NULL;
    char *msg = NULL, *dated = NULL;
    size_t len = 0, dlen = 0;
    int64_t id, now = clock_now_ms();
    if (!load(req, d, true, &id, &touch, &msg, &len))
        return;
    int64_t due = json_integer_value(json_object_get(touch, "due_at"));
    int64_t was = due, close = json_integer_value(json_object_get(touch, "not_after"));
    int64_t enr = json_integer_value(json_object_get(touch, "enrollment_id"));
    if (due <= now) {
        /* Its moment passed while it waited: the lead's next window. */
        if (enr <= 0 || sequencer_send_window(d->sequencer, enr, now, &due, &close) < 0) {
            due = now;
            close = 0;
        }
        if (due != was)
            dated = redate(msg, len, due, &dlen);
    }
    struct review_call *c = call_new(req, d, id, "scheduled");
    struct store_actor actor = actor_of(req);
    int rc = c == NULL ? -ENOMEM
           : store_review_approve(d->store, id, due, close, dated, dlen, &actor, on_done, c);
    json_decref(touch);
    free(msg);
    free(dated);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot approve: %s", error_text(rc));
    }
    c->due = due;
    api_hold(req, &c->req);
}

static void on_reject(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *touch = NULL;
    char *msg = NULL;
    size_t len = 0;
    int64_t id;
    if (!load(req, d, true, &id, &touch, &msg, &len))
        return;
    json_decref(touch);
    free(msg);
    /* store_touch_finish moves the enrollment on in the same transaction. */
    struct store_touch_outcome o = { .state = TOUCH_SKIPPED, .reason = "rejected_in_review" };
    struct review_call *c = call_new(req, d, id, "skipped");
    struct store_actor actor = actor_of(req);
    int rc = c == NULL ? -ENOMEM : store_touch_finish(d->store, id, &o, &actor, on_done, c);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot reject: %s", error_text(rc));
    }
    api_hold(req, &c->req);
}

/* text with every bare LF made CRLF (an editor may drop the CRs); malloc'd. */
static char *crlf(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(2 * len + 1), *o = out;
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r'))
            *o++ = '\r';
        *o++ = text[i];
    }
    *o = '\0';
    *out_len = (size_t)(o - out);
    return out;
}

/* Message-ID and To of a message (g_free both), false when it does not
 * parse as a MIME message with a body. */
static bool ids_of(const char *msg, size_t len, char **mid, char **to)
{
    GMimeStream *mem = g_mime_stream_mem_new_with_buffer(msg, len);
    GMimeParser *p = g_mime_parser_new_with_stream(mem);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    bool ok = m != NULL && g_mime_message_get_mime_part(m) != NULL;
    *mid = ok && g_mime_message_get_message_id(m) != NULL
         ? g_strdup(g_mime_message_get_message_id(m)) : NULL;
    *to = ok ? internet_address_list_to_string(g_mime_message_get_to(m), NULL, FALSE) : NULL;
    if (m != NULL)
        g_object_unref(m);
    g_object_unref(p);
    g_object_unref(mem);
    return ok;
}

static void on_edit(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    json_t *touch = NULL;
    char *msg = NULL, *text = NULL, *mid0 = NULL, *to0 = NULL, *mid1 = NULL, *to1 = NULL;
    size_t len = 0, blen = 0, tlen = 0;
    int64_t id;
    const json_t *body = http_request_json(req);
    const char *raw = json_is_object(body)
                      ? json_string_value(json_object_get(body, "message")) : NULL;
    if (raw != NULL)
        blen = json_string_length(json_object_get(body, "message"));
    else if (body == NULL)
        raw = http_request_body(req, &blen);
    if (raw == NULL || blen == 0)
        return http_reply_error(req, 400, "expected the edited message as the body (or JSON "
                                "{\"message\": text})");
    if (!load(req, d, true, &id, &touch, &msg, &len))
        return;
    json_decref(touch);
    if ((text = crlf(raw, blen, &tlen)) == NULL) {
        http_reply_error(req, 503, "out of memory");
        goto out;
    }
    ids_of(msg, len, &mid0, &to0);
    if (!ids_of(text, tlen, &mid1, &to1)) {
        http_reply_error(req, 400, "the edited text does not parse as a message (headers, a "
                         "blank line, the body)");
        goto out;
    }
    if (mid1 == NULL || mid0 == NULL || strcmp(mid0, mid1) != 0) {
        http_reply_error(req, 400, "the Message-ID must stay <%s>", mid0 != NULL ? mid0 : "");
        goto out;
    }
    if (to0 == NULL || to1 == NULL || strcmp(to0, to1) != 0) {
        http_reply_error(req, 400, "the To header must stay as it was");
        goto out;
    }
    struct review_call *c = call_new(req, d, id, "deferred");
    struct store_actor actor = actor_of(req);
    int rc = c == NULL ? -ENOMEM : store_review_edit(d->store, id, text, tlen, &actor, on_done, c);
    if (rc < 0) {
        free(c);
        http_reply_error(req, 500, "cannot store the edit: %s", error_text(rc));
        goto out;
    }
    api_hold(req, &c->req);
out:
    free(msg);
    free(text);
    g_free(mid0);
    g_free(mid1);
    g_free(to0);
    g_free(to1);
}

int api_review_register(struct daemon *d)
{
    int rc = http_route(d->api, "GET", "/api/preview", 0, on_preview, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/review", 0, on_list, d);
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/review/:id", 0, on_show, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/review/:id/approve", 0, on_approve, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/review/:id/reject", 0, on_reject, d);
    rc = rc < 0 ? rc : http_route(d->api, "PUT", "/api/review/:id", 0, on_edit, d);
    rc = rc < 0 ? rc : api_preview_send_register(d);
    return rc;
}
