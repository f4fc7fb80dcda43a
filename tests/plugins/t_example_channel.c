/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_example_channel.c: plugins/example_channel through the real
 * loader (dlopen of the built .so) on a real uv loop and threadpool: a batch
 * lands as complete files in new/, fail_recipients gives FAILED/RECIPIENT/550,
 * a resend of one idempotency key makes no second file, a drain waits for
 * in-flight work (and reports at its timeout), and after a reload the old
 * instance finishes its in-flight work before it is finalised; host->kv_set
 * reaches a real store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "store.h"
#include "tap.h"

struct got {
    int calls;
    struct drumbeat_result res;
    char detail[128], enhanced[16];
};

static int total_calls;

static void on_done(void *arg, const struct drumbeat_result *res)
{
    struct got *g = arg;
    g->calls++;
    total_calls++;
    g->res = *res;
    snprintf(g->detail, sizeof(g->detail), "%s", res->detail ? res->detail : "");
    snprintf(g->enhanced, sizeof(g->enhanced), "%s", res->enhanced ? res->enhanced : "");
}

static bool calls_reach(void *arg)
{
    return total_calls >= *(int *)arg;
}

static struct drumbeat_message msg(int64_t id, const char *rcpt, const char *key, const char *body)
{
    struct drumbeat_message m = {
        .touch_id = id, .sender = "ada@example.com", .recipient = rcpt,
        .content_type = "message/rfc822", .payload = body, .payload_len = strlen(body),
        .idempotency_key = key,
    };
    return m;
}

static struct plugins *load_one(uv_loop_t *loop, const char *dir, const char *fail, const char *delay,
                                struct config_plugin_instance *ci)
{
    struct config cfg = { .path = "ex.json", .channels = ci, .n_channels = 1 };
    json_t *opts = json_pack("{s:s}", "dir", dir);
    struct plugins *p = NULL;

    if (fail != NULL)
        json_object_set_new(opts, "fail_recipients", json_string(fail));
    if (delay != NULL)
        json_object_set_new(opts, "delay", json_string(delay));
    *ci = test_instance("primary", "example_channel", opts);
    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    return p;
}

static char *path_in(const char *dir, const char *sub, const char *name)
{
    static char buf[4][1024];
    static int at;
    char *b = buf[at++ % 4];
    snprintf(b, 1024, "%s/%s/%s", dir, sub, name);
    return b;
}

static void batch_outcomes_and_duplicates(uv_loop_t *loop)
{
    char dir[600];
    struct config_plugin_instance ci;
    struct got g[6] = { 0 };
    int want;

    snprintf(dir, sizeof(dir), "%s/mail", tap_tmpdir());
    struct plugins *p = load_one(loop, dir, "bad@example.com, worse@example.com", NULL, &ci);
    tap_ok(plugins_channel_ready(p, "primary"), "example_channel loads and runs");
    tap_is_int(plugins_max_batch(p, "primary"), 16, "max_batch is 16");

    struct drumbeat_message three[3] = {
        msg(1, "a@example.com", "<k1@drumbeat>", "Subject: one\r\n\r\nbody one\r\n"),
        msg(2, "b@example.com", "<k2@drumbeat>", "Subject: two\r\n\r\nbody two\r\n"),
        msg(3, "c@example.com", "<k3@drumbeat>", "Subject: three\r\n\r\nbody three\r\n"),
    };
    void *args3[3] = { &g[0], &g[1], &g[2] };
    total_calls = 0;
    want = 3;
    tap_is_int(plugins_send(p, "primary", three, 3, on_done, args3), 0, "a batch of 3 is accepted");
    tap_ok(test_run_until(loop, calls_reach, &want, 5000), "all 3 complete");
    tap_ok(g[0].res.outcome == DRUMBEAT_DONE && g[1].res.outcome == DRUMBEAT_DONE &&
           g[2].res.outcome == DRUMBEAT_DONE && g[0].res.code == 250, "each is DONE with 250");
    tap_is_int(test_count_dir(path_in(dir, "new", "")), 3, "3 files in new/");
    tap_is_int(test_count_dir(path_in(dir, "tmp", "")), 0, "nothing left in tmp/");
    char *body = test_slurp(path_in(dir, "new", "%3Ck2@drumbeat%3E.eml"));
    tap_is_str(body, "Subject: two\r\n\r\nbody two\r\n", "a file holds exactly the payload");
    free(body);

    struct drumbeat_message two[2] = {
        msg(4, "BAD@example.com", "<k4@drumbeat>", "x"),
        msg(5, "d@example.com", "<k5@drumbeat>", "y"),
    };
    void *args2[2] = { &g[3], &g[4] };
    total_calls = 0;
    want = 2;
    plugins_send(p, "primary", two, 2, on_done, args2);
    test_run_until(loop, calls_reach, &want, 5000);
    tap_is_int(g[3].res.outcome, DRUMBEAT_FAILED, "a fail_recipients address: FAILED");
    tap_is_int(g[3].res.scope, DRUMBEAT_SCOPE_RECIPIENT, "... scope RECIPIENT");
    tap_is_int(g[3].res.code, 550, "... code 550");
    tap_is_str(g[3].enhanced, "5.1.1", "... enhanced 5.1.1");
    tap_is_int(g[4].res.outcome, DRUMBEAT_DONE, "its batch-mate is delivered");
    tap_ok(access(path_in(dir, "new", "%3Ck4@drumbeat%3E.eml"), F_OK) != 0, "no file for the rejected one");

    struct drumbeat_message again = msg(1, "a@example.com", "<k1@drumbeat>", "DIFFERENT");
    void *args1[1] = { &g[5] };
    total_calls = 0;
    want = 1;
    plugins_send(p, "primary", &again, 1, on_done, args1);
    test_run_until(loop, calls_reach, &want, 5000);
    tap_is_int(g[5].res.outcome, DRUMBEAT_DONE, "a resend of the same key: DONE");
    tap_is_str(g[5].detail, "already delivered", "... as already delivered");
    tap_is_int(test_count_dir(path_in(dir, "new", "")), 4, "... and no second file");
    body = test_slurp(path_in(dir, "new", "%3Ck1@drumbeat%3E.eml"));
    tap_is_str(body, "Subject: one\r\n\r\nbody one\r\n", "... the first copy is untouched");
    free(body);

    json_t *st = plugins_status_json(p), *e = json_array_get(st, 0);
    tap_is_int(json_integer_value(json_object_get(e, "sent")), 5, "status counts 5 sent");
    tap_is_int(json_integer_value(json_object_get(e, "failed_ops")), 1, "... and 1 failed");
    json_decref(st);
    plugins_free(p);
    test_instance_clear(&ci);
}

static int drained_calls, calls_at_drained;
static void on_drained(void *arg)
{
    (void)arg;
    drained_calls++;
    calls_at_drained = total_calls;
}
static bool drained_once(void *arg)
{
    (void)arg;
    return drained_calls > 0;
}

static void drain_waits_for_in_flight(uv_loop_t *loop)
{
    char dir[600];
    struct config_plugin_instance ci;
    struct got g = { 0 }, g2 = { 0 };

    snprintf(dir, sizeof(dir), "%s/mail", tap_tmpdir());
    struct plugins *p = load_one(loop, dir, NULL, "300ms", &ci);
    struct drumbeat_message m = msg(1, "a@example.com", "slow-1", "slow");
    void *args[1] = { &g };
    total_calls = 0;
    drained_calls = 0;
    tap_is_int(plugins_send(p, "primary", &m, 1, on_done, args), 0, "a slow send is accepted");
    tap_is_int(plugins_drain(p, 5000, on_drained, NULL), 0, "drain starts");
    void *args2[1] = { &g2 };
    tap_is_int(plugins_send(p, "primary", &m, 1, on_done, args2), -ESHUTDOWN,
               "sends are refused while draining");
    tap_ok(test_run_until(loop, drained_once, NULL, 5000), "drained is called");
    tap_is_int(calls_at_drained, 1, "... only after the in-flight op completed");
    tap_is_int(g.res.outcome, DRUMBEAT_DONE, "... which was delivered");
    tap_ok(access(path_in(dir, "new", "slow-1.eml"), F_OK) == 0, "... and its file exists");
    plugins_free(p);
    test_instance_clear(&ci);

    /* At the timeout drained is called with the op still in flight; the
     * daemon would mark it in doubt. Then let it finish before freeing. */
    snprintf(dir, sizeof(dir), "%s/mail", tap_tmpdir());
    p = load_one(loop, dir, NULL, "600ms", &ci);
    struct got g3 = { 0 };
    void *args3[1] = { &g3 };
    total_calls = 0;
    drained_calls = 0;
    m = msg(2, "a@example.com", "slow-2", "slow");
    plugins_send(p, "primary", &m, 1, on_done, args3);
    test_capture_start();
    plugins_drain(p, 100, on_drained, NULL);
    test_run_until(loop, drained_once, NULL, 5000);
    char *log = test_capture_end();
    tap_ok(drained_calls == 1 && calls_at_drained == 0, "at the drain timeout, drained is called early");
    tap_contains(log, "in doubt\" touch=2", "... and the op left is logged as in doubt");
    free(log);
    int want = 1;
    test_run_until(loop, calls_reach, &want, 5000);
    tap_is_int(g3.calls, 1, "the late op still completes once");
    plugins_free(p);
    test_instance_clear(&ci);
}

static bool status_len_is(void *arg)
{
    void **a = arg;
    json_t *st = plugins_status_json(a[0]);
    bool ok = json_array_size(st) == (size_t)(intptr_t)a[1];
    json_decref(st);
    return ok;
}

static void reload_drains_old_instance(uv_loop_t *loop)
{
    char dir_a[600], dir_b[600];
    struct config_plugin_instance ci, ci_b;
    struct got g_old = { 0 }, g_new = { 0 };

    snprintf(dir_a, sizeof(dir_a), "%s/a", tap_tmpdir());
    snprintf(dir_b, sizeof(dir_b), "%s/b", tap_tmpdir());
    struct plugins *p = load_one(loop, dir_a, NULL, "400ms", &ci);
    struct drumbeat_message m = msg(7, "a@example.com", "before-reload", "old");
    void *args[1] = { &g_old };
    total_calls = 0;
    plugins_send(p, "primary", &m, 1, on_done, args);

    ci_b = test_instance("primary", "example_channel", json_pack("{s:s}", "dir", dir_b));
    struct config cfg_b = { .path = "ex2.json", .channels = &ci_b, .n_channels = 1 };
    tap_is_int(plugins_reload(p, &cfg_b, NULL), 0, "reload while a send is in flight");
    json_t *st = plugins_status_json(p);
    tap_is_int((int64_t)json_array_size(st), 2, "status lists the new and the draining instance");
    tap_is_str(json_string_value(json_object_get(json_array_get(st, 1), "state")), "draining",
               "the old one is draining");
    tap_is_int(json_integer_value(json_object_get(json_array_get(st, 1), "in_flight")), 1,
               "... with its op in flight");
    json_decref(st);

    struct drumbeat_message m2 = msg(8, "a@example.com", "after-reload", "new");
    void *args2[1] = { &g_new };
    tap_is_int(plugins_send(p, "primary", &m2, 1, on_done, args2), 0, "new sends go to the new instance");
    int want = 2;
    tap_ok(test_run_until(loop, calls_reach, &want, 5000), "both complete");
    tap_ok(access(path_in(dir_b, "new", "after-reload.eml"), F_OK) == 0, "the new send went to the new dir");
    tap_ok(g_old.res.outcome == DRUMBEAT_DONE &&
           access(path_in(dir_a, "new", "before-reload.eml"), F_OK) == 0,
           "the old instance finished its in-flight send");
    void *a[2] = { p, (void *)(intptr_t)1 };
    tap_ok(test_run_until(loop, status_len_is, a, 2000), "then the old instance is finalised and gone");
    plugins_free(p);
    test_instance_clear(&ci);
    test_instance_clear(&ci_b);
}

static bool kv_has_key(void *arg)
{
    char *v = NULL;
    size_t len = 0;
    bool ok = store_kv_get(arg, "primary", "last_key", &v, &len) == 0 &&
              strcmp(v, "kv-key-1") == 0;
    free(v);
    return ok;
}

static void kv_through_the_store(uv_loop_t *loop)
{
    char dir[600], db[700];
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct got g = { 0 };

    snprintf(dir, sizeof(dir), "%s", tap_tmpdir());
    snprintf(db, sizeof(db), "%s/drumbeat.db", dir);
    if (store_open(loop, db, &st, &err) < 0) {
        tap_ok(false, "store_open: %s", err.what);
        tap_skip(1, "no store");
        return;
    }
    struct config_plugin_instance ci = test_instance("primary", "example_channel",
                                                     json_pack("{s:s}", "dir", dir));
    struct config cfg = { .path = "kv.json", .channels = &ci, .n_channels = 1 };
    struct plugins *p = NULL;
    plugins_new(loop, st, NULL, &p);
    plugins_load(p, &cfg, NULL);
    struct drumbeat_message m = msg(11, "a@example.com", "kv-key-1", "kv");
    void *args[1] = { &g };
    total_calls = 0;
    tap_is_int(plugins_send(p, "primary", &m, 1, on_done, args), 0, "send with a real store");
    tap_ok(test_run_until(loop, kv_has_key, st, 5000),
           "host->kv_set stored the plugin's state under its instance name");
    plugins_free(p);
    store_close(st);
    test_instance_clear(&ci);
}

int main(void)
{
    uv_loop_t loop;

    tap_plan(42);
    uv_loop_init(&loop);
    batch_outcomes_and_duplicates(&loop);
    drain_waits_for_in_flight(&loop);
    reload_drains_old_instance(&loop);
    kv_through_the_store(&loop);
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
