/* SPDX-License-Identifier: MIT */
/* daemon/cadence_rules.c: every part of a cadence file but its steps and its
 * calendar (cadence_calendar.c): the fallback time zone (checked with GLib,
 * which reads the system's zone database), the send window, the mailboxes
 * and retired mailboxes, the email statuses allowed, throttles, company
 * rules, exit rules and the migration mode. Each value is read into
 * struct cadence_def over its default, and every problem is recorded with its
 * JSON path. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "cadence_int.h"
#include "email_addr.h"
#include "stages.h"
#include "window.h"

/* Longer than any IANA name; a bound before GLib reads the zone files. */
#define CADENCE_TZ_MAX 64

/* Reads obj[key], an array of non-empty strings, into a NULL-terminated
 * copy; absent gives an empty array. Each bad item is an error at key[i]. */
static char **read_names(struct cadence_ctx *cx, const json_t *obj, const char *key, size_t *n)
{
    const json_t *arr = json_object_get(obj, key), *item;
    char where[256], got[128];
    size_t i, count = 0;

    *n = 0;
    if (arr != NULL && !json_is_array(arr)) {
        config_describe(arr, got, sizeof(got));
        config_ctx_error(&cx->c, key, "expected an array of names, got %s", got);
        arr = NULL;
    }
    char **v = calloc(json_array_size(arr) + 1, sizeof(*v));
    if (v == NULL) {
        cx->c.oom = true;
        return NULL;
    }
    json_array_foreach(arr, i, item) {
        config_path_index(where, sizeof(where), key, i);
        if (!json_is_string(item) || json_string_length(item) == 0) {
            config_describe(item, got, sizeof(got));
            config_ctx_error(&cx->c, where, "expected a non-empty string, got %s", got);
            continue;
        }
        bool dup = false;
        for (size_t j = 0; j < count && !dup; j++)
            dup = strcmp(v[j], json_string_value(item)) == 0;
        if (dup) {
            config_describe(item, got, sizeof(got));
            config_ctx_error(&cx->c, where, "expected each name once, got %s again", got);
            continue;
        }
        if ((v[count] = strdup(json_string_value(item))) == NULL)
            cx->c.oom = true;
        else
            count++;
    }
    *n = count;
    return v;
}

static void load_timezone(struct cadence_ctx *cx, const json_t *root)
{
    const char *tz = cadence_get_name(cx, root, "", "timezone", true);
    char got[128];

    if (tz == NULL)
        return;
    GTimeZone *z = strlen(tz) < CADENCE_TZ_MAX ? window_zone_ref(tz) : NULL;
    if (z == NULL) {
        config_describe(json_object_get(root, "timezone"), got, sizeof(got));
        config_ctx_error(&cx->c, "timezone", "expected an IANA time zone such as "
                         "\"Europe/Paris\", got %s", got);
        return;
    }
    g_time_zone_unref(z);
    if ((cx->def->timezone = strdup(tz)) == NULL)
        cx->c.oom = true;
}

void cadence_load_hours(struct cadence_ctx *cx, const json_t *obj, const char *path,
                        const char *key, struct window_hours *out)
{
    char where[256], got[128], why[128];
    const json_t *v = json_object_get(obj, key);
    struct window_hours h = { .days = out->days };

    if (v == NULL)
        return;
    config_path_key(where, sizeof(where), path, key);
    config_describe(v, got, sizeof(got));
    if (!json_is_string(v)) {
        config_ctx_error(&cx->c, where, "expected hours such as \"09:00-12:00,13:30-17:00\", "
                         "got %s", got);
        return;
    }
    if (cadence_hours_parse(json_string_value(v), &h, why, sizeof(why)) != 0) {
        config_ctx_error(&cx->c, where, "expected hours such as \"09:00-12:00,13:30-17:00\" "
                         "(%s), got %s", why, got);
        return;
    }
    *out = h;
}

static void load_window(struct cadence_ctx *cx, const json_t *root)
{
    static const char *const keys[] = { "days", "hours", NULL };
    const json_t *w = config_ctx_object(&cx->c, root, "", "window"), *days, *item;
    char where[64], got[128];
    size_t i;

    if (w == NULL)
        return;
    config_ctx_keys(&cx->c, w, "window", keys);
    cadence_load_hours(cx, w, "window", "hours", &cx->def->window);
    if ((days = json_object_get(w, "days")) == NULL)
        return;
    if (!json_is_array(days) || json_array_size(days) == 0) {
        config_describe(days, got, sizeof(got));
        config_ctx_error(&cx->c, "window.days", "expected a non-empty array of weekdays "
                         "(\"mon\" .. \"sun\"), got %s", got);
        return;
    }
    unsigned mask = 0;
    json_array_foreach(days, i, item) {
        int d = json_is_string(item) ? cadence_weekday_parse(json_string_value(item)) : -1;
        config_path_index(where, sizeof(where), "window.days", i);
        config_describe(item, got, sizeof(got));
        if (d < 0)
            cadence_name_error(cx, where, "a weekday (\"mon\" .. \"sun\")", got,
                               json_is_string(item) ? cadence_weekdays : NULL);
        else if (mask & WINDOW_DAY(d))
            config_ctx_error(&cx->c, where, "expected each weekday once, got %s again", got);
        else
            mask |= WINDOW_DAY(d);
    }
    if (mask != 0)
        cx->def->window.days = mask;
}

/* Each name of "mailboxes" must be a mailbox of the config. */
static void check_mailbox_names(struct cadence_ctx *cx, const json_t *root,
                                const struct config *cfg)
{
    const json_t *arr = json_object_get(root, "mailboxes");
    char where[64], got[128];
    const char **names = calloc(cfg->n_mailboxes + 1, sizeof(*names));

    if (names == NULL) {
        cx->c.oom = true;
        return;
    }
    for (size_t i = 0; i < cfg->n_mailboxes; i++)
        names[i] = cfg->mailboxes[i].name;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const json_t *item = json_array_get(arr, i);
        if (!json_is_string(item) || json_string_length(item) == 0 ||
            config_mailbox_get(cfg, json_string_value(item)) != NULL)
            continue;
        config_path_index(where, sizeof(where), "mailboxes", i);
        config_describe(item, got, sizeof(got));
        cadence_name_error(cx, where, "the name of a mailbox in the config", got, names);
    }
    free(names);
}

static void load_mailboxes(struct cadence_ctx *cx, const json_t *root)
{
    struct cadence_def *d = cx->def;
    const struct config *cfg = cx->env != NULL ? cx->env->cfg : NULL;
    char where[64];
    size_t n_retired = 0;

    d->mailboxes = read_names(cx, root, "mailboxes", &d->n_mailboxes);
    d->retired_mailboxes = read_names(cx, root, "retired_mailboxes", &n_retired);
    if (d->mailboxes == NULL || d->retired_mailboxes == NULL)
        return;
    if (cfg != NULL)
        check_mailbox_names(cx, root, cfg);
    /* Retired mailboxes may be gone from the config: only their leads remain. */
    for (size_t i = 0; i < n_retired; i++)
        for (size_t j = 0; j < d->n_mailboxes; j++)
            if (strcmp(d->retired_mailboxes[i], d->mailboxes[j]) == 0) {
                config_path_index(where, sizeof(where), "retired_mailboxes", i);
                config_ctx_error(&cx->c, where, "expected a mailbox not in \"mailboxes\", "
                                 "got \"%s\", which is in both", d->mailboxes[j]);
            }
}

static void load_email_status(struct cadence_ctx *cx, const json_t *root)
{
    const json_t *arr = json_object_get(root, "allowed_email_status"), *item;
    const char *names[EMAIL_STATUS_COUNT + 1] = { 0 };
    char where[64], got[128];
    size_t i;

    if (arr == NULL)
        return;
    for (int s = 0; s < EMAIL_STATUS_COUNT; s++)
        names[s] = email_status_format((enum email_status)s);
    if (!json_is_array(arr)) {
        config_describe(arr, got, sizeof(got));
        config_ctx_error(&cx->c, "allowed_email_status", "expected an array of email "
                         "statuses, got %s", got);
        return;
    }
    unsigned mask = 0;
    json_array_foreach(arr, i, item) {
        enum email_status s;
        if (json_is_string(item) && email_status_parse(json_string_value(item), &s) == 0) {
            mask |= 1u << s;
            continue;
        }
        config_path_index(where, sizeof(where), "allowed_email_status", i);
        config_describe(item, got, sizeof(got));
        cadence_name_error(cx, where, "an email status (unknown, syntax_ok, verified, "
                           "catch_all, undeliverable, guessed)", got,
                           json_is_string(item) ? names : NULL);
    }
    cx->def->allowed_email_status = mask;
}

static void load_limits(struct cadence_ctx *cx, const json_t *root)
{
    static const char *const throttle_keys[] = { "new_per_day", "max_active", NULL };
    static const char *const company_keys[] = {
        "max_active_per_domain", "cooldown_days", "skip_customer_domains", NULL,
    };
    struct cadence_def *d = cx->def;
    const json_t *t = config_ctx_object(&cx->c, root, "", "throttle");
    const json_t *c = config_ctx_object(&cx->c, root, "", "company");
    struct errbuf err = { 0 };

    config_ctx_int(&cx->c, root, "", "call_overdue_days", 1, 365, &d->call_overdue_days);
    if (t != NULL) {
        config_ctx_keys(&cx->c, t, "throttle", throttle_keys);
        config_ctx_int(&cx->c, t, "throttle", "new_per_day", 1, 1000000, &d->new_per_day);
        config_ctx_int(&cx->c, t, "throttle", "max_active", 1, 100000000, &d->max_active);
    }
    if (c != NULL) {
        config_ctx_keys(&cx->c, c, "company", company_keys);
        config_ctx_int(&cx->c, c, "company", "max_active_per_domain", 1, 1000000,
                       &d->max_active_per_domain);
        config_ctx_int(&cx->c, c, "company", "cooldown_days", 0, 3650, &d->cooldown_days);
        if (config_get_bool(c, "company", "skip_customer_domains", &d->skip_customer_domains,
                            &err) == -EINVAL)
            config_ctx_add(&cx->c, &err);
    }
}

static void load_exit_rule(struct cadence_ctx *cx, const char *where, const json_t *v,
                           enum cadence_exit e)
{
    static const char *const keys[] = { "stage", "owner", NULL };
    struct cadence_exit_rule *r = &cx->def->exits[e];
    const struct config *cfg = cx->env != NULL ? cx->env->cfg : NULL;
    bool optional = e == CADENCE_EXIT_REPLY || e == CADENCE_EXIT_MEETING_BOOKED ||
                    e == CADENCE_EXIT_STAGE_CHANGE;
    char at[300], got[128];

    config_describe(v, got, sizeof(got));
    if (json_is_false(v) && optional) {
        r->on = false;
        return;
    }
    if (!json_is_object(v)) {
        config_ctx_error(&cx->c, where, optional
                         ? "expected an object with optional \"stage\" and \"owner\", or "
                           "false, got %s"
                         : "expected an object with optional \"stage\" and \"owner\" (this "
                           "event always ends the cadence), got %s", got);
        return;
    }
    config_ctx_keys(&cx->c, v, where, keys);
    const char *stage = cadence_get_name(cx, v, where, "stage", false);
    const char *owner = cadence_get_name(cx, v, where, "owner", false);
    if (stage != NULL && !stage_is_valid(stage)) {
        config_path_key(at, sizeof(at), where, "stage");
        config_describe(json_object_get(v, "stage"), got, sizeof(got));
        config_ctx_error(&cx->c, at, "expected a stage (%s), got %s", stage_names(), got);
    } else if (stage != NULL) {
        free(r->stage);
        if ((r->stage = strdup(stage)) == NULL)
            cx->c.oom = true;
    }
    if (owner == NULL)
        return;
    if (cfg != NULL) {
        const char **names = calloc(cfg->n_team + 1, sizeof(*names));
        bool found = false;
        if (names == NULL) {
            cx->c.oom = true;
            return;
        }
        for (size_t i = 0; i < cfg->n_team; i++) {
            names[i] = cfg->team[i].name;
            found = found || strcmp(names[i], owner) == 0;
        }
        if (!found) {
            config_path_key(at, sizeof(at), where, "owner");
            config_describe(json_object_get(v, "owner"), got, sizeof(got));
            cadence_name_error(cx, at, "the name of a team member in the config", got, names);
        }
        free(names);
    }
    if ((r->owner = strdup(owner)) == NULL)
        cx->c.oom = true;
}

static void load_exits(struct cadence_ctx *cx, const json_t *root)
{
    static const char *const keys[] = {
        "reply", "bounce", "unsubscribe", "complaint", "meeting_booked", "stage_change",
        "manual", NULL,
    };
    const json_t *obj = config_ctx_object(&cx->c, root, "", "exit_on");
    char where[64];

    for (int e = 0; e < CADENCE_EXIT_COUNT; e++)
        cx->def->exits[e].on = true;
    /* A booked meeting hands the lead to qualification unless the file says otherwise. */
    if ((cx->def->exits[CADENCE_EXIT_MEETING_BOOKED].stage = strdup("qualification")) == NULL)
        cx->c.oom = true;
    if (obj == NULL)
        return;
    config_ctx_keys(&cx->c, obj, "exit_on", keys);
    for (int e = 0; e < CADENCE_EXIT_COUNT; e++) {
        const json_t *v = json_object_get(obj, keys[e]);
        if (v == NULL)
            continue;
        config_path_key(where, sizeof(where), "exit_on", keys[e]);
        if (e == CADENCE_EXIT_MEETING_BOOKED) {
            free(cx->def->exits[e].stage);
            cx->def->exits[e].stage = NULL;
        }
        load_exit_rule(cx, where, v, (enum cadence_exit)e);
    }
}

static void load_migrate(struct cadence_ctx *cx, const json_t *root)
{
    static const char *const modes[] = { "none", "continue-at-same-step", "restart", NULL };
    const json_t *v = json_object_get(root, "migrate");
    char got[128];

    if (v == NULL)
        return;
    for (int m = 0; json_is_string(v) && modes[m] != NULL; m++)
        if (strcmp(json_string_value(v), modes[m]) == 0) {
            cx->def->migrate = (enum cadence_migrate)m;
            return;
        }
    config_describe(v, got, sizeof(got));
    cadence_name_error(cx, "migrate", "\"none\", \"continue-at-same-step\" or \"restart\"",
                       got, json_is_string(v) ? modes : NULL);
}

void cadence_load_rules(struct cadence_ctx *cx, const json_t *root)
{
    struct cadence_def *d = cx->def;
    char why[64];

    d->window.days = WINDOW_WEEKDAYS;
    d->allowed_email_status = 1u << EMAIL_STATUS_SYNTAX_OK | 1u << EMAIL_STATUS_VERIFIED |
                              1u << EMAIL_STATUS_CATCH_ALL;
    d->call_overdue_days = 3;
    d->skip_customer_domains = true;
    if (cadence_hours_parse("09:00-17:00", &d->window, why, sizeof(why)) != 0)
        cx->c.oom = true;
    config_ctx_string(&cx->c, root, "", "description", false, &d->description);
    load_timezone(cx, root);
    load_window(cx, root);
    cadence_load_calendar(cx, root);
    load_mailboxes(cx, root);
    load_email_status(cx, root);
    load_limits(cx, root);
    load_exits(cx, root);
    load_migrate(cx, root);
}

void cadence_rules_free(struct cadence_def *d)
{
    free(d->description);
    free(d->timezone);
    cadence_calendar_free(d);
    config_strv_free(d->mailboxes);
    config_strv_free(d->retired_mailboxes);
    for (int e = 0; e < CADENCE_EXIT_COUNT; e++) {
        free(d->exits[e].stage);
        free(d->exits[e].owner);
    }
}
