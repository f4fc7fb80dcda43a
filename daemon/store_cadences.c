/* SPDX-License-Identifier: MIT */
/* daemon/store_cadences.c: cadence versions and enrollments in the store.
 *
 * A cadence version is one distinct canonical text of its file; an
 * enrollment points at the version it started on (cadence_id), so editing a
 * live cadence never changes what running enrollments do. Enrolling checks,
 * per lead, everything that refuses a lead (suppressed, unsubscribed,
 * bounced, already in an active cadence, the company cap, the cool-down, a
 * customer's or open deal's domain, the cadence's max_active, and with
 * require_basis a missing source or lawful basis) and assigns a
 * mailbox by rotation, the least loaded of the cadence's mailboxes, which
 * the lead then keeps so replies thread.
 *
 * Enrolling is one transaction per request (up to 10,000 leads): the loads
 * of the mailboxes and the cadence's active count are counted once, at the
 * start of it, and kept up to date in memory as leads are enrolled, so each
 * lead costs a few indexed lookups whatever the size of the cadence.
 * Counting them per lead made enrolling quadratic (bench/bench_cadence.sh).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- versions ---- */

struct version_req {
    const char *name, *text;
};

static int version_run(struct store *st, struct store_req *req)
{
    struct version_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT id, definition, version FROM cadences WHERE name = ?1"
                        " ORDER BY version DESC LIMIT 1", &s);
    int64_t version = 0;
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->name);
    if (sqlite3_step(s) == SQLITE_ROW) {
        version = sqlite3_column_int64(s, 2);
        if (strcmp((const char *)sqlite3_column_text(s, 1), m->text) == 0)
            req->id = sqlite3_column_int64(s, 0);
    }
    sqlite3_reset(s);
    if (req->id != 0)
        return 0;                /* unchanged since the last start or reload */
    rc = store_stmt(&st->wr, "INSERT INTO cadences (name, version, definition, created_at)"
                    " VALUES (?1, ?2, ?3, ?4)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->name);
    sqlite3_bind_int64(s, 2, version + 1);
    store_bind_text(s, 3, m->text);
    sqlite3_bind_int64(s, 4, req->now);
    if ((rc = store_stmt_done(&st->wr, s)) < 0)
        return rc;
    req->id = sqlite3_last_insert_rowid(st->wr.db);
    return store_event_insert_json(st, req, 0, 0, "cadence_version",
                                   json_pack("{s:s, s:I}", "cadence", m->name,
                                             "version", (json_int_t)(version + 1)));
}

int store_cadence_version(struct store *st, const char *name, const char *canonical,
                          store_done_cb cb, void *arg)
{
    struct store_req *req = store_req_new_priv(version_run, NULL, cb, arg,
                                               sizeof(struct version_req));
    if (req == NULL)
        return -ENOMEM;
    struct version_req *m = req->priv;
    m->name = store_req_dup(req, name);
    m->text = store_req_dup(req, canonical);
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}

int store_cadence_version_get(struct store *st, int64_t id, char **name, int64_t *version,
                              json_t **definition)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd, "SELECT name, version, definition FROM cadences WHERE id = ?1",
                        &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *name = strdup((const char *)sqlite3_column_text(s, 0));
        *version = sqlite3_column_int64(s, 1);
        *definition = json_loads((const char *)sqlite3_column_text(s, 2), 0, NULL);
        rc = *name != NULL && *definition != NULL ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    }
    sqlite3_reset(s);
    return rc;
}

/* ---- enrolling ---- */

struct enroll_req {
    int64_t cadence_id;
    const char *cadence;
    int64_t *leads;
    size_t n;
    /* NULL-terminated, each malloc'd here: a cadence may name more
     * mailboxes than req->mem holds. */
    char **mailboxes;
    int64_t *loads;             /* active enrollments per mailbox, during enroll_run */
    bool *paused;               /* per mailbox: paused (store_mailboxes.c), during enroll_run */
    int64_t active;             /* the cadence's active enrollments, during enroll_run */
    struct store_enroll_rules rules;
    json_t *results;            /* [{lead_id, enrollment_id | refused}] */
    store_enroll_cb cb;
    void *arg;
};

static void enroll_cleanup(struct store_req *req)
{
    struct enroll_req *m = req->priv;
    free(m->leads);
    for (size_t i = 0; m->mailboxes != NULL && m->mailboxes[i] != NULL; i++)
        free(m->mailboxes[i]);
    free(m->mailboxes);
    free(m->loads);
    free(m->paused);
    json_decref(m->results);
    free(m);                     /* the private block itself, as the default cleanup would */
}

static int64_t count1(struct store *st, const char *sql, int64_t a, const char *b, int64_t c)
{
    sqlite3_stmt *s;
    int64_t n = -1;
    if (store_stmt(&st->wr, sql, &s) < 0)
        return -1;
    sqlite3_bind_int64(s, 1, a);
    store_bind_text(s, 2, b);
    sqlite3_bind_int64(s, 3, c);
    if (sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
}

/* Why the lead may not be enrolled, or NULL. */
static const char *refusal(struct store *st, struct enroll_req *m, int64_t lead, int64_t now)
{
    sqlite3_stmt *s;
    const char *why = NULL;
    char domain[256] = "";
    if (store_stmt(&st->wr, "SELECT suppressed, unsubscribed, bounced, coalesce(domain, ''),"
                   " email_status, coalesce(source, '') = '', coalesce(lawful_basis, '') = ''"
                   " FROM leads WHERE id = ?1", &s) < 0)
        return "store_error";
    sqlite3_bind_int64(s, 1, lead);
    if (sqlite3_step(s) != SQLITE_ROW)
        why = "no_such_lead";
    else if (sqlite3_column_int(s, 2))
        why = "bounced";
    else if (sqlite3_column_int(s, 1))
        why = "unsubscribed";
    else if (sqlite3_column_int(s, 0))
        why = "suppressed";
    /* Contacting someone needs a record of where they came from and on
     * which GDPR basis (the launch check's per-lead part). */
    else if (m->rules.require_basis && sqlite3_column_int(s, 6))
        why = "no_lawful_basis";
    else if (m->rules.require_basis && sqlite3_column_int(s, 5))
        why = "no_source";
    else
        snprintf(domain, sizeof(domain), "%s", (const char *)sqlite3_column_text(s, 3));
    sqlite3_reset(s);
    if (why != NULL)
        return why;
    if (count1(st, "SELECT count(*) FROM enrollments WHERE lead_id = ?1 AND state IN"
               " ('active', 'paused') AND ?2 IS NULL AND ?3 = ?3", lead, NULL, 0) > 0)
        return "already_enrolled";
    if (m->rules.cooldown_ms > 0 &&
        count1(st, "SELECT count(*) FROM enrollments WHERE lead_id = ?1 AND ?2 IS NULL"
               " AND ended_at > ?3", lead, NULL, now - m->rules.cooldown_ms) > 0)
        return "cooldown";
    /* From the domain's few leads to their enrollments: CROSS JOIN keeps
     * that order, which the planner would otherwise turn round into a scan
     * of every active enrollment, per lead. */
    if (domain[0] != '\0' && m->rules.max_active_per_domain > 0 &&
        count1(st, "SELECT count(*) FROM leads l CROSS JOIN enrollments e ON e.lead_id = l.id"
               " WHERE e.state = 'active' AND l.domain = ?2 AND ?1 = ?1 AND ?3 = ?3", 0, domain,
               0) >= m->rules.max_active_per_domain)
        return "company_cap";
    /* A customer's or an open deal's domain is never cold-emailed. */
    if (domain[0] != '\0' && m->rules.skip_customer_domains &&
        count1(st, "SELECT count(*) FROM leads WHERE domain = ?2 AND stage IN"
               " ('closing', 'post_purchase') AND id != ?1 AND ?3 = ?3", lead, domain, 0) > 0)
        return "customer_domain";
    if (m->rules.max_active > 0 && m->active >= m->rules.max_active)
        return "cadence_max_active";
    return NULL;
}

/* The cadence's active enrollments, in all and per mailbox of the rotation,
 * as they are when the transaction starts (m->active, m->loads). */
static int count_loads(struct store *st, struct enroll_req *m)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT mailbox, count(*) FROM enrollments WHERE"
                        " cadence = ?1 AND state = 'active' GROUP BY mailbox", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->cadence);
    m->active = 0;
    for (size_t i = 0; m->mailboxes[i] != NULL; i++)
        m->loads[i] = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *mb = (const char *)sqlite3_column_text(s, 0);
        int64_t n = sqlite3_column_int64(s, 1);
        m->active += n;
        for (size_t i = 0; mb != NULL && m->mailboxes[i] != NULL; i++)
            if (strcmp(m->mailboxes[i], mb) == 0)
                m->loads[i] = n;
    }
    rc = rc == SQLITE_DONE ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    for (size_t i = 0; rc == 0 && m->mailboxes[i] != NULL; i++)
        m->paused[i] = count1(st, "SELECT count(*) FROM mailbox_pauses WHERE mailbox = ?2"
                              " AND ?1 = ?1 AND ?3 = ?3", 0, m->mailboxes[i], 0) > 0;
    return rc;
}

/* The most consecutive leads of one request given to one mailbox: long
 * enough for locality, short enough that a request refused part-way
 * through still leaves the rotation nearly even. */
#define ENROLL_RUN_MAX 256

/* The least loaded mailbox of the rotation (ties: rotation order), or NULL
 * when the cadence names none; *index is its place in m->mailboxes. A
 * paused mailbox keeps the leads it has but gets new ones only when every
 * mailbox of the rotation is paused. */
static const char *pick_mailbox(struct enroll_req *m, size_t *index)
{
    const char *best = NULL;
    for (size_t i = 0; m->mailboxes[i] != NULL; i++)
        if (best == NULL || (m->paused[*index] && !m->paused[i]) ||
            (m->paused[*index] == m->paused[i] && m->loads[i] < m->loads[*index])) {
            best = m->mailboxes[i];
            *index = i;
        }
    return best;
}

/* Whether the cadence is paused (drumbeat cadence pause), and until when
 * (0: until resumed). */
static int cadence_paused(struct store *st, const char *cadence, int64_t now, bool *paused,
                          int64_t *until)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT coalesce(until, 0) FROM cadence_pauses"
                        " WHERE cadence = ?1 AND (until IS NULL OR until > ?2)", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, cadence);
    sqlite3_bind_int64(s, 2, now);
    *paused = sqlite3_step(s) == SQLITE_ROW;
    *until = *paused ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_reset(s);
    return 0;
}

static int enroll_run(struct store *st, struct store_req *req)
{
    struct enroll_req *m = req->priv;
    sqlite3_stmt *s;
    int64_t enrolled = 0, started_today = 0;
    int rc;

    bool paused = false;
    int64_t paused_until = 0;
    json_array_clear(m->results);
    if ((rc = count_loads(st, m)) < 0 ||
        (rc = cadence_paused(st, m->cadence, req->now, &paused, &paused_until)) < 0)
        return rc;
    if (m->rules.new_per_day > 0)
        started_today = count1(st, "SELECT count(*) FROM enrollments WHERE cadence = ?2 AND"
                               " started_at > ?3 AND ?1 = ?1", 0, m->cadence,
                               req->now - 24 * 3600 * 1000LL);
    size_t n_mailboxes = 0, run = 1, run_left = 0, picked = 0;
    const char *mailbox = NULL;
    while (m->mailboxes[n_mailboxes] != NULL)
        n_mailboxes++;
    if (n_mailboxes > 0) {
        run = m->n / n_mailboxes;
        if (m->rules.new_per_day > 0 && run > (size_t)m->rules.new_per_day / n_mailboxes)
            run = (size_t)m->rules.new_per_day / n_mailboxes;
        if (run > ENROLL_RUN_MAX)
            run = ENROLL_RUN_MAX;
        if (run == 0)
            run = 1;
    }
    for (size_t i = 0; i < m->n; i++) {
        const char *why = refusal(st, m, m->leads[i], req->now);
        if (why != NULL) {
            json_array_append_new(m->results, json_pack("{s:I, s:s}", "lead_id",
                                  (json_int_t)m->leads[i], "refused", why));
            continue;
        }
        /* The throttle delays the start; it never drops the lead. */
        int64_t due = req->now;
        if (m->rules.new_per_day > 0 && started_today >= m->rules.new_per_day)
            due = req->now + (started_today / m->rules.new_per_day) * 24 * 3600 * 1000LL;
        started_today++;
        /* A run of consecutive leads goes to one mailbox (the least loaded
         * when the run starts): the same balance as lead-by-lead rotation,
         * but one mailbox's enrollments and touches sit together in the
         * store, so its batch of 1,000 rewrites tens of pages, not 1,000. A
         * throttled cadence keeps runs within one day's starts per mailbox,
         * so each day's starts still spread over every mailbox. */
        if (run_left == 0) {
            picked = 0;
            mailbox = pick_mailbox(m, &picked);
            run_left = run;
        }
        run_left--;
        /* Enrolled into a paused cadence: paused with it, so nothing is
         * lost and nothing starts before the cadence resumes. */
        rc = store_stmt(&st->wr, "INSERT INTO enrollments (lead_id, cadence_id, cadence, state,"
                        " step, mailbox, started_at, due_at, step_started_at, reason,"
                        " paused_until) VALUES (?1, ?2, ?3, CASE WHEN ?7 THEN 'paused'"
                        " ELSE 'active' END, 0, ?4, ?5, ?6, ?5, CASE WHEN ?7 THEN"
                        " 'cadence_paused' END, CASE WHEN ?7 AND ?8 > 0 THEN ?8 END)", &s);
        if (rc < 0)
            return rc;
        sqlite3_bind_int64(s, 1, m->leads[i]);
        sqlite3_bind_int64(s, 2, m->cadence_id);
        store_bind_text(s, 3, m->cadence);
        store_bind_text(s, 4, mailbox);
        sqlite3_bind_int64(s, 5, req->now);
        sqlite3_bind_int64(s, 6, due);
        sqlite3_bind_int(s, 7, paused);
        sqlite3_bind_int64(s, 8, paused_until);
        if ((rc = store_stmt_done(&st->wr, s)) < 0)
            return rc;
        int64_t id = sqlite3_last_insert_rowid(st->wr.db);
        m->active++;
        if (mailbox != NULL)
            m->loads[picked]++;
        rc = store_event_insert_json(st, req, m->leads[i], 0, "enrolled",
                                     json_pack("{s:I, s:s, s:s?, s:b, s:b}", "enrollment_id",
                                               (json_int_t)id, "cadence", m->cadence,
                                               "mailbox", mailbox, "throttled",
                                               due > req->now, "paused", paused));
        if (rc < 0)
            return rc;
        json_array_append_new(m->results, json_pack("{s:I, s:I, s:s?, s:s}", "lead_id",
                              (json_int_t)m->leads[i], "enrollment_id", (json_int_t)id,
                              "mailbox", mailbox, "state", paused ? "paused" : "active"));
        enrolled++;
    }
    req->id = enrolled;
    return 0;
}

static void enroll_done(struct store_req *req)
{
    struct enroll_req *m = req->priv;
    if (m->cb != NULL)
        m->cb(req->status, req->status == 0 ? m->results : NULL, m->arg);
}

int store_enroll(struct store *st, int64_t cadence_id, const char *cadence,
                 const int64_t *leads, size_t n, const char *const *mailboxes,
                 const struct store_enroll_rules *rules, const struct store_actor *actor,
                 store_enroll_cb cb, void *arg)
{
    size_t nm = 0;
    if (n == 0 || leads == NULL || cadence == NULL || cadence_id <= 0)
        return -EINVAL;
    struct store_req *req = store_req_new_priv(enroll_run, actor, NULL, NULL,
                                               sizeof(struct enroll_req));
    if (req == NULL)
        return -ENOMEM;
    struct enroll_req *m = req->priv;
    req->cleanup = enroll_cleanup;
    req->done = enroll_done;
    m->cb = cb;
    m->arg = arg;
    while (mailboxes != NULL && mailboxes[nm] != NULL)
        nm++;
    m->leads = malloc(n * sizeof(*m->leads));
    m->mailboxes = calloc(nm + 1, sizeof(*m->mailboxes));
    m->loads = calloc(nm + 1, sizeof(*m->loads));
    m->paused = calloc(nm + 1, sizeof(*m->paused));
    m->results = json_array();
    if (m->leads == NULL || m->mailboxes == NULL || m->loads == NULL || m->paused == NULL ||
        m->results == NULL) {
        store_req_free(req);
        return -ENOMEM;
    }
    memcpy(m->leads, leads, n * sizeof(*leads));
    m->n = n;
    for (size_t i = 0; i < nm; i++)
        if ((m->mailboxes[i] = strdup(mailboxes[i])) == NULL) {
            store_req_free(req);
            return -ENOMEM;
        }
    m->cadence = store_req_dup(req, cadence);
    m->cadence_id = cadence_id;
    if (rules != NULL)
        m->rules = *rules;
    if (req->oom) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}
