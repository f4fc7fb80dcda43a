/* SPDX-License-Identifier: MIT */
/* tests/unit/t_enrich_store.c: the store's side of enrichment on a real
 * SQLite file: queueing by ids, stage and missing field; due order and
 * retries; the answer cache and its expiry; applying answers (fills only
 * empty fields, never a person's value; email only for a lead without one,
 * never one another lead holds or a suppressed one; email_status rules;
 * provenance; the "enriched" event); leads without an email (imported by
 * name and domain, deduplicated by them); and a version 2 store with leads
 * migrating to version 3 without losing a row.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static uv_loop_t loop;
static struct store *st;
static struct st_wait w;

static int64_t add_lead(const char *email, const char *first, const char *last,
                        const char *domain, const char *title)
{
    struct store_lead_in in = { .email = email, .first_name = first, .last_name = last,
                                .domain = domain, .title = title, .email_status = "syntax_ok" };
    ST_WAIT(&loop, &w, store_lead_upsert(st, &in, NULL, st_on_done, &w));
    return w.id;
}

static const char *str(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s != NULL ? s : "(null)";
}

static json_t *lead(int64_t id)
{
    json_t *l = NULL;
    store_lead_get(st, id, &l);
    return l;
}

static void on_batch(int status, const struct store_lead_outcome *o, size_t n, void *arg)
{
    struct store_lead_outcome *out = arg;
    for (size_t i = 0; status == 0 && i < n; i++)
        out[i] = o[i];
    w.calls++;
    w.status = status;
}

static void test_queue(void)
{
    int64_t a = add_lead("ada@acme.example", "Ada", "L", NULL, NULL);
    int64_t b = add_lead("bob@acme.example", "Bob", "M", NULL, "CTO");
    int64_t c = add_lead("cy@beta.example", "Cy", "N", NULL, NULL);
    int64_t ids[8], next = 0;
    size_t n = 0;

    struct store_enrich_select by_id = { .ids = (int64_t[]){ b }, .n_ids = 1 };
    tap_is_int(ST_WAIT(&loop, &w, store_enrich_queue(st, &by_id, NULL, st_on_done, &w)), 0,
               "queue one lead by id");
    tap_is_int(w.id, 1, "one queued");
    tap_is_int(ST_WAIT(&loop, &w, store_enrich_queue(st, &by_id, NULL, st_on_done, &w)), 0,
               "queue it again");
    tap_is_int(w.id, 0, "a queued lead is queued once");
    struct store_enrich_select missing = { .missing = "title", .stage = "intelligence" };
    ST_WAIT(&loop, &w, store_enrich_queue(st, &missing, NULL, st_on_done, &w));
    tap_is_int(w.id, 2, "--missing title queues the two without one");
    int64_t q = 0;
    store_enrich_queued(st, &q);
    tap_is_int(q, 3, "three queued");
    tap_is_int(store_enrich_due(st, clock_now_ms(), ids, 8, &n, &next), 0, "due");
    tap_ok(n == 3, "all three are due");

    /* A retry moves a lead later and counts the attempt. */
    ST_WAIT(&loop, &w, store_enrich_finish(st, a, clock_now_ms() + 60000, "503", st_on_done, &w));
    int attempts = -1;
    store_enrich_attempts(st, a, &attempts);
    tap_is_int(attempts, 1, "one attempt recorded");
    store_enrich_due(st, clock_now_ms(), ids, 8, &n, &next);
    tap_ok(n == 2 && next > clock_now_ms(), "the retried lead waits; next_at says when");
    ST_WAIT(&loop, &w, store_enrich_finish(st, c, 0, NULL, st_on_done, &w));
    tap_is_int(store_enrich_attempts(st, c, &attempts), -ENOENT, "a finished lead left the queue");
    struct store_enrich_select attr = { .missing = "industry" };
    ST_WAIT(&loop, &w, store_enrich_queue(st, &attr, NULL, st_on_done, &w));
    tap_is_int(w.id, 1, "--missing on a free attribute queues those without it");
    ST_WAIT(&loop, &w, store_enrich_finish(st, a, 0, NULL, st_on_done, &w));
    ST_WAIT(&loop, &w, store_enrich_finish(st, b, 0, NULL, st_on_done, &w));
    ST_WAIT(&loop, &w, store_enrich_finish(st, c, 0, NULL, st_on_done, &w));
}

static void test_cache(void)
{
    json_t *ans = json_pack("{s:s}", "industry", "software"), *got = NULL;
    int64_t now = clock_now_ms();
    tap_is_int(store_enrich_cache_get(st, "csv", "domain:acme.example", now, &got), -ENOENT,
               "a miss");
    ST_WAIT(&loop, &w, store_enrich_cache_put(st, "csv", "domain:acme.example", ans, now + 1000,
                                              st_on_done, &w));
    tap_is_int(store_enrich_cache_get(st, "csv", "domain:acme.example", now, &got), 0, "a hit");
    tap_is_str(str(got, "industry"), "software", "the answer comes back");
    json_decref(got);
    ST_WAIT(&loop, &w, store_enrich_cache_put(st, "csv", "domain:none.example", NULL, now + 1000,
                                              st_on_done, &w));
    got = json_true();
    tap_is_int(store_enrich_cache_get(st, "csv", "domain:none.example", now, &got), 0,
               "\"nothing found\" is cached too");
    tap_ok(got == NULL, "as a NULL answer");
    tap_is_int(store_enrich_cache_get(st, "csv", "domain:acme.example", now + 1000, &got),
               -ENOENT, "an expired answer is a miss");
    tap_is_int(store_enrich_cache_get(st, "http", "domain:acme.example", now, &got), -ENOENT,
               "caches are per instance");
    json_decref(ans);
}

static void test_apply(void)
{
    int64_t a = add_lead("ada@acme.example", "Ada", "L", NULL, NULL);
    int64_t other = add_lead("taken@acme.example", "T", "K", NULL, NULL);
    json_t *found = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "title", "VP Sales",
                              "first_name", "Adelaide", "industry", "software", "employees", 250,
                              "email_status", "verified", "_source", "firmo.csv");
    tap_is_int(ST_WAIT(&loop, &w, store_lead_enrich(st, a, "firmo", "enrich_csv", "firmo.csv",
                                                    found, st_on_done, &w)), 0, "apply");
    tap_is_int(w.id, 4, "four fields set (first_name was not empty)");
    json_t *l = lead(a), *attrs = json_object_get(l, "attrs");
    tap_is_str(str(l, "title"), "VP Sales", "an empty column is filled");
    tap_is_str(str(l, "first_name"), "Ada", "a set column is never overwritten");
    tap_is_str(str(attrs, "industry"), "software", "a free attribute is filled");
    tap_ok(json_integer_value(json_object_get(attrs, "employees")) == 250, "numbers stay numbers");
    tap_is_str(str(l, "email_status"), "verified", "syntax_ok gives way to verified");
    json_t *p = json_object_get(json_object_get(attrs, "_provenance"), "title");
    tap_ok(strcmp(str(p, "by"), "enricher") == 0 && strcmp(str(p, "plugin"), "enrich_csv") == 0 &&
           strcmp(str(p, "instance"), "firmo") == 0 && strcmp(str(p, "source"), "firmo.csv") == 0 &&
           json_is_integer(json_object_get(p, "at")), "provenance: plugin, instance, source, time");
    tap_ok(json_object_get(attrs, "_source") == NULL, "keys starting with _ are not stored");
    json_decref(l);

    json_t *again = json_pack("{s:s, s:s}", "title", "Intern", "email_status", "undeliverable");
    ST_WAIT(&loop, &w, store_lead_enrich(st, a, "http", "enrich_http", NULL, again, st_on_done, &w));
    tap_is_int(w.id, 0, "nothing is overwritten, verified stays");
    l = lead(a);
    tap_is_str(str(l, "title"), "VP Sales", "the first value stays");
    tap_is_str(str(l, "email_status"), "verified", "a verified status stays");
    json_decref(l);

    json_t *events = NULL;
    store_events_list(st, a, 10, &events);
    size_t i, enriched = 0;
    json_t *ev;
    json_array_foreach(events, i, ev)
        if (strcmp(str(ev, "type"), "enriched") == 0) {
            enriched++;
            char *data = json_dumps(json_object_get(ev, "data"), 0);
            tap_ok(data != NULL && strstr(data, "VP Sales") == NULL,
                   "the event names fields, never values");
            free(data);
        }
    tap_is_int((int64_t)enriched, 1, "one enriched event (the second changed nothing)");
    json_decref(events);

    /* A lead without an email: imported by name and domain. */
    struct store_lead_in rows[2] = {
        { .first_name = "Grace", .last_name = "Hopper", .domain = "navy.example",
          .source = "linkedin" },
        { .first_name = "grace", .last_name = "HOPPER", .domain = "navy.example",
          .title = "Rear Admiral" },
    };
    struct store_lead_outcome out[2];
    w.calls = 0;
    tap_is_int(store_lead_upsert_batch(st, rows, 1, 0, NULL, on_batch, out), 0,
               "a row without an email but with names and a domain is accepted");
    st_run_until(&loop, &w.calls, 1);
    int64_t g = out[0].lead_id;
    tap_ok(w.status == 0 && out[0].result == STORE_LEAD_CREATED, "it is created");
    w.calls = 0;
    store_lead_upsert_batch(st, rows + 1, 1, 0, NULL, on_batch, out);
    st_run_until(&loop, &w.calls, 1);
    tap_ok(out[0].lead_id == g && out[0].result == STORE_LEAD_UPDATED,
           "the same name at the same domain is the same lead (case-blind)");
    struct store_lead_in bad = { .first_name = "No", .domain = "x.example" };
    tap_is_int(store_lead_upsert_batch(st, &bad, 1, 0, NULL, on_batch, out), -EINVAL,
               "without an email, both names and a domain are needed");
    l = lead(g);
    tap_ok(json_object_get(l, "email") == NULL || json_is_null(json_object_get(l, "email")),
           "the lead has no email");
    json_decref(l);

    json_t *taken = json_pack("{s:s, s:s}", "email", "taken@acme.example", "email_status",
                              "guessed");
    ST_WAIT(&loop, &w, store_lead_enrich(st, g, "guess", "enrich_guess", NULL, taken,
                                         st_on_done, &w));
    tap_is_int(w.id, 0, "an email another lead holds is not taken (nor its status)");
    (void)other;
    ST_WAIT(&loop, &w, store_suppress(st, "email", "g.hopper@navy.example", "asked", NULL,
                                      st_on_done, &w));
    json_t *sup = json_pack("{s:s}", "email", "g.hopper@navy.example");
    ST_WAIT(&loop, &w, store_lead_enrich(st, g, "guess", "enrich_guess", NULL, sup,
                                         st_on_done, &w));
    tap_is_int(w.id, 0, "a suppressed address is never taken");
    json_t *guess = json_pack("{s:s, s:s, s:[s]}", "email", "grace.hopper@navy.example",
                              "email_status", "guessed", "email_candidates",
                              "grace.hopper@navy.example");
    ST_WAIT(&loop, &w, store_lead_enrich(st, g, "guess", "enrich_guess", NULL, guess,
                                         st_on_done, &w));
    tap_is_int(w.id, 3, "email, its status and the candidates are set");
    l = lead(g);
    tap_is_str(str(l, "email"), "grace.hopper@navy.example", "the guessed email");
    tap_is_str(str(l, "email_status"), "guessed", "marked guessed, never verified");
    json_decref(l);
    json_decref(found);
    json_decref(again);
    json_decref(taken);
    json_decref(sup);
    json_decref(guess);
}

/* A store as version 2 left it (email NOT NULL, no enrichment tables),
 * with a lead in it. */
static void test_migration(const char *dir)
{
    char path[600];
    sqlite3 *db = NULL;
    struct errbuf err = { 0 };
    snprintf(path, sizeof(path), "%s/v2.db", dir);
    tap_is_int(store_create_at_version(path, 2, &err), 0, "a version 2 store");
    sqlite3_open(path, &db);
    tap_is_int(sqlite3_exec(db, "INSERT INTO leads (id, email, first_name, created_at, updated_at)"
                            " VALUES (7, 'keep@me.example', 'Kee', 1, 1)", NULL, NULL, NULL),
               SQLITE_OK, "with a lead");
    tap_ok(sqlite3_exec(db, "INSERT INTO leads (email, created_at, updated_at)"
                        " VALUES (NULL, 1, 1)", NULL, NULL, NULL) != SQLITE_OK,
           "where an email is required");
    sqlite3_close(db);
    int64_t a = 7;
    tap_is_int(store_open(&loop, path, &st, &err), 0, "a version 2 store opens");
    json_t *l = lead(a);
    tap_is_str(str(l, "email"), "keep@me.example", "its leads are still there");
    json_decref(l);
    struct store_lead_in in = { .first_name = "No", .last_name = "Mail", .domain = "x.example" };
    struct store_lead_outcome out[1];
    w.calls = 0;
    store_lead_upsert_batch(st, &in, 1, 0, NULL, on_batch, out);
    st_run_until(&loop, &w.calls, 1);
    tap_is_int(w.status, 0, "after the migration a lead may have no email");
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    sqlite3_open(path, &db);
    sqlite3_stmt *s;
    sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, NULL);
    sqlite3_step(s);
    tap_is_str((const char *)sqlite3_column_text(s, 0), "ok", "the file passes integrity_check");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

int main(void)
{
    char path[600];
    struct errbuf err = { 0 };
    const char *dir = tap_tmpdir();
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/enrich.db", dir);
    if (store_open(&loop, path, &st, &err) < 0) {
        tap_ok(0, "cannot open the store: %s", err.what);
        return tap_done();
    }
    test_queue();
    test_cache();
    test_apply();
    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    test_migration(dir);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes");
    return tap_done();
}
