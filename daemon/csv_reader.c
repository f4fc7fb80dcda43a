/* SPDX-License-Identifier: MIT */
/* daemon/csv_reader.c: streaming CSV records through libcsv (strict mode).
 * libcsv knows nothing of line numbers, so the input is fed to it one
 * physical line (or at most CSV_PIECE bytes of one) at a time: whenever the
 * parser sits between records before a line, the next record starts on that
 * line. The same slicing bounds memory: after each piece the size of the
 * record being built is checked. A strict-mode error or an oversized record
 * drops the record, skips to the end of the current line and starts a fresh
 * parser there.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "csv_reader.h"

/* libcsv's parser states (libcsv.c); only "between records" matters here. */
#define CSV_PSTATE_ROW_NOT_BEGUN 0

/* Largest slice handed to libcsv at once, so a line without a line break
 * cannot grow a record far past the limit before it is checked. */
#define CSV_PIECE (64u * 1024)
/* How much of the first line is kept to detect the delimiter. */
#define CSV_HEAD_MAX (64u * 1024)

struct csv_reader {
    struct csv_parser p;
    bool p_ready;
    int delim;                  /* 0 until detected */
    csv_reader_cb cb;
    void *arg;
    int status;                 /* first negative errno: sticks */

    /* Bytes before the delimiter is known (the first line). */
    char *head;
    size_t head_len;
    bool bom_checked;
    unsigned char bom[3];
    size_t bom_len;

    long line;                  /* physical line of the next byte fed */
    long rec_line;              /* line the current record started on */
    bool skipping;              /* after an error: drop bytes up to '\n' */
    bool broken;                /* the current record is being dropped */
    long records;

    /* The record being built: fields back to back, NUL-terminated. */
    char *buf;
    size_t used, cap;
    size_t *offs, *lens;
    const char **ptrs;
    size_t nf, capf;
};

static int space_only(unsigned char c)
{
    return c == CSV_SPACE;
}

static int space_or_tab(unsigned char c)
{
    return c == CSV_SPACE || c == CSV_TAB;
}

static int reader_parser_init(struct csv_reader *r)
{
    if (r->p_ready)
        csv_free(&r->p);
    r->p_ready = false;
    if (csv_init(&r->p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL | CSV_EMPTY_IS_NULL) != 0)
        return -ENOMEM;
    csv_set_delim(&r->p, (unsigned char)r->delim);
    /* Unquoted fields are trimmed of blanks, but a tab that delimits must
     * never be taken for a blank. */
    csv_set_space_func(&r->p, r->delim == '\t' ? space_only : space_or_tab);
    r->p_ready = true;
    return 0;
}

int csv_reader_new(int delim, csv_reader_cb cb, void *arg, struct csv_reader **out)
{
    if (delim != 0 && delim != ',' && delim != ';' && delim != '\t')
        return -EINVAL;
    struct csv_reader *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->delim = delim;
    r->cb = cb;
    r->arg = arg;
    r->line = 1;
    r->rec_line = 1;
    if (delim != 0 && reader_parser_init(r) < 0) {
        free(r);
        return -ENOMEM;
    }
    *out = r;
    return 0;
}

void csv_reader_free(struct csv_reader *r)
{
    if (r == NULL)
        return;
    if (r->p_ready)
        csv_free(&r->p);
    free(r->head);
    free(r->buf);
    free(r->offs);
    free(r->lens);
    free(r->ptrs);
    free(r);
}

int csv_reader_delim(const struct csv_reader *r)
{
    return r->delim;
}

long csv_reader_records(const struct csv_reader *r)
{
    return r->records;
}

static void record_reset(struct csv_reader *r)
{
    r->used = 0;
    r->nf = 0;
    r->broken = false;
}

static void report(struct csv_reader *r, long line, const char *fmt, const char *detail)
{
    struct errbuf err = { .code = -EINVAL };
    snprintf(err.where, sizeof(err.where), "line %ld", line);
    snprintf(err.what, sizeof(err.what), fmt, detail);
    int rc = r->cb(NULL, &err, r->arg);
    if (rc < 0 && r->status == 0)
        r->status = rc;
}

static void on_field(void *s, size_t len, void *data)
{
    struct csv_reader *r = data;

    if (r->broken || r->status < 0)
        return;
    if (r->nf == CSV_READER_MAX_FIELDS || r->used + len + 1 > CSV_READER_MAX_RECORD) {
        r->broken = true;
        return;
    }
    if (r->nf == r->capf) {
        size_t cap = r->capf != 0 ? r->capf * 2 : 32;
        size_t *o = realloc(r->offs, cap * sizeof(*o));
        if (o != NULL)
            r->offs = o;
        size_t *l = realloc(r->lens, cap * sizeof(*l));
        if (l != NULL)
            r->lens = l;
        const char **p = realloc(r->ptrs, cap * sizeof(*p));
        if (p != NULL)
            r->ptrs = p;
        if (o == NULL || l == NULL || p == NULL) {
            r->status = -ENOMEM;
            return;
        }
        r->capf = cap;
    }
    if (r->used + len + 1 > r->cap) {
        size_t cap = r->cap != 0 ? r->cap : 4096;
        while (cap < r->used + len + 1)
            cap *= 2;
        char *b = realloc(r->buf, cap);
        if (b == NULL) {
            r->status = -ENOMEM;
            return;
        }
        r->buf = b;
        r->cap = cap;
    }
    if (len > 0)
        memcpy(r->buf + r->used, s, len);
    r->buf[r->used + len] = '\0';
    r->offs[r->nf] = r->used;
    r->lens[r->nf] = len;
    r->nf++;
    r->used += len + 1;
}

static void on_record(int c, void *data)
{
    struct csv_reader *r = data;

    if (r->status < 0)
        return;
    if (r->broken) {
        char limit[64];
        snprintf(limit, sizeof(limit), "%u bytes or %u fields",
                 CSV_READER_MAX_RECORD, CSV_READER_MAX_FIELDS);
        report(r, r->rec_line, "record larger than %s", limit);
        record_reset(r);
        return;
    }
    for (size_t i = 0; i < r->nf; i++)
        r->ptrs[i] = r->buf + r->offs[i];
    struct csv_record rec = {
        .n = r->nf, .fields = r->ptrs, .lens = r->lens, .line = r->rec_line,
    };
    r->records++;
    int rc = r->cb(&rec, NULL, r->arg);
    if (rc < 0 && r->status == 0)
        r->status = rc;
    record_reset(r);
}

/* Drops the record in progress and starts over after the current line. */
static int resync(struct csv_reader *r, const char *why)
{
    report(r, r->rec_line, "%s", why);
    record_reset(r);
    r->skipping = true;
    int rc = reader_parser_init(r);
    return rc < 0 ? rc : r->status;
}

/* Feeds one piece that holds at most one '\n', at its end. */
static int feed_piece(struct csv_reader *r, const char *s, size_t n, bool ends_line)
{
    if (r->skipping) {
        if (ends_line) {
            r->skipping = false;
            r->line++;
        }
        return 0;
    }
    if (r->p.pstate == CSV_PSTATE_ROW_NOT_BEGUN)
        r->rec_line = r->line;
    size_t done = csv_parse(&r->p, s, n, on_field, on_record, r);
    if (r->status < 0)
        return r->status;
    if (done < n) {
        int e = csv_error(&r->p);
        int rc = resync(r, e == CSV_EPARSE
                        ? "malformed quoting: a quote inside an unquoted field, or text "
                          "after a closing quote"
                        : e == CSV_ENOMEM ? "out of memory" : "record too large");
        if (rc < 0)
            return rc;
        if (ends_line) {
            r->skipping = false;
            r->line++;
        }
        return 0;
    }
    if (r->p.entry_pos + r->used > CSV_READER_MAX_RECORD) {
        char limit[32];
        snprintf(limit, sizeof(limit), "%u bytes", CSV_READER_MAX_RECORD);
        report(r, r->rec_line, "record larger than %s (an unclosed quote?)", limit);
        record_reset(r);
        int rc = reader_parser_init(r);
        if (rc < 0 || r->status < 0)
            return rc < 0 ? rc : r->status;
        /* Whatever the quote swallowed is lost; parsing resumes at the
         * next line. */
        r->skipping = !ends_line;
    }
    if (ends_line)
        r->line++;
    return 0;
}

static int feed_lines(struct csv_reader *r, const char *data, size_t len)
{
    while (len > 0) {
        const char *nl = memchr(data, '\n', len < CSV_PIECE ? len : CSV_PIECE);
        size_t n = nl != NULL ? (size_t)(nl - data) + 1 : (len < CSV_PIECE ? len : CSV_PIECE);
        int rc = feed_piece(r, data, n, nl != NULL);
        if (rc < 0)
            return rc;
        data += n;
        len -= n;
    }
    return 0;
}

/* The delimiter that occurs most often outside quotes in the first line;
 * a comma when there is none. */
static int detect_delim(const char *s, size_t n)
{
    size_t comma = 0, semi = 0, tab = 0;
    bool quoted = false;

    for (size_t i = 0; i < n && (quoted || (s[i] != '\n' && s[i] != '\r')); i++) {
        if (s[i] == '"')
            quoted = !quoted;
        else if (!quoted && s[i] == ',')
            comma++;
        else if (!quoted && s[i] == ';')
            semi++;
        else if (!quoted && s[i] == '\t')
            tab++;
    }
    if (semi > comma && semi >= tab)
        return ';';
    if (tab > comma && tab > semi)
        return '\t';
    return ',';
}

static int flush_head(struct csv_reader *r)
{
    r->delim = detect_delim(r->head != NULL ? r->head : "", r->head_len);
    int rc = reader_parser_init(r);
    if (rc < 0)
        return rc;
    rc = feed_lines(r, r->head, r->head_len);
    free(r->head);
    r->head = NULL;
    r->head_len = 0;
    return rc;
}

/* Holds back the first bytes until they are known not to be a BOM. */
static size_t take_bom(struct csv_reader *r, const char *data, size_t len)
{
    static const unsigned char bom[3] = { 0xef, 0xbb, 0xbf };
    size_t i = 0;

    while (!r->bom_checked && i < len) {
        if ((unsigned char)data[i] != bom[r->bom_len]) {
            r->bom_checked = true;
            break;
        }
        r->bom[r->bom_len++] = (unsigned char)data[i++];
        if (r->bom_len == 3) {
            r->bom_checked = true;
            r->bom_len = 0;       /* a whole BOM: dropped */
        }
    }
    return i;
}

static int feed_bytes(struct csv_reader *r, const char *data, size_t len)
{
    if (r->delim != 0 && r->head == NULL)
        return feed_lines(r, data, len);
    /* Still detecting: collect the first line. */
    size_t room = CSV_HEAD_MAX - r->head_len;
    size_t n = len < room ? len : room;
    char *h = realloc(r->head, r->head_len + n + 1);
    if (h == NULL)
        return -ENOMEM;
    r->head = h;
    memcpy(r->head + r->head_len, data, n);
    r->head_len += n;
    bool line_done = memchr(data, '\n', n) != NULL || r->head_len == CSV_HEAD_MAX;
    if (!line_done)
        return 0;
    int rc = flush_head(r);
    if (rc < 0)
        return rc;
    return n < len ? feed_lines(r, data + n, len - n) : 0;
}

int csv_reader_feed(struct csv_reader *r, const char *data, size_t len)
{
    if (r->status < 0)
        return r->status;
    if (!r->bom_checked) {
        size_t used = take_bom(r, data, len);
        data += used;
        len -= used;
        if (!r->bom_checked)
            return 0;
        if (r->bom_len > 0) {
            /* Not a BOM after all: its bytes are data. */
            unsigned char held[3];
            size_t n = r->bom_len;
            memcpy(held, r->bom, n);
            r->bom_len = 0;
            int rc = feed_bytes(r, (const char *)held, n);
            if (rc < 0)
                return r->status = rc;
        }
    }
    int rc = len > 0 ? feed_bytes(r, data, len) : 0;
    if (rc < 0 && r->status == 0)
        r->status = rc;
    return rc;
}

int csv_reader_finish(struct csv_reader *r)
{
    int rc;

    if (r->status < 0)
        return r->status;
    if (!r->bom_checked && r->bom_len > 0) {
        r->bom_checked = true;
        unsigned char held[3];
        size_t n = r->bom_len;
        memcpy(held, r->bom, n);
        r->bom_len = 0;
        if ((rc = feed_bytes(r, (const char *)held, n)) < 0)
            return r->status = rc;
    }
    if (r->delim == 0 || r->head != NULL) {
        if ((rc = flush_head(r)) < 0)
            return r->status = rc;
    }
    if (r->skipping) {
        r->skipping = false;
        record_reset(r);
        return r->status;
    }
    if (csv_fini(&r->p, on_field, on_record, r) != 0 && r->status == 0) {
        report(r, r->rec_line, "%s", "unclosed quoted field at the end of the file");
        record_reset(r);
    }
    return r->status;
}
