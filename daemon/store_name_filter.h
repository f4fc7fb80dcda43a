/* SPDX-License-Identifier: MIT */
/* daemon/store_name_filter.h: which (domain, first name, last name) keys the
 * leads in the store may have, so an import probes leads_domain for a
 * probable duplicate only where one may exist.
 *
 * An import asks, for each lead it creates, whether another lead has the
 * same first and last name (case-blind, as COLLATE NOCASE: ASCII letters)
 * at the same domain. The answer is nearly always no, and finding that out
 * in the index took a fifth of the writer's time in a 1,000,000-row import.
 * A Bloom filter says "no" for sure and "maybe" now and then; only a maybe
 * is probed. It is exact in the direction that matters as long as every key
 * in the store is in it: it is filled from leads_domain when built, and the
 * writer connection's pre-update hook (store_counts.c) adds the key of every
 * lead inserted or updated afterwards, whichever code wrote it (an import
 * batch adds its own, store_name_filter_add). Rolled-back
 * writes leave their keys: more maybes, never a missed duplicate. Writes by
 * another process (the sqlite3 shell) during an import are not seen.
 *
 * It lives for one import burst (store_import_burst.c): built once the
 * burst has read as many rows as a quarter of the leads the store had when
 * it began (at once on an empty store: filling it costs a fraction of a
 * probe per lead, so a small import into a large store keeps probing), and
 * freed when the writer goes idle. Its size is fixed (4 MiB): 1,000,000
 * keys answer maybe for under 0.1% of new keys, 10,000,000 for about a
 * fifth.
 *
 * Threads: the writer thread's (st->wr's) only.
 * Ownership: the bit array is malloc'd by the filter and freed by
 * store_name_filter_end() or store_close().
 */
#ifndef DRUMBEAT_STORE_NAME_FILTER_H
#define DRUMBEAT_STORE_NAME_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

struct store;

struct store_name_filter {
    uint64_t *bits;             /* NULL: not built; every key may be there */
    bool burst;                 /* between begin and end */
    int64_t leads_at_begin;     /* max(id) when the burst began */
    int64_t rows;               /* rows the burst has read */
    int domain_col, first_col, last_col;    /* in leads, for the hook */
    bool by_caller;             /* the running writes add their keys themselves */
};

/* Starts a burst: notes the store's size. No effect on a running one. */
int store_name_filter_begin(struct store *st);
/* Counts n more rows read; builds the filter once they are enough. A
 * failure leaves it unbuilt (every key maybe) and is not an error. */
void store_name_filter_rows(struct store *st, int64_t n);
/* Whether a lead with these values may exist (true when not built or when
 * a value is NULL: the probe then decides as before). */
bool store_name_filter_maybe(const struct store_name_filter *f, const char *domain,
                             const char *first, const char *last);
/* Adds a key written to the store (nothing when not built, or when a value
 * is NULL). An import batch adds its rows' keys itself, with by_caller set:
 * the hook's reading of a row's new values cost two thirds of the probe it
 * spares. */
void store_name_filter_add(struct store_name_filter *f, const char *domain, const char *first,
                           const char *last);
/* From the pre-update hook: main.leads row being inserted or updated
 * (nothing while by_caller is set). */
void store_name_filter_row(struct store_name_filter *f, sqlite3 *db, int op);
/* Ends the burst and frees the bits. */
void store_name_filter_end(struct store_name_filter *f);

#endif
