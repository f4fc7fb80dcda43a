/* SPDX-License-Identifier: MIT */
/* daemon/sequencer.c: the sequencer's timer and queue (sequencer.h), and
 * the cadence versions it runs: at start and after each reload every file
 * of d->cadences is recorded as a version (store_cadence_version) and
 * enrollments are pinned to it; an enrollment on an older version is run
 * from that version's stored definition.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "dispatch.h"
#include "sequencer_int.h"

/* New steps started per look, and the most writes of steps in flight. */
#define DUE_BATCH 256
#define MAX_STEPS_IN_FLIGHT 4096

static void pump(struct sequencer *s);

/* ---- versions ---- */

struct sync_call {
    struct sequencer *s;
    const struct cadence_set *set;
    size_t index;
};

static void sync_call_done(struct sync_call *c)
{
    struct sequencer *s = c->s;
    if (s->synced == c->set && --s->sync_pending == 0)
        pump(s);
    free(c);
}

static void on_reconciled(int status, int64_t changed, void *arg)
{
    struct sync_call *c = arg;
    if (c->s->synced == c->set) {
        const char *name = c->set->items[c->index]->name;
        if (status < 0)
            log_error("msg=\"cannot migrate enrollments or hand over retired mailboxes\" "
                      "cadence=%s error=%s", name, error_name(status));
        else if (changed > 0)
            log_info("msg=\"enrollments migrated or handed over\" cadence=%s changed=%lld",
                     name, (long long)changed);
    }
    sync_call_done(c);
}

static enum store_migrate migrate_of(enum cadence_migrate m)
{
    return m == CADENCE_MIGRATE_SAME_STEP ? STORE_MIGRATE_SAME_STEP
         : m == CADENCE_MIGRATE_RESTART ? STORE_MIGRATE_RESTART : STORE_MIGRATE_NONE;
}

static void on_synced(int status, int64_t id, void *arg)
{
    struct sync_call *c = arg;
    struct sequencer *s = c->s;
    if (s->synced != c->set) {
        free(c);
        return;
    }
    const struct cadence_def *def = c->set->items[c->index];
    if (status < 0) {
        log_error("msg=\"cannot record a cadence version\" cadence=%s error=%s", def->name,
                  error_name(status));
    } else {
        s->current[c->index] = id;
        /* What the file asks of enrollments already running: runs before
         * the sequencer looks at them again (pump waits for sync_pending). */
        bool retires = def->retired_mailboxes != NULL && def->retired_mailboxes[0] != NULL;
        if ((def->migrate != CADENCE_MIGRATE_NONE || retires) &&
            store_cadence_reconcile(s->d->store, def->name, id, migrate_of(def->migrate),
                                    (const char *const *)def->retired_mailboxes,
                                    (const char *const *)def->mailboxes, on_reconciled,
                                    c) == 0)
            return;
    }
    sync_call_done(c);
}

static void versions_reset(struct sequencer *s)
{
    size_t k = 0;
    for (size_t i = 0; i < s->n_versions; i++) {
        if (!s->versions[i].owned)
            seq_version_free(&s->versions[i]);
        else
            s->versions[k++] = s->versions[i];
    }
    s->n_versions = k;
}

void sequencer_sync(struct sequencer *s)
{
    const struct cadence_set *set = s->d->cadences;
    versions_reset(s);
    free(s->current);
    s->current = NULL;
    s->synced = set;
    s->sync_pending = 0;
    if (set == NULL || set->n == 0)
        return;
    s->current = calloc(set->n, sizeof(*s->current));
    for (size_t i = 0; s->current != NULL && i < set->n; i++) {
        char *text = NULL;
        struct sync_call *c = calloc(1, sizeof(*c));
        if (c == NULL || cadence_def_canonical(set->items[i], &text) < 0) {
            free(c);
            continue;
        }
        c->s = s;
        c->set = set;
        c->index = i;
        if (store_cadence_version(s->d->store, set->items[i]->name, text, on_synced, c) == 0)
            s->sync_pending++;
        else
            free(c);
        free(text);
    }
}

int sequencer_current_version(struct sequencer *s, const char *cadence, int64_t *id,
                              const struct cadence_def **def)
{
    const struct cadence_set *set = s->d->cadences;
    for (size_t i = 0; set != NULL && set == s->synced && i < set->n; i++) {
        if (strcmp(set->items[i]->name, cadence) != 0)
            continue;
        if (s->current == NULL || s->current[i] == 0)
            return -EAGAIN;          /* recorded in a moment */
        *id = s->current[i];
        *def = set->items[i];
        return 0;
    }
    return -ENOENT;
}

struct seq_version *seq_version_get(struct sequencer *s, int64_t id)
{
    for (size_t i = 0; i < s->n_versions; i++)
        if (s->versions[i].id == id)
            return &s->versions[i];
    struct seq_version v = { .id = id };
    const struct cadence_set *set = s->d->cadences;
    for (size_t i = 0; set == s->synced && s->current != NULL && i < set->n; i++)
        if (s->current[i] == id)
            v.def = set->items[i];
    char *name = NULL;
    json_t *def = NULL;
    if (store_cadence_version_get(s->d->store, id, &name, &v.version, &def) < 0)
        return NULL;
    if (v.def == NULL) {
        /* An older version: rebuilt from what the store kept of it. */
        struct cadence_env env = { .cfg = s->d->cfg, .templates = s->d->templates };
        struct config_errors errs = { 0 };
        const char *dir = s->d->cfg->cadences_dir;
        if (cadence_def_from_json(def, name, dir, &env, &v.def, &errs) < 0) {
            log_error("msg=\"a stored cadence version no longer loads\" cadence=%s "
                      "version=%lld", name, (long long)v.version);
            config_errors_log(&errs);
        }
        config_errors_free(&errs);
        v.owned = v.def != NULL;
    }
    free(name);
    json_decref(def);
    if (v.def == NULL)
        return NULL;
    struct seq_version *n = realloc(s->versions, (s->n_versions + 1) * sizeof(*n));
    if (n == NULL) {
        seq_version_free(&v);
        return NULL;
    }
    s->versions = n;
    s->versions[s->n_versions] = v;
    return &s->versions[s->n_versions++];
}

/* ---- running steps ---- */

struct step_call {
    struct sequencer *s;
    int64_t enrollment;
};

static void on_written(int status, int64_t touch, void *arg)
{
    struct step_call *c = arg;
    struct sequencer *s = c->s;
    id_set_remove(&s->busy, c->enrollment);
    if (status < 0 && status != -ESTALE)
        log_error("msg=\"cannot record a cadence step\" enrollment=%lld error=%s",
                  (long long)c->enrollment, error_name(status));
    free(c);
    (void)touch;
    /* A new touch may be due now; the dispatcher looks for it. */
    if (s->d->dispatch != NULL)
        dispatch_kick(s->d->dispatch);
    sequencer_kick(s);
}

static void run_one(struct sequencer *s, int64_t id, int64_t now)
{
    json_t *e = NULL, *lead = NULL, *hold = NULL;
    char *payload = NULL;
    struct store_step_write w;
    struct store_touch_in touch;
    struct seq_version *v;

    if (store_enrollment_get(s->d->store, id, &e) < 0)
        return;
    v = seq_version_get(s, json_integer_value(json_object_get(e, "cadence_id")));
    int64_t lead_id = json_integer_value(json_object_get(e, "lead_id"));
    /* Most runs start a wait (the one after each email): that needs only
     * the lead's zone, not the whole lead with its attributes and owners. */
    int waiting = 0;
    if (v != NULL && seq_at_wait(v, e) && store_lead_zone(s->d->store, lead_id, &lead) == 0)
        waiting = seq_wait_pending(v, e, lead, now, &w);
    if (waiting > 0)
        goto write;
    json_decref(lead);
    lead = NULL;
    if (v == NULL || store_lead_get(s->d->store, lead_id, &lead) < 0) {
        log_error("msg=\"cannot run an enrollment: its cadence version or lead is gone\" "
                  "enrollment=%lld", (long long)id);
        goto out;
    }
    if (seq_step_decide(s, v, e, lead, now, &w, &touch, &hold, &payload) < 0)
        goto out;
write:;
    struct step_call *c = calloc(1, sizeof(*c));
    if (c == NULL)
        goto out;
    c->s = s;
    c->enrollment = id;
    if (store_step_write(s->d->store, &w, on_written, c) < 0) {
        free(c);
        goto out;
    }
    /* Without room to remember it, the pump could start it twice: the write
     * is queued already, so it is remembered or the step fails loudly. */
    if (id_set_add(&s->busy, id) < 0)
        log_error("msg=\"out of memory tracking a cadence step\" enrollment=%lld", (long long)id);
out:
    free(payload);
    json_decref(hold);
    json_decref(lead);
    json_decref(e);
}

/* A scheduled touch whose window closed before it went: it waits for the
 * lead's next window, as deferred(window_closed). */
/* A window that is open again already (the touch was held past its close
 * by a cap, and the next window has begun) is released at once, not at
 * the next look. */
static void on_rewindowed(int status, int64_t id, void *arg)
{
    (void)id;
    if (status == 0)
        sequencer_kick(arg);
}

static void rewindow(struct sequencer *s, int64_t touch_id, int64_t now)
{
    json_t *t = NULL, *e = NULL, *lead = NULL;
    struct window_rules r;
    struct errbuf err = { 0 };
    int64_t open = 0, close = 0;
    if (store_touch_get(s->d->store, touch_id, &t) < 0 ||
        store_enrollment_get(s->d->store, json_integer_value(json_object_get(t, "enrollment_id")),
                             &e) < 0 ||
        store_lead_get(s->d->store, json_integer_value(json_object_get(t, "lead_id")), &lead) < 0)
        goto out;
    struct seq_version *v = seq_version_get(s, json_integer_value(json_object_get(e, "cadence_id")));
    if (v == NULL || seq_rules_for_lead(v, lead, &r, &err) < 0)
        goto out;
    if (window_next_open(&r, false, now, &open, &close, NULL) == 0)
        store_touch_defer(s->d->store, touch_id, open, close, "window_closed", on_rewindowed, s);
    window_rules_clear(&r);
out:
    json_decref(t);
    json_decref(e);
    json_decref(lead);
}

static void on_released(int status, int64_t n, void *arg)
{
    struct sequencer *s = arg;
    s->releasing = false;
    if (status == 0 && n > 0 && s->d->dispatch != NULL)
        dispatch_kick(s->d->dispatch);
    /* A touch released after its window closed (a cap's deferral that ran
     * past it) waits for its next window: the sweep must see it now. The
     * look also releases the next chunk, if this one was full. */
    if (status == 0 && n > 0)
        sequencer_kick(s);
}

/* Deferred touches whose time came, and scheduled ones whose window
 * closed; returns the next instant either needs a look (0: none). */
static int64_t touches_due(struct sequencer *s, int64_t now)
{
    int64_t deferred = 0, ids[DUE_BATCH], next_close = 0;
    size_t n = 0;
    store_touch_next_deferred(s->d->store, &deferred);
    if (deferred != 0 && deferred <= now) {
        /* One release at a time; its completion kicks the next look. */
        if (!s->releasing && store_touches_release_deferred(s->d->store, on_released, s) == 0)
            s->releasing = true;
        deferred = 0;
    }
    if (store_touches_missed(s->d->store, now, ids, DUE_BATCH, &n, &next_close) == 0)
        for (size_t i = 0; i < n; i++)
            rewindow(s, ids[i], now);
    if (n == DUE_BATCH)
        return now;
    return deferred == 0 ? next_close : next_close == 0 || deferred < next_close
                         ? deferred : next_close;
}

/* ---- pause --until (store_pause.c): a paused enrollment whose
 * paused_until passed is resumed; returns when to look next (0: never). ---- */

static void on_resumed(int status, int64_t n, void *arg)
{
    struct sequencer *s = arg;
    if (status == 0 && n > 0) {
        if (s->d->dispatch != NULL)
            dispatch_kick(s->d->dispatch);    /* its touches may be claimed again */
        sequencer_kick(s);
    }
}

static int64_t resume_due(struct sequencer *s, int64_t now)
{
    int64_t at = 0;
    if (store_enrollment_next_resume(s->d->store, &at) < 0 || at == 0)
        return 0;
    if (at <= now)
        store_enrollments_resume_due(s->d->store, now, on_resumed, s);
    return at > now ? at : 0;
}

static void on_timer(uv_timer_t *t)
{
    struct sequencer *s = t->data;
    s->timer_at = 0;
    s->kicked = false;
    pump(s);
}

static void arm(struct sequencer *s, int64_t at)
{
    int64_t now = clock_now_ms();
    if (s->stopping || (s->timer_at != 0 && s->timer_at <= at))
        return;
    s->timer_at = at;
    uv_timer_start(&s->timer, on_timer, at > now ? (uint64_t)(at - now) : 0, 0);
}

static void pump(struct sequencer *s)
{
    int64_t next_at = 0, now = clock_now_ms();
    size_t n = 0;
    if (s->stopping || s->pumping || s->sync_pending > 0)
        return;
    s->pumping = true;
    /* Everything is looked at now; the timer is re-armed for what is left. */
    uv_timer_stop(&s->timer);
    s->timer_at = 0;
    s->kicked = false;
    int64_t touches_next = touches_due(s, now);
    if (touches_next != 0)
        arm(s, touches_next);
    int64_t resume_at = resume_due(s, now);
    if (resume_at != 0)
        arm(s, resume_at);
    /* The due enrollments whose step is being written come first in the
     * due order until their write commits: read past them, so a burst (a
     * batch of outcomes) starts DUE_BATCH new steps per look, not none. */
    size_t cap = DUE_BATCH + (s->busy.n < MAX_STEPS_IN_FLIGHT ? s->busy.n : MAX_STEPS_IN_FLIGHT);
    int64_t *ids = s->busy.n < MAX_STEPS_IN_FLIGHT ? malloc(cap * sizeof(*ids)) : NULL;
    if (ids != NULL && store_enrollments_due(s->d->store, now, ids, cap, &n, &next_at) == 0) {
        size_t started = 0;
        for (size_t i = 0; i < n && started < DUE_BATCH; i++)
            if (!id_set_has(&s->busy, ids[i])) {
                run_one(s, ids[i], now);
                started++;
            }
        /* A full page: more may be due now; otherwise sleep until the next. */
        if (n == cap && started > 0)
            arm(s, now);
        else if (next_at != 0)
            arm(s, next_at);
    }
    /* Too many in flight (or no memory): the writes' completions kick us. */
    free(ids);
    s->pumping = false;
}

/* ---- public ---- */

int sequencer_new(struct daemon *d, struct sequencer **out)
{
    struct store_status st = { 0 };
    struct sequencer *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->d = d;
    if (store_status(d->store, &st) == 0)
        memcpy(s->store_id, st.store_id, sizeof(s->store_id));
    uv_timer_init(d->loop, &s->timer);
    s->timer.data = s;
    *out = s;
    sequencer_sync(s);
    return 0;
}

size_t sequencer_busy(const struct sequencer *s)
{
    return s != NULL ? s->busy.n + (s->timer_at != 0 && s->timer_at <= clock_now_ms()) : 0;
}

void sequencer_kick(struct sequencer *s)
{
    if (s == NULL || s->stopping)
        return;
    /* Always on the next turn: a batch of outcomes kicks once per touch, and
     * one look then serves them all instead of one look per kick. The look
     * re-arms for later instants itself, so a timer set for one (which the
     * test clock may have passed) is replaced. */
    if (s->kicked)
        return;
    uv_timer_stop(&s->timer);
    s->timer_at = 0;
    arm(s, clock_now_ms());
    s->kicked = true;
}

void sequencer_stop(struct sequencer *s)
{
    if (s == NULL)
        return;
    s->stopping = true;
    uv_timer_stop(&s->timer);
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void sequencer_free(struct sequencer *s)
{
    if (s == NULL)
        return;
    sequencer_stop(s);
    for (size_t i = 0; i < s->n_versions; i++)
        seq_version_free(&s->versions[i]);
    free(s->versions);
    id_set_clear(&s->busy);
    free(s->current);
    uv_close((uv_handle_t *)&s->timer, on_closed);
}
