/* SPDX-License-Identifier: MIT */
/* daemon/exits.c: applies a cadence exit rule to a lead (exits.h). It reads
 * which cadences the lead is active in, keeps those whose rule for this exit
 * is on (bounce, unsubscribe, complaint and a manual exit always are; with
 * no cadences loaded every rule counts as on), and ends them in one store
 * transaction (store_lead_exit_move) together with the rule's stage or
 * owner change (the one stage transition), which runs only when an
 * enrollment really ended: a lead is never moved for an exit that did not
 * happen, a repeated event never moves it twice, and a crash can never keep
 * the exit but lose the move.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cadence_def.h"
#include "daemon.h"
#include "exits.h"
#include "log.h"
#include "sequencer.h"
#include "stages.h"

struct exit_call {
    struct daemon *d;
    int64_t lead_id;
    enum cadence_exit why;
    char *stage, *owner;          /* the rule's change (copied: a reload may free it) */
    char actor_name[128];
    struct store_actor actor;
    int64_t ended;
    store_done_cb cb;
    void *arg;
};

static bool always_on(enum cadence_exit why)
{
    return why == CADENCE_EXIT_BOUNCE || why == CADENCE_EXIT_UNSUBSCRIBE ||
           why == CADENCE_EXIT_COMPLAINT || why == CADENCE_EXIT_MANUAL;
}

static unsigned exit_flags(enum cadence_exit why)
{
    switch (why) {
    case CADENCE_EXIT_BOUNCE: return STORE_EXIT_BOUNCED | STORE_EXIT_SUPPRESS;
    case CADENCE_EXIT_UNSUBSCRIBE: return STORE_EXIT_UNSUBSCRIBED | STORE_EXIT_SUPPRESS;
    case CADENCE_EXIT_COMPLAINT: return STORE_EXIT_SUPPRESS;
    default: return 0;
    }
}

static void exit_call_free(struct exit_call *c)
{
    free(c->stage);
    free(c->owner);
    free(c);
}

static void exit_finish(struct exit_call *c, int status)
{
    if (status == 0 && c->d->sequencer != NULL)
        sequencer_kick(c->d->sequencer);
    if (c->cb != NULL)
        c->cb(status, status == 0 ? c->ended : 0, c->arg);
    exit_call_free(c);
}

/* The rule's change as a stage transition: its stage (an owner alone keeps
 * the lead's stage), the owner named by the rule or round-robin from the
 * stage's role. candidates (64) and reason (48) are the caller's. */
static int exit_target(struct exit_call *c, struct store_stage_target *t, const char **candidates,
                       char *reason, json_t **lead)
{
    const char *stage = c->stage;
    size_t n = 0;
    *lead = NULL;
    if (stage == NULL) {
        int rc = store_lead_get(c->d->store, c->lead_id, lead);
        if (rc < 0)
            return rc;
        stage = json_string_value(json_object_get(*lead, "stage"));
        if (stage == NULL)
            return -EIO;
    }
    const char *role = stage_role(stage);
    if (c->owner != NULL)
        candidates[n++] = c->owner;
    else if (c->d->cfg != NULL)
        n = stage_candidates(c->d->cfg, role, candidates, 64);
    snprintf(reason, 48, "exit_%s", cadence_exit_format(c->why));
    *t = (struct store_stage_target){ .stage = stage, .role = role, .reason = reason,
                                      .candidates = candidates, .n = n };
    return 0;
}

static void on_exited(int status, int64_t ended, void *arg)
{
    struct exit_call *c = arg;
    if (status < 0)
        return exit_finish(c, status);
    c->ended = ended;
    log_info("msg=\"lead exited its cadences\" lead=%lld exit=%s enrollments=%lld",
             (long long)c->lead_id, cadence_exit_format(c->why), (long long)ended);
    exit_finish(c, 0);
}

/* Fills names (NULL-terminated, borrowed from active) with the cadences
 * whose rule is on, and copies the first rule that changes stage or owner. */
static int pick_cadences(struct exit_call *c, const json_t *active, const char **names)
{
    size_t i, k = 0;
    json_t *v;
    json_array_foreach(active, i, v) {
        const char *name = json_string_value(v);
        const struct cadence_def *def =
            c->d->cadences != NULL ? cadence_set_get(c->d->cadences, name) : NULL;
        /* A cadence no longer loaded (its file removed) cannot say no:
         * ending it is the safe side. */
        if (!always_on(c->why) && def != NULL && !def->exits[c->why].on)
            continue;
        names[k++] = name;
        if (def == NULL || c->stage != NULL || c->owner != NULL)
            continue;
        const struct cadence_exit_rule *r = &def->exits[c->why];
        if (r->stage == NULL && r->owner == NULL)
            continue;
        if ((r->stage != NULL && (c->stage = strdup(r->stage)) == NULL) ||
            (r->owner != NULL && (c->owner = strdup(r->owner)) == NULL))
            return -ENOMEM;
    }
    names[k] = NULL;
    return 0;
}

int exits_apply(struct daemon *d, int64_t lead_id, enum cadence_exit why,
                const struct store_actor *actor, store_done_cb cb, void *arg)
{
    json_t *active = NULL, *lead = NULL;
    const char **names = NULL;
    const char *candidates[64];
    char reason[48];
    struct store_stage_target target, *move = NULL;
    if (d == NULL || d->store == NULL || lead_id <= 0 || (int)why < 0 ||
        why >= CADENCE_EXIT_COUNT)
        return -EINVAL;
    struct exit_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return -ENOMEM;
    c->d = d;
    c->lead_id = lead_id;
    c->why = why;
    c->cb = cb;
    c->arg = arg;
    c->actor.kind = actor != NULL ? actor->kind : STORE_ACTOR_SYSTEM;
    if (actor != NULL && actor->name != NULL) {
        snprintf(c->actor_name, sizeof(c->actor_name), "%s", actor->name);
        c->actor.name = c->actor_name;
    }

    int rc = store_lead_active_cadences(d->store, lead_id, &active);
    if (rc < 0)
        goto fail;
    names = calloc(json_array_size(active) + 1, sizeof(*names));
    if (names == NULL) {
        rc = -ENOMEM;
        goto fail;
    }
    if ((rc = pick_cadences(c, active, names)) < 0)
        goto fail;
    if (c->stage != NULL || c->owner != NULL) {
        rc = exit_target(c, &target, candidates, reason, &lead);
        if (rc < 0)
            goto fail;
        move = &target;
    }
    rc = store_lead_exit_move(d->store, lead_id, cadence_exit_format(why), names,
                              exit_flags(why), move, &c->actor, on_exited, c);
    if (rc < 0)
        goto fail;
    free(names);
    json_decref(active);
    json_decref(lead);
    return 0;

fail:
    free(names);
    json_decref(active);
    json_decref(lead);
    exit_call_free(c);
    return rc;
}
