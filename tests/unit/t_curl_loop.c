/* SPDX-License-Identifier: MIT */
/* tests/unit/t_curl_loop.c: the curl multi-socket integration on a real uv
 * loop against a real HTTP server (tests/helpers/http_receiver.py, run with
 * /usr/bin/python3): status codes, a POST body arriving, the in-flight
 * window, CURLOPT_TIMEOUT, duplicate submits, cancel, and close cancelling
 * what is queued and running. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <uv.h>

#include "curl_loop.h"
#include "tap.h"

#define PYTHON "/usr/bin/python3"

struct req {
    CURL *easy;
    CURLcode rc;
    long status;
    int calls;
    int running_seen;          /* curl_loop_running() when it finished */
    char body[4096];
    size_t body_len;
    struct curl_loop *cl;
    int submit_rc_inside;      /* what a submit from inside finished returned */
    bool try_submit;
};

static int finished_total;
static uv_loop_t loop;
static int port;

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
    struct req *r = arg;
    size_t len = size * n, room = sizeof(r->body) - 1 - r->body_len;
    size_t take = len < room ? len : room;

    memcpy(r->body + r->body_len, data, take);
    r->body_len += take;
    r->body[r->body_len] = '\0';
    return len;
}

static void on_finished(CURL *easy, CURLcode rc, void *arg)
{
    struct req *r = arg;

    r->rc = rc;
    r->calls++;
    r->running_seen = curl_loop_running(r->cl);
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r->status);
    if (r->try_submit) {
        CURL *other = curl_easy_init();
        r->submit_rc_inside = curl_loop_submit(r->cl, other, on_finished, r);
        curl_easy_cleanup(other);
    }
    curl_easy_cleanup(easy);
    r->easy = NULL;
    finished_total++;
}

static struct req *new_req(struct curl_loop *cl, const char *path)
{
    struct req *r = calloc(1, sizeof(*r));
    char url[256];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    r->cl = cl;
    r->easy = curl_easy_init();
    curl_easy_setopt(r->easy, CURLOPT_URL, url);
    curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, 10000L);
    return r;
}

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

/* Runs the loop until finished_total reaches want or timeout_ms passes. */
static bool run_until_finished(int want, uint64_t timeout_ms)
{
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 5, 5);
    uv_update_time(&loop);
    uint64_t end = uv_now(&loop) + timeout_ms;
    while (finished_total < want && uv_now(&loop) < end)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return finished_total >= want;
}

static pid_t start_server(int *stdin_fd)
{
    int in[2], out[2];
    char line[32] = { 0 };
    pid_t pid;

    if (pipe(in) < 0 || pipe(out) < 0)
        return -1;
    pid = fork();
    if (pid == 0) {
        dup2(in[0], STDIN_FILENO);
        dup2(out[1], STDOUT_FILENO);
        close(in[1]);
        close(out[0]);
        execl(PYTHON, PYTHON, tap_srcpath("tests/helpers/http_receiver.py"), (char *)NULL);
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

static void statuses_and_body(struct curl_loop *cl)
{
    struct req *a = new_req(cl, "/status/200"), *b = new_req(cl, "/status/503"),
               *c = new_req(cl, "/status/404"), *post = new_req(cl, "/record");

    curl_easy_setopt(post->easy, CURLOPT_COPYPOSTFIELDS, "hello=drumbeat");
    finished_total = 0;
    tap_ok(curl_loop_submit(cl, a->easy, on_finished, a) == 0 &&
           curl_loop_submit(cl, b->easy, on_finished, b) == 0 &&
           curl_loop_submit(cl, c->easy, on_finished, c) == 0 &&
           curl_loop_submit(cl, post->easy, on_finished, post) == 0, "4 transfers submitted");
    tap_is_int(finished_total, 0, "none finishes inside submit");
    tap_is_int(curl_loop_in_flight(cl), 4, "4 in flight");
    tap_ok(run_until_finished(4, 5000), "all 4 finish on the loop");
    tap_ok(a->rc == CURLE_OK && a->status == 200, "200 arrives");
    tap_ok(b->rc == CURLE_OK && b->status == 503, "503 arrives");
    tap_ok(c->rc == CURLE_OK && c->status == 404, "404 arrives");
    tap_ok(a->calls == 1 && b->calls == 1 && c->calls == 1 && post->calls == 1,
           "finished runs exactly once each");
    tap_is_int(curl_loop_in_flight(cl), 0, "nothing in flight");

    struct req *list = new_req(cl, "/requests");
    finished_total = 0;
    curl_loop_submit(cl, list->easy, on_finished, list);
    run_until_finished(1, 5000);
    json_t *reqs = json_loads(list->body, 0, NULL), *v;
    size_t i;
    bool seen = false;
    json_array_foreach(reqs, i, v) {
        seen |= strcmp(json_string_value(json_object_get(v, "path")), "/record") == 0 &&
                strcmp(json_string_value(json_object_get(v, "body")), "hello=drumbeat") == 0 &&
                strcmp(json_string_value(json_object_get(v, "method")), "POST") == 0;
    }
    tap_ok(seen, "the server recorded the POST and its body");
    json_decref(reqs);
    free(a), free(b), free(c), free(post), free(list);
}

static void window_bounds_running(struct curl_loop *cl)
{
    struct req *r[5];
    bool ok = true;
    int max_seen = 0;

    tap_is_int(curl_loop_set_window(cl, 0), -EINVAL, "a window of 0 is refused");
    curl_loop_set_window(cl, 2);
    finished_total = 0;
    uint64_t t0 = uv_hrtime();
    for (int i = 0; i < 5; i++) {
        r[i] = new_req(cl, "/delay/150");
        ok &= curl_loop_submit(cl, r[i]->easy, on_finished, r[i]) == 0;
    }
    tap_ok(ok, "5 slow transfers submitted with a window of 2");
    tap_is_int(curl_loop_running(cl), 2, "only 2 run");
    tap_is_int(curl_loop_in_flight(cl), 5, "5 in flight (3 queued)");
    tap_ok(run_until_finished(5, 10000), "all 5 finish");
    uint64_t ms = (uv_hrtime() - t0) / 1000000;
    for (int i = 0; i < 5; i++) {
        ok &= r[i]->rc == CURLE_OK && r[i]->status == 200;
        if (r[i]->running_seen > max_seen)
            max_seen = r[i]->running_seen;
        free(r[i]);
    }
    tap_ok(ok, "each one succeeded");
    tap_ok(max_seen <= 2, "never more than 2 running (saw %d)", max_seen);
    tap_ok(ms >= 400, "3 rounds of 150 ms took at least 400 ms (%llu)", (unsigned long long)ms);
    curl_loop_set_window(cl, CURL_LOOP_DEFAULT_WINDOW);
}

static void timeout_busy_cancel(struct curl_loop *cl)
{
    struct req *slow = new_req(cl, "/delay/3000"), *c = new_req(cl, "/delay/3000");

    curl_easy_setopt(slow->easy, CURLOPT_TIMEOUT_MS, 200L);
    finished_total = 0;
    tap_is_int(curl_loop_submit(cl, slow->easy, on_finished, slow), 0, "a transfer with a 200 ms timeout");
    tap_is_int(curl_loop_submit(cl, slow->easy, on_finished, slow), -EBUSY,
               "submitting the same easy twice: -EBUSY");
    tap_ok(run_until_finished(1, 5000), "it finishes");
    tap_is_int(slow->rc, CURLE_OPERATION_TIMEDOUT, "... timed out");

    finished_total = 0;
    curl_loop_submit(cl, c->easy, on_finished, c);
    CURL *easy = c->easy;
    tap_is_int(curl_loop_cancel(cl, easy), 0, "cancel a running transfer");
    tap_ok(c->calls == 1 && c->rc == CURLE_ABORTED_BY_CALLBACK, "... finished ran, aborted");
    tap_is_int(curl_loop_cancel(cl, easy), -ENOENT, "cancelling it again: -ENOENT");
    free(slow);
    free(c);
}

static void close_cancels(struct curl_loop *cl)
{
    struct req *a = new_req(cl, "/delay/3000"), *b = new_req(cl, "/delay/3000");

    curl_loop_set_window(cl, 1);
    a->try_submit = true;
    finished_total = 0;
    curl_loop_submit(cl, a->easy, on_finished, a);
    curl_loop_submit(cl, b->easy, on_finished, b);
    run_until_finished(99, 100);
    tap_ok(curl_loop_running(cl) == 1 && curl_loop_in_flight(cl) == 2, "one running, one queued");
    curl_loop_close(cl);
    tap_ok(a->calls == 1 && a->rc == CURLE_ABORTED_BY_CALLBACK, "close: the running one is aborted");
    tap_ok(b->calls == 1 && b->rc == CURLE_ABORTED_BY_CALLBACK, "close: the queued one is aborted");
    tap_is_int(a->submit_rc_inside, -ECANCELED, "a submit during close: -ECANCELED");
    free(a);
    free(b);
}

int main(void)
{
    struct curl_loop *cl = NULL;
    int server_stdin = -1, status;
    pid_t pid;

    if (access(PYTHON, X_OK) != 0)
        tap_skip_all(PYTHON " not installed");
    signal(SIGPIPE, SIG_IGN);
    pid = start_server(&server_stdin);
    if (pid <= 0)
        tap_skip_all("http_receiver.py did not start");
    tap_plan(32);
    uv_loop_init(&loop);
    tap_is_int(curl_loop_init(&loop, &cl), 0, "curl_loop_init");
    statuses_and_body(cl);
    window_bounds_running(cl);
    timeout_busy_cancel(cl);
    close_cancels(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    close(server_stdin);
    waitpid(pid, &status, 0);
    tap_ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the server exits when its stdin closes");
    curl_global_cleanup();
    return tap_done();
}
