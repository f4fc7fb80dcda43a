/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_channel_webhook.c: plugins/channel_webhook through the real
 * loader (dlopen of the built .so), the host's curl service on a real uv loop,
 * against a real HTTP receiver (tests/helpers/webhook_receiver.py, run with
 * /usr/bin/python3) that checks each request's signature with the shared
 * secret: 200 is DONE and signed correctly; the Idempotency-Key is the same on
 * a retry; 500 is RETRY; 429 with Retry-After (seconds or an HTTP date) is
 * RETRY at that delay; 404 is FAILED; a timeout and an unreachable receiver
 * are RETRY; configured headers arrive; a missing secret fails the instance;
 * and neither the secret nor a header value ever reaches the log. */
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

#include <curl/curl.h>

#include "config.h"
#include "curl_loop.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

#define PYTHON "/usr/bin/python3"
#define SECRET "s3cr3t-Hmac-Key-never-logged"
#define HEADER_VALUE "Bearer tok-never-logged"

struct got {
    int calls;
    struct drumbeat_result res;
    char detail[256];
};

static int total_calls;
static int port;
static char log_path[600];

static void on_done(void *arg, const struct drumbeat_result *res)
{
    struct got *g = arg;
    g->calls++;
    total_calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
}

static bool calls_reach(void *arg)
{
    return total_calls >= *(int *)arg;
}

static pid_t start_receiver(const char *secret_file, int *stdin_fd)
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
        execl(PYTHON, PYTHON, tap_srcpath("tests/helpers/webhook_receiver.py"), "--secret-file",
              secret_file, "--log", log_path, (char *)NULL);
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

/* The receiver's records whose path is path, as a new array. */
static json_t *received(const char *path)
{
    char *text = test_slurp(log_path);
    json_t *all = json_array();

    for (char *line = text ? strtok(text, "\n") : NULL; line != NULL; line = strtok(NULL, "\n")) {
        json_t *r = json_loads(line, 0, NULL);
        const char *rp = json_string_value(json_object_get(r, "path"));
        if (rp != NULL && strcmp(rp, path) == 0)
            json_array_append(all, r);
        json_decref(r);
    }
    free(text);
    return all;
}

static const char *rec_header(json_t *rec, const char *name)
{
    return json_string_value(json_object_get(json_object_get(rec, "headers"), name));
}

static struct drumbeat_message msg(int64_t id, const char *key, const char *body)
{
    struct drumbeat_message m = {
        .touch_id = id, .recipient = "crm", .content_type = "application/json",
        .payload = body, .payload_len = strlen(body), .idempotency_key = key,
    };
    return m;
}

static void send_wait(uv_loop_t *loop, struct plugins *p, const char *channel,
                      struct drumbeat_message *m, struct got *g)
{
    void *args[1] = { g };
    int want = 1;

    total_calls = 0;
    if (plugins_send(p, channel, m, 1, on_done, args) != 0) {
        tap_diag("plugins_send to %s refused", channel);
        return;
    }
    test_run_until(loop, calls_reach, &want, 15000);
}

static json_t *opts(const char *path, const char *secret_file)
{
    char url[256];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    return json_pack("{s:s, s:s}", "url", url, "secret_file", secret_file);
}

int main(void)
{
    uv_loop_t loop;
    struct curl_loop *curl = NULL;
    struct plugins *p = NULL;
    char secret_file[600], date_path[128], down_url[128];
    int stdin_fd = -1;

    snprintf(secret_file, sizeof(secret_file), "%s/webhook.secret", tap_tmpdir());
    snprintf(log_path, sizeof(log_path), "%s/received.jsonl", tap_tmpdir());
    FILE *f = fopen(secret_file, "w");
    if (f != NULL) {
        fputs(SECRET "\n", f);
        fclose(f);
    }
    pid_t receiver = start_receiver(secret_file, &stdin_fd);
    if (receiver < 0)
        tap_skip_all("cannot start tests/helpers/webhook_receiver.py with " PYTHON);
    tap_plan(39);

    /* An HTTP date 30 s ahead, its spaces %-encoded for the path. */
    char date[64];
    time_t ahead = time(NULL) + 30;
    strftime(date, sizeof(date), "%a,%%20%d%%20%b%%20%Y%%20%H:%M:%S%%20GMT", gmtime(&ahead));
    snprintf(date_path, sizeof(date_path), "/retry-after/%s", date);
    snprintf(down_url, sizeof(down_url), "http://127.0.0.1:%d/hook", closed_port());

    json_t *ok_opts = opts("/hook", secret_file);
    json_object_set_new(ok_opts, "headers", json_string("X-Test: yes; Authorization: " HEADER_VALUE));
    json_t *slow_opts = opts("/delay/3000", secret_file);
    json_object_set_new(slow_opts, "timeout", json_string("300ms"));
    json_t *down_opts = json_pack("{s:s, s:s}", "url", down_url, "secret_file", secret_file);
    json_t *bad_opts = json_pack("{s:s, s:s}", "url", "http://127.0.0.1:1/",
                                 "secret_env", "DRUMBEAT_TEST_NO_SUCH_VARIABLE");
    char maildir[640];
    snprintf(maildir, sizeof(maildir), "%s/mail", tap_tmpdir());
    struct config_plugin_instance ci[] = {
        test_instance("ok", "channel_webhook", ok_opts),
        test_instance("flaky", "channel_webhook", opts("/flaky/1/503/x", secret_file)),
        test_instance("err500", "channel_webhook", opts("/status/500", secret_file)),
        test_instance("limited", "channel_webhook", opts("/retry-after/7", secret_file)),
        test_instance("dated", "channel_webhook", opts(date_path, secret_file)),
        test_instance("gone", "channel_webhook", opts("/status/404", secret_file)),
        test_instance("slow", "channel_webhook", slow_opts),
        test_instance("down", "channel_webhook", down_opts),
        test_instance("nosecret", "channel_webhook", bad_opts),
        test_instance("mail", "example_channel", json_pack("{s:s}", "dir", maildir)),
    };
    size_t n_ci = sizeof(ci) / sizeof(ci[0]);
    struct config cfg = { .path = "wh.json", .channels = ci, .n_channels = n_ci };

    uv_loop_init(&loop);
    test_capture_start();
    curl_loop_init(&loop, &curl);
    plugins_new(&loop, NULL, curl, &p);
    plugins_load(p, &cfg, NULL);

    bool all_up = true;
    for (size_t i = 0; i + 2 < n_ci; i++)
        all_up = all_up && plugins_channel_ready(p, ci[i].name);
    tap_ok(all_up, "eight webhook instances load and run");
    tap_ok(!plugins_channel_ready(p, "nosecret"), "an unset secret_env fails the instance");
    tap_is_str(plugins_channel_accepts(p, "ok"), "application/json", "the webhook accepts JSON");
    tap_is_str(plugins_channel_accepts(p, "mail"), "message/rfc822",
               "a channel that says nothing gets MIME");
    tap_ok(plugins_channel_accepts(p, "nosecret") == NULL, "a failed channel accepts nothing");

    /* 200: DONE, signed, with the key and the configured headers. */
    const char *body = "{\"touch_id\":1,\"subject\":\"Hello\"}";
    struct drumbeat_message m1 = msg(1, "store-abc.1", body);
    struct got g1 = { 0 };
    send_wait(&loop, p, "ok", &m1, &g1);
    tap_is_int(g1.calls, 1, "200: done is called once");
    tap_is_int(g1.res.outcome, DRUMBEAT_DONE, "200: DONE");
    tap_is_int(g1.res.code, 200, "200: code is the HTTP status");
    json_t *r = received("/hook"), *rec = json_array_get(r, 0);
    tap_is_int((int64_t)json_array_size(r), 1, "the receiver got one request");
    tap_ok(json_is_true(json_object_get(rec, "signature_valid")),
           "the receiver verified the signature with the shared secret");
    tap_is_str(json_string_value(json_object_get(rec, "body")), body, "the body is the payload");
    tap_is_str(rec_header(rec, "idempotency-key"), "store-abc.1", "Idempotency-Key is the touch's key");
    tap_is_str(rec_header(rec, "content-type"), "application/json", "Content-Type is the message's");
    tap_is_str(rec_header(rec, "x-test"), "yes", "a configured header arrives");
    tap_is_str(rec_header(rec, "authorization"), HEADER_VALUE, "... and a second one");
    const char *sig = rec_header(rec, "x-drumbeat-signature");
    tap_ok(sig != NULL && strncmp(sig, "t=", 2) == 0 && strstr(sig, ",v1=") != NULL &&
           strlen(strstr(sig, ",v1=") + 4) == 64, "the signature is t=<secs>,v1=<64 hex>");
    json_decref(r);

    /* A retry of one touch carries the same key; the receiver says 503, then 200. */
    struct drumbeat_message m2 = msg(2, "store-abc.2", "{\"touch_id\":2}");
    struct got g2a = { 0 }, g2b = { 0 };
    send_wait(&loop, p, "flaky", &m2, &g2a);
    tap_is_int(g2a.res.outcome, DRUMBEAT_RETRY, "503: RETRY");
    tap_is_int(g2a.res.code, 503, "... with code 503");
    tap_is_int((int64_t)g2a.res.retry_after_ms, 0, "... and the host's backoff (no Retry-After)");
    send_wait(&loop, p, "flaky", &m2, &g2b);
    tap_is_int(g2b.res.outcome, DRUMBEAT_DONE, "the retry is DONE");
    r = received("/flaky/1/503/x");
    tap_is_int((int64_t)json_array_size(r), 2, "the receiver got both attempts");
    const char *k0 = rec_header(json_array_get(r, 0), "idempotency-key");
    const char *k1 = rec_header(json_array_get(r, 1), "idempotency-key");
    tap_ok(k0 != NULL && k1 != NULL && strcmp(k0, k1) == 0 && strcmp(k0, "store-abc.2") == 0,
           "the Idempotency-Key is identical across the retry");
    tap_ok(json_is_true(json_object_get(json_array_get(r, 1), "signature_valid")),
           "the retry is signed validly too");
    json_decref(r);

    struct drumbeat_message m3 = msg(3, "store-abc.3", "{}");
    struct got g = { 0 };
    send_wait(&loop, p, "err500", &m3, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 500, "500: RETRY with code 500");
    tap_contains(g.detail, "HTTP 500", "... the detail names the status");

    memset(&g, 0, sizeof(g));
    send_wait(&loop, p, "limited", &m3, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 429, "429: RETRY with code 429");
    tap_is_int((int64_t)g.res.retry_after_ms, 7000, "Retry-After: 7 gives retry_after_ms 7000");

    memset(&g, 0, sizeof(g));
    send_wait(&loop, p, "dated", &m3, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.retry_after_ms >= 20000 &&
           g.res.retry_after_ms <= 31000, "Retry-After as an HTTP date 30 s ahead: about 30000 ms");

    memset(&g, 0, sizeof(g));
    send_wait(&loop, p, "gone", &m3, &g);
    tap_is_int(g.res.outcome, DRUMBEAT_FAILED, "404: FAILED");
    tap_ok(g.res.scope == DRUMBEAT_SCOPE_MESSAGE && g.res.code == 404, "... scope MESSAGE, code 404");

    memset(&g, 0, sizeof(g));
    uint64_t t0 = uv_hrtime();
    send_wait(&loop, p, "slow", &m3, &g);
    uint64_t took_ms = (uv_hrtime() - t0) / 1000000;
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 0, "a timeout: RETRY, no HTTP code");
    tap_ok(took_ms < 2500, "... enforced at the configured 300ms (took %llu ms)",
           (unsigned long long)took_ms);

    memset(&g, 0, sizeof(g));
    send_wait(&loop, p, "down", &m3, &g);
    tap_ok(g.res.outcome == DRUMBEAT_RETRY && g.res.code == 0, "an unreachable receiver: RETRY");
    tap_ok(g.detail[0] != '\0', "... with curl's reason (%s)", g.detail);

    /* A batch of three, more than one in flight. */
    struct drumbeat_message three[3] = {
        msg(10, "store-abc.10", "{\"n\":10}"), msg(11, "store-abc.11", "{\"n\":11}"),
        msg(12, "store-abc.12", "{\"n\":12}"),
    };
    struct got gb[3] = { { 0 } };
    void *argsb[3] = { &gb[0], &gb[1], &gb[2] };
    int want = 3;
    total_calls = 0;
    tap_is_int(plugins_send(p, "ok", three, 3, on_done, argsb), 0, "a batch of 3 is accepted");
    test_run_until(&loop, calls_reach, &want, 10000);
    tap_ok(gb[0].res.outcome == DRUMBEAT_DONE && gb[1].res.outcome == DRUMBEAT_DONE &&
           gb[2].res.outcome == DRUMBEAT_DONE && gb[0].calls == 1 && gb[2].calls == 1,
           "... each completes once, DONE");

    plugins_free(p);
    curl_loop_close(curl);
    int closed = test_loop_finish(&loop);
    char *logged = test_capture_end();
    tap_ok(logged != NULL && strstr(logged, "channel_webhook/ok") != NULL,
           "the plugin's log lines were captured");
    tap_ok(logged != NULL && strstr(logged, SECRET) == NULL && strstr(logged, "tok-never") == NULL,
           "neither the secret nor a header value is ever logged");
    free(logged);
    tap_is_int(closed, 0, "the loop closes cleanly");

    for (size_t i = 0; i < n_ci; i++)
        test_instance_clear(&ci[i]);
    close(stdin_fd);
    kill(receiver, SIGTERM);
    waitpid(receiver, NULL, 0);
    return tap_done();
}
