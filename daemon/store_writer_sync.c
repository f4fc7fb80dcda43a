/* SPDX-License-Identifier: MIT */
/* daemon/store_writer_sync.c: commits that need no fsync of their own.
 *
 * Every commit is synchronous=FULL, an fsync of the WAL, except a batch made
 * only of requests marked lazy_sync: writes whose loss in a power cut is safe
 * because what they leave behind is a state we already recover from. A
 * channel's outcome (the touch stays 'sending' and becomes in_doubt at the
 * next start, never resent), a cadence step (the sequencer runs the step
 * again: nothing of it left the daemon), a release of deferred touches
 * (released again). Such a batch commits with synchronous=NORMAL; a crash of
 * the daemon alone loses nothing, since the WAL is in the system's cache.
 *
 * Why it is safe: after a power cut SQLite recovers a prefix of the commits
 * in the WAL, so the next FULL commit makes every lazy one before it durable
 * too. A claim is FULL and comes before every send, so nothing a channel
 * sends rests on a write that could be undone. Bounds: at most
 * WRITER_LAZY_COMMITS lazy commits in a row; the WAL is synced when the
 * writer goes idle; and a lazy batch that queued an event notification
 * (which leaves the daemon) is synced before its completions run.
 *
 * Why: each fsync costs 1-10 ms under load, and a batch of 1,000 sends made
 * four commits (release, claim, outcomes, next steps) where one claim needs
 * the fsync.
 */
#include <errno.h>
#include <stddef.h>

#include "errors.h"
#include "log.h"
#include "store_internal.h"
#include "store_writer.h"

#define WRITER_LAZY_COMMITS 32

static int set_synchronous(struct store *st, bool normal)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, normal ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
                        &s);
    if (rc == 0)
        rc = store_stmt_done(&st->wr, s);
    if (rc == 0)
        st->writer.sync_normal = normal;
    return rc;
}

int store_writer_sync_mode(struct store *st, const struct store_req *batch)
{
    struct store_writer *w = &st->writer;
    bool lazy = w->unsynced < WRITER_LAZY_COMMITS;
    for (const struct store_req *r = batch; r != NULL && lazy; r = r->next)
        if (r->run != NULL && !r->lazy_sync)
            lazy = false;
    return lazy == w->sync_normal ? 0 : set_synchronous(st, lazy);
}

int store_writer_sync_committed(struct store *st)
{
    struct store_writer *w = &st->writer;
    if (!w->sync_normal) {
        w->unsynced = 0;          /* a FULL commit synced every frame before it */
        return 0;
    }
    w->unsynced++;
    return st->notify_created ? store_writer_sync_wal(st) : 0;
}

int store_writer_sync_wal(struct store *st)
{
    struct store_writer *w = &st->writer;
    if (w->unsynced == 0)
        return 0;
    /* The WAL's own file handle: an fsync of it is what a FULL commit does. */
    sqlite3_file *f = NULL;
    int rc = sqlite3_file_control(st->wr.db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f);
    if (rc != SQLITE_OK || f == NULL || f->pMethods == NULL)
        rc = SQLITE_IOERR;
    else
        rc = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    if (rc != SQLITE_OK) {
        log_error("msg=\"cannot sync the store's WAL; the last commits are durable only once "
                  "the next one is\" path=\"%s\" error=%s", st->path,
                  error_name(store_sqlite_errno(rc)));
        return store_sqlite_errno(rc);
    }
    w->unsynced = 0;
    pthread_mutex_lock(&w->mu);     /* never held here: the writer drops it to write */
    w->lazy_syncs++;
    pthread_mutex_unlock(&w->mu);
    return 0;
}
