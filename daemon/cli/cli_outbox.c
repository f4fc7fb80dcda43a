/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_outbox.c: `drumbeat outbox [--days 7]`: how many touches
 * will go per day per mailbox under the current caps, and when the last
 * enrolled lead will finish. It answers "can my mailboxes carry this?"
 * honestly: instead of a model of the scheduler that could drift from it,
 * it runs the scheduler itself. A shadow run (shadow.h) starts on a copy of
 * the live store at the live daemon's "now" (GET /api/clock), advances its
 * test clock --days days, and we count, per UTC day and mailbox, the
 * touches it sent (into its own maildir: nothing leaves the machine).
 * The forecast assumes every send succeeds and nobody replies, logs a call
 * or approves a review meanwhile; spacing jitter is random.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "config.h"
#include "shadow.h"

#define DAY_MS 86400000LL
#define MAX_DAYS 120

static const char outbox_usage[] =
    "Usage: drumbeat outbox [--days N] [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
    "Forecasts, for the next N days (default 7, at most 120), how many touches each\n"
    "mailbox will send per UTC day under its caps (daily, hourly, spacing, warm-up,\n"
    "cadence throttles, windows and holidays), and when the last enrolled lead will\n"
    "finish its cadence. It runs the real scheduler on a copy of the live store, on a\n"
    "simulated clock starting at the daemon's \"now\", with every channel replaced by\n"
    "a maildir in a temporary folder: nothing is sent and the live store is not\n"
    "changed. It assumes every send succeeds, and no reply, call outcome or review\n"
    "comes in meanwhile. Needs the config file (-c, default config/drumbeat.json)\n"
    "and the running daemon (for its clock).\n"
    "Exit status: 0 ok, 1 failed, 2 invalid config, 64 usage.\n";

struct forecast {
    const struct config *cfg;
    int64_t from, to;
    int days;               /* UTC dates in [from, to) */
    long long *sent;        /* [mailbox * days + day] */
    long long unknown;      /* sends from mailboxes no longer configured */
    long long still_active;
    int64_t last_finish;    /* 0 when none ended */
};

static int64_t day_start(int64_t ms)
{
    return ms - ((ms % DAY_MS) + DAY_MS) % DAY_MS;
}

static int count(struct shadow *sh, struct forecast *f)
{
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (shadow_store_open(sh, &db) < 0)
        return -1;
    int rc = sqlite3_prepare_v2(db, "SELECT mailbox, sent_at FROM touches WHERE state = 'sent'"
                                " AND sent_at >= ?1 AND sent_at < ?2 AND mailbox IS NOT NULL",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, f->from);
        sqlite3_bind_int64(st, 2, f->to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *mb = (const char *)sqlite3_column_text(st, 0);
            int day = (int)((day_start(sqlite3_column_int64(st, 1)) - day_start(f->from)) / DAY_MS);
            size_t m = 0;
            while (m < f->cfg->n_mailboxes && strcmp(f->cfg->mailboxes[m].name, mb) != 0)
                m++;
            if (m == f->cfg->n_mailboxes || day < 0 || day >= f->days)
                f->unknown++;
            else
                f->sent[m * (size_t)f->days + (size_t)day]++;
        }
        rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT (SELECT count(*) FROM enrollments WHERE state IN"
                                " ('active', 'paused')), (SELECT max(ended_at) FROM enrollments"
                                " WHERE ended_at >= ?1)", -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, f->from);
        if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            f->still_active = sqlite3_column_int64(st, 0);
            f->last_finish = sqlite3_column_int64(st, 1);
            rc = SQLITE_OK;
        }
    }
    if (rc != SQLITE_OK)
        fprintf(stderr, "drumbeat: cannot read the shadow store: %s\n", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : -1;
}

static void date_of(int64_t ms, char *buf, size_t len)
{
    char iso[40];
    clock_format_iso(ms, iso, sizeof(iso));
    snprintf(buf, len, "%.10s", iso);
}

static void print_json(const struct forecast *f, int days_asked)
{
    char iso[40], date[16];
    json_t *mbs = json_array(), *counts = json_array();
    for (size_t m = 0; m < f->cfg->n_mailboxes; m++) {
        const struct config_mailbox *mb = &f->cfg->mailboxes[m];
        json_t *per = json_object();
        long long total = 0;
        for (int d = 0; d < f->days; d++) {
            long long n = f->sent[m * (size_t)f->days + (size_t)d];
            date_of(day_start(f->from) + d * DAY_MS, date, sizeof(date));
            json_object_set_new(per, date, json_integer(n));
            if (n > 0)
                json_array_append_new(counts, json_pack("{s:s, s:s, s:I}", "date", date,
                                                        "mailbox", mb->name, "sent",
                                                        (json_int_t)n));
            total += n;
        }
        json_array_append_new(mbs, json_pack("{s:s, s:I, s:I, s:o}", "name", mb->name,
                                             "daily_cap", (json_int_t)mb->daily_cap, "total",
                                             (json_int_t)total, "per_day", per));
    }
    json_t *out = json_pack("{s:s, s:s, s:i, s:o, s:o, s:I, s:b}", "from",
                            clock_format_iso(f->from, iso, sizeof(iso)), "to",
                            clock_format_iso(f->to, iso, sizeof(iso)), "days", days_asked,
                            "mailboxes", mbs, "counts", counts, "still_active",
                            (json_int_t)f->still_active, "beyond_forecast", f->still_active > 0);
    json_object_set_new(out, "last_finish", f->still_active == 0 && f->last_finish > 0
                        ? json_string(clock_format_iso(f->last_finish, iso, sizeof(iso)))
                        : json_null());
    json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
    printf("\n");
    json_decref(out);
}

static void print_table(const struct forecast *f, int days_asked)
{
    char iso[40], date[16];
    printf("Forecast from %s for %d day%s (touches sent per UTC day, per mailbox):\n\n",
           clock_format_iso(f->from, iso, sizeof(iso)), days_asked, days_asked == 1 ? "" : "s");
    printf("%-12s", "date");
    for (size_t m = 0; m < f->cfg->n_mailboxes; m++)
        printf(" %12.12s", f->cfg->mailboxes[m].name);
    printf("\n");
    for (int d = 0; d < f->days; d++) {
        date_of(day_start(f->from) + d * DAY_MS, date, sizeof(date));
        printf("%-12s", date);
        for (size_t m = 0; m < f->cfg->n_mailboxes; m++)
            printf(" %12lld", f->sent[m * (size_t)f->days + (size_t)d]);
        printf("\n");
    }
    printf("%-12s", "total");
    for (size_t m = 0; m < f->cfg->n_mailboxes; m++) {
        long long total = 0;
        for (int d = 0; d < f->days; d++)
            total += f->sent[m * (size_t)f->days + (size_t)d];
        printf(" %12lld", total);
    }
    printf("\n%-12s", "daily cap");
    for (size_t m = 0; m < f->cfg->n_mailboxes; m++)
        printf(" %12lld", (long long)f->cfg->mailboxes[m].daily_cap);
    printf("\n\n");
    if (f->still_active > 0)
        printf("Last enrolled lead finishes: beyond the forecast (%lld enrollment%s still "
               "running at %s)\n", f->still_active, f->still_active == 1 ? "" : "s",
               clock_format_iso(f->to, iso, sizeof(iso)));
    else if (f->last_finish > 0)
        printf("Last enrolled lead finishes: %s\n",
               clock_format_iso(f->last_finish, iso, sizeof(iso)));
    else
        printf("No lead is enrolled.\n");
}

int cli_outbox(int argc, char **argv)
{
    struct cli_common common = { 0 };
    struct forecast f = { 0 };
    struct shadow *sh = NULL;
    json_t *reply = NULL;
    long days = 7;
    int rc = CLI_FAIL;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        char *end;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(outbox_usage, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--days") == 0 && i + 1 < argc) {
            days = strtol(argv[++i], &end, 10);
            if (*end != '\0' || days < 1 || days > MAX_DAYS) {
                fprintf(stderr, "drumbeat: error: --days: expected 1..%d\n", MAX_DAYS);
                return CLI_USAGE;
            }
        } else {
            fprintf(stderr, "drumbeat: error: unexpected argument %s\n", argv[i]);
            fputs(outbox_usage, stderr);
            return CLI_USAGE;
        }
    }
    int status = cli_api_request(&common, "GET", "/api/clock", NULL, &reply);
    if (status != 200)
        return cli_api_failed(status, reply);
    f.from = json_integer_value(json_object_get(reply, "now_ms"));
    json_decref(reply);
    f.to = f.from + days * DAY_MS;
    f.days = (int)((day_start(f.to - 1) - day_start(f.from)) / DAY_MS) + 1;

    struct shadow_options o = { .config_path = common.config_path, .copy_store = true,
                                .start_ms = f.from };
    if (shadow_start(&o, &sh) < 0)
        return CLI_INVALID;
    f.cfg = shadow_user_config(sh);
    f.sent = calloc((f.cfg->n_mailboxes + 1) * (size_t)f.days, sizeof(*f.sent));
    if (f.sent == NULL)
        goto out;
    /* A day at a time: each request stays short, and the clock stops at
     * every due instant in between either way. */
    for (long d = 0; d < days; d++)
        if (shadow_advance(sh, "1d") < 0)
            goto out;
    if (count(sh, &f) < 0)
        goto out;
    if (common.json)
        print_json(&f, (int)days);
    else
        print_table(&f, (int)days);
    rc = CLI_OK;
out:
    shadow_free(sh);
    free(f.sent);
    return rc;
}
