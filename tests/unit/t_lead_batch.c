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

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    char path[512];

    tap_plan(13);
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
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
