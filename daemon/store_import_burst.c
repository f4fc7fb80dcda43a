/* SPDX-License-Identifier: MIT */
/* daemon/store_import_burst.c: what the writer thread raises while import
 * batches are queued, and puts back once it is idle with none queued:
 *
 * - The page cache. SQLite's default 2 MiB turns every index lookup of a
 *   big import into a pread; IMPORT_CACHE_KIB holds the hot index pages of
 *   millions of leads. It also holds what a bulk transaction (56 batches,
 *   store_writer.c) changes: once the changed pages fill the cache, SQLite
 *   writes them to the WAL before the commit and again at the commit, a
 *   tenth of the writer's time at 32 MiB; 64 MiB took a 1,000,000-row
 *   import from 18 s to 14.5-15.3 s, at 146 MB peak RSS (target < 200 MB).
 *   An idle daemon does not keep it (issue 5's RSS target).
 * - glibc's heap trim threshold. glibc hands a thread arena's free top back
 *   to the system as soon as it passes 128 KiB, so the writer, which frees
 *   each transaction's statement journal and row buffers, shrank and regrew
 *   its heap (a page fault per page) at every commit: a seventh of an
 *   import's time in perf. During the burst the heap keeps what it freed.
 *   Not for good: glibc never shrinks a thread arena's top below the trim
 *   threshold, not even in malloc_trim, so a daemon that kept it would stay
 *   at its busiest size (64-72 MB at rest instead of 56 MB in bench_cadence
 *   at 1,000,000 leads). Put back, both thresholds have glibc's default
 *   value again (128 KiB; glibc no longer adapts the mmap threshold once a
 *   program set one), and the writer's free of the cache pages trims its
 *   arena. mallopt changes process-wide settings that other threads' malloc
 *   reads without a lock: each is one aligned word, read whole.
 * - The name filter (store_name_filter.h): its burst begins and ends here.
 *
 * Threads: begin and idle run on the writer thread; queued_add from any.
 * import_queued counts batches submitted and not yet run, over every store
 * of the process (a second store's import only delays the put-back); the
 * cache size to put back is per writer thread, i.e. per store. The heap
 * setting is process-wide; the last store to go idle puts it back.
 */
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>

#include "store_internal.h"

#define IMPORT_CACHE_KIB 65536
#define IMPORT_TRIM_THRESHOLD (128 << 20)
#define IMPORT_MMAP_THRESHOLD (4 << 20)
#define GLIBC_DEFAULT_THRESHOLD (128 << 10)     /* M_TRIM_ and M_MMAP_THRESHOLD */

static atomic_int import_queued;
static atomic_int heap_bursts;              /* writers with the heap setting raised */
static _Thread_local int cache_before;      /* 0: not raised */

void store_import_queued_add(int n)
{
    atomic_fetch_add(&import_queued, n);
}

int store_wr_import_begin(struct store *st)
{
    int64_t now = 0;
    int rc = store_name_filter_begin(st);
    if (rc < 0 || cache_before != 0)
        return rc;
    rc = store_query_int(&st->wr, "PRAGMA cache_size", &now);
    if (rc < 0 || now == -IMPORT_CACHE_KIB)
        return rc;
    char sql[48];
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %d", -IMPORT_CACHE_KIB);
    rc = store_exec(&st->wr, sql);
    if (rc < 0)
        return rc;
    cache_before = now != 0 ? (int)now : -2000;
    if (atomic_fetch_add(&heap_bursts, 1) == 0) {
        /* Setting one threshold fixes the other (glibc stops adapting the
         * mmap threshold), so both are set: blocks up to 4 MiB come from the
         * heap and are reused, not mapped anew for each batch. */
        mallopt(M_TRIM_THRESHOLD, IMPORT_TRIM_THRESHOLD);
        mallopt(M_MMAP_THRESHOLD, IMPORT_MMAP_THRESHOLD);
    }
    return 0;
}

/* Not after each batch: an import whose next batch is still being parsed
 * would free and fault in 32 MiB of pages per batch. */
void store_wr_import_idle(struct store *st)
{
    char sql[48];
    if (atomic_load(&import_queued) > 0)
        return;
    store_name_filter_end(&st->names);
    if (cache_before == 0)
        return;
    if (atomic_fetch_sub(&heap_bursts, 1) == 1) {
        mallopt(M_TRIM_THRESHOLD, GLIBC_DEFAULT_THRESHOLD);
        mallopt(M_MMAP_THRESHOLD, GLIBC_DEFAULT_THRESHOLD);
    }
    snprintf(sql, sizeof(sql), "PRAGMA cache_size = %d", cache_before);
    store_exec(&st->wr, sql);   /* on failure the larger cache stays: no harm */
    cache_before = 0;
}
