/* SPDX-License-Identifier: MIT */
/* daemon/store_inbound.c: inbound events (POST /api/events) made idempotent
 * by the sender's event id. The event row and the inbound_events row that
 * maps the sender's id to it are written in one request, so a webhook that
 * is retried after a timeout finds its first delivery and changes nothing,
 * and no event can exist without its id being taken (or the reverse).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct inbound_req {
    int64_t lead_id;
    const char *source_id, *type, *data;   /* in req->mem; source_id may be NULL */
    bool duplicate;
    store_inbound_cb cb;
    void *arg;
};

/* The event id recorded for source_id on conn c: 0 with *id, or -ENOENT. */
static int inbound_lookup(struct store_conn *c, const char *source_id, int64_t *id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, "SELECT coalesce(event_id, 0) FROM inbound_events"
                        " WHERE source_id = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, source_id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT
       : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    return rc;
}

static int inbound_run(struct store *st, struct store_req *req)
{
    struct inbound_req *m = req->priv;
    sqlite3_stmt *s;
    int rc;

    if (m->source_id != NULL) {
        rc = inbound_lookup(&st->wr, m->source_id, &req->id);
        if (rc == 0) {
            m->duplicate = true;
            return 0;
        }
        if (rc != -ENOENT)
            return rc;
    }
    rc = store_event_insert(st, req->now, m->lead_id, 0, m->type, &req->actor, m->data,
                            &req->id);
    if (rc < 0 || m->source_id == NULL)
        return rc;
    rc = store_stmt(&st->wr, "INSERT INTO inbound_events (source_id, event_id, at)"
                    " VALUES (?1, ?2, ?3)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->source_id);
    sqlite3_bind_int64(s, 2, req->id);
    sqlite3_bind_int64(s, 3, req->now);
    return store_stmt_done(&st->wr, s);
}

static void inbound_done(struct store_req *req)
{
    struct inbound_req *m = req->priv;
    if (m->cb != NULL)
        m->cb(req->status, req->status == 0 ? req->id : 0, req->status == 0 && m->duplicate,
              m->arg);
}

int store_inbound_record(struct store *st, const char *source_id, int64_t lead_id,
                         const char *type, const json_t *data, const struct store_actor *actor,
                         store_inbound_cb cb, void *arg)
{
    if (st == NULL || lead_id <= 0 || type == NULL || *type == '\0' ||
        (data != NULL && !json_is_object(data)) ||
        (source_id != NULL && (*source_id == '\0' || strlen(source_id) > 512)))
        return -EINVAL;
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    if (data != NULL && text == NULL)
        return -ENOMEM;
    struct store_req *req = store_req_new_priv(inbound_run, actor, NULL, NULL,
                                               sizeof(struct inbound_req));
    if (req == NULL) {
        free(text);
        return -ENOMEM;
    }
    struct inbound_req *m = req->priv;
    req->done = inbound_done;
    m->lead_id = lead_id;
    m->source_id = store_req_dup(req, source_id);
    m->type = store_req_dup(req, type);
    m->data = store_req_dup(req, text);
    m->cb = cb;
    m->arg = arg;
    free(text);
    return store_writer_submit(st, req);
}

int store_inbound_find(struct store *st, const char *source_id, int64_t *event_id)
{
    if (st == NULL || source_id == NULL || event_id == NULL)
        return -EINVAL;
    return inbound_lookup(&st->rd, source_id, event_id);
}
