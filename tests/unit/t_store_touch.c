/* SPDX-License-Identifier: MIT */
/* tests/unit/t_store_touch.c: touches in the SQLite store on a real file:
 * create with its idempotency key, claim (due_at, limit, channel, mailbox,
 * committed before the callback), finish along the state diagram with
 * events, illegal transitions refused, and a touch left 'sending' by a
 * "crash" (close without finishing) found 'in_doubt' after reopening.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };

struct claimed {
    int calls, status;
    size_t n;
    int64_t ids[16];
    int attempts[16];
    char keys[16][80];
    char payload0[64];
    char state_seen[16];       /* touch 0's state read inside the callback */
    struct store *st;
};

static void on_claim(int status, const struct store_claimed *t, size_t n, void *arg)
{
    struct claimed *c = arg;
    c->calls++;
    c->status = status;
    c->n = n;
    for (size_t i = 0; i < n && i < 16; i++) {
        c->ids[i] = t[i].touch_id;
        c->attempts[i] = t[i].attempts;
        snprintf(c->keys[i], sizeof(c->keys[i]), "%s", t[i].idempotency_key);
    }
    if (n > 0) {
        snprintf(c->payload0, sizeof(c->payload0), "%.*s", (int)t[0].payload_len,
                 t[0].payload);
        json_t *row = NULL;
        if (store_touch_get(c->st, t[0].touch_id, &row) == 0)
            snprintf(c->state_seen, sizeof(c->state_seen), "%s",
                     json_string_value(json_object_get(row, "state")));
        json_decref(row);
    }
}

static int claim(uv_loop_t *loop, struct store *st, const char *channel, const char *mailbox,
                 int limit, int64_t now, struct claimed *c)
{
    memset(c, 0, sizeof(*c));
    c->st = st;
    int rc = store_touch_claim(st, channel, mailbox, limit, now, on_claim, c);
    if (rc < 0)
        return rc;
    if (c->calls != 0)
        return -EDEADLK;            /* must never be called from inside */
    st_run_until(loop, &c->calls, 1);
    return c->status;
}

static int64_t make_touch(uv_loop_t *loop, struct store *st, int64_t lead, const char *channel,
                          const char *mailbox, int64_t due)
{
    struct st_wait w;
    char body[32];
    snprintf(body, sizeof(body), "body due %lld", (long long)due);
    struct store_touch_in in = { .lead_id = lead, .kind = "email", .channel = channel,
                                 .mailbox = mailbox, .recipient = "dana@example.net",
                                 .content_type = "message/rfc822", .payload = body,
                                 .payload_len = strlen(body), .due_at = due, .step = 1 };
    return ST_WAIT(loop, &w, store_touch_create(st, &in, &sys, st_on_done, &w)) == 0 ? w.id : -1;
}

static const char *jstr(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    return v != NULL ? v : "(null)";
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct st_wait w;
    struct claimed c;
    struct store_status ss;
    char path[600], want[96];
    json_t *row = NULL, *events = NULL;

    tap_plan(79);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/touch.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");

    ST_WAIT(&loop, &w, store_lead_upsert(st, &(struct store_lead_in){ .email = "dana@example.net" },
                                         &sys, st_on_done, &w));
    int64_t lead = w.id;
    int64_t t1 = make_touch(&loop, st, lead, "smtp", "m1", 1000);
    int64_t t2 = make_touch(&loop, st, lead, "smtp", "m1", 500);
    int64_t t3 = make_touch(&loop, st, lead, "smtp", "m1", 5000);
    int64_t t4 = make_touch(&loop, st, lead, "webhook", NULL, 100);
    int64_t t5 = make_touch(&loop, st, lead, "smtp", "m2", 200);
    tap_ok(t1 > 0 && t2 > 0 && t3 > 0 && t4 > 0 && t5 > 0, "five touches created");
    tap_is_int(ST_WAIT(&loop, &w, store_touch_create(st, &(struct store_touch_in){
                   .lead_id = 9999, .kind = "email", .channel = "smtp" }, &sys, st_on_done, &w)),
               -ENOENT, "a touch for an unknown lead fails");

    store_status(st, &ss);
    tap_is_int(store_touch_get(st, t1, &row), 0, "touch_get");
    snprintf(want, sizeof(want), "%s.%lld", ss.store_id, (long long)t1);
    tap_is_str(jstr(row, "idempotency_key"), want, "idempotency key is <store_id>.<touch_id>");
    tap_is_str(jstr(row, "state"), "scheduled", "a new touch is scheduled");
    tap_ok(json_object_get(row, "payload") == NULL, "touch_get leaves the payload out");
    json_decref(row);
    int64_t due = 0;
    tap_is_int(store_touch_next_due(st, "smtp", &due), 0, "next_due");
    tap_is_int(due, 200, "the earliest scheduled smtp touch");
    tap_is_int(store_touch_next_due(st, "fax", &due), -ENOENT, "no touches, ENOENT");

    /* Claims: channel, due_at, limit, order. */
    tap_is_int(claim(&loop, st, "smtp", NULL, 2, 1000, &c), 0, "claim smtp, limit 2");
    tap_ok(c.n == 2 && c.ids[0] == t5 && c.ids[1] == t2, "oldest due first, limit respected");
    tap_is_int(c.attempts[0], 1, "attempts counts this one");
    tap_is_str(c.state_seen, "sending", "the claim is committed before the callback");
    tap_is_str(c.payload0, "body due 200", "the payload is handed over");
    snprintf(want, sizeof(want), "%s.%lld", ss.store_id, (long long)t5);
    tap_is_str(c.keys[0], want, "with its idempotency key");
    tap_is_int(claim(&loop, st, "smtp", "m1", 10, 1000, &c), 0, "claim smtp/m1");
    tap_ok(c.n == 1 && c.ids[0] == t1, "only the due one (t3 is due later)");
    tap_is_int(claim(&loop, st, "webhook", NULL, 5, 50, &c), 0, "claim webhook before due");
    tap_is_int((int64_t)c.n, 0, "nothing is due yet");
    tap_is_int(claim(&loop, st, "smtp", NULL, 0, 1000, &c), -EINVAL, "limit 0 is refused");

    /* Finishing along the diagram. */
    struct store_touch_outcome sent = { .state = TOUCH_SENT, .code = 250, .enhanced = "2.0.0",
                                        .detail = "250 2.0.0 Ok: queued as X for dana@example.net" };
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t1, &sent, &sys, st_on_done, &w)), 0,
               "sending -> sent");
    tap_is_int(w.id, t1, "the completion carries the touch id");
    store_touch_get(st, t1, &row);
    tap_is_str(jstr(row, "state"), "sent", "state is sent");
    tap_ok(json_integer_value(json_object_get(row, "sent_at")) > 0, "sent_at is set");
    tap_is_int(json_integer_value(json_object_get(row, "code")), 250, "the code is kept");
    json_decref(row);
    store_events_list(st, lead, 1, &events);
    json_t *ev = json_array_get(events, 0);
    tap_is_str(jstr(ev, "type"), "touch_sent", "a touch_sent event");
    tap_is_int(json_integer_value(json_object_get(ev, "touch_id")), t1, "about the touch");
    tap_is_int(json_integer_value(json_object_get(json_object_get(ev, "data"), "code")), 250,
               "with the code");
    char *text = json_dumps(ev, 0);
    tap_ok(text != NULL && strstr(text, "dana@") == NULL, "and no personal data");
    free(text);
    text = json_dumps(json_object_get(ev, "data"), JSON_COMPACT);
    tap_is_str(text != NULL ? text : "", "{\"from\":\"sending\",\"attempts\":1,\"code\":250,"
               "\"enhanced\":\"2.0.0\"}", "its data: from, attempts, code, enhanced, in order");
    free(text);
    json_decref(events);

    struct store_touch_outcome failed = { .state = TOUCH_FAILED, .reason = "recipient_rejected" };
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t1, &failed, &sys, st_on_done, &w)),
               -EINVAL, "sent -> failed is refused");
    /* A channel's verdict commits without an fsync of its own (lazy); the
     * next ordinary write is FULL again. */
    struct store_touch_outcome retry = { .state = TOUCH_SCHEDULED, .code = 451,
                                         .reason = "temporary", .retry_at = 7000,
                                         .lazy_sync = true };
    store_status(st, &ss);
    int64_t commits0 = ss.commits, lazy0 = ss.lazy_commits;
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t2, &retry, &sys, st_on_done, &w)), 0,
               "sending -> scheduled (retry)");
    store_status(st, &ss);
    tap_ok(ss.commits == commits0 + 1 && ss.lazy_commits == lazy0 + 1,
           "a channel's outcome alone is a lazy commit");
    /* No later write comes to make it durable: the writer, idle for 100 ms,
     * fsyncs the WAL itself, once. */
    int64_t syncs0 = ss.lazy_syncs;
    for (int i = 0; i < 100 && ss.lazy_syncs == syncs0; i++) {
        uv_sleep(20);
        store_status(st, &ss);
    }
    uv_sleep(300);
    store_status(st, &ss);
    tap_ok(ss.lazy_syncs == syncs0 + 1 && ss.commits == commits0 + 1,
           "once writes pause, one fsync of the WAL makes the lazy commit durable");
    store_touch_get(st, t2, &row);
    tap_is_int(json_integer_value(json_object_get(row, "due_at")), 7000, "retry_at is the due");
    json_decref(row);
    store_events_list(st, lead, 1, &events);
    text = json_dumps(json_object_get(json_array_get(events, 0), "data"), JSON_COMPACT);
    tap_is_str(text != NULL ? text : "", "{\"from\":\"sending\",\"attempts\":1,\"code\":451,"
               "\"reason\":\"temporary\",\"retry_at\":7000}", "the retry's event data");
    free(text);
    json_decref(events);
    tap_is_int(claim(&loop, st, "smtp", "m1", 10, 6000, &c), 0, "claim at 6000");
    tap_ok(c.n == 1 && c.ids[0] == t3, "the retried touch is not due yet");
    struct store_touch_outcome sending = { .state = TOUCH_SENDING };
    tap_is_int(store_touch_finish(st, t3, &sending, &sys, st_on_done, &w), -EINVAL,
               "only a claim makes a touch sending");
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, 77777, &sent, &sys, st_on_done, &w)),
               -ENOENT, "an unknown touch is ENOENT");
    struct store_touch_outcome cancel = { .state = TOUCH_CANCELLED, .reason = "exit_rule" };
    store_status(st, &ss);
    commits0 = ss.commits;
    lazy0 = ss.lazy_commits;
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t4, &cancel, &sys, st_on_done, &w)), 0,
               "scheduled -> cancelled");
    store_status(st, &ss);
    tap_ok(ss.commits == commits0 + 1 && ss.lazy_commits == lazy0,
           "a decision that is not a channel's is synced (FULL) as before");

    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_SENT] == 1 && ss.touches[TOUCH_SENDING] == 2 &&
           ss.touches[TOUCH_SCHEDULED] == 1 && ss.touches[TOUCH_CANCELLED] == 1,
           "status counts touches by state");

    /* Crash: t5 and t3 are still 'sending'; close without finishing them. */
    store_close(st);
    st = NULL;
    tap_is_int(store_open(&loop, path, &st, &err), 0, "reopened after the 'crash'");
    store_touch_get(st, t5, &row);
    tap_is_str(jstr(row, "state"), "in_doubt", "a touch left sending is in_doubt");
    tap_is_str(jstr(row, "reason"), "interrupted", "with reason interrupted");
    json_decref(row);
    store_events_list(st, 0, 1, &events);
    tap_is_str(jstr(json_array_get(events, 0), "type"), "touch_in_doubt",
               "and a touch_in_doubt event");
    json_decref(events);
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_IN_DOUBT] == 2 && ss.touches[TOUCH_SENDING] == 0,
           "no touch is left sending");
    tap_is_int(claim(&loop, st, "smtp", NULL, 10, 100000, &c), 0, "claim everything due");
    tap_ok(c.n == 1 && c.ids[0] == t2, "in_doubt touches are never claimed again");
    struct store_touch_outcome resend = { .state = TOUCH_SCHEDULED, .reason = "operator_resend" };
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t5, &resend, &sys, st_on_done, &w)), 0,
               "in_doubt -> scheduled (an operator's resend)");

    store_close(st);
    st = NULL;

    /* Migration 7 moves the message bytes of an older store out of the
     * touch rows into touch_payloads, losing none. */
    char old[700];
    sqlite3 *db = NULL;
    snprintf(old, sizeof(old), "%s.v6", path);
    tap_is_int(store_create_at_version(old, 6, &err), 0, "a store as version 6 made");
    int src = st_exec_on(old,
        "INSERT INTO leads (id, email, stage, created_at, updated_at)"
        " VALUES (1, 'ole@example.net', 'intelligence', 1, 1);"
        "INSERT INTO touches (id, lead_id, kind, channel, content_type, payload, state, due_at,"
        " idempotency_key, created_at, updated_at) VALUES (7, 1, 'email', 'smtp',"
        " 'message/rfc822', CAST('Subject: kept' || char(13, 10) || char(13, 10) || 'Hi' AS BLOB),"
        " 'scheduled', 1, 'old.7', 1, 1), (8, 1, 'call', NULL, NULL, NULL, 'scheduled', 1,"
        " 'old.8', 1, 1)");
    tap_is_int(src, SQLITE_OK, "a touch with a payload and one without in the old store");
    tap_is_int(store_open(&loop, old, &st, &err), 0, "the version 6 store opens (migrated)");
    char *bytes = NULL;
    int step = -1;
    tap_is_int(store_touch_payload(st, 7, &bytes, &step), 0, "the old touch's payload reads");
    tap_is_str(bytes, "Subject: kept\r\n\r\nHi", "byte for byte");
    free(bytes);
    bytes = NULL;
    tap_is_int(store_touch_payload(st, 8, &bytes, &step), 0, "a touch without one reads too");
    tap_is_str(bytes, "", "as empty");
    free(bytes);
    store_touch_get(st, 7, &row);
    tap_is_int(json_integer_value(json_object_get(row, "payload_bytes")), 19,
               "touch_get gives the payload's size");
    json_decref(row);
    store_close(st);
    st = NULL;

    /* Migration 8 replaces touches_state_due with partial indexes over the
     * deferred and the sending touches; what read it still finds its rows:
     * crash recovery (sending -> in_doubt) and the next due time, which
     * walks the scheduled touches' channels (touches_due) one by one. */
    snprintf(old, sizeof(old), "%s.v7", path);
    tap_is_int(store_create_at_version(old, 7, &err), 0, "a store as version 7 made");
    src = st_exec_on(old,
        "INSERT INTO leads (id, email, stage, created_at, updated_at)"
        " VALUES (1, 'ole@example.net', 'intelligence', 1, 1);"
        "INSERT INTO touches (id, lead_id, kind, channel, state, reason, due_at,"
        " idempotency_key, created_at, updated_at) VALUES"
        " (20, 1, 'email', 'smtp', 'sending', NULL, 10, 'v7.20', 1, 1),"
        " (21, 1, 'email', 'smtp', 'deferred', 'window_closed', 50, 'v7.21', 1, 1),"
        " (22, 1, 'email', 'smtp', 'scheduled', NULL, 30, 'v7.22', 1, 1),"
        " (23, 1, 'call', NULL, 'scheduled', NULL, 40, 'v7.23', 1, 1),"
        " (24, 1, 'webhook', 'hook', 'scheduled', NULL, 25, 'v7.24', 1, 1),"
        " (25, 1, 'email', 'smtp', 'deferred', 'awaiting_review', 20, 'v7.25', 1, 1)");
    tap_is_int(src, SQLITE_OK, "touches in every indexed state in the old store");
    tap_is_int(store_open(&loop, old, &st, &err), 0, "the version 7 store opens (migrated)");
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_IN_DOUBT] == 1 && ss.touches[TOUCH_SENDING] == 0,
           "the touch left sending is found (touches_sending) and is in_doubt");
    int64_t at = -1;
    static const int64_t after[] = { 0, 25, 30, 40, 50 }, expect[] = { 25, 30, 40, 50, 0 };
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        char what[160];
        snprintf(what, sizeof(what), "the next event after %lld is at %lld (scheduled in "
                 "channels hook, smtp and none, then deferred; never one awaiting review)",
                 (long long)after[i], (long long)expect[i]);
        tap_ok(store_next_event_at(st, after[i], &at) == 0 && at == expect[i], "%s", what);
    }

    /* Deferred touches are released in chunks of STORE_RELEASE_CHUNK,
     * earliest first; a touch awaiting review is never released. 2,500 more
     * (written by another connection, which keeps touch_counts itself: the
     * daemon counts only its own writes, store_counts.h) and touch 21. */
    src = st_exec_on(old,
        "WITH RECURSIVE n(i) AS (SELECT 1000 UNION ALL SELECT i + 1 FROM n WHERE i < 3499)"
        " INSERT INTO touches (id, lead_id, kind, channel, state, reason, due_at,"
        " idempotency_key, created_at, updated_at)"
        " SELECT i, 1, 'email', 'smtp', 'deferred', 'window_closed', 60, 'v7.' || i, 1, 1"
        " FROM n;"
        "UPDATE touch_counts SET n = n + 2500 WHERE state = 'deferred'");
    tap_is_int(src, SQLITE_OK, "2,500 more deferred touches");
    static const int64_t chunks[] = { STORE_RELEASE_CHUNK, 2501 - STORE_RELEASE_CHUNK, 0 };
    for (size_t i = 0; i < 3; i++) {
        struct st_wait w = { 0 };
        int rc = ST_WAIT(&loop, &w, store_touches_release_deferred(st, st_on_done, &w));
        tap_ok(rc == 0 && w.id == chunks[i], "release %zu frees %lld touches (got %lld)", i + 1,
               (long long)chunks[i], (long long)w.id);
    }
    store_status(st, &ss);
    tap_ok(ss.touches[TOUCH_DEFERRED] == 1, "only the touch awaiting review is still deferred");

    /* A reason that is not a plain token (a plugin's words) is escaped in
     * the event's data, whatever its length. */
    char odd[400];
    snprintf(odd, sizeof(odd), "relay said \"no\"\\%s", "; again and again and again and again"
             " and again and again and again and again and again and again and again and again"
             " and again and again and again and again and again and again and again and again");
    int64_t t9 = make_touch(&loop, st, lead, "odd", NULL, 10);
    tap_is_int(claim(&loop, st, "odd", NULL, 1, 1000, &c), 0, "a touch of channel odd claimed");
    struct store_touch_outcome odd_out = { .state = TOUCH_FAILED, .reason = odd, .code = 554 };
    tap_is_int(ST_WAIT(&loop, &w, store_touch_finish(st, t9, &odd_out, &sys, st_on_done, &w)), 0,
               "and failed with a long reason that has quotes and a backslash");
    store_events_list(st, lead, 1, &events);
    json_t *odd_data = json_object_get(json_array_get(events, 0), "data");
    tap_ok(json_is_object(odd_data) &&
           strcmp(json_string_value(json_object_get(odd_data, "reason")), odd) == 0 &&
           json_integer_value(json_object_get(odd_data, "code")) == 554,
           "its event data holds the reason exactly, and the code");
    json_decref(events);
    store_close(st);
    st = NULL;
    src = sqlite3_open(old, &db);
    sqlite3_stmt *q = NULL;
    int idx = -1;
    if (src == SQLITE_OK && sqlite3_prepare_v2(db, "SELECT group_concat(name, ' ') FROM"
                                               " (SELECT name FROM sqlite_master WHERE type = 'index'"
                                               " AND name IN ('touches_state_due', 'touches_deferred',"
                                               " 'touches_sending') ORDER BY name)", -1, &q,
                                               NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        idx = strcmp((const char *)sqlite3_column_text(q, 0), "touches_deferred touches_sending");
    sqlite3_finalize(q);
    sqlite3_close(db);
    tap_is_int(idx, 0, "touches_state_due is gone; touches_deferred and touches_sending exist");
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
