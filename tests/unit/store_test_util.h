/* SPDX-License-Identifier: MIT */
/* tests/unit/store_test_util.h: small helpers the store tests share: a
 * completion recorder, a claim recorder and running the loop until enough
 * completions came.
 * Ownership: nothing is allocated; struct st_wait is the caller's;
 * st_exec_on opens and closes its own connection; st_writer_exec's request
 * is the writer's, its SQL the caller's until it returns.
 */
#ifndef DRUMBEAT_STORE_TEST_UTIL_H
#define DRUMBEAT_STORE_TEST_UTIL_H

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store.h"
#include "store_internal.h"

struct st_wait {
    int calls;
    int status;
    int64_t id;
};

static inline void st_on_done(int status, int64_t id, void *arg)
{
    struct st_wait *w = arg;
    w->calls++;
    w->status = status;
    w->id = id;
}

/* Runs loop until *counter reaches want (each completion wakes it). */
static inline void st_run_until(uv_loop_t *loop, const int *counter, int want)
{
    while (*counter < want)
        uv_run(loop, UV_RUN_ONCE);
}

/* Queues a write through call (which returns 0 or -errno) and waits for it;
 * returns the completion status, or the call's error. */
#define ST_WAIT(loop, w, call)                                 \
    ((w)->calls = 0, (w)->status = -9999, (w)->id = 0,         \
     st_wait_result((loop), (w), (call)))

static inline int st_wait_result(uv_loop_t *loop, struct st_wait *w, int rc)
{
    if (rc < 0)
        return rc;
    st_run_until(loop, &w->calls, 1);
    return w->status;
}

/* A claim's completion: how often it came, its status and the first 64
 * touch ids claimed. */
struct st_claimed {
    int calls, status;
    size_t n;
    int64_t ids[64];
};

static inline void st_on_claim(int status, const struct store_claimed *t, size_t n, void *arg)
{
    struct st_claimed *c = arg;
    c->calls++;
    c->status = status;
    c->n = n;
    for (size_t i = 0; i < n && i < 64; i++)
        c->ids[i] = t[i].touch_id;
}

/* Runs sql on the store file at path through a connection of its own, as
 * an older drumbeat or another tool would. Returns SQLite's result code. */
static inline int st_exec_on(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc;
}

/* Runs sql (one or more statements) on the writer connection as one
 * request, as the daemon's own writes run: in its transaction, seen by the
 * pre-update hook (store_counts.h). With fail set the request then fails
 * (-EPROTO), so its savepoint is rolled back. Returns the request's status. */
struct st_sql {
    const char *sql;
    bool fail;
};

static inline int st_sql_run(struct store *st, struct store_req *req)
{
    const struct st_sql *q = req->priv;
    int rc = sqlite3_exec(st->wr.db, q->sql, NULL, NULL, NULL);
    return rc != SQLITE_OK ? store_sqlite_errno(sqlite3_extended_errcode(st->wr.db))
                           : q->fail ? -EPROTO : 0;
}

static inline int st_writer_exec(uv_loop_t *loop, struct store *st, const char *sql, bool fail)
{
    struct st_sql q = { sql, fail };
    struct st_wait w = { 0 };
    struct store_req *req = store_req_new(st_sql_run, NULL, st_on_done, &w);
    if (req == NULL)
        return -ENOMEM;
    req->priv = &q;             /* the caller's: no cleanup */
    if (store_writer_submit(st, req) < 0)
        return -EIO;
    st_run_until(loop, &w.calls, 1);
    return w.status;
}

#endif /* DRUMBEAT_STORE_TEST_UTIL_H */
