/* SPDX-License-Identifier: MIT */
/* daemon/store_events.c: the append-only event log: the writer-side insert
 * every other write uses, store_event_append() for callers, and the newest
 * events of one lead or of all. Event data never holds personal data; a
 * trigger refuses updates, so a row once written stays as written.
 */
#include <errno.h>
#include <stdlib.h>

#include "store_internal.h"

int store_event_insert(struct store *st, int64_t at, int64_t lead_id, int64_t touch_id,
                       const char *type, const struct store_req_actor *actor,
                       const char *data_json, int64_t *id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
                        "INSERT INTO events (at, lead_id, touch_id, type, actor_kind, actor,"
                        " data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, '{}'))", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, at);
    store_bind_id(s, 2, lead_id);
    store_bind_id(s, 3, touch_id);
    store_bind_text(s, 4, type);
    store_bind_text(s, 5, store_actor_kind_name(actor != NULL ? actor->kind
                                                               : STORE_ACTOR_SYSTEM));
    store_bind_text(s, 6, actor != NULL ? actor->name : NULL);
    store_bind_text(s, 7, data_json);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;
    int64_t event_id = sqlite3_last_insert_rowid(st->wr.db);
    if (id != NULL)
        *id = event_id;
    /* Subscribers' notifications go in with the event, in its transaction:
     * they exist exactly when the event does. */
    if (st->notify != NULL && lead_id > 0)
        rc = store_notify_event(st, event_id, at, lead_id, touch_id, type, actor, data_json);
    return rc;
}

struct event_req {
    int64_t lead_id, touch_id;
    const char *type, *data;    /* in req->mem */
};

static int event_run(struct store *st, struct store_req *req)
{
    struct event_req *e = req->priv;
    return store_event_insert(st, req->now, e->lead_id, e->touch_id, e->type, &req->actor,
                              e->data, &req->id);
}

int store_event_append(struct store *st, int64_t lead_id, int64_t touch_id,
                       const char *type, const struct store_actor *actor,
                       const json_t *data, store_done_cb cb, void *arg)
{
    if (type == NULL || *type == '\0' || (data != NULL && !json_is_object(data)))
        return -EINVAL;
    struct store_req *req = store_req_new_priv(event_run, actor, cb, arg, sizeof(struct event_req));
    if (req == NULL)
        return -ENOMEM;
    struct event_req *e = req->priv;
    e->lead_id = lead_id;
    e->touch_id = touch_id;
    e->type = store_req_dup(req, type);
    if (data != NULL) {
        char *text = json_dumps(data, JSON_COMPACT);
        if (text == NULL)
            req->oom = true;
        e->data = store_req_dup(req, text);
        free(text);
    }
    return store_writer_submit(st, req);
}

int store_events_list(struct store *st, int64_t lead_id, int limit, json_t **out)
{
    sqlite3_stmt *s;
    int rc;

    if (limit <= 0)
        limit = 100;
    if (lead_id > 0) {
        rc = store_stmt(&st->rd, "SELECT id, at, ?1 AS lead_id, touch_id, type, actor_kind,"
                        " actor, data FROM events WHERE " STORE_EVENTS_OF_LEAD
                        " ORDER BY id DESC LIMIT ?2", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, lead_id);
        sqlite3_bind_int(s, 2, limit);
    } else {
        rc = store_stmt(&st->rd, "SELECT id, at, lead_id, lead_last, touch_id, type,"
                        " actor_kind, actor, data FROM events ORDER BY id DESC LIMIT ?1", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int(s, 1, limit);
    }
    return store_rows_json(&st->rd, s, out);
}

int store_event_insert_json(struct store *st, struct store_req *req, int64_t lead_id,
                            int64_t touch_id, const char *type, json_t *data)
{
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL)
        return -ENOMEM;
    int rc = store_event_insert(st, req->now, lead_id, touch_id, type, &req->actor, text, NULL);
    free(text);
    return rc;
}

int store_wr_lead_id_by_email(struct store *st, const char *email, int64_t *id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT id FROM leads WHERE email = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, email);
    *id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return 0;
}
