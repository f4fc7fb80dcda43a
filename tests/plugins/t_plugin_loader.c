/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_plugin_loader.c: the plugin loader against real .so files
 * (the .c files beside this one, found through $DRUMBEAT_PLUGIN_PATH) on a real uv loop:
 * every malformed plugin is refused with a message naming its file while the
 * good instance runs; option validation (unknown key with a hint, wrong type,
 * missing required, secrets never shown, defaults applied); the offline
 * check; and a plugin that completes ops from inside send. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

static int done_calls;
static struct drumbeat_result last_res;
static char last_detail[256];

static void on_done(void *arg, const struct drumbeat_result *res)
{
    int *slot = arg;
    done_calls++;
    if (slot != NULL)
        (*slot)++;
    last_res = *res;
    snprintf(last_detail, sizeof(last_detail), "%s", res->detail ? res->detail : "");
    last_res.detail = last_detail;
}

static bool done_at_least(void *arg)
{
    return done_calls >= *(int *)arg;
}

static const struct errbuf *find_error(const struct config_errors *errs, const char *where)
{
    for (size_t i = 0; i < errs->count; i++)
        if (strcmp(errs->items[i].where, where) == 0)
            return &errs->items[i];
    return NULL;
}

static const char *what_at(const struct config_errors *errs, const char *where)
{
    const struct errbuf *e = find_error(errs, where);
    return e != NULL ? e->what : "(no error at this path)";
}

static json_t *status_of(struct plugins *p, const char *name)
{
    json_t *all = plugins_status_json(p), *v;
    size_t i;

    json_array_foreach(all, i, v) {
        if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0) {
            json_incref(v);
            json_decref(all);
            return v;
        }
    }
    json_decref(all);
    return NULL;
}

static void bad_plugins_are_refused(uv_loop_t *loop)
{
    struct config_plugin_instance ch[] = {
        test_instance("good", "opts_channel", json_pack("{s:s}", "url", "http://x")),
        test_instance("magic", "bad_magic", NULL),
        test_instance("major", "abi_major_2", NULL),
        test_instance("minor", "abi_minor_99", NULL),
        test_instance("short", "short_size", NULL),
        test_instance("initf", "init_fails", NULL),
        test_instance("nosym", "no_symbol", NULL),
        test_instance("text", "tests/fixtures/not_a_plugin.so", NULL),
        test_instance("missing", "does_not_exist", NULL),
    };
    struct config cfg = { .path = "test.json", .base_dir = (char *)tap_srcpath("."),
                          .channels = ch, .n_channels = 9 };
    char srcdir[1024];
    struct config_errors errs = { 0 };
    struct plugins *p = NULL;

    snprintf(srcdir, sizeof(srcdir), "%s", tap_srcpath("."));
    cfg.base_dir = srcdir;
    tap_is_int(plugins_new(loop, NULL, NULL, &p), 0, "plugins_new");
    tap_is_int(plugins_load(p, &cfg, &errs), 0, "plugins_load carries on past bad plugins");
    tap_is_int((int64_t)errs.count, 8, "one error per bad instance");

    tap_contains(what_at(&errs, "channels[1].plugin"), "bad_magic.so: not a drumbeat plugin",
                 "bad magic: refused, naming the file");
    tap_contains(what_at(&errs, "channels[2].plugin"),
                 "abi_major_2.so: built for plugin ABI 2.x; this drumbeatd speaks 1.x",
                 "major 2: refused, naming the file");
    tap_contains(what_at(&errs, "channels[3].plugin"), "abi_minor_99.so: needs ABI 1.99",
                 "minor 99: refused, naming the file");
    tap_contains(what_at(&errs, "channels[3].plugin"), "upgrade drumbeatd",
                 "minor 99: says what to do");
    tap_contains(what_at(&errs, "channels[4].plugin"), "short_size.so: malformed plugin",
                 "short descriptor: refused as malformed, naming the file");
    tap_contains(what_at(&errs, "channels[5]"), "init_fails.so: init failed",
                 "init -EIO: instance failed, naming the file");
    tap_contains(what_at(&errs, "channels[6].plugin"), "no_symbol.so: no \"drumbeat_plugin\" symbol",
                 "no symbol: refused, naming the file");
    tap_contains(what_at(&errs, "channels[7].plugin"), "not_a_plugin.so: cannot load",
                 "a text file: refused, naming the file");
    tap_contains(what_at(&errs, "channels[8].plugin"), "plugin \"does_not_exist\" not found",
                 "a missing plugin: says so");
    tap_contains(what_at(&errs, "channels[8].plugin"), "tests/plugins/.libs/does_not_exist.so",
                 "... and lists where it looked");
    tap_is_str(find_error(&errs, "channels[1].plugin") ? find_error(&errs, "channels[1].plugin")->file
                                                        : NULL,
               "test.json", "errors name the config file");

    json_t *good = status_of(p, "good"), *bad = status_of(p, "initf");
    tap_is_str(json_string_value(json_object_get(good, "state")), "running", "good instance runs");
    tap_is_str(json_string_value(json_object_get(good, "version")), "0.0.1", "status has the version");
    tap_is_str(json_string_value(json_object_get(bad, "state")), "failed", "init_fails is failed");
    tap_contains(json_string_value(json_object_get(bad, "error")), "init failed",
                 "status carries the failure");
    json_decref(good);
    json_decref(bad);
    tap_ok(plugins_channel_ready(p, "good") && !plugins_channel_ready(p, "magic"),
           "ready: the good one only");

    struct drumbeat_message msg = { .touch_id = 1, .recipient = "a@b", .payload = "x",
                                    .payload_len = 1, .idempotency_key = "k1" };
    void *args[1] = { NULL };
    tap_is_int(plugins_send(p, "magic", &msg, 1, on_done, args), -ENOENT, "send to a failed channel: -ENOENT");
    tap_is_int(plugins_send(p, "nope", &msg, 1, on_done, args), -ENOENT, "send to an unknown channel: -ENOENT");
    tap_is_int(plugins_send(p, "good", &msg, 2, on_done, args), -EINVAL, "a batch above max_batch: -EINVAL");

    int want = 1;
    done_calls = 0;
    tap_is_int(plugins_send(p, "good", &msg, 1, on_done, args), 0, "send to the good channel");
    tap_is_int(done_calls, 0, "... completes later, not inside send");
    tap_ok(test_run_until(loop, done_at_least, &want, 5000), "... and completes on the loop");
    tap_is_int(last_res.outcome, DRUMBEAT_DONE, "... DONE");
    tap_contains(last_detail, "port=25 verbose=0 timeout=10000", "defaults from the table were applied");
    tap_contains(last_detail, "token_len=0", "an absent optional string is NULL");

    plugins_free(p);
    config_errors_free(&errs);
    for (int i = 0; i < 9; i++)
        test_instance_clear(&ch[i]);
}

static void options_are_validated(uv_loop_t *loop)
{
    struct config_plugin_instance ch[] = {
        test_instance("typo", "opts_channel", json_pack("{s:s, s:i}", "url", "u", "prot", 25)),
        test_instance("type", "opts_channel", json_pack("{s:s, s:s}", "url", "u", "port", "abc")),
        test_instance("noreq", "opts_channel", json_pack("{s:i}", "port", 1)),
        test_instance("secret", "opts_channel", json_pack("{s:s, s:i}", "url", "u", "token", 987654321)),
        test_instance("set", "opts_channel",
                      json_pack("{s:s, s:s, s:i, s:b, s:s}", "url", "http://y", "token",
                                "hunter2-sekrit", "port", 587, "verbose", 1, "timeout", "30s")),
    };
    struct config cfg = { .path = "opts.json", .channels = ch, .n_channels = 5 };
    struct config_errors errs = { 0 };
    struct plugins *p = NULL;
    char *log;

    plugins_new(loop, NULL, NULL, &p);
    test_capture_start();
    plugins_load(p, &cfg, &errs);

    tap_contains(what_at(&errs, "channels[0].options.prot"), "did you mean \"port\"",
                 "unknown key: error with a did-you-mean hint");
    tap_contains(what_at(&errs, "channels[1].options.port"), "expected an integer",
                 "wrong type: says what was expected");
    tap_contains(what_at(&errs, "channels[2].options.url"), "required option missing",
                 "missing required option");
    tap_contains(what_at(&errs, "channels[3].options.token"), "got ***",
                 "a secret's bad value is shown as ***");
    bool leaked = false;
    for (size_t i = 0; i < errs.count; i++)
        leaked |= strstr(errs.items[i].what, "987654321") != NULL;
    tap_ok(!leaked, "the secret's value appears in no error");

    struct drumbeat_message msg = { .touch_id = 2, .recipient = "a@b", .payload = "x",
                                    .payload_len = 1, .idempotency_key = "k2" };
    void *args[1] = { NULL };
    int want = 1;
    done_calls = 0;
    tap_is_int(plugins_send(p, "set", &msg, 1, on_done, args), 0, "send with explicit options");
    test_run_until(loop, done_at_least, &want, 5000);
    tap_contains(last_detail, "url=http://y token_len=14 port=587 verbose=1 timeout=30000",
                 "explicit values reach the settings block");
    plugins_free(p);
    log = test_capture_end();
    tap_ok(log != NULL && strstr(log, "987654321") == NULL && strstr(log, "hunter2") == NULL,
           "no secret reaches the log");
    tap_contains(log, "[opts_channel/typo]", "log lines carry [plugin/instance]");
    free(log);
    config_errors_free(&errs);
    for (int i = 0; i < 5; i++)
        test_instance_clear(&ch[i]);
}

static void check_config_offline(void)
{
    char dir[600];
    snprintf(dir, sizeof(dir), "%s/out", tap_tmpdir());
    struct config_plugin_instance good[] = {
        test_instance("primary", "example_channel", json_pack("{s:s}", "dir", dir)),
        test_instance("hook", "opts_channel", json_pack("{s:s}", "url", "u")),
    };
    struct config_plugin_instance bad[] = {
        test_instance("primary", "example_channel", json_pack("{s:s}", "dri", dir)),
        test_instance("magic", "bad_magic", NULL),
    };
    struct config cfg_good = { .path = "good.json", .channels = good, .n_channels = 2 };
    struct config cfg_bad = { .path = "bad.json", .channels = bad, .n_channels = 2 };
    struct config_errors errs = { 0 };

    tap_is_int(plugins_check_config(&cfg_good, &errs), 0, "check_config: a valid config passes");
    tap_is_int((int64_t)errs.count, 0, "... with no errors");
    tap_is_int(plugins_check_config(&cfg_bad, &errs), -EINVAL, "check_config: an invalid one fails");
    tap_contains(what_at(&errs, "channels[0].options.dri"), "did you mean \"dir\"",
                 "... the typo, with a hint");
    tap_ok(find_error(&errs, "channels[0].options.dir") != NULL, "... the missing required dir");
    tap_contains(what_at(&errs, "channels[1].plugin"), "bad_magic.so", "... the bad plugin, by file");
    tap_is_str(errs.count > 0 ? errs.items[0].file : NULL, "bad.json", "... naming the config file");
    config_errors_free(&errs);
    for (int i = 0; i < 2; i++) {
        test_instance_clear(&good[i]);
        test_instance_clear(&bad[i]);
    }
}

static void done_inside_send_is_deferred(uv_loop_t *loop)
{
    struct config_plugin_instance ch[] = { test_instance("sd", "sync_done", NULL) };
    struct config cfg = { .path = "sd.json", .channels = ch, .n_channels = 1 };
    struct plugins *p = NULL;
    struct drumbeat_message msgs[3] = {
        { .touch_id = 1, .recipient = "a@x", .payload = "1", .payload_len = 1, .idempotency_key = "a" },
        { .touch_id = 2, .recipient = "b@x", .payload = "2", .payload_len = 1, .idempotency_key = "b" },
        { .touch_id = 3, .recipient = "c@x", .payload = "3", .payload_len = 1, .idempotency_key = "c" },
    };
    int per[3] = { 0, 0, 0 }, want = 3;
    void *args[3] = { &per[0], &per[1], &per[2] };
    char *log;

    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    done_calls = 0;
    test_capture_start();
    tap_is_int(plugins_send(p, "sd", msgs, 3, on_done, args), 0, "sync_done: send accepted");
    tap_is_int(done_calls, 0, "no completion delivered from inside send");
    test_run_until(loop, done_at_least, &want, 2000);
    test_run_for(loop, 20);
    log = test_capture_end();
    tap_ok(per[0] == 1 && per[1] == 1 && per[2] == 1, "each op completed exactly once, later");
    tap_is_str(last_detail, "sync ok", "the deferred result kept its (copied) text");
    tap_contains(log, "from inside send", "the host warned about the plugin");
    free(log);

    struct drumbeat_message refuse = { .touch_id = 9, .recipient = "refuse@x", .payload = "r",
                                       .payload_len = 1, .idempotency_key = "r" };
    void *rargs[1] = { &per[0] };
    done_calls = 0;
    tap_is_int(plugins_send(p, "sd", &refuse, 1, on_done, rargs), -EAGAIN,
               "a refused send returns the plugin's error");
    test_run_for(loop, 30);
    tap_is_int(done_calls, 0, "... and its callback never runs");
    tap_is_int((int64_t)plugins_in_flight(p), 0, "nothing left in flight");
    plugins_free(p);
    test_instance_clear(&ch[0]);
}

static int drained_calls;
static void on_drained(void *arg)
{
    (void)arg;
    drained_calls++;
}
static bool drained_once(void *arg)
{
    (void)arg;
    return drained_calls > 0;
}

static void drain_when_idle(uv_loop_t *loop)
{
    struct plugins *p = NULL;
    struct config cfg = { .path = "empty.json" };

    plugins_new(loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    tap_is_int(plugins_drain(p, 1000, on_drained, NULL), 0, "drain with nothing in flight");
    tap_is_int(drained_calls, 0, "... never calls drained from inside the call");
    tap_ok(test_run_until(loop, drained_once, NULL, 1000), "... calls it on the loop");
    tap_is_int(plugins_drain(p, 1000, on_drained, NULL), -EALREADY, "a second drain: -EALREADY");
    plugins_free(p);
}

static void describe_for_plugin_help(void)
{
    json_t *d = NULL, *opt;
    struct errbuf err = { 0 };

    tap_is_int(plugins_describe(NULL, "opts_channel", &d, &err), 0, "describe a plugin");
    tap_is_str(json_string_value(json_object_get(d, "kind")), "channel", "... its kind");
    char abi[16];
    snprintf(abi, sizeof(abi), "%d.%d", DRUMBEAT_ABI_MAJOR, DRUMBEAT_ABI_MINOR);
    tap_is_str(json_string_value(json_object_get(d, "abi")), abi, "... its ABI (the one it was built for)");
    opt = json_array_get(json_object_get(d, "options"), 2);
    tap_ok(opt != NULL && strcmp(json_string_value(json_object_get(opt, "key")), "port") == 0 &&
           strcmp(json_string_value(json_object_get(opt, "default")), "25") == 0,
           "... its options, with defaults");
    opt = json_array_get(json_object_get(d, "options"), 1);
    tap_ok(json_is_true(json_object_get(opt, "secret")), "... and which are secret");
    json_decref(d);
    tap_ok(plugins_describe(NULL, "abi_major_2", &d, &err) == -EPROTO &&
           strstr(err.what, "abi_major_2.so") != NULL, "describe refuses a bad plugin, naming it");
}

int main(void)
{
    uv_loop_t loop;

    tap_plan(63);
    uv_loop_init(&loop);
    bad_plugins_are_refused(&loop);
    options_are_validated(&loop);
    check_config_offline();
    done_inside_send_is_deferred(&loop);
    drain_when_idle(&loop);
    describe_for_plugin_help();
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
