/* SPDX-License-Identifier: MIT */
/* daemon/store_tasks.c: the store side of prospectors' call lists (calls.h):
 * the open call tasks due by a given instant with what a caller needs to
 * know about each lead (the fields, the subjects of the last emails sent,
 * the last notes), closing a task with its outcome, and finding a lead's
 * oldest open call task.
 *
 * Closing is one transaction: the task ends, the notes go into lead_texts
 * (personal data stays out of the event log), a "call_logged" event records
 * the outcome, and the enrollment the task belongs to moves past its call
 * step. A task that is no longer open is refused with -ENOENT, so closing
 * twice can never advance an enrollment twice.
 *
 * Subjects are read from the stored message itself (the composed MIME
 * text): the raw "Subject:" header, unfolded, then RFC 2047-decoded by
 * GMime (compose_init() must have run).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gmime/gmime.h>

#include "store_internal.h"

/* How much of a payload is read to find its Subject: headers come first. */
#define SUBJECT_SCAN_BYTES 16384
#define CONTEXT_ROWS 3

/* ---- the call list (read connection) ---- */

/* The unfolded value of the first "Subject:" header of a message's header
 * block, malloc'd, or NULL when it has none. */
static char *raw_subject(const char *msg, size_t len)
{
    const char *p = msg, *end = msg + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        size_t line = (size_t)((eol != NULL ? eol : end) - p);
        if (line == 0 || (line == 1 && p[0] == '\r'))
            return NULL;                         /* end of the headers */
        if (line >= 8 && strncasecmp(p, "Subject:", 8) == 0) {
            char *out = malloc(len + 1);
            size_t n = 0;
            if (out == NULL)
                return NULL;
            const char *q = p + 8;
            /* Copy the value and its continuation lines, dropping line ends
             * (RFC 5322 unfolding). */
            while (q < end) {
                if (*q == '\r' || *q == '\n') {
                    const char *next = memchr(q, '\n', (size_t)(end - q));
                    if (next == NULL || next + 1 >= end || (next[1] != ' ' && next[1] != '\t'))
                        break;
                    q = next + 1;
                    continue;
                }
                out[n++] = *q++;
            }
            out[n] = '\0';
            return out;
        }
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return NULL;
}

/* The decoded subject as a new JSON string, or JSON null. */
static json_t *subject_json(const void *blob, int len)
{
    if (blob == NULL || len <= 0)
        return json_null();
    char *raw = raw_subject(blob, (size_t)len);
    if (raw == NULL)
        return json_null();
    char *start = raw;
    while (*start == ' ' || *start == '\t')
        start++;
    char *text = g_mime_utils_header_decode_text(NULL, start);
    json_t *v = json_string(text != NULL ? text : start);
    if (v == NULL)                               /* not UTF-8 after all */
        v = json_null();
    g_free(text);
    free(raw);
    return v;
}

static int last_emails(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    json_t *arr = json_array();
    if (arr == NULL)
        return -ENOMEM;
    int rc = store_stmt(&st->rd,
        "SELECT id, sent_at, (SELECT substr(p.payload, 1, ?2) FROM touch_payloads p"
        " WHERE p.touch_id = touches.id) FROM touches WHERE lead_id = ?1"
        " AND kind = 'email' AND state = 'sent' ORDER BY sent_at DESC, id DESC LIMIT ?3", &s);
    if (rc < 0)
        goto fail;
    sqlite3_bind_int64(s, 1, lead_id);
    sqlite3_bind_int(s, 2, SUBJECT_SCAN_BYTES);
    sqlite3_bind_int(s, 3, CONTEXT_ROWS);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *row = json_pack("{s:I, s:o, s:o}", "id", (json_int_t)sqlite3_column_int64(s, 0),
                                "sent_at", sqlite3_column_type(s, 1) == SQLITE_NULL
                                    ? json_null() : json_integer(sqlite3_column_int64(s, 1)),
                                "subject", subject_json(sqlite3_column_blob(s, 2),
                                                        sqlite3_column_bytes(s, 2)));
        if (row == NULL || json_array_append_new(arr, row) < 0) {
            sqlite3_reset(s);
            rc = -ENOMEM;
            goto fail;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0)
        goto fail;
    *out = arr;
    return 0;

fail:
    json_decref(arr);
    return rc;
}

static int last_notes(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd,
        "SELECT id, kind, body, at FROM lead_texts WHERE lead_id = ?1"
        " AND kind IN ('note', 'call_note') ORDER BY at DESC, id DESC LIMIT ?2", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    sqlite3_bind_int(s, 2, CONTEXT_ROWS);
    return store_rows_json(&st->rd, s, out);
}

int store_calls_list(struct store *st, const char *owner, int64_t until_ms, json_t **out)
{
    sqlite3_stmt *s;
    json_t *calls = NULL, *c;
    size_t i;
    /* Priorities run 1 (first) .. 5; a task without one (0) comes last. */
    int rc = store_stmt(&st->rd,
        "SELECT t.id, t.lead_id, t.owner, t.priority, t.due_at, t.title, t.script,"
        " t.enrollment_id, t.step, l.first_name, l.last_name, l.company,"
        " l.title AS lead_title, l.phone, l.timezone, l.country, l.email"
        " FROM tasks t LEFT JOIN leads l ON l.id = t.lead_id"
        " WHERE t.state = 'open' AND t.kind = 'call' AND (?1 IS NULL OR t.owner = ?1)"
        " AND t.due_at < ?2"
        " ORDER BY CASE WHEN t.priority > 0 THEN t.priority ELSE 1000 END, t.due_at, t.id", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, owner);
    sqlite3_bind_int64(s, 2, until_ms);
    rc = store_rows_json(&st->rd, s, &calls);
    if (rc < 0)
        return rc;
    json_array_foreach(calls, i, c) {
        json_t *emails = NULL, *notes = NULL;
        json_int_t lead_id = json_integer_value(json_object_get(c, "lead_id"));
        if ((rc = last_emails(st, lead_id, &emails)) < 0)
            goto fail;
        if ((rc = last_notes(st, lead_id, &notes)) < 0) {
            json_decref(emails);
            goto fail;
        }
        json_object_set_new(c, "last_emails", emails);
        json_object_set_new(c, "notes", notes);
    }
    *out = calls;
    return 0;

fail:
    json_decref(calls);
    return rc;
}

int store_task_open_for_lead(struct store *st, int64_t lead_id, int64_t *task_id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd,
        "SELECT id FROM tasks WHERE lead_id = ?1 AND state = 'open' AND kind = 'call'"
        " ORDER BY due_at, id LIMIT 1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *task_id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE
       ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}

/* ---- closing a task (writer thread) ---- */

struct close_req {
    int64_t task_id;
    const char *outcome, *notes;     /* in req->mem */
};

static int close_run(struct store *st, struct store_req *req)
{
    struct close_req *m = req->priv;
    sqlite3_stmt *s;
    int64_t lead_id = 0, enrollment_id = 0;
    int step = 0;
    /* The UPDATE itself decides whether the task was still open, so two
     * closes racing in one batch cannot both pass. */
    int rc = store_stmt(&st->wr,
        "UPDATE tasks SET state = 'done', outcome = ?2, done_at = ?3"
        " WHERE id = ?1 AND state = 'open' RETURNING lead_id, enrollment_id, step", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->task_id);
    store_bind_text(s, 2, m->outcome);
    sqlite3_bind_int64(s, 3, req->now);
    rc = sqlite3_step(s);
    bool found = rc == SQLITE_ROW;
    if (found) {
        lead_id = sqlite3_column_int64(s, 0);
        enrollment_id = sqlite3_column_int64(s, 1);
        step = sqlite3_column_int(s, 2);
        rc = sqlite3_step(s);                    /* RETURNING: run it to the end */
    }
    rc = rc != SQLITE_DONE ? store_sqlite_errno(sqlite3_extended_errcode(st->wr.db))
       : found ? 0 : -ENOENT;
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    req->id = m->task_id;

    if (m->notes != NULL && *m->notes != '\0' && lead_id > 0) {
        rc = store_stmt(&st->wr, "INSERT INTO lead_texts (lead_id, kind, body, at)"
                        " VALUES (?1, 'call_note', ?2, ?3)", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, lead_id);
        store_bind_text(s, 2, m->notes);
        sqlite3_bind_int64(s, 3, req->now);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
    }
    /* The notes are personal data: the event says only what happened. */
    rc = store_event_insert_json(st, req, lead_id, 0, "call_logged",
                                 json_pack("{s:I, s:s}", "task_id", (json_int_t)m->task_id,
                                           "outcome", m->outcome));
    if (rc < 0)
        return rc;
    return store_wr_enrollment_step_done(st, enrollment_id, step, m->outcome, req->now);
}

int store_task_close(struct store *st, int64_t task_id, const char *outcome, const char *notes,
                     const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (task_id <= 0 || outcome == NULL || *outcome == '\0')
        return -EINVAL;
    struct store_req *req = store_req_new_priv(close_run, actor, cb, arg,
                                               sizeof(struct close_req));
    if (req == NULL)
        return -ENOMEM;
    struct close_req *m = req->priv;
    m->task_id = task_id;
    m->outcome = store_req_dup(req, outcome);
    m->notes = store_req_dup(req, notes);
    return store_writer_submit(st, req);
}
