/* SPDX-License-Identifier: MIT */
/* daemon/import_row.h: one import row, from the texts of its columns to a
 * lead ready for the store: trim every value; take the mapped fields;
 * normalize and validate the email (invalid rows are refused with the
 * reason); split a full name; resolve the country; normalize the phone to
 * E.164 (or keep it, flagged); take or infer the time zone; derive the
 * company domain from the website, else from the email unless it is a
 * free-mail one; flag role and free-mail addresses; gather free attributes.
 *
 * What goes into attrs besides the free attributes (keys starting with '_'
 * are drumbeat's own; a column can never produce one):
 *   "region"          the state/province column, when given;
 *   "website"         the website as written, when given;
 *   "email_as_given"  the address with its local part as written, when it
 *                     has capitals (the store keys leads by the lower-cased
 *                     address);
 *   "_flags"          {"role_address": true, "free_mail": true,
 *                      "phone_unnormalized": "<why>", "country_unknown": true,
 *                      "timezone_invalid": true}, only the flags that apply;
 *   "_provenance"     {"email_status": {"by": "import", "source": "<source>"}}.
 * email_status is "syntax_ok" for every row that passes.
 *
 * Threads: an import_row_ctx is used by one thread at a time (the import's
 * worker); the rules it points to are read-only.
 * Ownership: struct import_rules and everything it points to are borrowed
 * for the ctx's life. Strings of a built row live in the arena given, until
 * import_arena_free().
 */
#ifndef DRUMBEAT_IMPORT_ROW_H
#define DRUMBEAT_IMPORT_ROW_H

#include <stdbool.h>
#include <stddef.h>

#include "errors.h"
#include "import_map.h"
#include "store.h"

/* What every row of one import shares. */
struct import_rules {
    const char *const *free_mail;    /* NULL-terminated domains */
    const char *const *role_locals;  /* NULL-terminated local parts */
    const char *source;              /* --source, or NULL */
    const char *lawful_basis;        /* never NULL */
    bool overwrite;
};

/* A block arena: strings allocated here are freed all at once. */
struct import_arena {
    struct import_arena_block *head;
};
char *import_arena_dup(struct import_arena *a, const char *s, size_t n);
void import_arena_free(struct import_arena *a);

struct import_row_ctx;

int import_row_ctx_new(const struct import_rules *rules, struct import_row_ctx **out);
void import_row_ctx_free(struct import_row_ctx *cx);

/* Builds the lead of one record: fields[i] (lens[i] bytes) is column i of
 * n, mapped by map. Returns 0 with *out filled (strings in a), 1 when every
 * value is empty (a blank row: skip it), or -EINVAL with err->what saying
 * why the row is invalid (the values themselves are not echoed), or
 * -ENOMEM. */
int import_row_build(struct import_row_ctx *cx, const struct import_map *map,
                     const char *const *fields, const size_t *lens, size_t n,
                     struct import_arena *a, struct store_lead_in *out, struct errbuf *err);

/* The company domain of a website ("https://www.Acme.io/about" -> "acme.io")
 * into out, or -EINVAL when it holds no host name. */
int import_website_domain(const char *site, char *out, size_t outlen);

#endif /* DRUMBEAT_IMPORT_ROW_H */
