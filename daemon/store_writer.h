/* SPDX-License-Identifier: MIT */
/* daemon/store_writer.h: the store's single writer thread. Write calls build
 * a struct store_req and queue it; the thread takes everything queued, runs
 * it as ONE transaction (BEGIN IMMEDIATE, each request inside its own
 * SAVEPOINT so a failing request rolls back alone and reports its own error),
 * COMMITs (one fsync with synchronous=FULL: group commit) and hands the
 * finished requests back to the loop thread through a uv_async_t, which runs
 * their completions in queue order. When idle it checkpoints the WAL
 * (PASSIVE); the store runs with wal_autocheckpoint=0.
 *
 * Ownership:
 *   struct store_writer   embedded in struct store; store_writer_stop()
 *                         releases what it holds except the uv_async_t.
 *   writer->async         heap memory; uv_close()d by store_writer_stop() and
 *                         freed in its close callback, so the caller keeps
 *                         running the loop until uv_loop_alive() is false.
 *   struct store_req      owned by the caller until store_writer_submit()
 *                         returns 0, then by the writer, which frees it (and
 *                         everything in req->mem) after its completion ran.
 */
#ifndef DRUMBEAT_STORE_WRITER_H
#define DRUMBEAT_STORE_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "store.h"

struct store_req;

/* Runs on the writer thread inside the request's savepoint; returns 0 or a
 * negative errno (then the savepoint is rolled back). Sets req->id. */
typedef int (*store_req_run_fn)(struct store *st, struct store_req *req);
/* Runs on the loop thread after the commit (or the failure). */
typedef void (*store_req_done_fn)(struct store_req *req);

/* An actor copied into a request. */
struct store_req_actor {
    enum store_actor_kind kind;
    const char *name;           /* in req->mem, or NULL */
};

#define STORE_REQ_MEM 24

struct store_req {
    struct store_req *next;
    store_req_run_fn run;       /* NULL: a barrier (store_flush) */
    store_req_done_fn done;     /* NULL: cb(status, id, arg) */
    void (*cleanup)(struct store_req *req);  /* frees req->priv, or NULL */
    store_done_cb cb;
    void *arg;
    int status;
    int64_t id;
    int64_t now;                /* clock_now_ms() when the call was made */
    struct store_req_actor actor;
    void *priv;                 /* per-kind data */
    bool oom;                   /* a store_req_dup() failed */
    bool lazy_sync;             /* its loss in a power cut is safe: it may commit
                                   without an fsync of its own (store_writer_sync.c) */
    bool rerunnable;            /* run may run again after its writes were rolled
                                   back, with the same result: only SQL, no memory
                                   it keeps (store_writer_txn.c, writer_run_group) */
    bool bulk;                  /* one of many large requests (an import's batches):
                                   runs with no savepoint of its own, and consecutive
                                   ones share a transaction (store_writer_txn.c,
                                   store_writer_run_bulk); a failure undoes them all */
    bool bulk_more;             /* bulk: another is coming soon, so the transaction
                                   may stay open for it */
    int nmem;
    void *mem[STORE_REQ_MEM];   /* owned copies, freed with the request */
};

struct store_writer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool started, stopping;
    struct store_req *q_head, *q_tail;        /* waiting for the thread */
    struct store_req *done_head, *done_tail;  /* waiting for the loop */
    uv_async_t *async;
    int64_t queued;             /* in q_* */
    int64_t queued_urgent;      /* of them, not lazy_sync (or barriers) */
    bool lingering;             /* the thread gathers lazy requests (store_writer.c) */
    int64_t outstanding;        /* loop thread only: submitted, completion not yet run */
    int64_t writes_committed;
    int64_t commits;
    int64_t lazy_commits;       /* of them, without an fsync of their own */
    bool sync_normal;           /* writer thread: the connection is at synchronous=NORMAL */
    int unsynced;               /* writer thread: lazy commits since the WAL's last fsync */
    int64_t lazy_syncs;          /* fsyncs of the WAL made for lazy commits (idle, notify) */
};

/* store_writer_txn.c, writer thread. exec: transaction control through the
 * statement cache. run_batch: a run of plain requests as ONE transaction;
 * true when it committed, *ok = its requests committed. A bulk transaction
 * (bulk requests sharing one, no savepoints): run_bulk runs r in the open one
 * or a new one, false when r failed and took the transaction with it;
 * commit_bulk commits it (false if none was open or the commit failed);
 * bulk_may_hold: it may stay open for last's successor. */
struct store_bulk_txn {

    bool open;
    int n;                        /* requests run in it */
    struct store_req *first;      /* the first of them, in the done list */
    int64_t started_ms;
    struct store_counts_mark mark;
};
int store_writer_exec(struct store *st, const char *sql);
bool store_writer_run_batch(struct store *st, struct store_req *batch, int64_t *ok);
bool store_writer_run_bulk(struct store *st, struct store_bulk_txn *bt, struct store_req *r);
bool store_writer_commit_bulk(struct store *st, struct store_bulk_txn *bt, int64_t *ok);
bool store_writer_bulk_may_hold(const struct store_bulk_txn *bt, const struct store_req *last);

/* store_writer_sync.c, writer thread. Before BEGIN: synchronous=NORMAL for
 * a batch whose requests are all lazy_sync (within the bound), FULL for any
 * other. After a commit: counts it, and syncs the WAL at once when a lazy
 * batch queued an event notification (it leaves the daemon). When idle:
 * syncs the WAL if a lazy commit is not yet durable. 0 or a negative errno. */
int store_writer_sync_mode(struct store *st, const struct store_req *batch);
int store_writer_sync_committed(struct store *st);
int store_writer_sync_wal(struct store *st);

/* A zeroed request with run, cb, arg, now and actor (copied) set; NULL when
 * out of memory. */
struct store_req *store_req_new(store_req_run_fn run, const struct store_actor *actor,
                                store_done_cb cb, void *arg);
/* store_req_new() plus a zeroed private block of priv_size bytes in
 * req->priv, freed with the request. Returns NULL when out of memory. */
struct store_req *store_req_new_priv(store_req_run_fn run, const struct store_actor *actor,
                                     store_done_cb cb, void *arg, size_t priv_size);
/* Copies s (NULL stays NULL) into req->mem; on failure sets req->oom. */
const char *store_req_dup(struct store_req *req, const char *s);
/* Copies len bytes and adds a NUL; on failure sets req->oom. */
const char *store_req_dupn(struct store_req *req, const char *s, size_t len);
/* Frees a request that was never submitted (or has completed). */
void store_req_free(struct store_req *req);

/* Starts the thread and the async handle on loop. 0 or a negative errno. */
int store_writer_start(struct store *st, uv_loop_t *loop);
/* Queues req: 0 (its completion will run later, on the loop thread),
 * -ENOMEM if req->oom, -ESHUTDOWN once stopping. On failure req is freed. */
int store_writer_submit(struct store *st, struct store_req *req);
/* Lets the thread finish everything queued, joins it, runs the remaining
 * completions on this thread and uv_close()s the async handle. */
void store_writer_stop(struct store *st);
/* Queue length and counters, read under the lock. */
void store_writer_stats(struct store *st, int64_t *queued, int64_t *writes_committed,
                        int64_t *commits, int64_t *lazy_commits, int64_t *lazy_syncs);

#endif /* DRUMBEAT_STORE_WRITER_H */
