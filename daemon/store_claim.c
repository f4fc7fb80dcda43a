/* SPDX-License-Identifier: MIT */
/* daemon/store_claim.c: claiming due touches for a channel. The rows move
 * from 'scheduled' to 'sending' in one UPDATE ... RETURNING on the writer,
 * and the callback sees them only after that commit is durable: claim before
 * the side effect, so a crash leaves 'sending' rows that become 'in_doubt'
 * and are never sent twice (DESIGN.md, "Durability").
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

struct claim_row {
    struct store_claimed c;     /* strings owned (malloc'd) */
    int64_t due_at;
};

struct claim_req {
    struct store *st;                /* borrowed: the done step reads on its loop connection */
    const char *channel, *mailbox;   /* in req->mem */
    const char *throttle;            /* {"cadence": first touches left}; in req->mem or NULL */
    int limit;
    int64_t now;
    store_claim_cb cb;
    void *arg;
    struct claim_row *rows;
    size_t n;
};

static void claim_rows_free(struct claim_req *c)
{
    for (size_t i = 0; i < c->n; i++) {
        struct store_claimed *t = &c->rows[i].c;
        free((char *)t->channel);
        free((char *)t->mailbox);
        free((char *)t->recipient);
        free((char *)t->content_type);
        free((char *)t->payload);
        free((char *)t->idempotency_key);
        free((char *)t->kind);
    }
    free(c->rows);
    c->rows = NULL;
    c->n = 0;
}

static char *column_dup(sqlite3_stmt *s, int i, size_t *len, bool *oom)
{
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return NULL;
    const void *p = sqlite3_column_blob(s, i);
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    char *copy = malloc(n + 1);
    if (copy == NULL) {
        *oom = true;
        return NULL;
    }
    if (n > 0)
        memcpy(copy, p, n);
    copy[n] = '\0';
    if (len != NULL)
        *len = n;
    return copy;
}

/* RETURNING gives rows in no promised order: restore oldest due first. */
static int claim_row_cmp(const void *a, const void *b)
{
    const struct claim_row *x = a, *y = b;
    if (x->due_at != y->due_at)
        return x->due_at < y->due_at ? -1 : 1;
    return x->c.touch_id < y->c.touch_id ? -1 : x->c.touch_id > y->c.touch_id;
}

/* The claim's statements. With a mailbox (every claim of the dispatcher
 * for a touch that has one), the walk is on touches_claim (migration 6):
 * (channel, mailbox, step = 0, due_at) over scheduled touches, so it reads
 * the LIMIT rows it takes in claim order, follow-ups (step = 0 false) before
 * new first touches, and never sorts the mailbox's whole backlog. The
 * "(step = 0) IN (0, 1)" term is always true: it lets the planner walk that
 * index column in order. INDEXED BY because without ANALYZE data SQLite
 * may prefer touches_due and sort. Without a mailbox (touches
 * that have none), every mailbox of the channel is a candidate, and the
 * rows are sorted. */
#define CLAIM_COLUMNS \
    " RETURNING id, lead_id, channel, mailbox, recipient, content_type, NULL," \
    " idempotency_key, attempts, due_at, kind"
#define CLAIM_SQL(from, mailbox_term) \
    "UPDATE OR FAIL touches SET state = 'sending', attempts = attempts + 1, updated_at = ?5" \
    " WHERE id IN (SELECT id FROM touches " from " WHERE state = 'scheduled' AND channel = ?1" \
    mailbox_term " AND due_at <= ?3" \
    " AND (not_after IS NULL OR not_after > ?3)" \
    /* A paused enrollment's touches wait (store_pause.c): a primary-key \
     * probe per candidate row. */ \
    " AND NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.id = touches.enrollment_id" \
    " AND e.state = 'paused')" \
    /* A paused mailbox sends nothing, even for a claim queued before \
     * its pause committed (store_mailboxes.c). */ \
    " AND NOT EXISTS (SELECT 1 FROM mailbox_pauses p WHERE p.mailbox = touches.mailbox)" \
    /* When a mailbox cap limits the claim, follow-ups go before new \
     * first touches (step 0): a started conversation is kept warm. */ \
    " ORDER BY step = 0, due_at, id LIMIT ?4)" CLAIM_COLUMNS
#define CLAIM_MAILBOX_SQL \
    CLAIM_SQL("INDEXED BY touches_claim", " AND mailbox = ?2 AND (step = 0) IN (0, 1)")
#define CLAIM_ANY_SQL CLAIM_SQL("", " AND ?2 IS NULL")

/* With a per-cadence throttle: the same rows, except that each throttled
 * cadence's first touches (step 0) are numbered in claim order and only as
 * many as it has left are taken. Kept apart so that claims without a
 * throttle stay a plain index walk; this one numbers every due touch of the
 * mailbox (the window function needs them all), read from touches_claim. */
#define CLAIM_THROTTLED_SQL(from, mailbox_term) \
    "UPDATE OR FAIL touches SET state = 'sending', attempts = attempts + 1, updated_at = ?5" \
    " WHERE id IN (SELECT id FROM (SELECT t.id, t.step, t.due_at, e.cadence AS cad," \
    "  row_number() OVER (PARTITION BY t.step = 0, e.cadence ORDER BY t.due_at, t.id) AS rn" \
    "  FROM touches t " from " LEFT JOIN enrollments e ON e.id = t.enrollment_id" \
    "  WHERE t.state = 'scheduled' AND t.channel = ?1" mailbox_term \
    "  AND t.due_at <= ?3 AND (t.not_after IS NULL OR t.not_after > ?3)" \
    "  AND (e.state IS NULL OR e.state <> 'paused')" \
    "  AND NOT EXISTS (SELECT 1 FROM mailbox_pauses p WHERE p.mailbox = t.mailbox))" \
    " WHERE step <> 0 OR cad IS NULL" \
    "  OR rn <= coalesce((SELECT value FROM json_each(?6) WHERE key = cad), rn)" \
    " ORDER BY step = 0, due_at, id LIMIT ?4)" CLAIM_COLUMNS
#define CLAIM_THROTTLED_MAILBOX_SQL \
    CLAIM_THROTTLED_SQL("INDEXED BY touches_claim", \
                        " AND t.mailbox = ?2 AND (t.step = 0) IN (0, 1)")
#define CLAIM_THROTTLED_ANY_SQL CLAIM_THROTTLED_SQL("", " AND ?2 IS NULL")

static int claim_run(struct store *st, struct store_req *req)
{
    struct claim_req *c = req->priv;
    sqlite3_stmt *s;
    bool oom = false;
    const char *sql = c->throttle != NULL
                    ? (c->mailbox != NULL ? CLAIM_THROTTLED_MAILBOX_SQL : CLAIM_THROTTLED_ANY_SQL)
                    : (c->mailbox != NULL ? CLAIM_MAILBOX_SQL : CLAIM_ANY_SQL);
    int rc = store_stmt(&st->wr, sql, &s);
    if (rc < 0)
        return rc;
    c->rows = calloc((size_t)c->limit, sizeof(*c->rows));
    if (c->rows == NULL) {
        sqlite3_reset(s);
        return -ENOMEM;
    }
    store_bind_text(s, 1, c->channel);
    store_bind_text(s, 2, c->mailbox);
    sqlite3_bind_int64(s, 3, c->now);
    sqlite3_bind_int(s, 4, c->limit);
    sqlite3_bind_int64(s, 5, req->now);
    if (c->throttle != NULL)
        store_bind_text(s, 6, c->throttle);
    store_counts_by_caller(st, true);     /* every row it returns moved scheduled -> sending */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && c->n < (size_t)c->limit) {
        struct claim_row *r = &c->rows[c->n++];
        r->c.touch_id = sqlite3_column_int64(s, 0);
        r->c.lead_id = sqlite3_column_int64(s, 1);
        r->c.channel = column_dup(s, 2, NULL, &oom);
        r->c.mailbox = column_dup(s, 3, NULL, &oom);
        r->c.recipient = column_dup(s, 4, NULL, &oom);
        r->c.content_type = column_dup(s, 5, NULL, &oom);
        r->c.idempotency_key = column_dup(s, 7, NULL, &oom);
        r->c.attempts = sqlite3_column_int(s, 8);
        r->due_at = sqlite3_column_int64(s, 9);
        r->c.kind = column_dup(s, 10, NULL, &oom);
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    store_counts_by_caller(st, false);
    if (rc == 0)
        store_counts_move(st, TOUCH_SCHEDULED, TOUCH_SENDING, (int64_t)c->n);
    if (rc == 0 && oom)
        rc = -ENOMEM;
    if (rc < 0) {
        claim_rows_free(c);       /* the savepoint rolls the claim back */
        return rc;
    }
    qsort(c->rows, c->n, sizeof(*c->rows), claim_row_cmp);
    req->id = (int64_t)c->n;
    return 0;
}

/* Loop thread: the claimed touches' message bytes, read on the loop's own
 * connection after the claim committed (they were written when each touch
 * was made and no longer change), so the writer, which every claim and
 * outcome waits for, does not copy megabytes per batch. */
static int claim_read_payloads(struct store *st, struct claim_req *c)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT payload FROM touch_payloads WHERE touch_id = ?1", &s);
    for (size_t i = 0; rc == 0 && i < c->n; i++) {
        struct store_claimed *t = &c->rows[i].c;
        bool oom = false;
        sqlite3_bind_int64(s, 1, t->touch_id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            t->payload = column_dup(s, 0, &t->payload_len, &oom);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE
           ? (oom ? -ENOMEM : 0) : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
        sqlite3_reset(s);
    }
    return rc;
}

static void claim_done(struct store_req *req)
{
    struct claim_req *c = req->priv;
    struct store_claimed *list = NULL;

    /* One read transaction for the payloads and whatever the callback reads
     * per touch (it joins this one). */
    bool reading = req->status == 0 && c->n > 0 && store_read_begin(c->st) == 0;
    if (req->status == 0 && c->n > 0) {
        int rc = claim_read_payloads(c->st, c);
        if (rc < 0) {
            /* Committed but not sendable: they surface as in_doubt at the
             * next start, never sent twice. */
            if (reading)
                store_read_end(c->st);
            c->cb(rc, NULL, 0, c->arg);
            return;
        }
    }
    if (req->status == 0 && c->n > 0) {
        list = calloc(c->n, sizeof(*list));
        if (list == NULL) {
            /* The claim is committed but cannot be handed over: report it,
             * and the rows surface as in_doubt at the next start. */
            c->cb(-ENOMEM, NULL, 0, c->arg);
            return;
        }
        for (size_t i = 0; i < c->n; i++)
            list[i] = c->rows[i].c;
    }
    c->cb(req->status, list, req->status == 0 ? c->n : 0, c->arg);
    free(list);
    if (reading)
        store_read_end(c->st);
}

static void claim_req_free(struct store_req *req)
{
    struct claim_req *c = req->priv;
    if (c != NULL)
        claim_rows_free(c);
    free(c);
}

int store_touch_claim(struct store *st, const char *channel, const char *mailbox,
                      int limit, int64_t now, store_claim_cb cb, void *arg)
{
    return store_touch_claim_throttled(st, channel, mailbox, NULL, limit, now, cb, arg);
}

int store_touch_claim_throttled(struct store *st, const char *channel, const char *mailbox,
                                const char *throttle, int limit, int64_t now, store_claim_cb cb,
                                void *arg)
{
    if (channel == NULL || limit <= 0 || cb == NULL)
        return -EINVAL;
    struct store_req *req = store_req_new(claim_run, NULL, NULL, NULL);
    struct claim_req *c = calloc(1, sizeof(*c));
    if (req == NULL || c == NULL) {
        free(c);
        store_req_free(req);
        return -ENOMEM;
    }
    req->priv = c;
    req->cleanup = claim_req_free;
    req->done = claim_done;
    c->st = st;
    c->channel = store_req_dup(req, channel);
    c->mailbox = store_req_dup(req, mailbox);
    c->throttle = store_req_dup(req, throttle);
    c->limit = limit;
    c->now = now;
    c->cb = cb;
    c->arg = arg;
    return store_writer_submit(st, req);
}
