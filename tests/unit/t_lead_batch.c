/* SPDX-License-Identifier: MIT */
/* tests/unit/t_lead_batch.c: the event log an import batch writes
 * (store_lead_batch.c) on a real SQLite file. New leads that share the
 * batch's event data and took consecutive ids get one lead_created event
 * for the run (lead_id its first lead, lead_last its last); the log must
 * still read as if each row wrote its own, in row order: a merge into a
 * lead created earlier in the batch comes after that lead's creation, a row
 * with its own source gets its own event data, every event carries the
 * batch's time and actor, and each lead's own log (store_events_list) holds
 * its creation, and no other lead's.
 * Ownership: the rows are the test's; the store copies them.
 */
#include <stdio.h>
#include <stdlib.h>
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

/* Probable duplicates found through the name filter (store_name_filter.h):
 * an import, a lead made by another request and a second import queued
 * together run in one burst on an empty store, so the filter is built at
 * the first batch and the other two writes reach it through the pre-update
 * hook; a later small import into the larger store probes without it. */
static void test_name_filter(uv_loop_t *loop, const char *dir)
{
    char path[600];
    struct errbuf err = { 0 };
    struct store *st = NULL;
    snprintf(path, sizeof(path), "%s/names.db", dir);
    tap_is_int(store_open(loop, path, &st, &err), 0, "a new store");

    const struct store_lead_in a[] = {
        { .email = "ada@example.com", .first_name = "Ada", .last_name = "Lovelace",
          .domain = "example.com", .source = "fair" },
        { .email = "alan@example.com", .first_name = "Alan", .last_name = "Turing",
          .domain = "example.com", .source = "fair" },
        { .email = "elodie@example.fr", .first_name = "\xc3\x89lodie", .last_name = "Roux",
          .domain = "example.fr", .source = "fair" },
    };
    const struct store_lead_in api = { .email = "grace@navy.example", .first_name = "Grace",
                                       .last_name = "Hopper", .domain = "navy.example" };
    const struct store_lead_in b[] = {
        { .email = "a.lovelace@example.com", .first_name = "ada", .last_name = "LOVELACE",
          .domain = "example.com", .source = "fair" },
        { .email = "g.hopper@navy.example", .first_name = "Grace", .last_name = "Hopper",
          .domain = "navy.example", .source = "fair" },
        { .email = "e.roux@example.fr", .first_name = "\xc3\xa9lodie", .last_name = "Roux",
          .domain = "example.fr", .source = "fair" },
        { .email = "linus@example.com", .first_name = "Linus", .last_name = "Torvalds",
          .domain = "example.com", .source = "fair" },
        { .email = "alan.t@example.org", .first_name = "Alan", .last_name = "Turing",
          .domain = "example.org", .source = "fair" },
    };
    struct batch_wait wa = { 0 }, wb = { 0 };
    struct st_wait wapi = { 0 };
    store_lead_upsert_batch(st, a, 3, STORE_BATCH_MORE, &alice, on_batch, &wa);
    store_lead_upsert(st, &api, &alice, st_on_done, &wapi);
    store_lead_upsert_batch(st, b, 5, 0, &alice, on_batch, &wb);
    st_run_until(loop, &wb.calls, 1);
    st_run_until(loop, &wapi.calls, 1);
    tap_ok(wa.status == 0 && wb.status == 0 && wapi.status == 0 && wb.n == 5,
           "two batches and a lead between them, in one burst");
    tap_ok(wb.out[0].probable_dup_of == wa.out[0].lead_id,
           "a namesake from the first batch, case-blind (lead %lld)",
           (long long)wb.out[0].probable_dup_of);
    tap_ok(wb.out[1].probable_dup_of == wapi.id && wapi.id > 0,
           "a namesake made by another request during the import (lead %lld)",
           (long long)wb.out[1].probable_dup_of);
    tap_ok(wb.out[2].probable_dup_of == 0 && wb.out[3].probable_dup_of == 0 &&
           wb.out[4].probable_dup_of == 0,
           "none for a name only non-ASCII case tells apart, a new name, or another domain");

    /* Idle: the burst ends. One row against the store's ten leads: no
     * filter this time, the probe alone. */
    uv_sleep(400);
    const struct store_lead_in c = { .email = "countess@example.com", .first_name = "ADA",
                                     .last_name = "lovelace", .domain = "example.com",
                                     .source = "web" };
    struct batch_wait wc = { 0 };
    store_lead_upsert_batch(st, &c, 1, 0, &alice, on_batch, &wc);
    st_run_until(loop, &wc.calls, 1);
    tap_ok(wc.status == 0 && wc.out[0].probable_dup_of == wa.out[0].lead_id,
           "a small import into a larger store still finds the namesake (lead %lld)",
           (long long)wc.out[0].probable_dup_of);
    store_close(st);
    while (uv_loop_alive(loop))
        uv_run(loop, UV_RUN_DEFAULT);
}

/* A store as schema 12 left it, with per-lead lead_created events, moves
 * to runs (schema 13) keeping each lead's log; leads.attrs loses its
 * json_valid CHECK. */
static void test_migration(uv_loop_t *loop, const char *dir)
{
    char path[600];
    sqlite3 *db = NULL;
    sqlite3_stmt *s;
    struct errbuf err = { 0 };
    struct store *st = NULL;
    snprintf(path, sizeof(path), "%s/v12.db", dir);
    tap_is_int(store_create_at_version(path, 12, &err), 0, "a schema 12 store");
    sqlite3_open(path, &db);
    int rc = sqlite3_exec(db,
        "INSERT INTO leads (id, email, created_at, updated_at) VALUES"
        " (1, 'old1@example.com', 1, 1), (2, 'old2@example.com', 1, 1);"
        "INSERT INTO events (at, lead_id, type, actor_kind, data) VALUES"
        " (1, 1, 'lead_created', 'system', '{}'), (1, 2, 'lead_created', 'system', '{}');",
        NULL, NULL, NULL);
    tap_ok(rc == SQLITE_OK && sqlite3_exec(db, "INSERT INTO leads (email, attrs, created_at,"
                                          " updated_at) VALUES ('x@example.com', 'nope', 1, 1)",
                                          NULL, NULL, NULL) != SQLITE_OK,
           "with two leads and their events; attrs are checked");
    sqlite3_close(db);

    tap_is_int(store_open(loop, path, &st, &err), 0, "it opens, migrated");
    const struct store_lead_in rows[] = {
        { .email = "new1@example.com", .source = "fair" },
        { .email = "new2@example.com", .source = "fair" },
    };
    struct batch_wait b = { 0 };
    store_lead_upsert_batch(st, rows, 2, 0, &alice, on_batch, &b);
    st_run_until(loop, &b.calls, 1);
    int own = 0;
    for (int64_t id = 1; id <= 4; id++) {
        json_t *ev = NULL;
        store_events_list(st, id, 10, &ev);
        json_t *e = json_array_get(ev, 0);
        own += json_array_size(ev) == 1 && json_integer_value(json_object_get(e, "lead_id")) == id;
        json_decref(ev);
    }
    tap_ok(b.status == 0 && own == 4, "old leads keep their own events, new ones share a run");
    store_close(st);
    while (uv_loop_alive(loop))
        uv_run(loop, UV_RUN_DEFAULT);

    sqlite3_open(path, &db);
    char *sql = NULL;
    sqlite3_prepare_v2(db, "SELECT sql FROM sqlite_schema WHERE name = 'leads'", -1, &s, NULL);
    if (sqlite3_step(s) == SQLITE_ROW)
        sql = strdup((const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    tap_ok(sql != NULL && strstr(sql, "json_valid") == NULL && strstr(sql, "attrs TEXT NOT NULL"),
           "leads.attrs has no CHECK any more: %s", sql != NULL ? sql : "(none)");
    free(sql);
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
    tap_ok(sqlite3_step(s) == SQLITE_ROW &&
           strcmp((const char *)sqlite3_column_text(s, 0), "ok") == 0,
           "the file passes integrity_check");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    char path[512];

    tap_plan(29);
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
    sqlite3_prepare_v2(db, "SELECT e.type, l.email, coalesce(' to ' || z.email, ''), e.data,"
                       " e.actor_kind = 'person' AND e.actor = 'alice',"
                       " e.at = (SELECT min(at) FROM events), e.touch_id IS NULL"
                       " FROM events e JOIN leads l ON l.id = e.lead_id"
                       " LEFT JOIN leads z ON z.id = e.lead_last ORDER BY e.id", -1, &s, NULL);
    while (sqlite3_step(s) == SQLITE_ROW) {
        char line[160];
        snprintf(line, sizeof(line), "%s %s%s %s\n", (const char *)sqlite3_column_text(s, 0),
                 (const char *)sqlite3_column_text(s, 1), (const char *)sqlite3_column_text(s, 2),
                 (const char *)sqlite3_column_text(s, 3));
        if (strlen(log) + strlen(line) < sizeof(log))
            strcat(log, line);
        events++;
        same_actor += sqlite3_column_int(s, 4);
        same_time += sqlite3_column_int(s, 5);
        no_touch += sqlite3_column_int(s, 6);
    }
    sqlite3_finalize(s);
    tap_is_int(events, 4, "four events");
    tap_is_str(log,
               "lead_created ada@example.com to grace@example.org {\"source\":\"fair\",\"import\":true}\n"
               "lead_merged ada@example.com {\"fields\":[\"title\"],\"import\":true}\n"
               "lead_created linus@example.net {\"source\":\"web\",\"import\":true}\n"
               "lead_created barbara@example.com {\"source\":\"fair\",\"import\":true}\n",
               "in row order, each with its own data; the first two leads' creation is one run");
    tap_is_int(same_actor, 4, "every event names the batch's actor");
    tap_is_int(same_time, 4, "and its time");
    tap_is_int(no_touch, 4, "and no touch");

    /* Each lead's own log, as `drumbeat lead` and the API read it. */
    char seen[256] = "";
    for (int i = 0; i < 5; i++) {
        json_t *ev = NULL;
        if (i == 2 || store_events_list(st, b.out[i].lead_id, 10, &ev) < 0)
            continue;
        size_t k;
        json_t *e;
        json_array_foreach(ev, k, e) {
            char line[64];
            snprintf(line, sizeof(line), "%d:%s%s ", i,
                     json_string_value(json_object_get(e, "type")),
                     json_integer_value(json_object_get(e, "lead_id")) == b.out[i].lead_id
                     ? "" : "(other lead)");
            if (strlen(seen) + strlen(line) < sizeof(seen))
                strcat(seen, line);
        }
        json_decref(ev);
    }
    tap_is_str(seen, "0:lead_merged 0:lead_created 1:lead_created 3:lead_created "
               "4:lead_created ", "each lead's log holds its creation, newest first");

    /* A batch of 40 new leads writes one event; a lead made after it, on
     * its own, is not in that run. */
    struct store_lead_in many[40];
    char emails[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(emails[i], sizeof(emails[i]), "p%02d@run.example", i);
        many[i] = (struct store_lead_in){ .email = emails[i], .source = "fair" };
    }
    struct batch_wait m = { 0 };
    store_lead_upsert_batch(st, many, 40, 0, &alice, on_batch, &m);
    st_run_until(&loop, &m.calls, 1);
    struct st_wait one = { 0 };
    const struct store_lead_in after = { .email = "after@run.example", .source = "api" };
    int rc = ST_WAIT(&loop, &one, store_lead_upsert(st, &after, &alice, st_on_done, &one));
    sqlite3_prepare_v2(db, "SELECT count(*), max(lead_last - lead_id + 1) FROM events"
                       " WHERE lead_id >= ?1", -1, &s, NULL);
    sqlite3_bind_int64(s, 1, m.out[0].lead_id);
    int n_events = -1, covered = -1;
    if (sqlite3_step(s) == SQLITE_ROW) {
        n_events = sqlite3_column_int(s, 0);
        covered = sqlite3_column_int(s, 1);
    }
    sqlite3_finalize(s);
    tap_ok(m.status == 0 && rc == 0 && n_events == 2 && covered == 40,
           "40 leads, one event for them (%d rows, a run of %d) and one for the next lead",
           n_events, covered);
    json_t *mid = NULL, *last = NULL;
    store_events_list(st, m.out[0].lead_id + 17, 10, &mid);
    store_events_list(st, one.id, 10, &last);
    json_t *e = json_array_get(mid, 0);
    json_t *want = json_pack("{s:s, s:b}", "source", "fair", "import", 1);
    tap_ok(json_array_size(mid) == 1 &&
           json_integer_value(json_object_get(e, "lead_id")) == m.out[0].lead_id + 17 &&
           strcmp(json_string_value(json_object_get(e, "type")), "lead_created") == 0 &&
           json_equal(json_object_get(e, "data"), want),
           "the run's 18th lead has its lead_created event, as its own");
    json_decref(want);
    e = json_array_get(last, 0);
    tap_ok(json_array_size(last) == 1 &&
           json_integer_value(json_object_get(e, "lead_id")) == one.id &&
           strcmp(json_string_value(json_object_get(e, "type")), "lead_created") == 0,
           "the lead after the run has only its own event");
    json_decref(mid);
    json_decref(last);

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
    tap_is_int(counts, 645, "and leaves six events and 45 leads");
    sqlite3_close(db);

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    test_migration(&loop, tap_tmpdir());
    test_name_filter(&loop, tap_tmpdir());
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
