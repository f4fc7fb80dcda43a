/* SPDX-License-Identifier: MIT */
/* daemon/http_int.h: the insides of the HTTP server, shared by http.c (the
 * server on the loop), http_route.c (routes, auth, dispatch) and
 * http_reply.c (request accessors and replies). Nothing outside these files
 * includes it.
 *
 * Ownership: struct http_server owns its routes and the struct http_request
 * of every connection in progress (freed when libmicrohttpd reports the
 * request completed). A request owns its path copy, body, parsed JSON, the
 * response it has not queued yet and its extra headers. actor is borrowed
 * from the config in force.
 */
#ifndef DRUMBEAT_HTTP_INT_H
#define DRUMBEAT_HTTP_INT_H

#include <stdbool.h>
#include <microhttpd.h>

#include "http.h"

#define HTTP_MAX_SEGMENTS 16
#define HTTP_MAX_EXTRA_HEADERS 8

struct http_route_entry {
    char method[12];
    char *pattern;                      /* owned */
    char *segs[HTTP_MAX_SEGMENTS];      /* owned, split from pattern */
    size_t n_segs;
    unsigned flags;
    http_handler h;
    void *ctx;                          /* borrowed */
};

enum http_req_state {
    HTTP_REQ_READING = 0,   /* headers in, body arriving */
    HTTP_REQ_IN_HANDLER,    /* the handler is running */
    HTTP_REQ_PENDING,       /* the handler returned without replying */
    HTTP_REQ_REPLIED,       /* a response is ready or queued */
    HTTP_REQ_STREAMING,     /* a HTTP_ROUTE_STREAM handler takes the body */
};

struct http_request {
    struct http_server *srv;
    struct MHD_Connection *conn;        /* borrowed from libmicrohttpd */
    char method[12];
    char *path;                         /* owned, decoded, no query */
    char *seg_buf;                      /* owned: path split into segments */
    char *segs[HTTP_MAX_SEGMENTS];
    size_t n_segs;
    bool path_ok;                       /* split fitted HTTP_MAX_SEGMENTS */
    const struct http_route_entry *route;
    char *body;                         /* owned, NUL-terminated */
    size_t body_len, body_cap;
    bool too_large;
    json_t *json;                       /* owned */
    const struct config_person *actor;  /* borrowed */
    char actor_name[64];
    enum http_req_state state;
    bool suspended, queued;
    struct MHD_Response *response;      /* owned until queued */
    unsigned status;
    char *extra[HTTP_MAX_EXTRA_HEADERS][2];
    size_t n_extra;
    void (*cancel)(void *arg);
    void *cancel_arg;
    http_body_cb body_cb;               /* HTTP_ROUTE_STREAM: the body's taker */
    void *body_arg;                     /* borrowed */
    bool stream_paused;                 /* suspended until http_request_resume() */
    uint64_t start_ns;
    struct http_request *prev, *next;   /* the server's list of requests */
};

struct http_server {
    uv_loop_t *loop;                    /* borrowed */
    struct MHD_Daemon *mhd;
    uv_poll_t poll;
    uv_timer_t timer;
    int handles_open;
    bool in_run, rerun, closing, close_requested;
    char name[16];
    char address[64];
    int port;
    size_t max_body;
    struct http_route_entry *routes;
    size_t n_routes, cap_routes;
    const struct config_person *(*lookup)(void *arg, const char *token);
    void *lookup_arg;                   /* borrowed */
    struct http_request *requests;      /* every request in progress */
    struct http_stats stats;
};

/* http_route.c: finds the route, checks the token, parses a JSON body and
 * calls the handler (or replies 404/405/401/400 itself). */
void http_dispatch(struct http_request *req);
/* At header time: returns true when the request is for a HTTP_ROUTE_STREAM
 * route, after checking its token and running its handler (or replying
 * 401); false, with nothing done, for every other request. */
bool http_dispatch_stream(struct http_request *req);
void http_routes_free(struct http_server *srv);

/* http_reply.c */
/* Splits req->path into req->segs. */
void http_request_split(struct http_request *req);
/* Frees what the request owns (not the struct's list links). */
void http_request_release(struct http_request *req);
/* The path made safe for a log line: percent-encodes bytes outside the
 * printable ASCII range, space, quote and backslash. */
const char *http_path_display(const char *path, char *buf, size_t len);

/* http.c: asks for an MHD_run soon (after a resume). */
void http_server_kick(struct http_server *srv);

#endif /* DRUMBEAT_HTTP_INT_H */
