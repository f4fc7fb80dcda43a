/* SPDX-License-Identifier: MIT */
/* tests/unit/t_import.c: lead imports against a real store in a temporary
 * folder, through the same struct import the API uses (threadpool parsing,
 * batched writer transactions): header mapping and --map, normalization
 * (email, phone to E.164, country, time zone inference including
 * "ambiguous(US)"), role and free-mail flags, dedupe and probable
 * duplicates, suppression, idempotent re-import, invalid rows with their
 * line numbers, --overwrite, dry runs, JSON lines, back-pressure with a
 * many-chunk file, and the config's "import" section. The loop closes
 * cleanly at the end.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "config.h"
#include "country.h"
#include "import.h"
#include "phone.h"
#include "store.h"
#include "store_test_util.h"
#include "tap.h"
#include "tz_infer.h"

static uv_loop_t loop;
static struct store *st;
static struct config *cfg;
static char db_path[1024];

struct run {
    int done, resumes, status;
    json_t *summary;
    struct errbuf err;
};

static void on_done(int status, const json_t *summary, const struct errbuf *err, void *arg)
{
    struct run *r = arg;
    r->done++;
    r->status = status;
    r->summary = summary != NULL ? json_incref((json_t *)summary) : NULL;
    r->err = *err;
}

static void on_resume(void *arg)
{
    ((struct run *)arg)->resumes++;
}

/* Imports text in pieces of step bytes, honouring back-pressure. */
static json_t *run_import(const char *text, size_t len, const struct import_opts *opts,
                          size_t step, struct run *r)
{
    struct import *imp = NULL;
    struct errbuf err = { 0 };
    struct store_actor actor = { STORE_ACTOR_PERSON, "tester" };

    memset(r, 0, sizeof(*r));
    if (import_new(&loop, st, cfg, opts, &actor, on_resume, on_done, r, &imp, &err) < 0) {
        tap_diag("import_new: %s", err.what);
        r->status = err.code;
        r->err = err;
        return NULL;
    }
    size_t off = 0;
    while (off < len && r->done == 0) {
        size_t n = len - off < step ? len - off : step;
        long took = import_feed(imp, text + off, n);
        if (took < 0)
            break;
        off += (size_t)took;
        if ((size_t)took < n) {
            int before = r->resumes;
            while (r->resumes == before && r->done == 0)
                uv_run(&loop, UV_RUN_ONCE);
        }
    }
    if (r->done == 0)
        import_finish(imp);
    while (r->done == 0)
        uv_run(&loop, UV_RUN_ONCE);
    return r->summary;
}

static long long num(const json_t *s, const char *k)
{
    return (long long)json_integer_value(json_object_get(s, k));
}

static bool counts(const json_t *s, long long read, long long imported, long long updated,
                   long long dups, long long supp, long long invalid)
{
    bool ok = s != NULL && num(s, "read") == read && num(s, "imported") == imported &&
              num(s, "updated") == updated && num(s, "duplicates") == dups &&
              num(s, "suppressed") == supp && num(s, "invalid") == invalid;
    if (!ok && s != NULL)
        tap_diag("got read %lld imported %lld updated %lld duplicates %lld suppressed %lld "
                 "invalid %lld", num(s, "read"), num(s, "imported"), num(s, "updated"),
                 num(s, "duplicates"), num(s, "suppressed"), num(s, "invalid"));
    return ok;
}

/* One column of the lead with that email, as text ("" when NULL). */
static const char *col(const char *email, const char *column)
{
    static char out[2048];
    char sql[256];
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    snprintf(sql, sizeof(sql), "SELECT %s FROM leads WHERE email = ?1", column);
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK) {
        sqlite3_bind_text(s, 1, email, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL)
            snprintf(out, sizeof(out), "%s", (const char *)sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
}

static long long count_sql(const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return v;
}

static const char first_csv[] =
    "\xef\xbb\xbf" "E-mail;First Name;Surname;Organisation;Job Title;Phone;Website;Country;State;"
    "Company Size\r\n"
    "Ada@Example.COM;Ada;Lovelace;Example Ltd;CTO;020 7946 0018;https://www.example.com/x;UK;;"
    "50-200\r\n"
    "bob@gmail.com;Bob;Smith;;Founder;(415) 555-0123;;USA;California;10\r\n"
    "info@acme.io;;;Acme;;;;United States;;\r\n"
    "\"carol@acme.io\";Carol;King;Acme;\"VP\r\nSales\";+1 512 555 0100;;US;TX;\r\n"
    "not-an-email;X;Y;;;;;;;\r\n"
    ";Nobody;Here;;;;;;;\r\n"
    "dan@acme.io;Dan;Brown;Acme;;0 512 555;;FR;;\r\n"
    "erin@acme.io;Erin;Hale;Acme;;212-555-0199;;US;;\r\n"
    "carol.k@acme.io;carol;king;Acme;;;;US;Texas;\r\n"
    ";;;;;;;;;\r\n"
    "erin@ACME.io;;;;;;;;;\r\n";

static void test_first_import(void)
{
    struct run r;
    struct import_opts opts = { .source = "fair-2026" };
    json_t *s = run_import(first_csv, sizeof(first_csv) - 1, &opts, 7, &r);

    tap_is_int(r.status, 0, "the import completes");
    /* 11 data rows; the all-empty one is skipped; two invalid (lines 6, 7);
     * erin twice: the second fills nothing new. */
    tap_ok(counts(s, 10, 7, 0, 1, 0, 2), "read 10, imported 7, duplicates 1, invalid 2");
    tap_is_str(json_string_value(json_object_get(s, "delimiter")), ";", "';' detected");
    const json_t *colmap = json_object_get(s, "columns");
    tap_ok(strcmp(json_string_value(json_object_get(colmap, "E-mail")), "email") == 0 &&
           strcmp(json_string_value(json_object_get(colmap, "Surname")), "last_name") == 0 &&
           strcmp(json_string_value(json_object_get(colmap, "Organisation")), "company") == 0 &&
           strcmp(json_string_value(json_object_get(colmap, "Company Size")),
                  "attr:company_size") == 0, "headers mapped; unknown ones kept as attributes");
    const json_t *bad = json_object_get(s, "invalid_rows");
    tap_ok(json_array_size(bad) == 2 &&
           json_integer_value(json_object_get(json_array_get(bad, 0), "line")) == 7 &&
           json_integer_value(json_object_get(json_array_get(bad, 1), "line")) == 8,
           "invalid rows carry their file lines (7 and 8, after a quoted line break)");
    tap_contains(json_string_value(json_object_get(json_array_get(bad, 1), "reason")),
                 "no email", "with the reason");
    tap_is_int(num(s, "probable_duplicates"), 1, "one probable duplicate");
    const json_t *dup = json_array_get(json_object_get(s, "probable_duplicate_rows"), 0);
    tap_is_int(json_integer_value(json_object_get(dup, "line")), 11,
               "carol.k@ at line 11 looks like Carol King at the same domain");

    tap_is_str(col("ada@example.com", "phone"), "+442079460018", "UK phone to E.164");
    tap_is_str(col("ada@example.com", "country"), "GB", "UK -> GB");
    tap_is_str(col("ada@example.com", "timezone"), "Europe/London", "GB's zone");
    tap_is_str(col("ada@example.com", "domain"), "example.com", "domain from the website");
    tap_is_str(col("ada@example.com", "email_status"), "syntax_ok", "address status syntax_ok");
    tap_contains(col("ada@example.com", "attrs"), "\"email_as_given\":\"Ada@example.com\"",
                 "the local part as written is kept");
    tap_contains(col("ada@example.com", "attrs"), "\"company_size\":\"50-200\"",
                 "free attribute kept");
    tap_contains(col("ada@example.com", "attrs"),
                 "\"_provenance\":{\"email_status\":{\"by\":\"import\",\"source\":\"fair-2026\"}}",
                 "status provenance recorded");
    tap_is_str(col("ada@example.com", "source"), "fair-2026", "source kept per lead");
    tap_is_str(col("ada@example.com", "lawful_basis"), "legitimate_interest",
               "lawful basis from the config");
    tap_is_str(col("bob@gmail.com", "timezone"), "America/Los_Angeles", "California's zone");
    tap_is_str(col("bob@gmail.com", "domain"), "", "no company domain from free mail");
    tap_contains(col("bob@gmail.com", "attrs"), "\"free_mail\":true", "free-mail flagged");
    tap_contains(col("info@acme.io", "attrs"), "\"role_address\":true", "role address flagged");
    tap_is_str(col("info@acme.io", "timezone"), "ambiguous(US)", "no state: ambiguous(US)");
    tap_is_str(col("carol@acme.io", "title"), "VP\r\nSales", "a quoted line break is kept");
    tap_is_str(col("carol@acme.io", "timezone"), "America/Chicago",
               "Texas (split) resolved by area code 512");
    tap_is_str(col("dan@acme.io", "phone"), "0 512 555", "an unusable number is kept as given");
    tap_contains(col("dan@acme.io", "attrs"), "phone_unnormalized", "and flagged");
    tap_is_str(col("erin@acme.io", "timezone"), "America/New_York",
               "no state: the area code (212) picks the zone");
    json_decref(s);
}

static void test_reimport(void)
{
    struct run r;
    struct import_opts opts = { .source = "fair-2026" };
    long long events = count_sql("SELECT count(*) FROM events");
    json_t *s = run_import(first_csv, sizeof(first_csv) - 1, &opts, 4096, &r);
    tap_ok(counts(s, 10, 0, 0, 8, 0, 2), "re-importing changes nothing (updated 0)");
    tap_is_int(count_sql("SELECT count(*) FROM events") - events, 1,
               "only the import's own audit event was written");
    json_decref(s);
}

static void test_overwrite_and_fill(void)
{
    static const char csv[] = "email,title,linkedin\n"
                              "ada@example.com,Chief Engineer,https://linkedin.com/in/ada\n";
    struct run r;
    struct import_opts opts = { 0 };
    json_t *s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(counts(s, 1, 0, 1, 0, 0, 0), "an empty field is filled: updated 1");
    tap_is_str(col("ada@example.com", "title"), "CTO", "a set field is not overwritten");
    tap_is_str(col("ada@example.com", "linkedin"), "https://linkedin.com/in/ada",
               "the empty one was filled");
    json_decref(s);
    opts.overwrite = true;
    s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(counts(s, 1, 0, 1, 0, 0, 0), "--overwrite: updated 1");
    tap_is_str(col("ada@example.com", "title"), "Chief Engineer", "--overwrite replaces");
    json_decref(s);
}

static void test_suppression_and_dry_run(void)
{
    struct st_wait w;
    struct store_actor sys = { STORE_ACTOR_SYSTEM, NULL };
    tap_is_int(ST_WAIT(&loop, &w, store_suppress(st, "domain", "blocked.example", "asked",
                                                 &sys, st_on_done, &w)), 0, "domain suppressed");
    static const char csv[] = "email,name\nzed@blocked.example,Zed Zulu\nyan@new.example,Yan\n";
    struct run r;
    struct import_opts opts = { .dry_run = true };
    long long leads = count_sql("SELECT count(*) FROM leads");
    json_t *s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(counts(s, 2, 1, 0, 0, 1, 0), "dry run reports: imported 1, suppressed 1");
    tap_is_int(count_sql("SELECT count(*) FROM leads"), leads, "a dry run keeps nothing");
    json_decref(s);
    opts.dry_run = false;
    s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(counts(s, 2, 1, 0, 0, 1, 0), "imported 1, suppressed 1");
    tap_is_str(col("zed@blocked.example", "suppressed"), "1",
               "the suppressed lead is recorded as suppressed");
    tap_is_str(json_string_value(json_object_get(
                   json_array_get(json_object_get(s, "suppressed_rows"), 0), "reason")),
               "asked", "with the list's reason");
    tap_is_str(col("zed@blocked.example", "first_name"), "Zed", "a full name is split");
    json_decref(s);
}

static void test_jsonl_and_map(void)
{
    static const char jl[] =
        "{\"mail\": \"jo@jl.example\", \"Given Name\": \"Jo\", \"employees\": 40, \"tz\": \"Europe/Paris\"}\n"
        "\n"
        "{\"mail\": \"bad@\", \"Given Name\": \"No\"}\n"
        "not json\n"
        "{\"mail\": \"kim@jl.example\", \"tz\": \"Mars/Olympus\", \"country\": \"AU\", \"state\": \"VIC\"}";
    struct run r;
    struct import_opts opts = { .format = "jsonl", .map = "Given Name=first_name,employees=headcount" };
    json_t *s = run_import(jl, sizeof(jl) - 1, &opts, 10, &r);
    tap_ok(counts(s, 4, 2, 0, 0, 0, 2), "JSON lines: 2 imported, 2 invalid");
    tap_is_int(json_integer_value(json_object_get(
                   json_array_get(json_object_get(s, "invalid_rows"), 1), "line")), 4,
               "the broken JSON line is reported as line 4");
    tap_is_str(col("jo@jl.example", "first_name"), "Jo", "--map names a field");
    tap_contains(col("jo@jl.example", "attrs"), "\"headcount\":\"40\"",
                 "--map names an attribute");
    tap_is_str(col("jo@jl.example", "timezone"), "Europe/Paris", "a valid zone is kept");
    tap_is_str(col("kim@jl.example", "timezone"), "Australia/Melbourne",
               "an invalid zone is replaced by the inferred one");
    tap_contains(col("kim@jl.example", "attrs"), "timezone_invalid", "and flagged");
    json_decref(s);

    static const char csv[] = "email,name\na@b.example,A\n";
    opts = (struct import_opts){ .map = "Missing=email" };
    s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(s == NULL && r.status == -EINVAL, "a --map column the file lacks fails the import");
    tap_contains(r.err.what, "no column \"Missing\"", "and says which");
    opts = (struct import_opts){ .basis = "because" };
    s = run_import(csv, sizeof(csv) - 1, &opts, 4096, &r);
    tap_ok(s == NULL && r.status == -EINVAL, "an unknown lawful basis is refused");
}

/* Many chunks and batches, fed in large pieces so that back-pressure pauses
 * the feeding. */
static void test_large(void)
{
    size_t n = 20000, cap = n * 80 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "email,first_name,last_name,company,country\n");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(text + len, cap - len, "p%zu@bulk%zu.example,P%zu,Q%zu,Bulk %zu,DE\n",
                                i, i % 97, i, i, i % 97);
    struct run r;
    struct import_opts opts = { .source = "bulk" };
    json_t *s = run_import(text, len, &opts, 1u << 20, &r);
    tap_ok(counts(s, (long long)n, (long long)n, 0, 0, 0, 0), "20000 rows imported");
    tap_ok(r.resumes > 0, "the feeder was paused and resumed (%d times)", r.resumes);
    tap_is_int(count_sql("SELECT count(*) FROM leads WHERE source = 'bulk'"), (int64_t)n,
               "all of them are in the store");
    json_decref(s);
    s = run_import(text, len, &opts, 1u << 20, &r);
    tap_ok(counts(s, (long long)n, 0, 0, (long long)n, 0, 0), "and a re-run finds them all");
    json_decref(s);
    free(text);
}

static void test_tables(void)
{
    char out[64];
    const char *why = NULL;
    tap_ok(phone_normalize("+49 (0)30 1234567", NULL, out, sizeof(out), &why) == 0 &&
           strcmp(out, "+49301234567") == 0, "+49 (0)30 ... drops the trunk 0");
    tap_ok(phone_normalize("06 12 34 56 78", country_find("France"), out, sizeof(out), &why) == 0
           && strcmp(out, "+33612345678") == 0, "French national number");
    tap_ok(phone_normalize("02 1234 5678", country_find("IT"), out, sizeof(out), &why) == 0 &&
           strcmp(out, "+390212345678") == 0, "Italy keeps its leading 0");
    tap_ok(phone_normalize("1-800-FLOWERS", country_find("US"), out, sizeof(out), &why) < 0,
           "letters are refused");
    tap_ok(phone_normalize("0044 20 7946 0018", country_find("DE"), out, sizeof(out), &why) == 0
           && strcmp(out, "+442079460018") == 0, "00 international prefix");
    tap_ok(tz_infer(country_find("Brasil"), "Amazonas", NULL, out, sizeof(out)) == 0 &&
           strcmp(out, "America/Manaus") == 0, "Brazil by state");
    tap_ok(tz_infer(country_find("Russia"), NULL, NULL, out, sizeof(out)) == 0 &&
           strcmp(out, "ambiguous(RU)") == 0, "Russia without a region is ambiguous");
    tap_ok(tz_infer(country_find("US"), "FL", "+18505550100", out, sizeof(out)) == 0 &&
           strcmp(out, "ambiguous(US)") == 0, "Florida with the split 850 stays ambiguous");
    tap_ok(tz_infer(country_find("US"), "TX", "+12125550100", out, sizeof(out)) == 0 &&
           strcmp(out, "ambiguous(US)") == 0, "a New York number does not place a Texas lead");
    char cc[3];
    const char *const *z = tz_country_zones("US");
    tap_ok(tz_is_ambiguous("ambiguous(US)", cc) && strcmp(cc, "US") == 0 && z != NULL &&
           z[0] != NULL && z[6] != NULL && z[7] == NULL, "US zones listed for windows");
    tap_ok(tz_infer(NULL, NULL, NULL, out, sizeof(out)) == 0 && out[0] == '\0',
           "no country: no zone");
}

static void test_config(void)
{
    struct config *c = NULL;
    struct config_errors errs = { 0 };
    static const char bad[] = "{\"import\": {\"batch_rowz\": 5, \"lawful_basis\": \"vibes\"}}";
    tap_ok(config_load_string(bad, sizeof(bad) - 1, "t.json", "/tmp", &c, &errs) == -EINVAL &&
           errs.count == 2, "unknown key and bad basis are errors");
    tap_contains(errs.count > 0 ? errs.items[0].what : "", "batch_rows",
                 "with a did-you-mean hint");
    config_errors_free(&errs);
    static const char good[] = "{\"import\": {\"free_mail_domains\": [\"corp-mail.example\"],"
                               " \"batch_rows\": 50, \"lawful_basis\": \"consent\"}}";
    tap_ok(config_load_string(good, sizeof(good) - 1, "t.json", "/tmp", &c, &errs) == 0 &&
           c->import.batch_rows == 50 && strcmp(c->import.free_mail_domains[0],
                                                "corp-mail.example") == 0 &&
           c->import.free_mail_domains[1] == NULL && c->import.role_locals[0] != NULL &&
           strcmp(c->import.lawful_basis, "consent") == 0, "the import section is read");
    config_free(c);
    config_errors_free(&errs);
}

int main(void)
{
    struct errbuf err = { 0 };
    struct config_errors errs = { 0 };
    static const char conf[] = "{\"import\": {\"batch_rows\": 100}}";

    tap_plan(71);
    snprintf(db_path, sizeof(db_path), "%s/store/drumbeat.db", tap_tmpdir());
    uv_loop_init(&loop);
    if (config_load_string(conf, sizeof(conf) - 1, "t.json", "/tmp", &cfg, &errs) != 0 ||
        store_open(&loop, db_path, &st, &err) != 0) {
        tap_diag("setup failed: %s", err.what);
        return tap_done();
    }
    test_first_import();
    test_reimport();
    test_overwrite_and_fill();
    test_suppression_and_dry_run();
    test_jsonl_and_map();
    test_large();
    test_tables();
    test_config();
    store_close(st);
    while (uv_loop_alive(&loop))
        uv_run(&loop, UV_RUN_ONCE);
    tap_is_int(uv_loop_close(&loop), 0, "the loop closes cleanly");
    config_free(cfg);
    config_errors_free(&errs);
    return tap_done();
}
