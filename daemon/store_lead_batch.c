/* SPDX-License-Identifier: MIT */
/* daemon/store_lead_batch.c: many lead upserts as one writer request, a bulk
 * one: the writer runs an import's consecutive batches in one transaction
 * with no savepoints (store_writer_txn.c), so an import commits
 * tens of thousands of rows at a time and a crash leaves whole transactions
 * or nothing. Per row: look the lead up by its email;
 * check the suppression list (email, then domain); insert, or merge field by
 * field in C so that "nothing new" is known exactly (a re-import reports
 * UNCHANGED and writes nothing). Then, for the batch's new leads whose
 * name the name filter (store_name_filter.h) says may be taken, look for
 * another lead with the same name at the same domain. A dry run does all of
 * it inside a savepoint it rolls back.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum { B_EMAIL, B_FIRST, B_LAST, B_COMPANY, B_DOMAIN, B_TITLE, B_PHONE, B_COUNTRY, B_TZ,
       B_LINKEDIN, B_SOURCE, B_BASIS, B_ATTRS, B_STATUS, B_N };

/* Columns B_FIRST..B_BASIS, merged the same way. */
static const char *const col_names[B_N] = {
    "email", "first_name", "last_name", "company", "domain", "title", "phone", "country",
    "timezone", "linkedin", "source", "lawful_basis", "attrs", "email_status",
};

struct batch_row {
    const char *f[B_N];         /* in batch->arena; NULL when absent */
    int len[B_N];               /* strlen(f[i]): SQLite need not count again */
    bool overwrite;
};

struct batch {
    size_t n;
    unsigned flags;
    bool check_suppression;     /* false when the list is empty */
    char *event_data;           /* the lead_created event's data, shared */
    struct batch_row *rows;
    struct store_lead_outcome *out;
    char **reasons;             /* per row, malloc'd on the writer thread */
    bool *maybe_dup;            /* per row: its name key may be in the store already */
    char *arena;
    store_lead_batch_cb cb;
    void *arg;
    bool queued;                /* counted in import_queued until it runs */
    int64_t created_first, created_last;    /* leads whose shared lead_created
                                               event is not written yet; 0: none */
};

static void batch_unqueue(struct batch *b)
{
    if (b->queued) {
        b->queued = false;
        store_import_queued_add(-1);
    }
}

static bool empty(const char *s)
{
    return s == NULL || *s == '\0';
}

/* The batch's strings live in its arena until the request is freed, past
 * every step: SQLite need not copy them. len < 0: SQLite finds the end. */
static void bind_arena_text(sqlite3_stmt *s, int i, const char *text, int len)
{
    if (text != NULL)
        sqlite3_bind_text(s, i, text, len, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

static char *dup_col(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t != NULL ? strdup((const char *)t) : NULL;
}

/* Adds new's members to old: missing (or, with overwrite, different) ones;
 * objects merge recursively. Returns whether old changed. */
static bool attrs_merge(json_t *old, json_t *new, bool overwrite)
{
    const char *key;
    json_t *v;
    bool changed = false;

    json_object_foreach(new, key, v) {
        json_t *cur = json_object_get(old, key);
        if (json_is_object(cur) && json_is_object(v)) {
            changed = attrs_merge(cur, v, overwrite) || changed;
        } else if (cur == NULL || json_is_null(cur) ||
                   (json_is_string(cur) && json_string_length(cur) == 0) ||
                   (overwrite && !json_equal(cur, v))) {
            json_object_set(old, key, v);
            changed = true;
        }
    }
    return changed;
}

static int suppression_any(struct store *st, bool *any)
{
    int64_t n = 0;
    int rc = store_query_int(&st->wr, "SELECT EXISTS (SELECT 1 FROM suppression)", &n);
    *any = rc == 0 && n != 0;
    return rc;
}

int store_wr_suppression_of(struct store *st, const char *email, const char *domain,
                             char **reason, bool *hit)
{
    sqlite3_stmt *s;
    char hash[65] = "";
    /* A forgotten lead's address is only kept as its hash (store_admin.c). */
    int rc = email != NULL ? store_email_hash(email, hash) : 0;
    if (rc < 0)
        return rc;
    rc = store_stmt(&st->wr,
        "SELECT coalesce(reason, '') FROM suppression WHERE (kind = 'email' AND value = ?1)"
        " OR (kind = 'domain' AND value = ?2) OR (kind = 'email_hash' AND value = ?3)"
        " ORDER BY kind = 'domain' LIMIT 1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, email);
    store_bind_text(s, 2, domain);
    store_bind_text(s, 3, hash[0] != '\0' ? hash : NULL);
    rc = sqlite3_step(s);
    *hit = rc == SQLITE_ROW;
    if (*hit)
        *reason = dup_col(s, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

/* Sets probable_dup_of on each lead the batch created that may have a
 * namesake (b->maybe_dup, from the name filter before its insert): the
 * first lead made before it with the same first and last name (case-blind)
 * at the same domain. */
static int find_probable_dups(struct store *st, struct batch *b)
{
    sqlite3_stmt *s;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const struct batch_row *r = &b->rows[i];
        struct store_lead_outcome *o = &b->out[i];
        if (o->result != STORE_LEAD_CREATED || o->lead_id <= 0 || !b->maybe_dup[i] ||
            empty(r->f[B_FIRST]) || empty(r->f[B_LAST]) || empty(r->f[B_DOMAIN]))
            continue;
        rc = store_stmt(&st->wr,
            "SELECT id FROM leads WHERE domain = ?1 AND first_name = ?2 COLLATE NOCASE"
            " AND last_name = ?3 COLLATE NOCASE AND id < ?4 ORDER BY id LIMIT 1", &s);
        if (rc < 0)
            return rc;
        bind_arena_text(s, 1, r->f[B_DOMAIN], r->len[B_DOMAIN]);
        bind_arena_text(s, 2, r->f[B_FIRST], r->len[B_FIRST]);
        bind_arena_text(s, 3, r->f[B_LAST], r->len[B_LAST]);
        sqlite3_bind_int64(s, 4, o->lead_id);
        rc = sqlite3_step(s);
        if (rc == SQLITE_ROW)
            o->probable_dup_of = sqlite3_column_int64(s, 0);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
           : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
        sqlite3_reset(s);
    }
    return rc;
}

/* Writes the lead_created event of the run of leads created since the last
 * flush, which took consecutive ids and share the batch's event data: one
 * event for the run, lead_id its first lead and lead_last its last (a run of
 * one is an ordinary event). Runs before any other event the batch writes,
 * so the log keeps the rows' order. With notification subscribers, events go
 * one by one (store_event_insert queues each one's notifications), and
 * nothing is pending here. */
static int flush_created(struct store *st, struct store_req *req, struct batch *b)
{
    sqlite3_stmt *s;
    if (b->created_first == 0)
        return 0;
    int rc = store_stmt(&st->wr,
        "INSERT INTO events (at, lead_id, lead_last, touch_id, type, actor_kind, actor, data)"
        " VALUES (?1, ?5, nullif(?6, ?5), NULL, 'lead_created', ?2, ?3, coalesce(?4, '{}'))",
        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, req->now);
    store_bind_text(s, 2, store_actor_kind_name(req->actor.kind));
    bind_arena_text(s, 3, req->actor.name, -1);
    bind_arena_text(s, 4, b->event_data, -1);
    sqlite3_bind_int64(s, 5, b->created_first);
    sqlite3_bind_int64(s, 6, b->created_last);
    rc = store_stmt_done(&st->wr, s);
    b->created_first = b->created_last = 0;
    return rc;
}

/* Inserts r as a new lead with its lead_created event (or, with the batch's
 * shared event data, marks it pending for flush_created); *id = 0 (and no
 * event) when a lead with its email exists already. */
static int row_insert(struct store *st, struct store_req *req, struct batch *b,
                      const struct batch_row *r, bool suppressed, const char *event_data,
                      int64_t *id)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO leads (email, first_name, last_name, company, domain, title, phone,"
        " country, timezone, linkedin, source, lawful_basis, attrs, email_status, suppressed,"
        " created_at, updated_at)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?16)"
        " ON CONFLICT (email) DO NOTHING", &s);
    if (rc < 0)
        return rc;
    /* An empty field is NULL, and attrs and email_status have their
     * defaults: decided here, not by SQL functions run for every column of
     * every row. */
    for (int i = 0; i < B_N; i++) {
        if (!empty(r->f[i]))
            bind_arena_text(s, i + 1, r->f[i], r->len[i]);
        else if (i == B_ATTRS)
            bind_arena_text(s, i + 1, "{}", 2);
        else if (i == B_STATUS)
            bind_arena_text(s, i + 1, "unknown", 7);
        else
            sqlite3_bind_null(s, i + 1);
    }
    sqlite3_bind_int(s, 15, suppressed);
    sqlite3_bind_int64(s, 16, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;
    *id = sqlite3_changes(st->wr.db) > 0 ? sqlite3_last_insert_rowid(st->wr.db) : 0;
    if (*id == 0)
        return 0;
    /* The stored values: an empty one is NULL, which no key has. */
    if (!empty(r->f[B_DOMAIN]) && !empty(r->f[B_FIRST]) && !empty(r->f[B_LAST]))
        store_name_filter_add(&st->names, r->f[B_DOMAIN], r->f[B_FIRST], r->f[B_LAST]);
    if (event_data != NULL && st->notify == NULL) {
        if (b->created_first != 0 && *id != b->created_last + 1 &&
            (rc = flush_created(st, req, b)) < 0)
            return rc;
        if (b->created_first == 0)
            b->created_first = *id;
        b->created_last = *id;
        return 0;
    }
    if ((rc = flush_created(st, req, b)) < 0)
        return rc;
    if (event_data != NULL)
        return store_event_insert(st, req->now, *id, 0, "lead_created", &req->actor,
                                  event_data, NULL);
    json_t *data = json_pack("{s:s?, s:b}", "source", r->f[B_SOURCE], "import", 1);
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    rc = store_event_insert(st, req->now, *id, 0, "lead_created", &req->actor, text, NULL);
    free(text);
    return rc;
}

/* Merges r into the lead at id (whose row is in s, columns in col_names
 * order starting at 1); sets *changed. */
static int row_merge(struct store *st, struct store_req *req, struct batch *b,
                     const struct batch_row *r, sqlite3_stmt *cur, bool suppressed,
                     bool *changed)
{
    char *val[B_N] = { 0 };
    json_t *fields = json_array();
    int64_t id = sqlite3_column_int64(cur, 0);
    bool was_suppressed = sqlite3_column_int(cur, B_N) != 0;
    int rc = 0;

    *changed = false;
    for (int i = B_FIRST; i <= B_BASIS; i++) {
        val[i] = dup_col(cur, i);
        if (!empty(r->f[i]) && (empty(val[i]) || (r->overwrite && strcmp(val[i], r->f[i]) != 0))) {
            free(val[i]);
            val[i] = strdup(r->f[i]);
            json_array_append_new(fields, json_string(col_names[i]));
            *changed = true;
        }
    }
    val[B_STATUS] = dup_col(cur, B_STATUS);
    if (!empty(r->f[B_STATUS]) && (empty(val[B_STATUS]) || strcmp(val[B_STATUS], "unknown") == 0) &&
        strcmp(r->f[B_STATUS], "unknown") != 0) {
        free(val[B_STATUS]);
        val[B_STATUS] = strdup(r->f[B_STATUS]);
        json_array_append_new(fields, json_string("email_status"));
        *changed = true;
    }
    json_t *old = json_loads((const char *)sqlite3_column_text(cur, B_ATTRS), 0, NULL);
    json_t *new = r->f[B_ATTRS] != NULL ? json_loads(r->f[B_ATTRS], 0, NULL) : NULL;
    if (json_is_object(old) && json_is_object(new) && attrs_merge(old, new, r->overwrite)) {
        val[B_ATTRS] = json_dumps(old, JSON_COMPACT);
        json_array_append_new(fields, json_string("attrs"));
        *changed = true;
    }
    json_decref(new);
    json_decref(old);
    if (suppressed && !was_suppressed)
        *changed = true;
    if (*changed) {
        sqlite3_stmt *s;
        rc = store_stmt(&st->wr,
            "UPDATE leads SET first_name = ?2, last_name = ?3, company = ?4, domain = ?5,"
            " title = ?6, phone = ?7, country = ?8, timezone = ?9, linkedin = ?10,"
            " source = ?11, lawful_basis = ?12, attrs = coalesce(?13, attrs),"
            " email_status = coalesce(?14, email_status), suppressed = max(suppressed, ?15),"
            " updated_at = ?16 WHERE id = ?1", &s);
        if (rc == 0) {
            sqlite3_bind_int64(s, 1, id);
            for (int i = B_FIRST; i < B_N; i++)
                store_bind_text(s, i + 1, val[i]);
            sqlite3_bind_int(s, 15, suppressed);
            sqlite3_bind_int64(s, 16, req->now);
            rc = store_stmt_done(&st->wr, s);
        }
        if (rc == 0)
            store_name_filter_add(&st->names, val[B_DOMAIN], val[B_FIRST], val[B_LAST]);
        if (rc == 0)
            rc = flush_created(st, req, b);
        if (rc == 0) {
            json_t *data = json_pack("{s:o, s:b}", "fields", fields, "import", 1);
            fields = NULL;
            char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
            json_decref(data);
            rc = store_event_insert(st, req->now, id, 0, "lead_merged", &req->actor, text, NULL);
            free(text);
        }
    }
    json_decref(fields);
    for (int i = 0; i < B_N; i++)
        free(val[i]);
    return rc;
}

static int row_run(struct store *st, struct store_req *req, struct batch *b, size_t i)
{
    const struct batch_row *r = &b->rows[i];
    struct store_lead_outcome *o = &b->out[i];
    const char *email = r->f[B_EMAIL];
    const char *at = email != NULL ? strrchr(email, '@') : NULL;
    bool hit = false;
    sqlite3_stmt *s;

    int rc = b->check_suppression
           ? store_wr_suppression_of(st, email, at != NULL ? at + 1 : r->f[B_DOMAIN],
                                     &b->reasons[i], &hit) : 0;
    if (rc < 0)
        return rc;
    o->suppressed = hit;
    /* Before the insert, which adds the row's own key to the filter. */
    b->maybe_dup[i] = store_name_filter_maybe(&st->names, r->f[B_DOMAIN], r->f[B_FIRST],
                                              r->f[B_LAST]);
    const char *src0 = b->rows[0].f[B_SOURCE], *src = r->f[B_SOURCE];
    bool same = src0 == NULL ? src == NULL : src != NULL && strcmp(src0, src) == 0;
    if (email != NULL) {
        /* Most rows of an import are new leads: the insert goes first, and
         * the unique email index answers "is it new?" in the same probe.
         * Only a lead that exists is read back and merged. */
        rc = row_insert(st, req, b, r, hit, same ? b->event_data : NULL, &o->lead_id);
        if (rc < 0)
            return rc;
        if (o->lead_id > 0) {
            o->result = STORE_LEAD_CREATED;
            return 0;
        }
    }
    if (email != NULL)
        rc = store_stmt(&st->wr,
            "SELECT id, first_name, last_name, company, domain, title, phone, country, timezone,"
            " linkedin, source, lawful_basis, attrs, email_status, suppressed"
            " FROM leads WHERE email = ?1", &s);
    else    /* the same shape, over the partial index leads_name_domain */
        rc = store_stmt(&st->wr,
            "SELECT id, first_name, last_name, company, domain, title, phone, country, timezone,"
            " linkedin, source, lawful_basis, attrs, email_status, suppressed"
            " FROM leads WHERE email IS NULL AND domain = ?2 AND lower(last_name) = lower(?4)"
            " AND lower(first_name) = lower(?3) ORDER BY id LIMIT 1", &s);
    if (rc < 0)
        return rc;
    if (email != NULL) {
        store_bind_text(s, 1, email);
    } else {
        store_bind_text(s, 2, r->f[B_DOMAIN]);
        store_bind_text(s, 3, r->f[B_FIRST]);
        store_bind_text(s, 4, r->f[B_LAST]);
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        bool changed = false;
        o->lead_id = sqlite3_column_int64(s, 0);
        rc = row_merge(st, req, b, r, s, hit, &changed);
        o->result = changed ? STORE_LEAD_UPDATED : STORE_LEAD_UNCHANGED;
        sqlite3_reset(s);
        return rc;
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    if (email != NULL)      /* inserted above unless it existed, so it exists */
        return -EPROTO;
    o->result = STORE_LEAD_CREATED;
    return row_insert(st, req, b, r, hit, same ? b->event_data : NULL, &o->lead_id);
}

/* In the batch's own transaction, so a crash never leaves imported leads
 * unqueued: every lead the batch created or changed, unless suppressed. */
static int queue_changed(struct store *st, struct store_req *req, struct batch *b)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "INSERT INTO enrich_queue (lead_id, queued_at, not_before)"
                        " VALUES (?1, ?2, ?2) ON CONFLICT (lead_id) DO NOTHING", &s);
    for (size_t i = 0; rc == 0 && i < b->n; i++) {
        const struct store_lead_outcome *o = &b->out[i];
        if (o->suppressed || o->lead_id <= 0 || o->result == STORE_LEAD_UNCHANGED)
            continue;
        sqlite3_bind_int64(s, 1, o->lead_id);
        sqlite3_bind_int64(s, 2, req->now);
        rc = store_stmt_done(&st->wr, s);
    }
    return rc;
}

static int batch_run(struct store *st, struct store_req *req)
{
    struct batch *b = req->priv;
    bool dry = (b->flags & STORE_BATCH_DRY_RUN) != 0;
    struct store_counts_mark counts;   /* undone with the dry run, as its rows are */
    store_counts_mark(st, &counts);
    batch_unqueue(b);
    int rc = store_wr_import_begin(st);
    store_name_filter_rows(st, (int64_t)b->n);
    st->names.by_caller = true;         /* row_insert and row_merge add the keys */
    if (rc == 0 && dry)
        rc = store_exec(&st->wr, "SAVEPOINT dry_run");
    if (rc == 0)
        rc = suppression_any(st, &b->check_suppression);

    b->created_first = b->created_last = 0;
    for (size_t i = 0; rc == 0 && i < b->n; i++)
        rc = row_run(st, req, b, i);
    if (rc == 0)
        rc = flush_created(st, req, b);
    st->names.by_caller = false;
    if (rc == 0)
        rc = find_probable_dups(st, b);
    for (size_t i = 0; i < b->n; i++)
        b->out[i].suppressed_reason = b->reasons[i];
    if (rc == 0 && !dry && (b->flags & STORE_BATCH_ENRICH) != 0)
        rc = queue_changed(st, req, b);
    if (dry && !sqlite3_get_autocommit(st->wr.db)) {
        store_exec(&st->wr, "ROLLBACK TO dry_run");
        store_exec(&st->wr, "RELEASE dry_run");
        store_counts_restore(st, &counts);
    }
    req->id = b->n > 0 ? b->out[b->n - 1].lead_id : 0;
    return rc;
}

static void batch_done(struct store_req *req)
{
    struct batch *b = req->priv;
    b->cb(req->status, req->status == 0 ? b->out : NULL, req->status == 0 ? b->n : 0, b->arg);
}

static void batch_free(struct store_req *req)
{
    struct batch *b = req->priv;
    if (b == NULL)
        return;
    batch_unqueue(b);           /* freed without running (shutdown) */
    for (size_t i = 0; b->reasons != NULL && i < b->n; i++)
        free(b->reasons[i]);
    free(b->reasons);
    free(b->maybe_dup);
    free(b->rows);
    free(b->out);
    free(b->arena);
    free(b->event_data);
    free(b);
}

static const char *row_field(const struct store_lead_in *in, int i)
{
    const char *f[B_N] = {
        in->email, in->first_name, in->last_name, in->company, in->domain, in->title,
        in->phone, in->country, in->timezone, in->linkedin, in->source, in->lawful_basis,
        in->attrs_json, in->email_status,
    };
    return f[i];
}

int store_lead_upsert_batch(struct store *st, const struct store_lead_in *rows, size_t n,
                            unsigned flags, const struct store_actor *actor,
                            store_lead_batch_cb cb, void *arg)
{
    size_t bytes = 0;

    if (n == 0 || rows == NULL || cb == NULL)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        const char *e = rows[i].email;
        const char *at = e != NULL ? strrchr(e, '@') : NULL;
        /* A lead without an email is keyed by its name at its company's
         * domain (enrich_guess may find the address later). */
        bool keyed_by_name = e == NULL && !empty(rows[i].first_name) &&
                             !empty(rows[i].last_name) && !empty(rows[i].domain);
        if ((!keyed_by_name && (at == NULL || at == e || at[1] == '\0')) ||
            rows[i].attrs != NULL)
            return -EINVAL;
        for (int k = 0; k < B_N; k++)
            bytes += row_field(&rows[i], k) != NULL ? strlen(row_field(&rows[i], k)) + 1 : 0;
        bytes += at != NULL ? strlen(at + 1) + 1 : 0;   /* room for a defaulted domain */
    }
    struct store_req *req = store_req_new(batch_run, actor, NULL, NULL);
    struct batch *b = calloc(1, sizeof(*b));
    if (req == NULL || b == NULL)
        goto oom;
    req->priv = b;
    req->bulk = true;
    req->bulk_more = (flags & STORE_BATCH_MORE) != 0;
    /* Not the import's last: its commit need not reach the disk by itself.
     * A crash, even a power cut, loses only batches whose import has not
     * reported yet, and its re-run completes them; the last one's commit
     * syncs everything before it. */
    req->lazy_sync = req->bulk_more;
    req->cleanup = batch_free;
    req->done = batch_done;
    b->n = n;
    b->flags = flags;
    b->cb = cb;
    b->arg = arg;
    b->rows = calloc(n, sizeof(*b->rows));
    b->out = calloc(n, sizeof(*b->out));
    b->reasons = calloc(n, sizeof(*b->reasons));
    b->maybe_dup = calloc(n, sizeof(*b->maybe_dup));
    b->arena = malloc(bytes);
    if (b->rows == NULL || b->out == NULL || b->reasons == NULL || b->maybe_dup == NULL ||
        b->arena == NULL)
        goto oom;
    char *p = b->arena;
    for (size_t i = 0; i < n; i++) {
        struct batch_row *r = &b->rows[i];
        r->overwrite = rows[i].overwrite;
        for (int k = 0; k < B_N; k++) {
            const char *v = row_field(&rows[i], k);
            if (v == NULL)
                continue;
            size_t len = strlen(v) + 1;
            memcpy(p, v, len);
            r->f[k] = p;
            r->len[k] = (int)len - 1;
            p += len;
        }
        /* As store_lead_upsert(): a case-blind key, and the domain defaults
         * to the email's unless the caller set one (or "" for none). */
        if (r->f[B_EMAIL] != NULL)
            store_lower((char *)r->f[B_EMAIL]);
        if (r->f[B_DOMAIN] == NULL) {
            const char *at = strrchr(r->f[B_EMAIL], '@') + 1;
            size_t len = strlen(at) + 1;
            memcpy(p, at, len);
            r->f[B_DOMAIN] = p;
            r->len[B_DOMAIN] = (int)len - 1;
            p += len;
        }
        store_lower((char *)r->f[B_DOMAIN]);
    }
    /* Rows of one import share their source: the event text is made once. */
    json_t *data = json_pack("{s:s?, s:b}", "source", b->rows[0].f[B_SOURCE], "import", 1);
    b->event_data = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    b->queued = true;
    store_import_queued_add(1);
    return store_writer_submit(st, req);

oom:
    if (req != NULL)
        store_req_free(req);
    else
        free(b);
    return -ENOMEM;
}
