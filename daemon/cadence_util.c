/* SPDX-License-Identifier: MIT */
/* daemon/cadence_util.c: the small pieces the cadence loader's files share:
 * hours texts (through window_parse_hours(), daemon/window.h) and weekday
 * names, errors with a "did you mean" hint for names, the names of enums,
 * and the A/B variant pick that must give a lead the same variant on every
 * run. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cadence_int.h"

const char *const cadence_weekdays[8] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL };

static const char *const outcome_names[] = {
    "connected", "no-answer", "voicemail", "meeting-booked", "not-interested",
    "wrong-person", "bad-number",
};

int cadence_weekday_parse(const char *text)
{
    for (int i = 0; i < 7; i++)
        if (strcasecmp(text, cadence_weekdays[i]) == 0)
            return i + 1;
    return -1;
}

int cadence_hours_parse(const char *text, struct window_hours *out, char *why, size_t len)
{
    struct errbuf err = { 0 };
    struct window_hours h = *out;

    /* window.c's parser, so that the scheduler and the loader agree on
     * every text; it leaves out untouched on error. */
    if (window_parse_hours(text, &h, &err) != 0) {
        snprintf(why, len, "%s", err.what);
        return -EINVAL;
    }
    *out = h;
    return 0;
}

void cadence_name_error(struct cadence_ctx *cx, const char *where, const char *what,
                        const char *got, const char *const *names)
{
    const char *hint = NULL;
    char key[128];

    /* got is the quoted form; the hint compares the bare text. */
    size_t len = strlen(got);
    if (names != NULL && len >= 2 && got[0] == '"' && got[len - 1] == '"' && len - 2 < sizeof(key)) {
        snprintf(key, sizeof(key), "%.*s", (int)(len - 2), got + 1);
        hint = config_suggest(key, names);
    }
    if (hint != NULL)
        config_ctx_error(&cx->c, where, "expected %s, got %s; did you mean \"%s\"?", what, got,
                         hint);
    else
        config_ctx_error(&cx->c, where, "expected %s, got %s", what, got);
}

const char *cadence_get_name(struct cadence_ctx *cx, const json_t *obj, const char *path,
                             const char *key, bool required)
{
    const json_t *v = json_object_get(obj, key);
    char where[300], got[128];

    if (v == NULL) {
        if (required)
            config_ctx_error(&cx->c, path, "missing required key \"%s\"", key);
        return NULL;
    }
    if (json_is_string(v) && json_string_length(v) > 0 &&
        strlen(json_string_value(v)) == json_string_length(v))
        return json_string_value(v);
    config_path_key(where, sizeof(where), path, key);
    config_describe(v, got, sizeof(got));
    config_ctx_error(&cx->c, where, "expected a non-empty string, got %s", got);
    return NULL;
}

int cadence_step_find(const struct cadence_def *d, const char *name)
{
    for (size_t i = 0; d != NULL && i < d->n_steps; i++)
        if (d->steps[i].name != NULL && strcmp(d->steps[i].name, name) == 0)
            return (int)i;
    return -1;
}

int cadence_variant_pick(const struct cadence_step *s, int64_t lead_id)
{
    int64_t total = 0;

    if (s == NULL || s->type != CADENCE_STEP_EMAIL || s->email.n_variants == 0)
        return 0;
    for (size_t i = 0; i < s->email.n_variants; i++)
        total += s->email.variants[i].weight;
    if (total <= 0)
        return 0;
    /* FNV-1a over the step name, so that two steps split leads differently,
     * then splitmix64's finalizer over the lead id, so that consecutive ids
     * spread evenly. Fixed arithmetic: the same on every host and version. */
    uint64_t h = 1469598103934665603u;
    for (const char *c = s->name != NULL ? s->name : ""; *c != '\0'; c++) {
        h ^= (unsigned char)*c;
        h *= 1099511628211u;
    }
    uint64_t z = h ^ (uint64_t)lead_id;
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    z ^= z >> 31;
    int64_t r = (int64_t)(z % (uint64_t)total);
    for (size_t i = 0; i < s->email.n_variants; i++) {
        if (r < s->email.variants[i].weight)
            return (int)i;
        r -= s->email.variants[i].weight;
    }
    return (int)s->email.n_variants - 1;
}

const char *cadence_step_type_format(enum cadence_step_type t)
{
    static const char *const names[] = { "email", "call", "task", "webhook", "wait", "branch" };
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : NULL;
}

const char *cadence_call_outcome_format(enum cadence_call_outcome o)
{
    return (unsigned)o < CADENCE_OUTCOME_COUNT ? outcome_names[o] : NULL;
}

int cadence_call_outcome_parse(const char *text, enum cadence_call_outcome *out)
{
    for (int o = 0; text != NULL && o < CADENCE_OUTCOME_COUNT; o++)
        if (strcmp(text, outcome_names[o]) == 0) {
            *out = (enum cadence_call_outcome)o;
            return 0;
        }
    return -EINVAL;
}

const char *cadence_exit_format(enum cadence_exit e)
{
    static const char *const names[] = {
        "reply", "bounce", "unsubscribe", "complaint", "meeting_booked", "stage_change", "manual",
    };
    return (unsigned)e < CADENCE_EXIT_COUNT ? names[e] : NULL;
}

const char *cadence_migrate_format(enum cadence_migrate m)
{
    static const char *const names[] = { "none", "continue-at-same-step", "restart" };
    return (unsigned)m < sizeof(names) / sizeof(names[0]) ? names[m] : NULL;
}
