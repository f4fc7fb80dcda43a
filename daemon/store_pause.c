/* SPDX-License-Identifier: MIT */
/* daemon/store_pause.c: pausing, resuming and stopping enrollments, one at
 * a time or a whole cadence at once (store.h, "pause, resume, stop").
 *
 * A paused enrollment keeps its step and its due_at: the sequencer does not
 * run it (store_enrollments_due() takes 'active' ones only) and the claim
 * leaves its touches alone (store_claim.c), so resuming is only a change of
 * state: what was due is due at once, what waited on a touch waits on it
 * again. A step that ends while paused still moves the enrollment on
 * (store_wr_enrollment_step_done() accepts 'paused'), so nothing is lost.
 * The reason column says who paused it: "manual" (drumbeat enrollment
 * pause) or "cadence_paused", which a cadence-level resume undoes while
 * leaving enrollments paused one by one alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define CADENCE_PAUSED "cadence_paused"

struct pause_req {
    int64_t enrollment_id;
    enum store_pause_op op;
    int64_t until;              /* 0: none */
    const char *cadence;        /* cadence-level ops, in req->mem */
    bool pause;
};

/* The enrollment's lead, state and cadence name (malloc'd into *cadence). */
static int enrollment_row(struct store *st, int64_t id, int64_t *lead, char *state, size_t cap,
                          char **cadence)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT e.lead_id, e.state, coalesce(e.cadence,"
                        " (SELECT c.name FROM cadences c WHERE c.id = e.cadence_id))"
                        " FROM enrollments e WHERE e.id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *c = sqlite3_column_text(s, 2);
        *lead = sqlite3_column_int64(s, 0);
        snprintf(state, cap, "%s", (const char *)sqlite3_column_text(s, 1));
        *cadence = c != NULL ? strdup((const char *)c) : NULL;
        rc = c != NULL && *cadence == NULL ? -ENOMEM : 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    }
    sqlite3_reset(s);
    return rc;
}

/* Runs sql with (?1 id, ?2 text, ?3 now, ?4 integer or NULL when 0), each
 * bound only if the statement uses it (a bind past the last is a harmless
 * SQLITE_RANGE); *changed = rows. */
static int run4(struct store *st, const char *sql, int64_t id, const char *text, int64_t now,
                int64_t num, int *changed)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    store_bind_text(s, 2, text);
    sqlite3_bind_int64(s, 3, now);
    if (num != 0)
        sqlite3_bind_int64(s, 4, num);
    else
        sqlite3_bind_null(s, 4);
    rc = store_stmt_done(&st->wr, s);
    if (changed != NULL)
        *changed = sqlite3_changes(st->wr.db);
    return rc;
}

static int stop_one(struct store *st, struct store_req *req, int64_t id, int64_t lead,
                    const char *cadence)
{
    int touches = 0, tasks = 0;
    int rc = run4(st, "UPDATE enrollments SET state = 'stopped', reason = 'manual',"
                  " ended_at = ?3, due_at = NULL, paused_until = NULL WHERE id = ?1"
                  " AND state IN ('active', 'paused')",
                  id, NULL, req->now, 0, NULL);
    /* What has not left yet never will; a touch in flight keeps its outcome.
     * Touches are found through their lead (touches_lead). */
    if (rc == 0)
        rc = run4(st, "UPDATE OR FAIL touches SET state = 'cancelled', reason = ?2, updated_at = ?3"
                  " WHERE lead_id = (SELECT lead_id FROM enrollments WHERE id = ?1)"
                  " AND enrollment_id = ?1 AND state IN ('scheduled', 'deferred')",
                  id, "stopped", req->now, 0, &touches);
    if (rc == 0)
        rc = run4(st, "UPDATE tasks SET state = 'cancelled', done_at = ?3"
                  " WHERE state = 'open' AND (enrollment_id = ?1 OR touch_id IN"
                  " (SELECT id FROM touches WHERE lead_id = (SELECT lead_id FROM enrollments"
                  " WHERE id = ?1) AND enrollment_id = ?1))", id, NULL, req->now, 0, &tasks);
    if (rc < 0)
        return rc;
    return store_event_insert_json(st, req, lead, 0, "enrollment_stopped",
                                   json_pack("{s:I, s:s?, s:s, s:i, s:i}", "enrollment_id",
                                             (json_int_t)id, "cadence", cadence, "reason",
                                             "manual", "touches_cancelled", touches,
                                             "tasks_cancelled", tasks));
}

static int enrollment_run(struct store *st, struct store_req *req)
{
    struct pause_req *m = req->priv;
    char state[32];
    char *cadence = NULL;
    int64_t lead = 0;
    int rc = enrollment_row(st, m->enrollment_id, &lead, state, sizeof(state), &cadence);
    if (rc < 0)
        return rc;
    req->id = m->enrollment_id;
    bool live = strcmp(state, "active") == 0 || strcmp(state, "paused") == 0;
    if (!live) {
        rc = -EINVAL;             /* completed, exited or stopped: nothing to do */
    } else if (m->op == STORE_PAUSE) {
        /* Pausing a paused one again only moves its --until. */
        rc = run4(st, "UPDATE enrollments SET state = 'paused', paused_until = ?4,"
                  " reason = ?2 WHERE id = ?1", m->enrollment_id, "manual",
                  req->now, m->until, NULL);
        if (rc == 0)
            rc = store_event_insert_json(st, req, lead, 0, "enrollment_paused",
                                         json_pack("{s:I, s:s?, s:o}", "enrollment_id",
                                                   (json_int_t)m->enrollment_id, "cadence",
                                                   cadence, "until", m->until > 0
                                                   ? json_integer(m->until) : json_null()));
    } else if (m->op == STORE_RESUME) {
        if (strcmp(state, "paused") != 0)
            rc = -EALREADY;
        else
            rc = run4(st, "UPDATE enrollments SET state = 'active', paused_until = NULL,"
                      " reason = NULL WHERE id = ?1", m->enrollment_id, NULL, req->now, 0, NULL);
        if (rc == 0)
            rc = store_event_insert_json(st, req, lead, 0, "enrollment_resumed",
                                         json_pack("{s:I, s:s?}", "enrollment_id",
                                                   (json_int_t)m->enrollment_id, "cadence",
                                                   cadence));
    } else {
        rc = stop_one(st, req, m->enrollment_id, lead, cadence);
    }
    free(cadence);
    return rc;
}

int store_enrollment_pause(struct store *st, int64_t enrollment_id, enum store_pause_op op,
                           int64_t until, const struct store_actor *actor, store_done_cb cb,
                           void *arg)
{
    if (st == NULL || enrollment_id <= 0 || until < 0 ||
        (op != STORE_PAUSE && op != STORE_RESUME && op != STORE_STOP))
        return -EINVAL;
    struct store_req *req = store_req_new_priv(enrollment_run, actor, cb, arg,
                                               sizeof(struct pause_req));
    if (req == NULL)
        return -ENOMEM;
    struct pause_req *m = req->priv;
    m->enrollment_id = enrollment_id;
    m->op = op;
    m->until = op == STORE_PAUSE ? until : 0;
    return store_writer_submit(st, req);
}

/* ---- a whole cadence ---- */

static int cadence_run(struct store *st, struct store_req *req)
{
    struct pause_req *m = req->priv;
    int changed = 0;
    /* The enrollments_cadence index (cadence, state) finds the rows. */
    int rc = m->pause
        ? run4(st, "UPDATE enrollments SET state = 'paused', paused_until = ?4,"
               " reason = '" CADENCE_PAUSED "' WHERE cadence = ?2 AND state = 'active'",
               0, m->cadence, req->now, m->until, &changed)
        : run4(st, "UPDATE enrollments SET state = 'active', paused_until = NULL, reason = NULL"
               " WHERE cadence = ?2 AND state = 'paused' AND reason = '" CADENCE_PAUSED "'",
               0, m->cadence, req->now, 0, &changed);
    if (rc < 0)
        return rc;
    req->id = changed;
    /* The cadence itself is paused too: leads enrolled meanwhile start
     * paused with it (store_cadences.c) and resume with the others. */
    rc = m->pause
        ? run4(st, "INSERT INTO cadence_pauses (cadence, until, at) VALUES (?2, ?4, ?3)"
               " ON CONFLICT (cadence) DO UPDATE SET until = excluded.until, at = excluded.at",
               0, m->cadence, req->now, m->until, NULL)
        : run4(st, "DELETE FROM cadence_pauses WHERE cadence = ?2", 0, m->cadence, req->now, 0,
               NULL);
    if (rc < 0)
        return rc;
    return store_event_insert_json(st, req, 0, 0, m->pause ? "cadence_paused" : "cadence_resumed",
                                   json_pack("{s:s, s:i, s:o}", "cadence", m->cadence,
                                             "enrollments", changed, "until",
                                             m->pause && m->until > 0 ? json_integer(m->until)
                                                                      : json_null()));
}

int store_cadence_pause(struct store *st, const char *cadence, bool pause, int64_t until,
                        const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (st == NULL || cadence == NULL || *cadence == '\0' || until < 0)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(cadence_run, actor, cb, arg,
                                               sizeof(struct pause_req));
    if (req == NULL)
        return -ENOMEM;
    struct pause_req *m = req->priv;
    m->cadence = store_req_dup(req, cadence);
    m->pause = pause;
    m->until = pause ? until : 0;
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

/* ---- --until: resuming by itself ---- */

static int resume_due_run(struct store *st, struct store_req *req)
{
    struct pause_req *m = req->priv;
    sqlite3_stmt *s;
    int64_t ids[64], leads[64];
    char *names[64];
    size_t n = 0;
    /* A batch at a time; the sequencer looks again while some are left. */
    int rc = store_stmt(&st->wr, "SELECT e.id, e.lead_id, coalesce(e.cadence,"
                        " (SELECT c.name FROM cadences c WHERE c.id = e.cadence_id))"
                        " FROM enrollments e WHERE e.state = 'paused'"
                        " AND e.paused_until IS NOT NULL AND e.paused_until <= ?1"
                        " ORDER BY e.paused_until, e.id LIMIT 64", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->until);
    while (n < 64 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const unsigned char *c = sqlite3_column_text(s, 2);
        ids[n] = sqlite3_column_int64(s, 0);
        leads[n] = sqlite3_column_int64(s, 1);
        names[n] = c != NULL ? strdup((const char *)c) : NULL;
        n++;
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    req->id = 0;
    /* A cadence paused --until is no longer paused once that passed. */
    if (rc == 0)
        rc = run4(st, "DELETE FROM cadence_pauses WHERE until IS NOT NULL AND until <= ?3", 0,
                  NULL, m->until, 0, NULL);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = run4(st, "UPDATE enrollments SET state = 'active', paused_until = NULL,"
                  " reason = NULL WHERE id = ?1 AND state = 'paused'", ids[i], NULL, req->now, 0, NULL);
        if (rc == 0)
            rc = store_event_insert_json(st, req, leads[i], 0, "enrollment_resumed",
                                         json_pack("{s:I, s:s?, s:b}", "enrollment_id",
                                                   (json_int_t)ids[i], "cadence", names[i],
                                                   "until_passed", 1));
        req->id += rc == 0;
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    return rc;
}

int store_enrollments_resume_due(struct store *st, int64_t now, store_done_cb cb, void *arg)
{
    if (st == NULL)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(resume_due_run, NULL, cb, arg,
                                               sizeof(struct pause_req));
    if (req == NULL)
        return -ENOMEM;
    ((struct pause_req *)req->priv)->until = now;
    return store_writer_submit(st, req);
}

int store_enrollment_next_resume(struct store *st, int64_t *at)
{
    sqlite3_stmt *s;
    /* The enrollments_state index (state, ...) keeps this to the paused rows. */
    int rc = store_stmt(&st->rd, "SELECT min(paused_until) FROM enrollments"
                        " WHERE state = 'paused' AND paused_until IS NOT NULL", &s);
    if (rc < 0)
        return rc;
    *at = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}
