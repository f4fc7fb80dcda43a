/* SPDX-License-Identifier: MIT */
/* tests/unit/t_exits_store.c: store_exits.c and store_inbound.c on a real
 * SQLite file. A lead enrolled in two cadences, with touches scheduled,
 * deferred and sent, and open and done tasks: an exit on a reply ends only
 * the named cadence's enrollment, cancels only its unsent touches (reason
 * "exit:reply") and its open tasks, writes one "cadence_exited" event, and
 * a repeat ends nothing. A bounce for every cadence flags the lead bounced
 * and suppresses its address (a paused enrollment exits too); an unsubscribe of a lead with no enrollment
 * still flags and suppresses it. Inbound events are idempotent by id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor bot = { STORE_ACTOR_RULE, "webhook" };

/* One integer from a query on a second, independent connection. */
static long long q_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

/* One text value (into buf, "" when none). */
static const char *q_text(const char *path, const char *sql, char *buf, size_t len)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    buf[0] = '\0';
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return buf;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
            snprintf(buf, len, "%s", (const char *)sqlite3_column_text(s, 0));
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return buf;
}

static int q_exec(const char *path, const char *sql)
{
    sqlite3 *db;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

struct inbound_wait {
    int calls, status;
    int64_t event_id;
    bool duplicate;
};

static void on_inbound(int status, int64_t event_id, bool duplicate, void *arg)
{
    struct inbound_wait *w = arg;
    w->calls++;
    w->status = status;
    w->event_id = event_id;
    w->duplicate = duplicate;
}

static int record(uv_loop_t *loop, struct store *st, const char *source_id, int64_t lead,
                  struct inbound_wait *w)
{
    json_t *data = json_pack("{s:s}", "reason", "test");
    w->calls = 0;
    int rc = store_inbound_record(st, source_id, lead, "reply", data, &bot, on_inbound, w);
    json_decref(data);
    if (rc < 0)
        return rc;
    st_run_until(loop, &w->calls, 1);
    return w->status;
}

/* The tables a sequencer would have filled: two cadences, the lead enrolled
 * in both, touches and tasks of each. */
static int seed(const char *path, int64_t lead)
{
    char sql[4096];
    snprintf(sql, sizeof(sql),
        "INSERT INTO cadences (id, name, version, definition, created_at) VALUES"
        " (1, 'alpha', 1, '{}', 0), (2, 'beta', 1, '{}', 0), (3, 'gamma', 1, '{}', 0);"
        "INSERT INTO enrollments (id, lead_id, cadence_id, cadence, state, step, started_at,"
        " due_at) VALUES (1, %1$lld, 1, 'alpha', 'active', 2, 0, 5000),"
        " (2, %1$lld, 2, 'beta', 'active', 0, 0, NULL),"
        " (3, %1$lld, 3, 'gamma', 'completed', 4, 0, NULL),"
        " (4, %1$lld, 2, 'beta', 'paused', 1, 0, NULL);"
        "INSERT INTO touches (id, lead_id, enrollment_id, step, kind, state, due_at,"
        " created_at, updated_at) VALUES"
        " (1, %1$lld, 1, 0, 'email', 'sent', 0, 0, 0),"
        " (2, %1$lld, 1, 2, 'email', 'scheduled', 9000, 0, 0),"
        " (3, %1$lld, 1, 2, 'email', 'deferred', 9000, 0, 0),"
        " (4, %1$lld, 2, 0, 'email', 'scheduled', 9000, 0, 0);"
        "INSERT INTO tasks (id, lead_id, touch_id, kind, due_at, state, created_at,"
        " enrollment_id, step) VALUES"
        " (1, %1$lld, NULL, 'call', 0, 'open', 0, 1, 1),"
        " (2, %1$lld, NULL, 'call', 0, 'done', 0, 1, 0),"
        " (3, %1$lld, NULL, 'task', 0, 'open', 0, 2, 0),"
        " (4, %1$lld, 4, 'task', 0, 'open', 0, NULL, NULL);",
        (long long)lead);
    return q_exec(path, sql);
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct st_wait w;
    struct inbound_wait iw;
    char path[512], buf[512];
    json_t *names = NULL;
    bool sup = false;

    tap_plan(63);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/exits.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");

    struct store_lead_in ada = { .email = "Ada@Example.com", .first_name = "Ada" };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_upsert(st, &ada, &bot, st_on_done, &w)), 0,
               "lead created");
    int64_t lead = w.id;
    struct store_lead_in bob = { .email = "bob@example.com" };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_upsert(st, &bob, &bot, st_on_done, &w)), 0,
               "a second lead");
    int64_t lead2 = w.id;
    tap_is_int(seed(path, lead), 0, "enrollments, touches and tasks seeded");

    /* ---- the active cadences ---- */
    tap_is_int(store_lead_active_cadences(st, lead, &names), 0, "active cadences read");
    char *text = json_dumps(names, JSON_COMPACT);
    tap_is_str(text, "[\"alpha\",\"beta\"]", "alpha and beta, oldest first; not the completed one");
    free(text);
    json_decref(names);
    /* An enrollment written without the name column is named by its version row. */
    q_exec(path, "UPDATE enrollments SET cadence = NULL WHERE id = 2");
    store_lead_active_cadences(st, lead, &names);
    text = json_dumps(names, JSON_COMPACT);
    tap_is_str(text, "[\"alpha\",\"beta\"]", "a missing name comes from the cadence version");
    free(text);
    json_decref(names);

    /* ---- a reply ends only alpha ---- */
    const char *const alpha[] = { "alpha", NULL };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead, "reply", alpha, 0, &bot, st_on_done,
                                                   &w)), 0, "reply exit committed");
    tap_is_int(w.id, 1, "one enrollment ended");
    tap_is_str(q_text(path, "SELECT state || ',' || reason || ',' || (ended_at IS NOT NULL)"
                            " || ',' || (due_at IS NULL) FROM enrollments WHERE id = 1",
                      buf, sizeof(buf)), "exited,reply,1,1",
               "alpha's enrollment exited, reason reply, ended, no longer due");
    tap_is_str(q_text(path, "SELECT state FROM enrollments WHERE id = 2", buf, sizeof(buf)),
               "active", "beta's enrollment stays active");
    tap_is_str(q_text(path, "SELECT state || ',' || reason FROM touches WHERE id = 2", buf,
                      sizeof(buf)), "cancelled,exit:reply", "its scheduled touch cancelled");
    tap_is_str(q_text(path, "SELECT state || ',' || reason FROM touches WHERE id = 3", buf,
                      sizeof(buf)), "cancelled,exit:reply", "its deferred touch cancelled");
    tap_is_str(q_text(path, "SELECT state FROM touches WHERE id = 1", buf, sizeof(buf)), "sent",
               "its sent touch stays sent");
    tap_is_str(q_text(path, "SELECT state FROM touches WHERE id = 4", buf, sizeof(buf)),
               "scheduled", "beta's touch stays scheduled");
    tap_is_int(q_int(path, "SELECT n FROM touch_counts WHERE state = 'cancelled'"), 2,
               "the per-state counters follow");
    tap_is_str(q_text(path, "SELECT group_concat(id || '=' || state, ' ') FROM"
                            " (SELECT * FROM tasks ORDER BY id)", buf, sizeof(buf)),
               "1=cancelled 2=done 3=open 4=open",
               "alpha's open task cancelled; the done one and beta's untouched");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'cadence_exited'"), 1,
               "one cadence_exited event");
    tap_is_str(q_text(path, "SELECT json_extract(data, '$.enrollment_id') || ',' ||"
                            " json_extract(data, '$.cadence') || ',' ||"
                            " json_extract(data, '$.reason') || ',' || actor FROM events"
                            " WHERE type = 'cadence_exited'", buf, sizeof(buf)),
               "1,alpha,reply,webhook", "with the enrollment, cadence, reason and actor");
    tap_is_int(q_int(path, "SELECT bounced + unsubscribed + suppressed FROM leads"
                           " WHERE email = 'ada@example.com'"),
               0, "a reply sets no flag");
    tap_is_int(q_int(path, "SELECT count(*) FROM suppression"), 0, "and suppresses nothing");

    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead, "reply", alpha, 0, &bot, st_on_done,
                                                   &w)), 0, "the same exit again");
    tap_is_int(w.id, 0, "ends nothing");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'cadence_exited'"), 1,
               "and writes no event");
    const char *const none[] = { NULL };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead, "reply", none, 0, &bot, st_on_done,
                                                   &w)), 0, "an empty cadence list");
    tap_is_int(w.id, 0, "ends nothing either");

    /* ---- a bounce ends every cadence, flags and suppresses ---- */
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead, "bounce", NULL,
                                                   STORE_EXIT_BOUNCED | STORE_EXIT_SUPPRESS,
                                                   &bot, st_on_done, &w)), 0, "bounce exit");
    tap_is_int(w.id, 2, "beta's active and paused enrollments ended (alpha's already was)");
    tap_is_str(q_text(path, "SELECT state || ',' || reason FROM touches WHERE id = 4", buf,
                      sizeof(buf)), "cancelled,exit:bounce", "beta's touch cancelled");
    tap_is_str(q_text(path, "SELECT state || ',' || (done_at IS NOT NULL) FROM tasks WHERE id = 3", buf,
                      sizeof(buf)), "cancelled,1", "beta's task cancelled, with done_at");
    tap_is_str(q_text(path, "SELECT state FROM tasks WHERE id = 4", buf, sizeof(buf)),
               "cancelled", "a task hanging on one of its touches too");
    tap_is_int(q_int(path, "SELECT bounced * 100 + unsubscribed * 10 + suppressed FROM leads"
                           " WHERE email = 'ada@example.com'"), 101,
               "the lead is bounced and suppressed");
    tap_is_str(q_text(path, "SELECT kind || ',' || value || ',' || reason FROM suppression", buf,
                      sizeof(buf)), "email,ada@example.com,bounce",
               "one suppression entry for the address, reason bounce");
    store_is_suppressed(st, "ADA@example.com", &sup);
    tap_ok(sup, "store_is_suppressed() says so");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'suppressed' AND"
                           " json_extract(data, '$.reason') = 'bounce' AND data NOT LIKE '%ada%'"),
               1, "a suppressed event without the address");
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead, "bounce", NULL,
                                                   STORE_EXIT_BOUNCED | STORE_EXIT_SUPPRESS,
                                                   &bot, st_on_done, &w)), 0, "bounce again");
    tap_is_int(w.id, 0, "ends nothing");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type IN ('suppressed',"
                           " 'cadence_exited')"), 4, "and writes no event");
    tap_is_int(q_int(path, "SELECT count(*) FROM suppression"), 1, "nor a second entry");
    store_lead_active_cadences(st, lead, &names);
    tap_is_int((int64_t)json_array_size(names), 0, "no active cadence is left");
    json_decref(names);

    /* ---- an unsubscribe with no enrollment still flags ---- */
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, lead2, "unsubscribe", NULL,
                                                   STORE_EXIT_UNSUBSCRIBED | STORE_EXIT_SUPPRESS,
                                                   &bot, st_on_done, &w)), 0, "unsubscribe");
    tap_is_int(w.id, 0, "no enrollment to end");
    tap_is_int(q_int(path, "SELECT bounced * 100 + unsubscribed * 10 + suppressed FROM leads"
                           " WHERE email = 'bob@example.com'"), 11,
               "the lead is unsubscribed and suppressed");
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit(st, 9999, "reply", NULL, 0, &bot, st_on_done,
                                                   &w)), -ENOENT, "an unknown lead is -ENOENT");
    tap_is_int(store_lead_exit(st, lead, "", NULL, 0, &bot, st_on_done, &w), -EINVAL,
               "an empty reason is refused");

    /* ---- inbound events, idempotent by id ---- */
    tap_is_int(record(&loop, st, "evt-1", lead2, &iw), 0, "an inbound event recorded");
    tap_ok(iw.event_id > 0 && !iw.duplicate, "with its event id, not a duplicate");
    int64_t first = iw.event_id;
    tap_is_int(record(&loop, st, "evt-1", lead2, &iw), 0, "the same id again");
    tap_ok(iw.duplicate && iw.event_id == first, "is a duplicate of the first event");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'reply'"), 1,
               "and wrote no second event");
    int64_t found = 0;
    tap_ok(store_inbound_find(st, "evt-1", &found) == 0 && found == first,
           "store_inbound_find() finds it");
    tap_is_int(store_inbound_find(st, "evt-2", &found), -ENOENT, "an unknown id is -ENOENT");
    tap_is_int(record(&loop, st, NULL, lead2, &iw), 0, "an event without an id");
    tap_ok(!iw.duplicate && iw.event_id > first, "is always new");
    tap_is_str(q_text(path, "SELECT data FROM events WHERE type = 'reply' ORDER BY id LIMIT 1",
                      buf, sizeof(buf)), "{\"reason\":\"test\"}", "the data as given");

    /* ---- an exit with its stage change: one transaction, only if one ended ---- */
    char sql[256];
    snprintf(sql, sizeof(sql), "INSERT INTO enrollments (id, lead_id, cadence_id, cadence,"
             " state, step, started_at, due_at) VALUES (10, %lld, 1, 'alpha', 'active', 0, 0,"
             " NULL)", (long long)lead2);
    q_exec(path, sql);
    const char *const sdrs[] = { "Sam", "Sue" };
    struct store_stage_target move = { .stage = "qualification", .role = "sdr",
                                       .reason = "exit_meeting_booked", .candidates = sdrs,
                                       .n = 2 };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit_move(st, lead2, "meeting_booked", NULL, 0,
                                                        &move, &bot, st_on_done, &w)), 0,
               "an exit with a move committed");
    tap_is_int(w.id, 1, "it ended the enrollment");
    tap_is_str(q_text(path, "SELECT l.stage || ',' || o.person FROM leads l JOIN lead_owners o"
                            " ON o.lead_id = l.id AND o.role = 'sdr'"
                            " WHERE l.email = 'bob@example.com'",
                      buf, sizeof(buf)), "qualification,Sam",
               "and moved the lead, with an owner from the candidates");
    tap_is_str(q_text(path, "SELECT reason || ',' || actor FROM stage_history WHERE lead_id ="
                            " (SELECT id FROM leads WHERE email = 'bob@example.com')",
                      buf, sizeof(buf)), "exit_meeting_booked,webhook",
               "one history row with the reason and the actor");
    tap_is_int(ST_WAIT(&loop, &w, store_lead_exit_move(st, lead2, "meeting_booked", NULL, 0,
                                                        &move, &bot, st_on_done, &w)), 0,
               "the same exit with its move again");
    tap_is_int(q_int(path, "SELECT count(*) FROM stage_history WHERE lead_id ="
                           " (SELECT id FROM leads WHERE email = 'bob@example.com')"), 1,
               "moves nothing: no enrollment ended");
    tap_is_int(q_int(path, "SELECT next_index FROM role_cursor WHERE role = 'sdr'"), 1,
               "nor turns the round-robin");

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
