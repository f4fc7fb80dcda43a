/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_preview.c: `drumbeat preview --lead ID|EMAIL --cadence NAME
 * [--step N]`, a client of GET /api/preview (api_review.c): prints the exact
 * message (headers and body, CRLF) that the step would send, rendered by the
 * sequencer's own code; nothing is sent or changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
    "Usage: drumbeat preview --lead ID|EMAIL --cadence NAME [--step N]\n"
    "                        [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Prints the exact message (headers and body) that email step N (1-based; default:\n"
    "the cadence's first email step) would send to the lead, built by the same code\n"
    "the cadence runs. A lead enrolled in the cadence gets its own version, mailbox,\n"
    "Message-ID and thread, and the Date of its next step; otherwise the current\n"
    "version, the cadence's first mailbox and a preview Message-ID. Nothing is sent\n"
    "and nothing is changed.\n"
    "Exit status: 0 printed, 1 failed, 2 the step would be skipped (the reason is on\n"
    "stderr: \"missing first_name\", \"address_guessed\"...) or is not an email step,\n"
    "64 usage.\n";

/* Appends text percent-encoded (RFC 3986 unreserved kept) to buf. */
static void url_append(char *buf, size_t len, const char *text)
{
    size_t n = strlen(buf);
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0' && n + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL)
            buf[n++] = (char)*p;
        else
            n += (size_t)snprintf(buf + n, len - n, "%%%02X", *p);
    }
    buf[n] = '\0';
}

int cli_preview(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *lead = NULL, *cadence = NULL, *step = NULL;
    char path[2048] = "/api/preview?lead=";
    json_t *reply = NULL;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CLI_OK;
        } else if (next != NULL && strcmp(argv[i], "--lead") == 0) {
            lead = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--cadence") == 0) {
            cadence = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--step") == 0) {
            step = argv[++i];
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    char *end = NULL;
    long n = step != NULL ? strtol(step, &end, 10) : 1;
    if (step != NULL && (end == step || *end != '\0' || n < 1)) {
        fprintf(stderr, "drumbeat: error: --step: expected a step number from 1\n");
        return CLI_USAGE;
    }
    if (lead == NULL || cadence == NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    url_append(path, sizeof(path), lead);
    strncat(path, "&cadence=", sizeof(path) - strlen(path) - 1);
    url_append(path, sizeof(path), cadence);
    if (step != NULL) {
        strncat(path, "&step=", sizeof(path) - strlen(path) - 1);
        url_append(path, sizeof(path), step);
    }
    int status = cli_api_request(&common, "GET", path, NULL, &reply);
    if (status != 200)
        return cli_api_failed(status, reply);
    int rc = CLI_OK;
    const char *skipped = json_string_value(json_object_get(reply, "skipped"));
    const json_t *msg = json_object_get(reply, "message");
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (skipped != NULL) {
        const json_t *st = json_object_get(reply, "step");
        fprintf(stderr, "drumbeat: step %lld (%s) would be skipped: %s\n",
                (long long)json_integer_value(json_object_get(st, "number")),
                json_string_value(json_object_get(st, "name")), skipped);
        rc = CLI_INVALID;
    } else if (json_is_string(msg)) {
        size_t len = json_string_length(msg);
        if (fwrite(json_string_value(msg), 1, len, stdout) != len || fflush(stdout) != 0) {
            fprintf(stderr, "drumbeat: preview: cannot write the message\n");
            rc = CLI_FAIL;
        }
    }
    json_decref(reply);
    return rc;
}
