/* SPDX-License-Identifier: MIT */
/* daemon/store_writer_txn.c: how the writer thread runs what it took from
 * its queue as transactions (store_writer.c owns the thread, the queue and
 * the checkpoints): a run of plain requests as one transaction, each in its
 * own savepoint (rerunnable ones sharing one), and bulk requests (an
 * import's batches) in a shared transaction without savepoints that may stay
 * open for the next one.
 * Threads: the writer thread only. Ownership: requests stay the queue's;
 * these only set their status.
 */
#include <errno.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"
#include "store_internal.h"
#include "store_writer.h"

/* Transaction control through the statement cache: parsed once, not per
 * request. */
int store_writer_exec(struct store *st, const char *sql)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, sql, &s);
    return rc < 0 ? rc : store_stmt_done(&st->wr, s);
}

/* Consecutive rerunnable requests share one savepoint, this many at most:
 * a failure among them runs them all again, one by one, and the statement
 * journal (in memory) holds the pages the group changed, a few MB at most. */
#define WRITER_GROUP_MAX 64

/* Runs one request inside its own savepoint, so its failure undoes only its
 * own writes. Returns 0, or the error that took the whole transaction with
 * it (r->status says the request's own outcome). */
static int writer_run_alone(struct store *st, struct store_req *r)
{
    struct store_counts_mark mark;
    store_counts_mark(st, &mark);
    int rc = store_writer_exec(st, "SAVEPOINT req");
    if (rc == 0)
        rc = r->run(st, r);
    if (rc == 0) {
        rc = store_writer_exec(st, "RELEASE req");
        if (rc == 0)
            return 0;
    }
    r->status = rc;
    /* I/O errors, SQLITE_FULL and the like roll back the whole
     * transaction, taking the earlier requests with it. */
    if (sqlite3_get_autocommit(st->wr.db))
        return rc;
    store_writer_exec(st, "ROLLBACK TO req");
    store_writer_exec(st, "RELEASE req");
    store_counts_restore(st, &mark);
    return 0;
}

/* Runs up to WRITER_GROUP_MAX consecutive rerunnable requests from *pos under
 * one savepoint, and moves *pos past them. Each savepoint costs two
 * statements, and SQLite copies each page the first time it changes inside
 * one (the statement journal), so one per request ran the savepoint pair and
 * copied the shared index pages once per touch of a day's sends (the writer
 * used about a tenth more CPU per touch in bench_cadence at 100,000
 * enrollments). When one of them fails after it
 * changed rows, the group is rolled back and each runs again alone, so the
 * failure still undoes only its own writes. Returns as writer_run_alone. */
static int writer_run_group(struct store *st, struct store_req **pos)
{
    struct store_req *first = *pos, *end = first;
    int n = 0;
    while (end != NULL && n < WRITER_GROUP_MAX && (end->run == NULL || end->rerunnable)) {
        n += end->run != NULL;
        end = end->next;
    }
    *pos = end;
    if (n == 0)
        return 0;                     /* only barriers */
    if (n == 1) {
        for (struct store_req *r = first; r != end; r = r->next)
            if (r->run != NULL)
                return writer_run_alone(st, r);
    }
    struct store_counts_mark group_mark, req_mark;
    store_counts_mark(st, &group_mark);
    int rc = store_writer_exec(st, "SAVEPOINT grp");
    for (struct store_req *r = first; rc == 0 && r != end; r = r->next) {
        if (r->run == NULL)
            continue;
        int64_t before = sqlite3_total_changes64(st->wr.db);
        store_counts_mark(st, &req_mark);
        int failed = r->run(st, r);
        if (failed == 0)
            continue;
        /* Refused before it changed a row (a step the enrollment has moved
         * past, a move the touch cannot make): nothing of it to undo. A
         * statement that fails undoes its own rows, which never count, and
         * the moves the hook saw in them are taken back too. */
        if (!sqlite3_get_autocommit(st->wr.db) && sqlite3_total_changes64(st->wr.db) == before) {
            r->status = failed;
            store_counts_restore(st, &req_mark);
        } else {
            rc = failed;
        }
    }
    if (rc == 0 && (rc = store_writer_exec(st, "RELEASE grp")) == 0)
        return 0;
    if (sqlite3_get_autocommit(st->wr.db)) {
        for (struct store_req *r = first; r != end; r = r->next)
            if (r->run != NULL)
                r->status = rc;
        return rc;
    }
    store_writer_exec(st, "ROLLBACK TO grp");
    store_writer_exec(st, "RELEASE grp");
    store_counts_restore(st, &group_mark);
    for (struct store_req *r = first; r != end; r = r->next) {
        if (r->run == NULL)
            continue;
        r->id = 0;
        r->status = 0;
        int lost = writer_run_alone(st, r);
        if (lost != 0)
            return lost;
    }
    return 0;
}

/* Runs one batch as one transaction. Returns true when it committed writes;
 * *ok counts the requests whose changes are in that commit. */
bool store_writer_run_batch(struct store *st, struct store_req *batch, int64_t *ok)
{
    struct store_req *r;
    int rc, lost = 0;
    bool any = false;

    *ok = 0;
    for (r = batch; r != NULL; r = r->next)
        any = any || r->run != NULL;
    if (!any)
        return false;                 /* only barriers: nothing to commit */

    rc = store_writer_sync_mode(st, batch);
    if (rc == 0)
        rc = store_writer_exec(st, "BEGIN IMMEDIATE");
    if (rc < 0) {
        for (r = batch; r != NULL; r = r->next)
            if (r->run != NULL)
                r->status = rc;
        return false;
    }
    for (r = batch; r != NULL && lost == 0;) {
        if (r->run != NULL && !r->rerunnable) {
            lost = writer_run_alone(st, r);
            r = r->next;
        } else {
            lost = writer_run_group(st, &r);
        }
    }
    if (lost == 0) {
        rc = store_counts_flush(st);
        if (rc == 0)
            rc = store_writer_exec(st, "COMMIT");
        if (rc < 0) {
            lost = rc;
            if (!sqlite3_get_autocommit(st->wr.db))
                store_writer_exec(st, "ROLLBACK");
        }
    }
    if (lost != 0)
        store_counts_discard(st);   /* the whole transaction is gone */
    for (r = batch; r != NULL; r = r->next) {
        if (r->run == NULL || r->status != 0)
            continue;
        if (lost != 0)
            r->status = lost;
        else
            (*ok)++;
    }
    if (lost != 0)
        log_error("msg=\"store write transaction failed\" path=\"%s\" error=%s",
                  st->path, error_name(lost));
    return lost == 0;
}

/* Bulk requests (an import's batches) share one transaction, held open
 * across them: each commit writes into the WAL every page its transaction
 * changed, and an import's rows land all over the leads indexes, so a commit
 * per batch of a few thousand rows wrote most index pages again each time
 * (gigabytes at a million rows). They run with no savepoint either: SQLite
 * copies each page the first time it changes inside one, and a batch changes
 * thousands. So a failing bulk request undoes the whole shared transaction,
 * and every request in it reports the failure; nothing else is in it (a
 * request of another kind commits the bulk transaction first). The bounds:
 * WRITER_BULK_MAX requests per transaction (the rows an importer must be able
 * to keep waiting, see import.h), WRITER_BULK_MAX_MS open in all, and
 * WRITER_BULK_WAIT_MS waiting for the next one when bulk_more says it comes. */
/* 56 batches of 2,000 rows: a 1,000,000-row import commits 9 times. Each
 * commit writes both random indexes into the WAL whole; 32 per transaction
 * (16 commits) took 4-13% longer, and the importer's waiting batches cost
 * about 0.9 MB each of peak RSS (170 MB with IMPORT_MAX_BATCHES 72). */
#define WRITER_BULK_MAX 56
#define WRITER_BULK_MAX_MS 3000


/* Runs one bulk request, in the open bulk transaction or a new one. Returns
 * false when it failed and took the transaction (and the requests before it
 * from bt->first on) with it. */
bool store_writer_run_bulk(struct store *st, struct store_bulk_txn *bt, struct store_req *r)
{
    int rc = 0;
    if (!bt->open) {
        rc = store_writer_sync_mode(st, r);
        if (rc == 0)
            rc = store_writer_exec(st, "BEGIN IMMEDIATE");
        if (rc < 0) {
            r->status = rc;
            return false;
        }
        store_counts_mark(st, &bt->mark);
        bt->open = true;
        bt->n = 0;
        bt->first = r;
        bt->started_ms = clock_now_ms();
    }
    bt->n++;
    rc = r->run(st, r);
    if (rc == 0)
        return true;
    r->status = rc;
    if (!sqlite3_get_autocommit(st->wr.db))
        store_writer_exec(st, "ROLLBACK");
    store_counts_restore(st, &bt->mark);
    for (struct store_req *q = bt->first; q != NULL; q = q->next)
        if (q->run != NULL && q->status == 0)
            q->status = rc;
    bt->open = false;
    log_error("msg=\"store bulk transaction failed\" path=\"%s\" requests=%d error=%s",
              st->path, bt->n, error_name(rc));
    return false;
}

/* Commits the open bulk transaction; *ok counts its requests. Returns
 * whether it committed. */
bool store_writer_commit_bulk(struct store *st, struct store_bulk_txn *bt, int64_t *ok)
{
    if (!bt->open)
        return false;
    bt->open = false;
    int rc = store_counts_flush(st);
    if (rc == 0)
        rc = store_writer_exec(st, "COMMIT");
    if (rc < 0 && !sqlite3_get_autocommit(st->wr.db))
        store_writer_exec(st, "ROLLBACK");
    if (rc < 0)
        store_counts_discard(st);
    bool urgent = false;
    for (struct store_req *q = bt->first; q != NULL; q = q->next) {
        if (q->run == NULL || q->status != 0)
            continue;
        urgent = urgent || !q->lazy_sync;
        if (rc < 0)
            q->status = rc;
        else
            (*ok)++;
    }
    if (rc < 0) {
        log_error("msg=\"store write transaction failed\" path=\"%s\" error=%s",
                  st->path, error_name(rc));
        return false;
    }
    store_writer_sync_committed(st);    /* logs its own failure */
    /* The transaction took its mode from its first request: an import's
     * last batch may have joined one begun without an fsync of its own,
     * and its completion says the whole import is durable. */
    if (urgent && st->writer.sync_normal)
        store_writer_sync_wal(st);
    return true;
}

/* Whether the open bulk transaction may wait for last's successor. */
bool store_writer_bulk_may_hold(const struct store_bulk_txn *bt, const struct store_req *last)
{
    return bt->open && last->bulk_more && bt->n < WRITER_BULK_MAX &&
           clock_now_ms() - bt->started_ms < WRITER_BULK_MAX_MS;
}
