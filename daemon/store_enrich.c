/* SPDX-License-Identifier: MIT */
/* daemon/store_enrich.c: the store's side of enrichment (enrich.h): the
 * durable queue of leads waiting for the waterfall, each enricher's answer
 * cache, and applying what an enricher found to a lead.
 *
 * Applying only ever fills: a column or free attribute that is empty gets
 * the value, one that holds anything (a person's edit, an import, an earlier
 * enricher) keeps it. email_status is the one field that is "filled" over a
 * value: an enricher's finding replaces only "unknown" and "syntax_ok",
 * which are what import alone can say. Every value set is recorded in
 * attrs._provenance with the plugin, the instance, the source and the time.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The columns `enrich --missing` may test, as literal WHERE clauses. */
static const struct {
    const char *name;
    const char *sql;
} missing_sql[] = {
#define MISSING(col) { #col, "INSERT INTO enrich_queue (lead_id, queued_at, not_before)" \
    " SELECT id, ?1, ?1 FROM leads WHERE (" #col " IS NULL OR " #col " = '')" \
    " AND (?2 IS NULL OR stage = ?2) AND suppressed = 0 ORDER BY id LIMIT ?3" \
    " ON CONFLICT (lead_id) DO NOTHING" }
    MISSING(email), MISSING(first_name), MISSING(last_name), MISSING(company),
    MISSING(domain), MISSING(title), MISSING(phone), MISSING(country), MISSING(timezone),
    MISSING(linkedin),
#undef MISSING
};

bool store_enrich_field_is_column(const char *field)
{
    for (size_t i = 0; i < sizeof(missing_sql) / sizeof(missing_sql[0]); i++)
        if (strcmp(missing_sql[i].name, field) == 0)
            return true;
    return strcmp(field, "email_status") == 0;
}

/* ---- the queue ---- */

struct queue_req {
    int64_t *ids;
    size_t n_ids;
    const char *stage, *missing;
    int64_t limit;
};

static void queue_cleanup(struct store_req *req)
{
    struct queue_req *m = req->priv;
    free(m->ids);
    free(m);                     /* the private block itself, as the default cleanup would */
}

static int queue_run(struct store *st, struct store_req *req)
{
    struct queue_req *m = req->priv;
    const char *sql = NULL;
    sqlite3_stmt *s;
    int rc;
    int64_t queued = 0;

    if (m->n_ids > 0) {
        rc = store_stmt(&st->wr, "INSERT INTO enrich_queue (lead_id, queued_at, not_before)"
                        " SELECT id, ?1, ?1 FROM leads WHERE id = ?2"
                        " ON CONFLICT (lead_id) DO NOTHING", &s);
        if (rc < 0)
            return rc;
        for (size_t i = 0; i < m->n_ids; i++) {
            sqlite3_bind_int64(s, 1, req->now);
            sqlite3_bind_int64(s, 2, m->ids[i]);
            if ((rc = store_stmt_done(&st->wr, s)) < 0)
                return rc;
            queued += sqlite3_changes(st->wr.db);
        }
        req->id = queued;
        return 0;
    }
    if (m->missing != NULL) {
        for (size_t i = 0; i < sizeof(missing_sql) / sizeof(missing_sql[0]); i++)
            if (strcmp(missing_sql[i].name, m->missing) == 0)
                sql = missing_sql[i].sql;
        if (sql == NULL)              /* a free attribute */
            sql = "INSERT INTO enrich_queue (lead_id, queued_at, not_before)"
                  " SELECT id, ?1, ?1 FROM leads WHERE coalesce(json_extract(attrs, '$.\"'"
                  " || replace(?4, '\"', '') || '\"'), '') = ''"
                  " AND (?2 IS NULL OR stage = ?2) AND suppressed = 0 ORDER BY id LIMIT ?3"
                  " ON CONFLICT (lead_id) DO NOTHING";
    } else {
        sql = "INSERT INTO enrich_queue (lead_id, queued_at, not_before)"
              " SELECT id, ?1, ?1 FROM leads WHERE (?2 IS NULL OR stage = ?2)"
              " AND suppressed = 0 ORDER BY id LIMIT ?3 ON CONFLICT (lead_id) DO NOTHING";
    }
    if ((rc = store_stmt(&st->wr, sql, &s)) < 0)
        return rc;
    sqlite3_bind_int64(s, 1, req->now);
    store_bind_text(s, 2, m->stage);
    sqlite3_bind_int64(s, 3, m->limit > 0 ? m->limit : -1);
    if (sqlite3_bind_parameter_count(s) >= 4)
        store_bind_text(s, 4, m->missing);
    rc = store_stmt_done(&st->wr, s);
    if (rc == 0)
        req->id = sqlite3_changes(st->wr.db);
    return rc;
}

int store_enrich_queue(struct store *st, const struct store_enrich_select *sel,
                       const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (sel == NULL || (sel->n_ids > 0 && sel->ids == NULL) ||
        (sel->missing != NULL && (*sel->missing == '\0' || strlen(sel->missing) > 64)))
        return -EINVAL;
    struct store_req *req = store_req_new_priv(queue_run, actor, cb, arg,
                                               sizeof(struct queue_req));
    if (req == NULL)
        return -ENOMEM;
    struct queue_req *m = req->priv;
    req->cleanup = queue_cleanup;
    if (sel->n_ids > 0) {
        m->ids = malloc(sel->n_ids * sizeof(*m->ids));
        if (m->ids == NULL) {
            store_req_free(req);
            return -ENOMEM;
        }
        memcpy(m->ids, sel->ids, sel->n_ids * sizeof(*m->ids));
        m->n_ids = sel->n_ids;
    }
    m->stage = store_req_dup(req, sel->stage);
    m->missing = store_req_dup(req, sel->missing);
    m->limit = sel->limit;
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_enrich_due(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                     int64_t *next_at)
{
    return store_rd_due_ids(st, "SELECT lead_id, not_before FROM enrich_queue"
                            " ORDER BY not_before, lead_id LIMIT ?1", now, ids, cap, n, next_at);
}

int store_enrich_queued(struct store *st, int64_t *n)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT count(*) FROM enrich_queue", &s);
    if (rc < 0)
        return rc;
    *n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return 0;
}

struct finish_req {
    int64_t lead_id, retry_at;
    const char *error;
};

static int finish_run(struct store *st, struct store_req *req)
{
    struct finish_req *m = req->priv;
    sqlite3_stmt *s;
    int rc;
    if (m->retry_at == 0)
        rc = store_stmt(&st->wr, "DELETE FROM enrich_queue WHERE lead_id = ?1", &s);
    else
        rc = store_stmt(&st->wr, "UPDATE enrich_queue SET not_before = ?2,"
                        " attempts = attempts + 1, last_error = ?3 WHERE lead_id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->lead_id);
    if (m->retry_at != 0) {
        sqlite3_bind_int64(s, 2, m->retry_at);
        store_bind_text(s, 3, m->error);
    }
    return store_stmt_done(&st->wr, s);
}

int store_enrich_finish(struct store *st, int64_t lead_id, int64_t retry_at, const char *error,
                        store_done_cb cb, void *arg)
{
    struct store_req *req = store_req_new_priv(finish_run, NULL, cb, arg,
                                               sizeof(struct finish_req));
    if (req == NULL)
        return -ENOMEM;
    struct finish_req *m = req->priv;
    m->lead_id = lead_id;
    m->retry_at = retry_at;
    m->error = store_req_dup(req, error);
    req->id = lead_id;
    return store_writer_submit(st, req);
}

int store_enrich_attempts(struct store *st, int64_t lead_id, int *attempts)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT attempts FROM enrich_queue WHERE lead_id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    rc = sqlite3_step(s);
    *attempts = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

/* ---- the answer cache ---- */

int store_enrich_cache_get(struct store *st, const char *instance, const char *key,
                           int64_t now, json_t **answer)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT answer FROM enrich_cache WHERE instance = ?1"
                        " AND key = ?2 AND expires_at > ?3", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, instance);
    store_bind_text(s, 2, key);
    sqlite3_bind_int64(s, 3, now);
    *answer = NULL;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const char *text = (const char *)sqlite3_column_text(s, 0);
        if (text != NULL)
            *answer = json_loads(text, 0, NULL);
        rc = text != NULL && *answer == NULL ? -EBADMSG : 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}

struct cache_req {
    const char *instance, *key, *answer;
    int64_t expires_at;
};

static int cache_put_run(struct store *st, struct store_req *req)
{
    struct cache_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "INSERT INTO enrich_cache (instance, key, answer, expires_at)"
                        " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (instance, key) DO UPDATE SET"
                        " answer = excluded.answer, expires_at = excluded.expires_at", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->instance);
    store_bind_text(s, 2, m->key);
    store_bind_text(s, 3, m->answer);
    sqlite3_bind_int64(s, 4, m->expires_at);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    /* Expired answers go a few at a time, so the table never grows unbounded. */
    rc = store_stmt(&st->wr, "DELETE FROM enrich_cache WHERE (instance, key) IN"
                        " (SELECT instance, key FROM enrich_cache WHERE expires_at <= ?1"
                        " LIMIT 16)", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, req->now);
    return store_stmt_done(&st->wr, s);
}

int store_enrich_cache_put(struct store *st, const char *instance, const char *key,
                           const json_t *answer, int64_t expires_at, store_done_cb cb,
                           void *arg)
{
    struct store_req *req = store_req_new_priv(cache_put_run, NULL, cb, arg,
                                               sizeof(struct cache_req));
    if (req == NULL)
        return -ENOMEM;
    struct cache_req *m = req->priv;
    char *text = answer != NULL ? json_dumps(answer, JSON_COMPACT) : NULL;
    m->instance = store_req_dup(req, instance);
    m->key = store_req_dup(req, key);
    m->answer = text != NULL ? store_req_dup(req, text) : NULL;
    m->expires_at = expires_at;
    bool oom = req->oom || (answer != NULL && m->answer == NULL);
    free(text);
    if (oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}
