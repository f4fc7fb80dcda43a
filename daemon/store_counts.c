/* SPDX-License-Identifier: MIT */
/* daemon/store_counts.c: touch_counts kept from the writer connection's
 * pre-update hook (store_counts.h says why). */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1   /* declares the hook API in sqlite3.h */

#include <errno.h>
#include <string.h>

#include "store_internal.h"

/* The state a row had (old) or will have (new), or -1 for NULL or a name
 * that is not a state (touch_counts has no row for it either). */
static int row_state(sqlite3 *db, int column, bool old)
{
    sqlite3_value *v = NULL;
    int rc = old ? sqlite3_preupdate_old(db, column, &v) : sqlite3_preupdate_new(db, column, &v);
    if (rc != SQLITE_OK || v == NULL || sqlite3_value_type(v) != SQLITE_TEXT)
        return -1;
    enum touch_state state;
    if (touch_state_parse((const char *)sqlite3_value_text(v), &state) < 0)
        return -1;
    return (int)state;
}

static void counts_hook(void *arg, sqlite3 *db, int op, const char *schema, const char *table,
                        sqlite3_int64 old_key, sqlite3_int64 new_key)
{
    struct store_counts *c = arg;
    (void)old_key;
    (void)new_key;
    if (c->by_caller || strcmp(table, "touches") != 0 || strcmp(schema, "main") != 0)
        return;
    int from = op == SQLITE_INSERT ? -1 : row_state(db, c->state_column, true);
    int to = op == SQLITE_DELETE ? -1 : row_state(db, c->state_column, false);
    if (from == to)
        return;
    if (from >= 0)
        c->delta[from]--;
    if (to >= 0)
        c->delta[to]++;
}

int store_counts_attach(struct store *st)
{
    int64_t column = -1;
    int rc = store_query_int(&st->wr, "SELECT cid FROM pragma_table_info('touches')"
                             " WHERE name = 'state'", &column);
    if (rc < 0)
        return rc;
    if (column < 0)
        return -EPROTO;
    memset(&st->counts, 0, sizeof(st->counts));
    st->counts.state_column = (int)column;
    sqlite3_preupdate_hook(st->wr.db, counts_hook, &st->counts);
    return 0;
}

int store_counts_flush(struct store *st)
{
    for (int i = 0; i < TOUCH_STATE_COUNT; i++) {
        if (st->counts.delta[i] == 0)
            continue;
        sqlite3_stmt *s;
        int rc = store_stmt(&st->wr, "UPDATE touch_counts SET n = n + ?2 WHERE state = ?1", &s);
        if (rc < 0)
            return rc;
        store_bind_text(s, 1, touch_state_format((enum touch_state)i));
        sqlite3_bind_int64(s, 2, st->counts.delta[i]);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
    }
    memset(st->counts.delta, 0, sizeof(st->counts.delta));
    return 0;
}

void store_counts_by_caller(struct store *st, bool on)
{
    st->counts.by_caller = on;
}

void store_counts_move(struct store *st, enum touch_state from, enum touch_state to, int64_t n)
{
    if (from == to || n == 0)
        return;
    st->counts.delta[from] -= n;
    st->counts.delta[to] += n;
}

void store_counts_discard(struct store *st)
{
    memset(st->counts.delta, 0, sizeof(st->counts.delta));
}

void store_counts_mark(const struct store *st, struct store_counts_mark *m)
{
    memcpy(m->delta, st->counts.delta, sizeof(m->delta));
}

void store_counts_restore(struct store *st, const struct store_counts_mark *m)
{
    memcpy(st->counts.delta, m->delta, sizeof(m->delta));
}
