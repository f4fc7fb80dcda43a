/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_status.c: `drumbeat status`: asks the running daemon for
 * GET /api/status and prints a summary a person can read at a glance
 * (version and uptime, the store and its touches by state, listeners,
 * plugins with their errors), or the raw JSON with --json.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void status_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat status [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
            "Shows the running daemon: version and uptime, the store (backend, path,\n"
            "schema, leads, touches by state), the listeners and the plugin instances\n"
            "with their state and last error. --json prints the daemon's reply as is.\n"
            "Exit status: 0 ok, 1 the daemon could not be reached or refused, 64 usage.\n");
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "?";
}

static long long num(const json_t *obj, const char *key)
{
    return (long long)json_integer_value(json_object_get(obj, key));
}

static void print_uptime(long long s)
{
    if (s >= 86400)
        printf("%lldd %lldh %lldm", s / 86400, s % 86400 / 3600, s % 3600 / 60);
    else if (s >= 3600)
        printf("%lldh %lldm %llds", s / 3600, s % 3600 / 60, s % 60);
    else if (s >= 60)
        printf("%lldm %llds", s / 60, s % 60);
    else
        printf("%llds", s);
}

static void print_store(const json_t *st, const json_t *touches)
{
    if (!json_is_object(st)) {
        printf("store:      not open\n");
        return;
    }
    printf("store:      %s %s (schema %lld)\n", str(st, "backend"), str(st, "path"),
           num(st, "schema_version"));
    printf("            %lld leads, %lld events, %lld open tasks, %lld suppressed, "
           "%lld bytes on disk\n",
           num(st, "leads"), num(st, "events"), num(st, "tasks_open"), num(st, "suppressed"),
           num(st, "file_bytes"));
    printf("touches:   ");
    const char *key;
    json_t *v;
    int shown = 0;
    json_object_foreach((json_t *)touches, key, v) {
        if (json_integer_value(v) == 0)
            continue;
        printf("%s %s %lld", shown++ ? "," : "", key, (long long)json_integer_value(v));
    }
    printf("%s\n", shown ? "" : " none");
    long long doubt = num(touches, "in_doubt");
    if (doubt > 0)
        printf("            %lld in doubt: may or may not have gone out; decide with\n"
               "            'drumbeat touch list --state in_doubt' then resend or drop\n",
               doubt);
}

static void print_summary(const json_t *s)
{
    printf("drumbeatd:  %s, up ", str(s, "version"));
    print_uptime(num(s, "uptime_s"));
    if (json_is_true(json_object_get(s, "test_clock")))
        printf(", TEST CLOCK at %s", str(s, "now"));
    printf("\n");
    print_store(json_object_get(s, "store"), json_object_get(s, "touches"));

    size_t i;
    json_t *it;
    printf("listeners: ");
    json_array_foreach(json_object_get(s, "listeners"), i, it) {
        const char *addr = str(it, "address");
        printf("%s %s %s%s%s:%lld", i ? "," : "", str(it, "name"), strchr(addr, ':') ? "[" : "",
               addr, strchr(addr, ':') ? "]" : "", num(it, "port"));
    }
    printf("\n");

    const json_t *plugins = json_object_get(s, "plugins");
    if (json_array_size(plugins) == 0)
        printf("plugins:    none configured\n");
    json_array_foreach(plugins, i, it) {
        const char *err = json_string_value(json_object_get(it, "error"));
        printf("%s %-14s %-20s %s%s%s\n", i == 0 ? "plugins:   " : "           ",
               str(it, "name"), str(it, "plugin"), str(it, "state"),
               err != NULL && *err != '\0' ? ": " : "", err != NULL ? err : "");
    }
    printf("reloads:    %lld (%lld rejected)\n", num(s, "reloads"), num(s, "reload_failures"));
}

int cli_status(int argc, char **argv)
{
    struct cli_common common = { 0 };
    json_t *reply = NULL;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            status_usage(stdout);
            return CLI_OK;
        }
        fprintf(stderr, "drumbeat status: unexpected argument \"%s\"\n", argv[i]);
        status_usage(stderr);
        return CLI_USAGE;
    }
    int status = cli_api_request(&common, "GET", "/api/status", NULL, &reply);
    if (status < 0)
        return CLI_FAIL;
    if (status != 200 || !json_is_object(reply)) {
        cli_print_api_error(status, reply);
        json_decref(reply);
        return CLI_FAIL;
    }
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        print_summary(reply);
    }
    json_decref(reply);
    return CLI_OK;
}
