/* SPDX-License-Identifier: MIT */
/* daemon/config_instances.c: the "channels" and "enrichers" arrays (plugin
 * instances: a name, the plugin, its options object and a log level) and the
 * "mailboxes" that send through those channels. Options are kept as JSON:
 * only the plugin knows its keys, and the plugin loader checks them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "config_internal.h"

/* Reads obj[key] as a required name: [A-Za-z0-9_.-]{1,64}. */
static void load_name(struct config_ctx *ctx, const json_t *obj, const char *path, char **dst)
{
    char where[256], got[128];

    if (!config_ctx_string(ctx, obj, path, "name", true, dst))
        return;
    if (!config_is_identifier(*dst)) {
        config_path_key(where, sizeof(where), path, "name");
        config_describe(json_object_get(obj, "name"), got, sizeof(got));
        config_ctx_error(ctx, where, "expected a name of 1 to 64 letters, digits, \"_\", "
                         "\".\" or \"-\", got %s", got);
    }
}

/* The array at root[key], NULL when absent or not an array (recorded). */
static const json_t *get_array(struct config_ctx *ctx, const json_t *root, const char *key)
{
    const json_t *arr = json_object_get(root, key);
    char got[128];

    if (arr == NULL || json_is_array(arr))
        return arr;
    config_describe(arr, got, sizeof(got));
    config_ctx_error(ctx, key, "expected an array of objects, got %s", got);
    return NULL;
}

/* The item at arr[i] if it is an object; otherwise records why not. */
static const json_t *get_item(struct config_ctx *ctx, const json_t *arr, size_t i,
                              const char *path)
{
    const json_t *item = json_array_get(arr, i);
    char got[128];

    if (json_is_object(item))
        return item;
    config_describe(item, got, sizeof(got));
    config_ctx_error(ctx, path, "expected an object, got %s", got);
    return NULL;
}

static void load_instances(struct config_ctx *ctx, const json_t *root, const char *key,
                           enum log_level level, struct config_plugin_instance **out,
                           size_t *n_out)
{
    static const char *const keys[] = { "name", "plugin", "options", "log_level", NULL };
    static const char *const enricher_keys[] = { "name", "plugin", "options", "log_level",
                                                 "concurrency", "rate", "cache_ttl", NULL };
    bool enricher = strcmp(key, "enrichers") == 0;
    const json_t *arr = get_array(ctx, root, key);
    char path[64], where[256], got[128];

    if (arr == NULL || json_array_size(arr) == 0)
        return;
    /* One slot per array item, so slot i is always "key[i]" in messages. */
    struct config_plugin_instance *items = calloc(json_array_size(arr), sizeof(*items));
    if (items == NULL) {
        ctx->oom = true;
        return;
    }
    *out = items;
    *n_out = json_array_size(arr);
    for (size_t i = 0; i < *n_out; i++) {
        struct config_plugin_instance *inst = &items[i];
        config_path_index(path, sizeof(path), key, i);
        inst->log_level = level;
        const json_t *obj = get_item(ctx, arr, i, path);
        if (obj == NULL)
            continue;
        config_ctx_keys(ctx, obj, path, enricher ? enricher_keys : keys);
        load_name(ctx, obj, path, &inst->name);
        if (enricher)
            config_load_enricher_limits(ctx, obj, path, inst);
        if (config_ctx_string(ctx, obj, path, "plugin", true, &inst->plugin) &&
            inst->plugin[0] == '\0') {
            config_path_key(where, sizeof(where), path, "plugin");
            config_ctx_error(ctx, where, "expected a plugin name such as \"example_channel\" "
                             "or a path to a .so, got \"\"");
        }
        const json_t *opts = json_object_get(obj, "options");
        if (opts != NULL && !json_is_object(opts)) {
            config_path_key(where, sizeof(where), path, "options");
            config_describe(opts, got, sizeof(got));
            config_ctx_error(ctx, where, "expected an object, got %s", got);
            opts = NULL;
        }
        /* A deep copy: the config must not share mutable JSON with the parse tree. */
        inst->options = opts != NULL ? json_deep_copy(opts) : json_object();
        if (inst->options == NULL)
            ctx->oom = true;
        config_ctx_log_level(ctx, obj, path, "log_level", &inst->log_level);
    }
}

/* Instance names are unique across channels and enrichers: both appear in
 * log prefixes and metrics as "plugin/name". */
static void check_instance_names(struct config_ctx *ctx, const struct config *cfg)
{
    size_t n = cfg->n_channels + cfg->n_enrichers;
    const char **names = calloc(n + 1, sizeof(*names));
    const char **sections = calloc(n + 1, sizeof(*sections));
    size_t *indexes = calloc(n + 1, sizeof(*indexes));

    if (names == NULL || sections == NULL || indexes == NULL) {
        ctx->oom = true;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        bool ch = i < cfg->n_channels;
        size_t k = ch ? i : i - cfg->n_channels;
        names[i] = ch ? cfg->channels[k].name : cfg->enrichers[k].name;
        sections[i] = ch ? "channels" : "enrichers";
        indexes[i] = k;
    }
    config_ctx_unique(ctx, names, sections, indexes, n);
out:
    free(names);
    free(sections);
    free(indexes);
}

/* mailbox.channel must name a configured channel; suggests the closest. */
static void check_mailbox_channel(struct config_ctx *ctx, const struct config *cfg,
                                  const json_t *obj, const char *path, const char *channel)
{
    char where[256], got[128];

    if (config_channel_get(cfg, channel) != NULL)
        return;
    config_path_key(where, sizeof(where), path, "channel");
    config_describe(json_object_get(obj, "channel"), got, sizeof(got));
    if (cfg->n_channels == 0) {
        config_ctx_error(ctx, where, "no channel named %s: \"channels\" is empty", got);
        return;
    }
    const char **names = calloc(cfg->n_channels + 1, sizeof(*names));
    if (names == NULL) {
        ctx->oom = true;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < cfg->n_channels; i++)
        if (cfg->channels[i].name != NULL)
            names[n++] = cfg->channels[i].name;
    const char *hint = config_suggest(channel, names);
    if (hint != NULL)
        config_ctx_error(ctx, where, "no channel named %s is configured; did you mean \"%s\"?",
                         got, hint);
    else
        config_ctx_error(ctx, where, "no channel named %s is configured in \"channels\"", got);
    free(names);
}

/* A DKIM selector is one or more DNS labels: it is put in front of
 * "._domainkey.DOMAIN". */
static bool is_dns_labels(const char *s)
{
    size_t label = 0, n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return n > 0 && n <= 200 && label > 0;
}

/* "YYYY-MM-DD" as UTC midnight in ms; false when it is not such a date. */
static bool parse_day(const char *s, int64_t *out)
{
    struct tm tm = { 0 };
    int y, m, d, used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &used) != 3 || used != 10 || s[used] != '\0' ||
        m < 1 || m > 12 || d < 1 || d > 31)
        return false;
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    if (tm.tm_mday != d)
        return false;            /* 2026-02-30 normalised to March */
    *out = (int64_t)t * 1000;
    return true;
}

/* The mailbox caps besides daily_cap (dispatch_caps.c enforces them). */
static void load_mailbox_pacing(struct config_ctx *ctx, const json_t *obj, const char *path,
                                struct config_mailbox *mb)
{
    static const char *const wkeys[] = { "start", "per_day", "since", NULL };
    char wpath[128], where[256], got[128];
    char *since = NULL;

    config_ctx_int(ctx, obj, path, "hourly_cap", 0, INT64_MAX, &mb->hourly_cap);
    config_ctx_duration(ctx, obj, path, "min_spacing", &mb->min_spacing_ms);
    config_ctx_duration(ctx, obj, path, "jitter", &mb->jitter_ms);
    const json_t *w = config_ctx_object(ctx, obj, path, "warmup");
    if (w == NULL)
        return;
    config_path_key(wpath, sizeof(wpath), path, "warmup");
    config_ctx_keys(ctx, w, wpath, wkeys);
    mb->warmup_start = 20;
    mb->warmup_per_day = 10;
    config_ctx_int(ctx, w, wpath, "start", 1, INT64_MAX, &mb->warmup_start);
    config_ctx_int(ctx, w, wpath, "per_day", 0, INT64_MAX, &mb->warmup_per_day);
    if (config_ctx_string(ctx, w, wpath, "since", true, &since) &&
        !parse_day(since, &mb->warmup_since_ms)) {
        config_path_key(where, sizeof(where), wpath, "since");
        config_describe(json_object_get(w, "since"), got, sizeof(got));
        config_ctx_error(ctx, where, "expected a date such as \"2026-01-01\", got %s", got);
    }
    free(since);
}

static void load_mailboxes(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = {
        "name", "address", "display_name", "channel", "daily_cap", "title", "signature",
        "dkim_selector", "hourly_cap", "min_spacing", "jitter", "warmup", NULL,
    };
    const json_t *arr = get_array(ctx, root, "mailboxes");
    char path[64], where[256], got[128];

    if (arr == NULL || json_array_size(arr) == 0)
        return;
    cfg->mailboxes = calloc(json_array_size(arr), sizeof(*cfg->mailboxes));
    if (cfg->mailboxes == NULL) {
        ctx->oom = true;
        return;
    }
    cfg->n_mailboxes = json_array_size(arr);
    for (size_t i = 0; i < cfg->n_mailboxes; i++) {
        struct config_mailbox *mb = &cfg->mailboxes[i];
        config_path_index(path, sizeof(path), "mailboxes", i);
        mb->daily_cap = 200;
        const json_t *obj = get_item(ctx, arr, i, path);
        if (obj == NULL)
            continue;
        config_ctx_keys(ctx, obj, path, keys);
        load_name(ctx, obj, path, &mb->name);
        if (config_ctx_string(ctx, obj, path, "address", true, &mb->address) &&
            !config_is_email(mb->address)) {
            config_path_key(where, sizeof(where), path, "address");
            config_describe(json_object_get(obj, "address"), got, sizeof(got));
            config_ctx_error(ctx, where, "expected an email address such as "
                             "\"ada@example.com\", got %s", got);
        }
        config_ctx_string(ctx, obj, path, "display_name", false, &mb->display_name);
        config_ctx_string(ctx, obj, path, "title", false, &mb->title);
        config_ctx_string(ctx, obj, path, "signature", false, &mb->signature);
        if (config_ctx_string(ctx, obj, path, "channel", true, &mb->channel))
            check_mailbox_channel(ctx, cfg, obj, path, mb->channel);
        config_ctx_int(ctx, obj, path, "daily_cap", 1, INT64_MAX, &mb->daily_cap);
        load_mailbox_pacing(ctx, obj, path, mb);
        if (config_ctx_string(ctx, obj, path, "dkim_selector", false, &mb->dkim_selector) &&
            !is_dns_labels(mb->dkim_selector)) {
            config_path_key(where, sizeof(where), path, "dkim_selector");
            config_describe(json_object_get(obj, "dkim_selector"), got, sizeof(got));
            config_ctx_error(ctx, where, "expected a DKIM selector such as \"s1\" or "
                             "\"google\" (DNS labels: letters, digits, \"-\", \"_\", "
                             "\".\"), got %s", got);
        }
    }

    const char **names = calloc(cfg->n_mailboxes, sizeof(*names));
    const char **sections = calloc(cfg->n_mailboxes, sizeof(*sections));
    size_t *indexes = calloc(cfg->n_mailboxes, sizeof(*indexes));
    if (names != NULL && sections != NULL && indexes != NULL) {
        for (size_t i = 0; i < cfg->n_mailboxes; i++) {
            names[i] = cfg->mailboxes[i].name;
            sections[i] = "mailboxes";
            indexes[i] = i;
        }
        config_ctx_unique(ctx, names, sections, indexes, cfg->n_mailboxes);
    } else {
        ctx->oom = true;
    }
    free(names);
    free(sections);
    free(indexes);
}

void config_load_instances(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    load_instances(ctx, root, "channels", cfg->log_level, &cfg->channels, &cfg->n_channels);
    load_instances(ctx, root, "enrichers", cfg->log_level, &cfg->enrichers, &cfg->n_enrichers);
    check_instance_names(ctx, cfg);
    load_mailboxes(ctx, root, cfg);
}

static void instances_free(struct config_plugin_instance *items, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(items[i].name);
        free(items[i].plugin);
        json_decref(items[i].options);
    }
    free(items);
}

void config_instances_free(struct config *cfg)
{
    instances_free(cfg->channels, cfg->n_channels);
    instances_free(cfg->enrichers, cfg->n_enrichers);
    for (size_t i = 0; i < cfg->n_mailboxes; i++) {
        free(cfg->mailboxes[i].name);
        free(cfg->mailboxes[i].address);
        free(cfg->mailboxes[i].display_name);
        free(cfg->mailboxes[i].channel);
        free(cfg->mailboxes[i].title);
        free(cfg->mailboxes[i].signature);
        free(cfg->mailboxes[i].dkim_selector);
    }
    free(cfg->mailboxes);
}

const struct config_plugin_instance *config_channel_get(const struct config *cfg,
                                                         const char *name)
{
    for (size_t i = 0; i < cfg->n_channels; i++)
        if (cfg->channels[i].name != NULL && strcmp(cfg->channels[i].name, name) == 0)
            return &cfg->channels[i];
    return NULL;
}

const struct config_mailbox *config_mailbox_get(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_mailboxes; i++)
        if (cfg->mailboxes[i].name != NULL && strcmp(cfg->mailboxes[i].name, name) == 0)
            return &cfg->mailboxes[i];
    return NULL;
}
