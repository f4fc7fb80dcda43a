/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_enrich_http.c: plugins/enrich_http through the real loader
 * (dlopen of the built .so) and the host's curl service on a real uv loop,
 * against a scripted JSON API (tests/helpers/enrich_api.py, run with
 * /usr/bin/python3): JSON pointers (nested, escaped, array indexes, numbers
 * and booleans) fill the attributes; the URL template percent-encodes; the
 * credentials from ${ENV:...} and ${FILE:...} arrive and never reach the log
 * or a detail; 429 (Retry-After in seconds and as an HTTP date) and 503 are
 * RETRY; 404 is DONE without attributes; 400, an oversized and a non-JSON
 * reply are FAILED; a timeout and a closed port are RETRY; Cache-Control
 * becomes the cache TTL; POST sends the lead; provides and cache_key answer
 * through the loader; a lead without a template's field is -ENOENT; bad
 * options fail the instance. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "curl_loop.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

#define PYTHON "/usr/bin/python3"
#define ENV_TOKEN "tok-env-never-logged"
#define FILE_KEY "key-file-never-logged"

struct got {
    int calls;
    struct drumbeat_result res;
    char detail[400];
    json_t *attrs;
    int64_t ttl;
};

static int port;
static char dir[512], log_path[600];

static void on_enriched(void *arg, const struct drumbeat_result *res, json_t *attrs,
                        int64_t cache_ttl_ms)
{
    struct got *g = arg;
    g->calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
    json_decref(g->attrs);
    g->attrs = attrs;
    g->ttl = cache_ttl_ms;
}

static bool called(void *arg)
{
    return ((struct got *)arg)->calls > 0;
}

static void got_clear(struct got *g)
{
    json_decref(g->attrs);
    memset(g, 0, sizeof(*g));
}

static pid_t start_api(const char *script, int *stdin_fd)
{
    int in[2], out[2];
    char line[32] = { 0 };
    pid_t pid;

    if (access(PYTHON, X_OK) != 0 || pipe(in) < 0 || pipe(out) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[1]);
        close(out[0]);
        execl(PYTHON, PYTHON, tap_srcpath("tests/helpers/enrich_api.py"), "--script", script,
              "--log", log_path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *stdin_fd = in[1];
    FILE *f = fdopen(out[0], "r");
    if (f == NULL || fgets(line, sizeof(line), f) == NULL || (port = atoi(line)) <= 0)
        pid = -1;
    if (f != NULL)
        fclose(f);
    return pid;
}

/* A port nothing listens on: bound once by us, then released. */
static int closed_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), p = 0;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        p = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return p;
}

/* The last request the API recorded whose path starts with prefix (new
 * reference), or NULL. */
static json_t *last_request(const char *prefix)
{
    char *text = test_slurp(log_path);
    json_t *found = NULL;

    for (char *line = text ? strtok(text, "\n") : NULL; line != NULL; line = strtok(NULL, "\n")) {
        json_t *r = json_loads(line, 0, NULL);
        const char *path = json_string_value(json_object_get(r, "path"));
        if (path != NULL && strncmp(path, prefix, strlen(prefix)) == 0) {
            json_decref(found);
            found = json_incref(r);
        }
        json_decref(r);
    }
    free(text);
    return found;
}

static const char *req_str(json_t *req, const char *key)
{
    return json_string_value(json_object_get(req, key));
}

static const char *req_header(json_t *req, const char *name)
{
    return json_string_value(json_object_get(json_object_get(req, "headers"), name));
}

static json_t *url_opts(const char *tmpl, const char *map)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, tmpl);
    return json_pack("{s:s, s:s}", "url", url, "map", map);
}

static void enrich_wait(uv_loop_t *loop, struct plugins *p, const char *name, const json_t *lead,
                        struct got *g)
{
    got_clear(g);
    int rc = plugins_enrich(p, name, lead, on_enriched, g);
    if (rc != 0) {
        tap_diag("plugins_enrich(%s) refused: %d", name, rc);
        return;
    }
    test_run_until(loop, called, g, 15000);
}

static const char *instance_state(struct plugins *p, const char *name)
{
    static char state[32];
    json_t *all = plugins_status_json(p);
    size_t i;
    json_t *it;

    snprintf(state, sizeof(state), "?");
    json_array_foreach(all, i, it)
        if (strcmp(json_string_value(json_object_get(it, "name")), name) == 0)
            snprintf(state, sizeof(state), "%s", json_string_value(json_object_get(it, "state")));
    json_decref(all);
    return state;
}

static void write_script(const char *path)
{
    char date[64];
    time_t ahead = time(NULL) + 30;
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", gmtime(&ahead));
    char pad[4001];
    memset(pad, 'x', 4000);
    pad[4000] = '\0';

    json_t *script = json_pack(
        "{s:[{s:s, s:{s:{s:s, s:s, s:{s:i}}, s:s, s:s, s:[s,s], s:b, s:f}, s:{s:s}},"
        "    {s:s, s:{s:i}, s:{s:s}},"
        "    {s:s, s:i, s:{s:s}}, {s:s, s:i, s:{s:s}}, {s:s, s:i},"
        "    {s:s, s:i}, {s:s, s:i, s:b, s:{}},"
        "    {s:s, s:i, s:{}}, {s:s, s:{s:s}}, {s:s, s:{s:s}, s:b}, {s:s, s:s}, {s:s, s:b},"
        "    {s:s, s:i, s:s}]}",
        "routes",
        "prefix", "/ok/", "json", "company", "name", "Acme", "industry", "Widgets", "size",
        "employees", 250, "a/b", "slash", "m~n", "tilde", "tags", "x", "y", "public", 1,
        "score", 4.5, "headers", "Cache-Control", "public, max-age=3600",
        "prefix", "/nostore/", "json", "x", 1, "headers", "Cache-Control", "no-store",
        "prefix", "/limited/secs/", "status", 429, "headers", "Retry-After", "7",
        "prefix", "/limited/date/", "status", 429, "headers", "Retry-After", date,
        "prefix", "/unavail/", "status", 503,
        "prefix", "/missing/", "status", 404,
        "prefix", "/bad/", "status", 400, "echo_auth", 1, "json",
        "prefix", "/slow/", "delay_ms", 3000, "json",
        "prefix", "/huge/", "json", "pad", pad,
        "prefix", "/unsized/", "json", "pad", pad, "no_length", 1,
        "prefix", "/html/", "text", "<html><body>hello</body></html>",
        "prefix", "/echo/", "echo", 1,
        "prefix", "/empty/", "status", 204, "text", "");
    if (script == NULL || json_dump_file(script, path, 0) != 0)
        tap_diag("cannot write the API's script %s", path);
    json_decref(script);
}

int main(void)
{
    uv_loop_t loop;
    struct curl_loop *curl = NULL;
    struct plugins *p = NULL;
    char script[600], key_file[600], libs[1024], down_url[128];
    int stdin_fd = -1;

    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    snprintf(log_path, sizeof(log_path), "%s/requests.jsonl", dir);
    snprintf(script, sizeof(script), "%s/script.json", dir);
    snprintf(key_file, sizeof(key_file), "%s/api.key", dir);
    snprintf(libs, sizeof(libs), "%s", tap_buildpath("plugins/enrich_http/.libs"));
    FILE *f = fopen(key_file, "w");
    if (f != NULL) {
        fputs(FILE_KEY "\n", f);
        fclose(f);
    }
    setenv("DRUMBEAT_TEST_API_TOKEN", ENV_TOKEN, 1);
    unsetenv("DRUMBEAT_TEST_NO_SUCH_VARIABLE");
    write_script(script);
    pid_t api = start_api(script, &stdin_fd);
    if (api < 0)
        tap_skip_all("cannot start tests/helpers/enrich_api.py with " PYTHON);
    tap_plan(62);

    json_t *ok_opts = url_opts("/ok/{domain}?email={email}&city={attrs.city}",
                               "company=/company/name, industry=/company/industry,"
                               "employees=/company/size/employees,slashed=/a~1b,tilde=/m~0n,"
                               "tag=/tags/1,public=/public,score=/score,absent=/nope/deeper,"
                               "whole=/company");
    /* ${FILE:api.key} is relative: files_dir defaults to the config's folder. */
    json_object_set_new(ok_opts, "headers", json_string(
        "Authorization: Bearer ${ENV:DRUMBEAT_TEST_API_TOKEN}\nX-Api-Key: ${FILE:api.key}\n"));
    json_t *bad_opts = url_opts("/bad/{email}", "x=/x");
    json_object_set_new(bad_opts, "headers",
                        json_string("Authorization: Bearer ${ENV:DRUMBEAT_TEST_API_TOKEN}"));
    json_t *slow_opts = url_opts("/slow/{email}", "x=/x");
    json_object_set_new(slow_opts, "timeout", json_string("300ms"));
    json_t *huge_opts = url_opts("/huge/{email}", "pad=/pad");
    json_object_set_new(huge_opts, "max_response", json_integer(1024));
    json_t *unsized_opts = url_opts("/unsized/{email}", "pad=/pad");
    json_object_set_new(unsized_opts, "max_response", json_integer(1024));
    json_t *post_opts = url_opts("/echo/{domain}",
                                 "company=/got/company,city=/got/attrs/city,mail=/got/email");
    json_object_set_new(post_opts, "method", json_string("POST"));
    snprintf(down_url, sizeof(down_url), "http://127.0.0.1:%d/{email}", closed_port());
    json_t *noenv_opts = url_opts("/ok/{email}", "x=/x");
    json_object_set_new(noenv_opts, "headers",
                        json_string("Authorization: ${ENV:DRUMBEAT_TEST_NO_SUCH_VARIABLE}"));

    struct config_plugin_instance ci[] = {
        test_instance("ok", "enrich_http", ok_opts),
        test_instance("nostore", "enrich_http", url_opts("/nostore/{email}", "x=/x,y=/nothing")),
        test_instance("secs", "enrich_http", url_opts("/limited/secs/{email}", "x=/x")),
        test_instance("dated", "enrich_http", url_opts("/limited/date/{email}", "x=/x")),
        test_instance("unavail", "enrich_http", url_opts("/unavail/{email}", "x=/x")),
        test_instance("missing", "enrich_http", url_opts("/missing/{email}", "x=/x")),
        test_instance("bad", "enrich_http", bad_opts),
        test_instance("slow", "enrich_http", slow_opts),
        test_instance("huge", "enrich_http", huge_opts),
        test_instance("unsized", "enrich_http", unsized_opts),
        test_instance("html", "enrich_http", url_opts("/html/{email}", "x=/x")),
        test_instance("empty", "enrich_http", url_opts("/empty/{email}", "x=/x")),
        test_instance("post", "enrich_http", post_opts),
        test_instance("down", "enrich_http",
                      json_pack("{s:s, s:s}", "url", down_url, "map", "x=/x")),
        /* The last three must fail. */
        test_instance("badmap", "enrich_http", url_opts("/ok/{email}", "x=nope")),
        test_instance("badfield", "enrich_http", url_opts("/ok/{nope}", "x=/x")),
        test_instance("noenv", "enrich_http", noenv_opts),
    };
    size_t n_ci = sizeof(ci) / sizeof(ci[0]);
    char *plugin_path[] = { libs, NULL };
    struct config cfg = { .path = "eh.json", .base_dir = dir, .plugin_path = plugin_path,
                          .enrichers = ci, .n_enrichers = n_ci };

    uv_loop_init(&loop);
    test_capture_start();
    curl_loop_init(&loop, &curl);
    plugins_new(&loop, NULL, curl, &p);
    plugins_load(p, &cfg, NULL);

    bool all_up = true;
    for (size_t i = 0; i + 3 < n_ci; i++)
        if (strcmp(instance_state(p, ci[i].name), "running") != 0) {
            tap_diag("%s is %s", ci[i].name, instance_state(p, ci[i].name));
            all_up = false;
        }
    tap_ok(all_up, "thirteen enrich_http instances load and run");
    tap_is_str(instance_state(p, "badmap"), "failed", "a map entry that is no JSON pointer fails");
    tap_is_str(instance_state(p, "badfield"), "failed", "an unknown {field} in the url fails");
    tap_is_str(instance_state(p, "noenv"), "failed", "an unset ${ENV:...} fails the instance");

    /* provides and cache_key through the loader. */
    const char *const *prov = plugins_enricher_provides(p, "ok");
    int n_prov = 0;
    for (; prov != NULL && prov[n_prov] != NULL; n_prov++)
        ;
    tap_is_int(n_prov, 10, "provides: one field per map entry");
    tap_ok(prov != NULL && strcmp(prov[0], "company") == 0 && strcmp(prov[4], "tilde") == 0 &&
           strcmp(prov[9], "whole") == 0, "... named and in the map's order");

    json_t *lead = json_pack("{s:s, s:s, s:s, s:n, s:{s:s}}", "email", "jo+test@example.com",
                             "domain", "example.com", "first_name", "Jo", "company",
                             "attrs", "city", "S\xc3\xa3o Paulo");
    json_t *no_city = json_pack("{s:s, s:s, s:{}}", "email", "jo@example.com", "domain",
                                "example.com", "attrs");
    char key[1024], want[1024];
    snprintf(want, sizeof(want), "GET http://127.0.0.1:%d/ok/example.com"
             "?email=jo%%2Btest%%40example.com&city=S%%C3%%A3o%%20Paulo", port);
    tap_is_int(plugins_enrich_cache_key(p, "ok", lead, key, sizeof(key)), 0, "cache_key: 0");
    tap_is_str(key, want, "... GET and the expanded, percent-encoded URL");
    tap_is_int(plugins_enrich_cache_key(p, "ok", no_city, key, sizeof(key)), -ENOENT,
               "cache_key: a lead without attrs.city has nothing to look up (-ENOENT)");
    tap_is_int(plugins_enrich_cache_key(p, "ok", lead, key, 20), -EAGAIN,
               "cache_key: a key that does not fit is no key (-EAGAIN)");
    tap_is_int(plugins_enrich_cache_key(p, "post", lead, key, sizeof(key)), 0,
               "cache_key for POST: 0");
    snprintf(want, sizeof(want), "POST http://127.0.0.1:%d/echo/example.com sha256:", port);
    tap_ok(strncmp(key, want, strlen(want)) == 0 && strlen(key) == strlen(want) + 64,
           "... POST, the URL and the body's SHA-256 (%s)", key);

    /* 200: the map, the headers, the URL, the cache TTL. */
    struct got g = { 0 };
    enrich_wait(&loop, p, "ok", lead, &g);
    tap_ok(g.calls == 1 && g.res.outcome == DRUMBEAT_DONE && g.res.code == 200,
           "200: DONE once, code 200 (%s)", g.detail);
    tap_is_str(json_string_value(json_object_get(g.attrs, "company")), "Acme",
               "a nested pointer: /company/name");
    tap_is_str(json_string_value(json_object_get(g.attrs, "industry")), "Widgets",
               "... /company/industry");
    json_t *emp = json_object_get(g.attrs, "employees");
    tap_ok(json_is_integer(emp) && json_integer_value(emp) == 250,
           "a number stays a number: employees 250");
    tap_is_str(json_string_value(json_object_get(g.attrs, "slashed")), "slash", "~1 is '/'");
    tap_is_str(json_string_value(json_object_get(g.attrs, "tilde")), "tilde", "~0 is '~'");
    tap_is_str(json_string_value(json_object_get(g.attrs, "tag")), "y", "an array index: /tags/1");
    tap_ok(json_is_true(json_object_get(g.attrs, "public")), "a boolean stays a boolean");
    json_t *score = json_object_get(g.attrs, "score");
    tap_ok(json_is_real(score) && json_real_value(score) == 4.5, "a real stays a real: 4.5");
    tap_ok(json_object_get(g.attrs, "absent") == NULL, "a missing pointer sets nothing");
    tap_ok(json_object_get(g.attrs, "whole") == NULL, "a pointer to an object sets nothing");
    tap_is_int(json_object_size(g.attrs), 8, "eight fields found");
    tap_is_int(g.ttl, 3600000, "Cache-Control max-age=3600 is a cache TTL of 3600000 ms");
    json_t *req = last_request("/ok/");
    snprintf(want, sizeof(want), "/ok/example.com?email=jo%%2Btest%%40example.com"
             "&city=S%%C3%%A3o%%20Paulo");
    tap_is_str(req_str(req, "path"), want, "the API got the percent-encoded URL");
    tap_is_str(req_str(req, "method"), "GET", "... with GET");
    tap_is_str(req_header(req, "authorization"), "Bearer " ENV_TOKEN,
               "the ${ENV:...} header arrived");
    tap_is_str(req_header(req, "x-api-key"), FILE_KEY,
               "the ${FILE:...} header arrived, read relative to the config's folder");
    tap_is_str(req_header(req, "accept"), "application/json", "Accept: application/json");
    json_decref(req);

    /* A lead without the template's field fails, asynchronously. */
    enrich_wait(&loop, p, "ok", no_city, &g);
    tap_ok(g.calls == 1 && g.res.outcome == DRUMBEAT_FAILED, "a missing field: FAILED");
    tap_is_str(g.detail, "missing field attrs.city", "... \"missing field attrs.city\"");

    /* no-store, and a map that finds nothing of one field. */
    enrich_wait(&loop, p, "nostore", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_DONE && json_integer_value(json_object_get(g.attrs, "x")) == 1
           && json_object_size(g.attrs) == 1, "no-store: DONE with x=1 only");
    tap_is_int(g.ttl, 0, "... Cache-Control no-store is a cache TTL of 0");

    enrich_wait(&loop, p, "secs", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 429, "429: RETRY (%s)", g.detail);
    tap_is_int((int64_t)g.res.retry_after_ms, 7000, "... at Retry-After: 7 seconds");
    tap_is_int(g.ttl, -1, "... and nothing said about caching");

    enrich_wait(&loop, p, "dated", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.retry_after_ms >= 25000 &&
           g.res.retry_after_ms <= 31000, "429 with an HTTP date: RETRY in ~30 s (%llu ms)",
           (unsigned long long)g.res.retry_after_ms);

    enrich_wait(&loop, p, "unavail", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 503 && g.res.retry_after_ms == 0,
           "503: RETRY with the host's backoff");

    enrich_wait(&loop, p, "missing", lead, &g);
    tap_ok(g.calls == 1 && g.res.outcome == DRUMBEAT_DONE && g.res.code == 404,
           "404: DONE (not found is an answer)");
    tap_ok(g.attrs == NULL, "... with NULL attrs");

    enrich_wait(&loop, p, "bad", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_FAILED && g.res.code == 400, "400: FAILED");
    tap_contains(g.detail, "HTTP 400: ", "... the detail has the status and the reply");
    tap_ok(strstr(g.detail, ENV_TOKEN) == NULL && strstr(g.detail, "***") != NULL,
           "... with the credential the API echoed replaced by *** (%s)", g.detail);

    enrich_wait(&loop, p, "slow", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 0, "a timeout: RETRY (%s)", g.detail);
    tap_contains(g.detail, "timed out", "... and says so");

    enrich_wait(&loop, p, "huge", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_FAILED && g.res.code == 200, "a reply above max_response: FAILED");
    tap_contains(g.detail, "larger than max_response (1024 bytes)", "... and says so");

    enrich_wait(&loop, p, "unsized", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_FAILED && g.res.code == 200,
           "a reply without Content-Length growing above max_response: FAILED");
    tap_contains(g.detail, "larger than max_response", "... and says so");

    enrich_wait(&loop, p, "html", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_FAILED && g.res.code == 200, "200 with HTML: FAILED");
    tap_contains(g.detail, "not JSON", "... the reply is not JSON");

    enrich_wait(&loop, p, "empty", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_DONE && g.res.code == 204 && json_object_size(g.attrs) == 0,
           "204 with no body: DONE with no fields");
    tap_is_str(g.detail, "HTTP 204: no content", "... and the detail says so");

    enrich_wait(&loop, p, "down", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY, "a closed port: RETRY (%s)", g.detail);

    /* POST sends the lead's fields and reads the echo. */
    enrich_wait(&loop, p, "post", lead, &g);
    tap_ok(g.res.outcome == DRUMBEAT_DONE, "POST: DONE (%s)", g.detail);
    tap_is_str(json_string_value(json_object_get(g.attrs, "city")), "S\xc3\xa3o Paulo",
               "... the body carried attrs.city");
    tap_ok(json_object_get(g.attrs, "company") == NULL &&
           strcmp(json_string_value(json_object_get(g.attrs, "mail")), "jo+test@example.com") == 0,
           "... and the email, but not the null company");
    req = last_request("/echo/");
    tap_ok(req != NULL && strcmp(req_str(req, "method"), "POST") == 0 &&
           strcmp(req_header(req, "content-type"), "application/json") == 0,
           "... sent as POST with Content-Type: application/json");
    json_decref(req);
    got_clear(&g);

    plugins_free(p);
    curl_loop_close(curl);
    int closed = test_loop_finish(&loop);
    char *logged = test_capture_end();
    tap_ok(logged != NULL && strstr(logged, "enrich_http/ok") != NULL,
           "the plugin's log lines were captured");
    tap_ok(logged != NULL && strstr(logged, ENV_TOKEN) == NULL && strstr(logged, FILE_KEY) == NULL,
           "no credential is ever logged");
    free(logged);
    tap_is_int(closed, 0, "the loop closes cleanly");

    json_decref(lead);
    json_decref(no_city);
    for (size_t i = 0; i < n_ci; i++)
        test_instance_clear(&ci[i]);
    close(stdin_fd);
    kill(api, SIGTERM);
    waitpid(api, NULL, 0);
    return tap_done();
}
