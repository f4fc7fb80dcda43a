/* SPDX-License-Identifier: MIT */
/* daemon/store_admin.c: managing leads as a person would: lifting a
 * suppression, listing leads by stage/owner/source, and the two GDPR
 * operations, forgetting a lead (its personal data erased, a hashed
 * suppression entry kept so the address is never contacted again) and
 * exporting everything held about one. The hash is SHA-256 of the email
 * lower-cased, so store_is_suppressed() and the import's suppression check
 * can match an address they never stored in clear.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "store_internal.h"

/* OpenSSL 3 looks SHA-256 up by name on every SHA256() call; the loop
 * hashes an address per claimed touch (the suppression check), so the
 * implementation is fetched once. */
static EVP_MD *sha256_md;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int store_email_hash(const char *email, char out[65])
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static const char hex[] = "0123456789abcdef";
    unsigned char sum[SHA256_DIGEST_LENGTH];
    char key[512];
    size_t n = email != NULL ? strlen(email) : 0;
    if (n == 0)
        return -EINVAL;
    char *heap = n < sizeof(key) ? NULL : strdup(email);
    if (n >= sizeof(key) && heap == NULL)
        return -ENOMEM;
    char *k = heap != NULL ? heap : memcpy(key, email, n + 1);
    store_lower(k);
    pthread_once(&once, sha256_fetch);
    int ok = sha256_md != NULL
           ? EVP_Digest(k, n, sum, NULL, sha256_md, NULL)
           : SHA256((const unsigned char *)k, n, sum) != NULL;
    free(heap);
    if (!ok)
        return -EIO;
    for (size_t i = 0; i < sizeof(sum); i++) {
        out[2 * i] = hex[sum[i] >> 4];
        out[2 * i + 1] = hex[sum[i] & 15];
    }
    out[64] = '\0';
    return 0;
}

/* A write's copied fields: a, b (texts in req->mem), i1 (a lead id). */
struct admin_req {
    const char *a, *b;
    int64_t i1;
};

static struct store_req *admin_req_new(store_req_run_fn run, const struct store_actor *actor,
                                       store_done_cb cb, void *arg)
{
    return store_req_new_priv(run, actor, cb, arg, sizeof(struct admin_req));
}

/* ---- unsuppress: a = kind, b = value ---- */

static int unsuppress_run(struct store *st, struct store_req *req)
{
    struct admin_req *m = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "DELETE FROM suppression WHERE kind = ?1 AND value = ?2"
                        " RETURNING id", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    store_bind_text(s, 2, m->b);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        req->id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE
       ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;

    /* Lift the flag from the leads it covered, unless another entry (their
     * address, their domain, or a forgotten address's hash) still holds. A
     * bounce or an unsubscribe keeps its own flag. */
    rc = store_stmt(&st->wr,
        "UPDATE leads SET suppressed = 0, updated_at = ?3 WHERE suppressed = 1"
        " AND ((?1 = 'email' AND email = ?2) OR (?1 = 'domain' AND domain = ?2))"
        " AND NOT EXISTS (SELECT 1 FROM suppression x WHERE (x.kind = 'email' AND"
        " x.value = lower(leads.email)) OR (x.kind = 'domain' AND x.value = leads.domain))",
        &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, m->a);
    store_bind_text(s, 2, m->b);
    sqlite3_bind_int64(s, 3, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;

    int64_t lead_id = 0;
    if (strcmp(m->a, "email") == 0 && (rc = store_wr_lead_id_by_email(st, m->b, &lead_id)) < 0)
        return rc;
    /* As with "suppressed", the value (an address) stays out of the log. */
    return store_event_insert_json(st, req, lead_id, 0, "unsuppressed",
                                   json_pack("{s:s}", "kind", m->a));
}

int store_unsuppress(struct store *st, const char *kind, const char *value,
                     const struct store_actor *actor, store_done_cb cb, void *arg)
{
    if (kind == NULL || value == NULL || *value == '\0' ||
        (strcmp(kind, "email") != 0 && strcmp(kind, "domain") != 0))
        return -EINVAL;
    struct store_req *req = admin_req_new(unsuppress_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    struct admin_req *m = req->priv;
    m->a = store_req_dup(req, kind);
    m->b = store_req_dup(req, value);
    if (m->b != NULL)
        store_lower((char *)m->b);
    return store_writer_submit(st, req);
}

/* ---- forget: i1 = lead id ---- */

/* Each statement takes the lead id as ?1 (and the time as ?2 when used). */
static const char *const forget_sql[] = {
    /* The email is the unique key and NOT NULL: a placeholder that names
     * nobody takes its place. */
    "UPDATE leads SET email = 'forgotten-' || id || '@forgotten.invalid',"
    " first_name = NULL, last_name = NULL, company = NULL, domain = NULL, title = NULL,"
    " phone = NULL, country = NULL, timezone = NULL, linkedin = NULL, attrs = '{}',"
    " icp_score = NULL, email_status = 'forgotten', suppressed = 1, updated_at = ?2"
    " WHERE id = ?1",
    "DELETE FROM lead_texts WHERE lead_id = ?1",
    /* The score breakdown may quote field values. */
    "DELETE FROM lead_icp WHERE lead_id = ?1",
    "DELETE FROM touch_payloads WHERE touch_id IN (SELECT id FROM touches WHERE lead_id = ?1)"
    " AND ?2 IS NOT NULL",
    "UPDATE OR FAIL touches SET recipient = NULL, detail = NULL, updated_at = ?2 WHERE lead_id = ?1",
    "UPDATE tasks SET script = NULL, outcome = NULL WHERE lead_id = ?1",
    /* Touches not yet sent never will be. */
    "UPDATE OR FAIL touches SET state = 'cancelled', reason = 'forgotten', updated_at = ?2"
    " WHERE lead_id = ?1 AND state IN ('scheduled', 'deferred')",
};

static int forget_run(struct store *st, struct store_req *req)
{
    struct admin_req *m = req->priv;
    sqlite3_stmt *s;
    char hash[65];
    char *email = NULL;
    int rc = store_stmt(&st->wr, "SELECT email FROM leads WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, m->i1);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        email = strdup((const char *)sqlite3_column_text(s, 0));
        rc = email != NULL ? 0 : -ENOMEM;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    }
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    req->id = m->i1;
    rc = store_email_hash(email, hash);
    if (rc < 0)
        goto out;

    /* The clear-text entry would keep the address: the hash replaces it. */
    rc = store_stmt(&st->wr, "DELETE FROM suppression WHERE kind = 'email' AND value = ?1", &s);
    if (rc < 0)
        goto out;
    store_lower(email);
    store_bind_text(s, 1, email);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        goto out;
    rc = store_stmt(&st->wr, "INSERT INTO suppression (kind, value, reason, at)"
                    " VALUES ('email_hash', ?1, 'forgotten', ?2) ON CONFLICT (kind, value)"
                    " DO NOTHING", &s);
    if (rc < 0)
        goto out;
    store_bind_text(s, 1, hash);
    sqlite3_bind_int64(s, 2, req->now);
    rc = store_stmt_done(&st->wr, s);
    for (size_t i = 0; rc == 0 && i < sizeof(forget_sql) / sizeof(forget_sql[0]); i++) {
        rc = store_stmt(&st->wr, forget_sql[i], &s);
        if (rc < 0)
            break;
        sqlite3_bind_int64(s, 1, m->i1);
        if (sqlite3_bind_parameter_count(s) >= 2)
            sqlite3_bind_int64(s, 2, req->now);
        rc = store_stmt_done(&st->wr, s);
    }
    if (rc == 0)
        rc = store_event_insert_json(st, req, m->i1, 0, "forgotten", json_object());
out:
    free(email);
    return rc;
}

int store_lead_forget(struct store *st, int64_t lead_id, const struct store_actor *actor,
                      store_done_cb cb, void *arg)
{
    if (lead_id <= 0)
        return -EINVAL;
    struct store_req *req = admin_req_new(forget_run, actor, cb, arg);
    if (req == NULL)
        return -ENOMEM;
    ((struct admin_req *)req->priv)->i1 = lead_id;
    return store_writer_submit(st, req);
}

/* ---- reads ---- */

int store_leads_list(struct store *st, const struct store_leads_filter *f, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->rd,
        "SELECT l.id, l.email, l.first_name, l.last_name, l.company, l.stage, l.icp_score,"
        " l.source, l.suppressed, (SELECT group_concat(person, ',') FROM lead_owners o"
        " WHERE o.lead_id = l.id) AS owners"
" FROM leads l WHERE (?1 IS NULL OR l.stage = ?1)"
        " AND (?2 IS NULL OR EXISTS (SELECT 1 FROM lead_owners w WHERE w.lead_id = l.id"
        " AND w.person = ?2)) AND (?3 IS NULL OR l.source = ?3)"
        " ORDER BY l.id LIMIT ?4", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, f != NULL ? f->stage : NULL);
    store_bind_text(s, 2, f != NULL ? f->owner : NULL);
    store_bind_text(s, 3, f != NULL ? f->source : NULL);
    sqlite3_bind_int(s, 4, f != NULL && f->limit > 0 ? f->limit : 100);
    return store_rows_json(&st->rd, s, out);
}

static int rows_of(struct store *st, const char *sql, int64_t lead_id, json_t *into,
                   const char *key)
{
    sqlite3_stmt *s;
    json_t *rows = NULL;
    int rc = store_stmt(&st->rd, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    rc = store_rows_json(&st->rd, s, &rows);
    if (rc == 0)
        json_object_set_new(into, key, rows);
    return rc;
}

int store_lead_export(struct store *st, int64_t lead_id, json_t **out)
{
    json_t *all = json_object(), *lead = NULL;
    if (all == NULL)
        return -ENOMEM;
    int rc = store_lead_get(st, lead_id, &lead);
    if (rc < 0)
        goto fail;
    json_object_set_new(all, "lead", lead);
    rc = store_stage_history(st, lead_id, &lead);
    if (rc < 0)
        goto fail;
    json_object_set_new(all, "stage_history", lead);
    rc = rows_of(st, "SELECT id, at, touch_id, type, actor_kind, actor, data FROM events"
                 " WHERE " STORE_EVENTS_OF_LEAD " ORDER BY id", lead_id, all, "events");
    rc = rc < 0 ? rc : rows_of(st,
                 "SELECT id, enrollment_id, step, kind, channel, mailbox, recipient, content_type,"
                 " (SELECT length(p.payload) FROM touch_payloads p WHERE p.touch_id = touches.id)"
                 " AS payload_bytes, state, reason, due_at, attempts, code,"
                 " enhanced, detail, created_at, updated_at, sent_at FROM touches"
                 " WHERE lead_id = ?1 ORDER BY id", lead_id, all, "touches");
    rc = rc < 0 ? rc : rows_of(st, "SELECT id, touch_id, kind, owner, priority, due_at, state,"
                 " outcome, script, created_at, done_at FROM tasks WHERE lead_id = ?1"
                 " ORDER BY id", lead_id, all, "tasks");
    rc = rc < 0 ? rc : rows_of(st, "SELECT id, kind, body, at FROM lead_texts"
                 " WHERE lead_id = ?1 ORDER BY at, id", lead_id, all, "texts");
    rc = rc < 0 ? rc : rows_of(st, "SELECT score, qualified, breakdown, at FROM lead_icp"
                 " WHERE lead_id = ?1", lead_id, all, "icp");
    rc = rc < 0 ? rc : rows_of(st, "SELECT id, cadence_id, state, step, mailbox, started_at,"
                 " ended_at, reason FROM enrollments WHERE lead_id = ?1 ORDER BY id",
                 lead_id, all, "enrollments");
    if (rc < 0)
        goto fail;
    *out = all;
    return 0;

fail:
    json_decref(all);
    return rc;
}
