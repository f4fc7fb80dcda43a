/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_event.c: drumbeat event LEAD TYPE [--data JSON] [--id ID]
 * records a response that happened elsewhere (a reply, a bounce, a booked
 * meeting, a call's outcome...) through POST /api/events, exactly as a
 * webhook would, so the cadences' exit rules act on it. LEAD is a lead id
 * or an email. With --id the event is idempotent: sending it again changes
 * nothing and says so.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: drumbeat event LEAD TYPE [--data JSON] [--id ID]\n"
    "       [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Records an inbound event for LEAD (an id or an email) and applies the\n"
    "cadences' exit rules to it.\n"
    "  TYPE        reply, bounce, unsubscribe, complaint, meeting_booked or\n"
    "              call_outcome\n"
    "  --data JSON an object, e.g. '{\"reason\": \"mailbox_full\"}'; call_outcome\n"
    "              needs '{\"outcome\": \"no-answer\", \"notes\": \"...\"}'\n"
    "  --id ID     the event's id at its source: a repeat is recognised and\n"
    "              changes nothing\n";

static void print_reply(int status, const json_t *reply)
{
    long long event_id = (long long)json_integer_value(json_object_get(reply, "event_id"));
    if (status == 200) {
        printf("duplicate: event %lld was already recorded; nothing changed\n", event_id);
        return;
    }
    printf("event %lld recorded (%s)", event_id,
           json_string_value(json_object_get(reply, "type")));
    if (json_object_get(reply, "enrollments_ended") != NULL)
        printf("; %lld enrollment%s ended",
               (long long)json_integer_value(json_object_get(reply, "enrollments_ended")),
               json_integer_value(json_object_get(reply, "enrollments_ended")) == 1 ? "" : "s");
    if (json_object_get(reply, "task_id") != NULL)
        printf("; call task %lld closed",
               (long long)json_integer_value(json_object_get(reply, "task_id")));
    printf("\n");
}

int cli_event(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *lead = NULL, *type = NULL, *data = NULL, *id = NULL;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CLI_OK;
        }
        if ((strcmp(argv[i], "--data") == 0 || strcmp(argv[i], "--id") == 0) && i + 1 < argc) {
            *(argv[i][2] == 'd' ? &data : &id) = argv[i + 1];
            i++;
        } else if (argv[i][0] != '-' && lead == NULL) {
            lead = argv[i];
        } else if (argv[i][0] != '-' && type == NULL) {
            type = argv[i];
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (lead == NULL || type == NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }

    json_t *body = json_pack("{s:s, s:s*}", "type", type, "id", id);
    if (body == NULL)
        return CLI_FAIL;
    char *end;
    long long n = strtoll(lead, &end, 10);
    json_object_set_new(body, "lead", *end == '\0' && n > 0 ? json_integer(n) : json_string(lead));
    if (data != NULL) {
        json_error_t jerr;
        json_t *obj = json_loads(data, 0, &jerr);
        if (!json_is_object(obj)) {
            fprintf(stderr, "drumbeat: error: --data: expected a JSON object%s%s\n",
                    obj == NULL ? ": " : "", obj == NULL ? jerr.text : "");
            json_decref(obj);
            json_decref(body);
            return CLI_INVALID;
        }
        json_object_set_new(body, "data", obj);
    }

    json_t *reply = NULL;
    int status = cli_api_request(&common, "POST", "/api/events", body, &reply);
    json_decref(body);
    if (status < 0)
        return CLI_FAIL;
    if (status != 200 && status != 201)
        return cli_api_failed(status, reply);
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        print_reply(status, reply);
    }
    json_decref(reply);
    return CLI_OK;
}
