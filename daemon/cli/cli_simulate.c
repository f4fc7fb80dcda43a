/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_simulate.c: `drumbeat simulate --cadence NAME --leads
 * FILE.csv`: when each step of a cadence would fire for each lead of a file,
 * with every deferral on the way and why, without sending anything. It runs
 * the real scheduler rather than a model of it: a shadow run (shadow.h) on an
 * empty store with the user's config (cadences, mailboxes, caps, windows,
 * holidays, templates) imports the file, enrolls its leads and moves its
 * test clock a day at a time until every enrollment ended (or --days); then
 * the shadow store is read: touches and call tasks per step, their final
 * states and the touch_deferred events. Nobody answers calls or approves
 * reviews in a simulation: call tasks run into call_overdue, review steps
 * wait. The temporary folder (store, maildir) is deleted at the end.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "clock.h"
#include "shadow.h"

#define DAY_MS 86400000LL

static const char simulate_usage[] =
    "Usage: drumbeat simulate --cadence NAME --leads FILE.csv [--start ISO] [--days N]\n"
    "                         [-c FILE] [--json]\n\n"
    "Prints, for each lead of FILE (CSV or JSON lines, as drumbeat import reads them),\n"
    "when each step of cadence NAME would fire (UTC and the lead's local time), what\n"
    "it is, the state it ends in, and every deferral on the way with its reason\n"
    "(window_closed, holiday, mailbox_daily_cap, ...). Refused leads and launch-check\n"
    "problems are printed with their reasons. The real scheduler runs on a private\n"
    "daemon with a simulated clock starting at --start (UTC, default now), on an empty\n"
    "store with the config -c (default config/drumbeat.json), until every enrollment\n"
    "ended or N days passed (default 120). Nothing is sent: every channel is replaced\n"
    "by a maildir in a temporary folder, deleted after; no daemon needs to run.\n"
    "Nobody logs call outcomes or approves reviews in a simulation.\n"
    "Exit status: 0 ok, 1 failed, 2 invalid input or launch check failed, 64 usage.\n";

/* "Mon 2026-01-05 09:00 CET" in zone tz (an IANA name), or "" when unknown. */
static void local_time(int64_t ms, const char *tz, char *buf, size_t len)
{
    buf[0] = '\0';
    GTimeZone *zone = tz != NULL && tz[0] != '\0' ? g_time_zone_new_identifier(tz) : NULL;
    if (zone == NULL)
        return;
    GDateTime *utc = g_date_time_new_from_unix_utc(ms / 1000);
    GDateTime *local = utc != NULL ? g_date_time_to_timezone(utc, zone) : NULL;
    gchar *s = local != NULL ? g_date_time_format(local, "%a %Y-%m-%d %H:%M %Z") : NULL;
    if (s != NULL)
        snprintf(buf, len, "%s", s);
    g_free(s);
    if (local != NULL)
        g_date_time_unref(local);
    if (utc != NULL)
        g_date_time_unref(utc);
    g_time_zone_unref(zone);
}

static json_t *when(int64_t ms, const char *tz)
{
    char iso[40], local[80];
    if (ms <= 0)
        return json_null();
    local_time(ms, tz, local, sizeof(local));
    return json_pack("{s:s, s:s}", "utc", clock_format_iso(ms, iso, sizeof(iso)), "local", local);
}

static const char *col(sqlite3_stmt *st, int i)
{
    const char *s = (const char *)sqlite3_column_text(st, i);
    return s != NULL ? s : "";
}

static json_t *deferrals(sqlite3 *db, int64_t touch, const char *tz)
{
    json_t *list = json_array();
    sqlite3_stmt *st;
    /* A deferral made with the touch carries no "until": it lasted until
     * the next thing that happened to the touch. Through the touch's lead:
     * events are indexed by lead (events_lead), not by touch or type. */
    if (sqlite3_prepare_v2(db, "SELECT at, json_extract(data, '$.reason'),"
                           " coalesce(json_extract(data, '$.until'), (SELECT min(n.at) FROM"
                           " events n WHERE n.lead_id = e.lead_id AND n.id > e.id"
                           " AND n.touch_id = e.touch_id))"
                           " FROM events e WHERE e.lead_id = (SELECT lead_id FROM touches"
                           " WHERE id = ?1) AND touch_id = ?1 AND type = 'touch_deferred'"
                           " ORDER BY id", -1, &st, NULL) != SQLITE_OK)
        return list;
    sqlite3_bind_int64(st, 1, touch);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(list, json_pack("{s:s, s:o, s:o}", "reason", col(st, 1), "at",
                                              when(sqlite3_column_int64(st, 0), tz), "until",
                                              when(sqlite3_column_int64(st, 2), tz)));
    sqlite3_finalize(st);
    return list;
}

/* The steps of enrollment enr: touches and (call/manual) tasks, in order. */
static json_t *steps(sqlite3 *db, int64_t enr, const char *tz)
{
    static const char sql[] =
        "SELECT 0, t.id, t.step, t.kind, t.state, t.reason, coalesce(t.sent_at,"
        "  CASE WHEN t.state IN ('scheduled', 'deferred') THEN t.due_at ELSE t.updated_at END),"
        "  json_extract(c.definition, '$.steps[' || t.step || '].name')"
        " FROM touches t JOIN enrollments e ON e.id = t.enrollment_id"
        " JOIN cadences c ON c.id = e.cadence_id WHERE t.enrollment_id = ?1"
        " UNION ALL "
        "SELECT 1, k.id, k.step, k.kind, k.state, k.outcome, k.due_at, k.title"
        " FROM tasks k WHERE k.enrollment_id = ?1 ORDER BY 3, 1, 2";
    json_t *list = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "drumbeat: cannot read the shadow store: %s\n", sqlite3_errmsg(db));
        return list;
    }
    sqlite3_bind_int64(st, 1, enr);
    while (sqlite3_step(st) == SQLITE_ROW) {
        bool task = sqlite3_column_int(st, 0) == 1;
        int64_t id = sqlite3_column_int64(st, 1);
        json_t *step = json_pack("{s:i, s:s, s:s, s:s, s:o}", "step", sqlite3_column_int(st, 2),
                                 "name", col(st, 7), "kind", col(st, 3), "state", col(st, 4),
                                 "at", when(sqlite3_column_int64(st, 6), tz));
        json_object_set_new(step, task ? "outcome" : "reason", sqlite3_column_type(st, 5)
                            == SQLITE_NULL ? json_null() : json_string(col(st, 5)));
        json_object_set_new(step, "deferrals", task ? json_array() : deferrals(db, id, tz));
        json_array_append_new(list, step);
    }
    sqlite3_finalize(st);
    return list;
}

/* Every lead of the shadow store with its enrollment and steps. */
static json_t *report(sqlite3 *db)
{
    static const char sql[] =
        "SELECT l.id, coalesce(l.email, ''), coalesce(nullif(l.timezone, ''),"
        "  json_extract(c.definition, '$.timezone'), 'UTC'), e.id, e.state, e.reason,"
        "  e.ended_at, e.mailbox FROM leads l LEFT JOIN enrollments e ON e.lead_id = l.id"
        " LEFT JOIN cadences c ON c.id = e.cadence_id ORDER BY l.id, e.id";
    json_t *leads = json_array();
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "drumbeat: cannot read the shadow store: %s\n", sqlite3_errmsg(db));
        return leads;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *tz = col(st, 2);
        json_t *lead = json_pack("{s:I, s:s, s:s}", "lead_id",
                                 (json_int_t)sqlite3_column_int64(st, 0), "email", col(st, 1),
                                 "timezone", tz);
        if (sqlite3_column_type(st, 3) != SQLITE_NULL) {
            json_object_set_new(lead, "enrollment", json_pack(
                "{s:I, s:s, s:s, s:s, s:o}", "id", (json_int_t)sqlite3_column_int64(st, 3),
                "state", col(st, 4), "reason", col(st, 5), "mailbox", col(st, 7), "ended",
                when(sqlite3_column_int64(st, 6), tz)));
            json_object_set_new(lead, "steps", steps(db, sqlite3_column_int64(st, 3), tz));
        }
        json_array_append_new(leads, lead);
    }
    sqlite3_finalize(st);
    return leads;
}

static long long active_enrollments(struct shadow *sh)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long n = -1;
    if (shadow_store_open(sh, &db) < 0)
        return -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM enrollments WHERE state IN ('active',"
                           " 'paused')", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
}

/* Enrolls every lead of the (fresh) store; refusals go into refused. */
static int enroll_all(struct shadow *sh, const char *cadence, json_t *refused, bool quiet)
{
    json_t *ids = json_array(), *reply = NULL;
    sqlite3 *db;
    sqlite3_stmt *st;
    if (shadow_store_open(sh, &db) < 0)
        return CLI_FAIL;
    if (sqlite3_prepare_v2(db, "SELECT id FROM leads ORDER BY id", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW)
            json_array_append_new(ids, json_integer(sqlite3_column_int64(st, 0)));
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    int rc = CLI_OK;
    for (size_t at = 0; at < json_array_size(ids) && rc == CLI_OK; at += 500) {
        json_t *chunk = json_array();
        for (size_t i = at; i < at + 500 && i < json_array_size(ids); i++)
            json_array_append(chunk, json_array_get(ids, i));
        json_t *body = json_pack("{s:s, s:o}", "cadence", cadence, "leads", chunk);
        int status = 503;
        /* 503 while the daemon still records the cadence's version. */
        for (int tries = 0; status == 503 && tries < 50; tries++) {
            json_decref(reply);
            reply = NULL;
            if (tries > 0)
                g_usleep(100000);
            status = cli_api_request(shadow_api(sh), "POST", "/api/enrollments", body, &reply);
        }
        json_decref(body);
        if (status == 409 && json_is_array(json_object_get(reply, "problems"))) {
            cli_print_api_error(status, reply);
            if (!quiet)
                cli_print_problems(json_object_get(reply, "problems"));
            else
                json_dumpf(json_object_get(reply, "problems"), stderr, JSON_INDENT(2));
            json_decref(reply);
            rc = CLI_INVALID;
        } else if (status != 200) {
            rc = cli_api_failed(status, reply);
        } else {
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(reply, "results"), i, r)
                if (json_object_get(r, "refused") != NULL)
                    json_array_append(refused, r);
            json_decref(reply);
        }
        reply = NULL;
    }
    json_decref(ids);
    return rc;
}

static void print_when(const json_t *w)
{
    if (!json_is_object(w)) {
        printf("%-24s", "-");
        return;
    }
    printf("%-24s  %s", json_string_value(json_object_get(w, "utc")),
           json_string_value(json_object_get(w, "local")));
}

static void print_report(const json_t *out)
{
    size_t i, j, k;
    json_t *lead, *step, *def;
    printf("Simulation of cadence \"%s\" from %s to %s (nothing was sent)\n",
           json_string_value(json_object_get(out, "cadence")),
           json_string_value(json_object_get(out, "start")),
           json_string_value(json_object_get(out, "end")));
    const json_t *imp = json_object_get(out, "import");
    printf("leads read %lld, imported %lld, invalid %lld\n",
           (long long)json_integer_value(json_object_get(imp, "read")),
           (long long)json_integer_value(json_object_get(imp, "imported")),
           (long long)json_integer_value(json_object_get(imp, "invalid")));
    json_array_foreach(json_object_get(imp, "invalid_rows"), i, lead)
        printf("invalid: line %lld: %s\n",
               (long long)json_integer_value(json_object_get(lead, "line")),
               json_string_value(json_object_get(lead, "reason")));
    json_array_foreach(json_object_get(out, "refused"), i, lead)
        printf("refused: lead %lld %s (%s)\n",
               (long long)json_integer_value(json_object_get(lead, "lead_id")),
               json_string_value(json_object_get(lead, "email")) ?: "",
               json_string_value(json_object_get(lead, "refused")));
    json_array_foreach(json_object_get(out, "leads"), i, lead) {
        const json_t *e = json_object_get(lead, "enrollment");
        printf("\n%s (%s)", json_string_value(json_object_get(lead, "email")),
               json_string_value(json_object_get(lead, "timezone")));
        if (e == NULL) {
            printf(": not enrolled\n");
            continue;
        }
        printf(": %s", json_string_value(json_object_get(e, "state")));
        const char *reason = json_string_value(json_object_get(e, "reason"));
        if (reason != NULL && reason[0] != '\0')
            printf(" (%s)", reason);
        if (json_is_object(json_object_get(e, "ended")))
            printf(" at %s", json_string_value(json_object_get(json_object_get(e, "ended"),
                                                               "utc")));
        printf(", mailbox %s\n", json_string_value(json_object_get(e, "mailbox")));
        json_array_foreach(json_object_get(lead, "steps"), j, step) {
            const char *why = json_string_value(json_object_get(step, "reason"));
            if (why == NULL)
                why = json_string_value(json_object_get(step, "outcome"));
            char state[64];
            snprintf(state, sizeof(state), "%s%s%s%s",
                     json_string_value(json_object_get(step, "state")), why ? "(" : "",
                     why ? why : "", why ? ")" : "");
            printf("  step %lld %-12s %-8s %-28s ",
                   (long long)json_integer_value(json_object_get(step, "step")),
                   json_string_value(json_object_get(step, "name")),
                   json_string_value(json_object_get(step, "kind")), state);
            print_when(json_object_get(step, "at"));
            printf("\n");
            json_array_foreach(json_object_get(step, "deferrals"), k, def) {
                printf("      deferred(%s) at %s until ",
                       json_string_value(json_object_get(def, "reason")),
                       json_string_value(json_object_get(json_object_get(def, "at"), "utc")));
                print_when(json_object_get(def, "until"));
                printf("\n");
            }
        }
    }
    long long left = json_integer_value(json_object_get(out, "still_active"));
    if (left > 0)
    {
        long long days = json_integer_value(json_object_get(out, "days"));
        printf("\nStopped after %lld day%s with %lld enrollment%s still running.\n", days,
               days == 1 ? "" : "s", left, left == 1 ? "" : "s");
    }
}

int cli_simulate(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *cadence = NULL, *leads = NULL, *start = "now";
    long days = 120;
    struct shadow *sh = NULL;
    json_t *import = NULL, *refused = json_array(), *out = NULL;
    int rc = CLI_USAGE;
    char iso[40];

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        char *end;
        if (used < 0)
            goto out;
        if (used > 0)
            continue;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(simulate_usage, stdout);
            rc = CLI_OK;
            goto out;
        } else if (next != NULL && strcmp(argv[i], "--cadence") == 0) {
            cadence = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--leads") == 0) {
            leads = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--start") == 0) {
            start = argv[++i];
        } else if (next != NULL && strcmp(argv[i], "--days") == 0) {
            days = strtol(argv[++i], &end, 10);
            if (*end != '\0' || days < 1 || days > 366) {
                fprintf(stderr, "drumbeat: error: --days: expected 1..366\n");
                goto out;
            }
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(simulate_usage, stderr);
            goto out;
        }
    }
    if (cadence == NULL || leads == NULL) {
        fputs(simulate_usage, stderr);
        goto out;
    }
    struct shadow_options o = { .config_path = common.config_path };
    if (clock_parse_iso(start, &o.start_ms) < 0) {
        fprintf(stderr, "drumbeat: error: --start: expected a UTC time like "
                        "2026-03-02T08:00:00Z\n");
        goto out;
    }
    rc = CLI_INVALID;
    if (shadow_start(&o, &sh) < 0)
        goto out;
    char *imp[] = { "import", (char *)leads, "--source", "simulate", "--no-enrich" };
    rc = shadow_run_cli(sh, cli_import, 5, imp, &import);
    if (rc != CLI_OK)
        goto out;
    if ((rc = enroll_all(sh, cadence, refused, common.json)) != CLI_OK)
        goto out;
    rc = CLI_FAIL;
    long d = 0;
    long long left = active_enrollments(sh);
    for (; d < days && left > 0; d++) {
        if (shadow_advance(sh, "1d") < 0)
            goto out;
        left = active_enrollments(sh);
    }
    sqlite3 *db;
    if (left < 0 || shadow_store_open(sh, &db) < 0)
        goto out;
    /* Refusals name the lead by id; add its address. */
    size_t i;
    json_t *r;
    json_t *all = report(db);
    sqlite3_close(db);
    json_array_foreach(refused, i, r) {
        size_t j;
        json_t *l;
        json_array_foreach(all, j, l)
            if (json_integer_value(json_object_get(l, "lead_id")) ==
                json_integer_value(json_object_get(r, "lead_id")))
                json_object_set(r, "email", json_object_get(l, "email"));
    }
    out = json_pack("{s:s, s:s, s:i, s:I, s:O?, s:O, s:o}", "cadence", cadence, "start",
                    clock_format_iso(o.start_ms, iso, sizeof(iso)), "days", (int)d,
                    "still_active", (json_int_t)left, "import", import, "refused", refused,
                    "leads", all);
    json_object_set_new(out, "end", json_string(clock_format_iso(o.start_ms + d * DAY_MS, iso,
                                                                 sizeof(iso))));
    if (common.json) {
        json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("\n");
    } else {
        print_report(out);
    }
    rc = CLI_OK;
out:
    shadow_free(sh);
    json_decref(out);
    json_decref(import);
    json_decref(refused);
    return rc;
}
