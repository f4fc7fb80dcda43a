/* SPDX-License-Identifier: MIT */
/* daemon/store_sequencer.c: the writer-side moves of an enrollment from one
 * step to the next (sequencer.h). They run inside the transaction that
 * records why the step ended, so the move and its cause commit together. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

int store_wr_enrollment_step_done(struct store *st, int64_t enrollment_id, int step,
                                  const char *outcome, int64_t now)
{
    sqlite3_stmt *s;
    if (enrollment_id <= 0)
        return 0;
    int rc = store_stmt(&st->wr,
        "UPDATE enrollments SET step = step + 1, due_at = ?3, step_started_at = ?3,"
        " last_outcome = coalesce(?4, last_outcome)"
        " WHERE id = ?1 AND step = ?2 AND state IN ('active', 'paused')", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, enrollment_id);
    sqlite3_bind_int(s, 2, step);
    sqlite3_bind_int64(s, 3, now);
    store_bind_text(s, 4, outcome);
    return store_stmt_done(&st->wr, s);
}

int store_wr_enrollment_email_sent(struct store *st, int64_t enrollment_id, int step,
                                   int64_t touch_id, int64_t now)
{
    sqlite3_stmt *s;
    if (enrollment_id <= 0)
        return 0;
    /* One row write for both: SET expressions read the old row, so "moves"
     * is decided on the step the touch belonged to. */
    int rc = store_stmt(&st->wr,
        "UPDATE enrollments SET last_email_touch = ?4,"
        " step = CASE WHEN step = ?2 AND state IN ('active', 'paused') THEN step + 1 ELSE step END,"
        " due_at = CASE WHEN step = ?2 AND state IN ('active', 'paused') THEN ?3 ELSE due_at END,"
        " step_started_at = CASE WHEN step = ?2 AND state IN ('active', 'paused') THEN ?3"
        "  ELSE step_started_at END"
        " WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, enrollment_id);
    sqlite3_bind_int(s, 2, step);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, touch_id);
    return store_stmt_done(&st->wr, s);
}

int store_rd_due_ids(struct store *st, const char *sql, int64_t now, int64_t *ids, size_t cap,
                     size_t *n, int64_t *next_at)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, sql, &s);
    if (rc < 0)
        return rc;
    *n = 0;
    *next_at = 0;
    sqlite3_bind_int64(s, 1, (int64_t)cap + 1);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(s, 1);
        if (at > now || *n == cap) {
            *next_at = at;
            break;
        }
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    }
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

int store_enrollments_due(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                          int64_t *next_at)
{
    /* INDEXED BY: without ANALYZE data SQLite picks enrollments_state and
     * sorts every active enrollment on each sequencer pass. */
    return store_rd_due_ids(st, "SELECT id, due_at FROM enrollments INDEXED BY enrollments_due"
                            " WHERE state = 'active' AND due_at IS NOT NULL"
                            " ORDER BY due_at, id LIMIT ?1",
                            now, ids, cap, n, next_at);
}

int store_enrollment_get(struct store *st, int64_t id, json_t **out)
{
    return store_row_by_id(&st->rd, "SELECT e.id, e.lead_id, e.cadence_id, e.cadence, e.state,"
                           " e.step, e.mailbox, e.started_at, e.due_at, e.step_started_at,"
                           " e.last_outcome, e.last_email_touch, e.reason, c.version,"
                           " (SELECT t.id FROM tasks t WHERE t.enrollment_id = e.id AND"
                           "  t.step = e.step AND t.state = 'open') AS open_task"
                           " FROM enrollments e JOIN cadences c ON c.id = e.cadence_id"
                           " WHERE e.id = ?1",
                           id, out);
}

int store_enrollments_list(struct store *st, const char *cadence, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT e.id, e.lead_id, e.cadence, c.version, e.state, e.step,"
                        " e.mailbox, e.started_at, e.due_at, e.ended_at, e.reason"
                        " FROM enrollments e JOIN cadences c ON c.id = e.cadence_id"
                        " WHERE (?1 IS NULL OR e.cadence = ?1) AND (?2 = 0 OR e.lead_id = ?2)"
                        " ORDER BY e.id LIMIT 10000", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, cadence);
    sqlite3_bind_int64(s, 2, lead_id);
    return store_rows_json(&st->rd, s, out);
}

/* ---- writing what a step did ---- */

struct step_req {
    struct store_step_write w;
    struct store_touch_in touch;   /* strings in req->mem */
    const char *touch_state, *touch_reason;
    const char *task_kind, *task_owner, *task_title, *task_script;
    const char *event;
    const char *event_data;        /* compact JSON */
};

static int insert_touch(struct store *st, struct store_req *req, struct step_req *m,
                        int64_t *id)
{
    const struct store_touch_in *in = &m->touch;
    int rc = store_wr_touch_insert(st, req, in, m->touch_state, m->touch_reason, m->w.not_after,
                                   id);
    if (rc < 0)
        return rc;
    char type[32];
    snprintf(type, sizeof(type), "touch_%s", m->touch_state);
    return store_event_insert_json(st, req, in->lead_id, *id, type,
                                   json_pack("{s:s, s:s?, s:i, s:s?, s:I}", "kind", in->kind,
                                             "channel", in->channel, "step", in->step,
                                             "reason", m->touch_reason, "enrollment_id",
                                             (json_int_t)in->enrollment_id));
}

static int insert_task(struct store *st, struct store_req *req, struct step_req *m)
{
    struct store_wr_task t = {
        .lead_id = m->w.lead_id, .kind = m->task_kind, .owner = m->task_owner,
        .priority = m->w.task_priority, .due_at = m->w.task_due, .script = m->task_script,
        .title = m->task_title, .enrollment_id = m->w.enrollment_id, .step = m->w.at_step,
    };
    int64_t id;
    return store_wr_task_insert(st, req, &t, &id);
}

static int step_run(struct store *st, struct store_req *req)
{
    struct step_req *m = req->priv;
    const struct store_step_write *w = &m->w;
    sqlite3_stmt *s;
    int rc;

    /* The guard: the enrollment must still be where the sequencer read it.
     * Two statements, because SQLite rewrites an index entry whenever its
     * column is assigned, even to the same value: a move that also said
     * "state = state" rewrote enrollments_state and enrollments_cadence
     * for every step of every enrollment, twice the row's cost. */
    rc = store_stmt(&st->wr, w->finish
        ? "UPDATE enrollments SET step = ?3, due_at = ?4,"
          " step_started_at = CASE WHEN ?5 > 0 THEN ?5 ELSE step_started_at END,"
          " state = 'completed', ended_at = ?6, reason = 'completed'"
          " WHERE id = ?1 AND step = ?2 AND state = 'active' AND due_at IS NOT NULL"
        : "UPDATE enrollments SET step = ?3, due_at = ?4,"
          " step_started_at = CASE WHEN ?5 > 0 THEN ?5 ELSE step_started_at END"
          " WHERE id = ?1 AND step = ?2 AND state = 'active' AND due_at IS NOT NULL", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, w->enrollment_id);
    sqlite3_bind_int(s, 2, w->at_step);
    sqlite3_bind_int(s, 3, w->next_step);
    if (w->next_due > 0)
        sqlite3_bind_int64(s, 4, w->next_due);
    sqlite3_bind_int64(s, 5, w->next_started);
    if (w->finish)
        sqlite3_bind_int64(s, 6, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    if (sqlite3_changes(st->wr.db) != 1)
        return -ESTALE;              /* moved on meanwhile (an exit, a pause): write nothing */
    if (w->close_open_task) {
        rc = store_stmt(&st->wr, "UPDATE tasks SET state = 'skipped', outcome = ?3,"
                        " done_at = ?4 WHERE enrollment_id = ?1 AND step = ?2 AND state = 'open'",
                        &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, w->enrollment_id);
        sqlite3_bind_int(s, 2, w->at_step);
        store_bind_text(s, 3, "call_overdue");
        sqlite3_bind_int64(s, 4, req->now);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
    }
    if (m->touch.kind != NULL) {
        int64_t id = 0;
        if ((rc = insert_touch(st, req, m, &id)) < 0)
            return rc;
        req->id = id;
    }
    if (m->task_kind != NULL && (rc = insert_task(st, req, m)) < 0)
        return rc;
    if (m->event != NULL)
        rc = store_event_insert(st, req->now, w->lead_id, 0, m->event, &req->actor,
                                m->event_data, NULL);
    return rc;
}

int store_step_write(struct store *st, const struct store_step_write *w, store_done_cb cb,
                     void *arg)
{
    struct store_actor actor = { STORE_ACTOR_RULE, "cadence" };
    struct store_req *req = store_req_new_priv(step_run, &actor, cb, arg,
                                               sizeof(struct step_req));
    if (req == NULL)
        return -ENOMEM;
    /* Lost in a power cut, the enrollment is back where it was and the
     * sequencer runs the step again, making its touch or task anew. No
     * touch it made is sent before a claim, whose fsync covers this too. */
    req->lazy_sync = true;
    req->rerunnable = true;      /* SQL only: the guard reads the enrollment again */
    struct step_req *m = req->priv;
    m->w = *w;
    if (w->touch != NULL) {
        m->touch = *w->touch;
        m->touch.kind = store_req_dup(req, w->touch->kind);
        m->touch.channel = store_req_dup(req, w->touch->channel);
        m->touch.mailbox = store_req_dup(req, w->touch->mailbox);
        m->touch.recipient = store_req_dup(req, w->touch->recipient);
        m->touch.content_type = store_req_dup(req, w->touch->content_type);
        m->touch.payload = store_req_dupn(req, w->touch->payload, w->touch->payload_len);
        m->touch_state = store_req_dup(req, w->touch_state != NULL ? w->touch_state
                                                                   : "scheduled");
        m->touch_reason = store_req_dup(req, w->touch_reason);
    }
    m->w.touch = NULL;
    m->task_kind = store_req_dup(req, w->task_kind);
    m->task_owner = store_req_dup(req, w->task_owner);
    m->task_title = store_req_dup(req, w->task_title);
    m->task_script = store_req_dup(req, w->task_script);
    m->event = store_req_dup(req, w->event);
    m->event_data = store_req_dup(req, w->event_data);
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_touch_payload(struct store *st, int64_t touch_id, char **payload, int *step)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT (SELECT p.payload FROM touch_payloads p"
                        " WHERE p.touch_id = touches.id), step FROM touches WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int n = sqlite3_column_bytes(s, 0);
        const void *p = sqlite3_column_blob(s, 0);
        *payload = malloc((size_t)n + 1);
        if (*payload != NULL) {
            if (n > 0)
                memcpy(*payload, p, (size_t)n);
            (*payload)[n] = '\0';
        }
        *step = sqlite3_column_int(s, 1);
        rc = *payload != NULL ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- deferred touches ---- */

static int release_run(struct store *st, struct store_req *req)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'scheduled', reason = NULL,"
                        " updated_at = ?1 WHERE id IN (SELECT id FROM touches"
                        " INDEXED BY touches_deferred WHERE state = 'deferred' AND due_at <= ?1"
                        " AND coalesce(reason, '') NOT IN ('awaiting_review', 'mailbox_paused')"
                        " ORDER BY due_at LIMIT ?2)", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, req->now);
    sqlite3_bind_int(s, 2, STORE_RELEASE_CHUNK);
    store_counts_by_caller(st, true);
    rc = store_stmt_done(&st->wr, s);
    store_counts_by_caller(st, false);
    req->id = rc == 0 ? sqlite3_changes(st->wr.db) : 0;
    store_counts_move(st, TOUCH_DEFERRED, TOUCH_SCHEDULED, req->id);
    return rc;
}

int store_touches_release_deferred(struct store *st, store_done_cb cb, void *arg)
{
    struct store_req *req = store_req_new(release_run, NULL, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    req->lazy_sync = true;       /* lost in a power cut: released again */
    req->rerunnable = true;
    return store_writer_submit(st, req);
}

int store_touch_next_deferred(struct store *st, int64_t *at)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT min(due_at) FROM touches WHERE state = 'deferred'"
                        " AND coalesce(reason, '') NOT IN ('awaiting_review', 'mailbox_paused')", &s);
    if (rc < 0)
        return rc;
    *at = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}

int store_touches_missed(struct store *st, int64_t now, int64_t *ids, size_t cap, size_t *n,
                         int64_t *next_close)
{
    sqlite3_stmt *s;
    /* touches_scheduled_not_after (migration 6) gives them in order; the
     * planner would otherwise sort every scheduled touch on each pass. */
    int rc = store_stmt(&st->rd, "SELECT id, not_after FROM touches"
                        " INDEXED BY touches_scheduled_not_after WHERE state = 'scheduled'"
                        " AND not_after IS NOT NULL ORDER BY not_after LIMIT ?1", &s);
    if (rc < 0)
        return rc;
    *n = 0;
    *next_close = 0;
    sqlite3_bind_int64(s, 1, (int64_t)cap + 1);
    while (sqlite3_step(s) == SQLITE_ROW) {
        int64_t at = sqlite3_column_int64(s, 1);
        if (at > now || *n == cap) {
            *next_close = at;
            break;
        }
        ids[(*n)++] = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    return 0;
}

struct defer_req {
    int64_t id, due, not_after;
    const char *reason;
};

static int defer_run(struct store *st, struct store_req *req)
{
    struct defer_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'deferred', reason = ?2,"
                        " due_at = ?3, not_after = ?4, updated_at = ?5"
                        " WHERE id = ?1 AND state = 'scheduled' RETURNING lead_id", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->id);
    store_bind_text(s, 2, m->reason);
    sqlite3_bind_int64(s, 3, m->due);
    if (m->not_after > 0)
        sqlite3_bind_int64(s, 4, m->not_after);
    else
        sqlite3_bind_null(s, 4);      /* no window close (a cap's deferral) */
    sqlite3_bind_int64(s, 5, req->now);
    int64_t lead = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        lead = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (lead == 0)
        return 0;                /* claimed or ended meanwhile */
    return store_event_insert_json(st, req, lead, m->id, "touch_deferred",
                                   json_pack("{s:s, s:I}", "reason", m->reason, "until",
                                             (json_int_t)m->due));
}

int store_touch_defer(struct store *st, int64_t touch_id, int64_t due, int64_t not_after,
                      const char *reason, store_done_cb cb, void *arg)
{
    struct store_req *req = store_req_new_priv(defer_run, NULL, cb, arg,
                                               sizeof(struct defer_req));
    if (req == NULL)
        return -ENOMEM;
    struct defer_req *m = req->priv;
    m->id = touch_id;
    m->due = due;
    m->not_after = not_after;
    m->reason = store_req_dup(req, reason);
    return store_writer_submit(st, req);
}

int store_next_event_at(struct store *st, int64_t after, int64_t *at)
{
    sqlite3_stmt *s;
    /* Each branch reads the first row of an index walk in order (a min()
     * over "state IN (...)" or through enrollments_state would visit every
     * row past ?1: all of the backlog, on each step of the test clock).
     * Scheduled touches are indexed by (channel, due_at) (touches_due): the
     * channels are walked one index probe each (a skip-scan, recursive CTE
     * ch), and each channel's first due time after ?1 is one more probe. */
    int rc = store_stmt(&st->rd,
        "WITH RECURSIVE ch(c) AS ("
        " SELECT (SELECT channel FROM touches INDEXED BY touches_due"
        "  WHERE state = 'scheduled' AND channel IS NOT NULL ORDER BY channel LIMIT 1)"
        " UNION ALL SELECT (SELECT channel FROM touches INDEXED BY touches_due"
        "  WHERE state = 'scheduled' AND channel > ch.c ORDER BY channel LIMIT 1)"
        "  FROM ch WHERE ch.c IS NOT NULL)"
        "SELECT min(t) FROM ("
        " SELECT (SELECT due_at FROM enrollments INDEXED BY enrollments_due"
        "  WHERE state = 'active' AND due_at IS NOT NULL AND due_at > ?1"
        "  ORDER BY due_at LIMIT 1) AS t"
        " UNION ALL SELECT (SELECT due_at FROM touches INDEXED BY touches_due"
        "  WHERE state = 'scheduled' AND channel = ch.c AND due_at > ?1"
        "  AND reason IS NOT 'awaiting_review' AND reason IS NOT 'mailbox_paused'"
        "  ORDER BY due_at LIMIT 1) FROM ch WHERE ch.c IS NOT NULL"
        " UNION ALL SELECT (SELECT due_at FROM touches INDEXED BY touches_due"
        "  WHERE state = 'scheduled' AND channel IS NULL AND due_at > ?1"
        "  AND reason IS NOT 'awaiting_review' AND reason IS NOT 'mailbox_paused'"
        "  ORDER BY due_at LIMIT 1)"
        " UNION ALL SELECT (SELECT due_at FROM touches INDEXED BY touches_deferred"
        "  WHERE state = 'deferred' AND due_at > ?1 AND reason IS NOT 'awaiting_review'"
        "  AND reason IS NOT 'mailbox_paused' ORDER BY due_at LIMIT 1)"
        " UNION ALL SELECT (SELECT not_after FROM touches"
        "  INDEXED BY touches_scheduled_not_after WHERE state = 'scheduled'"
        "  AND not_after IS NOT NULL AND not_after > ?1 ORDER BY not_after LIMIT 1)"
        " UNION ALL SELECT min(paused_until) FROM enrollments WHERE state = 'paused'"
        "  AND paused_until > ?1)", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, after);
    *at = 0;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *at = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return 0;
}
