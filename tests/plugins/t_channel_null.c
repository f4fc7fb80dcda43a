/* SPDX-License-Identifier: MIT */
/* tests/plugins/t_channel_null.c: plugins/channel_null through the real
 * loader (dlopen of the built .so) on a real uv loop and threadpool: it says
 * at start-up that it discards mail; a batch of 1000 (its max_batch) is
 * accepted, nothing completes inside send, and each message then gets
 * exactly one DONE (code 250); the debug line counts the batch and its
 * bytes; a batch over 1000 is refused by the host before the plugin; the
 * loop closes cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "plugin_loader.h"
#include "plugin_test_util.h"
#include "tap.h"

#define N 1000

static int calls, done_ok, code_250;
static int per_msg[N + 1];

static void on_done(void *arg, const struct drumbeat_result *res)
{
    int *slot = arg;
    calls++;
    (*slot)++;
    done_ok += res->outcome == DRUMBEAT_DONE;
    code_250 += res->code == 250;
}

static bool all_done(void *arg)
{
    return calls >= *(int *)arg;
}

int main(void)
{
    uv_loop_t loop;
    char *path[] = { (char *)tap_buildpath("plugins/channel_null/.libs"), NULL };
    struct config_plugin_instance ci = test_instance("null", "channel_null", NULL);
    struct config cfg = { .path = "null.json", .channels = &ci, .n_channels = 1,
                          .plugin_path = path };
    struct plugins *p = NULL;
    static struct drumbeat_message msgs[N + 1];
    static void *args[N + 1];
    static const char body[] = "From: ada@example.com\r\nSubject: hi\r\n\r\nbody\r\n";

    tap_plan(13);
    uv_loop_init(&loop);
    test_capture_start();
    plugins_new(&loop, NULL, NULL, &p);
    plugins_load(p, &cfg, NULL);
    char *log = test_capture_end();
    tap_ok(plugins_channel_ready(p, "null"), "channel_null loads and runs");
    tap_contains(log, "discards every message", "it warns at start-up that it discards mail");
    free(log);
    tap_is_int(plugins_max_batch(p, "null"), N, "max_batch is 1000");
    tap_is_str(plugins_channel_accepts(p, "null"), "message/rfc822", "it accepts message/rfc822");

    for (int i = 0; i <= N; i++) {
        msgs[i] = (struct drumbeat_message){
            .touch_id = i + 1, .sender = "ada@example.com", .recipient = "lead@example.org",
            .content_type = "message/rfc822", .payload = body, .payload_len = sizeof(body) - 1,
            .idempotency_key = "key",
        };
        args[i] = &per_msg[i];
    }
    int want = N;
    test_capture_start();
    int rc = plugins_send(p, "null", msgs, N, on_done, args);
    int in_send = calls;
    bool finished = test_run_until(&loop, all_done, &want, 10000);
    log = test_capture_end();
    tap_is_int(rc, 0, "a batch of 1000 is accepted");
    tap_is_int(in_send, 0, "nothing completes inside send");
    tap_ok(finished, "all 1000 complete");
    tap_is_int(done_ok, N, "each is DONE");
    tap_is_int(code_250, N, "with code 250");
    int once = 0;
    for (int i = 0; i < N; i++)
        once += per_msg[i] == 1;
    tap_is_int(once, N, "each message got exactly one outcome");
    char want_line[128];
    snprintf(want_line, sizeof(want_line), "batch=1 messages=%d bytes=%zu since_last_us=-1", N,
             (size_t)N * (sizeof(body) - 1));
    tap_contains(log, want_line, "the debug line counts the batch and its bytes");
    free(log);

    tap_ok(plugins_send(p, "null", msgs, N + 1, on_done, args) < 0,
           "1001 messages: refused by the host");
    plugins_free(p);
    test_instance_clear(&ci);
    tap_is_int(test_loop_finish(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
