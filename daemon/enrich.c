/* SPDX-License-Identifier: MIT */
/* daemon/enrich.c: the enrichment waterfall (enrich.h). One struct waterfall
 * per lead in flight walks cfg->enrichers in order; every step is either
 * skipped (nothing it provides is missing, nothing to look up, the instance
 * is not running), answered from the cache, or an op on the plugin; each
 * answer is applied in the store before the next step, so the next enricher
 * sees the lead as it now is.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "daemon.h"
#include "email_addr.h"
#include "enrich_int.h"
#include "icp.h"
#include "log.h"
#include "plugin_loader.h"
#include "store.h"

#define DUE_BATCH 64

static void step(struct waterfall *w);
static void pump(struct enrich *e);

/* ---- the lead as the plugins see it ---- */

/* store_lead_get's row without nulls (a plugin tests presence), or NULL. */
static json_t *load_lead(struct enrich *e, int64_t id)
{
    json_t *row = NULL, *out;
    const char *k;
    json_t *v;
    if (store_lead_get(e->d->store, id, &row) < 0)
        return NULL;
    out = json_object();
    json_object_foreach(row, k, v)
        if (!json_is_null(v))
            json_object_set(out, k, v);
    json_decref(row);
    return out;
}

static bool field_missing(const json_t *lead, const char *field)
{
    const json_t *v;
    if (strcmp(field, "email_status") == 0) {
        const char *s = json_string_value(json_object_get(lead, field));
        return s == NULL || strcmp(s, "unknown") == 0 || strcmp(s, "syntax_ok") == 0;
    }
    v = store_enrich_field_is_column(field) ? json_object_get(lead, field)
                                            : json_object_get(json_object_get(lead, "attrs"), field);
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

static bool anything_missing(const char *const *provides, const json_t *lead)
{
    if (provides == NULL)
        return true;             /* the plugin does not say: always ask */
    for (; *provides != NULL; provides++)
        if (field_missing(lead, *provides))
            return true;
    return false;
}

/* ---- ending a lead's turn ---- */

static void waterfall_free(struct waterfall *w)
{
    struct enrich *e = w->e;
    if (w->prev != NULL)
        w->prev->next = w->next;
    else
        e->running = w->next;
    if (w->next != NULL)
        w->next->prev = w->prev;
    e->n_running--;
    json_decref(w->lead);
    free(w);
}

static void on_finished(int status, int64_t id, void *arg)
{
    struct waterfall *w = arg;
    struct enrich *e = w->e;
    if (status < 0)
        log_warn("msg=\"cannot update the enrichment queue\" lead=%lld error=%s",
                 (long long)w->lead_id, error_name(status));
    else if (w->changed > 0 && !e->stopping)
        icp_rescore_lead(e->d, w->lead_id);    /* -ENODATA without "icp" is fine */
    (void)id;
    waterfall_free(w);
    pump(e);
}

/* retry_at 0: the waterfall ran to the end. */
static void finish(struct waterfall *w, int64_t retry_at, const char *error)
{
    if (store_enrich_finish(w->e->d->store, w->lead_id, retry_at, error, on_finished, w) < 0) {
        log_warn("msg=\"cannot update the enrichment queue\" lead=%lld", (long long)w->lead_id);
        waterfall_free(w);
    }
}

static void give_up_or_retry(struct waterfall *w, uint64_t retry_after_ms, const char *why)
{
    struct enrich *e = w->e;
    const struct config_enrichment *c = &e->d->cfg->enrichment;
    int attempts = 0;
    store_enrich_attempts(e->d->store, w->lead_id, &attempts);
    if (attempts + 1 >= c->max_attempts) {
        struct store_actor actor = { STORE_ACTOR_RULE, w->inst };
        json_t *data = json_pack("{s:s, s:s, s:i}", "instance", w->inst, "reason", why,
                                 "attempts", attempts + 1);
        log_warn("msg=\"enrichment given up\" lead=%lld instance=%s reason=\"%s\" attempts=%d",
                 (long long)w->lead_id, w->inst, why, attempts + 1);
        store_event_append(e->d->store, w->lead_id, 0, "enrich_failed", &actor, data, NULL, NULL);
        json_decref(data);
        finish(w, 0, NULL);
        return;
    }
    uint64_t delay = c->backoff_ms;
    for (int i = 0; i < attempts && delay < c->max_backoff_ms; i++)
        delay *= 2;
    if (delay > c->max_backoff_ms)
        delay = c->max_backoff_ms;
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    finish(w, clock_now_ms() + (int64_t)delay, why);
}

/* ---- applying an answer ---- */

static void on_applied(int status, int64_t n, void *arg)
{
    struct waterfall *w = arg;
    if (status < 0) {
        log_warn("msg=\"cannot apply an enrichment\" lead=%lld instance=%s error=%s",
                 (long long)w->lead_id, w->inst, error_name(status));
    } else if (n > 0) {
        w->changed += n;
        json_t *fresh = load_lead(w->e, w->lead_id);
        if (fresh != NULL) {
            json_decref(w->lead);
            w->lead = fresh;
        }
    }
    w->step++;
    step(w);
}

/* Keeps only a valid email, lower-cased like an import's (the dedupe key). */
static void clean_email(json_t *found)
{
    const char *em = json_string_value(json_object_get(found, "email"));
    char norm[EMAIL_ADDR_MAX + 1];
    const char *why;
    if (em == NULL)
        return;
    if (email_addr_normalize(em, strlen(em), norm, sizeof(norm), &why) < 0) {
        json_object_del(found, "email");
        return;
    }
    for (char *p = norm; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    json_object_set_new(found, "email", json_string(norm));
}

/* Applies found (borrowed; NULL or {} is "nothing found") and moves on. */
static void apply(struct waterfall *w, json_t *found)
{
    struct enrich *e = w->e;
    if (!json_is_object(found) || json_object_size(found) == 0 || e->stopping) {
        w->step++;
        step(w);
        return;
    }
    json_t *copy = json_deep_copy(found);
    const char *source = json_string_value(json_object_get(copy, "_source"));
    clean_email(copy);
    int rc = store_lead_enrich(e->d->store, w->lead_id, w->inst, w->plugin,
                               source != NULL ? source : w->inst, copy, on_applied, w);
    json_decref(copy);
    if (rc < 0)
        on_applied(rc, 0, w);
}

static void on_answer(void *arg, const struct drumbeat_result *res, json_t *attrs,
                      int64_t cache_ttl_ms)
{
    struct waterfall *w = arg;
    struct enrich *e = w->e;
    struct enrich_inst *in = enrich_inst_get(e, w->inst);
    const struct config_plugin_instance *ci = NULL;

    for (size_t i = 0; i < e->d->cfg->n_enrichers; i++)
        if (strcmp(e->d->cfg->enrichers[i].name, w->inst) == 0)
            ci = &e->d->cfg->enrichers[i];
    if (in != NULL)
        in->in_flight--;
    if (res->outcome == DRUMBEAT_DONE) {
        int64_t ttl = cache_ttl_ms >= 0 ? cache_ttl_ms
                    : ci != NULL ? (int64_t)ci->cache_ttl_ms : 0;
        if (in != NULL) {
            in->found += json_is_object(attrs) && json_object_size(attrs) > 0;
        }
        if (w->key[0] != '\0' && ttl > 0)
            store_enrich_cache_put(e->d->store, w->inst, w->key, attrs,
                                   clock_now_ms() + ttl, NULL, NULL);
        apply(w, attrs);
    } else if (res->outcome == DRUMBEAT_RETRY) {
        char why[160];
        if (in != NULL)
            in->retries++;
        snprintf(why, sizeof(why), "%s asked to retry (code %d)", w->inst, res->code);
        give_up_or_retry(w, res->retry_after_ms, why);
    } else {
        if (in != NULL)
            in->failures++;
        log_warn("msg=\"enricher failed for a lead\" lead=%lld instance=%s code=%d",
                 (long long)w->lead_id, w->inst, res->code);
        w->step++;
        step(w);
    }
    json_decref(attrs);
    /* A slot of this instance is free: the next waiter may go. */
    if (in != NULL && in->wait_head != NULL)
        enrich_kick(e);
}

/* ---- one step ---- */

static void call(struct waterfall *w, struct enrich_inst *in)
{
    struct enrich *e = w->e;
    int rc;
    in->in_flight++;
    in->calls++;
    rc = plugins_enrich(e->d->plugins, w->inst, w->lead, on_answer, w);
    if (rc < 0) {
        in->in_flight--;
        log_warn("msg=\"enricher refused a lead\" lead=%lld instance=%s error=%s",
                 (long long)w->lead_id, w->inst, error_name(rc));
        w->step++;
        step(w);
    }
}

static void arm(struct enrich *e, int64_t at);

/* Starts w's op now if its instance admits it, else parks w on it. */
static void admit_or_wait(struct waterfall *w, struct enrich_inst *in,
                          const struct config_plugin_instance *ci)
{
    int64_t wait = enrich_inst_admit(in, ci, (int64_t)uv_now(w->e->d->loop));
    if (wait == 0) {
        call(w, in);
        return;
    }
    w->waiting = true;
    enrich_inst_wait(in, w);
    if (wait > 0)
        arm(w->e, clock_now_ms() + wait);
}

static void step(struct waterfall *w)
{
    struct enrich *e = w->e;
    const struct config *cfg = e->d->cfg;

    for (; !e->stopping && w->step < cfg->n_enrichers; w->step++) {
        const struct config_plugin_instance *ci = &cfg->enrichers[w->step];
        const char *const *provides = plugins_enricher_provides(e->d->plugins, ci->name);
        int rc;

        if (!anything_missing(provides, w->lead))
            continue;
        rc = plugins_enrich_cache_key(e->d->plugins, ci->name, w->lead, w->key, sizeof(w->key));
        if (rc == -ENOENT || rc == -ENODEV)
            continue;            /* nothing to look up, or the instance is not running */
        if (rc != 0)
            w->key[0] = '\0';
        snprintf(w->inst, sizeof(w->inst), "%s", ci->name);
        snprintf(w->plugin, sizeof(w->plugin), "%s", ci->plugin);
        struct enrich_inst *in = enrich_inst_get(e, ci->name);
        if (in == NULL)
            continue;
        if (w->key[0] != '\0') {
            json_t *answer = NULL;
            rc = store_enrich_cache_get(e->d->store, ci->name, w->key, clock_now_ms(), &answer);
            if (rc == 0) {
                in->cache_hits++;
                apply(w, answer);
                json_decref(answer);
                return;
            }
        }
        admit_or_wait(w, in, ci);
        return;
    }
    /* The end, or stopping: a stopped waterfall leaves its lead queued. */
    if (e->stopping)
        waterfall_free(w);
    else
        finish(w, 0, NULL);
}

/* ---- the queue ---- */

static bool running(struct enrich *e, int64_t lead_id)
{
    for (struct waterfall *w = e->running; w != NULL; w = w->next)
        if (w->lead_id == lead_id)
            return true;
    return false;
}

static void start(struct enrich *e, int64_t lead_id)
{
    struct waterfall *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return;
    w->e = e;
    w->lead_id = lead_id;
    w->next = e->running;
    if (e->running != NULL)
        e->running->prev = w;
    e->running = w;
    e->n_running++;
    w->lead = load_lead(e, lead_id);
    /* Deleted, forgotten or suppressed since it was queued: nothing to do. */
    if (w->lead == NULL || json_integer_value(json_object_get(w->lead, "suppressed")) != 0) {
        finish(w, 0, NULL);
        return;
    }
    step(w);
}

static void on_timer(uv_timer_t *t)
{
    struct enrich *e = t->data;
    e->timer_at = 0;
    enrich_kick(e);
}

static void arm(struct enrich *e, int64_t at)
{
    int64_t now = clock_now_ms();
    if (e->stopping || (e->timer_at != 0 && e->timer_at <= at))
        return;
    e->timer_at = at;
    uv_timer_start(&e->timer, on_timer, at > now ? (uint64_t)(at - now) : 0, 0);
}

/* Lets parked waterfalls go where their instance now admits them. */
static void wake_waiters(struct enrich *e)
{
    const struct config *cfg = e->d->cfg;
    for (size_t i = 0; i < e->n_insts; i++) {
        struct enrich_inst *in = &e->insts[i];
        const struct config_plugin_instance *ci = NULL;
        for (size_t k = 0; k < cfg->n_enrichers; k++)
            if (strcmp(cfg->enrichers[k].name, in->name) == 0)
                ci = &cfg->enrichers[k];
        while (in->wait_head != NULL) {
            struct waterfall *w;
            if (ci == NULL) {            /* removed by a reload: move on */
                w = enrich_inst_pop(in);
                w->waiting = false;
                w->step++;
                step(w);
                continue;
            }
            int64_t wait = enrich_inst_admit(in, ci, (int64_t)uv_now(e->d->loop));
            if (wait != 0) {
                if (wait > 0)
                    arm(e, clock_now_ms() + wait);
                break;
            }
            w = enrich_inst_pop(in);
            w->waiting = false;
            call(w, in);
        }
    }
}

static void pump(struct enrich *e)
{
    int64_t ids[DUE_BATCH], next_at = 0;
    size_t n = 0;

    if (e->stopping || e->pumping)
        return;
    e->pumping = true;
    wake_waiters(e);
    size_t limit = (size_t)e->d->cfg->enrichment.concurrency;
    if (e->n_running < limit) {
        /* Running leads are still queued and come back among the first
         * `limit` due ones; the rest are new. */
        size_t want = limit;
        if (want > DUE_BATCH)
            want = DUE_BATCH;
        if (store_enrich_due(e->d->store, clock_now_ms(), ids, want, &n, &next_at) == 0) {
            for (size_t i = 0; i < n && e->n_running < limit && !e->stopping; i++)
                if (!running(e, ids[i]))
                    start(e, ids[i]);
            if (next_at != 0)
                arm(e, next_at);
        }
    }
    e->pumping = false;
}

/* ---- public ---- */

int enrich_new(struct daemon *d, struct enrich **out)
{
    struct enrich *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return -ENOMEM;
    e->d = d;
    uv_timer_init(d->loop, &e->timer);
    e->timer.data = e;
    *out = e;
    return 0;
}

void enrich_kick(struct enrich *e)
{
    if (e == NULL || e->stopping)
        return;
    if (e->pumping) {
        arm(e, clock_now_ms());
        return;
    }
    pump(e);
}

void enrich_stop(struct enrich *e)
{
    if (e == NULL)
        return;
    e->stopping = true;
    uv_timer_stop(&e->timer);
    /* Parked waterfalls never got an op: drop them (their leads stay queued). */
    for (size_t i = 0; i < e->n_insts; i++) {
        struct waterfall *w;
        while ((w = enrich_inst_pop(&e->insts[i])) != NULL)
            waterfall_free(w);
    }
}

static void on_timer_closed(uv_handle_t *h)
{
    free(h->data);
}

void enrich_free(struct enrich *e)
{
    if (e == NULL)
        return;
    enrich_stop(e);
    while (e->running != NULL)
        waterfall_free(e->running);
    free(e->insts);
    uv_close((uv_handle_t *)&e->timer, on_timer_closed);
}

json_t *enrich_status_json(struct enrich *e)
{
    int64_t queued = 0;
    json_t *list = json_array();
    store_enrich_queued(e->d->store, &queued);
    for (size_t i = 0; i < e->n_insts; i++) {
        const struct enrich_inst *in = &e->insts[i];
        json_array_append_new(list, json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
            "name", in->name, "in_flight", (json_int_t)in->in_flight,
            "calls", (json_int_t)in->calls, "cache_hits", (json_int_t)in->cache_hits,
            "found", (json_int_t)in->found, "retries", (json_int_t)in->retries,
            "failures", (json_int_t)in->failures, "rate_waits", (json_int_t)in->rate_waits));
    }
    return json_pack("{s:I, s:I, s:o}", "queued", (json_int_t)queued,
                     "running", (json_int_t)e->n_running, "enrichers", list);
}
