/* SPDX-License-Identifier: MIT */
/* daemon/cli/cli_import.c: `drumbeat import FILE`: streams the file to the
 * daemon's POST /api/imports (libcurl reads it piece by piece; it is never
 * loaded whole), then prints the summary and the rows that were refused. On
 * a terminal a progress bar shows the share sent, rows per second and the
 * time left; otherwise (or with --quiet) nothing is printed until the end.
 * The daemon reads the body only as fast as it imports, so the bytes sent
 * follow the rows imported to within a chunk or two.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "build-aux/config.h"
#include "cli.h"

struct upload {
    FILE *f;
    long long sent, total;      /* total 0: unknown (a pipe) */
    long long lines;
    bool bar, quiet;
    double started, last_draw;
    char *reply;
    size_t reply_len;
};

static void import_usage(FILE *out)
{
    fprintf(out,
            "Usage: drumbeat import FILE [--format csv|jsonl] [--map csvcol=field,...]\n"
            "                       [--source NAME] [--basis B] [--delimiter ,|;|tab]\n"
            "                       [--dry-run] [--overwrite] [--enrich|--no-enrich] [--quiet]\n"
            "                       [-c FILE] [--url URL] [--token-file F] [--json]\n\n"
            "Streams FILE ('-' for standard input) to drumbeatd and prints what happened to\n"
            "its rows: read, imported, updated, duplicates, suppressed, invalid (with line\n"
            "numbers and reasons). The format follows the file name (.jsonl, .ndjson) unless\n"
            "given. Fields: email, first_name, last_name, name, company, title, phone,\n"
            "website, country, region, timezone, linkedin, ignore; any other name keeps the\n"
            "column as a free attribute. --basis is the lawful basis (consent, contract,\n"
            "legal_obligation, vital_interests, public_task, legitimate_interest).\n"
            "--enrich queues every lead the import created or changed for the enrichers\n"
            "(the default when the config says \"enrichment\": {\"after_import\": true});\n"
            "--no-enrich does not. A lead needs an email, or a first and last name with a\n"
            "company domain (website) for enrich_guess to propose addresses.\n");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void draw(struct upload *u, bool final)
{
    double t = now_s();
    if (!final && t - u->last_draw < 0.1)
        return;
    u->last_draw = t;
    double el = t - u->started > 0.001 ? t - u->started : 0.001;
    double rps = (double)u->lines / el;
    double frac = u->total > 0 ? (double)u->sent / (double)u->total : 0;
    char eta[32] = "--:--";
    if (u->total > 0 && u->sent > 0 && frac < 1) {
        long left = (long)(el / frac - el);
        snprintf(eta, sizeof(eta), "%ld:%02ld", left / 60, left % 60);
    } else if (frac >= 1) {
        snprintf(eta, sizeof(eta), "0:00");
    }
    char bar[31];
    int fill = (int)(frac * 30);
    for (int i = 0; i < 30; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[30] = '\0';
    if (u->total > 0)
        fprintf(stderr, "\r[%s] %3d%%  %lld rows  %.0f rows/s  ETA %s ", bar, (int)(frac * 100),
                u->lines, rps, eta);
    else
        fprintf(stderr, "\r%lld rows  %.0f rows/s ", u->lines, rps);
    if (final)
        fprintf(stderr, "\n");
}

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t got = fread(buf, 1, size * n, u->f);
    if (got == 0 && ferror(u->f))
        return CURL_READFUNC_ABORT;
    for (const char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
        u->lines++;
    u->sent += (long long)got;
    if (u->bar)
        draw(u, false);
    return got;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
    struct upload *u = arg;
    size_t len = size * n;
    if (u->reply_len + len > (64u << 20))
        return 0;
    char *r = realloc(u->reply, u->reply_len + len + 1);
    if (r == NULL)
        return 0;
    memcpy(r + u->reply_len, p, len);
    u->reply = r;
    u->reply_len += len;
    u->reply[u->reply_len] = '\0';
    return len;
}

static void print_list(const json_t *list, const char *title, const char *what)
{
    size_t i;
    const json_t *row;
    if (json_array_size(list) == 0)
        return;
    printf("%s:\n", title);
    json_array_foreach(list, i, row) {
        long long line = json_integer_value(json_object_get(row, "line"));
        if (strcmp(what, "dup") == 0)
            printf("  line %lld: lead %lld may be the same person as lead %lld\n", line,
                   (long long)json_integer_value(json_object_get(row, "lead_id")),
                   (long long)json_integer_value(json_object_get(row, "duplicate_of")));
        else
            printf("  line %lld: %s\n", line, json_string_value(json_object_get(row, "reason"))
                   != NULL ? json_string_value(json_object_get(row, "reason")) : "suppressed");
    }
}

static void print_summary(const json_t *s)
{
    #define N(k) (long long)json_integer_value(json_object_get(s, k))
    printf("read %lld, imported %lld, updated %lld, duplicates %lld, suppressed %lld, "
           "invalid %lld%s\n", N("read"), N("imported"), N("updated"), N("duplicates"),
           N("suppressed"), N("invalid"),
           json_is_true(json_object_get(s, "dry_run")) ? " (dry run: nothing was kept)" : "");
    if (N("probable_duplicates") > 0)
        printf("probable duplicates (same name at the same domain): %lld\n",
               N("probable_duplicates"));
    #undef N
    print_list(json_object_get(s, "invalid_rows"), "invalid rows", "bad");
    print_list(json_object_get(s, "suppressed_rows"), "suppressed rows", "supp");
    print_list(json_object_get(s, "probable_duplicate_rows"), "probable duplicates", "dup");
}

/* Appends "&key=value" (escaped) to url. */
static void add_param(CURL *c, char *url, size_t len, const char *key, const char *value)
{
    if (value == NULL)
        return;
    char *esc = curl_easy_escape(c, value, 0);
    size_t n = strlen(url);
    snprintf(url + n, len - n, "%c%s=%s", strchr(url, '?') != NULL ? '&' : '?', key,
             esc != NULL ? esc : "");
    curl_free(esc);
}

static int run_upload(const struct cli_common *common, const char *path, const char *const *kv,
                      bool is_jsonl, struct upload *u, long *status)
{
    char base[512], token[1024], auth[1100], url[8192];
    char errtext[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    int rc = cli_api_target(common, base, sizeof(base), token, sizeof(token));
    if (rc < 0)
        return rc;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -ENOMEM;
    CURL *c = curl_easy_init();
    if (c == NULL)
        return -ENOMEM;
    snprintf(url, sizeof(url), "%s/api/imports", base);
    for (size_t i = 0; kv[i] != NULL; i += 2)
        add_param(c, url, sizeof(url), kv[i], kv[i + 1]);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, is_jsonl ? "Content-Type: application/x-ndjson"
                                                  : "Content-Type: text/csv");
    /* The daemon answers at once; waiting for "100 Continue" only delays. */
    headers = curl_slist_append(headers, "Expect:");
    if (token[0] != '\0') {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers = curl_slist_append(headers, auth);
    }
    if (u->total <= 0)
        headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, u);
    if (u->total > 0)
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)u->total);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, u);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "127.0.0.1,localhost,::1");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "drumbeat/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errtext);
    CURLcode cc = curl_easy_perform(c);
    memset(token, 0, sizeof(token));
    memset(auth, 0, sizeof(auth));
    if (cc != CURLE_OK) {
        fprintf(stderr, "%sdrumbeat: the import of %s did not complete: %s\n",
                u->bar ? "\n" : "", path, errtext[0] != '\0' ? errtext : curl_easy_strerror(cc));
        rc = -EIO;
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return rc;
}

int cli_import(int argc, char **argv)
{
    struct cli_common common = { 0 };
    const char *path = NULL, *format = NULL, *map = NULL, *source = NULL, *basis = NULL;
    const char *delim = NULL;
    bool dry = false, overwrite = false, quiet = false;
    const char *enrich = NULL;

    for (int i = 1; i < argc; i++) {
        int used = cli_common_opt(&common, &i, argc, argv);
        if (used < 0)
            return CLI_USAGE;
        if (used > 0)
            continue;
        const char *a = argv[i];
        const char **dst = strcmp(a, "--format") == 0 ? &format : strcmp(a, "--map") == 0 ? &map
                         : strcmp(a, "--source") == 0 ? &source : strcmp(a, "--basis") == 0
                         ? &basis : strcmp(a, "--delimiter") == 0 ? &delim : NULL;
        if (dst != NULL) {
            if (i + 1 >= argc) {
                fprintf(stderr, "drumbeat: %s needs a value\n", a);
                return CLI_USAGE;
            }
            *dst = argv[++i];
        } else if (strcmp(a, "--dry-run") == 0) {
            dry = true;
        } else if (strcmp(a, "--overwrite") == 0) {
            overwrite = true;
        } else if (strcmp(a, "--enrich") == 0 || strcmp(a, "--no-enrich") == 0) {
            enrich = a[2] == 'e' ? "1" : "0";
        } else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
            quiet = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            import_usage(stdout);
            return CLI_OK;
        } else if (path == NULL && (a[0] != '-' || strcmp(a, "-") == 0)) {
            path = a;
        } else {
            import_usage(stderr);
            return CLI_USAGE;
        }
    }
    if (path == NULL) {
        import_usage(stderr);
        return CLI_USAGE;
    }
    size_t plen = strlen(path);
    bool is_jsonl = format != NULL ? strcmp(format, "jsonl") == 0
                  : (plen > 6 && strcmp(path + plen - 6, ".jsonl") == 0) ||
                    (plen > 7 && strcmp(path + plen - 7, ".ndjson") == 0);
    struct upload u = { .quiet = quiet };
    u.f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (u.f == NULL) {
        fprintf(stderr, "drumbeat: cannot open %s: %s\n", path, strerror(errno));
        return CLI_INVALID;
    }
    struct stat sb;
    if (fstat(fileno(u.f), &sb) == 0 && S_ISREG(sb.st_mode))
        u.total = (long long)sb.st_size;
    u.bar = !quiet && !common.json && isatty(STDERR_FILENO);
    u.started = now_s();
    const char *kv[] = {
        "format", format != NULL ? format : (is_jsonl ? "jsonl" : "csv"), "map", map,
        "source", source, "basis", basis, "delimiter", delim,
        "dry_run", dry ? "1" : NULL, "overwrite", overwrite ? "1" : NULL,
        "enrich", enrich, NULL, NULL,
    };
    long status = 0;
    int rc = run_upload(&common, path, kv, is_jsonl, &u, &status);
    if (u.f != stdin)
        fclose(u.f);
    if (u.bar && rc == 0)
        draw(&u, true);
    if (rc < 0) {
        free(u.reply);
        return CLI_FAIL;
    }
    json_t *reply = u.reply != NULL ? json_loadb(u.reply, u.reply_len, 0, NULL) : NULL;
    free(u.reply);
    if (status != 200) {
        const char *where = json_string_value(json_object_get(reply, "where"));
        if (where != NULL && where[0] != '\0')
            fprintf(stderr, "drumbeat: %s: %s\n", path, where);
        return cli_api_failed((int)status, reply);
    }
    if (common.json) {
        json_dumpf(reply, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        print_summary(reply);
    }
    json_decref(reply);
    return CLI_OK;
}
