/* SPDX-License-Identifier: MIT */
/* daemon/config_icp.c: the "icp" section of the config, the ideal customer
 * profile (daemon/icp.h):
 *   "icp": {
 *     "threshold": 60,                    a lead scoring this or more qualifies
 *     "seniority": {"vp": 35, ...},       points per level (overrides the
 *                                         defaults c-level 40, vp 30, director
 *                                         25, head 20, manager 10, individual
 *                                         0), or false to leave seniority out
 *     "rules": [
 *       {"name": "sales title", "title_keywords": ["sales", "revenue"], "points": 20},
 *       {"field": "industry", "in": ["software", "saas"], "points": 15},
 *       {"field": "employees", "range": [50, 1000], "points": 15},
 *       {"field": "country", "equals": "FR", "points": 10},
 *       {"field": "domain", "regex": "\\.(io|ai)$", "points": 5}
 *     ]
 *   }
 * Each rule has exactly one matcher. Regexes are POSIX extended, case-blind,
 * compiled here once: a bad one is a config error naming its JSON path.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config_internal.h"
#include "icp.h"

#define ICP_POINTS_MAX 1000000.0

static bool get_number(struct config_ctx *ctx, const json_t *obj, const char *path,
                       const char *key, double *out)
{
    const json_t *v = json_object_get(obj, key);
    char where[256], got[128];
    if (v == NULL)
        return false;
    if (json_is_number(v) && fabs(json_number_value(v)) <= ICP_POINTS_MAX) {
        *out = json_number_value(v);
        return true;
    }
    config_path_key(where, sizeof(where), path, key);
    config_describe(v, got, sizeof(got));
    config_ctx_error(ctx, where, "expected a number between -%g and %g, got %s",
                     ICP_POINTS_MAX, ICP_POINTS_MAX, got);
    return false;
}

static void load_seniority(struct config_ctx *ctx, const json_t *v, struct icp_rules *r)
{
    static const char *const levels[] = {
        "c-level", "vp", "director", "head", "manager", "individual", NULL,
    };
    const char *key;
    const json_t *w;
    char got[128];

    if (json_is_boolean(v)) {
        r->seniority_on = json_is_true(v);
        return;
    }
    if (!json_is_object(v)) {
        config_describe(v, got, sizeof(got));
        config_ctx_error(ctx, "icp.seniority", "expected an object of points per level "
                         "or a boolean, got %s", got);
        return;
    }
    config_ctx_keys(ctx, v, "icp.seniority", levels);
    json_object_foreach((json_t *)v, key, w) {
        enum icp_seniority level;
        if (icp_seniority_parse(key, &level) == 0)
            get_number(ctx, v, "icp.seniority", key, &r->seniority[level]);
    }
}

/* A scalar (string, number or boolean) for equals / in. */
static bool is_scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static void load_matcher(struct config_ctx *ctx, const json_t *obj, const char *at,
                         struct icp_rule *rule)
{
    static const char *const ops[] = { "title_keywords", "equals", "in", "range", "regex" };
    char where[256], got[128];
    const char *op = NULL;
    int found = 0;

    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        if (json_object_get(obj, ops[i]) != NULL) {
            found++;
            if (op == NULL) {
                op = ops[i];
                rule->op = (enum icp_op)(ICP_OP_TITLE_KEYWORDS + i);
            }
        }
    if (found != 1) {
        config_ctx_error(ctx, at, "expected exactly one of \"title_keywords\", \"equals\", "
                         "\"in\", \"range\", \"regex\", got %d", found);
        return;
    }
    const json_t *v = json_object_get(obj, op);
    config_path_key(where, sizeof(where), at, op);
    config_describe(v, got, sizeof(got));
    if (rule->op != ICP_OP_TITLE_KEYWORDS)
        config_ctx_string(ctx, obj, at, "field", true, &rule->field);
    else if (json_object_get(obj, "field") != NULL)
        config_ctx_error(ctx, at, "\"field\" does not go with \"title_keywords\" (it reads "
                         "the title)");

    switch (rule->op) {
    case ICP_OP_TITLE_KEYWORDS:
    case ICP_OP_IN: {
        bool ok = json_is_array(v) && json_array_size(v) > 0;
        size_t i;
        const json_t *item;
        json_array_foreach(v, i, item)
            if (rule->op == ICP_OP_TITLE_KEYWORDS
                    ? !json_is_string(item) || json_string_length(item) == 0 : !is_scalar(item))
                ok = false;
        if (!ok) {
            config_ctx_error(ctx, where, rule->op == ICP_OP_IN
                             ? "expected a non-empty array of strings or numbers, got %s"
                             : "expected a non-empty array of non-empty strings, got %s", got);
            return;
        }
        rule->values = json_deep_copy(v);
        break;
    }
    case ICP_OP_EQUALS:
        if (!is_scalar(v)) {
            config_ctx_error(ctx, where, "expected a string, number or boolean, got %s", got);
            return;
        }
        rule->values = json_deep_copy(v);
        break;
    case ICP_OP_RANGE: {
        const json_t *lo = json_array_get(v, 0), *hi = json_array_get(v, 1);
        if (!json_is_array(v) || json_array_size(v) != 2 ||
            !(json_is_number(lo) || json_is_null(lo)) || !(json_is_number(hi) || json_is_null(hi)) ||
            (json_is_null(lo) && json_is_null(hi))) {
            config_ctx_error(ctx, where, "expected [min, max] (numbers; null for an open "
                             "end), got %s", got);
            return;
        }
        rule->min = json_is_null(lo) ? -INFINITY : json_number_value(lo);
        rule->max = json_is_null(hi) ? INFINITY : json_number_value(hi);
        if (rule->min > rule->max)
            config_ctx_error(ctx, where, "expected min <= max, got %s", got);
        return;
    }
    case ICP_OP_REGEX: {
        const char *re = json_string_value(v);
        if (re == NULL || *re == '\0') {
            config_ctx_error(ctx, where, "expected a POSIX extended regex, got %s", got);
            return;
        }
        int rc = regcomp(&rule->re, re, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        if (rc != 0) {
            char msg[128];
            regerror(rc, &rule->re, msg, sizeof(msg));
            config_ctx_error(ctx, where, "invalid regex %s: %s", got, msg);
            return;
        }
        rule->re_ok = true;
        return;
    }
    }
    if (rule->values == NULL)
        ctx->oom = true;
}

static void load_rule(struct config_ctx *ctx, const json_t *obj, const char *at,
                      struct icp_rule *rule)
{
    static const char *const keys[] = {
        "name", "field", "points", "title_keywords", "equals", "in", "range", "regex", NULL,
    };
    char got[128];

    if (!json_is_object(obj)) {
        config_describe(obj, got, sizeof(got));
        config_ctx_error(ctx, at, "expected a rule object, got %s", got);
        return;
    }
    config_ctx_keys(ctx, obj, at, keys);
    config_ctx_string(ctx, obj, at, "name", false, &rule->name);
    if (json_object_get(obj, "points") == NULL)
        config_ctx_error(ctx, at, "missing required key \"points\"");
    else
        get_number(ctx, obj, at, "points", &rule->points);
    load_matcher(ctx, obj, at, rule);
    /* A name for the breakdown: the field, or "title_keywords". */
    if (rule->name == NULL) {
        rule->name = strdup(rule->field != NULL ? rule->field : "title_keywords");
        if (rule->name == NULL)
            ctx->oom = true;
    }
}

void config_load_icp(struct config_ctx *ctx, const json_t *root, struct config *cfg)
{
    static const char *const keys[] = { "threshold", "seniority", "rules", NULL };
    const json_t *obj = config_ctx_object(ctx, root, "", "icp");
    char at[64], got[128];

    if (obj == NULL)
        return;
    struct icp_rules *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        ctx->oom = true;
        return;
    }
    cfg->icp = r;
    r->seniority_on = true;
    icp_seniority_defaults(r->seniority);
    config_ctx_keys(ctx, obj, "icp", keys);
    if (json_object_get(obj, "threshold") == NULL)
        config_ctx_error(ctx, "icp", "missing required key \"threshold\"");
    else
        get_number(ctx, obj, "icp", "threshold", &r->threshold);
    if (json_object_get(obj, "seniority") != NULL)
        load_seniority(ctx, json_object_get(obj, "seniority"), r);

    const json_t *rules = json_object_get(obj, "rules");
    if (rules == NULL)
        return;
    if (!json_is_array(rules)) {
        config_describe(rules, got, sizeof(got));
        config_ctx_error(ctx, "icp.rules", "expected an array of rules, got %s", got);
        return;
    }
    size_t n = json_array_size(rules);
    r->rules = calloc(n > 0 ? n : 1, sizeof(*r->rules));
    if (r->rules == NULL) {
        ctx->oom = true;
        return;
    }
    r->n_rules = n;
    for (size_t i = 0; i < n; i++) {
        config_path_index(at, sizeof(at), "icp.rules", i);
        load_rule(ctx, json_array_get(rules, i), at, &r->rules[i]);
    }
}

void config_icp_free(struct config *cfg)
{
    icp_rules_free(cfg->icp);
    cfg->icp = NULL;
}
