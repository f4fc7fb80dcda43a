/* SPDX-License-Identifier: MIT */
/* daemon/config_enrichment.c: how enrichment runs.
 *
 * Per enricher instance (an item of "enrichers"), beside name/plugin/options:
 *   "concurrency": 4        ops of this instance in flight at once
 *   "rate": "10/s"          at most N per s, min, h or day (a provider's quota)
 *   "cache_ttl": "7d"       how long answers are kept when the plugin does not
 *                           say (enrich_mx says: the DNS TTL); "0s" = never
 * and the "enrichment" section:
 *   "after_import": false   queue every lead an import created or changed
 *   "concurrency": 8        leads in the waterfall at once
 *   "backoff": "30s", "max_backoff": "1h", "max_attempts": 5
 *                           a lead whose enricher asks to retry waits
 *                           backoff * 2^attempt (or the plugin's Retry-After),
 *                           and is given up after max_attempts
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"

#define DAY_MS (24 * 3600 * 1000ull)

/* "10/s", "600/min", "5000/h", "100/day": 0 or -EINVAL. */
static int parse_rate(const char *text, int64_t *count, uint64_t *window_ms)
{
    char *end;
    long long n = strtoll(text, &end, 10);
    if (end == text || n < 1 || n > 1000000 || *end != '/')
        return -EINVAL;
    end++;
    if (strcmp(end, "s") == 0 || strcmp(end, "sec") == 0 || strcmp(end, "second") == 0)
        *window_ms = 1000;
    else if (strcmp(end, "min") == 0 || strcmp(end, "minute") == 0)
        *window_ms = 60000;
    else if (strcmp(end, "h") == 0 || strcmp(end, "hour") == 0)
        *window_ms = 3600000;
    else if (strcmp(end, "day") == 0 || strcmp(end, "d") == 0)
        *window_ms = DAY_MS;
    else
        return -EINVAL;
    *count = n;
    return 0;
}

void config_load_enricher_limits(struct config_ctx *ctx, const json_t *obj, const char *path,
                                 struct config_plugin_instance *inst)
{
    char *rate = NULL, where[256];

    inst->concurrency = 4;
    inst->cache_ttl_ms = 7 * DAY_MS;
    config_ctx_int(ctx, obj, path, "concurrency", 1, 1000, &inst->concurrency);
    config_ctx_duration(ctx, obj, path, "cache_ttl", &inst->cache_ttl_ms);
    if (config_ctx_string(ctx, obj, path, "rate", false, &rate) &&
        parse_rate(rate, &inst->rate_count, &inst->rate_window_ms) < 0) {
        config_path_key(where, sizeof(where), path, "rate");
        config_ctx_error(ctx, where, "expected a rate such as \"10/s\", \"600/min\", "
                         "\"5000/h\" or \"100/day\", got \"%s\"", rate);
    }
    free(rate);
}

void config_load_enrichment(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = {
        "after_import", "concurrency", "backoff", "max_backoff", "max_attempts", NULL,
    };
    struct config_enrichment *e = &cfg->enrichment;
    const json_t *obj, *v;

    e->after_import = false;
    e->concurrency = 8;
    e->backoff_ms = 30000;
    e->max_backoff_ms = 3600000;
    e->max_attempts = 5;
    obj = config_ctx_object(ctx, root, "", "enrichment");
    if (obj == NULL)
        return;
    config_ctx_keys(ctx, obj, "enrichment", keys);
    v = json_object_get(obj, "after_import");
    if (v != NULL && !json_is_boolean(v)) {
        char got[128];
        config_describe(v, got, sizeof(got));
        config_ctx_error(ctx, "enrichment.after_import", "expected true or false, got %s", got);
    } else if (v != NULL) {
        e->after_import = json_is_true(v);
    }
    config_ctx_int(ctx, obj, "enrichment", "concurrency", 1, 10000, &e->concurrency);
    config_ctx_duration(ctx, obj, "enrichment", "backoff", &e->backoff_ms);
    config_ctx_duration(ctx, obj, "enrichment", "max_backoff", &e->max_backoff_ms);
    config_ctx_int(ctx, obj, "enrichment", "max_attempts", 1, 100, &e->max_attempts);
    if (e->backoff_ms == 0 || e->max_backoff_ms < e->backoff_ms)
        config_ctx_error(ctx, "enrichment.max_backoff",
                         "expected backoff > 0 and max_backoff >= backoff");
}
