/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_touch.c: `drumbeat touch show|list|resend|drop`: look at
 * touches and decide what happens to in_doubt ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void touch_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat touch show ID\n"
            "       drumbeat touch list [--state STATE] [--limit N]\n"
            "       drumbeat touches [--deferred | --in-doubt] [--limit N]   (the same list)\n"
            "       drumbeat touch resend ID     send an in_doubt touch again (same Message-ID)\n"
            "       drumbeat touch drop ID       give up on an in_doubt touch (cancelled)\n"
            "       [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
            "States: scheduled, deferred, sending, sent, skipped, failed, in_doubt, cancelled.\n"
            "An in_doubt touch may or may not have gone out (the daemon stopped, or the\n"
            "connection broke, after the message was handed over): it is never resent\n"
            "automatically; a person decides with resend or drop.\n");
}

static void touch_print(const json_t *t)
{
    const char *reason = json_string_value(json_object_get(t, "reason"));
    const char *recipient = json_string_value(json_object_get(t, "recipient"));
    printf("%-6lld %-10s %-8s %-12s %s%s%s\n",
           (long long)json_integer_value(json_object_get(t, "id")),
           json_string_value(json_object_get(t, "state")) ?: "?",
           json_string_value(json_object_get(t, "kind")) ?: "",
           json_string_value(json_object_get(t, "channel")) ?: "",
           recipient ? recipient : "", reason ? "  reason=" : "", reason ? reason : "");
}

int cli_touch(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *verb = NULL, *id = NULL, *state = NULL, *limit = NULL;
    char path[256];

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            touch_usage(stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
            state = argv[++i];
        } else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
            limit = argv[++i];
        } else if (verb == NULL) {
            verb = argv[i];
        } else if (id == NULL) {
            id = argv[i];
        } else {
            touch_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (verb == NULL) {
        touch_usage(stderr);
        return CLI_USAGE;
    }
    const char *method = "GET";
    if (strcmp(verb, "list") == 0) {
        snprintf(path, sizeof(path), "/api/touches?limit=%s%s%s", limit ? limit : "100",
                 state ? "&state=" : "", state ? state : "");
    } else if (id != NULL && strspn(id, "0123456789") == strlen(id) &&
               (strcmp(verb, "show") == 0 || strcmp(verb, "resend") == 0 ||
                strcmp(verb, "drop") == 0)) {
        if (strcmp(verb, "show") == 0) {
            snprintf(path, sizeof(path), "/api/touches/%s", id);
        } else {
            method = "POST";
            snprintf(path, sizeof(path), "/api/touches/%s/%s", id, verb);
        }
    } else {
        touch_usage(stderr);
        return CLI_USAGE;
    }
    json_t *reply = NULL;
    int status = cli_api_request(&common, method, path, NULL, &reply);
    if (status != 200) {
        return cli_api_failed((int)status, reply);
    }
    if (common.json || strcmp(verb, "show") == 0) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (strcmp(verb, "list") == 0) {
        size_t i;
        json_t *t;
        printf("%-6s %-10s %-8s %-12s %s\n", "ID", "STATE", "KIND", "CHANNEL", "RECIPIENT");
        json_array_foreach(json_object_get(reply, "touches"), i, t)
            touch_print(t);
    } else {
        printf("touch %s: %s\n", id, json_string_value(json_object_get(reply, "state")) ?: "?");
    }
    json_decref(reply);
    return CLI_OK;
}

/* `drumbeat touches [--deferred | --in-doubt | --state S] [...]`: the issue
 * list's spelling of `touch list`, with the common states as flags. */
int cli_touches(int argc, char **argv)
{
    char **args = calloc((size_t)argc + 3, sizeof(*args));
    int n = 0, rc;
    if (args == NULL)
        return CLI_FAIL;
    args[n++] = (char *)"touch";
    args[n++] = (char *)"list";
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--deferred") == 0 || strcmp(argv[i], "--in-doubt") == 0) {
            args[n++] = (char *)"--state";
            args[n++] = (char *)(argv[i][2] == 'd' ? "deferred" : "in_doubt");
        } else {
            args[n++] = argv[i];
        }
    }
    rc = cli_touch(n, args);
    free(args);
    return rc;
}
