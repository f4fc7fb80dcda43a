/* SPDX-License-Identifier: MIT */
/* daemon/store_stages.c: the one stage transition. Moving a lead, picking
 * its owner round-robin, writing the history row and the "stage_changed"
 * event happen in one savepoint, so they can never disagree. The round-robin
 * cursor is a row per role in the store (not a process counter), so it
 * survives restarts and would be shared by several daemons on one database.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct stage_req {
    int64_t lead_id;
    const char *stage, *role, *reason;   /* in req->mem */
    const char **candidates;             /* pointers into names */
    char *names;                         /* owned: "a\0b\0c\0" */
    size_t n;
};

/* The next owner for role: cursor % n, then the cursor moves on. */
static int next_owner(struct store *st, const struct stage_req *m, const char *role,
                      const char **owner)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO role_cursor (role, next_index) VALUES (?1, 1)"
        " ON CONFLICT (role) DO UPDATE SET next_index = next_index + 1"
        " RETURNING next_index - 1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, role);
    rc = sqlite3_step(s);
    int64_t turn = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    *owner = m->candidates[(size_t)(turn < 0 ? 0 : turn) % m->n];

    rc = store_stmt(&st->wr,
        "INSERT INTO lead_owners (lead_id, role, person) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (lead_id, role) DO UPDATE SET person = excluded.person", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->lead_id);
    store_bind_text(s, 2, role);
    store_bind_text(s, 3, *owner);
    return store_stmt_done(&st->wr, s);
}

/* Reads one text column of a one-row query with one or two parameters into
 * a malloc'd copy (*out NULL when no row or NULL). */
static int read_text(struct store *st, const char *sql, int64_t id, const char *p2,
                     char **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    if (p2 != NULL)
        store_bind_text(s, 2, p2);
    rc = sqlite3_step(s);
    *out = NULL;
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL) {
        *out = strdup((const char *)sqlite3_column_text(s, 0));
        if (*out == NULL)
            rc = SQLITE_NOMEM;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
        : store_sqlite_errno(rc == SQLITE_NOMEM ? rc : sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

static int stage_move(struct store *st, struct store_req *req, const struct stage_req *m)
{
    const char *role = m->role != NULL ? m->role : m->stage;
    const char *owner = NULL;
    char *from = NULL, *kept_owner = NULL, *text = NULL;
    sqlite3_stmt *s;
    int rc;

    /* stage is NOT NULL, so no value means no lead. */
    rc = read_text(st, "SELECT stage FROM leads WHERE id = ?1", m->lead_id, NULL, &from);
    if (rc == 0 && from == NULL)
        rc = -ENOENT;
    if (rc < 0)
        goto out;
    if (m->n > 0) {
        rc = next_owner(st, m, role, &owner);
    } else {
        rc = read_text(st, "SELECT person FROM lead_owners WHERE lead_id = ?1 AND role = ?2",
                       m->lead_id, role, &kept_owner);
        owner = kept_owner;
    }
    if (rc < 0)
        goto out;

    rc = store_stmt(&st->wr, "UPDATE leads SET stage = ?2, updated_at = ?3 WHERE id = ?1", &s);
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(s, 1, m->lead_id);
    store_bind_text(s, 2, m->stage);
    sqlite3_bind_int64(s, 3, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        goto out;

    rc = store_stmt(&st->wr,
        "INSERT INTO stage_history (lead_id, from_stage, to_stage, owner, actor_kind, actor,"
        " reason, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &s);
    if (rc < 0)
        goto out;
    sqlite3_bind_int64(s, 1, m->lead_id);
    store_bind_text(s, 2, from);
    store_bind_text(s, 3, m->stage);
    store_bind_text(s, 4, owner);
    store_bind_text(s, 5, store_actor_kind_name(req->actor.kind));
    store_bind_text(s, 6, req->actor.name);
    store_bind_text(s, 7, m->reason);
    sqlite3_bind_int64(s, 8, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        goto out;

    /* Owners are team members, not the lead: they may appear in events. The
     * reason is a reason code by contract (store.h). */
    json_t *data = json_pack("{s:s?, s:s, s:s, s:s?, s:s?}", "from", from, "to", m->stage,
                             "role", role, "owner", owner, "reason", m->reason);
    text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    rc = store_event_insert(st, req->now, m->lead_id, 0, "stage_changed", &req->actor, text,
                            NULL);

out:
    free(text);
    free(from);
    free(kept_owner);
    return rc;
}

static int stage_move_run(struct store *st, struct store_req *req)
{
    struct stage_req *m = req->priv;
    int rc = stage_move(st, req, m);
    if (rc == 0)
        req->id = m->lead_id;
    return rc;
}

int store_wr_stage_move(struct store *st, struct store_req *req, int64_t lead_id,
                        const char *stage, const char *role, const char *const *candidates,
                        size_t n, const char *reason)
{
    struct stage_req m = {
        .lead_id = lead_id, .stage = stage, .role = role, .reason = reason,
        .candidates = (const char **)candidates, .n = n,
    };
    return stage_move(st, req, &m);
}

static void stage_req_free(struct store_req *req)
{
    struct stage_req *m = req->priv;
    if (m != NULL) {
        free(m->candidates);
        free(m->names);
    }
    free(m);
}

int store_stage_move(struct store *st, int64_t lead_id, const char *stage,
                     const char *role, const char *const *candidates, size_t n,
                     const struct store_actor *actor, const char *reason,
                     store_done_cb cb, void *arg)
{
    if (lead_id <= 0 || stage == NULL || *stage == '\0' || (n > 0 && candidates == NULL))
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (candidates[i] == NULL || *candidates[i] == '\0')
            return -EINVAL;

    struct store_req *req = store_req_new(stage_move_run, actor, cb, arg);
    struct stage_req *m = calloc(1, sizeof(*m));
    if (req == NULL || m == NULL) {
        free(m);
        store_req_free(req);
        return -ENOMEM;
    }
    req->priv = m;
    req->cleanup = stage_req_free;
    m->lead_id = lead_id;
    m->stage = store_req_dup(req, stage);
    m->role = store_req_dup(req, role);
    m->reason = store_req_dup(req, reason);
    m->n = n;
    if (n > 0) {
        /* All names in one block, so n does not count against req->mem. */
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
            total += strlen(candidates[i]) + 1;
        m->names = malloc(total);
        m->candidates = calloc(n, sizeof(*m->candidates));
        if (m->names == NULL || m->candidates == NULL) {
            store_req_free(req);
            return -ENOMEM;
        }
        char *p = m->names;
        for (size_t i = 0; i < n; i++) {
            size_t len = strlen(candidates[i]) + 1;
            memcpy(p, candidates[i], len);
            m->candidates[i] = p;
            p += len;
        }
    }
    return store_writer_submit(st, req);
}

int store_stage_history(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd,
        "SELECT id, lead_id, from_stage, to_stage, owner, actor_kind, actor, reason, at"
        " FROM stage_history WHERE lead_id = ?1 ORDER BY id", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    return store_rows_json(&st->rd, s, out);
}
