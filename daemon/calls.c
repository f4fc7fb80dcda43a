/* SPDX-License-Identifier: MIT */
/* daemon/calls.c: logging a call's outcome (calls.h). The lead's oldest
 * open call task is closed in one store transaction (store_task_close: the
 * task, the notes, the "call_logged" event and the enrollment's next step);
 * after the commit the sequencer is kicked so the next step runs, and a
 * booked meeting takes the lead out of its cadences (exits_apply), which
 * moves it to qualification. For a booked meeting the caller hears back
 * once the exit is done too, so what it reads next already shows the lead
 * in its new stage.
 *
 * Errors found before anything is written (an unknown outcome, no open
 * task) still reach the caller through its callback, as the contract says:
 * they ride on a store_flush() so the callback never runs inside the call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_def.h"
#include "calls.h"
#include "daemon.h"
#include "errors.h"
#include "exits.h"
#include "log.h"
#include "sequencer.h"

struct call_log {
    struct daemon *d;
    int64_t lead_id, task_id;
    int status;                 /* an error decided before writing, or 0 */
    bool meeting;
    enum store_actor_kind actor_kind;
    char *actor_name;           /* copied: the caller's actor is borrowed */
    store_done_cb cb;
    void *arg;
};

static void finish(struct call_log *c, int status)
{
    if (c->cb != NULL)
        c->cb(status, status == 0 ? c->task_id : 0, c->arg);
    free(c->actor_name);
    free(c);
}

static void on_exited(int status, int64_t n, void *arg)
{
    struct call_log *c = arg;
    if (status < 0)
        log_warn("msg=\"meeting booked, but the cadence exit failed\" lead=%lld task=%lld "
                 "error=%s", (long long)c->lead_id, (long long)c->task_id,
                 error_name(status));
    else
        log_info("msg=\"meeting booked: lead left its cadences\" lead=%lld enrollments=%lld",
                 (long long)c->lead_id, (long long)n);
    /* The call itself is logged and committed whatever the exit did. */
    finish(c, 0);
}

static void on_closed(int status, int64_t id, void *arg)
{
    struct call_log *c = arg;
    (void)id;
    if (status < 0)
        return finish(c, status);
    log_info("msg=\"call logged\" lead=%lld task=%lld", (long long)c->lead_id,
             (long long)c->task_id);
    if (c->meeting) {
        /* exits_apply kicks the sequencer itself once the exit committed:
         * kicking now could run the enrollment's next step first. */
        struct store_actor actor = { c->actor_kind, c->actor_name };
        int rc = exits_apply(c->d, c->lead_id, CADENCE_EXIT_MEETING_BOOKED, &actor,
                             on_exited, c);
        if (rc == 0)
            return;
        log_warn("msg=\"meeting booked, but the cadence exit was not queued\" lead=%lld "
                 "error=%s", (long long)c->lead_id, error_name(rc));
    }
    if (c->d->sequencer != NULL)
        sequencer_kick(c->d->sequencer);
    finish(c, 0);
}

/* The pre-write error, delivered after the writer's queue drained. */
static void on_refused(int status, int64_t id, void *arg)
{
    struct call_log *c = arg;
    (void)status;
    (void)id;
    finish(c, c->status);
}

int calls_log(struct daemon *d, int64_t lead_id, const char *outcome, const char *notes,
              const struct store_actor *actor, store_done_cb cb, void *arg)
{
    enum cadence_call_outcome o = CADENCE_OUTCOME_COUNT;
    if (d == NULL || d->store == NULL || lead_id <= 0)
        return -EINVAL;
    struct call_log *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->d = d;
    c->lead_id = lead_id;
    c->cb = cb;
    c->arg = arg;
    c->actor_kind = actor != NULL ? actor->kind : STORE_ACTOR_SYSTEM;
    if (actor != NULL && actor->name != NULL && (c->actor_name = strdup(actor->name)) == NULL) {
        free(c);
        return -ENOMEM;
    }

    int rc;
    if (cadence_call_outcome_parse(outcome, &o) < 0)
        c->status = -EINVAL;
    else if ((rc = store_task_open_for_lead(d->store, lead_id, &c->task_id)) < 0)
        c->status = rc;
    c->meeting = o == CADENCE_OUTCOME_MEETING_BOOKED;
    if (c->status < 0) {
        rc = store_flush(d->store, on_refused, c);
    } else {
        struct store_actor copy = { c->actor_kind, c->actor_name };
        rc = store_task_close(d->store, c->task_id, cadence_call_outcome_format(o), notes,
                              &copy, on_closed, c);
    }
    if (rc < 0) {
        free(c->actor_name);
        free(c);
    }
    return rc;
}
