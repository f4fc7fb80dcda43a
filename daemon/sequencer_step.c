/* SPDX-License-Identifier: MIT */
/* daemon/sequencer_step.c: what an enrollment's current step does now
 * (sequencer.h). Waits and branches are worked through in memory until a
 * step that acts (an email, call, task or webhook) or the end, so one store
 * write records the whole move. Waits count from step_started_at, the
 * previous step's real completion; a wait already over is passed through.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "clock.h"
#include "email_addr.h"
#include "render_message.h"
#include "sequencer_int.h"
#include "template_file.h"

#define MAX_HOPS 64

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static bool field_holds(const struct cadence_step *st, const json_t *lead)
{
    const json_t *v;
    const char *f = st->branch.field;
    if (strncmp(f, "attrs.", 6) == 0)
        v = json_object_get(json_object_get(lead, "attrs"), f + 6);
    else
        v = json_object_get(lead, f);
    bool present = v != NULL && !json_is_null(v) &&
                   !(json_is_string(v) && json_string_length(v) == 0);
    if (st->branch.equals == NULL)
        return present == st->branch.present;
    if (!present)
        return false;
    char text[256];
    if (json_is_string(v))
        snprintf(text, sizeof(text), "%s", json_string_value(v));
    else {
        char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        snprintf(text, sizeof(text), "%s", t != NULL ? t : "");
        free(t);
    }
    return strcasecmp(text, st->branch.equals) == 0;
}

/* The next step index after a branch at i, or n for the end. */
static size_t branch_target(const struct cadence_def *d, size_t i, const json_t *e,
                            const json_t *lead)
{
    const struct cadence_step *st = &d->steps[i];
    int t;
    if (st->branch.kind == CADENCE_BRANCH_CALL_OUTCOME) {
        enum cadence_call_outcome o;
        const char *last = jstr(e, "last_outcome");
        t = last != NULL && cadence_call_outcome_parse(last, &o) == 0 ? st->branch.cases[o]
                                                                      : st->branch.default_;
    } else {
        t = field_holds(st, lead) ? st->branch.goto_ : st->branch.else_;
    }
    return t == CADENCE_TARGET_NEXT ? i + 1 : t == CADENCE_TARGET_END ? d->n_steps : (size_t)t;
}

static int wait_end(const struct cadence_step *st, const struct window_rules *r, int64_t from,
                    int64_t *out)
{
    switch (st->wait.kind) {
    case CADENCE_WAIT_BUSINESS_DAYS:
        return window_add_business_days(r, from, (int)st->wait.n, out);
    case CADENCE_WAIT_CALENDAR_DAYS:
        return window_add_calendar_days(r, from, (int)st->wait.n, out);
    case CADENCE_WAIT_HOURS:
        return window_add_hours(from, st->wait.n, out);
    case CADENCE_WAIT_UNTIL:
        return window_until_weekday(r, from, st->wait.weekday, st->wait.minute / 60,
                                    st->wait.minute % 60, out);
    }
    return -EINVAL;
}

/* "<store>.e<enrollment>.s<step>@<domain of the sender>": stable for a
 * step, so a reply to any of them finds the enrollment, and unique across
 * stores because the store id is random. */
static void message_id(const struct sequencer *s, int64_t enrollment, int step,
                       const char *from, char *buf, size_t len)
{
    const char *at = from != NULL ? strrchr(from, '@') : NULL;
    snprintf(buf, len, "%s.e%lld.s%d@%s", s->store_id, (long long)enrollment, step,
             at != NULL ? at + 1 : "drumbeat.invalid");
}

/* The thread object of the previous sent email of the enrollment, or NULL. */
static json_t *thread_of(struct sequencer *s, const json_t *e, const char *from)
{
    json_int_t touch = json_integer_value(json_object_get(e, "last_email_touch"));
    char *payload = NULL, *subject = NULL, id[300];
    int step = 0;
    if (touch <= 0 || store_touch_payload(s->d->store, touch, &payload, &step) < 0)
        return NULL;
    message_id(s, json_integer_value(json_object_get(e, "id")), step, from, id, sizeof(id));
    /* The subject as it went out: the stored message's header, unfolded and decoded. */
    for (const char *p = payload; p != NULL && *p != '\0';) {
        if (p[0] == '\r' && p[1] == '\n')
            break;               /* the end of the header */
        if (strncasecmp(p, "Subject:", 8) == 0) {
            const char *end = strstr(p, "\r\n");
            while (end != NULL && (end[2] == ' ' || end[2] == '\t'))
                end = strstr(end + 2, "\r\n");
            size_t n = end != NULL ? (size_t)(end - p - 8) : strlen(p + 8);
            char *raw = strndup(p + 8, n);
            for (char *c = raw; c != NULL && *c != '\0'; c++)
                if (*c == '\r' || *c == '\n')
                    *c = ' ';
            if (raw != NULL)
                subject = g_mime_utils_header_decode_text(NULL, raw);
            free(raw);
            break;
        }
        p = strstr(p, "\r\n");
        p = p != NULL ? p + 2 : NULL;
    }
    free(payload);
    json_t *th = json_pack("{s:s, s:[s], s:s?}", "message_id", id, "references", id, "subject",
                           subject != NULL ? g_strstrip(subject) : NULL);
    g_free(subject);
    return th;
}

static bool status_allowed(const struct cadence_def *d, const char *status)
{
    enum email_status es;
    if (status == NULL || email_status_parse(status, &es) < 0)
        es = EMAIL_STATUS_UNKNOWN;
    return (d->allowed_email_status & (1u << es)) != 0;
}

static void skip_touch(struct store_step_write *w, struct store_touch_in *touch, const char *kind,
                       const char *reason, int next, int64_t now)
{
    touch->kind = kind;
    touch->due_at = now;
    w->touch = touch;
    w->touch_state = "skipped";
    w->touch_reason = reason;
    w->next_step = next;
    w->next_due = now;
    w->next_started = now;
}

/* The mailbox an email step sends from: the enrollment's (kept for the
 * whole cadence so replies thread), or for a preview without an enrollment
 * the cadence's first. */
static const struct config_mailbox *email_mailbox(const struct sequencer *s,
                                                  const struct seq_version *v, const json_t *e)
{
    if (e != NULL)
        return config_mailbox_get(s->d->cfg, jstr(e, "mailbox"));
    return v->def->n_mailboxes > 0 ? config_mailbox_get(s->d->cfg, v->def->mailboxes[0]) : NULL;
}

/* When the rendered message can go: the window's next opening (its Date),
 * when that stretch closes, and why it is shut now. */
struct email_when {
    int64_t open, close;
    enum window_reason why;
};

/* Renders email step i for the lead (seq_render_email, decide_email): 0
 * with *payload (malloc'd) and *len; -ECANCELED when the step is skipped,
 * err->what then being the reason code ("address_guessed", "missing
 * first_name"); another negative errno when nothing could be decided. */
static int render_email(struct sequencer *s, struct seq_version *v, size_t i, const json_t *e,
                        const json_t *lead, const struct window_rules *r, int64_t now,
                        char **payload, size_t *len, struct email_when *o, struct errbuf *err)
{
    const struct cadence_step *st = &v->def->steps[i];
    const struct config *cfg = s->d->cfg;
    const char *email = jstr(lead, "email"), *status = jstr(lead, "email_status");
    const struct config_mailbox *mb = email_mailbox(s, v, e);

    *payload = NULL;
    *len = 0;
    if (email == NULL)
        return errbuf_set(err, -ECANCELED, "no_email");
    /* Suppressed since it was enrolled (drumbeat suppress, a bounce elsewhere). */
    static const char *const flags[] = { "suppressed", "unsubscribed", "bounced" };
    for (size_t k = 0; k < 3; k++)
        if (json_integer_value(json_object_get(lead, flags[k])) != 0)
            return errbuf_set(err, -ECANCELED, "%s", flags[k]);
    if (!status_allowed(v->def, status))
        return errbuf_set(err, -ECANCELED, "address_%.100s", status != NULL ? status : "unknown");
    if (mb == NULL)
        return errbuf_set(err, -ECANCELED, "mailbox_not_configured");
    int variant = cadence_variant_pick(st, json_integer_value(json_object_get(lead, "id")));
    const char *tname = st->email.template != NULL ? st->email.template
                                                   : st->email.variants[variant].template;
    const struct template_file *tf = template_set_get(s->d->templates, tname);
    if (tf == NULL)
        return errbuf_set(err, -ECANCELED, "template_missing");

    o->open = now;
    o->close = 0;
    o->why = WINDOW_OK;
    if (window_next_open(r, false, now, &o->open, &o->close, &o->why) < 0)
        return errbuf_set(err, -ECANCELED, "window_never_open");

    /* Without an enrollment render_message() makes a preview Message-ID. */
    char mid[300];
    if (e != NULL)
        message_id(s, json_integer_value(json_object_get(e, "id")), (int)i, mb->address, mid,
                   sizeof(mid));
    json_t *thread = e != NULL && st->email.thread == CADENCE_THREAD_REPLY
                     ? thread_of(s, e, mb->address) : NULL;
    json_t *step = json_pack("{s:i, s:s, s:s*, s:I, s:b, s:s}", "number", (int)i + 1, "name",
                             st->name, "message_id", e != NULL ? mid : NULL,
                             "date", (json_int_t)o->open, "reply_subject", thread != NULL,
                             "variant", tname);
    if (thread != NULL)
        json_object_set_new(step, "thread", thread);
    json_t *cad = json_pack("{s:s, s:I}", "name", v->def->name, "version",
                            (json_int_t)v->version);
    json_t *data = render_data_new(cfg, mb, lead, cad, step);
    json_decref(cad);
    json_decref(step);
    if (data == NULL)
        return -ENOMEM;

    struct render_message_in in = { .tf = tf, .data = data, .unsub_secret = cfg->unsub_secret,
                                    .unsub_secret_len = cfg->unsub_secret_len,
                                    .now_ms = o->open };
    struct render_result res = { 0 };
    int rc = render_message(&in, &res, payload, len, err);
    render_result_clear(&res);
    json_decref(data);
    if (rc == -ENODATA || rc == -EINVAL) {
        /* The template refused the lead's data: skipped, with the reason. */
        char why[160];
        snprintf(why, sizeof(why), "%.150s", err->what[0] ? err->what : "template_refused");
        free(*payload);
        *payload = NULL;
        memset(err, 0, sizeof(*err));
        return errbuf_set(err, -ECANCELED, "%s", why);
    }
    return rc;
}

int seq_render_email(struct sequencer *s, struct seq_version *v, size_t step, const json_t *e,
                     const json_t *lead, int64_t now, char **payload, size_t *len,
                     struct errbuf *err)
{
    struct window_rules r;
    struct email_when o;
    *payload = NULL;
    *len = 0;
    if (step >= v->def->n_steps || v->def->steps[step].type != CADENCE_STEP_EMAIL)
        return errbuf_set(err, -EINVAL, "step %zu is not an email step", step + 1);
    int rc = seq_rules_for_lead(v, lead, &r, err);
    if (rc < 0)
        return rc;
    rc = render_email(s, v, step, e, lead, &r, now, payload, len, &o, err);
    window_rules_clear(&r);
    return rc;
}

static int decide_email(struct sequencer *s, struct seq_version *v, size_t i, const json_t *e,
                        const json_t *lead, const struct window_rules *r, int64_t now,
                        struct store_step_write *w, struct store_touch_in *touch, char **payload)
{
    const struct cadence_step *st = &v->def->steps[i];
    const struct config_mailbox *mb = config_mailbox_get(s->d->cfg, jstr(e, "mailbox"));
    static char reason[160];
    struct email_when o;
    struct errbuf err = { 0 };
    size_t len = 0;

    touch->recipient = jstr(lead, "email");
    touch->mailbox = jstr(e, "mailbox");
    touch->channel = mb != NULL ? mb->channel : NULL;
    int rc = render_email(s, v, i, e, lead, r, now, payload, &len, &o, &err);
    if (rc == -ECANCELED) {
        snprintf(reason, sizeof(reason), "%.150s", err.what);
        return skip_touch(w, touch, "email", reason, (int)i + 1, now), 0;
    }
    if (rc < 0)
        return rc;
    touch->kind = "email";
    touch->content_type = "message/rfc822";
    touch->payload = *payload;
    touch->payload_len = len;
    touch->due_at = o.open;
    w->touch = touch;
    w->touch_state = o.open > now ? "deferred" : "scheduled";
    w->touch_reason = o.open > now ? window_reason_name(o.why) : NULL;
    if (st->email.review) {
        /* It waits for a person; the deferred sweep never releases it. */
        w->touch_state = "deferred";
        w->touch_reason = "awaiting_review";
    }
    w->not_after = o.close;
    w->next_step = (int)i;       /* waits for the touch's outcome */
    w->next_due = 0;
    return 0;
}

static int decide_call(struct sequencer *s, struct seq_version *v, size_t i, const json_t *e,
                       const json_t *lead, const struct window_rules *r, int64_t now,
                       struct store_step_write *w, json_t **hold)
{
    const struct cadence_step *st = &v->def->steps[i];
    int64_t open = now, close = 0, deadline = 0;
    bool same_step = (size_t)json_integer_value(json_object_get(e, "step")) == i;

    if (same_step && json_is_integer(json_object_get(e, "open_task"))) {
        /* Woken at the deadline with the task still open: call_overdue. */
        w->close_open_task = true;
        w->next_step = (int)i + 1;
        w->next_due = now;
        w->next_started = now;
        w->event = "step_skipped";
        w->event_data = "{\"reason\":\"call_overdue\"}";
        return 0;
    }
    if (window_next_open(r, true, now, &open, &close, NULL) < 0)
        open = now;
    if (window_add_business_days(r, open, (int)v->def->call_overdue_days, &deadline) < 0)
        deadline = open + v->def->call_overdue_days * 86400000LL;
    w->task_kind = "call";
    w->task_owner = jstr(json_object_get(lead, "owners"), "prospector");
    w->task_priority = st->call.priority;
    w->task_due = open;
    w->task_title = st->name;
    if (st->call.script != NULL) {
        const struct template_file *tf = template_set_get(s->d->templates, st->call.script);
        const struct config_mailbox *mb = config_mailbox_get(s->d->cfg, jstr(e, "mailbox"));
        json_t *mbj = mb != NULL ? render_mailbox_json(mb) : NULL;
        json_t *owner = render_owner_json(s->d->cfg, lead);
        json_t *conf = render_config_json(s->d->cfg), *ctx = NULL;
        struct render_touch rt = { .lead = lead, .mailbox = mbj, .owner = owner,
                                   .config = conf };
        struct render_result res = { 0 };
        struct errbuf err = { 0 };
        /* A script that refuses (missing data) still makes the task: the
         * prospector calls without it, and sees why. */
        if (tf != NULL && render_context_build(&rt, &ctx) == 0) {
            int rrc = render_template_file(tf, ctx, now, &res, &err);
            json_array_append_new(*hold, json_string(rrc == 0 && res.text != NULL ? res.text
                                  : err.what[0] ? err.what : "the call script did not render"));
            w->task_script = json_string_value(json_array_get(*hold,
                                                              json_array_size(*hold) - 1));
        }
        render_result_clear(&res);
        json_decref(ctx);
        json_decref(mbj);
        json_decref(owner);
        json_decref(conf);
    }
    w->next_step = (int)i;       /* waits for the outcome, or the deadline */
    w->next_due = deadline;
    return 0;
}

/* The move that waits out step i (wait_end > now), as seq_step_decide
 * records it. */
static void wait_move(struct store_step_write *w, size_t i, int64_t end)
{
    w->next_step = (int)i + 1;
    w->next_due = end;
    w->next_started = end;
}

static void step_write_init(struct store_step_write *w, const json_t *e, size_t i)
{
    memset(w, 0, sizeof(*w));
    w->enrollment_id = json_integer_value(json_object_get(e, "id"));
    w->lead_id = json_integer_value(json_object_get(e, "lead_id"));
    w->at_step = (int)i;
}

bool seq_at_wait(const struct seq_version *v, const json_t *e)
{
    size_t i = (size_t)json_integer_value(json_object_get(e, "step"));
    return i < v->def->n_steps && v->def->steps[i].type == CADENCE_STEP_WAIT;
}

int seq_wait_pending(struct seq_version *v, const json_t *e, const json_t *lead, int64_t now,
                     struct store_step_write *w)
{
    const struct cadence_def *d = v->def;
    size_t i = (size_t)json_integer_value(json_object_get(e, "step"));
    if (!seq_at_wait(v, e))
        return 0;
    struct window_rules r;
    struct errbuf err = { 0 };
    int rc = seq_rules_for_lead(v, lead, &r, &err);
    if (rc < 0)
        return 0;              /* the whole decision logs why */
    int64_t end = 0;
    rc = wait_end(&d->steps[i], &r, json_integer_value(json_object_get(e, "step_started_at")),
                  &end);
    window_rules_clear(&r);
    if (rc < 0 || end <= now)
        return rc < 0 ? rc : 0;
    step_write_init(w, e, i);
    wait_move(w, i, end);
    return 1;
}

int seq_step_decide(struct sequencer *s, struct seq_version *v, const json_t *e,
                    const json_t *lead, int64_t now, struct store_step_write *w,
                    struct store_touch_in *touch, json_t **hold, char **payload)
{
    const struct cadence_def *d = v->def;
    struct window_rules r;
    struct errbuf err = { 0 };
    size_t i = (size_t)json_integer_value(json_object_get(e, "step"));
    int64_t started = json_integer_value(json_object_get(e, "step_started_at"));
    int rc;

    step_write_init(w, e, i);
    memset(touch, 0, sizeof(*touch));
    *hold = json_array();
    touch->lead_id = w->lead_id;
    touch->enrollment_id = w->enrollment_id;
    if ((rc = seq_rules_for_lead(v, lead, &r, &err)) < 0) {
        log_warn("msg=\"no time rules for a lead\" lead=%lld cadence=%s error=\"%s\"",
                 (long long)w->lead_id, d->name, err.what);
        return rc;
    }
    for (int hops = 0; hops < MAX_HOPS; hops++) {
        if (i >= d->n_steps) {
            w->finish = true;
            w->next_step = (int)d->n_steps;
            w->event = "cadence_completed";
            break;
        }
        const struct cadence_step *st = &d->steps[i];
        touch->step = (int)i;
        if (st->type == CADENCE_STEP_WAIT) {
            int64_t end = 0;
            if ((rc = wait_end(st, &r, started, &end)) < 0)
                break;
            if (end > now) {
                wait_move(w, i, end);
                break;
            }
            started = end;
            i++;
        } else if (st->type == CADENCE_STEP_BRANCH) {
            i = branch_target(d, i, e, lead);
        } else if (st->type == CADENCE_STEP_EMAIL) {
            rc = decide_email(s, v, i, e, lead, &r, now, w, touch, payload);
            break;
        } else if (st->type == CADENCE_STEP_CALL) {
            rc = decide_call(s, v, i, e, lead, &r, now, w, hold);
            break;
        } else if (st->type == CADENCE_STEP_TASK) {
            w->task_kind = "task";
            w->task_owner = jstr(json_object_get(lead, "owners"), "prospector");
            w->task_priority = st->task.priority;
            w->task_title = st->task.title;
            w->task_due = now;
            w->next_step = (int)i + 1;
            w->next_due = now;
            w->next_started = now;
            break;
        } else {                 /* webhook: the touch goes to the step's channel */
            json_t *doc = json_pack("{s:O, s:{s:s, s:I}, s:{s:i, s:s}}", "lead", lead,
                                    "cadence", "name", d->name, "version",
                                    (json_int_t)v->version, "step", "number", (int)i + 1,
                                    "name", st->name);
            *payload = doc != NULL ? json_dumps(doc, JSON_COMPACT) : NULL;
            json_decref(doc);
            if (*payload == NULL) {
                rc = -ENOMEM;
                break;
            }
            touch->kind = "webhook";
            touch->channel = st->webhook.channel;
            touch->content_type = "application/json";
            touch->payload = *payload;
            touch->payload_len = strlen(*payload);
            touch->due_at = now;
            w->touch = touch;
            w->next_step = (int)i;
            w->next_due = 0;
            break;
        }
    }
    window_rules_clear(&r);
    return rc;
}
