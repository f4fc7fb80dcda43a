/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_enrich.c: `drumbeat enrich`, a client of POST and GET
 * /api/enrichments (api_enrich.c): queues leads for the enrichment
 * waterfall and, with --wait, waits until the queue has drained and prints
 * what each enricher did.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static const char usage[] =
    "Usage: drumbeat enrich (--lead ID|EMAIL ... | [--stage S] [--missing FIELD] [--limit N]\n"
    "                       | --all) [--wait [--timeout SECONDS]]\n"
    "       drumbeat enrich --wait            wait for what is queued already\n"
    "                       [-c FILE] [--url URL] [--token-file F] [--json]\n"
    "Queues leads for the enrichers (in the order of the config's \"enrichers\"; each runs only\n"
    "for fields still missing, and never overwrites a value that is set). --stage and\n"
    "--missing select the leads of a stage and/or those whose FIELD (a lead field or a free\n"
    "attribute) is empty, at most --limit of them; --all selects every lead. Suppressed\n"
    "leads are never queued. Imports queue their leads themselves when the config says\n"
    "\"enrichment\": {\"after_import\": true} (or with drumbeat import --enrich).\n"
    "--wait returns once every queued lead has been through the waterfall (leads waiting for\n"
    "a retry count as queued) and prints each enricher's calls, cache hits and failures.\n"
    "Exit status: 0 done, 1 failed or timed out, 2 rejected by the daemon, 64 usage.\n";

static void print_status(const json_t *st)
{
    size_t i;
    json_t *e;
    printf("%-20s %8s %10s %8s %8s %9s\n", "ENRICHER", "CALLS", "CACHE HITS", "FOUND",
           "RETRIES", "FAILURES");
    json_array_foreach(json_object_get(st, "enrichers"), i, e)
        printf("%-20s %8lld %10lld %8lld %8lld %9lld\n",
               json_string_value(json_object_get(e, "name")),
               (long long)json_integer_value(json_object_get(e, "calls")),
               (long long)json_integer_value(json_object_get(e, "cache_hits")),
               (long long)json_integer_value(json_object_get(e, "found")),
               (long long)json_integer_value(json_object_get(e, "retries")),
               (long long)json_integer_value(json_object_get(e, "failures")));
}

static int wait_drained(const struct cli_common *common, double timeout_s)
{
    struct timespec start, now, nap = { 0, 100 * 1000 * 1000 };
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        json_t *st = NULL;
        int status = cli_api_request(common, "GET", "/api/enrichments", NULL, &st);
        if (status != 200)
            return cli_api_failed(status, st);
        if (json_integer_value(json_object_get(st, "queued")) == 0 &&
            json_integer_value(json_object_get(st, "running")) == 0) {
            if (common->json) {
                json_dumpf(st, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                printf("\n");
            } else {
                print_status(st);
            }
            json_decref(st);
            return CLI_OK;
        }
        json_decref(st);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) +
            (double)(now.tv_nsec - start.tv_nsec) / 1e9 > timeout_s) {
            fprintf(stderr, "drumbeat: error: leads still queued after %.0f s "
                    "(`drumbeat enrich --wait` again to keep waiting)\n", timeout_s);
            return CLI_FAIL;
        }
        nanosleep(&nap, NULL);
    }
}

int cli_enrich(int argc, char **argv)
{
    struct cli_common common = { 0 };
    json_t *body = json_object(), *leads = json_array(), *reply = NULL;
    bool wait = false, all = false;
    double timeout_s = 300;
    int rc = CLI_USAGE;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (used < 0)
            goto out;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            rc = CLI_OK;
            goto out;
        } else if (strcmp(argv[i], "--wait") == 0) {
            wait = true;
        } else if (strcmp(argv[i], "--all") == 0) {
            all = true;
        } else if (next != NULL && strcmp(argv[i], "--lead") == 0) {
            char *end;
            long long id = strtoll(next, &end, 10);
            json_array_append_new(leads, *end == '\0' && id > 0 ? json_integer(id)
                                                              : json_string(next));
            i++;
        } else if (next != NULL && (strcmp(argv[i], "--stage") == 0 ||
                                    strcmp(argv[i], "--missing") == 0)) {
            json_object_set_new(body, argv[i] + 2, json_string(next));
            i++;
        } else if (next != NULL && strcmp(argv[i], "--limit") == 0) {
            char *end;
            long long n = strtoll(next, &end, 10);
            if (*end != '\0' || n < 1) {
                fprintf(stderr, "drumbeat: error: --limit: expected a positive integer\n");
                goto out;
            }
            json_object_set_new(body, "limit", json_integer(n));
            i++;
        } else if (next != NULL && strcmp(argv[i], "--timeout") == 0) {
            timeout_s = strtod(next, NULL);
            i++;
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(usage, stderr);
            goto out;
        }
    }
    if (json_array_size(leads) > 0)
        json_object_set(body, "leads", leads);
    if (json_object_size(body) == 0 && !all) {
        if (wait) {
            rc = wait_drained(&common, timeout_s);
            goto out;
        }
        fprintf(stderr, "drumbeat: error: say which leads: --lead, --stage, --missing or --all\n");
        fputs(usage, stderr);
        goto out;
    }
    int status = cli_api_request(&common, "POST", "/api/enrichments", body, &reply);
    if (status != 202) {
        rc = cli_api_failed(status, reply);
        reply = NULL;
        goto out;
    }
    if (common.json && !wait) {
        json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else if (!common.json) {
        printf("queued %lld lead(s) for enrichment\n",
               (long long)json_integer_value(json_object_get(reply, "queued")));
    }
    rc = wait ? wait_drained(&common, timeout_s) : CLI_OK;
out:
    json_decref(reply);
    json_decref(body);
    json_decref(leads);
    return rc;
}
