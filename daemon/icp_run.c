/* SPDX-License-Identifier: MIT */
/* daemon/icp_run.c: applies the ideal customer profile on the running
 * daemon. Scoring a lead reads it (the loop thread's read connection, short
 * and indexed), scores it (icp.c, pure), queues the score and breakdown, and,
 * for a ready lead still in "intelligence", queues the one stage transition
 * to "prospecting" with a prospector picked round-robin and the rule actor
 * "icp" (so the move, its owner and its stage_changed event are one
 * transaction). A full pass (after an import, a reload, at start) walks the
 * intelligence leads by id, ICP_PASS_BATCH per loop tick, and starts the
 * next page only once the writer committed the last one, so neither the
 * loop nor the writer queue is ever held by a long list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "daemon.h"
#include "icp.h"
#include "log.h"
#include "stages.h"
#include "store.h"

#define ICP_CANDIDATES_MAX 256

struct icp_runner {
    struct daemon *d;
    uv_timer_t timer;
    bool pass_on;                /* a pass is under way */
    int64_t cursor;              /* the last lead id the pass scored */
    int inflight;                /* queued writes not yet completed */
    bool closing;
    int64_t scored, moved;       /* by the current pass, for its log line */
};

static void on_tick(uv_timer_t *t);

static void schedule(struct icp_runner *r)
{
    if (!r->closing && r->pass_on && r->inflight == 0 && !uv_is_active((uv_handle_t *)&r->timer))
        uv_timer_start(&r->timer, on_tick, 0, 0);
}

static void on_written(int status, int64_t id, void *arg)
{
    struct icp_runner *r = arg;
    r->inflight--;
    if (status < 0 && status != -ENOENT)
        log_warn("msg=\"cannot record the ICP score\" lead_id=%lld error=%s", (long long)id,
                 error_name(status));
    schedule(r);
}

static int rescore(struct icp_runner *r, int64_t lead_id)
{
    struct daemon *d = r->d;
    const struct icp_rules *rules = d->cfg != NULL ? d->cfg->icp : NULL;
    struct icp_result res = { 0 };
    json_t *lead = NULL;
    int rc;

    if (rules == NULL)
        return -ENODATA;
    if (d->store == NULL || d->stopping)
        return -ESHUTDOWN;
    rc = store_lead_get(d->store, lead_id, &lead);
    if (rc < 0)
        return rc;
    /* A forgotten lead (GDPR erasure) keeps no profile: nothing to score. */
    const char *status = json_string_value(json_object_get(lead, "email_status"));
    if (status != NULL && strcmp(status, "forgotten") == 0) {
        rc = -ENOENT;
        goto out;
    }
    rc = icp_score(rules, lead, &res);
    if (rc < 0)
        goto out;
    rc = store_icp_save(d->store, lead_id, res.score, res.qualified, res.breakdown,
                        on_written, r);
    if (rc < 0)
        goto out;
    r->inflight++;
    r->scored++;
    const char *stage = json_string_value(json_object_get(lead, "stage"));
    if (res.ready && stage != NULL && strcmp(stage, "intelligence") == 0) {
        static const struct store_actor actor = { STORE_ACTOR_RULE, "icp" };
        const char *names[ICP_CANDIDATES_MAX];
        const char *role = stage_role("prospecting");
        size_t n = stage_candidates(d->cfg, role, names, ICP_CANDIDATES_MAX);
        if (n == 0)
            log_warn("msg=\"no team member has the prospector role: the lead moves to "
                     "prospecting without an owner\" lead_id=%lld", (long long)lead_id);
        rc = store_stage_move(d->store, lead_id, "prospecting", role, names, n, &actor,
                              "icp_ready", on_written, r);
        if (rc < 0)
            goto out;
        r->inflight++;
        r->moved++;
    }
out:
    json_decref(res.breakdown);
    json_decref(lead);
    return rc;
}

static void on_tick(uv_timer_t *t)
{
    struct icp_runner *r = t->data;
    struct daemon *d = r->d;
    int64_t ids[ICP_PASS_BATCH];
    size_t n = 0;

    if (!r->pass_on || r->inflight > 0)
        return;
    if (d->stopping || d->store == NULL || d->cfg == NULL || d->cfg->icp == NULL) {
        r->pass_on = false;
        return;
    }
    int rc = store_leads_in_stage(d->store, "intelligence", r->cursor, ids, ICP_PASS_BATCH, &n);
    if (rc < 0) {
        log_warn("msg=\"ICP pass stopped: cannot list leads\" error=%s", error_name(rc));
        r->pass_on = false;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        rc = rescore(r, ids[i]);
        if (rc < 0 && rc != -ENOENT)
            log_warn("msg=\"cannot score a lead\" lead_id=%lld error=%s", (long long)ids[i],
                     error_name(rc));
        r->cursor = ids[i];
    }
    if (n < ICP_PASS_BATCH) {
        r->pass_on = false;
        log_info("msg=\"ICP pass done\" scored=%lld moved=%lld", (long long)r->scored,
                 (long long)r->moved);
        return;
    }
    /* Nothing queued (every lead failed to score): go on next tick anyway. */
    schedule(r);
}

int icp_runner_new(struct daemon *d, struct icp_runner **out)
{
    struct icp_runner *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return -ENOMEM;
    r->d = d;
    int rc = uv_timer_init(d->loop, &r->timer);
    if (rc < 0) {
        free(r);
        return rc;
    }
    r->timer.data = r;
    *out = r;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    free(h->data);
}

void icp_runner_free(struct icp_runner *r)
{
    if (r == NULL)
        return;
    r->closing = true;
    r->pass_on = false;
    uv_close((uv_handle_t *)&r->timer, on_closed);
}

int icp_rescore_lead(struct daemon *d, int64_t lead_id)
{
    if (d->icp == NULL)
        return -ESHUTDOWN;
    return rescore(d->icp, lead_id);
}

void icp_rescore_all(struct daemon *d)
{
    struct icp_runner *r = d->icp;
    if (r == NULL || r->closing || d->cfg == NULL || d->cfg->icp == NULL)
        return;
    /* From the start again: a lead already passed may score differently now. */
    r->cursor = 0;
    if (!r->pass_on) {
        r->scored = r->moved = 0;
        log_info("msg=\"ICP pass started\" threshold=%g", d->cfg->icp->threshold);
    }
    r->pass_on = true;
    schedule(r);
}

bool icp_pass_running(const struct daemon *d)
{
    return d->icp != NULL && d->icp->pass_on;
}
