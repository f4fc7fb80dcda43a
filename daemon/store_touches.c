/* SPDX-License-Identifier: MIT */
/* daemon/store_touches.c: touches and their state diagram (touch_state.h):
 * creating one with its idempotency key in the same transaction, recording
 * how it ended (only along the diagram's arrows, with an event that carries
 * codes and reasons but no personal data), turning 'sending' into 'in_doubt'
 * at open, and the loop thread's reads. Claiming is in store_claim.c.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "store_internal.h"
#include "strbuf.h"

#define BIT(s) (1u << (s))

/* Where each state may go through store_touch_finish(). SENDING is reached
 * only by a claim; final states go nowhere; in_doubt waits for a person
 * (resend = scheduled, drop = cancelled, or confirmed sent/failed). */
static const unsigned touch_moves[TOUCH_STATE_COUNT] = {
    [TOUCH_SCHEDULED] = BIT(TOUCH_SCHEDULED) | BIT(TOUCH_DEFERRED) | BIT(TOUCH_SENDING) |
                        BIT(TOUCH_SKIPPED) | BIT(TOUCH_CANCELLED),
    [TOUCH_DEFERRED] = BIT(TOUCH_SCHEDULED) | BIT(TOUCH_DEFERRED) | BIT(TOUCH_SKIPPED) |
                       BIT(TOUCH_CANCELLED),
    [TOUCH_SENDING] = BIT(TOUCH_SENT) | BIT(TOUCH_SCHEDULED) | BIT(TOUCH_FAILED) |
                      BIT(TOUCH_IN_DOUBT) | BIT(TOUCH_SKIPPED) | BIT(TOUCH_DEFERRED) |
                      BIT(TOUCH_CANCELLED),
    [TOUCH_IN_DOUBT] = BIT(TOUCH_SCHEDULED) | BIT(TOUCH_CANCELLED) | BIT(TOUCH_SENT) |
                       BIT(TOUCH_FAILED),
};

bool store_touch_can_move(enum touch_state from, enum touch_state to)
{
    if ((int)from < 0 || from >= TOUCH_STATE_COUNT || (int)to < 0 || to >= TOUCH_STATE_COUNT)
        return false;
    return (touch_moves[from] & BIT(to)) != 0;
}

struct touch_req {
    struct store_touch_in in;          /* strings and payload in req->mem */
    struct store_touch_outcome out;    /* for finish; strings in req->mem */
    int64_t touch_id;
};

static struct store_req *touch_req_new(store_req_run_fn run, const struct store_actor *actor,
                                       store_done_cb cb, void *arg)
{
    return store_req_new_priv(run, actor, cb, arg, sizeof(struct touch_req));
}

int store_wr_touch_insert(struct store *st, struct store_req *req, const struct store_touch_in *in,
                          const char *state, const char *reason, int64_t not_after, int64_t *id)
{
    return store_wr_touch_insert_at(st, req->now, in, state, reason, not_after, id);
}

int store_wr_touch_insert_at(struct store *st, int64_t now, const struct store_touch_in *in,
                             const char *state, const char *reason, int64_t not_after,
                             int64_t *id)
{
    sqlite3_stmt *s;
    /* The key needs the row id, so the id is chosen here as SQLite would
     * (one past the largest; only this thread writes) and the key is set in
     * the same insert: a touch never exists without its key, and the unique
     * key index is written once. */
    int rc = store_stmt(&st->wr,
        "INSERT OR FAIL INTO touches (id, idempotency_key, lead_id, enrollment_id, step, kind,"
        " channel, mailbox, recipient, content_type, state, reason, due_at, not_after,"
        " created_at, updated_at)"
        " SELECT n, ?9 || '.' || n, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?10, ?11, ?12, ?13, ?14, ?14"
        " FROM (SELECT coalesce(max(id), 0) + 1 AS n FROM touches)", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, in->lead_id);
    store_bind_id(s, 2, in->enrollment_id);
    sqlite3_bind_int(s, 3, in->step);
    store_bind_text(s, 4, in->kind);
    store_bind_text(s, 5, in->channel);
    store_bind_text(s, 6, in->mailbox);
    store_bind_text(s, 7, in->recipient);
    store_bind_text(s, 8, in->content_type);
    store_bind_text(s, 9, st->store_id);
    store_bind_text(s, 10, state);
    store_bind_text(s, 11, reason);
    sqlite3_bind_int64(s, 12, in->due_at);
    if (not_after > 0)
        sqlite3_bind_int64(s, 13, not_after);
    sqlite3_bind_int64(s, 14, now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    *id = sqlite3_last_insert_rowid(st->wr.db);
    return in->payload != NULL ? store_wr_payload_put(st, *id, in->payload, in->payload_len) : 0;
}

static int touch_create_run(struct store *st, struct store_req *req)
{
    const struct store_touch_in *in = &((struct touch_req *)req->priv)->in;
    int rc = store_wr_touch_insert(st, req, in, "scheduled", NULL, 0, &req->id);
    if (rc < 0)
        return rc;

    json_t *data = json_pack("{s:s, s:s?, s:i}", "kind", in->kind, "channel", in->channel,
                             "step", in->step);
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    if (text == NULL)
        return -ENOMEM;
    rc = store_event_insert(st, req->now, in->lead_id, req->id, "touch_scheduled",
                            &req->actor, text, NULL);
    free(text);
    return rc;
}

int store_touch_create(struct store *st, const struct store_touch_in *in,
                       const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (in == NULL || in->lead_id <= 0 || in->kind == NULL || *in->kind == '\0' ||
        (in->payload == NULL && in->payload_len > 0))
        return -EINVAL;
    struct store_req *req = touch_req_new(touch_create_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct store_touch_in *c = &((struct touch_req *)req->priv)->in;
    *c = *in;
    c->kind = store_req_dup(req, in->kind);
    c->channel = store_req_dup(req, in->channel);
    c->mailbox = store_req_dup(req, in->mailbox);
    c->recipient = store_req_dup(req, in->recipient);
    c->content_type = store_req_dup(req, in->content_type);
    c->payload = store_req_dupn(req, in->payload, in->payload_len);
    return store_writer_submit(st, req);
}

/* A cadence's touch that reached an end moves its enrollment on, in the
 * same transaction (sequencer.h): sent, failed, skipped and cancelled are
 * ends; in_doubt is not (a person decides), nor is a retry. */
static int cadence_step_ended(struct store *st, int64_t touch_id, int64_t enrollment, int step,
                              bool email, enum touch_state to, int64_t now)
{
    if (to != TOUCH_SENT && to != TOUCH_FAILED && to != TOUCH_SKIPPED && to != TOUCH_CANCELLED)
        return 0;
    if (enrollment <= 0)
        return 0;
    if (to == TOUCH_SENT && email)
        return store_wr_enrollment_email_sent(st, enrollment, step, touch_id, now);
    return store_wr_enrollment_step_done(st, enrollment, step, NULL, now);
}

/* True when text needs no JSON escaping: a reason name, an enhanced status
 * code ("5.1.1"). */
static bool plain_token(const char *text)
{
    for (const char *p = text; *p != '\0'; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* Appends ,"key":"text" to b: a plain token as it is, any other text
 * quoted by jansson; a text jansson refuses (not UTF-8) is left out, as
 * json_object_set_new left it out before. Returns 0 or -ENOMEM. */
static int put_text(struct strbuf *b, const char *key, const char *text)
{
    if (plain_token(text))
        return strbuf_printf(b, ",\"%s\":\"%s\"", key, text);
    json_t *str = json_string(text);
    if (str == NULL)
        return 0;
    char *quoted = json_dumps(str, JSON_ENCODE_ANY);
    json_decref(str);
    if (quoted == NULL)
        return -ENOMEM;
    int rc = strbuf_printf(b, ",\"%s\":%s", key, quoted);
    free(quoted);
    return rc;
}

/* The outcome event's data, {"from", "attempts", then "code", "enhanced",
 * "reason" and "retry_at" when set}, printed directly: one per touch on the
 * writer, where building and dumping a jansson object was about 3% of its
 * CPU. Returns a new string, or NULL when out of memory. */
static char *outcome_event_data(enum touch_state from, int64_t attempts,
                                const struct store_touch_outcome *o)
{
    struct strbuf b;
    int rc = strbuf_init(&b, 256);
    if (rc == 0)
        rc = strbuf_printf(&b, "{\"from\":\"%s\",\"attempts\":%lld", touch_state_format(from),
                           (long long)attempts);
    if (rc == 0 && o->code != 0)
        rc = strbuf_printf(&b, ",\"code\":%d", o->code);
    if (rc == 0 && o->enhanced != NULL)
        rc = put_text(&b, "enhanced", o->enhanced);
    if (rc == 0 && o->reason != NULL)
        rc = put_text(&b, "reason", o->reason);
    if (rc == 0 && o->retry_at > 0 && o->state == TOUCH_SCHEDULED)
        rc = strbuf_printf(&b, ",\"retry_at\":%lld", (long long)o->retry_at);
    if (rc == 0)
        rc = strbuf_putc(&b, '}');
    if (rc < 0) {
        strbuf_free(&b);
        return NULL;
    }
    return strbuf_detach(&b, NULL);
}

/* What an outcome reads of its touch before the event and the enrollment. */
struct finish_row {
    enum touch_state from;
    int64_t lead_id, attempts, enrollment;
    int step;
    bool email;
};

static void bind_outcome(sqlite3_stmt *s, const struct store_touch_outcome *o, int64_t touch_id,
                         int64_t now)
{
    sqlite3_bind_int64(s, 1, touch_id);
    store_bind_text(s, 2, touch_state_format(o->state));
    store_bind_text(s, 3, o->reason);
    if (o->code != 0)
        sqlite3_bind_int(s, 4, o->code);
    store_bind_text(s, 5, o->enhanced);
    store_bind_text(s, 6, o->detail);
    sqlite3_bind_int64(s, 7, now);
}

/* The common end, a touch being sent that is sent (for the first time: no
 * sent_at yet), in one statement that also returns what the rest needs.
 * 1: done, with r filled; 0: not that case (nothing changed); < 0: error. */
static int finish_first_send(struct store *st, struct store_req *req, int64_t touch_id,
                             const struct store_touch_outcome *o, struct finish_row *r)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "UPDATE OR FAIL touches SET state = ?2, reason = ?3, code = ?4, enhanced = ?5, detail = ?6,"
        " updated_at = ?7, sent_at = ?7 WHERE id = ?1 AND state = 'sending' AND sent_at IS NULL"
        " RETURNING lead_id, attempts, enrollment_id, step, kind = 'email', mailbox", &s);
    if (rc < 0)
        return rc;
    bind_outcome(s, o, touch_id, req->now);
    store_counts_by_caller(st, true);
    int found = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        found = 1;
        *r = (struct finish_row){
            .from = TOUCH_SENDING, .lead_id = sqlite3_column_int64(s, 0),
            .attempts = sqlite3_column_int64(s, 1), .enrollment = sqlite3_column_int64(s, 2),
            .step = sqlite3_column_int(s, 3), .email = sqlite3_column_int(s, 4) != 0,
        };
        store_counts_move(st, TOUCH_SENDING, TOUCH_SENT, 1);
        store_counts_send(st, (const char *)sqlite3_column_text(s, 5), req->now, 1);
    }
    store_counts_by_caller(st, false);
    rc = rc == SQLITE_DONE ? found : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

/* Any other outcome: the touch is read, the move checked, then written. */
static int finish_any(struct store *st, struct store_req *req, int64_t touch_id,
                      const struct store_touch_outcome *o, struct finish_row *r)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT state, lead_id, attempts, enrollment_id, step,"
                        " kind = 'email', mailbox, sent_at FROM touches WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    rc = sqlite3_step(s);
    r->from = TOUCH_STATE_COUNT;
    if (rc == SQLITE_ROW) {
        touch_state_parse((const char *)sqlite3_column_text(s, 0), &r->from);
        r->lead_id = sqlite3_column_int64(s, 1);
        r->attempts = sqlite3_column_int64(s, 2);
        r->enrollment = sqlite3_column_int64(s, 3);
        r->step = sqlite3_column_int(s, 4);
        r->email = sqlite3_column_int(s, 5) != 0;
        /* A send is counted here, while the row's mailbox is at hand: the
         * UPDATE below moves this very row, and if it fails the request's
         * savepoint takes the count back with it. */
        const char *mailbox = (const char *)sqlite3_column_text(s, 6);
        if (o->state == TOUCH_SENT && store_touch_can_move(r->from, o->state)) {
            if (sqlite3_column_type(s, 7) == SQLITE_INTEGER)   /* sent again: a new minute */
                store_counts_send(st, mailbox, sqlite3_column_int64(s, 7), -1);
            store_counts_send(st, mailbox, req->now, 1);
        }
    }
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE
        ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    if (!store_touch_can_move(r->from, o->state))
        return -EINVAL;

    /* A send assigns no due_at; other outcomes keep sent_at. SQLite
     * rewrites the entries of every index over an assigned column, even
     * when its value stays the same (store_sequencer.c, step_run). */
    rc = store_stmt(&st->wr, o->state == TOUCH_SENT
        ? "UPDATE OR FAIL touches SET state = ?2, reason = ?3, code = ?4, enhanced = ?5,"
          " detail = ?6, updated_at = ?7, sent_at = ?7 WHERE id = ?1"
        : "UPDATE OR FAIL touches SET state = ?2, reason = ?3, code = ?4, enhanced = ?5,"
          " detail = ?6, updated_at = ?7, due_at = CASE WHEN ?8 > 0 THEN ?8 ELSE due_at END"
          " WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    bind_outcome(s, o, touch_id, req->now);
    if (o->state != TOUCH_SENT)
        sqlite3_bind_int64(s, 8, o->state == TOUCH_SCHEDULED || o->state == TOUCH_DEFERRED
                                     ? o->retry_at : 0);
    store_counts_by_caller(st, true);
    rc = store_stmt_done(&st->wr, s);
    store_counts_by_caller(st, false);
    if (rc < 0)
        return rc;
    store_counts_move(st, r->from, o->state, sqlite3_changes(st->wr.db));
    return 0;
}

static int touch_finish_run(struct store *st, struct store_req *req)
{
    struct touch_req *t = req->priv;
    const struct store_touch_outcome *o = &t->out;
    struct finish_row r = { 0 };
    int rc = o->state == TOUCH_SENT ? finish_first_send(st, req, t->touch_id, o, &r) : 0;
    if (rc == 0)
        rc = finish_any(st, req, t->touch_id, o, &r);
    if (rc < 0)
        return rc;
    req->id = t->touch_id;
    if ((rc = cadence_step_ended(st, t->touch_id, r.enrollment, r.step, r.email, o->state,
                                 req->now)) < 0)
        return rc;

    /* detail stays on the touch: relay texts often quote the address. */
    char type[32];
    snprintf(type, sizeof(type), "touch_%s", touch_state_format(o->state));
    char *data = outcome_event_data(r.from, r.attempts, o);
    if (data == NULL)
        return -ENOMEM;
    rc = store_event_insert(st, req->now, r.lead_id, t->touch_id, type, &req->actor, data, NULL);
    free(data);
    return rc;
}

int store_touch_finish(struct store *st, int64_t touch_id,
                       const struct store_touch_outcome *outcome,
                       const struct store_actor *actor, store_done_cb cb, void *arg)
{
    /* No state reaches 'sending' but through a claim. */
    if (touch_id <= 0 || outcome == NULL || (int)outcome->state < 0 ||
        outcome->state >= TOUCH_STATE_COUNT || outcome->state == TOUCH_SENDING)
        return -EINVAL;
    struct store_req *req = touch_req_new(touch_finish_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct touch_req *t = req->priv;
    req->lazy_sync = outcome->lazy_sync;
    req->rerunnable = true;      /* SQL only: it reads the touch again */
    t->touch_id = touch_id;
    t->out = *outcome;
    t->out.reason = store_req_dup(req, outcome->reason);
    t->out.enhanced = store_req_dup(req, outcome->enhanced);
    t->out.detail = store_req_dup(req, outcome->detail);
    return store_writer_submit(st, req);
}

int store_touches_recover(struct store *st, int64_t *n)
{
    int64_t now = clock_now_ms();
    sqlite3_stmt *s;
    int rc = store_exec(&st->wr, "BEGIN IMMEDIATE");
    if (rc < 0)
        return rc;
    rc = store_stmt(&st->wr,
        "INSERT INTO events (at, lead_id, touch_id, type, actor_kind, actor, data)"
        " SELECT ?1, lead_id, id, 'touch_in_doubt', 'system', NULL,"
        " json_object('from', 'sending', 'reason', 'interrupted', 'attempts', attempts)"
        " FROM touches INDEXED BY touches_sending WHERE state = 'sending' ORDER BY id", &s);
    if (rc == 0) {
        sqlite3_bind_int64(s, 1, now);
        rc = store_stmt_done(&st->wr, s);
    }
    if (rc == 0)
        rc = store_stmt(&st->wr,
            "UPDATE OR FAIL touches SET state = 'in_doubt', reason = 'interrupted', updated_at = ?1"
            " WHERE state = 'sending'", &s);
    if (rc == 0) {
        sqlite3_bind_int64(s, 1, now);
        rc = store_stmt_done(&st->wr, s);
    }
    if (rc == 0) {
        *n = sqlite3_changes64(st->wr.db);
        rc = store_counts_flush(st);
    }
    if (rc == 0)
        rc = store_exec(&st->wr, "COMMIT");
    if (rc < 0) {
        if (!sqlite3_get_autocommit(st->wr.db))
            store_exec(&st->wr, "ROLLBACK");
        store_counts_discard(st);
    }
    return rc;
}

/* Every column but the payload, whose size is shown instead. */
#define TOUCH_COLUMNS \
    "id, lead_id, enrollment_id, step, kind, channel, mailbox, recipient, content_type," \
    " (SELECT length(p.payload) FROM touch_payloads p WHERE p.touch_id = touches.id)" \
    " AS payload_bytes, state, reason, due_at, attempts, idempotency_key," \
    " code, enhanced, detail, created_at, updated_at, sent_at"

int store_touch_get(struct store *st, int64_t touch_id, json_t **out)
{
    return store_row_by_id(&st->rd, "SELECT " TOUCH_COLUMNS " FROM touches WHERE id = ?1",
                           touch_id, out);
}

int store_touches_list(struct store *st, int state, int limit, json_t **out)
{
    sqlite3_stmt *s;
    int rc;

    if (limit <= 0)
        limit = 100;
    if (state >= TOUCH_STATE_COUNT)
        return -EINVAL;
    if (state >= 0) {
        rc = store_stmt(&st->rd, "SELECT " TOUCH_COLUMNS " FROM touches WHERE state = ?1"
                        " ORDER BY id DESC LIMIT ?2", &s);
        if (rc < 0)
            return rc;
        store_bind_text(s, 1, touch_state_format((enum touch_state)state));
        sqlite3_bind_int(s, 2, limit);
    } else {
        rc = store_stmt(&st->rd, "SELECT " TOUCH_COLUMNS " FROM touches"
                        " ORDER BY id DESC LIMIT ?1", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int(s, 1, limit);
    }
    return store_rows_json(&st->rd, s, out);
}

int store_touch_next_due(struct store *st, const char *channel, int64_t *due_at)
{
    sqlite3_stmt *s;
    if (channel == NULL)
        return -EINVAL;
    int rc = store_stmt(&st->rd, "SELECT min(due_at) FROM touches"
                        " WHERE channel = ?1 AND state = 'scheduled'", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, channel);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        *due_at = sqlite3_column_int64(s, 0);
    rc = rc != SQLITE_ROW ? store_sqlite_errno(sqlite3_extended_errcode(st->rd.db))
       : sqlite3_column_type(s, 0) == SQLITE_NULL ? -ENOENT : 0;
    sqlite3_reset(s);
    return rc;
}

int store_touch_next_due_mailbox(struct store *st, const char *channel, int64_t now,
                                 int64_t *due_at, char *mailbox, size_t cap)
{
    sqlite3_stmt *s;
    if (channel == NULL || cap == 0)
        return -EINVAL;
    /* touches_due (channel, due_at over scheduled touches) gives the
     * earliest row directly (named: the planner must not take
     * touches_claim, whose order is per mailbox, and sort). */
    int rc = store_stmt(&st->rd, "SELECT due_at, mailbox FROM touches"
                        " INDEXED BY touches_due"
                        " WHERE channel = ?1 AND state = 'scheduled'"
                        " AND (not_after IS NULL OR not_after > ?2)"
                        /* As the claim: a paused enrollment's touch is not
                         * due, or the dispatcher would spin on it. */
                        " AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE"
                        " e.id = touches.enrollment_id AND e.state = 'paused')"
                        " ORDER BY due_at, id LIMIT 1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, channel);
    sqlite3_bind_int64(s, 2, now);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *mb = sqlite3_column_text(s, 1);
        *due_at = sqlite3_column_int64(s, 0);
        snprintf(mailbox, cap, "%s", mb != NULL ? (const char *)mb : "");
        rc = 0;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}
