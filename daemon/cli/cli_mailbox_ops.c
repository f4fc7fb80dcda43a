/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_mailbox_ops.c: `drumbeat mailbox list|pause|resume`,
 * clients of api_mailboxes.c (the usage text is in cli_mailbox.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "../clock.h"

static void print_json(const json_t *reply)
{
    json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("\n");
}

int cli_mailbox_list(const struct cli_common *common)
{
    json_t *reply = NULL;
    int status = cli_api_request(common, "GET", "/api/mailboxes", NULL, &reply);
    if (status != 200)
        return cli_api_failed(status, reply);
    if (common->json) {
        print_json(reply);
        json_decref(reply);
        return CLI_OK;
    }
    printf("%-16s %-8s %-10s %9s %8s  %s\n", "MAILBOX", "STATE", "CHANNEL", "SENT/24H", "CAP",
           "NOTES");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(reply, "mailboxes"), i, m) {
        const json_t *p = json_object_get(m, "paused");
        const json_t *retired = json_object_get(m, "retired_by");
        printf("%-16s %-8s %-10s %9lld %8lld ", json_string_value(json_object_get(m, "name")),
               json_string_value(json_object_get(m, "state")),
               json_string_value(json_object_get(m, "channel")),
               (long long)json_integer_value(json_object_get(m, "sent_24h")),
               (long long)json_integer_value(json_object_get(m, "daily_cap")));
        if (json_is_object(p)) {
            char when[40];
            const char *detail = json_string_value(json_object_get(p, "detail"));
            const char *actor = json_string_value(json_object_get(p, "actor"));
            printf(" paused (%s) by %s at %s, %lld touch%s waiting%s%s",
                   json_string_value(json_object_get(p, "reason")),
                   actor != NULL ? actor : json_string_value(json_object_get(p, "actor_kind")),
                   clock_format_iso(json_integer_value(json_object_get(p, "at")), when,
                                    sizeof(when)),
                   (long long)json_integer_value(json_object_get(p, "touches_waiting")),
                   json_integer_value(json_object_get(p, "touches_waiting")) == 1 ? "" : "es",
                   detail != NULL ? ": " : "", detail != NULL ? detail : "");
        }
        size_t k;
        json_t *c;
        json_array_foreach(retired, k, c)
            printf("%s%s", k == 0 ? " retired by " : ", ", json_string_value(c));
        printf("\n");
    }
    json_decref(reply);
    return CLI_OK;
}

int cli_mailbox_pause(const struct cli_common *common, const char *name, bool pause,
                      const char *note)
{
    char path[300];
    json_t *body = json_object(), *reply = NULL;
    if (strchr(name, '/') != NULL || strlen(name) > 200) {
        fprintf(stderr, "drumbeat: mailbox: \"%s\" is not a mailbox name\n", name);
        json_decref(body);
        return CLI_USAGE;
    }
    if (note != NULL)
        json_object_set_new(body, "note", json_string(note));
    snprintf(path, sizeof(path), "/api/mailboxes/%s/%s", name, pause ? "pause" : "resume");
    int status = cli_api_request(common, "POST", path, body, &reply);
    json_decref(body);
    if (status != 200)
        return cli_api_failed(status, reply);
    if (common->json) {
        print_json(reply);
    } else if (pause) {
        long long n = json_integer_value(json_object_get(reply, "touches_deferred"));
        printf("mailbox %s: paused; %lld touch%s wait (deferred, mailbox_paused)\n", name, n,
               n == 1 ? "" : "es");
    } else {
        long long n = json_integer_value(json_object_get(reply, "touches_released"));
        printf("mailbox %s: active; %lld waiting touch%s scheduled again\n", name, n,
               n == 1 ? "" : "es");
    }
    json_decref(reply);
    return CLI_OK;
}
