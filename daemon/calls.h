/* SPDX-License-Identifier: MIT */
/* daemon/calls.h: prospectors' call lists and logging call outcomes
 * (calls.c, store_tasks.c, api_calls.c, cli_calls.c).
 *
 * Call tasks are rows of the store's tasks table (kind 'call'), created by
 * the sequencer for a cadence's call step (enrollment_id, step, owner =
 * the lead's prospector, priority, due_at in calling hours, script = the
 * rendered call script, title). Logging an outcome closes the task,
 * records a "call_logged" event, keeps the notes in lead_texts, and
 * advances the enrollment in the same transaction
 * (store_wr_enrollment_step_done with the outcome, which branches read).
 * "meeting-booked" then exits the cadence (exits_apply, CADENCE_EXIT_MEETING_BOOKED),
 * which moves the lead to qualification.
 *
 * Ownership: callers own what they pass; results handed to callbacks are
 * borrowed for the call. Threads: loop thread.
 */
#ifndef DRUMBEAT_CALLS_H
#define DRUMBEAT_CALLS_H

#include <stdint.h>

#include "store.h"

struct daemon;

/* Logs outcome ("connected", "no-answer", "voicemail", "meeting-booked",
 * "not-interested", "wrong-person", "bad-number") for the lead's open call
 * task (the oldest, when several), with notes (may be NULL). cb(status,
 * task_id, arg) runs after the commit: -ENOENT when the lead has no open
 * call task, -EINVAL for an unknown outcome. Returns 0 or a negative errno
 * (then cb never runs). Kicks the sequencer after the commit. */
int calls_log(struct daemon *d, int64_t lead_id, const char *outcome, const char *notes,
              const struct store_actor *actor, store_done_cb cb, void *arg);

/* calls_list.c: the call list of owner (NULL: everyone) due before until_ms
 * (store_calls_list), each entry also with "local_time" ("14:05
 * Europe/Paris"; null when the lead's zone is unknown), "callable_now"
 * (true when it is business hours, Monday to Friday 09:00-18:00, in every
 * zone of the lead at now_ms; null when the zone is unknown) and "tel"
 * ("tel:+33142685300" from an E.164 phone, else null). Ordered by priority
 * (1 first), then callable now before unknown before not callable, then
 * due_at. *out is a new array. Needs only the store (no daemon). */
int calls_list(struct store *st, const char *owner, int64_t until_ms, int64_t now_ms,
               json_t **out);

#endif /* DRUMBEAT_CALLS_H */
