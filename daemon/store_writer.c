/* SPDX-License-Identifier: MIT */
/* daemon/store_writer.c: the writer thread and its queue. It owns the write
 * connection, groups whatever is queued into one transaction (one fsync for
 * many writes), gives each request its own SAVEPOINT so one failure does not
 * undo its neighbours (consecutive rerunnable ones share one, and run again
 * alone if one of them fails after writing), runs bulk requests (an
 * import's batches) together in a transaction of their own that may stay
 * open for the next one (store_writer_txn.c), and sends the finished
 * requests back to the loop thread through a uv_async_t, where their
 * completions run in queue order.
 * When no write has come for WRITER_IDLE_MS it asks the checkpointer thread
 * (store_checkpoint.c) for a checkpoint, so a write that comes meanwhile does
 * not wait for it, and gives the heap a burst left free back to the system
 * (malloc_trim); under constant load it does the same every
 * WRITER_CHECKPOINT_COMMITS commits, or once the WAL has grown as large as
 * the database (and at least STORE_WAL_KEEP_BYTES of frames), whichever
 * comes first, then copies what was appended meanwhile itself, so the WAL
 * stays small (writer_checkpoint_now).
 */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "store_internal.h"
#include "store_writer.h"

struct store_req *store_req_new(store_req_run_fn run, const struct store_actor *actor,
                                store_done_cb cb, void *arg)
{
    struct store_req *req = calloc(1, sizeof(*req));
    if (req == NULL)
        return NULL;
    req->run = run;
    req->cb = cb;
    req->arg = arg;
    req->now = clock_now_ms();
    if (actor != NULL) {
        req->actor.kind = actor->kind;
        req->actor.name = store_req_dup(req, actor->name);
    }
    return req;
}

const char *store_req_dupn(struct store_req *req, const char *s, size_t len)
{
    if (s == NULL)
        return NULL;
    if (req->nmem == STORE_REQ_MEM) {
        req->oom = true;           /* a programming error, reported as ENOMEM */
        return NULL;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL) {
        req->oom = true;
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = '\0';
    req->mem[req->nmem++] = copy;
    return copy;
}

const char *store_req_dup(struct store_req *req, const char *s)
{
    return s == NULL ? NULL : store_req_dupn(req, s, strlen(s));
}

static void store_req_free_priv(struct store_req *req)
{
    free(req->priv);
}

struct store_req *store_req_new_priv(store_req_run_fn run, const struct store_actor *actor,
                                     store_done_cb cb, void *arg, size_t priv_size)
{
    struct store_req *req = store_req_new(run, actor, cb, arg);
    void *priv = calloc(1, priv_size);
    if (req == NULL || priv == NULL) {
        free(priv);
        store_req_free(req);
        return NULL;
    }
    req->priv = priv;
    req->cleanup = store_req_free_priv;
    return req;
}

void store_req_free(struct store_req *req)
{
    if (req == NULL)
        return;
    if (req->cleanup != NULL)
        req->cleanup(req);
    for (int i = 0; i < req->nmem; i++)
        free(req->mem[i]);
    free(req);
}


/* Checkpoint after this long without writes, or after this many commits even
 * when writes never stop, so the WAL cannot grow without bound. */
#define WRITER_IDLE_MS 100
#define WRITER_CHECKPOINT_COMMITS 1000
/* ... or once the WAL has grown as large as the database, and at least
 * STORE_WAL_KEEP_BYTES (64 MiB) of frames: an import's commits each rewrite
 * thousands of index pages, so 1,000 of them would leave gigabytes of WAL.
 * Relative to the database, not a fixed size: a day's sends on a store of
 * millions of touches write a few thousand pages per batch, and a checkpoint
 * every few batches (copying the same hot index pages each time) slowed each
 * batch of 1,000 sends by a fifth at 1,000,000 enrollments. */
static int writer_checkpoint_frames(struct store *st)
{
    int64_t page = 0;
    if (store_query_int(&st->wr, "PRAGMA page_size", &page) < 0 || page <= 0)
        page = 4096;
    return (int)(STORE_WAL_KEEP_BYTES / page);
}

/* The database's size in pages; 0 when it cannot be read (then the WAL's
 * minimum size alone decides). */
static int writer_db_pages(struct store *st)
{
    int64_t pages = 0;
    if (store_query_int(&st->wr, "PRAGMA page_count", &pages) < 0)
        return 0;
    return pages < INT_MAX ? (int)pages : INT_MAX;
}

/* Whether the WAL, grown by `grown` frames since the last checkpoint asked
 * for, is due one. *limit starts at writer_checkpoint_frames(); the database's
 * size is read only when the WAL reaches it, and moves it on. */
static bool writer_wal_due(struct store *st, int grown, int *limit)
{
    if (grown < *limit)
        return false;
    int pages = writer_db_pages(st);
    if (grown >= pages)
        return true;
    *limit = pages;
    return false;
}

/* SQLite calls this after each commit with the WAL's size in frames. */
static int writer_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
    (void)db;
    (void)name;
    *(int *)arg = frames;
    return SQLITE_OK;
}

/* Under constant load a checkpoint is two steps. The checkpointer thread
 * copies the WAL while the writes go on (the bulk: seconds for a large one);
 * once it is done, the writer copies the few frames appended meanwhile
 * itself, between two transactions. Then the next transaction finds the WAL
 * all copied back (unless a reader still needs it) and starts it over from
 * the beginning, so the file stays small; with only the first step the copy
 * never catches up and the WAL grows for the whole burst, and with only the
 * second every write waits for the whole copy. */
static void writer_checkpoint_now(struct store *st)
{
    /* PASSIVE never waits for readers; what it cannot copy waits for later. */
    sqlite3_wal_checkpoint_v2(st->wr.db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
}

/* Lazy requests come in bursts that the loop thread submits one at a time:
 * a batch's outcomes, the sequencer's next steps. Taken as they came, a
 * commit held a few dozen of them (30 commits per 1000 touches sent in
 * bench_cadence), and each commit writes into the WAL every page its
 * requests changed, so the pages they all share (index tails, counters,
 * the events table's end) were written 30 times over, and the fsyncs of the
 * claims waited for those megabytes to reach the disk. So when only lazy
 * requests wait, the writer lets the burst finish: it waits while more keep
 * coming, until WRITER_QUIET_US pass without one, WRITER_GATHER_MAX are
 * queued, or WRITER_LINGER_US in all. A request that is not lazy (a claim,
 * a person's action, a barrier) ends the wait at once. A burst of one
 * SMTP session's outcomes (50, submitted together) waits only the quiet
 * gap: the next claim waits for those outcomes. */
#define WRITER_GATHER_MAX 1024
#define WRITER_QUIET_US 100
#define WRITER_LINGER_US 2000

static struct timespec ts_after(const struct timespec *from, long us)
{
    struct timespec t = *from;
    t.tv_nsec += us * 1000L;
    t.tv_sec += t.tv_nsec / 1000000000L;
    t.tv_nsec %= 1000000000L;
    return t;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* Under w->mu, with something queued. */
static void writer_gather(struct store_writer *w)
{
    struct timespec now, deadline, quiet;
    clock_gettime(CLOCK_MONOTONIC, &now);
    deadline = ts_after(&now, WRITER_LINGER_US);
    w->lingering = true;
    while (w->queued_urgent == 0 && w->queued < WRITER_GATHER_MAX && !w->stopping) {
        int64_t seen = w->queued;
        quiet = ts_after(&now, WRITER_QUIET_US);
        if (ts_before(&deadline, &quiet))
            quiet = deadline;
        /* Submissions do not wake a gathering thread (store_writer_submit):
         * the queue's length after the wait says whether the burst goes on. */
        pthread_cond_timedwait(&w->cv, &w->mu, &quiet);
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (w->queued == seen || !ts_before(&now, &deadline))
            break;
    }
    w->lingering = false;
}


/* How long a held bulk transaction waits for the next bulk request
 * (store_writer_txn.c, store_writer_bulk_may_hold). */
#define WRITER_BULK_WAIT_MS 200

/* Under w->mu: waits up to WRITER_BULK_WAIT_MS for a request; returns
 * whether one came. */
static bool writer_wait_more(struct store_writer *w)
{
    struct timespec now, until;
    clock_gettime(CLOCK_MONOTONIC, &now);
    until = ts_after(&now, WRITER_BULK_WAIT_MS * 1000L);
    int rc = 0;
    while (w->q_head == NULL && !w->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
    return w->q_head != NULL;
}

/* Under w->mu: hands the finished requests from head on to the loop
 * thread, whose completions run in this order. */
static void writer_hand_over(struct store_writer *w, struct store_req *head)
{
    if (head == NULL)
        return;
    struct store_req *last = head;
    while (last->next != NULL)
        last = last->next;
    if (w->done_tail != NULL)
        w->done_tail->next = head;
    else
        w->done_head = head;
    w->done_tail = last;
    uv_async_send(w->async);
}

static void *writer_main(void *arg)
{
    struct store *st = arg;
    struct store_writer *w = &st->writer;
    int64_t dirty = 0;              /* commits since the last checkpoint */
    int64_t ck_served_at = 0;       /* a checkpoint under load: its run, then ours */
    int wal_frames = 0;             /* after the last commit */
    int wal_base = 0;               /* at the last checkpoint asked for: a WAL
                                       a reader holds asks once per limit */
    const int wal_min = writer_checkpoint_frames(st);
    int wal_limit = wal_min;        /* frames past wal_base */

    sqlite3_wal_hook(st->wr.db, writer_wal_hook, &wal_frames);

    /* So `top -H`, perf and gdb tell it from the loop and the pool. */
    pthread_setname_np(pthread_self(), "drumbeat-store");

    pthread_mutex_lock(&w->mu);
    for (;;) {
        if (w->q_head == NULL) {
            if (w->stopping)
                break;              /* store_close() checkpoints with TRUNCATE */
            if (dirty == 0) {
                pthread_cond_wait(&w->cv, &w->mu);
                continue;
            }
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_nsec += (long)WRITER_IDLE_MS * 1000000L;
            until.tv_sec += until.tv_nsec / 1000000000L;
            until.tv_nsec %= 1000000000L;
            int rc = 0;
            while (w->q_head == NULL && !w->stopping && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&w->cv, &w->mu, &until);
            if (w->q_head != NULL || w->stopping)
                continue;
            /* Idle: ask for a checkpoint now; and hand back to
             * the system the heap a burst (an import, a large enrollment, a
             * day's sends) left free: glibc keeps it otherwise, and the
             * daemon's size would be that of its busiest minute. */
            dirty = 0;
            pthread_mutex_unlock(&w->mu);
            store_writer_sync_wal(st);          /* lazy commits: durable now */
            /* Idle: the checkpointer thread copies what a burst left in the
             * WAL (seconds, for a large one), and a write that comes
             * meanwhile does not wait for it; then it truncates a WAL file
             * the burst grew past STORE_WAL_KEEP_BYTES. */
            store_checkpointer_request(&st->ck, true);
            store_wr_import_idle(st);
            malloc_trim(0);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        writer_gather(w);
        struct store_req *todo = w->q_head;
        w->q_head = w->q_tail = NULL;
        w->queued = 0;
        w->queued_urgent = 0;
        pthread_mutex_unlock(&w->mu);

        /* The queue runs in pieces, in order: a bulk request alone (in the
         * shared bulk transaction), or a run of other requests as one
         * transaction. All of them are delivered together afterwards. */
        int64_t ok = 0;
        int commits = 0, lazy = 0;      /* this round's, and of them without an fsync */
        struct store_bulk_txn bt = { 0 };
        struct store_req *batch = NULL, *batch_tail = NULL;
        st->notify_created = false;
        while (todo != NULL) {
            struct store_req *piece = todo, *end = todo;
            if (!piece->bulk)
                while (end->next != NULL && !end->next->bulk)
                    end = end->next;
            todo = end->next;
            end->next = NULL;
            /* The bulk transaction's requests are the done list's tail. */
            if (!piece->bulk && store_writer_commit_bulk(st, &bt, &ok)) {
                commits++;
                lazy += w->sync_normal;
            }
            if (batch_tail != NULL)
                batch_tail->next = piece;
            else
                batch = piece;
            batch_tail = end;
            if (piece->bulk) {
                store_writer_run_bulk(st, &bt, piece);
            } else {
                int64_t piece_ok = 0;
                if (store_writer_run_batch(st, piece, &piece_ok)) {
                    store_writer_sync_committed(st);    /* logs its own failure */
                    commits++;
                    lazy += w->sync_normal;
                }
                ok += piece_ok;
            }
            if (todo == NULL && store_writer_bulk_may_hold(&bt, end)) {
                /* What committed before the bulk transaction does not wait
                 * for it: everything ahead of bt.first in the list. */
                struct store_req *committed_ahead = NULL;
                if (batch != bt.first) {
                    struct store_req *p = batch;
                    while (p->next != bt.first)
                        p = p->next;
                    p->next = NULL;
                    committed_ahead = batch;
                    batch = bt.first;
                }
                pthread_mutex_lock(&w->mu);
                writer_hand_over(w, committed_ahead);
                st->notify_kick = st->notify_kick || st->notify_created;
                if (writer_wait_more(w)) {
                    todo = w->q_head;
                    w->q_head = w->q_tail = NULL;
                    w->queued = 0;
                    w->queued_urgent = 0;
                }
                pthread_mutex_unlock(&w->mu);
            }
        }
        if (store_writer_commit_bulk(st, &bt, &ok)) {
            commits++;
            lazy += w->sync_normal;
        }
        bool committed = commits > 0;
        if (wal_frames < wal_base)
            wal_base = 0;                   /* the WAL started over */
        if (committed && ((dirty += commits) >= WRITER_CHECKPOINT_COMMITS ||
                          writer_wal_due(st, wal_frames - wal_base, &wal_limit)) &&
            ck_served_at == 0) {
            dirty = 0;
            wal_base = wal_frames;
            wal_limit = wal_min;
            ck_served_at = store_checkpointer_request(&st->ck, false);
            if (ck_served_at == 0)
                writer_checkpoint_now(st);
        }
        if (ck_served_at != 0 && store_checkpointer_runs(&st->ck) >= ck_served_at) {
            ck_served_at = 0;
            writer_checkpoint_now(st);      /* the remainder, small */
        }

        pthread_mutex_lock(&w->mu);
        if (committed) {
            w->commits += commits;
            w->lazy_commits += lazy;
            w->writes_committed += ok;
            st->notify_kick = st->notify_kick || st->notify_created;
        }
        writer_hand_over(w, batch);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* Runs every finished request's completion, in queue order, on this thread. */
static void writer_deliver(struct store *st)
{
    struct store_writer *w = &st->writer;

    pthread_mutex_lock(&w->mu);
    struct store_req *r = w->done_head;
    w->done_head = w->done_tail = NULL;
    bool kick = st->notify_kick && !w->stopping;
    st->notify_kick = false;
    pthread_mutex_unlock(&w->mu);
    while (r != NULL) {
        struct store_req *next = r->next;
        /* Before the completion: the last one (store_flush at shutdown) may
         * close the store, and w with it. */
        w->outstanding--;
        if (r->done != NULL)
            r->done(r);
        else if (r->cb != NULL)
            r->cb(r->status, r->status == 0 ? r->id : 0, r->arg);
        store_req_free(r);
        r = next;
    }
    store_notify_deliver(st, kick);
}

static void on_writer_async(uv_async_t *handle)
{
    struct store *st = handle->data;
    if (st != NULL)
        writer_deliver(st);
}

static void on_async_closed(uv_handle_t *handle)
{
    free(handle);
}

int store_writer_start(struct store *st, uv_loop_t *loop)
{
    struct store_writer *w = &st->writer;
    int rc;

    w->async = calloc(1, sizeof(*w->async));
    if (w->async == NULL)
        return -ENOMEM;
    rc = uv_async_init(loop, w->async, on_writer_async);
    if (rc < 0) {
        free(w->async);
        w->async = NULL;
        return rc;
    }
    w->async->data = st;
    pthread_condattr_t attr;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &attr);
    pthread_condattr_destroy(&attr);
    rc = pthread_create(&w->thread, NULL, writer_main, st);
    if (rc != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        w->async->data = NULL;
        uv_close((uv_handle_t *)w->async, on_async_closed);
        w->async = NULL;
        return -rc;
    }
    w->started = true;
    return 0;
}

int store_writer_submit(struct store *st, struct store_req *req)
{
    struct store_writer *w = &st->writer;

    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    req->next = NULL;
    pthread_mutex_lock(&w->mu);
    if (w->stopping || !w->started) {
        pthread_mutex_unlock(&w->mu);
        store_req_free(req);
        return -ESHUTDOWN;
    }
    if (w->q_tail != NULL)
        w->q_tail->next = req;
    else
        w->q_head = req;
    w->q_tail = req;
    w->queued++;
    bool urgent = req->run == NULL || !req->lazy_sync;
    w->queued_urgent += urgent;
    /* A thread gathering lazy requests needs waking only to stop gathering. */
    if (!w->lingering || urgent || w->queued >= WRITER_GATHER_MAX)
        pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    w->outstanding++;
    return 0;
}

int64_t store_writes_outstanding(struct store *st)
{
    return st->writer.outstanding;
}

void store_writer_stop(struct store *st)
{
    struct store_writer *w = &st->writer;

    if (!w->started)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    /* The thread drained the queue before it ended; what it finished since
     * the last async wake-up completes here. Writes these completions try to
     * queue are refused with -ESHUTDOWN. */
    writer_deliver(st);
    w->started = false;
    w->async->data = NULL;
    uv_close((uv_handle_t *)w->async, on_async_closed);
    w->async = NULL;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
}

void store_writer_stats(struct store *st, int64_t *queued, int64_t *writes_committed,
                        int64_t *commits, int64_t *lazy_commits, int64_t *lazy_syncs)
{
    struct store_writer *w = &st->writer;

    pthread_mutex_lock(&w->mu);
    *queued = w->queued;
    *writes_committed = w->writes_committed;
    *commits = w->commits;
    *lazy_commits = w->lazy_commits;
    *lazy_syncs = w->lazy_syncs;
    pthread_mutex_unlock(&w->mu);
}
