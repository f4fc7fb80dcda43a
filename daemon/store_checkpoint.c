/* SPDX-License-Identifier: MIT */
/* daemon/store_checkpoint.c: the checkpointer thread (store_checkpoint.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"
#include "store_checkpoint.h"
#include "store_internal.h"

/* The WAL file's size in bytes; -1 when it cannot be read. */
static int64_t wal_file_size(sqlite3 *db)
{
    const char *wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main"));
    struct stat sb;
    return wal != NULL && stat(wal, &sb) == 0 ? (int64_t)sb.st_size : -1;
}

/* Truncates the WAL file, every frame of it being in the database already,
 * unless that means waiting: a TRUNCATE checkpoint that had to wait would
 * hold every write back meanwhile (it takes the write lock first, then waits
 * for the readers), so it runs without a busy handler and SQLITE_BUSY just
 * means "not now". Returns whether it truncated. */
static bool wal_trim(sqlite3 *db)
{
    sqlite3_busy_timeout(db, 0);
    int rc = sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log_warn("msg=\"cannot truncate the WAL file; it is kept for now\" error=\"%s\"",
                 sqlite3_errmsg(db));
    return rc == SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    struct store_checkpointer *ck = arg;

    pthread_setname_np(pthread_self(), "drumbeat-ckpt");
    pthread_mutex_lock(&ck->mu);
    for (;;) {
        while (!ck->wanted && !ck->stopping)
            pthread_cond_wait(&ck->cv, &ck->mu);
        if (ck->stopping)
            break;
        bool trim = ck->trim;
        ck->wanted = false;
        ck->trim = false;
        ck->running = true;
        pthread_mutex_unlock(&ck->mu);
        /* PASSIVE never waits for readers or the writer: what it cannot
         * copy now (pages a reader still needs) waits for the next one. */
        int frames = 0, copied = 0;
        int rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
                                           &copied);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("msg=\"checkpoint failed; the WAL keeps the pages until the next one\""
                     " error=\"%s\"", sqlite3_errmsg(ck->db));
        bool trimmed = trim && rc == SQLITE_OK && copied == frames &&
                       wal_file_size(ck->db) > ck->wal_keep_bytes && wal_trim(ck->db);
        pthread_mutex_lock(&ck->mu);
        ck->runs++;
        ck->trims += trimmed;
        ck->running = false;
        pthread_cond_broadcast(&ck->cv);
    }
    pthread_mutex_unlock(&ck->mu);
    return NULL;
}

int store_checkpointer_start(struct store_checkpointer *ck, const char *path,
                             struct errbuf *err)
{
    memset(ck, 0, sizeof(*ck));
    /* Opened like the writer's connection: it reads journal_mode (a
     * connection learns that the file is in WAL mode when it first reads
     * it; until then a checkpoint call does nothing) and never checkpoints
     * on its own. Only the handle is kept: no statement is ever prepared. */
    struct store_conn conn = { 0 };
    int rc = store_conn_open(&conn, path, false, err);
    if (rc < 0)
        return rc;
    ck->db = conn.db;
    ck->wal_keep_bytes = STORE_WAL_KEEP_BYTES;
    pthread_mutex_init(&ck->mu, NULL);
    pthread_cond_init(&ck->cv, NULL);
    rc = pthread_create(&ck->thread, NULL, checkpointer_main, ck);
    if (rc != 0) {
        pthread_mutex_destroy(&ck->mu);
        pthread_cond_destroy(&ck->cv);
        sqlite3_close(ck->db);
        ck->db = NULL;
        return errbuf_set(err, -rc, "store %s: cannot start the checkpoint thread: %s", path,
                          strerror(rc));
    }
    ck->started = true;
    return 0;
}

int64_t store_checkpointer_request(struct store_checkpointer *ck, bool trim)
{
    if (!ck->started)
        return 0;
    pthread_mutex_lock(&ck->mu);
    ck->wanted = true;
    ck->trim = ck->trim || trim;
    ck->requests++;
    /* One running now began before this request: the next one serves it. */
    int64_t served_at = ck->runs + (ck->running ? 2 : 1);
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    return served_at;
}

/* One of the counters, read under the lock. */
static int64_t counter(struct store_checkpointer *ck, const int64_t *field)
{
    if (!ck->started)
        return 0;
    pthread_mutex_lock(&ck->mu);
    int64_t n = *field;
    pthread_mutex_unlock(&ck->mu);
    return n;
}

int64_t store_checkpointer_requests(struct store_checkpointer *ck)
{
    return counter(ck, &ck->requests);
}

int64_t store_checkpointer_runs(struct store_checkpointer *ck)
{
    return counter(ck, &ck->runs);
}

int64_t store_checkpointer_trims(struct store_checkpointer *ck)
{
    return counter(ck, &ck->trims);
}

void store_checkpointer_stop(struct store_checkpointer *ck)
{
    if (!ck->started)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->stopping = true;
    pthread_cond_broadcast(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    pthread_mutex_destroy(&ck->mu);
    pthread_cond_destroy(&ck->cv);
    sqlite3_close(ck->db);
    ck->db = NULL;
    ck->started = false;
}
