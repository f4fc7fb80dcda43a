/* SPDX-License-Identifier: MIT */
/* daemon/store_internal.h: what the SQLite backend's files (store_*.c) share
 * and nobody else may see: struct store itself, the per-connection prepared
 * statement cache, SQLite-to-errno mapping, row-to-JSON conversion and the
 * writer-side helpers that every write uses (event rows, actor names).
 *
 * Threads: st->rd is used only on the loop thread; st->wr only on the writer
 * thread once it runs (and on the loop thread before it starts and after it
 * has been joined). The counters in st->writer are guarded by its mutex.
 *
 * Ownership:
 *   struct store          see store.h; store_close() frees it.
 *   struct store_conn     embedded in struct store; owns its sqlite3 handle
 *                         and every cached statement (store_conn_close()).
 *   store_stmt() results  borrowed from the cache: reset them after use,
 *                         never finalize them.
 *   store_row_json()      returns a new reference.
 */
#ifndef DRUMBEAT_STORE_INTERNAL_H
#define DRUMBEAT_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"
#include "store_checkpoint.h"
#include "store_counts.h"
#include "store_name_filter.h"
#include "store_writer.h"

#define STORE_STMT_SLOTS 128
/* How long a connection waits for a lock another one holds. */
#define STORE_BUSY_TIMEOUT_MS 5000

/* Every INSERT into or UPDATE of touches says OR FAIL: with the triggers on
 * touches, an ABORT statement would make SQLite copy each page it changes
 * into a statement journal (store_migrations.c, migration 9); the writer
 * undoes a failed request whole instead.
 *
 * Every write to touches goes through st->wr, whose pre-update hook counts
 * the state moves for touch_counts (store_counts.h): a transaction there
 * commits through store_counts_flush(), and a ROLLBACK TO restores the
 * counts' mark from its SAVEPOINT. */

/* How many minutes of a mailbox's sends mailbox_send_minutes keeps behind
 * its newest (migration 9): 25 hours, more than the longest rolling window
 * a cap counts (24 hours) plus its partial first minute. */
#define STORE_SEND_MINUTES_KEPT "1500"

/* One SQLite connection and its prepared statements, keyed by the address of
 * the SQL text (a string literal), so a statement is prepared once. */
struct store_conn {
    sqlite3 *db;
    struct {
        const char *sql;        /* borrowed: a string literal */
        sqlite3_stmt *stmt;
    } slot[STORE_STMT_SLOTS];
};

struct store {
    uv_loop_t *loop;            /* borrowed */
    char path[512];
    char store_id[40];
    int schema_version;
    struct store_conn rd;       /* loop thread: short indexed reads */
    struct store_conn wr;       /* writer thread: every write */
    struct store_counts counts; /* with wr: touch_counts deltas (store_counts.h) */
    struct store_name_filter names; /* with wr: an import's name keys (store_name_filter.h) */
    struct store_writer writer;
    struct store_checkpointer ck;   /* its own thread and connection */
    /* Event notifications (store_notify.c). */
    struct store_notify_set *notify;    /* writer thread only */
    bool notify_created;                /* writer thread: this batch made some */
    bool notify_kick;                   /* under writer.mu: committed, not yet told */
    void (*notify_hook)(void *arg);     /* loop thread */
    void *notify_hook_arg;
};

/* Opens path on c with the pragmas every connection needs (WAL,
 * synchronous=FULL, foreign keys, busy timeout). query_only marks the loop
 * thread's read connection. Fills err with the path and SQLite's reason. */
int store_conn_open(struct store_conn *c, const char *path, bool query_only,
                    struct errbuf *err);
/* Finalizes the cached statements and closes the connection. */
void store_conn_close(struct store_conn *c);
/* The cached statement for sql (a string literal), reset and unbound. */
int store_stmt(struct store_conn *c, const char *sql, sqlite3_stmt **out);
/* Runs a statement with no result rows to completion and resets it. */
int store_stmt_done(struct store_conn *c, sqlite3_stmt *stmt);
/* Runs one literal SQL text (no parameters) with sqlite3_exec. */
int store_exec(struct store_conn *c, const char *sql);
/* Runs a literal SQL text (a count, a PRAGMA, an EXISTS) through the
 * statement cache and reads its first row's first column as an integer. */
int store_query_int(struct store_conn *c, const char *sql, int64_t *out);
/* Runs sql (one parameter, ?1 = id) through the statement cache and gives
 * its first row as a new JSON object (store_row_json): 0, -ENOENT when there
 * is none, or a negative errno. */
int store_row_by_id(struct store_conn *c, const char *sql, int64_t id, json_t **out);
/* A negative errno for a SQLite result code (extended codes understood). */
int store_sqlite_errno(int rc);

/* The index of column in table (as a row's values number them, for the
 * pre-update hook), or -EPROTO when there is none. */
int store_column_index(struct store_conn *c, const char *table, const char *column, int *out);
/* Binds text or NULL; binds 0 as NULL for optional ids. */
int store_bind_text(sqlite3_stmt *s, int i, const char *text);
int store_bind_id(sqlite3_stmt *s, int i, int64_t id);

/* The current row as an object keyed by column name; columns named attrs,
 * data or definition are parsed as JSON; BLOB columns are left out. */
json_t *store_row_json(sqlite3_stmt *s);
/* Steps s to the end, appending each row (store_row_json) to a new array. */
int store_rows_json(struct store_conn *c, sqlite3_stmt *s, json_t **out);

/* "system", "person" or "rule". */
const char *store_actor_kind_name(enum store_actor_kind kind);

/* The events of lead ?1, for a WHERE clause: its own (lead_last is NULL),
 * and the lead_created event of the import run that created it (migration
 * 13): runs never overlap, so it can only be the last one starting at or
 * before the lead, found in events_lead_runs. */
#define STORE_EVENTS_OF_LEAD                                                        \
    "((lead_id = ?1 AND lead_last IS NULL) OR (id = (SELECT id FROM events"         \
    " WHERE lead_last IS NOT NULL AND lead_id <= ?1 ORDER BY lead_id DESC LIMIT 1)" \
    " AND lead_last >= ?1))"

/* Writer thread: appends one event row. data_json is compact JSON text (no
 * personal data) or NULL for {}; lead_id/touch_id 0 are stored as NULL. */
int store_event_insert(struct store *st, int64_t at, int64_t lead_id, int64_t touch_id,
                       const char *type, const struct store_req_actor *actor,
                       const char *data_json, int64_t *id);

/* Writer thread: the same, from a JSON object (stolen; NULL is an error, so
 * callers may pass json_pack() straight in). */
int store_event_insert_json(struct store *st, struct store_req *req, int64_t lead_id,
                            int64_t touch_id, const char *type, json_t *data);
/* Writer thread: inserts an open task with its "task_created" event
 * {task_id, kind, owner, priority, step}; touch_id and enrollment_id 0 are
 * NULL (step is kept only with an enrollment). Strings are borrowed. */
struct store_wr_task {
    int64_t lead_id, touch_id, due_at, enrollment_id;
    const char *kind, *owner, *script, *title;
    int priority, step;
};
int store_wr_task_insert(struct store *st, struct store_req *req, const struct store_wr_task *t,
                         int64_t *id);
/* Writer thread: the one stage transition (store_stages.c) inside another
 * request's transaction: moves lead_id to stage, the owner for role (NULL:
 * the stage's name) round-robin from candidates (n == 0 keeps the owner),
 * with its history row and "stage_changed" event. */
int store_wr_stage_move(struct store *st, struct store_req *req, int64_t lead_id,
                        const char *stage, const char *role, const char *const *candidates,
                        size_t n, const char *reason);
/* Writer thread: the id of the lead with this (lower-cased) email, or 0. */
int store_wr_lead_id_by_email(struct store *st, const char *email, int64_t *id);

/* Writer thread: whether email (lower-cased) or domain is on the
 * suppression list, directly or as a forgotten address's hash; *reason is
 * malloc'd (the caller frees it) when *hit. */
int store_wr_suppression_of(struct store *st, const char *email, const char *domain,
                            char **reason, bool *hit);

/* Loop thread: reads the (id, due) rows of sql (a literal whose ?1 is the
 * row limit, ordered by due) into ids while due <= now, at most cap of
 * them; *next_at is the first due after those, 0 when none. The queues of
 * enrichment and enrollments share it. */
int store_rd_due_ids(struct store *st, const char *sql, int64_t now, int64_t *ids, size_t cap,
                     size_t *n, int64_t *next_at);

/* Writer thread: inserts a touch in state (with reason and not_after, 0 =
 * none) and gives it its idempotency key in the same savepoint, so a touch
 * never exists without one; *id is the new touch. No event. */
int store_wr_touch_insert(struct store *st, struct store_req *req, const struct store_touch_in *in,
                          const char *state, const char *reason, int64_t not_after, int64_t *id);
/* The same, created at now, for a write that has no request of its own
 * (an event's notification, inside the event's write). */
int store_wr_touch_insert_at(struct store *st, int64_t now, const struct store_touch_in *in,
                             const char *state, const char *reason, int64_t not_after,
                             int64_t *id);

/* store_import_burst.c. queued_add (any thread): an import batch was
 * submitted (+1) or ran or was dropped (-1). begin (writer thread, as an
 * import batch runs): raises the page cache and the heap's trim threshold.
 * idle (writer thread, when it went idle): puts both back once no import
 * batch is queued. */
void store_import_queued_add(int n);
int store_wr_import_begin(struct store *st);
void store_wr_import_idle(struct store *st);

/* store_payloads.c, writer thread: records (or replaces) a touch's message
 * bytes; a NULL payload removes them. */
int store_wr_payload_put(struct store *st, int64_t touch_id, const void *payload, size_t len);

/* store_sequencer.c, writer thread: step `step` of the enrollment has
 * finished (its touch reached a final state, its task was closed, or it was
 * skipped): moves the enrollment to the next step, due at now, keeping
 * outcome (a call outcome, or NULL) for branches. Does nothing when the
 * enrollment is not active or is no longer at that step, so a late or
 * repeated completion can never move it twice. Call it inside the same
 * request that records the touch's or task's end. */
int store_wr_enrollment_step_done(struct store *st, int64_t enrollment_id, int step,
                                  const char *outcome, int64_t now);
/* The same for an email step whose touch was sent, recording it as the
 * enrollment's last email (for threading) in the same row write; the last
 * email is recorded even when the enrollment no longer moves. */
int store_wr_enrollment_email_sent(struct store *st, int64_t enrollment_id, int step,
                                   int64_t touch_id, int64_t now);

/* store_notify.c, writer thread: after event event_id was inserted, inserts
 * the notification touches the rules ask for. 0 or a negative errno. */
int store_notify_event(struct store *st, int64_t event_id, int64_t at, int64_t lead_id,
                       int64_t touch_id, const char *type, const struct store_req_actor *actor,
                       const char *data_json);
/* store_notify.c: frees the rules (store_close, after the writer stopped). */
void store_notify_free(struct store *st);
/* store_notify.c, loop thread: tells the hook, if a commit made notifications. */
void store_notify_deliver(struct store *st, bool kick);

/* store_migrations.c: applies pending migrations on c (the write connection,
 * before the writer thread starts) in one transaction; sets *version and
 * store_id. -ESTALE for a store from a newer drumbeat. */
int store_migrate(struct store_conn *c, const char *path, int *version, char *store_id,
                  size_t idlen, struct errbuf *err);
/* store_touches.c: turns every 'sending' touch into 'in_doubt' (reason
 * "interrupted", one event each) in one transaction on the write connection,
 * before the writer thread starts. *n counts them. */
int store_touches_recover(struct store *st, int64_t *n);

/* Lower-cases ASCII letters in place (emails and domains are case-blind). */
void store_lower(char *s);

#endif /* DRUMBEAT_STORE_INTERNAL_H */
