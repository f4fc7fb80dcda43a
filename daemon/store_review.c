/* SPDX-License-Identifier: MIT */
/* daemon/store_review.c: the review queue's store side (store.h, "review"):
 * email touches of `review: true` steps wait as deferred(awaiting_review),
 * which the deferred sweep never releases. A person lists them, reads one
 * with its message, approves it (back to 'scheduled' with a due time) or
 * replaces its message; each move is guarded on the touch still awaiting
 * review, in the transaction that writes its event. Rejection goes through
 * store_touch_finish(), which advances the enrollment. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "store_internal.h"

#define REVIEW_REASON "awaiting_review"

/* The decoded Subject of a stored message, as a JSON string or null
 * (GMime; compose_init() has run in the daemon). */
static json_t *subject_of(const void *blob, int len)
{
    json_t *out = NULL;
    if (blob == NULL || len <= 0)
        return json_null();
    GMimeStream *mem = g_mime_stream_mem_new_with_buffer(blob, (size_t)len);
    GMimeParser *p = g_mime_parser_new_with_stream(mem);
    GMimeMessage *m = g_mime_parser_construct_message(p, NULL);
    const char *subject = m != NULL ? g_mime_message_get_subject(m) : NULL;
    out = subject != NULL ? json_string(subject) : NULL;
    if (m != NULL)
        g_object_unref(m);
    g_object_unref(p);
    g_object_unref(mem);
    return out != NULL ? out : json_null();
}

int store_review_list(struct store *st, int limit, json_t **out)
{
    sqlite3_stmt *s;
    json_t *rows = json_array();
    if (rows == NULL)
        return -ENOMEM;
    int rc = store_stmt(&st->rd,
        "SELECT t.id, t.lead_id, t.enrollment_id, e.cadence, t.step, t.mailbox, t.recipient,"
        " t.due_at, t.created_at,"
        " (SELECT p.payload FROM touch_payloads p WHERE p.touch_id = t.id)"
        /* INDEXED BY: otherwise SQLite walks every touch in id order to
         * serve the LIMIT; the queue is among the deferred ones. */
        " FROM touches t INDEXED BY touches_deferred"
        " LEFT JOIN enrollments e ON e.id = t.enrollment_id"
        " WHERE t.state = 'deferred' AND t.reason = '" REVIEW_REASON "'"
        " ORDER BY t.id LIMIT ?1", &s);
    if (rc < 0) {
        json_decref(rows);
        return rc;
    }
    sqlite3_bind_int(s, 1, limit > 0 ? limit : 100);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *row = store_row_json(s);    /* leaves the payload (a BLOB) out */
        if (row == NULL || json_array_append_new(rows, row) < 0)
            break;
        json_object_set_new(row, "subject", subject_of(sqlite3_column_blob(s, 9),
                                                       sqlite3_column_bytes(s, 9)));
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

int store_review_get(struct store *st, int64_t touch_id, json_t **touch, char **payload,
                     size_t *len)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd,
        "SELECT t.id, t.lead_id, t.enrollment_id, e.cadence, t.step, t.kind, t.mailbox,"
        " t.recipient, t.state, t.reason, t.due_at, t.not_after, t.created_at,"
        " (SELECT p.payload FROM touch_payloads p WHERE p.touch_id = t.id)"
        " FROM touches t LEFT JOIN enrollments e ON e.id = t.enrollment_id"
        " WHERE t.id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
        sqlite3_reset(s);
        return rc;
    }
    json_t *row = store_row_json(s);
    int n = sqlite3_column_bytes(s, 13);
    const void *blob = sqlite3_column_blob(s, 13);
    char *p = malloc((size_t)n + 1);
    if (row == NULL || p == NULL) {
        sqlite3_reset(s);
        json_decref(row);
        free(p);
        return -ENOMEM;
    }
    if (n > 0)
        memcpy(p, blob, (size_t)n);
    p[n] = '\0';
    json_object_set_new(row, "subject", subject_of(p, n));
    sqlite3_reset(s);
    *touch = row;
    *payload = p;
    *len = (size_t)n;
    return 0;
}

struct review_req {
    int64_t touch_id, due, not_after;
    const char *payload;         /* in req->mem; NULL: an approval keeps the message */
    size_t payload_len;
};

/* The guard shared by both moves: the touch's lead while it awaits review,
 * else -ENOENT (approved, rejected or cancelled meanwhile). */
static int review_lead(struct store *st, int64_t touch_id, int64_t *lead)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT lead_id FROM touches WHERE id = ?1 AND"
                        " state = 'deferred' AND reason = '" REVIEW_REASON "'", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    rc = sqlite3_step(s);
    *lead = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE
       ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

static int approve_run(struct store *st, struct store_req *req)
{
    struct review_req *m = req->priv;
    sqlite3_stmt *s;
    int64_t lead = 0;
    int rc = review_lead(st, m->touch_id, &lead);
    if (rc < 0)
        return rc;
    rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'scheduled', reason = NULL,"
                    " due_at = ?2, not_after = ?3, updated_at = ?4 WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->touch_id);
    sqlite3_bind_int64(s, 2, m->due);
    if (m->not_after > 0)
        sqlite3_bind_int64(s, 3, m->not_after);
    sqlite3_bind_int64(s, 4, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    /* An approval with an edit keeps the edited message. */
    if (m->payload != NULL &&
        (rc = store_wr_payload_put(st, m->touch_id, m->payload, m->payload_len)) < 0)
        return rc;
    req->id = m->touch_id;
    return store_event_insert_json(st, req, lead, m->touch_id, "review_approved",
                                   json_pack("{s:I}", "due_at", (json_int_t)m->due));
}

static int edit_run(struct store *st, struct store_req *req)
{
    struct review_req *m = req->priv;
    sqlite3_stmt *s;
    int64_t lead = 0;
    int rc = review_lead(st, m->touch_id, &lead);
    if (rc < 0)
        return rc;
    rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET updated_at = ?2 WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->touch_id);
    sqlite3_bind_int64(s, 2, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0 ||
        (rc = store_wr_payload_put(st, m->touch_id, m->payload, m->payload_len)) < 0)
        return rc;
    req->id = m->touch_id;
    /* The size only: the message itself is personal data. */
    return store_event_insert_json(st, req, lead, m->touch_id, "review_edited",
                                   json_pack("{s:I}", "bytes", (json_int_t)m->payload_len));
}

int store_review_approve(struct store *st, int64_t touch_id, int64_t due, int64_t not_after,
                         const char *payload, size_t len, const struct store_actor *actor,
                         store_done_cb cb, void *arg)
{
    if (touch_id <= 0 || due <= 0)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(approve_run, actor, cb, arg,
                                               sizeof(struct review_req));
    if (req == NULL)
        return -ENOMEM;
    struct review_req *m = req->priv;
    m->touch_id = touch_id;
    m->due = due;
    m->not_after = not_after;
    if (payload != NULL) {
        m->payload = store_req_dupn(req, payload, len);
        m->payload_len = len;
    }
    return store_writer_submit(st, req);
}

int store_review_edit(struct store *st, int64_t touch_id, const char *payload, size_t len,
                      const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (touch_id <= 0 || payload == NULL || len == 0)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(edit_run, actor, cb, arg,
                                               sizeof(struct review_req));
    if (req == NULL)
        return -ENOMEM;
    struct review_req *m = req->priv;
    m->touch_id = touch_id;
    m->payload = store_req_dupn(req, payload, len);
    m->payload_len = len;
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}
