/* SPDX-License-Identifier: MIT */
/* plugins/enrich_csv/csv_table.h: a CSV file (a firmographics list) loaded
 * into memory as a hash table from a normalised key (a domain or an email
 * address) to the row's mapped values. The file is parsed once, with
 * daemon/csv_reader.c on libcsv (RFC 4180 quoting, embedded line breaks, a
 * UTF-8 BOM, CRLF or LF, ',' ';' or tab detected from the header line). A
 * bad row is reported through the warn callback with its line number and
 * skipped; only a file that cannot be read or lacks the key column (or a
 * column the map names) fails the load.
 *
 * Threads: loaded on one thread; afterwards lookups only read, so any
 * number of threads may look up concurrently.
 *
 * Ownership:
 *   struct csv_table   owned by the caller of csv_table_load();
 *                      csv_table_free() releases it (NULL is fine).
 *   opts               borrowed for the call.
 *   returned strings   (field names, row values) owned by the table and
 *                      valid until csv_table_free.
 */
#ifndef DRUMBEAT_CSV_TABLE_H
#define DRUMBEAT_CSV_TABLE_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

enum csv_key_kind {
    CSV_KEY_DOMAIN = 1,   /* "www.Acme.com" and "https://acme.com/x" -> "acme.com" */
    CSV_KEY_EMAIL = 2,    /* " Ada@Acme.COM " -> "ada@acme.com" */
};

struct csv_table_opts {
    const char *path;          /* the file */
    enum csv_key_kind kind;
    const char *key_column;    /* header holding the key; matched case-insensitively */
    const char *map;           /* "csvcol=field,..." or NULL: every other column under
                                  its header, lower-cased, blanks as '_' */
    int delim;                 /* ',', ';', '\t', or 0 to detect it */
};

/* Called for each skipped row (and a summary); msg is a key=value log line. */
typedef void (*csv_table_warn_cb)(void *arg, const char *msg);

struct csv_table;

/* Reads and indexes opts->path. Returns 0 with *out set, or a negative errno
 * with err naming the file and what was expected: -ENOENT/-EACCES/... (cannot
 * read it), -EINVAL (no header, no key column, a map column the header lacks,
 * a malformed map), -ENOMEM. */
int csv_table_load(const struct csv_table_opts *opts, csv_table_warn_cb warn, void *arg,
                   struct csv_table **out, struct errbuf *err);
void csv_table_free(struct csv_table *t);

/* The mapped lead field names, NULL-terminated, in map order. */
const char *const *csv_table_fields(const struct csv_table *t);
size_t csv_table_nfields(const struct csv_table *t);
/* Rows indexed (bad and duplicate rows not counted). */
size_t csv_table_rows(const struct csv_table *t);

/* The values (csv_table_nfields of them, NULL where the cell was empty) of
 * the row whose key normalises like key, or NULL. */
const char *const *csv_table_find(const struct csv_table *t, const char *key);

/* Normalises in as a key of that kind into buf. Returns the length, 0 when
 * nothing is left (no key), or -ENAMETOOLONG. */
int csv_key_normalize(enum csv_key_kind kind, const char *in, char *buf, size_t cap);

/* Copies in into out (cap bytes) for a quoted log value: '"', '\\' and
 * line breaks escaped, cut short when out is full. */
void csv_log_escape(const char *in, char *out, size_t cap);

#endif /* DRUMBEAT_CSV_TABLE_H */
