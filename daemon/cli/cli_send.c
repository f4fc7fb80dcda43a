/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_send.c: `drumbeat send`: queue one email touch to a lead
 * through the running daemon and wait for its outcome. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "touch_state.h"

static void send_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat send --to EMAIL --subject TEXT (--text TEXT | --text-file FILE)\n"
            "                     [--first-name N] [--last-name N] [--company C]\n"
            "                     [--mailbox NAME] [--channel NAME] [--wait SECONDS]\n"
            "                     [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
            "Creates the lead if it is new, queues one email touch to it through the\n"
            "mailbox's channel (default: the first mailbox), and waits up to --wait\n"
            "seconds (default 10; 0 does not wait) for the touch to reach a named state.\n"
            "Exit status: 0 sent (or queued, with --wait 0), 1 not sent, 2 invalid input.\n");
}

static char *read_file(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf != NULL && (n = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *grown = realloc(buf, cap * 2);
            if (grown == NULL) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(fp);
    if (buf != NULL)
        buf[len] = '\0';
    return buf;
}

/* Polls the touch until it leaves scheduled/sending or the wait runs out. */
static int send_wait(const struct cli_common *common, long long id, int seconds)
{
    char path[64];
    struct timespec pause = { 0, 100 * 1000 * 1000 };
    snprintf(path, sizeof(path), "/api/touches/%lld", id);
    for (int i = 0; i <= seconds * 10; i++) {
        json_t *touch = NULL;
        int status = cli_api_request(common, "GET", path, NULL, &touch);
        if (status != 200) {
            cli_print_api_error(status, touch);
            json_decref(touch);
            return CLI_FAIL;
        }
        const char *state = json_string_value(json_object_get(touch, "state"));
        if (state != NULL && strcmp(state, "scheduled") != 0 && strcmp(state, "sending") != 0) {
            const char *reason = json_string_value(json_object_get(touch, "reason"));
            json_int_t code = json_integer_value(json_object_get(touch, "code"));
            printf("touch %lld: %s", id, state);
            if (code != 0)
                printf(" (code %lld)", (long long)code);
            if (reason != NULL)
                printf(" reason=%s", reason);
            printf("\n");
            int rc = strcmp(state, "sent") == 0 ? CLI_OK : CLI_FAIL;
            json_decref(touch);
            return rc;
        }
        json_decref(touch);
        nanosleep(&pause, NULL);
    }
    printf("touch %lld: still pending after %d s (see `drumbeat touch show %lld`)\n", id,
           seconds, id);
    return CLI_FAIL;
}

int cli_send(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *to = NULL, *subject = NULL, *text = NULL, *text_file = NULL, *first = NULL;
    const char *last = NULL, *company = NULL, *mailbox = NULL, *channel = NULL;
    int wait = 10;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        const char *a = argv[i];
        const char **slot = NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            send_usage(stdout);
            return CLI_OK;
        }
        if (strcmp(a, "--to") == 0) slot = &to;
        else if (strcmp(a, "--subject") == 0) slot = &subject;
        else if (strcmp(a, "--text") == 0) slot = &text;
        else if (strcmp(a, "--text-file") == 0) slot = &text_file;
        else if (strcmp(a, "--first-name") == 0) slot = &first;
        else if (strcmp(a, "--last-name") == 0) slot = &last;
        else if (strcmp(a, "--company") == 0) slot = &company;
        else if (strcmp(a, "--mailbox") == 0) slot = &mailbox;
        else if (strcmp(a, "--channel") == 0) slot = &channel;
        else if (strcmp(a, "--wait") == 0 && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end != '\0' || v < 0 || v > 3600) {
                fprintf(stderr, "drumbeat send: --wait: expected seconds 0..3600\n");
                return CLI_USAGE;
            }
            wait = (int)v;
            continue;
        }
        if (slot == NULL || i + 1 >= argc) {
            fprintf(stderr, "drumbeat send: unknown or incomplete option '%s'\n", a);
            send_usage(stderr);
            return CLI_USAGE;
        }
        *slot = argv[++i];
    }
    if (to == NULL || subject == NULL || (text == NULL) == (text_file == NULL)) {
        fprintf(stderr, "drumbeat send: --to, --subject and one of --text/--text-file are required\n");
        send_usage(stderr);
        return CLI_USAGE;
    }
    char *body_text = NULL;
    if (text_file != NULL && (body_text = read_file(text_file)) == NULL) {
        fprintf(stderr, "drumbeat send: cannot read %s\n", text_file);
        return CLI_INVALID;
    }
    json_t *req = json_pack("{s:{s:s, s:s*, s:s*, s:s*}, s:s, s:s, s:s*, s:s*}",
                            "lead", "email", to, "first_name", first, "last_name", last,
                            "company", company, "subject", subject,
                            "text", body_text != NULL ? body_text : text,
                            "mailbox", mailbox, "channel", channel);
    free(body_text);
    if (req == NULL) {
        fprintf(stderr, "drumbeat send: the text must be UTF-8\n");
        return CLI_INVALID;
    }
    json_t *reply = NULL;
    int status = cli_api_request(&common, "POST", "/api/touches", req, &reply);
    json_decref(req);
    if (status != 201) {
        return cli_api_failed((int)status, reply);
    }
    long long id = (long long)json_integer_value(json_object_get(reply, "touch_id"));
    if (common.json)
        json_dumpf(reply, stdout, JSON_COMPACT), printf("\n");
    else
        printf("touch %lld: queued for lead %lld\n", id,
               (long long)json_integer_value(json_object_get(reply, "lead_id")));
    json_decref(reply);
    return wait > 0 ? send_wait(&common, id, wait) : CLI_OK;
}
