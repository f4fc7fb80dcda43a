/* SPDX-License-Identifier: MIT */
/* daemon/store_notify.c: event notifications as touches. The subscription
 * rules live on the writer thread (they are swapped in by a queued request,
 * so they change between two writes, never inside one), and every event
 * insert (store_event_insert) asks here whether a subscriber wants it. If
 * so, a touch of kind "notification" is inserted in the same transaction as
 * the event: the notification exists exactly when the event does, and from
 * then on it has the touch state machine (claimed before it is sent,
 * retried with backoff, in_doubt after a crash, never dropped).
 *
 * The payload carries ids, the event's type, time, actor and data (which by
 * the event log's rule holds no personal data) and, only when the rule lists
 * them, some of the lead's fields. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"

struct notify_rule {
    char *channel;
    char **events;                 /* NULL-terminated */
    char **fields;                 /* NULL-terminated, maybe empty */
};

struct store_notify_set {
    size_t n;
    struct notify_rule *rules;
};

static void strv_free(char **v)
{
    for (size_t i = 0; v != NULL && v[i] != NULL; i++)
        free(v[i]);
    free(v);
}

static char **strv_dup(const char *const *v)
{
    size_t n = 0;
    while (v != NULL && v[n] != NULL)
        n++;
    char **out = calloc(n + 1, sizeof(*out));
    for (size_t i = 0; out != NULL && i < n; i++)
        if ((out[i] = strdup(v[i])) == NULL) {
            strv_free(out);
            return NULL;
        }
    return out;
}

static void set_free(struct store_notify_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->rules[i].channel);
        strv_free(set->rules[i].events);
        strv_free(set->rules[i].fields);
    }
    free(set->rules);
    free(set);
}

static struct store_notify_set *set_copy(const struct store_notify_rule *rules, size_t n)
{
    struct store_notify_set *set = calloc(1, sizeof(*set));
    if (set == NULL || (n > 0 && (set->rules = calloc(n, sizeof(*set->rules))) == NULL))
        goto fail;
    for (size_t i = 0; i < n; i++, set->n++) {
        struct notify_rule *r = &set->rules[i];
        r->channel = rules[i].channel != NULL ? strdup(rules[i].channel) : NULL;
        r->events = strv_dup(rules[i].events);
        r->fields = strv_dup(rules[i].lead_fields);
        if (r->channel == NULL || r->events == NULL || r->fields == NULL) {
            set->n++;
            goto fail;
        }
    }
    return set;
fail:
    set_free(set);
    return NULL;
}

static int swap_run(struct store *st, struct store_req *req)
{
    struct store_notify_set *fresh = req->priv;

    /* The old set goes back to the request, which frees it on the loop
     * thread once the writer no longer looks at it. An empty set is kept as
     * NULL, so event inserts without subscribers cost one comparison. */
    req->priv = st->notify;
    st->notify = fresh != NULL && fresh->n > 0 ? fresh : NULL;
    if (st->notify == NULL)
        set_free(fresh);
    return 0;
}

static void swap_cleanup(struct store_req *req)
{
    set_free(req->priv);
}

int store_notify_configure(struct store *st, const struct store_notify_rule *rules, size_t n)
{
    struct store_req *req = store_req_new(swap_run, NULL, NULL, NULL);
    struct store_notify_set *set = set_copy(rules, n);

    if (req == NULL || set == NULL) {
        set_free(set);
        store_req_free(req);
        return -ENOMEM;
    }
    req->priv = set;
    req->cleanup = swap_cleanup;
    return store_writer_submit(st, req);   /* frees req (and set) on failure */
}

void store_notify_set_hook(struct store *st, void (*created)(void *arg), void *arg)
{
    st->notify_hook = created;
    st->notify_hook_arg = arg;
}

void store_notify_deliver(struct store *st, bool kick)
{
    if (kick && st->notify_hook != NULL)
        st->notify_hook(st->notify_hook_arg);
}

void store_notify_free(struct store *st)
{
    set_free(st->notify);
    st->notify = NULL;
}

static bool rule_matches(const struct notify_rule *r, const char *type)
{
    for (char **e = r->events; *e != NULL; e++) {
        size_t len = strlen(*e);
        if (strcmp(*e, "*") == 0 || strcmp(*e, type) == 0 ||
            (len > 1 && (*e)[len - 1] == '*' && strncmp(*e, type, len - 1) == 0))
            return true;
    }
    return false;
}

/* True when touch_id is itself a notification: its own events (sent,
 * retried, failed) must not notify again, or one event would echo forever. */
static int is_notification_touch(struct store *st, int64_t touch_id, bool *out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr, "SELECT kind FROM touches WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, touch_id);
    rc = sqlite3_step(s);
    *out = rc == SQLITE_ROW && sqlite3_column_text(s, 0) != NULL &&
           strcmp((const char *)sqlite3_column_text(s, 0), "notification") == 0;
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    return rc;
}

/* The lead's fields the rule names, as a new object (column names as keys). */
static int lead_fields(struct store *st, int64_t lead_id, char **fields, json_t **out)
{
    sqlite3_stmt *s;
    int rc = store_stmt(&st->wr,
        "SELECT email, first_name, last_name, company, domain, title, phone, country,"
        " timezone, linkedin, stage FROM leads WHERE id = ?1", &s);
    if (rc < 0)
        return rc;
    sqlite3_bind_int64(s, 1, lead_id);
    rc = sqlite3_step(s);
    json_t *obj = json_object();
    for (int c = 0; rc == SQLITE_ROW && obj != NULL && c < sqlite3_column_count(s); c++) {
        const char *name = sqlite3_column_name(s, c);
        for (char **f = fields; *f != NULL; f++)
            if (strcmp(*f, name) == 0) {
                const char *v = (const char *)sqlite3_column_text(s, c);
                json_object_set_new(obj, name, v != NULL ? json_string(v) : json_null());
            }
    }
    rc = obj == NULL ? -ENOMEM : rc == SQLITE_ROW || rc == SQLITE_DONE ? 0
       : store_sqlite_errno(sqlite3_extended_errcode(st->wr.db));
    sqlite3_reset(s);
    if (rc < 0) {
        json_decref(obj);
        return rc;
    }
    *out = obj;
    return 0;
}

static void iso_time(int64_t ms, char *buf, size_t len)
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t at = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + at, len - at, ".%03dZ", (int)(ms % 1000));
}

static int insert_touch(struct store *st, int64_t at, int64_t lead_id, const char *channel,
                        const char *payload)
{
    /* A touch like any other, so its idempotency key is the same on every retry. */
    struct store_touch_in in = {
        .lead_id = lead_id, .kind = "notification", .channel = channel,
        .content_type = "application/json", .payload = payload,
        .payload_len = strlen(payload), .due_at = at,
    };
    int64_t id = 0;
    return store_wr_touch_insert_at(st, at, &in, "scheduled", NULL, 0, &id);
}

int store_notify_event(struct store *st, int64_t event_id, int64_t at, int64_t lead_id,
                       int64_t touch_id, const char *type, const struct store_req_actor *actor,
                       const char *data_json)
{
    const struct store_notify_set *set = st->notify;
    bool any = false;
    int rc = 0;

    for (size_t i = 0; set != NULL && i < set->n && !any; i++)
        any = rule_matches(&set->rules[i], type);
    if (!any)
        return 0;
    if (touch_id > 0) {
        bool echo = false;
        if ((rc = is_notification_touch(st, touch_id, &echo)) < 0 || echo)
            return rc;
    }

    char when[40];
    iso_time(at, when, sizeof(when));
    json_t *data = data_json != NULL ? json_loads(data_json, 0, NULL) : json_object();
    json_t *base = json_pack("{s:s, s:I, s:I, s:s, s:I, s:o, s:{s:s, s:s?}, s:o}",
                             "event", type, "event_id", (json_int_t)event_id,
                             "at", (json_int_t)at, "time", when, "lead_id", (json_int_t)lead_id,
                             "touch_id", touch_id > 0 ? json_integer(touch_id) : json_null(),
                             "actor", "kind", store_actor_kind_name(actor != NULL ? actor->kind
                                                                    : STORE_ACTOR_SYSTEM),
                             "name", actor != NULL ? actor->name : NULL,
                             "data", data != NULL ? data : json_object());
    if (base == NULL)
        return -ENOMEM;

    /* One notification per channel per event, even when several entries of
     * the config match; the first matching entry's lead_fields apply. */
    for (size_t i = 0; rc == 0 && i < set->n; i++) {
        const struct notify_rule *r = &set->rules[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(set->rules[j].channel, r->channel) == 0 &&
                   rule_matches(&set->rules[j], type);
        if (seen || !rule_matches(r, type))
            continue;
        json_t *doc = json_deep_copy(base);
        if (doc == NULL) {
            rc = -ENOMEM;
            break;
        }
        if (r->fields[0] != NULL) {
            json_t *lead = NULL;
            rc = lead_fields(st, lead_id, r->fields, &lead);
            if (rc == 0)
                json_object_set_new(doc, "lead", lead);
        }
        char *text = rc == 0 ? json_dumps(doc, JSON_COMPACT) : NULL;
        json_decref(doc);
        if (rc == 0 && text == NULL)
            rc = -ENOMEM;
        if (rc == 0)
            rc = insert_touch(st, at, lead_id, r->channel, text);
        free(text);
        if (rc == 0)
            st->notify_created = true;
    }
    json_decref(base);
    return rc;
}
