/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_leads.c: managing leads from the command line, each a thin
 * client of the API (api_lead_admin.c):
 *   drumbeat leads [--stage S] [--owner O] [--source NAME] [--limit N] [--json]
 *   drumbeat suppress EMAIL|@DOMAIN [--reason R]
 *   drumbeat unsuppress EMAIL|@DOMAIN --force
 *   drumbeat forget ID|EMAIL
 *   drumbeat export-lead ID|EMAIL
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define COMMON_HELP "       [-c FILE] [--url URL] [--token-file F] [--json]\n"

/* Parses argv: common options, "--name VALUE" options listed in names (their
 * values land in vals), "--force", and at most one positional argument. */
static int parse(int argc, char **argv, struct cli_common *common, const char *const *names,
                 const char **vals, bool *force, const char **arg, const char *usage)
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
        if (force != NULL && strcmp(argv[i], "--force") == 0) {
            *force = true;
            continue;
        }
        bool matched = false;
        for (size_t k = 0; names != NULL && names[k] != NULL; k++) {
            if (strcmp(argv[i], names[k]) == 0 && i + 1 < argc) {
                vals[k] = argv[++i];
                matched = true;
                break;
            }
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

/* Sends the request; prints the reply (raw JSON when asked or when text is
 * NULL); returns an enum cli_exit. */
static int call(const struct cli_common *common, const char *method, const char *path,
                json_t *req, int want, void (*text)(const json_t *reply))
{
    json_t *reply = NULL;
    int status = cli_api_request(common, method, path, req, &reply);
    json_decref(req);
    if (status < 0)
        return CLI_FAIL;
    if (status != want) {
        return cli_api_failed((int)status, reply);
    }
    if (common->json || text == NULL) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        text(reply);
    }
    json_decref(reply);
    return CLI_OK;
}

static void print_list(const json_t *reply)
{
    size_t i;
    json_t *l;
    const json_t *leads = json_object_get(reply, "leads");
    printf("%-6s %-32s %-24s %-14s %-16s %s\n", "ID", "EMAIL", "NAME", "STAGE", "OWNERS",
           "SOURCE");
    json_array_foreach(leads, i, l) {
        char name[128];
        const char *first = json_string_value(json_object_get(l, "first_name"));
        const char *last = json_string_value(json_object_get(l, "last_name"));
        const char *owners = json_string_value(json_object_get(l, "owners"));
        const char *source = json_string_value(json_object_get(l, "source"));
        snprintf(name, sizeof(name), "%s%s%s", first != NULL ? first : "",
                 first != NULL && last != NULL ? " " : "", last != NULL ? last : "");
        printf("%-6lld %-32s %-24s %-14s %-16s %s%s\n",
               (long long)json_integer_value(json_object_get(l, "id")),
               json_is_string(json_object_get(l, "email"))
                   ? json_string_value(json_object_get(l, "email")) : "(no email)", name,
               json_string_value(json_object_get(l, "stage")), owners != NULL ? owners : "-",
               source != NULL ? source : "-",
               json_integer_value(json_object_get(l, "suppressed")) ? "  (suppressed)" : "");
    }
    printf("%zu lead%s\n", json_array_size(leads), json_array_size(leads) == 1 ? "" : "s");
}

/* Appends "&key=value" (value percent-encoded) to the query in buf. */
static void add_query(char *buf, size_t len, const char *key, const char *value)
{
    size_t n = strlen(buf);
    if (value == NULL)
        return;
    n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%c%s=", strchr(buf, '?') ? '&' : '?',
                          key);
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0' && n + 4 < len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p) != NULL)
            buf[n++] = (char)*p;
        else
            n += (size_t)snprintf(buf + n, len - n, "%%%02X", *p);
    }
    buf[n < len ? n : len - 1] = '\0';
}

int cli_leads(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat leads [--stage S] [--owner PERSON] [--source NAME] [--limit N]\n"
        COMMON_HELP;
    static const char *const names[] = { "--stage", "--owner", "--source", "--limit", NULL };
    const char *vals[4] = { NULL, NULL, NULL, NULL };
    struct cli_common common = { 0 };
    char path[1024] = "/api/leads";
    int rc = parse(argc, argv, &common, names, vals, NULL, NULL, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    add_query(path, sizeof(path), "stage", vals[0]);
    add_query(path, sizeof(path), "owner", vals[1]);
    add_query(path, sizeof(path), "source", vals[2]);
    add_query(path, sizeof(path), "limit", vals[3]);
    return call(&common, "GET", path, NULL, 200, print_list);
}

static void print_result(const json_t *reply)
{
    printf("%s\n", json_string_value(json_object_get(reply, "result")));
}

int cli_suppress(int argc, char **argv)
{
    static const char usage[] = "Usage: drumbeat suppress EMAIL|@DOMAIN [--reason TEXT]\n"
                                COMMON_HELP;
    static const char *const names[] = { "--reason", NULL };
    const char *vals[1] = { NULL }, *target = NULL;
    struct cli_common common = { 0 };
    int rc = parse(argc, argv, &common, names, vals, NULL, &target, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (target == NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    return call(&common, "POST", "/api/suppressions",
                json_pack("{s:s, s:s*}", "value", target, "reason", vals[0]), 201, print_result);
}

int cli_unsuppress(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat unsuppress EMAIL|@DOMAIN --force\n"
        "Lifting a suppression lets drumbeat contact them again: --force says you mean it.\n"
        COMMON_HELP;
    const char *target = NULL;
    bool force = false;
    struct cli_common common = { 0 };
    int rc = parse(argc, argv, &common, NULL, NULL, &force, &target, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (target == NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    if (!force) {
        fprintf(stderr, "drumbeat: error: unsuppress %s: lifting a suppression needs --force\n",
                target);
        return CLI_INVALID;
    }
    return call(&common, "POST", "/api/suppressions/delete",
                json_pack("{s:s, s:b}", "value", target, "force", 1), 200, print_result);
}

static void print_forgotten(const json_t *reply)
{
    printf("lead %lld forgotten; its address stays suppressed (hashed)\n",
           (long long)json_integer_value(json_object_get(reply, "lead_id")));
}

/* forget and export-lead: one lead, by id or email. */
static int one_lead(int argc, char **argv, const char *usage, const char *method,
                    const char *suffix, void (*text)(const json_t *reply))
{
    const char *target = NULL;
    struct cli_common common = { 0 };
    char path[128], id_text[32];
    long long id = 0;
    int rc = parse(argc, argv, &common, NULL, NULL, NULL, &target, usage);
    if (rc != CLI_OK)
        return rc < 0 ? CLI_OK : rc;
    if (target == NULL) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    rc = cli_lead_resolve(&common, target, &id);
    if (rc != CLI_OK)
        return rc;
    snprintf(id_text, sizeof(id_text), "%lld", id);
    cli_lead_path(id_text, suffix, path, sizeof(path));
    return call(&common, method, path, NULL, 200, text);
}

int cli_forget(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat forget ID|EMAIL\n"
        "Erases the lead's personal data (GDPR); a hash of the address stays on the\n"
        "suppression list so they are never contacted again.\n" COMMON_HELP;
    return one_lead(argc, argv, usage, "POST", "/forget", print_forgotten);
}

int cli_export_lead(int argc, char **argv)
{
    static const char usage[] =
        "Usage: drumbeat export-lead ID|EMAIL\n"
        "Prints everything held about the lead as JSON (GDPR access request).\n" COMMON_HELP;
    return one_lead(argc, argv, usage, "GET", "/export", NULL);
}
