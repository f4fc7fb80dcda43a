/* SPDX-License-Identifier: MIT */
/* daemon/import_parse.h: the parsing half of an import, run on the
 * threadpool one chunk at a time: bytes in, leads ready for the store and
 * invalid rows (with their file line and reason) out. CSV goes through
 * csv_reader (its first record is the header, mapped by import_map); JSON
 * lines are one object per line, keys mapped the same way. Also used
 * directly by the fuzz target and the unit tests.
 *
 * Threads: a parser is used by one thread at a time; the loop thread may
 * read an import_out once the job that filled it has finished.
 * Ownership: struct import_parser is the caller's (import_parser_free());
 * rules are borrowed for the parser's life. struct import_out is the
 * caller's: import_out_free() releases what it holds (its rows' strings live
 * in its arena).
 */
#ifndef DRUMBEAT_IMPORT_PARSE_H
#define DRUMBEAT_IMPORT_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "import_map.h"
#include "import_row.h"

enum import_format { IMPORT_FORMAT_CSV = 1, IMPORT_FORMAT_JSONL };

/* Largest JSON line accepted. */
#define IMPORT_JSONL_MAX_LINE (1u << 20)

struct import_bad {
    long line;
    char reason[200];
};

struct import_out {
    struct import_arena arena;
    struct store_lead_in *rows;
    long *lines;                /* file line of each row */
    size_t n, cap;
    struct import_bad *bad;
    size_t n_bad, cap_bad;
    long read;                  /* data rows seen: rows + invalid */
    int status;                 /* < 0: the import cannot go on (err says why) */
    struct errbuf err;
};
void import_out_free(struct import_out *o);

struct import_parser;

/* delim: ',', ';', '\t' or 0 (detect); map: --map text or NULL. Returns
 * -EINVAL with err for a bad map text, -ENOMEM. */
int import_parser_new(enum import_format format, char delim, const char *map,
                      const struct import_rules *rules, struct import_parser **out,
                      struct errbuf *err);
void import_parser_free(struct import_parser *p);

/* Parses len bytes into out (which accumulates); last ends the input. */
void import_parser_feed(struct import_parser *p, const char *data, size_t len, bool last,
                        struct import_out *out);

/* After the header: {"Column": "field" or "attr:key"} (borrowed), or NULL. */
const json_t *import_parser_columns(const struct import_parser *p);
/* The CSV delimiter in use (0 before the header, or for JSON lines). */
int import_parser_delim(const struct import_parser *p);

#endif /* DRUMBEAT_IMPORT_PARSE_H */
