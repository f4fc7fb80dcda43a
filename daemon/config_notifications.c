/* SPDX-License-Identifier: MIT */
/* daemon/config_notifications.c: the "notifications" array: who hears about
 * which events of a lead, through which channel, and with which of the
 * lead's fields. Each entry is
 *     {"events": ["stage_changed", "touch_*", ...], "channel": "crm",
 *      "lead_fields": ["email", "company"]}
 * "events" holds event types, "*" (every event) or "prefix_*". A name that
 * is a near miss of a known type ("stage_chnaged") is refused with a hint; a
 * name unlike any known one is accepted, so event types added later need no
 * change here. "lead_fields" is optional and empty by default: a
 * notification carries ids, the event and its data, and only the lead fields
 * an operator chose to share (DESIGN.md, "Personal data"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

/* The event types the daemon writes today. */
static const char *const known_events[] = {
    "lead_created", "lead_merged", "stage_changed", "touch_scheduled", "touch_sent",
    "touch_failed", "touch_in_doubt", "touch_cancelled", "touch_skipped", "touch_deferred",
    "task_created", "suppressed", "reply", "bounce", "meeting", "unsubscribed", "enriched",
    "call_logged", NULL,
};

/* The lead fields a subscriber may be given (the leads table's contact
 * columns and the stage). */
static const char *const lead_field_names[] = {
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country",
    "timezone", "linkedin", "stage", NULL,
};

static bool is_known(const char *name, const char *const *list)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, name) == 0)
            return true;
    return false;
}

/* An event pattern: "*", or [a-z0-9_]+ optionally ending in "*". */
static bool pattern_ok(const char *s)
{
    size_t len = strlen(s);
    if (strcmp(s, "*") == 0)
        return true;
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool last_star = c == '*' && i == len - 1 && i > 0;
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || last_star))
            return false;
    }
    return true;
}

static void check_events(struct config_ctx *ctx, char **events, const char *path)
{
    char at[256], where[256];

    config_path_key(at, sizeof(at), path, "events");
    if (events != NULL && events[0] == NULL)
        config_ctx_error(ctx, at, "expected at least one event type (or \"*\")");
    for (size_t i = 0; events != NULL && events[i] != NULL; i++) {
        const char *e = events[i];
        config_path_index(where, sizeof(where), at, i);
        if (!pattern_ok(e)) {
            config_ctx_error(ctx, where, "expected an event type such as \"stage_changed\", "
                             "\"*\" or \"touch_*\"");
            continue;
        }
        if (strchr(e, '*') != NULL || is_known(e, known_events))
            continue;
        const char *hint = config_suggest(e, known_events);
        if (hint != NULL)
            config_ctx_error(ctx, where, "unknown event type \"%s\"; did you mean \"%s\"?", e,
                             hint);
    }
}

static void check_fields(struct config_ctx *ctx, char **fields, const char *path)
{
    char at[256], where[256];

    config_path_key(at, sizeof(at), path, "lead_fields");
    for (size_t i = 0; fields != NULL && fields[i] != NULL; i++) {
        if (is_known(fields[i], lead_field_names))
            continue;
        config_path_index(where, sizeof(where), at, i);
        const char *hint = config_suggest(fields[i], lead_field_names);
        if (hint != NULL)
            config_ctx_error(ctx, where, "unknown lead field \"%s\"; did you mean \"%s\"?",
                             fields[i], hint);
        else
            config_ctx_error(ctx, where, "unknown lead field \"%s\"; expected one of email, "
                             "first_name, last_name, company, domain, title, phone, country, "
                             "timezone, linkedin, stage", fields[i]);
    }
}

static void check_channel(struct config_ctx *ctx, const struct config *cfg, const char *channel,
                          const char *path)
{
    char where[256];
    const char *names[65];
    size_t n = 0;

    if (config_channel_get(cfg, channel) != NULL)
        return;
    config_path_key(where, sizeof(where), path, "channel");
    for (size_t i = 0; i < cfg->n_channels && n < 64; i++)
        if (cfg->channels[i].name != NULL)
            names[n++] = cfg->channels[i].name;
    names[n] = NULL;
    const char *hint = config_suggest(channel, names);
    if (hint != NULL)
        config_ctx_error(ctx, where, "no channel named \"%s\" is configured; did you mean "
                         "\"%s\"?", channel, hint);
    else
        config_ctx_error(ctx, where, "no channel named \"%s\" is configured", channel);
}

void config_load_notifications(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "events", "channel", "lead_fields", NULL };
    const json_t *arr = json_object_get(root, "notifications");
    char path[64], got[128];

    if (arr == NULL)
        return;
    if (!json_is_array(arr)) {
        config_describe(arr, got, sizeof(got));
        config_ctx_error(ctx, "notifications", "expected an array of objects, got %s", got);
        return;
    }
    if (json_array_size(arr) == 0)
        return;
    cfg->notifications = calloc(json_array_size(arr), sizeof(*cfg->notifications));
    if (cfg->notifications == NULL) {
        ctx->oom = true;
        return;
    }
    cfg->n_notifications = json_array_size(arr);
    for (size_t i = 0; i < cfg->n_notifications; i++) {
        struct config_notification *nt = &cfg->notifications[i];
        const json_t *obj = json_array_get(arr, i);
        config_path_index(path, sizeof(path), "notifications", i);
        if (!json_is_object(obj)) {
            config_describe(obj, got, sizeof(got));
            config_ctx_error(ctx, path, "expected an object {\"events\", \"channel\"}, got %s",
                             got);
            continue;
        }
        config_ctx_keys(ctx, obj, path, keys);
        if (json_object_get(obj, "events") == NULL) {
            char where[256];
            config_path_key(where, sizeof(where), path, "events");
            config_ctx_error(ctx, where, "required key missing: a list of event types");
        }
        nt->events = config_ctx_strv(ctx, obj, path, "events", false);
        nt->lead_fields = config_ctx_strv(ctx, obj, path, "lead_fields", false);
        if (json_object_get(obj, "events") != NULL)
            check_events(ctx, nt->events, path);
        check_fields(ctx, nt->lead_fields, path);
        if (config_ctx_string(ctx, obj, path, "channel", true, &nt->channel))
            check_channel(ctx, cfg, nt->channel, path);
    }
}

void config_notifications_free(struct config *cfg)
{
    for (size_t i = 0; i < cfg->n_notifications; i++) {
        config_strv_free(cfg->notifications[i].events);
        config_strv_free(cfg->notifications[i].lead_fields);
        free(cfg->notifications[i].channel);
    }
    free(cfg->notifications);
    cfg->notifications = NULL;
    cfg->n_notifications = 0;
}
