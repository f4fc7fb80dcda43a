/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_clock.c: `drumbeat clock show|set TIME|advance DURATION`,
 * a client of GET and POST /api/clock (api_clock.c). Showing works on any
 * daemon; moving the clock only on one started with --test-clock, and only
 * forward: the daemon refuses the rest (409) and we print why. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char clock_usage[] =
    "Usage: drumbeat clock show\n"
    "       drumbeat clock set TIME          (e.g. 2026-03-04T09:00:00Z, UTC)\n"
    "       drumbeat clock advance DURATION  (e.g. 90m, 2h, 3d, 1d12h)\n"
    "                         [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
    "show prints the daemon's \"now\" (UTC, with milliseconds) and whether it runs on\n"
    "a test clock. set and advance move a test clock (drumbeatd --test-clock) forward:\n"
    "the clock stops at every instant something is due on the way, in order, and the\n"
    "daemon finishes that instant's work (sends, outcomes, next steps) before it moves\n"
    "on, so setting the clock to a time is exactly advancing to it. The command returns\n"
    "when the clock got there. The clock never goes back (caps and send windows count\n"
    "on it): set to an earlier time is refused. Without --test-clock, set and advance\n"
    "are refused.\n"
    "Exit status: 0 ok, 1 failed, 2 refused (not a test clock, in the past), 64 usage.\n";

int cli_clock(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *verb = NULL, *arg = NULL;
    json_t *reply = NULL, *body = NULL;

    int done = cli_verb_args(argc, argv, clock_usage, &common, &verb, &arg);
    if (done >= 0)
        return done;
    if (verb == NULL)
        verb = "show";
    int status;
    if (strcmp(verb, "show") == 0 && arg == NULL) {
        status = cli_api_request(&common, "GET", "/api/clock", NULL, &reply);
    } else if ((strcmp(verb, "set") == 0 || strcmp(verb, "advance") == 0) && arg != NULL) {
        body = json_pack("{s:s}", verb[0] == 's' ? "set" : "by", arg);
        status = cli_api_request(&common, "POST", "/api/clock", body, &reply);
        json_decref(body);
    } else {
        fputs(clock_usage, stderr);
        return CLI_USAGE;
    }
    if (status != 200)
        return cli_api_failed(status, reply);
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        bool test = json_is_true(json_object_get(reply, "test_clock"));
        printf("%s (%s)\n", json_string_value(json_object_get(reply, "now")),
               test ? "test clock" : "real time");
    }
    json_decref(reply);
    return CLI_OK;
}
