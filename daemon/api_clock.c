/* SPDX-License-Identifier: MIT */
/* daemon/api_clock.c: the clock endpoints of the API.
 *   GET  /api/clock              {"now": ISO UTC with ms, "now_ms", "test_clock"}
 *   POST /api/clock              {"set": "2026-03-04T09:00:00Z"} or {"by": "2d"}:
 *                                moves the test clock forward (only with
 *                                drumbeatd --test-clock; 409 otherwise)
 *   POST /api/clock/advance      {"by": "2d"}: the same as {"by"} above
 *
 * Moving the clock never jumps: it goes through clock_step_to(), which stops
 * at every due instant on the way and lets the daemon finish that instant's
 * work, so setting the clock to a time is exactly advancing to it. It only
 * moves forward: caps on rolling windows, send windows and backoffs all count
 * on time that never goes back, so a set to the past is refused (409). One
 * move runs at a time; a second request while one runs gets a 409.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include <jansson.h>

#include "api.h"
#include "api_util.h"
#include "clock.h"
#include "clock_step.h"
#include "config.h"
#include "daemon.h"
#include "http.h"

/* One daemon per process, and moves are on the loop thread: a plain flag. */
static bool clock_moving;

struct clock_call {
    struct http_request *req;    /* NULL once the listener closed */
};

static json_t *clock_json(void)
{
    char now[40];
    int64_t ms = clock_now_ms();
    return json_pack("{s:s, s:I, s:b}", "now", clock_format_iso(ms, now, sizeof(now)),
                     "now_ms", (json_int_t)ms, "test_clock", clock_is_test());
}

static void on_get_clock(struct http_request *req, void *ctx)
{
    (void)ctx;
    http_reply_json(req, 200, clock_json());
}

static void on_clock_done(int status, void *arg)
{
    struct clock_call *c = arg;
    clock_moving = false;
    if (c->req != NULL && status < 0)
        http_reply_error(c->req, 503, "the clock stopped early: %s", error_text(status));
    else if (c->req != NULL)
        http_reply_json(c->req, 200, clock_json());
    free(c);
}

/* Moves the clock to target in order, answering req when it got there. */
static void move_to(struct http_request *req, struct daemon *d, int64_t target)
{
    if (clock_moving)
        return http_reply_error(req, 409, "the clock is already moving (another request)");
    struct clock_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return http_reply_error(req, 503, "out of memory");
    c->req = req;
    int rc = clock_step_to(d, target, on_clock_done, c);
    if (rc < 0) {
        free(c);
        return http_reply_error(req, 500, "cannot move the clock: %s", error_text(rc));
    }
    clock_moving = true;
    api_hold(req, &c->req);
}

static void on_post_clock(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    const char *set = json_string_value(json_object_get(body, "set"));
    const char *by = json_string_value(json_object_get(body, "by"));
    char now[40], want[40];

    if (!clock_is_test())
        return http_reply_error(req, 409, "the test clock is off: the clock can only be moved "
                                          "when drumbeatd runs with --test-clock");
    if ((set == NULL) == (by == NULL))
        return http_reply_error(req, 400, "expected {\"set\": \"2026-03-04T09:00:00Z\"} or "
                                          "{\"by\": \"2d\"}");
    int64_t target;
    if (set != NULL) {
        if (clock_parse_iso(set, &target) < 0)
            return http_reply_error(req, 400, "set: expected a UTC time like "
                                              "\"2026-03-04T09:00:00Z\"");
        int64_t cur = clock_now_ms();
        if (target < cur)
            return http_reply_error(req, 409, "set: the test clock only moves forward: it is "
                                    "%s, %s is in its past (caps and send windows count on "
                                    "time that never goes back; restart drumbeatd with "
                                    "--test-clock=%s to start over)",
                                    clock_format_iso(cur, now, sizeof(now)),
                                    clock_format_iso(target, want, sizeof(want)), set);
    } else {
        uint64_t ms;
        if (duration_parse(by, &ms) < 0 || ms > (uint64_t)INT64_MAX / 2)
            return http_reply_error(req, 400, "by: expected a duration like \"90m\", \"2h\" or "
                                              "\"3d\"");
        target = clock_now_ms() + (int64_t)ms;
    }
    move_to(req, d, target);
}

/* The older form, kept: {"by": "2d"}. */
static void on_clock_advance(struct http_request *req, void *ctx)
{
    struct daemon *d = ctx;
    const json_t *body = http_request_json(req);
    uint64_t ms = 0;

    if (!clock_is_test())
        return http_reply_error(req, 409, "the test clock is off: start drumbeatd with --test-clock");
    const char *by = json_string_value(json_object_get(body, "by"));
    if (by == NULL || duration_parse(by, &ms) < 0 || ms > (uint64_t)INT64_MAX / 2)
        return http_reply_error(req, 400, "by: expected a duration like \"90m\", \"2h\" or \"3d\"");
    /* Stops at each due instant on the way, so the run is what real time
     * would have done, in order; the reply comes at the end. */
    move_to(req, d, clock_now_ms() + (int64_t)ms);
}

int api_clock_register(struct daemon *d)
{
    int rc = 0;
    rc = rc < 0 ? rc : http_route(d->api, "GET", "/api/clock", 0, on_get_clock, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/clock", 0, on_post_clock, d);
    rc = rc < 0 ? rc : http_route(d->api, "POST", "/api/clock/advance", 0, on_clock_advance, d);
    return rc;
}
