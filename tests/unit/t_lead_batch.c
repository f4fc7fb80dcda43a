/* SPDX-License-Identifier: MIT */
/* tests/unit/t_lead_batch.c: the event log an import batch writes
 * (store_lead_batch.c) on a real SQLite file. New leads that share the
 * batch's event data get their lead_created events in one statement; the
 * log must still read as if each row wrote its own, in row order: a merge
 * into a lead created earlier in the batch comes after that lead's
 * creation, a row with its own source gets its own event data, and every
 * event carries the batch's time and actor.
 * Ownership: the rows are the test's; the store copies them.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor alice = { STORE_ACTOR_PERSON, "alice" };

struct batch_wait {
    int calls, status;
    size_t n;
    struct store_lead_outcome out[8];
};

static void on_batch(int status, const struct store_lead_outcome *o, size_t n, void *arg)
{
    struct batch_wait *b = arg;
    b->calls++;
    b->status = status;
    b->n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        b->out[i] = o[i];
}

struct finish_wait {
    int calls, status;
    int64_t count;
    size_t n;
    struct store_probable_dup list[8];
};

static void on_finish(int status, int64_t count, const struct store_probable_dup *list,
                      size_t n, void *arg)
{
    struct finish_wait *f = arg;
    f->calls++;
    f->status = status;
    f->count = count;
    f->n = n;
    for (size_t i = 0; i < n && i < 8; i++)
        f->list[i] = list[i];
}

static long long q_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long long v = -1;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

/* A test name for mode's half, in a buffer the next call reuses. */
static const char *nm(const char *mode, const char *what)
{
    static char name[160];
    snprintf(name, sizeof(name), "%s: %s", mode, what);
    return name;
}

#define HAS_DOMAIN_INDEX \
    "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name = 'leads_domain'"

/* Two batches of an import into the store at path, deferring or not; the
 * probable duplicates as "line:duplicate_of" pairs, from the outcomes (not
 * deferring) or the finish (deferring). */
static void import_twice(uv_loop_t *loop, struct store *st, const char *path, bool defer,
                         char *pairs, size_t cap)
{
    const struct store_lead_in one[] = {
        { .email = "ada@x.example", .first_name = "Ada", .last_name = "Lovelace", .line = 2 },
        { .email = "grace@y.example", .first_name = "Grace", .last_name = "Hopper", .line = 3 },
        { .email = "countess@x.example", .first_name = "ada", .last_name = "LOVELACE", .line = 4 },
        { .email = "ada@z.example", .first_name = "Ada", .last_name = "Lovelace", .line = 5 },
        { .email = "ada@x.example", .title = "Countess", .line = 6 },
    };
    const struct store_lead_in two[] = {
        { .email = "a.l@x.example", .first_name = "ADA", .last_name = "Lovelace", .line = 9 },
        { .email = "g.h@y.example", .first_name = "Grace", .last_name = "Hoppers", .line = 10 },
    };
    const char *mode = defer ? "deferred" : "row by row";
    unsigned flags = defer ? STORE_BATCH_DEFER_INDEXES : 0;
    struct batch_wait b = { 0 };
    pairs[0] = '\0';
    store_lead_import_batch(st, 7, one, 5, flags | STORE_BATCH_MORE, &alice, on_batch, &b);
    st_run_until(loop, &b.calls, 1);
    tap_is_int(b.status, 0, nm(mode, "the first batch committed"));
    for (size_t i = 0; i < b.n; i++)
        if (b.out[i].probable_dup_of > 0)
            snprintf(pairs + strlen(pairs), cap - strlen(pairs), "%ld:%lld ", one[i].line,
                     (long long)b.out[i].probable_dup_of);
    if (defer) {
        tap_is_int(q_int(path, HAS_DOMAIN_INDEX), 0, "deferred: the domain index is gone");
        tap_is_int(q_int(path, "SELECT count(*) FROM index_rebuild"), 1,
                   "deferred: how to build it is on record");
    }
    b = (struct batch_wait){ 0 };
    store_lead_import_batch(st, 7, two, 2, flags, &alice, on_batch, &b);
    st_run_until(loop, &b.calls, 1);
    tap_is_int(b.status, 0, nm(mode, "the second batch committed"));
    for (size_t i = 0; i < b.n; i++)
        if (b.out[i].probable_dup_of > 0)
            snprintf(pairs + strlen(pairs), cap - strlen(pairs), "%ld:%lld ", two[i].line,
                     (long long)b.out[i].probable_dup_of);
    struct finish_wait f = { 0 };
    tap_is_int(store_lead_import_finish(st, 7, 8, on_finish, &f), 0, nm(mode, "finish queued"));
    st_run_until(loop, &f.calls, 1);
    tap_is_int(f.status, 0, nm(mode, "the finish committed"));
    for (size_t i = 0; i < f.n; i++)
        snprintf(pairs + strlen(pairs), cap - strlen(pairs), "%ld:%lld ", f.list[i].line,
                 (long long)f.list[i].duplicate_of);
    tap_is_int((int)f.count, defer ? 2 : 0, nm(mode, "the finish counts what it reports"));
    tap_is_int(q_int(path, HAS_DOMAIN_INDEX), 1, nm(mode, "the domain index is there after"));
    tap_is_int(q_int(path, "SELECT count(*) FROM index_rebuild"), 0,
               nm(mode, "nothing left on record"));
}

static void test_deferred_index(uv_loop_t *loop)
{
    struct store *a = NULL, *b = NULL;
    struct errbuf err = { 0 };
    char pa[512], pb[512], row_by_row[256], deferred[256];

    snprintf(pa, sizeof(pa), "%s/rows.db", tap_tmpdir());
    snprintf(pb, sizeof(pb), "%s/deferred.db", tap_tmpdir());
    tap_ok(store_open(loop, pa, &a, &err) == 0 && store_open(loop, pb, &b, &err) == 0,
           "two fresh stores");
    import_twice(loop, a, pa, false, row_by_row, sizeof(row_by_row));
    import_twice(loop, b, pb, true, deferred, sizeof(deferred));
    tap_is_str(row_by_row, "4:1 9:1 ", "row by row: lines 4 and 9 are Ada at x.example again");
    tap_is_str(deferred, row_by_row, "deferred: the finish reports the same duplicates");

    /* Closed while deferred: the next open builds the index. */
    const struct store_lead_in more = { .email = "alan@w.example", .first_name = "Alan",
                                        .last_name = "Turing", .line = 2 };
    struct batch_wait w = { 0 };
    store_lead_import_batch(b, 8, &more, 1, STORE_BATCH_DEFER_INDEXES, &alice, on_batch, &w);
    st_run_until(loop, &w.calls, 1);
    tap_ok(w.status == 0 && q_int(pb, HAS_DOMAIN_INDEX) == 0,
           "a later import deferred the index again");
    store_close(b);
    store_close(a);
    while (uv_loop_alive(loop))
        uv_run(loop, UV_RUN_DEFAULT);
    tap_is_int(store_open(loop, pb, &b, &err), 0, "the store opens again, without its finish");
    tap_is_int(q_int(pb, HAS_DOMAIN_INDEX), 1, "and has built the domain index");
    tap_is_int(q_int(pb, "SELECT count(*) FROM index_rebuild"), 0, "and cleared the record");
    store_close(b);
    while (uv_loop_alive(loop))
        uv_run(loop, UV_RUN_DEFAULT);
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    char path[512];

    tap_plan(36);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/batch.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");

    const struct store_lead_in rows[] = {
        { .email = "ada@example.com", .first_name = "Ada", .source = "fair" },
        { .email = "grace@example.org", .first_name = "Grace", .source = "fair" },
        { .email = "ada@example.com", .title = "Countess", .source = "fair" },
        { .email = "linus@example.net", .first_name = "Linus", .source = "web" },
        { .email = "barbara@example.com", .first_name = "Barbara", .source = "fair" },
    };
    struct batch_wait b = { 0 };
    tap_is_int(store_lead_upsert_batch(st, rows, 5, 0, &alice, on_batch, &b), 0,
               "a batch of five rows queued");
    st_run_until(&loop, &b.calls, 1);
    tap_is_int(b.status, 0, "it committed");
    tap_ok(b.n == 5 && b.out[0].result == STORE_LEAD_CREATED &&
           b.out[2].result == STORE_LEAD_UPDATED && b.out[2].lead_id == b.out[0].lead_id &&
           b.out[4].result == STORE_LEAD_CREATED, "four leads created, the third row merged");

    sqlite3 *db;
    sqlite3_stmt *s;
    char log[512] = "";
    int events = 0, same_actor = 0, same_time = 0, no_touch = 0;
    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    sqlite3_prepare_v2(db, "SELECT e.type, l.email, e.data, e.actor_kind = 'person' AND"
                       " e.actor = 'alice', e.at = (SELECT min(at) FROM events),"
                       " e.touch_id IS NULL FROM events e JOIN leads l ON l.id = e.lead_id"
                       " ORDER BY e.id", -1, &s, NULL);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char line[160];
        snprintf(line, sizeof(line), "%s %s %s\n", (const char *)sqlite3_column_text(s, 0),
                 (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2));
        if (strlen(log) + strlen(line) < sizeof(log))
            strcat(log, line);
        events++;
        same_actor += sqlite3_column_int(s, 3);
        same_time += sqlite3_column_int(s, 4);
        no_touch += sqlite3_column_int(s, 5);
    }
    sqlite3_finalize(s);
    tap_is_int(events, 5, "five events");
    tap_is_str(log,
               "lead_created ada@example.com {\"source\":\"fair\",\"import\":true}\n"
               "lead_created grace@example.org {\"source\":\"fair\",\"import\":true}\n"
               "lead_merged ada@example.com {\"fields\":[\"title\"],\"import\":true}\n"
               "lead_created linus@example.net {\"source\":\"web\",\"import\":true}\n"
               "lead_created barbara@example.com {\"source\":\"fair\",\"import\":true}\n",
               "in row order, each with its own data");
    tap_is_int(same_actor, 5, "every event names the batch's actor");
    tap_is_int(same_time, 5, "and its time");
    tap_is_int(no_touch, 5, "and no touch");

    /* A dry run writes nothing, events included. */
    const struct store_lead_in dry[] = {
        { .email = "edsger@example.com", .source = "fair" },
        { .email = "tony@example.com", .source = "fair" },
    };
    struct batch_wait d = { 0 };
    tap_is_int(store_lead_upsert_batch(st, dry, 2, STORE_BATCH_DRY_RUN, &alice, on_batch, &d),
               0, "a dry-run batch queued");
    st_run_until(&loop, &d.calls, 1);
    tap_ok(d.status == 0 && d.n == 2 && d.out[1].result == STORE_LEAD_CREATED,
           "it reports the leads it would create");
    sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM events) * 100 +"
                       " (SELECT count(*) FROM leads)", -1, &s, NULL);
    int counts = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : -1;
    sqlite3_finalize(s);
    tap_is_int(counts, 504, "and leaves five events and four leads");
    sqlite3_close(db);

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    test_deferred_index(&loop);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
