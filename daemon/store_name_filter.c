/* SPDX-License-Identifier: MIT */
/* daemon/store_name_filter.c: the Bloom filter of lead name keys an import
 * consults before probing for a probable duplicate (store_name_filter.h
 * says why and when it is exact).
 */
#define SQLITE_ENABLE_PREUPDATE_HOOK 1   /* declares the hook API in sqlite3.h */

#include <errno.h>
#include <stdlib.h>

#include "store_internal.h"

#define FILTER_BITS (1u << 25)          /* 4 MiB */
#define FILTER_WORDS (FILTER_BITS / 64)
#define FILTER_PROBES 3

/* 64-bit FNV-1a over one value and a 0 byte after it (a C string holds
 * none, so "ab"+"c" and "a"+"bc" differ); names fold ASCII letters as
 * COLLATE NOCASE does, domains are compared byte for byte. */
static uint64_t hash_add(uint64_t h, const unsigned char *s, bool fold)
{
    for (; *s != '\0'; s++) {
        unsigned char c = *s;
        if (fold && c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        h = (h ^ c) * 0x100000001b3ull;
    }
    return (h ^ 0) * 0x100000001b3ull;
}

static uint64_t key_hash(const unsigned char *domain, const unsigned char *first,
                         const unsigned char *last)
{
    uint64_t h = 0xcbf29ce484222325ull;
    h = hash_add(h, domain, false);
    h = hash_add(h, first, true);
    return hash_add(h, last, true);
}

/* The i-th bit of a key: double hashing over a mixed second hash (the
 * splitmix64 finalizer), odd so the probes differ. */
static uint32_t bit_of(uint64_t h, int i)
{
    uint64_t h2 = h;
    h2 = (h2 ^ (h2 >> 30)) * 0xbf58476d1ce4e5b9ull;
    h2 = (h2 ^ (h2 >> 27)) * 0x94d049bb133111ebull;
    h2 = (h2 ^ (h2 >> 31)) | 1;
    return (uint32_t)((h + (uint64_t)i * h2) & (FILTER_BITS - 1));
}

static void key_add(struct store_name_filter *f, const unsigned char *domain,
                    const unsigned char *first, const unsigned char *last)
{
    uint64_t h = key_hash(domain, first, last);
    for (int i = 0; i < FILTER_PROBES; i++) {
        uint32_t b = bit_of(h, i);
        f->bits[b / 64] |= 1ull << (b % 64);
    }
}

bool store_name_filter_maybe(const struct store_name_filter *f, const char *domain,
                             const char *first, const char *last)
{
    if (f->bits == NULL || domain == NULL || first == NULL || last == NULL)
        return true;
    uint64_t h = key_hash((const unsigned char *)domain, (const unsigned char *)first,
                          (const unsigned char *)last);
    for (int i = 0; i < FILTER_PROBES; i++) {
        uint32_t b = bit_of(h, i);
        if ((f->bits[b / 64] & (1ull << (b % 64))) == 0)
            return false;
    }
    return true;
}

void store_name_filter_add(struct store_name_filter *f, const char *domain, const char *first,
                           const char *last)
{
    if (f->bits != NULL && domain != NULL && first != NULL && last != NULL)
        key_add(f, (const unsigned char *)domain, (const unsigned char *)first,
                (const unsigned char *)last);
}

void store_name_filter_row(struct store_name_filter *f, sqlite3 *db, int op)
{
    sqlite3_value *d = NULL, *a = NULL, *b = NULL;
    if (f->bits == NULL || f->by_caller || op == SQLITE_DELETE)
        return;
    if (sqlite3_preupdate_new(db, f->domain_col, &d) != SQLITE_OK ||
        sqlite3_preupdate_new(db, f->first_col, &a) != SQLITE_OK ||
        sqlite3_preupdate_new(db, f->last_col, &b) != SQLITE_OK || d == NULL || a == NULL ||
        b == NULL || sqlite3_value_type(d) == SQLITE_NULL ||
        sqlite3_value_type(a) == SQLITE_NULL || sqlite3_value_type(b) == SQLITE_NULL)
        return;
    const unsigned char *dt = sqlite3_value_text(d), *at = sqlite3_value_text(a),
                        *bt = sqlite3_value_text(b);
    if (dt != NULL && at != NULL && bt != NULL)
        key_add(f, dt, at, bt);
}

/* Every key in the store, from the covering index leads_domain. */
static int filter_build(struct store *st)
{
    struct store_name_filter *f = &st->names;
    sqlite3_stmt *s;
    int rc;
    if ((rc = store_column_index(&st->wr, "leads", "domain", &f->domain_col)) < 0 ||
        (rc = store_column_index(&st->wr, "leads", "first_name", &f->first_col)) < 0 ||
        (rc = store_column_index(&st->wr, "leads", "last_name", &f->last_col)) < 0)
        return rc;
    uint64_t *bits = calloc(FILTER_WORDS, sizeof(*bits));
    if (bits == NULL)
        return -ENOMEM;
    f->bits = bits;
    rc = store_stmt(&st->wr, "SELECT domain, first_name, last_name FROM leads"
                    " WHERE domain IS NOT NULL AND first_name IS NOT NULL"
                    " AND last_name IS NOT NULL", &s);
    if (rc == 0) {
        while ((rc = sqlite3_step(s)) == SQLITE_ROW)
            key_add(f, sqlite3_column_text(s, 0), sqlite3_column_text(s, 1),
                    sqlite3_column_text(s, 2));
        rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
        sqlite3_reset(s);
    }
    if (rc < 0) {
        free(f->bits);
        f->bits = NULL;
    }
    return rc;
}

int store_name_filter_begin(struct store *st)
{
    struct store_name_filter *f = &st->names;
    if (f->burst)
        return 0;
    int64_t leads = 0;
    int rc = store_query_int(&st->wr, "SELECT coalesce(max(id), 0) FROM leads", &leads);
    if (rc < 0)
        return rc;
    f->burst = true;
    f->leads_at_begin = leads;
    f->rows = 0;
    return 0;
}

void store_name_filter_rows(struct store *st, int64_t n)
{
    struct store_name_filter *f = &st->names;
    if (!f->burst || f->bits != NULL)
        return;
    f->rows += n;
    if (f->rows * 4 >= f->leads_at_begin)
        filter_build(st);       /* on failure: still unbuilt, every key probed */
}

void store_name_filter_end(struct store_name_filter *f)
{
    free(f->bits);
    f->bits = NULL;
    f->burst = false;
}
