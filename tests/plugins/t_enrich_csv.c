/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_enrich_csv.c: plugins/enrich_csv through the real loader
 * (dlopen of the built .so) on a real uv loop and threadpool, against the
 * CSV fixtures in tests/fixtures/enrich/: a BOM, CRLF line ends, quoted
 * fields holding commas and a line break, a semicolon file keyed by email
 * with a map, a tab file; bad rows are logged with their line numbers and
 * skipped; "www." and URLs in the key column; integers become JSON integers
 * (a ZIP code with a leading zero and a decimal stay text); a missing key
 * column or an unreadable file fails init naming the file; provides and
 * cache_key; enrich never completes from inside itself. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

struct got {
    int calls;
    enum drumbeat_outcome outcome;
    json_t *attrs;
};

static void on_enriched(void *arg, const struct drumbeat_result *res, json_t *attrs,
                        int64_t cache_ttl_ms)
{
    struct got *g = arg;
    (void)cache_ttl_ms;
    g->calls++;
    g->outcome = res->outcome;
    json_decref(g->attrs);
    g->attrs = attrs;
}

static bool got_one(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static char *plugin_dirs[2];

static struct plugins *load(uv_loop_t *loop, json_t *opts, struct config_plugin_instance *ci)
{
    struct config cfg = { .path = "enrich.json", .enrichers = ci, .n_enrichers = 1,
                          .plugin_path = plugin_dirs };
    struct plugins *p = NULL;

    *ci = test_instance("firmo", "enrich_csv", opts);
    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    return p;
}

static const char *state_of(struct plugins *p)
{
    static char state[32];
    json_t *st = plugins_status_json(p);
    snprintf(state, sizeof(state), "%s",
             json_string_value(json_object_get(json_array_get(st, 0), "state")) ?: "?");
    json_decref(st);
    return state;
}

/* Enriches lead (a JSON text) and waits: the attrs, or NULL. */
static json_t *enrich(uv_loop_t *loop, struct plugins *p, const char *lead_text, int *outcome,
                      bool *sync)
{
    struct got g = { 0 };
    json_t *lead = json_loads(lead_text, 0, NULL);
    int rc = plugins_enrich(p, "firmo", lead, on_enriched, &g);

    if (sync != NULL)
        *sync = g.calls > 0;
    json_decref(lead);
    if (rc < 0 || !test_run_until(loop, got_one, &g, 5000)) {
        *outcome = rc < 0 ? rc : -ETIMEDOUT;
        return NULL;
    }
    *outcome = (int)g.outcome;
    return g.attrs;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void firmographics_by_domain(uv_loop_t *loop)
{
    const char *path = tap_srcpath("tests/fixtures/enrich/csv_firmo.csv");
    char *text = test_slurp(path);
    struct config_plugin_instance ci;
    int outcome;
    bool sync = true;

    tap_ok(text != NULL && strncmp(text, "\xef\xbb\xbf", 3) == 0 && strstr(text, "\r\n") != NULL,
           "the fixture starts with a BOM and has CRLF line ends");
    free(text);
    test_capture_start();
    struct plugins *p = load(loop, json_pack("{s:s}", "file", path), &ci);
    char *log = test_capture_end();
    tap_is_str(state_of(p), "running", "enrich_csv loads despite bad rows");
    tap_contains(log, "line=5 reason=\"malformed quoting", "a malformed row is logged with its line");
    tap_contains(log, "line=6 reason=\"expected 6 fields as in the header, got 3\"",
                 "a short row is logged with its line");
    tap_contains(log, "line=8 reason=\"empty key\"", "a row without a key is logged");
    tap_contains(log, "line=9 reason=\"duplicate key \\\"acme.com\\\": the row at line 2 is kept\"",
                 "a duplicate key is logged with both lines");
    tap_contains(log, "csv_firmo.csv", "the warnings name the file");
    tap_contains(log, "rows=4 fields=5", "4 good rows and 5 fields are loaded");
    free(log);

    const char *const *prov = plugins_enricher_provides(p, "firmo");
    tap_ok(prov != NULL && prov[0] && strcmp(prov[0], "company_name") == 0 && prov[1] &&
           strcmp(prov[1], "employees") == 0 && prov[2] && strcmp(prov[2], "industry") == 0 &&
           prov[3] && strcmp(prov[3], "hq_zip") == 0 && prov[4] &&
           strcmp(prov[4], "revenue") == 0 && prov[5] == NULL,
           "provides: the other columns, lower-cased, blanks as _");

    json_t *a = enrich(loop, p, "{\"domain\": \"acme.com\", \"attrs\": {}}", &outcome, &sync);
    tap_ok(!sync, "enrich does not complete from inside the call");
    tap_is_int(outcome, DRUMBEAT_DONE, "a known domain: DONE");
    tap_is_str(str(a, "company_name"), "Acme, Inc.", "a quoted field keeps its comma (www. stripped "
               "from the file's key)");
    tap_ok(json_is_integer(json_object_get(a, "employees")) &&
           json_integer_value(json_object_get(a, "employees")) == 250,
           "an integer column becomes a JSON integer");
    tap_is_str(str(a, "hq_zip"), "02134", "a leading zero stays text");
    tap_is_str(str(a, "revenue"), "12.5", "a decimal stays text");
    json_decref(a);

    a = enrich(loop, p, "{\"email\": \"jane@Globex.com\"}", &outcome, NULL);
    tap_is_str(str(a, "company_name"), "Globex\r\nCorporation",
               "no domain field: the email's domain; a quoted line break is kept");
    tap_is_str(str(a, "industry"), "Energy, Oil & Gas", "quoted comma in a later column");
    tap_ok(json_integer_value(json_object_get(a, "revenue")) == -3, "a negative integer");
    json_decref(a);

    a = enrich(loop, p, "{\"domain\": \" WWW.Umbrella.Example \"}", &outcome, NULL);
    tap_is_str(str(a, "company_name"), "Umbrella", "a URL key in the file and www. in the lead match");
    tap_ok(json_object_get(a, "hq_zip") == NULL, "an empty cell is not an attribute");
    json_decref(a);

    a = enrich(loop, p, "{\"domain\": \"initech.com\"}", &outcome, NULL);
    tap_ok(json_integer_value(json_object_get(a, "employees")) == 300,
           "the good initech row (line 10) wins over the bad one (line 5)");
    tap_is_str(str(a, "hq_zip"), "00501", "... a quoted key column works");
    json_decref(a);

    a = enrich(loop, p, "{\"domain\": \"hooli.com\"}", &outcome, NULL);
    tap_ok(outcome == DRUMBEAT_DONE && a == NULL, "a skipped row's domain: DONE with nothing");
    json_decref(a);
    a = enrich(loop, p, "{\"domain\": \"nowhere.test\"}", &outcome, NULL);
    tap_ok(outcome == DRUMBEAT_DONE && a == NULL, "an unknown domain: DONE with nothing");
    json_decref(a);

    char key[128];
    json_t *lead = json_pack("{s:s}", "domain", "acme.com");
    tap_is_int(plugins_enrich_cache_key(p, "firmo", lead, key, sizeof(key)), -EAGAIN,
               "cache_key: a local lookup is not cached");
    json_decref(lead);
    lead = json_pack("{s:s, s:{}}", "first_name", "Ada", "attrs");
    tap_is_int(plugins_enrich_cache_key(p, "firmo", lead, key, sizeof(key)), -ENOENT,
               "cache_key: no domain and no email: -ENOENT");
    json_decref(lead);
    plugins_free(p);
    test_instance_clear(&ci);
}

static void email_key_semicolon_and_map(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    int outcome;
    json_t *opts = json_pack("{s:s, s:s, s:s}",
                             "file", tap_srcpath("tests/fixtures/enrich/csv_people_semicolon.csv"),
                             "key", "email", "map", "Title=title, seats = employees");
    struct plugins *p = load(loop, opts, &ci);

    tap_is_str(state_of(p), "running", "a semicolon file keyed by email loads");
    const char *const *prov = plugins_enricher_provides(p, "firmo");
    tap_ok(prov != NULL && prov[0] && strcmp(prov[0], "title") == 0 && prov[1] &&
           strcmp(prov[1], "employees") == 0 && prov[2] == NULL, "provides: the map's fields");
    json_t *a = enrich(loop, p, "{\"email\": \"ada@lovelace.io\", \"domain\": \"other.test\"}",
                       &outcome, NULL);
    tap_is_str(str(a, "title"), "CTO", "key=email matches case-insensitively");
    tap_ok(json_integer_value(json_object_get(a, "employees")) == 12 &&
           json_object_get(a, "first_name") == NULL, "only mapped columns, renamed");
    json_decref(a);
    a = enrich(loop, p, "{\"email\": \"Bob@Example.ORG\"}", &outcome, NULL);
    tap_is_str(str(a, "title"), "Head; of Sales", "a quoted delimiter stays in its field");
    json_decref(a);
    char key[64];
    json_t *lead = json_pack("{s:s}", "domain", "lovelace.io");
    tap_is_int(plugins_enrich_cache_key(p, "firmo", lead, key, sizeof(key)), -ENOENT,
               "key=email and no email: -ENOENT");
    json_decref(lead);
    plugins_free(p);
    test_instance_clear(&ci);

    p = load(loop, json_pack("{s:s, s:s}", "file", tap_srcpath("tests/fixtures/enrich/csv_tab.tsv"),
                             "delimiter", "tab"), &ci);
    a = enrich(loop, p, "{\"domain\": \"foo.com\"}", &outcome, NULL);
    tap_ok(json_integer_value(json_object_get(a, "employees")) == 42 &&
           strcmp(str(a, "note") ?: "", "tab\there") == 0, "delimiter tab");
    json_decref(a);
    plugins_free(p);
    test_instance_clear(&ci);
}

/* 100k rows: the table grows many times; every row stays findable. */
static void a_large_file(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    char path[700];
    int outcome;

    snprintf(path, sizeof(path), "%s/large.csv", tap_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("domain,company,employees\n", f);
    for (int i = 0; i < 100000; i++)
        fprintf(f, "d%06d.example,\"Company %d, Ltd\",%d\n", i, i, i + 1);
    fclose(f);
    struct plugins *p = load(loop, json_pack("{s:s}", "file", path), &ci);
    json_t *a = enrich(loop, p, "{\"domain\": \"D099999.example\"}", &outcome, NULL);
    tap_ok(json_integer_value(json_object_get(a, "employees")) == 100000 &&
           strcmp(str(a, "company") ?: "", "Company 99999, Ltd") == 0,
           "a 100k-row file: the last row is found");
    json_decref(a);
    a = enrich(loop, p, "{\"domain\": \"d000000.example\"}", &outcome, NULL);
    tap_ok(json_integer_value(json_object_get(a, "employees")) == 1, "... and the first");
    json_decref(a);
    plugins_free(p);
    test_instance_clear(&ci);
}

static void init_errors(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    const char *nokey = tap_srcpath("tests/fixtures/enrich/csv_no_key.csv");

    test_capture_start();
    struct plugins *p = load(loop, json_pack("{s:s}", "file", nokey), &ci);
    char *log = test_capture_end();
    tap_is_str(state_of(p), "failed", "no key column: the instance fails");
    tap_contains(log, "csv_no_key.csv", "... the error names the file");
    tap_contains(log, "expected a header with the key column \\\"domain\\\"",
                 "... and says what was expected");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    char missing[700];
    snprintf(missing, sizeof(missing), "%s/nope.csv", tap_tmpdir());
    test_capture_start();
    p = load(loop, json_pack("{s:s}", "file", missing), &ci);
    log = test_capture_end();
    tap_is_str(state_of(p), "failed", "an unreadable file: the instance fails");
    tap_contains(log, "nope.csv", "... naming the file");
    tap_contains(log, "cannot read the file (No such file or directory)", "... and why");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    test_capture_start();
    p = load(loop, json_pack("{s:s, s:s, s:s}", "file", nokey, "key_column", "company", "map",
                             "employees=employees,size=headcount"), &ci);
    log = test_capture_end();
    tap_is_str(state_of(p), "failed", "a map naming a missing column: the instance fails");
    tap_contains(log, "the map names column \\\"size\\\"", "... naming the column");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
}

int main(void)
{
    uv_loop_t loop;

    tap_plan(44);
    plugin_dirs[0] = strdup(tap_buildpath("plugins/enrich_csv/.libs"));
    uv_loop_init(&loop);
    firmographics_by_domain(&loop);
    email_key_semicolon_and_map(&loop);
    a_large_file(&loop);
    init_errors(&loop);
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    free(plugin_dirs[0]);
    return tap_done();
}
