/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_review.c: `drumbeat review [show|approve|reject|edit ID]`,
 * a client of /api/review (api_review.c): the emails of `review: true` steps
 * that wait for a person. edit opens $EDITOR (default vi) on the whole raw
 * message, in a private temporary file, and sends the edited text back; the
 * daemon checks it still parses with the same Message-ID and To. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
    "Usage: drumbeat review [list]          the emails waiting for a person\n"
    "       drumbeat review show ID         print one's message (headers and body)\n"
    "       drumbeat review approve ID      send it: due now, or at the lead's next\n"
    "                                       window (its due time if still ahead)\n"
    "       drumbeat review reject ID       skip it (rejected_in_review); the cadence\n"
    "                                       goes on to its next step\n"
    "       drumbeat review edit ID         edit the raw message in $EDITOR (default\n"
    "                                       vi); keep its Message-ID and To; it still\n"
    "                                       needs approve\n"
    "  [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Exit status: 0 done, 1 failed, 2 rejected (unknown touch, no longer waiting,\n"
    "an edit that does not parse), 64 usage.\n";

static int print_list(const json_t *reply)
{
    size_t i;
    json_t *t;
    printf("%-6s %-28s %-16s %-4s %s\n", "ID", "LEAD", "CADENCE", "STEP", "SUBJECT");
    json_array_foreach(json_object_get(reply, "review"), i, t) {
        const char *to = json_string_value(json_object_get(t, "recipient"));
        char lead[64];
        if (to != NULL)
            snprintf(lead, sizeof(lead), "%s", to);
        else
            snprintf(lead, sizeof(lead), "%lld",
                     (long long)json_integer_value(json_object_get(t, "lead_id")));
        const char *cad = json_string_value(json_object_get(t, "cadence"));
        const char *subject = json_string_value(json_object_get(t, "subject"));
        printf("%-6lld %-28s %-16s %-4lld %s\n",
               (long long)json_integer_value(json_object_get(t, "id")), lead,
               cad != NULL ? cad : "-",
               (long long)json_integer_value(json_object_get(t, "step")) + 1,
               subject != NULL ? subject : "");
    }
    if (json_array_size(json_object_get(reply, "review")) == 0)
        printf("(nothing waits for review)\n");
    return CLI_OK;
}

/* Writes text (CRLF made LF, for the editor) to a new private file. */
static int write_temp(const char *text, char *path, size_t len)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, len, "%s/drumbeat-review-XXXXXX.eml", dir != NULL && *dir ? dir : "/tmp");
    int fd = mkstemps(path, 4);
    if (fd < 0)
        return -errno;
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        close(fd);
        return -errno;
    }
    for (const char *p = text; *p != '\0'; p++)
        if (!(p[0] == '\r' && p[1] == '\n'))
            fputc(*p, f);
    return fclose(f) == 0 ? 0 : -EIO;
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0;
    *len = 0;
    if (f == NULL)
        return NULL;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            char *n = realloc(buf, cap = cap * 2 + 8192);
            if (n == NULL)
                break;
            buf = n;
        }
        size_t got = fread(buf + *len, 1, cap - *len - 1, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    if (buf != NULL)
        buf[*len] = '\0';
    return buf;
}

/* Runs ${EDITOR:-vi} on path through the shell (EDITOR may carry options). */
static int run_editor(const char *path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execlp("sh", "sh", "-c", "exec ${EDITOR:-vi} \"$1\"", "sh", path, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -ECHILD;
}

static int edit(const struct cli_common *common, const char *id, const json_t *shown)
{
    const char *msg = json_string_value(json_object_get(shown, "message"));
    char path[4096], api[128];
    size_t len = 0;
    json_t *reply = NULL;
    if (msg == NULL) {
        fprintf(stderr, "drumbeat: error: touch %s has no message to edit\n", id);
        return CLI_INVALID;
    }
    int rc = write_temp(msg, path, sizeof(path));
    if (rc < 0) {
        fprintf(stderr, "drumbeat: error: cannot write a temporary file: %s\n", strerror(-rc));
        return CLI_FAIL;
    }
    char *before = read_all(path, &len), *after = NULL;
    size_t blen = len;
    if (run_editor(path) < 0) {
        fprintf(stderr, "drumbeat: error: the editor failed; nothing changed\n");
        rc = CLI_FAIL;
        goto out;
    }
    after = read_all(path, &len);
    if (after == NULL || before == NULL) {
        fprintf(stderr, "drumbeat: error: cannot read %s back\n", path);
        rc = CLI_FAIL;
        goto out;
    }
    if (len == blen && memcmp(before, after, len) == 0) {
        printf("touch %s: unchanged\n", id);
        rc = CLI_OK;
        goto out;
    }
    json_t *text = json_stringn(after, len);
    if (text == NULL) {
        fprintf(stderr, "drumbeat: error: the edited message is not UTF-8 text; nothing "
                        "changed\n");
        rc = CLI_INVALID;
        goto out;
    }
    json_t *body = json_pack("{s:o}", "message", text);
    snprintf(api, sizeof(api), "/api/review/%s", id);
    int status = cli_api_request(common, "PUT", api, body, &reply);
    json_decref(body);
    if (status != 200) {
        rc = cli_api_failed(status, reply);
        fprintf(stderr, "  (your edit is kept in %s)\n", path);
        free(before);
        free(after);
        return rc;
    }
    json_decref(reply);
    printf("touch %s: edited; send it with: drumbeat review approve %s\n", id, id);
    rc = CLI_OK;
out:
    unlink(path);
    free(before);
    free(after);
    return rc;
}

int cli_review(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *verb = NULL, *id = NULL;
    json_t *reply = NULL;
    char path[128];

    int done = cli_verb_args(argc, argv, usage, &common, &verb, &id);
    if (done >= 0)
        return done;
    if (verb == NULL || strcmp(verb, "list") == 0) {
        if (id != NULL) {
            fputs(usage, stderr);
            return CLI_USAGE;
        }
        int status = cli_api_request(&common, "GET", "/api/review", NULL, &reply);
        if (status != 200)
            return cli_api_failed(status, reply);
        int rc = common.json ? (json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS),
                                printf("\n"), CLI_OK)
                             : print_list(reply);
        json_decref(reply);
        return rc;
    }
    bool known = strcmp(verb, "show") == 0 || strcmp(verb, "approve") == 0 ||
                 strcmp(verb, "reject") == 0 || strcmp(verb, "edit") == 0;
    if (!known || id == NULL || strspn(id, "0123456789") != strlen(id) || atoll(id) <= 0) {
        fprintf(stderr, "drumbeat: error: %s\n", !known ? "unknown review command"
                        : "expected a touch ID (a number)");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    bool get = strcmp(verb, "show") == 0 || strcmp(verb, "edit") == 0;
    if (get)
        snprintf(path, sizeof(path), "/api/review/%s", id);
    else
        snprintf(path, sizeof(path), "/api/review/%s/%s", id, verb);
    json_t *empty = get ? NULL : json_object();
    int status = cli_api_request(&common, get ? "GET" : "POST", path, empty, &reply);
    json_decref(empty);
    if (status != 200)
        return cli_api_failed(status, reply);
    int rc = CLI_OK;
    if (strcmp(verb, "edit") == 0) {
        rc = edit(&common, id, reply);
    } else if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (get) {
        const char *msg = json_string_value(json_object_get(reply, "message"));
        fputs(msg != NULL ? msg : "", stdout);
    } else {
        printf("touch %s: %s\n", id, json_string_value(json_object_get(reply, "state")));
    }
    json_decref(reply);
    return rc;
}
