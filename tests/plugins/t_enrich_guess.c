/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_enrich_guess.c: plugins/enrich_guess through the real
 * loader (dlopen of the built .so) on a real uv loop and threadpool: the six
 * patterns in the order of the default prior, a domain_priors file that
 * reorders them (the patterns it leaves out scaled down), accents, hyphens,
 * particles and apostrophes in names, an address two patterns make alike
 * listed once, an undeliverable domain gives no candidates, leads without
 * the parts (or with an address) get -ENOENT from cache_key, a bad prior or
 * priors file fails init naming it, and no answer ever says "verified". */
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

static char *plugin_dirs[2];
static bool said_verified;
static int sync_completions;      /* completions from inside enrich(): must stay 0 */

static void on_enriched(void *arg, const struct drumbeat_result *res, json_t *attrs,
                        int64_t cache_ttl_ms)
{
    struct got *g = arg;
    (void)cache_ttl_ms;
    g->calls++;
    g->outcome = res->outcome;
    g->attrs = attrs;
    char *text = attrs != NULL ? json_dumps(attrs, 0) : NULL;
    if (text != NULL && strstr(text, "verified") != NULL)
        said_verified = true;
    free(text);
}

static bool got_one(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static struct plugins *load(uv_loop_t *loop, json_t *opts, struct config_plugin_instance *ci)
{
    struct config cfg = { .path = "enrich.json", .enrichers = ci, .n_enrichers = 1,
                          .plugin_path = plugin_dirs };
    struct plugins *p = NULL;

    *ci = test_instance("guess", "enrich_guess", opts);
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

static json_t *enrich(uv_loop_t *loop, struct plugins *p, json_t *lead, int *outcome)
{
    struct got g = { 0 };
    int rc = plugins_enrich(p, "guess", lead, on_enriched, &g);

    json_decref(lead);
    if (rc == 0 && g.calls > 0)
        sync_completions++;
    if (rc < 0 || !test_run_until(loop, got_one, &g, 5000)) {
        *outcome = rc < 0 ? rc : -ETIMEDOUT;
        return NULL;
    }
    *outcome = (int)g.outcome;
    return g.attrs;
}

static json_t *person(const char *first, const char *last, const char *domain)
{
    return json_pack("{s:s, s:s, s:s, s:{}}", "first_name", first, "last_name", last,
                     "domain", domain, "attrs");
}

/* "email:pattern:score|..." of the candidates, for one-line comparisons. */
static const char *summary(const json_t *attrs, bool scores)
{
    static char buf[2048];
    size_t i;
    json_t *c;

    buf[0] = '\0';
    json_array_foreach(json_object_get(attrs, "email_candidates"), i, c) {
        size_t n = strlen(buf);
        if (scores)
            snprintf(buf + n, sizeof(buf) - n, "%s%s:%s:%.4f", i ? "|" : "",
                     json_string_value(json_object_get(c, "email")),
                     json_string_value(json_object_get(c, "pattern")),
                     json_real_value(json_object_get(c, "score")));
        else
            snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "|" : "",
                     json_string_value(json_object_get(c, "email")));
    }
    return buf;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static void default_prior(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    int outcome;
    struct plugins *p = load(loop, json_object(), &ci);

    tap_is_str(state_of(p), "running", "enrich_guess loads with the default prior");
    const char *const *prov = plugins_enricher_provides(p, "guess");
    tap_ok(prov != NULL && strcmp(prov[0], "email") == 0 && prov[1] == NULL,
           "provides: email");

    json_t *a = enrich(loop, p, person("Ada", "Lovelace", "Example.COM"), &outcome);
    tap_is_int(outcome, DRUMBEAT_DONE, "a name and a domain: DONE");
    tap_is_str(summary(a, true),
               "ada.lovelace@example.com:first.last:0.4500|alovelace@example.com:flast:0.2000|"
               "ada@example.com:first:0.1200|adalovelace@example.com:firstlast:0.1000|"
               "a.lovelace@example.com:f.last:0.0800|lovelace@example.com:last:0.0500",
               "all six patterns, best first, with their prior scores");
    tap_is_str(str(a, "email"), "ada.lovelace@example.com", "email is the best candidate");
    tap_is_str(str(a, "email_status"), "guessed", "email_status is guessed");
    json_decref(a);

    a = enrich(loop, p, person("Zoë", "Weiß-Ødegård", "www.x.example"), &outcome);
    tap_is_str(str(a, "email"), "zoe.weiss-odegard@x.example",
               "accents stripped (ë->e, ß->ss, Ø->o, å->a), hyphen kept, www. dropped");
    json_decref(a);
    a = enrich(loop, p, person("Łukasz", "Żółć", "pl.example"), &outcome);
    tap_is_str(str(a, "email"), "lukasz.zolc@pl.example", "Polish letters (Latin Extended-A)");
    json_decref(a);
    a = enrich(loop, p, person("Jose\xcc\x81", "Müller", "de.example"), &outcome);
    tap_is_str(str(a, "email"), "jose.muller@de.example",
               "a decomposed accent is dropped, ü->u");
    json_decref(a);
    a = enrich(loop, p, person("Jean-Luc", "Picard", "fed.example"), &outcome);
    tap_is_str(summary(a, false),
               "jean-luc.picard@fed.example|jpicard@fed.example|jean-luc@fed.example|"
               "jean-lucpicard@fed.example|j.picard@fed.example|picard@fed.example",
               "a hyphenated first name: kept whole, its initial for flast and f.last");
    json_decref(a);
    a = enrich(loop, p, person(" Mary Ann ", "van der Berg", "nl.example"), &outcome);
    tap_is_str(str(a, "email"), "maryann.vanderberg@nl.example", "spaces are removed");
    json_decref(a);
    a = enrich(loop, p, person("Sean", "O'Brien", "ie.example"), &outcome);
    tap_is_str(str(a, "email"), "sean.obrien@ie.example", "an apostrophe is dropped");
    json_decref(a);
    a = enrich(loop, p, person("J", "Smith", "one.example"), &outcome);
    tap_is_str(summary(a, false),
               "j.smith@one.example|jsmith@one.example|j@one.example|smith@one.example",
               "addresses two patterns make alike are listed once");
    json_decref(a);

    json_t *lead = person("Ada", "Lovelace", "dead.example");
    json_object_set_new(json_object_get(lead, "attrs"), "domain_status",
                        json_string("undeliverable"));
    a = enrich(loop, p, lead, &outcome);
    tap_ok(outcome == DRUMBEAT_DONE && json_object_get(a, "email") == NULL &&
           json_is_array(json_object_get(a, "email_candidates")) &&
           json_array_size(json_object_get(a, "email_candidates")) == 0,
           "an undeliverable domain: DONE, no email, empty email_candidates");
    json_decref(a);

    char key[64];
    struct { json_t *lead; const char *why; } none[] = {
        { json_pack("{s:s, s:s}", "first_name", "Ada", "domain", "example.com"), "no last name" },
        { json_pack("{s:s, s:s}", "first_name", "Ada", "last_name", "Lovelace"), "no domain" },
        { json_pack("{s:s, s:s, s:s, s:s}", "first_name", "Ada", "last_name", "Lovelace",
                    "domain", "example.com", "email", "ada@example.com"), "an address already" },
        { person("李", "王", "cn.example"), "a name with no Latin letters" },
        { person("Ada", "Lovelace", "not a domain"), "a domain that is no host name" },
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        char name[96];
        snprintf(name, sizeof(name), "cache_key -ENOENT: %s", none[i].why);
        tap_is_int(plugins_enrich_cache_key(p, "guess", none[i].lead, key, sizeof(key)), -ENOENT,
                   name);
        json_decref(none[i].lead);
    }
    lead = person("Ada", "Lovelace", "example.com");
    tap_is_int(plugins_enrich_cache_key(p, "guess", lead, key, sizeof(key)), -EAGAIN,
               "cache_key -EAGAIN: pure computation is not cached");
    json_decref(lead);
    a = enrich(loop, p, json_pack("{s:s}", "first_name", "Ada"), &outcome);
    tap_ok(outcome == DRUMBEAT_DONE && a == NULL, "enriched anyway without the parts: nothing");
    json_decref(a);
    plugins_free(p);
    test_instance_clear(&ci);
}

static void domain_priors(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    char path[700];
    int outcome;

    snprintf(path, sizeof(path), "%s/priors.json", tap_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("{\"flast.example\": {\"flast\": 0.92},\n"
          " \"WWW.Mixed.Example\": {\"first\": 0.5, \"last\": 0.3}}\n", f);
    fclose(f);
    struct plugins *p = load(loop, json_pack("{s:s}", "domain_priors", path), &ci);
    tap_is_str(state_of(p), "running", "loads with a domain_priors file");

    json_t *a = enrich(loop, p, person("Ada", "Lovelace", "flast.example"), &outcome);
    tap_is_str(summary(a, true),
               "alovelace@flast.example:flast:0.9200|ada.lovelace@flast.example:first.last:0.0450|"
               "ada@flast.example:first:0.0120|adalovelace@flast.example:firstlast:0.0100|"
               "a.lovelace@flast.example:f.last:0.0080|lovelace@flast.example:last:0.0050",
               "the domain's prior puts flast first; the rest share what is left");
    tap_is_str(str(a, "email"), "alovelace@flast.example", "... and email follows it");
    json_decref(a);
    a = enrich(loop, p, person("Ada", "Lovelace", "mixed.example"), &outcome);
    tap_is_str(summary(a, false),
               "ada@mixed.example|lovelace@mixed.example|ada.lovelace@mixed.example|"
               "alovelace@mixed.example|adalovelace@mixed.example|a.lovelace@mixed.example",
               "a domain key with www. and capitals in the file matches");
    json_decref(a);
    a = enrich(loop, p, person("Ada", "Lovelace", "other.example"), &outcome);
    tap_is_str(str(a, "email"), "ada.lovelace@other.example", "other domains keep the global prior");
    json_decref(a);
    plugins_free(p);
    test_instance_clear(&ci);

    p = load(loop, json_pack("{s:s}", "prior", "flast:1, last : 0.5"), &ci);
    a = enrich(loop, p, person("Ada", "Lovelace", "example.com"), &outcome);
    tap_is_str(summary(a, false), "alovelace@example.com|lovelace@example.com",
               "a prior option: patterns it leaves out are not proposed");
    json_decref(a);
    plugins_free(p);
    test_instance_clear(&ci);
}

static void init_errors(uv_loop_t *loop)
{
    struct config_plugin_instance ci;
    char path[700];

    snprintf(path, sizeof(path), "%s/bad_priors.json", tap_tmpdir());
    FILE *f = fopen(path, "w");
    fputs("{\"example.com\": {\"first_last\": 0.5}}", f);
    fclose(f);
    test_capture_start();
    struct plugins *p = load(loop, json_pack("{s:s}", "domain_priors", path), &ci);
    char *log = test_capture_end();
    tap_is_str(state_of(p), "failed", "an unknown pattern in the priors file fails init");
    tap_contains(log, "bad_priors.json", "... naming the file");
    tap_contains(log, "where=\"\\\"example.com\\\".first_last\"", "... and the JSON path");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);

    test_capture_start();
    p = load(loop, json_pack("{s:s}", "prior", "first.last:2"), &ci);
    log = test_capture_end();
    tap_is_str(state_of(p), "failed", "a weight above 1 in prior fails init");
    tap_contains(log, "expected a weight between 0 and 1", "... saying what was expected");
    free(log);
    plugins_free(p);
    test_instance_clear(&ci);
}

int main(void)
{
    uv_loop_t loop;

    tap_plan(35);
    plugin_dirs[0] = strdup(tap_buildpath("plugins/enrich_guess/.libs"));
    uv_loop_init(&loop);
    default_prior(&loop);
    domain_priors(&loop);
    init_errors(&loop);
    tap_ok(!said_verified, "no answer ever said \"verified\"");
    tap_is_int(sync_completions, 0, "no enrich completed from inside the call");
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    free(plugin_dirs[0]);
    return tap_done();
}
