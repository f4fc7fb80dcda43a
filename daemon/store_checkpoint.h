/* SPDX-License-Identifier: MIT */
/* daemon/store_checkpoint.h: the store's checkpointer thread. It copies the
 * WAL's committed pages back into the database file (a PASSIVE checkpoint)
 * on its own connection, when the writer asks: once writes pause, and every
 * so many commits while they do not. A checkpoint of a large WAL takes
 * seconds; run on the writer thread it held up every write queued behind
 * it, while SQLite lets a checkpoint and the writer's appends to the WAL run
 * side by side. (Under load the writer then copies the little appended
 * meanwhile itself, so the WAL can start over: store_writer.c.)
 *
 * SQLite never shrinks the WAL file: it starts over from its beginning and
 * overwrites, which is faster than appending. After a burst (an import of a
 * million leads, a day's sends) that file can be gigabytes, kept for good.
 * So a checkpoint asked for once writes pause (trim) that copied everything
 * also truncates a WAL file larger than wal_keep_bytes, if it can without
 * waiting: no busy handler, so a reader in the WAL or a writer makes it
 * give up until the next pause. Smaller files are kept: ordinary traffic
 * overwrites them, and never pays for growing the file again.
 *
 * Threads: request() from any thread (it never waits for a checkpoint);
 * start() and stop() on the thread that opens and closes the store.
 *
 * Ownership: struct store_checkpointer is embedded in struct store; it owns
 * its thread and its connection from start() until stop() has returned.
 */
#ifndef DRUMBEAT_STORE_CHECKPOINT_H
#define DRUMBEAT_STORE_CHECKPOINT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "errors.h"

struct store_checkpointer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    sqlite3 *db;             /* the checkpointer thread's own connection */
    bool started;
    bool wanted;             /* under mu: a request since the last checkpoint began */
    bool running;            /* under mu: a checkpoint is copying now */
    bool stopping;           /* under mu */
    int64_t runs;            /* under mu: checkpoints completed */
    int64_t requests;        /* under mu: checkpoints asked for */
    bool trim;               /* under mu: the wanted one may truncate the WAL */
    int64_t trims;           /* under mu: WAL files truncated */
    int64_t wal_keep_bytes;  /* a larger WAL file is truncated (STORE_WAL_KEEP_BYTES) */
};

/* 64 MiB: the WAL the writer lets grow before it asks for a checkpoint
 * under load (writer_checkpoint_frames, store_writer.c). */
#define STORE_WAL_KEEP_BYTES (64LL << 20)

/* Opens a connection to path and starts the thread. 0 or a negative errno
 * with err filled. */
int store_checkpointer_start(struct store_checkpointer *ck, const char *path,
                             struct errbuf *err);
/* Asks for a checkpoint; requests made while one runs are served by one
 * more checkpoint after it. trim: writes have paused, so the checkpoint may
 * also truncate a large WAL file (see above). Returns the count of completed checkpoints
 * (store_checkpointer_runs) at which this request is served, or 0 when the
 * checkpointer is not running. */
int64_t store_checkpointer_request(struct store_checkpointer *ck, bool trim);
/* Checkpoints asked for so far (for tests). */
int64_t store_checkpointer_requests(struct store_checkpointer *ck);
/* Checkpoints completed so far (for tests). */
int64_t store_checkpointer_runs(struct store_checkpointer *ck);
/* WAL files truncated so far (for tests). */
int64_t store_checkpointer_trims(struct store_checkpointer *ck);
/* Lets a running checkpoint finish, ends the thread, closes the connection.
 * Safe on a checkpointer that never started. */
void store_checkpointer_stop(struct store_checkpointer *ck);

#endif /* DRUMBEAT_STORE_CHECKPOINT_H */
