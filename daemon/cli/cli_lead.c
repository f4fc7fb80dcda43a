/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_lead.c: `drumbeat lead ID|EMAIL` (printed by cli_lead_show.c,
 * raw with --json) and `drumbeat lead stage ID STAGE`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void lead_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat lead ID|EMAIL               show a lead: fields with provenance, owners,\n"
            "                                            stage history and events in time order\n"
            "       drumbeat lead stage ID STAGE [--reason TEXT]\n"
            "                                            move the lead to STAGE; the stage's owner\n"
            "                                            is assigned round-robin from the team\n"
            "       [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
            "Stages: intelligence, prospecting, qualification, closing, customer, lost,\n"
            "disqualified.\n");
}

int cli_lead(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *args[3] = { NULL, NULL, NULL };
    const char *reason = NULL;
    int n = 0;
    char path[1024];

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            lead_usage(stdout);
            return CLI_OK;
        }
        if (strcmp(argv[i], "--reason") == 0 && i + 1 < argc) {
            reason = argv[++i];
            continue;
        }
        if (n == 3) {
            lead_usage(stderr);
            return CLI_USAGE;
        }
        args[n++] = argv[i];
    }
    json_t *req = NULL, *reply = NULL;
    const char *method = "GET";
    if (n == 1 && cli_lead_path(args[0], "", path, sizeof(path)) == 0) {
        /* path set: by id or by email */
    } else if (n == 3 && strcmp(args[0], "stage") == 0 &&
               strspn(args[1], "0123456789") == strlen(args[1])) {
        snprintf(path, sizeof(path), "/api/leads/%s/stage", args[1]);
        method = "POST";
        req = json_pack("{s:s, s:s*}", "stage", args[2], "reason", reason);
    } else {
        lead_usage(stderr);
        return CLI_USAGE;
    }
    int status = cli_api_request(&common, method, path, req, &reply);
    json_decref(req);
    if (status != 200) {
        return cli_api_failed((int)status, reply);
    }
    if (common.json || strcmp(method, "POST") == 0) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        cli_lead_print(reply, stdout);
    }
    json_decref(reply);
    return CLI_OK;
}
