/* SPDX-License-Identifier: MIT */
/* daemon/store_conn.c: one SQLite connection of the store: opening it with
 * the pragmas durability depends on, a small prepared-statement cache keyed
 * by the SQL literal's address, the mapping of SQLite result codes onto
 * negative errnos, and turning result rows into jansson objects.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "store_internal.h"

int store_sqlite_errno(int rc)
{
    switch (rc) {
    case SQLITE_OK: case SQLITE_DONE: case SQLITE_ROW:
        return 0;
    case SQLITE_CONSTRAINT_UNIQUE: case SQLITE_CONSTRAINT_PRIMARYKEY:
        return -EEXIST;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        return -ENOENT;
    case SQLITE_BUSY_SNAPSHOT:
        return -EAGAIN;
    case SQLITE_IOERR_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY_DBMOVED:
        return -ESTALE;
    }
    switch (rc & 0xff) {
    case SQLITE_CONSTRAINT: case SQLITE_MISMATCH: case SQLITE_RANGE: case SQLITE_TOOBIG:
        return -EINVAL;
    case SQLITE_BUSY: case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_PERM: case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_CANTOPEN:
        return -ENOENT;
    case SQLITE_NOTFOUND:
        return -ENOENT;
    case SQLITE_INTERRUPT: case SQLITE_ABORT:
        return -ECANCELED;
    case SQLITE_CORRUPT: case SQLITE_NOTADB: case SQLITE_FORMAT:
        return -EILSEQ;
    default:
        return -EIO;
    }
}

/* SQLite's allocation statistics take a process-wide mutex on every
 * malloc and free; nothing here reads them. Must run before SQLite's first
 * use; afterwards sqlite3_config refuses (SQLITE_MISUSE), which is harmless. */
static void sqlite_tune_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_conn_open(struct store_conn *c, const char *path, bool query_only,
                    struct errbuf *err)
{
    static pthread_once_t tuned = PTHREAD_ONCE_INIT;
    pthread_once(&tuned, sqlite_tune_once);
    /* NOMUTEX: each connection is used by one thread at a time (the loop's
     * read connection, the writer's write connection), so SQLite's own
     * per-connection mutex would only cost time. */
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int code;
    int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
    if (rc != SQLITE_OK) {
        code = store_sqlite_errno(rc);
        errbuf_set(err, code, "cannot open store %s: %s", path,
                  c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        c->db = NULL;
        return code;
    }
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);

    /* journal_mode answers with the mode in force: anything but "wal" means
     * the file system refused WAL, and then synchronous=FULL would not give
     * the guarantees DESIGN.md relies on. */
    sqlite3_stmt *s = NULL;
    /* A new store gets 16 KiB pages (an existing one keeps its own: WAL
     * fixes the size). An import enters every lead in two indexes at
     * random places; with 4 KiB pages that was four times the pages to
     * find, split and write to the WAL at each commit. A 1,000,000-row
     * import's writer thread went from 13.2-14.6 to 12.1-12.5 s of CPU
     * (bench/bench_import.sh). */
    if (!query_only && (rc = sqlite3_exec(c->db, "PRAGMA page_size=16384", NULL, NULL, NULL))
        != SQLITE_OK) {
        code = store_sqlite_errno(rc);
        errbuf_set(err, code, "cannot open store %s: %s", path, sqlite3_errmsg(c->db));
        goto fail;
    }
    rc = sqlite3_prepare_v2(c->db, "PRAGMA journal_mode=WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        code = store_sqlite_errno(rc);
        errbuf_set(err, code, "cannot open store %s: %s", path,
                  sqlite3_errmsg(c->db));
        sqlite3_finalize(s);
        goto fail;
    }
    const char *mode = (const char *)sqlite3_column_text(s, 0);
    if (mode == NULL || strcmp(mode, "wal") != 0) {
        code = -ENOTSUP;
        errbuf_set(err, code,
                  "store %s: cannot use WAL journaling here (journal_mode is %s)", path,
                  mode != NULL ? mode : "unknown");
        sqlite3_finalize(s);
        goto fail;
    }
    sqlite3_finalize(s);

    /* The writer: statement journals (one per request's savepoint) in
     * memory, not a temp file written page by page; an 8 MB page cache
     * holds a burst's hot pages (the daemon's RSS budget is 64 MB). */
    const char *pragmas = query_only
        ? "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA query_only=1;"
        : "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA wal_autocheckpoint=0;"
          " PRAGMA cache_size=-8192; PRAGMA temp_store=MEMORY;";
    char *msg = NULL;
    rc = sqlite3_exec(c->db, pragmas, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        code = store_sqlite_errno(rc);
        errbuf_set(err, code, "store %s: %s", path,
                  msg != NULL ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        goto fail;
    }
    return 0;

fail:
    sqlite3_close(c->db);
    c->db = NULL;
    return code;
}

void store_conn_close(struct store_conn *c)
{
    for (int i = 0; i < STORE_STMT_SLOTS; i++) {
        if (c->slot[i].stmt != NULL)
            sqlite3_finalize(c->slot[i].stmt);
        c->slot[i].stmt = NULL;
        c->slot[i].sql = NULL;
    }
    if (c->db != NULL)
        sqlite3_close(c->db);
    c->db = NULL;
}

int store_stmt(struct store_conn *c, const char *sql, sqlite3_stmt **out)
{
    int i;
    for (i = 0; i < STORE_STMT_SLOTS && c->slot[i].sql != NULL; i++) {
        if (c->slot[i].sql == sql) {
            sqlite3_reset(c->slot[i].stmt);
            sqlite3_clear_bindings(c->slot[i].stmt);
            *out = c->slot[i].stmt;
            return 0;
        }
    }
    if (i == STORE_STMT_SLOTS)
        return -ENOSPC;             /* raise STORE_STMT_SLOTS */
    int rc = sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &c->slot[i].stmt, NULL);
    if (rc != SQLITE_OK)
        return store_sqlite_errno(rc);
    c->slot[i].sql = sql;
    *out = c->slot[i].stmt;
    return 0;
}

int store_stmt_done(struct store_conn *c, sqlite3_stmt *stmt)
{
    int rc = sqlite3_step(stmt);
    while (rc == SQLITE_ROW)
        rc = sqlite3_step(stmt);
    int code = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(stmt);
    return code;
}

int store_exec(struct store_conn *c, const char *sql)
{
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : store_sqlite_errno(sqlite3_extended_errcode(c->db));
}

int store_query_int(struct store_conn *c, const char *sql, int64_t *out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, sql, &s);
    if (rc < 0)
        return rc;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    return rc;
}

int store_row_by_id(struct store_conn *c, const char *sql, int64_t id, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    json_t *row = rc == SQLITE_ROW ? store_row_json(s) : NULL;
    rc = rc == SQLITE_ROW ? (row != NULL ? 0 : -ENOMEM)
       : rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    if (rc == 0)
        *out = row;
    return rc;
}

int store_column_index(struct store_conn *c, const char *table, const char *column, int *out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(c, "SELECT cid FROM pragma_table_info(?1) WHERE name = ?2", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, table);
    store_bind_text(s, 2, column);
    rc = sqlite3_step(s) == SQLITE_ROW ? 0 : -EPROTO;
    if (rc == 0)
        *out = sqlite3_column_int(s, 0);
    sqlite3_reset(s);
    return rc;
}

int store_bind_text(sqlite3_stmt *s, int i, const char *text)
{
    int rc = text != NULL ? sqlite3_bind_text(s, i, text, -1, SQLITE_TRANSIENT)
                          : sqlite3_bind_null(s, i);
    return store_sqlite_errno(rc);
}

int store_bind_id(sqlite3_stmt *s, int i, int64_t id)
{
    int rc = id > 0 ? sqlite3_bind_int64(s, i, id) : sqlite3_bind_null(s, i);
    return store_sqlite_errno(rc);
}

static bool column_is_json(const char *name)
{
    return strcmp(name, "attrs") == 0 || strcmp(name, "data") == 0 ||
           strcmp(name, "definition") == 0;
}

json_t *store_row_json(sqlite3_stmt *s)
{
    json_t *obj = json_object();
    if (obj == NULL)
        return NULL;
    int n = sqlite3_column_count(s);
    for (int i = 0; i < n; i++) {
        const char *name = sqlite3_column_name(s, i);
        json_t *v = NULL;
        switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(s, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(s, i));
            break;
        case SQLITE_TEXT: {
            const char *text = (const char *)sqlite3_column_text(s, i);
            if (column_is_json(name))
                v = json_loads(text, JSON_DECODE_ANY, NULL);
            if (v == NULL)
                v = json_string(text);
            break;
        }
        case SQLITE_NULL:
            v = json_null();
            break;
        default:
            continue;               /* BLOBs (payloads) are not shown */
        }
        if (v == NULL || json_object_set_new(obj, name, v) < 0) {
            json_decref(obj);
            return NULL;
        }
    }
    return obj;
}

int store_rows_json(struct store_conn *c, sqlite3_stmt *s, json_t **out)
{
    json_t *arr = json_array();
    int rc;

    if (arr == NULL) {
        sqlite3_reset(s);
        return -ENOMEM;
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *row = store_row_json(s);
        if (row == NULL || json_array_append_new(arr, row) < 0) {
            sqlite3_reset(s);
            json_decref(arr);
            return -ENOMEM;
        }
    }
    int code = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(c->db));
    sqlite3_reset(s);
    if (code < 0) {
        json_decref(arr);
        return code;
    }
    *out = arr;
    return 0;
}

const char *store_actor_kind_name(enum store_actor_kind kind)
{
    switch (kind) {
    case STORE_ACTOR_PERSON: return "person";
    case STORE_ACTOR_RULE: return "rule";
    default: return "system";
    }
}

void store_lower(char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}
