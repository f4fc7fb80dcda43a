/* SPDX-License-Identifier: MIT */
/* tests/unit/t_enroll_store.c: store_enroll (store_cadences.c) on a real
 * SQLite file, for what a large campaign leans on: a cadence with more
 * mailboxes than a store request keeps private copies of (30 here; 24 once
 * failed the whole request with ENOMEM); the rotation, least loaded first
 * and ties in rotation order, carried on across requests from what the
 * store holds; the cadence's max_active and the company cap, counted with
 * the leads enrolled earlier in the same request; already_enrolled; one
 * "enrolled" event per enrollment; runs of consecutive leads per mailbox in
 * a large request, and shorter runs under a throttle.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "clock.h"
#include "store.h"
#include "store_test_util.h"
#include "tap.h"

#define NMB 30
#define NOW 1772469000000LL

static const struct store_actor pia = { STORE_ACTOR_PERSON, "Pia" };
static char path[512];
static struct store *st;

struct got {
    int calls, status;
    json_t *results;
};

static void on_enrolled(int status, const json_t *results, void *arg)
{
    struct got *g = arg;
    g->calls++;
    g->status = status;
    g->results = results != NULL ? json_deep_copy(results) : NULL;
}

static const char *cadence_name = "big";

static int enroll(uv_loop_t *loop, int64_t version, const int64_t *ids, size_t n,
                  const char *const *mbs, const struct store_enroll_rules *rules, struct got *g)
{
    json_decref(g->results);
    memset(g, 0, sizeof(*g));
    int rc = store_enroll(st, version, cadence_name, ids, n, mbs, rules, &pia, on_enrolled, g);
    if (rc < 0)
        return rc;
    st_run_until(loop, &g->calls, 1);
    return g->status;
}

static const char *field(const struct got *g, size_t i, const char *key)
{
    return json_string_value(json_object_get(json_array_get(g->results, i), key));
}

static long long q_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *s;
    long long v = -1;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int64(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return v;
}

int main(void)
{
    uv_loop_t loop;
    struct errbuf err = { 0 };
    struct st_wait w;
    struct got g = { 0 };
    char names[NMB][8];
    const char *mbs[NMB + 1] = { NULL };
    int64_t ids[80];

    tap_plan(26);
    clock_use_test(NOW);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/enroll.db", tap_tmpdir());
    tap_is_int(store_open(&loop, path, &st, &err), 0, "store opened");
    tap_is_int(ST_WAIT(&loop, &w, store_cadence_version(st, "big", "{\"name\":\"big\"}",
                                                        st_on_done, &w)), 0,
               "a cadence version is recorded");
    int64_t version = w.id;
    for (int i = 0; i < NMB; i++) {
        snprintf(names[i], sizeof(names[i]), "mb%02d", i + 1);
        mbs[i] = names[i];
    }
    /* 80 leads: 0..2 at one company, the others each at their own. */
    int made = 0;
    for (int i = 0; i < 80; i++) {
        char email[96], domain[64];
        snprintf(domain, sizeof(domain), i < 3 ? "acme.example" : "c%d.example", i);
        snprintf(email, sizeof(email), "lead%d@%s", i, domain);
        struct store_lead_in in = { .email = email, .domain = domain, .first_name = "Lee" };
        made += ST_WAIT(&loop, &w, store_lead_upsert(st, &in, &pia, st_on_done, &w)) == 0;
        ids[i] = w.id;
    }
    tap_is_int(made, 80, "80 leads created");

    struct store_enroll_rules rules = { .max_active = 70, .max_active_per_domain = 2 };
    tap_is_int(enroll(&loop, version, ids, 40, mbs, &rules, &g), 0,
               "40 leads into a cadence with 30 mailboxes: the request succeeds");
    tap_is_str(field(&g, 0, "mailbox"), "mb01", "the first lead gets the first mailbox");
    tap_is_str(field(&g, 1, "mailbox"), "mb02", "the second lead the second (ties: rotation order)");
    tap_is_str(field(&g, 2, "refused"), "company_cap",
               "the third lead of one company is refused (company_cap counts this request)");
    tap_is_str(field(&g, 3, "mailbox"), "mb03", "the next lead gets the next mailbox");
    tap_is_str(field(&g, 30, "mailbox"), "mb30", "the 30th enrolled lead gets the 30th mailbox");
    tap_is_str(field(&g, 31, "mailbox"), "mb01", "then the rotation starts again at the first");
    tap_is_int(q_int("SELECT count(*) FROM enrollments WHERE state = 'active'"), 39,
               "39 enrollments are active");

    /* A second request starts from the loads in the store: mb10..mb30 have 1, mb01..mb09 2. */
    tap_is_int(enroll(&loop, version, ids + 39, 41, mbs, &rules, &g), 0,
               "a second request of 41 leads");
    tap_is_str(field(&g, 0, "refused"), "already_enrolled", "a lead already in it is refused");
    tap_is_str(field(&g, 1, "mailbox"), "mb10",
               "the rotation goes on from the least loaded mailbox in the store");
    size_t max_refused = 0;
    for (size_t i = 0; i < json_array_size(g.results); i++)
        max_refused += field(&g, i, "refused") != NULL &&
                       strcmp(field(&g, i, "refused"), "cadence_max_active") == 0;
    tap_is_int((int)max_refused, 9, "max_active 70 holds: the last 9 are refused "
               "(cadence_max_active counts this request)");
    tap_is_int(q_int("SELECT count(*) FROM enrollments WHERE state = 'active'"), 70,
               "70 enrollments are active");
    tap_is_int(q_int("SELECT count(*) FROM events WHERE type = 'enrolled'"), 70,
               "one enrolled event per enrollment");

    /* A large request gives each mailbox a run of consecutive leads (the
     * store keeps one mailbox's work together), with the same balance. */
    int64_t more[40];
    for (int i = 0; i < 40; i++) {
        char email[96];
        snprintf(email, sizeof(email), "run%d@r%d.example", i, i);
        struct store_lead_in in = { .email = email, .first_name = "Rui" };
        ST_WAIT(&loop, &w, store_lead_upsert(st, &in, &pia, st_on_done, &w));
        more[i] = w.id;
    }
    tap_is_int(ST_WAIT(&loop, &w, store_cadence_version(st, "runs", "{\"name\":\"runs\"}",
                                                        st_on_done, &w)), 0,
               "a second cadence");
    const char *four[] = { "ra", "rb", "rc", "rd", NULL };
    struct store_enroll_rules open_rules = { 0 };
    cadence_name = "runs";
    tap_is_int(enroll(&loop, w.id, more, 24, four, &open_rules, &g), 0, "24 leads, 4 mailboxes");
    bool runs = true;
    for (int i = 0; i < 24; i++)
        runs = runs && field(&g, (size_t)i, "mailbox") != NULL &&
               strcmp(field(&g, (size_t)i, "mailbox"), four[i / 6]) == 0;
    tap_ok(runs, "leads 1-6 go to ra, 7-12 to rb, 13-18 to rc, 19-24 to rd");
    tap_is_int(q_int("SELECT max(n) - min(n) FROM (SELECT count(*) AS n FROM enrollments"
                     " WHERE cadence = 'runs' GROUP BY mailbox)"), 0, "6 each: as even as before");

    /* Throttled to 8 starts a day: runs of 2, so each day's starts still
     * spread over all four mailboxes. */
    tap_is_int(ST_WAIT(&loop, &w, store_cadence_version(st, "slow", "{\"name\":\"slow\"}",
                                                        st_on_done, &w)), 0,
               "a throttled cadence");
    struct store_enroll_rules slow_rules = { .new_per_day = 8 };
    cadence_name = "slow";
    tap_is_int(enroll(&loop, w.id, more + 24, 16, four, &slow_rules, &g), 0,
               "16 leads at 8 a day");
    runs = true;
    for (int i = 0; i < 16; i++)
        runs = runs && field(&g, (size_t)i, "mailbox") != NULL &&
               strcmp(field(&g, (size_t)i, "mailbox"), four[(i / 2) % 4]) == 0;
    tap_ok(runs, "runs of two: ra ra rb rb rc rc rd rd, then again");
    tap_is_int(q_int("SELECT count(DISTINCT mailbox) FROM enrollments WHERE cadence = 'slow'"
                     " AND due_at = (SELECT min(due_at) FROM enrollments WHERE cadence = 'slow')"),
               4, "the first day's starts use all four mailboxes");

    json_decref(g.results);
    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_DEFAULT);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    return tap_done();
}
