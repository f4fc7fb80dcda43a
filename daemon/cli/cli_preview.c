/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_preview.c: `drumbeat preview --lead ID|EMAIL --cadence NAME
 * [--step N]`, a client of GET /api/preview (api_review.c): prints the exact
 * message (headers and body, CRLF) that the step would send, rendered by the
 * sequencer's own code; nothing is sent or changed. With --send-to ADDR, a
 * client of POST /api/preview/send (api_preview_send.c): that message goes
 * to ADDR as a test through the real mailbox, and the command waits for the
 * outcome as `drumbeat send` does. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "Usage: drumbeat preview --lead ID|EMAIL --cadence NAME [--step N]\n"
    "                        [--send-to ADDR [--wait SECONDS]]\n"
    "                        [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Prints the exact message (headers and body) that email step N (1-based; default:\n"
    "the cadence's first email step) would send to the lead, built by the same code\n"
    "the cadence runs. A lead enrolled in the cadence gets its own version, mailbox,\n"
    "Message-ID and thread, and the Date of its next step; otherwise the current\n"
    "version, the cadence's first mailbox and a preview Message-ID. Nothing is sent\n"
    "and nothing is changed (but see --send-to).\n"
    "--send-to ADDR sends that message as a test to ADDR (your own address) through\n"
    "the real mailbox: To is ADDR, the Subject starts with \"[TEST] \", the Message-ID\n"
    "is its own, it carries \"X-Drumbeat-Test: preview\" and no List-Unsubscribe. It\n"
    "counts toward the mailbox's caps and changes no lead state. The command waits\n"
    "up to --wait seconds (default 10; 0 does not wait) for the outcome and prints\n"
    "\"test sent to ADDR as touch N\".\n"
    "Exit status: 0 printed, 1 failed, 2 the step would be skipped (the reason is on\n"
    "stderr: \"missing first_name\", \"address_guessed\"...) or is not an email step,\n"
    "64 usage. With --send-to: 0 sent (or queued, with --wait 0), 1 not sent, 2 invalid\n"
    "input or a step that would be skipped.\n";

/* Polls test touch id until it leaves scheduled/sending or the wait runs out. */
static int test_wait(const struct cli_common *common, const char *to, long long id, int seconds)
{
    char path[64];
    struct timespec pause = { 0, 100 * 1000 * 1000 };
    snprintf(path, sizeof(path), "/api/touches/%lld", id);
    for (int i = 0; i <= seconds * 10; i++) {
        json_t *touch = NULL;
        int status = cli_api_request(common, "GET", path, NULL, &touch);
        if (status != 200) {
            cli_api_failed(status, touch);
            return CLI_FAIL;
        }
        const char *state = json_string_value(json_object_get(touch, "state"));
        if (state != NULL && strcmp(state, "scheduled") != 0 && strcmp(state, "sending") != 0) {
            int rc = CLI_OK;
            if (strcmp(state, "sent") == 0) {
                printf("test sent to %s as touch %lld\n", to, id);
            } else {
                const char *reason = json_string_value(json_object_get(touch, "reason"));
                json_int_t code = json_integer_value(json_object_get(touch, "code"));
                printf("test to %s: touch %lld: %s", to, id, state);
                if (code != 0)
                    printf(" (code %lld)", (long long)code);
                if (reason != NULL)
                    printf(" reason=%s", reason);
                printf("\n");
                rc = CLI_FAIL;
            }
            json_decref(touch);
            return rc;
        }
        json_decref(touch);
        nanosleep(&pause, NULL);
    }
    printf("test to %s: touch %lld still pending after %d s (see `drumbeat touch show %lld`)\n",
           to, id, seconds, id);
    return CLI_FAIL;
}

/* POST /api/preview/send, then the wait. */
static int send_test(const struct cli_common *common, const char *lead, const char *cadence,
                     long step, bool has_step, const char *to, int wait)
{
    json_t *reply = NULL, *req = json_pack("{s:s, s:s, s:s}", "lead", lead, "cadence", cadence,
                                           "to", to);
    if (req != NULL && has_step)
        json_object_set_new(req, "step", json_integer(step));
    if (req == NULL) {
        fprintf(stderr, "drumbeat: out of memory\n");
        return CLI_FAIL;
    }
    int status = cli_api_request(common, "POST", "/api/preview/send", req, &reply);
    json_decref(req);
    if (status != 201)
        return cli_api_failed(status, reply);
    long long id = (long long)json_integer_value(json_object_get(reply, "touch_id"));
    if (common->json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    }
    json_decref(reply);
    if (wait == 0) {
        printf("test to %s queued as touch %lld\n", to, id);
        return CLI_OK;
    }
    return test_wait(common, to, id, wait);
}

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
    const char *lead = NULL, *cadence = NULL, *step = NULL, *send_to = NULL, *wait = NULL;
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
        } else if (next != NULL && strcmp(argv[i], "--send-to") == 0) {
            send_to = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--wait") == 0) {
            wait = argv[++i];
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
    if (lead == NULL || cadence == NULL || (wait != NULL && send_to == NULL)) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (send_to != NULL) {
        long w = wait != NULL ? strtol(wait, &end, 10) : 10;
        if (wait != NULL && (end == wait || *end != '\0' || w < 0 || w > 3600)) {
            fprintf(stderr, "drumbeat: error: --wait: expected seconds 0..3600\n");
            return CLI_USAGE;
        }
        return send_test(&common, lead, cadence, n, step != NULL, send_to, (int)w);
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
