/* SPDX-License-Identifier: MIT */
/* daemon/csv_reader.h: a streaming CSV reader on top of libcsv. Feed it the
 * bytes of a file in pieces of any size; it hands back one record at a time
 * with the physical line number the record starts on. It strips a UTF-8 BOM,
 * detects the delimiter (',', ';' or tab) from the first line unless told,
 * accepts CRLF or LF, keeps quoted line breaks as they are, and survives
 * malformed input: a bad record is reported with its line and reason and the
 * reader resynchronises at the next line, so one bad row never stops a file.
 * Memory stays bounded: a record larger than CSV_READER_MAX_RECORD (an
 * unclosed quote swallowing the file) is reported and dropped.
 *
 * Threads: a reader is used by one thread at a time (the import runs it on
 * the threadpool, one chunk after another).
 *
 * Ownership:
 *   struct csv_reader   owned by the caller of csv_reader_new();
 *                       csv_reader_free() releases it (NULL is fine).
 *   struct csv_record   borrowed by the callback for the duration of the call;
 *                       copy what you keep.
 *   struct errbuf       borrowed by the callback for the call.
 */
#ifndef DRUMBEAT_CSV_READER_H
#define DRUMBEAT_CSV_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"

/* Largest record accepted (all its fields together). */
#define CSV_READER_MAX_RECORD (1u << 20)
/* Most fields in one record. */
#define CSV_READER_MAX_FIELDS 1024

struct csv_reader;

/* One record. fields[i] is NUL-terminated and lens[i] excludes the NUL; an
 * empty field is "" (quoted or not). */
struct csv_record {
    size_t n;
    const char *const *fields;
    const size_t *lens;
    long line;              /* physical line (1-based) the record starts on */
};

/* Called once per record (rec != NULL, err == NULL) or per malformed record
 * (rec == NULL, err with where = "line N" and what = the reason). Returning a
 * negative errno stops the reader: feed/finish return it. */
typedef int (*csv_reader_cb)(const struct csv_record *rec, const struct errbuf *err, void *arg);

/* delim is ',', ';' or '\t', or 0 to detect it from the first line. Returns
 * 0, -EINVAL (another delim) or -ENOMEM. */
int csv_reader_new(int delim, csv_reader_cb cb, void *arg, struct csv_reader **out);
void csv_reader_free(struct csv_reader *r);

/* Parses len more bytes. Returns 0, or what the callback returned, or
 * -ENOMEM. */
int csv_reader_feed(struct csv_reader *r, const char *data, size_t len);
/* Ends the input: flushes a last record without a final line break and
 * reports an unclosed quote. Returns as feed does. */
int csv_reader_finish(struct csv_reader *r);

/* The delimiter in use (0 until detected), and records seen so far. */
int csv_reader_delim(const struct csv_reader *r);
long csv_reader_records(const struct csv_reader *r);

#endif /* DRUMBEAT_CSV_READER_H */
