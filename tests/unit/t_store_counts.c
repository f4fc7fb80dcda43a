/* SPDX-License-Identifier: MIT */
/* tests/unit/t_store_counts.c: touch_counts, kept from the writer
 * connection's pre-update hook (daemon/store_counts.h), agrees with a plain
 * count of touches by state, read through another connection, after every
 * kind of write: creates, claims, outcomes in groups, releases of deferred
 * touches, a request that fails after moving touches (alone, and inside a
 * rerunnable group that is rolled back and run again), and the in_doubt
 * recovery at the next start. mailbox_send_minutes, kept the same way
 * (migration 11), is checked against a count of sent touches per mailbox
 * and minute after each of these, and after writes the hook sees: a sent
 * touch moved to another mailbox and to another minute, one deleted, and
 * such a change rolled back with its failing request, and in_doubt touches
 * confirmed sent. A mutation that drops the restores or the flush fails
 * these checks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_internal.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };

/* Every state's count in touch_counts against count(*) ... GROUP BY state,
 * both read from the file by a separate connection. Returns how many states
 * disagree; prints them. */
static int mismatches(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int bad = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT c.state, coalesce(c.n, 0),"
                           " (SELECT count(*) FROM touches t WHERE t.state = c.state)"
                           " FROM touch_counts c", -1, &s, NULL) != SQLITE_OK) {
        sqlite3_close(db);
        return 100;
    }
    int rows = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        rows++;
        if (sqlite3_column_int64(s, 1) != sqlite3_column_int64(s, 2)) {
            bad++;
            tap_diag("%s: touch_counts says %lld, the table has %lld",
                     (const char *)sqlite3_column_text(s, 0),
                     (long long)sqlite3_column_int64(s, 1), (long long)sqlite3_column_int64(s, 2));
        }
    }
    sqlite3_finalize(s);
    /* Every state has its row, and no touch has a state without one. */
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM touches WHERE state NOT IN"
                           " (SELECT state FROM touch_counts)", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) != 0)
        bad++;
    sqlite3_finalize(s);
    /* The sends per mailbox and minute, both ways round (rows at zero are
     * minutes whose sends all moved away). */
    if (sqlite3_prepare_v2(db, "WITH counted AS (SELECT mailbox, minute, n FROM"
                           " mailbox_send_minutes WHERE n != 0), actual AS (SELECT mailbox,"
                           " sent_at / 60000 AS minute, count(*) AS n FROM touches WHERE"
                           " mailbox IS NOT NULL AND sent_at IS NOT NULL GROUP BY 1, 2)"
                           " SELECT (SELECT count(*) FROM (SELECT * FROM counted EXCEPT"
                           " SELECT * FROM actual)) + (SELECT count(*) FROM (SELECT * FROM"
                           " actual EXCEPT SELECT * FROM counted))", -1, &s, NULL) != SQLITE_OK ||
        sqlite3_step(s) != SQLITE_ROW) {
        bad += 100;
    } else if (sqlite3_column_int64(s, 0) != 0) {
        bad++;
        tap_diag("mailbox_send_minutes differs from the sent touches in %lld rows",
                 (long long)sqlite3_column_int64(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows == TOUCH_STATE_COUNT ? bad : bad + 100;
}

static int64_t state_count(struct store *st, enum touch_state state)
{
    struct store_status ss;
    return store_status(st, &ss) == 0 ? ss.touches[state] : -1;
}

static size_t claim(uv_loop_t *loop, struct store *st, int limit, int64_t now,
                    struct st_claimed *c)
{
    memset(c, 0, sizeof(*c));
    if (store_touch_claim(st, "smtp", "m1", limit, now, st_on_claim, c) < 0)
        return 0;
    st_run_until(loop, &c->calls, 1);
    return c->status == 0 ? c->n : 0;
}

static int64_t make_touch(uv_loop_t *loop, struct store *st, int64_t lead, int64_t due)
{
    struct st_wait w;
    struct store_touch_in in = { .lead_id = lead, .kind = "email", .channel = "smtp",
                                 .mailbox = "m1", .recipient = "ed@example.net",
                                 .content_type = "message/rfc822", .payload = "x",
                                 .payload_len = 1, .due_at = due, .step = 1 };
    return ST_WAIT(loop, &w, store_touch_create(st, &in, &sys, st_on_done, &w)) == 0 ? w.id : -1;
}

static void finish_all(uv_loop_t *loop, struct store *st, const struct st_claimed *c,
                       enum touch_state state, int64_t retry_at)
{
    struct st_wait w[64];
    int done = 0;
    struct store_touch_outcome out = { .state = state, .retry_at = retry_at, .lazy_sync = true,
                                       .reason = state == TOUCH_SENT ? NULL : "test" };
    for (size_t i = 0; i < c->n; i++) {
        w[i] = (struct st_wait){ 0 };
        if (store_touch_finish(st, c->ids[i], &out, &sys, st_on_done, &w[i]) < 0)
            w[i].calls = 1;
    }
    while (done < (int)c->n) {
        uv_run(loop, UV_RUN_ONCE);
        done = 0;
        for (size_t i = 0; i < c->n; i++)
            done += w[i].calls;
    }
}

/* A request that moves touches and then fails: defers every scheduled touch
 * of m1, then returns its error. Run with rerunnable set, it shares a group
 * savepoint with the requests around it. */
struct bad_req {
    int runs;
    uv_sem_t *gate, *entered;   /* the gate request holds the writer */
};

static int bad_run(struct store *st, struct store_req *req)
{
    struct bad_req *b = req->priv;
    b->runs++;
    if (b->gate != NULL) {
        uv_sem_post(b->entered);
        uv_sem_wait(b->gate);
        return 0;
    }
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "UPDATE OR FAIL touches SET state = 'deferred', reason = 'test'"
                        " WHERE state = 'scheduled' AND mailbox = 'm1'", &s);
    if (rc == 0)
        rc = store_stmt_done(&st->wr, s);
    return rc < 0 ? rc : -EPROTO;
}

static void submit_bad(struct store *st, struct bad_req *b, bool rerunnable, struct st_wait *w)
{
    struct store_req *req = store_req_new(bad_run, NULL, st_on_done, w);
    req->priv = b;              /* the test's: no cleanup */
    req->rerunnable = rerunnable;
    store_writer_submit(st, req);
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct st_wait w;
    struct st_claimed c;
    char path[600];

    tap_plan(35);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/counts.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");
    tap_is_int(mismatches(path), 0, "an empty store: every state counted, all zero");

    ST_WAIT(&loop, &w, store_lead_upsert(st, &(struct store_lead_in){ .email = "ed@example.net" },
                                         &sys, st_on_done, &w));
    int64_t lead = w.id;
    int made = 0;
    for (int i = 0; i < 40; i++)
        made += make_touch(&loop, st, lead, 100 + i) > 0;
    tap_is_int(made, 40, "forty touches created");
    tap_is_int(state_count(st, TOUCH_SCHEDULED), 40, "status counts forty scheduled");
    tap_is_int(mismatches(path), 0, "touch_counts agrees with the table after the creates");

    /* Claims, then outcomes queued together: the writer groups them. */
    tap_is_int((int)claim(&loop, st, 10, 1000, &c), 10, "ten claimed");
    tap_is_int(mismatches(path), 0, "after the claim (scheduled -> sending)");
    finish_all(&loop, st, &c, TOUCH_SENT, 0);
    tap_is_int(state_count(st, TOUCH_SENT), 10, "ten sent");
    tap_is_int(mismatches(path), 0, "after ten outcomes committed in groups");
    tap_is_int((int)claim(&loop, st, 5, 1000, &c), 5, "five more claimed");
    finish_all(&loop, st, &c, TOUCH_DEFERRED, 50);
    tap_is_int(mismatches(path), 0, "after five deferred by their outcome");
    struct st_wait rw = { 0 };
    ST_WAIT(&loop, &rw, store_touches_release_deferred(st, st_on_done, &rw));
    tap_is_int((int)rw.id, 5, "the release frees the five");
    tap_is_int(mismatches(path), 0, "after the release (deferred -> scheduled)");

    /* A request failing alone after it deferred every scheduled touch: its
     * savepoint is rolled back, and so are the moves the hook counted. */
    int64_t scheduled = state_count(st, TOUCH_SCHEDULED);
    struct bad_req alone = { 0 };
    struct st_wait aw = { 0 };
    submit_bad(st, &alone, false, &aw);
    st_run_until(&loop, &aw.calls, 1);
    tap_is_int(aw.status, -EPROTO, "a request failing after its write reports its error");
    tap_is_int(state_count(st, TOUCH_SCHEDULED), scheduled, "its moves were not counted");
    tap_is_int(mismatches(path), 0, "touch_counts agrees after the rollback to its savepoint");

    /* The same request inside a rerunnable group, between outcomes: the group
     * is rolled back and each request runs again alone. */
    tap_is_int((int)claim(&loop, st, 6, 1000, &c), 6, "six claimed");
    uv_sem_t gate_sem, entered_sem;
    uv_sem_init(&gate_sem, 0);
    uv_sem_init(&entered_sem, 0);
    struct bad_req gate = { .gate = &gate_sem, .entered = &entered_sem }, grouped = { 0 };
    struct st_wait gw = { 0 }, bw = { 0 };
    submit_bad(st, &gate, false, &gw);
    uv_sem_wait(&entered_sem);
    struct st_claimed first = c, second = c;
    first.n = 3;
    second.n = 3;
    memmove(second.ids, c.ids + 3, 3 * sizeof(c.ids[0]));
    struct st_wait ow[6];
    struct store_touch_outcome sent = { .state = TOUCH_SENT, .lazy_sync = true };
    for (int i = 0; i < 3; i++) {
        ow[i] = (struct st_wait){ 0 };
        store_touch_finish(st, first.ids[i], &sent, &sys, st_on_done, &ow[i]);
    }
    submit_bad(st, &grouped, true, &bw);
    for (int i = 0; i < 3; i++) {
        ow[3 + i] = (struct st_wait){ 0 };
        store_touch_finish(st, second.ids[i], &sent, &sys, st_on_done, &ow[3 + i]);
    }
    uv_sem_post(&gate_sem);
    int done = 0;
    while (done < 6 || bw.calls < 1 || gw.calls < 1) {
        uv_run(&loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 6; i++)
            done += ow[i].calls;
    }
    uv_sem_destroy(&gate_sem);
    uv_sem_destroy(&entered_sem);
    int ok = 0;
    for (int i = 0; i < 6; i++)
        ok += ow[i].status == 0;
    tap_is_int(ok, 6, "the six outcomes around the failing request committed");
    tap_is_int(grouped.runs, 2, "the failing request ran in the group, then alone");
    tap_is_int(state_count(st, TOUCH_SENT), 16, "sixteen sent in all");
    tap_is_int(mismatches(path), 0, "touch_counts agrees after the group's rollback and reruns");

    /* Sends moved by writes the hook sees: five of the sixteen sent move to
     * m2, three to a minute an hour later, and one is deleted. */
    tap_is_int(st_writer_exec(&loop, st, "UPDATE touches SET mailbox = 'm2' WHERE id IN"
                              " (SELECT id FROM touches WHERE state = 'sent' ORDER BY id LIMIT 5)",
                              false), 0, "five sent touches moved to another mailbox");
    tap_is_int(mismatches(path), 0, "their sends moved with them");
    tap_is_int(st_writer_exec(&loop, st, "UPDATE touches SET sent_at = sent_at + 3600000 WHERE id"
                              " IN (SELECT id FROM touches WHERE state = 'sent' ORDER BY id DESC"
                              " LIMIT 3)", false), 0, "three sent an hour later");
    tap_is_int(mismatches(path), 0, "their sends moved to that minute");
    tap_is_int(st_writer_exec(&loop, st, "UPDATE touches SET sent_at = sent_at + 7200000,"
                              " mailbox = 'm3' WHERE state = 'sent'", true), -EPROTO,
               "a request moving every send, then failing, reports its error");
    tap_is_int(mismatches(path), 0, "its moves were rolled back from the sends too");
    tap_is_int(st_writer_exec(&loop, st, "DELETE FROM touches WHERE id = (SELECT min(id) FROM"
                              " touches WHERE state = 'sent')", false), 0, "a sent touch deleted");
    tap_is_int(mismatches(path), 0, "its send is no longer counted");

    /* Touches left 'sending' by a crash become in_doubt at the next start,
     * in store_touches_recover's own transaction. */
    tap_is_int((int)claim(&loop, st, 4, 1000, &c), 4, "four claimed, then the store is closed");
    store_close(st);
    st = NULL;
    tap_is_int(store_open(&loop, path, &st, &err), 0, "reopened");
    tap_is_int(state_count(st, TOUCH_IN_DOUBT), 4, "the four are in_doubt");
    tap_is_int(mismatches(path), 0, "touch_counts agrees after the recovery");

    /* Two of them confirmed sent by a person: the outcome's longer path
     * (not a first send from 'sending') counts their sends too. */
    struct st_claimed two = c;
    two.n = 2;
    finish_all(&loop, st, &two, TOUCH_SENT, 0);
    tap_is_int(state_count(st, TOUCH_IN_DOUBT), 2, "two in_doubt touches confirmed sent");
    tap_is_int(mismatches(path), 0, "their sends are counted in their minute");

    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return tap_done();
}
