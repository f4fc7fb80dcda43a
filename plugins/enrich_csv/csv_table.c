/* SPDX-License-Identifier: MIT */
/* plugins/enrich_csv/csv_table.c: loads a CSV file into an open-addressing
 * hash table (linear probing, FNV-1a, grown at 70% load) from a normalised
 * key to the row's mapped values. Each row is one allocation holding its
 * key, its value pointers and the value bytes, so memory stays proportional
 * to the file. The header decides the columns: the key column and the map
 * are resolved against it once, then every record is checked against it.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "csv_reader.h"
#include "csv_table.h"

/* Bad rows logged one by one; past this only their number is logged, so a
 * broken 100k-row file does not flood the log. */
#define CSV_TABLE_MAX_WARN 20

struct csv_row {
    const char *key;
    long line;
    const char *vals[];         /* nfields; the bytes follow */
};

struct csv_table {
    enum csv_key_kind kind;
    char **fields;              /* NULL-terminated */
    size_t nfields;
    struct csv_row **slots;     /* cap entries, NULL when free */
    size_t cap, n;
};

struct loader {
    const struct csv_table_opts *o;
    struct csv_table *t;
    csv_table_warn_cb warn;
    void *arg;
    struct errbuf *err;
    bool have_header;
    size_t ncols, key_col;
    size_t *col_of;             /* the CSV column of each field */
    long bad, warned;
    int status;
};

static int fail(struct errbuf *err, int code, const char *path, const char *where,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct errbuf *err, int code, const char *path, const char *where,
                const char *fmt, ...)
{
    va_list ap;

    err->code = code;
    snprintf(err->file, sizeof(err->file), "%s", path);
    snprintf(err->where, sizeof(err->where), "%s", where != NULL ? where : "");
    va_start(ap, fmt);
    vsnprintf(err->what, sizeof(err->what), fmt, ap);
    va_end(ap);
    return code;
}

static uint64_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

int csv_key_normalize(enum csv_key_kind kind, const char *in, char *buf, size_t cap)
{
    const char *s = in, *e;

    if (in == NULL)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (kind == CSV_KEY_DOMAIN) {
        /* Lists carry websites as often as domains: drop a scheme, a path,
         * a port; an address in a domain column gives its domain. */
        const char *p = s;
        for (const char *q = s; q + 3 <= e; q++)
            if (memcmp(q, "://", 3) == 0) {
                p = q + 3;
                break;
            }
        for (const char *q = e; q > p; q--)
            if (q[-1] == '@') {
                p = q;
                break;
            }
        s = p;
        for (const char *q = s; q < e; q++)
            if (*q == '/' || *q == '?' || *q == '#' || *q == ':') {
                e = q;
                break;
            }
        while (e > s && e[-1] == '.')
            e--;
        if (e - s > 4 && strncasecmp(s, "www.", 4) == 0)
            s += 4;
    }
    if ((size_t)(e - s) >= cap)
        return -ENAMETOOLONG;
    for (size_t i = 0; i < (size_t)(e - s); i++)
        buf[i] = (char)tolower((unsigned char)s[i]);
    buf[e - s] = '\0';
    return (int)(e - s);
}

static struct csv_row **probe(const struct csv_table *t, const char *key)
{
    size_t i = (size_t)hash(key) & (t->cap - 1);
    while (t->slots[i] != NULL && strcmp(t->slots[i]->key, key) != 0)
        i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static int grow(struct csv_table *t)
{
    size_t old = t->cap;
    struct csv_row **slots = t->slots;

    t->cap = old != 0 ? old * 2 : 1024;
    t->slots = calloc(t->cap, sizeof(*t->slots));
    if (t->slots == NULL) {
        t->slots = slots;
        t->cap = old;
        return -ENOMEM;
    }
    for (size_t i = 0; i < old; i++)
        if (slots[i] != NULL)
            *probe(t, slots[i]->key) = slots[i];
    free(slots);
    return 0;
}

const char *const *csv_table_find(const struct csv_table *t, const char *key)
{
    char k[512];

    if (t == NULL || t->n == 0 || csv_key_normalize(t->kind, key, k, sizeof(k)) <= 0)
        return NULL;
    struct csv_row *row = *probe(t, k);
    return row != NULL ? row->vals : NULL;
}

void csv_log_escape(const char *in, char *out, size_t cap)
{
    size_t n = 0;

    for (; in != NULL && *in != '\0' && n + 3 < cap; in++) {
        char c = *in;
        if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            out[n++] = '\\';
            c = c == '\n' ? 'n' : c == '\r' ? 'r' : c == '\t' ? 't' : c;
        }
        out[n++] = c;
    }
    out[n] = '\0';
}

static void warn_row(struct loader *l, long line, const char *reason)
{
    char msg[1536], file[512], why[512];

    l->bad++;
    if (l->warned >= CSV_TABLE_MAX_WARN)
        return;
    l->warned++;
    csv_log_escape(l->o->path, file, sizeof(file));
    csv_log_escape(reason, why, sizeof(why));
    snprintf(msg, sizeof(msg), "msg=\"bad row skipped\" file=\"%s\" line=%ld reason=\"%s\"",
             file, line, why);
    l->warn(l->arg, msg);
}

/* A header cell as a field name: trimmed, lower-cased, blanks as '_'. */
static char *field_name(const char *h)
{
    char tmp[256];
    int n = csv_key_normalize(CSV_KEY_EMAIL, h, tmp, sizeof(tmp));
    if (n <= 0)
        return NULL;
    for (int i = 0; i < n; i++)
        if (tmp[i] == ' ' || tmp[i] == '\t')
            tmp[i] = '_';
    return strdup(tmp);
}

static long find_col(const struct csv_record *rec, const char *name, size_t len)
{
    for (size_t i = 0; i < rec->n; i++) {
        const char *f = rec->fields[i];
        size_t fl = rec->lens[i];
        while (fl > 0 && isspace((unsigned char)*f))
            f++, fl--;
        while (fl > 0 && isspace((unsigned char)f[fl - 1]))
            fl--;
        if (fl == len && strncasecmp(f, name, len) == 0)
            return (long)i;
    }
    return -1;
}

static int add_field(struct loader *l, char *name, size_t col)
{
    struct csv_table *t = l->t;
    char **f = realloc(t->fields, (t->nfields + 2) * sizeof(*f));
    size_t *c = realloc(l->col_of, (t->nfields + 1) * sizeof(*c));

    if (f != NULL)
        t->fields = f;
    if (c != NULL)
        l->col_of = c;
    if (name == NULL || f == NULL || c == NULL) {
        free(name);
        return -ENOMEM;
    }
    l->col_of[t->nfields] = col;
    t->fields[t->nfields++] = name;
    t->fields[t->nfields] = NULL;
    return 0;
}

static bool has_field(const struct csv_table *t, const char *name)
{
    for (size_t i = 0; i < t->nfields; i++)
        if (strcmp(t->fields[i], name) == 0)
            return true;
    return false;
}

/* "csvcol=field, csvcol2=field2", resolved against the header. */
static int parse_map(struct loader *l, const struct csv_record *rec)
{
    for (const char *p = l->o->map; *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        char entry[512], col[256];
        char *eq, *name;
        long c;
        int rc;

        if (len >= sizeof(entry))
            return fail(l->err, -EINVAL, l->o->path, "options.map",
                        "map entry too long: \"%.64s...\"", p);
        memcpy(entry, p, len);
        entry[len] = '\0';
        p = end != NULL ? end + 1 : p + len;
        if (csv_key_normalize(CSV_KEY_EMAIL, entry, col, sizeof(col)) == 0)
            continue;                          /* "a=b,,c=d" or a trailing comma */
        eq = strchr(entry, '=');
        if (eq != NULL)
            *eq = '\0';
        name = eq != NULL ? field_name(eq + 1) : NULL;
        if (name == NULL || csv_key_normalize(CSV_KEY_EMAIL, entry, col, sizeof(col)) <= 0) {
            free(name);
            if (eq != NULL)
                *eq = '=';
            return fail(l->err, -EINVAL, l->o->path, "options.map",
                        "expected csvcol=field, got \"%s\"", entry);
        }
        if ((c = find_col(rec, col, strlen(col))) < 0) {
            free(name);
            return fail(l->err, -EINVAL, l->o->path, "line 1",
                        "the map names column \"%s\" but the header has no such column", col);
        }
        if (has_field(l->t, name)) {
            free(name);                        /* the first mapping of a field wins */
            continue;
        }
        if ((rc = add_field(l, name, (size_t)c)) < 0)
            return rc;
    }
    return 0;
}

static int on_header(struct loader *l, const struct csv_record *rec)
{
    const char *kc = l->o->key_column;
    long c = find_col(rec, kc, strlen(kc));
    int rc = 0;

    if (c < 0) {
        char cols[200] = "";
        for (size_t i = 0; i < rec->n && strlen(cols) + 4 < sizeof(cols); i++)
            snprintf(cols + strlen(cols), sizeof(cols) - strlen(cols), "%s\"%s\"",
                     i > 0 ? ", " : "", rec->fields[i]);
        return fail(l->err, -EINVAL, l->o->path, "line 1",
                    "expected a header with the key column \"%s\"; the header has %s",
                    kc, cols);
    }
    l->key_col = (size_t)c;
    l->ncols = rec->n;
    if (l->o->map != NULL)
        rc = parse_map(l, rec);
    for (size_t i = 0; l->o->map == NULL && i < rec->n && rc == 0; i++) {
        char *name = field_name(rec->fields[i]);
        if (i == l->key_col || name == NULL || has_field(l->t, name)) {
            if (name != NULL && i != l->key_col) {
                char msg[1280], file[512], esc[512];
                csv_log_escape(l->o->path, file, sizeof(file));
                csv_log_escape(name, esc, sizeof(esc));
                snprintf(msg, sizeof(msg), "msg=\"duplicate column ignored\" file=\"%s\" "
                         "line=1 column=%zu name=\"%s\"", file, i + 1, esc);
                l->warn(l->arg, msg);
            }
            free(name);
            continue;
        }
        rc = add_field(l, name, i);
    }
    if (rc == 0 && l->t->nfields == 0)
        return fail(l->err, -EINVAL, l->o->path, l->o->map != NULL ? "options.map" : "line 1",
                    "no column to fill leads from: expected columns besides \"%s\"", kc);
    return rc;
}

static int on_row(struct loader *l, const struct csv_record *rec)
{
    struct csv_table *t = l->t;
    char key[512], why[128];
    int kl;

    if (rec->n == 1 && rec->lens[0] == 0)
        return 0;                                   /* a blank line */
    if (rec->n != l->ncols) {
        snprintf(why, sizeof(why), "expected %zu fields as in the header, got %zu",
                 l->ncols, rec->n);
        warn_row(l, rec->line, why);
        return 0;
    }
    kl = csv_key_normalize(l->o->kind, rec->fields[l->key_col], key, sizeof(key));
    if (kl <= 0) {
        warn_row(l, rec->line, kl == 0 ? "empty key" : "key longer than 511 bytes");
        return 0;
    }
    if ((t->n + 1) * 10 > t->cap * 7 && grow(t) < 0)
        return -ENOMEM;
    struct csv_row **slot = probe(t, key);
    if (*slot != NULL) {
        snprintf(why, sizeof(why), "duplicate key \"%.64s\": the row at line %ld is kept",
                 key, (*slot)->line);
        warn_row(l, rec->line, why);
        return 0;
    }
    size_t size = sizeof(struct csv_row) + t->nfields * sizeof(char *) + (size_t)kl + 1;
    for (size_t i = 0; i < t->nfields; i++)
        size += rec->lens[l->col_of[i]] + 1;
    struct csv_row *row = malloc(size);
    if (row == NULL)
        return -ENOMEM;
    char *b = (char *)&row->vals[t->nfields];
    row->line = rec->line;
    row->key = memcpy(b, key, (size_t)kl + 1);
    b += kl + 1;
    for (size_t i = 0; i < t->nfields; i++) {
        size_t c = l->col_of[i], len = rec->lens[c];
        row->vals[i] = NULL;
        if (len == 0)
            continue;
        row->vals[i] = memcpy(b, rec->fields[c], len + 1);
        b += len + 1;
    }
    *slot = row;
    t->n++;
    return 0;
}

static int on_record(const struct csv_record *rec, const struct errbuf *err, void *arg)
{
    struct loader *l = arg;

    if (!l->have_header) {
        if (rec == NULL)
            return fail(l->err, -EINVAL, l->o->path, err->where,
                        "cannot parse the header line (%s); expected a header with the "
                        "key column \"%s\"", err->what, l->o->key_column);
        l->have_header = true;
        return on_header(l, rec);
    }
    if (rec == NULL) {
        warn_row(l, atol(err->where + strcspn(err->where, "0123456789")), err->what);
        return 0;
    }
    return on_row(l, rec);
}

static int read_file(struct loader *l, struct csv_reader *r)
{
    char buf[64 * 1024];
    int fd = open(l->o->path, O_RDONLY | O_CLOEXEC), rc = 0;
    ssize_t n;

    if (fd < 0)
        goto io;
    while ((n = read(fd, buf, sizeof(buf))) != 0) {
        if (n < 0) {
            if (errno == EINTR)
                continue;
            goto io;
        }
        if ((rc = csv_reader_feed(r, buf, (size_t)n)) < 0)
            break;
    }
    if (rc == 0)
        rc = csv_reader_finish(r);
    close(fd);
    return rc;
io:
    rc = -errno;
    if (fd >= 0)
        close(fd);
    return fail(l->err, rc, l->o->path, NULL,
                "cannot read the file (%s); expected a CSV file with a header line and the "
                "key column \"%s\"", strerror(-rc), l->o->key_column);
}

void csv_table_free(struct csv_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free(t->slots[i]);
    free(t->slots);
    for (size_t i = 0; i < t->nfields; i++)
        free(t->fields[i]);
    free(t->fields);
    free(t);
}

int csv_table_load(const struct csv_table_opts *opts, csv_table_warn_cb warn, void *arg,
                   struct csv_table **out, struct errbuf *err)
{
    struct loader l = { .o = opts, .warn = warn, .arg = arg, .err = err };
    struct csv_reader *r = NULL;
    int rc;

    *out = NULL;
    l.t = calloc(1, sizeof(*l.t));
    if (l.t == NULL || (rc = grow(l.t)) < 0) {
        rc = -ENOMEM;
        goto fail;
    }
    l.t->kind = opts->kind;
    if ((rc = csv_reader_new(opts->delim, on_record, &l, &r)) < 0)
        goto fail;
    if ((rc = read_file(&l, r)) < 0)
        goto fail;
    if (!l.have_header) {
        rc = fail(err, -EINVAL, opts->path, NULL,
                  "the file is empty; expected a header line with the key column \"%s\"",
                  opts->key_column);
        goto fail;
    }
    if (l.bad > l.warned) {
        char msg[1024], file[512];
        csv_log_escape(opts->path, file, sizeof(file));
        snprintf(msg, sizeof(msg), "msg=\"more bad rows skipped\" file=\"%s\" count=%ld",
                 file, l.bad - l.warned);
        warn(arg, msg);
    }
    csv_reader_free(r);
    free(l.col_of);
    *out = l.t;
    return 0;
fail:
    if (rc == -ENOMEM && err->code == 0)
        fail(err, rc, opts->path, NULL, "out of memory while loading");
    csv_reader_free(r);
    free(l.col_of);
    csv_table_free(l.t);
    return rc;
}

const char *const *csv_table_fields(const struct csv_table *t)
{
    return (const char *const *)t->fields;
}

size_t csv_table_nfields(const struct csv_table *t)
{
    return t->nfields;
}

size_t csv_table_rows(const struct csv_table *t)
{
    return t->n;
}
