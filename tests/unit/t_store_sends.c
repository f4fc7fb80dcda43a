/* SPDX-License-Identifier: MIT */
/* tests/unit/t_store_sends.c: a mailbox's sends in a rolling window
 * (store_mailbox_sends, what the caps count) on a real store file. The
 * count sums mailbox_send_minutes (migration 9) and counts the window's
 * partial first minute from touches; every check here compares it with
 * the plain count over touches, for windows starting on, just before and
 * just after minute boundaries and sends: after migrating a version 8
 * store, after sends through the writer, after the writer moves a sent
 * touch to another mailbox or minute or deletes it, and after old minutes
 * are dropped. (The writer connection keeps the sums, store_counts.h:
 * another tool's writes to touches are not followed.)
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

#define MIN_MS 60000LL
#define DAY_MS (24 * 60 * MIN_MS)

static const struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };
static const int64_t T0 = 1893916800000LL;   /* 2030-01-07T08:00:00Z */

static int64_t query_int(const char *path, const char *sql, const char *mailbox, int64_t arg)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, mailbox, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, arg);
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

/* Compares store_mailbox_sends with the plain count (every send of mailbox
 * after since, one by one) for windows starting around each minute
 * boundary and each send in [from, to]; returns how many disagreed (and
 * prints the first). One read-only connection of its own serves every
 * plain count. */
static int mismatches(struct store *st, const char *path, const char *mailbox, int64_t from,
                      int64_t to)
{
    int bad = 0;
    int64_t starts[4096];
    size_t n = 0;
    for (int64_t m = from / MIN_MS; m * MIN_MS <= to && n + 3 <= 4096; m += 7) {
        starts[n++] = m * MIN_MS - 1;
        starts[n++] = m * MIN_MS;
        starts[n++] = m * MIN_MS + 1;
    }
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL, *plain = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT count(*) FROM touches WHERE mailbox = ?1 AND sent_at > ?2",
                           -1, &plain, NULL) != SQLITE_OK) {
        tap_diag("cannot read %s: %s", path, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }
    sqlite3_bind_text(plain, 1, mailbox, -1, SQLITE_STATIC);
    if (sqlite3_prepare_v2(db, "SELECT sent_at FROM touches WHERE mailbox = ?1 AND sent_at"
                           " BETWEEN ?2 AND ?3", -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, mailbox, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, from);
        sqlite3_bind_int64(s, 3, to);
        while (sqlite3_step(s) == SQLITE_ROW && n + 3 <= 4096) {
            int64_t at = sqlite3_column_int64(s, 0);
            starts[n++] = at - 1;
            starts[n++] = at;
            starts[n++] = at + 1;
        }
    }
    sqlite3_finalize(s);
    for (size_t i = 0; i < n; i++) {
        struct store_mailbox_sends got;
        int rc = store_mailbox_sends(st, mailbox, starts[i], &got);
        int64_t want = -1;
        sqlite3_bind_int64(plain, 2, starts[i]);
        if (sqlite3_step(plain) == SQLITE_ROW)
            want = sqlite3_column_int64(plain, 0);
        sqlite3_reset(plain);
        if (rc != 0 || got.in_window - got.sending != want) {
            if (bad++ == 0)
                tap_diag("%s since %lld: got %lld (rc %d), the plain count is %lld", mailbox,
                         (long long)starts[i], (long long)(got.in_window - got.sending), rc,
                         (long long)want);
        }
    }
    sqlite3_finalize(plain);
    sqlite3_close(db);
    return bad;
}

/* Makes n touches of mailbox due now, claims them and finishes each as
 * sent, the clock moving step_ms after each; returns how many were sent. */
static int send_some(uv_loop_t *loop, struct store *st, int64_t lead, const char *mailbox,
                     int n, int64_t step_ms)
{
    struct st_wait w;
    for (int i = 0; i < n; i++) {
        struct store_touch_in in = { .lead_id = lead, .kind = "email", .channel = "smtp",
                                     .mailbox = mailbox, .recipient = "dana@example.net",
                                     .content_type = "message/rfc822", .payload = "x",
                                     .payload_len = 1, .due_at = clock_now_ms(), .step = 1 };
        if (ST_WAIT(loop, &w, store_touch_create(st, &in, &sys, st_on_done, &w)) != 0)
            return -1;
    }
    int sent = 0;
    while (sent < n) {
        struct st_claimed c = { 0 };
        if (store_touch_claim(st, "smtp", mailbox, 64, clock_now_ms(), st_on_claim, &c) < 0)
            return -1;
        st_run_until(loop, &c.calls, 1);
        if (c.status != 0 || c.n == 0)
            return -1;
        for (size_t i = 0; i < c.n; i++) {
            struct store_touch_outcome ok = { .state = TOUCH_SENT, .code = 250 };
            if (ST_WAIT(loop, &w, store_touch_finish(st, c.ids[i], &ok, &sys, st_on_done, &w)))
                return -1;
            sent++;
            clock_advance(step_ms);
        }
    }
    return sent;
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct st_wait w;
    char path[600];
    char sql[1024];

    tap_plan(20);
    uv_loop_init(&loop);
    clock_use_test(T0);
    snprintf(path, sizeof(path), "%s/sends.db", tap_tmpdir());

    /* A version 8 store with 400 sends of m1 (one every 251 s, from 26
     * hours ago on: several per minute boundary, some outside the day), 50
     * of m2, one without a mailbox and touches never sent. */
    tap_is_int(store_create_at_version(path, 8, &err), 0, "a store as version 8 made");
    snprintf(sql, sizeof(sql),
             "INSERT INTO leads (id, email, stage, created_at, updated_at)"
             " VALUES (1, 'dana@example.net', 'prospecting', 1, 1);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 450)"
             " INSERT INTO touches (id, lead_id, kind, channel, mailbox, state, due_at, sent_at,"
             " idempotency_key, created_at, updated_at)"
             " SELECT i, 1, 'email', 'smtp', CASE WHEN i <= 400 THEN 'm1' ELSE 'm2' END, 'sent',"
             " 1, %lld + i * 251000, 'v8.' || i, 1, 1 FROM n;"
             "INSERT INTO touches (id, lead_id, kind, channel, mailbox, state, due_at, sent_at,"
             " idempotency_key, created_at, updated_at) VALUES"
             " (500, 1, 'webhook', 'hook', NULL, 'sent', 1, %lld, 'v8.500', 1, 1),"
             " (501, 1, 'email', 'smtp', 'm1', 'failed', 1, NULL, 'v8.501', 1, 1),"
             " (502, 1, 'email', 'smtp', 'm1', 'scheduled', %lld, NULL, 'v8.502', 1, 1)",
             (long long)(T0 - 26 * 3600 * 1000LL), (long long)(T0 - 60000),
             (long long)(T0 + 30 * DAY_MS));
    tap_is_int(st_exec_on(path, sql), SQLITE_OK, "sends of two mailboxes and touches never sent");
    tap_is_int(store_open(&loop, path, &st, &err), 0, "the version 8 store opens (migrated)");
    struct store_status ss;
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_SENT] == 451 && ss.touches[TOUCH_FAILED] == 1 &&
           ss.touches[TOUCH_SCHEDULED] == 1, "the touches by state came through migration 9's new"
           " touch_counts (451 sent, 1 failed, 1 scheduled; got %lld %lld %lld)",
           (long long)ss.touches[TOUCH_SENT], (long long)ss.touches[TOUCH_FAILED],
           (long long)ss.touches[TOUCH_SCHEDULED]);
    int64_t rows = query_int(path, "SELECT sum(n) FROM mailbox_send_minutes WHERE mailbox = ?1"
                             " AND ?2 = ?2", "m1", 0);
    tap_is_int(rows, 400, "the migration counted m1's 400 sends into minutes");
    tap_is_int(mismatches(st, path, "m1", T0 - 27 * 3600 * 1000LL, T0 + MIN_MS), 0,
               "m1: every window from 27 hours ago on counts what touches hold");
    tap_is_int(mismatches(st, path, "m2", T0 - 27 * 3600 * 1000LL, T0 + MIN_MS), 0,
               "m2: likewise, m1's sends not among them");
    struct store_mailbox_sends got;
    int64_t first_in_day = query_int(path, "SELECT min(sent_at) FROM touches WHERE"
                                     " mailbox = ?1 AND sent_at > ?2", "m1", T0 - DAY_MS);
    tap_ok(store_mailbox_sends(st, "m1", T0 - DAY_MS, &got) == 0 &&
           got.oldest == first_in_day && got.last == T0 - 26 * 3600 * 1000LL + 400 * 251000LL &&
           got.sending == 0, "oldest in the day and the last send are the touches' own");

    /* Sends through the writer, 37 s apart: the writer counts each into
     * its minute. One claimed and left sending counts as sending. */
    ST_WAIT(&loop, &w, store_lead_upsert(st, &(struct store_lead_in){ .email = "eve@example.net" },
                                         &sys, st_on_done, &w));
    int64_t lead = w.id;
    clock_advance(3 * MIN_MS + 1234);
    int64_t from = clock_now_ms();
    tap_is_int(send_some(&loop, st, lead, "m1", 60, 37000), 60, "60 sends of m1 through the store");
    tap_is_int(mismatches(st, path, "m1", from - DAY_MS, clock_now_ms()), 0,
               "every window counts the new sends too");
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_SENT] == 511 && ss.touches[TOUCH_SENDING] == 0,
           "and touch_counts counts them (511 sent, none sending)");

    /* Writes of the daemon's own that are not sends (SQL on its writer
     * connection, which keeps the sums: store_counts.h) move a sent touch
     * to m2, delete one of m1's, clear the sent_at of another, move one in
     * time and give the sent touch without a mailbox one. */
    tap_is_int(st_writer_exec(&loop, st, "UPDATE touches SET mailbox = 'm2' WHERE id = 400;"
                              "DELETE FROM touches WHERE id = 399;"
                              "UPDATE touches SET sent_at = NULL WHERE id = 398;"
                              "UPDATE touches SET sent_at = sent_at - 3600000 WHERE id = 397;"
                              "UPDATE touches SET mailbox = 'm2' WHERE id = 500", false), 0,
               "sent touches moved, deleted, unsent and given a mailbox, by the writer");
    int bad = mismatches(st, path, "m1", clock_now_ms() - DAY_MS, clock_now_ms()) +
              mismatches(st, path, "m2", clock_now_ms() - DAY_MS, clock_now_ms());
    tap_is_int(bad, 0, "both mailboxes' windows follow each of those changes");
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_SENT] == 510, "touch_counts follows the delete (510 sent)");

    /* Three days on, a send of m1 drops its minutes older than 25 hours;
     * m2's stay until m2 sends again. */
    clock_advance(3 * DAY_MS);
    int64_t m2_rows = query_int(path, "SELECT count(*) FROM mailbox_send_minutes"
                                " WHERE mailbox = ?1 AND ?2 = ?2", "m2", 0);
    tap_is_int(send_some(&loop, st, lead, "m1", 1, 0), 1, "a send of m1 three days later");
    int64_t newest = clock_now_ms() / MIN_MS;
    tap_is_int(query_int(path, "SELECT count(*) FROM mailbox_send_minutes WHERE mailbox = ?1"
                         " AND minute < ?2", "m1", newest - 1500), 0,
               "m1's minutes older than 25 hours are gone");
    tap_is_int(query_int(path, "SELECT count(*) FROM mailbox_send_minutes WHERE mailbox = ?1"
                         " AND ?2 = ?2", "m2", 0), m2_rows, "m2's are kept");
    tap_ok(store_mailbox_sends(st, "m1", clock_now_ms() - DAY_MS, &got) == 0 &&
           got.in_window == 1 && got.oldest == clock_now_ms() && got.last == clock_now_ms(),
           "the day's window holds the one send");
    tap_is_int(mismatches(st, path, "m1", clock_now_ms() - DAY_MS, clock_now_ms()), 0,
               "and every window within the kept 25 hours counts what touches hold");

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
