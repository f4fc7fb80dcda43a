/* SPDX-License-Identifier: MIT */
/* daemon/http_route.c: the route table of a listener and the steps every
 * complete request goes through before its handler: find the route (404 for
 * an unknown path, 405 with Allow for a known path and another method), check
 * the bearer token (401 with WWW-Authenticate), parse a JSON body (400 with
 * line and column). The order is fixed so that no handler ever sees an
 * unauthenticated request or a body it would have to validate twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http_int.h"
#include "log.h"

static void route_entry_free(struct http_route_entry *r)
{
    free(r->pattern);
    for (size_t i = 0; i < r->n_segs; i++)
        free(r->segs[i]);
}

void http_routes_free(struct http_server *srv)
{
    for (size_t i = 0; i < srv->n_routes; i++)
        route_entry_free(&srv->routes[i]);
    free(srv->routes);
    srv->routes = NULL;
    srv->n_routes = srv->cap_routes = 0;
}

/* Splits "/a/:b/c" into segments; an empty segment (a "//" or a trailing
 * "/", except the root "/") is refused so that each path has one spelling. */
static int route_split(struct http_route_entry *r, const char *pattern)
{
    if (pattern[0] != '/')
        return -EINVAL;
    if (pattern[1] == '\0')
        return 0;
    const char *p = pattern + 1;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (p[0] == ':' && n == 1) || r->n_segs == HTTP_MAX_SEGMENTS)
            return -EINVAL;
        r->segs[r->n_segs] = strndup(p, n);
        if (r->segs[r->n_segs] == NULL)
            return -ENOMEM;
        r->n_segs++;
        if (slash == NULL)
            return 0;
        p = slash + 1;
    }
}

int http_route(struct http_server *srv, const char *method, const char *pattern,
               unsigned flags, http_handler h, void *ctx)
{
    struct http_route_entry r;
    int rc;

    memset(&r, 0, sizeof(r));
    if (method == NULL || pattern == NULL || h == NULL || method[0] == '\0' ||
        strlen(method) >= sizeof(r.method))
        return -EINVAL;
    snprintf(r.method, sizeof(r.method), "%s", method);
    r.flags = flags;
    r.h = h;
    r.ctx = ctx;
    r.pattern = strdup(pattern);
    if (r.pattern == NULL)
        return -ENOMEM;
    rc = route_split(&r, pattern);
    if (rc != 0)
        goto fail;
    if (srv->n_routes == srv->cap_routes) {
        size_t cap = srv->cap_routes != 0 ? srv->cap_routes * 2 : 16;
        struct http_route_entry *a = realloc(srv->routes, cap * sizeof(*a));
        if (a == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        srv->routes = a;
        srv->cap_routes = cap;
    }
    srv->routes[srv->n_routes++] = r;
    return 0;

fail:
    route_entry_free(&r);
    return rc;
}

void http_server_set_auth(struct http_server *srv,
                          const struct config_person *(*lookup)(void *arg, const char *token),
                          void *arg)
{
    srv->lookup = lookup;
    srv->lookup_arg = arg;
}

static bool route_path_matches(const struct http_route_entry *r, const struct http_request *req)
{
    if (!req->path_ok || r->n_segs != req->n_segs)
        return false;
    for (size_t i = 0; i < r->n_segs; i++) {
        if (r->segs[i][0] == ':')
            continue;
        if (strcmp(r->segs[i], req->segs[i]) != 0)
            return false;
    }
    return true;
}

static bool route_method_matches(const struct http_route_entry *r, const char *method)
{
    if (strcmp(r->method, method) == 0)
        return true;
    /* HEAD is GET without the body, which libmicrohttpd leaves out itself. */
    return strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0;
}

/* "Bearer <token>" (the scheme is case-insensitive, RFC 6750), or NULL. */
static const char *bearer_token(const struct http_request *req)
{
    const char *h = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return *h != '\0' ? h : NULL;
}

static bool http_authorize(struct http_request *req)
{
    struct http_server *srv = req->srv;
    const char *token = bearer_token(req);
    const struct config_person *who = NULL;

    if (token != NULL && srv->lookup != NULL)
        who = srv->lookup(srv->lookup_arg, token);
    if (who != NULL) {
        req->actor = who;
        snprintf(req->actor_name, sizeof(req->actor_name), "%s",
                 who->name != NULL ? who->name : "?");
        return true;
    }
    http_reply_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                      token == NULL ? "Bearer realm=\"drumbeat\""
                                    : "Bearer realm=\"drumbeat\", error=\"invalid_token\"");
    http_reply_error(req, MHD_HTTP_UNAUTHORIZED,
                     token == NULL ? "a bearer token is required (Authorization: Bearer ...)"
                                   : "the bearer token is not valid");
    return false;
}

static bool content_type_is_json(const char *ct)
{
    if (ct == NULL)
        return false;
    size_t n = strcspn(ct, ";");
    while (n > 0 && ct[n - 1] == ' ')
        n--;
    if (n == strlen("application/json") && strncasecmp(ct, "application/json", n) == 0)
        return true;
    /* application/problem+json and friends. */
    return n > 5 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0;
}

static bool http_parse_json(struct http_request *req)
{
    const char *ct = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_TYPE);
    json_error_t jerr;

    if (req->body_len == 0 || !content_type_is_json(ct))
        return true;
    req->json = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (req->json != NULL)
        return true;
    http_reply_error(req, MHD_HTTP_BAD_REQUEST, "invalid JSON at line %d column %d: %s",
                     jerr.line, jerr.column, jerr.text);
    return false;
}

static void reply_method_not_allowed(struct http_request *req)
{
    struct http_server *srv = req->srv;
    char allow[128] = "";
    size_t n = 0;

    for (size_t i = 0; i < srv->n_routes; i++) {
        const struct http_route_entry *r = &srv->routes[i];
        if (!route_path_matches(r, req) || strstr(allow, r->method) != NULL)
            continue;
        n += (size_t)snprintf(allow + n, n < sizeof(allow) ? sizeof(allow) - n : 0, "%s%s",
                              n != 0 ? ", " : "", r->method);
        if (n >= sizeof(allow))
            break;
    }
    http_reply_header(req, MHD_HTTP_HEADER_ALLOW, allow);
    http_reply_error(req, MHD_HTTP_METHOD_NOT_ALLOWED, "method %s is not allowed here",
                     req->method);
}

bool http_dispatch_stream(struct http_request *req)
{
    struct http_server *srv = req->srv;
    const struct http_route_entry *route = NULL;

    http_request_split(req);
    for (size_t i = 0; i < srv->n_routes && route == NULL; i++)
        if (route_path_matches(&srv->routes[i], req) &&
            route_method_matches(&srv->routes[i], req->method))
            route = &srv->routes[i];
    if (route == NULL || !(route->flags & HTTP_ROUTE_STREAM))
        return false;
    req->route = route;
    if (!(route->flags & HTTP_ROUTE_PUBLIC) && !http_authorize(req))
        return true;
    req->state = HTTP_REQ_IN_HANDLER;
    route->h(req, route->ctx);
    if (req->state == HTTP_REQ_IN_HANDLER)
        req->state = req->body_cb != NULL ? HTTP_REQ_STREAMING : HTTP_REQ_PENDING;
    return true;
}

void http_request_stream(struct http_request *req, http_body_cb cb, void *arg)
{
    req->body_cb = cb;
    req->body_arg = arg;
}

void http_request_resume(struct http_request *req)
{
    if (!req->stream_paused)
        return;
    req->stream_paused = false;
    if (req->suspended) {
        req->suspended = false;
        MHD_resume_connection(req->conn);
        http_server_kick(req->srv);
    }
}

void http_dispatch(struct http_request *req)
{
    struct http_server *srv = req->srv;
    const struct http_route_entry *route = NULL;
    bool path_known = false;

    http_request_split(req);
    for (size_t i = 0; i < srv->n_routes && route == NULL; i++) {
        if (!route_path_matches(&srv->routes[i], req))
            continue;
        path_known = true;
        if (route_method_matches(&srv->routes[i], req->method))
            route = &srv->routes[i];
    }
    if (route == NULL) {
        if (path_known)
            reply_method_not_allowed(req);
        else
            http_reply_error(req, MHD_HTTP_NOT_FOUND, "no such resource");
        return;
    }
    req->route = route;
    if (!(route->flags & HTTP_ROUTE_PUBLIC) && !http_authorize(req))
        return;
    if (!http_parse_json(req))
        return;
    req->state = HTTP_REQ_IN_HANDLER;
    route->h(req, route->ctx);
    if (req->state == HTTP_REQ_IN_HANDLER)
        req->state = HTTP_REQ_PENDING;
}
