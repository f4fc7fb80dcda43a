/* SPDX-License-Identifier: MIT */
/* daemon/store_icp.c: the ideal customer profile's part of the store: each
 * lead's last score (leads.icp_score, where lists sort by it) and breakdown
 * (table lead_icp, schema version 2), written together in one savepoint so
 * they never disagree, and the paging read a rescoring pass walks with.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct icp_req {
    int64_t lead_id;
    double score;
    bool qualified;
    char *breakdown;              /* owned compact JSON */
};

static int icp_save_run(struct store *st, struct store_req *req)
{
    struct icp_req *q = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "UPDATE leads SET icp_score = ?2 WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, q->lead_id);
    sqlite3_bind_double(s, 2, q->score);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;
    if (sqlite3_changes(st->wr.db) == 0)
        return -ENOENT;
    rc = store_stmt(&st->wr,
        "INSERT INTO lead_icp (lead_id, score, qualified, breakdown, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (lead_id) DO UPDATE SET"
        " score = excluded.score, qualified = excluded.qualified,"
        " breakdown = excluded.breakdown, at = excluded.at", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, q->lead_id);
    sqlite3_bind_double(s, 2, q->score);
    sqlite3_bind_int(s, 3, q->qualified);
    store_bind_text(s, 4, q->breakdown);
    sqlite3_bind_int64(s, 5, req->now);
    rc = store_stmt_done(&st->wr, s);
    req->id = q->lead_id;
    return rc;
}

static void icp_req_free(struct store_req *req)
{
    struct icp_req *q = req->priv;
    if (q != NULL)
        free(q->breakdown);
    free(q);
}

int store_icp_save(struct store *st, int64_t lead_id, double score, bool qualified,
                   const json_t *breakdown, store_done_cb cb, void *arg)
{
    if (lead_id <= 0 || !json_is_object(breakdown))
        return -EINVAL;
    struct store_req *req = store_req_new(icp_save_run, NULL, cb, arg);
    struct icp_req *q = calloc(1, sizeof(*q));
    if (req == NULL || q == NULL) {
        free(q);
        store_req_free(req);
        return -ENOMEM;
    }
    req->priv = q;
    req->cleanup = icp_req_free;
    q->lead_id = lead_id;
    q->score = score;
    q->qualified = qualified;
    q->breakdown = json_dumps(breakdown, JSON_COMPACT);
    if (q->breakdown == NULL) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_icp_get(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    json_t *b = NULL;
    int rc = store_stmt(&st->rd, "SELECT breakdown, at FROM lead_icp WHERE lead_id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        b = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
        if (json_is_object(b))
            json_object_set_new(b, "scored_at", json_integer(sqlite3_column_int64(s, 1)));
    }
    rc = rc == SQLITE_ROW ? (json_is_object(b) ? 0 : -EIO)
       : rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0) {
        json_decref(b);
        return rc;
    }
    *out = b;
    return 0;
}

int store_leads_in_stage(struct store *st, const char *stage, int64_t after_id,
                         int64_t *ids, size_t cap, size_t *n)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT id FROM leads WHERE stage = ?1 AND id > ?2"
                        " ORDER BY id LIMIT ?3", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, stage);
    sqlite3_bind_int64(s, 2, after_id);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)cap);
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap)
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE
        ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}
