/* SPDX-License-Identifier: MIT */
/* daemon/store_sqlite.c: the SQLite store's lifecycle and figures: opening
 * (folders, connections, migrations, crash recovery of 'sending' touches,
 * the writer thread), flushing, closing, and store_status().
 *
 * The store's uv_async_t is heap memory freed in its close callback (see
 * store_writer.h), so store_close() can free struct store at once; the
 * caller keeps running the loop until uv_loop_alive() is false.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "store_internal.h"

/* Creates every missing folder on the way to the store file. */
static int make_folders(const char *path, struct errbuf *err)
{
    char dir[512];
    struct stat sb;

    snprintf(dir, sizeof(dir), "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;                   /* the current folder */
    if (slash == dir)
        return 0;                   /* "/file" */
    *slash = '\0';
    for (char *p = dir + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(dir, 0750) < 0 && errno != EEXIST)
            goto fail;
        *p = '/';
    }
    if (mkdir(dir, 0750) < 0 && errno != EEXIST)
        goto fail;
    if (stat(dir, &sb) < 0)
        goto fail;
    if (!S_ISDIR(sb.st_mode)) {
        errno = ENOTDIR;
        goto fail;
    }
    if (access(dir, W_OK) < 0)
        goto fail;
    return 0;

fail:;
    int code = -errno;
    return errbuf_set(err, code, "cannot create store %s: folder %s: %s", path, dir,
                      error_text(code));
}

int store_open(uv_loop_t *loop, const char *path, struct store **out, struct errbuf *err)
{
    struct store *st = NULL;
    int64_t recovered = 0;
    int rc;

    if (path == NULL || *path == '\0')
        return errbuf_set(err, -EINVAL, "no store path given");
    if (strlen(path) >= sizeof(st->path))
        return errbuf_set(err, -ENAMETOOLONG, "store path too long: %s", path);
    rc = make_folders(path, err);
    if (rc < 0)
        return rc;
    st = calloc(1, sizeof(*st));
    if (st == NULL)
        return errbuf_set(err, -ENOMEM, "store %s: out of memory", path);
    st->loop = loop;
    snprintf(st->path, sizeof(st->path), "%s", path);

    rc = store_conn_open(&st->wr, path, false, err);
    if (rc < 0)
        goto fail;
    rc = store_migrate(&st->wr, path, &st->schema_version, st->store_id,
                       sizeof(st->store_id), err);
    if (rc < 0)
        goto fail;
    rc = store_counts_attach(st);
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot follow touch states: %s", path,
                   sqlite3_errmsg(st->wr.db));
        goto fail;
    }
    rc = store_touches_recover(st, &recovered);
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot mark interrupted touches in_doubt: %s", path,
                   sqlite3_errmsg(st->wr.db));
        goto fail;
    }
    if (recovered > 0)
        log_warn("msg=\"touches interrupted while sending are now in_doubt\" path=\"%s\" "
                 "count=%lld", path, (long long)recovered);
    rc = store_conn_open(&st->rd, path, true, err);
    if (rc < 0)
        goto fail;
    /* The checkpointer first: the writer asks it for checkpoints. */
    rc = store_checkpointer_start(&st->ck, path, err);
    if (rc < 0)
        goto fail;
    rc = store_writer_start(st, loop);
    if (rc < 0) {
        errbuf_set(err, rc, "store %s: cannot start the writer thread: %s", path,
                   error_text(rc));
        goto fail;
    }
    log_info("msg=\"store opened\" path=\"%s\" schema=%d", path, st->schema_version);
    *out = st;
    return 0;

fail:
    store_checkpointer_stop(&st->ck);
    store_conn_close(&st->rd);
    store_conn_close(&st->wr);
    store_counts_free(st);
    free(st);
    return rc;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    store_writer_stop(st);
    store_checkpointer_stop(&st->ck);
    store_conn_close(&st->rd);
    /* With every reader gone, TRUNCATE empties the WAL, so the file is
     * whole on its own and the next open starts with a small log. */
    if (st->wr.db != NULL)
        sqlite3_wal_checkpoint_v2(st->wr.db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    store_conn_close(&st->wr);
    store_counts_free(st);
    store_name_filter_end(&st->names);
    store_notify_free(st);
    log_info("msg=\"store closed\" path=\"%s\"", st->path);
    free(st);
}

int store_flush(struct store *st, store_done_cb cb, void *arg)
{
    /* A barrier: no run function, so it only waits its turn in the queue,
     * and completions run in queue order. */
    struct store_req *req = store_req_new(NULL, NULL, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    return store_writer_submit(st, req);
}

static int64_t file_size(const char *path, const char *suffix)
{
    char name[600];
    struct stat sb;

    snprintf(name, sizeof(name), "%s%s", path, suffix);
    return stat(name, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

int store_status(struct store *st, struct store_status *out)
{
    sqlite3_stmt *s;
    int rc;

    memset(out, 0, sizeof(*out));
    snprintf(out->backend, sizeof(out->backend), "sqlite");
    snprintf(out->path, sizeof(out->path), "%s", st->path);
    snprintf(out->store_id, sizeof(out->store_id), "%s", st->store_id);
    out->schema_version = st->schema_version;

    rc = store_query_int(&st->rd, "SELECT count(*) FROM leads", &out->leads);
    /* Events are append-only with plain rowids, so the highest id is the
     * count, found in one index step instead of a full scan. */
    if (rc == 0)
        rc = store_query_int(&st->rd, "SELECT coalesce(max(id), 0) FROM events", &out->events);
    if (rc == 0)
        rc = store_query_int(&st->rd, "SELECT count(*) FROM tasks WHERE state = 'open'",
                         &out->tasks_open);
    if (rc == 0)
        rc = store_query_int(&st->rd, "SELECT count(*) FROM suppression", &out->suppressed);
    if (rc < 0)
        return rc;

    rc = store_stmt(&st->rd, "SELECT state, n FROM touch_counts", &s);
    if (rc < 0)
        return rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        enum touch_state state;
        if (touch_state_parse((const char *)sqlite3_column_text(s, 0), &state) == 0)
            out->touches[state] = sqlite3_column_int64(s, 1);
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;

    out->file_bytes = file_size(st->path, "") + file_size(st->path, "-wal");
    store_writer_stats(st, &out->write_queue, &out->writes_committed, &out->commits,
                       &out->lazy_commits, &out->lazy_syncs);
    return 0;
}
