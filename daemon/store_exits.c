/* SPDX-License-Identifier: MIT */
/* daemon/store_exits.c: the store side of a lead leaving its cadences
 * (exits.h). One request ends every active enrollment of the lead in the
 * named cadences, cancels their unsent touches and open tasks, writes one
 * "cadence_exited" event per enrollment, and sets the lead's bounce,
 * unsubscribe and suppression marks, all in the writer's transaction, so an
 * exit is either wholly there or not at all. Running it again finds no
 * active enrollment and an existing suppression entry, and changes nothing:
 * exits are idempotent, which lets a sender retry a webhook safely. The
 * rule's stage or owner change, when one is given, runs in the same
 * transaction and only if an enrollment ended, so a crash can never keep
 * the exit and lose the move, and a repeat never moves the lead twice.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* An enrollment's cadence name: the column the sequencer fills, or the name
 * of the version row it is pinned to (rows written before migration 4). */
#define ENROLLMENT_CADENCE \
    "coalesce(e.cadence, (SELECT c.name FROM cadences c WHERE c.id = e.cadence_id))"

struct exit_req {
    int64_t lead_id;
    const char *why;          /* in req->mem */
    const char *cadences;     /* JSON array text of names, in req->mem; NULL = all */
    unsigned flags;
    /* The move (move_stage NULL: none); strings in req->mem except the
     * candidates, which point into move_names (owned). */
    const char *move_stage, *move_role, *move_reason;
    const char **move_candidates;
    char *move_names;
    size_t move_n;
};

struct ended {
    int64_t id;
    char *cadence;
};

/* The active enrollments the exit ends, oldest first. */
static int exit_collect(struct store *st, const struct exit_req *m, struct ended **out,
                        size_t *n)
{
    sqlite3_stmt *s;
    struct ended *v = NULL;
    size_t cap = 0, len = 0;
    int rc = store_stmt(&st->wr,
        "SELECT e.id, " ENROLLMENT_CADENCE " FROM enrollments e"
        " WHERE e.lead_id = ?1 AND e.state IN ('active', 'paused') AND (?2 IS NULL OR "
        ENROLLMENT_CADENCE " IN (SELECT value FROM json_each(?2))) ORDER BY e.id", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->lead_id);
    store_bind_text(s, 2, m->cadences);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (len == cap) {
            size_t ncap = cap == 0 ? 4 : cap * 2;
            struct ended *nv = realloc(v, ncap * sizeof(*nv));
            if (nv == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            v = nv;
            cap = ncap;
        }
        const unsigned char *name = sqlite3_column_text(s, 1);
        v[len].id = sqlite3_column_int64(s, 0);
        v[len].cadence = name != NULL ? strdup((const char *)name) : NULL;
        if (name != NULL && v[len].cadence == NULL) {
            rc = SQLITE_NOMEM;
            break;
        }
        len++;
    }
    rc = rc == SQLITE_DONE ? 0
       : store_sqlite_errno(rc == SQLITE_NOMEM ? rc : sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    *out = v;
    *n = len;
    return rc;
}

/* Runs one UPDATE taking (enrollment id, reason, now) as ?1, ?2, ?3 (a
 * statement may leave ?2 unused: it still has that slot); *changed = rows. */
static int exit_update(struct store *st, const char *sql, int64_t enrollment_id,
                       const char *reason, int64_t now, int *changed)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, enrollment_id);
    store_bind_text(s, 2, reason);
    sqlite3_bind_int64(s, 3, now);
    rc = store_stmt_done(&st->wr, s);
    if (changed != NULL)
        *changed = sqlite3_changes(st->wr.db);
    return rc;
}

/* Ends one enrollment with everything that hangs on it. */
static int exit_one(struct store *st, struct store_req *req, const struct exit_req *m,
                    const struct ended *e, char *touch_reason)
{
    int changed = 0, touches = 0, tasks = 0;
    int rc = exit_update(st, "UPDATE enrollments SET state = 'exited', reason = ?2,"
                         " ended_at = ?3, due_at = NULL WHERE id = ?1"
                         " AND state IN ('active', 'paused')",
                         e->id, m->why, req->now, &changed);
    if (rc < 0 || changed == 0)
        return rc;
    /* What has not left yet never will; what is sending or sent keeps its
     * own outcome (the touch state diagram allows no other move). Touches
     * are found through their lead (touches_lead): there is no index by
     * enrollment. */
    rc = exit_update(st, "UPDATE OR FAIL touches SET state = 'cancelled', reason = ?2, updated_at = ?3"
                     " WHERE lead_id = (SELECT lead_id FROM enrollments WHERE id = ?1)"
                     " AND enrollment_id = ?1 AND state IN ('scheduled', 'deferred')",
                     e->id, touch_reason, req->now, &touches);
    if (rc < 0)
        return rc;
    /* Tasks belong to the enrollment directly (call steps) or through a
     * touch of it (tasks made by store_task_create()). */
    rc = exit_update(st, "UPDATE tasks SET state = 'cancelled', done_at = ?3"
                     " WHERE state = 'open' AND (enrollment_id = ?1 OR touch_id IN"
                     " (SELECT id FROM touches WHERE lead_id ="
                     " (SELECT lead_id FROM enrollments WHERE id = ?1) AND enrollment_id = ?1))",
                     e->id, touch_reason, req->now, &tasks);
    if (rc < 0)
        return rc;
    req->id++;
    return store_event_insert_json(st, req, m->lead_id, 0, "cadence_exited",
                                   json_pack("{s:I, s:s?, s:s, s:i, s:i}", "enrollment_id",
                                             (json_int_t)e->id, "cadence", e->cadence,
                                             "reason", m->why, "touches_cancelled", touches,
                                             "tasks_cancelled", tasks));
}

/* The lead's flags and its suppression entry (store_suppress()'s rows). */
static int exit_flags(struct store *st, struct store_req *req, const struct exit_req *m,
                      const char *email)
{
    sqlite3_stmt *s;
    int rc = 0;
    if (m->flags & (STORE_EXIT_BOUNCED | STORE_EXIT_UNSUBSCRIBED)) {
        rc = store_stmt(&st->wr, "UPDATE leads SET bounced = max(bounced, ?2),"
                        " unsubscribed = max(unsubscribed, ?3), updated_at = ?4 WHERE id = ?1",
                        &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, m->lead_id);
        sqlite3_bind_int(s, 2, (m->flags & STORE_EXIT_BOUNCED) != 0);
        sqlite3_bind_int(s, 3, (m->flags & STORE_EXIT_UNSUBSCRIBED) != 0);
        sqlite3_bind_int64(s, 4, req->now);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
    }
    if (!(m->flags & STORE_EXIT_SUPPRESS) || email == NULL || *email == '\0')
        return 0;
    /* An address already on the list keeps its first reason and gets no
     * second "suppressed" event. */
    rc = store_stmt(&st->wr, "INSERT INTO suppression (kind, value, reason, at)"
                    " VALUES ('email', lower(?1), ?2, ?3) ON CONFLICT (kind, value) DO NOTHING",
                    &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, email);
    store_bind_text(s, 2, m->why);
    sqlite3_bind_int64(s, 3, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    bool added = sqlite3_changes(st->wr.db) > 0;
    rc = store_stmt(&st->wr, "UPDATE leads SET suppressed = 1, updated_at = ?2"
                    " WHERE id = ?1 AND suppressed = 0", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->lead_id);
    sqlite3_bind_int64(s, 2, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0 || !added)
        return rc;
    /* As store_suppress() writes it: the address stays out of the log. */
    return store_event_insert_json(st, req, m->lead_id, 0, "suppressed",
                                   json_pack("{s:s, s:s}", "kind", "email", "reason", m->why));
}

static int exit_run(struct store *st, struct store_req *req)
{
    struct exit_req *m = req->priv;
    struct ended *v = NULL;
    size_t n = 0;
    char *email = NULL, *touch_reason = NULL;
    sqlite3_stmt *s;
    bool found = false;

    int rc = store_stmt(&st->wr, "SELECT email FROM leads WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->lead_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        found = true;
        const unsigned char *e = sqlite3_column_text(s, 0);
        email = e != NULL ? strdup((const char *)e) : NULL;
        rc = e != NULL && email == NULL ? -ENOMEM : 0;
    } else {
        rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    }
    sqlite3_reset(s);
    if (rc == 0 && !found)
        rc = -ENOENT;
    if (rc < 0)
        goto out;

    touch_reason = malloc(strlen(m->why) + sizeof("exit:"));
    if (touch_reason == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    strcpy(touch_reason, "exit:");
    strcat(touch_reason, m->why);
    req->id = 0;
    rc = exit_collect(st, m, &v, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = exit_one(st, req, m, &v[i], touch_reason);
    if (rc == 0)
        rc = exit_flags(st, req, m, email);
    if (rc == 0 && m->move_stage != NULL && req->id > 0) {
        int64_t ended = req->id;
        rc = store_wr_stage_move(st, req, m->lead_id, m->move_stage, m->move_role,
                                 m->move_candidates, m->move_n, m->move_reason);
        req->id = ended;
    }
out:
    for (size_t i = 0; i < n; i++)
        free(v[i].cadence);
    free(v);
    free(email);
    free(touch_reason);
    return rc;
}

static void exit_req_free(struct store_req *req)
{
    struct exit_req *m = req->priv;
    if (m != NULL) {
        free(m->move_candidates);
        free(m->move_names);
    }
    free(m);
    req->priv = NULL;
}

/* Copies the move's candidates into one owned block. */
static int copy_move(struct store_req *req, struct exit_req *m,
                     const struct store_stage_target *move)
{
    size_t len = 0;
    for (size_t i = 0; i < move->n; i++)
        len += strlen(move->candidates[i]) + 1;
    m->move_stage = store_req_dup(req, move->stage);
    m->move_role = store_req_dup(req, move->role);
    m->move_reason = store_req_dup(req, move->reason);
    m->move_names = malloc(len + 1);
    m->move_candidates = calloc(move->n + 1, sizeof(*m->move_candidates));
    if (req->oom || m->move_names == NULL || m->move_candidates == NULL)
        return -ENOMEM;
    char *p = m->move_names;
    for (size_t i = 0; i < move->n; i++) {
        size_t l = strlen(move->candidates[i]) + 1;
        memcpy(p, move->candidates[i], l);
        m->move_candidates[i] = p;
        p += l;
    }
    m->move_n = move->n;
    return 0;
}

int store_lead_exit(struct store *st, int64_t lead_id, const char *why,
                    const char *const *cadences, unsigned flags,
                    const struct store_actor *actor, store_done_cb cb, void *arg)
{
    return store_lead_exit_move(st, lead_id, why, cadences, flags, NULL, actor, cb, arg);
}

int store_lead_exit_move(struct store *st, int64_t lead_id, const char *why,
                         const char *const *cadences, unsigned flags,
                         const struct store_stage_target *move,
                         const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (move != NULL && (move->stage == NULL || (move->n > 0 && move->candidates == NULL)))
        return -EINVAL;
    if (st == NULL || lead_id <= 0 || why == NULL || *why == '\0' || strlen(why) > 64)
        return -EINVAL;
    char *list = NULL;
    if (cadences != NULL) {
        json_t *a = json_array();
        for (size_t i = 0; a != NULL && cadences[i] != NULL; i++)
            if (json_array_append_new(a, json_string(cadences[i])) < 0) {
                json_decref(a);
                a = NULL;
            }
        list = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
        json_decref(a);
        if (list == NULL)
            return -ENOMEM;
    }
    struct store_req *req = store_req_new_priv(exit_run, actor, cb, arg, sizeof(struct exit_req));
    if (req == NULL) {
        free(list);
        return -ENOMEM;
    }
    struct exit_req *m = req->priv;
    req->cleanup = exit_req_free;
    m->lead_id = lead_id;
    m->why = store_req_dup(req, why);
    m->cadences = store_req_dup(req, list);
    m->flags = flags;
    free(list);
    if (move != NULL && copy_move(req, m, move) < 0) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_lead_active_cadences(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    json_t *names = json_array();
    if (names == NULL)
        return -ENOMEM;
    int rc = store_stmt(&st->rd,
        "SELECT " ENROLLMENT_CADENCE " AS name FROM enrollments e"
        " WHERE e.lead_id = ?1 AND e.state IN ('active', 'paused') GROUP BY name"
        " HAVING name IS NOT NULL"
        " ORDER BY min(e.id)", &s);
    if (rc < 0) {
        json_decref(names);
        return rc;
    }
    sqlite3_bind_int64(s, 1, lead_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (json_array_append_new(names, json_string((const char *)sqlite3_column_text(s, 0)))
            < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    rc = rc == SQLITE_DONE ? 0
       : store_sqlite_errno(rc == SQLITE_NOMEM ? rc : sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0) {
        json_decref(names);
        return rc;
    }
    *out = names;
    return 0;
}
