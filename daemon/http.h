/* SPDX-License-Identifier: MIT */
/* daemon/http.h: the HTTP listeners (API and public), libmicrohttpd driven by
 * the libuv loop: MHD runs without a thread of its own (MHD_USE_EPOLL), its
 * epoll fd is watched with a uv_poll and MHD_get_timeout drives a uv_timer.
 * Routes are "METHOD /path/:param" patterns; a route needs a bearer token
 * unless it is registered HTTP_ROUTE_PUBLIC. Every reply carries
 * Content-Type, Cache-Control: no-store and X-Content-Type-Options: nosniff.
 * Errors are JSON: {"error": "...", "path": "/request/path"}.
 *
 * A handler replies synchronously, or returns without replying and replies
 * later (on the loop thread): the connection is then suspended until the
 * reply, and resumed by it.
 *
 * Threads: everything here runs on the loop thread, including the handlers.
 *
 * Ownership:
 *   struct http_server     owned by the caller of http_server_start();
 *                          http_server_close() releases it (its memory is
 *                          freed in the uv close callbacks: keep running the
 *                          loop afterwards).
 *   conf, name, pattern    borrowed for the call (copied).
 *   handler ctx, auth arg  borrowed; must outlive the server.
 *   struct http_request    owned by the server; valid from the handler call
 *                          until the handler (or the async code) replies, or
 *                          until its cancel callback runs. Never free it.
 *   strings returned by http_request_*()
 *                          borrowed from the request; valid as long as it is.
 *   http_request_json()    borrowed (incref to keep).
 *   http_request_actor()   borrowed from the config in force; valid during
 *                          the current loop iteration only (a reload may
 *                          replace it): copy what you keep.
 *   json_t *body passed to http_reply_json()
 *                          stolen (jansson's _new convention).
 */
#ifndef DRUMBEAT_HTTP_H
#define DRUMBEAT_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "errors.h"

struct http_server;
struct http_request;

typedef void (*http_handler)(struct http_request *req, void *ctx);

/* The route needs no bearer token. Without it, a valid token is required. */
#define HTTP_ROUTE_PUBLIC 0x1u
/* The route takes its body as a stream (an import file): its handler runs as
 * soon as the headers are in (after the token check), before any of the
 * body, and must call http_request_stream() or reply. The listener's
 * max_body does not apply; no JSON body is parsed. */
#define HTTP_ROUTE_STREAM 0x2u

/* Starts a listener bound exactly to conf->address:conf->port (an IPv4 or
 * IPv6 literal; port 0 picks a free port, see http_server_port()). name is
 * "api" or "public", used in logs and metrics. Applies conf's connection,
 * timeout and body limits. Returns 0 and sets *out, or a negative errno with
 * err filled: -EADDRINUSE ("127.0.0.1:7780 is already in use"), -EINVAL (not
 * an address literal), -EACCES, -ENOMEM, -EIO (libmicrohttpd refused). */
int http_server_start(uv_loop_t *loop, const struct config_listener *conf,
                      const char *name, struct http_server **out, struct errbuf *err);

/* Replies 503 to every pending (suspended) request after calling its cancel
 * callback, stops accepting, stops libmicrohttpd and closes the uv handles.
 * The memory is freed in the close callbacks. srv may be NULL. */
void http_server_close(struct http_server *srv);

/* The bound port (useful with port 0), the bound address text, the name. */
int http_server_port(const struct http_server *srv);
const char *http_server_address(const struct http_server *srv);
const char *http_server_name(const struct http_server *srv);

/* Adds a route. method is "GET", "POST", ... (a GET route also answers
 * HEAD); pattern is "/api/touches/:id" (":name" segments capture one path
 * segment). Routes are tried in registration order. Returns 0, -EINVAL (bad
 * pattern or method) or -ENOMEM. */
int http_route(struct http_server *srv, const char *method, const char *pattern,
               unsigned flags, http_handler h, void *ctx);

/* Sets how tokens are checked: lookup(arg, token) returns the person or
 * NULL. Without a lookup every non-public route answers 401. */
void http_server_set_auth(struct http_server *srv,
                          const struct config_person *(*lookup)(void *arg, const char *token),
                          void *arg);

struct http_stats {
    uint64_t requests;      /* requests answered (any status) */
    uint64_t errors_4xx;
    uint64_t errors_5xx;
    uint64_t active;        /* requests in progress now (reading, pending, sending) */
    uint64_t unauthorized;  /* 401s */
};
void http_server_stats(const struct http_server *srv, struct http_stats *out);

/* ---- the request, inside a handler ---- */
const char *http_request_method(const struct http_request *req);
/* The decoded path, without the query string. */
const char *http_request_path(const struct http_request *req);
/* The value of a ":name" segment of the route's pattern, or NULL. */
const char *http_request_param(const struct http_request *req, const char *name);
/* A decoded query argument ("?state=sent"), or NULL. */
const char *http_request_query(const struct http_request *req, const char *name);
/* A request header (case-insensitive name), or NULL. */
const char *http_request_header(const struct http_request *req, const char *name);
/* The body parsed as JSON when the Content-Type is JSON and a body was sent;
 * otherwise NULL. Invalid JSON never reaches a handler: the server answers
 * 400 {"error":"invalid JSON at line L column C: ...","path":...} itself. */
const json_t *http_request_json(const struct http_request *req);
/* The raw body (NUL-terminated; *len excludes the NUL), or NULL if none. */
const char *http_request_body(const struct http_request *req, size_t *len);
/* The person whose bearer token was given, or NULL on a public route. */
const struct config_person *http_request_actor(const struct http_request *req);
/* Called (on the loop thread) if the request is dropped before the handler
 * replied, that is when the server closes; the request is invalid after it,
 * so the async code must not reply. Replaces a previous callback. */
void http_request_on_cancel(struct http_request *req, void (*cb)(void *arg), void *arg);

/* ---- streamed bodies (HTTP_ROUTE_STREAM routes) ---- */
/* Receives the body as it arrives, on the loop thread. Returns how many of
 * the len bytes it took: what it leaves is offered again later, and taking
 * less than len pauses the upload (the connection is no longer read) until
 * http_request_resume(). A negative errno ends the upload: the callback
 * should have replied; the rest of the body is discarded. After the last
 * byte it is called once more with data NULL and len 0; the handler then
 * replies, now or later. */
typedef long (*http_body_cb)(struct http_request *req, const char *data, size_t len,
                             void *arg);
void http_request_stream(struct http_request *req, http_body_cb cb, void *arg);
/* Reads the body again after a pause. Harmless when not paused. */
void http_request_resume(struct http_request *req);

/* ---- replies: exactly one per request, on the loop thread ---- */
/* Replies with body serialised compactly (body is stolen; NULL sends "{}"). */
void http_reply_json(struct http_request *req, unsigned status, json_t *body);
/* Replies {"error": "<formatted>", "path": "<request path>"}. */
void http_reply_error(struct http_request *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Replies with text (copied) of the given content type. */
void http_reply_text(struct http_request *req, unsigned status, const char *content_type,
                     const char *text, size_t len);
/* Adds a header to the reply made next (before the http_reply_* call);
 * value is copied. Returns 0, or -EINVAL for a name or value with CR/LF. */
int http_reply_header(struct http_request *req, const char *name, const char *value);

#endif /* DRUMBEAT_HTTP_H */
