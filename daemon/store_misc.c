/* SPDX-License-Identifier: MIT */
/* daemon/store_misc.c: the smaller tables: call tasks, suppression (by email
 * or domain), per-mailbox daily send counters and per plugin instance
 * key/value state. Counters live in the store rather than in the process so
 * that caps would hold across several daemons (DESIGN.md, "Scale-out").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* The fields any of these writes needs, copied into the request. */
struct misc_req {
    const char *a, *b, *c, *d;       /* in req->mem */
    size_t len;
    int64_t i1, i2, i3;
    int num;
};

static struct store_req *misc_req_new(store_req_run_fn run, const struct store_actor *actor,
                                      store_done_cb cb, void *arg)
{
    return store_req_new_priv(run, actor, cb, arg, sizeof(struct misc_req));
}

/* ---- tasks ---- */

int store_wr_task_insert(struct store *st, struct store_req *req, const struct store_wr_task *t,
                         int64_t *id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO tasks (lead_id, touch_id, kind, owner, priority, due_at, state, script,"
        " title, enrollment_id, step, created_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'open', ?7, ?8, ?9, ?10, ?11)", &s);
    if (rc < 0)
        return rc;
    store_bind_id(s, 1, t->lead_id);
    store_bind_id(s, 2, t->touch_id);
    store_bind_text(s, 3, t->kind);
    store_bind_text(s, 4, t->owner);
    sqlite3_bind_int(s, 5, t->priority);
    sqlite3_bind_int64(s, 6, t->due_at);
    store_bind_text(s, 7, t->script);
    store_bind_text(s, 8, t->title);
    store_bind_id(s, 9, t->enrollment_id);
    if (t->enrollment_id > 0)
        sqlite3_bind_int(s, 10, t->step);
    else
        sqlite3_bind_null(s, 10);
    sqlite3_bind_int64(s, 11, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(st->wr.db);
    return store_event_insert_json(st, req, t->lead_id, t->touch_id, "task_created",
                                   json_pack("{s:I, s:s, s:s?, s:i, s:o?}", "task_id",
                                             (json_int_t)*id, "kind", t->kind, "owner",
                                             t->owner, "priority", t->priority, "step",
                                             t->enrollment_id > 0 ? json_integer(t->step)
                                                                  : NULL));
}

/* a = kind, b = owner, c = script; i1 lead, i2 touch, i3 due */
static int task_run(struct store *st, struct store_req *req)
{
    struct misc_req *m = req->priv;
    struct store_wr_task t = {
        .lead_id = m->i1, .touch_id = m->i2, .kind = m->a, .owner = m->b,
        .priority = m->num, .due_at = m->i3, .script = m->c,
    };
    return store_wr_task_insert(st, req, &t, &req->id);
}

int store_task_create(struct store *st, const struct store_task_in *in,
                      const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (in == NULL || in->kind == NULL || *in->kind == '\0')
        return -EINVAL;
    struct store_req *req = misc_req_new(task_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct misc_req *m = req->priv;
    m->a = store_req_dup(req, in->kind);
    m->b = store_req_dup(req, in->owner);
    m->c = store_req_dup(req, in->script);
    m->i1 = in->lead_id;
    m->i2 = in->touch_id;
    m->i3 = in->due_at;
    m->num = in->priority;
    return store_writer_submit(st, req);
}

/* ---- suppression: a = kind, b = value, c = reason ---- */

static int suppress_run(struct store *st, struct store_req *req)
{
    struct misc_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO suppression (kind, value, reason, at) VALUES (?1, ?2, ?3, ?4)"
        " ON CONFLICT (kind, value) DO UPDATE SET kind = excluded.kind RETURNING id", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    store_bind_text(s, 2, m->b);
    store_bind_text(s, 3, m->c);
    sqlite3_bind_int64(s, 4, req->now);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        req->id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;

    /* Flag the leads it covers, so lists and reports show it at once. */
    rc = store_stmt(&st->wr,
        "UPDATE leads SET suppressed = 1, updated_at = ?3 WHERE suppressed = 0 AND"
        " ((?1 = 'email' AND email = ?2) OR (?1 = 'domain' AND domain = ?2))", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    store_bind_text(s, 2, m->b);
    sqlite3_bind_int64(s, 3, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;

    /* The value stays out of the event: an email address is personal. */
    int64_t lead_id = 0;
    if (strcmp(m->a, "email") == 0 && (rc = store_wr_lead_id_by_email(st, m->b, &lead_id)) < 0)
        return rc;
    return store_event_insert_json(st, req, lead_id, 0, "suppressed",
                                   json_pack("{s:s, s:s?}", "kind", m->a, "reason", m->c));
}

int store_suppress(struct store *st, const char *kind, const char *value,
                   const char *reason, const struct store_actor *actor,
                   store_done_cb cb, void *arg)
{
    if (kind == NULL || value == NULL || *value == '\0' ||
        (strcmp(kind, "email") != 0 && strcmp(kind, "domain") != 0))
        return -EINVAL;
    struct store_req *req = misc_req_new(suppress_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct misc_req *m = req->priv;
    m->a = store_req_dup(req, kind);
    m->b = store_req_dup(req, value);
    m->c = store_req_dup(req, reason);
    store_lower((char *)m->b);
    return store_writer_submit(st, req);
}

int store_read_begin(struct store *st)
{
    if (!sqlite3_get_autocommit(st->rd.db))
        return -EALREADY;
    return store_exec(&st->rd, "BEGIN");
}

void store_read_end(struct store *st)
{
    if (!sqlite3_get_autocommit(st->rd.db))
        store_exec(&st->rd, "COMMIT");
}

int store_is_suppressed(struct store *st, const char *email, bool *out)
{
    sqlite3_stmt *s;
    if (email == NULL)
        return -EINVAL;
    char *key = strdup(email);
    if (key == NULL)
        return -ENOMEM;
    store_lower(key);
    const char *at = strrchr(key, '@');
    /* A forgotten lead's address is only kept as its hash (store_admin.c). */
    char hash[65];
    int rc = store_email_hash(key, hash);
    if (rc == 0)
        rc = store_stmt(&st->rd, "SELECT EXISTS (SELECT 1 FROM suppression WHERE"
                        " (kind = 'email' AND value = ?1) OR (kind = 'domain' AND value = ?2)"
                        " OR (kind = 'email_hash' AND value = ?3))", &s);
    if (rc == 0) {
        store_bind_text(s, 1, key);
        store_bind_text(s, 2, at != NULL ? at + 1 : key);
        store_bind_text(s, 3, hash);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int(s, 0) != 0;
        rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
        sqlite3_reset(s);
    }
    free(key);
    return rc;
}

/* ---- mailbox counters: a = mailbox; i1 = day, i2 = n ---- */

static int count_add_run(struct store *st, struct store_req *req)
{
    struct misc_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO mailbox_counters (mailbox, day, count) VALUES (?1, ?2, ?3)"
        " ON CONFLICT (mailbox, day) DO UPDATE SET count = count + excluded.count"
        " RETURNING count", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    sqlite3_bind_int64(s, 2, m->i1);
    sqlite3_bind_int64(s, 3, m->i2);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        req->id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

int store_mailbox_count_add(struct store *st, const char *mailbox, int64_t day,
                            int64_t n, store_done_cb cb, void *arg)
{
    if (mailbox == NULL)
        return -EINVAL;
    struct store_req *req = misc_req_new(count_add_run, NULL, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct misc_req *m = req->priv;
    m->a = store_req_dup(req, mailbox);
    m->i1 = day;
    m->i2 = n;
    return store_writer_submit(st, req);
}

int store_mailbox_count_get(struct store *st, const char *mailbox, int64_t day,
                            int64_t *out)
{
    sqlite3_stmt *s;
    if (mailbox == NULL)
        return -EINVAL;
    int rc = store_stmt(&st->rd, "SELECT coalesce((SELECT count FROM mailbox_counters"
                        " WHERE mailbox = ?1 AND day = ?2), 0)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    sqlite3_bind_int64(s, 2, day);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

/* ---- mailbox caps: read-only looks from the dispatcher ---- */

int store_mailbox_sends(struct store *st, const char *mailbox, int64_t since,
                        struct store_mailbox_sends *out)
{
    sqlite3_stmt *s;
    if (mailbox == NULL || out == NULL)
        return -EINVAL;
    /* The count sums the window's whole minutes (mailbox_send_minutes,
     * migration 9: at most 1,440 rows, whatever the volume) and counts the
     * sends of its first, partial minute one by one; the min and max are
     * one seek each in touches_mailbox_sent (migration 5); 'sending' rows
     * are few (one batch per session). Floor division: since may be before
     * the epoch on a test clock. */
    int64_t first_minute = since >= 0 ? since / 60000 : -((-since + 59999) / 60000);
    int rc = store_stmt(&st->rd, "SELECT"
        " (SELECT coalesce(sum(n), 0) FROM mailbox_send_minutes WHERE mailbox = ?1"
        "   AND minute > ?3)"
        " + (SELECT count(*) FROM touches WHERE mailbox = ?1 AND sent_at > ?2"
        "   AND sent_at < ?4),"
        " (SELECT min(sent_at) FROM touches WHERE mailbox = ?1 AND sent_at > ?2),"
        " (SELECT max(sent_at) FROM touches WHERE mailbox = ?1 AND sent_at IS NOT NULL),"
        " (SELECT count(*) FROM touches WHERE state = 'sending' AND mailbox = ?1)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, mailbox);
    sqlite3_bind_int64(s, 2, since);
    sqlite3_bind_int64(s, 3, first_minute);
    sqlite3_bind_int64(s, 4, (first_minute + 1) * 60000);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->sending = sqlite3_column_int64(s, 3);
        out->in_window = sqlite3_column_int64(s, 0) + out->sending;
        out->oldest = sqlite3_column_int64(s, 1);   /* NULL reads as 0 */
        out->last = sqlite3_column_int64(s, 2);
        rc = 0;
    } else {
        rc = store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}

int store_mailbox_held(struct store *st, const char *channel, const char *mailbox,
                       int64_t now, int64_t *ids, int64_t *not_after, size_t cap, size_t *n)
{
    sqlite3_stmt *s;
    *n = 0;
    if (channel == NULL || mailbox == NULL)
        return -EINVAL;
    /* The same rows and order as the claim (store_claim.c), on the same
     * index walk (touches_claim): no sort of the mailbox's backlog. */
    int rc = store_stmt(&st->rd, "SELECT id, not_after FROM touches INDEXED BY touches_claim"
        " WHERE state = 'scheduled' AND channel = ?1 AND mailbox = ?2"
        " AND (step = 0) IN (0, 1) AND due_at <= ?3"
        " AND (not_after IS NULL OR not_after > ?3)"
        " AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.id = touches.enrollment_id"
        " AND e.state = 'paused') ORDER BY step = 0, due_at, id LIMIT ?4", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, channel);
    store_bind_text(s, 2, mailbox);
    sqlite3_bind_int64(s, 3, now);
    sqlite3_bind_int64(s, 4, (int64_t)cap);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
        ids[*n] = sqlite3_column_int64(s, 0);
        not_after[*n] = sqlite3_column_int64(s, 1);
        (*n)++;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
                                               : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

/* ---- plugin key/value: a = instance, b = key, c = value (len bytes) ---- */

static int kv_run(struct store *st, struct store_req *req)
{
    struct misc_req *m = req->priv;
    sqlite3_stmt *s;
    int rc;
    if (m->c == NULL) {
        rc = store_stmt(&st->wr, "DELETE FROM plugin_kv WHERE instance = ?1 AND key = ?2", &s);
    } else {
        rc = store_stmt(&st->wr, "INSERT INTO plugin_kv (instance, key, value)"
                        " VALUES (?1, ?2, ?3) ON CONFLICT (instance, key)"
                        " DO UPDATE SET value = excluded.value", &s);
    }
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    store_bind_text(s, 2, m->b);
    if (m->c != NULL)
        sqlite3_bind_blob64(s, 3, m->c, m->len, SQLITE_STATIC);
    return store_stmt_done(&st->wr, s);
}

int store_kv_set(struct store *st, const char *instance, const char *key,
                 const char *value, size_t len, store_done_cb cb, void *arg)
{
    if (instance == NULL || key == NULL)
        return -EINVAL;
    struct store_req *req = misc_req_new(kv_run, NULL, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct misc_req *m = req->priv;
    m->a = store_req_dup(req, instance);
    m->b = store_req_dup(req, key);
    m->c = store_req_dupn(req, value, len);
    m->len = len;
    return store_writer_submit(st, req);
}

int store_kv_get(struct store *st, const char *instance, const char *key,
                 char **value, size_t *len)
{
    sqlite3_stmt *s;
    if (instance == NULL || key == NULL)
        return -EINVAL;
    int rc = store_stmt(&st->rd, "SELECT value FROM plugin_kv WHERE instance = ?1 AND key = ?2",
                        &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, instance);
    store_bind_text(s, 2, key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *p = sqlite3_column_blob(s, 0);
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        char *copy = malloc(n + 1);
        if (copy != NULL) {
            if (n > 0)
                memcpy(copy, p, n);
            copy[n] = '\0';
            *value = copy;
            if (len != NULL)
                *len = n;
        }
        rc = copy != NULL ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT
                               : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}
