/* SPDX-License-Identifier: MIT */
/* daemon/plugin_instance.c: the life of ops on plugin instances: sends and
 * enrichments handed to plugins, their completions delivered to the caller,
 * completions that arrive too early (inside send) deferred to the next loop
 * iteration, draining instances finalised once idle, and the shutdown drain.
 *
 * Anything that may free a plugin's state or unmap its code (fini, dlclose,
 * the drained callback, which leads to plugins_free) runs from the defer
 * timer, never inside a call that came from plugin code: returning into an
 * unmapped plugin would crash. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <dlfcn.h>

#include "errors.h"
#include "plugin_instance.h"

static void batch_free(struct send_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        struct drumbeat_message *m = &b->msgs[i];
        free((char *)m->sender);
        free((char *)m->recipient);
        free((char *)m->content_type);
        free((char *)m->payload);
        free((char *)m->idempotency_key);
    }
    free(b->msgs);
    free(b->ops);
    free(b);
}

static int dup_opt(const char *s, const char **out)
{
    *out = NULL;
    if (s == NULL)
        return 0;
    *out = strdup(s);
    return *out != NULL ? 0 : -ENOMEM;
}

/* Copies the caller's messages: theirs are borrowed for the call only, while
 * the plugin may read them until each op's done. */
static struct send_batch *batch_copy(const struct drumbeat_message *msgs, size_t n)
{
    struct send_batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return NULL;
    b->msgs = calloc(n, sizeof(*b->msgs));
    b->ops = calloc(n, sizeof(*b->ops));
    if (b->msgs == NULL || b->ops == NULL)
        goto fail;
    b->n = n;
    for (size_t i = 0; i < n; i++) {
        const struct drumbeat_message *in = &msgs[i];
        struct drumbeat_message *m = &b->msgs[i];
        m->touch_id = in->touch_id;
        m->payload_len = in->payload_len;
        if (dup_opt(in->sender, &m->sender) < 0 || dup_opt(in->recipient, &m->recipient) < 0 ||
            dup_opt(in->content_type, &m->content_type) < 0 ||
            dup_opt(in->idempotency_key, &m->idempotency_key) < 0)
            goto fail;
        char *payload = malloc(in->payload_len + 1);
        if (payload == NULL)
            goto fail;
        if (in->payload_len > 0)
            memcpy(payload, in->payload, in->payload_len);
        payload[in->payload_len] = '\0';
        m->payload = payload;
    }
    return b;
fail:
    batch_free(b);
    return NULL;
}

static void op_link(struct drumbeat_instance *inst, struct drumbeat_op *op)
{
    op->inst = inst;
    op->next = inst->ops;
    if (inst->ops != NULL)
        inst->ops->prev = op;
    inst->ops = op;
    inst->in_flight++;
    inst->owner->in_flight++;
}

static void op_unlink(struct drumbeat_op *op)
{
    struct drumbeat_instance *inst = op->inst;

    if (op->prev != NULL)
        op->prev->next = op->next;
    else
        inst->ops = op->next;
    if (op->next != NULL)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    inst->in_flight--;
    inst->owner->in_flight--;
}

static void op_free(struct drumbeat_op *op)
{
    if (op->batch != NULL && --op->batch->refs == 0)
        batch_free(op->batch);
    json_decref(op->lead);
    json_decref(op->attrs);
    free(op->enhanced);
    free(op->detail);
    free(op);
}

static void deferred_remove(struct plugins *p, struct drumbeat_op *op)
{
    struct drumbeat_op **at = &p->deferred;

    p->deferred_tail = NULL;
    while (*at != NULL) {
        if (*at == op)
            *at = op->defer_next;
        else {
            p->deferred_tail = *at;
            at = &(*at)->defer_next;
        }
    }
    op->defer_next = NULL;
}

static void op_deliver(struct drumbeat_op *op, const struct drumbeat_result *res, json_t *attrs)
{
    struct drumbeat_instance *inst = op->inst;
    struct plugins *p = inst->owner;

    op_unlink(op);
    if (res->outcome == DRUMBEAT_DONE)
        inst->sent++;
    else
        inst->failed_ops++;
    if (p->freeing) {
        json_decref(attrs);              /* abandoned at shutdown: nobody listens */
    } else if (op->enrich) {
        op->enrich_cb(op->arg, res, attrs, op->cache_ttl_ms);
    } else {
        json_decref(attrs);
        op->done_cb(op->arg, res);
    }
    op_free(op);
    instance_maybe_idle(inst);
}

void instance_complete(struct drumbeat_op *op, const struct drumbeat_result *res, json_t *attrs)
{
    struct drumbeat_instance *inst = op->inst;
    struct plugins *p = inst->owner;
    struct drumbeat_result r = { .outcome = DRUMBEAT_IN_DOUBT, .scope = DRUMBEAT_SCOPE_MESSAGE };

    if (op->completed) {
        log_error("src=%s msg=\"op completed twice; second completion ignored\"", inst->prefix);
        json_decref(attrs);
        return;
    }
    op->completed = true;
    if (res != NULL)
        r = *res;
    if (res == NULL || r.outcome < DRUMBEAT_DONE || r.outcome > DRUMBEAT_IN_DOUBT) {
        /* We cannot know what happened: in doubt is the one safe reading. */
        log_error("src=%s msg=\"plugin completed an op with an invalid outcome\" outcome=%d",
                  inst->prefix, res != NULL ? (int)res->outcome : -1);
        r = (struct drumbeat_result){ .outcome = DRUMBEAT_IN_DOUBT,
                                      .detail = "plugin reported an invalid outcome" };
    }
    if (r.scope == 0)
        r.scope = DRUMBEAT_SCOPE_MESSAGE;
    if (!op->enrich && attrs != NULL) {
        json_decref(attrs);
        attrs = NULL;
    }
    if (p->in_call > 0) {
        log_warn("src=%s msg=\"plugin completed an op from inside send; "
                 "delivering it on the next loop iteration\"", inst->prefix);
        op->res = r;
        op->enhanced = r.enhanced ? strdup(r.enhanced) : NULL;
        op->detail = r.detail ? strdup(r.detail) : NULL;
        op->res.enhanced = op->enhanced;
        op->res.detail = op->detail;
        op->attrs = attrs;
        op->defer_next = NULL;
        if (p->deferred_tail != NULL)
            p->deferred_tail->defer_next = op;
        else
            p->deferred = op;
        p->deferred_tail = op;
        plugins_defer_arm(p);
        return;
    }
    op_deliver(op, &r, attrs);
}

int plugins_send(struct plugins *p, const char *channel, const struct drumbeat_message *msgs,
                 size_t n, plugins_done_cb cb, void *const *args)
{
    struct drumbeat_instance *inst;
    struct send_batch *b;
    int rc;

    inst = plugins_usable(p, channel, DRUMBEAT_KIND_CHANNEL, &rc);
    if (inst == NULL)
        return rc;
    if (n == 0 || n > plugins_max_batch(p, channel) || msgs == NULL || cb == NULL)
        return -EINVAL;
    b = batch_copy(msgs, n);
    if (b == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct drumbeat_op *op = calloc(1, sizeof(*op));
        if (op == NULL) {
            rc = -ENOMEM;
            goto fail;
        }
        op->done_cb = cb;
        op->arg = args != NULL ? args[i] : NULL;
        op->batch = b;
        op->touch_id = msgs[i].touch_id;
        b->refs++;
        b->ops[i] = op;
        op_link(inst, op);
    }
    p->in_call++;
    rc = inst->desc.channel->send(inst->state, b->msgs, b->ops, n);
    p->in_call--;
    if (rc >= 0)
        return 0;
    log_debug("src=%s msg=\"send refused\" error=%s", inst->prefix, error_name(rc));
fail:
    /* The plugin said no (or we ran out of memory): none of the ops exists
     * for the caller, even one the plugin wrongly completed already. The
     * last op_free frees the batch. */
    if (b->refs == 0) {
        batch_free(b);
        return rc;
    }
    for (size_t i = 0, made = b->refs; i < made; i++) {
        struct drumbeat_op *op = b->ops[i];
        if (op->completed)
            deferred_remove(p, op);
        op_unlink(op);
        op_free(op);
    }
    return rc;
}

int plugins_enrich(struct plugins *p, const char *enricher, const json_t *lead,
                   plugins_enrich_cb cb, void *arg)
{
    struct drumbeat_instance *inst;
    struct drumbeat_op *op;
    int rc;

    inst = plugins_usable(p, enricher, DRUMBEAT_KIND_ENRICHER, &rc);
    if (inst == NULL)
        return rc;
    if (lead == NULL || cb == NULL)
        return -EINVAL;
    op = calloc(1, sizeof(*op));
    if (op == NULL)
        return -ENOMEM;
    op->enrich = true;
    op->enrich_cb = cb;
    op->cache_ttl_ms = -1;
    op->arg = arg;
    /* The plugin borrows lead until enrich_done; a reference keeps it. */
    op->lead = json_incref((json_t *)lead);
    op_link(inst, op);
    p->in_call++;
    rc = inst->desc.enricher->enrich(inst->state, op->lead, op);
    p->in_call--;
    if (rc >= 0)
        return 0;
    if (op->completed)
        deferred_remove(p, op);
    op_unlink(op);
    op_free(op);
    return rc;
}

size_t plugins_in_flight(const struct plugins *p)
{
    return p->in_flight;
}

/* ---- the defer timer: late deliveries, reaping, the drained callback ---- */

static void report_drained(struct plugins *p, bool timed_out)
{
    if (timed_out) {
        struct drumbeat_instance *lists[2] = { p->current, p->old };
        for (int l = 0; l < 2; l++)
            for (struct drumbeat_instance *i = lists[l]; i != NULL; i = i->next)
                for (struct drumbeat_op *op = i->ops; op != NULL; op = op->next)
                    log_warn("src=%s msg=\"op still in flight at the drain timeout: in doubt\" "
                             "touch=%" PRId64 " kind=%s", i->prefix, op->touch_id,
                             op->enrich ? "enrich" : "send");
    }
    p->drain_reported = true;
    uv_timer_stop(&p->drain_timer);
    /* Last: the callback may free p (its memory goes in close callbacks). */
    p->drained(p->drained_arg);
}

static void reap(struct plugins *p)
{
    struct drumbeat_instance **at = &p->old;

    while (*at != NULL) {
        struct drumbeat_instance *inst = *at;
        if (inst->in_flight == 0 && inst->n_pending == 0) {
            *at = inst->next;
            log_info("src=%s msg=\"drained instance finalised\"", inst->prefix);
            instance_free(inst);
        } else {
            at = &inst->next;
        }
    }
}

static void on_defer(uv_timer_t *t)
{
    struct plugins *p = t->data;
    struct drumbeat_op *op;

    while ((op = p->deferred) != NULL) {
        p->deferred = op->defer_next;
        if (p->deferred == NULL)
            p->deferred_tail = NULL;
        op->defer_next = NULL;
        json_t *attrs = op->attrs;
        op->attrs = NULL;
        op_deliver(op, &op->res, attrs);
    }
    if (p->reap_needed) {
        p->reap_needed = false;
        reap(p);
    }
    if (p->draining && !p->drain_reported && p->in_flight == 0)
        report_drained(p, false);
}

void plugins_defer_arm(struct plugins *p)
{
    if (p->freeing || uv_is_closing((uv_handle_t *)&p->defer))
        return;
    if (!uv_is_active((uv_handle_t *)&p->defer))
        uv_timer_start(&p->defer, on_defer, 0, 0);
}

void instance_maybe_idle(struct drumbeat_instance *inst)
{
    struct plugins *p = inst->owner;

    if (inst->st == INST_DRAINING && inst->in_flight == 0 && inst->n_pending == 0) {
        p->reap_needed = true;
        plugins_defer_arm(p);
    }
    if (p->draining && p->in_flight == 0)
        plugins_defer_arm(p);
}

static void on_drain_timeout(uv_timer_t *t)
{
    struct plugins *p = t->data;

    if (!p->drain_reported)
        report_drained(p, true);
}

int plugins_drain(struct plugins *p, uint64_t timeout_ms, void (*drained)(void *arg), void *arg)
{
    if (drained == NULL)
        return -EINVAL;
    if (p->draining)
        return -EALREADY;
    p->draining = true;
    p->drained = drained;
    p->drained_arg = arg;
    if (timeout_ms > 0)
        uv_timer_start(&p->drain_timer, on_drain_timeout, timeout_ms, 0);
    /* Even with nothing in flight, drained runs later, never from in here. */
    plugins_defer_arm(p);
    return 0;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct plugins *p = h->data;
    if (--p->open_handles == 0)
        free(p);
}

void plugins_defer_close(struct plugins *p)
{
    uv_close((uv_handle_t *)&p->defer, on_handle_closed);
    uv_close((uv_handle_t *)&p->drain_timer, on_handle_closed);
}

int plugins_timers_init(struct plugins *p)
{
    uv_timer_init(p->loop, &p->defer);
    uv_timer_init(p->loop, &p->drain_timer);
    p->defer.data = p;
    p->drain_timer.data = p;
    p->open_handles = 2;
    return 0;
}

/* ---- freeing one instance ---- */

void instance_free(struct drumbeat_instance *inst)
{
    struct plugins *p = inst->owner;
    size_t running = 0;

    if (inst->initialised) {
        /* The plugin's callbacks for cancelled services run now, while its
         * state still exists; they may complete ops (not delivered if the
         * daemon is shutting down). */
        running = host_api_abandon(inst);
        if (inst->desc.fini != NULL)
            inst->desc.fini(inst->state);
        inst->initialised = false;
        inst->state = NULL;
    }
    while (inst->ops != NULL) {
        struct drumbeat_op *op = inst->ops;
        if (op->completed)
            deferred_remove(p, op);
        op_unlink(op);
        op_free(op);
    }
    plugin_options_strings_free(&inst->strings);
    free(inst->settings);
    if (inst->dl != NULL) {
        if (running == 0)
            dlclose(inst->dl);
        else
            log_warn("src=%s msg=\"work still running on the threadpool; plugin left mapped\" "
                     "count=%zu", inst->prefix, running);
    }
    pthread_mutex_destroy(&inst->log_mu);
    free(inst->name);
    free(inst->plugin);
    free(inst->file);
    free(inst->error);
    free(inst);
}
