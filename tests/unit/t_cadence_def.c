/* SPDX-License-Identifier: MIT */
/* tests/unit/t_cadence_def.c: cadence definitions against real files
 * (tests/fixtures/cadences/), the real templates/ folder and a real config:
 * a valid folder loads with every value and default in place; each kind of
 * error names the file and its exact JSON path and says what was expected,
 * all at once, with "did you mean" hints; the canonical text ignores key
 * order and white space; a stored version rebuilds; the A/B pick is
 * deterministic per lead and follows the weights; the config's "cadences"
 * key. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cadence_def.h"
#include "tap.h"
#include "template_file.h"

static char fixtures[PATH_MAX];
static struct config *cfg;
static struct template_set *templates;
static struct cadence_env env;

static const char *fixture(const char *name)
{
    static char path[2 * PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", fixtures, name);
    return path;
}

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

static const char *what_at(const struct config_errors *errs, const char *where)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->items[i].where, where) == 0)
            return errs->items[i].what;
    tap_diag("no error at %s; errors were:", where);
    for (size_t i = 0; i < errs->count; i++)
        tap_diag("  %s: %s", errs->items[i].where, errs->items[i].what);
    return NULL;
}

/* The config the cadences are checked against: mailboxes ada and bob, the
 * channels outbox and crm, and Ada on the team. */
static void setup(void)
{
    const char *dir = tap_tmpdir();
    char token[PATH_MAX];
    struct config_errors errs = { 0 };
    static const char text[] =
        "{\"team\": [{\"name\": \"Ada\", \"email\": \"ada@example.com\","
        "  \"token_file\": \"ada.token\", \"roles\": [\"prospector\"]}],"
        " \"channels\": [{\"name\": \"outbox\", \"plugin\": \"example_channel\"},"
        "  {\"name\": \"crm\", \"plugin\": \"channel_webhook\"}],"
        " \"mailboxes\": [{\"name\": \"ada\", \"address\": \"ada@example.com\", \"channel\": \"outbox\"},"
        "  {\"name\": \"bob\", \"address\": \"bob@example.com\", \"channel\": \"outbox\"}]}";

    snprintf(token, sizeof(token), "%s/ada.token", dir);
    write_file(token, "ada-token-0123456789abcdef0123456789\n");
    if (config_load_string(text, strlen(text), "t.json", dir, &cfg, &errs) != 0 ||
        template_set_load(tap_srcpath("templates"), &templates, &errs) != 0) {
        for (size_t i = 0; i < errs.count; i++)
            tap_diag("%s: %s", errs.items[i].where, errs.items[i].what);
        tap_ok(false, "the test config and templates load");
        exit(tap_done());
    }
    config_errors_free(&errs);
    env.cfg = cfg;
    env.templates = templates;
}

static void test_good_set(void)
{
    struct config_errors errs = { 0 };
    struct cadence_set *set = NULL;

    tap_is_int(cadence_set_load(fixture("good"), &env, &set, &errs), 0, "good/ loads");
    for (size_t i = 0; i < errs.count; i++)
        tap_diag("%s: %s: %s", errs.items[i].file, errs.items[i].where, errs.items[i].what);
    config_errors_free(&errs);
    if (set == NULL) {
        tap_skip(30, "no set");
        return;
    }
    tap_is_int((int64_t)set->n, 2, "two cadences (the .ics folder is skipped)");
    tap_is_str(set->items[0]->name, "full", "sorted by name");
    const struct cadence_def *d = cadence_set_get(set, "full");
    const struct cadence_def *m = cadence_set_get(set, "minimal");
    tap_ok(d != NULL && m != NULL && cadence_set_get(set, "nope") == NULL, "found by name");
    if (d == NULL || m == NULL) {
        tap_skip(27, "missing");
        cadence_set_free(set);
        return;
    }
    tap_is_str(d->timezone, "Europe/Paris", "timezone");
    tap_is_int(d->window.days, WINDOW_DAY(1) | WINDOW_DAY(2) | WINDOW_DAY(3) | WINDOW_DAY(4),
               "window days mon-thu");
    tap_ok(d->window.nranges == 2 && d->window.ranges[0].start == 540 &&
           d->window.ranges[1].end == 1020, "window hours sorted: 09:00-12:00, 13:30-17:00");
    tap_is_int((int64_t)d->n_holidays, 3, "three holiday calendars");
    bool ics = false, us = false;
    for (size_t i = 0; i < d->n_holidays; i++) {
        const struct cadence_holidays *h = &d->holidays[i];
        if (strcmp(h->country, "FR") == 0)
            ics = h->ics_path != NULL && strstr(h->ics_path, "/good/holidays/fr.ics") != NULL;
        if (strcmp(h->country, "US") == 0)
            us = h->n_dates == 2 && h->dates[0].year == 2026 && h->dates[1].year == 0 &&
                 h->dates[1].month == 12 && h->dates[1].day == 25;
    }
    tap_ok(ics, "FR holidays: the .ics path resolved against the cadence's folder");
    tap_ok(us, "US holidays: a dated day and a yearly one");
    tap_is_int((int64_t)d->n_calling_hours, 2, "calling hours: the default \"*\" plus FR");
    tap_ok(strcmp(d->calling_hours[0].country, "*") == 0 &&
           d->calling_hours[0].hours.ranges[0].start == 480 &&
           d->calling_hours[0].hours.ranges[0].end == 1260 &&
           d->calling_hours[0].hours.days == WINDOW_ALL_DAYS, "default calling hours 08:00-21:00");
    tap_ok(d->n_mailboxes == 2 && strcmp(d->mailboxes[1], "bob") == 0 &&
           strcmp(d->retired_mailboxes[0], "old") == 0 && d->retired_mailboxes[1] == NULL,
           "mailboxes and retired mailboxes");
    tap_is_int(d->allowed_email_status, 1 << 2, "allowed_email_status: verified only");
    tap_ok(d->call_overdue_days == 5 && d->new_per_day == 50 && d->max_active == 1000 &&
           d->max_active_per_domain == 2 && d->cooldown_days == 90 && !d->skip_customer_domains,
           "throttle, company and overdue values");
    tap_ok(d->exits[CADENCE_EXIT_REPLY].on && strcmp(d->exits[CADENCE_EXIT_REPLY].stage,
                                                     "qualification") == 0 &&
           strcmp(d->exits[CADENCE_EXIT_REPLY].owner, "Ada") == 0 &&
           d->exits[CADENCE_EXIT_MEETING_BOOKED].stage == NULL &&
           !d->exits[CADENCE_EXIT_STAGE_CHANGE].on && d->exits[CADENCE_EXIT_UNSUBSCRIBE].on,
           "exit rules: stage, owner, off, always-on");
    tap_is_int(d->migrate, CADENCE_MIGRATE_SAME_STEP, "migrate");
    tap_is_int((int64_t)d->n_steps, 12, "twelve steps");
    const struct cadence_step *s = d->steps;
    tap_ok(s[0].type == CADENCE_STEP_EMAIL && s[0].email.n_variants == 2 &&
           s[0].email.variants[1].weight == 1 && s[0].email.review &&
           s[0].email.thread == CADENCE_THREAD_NEW, "step 1: A/B email, review, new thread");
    tap_ok(s[1].type == CADENCE_STEP_WAIT && s[1].wait.kind == CADENCE_WAIT_BUSINESS_DAYS &&
           s[1].wait.n == 3 && strcmp(s[1].name, "step-2") == 0, "step 2: wait, default name");
    tap_ok(s[2].email.thread == CADENCE_THREAD_REPLY && strcmp(s[2].email.template,
                                                               "follow-up-1") == 0,
           "a later email replies by default");
    tap_ok(s[4].type == CADENCE_STEP_CALL && s[4].call.priority == 1 &&
           strcmp(s[4].call.script, "call-first") == 0, "call step");
    tap_ok(s[5].branch.kind == CADENCE_BRANCH_CALL_OUTCOME &&
           s[5].branch.cases[CADENCE_OUTCOME_MEETING_BOOKED] == CADENCE_TARGET_END &&
           s[5].branch.cases[CADENCE_OUTCOME_NO_ANSWER] == 7 &&
           s[5].branch.cases[CADENCE_OUTCOME_CONNECTED] == CADENCE_TARGET_NEXT &&
           s[5].branch.default_ == CADENCE_TARGET_NEXT, "call-outcome branch targets resolved");
    tap_ok(s[6].type == CADENCE_STEP_WEBHOOK && strcmp(s[6].webhook.channel, "crm") == 0,
           "webhook step");
    tap_ok(s[7].task.priority == 3 && strcmp(s[7].task.title, "Connect on LinkedIn") == 0,
           "task step, default priority");
    tap_ok(s[8].wait.kind == CADENCE_WAIT_UNTIL && s[8].wait.weekday == 2 &&
           s[8].wait.minute == 9 * 60 + 30, "wait until tue 09:30");
    tap_ok(s[9].branch.kind == CADENCE_BRANCH_FIELD && strcmp(s[9].branch.field,
                                                              "attrs.industry") == 0 &&
           strcmp(s[9].branch.equals, "saas") == 0 && s[9].branch.goto_ == 11 &&
           s[9].branch.else_ == CADENCE_TARGET_END, "field branch: a forward goto");
    tap_ok(s[10].wait.kind == CADENCE_WAIT_CALENDAR_DAYS && s[3].wait.kind == CADENCE_WAIT_HOURS,
           "calendar days and hours");
    tap_is_int(cadence_step_find(d, "break-up"), 11, "cadence_step_find");
    /* The defaults of a minimal file. */
    tap_ok(m->window.days == WINDOW_WEEKDAYS && m->window.nranges == 1 &&
           m->window.ranges[0].start == 540 && m->window.ranges[0].end == 1020 &&
           m->n_mailboxes == 0 && m->call_overdue_days == 3 && m->skip_customer_domains &&
           m->allowed_email_status == ((1u << 1) | (1u << 2) | (1u << 3)) &&
           m->migrate == CADENCE_MIGRATE_NONE && m->new_per_day == 0 &&
           strcmp(m->exits[CADENCE_EXIT_MEETING_BOOKED].stage, "qualification") == 0,
           "defaults: mon-fri 09:00-17:00, overdue 3, statuses, no migration");
    cadence_set_free(set);
}

/* Loads bad/NAME.json; returns its errors (the caller frees). */
static struct config_errors load_bad(const char *name, int want_rc)
{
    struct config_errors errs = { 0 };
    struct cadence_def *d = NULL;
    char rel[128];

    snprintf(rel, sizeof(rel), "bad/%s.json", name);
    tap_is_int(cadence_def_load(fixture(rel), &env, &d, &errs), want_rc, rel);
    tap_ok(d == NULL && errs.count > 0 && strstr(errs.items[0].file, rel) != NULL,
           "%s: no definition, errors name the file", name);
    cadence_def_free(d);
    return errs;
}

static void test_errors(void)
{
    struct config_errors e = load_bad("syntax", -EINVAL);
    tap_ok(e.count == 1 && e.items[0].line == 4 && e.items[0].column == 1,
           "syntax error with line and column");
    config_errors_free(&e);

    e = load_bad("unknown_keys", -EINVAL);
    tap_is_str(what_at(&e, "timezon"), "unknown key; did you mean \"timezone\"?", "top-level key");
    tap_is_str(what_at(&e, "window.hour"), "unknown key; did you mean \"hours\"?", "window key");
    tap_is_str(what_at(&e, "exit_on.reply.stag"), "unknown key; did you mean \"stage\"?",
               "exit rule key");
    tap_is_str(what_at(&e, "steps[0].tempalte"), "unknown key; did you mean \"template\"?",
               "step key");
    tap_is_str(what_at(&e, "steps[1].type"), "expected a step type (email, call, task, webhook, "
               "wait, branch), got \"emial\"; did you mean \"email\"?", "step type");
    tap_is_str(what_at(&e, ""), "missing required key \"timezone\"", "missing timezone");
    config_errors_free(&e);

    e = load_bad("types", -EINVAL);
    tap_is_str(what_at(&e, "name"), "expected \"types\" (the file's base name), got \"other\"",
               "name must be the file's base name");
    tap_is_str(what_at(&e, "timezone"), "expected an IANA time zone such as \"Europe/Paris\", "
               "got \"Mars/Olympus\"", "unknown zone");
    tap_contains(what_at(&e, "window.hours"), "crosses midnight", "hours checked by window.c");
    tap_is_str(what_at(&e, "mailboxes"), "expected an array of names, got \"ada\"", "array type");
    tap_is_str(what_at(&e, "call_overdue_days"), "expected an integer from 1 to 365, got \"3\"",
               "integer type");
    tap_is_str(what_at(&e, "throttle.new_per_day"), "expected an integer from 1 to 1000000, "
               "got 0", "throttle range");
    tap_is_str(what_at(&e, "company.skip_customer_domains"), "expected true or false, got \"yes\"",
               "boolean type");
    tap_is_str(what_at(&e, "allowed_email_status[1]"), "expected an email status (unknown, "
               "syntax_ok, verified, catch_all, undeliverable, guessed), got \"guesed\"; did you "
               "mean \"guessed\"?", "email status with a hint");
    tap_contains(what_at(&e, "migrate"), "got \"continue\"", "migrate mode");
    tap_contains(what_at(&e, "exit_on.bounce"), "always ends the cadence", "bounce cannot be off");
    tap_is_str(what_at(&e, "steps[1].priority"), "expected an integer from 1 to 5, got 9",
               "priority range");
    tap_is_str(what_at(&e, "steps[2]"), "expected a step object, got \"wait\"", "step type");
    tap_ok(e.count == 15, "every error at once (%zu)", e.count);
    config_errors_free(&e);
}

static void test_names(void)
{
    struct config_errors e = load_bad("names", -EINVAL);
    char want[PATH_MAX + 128];

    snprintf(want, sizeof(want), "expected an email template in %s, got \"intr\"; did you mean "
             "\"intro\"?", templates->dir);
    tap_is_str(what_at(&e, "steps[0].template"), want, "unknown template with a hint");
    tap_is_str(what_at(&e, "steps[1].script"), "expected a call script (a template with \"Kind: "
               "call\"), got \"intro\", an email template", "a call script of the wrong kind");
    tap_is_str(what_at(&e, "mailboxes[1]"), "expected the name of a mailbox in the config, got "
               "\"bbo\"; did you mean \"bob\"?", "unknown mailbox with a hint");
    tap_is_str(what_at(&e, "steps[2].channel"), "expected the name of a channel in the config, "
               "got \"crn\"; did you mean \"crm\"?", "unknown channel with a hint");
    tap_is_str(what_at(&e, "steps[3].goto"), "expected a step name, \"next\" or \"end\", got "
               "\"linkdin\"; did you mean \"linkedin\"?", "unknown goto target with a hint");
    tap_is_str(what_at(&e, "steps[4].default"), "expected a step name, \"next\" or \"end\", got "
               "\"nowhere\"", "unknown default target");
    tap_contains(what_at(&e, "steps[4].cases.no-anwser"), "did you mean \"no-answer\"?",
                 "unknown call outcome with a hint");
    tap_contains(what_at(&e, "steps[4].cases.voicemail"), "the branch itself", "no self jump");
    tap_contains(what_at(&e, "steps[3].field"), "expected a lead column or \"attrs.KEY\"",
                 "unknown lead field");
    tap_is_str(what_at(&e, "steps[5].name"), "expected a unique step name, got \"first\", "
               "already used by steps[0]", "duplicate step name");
    tap_is_str(what_at(&e, "exit_on.reply.owner"), "expected the name of a team member in the "
               "config, got \"Adda\"; did you mean \"Ada\"?", "unknown owner with a hint");
    tap_contains(what_at(&e, "calling_hours.fr"), "did you mean \"FR\"?", "country key case");
    tap_contains(what_at(&e, "holidays.US[0]"), "got \"2026-02-30\"", "impossible date");
    tap_contains(what_at(&e, "holidays.US[1]"), "got \"--13-01\"", "impossible yearly date");
    tap_contains(what_at(&e, "holidays.FR"), "expected a readable iCalendar file",
                 "missing .ics file");
    tap_contains(what_at(&e, "retired_mailboxes[0]"), "which is in both", "retired and active");
    config_errors_free(&e);
}

static void test_structure(void)
{
    struct config_errors e = load_bad("structure", -EINVAL);
    tap_is_str(what_at(&e, "steps[0].thread"), "expected \"new\": there is no earlier email step "
               "to reply to, got \"reply\"", "reply with no earlier email");
    tap_is_str(what_at(&e, "steps[1].on"), "expected a call step before a branch on "
               "\"call_outcome\", got none", "call-outcome branch with no earlier call");
    tap_is_str(what_at(&e, "steps[2].variants[1].weight"), "expected an integer from 1 to "
               "1000000, got 0", "weights > 0");
    tap_is_str(what_at(&e, "steps[3].business_days"), "expected an integer from 1 to 365, got 0",
               "waits > 0");
    tap_contains(what_at(&e, "steps[4]"), "expected exactly one of \"business_days\"",
                 "one wait kind");
    tap_contains(what_at(&e, "steps[5]"), "\"template\" and \"variants\", got both",
                 "template or variants");
    tap_contains(what_at(&e, "steps[6]"), "\"equals\" and \"present\", got both",
                 "equals or present");
    config_errors_free(&e);

    e = load_bad("no_touch", -EINVAL);
    tap_is_str(what_at(&e, "steps"), "expected at least one email, call or task step, got none",
               "a cadence must touch the lead");
    config_errors_free(&e);
    e = load_bad("no_mailbox", -EINVAL);
    tap_contains(what_at(&e, ""), "missing required key \"mailboxes\"", "emails need mailboxes");
    config_errors_free(&e);

    /* The whole folder: every file's errors, and no set. */
    struct cadence_set *set = NULL;
    tap_is_int(cadence_set_load(fixture("bad"), &env, &set, &e), -EINVAL, "bad/ is refused");
    bool seen_syntax = false, seen_types = false;
    for (size_t i = 0; i < e.count; i++) {
        seen_syntax = seen_syntax || strstr(e.items[i].file, "syntax.json") != NULL;
        seen_types = seen_types || strstr(e.items[i].file, "types.json") != NULL;
    }
    tap_ok(set == NULL && seen_syntax && seen_types, "errors of every file of the folder");
    config_errors_free(&e);
    tap_is_int(cadence_set_load(fixture("nope"), &env, &set, &e), -ENOENT, "missing folder");
    config_errors_free(&e);
}

static void test_canonical(void)
{
    static const char a[] =
        "{\"timezone\": \"UTC\", \"mailboxes\": [\"ada\"],\n"
        " \"steps\": [{\"type\": \"email\", \"template\": \"intro\"},\n"
        "            {\"type\": \"wait\", \"hours\": 2}]}";
    static const char b[] =
        "{\"steps\":[{\"template\":\"intro\",\"type\":\"email\"},{\"hours\":2,\"type\":\"wait\"}],"
        "\"mailboxes\":[\"ada\"],   \"timezone\":\"UTC\"}";
    static const char c[] =
        "{\"steps\":[{\"template\":\"intro\",\"type\":\"email\"},{\"hours\":3,\"type\":\"wait\"}],"
        "\"mailboxes\":[\"ada\"],\"timezone\":\"UTC\"}";
    struct config_errors e = { 0 };
    struct cadence_def *da = NULL, *db = NULL, *dc = NULL, *dr = NULL;
    char *ta = NULL, *tb = NULL, *tc = NULL, *tr = NULL;

    tap_ok(cadence_def_load_string(a, strlen(a), "/x/c.json", &env, &da, &e) == 0 &&
           cadence_def_load_string(b, strlen(b), "/x/c.json", &env, &db, &e) == 0 &&
           cadence_def_load_string(c, strlen(c), "/x/c.json", &env, &dc, &e) == 0,
           "three texts load");
    if (da == NULL || db == NULL || dc == NULL) {
        tap_skip(5, "not loaded");
        goto out;
    }
    cadence_def_canonical(da, &ta);
    cadence_def_canonical(db, &tb);
    cadence_def_canonical(dc, &tc);
    tap_is_str(ta, tb, "same canonical text whatever the key order and spacing");
    tap_is_str(ta, "{\"mailboxes\":[\"ada\"],\"steps\":[{\"template\":\"intro\",\"type\":\"email\"},"
               "{\"hours\":2,\"type\":\"wait\"}],\"timezone\":\"UTC\"}", "sorted and compact");
    tap_ok(strcmp(ta, tc) != 0, "a changed value changes the text");
    /* A stored version rebuilds, without the environment (names on trust). */
    json_t *root = json_loads(ta, 0, NULL);
    tap_is_int(cadence_def_from_json(root, "c", NULL, NULL, &dr, &e), 0, "rebuilt from JSON");
    json_decref(root);
    if (dr != NULL)
        cadence_def_canonical(dr, &tr);
    tap_ok(dr != NULL && strcmp(tr, ta) == 0 && dr->n_steps == 2 && strcmp(dr->name, "c") == 0,
           "the rebuilt version has the same text and steps");
out:
    for (size_t i = 0; i < e.count; i++)
        tap_diag("%s: %s", e.items[i].where, e.items[i].what);
    free(ta);
    free(tb);
    free(tc);
    free(tr);
    cadence_def_free(da);
    cadence_def_free(db);
    cadence_def_free(dc);
    cadence_def_free(dr);
    config_errors_free(&e);
}

static void test_variant_pick(void)
{
    static const char text[] =
        "{\"timezone\": \"UTC\", \"mailboxes\": [\"ada\"], \"steps\": ["
        " {\"name\": \"ab\", \"type\": \"email\", \"variants\": [{\"template\": \"intro\", "
        "\"weight\": 3}, {\"template\": \"follow-up-1\", \"weight\": 1}]},"
        " {\"name\": \"other\", \"type\": \"email\", \"variants\": [{\"template\": \"intro\", "
        "\"weight\": 3}, {\"template\": \"follow-up-1\", \"weight\": 1}]},"
        " {\"name\": \"plain\", \"type\": \"email\", \"template\": \"intro\"}]}";
    struct config_errors e = { 0 };
    struct cadence_def *d = NULL;

    if (cadence_def_load_string(text, strlen(text), "ab.json", &env, &d, &e) != 0) {
        tap_ok(false, "the A/B cadence loads");
        config_errors_free(&e);
        return;
    }
    int counts[2] = { 0 }, differ = 0;
    bool stable = true;
    for (int64_t id = 1; id <= 10000; id++) {
        int v = cadence_variant_pick(&d->steps[0], id);
        if (v < 0 || v > 1) {
            stable = false;
            break;
        }
        counts[v]++;
        stable = stable && cadence_variant_pick(&d->steps[0], id) == v;
        differ += cadence_variant_pick(&d->steps[1], id) != v;
    }
    tap_ok(stable, "the same lead always gets the same variant");
    tap_ok(counts[0] > 7200 && counts[0] < 7800, "weights 3:1 give about 75%% (%d of 10000)",
           counts[0]);
    tap_ok(differ > 2000, "another step splits the leads differently (%d differ)", differ);
    tap_is_int(cadence_variant_pick(&d->steps[2], 42), 0, "a step without variants picks 0");
    cadence_def_free(d);
    config_errors_free(&e);
}

static void test_config_key(void)
{
    struct config_errors e = { 0 };
    struct config *c = NULL;
    const char *dir = tap_tmpdir();
    char sub[PATH_MAX];
    static const char with[] = "{\"cadences\": {\"dir\": \"flows\"}}";
    static const char typo[] = "{\"cadences\": {\"dri\": \"flows\"}}";

    tap_is_int(config_load_string(with, strlen(with), "t.json", "/srv/db", &c, &e), 0,
               "\"cadences\" is a config key");
    tap_is_str(c != NULL ? c->cadences_dir : NULL, "/srv/db/flows", "cadences.dir resolved");
    config_free(c);
    c = NULL;
    tap_is_int(config_load_string(typo, strlen(typo), "t.json", "/srv/db", &c, &e), -EINVAL,
               "an unknown key in \"cadences\"");
    tap_is_str(what_at(&e, "cadences.dri"), "unknown key; did you mean \"dir\"?", "with a hint");
    config_errors_free(&e);
    tap_is_int(config_load_string("{}", 2, "t.json", dir, &c, &e), 0, "no \"cadences\"");
    tap_ok(c != NULL && c->cadences_dir == NULL, "no cadences folder: none");
    config_free(c);
    c = NULL;
    snprintf(sub, sizeof(sub), "%s/cadences", dir);
    mkdir(sub, 0755);
    tap_is_int(config_load_string("{}", 2, "t.json", dir, &c, &e), 0, "no \"cadences\" again");
    tap_is_str(c != NULL ? c->cadences_dir : NULL, sub, "the folder beside the config is used");
    config_free(c);
    config_errors_free(&e);
}

/* The examples shipped in config/cadences/ are valid against the shipped
 * templates and a config with the mailbox they use. */
static void test_examples(void)
{
    struct config_errors e = { 0 };
    struct cadence_set *set = NULL;

    tap_is_int(cadence_set_load(tap_srcpath("config/cadences"), &env, &set, &e), 0,
               "config/cadences/ is valid");
    for (size_t i = 0; i < e.count; i++)
        tap_diag("%s: %s: %s", e.items[i].file, e.items[i].where, e.items[i].what);
    tap_ok(set != NULL && set->n >= 2, "with at least two examples");
    cadence_set_free(set);
    config_errors_free(&e);
}

int main(void)
{
    snprintf(fixtures, sizeof(fixtures), "%s", tap_srcpath("tests/fixtures/cadences"));
    setup();
    test_good_set();
    test_errors();
    test_names();
    test_structure();
    test_canonical();
    test_variant_pick();
    test_config_key();
    test_examples();
    template_set_free(templates);
    config_free(cfg);
    return tap_done();
}
