/* SPDX-License-Identifier: MIT */
/* daemon/store_lead_defer.c: a large import builds the leads domain index
 * once, at its end, instead of row by row.
 *
 * Why: leads_domain (domain, first_name, last_name) gets one entry per lead
 * at a random place, so each row of an import walked and changed a different
 * part of it, and the index was the largest single cost of importing into a
 * small store (about 2.7 s of sqlite3's own 12 s at a million rows). CREATE
 * INDEX sorts instead, about 1 s. So once an import has written at least
 * IMPORT_DEFER_MIN_ROWS rows and as many as the store held when it began
 * (import.c decides), its batches carry STORE_BATCH_DEFER_INDEXES: the
 * first such batch drops the index in its own transaction and records the
 * statement that builds it in index_rebuild, so a crash in between leaves a
 * store whose next open builds it again (store_defer_recover).
 *
 * Meanwhile nothing looks leads up by domain through the index: every batch
 * that runs while it is missing skips the per-row probable-duplicate probe
 * and records each lead it creates (the import's token, the lead, the file
 * line) in scratch.import_created, a private temporary database attached
 * to the writer connection (on disk past its small cache, gone with the
 * connection). store_lead_import_finish() builds the index again if it is
 * still missing, then finds the probable duplicates of the import's recorded
 * leads in one ordered pass over the index: in each group of leads with the
 * same domain and names (as the probe compared them: the domain exactly, the
 * names without ASCII case), every lead after the lowest id is a duplicate of
 * that one, which is what the probe said row by row, since a lead's id is
 * greater than every lead's before it. Other queries by domain (a cadence's
 * per-domain limits) read the table meanwhile: slower, never wrong.
 *
 * Threads: store_defer_attach and store_defer_recover run in store_open
 * before the writer starts; store_wr_* on the writer thread;
 * store_lead_import_finish and store_leads_max_id on the loop thread.
 * Ownership: the finish's list is the request's, borrowed by the callback.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"

#define DEFERRED_INDEX "leads_domain"

int store_defer_attach(struct store *st)
{
    int rc = store_exec(&st->wr, "ATTACH '' AS scratch");
    if (rc == 0)
        rc = store_exec(&st->wr, "CREATE TABLE scratch.import_created ("
                        " token INTEGER NOT NULL, lead_id INTEGER NOT NULL, line INTEGER NOT NULL,"
                        " PRIMARY KEY (token, lead_id)) WITHOUT ROWID");
    return rc;
}

static int index_exists(struct store_conn *c, const char *name, bool *exists)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, "SELECT 1 FROM main.sqlite_schema WHERE type = 'index' AND name = ?1",
                        &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, name);
    rc = sqlite3_step(s);
    *exists = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    return rc;
}

/* Builds every index recorded in index_rebuild that is missing, and clears
 * the record; *built counts them. In the caller's transaction. */
static int rebuild_recorded(struct store_conn *c, int *built)
{
    sqlite3_stmt *s;
    *built = 0;
    int rc = store_stmt(c, "SELECT name, sql FROM index_rebuild ORDER BY name", &s);
    if (rc < 0)
        return rc;
    /* Read them all first: CREATE INDEX changes the schema under s. */
    char *names[8], *sqls[8];
    int n = 0;
    while (n < 8 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        names[n] = strdup((const char *)sqlite3_column_text(s, 0));
        sqls[n] = strdup((const char *)sqlite3_column_text(s, 1));
        n++;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    for (int i = 0; i < n; i++) {
        bool exists = true;
        if (rc == 0 && (names[i] == NULL || sqls[i] == NULL))
            rc = -ENOMEM;
        if (rc == 0)
            rc = index_exists(c, names[i], &exists);
        if (rc == 0 && !exists) {
            /* The text SQLite itself kept in sqlite_schema for the index. */
            rc = store_exec(c, sqls[i]);
            *built += rc == 0;
        }
        if (rc == 0 && (rc = store_stmt(c, "DELETE FROM index_rebuild WHERE name = ?1", &s)) == 0) {
            store_bind_text(s, 1, names[i]);
            rc = store_stmt_done(c, s);
        }
        free(names[i]);
        free(sqls[i]);
    }
    return rc;
}

int store_defer_recover(struct store *st)
{
    int built = 0;
    int rc = store_exec(&st->wr, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = rebuild_recorded(&st->wr, &built);
    rc = rc == 0 ? store_exec(&st->wr, "COMMIT") : rc;
    if (rc < 0) {
        store_exec(&st->wr, "ROLLBACK");
        return rc;
    }
    if (built > 0)
        log_warn("msg=\"built the leads index an interrupted import had deferred\" path=\"%s\" "
                 "indexes=%d", st->path, built);
    return 0;
}

int store_wr_defer_state(struct store *st, bool want, bool *deferred)
{
    bool exists = false;
    int rc = index_exists(&st->wr, DEFERRED_INDEX, &exists);
    if (rc < 0 || !exists || !want) {
        *deferred = rc == 0 && !exists;
        return rc;
    }
    sqlite3_stmt *s;
    rc = store_stmt(&st->wr, "INSERT INTO index_rebuild (name, sql) SELECT name, sql"
                    " FROM main.sqlite_schema WHERE type = 'index' AND name = ?1"
                    " ON CONFLICT (name) DO NOTHING", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, DEFERRED_INDEX);
    rc = store_stmt_done(&st->wr, s);
    if (rc == 0)
        rc = store_exec(&st->wr, "DROP INDEX main." DEFERRED_INDEX);
    *deferred = rc == 0;
    return rc;
}

int store_wr_defer_record(struct store *st, int64_t token, int64_t lead_id, long line)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "INSERT INTO scratch.import_created (token, lead_id, line)"
                        " VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, token);
    sqlite3_bind_int64(s, 2, lead_id);
    sqlite3_bind_int64(s, 3, line);
    return store_stmt_done(&st->wr, s);
}

/* ---- the finish ---- */

struct finish {
    int64_t token;
    size_t list_max;
    int64_t count;
    struct store_probable_dup *list;   /* kept sorted by line, at most list_max
                                          after each trim */
    size_t n, cap;
    store_import_finish_cb cb;
    void *arg;
};

/* SQLite's NOCASE: only ASCII letters fold. */
static bool same_nocase(const unsigned char *a, const unsigned char *b)
{
    for (;; a++, b++) {
        unsigned char x = *a >= 'A' && *a <= 'Z' ? (unsigned char)(*a + 32) : *a;
        unsigned char y = *b >= 'A' && *b <= 'Z' ? (unsigned char)(*b + 32) : *b;
        if (x != y)
            return false;
        if (x == '\0')
            return true;
    }
}

static int by_line(const void *a, const void *b)
{
    const struct store_probable_dup *x = a, *y = b;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int finish_add(struct finish *f, long line, int64_t lead_id, int64_t dup_of)
{
    f->count++;
    if (f->list_max == 0)
        return 0;
    if (f->n == f->cap) {
        if (f->cap >= 4 * f->list_max) {      /* keep the earliest lines only */
            qsort(f->list, f->n, sizeof(*f->list), by_line);
            f->n = f->list_max;
        } else {
            size_t cap = f->cap > 0 ? 2 * f->cap : 64;
            struct store_probable_dup *l = realloc(f->list, cap * sizeof(*l));
            if (l == NULL)
                return -ENOMEM;
            f->list = l;
            f->cap = cap;
        }
    }
    f->list[f->n++] = (struct store_probable_dup){ line, lead_id, dup_of };
    return 0;
}

/* One ordered pass over leads_domain: every lead after the first of its
 * group that this import recorded is a probable duplicate of the first. */
static int find_duplicates(struct store *st, struct finish *f)
{
    sqlite3_stmt *scan, *rec;
    int64_t any = 0;
    sqlite3_stmt *q;
    int rc = store_stmt(&st->wr, "SELECT EXISTS (SELECT 1 FROM scratch.import_created"
                        " WHERE token = ?1)", &q);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(q, 1, f->token);
    if (sqlite3_step(q) == SQLITE_ROW)
        any = sqlite3_column_int64(q, 0);
    sqlite3_reset(q);
    if (any == 0)
        return 0;
    rc = store_stmt(&st->wr, "SELECT id, domain, first_name, last_name FROM leads"
                    " INDEXED BY leads_domain WHERE domain IS NOT NULL"
                    " AND first_name IS NOT NULL AND last_name IS NOT NULL"
                    " ORDER BY domain, first_name COLLATE NOCASE, last_name COLLATE NOCASE, id",
                    &scan);
    if (rc == 0)
        rc = store_stmt(&st->wr, "SELECT line FROM scratch.import_created"
                        " WHERE token = ?1 AND lead_id = ?2", &rec);
    if (rc < 0)
        return rc;
    char *key[3] = { NULL, NULL, NULL };   /* the group's domain and names */
    int64_t first = 0;
    for (;;) {
        int step = sqlite3_step(scan);
        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW) {
            rc = store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
            break;
        }
        int64_t id = sqlite3_column_int64(scan, 0);
        const unsigned char *v[3] = { sqlite3_column_text(scan, 1), sqlite3_column_text(scan, 2),
                                      sqlite3_column_text(scan, 3) };
        if (v[0] == NULL || v[1] == NULL || v[2] == NULL)
            continue;
        if (key[0] == NULL || strcmp((const char *)v[0], key[0]) != 0 ||
            !same_nocase(v[1], (const unsigned char *)key[1]) ||
            !same_nocase(v[2], (const unsigned char *)key[2])) {
            for (int i = 0; i < 3; i++) {
                free(key[i]);
                key[i] = strdup((const char *)v[i]);
                if (key[i] == NULL)
                    rc = -ENOMEM;
            }
            first = id;
            if (rc < 0)
                break;
            continue;
        }
        sqlite3_bind_int64(rec, 1, f->token);
        sqlite3_bind_int64(rec, 2, id);
        if (sqlite3_step(rec) == SQLITE_ROW)
            rc = finish_add(f, (long)sqlite3_column_int64(rec, 0), id, first);
        sqlite3_reset(rec);
        if (rc < 0)
            break;
    }
    for (int i = 0; i < 3; i++)
        free(key[i]);
    sqlite3_reset(scan);
    if (rc < 0)
        return rc;
    qsort(f->list, f->n, sizeof(*f->list), by_line);
    if (f->n > f->list_max)
        f->n = f->list_max;
    return 0;
}

static int finish_run(struct store *st, struct store_req *req)
{
    struct finish *f = req->priv;
    int built = 0;
    f->count = 0;
    f->n = 0;
    int rc = rebuild_recorded(&st->wr, &built);
    if (rc == 0 && f->token != 0)
        rc = find_duplicates(st, f);
    if (rc == 0 && f->token != 0) {
        sqlite3_stmt *s;
        rc = store_stmt(&st->wr, "DELETE FROM scratch.import_created WHERE token = ?1", &s);
        if (rc == 0) {
            sqlite3_bind_int64(s, 1, f->token);
            rc = store_stmt_done(&st->wr, s);
        }
    }
    return rc;
}

static void finish_done(struct store_req *req)
{
    struct finish *f = req->priv;
    f->cb(req->status, req->status == 0 ? f->count : 0, req->status == 0 ? f->list : NULL,
          req->status == 0 ? f->n : 0, f->arg);
}

static void finish_free(struct store_req *req)
{
    struct finish *f = req->priv;
    if (f != NULL)
        free(f->list);
    free(f);
}

int store_lead_import_finish(struct store *st, int64_t token, size_t list_max,
                             store_import_finish_cb cb, void *arg)
{
    if (cb == NULL)
        return -EINVAL;
    struct store_req *req = store_req_new(finish_run, NULL, NULL, NULL);
    struct finish *f = calloc(1, sizeof(*f));
    if (req == NULL || f == NULL) {
        free(f);
        if (req != NULL)
            store_req_free(req);
        return -ENOMEM;
    }
    f->token = token;
    f->list_max = list_max;
    f->cb = cb;
    f->arg = arg;
    req->priv = f;
    req->done = finish_done;
    req->cleanup = finish_free;
    /* Its own transaction without a savepoint: CREATE INDEX reuses the pages
     * the dropped index freed, and a savepoint would copy each first. */
    req->bulk = true;
    return store_writer_submit(st, req);
}

int store_leads_max_id(struct store *st, int64_t *out)
{
    return store_query_int(&st->rd, "SELECT coalesce(max(id), 0) FROM leads", out);
}
