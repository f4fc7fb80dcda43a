/* SPDX-License-Identifier: MIT */
/* daemon/store_cadence_sync.c: what a reloaded cadence file asks of the
 * enrollments already running (store.h, store_cadence_reconcile).
 *
 * Migration. An enrollment stays pinned to the version it started on unless
 * the file says otherwise: "continue-at-same-step" moves it to the new
 * version at the step of the same name (else the same index), keeping what
 * it waits on; "restart" starts it over at the first step of the new
 * version, cancelling its unsent touches and open tasks (reason
 * cadence_restarted). An enrollment whose step has no counterpart is left
 * on its version, with an event saying why, rather than guessed.
 *
 * Retired mailboxes. A mailbox listed under "retired_mailboxes" was taken
 * out of the rotation on purpose: its enrollments go to the least loaded of
 * the cadence's mailboxes, one at a time, and their unsent touches with
 * them (a touch waiting on the retired mailbox's pause is scheduled again).
 * Each move is an event on the lead. A paused mailbox is the opposite case:
 * its leads stay (store_mailboxes.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct reconcile_req {
    const char *cadence;                 /* in req->mem */
    int64_t version_id;
    enum store_migrate migrate;
    const char **retired, **mailboxes;   /* NULL-terminated; strings in req->mem */
    int64_t migrated, moved;
};

/* ---- migration ---- */

static int migrate_same_step(struct store *st, struct store_req *req, struct reconcile_req *m)
{
    sqlite3_stmt *s;
    /* The new step: the one named as the old step was, else the same index
     * while it exists. NULL: no counterpart, the enrollment stays. */
    int rc = store_stmt(&st->wr,
        "SELECT e.id, e.lead_id, e.step, o.version,"
        " coalesce((SELECT CAST(j.key AS INTEGER)"
        "   FROM cadences n, json_each(n.definition, '$.steps') j"
        "   WHERE n.id = ?2 AND json_extract(j.value, '$.name') IS NOT NULL"
        "   AND json_extract(j.value, '$.name') ="
        "       json_extract(o.definition, '$.steps[' || e.step || '].name')),"
        "  (SELECT e.step FROM cadences n WHERE n.id = ?2"
        "   AND json_extract(o.definition, '$.steps[' || e.step || '].name') IS NULL"
        "   AND e.step < json_array_length(n.definition, '$.steps'))) AS new_step"
        " FROM enrollments e JOIN cadences o ON o.id = e.cadence_id"
        " WHERE o.name = ?1 AND e.cadence_id <> ?2 AND e.state IN ('active', 'paused')"
        " ORDER BY e.id", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->cadence);
    sqlite3_bind_int64(s, 2, m->version_id);
    struct row { int64_t id, lead, step, version, new_step; bool has_new; } *rows = NULL;
    size_t n = 0, cap = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct row *g = realloc(rows, cap * sizeof(*rows));
            if (g == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            rows = g;
        }
        rows[n] = (struct row){ sqlite3_column_int64(s, 0), sqlite3_column_int64(s, 1),
                                sqlite3_column_int64(s, 2), sqlite3_column_int64(s, 3),
                                sqlite3_column_int64(s, 4),
                                sqlite3_column_type(s, 4) != SQLITE_NULL };
        n++;
    }
    rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_NOMEM ? -ENOMEM
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!rows[i].has_new) {
            rc = store_event_insert_json(st, req, rows[i].lead, 0, "enrollment_not_migrated",
                json_pack("{s:I, s:s, s:I, s:I, s:s}", "enrollment_id", (json_int_t)rows[i].id,
                          "cadence", m->cadence, "version", (json_int_t)rows[i].version,
                          "step", (json_int_t)rows[i].step,
                          "why", "its step has no counterpart in the new version"));
            continue;
        }
        rc = store_stmt(&st->wr, "UPDATE enrollments SET cadence_id = ?2, step = ?3"
                        " WHERE id = ?1", &s);
        if (rc < 0)
            break;
        sqlite3_bind_int64(s, 1, rows[i].id);
        sqlite3_bind_int64(s, 2, m->version_id);
        sqlite3_bind_int64(s, 3, rows[i].new_step);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            break;
        /* Its touches and tasks of the old step count as the new step's. */
        static const char *const follow[] = {
            "UPDATE OR FAIL touches SET step = ?2 WHERE lead_id = (SELECT lead_id FROM enrollments"
            " WHERE id = ?1) AND enrollment_id = ?1 AND step = ?3",
            "UPDATE tasks SET step = ?2 WHERE enrollment_id = ?1 AND step = ?3",
        };
        for (size_t k = 0; rc == 0 && k < 2 && rows[i].new_step != rows[i].step; k++) {
            if ((rc = store_stmt(&st->wr, follow[k], &s)) < 0)
                break;
            sqlite3_bind_int64(s, 1, rows[i].id);
            sqlite3_bind_int64(s, 2, rows[i].new_step);
            sqlite3_bind_int64(s, 3, rows[i].step);
            rc = store_stmt_done(&st->wr, s);
        }
        if (rc == 0)
            rc = store_event_insert_json(st, req, rows[i].lead, 0, "enrollment_migrated",
                json_pack("{s:I, s:s, s:I, s:s, s:I, s:I}", "enrollment_id",
                          (json_int_t)rows[i].id, "cadence", m->cadence, "from_version",
                          (json_int_t)rows[i].version, "how", "continue-at-same-step",
                          "from_step", (json_int_t)rows[i].step, "step",
                          (json_int_t)rows[i].new_step));
        m->migrated += rc == 0;
    }
    free(rows);
    return rc;
}

static int migrate_restart(struct store *st, struct store_req *req, struct reconcile_req *m)
{
    static const char *const sql[] = {
        /* Events first, while the rows still say what they were. */
        "INSERT INTO events (at, lead_id, type, actor_kind, data)"
        " SELECT ?3, e.lead_id, 'enrollment_migrated', 'system', json_object('enrollment_id',"
        " e.id, 'cadence', ?1, 'from_version', o.version, 'how', 'restart', 'from_step', e.step,"
        " 'step', 0) FROM enrollments e JOIN cadences o ON o.id = e.cadence_id"
        " WHERE o.name = ?1 AND e.cadence_id <> ?2 AND e.state IN ('active', 'paused')",
        /* The leads' list lets SQLite find the touches through touches_lead. */
        "UPDATE OR FAIL touches SET state = 'cancelled', reason = 'cadence_restarted', updated_at = ?3"
        " WHERE lead_id IN (SELECT e.lead_id FROM enrollments e JOIN cadences o"
        " ON o.id = e.cadence_id WHERE o.name = ?1 AND e.cadence_id <> ?2"
        " AND e.state IN ('active', 'paused'))"
        " AND state IN ('scheduled', 'deferred') AND enrollment_id IN (SELECT e.id FROM"
        " enrollments e JOIN cadences o ON o.id = e.cadence_id WHERE o.name = ?1"
        " AND e.cadence_id <> ?2 AND e.state IN ('active', 'paused'))",
        "UPDATE tasks SET state = 'cancelled', done_at = ?3 WHERE state = 'open'"
        " AND enrollment_id IN"
        " (SELECT e.id FROM enrollments e JOIN cadences o ON o.id = e.cadence_id"
        " WHERE o.name = ?1 AND e.cadence_id <> ?2 AND e.state IN ('active', 'paused'))",
        "UPDATE enrollments SET cadence_id = ?2, step = 0, due_at = ?3, step_started_at = ?3,"
        " last_outcome = NULL, last_email_touch = NULL WHERE id IN (SELECT e.id FROM"
        " enrollments e JOIN cadences o ON o.id = e.cadence_id WHERE o.name = ?1"
        " AND e.cadence_id <> ?2 AND e.state IN ('active', 'paused'))",
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *s;
        if ((rc = store_stmt(&st->wr, sql[i], &s)) < 0)
            break;
        store_bind_text(s, 1, m->cadence);
        sqlite3_bind_int64(s, 2, m->version_id);
        sqlite3_bind_int64(s, 3, req->now);
        rc = store_stmt_done(&st->wr, s);
        if (rc == 0 && i + 1 == sizeof(sql) / sizeof(sql[0]))
            m->migrated = sqlite3_changes(st->wr.db);
    }
    return rc;
}

/* ---- retired mailboxes ---- */

/* The enrollments (active or paused) on each mailbox of the rotation, counted
 * once: the hand-over then keeps them up to date as it moves leads. */
static int count_loads(struct store *st, const char **mailboxes, int64_t *loads)
{
    for (size_t i = 0; mailboxes[i] != NULL; i++) {
        sqlite3_stmt *s;
        int rc = store_stmt(&st->wr, "SELECT count(*) FROM enrollments"
                            " WHERE mailbox = ?1 AND state IN ('active', 'paused')", &s);
        if (rc < 0)
            return rc;
        store_bind_text(s, 1, mailboxes[i]);
        loads[i] = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
    }
    return 0;
}

/* The least loaded mailbox of the rotation (ties: rotation order). */
static size_t least_loaded(const char **mailboxes, const int64_t *loads)
{
    size_t best = 0;
    for (size_t i = 1; mailboxes[i] != NULL; i++)
        if (loads[i] < loads[best])
            best = i;
    return best;
}

/* The running enrollments of the cadence on mailbox: (id, lead) pairs,
 * oldest first, in *out (malloc'd). */
static int on_mailbox(struct store *st, const char *cadence, const char *mailbox,
                      int64_t (**out)[2], size_t *n)
{
    sqlite3_stmt *s;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    int rc = store_stmt(&st->wr, "SELECT id, lead_id FROM enrollments WHERE mailbox = ?2"
                        " AND state IN ('active', 'paused')"
                        " AND cadence_id IN (SELECT id FROM cadences WHERE name = ?1)"
                        " ORDER BY id", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, cadence);
    store_bind_text(s, 2, mailbox);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            int64_t (*g)[2] = realloc(*out, cap * sizeof(**out));
            if (g == NULL) {
                rc = SQLITE_NOMEM;
                break;
            }
            *out = g;
        }
        (*out)[*n][0] = sqlite3_column_int64(s, 0);
        (*out)[*n][1] = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_NOMEM ? -ENOMEM
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

static int move_one(struct store *st, struct store_req *req, struct reconcile_req *m,
                    int64_t id, int64_t lead, const char *from, const char *to)
{
    static const char *const sql[] = {
        "UPDATE enrollments SET mailbox = ?3 WHERE id = ?1",
        "UPDATE OR FAIL touches SET mailbox = ?3, state = 'scheduled', reason = NULL, updated_at = ?4"
        " WHERE lead_id = ?5 AND enrollment_id = ?1 AND mailbox = ?2 AND state = 'deferred'"
        " AND reason = 'mailbox_paused'",
        "UPDATE OR FAIL touches SET mailbox = ?3, updated_at = ?4 WHERE lead_id = ?5 AND enrollment_id = ?1"
        " AND mailbox = ?2 AND state IN ('scheduled', 'deferred')",
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(sql) / sizeof(sql[0]); i++) {
        sqlite3_stmt *s;
        if ((rc = store_stmt(&st->wr, sql[i], &s)) < 0)
            break;
        sqlite3_bind_int64(s, 1, id);
        store_bind_text(s, 2, from);
        store_bind_text(s, 3, to);
        sqlite3_bind_int64(s, 4, req->now);
        if (i > 0)
            sqlite3_bind_int64(s, 5, lead);     /* the touches through touches_lead */
        rc = store_stmt_done(&st->wr, s);
    }
    if (rc == 0)
        rc = store_event_insert_json(st, req, lead, 0, "mailbox_retired",
                                     json_pack("{s:I, s:s, s:s, s:s}", "enrollment_id",
                                               (json_int_t)id, "cadence", m->cadence,
                                               "from", from, "to", to));
    m->moved += rc == 0;
    return rc;
}

static int hand_over(struct store *st, struct store_req *req, struct reconcile_req *m)
{
    size_t nm = 0;
    while (m->mailboxes[nm] != NULL)
        nm++;
    if (nm == 0)
        return -EINVAL;              /* the cadence loader requires a mailbox */
    int64_t *loads = calloc(nm, sizeof(*loads));
    if (loads == NULL)
        return -ENOMEM;
    int rc = count_loads(st, m->mailboxes, loads);
    for (size_t r = 0; rc == 0 && m->retired[r] != NULL; r++) {
        int64_t (*moving)[2] = NULL;
        size_t n = 0;
        rc = on_mailbox(st, m->cadence, m->retired[r], &moving, &n);
        for (size_t k = 0; rc == 0 && k < n; k++) {
            size_t to = least_loaded(m->mailboxes, loads);
            rc = move_one(st, req, m, moving[k][0], moving[k][1], m->retired[r],
                          m->mailboxes[to]);
            loads[to]++;
        }
        free(moving);
    }
    free(loads);
    return rc;
}

static int reconcile_run(struct store *st, struct store_req *req)
{
    struct reconcile_req *m = req->priv;
    int rc = 0;
    if (m->migrate == STORE_MIGRATE_SAME_STEP)
        rc = migrate_same_step(st, req, m);
    else if (m->migrate == STORE_MIGRATE_RESTART)
        rc = migrate_restart(st, req, m);
    if (rc == 0 && m->retired[0] != NULL)
        rc = hand_over(st, req, m);
    req->id = m->migrated + m->moved;
    return rc;
}

static void reconcile_free(struct store_req *req)
{
    struct reconcile_req *m = req->priv;
    free(m->retired);
    free(m->mailboxes);
    free(m);
    req->priv = NULL;
}

static const char **dup_list(struct store_req *req, const char *const *list)
{
    size_t n = 0;
    while (list != NULL && list[n] != NULL)
        n++;
    const char **copy = calloc(n + 1, sizeof(*copy));
    for (size_t i = 0; copy != NULL && i < n; i++)
        copy[i] = store_req_dup(req, list[i]);
    return copy;
}

int store_cadence_reconcile(struct store *st, const char *cadence, int64_t version_id,
                            enum store_migrate migrate, const char *const *retired,
                            const char *const *mailboxes, store_done_cb cb, void *arg)
{
    if (st == NULL || cadence == NULL || version_id <= 0)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(reconcile_run, NULL, cb, arg,
                                               sizeof(struct reconcile_req));
    if (req == NULL)
        return -ENOMEM;
    struct reconcile_req *m = req->priv;
    req->cleanup = reconcile_free;
    m->cadence = store_req_dup(req, cadence);
    m->version_id = version_id;
    m->migrate = migrate;
    m->retired = dup_list(req, retired);
    m->mailboxes = dup_list(req, mailboxes);
    if (req->oom || m->retired == NULL || m->mailboxes == NULL) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}
