/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_lead_show.c: what `drumbeat lead` prints for a person: the
 * lead's fields with where each came from (attrs._provenance, else the
 * lead's import source), its owners, stage history and event log in time
 * order. Also finds the API path of a lead given as an ID or an email.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_lead_path(const char *id_or_email, const char *suffix, char *path, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n;
    if (id_or_email == NULL || *id_or_email == '\0')
        return -1;
    if (strspn(id_or_email, "0123456789") == strlen(id_or_email)) {
        n = (size_t)snprintf(path, len, "/api/leads/%s%s", id_or_email, suffix);
        return n < len ? 0 : -1;
    }
    if (strchr(id_or_email, '@') == NULL)
        return -1;
    /* Percent-encode all but unreserved characters and '@'. */
    n = (size_t)snprintf(path, len, "/api/leads/by-email/");
    for (const unsigned char *p = (const unsigned char *)id_or_email; *p != '\0'; p++) {
        if (n + 4 >= len)
            return -1;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~@", *p) != NULL) {
            path[n++] = (char)*p;
        } else {
            path[n++] = '%';
            path[n++] = hex[*p >> 4];
            path[n++] = hex[*p & 15];
        }
    }
    path[n] = '\0';
    if (*suffix != '\0')
        return -1;      /* by-email has no sub-resources: resolve the id first */
    return 0;
}

int cli_lead_resolve(const struct cli_common *common, const char *id_or_email, long long *id)
{
    char path[1024];
    json_t *reply = NULL;
    if (cli_lead_path(id_or_email, "", path, sizeof(path)) < 0) {
        fprintf(stderr, "drumbeat: error: %s: expected a lead id or an email address\n",
                id_or_email);
        return CLI_USAGE;
    }
    int status = cli_api_request(common, "GET", path, NULL, &reply);
    if (status != 200) {
        return cli_api_failed((int)status, reply);
    }
    *id = (long long)json_integer_value(json_object_get(reply, "id"));
    json_decref(reply);
    return CLI_OK;
}

static const char *when(const json_t *ms, char *buf, size_t len)
{
    time_t t = (time_t)(json_integer_value(ms) / 1000);
    struct tm tm;
    if (!json_is_integer(ms) || gmtime_r(&t, &tm) == NULL)
        return "-";
    strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
    return buf;
}

static const char *str(const json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return s != NULL ? s : "";
}

static int by_id(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "id"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "id"));
    return x < y ? -1 : x > y;
}

static const char *const shown_fields[] = {
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country",
    "timezone", "linkedin", "email_status", "source", "lawful_basis", NULL,
};

/* "import LIST", "enricher firmographics (enrich_csv, firmo.csv)", or
 * "given" for a value that came with no record of its origin. */
static const char *origin(const json_t *p, const char *lead_source, char *buf, size_t len)
{
    if (p == NULL) {
        snprintf(buf, len, "%s%s", *lead_source ? "import " : "given", lead_source);
    } else if (strcmp(str(p, "by"), "enricher") == 0) {
        const char *src = str(p, "source");
        bool own = *src == '\0' || strcmp(src, str(p, "instance")) == 0;
        snprintf(buf, len, "enricher %s (%s%s%s)", str(p, "instance"), str(p, "plugin"),
                 own ? "" : ", ", own ? "" : src);
    } else {
        snprintf(buf, len, "%s%s%s", str(p, "by"), *str(p, "source") ? " " : "", str(p, "source"));
    }
    return buf;
}

static void print_fields(const json_t *lead, FILE *out)
{
    const json_t *attrs = json_object_get(lead, "attrs");
    const json_t *prov = json_object_get(attrs, "_provenance");
    const char *source = str(lead, "source");
    char from[200];
    fprintf(out, "Fields:\n");
    for (size_t i = 0; shown_fields[i] != NULL; i++) {
        const json_t *v = json_object_get(lead, shown_fields[i]);
        if (!json_is_string(v) || *json_string_value(v) == '\0')
            continue;
        fprintf(out, "  %-14s %-36s (from %s)\n", shown_fields[i], json_string_value(v),
                origin(json_object_get(prov, shown_fields[i]), source, from, sizeof(from)));
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)attrs, key, v) {
        if (key[0] == '_')
            continue;
        char *text = json_is_string(v) ? strdup(json_string_value(v))
                   : json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
        fprintf(out, "  %-14s %-36s (from %s)\n", key, text != NULL ? text : "?",
                origin(json_object_get(prov, key), source, from, sizeof(from)));
        free(text);
    }
    const json_t *flags = json_object_get(attrs, "_flags");
    if (json_object_size(flags) > 0) {
        fprintf(out, "  flags         ");
        json_object_foreach((json_t *)flags, key, v)
            fprintf(out, " %s", key);
        fprintf(out, "\n");
    }
}

void cli_lead_print(const json_t *lead, FILE *out)
{
    char t[40];
    const json_t *score = json_object_get(lead, "icp_score");
    fprintf(out, "Lead %lld  %s\n", (long long)json_integer_value(json_object_get(lead, "id")),
            str(lead, "email"));
    fprintf(out, "  stage: %s", str(lead, "stage"));
    if (json_is_number(score))
        fprintf(out, "   score: %g", json_number_value(score));
    fprintf(out, "   suppressed: %s   created: %s\n",
            json_integer_value(json_object_get(lead, "suppressed")) ? "yes" : "no",
            when(json_object_get(lead, "created_at"), t, sizeof(t)));
    const char *key;
    json_t *v;
    fprintf(out, "  owners:");
    if (json_object_size(json_object_get(lead, "owners")) == 0)
        fprintf(out, " none");
    json_object_foreach(json_object_get(lead, "owners"), key, v)
        fprintf(out, " %s=%s", key, json_string_value(v));
    fprintf(out, "\n");
    print_fields(lead, out);

    size_t i;
    const json_t *icp = json_object_get(lead, "icp");
    const json_t *breakdown = json_object_get(icp, "breakdown");
    if (breakdown == NULL)
        breakdown = icp;
    if (json_is_object(breakdown)) {
        fprintf(out, "ICP score %g of threshold %g (%s):\n",
                json_number_value(json_object_get(breakdown, "score")),
                json_number_value(json_object_get(breakdown, "threshold")),
                json_is_true(json_object_get(breakdown, "qualified")) ? "qualified" : "not qualified");
        json_array_foreach(json_object_get(breakdown, "rules"), i, v)
            fprintf(out, "  %s %-24s %+g  %s\n",
                    json_is_true(json_object_get(v, "matched")) ? "+" : "-", str(v, "rule"),
                    json_number_value(json_object_get(v, "points")), str(v, "why"));
    }

    fprintf(out, "Stage and owner history:\n");
    json_array_foreach(json_object_get(lead, "stage_history"), i, v)
        fprintf(out, "  %s  %s -> %s  owner=%s  by %s%s%s  %s\n",
                when(json_object_get(v, "at"), t, sizeof(t)),
                *str(v, "from_stage") ? str(v, "from_stage") : "(new)", str(v, "to_stage"),
                *str(v, "owner") ? str(v, "owner") : "-", str(v, "actor_kind"),
                *str(v, "actor") ? ":" : "", str(v, "actor"), str(v, "reason"));

    /* The API lists events newest first; people read a history oldest first. */
    const json_t *events = json_object_get(lead, "events");
    size_t n = json_array_size(events);
    json_t **sorted = n > 0 ? calloc(n, sizeof(*sorted)) : NULL;
    fprintf(out, "Events:\n");
    for (i = 0; sorted != NULL && i < n; i++)
        sorted[i] = json_array_get(events, i);
    if (sorted != NULL)
        qsort(sorted, n, sizeof(*sorted), by_id);
    for (i = 0; sorted != NULL && i < n; i++) {
        char *data = json_dumps(json_object_get(sorted[i], "data"),
                                JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        fprintf(out, "  %s  %-16s by %s%s%s  %s\n",
                when(json_object_get(sorted[i], "at"), t, sizeof(t)), str(sorted[i], "type"),
                str(sorted[i], "actor_kind"), *str(sorted[i], "actor") ? ":" : "",
                str(sorted[i], "actor"), data != NULL ? data : "");
        free(data);
    }
    free(sorted);
}
