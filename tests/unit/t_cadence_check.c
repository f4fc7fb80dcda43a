/* SPDX-License-Identifier: MIT */
/* tests/unit/t_cadence_check.c: the launch check (cadence_check.h) against a
 * real config, the real template files of tests/fixtures/cadence_ops and
 * cadences loaded from text: a good cadence passes; a template without the
 * postal address, one that refuses the sample lead, a config without a
 * postal address or unsubscribe secret, an unknown mailbox and a throttle the caps
 * cannot carry are each reported with where and the numbers. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_check.h"
#include "cadence_def.h"
#include "compose.h"
#include "daemon.h"
#include "tap.h"
#include "template_file.h"

static struct template_set *templates;

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static struct config *load_config(const char *extra)
{
    const char *dir = tap_tmpdir();
    char path[PATH_MAX], *text = NULL;
    struct config *cfg = NULL;
    struct config_errors errs = { 0 };

    snprintf(path, sizeof(path), "%s/unsub.secret", dir);
    write_file(path, "0123456789abcdef0123456789abcdef\n");
    if (asprintf(&text, "{\"channels\": [{\"name\": \"outbox\", \"plugin\": \"example_channel\"}],"
                 " \"mailboxes\": [{\"name\": \"ada\", \"address\": \"ada@example.com\","
                 "  \"channel\": \"outbox\", \"daily_cap\": 60},"
                 "  {\"name\": \"bob\", \"address\": \"bob@example.com\", \"channel\": \"outbox\","
                 "  \"daily_cap\": 40}]%s}", extra) < 0)
        exit(2);
    if (config_load_string(text, strlen(text), "t.json", dir, &cfg, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            tap_diag("%s: %s", errs.items[i].where, errs.items[i].what);
        tap_ok(false, "the test config loads");
        exit(tap_done());
    }
    config_errors_free(&errs);
    free(text);
    return cfg;
}

static const char full[] =
    ", \"public_url\": \"https://links.example.com\","
    " \"templates\": {\"unsubscribe_secret_file\": \"unsub.secret\"},"
    " \"company\": {\"name\": \"Example Ltd\", \"postal_address\": \"1 Example Street, Paris\"}";

/* Loads a cadence from text (mailboxes taken on trust: cfg is not given,
 * so the check is what finds an unknown one) and checks it. */
static json_t *check(struct config *cfg, const char *name, const char *text)
{
    /* Template names are taken on trust too for the one test of an unknown
     * template ("ghost-..."). */
    struct cadence_env env = { .cfg = NULL,
                               .templates = strstr(text, "ghost-") ? NULL : templates };
    struct config_errors errs = { 0 };
    struct cadence_def *def = NULL;
    char file[256];
    json_t *problems = NULL;
    snprintf(file, sizeof(file), "%s.json", name);
    if (cadence_def_load_string(text, strlen(text), file, &env, &def, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            tap_diag("%s: %s", errs.items[i].where, errs.items[i].what);
        config_errors_free(&errs);
        tap_diag("the cadence %s did not load", name);
        return json_array();
    }
    struct daemon d = { .cfg = cfg, .templates = templates };
    if (cadence_check(&d, def, &problems) != 0)
        problems = json_array();
    cadence_def_free(def);
    config_errors_free(&errs);
    return problems;
}

/* The problems as "check|where|problem" lines. */
static char *lines(const json_t *problems)
{
    size_t i, len = 0;
    json_t *p;
    char *out = calloc(1, 1);
    json_array_foreach(problems, i, p) {
        char *line = NULL;
        if (asprintf(&line, "%s|%s|%s\n", json_string_value(json_object_get(p, "check")),
                     json_string_value(json_object_get(p, "where")),
                     json_string_value(json_object_get(p, "problem"))) < 0)
            exit(2);
        out = realloc(out, len + strlen(line) + 1);
        strcpy(out + len, line);
        len += strlen(line);
        free(line);
    }
    return out;
}

#define STEPS(t1, t2) \
    "\"timezone\": \"Europe/Paris\", \"steps\": [{\"name\": \"intro\", \"type\": \"email\", \"template\": \"" t1 "\"}," \
    " {\"type\": \"wait\", \"business_days\": 2}," \
    " {\"name\": \"follow\", \"type\": \"email\", \"template\": \"" t2 "\"}]"

int main(void)
{
    struct config_errors errs = { 0 };
    tap_plan(12);
    compose_init();
    if (template_set_load(tap_srcpath("tests/fixtures/cadence_ops/templates"), &templates,
                          &errs) != 0) {
        tap_ok(false, "the fixture templates load");
        return tap_done();
    }
    struct config *cfg = load_config(full);
    json_t *p;
    char *text;

    json_t *lead = cadence_check_sample_lead(NULL);
    tap_ok(json_integer_value(json_object_get(lead, "id")) == 1 &&
           json_object_get(lead, "first_name") != NULL &&
           json_object_get(lead, "lawful_basis") != NULL, "the sample lead has an id, names, a basis");
    json_decref(lead);

    p = check(cfg, "good", "{\"mailboxes\": [\"ada\", \"bob\"], " STEPS("ops-intro", "ops-follow") "}");
    tap_is_int((long long)json_array_size(p), 0, "a good cadence has no problem");
    json_decref(p);

    p = check(cfg, "bad", "{\"mailboxes\": [\"ada\"], " STEPS("ops-intro", "no-address") "}");
    text = lines(p);
    tap_is_int((long long)json_array_size(p), 1, "a template without the postal address: one problem");
    tap_contains(text, "postal_address|no-address|the text part does not carry the postal address "
                 "\"1 Example Street, Paris\"", "named with the template and the address");
    free(text);
    json_decref(p);

    p = check(cfg, "ab", "{\"mailboxes\": [\"ada\"], \"timezone\": \"UTC\", \"steps\": [{\"type\": \"email\", \"variants\": "
              "[{\"template\": \"ops-intro\", \"weight\": 1}, {\"template\": \"needs-attr\", "
              "\"weight\": 1}]}]}");
    text = lines(p);
    tap_contains(text, "template|needs-attr|refuses the sample lead (missing favourite_colour)",
                 "an A/B variant that refuses the sample lead is a problem");
    free(text);
    json_decref(p);

    p = check(cfg, "ghost", "{\"mailboxes\": [\"ada\", \"ghost\"], " STEPS("ops-intro", "ops-follow") "}");
    text = lines(p);
    tap_contains(text, "mailbox|mailboxes[1]|mailbox \"ghost\" is not configured",
                 "an unknown mailbox is a problem, with its JSON path");
    free(text);
    json_decref(p);

    p = check(cfg, "busy", "{\"mailboxes\": [\"ada\", \"bob\"], \"throttle\": {\"new_per_day\": 60}, "
              STEPS("ops-intro", "ops-follow") "}");
    text = lines(p);
    tap_contains(text, "caps|throttle.new_per_day|new_per_day 60 x 2 email steps = 120 emails a day "
                 "at full run, but the mailboxes' daily caps sum to 100 (ada 60, bob 40): lower "
                 "new_per_day to 50", "a throttle over the caps, with the numbers");
    free(text);
    json_decref(p);
    p = check(cfg, "fits", "{\"mailboxes\": [\"ada\", \"bob\"], \"throttle\": {\"new_per_day\": 50}, "
              STEPS("ops-intro", "ops-follow") "}");
    tap_is_int((long long)json_array_size(p), 0, "50 x 2 fits in 100");
    json_decref(p);

    p = check(cfg, "gone", "{\"mailboxes\": [\"ada\"], " STEPS("ops-intro", "ghost-follow") "}");
    text = lines(p);
    tap_contains(text, "template|steps[2].template|no email template named \"ghost-follow\"",
                 "a template that is not in the set, with the step's JSON path");
    free(text);
    json_decref(p);
    config_free(cfg);

    /* A config without a postal address or public_url. */
    cfg = load_config("");
    p = check(cfg, "good", "{\"mailboxes\": [\"ada\"], " STEPS("ops-intro", "ops-follow") "}");
    text = lines(p);
    tap_contains(text, "postal_address|config company.postal_address|no postal address is configured",
                 "no postal address in the config");
    /* (public_url has a default; the secret has none) */
    tap_contains(text, "unsubscribe_link|config templates.unsubscribe_secret_file|no unsubscribe "
                 "link can be made: set templates.unsubscribe_secret_file",
                 "no unsubscribe link can be made without a secret");
    tap_is_int((long long)json_array_size(p), 2, "each said once, not per template");
    free(text);
    json_decref(p);
    config_free(cfg);

    template_set_free(templates);
    return tap_done();
}
