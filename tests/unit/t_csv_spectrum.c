/* SPDX-License-Identifier: MIT */
/* tests/unit/t_csv_spectrum.c: the CSV reader against the csv-spectrum
 * corpus (shared/corpora/csv-spectrum): every csvs/NAME.csv must read to
 * exactly the records of json/NAME.json, with the first record as the
 * header. Each file is read twice: whole, and one byte at a time (the
 * streaming path the import takes). Also covers what the corpus does not:
 * a BOM, ';' and tab detection, line numbers, and recovery after a
 * malformed record. Skips when the corpus is absent, fails under CI.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "csv_reader.h"
#include "tap.h"

struct collect {
    json_t *header;      /* array of strings */
    json_t *rows;        /* array of objects */
    json_t *raw;         /* every record as an array, for the extra cases */
    long lines[16];
    int n_lines;
    char errors[512];
};

static int on_rec(const struct csv_record *rec, const struct errbuf *err, void *arg)
{
    struct collect *c = arg;

    if (rec == NULL) {
        size_t n = strlen(c->errors);
        snprintf(c->errors + n, sizeof(c->errors) - n, "%s: %s|", err->where, err->what);
        return 0;
    }
    json_t *arr = json_array();
    for (size_t i = 0; i < rec->n; i++)
        json_array_append_new(arr, json_stringn(rec->fields[i], rec->lens[i]));
    if (c->n_lines < 16)
        c->lines[c->n_lines++] = rec->line;
    json_array_append(c->raw, arr);
    if (c->header == NULL) {
        c->header = arr;
        return 0;
    }
    json_t *obj = json_object();
    for (size_t i = 0; i < rec->n && i < json_array_size(c->header); i++)
        json_object_set(obj, json_string_value(json_array_get(c->header, i)),
                        json_array_get(arr, i));
    json_array_append_new(c->rows, obj);
    json_decref(arr);
    return 0;
}

static void collect_init(struct collect *c)
{
    memset(c, 0, sizeof(*c));
    c->rows = json_array();
    c->raw = json_array();
}

static void collect_free(struct collect *c)
{
    json_decref(c->header);
    json_decref(c->rows);
    json_decref(c->raw);
}

static int read_all(const char *data, size_t len, size_t step, int delim, struct collect *c)
{
    struct csv_reader *r;
    int rc = csv_reader_new(delim, on_rec, c, &r);
    if (rc < 0)
        return rc;
    for (size_t off = 0; off < len && rc == 0; off += step)
        rc = csv_reader_feed(r, data + off, len - off < step ? len - off : step);
    if (rc == 0)
        rc = csv_reader_finish(r);
    csv_reader_free(r);
    return rc;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *buf = NULL;
    size_t cap = 0, n = 0, r;
    do {
        if (n + 4096 > cap) {
            cap = cap * 2 + 4096;
            buf = realloc(buf, cap);
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
    } while (r > 0);
    fclose(f);
    *len = n;
    return buf;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void check_file(const char *dir, const char *name)
{
    char path[2048], jpath[2048];
    size_t len = 0;

    snprintf(path, sizeof(path), "%s/csvs/%s.csv", dir, name);
    snprintf(jpath, sizeof(jpath), "%s/json/%s.json", dir, name);
    char *data = slurp(path, &len);
    json_t *want = json_load_file(jpath, 0, NULL);
    if (data == NULL || want == NULL) {
        tap_ok(false, "%s: read the CSV and its JSON", name);
        tap_ok(false, "%s: byte by byte", name);
        free(data);
        json_decref(want);
        return;
    }
    size_t steps[2] = { len > 0 ? len : 1, 1 };
    for (int s = 0; s < 2; s++) {
        struct collect c;
        collect_init(&c);
        int rc = read_all(data, len, steps[s], 0, &c);
        bool same = rc == 0 && json_equal(c.rows, want) && c.errors[0] == '\0';
        tap_ok(same, "%s: %s reads to the records of %s.json", name,
               s == 0 ? "whole" : "byte by byte", name);
        if (!same) {
            char *got = json_dumps(c.rows, JSON_COMPACT);
            tap_diag("rc=%d errors=%s got %s", rc, c.errors, got);
            free(got);
        }
        collect_free(&c);
    }
    free(data);
    json_decref(want);
}

static void extra_cases(void)
{
    struct collect c;
    static const char bom_semi[] = "\xef\xbb\xbf" "a;b\r\n1;\"x;y\"\r\n";
    collect_init(&c);
    tap_is_int(read_all(bom_semi, sizeof(bom_semi) - 1, 2, 0, &c), 0, "BOM + ';' file reads");
    char *got = json_dumps(c.raw, JSON_COMPACT);
    tap_is_str(got, "[[\"a\",\"b\"],[\"1\",\"x;y\"]]", "BOM stripped, ';' detected");
    free(got);
    collect_free(&c);

    static const char tabs[] = "a\tb\tc\n1\t\t3\n";
    collect_init(&c);
    read_all(tabs, sizeof(tabs) - 1, 5, 0, &c);
    got = json_dumps(c.raw, JSON_COMPACT);
    tap_is_str(got, "[[\"a\",\"b\",\"c\"],[\"1\",\"\",\"3\"]]", "tab detected, empty field kept");
    free(got);
    collect_free(&c);

    /* Line numbers: a quoted newline, a blank line, then a malformed
     * record that is reported and skipped without losing the next one. */
    static const char lines[] = "h1,h2\n\"multi\nline\",2\n\nx,y\nbad\"quote,1\nok,3\n";
    collect_init(&c);
    tap_is_int(read_all(lines, sizeof(lines) - 1, 3, 0, &c), 0, "malformed input does not stop");
    tap_is_int(c.n_lines, 4, "four good records");
    tap_ok(c.n_lines == 4 && c.lines[0] == 1 && c.lines[1] == 2 && c.lines[2] == 5 &&
           c.lines[3] == 7, "records start on lines 1, 2, 5 and 7");
    tap_contains(c.errors, "line 6: malformed quoting", "the bad record is reported at line 6");
    collect_free(&c);

    static const char unclosed[] = "a,b\n1,\"never closed\n";
    collect_init(&c);
    read_all(unclosed, sizeof(unclosed) - 1, 64, 0, &c);
    tap_contains(c.errors, "line 2: unclosed quoted field", "an unclosed quote is reported");
    collect_free(&c);
}

int main(void)
{
    const char *dir = tap_corpus_path("csv-spectrum");
    char csvs[2048];
    snprintf(csvs, sizeof(csvs), "%s/csvs", dir);
    DIR *d = opendir(csvs);
    if (d == NULL)
        tap_skip_all("the csv-spectrum corpus is missing (shared/corpora/csv-spectrum)");
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < 64) {
        size_t len = strlen(e->d_name);
        if (len > 4 && strcmp(e->d_name + len - 4, ".csv") == 0)
            names[n++] = strndup(e->d_name, len - 4);
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), cmp_names);

    tap_plan((int)n * 2 + 8);
    for (size_t i = 0; i < n; i++) {
        check_file(dir, names[i]);
        free(names[i]);
    }
    extra_cases();
    return tap_done();
}
