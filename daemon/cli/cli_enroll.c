/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_enroll.c: `drumbeat enroll` and `drumbeat enrollments`,
 * clients of POST and GET /api/enrollments (api_cadences.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char enroll_usage[] =
    "Usage: drumbeat enroll --cadence NAME (--lead ID|EMAIL ... | --stage S [--limit N])\n"
    "                       [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Starts leads on a cadence (its current version; they stay on that version when the\n"
    "file changes). Each lead is enrolled, from the least loaded of the cadence's\n"
    "mailboxes that are not paused (drumbeat mailbox pause), or refused with the\n"
    "reason: suppressed, unsubscribed, bounced,\n"
    "no_lawful_basis, no_source, already_enrolled, cooldown, company_cap,\n"
    "customer_domain, cadence_max_active. A cadence that fails its launch check\n"
    "(drumbeat cadence check) takes no leads: its problems are printed, exit 2.\n"
    "Leads enrolled into a paused cadence (drumbeat cadence pause) start paused and\n"
    "resume with it.\n"
    "Exit status: 0 (even when some were refused), 1 failed, 2 rejected, 64 usage.\n";

static const char list_usage[] =
    "Usage: drumbeat enrollments [--cadence NAME] [--lead ID] [-c FILE] [--url URL]\n"
    "                            [--token-file F] [--json]\n"
    "Lists enrollments: cadence and version, state, current step, mailbox.\n";

int cli_enroll(int argc, char **argv)
{
    struct cli_common common = { 0 };
    json_t *body = json_object(), *leads = json_array(), *reply = NULL;
    int rc = CLI_USAGE;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (used < 0)
            goto out;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(enroll_usage, stdout);
            rc = CLI_OK;
            goto out;
        } else if (next != NULL && strcmp(argv[i], "--lead") == 0) {
            char *end;
            long long id = strtoll(next, &end, 10);
            json_array_append_new(leads, *end == '\0' && id > 0 ? json_integer(id)
                                                              : json_string(next));
            i++;
        } else if (next != NULL && (strcmp(argv[i], "--cadence") == 0 ||
                                    strcmp(argv[i], "--stage") == 0)) {
            json_object_set_new(body, argv[i] + 2, json_string(next));
            i++;
        } else if (next != NULL && strcmp(argv[i], "--limit") == 0) {
            json_object_set_new(body, "limit", json_integer(atoll(next)));
            i++;
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(enroll_usage, stderr);
            goto out;
        }
    }
    if (json_object_get(body, "cadence") == NULL ||
        (json_array_size(leads) == 0) == (json_object_get(body, "stage") == NULL)) {
        fputs(enroll_usage, stderr);
        goto out;
    }
    if (json_array_size(leads) > 0)
        json_object_set(body, "leads", leads);
    int status = cli_api_request(&common, "POST", "/api/enrollments", body, &reply);
    if (status == 409 && json_is_array(json_object_get(reply, "problems"))) {
        /* The launch check failed: say what to fix (drumbeat cadence check). */
        cli_print_api_error(status, reply);
        cli_print_problems(json_object_get(reply, "problems"));
        rc = CLI_INVALID;
        goto out;
    }
    if (status != 200) {
        rc = cli_api_failed(status, reply);
        reply = NULL;
        goto out;
    }
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        size_t i;
        json_t *r;
        json_array_foreach(json_object_get(reply, "results"), i, r) {
            const char *why = json_string_value(json_object_get(r, "refused"));
            if (why != NULL)
                printf("lead %lld: refused (%s)\n",
                       (long long)json_integer_value(json_object_get(r, "lead_id")), why);
            else
                printf("lead %lld: enrolled as %lld, from mailbox %s%s\n",
                       (long long)json_integer_value(json_object_get(r, "lead_id")),
                       (long long)json_integer_value(json_object_get(r, "enrollment_id")),
                       json_string_value(json_object_get(r, "mailbox")),
                       json_is_string(json_object_get(r, "state")) &&
                       strcmp(json_string_value(json_object_get(r, "state")), "paused") == 0
                           ? " (paused with the cadence)" : "");
        }
        printf("%lld enrolled\n", (long long)json_integer_value(json_object_get(reply, "enrolled")));
    }
    rc = CLI_OK;
out:
    json_decref(reply);
    json_decref(body);
    json_decref(leads);
    return rc;
}

int cli_enrollments(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *cadence = NULL, *lead = NULL;
    json_t *reply = NULL;
    char path[512] = "/api/enrollments";

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(list_usage, stdout);
            return CLI_OK;
        } else if (i + 1 < argc && strcmp(argv[i], "--cadence") == 0) {
            cadence = argv[++i];
        } else if (i + 1 < argc && strcmp(argv[i], "--lead") == 0) {
            lead = argv[++i];
        } else {
            fputs(list_usage, stderr);
            return CLI_USAGE;
        }
    }
    if (cadence != NULL && strspn(cadence, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                  "0123456789_.-") != strlen(cadence)) {
        fprintf(stderr, "drumbeat: error: --cadence: expected a cadence name\n");
        return CLI_USAGE;
    }
    snprintf(path, sizeof(path), "/api/enrollments?%s%s%s%lld", cadence ? "cadence=" : "",
             cadence ? cadence : "", "&lead=", lead != NULL ? atoll(lead) : 0LL);
    int status = cli_api_request(&common, "GET", path, NULL, &reply);
    if (status != 200)
        return cli_api_failed(status, reply);
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        size_t i;
        json_t *e;
        printf("%-6s %-6s %-20s %-4s %-10s %-5s %s\n", "ID", "LEAD", "CADENCE", "VER", "STATE",
               "STEP", "MAILBOX");
        json_array_foreach(json_object_get(reply, "enrollments"), i, e)
            printf("%-6lld %-6lld %-20s %-4lld %-10s %-5lld %s\n",
                   (long long)json_integer_value(json_object_get(e, "id")),
                   (long long)json_integer_value(json_object_get(e, "lead_id")),
                   json_string_value(json_object_get(e, "cadence")),
                   (long long)json_integer_value(json_object_get(e, "version")),
                   json_string_value(json_object_get(e, "state")),
                   (long long)json_integer_value(json_object_get(e, "step")) + 1,
                   json_is_string(json_object_get(e, "mailbox"))
                       ? json_string_value(json_object_get(e, "mailbox")) : "-");
    }
    json_decref(reply);
    return CLI_OK;
}
