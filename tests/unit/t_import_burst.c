/* SPDX-License-Identifier: MIT */
/* tests/unit/t_import_burst.c: while an import batch has just run, glibc
 * keeps freed heap (a 1 MiB block comes from the heap, not from a mapping of
 * its own); once the writer is idle with no batch queued, glibc's defaults
 * are back (the same block is mapped on its own, and freeing it gives it
 * back at once). Seen through mallinfo2()'s count of mapped blocks, so only
 * with glibc's allocator: under AddressSanitizer those three checks are
 * skipped, and the batches still run.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_test_util.h"
#include "tap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static uv_loop_t loop;
static struct store *st;

struct seen {
    int calls;
    int status;
    bool block_mapped;          /* in the batch's completion */
};

/* Whether a 1 MiB block is mapped on its own (glibc's mmap threshold is
 * below 1 MiB) rather than carved from the heap. */
static bool mib_block_mapped(void)
{
    size_t before = mallinfo2().hblks;
    char *p = malloc(1 << 20);
    if (p == NULL)
        return false;
    memset(p, 1, 64);
    bool mapped = mallinfo2().hblks > before;
    free(p);
    return mapped;
}

/* A check of glibc's heap, or a skip where AddressSanitizer replaced it. */
static void heap_ok(bool cond, const char *name)
{
#ifdef UNDER_ASAN
    (void)cond;
    tap_skip(1, "AddressSanitizer replaces glibc's allocator");
    (void)name;
#else
    tap_ok(cond, "%s", name);
#endif
}

static void on_batch(int status, const struct store_lead_outcome *o, size_t n, void *arg)
{
    struct seen *s = arg;
    (void)o;
    (void)n;
    /* On the loop thread right after the commit: the writer is not idle for
     * another 100 ms. */
    s->block_mapped = mib_block_mapped();
    s->status = status;
    s->calls++;
}

static void import_one(const char *email, struct seen *s)
{
    struct store_lead_in row = { .email = email, .first_name = "Ada", .source = "t" };
    memset(s, 0, sizeof(*s));
    int rc = store_lead_upsert_batch(st, &row, 1, 0, NULL, on_batch, s);
    tap_ok(rc == 0, "batch for %s queued", email);
    if (rc == 0)
        st_run_until(&loop, &s->calls, 1);
}

int main(void)
{
    char path[600];
    struct errbuf err = { 0 };
    struct seen s;

    tap_plan(7);
    uv_loop_init(&loop);
    snprintf(path, sizeof(path), "%s/burst.db", tap_tmpdir());
    if (store_open(&loop, path, &st, &err) < 0) {
        tap_ok(0, "cannot open the store: %s", err.what);
        return tap_done();
    }
    import_one("ada@example.com", &s);
    tap_is_int(s.status, 0, "the import batch committed");
    heap_ok(!s.block_mapped, "right after it, a 1 MiB block comes from the heap");

    /* The writer goes idle after 100 ms without writes and puts back. */
    bool back = false;
    for (int i = 0; i < 100 && !back; i++) {
        uv_sleep(20);
        back = mib_block_mapped();
    }
    heap_ok(back, "once the writer is idle, glibc's default threshold is back");

    import_one("bob@example.com", &s);
    tap_is_int(s.status, 0, "a second import batch committed");
    heap_ok(!s.block_mapped, "a second import raises it again");

    store_close(st);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return tap_done();
}
