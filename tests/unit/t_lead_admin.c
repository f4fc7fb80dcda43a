/* SPDX-License-Identifier: MIT */
/* tests/unit/t_lead_admin.c: store_admin.c on a real SQLite file: lifting a
 * suppression (and the lead's flag), listing leads with filters, exporting
 * a lead, and forgetting one: every personal field, text, touch recipient
 * and payload erased, a hashed suppression entry left, a "forgotten" event
 * with no data; then the same address re-imported is suppressed and
 * store_is_suppressed() (what touches are checked against) says so.
 */
#include <errno.h>
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
    bool suppressed;
    int64_t id;
};

static void on_batch(int status, const struct store_lead_outcome *o, size_t n, void *arg)
{
    struct batch_wait *b = arg;
    b->calls++;
    b->status = status;
    if (n > 0) {
        b->suppressed = o[0].suppressed;
        b->id = o[0].lead_id;
    }
}

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

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    struct st_wait w;
    char path[512], sql[512];
    bool sup = false;

    tap_plan(38);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/admin.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");

    json_t *attrs = json_pack("{s:s, s:{s:{s:s, s:s}}}", "city", "Marylebone",
                              "_provenance", "email_status", "by", "import", "source", "fair");
    struct store_lead_in ada = {
        .email = "Ada.Lovelace@Example.com", .first_name = "Ada", .last_name = "Lovelace",
        .company = "Analytical Engines", .title = "Countess", .phone = "+442079460018",
        .country = "GB", .timezone = "Europe/London", .linkedin = "in/ada-lovelace",
        .source = "fair", .lawful_basis = "legitimate_interest", .attrs = attrs,
    };
    tap_is_int(ST_WAIT(&loop, &w, store_lead_upsert(st, &ada, &alice, st_on_done, &w)), 0,
               "lead created");
    int64_t lead = w.id;
    json_decref(attrs);
    tap_is_int(ST_WAIT(&loop, &w, store_lead_upsert(st, &(struct store_lead_in){
                   .email = "grace@navy.example", .source = "web" }, &alice, st_on_done, &w)),
               0, "a second lead");
    int64_t lead2 = w.id;
    const char *cands[] = { "bob" };
    tap_is_int(ST_WAIT(&loop, &w, store_stage_move(st, lead2, "prospecting", "prospector", cands,
                                                   1, &alice, "scored", st_on_done, &w)),
               0, "the second lead moves to prospecting, owned by bob");

    /* ---- list with filters ---- */
    json_t *list = NULL;
    tap_is_int(store_leads_list(st, NULL, &list), 0, "list all");
    tap_is_int((int64_t)json_array_size(list), 2, "two leads");
    json_decref(list);
    struct store_leads_filter f = { .stage = "prospecting" };
    store_leads_list(st, &f, &list);
    tap_ok(json_array_size(list) == 1 &&
           json_integer_value(json_object_get(json_array_get(list, 0), "id")) == lead2,
           "--stage prospecting finds the second lead");
    tap_is_str(json_string_value(json_object_get(json_array_get(list, 0), "owners")), "bob",
               "with its owner");
    json_decref(list);
    f = (struct store_leads_filter){ .owner = "bob" };
    store_leads_list(st, &f, &list);
    tap_is_int((int64_t)json_array_size(list), 1, "--owner bob");
    json_decref(list);
    f = (struct store_leads_filter){ .source = "fair" };
    store_leads_list(st, &f, &list);
    tap_ok(json_array_size(list) == 1 &&
           json_integer_value(json_object_get(json_array_get(list, 0), "id")) == lead,
           "--source fair");
    json_decref(list);

    /* ---- suppress, unsuppress ---- */
    tap_is_int(ST_WAIT(&loop, &w, store_suppress(st, "domain", "navy.example", "asked", &alice,
                                                 st_on_done, &w)), 0, "domain suppressed");
    tap_is_int(q_int(path, "SELECT suppressed FROM leads WHERE email = 'grace@navy.example'"), 1,
               "the lead is flagged");
    tap_is_int(ST_WAIT(&loop, &w, store_unsuppress(st, "domain", "Navy.Example", &alice,
                                                   st_on_done, &w)), 0, "unsuppressed");
    tap_is_int(q_int(path, "SELECT suppressed FROM leads WHERE email = 'grace@navy.example'"), 0,
               "the flag is lifted");
    store_is_suppressed(st, "grace@navy.example", &sup);
    tap_ok(!sup, "and the address is no longer suppressed");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'unsuppressed'"
                           " AND actor = 'alice' AND data NOT LIKE '%navy%'"), 1,
               "an unsuppressed event with the actor and without the value");
    tap_is_int(ST_WAIT(&loop, &w, store_unsuppress(st, "domain", "navy.example", &alice,
                                                   st_on_done, &w)), -ENOENT,
               "lifting a missing entry is -ENOENT");
    tap_is_int(store_unsuppress(st, "hash", "x", &alice, st_on_done, &w), -EINVAL,
               "an unknown kind is -EINVAL");

    /* ---- personal data in the side tables ---- */
    tap_is_int(ST_WAIT(&loop, &w, store_touch_create(st, &(struct store_touch_in){
                   .lead_id = lead, .kind = "email", .channel = "smtp",
                   .recipient = "ada.lovelace@example.com", .content_type = "message/rfc822",
                   .payload = "Dear Ada", .payload_len = 8, .due_at = 1 }, &alice, st_on_done,
                   &w)), 0, "a touch for the lead");
    snprintf(sql, sizeof(sql), "INSERT INTO lead_texts (lead_id, kind, body, at)"
             " VALUES (%lld, 'reply', 'Ada wrote: call me', 1)", (long long)lead);
    tap_is_int(q_exec(path, sql), 0, "a text about the lead");
    tap_is_int(ST_WAIT(&loop, &w, store_suppress(st, "email", "ada.lovelace@example.com",
                                                 "asked", &alice, st_on_done, &w)), 0,
               "her address suppressed in clear");

    /* ---- export ---- */
    json_t *all = NULL;
    tap_is_int(store_lead_export(st, lead, &all), 0, "export");
    char *text = json_dumps(all, JSON_COMPACT);
    tap_contains(text, "\"first_name\":\"Ada\"", "the export has the fields");
    tap_contains(text, "Ada wrote", "the texts");
    tap_contains(text, "\"payload_bytes\":8", "the touch without its payload");
    tap_contains(text, "_provenance", "the provenance");
    free(text);
    json_decref(all);

    /* ---- forget ---- */
    tap_is_int(ST_WAIT(&loop, &w, store_lead_forget(st, lead, &alice, st_on_done, &w)), 0,
               "forgotten");
    store_lead_export(st, lead, &all);
    text = json_dumps(all, JSON_COMPACT);
    bool clean = text != NULL;
    static const char *const personal[] = { "Ada", "ada", "Lovelace", "lovelace", "Example.com",
        "example.com", "Analytical", "Countess", "7946", "London", "Marylebone", "GB", NULL };
    for (size_t i = 0; clean && personal[i] != NULL; i++)
        if (strstr(text, personal[i]) != NULL) {
            tap_diag("still there: %s", personal[i]);
            clean = false;
        }
    tap_ok(clean, "the export holds nothing personal");
    free(text);
    json_decref(all);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM touches WHERE lead_id = %lld AND"
             " recipient IS NULL AND state = 'cancelled' AND NOT EXISTS (SELECT 1 FROM touch_payloads"
             " p WHERE p.touch_id = touches.id)", (long long)lead);
    tap_is_int(q_int(path, sql), 1, "the touch lost its recipient and payload and was cancelled");
    tap_is_int(q_int(path, "SELECT count(*) FROM lead_texts"), 0, "the texts are gone");
    tap_is_int(q_int(path, "SELECT count(*) FROM suppression WHERE value LIKE '%example.com%'"), 0,
               "no clear-text suppression entry is left");
    tap_is_int(q_int(path, "SELECT count(*) FROM suppression WHERE kind = 'email_hash'"
                           " AND length(value) = 64"), 1, "a hashed entry is");
    tap_is_int(q_int(path, "SELECT count(*) FROM events WHERE type = 'forgotten'"
                           " AND data = '{}' AND actor = 'alice'"), 1,
               "a forgotten event with no data and the actor");
    tap_is_int(ST_WAIT(&loop, &w, store_lead_forget(st, 9999, &alice, st_on_done, &w)), -ENOENT,
               "forgetting an unknown lead is -ENOENT");

    /* ---- never contacted again ---- */
    store_is_suppressed(st, "ADA.lovelace@example.com", &sup);
    tap_ok(sup, "the forgotten address is suppressed (a touch is refused)");
    struct batch_wait b = { 0 };
    struct store_lead_in again = { .email = "ada.lovelace@example.com", .first_name = "Ada" };
    tap_is_int(store_lead_upsert_batch(st, &again, 1, 0, &alice, on_batch, &b), 0, "re-import");
    st_run_until(&loop, &b.calls, 1);
    tap_ok(b.status == 0 && b.suppressed && b.id != lead,
           "a re-imported forgotten address is a new lead, stored as suppressed");

    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
