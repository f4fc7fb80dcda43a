/* SPDX-License-Identifier: MIT */
/* daemon/sequencer_int.h: what sequencer.c (the timer and the queue),
 * sequencer_step.c (what one step does) and sequencer_rules.c (a lead's
 * time rules) share. Not for other modules.
 *
 * Ownership: struct sequencer owns its versions array; a seq_version owns
 * its calendars and, when owned is true (rebuilt from the store), its def;
 * otherwise def is borrowed from d->cadences and the entry is dropped on
 * every reload (seq_versions_reset).
 */
#ifndef DRUMBEAT_SEQUENCER_INT_H
#define DRUMBEAT_SEQUENCER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <uv.h>

#include "id_set.h"

#include "cadence_def.h"
#include "daemon.h"
#include "log.h"
#include "sequencer.h"
#include "store.h"
#include "window.h"

struct holidays;

struct seq_calendar {
    const struct cadence_holidays *src;   /* in the version's def */
    struct holidays *h;
};

struct seq_version {
    int64_t id;                 /* cadences.id */
    int64_t version;
    struct cadence_def *def;
    bool owned;
    struct seq_calendar *cals;
    size_t n_cals;
};

struct sequencer {
    struct daemon *d;
    uv_timer_t timer;
    int64_t timer_at;           /* daemon clock; 0 = not armed */
    struct id_set busy;         /* enrollments with a write in flight */
    bool kicked;                /* a look is armed for the next turn */
    bool releasing;             /* a release of deferred touches is queued */
    struct seq_version *versions;
    size_t n_versions;
    char store_id[40];
    bool stopping, pumping;
    const struct cadence_set *synced;   /* the set whose versions are recorded */
    size_t sync_pending;
    int64_t *current;           /* version id per d->cadences item, 0 until synced */
};

/* sequencer_rules.c */
int seq_rules_for_lead(struct seq_version *v, const json_t *lead, struct window_rules *r,
                       struct errbuf *err);
void seq_version_free(struct seq_version *v);

/* sequencer_step.c: decides what the enrollment e (store_enrollment_get)
 * does now and fills w (strings it points at live in *hold, freed by the
 * caller with json_decref, and in *payload, freed with free). 0, or a
 * negative errno when nothing can be decided (logged). */
int seq_step_decide(struct sequencer *s, struct seq_version *v, const json_t *e,
                    const json_t *lead, int64_t now, struct store_step_write *w,
                    struct store_touch_in *touch, json_t **hold, char **payload);

/* sequencer_step.c: when the enrollment e is at a wait step that has not
 * ended by now, fills w with the move seq_step_decide would make (to the
 * next step, due when the wait ends) and returns 1. lead needs only its
 * time fields (store_lead_zone). 0 when the step is anything else or the
 * wait is over (decide with the whole lead), or a negative errno. */
int seq_wait_pending(struct seq_version *v, const json_t *e, const json_t *lead, int64_t now,
                     struct store_step_write *w);
/* Whether the enrollment e is at a wait step of v. */
bool seq_at_wait(const struct seq_version *v, const json_t *e);

/* sequencer_step.c: the message email step `step` (0-based) of v would
 * send to lead, built exactly as the sequencer builds it when the step runs
 * at now (its Date is the lead's next window opening at or after now). e
 * is the enrollment (its mailbox, Message-ID and thread), or NULL for a
 * preview without one: the cadence's first mailbox, a preview Message-ID,
 * no thread. 0 with *payload (malloc'd, CRLF) and *len; -ECANCELED when the
 * step would be skipped, err->what being the reason ("address_guessed",
 * "missing first_name"); -EINVAL for a step that is not an email; another
 * negative errno otherwise. Reads the store, writes nothing. */
int seq_render_email(struct sequencer *s, struct seq_version *v, size_t step, const json_t *e,
                     const json_t *lead, int64_t now, char **payload, size_t *len,
                     struct errbuf *err);

/* sequencer.c */
struct seq_version *seq_version_get(struct sequencer *s, int64_t id);

#endif /* DRUMBEAT_SEQUENCER_INT_H */
