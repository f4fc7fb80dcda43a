/* SPDX-License-Identifier: MIT */
/* daemon/store_payloads.c: a touch's message bytes, kept apart from the
 * touch row (migration 7). The row changes state several times; the bytes
 * are written once, when the touch is made, and replaced only by a review
 * edit or erased with the lead. Ownership: payloads are borrowed for the
 * call; SQLite copies what it keeps. */
#include <errno.h>

#include "store_internal.h"

int store_wr_payload_put(struct store *st, int64_t touch_id, const void *payload, size_t len)
{
    sqlite3_stmt *s;
    int rc;
    if (payload == NULL) {
        rc = store_stmt(&st->wr, "DELETE FROM touch_payloads WHERE touch_id = ?1", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, touch_id);
        return store_stmt_done(&st->wr, s);
    }
    rc = store_stmt(&st->wr,
        "INSERT OR REPLACE INTO touch_payloads (touch_id, payload) VALUES (?1, ?2)", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    /* A zero-length blob is still a payload (bind_blob with NULL data
     * would store SQL NULL). */
    sqlite3_bind_blob64(s, 2, len > 0 ? payload : "", len, SQLITE_STATIC);
    return store_stmt_done(&st->wr, s);
}
