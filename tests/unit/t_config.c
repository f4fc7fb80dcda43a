/* SPDX-License-Identifier: MIT */
/* tests/unit/t_config.c: the config loader against real files: defaults,
 * syntax errors with line and column, type errors with JSON path and what was
 * expected, all errors at once, unknown keys with a hint, duplicate names,
 * token files (missing, empty, shared), relative paths, durations and the
 * token lookup. Fixtures live in tests/fixtures/config/. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "tap.h"

static char fixtures[PATH_MAX];

static const char *fixture(const char *name)
{
    static char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", fixtures, name);
    return path;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[PATH_MAX + 64];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* The stored error at where, or NULL. */
static const struct errbuf *find_err(const struct config_errors *errs, const char *where)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->items[i].where, where) == 0)
            return &errs->items[i];
    return NULL;
}

static const char *what_at(const struct config_errors *errs, const char *where)
{
    const struct errbuf *e = find_err(errs, where);
    if (e == NULL) {
        tap_diag("no error at %s; errors were:", where);
        for (size_t i = 0; i < errs->count; i++)
            tap_diag("  %s: %s", errs->items[i].where, errs->items[i].what);
    }
    return e != NULL ? e->what : NULL;
}

static int load_text(const char *text, const char *base, struct config **out,
                     struct config_errors *errs)
{
    return config_load_string(text, strlen(text), "t.json", base, out, errs);
}

static void test_defaults(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;

    tap_is_int(load_text("{}", "/srv/drumbeat/config", &cfg, &errs), 0, "{} loads");
    if (cfg == NULL) {
        tap_skip(12, "no config");
        return;
    }
    tap_is_int(cfg->log_level, LOG_LEVEL_INFO, "log_level defaults to info");
    tap_is_int((int64_t)cfg->shutdown_timeout_ms, 10000, "shutdown_timeout defaults to 10s");
    tap_is_int(cfg->threadpool_size, 16, "threadpool_size defaults to 16");
    tap_is_str(cfg->store_path, "/srv/drumbeat/config/var/drumbeat.db",
               "store.path defaults to var/drumbeat.db beside the config");
    tap_is_str(cfg->api.address, "127.0.0.1", "api listens on loopback by default");
    tap_is_int(cfg->api.port, 7780, "api port defaults to 7780");
    tap_is_int(cfg->public_.port, 7781, "public port defaults to 7781");
    tap_ok(cfg->api.max_connections == 256 && cfg->api.timeout_ms == 30000 &&
           cfg->api.max_body == 1048576, "listener limits default to 256, 30s, 1 MiB");
    tap_is_str(cfg->public_url, "http://127.0.0.1:7781", "public_url has its default");
    tap_ok(cfg->plugin_path != NULL && cfg->plugin_path[0] == NULL,
           "plugin_path is an empty NULL-terminated list");
    tap_ok(cfg->pidfile == NULL && cfg->n_team == 0 && cfg->n_channels == 0 &&
           cfg->n_mailboxes == 0, "no pidfile, team, channels or mailboxes");
    tap_is_int((int64_t)errs.count, 0, "no errors");
    config_free(cfg);
    config_errors_free(&errs);
}

static void test_valid_file(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    char want[PATH_MAX + 64];

    tap_is_int(config_load(fixture("valid.json"), &cfg, &errs), 0, "valid.json loads");
    for (size_t i = 0; i < errs.count; i++)
        tap_diag("unexpected: %s: %s", errs.items[i].where, errs.items[i].what);
    if (cfg == NULL) {
        tap_skip(16, "no config");
        return;
    }
    tap_is_str(cfg->base_dir, fixtures, "base_dir is the file's folder, absolute");
    snprintf(want, sizeof(want), "%s/run/drumbeatd.pid", fixtures);
    tap_is_str(cfg->pidfile, want, "pidfile resolves against the config's folder");
    snprintf(want, sizeof(want), "%s", fixtures);
    *strrchr(want, '/') = '\0';
    *strrchr(want, '/') = '\0';
    strcat(want, "/var/test.db");
    tap_is_str(cfg->store_path, want, "\"../../var/test.db\" resolves with .. folded");
    snprintf(want, sizeof(want), "%s/plugins", fixtures);
    tap_ok(cfg->plugin_path[0] != NULL && strcmp(cfg->plugin_path[0], want) == 0 &&
           cfg->plugin_path[1] != NULL &&
           strcmp(cfg->plugin_path[1], "/opt/drumbeat/plugins") == 0 &&
           cfg->plugin_path[2] == NULL, "plugin_path entries resolve; absolute ones stay");
    tap_ok(cfg->log_level == LOG_LEVEL_DEBUG && cfg->shutdown_timeout_ms == 120000 &&
           cfg->threadpool_size == 8, "daemon section read");
    tap_ok(strcmp(cfg->api.address, "::1") == 0 && cfg->api.port == 0 &&
           cfg->api.max_connections == 10 && cfg->api.timeout_ms == 5000 &&
           cfg->api.max_body == 4096, "api listener read (IPv6, port 0)");
    tap_is_str(cfg->public_url, "https://example.com", "public_url loses its trailing slash");
    tap_is_int((int64_t)cfg->n_team, 2, "two people");
    snprintf(want, sizeof(want), "%s/tokens/ada.token", fixtures);
    tap_is_str(cfg->team[0].token_file, want, "token_file resolves");
    tap_is_str(cfg->team[1].token, "bob-test-token-fedcba9876543210",
               "tokens are read and trimmed");
    tap_is_int(cfg->team[0].roles, CONFIG_ROLE_PROSPECTOR | CONFIG_ROLE_ADMIN,
               "roles are read as bits");
    tap_ok(cfg->team[0].territories[0] != NULL && strcmp(cfg->team[0].territories[1], "BE") == 0 &&
           cfg->team[0].territories[2] == NULL && cfg->team[1].territories[0] == NULL,
           "territories, empty when absent");
    const struct config_plugin_instance *ch = config_channel_get(cfg, "outbox");
    tap_ok(ch != NULL && ch->log_level == LOG_LEVEL_WARN &&
           strcmp(json_string_value(json_object_get(ch->options, "dir")), "out") == 0,
           "the channel keeps its options object and log level");
    tap_ok(cfg->n_enrichers == 1 && json_is_object(cfg->enrichers[0].options) &&
           json_object_size(cfg->enrichers[0].options) == 0 &&
           cfg->enrichers[0].log_level == LOG_LEVEL_DEBUG,
           "an enricher without options gets {} and the daemon's level");
    const struct config_mailbox *mb = config_mailbox_get(cfg, "ada");
    tap_ok(mb != NULL && mb->daily_cap == 200 && mb->display_name == NULL &&
           strcmp(mb->channel, "outbox") == 0, "mailbox read, daily_cap defaults to 200");
    tap_ok(config_mailbox_get(cfg, "bob") == NULL && config_channel_get(cfg, "x") == NULL,
           "unknown names are not found");

    /* Token lookup. */
    tap_ok(config_person_by_token(cfg, "ada-test-token-0123456789abcdef") == &cfg->team[0],
           "person_by_token finds Ada");
    tap_ok(config_person_by_token(cfg, "bob-test-token-fedcba9876543210") == &cfg->team[1],
           "person_by_token finds Bob");
    tap_ok(config_person_by_token(cfg, "ada-test-token-0123456789abcde") == NULL &&
           config_person_by_token(cfg, "ada-test-token-0123456789abcdef0") == NULL &&
           config_person_by_token(cfg, "") == NULL && config_person_by_token(cfg, NULL) == NULL,
           "prefixes, extensions, empty and NULL tokens match nobody");
    config_free(cfg);
    config_errors_free(&errs);
}

static void test_demo_config(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    int admins = 0;

    tap_is_int(config_load(tap_srcpath("config/drumbeat.json"), &cfg, &errs), 0,
               "the demo config/drumbeat.json is valid");
    for (size_t i = 0; i < errs.count; i++)
        tap_diag("%s: %s", errs.items[i].where, errs.items[i].what);
    for (size_t i = 0; cfg != NULL && i < cfg->n_team; i++)
        admins += (cfg->team[i].roles & CONFIG_ROLE_ADMIN) != 0;
    tap_ok(cfg != NULL && cfg->n_team >= 3 && admins == 1 && cfg->n_mailboxes == 1 &&
           config_channel_get(cfg, "outbox") != NULL, "it has a team with one admin, a channel "
           "and a mailbox");
    tap_ok(cfg != NULL && strstr(cfg->store_path, "/config/") == NULL,
           "its store lives outside config/");
    config_free(cfg);
    config_errors_free(&errs);
}

static void test_syntax_error(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    char line[1200];

    tap_is_int(config_load(fixture("syntax.json"), &cfg, &errs), -EINVAL,
               "a syntax error fails the load");
    tap_ok(cfg == NULL && errs.count == 1, "one error, no config");
    if (errs.count == 0) {
        tap_skip(3, "no error");
        return;
    }
    tap_ok(errs.items[0].line == 4 && errs.items[0].column == 3,
           "it names line 4 column 3 (got %d:%d)", errs.items[0].line, errs.items[0].column);
    char want[PATH_MAX + 80];
    snprintf(want, sizeof(want), "%s:4:3: ", fixture("syntax.json"));
    tap_contains(errbuf_format(&errs.items[0], line, sizeof(line)), want,
                 "formatted as file:line:col:");

    /* config_errors_log writes it through the log, one line. */
    fflush(stderr);
    char logpath[PATH_MAX];
    snprintf(logpath, sizeof(logpath), "%s/log", tap_tmpdir());
    int saved = dup(STDERR_FILENO);
    int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDERR_FILENO);
    size_t n = config_errors_log(&errs);
    dup2(saved, STDERR_FILENO);
    close(fd);
    close(saved);
    char text[2048] = "";
    FILE *f = fopen(logpath, "r");
    size_t got = f != NULL ? fread(text, 1, sizeof(text) - 1, f) : 0;
    text[got] = '\0';
    if (f != NULL)
        fclose(f);
    tap_ok(n == 1 && strstr(text, "level=error") != NULL && strstr(text, "syntax.json:4:3: ") &&
           strchr(text, '\n') == text + strlen(text) - 1,
           "config_errors_log writes one error line");
    config_errors_free(&errs);
}

static void test_type_errors(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    char line[1200];

    tap_is_int(config_load(fixture("types.json"), &cfg, &errs), -EINVAL,
               "wrong types fail the load");
    tap_is_int((int64_t)errs.count, 6, "all six errors are reported at once");
    tap_is_str(what_at(&errs, "mailboxes[2].daily_cap"),
               "expected a positive integer, got \"forty\"", "the \"forty\" example");
    const struct errbuf *e = find_err(&errs, "mailboxes[2].daily_cap");
    if (e != NULL) {
        char want[2 * PATH_MAX];
        snprintf(want, sizeof(want), "%s: mailboxes[2].daily_cap: expected a positive "
                 "integer, got \"forty\"", fixture("types.json"));
        tap_is_str(errbuf_format(e, line, sizeof(line)), want, "formatted with file and path");
    } else {
        tap_skip(1, "no error");
    }
    tap_is_str(what_at(&errs, "api.port"), "expected an integer from 0 to 65535, got 70000",
               "port out of range");
    tap_contains(what_at(&errs, "api.address"), "IPv4 or IPv6 address",
                 "a host name is not an address literal");
    tap_contains(what_at(&errs, "daemon.log_level"), "got \"loud\"", "bad log level");
    tap_contains(what_at(&errs, "daemon.shutdown_timeout"), "expected a duration",
                 "bad duration");
    tap_is_str(what_at(&errs, "channels[0].options"), "expected an object, got an array",
               "options must be an object");
    tap_ok(cfg == NULL, "*out is untouched");
    config_errors_free(&errs);
}

static void test_unknown_keys(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;

    tap_is_int(config_load(fixture("unknown_key.json"), &cfg, &errs), -EINVAL,
               "unknown keys fail the load");
    tap_is_int((int64_t)errs.count, 4, "four errors");
    tap_is_str(what_at(&errs, "mailboxes[0].dialy_cap"),
               "unknown key; did you mean \"daily_cap\"?", "did-you-mean for a transposition");
    tap_is_str(what_at(&errs, "chanels"), "unknown key; did you mean \"channels\"?",
               "did-you-mean at the top level");
    tap_contains(what_at(&errs, "mailboxes[0].zzzzzz"),
                 "unknown key; expected one of \"name\", \"address\"",
                 "no close key: the allowed ones are listed");
    tap_contains(what_at(&errs, "mailboxes[0].channel"), "did you mean \"outbox\"?",
                 "a mailbox's unknown channel gets a hint too");
    config_errors_free(&errs);

    static const char *const allowed[] = { "port", "address", "max_body", NULL };
    tap_is_str(config_suggest("PORT", allowed), "port", "suggestions ignore case");
    tap_is_str(config_suggest("max_bdoy", allowed), "max_body", "transpositions are close");
    tap_ok(config_suggest("xyz", allowed) == NULL && config_suggest("", allowed) == NULL,
           "nothing close, no suggestion");
}

static void test_duplicates(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;

    tap_is_int(config_load(fixture("duplicates.json"), &cfg, &errs), -EINVAL,
               "duplicate names fail the load");
    tap_is_int((int64_t)errs.count, 3, "three duplicates");
    tap_contains(what_at(&errs, "team[1].name"), "duplicate name \"Ada\", already used by team[0]",
                 "duplicate person");
    tap_contains(what_at(&errs, "mailboxes[1].name"), "already used by mailboxes[0]",
                 "duplicate mailbox");
    tap_contains(what_at(&errs, "enrichers[0].name"), "already used by channels[0]",
                 "channel and enricher instances share one namespace");
    config_errors_free(&errs);
}

static void test_tokens(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;
    char dir[PATH_MAX], want[PATH_MAX + 64];
    const char *secret = "shared-secret-4242424242";

    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    write_file(dir, "a.token", "shared-secret-4242424242\n");
    write_file(dir, "b.token", "shared-secret-4242424242");
    write_file(dir, "empty.token", " \n\n");
    tap_is_int(load_text("{\"team\": ["
                         "{\"name\": \"A\", \"token_file\": \"a.token\"},"
                         "{\"name\": \"B\", \"token_file\": \"b.token\"},"
                         "{\"name\": \"C\", \"token_file\": \"missing.token\"},"
                         "{\"name\": \"D\", \"token_file\": \"empty.token\"},"
                         "{\"name\": \"E\", \"roles\": [\"closr\"]}]}", dir, &cfg, &errs),
               -EINVAL, "token problems fail the load");
    tap_is_int((int64_t)errs.count, 5, "five errors");
    snprintf(want, sizeof(want), "cannot read token file \"%s/missing.token\": ", dir);
    tap_contains(what_at(&errs, "team[2].token_file"), want, "a missing file is named");
    snprintf(want, sizeof(want), "token file \"%s/empty.token\" is empty", dir);
    tap_is_str(what_at(&errs, "team[3].token_file"), want, "an empty file is an error");
    tap_contains(what_at(&errs, "team[1].token_file"), "the same token as team[0]",
                 "two people cannot share a token");
    tap_is_str(what_at(&errs, "team[4]"), "missing required key \"token_file\"",
               "token_file is required");
    tap_contains(what_at(&errs, "team[4].roles[0]"), "did you mean \"closer\"?",
                 "an unknown role gets a hint");
    bool leaked = false;
    for (size_t i = 0; i < errs.count; i++)
        leaked = leaked || strstr(errs.items[i].what, secret) != NULL ||
                 strstr(errs.items[i].where, secret) != NULL;
    tap_ok(!leaked, "no error message contains a token");
    config_errors_free(&errs);
}

static void test_paths_and_limits(void)
{
    struct config_errors errs = { 0 };
    struct config *cfg = NULL;

    tap_is_int(load_text("{\"store\": {\"path\": \"./a/./b//../c.db\"}, \"daemon\": "
                         "{\"pidfile\": \"/run/d.pid\"}, \"plugin_path\": [\"../../../../p\"]}",
                         "/srv/x", &cfg, &errs), 0, "paths load");
    if (cfg != NULL) {
        tap_is_str(cfg->store_path, "/srv/x/a/c.db", "\".\", \"..\" and \"//\" are folded");
        tap_is_str(cfg->pidfile, "/run/d.pid", "absolute paths are kept");
        tap_is_str(cfg->plugin_path[0], "/p", "\"..\" stops at the root");
        config_free(cfg);
        cfg = NULL;
    } else {
        tap_skip(3, "no config");
    }

    /* Hundreds of errors: the first ones are kept, the rest counted. */
    size_t cap = 64 + 400 * 80;
    char *big = malloc(cap);
    size_t n = (size_t)snprintf(big, cap, "{\"mailboxes\": [");
    for (int i = 0; i < 400; i++)
        n += (size_t)snprintf(big + n, cap - n, "%s{\"daily_cap\": 0}", i ? "," : "");
    snprintf(big + n, cap - n, "]}");
    tap_is_int(load_text(big, "/tmp", &cfg, &errs), -EINVAL, "a huge broken file fails");
    tap_ok(errs.count == 200 && strstr(errs.items[199].what, "more errors not shown") != NULL,
           "stored errors are bounded and the rest are counted (%zu stored)", errs.count);
    free(big);
    config_errors_free(&errs);

    tap_is_int(load_text("[1, 2]", "/tmp", &cfg, &errs), -EINVAL, "a top-level array fails");
    tap_is_str(errs.count == 1 ? errs.items[0].what : NULL,
               "expected an object at the top level, got an array", "and says why");
    config_errors_free(&errs);

    tap_is_int(config_load("/nonexistent/drumbeat.json", &cfg, &errs), -ENOENT,
               "a missing file is -ENOENT");
    tap_contains(errs.count == 1 ? errs.items[0].file : NULL, "/nonexistent/drumbeat.json",
                 "and the error names it");
    config_errors_free(&errs);
}

static void test_durations(void)
{
    static const struct { const char *text; uint64_t ms; } good[] = {
        { "250ms", 250 }, { "30s", 30000 }, { "5m", 300000 }, { "2h", 7200000 },
        { "1d", 86400000 }, { "1h30m", 5400000 }, { "0", 0 }, { "1500", 1500 },
    };
    static const char *const bad[] = {
        "", "s", "5x", "-1s", "1.5s", "30 s", " 30s", "1h30", "5ms5",
        "99999999999999999999s", "999999999999999999d",
    };
    uint64_t ms;
    bool all = true;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = 1;
        if (duration_parse(good[i].text, &ms) != 0 || ms != good[i].ms) {
            tap_diag("\"%s\" gave %llu", good[i].text, (unsigned long long)ms);
            all = false;
        }
    }
    tap_ok(all, "250ms, 30s, 5m, 2h, 1d, 1h30m and bare milliseconds parse");
    all = true;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (duration_parse(bad[i], &ms) != -EINVAL) {
            tap_diag("\"%s\" was accepted", bad[i]);
            all = false;
        }
    }
    tap_ok(all, "bad durations are rejected");

    struct errbuf err = { 0 };
    json_t *obj = json_pack("{s:i, s:i, s:s, s:i, s:s}", "t", 250, "neg", -1, "s", "5m",
                            "port", 70000, "name", "x");
    ms = 7;
    tap_ok(config_get_duration(obj, "channels[0].options", "t", &ms, &err) == 0 && ms == 250,
           "an integer duration is milliseconds");
    tap_ok(config_get_duration(obj, "p", "s", &ms, &err) == 0 && ms == 300000,
           "a text duration parses");
    tap_ok(config_get_duration(obj, "p", "neg", &ms, &err) == -EINVAL && ms == 300000 &&
           strcmp(err.where, "p.neg") == 0, "a negative duration is an error at its path");
    tap_is_int(config_get_duration(obj, "p", "absent", &ms, &err), -ENOENT,
               "absent is -ENOENT");

    int64_t port = 0;
    tap_is_int(config_get_int(obj, "channels[0].options", "port", 1, 65535, &port, &err),
               -EINVAL, "port 70000 is rejected");
    tap_is_str(err.where, "channels[0].options.port", "the error names the JSON path");
    tap_is_int(port, 0, "the output is untouched on error");
    bool b = false;
    tap_ok(config_get_bool(obj, "", "name", &b, &err) == -EINVAL &&
           strcmp(err.what, "expected true or false, got \"x\"") == 0 &&
           strcmp(err.where, "name") == 0, "bool getter: type error at a top-level path");
    const char *s = NULL;
    tap_ok(config_get_string(obj, "o", "name", &s, &err) == 0 && strcmp(s, "x") == 0 &&
           config_get_string(obj, "o", "t", &s, &err) == -EINVAL &&
           strcmp(err.what, "expected a string, got 250") == 0, "string getter");
    json_decref(obj);

    enum config_role role;
    tap_ok(config_role_parse("closer", &role) == 0 && role == CONFIG_ROLE_CLOSER &&
           strcmp(config_role_format(CONFIG_ROLE_CS), "cs") == 0 &&
           config_role_parse("boss", &role) == -EINVAL, "role names parse and format");
}

int main(void)
{
    if (realpath(tap_srcpath("tests/fixtures/config"), fixtures) == NULL) {
        perror("tests/fixtures/config");
        return 2;
    }
    test_defaults();
    test_valid_file();
    test_demo_config();
    test_syntax_error();
    test_type_errors();
    test_unknown_keys();
    test_duplicates();
    test_tokens();
    test_paths_and_limits();
    test_durations();
    return tap_done();
}
