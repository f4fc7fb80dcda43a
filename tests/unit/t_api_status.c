/* SPDX-License-Identifier: MIT */
/* tests/unit/t_api_status.c: the routes of api_status.c and metrics.c on
 * both real listeners, with a real SQLite store in a temporary folder: the
 * public /healthz on each, /metrics in Prometheus text, /api/status and
 * /api/whoami behind the token, and nothing of the API on the public
 * listener. A client thread asks with libcurl while the loop serves; the
 * test ends with uv_loop_close() == 0. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "api.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "store.h"
#include "tap.h"

static struct daemon d;
static uv_async_t client_done;
static int api_port, pub_port;
static struct config_person ada = { .name = "ada", .email = "ada@example.com",
                                    .token = "tok-ada", .roles = CONFIG_ROLE_ADMIN };

static const struct config_person *lookup(void *arg, const char *token)
{
    return strcmp(token, ada.token) == 0 ? &ada : NULL;
}

struct reply {
    long status;
    char body[32768];
    size_t len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n, room = sizeof(r->body) - 1 - r->len;
    memcpy(r->body + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static void get(int port, const char *path, const char *token, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256], auth[128];

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static void *client(void *arg)
{
    struct reply r;
    char want[64];

    get(api_port, "/healthz", NULL, &r);
    tap_is_int(r.status, 200, "API /healthz answers without a token");
    tap_contains(r.body, "\"status\":\"ok\"", "and says ok");
    get(pub_port, "/healthz", NULL, &r);
    tap_is_int(r.status, 200, "public /healthz answers");

    get(api_port, "/metrics", NULL, &r);
    tap_is_int(r.status, 200, "/metrics answers without a token");
    tap_contains(r.body, "# TYPE process_cpu_seconds_total counter", "process CPU time");
    tap_contains(r.body, "process_open_fds ", "open fds");
    tap_contains(r.body, "process_start_time_seconds ", "start time");
    tap_contains(r.body, "drumbeat_store_touches{state=\"in_doubt\"} 0", "touches by state");
    tap_contains(r.body, "drumbeat_http_requests_total{listener=\"api\"} ", "requests per listener");
    tap_contains(r.body, "drumbeat_http_requests_total{listener=\"public\"} 1",
                 "the public /healthz was counted");
    tap_contains(r.body, "# HELP drumbeat_loop_lag_max_seconds ", "loop lag max");
    tap_contains(r.body, "drumbeat_reloads_total 2", "reloads");

    get(api_port, "/api/status", NULL, &r);
    tap_is_int(r.status, 401, "/api/status needs the token");
    get(api_port, "/api/status", "tok-ada", &r);
    tap_is_int(r.status, 200, "/api/status with the token");
    json_t *s = json_loads(r.body, 0, NULL);
    tap_is_str(json_string_value(json_object_get(json_object_get(s, "store"), "backend")),
               "sqlite", "status shows the store backend");
    tap_is_int(json_integer_value(json_object_get(json_object_get(s, "touches"), "scheduled")), 0,
               "status counts touches by state");
    json_t *l = json_array_get(json_object_get(s, "listeners"), 1);
    tap_is_int(json_integer_value(json_object_get(l, "port")), pub_port,
               "status lists the public listener's port");
    tap_ok(json_is_array(json_object_get(s, "plugins")), "status has a plugins array");
    tap_ok(json_is_boolean(json_object_get(s, "test_clock")), "status says whether the clock is a test clock");
    json_decref(s);

    get(api_port, "/api/whoami", "tok-ada", &r);
    tap_contains(r.body, "\"name\":\"ada\"", "whoami names the person");
    tap_contains(r.body, "\"roles\":[\"admin\"]", "with their roles");

    get(pub_port, "/api/status", "tok-ada", &r);
    tap_is_int(r.status, 404, "the public listener has no /api/status");
    get(pub_port, "/metrics", NULL, &r);
    tap_is_int(r.status, 404, "nor /metrics");
    snprintf(want, sizeof(want), "\"path\":\"/metrics\"");
    tap_contains(r.body, want, "its 404 is the JSON error");

    uv_async_send(&client_done);
    return NULL;
}

static void on_client_done(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
    http_server_close(d.api);
    http_server_close(d.pub);
    d.api = d.pub = NULL;
    store_close(d.store);
    d.store = NULL;
}

int main(void)
{
    struct config_listener conf = { .address = "127.0.0.1", .port = 0, .max_connections = 16,
                                    .timeout_ms = 5000, .max_body = 65536 };
    struct errbuf err = { 0 };
    uv_loop_t loop;
    char path[1024];
    pthread_t th;

    tap_plan(28);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&loop);
    d.loop = &loop;
    d.reloads = 2;
    snprintf(path, sizeof(path), "%s/store/drumbeat.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &d.store, &err), 0, "a real store opens");
    tap_is_int(http_server_start(&loop, &conf, "api", &d.api, &err) |
               http_server_start(&loop, &conf, "public", &d.pub, &err), 0, "both listeners start");
    api_port = http_server_port(d.api);
    pub_port = http_server_port(d.pub);
    http_server_set_auth(d.api, lookup, NULL);
    tap_is_int(api_register(&d), 0, "api_register adds every area's routes");
    uv_async_init(&loop, &client_done, on_client_done);

    pthread_create(&th, NULL, client, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    curl_global_cleanup();
    return tap_done();
}
