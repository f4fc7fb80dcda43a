/* SPDX-License-Identifier: MIT */
/* daemon/http.c: one HTTP listener, libmicrohttpd on the libuv loop. MHD runs
 * with MHD_USE_EPOLL and no thread of its own: its epoll fd is watched by a
 * uv_poll, MHD_get_timeout arms a uv_timer, and MHD_run is called after
 * either fires. This file owns the socket, the MHD daemon, the access handler
 * (reading bodies within the limit, suspending pending requests) and the
 * close sequence; routing is in http_route.c and replies in http_reply.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_int.h"
#include "log.h"

/* Headers (request line included) must fit in this much per connection. */
#define HTTP_CONN_MEMORY (64 * 1024)
#define HTTP_LISTEN_BACKLOG 128

static void on_timer(uv_timer_t *t);
static void http_server_close_now(struct http_server *srv);

/* Runs MHD once, then arms the timer from MHD_get_timeout. A kick that comes
 * while MHD_run is on the stack (a handler resuming another request) is
 * remembered and turned into a 0 ms timer afterwards, because re-entering
 * MHD_run is not allowed. */
static void http_run(struct http_server *srv)
{
    MHD_UNSIGNED_LONG_LONG ms = 0;

    if (srv->mhd == NULL)
        return;
    srv->in_run = true;
    srv->rerun = false;
    MHD_run(srv->mhd);
    srv->in_run = false;
    if (srv->close_requested) {
        http_server_close_now(srv);
        return;
    }
    if (srv->rerun)
        uv_timer_start(&srv->timer, on_timer, 0, 0);
    else if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES)
        uv_timer_start(&srv->timer, on_timer, (uint64_t)ms, 0);
    else
        uv_timer_stop(&srv->timer);
}

static void on_timer(uv_timer_t *t)
{
    http_run(t->data);
}

static void on_poll(uv_poll_t *p, int status, int events)
{
    struct http_server *srv = p->data;
    if (status < 0)
        log_warn("listener=%s msg=\"poll failed\" error=%s", srv->name, error_name(status));
    http_run(srv);
}

void http_server_kick(struct http_server *srv)
{
    if (srv->in_run)
        srv->rerun = true;
    else if (srv->mhd != NULL)
        uv_timer_start(&srv->timer, on_timer, 0, 0);
}

static void http_request_unlink(struct http_request *req)
{
    struct http_server *srv = req->srv;
    if (req->prev != NULL)
        req->prev->next = req->next;
    else
        srv->requests = req->next;
    if (req->next != NULL)
        req->next->prev = req->prev;
    req->prev = req->next = NULL;
}

static int http_request_new(struct http_server *srv, struct MHD_Connection *conn,
                            const char *url, const char *method, struct http_request **out)
{
    struct http_request *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return -ENOMEM;
    req->srv = srv;
    req->conn = conn;
    snprintf(req->method, sizeof(req->method), "%s", method);
    req->path = strdup(url);
    if (req->path == NULL) {
        free(req);
        return -ENOMEM;
    }
    req->start_ns = uv_hrtime();
    req->next = srv->requests;
    if (srv->requests != NULL)
        srv->requests->prev = req;
    srv->requests = req;
    srv->stats.active++;
    *out = req;
    return 0;
}

static enum MHD_Result http_queue(struct http_request *req)
{
    struct http_server *srv = req->srv;
    /* Whoever reads this reply may read the log next: the lines held for
     * this turn (log_buffer.h) go out first. */
    log_flush_held();
    enum MHD_Result r = MHD_queue_response(req->conn, req->status, req->response);

    if (r != MHD_YES)
        return r;   /* not allowed in this state yet; kept for the next call */
    MHD_destroy_response(req->response);
    req->response = NULL;
    req->queued = true;
    srv->stats.requests++;
    if (req->status >= 500)
        srv->stats.errors_5xx++;
    else if (req->status >= 400)
        srv->stats.errors_4xx++;
    if (req->status == MHD_HTTP_UNAUTHORIZED)
        srv->stats.unauthorized++;
    return MHD_YES;
}

/* A Content-Length over the limit is refused before any of the body is read. */
static bool http_declared_too_large(const struct http_request *req)
{
    const char *cl = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl == NULL)
        return false;
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(cl, &end, 10);
    return errno != 0 || end == cl || n > req->srv->max_body;
}

/* Appends one chunk of body, or marks the request too large. Past the limit
 * nothing more is kept: the rest is discarded as it arrives. */
static void http_take_body(struct http_request *req, const char *data, size_t n)
{
    size_t max = req->srv->max_body;
    if (req->too_large)
        return;
    if (n > max || req->body_len > max - n) {
        req->too_large = true;
        free(req->body);
        req->body = NULL;
        req->body_len = req->body_cap = 0;
        return;
    }
    if (req->body_len + n + 1 > req->body_cap) {
        size_t cap = req->body_cap != 0 ? req->body_cap : 1024;
        while (cap < req->body_len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1;
        char *b = realloc(req->body, cap);
        if (b == NULL) {
            /* Out of memory counts as too large: the client gets an answer. */
            req->too_large = true;
            return;
        }
        req->body = b;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, n);
    req->body_len += n;
    req->body[req->body_len] = '\0';
}

/* A HTTP_ROUTE_STREAM request: hands each piece to the route's taker,
 * suspending the connection while the taker is full; at the end of the body
 * the taker is told, and the request waits for its reply like any other. */
static enum MHD_Result http_stream_body(struct http_request *req, const char *data,
                                        size_t *size)
{
    if (*size > 0) {
        long took = req->body_cb(req, data, *size, req->body_arg);
        if (took < 0 || req->state != HTTP_REQ_STREAMING) {
            /* Refused or answered: the rest is read and dropped. */
            if (req->state == HTTP_REQ_STREAMING)
                req->state = HTTP_REQ_PENDING;
            req->body_cb = NULL;
            *size = 0;
            return MHD_YES;
        }
        *size -= (size_t)took < *size ? (size_t)took : *size;
        if (*size > 0 && !req->suspended) {
            /* Not taken: libmicrohttpd offers it again after the resume. */
            req->stream_paused = true;
            req->suspended = true;
            MHD_suspend_connection(req->conn);
        }
        return MHD_YES;
    }
    req->state = HTTP_REQ_PENDING;
    http_body_cb cb = req->body_cb;
    req->body_cb = NULL;
    cb(req, NULL, 0, req->body_arg);
    if (req->response != NULL && !req->queued) {
        req->suspended = false;
        return http_queue(req);
    }
    if (req->state == HTTP_REQ_PENDING && !req->suspended) {
        req->suspended = true;
        MHD_suspend_connection(req->conn);
    }
    return MHD_YES;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size,
                                 void **con_cls)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;

    if (req == NULL) {
        if (http_request_new(srv, conn, url, method, &req) != 0)
            return MHD_NO;
        *con_cls = req;
        if (srv->closing) {
            http_reply_error(req, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down");
            return http_queue(req);
        }
        /* A streamed route takes its body piece by piece, with no limit. */
        if (http_dispatch_stream(req)) {
            if (req->response != NULL)
                return http_queue(req);
            return MHD_YES;
        }
        if (http_declared_too_large(req)) {
            req->too_large = true;
            http_reply_error(req, 413u,
                             "request body larger than %zu bytes", srv->max_body);
            return http_queue(req);
        }
        return MHD_YES;
    }
    if (req->state == HTTP_REQ_STREAMING)
        return http_stream_body(req, upload_data, upload_data_size);
    if (*upload_data_size > 0) {
        /* After an early reply (413) the rest of the body is discarded. */
        if (req->state == HTTP_REQ_READING)
            http_take_body(req, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (req->state == HTTP_REQ_READING && req->response == NULL) {
        if (req->too_large)
            http_reply_error(req, 413u,
                             "request body larger than %zu bytes", srv->max_body);
        else
            http_dispatch(req);
    }
    if (req->response != NULL && !req->queued) {
        req->suspended = false;
        return http_queue(req);
    }
    if (req->state == HTTP_REQ_PENDING && !req->suspended) {
        /* The handler will reply later: stop polling this connection. */
        req->suspended = true;
        MHD_suspend_connection(conn);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http_request *req = *con_cls;
    char path[512];

    if (req == NULL)
        return;
    *con_cls = NULL;
    uint64_t ms = (uv_hrtime() - req->start_ns) / 1000000u;
    /* The path is percent-encoded for the log so that it cannot forge keys. */
    log_info("listener=%s method=%s path=%s status=%u actor=%s ms=%" PRIu64 "%s",
             srv->name, req->method, http_path_display(req->path, path, sizeof(path)),
             req->queued ? req->status : 0u,
             req->actor_name[0] != '\0' ? req->actor_name : "-", ms,
             toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " outcome=aborted");
    /* A client that went away before its answer: the async code must know,
     * since the request is freed here. */
    if (!req->queued && req->cancel != NULL) {
        void (*cb)(void *) = req->cancel;
        req->cancel = NULL;
        cb(req->cancel_arg);
    }
    http_request_unlink(req);
    srv->stats.active--;
    http_request_release(req);
    free(req);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct http_server *srv = cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_debug("listener=%s libmicrohttpd=\"%s\"", srv->name, msg);
}

/* Binds the listening socket ourselves rather than letting MHD do it:
 * MHD_start_daemon reports only NULL, and an operator needs to know whether
 * the port is taken or the address is not ours. */
static int http_bind(struct http_server *srv, const struct config_listener *conf,
                     int *fd_out, bool *v6, struct errbuf *err)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    const char *addr = conf->address != NULL ? conf->address : "127.0.0.1";
    char shown[80];

    memset(&ss, 0, sizeof(ss));
    if (conf->port < 0 || conf->port > 65535)
        return errbuf_set(err, -EINVAL, "%s listener: port %d is not 0..65535",
                          srv->name, conf->port);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)conf->port);
        sslen = sizeof(*sin);
        *v6 = false;
        snprintf(shown, sizeof(shown), "%s:%d", addr, conf->port);
    } else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)conf->port);
        sslen = sizeof(*sin6);
        *v6 = true;
        snprintf(shown, sizeof(shown), "[%s]:%d", addr, conf->port);
    } else {
        return errbuf_set(err, -EINVAL,
                          "%s listener: address \"%s\" is not an IPv4 or IPv6 literal",
                          srv->name, addr);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errbuf_set(err, -errno, "%s listener: socket: %s", srv->name, strerror(errno));
    int one = 1;
    /* SO_REUSEADDR only skips TIME_WAIT on restart; a live listener still
     * makes bind fail with EADDRINUSE on Linux. */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (*v6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sslen) != 0 || listen(fd, HTTP_LISTEN_BACKLOG) != 0) {
        int e = errno;
        close(fd);
        if (e == EADDRINUSE)
            return errbuf_set(err, -EADDRINUSE, "%s listener: %s is already in use",
                              srv->name, shown);
        return errbuf_set(err, -e, "%s listener: cannot listen on %s: %s", srv->name,
                          shown, strerror(e));
    }
    sslen = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
        srv->port = ntohs(*v6 ? sin6->sin6_port : sin->sin_port);
    snprintf(srv->address, sizeof(srv->address), "%s", addr);
    *fd_out = fd;
    return 0;
}

/* Behind a reverse proxy, or on loopback, every client has the same
 * address, so a per-IP limit below the total would throttle everyone; on
 * other addresses one client may take an eighth of the connections. */
static unsigned http_per_ip_limit(const char *addr, unsigned total)
{
    if (strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0)
        return total;
    unsigned n = total / 8;
    return n < 4 ? (total < 4 ? total : 4) : n;
}

int http_server_start(uv_loop_t *loop, const struct config_listener *conf,
                      const char *name, struct http_server **out, struct errbuf *err)
{
    struct http_server *srv = calloc(1, sizeof(*srv));
    int fd = -1, rc;
    bool v6 = false;

    if (srv == NULL)
        return errbuf_set(err, -ENOMEM, "%s listener: out of memory", name);
    srv->loop = loop;
    snprintf(srv->name, sizeof(srv->name), "%s", name);
    srv->max_body = conf->max_body;
    rc = http_bind(srv, conf, &fd, &v6, err);
    if (rc != 0)
        goto fail;

    unsigned total = conf->max_connections > 0 ? (unsigned)conf->max_connections : 256;
    unsigned timeout_s = conf->timeout_ms > 0 ? (unsigned)((conf->timeout_ms + 999) / 1000) : 30;
    /* Date comes from clock.h instead (http_reply.c), so the test clock shows. */
    unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
                     MHD_USE_SUPPRESS_DATE_NO_CLOCK | (v6 ? MHD_USE_IPv6 : 0);
    srv->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, on_access, srv,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
        MHD_OPTION_CONNECTION_LIMIT, total,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, http_per_ip_limit(srv->address, total),
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, srv,
        MHD_OPTION_END);
    if (srv->mhd == NULL) {
        close(fd);
        rc = errbuf_set(err, -EIO, "%s listener: libmicrohttpd refused to start on %s:%d",
                        name, srv->address, srv->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
    if (info == NULL) {
        rc = errbuf_set(err, -EIO, "%s listener: libmicrohttpd has no epoll fd", name);
        goto fail_mhd;
    }
    rc = uv_poll_init(loop, &srv->poll, info->epoll_fd);
    if (rc != 0) {
        errbuf_set(err, rc, "%s listener: uv_poll_init: %s", name, uv_strerror(rc));
        goto fail_mhd;
    }
    srv->poll.data = srv;
    srv->handles_open++;
    uv_timer_init(loop, &srv->timer);
    srv->timer.data = srv;
    srv->handles_open++;
    rc = uv_poll_start(&srv->poll, UV_READABLE, on_poll);
    if (rc != 0) {
        errbuf_set(err, rc, "%s listener: uv_poll_start: %s", name, uv_strerror(rc));
        http_server_close(srv);
        return rc;
    }
    http_run(srv);
    log_debug("listener=%s address=%s port=%d msg=\"listening\"", srv->name, srv->address,
             srv->port);
    *out = srv;
    return 0;

fail_mhd:
    MHD_stop_daemon(srv->mhd);
fail:
    free(srv);
    return rc;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct http_server *srv = h->data;
    if (--srv->handles_open > 0)
        return;
    http_routes_free(srv);
    free(srv);
}

/* How long http_server_close waits for the 503s to reach their clients. */
#define HTTP_CLOSE_FLUSH_MS 10
#define HTTP_CLOSE_FLUSH_ROUNDS 50

void http_server_close(struct http_server *srv)
{
    if (srv == NULL || srv->closing)
        return;
    srv->closing = true;
    /* From inside a handler MHD_run is on the stack and MHD cannot be
     * stopped there: http_run finishes the close when MHD_run returns. */
    if (srv->in_run) {
        srv->close_requested = true;
        return;
    }
    http_server_close_now(srv);
}

static void http_server_close_now(struct http_server *srv)
{
    if (srv->mhd != NULL) {
        /* No new connections; the listening socket is ours to close now. */
        MHD_socket lfd = MHD_quiesce_daemon(srv->mhd);
        if (lfd != MHD_INVALID_SOCKET)
            close(lfd);
        int flushing = 0;
        for (struct http_request *r = srv->requests; r != NULL; r = r->next) {
            if (r->state != HTTP_REQ_PENDING && r->state != HTTP_REQ_STREAMING)
                continue;
            void (*cb)(void *) = r->cancel;
            r->cancel = NULL;
            if (cb != NULL)
                cb(r->cancel_arg);
            http_reply_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, "the server is shutting down");
        }
        /* Give every answered request (the 503s just made, and replies
         * still being sent) a few short rounds to reach its client; this
         * blocks the loop for at most HTTP_CLOSE_FLUSH_ROUNDS x 10 ms, once,
         * at shutdown. Requests still being read are cut off. */
        for (int i = 0; i < HTTP_CLOSE_FLUSH_ROUNDS; i++) {
            flushing = 0;
            for (struct http_request *r = srv->requests; r != NULL; r = r->next)
                if (r->state == HTTP_REQ_REPLIED)
                    flushing++;
            if (flushing == 0)
                break;
            srv->in_run = true;
            MHD_run_wait(srv->mhd, HTTP_CLOSE_FLUSH_MS);
            srv->in_run = false;
        }
        MHD_stop_daemon(srv->mhd);
        srv->mhd = NULL;
    }
    if (srv->handles_open == 0) {
        http_routes_free(srv);
        free(srv);
        return;
    }
    uv_poll_stop(&srv->poll);
    uv_timer_stop(&srv->timer);
    uv_close((uv_handle_t *)&srv->poll, on_handle_closed);
    uv_close((uv_handle_t *)&srv->timer, on_handle_closed);
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

const char *http_server_address(const struct http_server *srv)
{
    return srv->address;
}

const char *http_server_name(const struct http_server *srv)
{
    return srv->name;
}

void http_server_stats(const struct http_server *srv, struct http_stats *out)
{
    *out = srv->stats;
}
