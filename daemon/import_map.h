/* SPDX-License-Identifier: MIT */
/* daemon/import_map.h: which lead field each column of an import feeds.
 * Headers are matched case-, space- and punctuation-blind against the
 * common spellings ("Email", "E-mail", "Email Address" -> email; "First
 * Name", "firstname" -> first_name ...). `--map csvcol=field,...` overrides
 * that: field is a lead field, "ignore", or any other name, which keeps the
 * column as a free attribute of that name. Columns that map to nothing stay
 * free attributes, keyed by their header folded to lower_snake_case ("Company
 * Size" -> "company_size"), so ICP rules can name them.
 *
 * Threads: a map is read-only once built; any thread.
 * Ownership: struct import_map and struct import_overrides are owned by
 * their creator (import_map_free(), import_overrides_free(); NULL is fine).
 * Headers passed in are copied.
 */
#ifndef DRUMBEAT_IMPORT_MAP_H
#define DRUMBEAT_IMPORT_MAP_H

#include <stddef.h>

#include "errors.h"

enum import_field {
    IMPORT_F_ATTR = 0,     /* a free attribute */
    IMPORT_F_EMAIL,
    IMPORT_F_FIRST_NAME,
    IMPORT_F_LAST_NAME,
    IMPORT_F_FULL_NAME,    /* "Name": split into first and last when those are absent */
    IMPORT_F_COMPANY,
    IMPORT_F_TITLE,
    IMPORT_F_PHONE,
    IMPORT_F_WEBSITE,      /* website or bare domain */
    IMPORT_F_COUNTRY,
    IMPORT_F_REGION,       /* state, province: kept as the attribute "region" */
    IMPORT_F_TIMEZONE,
    IMPORT_F_LINKEDIN,
    IMPORT_F_IGNORE,       /* dropped */
    IMPORT_F_COUNT
};

/* "email", "first_name", ..., "ignore"; "attr" for IMPORT_F_ATTR. */
const char *import_field_name(enum import_field f);

/* Parsed --map text. */
struct import_overrides;

/* Parses "csvcol=field,csvcol=field" (a column name may not hold ',' or
 * '='). Returns 0, -EINVAL with err (where "map", what the problem) or
 * -ENOMEM. An empty or NULL text gives an empty set. */
int import_overrides_parse(const char *text, struct import_overrides **out, struct errbuf *err);
void import_overrides_free(struct import_overrides *ov);

/* The field for one header (overrides first, then the common spellings);
 * for IMPORT_F_ATTR, attr (cap >= 64) receives the attribute key. */
enum import_field import_map_resolve(const struct import_overrides *ov, const char *header,
                                     char *attr, size_t cap);

/* A whole header row. */
struct import_map {
    size_t n;
    enum import_field *field;  /* per column */
    char **attr;               /* per column: the attribute key, or NULL */
    int col[IMPORT_F_COUNT];   /* the column of each field, -1 when none */
};

/* Builds the map of a header row. A field named by two columns goes to the
 * first (or to the one an override names); the others become attributes.
 * Fails with -EINVAL (err filled) when an override names a column the
 * header lacks, unless flags has IMPORT_MAP_LENIENT. */
#define IMPORT_MAP_LENIENT 0x1u   /* overrides may name absent columns (JSON lines) */
int import_map_new(const char *const *headers, size_t n, const struct import_overrides *ov,
                   unsigned flags, struct import_map **out, struct errbuf *err);
void import_map_free(struct import_map *m);

/* Lower-case letters and digits only: how headers are compared. */
void import_fold(const char *in, char *out, size_t cap);

#endif /* DRUMBEAT_IMPORT_MAP_H */
