/* SPDX-License-Identifier: MIT */
/* daemon/import.h: one lead import, fed as a stream (the body of POST
 * /api/imports). The loop thread collects the bytes into chunks; each chunk
 * is parsed on the threadpool (CSV through csv_reader or JSON lines, then
 * mapping and per-row normalization, import_row.c); the rows go to the
 * store in batches of import.batch_rows (store_lead_upsert_batch). The
 * writer runs consecutive batches of an import in one transaction, up to
 * WRITER_BULK_MAX of them (store_writer_txn.c), so a crash leaves whole
 * transactions of batches and a re-run completes the file (rows already
 * there come back UNCHANGED). At most one chunk is parsed and
 * IMPORT_MAX_BATCHES batches are waiting for their commit at a time, more
 * than one bulk transaction holds, so the writer never waits for parsing
 * that waits for its commit; past
 * that import_feed() takes nothing until the resume callback, so memory
 * stays bounded whatever the file size.
 *
 * The summary (import_done_cb): {"read", "imported", "updated",
 * "duplicates", "suppressed", "invalid", "probable_duplicates", ...}; read
 * counts data rows (blank rows are skipped and not counted) and equals the
 * sum of the five outcomes after it. Lists of invalid rows (file line and
 * reason), suppressed rows and probable duplicates, up to 1000 each.
 *
 * Threads: every function here runs on the loop thread.
 * Ownership: the import frees itself right after done_cb has run (once its
 * outstanding work has ended): the caller must then drop its pointer and
 * never call it again. done_cb runs later, from the loop, after
 * import_finish() (from inside it only if the last chunk cannot even be
 * queued) or after a failure while feeding. import_abort() (before done_cb)
 * makes it free itself when its work ends, calling nothing. opts, cfg and
 * actor are copied. The summary passed to done_cb is borrowed (incref it).
 */
#ifndef DRUMBEAT_IMPORT_H
#define DRUMBEAT_IMPORT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <uv.h>

#include "config.h"
#include "errors.h"
#include "store.h"

#define IMPORT_CHUNK (256u * 1024)
#define IMPORT_MAX_BATCHES 72
#define IMPORT_LIST_MAX 1000

struct import;

struct import_opts {
    const char *format;        /* "csv" (default) or "jsonl" */
    const char *map;           /* "csvcol=field,..." or NULL */
    const char *source;        /* the list's name, kept per lead, or NULL */
    const char *basis;         /* lawful basis, or NULL for the config's */
    char delimiter;            /* ',', ';', '\t', or 0 to detect */
    bool dry_run;              /* parse, validate and report; keep nothing */
    bool overwrite;            /* replace set fields with non-empty values */
    bool enrich;               /* queue created/changed leads for enrichment,
                                  in the same transactions */
};

/* status 0 with the summary, or a negative errno with err saying why (a
 * bad --map, a store failure). */
typedef void (*import_done_cb)(int status, const json_t *summary, const struct errbuf *err,
                               void *arg);
/* The import takes input again after import_feed() took less than offered. */
typedef void (*import_resume_cb)(void *arg);

/* Checks opts (format, basis, map syntax): -EINVAL with err filled. */
int import_new(uv_loop_t *loop, struct store *st, const struct config *cfg,
               const struct import_opts *opts, const struct store_actor *actor,
               import_resume_cb on_resume, import_done_cb on_done, void *arg,
               struct import **out, struct errbuf *err);

/* Offers len bytes; returns how many were taken (0 .. len), or a negative
 * errno once the import has failed (done_cb has then run or will run). */
long import_feed(struct import *imp, const char *data, size_t len);

/* The input is complete; done_cb runs once everything is committed. */
void import_finish(struct import *imp);

/* The client went away: stops and frees the import when its outstanding
 * work ends; no callback runs. Batches already queued still commit. */
void import_abort(struct import *imp);

#endif /* DRUMBEAT_IMPORT_H */
