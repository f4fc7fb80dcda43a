/* SPDX-License-Identifier: MIT */
/* daemon/http_reply.c: what a handler sees of a request (method, path,
 * params, query, headers, body, actor) and the replies it makes. Every reply
 * gets the same security headers and a Date from clock.h, so the test clock
 * shows in HTTP too. A reply made after the handler returned resumes the
 * suspended connection and asks the server for an MHD_run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "http_int.h"
#include "log.h"

const char *http_request_method(const struct http_request *req)
{
    return req->method;
}

const char *http_request_path(const struct http_request *req)
{
    return req->path;
}

const char *http_request_param(const struct http_request *req, const char *name)
{
    const struct http_route_entry *r = req->route;
    if (r == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < r->n_segs && i < req->n_segs; i++)
        if (r->segs[i][0] == ':' && strcmp(r->segs[i] + 1, name) == 0)
            return req->segs[i];
    return NULL;
}

const char *http_request_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_request_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const json_t *http_request_json(const struct http_request *req)
{
    return req->json;
}

const char *http_request_body(const struct http_request *req, size_t *len)
{
    if (len != NULL)
        *len = req->body != NULL ? req->body_len : 0;
    return req->body;
}

const struct config_person *http_request_actor(const struct http_request *req)
{
    return req->actor;
}

void http_request_on_cancel(struct http_request *req, void (*cb)(void *arg), void *arg)
{
    req->cancel = cb;
    req->cancel_arg = arg;
}

void http_request_split(struct http_request *req)
{
    req->n_segs = 0;
    req->path_ok = false;
    free(req->seg_buf);
    req->seg_buf = NULL;
    if (req->path[0] != '/')
        return;
    req->path_ok = true;
    if (req->path[1] == '\0')
        return;
    req->seg_buf = strdup(req->path + 1);
    if (req->seg_buf == NULL) {
        req->path_ok = false;
        return;
    }
    char *p = req->seg_buf;
    for (;;) {
        char *slash = strchr(p, '/');
        if (slash != NULL)
            *slash = '\0';
        /* An empty segment matches no route: "/api//status" is not "/api/status". */
        if (*p == '\0' || req->n_segs == HTTP_MAX_SEGMENTS) {
            req->path_ok = false;
            return;
        }
        req->segs[req->n_segs++] = p;
        if (slash == NULL)
            return;
        p = slash + 1;
    }
}

void http_request_release(struct http_request *req)
{
    free(req->path);
    free(req->seg_buf);
    free(req->body);
    json_decref(req->json);
    if (req->response != NULL)
        MHD_destroy_response(req->response);
    for (size_t i = 0; i < req->n_extra; i++) {
        free(req->extra[i][0]);
        free(req->extra[i][1]);
    }
}

const char *http_path_display(const char *path, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;

    for (const unsigned char *p = (const unsigned char *)path; *p != '\0'; p++) {
        bool plain = *p > 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%';
        if (n + (plain ? 1 : 3) + 1 > len)
            break;
        if (plain) {
            buf[n++] = (char)*p;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 15];
        }
    }
    buf[n] = '\0';
    return buf;
}

static bool header_text_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}

int http_reply_header(struct http_request *req, const char *name, const char *value)
{
    if (!header_text_ok(name) || !header_text_ok(value) || name[0] == '\0' ||
        req->n_extra == HTTP_MAX_EXTRA_HEADERS)
        return -EINVAL;
    char *n = strdup(name), *v = strdup(value);
    if (n == NULL || v == NULL) {
        free(n);
        free(v);
        return -ENOMEM;
    }
    req->extra[req->n_extra][0] = n;
    req->extra[req->n_extra][1] = v;
    req->n_extra++;
    return 0;
}

/* RFC 7231 IMF-fixdate, from the daemon's clock; names are spelt out so that
 * no locale can change them. */
static void http_date(char *buf, size_t len)
{
    static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    time_t t = (time_t)(clock_now_ms() / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
}

/* Hands the finished response to the request, and to MHD if the request is
 * waiting: a suspended connection is resumed, and MHD is run soon after,
 * since libmicrohttpd does not notice a resume on its own. */
static void http_reply_set(struct http_request *req, unsigned status, struct MHD_Response *resp,
                           const char *content_type)
{
    char date[40];

    if (req->response != NULL || req->queued) {
        log_error("listener=%s path=%s msg=\"a second reply to one request was dropped\"",
                  req->srv->name, req->route != NULL ? req->route->pattern : "-");
        MHD_destroy_response(resp);
        return;
    }
    http_date(date, sizeof(date));
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_DATE, date);
    for (size_t i = 0; i < req->n_extra; i++)
        MHD_add_response_header(resp, req->extra[i][0], req->extra[i][1]);
    req->response = resp;
    req->status = status;
    req->state = HTTP_REQ_REPLIED;
    if (req->suspended) {
        MHD_resume_connection(req->conn);
        http_server_kick(req->srv);
    }
}

void http_reply_text(struct http_request *req, unsigned status, const char *content_type,
                     const char *text, size_t len)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    if (resp == NULL) {
        log_error("listener=%s msg=\"cannot create a response\"", req->srv->name);
        return;
    }
    http_reply_set(req, status, resp, content_type);
}

void http_reply_json(struct http_request *req, unsigned status, json_t *body)
{
    bool had_body = body != NULL;
    char *text = had_body ? json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
    json_decref(body);
    if (text == NULL) {
        /* Only an empty body or out of memory gets here. */
        static const char empty[] = "{}\n";
        http_reply_text(req, had_body ? 500u : status, "application/json", empty,
                        sizeof(empty) - 1);
        return;
    }
    size_t len = strlen(text);
    /* A trailing newline is kinder to curl and shells. */
    char *withnl = realloc(text, len + 2);
    if (withnl != NULL) {
        text = withnl;
        text[len++] = '\n';
        text[len] = '\0';
    }
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (resp == NULL) {
        free(text);
        log_error("listener=%s msg=\"cannot create a response\"", req->srv->name);
        return;
    }
    http_reply_set(req, status, resp, "application/json");
}

void http_reply_error(struct http_request *req, unsigned status, const char *fmt, ...)
{
    char msg[512];
    char shown[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_t *path = json_string(req->path);
    /* A path that is not UTF-8 is shown percent-encoded rather than dropped. */
    if (path == NULL)
        path = json_string(http_path_display(req->path, shown, sizeof(shown)));
    json_t *msgj = json_string(msg);
    if (msgj == NULL)
        msgj = json_string("error (message not UTF-8)");
    http_reply_json(req, status, json_pack("{s:o?, s:o?}", "error", msgj, "path", path));
}
