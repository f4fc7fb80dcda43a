/* SPDX-License-Identifier: MIT */
/* tests/unit/t_calls_store.c: call lists and closing call tasks on a real
 * SQLite file (store_tasks.c, calls_list.c). Leads are created through the
 * store; tasks, sent emails, notes and an enrollment are written with plain
 * SQL on a second connection, as the sequencer would leave them. Checks:
 * which tasks a list holds (owner, kind, state, the end of the day), the
 * order by priority then by whether it is business hours for the lead now
 * (several zones, an ambiguous one, an unknown one), the lead's context
 * (tel: URI, local time, the last 3 email subjects RFC 2047-decoded, the
 * last 3 notes), and closing: the task done, the notes in lead_texts but
 * not in the event, the enrollment advanced exactly once even when closed
 * twice, and -ENOENT for a task that is not open.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "calls.h"
#include "clock.h"
#include "compose.h"
#include "store.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor pia = { STORE_ACTOR_PERSON, "Pia" };
static char path[512];
static struct store *st;

/* 2026-03-02 is a Monday; 16:30 UTC is 17:30 in Paris, 11:30 in New York,
 * 08:30 in Los Angeles and 01:30 (Tuesday) in Tokyo. */
#define NOW 1772469000000LL
#define HOUR 3600000LL

static long long q_int(const char *sql)
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

/* Runs sql (printf-formatted) on a second connection; returns the last
 * inserted row id, or -1. */
static long long q_exec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static long long q_exec(const char *fmt, ...)
{
    sqlite3 *db;
    char sql[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
        return -1;
    sqlite3_busy_timeout(db, 5000);
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    long long id = rc == SQLITE_OK ? sqlite3_last_insert_rowid(db) : -1;
    if (rc != SQLITE_OK)
        tap_diag("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
    return id;
}

static long long add_task(int64_t lead, const char *kind, const char *owner, int priority,
                          int64_t due, const char *state)
{
    return q_exec("INSERT INTO tasks (lead_id, kind, owner, priority, due_at, state, script,"
                  " title, created_at) VALUES (%lld, '%s', '%s', %d, %lld, '%s',"
                  " 'Hi, this is Pia from Drumbeat.\nAsk about the engines.\nBook a demo.\n"
                  "Say goodbye.', 'Call', %lld)", (long long)lead, kind, owner, priority,
                  (long long)due, state, (long long)NOW - 48 * HOUR);
}

static int64_t new_lead(uv_loop_t *loop, const struct store_lead_in *in)
{
    struct st_wait w;
    if (ST_WAIT(loop, &w, store_lead_upsert(st, in, &pia, st_on_done, &w)) != 0)
        return -1;
    return w.id;
}

static int64_t id_at(const json_t *list, size_t i)
{
    return json_integer_value(json_object_get(json_array_get(list, i), "id"));
}

static const char *str_at(const json_t *list, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(list, i), key));
}

/* A sent email touch whose stored message has this Subject header line(s). */
static long long add_email(int64_t lead, const char *subject_lines, int64_t sent_at,
                           const char *state)
{
    /* The message bytes live in touch_payloads (store migration 7). */
    return q_exec("INSERT INTO touches (lead_id, kind, channel, recipient, content_type,"
                  " state, due_at, created_at, updated_at, sent_at) VALUES (%lld, 'email',"
                  " 'outbox', 'x@example.com', 'message/rfc822', '%s', %lld, %lld, %lld, %lld);"
                  " INSERT INTO touch_payloads (touch_id, payload) VALUES (last_insert_rowid(),"
                  " CAST('From: Pia <pia@example.com>\r\nTo: x@example.com\r\n%s\r\n"
                  "Message-ID: <1@x>\r\n\r\nSubject: not a header\r\n' AS BLOB))",
                  (long long)lead, state, (long long)sent_at, (long long)sent_at,
                  (long long)sent_at, (long long)sent_at, subject_lines);
}

int main(void)
{
    uv_loop_t loop;
    struct errbuf err = { 0 };
    struct st_wait w;
    json_t *list = NULL, *c;

    tap_plan(62);
    compose_init();
    clock_use_test(NOW);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/calls.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");

    int64_t paris = new_lead(&loop, &(struct store_lead_in){
        .email = "ada@example.fr", .first_name = "Ada", .last_name = "Lovelace",
        .company = "Analytical Engines", .title = "CTO", .phone = "+33142685300",
        .country = "FR", .timezone = "Europe/Paris" });
    int64_t ny = new_lead(&loop, &(struct store_lead_in){
        .email = "grace@navy.example", .first_name = "Grace", .last_name = "Hopper",
        .phone = "+1 (212) 555-0100", .country = "US", .timezone = "America/New_York" });
    int64_t la = new_lead(&loop, &(struct store_lead_in){
        .email = "hedy@film.example", .first_name = "Hedy", .phone = "0142685300",
        .country = "US", .timezone = "America/Los_Angeles" });
    int64_t tokyo = new_lead(&loop, &(struct store_lead_in){
        .email = "yuki@example.jp", .first_name = "Yuki", .timezone = "Asia/Tokyo" });
    int64_t nowhere = new_lead(&loop, &(struct store_lead_in){
        .email = "someone@example.org", .first_name = "Someone" });
    int64_t usa = new_lead(&loop, &(struct store_lead_in){
        .email = "katherine@nasa.example", .first_name = "Katherine", .country = "US",
        .timezone = "ambiguous(US)" });
    tap_ok(paris > 0 && ny > 0 && la > 0 && tokyo > 0 && nowhere > 0 && usa > 0,
           "six leads created");

    /* ---- the list ---- */
    long long t_la = add_task(la, "call", "Pia", 1, NOW - 1 * HOUR, "open");
    long long t_paris = add_task(paris, "call", "Pia", 2, NOW + 2 * HOUR, "open");
    long long t_tokyo = add_task(tokyo, "call", "Pia", 2, NOW - 3 * HOUR, "open");
    long long t_nowhere = add_task(nowhere, "call", "Pia", 2, NOW - 2 * HOUR, "open");
    long long t_ny = add_task(ny, "call", "Pia", 2, NOW + 1 * HOUR, "open");
    long long t_usa = add_task(usa, "call", "Pia", 3, NOW - 4 * HOUR, "open");
    long long t_manual = add_task(paris, "task", "Pia", 1, NOW - HOUR, "open");
    long long t_paul = add_task(ny, "call", "Paul", 1, NOW - 5 * HOUR, "open");
    long long t_tomorrow = add_task(paris, "call", "Pia", 1, NOW + 8 * HOUR, "open");
    long long t_done = add_task(paris, "call", "Pia", 1, NOW - HOUR, "done");
    tap_ok(t_la > 0 && t_paris > 0 && t_tokyo > 0 && t_nowhere > 0 && t_ny > 0 && t_usa > 0 &&
           t_manual > 0 && t_paul > 0 && t_tomorrow > 0 && t_done > 0, "tasks inserted");
    int64_t end_of_day = NOW - NOW % (24 * HOUR) + 24 * HOUR;

    tap_is_int(store_calls_list(st, "Pia", end_of_day, &list), 0, "store_calls_list");
    tap_is_int((int64_t)json_array_size(list), 6,
               "Pia's open call tasks due today, not a manual task, Paul's, tomorrow's or a done one");
    tap_ok(id_at(list, 0) == t_la && id_at(list, 1) == t_tokyo && id_at(list, 2) == t_nowhere &&
           id_at(list, 3) == t_ny && id_at(list, 4) == t_paris && id_at(list, 5) == t_usa,
           "the store orders by priority, then due_at");
    json_decref(list);
    tap_is_int(store_calls_list(st, NULL, end_of_day, &list), 0, "everyone's list");
    tap_is_int((int64_t)json_array_size(list), 7, "includes Paul's");
    tap_is_int(id_at(list, 0), t_paul, "his priority-1 task, due earliest, first");
    json_decref(list);
    tap_is_int(store_calls_list(st, "Nobody", end_of_day, &list), 0, "an owner with no calls");
    tap_is_int((int64_t)json_array_size(list), 0, "gets an empty list");
    json_decref(list);

    tap_is_int(calls_list(st, "Pia", end_of_day, NOW, &list), 0, "calls_list");
    tap_is_int((int64_t)json_array_size(list), 6, "the same six calls");
    tap_is_int(id_at(list, 0), t_la, "priority 1 first, even outside business hours");
    tap_is_int(id_at(list, 1), t_ny, "then New York (11:30, callable), due first");
    tap_is_int(id_at(list, 2), t_paris, "then Paris (17:30, callable)");
    tap_is_int(id_at(list, 3), t_nowhere, "then the lead whose zone is unknown");
    tap_is_int(id_at(list, 4), t_tokyo, "then Tokyo (01:30): not now, although due earlier");
    tap_is_int(id_at(list, 5), t_usa, "priority 3 last");
    c = json_array_get(list, 2);
    tap_is_str(json_string_value(json_object_get(c, "local_time")), "17:30 Europe/Paris",
               "the lead's local time");
    tap_ok(json_is_true(json_object_get(c, "callable_now")), "callable now");
    tap_is_str(json_string_value(json_object_get(c, "tel")), "tel:+33142685300", "a tel: URI");
    tap_is_str(json_string_value(json_object_get(c, "company")), "Analytical Engines",
               "the company");
    tap_is_str(json_string_value(json_object_get(c, "lead_title")), "CTO", "the lead's title");
    tap_is_str(json_string_value(json_object_get(c, "title")), "Call", "the task's title");
    tap_contains(json_string_value(json_object_get(c, "script")), "Ask about the engines",
                 "the script");
    tap_is_str(str_at(list, 1, "tel"), "tel:+12125550100", "punctuation dropped from E.164");
    tap_ok(json_is_null(json_object_get(json_array_get(list, 0), "tel")),
           "no tel: for a number that is not E.164");
    tap_ok(json_is_false(json_object_get(json_array_get(list, 0), "callable_now")) &&
           strcmp(str_at(list, 0, "local_time"), "08:30 America/Los_Angeles") == 0,
           "Los Angeles at 08:30 is not callable yet");
    tap_ok(json_is_null(json_object_get(json_array_get(list, 3), "callable_now")) &&
           json_is_null(json_object_get(json_array_get(list, 3), "local_time")),
           "an unknown zone: callable_now and local_time are null");
    tap_ok(json_is_false(json_object_get(json_array_get(list, 5), "callable_now")),
           "ambiguous(US) is not callable while Hawaii and the west coast are asleep");
    json_decref(list);
    tap_is_int(calls_list(st, "Pia", end_of_day, NOW + 5 * HOUR, &list), 0,
               "five hours later");
    tap_ok(id_at(list, 0) == t_la && id_at(list, 1) == t_ny && id_at(list, 2) == t_nowhere &&
           id_at(list, 3) == t_tokyo && id_at(list, 4) == t_paris && id_at(list, 5) == t_usa,
           "Paris (22:30) moves down behind the unknown zone");
    tap_ok(json_is_true(json_object_get(json_array_get(list, 0), "callable_now")),
           "Los Angeles (13:30) is callable now");
    json_decref(list);

    /* ---- the lead's context: last emails and notes ---- */
    add_email(paris, "Subject: First", NOW - 96 * HOUR, "sent");
    add_email(paris, "Subject: =?UTF-8?Q?Caf=C3=A9_au_lait?=", NOW - 72 * HOUR, "sent");
    add_email(paris, "Subject: A long subject\r\n that was folded", NOW - 48 * HOUR, "sent");
    add_email(paris, "Subject: Re: First", NOW - 24 * HOUR, "sent");
    add_email(paris, "Subject: Not yet", NOW + HOUR, "scheduled");
    for (int i = 1; i <= 4; i++)
        q_exec("INSERT INTO lead_texts (lead_id, kind, body, at) VALUES (%lld, '%s',"
               " 'note %d', %lld)", (long long)paris, i == 2 ? "call_note" : "note", i,
               (long long)NOW - (10 - i) * HOUR);
    q_exec("INSERT INTO lead_texts (lead_id, kind, body, at) VALUES (%lld, 'bio', 'x', %lld)",
           (long long)paris, (long long)NOW);
    tap_is_int(calls_list(st, "Pia", end_of_day, NOW, &list), 0, "listed with context");
    c = json_array_get(list, 2);
    json_t *emails = json_object_get(c, "last_emails"), *notes = json_object_get(c, "notes");
    tap_is_int((int64_t)json_array_size(emails), 3, "the last three sent emails");
    tap_is_str(str_at(emails, 0, "subject"), "Re: First", "newest first");
    tap_is_str(str_at(emails, 1, "subject"), "A long subject that was folded",
               "a folded Subject is unfolded");
    tap_is_str(str_at(emails, 2, "subject"), "Caf\xc3\xa9 au lait", "an encoded-word is decoded");
    tap_is_int(json_integer_value(json_object_get(json_array_get(emails, 0), "sent_at")),
               NOW - 24 * HOUR, "with when it was sent");
    tap_is_int((int64_t)json_array_size(notes), 3, "the last three notes");
    tap_ok(strcmp(str_at(notes, 0, "body"), "note 4") == 0 &&
           strcmp(str_at(notes, 2, "body"), "note 2") == 0 &&
           strcmp(str_at(notes, 2, "kind"), "call_note") == 0,
           "notes and call notes, newest first, not other texts");
    json_decref(list);

    /* ---- closing ---- */
    q_exec("INSERT INTO cadences (name, version, definition, created_at)"
           " VALUES ('outbound', 1, '{}', 0)");
    long long enr = q_exec("INSERT INTO enrollments (lead_id, cadence_id, cadence, state, step,"
                           " started_at) VALUES (%lld, 1, 'outbound', 'active', 2, 0)",
                           (long long)paris);
    q_exec("UPDATE tasks SET enrollment_id = %lld, step = 2 WHERE id = %lld", enr, t_paris);

    int64_t open_id = 0;
    tap_is_int(store_task_open_for_lead(st, paris, &open_id), 0, "Paris has an open call task");
    tap_is_int(open_id, t_paris, "the oldest: today's, not tomorrow's nor the manual task");
    tap_is_int(ST_WAIT(&loop, &w, store_task_close(st, t_paris, "no-answer",
                                                   "Secretary says try Thursday", &pia,
                                                   st_on_done, &w)), 0, "closed");
    tap_is_int(w.id, t_paris, "the completion names the task");
    char sql[512];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM tasks WHERE id = %lld AND state = 'done'"
             " AND outcome = 'no-answer' AND done_at = %lld", t_paris, (long long)NOW);
    tap_is_int(q_int(sql), 1, "the task is done, with its outcome and when");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM lead_texts WHERE lead_id = %lld AND"
             " kind = 'call_note' AND body = 'Secretary says try Thursday'", (long long)paris);
    tap_is_int(q_int(sql), 1, "the notes are a call_note in lead_texts");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE lead_id = %lld AND"
             " type = 'call_logged' AND actor = 'Pia' AND json_extract(data, '$.task_id') = %lld"
             " AND json_extract(data, '$.outcome') = 'no-answer'", (long long)paris, t_paris);
    tap_is_int(q_int(sql), 1, "a call_logged event with the task and the outcome");
    tap_is_int(q_int("SELECT count(*) FROM events WHERE data LIKE '%Thursday%'"), 0,
               "the notes are not in the event log");
    snprintf(sql, sizeof(sql), "SELECT step * 1000 + (last_outcome = 'no-answer') * 100 +"
             " (due_at = %lld) FROM enrollments WHERE id = %lld", (long long)NOW, enr);
    tap_is_int(q_int(sql), 3101, "the enrollment moved to step 3, due now, keeping the outcome");
    tap_is_int(ST_WAIT(&loop, &w, store_task_close(st, t_paris, "connected", NULL, &pia,
                                                   st_on_done, &w)), -ENOENT,
               "closing it again is -ENOENT");
    snprintf(sql, sizeof(sql), "SELECT step FROM enrollments WHERE id = %lld", enr);
    tap_is_int(q_int(sql), 3, "and the enrollment did not move twice");
    tap_is_int(q_int("SELECT count(*) FROM events WHERE type = 'call_logged'"), 1,
               "nor was a second event written");
    tap_is_int(ST_WAIT(&loop, &w, store_task_close(st, 99999, "connected", NULL, &pia,
                                                   st_on_done, &w)), -ENOENT,
               "an unknown task is -ENOENT");
    tap_is_int(store_task_close(st, t_ny, NULL, NULL, &pia, st_on_done, &w), -EINVAL,
               "an outcome is required");
    tap_is_int(ST_WAIT(&loop, &w, store_task_close(st, t_ny, "voicemail", NULL, &pia,
                                                   st_on_done, &w)), 0,
               "a task of no enrollment closes without notes");
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM lead_texts WHERE lead_id = %lld",
             (long long)ny);
    tap_is_int(q_int(sql), 0, "no empty call note was written");
    tap_is_int(store_task_open_for_lead(st, ny, &open_id), 0, "New York still has Paul's task");
    tap_is_int(open_id, t_paul, "which is now its oldest open call task");
    tap_is_int(store_task_open_for_lead(st, nowhere + 1000, &open_id), -ENOENT,
               "a lead without an open call task is -ENOENT");

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
