/* SPDX-License-Identifier: MIT */
/* daemon/store_counts.h: the number of touches in each state (the
 * touch_counts table, read by status and /metrics), kept by the writer
 * connection rather than by triggers.
 *
 * A trigger ran two UPDATEs of touch_counts for every row whose state
 * changed: a touch changes state three times on its way out (released,
 * claimed, sent), and those six statements were about a seventh of the
 * writer's CPU per touch at a million enrollments (bench_cadence). Instead,
 * SQLite's pre-update hook on the writer connection adds each row's move
 * to a delta per state in memory, and the writer writes the deltas with
 * one UPDATE per changed state just before it commits: the same counts in
 * the same transaction, for a few statements per commit.
 *
 * The deltas follow the transaction. Whoever rolls part of one back (ROLLBACK
 * TO a savepoint) restores the mark taken when that savepoint was opened; a
 * whole rollback discards them. Every transaction on st->wr that may change
 * touches commits through store_counts_flush() (store_writer.c,
 * store_touches_recover). Writers outside the daemon (the sqlite3 shell) do
 * not keep the counts: the daemon's store is written by the daemon.
 *
 * The same goes for mailbox_send_minutes, the sends per mailbox and minute
 * that the caps sum (migration 9), which triggers on touches kept until
 * migration 11: each sent touch ran an upsert in a trigger program (2.2 us
 * of the 8.4 us its UPDATE took). Each send counted (or uncounted: a sent
 * touch moved to another minute or mailbox, or deleted) is a line in a
 * journal; the flush sums the journal per mailbox and minute, one upsert
 * each. A savepoint's mark is the journal's length.
 *
 * Threads: st->counts belongs to whichever thread uses st->wr (store_internal.h).
 * Ownership: the journal and the mailbox names it refers to are malloc'd
 * and kept in st->counts until store_counts_free() (at store_close).
 */
#ifndef DRUMBEAT_STORE_COUNTS_H
#define DRUMBEAT_STORE_COUNTS_H

#include <stdbool.h>
#include <stdint.h>

#include "touch_state.h"

struct store;

/* One send counted in mailbox_send_minutes, +1 or -1. */
struct store_send_delta {
    uint32_t mailbox;           /* index in store_counts.mailboxes */
    int32_t n;
    int64_t minute;             /* sent_at / 60000 */
};

struct store_counts {
    int64_t delta[TOUCH_STATE_COUNT];
    int state_column;           /* touches.state's index, for the hook */
    int sent_at_column, mailbox_column;
    bool by_caller;             /* the running statement's moves are counted by its caller */
    bool lost;                  /* a send could not be journaled (no memory): the
                                   flush fails, so the transaction rolls back */
    struct store_send_delta *sends;
    size_t n_sends, cap_sends;
    char **mailboxes;           /* the names journaled so far, each once */
    size_t n_mailboxes;
};

/* The deltas at a savepoint, to restore on ROLLBACK TO. */
struct store_counts_mark {
    int64_t delta[TOUCH_STATE_COUNT];
    size_t n_sends;
};

/* Installs the pre-update hook on st->wr (after the migrations). */
int store_counts_attach(struct store *st);
/* Adds the deltas to touch_counts, inside the open transaction, and clears
 * them. On failure they are kept: the caller rolls back and discards. */
int store_counts_flush(struct store *st);
/* After a whole rollback: the moves counted never happened. */
void store_counts_discard(struct store *st);
/* The hot statements (a claim, a release, an outcome) know what they move:
 * between begin and end the hook leaves touches alone, and the caller
 * counts its n rows moved from one state to another with store_counts_move
 * (reading the old row for the hook was 4% of the writer's CPU). */
void store_counts_by_caller(struct store *st, bool on);
void store_counts_move(struct store *st, enum touch_state from, enum touch_state to, int64_t n);
/* A caller that counts its own moves counts its sends too: n (+1, -1) sends
 * of mailbox at sent_at. NULL mailbox: nothing to count. */
void store_counts_send(struct store *st, const char *mailbox, int64_t sent_at, int n);
/* Frees the journal (store_close). */
void store_counts_free(struct store *st);
void store_counts_mark(const struct store *st, struct store_counts_mark *m);
void store_counts_restore(struct store *st, const struct store_counts_mark *m);

#endif /* DRUMBEAT_STORE_COUNTS_H */
