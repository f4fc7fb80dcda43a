/* SPDX-License-Identifier: MIT */
/* daemon/store_counts.c: touch_counts kept from the writer connection's
 * pre-update hook (store_counts.h says why), which also feeds the import's
 * name filter (store_name_filter.h). */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1   /* declares the hook API in sqlite3.h */

#include <errno.h>
#include <stdlib.h>
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

/* The index of name in c->mailboxes, added if new; -1 without memory. */
static int64_t mailbox_index(struct store_counts *c, const char *name)
{
    for (size_t i = 0; i < c->n_mailboxes; i++)
        if (strcmp(c->mailboxes[i], name) == 0)
            return (int64_t)i;
    char **grown = realloc(c->mailboxes, (c->n_mailboxes + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    c->mailboxes = grown;
    if ((grown[c->n_mailboxes] = strdup(name)) == NULL)
        return -1;
    return (int64_t)c->n_mailboxes++;
}

static void journal_send(struct store_counts *c, const char *mailbox, int64_t sent_at, int n)
{
    int64_t m = mailbox_index(c, mailbox);
    if (m < 0 || m > UINT32_MAX) {
        c->lost = true;
        return;
    }
    if (c->n_sends == c->cap_sends) {
        size_t cap = c->cap_sends != 0 ? 2 * c->cap_sends : 256;
        struct store_send_delta *grown = realloc(c->sends, cap * sizeof(*grown));
        if (grown == NULL) {
            c->lost = true;
            return;
        }
        c->sends = grown;
        c->cap_sends = cap;
    }
    c->sends[c->n_sends++] = (struct store_send_delta){ .mailbox = (uint32_t)m, .n = n,
                                                        .minute = sent_at / 60000 };
}

/* A row's (mailbox, sent_at) when it counts as a send: both set. */
struct row_send {
    bool counts;
    int64_t sent_at;
    const char *mailbox;        /* SQLite's, valid during the hook */
};

static struct row_send row_send(sqlite3 *db, const struct store_counts *c, bool old)
{
    struct row_send r = { 0 };
    sqlite3_value *at = NULL, *mb = NULL;
    int (*get)(sqlite3 *, int, sqlite3_value **) = old ? sqlite3_preupdate_old
                                                       : sqlite3_preupdate_new;
    if (get(db, c->sent_at_column, &at) != SQLITE_OK || at == NULL ||
        sqlite3_value_type(at) != SQLITE_INTEGER)
        return r;
    if (get(db, c->mailbox_column, &mb) != SQLITE_OK || mb == NULL ||
        sqlite3_value_type(mb) != SQLITE_TEXT)
        return r;
    r.counts = true;
    r.sent_at = sqlite3_value_int64(at);
    r.mailbox = (const char *)sqlite3_value_text(mb);
    return r;
}

static void counts_row(struct store_counts *c, sqlite3 *db, int op)
{
    if (c->by_caller)
        return;
    int from = op == SQLITE_INSERT ? -1 : row_state(db, c->state_column, true);
    int to = op == SQLITE_DELETE ? -1 : row_state(db, c->state_column, false);
    if (from != to) {
        if (from >= 0)
            c->delta[from]--;
        if (to >= 0)
            c->delta[to]++;
    }
    /* A send moves from (old mailbox, old minute) to the new ones. */
    struct row_send was = { 0 }, is = { 0 };
    if (op != SQLITE_INSERT)
        was = row_send(db, c, true);
    if (op != SQLITE_DELETE)
        is = row_send(db, c, false);
    if (was.counts && is.counts && was.sent_at / 60000 == is.sent_at / 60000 &&
        strcmp(was.mailbox, is.mailbox) == 0)
        return;
    if (was.counts)
        journal_send(c, was.mailbox, was.sent_at, -1);
    if (is.counts)
        journal_send(c, is.mailbox, is.sent_at, 1);
}

/* The writer connection's one pre-update hook: touches feed the counts,
 * leads the import's name filter (store_name_filter.h). */
static void writer_preupdate(void *arg, sqlite3 *db, int op, const char *schema,
                             const char *table, sqlite3_int64 old_key, sqlite3_int64 new_key)
{
    struct store *st = arg;
    (void)old_key;
    (void)new_key;
    if (strcmp(schema, "main") != 0)
        return;
    if (strcmp(table, "touches") == 0)
        counts_row(&st->counts, db, op);
    else if (strcmp(table, "leads") == 0)
        store_name_filter_row(&st->names, db, op);
}

int store_counts_attach(struct store *st)
{
    struct store_counts c = { 0 };
    int rc;
    if ((rc = store_column_index(&st->wr, "touches", "state", &c.state_column)) < 0 ||
        (rc = store_column_index(&st->wr, "touches", "sent_at", &c.sent_at_column)) < 0 ||
        (rc = store_column_index(&st->wr, "touches", "mailbox", &c.mailbox_column)) < 0)
        return rc;
    st->counts = c;
    sqlite3_preupdate_hook(st->wr.db, writer_preupdate, st);
    return 0;
}

/* The journal's sum for each mailbox and minute, written; then emptied. */
static int flush_sends(struct store *st)
{
    struct store_counts *c = &st->counts;
    if (c->lost)
        return -ENOMEM;
    /* Summed in place into one line per mailbox and minute at the front.
     * A commit holds a few mailboxes' current minute, and the search looks
     * at the newest sums first. */
    size_t keys = 0;
    for (size_t i = 0; i < c->n_sends; i++) {
        struct store_send_delta d = c->sends[i];
        size_t k = keys;
        while (k > 0 && (c->sends[k - 1].mailbox != d.mailbox ||
                         c->sends[k - 1].minute != d.minute))
            k--;
        if (k > 0)
            c->sends[k - 1].n += d.n;
        else
            c->sends[keys++] = d;
    }
    for (size_t i = 0; i < keys; i++) {
        const struct store_send_delta *d = &c->sends[i];
        if (d->n == 0)
            continue;
        /* Fewer sends than counted can only be of a minute that has its row
         * (unless pruned, 25 hours on: nothing to take from then). */
        sqlite3_stmt *s;
        int rc = store_stmt(&st->wr, d->n > 0
            ? "INSERT INTO mailbox_send_minutes (mailbox, minute, n) VALUES (?1, ?2, ?3)"
              " ON CONFLICT (mailbox, minute) DO UPDATE SET n = n + ?3"
            : "UPDATE mailbox_send_minutes SET n = n + ?3 WHERE mailbox = ?1 AND minute = ?2",
            &s);
        if (rc < 0)
            return rc;
        store_bind_text(s, 1, c->mailboxes[d->mailbox]);
        sqlite3_bind_int64(s, 2, d->minute);
        sqlite3_bind_int64(s, 3, d->n);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
    }
    c->n_sends = 0;
    return 0;
}

int store_counts_flush(struct store *st)
{
    int rc = flush_sends(st);
    if (rc < 0)
        return rc;
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

void store_counts_send(struct store *st, const char *mailbox, int64_t sent_at, int n)
{
    if (mailbox != NULL)
        journal_send(&st->counts, mailbox, sent_at, n);
}

void store_counts_discard(struct store *st)
{
    memset(st->counts.delta, 0, sizeof(st->counts.delta));
    st->counts.n_sends = 0;
    st->counts.lost = false;
}

void store_counts_mark(const struct store *st, struct store_counts_mark *m)
{
    memcpy(m->delta, st->counts.delta, sizeof(m->delta));
    m->n_sends = st->counts.n_sends;
}

void store_counts_restore(struct store *st, const struct store_counts_mark *m)
{
    memcpy(st->counts.delta, m->delta, sizeof(m->delta));
    /* A flush that failed part way had summed the journal in place; it
     * fails the whole transaction, which discards, so no mark outlives it. */
    st->counts.n_sends = m->n_sends;
}

void store_counts_free(struct store *st)
{
    struct store_counts *c = &st->counts;
    for (size_t i = 0; i < c->n_mailboxes; i++)
        free(c->mailboxes[i]);
    free(c->mailboxes);
    free(c->sends);
    memset(c, 0, sizeof(*c));
}
