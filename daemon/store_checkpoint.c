/* SPDX-License-Identifier: MIT */
/* daemon/store_checkpoint.c: the checkpointer thread (store_checkpoint.h). */
#include <errno.h>
#include <string.h>

#include "log.h"
#include "store_checkpoint.h"
#include "store_internal.h"

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
        ck->wanted = false;
        ck->running = true;
        pthread_mutex_unlock(&ck->mu);
        /* PASSIVE never waits for readers or the writer: what it cannot
         * copy now (pages a reader still needs) waits for the next one. */
        int rc = sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            log_warn("msg=\"checkpoint failed; the WAL keeps the pages until the next one\""
                     " error=\"%s\"", sqlite3_errmsg(ck->db));
        pthread_mutex_lock(&ck->mu);
        ck->runs++;
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

int64_t store_checkpointer_request(struct store_checkpointer *ck)
{
    if (!ck->started)
        return 0;
    pthread_mutex_lock(&ck->mu);
    ck->wanted = true;
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
