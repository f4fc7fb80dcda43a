/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_cadence.c: `drumbeat cadence check|pause|resume NAME` and
 * `drumbeat enrollment pause|resume|stop ID`, clients of the launch check
 * and pause routes (api_enrollments.c). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char cadence_usage[] =
    "Usage: drumbeat cadence check NAME [--dns] [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "       drumbeat cadence pause NAME [--until DATE] [common options]\n"
    "       drumbeat cadence resume NAME [common options]\n\n"
    "check   runs the cadence's launch check (enrolling runs it too, and refuses while it\n"
    "        fails): every email template and variant renders for a sample lead; the\n"
    "        unsubscribe link and the postal address are in every email's text; every\n"
    "        mailbox is configured and its channel runs; throttle.new_per_day x the email\n"
    "        steps fits in the mailboxes' daily caps. --dns adds the DNS preflight of\n"
    "        each mailbox's domain (SPF, DMARC, DKIM; as `drumbeat mailbox check`).\n"
    "        Leads need a source and a lawful basis: enrolling refuses those without\n"
    "        (no_source, no_lawful_basis).\n"
    "pause   pauses every active enrollment of the cadence: each keeps its step, and its\n"
    "        unsent touches wait. Leads enrolled while it is paused start paused.\n"
    "        --until DATE (2026-02-01, or an ISO 8601 time with a zone) resumes them by\n"
    "        itself then.\n"
    "resume  resumes the enrollments the cadence pause paused (not those paused one by\n"
    "        one with `drumbeat enrollment pause`).\n\n"
    "Exit status: check: 0 no problem, 2 problems found; others: 0 done, 1 failed,\n"
    "2 rejected (unknown cadence, bad date); 64 usage.\n";

static const char enrollment_usage[] =
    "Usage: drumbeat enrollment pause ID [--until DATE] [-c FILE] [--url URL] [--token-file F]\n"
    "       drumbeat enrollment resume ID [common options]\n"
    "       drumbeat enrollment stop ID [common options]\n\n"
    "pause   the enrollment keeps its step; its unsent touches wait and no new step runs.\n"
    "        --until DATE (2026-02-01, or an ISO 8601 time with a zone) resumes it then.\n"
    "resume  it goes on: a step that came due meanwhile runs at once.\n"
    "stop    ends it (reason manual): its unsent touches are cancelled (reason stopped)\n"
    "        and its open tasks cancelled.\n"
    "IDs are listed by `drumbeat enrollments`.\n"
    "Exit status: 0 done, 1 failed, 2 rejected (unknown or ended enrollment, bad date),\n"
    "64 usage.\n";

void cli_print_problems(const json_t *problems)
{
    size_t i;
    json_t *p;
    json_array_foreach(problems, i, p)
        printf("  %-16s %-28s %s\n", json_string_value(json_object_get(p, "check")),
               json_string_value(json_object_get(p, "where")),
               json_string_value(json_object_get(p, "problem")));
}

struct args {
    struct cli_common common;
    const char *verb, *target, *until;
    bool dns, help;
};

/* Parses VERB TARGET [--until DATE] [--dns] and the common options. */
static int parse(int argc, char **argv, struct args *a, bool allow_dns)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&a->common, &i, argc, argv);
        if (used < 0)
            return -1;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            a->help = true;
        else if (strcmp(argv[i], "--until") == 0 && i + 1 < argc)
            a->until = argv[++i];
        else if (strncmp(argv[i], "--until=", 8) == 0)
            a->until = argv[i] + 8;
        else if (allow_dns && strcmp(argv[i], "--dns") == 0)
            a->dns = true;
        else if (argv[i][0] != '-' && a->verb == NULL)
            a->verb = argv[i];
        else if (argv[i][0] != '-' && a->target == NULL)
            a->target = argv[i];
        else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            return -1;
        }
    }
    return 0;
}

static bool safe_name(const char *s)
{
    return s[0] != '\0' && strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                     "0123456789_.-") == strlen(s);
}

static int cadence_check_cmd(const struct args *a)
{
    char path[300];
    json_t *reply = NULL;
    snprintf(path, sizeof(path), "/api/cadences/%s/check%s", a->target, a->dns ? "?dns=1" : "");
    int status = cli_api_request(&a->common, "GET", path, NULL, &reply);
    if (status != 200)
        return cli_api_failed(status, reply);
    const json_t *problems = json_object_get(reply, "problems");
    size_t n = json_array_size(problems);
    if (a->common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (n == 0) {
        printf("cadence %s: ok, no problems%s\n", a->target,
               a->dns ? "" : " (DNS not checked: add --dns)");
    } else {
        printf("cadence %s: %zu problem%s; enrolling is refused until they are fixed\n",
               a->target, n, n == 1 ? "" : "s");
        cli_print_problems(problems);
    }
    json_decref(reply);
    return n == 0 ? CLI_OK : CLI_INVALID;
}

/* POSTs path with {"until"} when given and prints the outcome. */
static int post_op(const struct args *a, const char *path)
{
    json_t *body = json_object(), *reply = NULL;
    if (a->until != NULL)
        json_object_set_new(body, "until", json_string(a->until));
    int status = cli_api_request(&a->common, "POST", path, body, &reply);
    json_decref(body);
    if (status != 200)
        return cli_api_failed(status, reply);
    if (a->common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (json_object_get(reply, "cadence") != NULL) {
        const char *key = json_object_get(reply, "paused") != NULL ? "paused" : "resumed";
        printf("cadence %s: %lld enrollment%s %s%s%s\n", a->target,
               (long long)json_integer_value(json_object_get(reply, key)),
               json_integer_value(json_object_get(reply, key)) == 1 ? "" : "s", key,
               a->until != NULL ? " until " : "", a->until != NULL ? a->until : "");
    } else {
        printf("enrollment %s: %s%s%s\n", a->target,
               json_string_value(json_object_get(reply, "state")),
               a->until != NULL ? " until " : "", a->until != NULL ? a->until : "");
    }
    json_decref(reply);
    return CLI_OK;
}

int cli_cadence(int argc, char **argv)
{
    struct args a;
    char path[300];
    if (parse(argc, argv, &a, true) < 0) {
        fputs(cadence_usage, stderr);
        return CLI_USAGE;
    }
    if (a.help) {
        fputs(cadence_usage, stdout);
        return CLI_OK;
    }
    bool check = a.verb != NULL && strcmp(a.verb, "check") == 0;
    bool pause = a.verb != NULL && strcmp(a.verb, "pause") == 0;
    bool resume = a.verb != NULL && strcmp(a.verb, "resume") == 0;
    if ((!check && !pause && !resume) || a.target == NULL || !safe_name(a.target) ||
        (a.until != NULL && !pause) || (a.dns && !check)) {
        fputs(cadence_usage, stderr);
        return CLI_USAGE;
    }
    if (check)
        return cadence_check_cmd(&a);
    snprintf(path, sizeof(path), "/api/cadences/%s/%s", a.target, a.verb);
    return post_op(&a, path);
}

int cli_enrollment(int argc, char **argv)
{
    struct args a;
    char path[300];
    if (parse(argc, argv, &a, false) < 0) {
        fputs(enrollment_usage, stderr);
        return CLI_USAGE;
    }
    if (a.help) {
        fputs(enrollment_usage, stdout);
        return CLI_OK;
    }
    bool ok_verb = a.verb != NULL && (strcmp(a.verb, "pause") == 0 ||
                                      strcmp(a.verb, "resume") == 0 ||
                                      strcmp(a.verb, "stop") == 0);
    char *end = NULL;
    long long id = a.target != NULL ? strtoll(a.target, &end, 10) : 0;
    if (!ok_verb || a.target == NULL || *end != '\0' || id <= 0 ||
        (a.until != NULL && strcmp(a.verb, "pause") != 0)) {
        fputs(enrollment_usage, stderr);
        return CLI_USAGE;
    }
    snprintf(path, sizeof(path), "/api/enrollments/%lld/%s", id, a.verb);
    return post_op(&a, path);
}
