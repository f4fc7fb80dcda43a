/* SPDX-License-Identifier: MIT */
/* daemon/import_parse.c: chunks of an import file to rows. CSV: the
 * csv_reader's records, the first one mapped as the header (a --map naming a
 * missing column stops the import: nothing could be trusted). JSON lines:
 * split at '\n' (a line may straddle chunks), each a JSON object whose keys
 * are headers; the map is rebuilt only when the keys change. Every row then
 * goes through import_row_build().
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv_reader.h"
#include "import_parse.h"

struct import_parser {
    enum import_format format;
    const struct import_rules *rules;     /* borrowed */
    struct import_row_ctx *rcx;
    struct import_overrides *ov;
    struct csv_reader *csv;
    struct import_map *map;
    json_t *columns;
    struct import_out *out;               /* during a feed */
    bool failed;
    /* JSON lines */
    char *jl;
    size_t jl_len, jl_cap;
    long jl_line;
    bool jl_skipping;
    char **keys;                          /* the current map's header */
    size_t n_keys;
};

void import_out_free(struct import_out *o)
{
    import_arena_free(&o->arena);
    free(o->rows);
    free(o->lines);
    free(o->bad);
    memset(o, 0, sizeof(*o));
}

static void out_bad(struct import_out *o, long line, const char *reason)
{
    o->read++;
    if (o->n_bad == o->cap_bad) {
        size_t cap = o->cap_bad != 0 ? o->cap_bad * 2 : 64;
        struct import_bad *b = realloc(o->bad, cap * sizeof(*b));
        if (b == NULL)
            return;   /* counted in read, but not listed */
        o->bad = b;
        o->cap_bad = cap;
    }
    o->bad[o->n_bad].line = line;
    snprintf(o->bad[o->n_bad].reason, sizeof(o->bad[o->n_bad].reason), "%s", reason);
    o->n_bad++;
}

static void fail(struct import_parser *p, const struct errbuf *err)
{
    p->failed = true;
    if (p->out->status == 0) {
        p->out->status = err->code < 0 ? err->code : -EINVAL;
        p->out->err = *err;
    }
}

static void columns_describe(struct import_parser *p, const char *const *headers, size_t n)
{
    json_decref(p->columns);
    p->columns = json_object();
    for (size_t i = 0; p->columns != NULL && i < n; i++) {
        char text[160];
        if (p->map->field[i] == IMPORT_F_ATTR)
            snprintf(text, sizeof(text), "attr:%s", p->map->attr[i]);
        else
            snprintf(text, sizeof(text), "%s", import_field_name(p->map->field[i]));
        json_object_set_new(p->columns, headers[i], json_string(text));
    }
}

/* One data record: to a row, or to the invalid list. */
static void take_record(struct import_parser *p, const char *const *fields, const size_t *lens,
                        size_t n, long line)
{
    struct import_out *o = p->out;
    struct errbuf err = { 0 };
    struct store_lead_in row;
    int rc = import_row_build(p->rcx, p->map, fields, lens, n, &o->arena, &row, &err);

    if (rc == 1)
        return;
    if (rc == -ENOMEM) {
        fail(p, &err);
        return;
    }
    if (rc < 0) {
        out_bad(o, line, err.what);
        return;
    }
    if (o->n == o->cap) {
        size_t cap = o->cap != 0 ? o->cap * 2 : 256;
        struct store_lead_in *r = realloc(o->rows, cap * sizeof(*r));
        if (r != NULL)
            o->rows = r;
        long *l = realloc(o->lines, cap * sizeof(*l));
        if (l != NULL)
            o->lines = l;
        if (r == NULL || l == NULL) {
            err.code = -ENOMEM;
            snprintf(err.what, sizeof(err.what), "out of memory");
            fail(p, &err);
            return;
        }
        o->cap = cap;
    }
    o->rows[o->n] = row;
    o->lines[o->n] = line;
    o->n++;
    o->read++;
}

static int on_csv(const struct csv_record *rec, const struct errbuf *err, void *arg)
{
    struct import_parser *p = arg;

    if (p->failed)
        return -ECANCELED;
    if (rec == NULL) {
        long line = strtol(err->where + strlen("line "), NULL, 10);
        if (p->map == NULL) {
            struct errbuf e = { .code = -EINVAL };
            snprintf(e.where, sizeof(e.where), "line %ld", line);
            snprintf(e.what, sizeof(e.what), "the header cannot be read: %.200s", err->what);
            fail(p, &e);
            return -EINVAL;
        }
        out_bad(p->out, line, err->what);
        return 0;
    }
    if (p->map == NULL) {
        struct errbuf e = { 0 };
        int rc = import_map_new(rec->fields, rec->n, p->ov, 0, &p->map, &e);
        if (rc < 0) {
            fail(p, &e);
            return rc;
        }
        columns_describe(p, rec->fields, rec->n);
        const int *col = p->map->col;
        bool names = (col[IMPORT_F_FIRST_NAME] >= 0 && col[IMPORT_F_LAST_NAME] >= 0) ||
                     col[IMPORT_F_FULL_NAME] >= 0;
        if (col[IMPORT_F_EMAIL] < 0 && !(names && col[IMPORT_F_WEBSITE] >= 0)) {
            e.code = -EINVAL;
            snprintf(e.where, sizeof(e.where), "line %ld", rec->line);
            snprintf(e.what, sizeof(e.what), "no email column in the header, nor names and a "
                     "website to find addresses by (name one with --map COLUMN=email)");
            fail(p, &e);
            return -EINVAL;
        }
        return 0;
    }
    take_record(p, rec->fields, rec->lens, rec->n, rec->line);
    return p->failed ? -ECANCELED : 0;
}

static bool same_keys(struct import_parser *p, const char *const *keys, size_t n)
{
    if (p->map == NULL || n != p->n_keys)
        return false;
    for (size_t i = 0; i < n; i++)
        if (strcmp(keys[i], p->keys[i]) != 0)
            return false;
    return true;
}

static void keys_free(struct import_parser *p)
{
    for (size_t i = 0; i < p->n_keys; i++)
        free(p->keys[i]);
    free(p->keys);
    p->keys = NULL;
    p->n_keys = 0;
}

static void jsonl_line(struct import_parser *p, const char *s, size_t len, long line)
{
    json_error_t jerr;
    size_t i = 0;

    while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r'))
        i++;
    if (i == len)
        return;   /* a blank line */
    json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(obj)) {
        char reason[200];
        if (obj == NULL)
            snprintf(reason, sizeof(reason), "invalid JSON at column %d: %s", jerr.column,
                     jerr.text);
        else
            snprintf(reason, sizeof(reason), "expected a JSON object");
        out_bad(p->out, line, reason);
        json_decref(obj);
        return;
    }
    size_t n = json_object_size(obj);
    const char **keys = calloc(n + 1, sizeof(*keys));
    const char **vals = calloc(n + 1, sizeof(*vals));
    size_t *lens = calloc(n + 1, sizeof(*lens));
    char **owned = calloc(n + 1, sizeof(*owned));
    const char *k;
    json_t *v;
    size_t c = 0;
    if (keys == NULL || vals == NULL || lens == NULL || owned == NULL)
        goto done;
    json_object_foreach(obj, k, v) {
        keys[c] = k;
        if (json_is_string(v)) {
            vals[c] = json_string_value(v);
            lens[c] = json_string_length(v);
        } else if (!json_is_null(v)) {
            owned[c] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            vals[c] = owned[c];
            lens[c] = owned[c] != NULL ? strlen(owned[c]) : 0;
        }
        c++;
    }
    if (!same_keys(p, keys, n)) {
        struct errbuf e = { 0 };
        import_map_free(p->map);
        p->map = NULL;
        keys_free(p);
        /* Lines may carry different keys: a --map key a line lacks is fine. */
        if (import_map_new(keys, n, p->ov, IMPORT_MAP_LENIENT, &p->map, &e) < 0) {
            out_bad(p->out, line, e.what);
            goto done;
        }
        p->keys = calloc(n + 1, sizeof(*p->keys));
        for (size_t i = 0; p->keys != NULL && i < n; i++)
            p->keys[i] = strdup(keys[i]);
        p->n_keys = p->keys != NULL ? n : 0;
        columns_describe(p, keys, n);
    }
    take_record(p, vals, lens, n, line);
done:
    for (size_t i = 0; owned != NULL && i < n; i++)
        free(owned[i]);
    free(owned);
    free(keys);
    free(vals);
    free(lens);
    json_decref(obj);
}

static void jsonl_feed(struct import_parser *p, const char *data, size_t len, bool last)
{
    while (len > 0 && !p->failed) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl != NULL ? (size_t)(nl - data) : len;
        if (!p->jl_skipping) {
            if (p->jl_len + n > IMPORT_JSONL_MAX_LINE) {
                out_bad(p->out, p->jl_line, "line longer than 1 MiB");
                p->jl_skipping = true;
                p->jl_len = 0;
            } else {
                if (p->jl_len + n + 1 > p->jl_cap) {
                    size_t cap = p->jl_cap != 0 ? p->jl_cap : 4096;
                    while (cap < p->jl_len + n + 1)
                        cap *= 2;
                    char *b = realloc(p->jl, cap);
                    if (b == NULL) {
                        struct errbuf e = { .code = -ENOMEM };
                        snprintf(e.what, sizeof(e.what), "out of memory");
                        fail(p, &e);
                        return;
                    }
                    p->jl = b;
                    p->jl_cap = cap;
                }
                memcpy(p->jl + p->jl_len, data, n);
                p->jl_len += n;
            }
        }
        if (nl == NULL)
            break;
        if (!p->jl_skipping)
            jsonl_line(p, p->jl, p->jl_len, p->jl_line);
        p->jl_skipping = false;
        p->jl_len = 0;
        p->jl_line++;
        data = nl + 1;
        len -= n + 1;
    }
    if (last && p->jl_len > 0 && !p->jl_skipping && !p->failed)
        jsonl_line(p, p->jl, p->jl_len, p->jl_line);
}

int import_parser_new(enum import_format format, char delim, const char *map,
                      const struct import_rules *rules, struct import_parser **out,
                      struct errbuf *err)
{
    struct import_parser *p = calloc(1, sizeof(*p));
    int rc;

    if (p == NULL)
        return -ENOMEM;
    p->format = format;
    p->rules = rules;
    p->jl_line = 1;
    if ((rc = import_overrides_parse(map, &p->ov, err)) < 0 ||
        (rc = import_row_ctx_new(rules, &p->rcx)) < 0 ||
        (format == IMPORT_FORMAT_CSV && (rc = csv_reader_new(delim, on_csv, p, &p->csv)) < 0)) {
        if (rc == -EINVAL && err != NULL && err->what[0] == '\0')
            errbuf_at(err, rc, NULL, "delimiter", "expected ',', ';' or a tab");
        import_parser_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void import_parser_free(struct import_parser *p)
{
    if (p == NULL)
        return;
    csv_reader_free(p->csv);
    import_map_free(p->map);
    import_overrides_free(p->ov);
    import_row_ctx_free(p->rcx);
    json_decref(p->columns);
    keys_free(p);
    free(p->jl);
    free(p);
}

void import_parser_feed(struct import_parser *p, const char *data, size_t len, bool last,
                        struct import_out *out)
{
    p->out = out;
    if (p->failed) {
        p->out = NULL;
        return;
    }
    if (p->format == IMPORT_FORMAT_JSONL) {
        jsonl_feed(p, data, len, last);
    } else {
        int rc = len > 0 ? csv_reader_feed(p->csv, data, len) : 0;
        if (rc == 0 && last)
            rc = csv_reader_finish(p->csv);
        if (rc < 0 && !p->failed) {
            struct errbuf e = { .code = rc };
            snprintf(e.what, sizeof(e.what), "cannot parse the CSV: %s", error_text(rc));
            fail(p, &e);
        }
    }
    p->out = NULL;
}

const json_t *import_parser_columns(const struct import_parser *p)
{
    return p->columns;
}

int import_parser_delim(const struct import_parser *p)
{
    return p->csv != NULL ? csv_reader_delim(p->csv) : 0;
}
