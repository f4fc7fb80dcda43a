/* SPDX-License-Identifier: MIT */
/* tests/unit/t_icp.c: the ideal customer profile: title words and
 * seniority, the "icp" config section (defaults, overrides, every error
 * with its JSON path and did-you-mean), scoring and its breakdown on leads
 * shaped like store_lead_get()'s, readiness (a deliverable email or a
 * phone), and the store's part (score and breakdown saved together, paging
 * by stage, the version 1 -> 2 migration) on a real SQLite file.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "icp.h"
#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static const char *const good_config =
    "{\"icp\": {\"threshold\": 50,"
    " \"seniority\": {\"vp\": 35, \"individual\": -5},"
    " \"rules\": ["
    "  {\"name\": \"sales title\", \"title_keywords\": [\"sales\", \"revenue operations\"], \"points\": 20},"
    "  {\"name\": \"industry\", \"field\": \"industry\", \"in\": [\"software\", \"SaaS\"], \"points\": 15},"
    "  {\"name\": \"size\", \"field\": \"employees\", \"range\": [50, 1000], \"points\": 15},"
    "  {\"field\": \"country\", \"equals\": \"fr\", \"points\": 10},"
    "  {\"name\": \"tech domain\", \"field\": \"domain\", \"regex\": \"\\\\.(io|ai)$\", \"points\": 5},"
    "  {\"name\": \"competitor\", \"field\": \"attrs.competitor\", \"equals\": true, \"points\": -100}"
    " ]}}";

static struct config *load(const char *text, struct config_errors *errs)
{
    struct config *cfg = NULL;
    if (config_load_string(text, strlen(text), "t.json", "/tmp", &cfg, errs) < 0)
        return NULL;
    return cfg;
}

/* The first error whose where is where, or NULL. */
static const struct errbuf *error_at(const struct config_errors *errs, const char *where)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->items[i].where, where) == 0)
            return &errs->items[i];
    return NULL;
}

static void test_words(void)
{
    tap_ok(icp_has_words("VP, Sales & Ops", "sales"), "a word between punctuation");
    tap_ok(icp_has_words("VP, Sales & Ops", "vp sales"), "a phrase across punctuation");
    tap_ok(!icp_has_words("Salesforce admin", "sales"), "not a part of a word");
    tap_ok(icp_has_words("Head of Revenue  Operations", "revenue operations"), "spaces fold");
    tap_ok(!icp_has_words("Revenue", "revenue operations"), "the whole phrase is needed");
    tap_ok(!icp_has_words(NULL, "x") && !icp_has_words("x", ""), "NULL title, empty phrase");

    static const struct { const char *title; const char *level; } cases[] = {
        { "CEO", "c-level" }, { "Chief Revenue Officer", "c-level" },
        { "Co-Founder & CTO", "c-level" }, { "President", "c-level" },
        { "Vice President, Marketing", "vp" }, { "SVP Sales", "vp" },
        { "Sales Director EMEA", "director" }, { "Head of Growth", "head" },
        { "Account Manager", "manager" }, { "Team Lead", "manager" },
        { "Software Engineer", "individual" }, { "", "individual" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        tap_is_str(icp_seniority_name(icp_seniority_of(cases[i].title)), cases[i].level,
                   cases[i].title[0] != '\0' ? cases[i].title : "(empty title)");
    enum icp_seniority s;
    tap_ok(icp_seniority_parse("head", &s) == 0 && s == ICP_SENIORITY_HEAD, "parse head");
    tap_is_int(icp_seniority_parse("boss", &s), -EINVAL, "an unknown level");
}

static void test_config(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = load("{}", &errs);
    tap_ok(cfg != NULL && cfg->icp == NULL, "no icp section: nothing to score");
    config_free(cfg);

    cfg = load(good_config, &errs);
    for (size_t i = 0; cfg == NULL && i < errs.count; i++)
        tap_diag("%s: %s", errs.items[i].where, errs.items[i].what);
    tap_ok(cfg != NULL && cfg->icp != NULL, "a full icp section loads");
    if (cfg == NULL) {
        config_errors_free(&errs);
        return;
    }
    const struct icp_rules *r = cfg->icp;
    tap_ok(r->threshold == 50 && r->seniority_on, "threshold; seniority on by default");
    tap_ok(r->seniority[ICP_SENIORITY_VP] == 35 && r->seniority[ICP_SENIORITY_C_LEVEL] == 40 &&
           r->seniority[ICP_SENIORITY_INDIVIDUAL] == -5,
           "seniority overrides keep the other defaults");
    tap_is_int((int64_t)r->n_rules, 6, "six rules");
    tap_is_str(r->rules[3].name, "country", "a rule without a name is named by its field");
    tap_ok(r->rules[2].op == ICP_OP_RANGE && r->rules[2].min == 50 && r->rules[2].max == 1000,
           "range bounds");
    tap_ok(r->rules[4].re_ok, "the regex is compiled at load");
    config_free(cfg);

    cfg = load("{\"icp\": {\"threshold\": 1, \"seniority\": false,"
               " \"rules\": [{\"field\": \"employees\", \"range\": [null, 10], \"points\": 1}]}}",
               &errs);
    tap_ok(cfg != NULL && !cfg->icp->seniority_on && isinf(cfg->icp->rules[0].min),
           "seniority false; an open range end");
    config_free(cfg);

    static const char *const bad =
        "{\"icp\": {\"treshold\": 5, \"seniority\": {\"cxo\": 3, \"vp\": \"many\"},"
        " \"rules\": ["
        "  {\"field\": \"domain\", \"regex\": \"([a-z\", \"points\": 5},"
        "  {\"field\": \"country\", \"equals\": \"FR\", \"in\": [\"DE\"], \"points\": 1},"
        "  {\"field\": \"employees\", \"range\": [100, 10], \"points\": 1},"
        "  {\"title_keywords\": [\"sales\"]},"
        "  {\"field\": \"x\", \"in\": [], \"points\": 1, \"pionts\": 2},"
        "  {\"in\": [\"a\"], \"points\": 1},"
        "  \"sales\""
        " ]}}";
    cfg = load(bad, &errs);
    tap_ok(cfg == NULL, "a bad icp section is refused");
    const struct errbuf *e;
    e = error_at(&errs, "icp.treshold");
    tap_contains(e != NULL ? e->what : "", "threshold", "an unknown key gets a did-you-mean");
    e = error_at(&errs, "icp");
    tap_contains(e != NULL ? e->what : "", "missing required key \"threshold\"",
                 "the threshold is required");
    tap_ok(error_at(&errs, "icp.seniority.cxo") != NULL, "an unknown seniority level");
    e = error_at(&errs, "icp.seniority.vp");
    tap_contains(e != NULL ? e->what : "", "expected a number", "a level's points are numbers");
    e = error_at(&errs, "icp.rules[0].regex");
    tap_contains(e != NULL ? e->what : "", "invalid regex", "a bad regex names its JSON path");
    e = error_at(&errs, "icp.rules[1]");
    tap_contains(e != NULL ? e->what : "", "exactly one of", "two matchers in one rule");
    e = error_at(&errs, "icp.rules[2].range");
    tap_contains(e != NULL ? e->what : "", "min <= max", "a reversed range");
    e = error_at(&errs, "icp.rules[3]");
    tap_contains(e != NULL ? e->what : "", "\"points\"", "points are required");
    e = error_at(&errs, "icp.rules[4].in");
    tap_contains(e != NULL ? e->what : "", "non-empty array", "an empty in list");
    e = error_at(&errs, "icp.rules[4].pionts");
    tap_contains(e != NULL ? e->what : "", "points", "a misspelt rule key gets a hint");
    e = error_at(&errs, "icp.rules[5]");
    tap_contains(e != NULL ? e->what : "", "\"field\"", "in needs a field");
    e = error_at(&errs, "icp.rules[6]");
    tap_contains(e != NULL ? e->what : "", "expected a rule object", "a rule must be an object");
    config_errors_free(&errs);
}

/* The rule entry named name in a breakdown. */
static const json_t *entry(const json_t *b, const char *name)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(b, "rules"), i, e)
        if (strcmp(json_string_value(json_object_get(e, "rule")), name) == 0)
            return e;
    return NULL;
}

static bool matched(const json_t *b, const char *name)
{
    return json_is_true(json_object_get(entry(b, name), "matched"));
}

static const char *why(const json_t *b, const char *name)
{
    const char *w = json_string_value(json_object_get(entry(b, name), "why"));
    return w != NULL ? w : "";
}

static void test_score(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = load(good_config, &errs);
    struct icp_result res;
    if (cfg == NULL) {
        tap_ok(false, "config for scoring");
        return;
    }
    /* Shaped like store_lead_get(): columns, attrs, CSV text values. */
    json_t *lead = json_pack("{s:s, s:s, s:s, s:s, s:s, s:n, s:i, s:i, s:i, s:s, s:{s:s, s:s}}",
                             "email", "ada@acme.io", "email_status", "syntax_ok",
                             "title", "VP Sales", "country", "FR", "domain", "acme.io",
                             "phone", "suppressed", 0, "bounced", 0, "unsubscribed", 0,
                             "stage", "intelligence",
                             "attrs", "industry", "saas", "employees", "250");
    tap_is_int(icp_score(cfg->icp, lead, &res), 0, "a lead scores");
    tap_ok(res.score == 35 + 20 + 15 + 15 + 10 + 5, "every rule adds its points (got %g)",
           res.score);
    tap_ok(res.qualified && res.ready, "qualified and ready");
    const json_t *b = res.breakdown;
    tap_is_str(json_string_value(json_object_get(b, "contact")), "email", "reached by email");
    tap_is_str(json_string_value(json_object_get(b, "seniority")), "vp", "seniority vp");
    tap_is_str(why(b, "seniority"), "title is vp", "why seniority");
    tap_is_str(why(b, "sales title"), "title has \"sales\"", "why the title matched");
    tap_is_str(why(b, "industry"), "industry is SaaS", "in is case-blind, over attrs");
    tap_is_str(why(b, "size"), "employees 250 is in range", "text numbers are numbers");
    tap_ok(matched(b, "country") && matched(b, "tech domain"), "equals and regex match");
    tap_ok(!matched(b, "competitor"), "the negative rule did not match");
    tap_is_str(why(b, "competitor"), "no attrs.competitor", "why: the attribute is missing");
    tap_is_int((int64_t)json_array_size(json_object_get(b, "failed")), 1, "one rule failed");
    tap_ok(json_real_value(json_object_get(entry(b, "competitor"), "points")) == 0,
           "a failed rule gives 0 points");
    json_decref(res.breakdown);

    /* A weak lead: an individual contributor, wrong industry, a bucket size. */
    json_object_set_new(lead, "title", json_string("Salesforce Engineer"));
    json_object_set_new(json_object_get(lead, "attrs"), "industry", json_string("retail"));
    json_object_set_new(json_object_get(lead, "attrs"), "employees", json_string("5001-10000"));
    json_object_set_new(lead, "domain", json_string("acme.com"));
    tap_is_int(icp_score(cfg->icp, lead, &res), 0, "a weak lead scores");
    tap_ok(res.score == -5 + 10, "only seniority (-5) and country (got %g)", res.score);
    tap_ok(!res.qualified && !res.ready, "neither qualified nor ready");
    tap_is_str(why(res.breakdown, "sales title"), "title has none of the keywords",
               "why the title failed");
    tap_is_str(why(res.breakdown, "size"), "employees 7500.5 is out of range",
               "a size bucket counts as its middle");
    tap_is_str(why(res.breakdown, "industry"), "industry is not in the list", "why industry failed");
    tap_is_int((int64_t)json_array_size(json_object_get(res.breakdown, "failed")), 5,
               "the failed rules are listed");
    json_decref(res.breakdown);

    /* Readiness: qualified, but how can we reach them? */
    json_object_set_new(lead, "title", json_string("CEO"));
    json_object_set_new(json_object_get(lead, "attrs"), "industry", json_string("software"));
    json_object_set_new(lead, "email_status", json_string("guessed"));
    icp_score(cfg->icp, lead, &res);
    tap_ok(res.qualified && !res.ready, "a guessed email and no phone: qualified, not ready");
    tap_ok(json_is_null(json_object_get(res.breakdown, "contact")), "no contact");
    json_decref(res.breakdown);
    json_object_set_new(lead, "phone", json_string("+33142685300"));
    icp_score(cfg->icp, lead, &res);
    tap_ok(res.ready, "a phone makes it ready");
    tap_is_str(json_string_value(json_object_get(res.breakdown, "contact")), "phone",
               "reached by phone");
    json_decref(res.breakdown);
    json_object_set_new(lead, "email_status", json_string("verified"));
    json_object_set_new(lead, "suppressed", json_integer(1));
    icp_score(cfg->icp, lead, &res);
    tap_ok(res.qualified && !res.ready, "a suppressed lead is never ready");
    json_decref(res.breakdown);
    json_object_set_new(lead, "suppressed", json_integer(0));
    json_object_set_new(json_object_get(lead, "attrs"), "competitor", json_true());
    icp_score(cfg->icp, lead, &res);
    tap_ok(res.score < 0 && !res.qualified, "a negative rule disqualifies (got %g)", res.score);
    json_decref(res.breakdown);
    json_decref(lead);

    /* Threshold edge: exactly at the threshold qualifies. */
    lead = json_pack("{s:s, s:s}", "email", "b@x.org", "title", "CEO");
    struct icp_rules edge = { .threshold = 40, .seniority_on = true };
    icp_seniority_defaults(edge.seniority);
    icp_score(&edge, lead, &res);
    tap_ok(res.score == 40 && res.qualified && res.ready, "at the threshold: qualified");
    json_decref(res.breakdown);
    json_decref(lead);
    config_free(cfg);
}

static int pragma_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int v = -1;
    sqlite3_open(path, &db);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static void test_store(void)
{
    uv_loop_t loop;
    struct st_wait w = { 0 };
    struct errbuf err = { 0 };
    struct store *st = NULL;
    char path[600];
    int64_t ids[4];
    size_t n = 0;
    json_t *got = NULL;

    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/icp.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opens");
    const char *emails[] = { "a@x.org", "b@x.org", "c@x.org" };
    int64_t lead[3];
    for (int i = 0; i < 3; i++) {
        struct store_lead_in in = { .email = emails[i] };
        tap_is_int(ST_WAIT(&loop, &w, store_lead_upsert(st, &in, NULL, st_on_done, &w)), 0,
                   "a lead");
        lead[i] = w.id;
    }
    json_t *b = json_pack("{s:f, s:[]}", "score", 12.5, "rules");
    tap_is_int(ST_WAIT(&loop, &w, store_icp_save(st, lead[1], 12.5, false, b, st_on_done, &w)),
               0, "the score is saved");
    tap_is_int(store_icp_get(st, lead[1], &got), 0, "and read back");
    tap_ok(json_real_value(json_object_get(got, "score")) == 12.5 &&
           json_is_integer(json_object_get(got, "scored_at")), "with scored_at");
    json_decref(got);
    json_t *l = NULL;
    store_lead_get(st, lead[1], &l);
    tap_ok(json_real_value(json_object_get(l, "icp_score")) == 12.5, "leads.icp_score is set");
    json_decref(l);
    json_object_set_new(b, "score", json_real(60));
    tap_is_int(ST_WAIT(&loop, &w, store_icp_save(st, lead[1], 60, true, b, st_on_done, &w)),
               0, "a rescoring replaces it");
    store_icp_get(st, lead[1], &got);
    tap_ok(json_real_value(json_object_get(got, "score")) == 60, "the new breakdown is there");
    json_decref(got);
    tap_is_int(store_icp_get(st, lead[0], &got), -ENOENT, "never scored: -ENOENT");
    tap_is_int(ST_WAIT(&loop, &w, store_icp_save(st, 999, 1, false, b, st_on_done, &w)),
               -ENOENT, "an unknown lead: -ENOENT");
    json_decref(b);

    tap_is_int(ST_WAIT(&loop, &w, store_stage_move(st, lead[0], "prospecting", "prospector",
                                                   NULL, 0, NULL, NULL, st_on_done, &w)),
               0, "one lead leaves intelligence");
    tap_is_int(store_leads_in_stage(st, "intelligence", 0, ids, 1, &n), 0, "page 1");
    tap_ok(n == 1 && ids[0] == lead[1], "the first intelligence lead");
    store_leads_in_stage(st, "intelligence", ids[0], ids, 4, &n);
    tap_ok(n == 1 && ids[0] == lead[2], "page 2 after the cursor");
    store_leads_in_stage(st, "intelligence", lead[2], ids, 4, &n);
    tap_is_int((int64_t)n, 0, "then none");
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);

    /* A version 1 store (no lead_icp) is brought to the current version. */
    char old[700];
    snprintf(old, sizeof(old), "%s.v1", path);
    tap_is_int(store_create_at_version(old, 1, &err), 0, "a store as version 1 made it");
    tap_is_int(pragma_int(old, "PRAGMA user_version"), 1, "the file is at version 1");
    tap_is_int(store_open(&loop, old, &st, &err), 0, "a version 1 store opens");
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(pragma_int(old, "PRAGMA user_version"), STORE_SCHEMA_VERSION, "migrated to the current version");
    tap_is_int(pragma_int(old, "SELECT count(*) FROM sqlite_master WHERE name = 'lead_icp'"),
               1, "lead_icp exists");
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes");
}

int main(void)
{
    test_words();
    test_config();
    test_score();
    test_store();
    return tap_done();
}
