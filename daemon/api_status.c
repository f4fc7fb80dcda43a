/* SPDX-License-Identifier: MIT */
/* daemon/api_status.c: the routes every listener needs and the table that
 * registers every area's routes.
 *   GET /healthz       both listeners, no token: {"status":"ok"}
 *   GET /metrics       API listener, no token (Prometheus scrapers rarely
 *                      send one; the page carries counts, no personal data)
 *   GET /api/status    version, uptime, clock, store, listeners, plugins,
 *                      touches by state, reloads
 *   GET /api/whoami    the person the token belongs to
 * The public listener gets /healthz only here; anything else there is a 404
 * (including everything under /api/), because the API routes are never added to it.
 */
#include <errno.h>
#include <stdlib.h>

#include <jansson.h>

#include "api.h"
#include "build-aux/config.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "metrics.h"
#include "plugin_loader.h"
#include "store.h"

/* Each area of the API registers its own routes; add new areas here. */
static int (*const api_areas[])(struct daemon *d) = {
    api_status_register,
    api_touches_register,
    api_leads_register,
    api_imports_register,
    api_lead_admin_register,
    api_enrich_register,
    api_cadences_register,
    api_events_register,
    api_calls_register,
    api_review_register,
    api_enrollments_register,
    api_clock_register,
    api_mailboxes_register,
};

int api_register(struct daemon *d)
{
    for (size_t i = 0; i < sizeof(api_areas) / sizeof(api_areas[0]); i++) {
        int rc = api_areas[i](d);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void on_healthz(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    if (d->stopping)
        http_reply_json(req, 503, json_pack("{s:s}", "status", "stopping"));
    else
        http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static void on_metrics(struct http_request *req, void *ctx)
{
    size_t len = 0;
    char *text = metrics_render(ctx, &len);
    if (text == NULL) {
        http_reply_error(req, 500, "cannot render the metrics: out of memory");
        return;
    }
    http_reply_text(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
}

static json_t *status_store(struct daemon *d, json_t **touches)
{
    struct store_status st;

    *touches = json_object();
    if (d->store == NULL || store_status(d->store, &st) < 0)
        return json_null();
    for (int s = 0; s < TOUCH_STATE_COUNT; s++)
        json_object_set_new(*touches, touch_state_format((enum touch_state)s),
                            json_integer(st.touches[s]));
    return json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
                     "backend", st.backend, "path", st.path, "store_id", st.store_id,
                     "schema_version", st.schema_version, "leads", (json_int_t)st.leads,
                     "events", (json_int_t)st.events, "tasks_open", (json_int_t)st.tasks_open,
                     "suppressed", (json_int_t)st.suppressed,
                     "file_bytes", (json_int_t)st.file_bytes,
                     "writes_committed", (json_int_t)st.writes_committed,
                     "commits", (json_int_t)st.commits,
                     "lazy_commits", (json_int_t)st.lazy_commits,
                     "lazy_syncs", (json_int_t)st.lazy_syncs,
                     "write_queue", (json_int_t)st.write_queue);
}

static json_t *status_listener(struct http_server *srv, const char *name,
                               const struct config_listener *conf)
{
    /* A closed listener (during shutdown) still shows where it was. */
    if (srv != NULL)
        return json_pack("{s:s, s:s, s:i}", "name", name, "address",
                         http_server_address(srv), "port", http_server_port(srv));
    return json_pack("{s:s, s:s?, s:i}", "name", name, "address",
                     conf != NULL ? conf->address : NULL, "port", conf != NULL ? conf->port : 0);
}

static void on_status(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    char now[40];
    int64_t now_ms = clock_now_ms();
    json_t *touches = NULL;
    json_t *store = status_store(d, &touches);
    json_t *plugins = d->plugins != NULL ? plugins_status_json(d->plugins) : NULL;

    clock_format_iso(now_ms, now, sizeof(now));
    json_t *body = json_pack(
        "{s:s, s:I, s:b, s:s, s:o, s:[o, o], s:o, s:o, s:I, s:I}",
        "version", PACKAGE_VERSION,
        "uptime_s", (json_int_t)((now_ms - d->started_at_ms) / 1000),
        "test_clock", clock_is_test(), "now", now,
        "store", store,
        "listeners", status_listener(d->api, "api", d->cfg != NULL ? &d->cfg->api : NULL),
        status_listener(d->pub, "public", d->cfg != NULL ? &d->cfg->public_ : NULL),
        "plugins", plugins != NULL ? plugins : json_array(),
        "touches", touches, "reloads", (json_int_t)d->reloads,
        "reload_failures", (json_int_t)d->reload_failures);
    if (body == NULL) {
        http_reply_error(req, 500, "cannot build the status");
        return;
    }
    http_reply_json(req, 200, body);
}

static void on_whoami(struct http_request *req, void *ctx)
{
    const struct config_person *who = http_request_actor(req);
    json_t *roles = json_array(), *territories = json_array();

    for (unsigned bit = 1; bit <= CONFIG_ROLE_ADMIN; bit <<= 1)
        if (who->roles & bit)
            json_array_append_new(roles, json_string(config_role_format((enum config_role)bit)));
    for (char **t = who->territories; t != NULL && *t != NULL; t++)
        json_array_append_new(territories, json_string(*t));
    http_reply_json(req, 200,
                    json_pack("{s:s?, s:s?, s:o, s:o}", "name", who->name, "email", who->email,
                              "roles", roles, "territories", territories));
}

int api_status_register(struct daemon *d)
{
    int rc = 0;

    if (d->api != NULL) {
        if ((rc = http_route(d->api, "GET", "/healthz", HTTP_ROUTE_PUBLIC, on_healthz, d)) < 0 ||
            (rc = http_route(d->api, "GET", "/metrics", HTTP_ROUTE_PUBLIC, on_metrics, d)) < 0 ||
            (rc = http_route(d->api, "GET", "/api/status", 0, on_status, d)) < 0 ||
            (rc = http_route(d->api, "GET", "/api/whoami", 0, on_whoami, d)) < 0)
            return rc;
    }
    if (d->pub != NULL)
        rc = http_route(d->pub, "GET", "/healthz", HTTP_ROUTE_PUBLIC, on_healthz, d);
    return rc;
}
