/* SPDX-License-Identifier: MIT */
/* daemon/store_mailboxes.c: paused mailboxes (store.h, "mailboxes").
 *
 * A paused mailbox keeps its leads: moving them would spread whatever made
 * it fail (a bad relay, a revoked password, a blocklisted IP) to the other
 * mailboxes. Its 'scheduled' touches become deferred(mailbox_paused) in the
 * transaction that pauses it, and so do those the sequencer makes for it
 * later, when the dispatcher finds them due (store_mailbox_hold_paused). The
 * deferred sweep never releases them (store_sequencer.c); resuming does, in
 * one transaction, and whatever is past its window is then handled like any
 * touch whose window closed unsent. The claim skips a paused mailbox too
 * (store_claim.c), so a claim queued just before the pause cannot send.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define PAUSED_REASON "mailbox_paused"

struct mailbox_req {
    const char *mailbox, *reason, *detail;   /* in req->mem */
};

/* The touches of m->mailbox still 'scheduled' wait, each with an event on
 * its lead's timeline; req->id counts them. */
static int defer_scheduled(struct store *st, struct store_req *req, const char *mailbox)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO events (at, lead_id, touch_id, type, actor_kind, actor, data)"
        " SELECT ?2, lead_id, id, 'touch_deferred', ?3, ?4,"
        " json_object('reason', '" PAUSED_REASON "', 'mailbox', ?1)"
        " FROM touches WHERE mailbox = ?1 AND state = 'scheduled'", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    sqlite3_bind_int64(s, 2, req->now);
    store_bind_text(s, 3, store_actor_kind_name(req->actor.kind));
    store_bind_text(s, 4, req->actor.name);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'deferred', reason = '" PAUSED_REASON "',"
                    " updated_at = ?2 WHERE mailbox = ?1 AND state = 'scheduled'", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    sqlite3_bind_int64(s, 2, req->now);
    rc = store_stmt_done(&st->wr, s);
    req->id = rc == 0 ? sqlite3_changes(st->wr.db) : 0;
    return rc;
}

static int is_paused_wr(struct store *st, const char *mailbox, bool *paused)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT 1 FROM mailbox_pauses WHERE mailbox = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    *paused = sqlite3_step(s) == SQLITE_ROW;
    sqlite3_reset(s);
    return 0;
}

static int pause_run(struct store *st, struct store_req *req)
{
    struct mailbox_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO mailbox_pauses (mailbox, reason, detail, actor_kind, actor, at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (mailbox) DO NOTHING", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->mailbox);
    store_bind_text(s, 2, m->reason);
    store_bind_text(s, 3, m->detail);
    store_bind_text(s, 4, store_actor_kind_name(req->actor.kind));
    store_bind_text(s, 5, req->actor.name);
    sqlite3_bind_int64(s, 6, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    if (sqlite3_changes(st->wr.db) == 0)
        return -EALREADY;            /* the first pause's reason stays */
    if ((rc = defer_scheduled(st, req, m->mailbox)) < 0)
        return rc;
    return store_event_insert_json(st, req, 0, 0, "mailbox_paused",
                                   json_pack("{s:s, s:s, s:s?, s:I}", "mailbox", m->mailbox,
                                             "reason", m->reason, "detail", m->detail,
                                             "touches_waiting", (json_int_t)req->id));
}

static int hold_run(struct store *st, struct store_req *req)
{
    struct mailbox_req *m = req->priv;
    bool paused;
    int rc = is_paused_wr(st, m->mailbox, &paused);
    if (rc < 0 || !paused)
        return rc;                   /* resumed meanwhile: nothing to hold */
    return defer_scheduled(st, req, m->mailbox);
}

static int resume_run(struct store *st, struct store_req *req)
{
    struct mailbox_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "DELETE FROM mailbox_pauses WHERE mailbox = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->mailbox);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    if (sqlite3_changes(st->wr.db) == 0)
        return -ENOENT;
    rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'scheduled', reason = NULL,"
                    " updated_at = ?2 WHERE mailbox = ?1 AND state = 'deferred'"
                    " AND reason = '" PAUSED_REASON "'", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->mailbox);
    sqlite3_bind_int64(s, 2, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    req->id = sqlite3_changes(st->wr.db);
    return store_event_insert_json(st, req, 0, 0, "mailbox_resumed",
                                   json_pack("{s:s, s:I}", "mailbox", m->mailbox,
                                             "touches_released", (json_int_t)req->id));
}

static int submit(struct store *st, store_req_run_fn run, const char *mailbox,
                  const char *reason, const char *detail, const struct store_actor *actor,
                  store_done_cb cb, void *arg)
{
    if (st == NULL || mailbox == NULL || *mailbox == '\0')
        return -EINVAL;
    struct store_req *req = store_req_new_priv(run, actor, cb, arg, sizeof(struct mailbox_req));
    if (req == NULL)
        return -ENOMEM;
    struct mailbox_req *m = req->priv;
    m->mailbox = store_req_dup(req, mailbox);
    m->reason = store_req_dup(req, reason);
    m->detail = store_req_dup(req, detail);
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_mailbox_pause(struct store *st, const char *mailbox, const char *reason,
                        const char *detail, const struct store_actor *actor, store_done_cb cb,
                        void *arg)
{
    if (reason == NULL || *reason == '\0')
        return -EINVAL;
    return submit(st, pause_run, mailbox, reason, detail, actor, cb, arg);
}

int store_mailbox_hold_paused(struct store *st, const char *mailbox, store_done_cb cb, void *arg)
{
    return submit(st, hold_run, mailbox, NULL, NULL, NULL, cb, arg);
}

int store_mailbox_resume(struct store *st, const char *mailbox, const struct store_actor *actor,
                         store_done_cb cb, void *arg)
{
    return submit(st, resume_run, mailbox, NULL, NULL, actor, cb, arg);
}

int store_mailbox_paused(struct store *st, const char *mailbox, bool *paused)
{
    sqlite3_stmt *s;
    *paused = false;
    int rc = store_stmt(&st->rd, "SELECT 1 FROM mailbox_pauses WHERE mailbox = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    rc = sqlite3_step(s);
    *paused = rc == SQLITE_ROW;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

int store_mailbox_pauses(struct store *st, json_t **out)
{
    sqlite3_stmt *s;
    json_t *rows = json_array();
    if (rows == NULL)
        return -ENOMEM;
    int rc = store_stmt(&st->rd,
        "SELECT p.mailbox, p.reason, p.detail, p.actor_kind, p.actor, p.at,"
        " (SELECT count(*) FROM touches t WHERE t.mailbox = p.mailbox AND t.state = 'deferred'"
        "  AND t.reason = '" PAUSED_REASON "') AS touches_waiting"
        " FROM mailbox_pauses p ORDER BY p.mailbox", &s);
    if (rc < 0) {
        json_decref(rows);
        return rc;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *row = store_row_json(s);
        if (row == NULL || json_array_append_new(rows, row) < 0)
            break;
    }
    rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_ROW ? -ENOMEM
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0) {
        json_decref(rows);
        return rc;
    }
    *out = rows;
    return 0;
}
