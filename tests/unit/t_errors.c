/* SPDX-License-Identifier: MIT */
/* tests/unit/t_errors.c: errno names, errbuf formatting and touch-state names. */
#include <errno.h>
#include <string.h>

#include "errors.h"
#include "tap.h"
#include "touch_state.h"

int main(void)
{
    struct errbuf err = { 0 };
    char buf[1024];
    enum touch_state st;

    tap_plan(8);
    tap_is_str(error_name(-EINVAL), "EINVAL", "error_name names EINVAL");
    tap_is_str(error_name(-123456), "UNKNOWN", "an unknown errno is UNKNOWN");
    tap_is_int(errbuf_at(&err, -EINVAL, "c.json", "mailboxes[2].daily_cap",
                         "expected a positive integer, got \"%s\"", "forty"),
               -EINVAL, "errbuf_at returns the code");
    tap_is_str(errbuf_format(&err, buf, sizeof(buf)),
               "c.json: mailboxes[2].daily_cap: expected a positive integer, got \"forty\"",
               "the message names file, JSON path and what was expected");
    err.line = 3;
    err.column = 7;
    tap_contains(errbuf_format(&err, buf, sizeof(buf)), "c.json:3:7: ",
                 "syntax errors carry line and column");
    tap_is_str(touch_state_format(TOUCH_IN_DOUBT), "in_doubt", "in_doubt has its name");
    tap_ok(touch_state_parse("cancelled", &st) == 0 && st == TOUCH_CANCELLED,
           "touch states parse back");
    tap_ok(touch_state_parse("sent ", &st) == -EINVAL, "a near-miss state name is rejected");
    return tap_done();
}
