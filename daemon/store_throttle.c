/* SPDX-License-Identifier: MIT */
/* daemon/store_throttle.c: the reads behind the per-cadence throttle
 * (store.h; dispatch_caps.c decides). A cadence's "new leads per day" is
 * counted where it matters, at the claim: first touches (step 0) sent in a
 * rolling 24 hours plus those sending now, from the store, so the count
 * holds across restarts like the mailbox caps. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

int store_cadence_starts(struct store *st, int64_t since, int64_t now, json_t **out)
{
    sqlite3_stmt *s;
    json_t *all = json_object();
    if (all == NULL)
        return -ENOMEM;
    /* touches_first_sent answers the sent ones; the sending ones are few. */
    int rc = store_stmt(&st->rd,
        "SELECT e.cadence, count(*), min(x.at) FROM ("
        " SELECT enrollment_id, sent_at AS at FROM touches"
        "  WHERE step = 0 AND sent_at IS NOT NULL AND sent_at > ?1"
        " UNION ALL SELECT enrollment_id, ?2 FROM touches WHERE state = 'sending' AND step = 0)"
        " x JOIN enrollments e ON e.id = x.enrollment_id"
        " WHERE e.cadence IS NOT NULL GROUP BY e.cadence", &s);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    sqlite3_bind_int64(s, 1, since);
    sqlite3_bind_int64(s, 2, now);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        json_t *row = json_pack("{s:I, s:I}", "n", (json_int_t)sqlite3_column_int64(s, 1),
                                "oldest", (json_int_t)sqlite3_column_int64(s, 2));
        if (row == NULL ||
            json_object_set_new(all, (const char *)sqlite3_column_text(s, 0), row) < 0) {
            rc = SQLITE_NOMEM;
            break;
        }
    }
    rc = rc == SQLITE_DONE ? 0 : rc == SQLITE_NOMEM ? -ENOMEM
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return 0;
}

int store_cadence_held(struct store *st, const char *channel, const char *mailbox, int64_t now,
                       const char *cadences, int64_t *ids, int64_t *not_after, char (*names)[128],
                       size_t cap, size_t *n)
{
    sqlite3_stmt *s;
    *n = 0;
    if (channel == NULL || cadences == NULL)
        return -EINVAL;
    int rc = store_stmt(&st->rd,
        "SELECT t.id, t.not_after, e.cadence FROM touches t JOIN enrollments e"
        " ON e.id = t.enrollment_id WHERE t.state = 'scheduled' AND t.channel = ?1"
        " AND (?2 IS NULL OR t.mailbox = ?2) AND t.due_at <= ?3 AND t.step = 0"
        " AND e.state <> 'paused' AND e.cadence IN (SELECT key FROM json_each(?4))"
        " ORDER BY t.due_at, t.id LIMIT ?5", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, channel);
    store_bind_text(s, 2, mailbox);
    sqlite3_bind_int64(s, 3, now);
    store_bind_text(s, 4, cadences);
    sqlite3_bind_int64(s, 5, (int64_t)cap);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < cap) {
        ids[*n] = sqlite3_column_int64(s, 0);
        not_after[*n] = sqlite3_column_int64(s, 1);
        snprintf(names[*n], sizeof(names[*n]), "%s", (const char *)sqlite3_column_text(s, 2));
        (*n)++;
    }
    rc = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}
