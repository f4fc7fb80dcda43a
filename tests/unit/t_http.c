/* SPDX-License-Identifier: MIT */
/* tests/unit/t_http.c: the HTTP server on a real loop and a real socket. The
 * loop runs on the main thread; a client thread makes requests with libcurl
 * (and a raw socket for a malformed request line) and reports with TAP while
 * the main thread serves. Covers auth, 404/405/400/413, async replies, a
 * bad request line, a port already in use, and the 503 a pending request
 * gets when the server closes; ends with uv_loop_close() == 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "http.h"
#include "tap.h"

static uv_loop_t loop;
static struct http_server *srv, *srv2;
static int port, port2;
static uv_async_t client_done;
static uv_timer_t async_timer, close_timer;
static struct http_request *async_req, *hang_req;
static int cancel_called;
static struct config_person ada = { .name = "ada", .token = "secret-ada" };

static const struct config_person *lookup(void *arg, const char *token)
{
    (void)arg;
    return strcmp(token, ada.token) == 0 ? &ada : NULL;
}

/* ---- routes ---- */

static void on_sync(struct http_request *req, void *ctx)
{
    const struct config_person *who = http_request_actor(req);
    http_reply_json(req, 200, json_pack("{s:b, s:s?}", "ok", 1, "actor",
                                        who != NULL ? who->name : NULL));
}

static void on_item(struct http_request *req, void *ctx)
{
    http_reply_json(req, 200, json_pack("{s:s?, s:s?}", "id", http_request_param(req, "id"),
                                        "state", http_request_query(req, "state")));
}

static void on_echo(struct http_request *req, void *ctx)
{
    size_t len = 0;
    const char *body = http_request_body(req, &len);
    const json_t *j = http_request_json(req);
    http_reply_json(req, 200, json_pack("{s:O?, s:i, s:b}", "json", j, "len", (int)len,
                                        "has_body", body != NULL));
}

static void on_async_timer(uv_timer_t *t)
{
    http_reply_json(async_req, 200, json_pack("{s:b}", "async", 1));
    async_req = NULL;
}

static void on_async(struct http_request *req, void *ctx)
{
    async_req = req;
    uv_timer_start(&async_timer, on_async_timer, 50, 0);
}

static void on_hang_cancel(void *arg)
{
    cancel_called++;
    *(struct http_request **)arg = NULL;
}

static void on_close_timer(uv_timer_t *t)
{
    struct http_stats st;
    http_server_stats(srv, &st);
    tap_ok(st.requests >= 10 && st.unauthorized >= 2 && st.errors_4xx >= 6 && st.active >= 1,
           "stats count requests (%llu), 401s (%llu), 4xx (%llu), active (%llu)",
           (unsigned long long)st.requests, (unsigned long long)st.unauthorized,
           (unsigned long long)st.errors_4xx, (unsigned long long)st.active);
    http_server_close(srv);
    srv = NULL;
}

/* Never replies: the server's close must answer 503 for it. */
static void on_hang(struct http_request *req, void *ctx)
{
    hang_req = req;
    http_request_on_cancel(req, on_hang_cancel, &hang_req);
    uv_timer_start(&close_timer, on_close_timer, 50, 0);
}

/* Replies, then closes its own server from inside the handler: the close
 * must wait until MHD_run returns, and the reply must still go out. */
static void on_bye(struct http_request *req, void *ctx)
{
    http_reply_json(req, 200, json_pack("{s:s}", "bye", "now"));
    http_server_close(srv2);
    srv2 = NULL;
}

/* ---- client side ---- */

struct reply {
    long status;
    char body[4096];
    size_t body_len;
    char headers[4096];
    size_t headers_len;
};

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n;
    size_t room = sizeof(r->body) - 1 - r->body_len;
    memcpy(r->body + r->body_len, p, len < room ? len : room);
    r->body_len += len < room ? len : room;
    r->body[r->body_len] = '\0';
    return len;
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    struct reply *r = arg;
    size_t len = size * n;
    size_t room = sizeof(r->headers) - 1 - r->headers_len;
    memcpy(r->headers + r->headers_len, p, len < room ? len : room);
    r->headers_len += len < room ? len : room;
    r->headers[r->headers_len] = '\0';
    return len;
}

struct upload {
    size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t len = size * n < u->left ? size * n : u->left;
    memset(buf, 'x', len);
    u->left -= len;
    return len;
}

/* body == NULL with chunked_len > 0 sends that many bytes chunked. */
static void request(const char *method, const char *path, const char *token,
                    const char *body, size_t chunked_len, struct reply *r)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[256], auth[128];
    struct upload up = { .left = chunked_len };

    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (body != NULL) {
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (chunked_len > 0) {
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Transfer-Encoding: chunked");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c, CURLOPT_READDATA, &up);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    else
        tap_diag("%s %s: %s", method, path, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
}

static const char *json_str(const char *body, const char *key, char *buf, size_t len)
{
    json_t *j = json_loads(body, 0, NULL);
    const char *v = json_string_value(json_object_get(j, key));
    snprintf(buf, len, "%s", v != NULL ? v : "(none)");
    json_decref(j);
    return buf;
}

/* Sends text on a raw socket and returns the first line of the answer. */
static void raw_request(const char *text, char *first_line, size_t len)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    ssize_t n = 0;

    first_line[0] = '\0';
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        write(fd, text, strlen(text)) == (ssize_t)strlen(text))
        n = read(fd, first_line, len - 1);
    first_line[n > 0 ? n : 0] = '\0';
    first_line[strcspn(first_line, "\r\n")] = '\0';
    close(fd);
}

static void *client(void *arg)
{
    struct reply r;
    char buf[256];

    request("GET", "/t/public", NULL, NULL, 0, &r);
    tap_is_int(r.status, 200, "a public route answers without a token");
    tap_contains(r.headers, "Cache-Control: no-store", "replies carry Cache-Control: no-store");
    tap_contains(r.headers, "X-Content-Type-Options: nosniff", "replies carry nosniff");
    tap_contains(r.headers, "Content-Type: application/json", "JSON replies say so");

    request("GET", "/t/sync", NULL, NULL, 0, &r);
    tap_is_int(r.status, 401, "no token: 401");
    tap_contains(r.headers, "WWW-Authenticate: Bearer", "the 401 asks for a bearer token");
    request("GET", "/t/sync", "wrong", NULL, 0, &r);
    tap_is_int(r.status, 401, "a wrong token: 401");
    tap_is_str(json_str(r.body, "path", buf, sizeof(buf)), "/t/sync", "the 401 body names the path");
    request("GET", "/t/sync", "secret-ada", NULL, 0, &r);
    tap_is_int(r.status, 200, "the right token: 200");
    tap_is_str(json_str(r.body, "actor", buf, sizeof(buf)), "ada", "the handler sees the actor");

    request("GET", "/nope", "secret-ada", NULL, 0, &r);
    tap_is_int(r.status, 404, "an unknown path: 404");
    tap_is_str(json_str(r.body, "path", buf, sizeof(buf)), "/nope", "the 404 body names the path");
    request("GET", "/t/sync/", "secret-ada", NULL, 0, &r);
    tap_is_int(r.status, 404, "a trailing slash is another path: 404");
    request("POST", "/t/sync", "secret-ada", "{}", 0, &r);
    tap_is_int(r.status, 405, "a known path with another method: 405");
    tap_contains(r.headers, "Allow: GET", "the 405 lists the allowed methods");

    request("POST", "/t/echo", "secret-ada", "{\"a\": [1, 2,}", 0, &r);
    tap_is_int(r.status, 400, "invalid JSON: 400 before the handler");
    tap_contains(json_str(r.body, "error", buf, sizeof(buf)), "invalid JSON at line 1 column ",
                 "the 400 says where the JSON broke");
    tap_is_str(json_str(r.body, "path", buf, sizeof(buf)), "/t/echo", "the 400 body names the path");
    request("POST", "/t/echo", "secret-ada", "{\"a\": [1, 2]}", 0, &r);
    tap_is_int(r.status, 200, "valid JSON reaches the handler");
    tap_contains(r.body, "\"json\":{\"a\":[1,2]}", "the handler gets the parsed body");

    char big[2100];
    memset(big, ' ', sizeof(big) - 1);
    big[0] = '"';
    big[sizeof(big) - 2] = '"';
    big[sizeof(big) - 1] = '\0';
    request("POST", "/t/echo", "secret-ada", big, 0, &r);
    tap_is_int(r.status, 413, "a body over max_body (Content-Length): 413");
    tap_contains(json_str(r.body, "error", buf, sizeof(buf)), "larger than 1024 bytes",
                 "the 413 says the limit");
    request("POST", "/t/echo", "secret-ada", NULL, 100000, &r);
    tap_is_int(r.status, 413, "a chunked body over max_body: 413");

    request("GET", "/t/items/42?state=sent", "secret-ada", NULL, 0, &r);
    tap_contains(r.body, "\"id\":\"42\"", "a :param is captured");
    tap_contains(r.body, "\"state\":\"sent\"", "a query argument is read");

    raw_request("GARBAGE LINE\r\n\r\n", buf, sizeof(buf));
    tap_ok(strncmp(buf, "HTTP/1.1 4", 10) == 0, "a malformed request line gets a 4xx (%s)", buf);
    /* Without a single space libmicrohttpd just closes the connection. */
    raw_request("GARBAGE\r\n\r\n", buf, sizeof(buf));
    tap_is_str(buf, "", "a request line without spaces: the connection is closed");
    raw_request("GET /t/public HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n", buf, sizeof(buf));
    tap_ok(strncmp(buf, "HTTP/1.1 4", 10) == 0, "a malformed header gets a 4xx (%s)", buf);
    request("GET", "/t/public", NULL, NULL, 0, &r);
    tap_is_int(r.status, 200, "the server keeps serving after malformed requests");

    char raw[6000];
    int head = snprintf(raw, sizeof(raw), "POST /t/echo HTTP/1.1\r\nHost: a\r\n"
                        "Authorization: Bearer secret-ada\r\nContent-Type: application/json\r\n"
                        "Content-Length: 5000\r\n\r\n");
    memset(raw + head, '1', 5000);
    raw[head + 5000] = '\0';
    raw_request(raw, buf, sizeof(buf));
    tap_ok(strncmp(buf, "HTTP/1.1 413 ", 13) == 0,
               "a body sent at once past the limit: 413 (%s)", buf);

    int saved = port;
    port = port2;
    request("GET", "/t/bye", NULL, NULL, 0, &r);
    tap_is_int(r.status, 200, "a handler that closes its own server still gets its reply out");
    tap_contains(r.body, "\"bye\":\"now\"", "with its body");
    usleep(100000);
    request("GET", "/t/bye", NULL, NULL, 0, &r);
    tap_is_int(r.status, 0, "and the closed server no longer accepts connections");
    port = saved;

    request("GET", "/t/async", "secret-ada", NULL, 0, &r);
    tap_is_int(r.status, 200, "an async reply from a timer arrives");
    tap_contains(r.body, "\"async\":true", "with its body");

    request("GET", "/t/hang", "secret-ada", NULL, 0, &r);
    tap_is_int(r.status, 503, "a pending request gets 503 when the server closes");

    uv_async_send(&client_done);
    return NULL;
}

static void on_client_done(uv_async_t *a)
{
    uv_close((uv_handle_t *)a, NULL);
    uv_close((uv_handle_t *)&async_timer, NULL);
    uv_close((uv_handle_t *)&close_timer, NULL);
}

int main(void)
{
    struct config_listener conf = { .address = "127.0.0.1", .port = 0, .max_connections = 16,
                                    .timeout_ms = 5000, .max_body = 1024 };
    struct errbuf err = { 0 };
    pthread_t th;

    tap_plan(47);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    uv_loop_init(&loop);
    uv_timer_init(&loop, &async_timer);
    uv_timer_init(&loop, &close_timer);
    uv_async_init(&loop, &client_done, on_client_done);

    tap_is_int(http_server_start(&loop, &conf, "api", &srv, &err), 0, "the server starts");
    port = http_server_port(srv);
    tap_ok(port > 0, "port 0 picked a free port (%d)", port);
    http_server_set_auth(srv, lookup, NULL);
    tap_is_int(http_route(srv, "GET", "/t/public", HTTP_ROUTE_PUBLIC, on_sync, NULL) |
               http_route(srv, "GET", "/t/sync", 0, on_sync, NULL) |
               http_route(srv, "GET", "/t/items/:id", 0, on_item, NULL) |
               http_route(srv, "POST", "/t/echo", 0, on_echo, NULL) |
               http_route(srv, "GET", "/t/async", 0, on_async, NULL) |
               http_route(srv, "GET", "/t/hang", 0, on_hang, NULL), 0, "routes register");
    tap_is_int(http_route(srv, "GET", "no-slash", 0, on_sync, NULL), -EINVAL,
               "a pattern must start with /");

    struct http_server *second = NULL;
    struct config_listener same = conf;
    char want[64], msg[1024];
    same.port = port;
    tap_is_int(http_server_start(&loop, &same, "public", &second, &err), -EADDRINUSE,
               "a second server on the same port: -EADDRINUSE");
    snprintf(want, sizeof(want), "127.0.0.1:%d", port);
    errbuf_format(&err, msg, sizeof(msg));
    tap_contains(msg, want, "the error names the address and port");
    tap_contains(msg, "already in use", "the error says it is in use");

    tap_is_int(http_server_start(&loop, &conf, "public", &srv2, &err), 0, "a second server starts");
    port2 = http_server_port(srv2);
    http_route(srv2, "GET", "/t/bye", HTTP_ROUTE_PUBLIC, on_bye, NULL);

    pthread_create(&th, NULL, client, NULL);
    uv_run(&loop, UV_RUN_DEFAULT);
    pthread_join(th, NULL);

    tap_is_int(cancel_called, 1, "the pending request's cancel callback ran once");
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    curl_global_cleanup();
    return tap_done();
}
