/* SPDX-License-Identifier: MIT */
/* tests/fuzz/fuzz_http.c: libFuzzer entry for the HTTP listener. One real
 * http_server (the daemon's code: libmicrohttpd on a uv loop, routing, auth,
 * body limits, JSON bodies, replies) is started once on 127.0.0.1 with an
 * ephemeral port. Each input is written as raw bytes over a new TCP
 * connection, half-closed, and the loop runs until the server closes the
 * connection or a short bound passes; then GET /healthz must still answer
 * 200, or the target aborts. Client and server share this thread: poll()
 * waits on the client socket and the loop's backend fd together. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "config.h"
#include "http.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_BOUND_MS 500

static uv_loop_t fz_loop;
static struct http_server *fz_srv;
static int fz_port;
static struct config_person fz_person = { .name = "fuzzer", .token = "fuzz-token" };

static const struct config_person *fz_lookup(void *arg, const char *token)
{
    return strcmp(token, fz_person.token) == 0 ? &fz_person : NULL;
}

static void fz_healthz(struct http_request *req, void *ctx)
{
    http_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

/* Touches every accessor a real handler uses. */
static void fz_item(struct http_request *req, void *ctx)
{
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const json_t *j = http_request_json(req);
    http_reply_json(req, 200,
                    json_pack("{s:s?, s:s?, s:s?, s:O?, s:i, s:b}", "id",
                              http_request_param(req, "id"), "state",
                              http_request_query(req, "state"), "ua",
                              http_request_header(req, "User-Agent"), "json", j, "len", (int)len,
                              "body", body != NULL));
}

static void fz_text(struct http_request *req, void *ctx)
{
    http_reply_text(req, 201, "text/plain; charset=utf-8", "created\n", 8);
}

static void fz_init(void)
{
    struct config_listener conf = { .address = "127.0.0.1", .port = 0, .max_connections = 64,
                                    .timeout_ms = 2000, .max_body = 4096 };
    struct errbuf err = { 0 };

    log_set_level(LOG_LEVEL_ERROR);
    uv_loop_init(&fz_loop);
    if (http_server_start(&fz_loop, &conf, "api", &fz_srv, &err) != 0) {
        fprintf(stderr, "fuzz_http: cannot start the server: %s\n", err.what);
        abort();
    }
    fz_port = http_server_port(fz_srv);
    http_server_set_auth(fz_srv, fz_lookup, NULL);
    if (http_route(fz_srv, "GET", "/healthz", HTTP_ROUTE_PUBLIC, fz_healthz, NULL) != 0 ||
        http_route(fz_srv, "GET", "/api/items/:id", 0, fz_item, NULL) != 0 ||
        http_route(fz_srv, "POST", "/api/items/:id", 0, fz_item, NULL) != 0 ||
        http_route(fz_srv, "PUT", "/api/items/:id/notes/:note", 0, fz_item, NULL) != 0 ||
        http_route(fz_srv, "POST", "/public/:token", HTTP_ROUTE_PUBLIC, fz_text, NULL) != 0)
        abort();
}

static int fz_connect(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)fz_port) };
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        abort();
    /* A loopback connect completes at once or with EINPROGRESS; the server
     * accepts it when the loop runs. */
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 && errno != EINPROGRESS)
        abort();
    return fd;
}

/* Sends data, half-closes, and runs the loop until the server closes the
 * connection or FUZZ_BOUND_MS pass. Keeps the start of the reply in out. */
static void fz_exchange(const uint8_t *data, size_t size, char *out, size_t out_len)
{
    int fd = fz_connect();
    size_t sent = 0, got = 0;
    bool shut = false;
    uint64_t deadline = uv_hrtime() + (uint64_t)FUZZ_BOUND_MS * 1000000u;

    if (out_len > 0)
        out[0] = '\0';
    while (uv_hrtime() < deadline) {
        uv_run(&fz_loop, UV_RUN_NOWAIT);
        if (sent < size) {
            ssize_t n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
            if (n > 0)
                sent += (size_t)n;
            else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN)
                break;   /* the server closed on us: fine */
        } else if (!shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        char buf[4096];
        ssize_t r = recv(fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN))
            break;
        if (r > 0 && got + 1 < out_len) {
            size_t take = (size_t)r < out_len - 1 - got ? (size_t)r : out_len - 1 - got;
            memcpy(out + got, buf, take);
            got += take;
            out[got] = '\0';
        }
        if (r > 0)
            continue;
        int timeout = uv_backend_timeout(&fz_loop);
        struct pollfd p[2] = { { .fd = fd, .events = POLLIN | (sent < size ? POLLOUT : 0) },
                               { .fd = uv_backend_fd(&fz_loop), .events = POLLIN } };
        poll(p, 2, timeout < 0 || timeout > 10 ? 10 : timeout);
    }
    /* Reset rather than linger: thousands of runs must not pile up sockets. */
    struct linger lg = { .l_onoff = 1, .l_linger = 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(fd);
    uv_run(&fz_loop, UV_RUN_NOWAIT);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n";
    char reply[64];

    if (fz_srv == NULL)
        fz_init();
    fz_exchange(data, size, NULL, 0);
    fz_exchange((const uint8_t *)health, sizeof(health) - 1, reply, sizeof(reply));
    if (strncmp(reply, "HTTP/1.1 200 ", 13) != 0) {
        fprintf(stderr, "fuzz_http: /healthz no longer answers 200 (got \"%.40s\")\n", reply);
        abort();
    }
    return 0;
}
