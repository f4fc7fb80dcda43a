/* SPDX-License-Identifier: MIT */
/* daemon/cadence_steps.c: the "steps" array of a cadence file. Names come
 * first (so that a branch may jump forward), then each step is read by its
 * type, then the checks that need the whole list: a reply with no earlier
 * email, a branch on a call outcome with no earlier call, a cadence that
 * never touches anyone. Templates, call scripts, mailboxes and channels are
 * checked against the environment when it has them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_int.h"
#include "template_file.h"

/* Far more steps than a person would write; a bound for hostile files. */
#define CADENCE_STEPS_MAX 200

static const char *const step_types[] = {
    "email", "call", "task", "webhook", "wait", "branch", NULL,
};

/* The keys each type allows, "name" and "type" included. */
static const char *const *const step_keys[] = {
    (const char *const[]){ "name", "type", "template", "variants", "thread", "review", NULL },
    (const char *const[]){ "name", "type", "script", "priority", NULL },
    (const char *const[]){ "name", "type", "title", "priority", NULL },
    (const char *const[]){ "name", "type", "channel", NULL },
    (const char *const[]){ "name", "type", "business_days", "calendar_days", "hours", "until",
                           NULL },
    (const char *const[]){ "name", "type", "on", "cases", "default", "field", "equals",
                           "present", "goto", "else", NULL },
};

/* obj[key], a template of the set of the given kind, copied into *dst. */
static void read_template(struct steps_ctx *sx, const json_t *obj, const char *path,
                          const char *key, enum template_kind kind, char **dst)
{
    const struct template_set *set = sx->cx->env != NULL ? sx->cx->env->templates : NULL;
    const char *name = cadence_get_name(sx->cx, obj, path, key, true);
    const char *what = kind == TEMPLATE_KIND_CALL ? "a call script (a template with "
                       "\"Kind: call\")" : "an email template";
    char where[300], got[128];

    if (name == NULL)
        return;
    if ((*dst = strdup(name)) == NULL) {
        sx->cx->c.oom = true;
        return;
    }
    if (set == NULL)
        return;
    const struct template_file *tf = template_set_get(set, name);
    if (tf != NULL && tf->kind == kind)
        return;
    config_path_key(where, sizeof(where), path, key);
    config_describe(json_object_get(obj, key), got, sizeof(got));
    if (tf != NULL) {
        config_ctx_error(&sx->cx->c, where, "expected %s, got %s, a%s %s template", what, got,
                         tf->kind == TEMPLATE_KIND_EMAIL ? "n" : "",
                         template_kind_format(tf->kind));
        return;
    }
    const char **names = calloc(set->n + 1, sizeof(*names));
    size_t n = 0;
    if (names == NULL) {
        sx->cx->c.oom = true;
        return;
    }
    for (size_t i = 0; i < set->n; i++)
        if (set->items[i]->kind == kind)
            names[n++] = set->items[i]->name;
    char expected[200];
    snprintf(expected, sizeof(expected), "%s in %s", what, set->dir);
    cadence_name_error(sx->cx, where, expected, got, names);
    free(names);
}

static void read_priority(struct steps_ctx *sx, const json_t *obj, const char *path, int *dst)
{
    int64_t p = 3;
    config_ctx_int(&sx->cx->c, obj, path, "priority", 1, 5, &p);
    *dst = (int)p;
}

static void read_email(struct steps_ctx *sx, const json_t *obj, const char *at,
                       struct cadence_step *s, bool earlier_email)
{
    static const char *const variant_keys[] = { "template", "weight", NULL };
    const json_t *variants = json_object_get(obj, "variants"), *v;
    const json_t *thread = json_object_get(obj, "thread");
    char where[300], got[128];
    struct errbuf err = { 0 };
    size_t i;

    s->email.thread = earlier_email ? CADENCE_THREAD_REPLY : CADENCE_THREAD_NEW;
    if (config_get_bool(obj, at, "review", &s->email.review, &err) == -EINVAL)
        config_ctx_add(&sx->cx->c, &err);
    config_path_key(where, sizeof(where), at, "thread");
    if (thread != NULL) {
        config_describe(thread, got, sizeof(got));
        if (json_is_string(thread) && strcmp(json_string_value(thread), "new") == 0)
            s->email.thread = CADENCE_THREAD_NEW;
        else if (json_is_string(thread) && strcmp(json_string_value(thread), "reply") == 0)
            s->email.thread = CADENCE_THREAD_REPLY;
        else
            config_ctx_error(&sx->cx->c, where, "expected \"new\" or \"reply\", got %s", got);
        if (s->email.thread == CADENCE_THREAD_REPLY && !earlier_email)
            config_ctx_error(&sx->cx->c, where, "expected \"new\": there is no earlier email "
                             "step to reply to, got %s", got);
    }
    if ((variants != NULL) == (json_object_get(obj, "template") != NULL)) {
        config_ctx_error(&sx->cx->c, at, "expected exactly one of \"template\" and "
                         "\"variants\", got %s", variants != NULL ? "both" : "neither");
        return;
    }
    if (variants == NULL) {
        read_template(sx, obj, at, "template", TEMPLATE_KIND_EMAIL, &s->email.template);
        return;
    }
    config_path_key(where, sizeof(where), at, "variants");
    if (!json_is_array(variants) || json_array_size(variants) == 0) {
        config_describe(variants, got, sizeof(got));
        config_ctx_error(&sx->cx->c, where, "expected a non-empty array of {\"template\", "
                         "\"weight\"}, got %s", got);
        return;
    }
    s->email.variants = calloc(json_array_size(variants), sizeof(*s->email.variants));
    if (s->email.variants == NULL) {
        sx->cx->c.oom = true;
        return;
    }
    json_array_foreach(variants, i, v) {
        char vat[320];
        struct cadence_variant *var = &s->email.variants[s->email.n_variants++];
        config_path_index(vat, sizeof(vat), where, i);
        var->weight = 1;
        if (!json_is_object(v)) {
            config_describe(v, got, sizeof(got));
            config_ctx_error(&sx->cx->c, vat, "expected an object {\"template\", \"weight\"}, "
                             "got %s", got);
            continue;
        }
        config_ctx_keys(&sx->cx->c, v, vat, variant_keys);
        read_template(sx, v, vat, "template", TEMPLATE_KIND_EMAIL, &var->template);
        config_ctx_int(&sx->cx->c, v, vat, "weight", 1, 1000000, &var->weight);
    }
}

static void read_task(struct steps_ctx *sx, const json_t *obj, const char *at,
                      struct cadence_step *s)
{
    const char *title = cadence_get_name(sx->cx, obj, at, "title", true);

    if (title != NULL && (s->task.title = strdup(title)) == NULL)
        sx->cx->c.oom = true;
    read_priority(sx, obj, at, &s->task.priority);
}

static void read_webhook(struct steps_ctx *sx, const json_t *obj, const char *at,
                         struct cadence_step *s)
{
    const struct config *cfg = sx->cx->env != NULL ? sx->cx->env->cfg : NULL;
    const char *name = cadence_get_name(sx->cx, obj, at, "channel", true);
    char where[300], got[128];

    if (name == NULL)
        return;
    if ((s->webhook.channel = strdup(name)) == NULL)
        sx->cx->c.oom = true;
    if (cfg == NULL || config_channel_get(cfg, name) != NULL)
        return;
    const char **names = calloc(cfg->n_channels + 1, sizeof(*names));
    if (names == NULL) {
        sx->cx->c.oom = true;
        return;
    }
    for (size_t i = 0; i < cfg->n_channels; i++)
        names[i] = cfg->channels[i].name;
    config_path_key(where, sizeof(where), at, "channel");
    config_describe(json_object_get(obj, "channel"), got, sizeof(got));
    cadence_name_error(sx->cx, where, "the name of a channel in the config", got, names);
    free(names);
}

static void read_wait(struct steps_ctx *sx, const json_t *obj, const char *at,
                      struct cadence_step *s)
{
    static const char *const kinds[] = { "business_days", "calendar_days", "hours", "until" };
    static const int64_t max[] = { 365, 365, 24 * 365 };
    char where[300], got[128];
    int found = 0;

    for (int k = 0; k < 4; k++)
        if (json_object_get(obj, kinds[k]) != NULL && found++ == 0)
            s->wait.kind = (enum cadence_wait_kind)k;
    if (found != 1) {
        config_ctx_error(&sx->cx->c, at, "expected exactly one of \"business_days\", "
                         "\"calendar_days\", \"hours\", \"until\", got %d", found);
        return;
    }
    if (s->wait.kind != CADENCE_WAIT_UNTIL) {
        config_ctx_int(&sx->cx->c, obj, at, kinds[s->wait.kind], 1, max[s->wait.kind],
                       &s->wait.n);
        return;
    }
    const json_t *v = json_object_get(obj, "until");
    char day[8];
    int h, m, n = 0;
    config_path_key(where, sizeof(where), at, "until");
    config_describe(v, got, sizeof(got));
    if (json_is_string(v) &&
        sscanf(json_string_value(v), "%3s %2d:%2d%n", day, &h, &m, &n) == 3 &&
        json_string_value(v)[n] == '\0' && n == 9 && h >= 0 && h < 24 && m >= 0 && m < 60 &&
        (s->wait.weekday = cadence_weekday_parse(day)) >= 0) {
        s->wait.minute = h * 60 + m;
        return;
    }
    config_ctx_error(&sx->cx->c, where, "expected a weekday and a time such as \"tue 09:30\", "
                     "got %s", got);
}

/* Pass 1: every step's name ("step-N" by default), unique. */
static void read_names(struct steps_ctx *sx, const json_t *steps)
{
    struct cadence_def *d = sx->cx->def;
    char where[64], got[128];

    for (size_t i = 0; i < d->n_steps; i++) {
        const json_t *obj = json_array_get(steps, i), *name = json_object_get(obj, "name");
        config_path_index(where, sizeof(where), "steps", i);
        if (json_is_object(obj) && name != NULL) {
            const char *s = cadence_get_name(sx->cx, obj, where, "name", false);
            char at[80];
            config_path_key(at, sizeof(at), where, "name");
            config_describe(name, got, sizeof(got));
            if (s != NULL && (strcmp(s, "next") == 0 || strcmp(s, "end") == 0))
                config_ctx_error(&sx->cx->c, at, "expected a step name other than \"next\" "
                                 "and \"end\" (they are jump targets), got %s", got);
            else if (s != NULL && cadence_step_find(d, s) >= 0)
                config_ctx_error(&sx->cx->c, at, "expected a unique step name, got %s, "
                                 "already used by steps[%d]", got, cadence_step_find(d, s));
            else if (s != NULL)
                d->steps[i].name = strdup(s);
        }
        if (d->steps[i].name == NULL) {
            char dflt[32];
            snprintf(dflt, sizeof(dflt), "step-%zu", i + 1);
            d->steps[i].name = strdup(dflt);
        }
        if (d->steps[i].name == NULL)
            sx->cx->c.oom = true;
        sx->names[i] = d->steps[i].name;
    }
    sx->names[d->n_steps] = "next";
    sx->names[d->n_steps + 1] = "end";
}

static void read_step(struct steps_ctx *sx, const json_t *obj, size_t i, bool *email,
                      bool *call, bool *touch)
{
    struct cadence_step *s = &sx->cx->def->steps[i];
    char at[64], where[80], got[128];
    int t = -1;

    config_path_index(at, sizeof(at), "steps", i);
    if (!json_is_object(obj)) {
        config_describe(obj, got, sizeof(got));
        config_ctx_error(&sx->cx->c, at, "expected a step object, got %s", got);
        return;
    }
    const json_t *type = json_object_get(obj, "type");
    for (int k = 0; json_is_string(type) && step_types[k] != NULL; k++)
        if (strcmp(json_string_value(type), step_types[k]) == 0)
            t = k;
    if (t < 0) {
        config_path_key(where, sizeof(where), at, "type");
        if (type == NULL) {
            config_ctx_error(&sx->cx->c, at, "missing required key \"type\"");
            return;
        }
        config_describe(type, got, sizeof(got));
        cadence_name_error(sx->cx, where, "a step type (email, call, task, webhook, wait, "
                           "branch)", got, json_is_string(type) ? step_types : NULL);
        return;
    }
    s->type = (enum cadence_step_type)t;
    config_ctx_keys(&sx->cx->c, obj, at, step_keys[t]);
    switch (s->type) {
    case CADENCE_STEP_EMAIL:
        read_email(sx, obj, at, s, *email);
        *email = *touch = true;
        break;
    case CADENCE_STEP_CALL:
        read_template(sx, obj, at, "script", TEMPLATE_KIND_CALL, &s->call.script);
        read_priority(sx, obj, at, &s->call.priority);
        *call = *touch = true;
        break;
    case CADENCE_STEP_TASK:
        read_task(sx, obj, at, s);
        *touch = true;
        break;
    case CADENCE_STEP_WEBHOOK:
        read_webhook(sx, obj, at, s);
        break;
    case CADENCE_STEP_WAIT:
        read_wait(sx, obj, at, s);
        break;
    case CADENCE_STEP_BRANCH:
        cadence_read_branch(sx, obj, at, i, s, *call);
        break;
    }
}

void cadence_load_steps(struct cadence_ctx *cx, const json_t *root)
{
    struct cadence_def *d = cx->def;
    const json_t *steps = json_object_get(root, "steps");
    struct steps_ctx sx = { .cx = cx };
    bool email = false, call = false, touch = false;
    char got[128];

    if (steps == NULL) {
        config_ctx_error(&cx->c, "", "missing required key \"steps\"");
        return;
    }
    if (!json_is_array(steps) || json_array_size(steps) == 0 ||
        json_array_size(steps) > CADENCE_STEPS_MAX) {
        config_describe(steps, got, sizeof(got));
        config_ctx_error(&cx->c, "steps", "expected an array of 1 to %d steps, got %s%s",
                         CADENCE_STEPS_MAX, got, json_is_array(steps) ? " of another size" : "");
        return;
    }
    size_t n = json_array_size(steps);
    d->steps = calloc(n, sizeof(*d->steps));
    sx.names = calloc(n + 3, sizeof(*sx.names));
    if (d->steps == NULL || sx.names == NULL) {
        cx->c.oom = true;
        goto out;
    }
    d->n_steps = n;
    read_names(&sx, steps);
    for (size_t i = 0; i < n; i++)
        read_step(&sx, json_array_get(steps, i), i, &email, &call, &touch);
    if (!touch)
        config_ctx_error(&cx->c, "steps", "expected at least one email, call or task step, "
                         "got none");
    if (email && d->mailboxes != NULL && d->n_mailboxes == 0 &&
        json_object_get(root, "mailboxes") == NULL)
        config_ctx_error(&cx->c, "", "missing required key \"mailboxes\" (the cadence has "
                         "email steps)");
    else if (email && d->mailboxes != NULL && d->n_mailboxes == 0 &&
             json_array_size(json_object_get(root, "mailboxes")) == 0 &&
             json_is_array(json_object_get(root, "mailboxes")))
        config_ctx_error(&cx->c, "mailboxes", "expected at least one mailbox for the email "
                         "steps, got none");
out:
    free(sx.names);
}

void cadence_steps_free(struct cadence_def *d)
{
    for (size_t i = 0; i < d->n_steps; i++) {
        struct cadence_step *s = &d->steps[i];
        free(s->name);
        free(s->email.template);
        for (size_t v = 0; v < s->email.n_variants; v++)
            free(s->email.variants[v].template);
        free(s->email.variants);
        free(s->call.script);
        free(s->task.title);
        free(s->webhook.channel);
        free(s->branch.field);
        free(s->branch.equals);
    }
    free(d->steps);
}
