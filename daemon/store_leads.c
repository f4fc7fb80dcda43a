/* SPDX-License-Identifier: MIT */
/* daemon/store_leads.c: leads in the store: the email-keyed upsert that only
 * fills empty fields (a later import or enricher never overwrites what is
 * known), and the reads by id and by email. Emails are kept lower-cased so
 * the dedupe key is case-blind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

enum { LEAD_EMAIL, LEAD_FIRST, LEAD_LAST, LEAD_COMPANY, LEAD_DOMAIN, LEAD_TITLE,
       LEAD_PHONE, LEAD_COUNTRY, LEAD_TZ, LEAD_LINKEDIN, LEAD_SOURCE, LEAD_BASIS,
       LEAD_ATTRS, LEAD_NFIELDS };

struct lead_req {
    const char *f[LEAD_NFIELDS];   /* in req->mem; attrs as JSON text */
};

static int lead_insert(struct store *st, struct store_req *req, const struct lead_req *l)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "INSERT INTO leads (email, first_name, last_name, company, domain, title, phone,"
        " country, timezone, linkedin, source, lawful_basis, attrs, created_at, updated_at)"
        " VALUES (?1, nullif(?2, ''), nullif(?3, ''), nullif(?4, ''), nullif(?5, ''),"
        " nullif(?6, ''), nullif(?7, ''), nullif(?8, ''), nullif(?9, ''), nullif(?10, ''),"
        " nullif(?11, ''), nullif(?12, ''), coalesce(?13, '{}'), ?14, ?14)", &s);
    if (rc < 0)
        return rc;
    for (int i = 0; i < LEAD_NFIELDS; i++)
        store_bind_text(s, i + 1, l->f[i]);
    sqlite3_bind_int64(s, 14, req->now);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;
    req->id = sqlite3_last_insert_rowid(st->wr.db);

    json_t *data = json_object();
    if (data != NULL && l->f[LEAD_SOURCE] != NULL)
        json_object_set_new(data, "source", json_string(l->f[LEAD_SOURCE]));
    char *text = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
    json_decref(data);
    rc = store_event_insert(st, req->now, req->id, 0, "lead_created", &req->actor, text, NULL);
    free(text);
    return rc;
}

/* Only empty fields take the new value; attrs gain the keys they lack. */
static int lead_merge(struct store *st, struct store_req *req, const struct lead_req *l)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "UPDATE leads SET"
        " first_name = coalesce(nullif(first_name, ''), nullif(?2, '')),"
        " last_name = coalesce(nullif(last_name, ''), nullif(?3, '')),"
        " company = coalesce(nullif(company, ''), nullif(?4, '')),"
        " domain = coalesce(nullif(domain, ''), nullif(?5, '')),"
        " title = coalesce(nullif(title, ''), nullif(?6, '')),"
        " phone = coalesce(nullif(phone, ''), nullif(?7, '')),"
        " country = coalesce(nullif(country, ''), nullif(?8, '')),"
        " timezone = coalesce(nullif(timezone, ''), nullif(?9, '')),"
        " linkedin = coalesce(nullif(linkedin, ''), nullif(?10, '')),"
        " source = coalesce(nullif(source, ''), nullif(?11, '')),"
        " lawful_basis = coalesce(nullif(lawful_basis, ''), nullif(?12, '')),"
        " attrs = json_patch(coalesce(?13, '{}'), attrs),"
        " updated_at = ?14"
        " WHERE id = ?15", &s);
    if (rc < 0)
        return rc;
    for (int i = 1; i < LEAD_NFIELDS; i++)
        store_bind_text(s, i + 1, l->f[i]);
    sqlite3_bind_int64(s, 14, req->now);
    sqlite3_bind_int64(s, 15, req->id);
    rc = store_stmt_done(&st->wr, s);
    if (rc < 0)
        return rc;
    return store_event_insert(st, req->now, req->id, 0, "lead_merged", &req->actor, NULL,
                              NULL);
}

static int lead_upsert_run(struct store *st, struct store_req *req)
{
    struct lead_req *l = req->priv;
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT id FROM leads WHERE email = ?1", &s);
    if (rc < 0)
        return rc;
    store_bind_text(s, 1, l->f[LEAD_EMAIL]);
    rc = sqlite3_step(s);
    req->id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE
        ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0)
        return rc;
    return req->id > 0 ? lead_merge(st, req, l) : lead_insert(st, req, l);
}

int store_lead_upsert(struct store *st, const struct store_lead_in *in,
                      const struct store_actor *actor, store_done_cb cb, void *arg)
{
    const char *at = in != NULL && in->email != NULL ? strchr(in->email, '@') : NULL;
    if (at == NULL || at == in->email || at[1] == '\0' ||
        (in->attrs != NULL && !json_is_object(in->attrs)))
        return -EINVAL;

    struct store_req *req = store_req_new_priv(lead_upsert_run, actor, cb, arg,
                                               sizeof(struct lead_req));
    if (req == NULL)
        return -ENOMEM;
    struct lead_req *l = req->priv;
    const char *src[LEAD_NFIELDS] = {
        in->email, in->first_name, in->last_name, in->company, in->domain, in->title,
        in->phone, in->country, in->timezone, in->linkedin, in->source, in->lawful_basis,
        NULL,
    };
    for (int i = 0; i < LEAD_ATTRS; i++)
        l->f[i] = store_req_dup(req, src[i]);
    /* The domain defaults to the email's, so domain suppression and
     * per-company views work for every lead. */
    if (l->f[LEAD_DOMAIN] == NULL || *l->f[LEAD_DOMAIN] == '\0')
        l->f[LEAD_DOMAIN] = store_req_dup(req, at + 1);
    store_lower((char *)l->f[LEAD_EMAIL]);
    store_lower((char *)l->f[LEAD_DOMAIN]);
    if (in->attrs != NULL) {
        char *text = json_dumps(in->attrs, JSON_COMPACT);
        if (text == NULL)
            req->oom = true;
        l->f[LEAD_ATTRS] = store_req_dup(req, text);
        free(text);
    }
    return store_writer_submit(st, req);
}

int store_lead_get(struct store *st, int64_t lead_id, json_t **out)
{
    sqlite3_stmt *s;
    json_t *lead = NULL, *owners = NULL;
    int rc = store_row_by_id(&st->rd, "SELECT * FROM leads WHERE id = ?1", lead_id, &lead);
    if (rc < 0)
        return rc;

    rc = store_stmt(&st->rd, "SELECT role, person FROM lead_owners WHERE lead_id = ?1", &s);
    if (rc < 0)
        goto fail;
    sqlite3_bind_int64(s, 1, lead_id);
    owners = json_object();
    while (owners != NULL && (rc = sqlite3_step(s)) == SQLITE_ROW)
        json_object_set_new(owners, (const char *)sqlite3_column_text(s, 0),
                            json_string((const char *)sqlite3_column_text(s, 1)));
    rc = owners == NULL ? -ENOMEM : rc == SQLITE_DONE
        ? 0 : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    if (rc < 0)
        goto fail;
    json_object_set_new(lead, "owners", owners);
    *out = lead;
    return 0;

fail:
    json_decref(owners);
    json_decref(lead);
    return rc;
}

int store_lead_zone(struct store *st, int64_t lead_id, json_t **out)
{
    *out = NULL;
    return store_row_by_id(&st->rd, "SELECT id, timezone, country FROM leads WHERE id = ?1",
                           lead_id, out);
}

int store_lead_find_by_email(struct store *st, const char *email, int64_t *lead_id)
{
    sqlite3_stmt *s;
    if (email == NULL)
        return -EINVAL;
    char *key = strdup(email);
    if (key == NULL)
        return -ENOMEM;
    store_lower(key);
    int rc = store_stmt(&st->rd, "SELECT id FROM leads WHERE email = ?1", &s);
    if (rc < 0) {
        free(key);
        return rc;
    }
    store_bind_text(s, 1, key);
    free(key);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *lead_id = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE
        ? -ENOENT : store_sqlite_errno(sqlite3_extended_errcode(st->rd.db));
    sqlite3_reset(s);
    return rc;
}
