/* SPDX-License-Identifier: MIT */
/* daemon/store_lead_enrich.c: applies what one enricher found to one lead,
 * in one transaction on the writer thread (store_lead_enrich in store.h).
 *
 * Only empty fields are filled, so a value a person set (or an import, or
 * an earlier enricher) is never overwritten; email_status is replaced only
 * while it is "unknown" or "syntax_ok", or when this same answer supplied
 * the email. An email is taken only by a lead that has none, only when no
 * other lead has it, and never when it is suppressed. Each value set is
 * recorded in attrs._provenance, and one "enriched" event names the fields
 * (never their values: events carry no personal data).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* Lead columns an enricher may fill, each with its own literal statement
 * (statements are cached by text, and a column name is never bound). */
static const struct {
    const char *name;
    const char *sql;
} fill_columns[] = {
#define FILL(col) { #col, "UPDATE leads SET " #col " = ?2, updated_at = ?3 WHERE id = ?1" \
                          " AND (" #col " IS NULL OR " #col " = '')" }
    FILL(first_name), FILL(last_name), FILL(company), FILL(domain), FILL(title),
    FILL(phone), FILL(country), FILL(timezone), FILL(linkedin),
#undef FILL
};

/* What an enricher may say about an address; import alone says the rest. */
static const char *const settable_status[] = {
    "verified", "catch_all", "undeliverable", "guessed", NULL,
};

struct apply_req {
    int64_t lead_id;
    const char *instance, *plugin, *source, *found;   /* found: compact JSON object */
};

struct lead_now {
    char *email, *status;
    json_t *attrs;
};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list != NULL; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static char *col_dup(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    return t != NULL ? strdup(t) : NULL;
}

static int read_lead(struct store *st, int64_t id, struct lead_now *out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT email, email_status, attrs FROM leads WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        out->email = col_dup(s, 0);
        out->status = col_dup(s, 1);
        const char *a = (const char *)sqlite3_column_text(s, 2);
        out->attrs = json_loads(a != NULL ? a : "{}", 0, NULL);
        rc = out->attrs != NULL && json_is_object(out->attrs) ? 0 : -EBADMSG;
    } else {
        rc = rc == SQLITE_DONE ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    }
    sqlite3_reset(s);
    return rc;
}

static int update_text(struct store *st, const char *sql, int64_t id, const char *value,
                       int64_t now, bool *changed)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, sql, &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    store_bind_text(s, 2, value);
    sqlite3_bind_int64(s, 3, now);
    rc = store_stmt_done(&st->wr, s);
    *changed = rc == 0 && sqlite3_changes(st->wr.db) > 0;
    return rc;
}

/* Takes the found email when the lead has none and nobody else holds it. */
static int apply_email(struct store *st, struct store_req *req, struct lead_now *lead,
                       const char *email, json_t *notes, bool *set)
{
    int64_t other = 0;
    char *reason = NULL;
    bool hit = false;
    const char *at = strrchr(email, '@');
    int rc;

    *set = false;
    if (lead->email != NULL || at == NULL || at == email || at[1] == '\0')
        return 0;
    if ((rc = store_wr_lead_id_by_email(st, email, &other)) < 0)
        return rc;
    if (other != 0)
        return json_object_set_new(notes, "email_taken_by", json_integer(other)) == 0
               ? 0 : -ENOMEM;
    if ((rc = store_wr_suppression_of(st, email, at + 1, &reason, &hit)) < 0)
        return rc;
    free(reason);
    if (hit)
        return json_object_set_new(notes, "email_suppressed", json_true()) == 0 ? 0 : -ENOMEM;
    return update_text(st, "UPDATE leads SET email = ?2, updated_at = ?3 WHERE id = ?1"
                       " AND email IS NULL", req->id, email, req->now, set);
}

static bool attr_empty(const json_t *v)
{
    return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* Fills one field other than the email; *set says whether it changed. */
static int apply_field(struct store *st, struct store_req *req, struct lead_now *lead,
                       const char *key, json_t *value, bool email_set, bool *set)
{
    *set = false;
    if (strcmp(key, "email_status") == 0) {
        const char *v = json_string_value(value);
        bool replaceable = email_set || lead->status == NULL ||
                           strcmp(lead->status, "unknown") == 0 ||
                           strcmp(lead->status, "syntax_ok") == 0;
        if (v == NULL || !in_list(settable_status, v) || !replaceable ||
            (lead->email == NULL && !email_set))
            return 0;
        return update_text(st, "UPDATE leads SET email_status = ?2, updated_at = ?3"
                           " WHERE id = ?1", req->id, v, req->now, set);
    }
    for (size_t i = 0; i < sizeof(fill_columns) / sizeof(fill_columns[0]); i++) {
        if (strcmp(fill_columns[i].name, key) != 0)
            continue;
        if (!json_is_string(value) || json_string_length(value) == 0)
            return 0;
        return update_text(st, fill_columns[i].sql, req->id, json_string_value(value),
                           req->now, set);
    }
    if (!attr_empty(json_object_get(lead->attrs, key)) || attr_empty(value))
        return 0;
    if (json_object_set(lead->attrs, key, value) != 0)
        return -ENOMEM;
    *set = true;
    return 0;
}

static int apply_run(struct store *st, struct store_req *req)
{
    struct apply_req *m = req->priv;
    struct lead_now lead = { 0 };
    json_t *found = json_loads(m->found, 0, NULL), *fields = json_array(),
           *notes = json_object(), *prov;
    const char *key;
    json_t *value;
    bool email_set = false, set;
    int rc;

    req->id = m->lead_id;
    if (found == NULL || fields == NULL || notes == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    if ((rc = read_lead(st, m->lead_id, &lead)) < 0)
        goto out;
    value = json_object_get(found, "email");
    if (json_is_string(value) &&
        (rc = apply_email(st, req, &lead, json_string_value(value), notes, &email_set)) < 0)
        goto out;
    if (email_set)
        json_array_append_new(fields, json_string("email"));
    json_object_foreach(found, key, value) {
        if (key[0] == '_' || strcmp(key, "email") == 0)
            continue;
        if ((rc = apply_field(st, req, &lead, key, value, email_set, &set)) < 0)
            goto out;
        if (set)
            json_array_append_new(fields, json_string(key));
    }
    if (json_array_size(fields) > 0) {
        prov = json_object_get(lead.attrs, "_provenance");
        if (!json_is_object(prov)) {
            prov = json_object();
            json_object_set_new(lead.attrs, "_provenance", prov);
        }
        size_t i;
        json_array_foreach(fields, i, value)
            json_object_set_new(prov, json_string_value(value),
                                json_pack("{s:s, s:s, s:s, s:s?, s:I}", "by", "enricher",
                                          "plugin", m->plugin, "instance", m->instance,
                                          "source", m->source, "at", (json_int_t)req->now));
        char *text = json_dumps(lead.attrs, JSON_COMPACT);
        if (text == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        rc = update_text(st, "UPDATE leads SET attrs = ?2, updated_at = ?3 WHERE id = ?1",
                         m->lead_id, text, req->now, &set);
        free(text);
        if (rc < 0)
            goto out;
    }
    if (json_array_size(fields) > 0 || json_object_size(notes) > 0) {
        json_t *data = json_pack("{s:s, s:s, s:O}", "instance", m->instance, "plugin",
                                 m->plugin, "fields", fields);
        if (data != NULL)
            json_object_update(data, notes);
        rc = store_event_insert_json(st, req, m->lead_id, 0, "enriched", data);
        if (rc < 0)
            goto out;
    }
    req->id = (int64_t)json_array_size(fields);
    rc = 0;
out:
    json_decref(found);
    json_decref(fields);
    json_decref(notes);
    json_decref(lead.attrs);
    free(lead.email);
    free(lead.status);
    return rc;
}

int store_lead_enrich(struct store *st, int64_t lead_id, const char *instance,
                      const char *plugin, const char *source, const json_t *found,
                      store_done_cb cb, void *arg)
{
    if (lead_id <= 0 || instance == NULL || plugin == NULL || !json_is_object(found))
        return -EINVAL;
    struct store_actor actor = { STORE_ACTOR_RULE, instance };
    struct store_req *req = store_req_new_priv(apply_run, &actor, cb, arg,
                                               sizeof(struct apply_req));
    if (req == NULL)
        return -ENOMEM;
    struct apply_req *m = req->priv;
    char *text = json_dumps(found, JSON_COMPACT);
    m->lead_id = lead_id;
    m->instance = store_req_dup(req, instance);
    m->plugin = store_req_dup(req, plugin);
    m->source = store_req_dup(req, source);
    m->found = text != NULL ? store_req_dup(req, text) : NULL;
    free(text);
    if (req->oom || m->found == NULL) {
        store_req_free(req);
        return -ENOMEM;
    }
    return store_writer_submit(st, req);
}
