/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_calls.c: a prospector's call list and logging a call, as
 * thin clients of the API (api_calls.c):
 *   drumbeat calls [--owner PERSON|*] [--date YYYY-MM-DD] [--json]
 *   drumbeat log-call ID|EMAIL --outcome OUTCOME [--notes TEXT]
 * The list is printed in calling order, each entry with what the caller
 * needs before dialling: the lead's local time, the phone (also as a tel:
 * URI, which most softphones open), the last emails' subjects, the last
 * notes and the start of the call script.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define COMMON_HELP "       [-c FILE] [--url URL] [--token-file F] [--json]\n"
#define SCRIPT_LINES 3

/* Common options, the "--name VALUE" options in names (values into vals),
 * and at most one positional argument (when arg is not NULL). -1 after
 * --help, else an enum cli_exit. */
static int parse(int argc, char **argv, struct cli_common *common, const char *const *names,
                 const char **vals, const char **arg, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return -1;
        }
        bool matched = false;
        for (size_t k = 0; names[k] != NULL; k++) {
            size_t len = strlen(names[k]);
            if (strcmp(argv[i], names[k]) == 0 && i + 1 < argc) {
                vals[k] = argv[++i];
                matched = true;
            } else if (strncmp(argv[i], names[k], len) == 0 && argv[i][len] == '=') {
                vals[k] = argv[i] + len + 1;
                matched = true;
            }
            if (matched)
                break;
        }
        if (matched)
            continue;
        if (argv[i][0] == '-' || arg == NULL || *arg != NULL) {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(usage, stderr);
            return CLI_USAGE;
        }
        *arg = argv[i];
    }
    return CLI_OK;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

static const char *day_of(const json_t *ms, char *buf, size_t len)
{
    time_t t = (time_t)(json_integer_value(ms) / 1000);
    struct tm tm;
    if (!json_is_integer(ms) || gmtime_r(&t, &tm) == NULL)
        return "-";
    strftime(buf, len, "%Y-%m-%d", &tm);
    return buf;
}

/* Prints up to max lines of text, the first after label, the others
 * indented under it; one line of text per line of output. */
static void print_lines(const char *label, const char *text, int max)
{
    int n = 0;
    while (text != NULL && *text != '\0' && n < max) {
        size_t len = strcspn(text, "\r\n");
        if (len > 0 || n > 0) {
            printf("    %-8s %.*s\n", n == 0 ? label : "", (int)len, text);
            n++;
        }
        text += len;
        text += strspn(text, "\r\n");
    }
    if (text != NULL && *text != '\0')
        printf("    %-8s ...\n", "");
}

static void print_call(size_t i, const json_t *c)
{
    char name[256], when[16];
    size_t k;
    json_t *e;
    const json_t *callable = json_object_get(c, "callable_now");
    const char *title = str(c, "lead_title"), *company = str(c, "company");
    const char *task_title = str(c, "title");

    snprintf(name, sizeof(name), "%s%s%s", str(c, "first_name"),
             *str(c, "first_name") != '\0' ? " " : "", str(c, "last_name"));
    printf("%2zu. P%lld  %s  %s\n", i + 1, (long long)json_integer_value(json_object_get(c, "priority")),
           json_is_string(json_object_get(c, "local_time")) ? str(c, "local_time")
                                                            : "local time unknown",
           json_is_true(callable) ? "callable now"
           : json_is_false(callable) ? "outside business hours" : "");
    printf("    %s%s%s%s%s   (lead %lld, task %lld)\n", *name != '\0' ? name : str(c, "email"),
           *title != '\0' ? ", " : "", title, *company != '\0' ? " at " : "", company,
           (long long)json_integer_value(json_object_get(c, "lead_id")),
           (long long)json_integer_value(json_object_get(c, "id")));
    if (*task_title != '\0')
        printf("    %-8s %s\n", "task", task_title);
    if (*str(c, "phone") != '\0')
        printf("    %-8s %s%s%s\n", "phone", str(c, "phone"),
               json_is_string(json_object_get(c, "tel")) ? "  " : "", str(c, "tel"));
    else
        printf("    %-8s (none)\n", "phone");
    json_array_foreach(json_object_get(c, "last_emails"), k, e)
        printf("    %-8s \"%s\" (%s)\n", k == 0 ? "emails" : "", str(e, "subject"),
               day_of(json_object_get(e, "sent_at"), when, sizeof(when)));
    json_array_foreach(json_object_get(c, "notes"), k, e)
        print_lines(k == 0 ? "notes" : "", str(e, "body"), 1);
    print_lines("script", str(c, "script"), SCRIPT_LINES);
    printf("\n");
}

static void print_list(const json_t *reply)
{
    size_t i;
    json_t *c;
    const json_t *calls = json_object_get(reply, "calls");
    const char *owner = json_string_value(json_object_get(reply, "owner"));
    printf("Calls for %s, due by the end of %s: %zu\n\n", owner != NULL ? owner : "everyone",
           str(reply, "date"), json_array_size(calls));
    json_array_foreach(calls, i, c)
        print_call(i, c);
}

/* Appends "&key=value" (value percent-encoded) to the query in buf. */
static void add_query(char *buf, size_t len, const char *key, const char *value)
{
    size_t n = strlen(buf);
    if (value == NULL || n + 1 >= len)
        return;
    n += (size_t)snprintf(buf + n, len - n, "%c%s=", strchr(buf, '?') ? '&' : '?', key);
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0' && n + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL)
            buf[n++] = (char)*p;
        else
            n += (size_t)snprintf(buf + n, len - n, "%%%02X", *p);
    }
    buf[n < len ? n : len - 1] = '\0';
}

/* Sends the request and prints the reply (raw JSON with --json). */
static int call(const struct cli_common *common, const char *method, const char *path,
                json_t *req, void (*text)(const json_t *reply))
{
    json_t *reply = NULL;
    int status = cli_api_request(common, method, path, req, &reply);
    json_decref(req);
    if (status < 0)
        return CLI_FAIL;
    if (status != 200)
        return cli_api_failed(status, reply);
    if (common->json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        text(reply);
    }
    json_decref(reply);
    return CLI_OK;
}

int cli_calls(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat calls [--owner PERSON] [--date YYYY-MM-DD]\n" COMMON_HELP
        "Lists the open call tasks due by the end of the day (UTC; default today),\n"
        "in calling order: priority, then leads for whom it is business hours now.\n"
        "Without --owner, your own list; an admin may name anyone, or '*' for all.\n";
    static const char *const names[] = { "--owner", "--date", NULL };
    const char *vals[2] = { NULL, NULL };
    struct cli_common common = { 0 };
    char path[512] = "/api/calls";
    int rc = parse(argc, argv, &common, names, vals, NULL, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    add_query(path, sizeof(path), "owner", vals[0]);
    add_query(path, sizeof(path), "date", vals[1]);
    return call(&common, "GET", path, NULL, print_list);
}

static void print_logged(const json_t *reply)
{
    printf("call logged for lead %lld: %s (task %lld closed)\n",
           (long long)json_integer_value(json_object_get(reply, "lead_id")), str(reply, "outcome"),
           (long long)json_integer_value(json_object_get(reply, "task_id")));
}

int cli_log_call(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat log-call ID|EMAIL --outcome OUTCOME [--notes TEXT]\n" COMMON_HELP
        "Closes the lead's open call task with its outcome, one of: connected, no-answer,\n"
        "voicemail, meeting-booked, not-interested, wrong-person, bad-number.\n"
        "meeting-booked ends the lead's cadence and moves it to qualification.\n";
    static const char *const names[] = { "--outcome", "--notes", NULL };
    const char *vals[2] = { NULL, NULL }, *target = NULL;
    struct cli_common common = { 0 };
    char path[128];
    long long id = 0;
    int rc = parse(argc, argv, &common, names, vals, &target, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (target == NULL || vals[0] == NULL) {
        fprintf(stderr, "drumbeat: error: log-call needs a lead and --outcome\n");
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    rc = cli_lead_resolve(&common, target, &id);
    if (rc != CLI_OK)
        return rc;
    snprintf(path, sizeof(path), "/api/leads/%lld/log-call", id);
    return call(&common, "POST", path,
                json_pack("{s:s, s:s*}", "outcome", vals[0], "notes", vals[1]), print_logged);
}
