/* SPDX-License-Identifier: MIT */
/* daemon/sequencer_preview.c: what a cadence's email step would send to a
 * lead, through the sequencer's own rendering (seq_render_email), and a
 * lead's next send window for the review queue's approvals. Both only read:
 * a preview sends nothing and changes nothing in the store.
 *
 * A preview of a lead enrolled in the cadence uses its enrollment (pinned
 * version, mailbox, Message-ID, thread) and the time its next step falls
 * due, so it shows the very bytes the step will send; without one, the
 * cadence's current version, its first mailbox and a preview Message-ID.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "sequencer_int.h"

/* The lead's newest active enrollment in cadence (a new reference), or NULL. */
static json_t *active_enrollment(struct sequencer *s, const char *cadence, int64_t lead_id)
{
    json_t *list = NULL, *e = NULL, *row;
    int64_t id = 0;
    size_t i;
    if (store_enrollments_list(s->d->store, cadence, lead_id, &list) < 0)
        return NULL;
    json_array_foreach(list, i, row)
        if (strcmp(json_string_value(json_object_get(row, "state")) ?: "", "active") == 0)
            id = json_integer_value(json_object_get(row, "id"));
    json_decref(list);
    if (id > 0 && store_enrollment_get(s->d->store, id, &e) < 0)
        e = NULL;
    return e;
}

static json_t *step_json(const struct cadence_step *st, size_t i)
{
    json_t *o = json_pack("{s:i, s:s, s:s}", "number", (int)i + 1, "name", st->name, "type",
                          cadence_step_type_format(st->type));
    if (o == NULL || st->type != CADENCE_STEP_EMAIL)
        return o;
    if (st->email.template != NULL) {
        json_object_set_new(o, "template", json_string(st->email.template));
    } else {
        json_t *vs = json_array();
        for (size_t k = 0; k < st->email.n_variants; k++)
            json_array_append_new(vs, json_string(st->email.variants[k].template));
        json_object_set_new(o, "variants", vs);
    }
    json_object_set_new(o, "review", json_boolean(st->email.review));
    json_object_set_new(o, "thread", json_string(st->email.thread == CADENCE_THREAD_REPLY
                                                 ? "reply" : "new"));
    return o;
}

int sequencer_preview(struct sequencer *s, const char *cadence, int64_t lead_id, int step,
                      json_t **out, struct errbuf *err)
{
    json_t *lead = NULL, *e = NULL;
    char *msg = NULL;
    size_t len = 0;
    int64_t vid = 0, now = clock_now_ms();
    const struct cadence_def *def = NULL;
    int rc;

    if (store_lead_get(s->d->store, lead_id, &lead) < 0)
        return errbuf_set(err, -ENOENT, "no lead %lld", (long long)lead_id);
    e = active_enrollment(s, cadence, lead_id);
    if (e != NULL) {
        vid = json_integer_value(json_object_get(e, "cadence_id"));
    } else if ((rc = sequencer_current_version(s, cadence, &vid, &def)) < 0) {
        errbuf_set(err, rc, rc == -ENOENT ? "no cadence named \"%s\""
                   : "the version of cadence \"%s\" is being recorded; retry", cadence);
        goto out;
    }
    struct seq_version *v = seq_version_get(s, vid);
    if (v == NULL) {
        rc = errbuf_set(err, -EIO, "cannot load version %lld of cadence \"%s\"",
                        (long long)vid, cadence);
        goto out;
    }
    size_t i = 0;
    if (step > 0) {
        i = (size_t)step - 1;
    } else {
        while (i < v->def->n_steps && v->def->steps[i].type != CADENCE_STEP_EMAIL)
            i++;
    }
    if (i >= v->def->n_steps) {
        if (step > 0)
            rc = errbuf_set(err, -ERANGE, "step %d: cadence \"%s\" has %zu steps", step,
                            cadence, v->def->n_steps);
        else
            rc = errbuf_set(err, -ERANGE, "cadence \"%s\" has no email step", cadence);
        goto out;
    }
    const struct cadence_step *st = &v->def->steps[i];
    if (st->type != CADENCE_STEP_EMAIL) {
        rc = errbuf_set(err, -EINVAL, "step %zu (%s) is a %s step, not an email step", i + 1,
                        st->name, cadence_step_type_format(st->type));
        goto out;
    }
    /* The enrollment's next step runs when it falls due: the window (and
     * so the Date) is counted from then, as the sequencer will. */
    if (e != NULL && (size_t)json_integer_value(json_object_get(e, "step")) <= i &&
        json_integer_value(json_object_get(e, "due_at")) > now)
        now = json_integer_value(json_object_get(e, "due_at"));
    struct errbuf rerr = { 0 };
    rc = seq_render_email(s, v, i, e, lead, now, &msg, &len, &rerr);
    if (rc < 0 && rc != -ECANCELED) {
        memcpy(err, &rerr, sizeof(*err));
        goto out;
    }
    json_t *text = msg != NULL ? json_stringn(msg, len) : json_null();
    if (text == NULL) {
        rc = errbuf_set(err, -EILSEQ, "the message is not UTF-8 text");
        goto out;
    }
    *out = json_pack("{s:o, s:o, s:o, s:I, s:O, s:s?}", "message", text, "step",
                     step_json(st, i), "skipped", rc == -ECANCELED ? json_string(rerr.what)
                                                                  : json_null(),
                     "lead_id", (json_int_t)lead_id,
                     "enrollment_id", e != NULL ? json_object_get(e, "id") : json_null(),
                     "mailbox", e != NULL ? json_string_value(json_object_get(e, "mailbox"))
                     : v->def->n_mailboxes > 0 ? v->def->mailboxes[0] : NULL);
    rc = *out != NULL ? 0 : -ENOMEM;
out:
    free(msg);
    json_decref(e);
    json_decref(lead);
    return rc;
}

int sequencer_send_window(struct sequencer *s, int64_t enrollment_id, int64_t from,
                          int64_t *open, int64_t *close)
{
    json_t *e = NULL, *lead = NULL;
    struct window_rules r;
    struct errbuf err = { 0 };
    int rc = store_enrollment_get(s->d->store, enrollment_id, &e);
    if (rc < 0)
        return rc;
    struct seq_version *v = seq_version_get(s, json_integer_value(json_object_get(e,
                                                                                  "cadence_id")));
    rc = v == NULL ? -ENOENT
       : store_lead_get(s->d->store, json_integer_value(json_object_get(e, "lead_id")), &lead);
    if (rc == 0 && (rc = seq_rules_for_lead(v, lead, &r, &err)) == 0) {
        rc = window_next_open(&r, false, from, open, close, NULL);
        window_rules_clear(&r);
    }
    json_decref(lead);
    json_decref(e);
    return rc;
}
