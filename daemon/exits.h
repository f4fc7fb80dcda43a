/* SPDX-License-Identifier: MIT */
/* daemon/exits.h: a lead leaves its cadences (exits.c, store_exits.c):
 * on a reply, bounce, unsubscribe, complaint, booked meeting, stage change,
 * or by hand. Every active enrollment of the lead whose cadence has that
 * exit rule on ends (state 'exited', reason the exit's name, ended_at), its
 * not-yet-sent touches become cancelled ("exit:reply"), its open tasks are
 * cancelled, and a "cadence_exited" event is written, all in one
 * transaction. Then the rule's stage or owner change is made through the
 * one stage transition (store_stage_move). A bounce also marks the lead
 * bounced and suppresses the address; an unsubscribe marks it unsubscribed
 * and suppresses it; a complaint suppresses it.
 *
 * Ownership: callers own what they pass. Threads: loop thread.
 */
#ifndef DRUMBEAT_EXITS_H
#define DRUMBEAT_EXITS_H

#include <stdint.h>

#include "cadence_def.h"
#include "store.h"

struct daemon;

/* Applies exit `why` to lead_id. cb(status, n, arg) runs once everything is
 * committed, n = enrollments ended (0 is fine: the flags and suppression
 * still apply). Returns 0 or a negative errno (then cb never runs). Kicks
 * the sequencer. cb may be NULL. */
int exits_apply(struct daemon *d, int64_t lead_id, enum cadence_exit why,
                const struct store_actor *actor, store_done_cb cb, void *arg);

#endif /* DRUMBEAT_EXITS_H */
