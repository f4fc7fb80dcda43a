/* SPDX-License-Identifier: MIT */
/* plugins/enrich_csv/enrich_csv.c: an enricher that fills lead fields from a
 * local CSV file (a firmographics list) keyed by domain or email address.
 * The file is loaded once at init into a hash table (csv_table.c); enrich
 * looks the lead up there and answers with the row's mapped values, a value
 * that is entirely an integer becoming a JSON integer so ICP ranges work on
 * it. The answer is known at once, but the ABI forbids completing from
 * inside enrich(): the completion rides a no-op host->queue_work whose
 * after() calls enrich_done on the next loop turn.
 *
 * Options: file (required), key ("domain" or "email"), key_column, map,
 * delimiter. See README.md.
 *
 * Ownership: struct ec is ours from init to fini (the table with it); the
 * settings belong to the host until fini; each struct ec_job is ours from
 * enrich until its after(), which hands the attrs to the host.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <drumbeat/plugin.h>

#include "csv_table.h"

struct ec_settings {
    const char *file;
    const char *key;
    const char *key_column;
    const char *map;
    const char *delimiter;
};

static const struct drumbeat_option ec_options[] = {
    { "file", DRUMBEAT_OPT_PATH, NULL, DRUMBEAT_OPT_REQUIRED,
      offsetof(struct ec_settings, file), "The CSV file (with a header line) to read at start-up" },
    { "key", DRUMBEAT_OPT_STRING, "domain", 0, offsetof(struct ec_settings, key),
      "What rows are keyed by: \"domain\" or \"email\"" },
    { "key_column", DRUMBEAT_OPT_STRING, NULL, 0, offsetof(struct ec_settings, key_column),
      "The header of the key column (default: the key's name)" },
    { "map", DRUMBEAT_OPT_STRING, NULL, 0, offsetof(struct ec_settings, map),
      "\"csvcol=field,...\" (default: every other column under its header name)" },
    { "delimiter", DRUMBEAT_OPT_STRING, NULL, 0, offsetof(struct ec_settings, delimiter),
      "\",\", \";\" or \"tab\" (default: detected from the header line)" },
    { 0 },
};

struct ec {
    const struct drumbeat_host *host;
    struct drumbeat_instance *inst;
    enum csv_key_kind kind;
    struct csv_table *table;
};

struct ec_job {
    struct ec *ec;
    struct drumbeat_op *op;
    json_t *attrs;              /* NULL: no row */
};

static const char *lead_str(const json_t *lead, const char *key)
{
    const char *s = json_string_value(json_object_get(lead, key));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The lead's key, as the table's rows are keyed: its domain field (else its
 * address's domain) for key=domain, its address for key=email. */
static const char *lead_key(const struct ec *ec, const json_t *lead)
{
    const char *email = lead_str(lead, "email"), *at;

    if (ec->kind == CSV_KEY_EMAIL)
        return email;
    if (lead_str(lead, "domain") != NULL)
        return lead_str(lead, "domain");
    if (email != NULL && (at = strrchr(email, '@')) != NULL && at[1] != '\0')
        return at + 1;
    return NULL;
}

/* "2000" and "-5" are numbers; "00501" (a ZIP code), "+1 555", "1e3" and
 * "12.5" stay text: only what reads back the same becomes an integer. */
static bool as_integer(const char *s, json_int_t *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    size_t n = strlen(d);

    if (n == 0 || n > 18 || (d[0] == '0' && n > 1) || strspn(d, "0123456789") != n)
        return false;
    *out = (json_int_t)strtoll(s, NULL, 10);
    return true;
}

static json_t *row_attrs(const struct ec *ec, const char *const *vals)
{
    const char *const *fields = csv_table_fields(ec->table);
    json_t *attrs = json_object();
    json_int_t i64;

    if (attrs == NULL)
        return NULL;
    for (size_t i = 0; fields[i] != NULL; i++) {
        if (vals[i] == NULL)
            continue;
        json_object_set_new(attrs, fields[i], as_integer(vals[i], &i64)
                            ? json_integer(i64) : json_string(vals[i]));
    }
    if (json_object_size(attrs) == 0) {
        json_decref(attrs);
        return NULL;
    }
    return attrs;
}

static void ec_noop(void *arg)
{
    (void)arg;
}

/* On the loop thread: the answer was known at enrich time; even when the
 * threadpool cancelled the no-op (shutdown) it is still right. */
static void ec_after(void *arg, int status)
{
    struct ec_job *job = arg;
    struct drumbeat_result res = {
        .outcome = DRUMBEAT_DONE,
        .detail = job->attrs != NULL ? "row found" : "no row for this lead",
    };

    (void)status;
    job->ec->host->enrich_done(job->op, &res, job->attrs);
    free(job);
}

static int ec_enrich(void *state, const json_t *lead, struct drumbeat_op *op)
{
    struct ec *ec = state;
    struct ec_job *job = calloc(1, sizeof(*job));
    const char *key = lead_key(ec, lead);
    const char *const *vals = key != NULL ? csv_table_find(ec->table, key) : NULL;
    int rc;

    if (job == NULL)
        return -ENOMEM;
    job->ec = ec;
    job->op = op;
    job->attrs = vals != NULL ? row_attrs(ec, vals) : NULL;
    rc = ec->host->queue_work(ec->inst, ec_noop, ec_after, job);
    if (rc < 0) {
        json_decref(job->attrs);
        free(job);
    }
    return rc;
}

static const char *const *ec_provides(void *state)
{
    struct ec *ec = state;
    return csv_table_fields(ec->table);
}

/* A local lookup needs no cache; a lead without a key needs no op. */
static int ec_cache_key(void *state, const json_t *lead, char *buf, size_t cap)
{
    struct ec *ec = state;
    char k[512];
    const char *key = lead_key(ec, lead);

    (void)buf;
    (void)cap;
    if (key == NULL || csv_key_normalize(ec->kind, key, k, sizeof(k)) == 0)
        return -ENOENT;
    return -EAGAIN;
}

static void ec_warn(void *arg, const char *msg)
{
    struct ec *ec = arg;
    ec->host->log(ec->inst, DRUMBEAT_LOG_WARN, "%s", msg);
}

static int ec_delim(const char *d)
{
    if (d == NULL)
        return 0;
    if (strcmp(d, ",") == 0 || strcmp(d, ";") == 0 || strcmp(d, "\t") == 0)
        return d[0];
    if (strcmp(d, "tab") == 0 || strcmp(d, "\\t") == 0)
        return '\t';
    return -1;
}

static int ec_init(const struct drumbeat_host *host, struct drumbeat_instance *inst,
                   const void *settings, void **state)
{
    const struct ec_settings *set = settings;
    struct errbuf err = { 0 };
    char file[512];
    struct csv_table_opts o = { .path = set->file, .map = set->map };
    struct ec *ec;
    int rc;

    if (strcmp(set->key, "domain") != 0 && strcmp(set->key, "email") != 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad option\" option=key "
                  "error=\"expected \\\"domain\\\" or \\\"email\\\", got \\\"%s\\\"\"", set->key);
        return -EINVAL;
    }
    if ((o.delim = ec_delim(set->delimiter)) < 0) {
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"bad option\" option=delimiter "
                  "error=\"expected \\\",\\\", \\\";\\\" or \\\"tab\\\", got \\\"%s\\\"\"",
                  set->delimiter);
        return -EINVAL;
    }
    o.kind = strcmp(set->key, "email") == 0 ? CSV_KEY_EMAIL : CSV_KEY_DOMAIN;
    o.key_column = set->key_column != NULL ? set->key_column : set->key;
    if ((ec = calloc(1, sizeof(*ec))) == NULL)
        return -ENOMEM;
    ec->host = host;
    ec->inst = inst;
    ec->kind = o.kind;
    rc = csv_table_load(&o, ec_warn, ec, &ec->table, &err);
    csv_log_escape(set->file, file, sizeof(file));
    if (rc < 0) {
        char what[1024];
        csv_log_escape(err.what, what, sizeof(what));
        host->log(inst, DRUMBEAT_LOG_ERROR, "msg=\"cannot load the CSV file\" file=\"%s\" "
                  "where=\"%s\" error=\"%s\"", file, err.where, what);
        free(ec);
        return rc;
    }
    host->log(inst, DRUMBEAT_LOG_INFO, "msg=\"loaded\" file=\"%s\" rows=%zu fields=%zu",
              file, csv_table_rows(ec->table), csv_table_nfields(ec->table));
    *state = ec;
    return 0;
}

static void ec_fini(void *state)
{
    struct ec *ec = state;
    csv_table_free(ec->table);
    free(ec);
}

static const struct drumbeat_enricher_ops ec_ops = {
    .enrich = ec_enrich,
    .provides = ec_provides,
    .cache_key = ec_cache_key,
};

const struct drumbeat_plugin drumbeat_plugin = {
    DRUMBEAT_PLUGIN_HEADER,
    .kind = DRUMBEAT_KIND_ENRICHER,
    .name = "enrich_csv",
    .version = "1.0.0",
    .options = ec_options,
    .settings_size = sizeof(struct ec_settings),
    .init = ec_init,
    .fini = ec_fini,
    .enricher = &ec_ops,
};
