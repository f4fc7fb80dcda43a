/* SPDX-License-Identifier: MIT */
/* daemon/sequencer.h: runs cadences. Each active enrollment sits at one
 * step of the cadence version it was pinned to. The sequencer keeps one
 * uv_timer armed for the earliest enrollment due (enrollments.due_at), runs
 * the due ones' current steps and writes what follows, each in one store
 * transaction:
 *   email    renders the message (the lead's template variant, threaded on
 *            the previous email when the step says so) and creates a touch
 *            due when the lead's send window next opens, with not_after the
 *            window's close; the enrollment waits for the touch's outcome.
 *            An address whose status the cadence does not allow, or a
 *            template that refuses the lead's data, makes a skipped touch
 *            with the reason, and the cadence goes on.
 *   call     creates a call task for the lead's prospector, due in calling
 *            hours; the enrollment waits for its outcome (drumbeat log-call),
 *            or skips it as call_overdue after call_overdue_days.
 *   task     creates a manual task and goes on.
 *   webhook  creates a touch on the step's channel and waits for it.
 *   wait     sets the next step due after the wait, counted from when the
 *            previous step really finished.
 *   branch   jumps by the last call outcome or a lead field.
 * A touch or task reaching its end advances the enrollment in the same
 * transaction that records the end (store_wr_enrollment_step_done), so a
 * crash can neither repeat nor lose a step.
 *
 * Ownership: struct sequencer is owned by the daemon (sequencer_new /
 * sequencer_free); it borrows d and reads d->cfg, d->cadences and
 * d->templates at each run, so a reload applies at once. Its timer closes
 * asynchronously: keep running the loop after sequencer_free.
 * Threads: loop thread only.
 */
#ifndef DRUMBEAT_SEQUENCER_H
#define DRUMBEAT_SEQUENCER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct daemon;
struct sequencer;

int sequencer_new(struct daemon *d, struct sequencer **out);
/* Records d->cadences' files as versions (at start, and after a reload
 * replaced d->cadences); enrollments made meanwhile wait for it. */
void sequencer_sync(struct sequencer *s);
/* The version new enrollments of cadence get, and its definition
 * (borrowed from d->cadences): 0, -ENOENT (no such cadence), -EAGAIN (its
 * version is being recorded: try again in a moment). */
struct cadence_def;
int sequencer_current_version(struct sequencer *s, const char *cadence, int64_t *id,
                              const struct cadence_def **def);
/* sequencer_preview.c: what email step `step` (1-based; 0: the first
 * email step) of cadence would send to lead_id, rendered by the sequencer's
 * own code (seq_render_email) with the lead's active enrollment in cadence
 * when it has one (else the current version, its first mailbox, a preview
 * Message-ID). *out (a new reference): {"message": raw text or null,
 * "skipped": reason or null, "step": {number, name, type, template |
 * variants, review, thread}, "lead_id", "enrollment_id" (or null),
 * "mailbox"}. Sends nothing, writes nothing. -ENOENT (no such lead or
 * cadence), -EAGAIN (version being recorded), -ERANGE (no such step),
 * -EINVAL (not an email step; err->what names its type), each with err. */
struct errbuf;
int sequencer_preview(struct sequencer *s, const char *cadence, int64_t lead_id, int step,
                      json_t **out, struct errbuf *err);
/* The lead's next send window (open, close; UTC ms) at or after from, under
 * the rules of enrollment_id's cadence version. 0 or a negative errno. */
int sequencer_send_window(struct sequencer *s, int64_t enrollment_id, int64_t from,
                          int64_t *open, int64_t *close);
/* Enrollments changed (enrolled, a touch or task ended, an exit): look
 * again at what is due. Cheap; safe to call often. */
void sequencer_kick(struct sequencer *s);
/* Steps whose store write is in flight, plus 1 while a look is pending
 * (the test clock waits for 0). */
size_t sequencer_busy(const struct sequencer *s);
/* No new steps run; what is in flight completes. */
void sequencer_stop(struct sequencer *s);
void sequencer_free(struct sequencer *s);

#endif /* DRUMBEAT_SEQUENCER_H */
