/* SPDX-License-Identifier: MIT */
/* tests/unit/t_store.c: the SQLite store on real files: opening (WAL,
 * synchronous=FULL, migrations, reopen, a newer schema refused, an
 * unwritable path), leads, stage moves with round-robin owners, key/value
 * state, suppression, mailbox counters, group commit, flush, and a loop that
 * closes cleanly. Touches are in t_store_touch.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store.h"
#include "store_internal.h"
#include "store_test_util.h"
#include "tap.h"

static const struct store_actor person = { STORE_ACTOR_PERSON, "alice" };

static int64_t pragma_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void check_file(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s;
    char mode[16] = "";

    tap_ok(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK,
           "a separate connection opens the file");
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        snprintf(mode, sizeof(mode), "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    tap_is_str(mode, "wal", "the file is in WAL mode");
    tap_is_int(pragma_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION,
               "migrations brought user_version to STORE_SCHEMA_VERSION");
    tap_is_int(pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                          " name IN ('leads', 'lead_owners', 'stage_history', 'events',"
                          " 'role_cursor', 'cadences', 'enrollments', 'touches', 'tasks',"
                          " 'lead_texts', 'suppression', 'mailbox_counters', 'plugin_kv',"
                          " 'meta')"), 14, "every table exists");
    sqlite3_close(db);
}

static void set_user_version(const char *path, int v)
{
    sqlite3 *db = NULL;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
    sqlite3_open(path, &db);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    sqlite3_close(db);
}

static void test_open(uv_loop_t *loop, const char *dir)
{
    char path[600], bad[600], file[600];
    struct errbuf err = { 0 };
    struct store *st = NULL;
    struct store_status ss;
    char id1[40];

    snprintf(path, sizeof(path), "%s/var/lib/drumbeat/store.db", dir);
    tap_is_int(store_open(loop, path, &st, &err), 0, "store_open creates folders and file");
    tap_is_int(sqlite3_db_readonly(st->rd.db, "main") >= 0, 1, "read connection is open");
    tap_is_int(pragma_int(st->rd.db, "PRAGMA synchronous"), 2,
               "synchronous=FULL on the read connection");
    tap_is_int(pragma_int(st->rd.db, "PRAGMA foreign_keys"), 1, "foreign keys are on");
    check_file(path);
    tap_is_int(store_status(st, &ss), 0, "store_status works");
    tap_is_str(ss.backend, "sqlite", "backend is sqlite");
    tap_is_int((int64_t)strlen(ss.store_id), 32, "the store id is 128 bits of hex");
    tap_is_int(ss.schema_version, STORE_SCHEMA_VERSION, "status shows the schema version");
    tap_ok(ss.file_bytes > 0, "file_bytes counts the file and its WAL");
    snprintf(id1, sizeof(id1), "%s", ss.store_id);
    store_close(st);

    tap_is_int(store_open(loop, path, &st, &err), 0, "reopening works");
    store_status(st, &ss);
    tap_is_str(ss.store_id, id1, "reopening keeps the store id");
    store_close(st);
    check_file(path);

    set_user_version(path, STORE_SCHEMA_VERSION + 1);
    memset(&err, 0, sizeof(err));
    tap_is_int(store_open(loop, path, &st, &err), -ESTALE, "a newer schema is refused");
    tap_contains(err.what, path, "the message names the store");
    char versions[96];
    snprintf(versions, sizeof(versions), "has schema version %d; this drumbeatd understands "
             "up to %d", STORE_SCHEMA_VERSION + 1, STORE_SCHEMA_VERSION);
    tap_contains(err.what, versions, "the message gives both versions");
    tap_contains(err.what, "upgrade drumbeat", "the message says what to do");
    set_user_version(path, STORE_SCHEMA_VERSION);

    /* Tests run as root, so permissions do not stop us: use a file where a
     * folder must be. */
    snprintf(file, sizeof(file), "%s/plainfile", dir);
    FILE *f = fopen(file, "w");
    fputs("x", f);
    fclose(f);
    snprintf(bad, sizeof(bad), "%s/plainfile/db/store.db", dir);
    memset(&err, 0, sizeof(err));
    int rc = store_open(loop, bad, &st, &err);
    tap_ok(rc < 0, "a path under a regular file fails (%s)", error_name(rc));
    tap_contains(err.what, bad, "the message names the path");
    tap_contains(err.what, "not a directory", "the message gives the reason");
}

static void test_leads(uv_loop_t *loop, struct store *st)
{
    struct st_wait w;
    json_t *attrs1 = json_pack("{s:i}", "a", 1), *attrs2 = json_pack("{s:i, s:i}", "a", 2, "b", 3);
    struct store_lead_in in = { .email = "Bob@Example.com", .first_name = "Bob",
                                .source = "import", .attrs = attrs1 };
    int64_t id = 0, found = 0;
    json_t *lead = NULL, *events = NULL;

    w.calls = 0;
    tap_is_int(store_lead_upsert(st, &in, &person, st_on_done, &w), 0, "upsert queued");
    tap_is_int(w.calls, 0, "the completion is never called from inside the call");
    st_run_until(loop, &w.calls, 1);
    tap_is_int(w.status, 0, "lead created");
    id = w.id;
    tap_ok(id > 0, "the completion carries the lead id");

    struct store_lead_in in2 = { .email = "bob@example.COM", .first_name = "Robert",
                                 .company = "Acme", .country = "FR",
                                 .timezone = "Europe/Paris", .attrs = attrs2 };
    tap_is_int(ST_WAIT(loop, &w, store_lead_upsert(st, &in2, &person, st_on_done, &w)), 0,
               "second upsert");
    tap_is_int(w.id, id, "same email, same lead");
    tap_is_int(store_lead_get(st, id, &lead), 0, "lead_get");
    tap_is_str(json_string_value(json_object_get(lead, "first_name")), "Bob",
               "a set field is never overwritten");
    tap_is_str(json_string_value(json_object_get(lead, "company")), "Acme",
               "an empty field is filled");
    tap_is_str(json_string_value(json_object_get(lead, "email")), "bob@example.com",
               "the email is kept lower-case");
    tap_is_str(json_string_value(json_object_get(lead, "domain")), "example.com",
               "the domain defaults to the email's");
    tap_is_str(json_string_value(json_object_get(lead, "stage")), "intelligence",
               "a new lead starts in intelligence");
    json_t *a = json_object_get(lead, "attrs");
    tap_ok(json_integer_value(json_object_get(a, "a")) == 1 &&
           json_integer_value(json_object_get(a, "b")) == 3,
           "attrs are parsed JSON; known keys kept, new keys added");
    json_decref(lead);
    json_t *zone = NULL;
    tap_is_int(store_lead_zone(st, id, &zone), 0, "lead_zone");
    tap_ok(json_object_size(zone) == 3 && json_integer_value(json_object_get(zone, "id")) == id &&
           strcmp(json_string_value(json_object_get(zone, "timezone")), "Europe/Paris") == 0 &&
           strcmp(json_string_value(json_object_get(zone, "country")), "FR") == 0,
           "lead_zone holds the id, time zone and country, and nothing else");
    json_decref(zone);
    zone = NULL;
    tap_is_int(store_lead_zone(st, 9999, &zone), -ENOENT, "an unknown lead's zone is ENOENT");
    tap_ok(zone == NULL, "and gives no object");
    tap_is_int(store_lead_find_by_email(st, "BOB@example.com", &found), 0, "find by email");
    tap_is_int(found, id, "finds the same lead");
    tap_is_int(store_lead_find_by_email(st, "nobody@example.com", &found), -ENOENT,
               "an unknown email is ENOENT");
    tap_is_int(store_lead_get(st, 9999, &lead), -ENOENT, "an unknown lead is ENOENT");
    tap_is_int(store_events_list(st, id, 10, &events), 0, "events of the lead");
    tap_is_int((int64_t)json_array_size(events), 2, "two events");
    tap_is_str(json_string_value(json_object_get(json_array_get(events, 1), "type")),
               "lead_created", "oldest is lead_created");
    tap_is_str(json_string_value(json_object_get(json_array_get(events, 0), "actor")),
               "alice", "events carry the actor");
    char *text = json_dumps(json_array_get(events, 1), 0);
    tap_ok(text != NULL && strstr(text, "bob@") == NULL, "no personal data in the event");
    free(text);
    json_decref(events);
    tap_is_int(store_lead_upsert(st, &(struct store_lead_in){ .email = "nope" }, NULL,
                                 st_on_done, &w), -EINVAL, "an email without @ is refused");
    json_decref(attrs1);
    json_decref(attrs2);
}

static void test_stages(uv_loop_t *loop, struct store *st)
{
    const char *const team[] = { "ann", "ben", "cat" };
    const char *want[] = { "ann", "ben", "cat", "ann" };
    struct st_wait w;
    int64_t ids[4];
    char email[64];
    bool ok = true;

    for (int i = 0; i < 4; i++) {
        snprintf(email, sizeof(email), "rr%d@example.org", i);
        ST_WAIT(loop, &w, store_lead_upsert(st, &(struct store_lead_in){ .email = email },
                                            NULL, st_on_done, &w));
        ids[i] = w.id;
    }
    for (int i = 0; i < 4; i++) {
        json_t *lead = NULL;
        int rc = ST_WAIT(loop, &w, store_stage_move(st, ids[i], "prospecting", "sdr", team, 3,
                                                    &person, "icp_match", st_on_done, &w));
        store_lead_get(st, ids[i], &lead);
        const char *owner = json_string_value(json_object_get(json_object_get(lead, "owners"),
                                                              "sdr"));
        if (rc != 0 || owner == NULL || strcmp(owner, want[i]) != 0) {
            tap_diag("lead %d: rc=%d owner=%s", i, rc, owner ? owner : "(none)");
            ok = false;
        }
        json_decref(lead);
    }
    tap_ok(ok, "round-robin over 3 candidates assigns ann, ben, cat, ann");

    tap_is_int(ST_WAIT(loop, &w, store_stage_move(st, ids[0], "qualified", "sdr", NULL, 0,
                                                  &person, NULL, st_on_done, &w)), 0,
               "a move with no candidates");
    json_t *hist = NULL;
    tap_is_int(store_stage_history(st, ids[0], &hist), 0, "stage history");
    tap_is_int((int64_t)json_array_size(hist), 2, "two history rows");
    json_t *h0 = json_array_get(hist, 0), *h1 = json_array_get(hist, 1);
    tap_ok(strcmp(json_string_value(json_object_get(h0, "from_stage")), "intelligence") == 0 &&
           strcmp(json_string_value(json_object_get(h0, "to_stage")), "prospecting") == 0 &&
           strcmp(json_string_value(json_object_get(h0, "owner")), "ann") == 0 &&
           strcmp(json_string_value(json_object_get(h0, "actor")), "alice") == 0,
           "history row: from, to, owner, actor");
    tap_is_str(json_string_value(json_object_get(h1, "owner")), "ann",
               "n == 0 keeps the owner");
    json_decref(hist);

    json_t *events = NULL;
    store_events_list(st, ids[0], 1, &events);
    json_t *ev = json_array_get(events, 0);
    tap_is_str(json_string_value(json_object_get(ev, "type")), "stage_changed",
               "a stage_changed event");
    tap_is_str(json_string_value(json_object_get(json_object_get(ev, "data"), "to")),
               "qualified", "the event says where to");
    json_decref(events);
    tap_is_int(ST_WAIT(loop, &w, store_stage_move(st, 424242, "x", NULL, NULL, 0, NULL, NULL,
                                                  st_on_done, &w)), -ENOENT,
               "moving an unknown lead fails with ENOENT");
}

static void test_small_tables(uv_loop_t *loop, struct store *st)
{
    struct st_wait w;
    char *value = NULL;
    size_t len = 0;
    bool sup = false;
    int64_t count = -1;

    tap_is_int(ST_WAIT(loop, &w, store_kv_set(st, "inbox_imap/main", "uid", "a\0b", 3,
                                              st_on_done, &w)), 0, "kv set");
    tap_ok(store_kv_get(st, "inbox_imap/main", "uid", &value, &len) == 0 && len == 3 &&
           memcmp(value, "a\0b", 4) == 0, "kv get returns the bytes, NUL-terminated");
    free(value);
    ST_WAIT(loop, &w, store_kv_set(st, "inbox_imap/main", "uid", "42", 2, st_on_done, &w));
    store_kv_get(st, "inbox_imap/main", "uid", &value, &len);
    tap_is_str(value, "42", "kv set replaces");
    free(value);
    ST_WAIT(loop, &w, store_kv_set(st, "inbox_imap/main", "uid", NULL, 0, st_on_done, &w));
    tap_is_int(store_kv_get(st, "inbox_imap/main", "uid", &value, &len), -ENOENT,
               "a NULL value deletes");

    tap_is_int(ST_WAIT(loop, &w, store_suppress(st, "email", "Bob@Example.com", "unsubscribed",
                                                &person, st_on_done, &w)), 0, "suppress email");
    store_is_suppressed(st, "bob@EXAMPLE.com", &sup);
    tap_ok(sup, "the email is suppressed, case-blind");
    store_is_suppressed(st, "carol@example.com", &sup);
    tap_ok(!sup, "another address of the domain is not");
    ST_WAIT(loop, &w, store_suppress(st, "domain", "competitor.io", "policy", &person,
                                     st_on_done, &w));
    store_is_suppressed(st, "anyone@competitor.io", &sup);
    tap_ok(sup, "domain suppression covers every address");
    tap_is_int(store_suppress(st, "phone", "1", NULL, NULL, st_on_done, &w), -EINVAL,
               "an unknown kind is refused");
    json_t *lead = NULL;
    int64_t bob = 0;
    store_lead_find_by_email(st, "bob@example.com", &bob);
    store_lead_get(st, bob, &lead);
    tap_is_int(json_integer_value(json_object_get(lead, "suppressed")), 1,
               "the lead is flagged suppressed");
    json_decref(lead);

    ST_WAIT(loop, &w, store_mailbox_count_add(st, "sales@x", 20000, 3, st_on_done, &w));
    tap_is_int(ST_WAIT(loop, &w, store_mailbox_count_add(st, "sales@x", 20000, 2,
                                                         st_on_done, &w)), 0, "count add");
    tap_is_int(w.id, 5, "the completion carries the new count");
    store_mailbox_count_get(st, "sales@x", 20000, &count);
    tap_is_int(count, 5, "counters add up");
    store_mailbox_count_get(st, "sales@x", 20001, &count);
    tap_is_int(count, 0, "another day starts at 0");

    struct store_task_in task = { .lead_id = bob, .kind = "call", .owner = "ben",
                                  .priority = 2, .due_at = 1000, .script = "Hi" };
    tap_is_int(ST_WAIT(loop, &w, store_task_create(st, &task, &person, st_on_done, &w)), 0,
               "task created");
    struct store_status ss;
    store_status(st, &ss);
    tap_is_int(ss.tasks_open, 1, "status counts open tasks");
    tap_is_int(ss.suppressed, 2, "status counts suppressions");
}

struct order { int seen[202]; int n; };

static void on_ordered(int status, int64_t id, void *arg)
{
    struct order *o = arg;
    if (o->n < 202)
        o->seen[o->n] = status;
    o->n++;
}

static void test_group_commit(uv_loop_t *loop, struct store *st)
{
    struct store_status before, after;
    struct order o = { .n = 0 };
    char key[32];
    int queued = 0;
    bool all_ok = true;

    struct st_wait bad = { 0 };
    struct store_touch_in orphan = { .lead_id = 987654, .kind = "email", .channel = "smtp" };

    store_status(st, &before);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        queued += store_kv_set(st, "bench", key, "v", 1, on_ordered, &o) == 0;
        /* One failing write among them rolls back alone. */
        if (i == 100)
            tap_is_int(store_touch_create(st, &orphan, NULL, st_on_done, &bad), 0,
                       "a doomed write is queued among them");
    }
    tap_is_int(queued, 200, "200 writes queued before the loop runs");
    st_run_until(loop, &o.n, 200);
    st_run_until(loop, &bad.calls, 1);
    tap_is_int(bad.status, -ENOENT, "the failing write reports its own error");
    for (int i = 0; i < 200; i++)
        all_ok = all_ok && o.seen[i] == 0;
    tap_ok(all_ok, "all 200 completed with status 0");
    store_status(st, &after);
    tap_is_int(after.writes_committed - before.writes_committed, 200, "200 writes committed");
    tap_ok(after.commits - before.commits < 200, "in fewer commits (%lld)",
           (long long)(after.commits - before.commits));
    tap_is_int(after.write_queue, 0, "the queue is empty");

    /* flush runs after every write queued before it. */
    struct st_wait w = { 0 };
    o.n = 0;
    store_kv_set(st, "bench", "last", "v", 1, on_ordered, &o);
    tap_is_int(store_flush(st, st_on_done, &w), 0, "flush queued");
    st_run_until(loop, &w.calls, 1);
    tap_is_int(o.n, 1, "the write completed before the flush callback");
}

/* Requests of the writer made here: a gate that holds the writer thread
 * until every other request is queued (so they form one batch), and rows
 * written into plugin_kv that count how often each request ran. The gate
 * says when the writer is inside it: only then are the others queued, so
 * the writer cannot take some of them into the gate's own batch. */
struct grp_req {
    uv_sem_t *gate;          /* gate only */
    uv_sem_t *entered;       /* gate only: posted once the writer runs it */
    const char *key;         /* the row it writes, or NULL */
    int fail;                /* 0, or the error it returns */
    bool fail_first;         /* fails before writing its row */
    int runs;                /* writer thread; read after its completion */
};

static int grp_run(struct store *st, struct store_req *req)
{
    struct grp_req *g = req->priv;
    g->runs++;
    if (g->gate != NULL) {
        uv_sem_post(g->entered);
        uv_sem_wait(g->gate);
        return 0;
    }
    if (g->fail != 0 && g->fail_first)
        return g->fail;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "INSERT INTO plugin_kv (instance, key, value)"
                        " VALUES ('grp', ?1, 'v')", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, g->key, -1, SQLITE_STATIC);
    rc = store_stmt_done(&st->wr, s);
    return rc < 0 ? rc : g->fail;
}

static struct store_req *grp_submit(struct store *st, struct grp_req *g, bool rerunnable,
                                    struct st_wait *w)
{
    struct store_req *req = store_req_new(grp_run, NULL, st_on_done, w);
    req->priv = g;               /* the test's: no cleanup */
    req->rerunnable = rerunnable;
    store_writer_submit(st, req);
    return req;
}

static int64_t grp_rows(struct store *st, const char *like)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (store_stmt(&st->rd, "SELECT count(*) FROM plugin_kv WHERE instance = 'grp'"
                   " AND key LIKE ?1", &s) < 0)
        return -1;
    sqlite3_bind_text(s, 1, like, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
}

/* One batch of eleven rerunnable requests, the middle one failing (after
 * or before its own write), behind a gate. Returns how often the ten
 * others ran in all. */
static int grp_batch(uv_loop_t *loop, struct store *st, const char *prefix, int fail,
                     bool fail_first, struct grp_req *bad, struct st_wait *bad_w)
{
    uv_sem_t gate_sem, entered_sem;
    uv_sem_init(&gate_sem, 0);
    uv_sem_init(&entered_sem, 0);
    struct grp_req gate = { .gate = &gate_sem, .entered = &entered_sem };
    struct grp_req ok[10];
    struct st_wait gw = { 0 }, ow[10];
    char keys[10][32];
    grp_submit(st, &gate, false, &gw);
    uv_sem_wait(&entered_sem);
    for (int i = 0; i < 10; i++) {
        if (i == 5) {
            *bad = (struct grp_req){ .key = "bad", .fail = fail, .fail_first = fail_first };
            grp_submit(st, bad, true, bad_w);
        }
        snprintf(keys[i], sizeof(keys[i]), "%s%d", prefix, i);
        ok[i] = (struct grp_req){ .key = keys[i] };
        ow[i] = (struct st_wait){ 0 };
        grp_submit(st, &ok[i], true, &ow[i]);
    }
    uv_sem_post(&gate_sem);
    int done = 0, runs = 0;
    while (done < 10 || bad_w->calls < 1 || gw.calls < 1) {
        uv_run(loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 10; i++)
            done += ow[i].calls;
    }
    bool all_ok = true;
    for (int i = 0; i < 10; i++) {
        all_ok = all_ok && ow[i].status == 0;
        runs += ok[i].runs;
    }
    tap_ok(all_ok, "%s: the ten others completed with status 0", prefix);
    uv_sem_destroy(&gate_sem);
    uv_sem_destroy(&entered_sem);
    return runs;
}

/* Rerunnable requests share one savepoint (writer_run_group). A failure
 * after a write rolls the group back and runs each again alone, so only the
 * failing one's row is gone; a failure before any write costs no rerun. */
static void test_rerunnable_group(uv_loop_t *loop, struct store *st)
{
    struct grp_req bad;
    struct st_wait bad_w = { 0 };

    int runs = grp_batch(loop, st, "late", -EPROTO, false, &bad, &bad_w);
    tap_is_int(bad_w.status, -EPROTO, "a request failing after its write reports its error");
    tap_is_int(grp_rows(st, "bad"), 0, "its row was rolled back");
    tap_is_int(grp_rows(st, "late%"), 10, "the ten rows of the others are committed");
    tap_is_int(runs, 15, "the five before it ran twice (the group, then alone), the five after "
               "it once");
    tap_is_int(bad.runs, 2, "the failing one ran in the group, then alone");

    bad_w = (struct st_wait){ 0 };
    runs = grp_batch(loop, st, "early", -ESTALE, true, &bad, &bad_w);
    tap_is_int(bad_w.status, -ESTALE, "a request refused before writing reports its error");
    tap_is_int(grp_rows(st, "early%"), 10, "the ten rows of the others are committed");
    tap_is_int(runs, 10, "and nothing ran twice: there was nothing to undo");
    tap_is_int(bad.runs, 1, "the refused one ran once");
}

static struct store_req *bulk_submit(struct store *st, struct grp_req *g, bool more,
                                     struct st_wait *w)
{
    struct store_req *req = store_req_new(grp_run, NULL, st_on_done, w);
    req->priv = g;
    req->bulk = true;
    req->bulk_more = more;
    store_writer_submit(st, req);
    return req;
}

/* Bulk requests (an import's batches) share one transaction with no
 * savepoints (store_writer_run_bulk): a request of another kind commits what
 * came before it; a failing bulk request takes the bulk requests of its
 * transaction with it, and the next one starts a new transaction; one that
 * says more follow holds the transaction open for the next. */
static void test_bulk_transaction(uv_loop_t *loop, struct store *st)
{
    uv_sem_t gate_sem, entered_sem;
    uv_sem_init(&gate_sem, 0);
    uv_sem_init(&entered_sem, 0);
    struct grp_req gate = { .gate = &gate_sem, .entered = &entered_sem };
    struct grp_req a[6] = {
        { .key = "bulk-a1" }, { .key = "bulk-a2" }, { .key = "bulk-p" },
        { .key = "bulk-a3" }, { .key = "bulk-a4", .fail = -EPROTO }, { .key = "bulk-a5" },
    };
    struct st_wait gw = { 0 }, aw[6] = { { 0 } };

    grp_submit(st, &gate, false, &gw);
    uv_sem_wait(&entered_sem);
    bulk_submit(st, &a[0], true, &aw[0]);
    bulk_submit(st, &a[1], true, &aw[1]);
    grp_submit(st, &a[2], false, &aw[2]);
    bulk_submit(st, &a[3], true, &aw[3]);
    bulk_submit(st, &a[4], true, &aw[4]);
    bulk_submit(st, &a[5], false, &aw[5]);
    uv_sem_post(&gate_sem);
    int done = 0;
    while (done < 6) {
        uv_run(loop, UV_RUN_ONCE);
        done = 0;
        for (int i = 0; i < 6; i++)
            done += aw[i].calls;
    }
    tap_ok(aw[0].status == 0 && aw[1].status == 0, "two bulk requests committed");
    tap_is_int(aw[2].status, 0, "the plain request after them committed");
    tap_is_int(aw[4].status, -EPROTO, "a failing bulk request reports its error");
    tap_is_int(aw[3].status, -EPROTO, "the bulk request before it, in its transaction, too");
    tap_is_int(aw[5].status, 0, "the next bulk request ran in a new transaction");
    tap_is_int(grp_rows(st, "bulk-a1"), 1, "the first bulk row is in the store");
    tap_is_int(grp_rows(st, "bulk-p"), 1, "the plain request's row is in the store");
    tap_is_int(grp_rows(st, "bulk-a3") + grp_rows(st, "bulk-a4"), 0,
               "the failed transaction's rows are not");
    tap_is_int(grp_rows(st, "bulk-a5"), 1, "the last bulk row is in the store");
    tap_is_int(a[3].runs + a[4].runs + a[5].runs, 3, "and nothing ran twice");

    /* Held open: the second request comes while the first one's transaction
     * waits for it; one commit holds both. */
    struct grp_req b[2] = { { .key = "bulk-b1" }, { .key = "bulk-b2" } };
    struct st_wait bw[2] = { { 0 } };
    int64_t commits = st->writer.commits;
    bulk_submit(st, &b[0], true, &bw[0]);
    uv_sleep(50);
    uv_run(loop, UV_RUN_NOWAIT);
    tap_is_int(bw[0].calls, 0,
               "a bulk request that says more follow is not complete before its commit");
    bulk_submit(st, &b[1], false, &bw[1]);
    st_run_until(loop, &bw[1].calls, 1);
    st_run_until(loop, &bw[0].calls, 1);
    tap_ok(bw[0].status == 0 && bw[1].status == 0, "both held requests committed");
    tap_is_int(grp_rows(st, "bulk-b%"), 2, "with their rows");
    tap_is_int((int)(st->writer.commits - commits), 1, "in one commit");

    /* A plain request committed ahead of a held bulk transaction is
     * complete at once, not when the bulk transaction ends. The gate's
     * semaphores are back at zero. */
    struct grp_req gate2 = { .gate = &gate_sem, .entered = &entered_sem };
    struct grp_req p2 = { .key = "bulk-p2" }, d[2] = { { .key = "bulk-d1" }, { .key = "bulk-d2" } };
    struct st_wait g2w = { 0 }, p2w = { 0 }, dw[2] = { { 0 } };
    grp_submit(st, &gate2, false, &g2w);
    uv_sem_wait(&entered_sem);
    grp_submit(st, &p2, false, &p2w);
    bulk_submit(st, &d[0], true, &dw[0]);
    uv_sem_post(&gate_sem);
    st_run_until(loop, &p2w.calls, 1);
    tap_ok(p2w.status == 0 && dw[0].calls == 0,
           "a plain request ahead of a held bulk transaction completes before it");
    bulk_submit(st, &d[1], false, &dw[1]);
    st_run_until(loop, &dw[1].calls, 1);
    st_run_until(loop, &dw[0].calls, 1);
    tap_ok(dw[0].status == 0 && dw[1].status == 0 && grp_rows(st, "bulk-d%") == 2,
           "and the bulk requests commit after");

    /* Held open and nothing comes: it commits after the wait. */
    struct grp_req c = { .key = "bulk-c1" };
    struct st_wait cw = { 0 };
    bulk_submit(st, &c, true, &cw);
    st_run_until(loop, &cw.calls, 1);
    tap_ok(cw.status == 0 && grp_rows(st, "bulk-c1") == 1,
           "a held request with no successor commits after the wait");
    uv_sem_destroy(&gate_sem);
    uv_sem_destroy(&entered_sem);
}

/* The WAL index's header in the -shm file (SQLite's file format, "WAL-index
 * format"): mxFrame, the last valid frame, at byte 16, and nBackfill, the
 * frames copied into the database, at byte 96; native byte order. */
static bool wal_backfill(const char *path, uint32_t *max_frame, uint32_t *backfilled)
{
    char shm[600];
    unsigned char hdr[100];
    snprintf(shm, sizeof(shm), "%s-shm", path);
    FILE *f = fopen(shm, "rb");
    bool ok = f != NULL && fread(hdr, 1, sizeof(hdr), f) == sizeof(hdr);
    if (f != NULL)
        fclose(f);
    if (ok) {
        memcpy(max_frame, hdr + 16, 4);
        memcpy(backfilled, hdr + 96, 4);
    }
    return ok;
}

/* The frames in STORE_WAL_KEEP_BYTES, the least WAL the writer lets grow
 * before it asks for a checkpoint, at the store's page size. */
static uint32_t wal_min_frames(const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    int page = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        page = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return page > 0 ? (uint32_t)(STORE_WAL_KEEP_BYTES / page) : 0;
}

/* Once writes pause, the checkpointer thread copies the WAL into the
 * database file, while the writer itself never waits for it. */
static void test_checkpointer(uv_loop_t *loop, struct store *st)
{
    struct st_wait w = { 0 };
    char key[32];
    int64_t runs = store_checkpointer_runs(&st->ck);
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        store_kv_set(st, "ckpt", key, "value", 5, st_on_done, &w);
    }
    while (w.calls < 50)
        uv_run(loop, UV_RUN_ONCE);
    uint32_t max_frame = 0, backfilled = 0;
    for (int i = 0; i < 100 && store_checkpointer_runs(&st->ck) == runs; i++)
        uv_sleep(20);
    tap_ok(store_checkpointer_runs(&st->ck) > runs, "a checkpoint ran once writes paused");
    bool read = wal_backfill(st->path, &max_frame, &backfilled);
    tap_ok(read && max_frame > 0 && backfilled == max_frame,
           "every WAL frame is in the database file (%u of %u)", backfilled, max_frame);

    /* Under writes that never pause (one commit after another, 2,500 of
     * them: each writes at least one frame), checkpoints still run every
     * 1,000 commits and the WAL starts over, so it holds far fewer frames
     * than were written. */
    runs = store_checkpointer_runs(&st->ck);
    int commits = 0;
    for (int i = 0; i < 2500; i++) {
        struct st_wait one = { 0 };
        snprintf(key, sizeof(key), "load%d", i);
        commits += ST_WAIT(loop, &one, store_kv_set(st, "ckpt", key, "v", 1, st_on_done,
                                                    &one)) == 0;
    }
    read = wal_backfill(st->path, &max_frame, &backfilled);
    tap_ok(commits == 2500 && store_checkpointer_runs(&st->ck) > runs,
           "2,500 commits without a pause; the checkpointer ran under the load");
    tap_ok(read && max_frame < 1500, "the WAL started over: %u frames in it after %d commits",
           max_frame, commits);

    /* Few commits that each write many pages (an import's) start the WAL
     * over by its size: 60 commits of a 1.5 MB value write about 90 MB of
     * frames, far from 1,000 commits but past STORE_WAL_KEEP_BYTES (64 MiB:
     * 4,096 frames of the store's 16 KiB pages). */
    uint32_t min_frames = wal_min_frames(st->path);
    tap_ok(min_frames == 4096, "a new store has 16 KiB pages: %u frames make 64 MiB",
           min_frames);
    size_t big_len = 1536 * 1024;
    char *big = malloc(big_len);
    commits = 0;
    for (int i = 0; i < 60; i++) {
        struct st_wait one = { 0 };
        memset(big, 'a' + i % 26, big_len);   /* SQLite writes only the pages that differ */
        commits += ST_WAIT(loop, &one, store_kv_set(st, "ckpt", "big", big, big_len, st_on_done,
                                                    &one)) == 0;
    }
    read = wal_backfill(st->path, &max_frame, &backfilled);
    tap_ok(commits == 60 && read && max_frame < min_frames,
           "60 large commits: the WAL started over by its size (%u frames in it)", max_frame);

    /* On a database larger than that, the WAL may grow as large as the
     * database before its size asks for a checkpoint: 48 values of 1.5 MB
     * make a database of 72 MB; after a pause (the idle checkpoint), 45
     * rewrites of them (67.5 MB of frames) stay in the WAL, and 15 more take
     * it past the database's size, so it starts over. */
    for (int i = 0; i < 48; i++) {
        struct st_wait one = { 0 };
        snprintf(key, sizeof(key), "big%d", i);
        memset(big, 'a' + i % 26, big_len);
        ST_WAIT(loop, &one, store_kv_set(st, "ckpt", key, big, big_len, st_on_done, &one));
    }
    runs = store_checkpointer_runs(&st->ck);
    for (int i = 0; i < 200 && store_checkpointer_runs(&st->ck) == runs; i++)
        uv_sleep(20);
    commits = 0;
    int64_t asked = store_checkpointer_requests(&st->ck);
    for (int i = 0; i < 60; i++) {
        struct st_wait one = { 0 };
        snprintf(key, sizeof(key), "big%d", i % 48);
        memset(big, 'A' + i % 26, big_len);
        commits += ST_WAIT(loop, &one, store_kv_set(st, "ckpt", key, big, big_len, st_on_done,
                                                    &one)) == 0;
        if (i == 44) {
            read = wal_backfill(st->path, &max_frame, &backfilled);
            tap_ok(read && max_frame >= min_frames &&
                   store_checkpointer_requests(&st->ck) == asked,
                   "on a larger database, 45 large commits stay in the WAL (%u frames) and "
                   "ask for no checkpoint", max_frame);
        }
    }
    read = wal_backfill(st->path, &max_frame, &backfilled);
    tap_ok(commits == 60 && read && max_frame < min_frames,
           "past the database's size, the WAL started over (%u frames in it)", max_frame);
    free(big);

    /* That burst grew the WAL file past 64 MiB, which SQLite would keep
     * for good; once writes pause, the checkpoint truncates it. */
    char wal[640];
    struct stat sb;
    snprintf(wal, sizeof(wal), "%s-wal", st->path);
    off_t grown = stat(wal, &sb) == 0 ? sb.st_size : -1;
    int64_t trims = store_checkpointer_trims(&st->ck);
    for (int i = 0; i < 250 && store_checkpointer_trims(&st->ck) == trims; i++)
        uv_sleep(20);
    off_t now_size = stat(wal, &sb) == 0 ? sb.st_size : -1;
    tap_ok(grown > STORE_WAL_KEEP_BYTES && store_checkpointer_trims(&st->ck) == trims + 1 &&
           now_size == 0, "after the pause the WAL file of %lld bytes was truncated (now %lld)",
           (long long)grown, (long long)now_size);

    /* The store goes on over the truncated file; a WAL under the limit is
     * kept at its size after the next pause (overwriting it is cheaper than
     * growing it again). */
    struct st_wait one = { 0 };
    char *val = NULL;
    size_t val_len = 0;
    int rc = ST_WAIT(loop, &one, store_kv_set(st, "ckpt", "after", "trim", 4, st_on_done, &one));
    runs = store_checkpointer_runs(&st->ck);
    for (int i = 0; i < 250 && store_checkpointer_runs(&st->ck) == runs; i++)
        uv_sleep(20);
    now_size = stat(wal, &sb) == 0 ? sb.st_size : -1;
    tap_ok(rc == 0 && store_kv_get(st, "ckpt", "after", &val, &val_len) == 0 && val_len == 4 &&
           memcmp(val, "trim", 4) == 0 && now_size > 0 &&
           store_checkpointer_trims(&st->ck) == trims + 1,
           "a write after the truncation reads back; its small WAL (%lld bytes) is kept",
           (long long)now_size);
    free(val);
}

int main(void)
{
    uv_loop_t loop;
    struct store *st = NULL;
    struct errbuf err = { 0 };
    char path[600];
    const char *dir;

    tap_plan(129);
    uv_loop_init(&loop);
    dir = tap_tmpdir();
    char base[512];
    snprintf(base, sizeof(base), "%s", dir);
    test_open(&loop, base);

    snprintf(path, sizeof(path), "%s/main.db", base);
    tap_is_int(store_open(&loop, path, &st, &err), 0, "open the working store");
    test_leads(&loop, st);
    test_stages(&loop, st);
    test_small_tables(&loop, st);
    test_group_commit(&loop, st);
    test_rerunnable_group(&loop, st);
    test_bulk_transaction(&loop, st);
    test_checkpointer(&loop, st);

    /* A write whose completion has not run yet completes inside close. */
    struct st_wait w = { 0 };
    store_kv_set(st, "x", "y", "z", 1, st_on_done, &w);
    store_close(st);
    tap_is_int(w.calls, 1, "store_close delivers pending completions");
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
